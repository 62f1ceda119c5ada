//go:build tamago && arm64

package main

import (
	"fmt"

	"bulkhead/arch/el2"
	"bulkhead/boot/virt"
	"bulkhead/isolation"
)

// serveHost runs the host until it powers the machine off, handling each
// exception it takes to EL2. A VCPU_RUN leaves its vCPU's EL1 world
// loaded (machine.EnterGuest); the host's comes back before the host runs.
func serveHost(core *isolation.Engine, files *fileServer, world *el2.World, host *el2.Context) {
	for {
		world.SwitchToHost()
		stay.leave()
		el2.Run(host)
		stay.enterFromHost(host.ESR, host.X[0], host.Vector)
		switch classify(host.Vector, host.ESR) {
		case actCall:
			host.PC += resumeAfter(host.ESR)
			hostCall(core, files, host)
		case actStage2Fault:
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

// hostCall answers an SMCCC call from the host through the isolation core,
// and carries out the machine-wide effects it asks for.
func hostCall(core *isolation.Engine, files *fileServer, host *el2.Context) {
	var x [8]uint64
	copy(x[:], host.X[:8])
	if files.call(&x) || benchCall(core, &x) {
		copy(host.X[:8], x[:])
		return
	}
	out, effect := core.Dispatch(isolation.HostCaller(), x)
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
}

// reportHostFault logs an access the host stage-2 refused. The host learns
// of it only through the abort it receives.
func reportHostFault(host *el2.Context) {
	ipa := el2.FaultIPA(host.HPFAR, host.FAR)
	fmt.Printf("engine: host stage-2 fault: %s of %#x (%s) at pc %#x; external abort injected\n",
		faultKind(host.ESR), ipa, virt.RegionName(ipa), host.PC)
}
