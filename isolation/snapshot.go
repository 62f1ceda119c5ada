package isolation

import (
	"slices"

	"bulkhead/isolation/abi"
)

// Abstract is the engine's state as the specification sees it, as plain data
// with a deterministic order, so that it can be compared with the state of
// the executable specification after every call of a trace.
type Abstract struct {
	// Pages has one entry per page of RAM, in address order.
	Pages []AbstractPage
	// VMs has one entry per VM slot: VMs[0] is VM 1.
	VMs []AbstractVM
	// Host lists the page numbers (PA >> 12) of the RAM pages mapped in the
	// host stage-2, ascending. MMIO is fixed and not listed.
	Host []uint64
}

// AbstractPage is the ledger entry of one page.
type AbstractPage struct {
	PFN      uint64 // PA >> 12
	Owner    uint8  // abi.OwnerNone, OwnerEngine, OwnerHost or OwnerVM
	VM       VMID   // the owner, for abi.OwnerVM; else 0
	Shared   bool
	Borrower VMID // when Shared: abi.HostID or a VM id; else 0
	Zero     bool // the page's contents are all zero (Platform.PageIsZero)
}

// AbstractVM is one VM slot.
type AbstractVM struct {
	Live   bool
	VCPUs  int         // vCPU count; 0 for a Free slot
	HasRun bool        // some vCPU has been run
	VCPU   []VCPUState // state of each vCPU, VCPUs entries
	// Map is the VM's stage-2, one entry per mapped page, ascending by IPA.
	Map []AbstractMapping
	// Protected: created with abi.VMProtected (MEM_SHARE into it is DENIED).
	Protected bool
	// Ctx is what each vCPU holds for its guest, VCPUs entries.
	Ctx []AbstractVCPU
	// Marks are the VM's MMIO shadow registers (abi.MMIOShadow) that are
	// not off, ascending by IPA: which slot holds a mark is not
	// observable, since marks are 4-byte aligned and distinct, so at most
	// one covers an access.
	Marks []AbstractMark
	// Log is the VM's MMIO shadow log, oldest byte first.
	Log []byte
}

// AbstractMark is one MMIO shadow register: its IPA, mode (abi.ShadowRead
// or abi.ShadowLog) and value.
type AbstractMark struct {
	IPA, Mode, Value uint64
}

// AbstractVCPU is the part of a vCPU the guest or the host can observe
// that the specification also keeps: the general registers, where a vCPU
// not yet entered starts, the reply its next VCPU_RUN owes, its interrupt
// lines. The PC of a vCPU that has run, PSTATE and the EL1 registers are
// left out: the specification does not model the PC's advance past an
// emulated instruction, and the EL1 registers live in the arch code's
// layout (Context.EL1).
type AbstractVCPU struct {
	X [31]uint64 // x0..x30
	// Ready: On and not entered since VCPU_INIT or PSCI CPU_ON; it starts
	// at Entry with X as VCPU_INIT or CPU_ON left them.
	Ready bool
	Entry uint64
	// Reply is what the next VCPU_RUN's reply completes; ReadReg is the
	// destination register of a pending MMIO read (31: discarded).
	Reply   AbstractReply
	ReadReg uint8
	// IRQ is the level of each interrupt line, as Context.IRQ.
	IRQ [(IRQLines + 63) / 64]uint64
}

// AbstractReply is what a vCPU's next VCPU_RUN completes with its reply.
type AbstractReply uint8

// Pending replies of an AbstractVCPU.
const (
	ReplyNone     AbstractReply = iota // the reply is ignored
	ReplyMMIORead                      // it goes into register ReadReg
	ReplyCall                          // it becomes x0 (a forwarded call)
)

// AbstractMapping is one page of a stage-2.
type AbstractMapping struct {
	IPAPage uint64 // IPA >> 12
	PAPage  uint64 // PA >> 12
	Perms   Perms
}

// Snapshot returns the abstract state. The stage-2 maps in it come from
// walking the real tables, not from the ledger, so a table that disagrees
// with the ledger shows. It allocates, and is meant for tests and checks.
func (e *Engine) Snapshot() Abstract {
	var a Abstract
	a.Pages = make([]AbstractPage, len(e.pages))
	for i := range e.pages {
		p := &e.pages[i]
		pa := PA(e.cfg.RAM.Base + uint64(i)<<PageShift)
		ap := AbstractPage{PFN: uint64(pa) >> PageShift, Owner: p.owner, Shared: p.shared, Zero: e.plat.PageIsZero(pa)}
		if p.owner == abi.OwnerVM {
			ap.VM = VMID(p.vm)
		}
		if p.shared {
			ap.Borrower = VMID(p.borrower)
		}
		a.Pages[i] = ap
	}
	for _, m := range e.snapshotMap(&e.host) {
		if e.ramPage(PA(m.PAPage << PageShift)) {
			a.Host = append(a.Host, m.PAPage)
		}
	}
	a.VMs = make([]AbstractVM, len(e.vms))
	for i := range e.vms {
		a.VMs[i] = e.snapshotVM(&e.vms[i])
	}
	return a
}

// snapshotVM returns the abstract state of one slot.
func (e *Engine) snapshotVM(v *vm) AbstractVM {
	if !v.live {
		return AbstractVM{}
	}
	av := AbstractVM{Live: true, VCPUs: v.nvcpu, HasRun: v.hasRun, Protected: v.protected,
		VCPU: make([]VCPUState, v.nvcpu)}
	av.Ctx = make([]AbstractVCPU, v.nvcpu)
	for j := range av.VCPU {
		vc := &v.vcpus[j]
		av.VCPU[j] = vc.state
		av.Ctx[j] = snapshotVCPU(vc)
	}
	av.Map = e.snapshotMap(&v.s2)
	av.Marks, av.Log = v.shadow.snapshot()
	return av
}

// snapshot returns the marks that are not off, ascending by IPA, and the
// log, oldest byte first.
func (s *shadowState) snapshot() ([]AbstractMark, []byte) {
	var marks []AbstractMark
	for _, r := range s.regs {
		if r.mode == abi.ShadowOff {
			continue
		}
		i := len(marks)
		for i > 0 && marks[i-1].IPA > r.ipa {
			i--
		}
		marks = slices.Insert(marks, i, AbstractMark{IPA: r.ipa, Mode: r.mode, Value: r.value})
	}
	log := make([]byte, s.count)
	for i := range log {
		log[i] = s.log[(s.head+i)%len(s.log)]
	}
	return marks, log
}

// snapshotMap lists every page s maps, ascending by IPA (the leaf walk is in
// IPA order).
func (e *Engine) snapshotMap(s *stage2) []AbstractMapping {
	var out []AbstractMapping
	it := e.leaves(s)
	for ipa, d, lvl, ok := e.next(&it); ok; ipa, d, lvl, ok = e.next(&it) {
		perms := leafAttr(d).Perms
		for k := uint64(0); k < levelSize(lvl)>>PageShift; k++ {
			out = append(out, AbstractMapping{IPAPage: ipa>>PageShift + k, PAPage: uint64(descOA(d))>>PageShift + k, Perms: perms})
		}
	}
	return out
}

// snapshotVCPU returns the abstract context of one vCPU.
func snapshotVCPU(vc *vcpu) AbstractVCPU {
	a := AbstractVCPU{X: vc.ctx.X, IRQ: vc.ctx.IRQ}
	if vc.state == VCPUOn && vc.ctx.Fresh {
		a.Ready, a.Entry = true, vc.ctx.PC
	}
	switch vc.pend {
	case pendMMIORead:
		a.Reply, a.ReadReg = ReplyMMIORead, vc.read.Reg
	case pendCall:
		a.Reply = ReplyCall
	}
	return a
}
