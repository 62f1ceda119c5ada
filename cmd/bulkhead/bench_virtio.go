package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"bulkhead/internal/qemu"
)

// blockRuns is how many boots each block throughput figure is the median
// of.
const blockRuns = 3

// blockReads is how many times each boot reads the whole disk per way of
// reading: the guest's clock (/proc/uptime) counts hundredths of a
// second, and one read of the image takes a few tenths.
const blockReads = 16

// blockCommands is what the benchmark types into the shell on the root
// disk: read the whole disk blockReads times with dd, through the page
// cache (dropped before each read) and then past it (O_DIRECT), print the
// guest's uptime around each series, and power off. busybox dd here has
// no timing line of its own, and busybox date no nanoseconds.
var blockCommands = fmt.Sprintf("for m in buffered direct; do f=; [ $m = direct ] && f=iflag=direct; "+
	"read a x </proc/uptime; for i in %s; do echo 3 >/proc/sys/vm/drop_caches; dd if=/dev/vda of=/dev/null bs=1M $f; done; "+
	"read b x </proc/uptime; echo BLOCK-DD $m $a $b; done; poweroff -f\n", strings.TrimSpace(strings.Repeat("r ", blockReads)))

// shellReady is the line the root disk's init prints just before it
// starts the shell (scripts/guest-images).
const shellReady = "BULKHEAD-ROOTFS "

// blockDD matches what blockCommands prints for each series: the way and
// the uptime in seconds before and after.
var blockDD = regexp.MustCompile(`BLOCK-DD (buffered|direct) ([0-9.]+) ([0-9.]+)`)

// benchVirtioBlock measures block throughput: Debian's kernel boots with
// root=/dev/vda on the ext4 image of scripts/guest-images and reads that
// whole disk with dd, as a shared-memory VM on bulkhead's virtio-blk and
// directly under QEMU on its own virtio-blk-device (the same kernel,
// initramfs and image, which QEMU opens with snapshot=on), and prints MB/s
// (10^6 bytes) for each and their ratio, median of blockRuns boots each. A
// failure is printed as a FAILED line: the figures before it stand.
func benchVirtioBlock(stdout io.Writer, root string, paths map[string]string) {
	if err := benchBlock(stdout, root, paths); err != nil {
		fmt.Fprintf(stdout, "BLOCK benchmark FAILED: %v\n", err)
	}
}

func benchBlock(stdout io.Writer, root string, paths map[string]string) error {
	dir := filepath.Join(root, ".cache", "guest-images")
	kernel, initrd, disk := filepath.Join(dir, "Image"), filepath.Join(dir, "initramfs.cpio"), filepath.Join(dir, "rootfs.ext4")
	st, err := os.Stat(disk)
	if err != nil {
		fmt.Fprintln(stdout, "BLOCK benchmark skipped: run scripts/guest-images first")
		return nil
	}
	const cmdline = "console=ttyAMA0 root=/dev/vda"
	args, err := os.CreateTemp("", "bulkhead-bench-block-*.args")
	if err != nil {
		return err
	}
	defer os.Remove(args.Name())
	fmt.Fprintf(args, "vcpus=1\nram=256\nmemory=shared\nbootargs=%s\n", cmdline)
	args.Close()
	guest := qemu.Machine{Engine: paths["engine"], EL1: paths["hypervisor"], Files: map[string]string{
		"opt/bulkhead/guest/0": kernel, "opt/bulkhead/guest/0.initrd": initrd,
		"opt/bulkhead/guest/0.args": args.Name(), "opt/bulkhead/guest/0.disk0": disk}}
	direct := qemu.Machine{Engine: kernel, Extra: []string{"-initrd", initrd, "-append", cmdline,
		"-drive", "file=" + disk + ",if=none,id=vda,format=raw,snapshot=on", "-device", "virtio-blk-device,drive=vda"}}

	var g, d [2][]float64 // seconds of the buffered and the direct read, per boot
	for run := 0; run < blockRuns; run++ {
		for _, m := range []struct {
			machine qemu.Machine
			into    *[2][]float64
		}{{direct, &d}, {guest, &g}} {
			secs, err := ddSeconds(m.machine)
			if err != nil {
				return err
			}
			for i := range secs {
				m.into[i] = append(m.into[i], secs[i])
			}
		}
	}
	mb := float64(st.Size()) * blockReads / 1e6
	for i, how := range []string{"bs=1M through the page cache", "bs=1M iflag=direct"} {
		dm, gm := mb/medianFloat(d[i]), mb/medianFloat(g[i])
		fmt.Fprintf(stdout, "BLOCK read of the whole %d MiB disk with dd %s: directly (QEMU virtio-blk-device) %.1f MB/s, "+
			"under bulkhead (virtio-blk) %.1f MB/s, ratio %.2f (%d reads a boot, median of %d boots each)\n",
			st.Size()>>20, how, dm, gm, gm/dm, blockReads, blockRuns)
	}
	return nil
}

// ddSeconds boots m, types blockCommands once the root disk's shell is
// up, and returns the seconds the buffered and the direct series took.
func ddSeconds(m qemu.Machine) ([]float64, error) {
	in, typist := io.Pipe()
	defer typist.Close()
	console := &shellTypist{ready: []byte(shellReady), typist: typist}
	res, err := qemu.Run(context.Background(), m, 5*time.Minute, in, console)
	if err != nil {
		return nil, err
	}
	secs, err := parseDD(res.Console)
	if err != nil {
		return nil, fmt.Errorf("%s: %w (timed out %v):\n%s", m.Engine, err, res.TimedOut, res.Console)
	}
	return secs, nil
}

// parseDD returns the seconds of the buffered and the direct series on
// console, which must both be there, each taking a positive time.
func parseDD(console string) ([]float64, error) {
	secs := make([]float64, 2)
	for _, match := range blockDD.FindAllStringSubmatch(console, -1) {
		a, errA := strconv.ParseFloat(match[2], 64)
		b, errB := strconv.ParseFloat(match[3], 64)
		if errA != nil || errB != nil || b <= a {
			return nil, fmt.Errorf("the %s series ran from uptime %s to %s", match[1], match[2], match[3])
		}
		secs[map[string]int{"buffered": 0, "direct": 1}[match[1]]] = b - a
	}
	if secs[0] == 0 || secs[1] == 0 {
		return nil, fmt.Errorf("no BLOCK-DD line for the buffered or the direct series")
	}
	return secs, nil
}

// shellTypist watches the console for the shell's ready line and then
// types blockCommands, once.
type shellTypist struct {
	ready  []byte
	typist io.Writer

	mu    sync.Mutex
	seen  []byte
	typed bool
}

func (s *shellTypist) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.typed {
		return len(p), nil
	}
	s.seen = append(s.seen, p...)
	if i := bytes.Index(s.seen, s.ready); i >= 0 && bytes.IndexByte(s.seen[i:], '\n') >= 0 {
		s.typed = true
		go func() { _, _ = io.WriteString(s.typist, blockCommands) }()
	} else if len(s.seen) > 4096 {
		s.seen = s.seen[len(s.seen)-len(s.ready)-256:]
	}
	return len(p), nil
}

func medianFloat(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[(len(s)-1)/2]
}
