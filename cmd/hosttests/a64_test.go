package main

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"bulkhead/isolation"
)

// TestEncodings checks the encoders against words an assembler produces
// for the same instructions.
func TestEncodings(t *testing.T) {
	for want, got := range map[uint32]uint32{
		0xd2800860: movz(0, 0x43, 0),   // mov x0, #0x43
		0xf2b8c000: movk(0, 0xc600, 1), // movk x0, #0xc600, lsl #16
		0xd2a12009: movz(9, 0x0900, 1), // mov x9, #0x9000000
		0xf9000121: str(1, 9),          // str x1, [x9]
		0xf9400122: ldr(2, 9),          // ldr x2, [x9]
		0xd4000002: hvc0,               // hvc #0
		0x14000000: branchSelf,         // b .
	} {
		assert.Equal(t, want, got, "%#08x", want)
	}
}

func TestForwardedCallIsNotTheEngines(t *testing.T) {
	assert.False(t, isolation.EngineOwnsID(forwardedCall))
}

func TestGuestsEndInAnInfiniteLoop(t *testing.T) {
	for _, g := range [][]uint32{exerciseGuest(), offGuest()} {
		assert.Equal(t, uint32(branchSelf), g[len(g)-1])
		assert.Equal(t, uint32(hvc0), g[len(g)-2])
	}
}
