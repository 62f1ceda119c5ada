//go:build tamago && arm64 && bulkhead_guest

package virtio

import (
	"encoding/binary"
	"testing"

	"bulkhead/arch/arm64"
	"bulkhead/arch/el1"
	"bulkhead/boot/virt"
	"bulkhead/guest"
	"bulkhead/guest/check"
	"bulkhead/isolation/abi"
)

// Registers of virtio-mmio version 2 (virtio 1.2, 4.2.2) and the values
// this driver uses.
const (
	regMagic        = 0x000
	regVersion      = 0x004
	regDeviceID     = 0x008
	regDriverFeat   = 0x020
	regDriverFeatSl = 0x024
	regQueueSel     = 0x030
	regQueueNumMax  = 0x034
	regQueueNum     = 0x038
	regQueueReady   = 0x044
	regQueueNotify  = 0x050
	regIntStatus    = 0x060
	regIntACK       = 0x064
	regStatus       = 0x070
	regDescLow      = 0x080
	regDescHigh     = 0x084
	regAvailLow     = 0x090
	regAvailHigh    = 0x094
	regUsedLow      = 0x0a0
	regUsedHigh     = 0x0a4
	regConfig       = 0x100

	magic = 0x7472_6976

	statusAck        = 1
	statusDriver     = 2
	statusDriverOK   = 4
	statusFeaturesOK = 8
	statusNeedsReset = 64

	deviceBlock = 2
	deviceRNG   = 4

	descNext  = 1
	descWrite = 2
)

// queueSize is the size of the one queue this driver sets up: its
// descriptor table, available and used rings fit one page (ringLayout).
const queueSize = 8

// The queue's parts in its page (virtio 1.2, 2.7: alignment 16, 2, 4).
const (
	availOff = 0x200
	usedOff  = 0x400
)

// spare hands out pages above the runtime's RAM.
var spare *guest.Pages

// pages returns n fresh pages nothing else uses; they are private to the
// VM until a test shares them.
func pages(t *testing.T, n uint64) uint64 {
	t.Helper()
	if spare == nil {
		m, err := guest.ThisMachine()
		if err != nil {
			t.Fatalf("device tree: %v", err)
		}
		spare = guest.NewPages(m.FreeAbove(virt.GuestRAMBase + virt.GuestRuntimeRAM))
	}
	ipa, ok := spare.Take(n)
	if !ok {
		t.Fatalf("no %d spare pages left (%d): give the VM ram=66 or more", n, spare.Left())
	}
	return ipa
}

// sharedPages returns n fresh pages the VM has shared with the host.
func sharedPages(t *testing.T, n uint64) uint64 {
	t.Helper()
	ipa := pages(t, n)
	if !check.Status(t, abi.Success, guest.Share(ipa, n), "GUEST_SHARE %#x, %d pages", ipa, n) {
		t.FailNow()
	}
	return ipa
}

// mem is a view of guest RAM at ipa (the VM's stage-1 is an identity map).
func mem(ipa, n uint64) []byte { return el1.PhysBytes(ipa, n) }

// device is one virtio-mmio transport, driven through its registers.
type device struct {
	t    *testing.T
	base uint64
	ring uint64 // the page of queue 0
	avail,
	seen uint16 // the available index written, the used index read
}

func (d *device) r(off uint64) uint32    { return arm64.Read32(d.base + off) }
func (d *device) w(off uint64, v uint32) { arm64.Write32(d.base+off, v) }

// findDevice returns the transport of the first device with id in the
// virtio window, or fails the test: a protected VM with virtio=on has
// them all.
func findDevice(t *testing.T, id uint32) *device {
	t.Helper()
	for slot := uint64(0); slot < virt.VirtioSlots; slot++ {
		d := &device{t: t, base: virt.Virtio.Base + slot*virt.VirtioStride}
		if d.r(regMagic) == magic && d.r(regVersion) == 2 && d.r(regDeviceID) == id {
			return d
		}
	}
	t.Fatalf("no virtio device %d in the window at %#x", id, virt.Virtio.Base)
	return nil
}

// start resets the device, negotiates VERSION_1 only (virtio 1.2, 3.1.1)
// and sets up queue 0 of queueSize entries in the page at ring. It
// reports whether the device took the queue.
func (d *device) start(ring uint64) bool {
	d.t.Helper()
	clear(mem(ring, virt.PageSize))
	d.ring, d.avail, d.seen = ring, 0, 0
	d.w(regStatus, 0)
	d.w(regStatus, statusAck|statusDriver)
	d.w(regDriverFeatSl, 1)
	d.w(regDriverFeat, 1) // VIRTIO_F_VERSION_1, bit 32
	d.w(regStatus, statusAck|statusDriver|statusFeaturesOK)
	if !check.True(d.t, d.r(regStatus)&statusFeaturesOK != 0, "FEATURES_OK refused") {
		return false
	}
	d.w(regQueueSel, 0)
	if !check.True(d.t, d.r(regQueueNumMax) >= queueSize, "QueueNumMax %d", d.r(regQueueNumMax)) {
		return false
	}
	d.w(regQueueNum, queueSize)
	for _, a := range []struct {
		low, high uint64
		ipa       uint64
	}{{regDescLow, regDescHigh, ring}, {regAvailLow, regAvailHigh, ring + availOff}, {regUsedLow, regUsedHigh, ring + usedOff}} {
		d.w(a.low, uint32(a.ipa))
		d.w(a.high, uint32(a.ipa>>32))
	}
	d.w(regQueueReady, 1)
	if d.r(regQueueReady) != 1 {
		return false
	}
	d.w(regStatus, statusAck|statusDriver|statusFeaturesOK|statusDriverOK)
	return true
}

// buffer is one descriptor of a chain.
type buffer struct {
	ipa      uint64
	n        uint32
	writable bool
}

// submit writes the chain into descriptors 0.., makes it available,
// notifies, and returns how many bytes the device wrote, once it has put
// the chain in the used ring. The hypervisor serves a queue while the
// notifying store waits in its exit, so the answer is there at once;
// anything else fails the test.
func (d *device) submit(chain ...buffer) (written uint32, ok bool) {
	d.t.Helper()
	d.post(chain...)
	used := mem(d.ring+usedOff, 4+8*queueSize)
	idx := binary.LittleEndian.Uint16(used[2:])
	if !check.Equal(d.t, d.seen+1, idx, "used index after the notification (device status %#x)", d.r(regStatus)) {
		return 0, false
	}
	e := used[4+8*(d.seen%queueSize):]
	d.seen++
	check.Equal(d.t, uint32(0), binary.LittleEndian.Uint32(e), "used id: the chain's head")
	return binary.LittleEndian.Uint32(e[4:]), true
}

// post writes the chain into descriptors 0.., makes it available and
// notifies the device.
func (d *device) post(chain ...buffer) {
	table := mem(d.ring, 16*queueSize)
	for i, b := range chain {
		e := table[16*i:]
		flags := uint16(0)
		if b.writable {
			flags |= descWrite
		}
		if i < len(chain)-1 {
			flags |= descNext
		}
		binary.LittleEndian.PutUint64(e, b.ipa)
		binary.LittleEndian.PutUint32(e[8:], b.n)
		binary.LittleEndian.PutUint16(e[12:], flags)
		binary.LittleEndian.PutUint16(e[14:], uint16(i+1))
	}
	avail := mem(d.ring+availOff, 4+2*queueSize)
	binary.LittleEndian.PutUint16(avail[4+2*(d.avail%queueSize):], 0)
	d.avail++
	binary.LittleEndian.PutUint16(avail[2:], d.avail)
	arm64.DataSyncBarrier()
	d.w(regQueueNotify, 0)
	d.w(regIntACK, d.r(regIntStatus))
}

// needsReset says whether the device asked for a reset (virtio 1.2, 2.1.2).
func (d *device) needsReset() bool { return d.r(regStatus)&statusNeedsReset != 0 }
