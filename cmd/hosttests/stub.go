//go:build !(tamago && arm64)

// Command hosttests is an EL1 image for the engine to boot in place of the
// hypervisor; it runs only when built with the TamaGo compiler.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "hosttests: an EL1 image; build it with the TamaGo compiler, linked at the host text address")
	os.Exit(2)
}
