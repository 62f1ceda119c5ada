package refinement

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"bulkhead/isolation"
	"bulkhead/isolation/abi"
)

// The reduced exhaustive test: every trace of length up to reducedDepth
// over reducedAlphabet, with two reductions that leave the set of
// compared behaviours the same.
//
//   - State merging. Two traces that leave the engine in the same state
//     (the whole state line, which the model's agreed with at every step)
//     go on the same way, so only the first trace to reach a state is
//     extended. What the line leaves out does not steer a later call over
//     this alphabet: the PC and PSTATE (the fake platform's scripted
//     traps ignore them), the registers of an Off vCPU (VCPU_INIT and
//     CPU_ON set them all), the width of a pending MMIO read (every read
//     of the alphabet has the same width and register), the layout of the
//     stage-2 tables (a 64-table pool never runs out here), and in the
//     model the same register files.
//   - VM symmetry. The alphabet names VM 1 and VM 2 alike (perVM), and
//     the engine and the model treat them alike: VM_CREATE takes the
//     lowest free slot, which with two slots is the free one, or slot 1
//     when both are free, as in the mirror image. So a state and its
//     mirror image (VM ids 1 and 2 swapped in the ledger, the maps and the
//     vCPUs) go on the same way up to the swap, and only one of the two is
//     extended: a state's key is the smaller of its line and its mirror's.
//
// Each step from a kept state is still compared with the model, whatever
// state it reaches: what is cut is only the extension of a state already
// extended.

// reducedDepth is the length of the longest trace.
const reducedDepth = 6

// perVM is the alphabet's part that names a VM: the same calls for each,
// vm appearing only where a VM id goes, so that perVM(2) is perVM(1)'s
// mirror image (a value that differed between them would break the VM
// symmetry).
func perVM(vm uint64) []string {
	rw := uint64(abi.PermR | abi.PermW)
	call := func(id uint32, args ...uint64) []string {
		acts := []string{fmt.Sprintf("set 0 %#x", id)}
		for i, a := range args {
			acts = append(acts, fmt.Sprintf("set %d %#x", i+1, a))
		}
		return append(acts, "hvc")
	}
	return []string{
		host(abi.VMDestroy, vm),
		host(abi.VCPUInit, vm, 0, 0x4000_0000, 0x11),
		host(abi.VCPUIRQ, vm, 0, 33, 1),
		host(abi.VCPUIRQ, vm, 0, 33, 0),
		host(abi.VCPUIRQ, vm, 1, 3, 1),
		host(abi.MemDonate, vm, pa(1), 0, 1, rw),
		host(abi.MemDonate, vm, pa(3), 0x2000, 2, abi.PermR),
		host(abi.MemShare, vm, pa(2), 0x1000, 1, abi.PermR),
		host(abi.MemUnshare, vm, 0x1000, 1),
		// An MMIO read into x3 (4 bytes), answered on the next run.
		runOp(vm, 0, 0x55, "mmio 0x100000 0 2 3"),
		// A forwarded call, answered in x0 on the next run.
		runOp(vm, 0, 0x77, call(0x8600_0123, 9)...),
		runOp(vm, 0, 0, call(abi.GuestShare, 0, 1)...),
		runOp(vm, 0, 0, call(abi.GuestUnshare, 0, 1)...),
		runOp(vm, 0, 0, call(abi.GuestMemState, 0, 3)...),
		runOp(vm, 0, 0, call(abi.GuestRelinquish, 0, 1)...),
		// vCPU 1 started by vCPU 0, then run: it waits, or turns itself
		// Off (a call the engine takes as the context's vCPU's).
		runOp(vm, 0, 0, call(abi.PSCICPUOn64, 1, 0x4000_2000, 0x21)...),
		runOp(vm, 1, 0, "wfi"),
		runOp(vm, 1, 0, call(abi.PSCICPUOff)...),
		// Memory through the stage-2, and an exit that shows a register.
		runOp(vm, 0, 0, "load 0x1000 4", "store 0 4", "mmio 0x100008 1 3 3"),
		runOp(vm, 0, 0, call(abi.PSCISystemOff)...),
	}
}

// reducedAlphabet is the calls the traces are made of: those that name no
// VM, then perVM(1) and perVM(2).
func reducedAlphabet() []string {
	al := []string{
		host(abi.VMCreate, 2),
		host(abi.VMCreate, 1, abi.VMProtected),
		host(abi.MemReclaim, pa(1), 1),
		host(abi.MemReclaim, pa(3), 2),
		write(1, 8),
		write(2, 9),
	}
	return append(append(al, perVM(1)...), perVM(2)...)
}

// mirror returns a with VM ids 1 and 2 swapped.
func mirror(a isolation.Abstract) isolation.Abstract {
	swap := func(id isolation.VMID) isolation.VMID {
		switch id {
		case 1:
			return 2
		case 2:
			return 1
		}
		return id
	}
	m := a
	m.Pages = make([]isolation.AbstractPage, len(a.Pages))
	for i, p := range a.Pages {
		if p.Owner == abi.OwnerVM {
			p.VM = swap(p.VM)
		}
		if p.Shared {
			p.Borrower = swap(p.Borrower)
		}
		m.Pages[i] = p
	}
	m.VMs = []isolation.AbstractVM{a.VMs[1], a.VMs[0]}
	return m
}

// reducedKey is the key of g's state under both reductions.
func reducedKey(g *goRun) string {
	a := g.e.Snapshot()
	k, m := stateLineOf(g, a), stateLineOf(g, mirror(a))
	return min(k, m)
}

// reducedTrace runs one trace on a fresh engine and returns the lines the
// oracle must print for it and the key of the state it ends in.
func reducedTrace(t *testing.T, tr []string) ([][]string, string) {
	g := newGoRun(t)
	want := make([][]string, len(tr))
	for i, op := range tr {
		l, err := g.do(op)
		if err != nil {
			t.Fatal(err)
		}
		want[i] = l
	}
	return want, reducedKey(g)
}

// reducedRun is what exploreReduced did.
type reducedRun struct {
	calls, compared, states int
	kept                    []int // states kept and extended after 0, 1, ... calls
}

// exploreReduced compares every trace of length up to reducedDepth, up to
// the reductions, and returns the first divergence ("" if none) and its
// trace.
func exploreReduced(t *testing.T, o *oracle) (string, []string, reducedRun) {
	al := reducedAlphabet()
	run := reducedRun{calls: len(al)}
	seen := map[string]bool{reducedKey(newGoRun(t)): true}
	frontier := [][]string{nil}
	var trs [][]string
	var wants [][][]string
	flush := func() (string, []string) {
		k, d := compareBatch(t, o, trs, wants)
		var bad []string
		if d != "" {
			bad = trs[k]
		}
		trs, wants = trs[:0], wants[:0]
		return d, bad
	}
	for depth := 1; depth <= reducedDepth; depth++ {
		run.kept = append(run.kept, len(frontier))
		var next [][]string
		for _, rep := range frontier {
			for _, op := range al {
				tr := append(rep[:len(rep):len(rep)], op)
				want, key := reducedTrace(t, tr)
				trs, wants = append(trs, tr), append(wants, want)
				run.compared++
				if len(trs) == batchTraces {
					if d, bad := flush(); d != "" {
						return d, bad, run
					}
				}
				if !seen[key] {
					seen[key] = true
					if depth < reducedDepth {
						next = append(next, tr)
					}
				}
			}
		}
		if d, bad := flush(); d != "" {
			return d, bad, run
		}
		frontier = next
	}
	run.states = len(seen)
	return "", nil, run
}

func TestExhaustiveReduced(t *testing.T) {
	if small.MaxVMs != 2 {
		t.Fatalf("the VM symmetry is that of two slots, not %d", small.MaxVMs)
	}
	o := newOracle(t)
	start := time.Now()
	d, bad, run := exploreReduced(t, o)
	if d != "" {
		saveRegression(t, bad)
		t.Fatalf("diverges at %s", d)
	}
	all := 0.0
	for n := 1; n <= reducedDepth; n++ {
		all += math.Pow(float64(run.calls), float64(n))
	}
	t.Logf("%d calls, every trace of up to %d: %d compared (of %.3g without the reductions) in %v, %d distinct states up to the mirror; states kept after 0..%d calls: %v",
		run.calls, reducedDepth, run.compared, all, time.Since(start).Round(time.Millisecond), run.states, reducedDepth-1, run.kept)
}

// TestPlantedBugsReduced: the reduced exhaustive test finds each bug the
// core can plant that a trace of its alphabet can show (every one whose
// notReduced is empty).
func TestPlantedBugsReduced(t *testing.T) {
	o := newOracle(t)
	for _, b := range plantedBugs() {
		if b.notReduced != "" {
			t.Logf("%s is outside the alphabet: %s (TestPlantedBugsDiverge and TestPlantedBugsStateAware catch it)", b.name, b.notReduced)
			continue
		}
		t.Run(b.name, func(t *testing.T) {
			*b.sw = true
			defer func() { *b.sw = false }()
			d, _, run := exploreReduced(t, o)
			if d == "" {
				t.Fatalf("planted bug %s: no divergence in %d traces", b.name, run.compared)
			}
			t.Logf("after %d traces: %s", run.compared, d[:strings.Index(d, "\ntrace:")])
		})
	}
}
