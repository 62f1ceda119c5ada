//go:build tamago

#include "textflag.h"
#include "sysreg.h"

// func Counter() uint64
TEXT ·Counter(SB),NOSPLIT,$0-8
	// D19.12.20 CNTPCT_EL0: ISB first so the read is not hoisted.
	ISB	$15
	MRS	CNTPCT_EL0, R0
	MOVD	R0, ret+0(FP)
	RET

// func CounterFrequency() uint64
TEXT ·CounterFrequency(SB),NOSPLIT,$0-8
	// D19.12.2 CNTFRQ_EL0
	MRS	CNTFRQ_EL0, R0
	MOVD	R0, ret+0(FP)
	RET

// func CurrentEL() uint64
TEXT ·CurrentEL(SB),NOSPLIT,$0-8
	MRS	CurrentEL, R0
	LSR	$2, R0, R0
	AND	$3, R0, R0
	MOVD	R0, ret+0(FP)
	RET

// func DataSyncBarrier()
TEXT ·DataSyncBarrier(SB),NOSPLIT,$0
	DSB	$0xf	// DSB SY
	RET

// func InstructionSyncBarrier()
TEXT ·InstructionSyncBarrier(SB),NOSPLIT,$0
	ISB	$15
	RET

// func CleanInvalidateDataLine(addr uint64)
TEXT ·CleanInvalidateDataLine(SB),NOSPLIT,$0-8
	MOVD	addr+0(FP), R0
	DC	CIVAC, R0
	RET

// func cleanInvalidateDataLines(start, end, step uint64)
TEXT ·cleanInvalidateDataLines(SB),NOSPLIT,$0-24
	MOVD	start+0(FP), R0
	MOVD	end+8(FP), R1
	MOVD	step+16(FP), R2
lines:
	CMP	R1, R0
	BHS	linesDone	// start >= end, unsigned
	DC	CIVAC, R0
	ADD	R2, R0, R0
	B	lines
linesDone:
	RET

// func InvalidateInstructionCache()
//
// IC IALLUIS: every CPU of the Inner Shareable domain, since a CPU other
// than the one that wrote the code may fetch it next (Arm ARM D7.5.9).
TEXT ·InvalidateInstructionCache(SB),NOSPLIT,$0
	SYS_X(IC_IALLUIS, 31)	// ic ialluis
	DSB	$0xb		// DSB ISH
	ISB	$15
	RET

// func WaitForInterrupt()
TEXT ·WaitForInterrupt(SB),NOSPLIT,$0
	WFI
	RET

// func SMC(fid, a1, a2, a3 uint64) (r0, r1, r2, r3 uint64)
TEXT ·SMC(SB),NOSPLIT,$0-64
	MOVD	fid+0(FP), R0
	MOVD	a1+8(FP), R1
	MOVD	a2+16(FP), R2
	MOVD	a3+24(FP), R3
	SMC	$0
	MOVD	R0, r0+32(FP)
	MOVD	R1, r1+40(FP)
	MOVD	R2, r2+48(FP)
	MOVD	R3, r3+56(FP)
	RET

// func HVC(x *[8]uint64)
TEXT ·HVC(SB),NOSPLIT,$0-8
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
	RET

// func readCTR() uint64
TEXT ·readCTR(SB),NOSPLIT,$0-8
	MRS	CTR_EL0, R0	// D19.2.34
	MOVD	R0, ret+0(FP)
	RET
