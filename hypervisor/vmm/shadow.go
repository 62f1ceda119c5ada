package vmm

import (
	"bulkhead/hypervisor/outcome"
	"bulkhead/hypervisor/vmachine"
	"bulkhead/isolation/abi"
)

// The console fast path (abi.MMIOShadow): a guest writing to its PL011
// polls FR and writes DR for every character, two exits each. The
// hypervisor lets the engine answer FR reads from the value its PL011 model
// has, and collect DR writes in a byte log; it drains the log before it
// handles any exit of the VM and feeds the bytes to the model, so output
// order and the model's state are as if every access had exited.

// PL011 register offsets the fast path covers (DDI 0183, 3.2).
const (
	uartDR = 0x00
	uartFR = 0x18
)

// shadowUART marks the VM's UART registers with the engine.
func (h *Hypervisor) shadowUART(vm *VM) error {
	if _, err := call(h.Engine, "MMIO_SHADOW", abi.MMIOShadow, vm.ID, vmachine.UART.Base+uartDR, abi.ShadowLog, 0); err != nil {
		return err
	}
	vm.frShadow = ^uint64(0)
	return h.syncFR(vm)
}

// syncFR gives the engine the model's FR whenever it changed.
func (h *Hypervisor) syncFR(vm *VM) error {
	fr := vm.uart.Read(uartFR, 4)
	if fr == vm.frShadow {
		return nil
	}
	if _, err := call(h.Engine, "MMIO_SHADOW", abi.MMIOShadow, vm.ID, vmachine.UART.Base+uartFR, abi.ShadowRead, fr); err != nil {
		return err
	}
	vm.frShadow = fr
	return nil
}

// drainLog feeds the bytes the guest wrote to DR without exiting to the
// model, oldest first.
func (h *Hypervisor) drainLog(vm *VM) {
	for {
		x, err := call(h.Engine, "MMIO_LOG_READ", abi.MMIOLogRead, vm.ID)
		if err != nil {
			vm.stop(outcome.Aborted, "console log: %v", err)
			return
		}
		n := x[1]
		if n == 0 {
			return
		}
		for i := uint64(0); i < n && i < abi.ShadowLogBatch; i++ {
			vm.uart.Write(uartDR, 1, x[2+i/8]>>(8*(i%8))&0xff)
		}
		vm.logged += int(n)
		h.updateUARTLine(vm)
	}
}
