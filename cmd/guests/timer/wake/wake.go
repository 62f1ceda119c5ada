// Package wake is the timer latency loop that the timer guest runs in a VM
// and the benchmark host runs at EL1 directly on the CPU, the same machine
// code both ways: arm the EL1 virtual timer delta counter ticks ahead, wait
// for its interrupt (PPI 27) with interrupts masked, by polling ISR_EL1 or
// in WFI, read the counter, acknowledge and complete the interrupt, and
// store how late the wake-up was.
package wake

import (
	"fmt"
	"slices"
)

// VirtualTimerINTID is the interrupt the loop waits for.
const VirtualTimerINTID = 27

// The loop's parameters, the same wherever it runs: Rounds interrupts per
// way of waiting, the timer armed Delta counter ticks ahead (100 µs of
// the 62.5 MHz counter of QEMU's virt machine), and a wait abandoned
// Limit ticks (one second) past its deadline.
const (
	Rounds = 200
	Delta  = 6250
	Limit  = 62_500_000
)

// Stats summarises a series of latencies in counter ticks.
type Stats struct {
	N                 int
	Min, Median, Max  uint64
	Late, WrongINTIDs int // waits that timed out, acknowledgements of another INTID
}

// Summarise computes Stats from the loop's latencies and acknowledged
// INTIDs; a latency of TimedOut counts as late, not in the figures.
func Summarise(lat, iar []uint64) Stats {
	var s Stats
	var ok []uint64
	for i, l := range lat {
		switch {
		case l == TimedOut:
			s.Late++
		case iar[i]&0xffffff != VirtualTimerINTID:
			s.WrongINTIDs++
		default:
			ok = append(ok, l)
		}
	}
	s.N = len(ok)
	if len(ok) > 0 {
		slices.Sort(ok)
		s.Min, s.Median, s.Max = ok[0], ok[(len(ok)-1)/2], ok[len(ok)-1]
	}
	return s
}

func (s Stats) String() string {
	return fmt.Sprintf("%d interrupts, wake-up latency in counter ticks: median %d, min %d, max %d; %d timed out, %d other INTIDs",
		s.N, s.Median, s.Min, s.Max, s.Late, s.WrongINTIDs)
}

// TimedOut is the latency recorded for a wait that saw no interrupt within
// the loop's limit.
const TimedOut = ^uint64(0)
