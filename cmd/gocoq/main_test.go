package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPlant translates the core with one planted bug on: only the place
// that switch guards changes, and a name that is no switch is refused.
func TestPlant(t *testing.T) {
	pkgs := []string{"bulkhead/isolation/abi", "bulkhead/isolation"}
	translate := func(plantOn string) string {
		dir := t.TempDir()
		require.NoError(t, run("../..", dir, "Bulkhead.Code", plantOn, false, pkgs))
		b, err := os.ReadFile(filepath.Join(dir, "Isolation.v"))
		require.NoError(t, err)
		return string(b)
	}
	off, on := translate(""), translate("SkipZeroOnReclaim")
	assert.NotContains(t, off, "if negb true then")
	assert.Equal(t, 1, strings.Count(on, "if negb true then"), "the one use of the switch reads true")
	assert.Equal(t, off, strings.Replace(on, "if negb true then", "if negb false then", 1), "nothing else changes")

	err := run("../..", t.TempDir(), "Bulkhead.Code", "NoSuchSwitch", false, pkgs)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no bool variable NoSuchSwitch")
}
