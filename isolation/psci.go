package isolation

import (
	"bulkhead/isolation/abi"
	"bulkhead/isolation/internal/plant"
)

// hostPSCI answers the PSCI calls the host may make: VERSION, FEATURES,
// SYSTEM_OFF and SYSTEM_RESET. The last two are reported as an Effect for the
// engine's main loop; the core does no hardware.
func hostPSCI(id uint32, x [8]uint64) ([8]uint64, Effect) {
	r := x
	r[0] = psciReg(abi.PSCISuccess)
	switch id {
	case abi.PSCIVersion:
		r[0] = abi.PSCIVersion11
	case abi.PSCIFeatures:
		r[0] = psciFeature(hostPSCIImplemented(uint32(x[1])))
	case abi.PSCISystemOff:
		return r, Effect{Kind: EffectPowerOff}
	default: // abi.PSCISystemReset
		return r, Effect{Kind: EffectReset}
	}
	return r, Effect{}
}

// hostPSCIImplemented reports whether the host may call PSCI function fid.
// PSCI_FEATURES answers for its caller (PSCI 1.1, section 5.1.14): the host
// has one CPU and cannot start or stop others, so CPU_ON, CPU_OFF and
// AFFINITY_INFO are not implemented for it.
func hostPSCIImplemented(fid uint32) bool {
	switch fid {
	case abi.PSCIVersion, abi.PSCIFeatures, abi.PSCISystemOff, abi.PSCISystemReset:
		return true
	}
	return false
}

// guestPSCIImplemented reports whether a guest may call PSCI function fid.
func guestPSCIImplemented(fid uint32) bool {
	switch fid {
	case abi.PSCIVersion, abi.PSCIFeatures, abi.PSCICPUOn32, abi.PSCICPUOn64, abi.PSCICPUOff,
		abi.PSCIAffinityInfo32, abi.PSCIAffinityInfo64, abi.PSCISystemOff, abi.PSCISystemReset:
		return true
	}
	return false
}

// psciFeature is PSCI_FEATURES' answer: 0 (no feature flags) or NOT_SUPPORTED.
func psciFeature(ok bool) uint64 {
	if ok {
		return psciReg(abi.PSCISuccess)
	}
	return psciReg(abi.PSCINotSupported)
}

// psci32 truncates an argument of an SMC32 PSCI call to its 32 bits (SMCCC
// 1.2, section 2.6: the upper halves of x1..x7 are ignored in SMC32 calls).
func psci32(id uint32, a uint64) uint64 {
	if abi.Is64(id) {
		return a
	}
	return a & 0xffff_ffff
}

// mpidrAff0 is the only affinity field a guest's vCPU ids use: vCPU i has
// MPIDR Aff0 == i and every other affinity level 0.
const mpidrAff0 = 0xff

// psciTarget returns the vCPU a PSCI target_cpu names, or false if it names
// none: any bit outside Aff0 (the other affinity levels, which are all 0 in
// the VM's topology, and the bits PSCI requires to be 0) set, or Aff0 not
// below the VM's vCPU count.
func psciTarget(v *vm, mpidr uint64) (int, bool) {
	if mpidr&^mpidrAff0 != 0 || int(mpidr) >= v.nvcpu {
		return 0, false
	}
	return int(mpidr), true
}

// guestPSCI is the PSCI 1.1 implementation for guests (DEN0022): the engine,
// not the host, starts and stops a running VM's vCPUs, so the host never
// chooses where a running guest executes. x1..x3 are the call's arguments;
// it returns x0, the only register a PSCI function writes.
func (e *Engine) guestPSCI(c Caller, v *vm, id uint32, x1, x2, x3 uint64) (uint64, Effect) {
	switch id {
	case abi.PSCIVersion:
		return abi.PSCIVersion11, Effect{}
	case abi.PSCIFeatures:
		return psciFeature(guestPSCIImplemented(uint32(x1))), Effect{}
	case abi.PSCICPUOn32, abi.PSCICPUOn64:
		return e.cpuOn(c, v, psci32(id, x1), psci32(id, x2), psci32(id, x3))
	case abi.PSCICPUOff:
		vc := &v.vcpus[c.VCPU]
		vc.state, vc.pend = VCPUOff, pendNone
		return psciReg(abi.PSCISuccess), Effect{Kind: EffectVCPUState, VCPU: c.VCPU}
	case abi.PSCIAffinityInfo32, abi.PSCIAffinityInfo64:
		return affinityInfo(v, psci32(id, x1), psci32(id, x2)), Effect{}
	default: // abi.PSCISystemOff, abi.PSCISystemReset
		for i := range v.vcpus[:v.nvcpu] {
			v.vcpus[i].state, v.vcpus[i].pend = VCPUOff, pendNone
		}
		return psciReg(abi.PSCISuccess), Effect{Kind: EffectShutdown, Reset: id == abi.PSCISystemReset}
	}
}

// cpuOn is PSCI CPU_ON(target, entry, context): the target vCPU, which must
// be Off, starts at entry with x0 = context. It returns the caller's x0.
func (e *Engine) cpuOn(c Caller, v *vm, mpidr, entry, arg uint64) (uint64, Effect) {
	t, ok := psciTarget(v, mpidr)
	switch {
	case !ok:
		return psciReg(abi.PSCIInvalidParameters), Effect{}
	case v.vcpus[t].state != VCPUOff:
		return psciReg(abi.PSCIAlreadyOn), Effect{}
	}
	vc := &v.vcpus[t]
	name := uint16(t)
	if plant.CPUOnNamesCaller {
		name = c.VCPU
	}
	vc.ctx.reset(c.VM, name, entry, arg)
	vc.state, vc.pend = VCPUOn, pendNone
	return psciReg(abi.PSCISuccess), Effect{Kind: EffectVCPUState, VCPU: uint16(t), On: true}
}

// affinityInfo is PSCI AFFINITY_INFO(target, lowest level): 0 on, 1 off.
// Only level 0 is supported (PSCI 1.1 deprecates the others).
func affinityInfo(v *vm, mpidr, level uint64) uint64 {
	t, ok := psciTarget(v, mpidr)
	if level != 0 || !ok {
		return psciReg(abi.PSCIInvalidParameters)
	}
	if v.vcpus[t].state == VCPUOff {
		return abi.AffinityOff
	}
	return abi.AffinityOn
}

// psciReg is the register encoding of a PSCI return code.
func psciReg(code int64) uint64 { return uint64(code) }
