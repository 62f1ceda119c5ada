package guest

import "bulkhead/isolation/abi"

// PSCI 1.1 (DEN0022) over the same conduit. Return codes are PSCI's
// (abi.PSCISuccess, abi.PSCIInvalidParameters, ...), signed.

func psci(id uint32, args ...uint64) int64 { return int64(call(id, args...)[0]) }

// PSCIVersion returns PSCI_VERSION: major in bits 31:16, minor in 15:0
// (DEN0022 5.1.1).
func PSCIVersion() uint64 { return call(abi.PSCIVersion)[0] }

// PSCIFeatures asks whether PSCI function fid is implemented: 0 (no feature
// flags) or PSCINotSupported (DEN0022 5.1.14).
func PSCIFeatures(fid uint32) int64 { return psci(abi.PSCIFeatures, uint64(fid)) }

// CPUOn starts the vCPU whose MPIDR is mpidr at entry, with x0 = context,
// MMU off (CPU_ON, SMC64; DEN0022 5.1.4 and 6.4).
func CPUOn(mpidr, entry, context uint64) int64 {
	return psci(abi.PSCICPUOn64, mpidr, entry, context)
}

// CPUOn32 is CPU_ON in its SMC32 form; the upper halves of the arguments
// are ignored (SMCCC 1.2, section 2.6).
func CPUOn32(mpidr, entry, context uint64) int64 {
	return psci(abi.PSCICPUOn32, mpidr, entry, context)
}

// CPUOff stops the calling vCPU; it returns only on failure (CPU_OFF,
// DEN0022 5.1.3).
func CPUOff() int64 { return psci(abi.PSCICPUOff) }

// AffinityInfo reports whether the vCPU mpidr is on (abi.AffinityOn) or off
// (abi.AffinityOff); level is the lowest affinity level, 0 (AFFINITY_INFO,
// SMC64; DEN0022 5.1.5).
func AffinityInfo(mpidr, level uint64) int64 {
	return psci(abi.PSCIAffinityInfo64, mpidr, level)
}

// SystemOff asks PSCI SYSTEM_OFF: a guest's VM ends, the host's machine
// powers off. It returns only if the call failed.
func SystemOff() int64 { return psci(abi.PSCISystemOff) }

// SystemReset asks PSCI SYSTEM_RESET. It returns only if the call failed.
func SystemReset() int64 { return psci(abi.PSCISystemReset) }
