package virtio

// RNG is the entropy device (virtio 1.2, 5.4): one queue whose writable
// buffers it fills with random bytes. It has no configuration and no
// features.
type RNG struct {
	// Fill writes random bytes into b. It must be a cryptographically
	// strong source: a guest seeds its own CRNG with what it reads here.
	Fill func(b []byte)
}

// DeviceRNG is the entropy device's ID (5).
const DeviceRNG = 4

func (*RNG) ID() uint32       { return DeviceRNG }
func (*RNG) Name() string     { return "virtio-rng" }
func (*RNG) Features() uint64 { return 0 }
func (*RNG) Config() []byte   { return nil }
func (*RNG) Queues() int      { return 1 }

// maxRNGChain bounds the bytes one chain receives, so that a guest asking
// for gigabytes at once costs the hypervisor a bounded time per request.
const maxRNGChain = 64 << 10

// Handle fills the chain's writable buffers, up to maxRNGChain bytes.
// Device-readable buffers carry nothing for this device and are ignored.
// A chain with a buffer the VM did not share gets nothing: the entropy
// device has no error status, and zero bytes written is its refusal.
func (r *RNG) Handle(_ int, c Chain) (uint32, error) {
	if c.Withheld > 0 {
		return 0, nil
	}
	written := 0
	for _, b := range c.Writable {
		n := min(len(b), maxRNGChain-written)
		r.Fill(b[:n])
		written += n
	}
	return uint32(written), nil
}
