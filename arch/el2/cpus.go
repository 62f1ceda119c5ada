//go:build tamago && arm64

package el2

import (
	"fmt"
	"math"
	"runtime"
	"time"

	"bulkhead/arch/arm64"
)

// CPU is one CPU of the board as the engine runs it: its slot (0 the boot
// CPU), affinity, and the goroutine that serves it. Every goroutine that
// enters EL1 serves one CPU and runs Go only on it (see Enter).
type CPU struct {
	Slot  int
	MPIDR uint64
	// stack is the top of the CPU's EL2 exception stack (Context.Stack).
	stack uint64
	// g is the serving goroutine (runtime.GetG), which sleeps while
	// another CPU's exit has the engine's thread (comeBack).
	g uint
	// back is set when the CPU took the baton with an exit (or its
	// start) that its goroutine, asleep, has yet to see.
	back bool
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
	// onlineCPUs counts the CPUs whose online is set (setOnline), so
	// that Enter asks one question whatever the number of CPUs.
	onlineCPUs = 1
)

// The boot CPU can enter EL1 before SetCPUs: its exception stack is set
// up front.
func init() { cpus[0].stack = stackTop(&secondaries[0].stack) }

// SetCPUs records the board's CPUs (virt.CPUs): the boot CPU gets slot 0,
// the others 1, 2, ... in the order given. It returns the slots' CPUs.
func SetCPUs(ids []uint64) []*CPU {
	self := ThisCPU()
	cpus[0] = CPU{Slot: 0, MPIDR: self, online: true, started: true, stack: stackTop(&secondaries[0].stack)}
	ncpus, onlineCPUs = 1, 1
	for _, id := range ids {
		if id == self || ncpus == len(cpus) {
			continue
		}
		cpus[ncpus] = CPU{Slot: ncpus, MPIDR: id, stack: stackTop(&secondaries[ncpus].stack)}
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
// at boot, a started CPU's before Start.
func (c *CPU) Serve() {
	c.g, _ = runtime.GetG()
}

// Enter runs ctx on this CPU, the serving goroutine's, until it takes an
// exception to EL2, as run does. Once several CPUs may run EL1 contexts
// the engine's thread must not wait for this one: Enter frees the baton
// and enters ctx (runReleasing), and the call returns on whichever CPU
// the baton serves next. When that is this CPU, its exit is the caller's
// and Enter returns at once, which is the common case and costs little
// more than run. Otherwise the exit is another CPU's: Enter wakes that
// CPU's goroutine (asleep since its own CPU went to EL1 this way) and
// sleeps until a later call on some CPU finds this CPU's exit and wakes
// it in turn (comeBack).
//
// While no other CPU is on (or starting), none can take an exception to
// EL2, so none can want the baton: Enter keeps it (run), as on a board
// with one CPU. Another CPU comes on only through Start, which runs in Go
// on the baton's holder, so never while this CPU is at EL1 keeping it.
func (c *CPU) Enter(ctx *Context) {
	ctx.CPU, ctx.Stack = uint64(c.Slot), c.stack
	if onlineCPUs == 1 { // c alone: the caller runs on c
		run(ctx)
		return
	}
	c.back = false
	runReleasing(ctx)
	c.comeBack()
}

// setOnline sets c.online and keeps onlineCPUs its count.
func (c *CPU) setOnline(on bool) {
	switch {
	case on && !c.online:
		onlineCPUs++
	case !on && c.online:
		onlineCPUs--
	}
	c.online = on
}

// comeBack runs after the baton was freed by c's goroutine, the caller, on
// the CPU that took it: if that is not c, the exit there belongs to its
// own goroutine, which is woken while the caller sleeps until c is back.
func (c *CPU) comeBack() {
	x := arrivedAt()
	if x == c {
		return
	}
	// A goroutine asleep wakes now; one that has not gone to sleep yet
	// (a CPU's first start: its goroutine was just created) sees back
	// when it runs, and does not sleep.
	x.back = true
	runtime.Wake(x.g)
	c.sleepUntilBack()
}

// sleepUntilBack waits, asleep, until another goroutine finds the CPU back
// (comeBack).
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
// will serve it must call Serve and then WaitStart. While c is on, every
// Enter frees the baton.
func (c *CPU) Start() int64 {
	s := &secondaries[c.Slot]
	c.start = Context{CPU: uint64(c.Slot), Stack: stackTop(&s.stack), Vector: VectorStart}
	s.start = cpuStart{Stack: c.start.Stack, Slot: uint64(c.Slot), Join: 1, Ctx: AddressOf(&c.start)}
	c.back, c.started = false, false
	c.setOnline(true)
	st, _, _, _ := arm64.SMC(psciCPUOn64, c.MPIDR, secondaryEntryAddr(), AddressOf(&s.start))
	if int64(st) != psciSuccess {
		c.setOnline(false)
	}
	return int64(st)
}

// WaitStart waits, asleep, until c has started and took the baton; the
// caller then runs on c.
func (c *CPU) WaitStart() { c.sleepUntilBack() }

// Off turns c, the caller's CPU, off (PSCI CPU_OFF through the board's
// firmware), freeing the baton; the caller returns when the host has
// started c again (Start) and c has taken the baton.
func (c *CPU) Off() {
	c.started, c.back = false, false
	c.setOnline(false)
	releaseAndPowerOff()
	c.comeBack()
}

// arrivedAt runs on the CPU that just took the baton: it becomes here,
// and its start (if it was starting) is over. The CPU is the baton's
// owner, the slot takeBaton wrote from its context (Context.CPU); its
// affinity is checked against the CPU's own.
func arrivedAt() *CPU {
	slot := theBaton.Owner
	if slot >= uint64(ncpus) || cpus[slot].MPIDR != ThisCPU() {
		panic(fmt.Sprintf("engine: CPU %#x took the baton as slot %d, which is not its own", ThisCPU(), slot))
	}
	x := &cpus[slot]
	here, x.started = x, true
	return x
}
