package tests

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"bulkhead/boot/virt"
	"bulkhead/internal/a64"
	"bulkhead/internal/qemu"
	"bulkhead/isolation/abi"
)

// checkedCall is a call a register-checking program makes: the function id,
// x1 (the other argument registers hold sentinels), and the results x0,
// x1, ... it must return; every other register x1..x30 must come back
// unchanged (SMCCC 1.2 section 2.6).
type checkedCall struct {
	letter  byte
	id      uint32
	x1      uint64 // 0: x1 keeps its sentinel
	results []uint64
}

// sentinel is what x_i holds before every call: small and distinct, so the
// program compares it with an immediate (CMP Xi, #imm) and needs no
// scratch register that a call could also have clobbered.
func sentinel(i uint32) uint32 { return 8*i + 1 }

// registerChecker is a complete EL1 program, for the host or a guest: for
// each call it sets x1..x30 to their sentinels, makes the call with HVC #0,
// checks the registers it must preserve, then its results, and prints the
// call's letter, or '!' and the letter when anything differs; then a
// newline, and PSCI SYSTEM_OFF.
func registerChecker(calls []checkedCall) []byte {
	const x0, x4, x9, x10, xzr = 0, 4, 9, 10, 31
	var p a64.Program
	putc := func(c byte) { p.Emit(a64.MOVZ(x10, uint32(c), 0), a64.STRB(x10, x9)) }
	for _, c := range calls {
		var toFail []int
		bne := func() { toFail = append(toFail, len(p.Words)); p.Emit(0) }
		for i := uint32(1); i <= 30; i++ {
			p.Emit(a64.MOVZ(i, sentinel(i), 0))
		}
		if c.x1 != 0 {
			p.Emit(a64.MOV64(1, c.x1)...)
		}
		p.Emit(a64.MOV64(x0, uint64(c.id))...)
		p.Emit(a64.HVC(0))
		for i := uint32(len(c.results)); i <= 30; i++ {
			if i == 1 && c.x1 != 0 {
				continue // an argument, not a sentinel
			}
			p.Emit(a64.SUBSImm(xzr, i, sentinel(i)))
			bne()
		}
		for j, want := range c.results { // x4 is checked above, so free now
			p.Emit(a64.MOV64(x4, want)...)
			p.Emit(a64.SUB(x4, uint32(j), x4), a64.SUBSImm(xzr, x4, 0))
			bne()
		}
		p.Emit(a64.MOVZ(x9, virt.UARTBase>>16, 1))
		putc(c.letter)
		const failLen = 1 + 2 + 2 // the failure report: MOVZ, two putc
		p.Emit(a64.B(1 + failLen))
		fail := len(p.Words)
		p.Emit(a64.MOVZ(x9, virt.UARTBase>>16, 1))
		putc('!')
		putc(c.letter)
		for _, at := range toFail {
			p.Words[at] = a64.BNE(int32(fail - at))
		}
	}
	putc('\n')
	p.Emit(a64.MOV64(x0, uint64(abi.PSCISystemOff))...)
	p.Emit(a64.HVC(0), a64.BSelf)
	return p.Bytes()
}

// fastCalls are the calls the engine's vector answers in place for a
// caller (cmd/engine/fastcalls.go), and calls answered by its full path
// next to them, as a guest (guest true) or the host sees them.
func fastCalls(guest bool) []checkedCall {
	uid := abi.UIDWords()
	calls := []checkedCall{
		{'v', abi.Version, 0, []uint64{abi.Success.Reg(), abi.VersionMajor, abi.VersionMinor}},
		{'u', abi.CallUID, 0, []uint64{uint64(uid[0]), uint64(uid[1]), uint64(uid[2]), uint64(uid[3])}},
		{'r', abi.Revision, 0, []uint64{abi.RevisionMajor, abi.RevisionMinor}},
		{'p', abi.PSCIVersion, 0, []uint64{abi.PSCIVersion11}},
		{'f', abi.PSCIFeatures, uint64(abi.PSCIVersion), []uint64{0}}, // the full path
	}
	if guest {
		return append(calls, checkedCall{'g', abi.GuestMemInfo, 0, []uint64{abi.Success.Reg(), abi.Granule}})
	}
	return append(calls, checkedCall{'g', abi.GuestMemInfo, 0, []uint64{abi.NotSupported.Reg()}})
}

// letters is what a checker prints when every call passes.
func letters(calls []checkedCall) string {
	var b strings.Builder
	for _, c := range calls {
		b.WriteByte(c.letter)
	}
	return b.String()
}

// TestFastCallsPreserveEveryOtherRegister: the calls the vector answers in
// place give the core's results and leave x1..x30 otherwise as they were,
// from the host (the program is the EL1 image) and from a guest (the
// program is a VM of the hypervisor), as do calls on the full path.
func TestFastCallsPreserveEveryOtherRegister(t *testing.T) {
	engine := image(t, qemu.Engine)
	t.Run("host", func(t *testing.T) {
		calls := fastCalls(false)
		el1 := writeFile(t, "checker.elf", elfImage(emAArch64, virt.HostText, words(registerChecker(calls))))
		res := boot(t, qemu.Machine{Engine: engine, EL1: el1})
		requireInOrder(t, res.Console, "engine: host stage-2 built", letters(calls), "engine: host requested power off")
		requireNoFailure(t, res.Console, calls)
		requireClean(t, res)
	})
	t.Run("guest", func(t *testing.T) {
		calls := fastCalls(true)
		m := standardMachine(t)
		m.Files = map[string]string{virt.FwCfgGuestPrefix + "0": writeFile(t, "checker.bin", registerChecker(calls))}
		res := boot(t, m)
		requireLine(t, res.Console, "[vm0]", letters(calls))
		requireNoFailure(t, res.Console, calls)
		requireClean(t, res)
	})
}

// TestRegisterCheckerSeesAWrongAnswer: the same program, told to expect a
// different minor version, reports VERSION as wrong, from the host and
// from a guest: the check can fail.
func TestRegisterCheckerSeesAWrongAnswer(t *testing.T) {
	engine := image(t, qemu.Engine)
	wrong := func(guest bool) []checkedCall {
		calls := fastCalls(guest)
		calls[0].results = []uint64{abi.Success.Reg(), abi.VersionMajor, abi.VersionMinor + 1}
		return calls
	}
	el1 := writeFile(t, "checker.elf", elfImage(emAArch64, virt.HostText, words(registerChecker(wrong(false)))))
	res := boot(t, qemu.Machine{Engine: engine, EL1: el1})
	requireInOrder(t, res.Console, "engine: host stage-2 built", "!v"+letters(wrong(false))[1:])

	m := standardMachine(t)
	m.Files = map[string]string{virt.FwCfgGuestPrefix + "0": writeFile(t, "checker.bin", registerChecker(wrong(true)))}
	res = boot(t, m)
	requireLine(t, res.Console, "[vm0]", "!v"+letters(wrong(true))[1:])
}

// requireNoFailure checks that no call was reported wrong.
func requireNoFailure(t *testing.T, console string, calls []checkedCall) {
	t.Helper()
	for _, c := range calls {
		require.NotContains(t, console, "!"+string(c.letter))
	}
}

// words turns program bytes back into instruction words for elfImage.
func words(b []byte) []uint32 {
	out := make([]uint32, len(b)/4)
	for i := range out {
		out[i] = uint32(b[4*i]) | uint32(b[4*i+1])<<8 | uint32(b[4*i+2])<<16 | uint32(b[4*i+3])<<24
	}
	return out
}
