//go:build tamago && arm64 && bulkhead_expose_engine

package main

// exposeEngine leaves the engine's memory in the host stage-2. Only the test
// that shows the hypervisor's engine-memory probe detects a leaky stage-2
// builds it (tag bulkhead_expose_engine); it is never a usable engine.
const exposeEngine = true
