//go:build tamago && arm64

package el2

// defined in switch_arm64.s
func saveEL1(f *ELFile)
func loadEL1(f *ELFile)
func saveFP(f *FPFile)
func loadFP(f *FPFile)
func writeTrapControls(hcr, mdcr, cnthctl uint64)
func writeVMPIDR(val uint64)
func writeCNTVOFF(val uint64)
func readMPIDR() uint64
func readMDCR() uint64
func copyMIDRToVPIDR()
func readVTR() uint64
func quietDebugAndPMU()
func loadVGIC(v *VGIC, aprs uint64)
func saveVGIC(v *VGIC, aprs uint64)

// SwitchCounts counts the world switches of a benchmark engine (profiling):
// Full switches of the EL1 world (the host's EL1 file out and a guest's
// EL1 file, vGIC and controls in, or back), Fast re-entries of a vCPU
// whose world stayed loaded, and the writes of VTTBR_EL2 that changed it,
// TLB maintenance's included. A real engine counts nothing.
type SwitchCounts struct {
	Full, Fast, VTTBRChanges uint64
}

// Switches is what the benchmark engine has counted since boot.
var Switches SwitchCounts

// setVTTBR installs a stage-2 root and, when profiling, counts the change.
func setVTTBR(v uint64) {
	if profiling && readVTTBR() != v {
		Switches.VTTBRChanges++
	}
	writeVTTBR(v)
}

// World is the host's side of a guest switch: what EnterGuest restores
// when the guest exits.
type World struct {
	HostHCR   uint64
	HostVTTBR uint64
	hostEL1   ELFile
	hostMDCR  uint64
	guestMDCR uint64
	// aprs is how many ICH_AP0R<n>_EL2 and ICH_AP1R<n>_EL2 the CPU has.
	aprs uint64
}

// Init records the host's configuration for later switches, stops the PMU
// and debug logic, and denies them to the host from now on.
func (w *World) Init(hostHCR, hostVTTBR uint64) {
	w.HostHCR, w.HostVTTBR = hostHCR, hostVTTBR
	boot := readMDCR()
	w.guestMDCR = boot&mdcrHPMNMask | mdcrTraps
	w.hostMDCR = w.guestMDCR
	w.aprs = uint64(APRs(readVTR()))
	if leakAPR {
		w.aprs = 0
	}
	if leakPMU {
		w.hostMDCR = boot
	} else {
		quietDebugAndPMU()
	}
	writeTrapControls(hostHCR, w.hostMDCR, hostCNTHCTL)
	writeCNTVOFF(0) // guests see the physical count as their virtual count
	copyMIDRToVPIDR()
}

// NewHost returns the host's context entering at entry with x0 = arg, in
// EL1h with interrupts masked, and an FP/SIMD file of zeros.
func NewHost(entry, arg uint64) *Context {
	host := &Context{PC: entry, PSTATE: PSTATEEntry, FP: new(FPFile)}
	host.X[0] = arg
	if leakFP {
		host.FP = nil
	}
	return host
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
// host's EL1 world. The host's general and FP/SIMD registers need no saving
// here: they are in the host Context the engine resumes, saved at the
// host's call before any Go code ran. The guest's FP/SIMD file goes in and
// out with its general registers (run, lowerExit), every EL1 register is
// reloaded, and the virtual CPU interface is saved and cleared.
//
// The guest's stage-2 (VTTBR_EL2) is installed before its EL1 translation
// registers are loaded, and the host's before the host's are: a
// speculative address translation at EL1 must never combine one
// principal's stage-1 registers with another's stage-2 (Cortex-A72
// erratum 1319367, "speculative AT instruction using out-of-context
// translation regime"; the order KVM uses for ARM64_WORKAROUND_SPECULATIVE_AT).
func (w *World) EnterGuest(g Guest) {
	if profiling {
		Switches.Full += 2 // in, and back out below
	}
	saveEL1(&w.hostEL1)
	writeVMPIDR(readMPIDR()&^0xff_00ff_ffff | 1<<31 | g.VCPU&0xff)
	writeTrapControls(GuestHCR, w.guestMDCR, guestCNTHCTL)
	setVTTBR(g.VTTBR)
	loadEL1(g.EL1)
	loadVGIC(g.VGIC, w.aprs)
	g.Regs.SP = g.EL1[elSP1]
	g.Regs.FP = g.FP
	run(g.Regs)
	saveEL1(g.EL1)
	saveVGIC(g.VGIC, w.aprs)
	setVTTBR(w.HostVTTBR)
	writeTrapControls(w.HostHCR, w.hostMDCR, hostCNTHCTL)
	loadEL1(&w.hostEL1)
}
