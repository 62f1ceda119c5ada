package isolation_test

import (
	"encoding/binary"
	"slices"
	"testing"

	"bulkhead/isolation"
	"bulkhead/isolation/abi"
	"bulkhead/isolation/internal/fakearch"
)

// fuzzIDs are the ids a fuzz input picks from by index; an index past the
// end takes the id from the input instead.
var fuzzIDs = []uint32{
	abi.Version, abi.CallUID, abi.Revision, abi.VMCreate, abi.VMDestroy, abi.VCPUInit, abi.VCPURun,
	abi.VCPUIRQ, abi.MemDonate, abi.MemShare, abi.MemUnshare, abi.MemReclaim, abi.MemInfo,
	abi.GuestShare, abi.GuestUnshare, abi.GuestRelinquish, abi.GuestMemInfo,
	abi.PSCIVersion, abi.PSCIFeatures, abi.PSCICPUOn32, abi.PSCICPUOn64, abi.PSCICPUOff,
	abi.PSCIAffinityInfo32, abi.PSCIAffinityInfo64, abi.PSCISystemOff, abi.PSCISystemReset,
	abi.GuestMemState,
}

// fuzzReader hands out the bytes of a fuzz input; past the end it gives 0.
type fuzzReader struct{ b []byte }

func (r *fuzzReader) byte() byte {
	if len(r.b) == 0 {
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

// word reads a small or a full 64-bit value: small values hit the
// interesting cases (RAM pages, IPAs, counts) far more often.
func (r *fuzzReader) word() uint64 {
	switch k := r.byte(); k % 4 {
	case 0:
		return uint64(k >> 2)
	case 1:
		return pg(int(k>>2) % (npage + 1))
	case 2:
		return uint64(k>>2) * page
	}
	var w [8]byte
	for i := range w {
		w[i] = r.byte()
	}
	return binary.LittleEndian.Uint64(w[:])
}

// fuzzState picks arguments from the engine's ledger: most fuzz bytes
// choose among the values that lead somewhere in the current state (a live
// VM, a host page to lend, a page awaiting reclaim, a mapped IPA), so that
// donations, shares, reclaims and runs succeed and the deep states are
// reached; the rest are raw words.
type fuzzState struct {
	r *fuzzReader
	a isolation.Abstract
}

// pick returns c[i] for the next byte i, or a raw word when the byte is
// past the candidates (or there are none).
func (f fuzzState) pick(c []uint64) uint64 {
	i := int(f.r.byte())
	if i < 4*len(c) {
		return c[i%len(c)]
	}
	return f.r.word()
}

func (f fuzzState) vms() []uint64 {
	var c []uint64
	for i, v := range f.a.VMs {
		if v.Live {
			c = append(c, uint64(i+1))
		}
	}
	return c
}

func (f fuzzState) pages(ok func(p isolation.AbstractPage) bool) []uint64 {
	var c []uint64
	for _, p := range f.a.Pages {
		if ok(p) {
			c = append(c, p.PFN<<12)
		}
	}
	return c
}

func (f fuzzState) ipas(vm uint64) []uint64 {
	var c []uint64
	if vm >= 1 && vm <= uint64(len(f.a.VMs)) {
		for _, m := range f.a.VMs[vm-1].Map {
			c = append(c, m.IPAPage<<12)
		}
	}
	return append(c, 0, 0x1000, 0x2000)
}

// call decodes one call from the host (VM 0) or a vCPU.
func (f fuzzState) call() (isolation.Caller, [8]uint64) {
	var x [8]uint64
	c := isolation.Caller{VM: isolation.VMID(f.r.byte() % 4), VCPU: uint16(f.r.byte() % 3)}
	if sel := int(f.r.byte()); sel < len(fuzzIDs) {
		x[0] = uint64(fuzzIDs[sel])
	} else {
		x[0] = f.r.word()
	}
	vm := f.pick(f.vms())
	small := []uint64{1, 1, 2, 3, 0}
	switch uint32(x[0]) {
	case abi.VMCreate:
		x[1], x[2] = f.pick([]uint64{1, 2}), f.pick([]uint64{0, abi.VMProtected})
	case abi.VMDestroy:
		x[1] = vm
	case abi.VCPUInit, abi.VCPURun, abi.VCPUIRQ:
		x[1], x[2], x[3], x[4] = vm, f.pick([]uint64{0, 1}), f.pick([]uint64{0x4000_0000, 33, 1}), f.pick([]uint64{1, 0})
	case abi.MemDonate, abi.MemShare:
		x[1], x[2] = vm, f.pick(f.pages(func(p isolation.AbstractPage) bool { return p.Owner == abi.OwnerHost && !p.Shared }))
		x[3], x[4], x[5] = f.pick(f.ipas(0)), f.pick(small), f.pick([]uint64{3, 1, 7})
	case abi.MemUnshare:
		x[1], x[2], x[3] = vm, f.pick(f.ipas(vm)), f.pick(small)
	case abi.MemReclaim:
		x[1], x[2] = f.pick(f.pages(func(p isolation.AbstractPage) bool { return p.Owner == abi.OwnerNone })), f.pick(small)
	case abi.MemInfo:
		x[1] = f.pick(f.pages(func(isolation.AbstractPage) bool { return true }))
	case abi.GuestShare, abi.GuestUnshare, abi.GuestRelinquish, abi.GuestMemState:
		x[1], x[2] = f.pick(f.ipas(uint64(c.VM))), f.pick(small)
	default:
		for i := 1; i < 8; i++ {
			x[i] = f.r.word()
		}
	}
	return c, x
}

// guestScript decodes what the guest does in one VCPU_RUN: up to three
// entries, each with register writes and a store to a mapped page before
// a trap (an SMCCC call, an MMIO access, WFI, an interrupt, or a raw
// syndrome).
func (f fuzzState) guestScript(e *isolation.Engine, a *fakearch.Arch, vm isolation.VMID) []fakearch.Step {
	var steps []fakearch.Step
	for range f.r.byte() % 4 {
		id := uint64(fuzzIDs[int(f.r.byte())%len(fuzzIDs)])
		arg, reg := f.pick(f.ipas(uint64(vm))), int(f.r.byte()%31)
		store := f.r.byte()
		before := func(c *isolation.Context) {
			c.X[0], c.X[1], c.X[2] = id, arg, 1
			if m, ok := e.Translate(vm, isolation.IPA(arg)); ok && m.Attr.Perms&isolation.PermW != 0 && store != 0 {
				a.Write(m.PA, store)
			}
		}
		var t isolation.Trap
		switch k := f.r.byte(); k % 6 {
		case 0, 1:
			t = isolation.Trap{Kind: isolation.TrapSync, ESR: 0x16 << 26}
		case 2:
			ipa := 0x10_0000 + uint64(k)*8
			esr := uint64(0x24)<<26 | 1<<24 | uint64(k%4)<<22 | uint64(reg)<<16 | 1<<15 | uint64(k&1)<<6 | 0x07
			t = isolation.Trap{Kind: isolation.TrapSync, ESR: esr, FAR: ipa, HPFAR: ipa >> 12 << 4}
		case 3:
			t = isolation.Trap{Kind: isolation.TrapSync, ESR: 0x01 << 26}
		case 4:
			t = isolation.Trap{Kind: isolation.TrapIRQ}
		default:
			t = isolation.Trap{Kind: isolation.TrapKind(k % 4), ESR: f.r.word() | f.r.word()<<26, FAR: f.r.word(), HPFAR: f.r.word()}
		}
		steps = append(steps, fakearch.Step{Before: before, Trap: t})
	}
	return steps
}

// FuzzDispatch feeds calls from the host and from guests, with scripted
// guests under VCPU_RUN, on an engine whose table pool the first byte
// sizes (8 to 64 tables), and checks after each call that nothing
// panicked, the ghost check passes and the invariants hold.
func FuzzDispatch(f *testing.F) {
	// Seeds in the decoder's byte order (fuzzState.call: caller VM, vCPU,
	// id index, then one byte per picked argument; a pick with no
	// candidate takes a raw word, one more byte).
	create := []byte{0, 0, 3, 0, 0, 0, 0}     // VM_CREATE(1 vCPU)
	createProt := []byte{0, 0, 3, 0, 0, 0, 1} // VM_CREATE(1, protected)
	initVCPU := []byte{0, 0, 5, 0, 0, 0, 0}   // VCPU_INIT(vm 1, vCPU 0, 0x4000_0000, 1)
	donate := []byte{0, 0, 8, 0, 0, 0, 0, 0}  // MEM_DONATE(vm 1, first host page, IPA 0, 1, RW)
	share := []byte{0, 0, 9, 0, 0, 1, 0, 0}   // MEM_SHARE(vm 1, first host page, IPA 0x1000, 1, RW)
	run := []byte{0, 0, 6, 0, 0, 0, 0, 2,     // VCPU_RUN(vm 1, vCPU 0): two entries:
		13, 0, 0, 7, 0, // the guest stores 7 to its page at IPA 0, then HVC GUEST_SHARE(IPA 0, 1)
		2, 0, 5, 0, 2} // then an MMIO access from x5
	info := []byte{0, 0, 12, 0, 1}        // MEM_INFO(first host page)
	destroy := []byte{0, 0, 4, 0}         // VM_DESTROY(vm 1)
	reclaim := []byte{0, 0, 11, 0, 0, 0}  // MEM_RECLAIM(first unowned page, 1)
	memstate := []byte{1, 0, 26, 0, 0, 1} // GUEST_MEMSTATE(IPA 0, 2) from vm 1
	seed := func(tables byte, calls ...[]byte) []byte {
		return slices.Concat(append([][]byte{{tables}}, calls...)...)
	}
	f.Add(seed(56, create, initVCPU, donate, run, info, destroy, reclaim, info)) // a pool of 64 tables
	f.Add(seed(1, create, initVCPU, donate, share, run, run, destroy, reclaim))  // 9 tables
	f.Add(seed(30, createProt, share, donate, memstate, initVCPU, run))
	f.Add([]byte{0, 3, 1, 0, 5, 0, 0, 0, 8, 1, 1, 5, 4, 1, 12, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		a := fakearch.New()
		a.Record = false
		r := &fuzzReader{b: data}
		tables := 8 + int(r.byte())%(isolation.SmallPoolTables-7)
		e, err := isolation.New(isolation.SmallConfig(), a, isolation.NewPool(tables, isolation.SmallPoolBase))
		if err != nil {
			t.Fatal(err)
		}
		before := e.Snapshot()
		for calls := 0; len(r.b) > 0 && calls < 64; calls++ {
			fs := fuzzState{r: r, a: before}
			c, x := fs.call()
			a.Script = a.Script[:0]
			if uint32(x[0]) == abi.VCPURun {
				a.Script = fs.guestScript(e, a, isolation.VMID(x[1]))
			}
			e.Dispatch(c, x)
			a.Script = a.Script[:0]
			if err := e.Check(); err != nil {
				t.Fatalf("call %d %#x from %+v: %v", calls, x, c, err)
			}
			s := e.Snapshot()
			if err := invariants(before, s); err != nil {
				t.Fatalf("call %d %#x from %+v: %v", calls, x, c, err)
			}
			before = s
		}
	})
}
