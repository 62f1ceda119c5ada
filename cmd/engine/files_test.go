package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"bulkhead/boot/virt"
	"bulkhead/boot/virt/fwcfg"
)

var dir = []fwcfg.File{
	{Name: "etc/boot-fail-wait", Size: 4},
	{Name: virt.FwCfgGuestPrefix + "1", Size: 5000, Selector: 0x22},
	{Name: virt.FwCfgHostImage, Size: 100},
	{Name: virt.FwCfgGuestPrefix + "0", Size: 4096, Selector: 0x21},
}

func TestGuestFilesAreTheGuestPrefixInNameOrder(t *testing.T) {
	fs := guestFiles(dir)
	assert.Len(t, fs, 2)
	assert.Equal(t, uint16(0x21), fs[0].Selector)
	table := fs.table()
	assert.Len(t, table, 2)
	assert.Equal(t, uint64(5000), table[1].Size)
	assert.Equal(t, [6]uint64{'1'}, table[1].Name)
}

func TestTablePacksTheNameLittleEndian(t *testing.T) {
	fs := bootFiles{{Name: virt.FwCfgGuestPrefix + "0.args"}, {Name: virt.FwCfgGuestPrefix + strings.Repeat("x", 60)}}
	table := fs.table()
	assert.Equal(t, uint64('0'|'.'<<8|'a'<<16|'r'<<24|'g'<<32|'s'<<40), table[0].Name[0])
	assert.Zero(t, table[0].Name[1])
	assert.Equal(t, uint64(0x7878787878787878), table[1].Name[5], "long names are cut at 48 bytes")
}
