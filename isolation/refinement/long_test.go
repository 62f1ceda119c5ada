package refinement

import (
	"math/rand"
	"testing"
	"time"

	"bulkhead/isolation/abi"
)

// longTrace is the length of the long traces: the oracle must check a
// trace of this many calls in seconds, which it can only if a call costs
// the same at the end of a trace as at its start.
const longTrace = 10000

// checkLong compares one long trace and reports its rate.
func checkLong(t *testing.T, name string, tr []string) {
	t.Helper()
	o := newOracle(t)
	start := time.Now()
	if d := divergence(t, o, tr); d != "" {
		saveRegression(t, tr)
		t.Fatalf("%s diverges at %s", name, d[:min(len(d), 2000)])
	}
	el := time.Since(start)
	t.Logf("%s: %d calls in %v (%.0f calls/s)", name, len(tr), el.Round(time.Millisecond), float64(len(tr))/el.Seconds())
}

// TestLongShareUnshare repeats MEM_SHARE and MEM_UNSHARE of the same page:
// each unshare used to double the cost of every later stage-2 lookup in
// the oracle (60 cycles did not finish).
func TestLongShareUnshare(t *testing.T) {
	tr := []string{host(abi.VMCreate, 1)}
	for len(tr) < longTrace {
		tr = append(tr, host(abi.MemShare, 1, pa(1), 0x1000, 1, abi.PermR|abi.PermW), host(abi.MemUnshare, 1, 0x1000, 1))
	}
	checkLong(t, "share/unshare", tr)
}

// TestLongRandom: one random trace of longTrace calls.
func TestLongRandom(t *testing.T) {
	s := seed()
	g := gen{rand.New(rand.NewSource(s))}
	var tr []string
	for len(tr) < longTrace {
		tr = append(tr, g.op())
	}
	t.Logf("seed %d", s)
	checkLong(t, "random", tr)
}
