package loader

import (
	"fmt"

	"bulkhead/boot/elfimage"
)

// elfMagic starts every ELF file (gABI, e_ident).
const elfMagic = "\x7fELF"

// Limits on ELF images, those of the shared parser (boot/elfimage).
const (
	// MaxProgramHeaders bounds e_phnum.
	MaxProgramHeaders = elfimage.MaxProgramHeaders
	// MaxSegments bounds the PT_LOAD entries with memory.
	MaxSegments = elfimage.MaxSegments
)

// ParseELF checks that img is a static little-endian AArch64 ELF64
// executable whose PT_LOAD segments lie in the file and, loaded at their
// physical addresses, inside ram without overlapping, and returns the plan.
// The checks are boot/elfimage's, the parser the engine also uses for the
// image it boots; the entry point is translated through the executable
// segment that holds it, because guests start with the MMU off (DESIGN.md
// section 4).
func ParseELF(img []byte, ram Region) (Plan, error) {
	if err := ram.valid(); err != nil {
		return Plan{}, err
	}
	p, err := elfimage.Parse(img, elfimage.Window{Base: ram.Base, Size: ram.Size})
	if err != nil {
		return Plan{}, fmt.Errorf("loader: %w", err)
	}
	segs := make([]Segment, len(p.Segments))
	for i, s := range p.Segments {
		segs[i] = Segment{IPA: s.Addr, FileOffset: s.Offset, FileSize: s.FileSize, MemSize: s.MemSize, Perm: elfPerm(s.Flags)}
	}
	return Plan{Kind: KindELF, Entry: p.Entry, Segments: segs, End: segs[len(segs)-1].End()}, nil
}

func elfPerm(flags uint32) Perm {
	var p Perm
	if flags&elfimage.FlagR != 0 {
		p |= PermR
	}
	if flags&elfimage.FlagW != 0 {
		p |= PermW
	}
	if flags&elfimage.FlagX != 0 {
		p |= PermX
	}
	return p
}
