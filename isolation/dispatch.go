package isolation

import "bulkhead/isolation/abi"

// Caller names who made a call: the host, or one vCPU of a VM.
type Caller struct {
	VM   VMID   // HostVMID for the host
	VCPU uint16 // the calling vCPU, for a VM
}

// HostCaller is the host as a caller.
func HostCaller() Caller { return Caller{VM: HostVMID} }

// GuestCaller is vCPU vcpu of VM vm as a caller.
func GuestCaller(vm VMID, vcpu uint16) Caller { return Caller{VM: vm, VCPU: vcpu} }

// EffectKind says what a call asks of whoever called Dispatch, beyond its
// results.
type EffectKind uint8

// Effects.
const (
	// EffectNone: return the results to the caller.
	EffectNone EffectKind = iota
	// EffectPowerOff: the host called PSCI SYSTEM_OFF; the engine's main
	// loop powers the machine off.
	EffectPowerOff
	// EffectReset: the host called PSCI SYSTEM_RESET; the engine's main
	// loop resets the machine.
	EffectReset
	// EffectForward: a guest call the engine does not implement. VCPU_RUN
	// exits to the host with CALL, and the results are the caller's
	// registers unchanged.
	EffectForward
	// EffectVCPUState: a guest PSCI CPU_ON or CPU_OFF changed vCPU
	// Effect.VCPU to Effect.On; VCPU_RUN exits with VCPU_STATE.
	EffectVCPUState
	// EffectShutdown: a guest called PSCI SYSTEM_OFF (Effect.Reset false)
	// or SYSTEM_RESET (true); every vCPU of the VM is Off and VCPU_RUN
	// exits with SHUTDOWN.
	EffectShutdown
)

// Effect is what a call asks of whoever called Dispatch.
type Effect struct {
	Kind  EffectKind
	VCPU  uint16 // EffectVCPUState: the vCPU that changed
	On    bool   // EffectVCPUState: it is now On (true) or Off (false)
	Reset bool   // EffectShutdown: SYSTEM_RESET rather than SYSTEM_OFF
}

// Dispatch performs the call in x (x0 the function id, x1..x7 the
// arguments) made by c and returns x0..x7 as the caller sees them after the
// call, and the effect the caller must carry out.
//
// x0 is the status (or, for CALL_UID, REVISION and PSCI, what those
// interfaces define). A failed call leaves x1..x7 as they were, and so does
// a successful one for every register it does not define.
//
// A guest caller stands for an HVC (or trapped SMC) from that vCPU: VCPU_RUN
// calls Dispatch that way for the calls the engine implements, and tests do
// too. Dispatch does not check that the calling vCPU is running; a caller
// that is not a vCPU of a live VM gets NOT_SUPPORTED for every id.
//
// Preconditions: none; every register value is untrusted.
func (e *Engine) Dispatch(c Caller, x [8]uint64) ([8]uint64, Effect) {
	if c.VM == HostVMID {
		return e.hostCall(x)
	}
	return e.guestCall(c, x)
}

// finish sets the status of a call: on failure the results are the
// caller's registers unchanged.
func finish(x, r [8]uint64, st abi.Status) [8]uint64 {
	if st != abi.Success {
		r = x
	}
	r[0] = st.Reg()
	return r
}

// query answers the identification calls any caller may make.
func query(id uint32, x [8]uint64) [8]uint64 {
	r := x
	switch id {
	case abi.Version:
		r[0], r[1], r[2] = abi.Success.Reg(), abi.VersionMajor, abi.VersionMinor
	case abi.CallUID:
		w := abi.UIDWords()
		r[0], r[1], r[2], r[3] = uint64(w[0]), uint64(w[1]), uint64(w[2]), uint64(w[3])
	default: // abi.Revision
		r[0], r[1] = abi.RevisionMajor, abi.RevisionMinor
	}
	return r
}

// hostCall is Dispatch for the host: thin handlers that only unmarshal.
func (e *Engine) hostCall(x [8]uint64) ([8]uint64, Effect) {
	r := x
	var st abi.Status
	switch id := uint32(x[0]); id {
	case abi.Version, abi.CallUID, abi.Revision:
		return query(id, x), Effect{}
	case abi.VMCreate:
		var vm VMID
		vm, st = e.VMCreate(x[1], x[2])
		r[1] = uint64(vm)
	case abi.VMDestroy:
		st = e.VMDestroy(x[1])
	case abi.VCPUInit:
		st = e.VCPUInit(x[1], x[2], x[3], x[4])
	case abi.VCPURun:
		var ex [7]uint64
		st, ex = e.VCPURun(x[1], x[2], x[3])
		copy(r[1:], ex[:])
	case abi.VCPUIRQ:
		st = e.VCPUIRQ(x[1], x[2], x[3], x[4])
	case abi.MMIOShadow:
		st = e.MMIOShadow(x[1], x[2], x[3], x[4])
	case abi.MMIOLogRead:
		var packed [6]uint64
		r[1], packed, st = e.MMIOLogRead(x[1])
		copy(r[2:], packed[:])
	case abi.MemDonate:
		st = e.MemDonate(x[1], PA(x[2]), IPA(x[3]), x[4], x[5])
	case abi.MemShare:
		st = e.MemShare(x[1], PA(x[2]), IPA(x[3]), x[4], x[5])
	case abi.MemUnshare:
		st = e.MemUnshare(x[1], IPA(x[2]), x[3])
	case abi.MemReclaim:
		st = e.MemReclaim(PA(x[1]), x[2])
	case abi.MemInfo:
		var info PageInfo
		info, st = e.MemInfo(PA(x[1]))
		r[1], r[2], r[3], r[4] = info.Owner, info.VM, info.Shared, info.Borrower
	case abi.FileInfo:
		var f BootFile
		f, st = e.FileInfo(x[1])
		r[1] = f.Size
		copy(r[2:], f.Name[:])
	case abi.FileRead:
		r[1], st = e.FileRead(x[1], PA(x[2]), x[3])
	case abi.PSCIVersion, abi.PSCIFeatures, abi.PSCISystemOff, abi.PSCISystemReset:
		return hostPSCI(id, x)
	default:
		st = abi.NotSupported
	}
	return finish(x, r, st), Effect{}
}

// guestCall is Dispatch for a vCPU of a VM.
func (e *Engine) guestCall(c Caller, x [8]uint64) ([8]uint64, Effect) {
	var eff Effect
	x[0], x[1], x[2], x[3], eff = e.guestCallRegs(c, x[0], x[1], x[2], x[3])
	return x, eff
}

// guestCallRegs performs the call made by c whose x0 (the function id) and
// x1..x3 (the arguments) are given, and returns x0..x3 as the caller sees
// them after the call: the status in x0, on success the results the call
// defines, and each other register as it was. A guest call reads and
// writes no register beyond x3, so a trapped call is performed on the
// vCPU's registers without copying its register file.
func (e *Engine) guestCallRegs(c Caller, x0, x1, x2, x3 uint64) (uint64, uint64, uint64, uint64, Effect) {
	v := e.callerVM(c)
	if v == nil {
		return abi.NotSupported.Reg(), x1, x2, x3, Effect{}
	}
	var st abi.Status
	switch id := uint32(x0); id {
	case abi.Version, abi.CallUID, abi.Revision:
		var q [8]uint64
		q[0], q[1], q[2], q[3] = x0, x1, x2, x3
		q = query(id, q)
		return q[0], q[1], q[2], q[3], Effect{}
	case abi.GuestShare:
		st = e.GuestShare(c.VM, IPA(x1), x2)
	case abi.GuestUnshare:
		st = e.GuestUnshare(c.VM, IPA(x1), x2)
	case abi.GuestRelinquish:
		st = e.GuestRelinquish(c.VM, IPA(x1), x2)
	case abi.GuestMemInfo:
		return abi.Success.Reg(), abi.Granule, x2, x3, Effect{}
	case abi.GuestMemState:
		state, run, st := e.GuestMemState(c.VM, IPA(x1), x2)
		if st == abi.Success {
			return st.Reg(), state, run, x3, Effect{}
		}
		return st.Reg(), x1, x2, x3, Effect{}
	case abi.PSCIVersion, abi.PSCIFeatures, abi.PSCICPUOn32, abi.PSCICPUOn64, abi.PSCICPUOff,
		abi.PSCIAffinityInfo32, abi.PSCIAffinityInfo64, abi.PSCISystemOff, abi.PSCISystemReset:
		r0, eff := e.guestPSCI(c, v, id, x1, x2, x3)
		return r0, x1, x2, x3, eff
	default:
		if !EngineOwnsID(id) {
			return x0, x1, x2, x3, Effect{Kind: EffectForward}
		}
		st = abi.NotSupported
	}
	return st.Reg(), x1, x2, x3, Effect{}
}

// callerVM returns the VM of a guest caller, or nil if c is not a vCPU of
// a live VM.
func (e *Engine) callerVM(c Caller) *vm {
	if int(c.VM) > len(e.vms) {
		return nil
	}
	v := &e.vms[c.VM-1]
	if !v.live || int(c.VCPU) >= v.nvcpu {
		return nil
	}
	return v
}

// SMCCC function id ranges the engine answers itself (SMCCC 1.2, section
// 6): in the vendor-specific hypervisor service range (owning entity 6)
// function numbers 0x0000-0x00FF, its ABI, and 0xFF00-0xFFFF, the standard
// queries; in the standard secure service range (owning entity 4) function
// numbers 0x00-0x1F, PSCI.
const (
	engineBlockEnd = 0x100
	queryBlock     = 0xFF00
	psciBlockEnd   = 0x20
	funcNumMask    = 0xFFFF
)

// EngineOwnsID reports whether the engine answers the function id itself
// when a guest calls it (with NOT_SUPPORTED if it does not implement it).
// Every other id a guest calls is forwarded to the host as a CALL exit, so
// that the hypervisor can offer services of its own (for example in the
// vendor-specific hypervisor range from function number 0x100).
func EngineOwnsID(id uint32) bool {
	num := id & funcNumMask
	switch abi.OwningEntity(id) {
	case abi.OENVendorHyp:
		return num < engineBlockEnd || num >= queryBlock
	case abi.OENStandardSec:
		return num < psciBlockEnd
	}
	return false
}
