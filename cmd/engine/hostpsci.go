package main

import (
	"bulkhead/boot/virt"
	"bulkhead/isolation/abi"
)

// Host CPU power management (PSCI CPU_ON, CPU_OFF, AFFINITY_INFO from the
// host) on a board with several CPUs. It is the machine layer's, not the
// isolation core's: it starts and stops the host's own CPUs, each under
// the one host stage-2, and moves nothing between principals. On a board
// with one CPU the calls go to the core, which answers NOT_SUPPORTED as
// ABI v1 says.

// psciInvalidAddress is PSCI's INVALID_ADDRESS (DEN0022 5.2.2).
const psciInvalidAddress int64 = -9

// cpuPower is the power state of one CPU as the host sees it.
type cpuPower uint8

const (
	cpuOff cpuPower = iota
	cpuStarting
	cpuOn
)

// boardCPU is one CPU as hostPower decides about it.
type boardCPU struct {
	MPIDR uint64
	Power cpuPower
}

// cpuAction is what the engine must do after answering.
type cpuAction struct {
	Kind  cpuActionKind
	Slot  int    // the CPU to start
	Entry uint64 // its host entry point and x0
	Arg   uint64
}

type cpuActionKind uint8

const (
	actNone  cpuActionKind = iota
	actStart               // start Slot at Entry with x0 = Arg, then answer
	actStop                // turn the calling CPU off; no answer
)

// hostPower answers a host PSCI call about CPUs. handled is false for the
// calls it does not own, and for every call on a one-CPU board, so that
// the isolation core answers them. cpus are the board's CPUs (the caller
// is cpus[caller]); hostOwns reports whether the host owns the RAM page
// at a physical address. The answer goes to x0; on actStart the engine
// must still report a failure to start the CPU in x0.
func hostPower(id uint32, x [8]uint64, cpus []boardCPU, caller int, hostOwns func(pa uint64) bool) (r uint64, act cpuAction, handled bool) {
	if len(cpus) < 2 {
		return 0, act, false
	}
	switch id {
	case abi.PSCIFeatures:
		if !hostPowerCall(uint32(x[1])) {
			return 0, act, false
		}
		return psci(abi.PSCISuccess), act, true
	case abi.PSCICPUOn32, abi.PSCICPUOn64:
		return cpuOnDecision(id, x, cpus, hostOwns)
	case abi.PSCICPUOff:
		for i, c := range cpus {
			if i != caller && c.Power != cpuOff {
				return 0, cpuAction{Kind: actStop}, true
			}
		}
		return psci(abi.PSCIDenied), act, true // the host's last CPU stays on
	case abi.PSCIAffinityInfo32, abi.PSCIAffinityInfo64:
		return affinity(id, x, cpus), act, true
	}
	return 0, act, false
}

// hostPowerCall reports whether fid is one of the calls hostPower owns.
func hostPowerCall(fid uint32) bool {
	switch fid {
	case abi.PSCICPUOn32, abi.PSCICPUOn64, abi.PSCICPUOff, abi.PSCIAffinityInfo32, abi.PSCIAffinityInfo64:
		return true
	}
	return false
}

// cpuOnDecision checks a CPU_ON (DEN0022 5.1.4): a target the board does
// not have is INVALID_PARAMETERS, one that is on ALREADY_ON, one starting
// ON_PENDING, and an entry point outside the host's own RAM (or not
// 4-byte aligned) INVALID_ADDRESS; nothing is started then.
func cpuOnDecision(id uint32, x [8]uint64, cpus []boardCPU, hostOwns func(pa uint64) bool) (uint64, cpuAction, bool) {
	target, entry, arg := width(id, x[1]), width(id, x[2]), width(id, x[3])
	slot := slotOf(cpus, target)
	switch {
	case slot < 0:
		return psci(abi.PSCIInvalidParameters), cpuAction{}, true
	case cpus[slot].Power == cpuOn:
		return psci(abi.PSCIAlreadyOn), cpuAction{}, true
	case cpus[slot].Power == cpuStarting:
		return psci(abi.PSCIOnPending), cpuAction{}, true
	case entry&3 != 0 || !hostOwns(entry):
		return psci(psciInvalidAddress), cpuAction{}, true
	}
	return psci(abi.PSCISuccess), cpuAction{Kind: actStart, Slot: slot, Entry: entry, Arg: arg}, true
}

// affinity answers AFFINITY_INFO (DEN0022 5.1.5) at affinity level 0, the
// only level the engine reports.
func affinity(id uint32, x [8]uint64, cpus []boardCPU) uint64 {
	slot := slotOf(cpus, width(id, x[1]))
	if slot < 0 || width(id, x[2]) != 0 {
		return psci(abi.PSCIInvalidParameters)
	}
	switch cpus[slot].Power {
	case cpuOn:
		return abi.AffinityOn
	case cpuStarting:
		return abi.AffinityOnPending
	}
	return abi.AffinityOff
}

// slotOf returns the index of the CPU whose affinity is mpidr, or -1; a
// value with bits outside the affinity fields names no CPU.
func slotOf(cpus []boardCPU, mpidr uint64) int {
	if mpidr&^virt.MPIDRAffinity != 0 {
		return -1
	}
	for i, c := range cpus {
		if c.MPIDR == mpidr {
			return i
		}
	}
	return -1
}

// width reads an argument as the call's convention gives it: the SMC32
// forms use the low 32 bits (SMCCC 1.2, 2.6).
func width(id uint32, v uint64) uint64 {
	if !abi.Is64(id) {
		return uint64(uint32(v))
	}
	return v
}

// psci is a PSCI return code as a register value.
func psci(code int64) uint64 { return uint64(code) }
