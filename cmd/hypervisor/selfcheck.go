package main

import (
	"fmt"

	"bulkhead/boot/virt"
	"bulkhead/isolation/abi"
)

// machine is what the self-check needs from EL1: engine calls and memory
// probes that report an abort instead of taking it.
type machine interface {
	Call(x *[8]uint64)
	Read(addr uint64) (val, esr uint64, ok bool)
	Write(addr, val uint64) (esr uint64, ok bool)
}

// sentinel fills the argument registers a call does not use, so the check
// can see that the engine preserved them (SMCCC 1.2 section 2.6).
const sentinel = 0x5a5a_0000_0000_0000

// Exception class and fault status an injected external abort must carry
// (Arm ARM D17.2.37: EC 0x25 data abort from the same EL; DFSC 0b010000).
const (
	ecDataAbortSameEL = 0x25
	dfscSyncExternal  = 0x10
)

type check struct {
	name string
	run  func(m machine) error
}

var checks = []check{
	{"version", checkVersion},
	{"call-uid", checkUID},
	{"unknown-id", checkUnknownIDs},
	{"own-memory", checkOwnMemory},
	{"engine-memory-read", checkEngineRead},
	{"engine-memory-write", checkEngineWrite},
}

// selfCheck runs every check, printing one line each, and returns how many
// failed.
func selfCheck(m machine) (failed int) {
	for _, c := range checks {
		if err := c.run(m); err != nil {
			fmt.Printf("check %s: FAIL %v\n", c.name, err)
			failed++
			continue
		}
		fmt.Printf("check %s: ok\n", c.name)
	}
	return failed
}

func withSentinels(id uint32) [8]uint64 {
	x := [8]uint64{uint64(id)}
	for i := 1; i < 8; i++ {
		x[i] = sentinel | uint64(i)
	}
	return x
}

func preserved(x [8]uint64, from int) error {
	for i := from; i < 8; i++ {
		if x[i] != sentinel|uint64(i) {
			return fmt.Errorf("x%d = %#x, not preserved", i, x[i])
		}
	}
	return nil
}

func checkVersion(m machine) error {
	x := withSentinels(abi.Version)
	m.Call(&x)
	if abi.StatusOf(x[0]) != abi.Success || x[1] != abi.VersionMajor || x[2] != abi.VersionMinor {
		return fmt.Errorf("got x0=%#x x1=%d x2=%d", x[0], x[1], x[2])
	}
	return preserved(x, 3)
}

func checkUID(m machine) error {
	x := withSentinels(abi.CallUID)
	m.Call(&x)
	want := abi.UIDWords()
	for i, w := range want {
		if x[i] != uint64(w) {
			return fmt.Errorf("w%d = %#x, want %#x", i, x[i], w)
		}
	}
	return preserved(x, 4)
}

// checkUnknownIDs calls ids the engine does not implement, in each SMCCC
// range, and needs NOT_SUPPORTED with every other register preserved.
func checkUnknownIDs(m machine) error {
	for _, id := range []uint32{0xC600_0099, 0x8600_FF99, 0xC400_0000 | 0x7F, 0x8300_0000, 0xC6000040} {
		x := withSentinels(id)
		m.Call(&x)
		if abi.StatusOf(x[0]) != abi.NotSupported {
			return fmt.Errorf("id %#x: status %s, want NOT_SUPPORTED", id, abi.StatusOf(x[0]))
		}
		if err := preserved(x, 1); err != nil {
			return fmt.Errorf("id %#x: %v", id, err)
		}
	}
	return nil
}

// checkOwnMemory shows the probes succeed where the host has access, so that
// an abort in the engine-memory checks means the engine refused.
func checkOwnMemory(m machine) error {
	for _, addr := range []uint64{virt.Pool.Base + 0x1000, virt.Pool.End() - 8} {
		if esr, ok := m.Write(addr, 0x1234); !ok {
			return fmt.Errorf("write %#x aborted (ESR %#x)", addr, esr)
		}
		if v, esr, ok := m.Read(addr); !ok || v != 0x1234 {
			return fmt.Errorf("read %#x: %#x ok=%v ESR %#x", addr, v, ok, esr)
		}
	}
	return nil
}

func checkEngineRead(m machine) error {
	for _, addr := range engineProbes() {
		_, esr, ok := m.Read(addr)
		if err := wantExternalAbort(addr, esr, ok); err != nil {
			return err
		}
		fmt.Printf("hypervisor: read of engine memory at %#x raised an abort (ESR %#x)\n", addr, esr)
	}
	return nil
}

// checkEngineWrite writes only where a read was refused: if engine memory
// is readable the stage-2 is already broken, and a write would corrupt the
// engine the check is meant to judge.
func checkEngineWrite(m machine) error {
	for _, addr := range engineProbes() {
		if _, _, ok := m.Read(addr); ok {
			return fmt.Errorf("engine memory at %#x is readable; write not attempted", addr)
		}
		esr, ok := m.Write(addr, 0xdead)
		if err := wantExternalAbort(addr, esr, ok); err != nil {
			return err
		}
	}
	return nil
}

// engineProbes are addresses inside engine memory: its first and last words
// and the engine's own code.
func engineProbes() []uint64 {
	return []uint64{virt.Engine.Base, virt.EngineText, virt.Engine.End() - 8}
}

func wantExternalAbort(addr, esr uint64, ok bool) error {
	if ok {
		return fmt.Errorf("access to engine memory at %#x succeeded", addr)
	}
	if esr>>26 != ecDataAbortSameEL || esr&0x3f != dfscSyncExternal {
		return fmt.Errorf("access to %#x: ESR %#x is not a synchronous external abort", addr, esr)
	}
	return nil
}
