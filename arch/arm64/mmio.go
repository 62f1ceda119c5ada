//go:build tamago && arm64

package arm64

// Device register accessors. They are written in assembly so that every call
// is exactly one load or store of the stated width, never merged, split or
// elided by the compiler (device memory, Arm ARM B2.7.2).

// defined in mmio_arm64.s
func Read8(addr uint64) uint8
func Read16(addr uint64) uint16
func Read32(addr uint64) uint32
func Read64(addr uint64) uint64
func Write8(addr uint64, val uint8)
func Write16(addr uint64, val uint16)
func Write32(addr uint64, val uint32)
func Write64(addr uint64, val uint64)
