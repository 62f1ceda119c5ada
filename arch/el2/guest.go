package el2

// Layout of a vCPU's EL1 system register file, as EnterGuest keeps it in
// isolation.Context.EL1. The assembly takes the indices from go_asm.h
// (const_elSCTLR, ...), so this list is the only place they are written;
// elNames gives each its Arm name for the inventory, and a test checks
// saveEL1 and loadEL1 against both.
const (
	elSCTLR = iota
	elTTBR0
	elTTBR1
	elTCR
	elMAIR
	elAMAIR
	elVBAR
	elCONTEXTIDR
	elTPIDR0
	elTPIDRRO
	elTPIDR1
	elCPACR
	elESR
	elFAR
	elAFSR0
	elAFSR1
	elPAR
	elCNTKCTL
	elCSSELR
	elSP0
	elSP1
	elELR
	elSPSR
	elCNTVCTL
	elCNTVCVAL
	// ELRegs is the number of registers in the file.
	ELRegs
)

// elNames are the Arm names of the ELFile registers, by index.
var elNames = [ELRegs]string{
	elSCTLR: "SCTLR_EL1", elTTBR0: "TTBR0_EL1", elTTBR1: "TTBR1_EL1", elTCR: "TCR_EL1",
	elMAIR: "MAIR_EL1", elAMAIR: "AMAIR_EL1", elVBAR: "VBAR_EL1", elCONTEXTIDR: "CONTEXTIDR_EL1",
	elTPIDR0: "TPIDR_EL0", elTPIDRRO: "TPIDRRO_EL0", elTPIDR1: "TPIDR_EL1", elCPACR: "CPACR_EL1",
	elESR: "ESR_EL1", elFAR: "FAR_EL1", elAFSR0: "AFSR0_EL1", elAFSR1: "AFSR1_EL1",
	elPAR: "PAR_EL1", elCNTKCTL: "CNTKCTL_EL1", elCSSELR: "CSSELR_EL1",
	elSP0: "SP_EL0", elSP1: "SP_EL1", elELR: "ELR_EL1", elSPSR: "SPSR_EL1",
	elCNTVCTL: "CNTV_CTL_EL0", elCNTVCVAL: "CNTV_CVAL_EL0",
}

// ELFile is a saved EL1 system register file.
type ELFile [ELRegs]uint64

// FPFile is a saved FP/SIMD register file: V0..V31, 128 bits each (V[2n]
// the low half of Vn), and the FP control and status registers. Every
// entry to EL2 from EL1 saves the CPU's into the running context's file
// before any Go code runs (Go uses V registers), and every ERET loads the
// next context's (vectors_arm64.s): the host gets back exactly its own,
// as SMCCC requires of a callee (SMCCC 1.2, section 2.6), and a guest
// never sees another context's.
type FPFile struct {
	V    [64]uint64
	FPCR uint64
	FPSR uint64
}

// ResetEL1 is the EL1 state a vCPU starts in (Arm ARM D1.9 reset values as
// a boot loader leaves them for an OS): MMU and caches off, little-endian,
// every other register zero. SCTLR_EL1 carries its RES1 bits (D19.2.118).
func ResetEL1() ELFile {
	var f ELFile
	f[elSCTLR] = 0x30d00800
	return f
}

// ResetVCPU puts a vCPU's switched state outside isolation.Context into
// the inventory's reset values: the EL1 file, the FP/SIMD file and the
// virtual CPU interface, list registers and active priorities included.
// The engine calls it whenever the core (re)starts a vCPU (Context.Fresh):
// at VM creation, PSCI CPU_ON and a VM slot's reuse.
func ResetVCPU(el1 *ELFile, fp *FPFile, gic *VGIC) {
	*el1, *fp, *gic = ResetEL1(), FPFile{}, VGIC{}
}

// SetSP1 and SP1 give the EL1 stack pointer of a file.
func (f *ELFile) SetSP1(sp uint64) { f[elSP1] = sp }

// SP1 returns the EL1 stack pointer of f.
func (f *ELFile) SP1() uint64 { return f[elSP1] }

// Exception entry for an abort the engine delivers to a guest, computed on
// the guest's saved registers rather than the CPU's.

// DeliverAbort enters the guest's EL1 exception vector for a synchronous
// external abort at far, as the architecture would (D1.10.4): instruction
// selects an instruction abort, otherwise a data abort (read). It updates
// the guest's ESR/FAR/ELR/SPSR_EL1 in f and returns the PC and PSTATE to
// resume with.
func DeliverAbort(f *ELFile, pc, pstate, far uint64, instruction bool) (newPC, newPSTATE uint64) {
	ec := uint64(ECDataAbortLow)
	if instruction {
		ec = ECInstAbortLow
	}
	esr, vec, entry := AbortEntry(ec<<esrECShift, pstate, f[elVBAR])
	f[elESR], f[elFAR], f[elELR], f[elSPSR] = esr, far, pc, pstate
	return vec, entry
}

// DeliverUndef enters the guest's EL1 exception vector for an
// Unknown-reason exception at pc, what an UNDEFINED instruction raises
// (D1.10.4, D17.2.37 EC 0b000000): from AArch32 EL0 it is taken through
// the "lower EL using AArch32" vector. It updates ESR/ELR/SPSR_EL1 in f and
// returns the PC and PSTATE to resume with.
func DeliverUndef(f *ELFile, pc, pstate uint64) (newPC, newPSTATE uint64) {
	esr, vec, entry := UndefEntry(pstate, f[elVBAR])
	f[elESR], f[elELR], f[elSPSR] = esr, pc, pstate
	return vec, entry
}
