package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"bulkhead/hypervisor/guestspec"
	"bulkhead/hypervisor/outcome"
	"bulkhead/internal/qemu"
)

// TestRunRejectsBadCommandLines: each bad command line is one error that
// names the problem and exit status 2, found before any build or QEMU (no
// TamaGo compiler is needed to get these answers).
func TestRunRejectsBadCommandLines(t *testing.T) {
	t.Setenv("TAMAGO", "/nonexistent/go")
	dir := t.TempDir()
	badArgs := filepath.Join(dir, "bad.args")
	require.NoError(t, os.WriteFile(badArgs, []byte("vcpus=2\ncolour=blue\n"), 0o644))
	unreadable := filepath.Join(dir, "secret.elf")
	require.NoError(t, os.WriteFile(unreadable, []byte("x"), 0o000))
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "usage"},
		{[]string{"launch"}, "unknown command"},
		{[]string{"run", "-hypervisor", "/does/not/exist"}, "not a readable file"},
		{[]string{"run", "-hypervisor", dir}, "not a regular file"},
		{[]string{"run", "stray"}, "unexpected arguments"},
		{[]string{"run", "-timeout", "soon"}, "invalid value \"soon\" for flag -timeout"},
		{[]string{"run", "-timeout", "-1s"}, "negative"},
		{[]string{"run", "-guest-args", badArgs}, `unknown key "colour"`},
		{[]string{"args", "-vcpus", "0"}, "-vcpus must be"},
		{[]string{"run", "-ram", "3"}, "-ram must be"},
		{[]string{"run", "-cpus", "0"}, "-cpus must be 1 to 8"},
		{[]string{"args", "-cpus", "9"}, "-cpus must be 1 to 8"},
		{[]string{"run", "-cpus", "two"}, "invalid value \"two\" for flag -cpus"},
		{[]string{"run", "-initrd", badArgs}, "-initrd needs -kernel"},
		{[]string{"run", "-gdb", "-gdb-port", "70000"}, "not a TCP port"},
		{[]string{"run", "-disk", badArgs}, "need -kernel"},
		{[]string{"run", "-virtio"}, "need -kernel"},
		{[]string{"run", "-kernel", badArgs, "-disk", badArgs}, "-disk needs -shared (an unmodified Linux) or -virtio"},
		{[]string{"run", "-kernel", badArgs, "-shared", "-virtio"}, "-shared and -virtio contradict"},
		{[]string{"run", "-kernel", badArgs, "-virtio", "-disk", badArgs}, "512-byte sectors"},
		{[]string{"run", "-kernel", badArgs, "-shared", "-disk", badArgs}, "512-byte sectors"},
		{[]string{"run", "-kernel", badArgs, "-shared", "-disk", "/does/not/exist,ro"}, "not a readable file"},
	} {
		var out bytes.Buffer
		err := run(c.args, nil, &out)
		require.ErrorContains(t, err, c.want, "%v", c.args)
		assert.Equal(t, 2, exitStatus(err), "%v", c.args)
		assert.NotContains(t, err.Error(), "\n", "one line")
		assert.Empty(t, out.String(), "nothing ran")
	}
	if os.Getuid() != 0 { // root reads any file
		assert.ErrorContains(t, run([]string{"run", "-hypervisor", unreadable}, nil, new(bytes.Buffer)), "permission denied")
	}
}

func TestHelpIsNotAnError(t *testing.T) {
	assert.Equal(t, 0, exitStatus(run([]string{"run", "-h"}, nil, new(bytes.Buffer))))
}

func TestReportGivesTheFirstFailuresStatus(t *testing.T) {
	console := "hypervisor: vm vm0 (id 1) ended: powered off, status 3\n" +
		"hypervisor: vm vm1 (id 2) ended: reset\nengine: host requested power off\n"
	var out bytes.Buffer
	err := report(&out, qemu.Result{Console: console}, false)
	assert.Equal(t, 3, exitStatus(err))
	assert.Contains(t, out.String(), "bulkhead: vm vm0 powered off, status 3 (exit 3)\n")
	assert.Contains(t, out.String(), "bulkhead: vm vm1 reset (exit 64)\n")
	assert.Contains(t, out.String(), "bulkhead: exit status 3: vm vm0")

	assert.Equal(t, 70, exitStatus(report(&out, qemu.Result{Console: console}, true)), "stopped")
	clean := "hypervisor: vm vm0 (id 1) ended: powered off\nengine: host requested power off\n"
	assert.NoError(t, report(&out, qemu.Result{Console: clean}, false))
	assert.Equal(t, 69, exitStatus(report(&out, qemu.Result{Console: clean, ExitCode: 1}, false)), "QEMU failed")
	assert.Equal(t, 68, exitStatus(report(&out, qemu.Result{Console: "", TimedOut: true}, false)))
}

func TestGDBHelpLoadsBothImages(t *testing.T) {
	h := gdbHelp(qemu.Machine{Engine: "build/engine.elf", EL1: "build/hypervisor.elf", GDBPort: 4321})
	assert.Contains(t, h, "gdb-multiarch")
	assert.Contains(t, h, "-ex 'file build/engine.elf'")
	assert.Contains(t, h, "-ex 'add-symbol-file build/hypervisor.elf'")
	assert.Contains(t, h, "-ex 'target remote 127.0.0.1:4321'")
}

func TestArgsNamesEveryImage(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{}
	for _, n := range []string{"e.elf", "h.elf", "g0", "g1"} {
		files[n] = filepath.Join(dir, n)
		require.NoError(t, os.WriteFile(files[n], []byte("x"), 0o644))
	}
	var out bytes.Buffer
	require.NoError(t, run([]string{"args", "-engine", files["e.elf"], "-hypervisor", files["h.elf"],
		"-guest", files["g0"], "-guest", files["g1"]}, nil, &out))
	s := out.String()
	assert.Contains(t, s, "-kernel "+files["e.elf"])
	assert.Contains(t, s, "-smp 1 ", "one host CPU unless asked")
	assert.Contains(t, s, "name=opt/bulkhead/el1,file="+files["h.elf"])
	assert.Contains(t, s, "name=opt/bulkhead/guest/0,file="+files["g0"])
	assert.Contains(t, s, "name=opt/bulkhead/guest/1,file="+files["g1"])
}

func TestArgsGivesQEMUTheHostCPUs(t *testing.T) {
	dir := t.TempDir()
	engine := filepath.Join(dir, "e.elf")
	require.NoError(t, os.WriteFile(engine, []byte("x"), 0o644))
	var out bytes.Buffer
	require.NoError(t, run([]string{"args", "-engine", engine, "-hypervisor", engine, "-cpus", "4"}, nil, &out))
	assert.Contains(t, out.String(), "-smp 4 ")
}

// TestREADMEHasTheExitStatusTable keeps the README's table the one -h
// prints.
func TestREADMEHasTheExitStatusTable(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	require.NoError(t, err)
	for _, r := range outcome.StatusTable() {
		assert.Contains(t, string(readme), fmt.Sprintf("| %s | %s |\n", r.Status, r.Meaning))
	}
}

// kernelArgs runs bulkhead args with a kernel and two disks and the flags
// given, and returns the QEMU command line and the kernel's argument file.
func kernelArgs(t *testing.T, flags ...string) (cmdline, argsFile string) {
	dir := t.TempDir()
	files := map[string]string{}
	for n, size := range map[string]int{"e.elf": 1, "h.elf": 1, "Image": 1, "a.img": 1024, "b.img": 512} {
		files[n] = filepath.Join(dir, n)
		require.NoError(t, os.WriteFile(files[n], make([]byte, size), 0o644))
	}
	var out bytes.Buffer
	args := append([]string{"args", "-engine", files["e.elf"], "-hypervisor", files["h.elf"], "-kernel", files["Image"],
		"-disk", files["a.img"], "-disk", files["b.img"] + ",ro"}, flags...)
	require.NoError(t, run(args, nil, &out))
	s := out.String()
	assert.Contains(t, s, "name=opt/bulkhead/guest/0.disk0,file="+files["a.img"])
	assert.Contains(t, s, "name=opt/bulkhead/guest/0.disk1.ro,file="+files["b.img"])
	assert.Contains(t, s, "name=opt/bulkhead/guest/entropy,file=")
	m := regexp.MustCompile(`name=opt/bulkhead/guest/0\.args,file=(\S+)`).FindStringSubmatch(s)
	require.Len(t, m, 2)
	text, err := os.ReadFile(m[1])
	require.NoError(t, err)
	return s, string(text)
}

func TestArgsOfASharedKernelWithDisks(t *testing.T) {
	_, text := kernelArgs(t, "-shared")
	assert.Contains(t, text, "memory=shared\n")
	assert.NotContains(t, text, "virtio=")
}

// TestArgsOfAProtectedKernelWithVirtio: -virtio keeps the VM protected
// (no memory= line: the default) and asks for its devices.
func TestArgsOfAProtectedKernelWithVirtio(t *testing.T) {
	_, text := kernelArgs(t, "-virtio")
	assert.Contains(t, text, "virtio=on\n")
	assert.NotContains(t, text, "memory=")
	require.NoError(t, guestspec.Check([]byte(text)), "the hypervisor takes it")
}

// fakeImages writes stand-ins for the engine, the hypervisor and a kernel.
func fakeImages(t *testing.T) (engine, el1, kernel string) {
	dir := t.TempDir()
	engine, el1, kernel = filepath.Join(dir, "e.elf"), filepath.Join(dir, "h.elf"), filepath.Join(dir, "Image")
	for _, f := range []string{engine, el1, kernel} {
		require.NoError(t, os.WriteFile(f, []byte("x"), 0o644))
	}
	return engine, el1, kernel
}

// TestRunLeavesNoFilesBehind: the entropy seed and the kernel's argument
// file exist while QEMU runs and are gone when run returns, whether QEMU
// ended or failed to start.
func TestRunLeavesNoFilesBehind(t *testing.T) {
	engine, el1, kernel := fakeImages(t)
	for _, qemuErr := range []error{nil, fmt.Errorf("no QEMU")} {
		tmp := t.TempDir()
		t.Setenv("TMPDIR", tmp)
		var seen []string
		runQEMU = func(_ context.Context, m qemu.Machine, _ time.Duration, _ io.Reader, _ io.Writer) (qemu.Result, error) {
			for _, f := range []string{"opt/bulkhead/guest/entropy", "opt/bulkhead/guest/0.args"} {
				_, err := os.Stat(m.Files[f])
				assert.NoError(t, err, "%s exists while QEMU runs", f)
				seen = append(seen, m.Files[f])
			}
			return qemu.Result{}, qemuErr
		}
		t.Cleanup(func() { runQEMU = qemu.Run })
		_ = run([]string{"run", "-engine", engine, "-hypervisor", el1, "-kernel", kernel}, bytes.NewReader(nil), new(bytes.Buffer))
		require.Len(t, seen, 2)
		left, err := os.ReadDir(tmp)
		require.NoError(t, err)
		assert.Empty(t, left, "run leaves nothing in the temporary directory (QEMU error: %v)", qemuErr)
	}
}

// TestArgsKeepsItsFilesInOneDirectory: the printed command's files stay,
// all in one directory.
func TestArgsKeepsItsFilesInOneDirectory(t *testing.T) {
	engine, el1, kernel := fakeImages(t)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	var out bytes.Buffer
	require.NoError(t, run([]string{"args", "-engine", engine, "-hypervisor", el1, "-kernel", kernel}, nil, &out))
	left, err := os.ReadDir(tmp)
	require.NoError(t, err)
	require.Len(t, left, 1)
	dir := filepath.Join(tmp, left[0].Name())
	for _, f := range []string{"entropy", "guest0.args"} {
		assert.Contains(t, out.String(), "file="+filepath.Join(dir, f))
		_, err := os.Stat(filepath.Join(dir, f))
		assert.NoError(t, err)
	}
}

// TestMain gives the tests a temporary directory of their own, removed
// at the end: bulkhead args leaves its files for the command it prints,
// and the tests that run it must not leave them in the system's.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "bulkhead-cmd-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Setenv("TMPDIR", dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
