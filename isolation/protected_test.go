package isolation_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"bulkhead/isolation"
	"bulkhead/isolation/abi"
)

// TestVMCreateProtectedFlag: bit 0 of x2 makes a protected VM; the other
// bits are ignored, so a v1 caller's leftover x2 (here the rig's marker
// 0xa2) keeps v1's VM_CREATE.
func TestVMCreateProtectedFlag(t *testing.T) {
	cases := []struct {
		x2        uint64
		protected bool
	}{{0, false}, {0xa2, false}, {2, false}, {1 << 63, false},
		{abi.VMProtected, true}, {0xa3, true}, {^uint64(0), true}}
	for _, c := range cases {
		r := newRig(t)
		out := r.host(abi.VMCreate, 1, c.x2)
		require.Equal(t, abi.Success, abi.StatusOf(out[0]), "x2 %#x", c.x2)
		assert.Equal(t, [8]uint64{0, 1, c.x2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7}, out, "x2 %#x", c.x2)
		assert.Equal(t, c.protected, r.e.Snapshot().VMs[0].Protected, "x2 %#x", c.x2)
	}
	r := newRig(t)
	assert.Equal(t, abi.InvalidParameters, r.hostSt(abi.VMCreate, 0, abi.VMProtected), "count still checked first")
}

// protectedVM creates a protected VM with one vCPU initialised.
func (r *rig) protectedVM() isolation.VMID {
	r.t.Helper()
	out := r.host(abi.VMCreate, 1, abi.VMProtected)
	require.Equal(r.t, abi.Success, abi.StatusOf(out[0]))
	require.Equal(r.t, abi.Success, r.hostSt(abi.VCPUInit, out[1], 0, 0x4000_0000, 0))
	return isolation.VMID(out[1])
}

func TestMemShareIntoProtectedVMIsDenied(t *testing.T) {
	r := newRig(t)
	vm := r.protectedVM()
	rw := uint64(abi.PermR | abi.PermW)
	before := r.e.Snapshot()
	cases := []struct {
		name string
		args []uint64
		want abi.Status
	}{
		{"valid share", []uint64{uint64(vm), pg(3), 0x4000_0000, 1, rw}, abi.Denied},
		{"bad perms first", []uint64{uint64(vm), pg(3), 0x4000_0000, 1, 0}, abi.InvalidParameters},
		{"bad PA first", []uint64{uint64(vm), pg(3) + 8, 0x4000_0000, 1, rw}, abi.InvalidParameters},
		{"engine page: the ledger first", []uint64{uint64(vm), pg(0), 0x4000_0000, 1, rw}, abi.Denied},
	}
	for _, c := range cases {
		in := regs(abi.MemShare, c.args...)
		out := r.host(abi.MemShare, c.args...)
		in[0] = c.want.Reg()
		assert.Equal(t, in, out, c.name)
	}
	assert.Equal(t, before, r.e.Snapshot(), "a refused MEM_SHARE changes nothing")
	r.donate(vm, 3, 0x4000_0000, 2)
	assert.Equal(t, uint8(abi.OwnerVM), r.e.Snapshot().Pages[3].Owner, "donation still works")

	// The same share into an unprotected VM succeeds.
	plain := r.vm(1)
	assert.Equal(t, abi.Success, r.hostSt(abi.MemShare, uint64(plain), pg(5), 0x4000_0000, 1, rw))
}

func TestGuestMemState(t *testing.T) {
	r := newRig(t)
	vm := r.vm(1)
	r.donate(vm, 1, 0x4000_0000, 3)
	require.Equal(t, abi.Success, r.hostSt(abi.MemShare, uint64(vm), pg(5), 0x4000_3000, 2, abi.PermR))
	require.Equal(t, abi.Success, r.guestSt(vm, abi.GuestShare, 0x4000_2000, 1))
	cases := []struct {
		ipa, n     uint64
		state, run uint64
	}{
		{0x4000_0000, 1, abi.MemPrivate, 1},
		{0x4000_0000, 8, abi.MemPrivate, 2},
		{0x4000_1000, 8, abi.MemPrivate, 1},
		{0x4000_2000, 8, abi.MemShared, 1},
		{0x4000_3000, 8, abi.MemLent, 2},
		{0x4000_5000, 8, abi.MemUnmapped, 8},
		{0x3fff_f000, 8, abi.MemUnmapped, 1},
		{0x5000_0000, 1000, abi.MemUnmapped, abi.MemStateMaxRun},
		{1<<40 - 0x1000, 1, abi.MemUnmapped, 1},
	}
	for _, c := range cases {
		out, _ := r.guest(vm, 0, abi.GuestMemState, c.ipa, c.n)
		assert.Equal(t, [8]uint64{0, c.state, c.run, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7}, out, "ipa %#x n %d", c.ipa, c.n)
	}
	for _, bad := range [][2]uint64{{0x4000_0000, 0}, {0x4000_0008, 1}, {1 << 40, 1}, {1<<40 - 0x1000, 2},
		{0xffff_ffff_ffff_f000, 2}, {0x4000_0000, 1 << 62}} {
		in := regs(abi.GuestMemState, bad[0], bad[1])
		out, _ := r.guest(vm, 0, abi.GuestMemState, bad[0], bad[1])
		in[0] = abi.InvalidParameters.Reg()
		assert.Equal(t, in, out, "ipa %#x n %d", bad[0], bad[1])
	}
	in := regs(abi.GuestMemState, 0x4000_0000, 1)
	out := r.host(abi.GuestMemState, 0x4000_0000, 1)
	in[0] = abi.NotSupported.Reg()
	assert.Equal(t, in, out, "a guest call")
}

// TestProtectedVMSharesOnlyByGuestShare: everything a protected VM maps is
// private until the guest shares it; then the host, and only then, maps it.
func TestProtectedVMSharesOnlyByGuestShare(t *testing.T) {
	r := newRig(t)
	vm := r.protectedVM()
	r.donate(vm, 2, 0x4000_0000, 4)
	out, _ := r.guest(vm, 0, abi.GuestMemState, 0x4000_0000, 4)
	assert.Equal(t, [3]uint64{0, abi.MemPrivate, 4}, [3]uint64(out[:3]))
	for i := 2; i < 6; i++ {
		_, ok := r.e.Translate(isolation.HostVMID, isolation.IPA(pg(i)))
		assert.False(t, ok, "host maps donated page %d", i)
	}
	require.Equal(t, abi.Success, r.guestSt(vm, abi.GuestShare, 0x4000_1000, 1))
	out, _ = r.guest(vm, 0, abi.GuestMemState, 0x4000_1000, 4)
	assert.Equal(t, [3]uint64{0, abi.MemShared, 1}, [3]uint64(out[:3]))
	_, ok := r.e.Translate(isolation.HostVMID, isolation.IPA(pg(3)))
	assert.True(t, ok, "the host maps the page the guest shared")
}
