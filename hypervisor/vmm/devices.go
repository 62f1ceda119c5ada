package vmm

import (
	"crypto/sha256"
	"fmt"
	"math/rand/v2"

	"bulkhead/boot/virt"
	"bulkhead/hypervisor/virtio"
	"bulkhead/hypervisor/vmachine"
	"bulkhead/isolation/abi"
)

// Virtio devices are offered to every shared-memory VM, and to a
// protected VM that asks for them (Spec.Virtio). Their queues live in
// guest RAM: a shared-memory VM's stays the host's (MEM_SHARE), so its
// devices reach all of it; a protected VM's is donated, so its devices
// reach only the pages it shared with the host itself (GUEST_SHARE), which
// the hypervisor asks the ledger about before every view (sharedPages).

// Disk is a disk image a VM sees as a virtio block device. Its bytes stay
// in pool pages the host owns for the VM's life; writes change them only,
// never the file on the QEMU host; the pages are wiped and freed when the
// VM ends.
type Disk struct {
	Span     Span   // the pool pages holding the image
	Size     uint64 // bytes of image in Span
	ReadOnly bool
}

// SeedSize is the size of the entropy seed the machine is started with.
const SeedSize = 32

// guestRAM is a shared-memory VM's RAM as its devices see it: the host's
// own mapping of the pages it lent the VM, and nothing else.
type guestRAM []byte

func (g guestRAM) Slice(ipa, n uint64) ([]byte, bool) {
	if ipa < vmachine.RAMBase {
		return nil, false
	}
	off := ipa - vmachine.RAMBase
	if off > uint64(len(g)) || uint64(len(g))-off < n {
		return nil, false
	}
	return g[off : off+n : off+n], true
}

// sharedPages is a protected VM's RAM as its devices see it: a view of a
// range is given only when the ledger says every page of it is the VM's
// and shared with the host (MEM_INFO), so the hypervisor never touches a
// page that would abort at stage 2. The answer holds while the device
// uses the view: devices run inside the hypervisor's handling of an exit
// or of its own loop, while no vCPU of the VM runs and so none can
// GUEST_UNSHARE the page meanwhile.
type sharedPages struct {
	h   *Hypervisor
	vm  *VM
	ram guestRAM // the host's mapping of the VM's RAM, bounds only
}

func (p sharedPages) Slice(ipa, n uint64) ([]byte, bool) {
	b, ok := p.ram.Slice(ipa, n)
	if !ok || !uncheckedVirtio && !p.allShared(ipa, n) {
		return nil, false
	}
	return b, true
}

// Withheld: the range is the VM's RAM, but not all of it is shared.
func (p sharedPages) Withheld(ipa, n uint64) bool {
	_, inRAM := p.ram.Slice(ipa, n)
	return inRAM && !p.allShared(ipa, n)
}

// allShared asks the ledger about every page of [ipa, ipa+n), which lies
// in the VM's RAM: owned by this VM and shared with the host, not lent to
// another VM.
func (p sharedPages) allShared(ipa, n uint64) bool {
	first := (ipa - vmachine.RAMBase) &^ (virt.PageSize - 1)
	for off := first; off < ipa-vmachine.RAMBase+n || off == first; off += virt.PageSize {
		x, err := call(p.h.Engine, "MEM_INFO", abi.MemInfo, p.vm.RAM.PA+off)
		if err != nil || x[1] != abi.OwnerVM || x[2] != p.vm.ID || x[3] != 1 || x[4] != 0 {
			return false
		}
	}
	return true
}

// memoryFor is what vm's devices may reach of its RAM.
func (h *Hypervisor) memoryFor(vm *VM) virtio.Memory {
	ram := guestRAM(h.Memory.Bytes(vm.RAM.PA, vm.RAM.Bytes()))
	if vm.Shared {
		return ram
	}
	return sharedPages{h, vm, ram}
}

// device is a virtio transport in a slot of the VM's virtio window.
type device struct {
	slot int
	t    *virtio.Transport
}

// Slots of the virtio window: the entropy device, the network device,
// then the disks.
const (
	slotRNG   = 0
	slotNet   = 1
	slotDisk0 = 2
)

// attachDevices makes s's virtio devices for a shared-memory VM, or a
// protected one that asked for them, and returns their slots for the
// device tree: the entropy device when the machine has a seed, a network
// device on the run's switch, and one block device per disk.
func (h *Hypervisor) attachDevices(vm *VM, s Spec) ([]int, error) {
	if !vm.Shared && !s.Virtio {
		if len(s.Disks) > 0 {
			return nil, fmt.Errorf("disks need a shared-memory VM (memory=shared), or a protected VM that shares its buffers (virtio=on)")
		}
		return nil, nil
	}
	mem := h.memoryFor(vm)
	logf := func(line string) { fmt.Fprintf(h.Out, "hypervisor: vm %s: %s\n", vm.Name, line) }
	if len(s.Seed) == SeedSize {
		vm.devices = append(vm.devices, device{slotRNG, virtio.New(&virtio.RNG{Fill: chacha(s.Seed, s.Name)}, mem, logf)})
	}
	nic := virtio.NewNet(virtio.NetMAC(s.Name))
	nicT := virtio.New(nic, mem, logf)
	vm.devices = append(vm.devices, device{slotNet, nicT})
	vm.nic = nic
	for i, d := range s.Disks {
		blk, err := virtio.NewBlock(h.Memory.Bytes(d.Span.PA, d.Size), d.ReadOnly, fmt.Sprintf("bulkhead-%s-disk%d", s.Name, i))
		if err != nil {
			return nil, fmt.Errorf("disk %d: %w", i, err)
		}
		vm.devices = append(vm.devices, device{slotDisk0 + i, virtio.New(blk, mem, logf)})
	}
	var slots []int
	for _, d := range vm.devices {
		slots = append(slots, d.slot)
	}
	return slots, nil
}

// plugNIC puts vm's network device on the run's switch, once the VM
// exists: a frame from another VM raises vm's interrupt line.
func (h *Hypervisor) plugNIC(vm *VM) {
	if vm.nic == nil {
		return
	}
	if h.Switch == nil {
		h.Switch = &virtio.Switch{}
	}
	for _, d := range vm.devices {
		if d.slot == slotNet {
			vm.nic.Changed = func() { h.updateVirtioLine(vm, d) }
			vm.nic.Attach(d.t, h.Switch)
		}
	}
}

// unplugNIC takes vm's network device off the switch before its memory is
// wiped: nothing reaches those pages afterwards.
func (vm *VM) unplugNIC() {
	if vm.nic != nil {
		vm.nic.Detach()
	}
}

// chacha returns a source of random bytes for one VM: ChaCha8, a
// cryptographically strong generator (math/rand/v2), keyed with SHA-256 of
// the machine's seed and the VM's name, so each VM's stream is its own and
// none tells anything of another's.
func chacha(seed []byte, name string) func([]byte) {
	key := sha256.Sum256(append(append([]byte("bulkhead virtio-rng\x00"), seed...), name...))
	src := rand.NewChaCha8(key)
	return func(b []byte) { _, _ = src.Read(b) }
}

// DescribeDevices is one line naming vm's devices, for the log.
func (vm *VM) DescribeDevices() string {
	if len(vm.devices) == 0 {
		return "no virtio devices"
	}
	out := "virtio-mmio:"
	for i, d := range vm.devices {
		sep := ","
		if i == 0 {
			sep = ""
		}
		out += fmt.Sprintf("%s %s at %#x (INTID %d)", sep, d.t.Device().Name(),
			vmachine.Virtio.Base+uint64(d.slot)*vmachine.VirtioStride, vmachine.VirtioIntID(d.slot))
		if b, ok := d.t.Device().(*virtio.Block); ok {
			mode := "copy-on-write in memory"
			if b.ReadOnly {
				mode = "read-only"
			}
			out += fmt.Sprintf(" %d sectors %s", len(b.Disk)/virtio.SectorSize, mode)
		}
	}
	return out
}

// virtioAccess emulates an access to the virtio window and follows the
// device's interrupt line.
func (h *Hypervisor) virtioAccess(vm *VM, ipa uint64, size int, write bool, value uint64) uint64 {
	off := ipa - vmachine.Virtio.Base
	slot := int(off / vmachine.VirtioStride)
	for _, d := range vm.devices {
		if d.slot != slot {
			continue
		}
		var read uint64
		if write {
			d.t.Write(off%vmachine.VirtioStride, size, value)
		} else {
			read = d.t.Read(off%vmachine.VirtioStride, size)
		}
		h.updateVirtioLine(vm, d)
		return read
	}
	return 0 // an empty slot: reads as zero, so its magic value is wrong
}

// updateVirtioLine follows a device's interrupt output.
func (h *Hypervisor) updateVirtioLine(vm *VM, d device) {
	vm.gic.SetLevel(vmachine.VirtioIntID(d.slot), 0, d.t.IRQ())
	h.flushIRQs(vm)
}

// releaseDisks wipes the pages that held disks and returns them to the
// pool.
func (h *Hypervisor) releaseDisks(disks []Disk) {
	for _, d := range disks {
		clear(h.Memory.Bytes(d.Span.PA, d.Span.Bytes()))
		h.Pool.Free(d.Span)
	}
}
