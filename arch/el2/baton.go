//go:build tamago && arm64

package el2

import "fmt"

// The engine's Go runtime has one thread of execution (one M: TamaGo's
// runtime starts further Ms only through goos.Task, which the engine does
// not provide). The baton lets that one thread move from CPU to CPU: the
// CPU holding it runs Go, every other CPU runs no Go. Handing it over saves
// the frame of the handoff call (stack pointer, g, frame pointer and
// return address: Go assembly functions are called with every other
// register caller-saved, so these four are all of the thread's state the
// call must keep) and the receiving CPU returns from that call. The Go
// runtime itself keeps no per-CPU state: its clock is the system counter
// (Arm ARM D11.1.2, the same on every CPU) and its memory is shared.

// defined in baton_arm64.s
func handoff(to, me uint64)
func handoffAndPowerOff(to uint64)
func releaseAndPowerOff()
func runReleasing(ctx *Context)

// batonRelease takes its arguments in registers (see baton_arm64.s): only
// assembly calls it.
func batonRelease()

// baton is where the runtime's thread continues, and which CPU may take
// it (go_asm.h offsets baton_Owner, baton_SP, ...).
type baton struct {
	// Owner is the start-up slot of the CPU that runs Go (0: the boot
	// CPU), or batonFree. A handoff to a given CPU (the boot-time check)
	// writes it with release semantics after the frame.
	Owner uint64
	SP    uint64
	G     uint64
	FP    uint64
	LR    uint64
	// Ticket and Serving queue the CPUs that wait for a free baton, first
	// come first served (a ticket lock): a CPU takes the next Ticket and
	// runs Go when Serving reaches it; freeing the baton advances Serving
	// with release semantics after the frame. The boot CPU holds ticket 0
	// from the start, so Ticket starts at 1.
	Ticket  uint64
	Serving uint64
}

var theBaton = baton{Ticket: 1}

// batonFree is the Owner of a baton no CPU holds: the thread waits in an
// idle CPU's runReleasing for the next CPU that takes an exception.
const batonFree = 0xff

// RunGoOn runs f on the secondary CPU in slot, which must have been
// started by StartCPU and be waiting, and returns on the boot CPU, which
// waits meanwhile. Afterwards the secondary CPU is off (PSCI CPU_OFF), so
// that it can be started again. The engine uses it once per CPU at boot to check that its Go
// runtime, allocation and garbage collection included, runs on every CPU
// it started.
func RunGoOn(slot int, f func()) error {
	if slot < 1 || slot >= len(secondaries) || secondaries[slot].start.Up == 0 {
		return fmt.Errorf("no started CPU in slot %d", slot)
	}
	if stayOnBootCPU {
		f()
		return nil
	}
	handoff(uint64(slot), 0)
	f()
	handoffAndPowerOff(0)
	return nil
}
