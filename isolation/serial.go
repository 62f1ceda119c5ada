package isolation

import (
	"math/bits"
	"sync"

	"bulkhead/isolation/abi"
	"bulkhead/isolation/internal/plant"
)

// Serial is the isolation core for several CPUs: an Engine behind one lock,
// the engine lock. Every call (Dispatch, Check, Snapshot) holds it from
// start to end, except while a vCPU executes guest code: the core's
// EnterGuest goes through Serial, which releases the lock for the guest's
// time on the CPU and takes it again before the core sees the trap, as
// pKVM releases its locks while a vCPU runs. So the core runs one call at a
// time, as the specification assumes (each call, each guest call and each
// trap is one atomic step of specs/Spec.v), and a call from another CPU can
// come in only while some vCPU is inside EnterGuest. There is one engine
// lock. A Platform may have locks of its own: they come after the engine
// lock (the core calls the Platform with it held, EnterGuest without it),
// and a Platform never calls back into Serial.
//
// What a call may do to a vCPU that is in the guest on another CPU, whose
// Context that CPU owns until EnterGuest returns:
//
//   - VCPU_IRQ: recorded here (irqLog), not written into the Context, and
//     replayed through Engine.VCPUIRQ, in effect in the order the calls
//     were made, when EnterGuest returns under the lock; the vCPU sees it
//     at its next entry. (The host kicks that CPU, whose physical
//     interrupt ends the run, for it to be sooner.)
//   - VM_DESTROY: BUSY while any vCPU of the VM is in the guest, even one
//     a SYSTEM_OFF of another vCPU has already turned Off (the CPU still
//     runs on the VM's stage-2 and Context); the core itself answers BUSY
//     for a Running vCPU.
//   - VCPU_RUN of the same vCPU: BUSY (it is Running) or DENIED (a
//     SYSTEM_OFF turned it Off), from the core. VCPU_INIT: DENIED, since
//     the VM has run. Guest PSCI CPU_ON: ALREADY_ON (it is Running).
//   - Guest SYSTEM_OFF or SYSTEM_RESET of another vCPU of its VM: the vCPU
//     is Off at once; its run ends with VCPU_STATE(vcpu, off) when it
//     comes back, its trap dropped (Engine.run, stoppedExit).
//   - MEM_* and guest memory calls on the VM's pages: the stage-2 changes
//     under the lock with break-before-make, and the Platform's
//     InvalidateIPA and InvalidateVMID are broadcast (TLBI ...IS) and
//     complete (DSB ISH) before they return, so the other CPU stops using
//     an old translation before the call goes on (Arm ARM D8.13.1).
//   - A vCPU that is Off and still in the guest exists only after such a
//     SYSTEM_OFF, when every vCPU of the VM is Off and none can start
//     again (VCPU_INIT is DENIED once the VM has run, and CPU_ON needs a
//     caller that runs), so only VM_DESTROY and VCPU_IRQ can reach it.
//   - Check reads the ledger, the tables and vCPU states, never a
//     Context, so it is exact while vCPUs run. Snapshot also reads each
//     vCPU's registers, pending reply and lines from its Context: call it
//     only while no vCPU is in the guest. (A page's Zero flag in a
//     Snapshot is a moment's reading of memory a running guest may be
//     writing.)
//
// The Platform must allow EnterGuest of different vCPUs on several CPUs at
// once and alongside its other methods, which Serial calls one at a time.
type Serial struct {
	mu     sync.Mutex
	e      *Engine
	inner  Platform
	stride int // Config.MaxVCPUs: index of vCPU v of VM id is (id-1)*stride + v
	// inGuest and irqs, one entry per vCPU of every slot, are written
	// under the lock only.
	inGuest []bool
	irqs    []irqLog
}

// NewSerial returns the core for cfg as New does, behind the engine lock.
// p is the machine's Platform; the core calls its EnterGuest without the
// lock held.
func NewSerial(cfg Config, p Platform, pool Pool) (*Serial, error) {
	s := &Serial{inner: p}
	e, err := New(cfg, serialPlatform{Platform: p, s: s}, pool)
	if err != nil {
		return nil, err
	}
	cfg = e.Config()
	s.e, s.stride = e, cfg.MaxVCPUs
	s.inGuest = make([]bool, cfg.MaxVMs*cfg.MaxVCPUs)
	s.irqs = make([]irqLog, cfg.MaxVMs*cfg.MaxVCPUs)
	return s, nil
}

// Dispatch is Engine.Dispatch under the engine lock, with the host calls
// that touch a vCPU in the guest answered as the type comment says.
// The lock is released without a defer, which would cost every call more
// than the rest of this wrapper: the core does not panic on any input
// (its fuzz and property tests), and a panic at EL2 ends the engine.
func (s *Serial) Dispatch(c Caller, x [8]uint64) ([8]uint64, Effect) {
	s.lock()
	if c.VM == HostVMID && s.hostCallInGuest(&x) {
		s.unlock()
		return x, Effect{}
	}
	r, eff := s.e.Dispatch(c, x)
	s.unlock()
	return r, eff
}

// Check is Engine.Check under the engine lock.
func (s *Serial) Check() error {
	s.lock()
	defer s.unlock()
	return s.e.Check()
}

// Snapshot is Engine.Snapshot under the engine lock.
func (s *Serial) Snapshot() Abstract {
	s.lock()
	defer s.unlock()
	return s.e.Snapshot()
}

// hostCallInGuest answers, in x, a host call that must not reach the core
// because a vCPU it names is in the guest, and reports whether it did; x
// is a pointer so that the common case, any other call, copies nothing.
// Arguments
// that are bad anyway are left to the core, which rejects them before it
// touches any vCPU.
//
// Preconditions: the engine lock is held.
func (s *Serial) hostCallInGuest(x *[8]uint64) bool {
	switch uint32(x[0]) {
	case abi.VCPUIRQ:
		k, in := s.vcpuInGuest(x[1], x[2])
		if !in || x[3] >= IRQLines || x[4] > 1 || plant.SerialIRQIntoGuest {
			return false
		}
		s.irqs[k].record(x[3], x[4])
		x[0] = abi.Success.Reg()
		return true
	case abi.VMDestroy:
		if !s.vmInGuest(x[1]) || plant.SerialDestroyInGuest {
			return false
		}
		x[0] = abi.Busy.Reg()
		return true
	}
	return false
}

// vcpuInGuest returns the index of vCPU v of VM id (untrusted) and whether
// it is in the guest.
//
// Preconditions: the engine lock is held.
func (s *Serial) vcpuInGuest(id, v uint64) (int, bool) {
	if id == 0 || id > uint64(len(s.inGuest)/s.stride) || v >= uint64(s.stride) {
		return 0, false
	}
	k := int(id-1)*s.stride + int(v)
	return k, s.inGuest[k]
}

// vmInGuest reports whether some vCPU of VM id (untrusted) is in the guest.
//
// Preconditions: the engine lock is held.
func (s *Serial) vmInGuest(id uint64) bool {
	for v := 0; v < s.stride; v++ {
		if _, in := s.vcpuInGuest(id, uint64(v)); in {
			return true
		}
	}
	return false
}

// enterGuest is the core's EnterGuest: the one place a call releases the
// engine lock.
//
// Preconditions: the engine lock is held; it is held again on return.
func (s *Serial) enterGuest(vttbr uint64, ctx *Context) Trap {
	id, v := ctx.VMID, ctx.VCPU
	k := int(id-1)*s.stride + int(v)
	s.inGuest[k] = true
	s.unlock()
	t := s.inner.EnterGuest(vttbr, ctx)
	s.lock()
	s.inGuest[k] = false
	s.irqs[k].replay(s.e, id, v)
	return t
}

// lock takes the engine lock.
func (s *Serial) lock() {
	if !plant.SerialNoLock {
		s.mu.Lock()
	}
}

// unlock releases the engine lock.
func (s *Serial) unlock() {
	if !plant.SerialNoLock {
		s.mu.Unlock()
	}
}

// serialPlatform is the Platform the core of a Serial sees: the machine's,
// with EnterGuest releasing the engine lock.
type serialPlatform struct {
	Platform
	s *Serial
}

// EnterGuest enters the guest without the engine lock held.
func (p serialPlatform) EnterGuest(vttbr uint64, ctx *Context) Trap {
	return p.s.enterGuest(vttbr, ctx)
}

// irqLog is what the VCPU_IRQ calls made while a vCPU was in the guest did
// to its lines: raised, a line some call asserted; lowered, a line the
// last call deasserted. Replaying every raise and then every lowering
// through Engine.VCPUIRQ leaves each line as the calls made in order
// would: a level-sensitive line at its last level, an SGI latched if any
// call raised it (a lowering does not withdraw an SGI).
type irqLog struct {
	raised, lowered [(IRQLines + 63) / 64]uint64
	// any: something was recorded, so that the return from every entry
	// of a vCPU nobody signalled skips the replay (a guest call the
	// engine answers in place pays it at each re-entry).
	any bool
}

// record notes VCPU_IRQ(intid, level); both are valid.
func (l *irqLog) record(intid, level uint64) {
	l.any = true
	w, bit := intid/64, uint64(1)<<(intid%64)
	if level == 1 {
		l.raised[w] |= bit
		l.lowered[w] &^= bit
		return
	}
	l.lowered[w] |= bit
}

// replay applies the recorded calls to vCPU v of VM id and empties l.
//
// Preconditions: the engine lock is held, and the vCPU has left the guest.
func (l *irqLog) replay(e *Engine, id VMID, v uint16) {
	if !l.any {
		return
	}
	replayLines(e, id, v, &l.raised, 1)
	replayLines(e, id, v, &l.lowered, 0)
	*l = irqLog{}
}

// replayLines calls VCPU_IRQ with level for every line set in lines.
func replayLines(e *Engine, id VMID, v uint16, lines *[(IRQLines + 63) / 64]uint64, level uint64) {
	for w, word := range lines {
		for word != 0 {
			b := bits.TrailingZeros64(word)
			word &^= 1 << b
			e.VCPUIRQ(uint64(id), uint64(v), uint64(w*64+b), level)
		}
	}
}

// MemInfo is Engine.MemInfo under the engine lock, for the machine layer's
// own checks (boot files, the host's CPU entry points).
func (s *Serial) MemInfo(pa PA) (PageInfo, abi.Status) {
	s.lock()
	defer s.unlock()
	return s.e.MemInfo(pa)
}

// HostAllows reports whether the host stage-2, as it is once no call is
// changing it (under the engine lock), maps ipa with every permission in
// need. The machine layer asks it of a host stage-2 fault: a call on
// another CPU may have had the entry invalid for a moment (break-before-
// make), and an access that the tables allow now is to be retried, not
// refused.
func (s *Serial) HostAllows(ipa IPA, need Perms) bool {
	s.lock()
	defer s.unlock()
	m, ok := s.e.Translate(HostVMID, ipa)
	return ok && m.Attr.Perms&need == need
}

// FreeTables is Engine.FreeTables under the engine lock.
func (s *Serial) FreeTables() int {
	s.lock()
	defer s.unlock()
	return s.e.FreeTables()
}

// HostVTTBR is the host's VTTBR_EL2 value, fixed when the core is built.
func (s *Serial) HostVTTBR() uint64 { return s.e.HostVTTBR() }

// Engine returns the core itself, for the Platform's calls back into it
// (VTTBROf), which the core makes with the engine lock held: they must not
// take it again.
func (s *Serial) Engine() *Engine { return s.e }
