package qemu

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"bulkhead/boot/virt"
)

func TestArgsDescribeTheBoard(t *testing.T) {
	m := Machine{Engine: "e.elf", EL1: "h.elf", Files: map[string]string{"opt/b": "b", "opt/a": "a"}}
	args := strings.Join(m.Args(), " ")
	assert.Contains(t, args, "-machine "+virt.QEMUMachine)
	assert.Contains(t, args, "-cpu "+virt.QEMUCPU)
	assert.Contains(t, args, "-m 2048M")
	assert.Contains(t, args, "-kernel e.elf")
	assert.Contains(t, args, "-fw_cfg name="+virt.FwCfgHostImage+",file=h.elf")
	assert.Less(t, strings.Index(args, "name=opt/a,"), strings.Index(args, "name=opt/b,"), "fw_cfg files in a stable order")
	assert.NotContains(t, args, "icount")
	assert.Contains(t, strings.Join(Machine{ICount: true}.Args(), " "), "-icount shift=0")
}

func TestArgsOmitTheEL1ImageWhenNoneIsGiven(t *testing.T) {
	assert.NotContains(t, strings.Join(Machine{Engine: "e"}.Args(), " "), "fw_cfg")
}

func TestFindTamagoExplainsWhatIsMissing(t *testing.T) {
	t.Setenv("TAMAGO", filepath.Join(t.TempDir(), "missing", "go"))
	_, err := FindTamago()
	require.ErrorIs(t, err, ErrNoTamago)
	assert.Contains(t, err.Error(), "make.bash")
	assert.Contains(t, err.Error(), TamagoVersion)
}

func TestModuleRootFindsGoMod(t *testing.T) {
	wd, err := os.Getwd()
	require.NoError(t, err)
	root, err := ModuleRoot(wd)
	require.NoError(t, err)
	assert.FileExists(t, filepath.Join(root, "go.mod"))
}

// TestRunKillsAHungMachine boots a kernel that spins forever and checks that
// the timeout ends and reaps QEMU.
func TestRunKillsAHungMachine(t *testing.T) {
	if _, err := exec.LookPath(Binary); err != nil {
		t.Skip("qemu-system-aarch64 is not installed")
	}
	spin := filepath.Join(t.TempDir(), "spin.bin")
	require.NoError(t, os.WriteFile(spin, []byte{0x00, 0x00, 0x00, 0x14}, 0o644)) // b .
	start := time.Now()
	res, err := Run(context.Background(), Machine{Engine: spin}, 2*time.Second, nil, nil)
	require.NoError(t, err)
	assert.True(t, res.TimedOut)
	assert.Less(t, time.Since(start), 10*time.Second)
}

func TestWatchFindsAMarkerSplitAcrossWrites(t *testing.T) {
	w := &Watch{Marker: []byte("hypervisor: run"), Start: time.Now().Add(-time.Second)}
	_, ok := w.Elapsed()
	assert.False(t, ok)
	for _, part := range []string{"bulkhead ", "hyper", "visor: r", "unning\n"} {
		_, _ = w.Write([]byte(part))
	}
	d, ok := w.Elapsed()
	assert.True(t, ok)
	assert.GreaterOrEqual(t, d, time.Second)
}
