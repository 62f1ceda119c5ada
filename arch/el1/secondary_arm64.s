//go:build tamago

#include "textflag.h"

// secondaryEntry is where a vCPU started by PSCI CPU_ON begins: at EL1h,
// MMU and caches off, x0 = the CPU_ON context (PSCI 1.1, DEN0022 6.4.3).
// x0 is the address of a mailbox: the stub stores its MPIDR_EL1.Aff0 at
// +8, then (after a barrier, so the affinity is visible first) x0 itself at
// +0, and turns itself off with PSCI CPU_OFF over HVC (the engine's
// conduit). CPU_OFF does not return on success (DEN0022 5.1.3); if it does,
// the stub waits for interrupts forever.
TEXT ·secondaryEntry(SB),NOSPLIT|NOFRAME,$0
	MRS	MPIDR_EL1, R1
	AND	$0xff, R1, R1
	MOVD	R1, 8(R0)
	DMB	$0xe	// DMB ST: Aff0 before the context
	MOVD	R0, 0(R0)
	DSB	$0xf	// DSB SY: both stores complete before the call
	MOVW	$0x84000002, R0	// PSCI CPU_OFF
	HVC	$0
park:
	WFI
	B	park

// func secondaryEntryAddr() uint64
TEXT ·secondaryEntryAddr(SB),NOSPLIT,$0-8
	MOVD	$·secondaryEntry(SB), R0
	MOVD	R0, ret+0(FP)
	RET
