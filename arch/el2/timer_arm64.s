//go:build tamago

#include "textflag.h"
#include "../arm64/sysreg.h"

// The physical GIC CPU interface at EL2 (IHI 0069 12.2) and the list
// registers one at a time, for DeliverTimer (timer.go). ICC_CTLR_EL1.EOImode
// (bit 1) applies to EL2 on a CPU without EL3 (IHI 0069 12.2.6): it is
// set only around the priority drop or deactivation that needs it, and
// the host's value restored at once.

#define EOIMODE 2

// func readHPPIR1() uint64
TEXT ·readHPPIR1(SB),NOSPLIT,$0-8
	MRS	ICC_HPPIR1_EL1, R0
	MOVD	R0, ret+0(FP)
	RET

// func acknowledge1() uint64
TEXT ·acknowledge1(SB),NOSPLIT,$0-8
	MRS	ICC_IAR1_EL1, R0
	DSB	$15	// IHI 0069 12.1.6: the acknowledgement is seen before what follows
	MOVD	R0, ret+0(FP)
	RET

// func dropPriority1(intid uint64)
TEXT ·dropPriority1(SB),NOSPLIT,$0-8
	MOVD	intid+0(FP), R0
	MRS	ICC_CTLR_EL1, R1
	ORR	$EOIMODE, R1, R2
	MSR	R2, ICC_CTLR_EL1
	ISB	$15
	MSR	R0, ICC_EOIR1_EL1
	ISB	$15
	MSR	R1, ICC_CTLR_EL1
	ISB	$15
	RET

// func deactivate(intid uint64)
TEXT ·deactivate(SB),NOSPLIT,$0-8
	MOVD	intid+0(FP), R0
	MRS	ICC_CTLR_EL1, R1
	ORR	$EOIMODE, R1, R2
	MSR	R2, ICC_CTLR_EL1
	ISB	$15
	MSR	R0, ICC_DIR_EL1
	ISB	$15
	MSR	R1, ICC_CTLR_EL1
	ISB	$15
	RET

// func readLRs(lrs *[ListRegs]uint64)
TEXT ·readLRs(SB),NOSPLIT,$0-8
	MOVD	lrs+0(FP), R0
	MRS_X(ICH_LR0_EL2, 1)
	MRS_X(ICH_LR1_EL2, 2)
	STP	(R1, R2), 0(R0)
	MRS_X(ICH_LR2_EL2, 1)
	MRS_X(ICH_LR3_EL2, 2)
	STP	(R1, R2), 16(R0)
	RET

// func writeLR(i int, v uint64)
TEXT ·writeLR(SB),NOSPLIT,$0-16
	MOVD	i+0(FP), R0
	MOVD	v+8(FP), R1
	CMP	$0, R0
	BNE	not0
	MSR_X(ICH_LR0_EL2, 1)
	B	written
not0:
	CMP	$1, R0
	BNE	not1
	MSR_X(ICH_LR1_EL2, 1)
	B	written
not1:
	CMP	$2, R0
	BNE	not2
	MSR_X(ICH_LR2_EL2, 1)
	B	written
not2:
	MSR_X(ICH_LR3_EL2, 1)
written:
	ISB	$15
	RET
