package loader

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// kernelAt is an Image-style plan occupying [start, end).
func kernelAt(start, end uint64) Plan {
	return Plan{Kind: KindImage, Entry: start, End: end,
		Segments: []Segment{{IPA: start, MemSize: end - start}}}
}

func TestPlace(t *testing.T) {
	k := kernelAt(0x4000_0000, 0x4123_4567)
	l, err := Place(guestRAM, k, 0x80_0001, 0x1000)
	require.NoError(t, err)
	assert.Equal(t, Range{0x4123_5000, 0x41a3_5001}, l.Initrd, "page after the kernel")
	assert.Equal(t, Range{0x41c0_0000, 0x41c0_1000}, l.DTB, "next 2 MiB boundary")
	assert.Equal(t, uint64(0x80_0001), l.Initrd.Size())

	l, err = Place(guestRAM, k, 0, MaxDTBSize)
	require.NoError(t, err)
	assert.Equal(t, Range{}, l.Initrd)
	assert.Equal(t, Range{0x4140_0000, 0x4160_0000}, l.DTB)
}

// TestPlaceInvariants checks the booting.rst rules over a grid of sizes.
func TestPlaceInvariants(t *testing.T) {
	for _, kend := range []uint64{0x4000_1000, 0x401f_ffff, 0x4020_0000, 0x4321_0000} {
		for _, isz := range []uint64{0, 1, 0x1000, 0x1f_ffff, 0x20_0001} {
			for _, dsz := range []uint64{1, 8, 0x1000, MaxDTBSize} {
				k := kernelAt(0x4000_0000, kend)
				l, err := Place(guestRAM, k, isz, dsz)
				require.NoError(t, err)
				assert.Zero(t, l.DTB.Start%8, "booting.rst: 8-byte aligned")
				assert.Zero(t, l.DTB.Start%(2<<20), "own 2 MiB block")
				assert.Equal(t, dsz, l.DTB.Size())
				assert.GreaterOrEqual(t, l.DTB.Start, k.End)
				if isz > 0 {
					assert.Zero(t, l.Initrd.Start%4096)
					assert.GreaterOrEqual(t, l.Initrd.Start, k.End)
					assert.GreaterOrEqual(t, l.DTB.Start, l.Initrd.End)
					assert.Equal(t, isz, l.Initrd.Size())
				}
				assert.True(t, guestRAM.Contains(l.DTB.Start, l.DTB.Size()))
			}
		}
	}
}

func TestPlaceErrors(t *testing.T) {
	big := Region{Base: 0x4000_0000, Size: 64 << 30}
	tests := []struct {
		name   string
		ram    Region
		kernel Plan
		initrd uint64
		dtb    uint64
		want   string
	}{
		{"no dtb", guestRAM, kernelAt(0x4000_0000, 0x4100_0000), 0, 0, "empty"},
		{"dtb too big", guestRAM, kernelAt(0x4000_0000, 0x4100_0000), 0, MaxDTBSize + 1, "exceeds"},
		{"dtb past RAM", guestRAM, kernelAt(0x4000_0000, guestRAM.End()-0x1000), 0, 0x100, "does not fit"},
		{"initrd past RAM", guestRAM, kernelAt(0x4000_0000, 0x4100_0000), guestRAM.Size, 0x100, "does not fit"},
		{"initrd size wraps", guestRAM, kernelAt(0x4000_0000, 0x4100_0000), 1<<64 - 0x1000, 0x100, "does not fit"},
		{"kernel outside RAM", guestRAM, kernelAt(0x3000_0000, 0x3100_0000), 0, 0x100, "not inside guest RAM"},
		{"kernel inverted", guestRAM, kernelAt(0x4100_0000, 0x4000_0000), 0, 0x100, "not inside guest RAM"},
		{"window exceeded", big, kernelAt(0x4000_0000, 0x7_f000_0000), 0x1_0000_0000, 0x100, "32 GiB window"},
		{"empty RAM", Region{Base: 0x4000_0000}, kernelAt(0x4000_0000, 0x4100_0000), 0, 0x100, "empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Place(tc.ram, tc.kernel, tc.initrd, tc.dtb)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestPlaceWithinWindow(t *testing.T) {
	// Kernel at 1 GiB, initramfs ending exactly at the 32 GiB window's end.
	big := Region{Base: 0x4000_0000, Size: 64 << 30}
	k := kernelAt(0x4000_0000, 0x4100_0000)
	size := uint64(0x8_4000_0000) - 0x4100_0000
	l, err := Place(big, k, size, 0x100)
	require.NoError(t, err)
	assert.Equal(t, uint64(0x8_4000_0000), l.Initrd.End)
}
