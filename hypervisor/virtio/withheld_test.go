package virtio

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sharedMemory is a protected VM's RAM as its devices reach it: the VM
// owns all of flat, and the device may map only the pages in shared.
type sharedMemory struct {
	flat   *flatMemory
	shared map[uint64]bool // page IPAs the VM shared with the host
}

func (m *sharedMemory) Slice(ipa, n uint64) ([]byte, bool) {
	b, ok := m.flat.Slice(ipa, n)
	if !ok {
		return nil, false
	}
	for p := ipa &^ 0xfff; p < ipa+n; p += 0x1000 {
		if !m.shared[p] {
			return nil, false
		}
	}
	return b, true
}

func (m *sharedMemory) Withheld(ipa, n uint64) bool {
	_, inRAM := m.flat.Slice(ipa, n)
	_, reachable := m.Slice(ipa, n)
	return inRAM && !reachable
}

// newProtectedDriver is a driver whose device reaches only the rings, the
// block header and status pages, and the pages listed.
func newProtectedDriver(t *testing.T, dev Device, pages ...uint64) *driver {
	d := newDriver(t, dev)
	mem := &sharedMemory{flat: d.mem, shared: map[uint64]bool{}}
	for _, p := range append([]uint64{descIPA, availIPA, usedIPA, hdrIPA, statusIPA}, pages...) {
		mem.shared[p] = true
	}
	d.tr = New(dev, mem, func(s string) { d.logs = append(d.logs, s) })
	return d
}

// A request whose data buffer the VM did not share gets IOERR and the
// device leaves that buffer alone; the next, shared, request is served.
func TestBlockAnswersAnUnsharedBufferWithIOErr(t *testing.T) {
	const private = bufferIPA + 0x1000
	dev, _ := newDisk(t, 8, false)
	d := newProtectedDriver(t, dev, bufferIPA)
	d.start(FeatureVersion1)

	copy(d.bytes(private, 4), "mine")
	d.submit(blkHeader(d, hdrIPA, blkIn, 3), buf{private, 512, true}, buf{statusIPA, 1, true})
	_, _, n := d.used(0)
	assert.Equal(t, uint32(1), n, "only the status byte written")
	assert.Equal(t, byte(blkIOErr), d.bytes(statusIPA, 1)[0])
	assert.Equal(t, "mine", string(d.bytes(private, 4)), "the private page is untouched")

	copy(d.bytes(bufferIPA, 512), make([]byte, 512))
	d.submit(blkHeader(d, hdrIPA, blkOut, 2), buf{private, 512, false}, buf{statusIPA, 1, true})
	assert.Equal(t, byte(blkIOErr), d.bytes(statusIPA, 1)[0], "a write from a private page")

	d.submit(blkHeader(d, hdrIPA, blkIn, 3), buf{bufferIPA, 512, true}, buf{statusIPA, 1, true})
	assert.Equal(t, byte(blkOK), d.bytes(statusIPA, 1)[0])
	assert.Equal(t, byte(3), d.bytes(bufferIPA, 512)[0])
	assert.Empty(t, d.tr.Broken)
	assert.Empty(t, d.logs)
}

// A buffer that is partly shared is not shared: IOERR.
func TestBlockAnswersABufferAcrossAnUnsharedPageWithIOErr(t *testing.T) {
	dev, _ := newDisk(t, 8, false)
	d := newProtectedDriver(t, dev, bufferIPA)
	d.start(FeatureVersion1)
	d.submit(blkHeader(d, hdrIPA, blkIn, 0), buf{bufferIPA + 0x800, 0x1000, true}, buf{statusIPA, 1, true})
	assert.Equal(t, byte(blkIOErr), d.bytes(statusIPA, 1)[0])
	assert.Zero(t, d.bytes(bufferIPA+0x800, 1)[0], "nothing copied into the shared half either")
}

// A status byte the VM did not share cannot be answered: the device asks
// for a reset, and works again after one.
func TestBlockWithAnUnsharedStatusByteBreaksTheDevice(t *testing.T) {
	dev, _ := newDisk(t, 8, false)
	d := newProtectedDriver(t, dev, bufferIPA)
	d.start(FeatureVersion1)
	d.submit(blkHeader(d, hdrIPA, blkIn, 0), buf{bufferIPA, 512, true}, buf{bufferIPA + 0x1000, 1, true})
	assert.Contains(t, d.tr.Broken, "status byte")
	assert.NotZero(t, d.r(regStatus)&StatusNeedsReset)

	d.start(FeatureVersion1)
	d.avail, d.next = 0, 0
	d.submit(blkHeader(d, hdrIPA, blkIn, 5), buf{bufferIPA, 512, true}, buf{statusIPA, 1, true})
	assert.Equal(t, byte(blkOK), d.bytes(statusIPA, 1)[0])
	assert.Equal(t, byte(5), d.bytes(bufferIPA, 1)[0])
}

// Rings the VM did not share are refused at QueueReady, and the log says
// why.
func TestUnsharedRingsAreRefused(t *testing.T) {
	d := newDriver(t, &RNG{Fill: counting})
	d.tr = New(d.tr.dev, &sharedMemory{flat: d.mem, shared: map[uint64]bool{descIPA: true, availIPA: true}},
		func(s string) { d.logs = append(d.logs, s) })
	d.w(regQueueNum, qSize)
	d.w(regQueueDescLow, descIPA)
	d.w(regQueueAvailLow, availIPA)
	d.w(regQueueUsedLow, usedIPA)
	d.w(regQueueReady, 1)
	assert.Zero(t, d.r(regQueueReady))
	require.Len(t, d.logs, 1)
	assert.Contains(t, d.logs[0], "used ring at 0x40003000 is not shared with the host")
}

// The entropy device gives nothing to a chain with an unshared buffer.
func TestRNGFillsNothingUnshared(t *testing.T) {
	d := newProtectedDriver(t, &RNG{Fill: counting}, bufferIPA)
	d.start(FeatureVersion1)
	d.submit(buf{bufferIPA, 8, true}, buf{bufferIPA + 0x1000, 8, true})
	_, _, n := d.used(0)
	assert.Zero(t, n)
	assert.Zero(t, d.bytes(bufferIPA, 1)[0])
	d.submit(buf{bufferIPA, 8, true})
	_, _, n = d.used(1)
	assert.Equal(t, uint32(8), n)
	assert.Empty(t, d.tr.Broken)
}
