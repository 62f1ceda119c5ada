package vgic

// distRead reads the distributor's 32-bit register at off.
func (g *GIC) distRead(off uint64) uint32 {
	switch {
	case off == GICDCTLR:
		// DS and ARE are RAO/WI; RWP is 0 because every write has
		// taken effect by the time the guest's next access is served.
		return CtlrDS | CtlrARE | g.ctlr
	case off == GICDTYPER:
		return g.typer()
	case off == GICDIIDR:
		return iidr
	case isIRQReg(off):
		return irqRead(g.spi, SPIBase, off)
	case off >= idBase:
		return idReg(off)
	}
	// GICD_TYPER2 (no vPEs, no nASSGIcap) and GICD_STATUSR (no errors)
	// are zero; IGRPMODR and NSACR are RAZ/WI with DS set; the GICv2
	// registers are RAZ/WI with ARE set; the rest is reserved.
	return 0
}

// distWrite writes the distributor's 32-bit register at off.
func (g *GIC) distWrite(off uint64, v uint32) {
	switch {
	case off == GICDCTLR:
		g.ctlr = v & (CtlrEnableGrp0 | CtlrEnableGrp1)
	case isIRQReg(off):
		irqWrite(g.spi, SPIBase, off, v)
	}
}

// typer is GICD_TYPER: ITLinesNumber from the SPI count (32*(N+1) INTIDs),
// 10-bit INTIDs, Range Selector support (SendSGI takes targets with Aff0
// up to 255), and zero for everything the model lacks: LPIs, MBIS,
// extended SPIs, Security extensions (SecurityExtn is 0 with one Security
// state), Aff3 (A3V). No1N is 0: IRM = 1 routing is supported.
// CPUNumber is 0 because ARE cannot be cleared: the field counts the PEs
// usable without affinity routing.
func (g *GIC) typer() uint32 {
	return uint32(len(g.spi)) | idBits<<typerIDbitsShift | typerRSS
}

// routeIndex returns the SPI whose GICD_IROUTER<n> is at off, as an index
// into g.route. IROUTER<0> to IROUTER<31> are reserved: SGIs and PPIs are
// routed by their redistributor.
func (g *GIC) routeIndex(off uint64) (int, bool) {
	if off < GICDIROUTER+8*SPIBase || off%8 != 0 {
		return 0, false
	}
	i := (off-GICDIROUTER)/8 - SPIBase
	if i >= uint64(len(g.route)) {
		return 0, false
	}
	return int(i), true
}

// isIRQReg reports whether off is in one of the per-interrupt register
// arrays that the distributor and each redistributor's SGI_base frame lay
// out alike: IGROUPR to ICACTIVER, IPRIORITYR and ICFGR.
func isIRQReg(off uint64) bool {
	return off >= GICDIGROUPR && off < GICDITARGETSR || off >= GICDICFGR && off < GICDIGRPMODR
}

// lookup returns the bank of banks (the first holding INTIDs base to
// base+31) that holds intid, or nil when the run does not implement it.
func lookup(banks []bank, base, intid int) *bank {
	i := intid - base
	if i < 0 || i >= 32*len(banks) {
		return nil
	}
	return &banks[i/32]
}

// irqRead reads the per-interrupt register at off of a run of banks
// starting at INTID base. Registers of INTIDs the run lacks read as zero.
func irqRead(banks []bank, base int, off uint64) uint32 {
	switch {
	case off >= GICDIPRIORITYR && off < GICDITARGETSR:
		return prioWord(banks, base, off)
	case off >= GICDICFGR && off < GICDIGRPMODR:
		return cfgRead(banks, base, off)
	case off < GICDIGROUPR || off >= GICDIPRIORITYR:
		return 0
	}
	b := lookup(banks, base, int(off%0x80/4*32))
	if b == nil {
		return 0
	}
	switch off &^ 0x7F {
	case GICDIGROUPR:
		return b.group
	case GICDISENABLER, GICDICENABLER:
		return b.enable
	case GICDISPENDR, GICDICPENDR:
		return b.pending()
	}
	return b.active // ISACTIVER, ICACTIVER
}

// irqWrite writes the per-interrupt register at off. The set and clear
// registers change only the bits written as one (IHI 0069 12.9,
// GICD_ISENABLER<n> and siblings); ICPENDR clears the latch, so a
// level-sensitive interrupt whose line is asserted stays pending.
func irqWrite(banks []bank, base int, off uint64, v uint32) {
	switch {
	case off >= GICDIPRIORITYR && off < GICDITARGETSR:
		setPrioWord(banks, base, off, v)
		return
	case off >= GICDICFGR && off < GICDIGRPMODR:
		cfgWrite(banks, base, off, v)
		return
	case off < GICDIGROUPR || off >= GICDIPRIORITYR:
		return
	}
	b := lookup(banks, base, int(off%0x80/4*32))
	if b == nil {
		return
	}
	switch off &^ 0x7F {
	case GICDIGROUPR:
		b.group = v
	case GICDISENABLER:
		b.enable |= v
	case GICDICENABLER:
		b.enable &^= v
	case GICDISPENDR:
		b.latch |= v
	case GICDICPENDR:
		b.latch &^= v
	case GICDISACTIVER:
		b.active |= v
	case GICDICACTIVER:
		b.active &^= v
	}
}

// prioByte returns the priority byte of the INTID a byte access at off
// into IPRIORITYR addresses (one byte per INTID), or nil.
func prioByte(banks []bank, base int, off uint64) *uint8 {
	if off < GICDIPRIORITYR || off >= GICDITARGETSR {
		return nil
	}
	intid := int(off - GICDIPRIORITYR)
	b := lookup(banks, base, intid)
	if b == nil {
		return nil
	}
	return &b.prio[intid%32]
}

// prioWord reads the IPRIORITYR word at off: four INTIDs' priorities,
// the lowest INTID in the lowest byte.
func prioWord(banks []bank, base int, off uint64) uint32 {
	var w uint32
	for i := range uint64(4) {
		if p := prioByte(banks, base, off+i); p != nil {
			w |= uint32(*p) << (8 * i)
		}
	}
	return w
}

func setPrioWord(banks []bank, base int, off uint64, v uint32) {
	for i := range uint64(4) {
		if p := prioByte(banks, base, off+i); p != nil {
			*p = uint8(v >> (8 * i))
		}
	}
}

// cfgRead reads ICFGR<n> at off: two bits per INTID for 16 INTIDs, of
// which only Int_config[1] (1 = edge-triggered) is implemented; bit 0 of
// each field is RES0 in GICv3 (IHI 0069 12.9, GICD_ICFGR<n>).
func cfgRead(banks []bank, base int, off uint64) uint32 {
	intid := int(off-GICDICFGR) * 4
	b := lookup(banks, base, intid)
	if b == nil {
		return 0
	}
	return spread(b.edge >> (intid % 32))
}

// cfgWrite writes ICFGR<n>. The SGIs' field (ICFGR0 of a redistributor)
// is read-only: SGIs are always edge-triggered.
func cfgWrite(banks []bank, base int, off uint64, v uint32) {
	intid := int(off-GICDICFGR) * 4
	b := lookup(banks, base, intid)
	if b == nil || intid < NumSGIs {
		return
	}
	shift := intid % 32
	b.edge = b.edge&^(0xFFFF<<shift) | gather(v)<<shift
}

// spread maps bit i of the low 16 bits of x to bit 2i+1, the
// Int_config[1] position of ICFGR.
func spread(x uint32) uint32 {
	var r uint32
	for i := range 16 {
		r |= (x >> i & 1) << (2*i + 1)
	}
	return r
}

// gather is the inverse of spread: bit 2i+1 of v to bit i.
func gather(v uint32) uint32 {
	var r uint32
	for i := range 16 {
		r |= (v >> (2*i + 1) & 1) << i
	}
	return r
}
