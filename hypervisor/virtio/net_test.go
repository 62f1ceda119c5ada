package virtio

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// nic is one VM's network device and its driver.
type nic struct {
	*driver
	dev     *Net
	changed int
	rxFree  uint16 // used.idx of the receive queue already read
}

func newNIC(t *testing.T, sw *Switch, name string) *nic {
	dev := NewNet(NetMAC(name))
	n := &nic{driver: newDriver(t, dev), dev: dev}
	dev.Changed = func() { n.changed++ }
	dev.Attach(n.tr, sw)
	n.start(FeatureVersion1 | featureNetMAC)
	return n
}

// postRX makes one receive buffer of size bytes available, at slot i.
func (n *nic) postRX(i int, size uint32) {
	n.q = netRX
	n.submit(buf{bufferIPA + uint64(i)*0x800, size, true})
}

// send transmits frame (after a zero header).
func (n *nic) send(frame []byte) {
	n.q = netTX
	pkt := append(make([]byte, netHdrSize), frame...)
	copy(n.bytes(bufferIPA+0x4_0000, len(pkt)), pkt)
	n.submit(buf{bufferIPA + 0x4_0000, uint32(len(pkt)), false})
}

// received returns the frame in used entry i of the receive queue.
func (n *nic) received(i uint16) []byte {
	n.q = netRX
	idx, id, length := n.used(i)
	require.Greater(n.t, idx, i, "a frame was delivered")
	require.GreaterOrEqual(n.t, length, uint32(netHdrSize))
	_ = id
	pkt := n.bytes(bufferIPA+uint64(i)*0x800, int(length))
	assert.Equal(n.t, byte(1), pkt[10], "num_buffers")
	return pkt[netHdrSize:]
}

func frameTo(dst [6]byte, src [6]byte, payload string) []byte {
	f := append(append(append([]byte(nil), dst[:]...), src[:]...), 0x88, 0xb5)
	return append(f, payload...)
}

func TestSwitchDeliversUnicastToItsPortOnly(t *testing.T) {
	sw := &Switch{}
	a, b, c := newNIC(t, sw, "vm0"), newNIC(t, sw, "vm1"), newNIC(t, sw, "vm2")
	assert.Equal(t, uint64(a.dev.MAC[0]), a.tr.Read(regConfig, 1), "MAC in the configuration space")
	b.postRX(0, 2048)
	c.postRX(0, 2048)
	f := frameTo(b.dev.MAC, a.dev.MAC, "hello b")
	a.send(f)
	assert.Equal(t, f, b.received(0))
	assert.Equal(t, 1, b.changed)
	c.q = netRX
	idx, _, _ := c.used(0)
	assert.Zero(t, idx, "c saw nothing")
	assert.Equal(t, 1, a.dev.Sent)
}

func TestSwitchFloodsBroadcastAndBacklogsUntilBuffersArrive(t *testing.T) {
	sw := &Switch{}
	a, b, c := newNIC(t, sw, "vm0"), newNIC(t, sw, "vm1"), newNIC(t, sw, "vm2")
	f := frameTo([6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, a.dev.MAC, "who has")
	a.send(f)
	assert.Zero(t, b.changed, "no buffer yet: the frame waits")
	b.postRX(0, 2048)
	c.postRX(0, 2048)
	assert.Equal(t, f, b.received(0))
	assert.Equal(t, f, c.received(0))
	a.q = netRX
	idx, _, _ := a.used(0)
	assert.Zero(t, idx, "a frame never returns to its sender")
}

func TestNetDropsBadFramesAndKeepsRunning(t *testing.T) {
	sw := &Switch{}
	a, b := newNIC(t, sw, "vm0"), newNIC(t, sw, "vm1")
	a.send([]byte{1, 2, 3})                        // shorter than an Ethernet header
	a.send(bytes.Repeat([]byte{0xff}, maxFrame+1)) // longer than a frame
	assert.Equal(t, 2, a.dev.Dropped)
	b.postRX(0, 64) // too small for what follows
	a.send(frameTo(b.dev.MAC, a.dev.MAC, string(bytes.Repeat([]byte("x"), 100))))
	assert.Equal(t, 1, b.dev.Dropped)
	for i := 0; i < maxBacklog+5; i++ {
		a.send(frameTo(b.dev.MAC, a.dev.MAC, "flood"))
	}
	assert.Equal(t, 1+5, b.dev.Dropped, "the backlog is bounded")
	assert.Empty(t, a.tr.Broken+b.tr.Broken)
	b.dev.Detach()
	a.send(frameTo(b.dev.MAC, a.dev.MAC, "after"))
	assert.Equal(t, 1+5, b.dev.Dropped, "a detached port receives nothing")
}

func TestNetMACIsLocalUnicastAndStable(t *testing.T) {
	m := NetMAC("vm0")
	assert.Equal(t, byte(2), m[0]&3, "locally administered, unicast")
	assert.Equal(t, m, NetMAC("vm0"))
	assert.NotEqual(t, m, NetMAC("vm1"))
}
