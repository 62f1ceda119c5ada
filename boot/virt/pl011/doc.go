// Package pl011 drives the PL011 UART of QEMU `virt` for console output
// (PrimeCell UART (PL011) Technical Reference Manual, DDI 0183). It is
// compiled only for GOOS=tamago GOARCH=arm64.
package pl011
