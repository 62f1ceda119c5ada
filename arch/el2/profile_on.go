//go:build bulkhead_profile

package el2

// profiling: a profiling engine (tag bulkhead_profile, with
// bulkhead_bench) counts its world switches (see SwitchCounts).
const profiling = true
