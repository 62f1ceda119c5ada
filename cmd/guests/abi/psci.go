//go:build tamago && arm64

package main

import (
	"encoding/binary"
	"time"

	"bulkhead/arch/arm64"
	"bulkhead/arch/el1"
	"bulkhead/guest"
	"bulkhead/isolation/abi"
)

func init() {
	guest.Test("PSCI/Version", testPSCIVersion)
	guest.Test("PSCI/Features", testPSCIFeatures)
	guest.Test("PSCI/AffinityInfo", testAffinityInfo)
	guest.Test("PSCI/CPUOnSecondary", cpuOnSecondary(guest.CPUOn))
	guest.Test("PSCI/CPUOn32Secondary", cpuOnSecondary(guest.CPUOn32))
	guest.Test("PSCI/CPUOnBadTarget", testCPUOnBadTarget)
	guest.Test("PSCI/CPUOnAlreadyOn", testCPUOnAlreadyOn)
}

// waitFor bounds every wait on another vCPU: the hypervisor's 5 ms slices
// give it the CPU many times over.
const waitFor = 5 * time.Second

func testPSCIVersion(t *guest.T) {
	t.Equal(uint64(abi.PSCIVersion11), guest.PSCIVersion())
}

// testPSCIFeatures: PSCI_FEATURES answers 0 for every function the engine
// implements and NOT_SUPPORTED for the others (DEN0022 5.1.14).
func testPSCIFeatures(t *guest.T) {
	for _, fid := range []uint32{abi.PSCIVersion, abi.PSCIFeatures, abi.PSCICPUOn32, abi.PSCICPUOn64,
		abi.PSCICPUOff, abi.PSCIAffinityInfo32, abi.PSCIAffinityInfo64, abi.PSCISystemOff, abi.PSCISystemReset} {
		t.PSCI(abi.PSCISuccess, guest.PSCIFeatures(fid), "FEATURES(%#x)", fid)
	}
	for _, fid := range []uint32{0x84000001, 0x84000005, 0xC4000001, abi.Version, 0} {
		t.PSCI(abi.PSCINotSupported, guest.PSCIFeatures(fid), "FEATURES(%#x)", fid)
	}
}

func testAffinityInfo(t *guest.T) {
	n := uint64(machine(t).CPUs)
	t.Require(t.True(n >= 2, "the VM has %d vCPUs; give it vcpus=2", n))
	t.PSCI(abi.AffinityOn, guest.AffinityInfo(0, 0), "the calling vCPU")
	for v := uint64(1); v < n; v++ {
		t.PSCI(abi.AffinityOff, guest.AffinityInfo(v, 0), "vCPU %d never started", v)
	}
	t.PSCI(abi.PSCIInvalidParameters, guest.AffinityInfo(n, 0), "a vCPU the VM does not have")
	t.PSCI(abi.PSCIInvalidParameters, guest.AffinityInfo(1<<8, 0), "Aff1 set")
	t.PSCI(abi.PSCIInvalidParameters, guest.AffinityInfo(0, 1), "level 1")
}

// mailbox returns a fresh mailbox for el1.SecondaryEntry, zero and with no
// line of it in the caches, so that no later eviction overwrites what the
// secondary vCPU writes with its MMU off.
func mailbox(t *guest.T) uint64 {
	mb := pages(t, 1)
	clear(el1.PhysBytes(mb, el1.MailboxSize))
	arm64.CleanInvalidateDataRange(mb, el1.MailboxSize)
	return mb
}

// readMailbox returns the mailbox's context and Aff0 words as memory holds
// them (the lines are invalidated first).
func readMailbox(mb uint64) (context, aff0 uint64) {
	arm64.CleanInvalidateDataRange(mb, el1.MailboxSize)
	b := el1.PhysBytes(mb, el1.MailboxSize)
	return binary.LittleEndian.Uint64(b[el1.MailboxContext:]), binary.LittleEndian.Uint64(b[el1.MailboxAff0:])
}

// until polls cond until it holds or waitFor passes.
func until(cond func() bool) bool {
	for deadline := time.Now().Add(waitFor); time.Now().Before(deadline); {
		if cond() {
			return true
		}
	}
	return cond()
}

// cpuOnSecondary starts vCPU 1 at the entry stub with a mailbox as its
// context (DEN0022 5.1.4): the stub proves it ran on vCPU 1 with that
// context, turns itself off, and AFFINITY_INFO then reports it off again.
// Each run starts the vCPU anew, so CPU_ON after CPU_OFF works too.
func cpuOnSecondary(on func(mpidr, entry, context uint64) int64) func(*guest.T) {
	return func(t *guest.T) {
		t.Require(t.True(machine(t).CPUs >= 2, "the VM needs vcpus=2"))
		t.Require(t.PSCI(abi.AffinityOff, guest.AffinityInfo(1, 0), "vCPU 1 before CPU_ON"))
		mb := mailbox(t)
		t.Require(t.PSCI(abi.PSCISuccess, on(1, el1.SecondaryEntry(), mb), "CPU_ON(1)"))
		ran := until(func() bool { c, _ := readMailbox(mb); return c == mb })
		c, aff0 := readMailbox(mb)
		t.Require(t.True(ran, "vCPU 1 did not write its context within %v (mailbox %#x holds %#x)", waitFor, mb, c))
		t.Equal(uint64(1), aff0, "MPIDR_EL1.Aff0 of the started vCPU")
		off := until(func() bool { return guest.AffinityInfo(1, 0) == abi.AffinityOff })
		t.True(off, "vCPU 1 still on %v after it called CPU_OFF", waitFor)
	}
}

func testCPUOnBadTarget(t *guest.T) {
	n := uint64(machine(t).CPUs)
	mb := mailbox(t)
	for _, mpidr := range []uint64{n, 0xff, 1 << 8, 1<<8 | 1, 1 << 16, 1 << 32} {
		t.PSCI(abi.PSCIInvalidParameters, guest.CPUOn(mpidr, el1.SecondaryEntry(), mb), "CPU_ON(%#x)", mpidr)
	}
	c, _ := readMailbox(mb)
	t.Equal(uint64(0), c, "no vCPU ran the stub")
}

// testCPUOnAlreadyOn: the calling vCPU is on, so starting it is refused
// (DEN0022 5.1.4, ALREADY_ON) and it keeps running here.
func testCPUOnAlreadyOn(t *guest.T) {
	mb := mailbox(t)
	t.PSCI(abi.PSCIAlreadyOn, guest.CPUOn(0, el1.SecondaryEntry(), mb), "CPU_ON of the caller")
	t.PSCI(abi.PSCIAlreadyOn, guest.CPUOn32(0, el1.SecondaryEntry(), mb), "CPU_ON (SMC32) of the caller")
	c, _ := readMailbox(mb)
	t.Equal(uint64(0), c, "the stub did not run")
}
