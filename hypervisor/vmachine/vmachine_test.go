package vmachine

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"bulkhead/boot/virt"
)

// TestLayoutFits checks that the guest view is a consistent board: every
// vCPU's redistributor lies inside the board's region, devices do not
// overlap each other or RAM, and the largest RAM stays below 256 GiB.
func TestLayoutFits(t *testing.T) {
	assert.Equal(t, 123, MaxVCPUs, "0xF60000 / 0x20000 redistributors")
	last := GICRBase + uint64(MaxVCPUs)*GICRStride
	assert.LessOrEqual(t, last, virt.GICR.End())
	assert.Greater(t, last+GICRStride, virt.GICR.End(), "MaxVCPUs is the most that fit")

	devices := []virt.Region{UART, GICD, {Name: "gicr", Base: GICRBase, Size: uint64(MaxVCPUs) * GICRStride}}
	ram := virt.Region{Name: "ram", Base: RAMBase, Size: MaxRAMSize}
	for i, d := range devices {
		assert.False(t, d.Overlaps(ram), d.Name)
		for _, e := range devices[i+1:] {
			assert.False(t, d.Overlaps(e), "%s and %s", d.Name, e.Name)
		}
	}
	assert.Equal(t, uint64(256<<30), ram.End())
}

func TestInterruptIDs(t *testing.T) {
	for _, ppi := range []int{MaintenanceIntID, TimerSecureIntID, TimerPhysIntID, TimerVirtIntID, TimerHypIntID} {
		assert.GreaterOrEqual(t, ppi, PPIBase)
		assert.Less(t, ppi, SPIBase)
	}
	assert.Equal(t, 1, UARTIntID-SPIBase, "the UART is SPI 1")
}
