// Package isolation is a guest, written as ordinary Go tests that run
// inside a VM (bulkhead test), that tries to reach memory that is not its
// own: beyond its RAM, where the engine's and the hypervisor's memory lie
// in physical space, where other VMs' RAM comes from, and devices the
// machine does not emulate. Every access must abort, and the guest must
// keep running. It also leaves a secret (-secret=<hex>) in its memory and
// registers and makes a forwarded call, so that the host can check the
// secret never reaches the hypervisor.
package isolation
