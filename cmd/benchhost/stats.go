package main

import (
	"fmt"
	"sort"
)

// instructions converts counter ticks to instructions: under -icount
// shift=0 one instruction is one nanosecond of virtual time.
func instructions(ticks, freq uint64) float64 {
	return float64(ticks) * 1e9 / float64(freq)
}

// median returns the middle sample (the lower of the two middles).
func median(samples []uint64) uint64 {
	s := append([]uint64(nil), samples...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	if len(s) == 0 {
		return 0
	}
	return s[(len(s)-1)/2]
}

// result is one measured path next to its baseline.
type result struct {
	name            string
	measured, basis []uint64 // ticks per sample
	freq            uint64
	target          float64 // the ratio the path should stay under
}

func (r result) String() string {
	m := instructions(median(r.measured), r.freq) / batch
	b := instructions(median(r.basis), r.freq) / batch
	ratio := 0.0
	if b > 0 {
		ratio = m / b
	}
	verdict := "within"
	if ratio > r.target {
		verdict = "OVER"
	}
	return fmt.Sprintf("BENCH %s: median %.0f instructions, baseline %.0f, ratio %.2f (target <= %.1f, %s; %d samples of %d calls each)",
		r.name, m, b, ratio, r.target, verdict, len(r.measured), batch)
}
