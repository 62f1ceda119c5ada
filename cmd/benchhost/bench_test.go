package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestMedianAndConversion(t *testing.T) {
	assert.Equal(t, uint64(3), median([]uint64{9, 1, 3, 7, 2}))
	assert.Equal(t, uint64(2), median([]uint64{4, 1, 2, 3}))
	assert.Zero(t, median(nil))
	assert.Equal(t, 160.0, instructions(10, 62_500_000))
}

func TestResultLine(t *testing.T) {
	r := result{name: "x", measured: []uint64{30 * batch, 31 * batch, 29 * batch}, basis: []uint64{10 * batch, 10 * batch, 11 * batch}, freq: 1e9, target: 3}
	assert.Equal(t, "BENCH x: median 30 instructions, baseline 10, ratio 3.00 (target <= 3.0, within; 3 samples of 16 calls each)", r.String())
	r.target = 2
	assert.Contains(t, r.String(), "OVER")
}

func TestGuestProgramsEndInAnExitOrALoop(t *testing.T) {
	rt := roundTripGuest()
	assert.Zero(t, len(rt)%4)
	st := selfTimingGuest(10)
	assert.Equal(t, []byte{0, 0, 0, 0x14}, st[len(st)-4:], "ends in b .")
	assert.Equal(t, uint32(1), resultPages(10))
	assert.Equal(t, uint32(59), resultPages(10000))
}
