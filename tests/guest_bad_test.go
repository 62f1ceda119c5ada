package tests

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"bulkhead/boot/virt"
)

// TestBadGuestsAreRefusedAndOthersRun offers the hypervisor guests it must
// not run beside one it must: an ELF for another machine, an image larger
// than the VM, and bad arguments. Each is refused with its reason, alone;
// the good guest runs and the machine powers off cleanly.
func TestBadGuestsAreRefusedAndOthersRun(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, data, 0o644))
		return p
	}
	m := standardMachine(t)
	m.Files = map[string]string{
		virt.FwCfgGuestPrefix + "0":      write("x86.elf", elfImage(emX86_64, virt.GuestText, versionPrinter())),
		virt.FwCfgGuestPrefix + "1":      write("big.bin", make([]byte, 5<<20)),
		virt.FwCfgGuestPrefix + "1.args": write("1.args", []byte("ram=4\n")),
		virt.FwCfgGuestPrefix + "2":      image(t, guestImage("hello")),
		virt.FwCfgGuestPrefix + "3":      image(t, guestImage("hello")),
		virt.FwCfgGuestPrefix + "3.args": write("3.args", []byte("vcpus=many\n")),
	}
	res := boot(t, m)
	requireLine(t, res.Console, "hypervisor: vm vm0 ended: refused: vmm: vm0:", "EM_AARCH64")
	requireLine(t, res.Console, "hypervisor: vm vm1 ended: refused: vmm: vm1:", "does not fit in guest RAM")
	requireLine(t, res.Console, "hypervisor: vm vm3 ended: refused: guest 3:", "vcpus must be")
	requireInOrder(t, res.Console, "[vm2] hello from a guest")
	requireVMPoweredOff(t, res.Console, "vm2")
	requireInOrder(t, res.Console, "hypervisor: guests FAILED", "engine: host requested power off")
	requireClean(t, res)
}
