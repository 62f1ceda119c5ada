//go:build tamago && arm64 && !bulkhead_ghost

package main

import "bulkhead/isolation"

// ghostCheck does nothing in a normal build; see ghost_on.go.
func ghostCheck(*isolation.Serial, uint32) {}

func ghostReport() {}
