//go:build tamago && arm64 && bulkhead_guest

package abi

import (
	"testing"

	"time"

	"bulkhead/arch/el1"
	"bulkhead/guest"
	"bulkhead/guest/check"
	"bulkhead/isolation/abi"
)

// TestPSCI: the PSCI calls the engine implements for its guests.
func TestPSCI(t *testing.T) {
	t.Run("Version", testPSCIVersion)
	t.Run("Features", testPSCIFeatures)
	t.Run("AffinityInfo", testAffinityInfo)
	t.Run("CPUOnSecondary", cpuOnSecondary(guest.CPUOn))
	t.Run("CPUOn32Secondary", cpuOnSecondary(guest.CPUOn32))
	t.Run("CPUOnBadTarget", testCPUOnBadTarget)
	t.Run("CPUOnAlreadyOn", testCPUOnAlreadyOn)
}

// waitFor bounds every wait on another vCPU: the hypervisor's 5 ms slices
// give it the CPU many times over.
const waitFor = 5 * time.Second

func testPSCIVersion(t *testing.T) {
	check.Equal(t, uint64(abi.PSCIVersion11), guest.PSCIVersion())
}

// testPSCIFeatures: PSCI_FEATURES answers 0 for every function the engine
// implements and NOT_SUPPORTED for the others (DEN0022 5.1.14).
func testPSCIFeatures(t *testing.T) {
	for _, fid := range []uint32{abi.PSCIVersion, abi.PSCIFeatures, abi.PSCICPUOn32, abi.PSCICPUOn64,
		abi.PSCICPUOff, abi.PSCIAffinityInfo32, abi.PSCIAffinityInfo64, abi.PSCISystemOff, abi.PSCISystemReset} {
		check.PSCI(t, abi.PSCISuccess, guest.PSCIFeatures(fid), "FEATURES(%#x)", fid)
	}
	for _, fid := range []uint32{0x84000001, 0x84000005, 0xC4000001, abi.Version, 0} {
		check.PSCI(t, abi.PSCINotSupported, guest.PSCIFeatures(fid), "FEATURES(%#x)", fid)
	}
}

func testAffinityInfo(t *testing.T) {
	n := uint64(machine(t).CPUs)
	require(t, check.True(t, n >= 2, "the VM has %d vCPUs; give it vcpus=2 (bulkhead test -vcpus 2)", n))
	check.PSCI(t, abi.AffinityOn, guest.AffinityInfo(0, 0), "the calling vCPU")
	for v := uint64(1); v < n; v++ {
		check.PSCI(t, abi.AffinityOff, guest.AffinityInfo(v, 0), "vCPU %d never started", v)
	}
	check.PSCI(t, abi.PSCIInvalidParameters, guest.AffinityInfo(n, 0), "a vCPU the VM does not have")
	check.PSCI(t, abi.PSCIInvalidParameters, guest.AffinityInfo(1<<8, 0), "Aff1 set")
	check.PSCI(t, abi.PSCIInvalidParameters, guest.AffinityInfo(0, 1), "level 1")
}

// mailbox returns a fresh mailbox for el1.SecondaryEntry (el1.ClearMailbox).
func mailbox(t *testing.T) uint64 {
	mb := pages(t, 1)
	el1.ClearMailbox(mb)
	return mb
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
func cpuOnSecondary(on func(mpidr, entry, context uint64) int64) func(*testing.T) {
	return func(t *testing.T) {
		require(t, check.True(t, machine(t).CPUs >= 2, "the VM needs vcpus=2"))
		require(t, check.PSCI(t, abi.AffinityOff, guest.AffinityInfo(1, 0), "vCPU 1 before CPU_ON"))
		mb := mailbox(t)
		require(t, check.PSCI(t, abi.PSCISuccess, on(1, el1.SecondaryEntry(), mb), "CPU_ON(1)"))
		ran := until(func() bool { c, _ := el1.ReadMailbox(mb); return c == mb })
		c, aff0 := el1.ReadMailbox(mb)
		require(t, check.True(t, ran, "vCPU 1 did not write its context within %v (mailbox %#x holds %#x)", waitFor, mb, c))
		check.Equal(t, uint64(1), aff0, "MPIDR_EL1.Aff0 of the started vCPU")
		off := until(func() bool { return guest.AffinityInfo(1, 0) == abi.AffinityOff })
		check.True(t, off, "vCPU 1 still on %v after it called CPU_OFF", waitFor)
	}
}

func testCPUOnBadTarget(t *testing.T) {
	n := uint64(machine(t).CPUs)
	mb := mailbox(t)
	for _, mpidr := range []uint64{n, 0xff, 1 << 8, 1<<8 | 1, 1 << 16, 1 << 32} {
		check.PSCI(t, abi.PSCIInvalidParameters, guest.CPUOn(mpidr, el1.SecondaryEntry(), mb), "CPU_ON(%#x)", mpidr)
	}
	c, _ := el1.ReadMailbox(mb)
	check.Equal(t, uint64(0), c, "no vCPU ran the stub")
}

// testCPUOnAlreadyOn: the calling vCPU is on, so starting it is refused
// (DEN0022 5.1.4, ALREADY_ON) and it keeps running here.
func testCPUOnAlreadyOn(t *testing.T) {
	mb := mailbox(t)
	check.PSCI(t, abi.PSCIAlreadyOn, guest.CPUOn(0, el1.SecondaryEntry(), mb), "CPU_ON of the caller")
	check.PSCI(t, abi.PSCIAlreadyOn, guest.CPUOn32(0, el1.SecondaryEntry(), mb), "CPU_ON (SMC32) of the caller")
	c, _ := el1.ReadMailbox(mb)
	check.Equal(t, uint64(0), c, "the stub did not run")
}
