package guesttest

import (
	"regexp"
	"strings"
	"testing"

	"bulkhead/internal/qemu"
)

// Test guests written as ordinary Go tests print `go test -v` output on
// their console (a test binary given -test.v); GoTestReport reads it back,
// per VM, into the same cases as the SDK's line protocol.

// GoTestReport is one test binary's -test.v output: its tests in the order
// they started, the final PASS or FAIL line, and panics.
type GoTestReport struct {
	Cases  []Case
	Result string   // "PASS", "FAIL", or "" if the binary never got that far
	Panics []string // "panic: ..." lines (a test timeout is one)
}

var (
	// goTestEvent matches "=== RUN   TestX", "=== NAME  TestX", "=== CONT  TestX".
	goTestEvent = regexp.MustCompile(`^=== (RUN|NAME|CONT|PAUSE)\s+(\S+)$`)
	// goTestEnd matches "--- PASS: TestX (0.00s)", indented for subtests.
	goTestEnd = regexp.MustCompile(`^\s*--- (PASS|FAIL|SKIP): (\S+) \(`)
)

// ParseGoTest reads a console and returns a report per VM ("" for lines
// without a VM prefix) that printed -test.v output.
func ParseGoTest(console string) map[string]*GoTestReport {
	reports := map[string]*GoTestReport{}
	current := map[string]string{} // VM -> test its log lines belong to
	for _, line := range strings.Split(console, "\n") {
		vm, line := splitVM(strings.TrimRight(line, "\r"))
		r := reports[vm]
		if r == nil {
			if !goTestEvent.MatchString(line) {
				continue // not (yet) a test binary's output
			}
			r = &GoTestReport{}
			reports[vm] = r
		}
		current[vm] = r.line(line, current[vm])
	}
	return reports
}

// splitVM takes the hypervisor's "[name] " prefix off a line.
func splitVM(line string) (vm, rest string) {
	if m := vmLine.FindStringSubmatch(line); m != nil {
		return m[1], m[2]
	}
	return "", line
}

// line applies one output line; current is the test whose output is being
// printed, and the result is the test after the line.
func (r *GoTestReport) line(line, current string) string {
	if m := goTestEvent.FindStringSubmatch(line); m != nil {
		if m[1] == "RUN" {
			r.Cases = append(r.Cases, Case{Name: m[2]})
		}
		return m[2]
	}
	if m := goTestEnd.FindStringSubmatch(line); m != nil {
		if c := r.find(m[2]); c != nil {
			c.Outcome = map[string]Outcome{"PASS": Passed, "FAIL": Failed, "SKIP": Skipped}[m[1]]
			c.Message = strings.Join(c.Logs, "\n")
		}
		return m[2]
	}
	switch {
	case line == "PASS" || line == "FAIL":
		r.Result = line
	case strings.HasPrefix(line, "panic: "):
		r.Panics = append(r.Panics, line)
	case strings.HasPrefix(line, "    ") && current != "":
		if c := r.find(current); c != nil {
			c.Logs = append(c.Logs, strings.TrimSpace(line))
		}
	}
	return current
}

// Case returns the test named name.
func (r *GoTestReport) Case(name string) (Case, bool) {
	if c := r.find(name); c != nil {
		return *c, true
	}
	return Case{}, false
}

// find returns the last case named name.
func (r *GoTestReport) find(name string) *Case {
	for i := len(r.Cases) - 1; i >= 0; i-- {
		if r.Cases[i].Name == name {
			return &r.Cases[i]
		}
	}
	return nil
}

// Problems lists what is wrong beyond failed tests: no final PASS or FAIL
// (the binary crashed, hung or was cut off), a panic, tests that started
// and never ended, a FAIL result with no failed test, or no test at all.
func (r *GoTestReport) Problems() []string {
	var p []string
	if r.Result == "" {
		p = append(p, "no final PASS or FAIL line: the test binary crashed, hung or was stopped before it finished")
	}
	p = append(p, r.Panics...)
	for _, c := range r.Cases {
		if c.Outcome == Unfinished {
			p = append(p, c.Name+" started but never finished")
		}
	}
	failed := 0
	for _, c := range r.Cases {
		if c.Outcome == Failed {
			failed++
		}
	}
	if r.Result == "FAIL" && failed == 0 && len(r.Panics) == 0 {
		p = append(p, "the binary reported FAIL but no test failed")
	}
	if len(r.Cases) == 0 {
		p = append(p, "no test ran")
	}
	return p
}

// RunGoTest turns the -test.v output of VM vm into one subtest per guest
// test (subtests of the guest's tests keep their full names), each failing
// with the guest's messages or skipped with its reason, and fails t if the
// report is missing or incomplete (Problems). It returns the report.
func RunGoTest(t *testing.T, res qemu.Result, vm string) *GoTestReport {
	t.Helper()
	r := ParseGoTest(res.Console)[vm]
	if r == nil {
		t.Errorf("no go test output from %q on the console (exit %d, timed out %v)", vm, res.ExitCode, res.TimedOut)
		return &GoTestReport{}
	}
	for _, c := range r.Cases {
		t.Run(c.Name, func(t *testing.T) {
			switch c.Outcome {
			case Failed:
				t.Error(c.Message)
			case Unfinished:
				t.Error("started but never finished: the program crashed or hung in it")
			case Skipped:
				t.Skip(c.Message)
			}
		})
	}
	for _, p := range r.Problems() {
		t.Errorf("%s: %s", name(vm), p)
	}
	return r
}
