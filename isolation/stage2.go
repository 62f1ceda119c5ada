package isolation

// stage2 is one stage-2 translation regime: the host's or a VM's.
type stage2 struct {
	root int  // index in the pool of the first of the S2RootTables tables; -1 if none
	vmid VMID // the VMID its TLB entries carry
}

// s2update describes one change to a range of a stage-2, passed down the
// table walk.
type s2update struct {
	vmid  VMID
	delta uint64 // output address minus input address (modulo 2^64)
	attr  Attr
	unmap bool
}

// slot returns the i-th entry of table t. The concatenated root is two
// consecutive tables, so i may reach rootEntries-1 there.
func (e *Engine) slot(t, i int) *uint64 {
	return &e.pool.Tables[t+i/entriesPerTable][i%entriesPerTable]
}

// entries returns how many entries a table at level lvl has.
func entries(lvl int) int {
	if lvl == S2StartLevel {
		return rootEntries
	}
	return entriesPerTable
}

// entryIndex returns the index of the entry translating ipa at level lvl.
func entryIndex(ipa uint64, lvl int) int { return int(ipa>>levelShift(lvl)) & (entries(lvl) - 1) }

// wholeLeaf reports whether [ipa, stop) covers the entry at level lvl that
// starts at base entirely, and u may place a single leaf there.
func wholeLeaf(base, ipa, stop uint64, lvl int, u *s2update) bool {
	size := levelSize(lvl)
	if ipa != base || stop-base != size {
		return false
	}
	return u.unmap || (blockAllowed(lvl) && (base+u.delta)&(size-1) == 0)
}

// update applies u to [ipa, end) of table t at level lvl.
// Preconditions: [ipa, end) lies inside the table's span; the pool holds at
// least need(...) free tables for the same arguments.
func (e *Engine) update(t, lvl int, ipa, end uint64, u *s2update) {
	for ipa < end {
		base := ipa &^ (levelSize(lvl) - 1)
		stop := min(end, base+levelSize(lvl))
		slot := e.slot(t, entryIndex(ipa, lvl))
		if wholeLeaf(base, ipa, stop, lvl, u) {
			e.replaceLeaf(slot, lvl, base, u)
		} else {
			e.descend(slot, lvl, base, ipa, stop, u)
		}
		ipa = stop
	}
}

// replaceLeaf makes the entry at slot, which maps [base, base+levelSize(lvl)),
// a leaf for u (or invalid, for an unmap). A live entry is first broken:
// written invalid and its TLB entries invalidated (break-before-make, Arm ARM
// D8.14.1).
func (e *Engine) replaceLeaf(slot *uint64, lvl int, base uint64, u *s2update) {
	if isValid(*slot) {
		e.clearEntry(slot, lvl, base, u.vmid)
	}
	if !u.unmap {
		*slot = leafDesc(PA(base+u.delta), lvl, u.attr)
	}
}

// clearEntry writes the live entry at slot invalid, invalidates what the TLBs
// may hold for it, and frees the tables below it.
func (e *Engine) clearEntry(slot *uint64, lvl int, base uint64, vmid VMID) {
	d := *slot
	if isTable(d, lvl) {
		child := e.pool.index(descOA(d))
		clear := s2update{vmid: vmid, unmap: true}
		e.update(child, lvl+1, base, base+levelSize(lvl), &clear)
		e.dropTable(slot, child, base, vmid)
		return
	}
	*slot = 0
	e.plat.InvalidateIPA(vmid, IPA(base))
}

// dropTable unhooks the table child from slot and returns it to the pool.
// The table entry is invalidated too, since walk caches may hold it.
func (e *Engine) dropTable(slot *uint64, child int, base uint64, vmid VMID) {
	*slot = 0
	e.plat.InvalidateIPA(vmid, IPA(base))
	e.pool.release(child)
}

// descend applies u to [ipa, stop), a part of the entry at slot (level lvl,
// starting at base), through a next-level table: the existing one, a new
// empty one, or one made by splitting a block.
func (e *Engine) descend(slot *uint64, lvl int, base, ipa, stop uint64, u *s2update) {
	d := *slot
	var child int
	switch {
	case isTable(d, lvl):
		child = e.pool.index(descOA(d))
	case !isValid(d):
		if u.unmap {
			return
		}
		child = e.mustAlloc()
		*slot = tableDesc(e.pool.pa(child)) // invalid to valid: no break needed
	default:
		child = e.mustAlloc()
		e.splitBlock(child, d, lvl+1, base)
		*slot = 0 // break-before-make: the block may be in the TLBs
		e.plat.InvalidateIPA(u.vmid, IPA(base))
		*slot = tableDesc(e.pool.pa(child))
	}
	e.update(child, lvl+1, ipa, stop, u)
	if u.unmap && e.tableEmpty(child) {
		e.dropTable(slot, child, base, u.vmid)
	}
}

// splitBlock fills table t at level lvl with the leaves that together map
// what block b mapped, with its attributes.
func (e *Engine) splitBlock(t int, b uint64, lvl int, base uint64) {
	a := leafAttr(b)
	oa := descOA(b)
	size := levelSize(lvl)
	for i := range e.pool.Tables[t] {
		e.pool.Tables[t][i] = leafDesc(oa+PA(uint64(i)*size), lvl, a)
	}
}

// tableEmpty reports whether table t has no valid entry.
func (e *Engine) tableEmpty(t int) bool {
	for _, d := range e.pool.Tables[t] {
		if isValid(d) {
			return false
		}
	}
	return true
}

// mustAlloc takes a table the caller reserved. Running out here means the
// reservation was wrong, an invariant violation.
func (e *Engine) mustAlloc() int {
	t := e.pool.alloc()
	if t < 0 {
		panic("isolation: table pool exhausted inside a commit")
	}
	return t
}

// need returns how many tables update would allocate for the same
// arguments, ignoring the tables it would free: the worst case a caller
// reserves before committing. virt stands for every entry of a table that
// does not exist yet (t < 0): 0 for an empty table, a valid leaf for a block
// being split.
func (e *Engine) need(t int, virt uint64, lvl int, ipa, end uint64, u *s2update) int {
	n := 0
	for ipa < end && lvl < lastLevel {
		base := ipa &^ (levelSize(lvl) - 1)
		stop := min(end, base+levelSize(lvl))
		d := virt
		if t >= 0 {
			d = *e.slot(t, entryIndex(ipa, lvl))
		}
		if !wholeLeaf(base, ipa, stop, lvl, u) {
			n += e.needBelow(d, lvl, ipa, stop, u)
		}
		ipa = stop
	}
	return n
}

// needBelow is need for the part [ipa, stop) of an entry d at level lvl.
func (e *Engine) needBelow(d uint64, lvl int, ipa, stop uint64, u *s2update) int {
	switch {
	case isTable(d, lvl):
		return e.need(e.pool.index(descOA(d)), 0, lvl+1, ipa, stop, u)
	case !isValid(d):
		if u.unmap {
			return 0
		}
		return 1 + e.need(-1, 0, lvl+1, ipa, stop, u)
	}
	return 1 + e.need(-1, descValid, lvl+1, ipa, stop, u)
}

// mapNeed returns the tables mapping n pages at ipa to pa in s may take.
func (e *Engine) mapNeed(s *stage2, ipa IPA, pa PA, n uint64) int {
	u := s2update{vmid: s.vmid, delta: uint64(pa) - uint64(ipa)}
	return e.need(s.root, 0, S2StartLevel, uint64(ipa), uint64(ipa)+n<<PageShift, &u)
}

// unmapNeed returns the tables unmapping n pages at ipa from s may take
// (to split blocks that cover the range only in part).
func (e *Engine) unmapNeed(s *stage2, ipa IPA, n uint64) int {
	u := s2update{vmid: s.vmid, unmap: true}
	return e.need(s.root, 0, S2StartLevel, uint64(ipa), uint64(ipa)+n<<PageShift, &u)
}

// runNeed returns the most tables an update of the n pages at ipa of any
// stage-2 can take, whatever its tables hold: one for each level-1 and each
// level-2 entry the range touches, the entries an update may fill or split
// (Arm ARM D8.2). A guest call updates its runs one after another and
// reserves runNeed for each, which bounds each run's update after the
// updates of the runs before it; mapNeed and unmapNeed read the tables as
// they are before any of them.
func runNeed(ipa IPA, n uint64) int {
	first, last := uint64(ipa), uint64(ipa)+n<<PageShift-1
	return touched(first, last, 1) + touched(first, last, 2)
}

// touched returns how many entries of level lvl the bytes first to last
// (inclusive, last >= first) span.
func touched(first, last uint64, lvl int) int {
	return int(last>>levelShift(lvl)-first>>levelShift(lvl)) + 1
}

// mapRange maps n pages at ipa to pa in s with attributes a, using the
// largest blocks the alignment of ipa and pa allows.
// Preconditions: the range lies in the IPA space; mapNeed tables are free.
func (e *Engine) mapRange(s *stage2, ipa IPA, pa PA, n uint64, a Attr) {
	u := s2update{vmid: s.vmid, delta: uint64(pa) - uint64(ipa), attr: a}
	e.update(s.root, S2StartLevel, uint64(ipa), uint64(ipa)+n<<PageShift, &u)
}

// unmapRange unmaps n pages at ipa from s, with break-before-make for every
// live entry, and returns tables left empty to the pool.
// Preconditions: the range lies in the IPA space; unmapNeed tables are free.
func (e *Engine) unmapRange(s *stage2, ipa IPA, n uint64) {
	u := s2update{vmid: s.vmid, unmap: true}
	e.update(s.root, S2StartLevel, uint64(ipa), uint64(ipa)+n<<PageShift, &u)
}

// translate walks s for ipa.
func (e *Engine) translate(s *stage2, ipa IPA) (Mapping, bool) {
	if s.root < 0 || uint64(ipa) >= ipaLimit {
		return Mapping{}, false
	}
	t := s.root
	for lvl := S2StartLevel; lvl <= lastLevel; lvl++ {
		d := *e.slot(t, entryIndex(uint64(ipa), lvl))
		if !isValid(d) {
			return Mapping{}, false
		}
		if !isTable(d, lvl) {
			off := uint64(ipa) & (levelSize(lvl) - 1)
			return Mapping{PA: descOA(d) + PA(off), Attr: leafAttr(d), Level: lvl}, true
		}
		t = e.pool.index(descOA(d))
	}
	panic("isolation: stage-2 walk past level 3")
}

// newStage2 allocates an empty stage-2 for vmid, or returns false if the
// pool has no free root.
func (e *Engine) newStage2(s *stage2, vmid VMID) bool {
	s.vmid = vmid
	s.root = e.pool.allocRoot()
	return s.root >= 0
}

// freeStage2 returns every table of s to the pool and invalidates all TLB
// entries of its VMID. No entry is broken one by one: nothing runs on s.
// Precondition: no vCPU is running on s.
func (e *Engine) freeStage2(s *stage2) {
	if s.root < 0 {
		return
	}
	e.plat.InvalidateVMID(s.vmid)
	e.freeTables(s.root, S2StartLevel)
	e.pool.release(s.root)
	e.pool.release(s.root + 1)
	s.root = -1
}

// freeTables returns to the pool every table below table t at level lvl.
func (e *Engine) freeTables(t, lvl int) {
	for i := 0; i < entries(lvl); i++ {
		d := *e.slot(t, i)
		if isTable(d, lvl) {
			child := e.pool.index(descOA(d))
			e.freeTables(child, lvl+1)
			e.pool.release(child)
		}
	}
}

// leafIter visits the leaves of a stage-2 in IPA order without recursion or
// allocation, and counts the tables it passes through.
type leafIter struct {
	tbl    [lastLevel + 1]int
	idx    [lastLevel + 1]int
	ipa    [lastLevel + 1]uint64
	lvl    int // current level; 0 when done
	tables int // tables visited below the root
}

// leaves starts a walk of s.
func (e *Engine) leaves(s *stage2) leafIter {
	var it leafIter
	if s.root >= 0 {
		it.lvl = S2StartLevel
		it.tbl[S2StartLevel] = s.root
	}
	return it
}

// next returns the next leaf: its input address, descriptor and level.
func (e *Engine) next(it *leafIter) (ipa uint64, d uint64, lvl int, ok bool) {
	for it.lvl > 0 {
		l := it.lvl
		i := e.skipInvalid(it.tbl[l], it.idx[l], entries(l))
		if i >= entries(l) {
			it.lvl--
			continue
		}
		it.idx[l] = i + 1
		d = *e.slot(it.tbl[l], i)
		ipa = it.ipa[l] + uint64(i)<<levelShift(l)
		if !isTable(d, l) {
			return ipa, d, l, true
		}
		it.tables++
		it.lvl = l + 1
		it.tbl[l+1], it.idx[l+1], it.ipa[l+1] = e.pool.index(descOA(d)), 0, ipa
	}
	return 0, 0, 0, false
}

// skipInvalid returns the index of the first valid entry of table t from i
// on, or n if there is none. Tables are mostly empty, so this loop is where
// walks spend their time.
func (e *Engine) skipInvalid(t, i, n int) int {
	for i < n {
		tab := &e.pool.Tables[t+i/entriesPerTable]
		for j := i % entriesPerTable; j < entriesPerTable; j++ {
			if isValid(tab[j]) {
				return i + j - i%entriesPerTable
			}
		}
		i += entriesPerTable - i%entriesPerTable
	}
	return n
}
