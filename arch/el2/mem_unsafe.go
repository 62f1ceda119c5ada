//go:build tamago && arm64

package el2

import "unsafe"

// The engine's stage-1 is an identity map, so a physical address is also
// the virtual address the engine reaches it at. These two functions are the
// only places where the engine turns one into the other.

// PhysBytes returns a slice over physical memory [pa, pa+size).
//
// Preconditions: the range is RAM inside the engine's identity map, and the
// ledger says the engine may touch it.
func PhysBytes(pa, size uint64) []byte {
	return unsafe.Slice((*byte)(unsafe.Add(nil, pa)), size)
}

// AddressOf returns the physical address of the first byte of p.
func AddressOf[T any](p *T) uint64 {
	return uint64(uintptr(unsafe.Pointer(p)))
}
