package fwcfg

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func directory(files ...File) []byte {
	raw := binary.BigEndian.AppendUint32(nil, uint32(len(files)))
	for _, f := range files {
		e := make([]byte, dirEntrySize)
		binary.BigEndian.PutUint32(e, f.Size)
		binary.BigEndian.PutUint16(e[4:], f.Selector)
		copy(e[8:], f.Name)
		raw = append(raw, e...)
	}
	return raw
}

func TestParseDirectoryFindsFiles(t *testing.T) {
	want := []File{{"etc/boot-fail-wait", 4, 0x20}, {"opt/bulkhead/el1", 123456, 0x21}}
	files, err := ParseDirectory(directory(want...))
	require.NoError(t, err)
	assert.Equal(t, want, files)
	f, err := Find(files, "opt/bulkhead/el1")
	require.NoError(t, err)
	assert.Equal(t, uint32(123456), f.Size)
	_, err = Find(files, "opt/other")
	assert.ErrorIs(t, err, ErrNotFound)
}

func TestParseDirectoryRejectsBadInput(t *testing.T) {
	_, err := ParseDirectory(nil)
	assert.ErrorContains(t, err, "no count")
	_, err = ParseDirectory(directory(File{"a", 1, 2})[:40])
	assert.ErrorContains(t, err, "truncated")
	huge := binary.BigEndian.AppendUint32(nil, MaxFiles+1)
	_, err = ParseDirectory(huge)
	assert.ErrorContains(t, err, "limit")
}

func TestNameWithoutTerminatorUsesAllBytes(t *testing.T) {
	name := "n2345678901234567890123456789012345678901234567890123456"
	require.Len(t, name, nameSize)
	files, err := ParseDirectory(directory(File{name, 1, 2}))
	require.NoError(t, err)
	assert.Equal(t, name, files[0].Name)
}

func FuzzParseDirectory(f *testing.F) {
	f.Add(directory(File{"opt/bulkhead/el1", 10, 0x20}))
	f.Add([]byte{0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, raw []byte) {
		files, err := ParseDirectory(raw)
		if err == nil {
			assert.LessOrEqual(t, DirectorySize(uint32(len(files))), uint64(len(raw)))
		}
	})
}
