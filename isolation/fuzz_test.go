package isolation_test

import (
	"encoding/binary"
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

// FuzzDispatch feeds arbitrary calls from the host and from guests, with
// arbitrary guest exits under VCPU_RUN, and checks after each one that
// nothing panicked, the ghost check passes and the invariants hold.
func FuzzDispatch(f *testing.F) {
	f.Add([]byte{0, 3, 1, 0, 5, 0, 0, 0, 8, 1, 1, 5, 4, 1, 12, 0})
	f.Add([]byte{0, 3, 9, 0, 6, 1, 0, 0, 0, 0, 13, 4, 4, 1, 15, 4, 4, 0, 11, 5, 4})
	f.Add([]byte{0, 3, 2, 0, 5, 0, 0, 0, 0, 5, 1, 0, 0, 1, 0, 20, 1, 0, 0, 0, 0, 6, 1, 0, 0})
	// A protected VM (VM_CREATE x2 = 1): MEM_SHARE into it, MEM_DONATE,
	// then its GUEST_MEMSTATE over two pages.
	f.Add([]byte{0, 0, 3, 4, 4, 0, 0, 0, 0, 0, 0, 0, 9, 4, 13, 2, 4, 12, 0, 0, 0, 0, 8, 4, 13, 2, 4, 12, 0, 0,
		1, 0, 26, 0, 8, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		a := fakearch.New()
		a.Record = false
		e, err := isolation.New(isolation.SmallConfig(), a, isolation.NewPool(isolation.SmallPoolTables, isolation.SmallPoolBase))
		if err != nil {
			t.Fatal(err)
		}
		r := &fuzzReader{b: data}
		before := e.Snapshot()
		for calls := 0; len(r.b) > 0 && calls < 64; calls++ {
			c := isolation.Caller{VM: isolation.VMID(r.byte() % 4), VCPU: uint16(r.byte() % 3)}
			var x [8]uint64
			if sel := int(r.byte()); sel < len(fuzzIDs) {
				x[0] = uint64(fuzzIDs[sel])
			} else {
				x[0] = r.word()
			}
			for i := 1; i < 8; i++ {
				x[i] = r.word()
			}
			if uint32(x[0]) == abi.VCPURun {
				a.Script = append(a.Script[:0], fakearch.Step{Trap: isolation.Trap{
					Kind: isolation.TrapKind(r.byte() % 4), ESR: r.word() | r.word()<<26, FAR: r.word(), HPFAR: r.word(),
				}})
			}
			e.Dispatch(c, x)
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
