package el2

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func plainLR(state uint64, intid uint32) uint64 {
	return state<<lrStateShift | lrGroup1 | lrPriority<<lrPrioShift | uint64(intid)
}

func TestTimerSlotPrefersTheTimersEntry(t *testing.T) {
	lrs := [ListRegs]uint64{plainLR(lrPending, 40), 0, plainLR(lrActive, VirtualTimerINTID), 0}
	slot, ok := TimerSlot(lrs)
	assert.True(t, ok)
	assert.Equal(t, 2, slot)

	lrs[2] = 0
	slot, ok = TimerSlot(lrs)
	assert.True(t, ok)
	assert.Equal(t, 1, slot, "the first free register")
}

func TestTimerSlotRefusesFullAndPendingActive(t *testing.T) {
	full := [ListRegs]uint64{plainLR(lrPending, 40), plainLR(lrPending, 41), plainLR(lrActive, 42), plainLR(lrPending, 1)}
	_, ok := TimerSlot(full)
	assert.False(t, ok, "no free register")

	both := [ListRegs]uint64{plainLR(lrPending|lrActive, VirtualTimerINTID)}
	_, ok = TimerSlot(both)
	assert.False(t, ok, "pending and active cannot be linked")
}

func TestLinkTimerKeepsTheVirtualState(t *testing.T) {
	for _, c := range []struct {
		lr    uint64
		state uint64
	}{{0, lrPending}, {plainLR(lrPending, VirtualTimerINTID), lrPending}, {plainLR(lrActive, VirtualTimerINTID), lrActive}} {
		got := LinkTimer(c.lr)
		assert.Equal(t, c.state, lrState(got))
		assert.NotZero(t, got&lrHW)
		assert.Equal(t, uint64(VirtualTimerINTID), got>>lrPINTIDShift&0x3ff, "pINTID")
		assert.Equal(t, uint64(VirtualTimerINTID), got&lrINTIDMask, "vINTID")
	}
}

func TestUnlinkRoundTrip(t *testing.T) {
	for _, state := range []uint64{lrPending, lrActive} {
		plain, linked := Unlink(LinkTimer(plainLR(state, VirtualTimerINTID)))
		assert.True(t, linked)
		assert.Equal(t, plainLR(state, VirtualTimerINTID), plain)
	}
	// The guest deactivated it: the hardware deactivated PPI 27 too.
	done := LinkTimer(0) &^ (lrStateMask << lrStateShift)
	plain, linked := Unlink(done)
	assert.False(t, linked)
	assert.Zero(t, plain)
	ordinary := plainLR(lrPending, 40)
	plain, linked = Unlink(ordinary)
	assert.False(t, linked)
	assert.Equal(t, ordinary, plain)
}
