package isolation_test

import (
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"bulkhead/isolation"
	"bulkhead/isolation/abi"
	"bulkhead/isolation/internal/fakearch"
	"bulkhead/isolation/internal/plant"
)

// Bounded time at EL2 (budget.go): a guest memory call covers at most
// abi.GuestMaxPages pages, and one VCPU_RUN spends at most a work budget on
// the traps it handles in place.

// budgetRAMPages is enough RAM for a VM of budgetVMPages pages, more than
// two guest calls' worth.
const (
	budgetRAMPages = 256
	budgetVMPages  = 96
	budgetIPA      = 0x4000_0000
)

// newBudgetRig is a rig with budgetRAMPages of RAM and a one-vCPU VM that
// owns budgetVMPages pages at budgetIPA.
func newBudgetRig(t *testing.T) (*rig, isolation.VMID) {
	t.Helper()
	cfg := isolation.SmallConfig()
	cfg.RAM.Size = budgetRAMPages * page
	a := fakearch.New()
	a.Record = false
	e, err := isolation.New(cfg, a, isolation.NewPool(isolation.SmallPoolTables, isolation.SmallPoolBase))
	require.NoError(t, err)
	r := &rig{t: t, e: e, a: a}
	vm := r.vm(1)
	r.donate(vm, 64, budgetIPA, budgetVMPages)
	return r, vm
}

var guestMemoryCalls = []uint32{abi.GuestShare, abi.GuestUnshare, abi.GuestRelinquish}

func TestGuestMemoryCallsCoverAtMostGuestMaxPages(t *testing.T) {
	r, vm := newBudgetRig(t)
	before := r.e.Snapshot()
	for _, id := range guestMemoryCalls {
		require.Equal(t, abi.InvalidParameters, r.guestSt(vm, id, budgetIPA, abi.GuestMaxPages+1), "%#x", id)
		require.Equal(t, abi.InvalidParameters, r.guestSt(vm, id, budgetIPA, budgetVMPages), "%#x", id)
	}
	require.Equal(t, before, r.e.Snapshot(), "a refused call changes nothing")
	for _, id := range guestMemoryCalls {
		require.Equal(t, abi.Success, r.guestSt(vm, id, budgetIPA, abi.GuestMaxPages), "%#x", id)
	}
}

// TestGuestMemoryCallsOfAnyLengthWithoutTheLimit is the control: with
// the budget planted away a guest covers all its pages in one call, which
// the test above would catch.
func TestGuestMemoryCallsOfAnyLengthWithoutTheLimit(t *testing.T) {
	plant.NoWorkBudget = true
	defer func() { plant.NoWorkBudget = false }()
	r, vm := newBudgetRig(t)
	require.Equal(t, abi.Success, r.guestSt(vm, abi.GuestShare, budgetIPA, budgetVMPages))
}

// shareStorm scripts n traps that share and unshare the VM's first
// GuestMaxPages pages in turn.
func shareStorm(n int) []fakearch.Step {
	steps := make([]fakearch.Step, n)
	for i := range steps {
		id := []uint32{abi.GuestShare, abi.GuestUnshare}[i%2]
		steps[i] = hvcStep(uint64(id), budgetIPA, abi.GuestMaxPages)
	}
	return steps
}

func TestRunOfMemoryCallsEndsWhenItsBudgetIsSpent(t *testing.T) {
	r, vm := newBudgetRig(t)
	r.script(shareStorm(isolation.MaxEntries)...)
	st, out := r.run(vm, 0, 0)
	require.Equal(t, abi.Success, st)
	require.Equal(t, uint64(abi.ExitIRQ), out[1])
	perCall := isolation.TrapUnits + abi.GuestMaxPages
	want := (isolation.RunBudget + perCall - 1) / perCall
	require.Equal(t, want, r.a.EnterCount, "the run ends at the call that spends the budget")
	require.Less(t, want, isolation.MaxEntries)
	r.a.EnterCount = 0
	st, out = r.run(vm, 0, 0)
	require.Equal(t, abi.Success, st)
	require.Equal(t, uint64(abi.ExitIRQ), out[1])
	require.Equal(t, want, r.a.EnterCount, "the next run has a fresh budget")
}

// TestRunOfPlainTrapsKeepsV1Cap: traps that touch no page end a run after
// MaxEntries, as in ABI v1.0.
func TestRunOfPlainTrapsKeepsV1Cap(t *testing.T) {
	r, vm := newBudgetRig(t)
	for range 2 * isolation.MaxEntries {
		r.script(hvcStep(uint64(abi.GuestMemInfo)))
	}
	st, out := r.run(vm, 0, 0)
	require.Equal(t, abi.Success, st)
	require.Equal(t, uint64(abi.ExitIRQ), out[1])
	require.Equal(t, isolation.MaxEntries, r.a.EnterCount)
	require.Equal(t, isolation.MaxEntries, isolation.RunBudget/isolation.TrapUnits)
}

// runWork plays a seeded random storm of guest traps (memory calls of any
// length over the VM's pages, and calls that touch no page) through
// VCPU_RUN after VCPU_RUN, and returns the most pages the memory calls of
// one run asked for (each call counted up to abi.GuestMaxPages) and the
// most traps one run handled.
func runWork(t *testing.T, seed int64) (maxPages, maxTraps int) {
	r, vm := newBudgetRig(t)
	rng := rand.New(rand.NewSource(seed))
	var asked []int // pages each scripted trap asks for
	for range 2000 {
		if rng.Intn(4) == 0 {
			r.script(hvcStep(uint64(abi.GuestMemInfo)))
			asked = append(asked, 0)
			continue
		}
		id := guestMemoryCalls[rng.Intn(2)] // share and unshare keep the pages mapped
		ipa := budgetIPA + uint64(rng.Intn(budgetVMPages))*page
		n := uint64(rng.Intn(2 * budgetVMPages))
		r.script(hvcStep(uint64(id), ipa, n))
		asked = append(asked, int(min(n, abi.GuestMaxPages)))
	}
	done := 0
	for len(r.a.Script) > 0 {
		r.a.EnterCount = 0
		st, out := r.run(vm, 0, 0)
		require.Equal(t, abi.Success, st)
		require.Equal(t, uint64(abi.ExitIRQ), out[1])
		pages := 0
		for _, p := range asked[done : done+r.a.EnterCount] {
			pages += p
		}
		done += r.a.EnterCount
		maxPages, maxTraps = max(maxPages, pages), max(maxTraps, r.a.EnterCount)
	}
	return maxPages, maxTraps
}

// TestRunWorkIsBounded: whatever a guest asks for, one VCPU_RUN stops at
// the trap that spends its budget, so it covers fewer than RunBudget plus
// one call's pages, and handles at most MaxEntries traps (seeds 1-5).
func TestRunWorkIsBounded(t *testing.T) {
	for seed := int64(1); seed <= 5; seed++ {
		pages, traps := runWork(t, seed)
		require.Less(t, pages, isolation.RunBudget+abi.GuestMaxPages, "seed %d", seed)
		require.LessOrEqual(t, traps, isolation.MaxEntries, "seed %d", seed)
	}
}

// TestRunWorkIsUnboundedWithoutTheBudget is the control: without the
// budget the same storm makes one run cover many times RunBudget pages.
func TestRunWorkIsUnboundedWithoutTheBudget(t *testing.T) {
	plant.NoWorkBudget = true
	defer func() { plant.NoWorkBudget = false }()
	pages, _ := runWork(t, 1)
	require.Greater(t, pages, 2*isolation.RunBudget)
}
