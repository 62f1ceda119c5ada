package tests

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"bulkhead/hypervisor/outcome"
	"bulkhead/internal/qemu"
)

// Test guests written as ordinary Go tests: examples/firstguest, a module
// of its own that uses the SDK through a replace directive, run by
// `bulkhead test` (go test -exec "bulkhead exec"), each test binary in a
// VM under the engine.

const exampleDir = "examples/firstguest"

// goTestGuests runs `bulkhead test -C examples/firstguest args...` and
// returns its output and exit status.
func goTestGuests(t *testing.T, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(bulkheadCommand(t), append([]string{"test", "-C", exampleDir}, args...)...)
	cmd.Dir = images.builder.Root
	return runBounded(t, cmd, 3*bootTimeout)
}

func TestGoTestGuestPasses(t *testing.T) {
	out, status := goTestGuests(t, "-count=1", "-v", ".")
	require.Equal(t, 0, status)
	for _, name := range []string{"TestMemoryInfo", "TestShareWithTheHostAndTakeBack", "TestGivenUpPageIsGone", "TestHostCallsAreRefused"} {
		require.Contains(t, out, "--- PASS: "+name)
	}
	require.Contains(t, out, "ok  \tfirstguest")
}

// TestGoTestGuestFailureIsReported: a failing test inside the VM fails the
// go test run with the test's name and message.
func TestGoTestGuestFailureIsReported(t *testing.T) {
	out, status := goTestGuests(t, "-count=1", ".", "-args", "-fail")
	require.NotEqual(t, 0, status)
	require.Contains(t, out, "--- FAIL: TestDeliberateFailure")
	require.Contains(t, out, "failing on purpose: the guest saw 1 vCPU(s)")
	require.Contains(t, out, "FAIL\tfirstguest")
}

// TestGoTestGuestJSON: go test -json reads the guest's output as it would
// any test binary's.
func TestGoTestGuestJSON(t *testing.T) {
	out, status := goTestGuests(t, "-count=1", "-json", "-run", "TestMemoryInfo", ".")
	require.Equal(t, 0, status)
	require.Contains(t, out, `"Action":"pass","Package":"firstguest","Test":"TestMemoryInfo"`)
}

// TestGoTestGuestTimeouts: the test binary's own -test.timeout, and
// bulkhead exec's -timeout, each end a hung guest with a failure.
func TestGoTestGuestTimeouts(t *testing.T) {
	out, status := goTestGuests(t, "-count=1", "-timeout", "3s", "-run", "TestHang", ".", "-args", "-hang")
	require.NotEqual(t, 0, status)
	require.Contains(t, out, "panic: test timed out after 3s")

	binary := filepath.Join(t.TempDir(), "firstguest.test")
	_, status = goTestGuests(t, "-c", "-o", binary, ".")
	require.Equal(t, 0, status)
	var buf bytes.Buffer
	cmd := exec.Command(bulkheadCommand(t), "exec", "-engine", image(t, qemu.Engine),
		"-hypervisor", image(t, qemu.Hypervisor), "-timeout", "5s", binary, "-test.run=TestHang", "-hang")
	cmd.Stdout, cmd.Stderr = &buf, &buf
	start := time.Now()
	err := cmd.Run()
	require.Error(t, err, buf.String())
	require.Equal(t, outcome.StatusRunTO, cmd.ProcessState.ExitCode(), buf.String())
	require.Less(t, time.Since(start), bootTimeout)
}

// TestGoTestExecRefusesAHostProgram: bulkhead exec of a program that is no
// guest image is one line and status 2, and starts no QEMU.
func TestGoTestExecRefusesAHostProgram(t *testing.T) {
	cmd := exec.Command(bulkheadCommand(t), "exec", image(t, qemu.Hypervisor))
	out, err := cmd.CombinedOutput()
	require.Error(t, err)
	require.Equal(t, outcome.StatusUsage, cmd.ProcessState.ExitCode())
	require.Equal(t, 1, strings.Count(string(out), "\n"), "%s", out)
	require.Contains(t, string(out), "not linked for the guest layout")
}

// TestGoTestHostPasses: a host-side test package (examples/firstguest/host)
// runs in place of the hypervisor through bulkhead test -host.
func TestGoTestHostPasses(t *testing.T) {
	bin := bulkheadCommand(t)
	cmd := exec.Command(bin, "test", "-host", "-C", exampleDir, "-count=1", "-v", "./host")
	cmd.Dir = images.builder.Root
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Contains(t, string(out), "--- PASS: TestVMLifecycle")
	require.Contains(t, string(out), "ok  \tfirstguest/host")
	require.NotContains(t, string(out), "engine: ", "the engine's lines are the machine's, not the test's")
}

// TestGoTestRunsOurConformanceGuest: the ABI conformance guest is an
// ordinary test package, run as its documentation says (bulkhead test
// -vcpus 2); its PSCI tests need the second vCPU the flag gives, and fail
// without it.
func TestGoTestRunsOurConformanceGuest(t *testing.T) {
	run := func(args ...string) (string, int) {
		cmd := exec.Command(bulkheadCommand(t), append([]string{"test"}, args...)...)
		cmd.Dir = images.builder.Root
		return runBounded(t, cmd, 3*bootTimeout)
	}
	out, status := run("-vcpus", "2", "-count=1", "-v", "./tests/guests/abi")
	require.Equal(t, 0, status, out)
	require.Contains(t, out, "--- PASS: TestPSCI/CPUOnSecondary")
	require.Contains(t, out, "ok  \tbulkhead/tests/guests/abi")

	out, status = run("-count=1", "-run", "TestPSCI/AffinityInfo", "./tests/guests/abi")
	require.NotEqual(t, 0, status, out)
	require.Contains(t, out, "the VM has 1 vCPUs; give it vcpus=2 (bulkhead test -vcpus 2)")
}

// TestGoTestRunsOurHostSuite: the host-side conformance suite, whose tests
// create and run many VMs each, runs through bulkhead test -host as its
// documentation says.
func TestGoTestRunsOurHostSuite(t *testing.T) {
	cmd := exec.Command(bulkheadCommand(t), "test", "-host", "-count=1", "-v", "-run", "TestVCPURun|TestLifecycle", "./tests/hosttests")
	cmd.Dir = images.builder.Root
	out, status := runBounded(t, cmd, 3*bootTimeout)
	require.Equal(t, 0, status, out)
	require.Contains(t, out, "--- PASS: TestLifecycle/HundredVMs")
	require.Contains(t, out, "--- PASS: TestVCPURun/Exits")
	require.Contains(t, out, "ok  \tbulkhead/tests/hosttests")
}
