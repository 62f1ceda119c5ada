// Package plant holds switches that plant known bugs in the isolation core,
// so that tests can show that their checks catch each one. Every switch is
// false except inside a test that sets it and restores it (and NoWorkBudget
// in an image built with the bulkhead_nobudget tag).
package plant

// Planted bugs.
var (
	// SkipZeroOnReclaim makes MEM_RECLAIM hand pages back to the host
	// without zeroing them.
	SkipZeroOnReclaim bool
	// KeepHostMappingOnDonate makes MEM_DONATE leave the pages in the host
	// stage-2.
	KeepHostMappingOnDonate bool
	// SkipOwnerCheckOnDonate makes MEM_DONATE accept pages the host does not
	// own (or has shared).
	SkipOwnerCheckOnDonate bool
	// ReclaimLiveVMIsDenied makes MEM_RECLAIM of a live VM's page return
	// DENIED instead of BUSY.
	ReclaimLiveVMIsDenied bool
	// ShareIntoProtectedVM makes MEM_SHARE accept a protected VM.
	ShareIntoProtectedVM bool
	// MemStateIgnoresShare makes GUEST_MEMSTATE report a page the VM has
	// shared with the host as private.
	MemStateIgnoresShare bool
	// NoWorkBudget removes the bounds on guest-caused work at EL2: guest
	// memory calls of any length, and a VCPU_RUN that ends only after
	// maxEntries handled traps, whatever they cost. It is also set for a
	// whole image by the bulkhead_nobudget build tag.
	NoWorkBudget = noBudgetBuild
)
