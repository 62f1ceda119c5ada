package el2

// The GICv3 virtual CPU interface (IHI 0069, chapter 11 and 12.4): the
// engine presents a vCPU's asserted interrupt lines to it through list
// registers, and the guest acknowledges and completes them through the ICV_*
// registers without trapping. The host drives the lines (VCPU_IRQ) and
// never sees the list registers; the engine raises the virtual timer's line
// itself from the guest's own timer registers.

// ListRegs is how many list registers the engine uses: four, the number the
// Cortex-A72 implements (ICH_VTR_EL2.ListRegs + 1).
const ListRegs = 4

// MaxAPRs is the most active-priority registers per group the
// architecture has: ICH_AP0R0..3_EL2 and ICH_AP1R0..3_EL2, for 7 bits of
// preemption (GIC IHI 0069 12.4.1, 12.4.2).
const MaxAPRs = 4

// VGIC is one vCPU's virtual CPU interface state, switched with the vCPU.
type VGIC struct {
	LR   [ListRegs]uint64
	VMCR uint64 // ICH_VMCR_EL2: the guest's ICV_PMR, ICV_IGRPEN0/1, BPR0/1
	// AP0R and AP1R are ICH_AP0R<n>_EL2 and ICH_AP1R<n>_EL2, the active
	// priorities of groups 0 and 1 (what ICV_AP0R<n>/ICV_AP1R<n>_EL1 show
	// the guest); only the first APRs(vtr) of each exist on a CPU.
	AP0R [MaxAPRs]uint64
	AP1R [MaxAPRs]uint64
	HCR  uint64 // ICH_HCR_EL2 for the next entry, set by Sync
}

// APRs is how many ICH_AP0R<n>_EL2 (and as many ICH_AP1R<n>_EL2) a CPU
// implements, from ICH_VTR_EL2.PREbits, the number of virtual preemption
// bits minus one (IHI 0069 12.4.8): 5 bits need one register of 32
// priorities per group, 6 bits two, 7 bits four. The Cortex-A72 has 5.
func APRs(vtr uint64) int {
	switch prebits := vtr >> 26 & 7; {
	case prebits >= 6:
		return 4
	case prebits == 5:
		return 2
	}
	return 1
}

// ICH_HCR_EL2 bits (IHI 0069 12.4.4): En turns the virtual CPU interface
// on; UIE raises the maintenance interrupt when at most one list register
// is still in use, so lines waiting for a free register are presented as
// soon as the guest has taken the others.
const (
	ichHCREn  = 1 << 0
	ichHCRUIE = 1 << 1
)

// List register fields (IHI 0069 12.4.6, ICH_LR<n>_EL2).
const (
	lrStateShift = 62
	lrStateMask  = 3
	lrPending    = 1
	lrGroup1     = 1 << 60
	lrPrioShift  = 48
	lrINTIDMask  = 0xffff_ffff
	// lrPriority is the priority virtual interrupts are presented with;
	// Linux's default (GICD_INT_DEF_PRI), so it masks and preempts them
	// as it would on hardware.
	lrPriority = 0xa0
)

// sgiINTIDs is the number of SGIs, INTIDs 0-15.
const sgiINTIDs = 16

// VirtualTimerINTID is the virtual timer's PPI (INTID 27).
const VirtualTimerINTID = 27

// Lines answers whether an interrupt line is asserted for the vCPU.
type Lines interface {
	Asserted(intid uint32) bool
	// Each calls f once for every asserted line.
	Each(f func(intid uint32))
	// Presented tells the lines that intid now has a list register, so an
	// edge-triggered line can drop its latch.
	Presented(intid uint32)
}

// Sync makes the list registers present exactly the asserted lines:
// a pending entry whose level-sensitive line was lowered is withdrawn, and
// an asserted line without an entry gets a free one. An SGI, edge-triggered
// by architecture (IHI 0069 2.2.1), stays pending once presented until the
// guest takes it. An entry the guest has acknowledged (active) stays until
// the guest completes it; a line still asserted after that is presented
// again at the next Sync, which gives level semantics. Lines that find no
// free register wait for a later Sync, with underflow maintenance asked for
// so that the vCPU exits (the maintenance interrupt, PPI 25, is routed to
// EL2 like every physical interrupt) as soon as registers free up.
func (v *VGIC) Sync(lines Lines) {
	v.HCR = ichHCREn
	for i, lr := range v.LR {
		intid := uint32(lr & lrINTIDMask)
		if lrState(lr) == lrPending && intid >= sgiINTIDs && !lines.Asserted(intid) {
			v.LR[i] = 0
		}
	}
	syncing.v, syncing.lines = v, lines
	lines.Each(offer)
	syncing.v, syncing.lines = nil, nil
}

// SyncNone is Sync when no line is asserted, the common case of a vCPU's
// entry, without going through Lines for each register and each line: the
// pending entries of lines other than SGIs are withdrawn, every other
// entry stays, and nothing waits for a register.
func (v *VGIC) SyncNone() {
	v.HCR = ichHCREn
	for i := range v.LR {
		if lr := v.LR[i]; lrState(lr) == lrPending && uint32(lr&lrINTIDMask) >= sgiINTIDs {
			v.LR[i] = 0
		}
	}
}

// syncing is what offer works on during Sync. A callback capturing them
// would escape through the Lines interface and be allocated at every guest
// entry, and the garbage collector would then run inside guests' stays at
// EL2, unbounded by their work budget.
var syncing struct {
	v     *VGIC
	lines Lines
}

// offer gives an asserted line a free list register unless one presents it
// already, and asks for underflow maintenance when none is free.
func offer(intid uint32) {
	v, lines := syncing.v, syncing.lines
	if v.presents(intid) {
		return
	}
	for i, lr := range v.LR {
		if lrState(lr) == 0 {
			v.LR[i] = lrPending<<lrStateShift | lrGroup1 | lrPriority<<lrPrioShift | uint64(intid)
			lines.Presented(intid)
			return
		}
	}
	v.HCR |= ichHCRUIE
}

// Waiting reports whether the last Sync left an asserted line without a
// list register (and asked for underflow maintenance).
func (v *VGIC) Waiting() bool { return v.HCR&ichHCRUIE != 0 }

func (v *VGIC) presents(intid uint32) bool {
	for _, lr := range v.LR {
		if lrState(lr) != 0 && uint32(lr&lrINTIDMask) == intid {
			return true
		}
	}
	return false
}

func lrState(lr uint64) uint64 { return lr >> lrStateShift & lrStateMask }

// TimerFires reports whether the guest's virtual timer condition holds at
// counter value now: enabled, not masked, and the compare value reached
// (Arm ARM D11.2.4; CNTVOFF_EL2 is zero, so the virtual count is now).
func TimerFires(f *ELFile, now uint64) bool {
	return timerFires(f[elCNTVCTL], f[elCNTVCVAL], now)
}

// timerFires is TimerFires on the two timer registers: ENABLE set, IMASK
// clear, the compare value reached.
func timerFires(ctl, cval, now uint64) bool {
	return ctl&1 != 0 && ctl&2 == 0 && now >= cval
}

// List register fields for an entry linked to a physical interrupt (IHI
// 0069 12.4.6): with HW set, the guest's deactivation of the virtual
// interrupt also deactivates physical interrupt pINTID (bits 41:32), so a
// level-sensitive source that still holds its line is taken again.
const (
	lrHW          = 1 << 61
	lrPINTIDShift = 32
	lrPINTIDMask  = 0x3ff << lrPINTIDShift
	lrActive      = 2
)

// TimerSlot chooses the list register the virtual timer's interrupt goes
// in while the physical PPI 27 it drives is active: the entry that
// presents INTID 27 already (Sync made it at the vCPU's full entry) if it
// is pending or active, else the first free one. ok is false when no
// register can take it: every one is in use, or 27's entry is pending and
// active, a state an entry linked to a physical interrupt cannot hold
// (IHI 0069 4.4.1); the engine then leaves the interrupt to the host's
// exit, as it did before.
func TimerSlot(lrs [ListRegs]uint64) (slot int, ok bool) {
	free := -1
	for i, lr := range lrs {
		switch {
		case lrState(lr) != 0 && uint32(lr&lrINTIDMask) == VirtualTimerINTID:
			return i, lrState(lr) != lrPending|lrActive
		case lrState(lr) == 0 && free < 0:
			free = i
		}
	}
	return free, free >= 0
}

// LinkTimer is the list register presenting the virtual timer's INTID 27
// linked to the physical PPI 27: in lr's state if lr presents it already
// (pending, or active while the guest handles it), else pending.
func LinkTimer(lr uint64) uint64 {
	state := uint64(lrPending)
	if lrState(lr) != 0 && uint32(lr&lrINTIDMask) == VirtualTimerINTID {
		state = lrState(lr)
	}
	return state<<lrStateShift | lrHW | lrGroup1 | lrPriority<<lrPrioShift |
		VirtualTimerINTID<<lrPINTIDShift | VirtualTimerINTID
}

// Unlink removes a list register's link to a physical interrupt, as the
// switch out does: the entry keeps its virtual state, as an ordinary one
// (a Sync then treats it like every other), and linked reports whether
// the physical interrupt is still active and must be deactivated by the
// engine (the guest has not deactivated the virtual one yet).
func Unlink(lr uint64) (plain uint64, linked bool) {
	if lr&lrHW == 0 {
		return lr, false
	}
	if lrState(lr) == 0 {
		return 0, false
	}
	return lr &^ (lrHW | lrPINTIDMask), true
}
