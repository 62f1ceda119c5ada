package initramfs

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const guestList = `
# the test guest
dir /dev 0755 0 0
nod /dev/console 0600 0 0 c 5 1
nod /dev/vda 0660 0 6 b 254 0   # a block device
dir /bin 0755 0 0
file /bin/busybox /tmp/busybox 0755 0 0
slink /bin/sh busybox 0777 0 0
`

func TestParseList(t *testing.T) {
	got, err := ParseList(guestList)
	require.NoError(t, err)
	assert.Equal(t, []ListEntry{
		{Entry: Entry{Name: "/dev", Mode: TypeDir | 0o755}},
		{Entry: Entry{Name: "/dev/console", Mode: TypeChar | 0o600, Major: 5, Minor: 1}},
		{Entry: Entry{Name: "/dev/vda", Mode: TypeBlock | 0o660, GID: 6, Major: 254}},
		{Entry: Entry{Name: "/bin", Mode: TypeDir | 0o755}},
		{Entry: Entry{Name: "/bin/busybox", Mode: TypeRegular | 0o755}, Source: "/tmp/busybox"},
		{Entry: Entry{Name: "/bin/sh", Mode: TypeSymlink | 0o777, Data: []byte("busybox")}},
	}, got)
}

func TestParseListErrors(t *testing.T) {
	tests := []struct{ line, want string }{
		{"pipe /p 0644 0 0", "unsupported entry type"},
		{"dir /d 0755 0", "takes 4 fields"},
		{"file /f 0644 0 0", "takes 5 fields"},
		{"dir /d 0758 0 0", "bad mode"},
		{"dir /d 17777 0 0", "bad mode"},
		{"dir /d 0755 root 0", "bad uid/gid"},
		{"dir /d 0755 0 -1", "bad uid/gid"},
		{"nod /n 0600 0 0 x 5 1", "bad device type"},
		{"nod /n 0600 0 0 c five 1", "bad device number"},
		{"nod /n 0600 0 0 c 5 4294967296", "bad device number"},
	}
	for _, tc := range tests {
		t.Run(tc.line, func(t *testing.T) {
			_, err := ParseList("dir /ok 0755 0 0\n" + tc.line)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "line 2")
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

// FuzzParseList: ParseList never panics, and the entries it accepts either
// write into an archive that reads back the same, or are refused by the
// Writer with an error.
func FuzzParseList(f *testing.F) {
	f.Add(guestList)
	f.Add("slink /a b 0777 0 0\nnod /c 7777 1 2 c 3 4")
	f.Fuzz(func(t *testing.T, text string) {
		entries, err := ParseList(text)
		if err != nil {
			return
		}
		var buf bytes.Buffer
		w := NewWriter(&buf)
		var written []Entry
		for _, e := range entries {
			if w.WriteEntry(e.Entry) == nil {
				e.Entry.Name = trimSlash(e.Entry.Name)
				written = append(written, e.Entry)
			}
		}
		require.NoError(t, w.Close())
		got, err := readArchive(buf.Bytes())
		require.NoError(t, err)
		require.Equal(t, written, got)
	})
}

func trimSlash(s string) string {
	if len(s) > 0 && s[0] == '/' {
		return s[1:]
	}
	return s
}
