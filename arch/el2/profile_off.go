//go:build !bulkhead_profile

package el2

// profiling, set only in a profiling engine (tag bulkhead_profile),
// counts world switches in Switches; every other engine, the benchmark
// engine whose hot paths bulkhead bench times included, compiles the
// counting out.
const profiling = false
