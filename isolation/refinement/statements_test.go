package refinement

import (
	"math/rand"
	"os"
	"strconv"
	"strings"
	"testing"

	"bulkhead/isolation"
)

// statementTraces is how many state-aware traces TestStatementsHold
// feeds the oracle unless BULKHEAD_STATEMENT_TRACES says otherwise.
const statementTraces = 60

// TestStatementsHold runs state-aware traces through the oracle with its
// statement checks on (proofs/oracle/statements.ml: the statements of the
// invariants, scrubbing, integrity, protected-VM and noninterference
// theorems, checked at every step), without comparing with the engine: the
// model must satisfy them. proofs/mutate.sh runs it on the oracle of each
// mutant of the model, which must violate one for the mutant to count as
// caught; that a mutant does is what shows this test can fail.
func TestStatementsHold(t *testing.T) {
	o := newOracle(t)
	if _, err := o.send("check", 1); err != nil {
		t.Fatal(err)
	}
	n := statementTraces
	if v, err := strconv.Atoi(os.Getenv("BULKHEAD_STATEMENT_TRACES")); err == nil && v > 0 {
		n = v
	}
	s := &sgen{r: rand.New(rand.NewSource(seed())), st: newStats()}
	var last string
	for range n {
		tr, want := s.build(t, stateTraceLen, isolation.SmallPoolTables)
		lines := append([]string{"reset"}, tr...)
		k := 1
		for _, w := range want {
			k += len(w)
		}
		got, err := o.batch(append(lines, "violations"), k+1)
		if err != nil {
			t.Fatal(err)
		}
		last = got[k]
		if !strings.HasPrefix(last, "violations 0 ") {
			t.Fatalf("the model: %s\ntrace:\n%s", last, strings.Join(tr, "\n"))
		}
	}
	t.Logf("%s (%d traces of %d calls, seed %d)", last, n, stateTraceLen, seed())
}
