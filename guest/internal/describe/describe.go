// Package describe renders the values and descriptions of the guest SDK's
// assertions, shared by its own test runner (guest.T) and by package
// check (for testing.T), so that both report failures alike.
package describe

import (
	"fmt"

	"bulkhead/isolation/abi"
)

// What renders the optional description of an assertion: a format and its
// arguments, or nothing.
func What(what []any) string {
	if len(what) == 0 {
		return ""
	}
	if f, ok := what[0].(string); ok {
		return fmt.Sprintf(f, what[1:]...) + ": "
	}
	return fmt.Sprint(what...) + ": "
}

// Value prints a value for a failure message: integers in decimal and hex,
// since addresses and statuses are read both ways.
func Value(v any) string {
	switch x := v.(type) {
	case abi.Status:
		return fmt.Sprintf("%s (%d)", x, int64(x))
	case abi.Exit:
		return fmt.Sprintf("%s (%d)", x, uint64(x))
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, uintptr:
		return fmt.Sprintf("%d (%#x)", x, x)
	}
	return fmt.Sprintf("%#v", v)
}
