// Package elfimage checks a static AArch64 ELF64 executable and plans where
// its bytes go. The engine uses it for the EL1 image it boots, the
// hypervisor's loader for guest images. It is strict on purpose: images come
// from outside, so every header field that decides where bytes go is checked
// against the file and against the window the image may occupy, work is
// bounded, and a bad image gets an error naming the problem, never a
// partial plan or a panic.
//
// Segments are placed at their physical addresses (p_paddr), because the
// images start with their MMU off; the entry point, a virtual address, is
// translated through the executable segment that holds it.
//
// References: the System V gABI ("ELF Header", "Program Header") and the
// AArch64 ELF ABI (IHI 0056) for the machine number.
package elfimage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
)

// Segment is one PT_LOAD segment with memory: FileSize bytes from Offset in
// the file go to Addr, followed by MemSize-FileSize zero bytes.
type Segment struct {
	Addr     uint64
	Offset   uint64
	FileSize uint64
	MemSize  uint64
	Flags    uint32 // FlagR, FlagW, FlagX
}

// End returns the first address after the segment.
func (s Segment) End() uint64 { return s.Addr + s.MemSize }

// Segment flags (p_flags).
const (
	FlagX = 1
	FlagW = 2
	FlagR = 4
)

// Plan is where an image goes and where it starts: segments in ascending
// address order, none overlapping, all inside the window.
type Plan struct {
	Entry    uint64
	Segments []Segment
}

// Window is the address range [Base, Base+Size) segments must lie in.
type Window struct{ Base, Size uint64 }

func (w Window) contains(addr, size uint64) bool {
	return addr >= w.Base && size <= w.Size && addr-w.Base <= w.Size-size
}

// Limits on ELF headers, so that a hostile image costs bounded work.
const (
	MaxProgramHeaders = 64
	MaxSegments       = 16
)

const (
	headerSize  = 64
	phdrSize    = 56
	class64     = 2
	data2LSB    = 1
	evCurrent   = 1
	typeExec    = 2
	machineA64  = 183 // EM_AARCH64
	ptLoad      = 1
	ptDynamic   = 2
	ptInterp    = 3
	phnumExtend = 0xffff // PN_XNUM: the real count lives in section 0
	insnAlign   = 4
)

// ErrNotELF reports a file without the ELF magic.
var ErrNotELF = errors.New("not an ELF file")

type header struct {
	typ, machine      uint16
	version           uint32
	entry, phoff      uint64
	ehsize, phentsize uint16
	phnum             uint16
}

type progHeader struct {
	typ, flags                                  uint32
	offset, vaddr, paddr, filesz, memsz, palign uint64
}

// Parse checks img and returns its placement inside w.
func Parse(img []byte, w Window) (Plan, error) {
	if w.Size == 0 || w.Base+w.Size < w.Base {
		return Plan{}, fmt.Errorf("window [%#x, +%#x) is empty or wraps", w.Base, w.Size)
	}
	h, err := parseHeader(img)
	if err != nil {
		return Plan{}, err
	}
	segs, loads, err := loadSegments(img, h, w)
	if err != nil {
		return Plan{}, err
	}
	entry, err := entryAddr(h.entry, loads)
	if err != nil {
		return Plan{}, err
	}
	return sortedPlan(entry, segs)
}

func parseHeader(img []byte) (header, error) {
	if len(img) < headerSize {
		return header{}, fmt.Errorf("%w: %d bytes is shorter than its %d-byte header", ErrNotELF, len(img), headerSize)
	}
	le := binary.LittleEndian
	h := header{
		typ: le.Uint16(img[16:]), machine: le.Uint16(img[18:]), version: le.Uint32(img[20:]),
		entry: le.Uint64(img[24:]), phoff: le.Uint64(img[32:]),
		ehsize: le.Uint16(img[52:]), phentsize: le.Uint16(img[54:]), phnum: le.Uint16(img[56:]),
	}
	switch {
	case string(img[:4]) != "\x7fELF":
		return h, fmt.Errorf("%w (magic % x)", ErrNotELF, img[:4])
	case img[4] != class64:
		return h, fmt.Errorf("ELF class %d, want ELFCLASS64 (2)", img[4])
	case img[5] != data2LSB:
		return h, fmt.Errorf("ELF data encoding %d, want little-endian ELFDATA2LSB (1)", img[5])
	case img[6] != evCurrent || h.version != evCurrent:
		return h, fmt.Errorf("ELF version %d/%d, want EV_CURRENT (1)", img[6], h.version)
	case h.typ != typeExec:
		return h, fmt.Errorf("ELF type %d, want ET_EXEC (2): only static executables are loaded", h.typ)
	case h.machine != machineA64:
		return h, fmt.Errorf("ELF machine %d, want EM_AARCH64 (183)", h.machine)
	case h.ehsize != headerSize:
		return h, fmt.Errorf("ELF header size %d, want %d", h.ehsize, headerSize)
	}
	return h, checkPhdrTable(h, uint64(len(img)))
}

func checkPhdrTable(h header, fileSize uint64) error {
	switch {
	case h.phentsize != phdrSize:
		return fmt.Errorf("ELF program header size %d, want %d", h.phentsize, phdrSize)
	case h.phnum == 0:
		return errors.New("ELF has no program headers")
	case h.phnum == phnumExtend || h.phnum > MaxProgramHeaders:
		return fmt.Errorf("ELF has %d program headers, more than %d", h.phnum, MaxProgramHeaders)
	case h.phoff%8 != 0:
		return fmt.Errorf("ELF program header table at %#x is not 8-byte aligned", h.phoff)
	}
	// phnum <= MaxProgramHeaders, so the table size cannot overflow.
	end, ok := add(h.phoff, uint64(h.phnum)*phdrSize)
	if !ok || end > fileSize {
		return fmt.Errorf("ELF program header table [%#x, +%d*%d) runs past the %d-byte file", h.phoff, h.phnum, phdrSize, fileSize)
	}
	return nil
}

// loadSegments checks every program header and returns the PT_LOAD
// segments with memory, and their headers.
func loadSegments(img []byte, h header, w Window) ([]Segment, []progHeader, error) {
	var segs []Segment
	var loads []progHeader
	for i := 0; i < int(h.phnum); i++ {
		ph := readProgHeader(img, h.phoff+uint64(i)*phdrSize)
		seg, keep, err := checkProgHeader(i, ph, uint64(len(img)), w)
		if err != nil {
			return nil, nil, err
		}
		if keep {
			segs, loads = append(segs, seg), append(loads, ph)
		}
	}
	if len(segs) == 0 {
		return nil, nil, errors.New("ELF has no PT_LOAD segment with memory")
	}
	if len(segs) > MaxSegments {
		return nil, nil, fmt.Errorf("ELF has %d loadable segments, more than %d", len(segs), MaxSegments)
	}
	return segs, loads, nil
}

func readProgHeader(img []byte, off uint64) progHeader {
	b := img[off : off+phdrSize]
	le := binary.LittleEndian
	return progHeader{
		typ: le.Uint32(b[0:]), flags: le.Uint32(b[4:]),
		offset: le.Uint64(b[8:]), vaddr: le.Uint64(b[16:]), paddr: le.Uint64(b[24:]),
		filesz: le.Uint64(b[32:]), memsz: le.Uint64(b[40:]), palign: le.Uint64(b[48:]),
	}
}

// checkProgHeader checks program header i and, for a PT_LOAD with memory,
// returns its segment and keep = true.
func checkProgHeader(i int, ph progHeader, fileSize uint64, w Window) (Segment, bool, error) {
	switch ph.typ {
	case ptInterp, ptDynamic:
		return Segment{}, false, fmt.Errorf("ELF program header %d is PT_INTERP or PT_DYNAMIC: dynamically linked images are not loaded", i)
	case ptLoad:
	default:
		return Segment{}, false, nil // notes, stack flags, TLS templates: nothing to load
	}
	if ph.filesz > ph.memsz {
		return Segment{}, false, fmt.Errorf("ELF segment %d has p_filesz %#x > p_memsz %#x", i, ph.filesz, ph.memsz)
	}
	if end, ok := add(ph.offset, ph.filesz); !ok || end > fileSize {
		return Segment{}, false, fmt.Errorf("ELF segment %d file range [%#x, +%#x) runs past the %d-byte file", i, ph.offset, ph.filesz, fileSize)
	}
	if _, ok := add(ph.vaddr, ph.memsz); !ok {
		return Segment{}, false, fmt.Errorf("ELF segment %d virtual range [%#x, +%#x) wraps", i, ph.vaddr, ph.memsz)
	}
	if err := checkAlign(i, ph); err != nil {
		return Segment{}, false, err
	}
	if ph.memsz == 0 {
		return Segment{}, false, nil
	}
	if !w.contains(ph.paddr, ph.memsz) {
		return Segment{}, false, fmt.Errorf("ELF segment %d [%#x, +%#x) is outside the allowed window [%#x, %#x)",
			i, ph.paddr, ph.memsz, w.Base, w.Base+w.Size)
	}
	return Segment{Addr: ph.paddr, Offset: ph.offset, FileSize: ph.filesz, MemSize: ph.memsz, Flags: ph.flags & (FlagR | FlagW | FlagX)}, true, nil
}

// checkAlign applies the gABI rule for loadable segments: p_align is 0, 1
// or a power of two, and p_offset and p_vaddr are congruent modulo it.
func checkAlign(i int, ph progHeader) error {
	a := ph.palign
	if a <= 1 {
		return nil
	}
	if a&(a-1) != 0 {
		return fmt.Errorf("ELF segment %d p_align %#x is not a power of two", i, a)
	}
	if ph.offset%a != ph.vaddr%a {
		return fmt.Errorf("ELF segment %d p_offset %#x and p_vaddr %#x are not congruent modulo p_align %#x", i, ph.offset, ph.vaddr, a)
	}
	return nil
}

// entryAddr finds the executable PT_LOAD segment whose virtual range holds
// entry and returns the matching physical address.
func entryAddr(entry uint64, loads []progHeader) (uint64, error) {
	if entry%insnAlign != 0 {
		return 0, fmt.Errorf("ELF entry point %#x is not %d-byte aligned", entry, insnAlign)
	}
	for _, ph := range loads {
		if entry >= ph.vaddr && entry-ph.vaddr < ph.memsz {
			if ph.flags&FlagX == 0 {
				return 0, fmt.Errorf("ELF entry point %#x is in a segment that is not executable", entry)
			}
			return ph.paddr + (entry - ph.vaddr), nil
		}
	}
	return 0, fmt.Errorf("ELF entry point %#x is outside every loadable segment", entry)
}

// sortedPlan orders segs by address and refuses overlaps.
func sortedPlan(entry uint64, segs []Segment) (Plan, error) {
	sort.Slice(segs, func(i, j int) bool { return segs[i].Addr < segs[j].Addr })
	for i := 1; i < len(segs); i++ {
		if segs[i].Addr < segs[i-1].End() {
			return Plan{}, fmt.Errorf("ELF segments [%#x, %#x) and [%#x, %#x) overlap",
				segs[i-1].Addr, segs[i-1].End(), segs[i].Addr, segs[i].End())
		}
	}
	return Plan{Entry: entry, Segments: segs}, nil
}

// add returns a+b and whether it did not overflow.
func add(a, b uint64) (uint64, bool) {
	s := a + b
	return s, s >= a
}
