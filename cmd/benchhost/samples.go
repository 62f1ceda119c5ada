//go:build !bulkhead_bench_trace

package main

// samples per measured path: the medians are over 10,000 samples.
const samples = 10000

// hotPathsOnly stops after the hot paths.
const hotPathsOnly = false
