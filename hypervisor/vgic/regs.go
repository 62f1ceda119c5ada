package vgic

// Distributor register offsets in the GICD frame (IHI 0069 12.8, the
// distributor register map). Registers not listed are reserved or
// unsupported by this model, and RAZ/WI.
const (
	GICDCTLR       = 0x0000
	GICDTYPER      = 0x0004
	GICDIIDR       = 0x0008
	GICDTYPER2     = 0x000C
	GICDSTATUSR    = 0x0010
	GICDIGROUPR    = 0x0080
	GICDISENABLER  = 0x0100
	GICDICENABLER  = 0x0180
	GICDISPENDR    = 0x0200
	GICDICPENDR    = 0x0280
	GICDISACTIVER  = 0x0300
	GICDICACTIVER  = 0x0380
	GICDIPRIORITYR = 0x0400
	GICDITARGETSR  = 0x0800
	GICDICFGR      = 0x0C00
	GICDIGRPMODR   = 0x0D00
	GICDNSACR      = 0x0E00
	GICDSGIR       = 0x0F00
	GICDIROUTER    = 0x6000 // IROUTER<n> at GICDIROUTER + 8n, n = 32..1019
	GICDPIDR2      = 0xFFE8
)

// Redistributor register offsets: RD_base frame, then the SGI_base frame
// 64 KiB above it (IHI 0069 12.10, the redistributor register map).
const (
	GICRCTLR    = 0x0000
	GICRIIDR    = 0x0004
	GICRTYPER   = 0x0008
	GICRSTATUSR = 0x0010
	GICRWAKER   = 0x0014
	GICRPIDR2   = 0xFFE8

	// SGIBase is the offset of the SGI_base frame from RD_base.
	SGIBase = 0x1_0000

	GICRIGROUPR0   = SGIBase + GICDIGROUPR
	GICRISENABLER0 = SGIBase + GICDISENABLER
	GICRICENABLER0 = SGIBase + GICDICENABLER
	GICRISPENDR0   = SGIBase + GICDISPENDR
	GICRICPENDR0   = SGIBase + GICDICPENDR
	GICRISACTIVER0 = SGIBase + GICDISACTIVER
	GICRICACTIVER0 = SGIBase + GICDICACTIVER
	GICRIPRIORITYR = SGIBase + GICDIPRIORITYR // IPRIORITYR0..7
	GICRICFGR0     = SGIBase + GICDICFGR
	GICRICFGR1     = GICRICFGR0 + 4
	GICRIGRPMODR0  = SGIBase + GICDIGRPMODR
	GICRNSACR      = SGIBase + GICDNSACR
)

// GICD_CTLR bits with one Security state (IHI 0069 12.9, GICD_CTLR, the
// layout when GICD_CTLR.DS == 1).
const (
	CtlrEnableGrp0 = 1 << 0
	CtlrEnableGrp1 = 1 << 1
	CtlrARE        = 1 << 4
	CtlrDS         = 1 << 6
	CtlrRWP        = 1 << 31
)

// GICD_TYPER fields (IHI 0069 12.9, GICD_TYPER).
const (
	typerIDbitsShift = 19
	typerRSS         = 1 << 26
	// idBits is GICD_TYPER.IDbits: INTIDs have 10 bits (0-1023), the
	// value minus one.
	idBits = 9
)

// GICD_IROUTER fields (IHI 0069 12.9, GICD_IROUTER<n>). Aff3 is RES0
// because GICD_TYPER.A3V is 0: every vCPU has Aff3 = 0.
const (
	RouteIRM   = 1 << 31
	routeAff0  = 0xFF
	routeAff12 = 0xFFFF << 8
	routeMask  = RouteIRM | routeAff12 | routeAff0
)

// GICR_CTLR bits (IHI 0069 12.11, GICR_CTLR). The DPG bits take the
// redistributor's PE out of 1-of-N selection for a group. DPG1S is RAZ/WI:
// with one Security state there is no Secure Group 1. UWP, RWP, IR, CES
// and EnableLPIs read as zero (no LPIs, and writes take effect at once).
const (
	RCtlrDPG0   = 1 << 24
	RCtlrDPG1NS = 1 << 25
	rctlrMask   = RCtlrDPG0 | RCtlrDPG1NS
)

// GICR_TYPER fields (IHI 0069 12.11, GICR_TYPER).
const (
	RTyperLast           = 1 << 4
	RTyperDPGS           = 1 << 5
	rtyperProcessorShift = 8
	rtyperAffinityShift  = 32
)

// GICR_WAKER bits (IHI 0069 12.11, GICR_WAKER).
const (
	WakerProcessorSleep = 1 << 1
	WakerChildrenAsleep = 1 << 2
)

// iidr is GICD_IIDR and GICR_IIDR: ProductID 0x62 ('b'), no implementer
// code (the model is not a JEP106 vendor's part), variant and revision 0.
// It matches none of the errata Linux's GICv3 driver keys on the IIDR.
const iidr = 0x62 << 24

// idRegs are the identification registers at 0xFFD0-0xFFFC of the GICD
// and RD_base frames: PIDR4-7, PIDR0-3, CIDR0-3 (IHI 0069 12.1.3 and
// 12.9, GICD_PIDR2). PIDR2.ArchRev is 3, GICv3, which is what drivers
// check; PIDR4.SIZE says the frame is 2^4 4 KiB blocks; the CIDRs are the
// standard component preamble. The part and designer fields are zero.
var idRegs = [12]uint32{
	0x40, 0, 0, 0, // PIDR4-7
	0, 0, 0x30, 0, // PIDR0-3
	0x0D, 0xF0, 0x05, 0xB1, // CIDR0-3
}

// idBase is the offset of PIDR4, the first identification register.
const idBase = 0xFFD0
