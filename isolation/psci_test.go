package isolation_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"bulkhead/isolation"
	"bulkhead/isolation/abi"
	"bulkhead/isolation/internal/plant"
)

func psciCode(x uint64) int64 { return int64(x) }

func TestHostPSCI(t *testing.T) {
	r := newRig(t)
	out, eff := r.e.Dispatch(isolation.HostCaller(), regs(abi.PSCIVersion))
	assert.Equal(t, uint64(abi.PSCIVersion11), out[0])
	assert.Equal(t, isolation.EffectNone, eff.Kind)
	for fid, want := range map[uint32]int64{
		abi.PSCIVersion: 0, abi.PSCIFeatures: 0, abi.PSCISystemOff: 0, abi.PSCISystemReset: 0,
		abi.PSCICPUOn64: -1, abi.PSCICPUOff: -1, abi.PSCIAffinityInfo32: -1, 0xC4000001: -1, abi.Version: -1,
	} {
		out, _ := r.e.Dispatch(isolation.HostCaller(), regs(abi.PSCIFeatures, uint64(fid)))
		assert.Equal(t, want, psciCode(out[0]), "FEATURES(%#x)", fid)
	}
	_, eff = r.e.Dispatch(isolation.HostCaller(), regs(abi.PSCISystemOff))
	assert.Equal(t, isolation.EffectPowerOff, eff.Kind)
	_, eff = r.e.Dispatch(isolation.HostCaller(), regs(abi.PSCISystemReset))
	assert.Equal(t, isolation.EffectReset, eff.Kind)
	assert.Equal(t, abi.NotSupported, r.hostSt(abi.PSCICPUOn64, 1, 0x1000, 0))
}

func TestGuestPSCIVersionAndFeatures(t *testing.T) {
	r := newRig(t)
	vm := r.vm(1)
	out, _ := r.guest(vm, 0, abi.PSCIVersion)
	assert.Equal(t, uint64(0x10001), out[0])
	for fid, want := range map[uint32]int64{
		abi.PSCIVersion: 0, abi.PSCIFeatures: 0, abi.PSCICPUOn32: 0, abi.PSCICPUOn64: 0, abi.PSCICPUOff: 0,
		abi.PSCIAffinityInfo32: 0, abi.PSCIAffinityInfo64: 0, abi.PSCISystemOff: 0, abi.PSCISystemReset: 0,
		0xC4000001: -1, 0x80000000: -1, abi.GuestShare: -1,
	} {
		out, _ := r.guest(vm, 0, abi.PSCIFeatures, uint64(fid))
		assert.Equal(t, want, psciCode(out[0]), "FEATURES(%#x)", fid)
	}
}

func TestGuestCPUOnOffAffinity(t *testing.T) {
	r := newRig(t)
	out := r.host(abi.VMCreate, 2)
	vm := isolation.VMID(out[1])
	require.Equal(t, abi.Success, r.hostSt(abi.VCPUInit, uint64(vm), 0, 0x4000_0000, 0))
	aff := func(target, level uint64) int64 {
		out, _ := r.guest(vm, 0, abi.PSCIAffinityInfo64, target, level)
		return psciCode(out[0])
	}
	assert.Equal(t, int64(abi.AffinityOn), aff(0, 0))
	assert.Equal(t, int64(abi.AffinityOff), aff(1, 0))
	assert.Equal(t, int64(-2), aff(2, 0), "no such vCPU")
	assert.Equal(t, int64(-2), aff(1<<8|1, 0), "Aff1 must be 0")
	assert.Equal(t, int64(-2), aff(1, 1), "only level 0")

	cases := []struct {
		name   string
		id     uint32
		target uint64
		want   int64
	}{
		{"no such vCPU", abi.PSCICPUOn64, 2, -2},
		{"Aff1 set", abi.PSCICPUOn64, 1 << 8, -2},
		{"Aff3 set", abi.PSCICPUOn64, 1 << 32, -2},
		{"caller is on", abi.PSCICPUOn64, 0, -4},
	}
	for _, c := range cases {
		out, eff := r.guest(vm, 0, c.id, c.target, 0x4010_0000, 0x99)
		assert.Equal(t, c.want, psciCode(out[0]), c.name)
		assert.Equal(t, isolation.EffectNone, eff.Kind, c.name)
	}
	// SMC32 CPU_ON ignores the upper halves of its arguments.
	out, eff := r.guest(vm, 0, abi.PSCICPUOn32, 0xffff_ffff_0000_0001, 0xffff_0000_4010_0000, 0x99)
	require.Equal(t, int64(0), psciCode(out[0]))
	assert.Equal(t, isolation.Effect{Kind: isolation.EffectVCPUState, VCPU: 1, On: true}, eff)
	assert.Equal(t, int64(abi.AffinityOn), aff(1, 0))
	out, _ = r.guest(vm, 0, abi.PSCICPUOn64, 1, 0x4010_0000, 0)
	assert.Equal(t, int64(-4), psciCode(out[0]), "already on")

	st, _ := r.run(vm, 1, 0)
	require.Equal(t, abi.Success, st)
	assert.Equal(t, uint64(0x4010_0000), r.a.LastCtx.PC)
	assert.Equal(t, uint64(0x99), r.a.LastCtx.X[0])
	assert.True(t, r.a.LastCtx.Fresh)
	assert.Equal(t, abi.Denied, r.hostSt(abi.VCPUInit, uint64(vm), 1, 0x1000, 0), "the host cannot redirect it")

	_, eff = r.guest(vm, 1, abi.PSCICPUOff)
	assert.Equal(t, isolation.Effect{Kind: isolation.EffectVCPUState, VCPU: 1}, eff)
	assert.Equal(t, int64(abi.AffinityOff), aff(1, 0))
	assert.Equal(t, abi.Denied, r.hostSt(abi.VCPURun, uint64(vm), 1, 0))
}

func TestGuestSystemOffAndReset(t *testing.T) {
	for _, c := range []struct {
		id    uint32
		reset bool
	}{{abi.PSCISystemOff, false}, {abi.PSCISystemReset, true}} {
		r := newRig(t)
		vm := r.vm(2)
		_, eff := r.guest(vm, 1, c.id)
		assert.Equal(t, isolation.Effect{Kind: isolation.EffectShutdown, Reset: c.reset}, eff)
		s := r.e.Snapshot()
		assert.Equal(t, []isolation.VCPUState{isolation.VCPUOff, isolation.VCPUOff}, s.VMs[vm-1].VCPU)
		assert.True(t, s.VMs[vm-1].Live, "the VM stays until the host destroys it")
	}
}

// cpuOnTargetActsAsItself starts vCPU 1 by a CPU_ON of vCPU 0 and runs it
// until its own CPU_OFF, and returns what went wrong: the target's context
// must name the VM and the target, and its CPU_OFF must turn the target
// Off, not the caller. The engine takes the caller of a trapped call from
// the vCPU's context, so a wrong name there makes one vCPU act as another.
func cpuOnTargetActsAsItself(t *testing.T) []string {
	r := newRig(t)
	var errs []string
	check := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Sprintf(format, args...))
		}
	}
	vm := isolation.VMID(r.host(abi.VMCreate, 2)[1])
	check(r.hostSt(abi.VCPUInit, uint64(vm), 0, 0x4000_0000, 0) == abi.Success, "VCPU_INIT of vCPU 0")
	r.script(hvcStep(uint64(abi.PSCICPUOn64), 1, 0x4020_0000, 7))
	_, ex := r.run(vm, 0, 0)
	check(ex == [8]uint64{0, uint64(abi.ExitVCPUState), 1, 1}, "CPU_ON: exit %v, want vCPU 1 on", ex)
	r.script(hvcStep(uint64(abi.PSCICPUOff)))
	_, ex = r.run(vm, 1, 0)
	check(r.a.LastCtx.VMID == vm && r.a.LastCtx.VCPU == 1,
		"the target entered the guest named VM %d vCPU %d, want VM %d vCPU 1", r.a.LastCtx.VMID, r.a.LastCtx.VCPU, vm)
	check(ex == [8]uint64{0, uint64(abi.ExitVCPUState), 1, 0}, "CPU_OFF: exit %v, want vCPU 1 off", ex)
	out, _ := r.guest(vm, 0, abi.PSCIAffinityInfo64, 0, 0)
	check(psciCode(out[0]) == int64(abi.AffinityOn), "AFFINITY_INFO(0) = %d, want the caller on", psciCode(out[0]))
	check(r.hostSt(abi.VCPURun, uint64(vm), 1, 0) == abi.Denied, "VCPU_RUN of the target after its CPU_OFF is not DENIED")
	return errs
}

func TestGuestCPUOnTargetActsAsItself(t *testing.T) {
	require.Empty(t, cpuOnTargetActsAsItself(t))
}

// TestGuestCPUOnCatchesPlantedBug shows that the scenario fails when
// CPU_ON names the caller in the target's context.
func TestGuestCPUOnCatchesPlantedBug(t *testing.T) {
	plant.CPUOnNamesCaller = true
	defer func() { plant.CPUOnNamesCaller = false }()
	errs := cpuOnTargetActsAsItself(t)
	require.NotEmpty(t, errs)
	t.Log(errs)
}
