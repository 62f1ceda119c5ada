//go:build tamago && arm64

package el2

// defined in sysreg_arm64.s
func writeHCR(val uint64)
func writeVTCR(val uint64)
func writeVTTBR(val uint64)
func readVTTBR() uint64
func readVBAREL1() uint64
func writeSCTLREL1(val uint64)
func writeEL1Exception(esr, far, elr, spsr uint64)
func tlbiIPA(ipa uint64)
func tlbiVMID()
func tlbiVMIDIPAFinish()
func blockEL1Walks() (tcr uint64)
func writeTCREL1(tcr uint64)

// EnterStage2 installs a stage-2 translation regime: VTCR_EL2, VTTBR_EL2 and
// then HCR_EL2, which turns it on (HCR_EL2.VM) for EL1 and EL0.
func EnterStage2(vtcr, vttbr, hcr uint64) {
	writeVTCR(vtcr)
	writeVTTBR(vttbr)
	writeHCR(hcr)
}

// InvalidateIPA removes the stage-2 TLB entries of ipa for the VMID in
// vttbr, and every stage-1 entry of that VMID, since they may have been
// built from the old translation (Arm ARM D8.14.5, "TLB maintenance
// requirements and the TLB maintenance instructions": TLBI IPAS2E1IS then
// TLBI VMALLE1IS).
//
// While VTTBR_EL2 holds the target VMID the EL1 registers loaded are the
// host's, or those of the vCPU whose trap the engine is handling (World
// keeps its world loaded): TCR_EL1.EPD0 and EPD1 stop any stage-1 walk
// meanwhile, so no speculative translation mixes one principal's stage-1
// with another's stage-2 (Cortex-A72 erratum 1319367; KVM's __tlb_switch_to_guest does
// the same).
func InvalidateIPA(vttbr, ipa uint64) {
	tcr := blockEL1Walks()
	old := readVTTBR()
	setVTTBR(vttbr)
	tlbiIPA(ipa)
	tlbiVMIDIPAFinish()
	setVTTBR(old)
	writeTCREL1(tcr)
}

// InvalidateVMID removes every stage-1 and stage-2 TLB entry of the VMID in
// vttbr (TLBI VMALLS12E1IS), with EL1 walks stopped as InvalidateIPA does.
func InvalidateVMID(vttbr uint64) {
	tcr := blockEL1Walks()
	old := readVTTBR()
	setVTTBR(vttbr)
	tlbiVMID()
	setVTTBR(old)
	writeTCREL1(tcr)
}

// SetEL1Reset puts SCTLR_EL1 in the state an image expects at entry: MMU
// and caches off, little-endian (D19.2.118, RES1 bits 11, 20, 22, 23, 28,
// 29).
func SetEL1Reset() {
	writeSCTLREL1(0x30d00800)
}

// InjectUndef delivers an Unknown-reason exception for the trapped
// instruction in ctx to EL1.
func InjectUndef(ctx *Context) {
	esr, pc, pstate := UndefEntry(ctx.PSTATE, readVBAREL1())
	writeEL1Exception(esr, 0, ctx.PC, ctx.PSTATE)
	ctx.PC, ctx.PSTATE = pc, pstate
}

// InjectAbort delivers a synchronous external abort for the exit in ctx to
// EL1: the EL1 exception registers take what EL1 would have seen had the
// abort been its own, and ctx resumes at EL1's vector.
func InjectAbort(ctx *Context) {
	esr, pc, pstate := AbortEntry(ctx.ESR, ctx.PSTATE, readVBAREL1())
	writeEL1Exception(esr, ctx.FAR, ctx.PC, ctx.PSTATE)
	ctx.PC, ctx.PSTATE = pc, pstate
}
