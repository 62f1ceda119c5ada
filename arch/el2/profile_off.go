//go:build !bulkhead_bench

package el2

// profiling, set only in a benchmark engine (tag bulkhead_bench), counts
// world switches in Switches; a real engine compiles the counting out.
const profiling = false
