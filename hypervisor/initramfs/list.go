package initramfs

import (
	"fmt"
	"strconv"
	"strings"
)

// ListEntry is one line of a gen_init_cpio file list. For a "file" line,
// Source is the host path whose contents become Entry.Data; the caller
// reads it, so this package never touches files.
type ListEntry struct {
	Entry
	Source string
}

// maxListLines bounds a list, so that parsing hostile input is bounded.
const maxListLines = 100_000

// ParseList parses the file list format of Linux's usr/gen_init_cpio
// (see its usage text), one entry per line, '#' starting a comment:
//
//	dir   <name> <mode> <uid> <gid>
//	file  <name> <location> <mode> <uid> <gid>
//	slink <name> <target> <mode> <uid> <gid>
//	nod   <name> <mode> <uid> <gid> <dev_type> <maj> <min>
//
// Modes are octal permission bits; dev_type is "c" or "b". Hard links,
// pipes and sockets are not supported.
func ParseList(text string) ([]ListEntry, error) {
	var out []ListEntry
	for i, line := range strings.Split(text, "\n") {
		if i >= maxListLines {
			return nil, fmt.Errorf("initramfs: list longer than %d lines", maxListLines)
		}
		if j := strings.IndexByte(line, '#'); j >= 0 {
			line = line[:j]
		}
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		e, err := parseLine(f)
		if err != nil {
			return nil, fmt.Errorf("initramfs: list line %d: %w", i+1, err)
		}
		out = append(out, e)
	}
	return out, nil
}

func parseLine(f []string) (ListEntry, error) {
	want := map[string]int{"dir": 5, "file": 6, "slink": 6, "nod": 8}[f[0]]
	if want == 0 {
		return ListEntry{}, fmt.Errorf("unsupported entry type %q", f[0])
	}
	if len(f) != want {
		return ListEntry{}, fmt.Errorf("%s takes %d fields, got %d", f[0], want-1, len(f)-1)
	}
	var e ListEntry
	e.Name = f[1]
	rest := f[2:]
	switch f[0] {
	case "dir":
		e.Mode = TypeDir
	case "file":
		e.Mode, e.Source, rest = TypeRegular, f[2], f[3:]
	case "slink":
		e.Mode, e.Data, rest = TypeSymlink, []byte(f[2]), f[3:]
	case "nod":
		if err := parseDevice(&e, f[5:]); err != nil {
			return e, err
		}
	}
	return e, parseOwner(&e, rest[:3])
}

// parseOwner reads <mode> <uid> <gid>.
func parseOwner(e *ListEntry, f []string) error {
	perm, err := strconv.ParseUint(f[0], 8, 32)
	if err != nil || perm > permMask {
		return fmt.Errorf("bad mode %q: want octal permission bits", f[0])
	}
	uid, err1 := strconv.ParseUint(f[1], 10, 32)
	gid, err2 := strconv.ParseUint(f[2], 10, 32)
	if err1 != nil || err2 != nil {
		return fmt.Errorf("bad uid/gid %q/%q", f[1], f[2])
	}
	e.Mode |= uint32(perm)
	e.UID, e.GID = uint32(uid), uint32(gid)
	return nil
}

// parseDevice reads <dev_type> <maj> <min>.
func parseDevice(e *ListEntry, f []string) error {
	switch f[0] {
	case "c":
		e.Mode = TypeChar
	case "b":
		e.Mode = TypeBlock
	default:
		return fmt.Errorf("bad device type %q: want c or b", f[0])
	}
	maj, err1 := strconv.ParseUint(f[1], 10, 32)
	minor, err2 := strconv.ParseUint(f[2], 10, 32)
	if err1 != nil || err2 != nil {
		return fmt.Errorf("bad device number %q:%q", f[1], f[2])
	}
	e.Major, e.Minor = uint32(maj), uint32(minor)
	return nil
}
