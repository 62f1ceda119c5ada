//go:build tamago && arm64 && !bulkhead_guest

package el1

import "bulkhead/boot/virt"

// The hypervisor's memory: the host region of the layout.
const (
	imageBase = virt.HostBase
	imageSize = virt.HostSize
)

// reportExit says on the console that the host image failed (a Go panic
// exits with 2); `bulkhead run` reads that line as a machine failure.
func reportExit(code int32) {
	if code != 0 {
		print("el1: exiting with code ", code, ", powering off\n")
	}
}

func layoutMark() string { return "host" }
