package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseNetTimesTheSender(t *testing.T) {
	console := "[vm0] VIRTIO-NET eth0 12:26:fc:d5:3e:08 10.0.2.1\r\n" +
		"[vm1] NET-BENCH cpu before cpu  13 0 324 50 0 0 8 0 0 0\r\n" +
		"[vm1] NET-BENCH cpu after cpu  29 0 1175 58 0 0 101 0 0 0\r\n" +
		"[vm1] NET-BENCH sent 8 MiB from uptime 3.40 to 7.65\r\n" +
		"[vm0] NET-BENCH received 8388608 bytes\r\n"
	r, err := parseNet(console, console)
	require.NoError(t, err)
	assert.InDelta(t, 4.25, r.secs, 1e-9)
	assert.InDelta(t, (16+851+93)/100.0, r.busy, 1e-9, "user, system and softirq; not idle")
}

func TestParseNetRefusesAnIncompleteTransfer(t *testing.T) {
	sent := "NET-BENCH sent 8 MiB from uptime 3.40 to 7.65\n"
	_, err := parseNet(sent, "NET-BENCH received 15360 bytes\n")
	assert.ErrorContains(t, err, "8 MiB sent, 15360 bytes received")
	_, err = parseNet(sent, "")
	assert.ErrorContains(t, err, "no NET-BENCH received line")
	_, err = parseNet("NET-BENCH sent 8 MiB from uptime 3.40 to 3.40\n", "NET-BENCH received 8388608 bytes\n")
	assert.ErrorContains(t, err, "from uptime 3.40 to 3.40")
	_, err = parseNet("echo NET-BENCH sent $n MiB\n", "NET-BENCH received 8388608 bytes\n")
	assert.ErrorContains(t, err, "no NET-BENCH sent line")
}

func TestParseNetWantsBothCPULines(t *testing.T) {
	sent := "NET-BENCH sent 8 MiB from uptime 3.40 to 7.65\nNET-BENCH received 8388608 bytes\n"
	_, err := parseNet(sent+"NET-BENCH cpu before cpu  1 0 2 3 0 0 4 0 0 0\n", sent)
	assert.ErrorContains(t, err, "no NET-BENCH cpu lines")
	_, err = parseNet(sent+"NET-BENCH cpu before cpu  9 0 9 3 0 0 9 0 0 0\nNET-BENCH cpu after cpu  1 0 2 3 0 0 4 0 0 0\n", sent)
	assert.ErrorContains(t, err, "in order")
}
