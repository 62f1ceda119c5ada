//go:build tamago

#include "textflag.h"
#include "../arm64/sysreg.h"

// func writeHCR(val uint64)
TEXT ·writeHCR(SB),NOSPLIT,$0-8
	MOVD	val+0(FP), R0
	MSR_X(HCR_EL2, 0)	// D19.2.48
	ISB	$15
	RET

// func writeVTCR(val uint64)
TEXT ·writeVTCR(SB),NOSPLIT,$0-8
	MOVD	val+0(FP), R0
	MSR_X(VTCR_EL2, 0)	// D19.2.163
	ISB	$15
	RET

// func writeVTTBR(val uint64)
TEXT ·writeVTTBR(SB),NOSPLIT,$0-8
	MOVD	val+0(FP), R0
	MSR_X(VTTBR_EL2, 0)	// D19.2.164
	ISB	$15
	RET

// func readVTTBR() uint64
TEXT ·readVTTBR(SB),NOSPLIT,$0-8
	MRS_X(VTTBR_EL2, 0)
	MOVD	R0, ret+0(FP)
	RET

// func readVBAREL1() uint64
TEXT ·readVBAREL1(SB),NOSPLIT,$0-8
	MRS	VBAR_EL1, R0
	MOVD	R0, ret+0(FP)
	RET

// func writeSCTLREL1(val uint64)
TEXT ·writeSCTLREL1(SB),NOSPLIT,$0-8
	MOVD	val+0(FP), R0
	MSR	R0, SCTLR_EL1
	ISB	$15
	RET

// func writeEL1Exception(esr, far, elr, spsr uint64)
TEXT ·writeEL1Exception(SB),NOSPLIT,$0-32
	MOVD	esr+0(FP), R0
	MOVD	far+8(FP), R1
	MOVD	elr+16(FP), R2
	MOVD	spsr+24(FP), R3
	MSR	R0, ESR_EL1
	MSR	R1, FAR_EL1
	MSR	R2, ELR_EL1
	MSR	R3, SPSR_EL1
	RET

// func tlbiIPA(ipa uint64)
TEXT ·tlbiIPA(SB),NOSPLIT,$0-8
	MOVD	ipa+0(FP), R0
	LSR	$12, R0, R0	// TLBI IPAS2E1IS takes IPA[51:12]
	DSB	$0xa		// DSB ISHST: table writes before the invalidation
	SYS_X(TLBI_IPAS2E1IS, 0)
	RET

// func tlbiVMIDIPAFinish()
TEXT ·tlbiVMIDIPAFinish(SB),NOSPLIT,$0
	DSB	$0xb		// DSB ISH
	TLBI	VMALLE1IS
	DSB	$0xb
	ISB	$15
	RET

// func tlbiVMID()
TEXT ·tlbiVMID(SB),NOSPLIT,$0
	DSB	$0xa
	SYS_X(TLBI_VMALLS12E1IS, 31)
	DSB	$0xb
	ISB	$15
	RET

// func blockEL1Walks() (tcr uint64)
TEXT ·blockEL1Walks(SB),NOSPLIT,$0-8
	// D19.2.139 TCR_EL1: EPD0 (bit 7) and EPD1 (bit 23) make a TLB miss
	// through TTBR0_EL1 or TTBR1_EL1 fault instead of walking.
	MRS	TCR_EL1, R0
	MOVD	R0, tcr+0(FP)
	ORR	$(1<<7 | 1<<23), R0, R1
	MSR	R1, TCR_EL1
	ISB	$15
	RET

// func writeTCREL1(tcr uint64)
TEXT ·writeTCREL1(SB),NOSPLIT,$0-8
	MOVD	tcr+0(FP), R0
	MSR	R0, TCR_EL1
	ISB	$15
	RET
