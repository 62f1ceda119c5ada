package guest

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"bulkhead/isolation/abi"
)

// fakeEngine records the last call and answers with reply.
type fakeEngine struct {
	got   [8]uint64
	reply [8]uint64
}

func (f *fakeEngine) Call(x [8]uint64) [8]uint64 {
	f.got = x
	return f.reply
}

func withFake(t *testing.T, reply [8]uint64) *fakeEngine {
	f := &fakeEngine{reply: reply}
	prev := SetConduit(f)
	t.Cleanup(func() { SetConduit(prev) })
	return f
}

// TestWrappersMarshalTheirArguments checks each wrapper puts its id in x0
// and its arguments in x1.. in the order of the ABI table.
func TestWrappersMarshalTheirArguments(t *testing.T) {
	cases := []struct {
		name string
		do   func()
		want [8]uint64
	}{
		{"Version", func() { Version() }, [8]uint64{uint64(abi.Version)}},
		{"CallUID", func() { CallUID() }, [8]uint64{uint64(abi.CallUID)}},
		{"Revision", func() { Revision() }, [8]uint64{uint64(abi.Revision)}},
		{"Share", func() { Share(0x4000_1000, 2) }, [8]uint64{uint64(abi.GuestShare), 0x4000_1000, 2}},
		{"Unshare", func() { Unshare(0x4000_1000, 3) }, [8]uint64{uint64(abi.GuestUnshare), 0x4000_1000, 3}},
		{"Relinquish", func() { Relinquish(0x4000_2000, 1) }, [8]uint64{uint64(abi.GuestRelinquish), 0x4000_2000, 1}},
		{"MemGranule", func() { MemGranule() }, [8]uint64{uint64(abi.GuestMemInfo)}},
		{"VMCreate", func() { VMCreate(2) }, [8]uint64{uint64(abi.VMCreate), 2}},
		{"VMCreateWith", func() { VMCreateWith(2, abi.VMProtected) }, [8]uint64{uint64(abi.VMCreate), 2, 1}},
		{"MemStateRun", func() { MemStateRun(0x4000_0000, 9) }, [8]uint64{uint64(abi.GuestMemState), 0x4000_0000, 9}},
		{"VMDestroy", func() { VMDestroy(3) }, [8]uint64{uint64(abi.VMDestroy), 3}},
		{"VCPUInit", func() { VCPUInit(1, 2, 3, 4) }, [8]uint64{uint64(abi.VCPUInit), 1, 2, 3, 4}},
		{"VCPURun", func() { VCPURun(1, 0, 9) }, [8]uint64{uint64(abi.VCPURun), 1, 0, 9}},
		{"VCPUIRQ", func() { VCPUIRQ(1, 0, 27, 1) }, [8]uint64{uint64(abi.VCPUIRQ), 1, 0, 27, 1}},
		{"MemDonate", func() { MemDonate(1, 2, 3, 4, 5) }, [8]uint64{uint64(abi.MemDonate), 1, 2, 3, 4, 5}},
		{"MemShare", func() { MemShare(1, 2, 3, 4, 5) }, [8]uint64{uint64(abi.MemShare), 1, 2, 3, 4, 5}},
		{"MemUnshare", func() { MemUnshare(1, 2, 3) }, [8]uint64{uint64(abi.MemUnshare), 1, 2, 3}},
		{"MemReclaim", func() { MemReclaim(1, 2) }, [8]uint64{uint64(abi.MemReclaim), 1, 2}},
		{"MemInfo", func() { MemInfo(0x4c20_0000) }, [8]uint64{uint64(abi.MemInfo), 0x4c20_0000}},
		{"FileInfo", func() { FileInfo(1) }, [8]uint64{uint64(abi.FileInfo), 1}},
		{"FileRead", func() { FileRead(1, 2, 3) }, [8]uint64{uint64(abi.FileRead), 1, 2, 3}},
		{"PSCIVersion", func() { PSCIVersion() }, [8]uint64{uint64(abi.PSCIVersion)}},
		{"PSCIFeatures", func() { PSCIFeatures(abi.PSCICPUOn64) }, [8]uint64{uint64(abi.PSCIFeatures), uint64(abi.PSCICPUOn64)}},
		{"CPUOn", func() { CPUOn(1, 2, 3) }, [8]uint64{uint64(abi.PSCICPUOn64), 1, 2, 3}},
		{"CPUOn32", func() { CPUOn32(1, 2, 3) }, [8]uint64{uint64(abi.PSCICPUOn32), 1, 2, 3}},
		{"CPUOff", func() { CPUOff() }, [8]uint64{uint64(abi.PSCICPUOff)}},
		{"AffinityInfo", func() { AffinityInfo(1, 0) }, [8]uint64{uint64(abi.PSCIAffinityInfo64), 1}},
		{"SystemOff", func() { SystemOff() }, [8]uint64{uint64(abi.PSCISystemOff)}},
		{"SystemReset", func() { SystemReset() }, [8]uint64{uint64(abi.PSCISystemReset)}},
	}
	for _, c := range cases {
		f := withFake(t, [8]uint64{})
		c.do()
		assert.Equal(t, c.want, f.got, c.name)
	}
}

func TestWrappersDecodeTheirResults(t *testing.T) {
	withFake(t, [8]uint64{abi.Denied.Reg(), 7, 8, 9})
	major, minor, st := Version()
	assert.Equal(t, []uint64{7, 8}, []uint64{major, minor})
	assert.Equal(t, abi.Denied, st)

	withFake(t, [8]uint64{0, uint64(abi.ExitMMIO), 0x0900_0000, 3, 4, 5, 6, 7})
	e, st := VCPURun(1, 0, 0)
	assert.Equal(t, abi.Success, st)
	assert.Equal(t, Exit{Reason: abi.ExitMMIO, Detail: [6]uint64{0x0900_0000, 3, 4, 5, 6, 7}}, e)

	withFake(t, [8]uint64{0, abi.OwnerVM, 3, 1, 2})
	info, _ := MemInfo(0)
	assert.Equal(t, PageInfo{Owner: abi.OwnerVM, VM: 3, Shared: true, Borrower: 2}, info)

	withFake(t, [8]uint64{0, 1234, 0x2e30 | 'x'<<16, 0})
	size, name, _ := FileInfo(0)
	assert.Equal(t, uint64(1234), size)
	assert.Equal(t, "0.x", name)

	w := abi.UIDWords()
	withFake(t, [8]uint64{uint64(w[0]), uint64(w[1]), uint64(w[2]), uint64(w[3])})
	assert.Equal(t, w, CallUID())

	withFake(t, [8]uint64{abi.PSCIVersion11})
	assert.Equal(t, uint64(abi.PSCIVersion11), PSCIVersion())
	withFake(t, [8]uint64{psciReg(abi.PSCIAlreadyOn)})
	assert.Equal(t, abi.PSCIAlreadyOn, CPUOn(0, 0, 0))
}

func TestWithoutAConduitEveryCallIsNotSupported(t *testing.T) {
	prev := SetConduit(noConduit{})
	defer SetConduit(prev)
	x := Call([8]uint64{uint64(abi.VMCreate), 1, 2, 3, 4, 5, 6, 7})
	require.Equal(t, abi.NotSupported, abi.StatusOf(x[0]))
	assert.Equal(t, [7]uint64{1, 2, 3, 4, 5, 6, 7}, [7]uint64(x[1:]))
}

func psciReg(code int64) uint64 { return uint64(code) }

// chunkEngine answers every call SUCCESS except the failAt-th (counting
// from 1), which gets fail, and records every call.
type chunkEngine struct {
	calls  [][8]uint64
	failAt int
	fail   abi.Status
}

func (c *chunkEngine) Call(x [8]uint64) [8]uint64 {
	c.calls = append(c.calls, x)
	if len(c.calls) == c.failAt {
		x[0] = c.fail.Reg()
	} else {
		x[0] = abi.Success.Reg()
	}
	return x
}

func withChunks(t *testing.T, failAt int, fail abi.Status) *chunkEngine {
	c := &chunkEngine{failAt: failAt, fail: fail}
	prev := SetConduit(c)
	t.Cleanup(func() { SetConduit(prev) })
	return c
}

// TestMemoryWrappersSplitRangesAtTheLimit: a range longer than
// abi.GuestMaxPages goes out as consecutive calls of at most that many
// pages, in address order.
func TestMemoryWrappersSplitRangesAtTheLimit(t *testing.T) {
	const base, lim = 0x4000_0000, abi.GuestMaxPages
	for _, tc := range []struct {
		id uint32
		do func(ipa, pages uint64) abi.Status
	}{{abi.GuestShare, Share}, {abi.GuestUnshare, Unshare}, {abi.GuestRelinquish, relinquishRange}} {
		c := withChunks(t, 0, abi.Success)
		require.Equal(t, abi.Success, tc.do(base, 2*lim+5))
		require.Equal(t, [][8]uint64{
			{uint64(tc.id), base, lim},
			{uint64(tc.id), base + lim*abi.Granule, lim},
			{uint64(tc.id), base + 2*lim*abi.Granule, 5},
		}, c.calls)
		c = withChunks(t, 0, abi.Success)
		require.Equal(t, abi.Success, tc.do(base, lim))
		require.Equal(t, [][8]uint64{{uint64(tc.id), base, lim}}, c.calls, "a range within the limit is one call")
	}
}

// TestShareUndoesEarlierChunksWhenOneFails: the range ends shared whole or
// not at all, and the failing call's status is returned.
func TestShareUndoesEarlierChunksWhenOneFails(t *testing.T) {
	const base, lim = 0x4000_0000, abi.GuestMaxPages
	c := withChunks(t, 3, abi.Denied)
	require.Equal(t, abi.Denied, Share(base, 3*lim))
	require.Equal(t, [][8]uint64{
		{uint64(abi.GuestShare), base, lim},
		{uint64(abi.GuestShare), base + lim*abi.Granule, lim},
		{uint64(abi.GuestShare), base + 2*lim*abi.Granule, lim},
		{uint64(abi.GuestUnshare), base, lim},
		{uint64(abi.GuestUnshare), base + lim*abi.Granule, lim},
	}, c.calls)
	c = withChunks(t, 1, abi.InvalidParameters)
	require.Equal(t, abi.InvalidParameters, Unshare(base+8, 3*lim))
	require.Len(t, c.calls, 1, "nothing to undo after a first call fails")
	c = withChunks(t, 2, abi.Denied)
	st, done := RelinquishRange(base, 3*lim)
	require.Equal(t, abi.Denied, st)
	require.Equal(t, uint64(lim), done, "a relinquish cannot be undone: the first call's pages are gone")
	require.Len(t, c.calls, 2)
}

func relinquishRange(ipa, pages uint64) abi.Status {
	st, _ := RelinquishRange(ipa, pages)
	return st
}

// TestMemoryWrappersPassMalformedRangesWhole: a range the engine refuses
// whole (unaligned, empty, wrapping) is one call, so its status is the
// engine's and no prefix of it is acted on; Relinquish itself is always one
// call.
func TestMemoryWrappersPassMalformedRangesWhole(t *testing.T) {
	const lim = abi.GuestMaxPages
	for _, r := range [][2]uint64{{0x4000_0008, 2 * lim}, {0x43e0_5000, 1 << 52}, {^uint64(0) &^ 0xfff, 2}, {0x4000_0000, 0}} {
		for _, do := range []func(ipa, pages uint64) abi.Status{Share, Unshare, relinquishRange} {
			c := withChunks(t, 1, abi.InvalidParameters)
			require.Equal(t, abi.InvalidParameters, do(r[0], r[1]))
			require.Len(t, c.calls, 1, "%#x+%d pages", r[0], r[1])
			require.Equal(t, [2]uint64{r[0], r[1]}, [2]uint64{c.calls[0][1], c.calls[0][2]})
		}
	}
	c := withChunks(t, 0, abi.Success)
	Relinquish(0x4000_0000, 3*lim)
	require.Equal(t, [][8]uint64{{uint64(abi.GuestRelinquish), 0x4000_0000, 3 * lim}}, c.calls)
}
