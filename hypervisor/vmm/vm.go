package vmm

import (
	"fmt"
	"io"
	"time"

	"bulkhead/boot/virt"
	"bulkhead/hypervisor/console"
	"bulkhead/hypervisor/guestdt"
	"bulkhead/hypervisor/loader"
	"bulkhead/hypervisor/outcome"
	"bulkhead/hypervisor/vgic"
	"bulkhead/hypervisor/virtio"
	"bulkhead/hypervisor/vmachine"
	"bulkhead/hypervisor/vuart"
	"bulkhead/isolation/abi"
)

// Spec is what a VM is made from.
type Spec struct {
	Name     string
	VCPUs    int
	RAMSize  uint64 // bytes, whole 2 MiB blocks
	Image    []byte // ELF, Linux Image or flat binary
	Initrd   []byte // an initramfs for a Linux guest, or nil
	Bootargs string
	// Timeout, when not zero, ends the VM once it has run this long.
	Timeout time.Duration
	// Secret, when not zero, is a value the guest keeps to itself; the
	// hypervisor watches every exit record and every page it takes back
	// for it, and reports where it appeared.
	Secret uint64
	// Shared makes a shared-memory VM: its RAM stays the host's, lent to
	// it with MEM_SHARE, so that its virtio devices can reach their
	// queues; other VMs and the engine still cannot. Otherwise the VM is
	// protected: its RAM is donated and the host can read none of it.
	Shared bool
	// Virtio gives a protected VM virtio devices too: a guest that
	// shares its queues and buffers with the host itself (GUEST_SHARE);
	// the devices reach those pages and no others. A shared-memory VM
	// always has them.
	Virtio bool
	// Disks are the VM's block devices (shared-memory VMs, or protected
	// ones with Virtio). The VM
	// takes the pages: they are wiped and freed when it ends, or when
	// Create fails.
	Disks []Disk
	// Seed, SeedSize random bytes from the machine's entropy file, gives
	// a VM with virtio devices an entropy device; nil gives it none.
	Seed []byte
}

// VM is a VM the hypervisor created.
type VM struct {
	ID       uint64
	Name     string
	RAM      Span // the pages donated to it
	vcpus    []vcpuState
	uart     *vuart.PL011
	gic      *vgic.GIC
	console  *console.Writer
	spec     Spec
	started  time.Time
	exits    int                  // exit records searched for the secret
	leak     string               // where the secret appeared, if it did
	counts   [abi.ExitSGI + 1]int // exits by reason
	frShadow uint64               // the FR value the engine answers reads with
	logged   int                  // bytes that reached the console through the log
	done     bool                 // the VM has stopped; end says how
	end      outcome.Guest        // how it ended, once done
	status   int                  // what it wrote to the exit-status register
	reply    []uint64             // per vCPU: the reply for its next VCPU_RUN
	where    []int                // per vCPU: the host CPU that runs it, or -1
	kicked   bool                 // it stopped, and the CPUs that ran it were kicked
	runsOn   []int                // VCPU_RUN calls per host CPU
	// lone is the slice of its next run alone (loneSlice): LoneSlice,
	// doubled by each run alone that the tick ended in silence.
	lone time.Duration
	// raised, per vCPU: an interrupt was raised for it while it was on a
	// CPU since it was last entered. The engine presents it at the next
	// entry, so a WFI that trip ends with must not leave it waiting.
	raised []bool

	// Protected: created with abi.VMProtected, so that the engine refuses
	// to lend it host pages and the guest can check that all its RAM is
	// private (GUEST_MEMSTATE). Every VM is protected unless its Spec asks
	// for shared memory.
	Protected bool
	// Shared: a shared-memory VM, whose RAM the host lent (MEM_SHARE) and
	// keeps mapped. Exactly one of Protected and Shared holds.
	Shared  bool
	devices []device    // its virtio devices: shared-memory VMs, or Spec.Virtio
	nic     *virtio.Net // its network device, among devices
}

// Kind names the VM's memory kind for the log.
func (vm *VM) Kind() string {
	if vm.Shared {
		return "shared-memory"
	}
	return "protected"
}

type vcpuState uint8

const (
	vcpuOff vcpuState = iota
	vcpuRunnable
	vcpuIdle // waiting in WFI
)

// Hypervisor holds the VMs and the memory they come from.
type Hypervisor struct {
	Engine Engine
	Memory Memory
	Ticker Ticker
	Pool   *Pool
	Out    io.Writer // consoles are written here, each line prefixed
	// Switch joins the network devices of the shared-memory VMs.
	Switch *virtio.Switch
	VMs    []*VM
	// Input, when set, returns a byte typed on the machine's console.
	Input func() (byte, bool)
	// InputInterrupt, when set, turns the console's receive interrupt on
	// or off: on while the first VM's UART has room for input, so that a
	// byte typed ends the run of a vCPU that runs alone at once (it is
	// a host interrupt), and off while it has none, or every run would
	// end at once while the byte waits.
	InputInterrupt func(on bool)
	// Idle, when set, waits about d or until an interrupt arrives; Run
	// calls it when every vCPU of every VM is waiting (WFI). Only with
	// Host nil.
	Idle func(d time.Duration)
	// Host, when set, is the host CPUs Run drives; nil is one CPU, driven
	// through Engine, Ticker and Idle.
	Host Host

	trips      []trip    // per host CPU: its current trip (Run)
	cpu        int       // the host CPU the loop runs on
	cursor     int       // the vCPU picked last, round robin
	firstErr   error     // Run's first teardown error
	nextWake   time.Time // when a rest next makes the vCPUs in WFI runnable
	soloResult [8]uint64 // the exit record of soloHost's last Run
	noAlone    bool      // the engine answered VCPU_RUN_ALONE with NOT_SUPPORTED
	inputOn    bool      // InputInterrupt(true) was the last call
}

// dtbReserve is kept at the top of guest RAM for the device tree of an ELF
// or flat guest, which owns everything below it from its load address up.
// A Linux Image, or any guest given an initramfs, gets its initramfs and
// device tree where booting.rst allows instead (loader.Place).
const dtbReserve = loader.MaxDTBSize

// layout is where a guest's pieces go in guest RAM (IPAs).
type layout struct {
	plan   loader.Plan
	initrd loader.Range
	dtb    uint64
}

// Create builds a VM from s: it places the image, the initramfs and a device
// tree in fresh pages while they are still the host's, then donates them,
// so that a protected guest's memory is never visible to the host once the
// VM exists, or lends them to a shared-memory VM. On failure s's disk
// pages are back in the pool.
func (h *Hypervisor) Create(s Spec) (*VM, error) {
	var vm *VM
	err := fmt.Errorf("vmm: %s: bad shape (%d vCPUs, %#x bytes of RAM)", s.Name, s.VCPUs, s.RAMSize)
	if s.VCPUs >= 1 && s.RAMSize != 0 && s.RAMSize%virt.BlockSize == 0 && s.RAMSize > dtbReserve {
		vm, err = h.create(s)
	}
	if err != nil {
		h.releaseDisks(s.Disks)
		return nil, err
	}
	h.VMs = append(h.VMs, vm)
	return vm, nil
}

func (h *Hypervisor) create(s Spec) (*VM, error) {
	lay, err := plan(s)
	if err != nil {
		return nil, fmt.Errorf("vmm: %s: %w", s.Name, err)
	}
	span, err := h.Pool.Alloc(s.RAMSize/virt.PageSize, ramAlignment(s.RAMSize))
	if err != nil {
		return nil, fmt.Errorf("vmm: %s: %w", s.Name, err)
	}
	vm, err := h.build(s, lay, span)
	if err != nil {
		clear(h.Memory.Bytes(span.PA, span.Bytes()))
		h.Pool.Free(span)
		return nil, err
	}
	return vm, nil
}

// gigabyte is a level-1 block of the 4 KiB granule (Arm ARM D8.2).
const gigabyte = 1 << 30

// ramAlignment is how guest RAM of size bytes is aligned in the pool: to
// 1 GiB when it is a whole number of GiB, so that stage-2 maps it with
// level-1 blocks, else to 2 MiB for level-2 blocks. Guest RAM starts at a
// 1 GiB aligned IPA, so the PA's alignment decides the block size, and
// fewer levels make every stage-2 walk shorter.
func ramAlignment(size uint64) uint64 {
	if size%gigabyte == 0 {
		return gigabyte
	}
	return virt.BlockSize
}

// plan decides the layout of s's guest RAM.
func plan(s Spec) (layout, error) {
	ram := loader.Region{Base: vmachine.RAMBase, Size: s.RAMSize}
	if loader.Detect(s.Image) != loader.KindImage && s.Initrd == nil {
		p, err := loader.Load(s.Image, loader.Region{Base: ram.Base, Size: ram.Size - dtbReserve})
		return layout{plan: p, dtb: ram.End() - dtbReserve}, err
	}
	p, err := loader.Load(s.Image, ram)
	if err != nil {
		return layout{}, err
	}
	l, err := loader.Place(ram, p, uint64(len(s.Initrd)), loader.MaxDTBSize)
	return layout{plan: p, initrd: l.Initrd, dtb: l.DTB.Start}, err
}

// build fills span, creates the VM and donates span to it. On error the
// engine holds nothing of it and span is still the host's.
func (h *Hypervisor) build(s Spec, lay layout, span Span) (*VM, error) {
	mem := h.Memory.Bytes(span.PA, span.Bytes())
	clear(mem)
	place(mem, lay.plan, s.Image)
	if len(s.Initrd) > 0 {
		copy(mem[lay.initrd.Start-vmachine.RAMBase:], s.Initrd)
	}
	vm := &VM{Name: s.Name, RAM: span, Protected: !s.Shared, Shared: s.Shared, vcpus: make([]vcpuState, s.VCPUs),
		gic: vgic.New(s.VCPUs, guestSPIs), spec: s, reply: make([]uint64, s.VCPUs), where: make([]int, s.VCPUs),
		raised: make([]bool, s.VCPUs)}
	for i := range vm.where {
		vm.where[i] = -1
	}
	slots, err := h.attachDevices(vm, s)
	if err != nil {
		return nil, fmt.Errorf("vmm: %s: %w", s.Name, err)
	}
	dtb, err := guestdt.Build(guestdt.Config{RAMSize: s.RAMSize, VCPUs: s.VCPUs, Bootargs: s.Bootargs,
		Initrd: guestdt.Range{Start: lay.initrd.Start, End: lay.initrd.End}, Virtio: slots})
	if err != nil {
		return nil, fmt.Errorf("vmm: %s: device tree: %w", s.Name, err)
	}
	copy(mem[lay.dtb-vmachine.RAMBase:], dtb)
	flags := uint64(abi.VMProtected)
	if vm.Shared {
		flags = 0
	}
	x, err := call(h.Engine, "VM_CREATE", abi.VMCreate, uint64(s.VCPUs), flags)
	if err != nil {
		return nil, fmt.Errorf("vmm: %s: %w", s.Name, err)
	}
	vm.ID, vm.started = x[1], time.Now()
	vm.console = console.New(h.Out, s.Name)
	vm.uart = vuart.New(vm.console)
	err = h.giveMemoryAndInit(vm, lay.plan.Entry, lay.dtb)
	if err == nil {
		err = h.shadowUART(vm)
	}
	if err != nil {
		_, _ = call(h.Engine, "VM_DESTROY", abi.VMDestroy, vm.ID)
		return nil, fmt.Errorf("vmm: %s: %w", s.Name, err)
	}
	vm.vcpus[0] = vcpuRunnable
	h.plugNIC(vm)
	return vm, nil
}

// place copies each segment's file bytes to its IPA inside mem, which holds
// guest RAM from vmachine.RAMBase and is already zero. The plan was made
// for a window inside mem, so every range is in bounds.
func place(mem []byte, plan loader.Plan, img []byte) {
	for _, s := range plan.Segments {
		off := s.IPA - vmachine.RAMBase
		copy(mem[off:off+s.FileSize], img[s.FileOffset:s.FileOffset+s.FileSize])
	}
}

// giveMemoryAndInit donates vm's RAM to a protected VM, or lends it to a
// shared-memory one (the host keeps it mapped), and sets the entry point.
func (h *Hypervisor) giveMemoryAndInit(vm *VM, entry, dtbIPA uint64) error {
	name, id := "MEM_DONATE", abi.MemDonate
	if vm.Shared {
		name, id = "MEM_SHARE", abi.MemShare
	}
	if _, err := call(h.Engine, name, id, vm.ID, vm.RAM.PA, vmachine.RAMBase, vm.RAM.Pages, abi.PermAll); err != nil {
		return err
	}
	_, err := call(h.Engine, "VCPU_INIT", abi.VCPUInit, vm.ID, 0, entry, dtbIPA)
	return err
}

// Destroy stops vm, takes its pages back and checks that every one of them
// came back zeroed and the host's again, before the pages rejoin the pool.
// A protected VM's pages are zeroed by the engine (MEM_RECLAIM); a
// shared-memory VM's never left the host, which wipes them itself once
// VM_DESTROY has ended the loan.
func (h *Hypervisor) Destroy(vm *VM) error {
	vm.unplugNIC()
	h.releaseDisks(vm.spec.Disks)
	vm.spec.Disks = nil
	if _, err := call(h.Engine, "VM_DESTROY", abi.VMDestroy, vm.ID); err != nil {
		return fmt.Errorf("vmm: %s: %w", vm.Name, err)
	}
	if vm.Shared {
		clear(h.Memory.Bytes(vm.RAM.PA, vm.RAM.Bytes()))
	} else if _, err := call(h.Engine, "MEM_RECLAIM", abi.MemReclaim, vm.RAM.PA, vm.RAM.Pages); err != nil {
		return fmt.Errorf("vmm: %s: %w", vm.Name, err)
	}
	if err := h.checkReturned(vm.RAM); err != nil {
		return fmt.Errorf("vmm: %s: %w", vm.Name, err)
	}
	vm.console.Flush()
	h.Pool.Free(vm.RAM)
	h.remove(vm)
	return nil
}

// checkReturned verifies the ledger and the contents of pages a VM gave
// back: a page the engine failed to scrub would leak the guest's data.
func (h *Hypervisor) checkReturned(s Span) error {
	for pa := s.PA; pa < s.End(); pa += virt.PageSize {
		x, err := call(h.Engine, "MEM_INFO", abi.MemInfo, pa)
		if err != nil || x[1] != abi.OwnerHost || x[3] != 0 {
			return fmt.Errorf("page %#x is not the host's after reclaim (owner %d, shared %d, %v)", pa, x[1], x[3], err)
		}
	}
	for i, b := range h.Memory.Bytes(s.PA, s.Bytes()) {
		if b != 0 {
			return fmt.Errorf("byte %#x of reclaimed memory is %#x, not zero", s.PA+uint64(i), b)
		}
	}
	return nil
}

func (h *Hypervisor) remove(vm *VM) {
	for i, v := range h.VMs {
		if v == vm {
			h.VMs = append(h.VMs[:i], h.VMs[i+1:]...)
			return
		}
	}
}

// stop ends vm, the first time only: the first reason is the one reported.
func (vm *VM) stop(kind outcome.Kind, format string, args ...any) {
	if vm.done {
		return
	}
	vm.done = true
	vm.end = outcome.Guest{VM: vm.Name, Kind: kind, Detail: fmt.Sprintf(format, args...)}
}

// outcome is how vm ended; a clean power-off carries the status the guest
// chose through the exit-status register.
func (vm *VM) outcome() outcome.Guest {
	g := vm.end
	if g.Kind == outcome.PoweredOff {
		g.Status = vm.status
	}
	return g
}
