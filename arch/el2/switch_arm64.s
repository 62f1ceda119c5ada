//go:build tamago

#include "go_asm.h"
#include "textflag.h"
#include "../arm64/sysreg.h"

// The EL1 system register file, in the order of the el* constants
// (guest.go). Every register a Linux guest programs at EL1 is here (Arm ARM
// D19.2); the FP/SIMD state is saved separately.

#define SAVE2(a, b, off) \
	MRS	a, R1; \
	MRS	b, R2; \
	STP	(R1, R2), (off*8)(R0)

#define LOAD2(a, b, off) \
	LDP	(off*8)(R0), (R1, R2); \
	MSR	R1, a; \
	MSR	R2, b

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
	SAVE2(MDSCR_EL1, CSSELR_EL1, const_elMDSCR)
	MRS	SP_EL0, R1
	MRS_X(SP_EL1, 2)
	STP	(R1, R2), (const_elSP0*8)(R0)
	SAVE2(ELR_EL1, SPSR_EL1, const_elELR)
	SAVE2(CNTV_CTL_EL0, CNTV_CVAL_EL0, const_elCNTVCTL)
	SAVE2(FPCR, FPSR, const_elFPCR)
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
	LOAD2(MDSCR_EL1, CSSELR_EL1, const_elMDSCR)
	LDP	(const_elSP0*8)(R0), (R1, R2)
	MSR	R1, SP_EL0
	MSR_X(SP_EL1, 2)
	LOAD2(ELR_EL1, SPSR_EL1, const_elELR)
	LOAD2(CNTV_CTL_EL0, CNTV_CVAL_EL0, const_elCNTVCTL)
	LOAD2(FPCR, FPSR, const_elFPCR)
	ISB	$15
	RET

// func saveFP(f *FPFile)
TEXT ·saveFP(SB),NOSPLIT,$0-8
	MOVD	f+0(FP), R0
	VST1.P	[V0.D2, V1.D2, V2.D2, V3.D2], 64(R0)
	VST1.P	[V4.D2, V5.D2, V6.D2, V7.D2], 64(R0)
	VST1.P	[V8.D2, V9.D2, V10.D2, V11.D2], 64(R0)
	VST1.P	[V12.D2, V13.D2, V14.D2, V15.D2], 64(R0)
	VST1.P	[V16.D2, V17.D2, V18.D2, V19.D2], 64(R0)
	VST1.P	[V20.D2, V21.D2, V22.D2, V23.D2], 64(R0)
	VST1.P	[V24.D2, V25.D2, V26.D2, V27.D2], 64(R0)
	VST1.P	[V28.D2, V29.D2, V30.D2, V31.D2], 64(R0)
	RET

// func loadFP(f *FPFile)
TEXT ·loadFP(SB),NOSPLIT,$0-8
	MOVD	f+0(FP), R0
	VLD1.P	64(R0), [V0.D2, V1.D2, V2.D2, V3.D2]
	VLD1.P	64(R0), [V4.D2, V5.D2, V6.D2, V7.D2]
	VLD1.P	64(R0), [V8.D2, V9.D2, V10.D2, V11.D2]
	VLD1.P	64(R0), [V12.D2, V13.D2, V14.D2, V15.D2]
	VLD1.P	64(R0), [V16.D2, V17.D2, V18.D2, V19.D2]
	VLD1.P	64(R0), [V20.D2, V21.D2, V22.D2, V23.D2]
	VLD1.P	64(R0), [V24.D2, V25.D2, V26.D2, V27.D2]
	VLD1.P	64(R0), [V28.D2, V29.D2, V30.D2, V31.D2]
	RET

#define ZERO4(a, b, c, d) \
	VEOR	a.B16, a.B16, a.B16; \
	VEOR	b.B16, b.B16, b.B16; \
	VEOR	c.B16, c.B16, c.B16; \
	VEOR	d.B16, d.B16, d.B16

// func clearFP()
TEXT ·clearFP(SB),NOSPLIT,$0
	ZERO4(V0, V1, V2, V3)
	ZERO4(V4, V5, V6, V7)
	ZERO4(V8, V9, V10, V11)
	ZERO4(V12, V13, V14, V15)
	ZERO4(V16, V17, V18, V19)
	ZERO4(V20, V21, V22, V23)
	ZERO4(V24, V25, V26, V27)
	ZERO4(V28, V29, V30, V31)
	MSR	ZR, FPSR
	MSR	ZR, FPCR
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

// func atS1E1R(va uint64) (par uint64)
TEXT ·atS1E1R(SB),NOSPLIT,$0-16
	MOVD	va+0(FP), R0
	MRS	PAR_EL1, R2
	SYS_X(AT_S1E1R, 0)
	ISB	$15
	MRS	PAR_EL1, R1
	MSR	R2, PAR_EL1
	MOVD	R1, par+8(FP)
	RET

// func loadVGIC(v *VGIC)
TEXT ·loadVGIC(SB),NOSPLIT,$0-8
	// IHI 0069 12.4: the list registers, the virtual machine control and
	// active priorities, then ICH_HCR_EL2 (En, and UIE when Sync asked for
	// it) to turn the virtual CPU interface on for the guest.
	MOVD	v+0(FP), R0
	LDP	(VGIC_LR+0*8)(R0), (R1, R2)
	MSR_X(ICH_LR0_EL2, 1)
	MSR_X(ICH_LR1_EL2, 2)
	LDP	(VGIC_LR+2*8)(R0), (R1, R2)
	MSR_X(ICH_LR2_EL2, 1)
	MSR_X(ICH_LR3_EL2, 2)
	MOVD	VGIC_VMCR(R0), R1
	MOVD	VGIC_AP1R0(R0), R2
	MSR_X(ICH_VMCR_EL2, 1)
	MSR_X(ICH_AP1R0_EL2, 2)
	MOVD	VGIC_HCR(R0), R1
	MSR_X(ICH_HCR_EL2, 1)
	ISB	$15
	RET

// func saveVGIC(v *VGIC)
TEXT ·saveVGIC(SB),NOSPLIT,$0-8
	MOVD	v+0(FP), R0
	MRS_X(ICH_LR0_EL2, 1)
	MRS_X(ICH_LR1_EL2, 2)
	STP	(R1, R2), (VGIC_LR+0*8)(R0)
	MRS_X(ICH_LR2_EL2, 1)
	MRS_X(ICH_LR3_EL2, 2)
	STP	(R1, R2), (VGIC_LR+2*8)(R0)
	MRS_X(ICH_VMCR_EL2, 1)
	MRS_X(ICH_AP1R0_EL2, 2)
	MOVD	R1, VGIC_VMCR(R0)
	MOVD	R2, VGIC_AP1R0(R0)
	// The host has no virtual interface: En off, list registers cleared so
	// nothing of the guest's stays in them.
	MSR_X(ICH_HCR_EL2, 31)
	MSR_X(ICH_LR0_EL2, 31)
	MSR_X(ICH_LR1_EL2, 31)
	MSR_X(ICH_LR2_EL2, 31)
	MSR_X(ICH_LR3_EL2, 31)
	ISB	$15
	RET
