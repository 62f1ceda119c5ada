//go:build tamago && arm64

package hosttests

import (
	"testing"

	"bulkhead/guest"
	"bulkhead/guest/check"
	"bulkhead/isolation"
	"bulkhead/isolation/abi"
)

func testVersion(t *testing.T) {
	major, minor, st := guest.Version()
	check.Status(t, abi.Success, st)
	check.Equal(t, [2]uint64{abi.VersionMajor, abi.VersionMinor}, [2]uint64{major, minor})
}

func testRevision(t *testing.T) {
	major, minor := guest.Revision()
	check.Equal(t, [2]uint64{abi.RevisionMajor, abi.RevisionMinor}, [2]uint64{major, minor})
}

// notSupportedPreserving checks a call failed with NOT_SUPPORTED and left
// x1..x7 as they were (bulkhead-contract; SMCCC 1.2 section 2.6).
func notSupportedPreserving(t *testing.T, id uint32) {
	x := [8]uint64{uint64(id), 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77}
	r := guest.Call(x)
	check.Status(t, abi.NotSupported, abi.StatusOf(r[0]), "id %#x", id)
	check.Equal(t, x[1:], r[1:], "id %#x: x1..x7", id)
}

func testGuestIDs(t *testing.T) {
	for _, id := range []uint32{abi.GuestShare, abi.GuestUnshare, abi.GuestRelinquish, abi.GuestMemInfo, abi.GuestMemState} {
		notSupportedPreserving(t, id)
	}
}

// testUnknownIDs: ids nobody implements, inside and outside the engine's
// blocks, and the PSCI calls the single host CPU may not make (CPU_ON,
// CPU_OFF, AFFINITY_INFO, CPU_SUSPEND): all NOT_SUPPORTED.
func testUnknownIDs(t *testing.T) {
	ids := []uint32{0xC6000001, 0xC60000FF, 0xC6000044, 0xC6000100, 0x8600FF02, 0x82000000, 0xC5000000, 0x84000001}
	if boardCPUs(t) == 1 { // with several, the host starts its CPUs: testHostCPUs
		ids = append(ids, hostCPUCalls...)
	}
	for _, id := range ids {
		notSupportedPreserving(t, id)
	}
	check.True(t, isolation.EngineOwnsID(0xC6000001) && !isolation.EngineOwnsID(0xC6000100), "both kinds of id are covered")
}

// testPSCIFeatures: the host may use VERSION, FEATURES, SYSTEM_OFF and
// SYSTEM_RESET; PSCI_FEATURES answers for its caller (DEN0022 5.1.14).
func testPSCIFeatures(t *testing.T) {
	for _, fid := range []uint32{abi.PSCIVersion, abi.PSCIFeatures, abi.PSCISystemOff, abi.PSCISystemReset} {
		check.PSCI(t, abi.PSCISuccess, guest.PSCIFeatures(fid), "FEATURES(%#x)", fid)
	}
	for _, fid := range []uint32{0x84000001, abi.Version} {
		check.PSCI(t, abi.PSCINotSupported, guest.PSCIFeatures(fid), "FEATURES(%#x)", fid)
	}
	// The calls about the host's CPUs: testHostCPUs.
}
