package isolation

import (
	"fmt"

	"bulkhead/isolation/abi"
)

// Check derives the abstract state from the real stage-2 tables (it walks
// the host's and every VM's) and compares it with the ledger, returning the
// first disagreement. It checks:
//
//   - the ledger: shared pages are host pages lent to a live VM that is not
//     protected, or VM pages lent to the host; VM owners are live;
//   - the host stage-2 is an identity map of exactly the pages the host owns
//     (read/write/execute) or a VM shares with it (read/write), plus the
//     host MMIO as Device; every block in it maps pages of one kind
//     (contract invariants 2, 3 and 5);
//   - each live VM's stage-2 maps each page it owns, and each host page lent
//     to it, exactly once and nothing else, as Normal memory (invariants 1,
//     3 and 5); a Free slot has no stage-2 (invariant 7);
//   - every table of the pool is either free or reachable exactly once, and
//     no descriptor points at a free table.
//
// Tests run it after every call; the engine may run it in a debug build. It
// does not allocate unless it finds a disagreement.
func (e *Engine) Check() error {
	if err := e.checkLedger(); err != nil {
		return err
	}
	tables, err := e.checkHost()
	if err != nil {
		return err
	}
	for i := range e.vms {
		n, err := e.checkVM(VMID(i + 1))
		if err != nil {
			return err
		}
		tables += n
	}
	if tables+e.pool.nfree != len(e.pool.Tables) {
		return fmt.Errorf("ghost: %d tables in use and %d free, pool has %d", tables, e.pool.nfree, len(e.pool.Tables))
	}
	return nil
}

// checkLedger checks each ledger entry on its own.
func (e *Engine) checkLedger() error {
	for i := range e.pages {
		p := &e.pages[i]
		pa := e.cfg.RAM.Base + uint64(i)<<PageShift
		ok := true
		switch p.owner {
		case abi.OwnerNone, abi.OwnerEngine:
			ok = !p.shared && p.vm == 0
		case abi.OwnerHost:
			ok = p.vm == 0 && (!p.shared || e.lendable(uint64(p.borrower)))
		case abi.OwnerVM:
			ok = e.liveVM(uint64(p.vm)) != nil && (!p.shared || p.borrower == abi.HostID)
		default:
			ok = false
		}
		if !ok {
			return fmt.Errorf("ghost: ledger entry of %#x is inconsistent: %+v", pa, *p)
		}
	}
	return nil
}

// lendable reports whether the host may lend pages to VM id: a live VM
// that is not protected.
func (e *Engine) lendable(id uint64) bool {
	v := e.liveVM(id)
	return v != nil && !v.protected
}

// hostAttrOf is how the host stage-2 must map a page it can see.
func hostAttrOf(p *page) Attr {
	if p.owner == abi.OwnerHost {
		return hostRAM
	}
	return hostShared
}

// checkHost checks the host stage-2 against the ledger and returns the
// number of tables it uses.
func (e *Engine) checkHost() (int, error) {
	clear(e.marks)
	mmio := uint64(0)
	it := e.leaves(&e.host)
	for ipa, d, lvl, ok := e.next(&it); ok; ipa, d, lvl, ok = e.next(&it) {
		if descOA(d) != PA(ipa) {
			return 0, fmt.Errorf("ghost: host maps %#x to %#x, not identity", ipa, descOA(d))
		}
		n, err := e.checkHostLeaf(ipa, leafAttr(d), levelSize(lvl)>>PageShift)
		if err != nil {
			return 0, err
		}
		mmio += n
	}
	if err := e.checkVisible(HostVMID); err != nil {
		return 0, err
	}
	want := uint64(0)
	for _, r := range e.cfg.HostMMIO {
		want += r.Size >> PageShift
	}
	if mmio != want {
		return 0, fmt.Errorf("ghost: host maps %d MMIO pages, configuration has %d", mmio, want)
	}
	return it.tables + S2RootTables, nil
}

// checkHostLeaf checks one leaf of the host stage-2 mapping n pages at pa
// with a, and returns how many of them are MMIO.
func (e *Engine) checkHostLeaf(pa uint64, a Attr, n uint64) (uint64, error) {
	if !e.cfg.RAM.Contains(pa, 1) {
		if !inRanges(pa, e.cfg.HostMMIO) || !inRanges(pa+(n-1)<<PageShift, e.cfg.HostMMIO) || a != hostDevice {
			return 0, fmt.Errorf("ghost: host maps %#x (%d pages, %+v) outside RAM and host MMIO", pa, n, a)
		}
		return n, nil
	}
	first := e.pageAt(PA(pa))
	for k := uint64(0); k < n; k++ {
		p := &e.pages[e.pfn(PA(pa))+k]
		if !p.hostVisible() || a != hostAttrOf(p) {
			return 0, fmt.Errorf("ghost: host maps %#x with %+v, ledger says %+v", pa+k<<PageShift, a, *p)
		}
		if hostBlockKind(p) != hostBlockKind(first) {
			return 0, fmt.Errorf("ghost: host block at %#x mixes pages of different kinds", pa)
		}
		e.marks[e.pfn(PA(pa))+k] = 1
	}
	return 0, nil
}

// hostBlockKind is what the pages under one host block must share: a
// block is made by one call over pages of one kind, and a call that
// changes the host's view of a page splits it (VM_DESTROY's releasePages
// relies on it for a VM's pages shared with the host). The host's own
// pages are one kind whether or not it shares them with a VM: MEM_SHARE
// and MEM_UNSHARE leave the host's mapping as it is.
func hostBlockKind(p *page) page {
	if p.owner == abi.OwnerHost {
		return page{owner: abi.OwnerHost}
	}
	return *p
}

// visibleTo reports whether principal id's stage-2 must map p.
func visibleTo(p *page, id VMID) bool {
	if id == HostVMID {
		return p.hostVisible()
	}
	return p.ownedBy(id) || (p.ownedBy(HostVMID) && p.sharedWith(id))
}

// checkVisible checks that every page principal id must see was marked by
// the walk of its stage-2.
func (e *Engine) checkVisible(id VMID) error {
	for i := range e.pages {
		if visibleTo(&e.pages[i], id) && e.marks[i] == 0 {
			return fmt.Errorf("ghost: page %#x is not mapped in the stage-2 of %d, ledger says %+v",
				e.cfg.RAM.Base+uint64(i)<<PageShift, id, e.pages[i])
		}
	}
	return nil
}

// checkVM checks the stage-2 of VM slot id and returns the tables it uses.
func (e *Engine) checkVM(id VMID) (int, error) {
	v := &e.vms[id-1]
	if !v.live {
		if v.s2.root >= 0 || v.nvcpu != 0 {
			return 0, fmt.Errorf("ghost: free slot %d has a stage-2 or vCPUs", id)
		}
		return 0, nil
	}
	clear(e.marks)
	it := e.leaves(&v.s2)
	for ipa, d, lvl, ok := e.next(&it); ok; ipa, d, lvl, ok = e.next(&it) {
		if err := e.checkVMLeaf(id, ipa, d, levelSize(lvl)>>PageShift); err != nil {
			return 0, err
		}
	}
	if err := e.checkVisible(id); err != nil {
		return 0, err
	}
	return it.tables + S2RootTables, nil
}

// checkVMLeaf checks one leaf of VM id's stage-2, mapping n pages.
func (e *Engine) checkVMLeaf(id VMID, ipa, d, n uint64) error {
	pa := descOA(d)
	if leafAttr(d).Device || !e.cfg.RAM.Contains(uint64(pa), n<<PageShift) {
		return fmt.Errorf("ghost: VM %d maps %#x to %#x, not RAM", id, ipa, pa)
	}
	for k := uint64(0); k < n; k++ {
		i := e.pfn(pa) + k
		if !visibleTo(&e.pages[i], id) || e.marks[i] != 0 {
			return fmt.Errorf("ghost: VM %d maps %#x to %#x, ledger says %+v (mapped before: %v)",
				id, ipa+k<<PageShift, pa+PA(k<<PageShift), e.pages[i], e.marks[i] != 0)
		}
		e.marks[i] = 1
	}
	return nil
}
