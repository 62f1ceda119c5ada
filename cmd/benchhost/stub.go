//go:build !(tamago && arm64)

package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "benchhost: an EL1 image; run it with 'make bench'")
	os.Exit(2)
}
