//go:build !bulkhead_leak_pmu

package el2

// leakPMU, set only by the test build tag bulkhead_leak_pmu, gives the host
// its boot-time MDCR_EL2 (PMU and debug registers its own, counters left
// running), as before ABI v1.1, so that the state suite can show it sees
// the leak.
const leakPMU = false
