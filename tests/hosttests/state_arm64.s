//go:build tamago

#include "textflag.h"

// func readHostEL1(out *hostEL1)
TEXT ·readHostEL1(SB),NOSPLIT,$0-8
	MOVD	out+0(FP), R0
	MRS	TPIDRRO_EL0, R1
	MRS	CONTEXTIDR_EL1, R2
	STP	(R1, R2), 0(R0)
	MRS	TPIDR_EL0, R1
	MRS	AFSR0_EL1, R2
	STP	(R1, R2), 16(R0)
	MRS	AFSR1_EL1, R1
	MRS	PAR_EL1, R2
	STP	(R1, R2), 32(R0)
	MRS	CNTV_CVAL_EL0, R1
	MRS	CNTV_CTL_EL0, R2
	STP	(R1, R2), 48(R0)
	MRS	CSSELR_EL1, R1
	MRS	AMAIR_EL1, R2
	STP	(R1, R2), 64(R0)
	MRS	MAIR_EL1, R1
	MRS	TCR_EL1, R2
	STP	(R1, R2), 80(R0)
	MRS	TTBR0_EL1, R1
	MRS	TTBR1_EL1, R2
	STP	(R1, R2), 96(R0)
	MRS	VBAR_EL1, R1
	MRS	CNTKCTL_EL1, R2
	STP	(R1, R2), 112(R0)
	MRS	TPIDR_EL1, R1
	MRS	SCTLR_EL1, R2
	STP	(R1, R2), 128(R0)
	MRS	CPACR_EL1, R1
	MOVD	R1, 144(R0)
	RET

// func fpCall(x *[8]uint64, in, out *fpFile)
//
// fpCall loads V0-V31, FPCR and FPSR from in and x0-x7 from x, makes the
// call (HVC #0), and stores x0-x7 into x and the FP/SIMD state into out,
// with no Go code in between.
TEXT ·fpCall(SB),NOSPLIT,$0-24
	MOVD	in+8(FP), R9
	LDP	512(R9), (R10, R11)
	MSR	R10, FPCR
	MSR	R11, FPSR
	VLD1.P	64(R9), [V0.D2, V1.D2, V2.D2, V3.D2]
	VLD1.P	64(R9), [V4.D2, V5.D2, V6.D2, V7.D2]
	VLD1.P	64(R9), [V8.D2, V9.D2, V10.D2, V11.D2]
	VLD1.P	64(R9), [V12.D2, V13.D2, V14.D2, V15.D2]
	VLD1.P	64(R9), [V16.D2, V17.D2, V18.D2, V19.D2]
	VLD1.P	64(R9), [V20.D2, V21.D2, V22.D2, V23.D2]
	VLD1.P	64(R9), [V24.D2, V25.D2, V26.D2, V27.D2]
	VLD1.P	64(R9), [V28.D2, V29.D2, V30.D2, V31.D2]
	MOVD	x+0(FP), R8
	LDP	0(R8), (R0, R1)
	LDP	16(R8), (R2, R3)
	LDP	32(R8), (R4, R5)
	LDP	48(R8), (R6, R7)
	HVC	$0
	MOVD	x+0(FP), R8
	STP	(R0, R1), 0(R8)
	STP	(R2, R3), 16(R8)
	STP	(R4, R5), 32(R8)
	STP	(R6, R7), 48(R8)
	MOVD	out+16(FP), R9
	MRS	FPCR, R10
	MRS	FPSR, R11
	STP	(R10, R11), 512(R9)
	VST1.P	[V0.D2, V1.D2, V2.D2, V3.D2], 64(R9)
	VST1.P	[V4.D2, V5.D2, V6.D2, V7.D2], 64(R9)
	VST1.P	[V8.D2, V9.D2, V10.D2, V11.D2], 64(R9)
	VST1.P	[V12.D2, V13.D2, V14.D2, V15.D2], 64(R9)
	VST1.P	[V16.D2, V17.D2, V18.D2, V19.D2], 64(R9)
	VST1.P	[V20.D2, V21.D2, V22.D2, V23.D2], 64(R9)
	VST1.P	[V24.D2, V25.D2, V26.D2, V27.D2], 64(R9)
	VST1.P	[V28.D2, V29.D2, V30.D2, V31.D2], 64(R9)
	RET

// func pmuStart()
//
// pmuStart programs the PMU as a host that wants to watch a guest would
// (Arm ARM D13): event counter 0 counts INST_RETIRED (0x08) at EL1 and
// EL0, the cycle counter runs, both enabled. On the engine every one of
// these writes traps and is ignored.
TEXT ·pmuStart(SB),NOSPLIT,$0
	MOVD	$0x08, R0
	MSR	R0, PMEVTYPER0_EL0
	MSR	ZR, PMCCFILTR_EL0
	MOVD	$(1<<31 | 1), R0
	MSR	R0, PMCNTENSET_EL0
	MOVD	$(1 | 1<<1 | 1<<2), R0	// E, P (reset events), C (reset cycles)
	MSR	R0, PMCR_EL0
	ISB	$15
	RET

// func pmuRead() (cycles, event0 uint64)
TEXT ·pmuRead(SB),NOSPLIT,$0-16
	ISB	$15
	MRS	PMCCNTR_EL0, R0
	MRS	PMEVCNTR0_EL0, R1
	MOVD	R0, cycles+0(FP)
	MOVD	R1, event0+8(FP)
	RET
