//go:build tamago && arm64

package el1

import "unsafe"

// PhysBytes returns a slice over [pa, pa+size). An EL1 image's stage-1 is
// an identity map, so the physical (or, in a VM, intermediate physical)
// address is the address the image reaches it at.
//
// Preconditions: the caller may access the range; anything else aborts.
func PhysBytes(pa, size uint64) []byte {
	return unsafe.Slice((*byte)(unsafe.Add(nil, pa)), size)
}
