package guest

import "bulkhead/boot/virt"

// Pages hands out fresh pages of a region, each once, so that tests never
// share a page whose state another test changed (shared, relinquished,
// donated).
type Pages struct {
	next, end uint64
}

// NewPages hands out the whole pages of r.
func NewPages(r virt.Region) *Pages {
	lo := (r.Base + virt.PageSize - 1) &^ (virt.PageSize - 1)
	hi := r.End() &^ (virt.PageSize - 1)
	if hi < lo {
		hi = lo
	}
	return &Pages{next: lo, end: hi}
}

// Take returns the address of n fresh contiguous pages, or false if fewer
// are left.
func (p *Pages) Take(n uint64) (uint64, bool) {
	if n == 0 || n > (p.end-p.next)/virt.PageSize {
		return 0, false
	}
	a := p.next
	p.next += n * virt.PageSize
	return a, true
}

// Left returns how many pages are left.
func (p *Pages) Left() uint64 { return (p.end - p.next) / virt.PageSize }
