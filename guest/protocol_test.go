package guest

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEscapeKeepsAMessageOnOneLine(t *testing.T) {
	cases := []struct{ in, out string }{
		{"", ""},
		{"plain words: 1, 2", "plain words: 1, 2"},
		{"two\nlines", `two\nlines`},
		{"cr\r\n", `cr\r\n`},
		{`back\slash`, `back\\slash`},
		{"bell\a del\x7f high\xff", `bell\x07 del\x7f high\xff`},
	}
	for _, c := range cases {
		got := Escape(c.in)
		assert.Equal(t, c.out, got, "Escape(%q)", c.in)
		assert.NotContains(t, got, "\n")
		back, err := Unescape(got)
		require.NoError(t, err)
		assert.Equal(t, c.in, back)
	}
}

func TestUnescapeRefusesWhatEscapeNeverWrites(t *testing.T) {
	for _, s := range []string{`\`, `a\q`, `\x`, `\x1`, `\xzz`, `\x+1`} {
		_, err := Unescape(s)
		assert.Error(t, err, "%q", s)
	}
}

func FuzzEscapeRoundTrips(f *testing.F) {
	for _, s := range []string{"", "a\nb", `\x00`, "\x00\xff\\"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e := Escape(s)
		for _, c := range []byte(e) {
			require.True(t, c >= 0x20 && c < 0x7f, "escaped %q holds byte %#x", s, c)
		}
		back, err := Unescape(e)
		require.NoError(t, err)
		require.Equal(t, s, back)
	})
}

func TestValidName(t *testing.T) {
	for name, want := range map[string]bool{
		"Version":                          true,
		"PSCI/CPUOn-bad.1":                 true,
		"":                                 false,
		"two words":                        false,
		"colon:":                           false,
		"tab\t":                            false,
		"ünicode":                          false,
		string(make([]byte, MaxNameLen+1)): false,
	} {
		assert.Equal(t, want, ValidName(name), "%q", name)
	}
}

func TestLinesCarryThePrefixAndVerb(t *testing.T) {
	assert.Equal(t, Prefix+" "+VerbRun+" A", RunLine("A"))
	assert.Equal(t, Prefix+" "+VerbPass+" A", PassLine("A"))
	assert.Equal(t, Prefix+" "+VerbFail+` A: x\ny`, FailLine("A", "x\ny"))
	assert.Equal(t, Prefix+" "+VerbLog+" A: m", LogLine("A", "m"))
	assert.Equal(t, Prefix+" "+VerbError+" e", ErrorLine("e"))
	assert.Equal(t, Prefix+" "+VerbDone+" passed=3 failed=1", DoneLine(3, 1))
}
