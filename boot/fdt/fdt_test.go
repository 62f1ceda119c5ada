package fdt

import (
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sample writes a small tree that uses every kind of property the builder
// offers.
func sample(b *Builder) {
	b.SetBootCPU(1)
	b.Reserve(0x4000_0000, 0x1000)
	b.BeginNode("")
	b.PropertyU32("#address-cells", 2)
	b.PropertyU32("#size-cells", 2)
	b.PropertyStrings("compatible", "vendor,board", "generic")
	b.BeginNode("memory@40000000")
	b.PropertyString("device_type", "memory")
	b.PropertyU64("reg", 0x4000_0000, 0x1000_0000)
	b.EndNode()
	b.BeginNode("intc")
	b.PropertyEmpty("interrupt-controller")
	b.PropertyU32("interrupts", 1, 9, 4)
	b.Property("raw", []byte{0xde, 0xad, 0xbe})
	b.EndNode()
	b.EndNode()
}

func build(t *testing.T, write func(*Builder)) []byte {
	t.Helper()
	b := NewBuilder()
	write(b)
	blob, err := b.Finish()
	require.NoError(t, err)
	return blob
}

func TestRoundTrip(t *testing.T) {
	blob := build(t, sample)
	tree, err := Parse(blob)
	require.NoError(t, err)

	assert.Equal(t, uint32(1), tree.BootCPU)
	assert.Equal(t, uint32(Version), tree.Version)
	assert.Equal(t, []Reservation{{0x4000_0000, 0x1000}}, tree.Reservations)

	compat, ok := tree.Root.Property("compatible")
	require.True(t, ok)
	list, err := compat.Strings()
	require.NoError(t, err)
	assert.Equal(t, []string{"vendor,board", "generic"}, list)

	mem := tree.Lookup("/memory@40000000")
	require.NotNil(t, mem)
	reg, _ := mem.Property("reg")
	cells, err := reg.U32s()
	require.NoError(t, err)
	assert.Equal(t, []uint32{0, 0x4000_0000, 0, 0x1000_0000}, cells)

	intc := tree.Lookup("/intc")
	require.NotNil(t, intc)
	ic, ok := intc.Property("interrupt-controller")
	require.True(t, ok)
	assert.Empty(t, ic.Value)
	raw, _ := intc.Property("raw")
	assert.Equal(t, []byte{0xde, 0xad, 0xbe}, raw.Value)
	assert.Nil(t, tree.Lookup("/nope"))
	assert.Nil(t, tree.Lookup("relative"))
}

func TestHeaderLayout(t *testing.T) {
	blob := build(t, sample)
	h := getHeader(blob)
	assert.Equal(t, uint32(Magic), h.magic)
	assert.Equal(t, uint32(len(blob)), h.totalSize)
	assert.Zero(t, h.offRsvmap%8, "DTSpec 5.3.1: reservation block 8-byte aligned")
	assert.Zero(t, h.offStruct%4, "DTSpec 5.4: structure block 4-byte aligned")
	assert.Equal(t, h.offStruct+h.sizeStruct, h.offStrings)
	assert.Equal(t, h.offStrings+h.sizeStrings, h.totalSize)
	// The structure block ends with FDT_END.
	end := binary.BigEndian.Uint32(blob[h.offStruct+h.sizeStruct-4:])
	assert.Equal(t, uint32(tokenEnd), end)
}

func TestStringsShared(t *testing.T) {
	blob := build(t, func(b *Builder) {
		b.BeginNode("")
		b.BeginNode("a")
		b.PropertyU32("reg", 1)
		b.EndNode()
		b.BeginNode("b")
		b.PropertyU32("reg", 2)
		b.EndNode()
		b.EndNode()
	})
	h := getHeader(blob)
	assert.Equal(t, "reg\x00", string(blob[h.offStrings:h.offStrings+h.sizeStrings]))
}

func TestBuilderErrors(t *testing.T) {
	tests := []struct {
		name  string
		write func(*Builder)
		want  string
	}{
		{"empty", func(b *Builder) {}, "no root node"},
		{"named root", func(b *Builder) { b.BeginNode("x") }, "not the root"},
		{"left open", func(b *Builder) { b.BeginNode(""); b.BeginNode("a") }, "left open"},
		{"extra end", func(b *Builder) { b.BeginNode(""); b.EndNode(); b.EndNode() }, "without an open node"},
		{"second root", func(b *Builder) { b.BeginNode(""); b.EndNode(); b.BeginNode("a") }, "after the root"},
		{"bad node name", func(b *Builder) { b.BeginNode(""); b.BeginNode("a/b") }, "invalid node name"},
		{"digit first", func(b *Builder) { b.BeginNode(""); b.BeginNode("0a") }, "invalid node name"},
		{"empty unit", func(b *Builder) { b.BeginNode(""); b.BeginNode("a@") }, "invalid node name"},
		{"long node name", func(b *Builder) { b.BeginNode(""); b.BeginNode(strings.Repeat("a", 32)) }, "invalid node name"},
		{"bad prop name", func(b *Builder) { b.BeginNode(""); b.PropertyEmpty("a b") }, "invalid property name"},
		{"empty prop name", func(b *Builder) { b.BeginNode(""); b.PropertyEmpty("") }, "invalid property name"},
		{"prop outside", func(b *Builder) { b.PropertyEmpty("a") }, "outside a node"},
		{"prop after child", func(b *Builder) {
			b.BeginNode("")
			b.BeginNode("a")
			b.EndNode()
			b.PropertyEmpty("late")
		}, "after a child node"},
		{"nul in string", func(b *Builder) { b.BeginNode(""); b.PropertyString("s", "a\x00b") }, "contains NUL"},
		{"zero reservation", func(b *Builder) { b.Reserve(0x1000, 0) }, "zero-size"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := NewBuilder()
			tc.write(b)
			_, err := b.Finish()
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestFirstErrorWins(t *testing.T) {
	b := NewBuilder()
	b.BeginNode("")
	b.PropertyEmpty("bad name")
	b.BeginNode("bad/name")
	_, err := b.Finish()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "property name")
}

// corrupt returns a copy of a valid blob with one 32-bit word replaced.
func corrupt(blob []byte, off int, v uint32) []byte {
	c := append([]byte(nil), blob...)
	binary.BigEndian.PutUint32(c[off:], v)
	return c
}

func TestParseErrors(t *testing.T) {
	good := build(t, sample)
	h := getHeader(good)
	structAt := int(h.offStruct)
	tests := []struct {
		name string
		blob []byte
		want string
	}{
		{"short", good[:HeaderSize-1], "shorter than"},
		{"magic", corrupt(good, 0, 0xfeedd00d), "bad magic"},
		{"totalsize", corrupt(good, 4, h.totalSize+1), "exceeds the"},
		{"truncated", good[:len(good)-1], "exceeds the"},
		{"too large", corrupt(append(good, make([]byte, MaxSize)...), 4, MaxSize+8), "limit"},
		{"struct misaligned", corrupt(good, 8, h.offStruct+2), "misaligned"},
		{"struct outside", corrupt(good, 36, h.totalSize), "structure block outside"},
		{"strings outside", corrupt(good, 32, h.totalSize), "strings block outside"},
		{"rsv in header", corrupt(good, 16, 8), "overlaps the header"},
		{"old version", corrupt(corrupt(good, 20, 15), 24, 15), "version"},
		{"future version", corrupt(good, 24, 18), "version"},
		{"no root token", corrupt(good, structAt, tokenProp), "starts with token"},
		{"named root", corrupt(good, structAt+4, 0x61000000), "root node has name"},
		{"bad token", corrupt(good, structAt+8, 0x77), "unexpected token"},
		{"no end", corrupt(good, int(h.offStruct+h.sizeStruct-4), tokenNop), "without FDT_END"},
		{"name offset", corrupt(good, structAt+16, 0xffff), "outside the"},
		{"value too long", corrupt(good, structAt+12, 0xffff), "runs past"},
		{"no rsv terminator", rsvUnterminated(good), "no terminating entry"},
		{"too many rsv", manyReservations(t), "more than"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.blob)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

// rsvUnterminated moves the reservation block to the last 8 bytes of the
// blob, where no 16-byte entry fits.
func rsvUnterminated(good []byte) []byte {
	return corrupt(good, 16, uint32(len(good)-8)&^7)
}

func manyReservations(t *testing.T) []byte {
	return build(t, func(b *Builder) {
		for i := 0; i <= MaxReservations; i++ {
			b.Reserve(uint64(i)<<12, 0x1000)
		}
		b.BeginNode("")
		b.EndNode()
	})
}

func TestParseRejectsDeepNesting(t *testing.T) {
	blob := build(t, func(b *Builder) {
		b.BeginNode("")
		for i := 0; i < MaxDepth; i++ {
			b.BeginNode("n")
		}
		for i := 0; i <= MaxDepth; i++ {
			b.EndNode()
		}
	})
	_, err := Parse(blob)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "deeper")
}

func TestParseSkipsNops(t *testing.T) {
	// A tree whose root holds one FDT_NOP before FDT_END_NODE, written by
	// hand: DTSpec 5.4.1 says a parser must ignore NOP tokens.
	blob := build(t, func(b *Builder) {
		b.BeginNode("")
		b.BeginNode("a")
		b.EndNode()
		b.EndNode()
	})
	h := getHeader(blob)
	// Words 0-1 are the root's FDT_BEGIN_NODE and empty name; words 2-4 the
	// child's FDT_BEGIN_NODE, "a" and FDT_END_NODE, which become NOPs.
	for i := 2; i <= 4; i++ {
		blob = corrupt(blob, int(h.offStruct)+4*i, tokenNop)
	}
	tree, err := Parse(blob)
	require.NoError(t, err)
	assert.Empty(t, tree.Root.Children)
}

// dtc decompiles blob with the device tree compiler, or skips the test when
// dtc is not installed (CI installs Debian's device-tree-compiler).
func dtc(t *testing.T, blob []byte) string {
	t.Helper()
	path, err := exec.LookPath("dtc")
	if err != nil {
		t.Skip("dtc not installed (Debian package device-tree-compiler); skipping the dtc round trip")
	}
	in := filepath.Join(t.TempDir(), "tree.dtb")
	require.NoError(t, os.WriteFile(in, blob, 0o644))
	var stderr strings.Builder
	cmd := exec.Command(path, "-I", "dtb", "-O", "dts", in)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "dtc: %s", stderr.String())
	return string(out)
}

func TestDTCDecompiles(t *testing.T) {
	dts := dtc(t, build(t, sample))
	for _, want := range []string{
		"/memreserve/\t0x0000000040000000 0x0000000000001000;",
		`compatible = "vendor,board\0generic";`,
		"memory@40000000 {",
		"reg = <0x00 0x40000000 0x00 0x10000000>;",
		"interrupt-controller;",
		"interrupts = <0x01 0x09 0x04>;",
		"raw = [de ad be];",
	} {
		assert.Contains(t, dts, want)
	}
}
