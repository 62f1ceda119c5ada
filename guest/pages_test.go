package guest

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"bulkhead/boot/virt"
)

func TestPagesHandsOutEachPageOnce(t *testing.T) {
	p := NewPages(virt.Region{Base: 0x4400_0800, Size: 4*virt.PageSize - 0x800})
	assert.Equal(t, uint64(3), p.Left(), "only whole pages")
	a, ok := p.Take(2)
	assert.True(t, ok)
	assert.Equal(t, uint64(0x4400_1000), a)
	_, ok = p.Take(2)
	assert.False(t, ok, "one page left")
	_, ok = p.Take(0)
	assert.False(t, ok)
	b, ok := p.Take(1)
	assert.True(t, ok)
	assert.Equal(t, a+2*virt.PageSize, b)
	assert.Zero(t, p.Left())
	assert.Zero(t, NewPages(virt.Region{Base: 0x1800, Size: 0x100}).Left())
}
