package guest

import (
	"fmt"

	"bulkhead/boot/virt"
	"bulkhead/isolation/abi"
)

// MemState is what a page the guest maps is to it (GUEST_MEMSTATE, ABI
// v1.1): abi.MemUnmapped, MemPrivate, MemLent or MemShared.
type MemState uint64

func (s MemState) String() string {
	switch s {
	case abi.MemUnmapped:
		return "unmapped"
	case abi.MemPrivate:
		return "private"
	case abi.MemLent:
		return "lent by the host"
	case abi.MemShared:
		return "shared with the host"
	}
	return fmt.Sprintf("unknown state %d", uint64(s))
}

// MemStateRun asks the engine about the page at ipa: its state, and how
// many pages from ipa on (at most pages, at most abi.MemStateMaxRun) are
// in that state (GUEST_MEMSTATE; guests only).
func MemStateRun(ipa, pages uint64) (state MemState, run uint64, st abi.Status) {
	x := call(abi.GuestMemState, ipa, pages)
	return MemState(x[1]), x[2], abi.StatusOf(x[0])
}

// CheckPrivate checks that every page of the regions is private to this
// guest: donated to it, mapped by nobody else, not shared. A region's
// partial pages count whole. It returns nil, or an error that names the
// first page that is not private and what it is, or the status of a call
// that failed. An answer that breaks the ABI (a run of 0 pages, or longer
// than asked) is an error too, so a faulty engine cannot make it loop.
func CheckPrivate(regions []virt.Region) error {
	for _, r := range regions {
		if r.Size == 0 {
			continue
		}
		lo := r.Base &^ (virt.PageSize - 1)
		end := r.Base + r.Size
		if end < r.Base {
			return fmt.Errorf("guest: region %s at %#x wraps", r.Name, r.Base)
		}
		n := (end - lo + virt.PageSize - 1) / virt.PageSize
		for ipa := lo; n > 0; {
			state, run, st := MemStateRun(ipa, n)
			switch {
			case st != abi.Success:
				return fmt.Errorf("guest: GUEST_MEMSTATE(%#x, %d): %v", ipa, n, st)
			case run == 0 || run > n:
				return fmt.Errorf("guest: GUEST_MEMSTATE(%#x, %d) answered a run of %d pages", ipa, n, run)
			case state != abi.MemPrivate:
				return fmt.Errorf("guest: %s page at %#x is %v (%d pages)", r.Name, ipa, state, run)
			}
			ipa += run * virt.PageSize
			n -= run
		}
	}
	return nil
}

// CheckRAMPrivate checks that all the RAM the device tree describes is
// private to this guest, so that no page of what it takes for its memory
// is one the host can read (see CheckPrivate).
func (m Machine) CheckRAMPrivate() error {
	if len(m.Memory) == 0 {
		return fmt.Errorf("guest: the device tree describes no RAM")
	}
	return CheckPrivate(m.Memory)
}
