package isolation

import (
	"bulkhead/isolation/abi"
	"bulkhead/isolation/internal/plant"
)

// Trapped system register accesses (Arm ARM D17.2.37, EC 0x18: MSR, MRS or
// SYS from AArch64). A guest traps to EL2 only on the registers the engine
// keeps from it: debug and OS lock registers (MDCR_EL2.TDA, TDOSA, TDRA),
// the PMU (TPM, TPMCR), the host's physical timer (CNTHCTL_EL2.EL1PCEN),
// IMPLEMENTATION DEFINED and auxiliary control registers (HCR_EL2.TIDCP,
// TACR), data cache set/way operations (TSW) and SGI generation (IMO). The
// engine switches none of that state, so it presents all of it as
// read-as-zero, write-ignored: nothing a guest writes there reaches another
// principal, and nothing it reads comes from one. Set/way maintenance is
// meaningless to a guest whose memory the engine keeps coherent. The one
// exception is a write of ICC_SGI1R_EL1: the guest asks for an
// inter-processor interrupt, which the host must deliver, so it becomes an
// SGI exit carrying the fields of the value written (sgi1rFields): the
// register's RES0 bits are whatever the guest's register held and are not
// part of the request, so they stay in the guest.

// ecSysReg is the exception class of a trapped MSR, MRS or SYS.
const ecSysReg = 0x18

// ISS fields of EC 0x18 (D17.2.37, "ISS encoding for an exception from
// MSR, MRS, or System instruction execution in AArch64 state").
const (
	sysRegIssRead    = 1 << 0 // Direction: 1 for MRS (a read)
	sysRegIssRtShift = 5
	sysRegIssRtMask  = 0x1f
)

// sgi1rWrite is the ISS of a write of ICC_SGI1R_EL1 (op0 3, op1 0, CRn 12,
// CRm 11, op2 5), without Rt.
const (
	sysRegIssRegMask = 0x3f_fc1f // Op0, Op2, Op1, CRn, CRm and Direction
	sgi1rWrite       = 3<<20 | 5<<17 | 0<<14 | 12<<10 | 11<<1
)

// sgi1rFields are the fields of ICC_SGI1R_EL1 (GIC IHI 0069, 12.11.27):
// TargetList [15:0], Aff1 [23:16], INTID [27:24], Aff2 [39:32], IRM [40],
// RS [47:44], Aff3 [55:48]. The other bits are RES0. The specification's
// sgi_fields lists the same fields.
const sgi1rFields = 0x00ff_f1ff_0fff_ffff

// sysRegAccess emulates a trapped access as read-as-zero, write-ignored and
// resumes the guest after the instruction; an SGI request exits instead.
func sysRegAccess(esr uint64, x *[31]uint64) Decision {
	rt := esr >> sysRegIssRtShift & sysRegIssRtMask
	if esr&sysRegIssRegMask == sgi1rWrite {
		var value uint64
		if rt != xzr {
			value = x[rt] & sgi1rFields
			if plant.SGIExitWholeRegister {
				value = x[rt]
			}
		}
		d := exitDecision(abi.ExitSGI, value, 0, 0)
		d.PCAdvance = insnBytes
		return d
	}
	if esr&sysRegIssRead != 0 {
		if rt != xzr {
			x[rt] = 0
		}
	}
	return Decision{Disp: DispResume, PCAdvance: insnBytes}
}
