package vgic

import "math/bits"

// Changes returns how the deliverable sets differ from what the previous
// call returned (from the reset state, all empty, on the first call): one
// Change per (vCPU, INTID) whose deliverability differs, ordered by vCPU
// and then INTID. Applying them in order to the sets of the previous call
// gives Deliverable for every vCPU.
//
// The difference is a net one: an interrupt that became deliverable and
// stopped again between two calls is not reported. A hypervisor that calls
// Changes after each MMIO exit, line change and SGI it feeds the model,
// and Delivered only for what Changes asserted, loses no edge that way.
// The state between calls is bounded: two bitmaps per vCPU.
func (g *GIC) Changes() []Change {
	if !g.dirty {
		return nil
	}
	g.dirty = false
	g.compute(g.scratch)
	w := g.words()
	var out []Change
	for i, cur := range g.scratch {
		for diff := cur ^ g.reported[i]; diff != 0; diff &= diff - 1 {
			bit := bits.TrailingZeros32(diff)
			out = append(out, Change{VCPU: i / w, INTID: i%w*32 + bit, Level: cur>>bit&1 != 0})
		}
	}
	copy(g.reported, g.scratch)
	return out
}

// Deliverable returns the INTIDs deliverable to vcpu now, in increasing
// order: pending, enabled, Group 1 with the distributor's Group 1 enabled,
// and targeted at vcpu (its own SGIs and PPIs, and the SPIs routed to it).
// It returns nil for a vCPU the VM does not have.
func (g *GIC) Deliverable(vcpu int) []int {
	if vcpu < 0 || vcpu >= g.vcpus {
		return nil
	}
	w := g.words()
	set := make([]uint32, g.vcpus*w)
	g.compute(set)
	var out []int
	for i, word := range set[vcpu*w : (vcpu+1)*w] {
		for ; word != 0; word &= word - 1 {
			out = append(out, i*32+bits.TrailingZeros32(word))
		}
	}
	return out
}

// compute writes the deliverable sets into dst: for each vCPU, words() bit
// words, INTIDs 0-31 in the first and the SPIs after it.
func (g *GIC) compute(dst []uint32) {
	clear(dst)
	if g.ctlr&CtlrEnableGrp1 == 0 {
		return
	}
	w := g.words()
	for v := range g.vcpus {
		dst[v*w] = g.priv[v].ready()
	}
	one := g.oneOfN()
	for n := range g.spi {
		for r := g.spi[n].ready(); r != 0; r &= r - 1 {
			bit := bits.TrailingZeros32(r)
			if t := g.target(SPIBase+32*n+bit, one); t >= 0 {
				dst[t*w+1+n] |= 1 << bit
			}
		}
	}
}

// deliverable reports whether intid is deliverable to vcpu now.
func (g *GIC) deliverable(vcpu, intid int) bool {
	b, bit := g.bankOf(vcpu, intid)
	if b == nil || g.ctlr&CtlrEnableGrp1 == 0 || b.ready()&bit == 0 {
		return false
	}
	return intid < SPIBase || g.target(intid, g.oneOfN()) == vcpu
}

// target returns the vCPU SPI intid is routed to, or -1 when its
// GICD_IROUTER names no vCPU of the VM (the interrupt then stays pending
// until it is rerouted). one is the vCPU oneOfN chose.
func (g *GIC) target(intid, one int) int {
	r := g.route[intid-SPIBase]
	if r&RouteIRM != 0 {
		return one
	}
	if r&routeAff12 != 0 || int(r&routeAff0) >= g.vcpus {
		return -1
	}
	return int(r & routeAff0)
}

// oneOfN returns the vCPU that takes SPIs routed with IRM = 1 (1 of N
// distribution), or -1 when none may. IHI 0069 leaves the choice among
// the participating PEs to the implementation; the model takes the
// lowest-numbered vCPU whose redistributor is awake (GICR_WAKER) and has
// not opted out of Group 1 selection (GICR_CTLR.DPG1NS), so that the
// choice is deterministic and never lands on a vCPU that has not brought
// its GIC up.
func (g *GIC) oneOfN() int {
	for v := range g.cpu {
		if !g.cpu[v].sleep && g.cpu[v].ctlr&RCtlrDPG1NS == 0 {
			return v
		}
	}
	return -1
}
