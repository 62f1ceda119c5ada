package isolation

import "bulkhead/isolation/internal/plant"

// Platform is everything the core needs from the machine. The arch code
// implements it once per image; isolation/internal/fakearch implements it
// for tests. It is the only interface in the transition code.
//
// Descriptors are written with plain stores into the Pool. The arch code
// must therefore order those stores before any TLB maintenance it performs
// (DSB ISHST at the start of InvalidateIPA and InvalidateVMID) and before
// the next return to EL1 (DSB ISH before ERET), as the Arm ARM requires for
// translation table updates (D8.13, "Translation table maintenance").
type Platform interface {
	// InvalidateIPA removes from the TLBs every entry for vmid that
	// translates ipa, at any level, including combined stage-1 and stage-2
	// entries (TLBI IPAS2E1IS then TLBI VMALLE1IS, with DSBs, as the Arm
	// ARM requires after a stage-2 change, D8.13.1). The core calls it after
	// writing an entry invalid and before writing its replacement
	// (break-before-make, D8.14.1).
	InvalidateIPA(vmid VMID, ipa IPA)
	// InvalidateVMID removes every TLB entry for vmid (TLBI VMALLS12E1IS).
	InvalidateVMID(vmid VMID)
	// ZeroPages writes zeros to the n pages starting at pa.
	ZeroPages(pa PA, n uint64)
	// CleanToPoC cleans the n pages starting at pa to the point of
	// coherency, and invalidates the instruction cache for them when
	// CTR_EL0.DIC is 0, so that an agent with caches off or a guest
	// fetching instructions sees what was written (Arm ARM D7.5).
	CleanToPoC(pa PA, n uint64)
	// EnterGuest loads ctx into the CPU, switches to the stage-2 described
	// by vttbr, enters the guest at EL1 and returns when the guest traps
	// to EL2, with ctx holding the guest's registers at the trap. Under
	// Serial it runs without the engine lock, on several CPUs at once for
	// different vCPUs and alongside the other methods; ctx is the CPU's
	// until it returns.
	EnterGuest(vttbr uint64, ctx *Context) Trap
	// CopyFile copies boot file index (Config.Files) to the pages starting
	// at pa, which the core has checked the host owns, and cleans them to
	// the point of coherency. It reports false if the device failed; the
	// pages may then hold part of the file. Only FILE_READ calls it.
	CopyFile(index uint64, pa PA) bool
	// PageIsZero reports whether the page at pa reads as all zeros. Only
	// Snapshot and checks use it, never a hypercall path.
	PageIsZero(pa PA) bool
}

// TrapKind is how the guest left: a synchronous exception, or an
// asynchronous one taken to EL2.
type TrapKind uint8

// Trap kinds, one per vector the guest can exit through (Arm ARM D1.10.2,
// "Exception vectors": lower EL using AArch64).
const (
	TrapSync TrapKind = iota
	TrapIRQ
	TrapFIQ
	TrapSError
)

// Trap is what the arch code records when a guest traps to EL2: the syndrome
// registers as the hardware wrote them. The guest's registers are in the
// Context. For a stage-2 permission fault HPFAR_EL2 is UNKNOWN (Arm ARM
// D23.2, HPFAR_EL2); the core reads HPFAR only for translation faults (an
// MMIO access), and reflects every other fault at FAR, so the arch code
// need not translate FAR itself (an AT S1E1R at EL2 would walk the guest's
// tables and could fault).
type Trap struct {
	Kind  TrapKind
	ESR   uint64 // ESR_EL2
	FAR   uint64 // FAR_EL2
	HPFAR uint64 // HPFAR_EL2
}

// Injection is an exception the arch code must deliver to the guest before
// it next enters it.
type Injection uint8

// Injections.
const (
	InjectNone Injection = iota
	// InjectDataAbort: a synchronous external abort on a data access, at
	// the address in Context.InjectFAR (ESR_EL1.EC 0x25 or 0x24, DFSC
	// 0b010000), taken to EL1 as the architecture does (Arm ARM D1.10.3).
	InjectDataAbort
	// InjectInstructionAbort: the same for an instruction fetch (EC 0x21
	// or 0x20, IFSC 0b010000).
	InjectInstructionAbort
	// InjectUndef: an Unknown-reason exception (ESR_EL1.EC 0) for the
	// instruction at PC, as the instruction raises where it is UNDEFINED
	// (Arm ARM D17.2.37); InjectFAR is unused.
	InjectUndef
)

// IRQLines is the number of interrupt lines a vCPU has: every GIC INTID
// below the special range (SGIs 0-15, PPIs 16-31, SPIs 32-1019).
const IRQLines = 1020

// Context is a vCPU's state, in engine memory. The core reads and writes
// X, PC and PState; the arch code saves and restores it around EnterGuest.
// The host never sees a Context.
type Context struct {
	X      [31]uint64 // x0..x30
	PC     uint64     // where the guest resumes (ELR_EL2)
	PState uint64     // SPSR_EL2 at resume

	VMID VMID   // the VM this vCPU belongs to
	VCPU uint16 // the vCPU's index in its VM, which is also its MPIDR Aff0

	// Fresh is set by the core when it (re)starts the vCPU; the arch code
	// then loads architectural reset values into EL1 (SCTLR_EL1 with the
	// MMU and caches off, and the rest) and clears it.
	Fresh bool

	// IRQ is the level of each virtual interrupt line, bit i%64 of word
	// i/64 for INTID i; the arch code presents the asserted ones through
	// the GIC virtual CPU interface. SGIs (INTID 0-15) are edge-triggered:
	// a raise is latched here until the arch code presents it, which then
	// clears the bit, so each raise is delivered once.
	IRQ [(IRQLines + 63) / 64]uint64

	// Inject, when not InjectNone, is an abort the arch code delivers
	// before entering the guest, and then clears.
	Inject    Injection
	InjectFAR uint64

	// EL1 holds the guest's EL1 system registers in a layout the arch code
	// defines. The core never reads it and zeroes it on reset.
	EL1 [EL1Regs]uint64
}

// EL1Regs is the room a Context keeps for EL1 system registers.
const EL1Regs = 32

// PStateEL1h is the PSTATE a vCPU starts with: EL1 using SP_EL1, with
// D, A, I and F masked (Arm ARM C5.2.18, SPSR_EL2; PSCI 1.1 section 6.4
// CPU_ON entry state).
const PStateEL1h = 0x3c5

// reset puts c into the state of a vCPU entering at entry with x0 = arg.
// The interrupt lines keep their levels: they are wires the host drives,
// not state of the CPU.
func (c *Context) reset(vmid VMID, vcpu uint16, entry, arg uint64) {
	old := *c
	fresh := !plant.ResetSkipsWarmEL1 || old.PC != entry
	*c = Context{VMID: vmid, VCPU: vcpu, PC: entry, PState: PStateEL1h, Fresh: fresh, IRQ: old.IRQ}
	c.X[0] = arg
}
