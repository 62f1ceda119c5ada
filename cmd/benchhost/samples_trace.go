//go:build bulkhead_bench_trace

package main

// The image bulkhead bench -where traces one instruction at a time: few
// samples of each hot path (160 calls each), and nothing after them, so
// that the trace stays small.
const (
	samples      = 10
	hotPathsOnly = true
)
