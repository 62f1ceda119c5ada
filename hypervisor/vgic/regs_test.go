package vgic

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"bulkhead/hypervisor/vmachine"
)

// dist is the IPA of the distributor register at off.
func dist(off uint64) uint64 { return vmachine.GICD.Base + off }

// rd is the IPA of vCPU v's redistributor register at off (SGI_base
// registers at SGIBase and above).
func rd(v int, off uint64) uint64 {
	return vmachine.GICRBase + uint64(v)*vmachine.GICRStride + off
}

// irouter is the IPA of GICD_IROUTER<intid>.
func irouter(intid int) uint64 { return dist(0x6000 + 8*uint64(intid)) }

// TestResetValues reads every register Linux's driver reads, in a GIC with
// two vCPUs and 64 SPIs, straight after reset. The expected values are the
// architected ones (IHI 0069 chapter 12) for this configuration, spelled
// out bit by bit.
func TestResetValues(t *testing.T) {
	g := New(2, 64)
	tests := []struct {
		name string
		ipa  uint64
		size int
		want uint64
	}{
		{"GICD_CTLR: DS, ARE", dist(0x0000), 4, 1<<6 | 1<<4},
		{"GICD_TYPER: RSS, IDbits 9, ITLinesNumber 2", dist(0x0004), 4, 1<<26 | 9<<19 | 2},
		{"GICD_IIDR", dist(0x0008), 4, 0x6200_0000},
		{"GICD_TYPER2", dist(0x000C), 4, 0},
		{"GICD_STATUSR", dist(0x0010), 4, 0},
		{"GICD_IGROUPR1", dist(0x0084), 4, 0},
		{"GICD_ISENABLER1", dist(0x0104), 4, 0},
		{"GICD_ISPENDR2", dist(0x0208), 4, 0},
		{"GICD_ISACTIVER1", dist(0x0304), 4, 0},
		{"GICD_IPRIORITYR8", dist(0x0420), 4, 0},
		{"GICD_ICFGR2", dist(0x0C08), 4, 0},
		{"GICD_IROUTER32", irouter(32), 8, 0},
		{"GICD_PIDR2: ArchRev 3", dist(0xFFE8), 4, 0x30},
		{"GICD_PIDR4: 64 KiB frame", dist(0xFFD0), 4, 0x40},
		{"GICD_CIDR0", dist(0xFFF0), 4, 0x0D},
		{"GICD_CIDR1", dist(0xFFF4), 4, 0xF0},
		{"GICD_CIDR2", dist(0xFFF8), 4, 0x05},
		{"GICD_CIDR3", dist(0xFFFC), 4, 0xB1},
		{"GICR_CTLR", rd(0, 0x0000), 4, 0},
		{"GICR_IIDR", rd(0, 0x0004), 4, 0x6200_0000},
		{"GICR_TYPER vCPU 0: DPGS", rd(0, 0x0008), 8, 1 << 5},
		{"GICR_TYPER vCPU 1: Aff0 1, Processor_Number 1, DPGS, Last", rd(1, 0x0008), 8, 1<<32 | 1<<8 | 1<<5 | 1<<4},
		{"GICR_STATUSR", rd(1, 0x0010), 4, 0},
		{"GICR_WAKER: ProcessorSleep, ChildrenAsleep", rd(1, 0x0014), 4, 1<<2 | 1<<1},
		{"GICR_PIDR2: ArchRev 3", rd(1, 0xFFE8), 4, 0x30},
		{"GICR_IGROUPR0", rd(0, 0x1_0080), 4, 0},
		{"GICR_ISENABLER0", rd(0, 0x1_0100), 4, 0},
		{"GICR_ICENABLER0", rd(0, 0x1_0180), 4, 0},
		{"GICR_ISPENDR0", rd(0, 0x1_0200), 4, 0},
		{"GICR_ISACTIVER0", rd(0, 0x1_0300), 4, 0},
		{"GICR_IPRIORITYR7", rd(0, 0x1_041C), 4, 0},
		{"GICR_ICFGR0: SGIs edge-triggered", rd(0, 0x1_0C00), 4, 0xAAAA_AAAA},
		{"GICR_ICFGR1: PPIs level-sensitive", rd(0, 0x1_0C04), 4, 0},
		{"GICR_IGRPMODR0", rd(0, 0x1_0D00), 4, 0},
		{"GICR_NSACR", rd(0, 0x1_0E00), 4, 0},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, g.Read(tc.ipa, tc.size), tc.name)
	}
	assert.Empty(t, g.Changes(), "nothing is deliverable at reset")
}

// TestRedistributorTyper checks GICR_TYPER for 1, 2 and 4 vCPUs: each
// redistributor reports its vCPU's affinity and number, only the last one
// has Last set (Linux stops scanning there), and the halves read as words
// match the doubleword.
func TestRedistributorTyper(t *testing.T) {
	for _, n := range []int{1, 2, 4} {
		g := New(n, 32)
		for v := range n {
			name := fmt.Sprintf("%d vCPUs, vCPU %d", n, v)
			typer := g.Read(rd(v, GICRTYPER), 8)
			assert.Equal(t, uint64(v), typer>>32, "%s: Affinity_Value", name)
			assert.Equal(t, uint64(v), typer>>8&0xFFFF, "%s: Processor_Number", name)
			assert.Equal(t, v == n-1, typer&(1<<4) != 0, "%s: Last", name)
			assert.Zero(t, typer&(1<<0|1<<1|1<<3), "%s: PLPIS, VLPIS, DirectLPI", name)
			assert.Zero(t, typer>>27&0x1F, "%s: PPInum (16 PPIs)", name)
			assert.Equal(t, typer&0xFFFF_FFFF, g.Read(rd(v, GICRTYPER), 4), "%s: low word", name)
			assert.Equal(t, typer>>32, g.Read(rd(v, GICRTYPER+4), 4), "%s: high word", name)

			g.Write(rd(v, GICRTYPER), 8, ^uint64(0))
			g.Write(rd(v, GICRTYPER+4), 4, 0xFFFF_FFFF)
			assert.Equal(t, typer, g.Read(rd(v, GICRTYPER), 8), "%s: read-only", name)
		}
		assert.False(t, g.Contains(rd(n, 0)), "no redistributor beyond vCPU %d", n-1)
		assert.True(t, g.Contains(rd(n-1, 0x1_FFFF)))
		assert.Zero(t, g.Read(rd(n, GICRTYPER), 8))
	}
}

// TestTyperITLines checks GICD_TYPER.ITLinesNumber for each SPI count.
func TestTyperITLines(t *testing.T) {
	for _, spis := range []int{0, 32, 288, MaxSPIs} {
		g := New(1, spis)
		lines := g.Read(dist(GICDTYPER), 4) & 0x1F
		assert.Equal(t, 32*(lines+1), uint64(32+spis), "%d SPIs", spis)
	}
}

// TestNewRejects checks New's preconditions.
func TestNewRejects(t *testing.T) {
	for _, c := range [][2]int{{0, 32}, {vmachine.MaxVCPUs + 1, 32}, {1, 33}, {1, -32}, {1, 992}} {
		assert.Panics(t, func() { New(c[0], c[1]) }, "New(%d, %d)", c[0], c[1])
	}
	assert.NotPanics(t, func() { New(vmachine.MaxVCPUs, MaxSPIs) })
}

// TestWrites writes each register and reads it back: read-only fields keep
// their value, RAZ/WI registers stay zero, reserved bits do not stick.
func TestWrites(t *testing.T) {
	tests := []struct {
		name  string
		ipa   uint64
		size  int
		write uint64
		want  uint64
	}{
		{"GICD_CTLR all ones: RWP reads 0, DS/ARE/Grp0/Grp1", dist(0x0000), 4, 0xFFFF_FFFF, 1<<6 | 1<<4 | 1<<1 | 1},
		{"GICD_CTLR zero: ARE and DS stay", dist(0x0000), 4, 0, 1<<6 | 1<<4},
		{"GICD_TYPER read-only", dist(0x0004), 4, 0, 1<<26 | 9<<19 | 2},
		{"GICD_IIDR read-only", dist(0x0008), 4, 0, 0x6200_0000},
		{"GICD_STATUSR RAZ/WI", dist(0x0010), 4, 0xF, 0},
		{"GICD_IGROUPR0 (private, ARE) RAZ/WI", dist(0x0080), 4, 0xFFFF_FFFF, 0},
		{"GICD_ISENABLER0 (private, ARE) RAZ/WI", dist(0x0100), 4, 0xFFFF_FFFF, 0},
		{"GICD_IPRIORITYR0 (private, ARE) RAZ/WI", dist(0x0400), 4, 0xFFFF_FFFF, 0},
		{"GICD_ICFGR1 (PPIs, ARE) RAZ/WI", dist(0x0C04), 4, 0xFFFF_FFFF, 0},
		{"GICD_IGROUPR1", dist(0x0084), 4, 0x1234_5678, 0x1234_5678},
		{"GICD_IGROUPR3 beyond the SPIs RAZ/WI", dist(0x008C), 4, 0xFFFF_FFFF, 0},
		{"GICD_IPRIORITYR8 word", dist(0x0420), 4, 0xA0B0_C0D0, 0xA0B0_C0D0},
		{"GICD_IPRIORITYR byte 33", dist(0x0421), 1, 0x5A, 0x5A},
		{"GICD_IPRIORITYR byte 96 beyond the SPIs", dist(0x0460), 1, 0x5A, 0},
		{"GICD_ICFGR2: Int_config[1] only", dist(0x0C08), 4, 0xFFFF_FFFF, 0xAAAA_AAAA},
		{"GICD_ICFGR5: INTIDs 80-95", dist(0x0C14), 4, 0x8000_0002, 0x8000_0002},
		{"GICD_IGRPMODR1 RAZ/WI (DS)", dist(0x0D04), 4, 0xFFFF_FFFF, 0},
		{"GICD_NSACR2 RAZ/WI (DS)", dist(0x0E08), 4, 0xFFFF_FFFF, 0},
		{"GICD_ITARGETSR8 RAZ/WI (ARE)", dist(0x0820), 4, 0xFFFF_FFFF, 0},
		{"GICD_SGIR RAZ/WI (ARE)", dist(0x0F00), 4, 0xFFFF_FFFF, 0},
		{"GICD_IROUTER32: IRM, Aff2-0 only", irouter(32), 8, ^uint64(0), 0x80FF_FFFF},
		{"GICD_IROUTER95 last SPI", irouter(95), 8, 1, 1},
		{"GICD_IROUTER96 beyond the SPIs", irouter(96), 8, 1, 0},
		{"GICD_IROUTER31 reserved", irouter(31), 8, 1, 0},
		{"GICD_IROUTER33 low word", irouter(33), 4, 0x8000_0001, 0x8000_0001},
		{"GICD_IROUTER34 high word is Aff3, RES0", irouter(34) + 4, 4, 0xFF, 0},
		{"GICD_PIDR2 read-only", dist(0xFFE8), 4, 0, 0x30},
		{"GICR_CTLR: DPG0, DPG1NS", rd(0, 0x0000), 4, 0xFFFF_FFFF, 1<<25 | 1<<24},
		{"GICR_STATUSR RAZ/WI", rd(0, 0x0010), 4, 0xF, 0},
		{"GICR_WAKER wake", rd(0, 0x0014), 4, 0, 0},
		{"GICR_WAKER ChildrenAsleep is read-only", rd(0, 0x0014), 4, 1 << 2, 0},
		{"GICR_WAKER sleep", rd(0, 0x0014), 4, 1 << 1, 1<<2 | 1<<1},
		{"GICR_PROPBASER RES0 (no LPIs)", rd(0, 0x0070), 8, ^uint64(0), 0},
		{"GICR_IGROUPR0", rd(1, 0x1_0080), 4, 0xFFFF_FFFF, 0xFFFF_FFFF},
		{"GICR_IGROUPR1 does not exist", rd(1, 0x1_0084), 4, 0xFFFF_FFFF, 0},
		{"GICR_IPRIORITYR7 byte 31", rd(1, 0x1_041F), 1, 0xA0, 0xA0},
		{"GICR_IPRIORITYR8 does not exist", rd(1, 0x1_0420), 4, 0xA0, 0},
		{"GICR_ICFGR0 read-only", rd(1, 0x1_0C00), 4, 0, 0xAAAA_AAAA},
		{"GICR_ICFGR1", rd(1, 0x1_0C04), 4, 0xFFFF_FFFF, 0xAAAA_AAAA},
		{"GICR_IGRPMODR0 RAZ/WI (DS)", rd(1, 0x1_0D00), 4, 0xFFFF_FFFF, 0},
		{"GICR_NSACR RAZ/WI (DS)", rd(1, 0x1_0E00), 4, 0xFFFF_FFFF, 0},
	}
	for _, tc := range tests {
		g := New(2, 64)
		g.Write(tc.ipa, tc.size, tc.write)
		assert.Equal(t, tc.want, g.Read(tc.ipa, tc.size), tc.name)
	}
}

// TestSetClear checks the set/clear register pairs: writing ones to the
// set register sets those bits, to the clear register clears them, zeros
// change nothing, and both registers read the same state.
func TestSetClear(t *testing.T) {
	pairs := []struct {
		name       string
		set, clear uint64
	}{
		{"GICD_IS/ICENABLER1", dist(0x0104), dist(0x0184)},
		{"GICD_IS/ICPENDR2", dist(0x0208), dist(0x0288)},
		{"GICD_IS/ICACTIVER1", dist(0x0304), dist(0x0384)},
		{"GICR_IS/ICENABLER0", rd(1, 0x1_0100), rd(1, 0x1_0180)},
		{"GICR_IS/ICPENDR0", rd(1, 0x1_0200), rd(1, 0x1_0280)},
		{"GICR_IS/ICACTIVER0", rd(1, 0x1_0300), rd(1, 0x1_0380)},
	}
	for _, p := range pairs {
		g := New(2, 64)
		g.Write(p.set, 4, 0x0000_00F0)
		g.Write(p.set, 4, 0x8000_0001)
		assert.Equal(t, uint64(0x8000_00F1), g.Read(p.set, 4), p.name)
		g.Write(p.clear, 4, 0x0000_0030)
		assert.Equal(t, uint64(0x8000_00C1), g.Read(p.set, 4), p.name)
		assert.Equal(t, uint64(0x8000_00C1), g.Read(p.clear, 4), p.name)
		g.Write(p.set, 4, 0)
		g.Write(p.clear, 4, 0)
		assert.Equal(t, uint64(0x8000_00C1), g.Read(p.set, 4), "%s: zeros change nothing", p.name)
	}
}

// TestBankedPerVCPU checks that each redistributor has its own copy of the
// SGI and PPI registers.
func TestBankedPerVCPU(t *testing.T) {
	g := New(2, 32)
	g.Write(rd(0, GICRISENABLER0), 4, 1<<27)
	g.Write(rd(1, GICRIPRIORITYR+27), 1, 0x80)
	assert.Equal(t, uint64(1<<27), g.Read(rd(0, GICRISENABLER0), 4))
	assert.Zero(t, g.Read(rd(1, GICRISENABLER0), 4))
	assert.Equal(t, uint64(0x80), g.Read(rd(1, GICRIPRIORITYR+27), 1))
	assert.Zero(t, g.Read(rd(0, GICRIPRIORITYR+27), 1))
}

// TestAccessWidths checks that accesses IHI 0069 12.1.3 does not allow are
// RAZ/WI: halfwords, misaligned words, doublewords to 32-bit registers,
// bytes to registers other than the priorities, odd sizes.
func TestAccessWidths(t *testing.T) {
	tests := []struct {
		name string
		ipa  uint64
		size int
	}{
		{"halfword IPRIORITYR", dist(0x0420), 2},
		{"halfword GICD_CTLR", dist(0x0000), 2},
		{"misaligned word IPRIORITYR", dist(0x0421), 4},
		{"doubleword IPRIORITYR", dist(0x0420), 8},
		{"doubleword GICD_IGROUPR", dist(0x0080), 8},
		{"byte GICD_CTLR", dist(0x0000), 1},
		{"byte ISENABLER", dist(0x0104), 1},
		{"misaligned doubleword IROUTER", irouter(32) + 4, 8},
		{"size 3", dist(0x0420), 3},
		{"size 16", dist(0x0420), 16},
		{"size 0", dist(0x0420), 0},
		{"size -4", dist(0x0420), -4},
		{"byte GICR_WAKER", rd(0, GICRWAKER), 1},
		{"halfword GICR_IPRIORITYR", rd(0, GICRIPRIORITYR), 2},
	}
	for _, tc := range tests {
		g := New(2, 64)
		before := snapshot(g)
		g.Write(tc.ipa, tc.size, ^uint64(0))
		assert.Zero(t, g.Read(tc.ipa, tc.size), "%s reads as zero", tc.name)
		assert.Equal(t, before, snapshot(g), "%s is ignored", tc.name)
	}
}

// TestOutside checks that addresses outside the frames belong to nobody and
// are RAZ/WI.
func TestOutside(t *testing.T) {
	g := New(2, 64)
	for _, ipa := range []uint64{vmachine.GICD.Base - 4, vmachine.GICD.End(), vmachine.GICRBase - 4, rd(2, 0), 0, ^uint64(0) - 3} {
		assert.False(t, g.Contains(ipa), "%#x", ipa)
		g.Write(ipa, 4, 0xFFFF_FFFF)
		assert.Zero(t, g.Read(ipa, 4), "%#x", ipa)
	}
	assert.True(t, g.Contains(vmachine.GICD.Base))
	assert.True(t, g.Contains(vmachine.GICD.End()-1))
	assert.True(t, g.Contains(rd(1, SGIBase)))
}

// snapshot reads every implemented register of g (and a few reserved ones),
// for checking that an access changed nothing.
func snapshot(g *GIC) []uint64 {
	var s []uint64
	for off := uint64(0); off < 0x1_0000; off += 4 {
		s = append(s, g.Read(dist(off), 4))
	}
	for i := range g.SPIs() {
		s = append(s, g.Read(irouter(SPIBase+i), 8))
	}
	for v := range g.VCPUs() {
		for off := uint64(0); off < 0x100; off += 4 {
			s = append(s, g.Read(rd(v, off), 4))
		}
		for off := uint64(SGIBase); off < SGIBase+0x1000; off += 4 {
			s = append(s, g.Read(rd(v, off), 4))
		}
	}
	return s
}

// TestWakerHandshake replays the sleep and wake sequence of a driver: after
// writing ProcessorSleep it polls until ChildrenAsleep follows.
func TestWakerHandshake(t *testing.T) {
	g := New(2, 32)
	waker := rd(1, GICRWAKER)
	require.Equal(t, uint64(WakerProcessorSleep|WakerChildrenAsleep), g.Read(waker, 4))

	g.Write(waker, 4, g.Read(waker, 4)&^WakerProcessorSleep)
	assert.Zero(t, g.Read(waker, 4)&WakerChildrenAsleep, "awake: ChildrenAsleep clear")
	assert.Equal(t, uint64(WakerProcessorSleep), g.Read(rd(0, GICRWAKER), 4)&WakerProcessorSleep, "vCPU 0 still asleep")

	g.Write(waker, 4, g.Read(waker, 4)|WakerProcessorSleep)
	assert.NotZero(t, g.Read(waker, 4)&WakerChildrenAsleep, "asleep: ChildrenAsleep set")
}

// TestReset checks that Reset restores the reset state and reports
// everything deliverable as deasserted.
func TestReset(t *testing.T) {
	fresh := snapshot(New(2, 64))
	g := New(2, 64)
	for off := uint64(0); off < 0x1_0000; off += 4 {
		g.Write(dist(off), 4, 0xFFFF_FFFF)
	}
	for v := range 2 {
		for off := uint64(SGIBase); off < SGIBase+0x1000; off += 4 {
			g.Write(rd(v, off), 4, 0xFFFF_FFFF)
		}
		// The loop wrote the clear registers after the set ones.
		g.Write(rd(v, GICRISENABLER0), 4, 0xFFFF_FFFF)
		g.SetLevel(27, v, true)
	}
	g.Write(dist(GICDCTLR), 4, CtlrEnableGrp1)
	require.NotEmpty(t, g.Changes())
	require.NotEqual(t, fresh, snapshot(g))

	g.Reset()
	assert.Equal(t, fresh, snapshot(g))
	for _, c := range g.Changes() {
		assert.False(t, c.Level, "%+v", c)
	}
	for v := range 2 {
		assert.Empty(t, g.Deliverable(v))
	}
}
