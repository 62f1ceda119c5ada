//go:build tamago && arm64 && bulkhead_guest

package el1

import (
	"bulkhead/arch/arm64"
	"bulkhead/boot/virt"
)

// A guest's memory (build tag bulkhead_guest): guest RAM below the part the
// hypervisor keeps for the device tree.
const (
	imageBase = virt.GuestRAMBase
	imageSize = virt.GuestRuntimeRAM
)

// reportExit writes a guest program's exit status to the machine's
// exit-status register (boot/virt.ExitStatus) before it powers off, so
// os.Exit(n) inside a guest is the status `bulkhead run` exits with.
// Statuses past the guests' range become its last value, still a failure.
func reportExit(code int32) {
	if code < 0 || code > virt.ExitStatusMax {
		code = virt.ExitStatusMax
	}
	arm64.Write32(virt.ExitStatus.Base, uint32(code))
}

// GuestLayoutMark is in every image built for the guest layout: `bulkhead
// exec` looks for it to tell a guest program from one linked for the
// host's layout (test binaries carry no symbol table to look in).
var GuestLayoutMark = "bulkhead:guest-layout"

func layoutMark() string { return GuestLayoutMark }
