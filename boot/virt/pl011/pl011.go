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
