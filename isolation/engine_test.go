package isolation

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"bulkhead/boot/virt"
	"bulkhead/isolation/abi"
)

func TestNewBuildsHostStage2ForVirt(t *testing.T) {
	e, l := newLogged(t, virtConfig(), 64, virtPoolBase)
	assert.Zero(t, uint64(e.RootPA())%S2RootAlign, "concatenated root is 8 KiB aligned")
	assert.Equal(t, VTTBR(e.RootPA(), 0), e.HostVTTBR())
	ramRW := Attr{Perms: PermRWX}
	for _, r := range []virt.Region{virt.Boot, virt.Host, virt.Pool} {
		for a := r.Base; a < r.End(); a += r.Size / 64 {
			m, ok := e.Translate(HostVMID, IPA(a))
			require.True(t, ok, "%s %#x", r.Name, a)
			assert.Equal(t, PA(a), m.PA)
			assert.Equal(t, ramRW, m.Attr)
		}
		m, _ := e.Translate(HostVMID, IPA(r.End()-PageSize))
		assert.Equal(t, PA(r.End()-PageSize), m.PA)
	}
	for a := virt.Engine.Base; a < virt.Engine.End(); a += PageSize {
		_, ok := e.Translate(HostVMID, IPA(a))
		require.False(t, ok, "engine page %#x is mapped in the host", a)
	}
	for _, r := range virt.HostMMIO() {
		m, ok := e.Translate(HostVMID, IPA(r.Base))
		require.True(t, ok, r.Name)
		assert.Equal(t, Attr{Perms: PermRW, Device: true}, m.Attr, r.Name)
	}
	_, ok := e.Translate(HostVMID, IPA(virt.UART.End()))
	assert.False(t, ok, "nothing between devices")
	m, _ := e.Translate(HostVMID, 0x8000_0000)
	assert.Equal(t, 1, m.Level, "the top GiB of RAM is one block")
	m, _ = e.Translate(HostVMID, IPA(virt.Host.Base))
	assert.Equal(t, 2, m.Level)
	assert.Empty(t, l.invals, "boot maps into an empty stage-2")
	assert.Equal(t, abi.OwnerEngine, int(e.pageAt(PA(virt.Engine.Base)).owner))
	assert.Equal(t, abi.OwnerHost, int(e.pageAt(PA(virt.Pool.Base)).owner))
}

func TestNewRejectsBadConfig(t *testing.T) {
	good := SmallConfig()
	cases := map[string]func(c *Config){
		"no VMs":              func(c *Config) { c.MaxVMs = 0 },
		"too many VMs":        func(c *Config) { c.MaxVMs = 256 },
		"no vCPUs":            func(c *Config) { c.MaxVCPUs = 0 },
		"too many vCPUs":      func(c *Config) { c.MaxVCPUs = 257 },
		"RAM unaligned":       func(c *Config) { c.RAM.Base += 0x800 },
		"RAM partial page":    func(c *Config) { c.RAM.Size += 1 },
		"RAM empty":           func(c *Config) { c.RAM.Size = 0 },
		"RAM above IPA space": func(c *Config) { c.RAM.Base = 1 << 40 },
		"engine outside RAM":  func(c *Config) { c.Engine = []Range{{0x3000_0000, PageSize}} },
		"engine partial page": func(c *Config) { c.Engine = []Range{{0x4000_0000, 100}} },
		"MMIO overlaps RAM":   func(c *Config) { c.HostMMIO = []Range{{0x4000_0000, 1}} },
		"MMIO overlaps MMIO":  func(c *Config) { c.HostMMIO = []Range{{0x900_0000, 2}, {0x900_0100, 2}} },
		"MMIO empty":          func(c *Config) { c.HostMMIO = []Range{{0x900_0000, 0}} },
		"MMIO past IPA space": func(c *Config) { c.HostMMIO = []Range{{1<<40 - 1, 2}} },
	}
	for name, mutate := range cases {
		c := good
		c.Engine = append([]Range(nil), good.Engine...)
		mutate(&c)
		_, err := New(c, &tlbLog{t: t}, NewPool(64, SmallPoolBase))
		assert.Error(t, err, name)
	}
	_, err := New(good, &tlbLog{t: t}, NewPool(0, SmallPoolBase))
	assert.Error(t, err, "empty pool")
	_, err = New(good, &tlbLog{t: t}, NewPool(4, 0x800))
	assert.Error(t, err, "unaligned pool")
	_, err = New(good, &tlbLog{t: t}, NewPool(64, 1<<48))
	assert.Error(t, err, "pool past the 48 bits a descriptor holds")
	_, err = New(good, &tlbLog{t: t}, NewPool(64, 1<<48-32*PageSize))
	assert.Error(t, err, "pool running past the 48 bits a descriptor holds")
	_, err = New(good, &tlbLog{t: t}, NewPool(1, SmallPoolBase))
	assert.Error(t, err, "no room for a root")
	_, err = New(virtConfig(), &tlbLog{t: t}, NewPool(3, virtPoolBase))
	assert.Error(t, err, "no room for the host tables")
}

func TestMMIOIsWidenedToPages(t *testing.T) {
	c := SmallConfig()
	c.HostMMIO = []Range{{virt.FwCfg.Base, virt.FwCfg.Size}}
	e, _ := newLogged(t, c, 64, SmallPoolBase)
	assert.Equal(t, []Range{{virt.FwCfg.Base, PageSize}}, e.Config().HostMMIO)
	_, ok := e.Translate(HostVMID, IPA(virt.FwCfg.Base+0x10))
	assert.True(t, ok)
}

func TestPoolRootsAreAlignedPairs(t *testing.T) {
	var p tablePool
	require.NoError(t, p.init(NewPool(8, 0x1000))) // table 0 is at an odd page
	r := p.allocRoot()
	assert.Equal(t, 1, r)
	assert.Zero(t, uint64(p.pa(r))%S2RootAlign)
	assert.Equal(t, 7, p.alloc(), "singles come from the top")
	assert.Equal(t, 3, p.allocRoot())
	assert.Equal(t, 6, p.alloc())
	assert.Equal(t, -1, p.allocRoot(), "5 and 6: 6 taken; 0 alone")
	assert.Equal(t, 5, p.alloc())
	assert.Equal(t, 0, p.alloc())
	assert.Equal(t, -1, p.alloc())
	assert.Panics(t, func() { p.release(8 - 8); p.release(0) })
	assert.Panics(t, func() { p.index(0) })
}
