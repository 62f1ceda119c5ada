package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"bulkhead/boot/virt"
	"bulkhead/boot/virt/fwcfg"
	"bulkhead/isolation/abi"
)

var dir = []fwcfg.File{
	{Name: "etc/boot-fail-wait", Size: 4},
	{Name: virt.FwCfgGuestPrefix + "1", Size: 5000, Selector: 0x22},
	{Name: virt.FwCfgHostImage, Size: 100},
	{Name: virt.FwCfgGuestPrefix + "0", Size: 4096, Selector: 0x21},
}

// ledger: pages of the pool are the host's, except one a VM owns; the
// engine region is the engine's; nothing else is RAM.
func ledger(pa uint64) (uint64, bool) {
	switch {
	case pa == virt.PoolBase+0x10000:
		return abi.OwnerVM, true
	case virt.Engine.Contains(pa, 1):
		return abi.OwnerEngine, true
	case virt.RAM.Contains(pa, 1):
		return abi.OwnerHost, true
	}
	return 0, false
}

func TestGuestFilesAreTheGuestPrefixInNameOrder(t *testing.T) {
	fs := guestFiles(dir)
	assert.Len(t, fs, 2)
	assert.Equal(t, uint16(0x21), fs[0].Selector)
	size, name, st := fs.info(1)
	assert.Equal(t, abi.Success, st)
	assert.Equal(t, uint64(5000), size)
	assert.Equal(t, [6]uint64{'1'}, name)
	_, _, st = fs.info(2)
	assert.Equal(t, abi.InvalidParameters, st)
}

func TestReadRequestChecksEveryPageTheFileCovers(t *testing.T) {
	fs := guestFiles(dir)
	pool := uint64(virt.PoolBase)
	cases := []struct {
		name             string
		index, pa, pages uint64
		want             abi.Status
	}{
		{"fits", 1, pool, 2, abi.Success},
		{"exactly one page", 0, pool, 1, abi.Success},
		{"no such file", 2, pool, 2, abi.InvalidParameters},
		{"unaligned", 0, pool + 8, 1, abi.InvalidParameters},
		{"too few pages", 1, pool, 1, abi.InvalidParameters},
		{"overflow", 1, ^uint64(0) &^ 0xfff, 2, abi.InvalidParameters},
		{"a VM's page inside", 1, pool + 0xf000, 2, abi.Denied},
		{"engine memory", 0, virt.EngineBase, 1, abi.Denied},
		{"outside RAM", 0, 0x1000, 1, abi.InvalidParameters},
	}
	for _, c := range cases {
		_, st := fs.readRequest(c.index, c.pa, c.pages, ledger)
		assert.Equal(t, c.want, st, c.name)
	}
}

func TestInfoPacksTheNameLittleEndian(t *testing.T) {
	fs := bootFiles{{Name: virt.FwCfgGuestPrefix + "0.args"}, {Name: virt.FwCfgGuestPrefix + strings.Repeat("x", 60)}}
	_, name, _ := fs.info(0)
	assert.Equal(t, uint64('0'|'.'<<8|'a'<<16|'r'<<24|'g'<<32|'s'<<40), name[0])
	assert.Zero(t, name[1])
	_, name, _ = fs.info(1)
	assert.Equal(t, uint64(0x7878787878787878), name[5], "long names are cut at 48 bytes")
}
