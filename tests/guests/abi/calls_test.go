//go:build tamago && arm64 && bulkhead_guest

package abi

import (
	"testing"

	"bulkhead/arch/el1"
	"bulkhead/boot/virt"
	"bulkhead/guest"
	"bulkhead/guest/check"
	"bulkhead/isolation"
	"bulkhead/isolation/abi"
)

// TestArgumentChecks: the guest memory calls and GUEST_MEMSTATE refuse
// arguments they cannot take.
func TestArgumentChecks(t *testing.T) {
	t.Run("Share", argumentChecks(guest.Share))
	t.Run("Unshare", argumentChecks(guest.Unshare))
	t.Run("Relinquish", argumentChecks(relinquishRange))
	t.Run("MemState", testMemStateArguments)
}

func TestVersion(t *testing.T) {
	major, minor, st := guest.Version()
	check.Status(t, abi.Success, st)
	check.Equal(t, uint64(abi.VersionMajor), major, "major")
	check.Equal(t, uint64(abi.VersionMinor), minor, "minor")
}

func TestCallUID(t *testing.T) { check.Equal(t, abi.UIDWords(), guest.CallUID()) }

func TestRevision(t *testing.T) {
	major, minor := guest.Revision()
	check.Equal(t, [2]uint64{abi.RevisionMajor, abi.RevisionMinor}, [2]uint64{major, minor})
}

func TestMemInfoGranule(t *testing.T) {
	g, st := guest.MemGranule()
	check.Status(t, abi.Success, st)
	check.Equal(t, uint64(abi.Granule), g)
}

func TestShareUnshare(t *testing.T) {
	p := pages(t, 2)
	require(t, check.Status(t, abi.Success, guest.Share(p, 2), "share"))
	check.Status(t, abi.Denied, guest.Share(p, 2), "share again")
	check.Status(t, abi.Denied, guest.Share(p+virt.PageSize, 1), "share a page of a shared range")
	// A shared page is still the guest's: it reads and writes it.
	_, okW := el1.ProbeWrite(p, 0x5a5a)
	v, _, okR := el1.ProbeRead(p)
	check.True(t, okW && okR && v == 0x5a5a, "shared page stays readable and writable (write %v, read %v %#x)", okW, okR, v)
	check.Status(t, abi.Success, guest.Unshare(p, 2), "unshare")
	check.Status(t, abi.Denied, guest.Unshare(p, 2), "unshare again")
	check.Status(t, abi.Success, guest.Share(p, 1), "share after unshare")
	check.Status(t, abi.Success, guest.Unshare(p, 1), "unshare")
}

func TestUnshareOfUnshared(t *testing.T) {
	check.Status(t, abi.Denied, guest.Unshare(pages(t, 1), 1))
}

func TestShareThenRelinquishDenied(t *testing.T) {
	p := pages(t, 1)
	require(t, check.Status(t, abi.Success, guest.Share(p, 1), "share"))
	check.Status(t, abi.Denied, guest.Relinquish(p, 1), "relinquish a shared page")
	check.Status(t, abi.Success, guest.Unshare(p, 1), "unshare")
}

// testRelinquishThenTouch gives a page up and touches it: the engine must
// have unmapped it, so the access is a stage-2 fault the engine reflects as
// a synchronous external abort (Arm ARM D23.2.47, DFSC 0b010000).
func TestRelinquishThenTouchAborts(t *testing.T) {
	p := pages(t, 1)
	_, ok := el1.ProbeWrite(p, 0x1234_5678)
	require(t, check.True(t, ok, "write before relinquish"))
	require(t, check.Status(t, abi.Success, guest.Relinquish(p, 1), "relinquish"))
	_, esr, ok := el1.ProbeRead(p)
	check.True(t, !ok, "read after relinquish succeeded")
	check.True(t, ok || externalAbort(esr), "read after relinquish: ESR %#x is not a synchronous external abort", esr)
	esr, ok = el1.ProbeWrite(p, 1)
	check.True(t, !ok, "write after relinquish succeeded")
	check.True(t, ok || externalAbort(esr), "write after relinquish: ESR %#x is not a synchronous external abort", esr)
	check.Status(t, abi.Denied, guest.Relinquish(p, 1), "relinquish again")
	check.Status(t, abi.Denied, guest.Share(p, 1), "share a relinquished page")
	check.Status(t, abi.Denied, guest.Unshare(p, 1), "unshare a relinquished page")
}

// ESR_EL1 of a data abort taken at the same EL (EC 0x25) with DFSC
// "synchronous external abort, not on a translation table walk" (0x10),
// Arm ARM D23.2.47: what the engine injects for a stage-2 fault.
const (
	esrECShift       = 26
	ecDataAbortSame  = 0x25
	dfscMask         = 0x3f
	dfscExternalSync = 0x10
)

func externalAbort(esr uint64) bool {
	return esr>>esrECShift&0x3f == ecDataAbortSame && esr&dfscMask == dfscExternalSync
}

// argumentChecks is the shared validation of the guest memory calls
// (bulkhead-contract: INVALID_PARAMETERS for the arguments, before any
// ledger check; DENIED for pages the caller does not own).
// relinquishRange is guest.RelinquishRange with only its status: the
// argument checks hold for it as for Share and Unshare, which split long
// ranges the same way (guest.Relinquish, one call, refuses a range longer
// than abi.GuestMaxPages: testPageLimit).
func relinquishRange(ipa, pages uint64) abi.Status {
	st, _ := guest.RelinquishRange(ipa, pages)
	return st
}

// testPageLimit: one guest memory call covers at most abi.GuestMaxPages
// pages (ABI v1.1); the SDK splits longer ranges.
func TestPageLimit(t *testing.T) {
	const n = abi.GuestMaxPages + 1
	p := pages(t, n)
	for _, id := range []uint32{abi.GuestShare, abi.GuestUnshare, abi.GuestRelinquish} {
		x := guest.Call([8]uint64{uint64(id), p, n})
		check.Status(t, abi.InvalidParameters, abi.StatusOf(x[0]), "one call %#x of %d pages", id, n)
	}
	check.Status(t, abi.InvalidParameters, guest.Relinquish(p, n), "Relinquish is one call")
	require(t, check.Status(t, abi.Success, guest.Share(p, n), "Share splits"))
	check.Status(t, abi.Success, guest.Unshare(p, n), "Unshare splits")
	st, done := guest.RelinquishRange(p, n)
	check.Status(t, abi.Success, st, "RelinquishRange splits")
	check.Equal(t, uint64(n), done, "pages relinquished")
}

func argumentChecks(call func(ipa, pages uint64) abi.Status) func(*testing.T) {
	return func(t *testing.T) {
		m := machine(t)
		p := pages(t, 1)
		const ipaSpace = 1 << 40
		cases := []struct {
			what       string
			ipa, pages uint64
			want       abi.Status
		}{
			{"unaligned", p + 8, 1, abi.InvalidParameters},
			{"zero pages", p, 0, abi.InvalidParameters},
			{"overflowing range", ^uint64(0) &^ (virt.PageSize - 1), 2, abi.InvalidParameters},
			{"overflowing count", p, 1 << 52, abi.InvalidParameters},
			{"beyond the IPA space", ipaSpace, 1, abi.InvalidParameters},
			{"across the end of the IPA space", ipaSpace - virt.PageSize, 2, abi.InvalidParameters},
			{"unaligned and not owned", m.RAM.End() + 8, 1, abi.InvalidParameters},
			{"past the end of RAM", m.RAM.End(), 1, abi.Denied},
			{"across the end of RAM", m.RAM.End() - virt.PageSize, 2, abi.Denied},
			{"the UART", virt.UART.Base, 1, abi.Denied},
			{"IPA 0", 0, 1, abi.Denied},
			{"the whole IPA space", 0, ipaSpace / virt.PageSize, abi.Denied},
		}
		for _, c := range cases {
			check.Status(t, c.want, call(c.ipa, c.pages), "%s (%#x, %d pages)", c.what, c.ipa, c.pages)
		}
		// Nothing above may have changed the page's state.
		check.Status(t, abi.Denied, guest.Unshare(p, 1), "the test page is still unshared")
	}
}

// marked returns a call with id whose x1..x7 hold recognisable values.
func marked(id uint32) [8]uint64 {
	return [8]uint64{uint64(id), 0x1111, 0x2222, 0x3333, 0x4444, 0x5555, 0x6666, 0x7777}
}

// notSupportedPreserving checks a call failed with NOT_SUPPORTED and left
// x1..x7 as they were (SMCCC 1.2 section 2.6; bulkhead-contract).
func notSupportedPreserving(t *testing.T, id uint32) {
	x := marked(id)
	r := guest.Call(x)
	check.Status(t, abi.NotSupported, abi.StatusOf(r[0]), "id %#x", id)
	check.Equal(t, x[1:], r[1:], "id %#x: x1..x7", id)
}

func TestHostIDsNotSupported(t *testing.T) {
	for _, id := range []uint32{abi.VMCreate, abi.VMDestroy, abi.VCPUInit, abi.VCPURun, abi.VCPUIRQ,
		abi.MemDonate, abi.MemShare, abi.MemUnshare, abi.MemReclaim, abi.MemInfo, abi.FileInfo, abi.FileRead, abi.VCPURunAlone} {
		notSupportedPreserving(t, id)
	}
}

// testUnknownIDs calls ids nobody implements: some the engine answers
// itself (its own blocks, isolation.EngineOwnsID), some it forwards to the
// hypervisor, which offers no services yet and answers NOT_SUPPORTED.
func TestUnknownIDsNotSupported(t *testing.T) {
	ids := []uint32{
		0xC6000001, 0xC60000FF, 0xC6000045, 0x86000000, 0x8600FF02, 0x8600FFFF, // engine's blocks
		0x84000001, 0x84000005, 0x8400001F, // PSCI block: CPU_SUSPEND, MIGRATE, last
		0xC6000100, 0x86001234, 0x82000000, 0xC5000000, 0xC3000000, // forwarded
	}
	owned := 0
	for _, id := range ids {
		if isolation.EngineOwnsID(id) {
			owned++
		}
		notSupportedPreserving(t, id)
	}
	check.True(t, owned > 0 && owned < len(ids), "the ids cover both kinds (%d of %d engine-owned)", owned, len(ids))
}
