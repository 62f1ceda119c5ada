package qemu

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"bulkhead/boot/virt"
)

// Binary is the QEMU system emulator for Arm64 (Debian: qemu-system-arm).
const Binary = "qemu-system-aarch64"

// Machine is one QEMU run: the engine, the EL1 image it boots, and files
// handed to the machine through fw_cfg.
type Machine struct {
	Engine string
	EL1    string            // empty: no EL1 image is offered
	Files  map[string]string // fw_cfg name -> host file
	CPUs   int               // default 1
	// ICount runs with -icount shift=0, so that the virtual counter
	// advances with instructions retired (for instruction-count benchmarks).
	ICount bool
	// GDBPort, when not zero, starts QEMU halted with its gdb stub
	// listening on that port of the loopback address.
	GDBPort int
	Extra   []string
}

// Args returns the QEMU command line for m: the only place one is built.
// The machine is hermetic: -nodefaults drops every device QEMU would add
// by itself (its default NIC, whose option ROM comes from a package we do
// not install, the monitor, default drives, a display), and each device
// used is named: the console on standard input and output, with QEMU's
// own signal keys off so that Ctrl-C reaches the guest.
func (m Machine) Args() []string {
	cpus := m.CPUs
	if cpus == 0 {
		cpus = 1
	}
	args := []string{
		"-nodefaults", "-display", "none", "-no-reboot",
		"-machine", virt.QEMUMachine, "-cpu", virt.QEMUCPU,
		"-smp", strconv.Itoa(cpus), "-m", strconv.Itoa(virt.RAMSize>>20) + "M",
		"-chardev", "stdio,id=console,signal=off", "-serial", "chardev:console",
		"-kernel", m.Engine,
	}
	if m.GDBPort != 0 {
		args = append(args, "-S", "-gdb", fmt.Sprintf("tcp:127.0.0.1:%d", m.GDBPort))
	}
	if m.EL1 != "" {
		args = append(args, "-fw_cfg", "name="+virt.FwCfgHostImage+",file="+m.EL1)
	}
	for _, name := range sortedKeys(m.Files) {
		args = append(args, "-fw_cfg", "name="+name+",file="+m.Files[name])
	}
	if m.ICount {
		args = append(args, "-icount", "shift=0")
	}
	return append(args, m.Extra...)
}

// Result is what a run left behind.
type Result struct {
	Console  string
	ExitCode int
	TimedOut bool
	Elapsed  time.Duration
}

// Run boots m and waits until QEMU exits or timeout passes. QEMU runs in its
// own process group, which is killed on timeout or when ctx ends, and is
// always waited for, so no run leaves a process behind. Console output is
// also copied to echo when it is not nil. QEMU reads its console input
// from a pipe that Run fills from stdin, never from stdin itself: a
// terminal stays with the caller, who may have put it in raw mode, and
// QEMU, outside the terminal's foreground process group, could not read it.
func Run(ctx context.Context, m Machine, timeout time.Duration, stdin io.Reader, echo io.Writer) (Result, error) {
	if _, err := exec.LookPath(Binary); err != nil {
		return Result{}, fmt.Errorf("%s not found (Debian package qemu-system-arm): %w", Binary, err)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var console syncBuffer
	cmd := exec.Command(Binary, m.Args()...)
	cmd.Stdout = sink(&console, echo)
	cmd.Stderr = sink(&console, echo)
	// Its own process group, so that a kill reaches anything QEMU starts;
	// and killed with its parent, so that not even a SIGKILL of the caller
	// leaves a machine running.
	cmd.SysProcAttr = &unix.SysProcAttr{Setpgid: true, Pdeathsig: unix.SIGKILL}
	input, err := cmd.StdinPipe()
	if err != nil {
		return Result{}, err
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return Result{}, err
	}
	go feed(input, stdin)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	res := Result{}
	select {
	case err = <-done:
	case <-ctx.Done():
		res.TimedOut = errors.Is(ctx.Err(), context.DeadlineExceeded)
		_ = unix.Kill(-cmd.Process.Pid, unix.SIGKILL)
		err = <-done
	}
	res.Elapsed = time.Since(start)
	res.Console = console.String()
	res.ExitCode = cmd.ProcessState.ExitCode()
	if res.TimedOut || ctx.Err() != nil {
		return res, nil
	}
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		return res, err
	}
	return res, nil
}

// feed copies stdin to QEMU's console input until either ends; with no
// stdin, QEMU's input is closed at once. A reader that never ends (a
// terminal) leaves this goroutine blocked in Read, which holds nothing.
func feed(input io.WriteCloser, stdin io.Reader) {
	if stdin != nil {
		_, _ = io.Copy(input, stdin)
	}
	_ = input.Close()
}

func sink(buf io.Writer, echo io.Writer) io.Writer {
	if echo == nil {
		return buf
	}
	return io.MultiWriter(buf, echo)
}

// syncBuffer is a bytes.Buffer safe for QEMU's stdout and stderr copiers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
