package vgic_test

import (
	"fmt"

	"bulkhead/hypervisor/vgic"
	"bulkhead/hypervisor/vmachine"
)

// The hypervisor's side of one VM: guest MMIO accesses inside the GIC's
// frames go to the model, device lines are driven into it, and every
// change of a deliverable set becomes one VCPU_IRQ.
func Example() {
	g := vgic.New(2, 32)
	mmioWrite := func(ipa uint64, size int, value uint64) {
		if g.Contains(ipa) {
			g.Write(ipa, size, value)
		}
	}
	uart := vmachine.UARTIntID

	// The guest puts the UART's SPI in Group 1, enables it, routes it to
	// vCPU 1 and enables the distributor.
	mmioWrite(vmachine.GICD.Base+vgic.GICDIGROUPR+4, 4, 1<<(uart%32))
	mmioWrite(vmachine.GICD.Base+vgic.GICDISENABLER+4, 4, 1<<(uart%32))
	mmioWrite(vmachine.GICD.Base+vgic.GICDIROUTER+8*uint64(uart), 8, 1)
	mmioWrite(vmachine.GICD.Base+vgic.GICDCTLR, 4, vgic.CtlrEnableGrp1)

	g.SetLevel(uart, 0, true) // the UART raises its line
	for _, c := range g.Changes() {
		fmt.Printf("VCPU_IRQ(vcpu %d, INTID %d, level %t)\n", c.VCPU, c.INTID, c.Level)
	}
	g.SetLevel(uart, 0, false) // the guest read the character
	for _, c := range g.Changes() {
		fmt.Printf("VCPU_IRQ(vcpu %d, INTID %d, level %t)\n", c.VCPU, c.INTID, c.Level)
	}
	// Output:
	// VCPU_IRQ(vcpu 1, INTID 33, level true)
	// VCPU_IRQ(vcpu 1, INTID 33, level false)
}
