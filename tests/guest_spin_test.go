package tests

import (
	"fmt"
	"testing"
	"time"

	"bulkhead/tests/guesttest"
)

// spinnerLife is how long the spinner may run (its VM's timeout=): long
// enough for the ABI guest beside it to run all of its tests.
const spinnerLife = 20 * time.Second

// TestGuestSpinnerDoesNotStarveOthers runs a guest that spins forever
// beside the ABI guest: preemption must let the ABI guest run all of its
// tests to the end and power off while the spinner still runs. The
// hypervisor then ends the spinner at its timeout and takes its memory back
// like any other VM's.
func TestGuestSpinnerDoesNotStarveOthers(t *testing.T) {
	spinArgs := fmt.Sprintf("timeout=%d\n", int(spinnerLife/time.Second))
	res := boot(t, guestMachine(t, vmGuest{spinGuest, spinArgs}, vmGuest{abiGuest, abiArgs}))
	requireInOrder(t, res.Console,
		"[vm0] spin: spinning forever",
		"hypervisor: vm vm1 (id 2) ended: powered off",
		fmt.Sprintf("hypervisor: vm vm0 (id 1) ended: timed out: ran longer than %v", spinnerLife))
	guesttest.RunGoTest(t, res, "vm1")
	requireVMPoweredOff(t, res.Console, "vm1")
	requireLine(t, res.Console, "hypervisor: vm vm0: ", "pages reclaimed, all zero")
	requireClean(t, res)
}
