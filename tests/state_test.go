package tests

import (
	"testing"

	"github.com/stretchr/testify/require"

	"bulkhead/internal/qemu"
	"bulkhead/tests/guesttest"
)

// stateRun selects the state suite of tests/hosttests (TestState): the
// host's FP/SIMD registers, its PMU, and every switched register a VM can
// reach, written by one VM and read by another and the host
// (arch/el2/inventory.go).
var stateRun = []string{"-append", "-test.v -test.run=^TestState$"}

// stateMachine boots the state suite on engine. It runs with -icount, so
// that QEMU's PMU counts instructions retired (without it QEMU implements
// only the cycle counter) and TestState/HostPMU can see a guest's loop in it.
func stateMachine(t *testing.T, engine qemu.Image) qemu.Machine {
	return qemu.Machine{Engine: image(t, engine), EL1: image(t, hostTests), Extra: stateRun, ICount: true}
}

// TestStateStaysWithItsOwner runs the state suite on the engine.
func TestStateStaysWithItsOwner(t *testing.T) {
	res := boot(t, stateMachine(t, qemu.Engine))
	r := guesttest.RunGoTest(t, res, "")
	require.Equal(t, "PASS", r.Result)
	require.Len(t, r.Cases, 5, "TestState and its four subtests ran")
	requireClean(t, res)
}

// TestStateSuiteSeesEachLeak is the control for the suite above: engines
// built with one inventory item taken out of the world switch must make
// the test that covers it fail.
func TestStateSuiteSeesEachLeak(t *testing.T) {
	for _, c := range []struct {
		tag   string
		fails []string
	}{
		{"bulkhead_leak_apr", []string{"TestState/VMToVM", "TestState/NewVMInSlot"}},
		{"bulkhead_leak_fp", []string{"TestState/HostFP"}},
		{"bulkhead_leak_pmu", []string{"TestState/HostPMU"}},
	} {
		t.Run(c.tag, func(t *testing.T) {
			leaky := qemu.Engine
			leaky.Name, leaky.Tags = "engine-"+c.tag, []string{c.tag}
			res := boot(t, stateMachine(t, leaky))
			r := guesttest.ParseGoTest(res.Console)[""]
			require.NotNil(t, r, "the state suite reported nothing")
			for _, name := range c.fails {
				got, ok := r.Case(name)
				require.True(t, ok, "%s did not run", name)
				require.Equal(t, guesttest.Failed, got.Outcome, "%s on an engine built with %s", name, c.tag)
				t.Logf("%s fails as it must: %s", name, got.Message)
			}
		})
	}
}
