package isolation

import (
	"bulkhead/isolation/abi"
	"bulkhead/isolation/internal/plant"
)

// MMIO shadow registers (abi.MMIOShadow): the engine completes a guest's
// access to a marked register of an emulated device itself, from a value
// the host keeps current (reads) or into a byte log the host drains
// (writes). The decision what a register holds stays the host's; the
// engine only saves the exit.

// shadowReg is one marked register.
type shadowReg struct {
	ipa   uint64
	mode  uint64
	value uint64
}

// shadowState is a VM's marks and byte log (a ring).
type shadowState struct {
	regs  [abi.ShadowSlots]shadowReg
	log   [abi.ShadowLogBytes]byte
	head  int // index of the oldest byte
	count int
}

// shadowAccessMax is the widest access a shadow register completes.
const shadowAccessMax = 4

// MMIOShadow is MMIO_SHADOW: mark, update or unmark the register at ipa of
// VM id.
//
// Errors: a bad vmid, an ipa not 4-byte aligned or outside the emulated
// device windows, or an unknown mode is INVALID_PARAMETERS; a new mark with
// every slot taken is NO_MEMORY.
func (e *Engine) MMIOShadow(id, ipa, mode, value uint64) abi.Status {
	m := e.liveVM(id)
	if m == nil || ipa%shadowAccessMax != 0 || !inRanges(ipa, e.cfg.GuestMMIO) || mode > abi.ShadowLog {
		return abi.InvalidParameters
	}
	slot, free := -1, -1
	for i, r := range m.shadow.regs {
		if r.mode != abi.ShadowOff && r.ipa == ipa {
			slot = i
		} else if r.mode == abi.ShadowOff && free < 0 {
			free = i
		}
	}
	switch {
	case slot >= 0:
	case mode == abi.ShadowOff:
		return abi.Success
	case free < 0:
		return abi.NoMemory
	default:
		slot = free
	}
	m.shadow.regs[slot] = shadowReg{ipa: ipa, mode: mode, value: value}
	return abi.Success
}

// MMIOLogRead is MMIO_LOG_READ: up to abi.ShadowLogBatch of the oldest
// bytes of VM id's log, packed into six registers.
//
// Errors: a bad vmid is INVALID_PARAMETERS.
func (e *Engine) MMIOLogRead(id uint64) (n uint64, packed [6]uint64, st abi.Status) {
	m := e.liveVM(id)
	if m == nil {
		return 0, packed, abi.InvalidParameters
	}
	s := &m.shadow
	for n = 0; n < abi.ShadowLogBatch && s.count > 0; n++ {
		shift := 8 * (n % 8)
		if plant.LogReadOldestHighest {
			shift = 56 - shift
		}
		packed[n/8] |= uint64(s.log[s.head]) << shift
		s.head = (s.head + 1) % len(s.log)
		s.count--
	}
	return n, packed, abi.Success
}

// shadowMMIO completes an MMIO exit of vc from a shadow register of m, if
// one covers it: ex is the exit record (x1..x7), read the pending read.
// It reports whether the exit was completed.
func (e *Engine) shadowMMIO(m *vm, vc *vcpu, ex [7]uint64, read MMIORead, isRead bool) bool {
	ipa, access := ex[1], ex[2]
	size := uint64(1) << (access >> abi.AccessSizeShift & 3)
	if size > shadowAccessMax {
		return false
	}
	for _, r := range m.shadow.regs {
		if r.mode == abi.ShadowOff || ipa < r.ipa || ipa-r.ipa >= shadowAccessMax {
			continue
		}
		switch {
		case isRead && r.mode == abi.ShadowRead:
			if read.Reg != xzr {
				vc.ctx.X[read.Reg] = read.value(r.value >> (8 * (ipa - r.ipa)))
			}
			return true
		case !isRead && r.mode == abi.ShadowLog && ipa == r.ipa:
			return m.shadow.append(byte(ex[3]))
		}
		return false
	}
	return false
}

// append adds b to the log, reporting false when it is full.
func (s *shadowState) append(b byte) bool {
	if s.count == len(s.log) {
		return false
	}
	s.log[(s.head+s.count)%len(s.log)] = b
	s.count++
	return true
}

// inRanges reports whether addr lies in one of rs.
func inRanges(addr uint64, rs []Range) bool {
	for _, r := range rs {
		if r.Contains(addr, 1) {
			return true
		}
	}
	return false
}
