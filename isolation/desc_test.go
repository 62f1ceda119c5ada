package isolation

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestVTCRFields(t *testing.T) {
	v := VTCR()
	assert.Equal(t, uint64(24), v&0x3f, "T0SZ: 40-bit IPA")
	assert.Equal(t, uint64(1), v>>6&3, "SL0: start at level 1")
	assert.Equal(t, uint64(0), v>>14&3, "TG0: 4 KiB")
	assert.Equal(t, uint64(2), v>>16&7, "PS: 40 bits")
	assert.Equal(t, uint64(3), v>>12&3, "SH0: inner shareable walks")
	assert.Equal(t, uint64(1), v>>31&1, "RES1")
	assert.Equal(t, uint64(0), v>>19&1, "VS: 8-bit VMID")
}

func TestVTTBRPlacesVMIDAndBase(t *testing.T) {
	assert.Equal(t, uint64(0x0003_0000_4020_2000), VTTBR(0x4020_2000, 3))
}

func TestGeometryCoversIPASpace(t *testing.T) {
	assert.Equal(t, uint64(1)<<IPABits, uint64(rootEntries)*levelSize(S2StartLevel))
	assert.Equal(t, uint64(1)<<30, levelSize(1))
	assert.Equal(t, uint64(2)<<20, levelSize(2))
	assert.Equal(t, uint64(PageSize), levelSize(3))
}

func TestLeafEncoding(t *testing.T) {
	cases := []struct {
		name string
		lvl  int
		attr Attr
		want uint64
	}{
		// valid | AF | MemAttr 1111 | SH 11 | S2AP 11, XN clear; page bit at level 3.
		{"page RWX normal", 3, Attr{Perms: PermRWX}, 0x4000_1000 | 0b11 | 1<<10 | 0xf<<2 | 3<<8 | 3<<6},
		// block: bit 1 clear; no X: XN (bit 54).
		{"block RW normal", 2, Attr{Perms: PermRW}, 0x4000_1000 | 0b01 | 1<<10 | 0xf<<2 | 3<<8 | 3<<6 | 1<<54},
		// device nGnRE: MemAttr 0001, SH 00; read-only.
		{"page R device", 3, Attr{Perms: PermR, Device: true}, 0x4000_1000 | 0b11 | 1<<10 | 1<<2 | 1<<6 | 1<<54},
		{"page W only", 3, Attr{Perms: PermW}, 0x4000_1000 | 0b11 | 1<<10 | 0xf<<2 | 3<<8 | 2<<6 | 1<<54},
		{"page X only", 3, Attr{Perms: PermX}, 0x4000_1000 | 0b11 | 1<<10 | 0xf<<2 | 3<<8},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := leafDesc(0x4000_1000, c.lvl, c.attr)
			assert.Equal(t, c.want, d)
			assert.Equal(t, c.attr, leafAttr(d))
			assert.Equal(t, PA(0x4000_1000), descOA(d))
			assert.True(t, isValid(d))
			assert.False(t, isTable(d, c.lvl))
		})
	}
}

func TestTableDescriptor(t *testing.T) {
	d := tableDesc(0x1234_5000)
	assert.Equal(t, uint64(0x1234_5003), d)
	assert.True(t, isTable(d, 1))
	assert.True(t, isTable(d, 2))
	assert.False(t, isTable(d, 3), "the same bits are a page at level 3")
}

func TestPageRangeRejectsOverflowAndBounds(t *testing.T) {
	ram := Range{0x4000_0000, 16 * PageSize}
	cases := []struct {
		name        string
		base, pages uint64
		ok          bool
	}{
		{"whole", 0x4000_0000, 16, true},
		{"last", 0x4000_f000, 1, true},
		{"zero pages", 0x4000_0000, 0, false},
		{"unaligned", 0x4000_0800, 1, false},
		{"past end", 0x4000_f000, 2, false},
		{"below", 0x3fff_f000, 1, false},
		{"overflow", 0xffff_ffff_ffff_f000, 2, false},
		{"huge count", 0x4000_0000, 1 << 60, false},
		{"max count", 0, 1<<52 - 1, false},
	}
	for _, c := range cases {
		assert.Equal(t, c.ok, pageRange(c.base, c.pages, ram), c.name)
	}
	assert.True(t, pageRange(0, 1<<52-1, Range{0, ^uint64(0)}), "largest representable range")
	assert.False(t, pageRange(0, 1<<52, Range{0, ^uint64(0)}), "end 2^64 does not fit")
}
