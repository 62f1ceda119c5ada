package main

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"bulkhead/boot/virt"
	"bulkhead/isolation/abi"
)

// fakeMachine answers like a correct engine unless told to misbehave.
type fakeMachine struct {
	clobberX5      bool // a call writes a register it does not define
	engineMapped   bool // engine memory is readable from EL1
	wrongSyndrome  bool // the abort is not a synchronous external abort
	unknownSuccess bool // an unknown id succeeds
	mem            map[uint64]uint64
}

func (f *fakeMachine) Call(x *[8]uint64) {
	switch uint32(x[0]) {
	case abi.Version:
		x[0], x[1], x[2] = 0, abi.VersionMajor, abi.VersionMinor
	case abi.CallUID:
		w := abi.UIDWords()
		for i := range w {
			x[i] = uint64(w[i])
		}
	default:
		x[0] = abi.NotSupported.Reg()
		if f.unknownSuccess {
			x[0] = 0
		}
	}
	if f.clobberX5 {
		x[5] = 0
	}
}

func (f *fakeMachine) refused(addr uint64) bool {
	return virt.Engine.Contains(addr, 8) && !f.engineMapped
}

func (f *fakeMachine) syndrome() uint64 {
	if f.wrongSyndrome {
		return 0x25<<26 | 0x07
	}
	return ecDataAbortSameEL<<26 | 1<<25 | dfscSyncExternal
}

func (f *fakeMachine) Read(addr uint64) (uint64, uint64, bool) {
	if f.refused(addr) {
		return 0, f.syndrome(), false
	}
	return f.mem[addr], 0, true
}

func (f *fakeMachine) Write(addr, v uint64) (uint64, bool) {
	if f.refused(addr) {
		return f.syndrome(), false
	}
	if f.mem == nil {
		f.mem = map[uint64]uint64{}
	}
	f.mem[addr] = v
	return 0, true
}

func TestSelfCheckPassesOnACorrectEngine(t *testing.T) {
	assert.Zero(t, selfCheck(&fakeMachine{}))
}

func TestSelfCheckCatchesMisbehaviour(t *testing.T) {
	for name, f := range map[string]*fakeMachine{
		"clobbered register":    {clobberX5: true},
		"engine memory mapped":  {engineMapped: true},
		"wrong abort syndrome":  {wrongSyndrome: true},
		"unknown id succeeding": {unknownSuccess: true},
	} {
		assert.NotZero(t, selfCheck(f), name)
	}
}
