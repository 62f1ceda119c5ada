//go:build tamago && arm64

package el2

import (
	"fmt"
	"math"
	"runtime"
	"runtime/goos"
	"time"

	"bulkhead/arch/arm64"
)

// CPU is one CPU of the board as the engine runs it: its slot (0 the boot
// CPU), affinity, and the goroutine that serves it. Every goroutine that
// enters EL1 serves one CPU and runs Go only on it (see Enter).
type CPU struct {
	Slot  int
	MPIDR uint64
	// g is the serving goroutine (runtime.GetG), which Enter puts to
	// sleep while the CPU runs at EL1 and idle wakes (runtime.Wake).
	g uint
	// next is the context Enter asks idle to run on this CPU; back is
	// set when the CPU took the baton with an exit (or its start).
	next *Context
	back bool
	// leaving asks idle to turn the CPU off once no goroutine is ready.
	leaving bool
	// online: Start made the CPU run (or start), and it has not turned
	// off since; started: it has taken the baton since Start.
	online, started bool
	// start is what a CPU started by Start reports in with.
	start Context
}

var (
	cpus  [len(secondaries)]CPU
	ncpus = 1
	// here is the CPU the engine's thread runs on: the boot CPU until the
	// thread first moves, then whichever CPU took the baton last.
	here = &cpus[0]
	// releasing is set once a second CPU may run EL1 contexts: from then
	// on every entry frees the baton (Enter) instead of keeping it.
	releasing bool
)

// SetCPUs records the board's CPUs (virt.CPUs): the boot CPU gets slot 0,
// the others 1, 2, ... in the order given. It returns the slots' CPUs.
func SetCPUs(ids []uint64) []*CPU {
	self := ThisCPU()
	cpus[0] = CPU{Slot: 0, MPIDR: self, online: true, started: true}
	ncpus = 1
	for _, id := range ids {
		if id == self || ncpus == len(cpus) {
			continue
		}
		cpus[ncpus] = CPU{Slot: ncpus, MPIDR: id}
		ncpus++
	}
	list := make([]*CPU, ncpus)
	for i := range list {
		list[i] = &cpus[i]
	}
	return list
}

// CPUOf returns the CPU whose affinity is mpidr, or nil.
func CPUOf(mpidr uint64) *CPU {
	for i := range cpus[:ncpus] {
		if cpus[i].MPIDR == mpidr {
			return &cpus[i]
		}
	}
	return nil
}

// Here returns the CPU the calling goroutine runs on.
func Here() *CPU { return here }

// Power is a CPU's power state as the engine tracks it.
type Power uint8

// Power states: off, started but not yet at EL2's baton, and running.
const (
	CPUOff Power = iota
	CPUStarting
	CPUOn
)

// Power returns c's power state.
func (c *CPU) Power() Power {
	switch {
	case !c.online:
		return CPUOff
	case !c.started:
		return CPUStarting
	}
	return CPUOn
}

// Serve makes the calling goroutine the one that serves c: the boot CPU's
// at boot, a started CPU's before PowerOn.
func (c *CPU) Serve() {
	c.g, _ = runtime.GetG()
}

// Enter runs ctx on this CPU, the serving goroutine's, until it takes an
// exception to EL2, as run does. Once several CPUs may run EL1 contexts
// the engine's thread must not wait for this one: the goroutine sleeps,
// idle frees the baton and enters ctx, and the CPU's next exit (on
// whichever CPU the thread then is) wakes the goroutine on this CPU.
func (c *CPU) Enter(ctx *Context) {
	ctx.CPU, ctx.Stack = uint64(c.Slot), stackTop(&secondaries[c.Slot].stack)
	if !releasing {
		run(ctx)
		return
	}
	c.next, c.back = ctx, false
	c.sleepUntilBack()
}

// sleepUntilBack waits, asleep, until idle reports the CPU back.
func (c *CPU) sleepUntilBack() {
	for !c.back {
		time.Sleep(math.MaxInt64)
	}
	if here != c {
		panic(fmt.Sprintf("engine: CPU %d's goroutine woke on CPU %d", c.Slot, here.Slot))
	}
}

// Start starts c (PSCI CPU_ON through the board's firmware) and returns
// the PSCI status. The CPU sets up EL2 as the boot CPU did and takes the
// baton with c's start context (Vector VectorStart); the goroutine that
// will serve it must call Serve and then WaitStart. From the first Start
// on, every Enter frees the baton.
func (c *CPU) Start() int64 {
	if !releasing {
		releasing = true
		goos.Idle = idle
	}
	s := &secondaries[c.Slot]
	c.start = Context{CPU: uint64(c.Slot), Stack: stackTop(&s.stack), Vector: VectorStart}
	s.start = cpuStart{Stack: c.start.Stack, Slot: uint64(c.Slot), Join: 1, Ctx: AddressOf(&c.start)}
	c.back, c.online, c.started = false, true, false
	st, _, _, _ := arm64.SMC(psciCPUOn64, c.MPIDR, secondaryEntryAddr(), AddressOf(&s.start))
	if int64(st) != psciSuccess {
		c.online = false
	}
	return int64(st)
}

// WaitStart waits, asleep, until c has started and took the baton; the
// caller then runs on c.
func (c *CPU) WaitStart() { c.sleepUntilBack() }

// Off turns c off once its serving goroutine, the caller, has returned and
// no other goroutine is ready: the engine's thread moves on to the next
// CPU that takes an exception.
func (c *CPU) Off() {
	c.leaving, c.back = true, false
}

// idle is the runtime's goos.Idle once several CPUs run: the engine's
// thread has nothing ready, so the CPU it runs on enters the context its
// goroutine asked for (or turns off), freeing the baton; the call returns
// on the CPU that takes the baton next, whose goroutine it wakes.
func idle(int64) {
	c := here
	switch {
	case c.next != nil:
		ctx := c.next
		c.next = nil
		runReleasing(ctx)
	case c.leaving:
		c.leaving, c.online, c.started = false, false, false
		releaseAndPowerOff()
	default:
		panic(fmt.Sprintf("engine: CPU %d is idle with nothing to run", c.Slot))
	}
	arrived()
}

// arrived runs on the CPU that just took the baton: it becomes here, and
// its goroutine wakes.
func arrived() {
	x := CPUOf(ThisCPU())
	if x == nil {
		panic(fmt.Sprintf("engine: CPU %#x took the baton, but is not the board's", ThisCPU()))
	}
	here, x.back, x.started = x, true, true
	if !runtime.Wake(x.g) {
		panic(fmt.Sprintf("engine: CPU %d is back, but its goroutine is not asleep", x.Slot))
	}
}
