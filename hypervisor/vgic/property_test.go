package vgic

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"bulkhead/hypervisor/vmachine"
)

// The property tests drive a GIC and the reference model of
// reference_test.go with the same operations (MMIO reads and writes of
// every size, line changes, pulses, SGIs, deliveries, resets) and compare,
// after every operation, what the guest and the hypervisor can observe:
// the value of every read, every register of the GIC's state read back,
// each vCPU's deliverable set (Deliverable, in increasing INTID order, as
// documented) and the deliverable sets the Changes stream has announced.

// opSize is the number of bytes decodeOp turns into one operation.
const opSize = 13

// maxFuzzOps bounds the operations of one fuzz input.
const maxFuzzOps = 256

// opKind says what a gicOp does.
type opKind uint8

const (
	opWrite opKind = iota
	opRead
	opLevel
	opPulse
	opDeliver
	opSGI
	opReset
)

// gicOp is one operation on the GIC, with every argument decided, so that
// a sequence of them replays the same way on a fresh GIC.
type gicOp struct {
	kind        opKind
	ipa         uint64
	size        int
	value       uint64
	vcpu, intid int
	level       bool
}

// String writes the operation as the Go statement that performs it on a
// GIC g, so that a failing sequence can be pasted into a regression test.
func (o gicOp) String() string {
	switch o.kind {
	case opWrite:
		return fmt.Sprintf("g.Write(%s, %d, %#x)", ipaName(o.ipa), o.size, o.value)
	case opRead:
		return fmt.Sprintf("g.Read(%s, %d)", ipaName(o.ipa), o.size)
	case opLevel:
		return fmt.Sprintf("g.SetLevel(%d, %d, %v)", o.intid, o.vcpu, o.level)
	case opPulse:
		return fmt.Sprintf("g.Pulse(%d, %d)", o.intid, o.vcpu)
	case opDeliver:
		return fmt.Sprintf("g.Delivered(%d, %d)", o.vcpu, o.intid)
	case opSGI:
		return fmt.Sprintf("g.SendSGI(%d, %#x)", o.vcpu, o.value)
	}
	return "g.Reset()"
}

// ipaName writes ipa with the test helpers dist and rd where it falls in
// a GIC frame.
func ipaName(ipa uint64) string {
	if vmachine.GICD.Contains(ipa, 1) {
		return fmt.Sprintf("dist(%#x)", ipa-vmachine.GICD.Base)
	}
	if ipa >= vmachine.GICRBase {
		rel := ipa - vmachine.GICRBase
		return fmt.Sprintf("rd(%d, %#x)", rel/vmachine.GICRStride, rel%vmachine.GICRStride)
	}
	return fmt.Sprintf("%#x", ipa)
}

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

// targets are the registers whose writes change deliverability.
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
}

// others are registers whose writes must change nothing (read-only,
// RAZ/WI and reserved ones), and the words past the implemented ones.
var others = []reg{
	{false, GICDTYPER, 4, 4, 4},
	{false, GICDIGRPMODR, 4, 4, 4},
	{false, GICDNSACR, 8, 4, 4},
	{false, GICDITARGETSR, 32, 4, 4},
	{false, GICDSGIR, 12, 4, 4},
	{false, idBase, 12, 4, 4},
	{true, GICRIIDR, 4, 4, 4},
	{true, GICRTYPER, 1, 8, 8},
	{true, GICRIGROUPR0 + 4, 1, 4, 4},
	{true, GICRISENABLER0 + 4, 1, 4, 4},
	{true, GICRISPENDR0 + 4, 1, 4, 4},
	{true, GICRIPRIORITYR + 32, 4, 1, 1},
	{true, GICRICFGR0 + 8, 1, 4, 4},
	{true, GICRIGRPMODR0, 1, 4, 4},
	{true, GICRNSACR, 1, 4, 4},
	{true, idBase, 12, 4, 4},
}

// decodeOp turns opSize bytes into an operation on a GIC whose reference
// model is r (which it reads to aim deliveries at deliverable
// interrupts). Any bytes make a valid operation; the decoding favours the
// registers and values that matter, so that random input reaches
// deliverable interrupts often, and still produces arbitrary accesses.
func decodeOp(r *refGIC, op []byte) gicOp {
	if op[0] == 0xFF && op[1] < 16 { // one operation in 4096

		return gicOp{kind: opReset}
	}
	kind, sel, idx := op[0]%8, int(op[1]), int(binary.LittleEndian.Uint16(op[2:]))
	mode, value := op[4], binary.LittleEndian.Uint64(op[5:])
	vcpu := sel % (r.vcpus + 1) // one past the end, sometimes
	intid := idx % (SPIBase + r.spis + 8)
	if mode == 0xFE {
		intid = -1
	}
	switch kind {
	case 0, 1:
		ipa, size := aim(r, vcpu%r.vcpus, idx, mode)
		return gicOp{kind: opWrite, ipa: ipa, size: size, value: shape(r, ipa, size, value)}
	case 2:
		ipa := dist(uint64(idx))
		if sel&1 != 0 {
			ipa = rd(vcpu, uint64(idx)|uint64(sel&2)<<15)
		}
		sizes := [...]int{1, 2, 4, 8, 3, 0, 16, 4}
		size := sizes[mode>>1%8]
		if mode&1 != 0 {
			return gicOp{kind: opWrite, ipa: ipa, size: size, value: value}
		}
		return gicOp{kind: opRead, ipa: ipa, size: size}
	case 3:
		return gicOp{kind: opLevel, intid: intid, vcpu: vcpu, level: mode&1 != 0}
	case 4:
		return gicOp{kind: opPulse, intid: intid, vcpu: vcpu}
	case 5:
		if d := r.deliverable(vcpu); len(d) > 0 && mode&1 == 0 {
			intid = d[idx%len(d)]
		}
		return gicOp{kind: opDeliver, vcpu: vcpu, intid: intid}
	case 6:
		if mode&1 == 0 {
			value &= 0xF<<24 | SGIIRM | 0xFFFF // no affinity fields: real targets
			if mode&2 == 0 && r.vcpus > 16 {
				value |= 1 << 44 // RS 1: Aff0 16-31
			}
		}
		return gicOp{kind: opSGI, vcpu: vcpu, value: value}
	}
	ipa, size := aim(r, vcpu%r.vcpus, idx, mode)
	return gicOp{kind: opRead, ipa: ipa, size: size}
}

// aim picks a register from targets (one time in sixteen from others),
// mostly at its natural width and alignment, sometimes a word of a
// doubleword, a doubleword, a byte, a halfword or a misaligned access.
func aim(r *refGIC, vcpu, idx int, mode byte) (uint64, int) {
	list := targets
	if idx>>12 == 15 {
		list = others
	}
	t := list[idx%len(list)]
	n := idx / len(list) % t.count
	if t.off == GICDIROUTER {
		// The reserved IROUTER31, every SPI's and the one past them.
		n = SPIBase - 1 + n%(r.spis+2)
	}
	off := t.off + t.stride*uint64(n)
	size := t.size
	switch mode % 16 {
	case 11:
		off, size = off&^7+4*uint64(mode>>4&1), 4
	case 12:
		off, size = off&^7, 8
	case 13:
		size = 1
	case 14:
		size = 2
	case 15:
		off += uint64(mode >> 4 % 8)
	}
	if t.rd {
		return rd(vcpu, off), size
	}
	return dist(off), size
}

// shape makes value likelier to matter for the register at ipa: a route
// names one of the vCPUs (or one past them, or uses IRM, or Aff1) rather
// than a random affinity.
func shape(r *refGIC, ipa uint64, size int, value uint64) uint64 {
	if ipa < irouter(SPIBase) || ipa >= irouter(1020) || size == 4 && ipa%8 != 0 {
		return value
	}
	route := value % uint64(r.vcpus+1)
	switch value >> 60 {
	case 15, 14, 13, 12:
		route |= RouteIRM
	case 11:
		route |= 1 << 8
	case 10:
		route |= 1 << 16
	}
	return route
}

// run is a GIC and its reference model driven in step, with the
// deliverable sets the Changes stream has announced (shown, as the
// hypervisor tracks them) and the operations so far.
type run struct {
	g     *GIC
	r     *refGIC
	shown [][]int
	ops   []gicOp
	regs  []access
}

// access is one register read: an address and a size.
type access struct {
	ipa  uint64
	size int
}

func newRun(vcpus, spis int) *run {
	return &run{
		g:     New(vcpus, spis),
		r:     newRef(vcpus, spis),
		shown: make([][]int, vcpus),
		regs:  stateRegs(vcpus, spis),
	}
}

// stateRegs lists the registers that hold a GIC's state, one word (or
// doubleword) each, and the first one past each implemented range.
func stateRegs(vcpus, spis int) []access {
	var out []access
	words := func(ipa uint64, n int) {
		for i := range n {
			out = append(out, access{ipa + 4*uint64(i), 4})
		}
	}
	banks := 1 + spis/32
	words(dist(GICDCTLR), 3)
	for b := GICDIGROUPR; b < GICDIPRIORITYR; b += 0x80 {
		words(dist(uint64(b)), banks+1)
	}
	words(dist(GICDIPRIORITYR), 8*banks+1)
	words(dist(GICDICFGR), 2*banks+1)
	for i := SPIBase - 1; i <= SPIBase+spis; i++ {
		out = append(out, access{irouter(i), 8})
	}
	for v := range vcpus {
		out = append(out, access{rd(v, GICRCTLR), 4}, access{rd(v, GICRWAKER), 4}, access{rd(v, GICRTYPER), 8})
		for b := GICDIGROUPR; b < GICDIPRIORITYR; b += 0x80 {
			words(rd(v, SGIBase+uint64(b)), 2)
		}
		words(rd(v, GICRIPRIORITYR), 9)
		words(rd(v, GICRICFGR0), 3)
	}
	return out
}

// step applies o to the GIC and to the model and compares what can be
// observed after it.
func (ru *run) step(o gicOp) error {
	ru.ops = append(ru.ops, o)
	g, r := ru.g, ru.r
	switch o.kind {
	case opWrite:
		g.Write(o.ipa, o.size, o.value)
		r.write(o.ipa, o.size, o.value)
	case opRead:
		if got, want := g.Read(o.ipa, o.size), r.read(o.ipa, o.size); got != want {
			return fmt.Errorf("the read returns %#x, the reference %#x", got, want)
		}
	case opLevel:
		g.SetLevel(o.intid, o.vcpu, o.level)
		r.setLevel(o.intid, o.vcpu, o.level)
	case opPulse:
		g.Pulse(o.intid, o.vcpu)
		r.pulse(o.intid, o.vcpu)
	case opDeliver:
		g.Delivered(o.vcpu, o.intid)
		r.delivered(o.vcpu, o.intid)
	case opSGI:
		g.SendSGI(o.vcpu, o.value)
		r.sendSGI(o.vcpu, o.value)
	case opReset:
		g.Reset()
		r.reset()
	}
	if err := ru.follow(g.Changes()); err != nil {
		return err
	}
	for v := range r.vcpus {
		want := r.deliverable(v)
		if got := g.Deliverable(v); !slices.Equal(got, want) {
			return fmt.Errorf("vCPU %d: Deliverable is %v, the reference %v", v, got, want)
		}
		if !slices.Equal(ru.shown[v], want) {
			return fmt.Errorf("vCPU %d: Changes announced %v, the reference has %v", v, ru.shown[v], want)
		}
	}
	for _, v := range []int{-1, r.vcpus} {
		if d := g.Deliverable(v); d != nil {
			return fmt.Errorf("Deliverable(%d) of a vCPU the VM lacks is %v", v, d)
		}
	}
	return ru.compareRegs(ru.regs)
}

// follow applies a Changes result to the announced sets, checking that it
// is ordered by vCPU and INTID and that each change flips what was shown.
func (ru *run) follow(changes []Change) error {
	for i, c := range changes {
		if i > 0 {
			p := changes[i-1]
			if p.VCPU > c.VCPU || p.VCPU == c.VCPU && p.INTID >= c.INTID {
				return fmt.Errorf("Changes out of order: %+v then %+v", p, c)
			}
		}
		if c.VCPU < 0 || c.VCPU >= ru.r.vcpus {
			return fmt.Errorf("Changes names a vCPU the VM lacks: %+v", c)
		}
		set := ru.shown[c.VCPU]
		at, present := slices.BinarySearch(set, c.INTID)
		switch {
		case present == c.Level:
			return fmt.Errorf("%+v does not change what was announced", c)
		case c.Level:
			ru.shown[c.VCPU] = slices.Insert(set, at, c.INTID)
		default:
			ru.shown[c.VCPU] = slices.Delete(set, at, at+1)
		}
	}
	return nil
}

// compareRegs reads each register in regs from the GIC and the model.
func (ru *run) compareRegs(regs []access) error {
	for _, a := range regs {
		if err := ru.compare(a.ipa, a.size); err != nil {
			return err
		}
	}
	return nil
}

// compare reads size bytes at ipa from the GIC and the model.
func (ru *run) compare(ipa uint64, size int) error {
	if got, want := ru.g.Read(ipa, size), ru.r.read(ipa, size); got != want {
		return fmt.Errorf("Read(%s, %d) is %#x, the reference %#x", ipaName(ipa), size, got, want)
	}
	return nil
}

// sweep compares reads at every aligned address of every frame, and of
// the frame one past the last redistributor: a doubleword, both words, a
// halfword and three bytes in each doubleword.
func (ru *run) sweep() error {
	frames := []struct{ base, size uint64 }{{dist(0), 0x1_0000}, {rd(0, 0), uint64(ru.r.vcpus+1) * vmachine.GICRStride}}
	for _, f := range frames {
		for ipa := f.base; ipa < f.base+f.size; ipa += 8 {
			for _, a := range [...]access{{ipa, 8}, {ipa, 4}, {ipa + 4, 4}, {ipa + 2, 2}, {ipa, 1}, {ipa + 1, 1}, {ipa + 7, 1}} {
				if err := ru.compare(a.ipa, a.size); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// replay runs ops on a fresh GIC and model of the given shape and returns
// the index of the first operation after which they differ, with the
// difference, or -1.
func replay(vcpus, spis int, ops []gicOp) (int, error) {
	ru := newRun(vcpus, spis)
	for i, o := range ops {
		if err := ru.step(o); err != nil {
			return i, err
		}
	}
	if err := ru.sweep(); err != nil {
		return len(ops) - 1, err
	}
	return -1, nil
}

// shrink removes runs of operations from a failing sequence while it
// still fails, halving the run length down to single operations, for at
// most budget, and returns the shorter sequence.
func shrink(vcpus, spis int, ops []gicOp, budget time.Duration) []gicOp {
	deadline := time.Now().Add(budget)
	if at, _ := replay(vcpus, spis, ops); at >= 0 {
		ops = ops[:at+1]
	}
	for chunk := max(len(ops)/2, 1); time.Now().Before(deadline); {
		changed := false
		for i := len(ops) - chunk; i >= 0 && time.Now().Before(deadline); i -= chunk {
			try := slices.Delete(slices.Clone(ops), i, i+chunk)
			if at, _ := replay(vcpus, spis, try); at >= 0 {
				ops, changed = try[:at+1], true
				i = min(i, len(ops))
			}
		}
		switch {
		case chunk > 1:
			chunk = max(chunk/2, 1)
		case !changed:
			return ops
		}
	}
	return ops
}

// describe is the report of a failing sequence: the difference, and the
// operations (shrunk) as Go statements.
func describe(vcpus, spis int, ops []gicOp) string {
	small := shrink(vcpus, spis, ops, 10*time.Second)
	_, err := replay(vcpus, spis, small)
	var b strings.Builder
	fmt.Fprintf(&b, "the GIC and the reference differ: %v\n", err)
	fmt.Fprintf(&b, "after %d operations, shrunk to %d (the last one shows it):\n", len(ops), len(small))
	fmt.Fprintf(&b, "\tg := New(%d, %d)\n", vcpus, spis)
	for _, o := range small {
		fmt.Fprintf(&b, "\t%s\n", o)
	}
	return b.String()
}

// defaultSeed is the random runs' seed unless BULKHEAD_SEED names another:
// fixed, so that every run checks the same sequences.
const defaultSeed = 20261201

func seed(t *testing.T) uint64 {
	if s := os.Getenv("BULKHEAD_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("BULKHEAD_SEED=%q: %v", s, err)
		}
		return v
	}
	return defaultSeed
}

// shapes are the VMs the random runs build: vCPUs and SPIs. Seventeen
// vCPUs make SGIs' range selector matter.
var shapes = [][2]int{{1, 0}, {1, 32}, {2, 64}, {3, 32}, {4, 96}, {17, 32}}

// TestReferenceModel drives GICs of several shapes and their reference
// models with random operations and compares them after each one, and
// sweeps every register of every size at the end of each run. It counts
// how often something was deliverable and how often a delivery, an SGI or
// a read found something, so that a decoder that stopped reaching them
// would fail rather than pass vacuously. The floors are about half the
// least any of the seeds 1 to 8 reached.
func TestReferenceModel(t *testing.T) {
	base := seed(t)
	t.Logf("seed %d (BULKHEAD_SEED=%d reproduces this run)", base, base)
	const runs, opsPerRun = 120, 400
	var busy, consumed, sgis, sgiLatched, nonzero int
	for n := range uint64(runs) {
		rng := rand.New(rand.NewPCG(base, n))
		s := shapes[n%uint64(len(shapes))]
		ru := newRun(s[0], s[1])
		op := make([]byte, opSize)
		for range opsPerRun {
			for i := range op {
				op[i] = byte(rng.Uint32())
			}
			o := decodeOp(ru.r, op)
			before, latched := announced(ru.shown), latchedSGIs(ru.r)
			if err := ru.step(o); err != nil {
				t.Fatalf("seed %d, run %d (%d vCPUs, %d SPIs): %s", base, n, s[0], s[1], describe(s[0], s[1], ru.ops))
			}
			after := announced(ru.shown)
			switch {
			case o.kind == opDeliver && after < before:
				consumed++
			case o.kind == opSGI && latchedSGIs(ru.r) > latched:
				sgiLatched++
				if after > before {
					sgis++
				}
			case o.kind == opRead && ru.r.read(o.ipa, o.size) != 0:
				nonzero++
			}
			if after > 0 {
				busy++
			}
		}
		if err := ru.sweep(); err != nil {
			t.Fatalf("seed %d, run %d (%d vCPUs, %d SPIs), final sweep: %s", base, n, s[0], s[1], describe(s[0], s[1], ru.ops))
		}
	}
	total := runs * opsPerRun
	t.Logf("%d operations: %d with something deliverable, %d deliveries that consumed an interrupt, %d SGIs that made one pending (%d deliverable), %d non-zero reads",
		total, busy, consumed, sgiLatched, sgis, nonzero)
	if busy < total/20 || consumed < 60 || sgiLatched < 1000 || sgis < 8 || nonzero < 800 {
		t.Fatal("the operations reach too little")
	}
}

// latchedSGIs counts the SGIs the reference model holds pending.
func latchedSGIs(r *refGIC) int {
	n := 0
	for v := range r.private {
		for i := range NumSGIs {
			if r.private[v][i].latched {
				n++
			}
		}
	}
	return n
}

// announced counts the interrupts the Changes stream has announced.
func announced(shown [][]int) int {
	n := 0
	for _, s := range shown {
		n += len(s)
	}
	return n
}

// FuzzAccesses applies arbitrary operation sequences (opSize bytes each,
// after a byte choosing the GIC's shape; at most maxFuzzOps of them, so
// that long inputs do not slow the search down) to a GIC and its
// reference model and compares them after every operation.
func FuzzAccesses(f *testing.F) {
	f.Add([]byte{0x12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	// Two vCPUs, 64 SPIs: enable Group 1 and SPI 33, route it to vCPU 1,
	// raise its line, deliver it.
	f.Add(append([]byte{0x21},
		slices.Concat(
			[]byte{0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0},
			[]byte{0, 0, 1 + 22, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0},
			[]byte{0, 0, 2 + 22, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0},
			[]byte{0, 0, 0xE0, 0x02, 0, 1, 0, 0, 0, 0, 0, 0, 0}, // 10 + 22*33
			[]byte{3, 0, 33, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0},
			[]byte{5, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
		)...))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		vcpus, spis := 1+int(data[0]%4), 32*int(data[0]>>4%4)
		ru := newRun(vcpus, spis)
		data = data[1:min(len(data), 1+maxFuzzOps*opSize)]
		for ; len(data) >= opSize; data = data[opSize:] {
			if err := ru.step(decodeOp(ru.r, data[:opSize])); err != nil {
				t.Fatal(describe(vcpus, spis, ru.ops))
			}
		}
	})
}
