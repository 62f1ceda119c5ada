// Package guestdt generates the device tree a guest is entered with: a
// description of exactly the machine guests see (DESIGN.md section 4,
// package vmachine), in the shape QEMU virt gives it, so that kernels built
// for QEMU virt find their devices the way they expect.
//
// Bindings followed (Linux Documentation/devicetree/bindings): arm/cpus.yaml,
// arm/psci.yaml, interrupt-controller/arm,gic-v3.yaml, timer/arm,arch_timer.yaml,
// serial/pl011.yaml, clock/fixed-clock.yaml, and DTSpec v0.4 chapter 3 for
// /memory, /cpus and /chosen.
package guestdt

import (
	"errors"
	"fmt"
	"strings"

	"bulkhead/boot/fdt"
	"bulkhead/hypervisor/vmachine"
)

// Config is what varies between guests.
type Config struct {
	// RAMSize is the size of guest RAM in bytes, from vmachine.RAMBase. It
	// must be a non-zero multiple of 4 KiB and at most vmachine.MaxRAMSize.
	RAMSize uint64
	// VCPUs is the number of vCPUs, 1 to vmachine.MaxVCPUs; their MPIDR
	// affinity values (the cpu nodes' reg) are 0 to VCPUs-1.
	VCPUs int
	// Bootargs is the kernel command line, /chosen/bootargs.
	Bootargs string
	// Initrd, when its End is above its Start, is the IPA range of the
	// initramfs, /chosen/linux,initrd-start and linux,initrd-end.
	Initrd Range
	// Virtio lists the virtio-mmio slots that hold a device, each described
	// by a node (virtio/mmio.yaml) in the order given, which is the order
	// Linux probes them (the first block device is vda).
	Virtio []int
}

// Range is the IPA range [Start, End).
type Range struct {
	Start, End uint64
}

// Phandles of the nodes other nodes refer to.
const (
	gicPhandle   = 1
	clockPhandle = 2
)

// Interrupt specifier cells of arm,gic-v3.yaml: type, number, flags.
const (
	irqTypeSPI = 0
	irqTypePPI = 1
	// irqLevelHigh is IRQ_TYPE_LEVEL_HIGH. QEMU 7.2 virt writes it for the
	// timer PPIs with a GICv3 (hw/arm/virt.c fdt_add_timer_nodes; checked
	// against its dumpdtb output in the tests) and for the UART SPI.
	irqLevelHigh = 4
)

// Path of the UART node, used for /chosen/stdout-path.
var uartName = fmt.Sprintf("pl011@%x", vmachine.UART.Base)

// StdoutPath is the value of /chosen/stdout-path.
var StdoutPath = "/" + uartName

// Build returns the flattened device tree for a guest described by c.
func Build(c Config) ([]byte, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	b := fdt.NewBuilder()
	b.BeginNode("")
	root(b)
	psci(b)
	memory(b, c.RAMSize)
	uart(b)
	exitStatus(b)
	for _, slot := range c.Virtio {
		virtioMMIO(b, slot)
	}
	gic(b, c.VCPUs)
	cpus(b, c.VCPUs)
	timer(b)
	clock(b)
	chosen(b, c)
	b.EndNode()
	return b.Finish()
}

func (c Config) check() error {
	const page = 4 << 10
	switch {
	case c.RAMSize == 0 || c.RAMSize%page != 0:
		return fmt.Errorf("guestdt: RAM size %#x is not a non-zero multiple of 4 KiB", c.RAMSize)
	case c.RAMSize > vmachine.MaxRAMSize:
		return fmt.Errorf("guestdt: RAM size %#x exceeds the %#x guests can have", c.RAMSize, uint64(vmachine.MaxRAMSize))
	case c.VCPUs < 1 || c.VCPUs > vmachine.MaxVCPUs:
		return fmt.Errorf("guestdt: %d vCPUs, want 1 to %d", c.VCPUs, vmachine.MaxVCPUs)
	case strings.IndexByte(c.Bootargs, 0) >= 0:
		return errors.New("guestdt: bootargs contain a NUL byte")
	}
	for _, slot := range c.Virtio {
		if slot < 0 || slot >= vmachine.VirtioSlots {
			return fmt.Errorf("guestdt: virtio slot %d, want 0 to %d", slot, vmachine.VirtioSlots-1)
		}
	}
	return c.checkInitrd()
}

func (c Config) checkInitrd() error {
	r := c.Initrd
	if r == (Range{}) {
		return nil
	}
	ramEnd := vmachine.RAMBase + c.RAMSize
	if r.Start >= r.End || r.Start < vmachine.RAMBase || r.End > ramEnd {
		return fmt.Errorf("guestdt: initrd [%#x, %#x) is empty or outside guest RAM [%#x, %#x)",
			r.Start, r.End, vmachine.RAMBase, ramEnd)
	}
	return nil
}

// root writes the root properties (DTSpec 3.2). Two address and two size
// cells let every child describe 64-bit ranges, as QEMU virt does.
func root(b *fdt.Builder) {
	b.PropertyU32("#address-cells", 2)
	b.PropertyU32("#size-cells", 2)
	b.PropertyString("compatible", "linux,dummy-virt")
	b.PropertyString("model", "linux,dummy-virt")
	b.PropertyU32("interrupt-parent", gicPhandle)
}

// psci advertises PSCI 1.0 over HVC: the engine implements PSCI 1.1 for
// guests (DESIGN.md section 3), which satisfies both compatibles.
func psci(b *fdt.Builder) {
	b.BeginNode("psci")
	b.PropertyStrings("compatible", "arm,psci-1.0", "arm,psci-0.2")
	b.PropertyString("method", "hvc")
	b.EndNode()
}

func memory(b *fdt.Builder, size uint64) {
	b.BeginNode(fmt.Sprintf("memory@%x", vmachine.RAMBase))
	b.PropertyString("device_type", "memory")
	b.PropertyU64("reg", vmachine.RAMBase, size)
	b.EndNode()
}

// uart describes the PL011 (serial/pl011.yaml): both clocks are the fixed
// 24 MHz clock, and its interrupt is SPI 1.
func uart(b *fdt.Builder) {
	b.BeginNode(uartName)
	b.PropertyStrings("compatible", "arm,pl011", "arm,primecell")
	b.PropertyU64("reg", vmachine.UART.Base, vmachine.UART.Size)
	b.PropertyU32("interrupts", irqTypeSPI, vmachine.UARTIntID-vmachine.SPIBase, irqLevelHigh)
	b.PropertyU32("clocks", clockPhandle, clockPhandle)
	b.PropertyStrings("clock-names", "uartclk", "apb_pclk")
	b.EndNode()
}

// exitStatus describes the exit-status register (boot/virt.ExitStatus), so
// that a guest can find it; no driver binds to it.
func exitStatus(b *fdt.Builder) {
	b.BeginNode(fmt.Sprintf("exit-status@%x", vmachine.ExitStatus.Base))
	b.PropertyString("compatible", "bulkhead,exit-status")
	b.PropertyU64("reg", vmachine.ExitStatus.Base, vmachine.ExitStatus.Size)
	b.EndNode()
}

// virtioMMIO describes one virtio-mmio transport (virtio/mmio.yaml): its
// register window and level-triggered SPI. dma-coherent, as QEMU writes
// it: the device reaches guest memory through the caches, so the guest
// need not clean them around each request.
func virtioMMIO(b *fdt.Builder, slot int) {
	base := vmachine.Virtio.Base + uint64(slot)*vmachine.VirtioStride
	b.BeginNode(fmt.Sprintf("virtio_mmio@%x", base))
	b.PropertyString("compatible", "virtio,mmio")
	b.PropertyU64("reg", base, vmachine.VirtioStride)
	b.PropertyU32("interrupts", irqTypeSPI, uint32(vmachine.VirtioIntID(slot)-vmachine.SPIBase), irqLevelHigh)
	b.PropertyEmpty("dma-coherent")
	b.EndNode()
}

// gic describes the GICv3 (arm,gic-v3.yaml): the distributor, then one
// redistributor region holding exactly one frame pair per vCPU, so that a
// guest never probes redistributors of vCPUs it does not have.
func gic(b *fdt.Builder, vcpus int) {
	b.BeginNode(fmt.Sprintf("intc@%x", vmachine.GICD.Base))
	b.PropertyString("compatible", "arm,gic-v3")
	b.PropertyU32("#interrupt-cells", 3)
	b.PropertyEmpty("interrupt-controller")
	// No child nodes (no ITS: guests get no MSIs), so no address cells;
	// an interrupt provider states them for interrupt-map parsing.
	b.PropertyU32("#address-cells", 0)
	b.PropertyU32("#redistributor-regions", 1)
	b.PropertyU64("reg",
		vmachine.GICD.Base, vmachine.GICD.Size,
		vmachine.GICRBase, uint64(vcpus)*vmachine.GICRStride)
	b.PropertyU32("interrupts", irqTypePPI, vmachine.MaintenanceIntID-vmachine.PPIBase, irqLevelHigh)
	b.PropertyU32("phandle", gicPhandle)
	b.EndNode()
}

// cpus writes one cpu node per vCPU (DTSpec 3.7, arm/cpus.yaml). With one
// address cell, reg is the MPIDR affinity: Aff0 = the vCPU index.
func cpus(b *fdt.Builder, n int) {
	b.BeginNode("cpus")
	b.PropertyU32("#address-cells", 1)
	b.PropertyU32("#size-cells", 0)
	for i := 0; i < n; i++ {
		b.BeginNode(fmt.Sprintf("cpu@%x", i))
		b.PropertyString("device_type", "cpu")
		b.PropertyString("compatible", "arm,armv8")
		b.PropertyU32("reg", uint32(i))
		b.PropertyString("enable-method", "psci")
		b.EndNode()
	}
	b.EndNode()
}

// timer describes the architected timer (timer/arm,arch_timer.yaml). The
// interrupts are in the binding's order: secure physical, non-secure
// physical, virtual, hypervisor.
func timer(b *fdt.Builder) {
	b.BeginNode("timer")
	b.PropertyStrings("compatible", "arm,armv8-timer", "arm,armv7-timer")
	var cells []uint32
	for _, id := range []uint32{
		vmachine.TimerSecureIntID, vmachine.TimerPhysIntID,
		vmachine.TimerVirtIntID, vmachine.TimerHypIntID,
	} {
		cells = append(cells, irqTypePPI, id-vmachine.PPIBase, irqLevelHigh)
	}
	b.PropertyU32("interrupts", cells...)
	// The virtual timer keeps counting in every guest power state.
	b.PropertyEmpty("always-on")
	b.EndNode()
}

func clock(b *fdt.Builder) {
	b.BeginNode("apb-pclk")
	b.PropertyString("compatible", "fixed-clock")
	b.PropertyU32("#clock-cells", 0)
	b.PropertyU32("clock-frequency", vmachine.UARTClockHz)
	b.PropertyString("clock-output-names", "clk24mhz")
	b.PropertyU32("phandle", clockPhandle)
	b.EndNode()
}

// chosen writes /chosen (DTSpec 3.6). The initrd bounds are written as two
// cells each, the root's #address-cells, as QEMU's arm boot loader does.
func chosen(b *fdt.Builder, c Config) {
	b.BeginNode("chosen")
	b.PropertyString("bootargs", c.Bootargs)
	b.PropertyString("stdout-path", StdoutPath)
	if c.Initrd != (Range{}) {
		b.PropertyU64("linux,initrd-start", c.Initrd.Start)
		b.PropertyU64("linux,initrd-end", c.Initrd.End)
	}
	b.EndNode()
}
