//go:build tamago

#include "go_asm.h"
#include "textflag.h"
#include "../arm64/sysreg.h"
#include "vectors.h"
#include "fp.h"

// The engine's vector table (VECTOR_TABLE in vectors.h). Exceptions from
// EL1 and EL0 save the EL1 context into the Context that TPIDR_EL2 points
// at and return from run, except the calls fastSync answers in place;
// exceptions taken at EL2 itself mean the engine is broken: they print the
// syndrome and power off, without running Go.

// FAST_SYNC: a synchronous exception from AArch64 EL1 or EL0: save x0 and
// x1 on the engine's stack and try fastSync.
#define FAST_SYNC \
	STP.W	(R0, R1), -16(RSP); \
	B	·fastSync(SB)

TEXT ·vectors(SB),NOSPLIT|NOFRAME,$0
	VECTOR_TABLE(FAST_SYNC)

// fastSync answers an HVC #0 whose function id and caller kind have an
// entry in fastTable (fast.go) from that entry, and returns to the caller
// with only the entry's result registers changed; anything else leaves
// through lowerExit. x0 and x1 are on the stack; it saves x2 and x3 too,
// and uses only those four.
TEXT ·fastSync(SB),NOSPLIT|NOFRAME,$0
	MRS_X(ESR_EL2, 1)
	MOVD	$const_FastHVC, R0
	CMP	R0, R1
	BNE	full
	STP.W	(R2, R3), -16(RSP)
	// The key: w0 and the caller kind, FastGuest while HCR_EL2.IMO (bit
	// 4) is set, as only GuestHCR sets it, else FastHost.
	MRS_X(HCR_EL2, 1)
	UBFX	$4, R1, $1, R1
	ADD	$const_FastHost, R1
	MOVWU	16(RSP), R0
	ORR	R1<<32, R0, R0
	// The slot, as FastSlot computes it: (key ^ key>>8 ^ key>>29) & 15.
	// Addresses are formed in the saved registers themselves: a load from
	// a symbol would use R27 (REGTMP), the caller's x27.
	EOR	R0>>8, R0, R1
	EOR	R0>>29, R1, R1
	AND	$(const_FastSlots-1), R1
	MOVD	$·fastTable(SB), R2
	MOVD	$FastAnswer__size, R3
	MADD	R1, R2, R3, R2
	MOVD	FastAnswer_Key(R2), R1
	CMP	R1, R0
	BNE	miss

hit:
	// Stack: x2, x3, x0, x1. Each result the entry writes replaces the
	// caller's value in its slot, then all four come back.
	MOVD	FastAnswer_Hits(R2), R1
	ADD	$1, R1
	MOVD	R1, FastAnswer_Hits(R2)
	MOVD	FastAnswer_Write(R2), R3
	TBZ	$0, R3, keep0
	MOVD	(FastAnswer_X+0*8)(R2), R1
	MOVD	R1, 16(RSP)

keep0:
	TBZ	$1, R3, keep1
	MOVD	(FastAnswer_X+1*8)(R2), R1
	MOVD	R1, 24(RSP)

keep1:
	TBZ	$2, R3, keep2
	MOVD	(FastAnswer_X+2*8)(R2), R1
	MOVD	R1, 0(RSP)

keep2:
	TBZ	$3, R3, keep3
	MOVD	(FastAnswer_X+3*8)(R2), R1
	MOVD	R1, 8(RSP)

keep3:
	LDP.P	16(RSP), (R2, R3)
	LDP.P	16(RSP), (R0, R1)
	ERET

miss:
	LDP.P	16(RSP), (R2, R3)

full:
	MOVD	$const_VectorSync, R1
	B	·lowerExit(SB)

// lowerExit saves the EL1 context (x0 and x1 are on the stack, x1 holds the
// vector kind): its general registers where Context_Regs points, its FP/SIMD file before any Go code can use a V register,
// and returns from run to the engine, which runs with the default FPCR
// (round to nearest, no flush to zero).
TEXT ·lowerExit(SB),NOSPLIT|NOFRAME,$0
	MRS_X(TPIDR_EL2, 0)
	MOVD	R1, Context_Vector(R0)
	MOVD	Context_Regs(R0), R1
	STP	(R2, R3), (2*8)(R1)
	STP	(R4, R5), (4*8)(R1)
	STP	(R6, R7), (6*8)(R1)
	STP	(R8, R9), (8*8)(R1)
	STP	(R10, R11), (10*8)(R1)
	STP	(R12, R13), (12*8)(R1)
	STP	(R14, R15), (14*8)(R1)
	STP	(R16, R17), (16*8)(R1)
	STP	(R18_PLATFORM, R19), (18*8)(R1)
	STP	(R20, R21), (20*8)(R1)
	STP	(R22, R23), (22*8)(R1)
	STP	(R24, R25), (24*8)(R1)
	STP	(R26, R27), (26*8)(R1)
	STP	(g, R29), (28*8)(R1)
	MOVD	R30, (30*8)(R1)
	LDP.P	16(RSP), (R2, R3)
	STP	(R2, R3), (0*8)(R1)
	MRS_X(SP_EL1, 1)
	MRS_X(ELR_EL2, 2)
	MOVD	R1, Context_SP(R0)
	MOVD	R2, Context_PC(R0)
	MRS_X(SPSR_EL2, 1)
	MRS_X(ESR_EL2, 2)
	MOVD	R1, Context_PSTATE(R0)
	MOVD	R2, Context_ESR(R0)
	MRS_X(FAR_EL2, 1)
	MRS_X(HPFAR_EL2, 2)
	MOVD	R1, Context_FAR(R0)
	MOVD	R2, Context_HPFAR(R0)
	MOVD	Context_FP(R0), R3
	CBZ	R3, fpsaved
	FP_SAVE(R3, R4, R5)
	MSR	ZR, FPCR

fpsaved:
	B	·takeBaton(SB)

// takeBaton returns to Go on this CPU, whose context R0 holds its exit: a
// CPU that entered EL1 through run kept the baton (baton.go), and returns
// from run with the frame it left in saved; otherwise it takes a ticket,
// waits until the baton serves it, becomes the owner (Context_CPU is its
// slot), and returns from the call that freed the baton with the frame
// left in theBaton (an idle CPU's runReleasing). The exclusive load of
// Serving arms the monitor, so the release by another CPU ends the WFE
// (Arm ARM D1.16.1, the global monitor event); SEVL makes the first WFE
// fall through.
TEXT ·takeBaton(SB),NOSPLIT|NOFRAME,$0
	MOVD	Context_CPU(R0), R4
	MOVD	$·theBaton(SB), R1
	ADD	$baton_Owner, R1, R2
	LDAR	(R2), R3
	CMP	R3, R4
	BNE	queue
	MOVD	$·saved(SB), R1
	LDP	0(R1), (R2, g)
	MOVD	R2, RSP
	LDP	16(R1), (R29, R30)
	RET

queue:
	ADD	$baton_Ticket, R1, R2

ticket:
	LDAXR	(R2), R3
	ADD	$1, R3, R5
	STXR	R5, (R2), R6
	CBNZ	R6, ticket
	ADD	$baton_Serving, R1, R2
	SEVL

wait:
	WFE
	LDAXR	(R2), R5
	CMP	R5, R3
	BNE	wait
	MOVD	R4, baton_Owner(R1)
	LDP	baton_SP(R1), (R2, g)
	MOVD	R2, RSP
	LDP	baton_FP(R1), (R29, R30)
	RET

// func run(ctx *Context)
//
// run keeps the baton and enters ctx (enter); it returns when this CPU
// takes an exception to EL2.
TEXT ·run(SB),NOSPLIT|NOFRAME,$0-8
	MOVD	ctx+0(FP), R0
	MOVD	$·saved(SB), R1
	MOVD	RSP, R2
	STP	(R2, g), 0(R1)
	STP	(R29, R30), 16(R1)
	B	enter<>(SB)

// func runReleasing(ctx *Context)
//
// runReleasing leaves its frame in theBaton, frees the baton for the next
// CPU in the queue (batonRelease), and enters ctx (enter). The call
// returns on whichever CPU the baton serves next (takeBaton), with that
// CPU's exit in the context its TPIDR_EL2 names. enter uses no stack, so
// another CPU may run Go on this frame's stack as soon as the baton is
// free.
TEXT ·runReleasing(SB),NOSPLIT|NOFRAME,$0-8
	MOVD	ctx+0(FP), R0
	MOVD	R0, R7
	MOVD	R30, R3
	BL	·batonRelease(SB)
	MOVD	R7, R0
	B	enter<>(SB)

// enter loads ctx (R0): TPIDR_EL2 names it for lowerExit, the stack
// pointer becomes the CPU's own exception stack (Context_Stack: the
// vectors push x0 and x1 there, never on a Go stack another CPU may be
// using), then its FP/SIMD file (when it has one), its stack pointer,
// return state and general registers (from where Context_Regs points),
// and ERET.
TEXT enter<>(SB),NOSPLIT|NOFRAME,$0
	MSR_X(TPIDR_EL2, 0)
	MOVD	Context_Stack(R0), R1
	MOVD	R1, RSP

	MOVD	Context_SP(R0), R1
	MSR_X(SP_EL1, 1)
	MOVD	Context_PC(R0), R1
	MSR_X(ELR_EL2, 1)
	MOVD	Context_PSTATE(R0), R1
	MSR_X(SPSR_EL2, 1)
	MOVD	Context_FP(R0), R1
	CBZ	R1, fploaded
	FP_LOAD(R1, R2, R3)

fploaded:
	// DSB ISH: every stage-2 descriptor the engine wrote since the last
	// entry is complete before EL1 runs again and may walk it (Arm ARM
	// D8.13.1, "Using break-before-make when updating translation table
	// entries", and B2.3.12: a DSB orders the table stores with the
	// translation table walks of later instructions; ERET is context
	// synchronizing but not a barrier for memory accesses).
	DSB	$0xb

	MOVD	Context_Regs(R0), R0
	LDP	(2*8)(R0), (R2, R3)
	LDP	(4*8)(R0), (R4, R5)
	LDP	(6*8)(R0), (R6, R7)
	LDP	(8*8)(R0), (R8, R9)
	LDP	(10*8)(R0), (R10, R11)
	LDP	(12*8)(R0), (R12, R13)
	LDP	(14*8)(R0), (R14, R15)
	LDP	(16*8)(R0), (R16, R17)
	LDP	(18*8)(R0), (R18_PLATFORM, R19)
	LDP	(20*8)(R0), (R20, R21)
	LDP	(22*8)(R0), (R22, R23)
	LDP	(24*8)(R0), (R24, R25)
	LDP	(26*8)(R0), (R26, R27)
	LDP	(28*8)(R0), (g, R29)
	MOVD	(30*8)(R0), R30
	LDP	(0*8)(R0), (R0, R1)
	ERET
