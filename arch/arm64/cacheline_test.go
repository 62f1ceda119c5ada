package arm64

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestDataLineOf(t *testing.T) {
	assert.Equal(t, uint64(64), DataLineOf(0x8444c004), "Cortex-A72 CTR_EL0: DminLine 4")
	assert.Equal(t, uint64(32), DataLineOf(3<<16), "a CPU with 32-byte lines is stepped by 32")
	assert.Equal(t, uint64(4), DataLineOf(0))
}
