//go:build !(tamago && arm64)

// Command engine is the bulkhead isolation engine, the EL2 image QEMU boots;
// it runs only when built with the TamaGo compiler (make engine). This stub
// lets host tools build, vet and test the package.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "engine: this image runs under TamaGo only; build it with 'make engine'")
	os.Exit(2)
}
