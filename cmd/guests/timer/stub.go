//go:build !(tamago && arm64)

// Command timer is a guest image; it runs only when built with the TamaGo
// compiler and the bulkhead_guest tag.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "timer: a guest image; build it with the TamaGo compiler and -tags bulkhead_guest")
	os.Exit(2)
}
