package el1

// intIDMask selects the INTID of ICC_HPPIR1_EL1 (IHI 0069 12.2.12).
const intIDMask = 0xff_ffff

// KickSGI is the physical SGI one host CPU sends another to bring it back
// (Kick): it ends a guest's run with an IRQ exit, since the engine takes
// physical interrupts while a guest runs (HCR_EL2.IMO), and wakes a
// resting CPU's WFI.
const KickSGI = 1

// sgiTo is the ICC_SGI1R_EL1 value (IHI 0069 12.2.22) that sends KickSGI
// to the CPU whose affinity is mpidr: Aff3, Aff2, Aff1, the range selector
// RS (Aff0 / 16) and one bit of the target list (Aff0 % 16).
func sgiTo(mpidr uint64) uint64 {
	aff0 := mpidr & 0xff
	return (mpidr>>32&0xff)<<48 | (mpidr>>16&0xff)<<32 | (aff0/16)<<44 |
		KickSGI<<24 | (mpidr>>8&0xff)<<16 | 1<<(aff0%16)
}
