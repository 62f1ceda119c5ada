//go:build tamago && arm64 && bulkhead_bench

package main

import (
	"fmt"

	"bulkhead/arch/arm64"
)

// stay measures, in an engine built for benchmarks, how long the engine
// holds the CPU each time it is entered: from the exception that brings
// it to EL2 (a host call, or a guest's trap) to the next return to EL1.
// Under QEMU's -icount shift=0 a counter tick is a fixed number of
// instructions, so the worst stays are instruction counts (the
// bounded-time goal of ABI v1.1: no guest-caused stay above 50,000).
var stay residency

// residency is the state of that measurement, in CNTPCT_EL0 ticks (Arm ARM
// D11.2.1: the physical count, which no CNTVOFF_EL2 of a guest offsets).
type residency struct {
	since     uint64 // when the current stay began; 0 outside one
	fromGuest bool   // the current stay began with a guest's trap
	cause     cause  // what began it
	call      uint64 // EL2 ticks of the current host call so far
	worst     residencyWorst
	// off: BENCH_PROBE stopped the measurement, so that the hot paths
	// are timed as a real engine runs them.
	off bool
}

// cause is what began a stay: the syndrome of the exception and x0 (the
// function id of a call).
type cause struct{ esr, x0, vector uint64 }

// residencyWorst is what BENCH_RESIDENCY reports, and the causes of the
// worst stays for the power-off report.
type residencyWorst struct {
	guest, host, call uint64
	guestWhy, hostWhy cause
}

// enterFromHost starts a stay caused by a host call, and a new call. The
// methods the engine calls are small enough to be inlined, so that a
// stopped probe costs a test at each entry and exit.
func (r *residency) enterFromHost(esr, x0, vector uint64) {
	prof.enter(fromHost, esr, x0, vector)
	if !r.off {
		r.begin(false, esr, x0, vector)
		r.call = 0
	}
}

// enterFromGuest starts a stay caused by a guest's trap.
func (r *residency) enterFromGuest(esr, x0, vector uint64) {
	prof.enter(fromGuest, esr, x0, vector)
	if !r.off {
		r.begin(true, esr, x0, vector)
	}
}

// begin starts a stay now. It is kept out of line so that the methods
// the engine calls stay small enough to inline.
//
//go:noinline
func (r *residency) begin(fromGuest bool, esr, x0, vector uint64) {
	r.since, r.fromGuest, r.cause = arm64.Counter(), fromGuest, cause{esr, x0, vector}
}

// leave ends the current stay: the engine is about to return to EL1.
func (r *residency) leave() {
	prof.leave()
	if r.since != 0 {
		r.end()
	}
}

// end ends the current stay, which began at r.since, and keeps the worst.
// A stay BENCH_PROBE stopped is dropped.
func (r *residency) end() {
	d := arm64.Counter() - r.since
	r.since = 0
	if r.off {
		return
	}
	r.call += d
	switch {
	case r.fromGuest && d > r.worst.guest:
		r.worst.guest, r.worst.guestWhy = d, r.cause
	case !r.fromGuest && d > r.worst.host:
		r.worst.host, r.worst.hostWhy = d, r.cause
	}
	r.worst.call = max(r.worst.call, r.call)
}

// residencyCall answers BENCH_RESIDENCY: the worst stays since the last
// one, which it forgets, and the ESR and x0 of the guest's trap that began
// the worst guest-caused stay (x4, x5) and the vector it came through (x6:
// 0 synchronous, 1 IRQ, 2 FIQ, 3 SError; the ESR is stale unless 0).
func residencyCall(x *[8]uint64) {
	w := stay.worst
	stay.worst = residencyWorst{}
	x[1], x[2], x[3] = w.guest, w.host, w.call
	x[4], x[5], x[6] = w.guestWhy.esr, w.guestWhy.x0, w.guestWhy.vector
}

// residencyReport prints the worst stays of the whole boot (since the last
// BENCH_RESIDENCY) when the host powers the machine off.
func residencyReport() {
	w, f := stay.worst, arm64.CounterFrequency()
	insns := func(t uint64) uint64 { return t * 1_000_000_000 / f }
	fmt.Printf("engine: EL2 residency: worst guest-caused stay %d instructions, worst host-caused stay %d, "+
		"worst host call in all %d (%d, %d, %d ticks at %d Hz; instructions under -icount shift=0)\n",
		insns(w.guest), insns(w.host), insns(w.call), w.guest, w.host, w.call, f)
	fmt.Printf("engine: EL2 residency: worst guest-caused stay began with vector %d ESR %#x x0 %#x, worst host-caused with vector %d ESR %#x x0 %#x\n",
		w.guestWhy.vector, w.guestWhy.esr, w.guestWhy.x0, w.hostWhy.vector, w.hostWhy.esr, w.hostWhy.x0)
}
