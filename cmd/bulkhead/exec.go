package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"debug/elf"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	osexec "os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"bulkhead/boot/virt"
	"bulkhead/guest"
	"bulkhead/hypervisor/guestspec"
	"bulkhead/hypervisor/outcome"
	"bulkhead/internal/qemu"
)

// `bulkhead exec` runs one guest program, a Go test binary built for the
// guest layout in particular, as the only VM of a fresh machine: the
// shape `go test -exec` wants. Its arguments reach the guest as os.Args
// (through /chosen/bootargs, guest.JoinArgs), its console is this
// command's standard output, and its exit status (os.Exit inside the
// guest, through the exit-status register) is this command's.

// A program built with the guest SDK holds the string guest.SDKMark; one
// built for the guest layout (-tags bulkhead_guest) holds
// arch/el1.GuestLayoutMark (go test links its binaries without a symbol
// table, so strings are what can be looked for).
const (
	sdkMark    = "bulkhead:guest-sdk"
	layoutMark = "bulkhead:guest-layout"
)

// guestBuildFlags are the build flags of a guest program; hostBuildFlags
// those of a program that runs in place of the hypervisor.
var (
	guestBuildFlags = []string{"-tags", "bulkhead_guest", "-ldflags", fmt.Sprintf("-T %#x -R 0x1000", virt.GuestText)}
	hostBuildFlags  = []string{"-ldflags", fmt.Sprintf("-T %#x -R 0x1000", virt.HostText)}
)

type execOpts struct {
	engine, hypervisor string
	host               bool
	ramMiB, vcpus      int
	cpus               int
	disks              []string // -disk FILE[,ro]
	virtio             bool     // -virtio, or any -disk: virtio=on
	timeout            time.Duration
	binary             string
	args               []string
}

func parseExecFlags(args []string) (execOpts, error) {
	fs := flag.NewFlagSet("exec", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var o execOpts
	var disks listFlag
	fs.StringVar(&o.engine, "engine", "", "engine image (default: build it)")
	fs.StringVar(&o.hypervisor, "hypervisor", "", "hypervisor image (default: build it)")
	fs.BoolVar(&o.host, "host", false, "run the program in place of the hypervisor, as the host (tests/hosttests style)")
	fs.IntVar(&o.ramMiB, "ram", 128, "MiB of RAM of the guest's VM")
	fs.IntVar(&o.vcpus, "vcpus", 1, "vCPUs of the guest's VM")
	fs.Var(&disks, "disk", "disk image FILE[,ro] of the guest's VM, a virtio block device (repeatable; implies -virtio)")
	fs.BoolVar(&o.virtio, "virtio", false, "give the guest's VM, protected, virtio devices (virtio=on): it shares its own rings and buffers")
	fs.IntVar(&o.cpus, "cpus", 1, "host CPUs of the machine (QEMU -smp)")
	fs.DurationVar(&o.timeout, "timeout", 0, "end the VM after this long (default: the binary's -test.timeout, else 10m, plus a minute to boot)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Println("usage: bulkhead exec [-host] [-engine F -hypervisor F] [-ram MiB] [-vcpus N] [-cpus N] [-virtio] [-disk F[,ro]]... [-timeout D] BINARY [ARGS...]")
			fs.SetOutput(os.Stdout)
			fs.PrintDefaults()
			return o, err
		}
		return o, usageError{err}
	}
	if fs.NArg() == 0 {
		return o, usagef("exec: no program to run (usage: bulkhead exec [flags] BINARY [ARGS...])")
	}
	o.binary, o.args, o.disks = fs.Arg(0), fs.Args()[1:], disks
	o.virtio = o.virtio || len(o.disks) > 0
	if err := o.checkLimits(); err != nil {
		return o, err
	}
	if o.timeout == 0 {
		o.timeout = testTimeout(o.args) + time.Minute
	}
	if o.host {
		return o, checkHostProgram(o.binary)
	}
	return o, checkGuestProgram(o.binary)
}

// checkLimits refuses a VM the hypervisor would refuse, and disks that
// cannot be block devices.
func (o execOpts) checkLimits() error {
	if o.ramMiB < 4 || o.ramMiB > guestspec.MaxRAMMiB || o.ramMiB%2 != 0 {
		return usagef("-ram must be an even number of MiB from 4 to %d", guestspec.MaxRAMMiB)
	}
	if o.vcpus < 1 || o.vcpus > guestspec.MaxVCPUs {
		return usagef("-vcpus must be 1 to %d", guestspec.MaxVCPUs)
	}
	if o.cpus < 1 || o.cpus > virt.MaxCPUs {
		return usagef("-cpus must be 1 to %d", virt.MaxCPUs)
	}
	if o.host && (o.virtio || len(o.disks) > 0) {
		return usagef("-disk and -virtio are for a guest's VM; -host runs the program in place of the hypervisor, which has no devices to give it")
	}
	if len(o.disks) > guestspec.MaxDisks {
		return usagef("at most %d -disk", guestspec.MaxDisks)
	}
	for _, d := range o.disks {
		if err := checkDisk(d); err != nil {
			return usageError{err}
		}
	}
	return nil
}

// testTimeout is the -test.timeout a test binary was given, or the go
// test default.
func testTimeout(args []string) time.Duration {
	for i, a := range args {
		v, ok := strings.CutPrefix(strings.TrimLeft(a, "-"), "test.timeout")
		switch {
		case !ok:
			continue
		case strings.HasPrefix(v, "="):
			v = v[1:]
		case v == "" && i+1 < len(args):
			v = args[i+1]
		}
		if d, err := time.ParseDuration(v); err == nil && d > 0 {
			return d
		}
	}
	return 10 * time.Minute
}

// checkGuestProgram refuses, in one line, a file that is not a guest
// program: not an Arm64 ELF, linked for another layout, or built without
// the guest SDK.
func checkGuestProgram(path string) error {
	text := virt.Region{Base: virt.GuestRAMBase, Size: virt.GuestRuntimeRAM}
	return checkProgram(path, "guest", text, true, guestBuildFlags)
}

// checkHostProgram is checkGuestProgram for a program that runs in place
// of the hypervisor: linked into the host's region, without the guest tag.
func checkHostProgram(path string) error {
	return checkProgram(path, "host", virt.Host, false, hostBuildFlags)
}

func checkProgram(path, kind string, text virt.Region, guestLayout bool, flags []string) error {
	if err := readable(path); err != nil {
		return usageError{err}
	}
	f, err := elf.Open(path)
	if err != nil {
		return usagef("%s is not a %s image: not an ELF file", path, kind)
	}
	defer f.Close()
	if f.Machine != elf.EM_AARCH64 {
		return usagef("%s is not a %s image: built for %v, not arm64 (GOOS=tamago GOARCH=arm64)", path, kind, f.Machine)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return usageError{err}
	}
	if !text.Contains(f.Entry, 4) || bytes.Contains(data, []byte(layoutMark)) != guestLayout {
		return usagef("%s is not linked for the %s layout (entry %#x): build with %s", path, kind, f.Entry,
			strings.Join(quoteFlags(flags), " "))
	}
	if !bytes.Contains(data, []byte(sdkMark)) {
		return usagef("%s is built without the guest SDK: import bulkhead/guest", path)
	}
	return nil
}

func quoteFlags(flags []string) []string {
	out := make([]string, len(flags))
	for i, f := range flags {
		out[i] = f
		if strings.ContainsAny(f, " '\"") {
			out[i] = "'" + f + "'"
		}
	}
	return out
}

func execGuest(args []string, stdout io.Writer) error {
	o, err := parseExecFlags(args)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "bulkhead-exec-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	argsFile := filepath.Join(dir, "0.args")
	spec := fmt.Sprintf("vcpus=%d\nram=%d\nbootargs=%s\n", o.vcpus, o.ramMiB, guest.JoinArgs(o.args))
	if o.virtio {
		spec += "virtio=on\n"
	}
	if err := guestspec.Check([]byte(spec)); err != nil {
		return usagef("exec: arguments: %v", err)
	}
	if err := os.WriteFile(argsFile, []byte(spec), 0o644); err != nil {
		return err
	}
	m, relay, err := o.machine(argsFile, stdout)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), unix.SIGINT, unix.SIGTERM, unix.SIGHUP)
	defer stop()
	res, err := qemu.Run(ctx, m, o.timeout, nil, relay)
	relay.flush()
	if err != nil {
		return err
	}
	stopped := ctx.Err() != nil && !res.TimedOut
	if o.host && !res.TimedOut && !stopped {
		return hostStatus(res, relay.machine.String())
	}
	return execStatus(res, stopped, relay.machine.String())
}

// machine is the machine that runs the program: as the only guest of our
// hypervisor, or (-host) in its place, with its arguments in the device
// tree QEMU writes (-append).
func (o execOpts) machine(argsFile string, stdout io.Writer) (qemu.Machine, *guestRelay, error) {
	if o.host {
		engine, _, err := sharedImages(o.engine, "-")
		m := qemu.Machine{Engine: engine, EL1: o.binary, CPUs: o.cpus}
		if len(o.args) > 0 {
			m.Extra = []string{"-append", guest.JoinArgs(o.args)}
		}
		return m, &guestRelay{out: stdout, machineLines: hostMachineLines}, err
	}
	engine, hypervisor, err := sharedImages(o.engine, o.hypervisor)
	m := qemu.Machine{Engine: engine, EL1: hypervisor, CPUs: o.cpus, Files: map[string]string{
		virt.FwCfgGuestPrefix + "0": o.binary, virt.FwCfgGuestPrefix + "0.args": argsFile}}
	if err == nil && o.virtio {
		err = o.addDevices(m.Files, filepath.Dir(argsFile))
	}
	return m, &guestRelay{out: stdout, prefix: []byte("[vm0] ")}, err
}

// addDevices offers the VM's disks and a fresh entropy seed (written in
// dir) for its virtio devices.
func (o execOpts) addDevices(files map[string]string, dir string) error {
	for i, d := range o.disks {
		file, ro := diskArg(d)
		key := fmt.Sprintf("%s0.disk%d", virt.FwCfgGuestPrefix, i)
		if ro {
			key += ".ro"
		}
		files[key] = file
	}
	seed := make([]byte, 32)
	if _, err := rand.Read(seed); err != nil {
		return err
	}
	files[virt.FwCfgGuestPrefix+guestspec.EntropyFile] = filepath.Join(dir, guestspec.EntropyFile)
	return os.WriteFile(files[virt.FwCfgGuestPrefix+guestspec.EntropyFile], seed, 0o600)
}

// hostExitLine is what an EL1 image prints when it exits with a status
// other than 0 (arch/el1, host layout).
var hostExitLine = regexp.MustCompile(`(?m)^el1: exiting with code (-?\d+),`)

// hostStatus is a host program's own exit status: the code its exit line
// gives, or 0 if it powered the machine off without one.
func hostStatus(res qemu.Result, machineLog string) error {
	if m := hostExitLine.FindStringSubmatch(strings.ReplaceAll(res.Console, "\r", "")); m != nil {
		n, _ := strconv.Atoi(m[1])
		if n < 1 || n > outcome.MaxGuestStatus {
			n = outcome.MaxGuestStatus
		}
		return runStatus(n)
	}
	if strings.Contains(res.Console, outcome.PoweredOffLine) {
		return nil
	}
	fmt.Fprintf(os.Stderr, "bulkhead exec: the machine did not power off; its log:\n%s", machineLog)
	return runStatus(outcome.StatusMachine)
}

// hostMachineLines are the starts of the lines of a -host run that are the
// machine's (the engine's), not the program's.
var hostMachineLines = [][]byte{[]byte("engine: "), []byte("bulkhead engine: "), []byte("el1: exiting with code ")}

// execStatus is the guest's own status when it powered off; otherwise the
// run's status, with the machine's log on standard error so that a
// failure outside the program can be understood.
func execStatus(res qemu.Result, stopped bool, machineLog string) error {
	sum := outcome.Summarize(res.Console, res.TimedOut)
	if stopped {
		sum.Status, sum.Reason = outcome.StatusStopped, "stopped by a signal"
	}
	if sum.Status == outcome.StatusOK {
		return nil
	}
	if sum.Status > outcome.MaxGuestStatus || len(sum.Guests) != 1 { // not the program's own status
		fmt.Fprintf(os.Stderr, "bulkhead exec: %s (exit %d); the machine's log:\n%s", sum.Reason, sum.Status, machineLog)
	}
	return runStatus(sum.Status)
}

// guestRelay passes the program's console lines to out and keeps every
// other line (the engine's and the hypervisor's) in machine. A guest's
// lines are those with prefix, which is taken off; with no prefix (a -host
// run), every line is the program's but those starting with one of
// machineLines.
type guestRelay struct {
	out          io.Writer
	prefix       []byte
	machineLines [][]byte
	mu           sync.Mutex
	line         []byte
	machine      bytes.Buffer
}

func (r *guestRelay) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range p {
		if c == '\r' {
			continue
		}
		r.line = append(r.line, c)
		if c == '\n' {
			r.emit()
		}
	}
	return len(p), nil
}

func (r *guestRelay) emit() {
	rest, ok := bytes.CutPrefix(r.line, r.prefix)
	for _, m := range r.machineLines {
		ok = ok && !bytes.HasPrefix(r.line, m)
	}
	if ok {
		_, _ = r.out.Write(rest)
	} else {
		r.machine.Write(r.line)
	}
	r.line = r.line[:0]
}

// flush passes on a last line without its newline.
func (r *guestRelay) flush() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.line) > 0 {
		r.emit()
	}
}

// moduleLine finds the module path in a go.mod.
var moduleLine = regexp.MustCompile(`(?m)^module\s+"?bulkhead"?\s*$`)

// sourceRoot is the bulkhead source tree, set at link time by `make
// bulkhead` (-X main.sourceRoot=...), so that `bulkhead exec` finds the
// engine and hypervisor it boots from wherever go test runs it.
var sourceRoot string

// bulkheadRoot finds the bulkhead source tree: $BULKHEAD_ROOT, the tree
// this command was built from, or the nearest directory above the working
// directory whose go.mod is bulkhead's (a module of one's own may sit
// inside a checkout, as examples/ does).
func bulkheadRoot() (string, error) {
	for _, r := range []string{os.Getenv("BULKHEAD_ROOT"), sourceRoot} {
		if r != "" {
			return r, nil
		}
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && moduleLine.Match(b) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("cannot find the bulkhead source tree: set BULKHEAD_ROOT, or build bulkhead with make bulkhead")
		}
		dir = parent
	}
}

// sharedImages returns the engine and the hypervisor: the ones given, or
// the ones in the source tree's build/, built under a lock so that the
// several `bulkhead exec` that go test starts at once build them once.
func sharedImages(engine, hypervisor string) (string, string, error) {
	if engine != "" && hypervisor != "" {
		return engine, hypervisor, nil
	}
	// hypervisor "-": a -host run needs only the engine.
	root, err := bulkheadRoot()
	if err != nil {
		return "", "", err
	}
	tamago, err := qemu.FindTamago()
	if err != nil {
		return "", "", err
	}
	b := qemu.Builder{Tamago: tamago, Root: root, Out: filepath.Join(root, "build")}
	unlock, err := lockDir(b.Out)
	if err != nil {
		return "", "", err
	}
	defer unlock()
	built := [2]string{engine, hypervisor} // "-": not wanted
	for i, img := range []qemu.Image{qemu.Engine, qemu.Hypervisor} {
		if built[i] != "" {
			continue
		}
		if i == 1 && hypervisor == "-" {
			break
		}
		if built[i], err = b.Build(img); err != nil {
			return "", "", err
		}
	}
	return built[0], built[1], nil
}

// lockDir takes an exclusive lock on dir/.lock.
func lockDir(dir string) (func(), error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	conn, err := f.SyscallConn()
	if err == nil {
		cerr := conn.Control(func(fd uintptr) { err = unix.Flock(int(fd), unix.LOCK_EX) })
		err = errors.Join(err, cerr)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return func() { f.Close() }, nil
}

// testGuests is `bulkhead test [-host] [-vcpus N] [-cpus N] [-ram MiB] [-virtio]
// [-disk FILE[,ro]]... [go test flags] [packages]`: go test with the
// TamaGo compiler, the guest build flags and this command as -exec (given
// those flags), so that every test binary runs in a VM under the engine
// (with -host: in place of the hypervisor, with the host's build flags).
func testGuests(args []string) error {
	execFlags, args, err := testExecFlags(args)
	if err != nil {
		return err
	}
	host := slices.Contains(execFlags, "-host=true")
	tamago, err := qemu.FindTamago()
	if err != nil {
		return err
	}
	engine, hypervisor, err := sharedImages("", "")
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	execArgs, flags := append([]string{self, "exec", "-engine", engine, "-hypervisor", hypervisor}, execFlags...), guestBuildFlags
	if host {
		flags = hostBuildFlags
	}
	execCmd := strings.Join(quoteFlags(execArgs), " ")
	full := []string{"test"}
	if len(args) >= 2 && args[0] == "-C" { // go test wants -C first
		full, args = append(full, args[:2]...), args[2:]
	}
	full = append(append(append(full, "-exec", execCmd), flags...), args...)
	cmd := osexec.Command(tamago, full...)
	cmd.Env = append(os.Environ(), qemu.TargetEnv...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err = cmd.Run()
	var exit *osexec.ExitError
	if errors.As(err, &exit) {
		return runStatus(exit.ExitCode())
	}
	return err
}

// testExecFlags takes bulkhead test's own leading flags (-host, -vcpus N,
// -cpus N, -ram MiB, -virtio, -disk FILE[,ro]) off args, checked as bulkhead exec
// checks them, and returns them as exec arguments; the rest is go test's.
// A disk's path becomes absolute: go test runs exec in each package's
// directory.
func testExecFlags(args []string) (execFlags, rest []string, err error) {
	n := 0
	for n < len(args) {
		name, _, hasValue := strings.Cut(args[n], "=")
		switch {
		case name == "-host" || name == "-virtio":
			n++
		case (name == "-vcpus" || name == "-ram" || name == "-cpus" || name == "-disk") && hasValue:
			n++
		case name == "-vcpus" || name == "-ram" || name == "-cpus" || name == "-disk":
			n = min(n+2, len(args))
		default:
			return checkedExecFlags(args[:n], args[n:])
		}
	}
	return checkedExecFlags(args, nil)
}

const testUsage = "usage: bulkhead test [-host] [-vcpus N] [-cpus N] [-ram MiB] [-virtio] [-disk FILE[,ro]]... [go test flags] [packages]"

func checkedExecFlags(execFlags, rest []string) ([]string, []string, error) {
	if len(execFlags) == 0 {
		return nil, rest, nil
	}
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var o execOpts
	var disks listFlag
	fs.BoolVar(&o.host, "host", false, "")
	fs.IntVar(&o.ramMiB, "ram", 128, "")
	fs.IntVar(&o.vcpus, "vcpus", 1, "")
	fs.IntVar(&o.cpus, "cpus", 1, "")
	fs.BoolVar(&o.virtio, "virtio", false, "")
	fs.Var(&disks, "disk", "")
	if err := fs.Parse(execFlags); err != nil || fs.NArg() > 0 {
		return nil, nil, usagef("test: bad flags %q (%s)", execFlags, testUsage)
	}
	o.disks = disks
	if err := o.checkLimits(); err != nil {
		return nil, nil, err
	}
	// The flags again, as exec will read them, with absolute disk paths.
	var out []string
	fs.Visit(func(f *flag.Flag) {
		if f.Name != "disk" {
			out = append(out, "-"+f.Name+"="+f.Value.String())
		}
	})
	for _, d := range disks {
		file, ro := diskArg(d)
		abs, err := filepath.Abs(file)
		if err != nil {
			return nil, nil, usageError{err}
		}
		if ro {
			abs += ",ro"
		}
		out = append(out, "-disk="+abs)
	}
	return out, rest, nil
}
