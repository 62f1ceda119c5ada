//go:build tamago && arm64

package main

import (
	"bulkhead/arch/arm64"
	"bulkhead/arch/el2"
	"bulkhead/boot/virt"
	"bulkhead/isolation"
)

// machine carries the isolation core's decisions to the hardware: it is the
// core's isolation.Platform on the target. It keeps what the core leaves to
// the arch code: each vCPU's FP/SIMD registers, and the host's side of the
// world switch.
type machine struct {
	core  *isolation.Serial // set once the core exists
	files *fileServer
	cpus  []*el2.CPU // the CPUs the host may run on, the boot CPU first
	fp    [maxVMs + 1][maxVCPUs]el2.FPFile
	gic   [maxVMs + 1][maxVCPUs]el2.VGIC
	harts [virt.MaxCPUs]hart
}

// hart is what the engine keeps per CPU: the host's context there, the
// CPU's side of the world switch, and the vCPU it runs.
type hart struct {
	cpu   *el2.CPU
	host  *el2.Context
	world el2.World
	regs  el2.Context // the running vCPU's entry and exit during EnterGuest (its X unused: Regs is the core's)
	lines lines       // its interrupt lines, as VGIC.Sync reads them
	// quiet: no line of the loaded vCPU was asserted at its full entry.
	quiet bool
	// wfiInGuest: the host call being served is a VCPU_RUN_ALONE, whose
	// entries leave the guest's WFI untrapped (el2.Guest.WFIInGuest).
	wfiInGuest bool
}

// here is the hart of the CPU the engine runs on.
func (m *machine) here() *hart { return &m.harts[el2.Here().Slot] }

// vttbrOf is the VTTBR_EL2 value TLB maintenance for vmid runs under: the
// VM's real stage-2 root with its VMID. TLBI by IPA and by VMID act on the
// VMID in VTTBR_EL2 (Arm ARM D8.14.5), but while VTTBR_EL2 holds it the
// CPU may also walk (speculatively, for EL1 and EL0 translations) from the
// base address it gives: a base of 0 would point such walks at whatever
// lies at physical address 0 (Arm ARM D8.14.2, "Use of the VMID";
// Cortex-A72 erratum 1319367). Before the core exists (it is building the
// host stage-2) nothing has run at EL1, so no walk can start and the VMID
// alone is enough.
func (m *machine) vttbrOf(vmid isolation.VMID) uint64 {
	if m.core != nil {
		if v, ok := m.core.Engine().VTTBROf(vmid); ok {
			return v
		}
	}
	return isolation.VTTBR(0, vmid)
}

func (m *machine) InvalidateIPA(vmid isolation.VMID, ipa isolation.IPA) {
	el2.InvalidateIPA(m.vttbrOf(vmid), uint64(ipa))
}

func (m *machine) InvalidateVMID(vmid isolation.VMID) {
	el2.InvalidateVMID(m.vttbrOf(vmid))
}

func (m *machine) ZeroPages(pa isolation.PA, n uint64) {
	clear(el2.PhysBytes(uint64(pa), n*virt.PageSize))
}

func (m *machine) CleanToPoC(pa isolation.PA, n uint64) {
	arm64.CleanInvalidateDataRange(uint64(pa), n*virt.PageSize)
	arm64.InvalidateInstructionCache()
}

func (m *machine) PageIsZero(pa isolation.PA) bool {
	for _, b := range el2.PhysBytes(uint64(pa), virt.PageSize) {
		if b != 0 {
			return false
		}
	}
	return true
}

// EnterGuest runs one vCPU until it traps. The core keeps the vCPU's
// general registers and EL1 register file in ctx; the FP/SIMD file and the
// virtual CPU interface live here. A fresh vCPU starts from the
// architectural reset state, and an abort or UNDEF the core decided to
// inject is delivered on the guest's own registers.
//
// The vCPU's EL1 world stays loaded after it traps (el2.World.EnterGuest),
// and serveHost switches back before the host runs. When the same vCPU is
// entered again for a trap the engine completed itself, it is re-entered
// at once if that is all a full entry would do (canReenter); otherwise it
// is first switched out, so that its files in memory are current, and
// entered in full.
func (m *machine) EnterGuest(vttbr uint64, ctx *isolation.Context) isolation.Trap {
	if int(ctx.VMID) > maxVMs || int(ctx.VCPU) >= maxVCPUs {
		return isolation.Trap{Kind: isolation.TrapSError} // outside the configuration: never entered
	}
	el1 := (*el2.ELFile)(ctx.EL1[:el2.ELRegs])
	fp, gic := &m.fp[ctx.VMID][ctx.VCPU], &m.gic[ctx.VMID][ctx.VCPU]
	h := m.here()
	if !h.canReenter(el1, ctx) {
		h.world.SwitchToHost()
		h.prepareEntry(el1, fp, gic, ctx)
	}
	// Only what the entry reads: EnterGuest sets SP and FP, the exit
	// overwrites the syndrome and the vector, and the general registers
	// are entered from and saved to the core's context itself.
	regs := &h.regs
	if regs.Regs != &ctx.X { // a pointer store costs a write barrier while the collector marks
		regs.Regs = &ctx.X
	}
	regs.PC, regs.PSTATE = ctx.PC, ctx.PState
	g := el2.Guest{Regs: regs, EL1: el1, FP: fp, VGIC: gic, VTTBR: vttbr, VCPU: uint64(ctx.VCPU), WFIInGuest: h.wfiInGuest}
	for {
		stay.leave()
		h.world.EnterGuest(g)
		stay.enterFromGuest(regs.ESR, ctx.X[0], regs.Vector)
		// The vCPU's own timer interrupt is presented to it at once,
		// without the core or the host (el2.World.DeliverTimer): the
		// exit left regs as they were, so it resumes where it was.
		if regs.Vector != el2.VectorIRQ || !h.world.DeliverTimer(arm64.Counter()) {
			break
		}
	}
	ctx.PC, ctx.PState = regs.PC, regs.PSTATE
	return isolation.Trap{Kind: isolation.TrapKind(regs.Vector), ESR: regs.ESR, FAR: regs.FAR, HPFAR: regs.HPFAR}
}

// prepareEntry brings a vCPU's files up to date for a full entry: reset
// if the core (re)started it, its list registers synced with its lines,
// and the exception the core decided to inject delivered. It notes
// whether the vCPU's lines were all quiet (see canReenter).
func (h *hart) prepareEntry(el1 *el2.ELFile, fp *el2.FPFile, gic *el2.VGIC, ctx *isolation.Context) {
	if ctx.Fresh {
		el2.ResetVCPU(el1, fp, gic)
		ctx.Fresh = false
	}
	// The lines and the register file live in h, not on the stack: both
	// escape, and an allocation per entry would let the runtime collect
	// garbage during a guest's stay at EL2, unbounded by its budget.
	// With no line asserted, the common case, Sync only withdraws
	// entries (VGIC.SyncNone), without a walk of the lines.
	timer := el2.TimerFires(el1, arm64.Counter())
	if !timer && noLines(&ctx.IRQ) {
		gic.SyncNone()
		h.quiet = true
	} else {
		h.lines = lines{irq: &ctx.IRQ, timer: timer}
		gic.Sync(&h.lines)
		h.quiet = !timer && noLines(&ctx.IRQ) && !gic.Waiting()
	}
	switch ctx.Inject {
	case isolation.InjectUndef:
		ctx.PC, ctx.PState = el2.DeliverUndef(el1, ctx.PC, ctx.PState)
	case isolation.InjectDataAbort, isolation.InjectInstructionAbort:
		instruction := ctx.Inject == isolation.InjectInstructionAbort
		ctx.PC, ctx.PState = el2.DeliverAbort(el1, ctx.PC, ctx.PState, ctx.InjectFAR, instruction)
	}
	ctx.Inject = isolation.InjectNone
}

// canReenter reports whether the vCPU whose world is loaded can be entered
// again without a full entry, because a full one would change nothing:
// the core neither restarted it nor asks for an exception (both write its
// EL1 file), and Sync would leave its list registers as they are. That
// holds when no line was asserted at its full entry (so the list
// registers hold no pending entry of a line that could since have
// dropped, and none waits for a free register) and none is asserted now.
// Its host-driven lines change only by VCPU_IRQ: outside this VCPU_RUN, or
// on another CPU during it, and then the line waits for the vCPU's next
// full entry. Its virtual timer's line is read from the CPU's timer
// registers. A
// timer interrupt DeliverTimer presented since and the guest has not
// taken yet also asks for a full entry, whose Sync withdraws it if the
// timer stopped firing meanwhile.
func (h *hart) canReenter(el1 *el2.ELFile, ctx *isolation.Context) bool {
	return h.world.Loaded(el1) && !ctx.Fresh && ctx.Inject == isolation.InjectNone &&
		h.quiet && noLines(&ctx.IRQ) && !h.world.LoadedTimerFires(arm64.Counter()) &&
		!h.world.LinkedTimerPending()
}
