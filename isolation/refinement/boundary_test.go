package refinement

import (
	"testing"

	"bulkhead/isolation/abi"
)

// boundaryValues are the 64-bit edges every argument register is tried
// with: zero, the old oracle's clamp (2^61), the sign bit, and all ones
// (odd, so that an alignment check sees it).
var boundaryValues = []uint64{0, 1 << 61, 1 << 63, ^uint64(0)}

// boundarySetup leaves VM 1 with two vCPUs (vCPU 0 initialised), a
// donated page at IPA 0 and a shared page at IPA 0x1000, so that each
// call's baseline arguments below mostly succeed and one changed argument
// decides the result.
func boundarySetup() []string {
	rw := uint64(abi.PermR | abi.PermW)
	return []string{
		host(abi.VMCreate, 2),
		host(abi.VCPUInit, 1, 0, 0x4000_0000, 7),
		host(abi.MemDonate, 1, pa(1), 0, 1, rw),
		host(abi.MemShare, 1, pa(2), 0x1000, 1, rw),
	}
}

// boundaryCalls are one valid call of each kind: host calls as host(...)
// arguments, guest calls from vCPU 0 of VM 1.
type boundaryCall struct {
	guest bool
	id    uint32
	args  []uint64
}

func boundaryCalls() []boundaryCall {
	rw := uint64(abi.PermR | abi.PermW)
	return []boundaryCall{
		{false, abi.Version, nil},
		{false, abi.CallUID, nil},
		{false, abi.Revision, nil},
		{false, abi.VMCreate, []uint64{1, 0}},
		{false, abi.VMDestroy, []uint64{1}},
		{false, abi.VCPUInit, []uint64{1, 1, 0x4000_0000, 7}},
		{false, abi.VCPURun, []uint64{1, 0, 5}},
		{false, abi.VCPUIRQ, []uint64{1, 0, 33, 1}},
		{false, abi.MemDonate, []uint64{1, pa(3), 0x4000, 1, rw}},
		{false, abi.MemShare, []uint64{1, pa(4), 0x5000, 1, rw}},
		{false, abi.MemUnshare, []uint64{1, 0x1000, 1}},
		{false, abi.MemReclaim, []uint64{pa(1), 1}},
		{false, abi.MemInfo, []uint64{pa(1)}},
		{true, abi.Version, nil},
		{true, abi.GuestShare, []uint64{0, 1}},
		{true, abi.GuestUnshare, []uint64{0, 1}},
		{true, abi.GuestRelinquish, []uint64{0, 1}},
		{true, abi.GuestMemInfo, nil},
		{true, abi.GuestMemState, []uint64{0, 2}},
		{true, abi.PSCIFeatures, []uint64{uint64(abi.PSCICPUOn64)}},
		{true, abi.PSCICPUOn64, []uint64{1, 0x4000_0000, 7}},
		{true, abi.PSCICPUOn32, []uint64{1, 0x4000_0000, 7}},
		{true, abi.PSCIAffinityInfo64, []uint64{1, 0}},
		{true, abi.PSCIAffinityInfo32, []uint64{1, 0}},
		{true, abi.PSCICPUOff, nil},
		{true, abi.PSCISystemOff, nil},
	}
}

// TestBoundaryValues: every argument register x1..x7 of every call, set
// in turn to each boundary value with the others valid, gives the same
// registers and state in the engine and in the model. The model must see
// the value exactly: an oracle that clamps or truncates it (as one that
// reads registers into OCaml's 63-bit int must) diverges here, e.g. on
// VCPU_INIT with entry 2^64-1, which is odd.
func TestBoundaryValues(t *testing.T) {
	o := newOracle(t)
	n := 0
	for _, c := range boundaryCalls() {
		for i := 0; i < 7; i++ {
			for _, v := range boundaryValues {
				x := make([]uint64, 7)
				copy(x, c.args)
				x[i] = v
				op := host(c.id, x...)
				if c.guest {
					op = guest(1, 0, c.id, x...)
				}
				tr := append(boundarySetup(), op)
				// Then show what the call left: a run of each vCPU and
				// the pages' metadata.
				tr = append(tr, host(abi.VCPURun, 1, 1, v), host(abi.VCPURun, 1, 0, v), host(abi.MemInfo, pa(3)))
				if d := divergence(t, o, tr); d != "" {
					t.Errorf("x%d = %#x: diverges at %s", i+1, v, d)
				}
				n++
			}
		}
	}
	t.Logf("%d boundary traces", n)
}
