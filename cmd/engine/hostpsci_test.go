package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"bulkhead/isolation/abi"
)

// hostRAM stands for the ledger: the host owns [0x4420_0000, 0x4C20_0000).
func hostRAM(pa uint64) bool { return pa >= 0x4420_0000 && pa < 0x4C20_0000 }

func twoCPUs(second cpuPower) []boardCPU {
	return []boardCPU{{MPIDR: 0, Power: cpuOn}, {MPIDR: 1, Power: second}}
}

func call(id uint32, args ...uint64) [8]uint64 {
	x := [8]uint64{uint64(id)}
	copy(x[1:], args)
	return x
}

func TestOneCPUBoardLeavesHostCPUCallsToTheCore(t *testing.T) {
	one := []boardCPU{{MPIDR: 0, Power: cpuOn}}
	for _, id := range []uint32{abi.PSCICPUOn64, abi.PSCICPUOff, abi.PSCIAffinityInfo64, abi.PSCIFeatures} {
		_, _, handled := hostPower(id, call(id, 0, 0x4420_0000), one, 0, hostRAM)
		assert.False(t, handled, "%#x", id)
	}
}

func TestCPUOnStartsAnOffCPUAtAHostEntry(t *testing.T) {
	for _, id := range []uint32{abi.PSCICPUOn64, abi.PSCICPUOn32} {
		r, act, handled := hostPower(id, call(id, 1, 0x4430_0000, 0xc0ffee), twoCPUs(cpuOff), 0, hostRAM)
		require.True(t, handled)
		assert.Equal(t, psci(abi.PSCISuccess), r)
		assert.Equal(t, cpuAction{Kind: actStart, Slot: 1, Entry: 0x4430_0000, Arg: 0xc0ffee}, act)
	}
}

func TestCPUOnRefusesWithThePSCICode(t *testing.T) {
	for name, c := range map[string]struct {
		x    [8]uint64
		cpus []boardCPU
		want int64
	}{
		"no such CPU":            {call(abi.PSCICPUOn64, 7, 0x4430_0000), twoCPUs(cpuOff), abi.PSCIInvalidParameters},
		"bits beyond affinity":   {call(abi.PSCICPUOn64, 1<<24|1, 0x4430_0000), twoCPUs(cpuOff), abi.PSCIInvalidParameters},
		"the caller itself":      {call(abi.PSCICPUOn64, 0, 0x4430_0000), twoCPUs(cpuOff), abi.PSCIAlreadyOn},
		"a CPU already on":       {call(abi.PSCICPUOn64, 1, 0x4430_0000), twoCPUs(cpuOn), abi.PSCIAlreadyOn},
		"a CPU starting":         {call(abi.PSCICPUOn64, 1, 0x4430_0000), twoCPUs(cpuStarting), abi.PSCIOnPending},
		"entry in engine memory": {call(abi.PSCICPUOn64, 1, 0x4020_0000), twoCPUs(cpuOff), psciInvalidAddress},
		"entry outside RAM":      {call(abi.PSCICPUOn64, 1, 0x0900_0000), twoCPUs(cpuOff), psciInvalidAddress},
		"misaligned entry":       {call(abi.PSCICPUOn64, 1, 0x4430_0002), twoCPUs(cpuOff), psciInvalidAddress},
		"SMC32 drops high bits":  {call(abi.PSCICPUOn32, 1, 1<<32|0x4020_0000), twoCPUs(cpuOff), psciInvalidAddress},
	} {
		t.Run(name, func(t *testing.T) {
			r, act, handled := hostPower(uint32(c.x[0]), c.x, c.cpus, 0, hostRAM)
			require.True(t, handled)
			assert.Equal(t, psci(c.want), r)
			assert.Equal(t, actNone, act.Kind, "nothing started")
		})
	}
}

func TestCPUOffStopsTheCallerUnlessItIsTheLast(t *testing.T) {
	_, act, handled := hostPower(abi.PSCICPUOff, call(abi.PSCICPUOff), twoCPUs(cpuOn), 1, hostRAM)
	require.True(t, handled)
	assert.Equal(t, actStop, act.Kind)

	r, act, _ := hostPower(abi.PSCICPUOff, call(abi.PSCICPUOff), twoCPUs(cpuOff), 0, hostRAM)
	assert.Equal(t, psci(abi.PSCIDenied), r)
	assert.Equal(t, actNone, act.Kind)
}

func TestAffinityInfoReportsEachCPU(t *testing.T) {
	id := abi.PSCIAffinityInfo64
	for power, want := range map[cpuPower]uint64{cpuOn: abi.AffinityOn, cpuOff: abi.AffinityOff, cpuStarting: abi.AffinityOnPending} {
		r, _, handled := hostPower(id, call(id, 1, 0), twoCPUs(power), 0, hostRAM)
		require.True(t, handled)
		assert.Equal(t, want, r)
	}
	r, _, _ := hostPower(id, call(id, 1, 1), twoCPUs(cpuOn), 0, hostRAM)
	assert.Equal(t, psci(abi.PSCIInvalidParameters), r, "level 1")
	r, _, _ = hostPower(id, call(id, 5, 0), twoCPUs(cpuOn), 0, hostRAM)
	assert.Equal(t, psci(abi.PSCIInvalidParameters), r, "no such CPU")
}

func TestFeaturesAnswersForTheHostCPUCalls(t *testing.T) {
	r, _, handled := hostPower(abi.PSCIFeatures, call(abi.PSCIFeatures, uint64(abi.PSCICPUOn64)), twoCPUs(cpuOff), 0, hostRAM)
	require.True(t, handled)
	assert.Equal(t, psci(abi.PSCISuccess), r)
	_, _, handled = hostPower(abi.PSCIFeatures, call(abi.PSCIFeatures, uint64(abi.PSCISystemOff)), twoCPUs(cpuOff), 0, hostRAM)
	assert.False(t, handled, "the core answers for the rest")
}

// FuzzHostPower: whatever the call and the CPUs' states, hostPower never
// panics, leaves one-CPU boards to the core, starts only an off CPU of the
// board at an aligned entry the host owns, and stops only a caller that
// is not the last CPU on.
func FuzzHostPower(f *testing.F) {
	f.Add(uint32(abi.PSCICPUOn64), uint64(1), uint64(0x4430_0000), uint64(7), uint8(0b0110), uint8(3), uint8(0))
	f.Add(uint32(abi.PSCICPUOff), uint64(0), uint64(0), uint64(0), uint8(0b1010), uint8(2), uint8(1))
	f.Add(uint32(abi.PSCIAffinityInfo32), uint64(1<<32|1), uint64(0), uint64(0), uint8(0b0010), uint8(2), uint8(0))
	f.Fuzz(func(t *testing.T, id uint32, x1, x2, x3 uint64, powers, n, caller uint8) {
		cpus := make([]boardCPU, int(n%5))
		for i := range cpus {
			cpus[i] = boardCPU{MPIDR: uint64(i), Power: cpuPower(powers >> (2 * i) % 3)}
		}
		if len(cpus) == 0 {
			return
		}
		c := int(caller) % len(cpus)
		cpus[c].Power = cpuOn // the caller runs
		_, act, handled := hostPower(id, call(id, x1, x2, x3), cpus, c, hostRAM)
		if len(cpus) < 2 {
			require.False(t, handled)
		}
		switch act.Kind {
		case actStart:
			require.Equal(t, cpuOff, cpus[act.Slot].Power)
			require.Zero(t, act.Entry&3)
			require.True(t, hostRAM(act.Entry))
		case actStop:
			others := 0
			for i, cpu := range cpus {
				if i != c && cpu.Power != cpuOff {
					others++
				}
			}
			require.Positive(t, others, "the last CPU on never stops")
		}
	})
}
