//go:build bulkhead_slow_timer

package el2

// fastTimer is off in a test build (tag bulkhead_slow_timer): a guest's
// timer interrupt waits for its vCPU's next full entry, after an IRQ exit
// to the host, as it did before DeliverTimer, so the timer suite can show
// it tells the two apart.
const fastTimer = false
