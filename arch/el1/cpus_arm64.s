//go:build tamago

#include "go_asm.h"
#include "textflag.h"
#include "../arm64/baton.h"
#include "../arm64/sysreg.h"

// The hypervisor's Go runtime has one thread, which moves between the host
// CPUs with theBaton (cpus.go): the CPU that holds it runs Go, and frees it
// whenever it goes away from Go (an engine call that runs a guest, a rest,
// power off). Freeing it saves the frame of the call that went away (SP,
// g, R29 and the return address: Go assembly functions are called with
// every other register caller-saved); the next CPU to take it returns from
// that call. The waiting is a ticket lock, first come first served.

// secondaryGoEntry is where a host CPU the hypervisor starts with PSCI
// CPU_ON begins: EL1h, MMU and caches off (DEN0022 6.4.3). It sets up EL1
// as cpuinit did on the boot CPU, with the identity map the boot CPU
// built, enables its GIC CPU interface, and queues for the baton; it runs
// no Go, and needs no stack of its own, until it has it. Interrupts stay
// masked, as on the boot CPU.
TEXT ·secondaryGoEntry(SB),NOSPLIT|NOFRAME,$0
	MSR	$0xf, DAIFSet

	// D19.2.30 CPACR_EL1.FPEN = 0b11: Go uses FP/SIMD.
	MOVD	$(3<<20), R0
	MSR	R0, CPACR_EL1
	ISB	$15

	MOVD	$·vectors(SB), R0
	MSR	R0, VBAR_EL1

	EL1_STAGE1_ON(const_stage1Table)

	// Its CPU interface (StartCPUs set up its redistributor): a nap's
	// timer must reach it. enableICC uses no stack.
	BL	·enableICC(SB)
	B	batonTake<>(SB)

// func secondaryGoEntryAddr() uint64
TEXT ·secondaryGoEntryAddr(SB),NOSPLIT,$0-8
	MOVD	$·secondaryGoEntry(SB), R0
	MOVD	R0, ret+0(FP)
	RET

// batonRelease saves the frame (return address in R3), then serves the
// next ticket with a store-release, which also ends the WFE of a CPU
// waiting in batonTake (its exclusive load armed the monitor: Arm ARM
// D1.16.1). Only the holder writes Serving. Clobbers R1-R3, R5.
TEXT batonRelease<>(SB),NOSPLIT|NOFRAME,$0
	SAVE_FRAME
	MOVD	baton_Serving(R1), R5
	ADD	$1, R5
	ADD	$baton_Serving, R1, R2
	STLR	R5, (R2)
	SEV
	RET

// batonTake takes the next ticket (an exclusive load and store pair: the
// Cortex-A72 has no LSE atomics), waits until it is served, loads the
// frame the last holder saved and returns from that holder's call on this
// CPU. Uses no stack. The wait spins on WFE a while, then naps: a holder
// may run Go for long (a VM's creation or teardown), and a spinning CPU
// would take time from it wherever CPUs share cores (QEMU's threads). A
// nap is WFI with this CPU's EL1 physical timer armed for batonNap ticks
// (the tick, which back disarms); WFI wakes on it with interrupts masked
// (Arm ARM D1.16.2).
TEXT batonTake<>(SB),NOSPLIT|NOFRAME,$0
	MOVD	$·theBaton(SB), R1
	ADD	$baton_Ticket, R1, R2
ticket:
	LDAXR	(R2), R4
	ADD	$1, R4, R5
	STLXR	R5, (R2), R6
	CBNZ	R6, ticket
	ADD	$baton_Serving, R1, R2
	SEVL
spin:
	MOVD	$const_batonSpins, R7
wait:
	WFE
	LDAXR	(R2), R0
	CMP	R0, R4
	BEQ	taken
	SUBS	$1, R7, R7
	BNE	wait
	MOVD	·batonNap(SB), R0
	MSR	R0, CNTP_TVAL_EL0
	MOVD	$1, R0
	MSR	R0, CNTP_CTL_EL0
	ISB	$15
	LDAR	(R2), R0
	CMP	R0, R4
	BEQ	taken
	WFI
	B	spin
taken:
	MOVD	baton_SP(R1), R0
	MOVD	R0, RSP
	MOVD	baton_G(R1), g
	MOVD	baton_FP(R1), R29
	MOVD	baton_LR(R1), R30
	RET

// func callAway(x *[8]uint64)
//
// callAway frees the baton, issues the engine call x (HVC: x0-x7 from x,
// the results back into x) and takes the baton again. x must not be on a
// goroutine's stack, which may move while the CPU is away. SMCCC keeps
// x19 across the call (DEN0028 2.7), so it holds x meanwhile.
TEXT ·callAway(SB),NOSPLIT|NOFRAME,$0-8
	MOVD	x+0(FP), R19
	MOVD	R30, R3
	BL	batonRelease<>(SB)
	LDP	0(R19), (R0, R1)
	LDP	16(R19), (R2, R3)
	LDP	32(R19), (R4, R5)
	LDP	48(R19), (R6, R7)
	HVC	$0
	STP	(R0, R1), 0(R19)
	STP	(R2, R3), 16(R19)
	STP	(R4, R5), 32(R19)
	STP	(R6, R7), 48(R19)
	DSB	$0xf
	B	batonTake<>(SB)

// func restAway(kick *uint32, until uint64)
//
// restAway frees the baton, waits with WFI until *kick is set or the
// physical counter (arm64.Counter) reaches until, and takes the baton again. WFI wakes on
// a pending interrupt even with PSTATE.I masked (Arm ARM D1.16.2): the
// caller arms its tick for until, and Kick sends an SGI after setting
// *kick.
TEXT ·restAway(SB),NOSPLIT|NOFRAME,$0-16
	MOVD	kick+0(FP), R19
	MOVD	until+8(FP), R20
	MOVD	R30, R3
	BL	batonRelease<>(SB)
rest:
	LDARW	(R19), R0
	CBNZW	R0, rested
	ISB	$15
	MRS	CNTPCT_EL0, R0
	CMP	R20, R0
	BHS	rested
	WFI
	B	rest
rested:
	B	batonTake<>(SB)

// func leaveAway()
//
// leaveAway frees the baton and turns this CPU off with PSCI CPU_OFF over
// HVC (DEN0022 5.1.3), which does not return when it succeeds. Should it
// return, the CPU waits for interrupts for good: it must not take the
// baton again, since no call of its own waits for it.
TEXT ·leaveAway(SB),NOSPLIT|NOFRAME,$0-0
	MOVD	R30, R3
	BL	batonRelease<>(SB)
	MOVW	$0x84000002, R0
	HVC	$0
gone:
	WFI
	B	gone

// func thisCPU() uint64
TEXT ·thisCPU(SB),NOSPLIT,$0-8
	MRS	MPIDR_EL1, R0
	MOVD	R0, ret+0(FP)
	RET

// func sendSGI(v uint64)
TEXT ·sendSGI(SB),NOSPLIT,$0-8
	MOVD	v+0(FP), R0
	DSB	$0xe	// DSB ST: the kick flag is visible before the interrupt
	MSR	R0, ICC_SGI1R_EL1
	ISB	$15
	RET

// func pendingIntID() uint64
TEXT ·pendingIntID(SB),NOSPLIT,$0-8
	MRS	ICC_HPPIR1_EL1, R0
	MOVD	R0, ret+0(FP)
	RET

// func acknowledgeAndEnd() uint64
//
// acknowledgeAndEnd acknowledges the highest priority pending group 1
// interrupt and ends it at once (ICC_EOIR1_EL1 with EOImode 0 drops the
// priority and deactivates: IHI 0069 12.2.9); it returns the INTID.
TEXT ·acknowledgeAndEnd(SB),NOSPLIT,$0-8
	MRS	ICC_IAR1_EL1, R0
	DSB	$0xf
	MSR	R0, ICC_EOIR1_EL1
	ISB	$15
	MOVD	R0, ret+0(FP)
	RET
