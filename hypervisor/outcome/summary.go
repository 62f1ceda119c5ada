package outcome

import (
	"fmt"
	"strings"
)

// Console lines that say how the machine as a whole ended. The engine
// prints PoweredOffLine when the EL1 image asks for PSCI SYSTEM_OFF; the
// others mark a failure of the machine rather than of one guest.
const (
	PoweredOffLine = "engine: host requested power off"
)

// machineFailures are the starts of lines that mean the machine failed:
// the hypervisor's self-check, its guest handling or a teardown, an EL1
// image that exited with an error (a Go panic), or the engine giving up.
var machineFailures = []struct{ prefix, contains string }{
	{"hypervisor: self-check FAILED", ""},
	{"hypervisor: guests: ", ""},
	{linePrefix, "teardown FAILED"},
	{"el1: exiting with code ", ""},
	{"engine: powering off", ""},
	{"engine: host requested reset", ""},
}

// Summary is what a run's console says about its guests and the machine.
type Summary struct {
	Guests []Guest
	// Status is the run's exit status: the first failure's, in console
	// order, or StatusOK.
	Status int
	// Reason says in words why Status is what it is.
	Reason string
}

// Summarize reads a run's console. timedOut says the run's own -timeout
// stopped QEMU.
func Summarize(console string, timedOut bool) Summary {
	var s Summary
	for _, line := range strings.Split(console, "\n") {
		line = strings.TrimRight(line, "\r")
		if g, ok := ParseLine(line); ok {
			s.Guests = append(s.Guests, g)
			s.fail(g.ExitStatus(), fmt.Sprintf("vm %s %s", g.VM, g.describe()))
			continue
		}
		if isMachineFailure(line) {
			s.fail(StatusMachine, fmt.Sprintf("machine failed: %q", line))
		}
	}
	switch {
	case timedOut:
		s.fail(StatusRunTO, "the run's -timeout passed; QEMU was stopped")
	case !strings.Contains(console, PoweredOffLine):
		s.fail(StatusMachine, "the machine did not power off cleanly")
	}
	if s.Reason == "" {
		s.Reason = "every guest powered off cleanly"
	}
	return s
}

// fail records a failure unless an earlier one was recorded.
func (s *Summary) fail(status int, reason string) {
	if status != StatusOK && s.Status == StatusOK {
		s.Status, s.Reason = status, reason
	}
}

func isMachineFailure(line string) bool {
	for _, f := range machineFailures {
		if strings.HasPrefix(line, f.prefix) && strings.Contains(line, f.contains) {
			return true
		}
	}
	return false
}

// describe is the guest's end in words, for a summary line.
func (g Guest) describe() string {
	s := g.Kind.String()
	if g.Kind == PoweredOff {
		s += fmt.Sprintf(", status %d", g.Status)
	}
	if g.Detail != "" {
		s += ": " + g.Detail
	}
	return s
}

// Lines returns one line per guest for the end of a run, and the run's
// status with its reason.
func (s Summary) Lines() []string {
	var out []string
	for _, g := range s.Guests {
		out = append(out, fmt.Sprintf("bulkhead: vm %s %s (exit %d)", g.VM, g.describe(), g.ExitStatus()))
	}
	return append(out, fmt.Sprintf("bulkhead: exit status %d: %s", s.Status, s.Reason))
}
