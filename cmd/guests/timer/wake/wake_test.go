package wake

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSummariseSortsAndCounts(t *testing.T) {
	s := Summarise([]uint64{30, 10, TimedOut, 20, 5}, []uint64{27, 27, 1023, 27, 30})
	assert.Equal(t, Stats{N: 3, Min: 10, Median: 20, Max: 30, Late: 1, WrongINTIDs: 1}, s)
	assert.Equal(t, Stats{}, Summarise(nil, nil))
}
