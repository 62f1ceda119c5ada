//go:build !(tamago && arm64)

// Command hypervisor is the bulkhead EL1 image; it runs only when built
// with the TamaGo compiler (make hypervisor). This stub lets host tools
// build, vet and test the package.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "hypervisor: this image runs under TamaGo only; build it with 'make hypervisor'")
	os.Exit(2)
}
