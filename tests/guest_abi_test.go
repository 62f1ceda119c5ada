package tests

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"bulkhead/isolation/abi"
	"bulkhead/tests/guesttest"
)

// TestGuestABI runs the ABI conformance guest (cmd/guests/abi) in a VM with
// two vCPUs: every guest call, valid and not, host-only and unknown ids,
// and guest PSCI, each guest test a subtest here.
func TestGuestABI(t *testing.T) {
	res := boot(t, guestMachine(t, vmGuest{abiGuest, abiArgs}))
	guesttest.Run(t, res, "vm0")
	requireVMPoweredOff(t, res.Console, "vm0")
	requireClean(t, res)
}

// TestGuestFailureIsReported selects only the ABI guest's control test,
// which fails by design: the failure must reach the parsed report as
// exactly that test failing with its message, and nothing else.
func TestGuestFailureIsReported(t *testing.T) {
	res := boot(t, guestMachine(t, vmGuest{abiGuest, abiArgs + "bootargs=run=^Broken\n"}))
	r := guesttest.Parse(res.Console)["vm0"]
	require.NotNil(t, r, "no report from vm0")
	require.Len(t, r.Cases, 1)
	c := r.Cases[0]
	assert.Equal(t, "BrokenControl", c.Name)
	assert.Equal(t, guesttest.Failed, c.Outcome)
	assert.Contains(t, c.Message, "this control fails by design")
	assert.Contains(t, c.Message, abi.Denied.String())
	assert.True(t, r.Done)
	assert.Equal(t, 0, r.Passed)
	assert.Equal(t, 1, r.Failed)
	assert.Empty(t, r.Problems(), "a failing test is not a broken report")
	requireVMPoweredOff(t, res.Console, "vm0")
	requireClean(t, res)
}
