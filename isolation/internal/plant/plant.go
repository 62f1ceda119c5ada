// Package plant holds switches that plant known bugs in the isolation core,
// so that tests can show that their checks catch each one. Every switch is
// false except inside a test that sets it and restores it (and NoWorkBudget
// in an image built with the bulkhead_nobudget tag, SerialNoLock and
// SerialIRQIntoGuest in a test binary built with their tags).
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
	// RunIgnoresStop makes a run whose vCPU another vCPU's SYSTEM_OFF
	// stopped while it was in the guest carry on as if it were still
	// running: the vCPU comes back On and its trap is handled.
	RunIgnoresStop bool
	// SerialNoLock makes Serial take no lock: calls from several CPUs
	// interleave inside the core. Set by the bulkhead_plant_serial_nolock
	// build tag.
	SerialNoLock = serialNoLockBuild
	// SerialIRQIntoGuest makes Serial pass a VCPU_IRQ of a vCPU that is in
	// the guest straight to the core, which writes the context the CPU
	// running the vCPU owns. Set by the bulkhead_plant_serial_irq build
	// tag.
	SerialIRQIntoGuest = serialIRQBuild
	// LogReadOldestHighest makes MMIO_LOG_READ pack each word's bytes
	// oldest highest instead of oldest lowest.
	LogReadOldestHighest bool
	// SerialDestroyInGuest makes Serial let VM_DESTROY through while a
	// vCPU of the VM that a SYSTEM_OFF stopped is still in the guest.
	SerialDestroyInGuest bool
	// CPUOnNamesCaller makes PSCI CPU_ON start its target with the
	// caller's vCPU number in the target's context, so that the target's
	// own calls act as the caller's.
	CPUOnNamesCaller bool
	// SGIExitWholeRegister makes the SGI exit of a write of ICC_SGI1R_EL1
	// carry the whole source register, its RES0 bits included, instead of
	// the request's fields: bits the host must not see leave the guest.
	SGIExitWholeRegister bool
	// MMIOReadCarriesRegister makes the exit of an MMIO read carry the
	// current value of its destination register, as a write's carries its
	// source: a register the host must not see leaves the guest.
	MMIOReadCarriesRegister bool
	// ResetSkipsWarmEL1 makes a reset of a vCPU whose saved PC is already
	// its new entry point leave Fresh clear, so that its EL1 system
	// registers are not reloaded: whether a register held that value
	// reaches state outside the registers, which VCPU_INIT (a call of the
	// host) and CPU_ON change.
	ResetSkipsWarmEL1 bool
)
