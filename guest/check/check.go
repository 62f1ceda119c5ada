// Package check holds the assertions of test guests written as ordinary
// Go tests (func TestX(t *testing.T), run by `bulkhead test`): engine
// statuses, PSCI results and values, reported with integers in decimal and
// hex and statuses by name. Each records a failure with t.Errorf and
// reports whether it held, so `if !check.Status(...) { t.FailNow() }`
// makes one fatal.
package check

import (
	"reflect"
	"testing"

	"bulkhead/guest/internal/describe"
	"bulkhead/isolation/abi"
)

// Equal records a failure unless want and got are deeply equal and of the
// same type; what optionally describes the value (a format and its
// arguments).
func Equal(t testing.TB, want, got any, what ...any) bool {
	t.Helper()
	if reflect.DeepEqual(want, got) {
		return true
	}
	t.Errorf("%sgot %s, want %s", describe.What(what), describe.Value(got), describe.Value(want))
	return false
}

// True records a failure unless cond holds.
func True(t testing.TB, cond bool, what ...any) bool {
	t.Helper()
	if !cond {
		t.Errorf("%scondition is false", describe.What(what))
	}
	return cond
}

// Status records a failure unless an engine call returned want.
func Status(t testing.TB, want, got abi.Status, what ...any) bool {
	t.Helper()
	if want == got {
		return true
	}
	t.Errorf("%sstatus %s, want %s", describe.What(what), describe.Value(got), describe.Value(want))
	return false
}

// PSCI records a failure unless a PSCI call returned want (DEN0022
// section 5.2.2 return codes, or a value such as a version).
func PSCI(t testing.TB, want, got int64, what ...any) bool {
	t.Helper()
	if want == got {
		return true
	}
	t.Errorf("%sPSCI returned %d (%#x), want %d (%#x)", describe.What(what), got, uint64(got), want, uint64(want))
	return false
}
