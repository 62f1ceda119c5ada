package isolation

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"

	"bulkhead/isolation/abi"
	"bulkhead/isolation/internal/plant"
)

// The exit filter's decision is what the host learns of a trap. It may
// depend on a vCPU's registers only through what the trap releases: the
// source register of an MMIO write, masked to the access size, and the
// ICC_SGI1R_EL1 fields of the source register of an SGI write
// (proofs/CodeExitRegs.v, FilterTrap_released, proves the same of the
// translation). These tests draw traps and pairs of register files that
// agree only there and require the same decision and the same change to
// the registers.

const releaseTraps = 20_000

// releasedMask is the register a trap with syndrome esr may release and
// the bits of it that it may release; ok is false if it releases none.
func releasedMask(esr uint64) (reg uint64, mask uint64, ok bool) {
	switch esr >> esrECShift & esrECMask {
	case ecDABTLow:
		if esr&issWnR == 0 {
			return 0, 0, false
		}
		return esr >> issSRTShift & issSRTMask, sizeMask(uint8(esr >> issSASShift & issSASMask)), true
	case ecSysReg:
		if esr&sysRegIssRegMask != sgi1rWrite {
			return 0, 0, false
		}
		return esr >> sysRegIssRtShift & sysRegIssRtMask, sgi1rFields, true
	}
	return 0, 0, false
}

// releaseTrap draws a trap, most often one that reads registers: a data
// abort in or out of a guest MMIO window, or a system register access.
func releaseTrap(r *rand.Rand, windows []Range) Trap {
	ipa := r.Uint64() & (1<<40 - 1)
	if len(windows) > 0 && r.IntN(2) == 0 {
		w := windows[r.IntN(len(windows))]
		ipa = w.Base + r.Uint64N(w.Size)
	}
	t := Trap{Kind: TrapSync, FAR: r.Uint64()&^pageMask | ipa&pageMask, HPFAR: ipa >> 12 << 4}
	dfsc := []uint64{0x07, 0x0f, 0x10, 0x0b}[r.IntN(4)]
	iss := r.Uint64() & (1<<25 - 1)
	switch r.IntN(8) {
	case 0, 1: // a translation fault with a valid syndrome: MMIO if in a window
		t.ESR = ecDABTLow<<esrECShift | iss&^(0x3f|issCM|issS1PTW) | 0x07 | issISV
	case 2:
		t.ESR = ecDABTLow<<esrECShift | iss&^0x3f | dfsc | issISV
	case 3:
		t.ESR = ecDABTLow<<esrECShift | iss
	case 4, 5:
		t.ESR = ecSysReg<<esrECShift | iss&^sysRegIssRegMask | sgi1rWrite
	case 6:
		t.ESR = ecSysReg<<esrECShift | iss
	default:
		t.Kind = TrapKind(r.IntN(4))
		t.ESR = r.Uint64() & (1<<32 - 1)
	}
	t.ESR |= 1 << 25 // IL: a 32-bit instruction
	return t
}

// nonzeroRegs draws 31 registers, none zero, so that a zeroed register
// shows.
func nonzeroRegs(r *rand.Rand) [31]uint64 {
	var x [31]uint64
	for i := range x {
		x[i] = r.Uint64() | 1<<63
	}
	return x
}

// releaseSeen counts the drawn traps that read or write a register, so
// that a test can show its traps reach every such path.
type releaseSeen struct{ mmioWrites, sgis, zeroed int }

// releaseCounterexamples checks n drawn traps and returns the first few
// that tell two register files apart beyond what they release.
func releaseCounterexamples(r *rand.Rand, n int) ([]string, releaseSeen) {
	windows := SmallConfig().GuestMMIO
	var bad []string
	var seen releaseSeen
	for range n {
		t := releaseTrap(r, windows)
		x1, x2 := nonzeroRegs(r), nonzeroRegs(r)
		if reg, mask, ok := releasedMask(t.ESR); ok && reg != xzr {
			x2[reg] = x1[reg]&mask | x2[reg]&^mask | 1<<63&^mask
		}
		b1, b2 := x1, x2
		d1, d2 := FilterTrap(t, &x1, windows), FilterTrap(t, &x2, windows)
		if d1 != d2 {
			bad = append(bad, fmt.Sprintf("trap %+v: decisions %+v and %+v", t, d1, d2))
		}
		for i := range x1 {
			if (x1[i] != b1[i]) != (x2[i] != b2[i]) || x1[i] != b1[i] && (x1[i] != 0 || x2[i] != 0) {
				bad = append(bad, fmt.Sprintf("trap %+v: register %d becomes %#x and %#x", t, i, x1[i], x2[i]))
			}
			if x1[i] != b1[i] {
				seen.zeroed++
			}
		}
		switch {
		case d1.Exit[0] == uint64(abi.ExitMMIO) && d1.Exit[2]&abi.AccessWrite != 0:
			seen.mmioWrites++
		case d1.Exit[0] == uint64(abi.ExitSGI):
			seen.sgis++
		}
		if len(bad) >= 5 {
			break
		}
	}
	return bad, seen
}

func TestFilterTrapReleasesOnlyTheSource(t *testing.T) {
	bad, seen := releaseCounterexamples(rand.New(rand.NewPCG(20261205, 1)), releaseTraps)
	assert.Empty(t, bad)
	t.Logf("%d traps: %+v", releaseTraps, seen)
	assert.Greater(t, seen.mmioWrites, releaseTraps/100, "MMIO writes the filter emulates")
	assert.Greater(t, seen.sgis, releaseTraps/100, "SGI requests")
	assert.Greater(t, seen.zeroed, releaseTraps/100, "registers zeroed by an emulated read")
}

// TestFilterTrapReleaseCatchesPlantedBugs shows that the property fails
// when the SGI exit carries the whole register, or an MMIO read's exit its
// destination register.
func TestFilterTrapReleaseCatchesPlantedBugs(t *testing.T) {
	for name, sw := range map[string]*bool{
		"SGIExitWholeRegister":    &plant.SGIExitWholeRegister,
		"MMIOReadCarriesRegister": &plant.MMIOReadCarriesRegister,
	} {
		t.Run(name, func(t *testing.T) {
			*sw = true
			defer func() { *sw = false }()
			bad, _ := releaseCounterexamples(rand.New(rand.NewPCG(20261205, 1)), releaseTraps)
			if assert.NotEmpty(t, bad) {
				t.Log(bad[0])
			}
		})
	}
}
