//go:build tamago && arm64

package hosttests

import (
	"testing"

	"bulkhead/boot/virt"
	"bulkhead/guest"
	"bulkhead/guest/check"
	"bulkhead/isolation/abi"
)

// ipaSpace is the size of a VM's IPA space (bulkhead-contract).
const ipaSpace = 1 << 40

// memArguments checks the validation MEM_DONATE and MEM_SHARE share
// (bulkhead-contract): INVALID_PARAMETERS in the order vmid, PA, IPA,
// perms, before any page is looked at; and that a refused call changes
// nothing.
func memArguments(call func(vmid, pa, ipa, pages, perms uint64) abi.Status) func(*testing.T) {
	return func(t *testing.T) {
		v := newVM(t, 1)
		pa := pages(t, 1)
		ram := virt.RAM
		cases := []struct {
			what                    string
			vmid, pa, ipa, n, perms uint64
		}{
			{"vmid 0", 0, pa, guestIPA, 1, abi.PermAll},
			{"vmid of a free slot", v.id + 1, pa, guestIPA, 1, abi.PermAll},
			{"unaligned PA", v.id, pa + 8, guestIPA, 1, abi.PermAll},
			{"unaligned IPA", v.id, pa, guestIPA + 8, 1, abi.PermAll},
			{"zero pages", v.id, pa, guestIPA, 0, abi.PermAll},
			{"PA range overflows", v.id, ^uint64(0) &^ (virt.PageSize - 1), guestIPA, 2, abi.PermAll},
			{"count overflows", v.id, pa, guestIPA, 1 << 52, abi.PermAll},
			{"PA below RAM", v.id, ram.Base - virt.PageSize, guestIPA, 1, abi.PermAll},
			{"PA past RAM", v.id, ram.End(), guestIPA, 1, abi.PermAll},
			{"PA across the end of RAM", v.id, ram.End() - virt.PageSize, guestIPA, 2, abi.PermAll},
			{"IPA past the IPA space", v.id, pa, ipaSpace, 1, abi.PermAll},
			{"IPA across the end of the IPA space", v.id, pa, ipaSpace - virt.PageSize, 2, abi.PermAll},
			{"no permissions", v.id, pa, guestIPA, 1, 0},
			{"unknown permission bit", v.id, pa, guestIPA, 1, abi.PermAll | 8},
			{"bad vmid before unaligned PA", 0, pa + 8, guestIPA, 1, abi.PermAll},
			{"unaligned PA of engine memory", v.id, virt.Engine.Base + 8, guestIPA, 1, abi.PermAll},
		}
		for _, c := range cases {
			check.Status(t, abi.InvalidParameters, call(c.vmid, c.pa, c.ipa, c.n, c.perms), c.what)
		}
		info, _ := guest.MemInfo(pa)
		check.Equal(t, guest.PageInfo{Owner: abi.OwnerHost}, info, "the page after refused calls")
	}
}

func testDonateLedger(t *testing.T) {
	v, w := newVM(t, 1), newVM(t, 1)
	pa := pages(t, 2)
	v.donate(t, pa, guestIPA, 1)
	info, st := guest.MemInfo(pa)
	check.Status(t, abi.Success, st)
	check.Equal(t, guest.PageInfo{Owner: abi.OwnerVM, VM: v.id}, info, "a donated page")
	check.Status(t, abi.Denied, guest.MemDonate(v.id, pa, guestIPA+virt.PageSize, 1, abi.PermAll), "donate it again")
	check.Status(t, abi.Denied, guest.MemDonate(w.id, pa, guestIPA, 1, abi.PermAll), "donate another VM's page")
	check.Status(t, abi.Denied, guest.MemDonate(v.id, pa+virt.PageSize, guestIPA, 1, abi.PermAll), "donate to an IPA already mapped")
	check.Status(t, abi.Denied, guest.MemDonate(v.id, pa, guestIPA+virt.PageSize, 2, abi.PermAll), "a range whose first page is the VM's")
	for _, e := range []uint64{virt.Engine.Base, virt.EngineText, virt.Engine.End() - virt.PageSize} {
		check.Status(t, abi.Denied, guest.MemDonate(v.id, e, guestIPA+8*virt.PageSize, 1, abi.PermAll), "donate engine memory %#x", e)
	}
	info, _ = guest.MemInfo(pa + virt.PageSize)
	check.Equal(t, guest.PageInfo{Owner: abi.OwnerHost}, info, "the second page after the refused range")
	v.donate(t, pa+virt.PageSize, guestIPA+virt.PageSize, 1)
}

func testShareLedger(t *testing.T) {
	v, w := newVM(t, 1), newVM(t, 1)
	pa := pages(t, 2)
	require(t, check.Status(t, abi.Success, guest.MemShare(v.id, pa, guestIPA, 1, abi.PermR|abi.PermW), "share"))
	info, _ := guest.MemInfo(pa)
	check.Equal(t, guest.PageInfo{Owner: abi.OwnerHost, Shared: true, Borrower: v.id}, info, "a shared page")
	fill(pa, 1, 0x77)
	check.True(t, el1Readable(pa), "the host keeps access to a page it shares")
	check.Status(t, abi.Denied, guest.MemShare(v.id, pa, guestIPA+virt.PageSize, 1, abi.PermR), "share it again")
	check.Status(t, abi.Denied, guest.MemShare(w.id, pa, guestIPA, 1, abi.PermR), "share it with another VM")
	check.Status(t, abi.Denied, guest.MemDonate(w.id, pa, guestIPA, 1, abi.PermAll), "donate a shared page")
	v.donate(t, pa+virt.PageSize, guestIPA+virt.PageSize, 1)
	check.Status(t, abi.Denied, guest.MemShare(w.id, pa+virt.PageSize, guestIPA, 1, abi.PermR), "share a VM's page")
	check.Status(t, abi.Denied, guest.MemShare(v.id, virt.Engine.Base, guestIPA+4*virt.PageSize, 1, abi.PermR), "share engine memory")
	check.Status(t, abi.Success, guest.MemUnshare(v.id, guestIPA, 1), "unshare")
	info, _ = guest.MemInfo(pa)
	check.Equal(t, guest.PageInfo{Owner: abi.OwnerHost}, info, "after unshare")
	check.True(t, el1Readable(pa), "the host still reads the page")
}

func testUnshare(t *testing.T) {
	v := newVM(t, 1)
	pa := pages(t, 2)
	for _, id := range badVMIDs {
		check.Status(t, abi.InvalidParameters, guest.MemUnshare(id, guestIPA, 1), "vmid %#x", id)
	}
	check.Status(t, abi.InvalidParameters, guest.MemUnshare(v.id, guestIPA+8, 1), "unaligned")
	check.Status(t, abi.InvalidParameters, guest.MemUnshare(v.id, guestIPA, 0), "zero pages")
	check.Status(t, abi.InvalidParameters, guest.MemUnshare(v.id, ipaSpace, 1), "beyond the IPA space")
	check.Status(t, abi.Denied, guest.MemUnshare(v.id, guestIPA, 1), "nothing mapped")
	v.donate(t, pa, guestIPA, 1)
	check.Status(t, abi.Denied, guest.MemUnshare(v.id, guestIPA, 1), "a donated page")
	require(t, check.Status(t, abi.Success, guest.MemShare(v.id, pa+virt.PageSize, guestIPA+virt.PageSize, 1, abi.PermR), "share"))
	check.Status(t, abi.Denied, guest.MemUnshare(v.id, guestIPA, 2), "a range starting at a donated page")
	check.Status(t, abi.Success, guest.MemUnshare(v.id, guestIPA+virt.PageSize, 1), "unshare")
	check.Status(t, abi.Denied, guest.MemUnshare(v.id, guestIPA+virt.PageSize, 1), "unshare again")
}

func testMemInfo(t *testing.T) {
	for _, pa := range []uint64{0, virt.RAM.Base - 1, virt.RAM.End(), ^uint64(0)} {
		_, st := guest.MemInfo(pa)
		check.Status(t, abi.InvalidParameters, st, "PA %#x outside RAM", pa)
	}
	for _, pa := range []uint64{virt.Engine.Base, virt.Engine.Base + 123, virt.Engine.End() - 1} {
		info, st := guest.MemInfo(pa)
		check.Status(t, abi.Success, st, "PA %#x", pa)
		check.Equal(t, guest.PageInfo{Owner: abi.OwnerEngine}, info, "engine memory %#x", pa)
	}
	for _, pa := range []uint64{virt.HostText, virt.HostText + 0x123, virt.Pool.End() - 1} {
		info, _ := guest.MemInfo(pa)
		check.Equal(t, guest.PageInfo{Owner: abi.OwnerHost}, info, "host memory %#x", pa)
	}
}

// testReclaim: pages of a live VM are BUSY; of a destroyed VM they come
// back zeroed; host and engine pages are refused.
func testReclaim(t *testing.T) {
	v := newVM(t, 1)
	pa := pages(t, 2)
	fill(pa, 2, 0xa5)
	v.donate(t, pa, guestIPA, 2)
	check.Status(t, abi.InvalidParameters, guest.MemReclaim(pa+8, 1), "unaligned")
	check.Status(t, abi.InvalidParameters, guest.MemReclaim(pa, 0), "zero pages")
	check.Status(t, abi.InvalidParameters, guest.MemReclaim(virt.RAM.End(), 1), "past RAM")
	check.Status(t, abi.Busy, guest.MemReclaim(pa, 2), "pages of a live VM")
	check.Status(t, abi.Denied, guest.MemReclaim(pages(t, 1), 1), "a host page")
	check.Status(t, abi.Denied, guest.MemReclaim(virt.Engine.Base, 1), "an engine page")
	require(t, check.Status(t, abi.Success, guest.VMDestroy(v.id), "destroy"))
	info, _ := guest.MemInfo(pa)
	check.Equal(t, guest.PageInfo{Owner: abi.OwnerNone}, info, "a destroyed VM's page awaits reclaim")
	require(t, check.Status(t, abi.Success, guest.MemReclaim(pa, 2), "reclaim"))
	info, _ = guest.MemInfo(pa + virt.PageSize)
	check.Equal(t, guest.PageInfo{Owner: abi.OwnerHost}, info, "reclaimed")
	check.True(t, zero(pa, 2), "reclaimed pages read as zero")
	check.Status(t, abi.Denied, guest.MemReclaim(pa, 2), "reclaim again")
}

// testDestroyEndsShares: destroying a VM ends the host's shares with it.
func testDestroyEndsShares(t *testing.T) {
	v := newVM(t, 1)
	pa := pages(t, 1)
	fill(pa, 1, 0x3c)
	require(t, check.Status(t, abi.Success, guest.MemShare(v.id, pa, guestIPA, 1, abi.PermAll), "share"))
	require(t, check.Status(t, abi.Success, guest.VMDestroy(v.id), "destroy"))
	info, _ := guest.MemInfo(pa)
	check.Equal(t, guest.PageInfo{Owner: abi.OwnerHost}, info, "after destroy")
	check.True(t, el1Readable(pa) && !zero(pa, 1), "a shared page keeps the host's data")
}
