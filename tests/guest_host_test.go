package tests

import (
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
func TestGuestHostSideABI(t *testing.T) {
	res := boot(t, qemu.Machine{Engine: image(t, qemu.Engine), EL1: image(t, hostTests), Extra: []string{"-append", "-test.v"}})
	r := guesttest.RunGoTest(t, res, "")
	require.Equal(t, "PASS", r.Result)
	requireInOrder(t, res.Console, "engine: host requested power off")
	requireClean(t, res)
}
