package vgic

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"bulkhead/hypervisor/vmachine"
)

// linux plays Linux 6.1's GICv3 driver (drivers/irqchip/irq-gic-v3.c and
// irq-gic-common.c) against the model, with the accessors the driver uses
// (readl_relaxed, writel_relaxed, readq_relaxed for GICR_TYPER,
// gic_write_irouter's writeq_relaxed). Its fields are what the driver
// learns from the hardware rather than assumes.
type linux struct {
	t *testing.T
	g *GIC

	lines    int      // GIC_LINE_NR: INTIDs the distributor implements
	ppis     int      // gic_data.ppi_nr
	rdBase   []uint64 // RD_base of each CPU, found by gic_populate_rdist
	accesses int
}

func (l *linux) readl(ipa uint64) uint32 {
	l.accesses++
	return uint32(l.g.Read(ipa, 4))
}

func (l *linux) writel(v uint32, ipa uint64) {
	l.accesses++
	l.g.Write(ipa, 4, uint64(v))
}

func (l *linux) readq(ipa uint64) uint64 {
	l.accesses++
	return l.g.Read(ipa, 8)
}

func (l *linux) writeq(v uint64, ipa uint64) {
	l.accesses++
	l.g.Write(ipa, 8, v)
}

// poll reads ipa until done holds, as the driver's bounded wait loops do,
// and fails the test if it never does.
func (l *linux) poll(ipa uint64, done func(uint32) bool, what string) {
	for range 1000 {
		if done(l.readl(ipa)) {
			return
		}
	}
	l.t.Fatalf("%s never completed", what)
}

const (
	defPriX4 = 0xA0A0_A0A0 // GICD_INT_DEF_PRI_X4
	clrX32   = 0xFFFF_FFFF // GICD_INT_EN_CLR_X32
)

// probe is gic_validate_dist_version, gic_init_bases' reads and
// gic_update_rdist_properties: check ArchRev, size the INTID space, walk
// the redistributors to the one with Last set.
func (l *linux) probe() {
	d := vmachine.GICD.Base
	require.Contains(l.t, []uint32{0x30, 0x40}, l.readl(d+0xFFE8)&0xF0, "GICD_PIDR2.ArchRev")
	typer := l.readl(d + 0x0004)
	l.readl(d + 0x000C) // GICD_TYPER2
	l.readl(d + 0x0008) // GICD_IIDR, for quirks
	l.lines = min(32*(int(typer&0x1F)+1), 1020)
	require.Zero(l.t, typer&(1<<17), "no LPIs: the driver would look for an ITS")
	require.Zero(l.t, typer&(1<<8), "no extended SPIs")

	l.ppis = 1 << 30
	for ipa := vmachine.GICRBase; ; ipa += 2 * 0x1_0000 {
		require.Equal(l.t, uint32(0x30), l.readl(ipa+0xFFE8)&0xF0, "GICR_PIDR2 at %#x", ipa)
		rtyper := l.readq(ipa + 0x0008)
		require.Zero(l.t, rtyper&(1<<1), "VLPIS would add two frames")
		ppinum := int(rtyper >> 27 & 0x1F) // GICR_TYPER_NR_PPIS
		l.ppis = min(l.ppis, map[int]int{0: 16, 1: 64, 2: 96}[ppinum])
		if rtyper&(1<<4) != 0 {
			break
		}
	}
	require.NotZero(l.t, l.readl(d)&(1<<6), "gic_dist_security_disabled: GICD_CTLR.DS")
}

// distWaitForRWP is gic_dist_wait_for_rwp.
func (l *linux) distWaitForRWP() {
	l.poll(vmachine.GICD.Base, func(v uint32) bool { return v&(1<<31) == 0 }, "GICD_CTLR.RWP")
}

// distInit is gic_dist_init and the gic_dist_config it calls.
func (l *linux) distInit() {
	d := vmachine.GICD.Base
	l.writel(0, d+0x0000)
	l.distWaitForRWP()
	for i := 32; i < l.lines; i += 32 {
		l.writel(^uint32(0), d+0x0080+uint64(i/8))
	}
	// gic_dist_config.
	for i := 32; i < l.lines; i += 16 {
		l.writel(0, d+0x0C00+uint64(i/4)) // GICD_INT_ACTLOW_LVLTRIG
	}
	for i := 32; i < l.lines; i += 4 {
		l.writel(defPriX4, d+0x0400+uint64(i))
	}
	for i := 32; i < l.lines; i += 32 {
		l.writel(clrX32, d+0x0380+uint64(i/8))
		l.writel(clrX32, d+0x0180+uint64(i/8))
	}
	// ARE_NS | ENABLE_G1A | ENABLE_G1: with DS set, bit 0 is EnableGrp0.
	l.writel(1<<4|1<<1|1<<0, d+0x0000)
	l.distWaitForRWP()
	for i := 32; i < l.lines; i++ {
		l.writeq(0, d+0x6000+uint64(i)*8) // the boot CPU's affinity, 0.0.0.0
	}
}

// populateRdist is gic_populate_rdist: find the redistributor whose
// GICR_TYPER affinity is the CPU's MPIDR affinity (Aff0 = cpu).
func (l *linux) populateRdist(cpu int) uint64 {
	for ipa := vmachine.GICRBase; ; ipa += 2 * 0x1_0000 {
		require.Equal(l.t, uint32(0x30), l.readl(ipa+0xFFE8)&0xF0)
		typer := l.readq(ipa + 0x0008)
		if typer>>32 == uint64(cpu) {
			return ipa
		}
		require.Zero(l.t, typer&(1<<4), "CPU %d: mpidr not found before Last", cpu)
	}
}

// cpuInit is gic_cpu_init for cpu: gic_enable_redist(true), SGIs and PPIs
// in Group 1, and gic_cpu_config with gic_redist_wait_for_rwp.
func (l *linux) cpuInit(cpu int) {
	rd := l.populateRdist(cpu)
	l.rdBase = append(l.rdBase, rd)

	waker := l.readl(rd + 0x0014)
	l.writel(waker&^(1<<1), rd+0x0014) // clear ProcessorSleep
	l.poll(rd+0x0014, func(v uint32) bool { return v&(1<<2) == 0 }, "GICR_WAKER.ChildrenAsleep")

	sgi := rd + 0x1_0000
	for i := 0; i < l.ppis+16; i += 32 {
		l.writel(^uint32(0), sgi+0x0080+uint64(i/8))
	}
	for i := 0; i < l.ppis+16; i += 32 {
		l.writel(clrX32, sgi+0x0380+uint64(i/8))
		l.writel(clrX32, sgi+0x0180+uint64(i/8))
	}
	for i := 0; i < l.ppis+16; i += 4 {
		l.writel(defPriX4, sgi+0x0400+uint64(i))
	}
	l.redistWaitForRWP(rd)
}

// redistWaitForRWP is gic_redist_wait_for_rwp: GICR_CTLR.RWP is bit 3.
func (l *linux) redistWaitForRWP(rd uint64) {
	l.poll(rd+0x0000, func(v uint32) bool { return v&(1<<3) == 0 }, "GICR_CTLR.RWP")
}

// configureLevel is gic_set_type(IRQ_TYPE_LEVEL_HIGH) through
// gic_configure_irq: clear Int_config[1] with a read-modify-write, skipped
// when already clear, and check that it took.
func (l *linux) configureLevel(icfgr0 uint64, intid int) {
	confmask := uint32(2) << (intid % 16 * 2)
	reg := icfgr0 + uint64(intid/16*4)
	old := l.readl(reg)
	if v := old &^ confmask; v != old {
		l.writel(v, reg)
		require.Equal(l.t, v, l.readl(reg), "INTID %d: ICFGR did not take", intid)
	}
}

// unmask is gic_unmask_irq: gic_poke_irq on ISENABLER, then wait for RWP
// of the frame that holds the interrupt.
func (l *linux) unmask(cpu, intid int) {
	if intid < 32 {
		l.writel(1<<(intid%32), l.rdBase[cpu]+0x1_0100)
		l.redistWaitForRWP(l.rdBase[cpu])
		return
	}
	l.writel(1<<(intid%32), vmachine.GICD.Base+0x0100+uint64(intid/32*4))
	l.distWaitForRWP()
}

// TestLinuxBoot replays the driver's bring-up of a two-vCPU guest with 64
// SPIs, checks the state it leaves, then requests the virtual timer on
// both CPUs and the UART's SPI the way the timer and serial drivers do,
// and checks that they become deliverable when their lines rise.
func TestLinuxBoot(t *testing.T) {
	g := New(2, 64)
	l := &linux{t: t, g: g}
	l.probe()
	require.Equal(t, 96, l.lines)
	require.Equal(t, 16, l.ppis)

	l.distInit()
	l.cpuInit(0)
	l.cpuInit(1) // the secondary, once PSCI CPU_ON has started it
	require.Equal(t, []uint64{rd(0, 0), rd(1, 0)}, l.rdBase)
	assert.Empty(t, g.Changes(), "nothing is enabled yet")

	assert.Equal(t, uint64(1<<6|1<<4|1<<1|1<<0), g.Read(dist(GICDCTLR), 4))
	for i := 32; i < 96; i++ {
		bit := uint64(1) << (i % 32)
		reg := uint64(i / 32 * 4)
		assert.NotZero(t, g.Read(dist(GICDIGROUPR+reg), 4)&bit, "SPI %d Group 1", i)
		assert.Zero(t, g.Read(dist(GICDISENABLER+reg), 4)&bit, "SPI %d disabled", i)
		assert.Equal(t, uint64(0xA0), g.Read(dist(GICDIPRIORITYR+uint64(i)), 1), "SPI %d priority", i)
		assert.Zero(t, g.Read(dist(GICDICFGR+uint64(i/16*4)), 4)>>(i%16*2)&2, "SPI %d level", i)
		assert.Zero(t, g.Read(irouter(i), 8), "SPI %d to CPU 0", i)
	}
	for v := range 2 {
		assert.Zero(t, g.Read(rd(v, GICRWAKER), 4), "vCPU %d awake", v)
		assert.Equal(t, uint64(0xFFFF_FFFF), g.Read(rd(v, GICRIGROUPR0), 4))
		assert.Zero(t, g.Read(rd(v, GICRISENABLER0), 4))
		for i := range 32 {
			assert.Equal(t, uint64(0xA0), g.Read(rd(v, GICRIPRIORITYR+uint64(i)), 1), "vCPU %d INTID %d", v, i)
		}
	}

	// arch_timer: request_percpu_irq sets the type, enable_percpu_irq runs
	// on each CPU and unmasks its own PPI 27. The IPIs (SGIs 0-7) are
	// enabled the same way.
	timer := vmachine.TimerVirtIntID
	uart := vmachine.UARTIntID
	for cpu := range 2 {
		l.configureLevel(l.rdBase[cpu]+0x1_0C00, timer)
		l.unmask(cpu, timer)
		for sgi := range 8 {
			l.unmask(cpu, sgi)
		}
	}
	// amba-pl011: the SPI, level-high, affinity left on the boot CPU.
	l.configureLevel(vmachine.GICD.Base+0x0C00, uart)
	l.unmask(0, uart)
	assert.Empty(t, g.Changes(), "enabled, but no line is high")

	g.SetLevel(timer, 1, true)
	assert.Equal(t, []Change{on(1, timer)}, g.Changes())
	g.SetLevel(uart, 0, true)
	g.SetLevel(timer, 0, true)
	assert.Equal(t, []Change{on(0, timer), on(0, uart)}, g.Changes())
	assert.Equal(t, []int{timer, uart}, g.Deliverable(0))
	assert.Equal(t, []int{timer}, g.Deliverable(1))

	// An IPI from CPU 0 to CPU 1 (gic_ipi_send_mask writes ICC_SGI1R_EL1).
	g.SendSGI(0, 2<<24|1<<1)
	assert.Equal(t, []Change{on(1, 2)}, g.Changes())

	// irq_set_affinity moves the UART to CPU 1.
	l.writeq(1, vmachine.GICD.Base+0x6000+uint64(uart)*8)
	assert.Equal(t, []Change{off(0, uart), on(1, uart)}, g.Changes())
	t.Logf("%d register accesses", l.accesses)
}
