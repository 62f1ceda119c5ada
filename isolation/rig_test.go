package isolation_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"bulkhead/isolation"
	"bulkhead/isolation/abi"
	"bulkhead/isolation/internal/fakearch"
)

// rig drives an engine over SmallConfig through Dispatch, as the host and
// guests would, and runs the ghost check after every call.
type rig struct {
	t testing.TB
	e *isolation.Engine
	a *fakearch.Arch
}

// RAM of SmallConfig: page 0 is the engine's, pages 1..15 the host's.
const (
	ram0  = isolation.PA(0x4000_0000)
	page  = isolation.PageSize
	npage = 16
)

// pg returns the address of RAM page i.
func pg(i int) uint64 { return uint64(ram0) + uint64(i)*page }

func newRig(t testing.TB) *rig {
	return newRigPool(t, isolation.SmallPoolTables)
}

func newRigPool(t testing.TB, tables int) *rig {
	return newRigPoolAt(t, tables, isolation.SmallPoolBase)
}

func newRigPoolAt(t testing.TB, tables int, base isolation.PA) *rig {
	t.Helper()
	a := fakearch.New()
	e, err := isolation.New(isolation.SmallConfig(), a, isolation.NewPool(tables, base))
	require.NoError(t, err)
	return &rig{t: t, e: e, a: a}
}

// regs builds x0..x7 from an id and arguments; unused registers get a
// marker so that tests see whether they are preserved.
func regs(id uint32, args ...uint64) [8]uint64 {
	x := [8]uint64{uint64(id), 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7}
	copy(x[1:], args)
	return x
}

// host makes a host call and checks the engine afterwards.
func (r *rig) host(id uint32, args ...uint64) [8]uint64 {
	r.t.Helper()
	out, eff := r.e.Dispatch(isolation.HostCaller(), regs(id, args...))
	require.Equal(r.t, isolation.EffectNone, eff.Kind)
	require.NoError(r.t, r.e.Check())
	return out
}

// hostSt makes a host call and returns its status.
func (r *rig) hostSt(id uint32, args ...uint64) abi.Status {
	r.t.Helper()
	return abi.StatusOf(r.host(id, args...)[0])
}

// guest makes a call from vCPU vcpu of VM vm.
func (r *rig) guest(vm isolation.VMID, vcpu uint16, id uint32, args ...uint64) ([8]uint64, isolation.Effect) {
	r.t.Helper()
	out, eff := r.e.Dispatch(isolation.GuestCaller(vm, vcpu), regs(id, args...))
	require.NoError(r.t, r.e.Check())
	return out, eff
}

// guestSt makes a guest call and returns its status.
func (r *rig) guestSt(vm isolation.VMID, id uint32, args ...uint64) abi.Status {
	r.t.Helper()
	out, _ := r.guest(vm, 0, id, args...)
	return abi.StatusOf(out[0])
}

// vm creates a VM with n vCPUs, all initialised at 0x4000_0000.
func (r *rig) vm(n uint64) isolation.VMID {
	r.t.Helper()
	out := r.host(abi.VMCreate, n)
	require.Equal(r.t, abi.Success, abi.StatusOf(out[0]))
	for i := uint64(0); i < n; i++ {
		require.Equal(r.t, abi.Success, r.hostSt(abi.VCPUInit, out[1], i, 0x4000_0000, 0x4400_0000))
	}
	return isolation.VMID(out[1])
}

// donate gives n pages from RAM page i to vm at IPA ipa, read/write.
func (r *rig) donate(vm isolation.VMID, i int, ipa uint64, n uint64) {
	r.t.Helper()
	require.Equal(r.t, abi.Success, r.hostSt(abi.MemDonate, uint64(vm), pg(i), ipa, n, abi.PermR|abi.PermW))
}

// script queues guest exits.
func (r *rig) script(steps ...fakearch.Step) { r.a.Script = append(r.a.Script, steps...) }

// run runs vCPU vcpu of vm with reply and returns status and exit record.
func (r *rig) run(vm isolation.VMID, vcpu uint64, reply uint64) (abi.Status, [8]uint64) {
	r.t.Helper()
	out := r.host(abi.VCPURun, uint64(vm), vcpu, reply)
	return abi.StatusOf(out[0]), out
}

// esr builds an ESR_EL2 value with IL set.
func esr(ec, iss uint64) uint64 { return ec<<26 | 1<<25 | iss }

// Exception classes and syndrome bits used by the tests (Arm ARM D23.2).
const (
	ecWFx, ecHVC, ecSMC, ecIABT, ecDABT, ecSysReg = 0x01, 0x16, 0x17, 0x20, 0x24, 0x18
	isv, sse, sf, cm, s1ptw, wnr                  = 1 << 24, 1 << 21, 1 << 15, 1 << 8, 1 << 7, 1 << 6
	dfscTransL3, dfscPermL3, dfscExtAbort         = 0x07, 0x0f, 0x10
)

// dabt builds the Trap of a data abort at ipa with the given ISS bits,
// access size (log2) and register.
func dabt(ipa uint64, log2 uint64, reg uint64, bits uint64) isolation.Trap {
	return isolation.Trap{
		Kind:  isolation.TrapSync,
		ESR:   esr(ecDABT, bits|log2<<22|reg<<16),
		FAR:   0xffff_0000_0000_0000 | ipa&0xfff,
		HPFAR: ipa >> 12 << 4,
	}
}

// hvcStep is a guest HVC #0 with registers x0..x5 set first.
func hvcStep(x ...uint64) fakearch.Step {
	return fakearch.Step{
		Before: func(c *isolation.Context) { copy(c.X[:], x) },
		Trap:   isolation.Trap{Kind: isolation.TrapSync, ESR: esr(ecHVC, 0)},
	}
}
