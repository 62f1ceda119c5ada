//go:build tamago && arm64

package el2

import (
	"bulkhead/arch/arm64"
	"bulkhead/boot/virt"
)

// defined in timer_arm64.s
func readHPPIR1() uint64
func acknowledge1() uint64
func dropPriority1(intid uint64)
func deactivate(intid uint64)

//go:noescape
func readLRs(lrs *[ListRegs]uint64)
func writeLR(i int, v uint64)

// Timer interrupts without a round trip. A vCPU's virtual timer (the
// guest's own CNTV_CTL_EL0 and CNTV_CVAL_EL0, loaded with its EL1 world)
// drives the physical PPI 27 while the vCPU runs; with HCR_EL2.IMO set,
// the interrupt is taken to EL2. DeliverTimer acknowledges it there,
// drops its priority and leaves it active, and presents the virtual
// INTID 27 in a list register linked to it (ICH_LR<n>_EL2.HW, pINTID 27,
// IHI 0069 4.4.1): the guest's deactivation of the virtual interrupt
// deactivates the physical one, so a timer still firing is taken again,
// which gives the level semantics of the architected timer (Arm ARM
// D11.2.4) without the engine touching the guest's timer registers. This
// is how KVM maps the virtual timer (kvm_vgic_map_phys_irq). The switch
// out (SwitchToHost) unlinks the entry and deactivates PPI 27, so the
// host never finds it active.

// TimerCounts counts the timer interrupts DeliverTimer presented
// (profiling engines only).
var TimerCounts struct{ Delivered uint64 }

// Physical configuration of PPI 27 (IHI 0069 12.10, the redistributor's
// SGI frame): group 1, like the host's tick, and a lower priority than
// the tick (0x80, arch/el1/tick.go), so the host's preemption is never
// held back by a guest's timer.
const (
	gicrSGIFrame      = 0x1_0000
	gicrIGROUPR0      = 0x0080
	gicrISENABLER0    = 0x0100
	gicrIPRIORITYR    = 0x0400
	timerPPIPriority  = 0x90
	spuriousINTIDBase = 1020
)

// EnableTimerPPI routes the virtual timer's physical PPI 27 of the CPU
// whose affinity is mpidr (the caller's) to its CPU interface as group 1. The GICR is host MMIO: a host that
// disables the PPI again only loses the fast delivery (its vCPUs' timers
// are then presented at their next full entry, as before).
func EnableTimerPPI(mpidr uint64) {
	if !fastTimer {
		return
	}
	rd, ok := virt.Redistributor(mpidr, arm64.Read64)
	if !ok {
		return // no frame of its own: its timers wait for full entries
	}
	sgi := rd + gicrSGIFrame
	arm64.Write8(sgi+gicrIPRIORITYR+VirtualTimerINTID, timerPPIPriority)
	arm64.Write32(sgi+gicrIGROUPR0, arm64.Read32(sgi+gicrIGROUPR0)|1<<VirtualTimerINTID)
	arm64.Write32(sgi+gicrISENABLER0, 1<<VirtualTimerINTID)
}

// DeliverTimer handles a physical IRQ a loaded vCPU took to EL2 when it is
// its own virtual timer's PPI 27 and the timer fires at counter value now:
// it presents the virtual INTID 27 (TimerSlot, LinkTimer) and reports true,
// and the caller re-enters the vCPU at once. Any other interrupt (the
// host's tick, the maintenance interrupt), a timer that no longer fires,
// or no list register for it: false, nothing acknowledged, and the IRQ
// exit goes to the host as before.
func (w *World) DeliverTimer(now uint64) bool {
	if !fastTimer || w.loaded == nil || readHPPIR1()&lrINTIDMask != VirtualTimerINTID {
		return false
	}
	if !w.LoadedTimerFires(now) {
		return false
	}
	var lrs [ListRegs]uint64
	readLRs(&lrs)
	slot, ok := TimerSlot(lrs)
	if !ok {
		return false
	}
	intid := acknowledge1()
	if intid != VirtualTimerINTID {
		// A higher-priority interrupt of the host's arrived since
		// ICC_HPPIR1_EL1 was read. The host never acknowledges its
		// interrupts (it lowers their lines: its tick and the
		// maintenance interrupt are level-sensitive), so completing it
		// leaves it pending again for the host's exit.
		if intid < spuriousINTIDBase {
			dropPriority1(intid)
			deactivate(intid)
		}
		return false
	}
	dropPriority1(intid)
	writeLR(slot, LinkTimer(lrs[slot]))
	w.timerLinked = true
	if profiling {
		TimerCounts.Delivered++
	}
	return true
}

// unlinkTimer turns the saved list registers of the vCPU switched out
// into ordinary entries and deactivates PPI 27 if an entry still held it
// active. Called, when DeliverTimer linked an entry since the vCPU was
// loaded (only then can one be linked), with the host's EL1 world loaded, so the host's own
// virtual timer, not the guest's, drives the line from then on.
func unlinkTimer(v *VGIC) {
	active := false
	for i, lr := range v.LR {
		var linked bool
		v.LR[i], linked = Unlink(lr)
		active = active || linked
	}
	if active {
		deactivate(VirtualTimerINTID)
	}
}

// LinkedTimerPending reports whether the loaded vCPU has a list register
// linked to PPI 27 whose interrupt it has not taken yet. A full entry's
// Sync would withdraw it if the timer stopped firing meanwhile, so the
// engine re-enters such a vCPU only in full (cmd/engine canReenter).
// Its test of timerLinked is inlined: a vCPU the timer has not
// interrupted since it was loaded pays no call.
func (w *World) LinkedTimerPending() bool { return w.timerLinked && linkedTimerPending() }

// linkedTimerPending is LinkedTimerPending's walk of the list registers.
func linkedTimerPending() bool {
	var lrs [ListRegs]uint64
	readLRs(&lrs)
	for _, lr := range lrs {
		if lr&lrHW != 0 && lrState(lr) == lrPending {
			return true
		}
	}
	return false
}
