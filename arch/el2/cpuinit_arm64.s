//go:build tamago

#include "go_asm.h"
#include "textflag.h"
#include "../arm64/sysreg.h"

// cpuinit is the engine's first instruction (TamaGo's runtime/goos.CPUInit).
// QEMU enters it at EL2 with the MMU off. It sets up just enough to run Go
// safely: EL2 configuration, the vector table, a stage-1 identity map with
// Normal memory for RAM (Go's LDP/STP and unaligned accesses fault on Device
// memory), and the stack; then it enters the runtime.
TEXT cpuinit(SB),NOSPLIT|NOFRAME,$0
	MRS	CurrentEL, R0
	LSR	$2, R0, R0
	AND	$3, R0, R0
	CMP	$2, R0
	BNE	wrongEL

	MSR	$0xf, DAIFSet

	// D19.2.48 HCR_EL2: only RW (EL1 is AArch64) until the host stage-2
	// exists.
	MOVD	$(1<<31), R0
	MSR_X(HCR_EL2, 0)

	// D19.2.31 CPTR_EL2: RES1 bits only; TFP = 0 so that FP/SIMD, which
	// Go uses, is not trapped at EL2 or below.
	MOVD	$0x33ff, R0
	MSR_X(CPTR_EL2, 0)

	MOVD	$·vectors(SB), R0
	MSR_X(VBAR_EL2, 0)

	BUILD_IDMAP(const_stage1Table)
	MOVD	$MAIR_VALUE, R0
	MSR_X(MAIR_EL2, 0)
	MOVD	$TCR_VALUE, R0
	MSR_X(TCR_EL2, 0)
	MOVD	$const_stage1Table, R0
	MSR_X(TTBR0_EL2, 0)
	DSB	$0xf
	ISB	$15
	SYS_X(TLBI_ALLE2, 31)
	DSB	$0xf
	ISB	$15

	// D19.2.118 SCTLR_EL2: RES1 bits, M (MMU), C (data cache), I
	// (instruction cache); A and SA clear.
	MOVD	$(0x30c50830 | 1<<0 | 1<<2 | 1<<12), R0
	MSR_X(SCTLR_EL2, 0)
	ISB	$15

	MOVD	runtime∕goos·RamStart(SB), R1
	MOVD	R1, RSP
	MOVD	runtime∕goos·RamSize(SB), R1
	MOVD	runtime∕goos·RamStackOffset(SB), R2
	ADD	R1, RSP
	SUB	R2, RSP

	B	_rt0_tamago_start(SB)

wrongEL:
	WFI
	B	wrongEL
