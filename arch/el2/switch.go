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
func loadedTimerFires(now uint64) bool

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

// World is the host's side of a guest switch, what SwitchToHost restores,
// and which vCPU's EL1 world is loaded.
type World struct {
	HostHCR   uint64
	HostVTTBR uint64
	hostEL1   ELFile
	hostMDCR  uint64
	guestMDCR uint64
	// aprs is how many ICH_AP0R<n>_EL2 and ICH_AP1R<n>_EL2 the CPU has.
	aprs uint64
	// loaded and loadedGIC are the files of the vCPU whose EL1 world is
	// in the CPU, nil while the host's is; guestSP is its SP_EL1 as its
	// latest exit left it.
	loaded    *ELFile
	loadedGIC *VGIC
	guestSP   uint64
	// timerLinked: DeliverTimer linked a list register of the loaded
	// vCPU to PPI 27 since it was loaded.
	timerLinked bool
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
	host.Regs = &host.X
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
	// WFIInGuest: the guest's WFI waits in the guest instead of trapping
	// (guestHCR), for the whole of its stay: a loaded vCPU is re-entered
	// under the trap controls of its full entry.
	WFIInGuest bool
}

// EnterGuest runs g until it takes an exception to EL2, and leaves g's EL1
// world loaded: its EL1 system registers, its virtual CPU interface, the
// guest trap controls and its stage-2. The engine's own work at EL2 uses
// none of them, so a trap the engine completes itself re-enters g through
// EnterGuest at the cost of the general registers alone; SwitchToHost
// puts the host's EL1 world back before the host runs again, and
// EnterGuest does it first when another vCPU was loaded.
//
// The host's general and FP/SIMD registers need no saving here: they are
// in the host Context the engine resumes, saved at the host's call before
// any Go code ran. The guest's FP/SIMD file goes in and out with its
// general registers (run, lowerExit) at every entry and exit.
//
// The caller re-enters a loaded g only when nothing it keeps in memory for
// g changed since g was loaded: g.EL1 and g.VGIC are stale while g is
// loaded (the CPU holds the live values), so a vCPU that must be reset,
// be given an exception, or have its list registers re-synced is first
// switched out with SwitchToHost.
func (w *World) EnterGuest(g Guest) {
	if w.loaded != g.EL1 {
		if w.loaded != nil {
			w.SwitchToHost()
		}
		w.switchIn(g)
		g.Regs.SP = g.EL1[elSP1]
	} else {
		if profiling {
			Switches.Fast++
		}
		g.Regs.SP = w.guestSP
	}
	g.Regs.FP = g.FP
	here.Enter(g.Regs)
	w.guestSP = g.Regs.SP
}

// Loaded reports whether el1, a vCPU's EL1 file, is the one whose world is
// loaded: the CPU, not the file, holds its values.
func (w *World) Loaded(el1 *ELFile) bool { return el1 != nil && w.loaded == el1 }

// switchIn saves the host's EL1 world and loads g's.
//
// The guest's stage-2 (VTTBR_EL2) is installed before its EL1 translation
// registers are loaded, and the host's before the host's are (in
// SwitchToHost): a speculative address translation at EL1 must never
// combine one principal's stage-1 registers with another's stage-2
// (Cortex-A72 erratum 1319367, "speculative AT instruction using
// out-of-context translation regime"; the order KVM uses for
// ARM64_WORKAROUND_SPECULATIVE_AT).
func (w *World) switchIn(g Guest) {
	if profiling {
		Switches.Full++
	}
	saveEL1(&w.hostEL1)
	writeVMPIDR(readMPIDR()&^0xff_00ff_ffff | 1<<31 | g.VCPU&0xff)
	writeTrapControls(guestHCR(g.WFIInGuest), w.guestMDCR, guestCNTHCTL)
	setVTTBR(g.VTTBR)
	loadEL1(g.EL1)
	loadVGIC(g.VGIC, w.aprs)
	w.loaded, w.loadedGIC = g.EL1, g.VGIC
}

// SwitchToHost saves the loaded vCPU's EL1 file and virtual CPU interface
// (clearing the interface) and restores the host's EL1 world; with no
// vCPU loaded it does nothing. The engine calls it before every return
// to the host.
func (w *World) SwitchToHost() {
	if w.loaded == nil {
		return
	}
	if profiling {
		Switches.Full++
	}
	saveEL1(w.loaded)
	saveVGIC(w.loadedGIC, w.aprs)
	setVTTBR(w.HostVTTBR)
	writeTrapControls(w.HostHCR, w.hostMDCR, hostCNTHCTL)
	// The host's MPIDR_EL1 reads VMPIDR_EL2 too (D19.2.100): its own
	// CPU's, not the last vCPU's, which would tell it the wrong CPU.
	writeVMPIDR(readMPIDR())
	loadEL1(&w.hostEL1)
	if w.timerLinked {
		unlinkTimer(w.loadedGIC)
	}
	w.loaded, w.loadedGIC, w.timerLinked = nil, nil, false
}

// LoadedTimerFires reports whether the loaded vCPU's virtual timer
// condition holds now, read from the CPU's CNTV_CTL_EL0 and CNTV_CVAL_EL0
// (see TimerFires). It is one assembly routine, which the compiler
// inlines this method into, because every re-entry of a loaded vCPU asks.
func (w *World) LoadedTimerFires(now uint64) bool { return loadedTimerFires(now) }
