package main

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"bulkhead/arch/el2"
	"bulkhead/isolation"
	"bulkhead/isolation/abi"
)

func esr(ec uint64) uint64 { return ec << 26 }

func TestClassifyTrapsOnlyWhatIsolationNeeds(t *testing.T) {
	assert.Equal(t, actCall, classify(el2.VectorSync, esr(el2.ECHVC64)))
	assert.Equal(t, actCall, classify(el2.VectorSync, esr(el2.ECSMC64)))
	assert.Equal(t, actStage2Fault, classify(el2.VectorSync, esr(el2.ECDataAbortLow)))
	assert.Equal(t, actStage2Fault, classify(el2.VectorSync, esr(el2.ECInstAbortLow)))
	assert.Equal(t, actSysReg, classify(el2.VectorSync, esr(el2.ECSysReg)))
	assert.Equal(t, actUndefined, classify(el2.VectorSync, esr(0x19)), "SVE stays disabled")
	assert.Equal(t, actIgnore, classify(el2.VectorIRQ, 0))
	assert.Equal(t, actIgnore, classify(el2.VectorSError, esr(el2.ECHVC64)))
}

func TestSMCResumesAfterTheInstruction(t *testing.T) {
	assert.Equal(t, uint64(4), resumeAfter(esr(el2.ECSMC64)))
	assert.Zero(t, resumeAfter(esr(el2.ECHVC64)))
}

func TestFaultKind(t *testing.T) {
	assert.Equal(t, "write", faultKind(esr(el2.ECDataAbortLow)|1<<6))
	assert.Equal(t, "read", faultKind(esr(el2.ECDataAbortLow)))
	assert.Equal(t, "instruction fetch", faultKind(esr(el2.ECInstAbortLow)))
}

func TestMachineCallsAreInTheirBlock(t *testing.T) {
	for _, id := range []uint32{abi.FileInfo, abi.FileRead, abi.VCPURunAlone, abi.BenchOn, abi.BenchOff, abi.BenchNull,
		abi.BenchSwitch, abi.BenchResidency, abi.BenchProbe} {
		assert.True(t, machineCall(id), "%#x", id)
	}
	for _, id := range []uint32{abi.Version, abi.VMCreate, abi.VCPURun, abi.MemDonate, abi.MemInfo,
		abi.MMIOShadow, abi.GuestMemState, abi.PSCIFeatures, abi.PSCICPUOn64, abi.FileInfo - 1, abi.FileInfo + 0x80} {
		assert.False(t, machineCall(id), "%#x", id)
	}
}

// TestRunAloneIsAVCPURun: VCPU_RUN_ALONE reaches the core as a VCPU_RUN
// with the same arguments, whatever the upper half of w0 held; every
// other call passes unchanged.
func TestRunAloneIsAVCPURun(t *testing.T) {
	for _, hi := range []uint64{0, 0xffff_ffff << 32} {
		x := [8]uint64{hi | uint64(abi.VCPURunAlone), 1, 2, 3, 4, 5, 6, 7}
		assert.True(t, runAlone(&x))
		assert.Equal(t, [8]uint64{uint64(abi.VCPURun), 1, 2, 3, 4, 5, 6, 7}, x)
	}
	for _, id := range []uint32{abi.VCPURun, abi.VCPURunAlone + 1, abi.VCPURunAlone - 1, abi.FileRead} {
		x := [8]uint64{uint64(id), 1}
		assert.False(t, runAlone(&x), "%#x", id)
		assert.Equal(t, [8]uint64{uint64(id), 1}, x)
	}
}

// TestHostAccessOfAStage2Abort: the permission a host access needed, from
// its syndrome.
func TestHostAccessOfAStage2Abort(t *testing.T) {
	const wnr = 1 << 6
	assert.Equal(t, isolation.PermX, hostAccess(esr(el2.ECInstAbortLow)))
	assert.Equal(t, isolation.PermR, hostAccess(esr(el2.ECDataAbortLow)))
	assert.Equal(t, isolation.PermW, hostAccess(esr(el2.ECDataAbortLow)|wnr))
	assert.Equal(t, isolation.PermR, hostAccess(esr(el2.ECDataAbortLow)|wnr|issS1PTW), "a table walk reads")
}

// TestOnlyTranslationFaultsAreRetried: translation (levels 0-3), access
// flag and permission faults may be retried; an external abort, a TLB
// conflict or an alignment fault never is.
func TestOnlyTranslationFaultsAreRetried(t *testing.T) {
	for fsc := uint64(0x04); fsc <= 0x0f; fsc++ {
		assert.True(t, translationFault(esr(el2.ECDataAbortLow)|fsc), "%#x", fsc)
	}
	for _, fsc := range []uint64{0x00, 0x10, 0x14, 0x18, 0x21, 0x30, 0x3f} {
		assert.False(t, translationFault(esr(el2.ECDataAbortLow)|fsc), "%#x", fsc)
	}
}
