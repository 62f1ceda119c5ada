// Package guesttest reads the test reports programs built with the guest
// SDK print on the console (the line protocol of package guest) and turns
// each guest test into a Go subtest, so that a QEMU suite shows and fails
// guest tests one by one.
package guesttest

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"bulkhead/guest"
	"bulkhead/internal/qemu"
)

// Outcome is how a guest test ended.
type Outcome int

// Outcomes.
const (
	Unfinished Outcome = iota // RUN without PASS or FAIL: the guest crashed or hung in it
	Passed
	Failed
	Skipped // go test's SKIP
)

func (o Outcome) String() string {
	return [...]string{"unfinished", "passed", "failed", "skipped"}[o]
}

// Case is one guest test as the console reported it.
type Case struct {
	Name    string
	Outcome Outcome
	Message string   // FAIL's message, unescaped
	Logs    []string // LOG messages, unescaped
}

// Report is one program's report: the tests in the order they ran, its
// ERROR lines, the lines that broke the protocol, and the DONE line's
// counts.
type Report struct {
	Cases          []Case
	Errors         []string // ERROR messages, unescaped
	Violations     []string // lines out of protocol
	Done           bool
	Passed, Failed int // as DONE counted them; an ERROR counts as a failure
}

// Case returns the test named name.
func (r *Report) Case(name string) (Case, bool) {
	for _, c := range r.Cases {
		if c.Name == name {
			return c, true
		}
	}
	return Case{}, false
}

// Count returns how many tests ended with o.
func (r *Report) Count(o Outcome) int {
	n := 0
	for _, c := range r.Cases {
		if c.Outcome == o {
			n++
		}
	}
	return n
}

// Problems lists what is wrong with the report beyond failed tests: ERROR
// lines, protocol violations, a missing DONE (the program crashed, hung or
// was cut off), DONE counts that disagree with the lines, an empty report.
func (r *Report) Problems() []string {
	p := append(append([]string(nil), r.Errors...), r.Violations...)
	switch {
	case !r.Done:
		p = append(p, "no DONE line: the program crashed, hung or was stopped before it finished")
	case r.Passed != r.Count(Passed) || r.Failed != r.Count(Failed)+len(r.Errors):
		p = append(p, fmt.Sprintf("DONE counts passed=%d failed=%d disagree with the report: %d passed, %d failed, %d errors",
			r.Passed, r.Failed, r.Count(Passed), r.Count(Failed), len(r.Errors)))
	}
	if len(r.Cases) == 0 {
		p = append(p, "no test ran")
	}
	return p
}

// vmLine splits the "[name] " prefix the hypervisor puts on each line of a
// VM's console.
var vmLine = regexp.MustCompile(`^\[([^\] ]+)\] (.*)$`)

// Parse reads a console and returns a report per program, keyed by the
// VM name of the line prefix ("vm0" for "[vm0] ...") and "" for lines
// without one (an image the engine booted in place of the hypervisor).
// Only lines starting with the protocol's prefix (after the VM prefix)
// count; all others are ignored.
func Parse(console string) map[string]*Report {
	reports := map[string]*Report{}
	for _, line := range strings.Split(console, "\n") {
		line = strings.TrimRight(line, "\r")
		vm := ""
		if m := vmLine.FindStringSubmatch(line); m != nil {
			vm, line = m[1], m[2]
		}
		rest, ok := strings.CutPrefix(line, guest.Prefix+" ")
		if !ok {
			continue
		}
		r := reports[vm]
		if r == nil {
			r = &Report{}
			reports[vm] = r
		}
		r.event(rest)
	}
	for _, r := range reports {
		if !r.Done {
			r.close()
		}
	}
	return reports
}

// event applies one protocol line (without its prefix).
func (r *Report) event(line string) {
	verb, arg, _ := strings.Cut(line, " ")
	if r.Done {
		r.errorf("%q after DONE", line)
		return
	}
	switch verb {
	case guest.VerbRun:
		r.run(arg)
	case guest.VerbLog, guest.VerbFail:
		name, msg, ok := strings.Cut(arg, ": ")
		if !ok {
			r.errorf("%s line without a message: %q", verb, line)
			return
		}
		r.message(verb, name, r.unescape(msg))
	case guest.VerbPass:
		if c := r.open(arg, verb); c != nil {
			c.Outcome = Passed
		}
	case guest.VerbError:
		r.Errors = append(r.Errors, r.unescape(arg))
	case guest.VerbDone:
		r.done(arg)
	default:
		r.errorf("unknown line %q", line)
	}
}

func (r *Report) run(name string) {
	if !guest.ValidName(name) {
		r.errorf("RUN of an invalid name %q", name)
		return
	}
	if _, ok := r.Case(name); ok {
		r.errorf("test %s ran twice", name)
		return
	}
	r.close()
	r.Cases = append(r.Cases, Case{Name: name})
}

// open returns the running test if it is name, else records a violation.
func (r *Report) open(name, verb string) *Case {
	if n := len(r.Cases); n > 0 && r.Cases[n-1].Name == name && r.Cases[n-1].Outcome == Unfinished {
		return &r.Cases[n-1]
	}
	r.errorf("%s %s without a RUN of it", verb, name)
	return nil
}

func (r *Report) message(verb, name, msg string) {
	c := r.open(name, verb)
	if c == nil {
		return
	}
	if verb == guest.VerbLog {
		c.Logs = append(c.Logs, msg)
		return
	}
	c.Outcome, c.Message = Failed, msg
}

func (r *Report) done(arg string) {
	var p, f int
	if _, err := fmt.Sscanf(arg, "passed=%d failed=%d", &p, &f); err != nil || arg != "passed="+strconv.Itoa(p)+" failed="+strconv.Itoa(f) {
		r.errorf("malformed DONE %q", arg)
		return
	}
	r.close()
	r.Done, r.Passed, r.Failed = true, p, f
}

// close notes a test left unfinished when the next event started.
func (r *Report) close() {
	if n := len(r.Cases); n > 0 && r.Cases[n-1].Outcome == Unfinished {
		r.errorf("test %s started but never finished", r.Cases[n-1].Name)
	}
}

func (r *Report) unescape(msg string) string {
	s, err := guest.Unescape(msg)
	if err != nil {
		r.errorf("%v", err)
		return msg
	}
	return s
}

func (r *Report) errorf(format string, args ...any) {
	r.Violations = append(r.Violations, "protocol: "+fmt.Sprintf(format, args...))
}

// Run turns the report of VM vm ("" for an unprefixed console) into one
// subtest per guest test, each failing with the guest's message, and fails
// t if the report is missing, incomplete or inconsistent (Problems). It
// returns the report.
func Run(t *testing.T, res qemu.Result, vm string) *Report {
	t.Helper()
	r := Parse(res.Console)[vm]
	if r == nil {
		t.Errorf("no test report from %q on the console (exit %d, timed out %v)", vm, res.ExitCode, res.TimedOut)
		return &Report{}
	}
	for _, c := range r.Cases {
		t.Run(c.Name, func(t *testing.T) {
			for _, l := range c.Logs {
				t.Log(l)
			}
			switch c.Outcome {
			case Failed:
				t.Error(c.Message)
			case Unfinished:
				t.Error("started but never finished: the program crashed or hung in it")
			}
		})
	}
	for _, p := range r.Problems() {
		t.Errorf("%s: %s", name(vm), p)
	}
	return r
}

func name(vm string) string {
	if vm == "" {
		return "console"
	}
	return vm
}
