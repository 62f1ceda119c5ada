//go:build tamago

#include "textflag.h"

// func writeCNTP(tval, ctl uint64)
TEXT ·writeCNTP(SB),NOSPLIT,$0-16
	MOVD	tval+0(FP), R0
	MOVD	ctl+8(FP), R1
	MSR	R0, CNTP_TVAL_EL0	// D19.12.16
	MSR	R1, CNTP_CTL_EL0	// D19.12.14
	ISB	$15
	RET

// func enableICC()
TEXT ·enableICC(SB),NOSPLIT,$0
	// GICv3 12.2: system register interface (ICC_SRE_EL1.SRE), every
	// priority unmasked (ICC_PMR_EL1), group 1 enabled (ICC_IGRPEN1_EL1).
	MRS	ICC_SRE_EL1, R0
	ORR	$1, R0
	MSR	R0, ICC_SRE_EL1
	ISB	$15
	MOVD	$0xff, R0
	MSR	R0, ICC_PMR_EL1
	MOVD	$1, R0
	MSR	R0, ICC_IGRPEN1_EL1
	ISB	$15
	RET
