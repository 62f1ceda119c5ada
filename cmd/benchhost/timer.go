//go:build tamago && arm64

package main

import (
	"fmt"

	"bulkhead/arch/el1"
	"bulkhead/cmd/guests/timer/wake"
)

// timerDirect runs the timer guest's wake-up loop (cmd/guests/timer/wake,
// the same machine code) here, in the benchmark host at EL1: its virtual
// timer's PPI 27 reaches the host's physical GIC CPU interface directly
// (HCR_EL2.IMO is clear for the host) and its WFI does not trap (the host
// HCR_EL2 has no TWI), so neither the wait nor the wake-up involves EL2.
// make bench sets these figures beside the same loop in a VM under the
// hypervisor. The distributor, the redistributor and the CPU interface
// are set up as the hypervisor's tick does (el1.InitTicker, which arms
// nothing); the engine enabled PPI 27 at boot.
func timerDirect() {
	el1.InitTicker()
	for _, wfi := range []bool{false, true} {
		lat, iar := make([]uint64, wake.Rounds), make([]uint64, wake.Rounds)
		wake.Run(wake.Delta, wake.Limit, wfi, lat, iar)
		fmt.Printf("BENCH timer-wakeup-direct-%s: %s\n", waitName(wfi), wake.Summarise(lat, iar))
	}
}

func waitName(wfi bool) string {
	if wfi {
		return "wfi"
	}
	return "polled"
}
