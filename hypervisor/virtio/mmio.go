// Package virtio is the hypervisor's virtio 1.x devices: the virtio-mmio
// transport (virtio 1.2, 4.2, register layout version 2), split virtqueues
// (2.7), and the entropy (5.4) and block (5.2) devices.
//
// A device reaches a VM's memory only through Memory, which answers with
// views of pages the ledger lets the host map, and nothing else: all of a
// shared-memory VM's RAM, or the pages a protected VM shared with the host
// (GUEST_SHARE), of which a buffer outside is answered with the device's
// error status (Withholder). Every
// index, length and address the driver writes is checked; a malformed ring
// marks the device DEVICE_NEEDS_RESET and raises a configuration-change
// interrupt, and a malformed request gets the device's error status. None
// of it stops the hypervisor or touches another VM.
package virtio

import (
	"encoding/binary"
	"fmt"
)

// Device is what a virtio device adds to the transport.
type Device interface {
	// ID is the virtio device ID (5: 2 block, 4 entropy).
	ID() uint32
	// Name names the device in the hypervisor's log.
	Name() string
	// Features are the device-specific feature bits it offers; the
	// transport adds VIRTIO_F_VERSION_1.
	Features() uint64
	// Config is the device configuration space (little-endian).
	Config() []byte
	// Queues is how many virtqueues the device has.
	Queues() int
	// Handle serves one chain of queue q and returns how many bytes it
	// wrote to the chain's writable buffers. An error marks the device
	// broken; a bad request the device can answer is not an error.
	Handle(q int, c Chain) (written uint32, err error)
}

// Producer is a device whose queue holds buffers for data the device
// produces when it has some, such as a network device's receive queue: a
// notification of such a queue calls Kick, and the device fills buffers
// with Offer, instead of the transport serving them at once.
type Producer interface {
	Produces(q int) bool
	Kick(q int)
}

// Register offsets of virtio-mmio version 2 (virtio 1.2, 4.2.2).
const (
	regMagic          = 0x000
	regVersion        = 0x004
	regDeviceID       = 0x008
	regVendorID       = 0x00c
	regDeviceFeatures = 0x010
	regDeviceFeatSel  = 0x014
	regDriverFeatures = 0x020
	regDriverFeatSel  = 0x024
	regQueueSel       = 0x030
	regQueueNumMax    = 0x034
	regQueueNum       = 0x038
	regQueueReady     = 0x044
	regQueueNotify    = 0x050
	regInterruptState = 0x060
	regInterruptACK   = 0x064
	regStatus         = 0x070
	regQueueDescLow   = 0x080
	regQueueDescHigh  = 0x084
	regQueueAvailLow  = 0x090
	regQueueAvailHigh = 0x094
	regQueueUsedLow   = 0x0a0
	regQueueUsedHigh  = 0x0a4
	regConfigGen      = 0x0fc
	regConfig         = 0x100
)

// Values of the transport.
const (
	magic = 0x7472_6976 // "virt"
	// vendorID is the PCI vendor ID QEMU uses for its virtio devices; the
	// Linux driver matches any.
	vendorID = 0x554d_4551 // "QEMU"
	// Size is one transport's register window.
	Size = 0x200
)

// Device status bits (virtio 1.2, 2.1).
const (
	StatusAcknowledge = 1
	StatusDriver      = 2
	StatusDriverOK    = 4
	StatusFeaturesOK  = 8
	StatusNeedsReset  = 64
	StatusFailed      = 128
)

// Interrupt status bits (4.2.2): a used buffer, a configuration change.
const (
	IntUsedBuffer    = 1
	IntConfigChanged = 2
)

// FeatureVersion1 is VIRTIO_F_VERSION_1 (6): a modern device.
const FeatureVersion1 = 1 << 32

// Transport is one virtio-mmio device of one VM.
type Transport struct {
	dev       Device
	mem       Memory
	log       func(string)
	status    uint32
	devSel    uint32
	drvSel    uint32
	drvFeat   uint64
	queueSel  uint32
	queues    []Queue
	intStatus uint32
	// Broken says why the device stopped, once it has.
	Broken string
}

// New makes a transport for dev over mem; log receives one line per
// device error.
func New(dev Device, mem Memory, log func(string)) *Transport {
	return &Transport{dev: dev, mem: mem, log: log, queues: make([]Queue, dev.Queues())}
}

// Device returns the device behind t.
func (t *Transport) Device() Device { return t.dev }

// IRQ is the level of the device's interrupt line.
func (t *Transport) IRQ() bool { return t.intStatus != 0 }

func (t *Transport) features() uint64 { return t.dev.Features() | FeatureVersion1 }

// Read answers a read of size bytes at offset off in the window. Registers
// are read 32 bits at a time (4.2.2); anything else reads as zero.
func (t *Transport) Read(off uint64, size int) uint64 {
	if off >= regConfig {
		return t.readConfig(off-regConfig, size)
	}
	if size != 4 || off%4 != 0 {
		return 0
	}
	return uint64(t.readReg(off))
}

func (t *Transport) readReg(off uint64) uint32 {
	q := t.selected()
	switch off {
	case regMagic:
		return magic
	case regVersion:
		return 2
	case regDeviceID:
		return t.dev.ID()
	case regVendorID:
		return vendorID
	case regDeviceFeatures:
		if t.devSel > 1 {
			return 0
		}
		return uint32(t.features() >> (32 * t.devSel))
	case regQueueNumMax:
		if q == nil {
			return 0
		}
		return MaxQueueSize
	case regQueueReady:
		if q != nil && q.Ready {
			return 1
		}
	case regInterruptState:
		return t.intStatus
	case regStatus:
		return t.status
	}
	return 0
}

// readConfig reads the configuration space, 1, 2, 4 or 8 bytes (4.2.2.2).
func (t *Transport) readConfig(off uint64, size int) uint64 {
	cfg := t.dev.Config()
	if size != 1 && size != 2 && size != 4 && size != 8 || off > uint64(len(cfg)) || uint64(len(cfg))-off < uint64(size) {
		return 0
	}
	var b [8]byte
	copy(b[:], cfg[off:off+uint64(size)])
	return binary.LittleEndian.Uint64(b[:])
}

// selected is the queue QueueSel names, or nil.
func (t *Transport) selected() *Queue {
	if t.queueSel >= uint32(len(t.queues)) {
		return nil
	}
	return &t.queues[t.queueSel]
}

// Write handles a write of size bytes at offset off. The configuration
// space of these devices is read-only; registers take 32-bit writes.
func (t *Transport) Write(off uint64, size int, v uint64) {
	if off >= regConfig || size != 4 || off%4 != 0 {
		return
	}
	val := uint32(v)
	switch off {
	case regDeviceFeatSel:
		t.devSel = val
	case regDriverFeatSel:
		t.drvSel = val
	case regDriverFeatures:
		t.setDriverFeatures(val)
	case regQueueSel:
		t.queueSel = val
	case regQueueNotify:
		t.notify(val)
	case regInterruptACK:
		t.intStatus &^= val
	case regStatus:
		t.setStatus(val)
	default:
		t.writeQueue(off, val)
	}
}

func (t *Transport) setDriverFeatures(v uint32) {
	if t.drvSel > 1 || t.status&StatusFeaturesOK != 0 {
		return
	}
	shift := 32 * t.drvSel
	t.drvFeat = t.drvFeat&^(0xffff_ffff<<shift) | uint64(v)<<shift
}

// setStatus follows 3.1.1: 0 resets the device; FEATURES_OK holds only if
// the driver accepted a subset of what was offered, VERSION_1 included.
func (t *Transport) setStatus(v uint32) {
	if v == 0 {
		t.reset()
		return
	}
	if v&StatusFeaturesOK != 0 && t.status&StatusFeaturesOK == 0 {
		if t.drvFeat&^t.features() != 0 || t.drvFeat&FeatureVersion1 == 0 {
			v &^= StatusFeaturesOK
		}
	}
	// The driver cannot clear NEEDS_RESET other than by a reset.
	t.status = v | t.status&StatusNeedsReset
}

func (t *Transport) reset() {
	*t = Transport{dev: t.dev, mem: t.mem, log: t.log, queues: t.queues}
	for i := range t.queues {
		t.queues[i].reset()
	}
}

// writeQueue sets the selected queue's configuration. A queue's size and
// addresses change only while it is not ready (4.2.3.2).
func (t *Transport) writeQueue(off uint64, v uint32) {
	q := t.selected()
	if q == nil {
		return
	}
	if off == regQueueReady {
		t.setReady(q, v&1 == 1)
		return
	}
	if q.Ready {
		return
	}
	switch off {
	case regQueueNum:
		q.Size = uint16(min(v, 0xffff))
		if v > MaxQueueSize {
			q.Size = 0 // refused at QueueReady
		}
	case regQueueDescLow, regQueueDescHigh:
		setHalf(&q.Desc, off == regQueueDescHigh, v)
	case regQueueAvailLow, regQueueAvailHigh:
		setHalf(&q.Avail, off == regQueueAvailHigh, v)
	case regQueueUsedLow, regQueueUsedHigh:
		setHalf(&q.Used, off == regQueueUsedHigh, v)
	}
}

func setHalf(p *uint64, high bool, v uint32) {
	if high {
		*p = *p&0xffff_ffff | uint64(v)<<32
	} else {
		*p = *p&^0xffff_ffff | uint64(v)
	}
}

func (t *Transport) setReady(q *Queue, ready bool) {
	if !ready {
		q.Ready = false
		return
	}
	if err := q.check(t.mem); err != nil {
		t.fail(err)
		return
	}
	q.Ready = true
}

// notify serves every chain the driver made available on queue n.
func (t *Transport) notify(n uint32) {
	if t.status&StatusDriverOK == 0 || t.Broken != "" || n >= uint32(len(t.queues)) || !t.queues[n].Ready {
		return
	}
	if p, ok := t.dev.(Producer); ok && p.Produces(int(n)) {
		p.Kick(int(n))
		return
	}
	q := &t.queues[n]
	pending, err := q.Pending(t.mem)
	served := 0
	for ; err == nil && served < pending; served++ {
		err = t.serve(int(n), q)
	}
	if served > 0 && q.WantsInterrupt(t.mem) {
		t.intStatus |= IntUsedBuffer
	}
	if err != nil {
		t.fail(err)
	}
}

func (t *Transport) serve(n int, q *Queue) error {
	c, err := q.Next(t.mem)
	if err != nil {
		return err
	}
	written, err := t.dev.Handle(n, c)
	if err != nil {
		return err
	}
	return q.Put(t.mem, c.Head, written)
}

// Offer fills the next chain the driver made available on queue n with
// fill, returns it to the driver and raises the used-buffer interrupt
// unless the driver asked for none (Queue.WantsInterrupt). It
// reports false when the device is not running or the driver has made no
// chain available; a malformed ring breaks the device, as for a
// notification.
func (t *Transport) Offer(n int, fill func(Chain) uint32) bool {
	if t.status&StatusDriverOK == 0 || t.Broken != "" || n < 0 || n >= len(t.queues) || !t.queues[n].Ready {
		return false
	}
	q := &t.queues[n]
	pending, err := q.Pending(t.mem)
	if err == nil && pending == 0 {
		return false
	}
	var c Chain
	if err == nil {
		c, err = q.Next(t.mem)
	}
	if err == nil {
		err = q.Put(t.mem, c.Head, fill(c))
	}
	if err != nil {
		t.fail(err)
		return false
	}
	if q.WantsInterrupt(t.mem) {
		t.intStatus |= IntUsedBuffer
	}
	return true
}

// fail marks the device as needing a reset and tells the driver (2.1.2).
func (t *Transport) fail(err error) {
	if t.Broken == "" {
		t.Broken = err.Error()
		t.log(fmt.Sprintf("%s: device needs reset: %v", t.dev.Name(), err))
	}
	t.status |= StatusNeedsReset
	t.intStatus |= IntConfigChanged
}
