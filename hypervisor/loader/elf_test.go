package loader

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// guestRAM is a 256 MiB guest at the QEMU virt RAM base.
var guestRAM = Region{Base: 0x4000_0000, Size: 256 << 20}

// phdr is a program header for mkELF.
type phdr struct {
	typ, flags                                  uint32
	offset, vaddr, paddr, filesz, memsz, palign uint64
}

// elfSpec describes a synthetic ELF64 image.
type elfSpec struct {
	ident   [16]byte
	typ     uint16
	machine uint16
	version uint32
	entry   uint64
	phoff   uint64
	ehsize  uint16
	phentsz uint16
	phnum   int // -1: len(phdrs)
	phdrs   []phdr
	size    int // total file size, at least the headers
}

// validSpec is a two-segment bare-metal executable: text at 0x4008_0000 and
// data+bss at 0x4010_0000.
func validSpec() elfSpec {
	s := elfSpec{
		typ: 2, machine: 183, version: 1, entry: 0x4008_0010, phoff: 64,
		ehsize: 64, phentsz: 56, phnum: -1, size: 0x3000,
		phdrs: []phdr{
			{typ: 1, flags: 5, offset: 0x1000, vaddr: 0x4008_0000, paddr: 0x4008_0000, filesz: 0x800, memsz: 0x800, palign: 0x1000},
			{typ: 0x6474e551, flags: 6}, // PT_GNU_STACK: ignored
			{typ: 1, flags: 6, offset: 0x2000, vaddr: 0x4010_0000, paddr: 0x4010_0000, filesz: 0x100, memsz: 0x5000, palign: 0x1000},
		},
	}
	copy(s.ident[:], "\x7fELF\x02\x01\x01")
	return s
}

func mkELF(s elfSpec) []byte {
	b := make([]byte, s.size)
	copy(b, s.ident[:])
	le := binary.LittleEndian
	le.PutUint16(b[16:], s.typ)
	le.PutUint16(b[18:], s.machine)
	le.PutUint32(b[20:], s.version)
	le.PutUint64(b[24:], s.entry)
	le.PutUint64(b[32:], s.phoff)
	le.PutUint16(b[52:], s.ehsize)
	le.PutUint16(b[54:], s.phentsz)
	n := s.phnum
	if n < 0 {
		n = len(s.phdrs)
	}
	le.PutUint16(b[56:], uint16(n))
	for i, p := range s.phdrs {
		if s.phoff > uint64(len(b)) || uint64(i+1)*56 > uint64(len(b))-s.phoff {
			break // a table past the file: the test wants it truncated
		}
		o := int(s.phoff) + i*56
		le.PutUint32(b[o:], p.typ)
		le.PutUint32(b[o+4:], p.flags)
		for j, v := range []uint64{p.offset, p.vaddr, p.paddr, p.filesz, p.memsz, p.palign} {
			le.PutUint64(b[o+8+8*j:], v)
		}
	}
	return b
}

func TestParseELF(t *testing.T) {
	img := mkELF(validSpec())
	plan, err := ParseELF(img, guestRAM)
	require.NoError(t, err)
	assert.Equal(t, KindELF, plan.Kind)
	assert.Equal(t, uint64(0x4008_0010), plan.Entry)
	assert.Equal(t, []Segment{
		{IPA: 0x4008_0000, FileOffset: 0x1000, FileSize: 0x800, MemSize: 0x800, Perm: PermR | PermX},
		{IPA: 0x4010_0000, FileOffset: 0x2000, FileSize: 0x100, MemSize: 0x5000, Perm: PermR | PermW},
	}, plan.Segments)
	assert.Equal(t, uint64(0x4010_5000), plan.End)
	assert.Equal(t, uint64(0x4008_0000), plan.Start())

	// debug/elf, an independent reader, agrees on every loadable segment.
	f, err := elf.NewFile(bytes.NewReader(img))
	require.NoError(t, err)
	var fromStd []Segment
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD {
			fromStd = append(fromStd, Segment{IPA: p.Paddr, FileOffset: p.Off, FileSize: p.Filesz, MemSize: p.Memsz})
		}
	}
	for i := range fromStd {
		fromStd[i].Perm = plan.Segments[i].Perm
	}
	assert.Equal(t, fromStd, plan.Segments)
}

func TestParseELFSortsAndTranslatesEntry(t *testing.T) {
	s := validSpec()
	s.phdrs[0], s.phdrs[2] = s.phdrs[2], s.phdrs[0]
	// Linked at a high virtual address, loaded at a physical one.
	s.phdrs[2].vaddr = 0xffff_0000_0008_0000
	s.entry = 0xffff_0000_0008_0040
	plan, err := ParseELF(mkELF(s), guestRAM)
	require.NoError(t, err)
	assert.Equal(t, uint64(0x4008_0040), plan.Entry)
	assert.Less(t, plan.Segments[0].IPA, plan.Segments[1].IPA)
}

func TestParseELFErrors(t *testing.T) {
	tests := []struct {
		name   string
		change func(*elfSpec)
		want   string
	}{
		{"magic", func(s *elfSpec) { s.ident[1] = 'X' }, "not an ELF"},
		{"class32", func(s *elfSpec) { s.ident[4] = 1 }, "ELFCLASS64"},
		{"big endian", func(s *elfSpec) { s.ident[5] = 2 }, "little-endian"},
		{"ident version", func(s *elfSpec) { s.ident[6] = 0 }, "EV_CURRENT"},
		{"header version", func(s *elfSpec) { s.version = 2 }, "EV_CURRENT"},
		{"ET_DYN", func(s *elfSpec) { s.typ = 3 }, "ET_EXEC"},
		{"x86-64", func(s *elfSpec) { s.machine = 62 }, "EM_AARCH64"},
		{"ehsize", func(s *elfSpec) { s.ehsize = 52 }, "header size"},
		{"phentsize", func(s *elfSpec) { s.phentsz = 32 }, "program header size"},
		{"no phdrs", func(s *elfSpec) { s.phnum = 0 }, "no program headers"},
		{"PN_XNUM", func(s *elfSpec) { s.phnum = 0xffff }, "more than"},
		{"too many phdrs", func(s *elfSpec) { s.phnum = MaxProgramHeaders + 1 }, "more than"},
		{"phoff misaligned", func(s *elfSpec) { s.phoff = 65 }, "not 8-byte aligned"},
		{"phdrs past file", func(s *elfSpec) { s.phoff = uint64(s.size) - 56 }, "runs past"},
		{"phoff overflow", func(s *elfSpec) { s.phoff = 1<<64 - 64 }, "runs past"},
		{"filesz > memsz", func(s *elfSpec) { s.phdrs[0].filesz = 0x900 }, "p_filesz"},
		{"file range", func(s *elfSpec) { s.phdrs[2].offset = 0x2f80 }, "runs past"},
		{"file offset overflow", func(s *elfSpec) { s.phdrs[2].offset = 1<<64 - 0x80 }, "runs past"},
		{"vaddr wraps", func(s *elfSpec) { s.phdrs[2].vaddr = 1<<64 - 0x1000 }, "wraps"},
		{"align not power", func(s *elfSpec) { s.phdrs[0].palign = 0x3000 }, "power of two"},
		{"align incongruent", func(s *elfSpec) { s.phdrs[0].offset = 0x1100 }, "congruent"},
		{"below RAM", func(s *elfSpec) { s.phdrs[0].paddr = 0x3fff_f000 }, "outside the allowed window"},
		{"past RAM", func(s *elfSpec) { s.phdrs[2].paddr = guestRAM.End() - 0x1000 }, "outside the allowed window"},
		{"paddr wraps", func(s *elfSpec) { s.phdrs[2].paddr = 1<<64 - 0x1000 }, "outside the allowed window"},
		{"overlap", func(s *elfSpec) { s.phdrs[2].paddr = 0x4007_f000; s.phdrs[2].vaddr = 0x4007_f000 }, "overlap"},
		{"interp", func(s *elfSpec) { s.phdrs[1].typ = 3 }, "dynamically linked"},
		{"dynamic", func(s *elfSpec) { s.phdrs[1].typ = 2 }, "dynamically linked"},
		{"no load", func(s *elfSpec) { s.phdrs = s.phdrs[1:2] }, "no PT_LOAD"},
		{"only empty loads", func(s *elfSpec) { s.phdrs[0].memsz, s.phdrs[0].filesz = 0, 0; s.phdrs = s.phdrs[:1] }, "no PT_LOAD"},
		{"entry outside", func(s *elfSpec) { s.entry = 0x4000_0000 }, "outside every loadable segment"},
		{"entry not exec", func(s *elfSpec) { s.entry = 0x4010_0000 }, "not executable"},
		{"too many segments", func(s *elfSpec) {
			s.phdrs = nil
			for i := 0; i <= MaxSegments; i++ {
				a := 0x4000_0000 + uint64(i)*0x1000
				s.phdrs = append(s.phdrs, phdr{typ: 1, flags: 5, vaddr: a, paddr: a, memsz: 0x1000})
			}
		}, "more than"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := validSpec()
			tc.change(&s)
			_, err := ParseELF(mkELF(s), guestRAM)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestParseELFShort(t *testing.T) {
	img := mkELF(validSpec())
	for _, n := range []int{0, 4, 63} {
		_, err := ParseELF(img[:n], guestRAM)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "shorter than")
	}
	_, err := ParseELF(img, Region{Base: 1 << 63, Size: 1 << 63})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "wraps")
}

// TestParseELFGoBinary plans a real static AArch64 executable, a Go program
// built for linux/arm64 at the linker's default addresses (so the window
// is the low 4 GiB), and checks the plan against debug/elf.
func TestParseELFGoBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a Go program")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not found")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "main.go")
	require.NoError(t, os.WriteFile(src, []byte("package main\nfunc main() { println(\"hi\") }\n"), 0o644))
	bin := filepath.Join(dir, "guest")
	cmd := exec.Command(goTool, "build", "-o", bin, src)
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0", "GO111MODULE=off")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	img, err := os.ReadFile(bin)
	require.NoError(t, err)

	plan, err := ParseELF(img, Region{Base: 0, Size: 4 << 30})
	require.NoError(t, err)
	f, err := elf.NewFile(bytes.NewReader(img))
	require.NoError(t, err)
	var loads int
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD && p.Memsz > 0 {
			require.Less(t, loads, len(plan.Segments))
			seg := plan.Segments[loads]
			assert.Equal(t, p.Paddr, seg.IPA)
			assert.Equal(t, p.Off, seg.FileOffset)
			assert.Equal(t, p.Filesz, seg.FileSize)
			assert.Equal(t, p.Memsz, seg.MemSize)
			loads++
		}
	}
	assert.Equal(t, loads, len(plan.Segments))
	assert.Equal(t, f.Entry, plan.Entry, "Go links vaddr == paddr")
	assert.Equal(t, KindELF, Detect(img))
}
