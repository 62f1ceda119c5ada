// Package virt describes the QEMU `virt` board (Arm64, GICv3) and the memory
// layout bulkhead gives it, as data. The engine, the hypervisor, the host-side
// tools and the tests all read the same values from here, so that a region
// is defined exactly once.
//
// The package is pure Go: it only describes the machine.
package virt

// Region is a physical address range [Base, Base+Size).
type Region struct {
	Name string
	Base uint64
	Size uint64
}

// End returns the first address after r.
func (r Region) End() uint64 { return r.Base + r.Size }

// Contains reports whether [addr, addr+size) lies inside r, without overflow.
func (r Region) Contains(addr, size uint64) bool {
	if addr < r.Base || size > r.Size {
		return false
	}
	return addr-r.Base <= r.Size-size
}

// Overlaps reports whether r and o share at least one byte.
func (r Region) Overlaps(o Region) bool {
	return r.Size != 0 && o.Size != 0 && r.Base < o.End() && o.Base < r.End()
}

// Page and block sizes of the 4 KiB translation granule (Arm ARM D8.2).
const (
	PageSize  = 4 << 10
	BlockSize = 2 << 20
)

// Devices of QEMU `virt` (hw/arm/virt.c memory map) that bulkhead uses.
var (
	GICD   = Region{"gic-distributor", 0x0800_0000, 0x1_0000}
	GICR   = Region{"gic-redistributors", 0x080A_0000, 0xF6_0000}
	UART   = Region{"pl011", UARTBase, 0x1000}
	FwCfg  = Region{"fw-cfg", 0x0902_0000, 0x18}
	RAM    = Region{"ram", BootBase, RAMSize}
	Device = Region{"device-space", 0, 0x4000_0000}
)

// ExitStatus is a register of the machine guests see, not of the board: a
// guest writes its exit status there (32 bits, 0 to 63) before it powers
// off, and `bulkhead run` exits with it. It sits in a hole of QEMU virt's
// map (hw/arm/virt.c leaves 0x090C_0000-0x0A00_0000 unused), so an image
// built for virt never meets it by accident. Any guest can use it without
// a driver: Linux's /dev/mem (busybox devmem) reaches it, since no driver
// claims it.
var ExitStatus = Region{"exit-status", 0x0910_0000, 0x1000}

// Virtio is the window of the virtio-mmio transports of the machine guests
// see. Like ExitStatus it sits in the hole of QEMU virt's map, not at the
// board's own virtio-mmio address (0x0A00_0000), which stays a device
// guests do not have; guests find it in their device tree. A device in
// slot n is at Virtio.Base + n*VirtioStride and interrupts on INTID
// VirtioSPIBase+n (SPI 16+n, the SPIs QEMU virt gives its transports).
var Virtio = Region{"virtio-mmio", 0x0920_0000, VirtioSlots * VirtioStride}

// The virtio-mmio slots: their number, size and first interrupt (INTID).
const (
	VirtioSlots   = 32
	VirtioStride  = 0x200
	VirtioSPIBase = 48 // SPI 16
)

// ExitStatusMax is the largest status a guest can write to ExitStatus; a
// larger value is taken as this one, so that it still means failure.
const ExitStatusMax = 63

// UARTBase is the PL011's address; a constant so that assembly can print on
// fatal paths, where no Go code may run.
const UARTBase = 0x0900_0000

// RAMSize is the RAM QEMU is started with (-m).
const RAMSize = 2 << 30

// Generic timer PPIs (INTIDs) on `virt`.
const (
	TimerSecurePPI  = 29
	TimerPhysPPI    = 30
	TimerVirtPPI    = 27
	TimerHypPPI     = 26
	MaintenancePPI  = 25
	UARTSPI         = 33 // SPI 1
	GICRStridePerPE = 0x2_0000
)

// The memory layout. Every region is 2 MiB aligned so that stage-2 can use
// block mappings for it. The bases and sizes are constants because the
// images' start-up code reads them before any Go code runs.
//
//	0x4000_0000  boot      QEMU's device tree for ELF boots
//	0x4020_0000  engine    EL2 image, its heap and stack, stage-2 table pool
//	0x4420_0000  host      the EL1 image (the hypervisor), its heap and stack
//	0x4C20_0000  pool      donatable memory: guest RAM comes from here
//	0xC000_0000  end of RAM
const (
	BootBase   = 0x4000_0000
	BootSize   = 0x20_0000
	EngineBase = BootBase + BootSize
	EngineSize = 0x400_0000
	HostBase   = EngineBase + EngineSize
	HostSize   = 0x800_0000
	PoolBase   = HostBase + HostSize
	PoolSize   = BootBase + RAMSize - PoolBase
)

// The regions of the layout.
var (
	Boot   = Region{"boot", BootBase, BootSize}
	Engine = Region{"engine", EngineBase, EngineSize}
	Host   = Region{"host", HostBase, HostSize}
	Pool   = Region{"pool", PoolBase, PoolSize}
)

// ImageOffset is where an image's text starts inside its region. The space
// below it is the image's low memory: its stage-1 translation table and
// scratch space that must have a fixed physical address.
const ImageOffset = 0x1_0000

// Offsets inside an image's low memory.
const (
	LowStage1Table = 0x0000 // level-1 identity map (4 entries used)
	LowFwCfgDMA    = 0x1000 // fw_cfg DMA access descriptor (engine)
)

// EngineText and HostText are the -T link addresses of the two images.
const (
	EngineText = EngineBase + ImageOffset
	HostText   = HostBase + ImageOffset
)

// Staging is where the engine stages the EL1 image file while it checks it,
// before any of it is placed: the start of the pool, which nothing uses yet.
var Staging = Region{"staging", PoolBase, MaxHostImage}

// MaxHostImage bounds the EL1 image file the engine accepts.
const MaxHostImage = 64 << 20

// Guests built with the guest SDK (EL1 images inside a VM, build tag
// bulkhead_guest) see RAM from the board's RAM base; the hypervisor gives
// them GuestRAMSize bytes and keeps the top GuestDTBReserve bytes for their
// device tree, so the runtime uses what lies below.
const (
	GuestRAMBase    = BootBase
	GuestRAMSize    = 64 << 20
	GuestDTBReserve = 2 << 20
	GuestRuntimeRAM = GuestRAMSize - GuestDTBReserve
	GuestText       = GuestRAMBase + ImageOffset
)

// StackOffset is the distance of each image's initial stack from the end of
// its region (TamaGo's RamStackOffset).
const StackOffset = 0x100

// Layout lists the RAM regions in address order.
func Layout() []Region { return []Region{Boot, Engine, Host, Pool} }

// HostMMIO lists the devices the host stage-2 maps for the hypervisor.
// fw_cfg is not among them: its DMA interface writes to any physical
// address, engine memory included, so only the engine drives it.
func HostMMIO() []Region { return []Region{GICD, GICR, UART} }

// GuestMMIO lists the device windows of the machine guests see (DESIGN.md
// section 4): the hypervisor emulates them, so a guest access there becomes
// an MMIO exit; anywhere else outside its memory it gets an abort.
func GuestMMIO() []Region { return []Region{GICD, GICR, UART, ExitStatus, Virtio} }

// RegionName names what lies at addr, for diagnostics.
func RegionName(addr uint64) string {
	for _, r := range append(Layout(), GICD, GICR, UART, FwCfg) {
		if r.Contains(addr, 1) {
			return r.Name
		}
	}
	return "unassigned"
}

// FwCfgHostImage is the fw_cfg file that carries the EL1 image the engine
// boots; the QEMU command line adds it with -fw_cfg name=...,file=....
const FwCfgHostImage = "opt/bulkhead/el1"

// FwCfgGuestPrefix prefixes the fw_cfg files that carry guest images.
const FwCfgGuestPrefix = "opt/bulkhead/guest/"

// QEMUMachine is the -machine argument: virtualization=on starts the CPU at
// EL2, gic-version=3 gives the GICv3 with its virtual CPU interface.
// its=off removes the GIC ITS, whose tables the GIC writes in memory, like
// DMA, wherever the host would point them.
const QEMUMachine = "virt,virtualization=on,gic-version=3,its=off"

// QEMUCPU is the -cpu argument: an Armv8.0 core with EL2 and the GICv3 CPU
// interface, and none of the optional state (SVE, pointer authentication)
// the engine would otherwise have to switch.
const QEMUCPU = "cortex-a72"
