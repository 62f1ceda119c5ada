package vmm

import (
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"bulkhead/boot/virt"
)

func TestPoolAllocatesAlignedAndMerges(t *testing.T) {
	p := NewPool(0x4c20_0000, 1024)
	a, err := p.Alloc(1, virt.PageSize)
	require.NoError(t, err)
	assert.Equal(t, Span{0x4c20_0000, 1}, a)
	b, err := p.Alloc(512, virt.BlockSize)
	require.NoError(t, err)
	assert.Zero(t, b.PA%virt.BlockSize)
	_, err = p.Alloc(1024, virt.PageSize)
	assert.ErrorIs(t, err, ErrPoolExhausted)
	p.Free(a)
	p.Free(b)
	assert.Equal(t, uint64(1024), p.FreePages())
	assert.Len(t, p.free, 1, "everything merged back")
}

func TestPoolRejectsBadRequests(t *testing.T) {
	p := NewPool(0, 16)
	for _, c := range []struct{ pages, align uint64 }{{0, 4096}, {1, 0}, {1, 100}, {1, 3 * 4096}} {
		_, err := p.Alloc(c.pages, c.align)
		assert.Error(t, err, "%+v", c)
	}
}

// TestPoolNeverHandsOutAPageTwice allocates and frees at random and checks
// that live spans never overlap and the page count is conserved.
func TestPoolNeverHandsOutAPageTwice(t *testing.T) {
	const total = 4096
	p := NewPool(0x1000_0000, total)
	rng := rand.New(rand.NewSource(1))
	var live []Span
	for i := 0; i < 20000; i++ {
		if len(live) > 0 && rng.Intn(2) == 0 {
			k := rng.Intn(len(live))
			p.Free(live[k])
			live = append(live[:k], live[k+1:]...)
		} else if s, err := p.Alloc(uint64(1+rng.Intn(64)), virt.PageSize<<rng.Intn(4)); err == nil {
			for _, o := range live {
				require.False(t, s.PA < o.End() && o.PA < s.End(), "overlap %+v %+v", s, o)
			}
			live = append(live, s)
		}
		var used uint64
		for _, s := range live {
			used += s.Pages
		}
		require.Equal(t, uint64(total), used+p.FreePages())
	}
}

func TestRAMAlignmentFollowsTheLargestBlock(t *testing.T) {
	assert.Equal(t, uint64(1<<30), ramAlignment(1<<30))
	assert.Equal(t, uint64(1<<30), ramAlignment(2<<30))
	assert.Equal(t, uint64(virt.BlockSize), ramAlignment(256<<20))
	assert.Equal(t, uint64(virt.BlockSize), ramAlignment(1<<30+2<<20))
}
