package abi

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestExitAndStatusNames(t *testing.T) {
	names := map[Exit]string{ExitMMIO: "MMIO", ExitCall: "CALL", ExitWFI: "WFI", ExitIRQ: "IRQ",
		ExitShutdown: "SHUTDOWN", ExitAbort: "ABORT", ExitVCPUState: "VCPU_STATE", 0: "UNKNOWN_EXIT"}
	for e, n := range names {
		assert.Equal(t, n, e.String())
	}
	assert.Equal(t, "UNKNOWN_STATUS", Status(-99).String())
}
