//go:build tamago && arm64

package hosttests

import (
	"testing"

	"bulkhead/boot/virt"
	"bulkhead/guest"
	"bulkhead/guest/check"
	"bulkhead/isolation/abi"
)

// newVMWith creates a VM with one vCPU and VM_CREATE flags and registers
// its teardown.
func newVMWith(t *testing.T, flags uint64) *testVM {
	id, st := guest.VMCreateWith(1, flags)
	require(t, check.Status(t, abi.Success, st, "VM_CREATE(1, %#x)", flags))
	v := &testVM{id: id}
	t.Cleanup(func() { v.teardown() })
	return v
}

// testProtectedShareDenied: MEM_SHARE into a protected VM is DENIED and
// changes nothing; donation works; a VM created with x2 bits other than
// bit 0 set (what a v1 caller may leave there) takes MEM_SHARE as in v1.
func testProtectedShareDenied(t *testing.T) {
	pv := newVMWith(t, abi.VMProtected)
	pa := pages(t, 2)
	check.Status(t, abi.Denied, guest.MemShare(pv.id, pa, guestIPA, 1, abi.PermR), "MEM_SHARE into a protected VM")
	info, st := guest.MemInfo(pa)
	check.Status(t, abi.Success, st, "MEM_INFO")
	check.True(t, info.Owner == abi.OwnerHost && !info.Shared, "the page stays the host's, unshared: %+v", info)
	pv.donate(t, pa, guestIPA, 1)

	v1 := newVMWith(t, 0xa2) // bit 0 clear
	check.Status(t, abi.Success, guest.MemShare(v1.id, pa+virt.PageSize, guestIPA, 1, abi.PermR), "MEM_SHARE into an unprotected VM")
	check.Status(t, abi.Success, guest.MemUnshare(v1.id, guestIPA, 1), "MEM_UNSHARE")
}

// memStateExit runs a VM loaded with memStateGuest and returns the state,
// run and status its GUEST_MEMSTATE answered.
func memStateExit(t *testing.T, v *testVM) (state, run, status uint64) {
	e := v.run(t, 0)
	require(t, check.Equal(t, abi.ExitCall, e.Reason, "exit of the GUEST_MEMSTATE guest"))
	check.Equal(t, uint64(forwardedCall), e.Detail[0], "forwarded call")
	check.Equal(t, abi.ExitShutdown, v.run(t, 0).Reason, "the guest powers off")
	return e.Detail[1], e.Detail[2], e.Detail[3]
}

// testProtectedGuestSeesPrivate: in a protected VM with two donated pages,
// the guest sees both private.
func testProtectedGuestSeesPrivate(t *testing.T) {
	v := newVMWith(t, abi.VMProtected)
	v.load(t, memStateGuest(guestIPA, 4))
	v.donate(t, pages(t, 1), guestIPA+virt.PageSize, 1)
	state, run, st := memStateExit(t, v)
	check.Equal(t, [3]uint64{0, abi.MemPrivate, 2}, [3]uint64{st, state, run}, "status, state, run")
}

// testUnprotectedGuestSeesLent: a page the host MEM_SHAREs into an
// unprotected VM is lent, and the guest can tell.
func testUnprotectedGuestSeesLent(t *testing.T) {
	v := newVMWith(t, 0)
	v.load(t, memStateGuest(guestIPA+virt.PageSize, 1))
	pa := pages(t, 1)
	require(t, check.Status(t, abi.Success, guest.MemShare(v.id, pa, guestIPA+virt.PageSize, 1, abi.PermR), "MEM_SHARE"))
	state, run, st := memStateExit(t, v)
	check.Equal(t, [3]uint64{0, abi.MemLent, 1}, [3]uint64{st, state, run}, "status, state, run")
}
