package vuart

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func newUART() (*PL011, *bytes.Buffer) {
	var out bytes.Buffer
	return New(&out), &out
}

func TestResetValues(t *testing.T) {
	u, _ := newUART()
	tests := []struct {
		reg  uint64
		want uint64
	}{
		{RegDR, 0},
		{RegRSR, 0},
		{RegFR, FlagTXFE | FlagRXFE},
		{RegILPR, 0}, {RegIBRD, 0}, {RegFBRD, 0}, {RegLCRH, 0},
		{RegCR, 0x300}, // TXE | RXE
		{RegIFLS, 0x12},
		{RegIMSC, 0}, {RegRIS, 0}, {RegMIS, 0}, {RegICR, 0}, {RegDMACR, 0},
		{0x04C, 0}, // reserved
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, u.Read(tc.reg, 4), "register %#x", tc.reg)
	}
	assert.False(t, u.IRQ())
}

// TestIdentification checks the PrimeCell ID registers Linux's AMBA bus
// reads to bind the pl011 driver: PeriphID0-3 assemble to 0x00141011 (part
// 0x011, designer 0x41, revision 1) and PCellID0-3 to 0xB105F00D.
func TestIdentification(t *testing.T) {
	u, _ := newUART()
	assemble := func(base uint64) uint64 {
		var v uint64
		for i := uint64(0); i < 4; i++ {
			v |= (u.Read(base+4*i, 4) & 0xff) << (8 * i)
		}
		return v
	}
	assert.Equal(t, uint64(0x00141011), assemble(0xFE0))
	assert.Equal(t, uint64(0xB105F00D), assemble(0xFF0))
}

func TestTransmit(t *testing.T) {
	u, out := newUART()
	for _, c := range []byte("hi\r\n") {
		require.Equal(t, uint64(FlagTXFE|FlagRXFE), u.Read(RegFR, 4)&(FlagTXFE|FlagTXFF|FlagBUSY|FlagRXFE),
			"TX FIFO empty, never full or busy")
		u.Write(RegDR, 4, uint64(c))
	}
	assert.Equal(t, "hi\r\n", out.String())

	// Bare-metal guests often store a byte; the upper bits of a wide write
	// are not data.
	u.Write(RegDR, 1, 'x')
	u.Write(RegDR, 4, 0xffff_ff00|'y')
	assert.Equal(t, "hi\r\nxy", out.String())
}

func TestTransmitInterrupt(t *testing.T) {
	u, _ := newUART()
	assert.Zero(t, u.Read(RegRIS, 4)&IntTX, "no TX interrupt before the first write (DDI 0183: raised on a transition)")

	u.Write(RegIMSC, 4, IntTX)
	u.Write(RegDR, 4, 'a')
	assert.Equal(t, uint64(IntTX), u.Read(RegRIS, 4)&IntTX)
	assert.Equal(t, uint64(IntTX), u.Read(RegMIS, 4))
	assert.True(t, u.IRQ())

	u.Write(RegICR, 4, IntTX)
	assert.Zero(t, u.Read(RegRIS, 4))
	assert.False(t, u.IRQ())

	// Masked: raised in RIS, not on the line.
	u.Write(RegIMSC, 4, 0)
	u.Write(RegDR, 4, 'b')
	assert.Equal(t, uint64(IntTX), u.Read(RegRIS, 4))
	assert.Zero(t, u.Read(RegMIS, 4))
	assert.False(t, u.IRQ())
}

func enableFIFO(u *PL011) { u.Write(RegLCRH, 4, 0x70) } // FEN, 8 bits

func TestReceiveNoFIFO(t *testing.T) {
	u, _ := newUART()
	u.Write(RegIMSC, 4, IntRX|IntRT)
	// FIFOs disabled after reset: a one-character holding register.
	assert.Equal(t, 1, u.Receive([]byte("ab")))
	assert.Equal(t, 0, u.RXSpace())
	assert.Equal(t, uint64(FlagRXFF|FlagTXFE), u.Read(RegFR, 4)&(FlagRXFF|FlagRXFE|FlagTXFE))
	assert.Equal(t, uint64(IntRX|IntRT), u.Read(RegRIS, 4)&(IntRX|IntRT))
	assert.True(t, u.IRQ())

	assert.Equal(t, uint64('a'), u.Read(RegDR, 4))
	assert.Zero(t, u.Read(RegRIS, 4)&(IntRX|IntRT), "one read clears both")
	assert.False(t, u.IRQ())
	assert.Equal(t, uint64(FlagRXFE), u.Read(RegFR, 4)&FlagRXFE)
	assert.Zero(t, u.Read(RegDR, 4), "empty FIFO reads 0")
}

func TestReceiveTriggerLevels(t *testing.T) {
	tests := []struct {
		ifls    uint64
		trigger int
	}{
		{0 << 3, 2}, {1 << 3, 4}, {2 << 3, 8}, {3 << 3, 12}, {4 << 3, 14},
		{5 << 3, 8}, // reserved encodings behave as half full
	}
	for _, tc := range tests {
		u, _ := newUART()
		enableFIFO(u)
		u.Write(RegIFLS, 4, tc.ifls)
		u.Write(RegIMSC, 4, IntRX)
		for i := 1; i <= FIFODepth; i++ {
			require.Equal(t, 1, u.Receive([]byte{byte(i)}))
			assert.Equal(t, i >= tc.trigger, u.IRQ(), "IFLS %#x after %d bytes", tc.ifls, i)
		}
		// Reading below the trigger level clears RXRIS.
		for i := FIFODepth; i > 0; i-- {
			u.Read(RegDR, 4)
			assert.Equal(t, i-1 >= tc.trigger, u.IRQ(), "IFLS %#x with %d bytes left", tc.ifls, i-1)
		}
	}
}

func TestReceiveFIFOOrderAndBackpressure(t *testing.T) {
	u, _ := newUART()
	enableFIFO(u)
	in := []byte("0123456789abcdefXYZ")
	n := u.Receive(in)
	assert.Equal(t, FIFODepth, n, "the rest stays with the caller")
	assert.Equal(t, uint64(FlagRXFF), u.Read(RegFR, 4)&FlagRXFF)
	var got []byte
	for u.Read(RegFR, 4)&FlagRXFE == 0 {
		got = append(got, byte(u.Read(RegDR, 4)))
		if len(got) == 5 {
			n += u.Receive(in[n:]) // the ring wraps
		}
	}
	assert.Equal(t, string(in), string(got))
}

func TestReceiveTimeout(t *testing.T) {
	u, _ := newUART()
	enableFIFO(u)
	u.Write(RegIMSC, 4, IntRT)
	u.Receive([]byte("a")) // below the trigger level: only the timeout
	assert.Equal(t, uint64(IntRT), u.Read(RegMIS, 4))
	u.Write(RegICR, 4, IntRT)
	assert.False(t, u.IRQ(), "cleared through UARTICR")
	u.Receive([]byte("b"))
	assert.True(t, u.IRQ())
	u.Read(RegDR, 4)
	assert.True(t, u.IRQ(), "still data in the FIFO")
	u.Read(RegDR, 4)
	assert.False(t, u.IRQ(), "emptying the FIFO clears the timeout")
	assert.Equal(t, 0, u.Receive(nil))
	assert.False(t, u.IRQ(), "an empty burst raises nothing")
}

func TestLoopback(t *testing.T) {
	u, out := newUART()
	enableFIFO(u)
	u.Write(RegCR, 4, 0x381) // UARTEN | LBE | TXE | RXE
	for i := 0; i < FIFODepth+1; i++ {
		u.Write(RegDR, 4, uint64('a'+i))
	}
	assert.Empty(t, out.String(), "looped back, not transmitted")
	assert.Equal(t, uint64(rsrOE), u.Read(RegRSR, 4), "the 17th character overran")
	assert.Equal(t, uint64(IntOE), u.Read(RegRIS, 4)&IntOE)
	assert.Equal(t, uint64('a'), u.Read(RegDR, 4))
	u.Write(RegRSR, 4, 0) // UARTECR
	assert.Zero(t, u.Read(RegRSR, 4))
}

func TestRegisterWidths(t *testing.T) {
	u, _ := newUART()
	tests := []struct {
		reg  uint64
		want uint64
	}{
		{RegILPR, 0xff}, {RegIBRD, 0xffff}, {RegFBRD, 0x3f}, {RegLCRH, 0xff},
		{RegCR, 0xffff}, {RegIFLS, 0x3f}, {RegIMSC, 0x7ff}, {RegDMACR, 0x7},
	}
	for _, tc := range tests {
		u.Write(tc.reg, 4, 0xffff_ffff)
		assert.Equal(t, tc.want, u.Read(tc.reg, 4), "register %#x", tc.reg)
	}
	// Read-only registers ignore writes.
	for _, reg := range []uint64{RegFR, RegRIS, RegMIS, RegID, 0xFFC} {
		before := u.Read(reg, 4)
		u.Write(reg, 4, 0x5a5a)
		assert.Equal(t, before, u.Read(reg, 4), "register %#x", reg)
	}
}

func TestAccessSizes(t *testing.T) {
	u, out := newUART()
	u.Write(RegIBRD, 4, 0x1234)
	assert.Equal(t, uint64(0x34), u.Read(RegIBRD, 1))
	assert.Equal(t, uint64(0x12), u.Read(RegIBRD+1, 1))
	assert.Equal(t, uint64(0x1234), u.Read(RegIBRD, 2))
	assert.Zero(t, u.Read(RegIBRD+2, 2))
	assert.Zero(t, u.Read(RegIBRD+3, 2), "straddles two registers")
	assert.Zero(t, u.Read(RegIBRD, 8), "wider than the APB bus")
	assert.Zero(t, u.Read(RegIBRD, 3))
	assert.Zero(t, u.Read(Size, 4), "outside the frame")
	assert.Zero(t, u.Read(1<<63, 4))

	u.Write(RegIBRD+1, 1, 0xff) // not at the register's offset: ignored
	u.Write(RegIBRD, 8, 0xff)
	u.Write(Size+RegIBRD, 4, 0xff)
	assert.Equal(t, uint64(0x1234), u.Read(RegIBRD, 4))
	u.Write(RegIBRD, 2, 0xabcd_0042)
	assert.Equal(t, uint64(0x42), u.Read(RegIBRD, 4), "zero-extended to the access size")

	u.Write(RegDR+1, 1, 'z')
	assert.Empty(t, out.String(), "a write to another lane of UARTDR sends nothing")
}

func TestDRLaneReadDoesNotPop(t *testing.T) {
	u, _ := newUART()
	u.Receive([]byte{'q'})
	assert.Zero(t, u.Read(RegDR+1, 1), "error bits of the pending character")
	assert.Equal(t, uint64(FlagRXFF), u.Read(RegFR, 4)&FlagRXFF, "still there")
	assert.Equal(t, uint64('q'), u.Read(RegDR, 1))
}

func TestResetKeepsSink(t *testing.T) {
	u, out := newUART()
	u.Receive([]byte("x"))
	u.Write(RegIMSC, 4, intAll)
	u.Reset()
	assert.Equal(t, uint64(FlagRXFE), u.Read(RegFR, 4)&FlagRXFE)
	assert.Zero(t, u.Read(RegIMSC, 4))
	u.Write(RegDR, 4, '!')
	assert.Equal(t, "!", out.String())
}

func TestFIFODisabledWithQueuedData(t *testing.T) {
	u, _ := newUART()
	enableFIFO(u)
	u.Receive([]byte("abc"))
	u.Write(RegLCRH, 4, 0x60) // FEN off
	assert.Equal(t, 0, u.RXSpace())
	assert.Equal(t, uint64(FlagRXFF), u.Read(RegFR, 4)&FlagRXFF)
	assert.Equal(t, uint64('a'), u.Read(RegDR, 4), "queued characters stay readable")
}
