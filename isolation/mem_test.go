package isolation_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"bulkhead/isolation"
	"bulkhead/isolation/abi"
)

// transferCases are the argument errors MEM_DONATE and MEM_SHARE share, in
// the contract's check order (each case is wrong in one place only, except
// where it tests precedence).
func transferCases(vm uint64) []struct {
	name                  string
	id, pa, ipa, n, perms uint64
	want                  abi.Status
} {
	rw := uint64(abi.PermR | abi.PermW)
	return []struct {
		name                  string
		id, pa, ipa, n, perms uint64
		want                  abi.Status
	}{
		{"vmid 0", 0, pg(1), 0, 1, rw, abi.InvalidParameters},
		{"vmid free", 2, pg(1), 0, 1, rw, abi.InvalidParameters},
		{"vmid too big", 300, pg(1), 0, 1, rw, abi.InvalidParameters},
		{"zero pages", vm, pg(1), 0, 0, rw, abi.InvalidParameters},
		{"PA unaligned", vm, pg(1) + 8, 0, 1, rw, abi.InvalidParameters},
		{"PA below RAM", vm, pg(0) - page, 0, 1, rw, abi.InvalidParameters},
		{"PA past RAM", vm, pg(15), 0, 2, rw, abi.InvalidParameters},
		{"PA overflow", vm, 0xffff_ffff_ffff_f000, 0, 2, rw, abi.InvalidParameters},
		{"pages overflow", vm, pg(1), 0, 1 << 62, rw, abi.InvalidParameters},
		{"IPA unaligned", vm, pg(1), 0x10, 1, rw, abi.InvalidParameters},
		{"IPA past 2^40", vm, pg(1), 1<<40 - page, 2, rw, abi.InvalidParameters},
		{"IPA overflow", vm, pg(1), 0xffff_ffff_ffff_f000, 2, rw, abi.InvalidParameters},
		{"perms 0", vm, pg(1), 0, 1, 0, abi.InvalidParameters},
		{"perms extra bit", vm, pg(1), 0, 1, 8 | rw, abi.InvalidParameters},
		{"engine page", vm, pg(0), 0, 1, rw, abi.Denied},
		{"range reaching an engine page first", vm, pg(0), 0, 3, rw, abi.Denied},
		{"VM page", vm, pg(4), 0x10_0000, 1, rw, abi.Denied},
		{"shared page", vm, pg(5), 0x10_0000, 1, rw, abi.Denied},
		{"IPA taken", vm, pg(6), 0x4000, 1, rw, abi.Denied},
		{"IPA range reaching a taken IPA", vm, pg(6), 0x2000, 3, rw, abi.Denied},
		{"INVALID before DENIED", vm, pg(0), 0x4000, 1, 0, abi.InvalidParameters},
	}
}

// transferRig has VM 1 owning page 4 at IPA 0x4000 and page 5 shared with it
// at IPA 0x5000.
func transferRig(t *testing.T) (*rig, uint64) {
	r := newRig(t)
	vm := r.vm(1)
	r.donate(vm, 4, 0x4000, 1)
	require.Equal(t, abi.Success, r.hostSt(abi.MemShare, uint64(vm), pg(5), 0x5000, 1, abi.PermR))
	return r, uint64(vm)
}

func TestMemDonateAndShareErrors(t *testing.T) {
	for _, call := range []uint32{abi.MemDonate, abi.MemShare} {
		r, vm := transferRig(t)
		before := r.e.Snapshot()
		for _, c := range transferCases(vm) {
			out := r.host(call, c.id, c.pa, c.ipa, c.n, c.perms)
			assert.Equal(t, c.want, abi.StatusOf(out[0]), "%#x %s", call, c.name)
			assert.Equal(t, [8]uint64{c.want.Reg(), c.id, c.pa, c.ipa, c.n, c.perms, 0xa6, 0xa7}, out)
		}
		assert.Equal(t, before, r.e.Snapshot(), "failed calls leave no trace")
	}
}

func TestMemDonate(t *testing.T) {
	r := newRig(t)
	vm := r.vm(1)
	r.a.Reset()
	require.Equal(t, abi.Success, r.hostSt(abi.MemDonate, uint64(vm), pg(2), 0x20_0000, 3, abi.PermR|abi.PermX))
	for i := 0; i < 3; i++ {
		_, ok := r.e.Translate(0, isolation.IPA(pg(2+i)))
		assert.False(t, ok, "host lost page %d", 2+i)
		m, ok := r.e.Translate(vm, isolation.IPA(0x20_0000+i*page))
		require.True(t, ok)
		assert.Equal(t, isolation.PA(pg(2+i)), m.PA)
		assert.Equal(t, isolation.Attr{Perms: isolation.PermR | isolation.PermX}, m.Attr)
	}
	// SmallConfig's host RAM is mapped with pages: one invalidation each.
	require.Len(t, r.a.Invals, 3)
	for _, iv := range r.a.Invals {
		assert.Equal(t, isolation.VMID(0), iv.VMID)
	}
	assert.Equal(t, []isolation.PA{isolation.PA(pg(2)), isolation.PA(pg(3)), isolation.PA(pg(4))}, r.a.Cleaned)
	s := r.e.Snapshot()
	assert.Equal(t, isolation.AbstractPage{PFN: pg(3) >> 12, Owner: abi.OwnerVM, VM: vm, Zero: true}, s.Pages[3])
}

func TestMemDonateBlock(t *testing.T) {
	r := newRigPool(t, 64)
	vm := r.vm(1)
	// SmallConfig RAM is 64 KiB; a 2 MiB block needs the virt config, so
	// check the leaf level through the IPA side: 16 contiguous pages cannot
	// be a block, and are pages.
	r.donate(vm, 1, 0x20_0000, 15)
	m, _ := r.e.Translate(vm, 0x20_0000)
	assert.Equal(t, 3, m.Level)
}

func TestMemDonateNoMemoryLeavesNoTrace(t *testing.T) {
	// The host stage-2 takes 6 tables and the VM's root 2, leaving 1; the
	// VM needs a level-2 and a level-3 table.
	r := newRigPool(t, 9)
	vm := r.vm(1)
	require.Equal(t, 1, r.e.FreeTables())
	before := r.e.Snapshot()
	r.a.Reset()
	for _, call := range []uint32{abi.MemDonate, abi.MemShare} {
		assert.Equal(t, abi.NoMemory, r.hostSt(call, uint64(vm), pg(2), 0x1000, 1, abi.PermR))
		assert.Equal(t, before, r.e.Snapshot())
		assert.Equal(t, 1, r.e.FreeTables())
		assert.Empty(t, r.a.Invals)
		assert.Empty(t, r.a.Cleaned)
	}
	assert.Equal(t, abi.InvalidParameters, r.hostSt(abi.MemDonate, uint64(vm), pg(2), 0x1000, 1, 0), "INVALID before NO_MEMORY")
}

func TestMemShareKeepsHostMapping(t *testing.T) {
	r := newRig(t)
	vm := r.vm(1)
	r.a.Reset()
	require.Equal(t, abi.Success, r.hostSt(abi.MemShare, uint64(vm), pg(7), 0x7000, 2, abi.PermR|abi.PermW))
	for i := 0; i < 2; i++ {
		_, ok := r.e.Translate(0, isolation.IPA(pg(7+i)))
		assert.True(t, ok)
		m, ok := r.e.Translate(vm, isolation.IPA(0x7000+i*page))
		require.True(t, ok)
		assert.Equal(t, isolation.PA(pg(7+i)), m.PA)
	}
	assert.Empty(t, r.a.Invals)
	info := r.host(abi.MemInfo, pg(8))
	assert.Equal(t, []uint64{0, abi.OwnerHost, 0, 1, uint64(vm)}, info[:5])
	assert.Equal(t, abi.Denied, r.hostSt(abi.MemShare, uint64(vm), pg(7), 0x9000, 1, abi.PermR), "already shared")
	assert.Equal(t, abi.Denied, r.hostSt(abi.MemDonate, uint64(vm), pg(8), 0x9000, 1, abi.PermR), "shared pages cannot be donated")
}

func TestMemUnshare(t *testing.T) {
	r, vm := transferRig(t)
	require.Equal(t, abi.Success, r.hostSt(abi.MemShare, vm, pg(7), 0x6000, 1, abi.PermR))
	cases := []struct {
		name       string
		id, ipa, n uint64
		want       abi.Status
	}{
		{"vmid 0", 0, 0x5000, 1, abi.InvalidParameters},
		{"vmid free", 2, 0x5000, 1, abi.InvalidParameters},
		{"zero pages", vm, 0x5000, 0, abi.InvalidParameters},
		{"IPA unaligned", vm, 0x5001, 1, abi.InvalidParameters},
		{"IPA past 2^40", vm, 1 << 40, 1, abi.InvalidParameters},
		{"IPA overflow", vm, 0xffff_ffff_ffff_f000, 2, abi.InvalidParameters},
		{"unmapped", vm, 0x8000, 1, abi.Denied},
		{"donated, not shared", vm, 0x4000, 1, abi.Denied},
		{"range with a donated page", vm, 0x4000, 3, abi.Denied},
		{"range running past the shares", vm, 0x5000, 3, abi.Denied},
		{"ok, two non-contiguous pages", vm, 0x5000, 2, abi.Success},
		{"again", vm, 0x5000, 1, abi.Denied},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, r.hostSt(abi.MemUnshare, c.id, c.ipa, c.n), c.name)
	}
	_, ok := r.e.Translate(isolation.VMID(vm), 0x5000)
	assert.False(t, ok)
	s := r.e.Snapshot()
	assert.False(t, s.Pages[5].Shared)
	assert.False(t, s.Pages[7].Shared)
	_, ok = r.e.Translate(0, isolation.IPA(pg(5)))
	assert.True(t, ok, "host kept its page")
}

func TestMemReclaim(t *testing.T) {
	r := newRig(t)
	vm := r.vm(1)
	r.donate(vm, 2, 0x1000, 2)
	r.donate(vm, 4, 0x3000, 1)
	r.a.Write(isolation.PA(pg(2)+5), 0x55)
	r.a.Write(isolation.PA(pg(4)), 0x66)
	cases := []struct {
		name  string
		pa, n uint64
		want  abi.Status
	}{
		{"zero pages", pg(2), 0, abi.InvalidParameters},
		{"unaligned", pg(2) + 1, 1, abi.InvalidParameters},
		{"outside RAM", pg(16), 1, abi.InvalidParameters},
		{"overflow", 0xffff_ffff_ffff_f000, 2, abi.InvalidParameters},
		{"host page", pg(1), 1, abi.Denied},
		{"engine page", pg(0), 1, abi.Denied},
		{"live VM page", pg(2), 1, abi.Busy},
		{"host page first decides", pg(1), 2, abi.Denied},
		{"VM page first decides", pg(3), 3, abi.Busy},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, r.hostSt(abi.MemReclaim, c.pa, c.n), c.name)
	}
	require.Equal(t, abi.Success, r.hostSt(abi.VMDestroy, uint64(vm)))
	assert.Equal(t, abi.Denied, r.hostSt(abi.MemReclaim, pg(1), 2), "host page before a free one")
	r.a.Reset()
	require.Equal(t, abi.Success, r.hostSt(abi.MemReclaim, pg(2), 3))
	for i := 2; i < 5; i++ {
		assert.True(t, r.a.PageIsZero(isolation.PA(pg(i))), "page %d zeroed", i)
		m, ok := r.e.Translate(0, isolation.IPA(pg(i)))
		require.True(t, ok)
		assert.Equal(t, isolation.PermRWX, m.Attr.Perms)
	}
	assert.Len(t, r.a.Cleaned, 3)
	assert.Equal(t, abi.Denied, r.hostSt(abi.MemReclaim, pg(2), 1), "already the host's")
}

func TestGuestShareUnshare(t *testing.T) {
	r, vm := transferRig(t)
	id := isolation.VMID(vm)
	r.donate(id, 6, 0x6000, 2)
	cases := []struct {
		name   string
		call   uint32
		ipa, n uint64
		want   abi.Status
	}{
		{"share zero pages", abi.GuestShare, 0x4000, 0, abi.InvalidParameters},
		{"share unaligned", abi.GuestShare, 0x4004, 1, abi.InvalidParameters},
		{"share past 2^40", abi.GuestShare, 1<<40 - page, 2, abi.InvalidParameters},
		{"share unmapped", abi.GuestShare, 0x9000, 1, abi.Denied},
		{"share a borrowed page", abi.GuestShare, 0x5000, 1, abi.Denied},
		{"unshare not shared", abi.GuestUnshare, 0x4000, 1, abi.Denied},
		{"share ok", abi.GuestShare, 0x6000, 2, abi.Success},
		{"share again", abi.GuestShare, 0x6000, 1, abi.Denied},
		{"relinquish a shared page", abi.GuestRelinquish, 0x6000, 1, abi.Denied},
		{"unshare unaligned", abi.GuestUnshare, 0x6001, 1, abi.InvalidParameters},
		{"unshare range past the shares", abi.GuestUnshare, 0x6000, 3, abi.Denied},
		{"unshare a borrowed page", abi.GuestUnshare, 0x5000, 1, abi.Denied},
		{"unshare ok", abi.GuestUnshare, 0x7000, 1, abi.Success},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, r.guestSt(id, c.call, c.ipa, c.n), c.name)
	}
	m, ok := r.e.Translate(0, isolation.IPA(pg(6)))
	require.True(t, ok, "still shared")
	assert.Equal(t, isolation.Attr{Perms: isolation.PermRW}, m.Attr, "host never executes guest pages")
	_, ok = r.e.Translate(0, isolation.IPA(pg(7)))
	assert.False(t, ok, "unshared")
}

func TestGuestRelinquish(t *testing.T) {
	r, vm := transferRig(t)
	id := isolation.VMID(vm)
	r.donate(id, 6, 0x6000, 2)
	r.a.Write(isolation.PA(pg(6)), 1)
	cases := []struct {
		name   string
		ipa, n uint64
		want   abi.Status
	}{
		{"zero pages", 0x6000, 0, abi.InvalidParameters},
		{"overflow", 0xffff_ffff_ffff_f000, 2, abi.InvalidParameters},
		{"unmapped", 0x9000, 1, abi.Denied},
		{"borrowed", 0x5000, 1, abi.Denied},
		{"ok", 0x6000, 2, abi.Success},
		{"again", 0x6000, 1, abi.Denied},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, r.guestSt(id, abi.GuestRelinquish, c.ipa, c.n), c.name)
	}
	s := r.e.Snapshot()
	assert.Equal(t, uint8(abi.OwnerNone), s.Pages[6].Owner)
	assert.True(t, s.Pages[6].Zero)
	_, ok := r.e.Translate(id, 0x6000)
	assert.False(t, ok)
	require.Equal(t, abi.Success, r.hostSt(abi.MemReclaim, pg(6), 2), "reclaimable while the VM lives")
}

func TestGuestCallsNeedTablesToo(t *testing.T) {
	// A 2 MiB block in the VM (only possible with IPA and PA 2 MiB aligned)
	// needs a virt-sized RAM; here the host split in GUEST_UNSHARE is
	// exercised instead: share two pages as one run, then unshare one.
	r := newRigPool(t, 12)
	vm := r.vm(1)
	r.donate(vm, 2, 0x2000, 2)
	require.Equal(t, abi.Success, r.guestSt(vm, abi.GuestShare, 0x2000, 2))
	require.Equal(t, abi.Success, r.guestSt(vm, abi.GuestUnshare, 0x2000, 1))
	require.Equal(t, abi.Success, r.guestSt(vm, abi.GuestRelinquish, 0x3000-page, 1))
}

// TestGuestCallsReserveTheMostEachRunTakes checks the reservation of
// GUEST_SHARE and GUEST_RELINQUISH: a table for each level-1 and each
// level-2 entry each run touches, whatever the tables hold. The VM maps
// pages 6 and 9 at consecutive IPAs: two runs of one page, each inside one
// entry of each level, so 4 tables, though the host's and the VM's tables
// already cover both pages.
func TestGuestCallsReserveTheMostEachRunTakes(t *testing.T) {
	const reserved = 2 * (1 + 1)
	setup := func(free int) *rig {
		r := newRig(t)
		vm := r.vm(1)
		r.donate(vm, 6, 0x6000, 1)
		r.donate(vm, 9, 0x7000, 1)
		used := isolation.SmallPoolTables - r.e.FreeTables()
		r = newRigPool(t, used+free)
		require.Equal(t, vm, r.vm(1))
		r.donate(vm, 6, 0x6000, 1)
		r.donate(vm, 9, 0x7000, 1)
		require.Equal(t, free, r.e.FreeTables())
		return r
	}
	for _, call := range []uint32{abi.GuestShare, abi.GuestRelinquish} {
		r := setup(reserved - 1)
		before := r.e.Snapshot()
		r.a.Reset()
		assert.Equal(t, abi.NoMemory, r.guestSt(1, call, 0x6000, 2), "%#x", call)
		assert.Equal(t, before, r.e.Snapshot(), "%#x leaves no trace", call)
		assert.Empty(t, r.a.Invals)
		assert.Empty(t, r.a.Cleaned)
		r = setup(reserved)
		assert.Equal(t, abi.Success, r.guestSt(1, call, 0x6000, 2), "%#x", call)
	}
}
