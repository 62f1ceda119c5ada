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

// TestArgsAreHermetic: QEMU adds nothing of its own (no default NIC, whose
// option ROM a fresh machine lacks, no monitor, no drives) and every device
// is named.
func TestArgsAreHermetic(t *testing.T) {
	args := Machine{Engine: "e.elf"}.Args()
	assert.Equal(t, "-nodefaults", args[0])
	joined := strings.Join(args, " ")
	for _, bad := range []string{"-nographic", "-net ", "-nic", "-monitor stdio", "-S ", "-gdb"} {
		assert.NotContains(t, joined, bad)
	}
	assert.Contains(t, joined, "-chardev stdio,id=console,signal=off -serial chardev:console")
	assert.Contains(t, joined, "-display none")
	gdb := strings.Join(Machine{Engine: "e.elf", GDBPort: 1234}.Args(), " ")
	assert.Contains(t, gdb, "-S -gdb tcp:127.0.0.1:1234")
}

// TestQEMUStartsWithoutOptionROMs boots QEMU with our command line and an
// empty firmware search path: a machine that wanted any ROM file (the
// default NIC's efi-virtio.rom) would fail to start.
func TestQEMUStartsWithoutOptionROMs(t *testing.T) {
	if _, err := exec.LookPath(Binary); err != nil {
		t.Skip("qemu-system-aarch64 is not installed")
	}
	spin := filepath.Join(t.TempDir(), "spin.bin")
	require.NoError(t, os.WriteFile(spin, []byte{0x00, 0x00, 0x00, 0x14}, 0o644)) // b .
	m := Machine{Engine: spin, Extra: []string{"-L", t.TempDir()}}
	res, err := Run(context.Background(), m, 2*time.Second, nil, nil)
	require.NoError(t, err)
	assert.True(t, res.TimedOut, "QEMU ran until stopped; console: %s", res.Console)
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

// TestQEMUDiesWithItsCaller: a caller killed outright (SIGKILL, nothing
// runs after it) takes its QEMU along.
func TestQEMUDiesWithItsCaller(t *testing.T) {
	if os.Getenv("BULKHEAD_QEMU_CHILD") != "" {
		spin := os.Getenv("BULKHEAD_QEMU_CHILD")
		_, _ = Run(context.Background(), Machine{Engine: spin}, time.Minute, nil, os.Stdout)
		return
	}
	if _, err := exec.LookPath(Binary); err != nil {
		t.Skip("qemu-system-aarch64 is not installed")
	}
	spin := filepath.Join(t.TempDir(), "spin-dies-with-caller.bin")
	require.NoError(t, os.WriteFile(spin, []byte{0x00, 0x00, 0x00, 0x14}, 0o644)) // b .
	child := exec.Command(os.Args[0], "-test.run=^TestQEMUDiesWithItsCaller$")
	child.Env = append(os.Environ(), "BULKHEAD_QEMU_CHILD="+spin)
	require.NoError(t, child.Start())
	running := func() bool {
		dirs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
		for _, d := range dirs {
			if b, err := os.ReadFile(d); err == nil && strings.Contains(string(b), spin) && strings.Contains(string(b), Binary) {
				return true
			}
		}
		return false
	}
	deadline := time.Now().Add(20 * time.Second)
	for !running() && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	require.True(t, running(), "QEMU started")
	require.NoError(t, child.Process.Kill())
	_ = child.Wait()
	deadline = time.Now().Add(10 * time.Second)
	for running() && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	require.False(t, running(), "QEMU outlived its killed caller")
}
