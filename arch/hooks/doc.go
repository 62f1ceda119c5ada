// Package hooks supplies the TamaGo runtime hooks that are the same for
// every bulkhead image, whatever its exception level: console output on the
// PL011, time from the generic counter, random numbers, and an empty
// Hwinit0 (cpuinit has already turned the MMU on). The el1 and el2 packages
// import it and add what differs per image: memory layout and exit.
//
// It is compiled only for GOOS=tamago GOARCH=arm64.
package hooks
