package qemu

import (
	"bytes"
	"io"
	"math/rand"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func readAll(t *testing.T, in string, chunk int) (string, int) {
	t.Helper()
	quits := 0
	r := NewEscapeReader(&chunked{data: []byte(in), n: chunk}, func() { quits++ })
	out, err := io.ReadAll(r)
	require.NoError(t, err)
	return string(out), quits
}

// chunked hands its data out n bytes at a time, as a terminal hands out keys.
type chunked struct {
	data []byte
	n    int
}

func (c *chunked) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), c.n)], c.data)
	c.data = c.data[n:]
	return n, nil
}

func TestEscapeReader(t *testing.T) {
	for _, c := range []struct {
		in, out string
		quits   int
	}{
		{"ls\r", "ls\r", 0},
		{"\x03", "\x03", 0},                   // Ctrl-C reaches the guest
		{"ab\x01xcd", "ab", 1},                // Ctrl-A x quits; nothing after it
		{"a\x01\x01b", "a\x01b", 0},           // Ctrl-A Ctrl-A is one Ctrl-A
		{"a\x01qb", "ab", 0},                  // an unknown command is dropped
		{"\x01", "", 0},                       // a lone escape at the end
		{"\x01x\x01x", "", 1},                 // quit once
		{"one\x01\x01\x01xtwo", "one\x01", 1}, // escaped escape, then quit
	} {
		for _, chunk := range []int{1, 2, 64} {
			out, quits := readAll(t, c.in, chunk)
			assert.Equal(t, c.out, out, "%q in chunks of %d", c.in, chunk)
			assert.Equal(t, c.quits, quits, "%q", c.in)
		}
	}
}

// TestEscapeReaderPassesEveryOtherByte: without Ctrl-A every byte reaches
// the guest unchanged, whatever the chunking.
func TestEscapeReaderPassesEveryOtherByte(t *testing.T) {
	rng := rand.New(rand.NewSource(16))
	for i := 0; i < 200; i++ {
		in := make([]byte, rng.Intn(600))
		for j := range in {
			in[j] = byte(2 + rng.Intn(254))
		}
		out, quits := readAll(t, string(in), 1+rng.Intn(300))
		require.Equal(t, 0, quits)
		require.True(t, bytes.Equal(in, []byte(out)))
	}
}

func TestRawTerminalLeavesOtherFilesAlone(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "not-a-tty")
	require.NoError(t, err)
	defer f.Close()
	term, ok, err := RawTerminal(f)
	require.NoError(t, err)
	assert.False(t, ok)
	term.Restore() // nil is fine
}
