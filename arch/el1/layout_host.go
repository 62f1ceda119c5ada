//go:build tamago && arm64 && !bulkhead_guest

package el1

import "bulkhead/boot/virt"

// The hypervisor's memory: the host region of the layout.
const (
	imageBase = virt.HostBase
	imageSize = virt.HostSize
)

// reportExit does nothing for the host: its exit status is the machine's.
func reportExit(int32) {}
