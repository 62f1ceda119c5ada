//go:build bulkhead_bench

package el2

// profiling: a benchmark engine (tag bulkhead_bench) counts its world
// switches (see SwitchCounts).
const profiling = true
