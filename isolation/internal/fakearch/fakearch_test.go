package fakearch

import (
	"sync"
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

func TestSetScriptGivesAVCPUItsOwnScript(t *testing.T) {
	a := New()
	a.Script = []Step{{Trap: isolation.Trap{ESR: 1}}}
	a.SetScript(1, 1, []Step{{Trap: isolation.Trap{ESR: 2}}, {Trap: isolation.Trap{ESR: 3}}})
	own := isolation.Context{VMID: 1, VCPU: 1}
	other := isolation.Context{VMID: 1, VCPU: 0}
	assert.Equal(t, uint64(2), a.EnterGuest(0, &own).ESR)
	assert.Equal(t, uint64(1), a.EnterGuest(0, &other).ESR, "the others play Script")
	assert.Equal(t, uint64(3), a.EnterGuest(0, &own).ESR)
	assert.Equal(t, isolation.Trap{Kind: isolation.TrapIRQ}, a.EnterGuest(0, &own), "an empty own script: timer tick")
	a.SetScript(1, 1, nil)
	a.Script = []Step{{Trap: isolation.Trap{ESR: 4}}}
	assert.Equal(t, uint64(4), a.EnterGuest(0, &own).ESR, "back to Script")
}

// TestConcurrentUse enters the guests of several vCPUs from several
// goroutines alongside the other methods; under go test -race (make race)
// it shows that an Arch shares nothing unlocked.
func TestConcurrentUse(t *testing.T) {
	a := New()
	const vcpus, entries = 4, 200
	var wg sync.WaitGroup
	for v := uint16(0); v < vcpus; v++ {
		steps := make([]Step, entries)
		for i := range steps {
			steps[i].Before = func(c *isolation.Context) { c.X[0]++ }
		}
		a.SetScript(1, v, steps)
		wg.Add(2)
		go func() {
			defer wg.Done()
			c := isolation.Context{VMID: 1, VCPU: v}
			for i := 0; i < entries+1; i++ {
				a.EnterGuest(0, &c)
			}
			assert.Equal(t, uint64(entries), c.X[0])
		}()
		go func() {
			defer wg.Done()
			pa := isolation.PA(0x4000_0000) + isolation.PA(v)*isolation.PageSize
			for i := 0; i < entries; i++ {
				a.Write(pa, byte(i|1))
				a.InvalidateIPA(1, isolation.IPA(pa))
				assert.False(t, a.PageIsZero(pa))
				a.ZeroPages(pa, 1)
				a.CleanToPoC(pa, 1)
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, vcpus*(entries+1), a.EnterCount)
	assert.Equal(t, vcpus*entries, a.InvalCount)
}
