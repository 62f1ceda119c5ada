package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestWakeMediansReadsBothLinesAndSkipsIncompleteLoops(t *testing.T) {
	console := "BENCH timer-wakeup-direct-wfi: 200 interrupts, wake-up latency in counter ticks: median 3, min 1, max 9; 0 timed out, 0 other INTIDs\n" +
		"[vm0] timer: polled: 200 interrupts, wake-up latency in counter ticks: median 150, min 90, max 400; 0 timed out, 0 other INTIDs\n" +
		"[vm0] timer: wfi: 180 interrupts, wake-up latency in counter ticks: median 7, min 1, max 9; 20 timed out, 0 other INTIDs\n"
	assert.Equal(t, map[string]uint64{"wfi": 3, "polled": 150}, wakeMedians(console, 200))
}

func TestTimerLineRatioAndVerdict(t *testing.T) {
	assert.Contains(t, timerLine("wfi", 10, 20, 900), "directly 10 ticks, under bulkhead 20 ticks (900 without the engine's timer delivery), ratio 2.0 (target <= 2, within)")
	assert.Contains(t, timerLine("wfi", 10, 21, 900), "ratio 2.1 (target <= 2, OVER)")
	assert.Contains(t, timerLine("polled", 0, 31, 9), "ratio none (directly under one tick) (target <= 2, OVER)")
	assert.Contains(t, timerLine("polled", 0, 2, 9), "(target <= 2, within)")
}
