package vgic

import "math/bits"

// ICC_SGI1R_EL1 fields (IHI 0069 12.2, ICC_SGI1R_EL1).
const (
	sgiTargetList = 0xFFFF
	sgiAff1Shift  = 16
	sgiINTIDShift = 24
	sgiAff2Shift  = 32
	// SGIIRM set sends to every PE but the sender.
	SGIIRM       = 1 << 40
	sgiRSShift   = 44
	sgiAff3Shift = 48
)

// bankOf returns the bank and bit of intid as vcpu sees it: the vCPU's own
// bank for SGIs and PPIs, the shared one for SPIs (vcpu is then not used).
// It returns nil for an INTID the GIC does not implement or a vCPU the VM
// does not have.
func (g *GIC) bankOf(vcpu, intid int) (*bank, uint32) {
	if intid < 0 {
		return nil, 0
	}
	bit := uint32(1) << (intid % 32)
	if intid >= SPIBase {
		return lookup(g.spi, SPIBase, intid), bit
	}
	if vcpu < 0 || vcpu >= g.vcpus {
		return nil, 0
	}
	return &g.priv[vcpu], bit
}

// SetLevel drives the input line of a PPI (intid 16-31, of vCPU vcpu) or an
// SPI (vcpu ignored; the SPI's GICD_IROUTER chooses the vCPU) to level.
// A level-sensitive interrupt is pending while its line is high; an
// edge-triggered one latches pending on a rising edge. SGIs have no line,
// and INTIDs or vCPUs the GIC lacks are ignored.
func (g *GIC) SetLevel(intid, vcpu int, level bool) {
	if intid < PPIBase {
		return
	}
	b, bit := g.bankOf(vcpu, intid)
	if b == nil {
		return
	}
	b.setLine(bit, level)
	g.dirty = true
}

// Pulse signals one event of an edge-triggered source (a rising and falling
// edge) on a PPI or an SPI, leaving the line as it was. An interrupt the
// guest configured as level-sensitive does not see a pulse: its pending
// state follows the line, which no longer holds it.
func (g *GIC) Pulse(intid, vcpu int) {
	if intid < PPIBase {
		return
	}
	b, bit := g.bankOf(vcpu, intid)
	if b == nil {
		return
	}
	b.latch |= bit & b.edge
	g.dirty = true
}

// Delivered tells the model that the hypervisor has presented intid to
// vcpu. The guest acknowledges in the virtual CPU interface, which the
// model cannot see, so delivery stands in for the acknowledgement: the
// pending latch clears (IHI 0069 4.1: acknowledging clears an
// edge-triggered interrupt's pending state, and the ISPENDR latch of a
// level-sensitive one), and a level-sensitive interrupt stays pending
// while its line is high. The active state is not set, since the model
// would never see the deactivation.
//
// An INTID not deliverable to vcpu right now is left alone, so a stale
// call cannot consume an interrupt meant for another vCPU.
func (g *GIC) Delivered(vcpu, intid int) {
	if !g.deliverable(vcpu, intid) {
		return
	}
	b, bit := g.bankOf(vcpu, intid)
	b.latch &^= bit
	g.dirty = true
}

// SendSGI makes SGIs pending as a write of value to ICC_SGI1R_EL1 by vCPU
// from does (IHI 0069 12.2, ICC_SGI1R_EL1): INTID in bits 27:24; with IRM
// set every vCPU but the sender, otherwise the vCPUs with affinity
// Aff3.Aff2.Aff1.(RS*16+n) for each bit n of TargetList. Every vCPU has
// Aff3 = Aff2 = Aff1 = 0, so any other value there targets nobody.
//
// The SGI is made pending on every target whatever group the target has
// it in: with one Security state (GICD_CTLR.DS == 1) a write to
// ICC_SGI1R_EL1 by Non-secure EL1 also generates the SGIs configured as
// Group 0 (IHI 0069, ICC_SGI1R_EL1: "under certain conditions a write to
// ICC_SGI1R_EL1 can generate Group 0 interrupts", and the table
// "Forwarding an SGI to a target PE"). Such an SGI is not deliverable
// (Group 0 never is), but GICR_ISPENDR0 shows it pending and it becomes
// deliverable if the guest moves it to Group 1. A sender the VM lacks
// sends nothing.
func (g *GIC) SendSGI(from int, value uint64) {
	if from < 0 || from >= g.vcpus {
		return
	}
	bit := uint32(1) << (value >> sgiINTIDShift & 0xF)
	if value&SGIIRM != 0 {
		for v := range g.vcpus {
			if v != from {
				g.raiseSGI(v, bit)
			}
		}
		return
	}
	if (value>>sgiAff1Shift|value>>sgiAff2Shift|value>>sgiAff3Shift)&0xFF != 0 {
		return
	}
	rs := int(value >> sgiRSShift & 0xF)
	for list := uint32(value & sgiTargetList); list != 0; list &= list - 1 {
		if v := rs*16 + bits.TrailingZeros32(list); v < g.vcpus {
			g.raiseSGI(v, bit)
		}
	}
}

// raiseSGI latches SGI bit pending on vCPU v.
func (g *GIC) raiseSGI(v int, bit uint32) {
	g.priv[v].latch |= bit
	g.dirty = true
}
