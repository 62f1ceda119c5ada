package vmm

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"bulkhead/hypervisor/virtio"
	"bulkhead/hypervisor/vmachine"
	"bulkhead/isolation"
	"bulkhead/isolation/abi"
)

// protectedDriver drives the block device of a protected VM from the
// test, as its guest would: the guest's own writes to its RAM are the
// rig's memory at the VM's pages, and its GUEST_SHAREs go to the engine.
type protectedDriver struct {
	t    *testing.T
	r    *rig
	vm   *VM
	base uint64 // the block device's register window
	idx  uint16 // available index
}

// Guest pages the driver uses (IPAs): the rings, a header and status
// page, a data page it shares and one it keeps private.
var (
	ringIPA    = vmachine.RAMBase + 0x10_0000
	hdrPageIPA = ringIPA + 0x1000
	dataIPA    = ringIPA + 0x2000
	privateIPA = ringIPA + 0x3000
)

func (d *protectedDriver) guestMem(ipa, n uint64) []byte {
	return d.r.Bytes(d.vm.RAM.PA+ipa-vmachine.RAMBase, n)
}

func (d *protectedDriver) share(ipa uint64) {
	x, _ := d.r.core.Dispatch(isolation.GuestCaller(isolation.VMID(d.vm.ID), 0), [8]uint64{uint64(abi.GuestShare), ipa, 1})
	require.Equal(d.t, abi.Success, abi.StatusOf(x[0]), "GUEST_SHARE %#x", ipa)
}

func (d *protectedDriver) w(off, v uint64) {
	d.r.hv.mmio(d.vm, d.base+off, abi.AccessWrite|2<<abi.AccessSizeShift, v)
}
func (d *protectedDriver) rd(off uint64) uint64 {
	return d.r.hv.mmio(d.vm, d.base+off, 2<<abi.AccessSizeShift, 0)
}

// start sets up queue 0 of 4 entries in the ring page (virtio 1.2, 3.1.1
// and 4.2.3.2) and reports whether the device accepted it.
func (d *protectedDriver) start() bool {
	d.w(0x70, 0)
	d.w(0x70, 1|2)
	d.w(0x24, 1)
	d.w(0x20, 1) // VERSION_1
	d.w(0x70, 1|2|8)
	d.w(0x30, 0)
	d.w(0x38, 4)
	d.w(0x80, ringIPA)
	d.w(0x90, ringIPA+0x100)
	d.w(0xa0, ringIPA+0x200)
	d.w(0x44, 1)
	d.w(0x70, 1|2|4|8)
	d.idx = 0
	return d.rd(0x44) == 1
}

// read asks for sector into the buffer at data and returns the status
// byte and the used entry's length.
func (d *protectedDriver) read(sector, data uint64) (status byte, written uint32) {
	hdr := d.guestMem(hdrPageIPA, 16)
	binary.LittleEndian.PutUint32(hdr, 0) // VIRTIO_BLK_T_IN
	binary.LittleEndian.PutUint64(hdr[8:], sector)
	d.guestMem(hdrPageIPA+0x800, 1)[0] = 0xff
	desc := d.guestMem(ringIPA, 48)
	for i, b := range []struct {
		ipa   uint64
		n     uint32
		flags uint16
	}{{hdrPageIPA, 16, 1}, {data, 512, 1 | 2}, {hdrPageIPA + 0x800, 1, 2}} {
		e := desc[16*i:]
		binary.LittleEndian.PutUint64(e, b.ipa)
		binary.LittleEndian.PutUint32(e[8:], b.n)
		binary.LittleEndian.PutUint16(e[12:], b.flags)
		binary.LittleEndian.PutUint16(e[14:], uint16(i+1))
	}
	avail := d.guestMem(ringIPA+0x100, 6+8)
	binary.LittleEndian.PutUint16(avail[4+2*(d.idx%4):], 0)
	d.idx++
	binary.LittleEndian.PutUint16(avail[2:], d.idx)
	d.w(0x50, 0)
	used := d.guestMem(ringIPA+0x200, 6+32)
	require.Equal(d.t, d.idx, binary.LittleEndian.Uint16(used[2:]), "request served")
	return d.guestMem(hdrPageIPA+0x800, 1)[0], binary.LittleEndian.Uint32(used[4+8*((d.idx-1)%4)+4:])
}

// A protected VM that asks for virtio devices gets them; they read and
// write only the pages it shared, and a request naming a private page gets
// IOERR while the page stays the VM's alone.
func TestProtectedVMWithVirtioReachesOnlyWhatItShares(t *testing.T) {
	r := newRig(t)
	disk := make([]byte, 4*512)
	for i := range disk {
		disk[i] = byte(i/512 + 1)
	}
	vm, err := r.hv.Create(Spec{Name: "vm0", VCPUs: 1, RAMSize: 4 << 20, Image: flatImage, Virtio: true,
		Seed: make([]byte, SeedSize), Disks: []Disk{diskSpan(t, r, disk)}})
	require.NoError(t, err)
	assert.Equal(t, "protected", vm.Kind())
	assert.Contains(t, vm.DescribeDevices(), "virtio-blk at 0x9200400")
	d := &protectedDriver{t: t, r: r, vm: vm, base: vmachine.Virtio.Base + 2*vmachine.VirtioStride}

	assert.False(t, d.start(), "rings in private memory are refused")
	assert.Contains(t, r.out.String(), "descriptor table at 0x40100000 is not shared with the host")

	for _, p := range []uint64{ringIPA, hdrPageIPA, dataIPA} {
		d.share(p)
	}
	require.True(t, d.start(), "%s", r.out.String())
	status, n := d.read(2, dataIPA)
	assert.Equal(t, byte(0), status, "OK")
	assert.Equal(t, uint32(513), n)
	assert.Equal(t, bytes.Repeat([]byte{3}, 512), d.guestMem(dataIPA, 512), "sector 2")

	copy(d.guestMem(privateIPA, 8), "private!")
	status, n = d.read(1, privateIPA)
	assert.Equal(t, byte(1), status, "IOERR")
	assert.Equal(t, uint32(1), n)
	assert.Equal(t, "private!", string(d.guestMem(privateIPA, 8)), "the device left the private page alone")
	x := memInfo(r, vm.RAM.PA+privateIPA-vmachine.RAMBase)
	assert.Equal(t, []uint64{abi.OwnerVM, vm.ID, 0}, x[1:4], "still the VM's, unshared")

	status, _ = d.read(3, dataIPA)
	assert.Equal(t, byte(0), status, "the device carries on")
	assert.Equal(t, byte(4), d.guestMem(dataIPA, 1)[0])

	// Once the VM unshares its data page, the device no longer reaches it.
	x, _ = r.core.Dispatch(isolation.GuestCaller(isolation.VMID(vm.ID), 0), [8]uint64{uint64(abi.GuestUnshare), dataIPA, 1})
	require.Equal(t, abi.Success, abi.StatusOf(x[0]))
	status, _ = d.read(0, dataIPA)
	assert.Equal(t, byte(1), status, "IOERR after GUEST_UNSHARE")
	assert.Equal(t, 1, strings.Count(r.out.String(), "device needs reset"), "only the private rings broke the device")

	require.NoError(t, r.hv.Run())
	assert.Contains(t, r.out.String(), "vm vm0 (id 1) ended: powered off")
}

// The control: the same requests through a view of all the VM's RAM, as
// a shared-memory VM's devices have, reach the private page; the test
// above fails against a hypervisor that forgot to ask the ledger.
func TestProtectedVMControlUncheckedMemoryReachesPrivatePages(t *testing.T) {
	r := newRig(t)
	vm, err := r.hv.Create(Spec{Name: "vm0", VCPUs: 1, RAMSize: 4 << 20, Image: flatImage, Virtio: true,
		Disks: []Disk{diskSpan(t, r, bytes.Repeat([]byte{7}, 512))}})
	require.NoError(t, err)
	for i, dev := range vm.devices {
		if dev.slot == slotDisk0 {
			vm.devices[i].t = virtio.New(dev.t.Device(), guestRAM(r.hv.Memory.Bytes(vm.RAM.PA, vm.RAM.Bytes())), func(string) {})
		}
	}
	d := &protectedDriver{t: t, r: r, vm: vm, base: vmachine.Virtio.Base + 2*vmachine.VirtioStride}
	require.True(t, d.start())
	status, _ := d.read(0, privateIPA)
	assert.Equal(t, byte(0), status)
	assert.Equal(t, byte(7), d.guestMem(privateIPA, 1)[0], "unchecked, the device wrote a private page")
}
