package isolation

import "bulkhead/isolation/abi"

// page is the ledger entry of one 4 KiB page of RAM (the pKVM page states:
// owned, shared-owned, shared-borrowed, seen from the owner's side).
type page struct {
	owner    uint8 // abi.OwnerNone, OwnerEngine, OwnerHost or OwnerVM
	vm       uint8 // the owning VM, when owner == abi.OwnerVM
	shared   bool  // the owner shares the page with borrower
	borrower uint8 // abi.HostID or a VM id, when shared
}

// pfn returns the ledger index of the page at pa.
// Precondition: pa is inside RAM.
func (e *Engine) pfn(pa PA) uint64 { return (uint64(pa) - e.cfg.RAM.Base) >> PageShift }

// pageAt returns the ledger entry of the page at pa.
// Precondition: pa is inside RAM.
func (e *Engine) pageAt(pa PA) *page { return &e.pages[e.pfn(pa)] }

// ownedBy reports whether p is owned by the host (vm == 0) or by VM vm.
func (p *page) ownedBy(vm VMID) bool {
	if vm == HostVMID {
		return p.owner == abi.OwnerHost
	}
	return p.owner == abi.OwnerVM && VMID(p.vm) == vm
}

// sharedWith reports whether p is shared with the host (vm == 0) or VM vm.
func (p *page) sharedWith(vm VMID) bool { return p.shared && VMID(p.borrower) == vm }

// hostVisible reports whether the host stage-2 must map p: the host owns it,
// or its VM owner shares it with the host.
func (p *page) hostVisible() bool {
	return p.owner == abi.OwnerHost || (p.owner == abi.OwnerVM && p.sharedWith(HostVMID))
}

// setOwner gives the n pages at pa to owner (a kind and, for a VM, its id),
// not shared.
func (e *Engine) setOwner(pa PA, n uint64, owner uint8, vm VMID) {
	for i := uint64(0); i < n; i++ {
		e.pages[e.pfn(pa)+i] = page{owner: owner, vm: uint8(vm)}
	}
}

// ramPage reports whether pa lies in RAM.
func (e *Engine) ramPage(pa PA) bool { return e.cfg.RAM.Contains(uint64(pa), 1) }
