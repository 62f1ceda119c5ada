// Package vmm is the hypervisor's VM manager: it decides which VMs exist and
// what memory they get, loads guest images into memory it then donates,
// schedules vCPUs, emulates the devices of the machine guests see, and takes
// every page back, checked, when a VM ends. It reaches the engine, memory
// and the timer only through the interfaces in machine.go, so it runs on the
// target and, against a scripted engine, under go test.
package vmm

import (
	"errors"
	"fmt"
	"sort"

	"bulkhead/boot/virt"
)

// Span is a range of whole pages of host physical memory.
type Span struct{ PA, Pages uint64 }

// End returns the first address after s.
func (s Span) End() uint64 { return s.PA + s.Pages*virt.PageSize }

// Bytes returns the size of s in bytes.
func (s Span) Bytes() uint64 { return s.Pages * virt.PageSize }

// Pool hands out contiguous page ranges of the donatable memory, first fit.
type Pool struct {
	free []Span // sorted by address, never adjacent
}

// ErrPoolExhausted reports that no free range is large enough.
var ErrPoolExhausted = errors.New("vmm: no free memory range is large enough")

// NewPool manages [base, base+pages*4KiB).
func NewPool(base, pages uint64) *Pool {
	return &Pool{free: []Span{{base, pages}}}
}

// Alloc takes pages contiguous pages, aligned to align bytes (a power of
// two, at least a page).
func (p *Pool) Alloc(pages, align uint64) (Span, error) {
	if pages == 0 || align < virt.PageSize || align&(align-1) != 0 {
		return Span{}, fmt.Errorf("vmm: bad allocation of %d pages aligned to %#x", pages, align)
	}
	for i, f := range p.free {
		start := (f.PA + align - 1) &^ (align - 1)
		if start < f.PA || start >= f.End() || (f.End()-start)/virt.PageSize < pages {
			continue
		}
		got := Span{start, pages}
		p.free = append(p.free[:i], append(split(f, got), p.free[i+1:]...)...)
		return got, nil
	}
	return Span{}, ErrPoolExhausted
}

// split returns what is left of f around got.
func split(f, got Span) []Span {
	var out []Span
	if got.PA > f.PA {
		out = append(out, Span{f.PA, (got.PA - f.PA) / virt.PageSize})
	}
	if got.End() < f.End() {
		out = append(out, Span{got.End(), (f.End() - got.End()) / virt.PageSize})
	}
	return out
}

// Free returns s to the pool, merging it with its neighbours.
func (p *Pool) Free(s Span) {
	p.free = append(p.free, s)
	sort.Slice(p.free, func(i, j int) bool { return p.free[i].PA < p.free[j].PA })
	merged := p.free[:1]
	for _, f := range p.free[1:] {
		last := &merged[len(merged)-1]
		if last.End() == f.PA {
			last.Pages += f.Pages
			continue
		}
		merged = append(merged, f)
	}
	p.free = merged
}

// FreePages returns the number of free pages.
func (p *Pool) FreePages() (n uint64) {
	for _, f := range p.free {
		n += f.Pages
	}
	return n
}
