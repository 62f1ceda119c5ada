package main

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"bulkhead/boot/virt"
)

// tinyELF is an ELF64 header with one empty program header: enough for
// debug/elf, with the machine, the entry and extra bytes chosen.
func tinyELF(machine elf.Machine, entry uint64, extra string) []byte {
	var b bytes.Buffer
	h := elf.Header64{Type: uint16(elf.ET_EXEC), Machine: uint16(machine), Version: 1, Entry: entry,
		Phoff: 64, Ehsize: 64, Phentsize: 56, Phnum: 1}
	copy(h.Ident[:], elf.ELFMAG)
	h.Ident[elf.EI_CLASS], h.Ident[elf.EI_DATA], h.Ident[elf.EI_VERSION] = byte(elf.ELFCLASS64), byte(elf.ELFDATA2LSB), 1
	_ = binary.Write(&b, binary.LittleEndian, h)
	_ = binary.Write(&b, binary.LittleEndian, elf.Prog64{Type: uint32(elf.PT_NULL)})
	b.WriteString(extra)
	return b.Bytes()
}

// writer returns a function that writes files into a fresh directory.
func writer(t *testing.T) (dir string, write func(name string, data []byte) string) {
	dir = t.TempDir()
	return dir, func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, data, 0o755))
		return p
	}
}

func TestCheckGuestProgramSaysWhatIsWrong(t *testing.T) {
	dir, write := writer(t)
	marks := sdkMark + " " + layoutMark
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"script", []byte("#!/bin/sh\necho hi\n"), "not an ELF file"},
		{"x86", tinyELF(elf.EM_X86_64, virt.GuestText, marks), "built for EM_X86_64, not arm64"},
		{"host-layout", tinyELF(elf.EM_AARCH64, virt.HostText, marks), "not linked for the guest layout"},
		{"no-layout-tag", tinyELF(elf.EM_AARCH64, virt.GuestText, sdkMark), "not linked for the guest layout"},
		{"no-sdk", tinyELF(elf.EM_AARCH64, virt.GuestText, layoutMark), "without the guest SDK"},
	} {
		err := checkGuestProgram(write(c.name, c.data))
		require.ErrorContains(t, err, c.want, c.name)
		assert.Equal(t, 2, exitStatus(err), c.name)
	}
	assert.NoError(t, checkGuestProgram(write("good", tinyELF(elf.EM_AARCH64, virt.GuestText, marks))))
	assert.ErrorContains(t, checkGuestProgram(filepath.Join(dir, "missing")), "not a readable file")
}

func TestExecFlagsAreCheckedBeforeAnyMachine(t *testing.T) {
	t.Setenv("TAMAGO", "/nonexistent/go")
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "no program to run"},
		{[]string{"-ram", "3", "x"}, "-ram must be"},
		{[]string{"-vcpus", "0", "x"}, "-vcpus must be"},
		{[]string{"-vcpus", "9", "x"}, "-vcpus must be"},
		{[]string{"-timeout", "soon", "x"}, "invalid value"},
		{[]string{"/does/not/exist", "-test.v"}, "not a readable file"},
	} {
		err := execGuest(c.args, new(bytes.Buffer))
		require.ErrorContains(t, err, c.want, "%v", c.args)
		assert.Equal(t, 2, exitStatus(err))
	}
}

// TestTestFlagsSplit: bulkhead test's own flags are taken off the front
// and checked; everything from the first other argument is go test's.
func TestTestFlagsSplit(t *testing.T) {
	for _, c := range []struct {
		args, exec, rest []string
	}{
		{nil, nil, nil},
		{[]string{"-count=1", "./x"}, nil, []string{"-count=1", "./x"}},
		{[]string{"-host", "-vcpus", "2", "-ram=66", "-C", "d", "-v", "."}, []string{"-host=true", "-ram=66", "-vcpus=2"}, []string{"-C", "d", "-v", "."}},
		{[]string{"-vcpus=4"}, []string{"-vcpus=4"}, nil},
		{[]string{"-virtio", "-run", "X"}, []string{"-virtio=true"}, []string{"-run", "X"}},
		{[]string{"-v", "-vcpus", "2"}, nil, []string{"-v", "-vcpus", "2"}},
	} {
		exec, rest, err := testExecFlags(c.args)
		require.NoError(t, err, "%q", c.args)
		assert.Equal(t, c.exec, exec, "%q", c.args)
		assert.Equal(t, c.rest, rest, "%q", c.args)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-vcpus", "0", "."}, "-vcpus must be"},
		{[]string{"-vcpus", "two", "."}, "bad flags"},
		{[]string{"-ram", "3"}, "-ram must be"},
		{[]string{"-vcpus"}, "bad flags"},
		{[]string{"-disk", "/does/not/exist", "."}, "not a readable file"},
		{[]string{"-host", "-virtio", "."}, "-host runs the program in place of the hypervisor"},
	} {
		_, _, err := testExecFlags(c.args)
		require.ErrorContains(t, err, c.want, "%q", c.args)
		assert.Equal(t, 2, exitStatus(err))
	}
}

func TestTestTimeoutFollowsGoTest(t *testing.T) {
	assert.Equal(t, 10*time.Minute, testTimeout(nil))
	assert.Equal(t, 90*time.Second, testTimeout([]string{"-test.v", "-test.timeout=1m30s"}))
	assert.Equal(t, 2*time.Second, testTimeout([]string{"-test.timeout", "2s"}))
	assert.Equal(t, 10*time.Minute, testTimeout([]string{"-test.timeout=0s"}), "0 means none; keep a bound")
}

func TestGuestRelayPassesOnlyTheGuestsLines(t *testing.T) {
	var out bytes.Buffer
	r := &guestRelay{out: &out, prefix: []byte("[vm0] ")}
	for _, p := range []string{"engine: up\r\n[vm0] === RUN", "   TestA\r\n[vm1] not mine\nhypervisor: x\n[vm0] --- PASS"} {
		_, _ = r.Write([]byte(p))
	}
	r.flush()
	assert.Equal(t, "=== RUN   TestA\n--- PASS", out.String())
	assert.Equal(t, "engine: up\n[vm1] not mine\nhypervisor: x\n", r.machine.String())
}

func TestCheckHostProgram(t *testing.T) {
	_, write := writer(t)
	assert.NoError(t, checkHostProgram(write("host", tinyELF(elf.EM_AARCH64, virt.HostText, sdkMark))))
	assert.ErrorContains(t, checkHostProgram(write("guest", tinyELF(elf.EM_AARCH64, virt.HostText, sdkMark+layoutMark))),
		"not linked for the host layout")
	assert.ErrorContains(t, checkHostProgram(write("low", tinyELF(elf.EM_AARCH64, virt.GuestText, sdkMark))),
		"not linked for the host layout")
}

func TestHostRelayKeepsTheEnginesLines(t *testing.T) {
	var out bytes.Buffer
	r := &guestRelay{out: &out, machineLines: hostMachineLines}
	_, _ = r.Write([]byte("bulkhead engine: EL2\nengine: host stage-2 built\n=== RUN   TestA\n[vm0] hi\nel1: exiting with code 1, powering off\n"))
	assert.Equal(t, "=== RUN   TestA\n[vm0] hi\n", out.String())
}

// TestTestDisksAreCheckedAndMadeAbsolute: bulkhead test checks each -disk
// as exec does, and passes it on with an absolute path, since go test
// runs exec in the package's directory.
func TestTestDisksAreCheckedAndMadeAbsolute(t *testing.T) {
	dir, write := writer(t)
	write("a.img", make([]byte, 1024))
	write("odd.img", make([]byte, 1000))
	t.Chdir(dir)
	exec, rest, err := testExecFlags([]string{"-disk", "a.img,ro", "-disk=a.img", "-v", "."})
	require.NoError(t, err)
	abs := filepath.Join(dir, "a.img")
	assert.Equal(t, []string{"-disk=" + abs + ",ro", "-disk=" + abs}, exec)
	assert.Equal(t, []string{"-v", "."}, rest)

	_, _, err = testExecFlags([]string{"-disk", "odd.img", "."})
	assert.ErrorContains(t, err, "whole number of 512-byte sectors")
	assert.Equal(t, 2, exitStatus(err))
	many := []string{}
	for range 9 {
		many = append(many, "-disk", "a.img")
	}
	_, _, err = testExecFlags(many)
	assert.ErrorContains(t, err, "at most 8 -disk")
}

// TestExecDisksGiveTheVMVirtio: a disk makes the VM's argument file ask
// for virtio=on, and the machine offers the disk and an entropy seed.
func TestExecDisksGiveTheVMVirtio(t *testing.T) {
	dir, write := writer(t)
	img := write("a.img", make([]byte, 1024))
	o := execOpts{engine: "e", hypervisor: "h", ramMiB: 128, vcpus: 1, cpus: 1, disks: []string{img + ",ro"}, virtio: true}
	require.NoError(t, o.checkLimits())
	m, _, err := o.machine(filepath.Join(dir, "0.args"), new(bytes.Buffer))
	require.NoError(t, err)
	assert.Equal(t, img, m.Files[virt.FwCfgGuestPrefix+"0.disk0.ro"])
	seed, err := os.ReadFile(m.Files[virt.FwCfgGuestPrefix+"entropy"])
	require.NoError(t, err)
	assert.Len(t, seed, 32)

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-host", "-disk", img, "x"}, "-host runs the program in place of the hypervisor"},
		{[]string{"-disk", filepath.Join(dir, "missing.img"), "x"}, "not a readable file"},
	} {
		_, err := parseExecFlags(c.args)
		require.ErrorContains(t, err, c.want, "%v", c.args)
		assert.Equal(t, 2, exitStatus(err))
	}
}
