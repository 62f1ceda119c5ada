// Package elfimage checks an ELF64 AArch64 executable and plans how to place
// it in memory. It is strict on purpose: the engine boots whatever EL1 image
// it is given, so every header field that decides where bytes go is checked
// against the file and against the window the image may occupy, and a bad
// image gets an error naming the problem, never a partial load.
//
// Reference: the System V ABI "ELF-64 Object File Format" and the AArch64
// ELF supplement (machine EM_AARCH64 = 183).
package elfimage

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Segment is one PT_LOAD segment: FileSize bytes from Offset in the file go
// to Addr, followed by MemSize-FileSize zero bytes.
type Segment struct {
	Addr     uint64
	Offset   uint64
	FileSize uint64
	MemSize  uint64
}

// End returns the first address after the segment in memory.
func (s Segment) End() uint64 { return s.Addr + s.MemSize }

// Plan is where an image goes and where it starts.
type Plan struct {
	Entry    uint64
	Segments []Segment
}

// Window is the address range [Base, Base+Size) segments must lie in.
type Window struct{ Base, Size uint64 }

func (w Window) contains(addr, size uint64) bool {
	return addr >= w.Base && size <= w.Size && addr-w.Base <= w.Size-size
}

const (
	headerSize     = 64
	phdrSize       = 56
	maxSegments    = 64
	etExec         = 2
	emAArch64      = 183
	ptLoad         = 1
	elfClass64     = 2
	elfData2LSB    = 1
	evCurrent      = 1
	entryAlignment = 4
)

// ErrNotELF reports a file without the ELF magic.
var ErrNotELF = errors.New("not an ELF file")

// Parse checks image and returns its placement inside w.
func Parse(image []byte, w Window) (Plan, error) {
	h, err := parseHeader(image)
	if err != nil {
		return Plan{}, err
	}
	segs, err := loadSegments(image, h)
	if err != nil {
		return Plan{}, err
	}
	if err := checkPlacement(segs, w); err != nil {
		return Plan{}, err
	}
	if !entryInside(h.entry, segs) {
		return Plan{}, fmt.Errorf("entry point %#x is not inside a loaded segment", h.entry)
	}
	return Plan{Entry: h.entry, Segments: segs}, nil
}

type header struct {
	entry, phoff uint64
	phnum        uint64
}

func parseHeader(b []byte) (header, error) {
	if len(b) < headerSize {
		return header{}, fmt.Errorf("%w: %d bytes is shorter than an ELF header", ErrNotELF, len(b))
	}
	if string(b[:4]) != "\x7fELF" {
		return header{}, ErrNotELF
	}
	le := binary.LittleEndian
	switch {
	case b[4] != elfClass64:
		return header{}, errors.New("not a 64-bit ELF file")
	case b[5] != elfData2LSB:
		return header{}, errors.New("not a little-endian ELF file")
	case b[6] != evCurrent || le.Uint32(b[20:]) != evCurrent:
		return header{}, errors.New("unknown ELF version")
	case le.Uint16(b[16:]) != etExec:
		return header{}, fmt.Errorf("ELF type %d is not an executable (ET_EXEC)", le.Uint16(b[16:]))
	case le.Uint16(b[18:]) != emAArch64:
		return header{}, fmt.Errorf("ELF machine %d is not AArch64", le.Uint16(b[18:]))
	case le.Uint16(b[54:]) != phdrSize:
		return header{}, fmt.Errorf("program header size %d is not %d", le.Uint16(b[54:]), phdrSize)
	}
	return header{entry: le.Uint64(b[24:]), phoff: le.Uint64(b[32:]), phnum: uint64(le.Uint16(b[56:]))}, nil
}

func loadSegments(b []byte, h header) ([]Segment, error) {
	if h.phnum == 0 || h.phnum > maxSegments {
		return nil, fmt.Errorf("%d program headers (want 1 to %d)", h.phnum, maxSegments)
	}
	if h.phoff > uint64(len(b)) || h.phnum*phdrSize > uint64(len(b))-h.phoff {
		return nil, errors.New("program headers lie outside the file")
	}
	var segs []Segment
	for i := uint64(0); i < h.phnum; i++ {
		p := b[h.phoff+i*phdrSize:]
		if binary.LittleEndian.Uint32(p) != ptLoad {
			continue
		}
		s, err := parseLoad(p, uint64(len(b)))
		if err != nil {
			return nil, fmt.Errorf("segment %d: %w", i, err)
		}
		if s.MemSize != 0 {
			segs = append(segs, s)
		}
	}
	if len(segs) == 0 {
		return nil, errors.New("no loadable segment")
	}
	return segs, nil
}

func parseLoad(p []byte, fileSize uint64) (Segment, error) {
	le := binary.LittleEndian
	s := Segment{Offset: le.Uint64(p[8:]), Addr: le.Uint64(p[24:]), FileSize: le.Uint64(p[32:]), MemSize: le.Uint64(p[40:])}
	switch {
	case s.FileSize > s.MemSize:
		return s, fmt.Errorf("file size %#x exceeds memory size %#x", s.FileSize, s.MemSize)
	case s.Offset > fileSize || s.FileSize > fileSize-s.Offset:
		return s, fmt.Errorf("bytes [%#x, +%#x) lie outside the %d-byte file", s.Offset, s.FileSize, fileSize)
	case s.Addr+s.MemSize < s.Addr:
		return s, fmt.Errorf("address %#x + size %#x overflows", s.Addr, s.MemSize)
	}
	return s, nil
}

func checkPlacement(segs []Segment, w Window) error {
	for i, s := range segs {
		if !w.contains(s.Addr, s.MemSize) {
			return fmt.Errorf("segment at [%#x, %#x) is outside the allowed window [%#x, %#x)",
				s.Addr, s.End(), w.Base, w.Base+w.Size)
		}
		for _, o := range segs[:i] {
			if s.Addr < o.End() && o.Addr < s.End() {
				return fmt.Errorf("segments at %#x and %#x overlap", o.Addr, s.Addr)
			}
		}
	}
	return nil
}

func entryInside(entry uint64, segs []Segment) bool {
	if entry%entryAlignment != 0 {
		return false
	}
	for _, s := range segs {
		if entry >= s.Addr && entry < s.End() {
			return true
		}
	}
	return false
}
