package loader

import (
	"encoding/binary"
	"fmt"
	"sort"
)

// ELF64 constants (System V gABI, "ELF Header" and "Program Header"; AArch64
// ELF ABI, IHI 0056, for the machine number).
const (
	elfMagic       = "\x7fELF"
	elfHeaderSize  = 64
	elfPhdrSize    = 56
	elfClass64     = 2
	elfData2LSB    = 1
	elfVersion     = 1
	elfTypeExec    = 2
	elfMachineA64  = 183 // EM_AARCH64
	elfPTLoad      = 1
	elfPTDynamic   = 2
	elfPTInterp    = 3
	elfPhnumExtend = 0xffff // PN_XNUM: the real count lives in section 0

	elfPFX = 1
	elfPFW = 2
	elfPFR = 4
)

// Limits on ELF headers, so that a hostile image costs bounded work.
const (
	// MaxProgramHeaders bounds e_phnum.
	MaxProgramHeaders = 64
	// MaxSegments bounds the PT_LOAD entries with memory.
	MaxSegments = 16
)

// elfHeader holds the ELF header fields the loader uses.
type elfHeader struct {
	typ, machine      uint16
	version           uint32
	entry, phoff      uint64
	ehsize, phentsize uint16
	phnum             uint16
}

// progHeader is one ELF64 program header.
type progHeader struct {
	typ, flags                                  uint32
	offset, vaddr, paddr, filesz, memsz, palign uint64
}

// ParseELF checks that img is a static little-endian AArch64 ELF64
// executable (ET_EXEC) whose PT_LOAD segments lie in the file and, loaded
// at their physical addresses, inside ram without overlapping, and returns
// the plan. The entry point, a virtual address, is translated through the
// executable segment that holds it, because guests start with the MMU off
// (DESIGN.md section 4).
func ParseELF(img []byte, ram Region) (Plan, error) {
	if err := ram.valid(); err != nil {
		return Plan{}, err
	}
	h, err := parseELFHeader(img)
	if err != nil {
		return Plan{}, err
	}
	var segs []Segment
	var loads []progHeader
	for i := 0; i < int(h.phnum); i++ {
		ph := readProgHeader(img, h.phoff+uint64(i)*elfPhdrSize)
		seg, keep, err := checkProgHeader(i, ph, uint64(len(img)), ram)
		if err != nil {
			return Plan{}, err
		}
		if keep {
			segs = append(segs, seg)
			loads = append(loads, ph)
		}
	}
	if len(segs) == 0 {
		return Plan{}, fmt.Errorf("loader: ELF has no PT_LOAD segment with memory")
	}
	if len(segs) > MaxSegments {
		return Plan{}, fmt.Errorf("loader: ELF has %d loadable segments, more than %d", len(segs), MaxSegments)
	}
	entry, err := entryIPA(h.entry, loads)
	if err != nil {
		return Plan{}, err
	}
	return sortedPlan(KindELF, entry, segs)
}

func parseELFHeader(img []byte) (elfHeader, error) {
	if len(img) < elfHeaderSize {
		return elfHeader{}, fmt.Errorf("loader: ELF of %d bytes is shorter than its %d-byte header", len(img), elfHeaderSize)
	}
	le := binary.LittleEndian
	h := elfHeader{
		typ: le.Uint16(img[16:]), machine: le.Uint16(img[18:]), version: le.Uint32(img[20:]),
		entry: le.Uint64(img[24:]), phoff: le.Uint64(img[32:]),
		ehsize: le.Uint16(img[52:]), phentsize: le.Uint16(img[54:]), phnum: le.Uint16(img[56:]),
	}
	switch {
	case string(img[:4]) != elfMagic:
		return h, fmt.Errorf("loader: not an ELF file (magic % x)", img[:4])
	case img[4] != elfClass64:
		return h, fmt.Errorf("loader: ELF class %d, want ELFCLASS64 (2)", img[4])
	case img[5] != elfData2LSB:
		return h, fmt.Errorf("loader: ELF data encoding %d, want little-endian ELFDATA2LSB (1)", img[5])
	case img[6] != elfVersion || h.version != elfVersion:
		return h, fmt.Errorf("loader: ELF version %d/%d, want EV_CURRENT (1)", img[6], h.version)
	case h.typ != elfTypeExec:
		return h, fmt.Errorf("loader: ELF type %d, want ET_EXEC (2): only static executables are loaded", h.typ)
	case h.machine != elfMachineA64:
		return h, fmt.Errorf("loader: ELF machine %d, want EM_AARCH64 (183)", h.machine)
	case h.ehsize != elfHeaderSize:
		return h, fmt.Errorf("loader: ELF header size %d, want %d", h.ehsize, elfHeaderSize)
	}
	return h, checkPhdrTable(h, uint64(len(img)))
}

func checkPhdrTable(h elfHeader, fileSize uint64) error {
	switch {
	case h.phentsize != elfPhdrSize:
		return fmt.Errorf("loader: ELF program header size %d, want %d", h.phentsize, elfPhdrSize)
	case h.phnum == 0:
		return fmt.Errorf("loader: ELF has no program headers")
	case h.phnum == elfPhnumExtend || h.phnum > MaxProgramHeaders:
		return fmt.Errorf("loader: ELF has %d program headers, more than %d", h.phnum, MaxProgramHeaders)
	case h.phoff%8 != 0:
		return fmt.Errorf("loader: ELF program header table at %#x is not 8-byte aligned", h.phoff)
	}
	// phnum <= MaxProgramHeaders, so the table size cannot overflow.
	end, ok := add(h.phoff, uint64(h.phnum)*elfPhdrSize)
	if !ok || end > fileSize {
		return fmt.Errorf("loader: ELF program header table [%#x, +%d*%d) runs past the %d-byte file",
			h.phoff, h.phnum, elfPhdrSize, fileSize)
	}
	return nil
}

func readProgHeader(img []byte, off uint64) progHeader {
	b := img[off : off+elfPhdrSize]
	le := binary.LittleEndian
	return progHeader{
		typ: le.Uint32(b[0:]), flags: le.Uint32(b[4:]),
		offset: le.Uint64(b[8:]), vaddr: le.Uint64(b[16:]), paddr: le.Uint64(b[24:]),
		filesz: le.Uint64(b[32:]), memsz: le.Uint64(b[40:]), palign: le.Uint64(b[48:]),
	}
}

// checkProgHeader checks program header i and, for a PT_LOAD with memory,
// returns its segment and keep = true.
func checkProgHeader(i int, ph progHeader, fileSize uint64, ram Region) (Segment, bool, error) {
	switch ph.typ {
	case elfPTInterp, elfPTDynamic:
		return Segment{}, false, fmt.Errorf("loader: ELF program header %d is PT_INTERP or PT_DYNAMIC: dynamically linked images are not loaded", i)
	case elfPTLoad:
	default:
		return Segment{}, false, nil // notes, stack flags, TLS templates: nothing to load
	}
	if ph.filesz > ph.memsz {
		return Segment{}, false, fmt.Errorf("loader: ELF segment %d has p_filesz %#x > p_memsz %#x", i, ph.filesz, ph.memsz)
	}
	if end, ok := add(ph.offset, ph.filesz); !ok || end > fileSize {
		return Segment{}, false, fmt.Errorf("loader: ELF segment %d file range [%#x, +%#x) runs past the %d-byte file", i, ph.offset, ph.filesz, fileSize)
	}
	if _, ok := add(ph.vaddr, ph.memsz); !ok {
		return Segment{}, false, fmt.Errorf("loader: ELF segment %d virtual range [%#x, +%#x) wraps", i, ph.vaddr, ph.memsz)
	}
	if err := checkAlign(i, ph); err != nil {
		return Segment{}, false, err
	}
	if ph.memsz == 0 {
		return Segment{}, false, nil
	}
	if !ram.Contains(ph.paddr, ph.memsz) {
		return Segment{}, false, fmt.Errorf("loader: ELF segment %d [%#x, +%#x) is outside guest RAM [%#x, %#x)",
			i, ph.paddr, ph.memsz, ram.Base, ram.End())
	}
	seg := Segment{IPA: ph.paddr, FileOffset: ph.offset, FileSize: ph.filesz, MemSize: ph.memsz, Perm: elfPerm(ph.flags)}
	return seg, true, nil
}

// checkAlign applies the gABI rule for loadable segments: p_align is 0, 1
// or a power of two, and p_offset and p_vaddr are congruent modulo it.
func checkAlign(i int, ph progHeader) error {
	a := ph.palign
	if a <= 1 {
		return nil
	}
	if a&(a-1) != 0 {
		return fmt.Errorf("loader: ELF segment %d p_align %#x is not a power of two", i, a)
	}
	if ph.offset%a != ph.vaddr%a {
		return fmt.Errorf("loader: ELF segment %d p_offset %#x and p_vaddr %#x are not congruent modulo p_align %#x", i, ph.offset, ph.vaddr, a)
	}
	return nil
}

func elfPerm(flags uint32) Perm {
	var p Perm
	if flags&elfPFR != 0 {
		p |= PermR
	}
	if flags&elfPFW != 0 {
		p |= PermW
	}
	if flags&elfPFX != 0 {
		p |= PermX
	}
	return p
}

// entryIPA finds the executable PT_LOAD segment whose virtual range holds
// entry and returns the matching physical address.
func entryIPA(entry uint64, loads []progHeader) (uint64, error) {
	for _, ph := range loads {
		if entry >= ph.vaddr && entry-ph.vaddr < ph.memsz {
			if ph.flags&elfPFX == 0 {
				return 0, fmt.Errorf("loader: ELF entry point %#x is in a segment that is not executable", entry)
			}
			return ph.paddr + (entry - ph.vaddr), nil
		}
	}
	return 0, fmt.Errorf("loader: ELF entry point %#x is outside every loadable segment", entry)
}

// sortedPlan orders segs by IPA and refuses overlaps.
func sortedPlan(kind Kind, entry uint64, segs []Segment) (Plan, error) {
	sort.Slice(segs, func(i, j int) bool { return segs[i].IPA < segs[j].IPA })
	for i := 1; i < len(segs); i++ {
		if segs[i].IPA < segs[i-1].End() {
			return Plan{}, fmt.Errorf("loader: ELF segments [%#x, %#x) and [%#x, %#x) overlap",
				segs[i-1].IPA, segs[i-1].End(), segs[i].IPA, segs[i].End())
		}
	}
	return Plan{Kind: kind, Entry: entry, Segments: segs, End: segs[len(segs)-1].End()}, nil
}
