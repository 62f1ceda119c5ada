//go:build tamago

#include "go_asm.h"
#include "textflag.h"
#include "../arm64/baton.h"

// func handoff(to, me uint64)
//
// handoff gives the runtime's thread to the CPU in slot to and waits until
// some CPU gives it back to slot me; the call then returns on this CPU with
// the frame of that CPU's handoff call, so Go continues where the giver
// left it.
TEXT ·handoff(SB),NOSPLIT|NOFRAME,$0-16
	MOVD	to+0(FP), R0
	MOVD	me+8(FP), R4
	MOVD	R30, R3
	BL	batonGive<>(SB)
	B	·batonWait(SB)

// func handoffAndPowerOff(to uint64)
//
// handoffAndPowerOff gives the runtime's thread to the CPU in slot to and
// turns this CPU off.
TEXT ·handoffAndPowerOff(SB),NOSPLIT|NOFRAME,$0-8
	MOVD	to+0(FP), R0
	MOVD	R30, R3
	BL	batonGive<>(SB)
	B	powerOffCPU<>(SB)

// func releaseAndPowerOff()
//
// releaseAndPowerOff leaves its frame in theBaton, frees the baton for the
// next CPU in the queue (takeBaton), and turns this CPU off.
TEXT ·releaseAndPowerOff(SB),NOSPLIT|NOFRAME,$0-0
	MOVD	R30, R3
	BL	·batonRelease(SB)
	B	powerOffCPU<>(SB)

// powerOffCPU calls PSCI CPU_OFF (DEN0022 5.1.3), which does not return
// when it succeeds; the CPU comes back only through a new CPU_ON, at its
// entry. Should it return, the CPU waits for interrupts for good.
TEXT powerOffCPU<>(SB),NOSPLIT|NOFRAME,$0
	MOVW	$0x84000002, R0
	SMC	$0

park:
	WFI
	B	park

// batonGive saves the frame of the handoff call (SP, g, R29 and the call's
// return address, which the caller moved from R30 to R3 before its BL) and makes R0 the
// owner with a store-release, then signals an event so that a CPU in
// batonWait looks again (Arm ARM D1.16.1: SEV wakes WFE on every CPU).
// Clobbers R1-R3; leaves R2 = &theBaton.Owner.
TEXT batonGive<>(SB),NOSPLIT|NOFRAME,$0
	SAVE_FRAME
	ADD	$baton_Owner, R1, R2
	STLR	R0, (R2)
	SEV
	RET

// batonRelease saves the frame of the calling function (as batonGive,
// return address in R3), marks the baton free and serves the next ticket
// with a store-release, which also ends the WFE of a CPU waiting for it
// (its exclusive load armed the monitor: Arm ARM D1.16.1). Only the
// holder writes Serving. Clobbers R0-R3, R5.
TEXT ·batonRelease(SB),NOSPLIT|NOFRAME,$0
	SAVE_FRAME
	MOVD	$const_batonFree, R0
	MOVD	R0, baton_Owner(R1)
	MOVD	baton_Serving(R1), R5
	ADD	$1, R5
	ADD	$baton_Serving, R1, R2
	STLR	R5, (R2)
	SEV
	RET

// batonWait waits until the owner is R4, then loads the frame saved by the
// giver and returns from the giver's handoff call on this CPU. The wait is
// WFE: each SEV of a giver ends it, and SEVL first makes the first WFE fall
// through, so a handover before the first look is not missed.
TEXT ·batonWait(SB),NOSPLIT|NOFRAME,$0
	MOVD	$·theBaton(SB), R1
	ADD	$baton_Owner, R1, R2
	SEVL

wait:
	WFE
	LDAR	(R2), R0
	CMP	R0, R4
	BNE	wait
	MOVD	baton_SP(R1), R0
	MOVD	R0, RSP
	MOVD	baton_G(R1), g
	MOVD	baton_FP(R1), R29
	MOVD	baton_LR(R1), R30
	RET
