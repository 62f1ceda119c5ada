package isolation

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// tablesPerGiB maps 1 GiB at ipa to pa in a fresh stage-2 and returns the
// tables below the root it takes.
func tablesPerGiB(t testing.TB, ipa IPA, pa PA) int {
	e, err := New(SmallConfig(), &tlbLog{t: t}, NewPool(1024, SmallPoolBase))
	if err != nil {
		t.Fatal(err)
	}
	var s stage2
	e.newStage2(&s, 1)
	free := e.pool.nfree
	e.mapRange(&s, ipa, pa, 1<<18, Attr{Perms: PermRW})
	return free - e.pool.nfree
}

// TestTableMemoryPerGiB reports the translation-table memory one GiB of
// mappings costs with 1 GiB blocks, with 2 MiB blocks, and with pages only
// (when the PA is not 2 MiB aligned).
func TestTableMemoryPerGiB(t *testing.T) {
	gib := tablesPerGiB(t, 0x4000_0000, 0x8000_0000)
	mib2 := tablesPerGiB(t, 0x4000_0000, 0x8020_0000)
	pages := tablesPerGiB(t, 0x4000_0000, 0x8000_1000)
	t.Logf("table memory per GiB mapped: 1 GiB block %d KiB, 2 MiB blocks %d KiB, 4 KiB pages %d KiB",
		gib*PageSize>>10, mib2*PageSize>>10, pages*PageSize>>10)
	assert.Zero(t, gib, "a level-1 block needs no table below the root")
	assert.Equal(t, 1, mib2, "one level-2 table of 512 blocks")
	assert.Equal(t, 1+entriesPerTable, pages, "a level-2 table and 512 level-3 tables")
}

func BenchmarkTableMemoryPerGiB(b *testing.B) {
	for b.Loop() {
		b.ReportMetric(float64(tablesPerGiB(b, 0x4000_0000, 0x8020_0000)*PageSize), "bytes/GiB-blocks")
		b.ReportMetric(float64(tablesPerGiB(b, 0x4000_0000, 0x8000_1000)*PageSize), "bytes/GiB-pages")
	}
}
