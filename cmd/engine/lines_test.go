package main

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"bulkhead/arch/el2"
	"bulkhead/isolation"
)

func TestLinesJoinHostLinesAndTheTimer(t *testing.T) {
	var irq [(isolation.IRQLines + 63) / 64]uint64
	irq[0] = 1<<27 | 1<<30
	irq[1019/64] = 1 << (1019 % 64)
	var seen []uint32
	l := lines{irq: &irq, timer: true}
	l.Each(func(i uint32) { seen = append(seen, i) })
	assert.Equal(t, []uint32{27, 30, 1019}, seen, "27 once although both raise it")
	assert.True(t, l.Asserted(1019))
	assert.False(t, l.Asserted(31))

	irq[0] = 0
	seen = nil
	l.Each(func(i uint32) { seen = append(seen, i) })
	assert.Equal(t, []uint32{el2.VirtualTimerINTID, 1019}, seen)
	assert.True(t, l.Asserted(el2.VirtualTimerINTID))
	l.timer = false
	assert.False(t, l.Asserted(el2.VirtualTimerINTID))
}

func TestPresentedDropsOnlySGILatches(t *testing.T) {
	var irq [(isolation.IRQLines + 63) / 64]uint64
	irq[0] = 1<<3 | 1<<33
	l := lines{irq: &irq}
	l.Presented(3)
	l.Presented(33)
	assert.Equal(t, uint64(1<<33), irq[0])
}

func TestNoLinesSeesEveryLine(t *testing.T) {
	var irq [(isolation.IRQLines + 63) / 64]uint64
	assert.True(t, noLines(&irq))
	for intid := range isolation.IRQLines {
		irq[intid/64] = 1 << (intid % 64)
		assert.False(t, noLines(&irq), "INTID %d", intid)
		irq[intid/64] = 0
	}
}
