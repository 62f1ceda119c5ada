//go:build bulkhead_plant_serial_irq

package plant

// serialIRQBuild plants SerialIRQIntoGuest in a test binary built with the
// bulkhead_plant_serial_irq tag, which make race uses to show that the race
// test catches a VCPU_IRQ that writes the context of a vCPU in the guest.
const serialIRQBuild = true
