//go:build !bulkhead_leak_fp

package el2

// leakFP, set only by the test build tag bulkhead_leak_fp, leaves the
// host's FP/SIMD registers out of the switch (the host Context has no
// FP file), so that the state suite can show it sees the leak.
const leakFP = false
