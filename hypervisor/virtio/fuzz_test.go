package virtio

import (
	"encoding/binary"
	"testing"
)

// fuzzMemory is 64 KiB of guest RAM with its third page missing, as a
// page the ledger does not let the host map: Slice refuses any range that
// touches it, and the device must take that as it takes an address
// outside RAM.
type fuzzMemory struct {
	flatMemory
}

const fuzzHole = memBase + 2*4096

func (m *fuzzMemory) Slice(ipa, n uint64) ([]byte, bool) {
	b, ok := m.flatMemory.Slice(ipa, n)
	if ok && ipa < fuzzHole+4096 && ipa+n > fuzzHole {
		return nil, false
	}
	return b, ok
}

// withholdingFuzzMemory is fuzzMemory whose hole is a page of the VM's
// that it did not share (Withholder), as in a protected VM: a buffer there
// is answered with an error instead of breaking the device.
type withholdingFuzzMemory struct {
	*fuzzMemory
}

func (m withholdingFuzzMemory) Withheld(ipa, n uint64) bool {
	_, inRAM := m.flatMemory.Slice(ipa, n)
	_, reachable := m.Slice(ipa, n)
	return inRAM && !reachable
}

// FuzzQueue drives a device through register writes and a guest memory
// image, both from the input: whatever the driver writes, the hypervisor
// must not panic, loop or write outside the views Memory gave it.
func FuzzQueue(f *testing.F) {
	f.Add(validRNGSeed(), byte(0))
	f.Add(validRNGSeed(), byte(1))
	f.Add(make([]byte, 64), byte(1))
	f.Add(validRNGSeed(), byte(2))
	f.Add(validRNGSeed(), byte(5))
	f.Fuzz(func(t *testing.T, data []byte, which byte) {
		flat := &fuzzMemory{flatMemory: flatMemory{base: memBase, b: make([]byte, 16*4096)}}
		var mem Memory = flat
		if which&4 != 0 {
			mem = withholdingFuzzMemory{flat}
		}
		regs, image := split(data)
		copy(flat.b, image)
		var dev Device = &RNG{Fill: counting}
		switch which % 4 {
		case 1, 3:
			dev, _ = NewBlock(make([]byte, 8*SectorSize), which&2 != 0, "fuzz")
		case 2:
			// A network device whose peer on the switch has the
			// same driver: what one sends, the other receives.
			sw := &Switch{}
			a, b := NewNet(NetMAC("a")), NewNet(NetMAC("b"))
			a.Attach(New(a, mem, func(string) {}), sw)
			b.Attach(New(b, mem, func(string) {}), sw)
			dev = a
		}
		tr := New(dev, mem, func(string) {})
		if n, ok := dev.(*Net); ok {
			tr = n.t
		}
		for i := 0; i+6 <= len(regs); i += 6 {
			off := uint64(binary.LittleEndian.Uint16(regs[i:])) % (regConfig + 16)
			tr.Write(off&^3, 4, uint64(binary.LittleEndian.Uint32(regs[i+2:])))
			_ = tr.Read(off, 1<<(off&3))
		}
	})
}

// split takes a register program (length in the first two bytes) and a
// memory image from data.
func split(data []byte) (regs, image []byte) {
	if len(data) < 2 {
		return nil, nil
	}
	n := int(binary.LittleEndian.Uint16(data)) % (len(data) - 1)
	return data[2 : 2+n], data[2+n:]
}

// validRNGSeed is a driver that sets up queue 0 of 8 entries in the first
// pages and notifies with one chain available: the fuzzer starts from a
// working exchange.
func validRNGSeed() []byte {
	var regs []byte
	w := func(off uint16, v uint32) {
		regs = binary.LittleEndian.AppendUint16(regs, off)
		regs = binary.LittleEndian.AppendUint32(regs, v)
	}
	w(regStatus, StatusAcknowledge|StatusDriver)
	w(regDriverFeatSel, 1)
	w(regDriverFeatures, 1)
	w(regStatus, StatusAcknowledge|StatusDriver|StatusFeaturesOK)
	w(regQueueNum, 8)
	w(regQueueDescLow, memBase)
	w(regQueueAvailLow, memBase+0x1000)
	w(regQueueUsedLow, memBase+0x3000)
	w(regQueueReady, 1)
	w(regStatus, StatusAcknowledge|StatusDriver|StatusFeaturesOK|StatusDriverOK)
	w(regQueueNotify, 0)
	image := make([]byte, 0x2000)
	binary.LittleEndian.PutUint64(image[0:], memBase+0x4000) // descriptor 0
	binary.LittleEndian.PutUint32(image[8:], 64)
	binary.LittleEndian.PutUint16(image[12:], descWrite)
	binary.LittleEndian.PutUint16(image[0x1002:], 1) // avail.idx
	out := binary.LittleEndian.AppendUint16(nil, uint16(len(regs)))
	return append(append(out, regs...), image...)
}

// The seed really exercises the device: without this, the fuzzer could
// start from inputs that never reach a chain.
func TestFuzzSeedServesAChain(t *testing.T) {
	data := validRNGSeed()
	mem := &flatMemory{base: memBase, b: make([]byte, 16*4096)}
	regs, image := split(data)
	copy(mem.b, image)
	tr := New(&RNG{Fill: counting}, mem, func(s string) { t.Log(s) })
	for i := 0; i+6 <= len(regs); i += 6 {
		tr.Write(uint64(binary.LittleEndian.Uint16(regs[i:])), 4, uint64(binary.LittleEndian.Uint32(regs[i+2:])))
	}
	if idx := binary.LittleEndian.Uint16(mem.b[0x3002:]); idx != 1 || tr.Broken != "" {
		t.Fatalf("seed chain not served: used.idx %d, broken %q", idx, tr.Broken)
	}
}
