//go:build tamago && arm64 && bulkhead_bench

package el2

// Benchmark baselines (tag bulkhead_bench): a second vector table whose
// lower-EL synchronous entry is the least an HVC can cost, so that the
// engine's real paths can be reported as ratios against it, measured in the
// same run on the same machine.

// benchState is what BENCH_SWITCH saves and restores: the host's and a
// guest's general registers and EL1 files, the host's and a guest's FP files, and the
// controls a switch writes, as a guest round trip does. The assembly reads
// it through go_asm.h (benchState_host, ...).
type benchState struct {
	host, guest         ELFile
	fp, hostfp          FPFile
	hostRegs, guestRegs [32]uint64
	hcr, vttbr          uint64
}

var benchWorld benchState

// defined in bench_arm64.s
func benchVectors()
func installVectors(table uint64)
func benchVectorsAddr() uint64
func engineVectorsAddr() uint64

// InstallBaseline switches EL2 to the baseline vector table.
func InstallBaseline(hostHCR, hostVTTBR uint64) {
	benchWorld.host = ResetEL1()
	benchWorld.guest = ResetEL1()
	benchWorld.hcr, benchWorld.vttbr = hostHCR, hostVTTBR
	installVectors(benchVectorsAddr())
}

// RemoveBaseline reinstalls the engine's own vector table.
func RemoveBaseline() {
	installVectors(engineVectorsAddr())
}
