package tests

import (
	"fmt"
	"regexp"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"bulkhead/internal/qemu"
	"bulkhead/isolation/abi"
	"bulkhead/tests/guesttest"
)

// Bounded time at EL2 (ABI v1.1, specs/ABI.md): an adversarial guest that
// shares, unshares and relinquishes all of its RAM and storms the engine
// with calls must not hold the CPU at EL2 for more than stayBound
// instructions at a time, and the host and another VM make progress beside
// it. The engine is built with bulkhead_bench, which measures every stay at
// EL2 and prints the worst at power-off; under -icount shift=0 a counter
// tick is a fixed number of instructions, so the figure is a count, not a
// time.

// stayBound is the most instructions one guest-caused stay at EL2 may take.
const stayBound = 50_000

var stormGuest = guestImage("storm")

// stormArgs gives the storm 194 MiB of spare RAM (49,664 pages).
const stormArgs = "ram=256\n"

// stormMachine runs the storm beside the ABI guest on engine under
// -icount shift=0, on one CPU whatever BULKHEAD_TEST_CPUS says: QEMU then
// runs a board's CPUs in turn on one thread, and the counter a stay is
// measured with would count the other CPUs' instructions too.
func stormMachine(t *testing.T, engine qemu.Image) qemu.Machine {
	m := guestMachine(t, vmGuest{stormGuest, stormArgs}, vmGuest{abiGuest, abiArgs})
	m.Engine = image(t, engine)
	m.ICount = true
	m.CPUs = 1
	return m
}

var stayLine = regexp.MustCompile(`engine: EL2 residency: worst guest-caused stay (\d+) instructions, worst host-caused stay (\d+), worst host call in all (\d+)`)

// worstStays returns the engine's worst guest-caused stay, host-caused
// stay and host call, in instructions.
func worstStays(t *testing.T, console string) (guest, host, call uint64) {
	t.Helper()
	m := stayLine.FindStringSubmatch(console)
	require.NotNil(t, m, "the engine printed no residency line")
	v := make([]uint64, 3)
	for i := range v {
		var err error
		v[i], err = strconv.ParseUint(m[i+1], 10, 64)
		require.NoError(t, err)
	}
	return v[0], v[1], v[2]
}

func TestGuestCannotHoldEL2PastTheBound(t *testing.T) {
	res := boot(t, stormMachine(t, qemu.BenchEngine))
	requireInOrder(t, res.Console,
		"[vm0] storm: round 0: whole range share INVALID_PARAMETERS, unshare INVALID_PARAMETERS",
		"[vm0] storm: round 1:",
		fmt.Sprintf("[vm0] storm: relinquish whole range INVALID_PARAMETERS, in calls of %d pages SUCCESS", abi.GuestMaxPages),
		"[vm0] storm: done",
		"engine: EL2 residency:")
	requireLine(t, res.Console, "[vm0] storm: round 0:", fmt.Sprintf("pairs of %d pages: SUCCESS", abi.GuestMaxPages))
	guesttest.RunGoTest(t, res, "vm1")
	requireVMPoweredOff(t, res.Console, "vm0")
	requireVMPoweredOff(t, res.Console, "vm1")
	guestStay, hostStay, call := worstStays(t, res.Console)
	t.Logf("worst guest-caused stay %d instructions (bound %d), host-caused %d, host call in all %d",
		guestStay, stayBound, hostStay, call)
	require.LessOrEqual(t, guestStay, uint64(stayBound))
}

// TestStayMeasurementSeesAGuestHoldingEL2 is the control: an engine built
// without the work budget (bulkhead_nobudget) lets the same guest cover its
// whole RAM in one call, and the measurement must see the stay exceed the
// bound.
func TestStayMeasurementSeesAGuestHoldingEL2(t *testing.T) {
	unbounded := qemu.BenchEngine
	unbounded.Name = "engine-bench-nobudget"
	unbounded.Tags = append(append([]string(nil), qemu.BenchEngine.Tags...), "bulkhead_nobudget")
	res := boot(t, stormMachine(t, unbounded))
	requireInOrder(t, res.Console,
		"[vm0] storm: round 0: whole range share SUCCESS, unshare SUCCESS",
		"[vm0] storm: done",
		"engine: EL2 residency:")
	guestStay, _, _ := worstStays(t, res.Console)
	t.Logf("worst guest-caused stay without the budget: %d instructions (bound %d)", guestStay, stayBound)
	require.Greater(t, guestStay, uint64(stayBound))
}
