package isolation_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"bulkhead/isolation"
	"bulkhead/isolation/abi"
	"bulkhead/isolation/internal/fakearch"
)

// TestTrappedRegisterAccessIsInvisibleToTheHost runs a guest that reads a
// trapped register (MRS x5, MDSCR_EL1) and then takes an interrupt: the
// host sees only the interrupt, the guest got zero in x5 and resumed after
// the MRS.
func TestTrappedRegisterAccessIsInvisibleToTheHost(t *testing.T) {
	r := newRig(t)
	vm := r.vm(1)
	mrs := esr(0x18, 2<<20|2<<17|5<<5|2<<1|1)
	var pcAfter, x5 uint64
	r.script(
		fakearch.Step{Before: func(c *isolation.Context) { c.X[5] = 0xfeed }, Trap: isolation.Trap{ESR: mrs}},
		fakearch.Step{Before: func(c *isolation.Context) { pcAfter, x5 = c.PC, c.X[5] }, Trap: isolation.Trap{Kind: isolation.TrapIRQ}},
	)
	out := r.host(abi.VCPURun, uint64(vm), 0, 0)
	assert.Equal(t, abi.Success, abi.StatusOf(out[0]))
	assert.Equal(t, uint64(abi.ExitIRQ), out[1])
	assert.Equal(t, uint64(0x4000_0004), pcAfter)
	assert.Zero(t, x5)
}

// TestSGIsLatchUntilPresented: lowering an SGI does not withdraw it, while
// lowering any other line does.
func TestSGIsLatchUntilPresented(t *testing.T) {
	r := newRig(t)
	vm := uint64(r.vm(1))
	var irq [16]uint64
	r.script(fakearch.Step{Before: func(c *isolation.Context) { irq = c.IRQ }, Trap: isolation.Trap{Kind: isolation.TrapIRQ}})
	for _, call := range [][2]uint64{{3, 1}, {3, 0}, {40, 1}, {40, 0}} {
		assert.Equal(t, abi.Success, r.hostSt(abi.VCPUIRQ, vm, 0, call[0], call[1]))
	}
	r.host(abi.VCPURun, vm, 0, 0)
	assert.Equal(t, uint64(1<<3), irq[0], "SGI 3 latched")
	assert.Zero(t, irq[0]&(1<<40), "SPI 40 follows its level")
}
