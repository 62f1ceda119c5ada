package isolation

import (
	"bulkhead/isolation/abi"
	"bulkhead/isolation/internal/plant"
)

// ipaSpace is the input address space of every stage-2.
var ipaSpace = Range{0, ipaLimit}

// liveVM returns the VM an untrusted vmid names, or nil if it names none:
// 0, above MaxVMs, or a Free slot.
func (e *Engine) liveVM(id uint64) *vm {
	if id == 0 || id > uint64(len(e.vms)) || !e.vms[id-1].live {
		return nil
	}
	return &e.vms[id-1]
}

// validPerms reports whether untrusted perms are a non-empty subset of R|W|X.
func validPerms(perms uint64) bool { return perms != 0 && perms&^uint64(PermRWX) == 0 }

// checkTransfer is the validation MEM_DONATE and MEM_SHARE share, in the
// contract's order: vmid, PA range, IPA range, perms, then the ledger page by
// page (every page owned by the host and not shared), then the VM's
// stage-2 (every IPA unmapped).
func (e *Engine) checkTransfer(id uint64, pa PA, ipa IPA, n, perms uint64, ownerCheck bool) (*vm, abi.Status) {
	v := e.liveVM(id)
	switch {
	case v == nil, !pageRange(uint64(pa), n, e.cfg.RAM), !pageRange(uint64(ipa), n, ipaSpace), !validPerms(perms):
		return nil, abi.InvalidParameters
	}
	for i := uint64(0); ownerCheck && i < n; i++ {
		p := &e.pages[e.pfn(pa)+i]
		if !p.ownedBy(HostVMID) || p.shared {
			return nil, abi.Denied
		}
	}
	for i := uint64(0); i < n; i++ {
		if _, mapped := e.translate(&v.s2, ipa+IPA(i<<PageShift)); mapped {
			return nil, abi.Denied
		}
	}
	return v, abi.Success
}

// MemDonate is MEM_DONATE: the host gives n pages at pa to VM id, which
// maps them at ipa with perms. The host loses access before the VM gains it.
//
// Postconditions on success: the pages are owned by the VM, not shared,
// absent from the host stage-2 (each live entry broken and invalidated), and
// mapped in the VM's stage-2; they have been cleaned to the point of
// coherency, since the guest may read them with its caches off.
func (e *Engine) MemDonate(id uint64, pa PA, ipa IPA, n, perms uint64) abi.Status {
	v, st := e.checkTransfer(id, pa, ipa, n, perms, !plant.SkipOwnerCheckOnDonate)
	if st != abi.Success {
		return st
	}
	if e.unmapNeed(&e.host, IPA(pa), n)+e.mapNeed(&v.s2, ipa, pa, n) > e.pool.nfree {
		return abi.NoMemory
	}
	if !plant.KeepHostMappingOnDonate {
		e.unmapRange(&e.host, IPA(pa), n)
	}
	e.plat.CleanToPoC(pa, n)
	e.setOwner(pa, n, abi.OwnerVM, VMID(id))
	e.mapRange(&v.s2, ipa, pa, n, Attr{Perms: Perms(perms)})
	return abi.Success
}

// MemShare is MEM_SHARE: the host lets VM id map n of its pages at ipa with
// perms, and keeps them. A protected VM takes only donated memory: once
// every check MEM_DONATE makes has passed, MEM_SHARE into it is DENIED.
//
// Postconditions on success: the pages are owned by the host, shared with
// the VM, still in the host stage-2, and mapped in the VM's.
func (e *Engine) MemShare(id uint64, pa PA, ipa IPA, n, perms uint64) abi.Status {
	v, st := e.checkTransfer(id, pa, ipa, n, perms, true)
	if st != abi.Success {
		return st
	}
	if v.protected && !plant.ShareIntoProtectedVM {
		return abi.Denied
	}
	if e.mapNeed(&v.s2, ipa, pa, n) > e.pool.nfree {
		return abi.NoMemory
	}
	for i := uint64(0); i < n; i++ {
		p := &e.pages[e.pfn(pa)+i]
		p.shared, p.borrower = true, uint8(id)
	}
	e.mapRange(&v.s2, ipa, pa, n, Attr{Perms: Perms(perms)})
	return abi.Success
}

// nextRun returns the run of the mapped IPA range (ipa, n pages) of s that
// starts k pages in: its first IPA, first PA and length, the longest whose
// output addresses are contiguous. The caller walks the range by adding each
// length to k until it reaches n.
// Precondition: k < n and every page of the range is mapped.
func (e *Engine) nextRun(s *stage2, ipa IPA, n, k uint64) (IPA, PA, uint64) {
	first := ipa + IPA(k<<PageShift)
	pa := e.mustTranslate(s, first)
	cnt := uint64(1)
	for k+cnt < n {
		m, ok := e.translate(s, first+IPA(cnt<<PageShift))
		if !ok || m.PA != pa+PA(cnt<<PageShift) {
			break
		}
		cnt++
	}
	return first, pa, cnt
}

// mustTranslate returns the PA ipa maps to, which the caller checked.
func (e *Engine) mustTranslate(s *stage2, ipa IPA) PA {
	m, ok := e.translate(s, ipa)
	if !ok {
		panic("isolation: checked page is not mapped")
	}
	return m.PA
}

// checkMapped checks that each of the n pages at ipa is mapped in s to a
// RAM page that the ledger says is owned by owner and shared with borrower
// (or not shared, if shared is false).
func (e *Engine) checkMapped(s *stage2, ipa IPA, n uint64, owner VMID, shared bool, borrower VMID) abi.Status {
	for i := uint64(0); i < n; i++ {
		m, ok := e.translate(s, ipa+IPA(i<<PageShift))
		if !ok || !e.ramPage(m.PA) {
			return abi.Denied
		}
		p := e.pageAt(m.PA)
		if !p.ownedBy(owner) || p.shared != shared || (shared && VMID(p.borrower) != borrower) {
			return abi.Denied
		}
	}
	return abi.Success
}

// MemUnshare is MEM_UNSHARE: the host revokes a MEM_SHARE of the n pages VM
// id maps at ipa.
//
// The ledger is committed first, page by page through the VM's stage-2
// (the only record of which page each IPA maps), then the whole range is
// unmapped in one update: exactly the update unmapNeed reserved tables
// for. The pages are the host's throughout, so the moment the VM loses
// them may follow the ledger's change.
//
// Postconditions on success: the pages are gone from the VM's stage-2 and
// no longer shared.
func (e *Engine) MemUnshare(id uint64, ipa IPA, n uint64) abi.Status {
	v := e.liveVM(id)
	if v == nil || !pageRange(uint64(ipa), n, ipaSpace) {
		return abi.InvalidParameters
	}
	if st := e.checkMapped(&v.s2, ipa, n, HostVMID, true, VMID(id)); st != abi.Success {
		return st
	}
	if e.unmapNeed(&v.s2, ipa, n) > e.pool.nfree {
		return abi.NoMemory
	}
	for i := uint64(0); i < n; i++ {
		pa := e.mustTranslate(&v.s2, ipa+IPA(i<<PageShift))
		e.setOwner(pa, 1, abi.OwnerHost, HostVMID)
	}
	e.unmapRange(&v.s2, ipa, n)
	return abi.Success
}

// MemReclaim is MEM_RECLAIM: the host takes back n pages nobody owns (of a
// destroyed VM, or relinquished). Each page is checked in address order: a
// page of a live VM gives BUSY (the host must destroy the VM first), a page
// owned by the host or the engine DENIED; the first failing page decides.
//
// Postconditions on success: the pages are zeroed, cleaned to the point of
// coherency, owned by the host and mapped in the host stage-2, in that
// order, so the host never sees what the previous owner left.
func (e *Engine) MemReclaim(pa PA, n uint64) abi.Status {
	if !pageRange(uint64(pa), n, e.cfg.RAM) {
		return abi.InvalidParameters
	}
	for i := uint64(0); i < n; i++ {
		switch e.pages[e.pfn(pa)+i].owner {
		case abi.OwnerNone:
		case abi.OwnerVM:
			if plant.ReclaimLiveVMIsDenied {
				return abi.Denied
			}
			return abi.Busy
		default:
			return abi.Denied
		}
	}
	if e.mapNeed(&e.host, IPA(pa), pa, n) > e.pool.nfree {
		return abi.NoMemory
	}
	if !plant.SkipZeroOnReclaim {
		e.plat.ZeroPages(pa, n)
	}
	e.plat.CleanToPoC(pa, n)
	e.setOwner(pa, n, abi.OwnerHost, HostVMID)
	e.mapRange(&e.host, IPA(pa), pa, n, hostRAM)
	return abi.Success
}

// PageInfo is what MEM_INFO reports about a page, in register form: owner
// kind (abi.Owner*), owner vmid (VM owners only), shared 0/1, borrower
// (abi.HostID if not shared).
type PageInfo struct {
	Owner, VM, Shared, Borrower uint64
}

// MemInfo is MEM_INFO: the ledger entry of the page containing pa (pa need
// not be aligned). It reports metadata only, never contents.
func (e *Engine) MemInfo(pa PA) (PageInfo, abi.Status) {
	if !e.ramPage(pa) {
		return PageInfo{}, abi.InvalidParameters
	}
	p := e.pageAt(pa &^ pageMask)
	info := PageInfo{Owner: uint64(p.owner)}
	if p.owner == abi.OwnerVM {
		info.VM = uint64(p.vm)
	}
	if p.shared {
		info.Shared, info.Borrower = 1, uint64(p.borrower)
	}
	return info, abi.Success
}

// hostShared is how the host maps a page a VM shares with it: read and
// write, never executable, so the host never runs what a guest wrote.
var hostShared = Attr{Perms: PermRW}

// GuestShare is GUEST_SHARE from VM id: it lets the host read and write the
// n pages it maps at ipa, which it must own and not share. Like every guest
// memory call it covers at most abi.GuestMaxPages pages (budget.go), and
// reserves the most tables the update of each run of it can take (runNeed).
//
// Postconditions on success: the pages are shared with the host and mapped
// in the host stage-2 at their PA.
func (e *Engine) GuestShare(id VMID, ipa IPA, n uint64) abi.Status {
	v := &e.vms[id-1]
	if !pageRange(uint64(ipa), n, ipaSpace) || !guestPagesOK(n) {
		return abi.InvalidParameters
	}
	if st := e.checkMapped(&v.s2, ipa, n, id, false, 0); st != abi.Success {
		return st
	}
	need := 0
	for k := uint64(0); k < n; {
		_, pa, cnt := e.nextRun(&v.s2, ipa, n, k)
		need += runNeed(IPA(pa), cnt)
		k += cnt
	}
	if need > e.pool.nfree {
		return abi.NoMemory
	}
	for k := uint64(0); k < n; {
		_, pa, cnt := e.nextRun(&v.s2, ipa, n, k)
		e.setShared(pa, cnt, true, HostVMID)
		e.mapRange(&e.host, IPA(pa), pa, cnt, hostShared)
		k += cnt
	}
	return abi.Success
}

// setShared marks n pages at pa shared with borrower, or not shared.
func (e *Engine) setShared(pa PA, n uint64, shared bool, borrower VMID) {
	for i := uint64(0); i < n; i++ {
		p := &e.pages[e.pfn(pa)+i]
		p.shared, p.borrower = shared, uint8(borrower)
	}
}

// GuestUnshare is GUEST_UNSHARE from VM id: the host loses access to the n
// pages the VM maps at ipa, which it must own and share with the host.
//
// Postconditions on success: the pages are gone from the host stage-2 (each
// live entry broken and invalidated) and not shared.
func (e *Engine) GuestUnshare(id VMID, ipa IPA, n uint64) abi.Status {
	v := &e.vms[id-1]
	if !pageRange(uint64(ipa), n, ipaSpace) || !guestPagesOK(n) {
		return abi.InvalidParameters
	}
	if st := e.checkMapped(&v.s2, ipa, n, id, true, HostVMID); st != abi.Success {
		return st
	}
	need := 0
	for k := uint64(0); k < n; {
		_, pa, cnt := e.nextRun(&v.s2, ipa, n, k)
		need += runNeed(IPA(pa), cnt)
		k += cnt
	}
	if need > e.pool.nfree {
		return abi.NoMemory
	}
	for k := uint64(0); k < n; {
		_, pa, cnt := e.nextRun(&v.s2, ipa, n, k)
		e.unmapRange(&e.host, IPA(pa), cnt)
		e.setShared(pa, cnt, false, HostVMID)
		k += cnt
	}
	return abi.Success
}

// GuestRelinquish is GUEST_RELINQUISH from VM id: the VM gives up the n
// pages it maps at ipa, which it must own and not share.
//
// Postconditions on success: the pages are gone from the VM's stage-2, then
// zeroed and cleaned, and owned by nobody until the host reclaims them.
func (e *Engine) GuestRelinquish(id VMID, ipa IPA, n uint64) abi.Status {
	v := &e.vms[id-1]
	if !pageRange(uint64(ipa), n, ipaSpace) || !guestPagesOK(n) {
		return abi.InvalidParameters
	}
	if st := e.checkMapped(&v.s2, ipa, n, id, false, 0); st != abi.Success {
		return st
	}
	need := 0
	for k := uint64(0); k < n; {
		rIPA, _, cnt := e.nextRun(&v.s2, ipa, n, k)
		need += runNeed(rIPA, cnt)
		k += cnt
	}
	if need > e.pool.nfree {
		return abi.NoMemory
	}
	for k := uint64(0); k < n; {
		rIPA, pa, cnt := e.nextRun(&v.s2, ipa, n, k)
		e.unmapRange(&v.s2, rIPA, cnt)
		e.plat.ZeroPages(pa, cnt)
		e.plat.CleanToPoC(pa, cnt)
		e.setOwner(pa, cnt, abi.OwnerNone, HostVMID)
		k += cnt
	}
	return abi.Success
}
