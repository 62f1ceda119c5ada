package guest

import (
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestJoinArgsKeepsPlainWordsPlain(t *testing.T) {
	assert.Equal(t, "-test.v=true -test.run=^TestA$ run=x", JoinArgs([]string{"-test.v=true", "-test.run=^TestA$", "run=x"}))
	assert.Equal(t, `-test.run A|B "" "say \"hi\"\n" "a b"`, JoinArgs([]string{"-test.run", "A|B", "", "say \"hi\"\n", "a b"}))
}

func TestSplitArgsReadsPlainBootargs(t *testing.T) {
	args, err := SplitArgs("  run=abc   console=ttyAMA0 ")
	require.NoError(t, err)
	assert.Equal(t, []string{"run=abc", "console=ttyAMA0"}, args)
	args, err = SplitArgs("")
	require.NoError(t, err)
	assert.Empty(t, args)
}

func TestSplitArgsRefusesBrokenQuotes(t *testing.T) {
	for _, bad := range []string{`"open`, `"tail\`, `"\q"`, `"\x4"`, `"\xzz"`} {
		_, err := SplitArgs(bad)
		assert.Error(t, err, bad)
	}
}

// TestArgsRoundTrip: any list of arguments survives the trip.
func TestArgsRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewSource(16))
	for i := 0; i < 2000; i++ {
		args := make([]string, rng.Intn(6))
		for j := range args {
			b := make([]byte, rng.Intn(12))
			for k := range b {
				b[k] = byte(rng.Intn(256))
			}
			args[j] = string(b)
		}
		got, err := SplitArgs(JoinArgs(args))
		require.NoError(t, err)
		if len(args) == 0 {
			require.Empty(t, got)
			continue
		}
		require.Equal(t, args, got)
	}
}

func FuzzSplitArgs(f *testing.F) {
	f.Add(`-test.run "A B" "\x00\n"`)
	f.Fuzz(func(t *testing.T, line string) {
		args, err := SplitArgs(line)
		if err != nil {
			return
		}
		again, err := SplitArgs(JoinArgs(args))
		if err != nil || len(again) != len(args) {
			t.Fatalf("%q: %q does not round-trip: %q %v", line, args, again, err)
		}
	})
}
