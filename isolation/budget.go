package isolation

import (
	"bulkhead/isolation/abi"
	"bulkhead/isolation/internal/plant"
)

// Bounded time at EL2. The engine runs with interrupts masked, on the one
// CPU the host and every VM share, so each entry to it must end after
// bounded work, and no guest may keep the CPU from the host past a budget.
// These are the loops of the core whose length a caller chooses, and what
// bounds each:
//
//   - GUEST_SHARE, GUEST_UNSHARE, GUEST_RELINQUISH walk their pages a few
//     times (check, reserve tables, commit; RELINQUISH also zeroes and
//     cleans each page). A call covers at most abi.GuestMaxPages pages
//     (ABI v1.1), so one guest trap does bounded work.
//   - One VCPU_RUN handles the guest's traps in place (engine calls, PSCI,
//     shadowed MMIO, reflected aborts, read-as-zero system registers) until
//     one needs the host. Each is charged to a work budget (guestWork): when
//     runBudget units are spent, VCPU_RUN returns to the host with an IRQ
//     exit, as if the host's timer had fired, which the ABI allows at any
//     point of a run. maxEntries still caps the entries as before.
//   - The host's memory calls (MEM_DONATE, MEM_SHARE, MEM_UNSHARE,
//     MEM_RECLAIM) and VM_DESTROY are linear in the pages they cover, which
//     RAM bounds (a range must lie in RAM, or each page must be mapped),
//     at a bounded cost per page, with v1's all-or-nothing result. Only the
//     host waits for its own call: it decides when every VM runs anyway.
//   - Everything else loops over fixed sizes: the vCPUs of a VM, the VM
//     slots, the shadow slots, the 512 entries of a table, the levels of a
//     walk, and the table pool (VM_CREATE's search for a root).
const (
	// runBudget is the work one VCPU_RUN may spend on traps it handles in
	// place before it returns to the host.
	runBudget = 256
	// trapUnits is what one handled trap costs, whatever it does; a guest
	// memory call costs one unit more per page it covers. 64 plain traps
	// spend the budget, the cap of ABI v1.0; thirteen memory calls of
	// abi.GuestMaxPages pages do too.
	trapUnits = 4
)

// guestWork returns the units a trap the engine handles in place costs,
// from the decision d and the guest's registers x before the engine acts
// on it. A memory call is charged for the pages it asks for, up to the
// most it may cover (a longer one is refused before it touches a page).
func guestWork(d Decision, x *[31]uint64) int {
	if d.Disp != DispCall {
		return trapUnits
	}
	return callWork(x)
}

// callWork is guestWork of a call with registers x.
func callWork(x *[31]uint64) int {
	switch uint32(x[0]) {
	case abi.GuestShare, abi.GuestUnshare, abi.GuestRelinquish:
		return trapUnits + int(min(x[2], abi.GuestMaxPages))
	}
	return trapUnits
}

// workBudget is what is left of one VCPU_RUN's budget.
type workBudget struct{ left int }

func newWorkBudget() workBudget { return workBudget{left: runBudget} }

// spend charges units: it returns what is left and whether the run may go
// on. The budget is a value, so that a run keeps it in a plain local.
func (b workBudget) spend(units int) (workBudget, bool) {
	b.left -= units
	return b, b.left > 0 || plant.NoWorkBudget
}

// guestPagesOK reports whether a guest memory call of n pages is within
// the ABI v1.1 limit.
func guestPagesOK(n uint64) bool { return n <= abi.GuestMaxPages || plant.NoWorkBudget }
