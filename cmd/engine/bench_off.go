//go:build tamago && arm64 && !bulkhead_bench

package main

import "bulkhead/isolation"

// benchCall answers nothing in a real engine: the benchmark ids are
// NOT_SUPPORTED like any other unknown id.
func benchCall(*isolation.Serial, *[8]uint64) bool { return false }
