package guest

import (
	"fmt"
	"strconv"
	"strings"
)

// The console line protocol. A test program prints one line per event,
// each starting with Prefix, so that the host can find them among other
// console output (and behind a per-VM prefix such as "[vm0] "):
//
//	BULKHEAD-TEST RUN <name>
//	BULKHEAD-TEST LOG <name>: <message>
//	BULKHEAD-TEST PASS <name>
//	BULKHEAD-TEST FAIL <name>: <message>
//	BULKHEAD-TEST ERROR <message>
//	BULKHEAD-TEST DONE passed=<n> failed=<m>
//
// Every RUN is followed by exactly one PASS or FAIL of the same name before
// the next RUN; DONE comes last. ERROR reports a problem outside any test
// (a bad run= pattern, an unreadable device tree). Messages are escaped
// (Escape) so that each event stays on one line.
const Prefix = "BULKHEAD-TEST"

// Verbs of the protocol.
const (
	VerbRun   = "RUN"
	VerbLog   = "LOG"
	VerbPass  = "PASS"
	VerbFail  = "FAIL"
	VerbError = "ERROR"
	VerbDone  = "DONE"
)

// MaxNameLen bounds a test name.
const MaxNameLen = 128

// ValidName reports whether name can be a test name: 1 to MaxNameLen
// characters from [A-Za-z0-9_./-], so that it needs no escaping, holds no
// separator of the protocol (space, colon) and makes a clean Go subtest
// name.
func ValidName(name string) bool {
	if name == "" || len(name) > MaxNameLen {
		return false
	}
	for _, c := range []byte(name) {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '_' || c == '.' || c == '/' || c == '-'
		if !ok {
			return false
		}
	}
	return true
}

// RunLine announces that test name starts.
func RunLine(name string) string { return Prefix + " " + VerbRun + " " + name }

// PassLine reports that test name passed.
func PassLine(name string) string { return Prefix + " " + VerbPass + " " + name }

// FailLine reports that test name failed with msg.
func FailLine(name, msg string) string {
	return Prefix + " " + VerbFail + " " + name + ": " + Escape(msg)
}

// LogLine carries a message test name logged.
func LogLine(name, msg string) string {
	return Prefix + " " + VerbLog + " " + name + ": " + Escape(msg)
}

// ErrorLine reports a problem outside any test.
func ErrorLine(msg string) string { return Prefix + " " + VerbError + " " + Escape(msg) }

// DoneLine ends the report.
func DoneLine(passed, failed int) string {
	return fmt.Sprintf("%s %s passed=%d failed=%d", Prefix, VerbDone, passed, failed)
}

// Escape makes msg one printable line: a backslash becomes `\\`, newline
// and carriage return `\n` and `\r`, and any other byte below 0x20 or from
// 0x7f up `\xNN`. Unescape reverses it.
func Escape(msg string) string {
	var b strings.Builder
	for i := 0; i < len(msg); i++ {
		switch c := msg[i]; {
		case c == '\\':
			b.WriteString(`\\`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c < 0x20 || c >= 0x7f:
			fmt.Fprintf(&b, `\x%02x`, c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// Unescape reverses Escape; it fails on an escape Escape never writes.
func Unescape(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b.WriteByte(s[i])
			continue
		}
		if i+1 >= len(s) {
			return "", fmt.Errorf("guest: trailing backslash in %q", s)
		}
		i++
		switch s[i] {
		case '\\':
			b.WriteByte('\\')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 'x':
			if i+2 >= len(s) {
				return "", fmt.Errorf("guest: short \\x escape in %q", s)
			}
			v, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
			if err != nil {
				return "", fmt.Errorf("guest: bad \\x escape in %q", s)
			}
			b.WriteByte(byte(v))
			i += 2
		default:
			return "", fmt.Errorf("guest: unknown escape \\%c in %q", s[i], s)
		}
	}
	return b.String(), nil
}
