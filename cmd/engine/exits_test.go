package main

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"bulkhead/arch/el2"
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
