package el2

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestDeliverAbortUsesTheGuestsVectorAndState(t *testing.T) {
	f := ResetEL1()
	f[elVBAR] = 0x4008_0000
	pc, pstate := DeliverAbort(&f, 0x4001_0040, ModeEL1h, 0x1234_5678, false)
	assert.Equal(t, uint64(0x4008_0000+vecCurrentSPx), pc)
	assert.Equal(t, uint64(PSTATEEntry), pstate)
	assert.Equal(t, uint64(ECDataAbortSame), EC(f[elESR]))
	assert.Equal(t, uint64(fscSyncExternal), f[elESR]&0x3f)
	assert.Equal(t, uint64(0x1234_5678), f[elFAR])
	assert.Equal(t, uint64(0x4001_0040), f[elELR])
	assert.Equal(t, uint64(ModeEL1h), f[elSPSR])

	pc, _ = DeliverAbort(&f, 0x10, ModeEL0t, 0x20, true)
	assert.Equal(t, uint64(0x4008_0000+vecLower64), pc)
	assert.Equal(t, uint64(ECInstAbortLow), EC(f[elESR]))
}

func TestResetEL1HasTheMMUOff(t *testing.T) {
	f := ResetEL1()
	assert.Zero(t, f[elSCTLR]&1)
	assert.Equal(t, ELFile{elSCTLR: 0x30d00800}, f)
}

func TestDeliverUndefFromAArch32EL0(t *testing.T) {
	f := ResetEL1()
	f[elVBAR] = 0x4008_0000
	const usr32 = 0x10 // SPSR.M[4] = 1: AArch32, User mode
	pc, pstate := DeliverUndef(&f, 0x8000, usr32)
	assert.Equal(t, uint64(0x4008_0000+vecLower32), pc)
	assert.Equal(t, uint64(PSTATEEntry), pstate)
	assert.Zero(t, EC(f[elESR]), "Unknown reason")
	assert.Equal(t, uint64(0x8000), f[elELR])
	assert.Equal(t, uint64(usr32), f[elSPSR])
}
