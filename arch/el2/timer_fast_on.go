//go:build !bulkhead_slow_timer

package el2

// fastTimer: the engine presents a loaded vCPU's virtual timer interrupt
// without an exit to the host (DeliverTimer); the test build tag
// bulkhead_slow_timer turns it off (timer_fast_off.go).
const fastTimer = true
