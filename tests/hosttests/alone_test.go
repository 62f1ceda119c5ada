//go:build tamago && arm64

package hosttests

import (
	"testing"
	"time"

	"bulkhead/arch/el1"
	"bulkhead/guest"
	"bulkhead/guest/check"
	"bulkhead/internal/a64"
	"bulkhead/isolation/abi"
)

// The guest's GIC CPU interface and virtual timer registers (GICv3
// ICC_PMR_EL1, ICC_IGRPEN1_EL1, IHI 0069 12.2; Arm ARM D13.8 CNTV_TVAL_EL0,
// CNTV_CTL_EL0). A guest's ICC_ accesses reach its virtual CPU interface
// (ICV_, HCR_EL2.IMO).
var (
	iccPMR     = a64.SysReg{Op0: 3, Op1: 0, CRn: 4, CRm: 6, Op2: 0}
	iccIGRPEN1 = a64.SysReg{Op0: 3, Op1: 0, CRn: 12, CRm: 12, Op2: 7}
	cntvTVAL   = a64.SysReg{Op0: 3, Op1: 3, CRn: 14, CRm: 3, Op2: 0}
	cntvCTL    = a64.SysReg{Op0: 3, Op1: 3, CRn: 14, CRm: 3, Op2: 1}
)

// ownTimerTicks is how far ahead (1 ms of the 62.5 MHz counter) the
// waiting guest arms its own timer.
const ownTimerTicks = 62_500

// waitGuest waits in WFI with its interrupts masked, then makes the
// forwarded call and powers off. With ownTimer it first enables its
// virtual CPU interface and arms its virtual timer ownTimerTicks ahead,
// so that the timer's interrupt, pending, ends the wait (WFI wakes on a
// pending interrupt whatever PSTATE.I says, Arm ARM D1.6.2); without it,
// only an interrupt of the host's can.
func waitGuest(ownTimer bool) []uint32 {
	var c []uint32
	if ownTimer {
		c = append(c, movz(x1, 0xff, 0), a64.MSR(iccPMR, x1), movz(x1, 1, 0), a64.MSR(iccIGRPEN1, x1))
		c = append(c, a64.MOV64(x1, ownTimerTicks)...)
		c = append(c, a64.MSR(cntvTVAL, x1), movz(x1, 1, 0), a64.MSR(cntvCTL, x1), isb)
	}
	c = append(c, wfi)
	c = append(c, mov32(x0, forwardedCall)...)
	c = append(c, hvc0)
	c = append(c, mov32(x0, abi.PSCISystemOff)...)
	return append(c, hvc0, branchSelf)
}

// maxAloneRuns bounds the runs a waiting guest gets before the test
// gives up on its forwarded call.
const maxAloneRuns = 100

// runAloneUntilCall runs vCPU 0 with VCPU_RUN_ALONE, the host's tick armed
// for tick before each run (without it a guest waiting for nothing would
// never come back), until the forwarded call, and returns the exits before it.
func (v *testVM) runAloneUntilCall(t *testing.T, tick time.Duration) []abi.Exit {
	ticker := el1.InitTicker()
	var before []abi.Exit
	for range maxAloneRuns {
		ticker.Arm(int64(tick))
		e, st := guest.VCPURunAlone(v.id, 0, 0)
		ticker.Disarm()
		require(t, check.Status(t, abi.Success, st, "VCPU_RUN_ALONE"))
		if e.Reason == abi.ExitCall {
			check.Equal(t, uint64(forwardedCall), e.Detail[0], "the guest's call after its wait")
			return before
		}
		before = append(before, e.Reason)
	}
	t.Fatalf("no forwarded call in %d runs: %v", maxAloneRuns, before)
	return nil
}

// testRunAloneTickEndsTheWait: under VCPU_RUN_ALONE a guest's WFI makes no
// WFI exit; the host's tick still ends the run (an IRQ exit), so a guest
// that waits for nothing cannot keep the CPU.
func testRunAloneTickEndsTheWait(t *testing.T) {
	v := newVM(t, 1)
	v.load(t, waitGuest(false))
	exits := v.runAloneUntilCall(t, 10*time.Millisecond)
	check.True(t, len(exits) > 0, "the tick ended the wait before the call")
	for _, e := range exits {
		check.Equal(t, abi.ExitIRQ, e, "every run before the call ends by the tick: %v", exits)
	}
}

// testRunAloneOwnTimerWakes: the guest's own timer ends its wait in the
// guest, without an exit: the run goes straight on to the forwarded call
// (the host's tick, armed for 5 s, is far behind).
func testRunAloneOwnTimerWakes(t *testing.T) {
	v := newVM(t, 1)
	v.load(t, waitGuest(true))
	exits := v.runAloneUntilCall(t, 5*time.Second)
	check.Equal(t, 0, len(exits), "no exit before the call: %v", exits)
}

// testVCPURunStillExitsOnWFI: the same guest under VCPU_RUN gives its CPU
// back at its WFI.
func testVCPURunStillExitsOnWFI(t *testing.T) {
	v := newVM(t, 1)
	v.load(t, waitGuest(true))
	check.Equal(t, abi.ExitWFI, v.run(t, 0).Reason, "WFI exit")
}

// testRunAloneChecks: VCPU_RUN_ALONE refuses what VCPU_RUN refuses, with
// the same status.
func testRunAloneChecks(t *testing.T) {
	v := newVM(t, 1)
	for _, a := range [][2]uint64{{v.id + 100, 0}, {v.id, 1}, {0, 0}} {
		_, want := guest.VCPURun(a[0], a[1], 0)
		_, got := guest.VCPURunAlone(a[0], a[1], 0)
		check.Status(t, want, got, "VCPU_RUN_ALONE(%d, %d)", a[0], a[1])
		check.True(t, got != abi.Success, "VCPU_RUN_ALONE(%d, %d) refused", a[0], a[1])
	}
}
