package virt_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"bulkhead/boot/virt"
)

// frames is a fake redistributor region: GICR_TYPER of each frame, in order.
func frames(typers ...uint64) func(addr uint64) uint64 {
	return func(addr uint64) uint64 {
		i := (addr - virt.GICR.Base - 8) / virt.GICRStridePerPE
		if (addr-virt.GICR.Base)%virt.GICRStridePerPE != 8 || i >= uint64(len(typers)) {
			return 1 << 4 // outside the fake: a last frame of no CPU's
		}
		return typers[i]
	}
}

func typer(aff uint64, last bool) uint64 {
	t := aff << 32
	if last {
		t |= 1 << 4
	}
	return t
}

func TestRedistributorFindsEachCPUsFrame(t *testing.T) {
	read := frames(typer(0, false), typer(1, false), typer(0x0100, false), typer(0x01_000002, true))
	for i, mpidr := range []uint64{0, 1, 0x100, 0x1_0000_0002} {
		rd, ok := virt.Redistributor(mpidr, read)
		assert.True(t, ok, "MPIDR %#x", mpidr)
		assert.Equal(t, virt.GICR.Base+uint64(i)*virt.GICRStridePerPE, rd, "MPIDR %#x", mpidr)
	}
}

func TestRedistributorStopsAtTheLastFrame(t *testing.T) {
	read := frames(typer(0, false), typer(1, true), typer(2, false))
	_, ok := virt.Redistributor(2, read)
	assert.False(t, ok, "a frame past the one marked last is not looked at")
	_, ok = virt.Redistributor(7, frames())
	assert.False(t, ok)
}

func TestRedistributorStaysInsideTheRegion(t *testing.T) {
	reads := 0
	_, ok := virt.Redistributor(99, func(addr uint64) uint64 {
		reads++
		assert.True(t, virt.GICR.Contains(addr, 8), "read at %#x", addr)
		return 0 // never last, never a match
	})
	assert.False(t, ok)
	assert.Equal(t, int(virt.GICR.Size/virt.GICRStridePerPE), reads)
}
