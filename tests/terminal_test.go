package tests

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"bulkhead/hypervisor/outcome"
	"bulkhead/internal/qemu"
)

// A pseudo-terminal session: `bulkhead run` as the session leader with
// the terminal's slave side as its controlling terminal, as in a user's
// terminal window; the test types on the master side and reads the screen.
type ptySession struct {
	master *os.File
	slave  string
	cmd    *exec.Cmd
	mu     sync.Mutex
	screen bytes.Buffer
	done   chan struct{}
}

// openPTY opens a new pseudo-terminal pair. The master's ioctls go through
// its raw connection (File.Fd would switch it to blocking mode, and then a
// Close would wait for a pending Read instead of hanging the terminal up).
func openPTY(t *testing.T) (*os.File, string) {
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	require.NoError(t, err)
	conn, err := master.SyscallConn()
	require.NoError(t, err)
	var n uint32
	require.NoError(t, conn.Control(func(fd uintptr) {
		if err = unix.IoctlSetPointerInt(int(fd), unix.TIOCSPTLCK, 0); err == nil {
			n, err = unix.IoctlGetUint32(int(fd), unix.TIOCGPTN)
		}
	}))
	require.NoError(t, err)
	return master, fmt.Sprintf("/dev/pts/%d", n)
}

// startInPTY starts `bulkhead args...` on a new pseudo-terminal.
func startInPTY(t *testing.T, args ...string) *ptySession {
	master, slavePath := openPTY(t)
	slave, err := os.OpenFile(slavePath, os.O_RDWR|unix.O_NOCTTY, 0)
	require.NoError(t, err)
	s := &ptySession{master: master, slave: slavePath, done: make(chan struct{})}
	s.cmd = exec.Command(bulkheadCommand(t), args...)
	s.cmd.Stdin, s.cmd.Stdout, s.cmd.Stderr = slave, slave, slave
	s.cmd.SysProcAttr = &unix.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	require.NoError(t, s.cmd.Start())
	slave.Close()
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			s.mu.Lock()
			s.screen.Write(buf[:n])
			s.mu.Unlock()
			if err != nil {
				close(s.done)
				return
			}
		}
	}()
	t.Cleanup(func() {
		_ = unix.Kill(-s.cmd.Process.Pid, unix.SIGKILL)
		master.Close()
		if t.Failed() {
			t.Logf("screen:\n%s", s.text())
		}
	})
	return s
}

func (s *ptySession) text() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.screen.String()
}

// waitFor waits until the screen shows want after offset from, and
// returns where it ended.
func (s *ptySession) waitFor(t *testing.T, from int, want string, limit time.Duration) int {
	t.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if i := strings.Index(s.text()[from:], want); i >= 0 {
			return from + i + len(want)
		}
		time.Sleep(50 * time.Millisecond)
	}
	require.Failf(t, "screen", "%q did not appear within %v", want, limit)
	return 0
}

// exitStatus waits for bulkhead to end and returns its status.
func (s *ptySession) exitStatus(t *testing.T) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case <-done:
		return s.cmd.ProcessState.ExitCode()
	case <-time.After(30 * time.Second):
		require.Fail(t, "bulkhead did not end")
		return -1
	}
}

// qemuProcessesNaming lists the processes whose command line holds mark.
func qemuProcessesNaming(mark string) []string {
	var found []string
	dirs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, d := range dirs {
		b, err := os.ReadFile(d)
		if err == nil && strings.Contains(string(b), mark) && strings.Contains(string(b), qemu.Binary) {
			found = append(found, d)
		}
	}
	return found
}

// shellRun starts Debian's kernel with a busybox shell as init under a
// terminal; the initramfs is copied to a directory of the test's own so
// that its QEMU can be found by name.
func shellRun(t *testing.T) (*ptySession, string) {
	kernel, initrd := linuxImages(t)
	dir := t.TempDir()
	own := filepath.Join(dir, "initramfs.cpio")
	data, err := os.ReadFile(initrd)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(own, data, 0o644))
	s := startInPTY(t, "run", "-engine", image(t, qemu.Engine), "-hypervisor", image(t, qemu.Hypervisor),
		"-kernel", kernel, "-initrd", own, "-append", linuxCmdline+" rdinit=/bin/sh")
	t.Cleanup(func() { // whatever happened to bulkhead, no QEMU outlives the test
		for _, d := range qemuProcessesNaming(dir) {
			var pid int
			if _, err := fmt.Sscanf(d, "/proc/%d/cmdline", &pid); err == nil {
				_ = unix.Kill(pid, unix.SIGKILL)
			}
		}
	})
	at := s.waitFor(t, 0, "console attached", 10*time.Second)
	at = s.waitFor(t, at, "# ", linuxBootTimeout)
	return s, dir
}

// TestTerminalTypesIntoTheGuestAndHangUpEndsQEMU types a command into the
// busybox shell of a Linux guest and reads its answer, then closes the
// terminal: bulkhead ends on the hang-up and no QEMU is left behind.
func TestTerminalTypesIntoTheGuestAndHangUpEndsQEMU(t *testing.T) {
	s, mark := shellRun(t)
	_, err := io.WriteString(s.master, "echo $((6*7))bulkhead\r")
	require.NoError(t, err)
	s.waitFor(t, 0, "42bulkhead", 30*time.Second)
	require.NotEmpty(t, qemuProcessesNaming(mark), "QEMU runs while the terminal is open")

	s.master.Close() // the terminal window closes: SIGHUP to its session
	require.Equal(t, outcome.StatusStopped, s.exitStatus(t))
	deadline := time.Now().Add(10 * time.Second)
	for len(qemuProcessesNaming(mark)) > 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	require.Empty(t, qemuProcessesNaming(mark), "no QEMU left after the hang-up")
}

// TestTerminalEscapeQuitsAndRestoresTheTerminal: Ctrl-A x ends the run and
// the terminal is back in its cooked mode.
func TestTerminalEscapeQuitsAndRestoresTheTerminal(t *testing.T) {
	s, mark := shellRun(t)
	_, err := s.master.Write([]byte{qemu.EscapeKey, qemu.QuitKey})
	require.NoError(t, err)
	require.Equal(t, outcome.StatusStopped, s.exitStatus(t))
	require.Empty(t, qemuProcessesNaming(mark), "QEMU is reaped before bulkhead exits")

	slave, err := os.OpenFile(s.slave, os.O_RDWR|unix.O_NOCTTY, 0)
	require.NoError(t, err)
	defer slave.Close()
	tio, err := unix.IoctlGetTermios(int(slave.Fd()), unix.TCGETS)
	require.NoError(t, err)
	require.NotZero(t, tio.Lflag&unix.ICANON, "canonical mode restored")
	require.NotZero(t, tio.Lflag&unix.ECHO, "echo restored")
}

// irqExits is the count of IRQ exits in the hypervisor's report of how a
// VM's vCPUs exited.
var irqExits = regexp.MustCompile(`hypervisor: vm \S+ exits:.* IRQ (\d+)`)

// TestIdleLoneGuestIsSeldomInterrupted: a guest whose vCPU runs alone and
// waits at its shell for idleFor makes few more IRQ exits than one that
// powers off as soon as its shell is up: the host's tick backs off while
// the guest is silent (vmm.MaxLoneSlice), where a tick every 10 ms would
// add about a hundred a second. Each boot's own IRQ exits (about 300,
// from start-up) vary by tens between boots.
func TestIdleLoneGuestIsSeldomInterrupted(t *testing.T) {
	const idleFor = 8 * time.Second
	busy := shellIRQExits(t, 0)
	idle := shellIRQExits(t, idleFor)
	t.Logf("IRQ exits: %d powering off at once, %d after %v at the prompt", busy, idle, idleFor)
	require.Less(t, idle-busy, 200, "a tick every 10 ms would add about %d", int(idleFor/(10*time.Millisecond)))
}

// shellIRQExits boots the shell, leaves it idle for d, powers it off and
// returns the VM's IRQ exits.
func shellIRQExits(t *testing.T, d time.Duration) int {
	s, _ := shellRun(t)
	time.Sleep(d)
	_, err := io.WriteString(s.master, "/bin/busybox poweroff -f\r")
	require.NoError(t, err)
	require.Equal(t, outcome.StatusOK, s.exitStatus(t))
	m := irqExits.FindStringSubmatch(s.text())
	require.NotNil(t, m, "the hypervisor's exit report: %s", s.text())
	n, err := strconv.Atoi(m[1])
	require.NoError(t, err)
	return n
}
