//go:build tamago && arm64

// Command spin is a guest that never ends: it prints one line and then
// computes forever without calling anyone, as a runaway guest would. Only
// preemption takes the CPU back from it, so it shows that other VMs make
// progress beside it.
package main

import (
	"fmt"

	_ "bulkhead/arch/el1" // the runtime hooks of an EL1 image
)

// Line is what spin prints before it spins.
const Line = "spin: spinning forever"

// counter is global so the loop is not optimised away.
var counter uint64

func main() {
	fmt.Println(Line)
	for {
		counter++
	}
}
