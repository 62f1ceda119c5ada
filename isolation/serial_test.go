package isolation_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"bulkhead/isolation"
	"bulkhead/isolation/abi"
	"bulkhead/isolation/internal/fakearch"
	"bulkhead/isolation/internal/plant"
)

// The tests of this file interleave calls with a run deterministically: a
// script Step's During runs while its vCPU is inside EnterGuest, with the
// engine lock released, as a call from another CPU would.

// srig drives a Serial over SmallConfig. Its checks return errors rather
// than stop the test, so that a test can show that a planted bug makes a
// scenario fail.
type srig struct {
	s    *isolation.Serial
	a    *fakearch.Arch
	errs []error
}

func newSerialRig(t testing.TB) *srig {
	t.Helper()
	a := fakearch.New()
	s, err := isolation.NewSerial(isolation.SmallConfig(), a, isolation.NewPool(isolation.SmallPoolTables, isolation.SmallPoolBase))
	require.NoError(t, err)
	return &srig{s: s, a: a}
}

// failf records a deviation.
func (r *srig) failf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Errorf(format, args...))
}

// call makes a call through the Serial and runs the ghost check after it.
func (r *srig) call(c isolation.Caller, id uint32, args ...uint64) ([8]uint64, isolation.Effect) {
	out, eff := r.s.Dispatch(c, regs(id, args...))
	if err := r.s.Check(); err != nil {
		r.failf("after call %#x%v: %v", id, args, err)
	}
	return out, eff
}

// host makes a host call and returns its status and results.
func (r *srig) host(id uint32, args ...uint64) (abi.Status, [8]uint64) {
	out, _ := r.call(isolation.HostCaller(), id, args...)
	return abi.StatusOf(out[0]), out
}

// want records a deviation when a host call's status is not st.
func (r *srig) want(st abi.Status, id uint32, args ...uint64) [8]uint64 {
	got, out := r.host(id, args...)
	if got != st {
		r.failf("call %#x%v: status %v, want %v", id, args, got, st)
	}
	return out
}

// vm creates a VM with n vCPUs, all initialised.
func (r *srig) vm(t testing.TB, n uint64) isolation.VMID {
	t.Helper()
	st, out := r.host(abi.VMCreate, n)
	require.Equal(t, abi.Success, st)
	for i := uint64(0); i < n; i++ {
		st, _ := r.host(abi.VCPUInit, out[1], i, 0x4000_0000, 0)
		require.Equal(t, abi.Success, st)
	}
	return isolation.VMID(out[1])
}

// states returns the states of VM id's vCPUs.
func (r *srig) states(id isolation.VMID) []isolation.VCPUState {
	return r.s.Snapshot().VMs[id-1].VCPU
}

// exitOf is a VCPU_RUN's exit record, x1..x3.
func exitOf(out [8]uint64) [3]uint64 { return [3]uint64{out[1], out[2], out[3]} }

// irqWhileInGuest: VCPU_IRQ of a vCPU in the guest leaves its Context
// alone, and the lines are at their levels of the calls' order at the next
// entry.
func irqWhileInGuest(t testing.TB) []error {
	r := newSerialRig(t)
	vm := r.vm(t, 1)
	id := uint64(vm)
	r.want(abi.Success, abi.VCPUIRQ, id, 0, 40, 1) // high before the run
	var ctx *isolation.Context
	var next [16]uint64
	r.a.SetScript(vm, 0, []fakearch.Step{{
		Before: func(c *isolation.Context) { ctx = c },
		During: func() {
			before := ctx.IRQ
			r.want(abi.Success, abi.VCPUIRQ, id, 0, 33, 1)
			r.want(abi.Success, abi.VCPUIRQ, id, 0, 5, 1) // an SGI: raised, then lowered, still latched
			r.want(abi.Success, abi.VCPUIRQ, id, 0, 5, 0)
			r.want(abi.Success, abi.VCPUIRQ, id, 0, 34, 1) // an SPI: raised, then lowered
			r.want(abi.Success, abi.VCPUIRQ, id, 0, 34, 0)
			r.want(abi.Success, abi.VCPUIRQ, id, 0, 40, 0)
			r.want(abi.Success, abi.VCPUIRQ, id, 0, 1019, 1)
			r.want(abi.InvalidParameters, abi.VCPUIRQ, id, 0, 1020, 1)
			r.want(abi.InvalidParameters, abi.VCPUIRQ, id, 0, 33, 2)
			r.want(abi.InvalidParameters, abi.VCPUIRQ, id, 1, 33, 1)
			if ctx.IRQ != before {
				r.failf("VCPU_IRQ wrote the context of a vCPU in the guest")
			}
		},
		Trap: isolation.Trap{Kind: isolation.TrapSync, ESR: esr(ecHVC, 0)}, // x0 0: forwarded, ends the run
	}, {
		Before: func(c *isolation.Context) { next = c.IRQ },
		Trap:   isolation.Trap{Kind: isolation.TrapIRQ},
	}})
	r.want(abi.Success, abi.VCPURun, id, 0, 0)
	r.want(abi.Success, abi.VCPURun, id, 0, 0)
	var want [16]uint64
	want[0] = 1<<33 | 1<<5
	want[15] = 1 << (1019 % 64)
	if next != want {
		r.failf("the lines at the next entry are %#x, want %#x", next, want)
	}
	return r.errs
}

func TestSerialIRQWhileInGuest(t *testing.T) {
	require.Empty(t, irqWhileInGuest(t))
}

// TestSerialIRQCatchesPlantedBug shows that the scenario fails when Serial
// passes a VCPU_IRQ of a vCPU in the guest to the core.
func TestSerialIRQCatchesPlantedBug(t *testing.T) {
	plant.SerialIRQIntoGuest = true
	defer func() { plant.SerialIRQIntoGuest = false }()
	errs := irqWhileInGuest(t)
	require.NotEmpty(t, errs)
	t.Log(errs)
}

// TestSerialCallsAgainstARunningVCPU: while vCPU 0 is in the guest, calls
// from other CPUs that would touch it are refused, memory calls on its VM
// go through, and the ghost check holds.
func TestSerialCallsAgainstARunningVCPU(t *testing.T) {
	r := newSerialRig(t)
	vm := r.vm(t, 2)
	id := uint64(vm)
	var x0 [2]uint64
	// vCPU 1 calls CPU_ON(0) and AFFINITY_INFO(0, 0), keeping each x0.
	steps1 := []fakearch.Step{
		hvcStep(uint64(abi.PSCICPUOn64), 0, 0x4000_0000, 0),
		{Before: func(c *isolation.Context) {
			x0[0] = c.X[0]
			c.X[0], c.X[1], c.X[2] = uint64(abi.PSCIAffinityInfo64), 0, 0
		}, Trap: isolation.Trap{Kind: isolation.TrapSync, ESR: esr(ecHVC, 0)}},
		{Before: func(c *isolation.Context) { x0[1] = c.X[0] }, Trap: isolation.Trap{Kind: isolation.TrapIRQ}},
	}
	r.a.SetScript(vm, 1, steps1)
	invals := 0
	r.a.SetScript(vm, 0, []fakearch.Step{{
		During: func() {
			r.want(abi.Busy, abi.VMDestroy, id)
			r.want(abi.Busy, abi.VCPURun, id, 0, 0)
			r.want(abi.Denied, abi.VCPUInit, id, 1, 0x4000_0000, 0)
			if s := r.states(vm); s[0] != isolation.VCPURunning {
				r.failf("vCPU 0 in the guest is %v in the snapshot", s[0])
			}
			before := r.a.InvalCount
			r.want(abi.Success, abi.MemDonate, id, pg(2), 0x8000_0000, 2, abi.PermR|abi.PermW)
			r.want(abi.Success, abi.MemShare, id, pg(5), 0x9000_0000, 1, abi.PermR|abi.PermW)
			r.want(abi.Success, abi.MemUnshare, id, 0x9000_0000, 1)
			invals = r.a.InvalCount - before
			out := r.want(abi.Success, abi.VCPURun, id, 1, 0)
			if got := exitOf(out); got != [3]uint64{uint64(abi.ExitIRQ), 0, 0} {
				r.failf("vCPU 1's run: exit %v", got)
			}
		},
		Trap: isolation.Trap{Kind: isolation.TrapIRQ},
	}})
	out := r.want(abi.Success, abi.VCPURun, id, 0, 0)
	require.Empty(t, r.errs)
	assert.Equal(t, uint64(abi.ExitIRQ), out[1])
	assert.Equal(t, int64(abi.PSCIAlreadyOn), int64(x0[0]), "CPU_ON of a vCPU in the guest")
	assert.Equal(t, uint64(abi.AffinityOn), x0[1], "AFFINITY_INFO of a vCPU in the guest")
	assert.NotZero(t, invals, "the host stage-2 changes were invalidated")
	assert.Equal(t, []isolation.VCPUState{isolation.VCPUOn, isolation.VCPUOn}, r.states(vm))
	r.want(abi.Success, abi.VMDestroy, id)
	require.Empty(t, r.errs)
}

// systemOffWhileInGuest: vCPU 1 is in the guest when vCPU 0, run from
// another CPU, calls SYSTEM_OFF. vCPU 1 is Off at once, its VM cannot be
// destroyed until it leaves the guest, and its run then ends with
// VCPU_STATE(1, off), the GUEST_SHARE it trapped with dropped.
func systemOffWhileInGuest(t testing.TB) []error {
	r := newSerialRig(t)
	vm := r.vm(t, 2)
	id := uint64(vm)
	r.want(abi.Success, abi.MemDonate, id, pg(2), 0x8000_0000, 1, abi.PermR|abi.PermW)
	r.a.SetScript(vm, 0, []fakearch.Step{hvcStep(uint64(abi.PSCISystemOff))})
	share := hvcStep(uint64(abi.GuestShare), 0x8000_0000, 1)
	share.During = func() {
		out := r.want(abi.Success, abi.VCPURun, id, 0, 0)
		if got := exitOf(out); got != [3]uint64{uint64(abi.ExitShutdown), 0, 0} {
			r.failf("vCPU 0's run: exit %v, want SHUTDOWN(0)", got)
		}
		if s := r.states(vm); s[0] != isolation.VCPUOff || s[1] != isolation.VCPUOff {
			r.failf("after SYSTEM_OFF the vCPUs are %v", s)
		}
		r.want(abi.Busy, abi.VMDestroy, id)
	}
	r.a.SetScript(vm, 1, []fakearch.Step{share})
	out := r.want(abi.Success, abi.VCPURun, id, 1, 0)
	if got := exitOf(out); got != [3]uint64{uint64(abi.ExitVCPUState), 1, 0} {
		r.failf("vCPU 1's run: exit %v, want VCPU_STATE(1, 0)", got)
	}
	if s := r.states(vm); len(s) != 2 || s[1] != isolation.VCPUOff {
		r.failf("after its run vCPU 1 is %v", s)
	}
	if info := r.want(abi.Success, abi.MemInfo, pg(2)); info[3] != 0 {
		r.failf("the GUEST_SHARE of a stopped vCPU was carried out")
	}
	r.want(abi.Denied, abi.VCPURun, id, 1, 0)
	r.want(abi.Success, abi.VMDestroy, id)
	return r.errs
}

func TestSerialSystemOffWhileInGuest(t *testing.T) {
	require.Empty(t, systemOffWhileInGuest(t))
}

// TestSerialSystemOffCatchesPlantedBugs shows that the scenario fails when
// the run carries on for a stopped vCPU, or when VM_DESTROY does not wait
// for a stopped vCPU to leave the guest.
func TestSerialSystemOffCatchesPlantedBugs(t *testing.T) {
	for name, sw := range map[string]*bool{
		"RunIgnoresStop":       &plant.RunIgnoresStop,
		"SerialDestroyInGuest": &plant.SerialDestroyInGuest,
	} {
		t.Run(name, func(t *testing.T) {
			*sw = true
			defer func() { *sw = false }()
			errs := systemOffWhileInGuest(t)
			require.NotEmpty(t, errs)
			t.Log(errs)
		})
	}
}

// TestSerialHostAllows: the permissions the host stage-2 gives the host
// now, as the machine layer reads them to tell a fault during another
// CPU's break-before-make (retried) from a refused access.
func TestSerialHostAllows(t *testing.T) {
	r := newSerialRig(t)
	const page = 0x4000_0000 + 4*isolation.PageSize
	engine := isolation.IPA(0x4000_0000)
	assert.True(t, r.s.HostAllows(page, isolation.PermRWX), "a page of the host's")
	assert.False(t, r.s.HostAllows(engine, isolation.PermR), "the engine's page")
	assert.True(t, r.s.HostAllows(0x0900_0000, isolation.PermRW), "the host's device")
	assert.False(t, r.s.HostAllows(0x0900_0000, isolation.PermX), "a device is never executable")
	vm := r.vm(t, 1)
	r.want(abi.Success, abi.MemDonate, uint64(vm), page, 0x8000_0000, 1, abi.PermAll)
	assert.False(t, r.s.HostAllows(page, isolation.PermR), "donated")
	assert.Empty(t, r.errs)
}
