package vuart

import (
	"encoding/binary"
	"io"
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzAccesses drives the UART with arbitrary guest accesses and input
// bursts, checking after each step that it never panics, never holds more
// than FIFODepth characters, and that MIS and the line agree with RIS and
// IMSC.
func FuzzAccesses(f *testing.F) {
	f.Add([]byte{0x01, 0x2c, 0x00, 0x70, 0, 0, 0, 0x02, 0x00, 0x00, 'a', 0, 0, 0})
	f.Fuzz(func(t *testing.T, ops []byte) {
		u := New(io.Discard)
		for len(ops) >= 7 {
			kind, off, v := ops[0]%4, uint64(binary.LittleEndian.Uint16(ops[1:]))&0xfff, binary.LittleEndian.Uint32(ops[3:])
			size := 1 << (ops[0] >> 2 % 4)
			ops = ops[7:]
			switch kind {
			case 0:
				u.Read(off, size)
			case 1:
				u.Write(off, size, uint64(v))
			case 2:
				u.Receive([]byte{byte(v), byte(v >> 8), byte(v >> 16)}[:v%4%3+1])
			case 3:
				u.Write(RegDR, 4, uint64(v))
			}
			require.LessOrEqual(t, u.rxCount, FIFODepth)
			require.GreaterOrEqual(t, u.RXSpace(), 0)
			mis := u.Read(RegMIS, 4)
			require.Equal(t, u.Read(RegRIS, 4)&u.Read(RegIMSC, 4), mis)
			require.Equal(t, mis != 0, u.IRQ())
			require.Equal(t, u.rxCount == 0, u.Read(RegFR, 4)&FlagRXFE != 0)
		}
	})
}
