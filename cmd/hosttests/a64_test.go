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

func TestProbeGuestPlacesItsHandler(t *testing.T) {
	p := probeGuest(0x4000_0000, 0x4001_0000, true)
	assert.Len(t, p, 1024)
	assert.Equal(t, mrsESR(1), p[probeSyncEntry/4], "the handler starts at VBAR+0x200")
	assert.Equal(t, movz(3, 0x0800, 0), p[0], "VBAR_EL1 low half")
	assert.Equal(t, movk(3, 0x4000, 1), p[1], "VBAR_EL1 high half")
	assert.Contains(t, p[:16], str(4, 4), "the write")
	assert.NotContains(t, probeGuest(0x4000_0000, 0x4001_0000, false)[:16], str(4, 4), "a read does not write")
}
