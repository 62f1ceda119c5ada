package el2

import (
	"fmt"
	"strings"
)

// The inventory: every architectural register an EL1 or EL0 context (the
// host or a guest vCPU) can read or write while it runs, on the CPU the
// engine boots (QEMU 7.2 cortex-a72: Armv8.0-A, GICv3 CPU interface with
// 5 priority bits, 4 list registers, PMUv3 with 6 event counters), and the
// registers later architecture versions add, each with the one rule the
// engine applies to it. It is the single source: the world switch, vCPU
// reset and the model's register set are checked against it by tests
// (inventory_test.go), and a feature that touches CPU state adds its row
// before its code.

// Rule is what the engine does with a register.
type Rule uint8

// Rules.
const (
	// Switched: each principal (the host, every vCPU) has its own value,
	// saved when it leaves the CPU and restored when it comes back; a vCPU
	// starts from the row's reset value. Work the engine does at EL2 for
	// the principal that trapped does not make it leave: a vCPU's EL1
	// file, virtual CPU interface and EL2 controls stay loaded while the
	// engine completes its trap, and are switched before the host or
	// another vCPU runs (World.EnterGuest, SwitchToHost).
	Switched Rule = iota + 1
	// Trapped: accesses from EL1 and EL0 trap to EL2 and are emulated as
	// read-as-zero, write-ignored (isolation/sysreg.go for guests,
	// cmd/engine for the host), so nothing written reaches anyone.
	Trapped
	// Disabled: accesses trap to EL2 and the engine makes them UNDEFINED
	// (an Unknown-reason exception at EL1), as on a CPU without the
	// feature.
	Disabled
	// Control: an EL2 register EL1 cannot access; the engine writes the
	// host's or the guest configuration into it at every switch between
	// principals.
	Control
	// ReadOnly: readable, not writable: identification (the same for
	// every principal), the free-running counter, or a value the CPU
	// computes from switched state (ICC_RPR_EL1 from the active
	// priorities), so nothing flows through it that the switch does not
	// already cover.
	ReadOnly
)

func (r Rule) String() string {
	switch r {
	case Switched:
		return "switched"
	case Trapped:
		return "trapped (RAZ/WI)"
	case Disabled:
		return "disabled (UNDEF)"
	case Control:
		return "EL2 control"
	case ReadOnly:
		return "read-only"
	}
	return fmt.Sprintf("Rule(%d)", uint8(r))
}

// Home is where a switched register's per-vCPU value lives.
type Home uint8

// Homes.
const (
	HomeNone    Home = iota
	HomeContext      // isolation.Context: x0..x30, PC, PSTATE (lowerExit, run)
	HomeEL1          // ELFile (saveEL1, loadEL1)
	HomeFP           // FPFile (saved at every EL2 entry, restored at every ERET)
	HomeVGIC         // VGIC (saveVGIC, loadVGIC)
	// HomeBanked: the CPU keeps one copy for the host and another for
	// guests: the host uses the physical GIC CPU interface (ICC_*), a
	// guest the virtual one (ICV_*, HCR_EL2.IMO and FMO), whose state is
	// in the VGIC rows.
	HomeBanked
)

// Item is one row of the inventory.
type Item struct {
	Name string // the Arm ARM register name, or PC / PSTATE
	Rule Rule
	Home Home
	// Reset is the value a vCPU starts with (Switched rows only).
	Reset uint64
	// A72 is false for registers the boot CPU does not implement; the row
	// says what the engine does on a CPU that has them.
	A72  bool
	Note string
}

// Inventory returns the table, in a fixed order.
func Inventory() []Item {
	var t []Item
	add := func(items ...Item) { t = append(t, items...) }
	for i := 0; i <= 30; i++ {
		add(Item{Name: fmt.Sprintf("X%d", i), Rule: Switched, Home: HomeContext, A72: true})
	}
	add(Item{Name: "PC", Rule: Switched, Home: HomeContext, A72: true, Note: "ELR_EL2 while at EL2; reset: the VCPU_INIT or CPU_ON entry"})
	add(Item{Name: "PSTATE", Rule: Switched, Home: HomeContext, A72: true, Note: "SPSR_EL2 while at EL2; reset EL1h, DAIF masked"})
	for i, name := range elNames {
		add(Item{Name: name, Rule: Switched, Home: HomeEL1, Reset: elReset(i), A72: true, Note: elNotes[name]})
	}
	for i := 0; i < 32; i++ {
		add(Item{Name: fmt.Sprintf("V%d", i), Rule: Switched, Home: HomeFP, A72: true, Note: "128 bits"})
	}
	add(Item{Name: "FPCR", Rule: Switched, Home: HomeFP, A72: true},
		Item{Name: "FPSR", Rule: Switched, Home: HomeFP, A72: true})
	for i := 0; i < ListRegs; i++ {
		add(Item{Name: fmt.Sprintf("ICH_LR%d_EL2", i), Rule: Switched, Home: HomeVGIC, A72: true,
			Note: "written by Sync from the vCPU's lines at every full entry, and by DeliverTimer while the vCPU is loaded: the virtual timer's entry linked to the physical PPI 27 (HW, pINTID 27), unlinked at every switch out; the host's are cleared"})
	}
	add(Item{Name: "ICH_VMCR_EL2", Rule: Switched, Home: HomeVGIC, A72: true, Note: "ICV_PMR/BPR0/BPR1/IGRPEN0/IGRPEN1_EL1"},
		Item{Name: "ICH_HCR_EL2", Rule: Switched, Home: HomeVGIC, A72: true, Reset: 0, Note: "En (and UIE) recomputed by Sync at every full entry (a loaded vCPU is re-entered without one only when Sync would change nothing); 0 for the host"})
	for _, group := range []string{"ICH_AP0R", "ICH_AP1R"} {
		for i := 0; i < MaxAPRs; i++ {
			add(Item{Name: fmt.Sprintf("%s%d_EL2", group, i), Rule: Switched, Home: HomeVGIC, A72: i == 0,
				Note: fmt.Sprintf("ICV_%sR%d_EL1; switched when ICH_VTR_EL2.PREbits+1 >= %d, else UNDEFINED; cleared for the host", group[4:7], i, aprMinPREbits(i)+1)})
		}
	}
	add(Item{Name: "CNTVOFF_EL2", Rule: Control, A72: true, Note: "0 for everyone: a guest's virtual count is the physical count"},
		Item{Name: "HCR_EL2", Rule: Control, A72: true, Note: "host: VM, SWIO, TSC, RW; guest: GuestHCR, without TWI during VCPU_RUN_ALONE (guestHCR)"},
		Item{Name: "MDCR_EL2", Rule: Control, A72: true, Note: "TPM, TPMCR, TDA, TDOSA, TDRA for the host and guests; HPMN kept, HPME clear"},
		Item{Name: "CNTHCTL_EL2", Rule: Control, A72: true, Note: "physical timer and counter: host yes, guest counter only"},
		Item{Name: "CPTR_EL2", Rule: Control, A72: true, Note: "TFP clear (FP/SIMD switched), TZ set (SVE disabled), TTA clear (no trace unit on QEMU)"},
		Item{Name: "VTTBR_EL2", Rule: Control, A72: true, Note: "the principal's stage-2 root and VMID"},
		Item{Name: "VMPIDR_EL2", Rule: Control, A72: true, Note: "guest MPIDR: Aff0 = vCPU index; the host's is its CPU's MPIDR_EL1, written back at every switch to the host"},
		Item{Name: "VPIDR_EL2", Rule: Control, A72: true, Note: "the CPU's MIDR for everyone (written at boot: its reset value is UNKNOWN)"})
	for _, n := range []string{"ICC_PMR_EL1", "ICC_BPR0_EL1", "ICC_BPR1_EL1", "ICC_IGRPEN0_EL1", "ICC_IGRPEN1_EL1",
		"ICC_CTLR_EL1", "ICC_AP0R0_EL1", "ICC_AP1R0_EL1"} {
		add(Item{Name: n, Rule: Switched, Home: HomeBanked, A72: true, Note: "the host's physical interface; a guest's access goes to ICV_* (ICH_VMCR_EL2, ICH_AP*R*_EL2)"})
	}
	add(Item{Name: "ICC_IAR1_EL1, ICC_EOIR1_EL1, ICC_DIR_EL1, ICC_HPPIR1_EL1", Rule: Switched, Home: HomeBanked, A72: true,
		Note: "the host's physical interface; a guest's access goes to ICV_*. At EL2 the engine acknowledges only the physical PPI 27 of a loaded vCPU's timer (DeliverTimer), drops its priority at once and leaves it active until the guest deactivates it through the linked list register or the switch out deactivates it: the host never finds an interrupt acknowledged or a priority raised by the engine"},
		Item{Name: "ICC_CTLR_EL1.EOImode", Rule: Switched, Home: HomeBanked, A72: true,
			Note: "the host's; set for the few instructions of the engine's priority drop or deactivation of PPI 27 at EL2 and restored before anything else runs"},
		Item{Name: "GICR PPI 27 (IGROUPR0, IPRIORITYR, ISENABLER0 of each CPU)", Rule: Control, A72: true,
			Note: "the engine enables the virtual timer's physical PPI as group 1 when each CPU starts (initHart), below the host's tick in priority, so a loaded vCPU's timer reaches EL2; GICR is host MMIO, so a host that disables it only loses the fast delivery"})
	add(trappedRows()...)
	add(Item{Name: "AArch32 CP15 PMU/IMPDEF (MRC/MCR/MRRC/MCRR p15)", Rule: Disabled, A72: true,
		Note: "AArch32 EL0 of a guest: EC 0x03/0x04 becomes UNDEF (isolation/exit.go)"},
		Item{Name: "AArch32 CP14 debug (MRC/MCR/LDC/STC/MRRC p14)", Rule: Disabled, A72: true,
			Note: "AArch32 EL0 of a guest: EC 0x05/0x06/0x0c becomes UNDEF"})
	add(readOnlyRows()...)
	add(beyondA72Rows()...)
	return t
}

// elReset is the reset value of the ELFile register at index i.
func elReset(i int) uint64 {
	f := ResetEL1()
	return f[i]
}

// elNotes explains the EL1 file rows that need it.
var elNotes = map[string]string{
	"SCTLR_EL1":    "reset: MMU and caches off, RES1 bits",
	"CNTV_CTL_EL0": "virtual timer; the engine raises PPI 27 from it at a full entry, and presents it while the vCPU runs when the physical PPI 27 it drives reaches EL2 (DeliverTimer); never written by the engine",
	"CNTKCTL_EL1":  "EL0 access to the counter and virtual timer",
}

// aprMinPREbits is the smallest number of preemption bits minus one
// (ICH_VTR_EL2.PREbits) for which ICH_AP<g>R<n>_EL2 exists (GIC IHI 0069
// 12.4.1, 12.4.2: AP<g>R1 needs 6 bits, AP<g>R2 and AP<g>R3 need 7).
func aprMinPREbits(n int) int {
	switch n {
	case 0:
		return 4
	case 1:
		return 5
	}
	return 6
}

// trappedRows are the PMU and debug registers, denied to the host and to
// guests alike (MDCR_EL2.TPM, TPMCR, TDA, TDOSA, TDRA; Arm ARM D13.1.3,
// D19.3.16 MDCR_EL2), and the registers the guest HCR_EL2 traps.
func trappedRows() []Item {
	var t []Item
	trap := func(note string, names ...string) {
		for _, n := range names {
			t = append(t, Item{Name: n, Rule: Trapped, A72: true, Note: note})
		}
	}
	pmu := "PMU (MDCR_EL2.TPM, TPMCR): host and guests; the engine stops every counter at boot"
	trap(pmu, "PMCR_EL0", "PMCNTENSET_EL0", "PMCNTENCLR_EL0", "PMOVSCLR_EL0", "PMOVSSET_EL0",
		"PMSWINC_EL0", "PMSELR_EL0", "PMCEID0_EL0", "PMCEID1_EL0", "PMCCNTR_EL0", "PMXEVTYPER_EL0",
		"PMXEVCNTR_EL0", "PMUSERENR_EL0", "PMINTENSET_EL1", "PMINTENCLR_EL1", "PMCCFILTR_EL0")
	for i := 0; i < a72PMUCounters; i++ {
		trap(pmu, fmt.Sprintf("PMEVCNTR%d_EL0", i), fmt.Sprintf("PMEVTYPER%d_EL0", i))
	}
	dbg := "debug (MDCR_EL2.TDA): host and guests; breakpoints and watchpoints stay disabled"
	trap(dbg, "MDSCR_EL1", "MDCCINT_EL1", "MDCCSR_EL0", "DBGDTR_EL0", "DBGDTRRX_EL0", "DBGDTRTX_EL0",
		"DBGCLAIMSET_EL1", "DBGCLAIMCLR_EL1", "DBGAUTHSTATUS_EL1", "OSDTRRX_EL1", "OSDTRTX_EL1", "OSECCR_EL1")
	for i := 0; i < a72Breakpoints; i++ {
		trap(dbg, fmt.Sprintf("DBGBVR%d_EL1", i), fmt.Sprintf("DBGBCR%d_EL1", i))
	}
	for i := 0; i < a72Watchpoints; i++ {
		trap(dbg, fmt.Sprintf("DBGWVR%d_EL1", i), fmt.Sprintf("DBGWCR%d_EL1", i))
	}
	trap("OS lock and power-down (MDCR_EL2.TDOSA): host and guests", "OSLAR_EL1", "OSLSR_EL1", "OSDLR_EL1", "DBGPRCR_EL1")
	trap("debug ROM address (MDCR_EL2.TDRA): host and guests", "MDRAR_EL1")
	trap("IMPLEMENTATION DEFINED and auxiliary control (HCR_EL2.TIDCP, TACR): guests; the host's are its own CPU's",
		"ACTLR_EL1", "CPUACTLR_EL1", "CPUECTLR_EL1", "CPUMERRSR_EL1", "L2CTLR_EL1", "L2ECTLR_EL1", "L2MERRSR_EL1")
	trap("physical timer (CNTHCTL_EL2.EL1PCEN): guests; the host's own", "CNTP_CTL_EL0", "CNTP_CVAL_EL0", "CNTP_TVAL_EL0")
	trap("set/way cache maintenance (HCR_EL2.TSW): guests; the host's are upgraded to clean+invalidate (SWIO)", "DC ISW", "DC CSW", "DC CISW")
	trap("SGI generation (HCR_EL2.IMO): a guest's write becomes an SGI exit, reads are zero; the host's reach the physical GIC (its hypervisor kicks its own CPUs with SGI 1)", "ICC_SGI1R_EL1", "ICC_ASGI1R_EL1", "ICC_SGI0R_EL1")
	return t
}

// PMU and debug resources of the Cortex-A72 (TRM r0p3: PMCR_EL0.N = 6,
// ID_AA64DFR0_EL1.BRPs = 5, WRPs = 3), which QEMU 7.2 models.
const (
	a72PMUCounters = 6
	a72Breakpoints = 6
	a72Watchpoints = 4
)

func readOnlyRows() []Item {
	var t []Item
	for _, n := range []string{"MIDR_EL1", "REVIDR_EL1", "AIDR_EL1", "CTR_EL0", "DCZID_EL0", "CLIDR_EL1", "CCSIDR_EL1",
		"ID_AA64PFR0_EL1", "ID_AA64PFR1_EL1", "ID_AA64DFR0_EL1", "ID_AA64DFR1_EL1", "ID_AA64AFR0_EL1", "ID_AA64AFR1_EL1",
		"ID_AA64ISAR0_EL1", "ID_AA64ISAR1_EL1", "ID_AA64MMFR0_EL1", "ID_AA64MMFR1_EL1", "ID_AA64MMFR2_EL1",
		"CNTFRQ_EL0", "CNTPCT_EL0", "CNTVCT_EL0"} {
		t = append(t, Item{Name: n, Rule: ReadOnly, A72: true})
	}
	t = append(t, Item{Name: "MPIDR_EL1", Rule: ReadOnly, A72: true, Note: "a guest reads VMPIDR_EL2"},
		Item{Name: "CNTV_TVAL_EL0", Rule: ReadOnly, A72: true, Note: "a view of CNTV_CVAL_EL0 and the count; writes set CNTV_CVAL_EL0"},
		Item{Name: "ICC_RPR_EL1", Rule: ReadOnly, A72: true, Note: "derived from the active priorities (ICH_AP*R*_EL2 for a guest)"},
		Item{Name: "ICC_HPPIR0_EL1", Rule: ReadOnly, A72: true, Note: "derived from the list registers for a guest"},
		Item{Name: "ICC_HPPIR1_EL1", Rule: ReadOnly, A72: true, Note: "derived from the list registers for a guest"},
		Item{Name: "ICC_SRE_EL1", Rule: ReadOnly, A72: true, Note: "SRE, DFB, DIB read as one on QEMU's GICv3 (no legacy interface)"},
		Item{Name: "ISR_EL1", Rule: ReadOnly, A72: true, Note: "derived from pending interrupts (the list registers for a guest)"},
		Item{Name: "CurrentEL", Rule: ReadOnly, A72: true})
	return t
}

// beyondA72Rows are what later architecture versions add and the engine's
// answer on a CPU that has them. None exists on the boot CPU.
func beyondA72Rows() []Item {
	var t []Item
	row := func(r Rule, note string, names ...string) {
		for _, n := range names {
			t = append(t, Item{Name: n, Rule: r, Note: note})
		}
	}
	row(Disabled, "SVE: CPTR_EL2.TZ set, EC 0x19 becomes UNDEF", "ZCR_EL1", "Z0-Z31", "P0-P15", "FFR")
	row(Disabled, "pointer authentication: HCR_EL2.API clear, EC 0x09 becomes UNDEF", "PAC instructions")
	row(Trapped, "pointer authentication keys: HCR_EL2.APK clear", "APIAKeyLo_EL1", "APIAKeyHi_EL1", "APIBKeyLo_EL1",
		"APIBKeyHi_EL1", "APDAKeyLo_EL1", "APDAKeyHi_EL1", "APDBKeyLo_EL1", "APDBKeyHi_EL1", "APGAKeyLo_EL1", "APGAKeyHi_EL1")
	row(Trapped, "MTE: HCR_EL2.ATA clear (tag registers trap; tag accesses are disabled)", "GCR_EL1", "RGSR_EL1", "TFSR_EL1", "TFSRE0_EL1")
	return t
}

// SwitchedVCPUNames returns the names of every register switched per vCPU
// on the boot CPU, in inventory order: the register set of the model's
// vCPU state (specs/, constructors R_<name>).
func SwitchedVCPUNames() []string {
	var names []string
	for _, it := range Inventory() {
		if it.Rule == Switched && it.A72 && it.Home != HomeNone && it.Home != HomeBanked {
			names = append(names, it.Name)
		}
	}
	return names
}

// Summary prints the inventory grouped by rule, for review.
func Summary() string {
	var b strings.Builder
	for _, r := range []Rule{Switched, Trapped, Disabled, Control, ReadOnly} {
		var on, beyond []string
		for _, it := range Inventory() {
			if it.Rule != r {
				continue
			}
			if it.A72 {
				on = append(on, it.Name)
			} else {
				beyond = append(beyond, it.Name)
			}
		}
		fmt.Fprintf(&b, "%s: %d on cortex-a72: %s\n", r, len(on), strings.Join(on, " "))
		if len(beyond) > 0 {
			fmt.Fprintf(&b, "%s: %d beyond cortex-a72: %s\n", r, len(beyond), strings.Join(beyond, " "))
		}
	}
	return b.String()
}
