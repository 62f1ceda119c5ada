package refinement

import (
	"fmt"
	"testing"

	"bulkhead/isolation/abi"
)

// TestScriptedGuest: one trace through every kind of guest behaviour the
// fake platform plays: register and memory effects, MMIO reads and writes
// of each size with the reply delivered on the next run, forwarded calls,
// engine calls and PSCI from inside a run, WFI, SError, SGI requests,
// interrupts, MMIO shadow registers and their log.
func TestScriptedGuest(t *testing.T) {
	o := newOracle(t)
	if d := divergence(t, o, scriptedGuestTrace()); d != "" {
		t.Fatalf("diverges at %s", d)
	}
}

// scriptedGuestTrace is TestScriptedGuest's trace.
func scriptedGuestTrace() []string {
	rw := uint64(abi.PermR | abi.PermW)
	tr := []string{
		host(abi.VMCreate, 2),
		host(abi.VCPUInit, 1, 0, 0x4000_0000, 0x1234),
		host(abi.MemDonate, 1, pa(1), 0, 2, rw),
		host(abi.MemShare, 1, pa(3), 0x2000, 1, abi.PermR),
		write(3, 77),
		runOp(1, 0, 0, "set 3 0xdeadbeefcafe", "store 0x0 3", "load 0x2000 4", "mmio 0x100000 1 3 4"),
		runOp(1, 0, 0, "set 5 0x5a5a5a5a5a5a5a5a", "mmio 0x100008 0 3 5"),
		runOp(1, 0, 0x1122334455667788, "mmio 0x100010 1 3 5"),
		runOp(1, 0, 0, "mmio 0x100010 1 3 0"),
		runOp(1, 0, 0, "store 0x2000 3", "load 0x1000 6", "mmio 0x100010 1 3 6"),
		runOp(1, 0, 0, fmt.Sprintf("set 0 %#x", 0x8600_0123), "set 1 0xffffffffffffffff", "set 2 7", "hvc"),
		runOp(1, 0, 99, "mmio 0x100010 1 3 0"),
		runOp(1, 0, 0, fmt.Sprintf("set 0 %#x", abi.GuestShare), "set 1 0", "set 2 1", "hvc", "mmio 0x100018 1 3 0"),
		host(abi.MemInfo, pa(1)),
		runOp(1, 0, 0, fmt.Sprintf("set 0 %#x", abi.PSCICPUOn64), "set 1 1", "set 2 0x40001000", "set 3 5", "hvc", "wfi"),
		runOp(1, 1, 0, "mmio 0x100020 1 3 0"),
		runOp(1, 0, 0, "serror"),
		runOp(1, 0, 0, "set 9 0xffffffffffffffff", "sgi 9"),
		runOp(1, 0, 0, "set 2 0x0001000003000002", "sgi 2"),
		runOp(1, 0, 0, "sgi 31"),
		runOp(1, 1, 0, "irq"),
		runOp(1, 1, 0, fmt.Sprintf("set 0 %#x", abi.PSCICPUOff), "hvc", "wfi"),
		runOp(1, 0, 0, fmt.Sprintf("set 0 %#x", abi.PSCISystemOff), "hvc"),
		runOp(1, 0, 0),
	}
	// MMIO writes of every size, of a register with every byte set.
	tr = append(tr, host(abi.VMCreate, 1), host(abi.VCPUInit, 2, 0, 0x4000_0000, 0))
	for sz := 0; sz < 4; sz++ {
		tr = append(tr, runOp(2, 0, 0, "set 7 0x8182838485868788", fmt.Sprintf("mmio 0x200000 1 %d 7", sz)))
	}
	// MMIO shadow registers: a read register answered at each offset and
	// size, a log register filled past its end, drained by the host.
	tr = append(tr,
		host(abi.MMIOShadow, 2, 0x100000, abi.ShadowRead, 0x8877665544332211),
		host(abi.MMIOShadow, 2, 0x100008, abi.ShadowLog, 0),
		host(abi.MMIOShadow, 2, 0x100002, abi.ShadowLog, 0),
		runOp(2, 0, 0, "mmio 0x100000 0 2 3", "mmio 0x100001 0 0 4", "mmio 0x100002 0 1 5", "mmio 0x100000 0 3 6"),
		runOp(2, 0, 0x1234, "set 7 0x1ff", "mmio 0x100008 1 2 7", "mmio 0x100008 1 0 31", "mmio 0x10000a 1 0 7"),
		host(abi.MMIOLogRead, 2))
	var burst []string
	for i := 0; i < 40; i++ {
		burst = append(burst, fmt.Sprintf("set 9 %d", i), "mmio 0x100008 1 0 9")
	}
	for i := 0; i < 7; i++ {
		tr = append(tr, runOp(2, 0, 0, burst...))
	}
	tr = append(tr, host(abi.MMIOLogRead, 2), host(abi.MMIOShadow, 2, 0x100008, abi.ShadowOff, 0),
		runOp(2, 0, 0, "mmio 0x100008 1 0 9"), host(abi.MMIOLogRead, 2), host(abi.MMIOLogRead, 3))
	return tr
}
