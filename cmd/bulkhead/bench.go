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
	return benchBoot(stdout, qemu.Machine{Engine: paths["engine"], EL1: paths["hypervisor"]})
}

// benchBoot times, from QEMU's start, the hypervisor's banner and the
// engine's power-off, median of bootRuns boots each, next to the engine's
// own first line as the baseline (QEMU start-up and the engine's runtime).
func benchBoot(stdout io.Writer, m qemu.Machine) error {
	marks := []string{"bulkhead engine: EL2", "bulkhead hypervisor: running at EL1", "engine: host requested power off"}
	times := make([][]time.Duration, len(marks))
	for run := 0; run < bootRuns; run++ {
		start := time.Now()
		watches := make([]io.Writer, len(marks))
		for i, mark := range marks {
			watches[i] = &qemu.Watch{Marker: []byte(mark), Start: start}
		}
		if _, err := qemu.Run(context.Background(), m, time.Minute, nil, io.MultiWriter(watches...)); err != nil {
			return err
		}
		for i, w := range watches {
			d, ok := w.(*qemu.Watch).Elapsed()
			if !ok {
				return fmt.Errorf("boot %d never printed %q", run, marks[i])
			}
			times[i] = append(times[i], d)
		}
	}
	base := medianDuration(times[0])
	for i, mark := range marks {
		d := medianDuration(times[i])
		fmt.Fprintf(stdout, "BOOT %q: median %v of %d boots (%.2fx the engine's first line)\n",
			mark, d.Round(time.Millisecond), bootRuns, float64(d)/float64(base))
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
