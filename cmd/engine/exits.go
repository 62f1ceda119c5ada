package main

import (
	"bulkhead/arch/el2"
	"bulkhead/isolation"
	"bulkhead/isolation/abi"
)

// action is what the engine does with an exception the host took to EL2.
type action uint8

const (
	actCall        action = iota // an SMCCC call: dispatch it
	actStage2Fault               // an access stage-2 refused: log, inject an abort
	actSysReg                    // a trapped PMU or debug register: read as zero, write ignored
	actUndefined                 // anything else: inject an Unknown exception
	actIgnore                    // an asynchronous exit with nothing to do
)

// classify decides what a host exit is from its vector and syndrome (Arm
// ARM D17.2.37, ESR_EL2.EC). The engine traps only what isolation needs:
// HVC (the ABI), SMC (HCR_EL2.TSC, so PSCI goes through the engine),
// stage-2 aborts, and the PMU and debug registers (MDCR_EL2), which the
// host reads as zero with writes ignored, as guests do (the inventory's
// Trapped rows, arch/el2/inventory.go).
func classify(vector, esr uint64) action {
	if vector != el2.VectorSync {
		return actIgnore
	}
	switch el2.EC(esr) {
	case el2.ECHVC64, el2.ECSMC64:
		return actCall
	case el2.ECDataAbortLow, el2.ECInstAbortLow:
		return actStage2Fault
	case el2.ECSysReg:
		return actSysReg
	}
	return actUndefined
}

// resumeAfterSMC is how far ELR_EL2 must move after a trapped SMC: the
// exception's preferred return address is the SMC itself (D1.10.4), unlike
// HVC, whose return address already follows it.
func resumeAfter(esr uint64) uint64 {
	if el2.EC(esr) == el2.ECSMC64 {
		return 4
	}
	return 0
}

// faultKind names a stage-2 abort for the log.
func faultKind(esr uint64) string {
	switch {
	case el2.EC(esr) == el2.ECInstAbortLow:
		return "instruction fetch"
	case el2.IsWrite(esr):
		return "write"
	}
	return "read"
}

// hostAccess is the permission the host's access that took the stage-2
// abort esr needed: execute for an instruction fetch, write for a write
// (ISS.WnR), read otherwise, a stage-1 table walk's (ISS.S1PTW) included
// (Arm ARM D17.2.37: the Armv8.0 walk only reads).
func hostAccess(esr uint64) isolation.Perms {
	switch {
	case el2.EC(esr) == el2.ECInstAbortLow:
		return isolation.PermX
	case esr&issS1PTW == 0 && el2.IsWrite(esr):
		return isolation.PermW
	}
	return isolation.PermR
}

// issS1PTW is ISS bit 7 of a data abort: the fault was on the stage-1
// table walk.
const issS1PTW = 1 << 7

// translationFault reports whether the abort esr is a translation, access
// flag or permission fault (fault status 0b0001LL, 0b0010LL or 0b0011LL,
// Arm ARM D17.2.37): the kinds a change of the tables causes, and for
// which HPFAR_EL2 holds the faulting IPA. Any other abort is never
// retried.
func translationFault(esr uint64) bool {
	fsc := esr & 0x3f
	return fsc >= 0x04 && fsc <= 0x0f
}

// machineBlock is the block of function ids that holds the calls the
// machine layer answers itself (the benchmarks, specs/ABI.md's
// extensions), 0xC6000080 to 0xC60000FF; every other host call skips
// their lookup (machineCall). The boot-file calls of the same block go on
// to the core.
const machineBlock = abi.BenchOn &^ 0x7f

// machineCall reports whether id is in machineBlock.
func machineCall(id uint32) bool { return id&^0x7f == machineBlock }

// runAlone turns a VCPU_RUN_ALONE in x into the VCPU_RUN the core carries
// out, and reports whether it was one: the machine layer's part of the
// call is only the trap controls of the vCPU's entries (hart.wfiInGuest),
// so the core, the model and the refinement test see a VCPU_RUN. An
// engine that does not present the timer's interrupt in place (the
// bulkhead_slow_timer test build) leaves the call to the core, which
// answers NOT_SUPPORTED: a guest waiting in the guest would sleep until
// the host's next tick, which VCPU_RUN_ALONE promises it does not.
func runAlone(x *[8]uint64) bool {
	if uint32(x[0]) != abi.VCPURunAlone || !el2.DeliversTimer {
		return false
	}
	x[0] = uint64(abi.VCPURun)
	return true
}
