// Package arm64 holds the Armv8-A pieces the engine (EL2) and the hypervisor
// (EL1) share: MMIO accessors, barriers and cache maintenance, the generic
// counter, and SMC/HVC conduits. It is compiled only for GOOS=tamago
// GOARCH=arm64; on other hosts the package is empty.
//
// sysreg.h holds the system-register encodings Go's assembler lacks, for the
// other arch packages to include.
package arm64
