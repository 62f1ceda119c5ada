//go:build tamago && arm64

package el2

import (
	"fmt"
	"sync/atomic"

	"bulkhead/arch/arm64"
	"bulkhead/boot/virt"
)

// defined in secondary_arm64.s
func secondaryEntry()
func secondaryEntryAddr() uint64

// cpuStart is a secondary CPU's start-up record, the context of its PSCI
// CPU_ON (go_asm.h offsets cpuStart_Stack, cpuStart_Up).
type cpuStart struct {
	// Stack is the CPU's initial stack pointer at EL2, 16-byte aligned.
	Stack uint64
	// Up is written by the CPU once its MMU is on: its MPIDR affinity
	// with bit 63 set, so that CPU 0 (affinity 0) is not read as absent.
	Up uint64
	// Slot is the CPU's start-up slot, its name for the baton.
	Slot uint64
	// Join is 0 for the boot-time check (wait until the baton is handed
	// to Slot, RunGoOn) and 1 for a CPU the host starts: it takes the
	// baton when free, with Ctx (a *Context) as its exit.
	Join uint64
	Ctx  uint64
}

// cpuUp marks a start-up record the CPU has filled in.
const cpuUp = 1 << 63

// secondaryStackSize is each CPU's EL2 exception stack (Context.Stack;
// slot 0 is the boot CPU's): the vectors push two registers on it, and an
// exception taken at EL2 prints its syndrome on it.
const secondaryStackSize = 8 << 10

// secondary is the start-up record and exception stack of one CPU. They
// live in the engine image's data, which the host stage-2 never maps.
type secondary struct {
	start cpuStart
	stack [secondaryStackSize / 8]uint64
}

var secondaries [virt.MaxCPUs]secondary

// cpuOnTimeout is how long StartCPU waits for a started CPU to report in:
// generous, because QEMU's CPU threads may wait for a busy host's cores.
const cpuOnTimeout = 2_000_000_000 // ns

// PSCI function and status codes (DEN0022 5.1.4 CPU_ON, 5.2.2 return codes).
const (
	psciCPUOn64         = 0xC4000003
	psciSuccess         = 0
	psciInvalidParams   = -2
	psciAlreadyOn       = -4
	psciOnPending       = -5
	psciInvalidAddress  = -9
	psciInternalFailure = -6
)

// ThisCPU returns the MPIDR affinity of the CPU it runs on.
func ThisCPU() uint64 { return readMPIDR() & virt.MPIDRAffinity }

// StartCPU powers on the CPU whose MPIDR affinity is mpidr through the
// board's PSCI (QEMU's, over SMC at EL2), as secondary slot (1 to
// virt.MaxCPUs-1), and waits until it runs at EL2 with the engine's vector
// table and stage-1 identity map. The CPU then waits at EL2 for the baton
// (RunGoOn), running nothing.
func StartCPU(slot int, mpidr uint64) error {
	if slot < 1 || slot >= len(secondaries) {
		return fmt.Errorf("CPU %#x: no start-up slot %d", mpidr, slot)
	}
	s := &secondaries[slot]
	s.start = cpuStart{Stack: stackTop(&s.stack), Slot: uint64(slot)}
	st, _, _, _ := arm64.SMC(psciCPUOn64, mpidr, secondaryEntryAddr(), AddressOf(&s.start))
	if code := int64(st); code != psciSuccess {
		return fmt.Errorf("CPU %#x: PSCI CPU_ON: %s", mpidr, psciStatus(code))
	}
	deadline := arm64.Nanotime() + cpuOnTimeout
	for {
		up := atomic.LoadUint64(&s.start.Up)
		switch {
		case up == cpuUp|mpidr:
			return nil
		case up != 0:
			return fmt.Errorf("CPU %#x: started, but reports affinity %#x", mpidr, up&^cpuUp)
		case arm64.Nanotime() > deadline:
			return fmt.Errorf("CPU %#x: PSCI CPU_ON succeeded but the CPU did not report in", mpidr)
		}
	}
}

// stackTop is the 16-byte-aligned end of a stack (AAPCS64 5.2.2.1: SP is
// 16-byte aligned at every public interface).
func stackTop(s *[secondaryStackSize / 8]uint64) uint64 {
	return (AddressOf(s) + secondaryStackSize) &^ 15
}

// psciStatus names a PSCI return code.
func psciStatus(code int64) string {
	switch code {
	case psciInvalidParams:
		return "INVALID_PARAMETERS (no such CPU)"
	case psciAlreadyOn:
		return "ALREADY_ON"
	case psciOnPending:
		return "ON_PENDING"
	case psciInvalidAddress:
		return "INVALID_ADDRESS"
	case psciInternalFailure:
		return "INTERNAL_FAILURE"
	}
	return fmt.Sprintf("status %d", code)
}

// affinityMask is virt.MPIDRAffinity for the entry code (go_asm.h).
const affinityMask = virt.MPIDRAffinity
