package vmm

import (
	"bulkhead/hypervisor/outcome"
	"bulkhead/hypervisor/vgic"
	"bulkhead/hypervisor/vmachine"
	"bulkhead/isolation/abi"
)

// guestSPIs is how many shared peripheral interrupts a guest's distributor
// has (INTIDs 32-95); the PL011's is SPI 1.
const guestSPIs = 64

// sgis is the number of software-generated interrupts, INTIDs 0-15.
const sgis = 16

// flushIRQs tells the engine every change in what vm's interrupt model says
// is deliverable. A raised SGI is handed over at once: the engine latches
// edge-triggered interrupts, so the model forgets it (Delivered) and the
// lowering that follows does not withdraw it. A vCPU waiting in WFI with an
// interrupt raised becomes runnable.
func (h *Hypervisor) flushIRQs(vm *VM) {
	for changes := vm.gic.Changes(); len(changes) > 0; changes = vm.gic.Changes() {
		for _, c := range changes {
			h.setLine(vm, c)
		}
	}
}

func (h *Hypervisor) setLine(vm *VM, c vgic.Change) {
	level := uint64(0)
	if c.Level {
		level = 1
	}
	if _, err := call(h.Engine, "VCPU_IRQ", abi.VCPUIRQ, vm.ID, uint64(c.VCPU), uint64(c.INTID), level); err != nil {
		vm.stop(outcome.Aborted, "interrupt %d for vCPU %d: %v", c.INTID, c.VCPU, err)
		return
	}
	if !c.Level {
		return
	}
	if c.INTID < sgis {
		vm.gic.Delivered(c.VCPU, c.INTID)
	}
	if vm.where[c.VCPU] >= 0 {
		vm.raised[c.VCPU] = true
	}
	h.interrupted(vm, c.VCPU)
	if vm.vcpus[c.VCPU] == vcpuIdle {
		vm.vcpus[c.VCPU] = vcpuRunnable
		h.madeRunnable(vm, c.VCPU)
	}
}

// updateUARTLine follows the PL011's interrupt output (SPI 1) and keeps
// the engine's copy of its FR current.
func (h *Hypervisor) updateUARTLine(vm *VM) {
	vm.gic.SetLevel(vmachine.UARTIntID, 0, vm.uart.IRQ())
	h.flushIRQs(vm)
	if err := h.syncFR(vm); err != nil {
		vm.stop(outcome.Aborted, "console status: %v", err)
	}
}

// pollInput hands bytes typed on the machine's console to the first VM's
// UART, as many as its receive FIFO takes; the rest wait for the next
// call, with the console's receive interrupt off until the FIFO has room.
// A VM given input runs its next slice alone from LoneSlice again: it
// is about to answer.
func (h *Hypervisor) pollInput() {
	if h.Input == nil || len(h.VMs) == 0 {
		h.setInputInterrupt(false)
		return
	}
	vm := h.VMs[0]
	for vm.uart.RXSpace() > 0 {
		c, ok := h.Input()
		if !ok {
			break
		}
		vm.uart.Receive([]byte{c})
		vm.lone = LoneSlice
	}
	h.setInputInterrupt(vm.uart.RXSpace() > 0 && !vm.done)
	h.updateUARTLine(vm)
}

// setInputInterrupt turns the console's receive interrupt on or off, if
// the machine has one and it changes.
func (h *Hypervisor) setInputInterrupt(on bool) {
	if h.InputInterrupt != nil && on != h.inputOn {
		h.InputInterrupt(on)
		h.inputOn = on
	}
}
