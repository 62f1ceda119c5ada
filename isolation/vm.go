package isolation

import (
	"bulkhead/isolation/abi"
	"bulkhead/isolation/internal/plant"
)

// VMCreate is VM_CREATE: a VM with n vCPUs, all Off, in the lowest free
// slot, with an empty stage-2. flags is x2 (ABI v1.1): with
// abi.VMProtected set the VM is protected (MemShare into it is DENIED);
// every other bit is ignored, so a v1 caller, which passes only x1, gets
// v1's VM_CREATE whatever it leaves above bit 0.
//
// Errors: n == 0 or n > MaxVCPUs is INVALID_PARAMETERS; no free slot, or no
// room in the pool for a stage-2 root, is NO_MEMORY.
func (e *Engine) VMCreate(n, flags uint64) (VMID, abi.Status) {
	if n == 0 || n > uint64(e.cfg.MaxVCPUs) {
		return 0, abi.InvalidParameters
	}
	slot := -1
	for i := range e.vms {
		if !e.vms[i].live {
			slot = i
			break
		}
	}
	if slot < 0 {
		return 0, abi.NoMemory
	}
	id := VMID(slot + 1)
	v := &e.vms[slot]
	if !e.newStage2(&v.s2, id) {
		return 0, abi.NoMemory
	}
	v.live, v.hasRun, v.nvcpu, v.shadow = true, false, int(n), shadowState{}
	v.protected = flags&abi.VMProtected != 0
	for i := range v.vcpus {
		v.vcpus[i] = vcpu{}
		v.vcpus[i].ctx.VMID, v.vcpus[i].ctx.VCPU = id, uint16(i)
	}
	return id, abi.Success
}

// VMDestroy is VM_DESTROY: the VM stops and its pages await reclaim.
//
// Errors: a bad vmid is INVALID_PARAMETERS; a vCPU of the VM inside
// VCPU_RUN is BUSY.
//
// Postconditions on success: every page the VM owned is owned by nobody and
// mapped nowhere (those it shared with the host leave the host stage-2
// first); every host page shared with it is no longer shared; its stage-2 is
// freed and its TLB entries invalidated; the slot is Free.
func (e *Engine) VMDestroy(id uint64) abi.Status {
	v := e.liveVM(id)
	if v == nil {
		return abi.InvalidParameters
	}
	for i := range v.vcpus[:v.nvcpu] {
		if v.vcpus[i].state == VCPURunning {
			return abi.Busy
		}
	}
	e.releasePages(VMID(id))
	e.freeStage2(&v.s2)
	v.live, v.hasRun, v.nvcpu, v.protected = false, false, 0, false
	for i := range v.vcpus {
		v.vcpus[i] = vcpu{}
	}
	return abi.Success
}

// releasePages is the ledger side of VM_DESTROY. The VM's pages shared with
// the host leave the host stage-2 run by run. No table is needed for that:
// a host block is only ever made by one call over pages of one kind, and
// changing any of its pages splits it, so every host block holding a page
// shared by this VM holds only such pages and lies inside one run.
func (e *Engine) releasePages(id VMID) {
	n := uint64(len(e.pages))
	for i := uint64(0); i < n; {
		p := &e.pages[i]
		if !p.ownedBy(id) || !p.sharedWith(HostVMID) {
			if p.ownedBy(id) {
				*p = page{owner: abi.OwnerNone}
			} else if p.ownedBy(HostVMID) && p.sharedWith(id) {
				p.shared, p.borrower = false, 0
			}
			i++
			continue
		}
		j := i
		for j < n && e.pages[j].ownedBy(id) && e.pages[j].sharedWith(HostVMID) {
			e.pages[j] = page{owner: abi.OwnerNone}
			j++
		}
		pa := PA(e.cfg.RAM.Base + i<<PageShift)
		if e.unmapNeed(&e.host, IPA(pa), j-i) > e.pool.nfree {
			panic("isolation: host block mixes pages of different kinds")
		}
		e.unmapRange(&e.host, IPA(pa), j-i)
		i = j
	}
}

// vcpuOf returns vCPU v of VM id, or nil if the untrusted pair names none.
func (e *Engine) vcpuOf(id, v uint64) (*vm, *vcpu) {
	m := e.liveVM(id)
	if m == nil || v >= uint64(m.nvcpu) {
		return nil, nil
	}
	return m, &m.vcpus[v]
}

// VCPUInit is VCPU_INIT: vCPU v of VM id will start at entry with x0 = arg,
// at EL1h with the MMU off. The host chooses entry points only until the VM
// first runs; afterwards only the guest starts its vCPUs (PSCI CPU_ON).
//
// Errors: a bad vmid or vcpu, or an entry not 4-byte aligned, is
// INVALID_PARAMETERS; a VM that has run is DENIED. Re-initialising a vCPU
// before the first run overwrites the earlier entry.
func (e *Engine) VCPUInit(id, v, entry, arg uint64) abi.Status {
	m, vc := e.vcpuOf(id, v)
	switch {
	case vc == nil, entry&3 != 0:
		return abi.InvalidParameters
	case m.hasRun:
		return abi.Denied
	}
	vc.ctx.reset(VMID(id), uint16(v), entry, arg)
	vc.state, vc.pend = VCPUOn, pendNone
	return abi.Success
}

// VCPUIRQ is VCPU_IRQ: the host sets the level of interrupt line intid of
// vCPU v of VM id (1 asserted, 0 deasserted). SGIs (INTID 0-15) are
// edge-triggered (IHI 0069 2.2.1): a raise latches until the arch code
// presents it, and a lowering does not withdraw it, so an SGI the host
// raised and lowered before the vCPU ran is still delivered once.
//
// Errors: a bad vmid or vcpu, intid >= 1020, or a level other than 0 or 1 is
// INVALID_PARAMETERS.
func (e *Engine) VCPUIRQ(id, v, intid, level uint64) abi.Status {
	_, vc := e.vcpuOf(id, v)
	if vc == nil || intid >= IRQLines || level > 1 {
		return abi.InvalidParameters
	}
	bit := uint64(1) << (intid % 64)
	switch {
	case level == 1:
		vc.ctx.IRQ[intid/64] |= bit
	case intid >= sgiLines:
		vc.ctx.IRQ[intid/64] &^= bit
	}
	return abi.Success
}

// sgiLines is the number of SGIs, INTIDs 0-15.
const sgiLines = 16

// VCPURun is VCPU_RUN: complete what the vCPU's last exit left pending with
// reply, then run vCPU v of VM id until something needs the host, and
// return the exit record (x1 the reason, x2..x7 its details, zero where the
// reason defines none).
//
// Errors: a bad vmid or vcpu is INVALID_PARAMETERS; a vCPU already inside
// VCPU_RUN is BUSY; a vCPU that is Off is DENIED.
func (e *Engine) VCPURun(id, v, reply uint64) (abi.Status, [7]uint64) {
	m, vc := e.vcpuOf(id, v)
	switch {
	case vc == nil:
		return abi.InvalidParameters, [7]uint64{}
	case vc.state == VCPURunning:
		return abi.Busy, [7]uint64{}
	case vc.state == VCPUOff:
		return abi.Denied, [7]uint64{}
	}
	vc.complete(reply)
	m.hasRun = true
	return abi.Success, e.run(m, vc)
}

// complete hands the host's reply to what the last exit left pending: the
// destination register of an MMIO read, which the host never learns, or x0
// of a forwarded call. With nothing pending the reply is ignored.
func (vc *vcpu) complete(reply uint64) {
	switch vc.pend {
	case pendMMIORead:
		if vc.read.Reg != xzr {
			vc.ctx.X[vc.read.Reg] = vc.read.value(reply)
		}
	case pendCall:
		vc.ctx.X[0] = reply
	}
	vc.pend = pendNone
}

// maxEntries bounds how many times one VCPU_RUN enters the guest for exits
// the engine handles itself (engine calls, PSCI, reflected aborts), so that
// the host regains the CPU even if a guest only ever makes such calls. The
// host then sees an IRQ exit, as if its timer had fired. The work budget
// (budget.go) usually ends the run sooner.
const maxEntries = 64

// run enters the guest until an exit needs the host, or the run's work
// budget is spent.
func (e *Engine) run(m *vm, vc *vcpu) [7]uint64 {
	vttbr := VTTBR(e.pool.pa(m.s2.root), m.s2.vmid)
	budget := newWorkBudget()
	for i := 0; i < maxEntries; i++ {
		vc.state = VCPURunning
		t := e.plat.EnterGuest(vttbr, &vc.ctx)
		if vc.state != VCPURunning && !plant.RunIgnoresStop {
			return stoppedExit(vc)
		}
		vc.state = VCPUOn
		var work int
		if hvcCall(t) {
			// The common trap, an SMCCC call by HVC #0, straight to the
			// call: what FilterTrap and apply would do with its
			// Decision (DispCall, no PC advance), without building it.
			work = callWork(&vc.ctx.X)
			if ex, done := e.guestTrapCall(vc); done {
				return ex
			}
		} else {
			d := FilterTrap(t, &vc.ctx.X, e.cfg.GuestMMIO)
			work = guestWork(d, &vc.ctx.X)
			if ex, done := e.apply(m, vc, d); done {
				return ex
			}
		}
		var more bool
		if budget, more = budget.spend(work); !more {
			break
		}
	}
	return [7]uint64{uint64(abi.ExitIRQ)}
}

// stoppedExit ends the run of a vCPU that another vCPU of its VM stopped
// while it was in the guest: with several CPUs, a vCPU's SYSTEM_OFF or
// SYSTEM_RESET (guestPSCI) turns every vCPU of the VM Off, including one
// that is inside EnterGuest on another CPU. That vCPU stays Off, as the
// specification's all_off leaves it (its later steps and trap change
// nothing there): the trap it came back with is dropped, not handled, and
// the run ends with VCPU_STATE(vcpu, off). On one CPU no vCPU is in the
// guest while another makes a call, and this never happens.
func stoppedExit(vc *vcpu) [7]uint64 {
	return [7]uint64{uint64(abi.ExitVCPUState), uint64(vc.ctx.VCPU), 0}
}

// apply carries out the decision d about one trap of vc and returns the exit
// record, or done == false to enter the guest again.
func (e *Engine) apply(m *vm, vc *vcpu, d Decision) (ex [7]uint64, done bool) {
	vc.ctx.PC += d.PCAdvance
	switch d.Disp {
	case DispExit:
		if d.Exit[0] == uint64(abi.ExitMMIO) && e.shadowMMIO(m, vc, d.Exit, d.Read, d.ReadPending) {
			return ex, false
		}
		if d.ReadPending {
			vc.pend, vc.read = pendMMIORead, d.Read
		}
		return d.Exit, true
	case DispCall:
		return e.guestTrapCall(vc)
	case DispCallNotSupported:
		vc.ctx.X[0] = abi.NotSupported.Reg()
	case DispInjectAbort:
		vc.ctx.Inject, vc.ctx.InjectFAR = d.Inject, d.InjectFAR
	}
	return ex, false
}

// guestTrapCall performs the SMCCC call a vCPU trapped with: the engine's
// own calls are answered in place, the rest go to the host as CALL exits.
func (e *Engine) guestTrapCall(vc *vcpu) ([7]uint64, bool) {
	var eff Effect
	vc.ctx.X[0], vc.ctx.X[1], vc.ctx.X[2], vc.ctx.X[3], eff = e.guestCallRegs(GuestCaller(vc.ctx.VMID, vc.ctx.VCPU),
		vc.ctx.X[0], vc.ctx.X[1], vc.ctx.X[2], vc.ctx.X[3])
	switch eff.Kind {
	case EffectForward:
		vc.pend = pendCall
		return CallExit(&vc.ctx.X), true
	case EffectVCPUState:
		on := uint64(0)
		if eff.On {
			on = 1
		}
		return [7]uint64{uint64(abi.ExitVCPUState), uint64(eff.VCPU), on}, true
	case EffectShutdown:
		reset := uint64(0)
		if eff.Reset {
			reset = 1
		}
		return [7]uint64{uint64(abi.ExitShutdown), reset}, true
	}
	return [7]uint64{}, false
}
