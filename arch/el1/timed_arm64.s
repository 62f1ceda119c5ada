//go:build tamago

#include "textflag.h"

// func TimedCalls(x *[8]uint64, n uint64) (ticks uint64)
TEXT ·TimedCalls(SB),NOSPLIT,$0-24
	MOVD	x+0(FP), R8
	MOVD	n+8(FP), R11
	ISB	$15
	MRS	CNTVCT_EL0, R9
loop:
	LDP	0(R8), (R0, R1)
	LDP	16(R8), (R2, R3)
	LDP	32(R8), (R4, R5)
	LDP	48(R8), (R6, R7)
	HVC	$0
	SUBS	$1, R11, R11
	BNE	loop
	ISB	$15
	MRS	CNTVCT_EL0, R10
	SUB	R9, R10, R10
	MOVD	R10, ticks+16(FP)
	RET

// func VirtualCount() uint64
TEXT ·VirtualCount(SB),NOSPLIT,$0-8
	ISB	$15
	MRS	CNTVCT_EL0, R0
	MOVD	R0, ret+0(FP)
	RET
