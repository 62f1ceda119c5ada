package virt

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLayoutTilesRAMWithoutGapsOrOverlaps(t *testing.T) {
	regions := Layout()
	require.Equal(t, RAM.Base, regions[0].Base)
	for i := 1; i < len(regions); i++ {
		assert.Equal(t, regions[i-1].End(), regions[i].Base, "%s must follow %s", regions[i].Name, regions[i-1].Name)
	}
	assert.Equal(t, RAM.End(), regions[len(regions)-1].End())
}

func TestRegionsAreBlockAligned(t *testing.T) {
	for _, r := range Layout() {
		assert.Zero(t, r.Base%BlockSize, r.Name)
		assert.Zero(t, r.Size%BlockSize, r.Name)
	}
}

func TestImagesLinkInsideTheirRegions(t *testing.T) {
	assert.True(t, Engine.Contains(EngineText, PageSize))
	assert.True(t, Host.Contains(HostText, PageSize))
}

func TestHostMMIOIsOutsideRAM(t *testing.T) {
	for _, d := range HostMMIO() {
		assert.False(t, d.Overlaps(RAM), d.Name)
		assert.True(t, Device.Contains(d.Base, d.Size), d.Name)
	}
}

func TestContainsRejectsOverflow(t *testing.T) {
	r := Region{"r", 0x1000, 0x1000}
	assert.True(t, r.Contains(0x1000, 0x1000))
	assert.False(t, r.Contains(0x1001, 0x1000))
	assert.False(t, r.Contains(0x1800, ^uint64(0)))
	assert.False(t, r.Contains(0xfff, 1))
	assert.False(t, r.Contains(^uint64(0), 2))
}

func TestStagingFitsInThePool(t *testing.T) {
	assert.True(t, Pool.Contains(Staging.Base, Staging.Size))
}

func TestFwCfgIsNotMappedForTheHost(t *testing.T) {
	for _, d := range HostMMIO() {
		assert.False(t, d.Overlaps(FwCfg), d.Name)
	}
}

func TestRegionName(t *testing.T) {
	assert.Equal(t, "engine", RegionName(EngineBase))
	assert.Equal(t, "engine", RegionName(EngineBase+EngineSize-1))
	assert.Equal(t, "host", RegionName(HostBase))
	assert.Equal(t, "pl011", RegionName(UARTBase+4))
	assert.Equal(t, "unassigned", RegionName(0x1_0000_0000))
}
