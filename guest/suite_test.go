package guest

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"bulkhead/isolation/abi"
)

// run runs s with pattern and returns its summary and console lines.
func run(s *Suite, pattern string) (Summary, []string) {
	var out strings.Builder
	sum := s.Run(&out, pattern)
	return sum, strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
}

func sampleSuite() *Suite {
	var s Suite
	s.Add("Passes", func(t *T) { t.Equal(uint64(4096), uint64(abi.Granule)) })
	s.Add("FailsTwice", func(t *T) {
		t.Status(abi.Success, abi.Denied, "share %#x", 0x1000)
		t.Errorf("second\nline")
	})
	s.Add("Fatal", func(t *T) {
		t.Fatalf("stop")
		t.Errorf("not reached")
	})
	s.Add("Panics", func(t *T) { panic(errors.New("boom")) })
	s.Add("Logs", func(t *T) { t.Logf("note %d", 7) })
	s.AddControl("BrokenControl", func(t *T) { t.Fatalf("made to fail") })
	return &s
}

func TestRunReportsEveryTestInOrder(t *testing.T) {
	sum, lines := run(sampleSuite(), "")
	assert.Equal(t, Summary{Passed: 2, Failed: 3}, sum)
	assert.Equal(t, []string{
		RunLine("Passes"), PassLine("Passes"),
		RunLine("FailsTwice"), FailLine("FailsTwice", "share 0x1000: status DENIED (-3), want SUCCESS (0); second\nline"),
		RunLine("Fatal"), FailLine("Fatal", "stop"),
		RunLine("Panics"), FailLine("Panics", "panic: boom"),
		RunLine("Logs"), LogLine("Logs", "note 7"), PassLine("Logs"),
		DoneLine(2, 3),
	}, lines)
}

func TestControlsRunOnlyWhenSelected(t *testing.T) {
	names, err := sampleSuite().Names("")
	require.NoError(t, err)
	assert.NotContains(t, names, "BrokenControl")

	sum, lines := run(sampleSuite(), "^Broken")
	assert.Equal(t, Summary{Failed: 1}, sum)
	assert.Equal(t, []string{RunLine("BrokenControl"), FailLine("BrokenControl", "made to fail"), DoneLine(0, 1)}, lines)

	names, err = sampleSuite().Names("s$")
	require.NoError(t, err)
	assert.Equal(t, []string{"Passes", "Panics", "Logs"}, names)
}

func TestABadOrEmptySelectionIsAFailure(t *testing.T) {
	for _, pattern := range []string{"(", "^NoSuchTest$"} {
		sum, lines := run(sampleSuite(), pattern)
		assert.Equal(t, Summary{Failed: 1}, sum, pattern)
		require.Len(t, lines, 2, pattern)
		assert.True(t, strings.HasPrefix(lines[0], Prefix+" "+VerbError+" "), lines[0])
		assert.Equal(t, DoneLine(0, 1), lines[1])
	}
}

func TestRegistrationRefusesBadNames(t *testing.T) {
	var s Suite
	s.Add("A", func(*T) {})
	assert.Panics(t, func() { s.Add("A", func(*T) {}) })
	assert.Panics(t, func() { s.AddControl("A", func(*T) {}) })
	assert.Panics(t, func() { s.Add("has space", func(*T) {}) })
	assert.Panics(t, func() { s.Add("", func(*T) {}) })
}

func TestRunPatternTakesTheLastRunWord(t *testing.T) {
	for args, want := range map[string]string{
		"":                        "",
		"console=ttyAMA0":         "",
		"run=^Abi":                "^Abi",
		"quiet run=A|B   other=1": "A|B",
		"run=first run=second":    "second",
		"rerun=x":                 "",
		"run=":                    "",
	} {
		assert.Equal(t, want, RunPattern(args), "%q", args)
	}
}

// outcome runs fn as a test and returns whether it passed and its message.
func outcome(fn func(*T)) (bool, string) {
	t := &T{name: "x", out: &strings.Builder{}}
	t.run(fn)
	return !t.Failed(), t.message()
}

func TestAssertions(t *testing.T) {
	cases := []struct {
		name string
		fn   func(*T)
		pass bool
		msg  string
	}{
		{"equal", func(t *T) { t.Equal(1, 1) }, true, ""},
		{"equal types differ", func(t *T) { t.Equal(1, uint64(1)) }, false, "got 1 (0x1), want 1 (0x1)"},
		{"equal described", func(t *T) { t.Equal(uint64(2), uint64(3), "page %d", 5) }, false, "page 5: got 3 (0x3), want 2 (0x2)"},
		{"not equal", func(t *T) { t.NotEqual(1, 2) }, true, ""},
		{"not equal fails", func(t *T) { t.NotEqual("a", "a") }, false, `got "a", want anything else`},
		{"true", func(t *T) { t.True(true) }, true, ""},
		{"false", func(t *T) { t.True(false, "probe") }, false, "probe: condition is false"},
		{"status", func(t *T) { t.Status(abi.Busy, abi.Busy) }, true, ""},
		{"status fails", func(t *T) { t.Status(abi.Busy, abi.NotSupported) }, false, "status NOT_SUPPORTED (-1), want BUSY (-5)"},
		{"psci", func(t *T) { t.PSCI(abi.PSCIAlreadyOn, abi.PSCIAlreadyOn) }, true, ""},
		{"psci fails", func(t *T) { t.PSCI(abi.PSCISuccess, -2) }, false, "PSCI returned -2 (0xfffffffffffffffe), want 0 (0x0)"},
		{"require stops", func(t *T) { t.Require(t.True(false)); t.Errorf("not reached") }, false, "condition is false"},
		{"fail now", func(t *T) { t.FailNow() }, false, "FailNow"},
		{"cleanup after fatal", func(t *T) {
			t.Cleanup(func() { t.Errorf("second cleanup ran last") })
			t.Cleanup(func() { t.Errorf("first cleanup ran first") })
			t.Fatalf("fatal")
		}, false, "fatal; first cleanup ran first; second cleanup ran last"},
		{"cleanup panics", func(t *T) { t.Cleanup(func() { panic("c") }) }, false, "panic: c"},
	}
	for _, c := range cases {
		pass, msg := outcome(c.fn)
		assert.Equal(t, c.pass, pass, c.name)
		assert.Equal(t, c.msg, msg, c.name)
	}
}
