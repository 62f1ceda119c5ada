// Package vmachine describes the machine every guest sees (DESIGN.md
// section 4): a small QEMU-virt-like board, so that images built for QEMU
// `virt` run unchanged. The addresses are the board's own (package
// boot/virt), because guests are built against that memory map; only the
// RAM size and the vCPU count vary per VM.
//
// The device tree generator, the loader's placement and the device models
// read their values from here.
package vmachine

import "bulkhead/boot/virt"

// Guest physical (IPA) layout: the board's addresses, seen by each guest.
var (
	// RAMBase is the IPA of the first byte of guest RAM.
	RAMBase = virt.RAM.Base
	// UART is the PL011's register frame.
	UART = virt.UART
	// GICD is the GICv3 distributor's register frame.
	GICD = virt.GICD
	// ExitStatus is the register a guest writes its exit status to
	// (boot/virt.ExitStatus).
	ExitStatus = virt.ExitStatus
	// Virtio is the window of the virtio-mmio transports: slot n at
	// Virtio.Base + n*VirtioStride, interrupting on VirtioIntID(n).
	Virtio = virt.Virtio
	// GICRBase is the first redistributor; vCPU n's frames start at
	// GICRBase + n*GICRStride.
	GICRBase = virt.GICR.Base
	// MaxVCPUs is how many redistributors fit in the board's region.
	MaxVCPUs = int(virt.GICR.Size / GICRStride)
)

// GICRStride is one redistributor: the RD_base and SGI_base 64 KiB frames
// (GICv3 architecture specification, IHI 0069, 12.10).
const GICRStride = virt.GICRStridePerPE

// VirtioStride is one virtio-mmio transport's window.
const VirtioStride = virt.VirtioStride

// VirtioSlots is how many virtio-mmio transports the window holds.
const VirtioSlots = virt.VirtioSlots

// VirtioIntID is the interrupt of virtio-mmio slot n.
func VirtioIntID(n int) int { return virt.VirtioSPIBase + n }

// MaxRAMSize bounds guest RAM so that it ends below the IPA where QEMU virt
// places its high MMIO regions (256 GiB, hw/arm/virt.c).
const MaxRAMSize = 0x40_0000_0000 - 0x4000_0000

// UARTClockHz is the PL011 reference clock QEMU virt describes: one fixed
// 24 MHz clock feeds both uartclk and apb_pclk.
const UARTClockHz = 24_000_000

// Interrupt ids (INTIDs; IHI 0069 2.2): PPIs are 16-31 and SPIs 32-1019.
const (
	PPIBase = 16
	SPIBase = 32

	// MaintenanceIntID is the GIC maintenance interrupt (PPI 9).
	MaintenanceIntID = virt.MaintenancePPI
	// Interrupts of the architected timer: secure physical (PPI 13),
	// non-secure physical (PPI 14), virtual (PPI 11), hypervisor (PPI 10).
	TimerSecureIntID = virt.TimerSecurePPI
	TimerPhysIntID   = virt.TimerPhysPPI
	TimerVirtIntID   = virt.TimerVirtPPI
	TimerHypIntID    = virt.TimerHypPPI
	// UARTIntID is the PL011's interrupt (SPI 1).
	UARTIntID = virt.UARTSPI
)
