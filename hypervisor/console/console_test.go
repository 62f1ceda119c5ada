package console

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// flush in a chunk list asks the test to call Flush at that point.
const flush = "\x00FLUSH"

func TestPrefixing(t *testing.T) {
	long := strings.Repeat("x", MaxLine)
	tests := []struct {
		name   string
		chunks []string
		want   string
	}{
		{"one line", []string{"hello\n"}, "[vm1] hello\n"},
		{"two lines", []string{"a\nb\n"}, "[vm1] a\n[vm1] b\n"},
		{"split line", []string{"hel", "lo\nwo", "rld\n"}, "[vm1] hello\n[vm1] world\n"},
		{"partial held", []string{"no newline"}, ""},
		{"empty lines", []string{"\n\n"}, "[vm1] \n[vm1] \n"},
		{"crlf", []string{"a\r\nb\r\n"}, "[vm1] a\r\n[vm1] b\r\n"},
		{"crlf split", []string{"a\r", "\nb\r\n"}, "[vm1] a\r\n[vm1] b\r\n"},
		{"lone cr redraws", []string{"10%\r20%\r", "done\n"}, "[vm1] 10%\r[vm1] 20%\r[vm1] done\n"},
		{"cr cr lf", []string{"a\r\r\n"}, "[vm1] a\r[vm1] \r\n"},
		{"flush partial", []string{"# ", flush, "ls\n"}, "[vm1] # ls\n"},
		{"flush then lines", []string{"# ", flush, "ls\nout\n"}, "[vm1] # ls\n[vm1] out\n"},
		{"flush empty", []string{flush, "a\n"}, "[vm1] a\n"},
		{"flush after cr", []string{"a\r", flush, "\nb\n"}, "[vm1] a\r\n[vm1] b\n"},
		{"flush after lone cr", []string{"a\r", flush, "b\n"}, "[vm1] a\r[vm1] b\n"},
		{"long line", []string{long + "yz\n"}, "[vm1] " + long + "yz\n"},
		{"exactly full then lf", []string{long, "\n"}, "[vm1] " + long + "\n"},
		{"binary bytes pass", []string{"\x1b[0m\t\x00\xff\n"}, "[vm1] \x1b[0m\t\x00\xff\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			w := New(&out, "vm1")
			for _, c := range tc.chunks {
				if c == flush {
					require.NoError(t, w.Flush())
					continue
				}
				n, err := w.Write([]byte(c))
				require.NoError(t, err)
				require.Equal(t, len(c), n)
			}
			assert.Equal(t, tc.want, out.String())
		})
	}
}

// recorder keeps each Write separately, to check that lines are atomic.
type recorder struct{ writes []string }

func (r *recorder) Write(p []byte) (int, error) {
	r.writes = append(r.writes, string(p))
	return len(p), nil
}

func TestLinesAreAtomicAcrossVMs(t *testing.T) {
	var r recorder
	a, b := New(&r, "a"), New(&r, "b")
	// Byte-at-a-time writes from two guests, interleaved, as their UARTs
	// deliver them.
	la, lb := "alpha one", "beta one"
	for i := 0; i < len(la); i++ {
		_, _ = a.Write([]byte{la[i]})
		if i < len(lb) {
			_, _ = b.Write([]byte{lb[i]})
		}
	}
	require.Empty(t, r.writes, "nothing until a line ends")
	_, _ = a.Write([]byte("\n"))
	_, _ = b.Write([]byte("\n"))
	assert.Equal(t, []string{"[a] alpha one\n", "[b] beta one\n"}, r.writes)
}

func TestBoundedMemory(t *testing.T) {
	var r recorder
	w := New(&r, "vm")
	chunk := bytes.Repeat([]byte("z"), 4096)
	for i := 0; i < 256; i++ {
		_, err := w.Write(chunk)
		require.NoError(t, err)
	}
	assert.Equal(t, MaxLine, cap(w.buf), "the line buffer never grows")
	require.NotEmpty(t, r.writes)
	assert.True(t, strings.HasPrefix(r.writes[0], "[vm] "))
	for _, s := range r.writes[1:] {
		assert.False(t, strings.HasPrefix(s, "[vm]"), "continuations of one line carry no prefix")
		assert.LessOrEqual(t, len(s), MaxLine)
	}
}

type failing struct{ after int }

func (f *failing) Write(p []byte) (int, error) {
	if f.after == 0 {
		return 0, errors.New("port gone")
	}
	f.after--
	return len(p), nil
}

func TestErrors(t *testing.T) {
	w := New(&failing{after: 1}, "vm")
	n, err := w.Write([]byte("ok\nlost\nnever"))
	require.Error(t, err)
	assert.Equal(t, len("ok\nlost"), n, "bytes consumed before the failed write")

	w = New(&failing{}, "vm")
	_, err = w.Write([]byte("partial"))
	require.NoError(t, err)
	assert.ErrorContains(t, w.Flush(), "port gone")
}

// TestCountIsEveryByteWritten: Count grows by every byte written, whether
// it completed a line, waits in the buffer or was flushed.
func TestCountIsEveryByteWritten(t *testing.T) {
	var out bytes.Buffer
	w := New(&out, "vm")
	assert.Zero(t, w.Count())
	_, _ = w.Write([]byte("line\n/ # "))
	assert.Equal(t, uint64(9), w.Count())
	require.NoError(t, w.Flush())
	assert.Equal(t, uint64(9), w.Count(), "a flush writes no byte of the VM's")
	_, _ = w.Write([]byte("x"))
	assert.Equal(t, uint64(10), w.Count())
}
