//go:build !bulkhead_plant_serial_irq

package plant

// serialIRQBuild is false in every build but the bulkhead_plant_serial_irq
// one.
const serialIRQBuild = false
