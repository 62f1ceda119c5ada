package loader

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// checkPlan asserts what every plan promises: segments in ascending IPA
// order, not overlapping, inside ram, with their file bytes inside the
// image, and an entry point inside a segment.
func checkPlan(t *testing.T, p Plan, img []byte, ram Region) {
	require.NotEmpty(t, p.Segments)
	entryInside := false
	for i, s := range p.Segments {
		require.LessOrEqual(t, s.FileSize, s.MemSize)
		require.True(t, ram.Contains(s.IPA, s.MemSize), "segment %d outside RAM", i)
		require.LessOrEqual(t, s.FileOffset, uint64(len(img)))
		require.LessOrEqual(t, s.FileSize, uint64(len(img))-s.FileOffset)
		if i > 0 {
			require.GreaterOrEqual(t, s.IPA, p.Segments[i-1].End())
		}
		if p.Entry >= s.IPA && p.Entry < s.End() {
			entryInside = true
		}
	}
	require.True(t, entryInside, "entry %#x outside every segment", p.Entry)
	require.GreaterOrEqual(t, p.End, p.Segments[len(p.Segments)-1].End())
}

// FuzzParseELF: ParseELF never panics, and every plan it returns is sound.
// Seeds live in testdata/fuzz/FuzzParseELF.
func FuzzParseELF(f *testing.F) {
	f.Add(mkELF(validSpec()))
	f.Fuzz(func(t *testing.T, img []byte) {
		plan, err := ParseELF(img, guestRAM)
		if err != nil {
			return
		}
		checkPlan(t, plan, img, guestRAM)
	})
}

// FuzzParseImage: ParseImage never panics, and every plan it returns is
// sound and starts text_offset past a 2 MiB boundary. Seeds live in
// testdata/fuzz/FuzzParseImage.
func FuzzParseImage(f *testing.F) {
	f.Add(mkImage(modernImage))
	f.Fuzz(func(t *testing.T, img []byte) {
		plan, err := ParseImage(img, guestRAM)
		if err != nil {
			return
		}
		checkPlan(t, plan, img, guestRAM)
		h, err := ParseImageHeader(img)
		require.NoError(t, err)
		require.Equal(t, h.TextOffset, plan.Entry%(2<<20))
	})
}
