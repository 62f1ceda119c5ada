package tests

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"bulkhead/boot/virt"
	"bulkhead/hypervisor/outcome"
	"bulkhead/internal/qemu"
)

// Images built with the guest SDK: guests (bulkhead_guest layout) and the
// host-side conformance image the engine boots in place of the hypervisor.
var (
	abiGuest       = goTestGuest("abi")
	isolationGuest = goTestGuest("isolation")
	spinGuest      = guestImage("spin")
	hostTests      = qemu.Image{Name: "hosttests", Pkg: "./tests/hosttests", Text: virt.HostText, Test: true}
)

func guestImage(name string) qemu.Image {
	return qemu.Image{Name: "guest-" + name, Pkg: "./cmd/guests/" + name, Text: virt.GuestText, Tags: []string{"bulkhead_guest"}}
}

// goTestGuest is the test binary of tests/guests/<name>: a guest whose
// tests are ordinary Go tests, run with -test.v (goTestArgs) so that
// guesttest.RunGoTest reads each one's outcome off the console.
func goTestGuest(name string) qemu.Image {
	return qemu.Image{Name: "guest-test-" + name, Pkg: "./tests/guests/" + name, Text: virt.GuestText,
		Tags: []string{"bulkhead_guest"}, Test: true}
}

// goTestArgs is the argument file line that runs a guest test binary
// verbosely, with more arguments if given.
func goTestArgs(args ...string) string {
	return "bootargs=" + strings.Join(append([]string{"-test.v"}, args...), " ") + "\n"
}

// abiArgs gives the ABI guest what its tests need: a second vCPU for
// CPU_ON, and RAM beyond the runtime's for pages to share and relinquish.
var abiArgs = "vcpus=2\nram=128\n" + goTestArgs()

// vmGuest is one guest of a machine: an image and its argument file.
type vmGuest struct {
	image qemu.Image
	args  string // contents of <n>.args; empty: none
}

// guestMachine is the standard machine with guest n taken from guests[n]:
// fw_cfg files opt/bulkhead/guest/<n> and, with arguments, <n>.args.
func guestMachine(t *testing.T, guests ...vmGuest) qemu.Machine {
	m := standardMachine(t)
	m.Files = map[string]string{}
	for i, g := range guests {
		n := strconv.Itoa(i)
		m.Files[virt.FwCfgGuestPrefix+n] = image(t, g.image)
		if g.args != "" {
			path := filepath.Join(t.TempDir(), n+".args")
			require.NoError(t, os.WriteFile(path, []byte(g.args), 0o644))
			m.Files[virt.FwCfgGuestPrefix+n+".args"] = path
		}
	}
	return m
}

// requireVMPoweredOff checks that vm ended by powering off and that all of
// its pages were reclaimed and checked zero.
func requireVMPoweredOff(t *testing.T, console, vm string) {
	t.Helper()
	requireLine(t, console, fmt.Sprintf("hypervisor: vm %s (id", vm), "ended: powered off")
	requireLine(t, console, fmt.Sprintf("hypervisor: vm %s: ", vm), "pages reclaimed, all zero")
}

// requireExitStatus checks that vm powered off with status want (os.Exit
// inside the guest; a test binary exits 1 when a test failed).
func requireExitStatus(t *testing.T, console, vm string, want int) {
	t.Helper()
	for _, l := range lines(console) {
		if g, ok := outcome.ParseLine(l); ok && g.VM == vm {
			require.Equal(t, outcome.PoweredOff, g.Kind, "%s: %s", vm, l)
			require.Equal(t, want, g.Status, "%s: %s", vm, l)
			return
		}
	}
	require.Failf(t, "no end line", "the console has no line saying how %s ended", vm)
}

// requireLine checks that some line holds both fragments.
func requireLine(t *testing.T, console, a, b string) {
	t.Helper()
	for _, l := range lines(console) {
		if bytes.Contains([]byte(l), []byte(a)) && bytes.Contains([]byte(l), []byte(b)) {
			return
		}
	}
	require.Failf(t, "console lacks a line", "no line holds both %q and %q", a, b)
}
