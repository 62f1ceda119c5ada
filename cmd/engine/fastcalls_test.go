package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"bulkhead/arch/el2"
	"bulkhead/boot/virt"
	"bulkhead/isolation"
	"bulkhead/isolation/abi"
)

// noPlatform stands for the machine under a core that only answers calls.
type noPlatform struct{}

func (noPlatform) InvalidateIPA(isolation.VMID, isolation.IPA)          {}
func (noPlatform) InvalidateVMID(isolation.VMID)                        {}
func (noPlatform) ZeroPages(isolation.PA, uint64)                       {}
func (noPlatform) CleanToPoC(isolation.PA, uint64)                      {}
func (noPlatform) PageIsZero(isolation.PA) bool                         { return true }
func (noPlatform) CopyFile(uint64, isolation.PA) bool                   { return false }
func (noPlatform) EnterGuest(uint64, *isolation.Context) isolation.Trap { return isolation.Trap{} }

// coreWithVM is an isolation core on the engine's board with one VM, and
// the callers a fast answer may be for.
func coreWithVM(t *testing.T) (*isolation.Engine, map[uint64]isolation.Caller) {
	region := func(r virt.Region) isolation.Range { return isolation.Range{Base: r.Base, Size: r.Size} }
	var hostMMIO, guestMMIO []isolation.Range
	for _, r := range virt.HostMMIO() {
		hostMMIO = append(hostMMIO, region(r))
	}
	for _, r := range virt.GuestMMIO() {
		guestMMIO = append(guestMMIO, region(r))
	}
	cfg := isolation.Config{RAM: region(virt.RAM), Engine: []isolation.Range{region(virt.Engine)},
		HostMMIO: hostMMIO, GuestMMIO: guestMMIO, MaxVMs: maxVMsHost, MaxVCPUs: 2}
	core, err := isolation.New(cfg, noPlatform{}, isolation.NewPool(tablePoolSizeHost, isolation.PA(virt.Engine.Base)))
	require.NoError(t, err)
	out, _ := core.Dispatch(isolation.HostCaller(), [8]uint64{uint64(abi.VMCreate), 2})
	require.Equal(t, abi.Success, abi.StatusOf(out[0]), "VM_CREATE")
	return core, map[uint64]isolation.Caller{
		el2.FastHost:  isolation.HostCaller(),
		el2.FastGuest: isolation.GuestCaller(isolation.VMID(out[1]), 1),
	}
}

// Test sizes: the engine's own (main.go) are target-only constants.
const (
	maxVMsHost        = 4
	tablePoolSizeHost = 4096
)

// sentinels are caller registers to answer: distinct values in every
// register, and garbage in x0's upper half, which the engine ignores.
func sentinels(key uint64) [][8]uint64 {
	id := key & 0xffff_ffff
	return [][8]uint64{
		{id, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77},
		{id | 0xdead_0000_0000_0000, ^uint64(1), ^uint64(2), ^uint64(3), ^uint64(4), ^uint64(5), ^uint64(6), ^uint64(7)},
	}
}

// Every answer the vector gives is exactly the core's to the same caller,
// with no effect beyond the registers.
func TestFastAnswersAreTheCoresAnswers(t *testing.T) {
	core, callers := coreWithVM(t)
	answers := fastAnswers()
	_, err := el2.PlaceFastAnswers(answers)
	require.NoError(t, err, "every answer needs a slot of its own")
	keys := map[uint64]bool{}
	for _, a := range answers {
		require.False(t, keys[a.Key], "key %#x twice", a.Key)
		keys[a.Key] = true
		caller, ok := callers[a.Key>>32]
		require.True(t, ok, "key %#x: unknown caller kind", a.Key)
		for _, x := range sentinels(a.Key) {
			want, eff := core.Dispatch(caller, x)
			assert.Equal(t, isolation.EffectNone, eff.Kind, "key %#x", a.Key)
			assert.Equal(t, want, a.Apply(x), "key %#x, registers %#x", a.Key, x)
		}
	}
}

// The comparison sees a wrong answer: each answer with one result changed,
// one register too many or too few written, or the other caller's key,
// differs from the core for some sentinel.
func TestFastAnswersCheckSeesAWrongAnswer(t *testing.T) {
	core, callers := coreWithVM(t)
	differs := func(a el2.FastAnswer) bool {
		caller, ok := callers[a.Key>>32]
		if !ok {
			return true
		}
		for _, x := range sentinels(a.Key) {
			if want, _ := core.Dispatch(caller, x); want != a.Apply(x) {
				return true
			}
		}
		return false
	}
	for _, a := range fastAnswers() {
		for i := range a.X {
			if a.Write&(1<<i) != 0 {
				bad := a
				bad.X[i]++
				assert.True(t, differs(bad), "key %#x with x%d changed", a.Key, i)
			}
		}
		if a.Write != 0b1111 { // an answer can write x0..x3 at most
			more := a
			more.Write = a.Write<<1 | 1
			assert.True(t, differs(more), "key %#x writing one more register", a.Key)
		}
		fewer := a
		fewer.Write = a.Write >> 1
		assert.True(t, differs(fewer), "key %#x writing one fewer", a.Key)
	}
	guestOnly := fastAnswer(abi.GuestMemInfo, el2.FastHost, abi.Success.Reg(), abi.Granule)
	assert.True(t, differs(guestOnly), "GUEST_MEMINFO answered to the host")
}

// Apply writes exactly the registers Write names.
func TestFastAnswerApply(t *testing.T) {
	a := el2.FastAnswer{X: [4]uint64{1, 2, 3, 4}, Write: 0b1010}
	assert.Equal(t, [8]uint64{10, 2, 12, 4, 14, 15, 16, 17}, a.Apply([8]uint64{10, 11, 12, 13, 14, 15, 16, 17}))
	assert.Equal(t, uint64(abi.Version)|2<<32, el2.FastKey(abi.Version, el2.FastGuest))
}
