package outcome

import (
	"math/rand"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLineRoundTrips(t *testing.T) {
	rng := rand.New(rand.NewSource(9))
	details := []string{"", "vCPU 0 took exception class 0x21", "timed out after 1s", "a: b: c"}
	for i := 0; i < 1000; i++ {
		g := Guest{VM: "vm" + string(rune('0'+rng.Intn(10))), Kind: Kind(rng.Intn(len(kindWords))),
			Detail: details[rng.Intn(len(details))]}
		if g.Kind == PoweredOff {
			g.Status = rng.Intn(MaxGuestStatus + 1)
		}
		got, ok := ParseLine(g.Line(uint64(rng.Intn(3))))
		require.True(t, ok, g.Line(1))
		require.Equal(t, g, got)
	}
}

func TestLineKeepsTheHypervisorsWording(t *testing.T) {
	g := Guest{VM: "vm0", Kind: PoweredOff}
	assert.Equal(t, "hypervisor: vm vm0 (id 1) ended: powered off", g.Line(1))
	g.Status = 3
	assert.Equal(t, "hypervisor: vm vm0 (id 1) ended: powered off, status 3", g.Line(1))
	r := Guest{VM: "vm1", Kind: Refused, Detail: "guest 1: line 1 \"x\": want key=value"}
	assert.Equal(t, "hypervisor: vm vm1 ended: refused: guest 1: line 1 \"x\": want key=value", r.Line(0))
}

func TestParseLineRejectsOtherLines(t *testing.T) {
	for _, l := range []string{
		"",
		"[vm0] hypervisor: vm vm0 ended: powered off",
		"hypervisor: vm vm0 exits: MMIO 3",
		"hypervisor: vm vm0 ended: exploded",
		"hypervisor: vm vm0 ended: powered off, status 64",
		"hypervisor: vm vm0 ended: powered off, status x",
		"hypervisor: vm vm0 ended: reset, status 3",
		"hypervisor: vm vm0 ended: powered offline",
	} {
		_, ok := ParseLine(l)
		assert.False(t, ok, l)
	}
}

func TestExitStatusPerKind(t *testing.T) {
	assert.Equal(t, 0, Guest{Kind: PoweredOff}.ExitStatus())
	assert.Equal(t, 3, Guest{Kind: PoweredOff, Status: 3}.ExitStatus())
	want := map[Kind]int{Reset: StatusReset, Aborted: StatusAborted, Refused: StatusRefused, TimedOut: StatusGuestTO}
	seen := map[int]bool{}
	for k, s := range want {
		assert.Equal(t, s, Guest{Kind: k, Status: 5}.ExitStatus(), k.String())
		assert.Greater(t, s, MaxGuestStatus, "kinds stay out of the guests' range")
		assert.False(t, seen[s], "each kind has its own status")
		seen[s] = true
	}
}

const cleanEnd = PoweredOffLine + "\n"

func TestSummarizeCleanRun(t *testing.T) {
	s := Summarize("hypervisor: self-check passed\nhypervisor: vm vm0 (id 1) ended: powered off\n"+cleanEnd, false)
	assert.Equal(t, StatusOK, s.Status, s.Reason)
	require.Len(t, s.Guests, 1)
	assert.Equal(t, StatusOK, Summarize(cleanEnd, false).Status, "no guests")
}

func TestSummarizeTakesTheFirstFailure(t *testing.T) {
	console := strings.Join([]string{
		"hypervisor: vm vm0 (id 1) ended: powered off",
		"[vm1] hypervisor: vm vm1 ended: powered off, status 9", // a guest's own words
		"hypervisor: vm vm1 (id 2) ended: reset",
		"hypervisor: vm vm2 (id 3) ended: powered off, status 3",
		PoweredOffLine,
	}, "\n")
	s := Summarize(console, false)
	assert.Equal(t, StatusReset, s.Status)
	assert.Contains(t, s.Reason, "vm1")
	assert.Len(t, s.Guests, 3)
	lines := s.Lines()
	assert.Len(t, lines, 4)
	assert.Contains(t, lines[3], "exit status 64")
}

func TestSummarizeMachineFailures(t *testing.T) {
	for _, c := range []struct {
		console  string
		timedOut bool
		want     int
	}{
		{"hypervisor: self-check FAILED (1)\n" + cleanEnd, false, StatusMachine},
		{"hypervisor: vm vm0: teardown FAILED: page 0x4c200000 not zero\n" + cleanEnd, false, StatusMachine},
		{"panic: oops\nel1: exiting with code 2, powering off\n" + cleanEnd, false, StatusMachine},
		{"engine: bad image\nengine: powering off\n", false, StatusMachine},
		{"hypervisor: vm vm0 (id 1) ended: powered off\n", false, StatusMachine},
		{"hypervisor: vm vm0 (id 1) ended: powered off\n", true, StatusRunTO},
		{"hypervisor: vm vm0 (id 1) ended: timed out: after 1s\n", true, StatusGuestTO},
		{"hypervisor: vm vm0 ended: refused: bad ELF\n" + cleanEnd, false, StatusRefused},
		{"hypervisor: vm vm0 (id 1) ended: aborted: vCPU 0\n" + cleanEnd, false, StatusAborted},
	} {
		assert.Equal(t, c.want, Summarize(c.console, c.timedOut).Status, c.console)
	}
}

func FuzzParseLine(f *testing.F) {
	f.Add("hypervisor: vm vm0 (id 1) ended: powered off, status 3: x")
	f.Add("hypervisor: vm vm1 ended: refused: y")
	f.Fuzz(func(t *testing.T, line string) {
		g, ok := ParseLine(line)
		if !ok {
			return
		}
		s := g.ExitStatus()
		if s < 0 || s > 255 {
			t.Fatalf("status %d out of range for %q", s, line)
		}
	})
}
