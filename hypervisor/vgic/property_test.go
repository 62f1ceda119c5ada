package vgic

import (
	"encoding/binary"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// opSize is the number of bytes step decodes into one operation.
const opSize = 13

// maxFuzzOps bounds the operations of one fuzz input.
const maxFuzzOps = 256

// reg is a family of registers the operation decoder aims at: count
// instances from off, stride bytes apart, in the distributor (rd false)
// or a redistributor, accessed size bytes wide.
type reg struct {
	rd     bool
	off    uint64
	count  int
	stride uint64
	size   int
}

// targets are the registers whose writes change deliverability, and a few
// whose writes must not.
var targets = []reg{
	{false, GICDCTLR, 1, 4, 4},
	{false, GICDIGROUPR, 4, 4, 4},
	{false, GICDISENABLER, 4, 4, 4},
	{false, GICDICENABLER, 4, 4, 4},
	{false, GICDISPENDR, 4, 4, 4},
	{false, GICDICPENDR, 4, 4, 4},
	{false, GICDISACTIVER, 4, 4, 4},
	{false, GICDICACTIVER, 4, 4, 4},
	{false, GICDIPRIORITYR, 128, 1, 1},
	{false, GICDICFGR, 8, 4, 4},
	{false, GICDIROUTER, 128, 8, 8},
	{false, GICDIGRPMODR, 4, 4, 4},
	{true, GICRCTLR, 1, 4, 4},
	{true, GICRWAKER, 1, 4, 4},
	{true, GICRIGROUPR0, 1, 4, 4},
	{true, GICRISENABLER0, 1, 4, 4},
	{true, GICRICENABLER0, 1, 4, 4},
	{true, GICRISPENDR0, 1, 4, 4},
	{true, GICRICPENDR0, 1, 4, 4},
	{true, GICRISACTIVER0, 1, 4, 4},
	{true, GICRICACTIVER0, 1, 4, 4},
	{true, GICRIPRIORITYR, 32, 1, 1},
	{true, GICRICFGR0, 2, 4, 4},
	{true, GICRTYPER, 1, 8, 8},
}

// step decodes one operation from op (opSize bytes) and applies it to g.
// Any bytes make a valid operation; the decoding favours the registers
// and values that matter, so that random input reaches deliverable
// interrupts often, and still produces arbitrary accesses.
func step(g *GIC, op []byte) {
	kind, sel, idx := op[0]%8, int(op[1]), int(binary.LittleEndian.Uint16(op[2:]))
	mode, value := op[4], binary.LittleEndian.Uint64(op[5:])
	vcpu := sel % (g.VCPUs() + 1) // one past the end, sometimes
	intid := idx % (SPIBase + g.SPIs() + 8)
	switch kind {
	case 0, 1:
		ipa, size := aim(g, vcpu%g.VCPUs(), idx, mode)
		g.Write(ipa, size, shape(g, ipa, value))
	case 2:
		ipa := dist(uint64(idx))
		if sel&1 != 0 {
			ipa = rd(vcpu, uint64(idx)|uint64(sel&2)<<15)
		}
		sizes := [...]int{1, 2, 4, 8, 3, 0, 16, 4}
		if mode&1 != 0 {
			g.Write(ipa, sizes[mode>>1%8], value)
		} else {
			g.Read(ipa, sizes[mode>>1%8])
		}
	case 3:
		g.SetLevel(intid, vcpu, mode&1 != 0)
	case 4:
		g.Pulse(intid, vcpu)
	case 5:
		if d := g.Deliverable(vcpu); len(d) > 0 && mode&1 == 0 {
			intid = d[idx%len(d)]
		}
		g.Delivered(vcpu, intid)
	case 6:
		if mode&1 == 0 {
			value &= 0xF<<24 | SGIIRM | 0xFFFF // no affinity fields: real targets
		}
		g.SendSGI(vcpu, value)
	case 7:
		ipa, size := aim(g, vcpu%g.VCPUs(), idx, mode)
		g.Read(ipa, size)
	}
}

// aim picks a register from targets, mostly at its natural width and
// alignment.
func aim(g *GIC, vcpu, idx int, mode byte) (uint64, int) {
	r := targets[idx%len(targets)]
	off := r.off + r.stride*uint64(idx/len(targets)%r.count)
	size := r.size
	switch mode % 16 {
	case 13:
		size = 1
	case 14:
		size = 2
	case 15:
		off += uint64(mode >> 4 % 8)
	}
	if r.rd {
		return rd(vcpu, off), size
	}
	return dist(off), size
}

// shape makes value likelier to matter for the register at ipa: a route
// names one of the vCPUs (or one past them, or uses IRM, or Aff1) rather
// than a random affinity.
func shape(g *GIC, ipa, value uint64) uint64 {
	if ipa < irouter(SPIBase) || ipa >= irouter(1020) {
		return value
	}
	route := value % uint64(g.VCPUs()+1)
	switch value >> 60 {
	case 15:
		route |= RouteIRM
	case 14:
		route |= 1 << 8
	}
	return route
}

// tracker follows the Change stream the way the hypervisor does, holding
// the deliverable sets the engine has been told.
type tracker struct {
	shown [][]int
}

func newTracker(g *GIC) *tracker { return &tracker{shown: make([][]int, g.VCPUs())} }

// check drains g.Changes and verifies that the stream is ordered, that
// every change flips the state the engine was told, that the result is
// Deliverable for every vCPU, and that Deliverable agrees with what the
// guest-visible registers say (expected).
func (tr *tracker) check(t testing.TB, g *GIC) {
	changes := g.Changes()
	for i, c := range changes {
		if i > 0 {
			p := changes[i-1]
			require.True(t, p.VCPU < c.VCPU || p.VCPU == c.VCPU && p.INTID < c.INTID, "order: %+v then %+v", p, c)
		}
		require.True(t, c.VCPU >= 0 && c.VCPU < g.VCPUs(), "%+v", c)
		set := tr.shown[c.VCPU]
		at, present := slices.BinarySearch(set, c.INTID)
		require.NotEqual(t, present, c.Level, "%+v does not change what was shown", c)
		if c.Level {
			tr.shown[c.VCPU] = slices.Insert(set, at, c.INTID)
		} else {
			tr.shown[c.VCPU] = slices.Delete(set, at, at+1)
		}
	}
	want := expected(g)
	for v := range g.VCPUs() {
		got := g.Deliverable(v)
		require.Equal(t, len(tr.shown[v]) == 0, len(got) == 0, "vCPU %d", v)
		if len(got) > 0 {
			require.Equal(t, tr.shown[v], got, "vCPU %d: Changes and Deliverable differ", v)
		}
		require.Equal(t, want[v], got, "vCPU %d: Deliverable and the registers differ", v)
	}
}

// expected computes the deliverable sets from the guest-visible registers
// alone: GICD_CTLR, IGROUPR, ISENABLER, ISPENDR, GICD_IROUTER, and for
// 1-of-N routing GICR_WAKER and GICR_CTLR.
func expected(g *GIC) [][]int {
	out := make([][]int, g.VCPUs())
	if g.Read(dist(GICDCTLR), 4)&CtlrEnableGrp1 == 0 {
		return out
	}
	// ready returns the Group 1, enabled and pending bits of the 32
	// INTIDs from intid (a multiple of 32) in the frame at base.
	ready := func(base uint64, intid int) uint64 {
		word := base + uint64(intid/32*4)
		return g.Read(word+GICDIGROUPR, 4) & g.Read(word+GICDISENABLER, 4) & g.Read(word+GICDISPENDR, 4)
	}
	one := -1
	for v := g.VCPUs() - 1; v >= 0; v-- {
		if g.Read(rd(v, GICRWAKER), 4)&WakerProcessorSleep == 0 && g.Read(rd(v, GICRCTLR), 4)&RCtlrDPG1NS == 0 {
			one = v
		}
	}
	for v := range g.VCPUs() {
		bits := ready(rd(v, SGIBase), 0)
		for i := range 32 {
			if bits>>i&1 != 0 {
				out[v] = append(out[v], i)
			}
		}
	}
	var bits uint64
	for i := SPIBase; i < SPIBase+g.SPIs(); i++ {
		if i%32 == 0 {
			bits = ready(dist(0), i)
		}
		if bits>>(i%32)&1 == 0 {
			continue
		}
		route := g.Read(irouter(i), 8)
		v := int(route & 0xFF)
		if route&RouteIRM != 0 {
			v = one
		} else if route>>8 != 0 || v >= g.VCPUs() {
			v = -1
		}
		if v >= 0 {
			out[v] = append(out[v], i)
		}
	}
	return out
}

// TestRandomRuns drives GICs of several shapes with random operations and
// checks the invariants of tracker.check after each one. It also counts
// how often something was deliverable, so that a decoder that never
// reached a deliverable interrupt would fail rather than pass vacuously.
func TestRandomRuns(t *testing.T) {
	shapes := [][2]int{{1, 0}, {1, 32}, {2, 64}, {3, 32}, {4, 96}}
	busy := 0
	for seed := range uint64(100) {
		r := rand.New(rand.NewPCG(seed, 0x76676963))
		s := shapes[seed%uint64(len(shapes))]
		g := New(s[0], s[1])
		tr := newTracker(g)
		op := make([]byte, opSize)
		for range 400 {
			for i := range op {
				op[i] = byte(r.Uint32())
			}
			step(g, op)
			tr.check(t, g)
			for _, set := range tr.shown {
				if len(set) > 0 {
					busy++
					break
				}
			}
		}
	}
	require.Greater(t, busy, 4000, "steps with something deliverable, of 40000")
}

// FuzzAccesses applies arbitrary operation sequences (opSize bytes each,
// after a byte choosing the GIC's shape; at most maxFuzzOps of them, so
// that long inputs do not slow the search down) and checks that nothing
// panics and that tracker.check's invariants hold after every operation.
func FuzzAccesses(f *testing.F) {
	f.Add([]byte{0x12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	// Two vCPUs, 64 SPIs: enable Group 1 and SPI 33, route it to vCPU 1,
	// raise its line, deliver it.
	f.Add(append([]byte{0x21},
		slices.Concat(
			[]byte{0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0},
			[]byte{0, 0, 25, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0},
			[]byte{0, 0, 26, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0},
			[]byte{0, 0, 0x22, 0x03, 0, 1, 0, 0, 0, 0, 0, 0, 0},
			[]byte{3, 0, 33, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0},
			[]byte{5, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
		)...))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		g := New(1+int(data[0]%4), 32*int(data[0]>>4%4))
		tr := newTracker(g)
		data = data[1:min(len(data), 1+maxFuzzOps*opSize)]
		for ; len(data) >= opSize; data = data[opSize:] {
			step(g, data[:opSize])
			tr.check(t, g)
		}
	})
}
