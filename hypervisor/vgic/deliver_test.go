package vgic

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// setup puts intid in Group 1 and enables it and the distributor's Group 1,
// through the registers: in vcpu's redistributor for an SGI or PPI; in the
// distributor, routed to vcpu, for an SPI.
func setup(g *GIC, vcpu, intid int) {
	g.Write(dist(GICDCTLR), 4, CtlrEnableGrp1)
	bit := uint64(1) << (intid % 32)
	group, enable := rd(vcpu, GICRIGROUPR0), rd(vcpu, GICRISENABLER0)
	if intid >= SPIBase {
		reg := uint64(intid / 32 * 4)
		group, enable = dist(GICDIGROUPR+reg), dist(GICDISENABLER+reg)
		g.Write(irouter(intid), 8, uint64(vcpu))
	}
	g.Write(group, 4, g.Read(group, 4)|bit)
	g.Write(enable, 4, bit)
}

// setEdge configures intid (a PPI of vcpu, or an SPI) as edge-triggered.
func setEdge(g *GIC, vcpu, intid int) {
	cfg := dist(GICDICFGR + uint64(intid/16*4))
	if intid < SPIBase {
		cfg = rd(vcpu, GICRICFGR0+uint64(intid/16*4))
	}
	g.Write(cfg, 4, g.Read(cfg, 4)|2<<(intid%16*2))
}

// pendingBit reads intid's bit of ISPENDR as vcpu sees it.
func pendingBit(g *GIC, vcpu, intid int) bool {
	reg := rd(vcpu, GICRISPENDR0)
	if intid >= SPIBase {
		reg = dist(GICDISPENDR + uint64(intid/32*4))
	}
	return g.Read(reg, 4)>>(intid%32)&1 != 0
}

func on(v, intid int) Change  { return Change{VCPU: v, INTID: intid, Level: true} }
func off(v, intid int) Change { return Change{VCPU: v, INTID: intid, Level: false} }

// TestLevelSensitive follows a level-sensitive SPI through its life: its
// pending state follows the line, delivery does not clear it while the
// line is high, and an ISPENDR latch holds it pending after the line falls
// until ICPENDR or a delivery clears the latch (IHI 0069 4.1).
func TestLevelSensitive(t *testing.T) {
	g := New(2, 64)
	setup(g, 1, 40)
	require.Empty(t, g.Changes())

	g.SetLevel(40, 0, true) // the vCPU argument is ignored for SPIs
	assert.Equal(t, []Change{on(1, 40)}, g.Changes())
	assert.Equal(t, []int{40}, g.Deliverable(1))
	assert.Empty(t, g.Deliverable(0))

	g.Delivered(1, 40)
	assert.Empty(t, g.Changes(), "the line still holds it pending")
	g.SetLevel(40, 0, true)
	assert.Empty(t, g.Changes(), "a level that stays high is no new event")

	g.SetLevel(40, 0, false)
	assert.Equal(t, []Change{off(1, 40)}, g.Changes())
	assert.False(t, pendingBit(g, 1, 40))

	g.Write(dist(GICDISPENDR+4), 4, 1<<8)
	assert.Equal(t, []Change{on(1, 40)}, g.Changes(), "ISPENDR latches it")
	g.Write(dist(GICDICPENDR+4), 4, 1<<8)
	assert.Equal(t, []Change{off(1, 40)}, g.Changes(), "ICPENDR clears the latch")

	g.SetLevel(40, 0, true)
	g.Write(dist(GICDICPENDR+4), 4, 1<<8)
	assert.True(t, pendingBit(g, 1, 40), "ICPENDR does not clear an asserted line")
	assert.Equal(t, []Change{on(1, 40)}, g.Changes())

	g.Write(dist(GICDISPENDR+4), 4, 1<<8)
	g.SetLevel(40, 0, false)
	assert.Empty(t, g.Changes(), "the latch holds it after the line falls")
	g.Delivered(1, 40)
	assert.Equal(t, []Change{off(1, 40)}, g.Changes(), "delivery clears the latch")
}

// TestEdgeTriggered follows an edge-triggered SPI: a rising edge latches it
// pending, the line falling does not clear it, delivery does, a line that
// stays high gives no new edge, and Pulse is one edge.
func TestEdgeTriggered(t *testing.T) {
	g := New(2, 64)
	setup(g, 0, 63)
	setEdge(g, 0, 63)
	require.Equal(t, uint64(2<<30), g.Read(dist(GICDICFGR+12), 4))

	g.SetLevel(63, 0, true)
	g.SetLevel(63, 0, false)
	assert.Equal(t, []Change{on(0, 63)}, g.Changes(), "latched by the rising edge")
	g.Delivered(0, 63)
	assert.Equal(t, []Change{off(0, 63)}, g.Changes())

	g.SetLevel(63, 0, true)
	assert.Equal(t, []Change{on(0, 63)}, g.Changes())
	g.Delivered(0, 63)
	g.SetLevel(63, 0, true)
	assert.Equal(t, []Change{off(0, 63)}, g.Changes(), "no edge while the line stays high")

	g.SetLevel(63, 0, false)
	g.Pulse(63, 0)
	assert.Equal(t, []Change{on(0, 63)}, g.Changes())
	g.Write(dist(GICDICPENDR+4), 4, 1<<31)
	assert.Equal(t, []Change{off(0, 63)}, g.Changes(), "ICPENDR clears it")
	g.Write(dist(GICDISPENDR+4), 4, 1<<31)
	assert.Equal(t, []Change{on(0, 63)}, g.Changes(), "ISPENDR sets it")
}

// TestPulseLevelSensitive checks that a pulse on a level-sensitive
// interrupt leaves nothing pending: its state follows the line.
func TestPulseLevelSensitive(t *testing.T) {
	g := New(1, 32)
	setup(g, 0, 33)
	g.Pulse(33, 0)
	assert.Empty(t, g.Changes())
	assert.False(t, pendingBit(g, 0, 33))
}

// TestPPIsAreBanked checks that a PPI's line, configuration and
// deliverability belong to one vCPU.
func TestPPIsAreBanked(t *testing.T) {
	g := New(2, 32)
	setup(g, 0, 27)
	setup(g, 1, 27)
	setEdge(g, 1, 30)
	setup(g, 1, 30)

	g.SetLevel(27, 1, true)
	assert.Equal(t, []Change{on(1, 27)}, g.Changes())
	g.SetLevel(27, 0, true)
	g.SetLevel(30, 1, true)
	g.SetLevel(30, 1, false)
	assert.Equal(t, []Change{on(0, 27), on(1, 30)}, g.Changes())
	g.SetLevel(30, 0, true)
	assert.Empty(t, g.Changes(), "PPI 30 is not enabled on vCPU 0")
	assert.True(t, pendingBit(g, 0, 30), "but its line is")
	assert.Equal(t, []int{27, 30}, g.Deliverable(1))
}

// TestGates checks each condition of deliverability on its own: removing
// any one of pending, enabled, Group 1, the distributor's Group 1 enable or
// a target leaves the interrupt undeliverable, and restoring it makes the
// interrupt deliverable again.
func TestGates(t *testing.T) {
	gates := []struct {
		name          string
		close, reopen func(g *GIC)
	}{
		{"ICENABLER",
			func(g *GIC) { g.Write(dist(GICDICENABLER+4), 4, 1<<3) },
			func(g *GIC) { g.Write(dist(GICDISENABLER+4), 4, 1<<3) }},
		{"IGROUPR Group 0",
			func(g *GIC) { g.Write(dist(GICDIGROUPR+4), 4, 0) },
			func(g *GIC) { g.Write(dist(GICDIGROUPR+4), 4, 1<<3) }},
		{"GICD_CTLR.EnableGrp1 clear, EnableGrp0 set",
			func(g *GIC) { g.Write(dist(GICDCTLR), 4, CtlrEnableGrp0) },
			func(g *GIC) { g.Write(dist(GICDCTLR), 4, CtlrEnableGrp1) }},
		{"line low",
			func(g *GIC) { g.SetLevel(35, 0, false) },
			func(g *GIC) { g.SetLevel(35, 0, true) }},
		{"routed to a vCPU the VM lacks",
			func(g *GIC) { g.Write(irouter(35), 8, 2) },
			func(g *GIC) { g.Write(irouter(35), 8, 1) }},
		{"routed to Aff1 = 1",
			func(g *GIC) { g.Write(irouter(35), 8, 1<<8|1) },
			func(g *GIC) { g.Write(irouter(35), 8, 1) }},
		{"1 of N with every redistributor asleep",
			func(g *GIC) { g.Write(irouter(35), 8, RouteIRM) },
			func(g *GIC) { g.Write(irouter(35), 8, 1) }},
	}
	for _, gate := range gates {
		g := New(2, 32)
		setup(g, 1, 35)
		g.SetLevel(35, 0, true)
		require.Equal(t, []Change{on(1, 35)}, g.Changes(), gate.name)
		gate.close(g)
		assert.Equal(t, []Change{off(1, 35)}, g.Changes(), gate.name)
		assert.Empty(t, g.Deliverable(0), gate.name)
		assert.Empty(t, g.Deliverable(1), gate.name)
		gate.reopen(g)
		assert.Equal(t, []Change{on(1, 35)}, g.Changes(), gate.name)
	}
}

// TestGroup0NeverDeliverable checks the model's choice: a Group 0
// interrupt with Group 0 enabled is pending but never deliverable, since
// VCPU_IRQ can only present Group 1 interrupts.
func TestGroup0NeverDeliverable(t *testing.T) {
	g := New(1, 32)
	g.Write(dist(GICDCTLR), 4, CtlrEnableGrp0|CtlrEnableGrp1)
	g.Write(rd(0, GICRISENABLER0), 4, 1<<27)
	g.Write(dist(GICDISENABLER+4), 4, 1)
	g.SetLevel(27, 0, true)
	g.SetLevel(32, 0, true)
	assert.True(t, pendingBit(g, 0, 27))
	assert.True(t, pendingBit(g, 0, 32))
	assert.Empty(t, g.Changes())
	assert.Empty(t, g.Deliverable(0))
}

// TestRouting moves a pending SPI between vCPUs with GICD_IROUTER and
// checks the deassert on the old vCPU and the assert on the new one.
func TestRouting(t *testing.T) {
	g := New(4, 32)
	setup(g, 2, 50)
	g.SetLevel(50, 0, true)
	assert.Equal(t, []Change{on(2, 50)}, g.Changes())

	g.Write(irouter(50), 4, 3)
	assert.Equal(t, []Change{off(2, 50), on(3, 50)}, g.Changes())
	g.Write(irouter(50), 8, 0)
	assert.Equal(t, []Change{on(0, 50), off(3, 50)}, g.Changes())
	for v, want := range [][]int{{50}, nil, nil, nil} {
		assert.Equal(t, want, g.Deliverable(v), "vCPU %d", v)
	}
}

// TestOneOfN checks 1-of-N routing (IRM = 1): the SPI goes to the
// lowest-numbered vCPU whose redistributor is awake and takes part in
// Group 1 selection, and follows that choice as it changes.
func TestOneOfN(t *testing.T) {
	g := New(3, 32)
	setup(g, 0, 32)
	g.Write(irouter(32), 8, RouteIRM)
	g.SetLevel(32, 0, true)
	assert.Empty(t, g.Changes(), "every redistributor asleep")

	g.Write(rd(2, GICRWAKER), 4, 0)
	assert.Equal(t, []Change{on(2, 32)}, g.Changes())
	g.Write(rd(1, GICRWAKER), 4, 0)
	assert.Equal(t, []Change{on(1, 32), off(2, 32)}, g.Changes())
	g.Write(rd(1, GICRCTLR), 4, RCtlrDPG1NS)
	assert.Equal(t, []Change{off(1, 32), on(2, 32)}, g.Changes())
	g.Write(rd(1, GICRCTLR), 4, RCtlrDPG0)
	assert.Equal(t, []Change{on(1, 32), off(2, 32)}, g.Changes(), "DPG0 concerns Group 0 only")
}

// TestSGIs checks which vCPUs an ICC_SGI1R_EL1 value makes an SGI pending
// on, with 20 vCPUs so that the range selector matters.
func TestSGIs(t *testing.T) {
	const n = 20
	sgi1r := func(intid, aff1, rs, list uint64) uint64 {
		return intid<<24 | aff1<<16 | rs<<44 | list
	}
	tests := []struct {
		name  string
		from  int
		value uint64
		want  []int // vCPUs SGI 5 becomes deliverable on
	}{
		{"TargetList 0b1010", 0, sgi1r(5, 0, 0, 0b1010), []int{1, 3}},
		{"self", 4, sgi1r(5, 0, 0, 1<<4), []int{4}},
		{"RS 1 reaches Aff0 16-31; 20 is past the VM", 0, sgi1r(5, 0, 1, 0b1_1001), []int{16, 19}},
		{"RS 2: no such vCPUs", 0, sgi1r(5, 0, 2, 0xFFFF), nil},
		{"Aff1 1: no such vCPUs", 0, sgi1r(5, 1, 0, 0xFFFF), nil},
		{"Aff2 1", 0, sgi1r(5, 0, 0, 1) | 1<<32, nil},
		{"Aff3 1", 0, sgi1r(5, 0, 0, 1) | 1<<48, nil},
		{"IRM: everyone but the sender", 7, SGIIRM | sgi1r(5, 1, 3, 0), []int{0, 1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19}},
		{"sender the VM lacks", n, SGIIRM | sgi1r(5, 0, 0, 0), nil},
		{"negative sender", -1, sgi1r(5, 0, 0, 1), nil},
		{"other SGI", 0, sgi1r(6, 0, 0, 1), nil},
	}
	for _, tc := range tests {
		g := New(n, 0)
		for v := range n {
			setup(g, v, 5)
			setup(g, v, 6)
			g.Write(rd(v, GICRICENABLER0), 4, 1<<6)
		}
		require.Empty(t, g.Changes())
		g.SendSGI(tc.from, tc.value)
		var got []int
		for _, c := range g.Changes() {
			require.Equal(t, 5, c.INTID, tc.name)
			require.True(t, c.Level, tc.name)
			got = append(got, c.VCPU)
		}
		assert.Equal(t, tc.want, got, tc.name)
	}
}

// TestSGIEdgeAndGroup checks that an SGI is edge-triggered (delivery
// clears it), and that one a target has in Group 0 is made pending there
// (with GICD_CTLR.DS == 1, ICC_SGI1R_EL1 generates Group 0 SGIs too) but
// is not deliverable until the guest moves it to Group 1.
func TestSGIEdgeAndGroup(t *testing.T) {
	g := New(2, 0)
	setup(g, 1, 3)
	g.SendSGI(0, 3<<24|0b10)
	assert.Equal(t, []Change{on(1, 3)}, g.Changes())
	g.Delivered(1, 3)
	assert.Equal(t, []Change{off(1, 3)}, g.Changes())
	assert.False(t, pendingBit(g, 1, 3))

	g.Write(rd(1, GICRIGROUPR0), 4, 0)
	g.SendSGI(0, 3<<24|0b10)
	assert.True(t, pendingBit(g, 1, 3), "ICC_SGI1R_EL1 makes a Group 0 SGI pending")
	assert.Empty(t, g.Changes(), "a Group 0 SGI is not deliverable")
	g.Write(rd(1, GICRIGROUPR0), 4, 1<<3)
	assert.Equal(t, []Change{on(1, 3)}, g.Changes(), "moved to Group 1, it is")
	g.Delivered(1, 3)
	assert.Equal(t, []Change{off(1, 3)}, g.Changes())

	g.Write(rd(1, GICRISPENDR0), 4, 1<<3)
	assert.Equal(t, []Change{on(1, 3)}, g.Changes(), "GICR_ISPENDR0 sets an SGI pending")
}

// TestDeliveredElsewhere checks that Delivered for a vCPU the interrupt is
// not deliverable to changes nothing.
func TestDeliveredElsewhere(t *testing.T) {
	g := New(2, 32)
	setup(g, 1, 33)
	setEdge(g, 1, 33)
	g.Pulse(33, 0)
	require.Equal(t, []Change{on(1, 33)}, g.Changes())
	for _, c := range [][2]int{{0, 33}, {2, 33}, {-1, 33}, {1, 34}, {1, 2000}, {1, -5}} {
		g.Delivered(c[0], c[1])
	}
	assert.Empty(t, g.Changes())
	assert.Equal(t, []int{33}, g.Deliverable(1))
}

// TestIgnoredLines checks that lines the GIC lacks change nothing: SGIs
// have no line, INTIDs past the SPIs and vCPUs past the VM do not exist.
func TestIgnoredLines(t *testing.T) {
	g := New(2, 32)
	for v := range 2 {
		g.Write(rd(v, GICRIGROUPR0), 4, 0xFFFF_FFFF)
		g.Write(rd(v, GICRISENABLER0), 4, 0xFFFF_FFFF)
		g.Write(rd(v, GICRICFGR1), 4, 0xAAAA_AAAA)
	}
	setup(g, 0, 63)
	before := snapshot(g)
	for _, c := range [][2]int{{0, 0}, {1, 15}, {2, 27}, {-1, 27}, {0, 64}, {0, 1020}, {0, -1}} {
		g.SetLevel(c[1], c[0], true)
		g.Pulse(c[1], c[0])
	}
	assert.Equal(t, before, snapshot(g))
	assert.Empty(t, g.Changes())
	assert.Nil(t, g.Deliverable(2))
	assert.Nil(t, g.Deliverable(-1))
}

// TestChangesOrderAndNet checks that Changes orders by vCPU then INTID,
// returns nothing when nothing changed, and reports the net difference.
func TestChangesOrderAndNet(t *testing.T) {
	g := New(2, 32)
	for _, s := range [][2]int{{1, 40}, {0, 27}, {1, 27}, {0, 33}, {1, 16}} {
		setup(g, s[0], s[1])
		g.SetLevel(s[1], s[0], true)
	}
	assert.Equal(t, []Change{on(0, 27), on(0, 33), on(1, 16), on(1, 27), on(1, 40)}, g.Changes())
	assert.Nil(t, g.Changes())

	g.SetLevel(16, 1, false)
	g.SetLevel(16, 1, true)
	g.SetLevel(27, 0, false)
	assert.Equal(t, []Change{off(0, 27)}, g.Changes(), "a fall and a rise in between cancel")
}

// TestGroup0SGIPending is the sequence by which the reference model
// (seed 20261201, run 2) found that SendSGI dropped SGIs the target has in
// Group 0: GICR_ISPENDR0 must show SGI 15 pending on vCPU 0 after vCPU 1
// writes this value (IRM set: every vCPU but the sender) to ICC_SGI1R_EL1.
func TestGroup0SGIPending(t *testing.T) {
	g := New(2, 64)
	g.SendSGI(1, 0x97d7f5959fba1ef6)
	assert.Equal(t, uint64(1<<15), g.Read(rd(0, GICRISPENDR0), 4))
	assert.Zero(t, g.Read(rd(1, GICRISPENDR0), 4), "not the sender")
	assert.Empty(t, g.Changes(), "Group 0: pending, not deliverable")
}
