//go:build bulkhead_leak_fp

package el2

// leakFP: a test build whose host keeps whatever the engine and the last
// guest left in V0-V31, FPCR and FPSR (see leak_fp_off.go).
const leakFP = true
