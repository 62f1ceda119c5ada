package main

import (
	"math/bits"

	"bulkhead/arch/el2"
	"bulkhead/isolation"
)

// lines are a vCPU's interrupt lines as the engine presents them: those the
// host drives (isolation.Context.IRQ) and the virtual timer, which the
// engine raises from the guest's own timer registers.
type lines struct {
	irq   *[(isolation.IRQLines + 63) / 64]uint64
	timer bool
}

func (l lines) hostDriven(intid uint32) bool {
	return intid < isolation.IRQLines && l.irq[intid/64]&(1<<(intid%64)) != 0
}

func (l lines) Asserted(intid uint32) bool {
	return l.hostDriven(intid) || intid == el2.VirtualTimerINTID && l.timer
}

// Presented drops the latch of an SGI once a list register holds it: SGIs
// are edge-triggered, so each raise is delivered once.
func (l lines) Presented(intid uint32) {
	if intid < sgiLines {
		l.irq[0] &^= 1 << intid
	}
}

// sgiLines is the number of SGIs, INTIDs 0-15.
const sgiLines = 16

func (l lines) Each(f func(intid uint32)) {
	if l.timer && !l.hostDriven(el2.VirtualTimerINTID) {
		f(el2.VirtualTimerINTID)
	}
	for w, word := range l.irq {
		for ; word != 0; word &= word - 1 {
			f(uint32(w*64 + bits.TrailingZeros64(word)))
		}
	}
}

// noLines reports whether no interrupt line of a vCPU is asserted: every
// word ORed, one test for all (it runs at every entry; a loop costs five
// instructions a word and bounds checks). The assignment to w does not
// compile should the number of words change, so none is left out.
func noLines(irq *[(isolation.IRQLines + 63) / 64]uint64) bool {
	var w *[16]uint64 = irq
	return w[0]|w[1]|w[2]|w[3]|w[4]|w[5]|w[6]|w[7]|
		w[8]|w[9]|w[10]|w[11]|w[12]|w[13]|w[14]|w[15] == 0
}
