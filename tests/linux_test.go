package tests

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"bulkhead/boot/virt"
	"bulkhead/internal/qemu"
)

// The Linux scenarios boot Debian's own arm64 kernel with a busybox
// initramfs, made by scripts/guest-images into .cache/guest-images. The
// initramfs's /init prints the marker, the interrupt table and the CPU
// count, then powers off.
const (
	linuxMarker   = "BULKHEAD-USERSPACE-OK"
	linuxCmdline  = "console=ttyAMA0"
	linuxRAMMiB   = 256
	linuxImageDir = ".cache/guest-images"
)

// linuxImages returns the kernel and initramfs, or skips loudly.
func linuxImages(t *testing.T) (kernel, initrd string) {
	wd, _ := os.Getwd()
	root, err := qemu.ModuleRoot(wd)
	require.NoError(t, err)
	kernel = filepath.Join(root, linuxImageDir, "Image")
	initrd = filepath.Join(root, linuxImageDir, "initramfs.cpio")
	for _, f := range []string{kernel, initrd} {
		if _, err := os.Stat(f); err != nil {
			t.Skipf("LINUX SCENARIO SKIPPED: %s is missing; run scripts/guest-images to fetch Debian's kernel and busybox", f)
		}
	}
	return kernel, initrd
}

// linuxMachine offers one Linux guest per entry of vcpus.
func linuxMachine(t *testing.T, vcpus ...int) qemu.Machine {
	kernel, initrd := linuxImages(t)
	m := standardMachine(t)
	m.Files = map[string]string{}
	for i, n := range vcpus {
		name := virt.FwCfgGuestPrefix + strconv.Itoa(i)
		m.Files[name] = kernel
		m.Files[name+".initrd"] = initrd
		args := fmt.Sprintf("vcpus=%d\nram=%d\nbootargs=%s\n", n, linuxRAMMiB, linuxCmdline)
		path := filepath.Join(t.TempDir(), strconv.Itoa(i)+".args")
		require.NoError(t, os.WriteFile(path, []byte(args), 0o644))
		m.Files[name+".args"] = path
	}
	return m
}

// vmLines returns the console lines of vm, without its prefix.
func vmLines(console, vm string) []string {
	var out []string
	prefix := "[" + vm + "] "
	for _, l := range lines(console) {
		if rest, ok := strings.CutPrefix(l, prefix); ok {
			out = append(out, rest)
		}
	}
	return out
}

// interruptRow matches a /proc/interrupts row: "11:  268  214  GICv3 27 ...".
var interruptRow = regexp.MustCompile(`^\s*\d+:(\s+\d+)+\s+GICv3`)

// timerTicks sums the arch_timer row of /proc/interrupts as the guest
// printed it (one column per CPU).
func timerTicks(t *testing.T, guestLines []string) (total int) {
	for _, l := range guestLines {
		if !strings.HasSuffix(strings.TrimSpace(l), "arch_timer") || !interruptRow.MatchString(l) {
			continue
		}
		fields := strings.Fields(l)
		for _, f := range fields[1:] {
			n, err := strconv.Atoi(f)
			if err != nil {
				break
			}
			total += n
		}
		return total
	}
	t.Fatalf("no arch_timer row in /proc/interrupts")
	return 0
}

func requireLinuxUserspace(t *testing.T, console, vm string, cpus int) {
	t.Helper()
	got := vmLines(console, vm)
	all := strings.Join(got, "\n")
	require.Contains(t, all, linuxMarker)
	require.Regexp(t, regexp.MustCompile(`GICv3: CPU0: found redistributor 0`), all)
	require.Contains(t, all, fmt.Sprintf("BULKHEAD-CPUS %d", cpus))
	require.Greater(t, timerTicks(t, got), 0, "the virtual timer ticked")
	requireVMPoweredOff(t, console, "vm"+strings.TrimPrefix(vm, "vm"))
}

// TestLinuxBootsToUserspace boots Debian's kernel on one vCPU: the GIC and
// the timer work, userspace runs, the guest powers off, and every page
// comes back zeroed.
func TestLinuxBootsToUserspace(t *testing.T) {
	res := bootLinux(t, 1)
	requireLinuxUserspace(t, res.Console, "vm0", 1)
	requireInOrder(t, res.Console, "hypervisor: vm0: reading its memory at", "raised an abort")
	requireClean(t, res)
}

// TestLinuxBootsSMP brings up the secondary vCPUs through PSCI CPU_ON; the
// CPUs exchange IPIs through the SGI exit.
func TestLinuxBootsSMP(t *testing.T) {
	for _, cpus := range []int{2, 4} {
		t.Run(fmt.Sprintf("%d vCPUs", cpus), func(t *testing.T) {
			res := bootLinux(t, cpus)
			requireLinuxUserspace(t, res.Console, "vm0", cpus)
			all := strings.Join(vmLines(res.Console, "vm0"), "\n")
			require.Contains(t, all, fmt.Sprintf("smp: Brought up 1 node, %d CPUs", cpus))
			require.Regexp(t, regexp.MustCompile(`IPI1:(\s+\d*[1-9]\d*){`+fmt.Sprint(cpus)+`}\s+Function call`), all,
				"function-call IPIs arrived on every CPU")
			requireClean(t, res)
		})
	}
}

// hostCPURuns matches the hypervisor's count of VCPU_RUN calls per host
// CPU for vm0.
var hostCPURuns = regexp.MustCompile(`hypervisor: vm vm0 ran on host CPUs \(VCPU_RUN calls on each\):((?: \d+)+)`)

// smpBootTimeout bounds a boot on a board with more CPUs than the machine
// running QEMU has cores: QEMU's threads then take turns, and a vCPU that
// waits for another (an IPI, a lock) waits for its thread too. It also
// bounds a Linux boot with more vCPUs than the board has CPUs: the
// hypervisor's slices take turns, and each character of the console's
// replay of the boot log is an exit, so the boot takes several times
// longer on a loaded machine (make test checks the proofs beside).
const smpBootTimeout = 5 * time.Minute

// linuxBootTimeout bounds a Linux boot to power-off, which takes 10 to 40
// seconds on an idle two-core machine and several times that on one busy
// with the proofs (make test runs them beside the QEMU suite).
const linuxBootTimeout = 3 * time.Minute

// bootLinux boots Linux VMs with the given vCPU counts on the board the
// run chooses, bounded by linuxBootTimeout, or by smpBootTimeout when the
// VMs have more vCPUs in all than the board has CPUs.
func bootLinux(t *testing.T, vcpus ...int) qemu.Result {
	t.Helper()
	m := linuxMachine(t, vcpus...)
	total := 0
	for _, n := range vcpus {
		total += n
	}
	d := linuxBootTimeout
	if total > boardCPUs(t, m.CPUs) {
		d = smpBootTimeout
	}
	return bootWithin(t, m, d)
}

// TestLinuxOnEveryHostCPU boots Linux on 4 vCPUs on a 4-CPU board: the
// hypervisor runs vCPUs on every host CPU, every vCPU takes interrupts
// (function-call IPIs and timer ticks on each), and the guest reaches
// userspace and powers off cleanly.
func TestLinuxOnEveryHostCPU(t *testing.T) {
	const cpus = 4
	m := linuxMachine(t, cpus)
	m.CPUs = cpus
	res := bootWithin(t, m, smpBootTimeout)
	requireLinuxUserspace(t, res.Console, "vm0", cpus)
	require.Contains(t, res.Console, fmt.Sprintf("hypervisor: %d host CPUs run vCPUs", cpus))
	all := strings.Join(vmLines(res.Console, "vm0"), "\n")
	require.Regexp(t, regexp.MustCompile(`IPI1:(\s+\d*[1-9]\d*){`+fmt.Sprint(cpus)+`}\s+Function call`), all,
		"function-call IPIs arrived on every vCPU")
	got := hostCPURuns.FindStringSubmatch(res.Console)
	require.NotNil(t, got, "the hypervisor's runs per host CPU")
	runs := strings.Fields(got[1])
	require.Len(t, runs, cpus)
	for c, n := range runs {
		require.NotEqual(t, "0", n, "host CPU %d ran no vCPU (runs per CPU:%s)", c, got[1])
	}
	requireClean(t, res)
}

// TestTwoLinuxVMsAtOnce runs two Linux guests side by side, each on its own
// console, both to userspace.
func TestTwoLinuxVMsAtOnce(t *testing.T) {
	res := bootLinux(t, 1, 1)
	requireLinuxUserspace(t, res.Console, "vm0", 1)
	requireLinuxUserspace(t, res.Console, "vm1", 1)
	requireClean(t, res)
}
