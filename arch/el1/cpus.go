//go:build tamago && arm64

package el1

import (
	"fmt"
	"sync/atomic"
	"time"

	"bulkhead/arch/arm64"
	"bulkhead/boot/fdt"
	"bulkhead/boot/virt"
	"bulkhead/isolation/abi"
)

// The hypervisor drives every host CPU from one loop, on one thread: the
// TamaGo runtime has one M, and no M could take over the work of a CPU
// that is away running a guest (there is no preemption signal to bring it
// back). The thread moves between the CPUs with a baton (cpus_arm64.s):
// a CPU goes away from Go with CallAway (an engine call, VCPU_RUN above
// all), RestAway or LeaveAway, which free the baton, and each of them
// returns on the next CPU that is back, which may be another one. The
// caller is then on that CPU and handles what it brought back: the loop
// keeps, per CPU, what it last gave it to do.

// defined in cpus_arm64.s
func secondaryGoEntry()
func secondaryGoEntryAddr() uint64
func callAway(x *[8]uint64)
func restAway(kick *uint32, until uint64)
func leaveAway()
func thisCPU() uint64
func sendSGI(v uint64)
func pendingIntID() uint64
func acknowledgeAndEnd() uint64

// baton is where the thread continues and the ticket lock that queues the
// CPUs waiting for it (go_asm.h offsets baton_SP, ...). The boot CPU
// holds ticket 0 from the start.
type baton struct {
	SP, G, FP, LR   uint64
	Ticket, Serving uint64
}

var theBaton = baton{Ticket: 1}

// batonSpins is how many times a CPU waiting for the baton looks before
// it naps; batonNap is a nap's length in counter ticks, set for about
// 20 µs by StartCPUs (cpus_arm64.s).
const batonSpins = 64

var batonNap uint64 = 1

// maxCPUs is the most CPUs a board's device tree may list (virt.CPUs).
const maxCPUs = 8

// hostCPU is one host CPU as the loop drives it.
type hostCPU struct {
	mpidr uint64
	// regs is the engine call the CPU makes away from Go and its result:
	// kept here, not on a goroutine's stack, which may move meanwhile.
	regs [8]uint64
	// kick is set by Kick and read by the CPU while it rests.
	kick uint32
	// ready: the CPU took the baton since it was started (kicks reach
	// it: its entry enabled its CPU interface).
	ready bool
}

var (
	cpus  [maxCPUs]hostCPU
	ncpus = 1
	// here is the slot of the CPU the thread runs on.
	here = 0
	// sharing is set once another CPU runs: from then on going away frees
	// the baton; before, the boot CPU keeps it and CallAway is a call.
	sharing bool
)

// BoardCPUs returns the MPIDR affinity of every CPU the machine's device
// tree (at BootArg) lists.
func BoardCPUs() ([]uint64, error) {
	size, err := fdt.TotalSize(PhysBytes(bootArg, fdt.SizePrefix))
	if err != nil {
		return nil, err
	}
	return virt.CPUs(PhysBytes(bootArg, size))
}

// StartCPUs starts every CPU of ids but the caller's with PSCI CPU_ON over
// HVC, which the engine carries out on a board with several CPUs; each
// sets up EL1 and queues for the baton. It returns a line for each CPU
// that did not start, which is left out. The loop sees each started CPU
// come back from its first Away call with nothing done.
func StartCPUs(ids []uint64) []error {
	self := ThisCPU()
	cpus[0] = hostCPU{mpidr: self, ready: true}
	batonNap = max(arm64.CounterFrequency()/50_000, 1)
	var errs []error
	for _, id := range ids {
		if id == self || ncpus == maxCPUs {
			continue
		}
		initRedistributor(id)
		x := [8]uint64{uint64(abi.PSCICPUOn64), id, secondaryGoEntryAddr(), 0}
		arm64.HVC(&x)
		if st := int64(x[0]); st != abi.PSCISuccess {
			errs = append(errs, fmt.Errorf("CPU %#x: CPU_ON: PSCI status %d", id, st))
			continue
		}
		cpus[ncpus] = hostCPU{mpidr: id}
		ncpus++
		sharing = true
	}
	return errs
}

// ThisCPU returns the MPIDR affinity of the CPU the caller runs on.
func ThisCPU() uint64 { return thisCPU() & virt.MPIDRAffinity }

// CPUs returns how many host CPUs the loop drives.
func CPUs() int { return ncpus }

// Here returns the slot of the CPU the caller runs on (0: the boot CPU).
func Here() int { return here }

// CallAway issues the engine call x on this CPU with the tick armed for
// tick (at once when it is not positive: a slice that is over still ends),
// and returns the slot of the next CPU back; its call's registers are
// Result(slot).
func CallAway(x [8]uint64, tick time.Duration) int {
	c := &cpus[here]
	c.regs = x
	Ticker{}.Arm(int64(tick))
	if !sharing {
		arm64.HVC(&c.regs)
		return back()
	}
	callAway(&c.regs)
	return back()
}

// Result returns the registers slot's last CallAway left.
func Result(slot int) [8]uint64 { return cpus[slot].regs }

// RestAway rests this CPU for about d, or until Kick, and returns the slot
// of the next CPU back.
func RestAway(d time.Duration) int {
	Ticker{}.Arm(int64(d))
	c := &cpus[here]
	if !sharing {
		if atomic.LoadUint32(&c.kick) == 0 {
			arm64.WaitForInterrupt()
		}
		return back()
	}
	restAway(&c.kick, arm64.Counter()+uint64(d)*arm64.CounterFrequency()/nanosPerSecond)
	return back()
}

// LeaveAway turns this CPU off and returns the slot of the next CPU back.
// The boot CPU stays: the call panics there.
func LeaveAway() int {
	if here == 0 {
		panic("el1: the boot CPU cannot leave")
	}
	cpus[here].ready = false
	leaveAway()
	return back()
}

// Kick brings slot back soon: its guest's run ends with an IRQ exit, its
// rest ends, or, if it is the caller's, its next rest does not begin.
func Kick(slot int) {
	c := &cpus[slot]
	atomic.StoreUint32(&c.kick, 1)
	if slot != here && c.ready {
		sendSGI(sgiTo(c.mpidr))
	}
}

// back runs on the CPU that took the baton: it becomes here, and settles
// what its last trip left: the tick disarmed, kicks acknowledged.
func back() int {
	mpidr := ThisCPU()
	for i := range cpus[:ncpus] {
		if cpus[i].mpidr == mpidr {
			here = i
			c := &cpus[i]
			c.ready = true
			Ticker{}.Disarm()
			endKicks()
			atomic.StoreUint32(&c.kick, 0)
			return i
		}
	}
	panic(fmt.Sprintf("el1: CPU %#x took the baton, but the hypervisor did not start it", mpidr))
}

// endKicks acknowledges and ends every pending kick; it leaves any other
// interrupt pending (the engine's own, such as the virtual timer's PPI).
func endKicks() {
	for range 64 {
		if pendingIntID()&intIDMask != KickSGI {
			return
		}
		acknowledgeAndEnd()
	}
}
