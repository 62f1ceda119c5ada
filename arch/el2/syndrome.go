package el2

// Exception classes (Arm ARM D17.2.37, ESR_ELx.EC).
const (
	ECHVC64         = 0x16
	ECSMC64         = 0x17
	ECSysReg        = 0x18 // MSR, MRS or SYS trapped from AArch64
	ECInstAbortLow  = 0x20
	ECInstAbortSame = 0x21
	ECDataAbortLow  = 0x24
	ECDataAbortSame = 0x25
)

const (
	esrECShift = 26
	esrIL      = 1 << 25
	esrWnR     = 1 << 6
	// DFSC/IFSC 0b010000: synchronous external abort, not on a walk.
	fscSyncExternal = 0x10
)

// EC returns the exception class of esr.
func EC(esr uint64) uint64 { return esr >> esrECShift & 0x3f }

// IsWrite reports whether a data abort syndrome is for a write (ISS.WnR).
func IsWrite(esr uint64) bool { return esr&esrWnR != 0 }

// ISS fields of EC 0x18 (D17.2.37, "ISS encoding for an exception from
// MSR, MRS, or System instruction execution in AArch64 state").
const (
	sysRegIssRead    = 1 << 0
	sysRegIssRtShift = 5
	sysRegIssRtMask  = 0x1f
	xzr              = 31
)

// ReadAsZero completes a trapped MSR, MRS or SYS (EC 0x18) as
// read-as-zero, write-ignored: a read puts 0 in its target register, a
// write or system operation has no effect. The caller resumes after the
// instruction.
func ReadAsZero(esr uint64, x *[31]uint64) {
	rt := esr >> sysRegIssRtShift & sysRegIssRtMask
	if esr&sysRegIssRead != 0 && rt != xzr {
		x[rt] = 0
	}
}

// FaultIPA returns the faulting IPA of a stage-2 abort: HPFAR_EL2.FIPA holds
// IPA[47:12] in bits [39:4], FAR_EL2 the page offset (D19.2.51).
func FaultIPA(hpfar, far uint64) uint64 {
	return (hpfar>>4&0xf_ffff_ffff)<<12 | far&0xfff
}

// Vector offsets from VBAR_EL1 (D1.10.2, table D1-7).
const (
	vecCurrentSP0 = 0x000
	vecCurrentSPx = 0x200
	vecLower64    = 0x400
	vecLower32    = 0x600
)

// AbortEntry computes what EL1 sees when the engine delivers a synchronous
// external abort for the stage-2 abort esr2, taken from EL1 or EL0 in state
// spsr: the ESR_EL1 syndrome (same kind of abort, from the EL it came from,
// WnR kept), the vector address to resume at, and the PSTATE to resume with
// (EL1h, all of DAIF masked), as the architecture enters an exception
// (D1.10.4, "Exception entry").
func AbortEntry(esr2, spsr, vbar uint64) (esr1, pc, pstate uint64) {
	fromEL0 := spsr&0x1f == ModeEL0t || spsr&0x10 != 0
	ec := uint64(ECDataAbortSame)
	if EC(esr2) == ECInstAbortLow {
		ec = ECInstAbortSame
	}
	if fromEL0 {
		ec-- // the "lower EL" class is one below the "same EL" class
	}
	esr1 = ec<<esrECShift | esrIL | fscSyncExternal
	if ec == ECDataAbortSame || ec == ECDataAbortLow {
		esr1 |= esr2 & esrWnR
	}
	return esr1, vbar + vectorOffset(spsr), PSTATEEntry
}

// UndefEntry computes what EL1 sees when the engine refuses a trapped
// instruction it does not emulate: an Unknown-reason exception (EC 0,
// D17.2.37), which is what the instruction raises where it is UNDEFINED.
func UndefEntry(spsr, vbar uint64) (esr1, pc, pstate uint64) {
	return esrIL, vbar + vectorOffset(spsr), PSTATEEntry
}

func vectorOffset(spsr uint64) uint64 {
	switch {
	case spsr&0x10 != 0:
		return vecLower32
	case spsr&0xf == ModeEL0t:
		return vecLower64
	case spsr&0xf == ModeEL1t:
		return vecCurrentSP0
	}
	return vecCurrentSPx
}
