package vmm

import (
	"crypto/sha256"
	"fmt"
	"math/rand/v2"

	"bulkhead/hypervisor/virtio"
	"bulkhead/hypervisor/vmachine"
)

// Virtio devices are offered to shared-memory VMs only: their queues live
// in guest RAM, which the hypervisor may map only when the host kept it
// (MEM_SHARE). A protected VM's RAM is donated and unreadable, so it gets
// no device whose buffers it did not share itself.

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

// attachDevices makes s's virtio devices for a shared-memory VM and
// returns their slots for the device tree: the entropy device when the
// machine has a seed, a network device on the run's switch, and one block
// device per disk.
func (h *Hypervisor) attachDevices(vm *VM, s Spec) ([]int, error) {
	if !vm.Shared {
		if len(s.Disks) > 0 {
			return nil, fmt.Errorf("disks need a shared-memory VM (memory=shared): a protected VM's queues are in memory the hypervisor cannot read")
		}
		return nil, nil
	}
	mem := guestRAM(h.Memory.Bytes(vm.RAM.PA, vm.RAM.Bytes()))
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
