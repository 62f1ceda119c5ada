package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"bulkhead/internal/qemu"
)

// bootRuns is how many boots each boot-time figure is the median of.
const bootRuns = 5

// bench runs the instruction-count benchmarks and the boot timings, and
// prints one line per figure.
func bench(stdout io.Writer) error {
	b, err := builder()
	if err != nil {
		return err
	}
	paths := map[string]string{}
	for _, img := range []qemu.Image{qemu.Engine, qemu.Hypervisor, qemu.BenchEngine, qemu.BenchHost} {
		if paths[img.Name], err = b.Build(img); err != nil {
			return err
		}
	}
	m := qemu.Machine{Engine: paths["engine-bench"], EL1: paths["benchhost"], ICount: true}
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
	if err := benchBoot(stdout, qemu.Machine{Engine: paths["engine"], EL1: paths["hypervisor"]}); err != nil {
		return err
	}
	return benchLinux(stdout, b.Root, paths)
}

// benchLinux times Debian's kernel from QEMU's start to its userspace
// marker, booted directly by QEMU (-kernel, same machine and CPU) and as a
// bulkhead guest, median of bootRuns boots each, and prints the ratio.
func benchLinux(stdout io.Writer, root string, paths map[string]string) error {
	dir := filepath.Join(root, ".cache", "guest-images")
	kernel, initrd := filepath.Join(dir, "Image"), filepath.Join(dir, "initramfs.cpio")
	if _, err := os.Stat(kernel); err != nil {
		fmt.Fprintln(stdout, "LINUX benchmark skipped: run scripts/guest-images first")
		return nil
	}
	const marker, cmdline = "BULKHEAD-USERSPACE-OK", "console=ttyAMA0"
	direct := qemu.Machine{Engine: kernel, Extra: []string{"-initrd", initrd, "-append", cmdline}}
	args, err := os.CreateTemp("", "bulkhead-bench-*.args")
	if err != nil {
		return err
	}
	defer os.Remove(args.Name())
	fmt.Fprintf(args, "vcpus=1\nram=256\nbootargs=%s\n", cmdline)
	args.Close()
	guest := qemu.Machine{Engine: paths["engine"], EL1: paths["hypervisor"], Files: map[string]string{
		"opt/bulkhead/guest/0": kernel, "opt/bulkhead/guest/0.initrd": initrd, "opt/bulkhead/guest/0.args": args.Name()}}
	ds, err := timeTo(direct, marker)
	if err != nil {
		return err
	}
	gs, err := timeTo(guest, marker)
	if err != nil {
		return err
	}
	d, g := ds[0], gs[0]
	ratio := float64(g) / float64(d)
	verdict := "within"
	if ratio > 1.25 {
		verdict = "OVER"
	}
	fmt.Fprintf(stdout, "LINUX boot to userspace: directly %v, under bulkhead %v, ratio %.2f (target <= 1.25, %s; median of %d each)\n",
		d.Round(time.Millisecond), g.Round(time.Millisecond), ratio, verdict, bootRuns)
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
