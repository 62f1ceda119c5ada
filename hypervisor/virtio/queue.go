package virtio

import (
	"encoding/binary"
	"fmt"
)

// Memory is a VM's RAM as its devices reach it. Slice returns a view of
// the guest-physical range [ipa, ipa+n) when all of it is memory the
// hypervisor may map for that VM (the ledger lets the host map it), and
// false otherwise: a device never touches anything else.
type Memory interface {
	Slice(ipa, n uint64) ([]byte, bool)
}

// Withholder is a Memory with pages the VM has but the host may not map:
// a protected VM's RAM, of which the devices reach only the pages the VM
// shared with the host (GUEST_SHARE). Withheld reports that [ipa, ipa+n)
// lies in the VM's RAM, so that a request naming such a range is the
// driver's mistake about what it shared, which the device answers with an
// error, not a ring it broke.
type Withholder interface {
	Withheld(ipa, n uint64) bool
}

// withheld asks mem, when it can tell, whether [ipa, ipa+n) is the VM's
// memory but not shared with the host.
func withheld(mem Memory, ipa, n uint64) bool {
	w, ok := mem.(Withholder)
	return ok && w.Withheld(ipa, n)
}

// outside names why a range is out of a device's reach, for the log.
func outside(mem Memory, ipa, n uint64) string {
	if withheld(mem, ipa, n) {
		return "not shared with the host"
	}
	return "outside the VM's memory"
}

// MaxQueueSize is QueueNumMax: the most descriptors a queue may have. It
// bounds the work of one notification and the length of a chain.
const MaxQueueSize = 256

// Descriptor flags (virtio 1.2, 2.7.5).
const (
	descNext     = 1
	descWrite    = 2
	descIndirect = 4
)

// availNoInterrupt is VIRTQ_AVAIL_F_NO_INTERRUPT in the available ring's
// flags (virtio 1.2, 2.7.7): the driver asks not to be interrupted for
// the buffers the device uses, as Linux does while it polls a queue.
const availNoInterrupt = 1

// Sizes of the split virtqueue's parts (virtio 1.2, 2.7): a descriptor is
// 16 bytes; the available ring is flags, idx, ring[size] of u16 and
// used_event; the used ring is flags, idx, ring[size] of {id u32, len u32}
// and avail_event.
const (
	descSize     = 16
	usedElemSize = 8
)

// Queue is one split virtqueue as the driver configured it.
type Queue struct {
	Size  uint16 // QueueNum: a power of two, 1 to MaxQueueSize
	Ready bool
	Desc  uint64 // IPA of the descriptor table
	Avail uint64 // IPA of the available (driver) ring
	Used  uint64 // IPA of the used (device) ring

	lastAvail uint16 // the next available entry the device will take
	usedIdx   uint16 // the device's own copy of used.idx
}

// Chain is one request: the views of its device-readable buffers, then of
// its device-writable ones, in chain order. A buffer in memory the VM did
// not share with the host (Withholder) has a nil view and is counted in
// Withheld: the device must answer such a request with its error status
// and touch none of it.
type Chain struct {
	Head     uint16
	Readable [][]byte
	Writable [][]byte
	Withheld int
}

// WritableLen is the total size of c's device-writable buffers.
func (c Chain) WritableLen() uint64 {
	n := uint64(0)
	for _, b := range c.Writable {
		n += uint64(len(b))
	}
	return n
}

// QueueError is a ring the driver broke: the device stops and asks for a
// reset (virtio 1.2, 2.1.2) rather than guess what the driver meant.
type QueueError struct{ Reason string }

func (e *QueueError) Error() string { return e.Reason }

func broken(format string, args ...any) error {
	return &QueueError{fmt.Sprintf(format, args...)}
}

// check validates the queue's configuration before it is used: a size
// that is a power of two no larger than MaxQueueSize, rings aligned as
// 2.7 requires (16, 2 and 4 bytes), and every ring wholly in memory.
func (q *Queue) check(mem Memory) error {
	n := uint64(q.Size)
	switch {
	case n == 0 || n > MaxQueueSize || n&(n-1) != 0:
		return broken("queue size %d is not a power of two from 1 to %d", n, MaxQueueSize)
	case q.Desc%16 != 0 || q.Avail%2 != 0 || q.Used%4 != 0:
		return broken("rings misaligned (descriptors %#x, available %#x, used %#x)", q.Desc, q.Avail, q.Used)
	}
	for _, r := range []struct {
		what    string
		ipa, sz uint64
	}{{"descriptor table", q.Desc, n * descSize}, {"available ring", q.Avail, 6 + 2*n}, {"used ring", q.Used, 6 + usedElemSize*n}} {
		if _, ok := mem.Slice(r.ipa, r.sz); !ok {
			return broken("%s at %#x is %s", r.what, r.ipa, outside(mem, r.ipa, r.sz))
		}
	}
	return nil
}

// reset forgets the device's ring positions.
func (q *Queue) reset() { *q = Queue{} }

// ring returns a view of n bytes at ipa, which check has validated.
func ring(mem Memory, ipa, n uint64) ([]byte, error) {
	b, ok := mem.Slice(ipa, n)
	if !ok {
		return nil, broken("ring at %#x is no longer in the device's reach (%s)", ipa, outside(mem, ipa, n))
	}
	return b, nil
}

// Pending returns how many chains the driver has made available and the
// device has not taken, or an error if the driver's index runs further
// ahead than the queue holds.
func (q *Queue) Pending(mem Memory) (int, error) {
	avail, err := ring(mem, q.Avail, 4)
	if err != nil {
		return 0, err
	}
	idx := binary.LittleEndian.Uint16(avail[2:])
	n := idx - q.lastAvail // modulo 2^16 (2.7.6)
	if n > q.Size {
		return 0, broken("available index %d is %d entries past the device's %d, in a queue of %d", idx, n, q.lastAvail, q.Size)
	}
	return int(n), nil
}

// WantsInterrupt reports whether the driver wants an interrupt for the
// buffers used now: without VIRTIO_F_EVENT_IDX, unless the available
// ring's flags say VIRTQ_AVAIL_F_NO_INTERRUPT (2.7.7.2: the device should
// not send one then). A driver that clears the flag again checks the used
// ring itself (2.7.7.1), so a buffer used meanwhile is not lost. A ring
// out of reach wants one: the caller meets the error on its next step.
func (q *Queue) WantsInterrupt(mem Memory) bool {
	avail, err := ring(mem, q.Avail, 2)
	return err != nil || binary.LittleEndian.Uint16(avail)&availNoInterrupt == 0
}

// Next takes the next available chain. The caller has seen Pending > 0.
func (q *Queue) Next(mem Memory) (Chain, error) {
	avail, err := ring(mem, q.Avail, 4+2*uint64(q.Size))
	if err != nil {
		return Chain{}, err
	}
	slot := 4 + 2*uint64(q.lastAvail%q.Size)
	head := binary.LittleEndian.Uint16(avail[slot:])
	q.lastAvail++
	c, err := q.walk(mem, head)
	c.Head = head
	return c, err
}

// walk follows the chain from head. It stops at Size descriptors, so a
// loop ends as an error; every address and length is checked against the
// VM's memory before a view of it is made.
func (q *Queue) walk(mem Memory, head uint16) (Chain, error) {
	table, err := ring(mem, q.Desc, descSize*uint64(q.Size))
	if err != nil {
		return Chain{}, err
	}
	c := Chain{}
	idx := head
	for n := 0; ; n++ {
		if n == int(q.Size) {
			return c, broken("chain from descriptor %d is longer than the queue (a loop)", head)
		}
		if idx >= q.Size {
			return c, broken("descriptor index %d is outside a queue of %d", idx, q.Size)
		}
		d := table[descSize*uint64(idx):]
		addr := binary.LittleEndian.Uint64(d)
		length := uint64(binary.LittleEndian.Uint32(d[8:]))
		flags := binary.LittleEndian.Uint16(d[12:])
		if err := q.addBuffer(&c, mem, idx, addr, length, flags); err != nil {
			return c, err
		}
		if flags&descNext == 0 {
			return c, nil
		}
		idx = binary.LittleEndian.Uint16(d[14:])
	}
}

// addBuffer checks one descriptor and appends its view to c.
func (q *Queue) addBuffer(c *Chain, mem Memory, idx uint16, addr, length uint64, flags uint16) error {
	if flags&descIndirect != 0 {
		return broken("descriptor %d is indirect, which the device did not offer", idx)
	}
	if addr+length < addr {
		return broken("descriptor %d: %#x bytes at %#x wrap the address space", idx, length, addr)
	}
	buf, ok := mem.Slice(addr, length)
	if !ok && withheld(mem, addr, length) {
		c.Withheld++ // buf stays nil: the device answers with an error
	} else if !ok {
		return broken("descriptor %d: %#x bytes at %#x are outside the VM's memory", idx, length, addr)
	}
	if flags&descWrite == 0 {
		if len(c.Writable) > 0 {
			// 2.7.4.2: readable descriptors come before writable ones.
			return broken("descriptor %d is device-readable after a device-writable one", idx)
		}
		c.Readable = append(c.Readable, buf)
		return nil
	}
	c.Writable = append(c.Writable, buf)
	return nil
}

// Put returns a chain to the driver: an entry of the used ring with the
// chain's head and how many bytes the device wrote, then used.idx. The
// device keeps its own copy of used.idx, so a driver that scribbles on the
// used ring cannot make it write outside it.
func (q *Queue) Put(mem Memory, head uint16, written uint32) error {
	used, err := ring(mem, q.Used, 4+usedElemSize*uint64(q.Size))
	if err != nil {
		return err
	}
	e := used[4+usedElemSize*uint64(q.usedIdx%q.Size):]
	binary.LittleEndian.PutUint32(e, uint32(head))
	binary.LittleEndian.PutUint32(e[4:], written)
	q.usedIdx++
	binary.LittleEndian.PutUint16(used[2:], q.usedIdx)
	return nil
}
