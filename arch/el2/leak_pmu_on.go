//go:build bulkhead_leak_pmu

package el2

// leakPMU: a test build whose host keeps the PMU (see leak_pmu_off.go).
const leakPMU = true
