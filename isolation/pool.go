package isolation

import (
	"errors"
	"math/bits"
)

// Table is one translation table: 512 descriptors, 4 KiB, 4 KiB aligned.
type Table [entriesPerTable]uint64

// Pool is the memory stage-2 tables are taken from, as the engine receives
// it at start: Tables[i] is the table at physical address Base + i*PageSize.
// On the target the arch code builds Tables over engine-owned physical
// memory, so every descriptor written here is one the MMU walks; tests use
// an ordinary slice and any page-aligned Base.
type Pool struct {
	Tables []Table
	Base   PA
}

// NewPool returns a Pool of n zeroed tables based at base, for tests and
// host tools.
func NewPool(n int, base PA) Pool { return Pool{Tables: make([]Table, n), Base: base} }

// tablePool hands out tables of a Pool. Single tables come from the top of
// the pool and concatenated roots from the bottom, so that the pairs roots
// need are not fragmented by single tables.
type tablePool struct {
	Pool
	free   []uint64 // bit i set: table i is free
	nfree  int
	allocs uint64 // tables taken since init, for checking reservations
}

// errPool reports an unusable Pool.
var errPool = errors.New("isolation: table pool must be non-empty, page aligned and below 2^48")

// oaLimit is the first physical address a table descriptor cannot name: with
// the 4 KiB granule and no FEAT_LPA, a descriptor holds output address bits
// [47:12] (Arm ARM D8.3.1, "Table descriptor format"). A table above it would
// be hooked under a truncated address, which the MMU and index would follow
// elsewhere.
const oaLimit = descOAMask + PageSize

// init prepares p over pool with every table free.
func (p *tablePool) init(pool Pool) error {
	n := uint64(len(pool.Tables))
	if n == 0 || uint64(pool.Base)&pageMask != 0 || !pageRange(uint64(pool.Base), n, Range{0, oaLimit}) {
		return errPool
	}
	p.Pool = pool
	p.free = make([]uint64, (n+63)/64)
	for i := range pool.Tables {
		p.release(i)
	}
	return nil
}

// pa returns the physical address of table i.
func (p *tablePool) pa(i int) PA { return p.Base + PA(i)<<PageShift }

// index returns the table at pa. A descriptor pointing outside the pool is
// an invariant violation: only this package writes descriptors.
func (p *tablePool) index(pa PA) int {
	off := uint64(pa - p.Base)
	if pa < p.Base || off>>PageShift >= uint64(len(p.Tables)) {
		panic("isolation: table descriptor points outside the table pool")
	}
	return int(off >> PageShift)
}

// isFree reports whether table i is free.
func (p *tablePool) isFree(i int) bool { return p.free[i/64]&(1<<(i%64)) != 0 }

// take marks table i in use and zeroes it.
func (p *tablePool) take(i int) {
	p.free[i/64] &^= 1 << (i % 64)
	p.nfree--
	p.allocs++
	p.Tables[i] = Table{}
}

// release returns table i to the pool.
// Precondition: table i is in use, and nothing points to it any more.
func (p *tablePool) release(i int) {
	if p.isFree(i) {
		panic("isolation: table released twice")
	}
	p.free[i/64] |= 1 << (i % 64)
	p.nfree++
}

// alloc takes the highest free table, or returns -1 if there is none.
func (p *tablePool) alloc() int {
	for w := len(p.free) - 1; w >= 0; w-- {
		if p.free[w] != 0 {
			i := w*64 + 63 - bits.LeadingZeros64(p.free[w])
			p.take(i)
			return i
		}
	}
	return -1
}

// allocRoot takes the lowest pair of free tables i, i+1 whose address is
// S2RootAlign aligned, or returns -1 if there is none.
func (p *tablePool) allocRoot() int {
	for i := 0; i+1 < len(p.Tables); i++ {
		if uint64(p.pa(i))%S2RootAlign == 0 && p.isFree(i) && p.isFree(i+1) {
			p.take(i)
			p.take(i + 1)
			return i
		}
	}
	return -1
}
