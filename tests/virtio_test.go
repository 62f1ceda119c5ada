package tests

import (
	"crypto/rand"
	"crypto/sha256"
	hexenc "encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"bulkhead/boot/virt"
	"bulkhead/hypervisor/outcome"
	"bulkhead/hypervisor/virtio"
	"bulkhead/internal/qemu"
	"bulkhead/tests/guesttest"
)

// The virtio scenarios boot Debian's kernel with the initramfs of
// scripts/guest-images, whose /virtio-check (run when the command line
// says bulkhead.virtio) loads the kernel package's virtio modules and
// prints what it finds on the entropy and block devices.

// virtioTimeout bounds a virtio scenario: a Linux boot plus module loading
// and disk reads, on a machine other tests load too.
const virtioTimeout = 300 * time.Second

const virtioCmdline = "console=ttyAMA0 bulkhead.virtio panic=-1"

// virtioImages returns the kernel and an initramfs that has /virtio-check,
// or skips loudly.
func virtioImages(t *testing.T) (kernel, initrd string) {
	kernel, initrd = linuxImages(t)
	if _, err := os.Stat(filepath.Join(filepath.Dir(initrd), "virtio-check")); err != nil {
		t.Skipf("LINUX SCENARIO SKIPPED: the initramfs has no /virtio-check; rerun scripts/guest-images")
	}
	return kernel, initrd
}

// testDisk is a disk image of random sectors, with a marker at the start.
type testDisk struct {
	path, marker, sha string
}

func newTestDisk(t *testing.T, name string, sectors int) testDisk {
	data := make([]byte, sectors*512)
	_, err := rand.Read(data)
	require.NoError(t, err)
	marker := "BULKHEAD-" + strings.ToUpper(name) + "-" + hexenc.EncodeToString(data[:8])
	copy(data, marker)
	data[len(marker)] = '\n'
	path := filepath.Join(t.TempDir(), name+".img")
	require.NoError(t, os.WriteFile(path, data, 0o644))
	sum := sha256.Sum256(data)
	return testDisk{path, marker, hexenc.EncodeToString(sum[:])}
}

// virtioMachine offers one Linux guest with the given argument lines and
// files (relative names such as "0.disk0"), and a fresh entropy seed.
func virtioMachine(t *testing.T, args string, files map[string]string) qemu.Machine {
	return virtioGuests(t, []string{"bootargs=" + virtioCmdline + "\n" + args}, files)
}

// virtioGuests offers one Linux guest per argument text.
func virtioGuests(t *testing.T, args []string, files map[string]string) qemu.Machine {
	kernel, initrd := virtioImages(t)
	m := standardMachine(t)
	dir := t.TempDir()
	p := virt.FwCfgGuestPrefix
	m.Files = map[string]string{}
	for i, a := range args {
		n := fmt.Sprint(i)
		m.Files[p+n], m.Files[p+n+".initrd"] = kernel, initrd
		argsPath := filepath.Join(dir, n+".args")
		require.NoError(t, os.WriteFile(argsPath, []byte(fmt.Sprintf("ram=%d\n%s", linuxRAMMiB, a)), 0o644))
		m.Files[p+n+".args"] = argsPath
	}
	seed := make([]byte, 32)
	_, err := rand.Read(seed)
	require.NoError(t, err)
	seedPath := filepath.Join(dir, "entropy")
	require.NoError(t, os.WriteFile(seedPath, seed, 0o644))
	m.Files[p+"entropy"] = seedPath
	for name, path := range files {
		m.Files[p+name] = path
	}
	return m
}

// guestValue returns what follows prefix on the first VM console line
// that starts with it.
func guestValue(t *testing.T, console, prefix string) string {
	t.Helper()
	return vmValue(t, console, "vm0", prefix)
}

func vmValue(t *testing.T, console, vm, prefix string) string {
	t.Helper()
	for _, l := range vmLines(console, vm) {
		if rest, ok := strings.CutPrefix(l, prefix); ok {
			return strings.TrimSpace(rest)
		}
	}
	t.Fatalf("%s printed no %q line", vm, prefix)
	return ""
}

// TestVirtioOnASharedMemoryVM boots Debian's unmodified kernel as a
// shared-memory VM with the entropy device and two disks, one writable in
// memory and one read-only: the guest reads random bytes from /dev/hwrng,
// reads both disks whole (their SHA-256 is the host file's), writes a
// sector of the first and reads it back; the host's files do not change.
func TestVirtioOnASharedMemoryVM(t *testing.T) {
	rw, ro := newTestDisk(t, "disk0", 2048), newTestDisk(t, "disk1", 128)
	m := virtioMachine(t, "memory=shared\n", map[string]string{"0.disk0": rw.path, "0.disk1.ro": ro.path})
	res := bootWithin(t, m, virtioTimeout)

	requireInOrder(t, res.Console,
		"hypervisor: vm0 created: id 1, shared-memory",
		"hypervisor: vm0: virtio-mmio: virtio-rng at 0x9200000",
		"hypervisor: vm0: its memory at", // readable by the host
	)
	require.Contains(t, res.Console, "is readable by the host")
	assert.Equal(t, "virtio_rng.0", guestValue(t, res.Console, "VIRTIO-RNG-CURRENT"))
	rng := guestValue(t, res.Console, "VIRTIO-RNG-BYTES")
	require.Len(t, rng, 64, "32 bytes in hex")
	assert.NotEqual(t, strings.Repeat("0", 64), rng)

	assert.Equal(t, "2048 ro 0", guestValue(t, res.Console, "VIRTIO-BLK vda sectors"))
	assert.Equal(t, rw.marker, guestValue(t, res.Console, "VIRTIO-BLK vda sector0"))
	assert.Equal(t, rw.sha, guestValue(t, res.Console, "VIRTIO-BLK vda sha256"))
	assert.Equal(t, "BULKHEAD-WRITTEN-vda", guestValue(t, res.Console, "VIRTIO-BLK vda sector1"))
	assert.Equal(t, "128 ro 1", guestValue(t, res.Console, "VIRTIO-BLK vdb sectors"))
	assert.Equal(t, ro.sha, guestValue(t, res.Console, "VIRTIO-BLK vdb sha256"))
	assert.Equal(t, "failed 0", guestValue(t, res.Console, "VIRTIO-CHECK-DONE"))

	requireLine(t, res.Console, "hypervisor: vm vm0 (id 1)", "ended: powered off")
	requireLine(t, res.Console, "hypervisor: vm vm0: ", "pages unshared and wiped, all zero")
	require.NotContains(t, res.Console, "device needs reset")
	for _, d := range []testDisk{rw, ro} {
		data, err := os.ReadFile(d.path)
		require.NoError(t, err)
		sum := sha256.Sum256(data)
		assert.Equal(t, d.sha, hexenc.EncodeToString(sum[:]), "the host's disk file is unchanged")
	}
	requireClean(t, res)
}

// rngCheckImages returns the kernel and an initramfs that has /rng-check,
// or skips loudly.
func rngCheckImages(t *testing.T) {
	_, initrd := virtioImages(t)
	if _, err := os.Stat(filepath.Join(filepath.Dir(initrd), "rng-check")); err != nil {
		t.Skipf("LINUX SCENARIO SKIPPED: the initramfs has no /rng-check; rerun scripts/guest-images")
	}
}

// rngCheckGuest is a shared-memory Linux VM whose /init runs /rng-check
// first: the CRNG must not be ready when userspace starts, and loading
// the entropy drivers alone must make it ready (the kernel's hardware RNG
// thread reads virtio-rng and credits what it read). The guest powers off
// with the number of failed checks.
const rngCheckGuest = "memory=shared\ntimeout=120\nbootargs=console=ttyAMA0 bulkhead.rng-check panic=-1\n"

// TestVirtioRNGFeedsTheCRNGBeforeItIsReady: the guest reads virtio-rng
// (through the kernel's hardware RNG core) before its CRNG is ready, and
// the CRNG becomes ready from it, with nothing in userspace having read
// the kernel's random numbers.
func TestVirtioRNGFeedsTheCRNGBeforeItIsReady(t *testing.T) {
	rngCheckImages(t)
	res := bootWithin(t, virtioGuests(t, []string{rngCheckGuest}, nil), virtioTimeout)
	requireLine(t, res.Console, "hypervisor: vm0: virtio-mmio:", "virtio-rng at 0x9200000")
	requireInOrder(t, res.Console, "[vm0] RNG-CRNG-NOT-READY", "[vm0] RNG-CURRENT virtio_rng.0", "[vm0] RNG-CRNG-READY")
	assert.Equal(t, "failed 0", guestValue(t, res.Console, "RNG-CHECK-DONE"))
	requireExitStatus(t, res.Console, "vm0", 0)
	requireClean(t, res)
}

// TestVirtioRNGControlWithoutTheDevice is its control: the same guest on
// a machine given no entropy seed, so that the hypervisor offers no
// virtio-rng; the CRNG is still not ready when the wait ends, and the
// check fails. So the test above does depend on the device.
func TestVirtioRNGControlWithoutTheDevice(t *testing.T) {
	rngCheckImages(t)
	m := virtioGuests(t, []string{rngCheckGuest}, nil)
	delete(m.Files, virt.FwCfgGuestPrefix+"entropy")
	res := bootWithin(t, m, virtioTimeout)
	require.NotContains(t, res.Console, "virtio-rng at")
	requireLine(t, res.Console, "[vm0] RNG-CRNG-NOT-READY", "entropy_avail")
	assert.Equal(t, "none", guestValue(t, res.Console, "RNG-CURRENT"))
	failure := guestValue(t, res.Console, "RNG-FAIL")
	t.Log(failure)
	assert.Contains(t, failure, "the CRNG is not ready 30 s after")
	assert.Equal(t, "failed 1", guestValue(t, res.Console, "RNG-CHECK-DONE"))
	requireExitStatus(t, res.Console, "vm0", 1)
}

// TestVirtioProtectedVMGetsNoDevices is the same guest as a protected VM
// (the default): its memory is unreadable to the host, it gets no virtio
// device, and the guest's own check fails, with the status it counts.
func TestVirtioProtectedVMGetsNoDevices(t *testing.T) {
	res := bootWithin(t, virtioMachine(t, "", nil), virtioTimeout)
	requireInOrder(t, res.Console,
		"hypervisor: vm0 created: id 1, protected",
		"hypervisor: vm0: no virtio devices",
		"hypervisor: vm0: reading its memory at",
	)
	requireLine(t, res.Console, "hypervisor: vm0: reading its memory at", "raised an abort")
	assert.Contains(t, guestValue(t, res.Console, "VIRTIO-FAIL"), "no virtio entropy device")
	assert.Equal(t, "failed 1", guestValue(t, res.Console, "VIRTIO-CHECK-DONE"))
	require.NotContains(t, res.Console, "VIRTIO-BLK")
	requireLine(t, res.Console, "hypervisor: vm vm0 (id 1)", "ended: powered off, status 1")
	requireLine(t, res.Console, "hypervisor: vm vm0: ", "pages reclaimed, all zero")
}

// TestVirtioDisksNeedASharedMemoryVM: the hypervisor refuses a protected
// guest given a disk, before it creates the VM.
func TestVirtioDisksNeedASharedMemoryVM(t *testing.T) {
	d := newTestDisk(t, "disk0", 8)
	res := bootWithin(t, virtioMachine(t, "memory=protected\n", map[string]string{"0.disk0": d.path}), bootTimeout)
	requireLine(t, res.Console, "vm0", "disks need memory=shared")
	require.NotContains(t, res.Console, "[vm0]")
}

// TestVirtioHostileDriverLeavesOthersRunning runs two shared-memory VMs:
// vm0 drives its entropy device's registers as a hostile driver would
// (busybox devmem: bad queue sizes, rings outside RAM or across its end,
// misaligned rings, a queue that does not exist, features without
// VERSION_1), and each bad ring must be refused; then it loads the
// drivers, which reset the device, and must read random bytes all the
// same. vm1 uses its entropy device and a disk meanwhile, untouched.
func TestVirtioHostileDriverLeavesOthersRunning(t *testing.T) {
	d := newTestDisk(t, "disk0", 256)
	m := virtioGuests(t, []string{
		"memory=shared\nbootargs=" + virtioCmdline + " bulkhead.virtio-attack\n",
		"memory=shared\nbootargs=" + virtioCmdline + "\n",
	}, map[string]string{"1.disk0": d.path})
	res := bootWithin(t, m, virtioTimeout)

	assert.Equal(t, "failed 0", vmValue(t, res.Console, "vm0", "VIRTIO-ATTACK-DONE"))
	refused := 0
	for _, l := range lines(res.Console) {
		if strings.HasPrefix(l, "hypervisor: vm vm0: virtio-rng: device needs reset:") {
			refused++
		}
	}
	assert.Equal(t, 4, refused, "one line per refused ring")
	require.NotContains(t, res.Console, "hypervisor: vm vm1: virtio-rng: device needs reset")
	for _, vm := range []string{"vm0", "vm1"} {
		assert.Equal(t, "failed 0", vmValue(t, res.Console, vm, "VIRTIO-CHECK-DONE"), vm)
		requireLine(t, res.Console, "hypervisor: vm "+vm+" (id", "ended: powered off")
	}
	assert.Equal(t, d.sha, vmValue(t, res.Console, "vm1", "VIRTIO-BLK vda sha256"))
	requireClean(t, res)
}

// TestVirtioNetBetweenTwoVMs runs two shared-memory VMs on the run's
// switch: vm1 pings vm0 and sends it a random word over TCP, which vm0
// prints. Each sees the MAC address derived from its name.
func TestVirtioNetBetweenTwoVMs(t *testing.T) {
	word := make([]byte, 12)
	_, err := rand.Read(word)
	require.NoError(t, err)
	send := hexenc.EncodeToString(word)
	m := virtioGuests(t, []string{
		"memory=shared\ntimeout=240\nbootargs=" + virtioCmdline + " bulkhead.ip=10.0.2.1\n",
		"memory=shared\ntimeout=240\nbootargs=" + virtioCmdline + " bulkhead.ip=10.0.2.2 bulkhead.peer=10.0.2.1 bulkhead.send=" + send + "\n",
	}, nil)
	res := bootWithin(t, m, virtioTimeout)

	for i, vm := range []string{"vm0", "vm1"} {
		mac := virtio.NetMAC(vm)
		want := fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x 10.0.2.%d", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5], i+1)
		assert.Equal(t, want, vmValue(t, res.Console, vm, "VIRTIO-NET eth0"), vm)
		assert.Equal(t, "failed 0", vmValue(t, res.Console, vm, "VIRTIO-CHECK-DONE"), vm)
		requireLine(t, res.Console, "hypervisor: vm "+vm+" (id", "ended: powered off")
		requireLine(t, res.Console, "hypervisor: vm "+vm+": virtio-net", "frames sent")
	}
	for _, l := range lines(res.Console) {
		if strings.Contains(l, ": virtio-net ") {
			t.Log(l)
		}
	}
	assert.Equal(t, "3", vmValue(t, res.Console, "vm1", "VIRTIO-NET ping"), "three echo replies")
	assert.Equal(t, send, vmValue(t, res.Console, "vm0", "VIRTIO-NET got"))
	require.NotContains(t, res.Console, "device needs reset")
	requireClean(t, res)
}

// TestVirtioRootOnDisk boots Debian's kernel with root=/dev/vda on the
// ext4 image of scripts/guest-images: the initramfs loads the virtio
// modules and switches to the disk, whose own init runs a script from the
// disk that writes a file and reads it back past the page cache. The
// image on the host is not changed.
func TestVirtioRootOnDisk(t *testing.T) {
	kernel, _ := virtioImages(t)
	rootfs := filepath.Join(filepath.Dir(kernel), "rootfs.ext4")
	before, err := os.ReadFile(rootfs)
	if err != nil {
		t.Skipf("LINUX SCENARIO SKIPPED: %s is missing; rerun scripts/guest-images", rootfs)
	}
	m := virtioGuests(t, []string{"memory=shared\ntimeout=240\nbootargs=console=ttyAMA0 root=/dev/vda bulkhead.check panic=-1\n"},
		map[string]string{"0.disk0": rootfs})
	res := bootWithin(t, m, virtioTimeout)

	assert.True(t, strings.HasPrefix(guestValue(t, res.Console, "BULKHEAD-ROOTFS "), "/dev/vda / ext4 rw"), "root is the disk")
	words := strings.Fields(guestValue(t, res.Console, "BULKHEAD-ROOTFS-READBACK"))
	require.Len(t, words, 4, "wrote W read R")
	assert.Len(t, words[1], 32)
	assert.Equal(t, words[1], words[3], "the file read back is the one written")
	assert.Equal(t, "status 0", guestValue(t, res.Console, "BULKHEAD-ROOTFS-CHECK"))
	requireLine(t, res.Console, "hypervisor: vm vm0 (id", "ended: powered off")
	after, err := os.ReadFile(rootfs)
	require.NoError(t, err)
	assert.Equal(t, sha256.Sum256(before), sha256.Sum256(after), "the image on the host is unchanged")
	requireClean(t, res)
}

// virtioGuest is the protected VM that drives the devices by hand
// (tests/guests/virtio).
var virtioGuest = goTestGuest("virtio")

// protectedVirtioMachine runs the virtio guest as a protected VM with the
// given argument lines, an entropy seed and a random disk of 16 sectors;
// the guest is told one sector and its SHA-256.
func protectedVirtioMachine(t *testing.T, args string, testArgs ...string) qemu.Machine {
	d := newTestDisk(t, "disk0", 16)
	data, err := os.ReadFile(d.path)
	require.NoError(t, err)
	var pick [1]byte
	_, err = rand.Read(pick[:])
	require.NoError(t, err)
	sector := 1 + int(pick[0])%15
	sum := sha256.Sum256(data[sector*512 : (sector+1)*512])
	testArgs = append(testArgs, fmt.Sprintf("-sector=%d", sector), "-sha256="+hexenc.EncodeToString(sum[:]))
	m := guestMachine(t, vmGuest{virtioGuest, "ram=128\n" + args + goTestArgs(testArgs...)})
	seed := make([]byte, 32)
	_, err = rand.Read(seed)
	require.NoError(t, err)
	seedPath := filepath.Join(t.TempDir(), "entropy")
	require.NoError(t, os.WriteFile(seedPath, seed, 0o644))
	m.Files[virt.FwCfgGuestPrefix+"entropy"] = seedPath
	m.Files[virt.FwCfgGuestPrefix+"0.disk0"] = d.path
	return m
}

// TestVirtioProtectedGuestSharesItsBuffers runs the SDK guest of
// tests/guests/virtio as a protected VM with virtio=on: it shares its ring
// and buffer pages and reads a sector of its disk (the bytes the host
// wrote), a request into a page it did not share fails with IOERR and
// leaves the page private, and the device works on; rings or a status
// byte it did not share make the device ask for a reset, once each. Its
// memory stays unreadable to the hypervisor, which checks so at creation.
func TestVirtioProtectedGuestSharesItsBuffers(t *testing.T) {
	res := boot(t, protectedVirtioMachine(t, "virtio=on\n"))
	r := guesttest.RunGoTest(t, res, "vm0")
	require.Equal(t, "PASS", r.Result)
	requireInOrder(t, res.Console,
		"hypervisor: vm0 created: id 1, protected",
		"hypervisor: vm0: virtio-mmio: virtio-rng at 0x9200000",
		"hypervisor: vm0: reading its memory at",
	)
	requireLine(t, res.Console, "hypervisor: vm0: virtio-mmio:", "virtio-blk at 0x9200400 (INTID 50) 16 sectors")
	requireLine(t, res.Console, "hypervisor: vm0: reading its memory at", "raised an abort")
	var resets []string
	for _, l := range lines(res.Console) {
		if strings.HasPrefix(l, "hypervisor: vm vm0: virtio-blk: device needs reset:") {
			resets = append(resets, l)
		}
	}
	require.Len(t, resets, 2, "the private status byte and the private queue")
	assert.Contains(t, resets[0]+resets[1], "no writable status byte the device can reach")
	assert.Contains(t, resets[0]+resets[1], "is not shared with the host")
	requireExitStatus(t, res.Console, "vm0", 0)
	requireVMPoweredOff(t, res.Console, "vm0")
	requireClean(t, res)
}

// TestVirtioProtectedGuestWithoutVirtioOnFindsNoDevice is the same guest
// without virtio=on: a protected VM gets no device, so its tests fail,
// which shows they can.
func TestVirtioProtectedGuestWithoutVirtioOnFindsNoDevice(t *testing.T) {
	d := protectedVirtioMachine(t, "", "-test.run=^TestBlockReadsASectorThroughSharedPages$")
	delete(d.Files, virt.FwCfgGuestPrefix+"0.disk0") // refused without virtio=on
	res := boot(t, d)
	r := guesttest.ParseGoTest(res.Console)["vm0"]
	require.NotNil(t, r, "no report from vm0")
	require.Len(t, r.Cases, 1)
	assert.Equal(t, guesttest.Failed, r.Cases[0].Outcome)
	assert.Contains(t, r.Cases[0].Message, "no virtio device 2")
	requireLine(t, res.Console, "hypervisor: vm0:", "no virtio devices")
	requireExitStatus(t, res.Console, "vm0", 1)
	requireVMPoweredOff(t, res.Console, "vm0")
}

// TestVirtioProtectedGuestControlUncheckedHypervisor is the control for
// TestVirtioProtectedGuestSharesItsBuffers: a hypervisor built to skip the
// ledger (tag bulkhead_unchecked_virtio) hands its device a private page,
// whose access the engine refuses at stage 2, and the guest's tests do not
// pass. So the test above does detect a hypervisor that forgot the check.
func TestVirtioProtectedGuestControlUncheckedHypervisor(t *testing.T) {
	unchecked := qemu.Hypervisor
	unchecked.Name, unchecked.Tags = "hypervisor-unchecked-virtio", append(append([]string(nil), unchecked.Tags...), "bulkhead_unchecked_virtio")
	m := protectedVirtioMachine(t, "virtio=on\n")
	m.EL1 = image(t, unchecked)
	res := boot(t, m)
	requireLine(t, res.Console, "engine: host stage-2 fault:", "(pool)")
	r := guesttest.ParseGoTest(res.Console)["vm0"]
	require.NotNil(t, r, "no report from vm0")
	assert.NotEqual(t, "PASS", r.Result)
}

// TestRunVirtioFlagGivesAProtectedKernelItsDisk runs the SDK guest of
// tests/guests/virtio through the bulkhead command, as -kernel with
// -virtio and -disk: the VM is protected, has its devices and its disk,
// reads the sector it was told through pages it shares, and the run's
// status is the guest's 0. (Without -virtio the same command line is
// refused before QEMU starts: cmd/bulkhead's unit tests.)
func TestRunVirtioFlagGivesAProtectedKernelItsDisk(t *testing.T) {
	d := newTestDisk(t, "disk0", 16)
	data, err := os.ReadFile(d.path)
	require.NoError(t, err)
	sum := sha256.Sum256(data[5*512 : 6*512])
	out, status := runBulkhead(t, "-kernel", image(t, virtioGuest), "-virtio", "-ram", "128", "-disk", d.path+",ro",
		"-append", "-test.v -test.run=^TestBlockReadsASectorThroughSharedPages$ -sector=5 -sha256="+hexenc.EncodeToString(sum[:]))
	requireInOrder(t, out,
		"hypervisor: vm0 created: id 1, protected",
		"hypervisor: vm0: virtio-mmio: virtio-rng at 0x9200000",
		"hypervisor: vm0: reading its memory at",
		"[vm0] --- PASS: TestBlockReadsASectorThroughSharedPages",
	)
	requireLine(t, out, "hypervisor: vm0: virtio-mmio:", "virtio-blk at 0x9200400 (INTID 50) 16 sectors read-only")
	require.Equal(t, outcome.StatusOK, status)
}

// TestGoTestGuestWithADisk runs the guest package tests/guests/virtio with
// bulkhead test -disk: go test builds it, bulkhead exec boots each test
// binary as a protected VM with virtio=on and the disk, and the test that
// reads a sector through shared pages passes. Its control is the same
// command without -disk: the VM has no devices and the test fails.
func TestGoTestGuestWithADisk(t *testing.T) {
	d := newTestDisk(t, "disk0", 16)
	data, err := os.ReadFile(d.path)
	require.NoError(t, err)
	sum := sha256.Sum256(data[7*512 : 8*512])
	goTest := func(flags ...string) (string, int) {
		args := append(append([]string{"test"}, flags...), "-count=1", "-v", "-run", "^TestBlockReadsASectorThroughSharedPages$",
			"./tests/guests/virtio", "-args", "-sector=7", "-sha256="+hexenc.EncodeToString(sum[:]))
		cmd := exec.Command(bulkheadCommand(t), args...)
		cmd.Dir = images.builder.Root
		return runBounded(t, cmd, 3*bootTimeout)
	}
	out, status := goTest("-disk", d.path+",ro")
	require.Contains(t, out, "--- PASS: TestBlockReadsASectorThroughSharedPages")
	require.Equal(t, 0, status)

	out, status = goTest()
	require.Contains(t, out, "--- FAIL: TestBlockReadsASectorThroughSharedPages")
	require.Contains(t, out, "no virtio device 2")
	require.NotEqual(t, 0, status)
}
