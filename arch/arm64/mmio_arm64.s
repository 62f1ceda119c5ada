//go:build tamago

#include "textflag.h"

// func Read8(addr uint64) uint8
TEXT ·Read8(SB),NOSPLIT,$0-9
	MOVD	addr+0(FP), R0
	MOVBU	(R0), R1
	MOVB	R1, ret+8(FP)
	RET

// func Read16(addr uint64) uint16
TEXT ·Read16(SB),NOSPLIT,$0-10
	MOVD	addr+0(FP), R0
	MOVHU	(R0), R1
	MOVH	R1, ret+8(FP)
	RET

// func Read32(addr uint64) uint32
TEXT ·Read32(SB),NOSPLIT,$0-12
	MOVD	addr+0(FP), R0
	MOVWU	(R0), R1
	MOVW	R1, ret+8(FP)
	RET

// func Read64(addr uint64) uint64
TEXT ·Read64(SB),NOSPLIT,$0-16
	MOVD	addr+0(FP), R0
	MOVD	(R0), R1
	MOVD	R1, ret+8(FP)
	RET

// func Write8(addr uint64, val uint8)
TEXT ·Write8(SB),NOSPLIT,$0-9
	MOVD	addr+0(FP), R0
	MOVBU	val+8(FP), R1
	MOVB	R1, (R0)
	RET

// func Write16(addr uint64, val uint16)
TEXT ·Write16(SB),NOSPLIT,$0-10
	MOVD	addr+0(FP), R0
	MOVHU	val+8(FP), R1
	MOVH	R1, (R0)
	RET

// func Write32(addr uint64, val uint32)
TEXT ·Write32(SB),NOSPLIT,$0-12
	MOVD	addr+0(FP), R0
	MOVWU	val+8(FP), R1
	MOVW	R1, (R0)
	RET

// func Write64(addr uint64, val uint64)
TEXT ·Write64(SB),NOSPLIT,$0-16
	MOVD	addr+0(FP), R0
	MOVD	val+8(FP), R1
	MOVD	R1, (R0)
	RET
