// Package fwcfg reads files from QEMU's firmware configuration device
// (QEMU docs/specs/fw_cfg.rst). The directory format is parsed here in pure
// Go; the register access in fwcfg_tamago.go runs only on the target.
package fwcfg

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Selector keys (fw_cfg.rst, "Selector Register").
const (
	KeySignature = 0x0000
	KeyID        = 0x0001
	KeyFileDir   = 0x0019
)

// FeatureDMA is the bit of KeyID's value that announces the DMA interface.
const FeatureDMA = 1 << 1

// File is one directory entry.
type File struct {
	Name     string
	Size     uint32
	Selector uint16
}

const (
	dirEntrySize = 64 // u32 size, u16 select, u16 reserved, char name[56]
	nameSize     = 56
	// MaxFiles bounds the directory; QEMU's own limit (FW_CFG_FILE_SLOTS)
	// defaults to 0x20 and is at most 0x1000.
	MaxFiles = 0x1000
)

// ErrNotFound reports a name absent from the directory.
var ErrNotFound = errors.New("fw_cfg: no such file")

// ParseDirectory decodes the big-endian file directory (a u32 count then
// the entries) from raw.
func ParseDirectory(raw []byte) ([]File, error) {
	if len(raw) < 4 {
		return nil, fmt.Errorf("fw_cfg: directory of %d bytes has no count", len(raw))
	}
	count := binary.BigEndian.Uint32(raw)
	if count > MaxFiles {
		return nil, fmt.Errorf("fw_cfg: directory claims %d files (limit %d)", count, MaxFiles)
	}
	if uint64(len(raw)-4) < uint64(count)*dirEntrySize {
		return nil, fmt.Errorf("fw_cfg: directory of %d entries is truncated", count)
	}
	files := make([]File, 0, count)
	for i := uint32(0); i < count; i++ {
		files = append(files, parseEntry(raw[4+i*dirEntrySize:]))
	}
	return files, nil
}

func parseEntry(e []byte) File {
	name := e[8 : 8+nameSize]
	for i, c := range name {
		if c == 0 {
			name = name[:i]
			break
		}
	}
	return File{
		Size:     binary.BigEndian.Uint32(e[0:]),
		Selector: binary.BigEndian.Uint16(e[4:]),
		Name:     string(name),
	}
}

// Find returns the entry called name.
func Find(files []File, name string) (File, error) {
	for _, f := range files {
		if f.Name == name {
			return f, nil
		}
	}
	return File{}, fmt.Errorf("%w: %q", ErrNotFound, name)
}

// DirectorySize returns the bytes a directory of count entries occupies.
func DirectorySize(count uint32) uint64 { return 4 + uint64(count)*dirEntrySize }
