package isolation_test

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"bulkhead/isolation"
	"bulkhead/isolation/abi"
	"bulkhead/isolation/internal/fakearch"
)

// fileRig is a rig over SmallConfig with boot files: file 0 of 5000 bytes
// (two pages), file 1 of one page, file 2 empty, and file 3 whose
// contents the device cannot deliver.
func fileRig(t *testing.T) *rig {
	t.Helper()
	c := isolation.SmallConfig()
	c.Files = []isolation.BootFile{
		{Size: 5000, Name: [6]uint64{'k' | 'e'<<8 | 'r'<<16}},
		{Size: page, Name: [6]uint64{'a'}},
		{Size: 0},
		{Size: 16},
	}
	a := fakearch.New()
	a.Files = [][]byte{fileBytes(5000, 1), fileBytes(page, 2), nil}
	e, err := isolation.New(c, a, isolation.NewPool(isolation.SmallPoolTables, isolation.SmallPoolBase))
	require.NoError(t, err)
	return &rig{t: t, e: e, a: a}
}

// fileBytes is n bytes that tell their offset and the file apart.
func fileBytes(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i) ^ seed<<5 | 1
	}
	return b
}

// contents reads n bytes of the fake memory from pa.
func (r *rig) contents(pa uint64, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = r.a.Read(isolation.PA(pa) + isolation.PA(i))
	}
	return b
}

func TestFileInfoDescribesEachFile(t *testing.T) {
	r := fileRig(t)
	out := r.host(abi.FileInfo, 0)
	assert.Equal(t, [8]uint64{abi.Success.Reg(), 5000, 'k' | 'e'<<8 | 'r'<<16, 0, 0, 0, 0, 0}, out)
	out = r.host(abi.FileInfo, 2)
	assert.Equal(t, [8]uint64{abi.Success.Reg(), 0, 0, 0, 0, 0, 0, 0}, out, "an empty file")
	for _, index := range []uint64{4, 1 << 32, ^uint64(0)} {
		out = r.host(abi.FileInfo, index)
		in := regs(abi.FileInfo, index)
		assert.Equal(t, in[1:], out[1:], "a failed call leaves x1..x7")
		assert.Equal(t, abi.InvalidParameters, abi.StatusOf(out[0]), "index %d", index)
	}
}

func TestFileReadCopiesIntoHostPagesOnly(t *testing.T) {
	r := fileRig(t)
	vm := r.vm(1)
	r.donate(vm, 9, 0, 1)
	require.Equal(t, abi.Success, r.hostSt(abi.MemShare, uint64(vm), pg(12), 0x10000, 1, abi.PermR))
	cases := []struct {
		name             string
		index, pa, pages uint64
		want             abi.Status
	}{
		{"fits", 0, pg(2), 2, abi.Success},
		{"more pages than needed", 0, pg(4), 5, abi.Success},
		{"exactly one page", 1, pg(7), 1, abi.Success},
		{"a page the host shares with a VM", 1, pg(12), 1, abi.Success},
		{"an empty file needs no page", 2, pg(0), 0, abi.Success},
		{"no such file", 4, pg(2), 2, abi.InvalidParameters},
		{"unaligned", 1, pg(2) + 8, 1, abi.InvalidParameters},
		{"too few pages", 0, pg(2), 1, abi.InvalidParameters},
		{"wraps around", 0, ^uint64(0) &^ 0xfff, 2, abi.InvalidParameters},
		{"ends outside RAM", 0, pg(15), 2, abi.InvalidParameters},
		{"outside RAM", 1, 0x1000, 1, abi.InvalidParameters},
		{"a VM's page inside", 0, pg(8), 2, abi.Denied},
		{"engine memory", 1, pg(0), 1, abi.Denied},
		{"in order: outside RAM, then the engine's", 0, pg(0) - page, 2, abi.InvalidParameters},
		{"in order: the engine's, then the host's", 0, pg(0), 2, abi.Denied},
		{"the device fails", 3, pg(2), 1, abi.NoMemory},
	}
	for _, c := range cases {
		before := r.a.CopyCount
		out := r.host(abi.FileRead, c.index, c.pa, c.pages)
		assert.Equal(t, c.want, abi.StatusOf(out[0]), c.name)
		if c.want != abi.Success {
			assert.Equal(t, [3]uint64{c.index, c.pa, 0xa4}, [3]uint64{out[1], out[2], out[4]}, "%s: a failed call leaves x1..x7", c.name)
			continue
		}
		assert.Equal(t, r.e.Config().Files[c.index].Size, out[1], "%s: the bytes copied", c.name)
		if c.index == 2 {
			assert.Equal(t, before, r.a.CopyCount, "an empty file is not copied")
		}
	}
	assert.True(t, r.a.PageIsZero(isolation.PA(pg(9))), "the VM's page was not written")
	assert.Equal(t, fileBytes(5000, 1), r.contents(pg(2), 5000))
	assert.Equal(t, fileBytes(page, 2), r.contents(pg(12), page))
}

func TestFileReadLeavesTheRestOfTheLastPage(t *testing.T) {
	r := fileRig(t)
	r.a.Write(isolation.PA(pg(3)+5000-page), 0x77)
	r.a.Write(isolation.PA(pg(3)+page-1), 0x99)
	require.Equal(t, abi.Success, r.hostSt(abi.FileRead, 0, pg(2), 3))
	assert.Equal(t, byte(0x99), r.a.Read(isolation.PA(pg(3)+page-1)), "past the file's end")
	assert.True(t, r.a.PageIsZero(isolation.PA(pg(4))), "the third page offered")
	assert.True(t, bytes.Equal(fileBytes(5000, 1), r.contents(pg(2), 5000)))
}

func TestFileCallsAreTheHostsOnly(t *testing.T) {
	r := fileRig(t)
	vm := r.vm(1)
	r.donate(vm, 9, 0, 1)
	for _, id := range []uint32{abi.FileInfo, abi.FileRead} {
		out, eff := r.guest(vm, 0, id, 0, 0, 1)
		assert.Equal(t, abi.NotSupported, abi.StatusOf(out[0]))
		assert.Equal(t, isolation.EffectNone, eff.Kind)
	}
	assert.Zero(t, r.a.CopyCount)
}

func TestConfigRefusesAFileLargerThanTheIPASpace(t *testing.T) {
	c := isolation.SmallConfig()
	c.Files = []isolation.BootFile{{Size: isolation.MaxFileSize + 1}}
	_, err := isolation.New(c, fakearch.New(), isolation.NewPool(4, isolation.SmallPoolBase))
	assert.ErrorContains(t, err, "boot file 0")
}
