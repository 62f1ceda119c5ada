package guest

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"bulkhead/boot/virt"
	"bulkhead/isolation/abi"
)

// pageEngine answers GUEST_MEMSTATE from a map of page states (default
// private) as the engine does: the state at the IPA and the run, at most
// the pages asked and abi.MemStateMaxRun. calls counts the calls.
type pageEngine struct {
	states map[uint64]uint64
	calls  int
	broken bool // answer a run of 0
}

func (e *pageEngine) state(ipa uint64) uint64 {
	if s, ok := e.states[ipa]; ok {
		return s
	}
	return abi.MemPrivate
}

func (e *pageEngine) Call(x [8]uint64) [8]uint64 {
	e.calls++
	if uint32(x[0]) != abi.GuestMemState || x[2] == 0 || x[1]%virt.PageSize != 0 {
		x[0] = abi.InvalidParameters.Reg()
		return x
	}
	s, run := e.state(x[1]), uint64(1)
	for run < min(x[2], abi.MemStateMaxRun) && e.state(x[1]+run*virt.PageSize) == s {
		run++
	}
	if e.broken {
		run = 0
	}
	return [8]uint64{0, s, run, x[3], x[4], x[5], x[6], x[7]}
}

func withPages(t *testing.T, e *pageEngine) {
	prev := SetConduit(e)
	t.Cleanup(func() { SetConduit(prev) })
}

func TestCheckPrivate(t *testing.T) {
	ram := []virt.Region{{Name: "ram", Base: 0x4000_0000, Size: 200 * virt.PageSize},
		{Name: "ram", Base: 0x8000_0800, Size: 0x1000}} // two partial pages
	e := &pageEngine{states: map[uint64]uint64{}}
	withPages(t, e)
	require.NoError(t, CheckPrivate(ram))
	assert.Equal(t, 4+1, e.calls, "200 pages in runs of at most 64, then the second range")

	e.states[0x4000_0000+130*virt.PageSize] = abi.MemLent
	err := CheckPrivate(ram)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "0x40082000 is lent by the host")

	e.states = map[uint64]uint64{0x8000_1000: abi.MemShared}
	err = CheckPrivate(ram)
	require.Error(t, err, "the last partial page counts")
	assert.Contains(t, err.Error(), "shared with the host")

	e.states = map[uint64]uint64{0x4000_0000: abi.MemUnmapped}
	assert.ErrorContains(t, CheckPrivate(ram), "unmapped")

	e.states, e.broken = map[uint64]uint64{}, true
	assert.ErrorContains(t, CheckPrivate(ram), "run of 0 pages", "a broken answer ends the walk")

	withFake(t, [8]uint64{abi.NotSupported.Reg()})
	assert.ErrorContains(t, CheckPrivate(ram), "NOT_SUPPORTED", "an engine without ABI v1.1")
	assert.ErrorContains(t, CheckPrivate([]virt.Region{{Name: "ram", Base: ^uint64(0) - 0xfff, Size: 0x2000}}), "wraps")
	assert.ErrorContains(t, Machine{}.CheckRAMPrivate(), "no RAM")
}
