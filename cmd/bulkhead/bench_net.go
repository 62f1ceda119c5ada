package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"time"

	"bulkhead/boot/virt"
	"bulkhead/internal/qemu"
)

// netRuns is how many pairs of boots each network throughput figure is
// the median of.
const netRuns = 3

// netMiB is how much one VM sends the other per boot. busybox nc writes
// small chunks (frames of about 1.2 KB), so the transfer is bound by the
// cost of each segment (exits and interrupts under bulkhead), which is
// what is compared; 4 MiB take a few seconds directly, and up to about
// twenty under bulkhead.
const netMiB = 4

// netArgs are the kernel command lines of the receiving and the sending
// VM: /virtio-check (scripts/guest-images) brings eth0 up, and with
// bulkhead.netbench the receiver counts what arrives on TCP port 5001
// while the sender, once the receiver answers a ping, pipes netMiB MiB of
// zeros into busybox nc and prints the guest's uptime around it.
var netArgs = [2]string{
	fmt.Sprintf("console=ttyAMA0 bulkhead.virtio bulkhead.ip=10.0.2.1 bulkhead.netbench=%d panic=-1", netMiB),
	fmt.Sprintf("console=ttyAMA0 bulkhead.virtio bulkhead.ip=10.0.2.2 bulkhead.peer=10.0.2.1 bulkhead.netbench=%d panic=-1", netMiB),
}

var (
	netSent     = regexp.MustCompile(`NET-BENCH sent (\d+) MiB from uptime ([0-9.]+) to ([0-9.]+)`)
	netReceived = regexp.MustCompile(`NET-BENCH received (\d+) bytes`)
	// netCPU is the sender's /proc/stat cpu line before and after: user,
	// nice, system, idle, iowait, irq and softirq, in 10 ms ticks.
	netCPU = regexp.MustCompile(`NET-BENCH cpu (before|after) cpu +(\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)`)
)

// netRun is one transfer: how long it took, and how much of that the
// sender's CPU was busy (user, system, interrupts), both in seconds.
type netRun struct {
	secs, busy float64
}

// benchVirtioNet measures TCP throughput between two Linux VMs: Debian's
// kernel with the initramfs of scripts/guest-images, as two shared-memory
// VMs of one bulkhead run joined by the hypervisor's switch, and as two
// QEMU processes with QEMU's own virtio-net-device joined by a stream
// socket (-netdev stream over a Unix socket); it prints MB/s (10^6 bytes)
// for each and their ratio, median of netRuns runs each. A failure is
// printed as a FAILED line: the figures before it stand.
func benchVirtioNet(stdout io.Writer, root string, paths map[string]string) {
	if err := benchNet(stdout, root, paths); err != nil {
		fmt.Fprintf(stdout, "NET benchmark FAILED: %v\n", err)
	}
}

func benchNet(stdout io.Writer, root string, paths map[string]string) error {
	dir := filepath.Join(root, ".cache", "guest-images")
	kernel, initrd := filepath.Join(dir, "Image"), filepath.Join(dir, "initramfs.cpio")
	check, err := os.ReadFile(filepath.Join(dir, "virtio-check"))
	if err != nil || !bytes.Contains(check, []byte("NET-BENCH cpu")) {
		fmt.Fprintln(stdout, "NET benchmark skipped: run scripts/guest-images first (its /virtio-check needs bulkhead.netbench and the NET-BENCH cpu lines)")
		return nil
	}
	tmp, err := os.MkdirTemp("", "bulkhead-bench-net-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	guests, err := netGuests(tmp, kernel, initrd, paths)
	if err != nil {
		return err
	}
	var g, d [2][]float64 // seconds taken and seconds the sender was busy
	for run := 0; run < netRuns; run++ {
		r, err := netDirect(tmp, kernel, initrd)
		if err != nil {
			return err
		}
		d[0], d[1] = append(d[0], r.secs), append(d[1], r.busy)
		if r, err = netBulkhead(guests); err != nil {
			return err
		}
		g[0], g[1] = append(g[0], r.secs), append(g[1], r.busy)
	}
	mb := float64(netMiB<<20) / 1e6
	dm, gm := mb/medianFloat(d[0]), mb/medianFloat(g[0])
	fmt.Fprintf(stdout, "NET TCP transfer of %d MiB between two VMs with busybox nc: directly (two QEMUs, virtio-net-device) %.2f MB/s, "+
		"under bulkhead (virtio-net, the hypervisor's switch) %.2f MB/s, ratio %.2f (median of %d runs each); "+
		"the sender's CPU busy %.2f s directly, %.2f s under bulkhead\n",
		netMiB, dm, gm, gm/dm, netRuns, medianFloat(d[1]), medianFloat(g[1]))
	return nil
}

// netGuests is the bulkhead machine with the two VMs, shared-memory, with
// an entropy seed (so that /virtio-check finds its entropy device).
func netGuests(tmp, kernel, initrd string, paths map[string]string) (qemu.Machine, error) {
	p := virt.FwCfgGuestPrefix
	m := qemu.Machine{Engine: paths["engine"], EL1: paths["hypervisor"], Files: map[string]string{}}
	for i, cmdline := range netArgs {
		n := strconv.Itoa(i)
		args := filepath.Join(tmp, n+".args")
		text := fmt.Sprintf("vcpus=1\nram=256\nmemory=shared\ntimeout=240\nbootargs=%s\n", cmdline)
		if err := os.WriteFile(args, []byte(text), 0o644); err != nil {
			return m, err
		}
		m.Files[p+n], m.Files[p+n+".initrd"], m.Files[p+n+".args"] = kernel, initrd, args
	}
	seed := make([]byte, 32)
	if _, err := rand.Read(seed); err != nil {
		return m, err
	}
	m.Files[p+"entropy"] = filepath.Join(tmp, "entropy")
	return m, os.WriteFile(m.Files[p+"entropy"], seed, 0o644)
}

// netBulkhead runs the bulkhead machine once.
func netBulkhead(m qemu.Machine) (netRun, error) {
	res, err := qemu.Run(context.Background(), m, 5*time.Minute, nil, nil)
	if err != nil {
		return netRun{}, err
	}
	r, err := parseNet(res.Console, res.Console)
	if err != nil {
		return r, fmt.Errorf("under bulkhead: %w (timed out %v):\n%s", err, res.TimedOut, res.Console)
	}
	return r, nil
}

// netDirect runs the pair directly under QEMU once: the receiver
// listens on a Unix stream socket for its network, the sender connects to
// it once it exists. Both have QEMU's virtio-rng-device too, as the VMs
// under bulkhead have the hypervisor's.
func netDirect(tmp, kernel, initrd string) (netRun, error) {
	sock := filepath.Join(tmp, "net.sock")
	_ = os.Remove(sock)
	machine := func(i int, server string) qemu.Machine {
		return qemu.Machine{Engine: kernel, Extra: []string{"-initrd", initrd, "-append", netArgs[i],
			"-device", "virtio-rng-device",
			"-netdev", "stream,id=net0,server=" + server + ",addr.type=unix,addr.path=" + sock,
			"-device", fmt.Sprintf("virtio-net-device,netdev=net0,mac=52:54:00:00:00:%02x", i+1)}}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type result struct {
		res qemu.Result
		err error
	}
	receiver := make(chan result, 1)
	go func() {
		res, err := qemu.Run(ctx, machine(0, "on"), 5*time.Minute, nil, nil)
		receiver <- result{res, err}
	}()
	if err := waitForSocket(sock, 30*time.Second); err != nil {
		cancel()
		r := <-receiver
		return netRun{}, fmt.Errorf("directly: %w (%v):\n%s", err, r.err, r.res.Console)
	}
	sender, err := qemu.Run(ctx, machine(1, "off"), 5*time.Minute, nil, nil)
	// The receiver powers off once the sender's connection closes; one
	// that waits on (the sender failed) is stopped rather than waited for.
	var r result
	select {
	case r = <-receiver:
	case <-time.After(time.Minute):
		cancel()
		r = <-receiver
	}
	if err = errors.Join(err, r.err); err != nil {
		return netRun{}, err
	}
	run, err := parseNet(sender.Console, r.res.Console)
	if err != nil {
		return run, fmt.Errorf("directly: %w:\nsender:\n%s\nreceiver:\n%s", err, sender.Console, r.res.Console)
	}
	return run, nil
}

// waitForSocket waits until QEMU has made its listening socket.
func waitForSocket(path string, limit time.Duration) error {
	for end := time.Now().Add(limit); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if st, err := os.Stat(path); err == nil && st.Mode()&os.ModeSocket != 0 {
			return nil
		}
	}
	return fmt.Errorf("QEMU made no socket %s in %v", path, limit)
}

// parseNet reads the sender's console for how long the transfer took and
// how busy its CPU was, after checking on the receiver's that every byte
// arrived.
func parseNet(sender, receiver string) (netRun, error) {
	s := netSent.FindStringSubmatch(sender)
	if s == nil {
		return netRun{}, errors.New("no NET-BENCH sent line")
	}
	a, errA := strconv.ParseFloat(s[2], 64)
	b, errB := strconv.ParseFloat(s[3], 64)
	if errA != nil || errB != nil || b <= a {
		return netRun{}, fmt.Errorf("the transfer ran from uptime %s to %s", s[2], s[3])
	}
	r := netReceived.FindStringSubmatch(receiver)
	if r == nil {
		return netRun{}, errors.New("no NET-BENCH received line")
	}
	mib, _ := strconv.Atoi(s[1])
	if got, _ := strconv.Atoi(r[1]); got != mib<<20 {
		return netRun{}, fmt.Errorf("%d MiB sent, %s bytes received", mib, r[1])
	}
	busy, err := busyTicks(sender)
	if err != nil {
		return netRun{}, err
	}
	return netRun{secs: b - a, busy: float64(busy) / 100}, nil
}

// busyTicks is how many 10 ms ticks the sender's CPU spent in user,
// nice, system, irq and softirq time between its two cpu lines.
func busyTicks(sender string) (uint64, error) {
	var ticks [2]uint64
	seen := 0
	for _, m := range netCPU.FindAllStringSubmatch(sender, -1) {
		i := map[string]int{"before": 0, "after": 1}[m[1]]
		ticks[i] = 0
		for _, f := range []int{2, 3, 4, 7, 8} { // user nice system irq softirq
			n, _ := strconv.ParseUint(m[f], 10, 64)
			ticks[i] += n
		}
		seen |= 1 << i
	}
	if seen != 3 || ticks[1] < ticks[0] {
		return 0, errors.New("no NET-BENCH cpu lines before and after, in order")
	}
	return ticks[1] - ticks[0], nil
}
