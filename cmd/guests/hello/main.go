//go:build tamago && arm64

// Command hello is the smallest guest: it prints a line on its console and
// powers its VM off.
package main

import (
	"fmt"

	"bulkhead/arch/el1"
	"bulkhead/isolation/abi"
)

func main() {
	x := [8]uint64{uint64(abi.GuestMemInfo)}
	el1.Call(&x)
	fmt.Printf("hello from a guest: granule %d bytes (status %s)\n", x[1], abi.StatusOf(x[0]))
	el1.PowerOff()
}
