package virt

// Redistributor frames (IHI 0069 9.1 and 12.10): two 64 KiB frames per CPU
// (GICRStridePerPE), one after the other from GICR.Base; GICR_TYPER gives
// each one's affinity (bits 63:32, Aff3.Aff2.Aff1.Aff0) and marks the last
// frame (bit 4).
const (
	gicrTYPER    = 0x0008
	gicrTYPELast = 1 << 4
)

// Redistributor returns the base of the redistributor frame of the CPU
// whose MPIDR is mpidr, reading each frame's GICR_TYPER with read64; false
// when no frame before the last, or inside GICR, has that affinity.
func Redistributor(mpidr uint64, read64 func(addr uint64) uint64) (uint64, bool) {
	want := (mpidr>>32&0xff)<<24 | mpidr&0xff_ffff
	for rd := GICR.Base; GICR.Contains(rd, GICRStridePerPE); rd += GICRStridePerPE {
		typer := read64(rd + gicrTYPER)
		if typer>>32 == want {
			return rd, true
		}
		if typer&gicrTYPELast != 0 {
			break
		}
	}
	return 0, false
}
