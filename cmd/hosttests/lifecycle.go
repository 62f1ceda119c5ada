//go:build tamago && arm64

package main

import (
	"time"

	"bulkhead/boot/virt"
	"bulkhead/guest"
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
func testHundredVMs(t *guest.T) {
	before, took := hostPages(virt.Pool)
	t.Logf("%d of %d pool pages are the host's (full MEM_INFO scan in %v)", before, virt.Pool.Size/virt.PageSize, took)
	// Every earlier test tore its VMs down and reclaimed their pages.
	t.Equal(virt.Pool.Size/virt.PageSize, before, "host pages in the pool after the other tests")
	pa := pages(t, lifecyclePages)
	for i := 0; i < lifecycleVMs && !t.Failed(); i++ {
		oneLife(t, pa)
	}
	after, _ := hostPages(virt.Pool)
	t.Equal(before, after, "host pages in the pool after %d VMs", lifecycleVMs)
}

// oneLife is one VM from creation to reclaim.
func oneLife(t *guest.T, pa uint64) {
	id, st := guest.VMCreate(1)
	t.Require(t.Status(abi.Success, st, "create"))
	writeCode(pa, offGuest())
	fill(pa+virt.PageSize, lifecyclePages-1, 0x5a)
	if !t.Status(abi.Success, guest.MemDonate(id, pa, guestIPA, lifecyclePages, abi.PermAll), "donate") {
		guest.VMDestroy(id)
		t.FailNow()
	}
	t.Status(abi.Success, guest.VCPUInit(id, 0, guestIPA, 0), "init")
	e, st := guest.VCPURun(id, 0, 0)
	t.Status(abi.Success, st, "run")
	t.Equal(abi.ExitShutdown, e.Reason, "VM %d's exit", id)
	t.Require(t.Status(abi.Success, guest.VMDestroy(id), "destroy VM %d", id))
	t.Require(t.Status(abi.Success, guest.MemReclaim(pa, lifecyclePages), "reclaim"))
	t.True(zero(pa, lifecyclePages), "VM %d's pages came back zeroed", id)
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
