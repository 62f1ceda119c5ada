package tests

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"bulkhead/hypervisor/outcome"
	"bulkhead/internal/qemu"
)

// The scenarios here run the bulkhead command itself, as a user or a CI job
// does, and check its exit status: how each guest ended.

var bulkheadBinary struct {
	once sync.Once
	path string
	err  error
}

// bulkheadCommand builds cmd/bulkhead once per test binary.
func bulkheadCommand(t *testing.T) string {
	t.Helper()
	image(t, qemu.Engine) // skips without the TamaGo compiler
	bulkheadBinary.once.Do(func() {
		out := filepath.Join(images.dir, "bulkhead")
		cmd := exec.Command("go", "build", "-o", out, "./cmd/bulkhead")
		cmd.Dir = images.builder.Root
		if msg, err := cmd.CombinedOutput(); err != nil {
			bulkheadBinary.err = errors.New(string(msg))
		}
		bulkheadBinary.path = out
	})
	require.NoError(t, bulkheadBinary.err)
	return bulkheadBinary.path
}

// runBulkhead runs `bulkhead run` with the engine and hypervisor already
// built and returns its output and exit status.
func runBulkhead(t *testing.T, args ...string) (string, int) {
	t.Helper()
	return runBulkheadWithin(t, bootTimeout, args...)
}

// runBulkheadWithin is runBulkhead bounded by limit.
func runBulkheadWithin(t *testing.T, limit time.Duration, args ...string) (string, int) {
	t.Helper()
	full := append([]string{"run", "-engine", image(t, qemu.Engine), "-hypervisor", image(t, qemu.Hypervisor)}, args...)
	return runBounded(t, exec.Command(bulkheadCommand(t), full...), limit)
}

// runBounded runs cmd in its own process group, killed if it outlives
// limit, so that neither it nor a QEMU it started outlives the test, and
// returns its output and exit status; the output is logged if the test
// fails.
func runBounded(t *testing.T, cmd *exec.Cmd, limit time.Duration) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &unix.SysProcAttr{Setpgid: true}
	require.NoError(t, cmd.Start())
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		_ = unix.Kill(-cmd.Process.Pid, unix.SIGKILL)
		<-done
		t.Fatalf("%s did not end within %v:\n%s", strings.Join(cmd.Args, " "), limit, out.String())
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s:\n%s", strings.Join(cmd.Args, " "), out.String())
		}
	})
	return out.String(), cmd.ProcessState.ExitCode()
}

// linuxRun is `bulkhead run` of Debian's kernel with the given command line.
func linuxRun(t *testing.T, cmdline string, extra ...string) (string, int) {
	kernel, initrd := linuxImages(t)
	return runBulkheadWithin(t, linuxBootTimeout, append([]string{"-kernel", kernel, "-initrd", initrd, "-append", cmdline}, extra...)...)
}

func TestRunStatusCleanLinuxIsZero(t *testing.T) {
	out, status := linuxRun(t, linuxCmdline)
	require.Contains(t, out, linuxMarker)
	require.Contains(t, out, "bulkhead: vm vm0 powered off, status 0 (exit 0)")
	require.Equal(t, outcome.StatusOK, status)
}

// TestRunStatusLinuxPanicIsReset: an init that exits makes Linux panic;
// with panic=-1 it resets at once, and the run says so.
func TestRunStatusLinuxPanicIsReset(t *testing.T) {
	out, status := linuxRun(t, linuxCmdline+" panic=-1 rdinit=/bin/echo")
	require.Contains(t, out, "Kernel panic")
	require.Contains(t, out, "hypervisor: vm vm0 (id 1) ended: reset")
	require.Equal(t, outcome.StatusReset, status)
}

// TestRunStatusLinuxChoosesThree: an unmodified Debian kernel and busybox
// set the run's status through the exit-status register, with /dev/mem.
func TestRunStatusLinuxChoosesThree(t *testing.T) {
	script := "/bin/busybox mount -t devtmpfs dev /dev; /bin/busybox devmem 0x09100000 32 3; /bin/busybox poweroff -f"
	out, status := linuxRun(t, linuxCmdline+` rdinit=/bin/sh -- -c "`+script+`"`)
	require.Contains(t, out, "hypervisor: vm vm0 (id 1) ended: powered off, status 3")
	require.Equal(t, 3, status)
}

// TestRunStatusTimeouts: a guest that outlives its own timeout= argument,
// and a run that outlives -timeout, each have their own status.
func TestRunStatusTimeouts(t *testing.T) {
	spin := image(t, spinGuest)
	args := filepath.Join(t.TempDir(), "spin.args")
	require.NoError(t, os.WriteFile(args, []byte("timeout=1\n"), 0o644))
	out, status := runBulkhead(t, "-guest", spin, "-guest-args", args)
	require.Contains(t, out, "ended: timed out")
	require.Equal(t, outcome.StatusGuestTO, status)

	start := time.Now()
	out, status = runBulkhead(t, "-guest", spin, "-timeout", "3s")
	require.Contains(t, out, "bulkhead: exit status 68: the run's -timeout passed")
	require.Equal(t, outcome.StatusRunTO, status)
	require.Less(t, time.Since(start), bootTimeout)
}

func TestRunStatusBadInputStartsNothing(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.args")
	require.NoError(t, os.WriteFile(bad, []byte("ram=5\n"), 0o644))
	out, status := runBulkhead(t, "-guest", image(t, spinGuest), "-guest-args", bad)
	require.Equal(t, outcome.StatusUsage, status)
	require.Equal(t, 1, strings.Count(out, "\n"), "one line: %s", out)
	require.Contains(t, out, "ram must be")
}
