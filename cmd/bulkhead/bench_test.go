package main

import (
	"bytes"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// bench refuses unknown flags and arguments before it builds anything.
func TestBenchRefusesBadArguments(t *testing.T) {
	for _, args := range [][]string{{"-nope"}, {"linux"}, {"-profile", "extra"}} {
		var out bytes.Buffer
		err := bench(args, &out)
		var u usageError
		require.Error(t, err, "%q", args)
		assert.True(t, errors.As(err, &u), "%q: %v is not a usage error", args, err)
	}
}
