package isolation_test

import (
	"fmt"
	"maps"
	"math/bits"
	"slices"

	"bulkhead/isolation"
	"bulkhead/isolation/abi"
)

// model is a reference implementation of the contract
// (bulkhead-contract.md) for SmallConfig, written from the contract alone:
// plain maps and loops, no tables. The property tests run it side by side
// with the engine and compare statuses and abstract states.
type model struct {
	pages [npage]mPage
	vms   [2]mVM
}

type mPage struct {
	owner    uint8
	vm       isolation.VMID
	shared   bool
	borrower isolation.VMID
	zero     bool
}

type mMapping struct {
	pfn   uint64
	perms isolation.Perms
}

type mVM struct {
	live      bool
	n         int
	hasRun    bool
	protected bool
	vcpu      [2]isolation.VCPUState
	m         map[uint64]mMapping // IPA page -> PA page
}

const pfn0 = uint64(ram0) >> 12

// clone returns a copy of m that shares nothing with it.
func (m *model) clone() *model {
	c := *m
	for i := range c.vms {
		c.vms[i].m = maps.Clone(m.vms[i].m)
	}
	return &c
}

func newModel() *model {
	m := &model{}
	for i := range m.pages {
		m.pages[i] = mPage{owner: abi.OwnerHost, zero: true}
	}
	m.pages[0].owner = abi.OwnerEngine
	return m
}

// span checks an untrusted (base, pages) pair against [lo, hi).
func span(base, n, lo, hi uint64) bool {
	if n == 0 || base%page != 0 {
		return false
	}
	hiBits, size := bits.Mul64(n, page)
	end, carry := bits.Add64(base, size, 0)
	return hiBits == 0 && carry == 0 && base >= lo && end <= hi
}

func (m *model) ramSpan(pa, n uint64) bool { return span(pa, n, uint64(ram0), uint64(ram0)+npage*page) }
func ipaSpan(ipa, n uint64) bool           { return span(ipa, n, 0, 1<<40) }

func (m *model) vm(id uint64) *mVM {
	if id == 0 || id > 2 || !m.vms[id-1].live {
		return nil
	}
	return &m.vms[id-1]
}

func (m *model) pg(pa uint64) *mPage { return &m.pages[(pa-uint64(ram0))/page] }

func (m *model) create(n, flags uint64) (abi.Status, uint64) {
	if n == 0 || n > 2 {
		return abi.InvalidParameters, 0
	}
	for i := range m.vms {
		if !m.vms[i].live {
			m.vms[i] = mVM{live: true, n: int(n), protected: flags&1 == 1, m: map[uint64]mMapping{}}
			return abi.Success, uint64(i + 1)
		}
	}
	return abi.NoMemory, 0
}

func (m *model) destroy(id uint64) abi.Status {
	v := m.vm(id)
	if v == nil {
		return abi.InvalidParameters
	}
	for i := range m.pages {
		p := &m.pages[i]
		if p.owner == abi.OwnerVM && uint64(p.vm) == id {
			*p = mPage{owner: abi.OwnerNone, zero: p.zero}
		}
		if p.owner == abi.OwnerHost && p.shared && uint64(p.borrower) == id {
			p.shared, p.borrower = false, 0
		}
	}
	*v = mVM{}
	return abi.Success
}

func (m *model) vcpu(id, v uint64) *mVM {
	vm := m.vm(id)
	if vm == nil || v >= uint64(vm.n) {
		return nil
	}
	return vm
}

func (m *model) init(id, v, entry uint64) abi.Status {
	vm := m.vcpu(id, v)
	switch {
	case vm == nil, entry%4 != 0:
		return abi.InvalidParameters
	case vm.hasRun:
		return abi.Denied
	}
	vm.vcpu[v] = isolation.VCPUOn
	return abi.Success
}

func (m *model) irq(id, v, intid, level uint64) abi.Status {
	if m.vcpu(id, v) == nil || intid >= 1020 || level > 1 {
		return abi.InvalidParameters
	}
	return abi.Success
}

func (m *model) transfer(donate bool, id, pa, ipa, n, perms uint64) abi.Status {
	v := m.vm(id)
	if v == nil || !m.ramSpan(pa, n) || !ipaSpan(ipa, n) || perms == 0 || perms&^7 != 0 {
		return abi.InvalidParameters
	}
	for k := uint64(0); k < n; k++ {
		if p := m.pg(pa + k*page); p.owner != abi.OwnerHost || p.shared {
			return abi.Denied
		}
	}
	for k := uint64(0); k < n; k++ {
		if _, ok := v.m[ipa/page+k]; ok {
			return abi.Denied
		}
	}
	if !donate && v.protected {
		return abi.Denied
	}
	for k := uint64(0); k < n; k++ {
		p := m.pg(pa + k*page)
		if donate {
			p.owner, p.vm = abi.OwnerVM, isolation.VMID(id)
		} else {
			p.shared, p.borrower = true, isolation.VMID(id)
		}
		v.m[ipa/page+k] = mMapping{pfn: pa/page + k, perms: isolation.Perms(perms)}
	}
	return abi.Success
}

// mapped checks each of n IPA pages of v: mapped, owned by owner (0 host,
// else a VM) and shared with borrower (or not shared, if borrower < 0).
func (m *model) mapped(v *mVM, ipa, n uint64, owner isolation.VMID, borrower int) abi.Status {
	for k := uint64(0); k < n; k++ {
		mp, ok := v.m[ipa/page+k]
		if !ok {
			return abi.Denied
		}
		p := &m.pages[mp.pfn-pfn0]
		own := (owner == 0 && p.owner == abi.OwnerHost) || (owner != 0 && p.owner == abi.OwnerVM && p.vm == owner)
		sh := (borrower < 0 && !p.shared) || (borrower >= 0 && p.shared && int(p.borrower) == borrower)
		if !own || !sh {
			return abi.Denied
		}
	}
	return abi.Success
}

func (m *model) unshare(id, ipa, n uint64) abi.Status {
	v := m.vm(id)
	if v == nil || !ipaSpan(ipa, n) {
		return abi.InvalidParameters
	}
	if st := m.mapped(v, ipa, n, 0, int(id)); st != abi.Success {
		return st
	}
	for k := uint64(0); k < n; k++ {
		p := &m.pages[v.m[ipa/page+k].pfn-pfn0]
		p.shared, p.borrower = false, 0
		delete(v.m, ipa/page+k)
	}
	return abi.Success
}

func (m *model) reclaim(pa, n uint64) abi.Status {
	if !m.ramSpan(pa, n) {
		return abi.InvalidParameters
	}
	for k := uint64(0); k < n; k++ {
		switch m.pg(pa + k*page).owner {
		case abi.OwnerNone:
		case abi.OwnerVM:
			return abi.Busy
		default:
			return abi.Denied
		}
	}
	for k := uint64(0); k < n; k++ {
		*m.pg(pa + k*page) = mPage{owner: abi.OwnerHost, zero: true}
	}
	return abi.Success
}

func (m *model) info(pa uint64) (abi.Status, [4]uint64) {
	if pa < uint64(ram0) || pa >= uint64(ram0)+npage*page {
		return abi.InvalidParameters, [4]uint64{}
	}
	p := m.pg(pa &^ (page - 1))
	out := [4]uint64{uint64(p.owner), uint64(p.vm), 0, uint64(p.borrower)}
	if p.shared {
		out[2] = 1
	}
	return abi.Success, out
}

func (m *model) guestMem(call uint32, id isolation.VMID, ipa, n uint64) abi.Status {
	v := &m.vms[id-1]
	if !ipaSpan(ipa, n) || n > abi.GuestMaxPages {
		return abi.InvalidParameters
	}
	borrower := -1
	if call == abi.GuestUnshare {
		borrower = 0
	}
	if st := m.mapped(v, ipa, n, id, borrower); st != abi.Success {
		return st
	}
	for k := uint64(0); k < n; k++ {
		mp := v.m[ipa/page+k]
		p := &m.pages[mp.pfn-pfn0]
		switch call {
		case abi.GuestShare:
			p.shared, p.borrower = true, 0
		case abi.GuestUnshare:
			p.shared = false
		default:
			*p = mPage{owner: abi.OwnerNone, zero: true}
			delete(v.m, ipa/page+k)
		}
	}
	return abi.Success
}

// memState is GUEST_MEMSTATE from VM id: the state of the page at ipa and
// the run of pages in that state, from the model's own maps.
func (m *model) memState(id isolation.VMID, ipa, n uint64) (abi.Status, uint64, uint64) {
	v := &m.vms[id-1]
	if !ipaSpan(ipa, n) {
		return abi.InvalidParameters, 0, 0
	}
	state := func(i uint64) uint64 {
		mp, ok := v.m[i]
		switch {
		case !ok:
			return abi.MemUnmapped
		case m.pages[mp.pfn-pfn0].owner != abi.OwnerVM:
			return abi.MemLent
		case m.pages[mp.pfn-pfn0].shared:
			return abi.MemShared
		}
		return abi.MemPrivate
	}
	first, run := state(ipa/page), uint64(1)
	for run < min(n, abi.MemStateMaxRun) && state(ipa/page+run) == first {
		run++
	}
	return abi.Success, first, run
}

// hostVisible is the set of RAM pages the host stage-2 must map.
func (m *model) hostVisible() []uint64 {
	var out []uint64
	for i, p := range m.pages {
		if p.owner == abi.OwnerHost || (p.owner == abi.OwnerVM && p.shared && p.borrower == 0) {
			out = append(out, pfn0+uint64(i))
		}
	}
	return out
}

// compare reports the first difference between the model and a snapshot.
func (m *model) compare(s isolation.Abstract) error {
	for i, p := range m.pages {
		a := s.Pages[i]
		want := isolation.AbstractPage{PFN: pfn0 + uint64(i), Owner: p.owner, VM: p.vm, Shared: p.shared, Borrower: p.borrower, Zero: p.zero}
		if a != want {
			return fmt.Errorf("page %d: engine %+v, model %+v", i, a, want)
		}
	}
	if want := m.hostVisible(); !slices.Equal(s.Host, want) {
		return fmt.Errorf("host map: engine %v, model %v", s.Host, want)
	}
	for i, v := range m.vms {
		a := s.VMs[i]
		if a.Live != v.live || a.VCPUs != v.n || a.HasRun != v.hasRun || a.Protected != v.protected {
			return fmt.Errorf("VM %d: engine %+v, model %+v", i+1, a, v)
		}
		for j := 0; j < v.n; j++ {
			if a.VCPU[j] != v.vcpu[j] {
				return fmt.Errorf("VM %d vCPU %d: engine %v, model %v", i+1, j, a.VCPU[j], v.vcpu[j])
			}
		}
		if len(a.Map) != len(v.m) {
			return fmt.Errorf("VM %d map: engine %d pages, model %d", i+1, len(a.Map), len(v.m))
		}
		for _, e := range a.Map {
			if w, ok := v.m[e.IPAPage]; !ok || w.pfn != e.PAPage || w.perms != e.Perms {
				return fmt.Errorf("VM %d maps %#x -> %#x %v, model %+v", i+1, e.IPAPage, e.PAPage, e.Perms, w)
			}
		}
	}
	return nil
}

// invariants checks the seven invariants of the contract on a snapshot,
// given the snapshot before the call.
func invariants(before, s isolation.Abstract) error {
	host := map[uint64]bool{}
	for _, pfn := range s.Host {
		host[pfn] = true
	}
	mappedBy := map[uint64]int{}
	for i, v := range s.VMs {
		id := isolation.VMID(i + 1)
		if !v.Live && len(v.Map) != 0 {
			return fmt.Errorf("inv 7: free slot %d has mappings", id)
		}
		for _, e := range v.Map {
			p := s.Pages[e.PAPage-pfn0]
			if !(p.Owner == abi.OwnerVM && p.VM == id) && !(p.Owner == abi.OwnerHost && p.Shared && p.Borrower == id) {
				return fmt.Errorf("inv 1: VM %d maps page %#x: %+v", id, e.PAPage, p)
			}
			if v.Protected && p.Owner != abi.OwnerVM {
				return fmt.Errorf("protected VM %d maps page %#x it does not own: %+v", id, e.PAPage, p)
			}
			mappedBy[e.PAPage]++
		}
	}
	counts := 0
	for i, p := range s.Pages {
		pfn := pfn0 + uint64(i)
		if p.Owner == abi.OwnerVM && host[pfn] && !(p.Shared && p.Borrower == 0) {
			return fmt.Errorf("inv 2: host maps VM page %#x", pfn)
		}
		if (p.Owner == abi.OwnerEngine || p.Owner == abi.OwnerNone) && (host[pfn] || mappedBy[pfn] > 0) {
			return fmt.Errorf("inv 3/5: page %#x of owner %d is mapped", pfn, p.Owner)
		}
		if p.Owner <= abi.OwnerVM {
			counts++
		}
		was := before.Pages[i]
		if p.Owner == abi.OwnerHost && was.Owner == abi.OwnerNone && !p.Zero {
			return fmt.Errorf("inv 6: reclaimed page %#x is not zero", pfn)
		}
		if p.Owner == abi.OwnerNone && was.Owner == abi.OwnerVM && s.VMs[was.VM-1].Live && !p.Zero {
			return fmt.Errorf("inv 6: relinquished page %#x is not zero", pfn)
		}
	}
	if counts != npage || len(s.Pages) != npage {
		return fmt.Errorf("inv 4: %d pages accounted for", counts)
	}
	return nil
}
