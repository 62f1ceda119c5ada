//go:build bulkhead_stay_on_boot_cpu

package el2

// stayOnBootCPU: a test build whose RunGoOn runs its function on the boot
// CPU (see stay_off.go).
const stayOnBootCPU = true
