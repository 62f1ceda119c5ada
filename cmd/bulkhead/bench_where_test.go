package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The entries of the markers in the test logs.
var testEntries = entries{guestCall: 0x4021_0000, hostCall: 0x4022_0000}

// execLog writes one QEMU exec log line per instruction of syms: the
// first instruction of a run of one symbol is at its entry when it is a
// marker (a call), every other one elsewhere.
func execLog(syms ...string) string {
	var b strings.Builder
	for i, s := range syms {
		pc := uint64(0x4030_0000 + 4*i)
		switch {
		case i > 0 && syms[i-1] == s:
		case s == guestCallMarker:
			pc = testEntries.guestCall
		case s == hostCallMarker:
			pc = testEntries.hostCall
		}
		fmt.Fprintf(&b, "Trace 0: 0x7f0000%05x [00000000/%016x/00000061/ff020201] %s\n", i, pc, s)
	}
	return b.String()
}

// returnInto is a line of sym at an address other than its entry: a
// callee returning into it.
func returnInto(sym string) string {
	return fmt.Sprintf("Trace 0: 0x7f00001234 [00000000/%016x/00000061/ff020201] %s\n", 0x4050_0000, sym)
}

func repeat(sym string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = sym
	}
	return out
}

func TestTraceWindowsCutAtEachGuestCall(t *testing.T) {
	var syms []string
	syms = append(syms, repeat("main.boot", 50)...) // before the first call: dropped
	// Two guest calls on the full path, then a round trip.
	for range 2 {
		syms = append(syms, repeat(guestCallMarker, 3)...)
		syms = append(syms, repeat("bulkhead/isolation.(*Engine).run", 5)...)
		syms = append(syms, repeat("enter", 2)...)
	}
	syms = append(syms, repeat(guestCallMarker, 3)...)
	syms = append(syms, repeat(hostCallMarker, 4)...)
	syms = append(syms, repeat("bulkhead/arch/el2.saveEL1.abi0", 6)...)
	// Returns into both markers are not entries.
	log := "engine: a console line\n" + execLog(syms...) + returnInto(hostCallMarker) +
		returnInto(guestCallMarker) + "IN: not an exec line\n"

	ws, err := traceWindows(strings.NewReader(log), testEntries)
	require.NoError(t, err)
	require.Len(t, ws, 3)
	assert.Equal(t, 10, ws[0].total)
	assert.Equal(t, 0, ws[0].hostCalls)
	assert.Equal(t, 15, ws[2].total)
	assert.Equal(t, 1, ws[2].hostCalls)

	paths := profilePaths(ws)
	assert.Equal(t, "vcpu-run-round-trip", paths[0].name)
	assert.Equal(t, 1, paths[0].calls)
	assert.InDelta(t, 15, paths[0].total, 1e-9)
	assert.Equal(t, 2, paths[1].calls)
	assert.InDelta(t, 10, paths[1].total, 1e-9)
	assert.InDelta(t, 5, paths[1].funcs["bulkhead/isolation.(*Engine).run"], 1e-9)

	var out bytes.Buffer
	printWhere(&out, paths)
	assert.Contains(t, out.String(), "BENCH-WHERE guest-engine-call-full-path: 2 calls, 10 engine instructions each")
	assert.Contains(t, out.String(), "BENCH-WHERE vcpu-run-round-trip:      6 assembly")
}

func TestProfileLeavesOutTheSetUpBetweenPaths(t *testing.T) {
	ws := []window{
		{funcs: map[string]int{"a": 100}, total: 100},
		{funcs: map[string]int{"b": maxWindow + 1}, total: maxWindow + 1},
		{funcs: map[string]int{"c": 30}, total: 30, hostCalls: 2},
	}
	paths := profilePaths(ws)
	assert.Equal(t, 0, paths[0].calls)
	assert.Equal(t, 1, paths[1].calls)
	assert.InDelta(t, 100, paths[1].total, 1e-9)
	var out bytes.Buffer
	printWhere(&out, paths)
	assert.Contains(t, out.String(), "BENCH-WHERE vcpu-run-round-trip: no calls in the trace")
}

func TestTraceLine(t *testing.T) {
	for line, want := range map[string]string{
		"Trace 0: 0x1 [0/40210000/61/0] runtime.memmove": "runtime.memmove",
		"Trace 0: 0x1 [0/40210000/61/0] ":                "?",
		"Trace 0: 0x1 no brackets":                       "?",
	} {
		_, got, ok := traceLine([]byte(line))
		assert.True(t, ok, line)
		assert.Equal(t, want, got, line)
	}
	pc, _, _ := traceLine([]byte("Trace 0: 0x1 [0/40210000/61/0] runtime.memmove"))
	assert.Equal(t, uint64(0x4021_0000), pc)
	_, _, ok := traceLine([]byte("IN: runtime.memmove"))
	assert.False(t, ok)
}

func TestLayers(t *testing.T) {
	for sym, want := range map[string]string{
		"bulkhead/isolation.(*Engine).run":    "isolation core",
		"bulkhead/arch/el2.(*World).switchIn": "arch Go",
		"bulkhead/arch/el2.saveEL1.abi0":      "assembly",
		"enter":                               "assembly",
		"main.(*machine).EnterGuest":          "cmd/engine",
		"runtime.duffcopy":                    "Go runtime",
		"sync.(*Mutex).Lock":                  "Go runtime",
		"fmt.Sprintf":                         "other",
	} {
		assert.Equal(t, want, layer(sym), sym)
	}
}

func FuzzTraceWindows(f *testing.F) {
	f.Add([]byte(execLog(guestCallMarker, "x", hostCallMarker, guestCallMarker)))
	f.Add([]byte("Trace ] \nTrace 0: [x/40210000] " + guestCallMarker + "\nTrace 0: ]/[ x\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ws, err := traceWindows(bytes.NewReader(b), testEntries)
		if err != nil {
			return
		}
		for _, p := range profilePaths(ws) {
			if p.calls > 0 && p.total <= 0 {
				t.Fatalf("%s: %d calls of %v instructions", p.name, p.calls, p.total)
			}
		}
	})
}
