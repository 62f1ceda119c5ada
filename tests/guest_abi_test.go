package tests

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"bulkhead/isolation/abi"
	"bulkhead/tests/guesttest"
)

// TestGuestABI runs the ABI conformance guest (tests/guests/abi, ordinary
// Go tests) in a VM with two vCPUs: every guest call, valid and not,
// host-only and unknown ids, and guest PSCI, each guest test a subtest
// here.
func TestGuestABI(t *testing.T) {
	res := boot(t, guestMachine(t, vmGuest{abiGuest, abiArgs}))
	r := guesttest.RunGoTest(t, res, "vm0")
	require.Equal(t, "PASS", r.Result)
	requireExitStatus(t, res.Console, "vm0", 0)
	requireVMPoweredOff(t, res.Console, "vm0")
	requireClean(t, res)
}

// TestGuestFailureIsReported runs only the ABI guest's control test,
// which fails by design: the failure must reach the report as exactly that
// test failing with its message, and the VM must end with the test
// binary's failure status.
func TestGuestFailureIsReported(t *testing.T) {
	args := "vcpus=2\nram=128\n" + goTestArgs("-test.run=^TestBrokenControl$", "-broken")
	res := boot(t, guestMachine(t, vmGuest{abiGuest, args}))
	r := guesttest.ParseGoTest(res.Console)["vm0"]
	require.NotNil(t, r, "no report from vm0")
	require.Len(t, r.Cases, 1)
	c := r.Cases[0]
	assert.Equal(t, "TestBrokenControl", c.Name)
	assert.Equal(t, guesttest.Failed, c.Outcome)
	assert.Contains(t, c.Message, "this control fails by design")
	assert.Contains(t, c.Message, abi.Denied.String())
	assert.Equal(t, "FAIL", r.Result)
	assert.Empty(t, r.Problems(), "a failing test is not a broken report")
	requireVMPoweredOff(t, res.Console, "vm0")
	requireExitStatus(t, res.Console, "vm0", 1)
	requireClean(t, res)
}
