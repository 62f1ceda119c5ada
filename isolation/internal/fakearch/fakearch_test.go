package fakearch

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"bulkhead/isolation"
)

func TestMemoryReadsZeroUntilWrittenAndAfterZeroing(t *testing.T) {
	a := New()
	assert.True(t, a.PageIsZero(0x4000_1000))
	a.Write(0x4000_1234, 7)
	assert.Equal(t, byte(7), a.Read(0x4000_1234))
	assert.Equal(t, byte(0), a.Read(0x4000_2234))
	assert.False(t, a.PageIsZero(0x4000_1000))
	a.Write(0x4000_1234, 0)
	assert.True(t, a.PageIsZero(0x4000_1fff), "all bytes zero again")
	a.Write(0x4000_1000, 1)
	a.ZeroPages(0x4000_0000, 2)
	assert.True(t, a.PageIsZero(0x4000_1000))
	assert.Equal(t, 1, a.ZeroCount)
}

func TestRecordsMaintenanceAndPlaysScript(t *testing.T) {
	a := New()
	a.InvalidateIPA(1, 0x1000)
	a.InvalidateVMID(2)
	a.CleanToPoC(0x4000_0000, 2)
	assert.Equal(t, []Inval{{VMID: 1, IPA: 0x1000}, {VMID: 2, All: true}}, a.Invals)
	assert.Equal(t, []isolation.PA{0x4000_0000, 0x4000_1000}, a.Cleaned)
	a.Reset()
	assert.Empty(t, a.Invals)
	assert.Empty(t, a.Cleaned)
	ran := false
	a.Script = []Step{{
		Before: func(c *isolation.Context) { c.X[1] = 5 },
		During: func() { ran = true },
		Trap:   isolation.Trap{ESR: 42},
	}}
	var c isolation.Context
	c.Fresh = true
	assert.Equal(t, isolation.Trap{ESR: 42}, a.EnterGuest(7, &c))
	assert.True(t, ran)
	assert.Equal(t, uint64(5), c.X[1])
	assert.False(t, c.Fresh, "reset state was loaded")
	assert.True(t, a.LastCtx.Fresh)
	assert.Equal(t, uint64(7), a.LastVTTBR)
	assert.Equal(t, isolation.Trap{Kind: isolation.TrapIRQ}, a.EnterGuest(7, &c), "empty script: timer tick")
	assert.Equal(t, 2, a.EnterCount)
}
