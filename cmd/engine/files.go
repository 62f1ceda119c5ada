package main

import (
	"sort"
	"strings"

	"bulkhead/boot/virt"
	"bulkhead/boot/virt/fwcfg"
	"bulkhead/isolation/abi"
)

// bootFiles are the fw_cfg files offered to the host, in name order.
type bootFiles []fwcfg.File

// guestFiles picks the files under the guest prefix from a directory.
func guestFiles(dir []fwcfg.File) bootFiles {
	var out bootFiles
	for _, f := range dir {
		if strings.HasPrefix(f.Name, virt.FwCfgGuestPrefix) {
			out = append(out, f)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// owner answers who owns the page at pa (abi.Owner*), and whether pa is RAM.
type owner func(pa uint64) (kind uint64, ok bool)

// readRequest checks a FILE_READ: the file exists, pa is page aligned, the
// pages offered hold the file without overflow, and every page the file
// will cover belongs to the host. It returns the file to copy.
func (fs bootFiles) readRequest(index, pa, pages uint64, ownerOf owner) (fwcfg.File, abi.Status) {
	if index >= uint64(len(fs)) || pa%virt.PageSize != 0 {
		return fwcfg.File{}, abi.InvalidParameters
	}
	f := fs[index]
	need := (uint64(f.Size) + virt.PageSize - 1) / virt.PageSize
	if pages < need || pa+need*virt.PageSize < pa {
		return f, abi.InvalidParameters
	}
	for i := uint64(0); i < need; i++ {
		kind, ok := ownerOf(pa + i*virt.PageSize)
		if !ok {
			return f, abi.InvalidParameters
		}
		if kind != abi.OwnerHost {
			return f, abi.Denied
		}
	}
	return f, abi.Success
}

// info answers FILE_INFO: the size, and the name after the guest prefix
// packed into six registers.
func (fs bootFiles) info(index uint64) (size uint64, name [6]uint64, st abi.Status) {
	if index >= uint64(len(fs)) {
		return 0, name, abi.InvalidParameters
	}
	short := strings.TrimPrefix(fs[index].Name, virt.FwCfgGuestPrefix)
	for i := 0; i < len(short) && i < abi.FileNameBytes; i++ {
		name[i/8] |= uint64(short[i]) << (8 * (i % 8))
	}
	return uint64(fs[index].Size), name, abi.Success
}
