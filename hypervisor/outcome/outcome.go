// Package outcome is how a bulkhead machine says how each guest ended, and
// how the bulkhead command turns that into its exit status. The hypervisor
// prints one line per guest in the form Line gives; `bulkhead run` reads
// the console with Summarize and exits with Summary.Status. Both sides use
// this package, so the console line and its reader cannot drift apart.
//
// A guest's own lines reach the console prefixed with "[vmN] " (package
// console), so no guest can print a line that Summarize takes for the
// hypervisor's.
package outcome

import (
	"fmt"
	"strconv"
	"strings"

	"bulkhead/boot/virt"
)

// Kind is how a guest ended.
type Kind int

// The kinds, in the words the hypervisor's console line uses.
const (
	PoweredOff Kind = iota // PSCI SYSTEM_OFF: a clean end
	Reset                  // PSCI SYSTEM_RESET (a Linux panic with panic=-1 resets)
	Aborted                // a fault nobody can emulate, or a broken exit
	Refused                // the hypervisor would not make a VM of it
	TimedOut               // it outlived its timeout= argument
)

var kindWords = [...]string{
	PoweredOff: "powered off",
	Reset:      "reset",
	Aborted:    "aborted",
	Refused:    "refused",
	TimedOut:   "timed out",
}

func (k Kind) String() string {
	if k >= 0 && int(k) < len(kindWords) {
		return kindWords[k]
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Exit statuses of `bulkhead run`. A guest chooses 0 to MaxGuestStatus for
// itself through the machine's exit-status register; the kinds that are
// not a clean power-off have statuses of their own above that range, so a
// CI job can tell them apart.
const (
	StatusOK       = 0
	StatusInternal = 1                  // bulkhead itself failed: a build, QEMU missing
	StatusUsage    = 2                  // bad command line or input file; nothing started
	MaxGuestStatus = virt.ExitStatusMax // guests choose 0..63
	StatusReset    = 64                 // a guest reset (SYSTEM_RESET, Linux panic)
	StatusAborted  = 65                 // a guest aborted
	StatusRefused  = 66                 // a guest's image or arguments were refused
	StatusGuestTO  = 67                 // a guest outlived its timeout= argument
	StatusRunTO    = 68                 // the run's -timeout passed; QEMU was stopped
	StatusMachine  = 69                 // the self-check failed, or the machine did not power off cleanly
	StatusStopped  = 70                 // stopped by Ctrl-A x or a signal
)

// StatusRow is one row of the exit-status table.
type StatusRow struct {
	Status  string
	Meaning string
}

// StatusTable documents every exit status of `bulkhead run`, in the words
// its -h and the README use.
func StatusTable() []StatusRow {
	n := strconv.Itoa
	return []StatusRow{
		{n(StatusOK), "every guest powered off cleanly with status 0, and the machine powered off"},
		{fmt.Sprintf("1-%d", MaxGuestStatus), fmt.Sprintf("a guest powered off with that status, written to its exit-status register (IPA 0x%08x)", virt.ExitStatus.Base)},
		{n(StatusReset), "a guest reset (PSCI SYSTEM_RESET; a Linux panic with panic=-1)"},
		{n(StatusAborted), "a guest aborted (a fault nobody can emulate)"},
		{n(StatusRefused), "a guest was refused (bad image or arguments)"},
		{n(StatusGuestTO), "a guest outlived its timeout= argument"},
		{n(StatusRunTO), "the run's -timeout passed; QEMU was stopped"},
		{n(StatusMachine), "the machine failed (self-check, teardown, an EL1 panic) or did not power off"},
		{n(StatusStopped), "stopped by Ctrl-A x or a signal"},
		{n(StatusUsage), "bad command line or input file; no QEMU started"},
		{n(StatusInternal), "bulkhead itself failed (a build, QEMU missing)"},
	}
}

// kindStatus maps a guest's end to its status; PoweredOff uses the
// guest's own.
var kindStatus = [...]int{
	Reset:    StatusReset,
	Aborted:  StatusAborted,
	Refused:  StatusRefused,
	TimedOut: StatusGuestTO,
}

// Guest is how one guest ended.
type Guest struct {
	VM     string // the VM's name, e.g. "vm0"
	Kind   Kind
	Status int    // the guest's own exit status (PoweredOff only)
	Detail string // the hypervisor's words after the kind
}

// ExitStatus is the status this guest alone would give the run.
func (g Guest) ExitStatus() int {
	if g.Kind == PoweredOff {
		return g.Status
	}
	return kindStatus[g.Kind]
}

const (
	linePrefix = "hypervisor: vm "
	lineEnded  = " ended: "
	statusWord = ", status "
)

// Line is the hypervisor's console line for g. id is the VM's engine id,
// or 0 for a guest that never got a VM.
func (g Guest) Line(id uint64) string {
	var b strings.Builder
	b.WriteString(linePrefix + g.VM)
	if id != 0 {
		fmt.Fprintf(&b, " (id %d)", id)
	}
	b.WriteString(lineEnded + g.Kind.String())
	if g.Kind == PoweredOff && g.Status != 0 {
		b.WriteString(statusWord + strconv.Itoa(g.Status))
	}
	if g.Detail != "" {
		b.WriteString(": " + g.Detail)
	}
	return b.String()
}

// ParseLine reads a line Line wrote; ok is false for any other line.
func ParseLine(line string) (g Guest, ok bool) {
	rest, ok := strings.CutPrefix(strings.TrimRight(line, "\r"), linePrefix)
	if !ok {
		return g, false
	}
	head, tail, ok := strings.Cut(rest, lineEnded)
	if !ok {
		return g, false
	}
	g.VM, _, _ = strings.Cut(head, " ")
	for k, w := range kindWords {
		if after, found := strings.CutPrefix(tail, w); found {
			g.Kind = Kind(k)
			return g, g.parseTail(after)
		}
	}
	return g, false
}

// parseTail reads what follows the kind: an optional ", status N" and an
// optional ": detail".
func (g *Guest) parseTail(s string) bool {
	if after, found := strings.CutPrefix(s, statusWord); found {
		digits, rest, _ := strings.Cut(after, ":")
		n, err := strconv.Atoi(digits)
		if err != nil || n < 1 || n > MaxGuestStatus || g.Kind != PoweredOff {
			return false
		}
		g.Status, s = n, rest
		if rest != "" {
			s = ":" + rest
		}
	}
	if s == "" {
		return true
	}
	detail, ok := strings.CutPrefix(s, ": ")
	g.Detail = detail
	return ok
}
