// Package tests holds bulkhead's end-to-end suites: every scenario boots a
// fresh QEMU `virt` machine with a bounded timeout, reads the serial console
// and the exit status, and always reaps QEMU. Without the TamaGo compiler
// every scenario is skipped with a message saying so.
package tests

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"bulkhead/internal/qemu"
)

// bootTimeout bounds a scenario; a boot to power-off takes a few seconds.
const bootTimeout = 90 * time.Second

type builtImages struct {
	once    sync.Once
	dir     string
	builder qemu.Builder
	paths   map[string]string
	mu      sync.Mutex
	err     error
}

var images builtImages

func TestMain(m *testing.M) {
	code := m.Run()
	if images.dir != "" {
		os.RemoveAll(images.dir)
	}
	os.Exit(code)
}

// image builds img once per test binary and returns its path; without the
// TamaGo compiler the calling test is skipped, loudly.
func image(t *testing.T, img qemu.Image) string {
	t.Helper()
	images.once.Do(setupBuilder)
	if images.err != nil {
		t.Skipf("QEMU SUITE SKIPPED: %v", images.err)
	}
	images.mu.Lock()
	defer images.mu.Unlock()
	if p, ok := images.paths[img.Name]; ok {
		return p
	}
	p, err := images.builder.Build(img)
	require.NoError(t, err)
	images.paths[img.Name] = p
	return p
}

func setupBuilder() {
	tamago, err := qemu.FindTamago()
	if err != nil {
		images.err = err
		return
	}
	wd, _ := os.Getwd()
	root, err := qemu.ModuleRoot(wd)
	if err != nil {
		images.err = err
		return
	}
	dir, err := os.MkdirTemp("", "bulkhead-images-")
	if err != nil {
		images.err = err
		return
	}
	images.dir = dir
	images.builder = qemu.Builder{Tamago: tamago, Root: root, Out: dir}
	images.paths = map[string]string{}
}

// cpusVar names the environment variable that gives the board's CPU count
// to every scenario that does not choose its own (1 to 8; default 1):
// `make smp` runs the hypervisor's scenarios with 2 and with 4.
const cpusVar = "BULKHEAD_TEST_CPUS"

// boardCPUs is chosen, or else the count cpusVar gives. A scenario that
// chooses its own board runs the same whatever cpusVar says, so a run
// that sets it (make smp-all, on top of the suite's own run) skips it.
func boardCPUs(t *testing.T, chosen int) int {
	if chosen != 0 {
		if os.Getenv(cpusVar) != "" {
			t.Skipf("this scenario chooses its own board (%d CPUs), the same whatever %s says; the run without %s runs it", chosen, cpusVar, cpusVar)
		}
		return chosen
	}
	v := os.Getenv(cpusVar)
	if v == "" {
		return 1
	}
	n, err := strconv.Atoi(v)
	require.NoError(t, err, "%s=%q", cpusVar, v)
	require.True(t, n >= 1 && n <= 8, "%s=%d: a board has 1 to 8 CPUs", cpusVar, n)
	return n
}

// boot runs m on a fresh QEMU and returns what it printed; the console is
// logged when the test fails.
func boot(t *testing.T, m qemu.Machine) qemu.Result {
	t.Helper()
	return bootWithin(t, m, bootTimeout)
}

// bootWithin is boot with its own bound d, which grows to smpBootTimeout
// on a board with more CPUs than the machine running QEMU has cores: its
// threads then take turns (make smp-all runs the suite on 4 CPUs).
func bootWithin(t *testing.T, m qemu.Machine, d time.Duration) qemu.Result {
	t.Helper()
	m.CPUs = boardCPUs(t, m.CPUs)
	if m.CPUs > runtime.NumCPU() {
		d = max(d, smpBootTimeout)
	}
	res, err := qemu.Run(context.Background(), m, d, nil, nil)
	require.NoError(t, err)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("console (exit %d, timed out %v, %v):\n%s", res.ExitCode, res.TimedOut, res.Elapsed, res.Console)
		}
	})
	require.False(t, res.TimedOut, "QEMU did not power off within %v", d)
	return res
}

// lines splits console output into lines without carriage returns.
func lines(console string) []string {
	return strings.Split(strings.ReplaceAll(console, "\r", ""), "\n")
}

// requireInOrder checks that each wanted fragment appears on some line, in
// the given order.
func requireInOrder(t *testing.T, console string, want ...string) {
	t.Helper()
	ls := lines(console)
	at := 0
	for _, w := range want {
		found := false
		for ; at < len(ls); at++ {
			if strings.Contains(ls[at], w) {
				found, at = true, at+1
				break
			}
		}
		require.True(t, found, "console lacks %q (in order)", w)
	}
}

// requireClean checks that nothing crashed.
func requireClean(t *testing.T, res qemu.Result) {
	t.Helper()
	require.Equal(t, 0, res.ExitCode, "QEMU exit status")
	for _, bad := range []string{"FATAL", "panic:", "exit status"} {
		require.NotContains(t, res.Console, bad)
	}
}

func hex(v uint64) string { return fmt.Sprintf("%#x", v) }
