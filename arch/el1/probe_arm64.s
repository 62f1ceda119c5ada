//go:build tamago

#include "textflag.h"

// The EL1 vector table (Arm ARM D1.10.2, table D1-7). A synchronous
// exception whose ELR_EL1 is one of the two probe instructions resumes after
// it with R2 = ESR_EL1 and R3 = 0 (the probe's "ok"); anything else is fatal:
// nothing at EL1 expects an exception it did not ask for.

#define EL1_FAULT \
	MRS	ESR_EL1, R0; \
	MRS	ELR_EL1, R1; \
	MRS	FAR_EL1, R2; \
	MOVD	$'1', R3; \
	B	bulkhead∕arch∕arm64·Fatal(SB)

#define EL1_SYNC \
	B	·syncFixup(SB)

TEXT ·vectors(SB),NOSPLIT|NOFRAME,$0
	PCALIGN	$2048
	EL1_FAULT	// current EL, SP_EL0
	PCALIGN	$128
	EL1_FAULT
	PCALIGN	$128
	EL1_FAULT
	PCALIGN	$128
	EL1_FAULT
	PCALIGN	$128
	EL1_SYNC	// current EL, SP_ELx: synchronous
	PCALIGN	$128
	EL1_FAULT
	PCALIGN	$128
	EL1_FAULT
	PCALIGN	$128
	EL1_FAULT
	PCALIGN	$128
	EL1_FAULT	// lower EL, AArch64
	PCALIGN	$128
	EL1_FAULT
	PCALIGN	$128
	EL1_FAULT
	PCALIGN	$128
	EL1_FAULT
	PCALIGN	$128
	EL1_FAULT	// lower EL, AArch32
	PCALIGN	$128
	EL1_FAULT
	PCALIGN	$128
	EL1_FAULT
	PCALIGN	$128
	EL1_FAULT

// syncFixup uses only R2 and R3, which the probe instructions hand over as
// outputs, so the interrupted code's other registers are untouched.
TEXT ·syncFixup(SB),NOSPLIT|NOFRAME,$0
	MRS	ELR_EL1, R2
	MOVD	$·loadInsn(SB), R3
	CMP	R2, R3
	BEQ	fixup
	MOVD	$·storeInsn(SB), R3
	CMP	R2, R3
	BEQ	fixup
	EL1_FAULT
fixup:
	ADD	$4, R2
	MSR	R2, ELR_EL1
	MRS	ESR_EL1, R2
	MOVD	$0, R3
	ERET

// loadInsn and storeInsn are the two instructions a probe may fault on.
// In: R0 address, R1 value (store). Out: R1 value (load), R2 ESR, R3 ok.
TEXT ·loadInsn(SB),NOSPLIT|NOFRAME,$0
	MOVD	(R0), R1
	RET

TEXT ·storeInsn(SB),NOSPLIT|NOFRAME,$0
	MOVD	R1, (R0)
	RET

// func probeLoad(addr uint64) (val, esr uint64, ok bool)
TEXT ·probeLoad(SB),NOSPLIT,$0-25
	MOVD	addr+0(FP), R0
	MOVD	$0, R1
	MOVD	$0, R2
	MOVD	$1, R3
	BL	·loadInsn(SB)
	MOVD	R1, val+8(FP)
	MOVD	R2, esr+16(FP)
	MOVB	R3, ok+24(FP)
	RET

// func probeStore(addr, val uint64) (esr uint64, ok bool)
TEXT ·probeStore(SB),NOSPLIT,$0-25
	MOVD	addr+0(FP), R0
	MOVD	val+8(FP), R1
	MOVD	$0, R2
	MOVD	$1, R3
	BL	·storeInsn(SB)
	MOVD	R2, esr+16(FP)
	MOVB	R3, ok+24(FP)
	RET
