package arm64

// DataLineOf returns the data cache line size in bytes that the CTR_EL0
// value ctr gives: DminLine, bits [19:16], is log2 of the line in 4-byte
// words (Arm ARM D19.2.34).
func DataLineOf(ctr uint64) uint64 { return 4 << (ctr >> 16 & 0xf) }
