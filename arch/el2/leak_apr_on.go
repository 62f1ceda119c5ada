//go:build bulkhead_leak_apr

package el2

// leakAPR: a test build that neither switches nor clears ICH_AP0R<n>_EL2
// and ICH_AP1R<n>_EL2 (see leak_apr_off.go).
const leakAPR = true
