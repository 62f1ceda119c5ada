//go:build tamago && arm64 && bulkhead_bench

package main

import (
	"bulkhead/arch/el2"
	"bulkhead/isolation"
	"bulkhead/isolation/abi"
)

// benchCall answers BENCH_ON, BENCH_OFF, BENCH_RESIDENCY and BENCH_PROBE in an engine
// built for benchmarks (tag bulkhead_bench); see abi.BenchOn.
func benchCall(core *isolation.Serial, x *[8]uint64) bool {
	switch uint32(x[0]) {
	case abi.BenchOn:
		el2.InstallBaseline(hostHCR, core.HostVTTBR())
	case abi.BenchOff:
		el2.RemoveBaseline()
	case abi.BenchResidency:
		residencyCall(x)
	case abi.BenchProbe:
		if x[1] > 1 {
			x[0] = abi.InvalidParameters.Reg()
			return true
		}
		stay.off = x[1] == 0
	default:
		return false
	}
	x[0] = abi.Success.Reg()
	return true
}
