//go:build !bulkhead_stay_on_boot_cpu

package el2

// stayOnBootCPU, set only by the test build tag bulkhead_stay_on_boot_cpu,
// makes RunGoOn skip the handoff, so that the boot test can show the
// engine's check of where Go ran catches a runtime that never moved.
const stayOnBootCPU = false
