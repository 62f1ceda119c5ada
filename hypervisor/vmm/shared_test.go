package vmm

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"bulkhead/hypervisor/vmachine"
	"bulkhead/isolation"
	"bulkhead/isolation/abi"
)

func memInfo(r *rig, pa uint64) [8]uint64 {
	x := [8]uint64{uint64(abi.MemInfo), pa}
	r.Call(&x)
	return x
}

// diskSpan takes pool pages for a disk image and fills them.
func diskSpan(t *testing.T, r *rig, image []byte) Disk {
	span, err := r.hv.Pool.Alloc(uint64(len(image)+4095)/4096, 4096)
	require.NoError(t, err)
	copy(r.Bytes(span.PA, span.Bytes()), image)
	return Disk{Span: span, Size: uint64(len(image))}
}

func TestSharedVMKeepsItsRAMTheHostsAndGetsDevices(t *testing.T) {
	r := newRig(t)
	before := r.hv.Pool.FreePages()
	disk := bytes.Repeat([]byte("sector.."), 128) // two sectors
	vm, err := r.hv.Create(Spec{Name: "vm0", VCPUs: 1, RAMSize: 4 << 20, Image: flatImage, Shared: true,
		Seed: make([]byte, SeedSize), Disks: []Disk{diskSpan(t, r, disk)}})
	require.NoError(t, err)
	assert.True(t, vm.Shared)
	assert.False(t, vm.Protected)
	assert.Equal(t, "shared-memory", vm.Kind())

	// The ledger: the host still owns every page and lends it to this VM.
	for _, pa := range []uint64{vm.RAM.PA, vm.RAM.End() - 4096} {
		x := memInfo(r, pa)
		assert.Equal(t, uint64(abi.OwnerHost), x[1])
		assert.Equal(t, uint64(1), x[3], "shared")
		assert.Equal(t, vm.ID, x[4], "lent to this VM")
	}
	// The host sees what it placed: the image at the start of RAM.
	assert.Equal(t, flatImage, r.Bytes(vm.RAM.PA, 4))

	// Three devices, in slots 0 (entropy), 1 (network) and 2 (the disk),
	// answering with the virtio-mmio magic; slot 3 is empty.
	read32 := abi.MMIOAccess(false, 2)
	slot := func(n uint64) uint64 { return vmachine.Virtio.Base + n*vmachine.VirtioStride }
	assert.Equal(t, uint64(0x74726976), r.hv.mmio(vm, slot(0), read32, 0))
	assert.Equal(t, uint64(4), r.hv.mmio(vm, slot(0)+8, read32, 0), "entropy device id")
	assert.Equal(t, uint64(1), r.hv.mmio(vm, slot(1)+8, read32, 0), "network device id")
	assert.Equal(t, uint64(2), r.hv.mmio(vm, slot(2)+8, read32, 0), "block device id")
	assert.Equal(t, uint64(2), r.hv.mmio(vm, slot(2)+0x100, abi.MMIOAccess(false, 3), 0), "capacity")
	assert.Zero(t, r.hv.mmio(vm, slot(3), read32, 0))
	assert.Contains(t, vm.DescribeDevices(), "virtio-net at 0x9200200")
	assert.Contains(t, vm.DescribeDevices(), "virtio-rng at 0x9200000")

	// A guest writing its RAM is seen by the host; at the end the host
	// wipes it and every page is its own, unshared, again.
	r.script[isolation.VMID(vm.ID)] = prints("x\n")
	binary.LittleEndian.PutUint64(r.Bytes(vm.RAM.PA+4096, 8), 0x5ec2e7)
	require.NoError(t, r.hv.Run())
	assert.Contains(t, r.out.String(), "vm vm0 (id 1) ended: powered off")
	assert.Contains(t, r.out.String(), "hypervisor: vm vm0: virtio-net ")
	x := memInfo(r, vm.RAM.PA+4096)
	assert.Equal(t, uint64(abi.OwnerHost), x[1])
	assert.Zero(t, x[3])
	assert.Zero(t, r.Bytes(vm.RAM.PA+4096, 8)[0])
	assert.Equal(t, before, r.hv.Pool.FreePages(), "RAM and disk pages back in the pool")
}

func TestProtectedVMIsTheDefaultAndGetsNoDevices(t *testing.T) {
	r := newRig(t)
	vm, err := r.hv.Create(Spec{Name: "vm0", VCPUs: 1, RAMSize: 4 << 20, Image: flatImage, Seed: make([]byte, SeedSize)})
	require.NoError(t, err)
	assert.True(t, vm.Protected)
	assert.Equal(t, "protected", vm.Kind())
	assert.Equal(t, uint64(abi.OwnerVM), memInfo(r, vm.RAM.PA)[1])
	assert.Equal(t, "no virtio devices", vm.DescribeDevices())
	assert.Zero(t, r.hv.mmio(vm, vmachine.Virtio.Base, abi.MMIOAccess(false, 2), 0))

	before := r.hv.Pool.FreePages()
	_, err = r.hv.Create(Spec{Name: "vm1", VCPUs: 1, RAMSize: 4 << 20, Image: flatImage,
		Disks: []Disk{diskSpan(t, r, make([]byte, 512))}})
	assert.ErrorContains(t, err, "shared-memory")
	assert.Equal(t, before, r.hv.Pool.FreePages(), "the refused VM's disk pages are back")
	_, err = r.hv.Create(Spec{Name: "vm2", VCPUs: 0, RAMSize: 4 << 20, Image: flatImage, Shared: true,
		Disks: []Disk{diskSpan(t, r, make([]byte, 512))}})
	assert.ErrorContains(t, err, "bad shape")
	assert.Equal(t, before, r.hv.Pool.FreePages(), "so are those of a VM of a bad shape")
}

func TestEntropyStreamsDifferPerVMAndSeed(t *testing.T) {
	seed := bytes.Repeat([]byte{7}, SeedSize)
	a, b, c := make([]byte, 32), make([]byte, 32), make([]byte, 32)
	chacha(seed, "vm0")(a)
	chacha(seed, "vm1")(b)
	chacha(make([]byte, SeedSize), "vm0")(c)
	assert.NotEqual(t, a, b)
	assert.NotEqual(t, a, c)
	again := make([]byte, 32)
	chacha(seed, "vm0")(again)
	assert.Equal(t, a, again, "a function of the seed and the name only")
}
