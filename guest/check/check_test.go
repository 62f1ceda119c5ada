package check

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"

	"bulkhead/isolation/abi"
)

// recorder is a testing.TB that keeps the failures it is given.
type recorder struct {
	testing.TB
	errors []string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func TestAssertionsReportWhatFailed(t *testing.T) {
	r := &recorder{TB: t}
	assert.True(t, Status(r, abi.Success, abi.Success))
	assert.True(t, Equal(r, uint64(7), uint64(7)))
	assert.True(t, True(r, true))
	assert.True(t, PSCI(r, 0, 0))
	assert.Empty(t, r.errors)

	assert.False(t, Status(r, abi.Success, abi.Denied, "share %d", 2))
	assert.False(t, Equal(r, uint64(16), uint64(15), "granule"))
	assert.False(t, Equal(r, 1, uint64(1)), "values of different types differ")
	assert.False(t, True(r, false, "mapped"))
	assert.False(t, PSCI(r, 0, -2, "CPU_ON"))
	assert.Equal(t, []string{
		fmt.Sprintf("share 2: status %s (%d), want %s (%d)", abi.Denied, int64(abi.Denied), abi.Success, int64(abi.Success)),
		"granule: got 15 (0xf), want 16 (0x10)",
		"got 1 (0x1), want 1 (0x1)",
		"mapped: condition is false",
		"CPU_ON: PSCI returned -2 (0xfffffffffffffffe), want 0 (0x0)",
	}, r.errors)
}
