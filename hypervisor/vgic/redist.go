package vgic

// rdRead reads the 32-bit register at off of vCPU v's RD_base frame.
func (g *GIC) rdRead(v int, off uint64) uint32 {
	switch {
	case off == GICRCTLR:
		return g.cpu[v].ctlr
	case off == GICRIIDR:
		return iidr
	case off == GICRWAKER:
		return g.waker(v)
	case off >= idBase:
		return idReg(off)
	}
	// GICR_STATUSR reports no errors; the LPI registers (PROPBASER,
	// PENDBASER, SETLPIR...) are RES0 because GICR_TYPER.PLPIS is 0.
	return 0
}

// rdWrite writes the 32-bit register at off of vCPU v's RD_base frame.
func (g *GIC) rdWrite(v int, off uint64, val uint32) {
	switch off {
	case GICRCTLR:
		g.cpu[v].ctlr = val & rctlrMask
	case GICRWAKER:
		g.cpu[v].sleep = val&WakerProcessorSleep != 0
	}
}

// waker is GICR_WAKER. The model has no power to manage, so the
// ChildrenAsleep handshake completes at once: it reads as ProcessorSleep,
// which is what a driver polls for after writing it (IHI 0069 12.11,
// GICR_WAKER).
func (g *GIC) waker(v int) uint32 {
	if g.cpu[v].sleep {
		return WakerProcessorSleep | WakerChildrenAsleep
	}
	return 0
}

// rtyper is vCPU v's GICR_TYPER: Affinity_Value is the vCPU's MPIDR
// affinity (Aff0 = v, the vCPU numbering the engine and the device tree
// use), Processor_Number is v, Last marks the final redistributor of the
// contiguous region so that drivers stop scanning there, and DPGS says
// GICR_CTLR.DPG* are implemented. PPInum 0 means 16 PPIs; PLPIS, VLPIS
// and DirectLPI are 0 (no LPIs).
func (g *GIC) rtyper(v int) uint64 {
	t := uint64(v)<<rtyperAffinityShift | uint64(v)<<rtyperProcessorShift | RTyperDPGS
	if v == g.vcpus-1 {
		t |= RTyperLast
	}
	return t
}
