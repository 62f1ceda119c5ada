//go:build tamago && arm64

package pl011

import (
	"bulkhead/arch/arm64"
	"bulkhead/boot/virt"
)

// Register offsets and flag bits (DDI 0183, section 3.2).
const (
	regDR   = 0x00
	regFR   = 0x18
	regIMSC = 0x38
	imscRX  = 1 << 4 // receive interrupt
	imscRT  = 1 << 6 // receive timeout interrupt
	frTXFF  = 1 << 5 // transmit FIFO full
	frRXFE  = 1 << 4 // receive FIFO empty
	maxSpin = 1 << 20
)

// Tx writes c, waiting while the transmit FIFO is full. The wait is bounded
// so that a wedged UART cannot hang its caller forever; the byte is then
// dropped.
func Tx(c byte) {
	for i := 0; i < maxSpin; i++ {
		if arm64.Read32(virt.UART.Base+regFR)&frTXFF == 0 {
			arm64.Write32(virt.UART.Base+regDR, uint32(c))
			return
		}
	}
}

// Rx returns a received byte, if one is waiting.
func Rx() (byte, bool) {
	if arm64.Read32(virt.UART.Base+regFR)&frRXFE != 0 {
		return 0, false
	}
	return byte(arm64.Read32(virt.UART.Base + regDR)), true
}

// SetRxInterrupt unmasks (on) or masks the receive and receive-timeout
// interrupts (UARTIMSC RXIM and RTIM, DDI 0183 3.3.10), which leaves the
// UART's interrupt line (SPI 1 on QEMU virt) asserted while a received
// byte waits; every other source stays masked.
func SetRxInterrupt(on bool) {
	var imsc uint32
	if on {
		imsc = imscRX | imscRT
	}
	arm64.Write32(virt.UART.Base+regIMSC, imsc)
}
