//go:build tamago

#include "go_asm.h"
#include "textflag.h"
#include "../arm64/sysreg.h"
#include "fp.h"

// The EL1 system register file, in the order of the el* constants
// (guest.go); the inventory (inventory.go) names each and a test checks
// these lines against it. The FP/SIMD file is switched at every entry to
// and exit from EL2 (vectors_arm64.s), not here.

#define SAVE2(a, b, off) \
	MRS	a, R1; \
	MRS	b, R2; \
	STP	(R1, R2), (off*8)(R0)

#define LOAD2(a, b, off) \
	LDP	(off*8)(R0), (R1, R2); \
	MSR	R1, a; \
	MSR	R2, b

#define SAVE1(a, off) \
	MRS	a, R1; \
	MOVD	R1, (off*8)(R0)

#define LOAD1(a, off) \
	MOVD	(off*8)(R0), R1; \
	MSR	R1, a

// SAVE_SP and LOAD_SP move SP_EL0 and SP_EL1 (which Go's assembler does not
// name) at off and off+1.
#define SAVE_SP(off) \
	MRS	SP_EL0, R1; \
	MRS_X(SP_EL1, 2); \
	STP	(R1, R2), (off*8)(R0)

#define LOAD_SP(off) \
	LDP	(off*8)(R0), (R1, R2); \
	MSR	R1, SP_EL0; \
	MSR_X(SP_EL1, 2)

// func saveEL1(f *ELFile)
TEXT ·saveEL1(SB),NOSPLIT,$0-8
	MOVD	f+0(FP), R0
	SAVE2(SCTLR_EL1, TTBR0_EL1, const_elSCTLR)
	SAVE2(TTBR1_EL1, TCR_EL1, const_elTTBR1)
	SAVE2(MAIR_EL1, AMAIR_EL1, const_elMAIR)
	SAVE2(VBAR_EL1, CONTEXTIDR_EL1, const_elVBAR)
	SAVE2(TPIDR_EL0, TPIDRRO_EL0, const_elTPIDR0)
	SAVE2(TPIDR_EL1, CPACR_EL1, const_elTPIDR1)
	SAVE2(ESR_EL1, FAR_EL1, const_elESR)
	SAVE2(AFSR0_EL1, AFSR1_EL1, const_elAFSR0)
	SAVE2(PAR_EL1, CNTKCTL_EL1, const_elPAR)
	SAVE1(CSSELR_EL1, const_elCSSELR)
	SAVE_SP(const_elSP0)
	SAVE2(ELR_EL1, SPSR_EL1, const_elELR)
	SAVE2(CNTV_CTL_EL0, CNTV_CVAL_EL0, const_elCNTVCTL)
	RET

// func loadEL1(f *ELFile)
TEXT ·loadEL1(SB),NOSPLIT,$0-8
	MOVD	f+0(FP), R0
	LOAD2(SCTLR_EL1, TTBR0_EL1, const_elSCTLR)
	LOAD2(TTBR1_EL1, TCR_EL1, const_elTTBR1)
	LOAD2(MAIR_EL1, AMAIR_EL1, const_elMAIR)
	LOAD2(VBAR_EL1, CONTEXTIDR_EL1, const_elVBAR)
	LOAD2(TPIDR_EL0, TPIDRRO_EL0, const_elTPIDR0)
	LOAD2(TPIDR_EL1, CPACR_EL1, const_elTPIDR1)
	LOAD2(ESR_EL1, FAR_EL1, const_elESR)
	LOAD2(AFSR0_EL1, AFSR1_EL1, const_elAFSR0)
	LOAD2(PAR_EL1, CNTKCTL_EL1, const_elPAR)
	LOAD1(CSSELR_EL1, const_elCSSELR)
	LOAD_SP(const_elSP0)
	LOAD2(ELR_EL1, SPSR_EL1, const_elELR)
	LOAD2(CNTV_CTL_EL0, CNTV_CVAL_EL0, const_elCNTVCTL)
	ISB	$15
	RET

// func saveFP(f *FPFile)
TEXT ·saveFP(SB),NOSPLIT,$0-8
	MOVD	f+0(FP), R0
	FP_SAVE(R0, R1, R2)
	RET

// func loadFP(f *FPFile)
TEXT ·loadFP(SB),NOSPLIT,$0-8
	MOVD	f+0(FP), R0
	FP_LOAD(R0, R1, R2)
	RET

// func loadedTimerFires(now uint64) bool
//
// timerFires of the CPU's CNTV_CTL_EL0 and CNTV_CVAL_EL0 (Arm ARM
// D11.2.4): ENABLE (bit 0) set, IMASK (bit 1) clear, and now at or past
// the compare value.
TEXT ·loadedTimerFires(SB),NOSPLIT,$0-9
	MOVD	now+0(FP), R2
	MRS	CNTV_CTL_EL0, R0
	MRS	CNTV_CVAL_EL0, R1
	AND	$3, R0, R0
	CMP	$1, R0
	BNE	quiet
	CMP	R1, R2
	CSET	HS, R0
	MOVB	R0, ret+8(FP)
	RET

quiet:
	MOVB	ZR, ret+8(FP)
	RET

// func writeTrapControls(hcr, mdcr, cnthctl uint64)
TEXT ·writeTrapControls(SB),NOSPLIT,$0-24
	MOVD	hcr+0(FP), R0
	MOVD	mdcr+8(FP), R1
	MOVD	cnthctl+16(FP), R2
	MSR_X(HCR_EL2, 0)
	MSR_X(MDCR_EL2, 1)
	MSR_X(CNTHCTL_EL2, 2)
	ISB	$15
	RET

// func writeVMPIDR(val uint64)
TEXT ·writeVMPIDR(SB),NOSPLIT,$0-8
	MOVD	val+0(FP), R0
	MSR_X(VMPIDR_EL2, 0)
	RET

// func writeCNTVOFF(val uint64)
TEXT ·writeCNTVOFF(SB),NOSPLIT,$0-8
	MOVD	val+0(FP), R0
	MSR_X(CNTVOFF_EL2, 0)
	RET

// func readMPIDR() uint64
TEXT ·readMPIDR(SB),NOSPLIT,$0-8
	MRS	MPIDR_EL1, R0
	MOVD	R0, ret+0(FP)
	RET

// func readMDCR() uint64
TEXT ·readMDCR(SB),NOSPLIT,$0-8
	MRS_X(MDCR_EL2, 0)
	MOVD	R0, ret+0(FP)
	RET

// func copyMIDRToVPIDR()
TEXT ·copyMIDRToVPIDR(SB),NOSPLIT,$0
	// VPIDR_EL2 (Arm ARM D19.2) is what MIDR_EL1 reads at EL1; its reset value is
	// UNKNOWN, so the engine gives everyone the CPU's own.
	MRS	MIDR_EL1, R0
	MSR_X(VPIDR_EL2, 0)
	RET

// func readVTR() uint64
TEXT ·readVTR(SB),NOSPLIT,$0-8
	MRS_X(ICH_VTR_EL2, 0)
	MOVD	R0, ret+0(FP)
	RET

// func quietDebugAndPMU()
TEXT ·quietDebugAndPMU(SB),NOSPLIT,$0
	// Arm ARM D13.3 (PMCR_EL0.E, PMCNTENCLR_EL0, PMINTENCLR_EL1,
	// PMOVSCLR_EL0) and D2.2 (MDSCR_EL1.MDE, KDE): every counter stopped,
	// no overflow interrupt, no breakpoint or watchpoint enabled. Nobody
	// at EL1 or EL0 can change this afterwards (MDCR_EL2 traps), so no
	// counter ever counts the engine, the host or a guest.
	MOVD	$-1, R0
	MSR	ZR, PMCR_EL0
	MSR	R0, PMCNTENCLR_EL0
	MSR	R0, PMINTENCLR_EL1
	MSR	R0, PMOVSCLR_EL0
	MSR	ZR, PMUSERENR_EL0
	MSR	ZR, MDSCR_EL1
	ISB	$15
	RET

// func loadVGIC(v *VGIC, aprs uint64)
TEXT ·loadVGIC(SB),NOSPLIT,$0-16
	// IHI 0069 12.4: the list registers, the virtual machine control and
	// the active priorities of both groups (aprs of each, 12.4.1, 12.4.2),
	// then ICH_HCR_EL2 (En, and UIE when Sync asked for it) to turn the
	// virtual CPU interface on for the guest.
	MOVD	v+0(FP), R0
	MOVD	aprs+8(FP), R3
	LDP	(VGIC_LR+0*8)(R0), (R1, R2)
	MSR_X(ICH_LR0_EL2, 1)
	MSR_X(ICH_LR1_EL2, 2)
	LDP	(VGIC_LR+2*8)(R0), (R1, R2)
	MSR_X(ICH_LR2_EL2, 1)
	MSR_X(ICH_LR3_EL2, 2)
	MOVD	VGIC_VMCR(R0), R1
	MSR_X(ICH_VMCR_EL2, 1)
	CBZ	R3, loaded
	MOVD	(VGIC_AP0R+0*8)(R0), R1
	MOVD	(VGIC_AP1R+0*8)(R0), R2
	MSR_X(ICH_AP0R0_EL2, 1)
	MSR_X(ICH_AP1R0_EL2, 2)
	CMP	$1, R3
	BLS	loaded
	MOVD	(VGIC_AP0R+1*8)(R0), R1
	MOVD	(VGIC_AP1R+1*8)(R0), R2
	MSR_X(ICH_AP0R1_EL2, 1)
	MSR_X(ICH_AP1R1_EL2, 2)
	CMP	$2, R3
	BLS	loaded
	MOVD	(VGIC_AP0R+2*8)(R0), R1
	MOVD	(VGIC_AP1R+2*8)(R0), R2
	MSR_X(ICH_AP0R2_EL2, 1)
	MSR_X(ICH_AP1R2_EL2, 2)
	MOVD	(VGIC_AP0R+3*8)(R0), R1
	MOVD	(VGIC_AP1R+3*8)(R0), R2
	MSR_X(ICH_AP0R3_EL2, 1)
	MSR_X(ICH_AP1R3_EL2, 2)
loaded:
	MOVD	VGIC_HCR(R0), R1
	MSR_X(ICH_HCR_EL2, 1)
	ISB	$15
	RET

// func saveVGIC(v *VGIC, aprs uint64)
TEXT ·saveVGIC(SB),NOSPLIT,$0-16
	MOVD	v+0(FP), R0
	MOVD	aprs+8(FP), R3
	// The host has no virtual interface: En off first, then every
	// register saved and cleared so that nothing of the guest's stays.
	MSR_X(ICH_HCR_EL2, 31)
	ISB	$15
	MRS_X(ICH_LR0_EL2, 1)
	MRS_X(ICH_LR1_EL2, 2)
	STP	(R1, R2), (VGIC_LR+0*8)(R0)
	MRS_X(ICH_LR2_EL2, 1)
	MRS_X(ICH_LR3_EL2, 2)
	STP	(R1, R2), (VGIC_LR+2*8)(R0)
	MRS_X(ICH_VMCR_EL2, 1)
	MOVD	R1, VGIC_VMCR(R0)
	MSR_X(ICH_LR0_EL2, 31)
	MSR_X(ICH_LR1_EL2, 31)
	MSR_X(ICH_LR2_EL2, 31)
	MSR_X(ICH_LR3_EL2, 31)
	MSR_X(ICH_VMCR_EL2, 31)
	CBZ	R3, saved
	MRS_X(ICH_AP0R0_EL2, 1)
	MRS_X(ICH_AP1R0_EL2, 2)
	MOVD	R1, (VGIC_AP0R+0*8)(R0)
	MOVD	R2, (VGIC_AP1R+0*8)(R0)
	MSR_X(ICH_AP0R0_EL2, 31)
	MSR_X(ICH_AP1R0_EL2, 31)
	CMP	$1, R3
	BLS	saved
	MRS_X(ICH_AP0R1_EL2, 1)
	MRS_X(ICH_AP1R1_EL2, 2)
	MOVD	R1, (VGIC_AP0R+1*8)(R0)
	MOVD	R2, (VGIC_AP1R+1*8)(R0)
	MSR_X(ICH_AP0R1_EL2, 31)
	MSR_X(ICH_AP1R1_EL2, 31)
	CMP	$2, R3
	BLS	saved
	MRS_X(ICH_AP0R2_EL2, 1)
	MRS_X(ICH_AP1R2_EL2, 2)
	MOVD	R1, (VGIC_AP0R+2*8)(R0)
	MOVD	R2, (VGIC_AP1R+2*8)(R0)
	MSR_X(ICH_AP0R2_EL2, 31)
	MSR_X(ICH_AP1R2_EL2, 31)
	MRS_X(ICH_AP0R3_EL2, 1)
	MRS_X(ICH_AP1R3_EL2, 2)
	MOVD	R1, (VGIC_AP0R+3*8)(R0)
	MOVD	R2, (VGIC_AP1R+3*8)(R0)
	MSR_X(ICH_AP0R3_EL2, 31)
	MSR_X(ICH_AP1R3_EL2, 31)
saved:
	ISB	$15
	RET
