// Package loader decides where a guest image goes in guest RAM, without
// touching memory: it parses an image (a static AArch64 ELF, a Linux arm64
// Image, or a flat binary) into a load plan, and places the initramfs and
// the device tree after the kernel. The hypervisor then copies bytes as the
// plan says, donates the pages and enters the guest at Plan.Entry with x0 =
// the device tree's IPA (DESIGN.md section 4).
//
// Every function is pure and total: malformed input yields a descriptive
// error, never a panic, and all address arithmetic is checked for overflow,
// because images come from outside the hypervisor.
package loader

import (
	"bytes"
	"fmt"
)

// Region is the IPA range [Base, Base+Size).
type Region struct {
	Base, Size uint64
}

// End returns the first IPA after r. Callers check r with valid first.
func (r Region) End() uint64 { return r.Base + r.Size }

// Contains reports whether [addr, addr+size) lies inside r, without overflow.
func (r Region) Contains(addr, size uint64) bool {
	if addr < r.Base || size > r.Size {
		return false
	}
	return addr-r.Base <= r.Size-size
}

func (r Region) valid() error {
	if r.Size == 0 || r.Base+r.Size < r.Base {
		return fmt.Errorf("loader: RAM window [%#x, +%#x) is empty or wraps", r.Base, r.Size)
	}
	return nil
}

// Kind is the format of a guest image.
type Kind int

// Image formats.
const (
	KindFlat  Kind = iota // a raw binary, entered at its first byte
	KindELF               // a static AArch64 ELF executable
	KindImage             // a Linux arm64 Image (booting.rst)
)

func (k Kind) String() string {
	switch k {
	case KindFlat:
		return "flat"
	case KindELF:
		return "ELF"
	case KindImage:
		return "Linux Image"
	}
	return "unknown"
}

// Segment is one contiguous piece of the guest's memory image: MemSize bytes
// at IPA, the first FileSize of them copied from the image at FileOffset and
// the rest zero.
type Segment struct {
	IPA        uint64
	FileOffset uint64
	FileSize   uint64
	MemSize    uint64
	Perm       Perm
}

// End returns the first IPA after s.
func (s Segment) End() uint64 { return s.IPA + s.MemSize }

// Perm is the access a segment asks for, with the engine's MEM_DONATE
// permission bits (R=1, W=2, X=4; DESIGN.md section 3).
type Perm uint8

// Permission bits.
const (
	PermR Perm = 1
	PermW Perm = 2
	PermX Perm = 4
)

// Plan says how to load an image: its segments in ascending IPA order, none
// overlapping, all inside the RAM window the plan was made for, and the IPA
// to enter at.
type Plan struct {
	Kind     Kind
	Entry    uint64
	Segments []Segment
	// End is the first IPA after everything the image claims, including
	// memory it uses beyond its segments (a Linux Image's image_size).
	End uint64
}

// Start returns the lowest IPA the plan writes.
func (p Plan) Start() uint64 {
	if len(p.Segments) == 0 {
		return p.End
	}
	return p.Segments[0].IPA
}

// Detect tells an image's format from its magic numbers: the ELF
// identification (ELF gABI, e_ident), the arm64 Image magic "ARM\x64" at
// offset 0x38 (booting.rst), and otherwise a flat binary.
func Detect(img []byte) Kind {
	switch {
	case bytes.HasPrefix(img, []byte(elfMagic)):
		return KindELF
	case len(img) >= imageHeaderSize && bytes.Equal(img[imageMagicOffset:imageMagicOffset+4], []byte(imageMagic)):
		return KindImage
	}
	return KindFlat
}

// Load plans img for guest RAM ram, by its detected format.
func Load(img []byte, ram Region) (Plan, error) {
	switch Detect(img) {
	case KindELF:
		return ParseELF(img, ram)
	case KindImage:
		return ParseImage(img, ram)
	}
	return Flat(uint64(len(img)), ram)
}

// Sizes used in placement (4 KiB translation granule).
const (
	pageSize  = 4 << 10
	blockSize = 2 << 20 // a level-2 block; booting.rst's "2MB aligned"
)

// alignUp rounds x up to a multiple of a (a power of two), reporting false
// on overflow.
func alignUp(x, a uint64) (uint64, bool) {
	y := (x + a - 1) &^ (a - 1)
	return y, y >= x
}

// add returns a+b, reporting false on overflow.
func add(a, b uint64) (uint64, bool) {
	return a + b, a+b >= a
}
