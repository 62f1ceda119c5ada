//go:build tamago && arm64

package hosttests

import (
	"testing"

	"time"

	"bulkhead/boot/virt"
	"bulkhead/guest"
	"bulkhead/guest/check"
	"bulkhead/isolation/abi"
)

// lifecycleVMs is how many VMs testHundredVMs makes in a row.
const lifecycleVMs = 100

// lifecyclePages is how many pages each of them gets.
const lifecyclePages = 4

// testHundredVMs creates, runs, destroys and reclaims VMs one after the
// other, and counts the host's pages over the whole pool with MEM_INFO
// before and after (every page, not a sample: about two seconds per scan
// under QEMU TCG): a page lost to a dead VM, or left shared, would show.
func testHundredVMs(t *testing.T) {
	before, took := hostPages(virt.Pool)
	t.Logf("%d of %d pool pages are the host's (full MEM_INFO scan in %v)", before, virt.Pool.Size/virt.PageSize, took)
	// Every earlier test tore its VMs down and reclaimed their pages.
	check.Equal(t, virt.Pool.Size/virt.PageSize, before, "host pages in the pool after the other tests")
	pa := pages(t, lifecyclePages)
	for i := 0; i < lifecycleVMs && !t.Failed(); i++ {
		oneLife(t, pa)
	}
	after, _ := hostPages(virt.Pool)
	check.Equal(t, before, after, "host pages in the pool after %d VMs", lifecycleVMs)
}

// oneLife is one VM from creation to reclaim.
func oneLife(t *testing.T, pa uint64) {
	id, st := guest.VMCreate(1)
	require(t, check.Status(t, abi.Success, st, "create"))
	writeCode(pa, offGuest())
	fill(pa+virt.PageSize, lifecyclePages-1, 0x5a)
	if !check.Status(t, abi.Success, guest.MemDonate(id, pa, guestIPA, lifecyclePages, abi.PermAll), "donate") {
		guest.VMDestroy(id)
		t.FailNow()
	}
	check.Status(t, abi.Success, guest.VCPUInit(id, 0, guestIPA, 0), "init")
	e, st := guest.VCPURun(id, 0, 0)
	check.Status(t, abi.Success, st, "run")
	check.Equal(t, abi.ExitShutdown, e.Reason, "VM %d's exit", id)
	require(t, check.Status(t, abi.Success, guest.VMDestroy(id), "destroy VM %d", id))
	require(t, check.Status(t, abi.Success, guest.MemReclaim(pa, lifecyclePages), "reclaim"))
	check.True(t, zero(pa, lifecyclePages), "VM %d's pages came back zeroed", id)
}

// hostPages counts the pages of r the host owns and shares with nobody.
func hostPages(r virt.Region) (uint64, time.Duration) {
	start := time.Now()
	var n uint64
	for pa := r.Base; pa < r.End(); pa += virt.PageSize {
		info, st := guest.MemInfo(pa)
		if st == abi.Success && info.Owner == abi.OwnerHost && !info.Shared {
			n++
		}
	}
	return n, time.Since(start)
}
