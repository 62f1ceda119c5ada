//go:build tamago && arm64 && bulkhead_ghost

package main

import (
	"fmt"

	"bulkhead/isolation"
	"bulkhead/isolation/abi"
)

// ghostChecks counts the ghost checks passed (debug build, tag
// bulkhead_ghost).
var ghostChecks int

// ghostCheck derives the abstract state from the real stage-2 tables after
// a host call that can change them or the ledger, and compares the two
// (isolation.Engine.Check); a disagreement stops the machine with the first
// difference. Queries change neither, so they are not followed by a check.
func ghostCheck(core *isolation.Serial, id uint32) {
	switch id {
	case abi.VMCreate, abi.VMDestroy, abi.VCPURun, abi.MemDonate, abi.MemShare, abi.MemUnshare, abi.MemReclaim:
	default:
		return
	}
	if err := core.Check(); err != nil {
		halt("ghost check failed after %d calls: %v", ghostChecks, err)
	}
	ghostChecks++
}

// ghostReport says how many checks passed, at power-off.
func ghostReport() {
	fmt.Printf("engine: ghost check passed after each of %d calls that change state\n", ghostChecks)
}
