package elfimage

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type seg struct {
	addr, filesz, memsz uint64
	typ                 uint32
}

// build writes a minimal ELF64 AArch64 executable with the given segments;
// each segment's bytes follow the headers.
func build(entry uint64, segs ...seg) []byte {
	le := binary.LittleEndian
	b := make([]byte, headerSize+phdrSize*len(segs))
	copy(b, "\x7fELF")
	b[4], b[5], b[6] = class64, data2LSB, evCurrent
	le.PutUint16(b[16:], typeExec)
	le.PutUint16(b[18:], machineA64)
	le.PutUint32(b[20:], evCurrent)
	le.PutUint16(b[52:], headerSize)
	le.PutUint64(b[24:], entry)
	le.PutUint64(b[32:], headerSize)
	le.PutUint16(b[54:], phdrSize)
	le.PutUint16(b[56:], uint16(len(segs)))
	for i, s := range segs {
		p := b[headerSize+i*phdrSize:]
		typ := s.typ
		if typ == 0 {
			typ = ptLoad
		}
		le.PutUint32(p, typ)
		le.PutUint32(p[4:], FlagR|FlagX)
		le.PutUint64(p[8:], uint64(len(b)))
		le.PutUint64(p[16:], s.addr)
		le.PutUint64(p[24:], s.addr)
		le.PutUint64(p[32:], s.filesz)
		le.PutUint64(p[40:], s.memsz)
		b = append(b, make([]byte, s.filesz)...)
		p = b[headerSize+i*phdrSize:]
		_ = p
	}
	return b
}

var window = Window{Base: 0x4420_0000, Size: 0x800_0000}

func TestParseAcceptsAWellFormedImage(t *testing.T) {
	img := build(0x4421_0000, seg{addr: 0x4421_0000, filesz: 0x100, memsz: 0x100}, seg{addr: 0x4430_0000, filesz: 0x10, memsz: 0x2000})
	plan, err := Parse(img, window)
	require.NoError(t, err)
	assert.Equal(t, uint64(0x4421_0000), plan.Entry)
	require.Len(t, plan.Segments, 2)
	assert.Equal(t, uint64(0x2000), plan.Segments[1].MemSize)
	assert.Equal(t, uint64(headerSize+2*phdrSize+0x100), plan.Segments[1].Offset)
}

func TestParseSkipsNonLoadSegments(t *testing.T) {
	img := build(0x4421_0000, seg{addr: 0x10, filesz: 0, memsz: 0x10, typ: 4}, seg{addr: 0x4421_0000, filesz: 4, memsz: 4})
	plan, err := Parse(img, window)
	require.NoError(t, err)
	assert.Len(t, plan.Segments, 1)
}

func TestParseRejects(t *testing.T) {
	good := func() []byte { return build(0x4421_0000, seg{addr: 0x4421_0000, filesz: 8, memsz: 8}) }
	cases := []struct {
		name  string
		mut   func(b []byte) []byte
		error string
	}{
		{"empty", func(b []byte) []byte { return nil }, "shorter than its 64-byte header"},
		{"magic", func(b []byte) []byte { b[0] = 'M'; return b }, "not an ELF file"},
		{"class", func(b []byte) []byte { b[4] = 1; return b }, "ELFCLASS64"},
		{"endianness", func(b []byte) []byte { b[5] = 2; return b }, "little-endian"},
		{"version", func(b []byte) []byte { b[6] = 0; return b }, "version"},
		{"type", func(b []byte) []byte { b[16] = 3; return b }, "ET_EXEC"},
		{"machine", func(b []byte) []byte { b[18] = 62; return b }, "EM_AARCH64"},
		{"phentsize", func(b []byte) []byte { b[54] = 32; return b }, "program header size"},
		{"phnum zero", func(b []byte) []byte { b[56] = 0; return b }, "no program headers"},
		{"phnum huge", func(b []byte) []byte { b[56] = 200; return b }, "program headers"},
		{"phoff outside", func(b []byte) []byte { binary.LittleEndian.PutUint64(b[32:], 1<<40); return b }, "runs past"},
		{"filesz > memsz", func(b []byte) []byte { binary.LittleEndian.PutUint64(b[headerSize+32:], 9); return b }, "p_filesz"},
		{"bytes outside file", func(b []byte) []byte {
			binary.LittleEndian.PutUint64(b[headerSize+8:], ^uint64(0)-3)
			return b
		}, "runs past"},
		{"address overflow", func(b []byte) []byte {
			binary.LittleEndian.PutUint64(b[headerSize+24:], ^uint64(0)-3)
			return b
		}, "outside the allowed window"},
		{"outside window", func(b []byte) []byte { binary.LittleEndian.PutUint64(b[headerSize+24:], 0x4020_0000); return b }, "outside the allowed window"},
		{"entry outside", func(b []byte) []byte { binary.LittleEndian.PutUint64(b[24:], 0x4400_0000); return b }, "outside every loadable segment"},
		{"entry unaligned", func(b []byte) []byte { binary.LittleEndian.PutUint64(b[24:], 0x4421_0002); return b }, "not 4-byte aligned"},
		{"no load segment", func(b []byte) []byte { b[headerSize] = 4; return b }, "no PT_LOAD"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse(c.mut(good()), window)
			assert.ErrorContains(t, err, c.error)
		})
	}
}

func TestParseRejectsOverlappingSegments(t *testing.T) {
	img := build(0x4421_0000, seg{addr: 0x4421_0000, filesz: 0, memsz: 0x2000}, seg{addr: 0x4421_1000, filesz: 0, memsz: 0x10})
	_, err := Parse(img, window)
	assert.ErrorContains(t, err, "overlap")
}

func FuzzParse(f *testing.F) {
	f.Add(build(0x4421_0000, seg{addr: 0x4421_0000, filesz: 8, memsz: 16}))
	f.Add([]byte("\x7fELF"))
	f.Fuzz(func(t *testing.T, img []byte) {
		plan, err := Parse(img, window)
		if err != nil {
			return
		}
		for _, s := range plan.Segments {
			assert.True(t, window.contains(s.Addr, s.MemSize))
			assert.LessOrEqual(t, s.Offset+s.FileSize, uint64(len(img)))
		}
	})
}
