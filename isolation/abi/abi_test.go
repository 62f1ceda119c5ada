package abi

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestUIDWordsAreLittleEndianQuads(t *testing.T) {
	w := UIDWords()
	assert.Equal(t, uint32(0x2c5a1df6), w[0])
	assert.Equal(t, uint32(0x4d4792ad), w[1])
	assert.Equal(t, uint32(0x4c2d8d9d), w[2])
	assert.Equal(t, uint32(0x1f778e3d), w[3])
}

func TestEngineIDsAreVendorHypSMC64FastCalls(t *testing.T) {
	for _, id := range []uint32{Version, VMCreate, VMDestroy, VCPUInit, VCPURun, VCPUIRQ,
		MemDonate, MemShare, MemUnshare, MemReclaim, MemInfo,
		GuestShare, GuestUnshare, GuestRelinquish, GuestMemInfo, GuestMemState} {
		assert.True(t, IsFast(id), "%#x", id)
		assert.True(t, Is64(id), "%#x", id)
		assert.Equal(t, uint32(OENVendorHyp), OwningEntity(id), "%#x", id)
	}
	for _, id := range []uint32{CallUID, Revision} {
		assert.True(t, IsFast(id))
		assert.False(t, Is64(id))
		assert.Equal(t, uint32(OENVendorHyp), OwningEntity(id))
	}
}

func TestStatusRoundTripsThroughX0(t *testing.T) {
	for _, s := range []Status{Success, NotSupported, InvalidParameters, Denied, NoMemory, Busy} {
		assert.Equal(t, s, StatusOf(s.Reg()))
		assert.NotEqual(t, "UNKNOWN_STATUS", s.String())
	}
	assert.Equal(t, uint64(0xFFFFFFFFFFFFFFFF), NotSupported.Reg())
}

func TestMMIOAccessEncoding(t *testing.T) {
	assert.Equal(t, uint64(0b111), MMIOAccess(true, 3))
	assert.Equal(t, uint64(0b100), MMIOAccess(false, 2))
	assert.Equal(t, uint64(0b000), MMIOAccess(false, 0))
}
