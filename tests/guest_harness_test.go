package tests

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"bulkhead/boot/virt"
	"bulkhead/internal/qemu"
)

// Images built with the guest SDK: guests (bulkhead_guest layout) and the
// host-side conformance image the engine boots in place of the hypervisor.
var (
	abiGuest       = guestImage("abi")
	isolationGuest = guestImage("isolation")
	spinGuest      = guestImage("spin")
	hostTests      = qemu.Image{Name: "hosttests", Pkg: "./cmd/hosttests", Text: virt.HostText}
)

func guestImage(name string) qemu.Image {
	return qemu.Image{Name: "guest-" + name, Pkg: "./cmd/guests/" + name, Text: virt.GuestText, Tags: []string{"bulkhead_guest"}}
}

// abiArgs gives the ABI guest what its tests need: a second vCPU for
// CPU_ON, and RAM beyond the runtime's for pages to share and relinquish.
const abiArgs = "vcpus=2\nram=128\n"

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
