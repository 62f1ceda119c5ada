package tests

import (
	"fmt"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"bulkhead/internal/qemu"
	"bulkhead/tests/guesttest"
)

// TestGuestHostSideABI boots the host-side conformance suite
// (tests/hosttests, a Go test binary) in place of the hypervisor: every host call with bad
// vmids, vCPUs, addresses, counts and permissions, the ledger's refusals,
// tiny VMs run exit by exit, and a hundred VMs created and reclaimed in a
// row without losing a page. Its console has no VM prefix.
//
// It runs on one CPU, where the host's CPU calls are NOT_SUPPORTED, and on
// four, where TestHostCPUs starts the others and every later test runs
// with the engine serving several CPUs.
func TestGuestHostSideABI(t *testing.T) {
	for _, cpus := range []int{1, 4} {
		t.Run(fmt.Sprintf("%d CPUs", cpus), func(t *testing.T) {
			m := qemu.Machine{Engine: image(t, qemu.Engine), EL1: image(t, hostTests), CPUs: cpus, Extra: []string{"-append", "-test.v"}}
			res := boot(t, m)
			r := guesttest.RunGoTest(t, res, "")
			require.Equal(t, "PASS", r.Result)
			requireInOrder(t, res.Console, "engine: host requested power off")
			requireClean(t, res)
		})
	}
}

// hostCPUsRun selects TestHostCPUs of tests/hosttests.
var hostCPUsRun = []string{"-append", "-test.v -test.run=^TestHostCPUs$"}

// TestHostCPUsUnderTheGhostCheck runs TestHostCPUs on two CPUs on an
// engine that compares its ledger with its stage-2 tables after every
// call that changes them: the hammer's shares and unshares on CPU 1
// interleave with CPU 0's donations and reclaims, and no call may leave
// the two in disagreement.
func TestHostCPUsUnderTheGhostCheck(t *testing.T) {
	res := boot(t, qemu.Machine{Engine: image(t, qemu.GhostEngine), EL1: image(t, hostTests), CPUs: 2, Extra: hostCPUsRun})
	r := guesttest.RunGoTest(t, res, "")
	require.Equal(t, "PASS", r.Result)
	got, ok := r.Case("TestHostCPUs/Hammer")
	require.True(t, ok, "the hammer ran")
	require.Equal(t, guesttest.Passed, got.Outcome)
	requireInOrder(t, res.Console, "engine: ghost check passed after each of")
	require.NotContains(t, res.Console, "ghost check failed")
	requireClean(t, res)
}

// TestHostCPUsSeeAnyEntry is the control for TestHostCPUs/BadEntries: an
// engine built to start a host CPU at any entry must make it fail.
func TestHostCPUsSeeAnyEntry(t *testing.T) {
	loose := qemu.Engine
	loose.Name, loose.Tags = "engine-any-cpu-entry", []string{"bulkhead_any_cpu_entry"}
	// Only BadEntries: a CPU started in engine memory faults for good, so
	// the suite's later CPU_OFF of the boot CPU would be allowed.
	run := []string{"-append", "-test.v -test.run=^TestHostCPUs$/^BadEntries$"}
	res := boot(t, qemu.Machine{Engine: image(t, loose), EL1: image(t, hostTests), CPUs: 2, Extra: run})
	// The started CPU's stage-2 faults are logged while the suite
	// prints, so lines may interleave: one whole refusal line is enough.
	refused := regexp.MustCompile(`CPU_ON\(1\) at [a-zA-Z ]+ \(0x[0-9a-f]+\): PSCI returned (0|-4|-5) .*want -9`)
	line := refused.FindString(res.Console)
	require.NotEmpty(t, line, "BadEntries did not fail on an engine that starts CPUs anywhere")
	t.Logf("BadEntries fails as it must: %s", line)
}
