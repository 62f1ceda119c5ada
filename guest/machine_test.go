package guest

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"bulkhead/boot/fdt"
	"bulkhead/boot/virt"
)

// tree builds a device tree like the one guests get: memory, cpus and
// chosen.
func tree(t *testing.T, ram virt.Region, cpus int, bootargs string) []byte {
	b := fdt.NewBuilder()
	b.BeginNode("")
	b.PropertyU32("#address-cells", 2)
	b.PropertyU32("#size-cells", 2)
	b.BeginNode("chosen")
	if bootargs != "" {
		b.PropertyString("bootargs", bootargs)
	}
	b.EndNode()
	b.BeginNode("memory@40000000")
	b.PropertyString("device_type", "memory")
	b.PropertyU64("reg", ram.Base, ram.Size)
	b.EndNode()
	b.BeginNode("cpus")
	b.PropertyU32("#address-cells", 1)
	b.PropertyU32("#size-cells", 0)
	for i := 0; i < cpus; i++ {
		b.BeginNode("cpu@" + string(rune('0'+i)))
		b.PropertyU32("reg", uint32(i))
		b.EndNode()
	}
	b.EndNode()
	b.EndNode()
	blob, err := b.Finish()
	require.NoError(t, err)
	return blob
}

func TestParseMachineReadsRAMCPUsAndBootargs(t *testing.T) {
	ram := virt.Region{Name: "ram", Base: virt.GuestRAMBase, Size: 128 << 20}
	m, err := ParseMachine(tree(t, ram, 2, "run=^PSCI quiet"))
	require.NoError(t, err)
	assert.Equal(t, ram, m.RAM)
	assert.Equal(t, 2, m.CPUs)
	assert.Equal(t, "run=^PSCI quiet", m.Bootargs)

	m, err = ParseMachine(tree(t, ram, 1, ""))
	require.NoError(t, err)
	assert.Equal(t, "", m.Bootargs)
}

func TestReadMachineBoundsTheBlobByItsHeader(t *testing.T) {
	ram := virt.Region{Name: "ram", Base: virt.GuestRAMBase, Size: 64 << 20}
	blob := tree(t, ram, 1, "run=x")
	const at = 0x43e0_0000
	var asked []uint64
	mem := func(addr, size uint64) []byte {
		asked = append(asked, addr, size)
		require.Equal(t, uint64(at), addr)
		// Bytes past the tree are garbage the reader must not need.
		return append(append([]byte(nil), blob...), make([]byte, 64)...)[:size]
	}
	m, err := ReadMachine(mem, at)
	require.NoError(t, err)
	assert.Equal(t, []uint64{at, 8, at, uint64(len(blob))}, asked)
	assert.Equal(t, virt.Region{Name: "device-tree", Base: at, Size: uint64(len(blob))}, m.DTB)
	assert.Equal(t, "run=x", m.Bootargs)
}

func TestDTSizeRefusesCorruptHeaders(t *testing.T) {
	head := func(magic, size uint32) []byte {
		b := binary.BigEndian.AppendUint32(nil, magic)
		return binary.BigEndian.AppendUint32(b, size)
	}
	size, err := DTSize(head(fdt.Magic, 4096))
	require.NoError(t, err)
	assert.Equal(t, uint64(4096), size)
	for _, h := range [][]byte{nil, head(0xfeedd00d, 4096), head(fdt.Magic, fdt.MaxSize+1), head(fdt.Magic, 8)} {
		_, err := DTSize(h)
		assert.Error(t, err, "% x", h)
	}
}

func TestParseMachineNeedsMemory(t *testing.T) {
	b := fdt.NewBuilder()
	b.BeginNode("")
	b.EndNode()
	blob, err := b.Finish()
	require.NoError(t, err)
	_, err = ParseMachine(blob)
	assert.ErrorContains(t, err, "no memory node")
}

func TestFreeAboveStopsAtTheDeviceTree(t *testing.T) {
	ram := virt.Region{Name: "ram", Base: 0x4000_0000, Size: 128 << 20}
	m := Machine{RAM: ram, DTB: virt.Region{Base: 0x47e0_0000, Size: 0x1000}}
	runtimeEnd := uint64(virt.GuestRAMBase + virt.GuestRuntimeRAM)
	assert.Equal(t, virt.Region{Name: "free", Base: runtimeEnd, Size: 0x47e0_0000 - runtimeEnd}, m.FreeAbove(runtimeEnd))

	small := Machine{RAM: virt.Region{Base: 0x4000_0000, Size: 64 << 20}, DTB: virt.Region{Base: 0x43e0_0000}}
	assert.Zero(t, small.FreeAbove(runtimeEnd).Size, "a 64 MiB guest has nothing above its runtime")

	elsewhere := Machine{RAM: ram, DTB: virt.Region{Base: 0x4000_0000}}
	assert.Equal(t, ram.End(), elsewhere.FreeAbove(0x4400_0001).End())
	assert.Equal(t, uint64(0x4400_1000), elsewhere.FreeAbove(0x4400_0001).Base, "rounded up to a page")
}

// TestParseMachineListsEveryMemoryRange: Memory has every range of every
// memory node, so that CheckRAMPrivate covers all the RAM the tree gives.
func TestParseMachineListsEveryMemoryRange(t *testing.T) {
	ram := virt.Region{Name: "ram", Base: virt.GuestRAMBase, Size: 64 << 20}
	m, err := ParseMachine(tree(t, ram, 1, ""))
	require.NoError(t, err)
	assert.Equal(t, []virt.Region{ram}, m.Memory)

	b := fdt.NewBuilder()
	b.BeginNode("")
	b.PropertyU32("#address-cells", 2)
	b.PropertyU32("#size-cells", 2)
	b.BeginNode("memory@40000000")
	b.PropertyU64("reg", 0x4000_0000, 0x100_0000, 0x8000_0000, 0x2000)
	b.EndNode()
	b.BeginNode("memory@c0000000")
	b.PropertyU64("reg", 0xc000_0000, 0x1000)
	b.EndNode()
	b.BeginNode("memory@d0000000")
	b.PropertyU32("reg", 1, 2, 3) // not (address, size) pairs
	b.EndNode()
	b.EndNode()
	blob, err := b.Finish()
	require.NoError(t, err)
	_, err = ParseMachine(blob)
	assert.ErrorContains(t, err, "memory@d0000000")

	// Without the broken node.
	b = fdt.NewBuilder()
	b.BeginNode("")
	b.BeginNode("memory@40000000")
	b.PropertyU32("reg", 0, 0x4000_0000, 0x100_0000, 0, 0x8000_0000, 0x2000)
	b.EndNode()
	b.BeginNode("memory@c0000000")
	b.PropertyU32("reg", 0, 0xc000_0000, 0x1000)
	b.EndNode()
	b.EndNode()
	blob, err = b.Finish()
	require.NoError(t, err)
	m, err = ParseMachine(blob)
	require.NoError(t, err)
	assert.Equal(t, []virt.Region{{Name: "ram", Base: 0x4000_0000, Size: 0x100_0000},
		{Name: "ram", Base: 0x8000_0000, Size: 0x2000}, {Name: "ram", Base: 0xc000_0000, Size: 0x1000}}, m.Memory)
}
