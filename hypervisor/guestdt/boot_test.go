package guestdt

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"bulkhead/boot/virt"
)

// guestImages returns the directory scripts/guest-images fills, or skips.
func guestImages(t *testing.T) string {
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(file), "..", "..", ".cache", "guest-images")
	for _, f := range []string{"Image", "initramfs.cpio"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Skipf("no %s in .cache/guest-images (run scripts/guest-images)", f)
		}
	}
	return dir
}

// TestBootsLinux boots Debian's arm64 kernel and the test initramfs under
// plain QEMU with the guest device tree instead of QEMU's own: Linux must
// find its console, interrupt controller, timer and both vCPUs (brought up
// with PSCI CPU_ON over HVC, the conduit QEMU's firmware emulation uses
// when it does not emulate EL2) from this tree alone and reach userspace.
// QEMU only fills in /chosen's bootargs and initrd bounds.
func TestBootsLinux(t *testing.T) {
	if testing.Short() {
		t.Skip("boots Linux under QEMU")
	}
	qemu := lookTool(t, "qemu-system-aarch64", "qemu-system-arm")
	images := guestImages(t)
	blob, err := Build(Config{RAMSize: 512 << 20, VCPUs: 2, Bootargs: "console=ttyAMA0"})
	require.NoError(t, err)
	dtb := filepath.Join(t.TempDir(), "guest.dtb")
	require.NoError(t, os.WriteFile(dtb, blob, 0o644))

	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, qemu, "-machine", "virt,gic-version=3", "-cpu", virt.QEMUCPU,
		"-smp", "2", "-m", "512M", "-nographic", "-nodefaults", "-serial", "stdio", "-no-reboot",
		"-dtb", dtb, "-kernel", filepath.Join(images, "Image"),
		"-initrd", filepath.Join(images, "initramfs.cpio"),
		"-append", "console=ttyAMA0 rdinit=/init panic=-1")
	out, err := cmd.CombinedOutput()
	log := string(out)
	require.NoError(t, ctx.Err(), "QEMU did not finish in time:\n%s", log)
	require.NoError(t, err, log)
	require.Contains(t, log, "BULKHEAD-USERSPACE-OK", log)
	assert.Contains(t, log, "BULKHEAD-CPUS 2")
	assert.Contains(t, log, "psci: PSCIv")
	for _, want := range []string{"arch_timer", "uart-pl011"} {
		found := false
		for _, line := range strings.Split(log, "\n") {
			if strings.Contains(line, "GICv3") && strings.Contains(line, want) {
				found = true
			}
		}
		assert.True(t, found, "/proc/interrupts has no GICv3 %s line", want)
	}
}
