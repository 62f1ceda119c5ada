package el2

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
)

type set map[uint32]bool

func (s set) Presented(i uint32) {
	if i < 16 {
		delete(s, i) // an edge latch, as the engine's lines do for SGIs
	}
}

func (s set) Asserted(i uint32) bool { return s[i] }
func (s set) Each(f func(uint32)) {
	for i := uint32(0); i < 1020; i++ {
		if s[i] {
			f(i)
		}
	}
}

func pendingLR(intid uint64) uint64 {
	return lrPending<<lrStateShift | lrGroup1 | lrPriority<<lrPrioShift | intid
}

func TestSyncPresentsAssertedLinesOnce(t *testing.T) {
	var v VGIC
	v.Sync(set{27: true, 33: true})
	assert.Equal(t, [ListRegs]uint64{pendingLR(27), pendingLR(33), 0, 0}, v.LR)
	v.Sync(set{27: true, 33: true})
	assert.Equal(t, [ListRegs]uint64{pendingLR(27), pendingLR(33), 0, 0}, v.LR, "no duplicates")
}

func TestSyncWithdrawsLoweredPendingLines(t *testing.T) {
	var v VGIC
	v.Sync(set{27: true, 33: true})
	v.Sync(set{33: true})
	assert.Equal(t, [ListRegs]uint64{0, pendingLR(33), 0, 0}, v.LR)
}

func TestSyncKeepsActiveEntriesAndRepresentsCompletedLevels(t *testing.T) {
	var v VGIC
	v.Sync(set{33: true})
	v.LR[0] = v.LR[0]&^(lrStateMask<<lrStateShift) | 2<<lrStateShift // the guest acknowledged it
	v.Sync(set{})
	assert.Equal(t, uint64(2), lrState(v.LR[0]), "active stays until completed")
	v.LR[0] = 0 // the guest completed it; the line is still up
	v.Sync(set{33: true})
	assert.Equal(t, pendingLR(33), v.LR[0])
}

func TestSyncLeavesWhatDoesNotFitForLater(t *testing.T) {
	var v VGIC
	v.Sync(set{30: true})
	assert.Equal(t, uint64(ichHCREn), v.HCR, "everything fits: no maintenance")
	v = VGIC{}
	v.Sync(set{30: true, 31: true, 32: true, 33: true, 34: true})
	assert.Equal(t, [ListRegs]uint64{pendingLR(30), pendingLR(31), pendingLR(32), pendingLR(33)}, v.LR)
	assert.Equal(t, uint64(ichHCREn|ichHCRUIE), v.HCR, "INTID 34 waits: underflow maintenance on")
	v.LR[1] = 0
	v.Sync(set{30: true, 31: false, 32: true, 33: true, 34: true})
	assert.Equal(t, pendingLR(34), v.LR[1])
}

func TestTimerFires(t *testing.T) {
	f := ResetEL1()
	f[elCNTVCVAL] = 1000
	assert.False(t, TimerFires(&f, 2000), "disabled")
	f[elCNTVCTL] = 1
	assert.False(t, TimerFires(&f, 999))
	assert.True(t, TimerFires(&f, 1000))
	f[elCNTVCTL] = 3
	assert.False(t, TimerFires(&f, 2000), "masked")
}

func TestSyncReportsWhatItPresents(t *testing.T) {
	var v VGIC
	lines := set{3: true, 33: true}
	v.Sync(lines)
	assert.Equal(t, set{33: true}, lines, "the SGI's latch dropped once presented")
	v.Sync(lines)
	assert.Equal(t, [ListRegs]uint64{pendingLR(3), pendingLR(33), 0, 0}, v.LR, "a presented SGI stays pending")
}

// TestSyncNoneIsSyncWithoutLines compares SyncNone with Sync given no
// asserted line, on list registers in every state, SGIs and linked timer
// entries among them (seeded, so a failure replays).
func TestSyncNoneIsSyncWithoutLines(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 1))
	intids := []uint64{0, 7, 15, 16, 27, 33, 1019}
	for range 5000 {
		var v VGIC
		for i := range v.LR {
			lr := uint64(rng.IntN(4))<<lrStateShift | lrGroup1 | lrPriority<<lrPrioShift | intids[rng.IntN(len(intids))]
			if rng.IntN(4) == 0 {
				lr |= lrHW | VirtualTimerINTID<<lrPINTIDShift
			}
			v.LR[i] = lr
		}
		v.VMCR, v.HCR = rng.Uint64(), rng.Uint64()
		want, got := v, v
		want.Sync(set{})
		got.SyncNone()
		assert.Equal(t, want, got, "list registers %#x", v.LR)
	}
}
