//go:build tamago && arm64

package main

import (
	"fmt"

	"bulkhead/arch/arm64"
	_ "bulkhead/arch/el2"
)

func main() {
	fmt.Printf("bulkhead engine: EL%d\n", arm64.CurrentEL())
}
