//go:build tamago && arm64 && bulkhead_guest

package virtio

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"flag"
	"testing"

	"bulkhead/guest"
	"bulkhead/guest/check"
	"bulkhead/isolation/abi"
)

// What the host put on the disk: the sector to read and its SHA-256.
var (
	sector    = flag.Uint64("sector", 0, "the disk sector to read")
	sectorSHA = flag.String("sha256", "", "the SHA-256 of that sector, in hex")
)

// Block request types and statuses (virtio 1.2, 5.2.6).
const (
	blkIn    = 0
	blkOK    = 0
	blkIOErr = 1
	sectorSz = 512
)

// blockRequest is a read of one sector: the header and status byte in one
// page the test shares, the data wherever the test says.
type blockRequest struct {
	hdr uint64 // the header at hdr, the status byte at hdr+0x800
}

// read asks dev for sector s into data and returns the status byte and how
// many bytes the device said it wrote.
func (r blockRequest) read(dev *device, s, data uint64) (status byte, written uint32, ok bool) {
	h := mem(r.hdr, 16)
	binary.LittleEndian.PutUint32(h, blkIn)
	binary.LittleEndian.PutUint32(h[4:], 0)
	binary.LittleEndian.PutUint64(h[8:], s)
	st := mem(r.hdr+0x800, 1)
	st[0] = 0xff
	written, ok = dev.submit(buffer{r.hdr, 16, false}, buffer{data, sectorSz, true}, buffer{r.hdr + 0x800, 1, true})
	return st[0], written, ok
}

// startBlock finds the block device and starts it on a shared ring page,
// with a shared header page.
func startBlock(t *testing.T) (*device, blockRequest) {
	dev := findDevice(t, deviceBlock)
	if !check.True(t, dev.start(sharedPages(t, 1)), "the block device refused a queue in shared memory") {
		t.FailNow()
	}
	return dev, blockRequest{sharedPages(t, 1)}
}

// checkSector fails t unless the 512 bytes at data hash to -sha256.
func checkSector(t *testing.T, data uint64) {
	t.Helper()
	sum := sha256.Sum256(mem(data, sectorSz))
	check.Equal(t, *sectorSHA, hex.EncodeToString(sum[:]), "SHA-256 of sector %d", *sector)
}

// TestBlockReadsASectorThroughSharedPages: the guest shares a ring page, a
// header page and a data page, and reads the sector the host named; its
// bytes are the host's.
func TestBlockReadsASectorThroughSharedPages(t *testing.T) {
	if *sectorSHA == "" {
		t.Fatal("no -sha256: the host names a sector and its hash")
	}
	dev, req := startBlock(t)
	capacity := uint64(dev.r(regConfig)) | uint64(dev.r(regConfig+4))<<32
	check.True(t, capacity > *sector, "capacity %d sectors, want more than %d", capacity, *sector)
	data := sharedPages(t, 1)
	status, written, ok := req.read(dev, *sector, data)
	if !ok {
		return
	}
	check.Equal(t, byte(blkOK), status, "status")
	check.Equal(t, uint32(sectorSz+1), written, "bytes written")
	checkSector(t, data)
	check.True(t, !dev.needsReset(), "device status %#x", dev.r(regStatus))
}

// TestBlockRefusesABufferTheGuestDidNotShare: a read into a private page
// gets IOERR, the page keeps its bytes and stays private, and the next
// read into a shared page works.
func TestBlockRefusesABufferTheGuestDidNotShare(t *testing.T) {
	dev, req := startBlock(t)
	private := pages(t, 1)
	mine := bytes.Repeat([]byte("private."), sectorSz/8)
	copy(mem(private, sectorSz), mine)

	status, written, ok := req.read(dev, *sector, private)
	if !ok {
		return
	}
	check.Equal(t, byte(blkIOErr), status, "status of a read into a private page")
	check.Equal(t, uint32(1), written, "only the status byte written")
	check.True(t, bytes.Equal(mine, mem(private, sectorSz)), "the private page changed")
	state, _, st := guest.MemStateRun(private, 1)
	check.Status(t, abi.Success, st, "GUEST_MEMSTATE")
	check.Equal(t, guest.MemState(abi.MemPrivate), state, "the page is still private")
	check.True(t, !dev.needsReset(), "an unshared buffer is an error, not a broken ring")

	data := sharedPages(t, 1)
	status, _, ok = req.read(dev, *sector, data)
	if ok && check.Equal(t, byte(blkOK), status, "the next read") {
		checkSector(t, data)
	}
}

// TestBlockStopsReachingAPageTheGuestUnshared: after GUEST_UNSHARE the
// device no longer reaches the page.
func TestBlockStopsReachingAPageTheGuestUnshared(t *testing.T) {
	dev, req := startBlock(t)
	data := sharedPages(t, 1)
	if !check.Status(t, abi.Success, guest.Unshare(data, 1), "GUEST_UNSHARE") {
		return
	}
	clear(mem(data, sectorSz))
	status, _, ok := req.read(dev, *sector, data)
	if ok {
		check.Equal(t, byte(blkIOErr), status, "status of a read into an unshared page")
		check.True(t, bytes.Equal(make([]byte, sectorSz), mem(data, sectorSz)), "the unshared page changed")
	}
}

// TestBlockWithAPrivateStatusByteNeedsReset: a request whose status byte
// the device cannot reach cannot be answered; the device asks for a reset
// and works again after one.
func TestBlockWithAPrivateStatusByteNeedsReset(t *testing.T) {
	dev, req := startBlock(t)
	data, private := sharedPages(t, 1), pages(t, 1)
	mem(private, 1)[0] = 0xee
	h := mem(req.hdr, 16)
	binary.LittleEndian.PutUint32(h, blkIn)
	binary.LittleEndian.PutUint64(h[8:], *sector)
	dev.post(buffer{req.hdr, 16, false}, buffer{data, sectorSz, true}, buffer{private, 1, true})
	check.True(t, dev.needsReset(), "device status %#x, want DEVICE_NEEDS_RESET", dev.r(regStatus))
	check.Equal(t, byte(0xee), mem(private, 1)[0], "the private status byte")

	if !check.True(t, dev.start(dev.ring), "restart after the reset") {
		return
	}
	status, _, ok := req.read(dev, *sector, data)
	if ok && check.Equal(t, byte(blkOK), status, "a read after the reset") {
		checkSector(t, data)
	}
}

// TestQueuesMustBeInSharedPages: a queue in a private page is refused
// when the driver makes it ready.
func TestQueuesMustBeInSharedPages(t *testing.T) {
	dev := findDevice(t, deviceBlock)
	check.True(t, !dev.start(pages(t, 1)), "the device took a queue in private memory")
	check.True(t, dev.needsReset(), "device status %#x, want DEVICE_NEEDS_RESET", dev.r(regStatus))
}

// TestEntropyThroughASharedPage: the entropy device fills a shared buffer
// and gives nothing to a private one.
func TestEntropyThroughASharedPage(t *testing.T) {
	dev := findDevice(t, deviceRNG)
	if !check.True(t, dev.start(sharedPages(t, 1)), "the entropy device refused a queue in shared memory") {
		return
	}
	buf := sharedPages(t, 1)
	written, ok := dev.submit(buffer{buf, 32, true})
	if ok {
		check.Equal(t, uint32(32), written, "random bytes")
		check.True(t, !bytes.Equal(make([]byte, 32), mem(buf, 32)), "32 zero bytes")
	}
	private := pages(t, 1)
	written, ok = dev.submit(buffer{private, 32, true})
	if ok {
		check.Equal(t, uint32(0), written, "random bytes into a private page")
		check.True(t, bytes.Equal(make([]byte, 32), mem(private, 32)), "the private page changed")
	}
}
