package el1

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSGIToNamesTheTargetsAffinity(t *testing.T) {
	assert.Equal(t, uint64(KickSGI<<24|1<<0), sgiTo(0), "CPU 0.0.0.0")
	assert.Equal(t, uint64(KickSGI<<24|1<<3), sgiTo(3), "Aff0 picks one bit of the target list")
	assert.Equal(t, uint64(KickSGI<<24|0x12<<16|1<<2), sgiTo(0x1202), "Aff1")
	assert.Equal(t, uint64(KickSGI<<24|0x34<<32|1<<0), sgiTo(0x34_0000), "Aff2")
	assert.Equal(t, uint64(KickSGI<<24|0x56<<48|1<<1), sgiTo(0x56_0000_0001), "Aff3")
	assert.Equal(t, uint64(KickSGI<<24|1<<44|1<<1), sgiTo(17), "Aff0 17: range 1, bit 1")
}
