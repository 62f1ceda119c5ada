package tests

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"bulkhead/boot/virt"
	"bulkhead/internal/qemu"
)

// timerGuest measures its own timer interrupts (cmd/guests/timer): 200
// taken while it polls with interrupts masked, then 200 in WFI.
var timerGuest = guestImage("timer")

// profilingEngine is the engine bench -profile boots: it prints at
// power-off, among its counts, the exits to the host by reason and the
// guest timer interrupts it presented without one.
func profilingEngine(tags ...string) qemu.Image {
	img := qemu.Image{Name: "engine-profile", Pkg: "./cmd/engine", Text: virt.EngineText,
		Tags: append([]string{"bulkhead_bench", "bulkhead_profile"}, tags...)}
	for _, tag := range tags {
		img.Name += "-" + tag
	}
	return img
}

// timerEvidence is what one boot of the timer guest shows: the interrupts
// it took while polling, the IRQ exits the whole boot made to the host,
// and the timer interrupts the engine presented in place.
type timerEvidence struct{ polled, irqExits, inPlace int }

var (
	polledLine   = regexp.MustCompile(`timer: polled: (\d+) interrupts, .*; \d+ timed out, 0 other INTIDs`)
	irqExitsLine = regexp.MustCompile(`engine: profile: exits to the host: .*\bIRQ (\d+)`)
	inPlaceLine  = regexp.MustCompile(`engine: profile: guest timer interrupts presented at EL2 without an exit: (\d+)`)
)

func readTimerEvidence(t *testing.T, console string) timerEvidence {
	t.Helper()
	num := func(re *regexp.Regexp, what string) int {
		m := re.FindStringSubmatch(console)
		require.NotNil(t, m, "the console has no %s", what)
		n, err := strconv.Atoi(m[1])
		require.NoError(t, err)
		return n
	}
	e := timerEvidence{polled: num(polledLine, "polled timer line")}
	if m := irqExitsLine.FindStringSubmatch(console); m != nil {
		e.irqExits, _ = strconv.Atoi(m[1])
	} else {
		require.Contains(t, console, "engine: profile: exits to the host:", "the engine printed no exits")
	}
	e.inPlace = num(inPlaceLine, "count of timer interrupts presented in place")
	return e
}

// withoutRoundTrip is the claim: the guest took more timer interrupts
// while it ran than the whole boot made IRQ exits, so at least that many
// reached it without the host, and the engine counted them. Without the
// fast delivery every timer interrupt waits for the vCPU's next full
// entry, which only an exit (the host's tick) gives it, so the guest takes
// at most one per IRQ exit. Counts, not times: nothing here depends on
// the machine's speed.
func (e timerEvidence) withoutRoundTrip() error {
	if e.polled <= e.irqExits || e.inPlace < e.polled-e.irqExits {
		return fmt.Errorf("%d timer interrupts taken, %d IRQ exits to the host, %d presented in place", e.polled, e.irqExits, e.inPlace)
	}
	return nil
}

func bootTimerGuest(t *testing.T, engine qemu.Image) timerEvidence {
	m := guestMachine(t, vmGuest{timerGuest, ""})
	m.Engine = image(t, engine)
	res := boot(t, m)
	requireVMPoweredOff(t, res.Console, "vm0")
	requireClean(t, res)
	for _, l := range lines(res.Console) {
		if strings.Contains(l, "timer: ") || strings.Contains(l, "exits to the host") {
			t.Log(l)
		}
	}
	return readTimerEvidence(t, res.Console)
}

// TestFastTimerInterruptsWithoutIRQExit: a guest's virtual timer firing
// while it runs is presented to it by the engine, with no exit to the
// host.
func TestFastTimerInterruptsWithoutIRQExit(t *testing.T) {
	e := bootTimerGuest(t, profilingEngine())
	t.Logf("%+v", e)
	require.NoError(t, e.withoutRoundTrip())
}

// TestFastTimerControlWithoutDelivery shows the check can fail: an engine
// built with bulkhead_slow_timer leaves the timer to the vCPU's next full
// entry, and the same boot then takes no more timer interrupts than it
// makes IRQ exits.
func TestFastTimerControlWithoutDelivery(t *testing.T) {
	e := bootTimerGuest(t, profilingEngine("bulkhead_slow_timer"))
	t.Logf("%+v", e)
	require.Error(t, e.withoutRoundTrip())
	require.Zero(t, e.inPlace)
}
