//go:build tamago && arm64

// Command timer is a guest that measures its own timer interrupts' latency:
// it arms its virtual timer Delta counter ticks ahead and waits for the
// interrupt with interrupts masked, Rounds times polling ISR_EL1 and Rounds
// times in WFI (package wake), and prints for each the number of
// interrupts taken and the wake-up latency in counter ticks. The timer
// QEMU suite reads the polled line; make bench the WFI one.
package main

import (
	"fmt"

	"bulkhead/arch/el1"
	"bulkhead/cmd/guests/timer/wake"
)

// Rounds is how many interrupts each way of waiting takes.
const Rounds = 200

// Delta is how far ahead the timer is armed: 100 µs of the 62.5 MHz
// counter QEMU's virt machine has.
const Delta = 6250

// limit abandons a wait one second (of the counter) past its deadline.
const limit = 62_500_000

func main() {
	for _, wfi := range []bool{false, true} {
		lat, iar := make([]uint64, Rounds), make([]uint64, Rounds)
		wake.Run(Delta, limit, wfi, lat, iar)
		name := "polled"
		if wfi {
			name = "wfi"
		}
		fmt.Printf("timer: %s: %s\n", name, wake.Summarise(lat, iar))
	}
	el1.PowerOff()
}
