package el2

// Layout of a vCPU's EL1 system register file, as EnterGuest keeps it in
// isolation.Context.EL1. The assembly takes the indices from go_asm.h
// (const_elSCTLR, ...), so this list is the only place they are written.
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
	elMDSCR
	elCSSELR
	elSP0
	elSP1
	elELR
	elSPSR
	elCNTVCTL
	elCNTVCVAL
	elFPCR
	elFPSR
	// ELRegs is the number of registers in the file.
	ELRegs
)

// ELFile is a saved EL1 system register file.
type ELFile [ELRegs]uint64

// FPFile is a saved FP/SIMD register file: V0..V31, 128 bits each.
type FPFile [64]uint64

// ResetEL1 is the EL1 state a vCPU starts in (Arm ARM D1.9 reset values as
// a boot loader leaves them for an OS): MMU and caches off, little-endian,
// every other register zero. SCTLR_EL1 carries its RES1 bits (D19.2.118).
func ResetEL1() ELFile {
	var f ELFile
	f[elSCTLR] = 0x30d00800
	return f
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
