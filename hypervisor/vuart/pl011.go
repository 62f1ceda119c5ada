// Package vuart emulates the Arm PrimeCell UART (PL011) that guests see at
// vmachine.UART, as a pure state machine: the hypervisor feeds it the MMIO
// accesses the engine reports (DESIGN.md section 3, exit reason MMIO) and the
// bytes typed for the guest, and reads back the bytes the guest transmitted
// and the level of the UART's interrupt line, which it forwards as the
// guest's SPI with VCPU_IRQ.
//
// The register model follows the PL011 Technical Reference Manual (ARM DDI
// 0183, "Register descriptions") for what Linux's amba-pl011 driver and
// simple bare-metal guests use. The transmitter is infinitely fast: a byte
// written to UARTDR leaves at once, so the transmit FIFO always reads empty
// and never busy. That keeps every guest console write at one MMIO exit, the
// cost DESIGN.md section 6 warns about.
package vuart

import "io"

// Register offsets (DDI 0183, table "UART register summary").
const (
	RegDR    = 0x000 // data
	RegRSR   = 0x004 // receive status (read) / error clear (write, UARTECR)
	RegFR    = 0x018 // flags
	RegILPR  = 0x020 // IrDA low-power counter
	RegIBRD  = 0x024 // integer baud rate divisor
	RegFBRD  = 0x028 // fractional baud rate divisor
	RegLCRH  = 0x02C // line control
	RegCR    = 0x030 // control
	RegIFLS  = 0x034 // interrupt FIFO level select
	RegIMSC  = 0x038 // interrupt mask set/clear
	RegRIS   = 0x03C // raw interrupt status
	RegMIS   = 0x040 // masked interrupt status
	RegICR   = 0x044 // interrupt clear
	RegDMACR = 0x048 // DMA control
	RegID    = 0xFE0 // UARTPeriphID0; PeriphID0-3 then PCellID0-3 to 0xFFC
)

// Interrupt bits of IMSC, RIS, MIS and ICR (DDI 0183, UARTIMSC).
const (
	IntRI  = 1 << 0 // ring indicator modem interrupt
	IntCTS = 1 << 1 // clear-to-send modem interrupt
	IntDCD = 1 << 2 // data-carrier-detect modem interrupt
	IntDSR = 1 << 3 // data-set-ready modem interrupt
	IntRX  = 1 << 4 // receive
	IntTX  = 1 << 5 // transmit
	IntRT  = 1 << 6 // receive timeout
	IntFE  = 1 << 7 // framing error
	IntPE  = 1 << 8 // parity error
	IntBE  = 1 << 9 // break error
	IntOE  = 1 << 10
	intAll = 1<<11 - 1
)

// Flag register bits (DDI 0183, UARTFR).
const (
	FlagBUSY = 1 << 3
	FlagRXFE = 1 << 4 // receive FIFO empty
	FlagTXFF = 1 << 5 // transmit FIFO full
	FlagRXFF = 1 << 6 // receive FIFO full
	FlagTXFE = 1 << 7 // transmit FIFO empty
)

// Control and line control bits used by the model.
const (
	crLBE   = 1 << 7 // UARTCR loopback enable
	lcrhFEN = 1 << 4 // UARTLCR_H FIFO enable
	rsrOE   = 1 << 3 // UARTRSR overrun error
)

// Reset values (DDI 0183, register descriptions).
const (
	resetCR   = 0x0300 // TXE and RXE set, UART disabled
	resetIFLS = 0x12   // both trigger levels at half full
)

// FIFODepth is the receive FIFO depth: 16 entries, the depth Linux's
// driver assumes for the revision the ID registers report (r1, below r3).
const FIFODepth = 16

// id holds UARTPeriphID0-3 and UARTPCellID0-3: part 0x011, designer 0x41
// (Arm), revision 1, and the PrimeCell identification 0xB105F00D. Linux's
// AMBA bus matches the driver on these values.
var id = [8]uint32{0x11, 0x10, 0x14, 0x00, 0x0D, 0xF0, 0x05, 0xB1}

// PL011 is one emulated UART. The zero value is not ready; use New. Not
// safe for concurrent use: the hypervisor drives each VM's devices from
// one place.
type PL011 struct {
	out io.Writer

	rx      [FIFODepth]uint16 // data bits 0-7, error bits 8-11 as UARTDR reads them
	rxHead  int
	rxCount int

	rsr, ilpr, ibrd, fbrd, lcrh, cr, ifls, imsc, ris, dmacr uint32
}

// New returns a UART in its reset state whose transmitted bytes go to out.
// Errors from out are dropped: a UART has no way to report them.
func New(out io.Writer) *PL011 {
	u := &PL011{out: out}
	u.Reset()
	return u
}

// Reset puts the UART in its reset state, discarding received bytes.
func (u *PL011) Reset() {
	out := u.out
	*u = PL011{out: out, cr: resetCR, ifls: resetIFLS}
}

// IRQ reports the level of the UART's combined interrupt line, UARTINTR:
// high while any unmasked interrupt is raised.
func (u *PL011) IRQ() bool { return u.ris&u.imsc != 0 }

// RXSpace returns how many bytes Receive would accept now.
func (u *PL011) RXSpace() int { return max(u.depth()-u.rxCount, 0) }

// Receive queues bytes typed for the guest and returns how many fit in the
// receive FIFO; the caller keeps the rest and retries when the guest has
// read (RXSpace), so input is never dropped. A burst that leaves data in
// the FIFO raises the receive timeout interrupt: no more data follows it.
func (u *PL011) Receive(p []byte) int {
	n := 0
	for n < len(p) && u.rxCount < u.depth() {
		u.push(uint16(p[n]))
		n++
	}
	if u.rxCount > 0 {
		u.ris |= IntRT
	}
	return n
}

// depth is the FIFO depth: with FIFOs disabled (UARTLCR_H.FEN = 0) the
// receive side is a one-character holding register. Characters already
// queued when the guest disables the FIFO stay readable.
func (u *PL011) depth() int {
	if u.lcrh&lcrhFEN == 0 {
		return 1
	}
	return FIFODepth
}

// rxTrigger is the receive FIFO level that raises the receive interrupt:
// UARTIFLS.RXIFLSEL selects 1/8, 1/4, 1/2, 3/4 or 7/8 full.
func (u *PL011) rxTrigger() int {
	if u.lcrh&lcrhFEN == 0 {
		return 1
	}
	switch (u.ifls >> 3) & 7 {
	case 0:
		return FIFODepth / 8
	case 1:
		return FIFODepth / 4
	case 3:
		return FIFODepth * 3 / 4
	case 4:
		return FIFODepth * 7 / 8
	}
	return FIFODepth / 2 // 0b010, and the reserved encodings
}

func (u *PL011) push(v uint16) {
	u.rx[(u.rxHead+u.rxCount)%FIFODepth] = v
	u.rxCount++
	if u.rxCount >= u.rxTrigger() {
		u.ris |= IntRX
	}
}

// pop reads UARTDR: the oldest character with its error bits, or 0 when
// the FIFO is empty. Reading below the trigger level clears the receive
// interrupt; emptying the FIFO clears the receive timeout.
func (u *PL011) pop() uint32 {
	if u.rxCount == 0 {
		return 0
	}
	v := u.rx[u.rxHead]
	u.rxHead = (u.rxHead + 1) % FIFODepth
	u.rxCount--
	if u.rxCount < u.rxTrigger() {
		u.ris &^= IntRX
	}
	if u.rxCount == 0 {
		u.ris &^= IntRT
	}
	return uint32(v)
}

// transmit sends a byte written to UARTDR. With UARTCR.LBE set it is looped
// back into the receive FIFO instead; a full FIFO then overruns (UARTRSR.OE
// and the overrun interrupt), the character being lost.
func (u *PL011) transmit(b byte) {
	// The FIFO drains at once, so it passes its trigger level after every
	// write: the transmit interrupt rises (DDI 0183, UARTRIS.TXRIS).
	u.ris |= IntTX
	if u.cr&crLBE == 0 {
		_, _ = u.out.Write([]byte{b})
		return
	}
	if u.rxCount >= u.depth() {
		u.rsr |= rsrOE
		u.ris |= IntOE
		return
	}
	u.push(uint16(b))
	u.ris |= IntRT
}

// flags computes UARTFR. The modem inputs (CTS, DSR, DCD, RI) read as
// inactive: the guest has no modem.
func (u *PL011) flags() uint32 {
	f := uint32(FlagTXFE)
	if u.rxCount == 0 {
		f |= FlagRXFE
	}
	if u.rxCount >= u.depth() {
		f |= FlagRXFF
	}
	return f
}
