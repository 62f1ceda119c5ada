package virtio

import (
	"encoding/binary"
	"fmt"
)

// Block is the block device (virtio 1.2, 5.2) over a disk image held in
// host memory: reads come from it, and writes change it for the VM's life
// unless it is read-only. The image on the QEMU host never changes.
type Block struct {
	Disk     []byte // a whole number of 512-byte sectors
	ReadOnly bool
	// Serial answers VIRTIO_BLK_T_GET_ID (20 bytes at most).
	Serial string
	config [16]byte // capacity (u64), size_max (u32, not offered), seg_max (u32)
}

// DeviceBlock is the block device's ID (5).
const DeviceBlock = 2

// SectorSize is the unit of the block device's addresses (5.2.6).
const SectorSize = 512

// Block feature bits (5.2.3).
const (
	featureBlkSegMax = 1 << 2
	featureBlkRO     = 1 << 5
)

// blkSegMax is seg_max, the most data buffers in one request. Without it
// a driver assumes one (Linux then sends every 4 KiB page of an O_DIRECT
// read as its own request, each an exit and an interrupt). Without
// indirect descriptors a request's buffers, header and status share the
// ring, so it stays two below the smallest queue a driver is likely to
// choose, 128, as QEMU's own device does.
const blkSegMax = 126

// Request types and statuses (5.2.6).
const (
	blkIn    = 0
	blkOut   = 1
	blkFlush = 4
	blkGetID = 8

	blkOK     = 0
	blkIOErr  = 1
	blkUnsupp = 2
)

// blkHeaderSize is struct virtio_blk_req's header: type, reserved, sector.
const blkHeaderSize = 16

// blkIDBytes is VIRTIO_BLK_ID_BYTES.
const blkIDBytes = 20

// NewBlock checks that disk is whole sectors and makes a block device.
func NewBlock(disk []byte, readOnly bool, serial string) (*Block, error) {
	if len(disk) == 0 || len(disk)%SectorSize != 0 {
		return nil, fmt.Errorf("virtio-blk: a disk of %d bytes is not a non-zero whole number of %d-byte sectors", len(disk), SectorSize)
	}
	b := &Block{Disk: disk, ReadOnly: readOnly, Serial: serial}
	binary.LittleEndian.PutUint64(b.config[:], uint64(len(disk)/SectorSize))
	binary.LittleEndian.PutUint32(b.config[12:], blkSegMax)
	return b, nil
}

func (*Block) ID() uint32       { return DeviceBlock }
func (*Block) Name() string     { return "virtio-blk" }
func (*Block) Queues() int      { return 1 }
func (b *Block) Config() []byte { return b.config[:] } // capacity in sectors, seg_max

func (b *Block) Features() uint64 {
	if b.ReadOnly {
		return featureBlkSegMax | featureBlkRO
	}
	return featureBlkSegMax
}

// Handle serves one request: a 16-byte header the device reads, data, and
// a status byte the device writes last. A chain without room for the
// status, or whose status byte the VM did not share, cannot be answered,
// so it breaks the device; any other bad request, one with a buffer the
// VM did not share among them, is answered with IOERR or UNSUPP.
func (b *Block) Handle(_ int, c Chain) (uint32, error) {
	in := flatten(c.Readable)
	out := c.Writable
	if len(out) == 0 || len(out[len(out)-1]) == 0 {
		return 0, broken("virtio-blk: request %d has no writable status byte the device can reach", c.Head)
	}
	last := out[len(out)-1]
	status := &last[len(last)-1]
	data := append(append([][]byte(nil), out[:len(out)-1]...), last[:len(last)-1])
	if in.len() < blkHeaderSize || c.Withheld > 0 {
		*status = blkIOErr
		return 1, nil
	}
	var hdr [blkHeaderSize]byte
	in.read(hdr[:])
	typ := binary.LittleEndian.Uint32(hdr[:])
	sector := binary.LittleEndian.Uint64(hdr[8:])
	written, st := b.request(typ, sector, in, data)
	*status = st
	return uint32(written) + 1, nil
}

// request performs one request and returns the data bytes written into
// the chain and the status.
func (b *Block) request(typ uint32, sector uint64, in *reader, data [][]byte) (int, byte) {
	switch typ {
	case blkIn:
		off, ok := b.span(sector, totalLen(data))
		if !ok {
			return 0, blkIOErr
		}
		n := 0
		for _, d := range data {
			n += copy(d, b.Disk[off+uint64(n):])
		}
		return n, blkOK
	case blkOut:
		off, ok := b.span(sector, uint64(in.len()))
		if !ok || b.ReadOnly {
			return 0, blkIOErr
		}
		in.read(b.Disk[off : off+uint64(in.len())])
		return 0, blkOK
	case blkFlush:
		return 0, blkOK
	case blkGetID:
		id := make([]byte, blkIDBytes)
		copy(id, b.Serial)
		return copyInto(data, id), blkOK
	}
	return 0, blkUnsupp
}

// span checks that n bytes from sector lie inside the disk, without
// overflow, and returns their offset.
func (b *Block) span(sector, n uint64) (uint64, bool) {
	size := uint64(len(b.Disk))
	if sector > size/SectorSize {
		return 0, false
	}
	off := sector * SectorSize
	return off, n <= size-off
}

func totalLen(bufs [][]byte) uint64 {
	n := uint64(0)
	for _, b := range bufs {
		n += uint64(len(b))
	}
	return n
}

// copyInto copies src across bufs and returns how many bytes it wrote.
func copyInto(bufs [][]byte, src []byte) int {
	n := 0
	for _, b := range bufs {
		n += copy(b, src[n:])
	}
	return n
}

// reader reads the device-readable buffers of a chain as one stream.
type reader struct{ bufs [][]byte }

func flatten(bufs [][]byte) *reader { return &reader{bufs} }

func (r *reader) len() int {
	n := 0
	for _, b := range r.bufs {
		n += len(b)
	}
	return n
}

// read fills p from the stream and consumes what it read.
func (r *reader) read(p []byte) {
	for len(p) > 0 && len(r.bufs) > 0 {
		n := copy(p, r.bufs[0])
		p = p[n:]
		r.bufs[0] = r.bufs[0][n:]
		if len(r.bufs[0]) == 0 {
			r.bufs = r.bufs[1:]
		}
	}
}
