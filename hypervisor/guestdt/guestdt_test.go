package guestdt

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"bulkhead/boot/fdt"
	"bulkhead/boot/virt"
	"bulkhead/hypervisor/vmachine"
)

var linuxConfig = Config{
	RAMSize:  256 << 20,
	VCPUs:    2,
	Bootargs: "console=ttyAMA0 earlycon rdinit=/init",
	Initrd:   Range{0x4400_0000, 0x4480_0000},
}

func parse(t *testing.T, c Config) *fdt.Tree {
	t.Helper()
	blob, err := Build(c)
	require.NoError(t, err)
	tree, err := fdt.Parse(blob)
	require.NoError(t, err)
	return tree
}

func cells(t *testing.T, n *fdt.Node, prop string) []uint32 {
	t.Helper()
	require.NotNil(t, n)
	p, ok := n.Property(prop)
	require.True(t, ok, "node %q has no %q", n.Name, prop)
	v, err := p.U32s()
	require.NoError(t, err)
	return v
}

func strs(t *testing.T, n *fdt.Node, prop string) []string {
	t.Helper()
	require.NotNil(t, n)
	p, ok := n.Property(prop)
	require.True(t, ok, "node %q has no %q", n.Name, prop)
	v, err := p.Strings()
	require.NoError(t, err)
	return v
}

func split64(v uint64) []uint32 { return []uint32{uint32(v >> 32), uint32(v)} }

func TestStructure(t *testing.T) {
	for _, vcpus := range []int{1, 2, 8, vmachine.MaxVCPUs} {
		t.Run(fmt.Sprint(vcpus, "vcpus"), func(t *testing.T) {
			c := linuxConfig
			c.VCPUs = vcpus
			tree := parse(t, c)

			cpus := tree.Lookup("/cpus")
			require.NotNil(t, cpus)
			require.Len(t, cpus.Children, vcpus)
			for i, cpu := range cpus.Children {
				assert.Equal(t, fmt.Sprintf("cpu@%x", i), cpu.Name)
				assert.Equal(t, []uint32{uint32(i)}, cells(t, cpu, "reg"))
				assert.Equal(t, []string{"psci"}, strs(t, cpu, "enable-method"))
			}

			intc := tree.Lookup(fmt.Sprintf("/intc@%x", vmachine.GICD.Base))
			reg := cells(t, intc, "reg")
			require.Len(t, reg, 8)
			assert.Equal(t, split64(vmachine.GICRBase), reg[4:6])
			assert.Equal(t, split64(uint64(vcpus)*0x20000), reg[6:8], "one 128 KiB redistributor per vCPU")
		})
	}
}

func TestPhandlesResolve(t *testing.T) {
	tree := parse(t, linuxConfig)
	byPhandle := map[uint32]*fdt.Node{}
	var walk func(n *fdt.Node)
	walk = func(n *fdt.Node) {
		if _, ok := n.Property("phandle"); ok {
			ph := cells(t, n, "phandle")[0]
			require.NotContains(t, byPhandle, ph, "duplicate phandle")
			byPhandle[ph] = n
		}
		for _, c := range n.Children {
			walk(c)
		}
	}
	walk(tree.Root)

	parent := byPhandle[cells(t, tree.Root, "interrupt-parent")[0]]
	require.NotNil(t, parent)
	assert.Equal(t, []string{"arm,gic-v3"}, strs(t, parent, "compatible"))

	uart := tree.Lookup(StdoutPath)
	require.NotNil(t, uart, "stdout-path must name the UART node")
	for _, ph := range cells(t, uart, "clocks") {
		clk := byPhandle[ph]
		require.NotNil(t, clk)
		assert.Equal(t, []string{"fixed-clock"}, strs(t, clk, "compatible"))
		assert.Equal(t, []uint32{vmachine.UARTClockHz}, cells(t, clk, "clock-frequency"))
	}
}

func TestChosen(t *testing.T) {
	tree := parse(t, linuxConfig)
	chosen := tree.Lookup("/chosen")
	assert.Equal(t, []string{linuxConfig.Bootargs}, strs(t, chosen, "bootargs"))
	assert.Equal(t, []string{StdoutPath}, strs(t, chosen, "stdout-path"))
	assert.Equal(t, split64(linuxConfig.Initrd.Start), cells(t, chosen, "linux,initrd-start"))
	assert.Equal(t, split64(linuxConfig.Initrd.End), cells(t, chosen, "linux,initrd-end"))

	c := linuxConfig
	c.Initrd = Range{}
	chosen = parse(t, c).Lookup("/chosen")
	_, ok := chosen.Property("linux,initrd-start")
	assert.False(t, ok, "no initrd, no initrd properties")
}

func TestConfigErrors(t *testing.T) {
	ramEnd := vmachine.RAMBase + linuxConfig.RAMSize
	tests := []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"no RAM", func(c *Config) { c.RAMSize = 0 }, "RAM size"},
		{"unaligned RAM", func(c *Config) { c.RAMSize = 1<<20 + 1 }, "RAM size"},
		{"huge RAM", func(c *Config) { c.RAMSize = vmachine.MaxRAMSize + 4096 }, "exceeds"},
		{"no vCPU", func(c *Config) { c.VCPUs = 0 }, "vCPUs"},
		{"too many vCPUs", func(c *Config) { c.VCPUs = vmachine.MaxVCPUs + 1 }, "vCPUs"},
		{"NUL bootargs", func(c *Config) { c.Bootargs = "a\x00b" }, "NUL"},
		{"initrd inverted", func(c *Config) { c.Initrd = Range{0x4400_0000, 0x4300_0000} }, "initrd"},
		{"initrd below RAM", func(c *Config) { c.Initrd = Range{0x1000, 0x4000_2000} }, "initrd"},
		{"initrd past RAM", func(c *Config) { c.Initrd = Range{ramEnd - 4096, ramEnd + 1} }, "initrd"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := linuxConfig
			tc.change(&c)
			_, err := Build(c)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func lookTool(t *testing.T, name, pkg string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s not installed (Debian package %s); skipping", name, pkg)
	}
	return path
}

// TestDTC decompiles the guest tree with dtc, which also runs its checks
// (reg format against #address-cells, interrupt providers, phandles).
func TestDTC(t *testing.T) {
	dtc := lookTool(t, "dtc", "device-tree-compiler")
	blob, err := Build(linuxConfig)
	require.NoError(t, err)
	in := filepath.Join(t.TempDir(), "guest.dtb")
	require.NoError(t, os.WriteFile(in, blob, 0o644))
	var stderr strings.Builder
	cmd := exec.Command(dtc, "-I", "dtb", "-O", "dts", in)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, stderr.String())
	assert.Empty(t, stderr.String(), "dtc warnings")
	dts := string(out)
	for _, want := range []string{
		`compatible = "linux,dummy-virt";`,
		"#address-cells = <0x02>;",
		"#size-cells = <0x02>;",
		"interrupt-parent = <0x01>;",
		"memory@40000000 {",
		`device_type = "memory";`,
		"reg = <0x00 0x40000000 0x00 0x10000000>;",
		"cpu@0 {", "cpu@1 {",
		`compatible = "arm,armv8";`,
		`enable-method = "psci";`,
		`compatible = "arm,psci-1.0\0arm,psci-0.2";`,
		`method = "hvc";`,
		"intc@8000000 {",
		`compatible = "arm,gic-v3";`,
		"#interrupt-cells = <0x03>;",
		"interrupt-controller;",
		"reg = <0x00 0x8000000 0x00 0x10000 0x00 0x80a0000 0x00 0x40000>;",
		"interrupts = <0x01 0x09 0x04>;",
		`compatible = "arm,armv8-timer\0arm,armv7-timer";`,
		"interrupts = <0x01 0x0d 0x04 0x01 0x0e 0x04 0x01 0x0b 0x04 0x01 0x0a 0x04>;",
		"pl011@9000000 {",
		`compatible = "arm,pl011\0arm,primecell";`,
		"reg = <0x00 0x9000000 0x00 0x1000>;",
		"interrupts = <0x00 0x01 0x04>;",
		`clock-names = "uartclk\0apb_pclk";`,
		"clocks = <0x02 0x02>;",
		"clock-frequency = <0x16e3600>;",
		`bootargs = "console=ttyAMA0 earlycon rdinit=/init";`,
		`stdout-path = "/pl011@9000000";`,
		"linux,initrd-start = <0x00 0x44000000>;",
		"linux,initrd-end = <0x00 0x44800000>;",
	} {
		assert.Contains(t, dts, want)
	}
}

// TestMatchesQEMU compares the devices of the guest tree with the tree QEMU
// itself writes for `virt` with the same RAM and CPU count: the same
// registers, interrupts and compatibles, so guests built for QEMU virt find
// the same machine.
func TestMatchesQEMU(t *testing.T) {
	qemu := lookTool(t, "qemu-system-aarch64", "qemu-system-arm")
	dtb := filepath.Join(t.TempDir(), "virt.dtb")
	cmd := exec.Command(qemu, "-machine", virt.QEMUMachine+",dumpdtb="+dtb,
		"-cpu", virt.QEMUCPU, "-smp", "2", "-m", "256M", "-nographic", "-nodefaults")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	blob, err := os.ReadFile(dtb)
	require.NoError(t, err)
	want, err := fdt.Parse(blob)
	require.NoError(t, err)
	got := parse(t, linuxConfig)

	same := []struct{ path, prop string }{
		{"/", "#address-cells"}, {"/", "#size-cells"}, {"/", "compatible"},
		{"/memory@40000000", "reg"}, {"/memory@40000000", "device_type"},
		{"/pl011@9000000", "reg"}, {"/pl011@9000000", "interrupts"},
		{"/pl011@9000000", "compatible"}, {"/pl011@9000000", "clock-names"},
		{"/intc@8000000", "compatible"}, {"/intc@8000000", "#interrupt-cells"},
		{"/intc@8000000", "interrupts"}, {"/intc@8000000", "interrupt-controller"},
		{"/intc@8000000", "#redistributor-regions"},
		{"/timer", "interrupts"}, {"/timer", "compatible"}, {"/timer", "always-on"},
		{"/apb-pclk", "clock-frequency"}, {"/apb-pclk", "compatible"},
		{"/cpus", "#address-cells"}, {"/cpus", "#size-cells"},
		{"/cpus/cpu@0", "reg"}, {"/cpus/cpu@1", "reg"},
		{"/cpus/cpu@1", "enable-method"}, {"/cpus/cpu@1", "device_type"},
		{"/chosen", "stdout-path"},
	}
	for _, s := range same {
		w, g := want.Lookup(s.path), got.Lookup(s.path)
		require.NotNil(t, w, "QEMU has no %s", s.path)
		require.NotNil(t, g, "guest tree has no %s", s.path)
		wp, ok := w.Property(s.prop)
		require.True(t, ok, "QEMU %s has no %s", s.path, s.prop)
		gp, ok := g.Property(s.prop)
		require.True(t, ok, "guest %s has no %s", s.path, s.prop)
		assert.Equal(t, wp.Value, gp.Value, "%s %s", s.path, s.prop)
	}
	// QEMU describes its whole redistributor region; the guest tree one
	// frame pair per vCPU. The distributor and the region base agree.
	wreg := cells(t, want.Lookup("/intc@8000000"), "reg")
	greg := cells(t, got.Lookup("/intc@8000000"), "reg")
	assert.Equal(t, wreg[:6], greg[:6])
	// QEMU advertises PSCI 1.0 and 0.2 first; the conduit differs because
	// QEMU's firmware emulation uses SMC while guests call the engine.
	wpsci := strs(t, want.Lookup("/psci"), "compatible")
	assert.Equal(t, wpsci[:2], strs(t, got.Lookup("/psci"), "compatible"))
}

func TestVirtioNodes(t *testing.T) {
	c := linuxConfig
	c.Virtio = []int{0, 3}
	tree := parse(t, c)
	for _, slot := range c.Virtio {
		base := vmachine.Virtio.Base + uint64(slot)*vmachine.VirtioStride
		n := tree.Lookup(fmt.Sprintf("/virtio_mmio@%x", base))
		require.NotNil(t, n, "slot %d", slot)
		assert.Equal(t, []string{"virtio,mmio"}, strs(t, n, "compatible"))
		assert.Equal(t, append(split64(base), split64(vmachine.VirtioStride)...), cells(t, n, "reg"))
		assert.Equal(t, []uint32{irqTypeSPI, uint32(16 + slot), irqLevelHigh}, cells(t, n, "interrupts"))
	}
	assert.Nil(t, parse(t, linuxConfig).Lookup(fmt.Sprintf("/virtio_mmio@%x", vmachine.Virtio.Base)), "none unless asked")
	c.Virtio = []int{vmachine.VirtioSlots}
	_, err := Build(c)
	assert.ErrorContains(t, err, "virtio slot")
}
