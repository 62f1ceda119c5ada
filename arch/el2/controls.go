package el2

// The EL2 controls the world switch writes (the inventory's Control rows).

// Guest configuration (Arm ARM D19.2.48 HCR_EL2): stage-2 on (VM),
// set/way invalidation upgraded to clean (SWIO) and set/way operations
// trapped (TSW), interrupts and SErrors to EL2 (FMO, IMO, AMO), WFI trapped
// (TWI) so an idle vCPU gives its CPU back, SMC trapped (TSC) so PSCI
// reaches the engine, IMPLEMENTATION DEFINED and auxiliary control
// registers trapped (TIDCP, TACR), broadcast of TLB and barrier operations
// in the inner shareable domain (FB, BSU = 1), EL1 AArch64 (RW). WFE is
// trapped too (TWE): a vCPU spinning on a lock its holder cannot release
// while descheduled gives the CPU back at once.
const GuestHCR = 1<<0 | 1<<1 | 1<<3 | 1<<4 | 1<<5 | 1<<9 | 1<<10 | 1<<13 | 1<<14 | 1<<19 | 1<<20 | 1<<21 | 1<<22 | 1<<31

// hcrTWI is HCR_EL2.TWI (D19.2.48, bit 13).
const hcrTWI = 1 << 13

// guestHCR is the HCR_EL2 a guest runs under: GuestHCR, without TWI when
// the host asked that its WFI wait in the guest (VCPU_RUN_ALONE). Every
// other trap stays: WFE too, so a vCPU spinning on a lock still gives
// the CPU back.
func guestHCR(wfiInGuest bool) uint64 {
	if wfiInGuest {
		return GuestHCR &^ hcrTWI
	}
	return GuestHCR
}

// MDCR_EL2 (D19.3.16) for the host and guests alike: the PMU (TPM, TPMCR)
// and the debug registers (TDA, TDOSA, TDRA) trap, and the engine reads
// them as zero and ignores writes (the inventory's Trapped rows): a counter
// the host could run would count a guest's instructions, and a breakpoint
// or watchpoint would watch it. HPMN keeps its reset value (PMCR_EL0.N;
// 0 is CONSTRAINED UNPREDICTABLE), HPME and TDE stay clear.
const (
	mdcrHPMNMask = 0x1f
	mdcrTraps    = 1<<5 | 1<<6 | 1<<9 | 1<<10 | 1<<11
)

// CNTHCTL_EL2 (D19.12.3): the host may use the physical timer and counter
// (EL1PCEN, EL1PCTEN); a guest reads the counter but its physical timer
// accesses trap, since that timer is the host's.
const (
	hostCNTHCTL  = 1<<0 | 1<<1
	guestCNTHCTL = 1 << 0
)

// DeliversTimer reports whether this engine presents a loaded vCPU's
// virtual timer interrupt without an exit (fastTimer; off only in the
// bulkhead_slow_timer test build). A guest whose WFI waits in the guest
// is woken by its timer only then, so an engine without it offers no
// VCPU_RUN_ALONE (cmd/engine runAlone).
const DeliversTimer = fastTimer
