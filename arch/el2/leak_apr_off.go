//go:build !bulkhead_leak_apr

package el2

// leakAPR, set only by the test build tag bulkhead_leak_apr, takes the GIC
// active priority registers out of the world switch, so that the state
// suite can show it sees the leak.
const leakAPR = false
