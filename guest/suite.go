package guest

import (
	"fmt"
	"io"
	"regexp"
	"strings"
)

// Suite is an ordered set of named tests.
type Suite struct {
	tests []entry
}

type entry struct {
	name    string
	fn      func(*T)
	control bool
}

// Default is the suite Test and ControlTest register in and Main runs.
var Default Suite

// Test registers fn as test name in Default. It panics on an invalid or a
// duplicate name: a program with one is broken before it runs.
func Test(name string, fn func(*T)) { Default.Add(name, fn) }

// ControlTest registers a control in Default: a test made to fail, which
// runs only when a run= pattern selects it. It shows that a failure travels
// all the way to the host's report.
func ControlTest(name string, fn func(*T)) { Default.AddControl(name, fn) }

// Add registers fn as test name.
func (s *Suite) Add(name string, fn func(*T)) { s.add(entry{name: name, fn: fn}) }

// AddControl registers a control test (see ControlTest).
func (s *Suite) AddControl(name string, fn func(*T)) {
	s.add(entry{name: name, fn: fn, control: true})
}

func (s *Suite) add(e entry) {
	if !ValidName(e.name) {
		panic(fmt.Sprintf("guest: invalid test name %q", e.name))
	}
	for _, o := range s.tests {
		if o.name == e.name {
			panic(fmt.Sprintf("guest: test %q registered twice", e.name))
		}
	}
	s.tests = append(s.tests, e)
}

// Names returns the names of the tests pattern selects, in registration
// order. An empty pattern selects every test but the controls; otherwise a
// test, control or not, runs if the regular expression matches its name.
func (s *Suite) Names(pattern string) ([]string, error) {
	sel, err := s.selectTests(pattern)
	names := make([]string, len(sel))
	for i, e := range sel {
		names[i] = e.name
	}
	return names, err
}

func (s *Suite) selectTests(pattern string) ([]entry, error) {
	var re *regexp.Regexp
	if pattern != "" {
		var err error
		if re, err = regexp.Compile(pattern); err != nil {
			return nil, fmt.Errorf("bad run= pattern: %v", err)
		}
	}
	var sel []entry
	for _, e := range s.tests {
		if re == nil && !e.control || re != nil && re.MatchString(e.name) {
			sel = append(sel, e)
		}
	}
	if len(sel) == 0 {
		return nil, fmt.Errorf("run=%s selects none of the %d tests", pattern, len(s.tests))
	}
	return sel, nil
}

// Summary counts the outcomes of a run.
type Summary struct {
	Passed, Failed int
}

// Run runs the tests pattern selects (see Names) and reports each on w in
// the line protocol, ending with DONE. A pattern that does not compile or
// selects nothing is reported as an ERROR and counted as a failure, so
// that a typo never passes for a clean run.
func (s *Suite) Run(w io.Writer, pattern string) Summary {
	var sum Summary
	sel, err := s.selectTests(pattern)
	if err != nil {
		fmt.Fprintln(w, ErrorLine(err.Error()))
		sum.Failed++
	}
	for _, e := range sel {
		if runOne(w, e) {
			sum.Passed++
		} else {
			sum.Failed++
		}
	}
	fmt.Fprintln(w, DoneLine(sum.Passed, sum.Failed))
	return sum
}

// runOne runs one test, turning a panic into a failure so that the tests
// after it still run.
func runOne(w io.Writer, e entry) bool {
	fmt.Fprintln(w, RunLine(e.name))
	t := &T{name: e.name, out: w}
	t.run(e.fn)
	if t.Failed() {
		fmt.Fprintln(w, FailLine(e.name, t.message()))
		return false
	}
	fmt.Fprintln(w, PassLine(e.name))
	return true
}

// run runs fn and then the cleanups it registered.
func (t *T) run(fn func(*T)) {
	runGuarded(t, fn)
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		runGuarded(t, func(*T) { t.cleanups[i]() })
	}
}

func runGuarded(t *T, fn func(*T)) {
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(failNow); !ok {
				t.Errorf("panic: %v", r)
			}
		}
	}()
	fn(t)
}

// RunPattern returns the value of the run= word of a kernel-style command
// line (words separated by spaces), or "" if there is none. The last run=
// wins, as with repeated kernel parameters.
func RunPattern(bootargs string) string {
	pattern := ""
	for _, w := range strings.Fields(bootargs) {
		if v, ok := strings.CutPrefix(w, "run="); ok {
			pattern = v
		}
	}
	return pattern
}
