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
// any VM is runnable or waiting): nobody needs the CPU, so the ticker does
// not take it back every Slice; it still does now and then, because the
// hypervisor polls console input and checks timeouts between runs.
const LoneSlice = 100 * time.Millisecond

// IdleWait is how long the hypervisor waits when every vCPU waits: a
// guest's timer interrupt is presented when its vCPU is next entered, so
// this bounds the timer's latency for an idle guest.
const IdleWait = time.Millisecond

// notSupported is SMCCC NOT_SUPPORTED as a guest reads it in x0.
var notSupported = abi.NotSupported.Reg()

// Run schedules the runnable vCPUs of every VM round robin, one VCPU_RUN
// each, until every VM has ended; each VM is destroyed and its memory taken
// back as it ends. It returns the first teardown error.
func (h *Hypervisor) Run() error {
	var firstErr error
	for len(h.VMs) > 0 {
		h.pollInput()
		ran := false
		for _, vm := range append([]*VM(nil), h.VMs...) {
			h.checkTimeout(vm)
			ran = h.runVM(vm) || ran
			if vm.done {
				if err := h.end(vm); err != nil && firstErr == nil {
					firstErr = err
				}
			}
		}
		if !ran {
			if h.Idle != nil {
				h.Idle(IdleWait)
			}
			h.wakeIdle()
		}
	}
	return firstErr
}

// runVM gives each runnable vCPU of vm one VCPU_RUN, reporting whether any
// ran.
func (h *Hypervisor) runVM(vm *VM) bool {
	ran := false
	for i := range vm.vcpus {
		if !vm.done && vm.vcpus[i] == vcpuRunnable {
			h.step(vm, i)
			ran = true
		}
	}
	return ran
}

// wakeIdle makes every vCPU waiting in WFI runnable again. No virtual
// interrupt reaches a guest yet, so a WFI only yields the CPU.
func (h *Hypervisor) wakeIdle() {
	for _, vm := range h.VMs {
		for i, s := range vm.vcpus {
			if s == vcpuIdle {
				vm.vcpus[i] = vcpuRunnable
			}
		}
	}
}

// step runs vCPU i for one slice: exits the hypervisor completes at once
// (device accesses, forwarded calls, SGIs) do not give the CPU away, so a
// guest printing beside a busy neighbour is not held to one character per
// slice; the ticker bounds the slice either way.
func (h *Hypervisor) step(vm *VM, i int) {
	if vm.reply == nil {
		vm.reply = make([]uint64, len(vm.vcpus))
	}
	end := time.Now().Add(h.slice(vm, i))
	for {
		h.Ticker.Arm(int64(time.Until(end)))
		x, err := call(h.Engine, "VCPU_RUN", abi.VCPURun, vm.ID, uint64(i), vm.reply[i])
		h.Ticker.Disarm()
		vm.reply[i] = 0
		if err != nil {
			vm.stop(outcome.Aborted, "vCPU %d: %v", i, err)
			return
		}
		h.drainLog(vm)
		h.watchExit(vm, x)
		if x[1] < uint64(len(vm.counts)) {
			vm.counts[x[1]]++
		}
		vm.reply[i] = h.exit(vm, i, x)
		if !quick(abi.Exit(x[1])) || vm.done || vm.vcpus[i] != vcpuRunnable || time.Now().After(end) {
			return
		}
	}
}

// slice is how long vCPU i of vm may run before the ticker takes the CPU
// back: Slice when another vCPU could use it, else LoneSlice, and never
// past the VM's timeout.
func (h *Hypervisor) slice(vm *VM, i int) time.Duration {
	d := LoneSlice
	if h.othersWant(vm, i) {
		d = Slice
	}
	if vm.spec.Timeout > 0 {
		d = min(d, max(vm.spec.Timeout-time.Since(vm.started), 0))
	}
	return d
}

// othersWant reports whether any vCPU but vCPU i of vm is runnable or
// waiting in WFI (a waiting one is made runnable when nobody runs).
func (h *Hypervisor) othersWant(vm *VM, i int) bool {
	for _, w := range h.VMs {
		for j, s := range w.vcpus {
			if (w != vm || j != i) && (s == vcpuRunnable || s == vcpuIdle) && !w.done {
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
