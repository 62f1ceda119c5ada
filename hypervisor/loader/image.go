package loader

import (
	"encoding/binary"
	"fmt"
)

// The arm64 Image header (Linux Documentation/arch/arm64/booting.rst,
// "Call the kernel image"): 64 bytes, little-endian.
//
//	0x00 u32 code0, 0x04 u32 code1, 0x08 u64 text_offset,
//	0x10 u64 image_size, 0x18 u64 flags, 0x20-0x37 reserved,
//	0x38 u32 magic "ARM\x64", 0x3c u32 reserved (PE header offset)
const (
	imageHeaderSize  = 64
	imageMagicOffset = 0x38
	imageMagic       = "ARM\x64"

	imageFlagBigEndian    = 1 << 0
	imageFlagPageSizeMask = 3 << 1
	imageFlagPageShift    = 1
	imageFlagAnywhere     = 1 << 3

	// maxTextOffset bounds text_offset: the kernel is placed text_offset
	// bytes past a 2 MiB aligned base, and every kernel that ever set it
	// used a value below 2 MiB (0x80000, or a random page multiple with
	// CONFIG_ARM64_RANDOMIZE_TEXT_OFFSET; 0 since v5.8).
	maxTextOffset = blockSize
)

// ImageHeader is the decoded header of a Linux arm64 Image.
type ImageHeader struct {
	TextOffset uint64
	ImageSize  uint64
	// PageSize is the kernel's translation granule in bytes from flags
	// bits 1-2, or 0 when the header leaves it unspecified.
	PageSize uint64
	// Anywhere is flags bit 3: the kernel can use memory below its 2 MiB
	// aligned base, so the base need not be the start of RAM.
	Anywhere bool
}

// ParseImageHeader decodes and checks the header of an arm64 Image.
func ParseImageHeader(img []byte) (ImageHeader, error) {
	if len(img) < imageHeaderSize {
		return ImageHeader{}, fmt.Errorf("loader: Image of %d bytes is shorter than its %d-byte header", len(img), imageHeaderSize)
	}
	if string(img[imageMagicOffset:imageMagicOffset+4]) != imageMagic {
		return ImageHeader{}, fmt.Errorf("loader: no arm64 Image magic at %#x (found % x)", imageMagicOffset, img[imageMagicOffset:imageMagicOffset+4])
	}
	le := binary.LittleEndian
	h := ImageHeader{TextOffset: le.Uint64(img[8:]), ImageSize: le.Uint64(img[16:])}
	flags := le.Uint64(img[24:])
	switch {
	case h.ImageSize == 0:
		// booting.rst: before v3.17 image_size is 0 and the kernel's
		// memory footprint (BSS, initial page tables) is not stated.
		return h, fmt.Errorf("loader: Image has image_size 0 (a kernel older than v3.17): its memory footprint is unknown")
	case flags&imageFlagBigEndian != 0:
		return h, fmt.Errorf("loader: Image is a big-endian kernel; guests run little-endian")
	case h.TextOffset >= maxTextOffset:
		return h, fmt.Errorf("loader: Image text_offset %#x is not below 2 MiB", h.TextOffset)
	case h.TextOffset%pageSize != 0:
		return h, fmt.Errorf("loader: Image text_offset %#x is not 4 KiB aligned", h.TextOffset)
	case uint64(len(img)) > h.ImageSize:
		return h, fmt.Errorf("loader: Image file of %d bytes is larger than its image_size %#x", len(img), h.ImageSize)
	}
	// Bits 4-63 are reserved: they are ignored, as the protocol has grown
	// by defining them, and a kernel that sets one still boots this way.
	if ps := (flags & imageFlagPageSizeMask) >> imageFlagPageShift; ps != 0 {
		h.PageSize = [4]uint64{0, 4 << 10, 16 << 10, 64 << 10}[ps]
	}
	h.Anywhere = flags&imageFlagAnywhere != 0
	return h, nil
}

// ParseImage plans a Linux arm64 Image: text_offset bytes past the first
// 2 MiB aligned IPA of ram, with image_size bytes from there reserved for
// the kernel (booting.rst: "The Image must be placed text_offset bytes from
// a 2MB aligned base address anywhere in usable system memory"; "At least
// image_size bytes from the start of the image must be free"). The lowest
// aligned base also satisfies flags bit 3 = 0, which asks for a base as
// close as possible to the start of RAM.
func ParseImage(img []byte, ram Region) (Plan, error) {
	if err := ram.valid(); err != nil {
		return Plan{}, err
	}
	h, err := ParseImageHeader(img)
	if err != nil {
		return Plan{}, err
	}
	base, ok := alignUp(ram.Base, blockSize)
	load := base + h.TextOffset
	if !ok || load < base || !ram.Contains(load, h.ImageSize) {
		return Plan{}, fmt.Errorf("loader: Image needs %#x bytes at %#x, beyond guest RAM [%#x, %#x)",
			h.ImageSize, load, ram.Base, ram.End())
	}
	seg := Segment{IPA: load, FileSize: uint64(len(img)), MemSize: h.ImageSize, Perm: PermR | PermW | PermX}
	return Plan{Kind: KindImage, Entry: load, Segments: []Segment{seg}, End: seg.End()}, nil
}

// Flat plans a raw binary of size bytes: loaded at the first 2 MiB aligned
// IPA of ram and entered at its first byte (DESIGN.md section 4).
func Flat(size uint64, ram Region) (Plan, error) {
	if err := ram.valid(); err != nil {
		return Plan{}, err
	}
	if size == 0 {
		return Plan{}, fmt.Errorf("loader: flat image is empty")
	}
	base, ok := alignUp(ram.Base, blockSize)
	if !ok || !ram.Contains(base, size) {
		return Plan{}, fmt.Errorf("loader: flat image of %#x bytes does not fit in guest RAM [%#x, %#x) from %#x",
			size, ram.Base, ram.End(), base)
	}
	seg := Segment{IPA: base, FileSize: size, MemSize: size, Perm: PermR | PermW | PermX}
	return Plan{Kind: KindFlat, Entry: base, Segments: []Segment{seg}, End: seg.End()}, nil
}
