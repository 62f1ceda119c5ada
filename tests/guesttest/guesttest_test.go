package guesttest

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"bulkhead/guest"
)

// console joins lines, each prefixed with pre.
func console(pre string, lines ...string) string {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(pre + l + "\r\n")
	}
	return b.String()
}

func TestParseSplitsReportsByVM(t *testing.T) {
	c := "hypervisor: vm0 created\n" +
		console("[vm0] ", guest.RunLine("A"), guest.PassLine("A")) +
		console("[vm1] ", guest.RunLine("B"), guest.LogLine("B", "first\nsecond"), guest.FailLine("B", "got 1: want 2")) +
		console("[vm0] ", guest.DoneLine(1, 0)) +
		console("[vm1] ", guest.DoneLine(0, 1)) +
		console("", guest.RunLine("Host"), guest.PassLine("Host"), guest.DoneLine(1, 0))
	reports := Parse(c)
	require.Len(t, reports, 3)
	assert.Equal(t, &Report{Cases: []Case{{Name: "A", Outcome: Passed}}, Done: true, Passed: 1}, reports["vm0"])
	assert.Equal(t, &Report{
		Cases: []Case{{Name: "B", Outcome: Failed, Message: "got 1: want 2", Logs: []string{"first\nsecond"}}},
		Done:  true, Failed: 1,
	}, reports["vm1"])
	assert.Equal(t, []Case{{Name: "Host", Outcome: Passed}}, reports[""].Cases)
	for vm, r := range reports {
		assert.Empty(t, r.Problems(), vm)
	}
}

func TestParseFindsWhatIsWrong(t *testing.T) {
	cases := []struct {
		name    string
		lines   []string
		problem string
	}{
		{"no done", []string{guest.RunLine("A"), guest.PassLine("A")}, "no DONE line"},
		{"crash inside a test", []string{guest.RunLine("A")}, "test A started but never finished"},
		{"run without end", []string{guest.RunLine("A"), guest.RunLine("B"), guest.PassLine("B"), guest.DoneLine(1, 0)}, "test A started but never finished"},
		{"pass without run", []string{guest.PassLine("A"), guest.DoneLine(0, 0)}, "PASS A without a RUN of it"},
		{"fail of another", []string{guest.RunLine("A"), guest.FailLine("B", "x"), guest.PassLine("A"), guest.DoneLine(1, 0)}, "FAIL B without a RUN"},
		{"twice", []string{guest.RunLine("A"), guest.PassLine("A"), guest.RunLine("A"), guest.DoneLine(1, 0)}, "test A ran twice"},
		{"wrong counts", []string{guest.RunLine("A"), guest.PassLine("A"), guest.DoneLine(2, 0)}, "DONE counts passed=2 failed=0 disagree"},
		{"bad done", []string{guest.Prefix + " DONE passed=x"}, "malformed DONE"},
		{"after done", []string{guest.DoneLine(0, 0), guest.RunLine("A")}, "after DONE"},
		{"unknown verb", []string{guest.Prefix + " SKIP A"}, "unknown line"},
		{"fail without message", []string{guest.RunLine("A"), guest.Prefix + " FAIL A"}, "FAIL line without a message"},
		{"bad escape", []string{guest.RunLine("A"), guest.Prefix + ` FAIL A: \q`, guest.DoneLine(0, 1)}, "unknown escape"},
		{"bad name", []string{guest.Prefix + " RUN a:b"}, "invalid name"},
		{"error line", []string{guest.ErrorLine("bad run= pattern"), guest.DoneLine(0, 1)}, "bad run= pattern"},
		{"nothing ran", []string{guest.DoneLine(0, 0)}, "no test ran"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := Parse(console("[vm3] ", c.lines...))["vm3"]
			require.NotNil(t, r)
			assert.Contains(t, strings.Join(r.Problems(), "\n"), c.problem)
		})
	}
}

func TestParseIgnoresOtherOutput(t *testing.T) {
	c := "engine: BULKHEAD-TEST RUN X\n[vm0] hello\nBULKHEAD-TESTRUN Y\n[vm 0] " + guest.RunLine("Z") + "\n"
	assert.Empty(t, Parse(c))
}

// TestParseReadsWhatTheSDKWrites runs a suite of the SDK and parses its
// console back: the writer and the reader agree on every line.
func TestParseReadsWhatTheSDKWrites(t *testing.T) {
	var s guest.Suite
	s.Add("Ok", func(t *guest.T) { t.Logf("a\\b") })
	s.Add("Bad", func(t *guest.T) { t.Errorf("x\ny\x00"); t.Errorf("z") })
	s.Add("Panics", func(t *guest.T) { panic("p") })
	var out strings.Builder
	sum := s.Run(&out, "")
	r := Parse(out.String())[""]
	require.NotNil(t, r)
	assert.Empty(t, r.Problems())
	assert.Equal(t, []Case{
		{Name: "Ok", Outcome: Passed, Logs: []string{"a\\b"}},
		{Name: "Bad", Outcome: Failed, Message: "x\ny\x00; z"},
		{Name: "Panics", Outcome: Failed, Message: "panic: p"},
	}, r.Cases)
	assert.Equal(t, sum.Passed, r.Passed)
	assert.Equal(t, sum.Failed, r.Failed)
}

func TestABadSelectionIsAProblem(t *testing.T) {
	var s guest.Suite
	s.Add("Ok", func(*guest.T) {})
	var out strings.Builder
	s.Run(&out, "^Missing$")
	r := Parse(out.String())[""]
	require.NotNil(t, r)
	assert.True(t, r.Done)
	assert.Len(t, r.Errors, 1)
	assert.NotEmpty(t, r.Problems())
}

// FuzzParse feeds arbitrary consoles: the parser never panics, every test
// it reports has a valid name and one outcome, and a report whose Problems
// are empty has a DONE line whose counts match its tests.
func FuzzParse(f *testing.F) {
	f.Add(console("[vm0] ", guest.RunLine("A"), guest.FailLine("A", "m"), guest.DoneLine(0, 1)))
	f.Add(console("", guest.RunLine("A"), guest.LogLine("A", `\x00`), guest.PassLine("A"), guest.DoneLine(1, 0)))
	f.Add("[vm0] BULKHEAD-TEST DONE passed=1 failed=0\n[vm0] BULKHEAD-TEST RUN A\n")
	f.Add("BULKHEAD-TEST FAIL : \\\n[] BULKHEAD-TEST RUN\r")
	f.Fuzz(func(t *testing.T, c string) {
		for vm, r := range Parse(c) {
			seen := map[string]bool{}
			for _, cs := range r.Cases {
				require.True(t, guest.ValidName(cs.Name), "vm %q: name %q", vm, cs.Name)
				require.False(t, seen[cs.Name], "vm %q: %s twice", vm, cs.Name)
				seen[cs.Name] = true
			}
			total := r.Count(Passed) + r.Count(Failed) + r.Count(Unfinished)
			require.Equal(t, len(r.Cases), total)
			if len(r.Problems()) == 0 {
				require.True(t, r.Done)
				require.Zero(t, r.Count(Unfinished))
				require.Equal(t, r.Passed, r.Count(Passed))
				require.Equal(t, r.Failed, r.Count(Failed)+len(r.Errors))
			}
		}
	})
}
