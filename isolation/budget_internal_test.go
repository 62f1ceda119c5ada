package isolation

import (
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"bulkhead/isolation/abi"
	"bulkhead/isolation/internal/plant"
)

func TestGuestWorkChargesPagesOfMemoryCallsOnly(t *testing.T) {
	call := Decision{Disp: DispCall}
	x := func(id uint32, pages uint64) *[31]uint64 { return &[31]uint64{uint64(id), 0x4000_0000, pages} }
	for _, id := range []uint32{abi.GuestShare, abi.GuestUnshare, abi.GuestRelinquish} {
		assert.Equal(t, trapUnits+1, guestWork(call, x(id, 1)))
		assert.Equal(t, trapUnits+abi.GuestMaxPages, guestWork(call, x(id, abi.GuestMaxPages)))
		assert.Equal(t, trapUnits+abi.GuestMaxPages, guestWork(call, x(id, 1<<63)), "a refused length costs at most the limit")
	}
	assert.Equal(t, trapUnits, guestWork(call, x(abi.GuestMemInfo, 1<<20)), "other calls ignore x2")
	assert.Equal(t, trapUnits, guestWork(Decision{Disp: DispInjectAbort}, x(abi.GuestShare, 32)), "only a call is a memory call")
	assert.Equal(t, trapUnits, guestWork(Decision{Disp: DispResume}, x(abi.GuestShare, 32)))
}

// TestWorkBudgetStopsOnceSpent: whatever the costs, spend says stop
// exactly when the units charged reach runBudget (seed 10).
func TestWorkBudgetStopsOnceSpent(t *testing.T) {
	r := rand.New(rand.NewSource(10))
	for range 1000 {
		b, total := newWorkBudget(), 0
		for {
			units := trapUnits + r.Intn(abi.GuestMaxPages+1)
			total += units
			var more bool
			if b, more = b.spend(units); !more {
				break
			}
			require.Less(t, total, runBudget)
		}
		require.GreaterOrEqual(t, total, runBudget)
		require.Less(t, total, runBudget+trapUnits+abi.GuestMaxPages)
	}
}

func TestNoWorkBudgetPlantRemovesBothBounds(t *testing.T) {
	plant.NoWorkBudget = true
	defer func() { plant.NoWorkBudget = false }()
	_, more := newWorkBudget().spend(10 * runBudget)
	assert.True(t, more)
	assert.True(t, guestPagesOK(1<<20))
}

// TestHVCShortcutIsFilterTrapsDecision: the traps run hands straight to
// the call (hvcCall) are exactly those FilterTrap decides are a call with
// no PC advance, and the work charged is the same; seeded syndromes of
// every exception class, immediates and trap kinds.
func TestHVCShortcutIsFilterTrapsDecision(t *testing.T) {
	r := rand.New(rand.NewSource(20261202))
	x := &[31]uint64{uint64(abi.GuestShare), 0, 9}
	for i := 0; i < 20000; i++ {
		esr := uint64(r.Intn(64))<<esrECShift | 1<<25
		if r.Intn(2) == 0 {
			esr |= uint64(r.Intn(1 << 16))
		}
		if r.Intn(4) == 0 {
			esr = ecHVC64<<esrECShift | 1<<25
		}
		tr := Trap{Kind: TrapKind(r.Intn(4)), ESR: esr}
		if r.Intn(2) == 0 {
			tr.Kind = TrapSync
		}
		d := FilterTrap(tr, &[31]uint64{}, nil)
		want := d.Disp == DispCall && d.PCAdvance == 0 && esr>>esrECShift == ecHVC64
		require.Equal(t, want, hvcCall(tr), "kind %d esr %#x", tr.Kind, esr)
		if want {
			require.Equal(t, guestWork(d, x), callWork(x))
		}
	}
}
