package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseNetTimesTheSender(t *testing.T) {
	console := "[vm0] VIRTIO-NET eth0 12:26:fc:d5:3e:08 10.0.2.1\r\n" +
		"[vm1] NET-BENCH sent 8 MiB from uptime 3.40 to 7.65\r\n" +
		"[vm0] NET-BENCH received 8388608 bytes\r\n"
	secs, err := parseNet(console, console)
	require.NoError(t, err)
	assert.InDelta(t, 4.25, secs, 1e-9)
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
