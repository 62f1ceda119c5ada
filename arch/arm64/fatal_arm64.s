//go:build tamago

#include "go_asm.h"
#include "textflag.h"

// The branches below count assembler instructions (Go asm "n(PC)"): PUTC is
// four, so PUTHEX loops back 11 and PUTS skips 6 to leave its loop.

// PUTC(reg) writes the low byte of reg to the PL011 once its transmit FIFO
// has room (DDI 0183 3.3.3, UARTFR.TXFF); uses R10, R11.
#define PUTC(reg) \
	MOVD	$const_fatalUART, R10; \
	MOVWU	0x18(R10), R11; \
	TBNZ	$5, R11, -1(PC); \
	MOVW	reg, (R10)

// PUTHEX(reg) prints reg as 16 hex digits; uses R10-R14.
#define PUTHEX(reg) \
	MOVD	$60, R12; \
	LSR	R12, reg, R13; \
	AND	$15, R13, R13; \
	CMP	$10, R13; \
	ADD	$48, R13, R14; \
	ADD	$87, R13, R13; \
	CSEL	LT, R14, R13, R13; \
	PUTC(R13); \
	SUBS	$4, R12, R12; \
	BGE	-11(PC)

#define PUTS(str) \
	MOVD	$str(SB), R15; \
	MOVBU.P	1(R15), R16; \
	CBZ	R16, 6(PC); \
	PUTC(R16); \
	B	-6(PC)

DATA fatalMsg<>+0(SB)/8, $"\r\nFATAL "
DATA fatalMsg<>+8(SB)/8, $"exceptio"
DATA fatalMsg<>+16(SB)/8, $"n at EL\x00"
GLOBL fatalMsg<>(SB), RODATA, $24
DATA esrMsg<>+0(SB)/8, $": ESR=0x"
DATA esrMsg<>+8(SB)/8, $"\x00\x00\x00\x00\x00\x00\x00\x00"
GLOBL esrMsg<>(SB), RODATA, $16
DATA elrMsg<>+0(SB)/8, $" ELR=0x\x00"
GLOBL elrMsg<>(SB), RODATA, $8
DATA farMsg<>+0(SB)/8, $" FAR=0x\x00"
GLOBL farMsg<>(SB), RODATA, $8
DATA endMsg<>+0(SB)/8, $"\r\n\x00\x00\x00\x00\x00\x00"
GLOBL endMsg<>(SB), RODATA, $8

// func Fatal()
TEXT ·Fatal(SB),NOSPLIT|NOFRAME,$0
	MOVD	R0, R20
	MOVD	R1, R21
	MOVD	R2, R22
	MOVD	R3, R23
	PUTS(fatalMsg<>)
	PUTC(R23)
	PUTS(esrMsg<>)
	PUTHEX(R20)
	PUTS(elrMsg<>)
	PUTHEX(R21)
	PUTS(farMsg<>)
	PUTHEX(R22)
	PUTS(endMsg<>)
	// PSCI SYSTEM_OFF (DEN0022 5.10); from EL1 the engine traps the SMC
	// (HCR_EL2.TSC) and carries it out.
	MOVD	$const_psciSystemOff, R0
	SMC	$0
halt:
	WFI
	B	halt
