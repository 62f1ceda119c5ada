//go:build !tamago

package hosttests

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"bulkhead/internal/a64"
	"bulkhead/isolation"
)

func TestForwardedCallIsNotTheEngines(t *testing.T) {
	assert.False(t, isolation.EngineOwnsID(forwardedCall))
}

func TestGuestsEndInAnInfiniteLoop(t *testing.T) {
	for _, g := range [][]uint32{exerciseGuest(), offGuest(), sgiGuest(), memStateGuest(0x4000_1000, 2), hammerCode()} {
		assert.Equal(t, uint32(branchSelf), g[len(g)-1])
		assert.Equal(t, uint32(hvc0), g[len(g)-2])
	}
}

func TestProbeGuestPlacesItsHandler(t *testing.T) {
	p := probeGuest(0x4000_0000, 0x4001_0000, true)
	assert.Len(t, p, 1024)
	assert.Equal(t, mrsESR(1), p[probeSyncEntry/4], "the handler starts at VBAR+0x200")
	assert.Equal(t, movz(3, 0x0800, 0), p[0], "VBAR_EL1 low half")
	assert.Equal(t, a64.MOVK(3, 0x4000, 1), p[1], "VBAR_EL1 high half")
	assert.Contains(t, p[:16], str(4, 4), "the write")
	assert.NotContains(t, probeGuest(0x4000_0000, 0x4001_0000, false)[:16], str(4, 4), "a read does not write")
}

func TestMemStateGuestHandsOverTheStatus(t *testing.T) {
	g := memStateGuest(0x4000_1000, 2)
	assert.Contains(t, g, uint32(0x91000003), "add x3, x0, #0 (mov x3, x0) after the first HVC")
	assert.Contains(t, g, movz(x2, 2, 0))
}

// TestHammerLoopsBackToItsStart: the backward branch of hammerCode lands
// on its first MEM_SHARE (the MOVZ of the function id), and the stop
// test skips exactly that branch.
func TestHammerLoopsBackToItsStart(t *testing.T) {
	c := hammerCode()
	back := -1
	for i, w := range c {
		if w&0xfc000000 == 0x14000000 && w != uint32(branchSelf) {
			back = i
		}
	}
	if assert.GreaterOrEqual(t, back, 1) {
		offset := int32(c[back]<<6) >> 6 // imm26, sign-extended
		assert.Equal(t, mov32(x0, 0xC6000021)[0], c[back+int(offset)], "the loop restarts at MEM_SHARE")
		assert.Equal(t, a64.BNE(2), c[back-1], "a set stop flag skips the branch")
	}
}
