//go:build tamago && arm64

package arm64

// defined in cpu_arm64.s
func Counter() uint64
func CounterFrequency() uint64
func CurrentEL() uint64
func DataSyncBarrier()
func InstructionSyncBarrier()
func CleanInvalidateDataLine(addr uint64)

// cleanInvalidateDataLines cleans and invalidates to the point of coherency
// every line from start (line aligned) below end, step bytes apart, in one
// loop in assembly: a Go loop calling CleanInvalidateDataLine costs a call
// per line, which on a page handed back by a guest is most of the engine's
// work for it.
func cleanInvalidateDataLines(start, end, step uint64)
func InvalidateInstructionCache()
func WaitForInterrupt()
func readCTR() uint64

// SMC issues an SMCCC fast call through the secure monitor conduit and
// returns x0..x3 (SMCCC 1.2, section 2.6).
func SMC(fid, a1, a2, a3 uint64) (r0, r1, r2, r3 uint64)

// HVC issues an SMCCC fast call through the hypervisor conduit, with x0..x7
// in and x0..x7 out.
func HVC(x *[8]uint64)

// DataLine returns the smallest data cache line of any cache the CPU's
// maintenance by VA can reach: 4 << CTR_EL0.DminLine bytes (Arm ARM D19.2.34,
// CTR_EL0). Range maintenance must step by it: a larger step would skip
// lines of a cache with smaller lines and leave them dirty or stale.
func DataLine() uint64 { return DataLineOf(readCTR()) }

// CleanInvalidateDataRange cleans and invalidates [addr, addr+size) to the
// point of coherency (Arm ARM D7.5.9), for memory handed between principals
// or to devices, one CTR_EL0.DminLine line at a time.
func CleanInvalidateDataRange(addr, size uint64) {
	step := DataLine()
	cleanInvalidateDataLines(addr&^(step-1), addr+size, step)
	DataSyncBarrier()
}

// Nanotime converts the generic counter into nanoseconds since reset. It
// keeps no state so that the runtime may call it before any initialisation
// (TamaGo calls Nanotime before Hwinit1).
func Nanotime() int64 {
	c, f := Counter(), CounterFrequency()
	if f == 0 {
		return 0
	}
	return int64(c/f*1e9 + c%f*1e9/f)
}
