// Package fakearch is the Platform of the isolation core for tests: it
// records TLB maintenance, keeps sparse page contents so that tests can see
// zeroing, and plays back scripted guest traps.
package fakearch

import "bulkhead/isolation"

// Inval is one recorded TLB invalidation.
type Inval struct {
	VMID isolation.VMID
	IPA  isolation.IPA
	All  bool // InvalidateVMID rather than InvalidateIPA
}

// Step is one scripted guest exit: Before, if set, changes the vCPU's
// registers as the guest would have before trapping; During, if set, runs
// while the vCPU is inside EnterGuest (standing for another physical CPU);
// Trap is what EnterGuest returns.
type Step struct {
	Before func(c *isolation.Context)
	During func()
	Trap   isolation.Trap
}

// Arch implements isolation.Platform.
type Arch struct {
	// Record, when set, keeps every invalidation in Invals; otherwise only
	// the counters move (so that allocation tests measure only the core).
	Record bool
	Invals []Inval
	// Counters of each effect.
	InvalCount, ZeroCount, CleanCount, EnterCount int
	// Cleaned lists every page cleaned to PoC, when Record is set.
	Cleaned []isolation.PA
	// Script is played back by EnterGuest, one Step per entry; once it is
	// empty, every entry exits with an IRQ, like a timer tick.
	Script []Step
	// LastVTTBR and LastCtx are what the latest EnterGuest was given.
	LastVTTBR uint64
	LastCtx   isolation.Context

	mem map[isolation.PA]*[isolation.PageSize]byte
}

// New returns an Arch that records invalidations.
func New() *Arch { return &Arch{Record: true} }

// InvalidateIPA records a TLB invalidation by IPA.
func (a *Arch) InvalidateIPA(vmid isolation.VMID, ipa isolation.IPA) {
	a.InvalCount++
	if a.Record {
		a.Invals = append(a.Invals, Inval{VMID: vmid, IPA: ipa})
	}
}

// InvalidateVMID records a TLB invalidation of a whole VMID.
func (a *Arch) InvalidateVMID(vmid isolation.VMID) {
	a.InvalCount++
	if a.Record {
		a.Invals = append(a.Invals, Inval{VMID: vmid, All: true})
	}
}

// ZeroPages drops the contents of the pages, which then read as zero.
func (a *Arch) ZeroPages(pa isolation.PA, n uint64) {
	a.ZeroCount++
	for i := uint64(0); i < n; i++ {
		delete(a.mem, pa+isolation.PA(i*isolation.PageSize))
	}
}

// CleanToPoC records the clean.
func (a *Arch) CleanToPoC(pa isolation.PA, n uint64) {
	a.CleanCount++
	if a.Record {
		for i := uint64(0); i < n; i++ {
			a.Cleaned = append(a.Cleaned, pa+isolation.PA(i*isolation.PageSize))
		}
	}
}

// EnterGuest plays the next Step of the script.
func (a *Arch) EnterGuest(vttbr uint64, ctx *isolation.Context) isolation.Trap {
	a.EnterCount++
	a.LastVTTBR = vttbr
	a.LastCtx = *ctx
	ctx.Fresh = false
	ctx.Inject = isolation.InjectNone
	if len(a.Script) == 0 {
		return isolation.Trap{Kind: isolation.TrapIRQ}
	}
	s := a.Script[0]
	// Shift rather than reslice, so that refilling the script in place
	// does not allocate.
	n := copy(a.Script, a.Script[1:])
	a.Script = a.Script[:n]
	if s.Before != nil {
		s.Before(ctx)
	}
	if s.During != nil {
		s.During()
	}
	return s.Trap
}

// PageIsZero reports whether the page at pa reads as zero.
func (a *Arch) PageIsZero(pa isolation.PA) bool {
	p := a.mem[pa&^(isolation.PageSize-1)]
	if p == nil {
		return true
	}
	for _, b := range p {
		if b != 0 {
			return false
		}
	}
	return true
}

// Page returns the contents of the page at pa, or nil if it reads as zero
// and was never written since it was last zeroed. The caller must not
// write to it.
func (a *Arch) Page(pa isolation.PA) *[isolation.PageSize]byte {
	return a.mem[pa&^(isolation.PageSize-1)]
}

// Write stores b at pa, as a principal with access to the page would.
func (a *Arch) Write(pa isolation.PA, b byte) {
	if a.mem == nil {
		a.mem = make(map[isolation.PA]*[isolation.PageSize]byte)
	}
	base := pa &^ (isolation.PageSize - 1)
	p := a.mem[base]
	if p == nil {
		p = new([isolation.PageSize]byte)
		a.mem[base] = p
	}
	p[pa-base] = b
}

// Read returns the byte at pa.
func (a *Arch) Read(pa isolation.PA) byte {
	base := pa &^ (isolation.PageSize - 1)
	if p := a.mem[base]; p != nil {
		return p[pa-base]
	}
	return 0
}

// Reset forgets the recorded invalidations and cleans.
func (a *Arch) Reset() {
	a.Invals = a.Invals[:0]
	a.Cleaned = a.Cleaned[:0]
}
