package guesttest

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// goTestOutput is what `go test -v` prints for a test that logs, one with
// a passing and a failing subtest, and one that skips.
var goTestOutput = []string{
	"=== RUN   TestA",
	"    x_test.go:3: hello",
	"--- PASS: TestA (0.00s)",
	"=== RUN   TestB",
	"=== RUN   TestB/Sub1",
	"=== RUN   TestB/Sub2",
	"    x_test.go:6: bad 2",
	"        second line",
	"=== NAME  TestB",
	"    x_test.go:7: after",
	"--- FAIL: TestB (0.00s)",
	"    --- PASS: TestB/Sub1 (0.00s)",
	"    --- FAIL: TestB/Sub2 (0.00s)",
	"=== RUN   TestC",
	"    x_test.go:9: why",
	"--- SKIP: TestC (0.00s)",
	"FAIL",
}

func TestParseGoTestReadsEachTest(t *testing.T) {
	c := "hypervisor: vm0 created\n" + console("[vm0] ", goTestOutput...) + console("[vm1] ", goTestOutput[:3]...) + "hypervisor: done\n"
	reports := ParseGoTest(c)
	require.Len(t, reports, 2)
	r := reports["vm0"]
	assert.Equal(t, []Case{
		{Name: "TestA", Outcome: Passed, Message: "x_test.go:3: hello", Logs: []string{"x_test.go:3: hello"}},
		{Name: "TestB", Outcome: Failed, Message: "x_test.go:7: after", Logs: []string{"x_test.go:7: after"}},
		{Name: "TestB/Sub1", Outcome: Passed},
		{Name: "TestB/Sub2", Outcome: Failed, Message: "x_test.go:6: bad 2\nsecond line", Logs: []string{"x_test.go:6: bad 2", "second line"}},
		{Name: "TestC", Outcome: Skipped, Message: "x_test.go:9: why", Logs: []string{"x_test.go:9: why"}},
	}, r.Cases)
	assert.Equal(t, "FAIL", r.Result)
	assert.Empty(t, r.Problems())
	assert.Equal(t, []string{"no final PASS or FAIL line: the test binary crashed, hung or was stopped before it finished"},
		reports["vm1"].Problems())
}

func TestParseGoTestProblems(t *testing.T) {
	for _, c := range []struct {
		name  string
		lines []string
		want  []string
	}{
		{"cut off in a test", []string{"=== RUN   TestA", "    a.go:1: x"},
			[]string{"no final PASS or FAIL line: the test binary crashed, hung or was stopped before it finished", "TestA started but never finished"}},
		{"timed out", []string{"=== RUN   TestA", "panic: test timed out after 3s", "FAIL"},
			[]string{"panic: test timed out after 3s", "TestA started but never finished"}},
		{"FAIL without a failure", []string{"=== RUN   TestA", "--- PASS: TestA (0.00s)", "FAIL"},
			[]string{"the binary reported FAIL but no test failed"}},
		{"no test", []string{"=== RUN   TestA", "--- SKIP: TestA (0.00s)", "PASS"}, nil},
	} {
		r := ParseGoTest(console("", c.lines...))[""]
		require.NotNil(t, r, c.name)
		assert.Equal(t, c.want, r.Problems(), c.name)
	}
	assert.Empty(t, ParseGoTest(console("[vm0] ", "PASS", "hello")), "no RUN line: no test binary's output")
}
