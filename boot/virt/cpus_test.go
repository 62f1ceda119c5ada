package virt

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"bulkhead/boot/fdt"
)

// cpuNode is one child of /cpus in a test tree.
type cpuNode struct {
	name, deviceType, method string
	reg                      []uint32
}

// cpusTree builds a tree whose /cpus has the given #address-cells (none
// when cells is 0) and children.
func cpusTree(t testing.TB, cells uint32, nodes ...cpuNode) []byte {
	b := fdt.NewBuilder()
	b.BeginNode("")
	b.BeginNode("cpus")
	if cells != 0 {
		b.PropertyU32("#address-cells", cells)
		b.PropertyU32("#size-cells", 0)
	}
	for _, n := range nodes {
		b.BeginNode(n.name)
		if n.deviceType != "" {
			b.PropertyString("device_type", n.deviceType)
		}
		if n.method != "" {
			b.PropertyString("enable-method", n.method)
		}
		if n.reg != nil {
			b.PropertyU32("reg", n.reg...)
		}
		b.EndNode()
	}
	b.EndNode()
	b.EndNode()
	blob, err := b.Finish()
	require.NoError(t, err)
	return blob
}

func psciCPU(name string, reg ...uint32) cpuNode {
	return cpuNode{name: name, deviceType: "cpu", method: "psci", reg: reg}
}

func TestCPUsReadsQEMUStyleTree(t *testing.T) {
	blob := cpusTree(t, 1,
		psciCPU("cpu@0", 0), psciCPU("cpu@1", 1), psciCPU("cpu@2", 2),
		cpuNode{name: "cpu-map"}, // not a cpu: no device_type
	)
	ids, err := CPUs(blob)
	require.NoError(t, err)
	assert.Equal(t, []uint64{0, 1, 2}, ids)
}

func TestCPUsReadsTwoCellAffinity(t *testing.T) {
	blob := cpusTree(t, 2, psciCPU("cpu@0", 0, 0), psciCPU("cpu@100000100", 1, 0x100))
	ids, err := CPUs(blob)
	require.NoError(t, err)
	assert.Equal(t, []uint64{0, 1<<32 | 0x100}, ids)
}

func TestCPUsRefusesMalformedTrees(t *testing.T) {
	nine := make([]cpuNode, MaxCPUs+1)
	for i := range nine {
		nine[i] = psciCPU("cpu@"+string(rune('0'+i)), uint32(i))
	}
	cases := map[string][]byte{
		"no #address-cells":     cpusTree(t, 0, psciCPU("cpu@0", 0)),
		"three address cells":   cpusTree(t, 3, psciCPU("cpu@0", 0, 0, 0)),
		"reg of the wrong size": cpusTree(t, 2, psciCPU("cpu@0", 0)),
		"no reg":                cpusTree(t, 1, cpuNode{name: "cpu@0", deviceType: "cpu", method: "psci"}),
		"spin-table":            cpusTree(t, 1, cpuNode{name: "cpu@0", deviceType: "cpu", method: "spin-table", reg: []uint32{0}}),
		"bits outside MPIDR":    cpusTree(t, 1, psciCPU("cpu@0", 0x0100_0000)),
		"the same CPU twice":    cpusTree(t, 1, psciCPU("cpu@0", 0), psciCPU("cpu@1", 0)),
		"no cpu at all":         cpusTree(t, 1, cpuNode{name: "cpu-map"}),
		"more than MaxCPUs":     cpusTree(t, 1, nine...),
		"not a device tree":     []byte("not a tree"),
	}
	for name, blob := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := CPUs(blob)
			assert.Error(t, err)
		})
	}
}

func TestCPUsNeedsACPUsNode(t *testing.T) {
	b := fdt.NewBuilder()
	b.BeginNode("")
	b.EndNode()
	blob, err := b.Finish()
	require.NoError(t, err)
	_, err = CPUs(blob)
	assert.ErrorContains(t, err, "no /cpus")
}

// FuzzCPUs: any blob gives a list or an error, never a panic, and a list
// is never empty, never too long and never repeats a CPU.
func FuzzCPUs(f *testing.F) {
	f.Add(cpusTree(f, 1, psciCPU("cpu@0", 0), psciCPU("cpu@1", 1)))
	f.Add(cpusTree(f, 2, psciCPU("cpu@0", 0, 0)))
	f.Add([]byte{0xd0, 0x0d, 0xfe, 0xed})
	f.Fuzz(func(t *testing.T, blob []byte) {
		ids, err := CPUs(blob)
		if err != nil {
			return
		}
		require.NotEmpty(t, ids)
		require.LessOrEqual(t, len(ids), MaxCPUs)
		seen := map[uint64]bool{}
		for _, id := range ids {
			require.False(t, seen[id])
			require.Zero(t, id&^MPIDRAffinity)
			seen[id] = true
		}
	})
}
