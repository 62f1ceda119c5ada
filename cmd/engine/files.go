package main

import (
	"sort"
	"strings"

	"bulkhead/boot/virt"
	"bulkhead/boot/virt/fwcfg"
	"bulkhead/isolation"
	"bulkhead/isolation/abi"
)

// bootFiles are the fw_cfg files offered to the host, in name order. The
// isolation core answers FILE_INFO and FILE_READ from their description
// (table); the machine copies them (machine.CopyFile).
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

// table describes the files to the core: each one's size, and its name
// after the guest prefix packed into FILE_INFO's six registers.
func (fs bootFiles) table() []isolation.BootFile {
	out := make([]isolation.BootFile, len(fs))
	for i, f := range fs {
		out[i].Size = uint64(f.Size)
		short := strings.TrimPrefix(f.Name, virt.FwCfgGuestPrefix)
		for j := 0; j < len(short) && j < abi.FileNameBytes; j++ {
			out[i].Name[j/8] |= uint64(short[j]) << (8 * (j % 8))
		}
	}
	return out
}
