package isolation

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"bulkhead/boot/virt"
	"bulkhead/isolation/abi"
)

// ghostEngine returns a SmallConfig engine with VM 1 owning page 2 at IPA
// 0x2000, page 3 shared with the host, and host page 4 shared with VM 1.
func ghostEngine(t *testing.T) *Engine {
	e, _ := newLogged(t, SmallConfig(), SmallPoolTables, SmallPoolBase)
	id, st := e.VMCreate(1, 0)
	require.Equal(t, abi.Success, st)
	require.Equal(t, abi.Success, e.MemDonate(uint64(id), 0x4000_2000, 0x2000, 2, 3))
	require.Equal(t, abi.Success, e.GuestShare(id, 0x3000, 1))
	require.Equal(t, abi.Success, e.MemShare(uint64(id), 0x4000_4000, 0x4000, 1, 1))
	require.NoError(t, e.Check())
	return e
}

// TestCheckFindsEachKindOfDisagreement corrupts tables or the ledger behind
// the engine's back and expects the ghost check to notice.
func TestCheckFindsEachKindOfDisagreement(t *testing.T) {
	cases := map[string]func(e *Engine){
		"engine page mapped in host": func(e *Engine) {
			e.mapRange(&e.host, 0x4000_0000, 0x4000_0000, 1, hostRAM)
		},
		"host page missing from host": func(e *Engine) { e.unmapRange(&e.host, 0x4000_5000, 1) },
		"host map not identity": func(e *Engine) {
			e.unmapRange(&e.host, 0x4000_5000, 1)
			e.mapRange(&e.host, 0x4000_5000, 0x4000_6000, 1, hostRAM)
		},
		"VM page in host": func(e *Engine) { e.mapRange(&e.host, 0x4000_2000, 0x4000_2000, 1, hostRAM) },
		"wrong host perms": func(e *Engine) {
			e.unmapRange(&e.host, 0x4000_3000, 1)
			e.mapRange(&e.host, 0x4000_3000, 0x4000_3000, 1, hostRAM)
		},
		"stray host MMIO":   func(e *Engine) { e.mapRange(&e.host, 0x0a00_0000, 0x0a00_0000, 1, hostDevice) },
		"host MMIO missing": func(e *Engine) { e.unmapRange(&e.host, 0x0900_0000, 1) },
		"VM maps a host page": func(e *Engine) {
			e.mapRange(&e.vms[0].s2, 0x9000, 0x4000_5000, 1, Attr{Perms: PermR})
		},
		"VM maps its page twice": func(e *Engine) {
			e.mapRange(&e.vms[0].s2, 0x9000, 0x4000_2000, 1, Attr{Perms: PermR})
		},
		"VM maps a device": func(e *Engine) {
			e.mapRange(&e.vms[0].s2, 0x9000, 0x0900_0000, 1, hostDevice)
		},
		"VM lost its page":        func(e *Engine) { e.unmapRange(&e.vms[0].s2, 0x2000, 1) },
		"VM lost a borrowed page": func(e *Engine) { e.unmapRange(&e.vms[0].s2, 0x4000, 1) },
		"protected VM borrows":    func(e *Engine) { e.vms[0].protected = true },
		"ledger: shared engine page": func(e *Engine) {
			e.pages[0].shared = true
		},
		"ledger: owner of a free slot": func(e *Engine) { e.pages[5] = page{owner: abi.OwnerVM, vm: 2} },
		"ledger: bad owner":            func(e *Engine) { e.pages[5].owner = 9 },
		"free slot with a stage-2":     func(e *Engine) { e.newStage2(&e.vms[1].s2, 2) },
		"leaked table":                 func(e *Engine) { e.pool.alloc() },
		"mixed host block": func(e *Engine) {
			// Pretend the host's RAM were one 2 MiB block over pages of
			// different kinds.
			e.unmapRange(&e.host, 0x4000_0000, 16)
			e.mapRange(&e.host, 0x4000_0000, 0x4000_0000, 512, hostRAM)
			e.cfg.RAM.Size = 512 * PageSize
			e.pages = append(e.pages, make([]page, 512-16)...)
			e.marks = make([]uint8, 512)
		},
	}
	for name, corrupt := range cases {
		e := ghostEngine(t)
		corrupt(e)
		assert.Error(t, e.Check(), name)
	}
}

func TestTranslateOfFreeSlotAndOutsideSpace(t *testing.T) {
	e := ghostEngine(t)
	_, ok := e.Translate(2, 0)
	assert.False(t, ok)
	_, ok = e.Translate(7, 0)
	assert.False(t, ok)
	_, ok = e.Translate(1, IPA(ipaLimit))
	assert.False(t, ok)
	m, ok := e.Translate(1, 0x2004)
	require.True(t, ok)
	assert.Equal(t, PA(0x4000_2004), m.PA)
}

func TestCommitInvariantViolationsPanic(t *testing.T) {
	e := ghostEngine(t)
	assert.Panics(t, func() { e.mustTranslate(&e.vms[0].s2, 0x9000) })
	for e.pool.alloc() >= 0 {
	}
	assert.Panics(t, func() { e.mustAlloc() })
}

// TestHostSharesInsideABlock: MEM_SHARE and MEM_UNSHARE of one host page
// inside a host block leave the host's mapping as it is (the host keeps
// its access), and the ghost check accepts the block, whose pages are all
// the host's.
func TestHostSharesInsideABlock(t *testing.T) {
	e, _ := newLogged(t, virtConfig(), 64, virtPoolBase)
	id, st := e.VMCreate(1, 0)
	require.Equal(t, abi.Success, st)
	pa := PA(virt.Pool.Base + 0x20_0000 + 0x3000)
	before, ok := e.Translate(HostVMID, IPA(pa))
	require.True(t, ok)
	require.Less(t, before.Level, 3, "the page lies under a host block")
	require.Equal(t, abi.Success, e.MemShare(uint64(id), pa, 0x4000_0000, 1, 3))
	after, _ := e.Translate(HostVMID, IPA(pa))
	assert.Equal(t, before.Level, after.Level, "the host's block stays")
	require.NoError(t, e.Check())
	require.Equal(t, abi.Success, e.MemUnshare(uint64(id), 0x4000_0000, 1))
	require.NoError(t, e.Check())
}
