package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRun(t *testing.T) {
	dir := t.TempDir()
	initPath := filepath.Join(dir, "init.sh")
	require.NoError(t, os.WriteFile(initPath, []byte("#!/bin/sh\n"), 0o644))
	list := filepath.Join(dir, "list")
	require.NoError(t, os.WriteFile(list, []byte(
		"dir /dev 0755 0 0\nnod /dev/console 0600 0 0 c 5 1\nfile /init "+initPath+" 0755 0 0\n"), 0o644))
	out := filepath.Join(dir, "out.cpio")
	require.NoError(t, run(out, list))

	b, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.True(t, bytes.HasPrefix(b, []byte("070701")))
	assert.Zero(t, len(b)%512)
	if cpio, err := exec.LookPath("cpio"); err == nil {
		cmd := exec.Command(cpio, "-t", "--quiet")
		cmd.Stdin = bytes.NewReader(b)
		names, err := cmd.Output()
		require.NoError(t, err)
		assert.Equal(t, []string{"dev", "dev/console", "init"}, strings.Fields(string(names)))
	}
}

func TestRunErrorsLeaveNoArchive(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out.cpio")
	for name, text := range map[string]string{
		"missing source": "file /init " + filepath.Join(dir, "nope") + " 0755 0 0\n",
		"no parent":      "file /bin/sh /dev/null 0755 0 0\n",
		"bad list":       "pipe /p 0644 0 0\n",
	} {
		list := filepath.Join(dir, "list")
		require.NoError(t, os.WriteFile(list, []byte(text), 0o644))
		assert.Error(t, run(out, list), name)
		_, err := os.Stat(out)
		assert.True(t, os.IsNotExist(err), "%s: no partial archive", name)
		leftovers, _ := filepath.Glob(filepath.Join(dir, ".mkinitramfs-*"))
		assert.Empty(t, leftovers, name)
	}
}
