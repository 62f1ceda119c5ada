//go:build tamago && arm64

package main

import (
	"fmt"

	"bulkhead/arch/el2"
	"bulkhead/boot/virt"
	"bulkhead/isolation"
	"bulkhead/isolation/abi"
)

// serveHost runs the host on h's CPU, the caller's, handling each
// exception it takes to EL2, until the host turns the CPU off. A VCPU_RUN
// leaves its vCPU's EL1 world loaded (machine.EnterGuest); the host's
// comes back before the host runs.
func serveHost(m *machine, h *hart) {
	host := h.host
	for {
		h.world.SwitchToHost()
		stay.leave()
		h.cpu.Enter(host)
		stay.enterFromHost(host.ESR, host.X[0], host.Vector)
		switch classify(host.Vector, host.ESR) {
		case actCall:
			host.PC += resumeAfter(host.ESR)
			if !m.hostCall(h) {
				return
			}
		case actStage2Fault:
			if translationFault(host.ESR) && m.core.HostAllows(isolation.IPA(el2.FaultIPA(host.HPFAR, host.FAR)), hostAccess(host.ESR)) {
				// A call on another CPU changed the tables under this
				// access (break-before-make); it is allowed now, and the
				// host retries it.
				break
			}
			reportHostFault(host)
			el2.InjectAbort(host)
		case actSysReg:
			el2.ReadAsZero(host.ESR, &host.X)
			host.PC += 4 // ELR_EL2 is the trapped instruction (D1.10.4)
		case actUndefined:
			fmt.Printf("engine: host trapped with EC %#x at pc %#x; injecting an undefined-instruction exception\n",
				el2.EC(host.ESR), host.PC)
			el2.InjectUndef(host)
		}
	}
}

// hostCall answers an SMCCC call from the host on h's CPU through the
// isolation core, or the machine layer for the calls it owns (benchmarks,
// the host's CPUs), and carries out the machine-wide effects
// it asks for. It returns false when the host turned the CPU off.
func (m *machine) hostCall(h *hart) bool {
	core, host := m.core, h.host
	var x [8]uint64
	copy(x[:], host.X[:8])
	if machineCall(uint32(x[0])) && benchCall(core, &x) {
		copy(host.X[:8], x[:])
		return true
	}
	// Only the PSCI calls about CPUs, and on a board with several: the
	// view of the CPUs is built for them alone.
	if id := uint32(x[0]); (id == abi.PSCIFeatures || hostPowerCall(id)) && len(m.cpus) > 1 {
		r, act, ok := hostPower(id, x, m.boardCPUs(), m.indexOf(h.cpu), m.hostOwns)
		if ok {
			host.X[0] = m.carryOut(r, act)
			return act.Kind != actStop
		}
	}
	// VCPU_RUN_ALONE: a VCPU_RUN whose entries leave WFI in the guest.
	h.wfiInGuest = runAlone(&x)
	out, effect := core.Dispatch(isolation.HostCaller(), x)
	h.wfiInGuest = false
	copy(host.X[:8], out[:])
	profileExit(x, out)
	ghostCheck(core, uint32(x[0]))
	switch effect.Kind {
	case isolation.EffectPowerOff:
		ghostReport()
		residencyReport()
		profileReport()
		fmt.Println("engine: host requested power off")
		el2.PowerOff()
	case isolation.EffectReset:
		fmt.Println("engine: host requested reset")
		el2.Reset()
	}
	return true
}

// maxHostFaultReports bounds the faults reportHostFault logs: a host
// whose abort handler faults again (one with no vector table, say) would
// otherwise fill the console for as long as it runs.
const maxHostFaultReports = 256

// hostFaultReports counts the faults logged, on every CPU (the count is
// only a bound on logging: a lost update logs one line more or less).
var hostFaultReports int

// reportHostFault logs an access the host stage-2 refused. The host learns
// of it only through the abort it receives.
func reportHostFault(host *el2.Context) {
	if hostFaultReports++; hostFaultReports > maxHostFaultReports {
		if hostFaultReports == maxHostFaultReports+1 {
			fmt.Printf("engine: more than %d host stage-2 faults; no more are logged\n", maxHostFaultReports)
		}
		return
	}
	ipa := el2.FaultIPA(host.HPFAR, host.FAR)
	fmt.Printf("engine: host stage-2 fault: %s of %#x (%s) at pc %#x; external abort injected\n",
		faultKind(host.ESR), ipa, virt.RegionName(ipa), host.PC)
}
