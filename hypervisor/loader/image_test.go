package loader

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// imageSpec describes a synthetic arm64 Image header.
type imageSpec struct {
	textOffset, imageSize, flags uint64
	fileSize                     int
}

func mkImage(s imageSpec) []byte {
	b := make([]byte, s.fileSize)
	le := binary.LittleEndian
	le.PutUint32(b[0:], 0x91005a4d) // add x13, x18, #0x16: "MZ" for EFI
	le.PutUint32(b[4:], 0x14000000)
	le.PutUint64(b[8:], s.textOffset)
	le.PutUint64(b[16:], s.imageSize)
	le.PutUint64(b[24:], s.flags)
	copy(b[0x38:], "ARM\x64")
	return b
}

// A v5.8+ kernel: text_offset 0, 4 KiB pages, placement anywhere.
var modernImage = imageSpec{textOffset: 0, imageSize: 0x200_0000, flags: 1<<1 | 1<<3, fileSize: 0x1000}

func TestParseImage(t *testing.T) {
	img := mkImage(modernImage)
	h, err := ParseImageHeader(img)
	require.NoError(t, err)
	assert.Equal(t, ImageHeader{TextOffset: 0, ImageSize: 0x200_0000, PageSize: 4096, Anywhere: true}, h)

	plan, err := ParseImage(img, guestRAM)
	require.NoError(t, err)
	assert.Equal(t, Plan{
		Kind: KindImage, Entry: 0x4000_0000, End: 0x4200_0000,
		Segments: []Segment{{IPA: 0x4000_0000, FileSize: 0x1000, MemSize: 0x200_0000, Perm: PermR | PermW | PermX}},
	}, plan)
	assert.Equal(t, KindImage, Detect(img))
}

func TestParseImageTextOffsetAndAlignment(t *testing.T) {
	// A pre-5.8 kernel with text_offset 0x80000, in RAM that does not start
	// on a 2 MiB boundary: the base rounds up, then text_offset is added.
	s := imageSpec{textOffset: 0x8_0000, imageSize: 0x100_0000, flags: 0, fileSize: 0x2000}
	ram := Region{Base: 0x4010_0000, Size: 64 << 20}
	plan, err := ParseImage(mkImage(s), ram)
	require.NoError(t, err)
	assert.Equal(t, uint64(0x4028_0000), plan.Entry)
	assert.Equal(t, uint64(0x4128_0000), plan.End)
	h, err := ParseImageHeader(mkImage(s))
	require.NoError(t, err)
	assert.Zero(t, h.PageSize, "flags bits 1-2 = 0: unspecified")
	assert.False(t, h.Anywhere)
}

func TestParseImagePageSizes(t *testing.T) {
	for bits, want := range map[uint64]uint64{1: 4 << 10, 2: 16 << 10, 3: 64 << 10} {
		s := modernImage
		s.flags = bits << 1
		h, err := ParseImageHeader(mkImage(s))
		require.NoError(t, err)
		assert.Equal(t, want, h.PageSize)
	}
}

func TestParseImageErrors(t *testing.T) {
	tests := []struct {
		name   string
		change func(*imageSpec)
		ram    Region
		want   string
	}{
		{"no size", func(s *imageSpec) { s.imageSize = 0 }, guestRAM, "older than v3.17"},
		{"big endian", func(s *imageSpec) { s.flags |= 1 }, guestRAM, "big-endian"},
		{"text_offset 2MiB", func(s *imageSpec) { s.textOffset = 2 << 20 }, guestRAM, "not below 2 MiB"},
		{"text_offset huge", func(s *imageSpec) { s.textOffset = 1<<64 - 4096 }, guestRAM, "not below 2 MiB"},
		{"text_offset unaligned", func(s *imageSpec) { s.textOffset = 0x80010 }, guestRAM, "not 4 KiB aligned"},
		{"file > image_size", func(s *imageSpec) { s.imageSize = 0x800 }, guestRAM, "larger than its image_size"},
		{"does not fit", func(s *imageSpec) { s.imageSize = guestRAM.Size + 1 }, guestRAM, "beyond guest RAM"},
		{"base past RAM", func(s *imageSpec) {}, Region{Base: 0x4000_1000, Size: 0x20_0000}, "beyond guest RAM"},
		{"base overflow", func(s *imageSpec) {}, Region{Base: 1<<64 - 0x10_0000, Size: 0x10_0000 - 1}, "beyond guest RAM"},
		{"empty RAM", func(s *imageSpec) {}, Region{Base: 0x4000_0000}, "empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := modernImage
			tc.change(&s)
			_, err := ParseImage(mkImage(s), tc.ram)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestParseImageHeaderShortOrNoMagic(t *testing.T) {
	img := mkImage(modernImage)
	_, err := ParseImageHeader(img[:63])
	require.Error(t, err)
	assert.Contains(t, err.Error(), "shorter than")
	img[0x3b] = 0
	_, err = ParseImageHeader(img)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no arm64 Image magic")
	assert.Equal(t, KindFlat, Detect(img))
}

// TestDebianKernel plans the kernel scripts/guest-images fetches, when it
// has been fetched.
func TestDebianKernel(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	path := filepath.Join(filepath.Dir(file), "..", "..", ".cache", "guest-images", "Image")
	img, err := os.ReadFile(path)
	if err != nil {
		t.Skip("no kernel in .cache/guest-images (run scripts/guest-images)")
	}
	plan, err := Load(img, guestRAM)
	require.NoError(t, err)
	assert.Equal(t, KindImage, plan.Kind)
	assert.Zero(t, plan.Entry%(2<<20), "text_offset is 0 since v5.8")
	assert.GreaterOrEqual(t, plan.Segments[0].MemSize, uint64(len(img)))
}

func TestFlat(t *testing.T) {
	plan, err := Flat(0x1234, guestRAM)
	require.NoError(t, err)
	assert.Equal(t, Plan{
		Kind: KindFlat, Entry: guestRAM.Base, End: guestRAM.Base + 0x1234,
		Segments: []Segment{{IPA: guestRAM.Base, FileSize: 0x1234, MemSize: 0x1234, Perm: PermR | PermW | PermX}},
	}, plan)

	plan, err = Load([]byte{0x1f, 0x20, 0x03, 0xd5}, Region{Base: 0x4000_1000, Size: 4 << 20})
	require.NoError(t, err)
	assert.Equal(t, KindFlat, plan.Kind)
	assert.Equal(t, uint64(0x4020_0000), plan.Entry, "rounded up to 2 MiB")
}

func TestFlatErrors(t *testing.T) {
	tests := []struct {
		name string
		size uint64
		ram  Region
		want string
	}{
		{"empty", 0, guestRAM, "empty"},
		{"too big", guestRAM.Size + 1, guestRAM, "does not fit"},
		{"no aligned base", 16, Region{Base: 0x4000_1000, Size: 0x1000}, "does not fit"},
		{"wrapping RAM", 16, Region{Base: 1<<64 - 0x1000, Size: 0x2000}, "wraps"},
		{"base overflow", 16, Region{Base: 1<<64 - 0x2000, Size: 0x1000}, "does not fit"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Flat(tc.size, tc.ram)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}
