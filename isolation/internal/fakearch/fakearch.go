// Package fakearch is the Platform of the isolation core for tests: it
// records TLB maintenance, keeps sparse page contents so that tests can see
// zeroing, and plays back scripted guest traps.
//
// An Arch may be used from several goroutines at once, as an
// isolation.Serial uses it: EnterGuest of different vCPUs concurrently with
// each other and with the other methods. Its own fields are then read
// through its methods only; tests that read them directly (Invals,
// counters, LastCtx) do so from one goroutine.
package fakearch

import (
	"sync"

	"bulkhead/isolation"
)

// Inval is one recorded TLB invalidation.
type Inval struct {
	VMID isolation.VMID
	IPA  isolation.IPA
	All  bool // InvalidateVMID rather than InvalidateIPA
}

// Step is one scripted guest exit: Before, if set, changes the vCPU's
// registers as the guest would have before trapping; During, if set, runs
// while the vCPU is inside EnterGuest (standing for another physical CPU);
// Trap is what EnterGuest returns. Before and During run without the
// Arch's lock, as guest code runs on its CPU.
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
	// Script is played back by EnterGuest, one Step per entry, for every
	// vCPU without a script of its own (SetScript); once it is empty, every
	// entry exits with an IRQ, like a timer tick.
	Script []Step
	// Files are the boot files' contents, by index, that CopyFile copies;
	// CopyFile reports a device failure for an index with no contents.
	Files [][]byte
	// CopyCount counts the copies CopyFile made.
	CopyCount int
	// LastVTTBR and LastCtx are what the latest EnterGuest was given.
	LastVTTBR uint64
	LastCtx   isolation.Context

	mu      sync.Mutex
	mem     map[isolation.PA]*[isolation.PageSize]byte
	scripts map[vcpuKey][]Step
}

// vcpuKey names one vCPU.
type vcpuKey struct {
	vm   isolation.VMID
	vcpu uint16
}

// New returns an Arch that records invalidations.
func New() *Arch { return &Arch{Record: true} }

// InvalidateIPA records a TLB invalidation by IPA.
func (a *Arch) InvalidateIPA(vmid isolation.VMID, ipa isolation.IPA) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.InvalCount++
	if a.Record {
		a.Invals = append(a.Invals, Inval{VMID: vmid, IPA: ipa})
	}
}

// InvalidateVMID records a TLB invalidation of a whole VMID.
func (a *Arch) InvalidateVMID(vmid isolation.VMID) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.InvalCount++
	if a.Record {
		a.Invals = append(a.Invals, Inval{VMID: vmid, All: true})
	}
}

// ZeroPages drops the contents of the pages, which then read as zero.
func (a *Arch) ZeroPages(pa isolation.PA, n uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.ZeroCount++
	for i := uint64(0); i < n; i++ {
		delete(a.mem, pa+isolation.PA(i*isolation.PageSize))
	}
}

// CleanToPoC records the clean.
func (a *Arch) CleanToPoC(pa isolation.PA, n uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.CleanCount++
	if a.Record {
		for i := uint64(0); i < n; i++ {
			a.Cleaned = append(a.Cleaned, pa+isolation.PA(i*isolation.PageSize))
		}
	}
}

// SetScript gives vCPU vcpu of VM vm a script of its own, played back by
// its entries instead of Script (and, once empty, exiting with an IRQ);
// nil returns it to Script.
func (a *Arch) SetScript(vm isolation.VMID, vcpu uint16, steps []Step) {
	a.mu.Lock()
	defer a.mu.Unlock()
	k := vcpuKey{vm, vcpu}
	if steps == nil {
		delete(a.scripts, k)
		return
	}
	if a.scripts == nil {
		a.scripts = make(map[vcpuKey][]Step)
	}
	a.scripts[k] = steps
}

// EnterGuest plays the next Step of the vCPU's script. It reads and writes
// ctx, which belongs to the CPU running the vCPU, without the Arch's lock,
// so that the race detector sees any access to it that the caller does not
// order with the run.
func (a *Arch) EnterGuest(vttbr uint64, ctx *isolation.Context) isolation.Trap {
	loaded := *ctx
	s, ok := a.nextStep(vttbr, &loaded)
	ctx.Fresh = false
	ctx.Inject = isolation.InjectNone
	if !ok {
		return isolation.Trap{Kind: isolation.TrapIRQ}
	}
	if s.Before != nil {
		s.Before(ctx)
	}
	if s.During != nil {
		s.During()
	}
	return s.Trap
}

// nextStep records an entry with the context loaded and takes the next
// Step of that vCPU's script, if there is one.
func (a *Arch) nextStep(vttbr uint64, loaded *isolation.Context) (Step, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.EnterCount++
	a.LastVTTBR = vttbr
	a.LastCtx = *loaded
	k := vcpuKey{loaded.VMID, loaded.VCPU}
	script, own := a.scripts[k]
	if !own {
		script = a.Script
	}
	if len(script) == 0 {
		return Step{}, false
	}
	s := script[0]
	// Shift rather than reslice, so that refilling the script in place
	// does not allocate.
	script = script[:copy(script, script[1:])]
	if own {
		a.scripts[k] = script
	} else {
		a.Script = script
	}
	return s, true
}

// PageIsZero reports whether the page at pa reads as zero.
func (a *Arch) PageIsZero(pa isolation.PA) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
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

// CopyFile writes boot file index's bytes from pa on, as the device
// would, leaving the rest of its last page as it was.
func (a *Arch) CopyFile(index uint64, pa isolation.PA) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if index >= uint64(len(a.Files)) {
		return false
	}
	a.CopyCount++
	for i, b := range a.Files[index] {
		a.store(pa+isolation.PA(i), b)
	}
	return true
}

// Write stores b at pa, as a principal with access to the page would.
func (a *Arch) Write(pa isolation.PA, b byte) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.store(pa, b)
}

// store is Write with the lock held.
func (a *Arch) store(pa isolation.PA, b byte) {
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
	a.mu.Lock()
	defer a.mu.Unlock()
	base := pa &^ (isolation.PageSize - 1)
	if p := a.mem[base]; p != nil {
		return p[pa-base]
	}
	return 0
}

// Reset forgets the recorded invalidations and cleans.
func (a *Arch) Reset() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.Invals = a.Invals[:0]
	a.Cleaned = a.Cleaned[:0]
}
