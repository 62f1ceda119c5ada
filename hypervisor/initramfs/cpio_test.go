package initramfs

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// readArchive is an independent newc reader for the tests: it follows
// buffer-format.rst, not the writer's code.
func readArchive(b []byte) ([]Entry, error) {
	var out []Entry // nil when the archive is empty, like a nil Data
	off := 0
	for {
		if off+headerSize > len(b) {
			return nil, errors.New("truncated header")
		}
		h := string(b[off : off+headerSize])
		if h[:6] != "070701" {
			return nil, errors.New("bad magic " + h[:6])
		}
		field := func(i int) uint32 {
			v, err := strconv.ParseUint(h[6+8*i:14+8*i], 16, 32)
			if err != nil {
				panic(err)
			}
			return uint32(v)
		}
		mode, size, namesize := field(1), field(6), field(11)
		nameEnd := off + headerSize + int(namesize)
		if namesize == 0 || nameEnd > len(b) || b[nameEnd-1] != 0 {
			return nil, errors.New("bad name")
		}
		name := string(b[off+headerSize : nameEnd-1])
		dataOff := (nameEnd + 3) &^ 3
		if dataOff+int(size) > len(b) {
			return nil, errors.New("truncated data")
		}
		if name == "TRAILER!!!" {
			return out, nil
		}
		out = append(out, Entry{
			Name: name, Mode: mode, UID: field(2), GID: field(3),
			Major: field(9), Minor: field(10),
			Data: append([]byte(nil), b[dataOff:dataOff+int(size)]...),
		})
		off = (dataOff + int(size) + 3) &^ 3
	}
}

// guestArchive is the shape of the test guest's initramfs.
func guestArchive(t *testing.T) ([]byte, []Entry) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	require.NoError(t, w.Dir("/dev", 0o755))
	require.NoError(t, w.CharDev("/dev/console", 0o600, 5, 1))
	require.NoError(t, w.Dir("bin", 0o755))
	require.NoError(t, w.File("bin/busybox", 0o755, []byte("\x7fELF not really")))
	require.NoError(t, w.Symlink("bin/sh", "busybox"))
	require.NoError(t, w.File("init", 0o755, []byte("#!/bin/sh\necho hi\n")))
	require.NoError(t, w.File("empty", 0o644, nil))
	require.NoError(t, w.Close())
	want := []Entry{
		{Name: "dev", Mode: TypeDir | 0o755},
		{Name: "dev/console", Mode: TypeChar | 0o600, Major: 5, Minor: 1},
		{Name: "bin", Mode: TypeDir | 0o755},
		{Name: "bin/busybox", Mode: TypeRegular | 0o755, Data: []byte("\x7fELF not really")},
		{Name: "bin/sh", Mode: TypeSymlink | 0o777, Data: []byte("busybox")},
		{Name: "init", Mode: TypeRegular | 0o755, Data: []byte("#!/bin/sh\necho hi\n")},
		{Name: "empty", Mode: TypeRegular | 0o644},
	}
	return buf.Bytes(), want
}

func TestRoundTrip(t *testing.T) {
	b, want := guestArchive(t)
	got, err := readArchive(b)
	require.NoError(t, err)
	assert.Equal(t, want, got)
	assert.Zero(t, len(b)%512, "padded to a 512-byte record")
}

func TestHeaderFields(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	require.NoError(t, w.Dir("d", 0o700))
	h := buf.String()
	// buffer-format.rst: magic, then c_ino, c_mode, c_uid, c_gid, c_nlink,
	// c_mtime, c_filesize, c_maj, c_min, c_rmaj, c_rmin, c_namesize, c_chksum.
	assert.Equal(t, "070701", h[:6])
	assert.Equal(t, "00000001", h[6:14], "first inode")
	assert.Equal(t, "000041C0", h[14:22], "S_IFDIR|0700")
	assert.Equal(t, "00000002", h[38:46], "directories have two links")
	assert.Equal(t, "00000000", h[46:54], "mtime 0: reproducible")
	assert.Equal(t, "00000002", h[94:102], `namesize counts the NUL of "d"`)
	assert.Equal(t, "d\x00", h[110:112])
	assert.Zero(t, buf.Len()%4)
}

func TestReproducible(t *testing.T) {
	a, _ := guestArchive(t)
	b, _ := guestArchive(t)
	assert.Equal(t, a, b)
}

func TestWriterErrors(t *testing.T) {
	tests := []struct {
		name string
		e    Entry
		want string
	}{
		{"empty name", Entry{Name: "/", Mode: TypeDir}, "empty name"},
		{"dot", Entry{Name: ".", Mode: TypeDir}, "empty name"},
		{"dotdot", Entry{Name: "../etc", Mode: TypeDir}, "not a clean path"},
		{"unclean", Entry{Name: "dev//x", Mode: TypeDir}, "not a clean path"},
		{"inner dotdot", Entry{Name: "dev/../x", Mode: TypeDir}, "not a clean path"},
		{"trailing slash", Entry{Name: "dev/", Mode: TypeDir}, "not a clean path"},
		{"nul", Entry{Name: "a\x00b", Mode: TypeRegular}, "NUL"},
		{"long", Entry{Name: strings.Repeat("a", maxName), Mode: TypeRegular}, "PATH_MAX"},
		{"trailer", Entry{Name: "TRAILER!!!", Mode: TypeRegular}, "trailer"},
		{"duplicate", Entry{Name: "dev", Mode: TypeDir}, "twice"},
		{"no parent", Entry{Name: "etc/passwd", Mode: TypeRegular}, "parent directory"},
		{"parent not dir", Entry{Name: "init/x", Mode: TypeRegular}, "parent directory"},
		{"bad mode bits", Entry{Name: "x", Mode: TypeRegular | 1<<20}, "beyond type"},
		{"fifo", Entry{Name: "x", Mode: 0o010000 | 0o644}, "unsupported file type"},
		{"no type", Entry{Name: "x", Mode: 0o644}, "unsupported file type"},
		{"dir with data", Entry{Name: "x", Mode: TypeDir, Data: []byte("a")}, "only files and symlinks"},
		{"empty symlink", Entry{Name: "x", Mode: TypeSymlink | 0o777}, "symlink target"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := NewWriter(&bytes.Buffer{})
			require.NoError(t, w.Dir("dev", 0o755))
			require.NoError(t, w.File("init", 0o755, nil))
			err := w.WriteEntry(tc.e)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestWriteAfterClose(t *testing.T) {
	w := NewWriter(&bytes.Buffer{})
	require.NoError(t, w.Close())
	require.NoError(t, w.Close(), "Close is idempotent")
	err := w.Dir("x", 0o755)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "after Close")
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriterPropagatesErrors(t *testing.T) {
	w := NewWriter(failWriter{})
	assert.ErrorContains(t, w.Dir("x", 0o755), "disk full")
	assert.ErrorContains(t, w.Close(), "disk full")
}

func lookCpio(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("cpio")
	if err != nil {
		t.Skip("cpio not installed (Debian package cpio); skipping the cpio round trip")
	}
	return p
}

// TestCpioLists checks that GNU cpio reads the archive and lists every
// member in order.
func TestCpioLists(t *testing.T) {
	cpio := lookCpio(t)
	b, want := guestArchive(t)
	cmd := exec.Command(cpio, "-t", "--quiet")
	cmd.Stdin = bytes.NewReader(b)
	out, err := cmd.Output()
	require.NoError(t, err)
	var names []string
	for _, e := range want {
		names = append(names, e.Name)
	}
	assert.Equal(t, names, strings.Fields(string(out)))
}

// TestCpioExtracts unpacks the archive with GNU cpio and checks the files,
// the symlink and, when running as root, the device node.
func TestCpioExtracts(t *testing.T) {
	cpio := lookCpio(t)
	b, want := guestArchive(t)
	dir := t.TempDir()
	cmd := exec.Command(cpio, "-i", "--quiet", "--no-absolute-filenames", "--make-directories")
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(b)
	out, err := cmd.CombinedOutput()
	if os.Geteuid() != 0 {
		// Only root may create dev/console; everything else must be there.
		t.Log("not root: cpio cannot create the device node:", string(out))
	} else {
		require.NoError(t, err, string(out))
	}
	for _, e := range want {
		p := filepath.Join(dir, e.Name)
		fi, err := os.Lstat(p)
		if e.Mode&TypeMask == TypeChar && os.Geteuid() != 0 {
			continue
		}
		require.NoError(t, err, e.Name)
		st := fi.Sys().(*syscall.Stat_t)
		assert.Equal(t, e.Mode&TypeMask, st.Mode&syscall.S_IFMT, e.Name)
		switch e.Mode & TypeMask {
		case TypeRegular:
			data, err := os.ReadFile(p)
			require.NoError(t, err)
			assert.Equal(t, string(e.Data), string(data), e.Name)
			assert.Equal(t, e.Mode&0o777, st.Mode&0o777, e.Name)
		case TypeSymlink:
			target, err := os.Readlink(p)
			require.NoError(t, err)
			assert.Equal(t, string(e.Data), target)
		case TypeChar:
			assert.Equal(t, uint64(5<<8|1), st.Rdev, "dev/console is 5,1")
		}
	}
}
