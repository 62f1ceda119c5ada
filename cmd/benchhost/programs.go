// Command benchhost is an EL1 image that measures the engine's hot paths in
// instructions, each next to a hand-written assembly baseline measured in
// the same run: a host null hypercall (VERSION) against an HVC that returns
// at once, a VCPU_RUN round trip against the same state switch done in
// assembly, a guest null hypercall (GUEST_MEMINFO, which the engine's
// vector answers in place) and a guest call the engine answers through its
// full path (PSCI_FEATURES), each against an HVC that returns at once (a
// target of 50 times it is the 600 instructions asked of an engine-handled
// guest call); then the worst stay at EL2 that adversarial guests cause
// and the cost per page of the host's largest calls (budget.go, storms.go);
// last, the timer guest's wake-up loop run here directly (timer.go), which
// make bench sets beside the same loop in a VM.
// It needs an engine built with the bulkhead_bench tag and
// QEMU's -icount shift=0, under which one instruction is one nanosecond of
// virtual time.
package main

import (
	"bulkhead/internal/a64"
	"bulkhead/isolation/abi"
)

// forwardedID is a vendor hypervisor call the engine does not implement, so
// a guest making it exits to the host with CALL.
const forwardedID = 0xC600_0100

// Guest RAM layout of the benchmark guests (IPA).
const (
	guestBase    = 0x4000_0000
	resultOffset = 0x1000
)

// roundTripGuest exits to the host with a forwarded call, forever: each
// VCPU_RUN enters it and returns with CALL straight away.
func roundTripGuest() []byte {
	var p a64.Program
	p.Label("loop")
	p.Emit(a64.MOV64(0, forwardedID)...)
	p.Emit(a64.HVC(0))
	p.Emit(a64.B(p.Offset("loop")))
	return p.Bytes()
}

// selfTimingGuest times n calls of GUEST_MEMINFO (which the engine's
// vector answers in place), then n calls of PSCI_FEATURES (which the
// engine answers through its full path: registers saved, the isolation
// core's dispatcher, the VCPU_RUN loop), exits with a forwarded call,
// times n calls of BENCH_NULL (the host installs the baseline table
// before it resumes the guest), shares the results with the host and
// exits again. Each sample is the virtual-counter difference around one
// HVC, stored from resultOffset on.
func selfTimingGuest(n uint32) []byte {
	var p a64.Program
	p.Emit(a64.MOV64(20, guestBase+resultOffset)...)
	timeLoop(&p, "memInfo", n, abi.GuestMemInfo)
	timeLoop(&p, "features", n, abi.PSCIFeatures)
	exit(&p)
	timeLoop(&p, "null", n, abi.BenchNull)
	// One GUEST_SHARE covers at most abi.GuestMaxPages pages (ABI v1.1).
	for done := uint32(0); done < resultPages(n); done += abi.GuestMaxPages {
		p.Emit(a64.MOV64(0, uint64(abi.GuestShare))...)
		p.Emit(a64.MOV64(1, guestBase+resultOffset+uint64(done)*4096)...)
		p.Emit(a64.MOV64(2, uint64(min(resultPages(n)-done, abi.GuestMaxPages)))...)
		p.Emit(a64.HVC(0))
	}
	exit(&p)
	p.Label("halt")
	p.Emit(a64.B(0))
	return p.Bytes()
}

// timeLoop emits n samples, each the counter difference around batch
// calls of id: { isb; x9 = cntvct; batch times { x0 = id; hvc };
// isb; x10 = cntvct - x9; *x20++ = x10 }. The counter is kept in x9 and x10,
// which SMCCC calls preserve (results come back in x0..x7).
func timeLoop(p *a64.Program, label string, n uint32, id uint32) {
	p.Emit(a64.MOV64(19, uint64(n))...)
	p.Label(label)
	p.Emit(a64.ISB, a64.MRSCNTVCT(9))
	p.Emit(a64.MOV64(21, batch)...)
	p.Label(label + "-batch")
	p.Emit(a64.MOV64(0, uint64(id))...)
	p.Emit(a64.HVC(0), a64.SUBSImm(21, 21, 1))
	p.Emit(a64.BNE(p.Offset(label + "-batch")))
	p.Emit(a64.ISB, a64.MRSCNTVCT(10), a64.SUB(10, 10, 9), a64.STRPost(10, 20, 8))
	p.Emit(a64.SUBSImm(19, 19, 1))
	p.Emit(a64.BNE(p.Offset(label)))
}

// batch is how many calls one sample times: the counter ticks once every
// 16 instructions, so a single call would be measured to the nearest 16.
const batch = 16

func exit(p *a64.Program) {
	p.Emit(a64.MOV64(0, forwardedID)...)
	p.Emit(a64.HVC(0))
}

// guestPhases is how many series of samples the self-timing guest takes.
const guestPhases = 3

// resultPages is how many pages hold the samples of every phase.
func resultPages(n uint32) uint32 { return (guestPhases*8*n + 4095) / 4096 }
