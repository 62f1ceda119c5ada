//go:build tamago && arm64

package main

import (
	"encoding/binary"
	"fmt"

	"bulkhead/arch/arm64"
	"bulkhead/arch/el1"
	"bulkhead/boot/virt"
	"bulkhead/isolation/abi"
)

// Each benchmark guest gets one 2 MiB block of the pool.
const guestPages = virt.BlockSize / virt.PageSize

func main() {
	freq := arm64.CounterFrequency()
	fmt.Printf("bulkhead bench: counter %d Hz, %d samples per path\n", freq, samples)
	if x := call(abi.BenchOn); abi.StatusOf(x[0]) != abi.Success {
		fail("the engine has no benchmark baselines (build it with -tags bulkhead_bench)")
	}
	call(abi.BenchOff)
	// The hot paths are timed without the residency probe, which a real
	// engine does not have; the storms below measure with it.
	probe(false)
	fmt.Println(result{"host-null-hypercall", hostNull(), baseline(abi.BenchNull), freq, 3})
	fmt.Println(result{"vcpu-run-round-trip", roundTrip(), baseline(abi.BenchSwitch), freq, 2})
	m, full, b := guestNull()
	fmt.Println(result{"guest-null-hypercall", m, b, freq, 3})
	fmt.Println(result{"guest-engine-call-full-path", full, b, freq, 50})
	if hotPathsOnly {
		fmt.Println("bulkhead bench: done")
		el1.PowerOff()
	}
	probe(true)
	budgetBench(freq)
	timerDirect()
	probe(false)
	severalCPUs(freq)
	fmt.Println("bulkhead bench: done")
	el1.PowerOff()
}

// severalCPUs times the host's null call and the VCPU_RUN round trip again
// once the host has started a second CPU (and that CPU has stopped): from
// then on every entry to EL1 hands the engine's thread over (arch/el2,
// "Several CPUs"). On a board with one CPU it prints nothing.
func severalCPUs(freq uint64) {
	if int64(call(abi.PSCIFeatures, uint64(abi.PSCICPUOn64))[0]) != abi.PSCISuccess {
		return
	}
	mb := virt.Pool.Base + 8*virt.BlockSize
	clear(el1.PhysBytes(mb, el1.MailboxSize))
	arm64.CleanInvalidateDataRange(mb, el1.MailboxSize)
	if int64(call(abi.PSCICPUOn64, 1, el1.SecondaryEntry(), mb)[0]) != abi.PSCISuccess {
		fail("CPU_ON(1)")
	}
	for int64(call(abi.PSCIAffinityInfo64, 1, 0)[0]) != abi.AffinityOff {
	}
	fmt.Println(result{"host-null-hypercall-several-cpus", hostNull(), baseline(abi.BenchNull), freq, 3})
	fmt.Println(result{"vcpu-run-round-trip-several-cpus", roundTrip(), baseline(abi.BenchSwitch), freq, 2})
}

// probe starts or stops the engine's residency probe (BENCH_PROBE).
func probe(on bool) {
	arg := uint64(0)
	if on {
		arg = 1
	}
	if x := call(abi.BenchProbe, arg); abi.StatusOf(x[0]) != abi.Success {
		fail("BENCH_PROBE")
	}
}

func call(id uint32, args ...uint64) [8]uint64 {
	x := [8]uint64{uint64(id)}
	copy(x[1:], args)
	el1.Call(&x)
	return x
}

func fail(msg string) {
	fmt.Println("bulkhead bench: FAILED:", msg)
	el1.PowerOff()
}

// timed returns n samples, each the ticks of batch calls of x.
func timed(n int, x [8]uint64) []uint64 {
	out := make([]uint64, n)
	for i := range out {
		out[i] = el1.TimedCalls(&x, batch)
	}
	return out
}

func hostNull() []uint64 { return timed(samples, [8]uint64{uint64(abi.Version)}) }

// baseline times id with the engine's baseline vector table installed.
func baseline(id uint32) []uint64 {
	call(abi.BenchOn)
	defer call(abi.BenchOff)
	return timed(samples, [8]uint64{uint64(id)})
}

// vm is a benchmark VM: one vCPU, one 2 MiB block holding a program.
type vm struct{ id, pa uint64 }

func newVM(slot int, program []byte) vm {
	pa := virt.Pool.Base + uint64(slot)*virt.BlockSize
	mem := el1.PhysBytes(pa, virt.BlockSize)
	clear(mem)
	copy(mem, program)
	x := call(abi.VMCreate, 1)
	v := vm{id: x[1], pa: pa}
	must("VM_CREATE", x)
	must("MEM_DONATE", call(abi.MemDonate, v.id, pa, guestBase, guestPages, abi.PermAll))
	must("VCPU_INIT", call(abi.VCPUInit, v.id, 0, guestBase, 0))
	return v
}

func (v vm) destroy() {
	must("VM_DESTROY", call(abi.VMDestroy, v.id))
	must("MEM_RECLAIM", call(abi.MemReclaim, v.pa, guestPages))
}

func must(name string, x [8]uint64) {
	if st := abi.StatusOf(x[0]); st != abi.Success {
		fail(fmt.Sprintf("%s: %s", name, st))
	}
}

// runUntilCall runs v until it exits with CALL.
func (v vm) runUntilCall() {
	for {
		x := call(abi.VCPURun, v.id, 0, 0)
		must("VCPU_RUN", x)
		switch abi.Exit(x[1]) {
		case abi.ExitCall:
			return
		case abi.ExitIRQ:
		default:
			fail(fmt.Sprintf("unexpected exit %s (%#x)", abi.Exit(x[1]), x[2]))
		}
	}
}

func roundTrip() []uint64 {
	v := newVM(0, roundTripGuest())
	defer v.destroy()
	return timed(samples, [8]uint64{uint64(abi.VCPURun), v.id, 0, 0})
}

// guestNull lets the self-timing guest measure GUEST_MEMINFO and
// PSCI_FEATURES, then, with the baseline table installed, BENCH_NULL; it
// reads the three series from the pages the guest shares.
func guestNull() (measured, fullPath, base []uint64) {
	v := newVM(1, selfTimingGuest(samples))
	v.runUntilCall()
	call(abi.BenchOn)
	v.runUntilCall()
	call(abi.BenchOff)
	raw := el1.PhysBytes(v.pa+resultOffset, guestPhases*8*samples)
	all := make([]uint64, guestPhases*samples)
	for i := range all {
		all[i] = binary.LittleEndian.Uint64(raw[8*i:])
	}
	v.destroy()
	return all[:samples], all[samples : 2*samples], all[2*samples:]
}
