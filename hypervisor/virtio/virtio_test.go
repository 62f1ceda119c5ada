package virtio

import (
	"encoding/binary"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// flatMemory is guest RAM of len(b) bytes from IPA base.
type flatMemory struct {
	base uint64
	b    []byte
}

func (m *flatMemory) Slice(ipa, n uint64) ([]byte, bool) {
	if ipa < m.base || ipa-m.base > uint64(len(m.b)) || uint64(len(m.b))-(ipa-m.base) < n {
		return nil, false
	}
	off := ipa - m.base
	return m.b[off : off+n : off+n], true
}

const (
	memBase   = 0x4000_0000
	qSize     = 8
	descIPA   = memBase + 0x1000
	availIPA  = memBase + 0x2000
	usedIPA   = memBase + 0x3000
	bufferIPA = memBase + 0x8000
)

// driver plays the guest's part: it lays out one queue in flat memory and
// drives the transport through its registers, as Linux's virtio_mmio does.
type driver struct {
	t     *testing.T
	mem   *flatMemory
	tr    *Transport
	logs  []string
	q     int    // the queue submit, desc, makeAvailable and used work on
	avail uint16 // of queue q
	next  uint16 // next free descriptor of queue q
}

// queueBase is where queue q's rings are: 64 KiB apart.
func queueBase(q int) uint64 { return uint64(q) * 0x1_0000 }

func newDriver(t *testing.T, dev Device) *driver {
	d := &driver{t: t, mem: &flatMemory{base: memBase, b: make([]byte, 1<<20)}}
	d.tr = New(dev, d.mem, func(s string) { d.logs = append(d.logs, s) })
	return d
}

func (d *driver) w(off uint64, v uint32) { d.tr.Write(off, 4, uint64(v)) }
func (d *driver) r(off uint64) uint32    { return uint32(d.tr.Read(off, 4)) }

// start negotiates features and sets up queue 0 (3.1.1).
func (d *driver) start(features uint64) {
	require.Equal(d.t, uint32(magic), d.r(regMagic))
	require.Equal(d.t, uint32(2), d.r(regVersion))
	d.w(regStatus, 0)
	d.w(regStatus, StatusAcknowledge|StatusDriver)
	d.w(regDriverFeatSel, 0)
	d.w(regDriverFeatures, uint32(features))
	d.w(regDriverFeatSel, 1)
	d.w(regDriverFeatures, uint32(features>>32))
	d.w(regStatus, StatusAcknowledge|StatusDriver|StatusFeaturesOK)
	require.NotZero(d.t, d.r(regStatus)&StatusFeaturesOK, "features accepted")
	for q := 0; q < d.tr.dev.Queues(); q++ {
		d.w(regQueueSel, uint32(q))
		require.Equal(d.t, uint32(MaxQueueSize), d.r(regQueueNumMax))
		d.w(regQueueNum, qSize)
		d.w(regQueueDescLow, uint32(descIPA+queueBase(q)))
		d.w(regQueueAvailLow, uint32(availIPA+queueBase(q)))
		d.w(regQueueUsedLow, uint32(usedIPA+queueBase(q)))
		d.w(regQueueReady, 1)
		require.Equal(d.t, uint32(1), d.r(regQueueReady), "queue accepted: %v", d.logs)
	}
	d.w(regStatus, StatusAcknowledge|StatusDriver|StatusFeaturesOK|StatusDriverOK)
}

// buf is one buffer of a chain: its IPA, length and whether the device
// writes it.
type buf struct {
	ipa    uint64
	n      uint32
	device bool
}

// submit writes a chain's descriptors, makes it available and notifies.
func (d *driver) submit(bufs ...buf) uint16 {
	head := d.next
	for i, b := range bufs {
		idx := d.next
		d.next = (d.next + 1) % qSize
		flags := uint16(0)
		if b.device {
			flags |= descWrite
		}
		if i < len(bufs)-1 {
			flags |= descNext
		}
		d.desc(idx, b.ipa, b.n, flags, d.next)
	}
	d.makeAvailable(head)
	d.w(regQueueNotify, uint32(d.q))
	return head
}

func (d *driver) desc(idx uint16, ipa uint64, n uint32, flags, next uint16) {
	e, _ := d.mem.Slice(descIPA+queueBase(d.q)+uint64(idx)*descSize, descSize)
	binary.LittleEndian.PutUint64(e, ipa)
	binary.LittleEndian.PutUint32(e[8:], n)
	binary.LittleEndian.PutUint16(e[12:], flags)
	binary.LittleEndian.PutUint16(e[14:], next)
}

func (d *driver) makeAvailable(head uint16) {
	a, _ := d.mem.Slice(availIPA+queueBase(d.q), 4+2*qSize)
	binary.LittleEndian.PutUint16(a[4+2*(d.avail%qSize):], head)
	d.avail++
	binary.LittleEndian.PutUint16(a[2:], d.avail)
}

// used returns the used ring's index and its entry for position i.
func (d *driver) used(i uint16) (idx uint16, id, n uint32) {
	u, _ := d.mem.Slice(usedIPA+queueBase(d.q), 4+usedElemSize*qSize)
	e := u[4+usedElemSize*(i%qSize):]
	return binary.LittleEndian.Uint16(u[2:]), binary.LittleEndian.Uint32(e), binary.LittleEndian.Uint32(e[4:])
}

func (d *driver) bytes(ipa uint64, n int) []byte {
	b, _ := d.mem.Slice(ipa, uint64(n))
	return b
}

func counting(b []byte) {
	for i := range b {
		b[i] = byte(i + 1)
	}
}

func TestRNGFillsWritableBuffersAndInterrupts(t *testing.T) {
	d := newDriver(t, &RNG{Fill: counting})
	d.start(FeatureVersion1)
	head := d.submit(buf{bufferIPA, 32, true})
	idx, id, n := d.used(0)
	assert.Equal(t, uint16(1), idx)
	assert.Equal(t, uint32(head), id)
	assert.Equal(t, uint32(32), n)
	assert.Equal(t, byte(32), d.bytes(bufferIPA, 32)[31])
	assert.True(t, d.tr.IRQ())
	assert.Equal(t, uint32(IntUsedBuffer), d.r(regInterruptState))
	d.w(regInterruptACK, IntUsedBuffer)
	assert.False(t, d.tr.IRQ(), "acknowledged")
}

func TestFeaturesOKRefusedWithoutVersion1OrWithUnofferedBits(t *testing.T) {
	for _, f := range []uint64{0, FeatureVersion1 | 1<<28} {
		d := newDriver(t, &RNG{Fill: counting})
		d.w(regStatus, StatusAcknowledge|StatusDriver)
		d.w(regDriverFeatures, uint32(f))
		d.w(regDriverFeatSel, 1)
		d.w(regDriverFeatures, uint32(f>>32))
		d.w(regStatus, StatusAcknowledge|StatusDriver|StatusFeaturesOK)
		assert.Zero(t, d.r(regStatus)&StatusFeaturesOK, "features %#x", f)
	}
}

func TestDeviceIgnoresNotifiesBeforeDriverOK(t *testing.T) {
	d := newDriver(t, &RNG{Fill: counting})
	d.submit(buf{bufferIPA, 8, true})
	idx, _, _ := d.used(0)
	assert.Zero(t, idx)
	assert.False(t, d.tr.IRQ())
}

func newDisk(t *testing.T, sectors int, ro bool) (*Block, []byte) {
	disk := make([]byte, sectors*SectorSize)
	for i := range disk {
		disk[i] = byte(i / SectorSize)
	}
	b, err := NewBlock(disk, ro, "bulkhead-disk0")
	require.NoError(t, err)
	return b, disk
}

func blkHeader(d *driver, ipa uint64, typ uint32, sector uint64) buf {
	h := d.bytes(ipa, blkHeaderSize)
	binary.LittleEndian.PutUint32(h, typ)
	binary.LittleEndian.PutUint64(h[8:], sector)
	return buf{ipa, blkHeaderSize, false}
}

const (
	hdrIPA    = memBase + 0x6000
	statusIPA = memBase + 0x7000
)

func TestBlockReadsWritesAndAnswersErrors(t *testing.T) {
	dev, disk := newDisk(t, 8, false)
	d := newDriver(t, dev)
	d.start(FeatureVersion1)
	assert.Equal(t, uint64(8), d.tr.Read(regConfig, 8), "capacity")
	assert.Equal(t, uint64(blkSegMax), d.tr.Read(regConfig+12, 4), "seg_max")
	assert.NotZero(t, d.tr.features()&featureBlkSegMax, "seg_max offered")

	d.submit(blkHeader(d, hdrIPA, blkIn, 3), buf{bufferIPA, 1024, true}, buf{statusIPA, 1, true})
	_, _, n := d.used(0)
	assert.Equal(t, uint32(1025), n)
	assert.Equal(t, byte(blkOK), d.bytes(statusIPA, 1)[0])
	assert.Equal(t, byte(3), d.bytes(bufferIPA, 1024)[0])
	assert.Equal(t, byte(4), d.bytes(bufferIPA, 1024)[1023])

	copy(d.bytes(bufferIPA, 512), strings.Repeat("w", 512))
	d.submit(blkHeader(d, hdrIPA, blkOut, 7), buf{bufferIPA, 512, false}, buf{statusIPA, 1, true})
	assert.Equal(t, byte(blkOK), d.bytes(statusIPA, 1)[0])
	assert.Equal(t, byte('w'), disk[7*SectorSize+511])

	for _, c := range []struct {
		name   string
		typ    uint32
		sector uint64
		want   byte
	}{
		{"read past the end", blkIn, 7, blkIOErr},
		{"sector overflows", blkIn, 1 << 62, blkIOErr},
		{"unknown type", 99, 0, blkUnsupp},
	} {
		d.submit(blkHeader(d, hdrIPA, c.typ, c.sector), buf{bufferIPA, 1024, true}, buf{statusIPA, 1, true})
		assert.Equal(t, c.want, d.bytes(statusIPA, 1)[0], c.name)
	}
	d.submit(blkHeader(d, hdrIPA, blkGetID, 0), buf{bufferIPA, blkIDBytes, true}, buf{statusIPA, 1, true})
	assert.Equal(t, "bulkhead-disk0", strings.TrimRight(string(d.bytes(bufferIPA, blkIDBytes)), "\x00"))
	assert.Empty(t, d.tr.Broken)
}

func TestReadOnlyBlockRefusesWrites(t *testing.T) {
	dev, disk := newDisk(t, 4, true)
	d := newDriver(t, dev)
	d.start(FeatureVersion1 | featureBlkSegMax | featureBlkRO)
	d.submit(blkHeader(d, hdrIPA, blkOut, 0), buf{bufferIPA, 512, false}, buf{statusIPA, 1, true})
	assert.Equal(t, byte(blkIOErr), d.bytes(statusIPA, 1)[0])
	assert.Equal(t, byte(0), disk[0])
}

// Each malformed ring breaks the device with a reason, and raises the
// configuration-change interrupt; a reset brings it back.
func TestMalformedRingsBreakTheDeviceOnly(t *testing.T) {
	cases := []struct {
		name   string
		plant  func(d *driver)
		reason string
	}{
		{"loop", func(d *driver) { d.desc(0, bufferIPA, 8, descWrite|descNext, 0) }, "loop"},
		{"index out of range", func(d *driver) { d.desc(0, bufferIPA, 8, descWrite|descNext, qSize) }, "outside a queue"},
		{"address outside RAM", func(d *driver) { d.desc(0, 0x1000, 8, descWrite, 0) }, "outside the VM's memory"},
		{"length wraps", func(d *driver) { d.desc(0, ^uint64(0)-3, 8, descWrite, 0) }, "wrap"},
		{"indirect", func(d *driver) { d.desc(0, bufferIPA, 16, descIndirect, 0) }, "indirect"},
		{"readable after writable", func(d *driver) {
			d.desc(0, bufferIPA, 8, descWrite|descNext, 1)
			d.desc(1, bufferIPA, 8, 0, 0)
		}, "readable after"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := newDriver(t, &RNG{Fill: counting})
			d.start(FeatureVersion1)
			c.plant(d)
			d.makeAvailable(0)
			d.w(regQueueNotify, 0)
			assert.Contains(t, d.tr.Broken, c.reason)
			assert.NotZero(t, d.r(regStatus)&StatusNeedsReset)
			assert.NotZero(t, d.r(regInterruptState)&IntConfigChanged)
			require.Len(t, d.logs, 1)

			d.start(FeatureVersion1) // a reset, then a fresh start
			assert.Empty(t, d.tr.Broken)
			d.avail, d.next = 0, 0
			d.submit(buf{bufferIPA, 8, true})
			idx, _, _ := d.used(0)
			assert.Equal(t, uint16(1), idx, "works again after the reset")
		})
	}
}

func TestAvailableIndexTooFarAheadBreaksTheDevice(t *testing.T) {
	d := newDriver(t, &RNG{Fill: counting})
	d.start(FeatureVersion1)
	a := d.bytes(availIPA, 4)
	binary.LittleEndian.PutUint16(a[2:], qSize+1)
	d.w(regQueueNotify, 0)
	assert.Contains(t, d.tr.Broken, "past the device")
}

func TestBadQueueConfigurationIsRefused(t *testing.T) {
	for _, c := range []struct {
		name        string
		num         uint32
		desc, avail uint64
	}{
		{"size not a power of two", 3, descIPA, availIPA},
		{"size too large", MaxQueueSize * 2, descIPA, availIPA},
		{"descriptors outside RAM", qSize, 0x10, availIPA},
		{"descriptors misaligned", qSize, descIPA + 8, availIPA},
		{"ring past the end of RAM", qSize, descIPA, memBase + 1<<20 - 2},
	} {
		d := newDriver(t, &RNG{Fill: counting})
		d.w(regQueueNum, c.num)
		d.w(regQueueDescLow, uint32(c.desc))
		d.w(regQueueAvailLow, uint32(c.avail))
		d.w(regQueueUsedLow, usedIPA)
		d.w(regQueueReady, 1)
		assert.Zero(t, d.r(regQueueReady), c.name)
		assert.NotEmpty(t, d.tr.Broken, c.name)
	}
}

func TestBlockWithoutStatusByteBreaksTheDevice(t *testing.T) {
	dev, _ := newDisk(t, 1, false)
	d := newDriver(t, dev)
	d.start(FeatureVersion1)
	d.submit(blkHeader(d, hdrIPA, blkIn, 0))
	assert.Contains(t, d.tr.Broken, "status byte")
}

func TestNewBlockRefusesPartialSectors(t *testing.T) {
	_, err := NewBlock(make([]byte, 513), false, "")
	assert.ErrorContains(t, err, "sectors")
	_, err = NewBlock(nil, false, "")
	assert.Error(t, err)
}

// A read scattered over several buffers (seg_max) fills them in order.
func TestBlockReadScattersAcrossBuffers(t *testing.T) {
	dev, _ := newDisk(t, 8, false)
	d := newDriver(t, dev)
	d.start(FeatureVersion1 | featureBlkSegMax)
	bufs := []buf{blkHeader(d, hdrIPA, blkIn, 2)}
	for i := uint64(0); i < 4; i++ {
		bufs = append(bufs, buf{bufferIPA + i*0x1000, SectorSize, true})
	}
	d.submit(append(bufs, buf{statusIPA, 1, true})...)
	_, _, n := d.used(0)
	assert.Equal(t, uint32(4*SectorSize+1), n)
	assert.Equal(t, byte(blkOK), d.bytes(statusIPA, 1)[0])
	for i := uint64(0); i < 4; i++ {
		assert.Equal(t, byte(2+i), d.bytes(bufferIPA+i*0x1000, SectorSize)[SectorSize-1], "buffer %d holds sector %d", i, 2+i)
	}
}

// setAvailFlags writes the available ring's flags of queue d.q.
func (d *driver) setAvailFlags(flags uint16) {
	a, _ := d.mem.Slice(availIPA+queueBase(d.q), 2)
	binary.LittleEndian.PutUint16(a, flags)
}

// TestNoInterruptWhileTheDriverPolls: with VIRTQ_AVAIL_F_NO_INTERRUPT set
// (2.7.7) the device uses the buffer and raises no interrupt; once the
// driver clears the flag, the next buffer used interrupts again.
func TestNoInterruptWhileTheDriverPolls(t *testing.T) {
	d := newDriver(t, &RNG{Fill: counting})
	d.start(FeatureVersion1)
	d.setAvailFlags(availNoInterrupt)
	d.submit(buf{bufferIPA, 16, true})
	idx, _, n := d.used(0)
	assert.Equal(t, uint16(1), idx, "the buffer was used")
	assert.Equal(t, uint32(16), n)
	assert.False(t, d.tr.IRQ(), "no interrupt asked for")
	assert.Zero(t, d.r(regInterruptState))

	d.setAvailFlags(0)
	d.submit(buf{bufferIPA, 16, true})
	assert.True(t, d.tr.IRQ())
	assert.Equal(t, uint32(IntUsedBuffer), d.r(regInterruptState))
}

// TestNoInterruptForAFrameWhileTheReceiverPolls: a frame delivered into a
// receive queue whose driver polls it raises no interrupt either.
func TestNoInterruptForAFrameWhileTheReceiverPolls(t *testing.T) {
	sw := &Switch{}
	a, b := newNIC(t, sw, "vm0"), newNIC(t, sw, "vm1")
	b.postRX(0, 2048)
	b.setAvailFlags(availNoInterrupt)
	a.send(frameTo(b.dev.MAC, a.dev.MAC, "polled"))
	assert.Equal(t, []byte("polled"), b.received(0)[14:])
	assert.False(t, b.tr.IRQ(), "the receiver polls")
	b.postRX(1, 2048)
	b.setAvailFlags(0)
	a.send(frameTo(b.dev.MAC, a.dev.MAC, "again"))
	assert.Equal(t, []byte("again"), b.received(1)[14:])
	assert.True(t, b.tr.IRQ())
}
