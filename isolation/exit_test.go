package isolation_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"bulkhead/isolation"
	"bulkhead/isolation/abi"
	"bulkhead/isolation/internal/fakearch"
)

var guestMMIO = isolation.SmallConfig().GuestMMIO

func TestFilterTrap(t *testing.T) {
	var x [31]uint64
	for i := range x {
		x[i] = 0x1111_1111_1111_1111 * uint64(i%15+1)
	}
	x[3] = 0x8877_6655_4433_2211
	uart := uint64(0x0900_0000)
	mmio := func(access, value uint64) [7]uint64 {
		return [7]uint64{uint64(abi.ExitMMIO), uart + 0x18, access, value}
	}
	cases := []struct {
		name string
		trap isolation.Trap
		want isolation.Decision
	}{
		{"IRQ", isolation.Trap{Kind: isolation.TrapIRQ, ESR: 0xffff},
			isolation.Decision{Exit: [7]uint64{uint64(abi.ExitIRQ)}}},
		{"FIQ", isolation.Trap{Kind: isolation.TrapFIQ},
			isolation.Decision{Exit: [7]uint64{uint64(abi.ExitIRQ)}}},
		{"SError", isolation.Trap{Kind: isolation.TrapSError, ESR: 0xbe000000},
			isolation.Decision{Exit: [7]uint64{uint64(abi.ExitAbort), 0x2f}}},
		{"WFI", isolation.Trap{ESR: esr(ecWFx, 0)},
			isolation.Decision{Exit: [7]uint64{uint64(abi.ExitWFI)}, PCAdvance: 4}},
		{"WFE: x2 tells it from WFI", isolation.Trap{ESR: esr(ecWFx, 1)},
			isolation.Decision{Exit: [7]uint64{uint64(abi.ExitWFI), abi.WFIWaitForEvent}, PCAdvance: 4}},
		{"HVC #0", isolation.Trap{ESR: esr(ecHVC, 0)}, isolation.Decision{Disp: isolation.DispCall}},
		{"SMC #0", isolation.Trap{ESR: esr(ecSMC, 0)}, isolation.Decision{Disp: isolation.DispCall, PCAdvance: 4}},
		{"HVC #1", isolation.Trap{ESR: esr(ecHVC, 1)}, isolation.Decision{Disp: isolation.DispCallNotSupported}},
		{"SMC #5", isolation.Trap{ESR: esr(ecSMC, 5)},
			isolation.Decision{Disp: isolation.DispCallNotSupported, PCAdvance: 4}},
		{"MMIO write 4 bytes from x3", dabt(uart+0x18, 2, 3, isv|wnr|dfscTransL3),
			isolation.Decision{Exit: mmio(abi.MMIOAccess(true, 2), 0x4433_2211), PCAdvance: 4}},
		{"MMIO write 1 byte from x3", dabt(uart+0x18, 0, 3, isv|wnr|dfscTransL3),
			isolation.Decision{Exit: mmio(abi.MMIOAccess(true, 0), 0x11), PCAdvance: 4}},
		{"MMIO write 8 bytes from x3", dabt(uart+0x18, 3, 3, isv|wnr|sf|dfscTransL3),
			isolation.Decision{Exit: mmio(abi.MMIOAccess(true, 3), x[3]), PCAdvance: 4}},
		{"MMIO write XZR", dabt(uart+0x18, 2, 31, isv|wnr|dfscTransL3),
			isolation.Decision{Exit: mmio(abi.MMIOAccess(true, 2), 0), PCAdvance: 4}},
		{"MMIO read 2 bytes into x7, signed, 32-bit", dabt(uart+0x18, 1, 7, isv|sse|dfscTransL3),
			isolation.Decision{Exit: mmio(abi.MMIOAccess(false, 1), 0), PCAdvance: 4, ReadPending: true,
				Read: isolation.MMIORead{Reg: 7, Log2Size: 1, SignExtend: true}}},
		{"MMIO without ISV", dabt(uart+0x18, 0, 0, wnr|dfscTransL3),
			isolation.Decision{Exit: [7]uint64{uint64(abi.ExitAbort), ecDABT}}},
		{"cache maintenance to MMIO", dabt(uart+0x18, 0, 0, cm|wnr|dfscTransL3),
			isolation.Decision{Disp: isolation.DispResume, PCAdvance: 4}},
		{"unmapped RAM IPA", dabt(0x4800_0010, 2, 3, isv|dfscTransL3),
			isolation.Decision{Disp: isolation.DispInjectAbort, Inject: isolation.InjectDataAbort, InjectFAR: 0xffff_0000_0000_0010}},
		{"permission fault in RAM", dabt(0x4000_0000, 2, 3, isv|wnr|dfscPermL3),
			isolation.Decision{Disp: isolation.DispInjectAbort, Inject: isolation.InjectDataAbort, InjectFAR: 0xffff_0000_0000_0000}},
		{"permission fault in the MMIO window", dabt(uart, 2, 3, isv|wnr|dfscPermL3),
			isolation.Decision{Disp: isolation.DispInjectAbort, Inject: isolation.InjectDataAbort, InjectFAR: 0xffff_0000_0000_0000}},
		{"stage-1 walk into MMIO", dabt(uart, 2, 3, isv|s1ptw|dfscTransL3),
			isolation.Decision{Disp: isolation.DispInjectAbort, Inject: isolation.InjectDataAbort, InjectFAR: 0xffff_0000_0000_0000}},
		{"external abort", dabt(0x4000_0000, 2, 3, isv|dfscExtAbort),
			isolation.Decision{Exit: [7]uint64{uint64(abi.ExitAbort), ecDABT}}},
		{"instruction fetch from nowhere", isolation.Trap{ESR: esr(ecIABT, dfscTransL3), FAR: 0x5000_0000},
			isolation.Decision{Disp: isolation.DispInjectAbort, Inject: isolation.InjectInstructionAbort, InjectFAR: 0x5000_0000}},
		{"instruction abort, external", isolation.Trap{ESR: esr(ecIABT, dfscExtAbort)},
			isolation.Decision{Exit: [7]uint64{uint64(abi.ExitAbort), ecIABT}}},
		{"system register trap: read-as-zero, write-ignored", isolation.Trap{ESR: esr(ecSysReg, 0x3ffff)},
			isolation.Decision{Disp: isolation.DispResume, PCAdvance: 4}},
		{"unknown", isolation.Trap{ESR: 0}, isolation.Decision{Exit: [7]uint64{uint64(abi.ExitAbort)}}},
		{"AArch32 EL0 MRC p15 (PMU): UNDEF in the guest", isolation.Trap{ESR: esr(0x03, 0x1)},
			isolation.Decision{Disp: isolation.DispInjectAbort, Inject: isolation.InjectUndef}},
		{"AArch32 EL0 MRC p14 (debug): UNDEF in the guest", isolation.Trap{ESR: esr(0x05, 0x1)},
			isolation.Decision{Disp: isolation.DispInjectAbort, Inject: isolation.InjectUndef}},
		{"SVE: UNDEF in the guest", isolation.Trap{ESR: esr(0x19, 0)},
			isolation.Decision{Disp: isolation.DispInjectAbort, Inject: isolation.InjectUndef}},
	}
	for _, c := range cases {
		before := x
		got := isolation.FilterTrap(c.trap, &x, guestMMIO)
		assert.Equal(t, c.want, got, c.name)
		assert.Equal(t, before, x, "%s: registers are only read", c.name)
	}
}

func TestCallExitForwardsW0AndFiveArguments(t *testing.T) {
	var x [31]uint64
	for i := range x {
		x[i] = uint64(100 + i)
	}
	x[0] = 0xffff_ffff_c600_0100
	assert.Equal(t, [7]uint64{2, 0xc600_0100, 101, 102, 103, 104, 105}, isolation.CallExit(&x))
}

// mmioReadCase runs a guest that reads the UART into register reg with the
// given syndrome, answers with reply, and returns the register afterwards.
func mmioRead(t *testing.T, log2, reg, bits, reply uint64) (uint64, [8]uint64) {
	r := newRig(t)
	vm := r.vm(1)
	r.script(fakearch.Step{
		Before: func(c *isolation.Context) {
			for i := range c.X {
				c.X[i] = 0xdddd_dddd_dddd_dddd
			}
			c.PC = 0x4000_1000
		},
		Trap: dabt(0x0900_0004, log2, reg, isv|dfscTransL3|bits),
	})
	st, ex := r.run(vm, 0, 0)
	require.Equal(t, abi.Success, st)
	st, _ = r.run(vm, 0, reply)
	require.Equal(t, abi.Success, st)
	assert.Equal(t, uint64(0x4000_1004), r.a.LastCtx.PC, "resumed after the load")
	for i, v := range r.a.LastCtx.X {
		if uint64(i) != reg {
			assert.Equal(t, uint64(0xdddd_dddd_dddd_dddd), v, "x%d untouched", i)
		}
	}
	if reg == 31 {
		return 0, ex
	}
	return r.a.LastCtx.X[reg], ex
}

func TestMMIOReadCompletesHiddenRegister(t *testing.T) {
	cases := []struct {
		name                   string
		log2, reg, bits, reply uint64
		want                   uint64
	}{
		{"byte, zero-extended, 32-bit", 0, 5, 0, 0x1234_5680, 0x80},
		{"byte, sign-extended, 32-bit", 0, 5, sse, 0x1234_5680, 0xffff_ff80},
		{"byte, sign-extended, 64-bit", 0, 5, sse | sf, 0x80, 0xffff_ffff_ffff_ff80},
		{"half, positive, signed", 1, 9, sse | sf, 0xffff_7fff, 0x7fff},
		{"word into W register", 2, 0, 0, 0xffff_ffff_ffff_ffff, 0xffff_ffff},
		{"word signed into X", 2, 30, sse | sf, 0x8000_0000, 0xffff_ffff_8000_0000},
		{"doubleword", 3, 12, sf, 0x0123_4567_89ab_cdef, 0x0123_4567_89ab_cdef},
	}
	for _, c := range cases {
		got, ex := mmioRead(t, c.log2, c.reg, c.bits, c.reply)
		assert.Equal(t, c.want, got, c.name)
		assert.Equal(t, [8]uint64{0, uint64(abi.ExitMMIO), 0x0900_0004, abi.MMIOAccess(false, uint(c.log2))}, ex,
			"%s: the exit names neither the register nor its width", c.name)
	}
	mmioRead(t, 2, 31, 0, 0x1234) // XZR: nothing is written
}

func TestRunHandlesEngineCallsInPlace(t *testing.T) {
	r := newRig(t)
	vm := r.vm(1)
	r.donate(vm, 3, 0x1000, 1)
	r.script(
		hvcStep(uint64(abi.GuestShare), 0x1000, 1),
		fakearch.Step{Trap: isolation.Trap{ESR: esr(ecWFx, 0)}},
	)
	st, ex := r.run(vm, 0, 0)
	require.Equal(t, abi.Success, st)
	assert.Equal(t, [8]uint64{0, uint64(abi.ExitWFI)}, ex)
	assert.Equal(t, uint64(0), r.a.LastCtx.X[0], "GUEST_SHARE succeeded in the guest's x0")
	assert.Equal(t, 2, r.a.EnterCount)
	info := r.host(abi.MemInfo, pg(3))
	assert.Equal(t, uint64(1), info[3], "shared with the host")
}

func TestRunForwardsCallsAndReturnsReply(t *testing.T) {
	r := newRig(t)
	vm := r.vm(1)
	r.script(
		fakearch.Step{
			Before: func(c *isolation.Context) {
				copy(c.X[:], []uint64{0xc600_0100, 1, 2, 3, 4, 5, 6, 7})
				c.PC = 0x4000_2000
			},
			Trap: isolation.Trap{ESR: esr(ecSMC, 0)},
		},
	)
	st, ex := r.run(vm, 0, 0)
	require.Equal(t, abi.Success, st)
	assert.Equal(t, [8]uint64{0, uint64(abi.ExitCall), 0xc600_0100, 1, 2, 3, 4, 5}, ex)
	st, _ = r.run(vm, 0, 0x5eed)
	require.Equal(t, abi.Success, st)
	assert.Equal(t, uint64(0x5eed), r.a.LastCtx.X[0])
	assert.Equal(t, uint64(6), r.a.LastCtx.X[6])
	assert.Equal(t, uint64(0x4000_2004), r.a.LastCtx.PC, "SMC is skipped")
	st, _ = r.run(vm, 0, 0xbad)
	require.Equal(t, abi.Success, st)
	assert.Equal(t, uint64(0x5eed), r.a.LastCtx.X[0], "a reply with nothing pending is ignored")
}

func TestRunReportsPSCIChanges(t *testing.T) {
	r := newRig(t)
	out := r.host(abi.VMCreate, 2)
	vm := isolation.VMID(out[1])
	require.Equal(t, abi.Success, r.hostSt(abi.VCPUInit, uint64(vm), 0, 0x4000_0000, 0))
	r.script(hvcStep(uint64(abi.PSCICPUOn64), 1, 0x4020_0000, 7))
	_, ex := r.run(vm, 0, 0)
	assert.Equal(t, [8]uint64{0, uint64(abi.ExitVCPUState), 1, 1}, ex)
	r.script(hvcStep(uint64(abi.PSCICPUOff)))
	_, ex = r.run(vm, 1, 0)
	assert.Equal(t, [8]uint64{0, uint64(abi.ExitVCPUState), 1, 0}, ex)
	assert.Equal(t, abi.Denied, r.hostSt(abi.VCPURun, uint64(vm), 1, 0))
	r.script(hvcStep(uint64(abi.PSCISystemReset)))
	_, ex = r.run(vm, 0, 0)
	assert.Equal(t, [8]uint64{0, uint64(abi.ExitShutdown), 1}, ex)
	assert.Equal(t, abi.Denied, r.hostSt(abi.VCPURun, uint64(vm), 0, 0))
}

func TestRunReflectsAbortsAndSkipsOddCalls(t *testing.T) {
	r := newRig(t)
	vm := r.vm(1)
	r.script(
		fakearch.Step{Trap: dabt(0x4800_0000, 2, 1, isv|dfscTransL3)},
		fakearch.Step{
			Before: func(c *isolation.Context) { c.PC = 0x100 },
			Trap:   isolation.Trap{ESR: esr(ecSMC, 3)},
		},
	)
	_, ex := r.run(vm, 0, 0)
	assert.Equal(t, [8]uint64{0, uint64(abi.ExitIRQ)}, ex, "the script ran out: timer tick")
	assert.Equal(t, 3, r.a.EnterCount)
	assert.Equal(t, uint64(0x104), r.a.LastCtx.PC)
	assert.Equal(t, abi.NotSupported.Reg(), r.a.LastCtx.X[0])
}

func TestRunInjectsAbortBeforeNextEntry(t *testing.T) {
	r := newRig(t)
	vm := r.vm(1)
	r.script(fakearch.Step{Trap: dabt(0x4800_0000, 2, 1, isv|dfscTransL3)})
	r.run(vm, 0, 0)
	assert.Equal(t, isolation.InjectDataAbort, r.a.LastCtx.Inject)
	assert.Equal(t, uint64(0xffff_0000_0000_0000), r.a.LastCtx.InjectFAR)
}

func TestRunIsBounded(t *testing.T) {
	r := newRig(t)
	vm := r.vm(1)
	for i := 0; i < 1000; i++ {
		r.script(hvcStep(uint64(abi.Version)))
	}
	_, ex := r.run(vm, 0, 0)
	assert.Equal(t, [8]uint64{0, uint64(abi.ExitIRQ)}, ex)
	assert.Less(t, r.a.EnterCount, 1000)
}
