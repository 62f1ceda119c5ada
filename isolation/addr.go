package isolation

import "math"

// PA is a physical address.
type PA uint64

// IPA is an intermediate physical address: the output of a guest's stage-1
// translation and the input of its stage 2. PA and IPA are distinct types
// (as Hafnium's paddr_t and ipaddr_t) so that one is never used for the
// other without an explicit conversion; the host stage-2 is an identity map,
// and converts explicitly.
type IPA uint64

// VMID names a principal: 0 is the host, 1..MaxVMs are VMs. It is also the
// VMID tagging the principal's TLB entries (VTTBR_EL2.VMID, 8 bits).
type VMID uint16

// HostVMID is the VMID of the host.
const HostVMID VMID = 0

// Translation granule: 4 KiB pages (Arm ARM D8.2, "Translation granule").
const (
	PageShift = 12
	PageSize  = 1 << PageShift
	pageMask  = PageSize - 1
)

// IPABits is the size of every stage-2 input address space: 40 bits, 1 TiB.
const IPABits = 40

// ipaLimit is the first address outside the IPA space.
const ipaLimit = uint64(1) << IPABits

// Range is the address range [Base, Base+Size).
type Range struct {
	Base uint64
	Size uint64
}

// End returns the first address after r. Callers validate that it does not
// overflow.
func (r Range) End() uint64 { return r.Base + r.Size }

// Contains reports whether [addr, addr+size) lies inside r, without overflow.
func (r Range) Contains(addr, size uint64) bool {
	if addr < r.Base || size > r.Size {
		return false
	}
	return addr-r.Base <= r.Size-size
}

// overlaps reports whether r and o share at least one byte.
func (r Range) overlaps(o Range) bool {
	return r.Size != 0 && o.Size != 0 && r.Base < o.End() && o.Base < r.End()
}

// pageRange reports whether the untrusted pair (base, pages) names a valid
// page range inside limit: pages is not zero, base is page aligned,
// base+pages*PageSize does not overflow 64 bits, and the whole range lies
// in limit. The order of the checks makes it robust to overflow, which is a
// requirement before using a base/count pair from an untrusted source.
func pageRange(base, pages uint64, limit Range) bool {
	if pages == 0 || base&pageMask != 0 {
		return false
	}
	if pages > (math.MaxUint64-base)>>PageShift {
		return false
	}
	return limit.Contains(base, pages<<PageShift)
}
