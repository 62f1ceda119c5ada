package refinement

import (
	"fmt"
	"math/rand"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"bulkhead/isolation"
	"bulkhead/isolation/abi"
)

// The state-aware generator: each call's arguments are drawn mostly from
// the engine's current ledger (host pages to lend, pages awaiting reclaim,
// mapped and free IPAs of live VMs, live vCPUs), with a few edge values,
// and vCPUs run scripted guests. The trace is built against a live engine
// (goRun), whose answers are kept and then compared with the oracle's.

type sgen struct {
	r  *rand.Rand
	g  *goRun
	a  isolation.Abstract
	st *stats
	// readSize is the size (log2 bytes) of the MMIO read a vCPU's last
	// exit left pending, so that the reply fits it: the model does not
	// describe the read's width (see README, refinement).
	readSize map[[2]uint64]uint64
	// small: the engine has a small table pool (see build).
	small bool
	// hoard: the host seldom drains the MMIO shadow logs (MMIO_LOG_READ),
	// so that they fill up.
	hoard bool
}

// stats counts outcomes over a run of the generator.
type stats struct {
	calls  map[string]map[string]int // call -> status -> count
	exits  map[string]int
	states map[string]bool
	ops    int
}

func newStats() *stats {
	return &stats{calls: map[string]map[string]int{}, exits: map[string]int{}, states: map[string]bool{}}
}

func (s *stats) add(call, status string) {
	m := s.calls[call]
	if m == nil {
		m = map[string]int{}
		s.calls[call] = m
	}
	m[status]++
}

func (s sgen) pick(xs ...uint64) uint64 { return xs[s.r.Intn(len(xs))] }
func (s sgen) chance(n int) bool        { return s.r.Intn(n) == 0 }

// liveVMs returns the ids of the live VMs.
func (s sgen) liveVMs() []uint64 {
	var ids []uint64
	for i, v := range s.a.VMs {
		if v.Live {
			ids = append(ids, uint64(i+1))
		}
	}
	return ids
}

// vmid is a live VM mostly, else an edge.
func (s sgen) vmid() uint64 {
	if ids := s.liveVMs(); len(ids) > 0 && !s.chance(10) {
		return ids[s.r.Intn(len(ids))]
	}
	return s.pick(0, 1, 2, 3, 1<<63)
}

// vcpuWhere picks a vCPU of a live VM in a state ok accepts, if any.
func (s sgen) vcpuWhere(ok func(v isolation.AbstractVM, st isolation.VCPUState) bool) (uint64, uint64, bool) {
	var c [][2]uint64
	for i, v := range s.a.VMs {
		for j, st := range v.VCPU {
			if v.Live && ok(v, st) {
				c = append(c, [2]uint64{uint64(i + 1), uint64(j)})
			}
		}
	}
	if len(c) == 0 {
		return 0, 0, false
	}
	p := c[s.r.Intn(len(c))]
	return p[0], p[1], true
}

func anyVCPU(isolation.AbstractVM, isolation.VCPUState) bool { return true }

// ipaWhere picks a mapped IPA of vm whose page satisfies ok (with a count
// of 1-2 pages), or falls back to ipaMapped.
func (s sgen) ipaWhere(vm uint64, ok func(p isolation.AbstractPage) bool) (uint64, uint64) {
	if vm >= 1 && vm <= uint64(len(s.a.VMs)) && !s.chance(8) {
		var c []uint64
		for _, m := range s.a.VMs[vm-1].Map {
			if i := int(m.PAPage - ram0/pageLen); i >= 0 && i < len(s.a.Pages) && ok(s.a.Pages[i]) {
				c = append(c, m.IPAPage)
			}
		}
		if len(c) > 0 {
			return c[s.r.Intn(len(c))] * pageLen, uint64(1 + s.r.Intn(2))
		}
	}
	return s.ipaMapped(vm)
}

func hostShared(p isolation.AbstractPage) bool { return p.Owner == abi.OwnerHost && p.Shared }
func vmPrivate(p isolation.AbstractPage) bool  { return p.Owner == abi.OwnerVM && !p.Shared }
func vmShared(p isolation.AbstractPage) bool   { return p.Owner == abi.OwnerVM && p.Shared }

func (s sgen) vcpuOf(vm uint64) uint64 {
	if vm >= 1 && vm <= uint64(len(s.a.VMs)) && s.a.VMs[vm-1].Live && !s.chance(10) {
		return uint64(s.r.Intn(s.a.VMs[vm-1].VCPUs))
	}
	return s.pick(0, 1, 2, 1<<32)
}

// pagesWhere returns the RAM page indexes whose page satisfies ok.
func (s sgen) pagesWhere(ok func(p isolation.AbstractPage) bool) []int {
	var out []int
	for i, p := range s.a.Pages {
		if ok(p) {
			out = append(out, i)
		}
	}
	return out
}

// paRun picks a range of 1-3 pages starting at a page that satisfies ok,
// or an edge range.
func (s sgen) paRun(ok func(p isolation.AbstractPage) bool) (uint64, uint64) {
	c := s.pagesWhere(ok)
	if len(c) == 0 || s.chance(8) {
		return s.pick(pa(s.r.Intn(npages)), pa(0), pa(npages-1), pa(npages), ram0-pageLen, pa(1)+8, ^uint64(0)&^(pageLen-1)), s.count()
	}
	return pa(c[s.r.Intn(len(c))]), uint64(1 + s.r.Intn(3))
}

func (s sgen) count() uint64 { return s.pick(0, 1, 2, 3, 16, 17, 1<<52, ^uint64(0)) }

// ipaMapped picks a mapped IPA of vm (a run of 1-3 pages), or an edge.
func (s sgen) ipaMapped(vm uint64) (uint64, uint64) {
	if vm >= 1 && vm <= uint64(len(s.a.VMs)) {
		if m := s.a.VMs[vm-1].Map; len(m) > 0 && !s.chance(8) {
			return m[s.r.Intn(len(m))].IPAPage * pageLen, uint64(1 + s.r.Intn(3))
		}
	}
	return s.ipaAny(), s.count()
}

// ipaFree is an IPA page near the VM's others (so that ranges touch and
// overlap), or an edge.
func (s sgen) ipaFree() uint64 {
	if s.chance(10) {
		return s.ipaAny()
	}
	return uint64(s.r.Intn(12)) * pageLen
}

func (s sgen) ipaAny() uint64 {
	return s.pick(0, 0x800, 5*pageLen, 1<<40-pageLen, 1<<40, ^uint64(0)&^(pageLen-1), 1<<63)
}

func (s sgen) perms() uint64 {
	if s.chance(8) {
		return s.pick(0, 8, ^uint64(0))
	}
	return s.pick(abi.PermR, abi.PermR|abi.PermW, abi.PermAll, abi.PermW)
}

func hostUnshared(p isolation.AbstractPage) bool { return p.Owner == abi.OwnerHost && !p.Shared }
func nobodys(p isolation.AbstractPage) bool      { return p.Owner == abi.OwnerNone }

// hostOp is one host call.
func (s sgen) hostOp() string {
	if _, _, on := s.vcpuWhere(func(_ isolation.AbstractVM, st isolation.VCPUState) bool { return st != isolation.VCPUOff }); !on && s.chance(2) {
		return s.revive()
	}
	switch s.r.Intn(26) {
	case 0:
		return host(abi.VMCreate, s.pick(1, 2, 2, 0, 3, ^uint64(0)), s.pick(0, 0, abi.VMProtected, 1<<63|abi.VMProtected))
	case 1:
		return host(abi.VMDestroy, s.vmid())
	case 2:
		vm, vc, ok := s.vcpuWhere(func(v isolation.AbstractVM, st isolation.VCPUState) bool { return !v.HasRun })
		if !ok || s.chance(6) {
			vm = s.vmid()
			vc = s.vcpuOf(vm)
		}
		return host(abi.VCPUInit, vm, vc, s.pick(0x4000_0000, 0x4000_1000, 0x4000_0002, 1<<63|1), s.r.Uint64())
	case 3:
		vm := s.vmid()
		return host(abi.VCPUIRQ, vm, s.vcpuOf(vm), s.pick(0, 15, 27, 33, 1019, 1020, ^uint64(0)), s.pick(0, 1, 1, 2))
	case 4, 5, 6:
		vm := s.vmid()
		p, n := s.paRun(hostUnshared)
		return host(abi.MemDonate, vm, p, s.ipaFree(), n, s.perms())
	case 7, 8:
		vm := s.vmid()
		p, n := s.paRun(hostUnshared)
		return host(abi.MemShare, vm, p, s.ipaFree(), n, s.perms())
	case 9, 10:
		// Mostly a VM that borrows a host page.
		vm := s.vmid()
		if c := s.pagesWhere(hostShared); len(c) > 0 && !s.chance(4) {
			vm = uint64(s.a.Pages[c[s.r.Intn(len(c))]].Borrower)
		}
		ipa, n := s.ipaWhere(vm, hostShared)
		return host(abi.MemUnshare, vm, ipa, n)
	case 11:
		p, n := s.paRun(nobodys)
		return host(abi.MemReclaim, p, n)
	case 12:
		// Pages awaiting reclaim, or a live VM's (BUSY).
		p, n := s.paRun(func(p isolation.AbstractPage) bool { return p.Owner == abi.OwnerNone || p.Owner == abi.OwnerVM })
		return host(abi.MemReclaim, p, n)
	case 13:
		p, _ := s.paRun(func(isolation.AbstractPage) bool { return true })
		return host(abi.MemInfo, p+s.pick(0, 0, 5))
	case 14, 17:
		return host(uint32(s.pick(uint64(abi.Version), uint64(abi.CallUID), uint64(abi.Revision), uint64(abi.GuestShare), 0xC6000099, 0x86000123)), s.r.Uint64())
	case 15, 16:
		// Mostly a page the host may write, else any page: a store the
		// host stage-2 must stop.
		ok := func(p isolation.AbstractPage) bool { return p.Owner == abi.OwnerHost || p.Shared }
		if s.chance(4) {
			ok = func(isolation.AbstractPage) bool { return true }
		}
		p, _ := s.paRun(ok)
		return fmt.Sprintf("write %#x %d", p, 1+s.r.Intn(255))
	case 18, 19, 21:
		ipa := s.shadowIPA()
		if s.chance(8) {
			ipa = s.pick(ipa+2, 0x4000_0000, 1<<63)
		}
		return host(abi.MMIOShadow, s.vmid(), ipa, s.pick(0, 1, 1, 1, 2, 2, 2, 2, 3), s.pick(s.r.Uint64(), uint64(s.r.Intn(256))))
	case 20:
		if !s.hoard || s.chance(32) {
			return host(abi.MMIOLogRead, s.vmid())
		}
	case 24, 25:
		return s.fileOp()
	}
	return s.runOp()
}

// fileOp is FILE_INFO or, mostly, FILE_READ: of a file, or an index past
// the last; into pages the host owns (shared or not), or any, with as
// many pages as the file needs, or one more or fewer, or an edge count;
// rarely at an unaligned address.
func (s sgen) fileOp() string {
	index := s.pick(0, 1, 1, 2, 2, 3, uint64(len(small.Files)), ^uint64(0))
	if s.chance(4) {
		return host(abi.FileInfo, index)
	}
	owned := func(p isolation.AbstractPage) bool { return p.Owner == abi.OwnerHost }
	if s.chance(4) {
		owned = func(isolation.AbstractPage) bool { return true }
	}
	p, _ := s.paRun(owned)
	if s.chance(16) {
		p += s.pick(8, 0x800)
	}
	need := uint64(2)
	if index < uint64(len(small.Files)) {
		need = (small.Files[index].Size + pageLen - 1) / pageLen
	}
	return host(abi.FileRead, index, p, s.pick(need, need, need, need+1, need-1, 0, ^uint64(0)))
}

// shadowIPA is one of eight device registers, twice as many as a VM has
// shadow slots, so that MMIO_SHADOW runs out of them.
func (s sgen) shadowIPA() uint64 { return 0x10_0000 + 4*uint64(s.r.Intn(8)) }

// logMark returns the IPA of a log register vm has marked, if any.
func (s sgen) logMark(vm uint64) (uint64, bool) {
	if vm < 1 || vm > uint64(len(s.a.VMs)) {
		return 0, false
	}
	for _, k := range s.a.VMs[vm-1].Marks {
		if k.Mode == abi.ShadowLog {
			return k.IPA, true
		}
	}
	return 0, false
}

// shadowAccess is a guest access near the shadow registers, mostly at a
// register vm has marked: of any size, at an offset inside the register
// aligned to the size.
func (s sgen) shadowAccess(vm uint64) string {
	ipa := s.shadowIPA()
	if vm >= 1 && vm <= uint64(len(s.a.VMs)) {
		if ks := s.a.VMs[vm-1].Marks; len(ks) > 0 && !s.chance(4) {
			ipa = ks[s.r.Intn(len(ks))].IPA
		}
	}
	sz := s.r.Intn(4)
	off := uint64(s.r.Intn(4)) &^ (1<<sz - 1)
	return fmt.Sprintf("mmio %#x %d %d %d", ipa+off, s.r.Intn(2), sz, s.r.Intn(32))
}

// revive brings back a vCPU that can run when none can: every vCPU is off
// (PSCI CPU_OFF, SYSTEM_OFF) or no VM is live. A VM that has run cannot
// have its vCPUs initialised again, so it is destroyed.
func (s sgen) revive() string {
	for i, v := range s.a.VMs {
		switch {
		case v.Live && !v.HasRun:
			return host(abi.VCPUInit, uint64(i+1), uint64(s.r.Intn(v.VCPUs)), 0x4000_0000, s.r.Uint64())
		case v.Live && s.chance(2):
			return host(abi.VMDestroy, uint64(i+1))
		}
	}
	return host(abi.VMCreate, s.pick(1, 2), s.pick(0, abi.VMProtected))
}

// guestCallRegs is a guest call: x0..x3 as "set" actions or as a guest
// line's registers.
func (s sgen) guestCallRegs(vm uint64) []uint64 {
	switch s.r.Intn(16) {
	case 13, 14:
		return []uint64{uint64(s.pick(uint64(abi.GuestMemInfo), uint64(abi.Version), uint64(abi.CallUID), uint64(abi.Revision), uint64(abi.PSCIVersion), uint64(abi.MemDonate), 0xC60000F0))}
	case 0, 1:
		ipa, n := s.ipaWhere(vm, vmPrivate)
		return []uint64{uint64(abi.GuestShare), ipa, n}
	case 2, 3:
		ipa, n := s.ipaWhere(vm, vmShared)
		return []uint64{uint64(abi.GuestUnshare), ipa, n}
	case 4, 5:
		ipa, n := s.ipaWhere(vm, vmPrivate)
		return []uint64{uint64(abi.GuestRelinquish), ipa, n}
	case 6:
		ipa, _ := s.ipaMapped(vm)
		return []uint64{uint64(abi.GuestMemState), ipa, s.pick(1, 2, 5, 64, 65, 0, 1<<52)}
	case 7:
		return []uint64{uint64(s.pick(uint64(abi.GuestMemInfo), uint64(abi.Version), uint64(abi.CallUID), uint64(abi.Revision), uint64(abi.PSCIVersion), uint64(abi.MemDonate), 0xC60000F0))}
	case 8:
		return []uint64{uint64(s.pick(uint64(abi.PSCICPUOn64), uint64(abi.PSCICPUOn32))), s.pick(0, 1, 1, 2, 1<<32|1), s.pick(0x4000_0000, 0x4000_2000), s.r.Uint64()}
	case 9:
		return []uint64{uint64(s.pick(uint64(abi.PSCIAffinityInfo64), uint64(abi.PSCIAffinityInfo32))), s.pick(0, 1, 2), s.pick(0, 0, 1)}
	case 10:
		return []uint64{uint64(abi.PSCIFeatures), s.pick(uint64(abi.PSCICPUOn64), uint64(abi.PSCISystemReset), 0x84000099, uint64(abi.MemDonate))}
	case 11:
		return []uint64{uint64(abi.PSCICPUOff)}
	case 12:
		return []uint64{uint64(s.pick(uint64(abi.PSCISystemOff), uint64(abi.PSCISystemReset)))}
	}
	// Not the engine's: forwarded to the host.
	return []uint64{s.pick(0x86000123, 0x84000099, 0xC2000001, 1<<32|0x82000000), s.r.Uint64(), s.r.Uint64(), 7, 8, 9}
}

// guestOp is a call from a vCPU, outside a run: the engine's calls only,
// since one it forwards is an exit, which only a run has.
func (s sgen) guestOp() string {
	// VM 0 is the host's id: a guest call comes from a VM slot, live or not.
	vm, vc, ok := s.vcpuWhere(anyVCPU)
	if !ok || s.chance(10) {
		vm, vc = 1+uint64(s.r.Intn(3)), s.pick(0, 1, 2)
	}
	x := s.guestCallRegs(vm)
	for !isolation.EngineOwnsID(uint32(x[0])) {
		x = s.guestCallRegs(vm)
	}
	return guest(vm, vc, uint32(x[0]), x[1:]...)
}

// runCallRegs is a call made inside a run. With a small pool, not a guest
// memory call: its NO_MEMORY would go to the guest's x0, where the test
// cannot tell it from the model's answer (see build).
func (s sgen) runCallRegs(vm uint64) []uint64 {
	for {
		x := s.guestCallRegs(vm)
		switch uint32(x[0]) {
		case abi.GuestShare, abi.GuestUnshare, abi.GuestRelinquish:
			if s.small {
				continue
			}
		}
		return x
	}
}

// runOp is a VCPU_RUN of a scripted guest.
func (s sgen) runOp() string {
	vm, vc, ok := s.vcpuWhere(func(_ isolation.AbstractVM, st isolation.VCPUState) bool { return st != isolation.VCPUOff })
	if !ok || s.chance(6) {
		vm = s.vmid()
		vc = s.vcpuOf(vm)
	}
	reply := s.r.Uint64()
	if sz, ok := s.readSize[[2]uint64{vm, vc}]; ok && sz < 3 {
		reply &= 1<<(8<<sz) - 1
	}
	var acts []string
	for range s.r.Intn(4) {
		switch s.r.Intn(6) {
		case 0, 1:
			acts = append(acts, fmt.Sprintf("set %d %#x", s.r.Intn(31), s.pick(s.r.Uint64(), uint64(s.r.Intn(256)), 0)))
		case 2:
			ipa, _ := s.ipaMapped(vm)
			acts = append(acts, fmt.Sprintf("store %#x %d", ipa, s.r.Intn(31)))
		case 3:
			ipa, _ := s.ipaMapped(vm)
			acts = append(acts, fmt.Sprintf("load %#x %d", ipa, s.r.Intn(31)))
		case 4:
			for i, v := range s.runCallRegs(vm) {
				acts = append(acts, fmt.Sprintf("set %d %#x", i, v))
			}
			acts = append(acts, "hvc")
		case 5:
			// Completed by a shadow register, or an MMIO exit.
			acts = append(acts, s.shadowAccess(vm))
		}
	}
	if ipa, ok := s.logMark(vm); ok && (s.chance(4) || s.hoard && s.chance(3)) {
		// A burst of writes to a log register, so that logs fill up
		// (more often while the host hoards, so that a log reaches its
		// last byte): with the rest of the run, fewer traps than one
		// run's work budget allows (64).
		for range 30 + s.r.Intn(16) {
			acts = append(acts, fmt.Sprintf("mmio %#x 1 %d %d", ipa, s.r.Intn(3), s.r.Intn(32)))
		}
	}
	if !s.small && s.chance(5) {
		// A host call from another CPU while this vCPU runs.
		var h string
		switch s.r.Intn(4) {
		case 0:
			h = host(abi.VMDestroy, vm)
		case 1:
			h = host(abi.VCPURun, vm, vc, 0)
		default:
			for h = s.hostOp(); strings.HasPrefix(h, "run") || strings.HasPrefix(h, "write") ||
				strings.HasPrefix(h, host(abi.VCPURun)); h = s.hostOp() {
			}
		}
		acts = append(acts, h)
	}
	switch s.r.Intn(10) {
	case 0, 1, 2:
		acts = append(acts, fmt.Sprintf("mmio %#x %d %d %d", 0x10_0000+uint64(s.r.Intn(64))*8, s.r.Intn(2), s.r.Intn(4), s.r.Intn(32)))
	case 8:
		// A call the engine forwards: a CALL exit, answered on the next run.
		acts = append(acts, fmt.Sprintf("set 0 %#x", s.pick(0x86000123, 0x84000099, 0xC2000001)), fmt.Sprintf("set 5 %#x", s.r.Uint64()), "hvc")
	case 7:
		acts = append(acts, fmt.Sprintf("set 0 %#x", s.pick(uint64(abi.PSCISystemOff), uint64(abi.PSCISystemReset), uint64(abi.PSCICPUOff))), "hvc")
	case 3:
		for i, v := range s.runCallRegs(vm) {
			acts = append(acts, fmt.Sprintf("set %d %#x", i, v))
		}
		acts = append(acts, "hvc")
	case 4:
		acts = append(acts, "wfi")
	case 5:
		acts = append(acts, "serror")
	case 6:
		acts = append(acts, "irq")
	case 9:
		// An SGI request: a register with every bit drawn (the RES0
		// bits of ICC_SGI1R_EL1 included), or XZR.
		r := s.r.Intn(32)
		if r != 31 && s.r.Intn(3) != 0 {
			acts = append(acts, fmt.Sprintf("set %d %#x", r, s.r.Uint64()))
		}
		acts = append(acts, fmt.Sprintf("sgi %d", r))
	}
	return runOp(vm, vc, reply, acts...)
}

func (s sgen) op() string {
	switch s.r.Intn(8) {
	case 0, 1:
		return s.guestOp()
	case 2, 3:
		return s.runOp()
	}
	return s.hostOp()
}

// callNames are the ABI calls, by function id.
var callNames = map[uint32]string{
	abi.Version: "VERSION", abi.CallUID: "CALL_UID", abi.Revision: "REVISION",
	abi.VMCreate: "VM_CREATE", abi.VMDestroy: "VM_DESTROY", abi.VCPUInit: "VCPU_INIT",
	abi.VCPURun: "VCPU_RUN", abi.VCPUIRQ: "VCPU_IRQ", abi.MemDonate: "MEM_DONATE",
	abi.MemShare: "MEM_SHARE", abi.MemUnshare: "MEM_UNSHARE", abi.MemReclaim: "MEM_RECLAIM",
	abi.MemInfo: "MEM_INFO", abi.GuestShare: "GUEST_SHARE", abi.GuestUnshare: "GUEST_UNSHARE",
	abi.GuestRelinquish: "GUEST_RELINQUISH", abi.GuestMemInfo: "GUEST_MEMINFO",
	abi.GuestMemState: "GUEST_MEMSTATE", abi.PSCIVersion: "PSCI_VERSION",
	abi.PSCIFeatures: "PSCI_FEATURES", abi.PSCICPUOn64: "PSCI_CPU_ON", abi.PSCICPUOn32: "PSCI_CPU_ON",
	abi.PSCICPUOff: "PSCI_CPU_OFF", abi.PSCIAffinityInfo64: "PSCI_AFFINITY_INFO",
	abi.PSCIAffinityInfo32: "PSCI_AFFINITY_INFO", abi.PSCISystemOff: "PSCI_SYSTEM_OFF",
	abi.PSCISystemReset: "PSCI_SYSTEM_RESET", abi.MMIOShadow: "MMIO_SHADOW", abi.MMIOLogRead: "MMIO_LOG_READ",
	abi.FileInfo: "FILE_INFO", abi.FileRead: "FILE_READ",
}

var statusNames = map[int64]string{0: "SUCCESS", -1: "NOT_SUPPORTED", -2: "INVALID_PARAMETERS", -3: "DENIED", -4: "NO_MEMORY", -5: "BUSY"}

var exitNames = map[uint64]string{uint64(abi.ExitMMIO): "MMIO", uint64(abi.ExitCall): "CALL", uint64(abi.ExitWFI): "WFI",
	uint64(abi.ExitIRQ): "IRQ", uint64(abi.ExitShutdown): "SHUTDOWN", uint64(abi.ExitAbort): "ABORT", uint64(abi.ExitVCPUState): "VCPU_STATE",
	uint64(abi.ExitSGI): "SGI"}

// record counts the outcome of op (whose registers are r) and notes the
// MMIO read it may have left pending.
func (s *sgen) record(op string, r [8]uint64) {
	f := strings.Fields(op)
	var id uint32
	var name string
	switch f[0] {
	case "write", "#":
		s.st.add("host write", "-")
		return
	case "run":
		id = abi.VCPURun
		var vm, vc uint64
		fmt.Sscan(f[1], &vm)
		fmt.Sscan(f[2], &vc)
		if r[0] == 0 {
			// A run that did not start leaves the read pending.
			delete(s.readSize, [2]uint64{vm, vc})
			s.st.exits[exitNames[r[1]]]++
			if r[1] == uint64(abi.ExitMMIO) && r[3]&abi.AccessWrite == 0 {
				s.readSize[[2]uint64{vm, vc}] = r[3] >> abi.AccessSizeShift & 3
			}
		}
	case "host":
		x, _ := parseWords(f[1:])
		id = uint32(x[0])
	case "guest":
		x, _ := parseWords(f[3:])
		id = uint32(x[0])
		name = "guest "
	}
	n, ok := callNames[id]
	if !ok {
		n = "other"
	}
	st := statusNames[int64(r[0])]
	if strings.HasPrefix(n, "PSCI") || st == "" {
		st = fmt.Sprintf("%d", int64(r[0]))
	}
	s.st.add(name+n, st)
}

// hexWords parses a register line of the oracle's format.
func hexWords(l string) [8]uint64 {
	var x [8]uint64
	for i, f := range strings.Fields(l)[1:] {
		fmt.Sscanf(f, "%x", &x[i])
	}
	return x
}

// nestedCall returns the host call made inside a run op ("" if none).
func nestedCall(op string) string {
	for _, a := range strings.Split(op, ";") {
		if f := strings.Fields(a); len(f) > 1 && f[0] == "host" {
			return strings.Join(f[1:], " ")
		}
	}
	return ""
}

// build makes a trace of n ops against a fresh engine with a pool of
// tables tables and returns it with the lines the oracle must print for it.
//
// The model has no table pool. With a small pool (fewer than
// isolation.SmallPoolTables), a call the engine refuses with NO_MEMORY
// must leave the abstract state exactly as it was (checked here); it is
// then sent to the oracle as a comment, which it echoes, and the trace
// goes on. That is refinement up to running out of tables: a NO_MEMORY
// that changed anything, or any other outcome, is compared as usual.
func (s *sgen) build(t testing.TB, n, tables int) ([]string, [][]string) {
	s.g = newGoRunPool(t, tables)
	s.small = tables < isolation.SmallPoolTables
	s.hoard = s.chance(2)
	s.readSize = map[[2]uint64]uint64{}
	var tr []string
	var want [][]string
	s.a = s.g.e.Snapshot()
	prev := stateLineOf(s.g, s.a)
	for range n {
		op := s.op()
		w, err := s.g.do(op)
		if err != nil {
			t.Fatal(err)
		}
		if len(w) >= 2 {
			for _, l := range w[:len(w)-2] {
				if l != "x -" {
					s.record("host "+nestedCall(op), hexWords(l))
				}
			}
			x := hexWords(w[len(w)-2])
			s.record(op, x)
			if s.small && int64(x[0]) == int64(abi.NoMemory) && !strings.HasPrefix(op, "run") {
				if w[len(w)-1] != prev {
					t.Fatalf("NO_MEMORY changed the state: %q\n  before: %s\n  after:  %s", op, prev, w[len(w)-1])
				}
				op = "# no memory: " + op
				w = []string{op}
			}
		} else {
			s.record(op, [8]uint64{})
		}
		s.a = s.g.e.Snapshot()
		prev = stateLineOf(s.g, s.a)
		s.st.states[ledgerLine(s.a)] = true
		tr = append(tr, op)
		want = append(want, w)
	}
	s.st.ops += n
	return tr, want
}

// compare sends tr to the oracle and returns the first difference from
// want, or "".
func compare(t testing.TB, o *oracle, tr []string, want [][]string) string {
	n := 1
	for _, w := range want {
		n += len(w)
	}
	got, err := o.batch(append([]string{"reset"}, tr...), n)
	if err != nil {
		t.Fatal(err)
	}
	k := 1
	for i, op := range tr {
		for _, w := range want[i] {
			if w != got[k] {
				return fmt.Sprintf("op %d %q:\n  go:   %s\n  spec: %s\ntrace:\n%s", i, op, w, got[k], strings.Join(tr[:i+1], "\n"))
			}
			k++
		}
	}
	return ""
}

// table prints the per-call outcome counts.
func (s *stats) table() string {
	var b strings.Builder
	var calls []string
	for c := range s.calls {
		calls = append(calls, c)
	}
	sort.Strings(calls)
	for _, c := range calls {
		var sts []string
		for st := range s.calls[c] {
			sts = append(sts, st)
		}
		sort.Strings(sts)
		fmt.Fprintf(&b, "  %-26s", c)
		for _, st := range sts {
			fmt.Fprintf(&b, " %s=%d", st, s.calls[c][st])
		}
		b.WriteString("\n")
	}
	var ex []string
	for e, n := range s.exits {
		ex = append(ex, fmt.Sprintf("%s=%d", e, n))
	}
	sort.Strings(ex)
	fmt.Fprintf(&b, "  VCPU_RUN exits: %s\n", strings.Join(ex, " "))
	return b.String()
}

// stateTraces and stateTraceLen: how much the state-aware test runs.
const (
	stateTraces   = 500
	stateTraceLen = 400
)

// TestStateAwareTraces compares stateTraces traces of stateTraceLen calls
// drawn from the ledger, and prints how often each call ended in each
// status, the exits, and how many distinct abstract states were reached.
func TestStateAwareTraces(t *testing.T) {
	o := newOracle(t)
	seed := seed()
	s := &sgen{r: rand.New(rand.NewSource(seed)), st: newStats()}
	start := time.Now()
	for i := range stateTraces {
		// One trace in four has a pool of 8 to 13 tables, so that calls
		// run out of tables at every point of the stage-2 code.
		tables := isolation.SmallPoolTables
		if i%4 == 3 {
			tables = 8 + s.r.Intn(6)
		}
		tr, want := s.build(t, stateTraceLen, tables)
		if d := compare(t, o, tr, want); d != "" {
			saveRegression(t, tr)
			t.Fatalf("seed %d, trace %d diverges at %s", seed, i, d)
		}
	}
	el := time.Since(start)
	t.Logf("seed %d: %d calls in %v (%.0f calls/s), %d distinct ledger states (pages, VMs, host map)\n%s", seed, s.st.ops, el.Round(time.Millisecond),
		float64(s.st.ops)/el.Seconds(), len(s.st.states), s.st.table())
	for _, low := range s.st.below(minReached) {
		t.Errorf("reached fewer than %d times: %s", minReached, low)
	}
}

// minReached is how often every ABI call, every status and every exit must
// be reached in one run of TestStateAwareTraces: a generator that stops
// reaching one (after a change to the ABI or to the generator) fails.
const minReached = 1000

// below lists the calls (host and guest, whatever their status), statuses
// (over all calls) and exits reached fewer than n times.
func (s *stats) below(n int) []string {
	total := map[string]int{}
	for c, m := range s.calls {
		for st, k := range m {
			total["call "+strings.TrimPrefix(c, "guest ")] += k
			if !strings.HasPrefix(c, "guest PSCI") && st != "-" {
				total["status "+st] += k
			}
		}
	}
	var out []string
	for _, name := range callNames {
		if total["call "+name] < n {
			out = append(out, fmt.Sprintf("call %s (%d)", name, total["call "+name]))
		}
	}
	for _, st := range statusNames {
		if total["status "+st] < n {
			out = append(out, fmt.Sprintf("status %s (%d)", st, total["status "+st]))
		}
	}
	for _, e := range exitNames {
		if s.exits[e] < n {
			out = append(out, fmt.Sprintf("exit %s (%d)", e, s.exits[e]))
		}
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// blockMachine is SmallConfig with 2 MiB more RAM: the host stage-2 maps
// the first 2 MiB, aligned and all the host's, with one level-2 block, which
// the first donation, share or unshare of a page in it splits (and which,
// with a small pool, may find no table to split into).
func blockMachine() isolation.Config {
	c := isolation.SmallConfig()
	c.RAM = isolation.Range{Base: 0x4000_0000, Size: 2<<20 + 16*isolation.PageSize}
	c.Engine = []isolation.Range{{Base: 0x4020_0000 + 15*isolation.PageSize, Size: isolation.PageSize}}
	return c
}

// hostBlock reports whether the host stage-2 maps the first RAM page with
// a block.
func hostBlock(g *goRun) bool {
	m, ok := g.e.Translate(isolation.HostVMID, isolation.IPA(ram0))
	return ok && m.Level < 3
}

// TestStateAwareBlocks: state-aware traces on blockMachine, half of them
// with a small pool; each must split the host's 2 MiB block, and the
// model must agree throughout (a NO_MEMORY when the split finds no table
// leaves the state unchanged).
func TestStateAwareBlocks(t *testing.T) {
	withMachine(t, blockMachine())
	o := newOracle(t)
	seed := seed()
	s := &sgen{r: rand.New(rand.NewSource(seed)), st: newStats()}
	const traces, length = 16, 200
	splits := 0
	for i := range traces {
		tables := isolation.SmallPoolTables
		if i%2 == 1 {
			tables = 8 + s.r.Intn(6)
		}
		tr, want := s.build(t, length, tables)
		if !hostBlock(s.g) {
			splits++
		}
		if d := compare(t, o, tr, want); d != "" {
			saveRegression(t, tr)
			t.Fatalf("seed %d, trace %d diverges at %s", seed, i, d)
		}
	}
	if g := newGoRun(t); !hostBlock(g) {
		t.Fatal("the host stage-2 maps blockMachine's first 2 MiB without a block: nothing here splits one")
	}
	t.Logf("seed %d: %d calls, %d of %d traces split the host's block, %d distinct states\n%s", seed, s.st.ops, splits, traces,
		len(s.st.states), s.st.table())
	if splits < traces/2 {
		t.Errorf("only %d of %d traces split the host's block", splits, traces)
	}
}

// TestPlantedBugsStateAware: each bug the core can plant is found by the
// state-aware traces alone (no regression trace), within stateTraces
// traces; the log gives the trace and call that showed it.
func TestPlantedBugsStateAware(t *testing.T) {
	o := newOracle(t)
	for _, b := range plantedBugs() {
		t.Run(b.name, func(t *testing.T) {
			*b.sw = true
			defer func() { *b.sw = false }()
			s := &sgen{r: rand.New(rand.NewSource(seed())), st: newStats()}
			for i := range stateTraces {
				tables := isolation.SmallPoolTables
				if i%4 == 3 {
					tables = 8 + s.r.Intn(6)
				}
				tr, want := s.build(t, stateTraceLen, tables)
				if d := compare(t, o, tr, want); d != "" {
					t.Logf("trace %d: %s", i, d[:strings.Index(d, "\ntrace:")])
					return
				}
			}
			t.Fatalf("planted bug %s: no divergence in %d traces", b.name, stateTraces)
		})
	}
}
