package isolation

import (
	"bulkhead/isolation/abi"
	"bulkhead/isolation/internal/plant"
)

// ESR_EL2 layout (Arm ARM D23.2, ESR_EL2; the ISS encodings are in the
// subsections "ISS encoding for an exception from a Data Abort", "... from an
// Instruction Abort", "... from an HVC or SVC instruction", "... from an SMC
// instruction", "... from a WF* instruction").
const (
	esrECShift = 26
	esrECMask  = 0x3f

	ecWFx     = 0x01 // trapped WFI or WFE
	ecHVC64   = 0x16 // HVC from AArch64
	ecSMC64   = 0x17 // SMC from AArch64, trapped by HCR_EL2.TSC
	ecIABTLow = 0x20 // Instruction Abort from a lower EL
	ecDABTLow = 0x24 // Data Abort from a lower EL
	ecSError  = 0x2f // SError interrupt
	// Traps of features disabled for guests (D17.2.37): MCR/MRC and
	// MCRR/MRRC to CP15, MCR/MRC, LDC/STC and MRRC to CP14 from AArch32
	// EL0, pointer authentication, SVE.
	ecCP15RT  = 0x03
	ecCP15RRT = 0x04
	ecCP14RT  = 0x05
	ecCP14DT  = 0x06
	ecCP14RRT = 0x0c
	ecPAuth   = 0x09
	ecSVE     = 0x19

	issImm16Mask = 0xffff // HVC/SMC: the immediate

	issISV      = 1 << 24 // Data Abort: the fields below are valid
	issSASShift = 22      // access size, log2 bytes
	issSASMask  = 3
	issSSE      = 1 << 21 // sign-extend a read
	issSRTShift = 16      // the transfer register
	issSRTMask  = 0x1f
	issSF       = 1 << 15 // the transfer register is 64 bits
	issCM       = 1 << 8  // cache maintenance or address translation instruction
	issS1PTW    = 1 << 7  // fault on the stage-2 walk of a stage-1 table
	issWnR      = 1 << 6  // write, not read

	fscTypeMask    = 0x3c // DFSC/IFSC[5:2]: fault type, [1:0] the level
	fscTranslation = 0x04
	fscAccessFlag  = 0x08
	fscPermission  = 0x0c

	hpfarFIPAShift = 4 // HPFAR_EL2.FIPA, bits [43:4], holds IPA[51:12]
	hpfarFIPAMask  = 0x0000_0fff_ffff_fff0

	insnBytes = 4 // every AArch64 instruction
	xzr       = 31
)

// Disposition is what the core does with a trap.
type Disposition uint8

// Dispositions.
const (
	// DispExit: VCPU_RUN returns Decision.Exit to the host.
	DispExit Disposition = iota
	// DispCall: the guest made an SMCCC call (function id in its x0); the
	// engine dispatches it and forwards what it does not implement.
	DispCall
	// DispResume: the guest continues without the host hearing of it.
	DispResume
	// DispCallNotSupported: an HVC or SMC with a nonzero immediate is not
	// an SMCCC call (SMCCC 1.2, section 2.5.1): the guest gets
	// NOT_SUPPORTED in x0 and continues, as KVM does.
	DispCallNotSupported
	// DispInjectAbort: the arch code reflects a synchronous external abort
	// into the guest (Decision.Inject at Decision.InjectFAR).
	DispInjectAbort
)

// Decision is the result of filtering one trap.
type Decision struct {
	Disp Disposition
	// Exit is x1..x7 of VCPU_RUN, for DispExit: exactly the ABI v1 exit
	// record, and zero in every register the reason does not define.
	Exit [7]uint64
	// PCAdvance is added to the guest's PC before it next runs: 4 when the
	// trap left ELR_EL2 on the trapping instruction and the instruction is
	// complete (a trapped SMC, WFx, or an emulated data access), else 0.
	PCAdvance uint64
	// Read, when ReadPending, is where the reply to an MMIO read goes.
	Read        MMIORead
	ReadPending bool
	// Inject and InjectFAR, for DispInjectAbort.
	Inject    Injection
	InjectFAR uint64
}

// FilterTrap decides what a trap from a guest becomes, from the syndrome
// registers and the guest's general registers x, which it only reads except
// to complete a trapped MRS (see sysRegAccess). It is
// where secrets are hidden: the host learns exactly the exit record and
// nothing else (not register numbers, not other registers, not memory).
//
//   - IRQ and FIQ: exit IRQ.
//   - SError: exit ABORT with EC 0x2f.
//   - WFI/WFE: exit WFI; ELR points at the instruction, so PC += 4.
//   - HVC #0: an SMCCC call; ELR already points after the HVC (Arm ARM
//     D1.10.4: the preferred return address of an HVC is the next
//     instruction).
//   - SMC #0 trapped by HCR_EL2.TSC: an SMCCC call; ELR points at the SMC
//     itself, so PC += 4 (Arm ARM D1.10.4, HCR_EL2.TSC).
//   - HVC or SMC with another immediate: NOT_SUPPORTED to the guest.
//   - Data abort, stage-2 translation fault inside guestMMIO, ISV set, not
//     on a stage-1 walk: exit MMIO with x2 the IPA (HPFAR_EL2.FIPA and
//     FAR[11:0]), x3 the access (abi.MMIOAccess), x4 for a write the source
//     register masked to the access size (0 for XZR), else 0. ELR points at
//     the access, so PC += 4 once the host has emulated it. For a read,
//     Decision.Read keeps the destination inside the vCPU. The same with
//     CM set (cache maintenance by VA to a device) is resumed past the
//     instruction, as KVM does: there is nothing to maintain.
//   - The same in guestMMIO without ISV (a load pair, a writeback form):
//     nobody can emulate it; exit ABORT with the EC.
//   - Any other stage-2 translation, access flag or permission fault, data
//     or instruction: the guest touched an IPA that is neither its memory
//     nor an emulated device, or broke a permission; the fault is
//     reflected to the guest as a synchronous external abort at FAR.
//   - MSR, MRS or SYS trapped to EL2 (EC 0x18): read-as-zero,
//     write-ignored, PC += 4, the host hears nothing (sysreg.go).
//   - A trap of a feature the engine disables (arch/el2/inventory.go):
//     AArch32 EL0 coprocessor accesses (EC 0x03-0x06, 0x0c: the PMU and
//     debug registers through CP15 and CP14, trapped by MDCR_EL2, and
//     IMPLEMENTATION DEFINED ones by HCR_EL2.TIDCP), pointer
//     authentication (0x09) and SVE (0x19): an UNDEF injected into the
//     guest, as on a CPU without the feature; the host hears nothing.
//   - Anything else (other fault types, other exception classes): exit
//     ABORT with the EC in x2.
func FilterTrap(t Trap, x *[31]uint64, guestMMIO []Range) Decision {
	switch t.Kind {
	case TrapIRQ, TrapFIQ:
		return exitDecision(abi.ExitIRQ, 0, 0, 0)
	case TrapSError:
		return exitDecision(abi.ExitAbort, ecSError, 0, 0)
	}
	ec := t.ESR >> esrECShift & esrECMask
	switch ec {
	case ecWFx:
		// ISS.TI (bit 0) is 1 for WFE (Arm ARM D17.2.37).
		d := exitDecision(abi.ExitWFI, t.ESR&1, 0, 0)
		d.PCAdvance = insnBytes
		return d
	case ecHVC64, ecSMC64:
		return callDecision(t.ESR, ec)
	case ecDABTLow:
		return dataAbort(t, x, guestMMIO)
	case ecIABTLow:
		if stage2Fault(t.ESR) {
			return injectDecision(InjectInstructionAbort, t.FAR)
		}
	case ecSysReg:
		return sysRegAccess(t.ESR, x)
	case ecCP15RT, ecCP15RRT, ecCP14RT, ecCP14DT, ecCP14RRT, ecPAuth, ecSVE:
		return Decision{Disp: DispInjectAbort, Inject: InjectUndef}
	}
	return exitDecision(abi.ExitAbort, ec, 0, 0)
}

// exitDecision is an exit to the host with reason and up to three details.
func exitDecision(reason abi.Exit, x2, x3, x4 uint64) Decision {
	return Decision{Disp: DispExit, Exit: [7]uint64{uint64(reason), x2, x3, x4}}
}

// injectDecision reflects an abort at far into the guest.
func injectDecision(kind Injection, far uint64) Decision {
	return Decision{Disp: DispInjectAbort, Inject: kind, InjectFAR: far}
}

// hvcCall reports whether t is HVC #0 from AArch64, the trap FilterTrap
// turns into DispCall with no PC advance (callDecision).
func hvcCall(t Trap) bool {
	return t.Kind == TrapSync && t.ESR>>esrECShift&esrECMask == ecHVC64 && t.ESR&issImm16Mask == 0
}

// callDecision handles HVC and SMC.
func callDecision(esr, ec uint64) Decision {
	d := Decision{Disp: DispCall}
	if esr&issImm16Mask != 0 {
		d.Disp = DispCallNotSupported
	}
	if ec == ecSMC64 {
		d.PCAdvance = insnBytes
	}
	return d
}

// stage2Fault reports whether a Data or Instruction Abort syndrome is a
// translation, access flag or permission fault: one the stage-2 tables
// caused, as opposed to an external abort or a TLB conflict.
func stage2Fault(esr uint64) bool {
	switch esr & fscTypeMask {
	case fscTranslation, fscAccessFlag, fscPermission:
		return true
	}
	return false
}

// faultIPA is the IPA of a stage-2 fault: the page from HPFAR_EL2.FIPA, the
// offset from FAR_EL2 (Arm ARM D23.2, HPFAR_EL2).
func faultIPA(t Trap) uint64 {
	return (t.HPFAR&hpfarFIPAMask)<<(PageShift-hpfarFIPAShift) | t.FAR&pageMask
}

// dataAbort filters a Data Abort from the guest.
func dataAbort(t Trap, x *[31]uint64, guestMMIO []Range) Decision {
	esr := t.ESR
	ipa := faultIPA(t)
	mmio := esr&fscTypeMask == fscTranslation && esr&issS1PTW == 0 && inRanges(ipa, guestMMIO)
	switch {
	case mmio && esr&issCM != 0:
		return Decision{Disp: DispResume, PCAdvance: insnBytes}
	case mmio && esr&issISV == 0:
		return exitDecision(abi.ExitAbort, ecDABTLow, 0, 0)
	case mmio:
		return mmioDecision(esr, ipa, x)
	case stage2Fault(esr):
		return injectDecision(InjectDataAbort, t.FAR)
	}
	return exitDecision(abi.ExitAbort, ecDABTLow, 0, 0)
}

// mmioDecision is the MMIO exit of an emulatable access.
func mmioDecision(esr, ipa uint64, x *[31]uint64) Decision {
	sas := uint8(esr >> issSASShift & issSASMask)
	reg := uint8(esr >> issSRTShift & issSRTMask)
	write := esr&issWnR != 0
	var value uint64
	if (write || plant.MMIOReadCarriesRegister) && reg != xzr {
		value = x[reg] & sizeMask(sas)
	}
	d := exitDecision(abi.ExitMMIO, ipa, abi.MMIOAccess(write, uint(sas)), value)
	d.PCAdvance = insnBytes
	if !write {
		d.Read = MMIORead{Reg: reg, Log2Size: sas, SignExtend: esr&issSSE != 0, SF: esr&issSF != 0}
		d.ReadPending = true
	}
	return d
}

// sizeMask returns the mask of an access of 1 << log2 bytes.
func sizeMask(log2 uint8) uint64 {
	if log2 >= 3 {
		return ^uint64(0)
	}
	return uint64(1)<<(8<<log2) - 1
}

// MMIORead says where the host's reply to an emulated device read goes. It
// stays inside the vCPU: the host never learns the register.
type MMIORead struct {
	Reg        uint8 // ISS.SRT: the destination register; 31 is XZR, and the value is discarded
	Log2Size   uint8 // ISS.SAS: log2 of the access size in bytes
	SignExtend bool  // ISS.SSE: sign-extend the value to the register width
	SF         bool  // ISS.SF: the register is 64 bits wide (else 32, upper half zero)
}

// value returns what the destination register holds after a read the host
// answered with reply: reply masked to the access size, sign-extended if
// SSE, and limited to 32 bits for a W register (Arm ARM C6.2, LDR and
// LDRS*: a write to Wn zeroes the upper half of Xn).
func (r MMIORead) value(reply uint64) uint64 {
	v := reply & sizeMask(r.Log2Size)
	bits := uint(8) << r.Log2Size
	if r.SignExtend && bits < 64 && v>>(bits-1)&1 != 0 {
		v |= ^uint64(0) << bits
	}
	if !r.SF {
		v &= 0xffff_ffff
	}
	return v
}

// CallExit is the CALL exit record of a guest call the engine forwards:
// x2 the function id (w0: SMCCC passes it in the low 32 bits), x3..x7 the
// guest's x1..x5. SMCCC 1.2 allows arguments up to x17; ABI v1 forwards five,
// and the host's reply becomes the guest's x0 only.
func CallExit(x *[31]uint64) [7]uint64 {
	return [7]uint64{uint64(abi.ExitCall), x[0] & 0xffff_ffff, x[1], x[2], x[3], x[4], x[5]}
}
