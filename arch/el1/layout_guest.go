//go:build tamago && arm64 && bulkhead_guest

package el1

import "bulkhead/boot/virt"

// A guest's memory (build tag bulkhead_guest): guest RAM below the part the
// hypervisor keeps for the device tree.
const (
	imageBase = virt.GuestRAMBase
	imageSize = virt.GuestRuntimeRAM
)
