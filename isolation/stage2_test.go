package isolation

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// emptyEngine returns an engine over SmallConfig whose VM slot 1 has a fresh
// stage-2, for exercising the table code directly.
func emptyEngine(t *testing.T, tables int) (*Engine, *stage2, *tlbLog) {
	e, l := newLogged(t, SmallConfig(), tables, SmallPoolBase)
	v := &e.vms[0]
	require.True(t, e.newStage2(&v.s2, 1))
	v.live = true
	return e, &v.s2, l
}

// leafCount returns how many leaves of each level s has.
func leafCount(e *Engine, s *stage2) (levels [4]int, tables int) {
	it := e.leaves(s)
	for {
		_, _, lvl, ok := e.next(&it)
		if !ok {
			return levels, it.tables
		}
		levels[lvl]++
	}
}

// checkRange asserts that n pages at ipa translate to pa onwards with a.
func checkRange(t *testing.T, e *Engine, s *stage2, ipa IPA, pa PA, n uint64, a Attr) {
	t.Helper()
	for i := uint64(0); i < n; i += max(1, n/97) {
		m, ok := e.translate(s, ipa+IPA(i<<PageShift))
		require.True(t, ok, "page %d", i)
		assert.Equal(t, pa+PA(i<<PageShift), m.PA, "page %d", i)
		assert.Equal(t, a, m.Attr)
	}
}

func TestMapUsesLargestBlocks(t *testing.T) {
	cases := []struct {
		name     string
		ipa      IPA
		pa       PA
		n        uint64
		wantLeaf [4]int
	}{
		{"one page", 0x1000, 0x4000_1000, 1, [4]int{0, 0, 0, 1}},
		{"2M aligned", 0x20_0000, 0x4020_0000, 512, [4]int{0, 0, 1, 0}},
		{"2M misaligned PA", 0x20_0000, 0x4020_1000, 512, [4]int{0, 0, 0, 512}},
		{"1G aligned", 0x4000_0000, 0x8000_0000, 1 << 18, [4]int{0, 1, 0, 0}},
		{"1G + 2M + page", 0x4000_0000, 0x8000_0000, 1<<18 + 513, [4]int{0, 1, 1, 1}},
		{"straddles 2M", 0x1f_f000, 0x401f_f000, 2, [4]int{0, 0, 0, 2}},
		{"top of IPA space", IPA(ipaLimit - PageSize), 0x4000_0000, 1, [4]int{0, 0, 0, 1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, s, l := emptyEngine(t, 64)
			a := Attr{Perms: PermRW}
			need := e.mapNeed(s, c.ipa, c.pa, c.n)
			before := e.pool.nfree
			e.mapRange(s, c.ipa, c.pa, c.n, a)
			assert.Equal(t, need, before-e.pool.nfree, "reservation is exact for a map into empty space")
			lv, tables := leafCount(e, s)
			assert.Equal(t, c.wantLeaf, lv)
			assert.Equal(t, need, tables)
			checkRange(t, e, s, c.ipa, c.pa, c.n, a)
			_, ok := e.translate(s, c.ipa-PageSize)
			assert.False(t, ok, "page before the range")
			_, ok = e.translate(s, c.ipa+IPA(c.n<<PageShift))
			assert.False(t, ok, "page after the range")
			assert.Empty(t, l.invals, "mapping into invalid entries needs no TLB maintenance")
		})
	}
}

func TestUnmapSplitsBlocksWithBreakBeforeMake(t *testing.T) {
	e, s, l := emptyEngine(t, 64)
	a := Attr{Perms: PermRWX}
	e.mapRange(s, 0x4000_0000, 0x8000_0000, 1<<18, a) // one 1 GiB block
	need := e.unmapNeed(s, 0x4020_3000, 1)
	assert.Equal(t, 2, need, "split 1 GiB into 2 MiB, then 2 MiB into pages")
	allocs := e.pool.allocs
	e.unmapRange(s, 0x4020_3000, 1)
	assert.Equal(t, uint64(need), e.pool.allocs-allocs)
	_, ok := e.translate(s, 0x4020_3000)
	assert.False(t, ok)
	checkRange(t, e, s, 0x4000_0000, 0x8000_0000, 0x203, a)
	checkRange(t, e, s, 0x4020_4000, 0x8020_4000, 1<<18-0x204, a)
	lv, _ := leafCount(e, s)
	assert.Equal(t, [4]int{0, 0, 511, 511}, lv)
	// The 1 GiB block, then the 2 MiB block, then the page were invalidated.
	assert.Equal(t, []IPA{0x4000_0000, 0x4020_0000, 0x4020_3000}, l.invals)
}

func TestUnmapFreesEmptyTables(t *testing.T) {
	e, s, l := emptyEngine(t, 64)
	free := e.pool.nfree
	e.mapRange(s, 0x1000, 0x4000_1000, 3, Attr{Perms: PermR})
	e.unmapRange(s, 0x1000, 3)
	assert.Equal(t, free, e.pool.nfree, "the level-2 and level-3 tables went back to the pool")
	lv, tables := leafCount(e, s)
	assert.Equal(t, [4]int{}, lv)
	assert.Zero(t, tables)
	assert.Len(t, l.invals, 3+2, "three pages, then the two table entries")
}

func TestMapOverTableReplacesItWithBlock(t *testing.T) {
	e, s, _ := emptyEngine(t, 64)
	e.mapRange(s, 0x20_0000, 0x4020_0000, 1, Attr{Perms: PermR})
	free := e.pool.nfree
	e.mapRange(s, 0x20_0000, 0x4040_0000, 512, Attr{Perms: PermRW})
	assert.Equal(t, free+1, e.pool.nfree, "the level-3 table was freed")
	m, ok := e.translate(s, 0x20_0000)
	require.True(t, ok)
	assert.Equal(t, Mapping{PA: 0x4040_0000, Attr: Attr{Perms: PermRW}, Level: 2}, m)
}

func TestMapOverLivePageBreaksFirst(t *testing.T) {
	e, s, l := emptyEngine(t, 64)
	e.mapRange(s, 0x1000, 0x4000_1000, 1, Attr{Perms: PermR})
	e.mapRange(s, 0x1000, 0x4000_2000, 1, Attr{Perms: PermRW})
	assert.Equal(t, []IPA{0x1000}, l.invals)
	m, _ := e.translate(s, 0x1000)
	assert.Equal(t, PA(0x4000_2000), m.PA)
}

// TestRunNeedCountsTouchedEntries checks runNeed against the entries of
// levels 1 (1 GiB) and 2 (2 MiB) a range touches, counted page by page.
func TestRunNeedCountsTouchedEntries(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 200; i++ {
		n := uint64(1 + r.IntN(1200))
		ipa := IPA(r.Uint64N(1<<28-n) << PageShift)
		if r.IntN(4) == 0 {
			ipa = IPA((r.Uint64N(1<<10)+1)<<30 - r.Uint64N(3)<<PageShift) // starts just below a 1 GiB boundary
		}
		l1, l2 := map[uint64]bool{}, map[uint64]bool{}
		for k := uint64(0); k < n; k++ {
			a := uint64(ipa) + k<<PageShift
			l1[a>>30], l2[a>>21] = true, true
		}
		assert.Equal(t, len(l1)+len(l2), runNeed(ipa, n), "ipa %#x, %d pages", ipa, n)
	}
}

func TestUnmapOfNothingIsNoop(t *testing.T) {
	e, s, l := emptyEngine(t, 64)
	assert.Zero(t, e.unmapNeed(s, 0x5000, 10))
	e.unmapRange(s, 0x5000, 10)
	assert.Empty(t, l.invals)
}

func TestFreeStage2ReturnsEveryTable(t *testing.T) {
	e, s, l := emptyEngine(t, 64)
	free := e.pool.nfree
	e.mapRange(s, 0x1000, 0x4000_1000, 3, Attr{Perms: PermR})
	e.mapRange(s, 0x80_0000_0000-0x1000, 0x4000_1000, 1, Attr{Perms: PermR})
	e.freeStage2(s)
	assert.Equal(t, free+S2RootTables, e.pool.nfree)
	assert.Equal(t, 1, l.all)
	assert.Equal(t, -1, s.root)
}

// TestNeedBoundsAllocationsRandomly runs random maps and unmaps over a
// stage-2 and checks that every operation takes no more tables than
// reserved (mapNeed or unmapNeed before it, and runNeed), that maps into
// empty space take exactly the reservation, and that the walker agrees
// with a page-by-page model.
func TestNeedBoundsAllocationsRandomly(t *testing.T) {
	e, s, _ := emptyEngine(t, 4096)
	r := rand.New(rand.NewPCG(1, 2))
	model := make(map[uint64]PA) // IPA page -> PA
	const span = 4 << 18         // 4 GiB of IPA, pages
	for i := 0; i < 400; i++ {
		n := uint64(1 + r.IntN(1500))
		if r.IntN(40) == 0 {
			n = 1 << 18
		}
		ipaPage := r.Uint64N(span-n) &^ uint64(r.IntN(2)*511)
		pa := PA(0x4000_0000 + r.Uint64N(1<<18)<<PageShift)
		if r.IntN(3) == 0 {
			pa &^= 0x1f_ffff
		}
		ipa := IPA(ipaPage << PageShift)
		allocs := e.pool.allocs
		if r.IntN(2) == 0 {
			need := e.mapNeed(s, ipa, pa, n)
			e.mapRange(s, ipa, pa, n, Attr{Perms: PermRW})
			require.LessOrEqual(t, e.pool.allocs-allocs, uint64(need))
			require.LessOrEqual(t, e.pool.allocs-allocs, uint64(runNeed(ipa, n)))
			for k := uint64(0); k < n; k++ {
				model[ipaPage+k] = pa + PA(k<<PageShift)
			}
		} else {
			need := e.unmapNeed(s, ipa, n)
			e.unmapRange(s, ipa, n)
			require.LessOrEqual(t, e.pool.allocs-allocs, uint64(need))
			require.LessOrEqual(t, e.pool.allocs-allocs, uint64(runNeed(ipa, n)))
			for k := uint64(0); k < n; k++ {
				delete(model, ipaPage+k)
			}
		}
	}
	mapped := 0
	it := e.leaves(s)
	for {
		ipa, d, lvl, ok := e.next(&it)
		if !ok {
			break
		}
		for k := uint64(0); k < levelSize(lvl)>>PageShift; k++ {
			want, in := model[ipa>>PageShift+k]
			require.True(t, in, "ipa %#x mapped but not in model", ipa+k<<PageShift)
			require.Equal(t, want, descOA(d)+PA(k<<PageShift))
			mapped++
		}
	}
	assert.Equal(t, len(model), mapped)
	hostIt := e.leaves(&e.host)
	for _, _, _, ok := e.next(&hostIt); ok; _, _, _, ok = e.next(&hostIt) {
	}
	assert.Equal(t, len(e.pool.Tables), e.pool.nfree+it.tables+hostIt.tables+2*S2RootTables, "no table leaked")
}
