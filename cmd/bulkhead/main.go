// Command bulkhead builds bulkhead's images and runs them under QEMU.
//
//	bulkhead build                      build the engine and the hypervisor into build/
//	bulkhead run [-hypervisor F] [-guest F]... [-cpus N] [-timeout D] [-icount] [-gdb]
//	             [-kernel F [-initrd F] [-shared | -virtio] [-disk F[,ro]]...]
//	                                    boot the engine, an EL1 image and guests
//	bulkhead args [same flags as run]   print the QEMU command line instead
//	bulkhead exec [flags] BINARY [ARGS] run a guest program (a Go test binary) in a VM;
//	                                    for go test -exec
//	bulkhead test [-host] [-vcpus N] [-cpus N] [-ram MiB] [-virtio] [-disk F[,ro]]... [go test flags] PKGS
//	                                    go test of guest packages, each in a VM
//	bulkhead bench [-profile | -virtio | -hot | -where]
//	                                    instruction counts of the hot paths, boot times,
//	                                    virtio throughput, and where a Linux boot's
//	                                    instructions and exits go; -where: the hot
//	                                    paths' engine instructions by function
//
// `bulkhead run` exits with how the guests ended (see `bulkhead run -h`).
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"bulkhead/boot/virt"
	"bulkhead/hypervisor/guestspec"
	"bulkhead/hypervisor/outcome"
	"bulkhead/internal/qemu"
)

func main() {
	err := run(os.Args[1:], os.Stdin, os.Stdout)
	var s runStatus
	if err != nil && !errors.Is(err, flag.ErrHelp) && !errors.As(err, &s) {
		fmt.Fprintln(os.Stderr, "bulkhead:", err)
	}
	os.Exit(exitStatus(err))
}

// usageError is a bad command line or input file: exit status 2, and no
// QEMU was started.
type usageError struct{ error }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// runStatus is a run that went as far as QEMU and ended with a status
// other than 0; the summary lines have said why.
type runStatus int

func (s runStatus) Error() string { return fmt.Sprintf("exit status %d", int(s)) }

func exitStatus(err error) int {
	var u usageError
	var s runStatus
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return outcome.StatusOK
	case errors.As(err, &u):
		return outcome.StatusUsage
	case errors.As(err, &s):
		return int(s)
	}
	return outcome.StatusInternal
}

func run(args []string, stdin io.Reader, stdout io.Writer) error {
	if len(args) == 0 {
		return usagef("usage: bulkhead build | run | args | exec | test | bench (see 'go doc ./cmd/bulkhead')")
	}
	switch args[0] {
	case "bench":
		return bench(args[1:], stdout)
	case "build":
		_, err := buildImages()
		return err
	case "exec":
		return execGuest(args[1:], stdout)
	case "test":
		return testGuests(args[1:])
	case "run", "args":
		opts, err := parseRunFlags(args[0], args[1:], stdout)
		if err != nil {
			return err
		}
		if args[0] == "args" {
			return printArgs(opts, stdout)
		}
		return boot(opts, stdin, stdout)
	}
	return usagef("unknown command %q (want build, run, args, exec, test or bench)", args[0])
}

type runOpts struct {
	engine, hypervisor string
	guests             []string
	guestArgs          string
	kernel, initrd     string
	disks              []string // -disk FILE[,ro], for the -kernel guest
	shared             bool     // -shared: memory=shared
	virtio             bool     // -virtio: a protected VM with virtio=on
	cmdline            string
	vcpus, ramMiB      int
	cpus               int
	timeout            time.Duration
	icount             bool
	gdb                bool
	gdbPort            int
}

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func parseRunFlags(name string, args []string, stdout io.Writer) (runOpts, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	var o runOpts
	var guests, disks listFlag
	fs.StringVar(&o.engine, "engine", "", "engine image (default: build it)")
	fs.StringVar(&o.hypervisor, "hypervisor", "", "EL1 image the engine boots (default: build ours)")
	fs.Var(&guests, "guest", "guest image offered to the hypervisor (repeatable)")
	fs.StringVar(&o.guestArgs, "guest-args", "", "file of key=value lines (vcpus, ram, bootargs) for every guest")
	fs.StringVar(&o.kernel, "kernel", "", "a Linux arm64 Image to boot as a guest")
	fs.StringVar(&o.initrd, "initrd", "", "initramfs for -kernel")
	fs.Var(&disks, "disk", "disk image FILE[,ro] of the -kernel guest, a virtio block device (repeatable; needs -shared or -virtio): writes stay in memory, or fail with ,ro")
	fs.BoolVar(&o.shared, "shared", false, "make the -kernel guest a shared-memory VM (memory=shared), which gets virtio devices")
	fs.BoolVar(&o.virtio, "virtio", false, "give the -kernel guest virtio devices as a protected VM (virtio=on): only for a kernel that shares its own rings and DMA buffers")
	fs.StringVar(&o.cmdline, "append", "console=ttyAMA0", "kernel command line for -kernel")
	fs.IntVar(&o.vcpus, "vcpus", 1, "vCPUs of the -kernel guest")
	fs.IntVar(&o.ramMiB, "ram", 256, "MiB of RAM of the -kernel guest")
	fs.IntVar(&o.cpus, "cpus", 1, "host CPUs of the machine (QEMU -smp)")
	fs.DurationVar(&o.timeout, "timeout", 0, "stop QEMU after this long (0: never)")
	fs.BoolVar(&o.icount, "icount", false, "run with -icount shift=0 (instruction-counted time)")
	fs.BoolVar(&o.gdb, "gdb", false, "start QEMU halted with its gdb stub, and print the gdb command line")
	fs.IntVar(&o.gdbPort, "gdb-port", 1234, "TCP port of the gdb stub on 127.0.0.1, with -gdb")
	// A bad flag is one line (main prints it); -h prints the whole usage.
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(fs, stdout)
			return o, err
		}
		return o, usageError{err}
	}
	if fs.NArg() > 0 {
		return o, usagef("unexpected arguments: %v", fs.Args())
	}
	o.guests, o.disks = guests, disks
	if err := o.check(); err != nil {
		return o, usageError{err}
	}
	return o, nil
}

// check refuses options that cannot make a machine, before one starts.
func (o runOpts) check() error {
	switch {
	case o.initrd != "" && o.kernel == "":
		return errors.New("-initrd needs -kernel")
	case (len(o.disks) > 0 || o.shared || o.virtio) && o.kernel == "":
		return errors.New("-disk, -shared and -virtio need -kernel")
	case o.shared && o.virtio:
		return errors.New("-shared and -virtio contradict: -virtio is for a protected VM, and a -shared one always has its virtio devices")
	case len(o.disks) > 0 && !o.shared && !o.virtio:
		return errors.New("-disk needs -shared (an unmodified Linux) or -virtio (a protected VM whose kernel shares its own DMA buffers): a protected VM's memory is closed to the devices")
	case len(o.disks) > guestspec.MaxDisks:
		return fmt.Errorf("at most %d -disk", guestspec.MaxDisks)
	case o.timeout < 0:
		return fmt.Errorf("-timeout %v is negative", o.timeout)
	case o.gdbPort < 1 || o.gdbPort > 65535:
		return fmt.Errorf("-gdb-port %d is not a TCP port", o.gdbPort)
	case o.vcpus < 1 || o.vcpus > guestspec.MaxVCPUs:
		return fmt.Errorf("-vcpus must be 1 to %d", guestspec.MaxVCPUs)
	case o.cpus < 1 || o.cpus > virt.MaxCPUs:
		return fmt.Errorf("-cpus must be 1 to %d", virt.MaxCPUs)
	case o.ramMiB < 4 || o.ramMiB > guestspec.MaxRAMMiB || o.ramMiB%2 != 0:
		return fmt.Errorf("-ram must be an even number of MiB from 4 to %d", guestspec.MaxRAMMiB)
	}
	for _, f := range append([]string{o.engine, o.hypervisor, o.guestArgs, o.kernel, o.initrd}, o.guests...) {
		if f == "" {
			continue
		}
		if err := readable(f); err != nil {
			return err
		}
	}
	for _, d := range o.disks {
		if err := checkDisk(d); err != nil {
			return err
		}
	}
	if o.guestArgs != "" {
		text, err := os.ReadFile(o.guestArgs)
		if err == nil {
			err = guestspec.Check(text)
		}
		if err != nil {
			return fmt.Errorf("guest argument file %q: %w", o.guestArgs, err)
		}
	}
	return nil
}

// readable checks that f is a regular file this process can open.
func readable(f string) error {
	st, err := os.Stat(f)
	if err == nil && !st.Mode().IsRegular() {
		err = errors.New("not a regular file")
	}
	if err == nil {
		var h *os.File
		if h, err = os.Open(f); err == nil {
			h.Close()
		}
	}
	if err != nil {
		return fmt.Errorf("image %q is not a readable file: %v", f, err)
	}
	return nil
}

// maxDisk bounds a disk image: it is read whole into the machine's memory.
const maxDisk = 1 << 30

// checkDisk refuses a -disk argument that cannot be a block device.
func checkDisk(arg string) error {
	f, _ := diskArg(arg)
	if err := readable(f); err != nil {
		return err
	}
	st, _ := os.Stat(f)
	if st.Size() == 0 || st.Size()%512 != 0 || st.Size() > maxDisk {
		return fmt.Errorf("disk %q: %d bytes, want a whole number of 512-byte sectors, at most %d", f, st.Size(), maxDisk)
	}
	return nil
}

// diskArg splits FILE[,ro].
func diskArg(arg string) (file string, readOnly bool) {
	if f, ok := strings.CutSuffix(arg, ",ro"); ok {
		return f, true
	}
	return arg, false
}

// usage is `bulkhead run -h`: the flags, then what the exit status means.
func usage(fs *flag.FlagSet, out io.Writer) {
	fs.SetOutput(out)
	fmt.Fprintf(out, "usage: bulkhead %s [flags]\n\nflags:\n", fs.Name())
	fs.PrintDefaults()
	exitStatusHelp(out)
}

// exitStatusHelp is the exit-status table, for -h.
func exitStatusHelp(out io.Writer) {
	fmt.Fprintln(out, "\nexit status (the first failure's, in the order the console shows them):")
	for _, r := range outcome.StatusTable() {
		fmt.Fprintf(out, "  %-6s %s\n", r.Status, r.Meaning)
	}
	fmt.Fprintf(out, "A Linux guest sets its status with busybox: devmem 0x%08x 32 N; poweroff -f\n", virt.ExitStatus.Base)
}

// machine makes the QEMU machine of o. The files it writes (the entropy
// seed and the -kernel guest's argument file) go into dir, which the
// caller owns: boot removes it when QEMU has ended, args leaves it for
// the command line it prints.
func (o runOpts) machine(dir string) (qemu.Machine, error) {
	if o.engine == "" || o.hypervisor == "" {
		built, err := buildImages()
		if err != nil {
			return qemu.Machine{}, err
		}
		o.engine = firstNonEmpty(o.engine, built[0])
		o.hypervisor = firstNonEmpty(o.hypervisor, built[1])
	}
	m := qemu.Machine{Engine: o.engine, EL1: o.hypervisor, CPUs: o.cpus, ICount: o.icount, Files: map[string]string{}}
	if o.gdb {
		m.GDBPort = o.gdbPort
	}
	for i, g := range o.guests {
		m.Files[fmt.Sprintf("%s%d", virt.FwCfgGuestPrefix, i)] = g
		if o.guestArgs != "" {
			m.Files[fmt.Sprintf("%s%d.args", virt.FwCfgGuestPrefix, i)] = o.guestArgs
		}
	}
	if o.kernel != "" {
		if err := o.addKernel(m.Files, len(o.guests), dir); err != nil {
			return m, err
		}
	}
	if len(m.Files) > 0 {
		seed, err := entropyFile(dir)
		if err != nil {
			return m, err
		}
		m.Files[virt.FwCfgGuestPrefix+guestspec.EntropyFile] = seed
	}
	return m, nil
}

// entropyFile writes 32 bytes from the host's random source into dir for
// the hypervisor's virtio entropy devices: a fresh seed for every run.
func entropyFile(dir string) (string, error) {
	seed := make([]byte, 32)
	if _, err := rand.Read(seed); err != nil {
		return "", err
	}
	name := filepath.Join(dir, "entropy")
	return name, os.WriteFile(name, seed, 0o600)
}

// addKernel offers the -kernel guest as guest n, with its initramfs and an
// argument file written into dir.
func (o runOpts) addKernel(files map[string]string, n int, dir string) error {
	name := fmt.Sprintf("%s%d", virt.FwCfgGuestPrefix, n)
	files[name] = o.kernel
	if o.initrd != "" {
		files[name+".initrd"] = o.initrd
	}
	for i, d := range o.disks {
		file, ro := diskArg(d)
		key := fmt.Sprintf("%s.disk%d", name, i)
		if ro {
			key += ".ro"
		}
		files[key] = file
	}
	args := fmt.Sprintf("vcpus=%d\nram=%d\nbootargs=%s\n", o.vcpus, o.ramMiB, o.cmdline)
	if o.shared {
		args += "memory=shared\n"
	}
	if o.virtio {
		args += "virtio=on\n"
	}
	argsFile := filepath.Join(dir, fmt.Sprintf("guest%d.args", n))
	if err := os.WriteFile(argsFile, []byte(args), 0o600); err != nil {
		return err
	}
	files[name+".args"] = argsFile
	return nil
}

// printArgs prints the QEMU command line of o. The files the machine
// needs beside the images stay, for that command, in a directory of their
// own under the system's temporary directory.
func printArgs(o runOpts, stdout io.Writer) error {
	dir, err := os.MkdirTemp("", "bulkhead-args-")
	if err != nil {
		return err
	}
	m, err := o.machine(dir)
	if err != nil {
		return errors.Join(err, os.RemoveAll(dir))
	}
	fmt.Fprintln(stdout, qemu.Binary, strings.Join(m.Args(), " "))
	return nil
}

// runQEMU runs a machine; tests replace it.
var runQEMU = qemu.Run

// boot runs the machine of o to its end, with the files it writes in a
// directory removed on every way out.
func boot(o runOpts, stdin io.Reader, stdout io.Writer) error {
	dir, err := os.MkdirTemp("", "bulkhead-run-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	m, err := o.machine(dir)
	if err != nil {
		return err
	}
	if o.gdb {
		fmt.Fprintln(stdout, gdbHelp(m))
	}
	timeout := o.timeout
	if timeout == 0 {
		timeout = 100 * 365 * 24 * time.Hour
	}
	// A hang-up (the terminal closed) and a TERM end QEMU as an interrupt
	// does: Run kills its process group on the way out.
	ctx, stop := signal.NotifyContext(context.Background(), unix.SIGINT, unix.SIGTERM, unix.SIGHUP)
	defer stop()
	ctx, quit := context.WithCancel(ctx)
	defer quit()
	input, restore, err := console(stdin, quit)
	if err != nil {
		return err
	}
	res, err := runQEMU(ctx, m, timeout, input, stdout)
	restore()
	if err != nil {
		return err
	}
	return report(stdout, res, ctx.Err() != nil && !res.TimedOut)
}

// console prepares the machine's console input: a terminal goes into raw
// mode, so keys (Ctrl-C included) reach the first VM, with Ctrl-A x to quit;
// restore puts it back, and is called on every path out of boot.
func console(stdin io.Reader, quit func()) (io.Reader, func(), error) {
	f, ok := stdin.(*os.File)
	if !ok {
		return stdin, func() {}, nil
	}
	term, isTerm, err := qemu.RawTerminal(f)
	if err != nil || !isTerm {
		return stdin, func() {}, err
	}
	fmt.Fprintf(os.Stderr, "bulkhead: console attached (%s)\r\n", qemu.EscapeUse)
	return qemu.NewEscapeReader(stdin, quit), term.Restore, nil
}

// report prints one line per guest and the run's status, and returns the
// status as an error unless it is 0.
func report(stdout io.Writer, res qemu.Result, stopped bool) error {
	sum := outcome.Summarize(res.Console, res.TimedOut)
	if stopped {
		sum.Status, sum.Reason = outcome.StatusStopped, "stopped by Ctrl-A x or a signal"
	}
	if res.ExitCode != 0 && !res.TimedOut && !stopped && sum.Status == outcome.StatusOK {
		sum.Status, sum.Reason = outcome.StatusMachine, fmt.Sprintf("QEMU exited with status %d", res.ExitCode)
	}
	for _, l := range sum.Lines() {
		fmt.Fprintln(stdout, l)
	}
	if sum.Status != outcome.StatusOK {
		return runStatus(sum.Status)
	}
	return nil
}

// gdbHelp tells how to attach gdb to a machine started with -gdb: both
// images are linked at the addresses they run at (identity-mapped), so
// their symbols load where their ELF headers say.
func gdbHelp(m qemu.Machine) string {
	cmd := fmt.Sprintf("gdb-multiarch -q -ex 'set architecture aarch64' -ex 'file %s'", m.Engine)
	if m.EL1 != "" {
		cmd += fmt.Sprintf(" -ex 'add-symbol-file %s'", m.EL1)
	}
	cmd += fmt.Sprintf(" -ex 'target remote 127.0.0.1:%d'", m.GDBPort)
	return fmt.Sprintf("bulkhead: QEMU is halted with its gdb stub on 127.0.0.1:%d; attach with\n  %s\n"+
		"(Debian package gdb-multiarch; 'continue' starts the machine)", m.GDBPort, cmd)
}

// builder builds into build/ at the module root.
func builder() (qemu.Builder, error) {
	tamago, err := qemu.FindTamago()
	if err != nil {
		return qemu.Builder{}, err
	}
	wd, err := os.Getwd()
	if err != nil {
		return qemu.Builder{}, err
	}
	root, err := qemu.ModuleRoot(wd)
	if err != nil {
		return qemu.Builder{}, err
	}
	return qemu.Builder{Tamago: tamago, Root: root, Out: filepath.Join(root, "build")}, nil
}

// buildImages builds the engine and the hypervisor and returns their paths.
func buildImages() ([]string, error) {
	b, err := builder()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, img := range []qemu.Image{qemu.Engine, qemu.Hypervisor} {
		path, err := b.Build(img)
		if err != nil {
			return nil, err
		}
		out = append(out, path)
	}
	return out, nil
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
