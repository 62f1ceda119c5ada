package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRunRejectsBadCommandLines(t *testing.T) {
	var out bytes.Buffer
	assert.ErrorContains(t, run(nil, nil, &out), "usage")
	assert.ErrorContains(t, run([]string{"launch"}, nil, &out), "unknown command")
	assert.ErrorContains(t, run([]string{"run", "-hypervisor", "/does/not/exist"}, nil, &out), "not a readable file")
	assert.ErrorContains(t, run([]string{"run", "-hypervisor", t.TempDir()}, nil, &out), "not a readable file")
	assert.ErrorContains(t, run([]string{"run", "stray"}, nil, &out), "unexpected arguments")
	assert.Error(t, run([]string{"run", "-timeout", "soon"}, nil, &out))
}

func TestArgsNamesEveryImage(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{}
	for _, n := range []string{"e.elf", "h.elf", "g0", "g1"} {
		files[n] = filepath.Join(dir, n)
		require.NoError(t, os.WriteFile(files[n], []byte("x"), 0o644))
	}
	var out bytes.Buffer
	require.NoError(t, run([]string{"args", "-engine", files["e.elf"], "-hypervisor", files["h.elf"],
		"-guest", files["g0"], "-guest", files["g1"]}, nil, &out))
	s := out.String()
	assert.Contains(t, s, "-kernel "+files["e.elf"])
	assert.Contains(t, s, "name=opt/bulkhead/el1,file="+files["h.elf"])
	assert.Contains(t, s, "name=opt/bulkhead/guest/0,file="+files["g0"])
	assert.Contains(t, s, "name=opt/bulkhead/guest/1,file="+files["g1"])
}
