//go:build tamago

#include "textflag.h"

// func loop(n int, delta, limit uint64, wfi bool, lat, iar *uint64)
//
// GICv3 CPU interface (IHI 0069 12.2; in a VM the ICV_* view): every
// priority unmasked (ICC_PMR_EL1), group 1 enabled (ICC_IGRPEN1_EL1). The
// timer (Arm ARM D11.2.4): CNTV_CVAL_EL0 the deadline, CNTV_CTL_EL0.ENABLE.
TEXT ·loop(SB),NOSPLIT,$0-48
	MOVD	n+0(FP), R0
	MOVD	delta+8(FP), R1
	MOVD	limit+16(FP), R2
	MOVBU	wfi+24(FP), R3
	MOVD	lat+32(FP), R4
	MOVD	iar+40(FP), R5
	MRS	DAIF, R15
	MSR	$2, DAIFSet
	MOVD	$0xff, R6
	MSR	R6, ICC_PMR_EL1
	MOVD	$1, R6
	MSR	R6, ICC_IGRPEN1_EL1
	ISB	$15
next:
	ISB	$15
	MRS	CNTVCT_EL0, R7
	ADD	R1, R7, R8		// the deadline
	ADD	R2, R8, R9		// when to give up
	MSR	R8, CNTV_CVAL_EL0
	MOVD	$1, R6
	MSR	R6, CNTV_CTL_EL0
	ISB	$15
wait:
	CBZ	R3, check
	WFI
check:
	ISB	$15
	MRS	ISR_EL1, R10
	MRS	CNTVCT_EL0, R11
	TBNZ	$7, R10, woken
	CMP	R9, R11
	BLO	wait
	MOVD	$-1, R11		// TimedOut
	MOVD	R11, (R4)
	MOVD	$1023, R12
	B	disarm
woken:
	SUB	R8, R11, R11
	MOVD	R11, (R4)
	MRS	ICC_IAR1_EL1, R12
disarm:
	MSR	ZR, CNTV_CTL_EL0
	ISB	$15
	MOVD	R12, (R5)
	CMP	$1020, R12
	BHS	done
	MSR	R12, ICC_EOIR1_EL1
done:
	ADD	$8, R4
	ADD	$8, R5
	SUBS	$1, R0
	BNE	next
	MSR	R15, DAIF
	RET
