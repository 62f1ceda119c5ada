package el2

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"bulkhead/isolation/abi"
)

func TestBenchIDsMatchTheABI(t *testing.T) {
	assert.Equal(t, uint64(abi.BenchNull), uint64(benchNull))
	assert.Equal(t, uint64(abi.BenchSwitch), uint64(benchSwitch))
}
