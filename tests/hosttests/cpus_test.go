//go:build tamago && arm64

package hosttests

import (
	"encoding/binary"
	"testing"
	"time"

	"bulkhead/arch/arm64"
	"bulkhead/arch/el1"
	"bulkhead/boot/virt"
	"bulkhead/guest"
	"bulkhead/guest/check"
	"bulkhead/isolation/abi"
)

// boardCPUs is how many CPUs the board's device tree lists (QEMU -smp):
// the tree QEMU placed at the start of RAM, which the engine reads too.
func boardCPUs(t *testing.T) int {
	m, err := guest.ReadMachine(el1.PhysBytes, virt.BootBase)
	require(t, check.True(t, err == nil, "device tree: %v", err))
	return m.CPUs
}

// hostCPUCalls are the PSCI calls about the host's CPUs.
var hostCPUCalls = []uint32{abi.PSCICPUOn32, abi.PSCICPUOn64, abi.PSCICPUOff, abi.PSCIAffinityInfo32, abi.PSCIAffinityInfo64}

// cpuWait bounds every wait on another CPU.
const cpuWait = 10 * time.Second

// testHostCPUs: on a board with several CPUs the host starts each one with
// PSCI CPU_ON at an entry in its own memory, and the CPU runs there at EL1
// under the host stage-2 until it calls CPU_OFF; the engine refuses
// targets, entries and states PSCI calls invalid, starting nothing. On a
// board with one CPU the calls stay NOT_SUPPORTED, as ABI v1 says.
func testHostCPUs(t *testing.T) {
	n := boardCPUs(t)
	if n == 1 {
		t.Run("OneCPU", testOneHostCPU)
		return
	}
	t.Run("Features", func(t *testing.T) {
		for _, fid := range hostCPUCalls {
			check.PSCI(t, abi.PSCISuccess, guest.PSCIFeatures(fid), "FEATURES(%#x)", fid)
		}
	})
	t.Run("AffinityInfo", func(t *testing.T) {
		check.PSCI(t, abi.AffinityOn, guest.AffinityInfo(0, 0), "the calling CPU")
		for c := uint64(1); c < uint64(n); c++ {
			check.PSCI(t, abi.AffinityOff, guest.AffinityInfo(c, 0), "CPU %d before CPU_ON", c)
		}
		check.PSCI(t, abi.PSCIInvalidParameters, guest.AffinityInfo(uint64(n), 0), "a CPU the board does not have")
		check.PSCI(t, abi.PSCIInvalidParameters, guest.AffinityInfo(0, 1), "level 1")
	})
	t.Run("StartEach", func(t *testing.T) {
		for c := uint64(1); c < uint64(n); c++ {
			startAndStop(t, c, guest.CPUOn)
		}
	})
	t.Run("StartAgain32", func(t *testing.T) { startAndStop(t, 1, guest.CPUOn32) })
	t.Run("Hammer", testHammer)
	t.Run("BadTargets", func(t *testing.T) { testBadHostTargets(t, uint64(n)) })
	t.Run("BadEntries", testBadHostEntries)
	t.Run("LastCPUStaysOn", func(t *testing.T) {
		check.PSCI(t, abi.PSCIDenied, guest.CPUOff(), "CPU_OFF of the only CPU on")
	})
}

func testOneHostCPU(t *testing.T) {
	for _, fid := range hostCPUCalls {
		check.PSCI(t, abi.PSCINotSupported, guest.PSCIFeatures(fid), "FEATURES(%#x)", fid)
	}
	check.PSCI(t, abi.PSCINotSupported, guest.CPUOn(1, el1.SecondaryEntry(), pages(t, 1)), "CPU_ON")
	check.PSCI(t, abi.PSCINotSupported, guest.AffinityInfo(0, 0), "AFFINITY_INFO")
	check.PSCI(t, abi.PSCINotSupported, guest.CPUOff(), "CPU_OFF")
}

// startAndStop starts CPU c at the mailbox stub (el1.SecondaryEntry): the
// stub proves it ran on CPU c with the context given, and turns the CPU
// off, which AFFINITY_INFO then reports.
func startAndStop(t *testing.T, c uint64, on func(mpidr, entry, context uint64) int64) {
	mb := hostMailbox(t)
	require(t, check.PSCI(t, abi.PSCISuccess, on(c, el1.SecondaryEntry(), mb), "CPU_ON(%d)", c))
	ran := within(func() bool { got, _ := el1.ReadMailbox(mb); return got == mb })
	got, aff0 := el1.ReadMailbox(mb)
	require(t, check.True(t, ran, "CPU %d did not write its context within %v (mailbox %#x holds %#x)", c, cpuWait, mb, got))
	check.Equal(t, c, aff0, "MPIDR_EL1.Aff0 of the started CPU")
	off := within(func() bool { return guest.AffinityInfo(c, 0) == abi.AffinityOff })
	check.True(t, off, "CPU %d still on %v after it called CPU_OFF", c, cpuWait)
}

// hammerGoal is how many times each CPU must have had the page before
// the test stops CPU 1, and hammerWait how long it may take (an engine
// built with bulkhead_ghost checks all its tables after every call).
const (
	hammerGoal = 5
	hammerWait = time.Minute
)

// testHammer: CPU 1 shares a page with VM A and unshares it, over and
// over (hammerCode), while CPU 0 donates the same page to a VM B, destroys
// B and reclaims the page, over and over, until each CPU had the page
// hammerGoal times. The engine serves both CPUs at once; whatever the
// interleaving, a share succeeds only while the page is the host's and
// unshared, so every successful share is followed by a successful unshare,
// and in the end the page is the host's, shared with nobody. An engine
// built with bulkhead_ghost also checks the ledger against the stage-2
// tables after every call of either CPU.
func testHammer(t *testing.T) {
	a := newVM(t, 1)
	page, code, blk := pages(t, 1), pages(t, 1), pages(t, 1)
	writeCode(code, hammerCode())
	b := el1.PhysBytes(blk, virt.PageSize)
	clear(b)
	for off, v := range map[int]uint64{hammerVM: a.id, hammerPA: page, hammerIPA: guestIPA} {
		binary.LittleEndian.PutUint64(b[off:], v)
	}
	arm64.CleanInvalidateDataRange(blk, virt.PageSize)
	require(t, check.PSCI(t, abi.PSCISuccess, guest.CPUOn(1, code, blk), "CPU_ON(1) at the hammer"))
	donations := 0
	for deadline := time.Now().Add(hammerWait); time.Now().Before(deadline); {
		donations += donateAndReclaim(t, page)
		if donations >= hammerGoal && hammerWord(blk, hammerShared) >= hammerGoal {
			break
		}
	}
	setHammerWord(blk, hammerStop, 1)
	done := within(func() bool { return hammerWord(blk, hammerDone) == 1 })
	rounds, shared, unshared := hammerWord(blk, hammerRounds), hammerWord(blk, hammerShared), hammerWord(blk, hammerUnshared)
	t.Logf("CPU 1: %d of %d shares succeeded; CPU 0: %d donations", shared, rounds, donations)
	require(t, check.True(t, done, "CPU 1 did not stop within %v", cpuWait))
	check.Equal(t, shared, unshared, "successful unshares after successful shares")
	check.True(t, shared >= hammerGoal && donations >= hammerGoal,
		"each CPU had the page %d times within %v (shares %d, donations %d)", hammerGoal, hammerWait, shared, donations)
	info, st := guest.MemInfo(page)
	check.Status(t, abi.Success, st, "MEM_INFO")
	check.Equal(t, uint64(abi.OwnerHost), info.Owner, "owner of the page afterwards")
	check.True(t, !info.Shared, "the page is shared with nobody afterwards")
	check.True(t, within(func() bool { return guest.AffinityInfo(1, 0) == abi.AffinityOff }), "CPU 1 turned itself off")
}

// donateAndReclaim tries once to give the page to a fresh VM, and takes
// it back; it returns 1 if the page was donated.
func donateAndReclaim(t *testing.T, page uint64) int {
	id, st := guest.VMCreate(1)
	require(t, check.Status(t, abi.Success, st, "VM_CREATE"))
	donated := guest.MemDonate(id, page, guestIPA, 1, abi.PermAll) == abi.Success
	require(t, check.Status(t, abi.Success, guest.VMDestroy(id), "VM_DESTROY"))
	if !donated {
		return 0
	}
	require(t, check.Status(t, abi.Success, guest.MemReclaim(page, 1), "MEM_RECLAIM of the donated page"))
	return 1
}

// hammerWord reads a word of the hammer block as memory holds it.
func hammerWord(blk uint64, off int) uint64 {
	arm64.CleanInvalidateDataRange(blk+uint64(off), 8)
	return binary.LittleEndian.Uint64(el1.PhysBytes(blk+uint64(off), 8))
}

// setHammerWord writes a word of the hammer block through to memory.
func setHammerWord(blk uint64, off int, v uint64) {
	binary.LittleEndian.PutUint64(el1.PhysBytes(blk+uint64(off), 8), v)
	arm64.CleanInvalidateDataRange(blk+uint64(off), 8)
}

func testBadHostTargets(t *testing.T, n uint64) {
	mb := hostMailbox(t)
	for _, mpidr := range []uint64{n, virt.MaxCPUs, 1 << 8, 1 << 24, 1 << 40} {
		check.PSCI(t, abi.PSCIInvalidParameters, guest.CPUOn(mpidr, el1.SecondaryEntry(), mb), "CPU_ON(%#x)", mpidr)
	}
	check.PSCI(t, abi.PSCIAlreadyOn, guest.CPUOn(0, el1.SecondaryEntry(), mb), "CPU_ON of the calling CPU")
	got, _ := el1.ReadMailbox(mb)
	check.Equal(t, uint64(0), got, "no CPU ran the stub")
}

// testBadHostEntries: entries outside the host's own memory, or not
// aligned, are INVALID_ADDRESS, and the CPU stays off.
func testBadHostEntries(t *testing.T) {
	v := newVM(t, 1)
	donated := pages(t, 1)
	v.donate(t, donated, guestIPA, 1)
	mb := hostMailbox(t)
	for name, entry := range map[string]uint64{
		"engine memory":      virt.Engine.Base + virt.ImageOffset,
		"a page of a VM":     donated,
		"device space":       virt.UART.Base,
		"beyond RAM":         virt.RAM.End(),
		"a misaligned entry": el1.SecondaryEntry() + 2,
	} {
		check.PSCI(t, psciInvalidAddress, guest.CPUOn(1, entry, mb), "CPU_ON(1) at %s (%#x)", name, entry)
	}
	check.PSCI(t, abi.AffinityOff, guest.AffinityInfo(1, 0), "CPU 1 after refused starts")
	got, _ := el1.ReadMailbox(mb)
	check.Equal(t, uint64(0), got, "no CPU ran the stub")
}

// psciInvalidAddress is PSCI's INVALID_ADDRESS (DEN0022 5.2.2).
const psciInvalidAddress int64 = -9

// hostMailbox is a fresh mailbox for el1.SecondaryEntry (el1.ClearMailbox).
func hostMailbox(t *testing.T) uint64 {
	mb := pages(t, 1)
	el1.ClearMailbox(mb)
	return mb
}

// within polls cond until it holds or cpuWait passes.
func within(cond func() bool) bool {
	for deadline := time.Now().Add(cpuWait); time.Now().Before(deadline); {
		if cond() {
			return true
		}
	}
	return cond()
}
