//go:build tamago && arm64

package hosttests

import (
	"testing"

	"encoding/binary"

	"bulkhead/arch/arm64"
	"bulkhead/arch/el1"
	"bulkhead/boot/virt"
	"bulkhead/guest"
	"bulkhead/guest/check"
	"bulkhead/isolation/abi"
)

// require ends the test if ok is false: require(t, check.Status(...))
// makes an assertion fatal.
func require(t *testing.T, ok bool) {
	t.Helper()
	if !ok {
		t.FailNow()
	}
}

// free hands out pool pages; the staging area at the pool's start held
// this image's file at boot and is left alone.
var free = guest.NewPages(virt.Region{
	Name: "test-pages",
	Base: virt.Pool.Base + virt.MaxHostImage,
	Size: virt.Pool.Size - virt.MaxHostImage,
})

// pages returns n fresh host pages.
func pages(t *testing.T, n uint64) uint64 {
	pa, ok := free.Take(n)
	if !ok {
		t.Fatalf("the pool has no %d pages left", n)
	}
	return pa
}

// guestIPA is where tiny guests' code goes: the first page of the guest
// RAM window (DESIGN.md section 4).
const guestIPA = virt.GuestRAMBase

// testVM is a VM a test created, with the pages it donated to it, so that
// a cleanup destroys it and takes them back whatever the test did.
type testVM struct {
	id      uint64
	donated [][2]uint64 // PA, pages
}

// newVM creates a VM with vcpus vCPUs and registers its teardown.
func newVM(t *testing.T, vcpus uint64) *testVM {
	id, st := guest.VMCreate(vcpus)
	require(t, check.Status(t, abi.Success, st, "VM_CREATE(%d)", vcpus))
	v := &testVM{id: id}
	t.Cleanup(func() { v.teardown() })
	return v
}

// teardown destroys the VM and reclaims its pages; statuses are ignored
// because the test may have done either already.
func (v *testVM) teardown() {
	guest.VMDestroy(v.id)
	for _, d := range v.donated {
		guest.MemReclaim(d[0], d[1])
	}
}

// donate gives n host pages at pa to the VM at ipa.
func (v *testVM) donate(t *testing.T, pa, ipa, n uint64) {
	require(t, check.Status(t, abi.Success, guest.MemDonate(v.id, pa, ipa, n, abi.PermAll), "MEM_DONATE(%#x -> %#x, %d)", pa, ipa, n))
	v.donated = append(v.donated, [2]uint64{pa, n})
}

// load writes code into a fresh page, donates it at guestIPA and makes
// vCPU 0 start there. It returns the page's PA.
func (v *testVM) load(t *testing.T, code []uint32) uint64 {
	pa := pages(t, 1)
	writeCode(pa, code)
	v.donate(t, pa, guestIPA, 1)
	require(t, check.Status(t, abi.Success, guest.VCPUInit(v.id, 0, guestIPA, 0), "VCPU_INIT"))
	return pa
}

// writeCode stores code at pa and cleans it to the point of coherency: the
// vCPU fetches it with its MMU off, uncached (Arm ARM D8.2.12).
func writeCode(pa uint64, code []uint32) {
	b := el1.PhysBytes(pa, virt.PageSize)
	clear(b)
	for i, insn := range code {
		binary.LittleEndian.PutUint32(b[4*i:], insn)
	}
	arm64.CleanInvalidateDataRange(pa, virt.PageSize)
}

// maxIRQExits bounds how many IRQ exits run skips: the engine ends a
// VCPU_RUN with one after a burst of calls it handled itself.
const maxIRQExits = 1000

// run runs vCPU 0 until an exit other than IRQ and returns it.
func (v *testVM) run(t *testing.T, reply uint64) guest.Exit {
	for i := 0; i < maxIRQExits; i++ {
		e, st := guest.VCPURun(v.id, 0, reply)
		require(t, check.Status(t, abi.Success, st, "VCPU_RUN"))
		if e.Reason != abi.ExitIRQ {
			return e
		}
	}
	t.Fatalf("vCPU 0 of VM %d made only IRQ exits", v.id)
	return guest.Exit{}
}

// fill writes a pattern over the pages [pa, pa+n*4K).
func fill(pa, n uint64, pattern byte) {
	b := el1.PhysBytes(pa, n*virt.PageSize)
	for i := range b {
		b[i] = pattern
	}
}

// zero reports whether the pages [pa, pa+n*4K) read as zero.
func zero(pa, n uint64) bool {
	for _, c := range el1.PhysBytes(pa, n*virt.PageSize) {
		if c != 0 {
			return false
		}
	}
	return true
}

// el1Readable reports whether the host can read the word at pa.
func el1Readable(pa uint64) bool {
	_, _, ok := el1.ProbeRead(pa)
	return ok
}
