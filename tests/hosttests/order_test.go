//go:build tamago && arm64

package hosttests

import (
	"testing"

	"bulkhead/guest"
	"bulkhead/guest/check"
	"bulkhead/isolation/abi"
)

// The tests run in this order: queries, then VMs, then memory, then the
// hundred VMs in a row, after every other test has cleaned up, then
// protected VMs, and last the state suite.

func TestVersion(t *testing.T) { testVersion(t) }

func TestCallUID(t *testing.T) { check.Equal(t, abi.UIDWords(), guest.CallUID()) }

func TestRevision(t *testing.T) { testRevision(t) }

func TestGuestIDsNotSupported(t *testing.T) { testGuestIDs(t) }

func TestUnknownIDsNotSupported(t *testing.T) { testUnknownIDs(t) }

func TestPSCI(t *testing.T) {
	t.Run("Version", func(t *testing.T) { check.Equal(t, uint64(abi.PSCIVersion11), guest.PSCIVersion()) })
	t.Run("Features", testPSCIFeatures)
}

func TestHostCPUs(t *testing.T) { testHostCPUs(t) }

func TestVMCreate(t *testing.T) {
	t.Run("Limits", testVMCreateLimits)
}

func TestVMDestroy(t *testing.T) {
	t.Run("BadVMID", testVMDestroyBad)
}

func TestVCPUInit(t *testing.T) {
	t.Run("Checks", testVCPUInit)
	t.Run("AfterRunDenied", testVCPUInitAfterRun)
}

func TestVCPURun(t *testing.T) {
	t.Run("Checks", testVCPURunChecks)
	t.Run("Exits", testVCPURunExits)
	t.Run("SGIFieldsOnly", testVCPURunSGIFieldsOnly)
	t.Run("Destroyed", testVCPURunDestroyed)
	t.Run("HostKeepsItsMPIDR", testHostKeepsItsMPIDR)
}

func TestVCPURunAlone(t *testing.T) {
	t.Run("Checks", testRunAloneChecks)
	t.Run("StillExitsOnWFIUnderVCPURun", testVCPURunStillExitsOnWFI)
	t.Run("TickEndsTheWait", testRunAloneTickEndsTheWait)
	t.Run("OwnTimerWakes", testRunAloneOwnTimerWakes)
}

func TestVCPUIRQ(t *testing.T) {
	t.Run("Checks", testVCPUIRQ)
}

func TestMemDonate(t *testing.T) {
	t.Run("Arguments", memArguments(guest.MemDonate))
	t.Run("Ledger", testDonateLedger)
}

func TestMemShare(t *testing.T) {
	t.Run("Arguments", memArguments(guest.MemShare))
	t.Run("Ledger", testShareLedger)
}

func TestMemUnshare(t *testing.T) {
	t.Run("Checks", testUnshare)
}

func TestMemInfo(t *testing.T) {
	t.Run("Checks", testMemInfo)
}

func TestMemReclaim(t *testing.T) {
	t.Run("Checks", testReclaim)
	t.Run("DestroyEndsHostShares", testDestroyEndsShares)
}

func TestStage2(t *testing.T) {
	t.Run("Permissions", testPermissions)
}

func TestLifecycle(t *testing.T) {
	t.Run("HundredVMs", testHundredVMs)
}

func TestProtected(t *testing.T) {
	t.Run("MemShareDenied", testProtectedShareDenied)
	t.Run("GuestSeesPrivate", testProtectedGuestSeesPrivate)
	t.Run("UnprotectedGuestSeesLent", testUnprotectedGuestSeesLent)
}

// TestState: every switched register of the inventory
// (arch/el2/inventory.go) that EL1 can reach stays with its owner. A VM
// writes a distinct value into each, another VM and the host read theirs
// and must not see it, and the first VM gets its own back; the host's
// FP/SIMD registers survive every kind of call and exit; the host's PMU
// counts nothing while a guest runs.
func TestState(t *testing.T) {
	t.Run("VMToVM", testStateVMToVM)
	t.Run("NewVMInSlot", testStateNewVMInSlot)
	t.Run("HostFP", testStateHostFP)
	t.Run("HostPMU", testStateHostPMU)
}
