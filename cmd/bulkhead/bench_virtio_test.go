package main

import (
	"bytes"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseDDReadsBothSeries(t *testing.T) {
	console := "[vm0] / # for m in buffered direct; do ...; echo BLOCK-DD $m $a $b; done\r\n" +
		"[vm0] 32+0 records in\r\n[vm0] 32+0 records out\r\n" +
		"[vm0] BLOCK-DD buffered 3.25 4.50\r\n" +
		"BLOCK-DD direct 4.50 7.00\n"
	secs, err := parseDD(console)
	require.NoError(t, err)
	assert.InDeltaSlice(t, []float64{1.25, 2.5}, secs, 1e-9)
}

func TestParseDDRefusesMissingOrBackwardSeries(t *testing.T) {
	_, err := parseDD("BLOCK-DD buffered 1.00 2.00\n")
	assert.ErrorContains(t, err, "no BLOCK-DD line")
	_, err = parseDD("BLOCK-DD buffered 1.00 2.00\nBLOCK-DD direct 3.00 3.00\n")
	assert.ErrorContains(t, err, "direct series ran from uptime 3.00 to 3.00")
	_, err = parseDD("echo BLOCK-DD $m $a $b\n")
	assert.Error(t, err, "the shell's echo of the command is not a result")
}

func TestShellTypistTypesOnceAfterTheReadyLine(t *testing.T) {
	in, typist := io.Pipe()
	s := &shellTypist{ready: []byte(shellReady), typist: typist}
	got := make(chan []byte, 1)
	go func() {
		b := make([]byte, 4096)
		n, _ := io.ReadAtLeast(in, b, len(blockCommands))
		got <- b[:n]
	}()
	_, _ = s.Write([]byte("booting...\n[vm0] BULKHEAD-ROO"))
	_, _ = s.Write([]byte("TFS /dev/vda / ext4"))
	assert.False(t, s.typed, "not before the line ends")
	_, _ = s.Write([]byte(" rw\n"))
	_, _ = s.Write([]byte("BULKHEAD-ROOTFS again\n"))
	select {
	case b := <-got:
		assert.Equal(t, blockCommands, string(b))
	case <-time.After(5 * time.Second):
		t.Fatal("nothing typed")
	}
	typist.Close()
	rest, _ := io.ReadAll(in)
	assert.Empty(t, bytes.TrimSpace(rest), "typed once")
}
