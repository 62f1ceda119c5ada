package isolation_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"bulkhead/isolation"
	"bulkhead/isolation/abi"
	"bulkhead/isolation/internal/fakearch"
)

func TestQueriesFromHostAndGuest(t *testing.T) {
	r := newRig(t)
	vm := r.vm(1)
	w := abi.UIDWords()
	for _, c := range []isolation.Caller{isolation.HostCaller(), isolation.GuestCaller(vm, 0)} {
		out, _ := r.e.Dispatch(c, regs(abi.Version))
		assert.Equal(t, [8]uint64{0, 1, 1, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7}, out)
		out, _ = r.e.Dispatch(c, regs(abi.CallUID))
		assert.Equal(t, [8]uint64{uint64(w[0]), uint64(w[1]), uint64(w[2]), uint64(w[3]), 0xa4, 0xa5, 0xa6, 0xa7}, out)
		out, _ = r.e.Dispatch(c, regs(abi.Revision))
		assert.Equal(t, [8]uint64{1, 0, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7}, out)
	}
	out, _ := r.guest(vm, 0, abi.GuestMemInfo)
	assert.Equal(t, [8]uint64{0, 4096, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7}, out)
}

func TestFunctionIDUsesW0Only(t *testing.T) {
	r := newRig(t)
	out, _ := r.e.Dispatch(isolation.HostCaller(), [8]uint64{0xdead_0000_0000_0000 | uint64(abi.Version)})
	assert.Equal(t, uint64(1), out[1])
}

func TestNotSupportedPreservesRegisters(t *testing.T) {
	r := newRig(t)
	vm := r.vm(1)
	notSup := func(c isolation.Caller, id uint32) {
		t.Helper()
		in := regs(id)
		out, eff := r.e.Dispatch(c, in)
		assert.Equal(t, isolation.EffectNone, eff.Kind, "%#x", id)
		in[0] = abi.NotSupported.Reg()
		assert.Equal(t, in, out, "%#x", id)
	}
	host := isolation.HostCaller()
	for _, id := range []uint32{0, 0xC6000001, 0xC6000015, 0x8600FF00, 0xC6000100, abi.GuestShare,
		abi.GuestUnshare, abi.GuestRelinquish, abi.GuestMemInfo, abi.GuestMemState, abi.PSCICPUOn64, abi.PSCICPUOff,
		abi.PSCIAffinityInfo64, 0xC4000001} {
		notSup(host, id)
	}
	guest := isolation.GuestCaller(vm, 0)
	for _, id := range []uint32{abi.VMCreate, abi.VMDestroy, abi.VCPUInit, abi.VCPURun, abi.VCPUIRQ,
		abi.MemDonate, abi.MemShare, abi.MemUnshare, abi.MemReclaim, abi.MemInfo, 0xC60000FF, 0x8600FF00,
		0xC4000001, 0x84000005} {
		notSup(guest, id)
	}
	for _, c := range []isolation.Caller{isolation.GuestCaller(2, 0), isolation.GuestCaller(vm, 1),
		isolation.GuestCaller(3, 0), isolation.GuestCaller(0xffff, 0)} {
		notSup(c, abi.Version)
	}
}

func TestGuestForwardsCallsTheEngineDoesNotOwn(t *testing.T) {
	r := newRig(t)
	vm := r.vm(1)
	for _, id := range []uint32{0xC6000100, 0x86000100, 0x80000000, 0xC4000020, 0xC3000000, 0x12345} {
		in := regs(id)
		out, eff := r.e.Dispatch(isolation.GuestCaller(vm, 0), in)
		assert.Equal(t, isolation.EffectForward, eff.Kind, "%#x", id)
		assert.Equal(t, in, out)
		assert.False(t, isolation.EngineOwnsID(id))
	}
}

func TestVMCreate(t *testing.T) {
	r := newRig(t)
	cases := []struct {
		n    uint64
		want abi.Status
	}{{0, abi.InvalidParameters}, {3, abi.InvalidParameters}, {1 << 63, abi.InvalidParameters},
		{2, abi.Success}, {1, abi.Success}, {1, abi.NoMemory}}
	ids := []uint64{}
	for _, c := range cases {
		out := r.host(abi.VMCreate, c.n)
		require.Equal(t, c.want, abi.StatusOf(out[0]), "n=%d", c.n)
		if c.want == abi.Success {
			ids = append(ids, out[1])
		} else {
			assert.Equal(t, uint64(c.n), out[1], "x1 preserved on failure")
		}
	}
	assert.Equal(t, []uint64{1, 2}, ids, "lowest free id first")
	require.Equal(t, abi.Success, r.hostSt(abi.VMDestroy, 1))
	out := r.host(abi.VMCreate, 1)
	assert.Equal(t, uint64(1), out[1], "slot 1 is reused")
	s := r.e.Snapshot()
	assert.Equal(t, []isolation.VCPUState{isolation.VCPUOff}, s.VMs[0].VCPU)
}

func TestVMCreateWithoutRootTableIsNoMemory(t *testing.T) {
	// With the pool starting at an odd page, roots sit at tables 1-2; the
	// host's other tables take 4..7, leaving 0 and 3.
	r := newRigPoolAt(t, 8, isolation.SmallPoolBase+page)
	require.Equal(t, 2, r.e.FreeTables())
	assert.Equal(t, abi.NoMemory, r.hostSt(abi.VMCreate, 1), "two free tables, but not an aligned pair")
}

func TestVMDestroy(t *testing.T) {
	r := newRig(t)
	vm := r.vm(2)
	for _, id := range []uint64{0, 2, 3, 1 << 40} {
		assert.Equal(t, abi.InvalidParameters, r.hostSt(abi.VMDestroy, id), "vmid %d", id)
	}
	r.donate(vm, 1, 0x4000_0000, 2)
	require.Equal(t, abi.Success, r.hostSt(abi.MemShare, uint64(vm), pg(3), 0x8000_0000, 1, abi.PermR))
	require.Equal(t, abi.Success, r.guestSt(vm, abi.GuestShare, 0x4000_1000, 1))
	free := r.e.FreeTables()
	var busy abi.Status
	r.script(fakearch.Step{During: func() { busy = abi.StatusOf(r.host(abi.VMDestroy, uint64(vm))[0]) }})
	st, _ := r.run(vm, 0, 0)
	require.Equal(t, abi.Success, st)
	assert.Equal(t, abi.Busy, busy, "a vCPU is inside VCPU_RUN")
	require.Equal(t, abi.Success, r.hostSt(abi.VMDestroy, uint64(vm)))
	assert.Greater(t, r.e.FreeTables(), free, "stage-2 tables went back to the pool")
	s := r.e.Snapshot()
	for _, i := range []int{1, 2} {
		assert.Equal(t, uint8(abi.OwnerNone), s.Pages[i].Owner)
		_, ok := r.e.Translate(0, isolation.IPA(pg(i)))
		assert.False(t, ok, "page %d left the host stage-2", i)
	}
	assert.False(t, s.Pages[3].Shared)
	assert.False(t, s.VMs[0].Live)
	assert.Equal(t, abi.InvalidParameters, r.hostSt(abi.VMDestroy, uint64(vm)), "already free")
	last := r.a.Invals[len(r.a.Invals)-1]
	assert.Equal(t, fakearch.Inval{VMID: vm, All: true}, last)
}

func TestVCPUInit(t *testing.T) {
	r := newRig(t)
	vm := uint64(r.vm(2))
	cases := []struct {
		name              string
		id, v, entry, arg uint64
		want              abi.Status
	}{
		{"vmid 0", 0, 0, 0x1000, 0, abi.InvalidParameters},
		{"free slot", 2, 0, 0x1000, 0, abi.InvalidParameters},
		{"vcpu out of range", vm, 2, 0x1000, 0, abi.InvalidParameters},
		{"vcpu huge", vm, 1 << 33, 0x1000, 0, abi.InvalidParameters},
		{"entry unaligned", vm, 0, 0x1002, 0, abi.InvalidParameters},
		{"ok", vm, 1, 0x4008_0000, 0x77, abi.Success},
		{"re-init before run", vm, 1, 0x4009_0000, 0x78, abi.Success},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, r.hostSt(abi.VCPUInit, c.id, c.v, c.entry, c.arg), c.name)
	}
	st, _ := r.run(isolation.VMID(vm), 1, 0)
	require.Equal(t, abi.Success, st)
	assert.Equal(t, uint64(0x4009_0000), r.a.LastCtx.PC, "the last init wins")
	assert.Equal(t, uint64(0x78), r.a.LastCtx.X[0])
	assert.Equal(t, uint64(isolation.PStateEL1h), r.a.LastCtx.PState)
	assert.True(t, r.a.LastCtx.Fresh)
	assert.Equal(t, abi.Denied, r.hostSt(abi.VCPUInit, vm, 0, 0x1000, 0), "the VM has run")
	assert.Equal(t, abi.InvalidParameters, r.hostSt(abi.VCPUInit, vm, 0, 0x1001, 0), "INVALID before DENIED")
}

func TestVCPURunStatuses(t *testing.T) {
	r := newRig(t)
	out := r.host(abi.VMCreate, 2)
	vm := out[1]
	assert.Equal(t, abi.InvalidParameters, r.hostSt(abi.VCPURun, 0, 0, 0))
	assert.Equal(t, abi.InvalidParameters, r.hostSt(abi.VCPURun, vm, 2, 0))
	assert.Equal(t, abi.Denied, r.hostSt(abi.VCPURun, vm, 0, 0), "vCPU is off")
	require.Equal(t, abi.Success, r.hostSt(abi.VCPUInit, vm, 0, 0x1000, 0))
	var busy abi.Status
	r.script(fakearch.Step{During: func() { busy = abi.StatusOf(r.host(abi.VCPURun, vm, 0, 0)[0]) },
		Trap: isolation.Trap{Kind: isolation.TrapIRQ}})
	st, ex := r.run(isolation.VMID(vm), 0, 0)
	require.Equal(t, abi.Success, st)
	assert.Equal(t, abi.Busy, busy)
	assert.Equal(t, [8]uint64{0, uint64(abi.ExitIRQ)}, ex, "every detail register is defined")
	assert.Equal(t, vm, r.a.LastVTTBR>>48, "VM's VMID")
	assert.NotEqual(t, r.e.HostVTTBR()&^(0xff<<48), r.a.LastVTTBR&^(0xff<<48), "VM's own root")
}

func TestVCPUIRQ(t *testing.T) {
	r := newRig(t)
	vm := uint64(r.vm(1))
	cases := []struct {
		id, v, intid, level uint64
		want                abi.Status
	}{
		{0, 0, 27, 1, abi.InvalidParameters},
		{vm, 1, 27, 1, abi.InvalidParameters},
		{vm, 0, 1020, 1, abi.InvalidParameters},
		{vm, 0, 27, 2, abi.InvalidParameters},
		{vm, 0, 0, 1, abi.Success},
		{vm, 0, 1019, 1, abi.Success},
		{vm, 0, 27, 1, abi.Success},
		{vm, 0, 27, 0, abi.Success},
		{vm, 0, 33, 1, abi.Success},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, r.hostSt(abi.VCPUIRQ, c.id, c.v, c.intid, c.level), "%+v", c)
	}
	r.run(isolation.VMID(vm), 0, 0)
	irq := r.a.LastCtx.IRQ
	assert.Equal(t, uint64(1|1<<33), irq[0], "INTID 0 and 33 asserted, 27 deasserted")
	assert.Equal(t, uint64(1)<<(1019%64), irq[1019/64])
}

func TestMemInfo(t *testing.T) {
	r := newRig(t)
	vm := r.vm(1)
	r.donate(vm, 2, 0x1000, 1)
	require.Equal(t, abi.Success, r.hostSt(abi.MemShare, uint64(vm), pg(3), 0x2000, 1, abi.PermR))
	require.Equal(t, abi.Success, r.guestSt(vm, abi.GuestShare, 0x1000, 1))
	require.Equal(t, abi.Success, r.hostSt(abi.MemDonate, uint64(vm), pg(4), 0x3000, 1, abi.PermR))
	require.Equal(t, abi.Success, r.guestSt(vm, abi.GuestRelinquish, 0x3000, 1))
	cases := []struct {
		pa   uint64
		want [5]uint64
	}{
		{pg(0), [5]uint64{0, abi.OwnerEngine, 0, 0, 0}},
		{pg(1) + 0x123, [5]uint64{0, abi.OwnerHost, 0, 0, 0}},
		{pg(2), [5]uint64{0, abi.OwnerVM, uint64(vm), 1, abi.HostID}},
		{pg(3), [5]uint64{0, abi.OwnerHost, 0, 1, uint64(vm)}},
		{pg(4), [5]uint64{0, abi.OwnerNone, 0, 0, 0}},
		{pg(16), [5]uint64{abi.InvalidParameters.Reg(), pg(16), 0xa2, 0xa3, 0xa4}},
		{pg(0) - 1, [5]uint64{abi.InvalidParameters.Reg(), pg(0) - 1, 0xa2, 0xa3, 0xa4}},
	}
	for _, c := range cases {
		out := r.host(abi.MemInfo, c.pa)
		assert.Equal(t, c.want[:], out[:5], "%#x", c.pa)
	}
}
