package isolation

import "bulkhead/isolation/abi"

// Abstract is the engine's state as the specification sees it, as plain data
// with a deterministic order, so that it can be compared with the state of
// the executable specification after every call of a trace.
type Abstract struct {
	// Pages has one entry per page of RAM, in address order.
	Pages []AbstractPage
	// VMs has one entry per VM slot: VMs[0] is VM 1.
	VMs []AbstractVM
	// Host lists the page numbers (PA >> 12) of the RAM pages mapped in the
	// host stage-2, ascending. MMIO is fixed and not listed.
	Host []uint64
}

// AbstractPage is the ledger entry of one page.
type AbstractPage struct {
	PFN      uint64 // PA >> 12
	Owner    uint8  // abi.OwnerNone, OwnerEngine, OwnerHost or OwnerVM
	VM       VMID   // the owner, for abi.OwnerVM; else 0
	Shared   bool
	Borrower VMID // when Shared: abi.HostID or a VM id; else 0
	Zero     bool // the page's contents are all zero (Platform.PageIsZero)
}

// AbstractVM is one VM slot.
type AbstractVM struct {
	Live   bool
	VCPUs  int         // vCPU count; 0 for a Free slot
	HasRun bool        // some vCPU has been run
	VCPU   []VCPUState // state of each vCPU, VCPUs entries
	// Map is the VM's stage-2, one entry per mapped page, ascending by IPA.
	Map []AbstractMapping
	// Protected: created with abi.VMProtected (MEM_SHARE into it is DENIED).
	Protected bool
}

// AbstractMapping is one page of a stage-2.
type AbstractMapping struct {
	IPAPage uint64 // IPA >> 12
	PAPage  uint64 // PA >> 12
	Perms   Perms
}

// Snapshot returns the abstract state. The stage-2 maps in it come from
// walking the real tables, not from the ledger, so a table that disagrees
// with the ledger shows. It allocates, and is meant for tests and checks.
func (e *Engine) Snapshot() Abstract {
	var a Abstract
	a.Pages = make([]AbstractPage, len(e.pages))
	for i := range e.pages {
		p := &e.pages[i]
		pa := PA(e.cfg.RAM.Base + uint64(i)<<PageShift)
		ap := AbstractPage{PFN: uint64(pa) >> PageShift, Owner: p.owner, Shared: p.shared, Zero: e.plat.PageIsZero(pa)}
		if p.owner == abi.OwnerVM {
			ap.VM = VMID(p.vm)
		}
		if p.shared {
			ap.Borrower = VMID(p.borrower)
		}
		a.Pages[i] = ap
	}
	for _, m := range e.snapshotMap(&e.host) {
		if e.ramPage(PA(m.PAPage << PageShift)) {
			a.Host = append(a.Host, m.PAPage)
		}
	}
	a.VMs = make([]AbstractVM, len(e.vms))
	for i := range e.vms {
		a.VMs[i] = e.snapshotVM(&e.vms[i])
	}
	return a
}

// snapshotVM returns the abstract state of one slot.
func (e *Engine) snapshotVM(v *vm) AbstractVM {
	if !v.live {
		return AbstractVM{}
	}
	av := AbstractVM{Live: true, VCPUs: v.nvcpu, HasRun: v.hasRun, Protected: v.protected,
		VCPU: make([]VCPUState, v.nvcpu)}
	for j := range av.VCPU {
		av.VCPU[j] = v.vcpus[j].state
	}
	av.Map = e.snapshotMap(&v.s2)
	return av
}

// snapshotMap lists every page s maps, ascending by IPA (the leaf walk is in
// IPA order).
func (e *Engine) snapshotMap(s *stage2) []AbstractMapping {
	var out []AbstractMapping
	it := e.leaves(s)
	for ipa, d, lvl, ok := e.next(&it); ok; ipa, d, lvl, ok = e.next(&it) {
		perms := leafAttr(d).Perms
		for k := uint64(0); k < levelSize(lvl)>>PageShift; k++ {
			out = append(out, AbstractMapping{IPAPage: ipa>>PageShift + k, PAPage: uint64(descOA(d))>>PageShift + k, Perms: perms})
		}
	}
	return out
}
