package guest

import (
	"fmt"
	"io"
	"reflect"
	"strings"

	"bulkhead/guest/internal/describe"
	"bulkhead/isolation/abi"
)

// T is the state of one running test, like testing.T: a test records
// failures with Errorf or the assertions and stops early with Fatalf or
// FailNow.
type T struct {
	name     string
	failures []string
	out      io.Writer
	cleanups []func()
}

// failNow is the panic value FailNow unwinds a test with; the runner
// recovers it. TamaGo runs one goroutine at a time and the test runs on the
// runner's, so a panic is how a test stops early (testing.T uses
// runtime.Goexit on its own goroutine instead).
type failNow struct{}

// Name returns the test's name.
func (t *T) Name() string { return t.name }

// Logf prints a message for the test on the console at once, so that it is
// seen even if the test later hangs.
func (t *T) Logf(format string, args ...any) {
	fmt.Fprintln(t.out, LogLine(t.name, fmt.Sprintf(format, args...)))
}

// Errorf records a failure and lets the test go on.
func (t *T) Errorf(format string, args ...any) {
	t.failures = append(t.failures, fmt.Sprintf(format, args...))
}

// Fatalf records a failure and ends the test.
func (t *T) Fatalf(format string, args ...any) {
	t.Errorf(format, args...)
	t.FailNow()
}

// FailNow ends the test, failed; a test that has recorded no failure yet
// gets one saying so.
func (t *T) FailNow() {
	if len(t.failures) == 0 {
		t.failures = append(t.failures, "FailNow")
	}
	panic(failNow{})
}

// Cleanup registers fn to run when the test ends, failed or not, after
// the test function returned or stopped; cleanups run last-in first-out,
// and one that fails or panics fails the test.
func (t *T) Cleanup(fn func()) { t.cleanups = append(t.cleanups, fn) }

// Failed reports whether the test has failed.
func (t *T) Failed() bool { return len(t.failures) > 0 }

// message is the one-line summary of the test's failures.
func (t *T) message() string { return strings.Join(t.failures, "; ") }

// Equal records a failure unless want and got are deeply equal and of the
// same type; what optionally describes the value (a format and its
// arguments). It reports whether they were equal.
func (t *T) Equal(want, got any, what ...any) bool {
	if reflect.DeepEqual(want, got) {
		return true
	}
	t.Errorf("%sgot %s, want %s", describe.What(what), describe.Value(got), describe.Value(want))
	return false
}

// NotEqual records a failure if bad and got are deeply equal.
func (t *T) NotEqual(bad, got any, what ...any) bool {
	if !reflect.DeepEqual(bad, got) {
		return true
	}
	t.Errorf("%sgot %s, want anything else", describe.What(what), describe.Value(got))
	return false
}

// True records a failure unless cond holds.
func (t *T) True(cond bool, what ...any) bool {
	if !cond {
		t.Errorf("%scondition is false", describe.What(what))
	}
	return cond
}

// Status records a failure unless an engine call returned want.
func (t *T) Status(want, got abi.Status, what ...any) bool {
	if want == got {
		return true
	}
	t.Errorf("%sstatus %s, want %s", describe.What(what), describe.Value(got), describe.Value(want))
	return false
}

// PSCI records a failure unless a PSCI call returned want (DEN0022
// section 5.2.2 return codes, or a value such as a version).
func (t *T) PSCI(want, got int64, what ...any) bool {
	if want == got {
		return true
	}
	t.Errorf("%sPSCI returned %d (%#x), want %d (%#x)", describe.What(what), got, uint64(got), want, uint64(want))
	return false
}

// Require ends the test if ok is false: t.Require(t.Status(...)) turns any
// assertion into a fatal one.
func (t *T) Require(ok bool) {
	if !ok {
		t.FailNow()
	}
}
