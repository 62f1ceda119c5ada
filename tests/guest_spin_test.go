package tests

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"bulkhead/tests/guesttest"
)

// spinTimeout bounds the spinner scenario. The ABI guest takes about 20 s
// beside the spinner: the hypervisor gives each runnable vCPU one
// VCPU_RUN per round, so each console character the guest writes (one
// MMIO exit) waits for a full slice of the spinner.
const spinTimeout = 90 * time.Second

// TestGuestSpinnerDoesNotStarveOthers runs a guest that spins forever
// beside the ABI guest: preemption must let the ABI guest run all of its
// tests to the end and power off. The spinner never ends and the
// hypervisor cannot end it yet, so the run is stopped as soon as the ABI
// guest's VM has been torn down.
func TestGuestSpinnerDoesNotStarveOthers(t *testing.T) {
	m := guestMachine(t, vmGuest{spinGuest, ""}, vmGuest{abiGuest, abiArgs})
	res := runUntil(t, m, "hypervisor: vm vm1: ", spinTimeout)
	requireInOrder(t, res.Console, "[vm0] spin: spinning forever")
	guesttest.Run(t, res, "vm1")
	requireVMPoweredOff(t, res.Console, "vm1")
	assert.NotContains(t, res.Console, "hypervisor: vm vm0 (id", "the spinner must still be running")
}
