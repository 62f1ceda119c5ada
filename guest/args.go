package guest

import (
	"errors"
	"fmt"
	"strings"
)

// A guest program's command line travels in /chosen/bootargs, one line of
// text: JoinArgs writes the arguments with a small quoting rule and
// SplitArgs reads them back, so that any argument (spaces, quotes, an
// empty string, a regular expression) arrives as it was given. A word of
// plain characters stands for itself; anything else is written between
// double quotes with \\, \", \n, \t and \xNN escapes.

// JoinArgs encodes args as one line.
func JoinArgs(args []string) string {
	words := make([]string, len(args))
	for i, a := range args {
		words[i] = quote(a)
	}
	return strings.Join(words, " ")
}

// plain reports whether c stands for itself outside quotes: printable
// ASCII but the space, the quote and the backslash.
func plain(c byte) bool {
	return c > ' ' && c < 0x7f && c != '"' && c != '\\'
}

func quote(a string) string {
	needs := a == ""
	for i := 0; i < len(a) && !needs; i++ {
		needs = !plain(a[i])
	}
	if !needs {
		return a
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(a); i++ {
		switch c := a[i]; {
		case c == '\\' || c == '"':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\t':
			b.WriteString(`\t`)
		case c < 0x20 || c >= 0x7f:
			fmt.Fprintf(&b, `\x%02x`, c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// SplitArgs decodes a line JoinArgs wrote (or any line of plain words).
func SplitArgs(line string) ([]string, error) {
	var args []string
	for i := 0; i < len(line); {
		switch {
		case line[i] == ' ':
			i++
		case line[i] == '"':
			a, n, err := unquote(line[i:])
			if err != nil {
				return nil, err
			}
			args = append(args, a)
			i += n
		default:
			j := strings.IndexByte(line[i:], ' ')
			if j < 0 {
				j = len(line) - i
			}
			args = append(args, line[i:i+j])
			i += j
		}
	}
	return args, nil
}

var errUnterminated = errors.New("unterminated quoted argument")

// unquote reads one quoted word at the start of s and returns it and the
// bytes it took.
func unquote(s string) (string, int, error) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			return b.String(), i + 1, nil
		case c != '\\':
			b.WriteByte(c)
		case i+1 >= len(s):
			return "", 0, errUnterminated
		default:
			i++
			n, err := unescape(s[i:], &b)
			if err != nil {
				return "", 0, err
			}
			i += n
		}
	}
	return "", 0, errUnterminated
}

// unescape writes the escape at the start of s (after its backslash) to b
// and returns how many bytes beyond the first it took.
func unescape(s string, b *strings.Builder) (int, error) {
	switch s[0] {
	case '\\', '"':
		b.WriteByte(s[0])
	case 'n':
		b.WriteByte('\n')
	case 't':
		b.WriteByte('\t')
	case 'x':
		var v byte
		if len(s) < 3 {
			return 0, errors.New(`short \x escape`)
		}
		if _, err := fmt.Sscanf(s[1:3], "%02x", &v); err != nil {
			return 0, fmt.Errorf(`bad \x escape %q`, s[:3])
		}
		b.WriteByte(v)
		return 2, nil
	default:
		return 0, fmt.Errorf(`unknown escape \%c`, s[0])
	}
	return 0, nil
}
