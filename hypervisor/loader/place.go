package loader

import "fmt"

// Limits from booting.rst.
const (
	// MaxDTBSize is the largest device tree arm64 Linux accepts ("Setup the
	// device tree": "must not exceed 2 megabytes in size").
	MaxDTBSize = 2 << 20
	// dtbAlign is the device tree's required alignment ("must be placed on
	// an 8-byte boundary").
	dtbAlign = 8
	// initrdWindowAlign and initrdWindowSize: "If an initrd/initramfs is
	// passed to the kernel at boot, it must reside entirely within a 1 GB
	// aligned physical memory window of up to 32 GB in size that fully
	// covers the kernel Image as well."
	initrdWindowAlign = 1 << 30
	initrdWindowSize  = 32 << 30
)

// The device tree is placed on a 2 MiB boundary, which is a multiple of the
// 8 bytes booting.rst requires; this fails to compile if that stops holding.
var _ [0]struct{} = [blockSize % dtbAlign]struct{}{}

// Layout is where the boot data goes. A zero Range means "none".
type Layout struct {
	Initrd Range
	DTB    Range
}

// Range is the IPA range [Start, End).
type Range struct {
	Start, End uint64
}

// Size returns the length of r.
func (r Range) Size() uint64 { return r.End - r.Start }

// Place puts an initramfs of initrdSize bytes (0 for none) and a device
// tree of dtbSize bytes in ram after the kernel described by kernel:
//
//   - the initramfs starts at the first 4 KiB page after the kernel's End,
//     page aligned because Linux reserves and later frees it by pages;
//   - the device tree starts at the first 2 MiB boundary after both, so it
//     has a 2 MiB block of its own: booting.rst says the kernel maps it
//     cacheable with blocks of up to 2 MiB, so it "must not be placed within
//     any 2M region which must be mapped with any specific attributes". That
//     alignment also satisfies the 8-byte one.
//
// Place checks booting.rst's limits: the device tree at most 2 MiB, and the
// initramfs and the kernel inside one 1 GiB aligned window of at most 32 GiB.
func Place(ram Region, kernel Plan, initrdSize, dtbSize uint64) (Layout, error) {
	if err := ram.valid(); err != nil {
		return Layout{}, err
	}
	if err := checkKernel(ram, kernel); err != nil {
		return Layout{}, err
	}
	var l Layout
	next := kernel.End
	if initrdSize > 0 {
		r, err := placeInitrd(ram, kernel, initrdSize)
		if err != nil {
			return Layout{}, err
		}
		l.Initrd, next = r, r.End
	}
	r, err := placeDTB(ram, next, dtbSize)
	if err != nil {
		return Layout{}, err
	}
	l.DTB = r
	return l, nil
}

func checkKernel(ram Region, kernel Plan) error {
	start := kernel.Start()
	if kernel.End < start || !ram.Contains(start, kernel.End-start) {
		return fmt.Errorf("loader: kernel [%#x, %#x) is not inside guest RAM [%#x, %#x)",
			start, kernel.End, ram.Base, ram.End())
	}
	return nil
}

func placeInitrd(ram Region, kernel Plan, size uint64) (Range, error) {
	start, ok := alignUp(kernel.End, pageSize)
	end, ok2 := add(start, size)
	if !ok || !ok2 || !ram.Contains(start, size) {
		return Range{}, fmt.Errorf("loader: initramfs of %#x bytes does not fit in guest RAM after the kernel (ends %#x, RAM ends %#x)",
			size, kernel.End, ram.End())
	}
	// The window starts at the 1 GiB boundary at or below the kernel and
	// must reach the initramfs' end within 32 GiB.
	window := kernel.Start() &^ (initrdWindowAlign - 1)
	if end-window > initrdWindowSize {
		return Range{}, fmt.Errorf("loader: initramfs [%#x, %#x) and kernel at %#x do not fit in one 1 GiB aligned 32 GiB window (booting.rst)",
			start, end, kernel.Start())
	}
	return Range{start, end}, nil
}

func placeDTB(ram Region, after, size uint64) (Range, error) {
	switch {
	case size == 0:
		return Range{}, fmt.Errorf("loader: device tree is empty")
	case size > MaxDTBSize:
		return Range{}, fmt.Errorf("loader: device tree of %d bytes exceeds the %d bytes arm64 Linux accepts (booting.rst)", size, MaxDTBSize)
	}
	start, ok := alignUp(after, blockSize)
	if !ok || !ram.Contains(start, size) {
		return Range{}, fmt.Errorf("loader: device tree of %d bytes does not fit in guest RAM after %#x (RAM ends %#x)",
			size, after, ram.End())
	}
	return Range{start, start + size}, nil
}
