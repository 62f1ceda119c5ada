package vmm

import (
	"bulkhead/hypervisor/outcome"
	"fmt"
	"time"

	"bulkhead/hypervisor/vmachine"
	"bulkhead/isolation/abi"
)

// Slice is how long a vCPU keeps the CPU before the ticker takes it back,
// so that a guest spinning forever cannot starve the others.
const Slice = 5 * time.Millisecond

// LoneSlice bounds the slice of a vCPU that runs alone (no other vCPU of
// any VM is runnable or waiting) after it last wrote to its console or was
// given input: nobody needs the CPU, so the ticker does not take it back
// every Slice. Such a vCPU runs with VCPU_RUN_ALONE: its WFI waits in the
// guest, where its own timer wakes it at once, instead of giving the CPU
// back. Its console output waits in the engine's log until its run ends,
// so while it writes the tick comes every LoneSlice and the output
// follows within that. Each run alone the tick ends in silence doubles
// the next slice, up to MaxLoneSlice: an idle guest is interrupted a few
// times a second at most. Console input does not wait for the tick: the
// console's receive interrupt ends the run (Hypervisor.InputInterrupt).
const LoneSlice = 10 * time.Millisecond

// MaxLoneSlice is the longest slice of a vCPU that runs alone; a VM's
// timeout ends it sooner.
const MaxLoneSlice = 500 * time.Millisecond

// IdleWait is how long the hypervisor waits when every vCPU waits: a
// guest's timer interrupt is presented when its vCPU is next entered, so
// this bounds the timer's latency for an idle guest.
const IdleWait = time.Millisecond

// notSupported is SMCCC NOT_SUPPORTED as a guest reads it in x0.
var notSupported = abi.NotSupported.Reg()

// trip is what the loop last gave a host CPU to do.
type trip struct {
	kind tripKind
	vm   *VM // run: the vCPU's VM and index
	vcpu int
	end  time.Time // run: the end of its slice; rest: of the rest
	// again: the run ended with an exit the loop completed at once, the
	// slice is not over, and the same vCPU goes on on the same CPU.
	again bool
	// alone: the run is a VCPU_RUN_ALONE; reply is what it passed, given
	// back to a VCPU_RUN if the engine does not know the call.
	alone bool
	reply uint64
	// said is the VM's console count when the run began (quietRun).
	said uint64
}

type tripKind uint8

const (
	tripNone     tripKind = iota // in the loop (CPU 0 at the start)
	tripStarting                 // started; comes back once with nothing done
	tripRun
	tripRest
	tripLeft // turned off
)

// Run drives every host CPU from one loop until every VM has ended: each
// CPU that comes back brings what its trip did (a vCPU's exit, the end of
// a rest), the loop handles it and sends that CPU on its next trip — the
// next runnable vCPU that no CPU runs, round robin over the VMs, or a
// rest when there is none — and continues on the next CPU back. Each VM
// is destroyed and its memory taken back once it has ended and none of
// its vCPUs is on a CPU. The other CPUs are turned off at the end. It
// returns the first teardown error.
func (h *Hypervisor) Run() error {
	host := h.host()
	h.trips = make([]trip, host.CPUs())
	for i := range h.trips[1:] {
		h.trips[i+1].kind = tripStarting
	}
	h.firstErr = nil
	cpu := 0
	for {
		h.cpu = cpu
		h.arrive(host, cpu)
		h.pollInput()
		h.endStopped(host)
		if len(h.VMs) == 0 && h.gathered(cpu) {
			return h.firstErr
		}
		cpu = h.depart(host, cpu)
	}
}

// host is the Host the loop drives: Host, or the one CPU of Engine.
func (h *Hypervisor) host() Host {
	if h.Host != nil {
		return h.Host
	}
	return soloHost{h}
}

// arrive handles what cpu's trip brought back: a vCPU's exit record, or
// the end of a rest. Every vCPU waiting in WFI is made runnable again
// after a rest on one CPU, and once per IdleWait whatever the CPUs do: a
// guest's timer interrupt is presented when its vCPU is next entered
// (unless the engine delivers it while the vCPU runs), and the hypervisor
// cannot read when the timer fires. Were the wakes tied to rests, vCPUs
// that spin waiting for a sleeping one (Linux's stop_machine) would keep
// every CPU busy and it asleep for good.
func (h *Hypervisor) arrive(host Host, cpu int) {
	t := &h.trips[cpu]
	rested := t.kind == tripRest
	if t.kind == tripRun {
		h.handleRun(t, host.Result(cpu))
	}
	t.kind = tripNone
	if rested && len(h.trips) == 1 || !time.Now().Before(h.nextWake) {
		h.wakeIdle()
		h.nextWake = time.Now().Add(IdleWait)
	}
}

// handleRun handles the exit record x of the vCPU t ran.
func (h *Hypervisor) handleRun(t *trip, x [8]uint64) {
	vm, i := t.vm, t.vcpu
	t.again = false
	st := abi.StatusOf(x[0])
	if st == abi.NotSupported && t.alone {
		// An engine without VCPU_RUN_ALONE: the vCPU did not run, and
		// runs with VCPU_RUN from now on.
		h.noAlone, vm.reply[i], vm.where[i] = true, t.reply, -1
		return
	}
	if st != abi.Success {
		vm.where[i] = -1
		vm.stop(outcome.Aborted, "vCPU %d: %v", i, &StatusError{"VCPU_RUN", st})
		return
	}
	h.drainLog(vm)
	h.watchExit(vm, x)
	if x[1] < uint64(len(vm.counts)) {
		vm.counts[x[1]]++
	}
	vm.reply[i] = h.exit(vm, i, x)
	if h.quietRun(t, vm, x) {
		// A guest waiting in WFI in the guest makes no WFI exit, where a
		// partial line (a shell's prompt) is shown otherwise: a run the
		// tick ended without a byte of console output shows it instead.
		vm.console.Flush()
	}
	if t.alone {
		vm.lone = nextLoneSlice(vm.lone, abi.Exit(x[1]) == abi.ExitIRQ && vm.console.Count() == t.said)
	}
	t.again = quick(abi.Exit(x[1])) && !vm.done && vm.vcpus[i] == vcpuRunnable && time.Now().Before(t.end)
	if !t.again {
		vm.where[i] = -1
	}
}

// depart sends cpu on its next trip and returns the next CPU back. A vCPU
// whose exit was completed at once goes on where it was: device accesses,
// forwarded calls and SGIs do not give the CPU away, so a guest printing
// beside a busy neighbour is not held to one character per slice.
func (h *Hypervisor) depart(host Host, cpu int) int {
	t := &h.trips[cpu]
	if len(h.VMs) == 0 {
		return h.gather(host, cpu)
	}
	if t.again {
		return h.runTrip(host, cpu, t.vm, t.vcpu, t.end, t.alone && h.alone(t.vm, t.vcpu))
	}
	if vm, i, ok := h.pick(); ok {
		return h.runTrip(host, cpu, vm, i, time.Now().Add(h.slice(vm, i)), h.alone(vm, i))
	}
	*t = trip{kind: tripRest, end: time.Now().Add(IdleWait)}
	return host.Rest(IdleWait)
}

// runTrip runs vCPU i of vm on cpu until end at the latest, with
// VCPU_RUN_ALONE if alone.
func (h *Hypervisor) runTrip(host Host, cpu int, vm *VM, i int, end time.Time, alone bool) int {
	h.trips[cpu] = trip{kind: tripRun, vm: vm, vcpu: i, end: end, alone: alone, reply: vm.reply[i], said: vm.console.Count()}
	vm.where[i] = cpu
	vm.raised[i] = false
	if len(vm.runsOn) != len(h.trips) {
		vm.runsOn = make([]int, len(h.trips))
	}
	vm.runsOn[cpu]++
	id := abi.VCPURun
	if alone {
		id = abi.VCPURunAlone
	}
	x := [8]uint64{uint64(id), vm.ID, uint64(i), vm.reply[i]}
	vm.reply[i] = 0
	return host.Run(x, max(time.Until(end), 0))
}

// pick returns the next runnable vCPU no CPU runs, round robin over every
// VM's vCPUs.
func (h *Hypervisor) pick() (*VM, int, bool) {
	n := 0
	for _, vm := range h.VMs {
		n += len(vm.vcpus)
	}
	for k := range n {
		vm, i := h.nth((h.cursor + 1 + k) % n)
		if !vm.done && vm.vcpus[i] == vcpuRunnable && vm.where[i] < 0 {
			h.cursor = (h.cursor + 1 + k) % n
			return vm, i, true
		}
	}
	return nil, 0, false
}

// nth is the k-th vCPU over the VMs in order.
func (h *Hypervisor) nth(k int) (*VM, int) {
	for _, vm := range h.VMs {
		if k < len(vm.vcpus) {
			return vm, k
		}
		k -= len(vm.vcpus)
	}
	panic("vmm: vCPU index out of range")
}

// gather ends the loop's CPUs once every VM has ended: a CPU other than 0
// turns off; CPU 0 brings the others back (Kick) and rests until they
// have.
func (h *Hypervisor) gather(host Host, cpu int) int {
	if cpu != 0 {
		h.trips[cpu] = trip{kind: tripLeft}
		return host.Leave()
	}
	for c := range h.trips[1:] {
		if h.trips[c+1].kind != tripLeft {
			host.Kick(c + 1)
		}
	}
	h.trips[0] = trip{kind: tripRest, end: time.Now().Add(IdleWait)}
	return host.Rest(IdleWait)
}

// gathered reports whether the loop, on cpu, is on CPU 0 with every other
// CPU off.
func (h *Hypervisor) gathered(cpu int) bool {
	if cpu != 0 {
		return false
	}
	for _, t := range h.trips[1:] {
		if t.kind != tripLeft {
			return false
		}
	}
	return true
}

// endStopped ends each VM that ran past its timeout or stopped, once none
// of its vCPUs is on a CPU: those that are are brought back (Kick).
func (h *Hypervisor) endStopped(host Host) {
	for _, vm := range append([]*VM(nil), h.VMs...) {
		h.checkTimeout(vm)
		if !vm.done {
			continue
		}
		if h.kickRunning(host, vm) {
			continue
		}
		if err := h.end(vm); err != nil && h.firstErr == nil {
			h.firstErr = err
		}
	}
}

// kickRunning kicks, once, every CPU that runs a vCPU of vm, and reports
// whether there was one.
func (h *Hypervisor) kickRunning(host Host, vm *VM) bool {
	running := false
	for _, c := range vm.where {
		if c >= 0 {
			running = true
			if !vm.kicked {
				host.Kick(c)
			}
		}
	}
	vm.kicked = running
	return running
}

// wakeIdle makes every vCPU waiting in WFI runnable again, so that it is
// entered and sees its timer's interrupt.
func (h *Hypervisor) wakeIdle() {
	for _, vm := range h.VMs {
		for i, s := range vm.vcpus {
			if s == vcpuIdle {
				vm.vcpus[i] = vcpuRunnable
			}
		}
	}
}

// madeRunnable follows vCPU i of vm becoming runnable (an interrupt for a
// vCPU in WFI, a CPU_ON): a CPU that rests is brought back to run it.
func (h *Hypervisor) madeRunnable(vm *VM, i int) {
	if vm.where[i] >= 0 {
		return
	}
	for c, t := range h.trips {
		if t.kind == tripRest {
			h.host().Kick(c)
			return
		}
	}
}

// interrupted follows an interrupt raised for vCPU i of vm: if another CPU
// runs it, that CPU is kicked so that the vCPU comes back and is entered
// again with the interrupt (the engine replays a VCPU_IRQ that meets a
// running vCPU when it comes back).
func (h *Hypervisor) interrupted(vm *VM, i int) {
	if c := vm.where[i]; c >= 0 && c != h.cpu {
		h.host().Kick(c)
	}
}

// slice is how long vCPU i of vm may run before the ticker takes the CPU
// back: Slice when another vCPU could use it, else LoneSlice, and never
// past the VM's timeout.
func (h *Hypervisor) slice(vm *VM, i int) time.Duration {
	d := max(vm.lone, LoneSlice) // zero before its first run alone
	if h.othersWant(vm, i) {
		d = Slice
	}
	if vm.spec.Timeout > 0 {
		d = min(d, max(vm.spec.Timeout-time.Since(vm.started), 0))
	}
	return d
}

// nextLoneSlice is the slice of a vCPU's next run alone after a run alone
// whose slice was d: doubled, up to MaxLoneSlice, when an interrupt ended
// it and the guest wrote nothing (it waits, and nothing waits for it);
// LoneSlice after any other.
func nextLoneSlice(d time.Duration, silent bool) time.Duration {
	if !silent {
		return LoneSlice
	}
	return min(max(d, LoneSlice)*2, MaxLoneSlice)
}

// quietRun reports whether the run t made, which ended with exit record x,
// was a VCPU_RUN_ALONE that the host's interrupt ended and in which the VM
// wrote nothing to its console, and the VM is the only one. A run can be
// quiet in the middle of a line (an interrupt pending at its entry ends
// it at once), and with several VMs on one output a line cut there would
// let the others' lines in; with one, the rest of the line follows
// without a prefix.
func (h *Hypervisor) quietRun(t *trip, vm *VM, x [8]uint64) bool {
	return t.alone && abi.Exit(x[1]) == abi.ExitIRQ && vm.console.Count() == t.said && len(h.VMs) == 1
}

// alone reports whether vCPU i of vm runs with VCPU_RUN_ALONE: no other
// vCPU wants a CPU (othersWant), and the engine knows the call. A vCPU
// that waits in WFI then waits in the guest: nothing else could use the
// CPU, and its own timer wakes it without the hypervisor.
func (h *Hypervisor) alone(vm *VM, i int) bool { return !h.noAlone && !h.othersWant(vm, i) }

// othersWant reports whether any vCPU but vCPU i of vm is runnable or
// waiting in WFI (a waiting one is made runnable when a CPU rests) and
// on no CPU, while no CPU rests that could take it.
func (h *Hypervisor) othersWant(vm *VM, i int) bool {
	for _, t := range h.trips {
		if t.kind == tripRest {
			return false
		}
	}
	for _, w := range h.VMs {
		for j, s := range w.vcpus {
			if (w != vm || j != i) && (s == vcpuRunnable || s == vcpuIdle) && !w.done && w.where[j] < 0 {
				return true
			}
		}
	}
	return false
}

// quick reports whether an exit is one the hypervisor completes at once.
func quick(e abi.Exit) bool {
	return e == abi.ExitMMIO || e == abi.ExitCall || e == abi.ExitSGI
}

// checkTimeout ends a VM that has run longer than its Timeout.
func (h *Hypervisor) checkTimeout(vm *VM) {
	if vm.spec.Timeout > 0 && !vm.done && time.Since(vm.started) > vm.spec.Timeout {
		vm.stop(outcome.TimedOut, "ran longer than %v", vm.spec.Timeout)
	}
}

// exit handles one exit record and returns the reply for the vCPU's next
// VCPU_RUN.
func (h *Hypervisor) exit(vm *VM, i int, x [8]uint64) uint64 {
	switch abi.Exit(x[1]) {
	case abi.ExitMMIO:
		return h.mmio(vm, x[2], x[3], x[4])
	case abi.ExitCall:
		return notSupported
	case abi.ExitWFI:
		if x[2] == abi.WFIWaitForEvent {
			break // WFE: stay runnable; the step ends and others run
		}
		if vm.raised[i] {
			// An interrupt came while it ran, perhaps after its WFI
			// trapped: the engine presents it at the next entry.
			break
		}
		vm.vcpus[i] = vcpuIdle
		// A guest that waits has said what it had to say: show a partial
		// line (a shell's prompt) now rather than at its next newline.
		vm.console.Flush()
	case abi.ExitIRQ:
	case abi.ExitShutdown:
		vm.stop(map[uint64]outcome.Kind{0: outcome.PoweredOff, 1: outcome.Reset}[x[2]&1], "")
	case abi.ExitAbort:
		vm.stop(outcome.Aborted, "vCPU %d took exception class %#x", i, x[2])
	case abi.ExitVCPUState:
		h.vcpuState(vm, x[2], x[3] == 1)
	case abi.ExitSGI:
		vm.gic.SendSGI(i, x[2])
		h.flushIRQs(vm)
	default:
		vm.stop(outcome.Aborted, "unknown exit %d from vCPU %d", x[1], i)
	}
	return 0
}

func (h *Hypervisor) vcpuState(vm *VM, v uint64, on bool) {
	if v >= uint64(len(vm.vcpus)) {
		vm.stop(outcome.Aborted, "engine reported vCPU %d, which the VM does not have", v)
		return
	}
	vm.vcpus[v] = vcpuOff
	if on {
		vm.vcpus[v] = vcpuRunnable
		h.madeRunnable(vm, int(v))
	}
	for _, s := range vm.vcpus {
		if s != vcpuOff {
			return
		}
	}
	vm.stop(outcome.Aborted, "every vCPU is off")
}

// mmio emulates one access to the machine's devices and returns the value
// a read produces: the PL011 model, the exit-status register, the virtio
// devices, or the GICv3 distributor and redistributors model. Anything else reads as zero and ignores writes.
func (h *Hypervisor) mmio(vm *VM, ipa, access, value uint64) uint64 {
	size := 1 << (access >> abi.AccessSizeShift & 3)
	write := access&abi.AccessWrite != 0
	var read uint64
	switch {
	case vmachine.UART.Contains(ipa, uint64(size)):
		off := ipa - vmachine.UART.Base
		if write {
			vm.uart.Write(off, size, value)
		} else {
			read = vm.uart.Read(off, size)
		}
		h.updateUARTLine(vm)
	case vmachine.ExitStatus.Contains(ipa, uint64(size)):
		read = h.exitStatus(vm, ipa-vmachine.ExitStatus.Base, write, value)
	case vmachine.Virtio.Contains(ipa, uint64(size)):
		read = h.virtioAccess(vm, ipa, size, write, value)
	case vm.gic.Contains(ipa):
		if write {
			vm.gic.Write(ipa, size, value)
			h.flushIRQs(vm)
		} else {
			read = vm.gic.Read(ipa, size)
		}
	}
	return read
}

// exitStatus emulates the exit-status register: a write at offset 0 of a
// value from 0 to outcome.MaxGuestStatus is the status the VM ends with
// when it powers off; a read returns it. A larger value becomes
// MaxGuestStatus, with a line on the console: it still says the guest
// failed, and it stays out of the statuses bulkhead keeps for itself.
func (h *Hypervisor) exitStatus(vm *VM, off uint64, write bool, value uint64) uint64 {
	if off != 0 {
		return 0
	}
	if !write {
		return uint64(vm.status)
	}
	if value > outcome.MaxGuestStatus {
		fmt.Fprintf(h.Out, "hypervisor: vm %s: status %d taken as %d (a guest chooses 0 to %d)\n",
			vm.Name, value, outcome.MaxGuestStatus, outcome.MaxGuestStatus)
		value = outcome.MaxGuestStatus
	}
	vm.status = int(value)
	return 0
}

// end reports why vm stopped and takes its memory back.
func (h *Hypervisor) end(vm *VM) error {
	vm.console.Flush()
	fmt.Fprintln(h.Out, vm.outcome().Line(vm.ID))
	fmt.Fprintf(h.Out, "hypervisor: vm %s exits:%s; console bytes without an exit: %d\n",
		vm.Name, exitCounts(vm.counts[:]), vm.logged)
	if len(vm.runsOn) > 1 {
		fmt.Fprintf(h.Out, "hypervisor: vm %s ran on host CPUs (VCPU_RUN calls on each):%s\n", vm.Name, counts(vm.runsOn))
	}
	if vm.nic != nil {
		fmt.Fprintf(h.Out, "hypervisor: vm %s: %s\n", vm.Name, vm.nic.Stats())
	}
	err := h.Destroy(vm)
	h.reportSecret(vm)
	if err != nil {
		// The VM leaves the schedule either way; pages that failed the
		// check stay out of the pool rather than reach another VM.
		h.remove(vm)
		fmt.Fprintf(h.Out, "hypervisor: vm %s: teardown FAILED: %v\n", vm.Name, err)
		return err
	}
	how := "reclaimed"
	if vm.Shared {
		how = "unshared and wiped"
	}
	fmt.Fprintf(h.Out, "hypervisor: vm %s: %d pages %s, all zero\n", vm.Name, vm.RAM.Pages, how)
	return nil
}

// counts formats n as " a b c".
func counts(n []int) string {
	out := ""
	for _, k := range n {
		out += fmt.Sprintf(" %d", k)
	}
	return out
}

// exitCounts formats the non-zero exit counts by reason.
func exitCounts(counts []int) string {
	out := ""
	for reason, n := range counts {
		if n > 0 {
			out += fmt.Sprintf(" %s %d", abi.Exit(reason), n)
		}
	}
	if out == "" {
		return " none"
	}
	return out
}
