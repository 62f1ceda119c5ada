//go:build tamago && arm64

// Command timer is a guest that measures its own timer interrupts' latency:
// it arms its virtual timer 100 µs ahead and waits for the interrupt with
// interrupts masked, wake.Rounds times polling ISR_EL1 and as many times in
// WFI (package wake), and prints for each the number of
// interrupts taken and the wake-up latency in counter ticks. The timer
// QEMU suite reads the polled line; make bench the WFI one.
package main

import (
	"fmt"

	"bulkhead/arch/el1"
	"bulkhead/cmd/guests/timer/wake"
)

func main() {
	for _, wfi := range []bool{false, true} {
		lat, iar := make([]uint64, wake.Rounds), make([]uint64, wake.Rounds)
		wake.Run(wake.Delta, wake.Limit, wfi, lat, iar)
		name := "polled"
		if wfi {
			name = "wfi"
		}
		fmt.Printf("timer: %s: %s\n", name, wake.Summarise(lat, iar))
	}
	el1.PowerOff()
}
