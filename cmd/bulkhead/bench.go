package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"bulkhead/boot/virt"
	"bulkhead/internal/qemu"
)

// profileEngine is the benchmark engine with the Linux boot profile
// compiled in (cmd/engine/profile_on.go); the hot paths are timed on the
// benchmark engine without it, which the profile's counting would slow.
var profileEngine = qemu.Image{Name: "engine-profile", Pkg: "./cmd/engine", Text: virt.EngineText,
	Tags: []string{"bulkhead_bench", "bulkhead_profile"}}

// timerGuest is the guest that measures its timer interrupts' wake-up
// latency (cmd/guests/timer), and slowTimerEngine the engine without the
// timer's fast delivery (the timer suite's control), for the figure
// before it.
var (
	timerGuest = qemu.Image{Name: "guest-timer", Pkg: "./cmd/guests/timer", Text: virt.GuestText,
		Tags: []string{"bulkhead_guest"}}
	slowTimerEngine = qemu.Image{Name: "engine-slow-timer", Pkg: "./cmd/engine", Text: virt.EngineText,
		Tags: []string{"bulkhead_slow_timer"}}
)

// bootRuns is how many boots each boot-time figure is the median of.
const bootRuns = 5

// bench runs the instruction-count benchmarks, the boot timings and the
// Linux boot profile, and prints one line per figure; with -profile, only
// the profile.
func bench(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stdout)
	profileOnly := fs.Bool("profile", false, "only profile one Linux boot: entries to EL2, exits, instructions by level, world switches")
	virtioOnly := fs.Bool("virtio", false, "only the throughput of the virtio devices: block (dd) and network (nc between two VMs)")
	hotOnly := fs.Bool("hot", false, "only the instruction counts of the engine's hot paths against their assembly floors")
	smpOnly := fs.Bool("smp", false, "only the several-CPU rows: the engine's boot on 4 CPUs against 1, and Linux on 4 vCPUs on 4 CPUs, on 1 and directly")
	linuxOnly := fs.Bool("linux", false, "only the 1-vCPU Linux boot to userspace, directly and under bulkhead")
	timerOnly := fs.Bool("timer", false, "only the hot paths and the timer's wake-up latency, directly and under bulkhead")
	whereOnly := fs.Bool("where", false, "only where the hot paths' engine instructions go, by function (QEMU single-steps and logs every instruction: several minutes)")
	if err := fs.Parse(args); err != nil {
		return usagef("%v", err)
	}
	if fs.NArg() != 0 {
		return usagef("bench takes no arguments, got %q", fs.Args())
	}
	b, err := builder()
	if err != nil {
		return err
	}
	paths := map[string]string{}
	for _, img := range []qemu.Image{qemu.Engine, qemu.Hypervisor, qemu.BenchEngine, qemu.BenchHost, profileEngine,
		timerGuest, slowTimerEngine} {
		if paths[img.Name], err = b.Build(img); err != nil {
			return err
		}
	}
	switch {
	case btoi(*profileOnly)+btoi(*virtioOnly)+btoi(*hotOnly)+btoi(*whereOnly)+btoi(*timerOnly)+btoi(*linuxOnly)+btoi(*smpOnly) > 1:
		return usagef("bench: -profile, -virtio, -hot, -timer, -linux, -smp and -where each ask for one part only")
	case *whereOnly:
		host, err := b.Build(whereHost)
		if err != nil {
			return err
		}
		return benchWhere(stdout, paths["engine-bench"], host)
	case *profileOnly:
		return benchProfile(stdout, b.Root, paths)
	case *linuxOnly:
		return benchLinux(stdout, b.Root, paths)
	case *smpOnly:
		if err := benchCPUs(stdout, qemu.Machine{Engine: paths["engine"], EL1: paths["hypervisor"]}); err != nil {
			return err
		}
		return benchLinuxSMP(stdout, b.Root, paths)
	case *virtioOnly:
		benchVirtioBlock(stdout, b.Root, paths)
		benchVirtioNet(stdout, b.Root, paths)
		return nil
	}
	// Two CPUs: the host starts the second for the -several-cpus rows.
	m := qemu.Machine{Engine: paths["engine-bench"], EL1: paths["benchhost"], ICount: true, CPUs: 2}
	res, err := qemu.Run(context.Background(), m, 10*time.Minute, nil, nil)
	if err != nil {
		return err
	}
	found := false
	for _, line := range strings.Split(strings.ReplaceAll(res.Console, "\r", ""), "\n") {
		if strings.HasPrefix(line, "BENCH ") || strings.Contains(line, "FAILED") {
			fmt.Fprintln(stdout, line)
			found = found || strings.HasPrefix(line, "BENCH ")
		}
	}
	if !found {
		return fmt.Errorf("the benchmark machine printed no results:\n%s", res.Console)
	}
	if *hotOnly {
		return nil
	}
	if err := benchTimer(stdout, res.Console, paths); err != nil || *timerOnly {
		return err
	}
	if err := benchBoot(stdout, qemu.Machine{Engine: paths["engine"], EL1: paths["hypervisor"]}); err != nil {
		return err
	}
	if err := benchCPUs(stdout, qemu.Machine{Engine: paths["engine"], EL1: paths["hypervisor"]}); err != nil {
		return err
	}
	if err := benchLinux(stdout, b.Root, paths); err != nil {
		return err
	}
	if err := benchLinuxSMP(stdout, b.Root, paths); err != nil {
		return err
	}
	benchVirtioBlock(stdout, b.Root, paths)
	benchVirtioNet(stdout, b.Root, paths)
	return benchProfile(stdout, b.Root, paths)
}

// linuxGuest is the Linux benchmark's guest on engine, Debian's kernel and
// busybox initramfs with cmdline, vcpus vCPUs and 256 MiB, or ok == false
// when scripts/guest-images has not fetched them. remove deletes the
// temporary file of the guest's arguments.
func linuxGuest(root, engine, hypervisor, cmdline string, vcpus int) (guest, direct qemu.Machine, remove func(), ok bool, err error) {
	dir := filepath.Join(root, ".cache", "guest-images")
	kernel, initrd := filepath.Join(dir, "Image"), filepath.Join(dir, "initramfs.cpio")
	if _, err := os.Stat(kernel); err != nil {
		return guest, direct, nil, false, nil
	}
	direct = qemu.Machine{Engine: kernel, Extra: []string{"-initrd", initrd, "-append", cmdline}}
	args, err := os.CreateTemp("", "bulkhead-bench-*.args")
	if err != nil {
		return guest, direct, nil, false, err
	}
	fmt.Fprintf(args, "vcpus=%d\nram=256\nbootargs=%s\n", vcpus, cmdline)
	args.Close()
	guest = qemu.Machine{Engine: engine, EL1: hypervisor, Files: map[string]string{
		"opt/bulkhead/guest/0": kernel, "opt/bulkhead/guest/0.initrd": initrd, "opt/bulkhead/guest/0.args": args.Name()}}
	return guest, direct, func() { os.Remove(args.Name()) }, true, nil
}

// benchProfile boots Linux once under the profiling engine with -icount
// shift=0 and prints the profile the engine reports at power-off: entries
// to EL2 by principal, vector, exception class and call id, exits to the
// host by reason, instructions in the host, the guest and at EL2, and
// world switches.
func benchProfile(stdout io.Writer, root string, paths map[string]string) error {
	guest, _, remove, ok, err := linuxGuest(root, paths[profileEngine.Name], paths["hypervisor"], "console=ttyAMA0", 1)
	if err != nil {
		return err
	}
	if !ok {
		fmt.Fprintln(stdout, "PROFILE skipped: run scripts/guest-images first")
		return nil
	}
	defer remove()
	guest.ICount = true
	res, err := qemu.Run(context.Background(), guest, 10*time.Minute, nil, nil)
	if err != nil {
		return err
	}
	found := false
	for _, line := range strings.Split(strings.ReplaceAll(res.Console, "\r", ""), "\n") {
		if rest, ok := strings.CutPrefix(line, "engine: profile: "); ok {
			fmt.Fprintln(stdout, "PROFILE Linux boot, 1 vCPU, -icount shift=0:", rest)
			found = true
		}
	}
	if !found {
		return fmt.Errorf("the profiled Linux boot printed no profile:\n%s", res.Console)
	}
	return nil
}

// benchLinux times Debian's kernel from QEMU's start to its userspace
// marker, booted directly by QEMU (-kernel, same machine and CPU) and as a
// bulkhead guest, median of bootRuns boots each, and prints the ratio.
func benchLinux(stdout io.Writer, root string, paths map[string]string) error {
	const marker = "BULKHEAD-USERSPACE-OK"
	guest, direct, remove, ok, err := linuxGuest(root, paths["engine"], paths["hypervisor"], "console=ttyAMA0", 1)
	if err != nil {
		return err
	}
	if !ok {
		fmt.Fprintln(stdout, "LINUX benchmark skipped: run scripts/guest-images first")
		return nil
	}
	defer remove()
	// The kernel's first console line splits each boot into what comes
	// before it (QEMU; under bulkhead also the engine, the hypervisor,
	// loading the kernel and donating its memory) and Linux's own boot.
	const first = "Booting Linux on physical CPU"
	ds, err := timeTo(direct, first, marker)
	if err != nil {
		return err
	}
	gs, err := timeTo(guest, first, marker)
	if err != nil {
		return err
	}
	d, g := ds[1], gs[1]
	ratio := float64(g) / float64(d)
	verdict := "within"
	if ratio > 1.25 {
		verdict = "OVER"
	}
	fmt.Fprintf(stdout, "LINUX boot to userspace: directly %v, under bulkhead %v, ratio %.2f (target <= 1.25, %s; median of %d each)\n",
		d.Round(time.Millisecond), g.Round(time.Millisecond), ratio, verdict, bootRuns)
	fmt.Fprintf(stdout, "LINUX from the kernel's first console line to userspace: directly %v, under bulkhead %v, ratio %.2f; "+
		"before that line: directly %v, under bulkhead %v\n",
		(ds[1] - ds[0]).Round(time.Millisecond), (gs[1] - gs[0]).Round(time.Millisecond), float64(gs[1]-gs[0])/float64(ds[1]-ds[0]),
		ds[0].Round(time.Millisecond), gs[0].Round(time.Millisecond))
	return nil
}

// smpVCPUs is the vCPU count of the several-CPU Linux benchmark.
const smpVCPUs = 4

// benchLinuxSMP boots Debian's kernel on smpVCPUs vCPUs with the parallel
// workload (bulkhead.parallel: one busy loop per CPU) three ways: under
// bulkhead on a board with smpVCPUs CPUs, under bulkhead on one CPU, and
// directly under QEMU with -smp smpVCPUs; median of bootRuns boots each.
// It prints the time to userspace and the workload's time, and the
// speed-up of the several-CPU board over one CPU and its ratio to QEMU.
func benchLinuxSMP(stdout io.Writer, root string, paths map[string]string) error {
	guest, direct, remove, ok, err := linuxGuest(root, paths["engine"], paths["hypervisor"], "console=ttyAMA0 bulkhead.parallel", smpVCPUs)
	if err != nil {
		return err
	}
	if !ok {
		fmt.Fprintln(stdout, "LINUX-SMP benchmark skipped: run scripts/guest-images first")
		return nil
	}
	defer remove()
	marks := []string{"BULKHEAD-USERSPACE-OK", "BULKHEAD-PARALLEL-START", "BULKHEAD-PARALLEL-DONE"}
	direct.CPUs = smpVCPUs
	d, err := timeTo(direct, marks...)
	if err != nil {
		return err
	}
	guest.CPUs = smpVCPUs
	many, err := timeTo(guest, marks...)
	if err != nil {
		return err
	}
	guest.CPUs = 1
	one, err := timeTo(guest, marks...)
	if err != nil {
		return err
	}
	work := func(t []time.Duration) time.Duration { return t[2] - t[1] }
	row := func(what string, many, one, direct time.Duration) {
		fmt.Fprintf(stdout, "LINUX-SMP %d vCPUs, %s: bulkhead on %d CPUs %v, on 1 CPU %v (speed-up %.2fx); QEMU directly with -smp %d %v (ratio %.2f; median of %d each)\n",
			smpVCPUs, what, smpVCPUs, many.Round(time.Millisecond), one.Round(time.Millisecond), float64(one)/float64(many),
			smpVCPUs, direct.Round(time.Millisecond), float64(many)/float64(direct), bootRuns)
	}
	row("boot to userspace", many[0], one[0], d[0])
	row(fmt.Sprintf("%d busy loops", smpVCPUs), work(many), work(one), work(d))
	return nil
}

// timeTo boots m bootRuns times and returns, for each marker, the median
// time from QEMU's start to the first console line holding it.
func timeTo(m qemu.Machine, markers ...string) ([]time.Duration, error) {
	times := make([][]time.Duration, len(markers))
	for run := 0; run < bootRuns; run++ {
		start := time.Now()
		watches := make([]*qemu.Watch, len(markers))
		sinks := make([]io.Writer, len(markers))
		for i, mark := range markers {
			watches[i] = &qemu.Watch{Marker: []byte(mark), Start: start}
			sinks[i] = watches[i]
		}
		if _, err := qemu.Run(context.Background(), m, 5*time.Minute, nil, io.MultiWriter(sinks...)); err != nil {
			return nil, err
		}
		for i, w := range watches {
			d, ok := w.Elapsed()
			if !ok {
				return nil, fmt.Errorf("boot %d of %s never printed %q", run, m.Engine, markers[i])
			}
			times[i] = append(times[i], d)
		}
	}
	medians := make([]time.Duration, len(markers))
	for i := range times {
		medians[i] = medianDuration(times[i])
	}
	return medians, nil
}

// benchBoot times, from QEMU's start, the hypervisor's banner and the
// engine's power-off, median of bootRuns boots each, next to the engine's
// own first line as the baseline (QEMU start-up and the engine's runtime).
func benchBoot(stdout io.Writer, m qemu.Machine) error {
	marks := []string{"bulkhead engine: EL2", "bulkhead hypervisor: running at EL1", "engine: host requested power off"}
	medians, err := timeTo(m, marks...)
	if err != nil {
		return err
	}
	for i, mark := range marks {
		fmt.Fprintf(stdout, "BOOT %q: median %v of %d boots (%.2fx the engine's first line)\n",
			mark, medians[i].Round(time.Millisecond), bootRuns, float64(medians[i])/float64(medians[0]))
	}
	return imageSizes(stdout, m)
}

// benchCPUs times the same boot on QEMU with 1 and with 4 host CPUs,
// median of bootRuns boots each, and prints the ratio: starting the other
// CPUs at EL2 should cost the boot little (target: within 1.2x).
func benchCPUs(stdout io.Writer, m qemu.Machine) error {
	marks := []string{"bulkhead hypervisor: running at EL1", "engine: host requested power off"}
	m.CPUs = 1
	one, err := timeTo(m, marks...)
	if err != nil {
		return err
	}
	m.CPUs = 4
	four, err := timeTo(m, marks...)
	if err != nil {
		return err
	}
	for i, mark := range marks {
		fmt.Fprintf(stdout, "CPUS %q: 4 CPUs %v, 1 CPU %v, median of %d boots each (%.2fx; target 1.2x)\n",
			mark, four[i].Round(time.Millisecond), one[i].Round(time.Millisecond), bootRuns, float64(four[i])/float64(one[i]))
	}
	return nil
}

func medianDuration(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[(len(s)-1)/2]
}

func imageSizes(stdout io.Writer, m qemu.Machine) error {
	for _, p := range []string{m.Engine, m.EL1} {
		st, err := os.Stat(p)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "SIZE %s: %d bytes\n", filepath.Base(p), st.Size())
	}
	return nil
}

// btoi is 1 for true, 0 for false.
func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
