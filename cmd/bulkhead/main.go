// Command bulkhead builds bulkhead's images and runs them under QEMU.
//
//	bulkhead build                      build the engine and the hypervisor into build/
//	bulkhead run [-hypervisor F] [-guest F]... [-timeout D] [-icount]
//	                                    boot the engine, an EL1 image and guests
//	bulkhead args [same flags as run]   print the QEMU command line instead
//	bulkhead bench                      instruction counts of the hot paths, boot times
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"bulkhead/boot/virt"
	"bulkhead/internal/qemu"
)

func main() {
	if err := run(os.Args[1:], os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bulkhead:", err)
		os.Exit(1)
	}
}

func run(args []string, stdin io.Reader, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: bulkhead build | run | args | bench (see 'go doc ./cmd/bulkhead')")
	}
	switch args[0] {
	case "bench":
		return bench(stdout)
	case "build":
		_, err := buildImages()
		return err
	case "run", "args":
		opts, err := parseRunFlags(args[0], args[1:])
		if err != nil {
			return err
		}
		if args[0] == "args" {
			return printArgs(opts, stdout)
		}
		return boot(opts, stdin, stdout)
	}
	return fmt.Errorf("unknown command %q (want build, run, args or bench)", args[0])
}

type runOpts struct {
	engine, hypervisor string
	guests             []string
	guestArgs          string
	kernel, initrd     string
	cmdline            string
	vcpus, ramMiB      int
	timeout            time.Duration
	icount             bool
}

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func parseRunFlags(name string, args []string) (runOpts, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	var o runOpts
	var guests listFlag
	fs.StringVar(&o.engine, "engine", "", "engine image (default: build it)")
	fs.StringVar(&o.hypervisor, "hypervisor", "", "EL1 image the engine boots (default: build ours)")
	fs.Var(&guests, "guest", "guest image offered to the hypervisor (repeatable)")
	fs.StringVar(&o.guestArgs, "guest-args", "", "file of key=value lines (vcpus, ram, bootargs) for every guest")
	fs.StringVar(&o.kernel, "kernel", "", "a Linux arm64 Image to boot as a guest")
	fs.StringVar(&o.initrd, "initrd", "", "initramfs for -kernel")
	fs.StringVar(&o.cmdline, "append", "console=ttyAMA0", "kernel command line for -kernel")
	fs.IntVar(&o.vcpus, "vcpus", 1, "vCPUs of the -kernel guest")
	fs.IntVar(&o.ramMiB, "ram", 256, "MiB of RAM of the -kernel guest")
	fs.DurationVar(&o.timeout, "timeout", 0, "stop QEMU after this long (0: never)")
	fs.BoolVar(&o.icount, "icount", false, "run with -icount shift=0 (instruction-counted time)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	o.guests = guests
	if o.initrd != "" && o.kernel == "" {
		return o, errors.New("-initrd needs -kernel")
	}
	for _, f := range append([]string{o.engine, o.hypervisor, o.guestArgs, o.kernel, o.initrd}, o.guests...) {
		if f == "" {
			continue
		}
		if st, err := os.Stat(f); err != nil || !st.Mode().IsRegular() {
			return o, fmt.Errorf("image %q is not a readable file", f)
		}
	}
	return o, nil
}

func (o runOpts) machine() (qemu.Machine, error) {
	if o.engine == "" || o.hypervisor == "" {
		built, err := buildImages()
		if err != nil {
			return qemu.Machine{}, err
		}
		o.engine = firstNonEmpty(o.engine, built[0])
		o.hypervisor = firstNonEmpty(o.hypervisor, built[1])
	}
	m := qemu.Machine{Engine: o.engine, EL1: o.hypervisor, ICount: o.icount, Files: map[string]string{}}
	for i, g := range o.guests {
		m.Files[fmt.Sprintf("%s%d", virt.FwCfgGuestPrefix, i)] = g
		if o.guestArgs != "" {
			m.Files[fmt.Sprintf("%s%d.args", virt.FwCfgGuestPrefix, i)] = o.guestArgs
		}
	}
	if o.kernel != "" {
		if err := o.addKernel(m.Files, len(o.guests)); err != nil {
			return m, err
		}
	}
	return m, nil
}

// addKernel offers the -kernel guest as guest n, with its initramfs and an
// argument file written next to the built images.
func (o runOpts) addKernel(files map[string]string, n int) error {
	name := fmt.Sprintf("%s%d", virt.FwCfgGuestPrefix, n)
	files[name] = o.kernel
	if o.initrd != "" {
		files[name+".initrd"] = o.initrd
	}
	args := fmt.Sprintf("vcpus=%d\nram=%d\nbootargs=%s\n", o.vcpus, o.ramMiB, o.cmdline)
	f, err := os.CreateTemp("", "bulkhead-guest-*.args")
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.WriteString(args); err != nil {
		return err
	}
	files[name+".args"] = f.Name()
	return nil
}

func printArgs(o runOpts, stdout io.Writer) error {
	m, err := o.machine()
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, qemu.Binary, strings.Join(m.Args(), " "))
	return nil
}

func boot(o runOpts, stdin io.Reader, stdout io.Writer) error {
	m, err := o.machine()
	if err != nil {
		return err
	}
	timeout := o.timeout
	if timeout == 0 {
		timeout = 100 * 365 * 24 * time.Hour
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	res, err := qemu.Run(ctx, m, timeout, stdin, stdout)
	if err != nil {
		return err
	}
	if res.TimedOut {
		return fmt.Errorf("stopped QEMU after %v", timeout)
	}
	if res.ExitCode != 0 {
		return fmt.Errorf("QEMU exited with status %d", res.ExitCode)
	}
	return nil
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
