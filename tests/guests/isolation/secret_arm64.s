//go:build tamago

#include "textflag.h"

// func callKeepingSecret(id, secret uint64) (x0, changed uint64)
//
// callKeepingSecret fills x8-x17 and d0-d7 with secret, makes the call id
// over HVC with x1-x7 zero, and counts how many of those registers no
// longer hold secret afterwards. Registers the call does not use for
// results are preserved (SMCCC 1.2, section 2.6); the engine keeps them in
// its own memory while the hypervisor handles the exit, and the hypervisor
// learns only the id and x1-x5 (DESIGN.md section 3, exit CALL).
TEXT ·callKeepingSecret(SB),NOSPLIT,$0-32
	MOVD	secret+8(FP), R8
	MOVD	R8, R9
	MOVD	R8, R10
	MOVD	R8, R11
	MOVD	R8, R12
	MOVD	R8, R13
	MOVD	R8, R14
	MOVD	R8, R15
	MOVD	R8, R16
	MOVD	R8, R17
	FMOVD	R8, F0
	FMOVD	R8, F1
	FMOVD	R8, F2
	FMOVD	R8, F3
	FMOVD	R8, F4
	FMOVD	R8, F5
	FMOVD	R8, F6
	FMOVD	R8, F7
	MOVD	id+0(FP), R0
	MOVD	ZR, R1
	MOVD	ZR, R2
	MOVD	ZR, R3
	MOVD	ZR, R4
	MOVD	ZR, R5
	MOVD	ZR, R6
	MOVD	ZR, R7
	HVC	$0
	MOVD	R0, x0+16(FP)
	MOVD	secret+8(FP), R19
	MOVD	ZR, R20
#define CHECK(r) CMP R19, r; CINC NE, R20, R20
#define CHECKF(f) FMOVD f, R21; CMP R19, R21; CINC NE, R20, R20
	CHECK(R8)
	CHECK(R9)
	CHECK(R10)
	CHECK(R11)
	CHECK(R12)
	CHECK(R13)
	CHECK(R14)
	CHECK(R15)
	CHECK(R16)
	CHECK(R17)
	CHECKF(F0)
	CHECKF(F1)
	CHECKF(F2)
	CHECKF(F3)
	CHECKF(F4)
	CHECKF(F5)
	CHECKF(F6)
	CHECKF(F7)
	MOVD	R20, changed+24(FP)
	RET
