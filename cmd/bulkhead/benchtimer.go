package main

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"time"

	"bulkhead/boot/virt"
	"bulkhead/internal/qemu"
)

// wakeLine reads a median wake-up latency off a timer loop's line
// (cmd/guests/timer/wake Stats): the benchmark host's "BENCH
// timer-wakeup-direct-<wait>: ..." or the guest's "timer: <wait>: ...".
var wakeLine = regexp.MustCompile(`(?:timer-wakeup-direct-|timer: )(polled|wfi): (\d+) interrupts, wake-up latency in counter ticks: median (\d+)`)

// wakeMedians returns the median latency of each way of waiting found in
// console, only from loops that took all their interrupts.
func wakeMedians(console string, rounds int) map[string]uint64 {
	out := map[string]uint64{}
	for _, m := range wakeLine.FindAllStringSubmatch(console, -1) {
		n, _ := strconv.Atoi(m[2])
		v, err := strconv.ParseUint(m[3], 10, 64)
		if err == nil && n == rounds {
			out[m[1]] = v
		}
	}
	return out
}

// timerRounds is wake.Rounds (a target-only package).
const timerRounds = 200

// benchTimer sets the timer guest's wake-up latency under bulkhead (the
// hypervisor and the engine, with -icount shift=0) beside the same loop
// run directly by the benchmark host at EL1 (in directConsole), and
// beside the engine without its timer delivery (before it).
func benchTimer(stdout io.Writer, directConsole string, paths map[string]string) error {
	direct := wakeMedians(directConsole, timerRounds)
	under := map[string]map[string]uint64{}
	for _, engine := range []string{"engine", slowTimerEngine.Name} {
		m := qemu.Machine{Engine: paths[engine], EL1: paths["hypervisor"], ICount: true,
			Files: map[string]string{virt.FwCfgGuestPrefix + "0": paths[timerGuest.Name]}}
		res, err := qemu.Run(context.Background(), m, 5*time.Minute, nil, nil)
		if err != nil {
			return err
		}
		under[engine] = wakeMedians(res.Console, timerRounds)
	}
	for _, wait := range []string{"wfi", "polled"} {
		d, okD := direct[wait]
		g, okG := under["engine"][wait]
		before, okB := under[slowTimerEngine.Name][wait]
		if !okD || !okG || !okB {
			return fmt.Errorf("the timer loop (%s) did not take all its interrupts: directly %v, under bulkhead %v, before %v", wait, okD, okG, okB)
		}
		fmt.Fprintln(stdout, timerLine(wait, d, g, before))
	}
	return nil
}

// timerLine is one wake-up latency figure, in counter ticks and the
// instructions they stand for. A direct median of zero ticks (a wake-up
// within the counter's resolution) gives no ratio: the line says so, and
// the verdict compares with two ticks.
func timerLine(wait string, direct, under, before uint64) string {
	ratio := "none (directly under one tick)"
	over := under > 2*max(direct, 1)
	if direct > 0 {
		ratio = fmt.Sprintf("%.1f", float64(under)/float64(direct))
	}
	verdict := "within"
	if over {
		verdict = "OVER"
	}
	return fmt.Sprintf("TIMER wake-up latency (%s, timer 100 us ahead, median of %d, -icount shift=0: a counter tick is 16 instructions): "+
		"directly %d ticks, under bulkhead %d ticks (%d without the engine's timer delivery), ratio %s (target <= 2, %s)",
		wait, timerRounds, direct, under, before, ratio, verdict)
}
