package virtio

import (
	"crypto/sha256"
	"fmt"
)

// Net is the network device (virtio 1.2, 5.1) on a Switch: frames the
// driver transmits go to the switch, and frames the switch delivers wait
// in a bounded backlog until the driver has made receive buffers
// available. It offers only VIRTIO_NET_F_MAC: no checksum offload, no
// segmentation, no mergeable buffers, one queue pair.
type Net struct {
	MAC [6]byte
	// Changed is called when the device's interrupt may have changed
	// because a frame arrived from another VM, so that the hypervisor
	// updates that VM's interrupt line.
	Changed func()

	t       *Transport
	sw      *Switch
	backlog [][]byte
	config  [6]byte

	Sent, Received, Dropped int
}

// DeviceNet is the network device's ID (5).
const DeviceNet = 1

// Net queues (5.1.2) and features (5.1.3).
const (
	netRX         = 0
	netTX         = 1
	featureNetMAC = 1 << 5
)

// netHdrSize is struct virtio_net_hdr_v1 (5.1.6): with VERSION_1 the
// header always carries num_buffers.
const netHdrSize = 12

// Frame limits: an Ethernet header, and a frame of a 1500-byte MTU with a
// VLAN tag, without FCS.
const (
	minFrame = 14
	maxFrame = 1518
)

// maxBacklog bounds the frames waiting for a VM's receive buffers; more
// are dropped, as a switch port's full queue drops.
const maxBacklog = 64

// NetMAC derives a VM's MAC address from its name: locally administered
// (bit 1 of the first byte) and unicast (bit 0 clear), the rest from
// SHA-256, so that a VM keeps its address from run to run.
func NetMAC(name string) [6]byte {
	h := sha256.Sum256([]byte("bulkhead virtio-net\x00" + name))
	var mac [6]byte
	copy(mac[:], h[:])
	mac[0] = mac[0]&^1 | 2
	return mac
}

// NewNet makes a network device with mac.
func NewNet(mac [6]byte) *Net {
	n := &Net{MAC: mac}
	n.config = mac
	return n
}

func (*Net) ID() uint32       { return DeviceNet }
func (*Net) Name() string     { return "virtio-net" }
func (*Net) Features() uint64 { return featureNetMAC }
func (n *Net) Config() []byte { return n.config[:] } // mac
func (*Net) Queues() int      { return 2 }

// Produces: the receive queue is filled when frames arrive.
func (*Net) Produces(q int) bool { return q == netRX }

// Kick: the driver made receive buffers available.
func (n *Net) Kick(int) { n.drain() }

// Attach connects n, served by transport t, to the switch.
func (n *Net) Attach(t *Transport, sw *Switch) {
	n.t, n.sw = t, sw
	sw.ports = append(sw.ports, n)
}

// Detach takes n off its switch; nothing is delivered to it afterwards.
func (n *Net) Detach() {
	if n.sw == nil {
		return
	}
	for i, p := range n.sw.ports {
		if p == n {
			n.sw.ports = append(n.sw.ports[:i], n.sw.ports[i+1:]...)
			break
		}
	}
	n.sw, n.backlog = nil, nil
}

// Handle transmits one chain of the transmit queue: a header, then the
// frame, both device-readable. A frame too short or too long, or in
// memory the VM did not share, is dropped
// and counted; the driver gets its buffer back either way.
func (n *Net) Handle(q int, c Chain) (uint32, error) {
	if q != netTX {
		return 0, nil
	}
	in := flatten(c.Readable)
	size := in.len() - netHdrSize
	if size < minFrame || size > maxFrame || c.Withheld > 0 {
		n.Dropped++
		return 0, nil
	}
	var hdr [netHdrSize]byte
	in.read(hdr[:])
	frame := make([]byte, size)
	in.read(frame)
	n.Sent++
	if n.sw != nil {
		n.sw.forward(n, frame)
	}
	return 0, nil
}

// receive queues a frame from the switch and delivers what the driver
// has room for.
func (n *Net) receive(frame []byte) {
	if len(n.backlog) >= maxBacklog {
		n.Dropped++
		return
	}
	n.backlog = append(n.backlog, frame)
	n.drain()
}

// drain delivers backlogged frames into receive buffers, one frame per
// chain (no mergeable buffers), and tells the hypervisor once if any went.
func (n *Net) drain() {
	delivered := false
	for len(n.backlog) > 0 && n.t != nil && n.t.Offer(netRX, n.fill(n.backlog[0])) {
		n.backlog = n.backlog[1:]
		delivered = true
	}
	if delivered && n.Changed != nil {
		n.Changed()
	}
}

// fill writes a zero header with num_buffers 1 (5.1.6.4) and the frame;
// a chain too small for both, or with a buffer the VM did not share, gets
// nothing, and the frame is dropped.
func (n *Net) fill(frame []byte) func(Chain) uint32 {
	return func(c Chain) uint32 {
		if c.WritableLen() < uint64(netHdrSize+len(frame)) || c.Withheld > 0 {
			n.Dropped++
			return 0
		}
		pkt := make([]byte, netHdrSize+len(frame))
		pkt[10] = 1 // num_buffers
		copy(pkt[netHdrSize:], frame)
		n.Received++
		return uint32(copyInto(c.Writable, pkt))
	}
}

// Stats is one line of what the device carried.
func (n *Net) Stats() string {
	return fmt.Sprintf("virtio-net %02x:%02x:%02x:%02x:%02x:%02x: %d frames sent, %d received, %d dropped",
		n.MAC[0], n.MAC[1], n.MAC[2], n.MAC[3], n.MAC[4], n.MAC[5], n.Sent, n.Received, n.Dropped)
}

// Switch joins the network devices of one run: a frame goes to the port
// whose MAC is its destination, or to every other port when the
// destination is a broadcast, multicast or unknown address. A frame never
// returns to the port it came from.
type Switch struct {
	ports []*Net
}

func (s *Switch) forward(from *Net, frame []byte) {
	var dst [6]byte
	copy(dst[:], frame)
	for _, p := range s.ports {
		if p != from && p.MAC == dst {
			p.receive(frame)
			return
		}
	}
	for _, p := range s.ports {
		if p != from {
			p.receive(append([]byte(nil), frame...))
		}
	}
}
