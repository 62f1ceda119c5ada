//go:build tamago

#include "go_asm.h"
#include "textflag.h"
#include "../arm64/sysreg.h"

// secondaryEntry is where a CPU the engine starts with PSCI CPU_ON begins:
// at EL2, MMU and caches off, interrupts masked, x0 = the CPU_ON context,
// the CPU's cpuStart record (DEN0022 6.4.3). It configures EL2 as cpuinit
// does on the boot CPU, except that the identity map already exists: the
// same HCR_EL2, CPTR_EL2, vector table and stage-1 (MAIR, TCR, TTBR0) and
// SCTLR_EL2 (Arm ARM D19.2). Once the MMU is on it takes its stack from
// the record, points TPIDR_EL2 at it, and reports in by storing its MPIDR
// affinity with bit 63 set into the record's Up with release semantics
// (the record is read only with the MMU on, through the same cacheable
// mapping as the boot CPU's, so no cache maintenance is needed). Then it
// waits for the baton, running no Go until it is handed the runtime.
TEXT ·secondaryEntry(SB),NOSPLIT|NOFRAME,$0
	MSR	$0xf, DAIFSet

	MOVD	$(1<<31), R1
	MSR_X(HCR_EL2, 1)
	MOVD	$0x33ff, R1
	MSR_X(CPTR_EL2, 1)
	MOVD	$·vectors(SB), R1
	MSR_X(VBAR_EL2, 1)

	MOVD	$MAIR_VALUE, R1
	MSR_X(MAIR_EL2, 1)
	MOVD	$TCR_VALUE, R1
	MSR_X(TCR_EL2, 1)
	MOVD	$const_stage1Table, R1
	MSR_X(TTBR0_EL2, 1)
	DSB	$0xf
	ISB	$15
	SYS_X(TLBI_ALLE2, 31)
	DSB	$0xf
	ISB	$15
	MOVD	$(0x30c50830 | 1<<0 | 1<<2 | 1<<12), R1
	MSR_X(SCTLR_EL2, 1)
	ISB	$15

	MOVD	cpuStart_Stack(R0), R1
	MOVD	R1, RSP
	MSR_X(TPIDR_EL2, 0)

	MRS	MPIDR_EL1, R1
	MOVD	$const_affinityMask, R2
	AND	R2, R1, R1
	ORR	$(1<<63), R1, R1
	ADD	$cpuStart_Up, R0, R2
	STLR	R1, (R2)

	// A CPU the host starts takes the baton as soon as it is free, with
	// its start context as its exit (takeBaton, Vector VectorStart).
	MOVD	cpuStart_Join(R0), R1
	CBZ	R1, check
	MOVD	cpuStart_Ctx(R0), R0
	MSR_X(TPIDR_EL2, 0)
	B	·takeBaton(SB)

check:
	// The boot-time check: wait for the engine's Go runtime to be handed
	// to this CPU (baton.go).
	MOVD	cpuStart_Slot(R0), R4
	B	·batonWait(SB)

// func secondaryEntryAddr() uint64
TEXT ·secondaryEntryAddr(SB),NOSPLIT,$0-8
	MOVD	$·secondaryEntry(SB), R0
	MOVD	R0, ret+0(FP)
	RET
