package vgic

import "bulkhead/hypervisor/vmachine"

// distFrame is the frame number decode gives the distributor; redistributor
// frames are numbered by vCPU.
const distFrame = -1

// Contains reports whether ipa lies in the distributor's frame or in the
// RD_base or SGI_base frame of one of the VM's vCPUs: the addresses whose
// MMIO exits belong to this model.
func (g *GIC) Contains(ipa uint64) bool {
	_, _, ok := g.decode(ipa)
	return ok
}

// decode returns the frame ipa falls in (distFrame, or the vCPU whose
// redistributor it is) and its offset: into the GICD frame, or from that
// vCPU's RD_base (SGI_base frame at SGIBase and above).
func (g *GIC) decode(ipa uint64) (frame int, off uint64, ok bool) {
	if vmachine.GICD.Contains(ipa, 1) {
		return distFrame, ipa - vmachine.GICD.Base, true
	}
	if ipa < vmachine.GICRBase {
		return 0, 0, false
	}
	rel := ipa - vmachine.GICRBase
	v := rel / vmachine.GICRStride
	if v >= uint64(g.vcpus) {
		return 0, 0, false
	}
	return int(v), rel % vmachine.GICRStride, true
}

// Read performs a guest read of size bytes at ipa and returns the value the
// guest's register receives.
//
// IHI 0069 12.1.3 (GIC memory-mapped register access) allows 32-bit
// accesses to every register, byte accesses to the priority registers,
// and 64-bit accesses to the 64-bit registers (GICD_IROUTER<n>,
// GICR_TYPER), whose halves may also be read as words. Anything else —
// another size, a misaligned address, a reserved or unimplemented
// register — reads as zero.
func (g *GIC) Read(ipa uint64, size int) uint64 {
	f, off, ok := g.decode(ipa)
	if !ok || !aligned(off, size) {
		return 0
	}
	switch size {
	case 1:
		if p := g.priority(f, off); p != nil {
			return uint64(*p)
		}
	case 4:
		if r, ok := g.reg64(f, off&^7); ok {
			return r >> (off & 4 * 8) & 0xFFFF_FFFF
		}
		return uint64(g.read32(f, off))
	case 8:
		if r, ok := g.reg64(f, off); ok {
			return r
		}
	}
	return 0
}

// Write performs a guest write of the low size bytes of value at ipa, under
// the same access rules as Read; accesses those rules do not allow, and
// writes to read-only or reserved registers, are ignored.
func (g *GIC) Write(ipa uint64, size int, value uint64) {
	f, off, ok := g.decode(ipa)
	if !ok || !aligned(off, size) {
		return
	}
	// Any write may change what is deliverable; Changes finds out what.
	g.dirty = true
	switch size {
	case 1:
		if p := g.priority(f, off); p != nil {
			*p = uint8(value)
		}
	case 4:
		if r, ok := g.reg64(f, off&^7); ok {
			shift := off & 4 * 8
			r = r&^(0xFFFF_FFFF<<shift) | (value&0xFFFF_FFFF)<<shift
			g.setReg64(f, off&^7, r)
			return
		}
		g.write32(f, off, uint32(value))
	case 8:
		if _, ok := g.reg64(f, off); ok {
			g.setReg64(f, off, value)
		}
	}
}

// aligned reports whether an access of size bytes at off is one the GIC
// may support: a byte, word or doubleword at an address aligned to its
// size. Halfword accesses are not supported by any GIC register.
func aligned(off uint64, size int) bool {
	switch size {
	case 1, 4, 8:
		return off%uint64(size) == 0
	}
	return false
}

// priority returns the priority byte a byte access at off in frame f
// addresses, or nil if off is not a priority byte of an implemented
// interrupt.
func (g *GIC) priority(f int, off uint64) *uint8 {
	if f == distFrame {
		return prioByte(g.spi, SPIBase, off)
	}
	if off < SGIBase {
		return nil
	}
	return prioByte(g.priv[f:f+1], 0, off-SGIBase)
}

// reg64 returns the 64-bit register at off in frame f, and whether there is
// one.
func (g *GIC) reg64(f int, off uint64) (uint64, bool) {
	if f == distFrame {
		i, ok := g.routeIndex(off)
		if !ok {
			return 0, false
		}
		return g.route[i], true
	}
	if off == GICRTYPER {
		return g.rtyper(f), true
	}
	return 0, false
}

// setReg64 writes the 64-bit register at off in frame f; GICR_TYPER is
// read-only.
func (g *GIC) setReg64(f int, off uint64, v uint64) {
	if i, ok := g.routeIndex(off); ok && f == distFrame {
		g.route[i] = v & routeMask
	}
}

// read32 reads the 32-bit register at off in frame f.
func (g *GIC) read32(f int, off uint64) uint32 {
	switch {
	case f == distFrame:
		return g.distRead(off)
	case off < SGIBase:
		return g.rdRead(f, off)
	}
	return irqRead(g.priv[f:f+1], 0, off-SGIBase)
}

// write32 writes the 32-bit register at off in frame f.
func (g *GIC) write32(f int, off uint64, v uint32) {
	switch {
	case f == distFrame:
		g.distWrite(off, v)
	case off < SGIBase:
		g.rdWrite(f, off, v)
	default:
		irqWrite(g.priv[f:f+1], 0, off-SGIBase, v)
	}
}

// idReg returns the identification register at off (idBase and above) of
// the GICD or RD_base frame.
func idReg(off uint64) uint32 {
	return idRegs[(off-idBase)/4]
}
