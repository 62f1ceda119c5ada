//go:build tamago && bulkhead_bench

#include "go_asm.h"
#include "textflag.h"
#include "../arm64/sysreg.h"
#include "vectors.h"

// The baseline lower-EL synchronous entry (Arm ARM D1.10.2): compare x0
// with BENCH_NULL, using the stack for scratch so every register is
// preserved, and ERET. Anything else continues in baselineMore.
#define BASELINE_SYNC \
	STP.W	(R1, R2), -16(RSP); \
	MOVD	$const_benchNull, R1; \
	CMP	R1, R0; \
	BNE	3(PC); \
	LDP.P	16(RSP), (R1, R2); \
	ERET; \
	B	·baselineMore(SB)

TEXT ·benchVectors(SB),NOSPLIT|NOFRAME,$0
	VECTOR_TABLE(BASELINE_SYNC)

// baselineMore: x1, x2 are on the stack and x0 is not BENCH_NULL. It is
// BENCH_SWITCH, or a call for the engine's own path.
TEXT ·baselineMore(SB),NOSPLIT|NOFRAME,$0
	MOVD	$const_benchSwitch, R1
	CMP	R1, R0
	LDP.P	16(RSP), (R1, R2)
	BNE	2(PC)
	B	·baselineSwitch(SB)
	LOWER(const_VectorSync)

// GPR save and restore of a context, as lowerExit and run do (g holds the
// base, so it is the one register not moved).
#define SAVE_GPRS(base) \
	STP	(R0, R1), (base+0*8)(g); \
	STP	(R2, R3), (base+2*8)(g); \
	STP	(R4, R5), (base+4*8)(g); \
	STP	(R6, R7), (base+6*8)(g); \
	STP	(R8, R9), (base+8*8)(g); \
	STP	(R10, R11), (base+10*8)(g); \
	STP	(R12, R13), (base+12*8)(g); \
	STP	(R14, R15), (base+14*8)(g); \
	STP	(R16, R17), (base+16*8)(g); \
	STP	(R18_PLATFORM, R19), (base+18*8)(g); \
	STP	(R20, R21), (base+20*8)(g); \
	STP	(R22, R23), (base+22*8)(g); \
	STP	(R24, R25), (base+24*8)(g); \
	STP	(R26, R27), (base+26*8)(g); \
	STP	(R29, R30), (base+28*8)(g)

#define LOAD_GPRS(base) \
	LDP	(base+0*8)(g), (R0, R1); \
	LDP	(base+2*8)(g), (R2, R3); \
	LDP	(base+4*8)(g), (R4, R5); \
	LDP	(base+6*8)(g), (R6, R7); \
	LDP	(base+8*8)(g), (R8, R9); \
	LDP	(base+10*8)(g), (R10, R11); \
	LDP	(base+12*8)(g), (R12, R13); \
	LDP	(base+14*8)(g), (R14, R15); \
	LDP	(base+16*8)(g), (R16, R17); \
	LDP	(base+18*8)(g), (R18_PLATFORM, R19); \
	LDP	(base+20*8)(g), (R20, R21); \
	LDP	(base+22*8)(g), (R22, R23); \
	LDP	(base+24*8)(g), (R24, R25); \
	LDP	(base+26*8)(g), (R26, R27); \
	LDP	(base+28*8)(g), (R29, R30)

// CALL1(fn, offset) calls fn(&benchWorld + offset) with the ABI0 argument slot
// at 8(RSP) of a 32-byte frame the caller set up.
#define CALL1(fn, field) \
	MOVD	$·benchWorld(SB), R0; \
	ADD	$field, R0; \
	MOVD	R0, 8(RSP); \
	BL	fn(SB)

// WRITE_CONTROLS writes what a switch writes: HCR, MDCR, CNTHCTL, VMPIDR
// and VTTBR (values that keep the host's configuration), then an ISB.
#define WRITE_CONTROLS \
	MOVD	$·benchWorld(SB), g; \
	MOVD	benchState_hcr(g), R0; \
	MSR_X(HCR_EL2, 0); \
	MRS_X(MDCR_EL2, 0); \
	MSR_X(MDCR_EL2, 0); \
	MRS_X(CNTHCTL_EL2, 0); \
	MSR_X(CNTHCTL_EL2, 0); \
	MRS	MPIDR_EL1, R0; \
	MSR_X(VMPIDR_EL2, 0); \
	MOVD	benchState_vttbr(g), R0; \
	MSR_X(VTTBR_EL2, 0); \
	ISB	$15

// baselineSwitch performs, in assembly and with no Go, the state work of a
// guest round trip (what World.EnterGuest, run and lowerExit do): the host's
// registers and FP file out, the guest's EL1 file, FP file and registers
// in, the controls written, then everything back the other way, the
// host's FP file last; then it returns to the caller. Only the guest's own
// instructions and the engine's decisions are missing.
TEXT ·baselineSwitch(SB),NOSPLIT|NOFRAME,$0
	STP.W	(g, R30), -16(RSP)
	MOVD	$·benchWorld(SB), g
	ADD	$benchState_hostRegs, g
	SAVE_GPRS(0)
	SUB	$32, RSP
	CALL1(·saveFP, benchState_hostfp)
	CALL1(·saveEL1, benchState_host)
	CALL1(·loadEL1, benchState_guest)
	CALL1(·loadFP, benchState_fp)
	WRITE_CONTROLS
	MOVD	$·benchWorld(SB), g
	ADD	$benchState_guestRegs, g
	LOAD_GPRS(0)
	MOVD	$·benchWorld(SB), g
	ADD	$benchState_guestRegs, g
	SAVE_GPRS(0)
	CALL1(·saveEL1, benchState_guest)
	CALL1(·saveFP, benchState_fp)
	WRITE_CONTROLS
	CALL1(·loadEL1, benchState_host)
	CALL1(·loadFP, benchState_hostfp)
	ADD	$32, RSP
	MOVD	$·benchWorld(SB), g
	ADD	$benchState_hostRegs, g
	LOAD_GPRS(0)
	LDP.P	16(RSP), (g, R30)
	ERET

// func installVectors(table uint64)
TEXT ·installVectors(SB),NOSPLIT,$0-8
	MOVD	table+0(FP), R0
	MSR_X(VBAR_EL2, 0)
	ISB	$15
	RET

// func engineVectorsAddr() uint64
TEXT ·engineVectorsAddr(SB),NOSPLIT,$0-8
	MOVD	$·vectors(SB), R0
	MOVD	R0, ret+0(FP)
	RET

// func benchVectorsAddr() uint64
TEXT ·benchVectorsAddr(SB),NOSPLIT,$0-8
	MOVD	$·benchVectors(SB), R0
	MOVD	R0, ret+0(FP)
	RET
