package main

import (
	"bufio"
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"bulkhead/boot/virt"
	"bulkhead/internal/qemu"
)

// whereHost is the benchmark host that times 160 calls of each hot path
// and stops (cmd/benchhost/samples_trace.go), for bench -where.
var whereHost = qemu.Image{Name: "benchhost-trace", Pkg: "./cmd/benchhost", Text: virt.HostText,
	Tags: []string{"bulkhead_bench_trace"}}

// The functions the trace is cut at: every guest call the engine handles
// in Go goes through guestCallMarker once, and a VCPU_RUN round trip's
// host call through hostCallMarker.
const (
	guestCallMarker = "bulkhead/isolation.(*Engine).guestTrapCall"
	hostCallMarker  = "main.(*machine).hostCall"
)

// maxWindow bounds the windows counted as one hot path: the set-up between
// the paths (VM creation, the 2 MiB donations) is longer.
const maxWindow = 20000

// window is the engine's instructions between two entries to
// guestCallMarker, by function.
type window struct {
	funcs     map[string]int
	total     int
	hostCalls int // entries to hostCallMarker
}

// entries are the addresses of the markers' first instructions: a call
// enters a function there, a return lands after its call instruction.
type entries struct{ guestCall, hostCall uint64 }

// traceWindows reads a QEMU "-d exec,nochain -singlestep" log, one line
// per instruction executed ("Trace N: HOST [FLAGS/PC/...] SYMBOL"), and
// cuts it into windows at each entry to guestCallMarker. What comes
// before the first entry is dropped.
func traceWindows(r io.Reader, at entries) ([]window, error) {
	var out []window
	var cur *window
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		pc, sym, ok := traceLine(sc.Bytes())
		if !ok {
			continue
		}
		if pc == at.guestCall {
			if cur != nil {
				out = append(out, *cur)
			}
			cur = &window{funcs: map[string]int{}}
		}
		if cur == nil {
			continue
		}
		cur.funcs[sym]++
		cur.total++
		if pc == at.hostCall {
			cur.hostCalls++
		}
	}
	if cur != nil {
		out = append(out, *cur)
	}
	return out, sc.Err()
}

// traceLine is the address and the function name ("?" for an address
// QEMU has no symbol for) of an exec log line, or false for any other
// line.
func traceLine(line []byte) (pc uint64, sym string, ok bool) {
	if !bytes.HasPrefix(line, []byte("Trace ")) {
		return 0, "", false
	}
	open, end := bytes.IndexByte(line, '['), bytes.LastIndex(line, []byte("] "))
	if open < 0 || end < open {
		return 0, "?", true
	}
	if fields := bytes.Split(line[open+1:end], []byte("/")); len(fields) > 1 {
		pc, _ = strconv.ParseUint(string(fields[1]), 16, 64)
	}
	sym = strings.TrimSpace(string(line[end+2:]))
	if sym == "" {
		sym = "?"
	}
	return pc, sym, true
}

// pathProfile is one hot path's instructions by function, averaged over
// the calls of the trace.
type pathProfile struct {
	name  string
	calls int
	funcs map[string]float64
	total float64
}

// profilePaths averages the windows of each hot path: a window with one
// host call is a VCPU_RUN round trip (host call, entry, the guest's
// forwarded call, exit), one without is a guest call on the full path;
// windows that span the set-up between the paths are left out.
func profilePaths(ws []window) []pathProfile {
	paths := []pathProfile{{name: "vcpu-run-round-trip"}, {name: "guest-engine-call-full-path"}}
	for _, w := range ws {
		if w.total > maxWindow || w.hostCalls > 1 {
			continue
		}
		p := &paths[1]
		if w.hostCalls == 1 {
			p = &paths[0]
		}
		if p.funcs == nil {
			p.funcs = map[string]float64{}
		}
		p.calls++
		for f, n := range w.funcs {
			p.funcs[f] += float64(n)
		}
	}
	for i := range paths {
		for f := range paths[i].funcs {
			paths[i].funcs[f] /= float64(paths[i].calls)
			paths[i].total += paths[i].funcs[f]
		}
	}
	return paths
}

// layer names the part of the engine a function belongs to.
func layer(sym string) string {
	switch {
	case strings.HasSuffix(sym, ".abi0") || !strings.Contains(sym, "."):
		return "assembly"
	case strings.HasPrefix(sym, "bulkhead/isolation."):
		return "isolation core"
	case strings.HasPrefix(sym, "bulkhead/arch/"):
		return "arch Go"
	case strings.HasPrefix(sym, "main."):
		return "cmd/engine"
	case strings.HasPrefix(sym, "runtime.") || strings.HasPrefix(sym, "sync"):
		return "Go runtime"
	}
	return "other"
}

// printWhere prints each path's instructions by layer and by function.
func printWhere(stdout io.Writer, paths []pathProfile) {
	for _, p := range paths {
		if p.calls == 0 {
			fmt.Fprintf(stdout, "BENCH-WHERE %s: no calls in the trace\n", p.name)
			continue
		}
		fmt.Fprintf(stdout, "BENCH-WHERE %s: %d calls, %.0f engine instructions each\n", p.name, p.calls, p.total)
		layers := map[string]float64{}
		for f, n := range p.funcs {
			layers[layer(f)] += n
		}
		for _, l := range sortedByValue(layers) {
			fmt.Fprintf(stdout, "BENCH-WHERE %s: %6.0f %s\n", p.name, layers[l], l)
		}
		for _, f := range sortedByValue(p.funcs) {
			if p.funcs[f] >= 1 {
				fmt.Fprintf(stdout, "BENCH-WHERE %s:   %6.1f %s\n", p.name, p.funcs[f], f)
			}
		}
	}
}

// sortedByValue returns m's keys, largest value first.
func sortedByValue(m map[string]float64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	return keys
}

// textRange is the address range of an ELF image's code, and the entry
// addresses of the markers.
func textRange(path string) (lo, hi uint64, at entries, err error) {
	f, err := elf.Open(path)
	if err != nil {
		return 0, 0, at, err
	}
	defer f.Close()
	s := f.Section(".text")
	if s == nil {
		return 0, 0, at, fmt.Errorf("%s has no .text", path)
	}
	syms, err := f.Symbols()
	if err != nil {
		return 0, 0, at, err
	}
	for _, sym := range syms {
		switch sym.Name {
		case guestCallMarker:
			at.guestCall = sym.Value
		case hostCallMarker:
			at.hostCall = sym.Value
		}
	}
	if at.guestCall == 0 || at.hostCall == 0 {
		return 0, 0, at, fmt.Errorf("%s has no %s or no %s", path, guestCallMarker, hostCallMarker)
	}
	return s.Addr, s.Addr + s.Size, at, nil
}

// benchWhere runs the trace host on the benchmark engine under QEMU one
// instruction at a time, with every instruction of the engine's code
// logged through a pipe (never to disk: the engine's set-up alone is tens
// of millions of lines), and prints where each hot path's instructions go.
func benchWhere(stdout io.Writer, engine, host string) error {
	lo, hi, at, err := textRange(engine)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "bulkhead-where")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	fifo := filepath.Join(dir, "exec.log")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		return err
	}
	type parsed struct {
		ws  []window
		err error
	}
	done := make(chan parsed, 1)
	go func() {
		f, err := os.Open(fifo)
		if err != nil {
			done <- parsed{err: err}
			return
		}
		defer f.Close()
		ws, err := traceWindows(f, at)
		done <- parsed{ws, err}
	}()
	m := qemu.Machine{Engine: engine, EL1: host, Extra: []string{"-singlestep", "-d", "exec,nochain",
		"-dfilter", fmt.Sprintf("%#x..%#x", lo, hi-1), "-D", fifo}}
	res, runErr := qemu.Run(context.Background(), m, 30*time.Minute, nil, nil)
	unblockReader(fifo)
	p := <-done
	switch {
	case runErr != nil:
		return runErr
	case res.TimedOut:
		return errors.New("bench -where: the traced machine did not finish within 30 minutes")
	case p.err != nil:
		return p.err
	case !strings.Contains(res.Console, "bulkhead bench: done"):
		return fmt.Errorf("bench -where: the traced machine did not finish its benchmarks:\n%s", res.Console)
	}
	printWhere(stdout, profilePaths(p.ws))
	return nil
}

// unblockReader opens and closes the pipe's writing end, so that a reader
// still waiting to open it (QEMU never did) sees its end.
func unblockReader(fifo string) {
	if w, err := os.OpenFile(fifo, os.O_WRONLY|unix.O_NONBLOCK, 0); err == nil {
		w.Close()
	}
}
