package el2

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

const vbar = 0x4421_0800

func TestAbortEntryFromEL1hIsASameELDataAbortAtTheSPxVector(t *testing.T) {
	esr2 := uint64(ECDataAbortLow)<<esrECShift | esrIL | esrWnR | 0x07 // translation fault L3, write
	esr1, pc, pstate := AbortEntry(esr2, ModeEL1h|pstateDAIF, vbar)
	assert.Equal(t, uint64(ECDataAbortSame), EC(esr1))
	assert.True(t, IsWrite(esr1))
	assert.Equal(t, uint64(fscSyncExternal), esr1&0x3f)
	assert.Equal(t, uint64(vbar+vecCurrentSPx), pc)
	assert.Equal(t, uint64(PSTATEEntry), pstate)
}

func TestAbortEntryFromEL0IsALowerELAbort(t *testing.T) {
	esr2 := uint64(ECDataAbortLow)<<esrECShift | 0x07
	esr1, pc, _ := AbortEntry(esr2, ModeEL0t, vbar)
	assert.Equal(t, uint64(ECDataAbortLow), EC(esr1))
	assert.False(t, IsWrite(esr1))
	assert.Equal(t, uint64(vbar+vecLower64), pc)
}

func TestAbortEntryKeepsInstructionAborts(t *testing.T) {
	esr2 := uint64(ECInstAbortLow)<<esrECShift | 0x07
	esr1, pc, _ := AbortEntry(esr2, ModeEL1t, vbar)
	assert.Equal(t, uint64(ECInstAbortSame), EC(esr1))
	assert.Equal(t, uint64(vbar+vecCurrentSP0), pc)
	esr1, pc, _ = AbortEntry(esr2, 0x10, vbar)
	assert.Equal(t, uint64(ECInstAbortLow), EC(esr1))
	assert.Equal(t, uint64(vbar+vecLower32), pc)
}

func TestFaultIPACombinesHPFARAndFAR(t *testing.T) {
	hpfar := uint64(0x4200_0123) >> 12 << 4
	assert.Equal(t, uint64(0x4200_0123), FaultIPA(hpfar, 0xffff_0000_0000_0123))
}

func TestUndefEntryIsAnUnknownReasonException(t *testing.T) {
	esr1, pc, pstate := UndefEntry(ModeEL1h, vbar)
	assert.Zero(t, EC(esr1))
	assert.NotZero(t, esr1&esrIL)
	assert.Equal(t, uint64(vbar+vecCurrentSPx), pc)
	assert.Equal(t, uint64(PSTATEEntry), pstate)
}

func TestReadAsZero(t *testing.T) {
	var x [31]uint64
	for i := range x {
		x[i] = 0x55
	}
	read := func(rt uint64) uint64 { return uint64(ECSysReg)<<esrECShift | rt<<5 | 1 }
	ReadAsZero(read(7), &x)
	assert.Zero(t, x[7], "MRS x7 reads zero")
	ReadAsZero(read(7)&^1|8<<5, &x)
	assert.Equal(t, uint64(0x55), x[8], "MSR x8 leaves x8")
	before := x
	ReadAsZero(read(31), &x)
	assert.Equal(t, before, x, "MRS xzr changes nothing")
}

// The vector answers HVC #0 from AArch64 alone: EC 0x16, IL 1, ISS 0.
func TestFastHVCIsHVCZero(t *testing.T) {
	assert.Equal(t, uint64(0x5a00_0000), uint64(FastHVC))
	assert.Equal(t, uint64(ECHVC64), EC(FastHVC))
}

// Two answers in one slot, or a key of zero, are refused.
func TestPlaceFastAnswersRefusesCollisions(t *testing.T) {
	a := FastAnswer{Key: FastKey(0xC600_0000, FastHost)}
	_, err := PlaceFastAnswers([]FastAnswer{a, a})
	assert.Error(t, err)
	_, err = PlaceFastAnswers([]FastAnswer{{}})
	assert.Error(t, err)
	table, err := PlaceFastAnswers([]FastAnswer{a})
	assert.NoError(t, err)
	assert.Equal(t, a, table[FastSlot(a.Key)])
}
