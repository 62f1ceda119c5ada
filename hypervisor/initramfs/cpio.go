// Package initramfs writes initramfs archives: the "newc" (SVR4, no CRC)
// cpio format Linux unpacks into its rootfs at boot
// (Documentation/driver-api/early-userspace/buffer-format.rst), and reads
// the file lists of Linux's usr/gen_init_cpio so an archive can be
// described as text.
//
// The writer is strict where the kernel would silently go wrong: the kernel
// creates an entry's parent directories only if they came earlier in the
// archive, so a missing parent, a duplicate name or an unsafe path is an
// error here. Timestamps are zero so that archives are reproducible.
package initramfs

import (
	"fmt"
	"io"
	"path"
	"strings"
)

// File type bits of the cpio mode field (the S_IF* values of stat(2)).
const (
	TypeMask    = 0o170000
	TypeDir     = 0o040000
	TypeRegular = 0o100000
	TypeSymlink = 0o120000
	TypeChar    = 0o020000
	TypeBlock   = 0o060000
	permMask    = 0o7777
)

const (
	newcMagic  = "070701"
	headerSize = 110 // magic and 13 eight-digit hex fields
	trailer    = "TRAILER!!!"
	// maxName is the kernel's PATH_MAX: longer names are not unpacked.
	maxName = 4096
	// blockSize is the record size cpio(1) pads archives to.
	blockSize = 512
)

// Entry is one archive member. Mode holds the file type and permission
// bits. Data is a regular file's contents or a symlink's target. Major and
// Minor are a device node's number.
type Entry struct {
	Name         string
	Mode         uint32
	UID, GID     uint32
	Major, Minor uint32
	Data         []byte
}

// Writer writes a newc archive. Not safe for concurrent use.
type Writer struct {
	w      io.Writer
	n      int64
	ino    uint32
	seen   map[string]uint32 // name -> mode, to check parents and duplicates
	closed bool
}

// NewWriter returns a Writer that writes to w.
func NewWriter(w io.Writer) *Writer {
	return &Writer{w: w, seen: make(map[string]uint32)}
}

// Dir adds a directory.
func (w *Writer) Dir(name string, perm uint32) error {
	return w.WriteEntry(Entry{Name: name, Mode: TypeDir | perm})
}

// File adds a regular file.
func (w *Writer) File(name string, perm uint32, data []byte) error {
	return w.WriteEntry(Entry{Name: name, Mode: TypeRegular | perm, Data: data})
}

// Symlink adds a symbolic link to target.
func (w *Writer) Symlink(name, target string) error {
	return w.WriteEntry(Entry{Name: name, Mode: TypeSymlink | 0o777, Data: []byte(target)})
}

// CharDev adds a character device node, such as dev/console (5, 1).
func (w *Writer) CharDev(name string, perm, major, minor uint32) error {
	return w.WriteEntry(Entry{Name: name, Mode: TypeChar | perm, Major: major, Minor: minor})
}

// WriteEntry adds e. A leading "/" of its name is dropped: archive names
// are relative to the rootfs.
func (w *Writer) WriteEntry(e Entry) error {
	if w.closed {
		return fmt.Errorf("initramfs: write after Close")
	}
	name, err := w.check(e)
	if err != nil {
		return err
	}
	w.ino++
	nlink := uint32(1)
	if e.Mode&TypeMask == TypeDir {
		nlink = 2 // "." and the entry in its parent
	}
	if err := w.put(name, w.ino, e, nlink); err != nil {
		return err
	}
	w.seen[name] = e.Mode
	return nil
}

func (w *Writer) check(e Entry) (string, error) {
	name := strings.TrimPrefix(e.Name, "/")
	if err := checkName(name); err != nil {
		return "", err
	}
	if _, dup := w.seen[name]; dup {
		return "", fmt.Errorf("initramfs: %q added twice", name)
	}
	if dir := path.Dir(name); dir != "." && w.seen[dir]&TypeMask != TypeDir {
		return "", fmt.Errorf("initramfs: %q: parent directory %q not added before it", name, dir)
	}
	return name, checkMode(name, e)
}

func checkName(name string) error {
	switch {
	case name == "" || name == ".":
		return fmt.Errorf("initramfs: empty name")
	case len(name) >= maxName:
		return fmt.Errorf("initramfs: name of %d bytes is longer than PATH_MAX", len(name))
	case strings.IndexByte(name, 0) >= 0:
		return fmt.Errorf("initramfs: name %q contains NUL", name)
	case path.Clean(name) != name || name == ".." || strings.HasPrefix(name, "../"):
		return fmt.Errorf("initramfs: name %q is not a clean path inside the archive", name)
	case name == trailer:
		return fmt.Errorf("initramfs: name %q is the archive trailer", name)
	}
	return nil
}

func checkMode(name string, e Entry) error {
	if e.Mode&^(TypeMask|permMask) != 0 {
		return fmt.Errorf("initramfs: %q: mode %#o has bits beyond type and permissions", name, e.Mode)
	}
	switch e.Mode & TypeMask {
	case TypeDir, TypeChar, TypeBlock:
		if len(e.Data) != 0 {
			return fmt.Errorf("initramfs: %q: only files and symlinks have data", name)
		}
	case TypeSymlink:
		if len(e.Data) == 0 || len(e.Data) >= maxName {
			return fmt.Errorf("initramfs: %q: symlink target must be 1 to %d bytes", name, maxName-1)
		}
	case TypeRegular:
		if uint64(len(e.Data)) > 0xffff_ffff {
			return fmt.Errorf("initramfs: %q: %d bytes do not fit the 32-bit size field", name, len(e.Data))
		}
	default:
		return fmt.Errorf("initramfs: %q: unsupported file type %#o", name, e.Mode&TypeMask)
	}
	return nil
}

// put writes one header, the name and the data, each padded to 4 bytes
// (buffer-format.rst: the name is followed by NULs "to a multiple of four
// bytes" counted from the start of the header, and so is the data).
func (w *Writer) put(name string, ino uint32, e Entry, nlink uint32) error {
	var rmaj, rmin uint32
	if t := e.Mode & TypeMask; t == TypeChar || t == TypeBlock {
		rmaj, rmin = e.Major, e.Minor
	}
	fields := []uint32{ino, e.Mode, e.UID, e.GID, nlink, 0 /* mtime */, uint32(len(e.Data)),
		0, 0 /* dev */, rmaj, rmin, uint32(len(name) + 1), 0 /* check */}
	var b strings.Builder
	b.WriteString(newcMagic)
	for _, f := range fields {
		fmt.Fprintf(&b, "%08X", f)
	}
	b.WriteString(name)
	b.WriteByte(0)
	hdr := []byte(b.String())
	hdr = append(hdr, make([]byte, pad4(len(hdr)))...)
	if err := w.write(hdr); err != nil {
		return err
	}
	if err := w.write(e.Data); err != nil {
		return err
	}
	return w.write(make([]byte, pad4(len(e.Data))))
}

// Close writes the trailer and pads the archive to a 512-byte record, as
// cpio(1) does. It does not close the underlying writer.
func (w *Writer) Close() error {
	if w.closed {
		return nil
	}
	if err := w.put(trailer, 0, Entry{}, 1); err != nil {
		return err
	}
	w.closed = true
	return w.write(make([]byte, (blockSize-int(w.n%blockSize))%blockSize))
}

func (w *Writer) write(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	n, err := w.w.Write(b)
	w.n += int64(n)
	return err
}

func pad4(n int) int { return (4 - n%4) % 4 }
