// Package vgic emulates the GICv3 distributor and redistributors that guests
// see at vmachine.GICD and vmachine.GICRBase, as a pure state machine.
//
// A guest's CPU interface is the hardware's virtual CPU interface (the ICV_*
// registers, fed through list registers by the engine at EL2), so the guest
// acknowledges, completes and prioritises interrupts where the hypervisor
// never looks. What the hypervisor owns is everything in front of that
// interface: the memory-mapped distributor and redistributor registers,
// reached through MMIO exits (DESIGN.md section 3, exit reason MMIO), and
// the interrupt lines of the devices it emulates. From both, this model
// decides which INTIDs each vCPU should see pending, its deliverable set:
//
//	pending ∧ enabled ∧ Group 1 ∧ GICD_CTLR.EnableGrp1 ∧ targeted at the vCPU
//
// and reports every change of that set (Changes) so that the hypervisor can
// issue VCPU_IRQ(vmid, vcpu, INTID, level) for it.
//
// The model follows the GICv3 architecture specification (Arm IHI 0069;
// the registers are in chapter 12: 12.9 the distributor's, 12.11 the
// redistributors'), with these fixed choices:
//
//   - One Security state (GICD_CTLR.DS reads 1): a guest is Non-secure and
//     owns the whole GIC. IGRPMODR and NSACR are then RAZ/WI (12.9,
//     GICD_IGRPMODR<n> and GICD_NSACR<n>).
//   - Affinity routing always on (GICD_CTLR.ARE RAO/WI): the virtual CPU
//     interface is system-register only, so legacy operation is not
//     supported, and the GICv2 registers (ITARGETSR, SGIR, SPENDSGIR,
//     CPENDSGIR) and the distributor's copies of the private registers are
//     RAZ/WI, as with ARE set (12.9, GICD_CTLR).
//   - No LPIs, no ITS, no message-based SPIs, no extended INTID ranges.
//   - Group 0 interrupts are never deliverable. The ABI's VCPU_IRQ carries no
//     group, and the engine presents every interrupt as a Group 1 virtual
//     interrupt; presenting a Group 0 INTID would make the guest take it as
//     Group 1 (an IRQ where it asked for an FIQ). Guests that use the GIC
//     (Linux among them) put everything in Group 1.
//   - Priority and active state are stored for the guest to read back but do
//     not gate delivery: the virtual CPU interface does the priority masking
//     and holds the active state of what it took, and the model cannot see
//     either.
//
// Not safe for concurrent use: the hypervisor drives each VM's devices from
// one place.
package vgic

import (
	"fmt"

	"bulkhead/hypervisor/vmachine"
)

// Interrupt id ranges (IHI 0069 2.2, INTIDs).
const (
	// SGIs are INTIDs 0-15.
	NumSGIs = 16
	// PPIBase is the first PPI; PPIs are INTIDs 16-31.
	PPIBase = vmachine.PPIBase
	// SPIBase is the first SPI.
	SPIBase = vmachine.SPIBase
	// MaxSPIs is the most SPIs New accepts: the largest multiple of 32
	// that keeps every SPI below the special INTIDs 1020-1023.
	MaxSPIs = 960
)

// Change says that INTID became deliverable to a vCPU (Level true) or
// stopped being deliverable (Level false): the arguments of one VCPU_IRQ.
type Change struct {
	VCPU  int
	INTID int
	Level bool
}

// GIC is one VM's distributor and redistributors. The zero value is not
// ready; use New.
type GIC struct {
	vcpus int

	// ctlr holds GICD_CTLR.EnableGrp0 and EnableGrp1; the other bits are
	// fixed or read as zero.
	ctlr uint32
	// spi[n] holds INTIDs SPIBase+32n to SPIBase+32n+31.
	spi []bank
	// route[i] is GICD_IROUTER for INTID SPIBase+i.
	route []uint64
	// priv[v] holds vCPU v's SGIs and PPIs, INTIDs 0-31; one slice rather
	// than a field of redist so that a redistributor's registers and the
	// distributor's share one decoder over a run of banks.
	priv []bank
	cpu  []redist

	// reported is the deliverable set as of the last Changes call, one
	// bitmap of 32+spis bits per vCPU; scratch is where Changes computes
	// the current set. dirty says that some state changed since then.
	reported, scratch []uint32
	dirty             bool
}

// redist is one vCPU's redistributor.
type redist struct {
	// sleep is GICR_WAKER.ProcessorSleep; ChildrenAsleep follows it.
	sleep bool
	// ctlr holds GICR_CTLR.DPG0 and DPG1NS; the rest read as zero.
	ctlr uint32
}

// bank is the state of 32 consecutive INTIDs, one bit per INTID, as the
// set/clear registers lay it out (IHI 0069 12.9, GICD_ISENABLER<n> and
// its siblings).
type bank struct {
	group  uint32 // IGROUPR: 1 = Group 1
	enable uint32 // ISENABLER / ICENABLER
	latch  uint32 // pending state latched by an edge, ISPENDR or an SGI
	line   uint32 // the level of each interrupt's input line
	active uint32 // ISACTIVER / ICACTIVER
	edge   uint32 // ICFGR Int_config[1]: 1 = edge-triggered
	prio   [32]uint8
}

// pending is the pending state (IHI 0069 4.1, the interrupt life cycle):
// a level-sensitive interrupt is pending while its line is asserted or
// while a latch set by ISPENDR holds; an edge-triggered one only while its
// latch holds.
func (b *bank) pending() uint32 { return b.latch | b.line&^b.edge }

// ready is the set of INTIDs that would be forwarded if their group were
// enabled and they had a target.
func (b *bank) ready() uint32 { return b.pending() & b.enable & b.group }

// setLine drives the input lines in mask to level. A rising edge latches
// the pending state of the edge-triggered ones among them.
func (b *bank) setLine(mask uint32, level bool) {
	if !level {
		b.line &^= mask
		return
	}
	b.latch |= mask &^ b.line & b.edge
	b.line |= mask
}

// sgiEdges is GICR_ICFGR0: every SGI is edge-triggered and the field is
// read-only (IHI 0069 12.11, GICR_ICFGR0).
const sgiEdges = 0xFFFF

// New returns the GIC of a VM with vcpus vCPUs and spis SPIs (INTIDs 32 to
// 32+spis-1), in its reset state.
//
// Preconditions: 1 <= vcpus <= vmachine.MaxVCPUs; spis is a multiple of 32
// and 0 <= spis <= MaxSPIs. New panics otherwise: the VM's shape is the
// hypervisor's own configuration, not guest input.
func New(vcpus, spis int) *GIC {
	if vcpus < 1 || vcpus > vmachine.MaxVCPUs {
		panic(fmt.Sprintf("vgic: %d vCPUs, want 1 to %d", vcpus, vmachine.MaxVCPUs))
	}
	if spis < 0 || spis > MaxSPIs || spis%32 != 0 {
		panic(fmt.Sprintf("vgic: %d SPIs, want a multiple of 32 up to %d", spis, MaxSPIs))
	}
	words := 1 + spis/32
	g := &GIC{
		vcpus:    vcpus,
		spi:      make([]bank, spis/32),
		route:    make([]uint64, spis),
		priv:     make([]bank, vcpus),
		cpu:      make([]redist, vcpus),
		reported: make([]uint32, vcpus*words),
		scratch:  make([]uint32, vcpus*words),
	}
	g.Reset()
	return g
}

// Reset puts the GIC in its reset state (IHI 0069 12.9 and 12.11 reset
// values; where the architecture leaves one UNKNOWN or IMPLEMENTATION
// DEFINED the model picks zero: Group 0, disabled, priority 0,
// level-sensitive, routed to vCPU 0). Every redistributor is asleep, as
// after a cold reset. Interrupts that were deliverable are reported as
// deasserted by the next Changes, so the engine's view follows.
func (g *GIC) Reset() {
	g.ctlr = 0
	clear(g.spi)
	clear(g.route)
	for i := range g.cpu {
		g.cpu[i] = redist{sleep: true}
		g.priv[i] = bank{edge: sgiEdges}
	}
	g.dirty = true
}

// VCPUs returns the number of vCPUs.
func (g *GIC) VCPUs() int { return g.vcpus }

// SPIs returns the number of SPIs the GIC implements.
func (g *GIC) SPIs() int { return len(g.route) }

// words is the length of one vCPU's deliverable bitmap in 32-bit words.
func (g *GIC) words() int { return 1 + len(g.spi) }
