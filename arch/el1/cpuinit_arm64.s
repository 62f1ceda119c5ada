//go:build tamago

#include "go_asm.h"
#include "textflag.h"
#include "../arm64/sysreg.h"

// cpuinit is the first instruction of an EL1 image (runtime/goos.CPUInit).
// The engine enters it at EL1h with the MMU off. It enables FP/SIMD, which
// Go uses and which reset leaves trapped (CPACR_EL1.FPEN), installs the
// vector table and a stage-1 identity map with Normal memory for RAM, sets
// the stack and enters the runtime.
TEXT cpuinit(SB),NOSPLIT|NOFRAME,$0
	// x0 is the image's boot argument (the device tree's address); keep
	// it before anything else uses the register.
	MOVD	$·bootArg(SB), R1
	MOVD	R0, (R1)

	MRS	CurrentEL, R0
	LSR	$2, R0, R0
	AND	$3, R0, R0
	CMP	$1, R0
	BNE	wrongEL

	MSR	$0xf, DAIFSet

	// D19.2.30 CPACR_EL1.FPEN = 0b11: no FP/SIMD traps at EL1 or EL0.
	MOVD	$(3<<20), R0
	MSR	R0, CPACR_EL1
	ISB	$15

	MOVD	$·vectors(SB), R0
	MSR	R0, VBAR_EL1

	BUILD_IDMAP(const_stage1Table)
	EL1_STAGE1_ON(const_stage1Table)

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
