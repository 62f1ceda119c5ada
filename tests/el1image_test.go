package tests

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"bulkhead/boot/virt"
	"bulkhead/internal/a64"
	"bulkhead/internal/qemu"
	"bulkhead/isolation/abi"
)

// elfImage returns an ELF64 AArch64 executable with one segment holding
// code at addr, entered at addr.
func elfImage(machine uint16, addr uint64, code []uint32) []byte {
	le := binary.LittleEndian
	const ehsize, phsize = 64, 56
	b := make([]byte, ehsize+phsize)
	copy(b, "\x7fELF\x02\x01\x01")
	le.PutUint16(b[16:], 2) // ET_EXEC
	le.PutUint16(b[18:], machine)
	le.PutUint32(b[20:], 1)
	le.PutUint64(b[24:], addr)
	le.PutUint64(b[32:], ehsize)
	le.PutUint16(b[52:], ehsize)
	le.PutUint16(b[54:], phsize)
	le.PutUint16(b[56:], 1)
	p := b[ehsize:]
	le.PutUint32(p, 1)     // PT_LOAD
	le.PutUint32(p[4:], 5) // R+X
	le.PutUint64(p[8:], uint64(len(b)))
	le.PutUint64(p[16:], addr)
	le.PutUint64(p[24:], addr)
	le.PutUint64(p[32:], uint64(4*len(code)))
	le.PutUint64(p[40:], uint64(4*len(code)))
	for _, insn := range code {
		b = le.AppendUint32(b, insn)
	}
	return b
}

// A64 encodings for the hand-made EL1 image (internal/a64).
var (
	movz, movk   = a64.MOVZ, a64.MOVK
	addImm, strb = a64.ADDImm, a64.STRB
	hvc0, smc0   = a64.HVC(0), a64.SMC(0)
)

const (
	branchSelf = a64.BSelf
	emAArch64  = 183
	emX86_64   = 62
)

// versionPrinter is a complete EL1 image in 18 instructions and no runtime:
// it asks the engine for VERSION over HVC, prints "v<major>.<minor>" on the
// UART from the registers the engine returned, and powers off with PSCI
// SYSTEM_OFF over SMC.
func versionPrinter() []uint32 {
	const x0, x1, x2, x9, x10 = 0, 1, 2, 9, 10
	putc := func(c uint32) []uint32 { return []uint32{movz(x10, c, 0), strb(x10, x9)} }
	code := []uint32{
		movz(x0, abi.Version&0xffff, 0), movk(x0, abi.Version>>16, 1), hvc0,
		movz(x9, virt.UARTBase>>16, 1),
	}
	code = append(code, putc('v')...)
	code = append(code, addImm(x1, x1, '0'), strb(x1, x9))
	code = append(code, putc('.')...)
	code = append(code, addImm(x2, x2, '0'), strb(x2, x9))
	code = append(code, putc('\n')...)
	return append(code, movz(x0, abi.PSCISystemOff&0xffff, 0), movk(x0, abi.PSCISystemOff>>16, 1), smc0, branchSelf)
}

func writeFile(t *testing.T, name string, data []byte) string {
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(path, data, 0o644))
	return path
}

// TestEngineBootsAnyEL1Image boots an EL1 image that shares nothing with
// bulkhead but the ABI: the engine is coupled to its EL1 image only through
// the calls.
func TestEngineBootsAnyEL1Image(t *testing.T) {
	el1 := writeFile(t, "version-printer.elf", elfImage(emAArch64, virt.HostText, versionPrinter()))
	res := boot(t, qemu.Machine{Engine: image(t, qemu.Engine), EL1: el1})
	requireInOrder(t, res.Console,
		"engine: host stage-2 built",
		fmt.Sprintf("v%d.%d", abi.VersionMajor, abi.VersionMinor),
		"engine: host requested power off")
	requireClean(t, res)
}

// TestMalformedEL1ImagesAreRefusedClearly offers images the engine must not
// boot; each gets a reason on the console and a clean power-off, never a
// hang or a partial boot.
func TestMalformedEL1ImagesAreRefusedClearly(t *testing.T) {
	code := versionPrinter()
	cases := []struct {
		name, image string
		data        []byte
		want        string
	}{
		{"text", "notes.txt", []byte("this is not an image\n"), "not an ELF file"},
		{"x86-64", "other.elf", elfImage(emX86_64, virt.HostText, code), "EM_AARCH64"},
		{"into engine memory", "engine.elf", elfImage(emAArch64, virt.EngineText, code), "outside the allowed window"},
		{"into the pool", "pool.elf", elfImage(emAArch64, virt.Pool.Base, code), "outside the allowed window"},
		{"truncated", "short.elf", elfImage(emAArch64, virt.HostText, code)[:100], "runs past"},
		{"oversized", "huge.elf", make([]byte, virt.MaxHostImage+1), "the engine accepts 1 to"},
		{"missing", "", nil, "no such file"},
	}
	engine := image(t, qemu.Engine)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := qemu.Machine{Engine: engine}
			if c.image != "" {
				m.EL1 = writeFile(t, c.image, c.data)
			}
			res := boot(t, m)
			requireInOrder(t, res.Console, "engine: cannot boot the EL1 image:", "engine: powering off")
			requireInOrder(t, res.Console, c.want)
			require.NotContains(t, res.Console, "host stage-2 built")
			requireClean(t, res)
		})
	}
}
