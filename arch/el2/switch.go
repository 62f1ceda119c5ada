//go:build tamago && arm64

package el2

// defined in switch_arm64.s
func saveEL1(f *ELFile)
func loadEL1(f *ELFile)
func saveFP(f *FPFile)
func loadFP(f *FPFile)
func clearFP()
func writeTrapControls(hcr, mdcr, cnthctl uint64)
func writeVMPIDR(val uint64)
func writeCNTVOFF(val uint64)
func readMPIDR() uint64
func readMDCR() uint64
func atS1E1R(va uint64) (par uint64)
func loadVGIC(v *VGIC)
func saveVGIC(v *VGIC)

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

// MDCR_EL2 traps for guests (D19.3.16): debug registers (TDA, TDOSA, TDRA)
// and the PMU (TPM, TPMCR), whose state the engine does not switch.
const guestMDCRTraps = 1<<5 | 1<<6 | 1<<9 | 1<<10 | 1<<11

// CNTHCTL_EL2 (D19.12.3): the host may use the physical timer and counter
// (EL1PCEN, EL1PCTEN); a guest reads the counter but its physical timer
// accesses trap, since that timer is the host's.
const (
	hostCNTHCTL  = 1<<0 | 1<<1
	guestCNTHCTL = 1 << 0
)

// World is the host's side of a guest switch: what EnterGuest restores
// when the guest exits.
type World struct {
	HostHCR   uint64
	HostVTTBR uint64
	hostEL1   ELFile
	hostMDCR  uint64
}

// Init records the host's configuration for later switches.
func (w *World) Init(hostHCR, hostVTTBR uint64) {
	w.HostHCR, w.HostVTTBR = hostHCR, hostVTTBR
	w.hostMDCR = readMDCR()
	writeTrapControls(hostHCR, w.hostMDCR, hostCNTHCTL)
	writeCNTVOFF(0) // guests see the physical count as their virtual count
}

// Guest is one vCPU's state as EnterGuest switches it.
type Guest struct {
	Regs  *Context // general registers, PC, PSTATE; exit syndrome on return
	EL1   *ELFile
	FP    *FPFile
	VGIC  *VGIC // list registers already synced with the vCPU's lines
	VTTBR uint64
	VCPU  uint64 // MPIDR Aff0 the guest sees
}

// EnterGuest runs g until it takes an exception to EL2, then restores the
// host's EL1 world. The host's general registers need no saving here: they
// are in the host Context the engine resumes. What the host can read after
// the switch is its own: every EL1 register is reloaded and the FP/SIMD
// registers, which the guest's values were saved from, are zeroed.
func (w *World) EnterGuest(g Guest) {
	saveEL1(&w.hostEL1)
	loadEL1(g.EL1)
	loadFP(g.FP)
	loadVGIC(g.VGIC)
	writeVMPIDR(readMPIDR()&^0xff_00ff_ffff | 1<<31 | g.VCPU&0xff)
	writeTrapControls(GuestHCR, w.hostMDCR|guestMDCRTraps, guestCNTHCTL)
	writeVTTBR(g.VTTBR)
	g.Regs.SP = g.EL1[elSP1]
	run(g.Regs)
	if IsPermissionFault(g.Regs.ESR) {
		if ipa, ok := TranslateFault(g.Regs.FAR); ok {
			g.Regs.HPFAR = ipa >> 12 << 4
		}
	}
	saveEL1(g.EL1)
	saveFP(g.FP)
	clearFP()
	saveVGIC(g.VGIC)
	writeVTTBR(w.HostVTTBR)
	writeTrapControls(w.HostHCR, w.hostMDCR, hostCNTHCTL)
	loadEL1(&w.hostEL1)
}

// TranslateFault returns the IPA of a stage-2 permission fault, for which
// HPFAR_EL2 is UNKNOWN (D19.2.51): the guest's stage-1 translates FAR with
// AT S1E1R while the guest's EL1 registers are still loaded. ok is false if
// the walk itself fails.
func TranslateFault(far uint64) (ipa uint64, ok bool) {
	par := atS1E1R(far)
	if par&1 != 0 {
		return 0, false
	}
	return par&0xf_ffff_ffff_f000 | far&0xfff, true
}
