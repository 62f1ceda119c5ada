//go:build tamago && arm64

package main

import (
	"fmt"

	"bulkhead/arch/el1"
	"bulkhead/boot/virt"
	"bulkhead/isolation/abi"
)

// stayTarget is the most instructions one guest-caused stay at EL2 may
// take (ABI v1.1, "Bounded time at EL2").
const stayTarget = 50_000

// stormRuns is how many VCPU_RUNs each adversarial guest gets: enough for
// the relinquish storm to give up all of its RAM and keep asking.
const stormRuns = 400

// stormPA is where the adversarial guests' RAM comes from: 256 MiB into the
// pool, clear of the staging area and of the other benchmark guests.
const stormPA = virt.PoolBase + 0x1000_0000

// stays is what BENCH_RESIDENCY reports: counter ticks, and the ESR, x0 and
// vector of the trap that began the worst guest-caused stay.
type stays struct{ guest, host, call, esr, x0, vector uint64 }

// residency reads the engine's worst stays since the last call and starts
// afresh.
func residency() stays {
	x := call(abi.BenchResidency)
	must("BENCH_RESIDENCY", x)
	return stays{x[1], x[2], x[3], x[4], x[5], x[6]}
}

// hostCost is the engine's time for one host call of pages pages.
type hostCost struct {
	name  string
	ticks uint64
	pages uint64
}

func (h hostCost) String() string {
	insns := instructions(h.ticks, el1Freq)
	return fmt.Sprintf("%s of %d pages %.0f instructions, %.1f per page", h.name, h.pages, insns, insns/float64(h.pages))
}

var el1Freq uint64

// timedHost makes a host call that must succeed and returns the engine's
// time for it.
func timedHost(name string, pages uint64, id uint32, args ...uint64) hostCost {
	residency()
	must(name, call(id, args...))
	return hostCost{name, residency().host, pages}
}

// storm runs an adversarial guest with stormPages pages of RAM for
// stormRuns VCPU_RUNs, each of which must end with an IRQ exit (the work
// budget, or the host's timer), and returns the worst stays it caused and
// the host's calls that gave it its RAM and took it back.
func storm(program []byte) (stays, []hostCost) {
	clear(el1.PhysBytes(stormPA, virt.PageSize))
	copy(el1.PhysBytes(stormPA, virt.PageSize), program)
	x := call(abi.VMCreate, 1)
	must("VM_CREATE", x)
	id := x[1]
	donate := timedHost("MEM_DONATE", stormPages, abi.MemDonate, id, stormPA, guestBase, stormPages, abi.PermAll)
	must("VCPU_INIT", call(abi.VCPUInit, id, 0, guestBase, 0))
	residency()
	for range stormRuns {
		x := call(abi.VCPURun, id, 0, 0)
		must("VCPU_RUN", x)
		if abi.Exit(x[1]) != abi.ExitIRQ {
			fail(fmt.Sprintf("adversarial guest exited with %s (%#x)", abi.Exit(x[1]), x[2]))
		}
	}
	worst := residency()
	destroy := timedHost("VM_DESTROY", stormPages, abi.VMDestroy, id)
	reclaim := timedHost("MEM_RECLAIM", stormPages, abi.MemReclaim, stormPA, stormPages)
	return worst, []hostCost{donate, destroy, reclaim}
}

// budgetBench prints, for each adversarial guest, the worst stay at EL2
// one of its traps caused and the most EL2 time one VCPU_RUN of it took;
// then the worst over all of them against stayTarget; then the cost per
// page of the host's largest calls.
func budgetBench(freq uint64) {
	el1Freq = freq
	guests := []struct {
		name    string
		program []byte
	}{
		{"share-unshare", shareStormGuest()},
		{"relinquish", relinquishStormGuest()},
		{"trap-storm", trapStormGuest()},
	}
	var worst uint64
	var costs []hostCost
	for _, g := range guests {
		s, c := storm(g.program)
		worst = max(worst, s.guest)
		costs = append(costs, c...)
		fmt.Printf("BENCH storm-%s: worst guest-caused stay at EL2 %.0f instructions (vector %d, ESR %#x, x0 %#x), "+
			"worst VCPU_RUN at EL2 in all %.0f (%d runs, %d pages of RAM)\n",
			g.name, instructions(s.guest, freq), s.vector, s.esr, s.x0, instructions(s.call, freq), stormRuns, stormPages)
	}
	verdict := "within"
	if instructions(worst, freq) > stayTarget {
		verdict = "OVER"
	}
	fmt.Printf("BENCH el2-residency: worst guest-caused stay %.0f instructions over %d adversarial guests (target <= %d, %s)\n",
		instructions(worst, freq), len(guests), stayTarget, verdict)
	for _, name := range []string{"MEM_DONATE", "VM_DESTROY", "MEM_RECLAIM"} {
		var w hostCost
		for _, c := range costs {
			if c.name == name && c.ticks >= w.ticks {
				w = c
			}
		}
		fmt.Printf("BENCH host-largest-call: %s (worst of %d)\n", w, len(guests))
	}
}
