package isolation

import (
	"bulkhead/isolation/abi"
	"bulkhead/isolation/internal/plant"
)

// GuestMemState is GUEST_MEMSTATE (ABI v1.1), from a vCPU of VM id: the
// state of the page the VM maps at ipa (abi.MemUnmapped, MemPrivate,
// MemLent or MemShared) and how many pages from ipa on, at most n and at
// most abi.MemStateMaxRun, are in that state. It reads the VM's stage-2 and
// the ledger and changes nothing; its work is bounded by MemStateMaxRun
// walks.
//
// Errors: an IPA range that is empty, unaligned, wraps or leaves the IPA
// space is INVALID_PARAMETERS.
//
// Precondition: id is a live VM (the dispatcher checked the caller).
func (e *Engine) GuestMemState(id VMID, ipa IPA, n uint64) (state, run uint64, st abi.Status) {
	if !pageRange(uint64(ipa), n, ipaSpace) {
		return 0, 0, abi.InvalidParameters
	}
	s := &e.vms[id-1].s2
	state = e.memStateAt(s, ipa)
	limit := min(n, abi.MemStateMaxRun)
	run = 1
	for run < limit && e.memStateAt(s, ipa+IPA(run<<PageShift)) == state {
		run++
	}
	return state, run, abi.Success
}

// memStateAt is the state of the page s maps at ipa. A page the VM does
// not own (a host page it borrows, or anything that is not RAM) is lent:
// someone else can reach it.
func (e *Engine) memStateAt(s *stage2, ipa IPA) uint64 {
	m, ok := e.translate(s, ipa)
	switch {
	case !ok:
		return abi.MemUnmapped
	case !e.ramPage(m.PA):
		return abi.MemLent
	}
	p := e.pageAt(m.PA)
	switch {
	case p.owner != abi.OwnerVM:
		return abi.MemLent
	case p.shared && !plant.MemStateIgnoresShare:
		return abi.MemShared
	}
	return abi.MemPrivate
}
