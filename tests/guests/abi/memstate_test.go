//go:build tamago && arm64 && bulkhead_guest

package abi

import (
	"testing"

	"bulkhead/boot/virt"
	"bulkhead/guest"
	"bulkhead/guest/check"
	"bulkhead/isolation/abi"
)

// TestMemState: GUEST_MEMSTATE reports each page as the ledger holds it.
func TestMemState(t *testing.T) {
	t.Run("SharedAndUnshared", testMemStateShare)
	t.Run("CheckPrivateSeesAShare", testCheckPrivateSeesShare)
	t.Run("Unmapped", testMemStateUnmapped)
}

// testMemStateArguments: a range GUEST_MEMSTATE cannot take is
// INVALID_PARAMETERS; the ledger never refuses a query.
func testMemStateArguments(t *testing.T) {
	p := pages(t, 1)
	const ipaSpace = 1 << 40
	for _, c := range []struct {
		what       string
		ipa, pages uint64
	}{
		{"unaligned", p + 8, 1},
		{"zero pages", p, 0},
		{"overflowing range", ^uint64(0) &^ (virt.PageSize - 1), 2},
		{"overflowing count", p, 1 << 52},
		{"beyond the IPA space", ipaSpace, 1},
		{"across the end of the IPA space", ipaSpace - virt.PageSize, 2},
	} {
		_, _, st := guest.MemStateRun(c.ipa, c.pages)
		check.Status(t, abi.InvalidParameters, st, "%s (%#x, %d pages)", c.what, c.ipa, c.pages)
	}
	memState(t, 0, ipaSpace/virt.PageSize, abi.MemUnmapped, abi.MemStateMaxRun)
}

// memState fails t unless the page at ipa is in state want, with a run of
// wantRun pages when asked about n.
func memState(t *testing.T, ipa, n uint64, want guest.MemState, wantRun uint64) {
	state, run, st := guest.MemStateRun(ipa, n)
	check.Status(t, abi.Success, st, "GUEST_MEMSTATE(%#x, %d)", ipa, n)
	check.Equal(t, want, state, "state of %#x", ipa)
	check.Equal(t, wantRun, run, "run from %#x", ipa)
}

func testMemStateShare(t *testing.T) {
	p := pages(t, 3)
	memState(t, p, 3, abi.MemPrivate, 3)
	require(t, check.Status(t, abi.Success, guest.Share(p+virt.PageSize, 1), "share"))
	memState(t, p, 3, abi.MemPrivate, 1)
	memState(t, p+virt.PageSize, 3, abi.MemShared, 1)
	memState(t, p+2*virt.PageSize, 1, abi.MemPrivate, 1)
	require(t, check.Status(t, abi.Success, guest.Unshare(p+virt.PageSize, 1), "unshare"))
	memState(t, p, 3, abi.MemPrivate, 3)
	require(t, check.Status(t, abi.Success, guest.Relinquish(p+2*virt.PageSize, 1), "relinquish"))
	memState(t, p+2*virt.PageSize, 1, abi.MemUnmapped, 1)
}

// testCheckPrivateSeesAShare shows the SDK's check can fail on target: a
// page the guest shares with the host is not private.
func testCheckPrivateSeesShare(t *testing.T) {
	p := pages(t, 2)
	r := []virt.Region{{Name: "spare", Base: p, Size: 2 * virt.PageSize}}
	check.True(t, guest.CheckPrivate(r) == nil, "fresh spare pages are private")
	require(t, check.Status(t, abi.Success, guest.Share(p+virt.PageSize, 1), "share"))
	err := guest.CheckPrivate(r)
	check.True(t, err != nil, "CheckPrivate with a shared page: %v", err)
	require(t, check.Status(t, abi.Success, guest.Unshare(p+virt.PageSize, 1), "unshare"))
	check.True(t, guest.CheckPrivate(r) == nil, "private again after unshare")
}

// testMemStateUnmapped: device windows and IPAs beyond RAM map no page.
func testMemStateUnmapped(t *testing.T) {
	m := machine(t)
	memState(t, virt.UART.Base, 1, abi.MemUnmapped, 1)
	memState(t, m.RAM.End(), 1000, abi.MemUnmapped, abi.MemStateMaxRun)
}
