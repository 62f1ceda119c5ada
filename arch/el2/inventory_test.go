package el2

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"bulkhead/isolation"
)

// rows returns the inventory rows with home h, by name.
func rows(h Home) map[string]Item {
	m := map[string]Item{}
	for _, it := range Inventory() {
		if it.Home == h && it.Rule == Switched && it.A72 {
			m[it.Name] = it
		}
	}
	return m
}

func TestInventoryRowsAreWellFormed(t *testing.T) {
	seen := map[string]bool{}
	for _, it := range Inventory() {
		assert.False(t, seen[it.Name], "%s appears twice", it.Name)
		seen[it.Name] = true
		assert.Contains(t, []Rule{Switched, Trapped, Disabled, Control, ReadOnly}, it.Rule, it.Name)
		if it.Rule == Switched && it.A72 {
			assert.NotEqual(t, HomeNone, it.Home, "%s is switched but has no home", it.Name)
		}
		if it.Rule != Switched {
			assert.Equal(t, HomeNone, it.Home, "%s is not switched but has a home", it.Name)
		}
	}
	for _, must := range []string{"X0", "X30", "SP_EL0", "SP_EL1", "ELR_EL1", "SPSR_EL1", "SCTLR_EL1", "V0", "V31",
		"FPCR", "FPSR", "CNTV_CTL_EL0", "CNTV_CVAL_EL0", "CNTVOFF_EL2", "ICH_AP0R0_EL2", "ICH_AP1R0_EL2",
		"ICH_AP0R3_EL2", "ICH_AP1R3_EL2", "ICH_LR3_EL2", "ICH_VMCR_EL2", "HCR_EL2", "PMCR_EL0", "PMEVCNTR5_EL0",
		"DBGBVR5_EL1", "DBGWCR3_EL1", "MDSCR_EL1", "ZCR_EL1", "APIAKeyLo_EL1", "GCR_EL1"} {
		assert.True(t, seen[must], "the inventory lacks %s", must)
	}
}

// TestInventorySummary prints the inventory for review (go test -v -run
// TestInventorySummary ./arch/el2).
func TestInventorySummary(t *testing.T) {
	s := Summary()
	t.Log("\n" + s)
	assert.Contains(t, s, "switched: ")
	assert.Contains(t, s, "trapped (RAZ/WI): ")
}

func TestSwitchedVCPUNamesAreTheModelsRegisterSet(t *testing.T) {
	names := SwitchedVCPUNames()
	assert.Len(t, names, 31+2+ELRegs+32+2+ListRegs+2+2, "X, PC/PSTATE, EL1 file, V, FPCR/FPSR, LRs, VMCR/HCR, AP0R0/AP1R0")
	assert.Contains(t, names, "ICH_AP0R0_EL2")
	assert.NotContains(t, names, "ICH_AP0R1_EL2", "the Cortex-A72 has 5 priority bits: one APR per group")
	assert.NotContains(t, names, "ICC_PMR_EL1", "banked: the host's physical interface, not vCPU state")
	for _, n := range names {
		assert.Regexp(t, `^[A-Z][A-Za-z0-9_]*$`, n, "a Coq constructor R_%s must be a valid identifier", n)
	}
}

// TestContextRowsAreTheCoreContext: the general-purpose rows live in the
// core's isolation.Context, which the core resets.
func TestContextRowsAreTheCoreContext(t *testing.T) {
	ctx := reflect.TypeOf(isolation.Context{})
	x, ok := ctx.FieldByName("X")
	require.True(t, ok)
	assert.Equal(t, 31, x.Type.Len())
	_, ok = ctx.FieldByName("PC")
	assert.True(t, ok)
	_, ok = ctx.FieldByName("PState")
	assert.True(t, ok)
	assert.Len(t, rows(HomeContext), 33)
	assert.LessOrEqual(t, ELRegs, isolation.EL1Regs, "the EL1 file fits the core's room for it")
}

// elConstOrder reads the el* constants of guest.go in declaration order:
// their iota values.
func elConstOrder(t *testing.T) map[string]int {
	f, err := parser.ParseFile(token.NewFileSet(), "guest.go", nil, 0)
	require.NoError(t, err)
	order := map[string]int{}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST || len(g.Specs) == 0 {
			continue
		}
		if first := g.Specs[0].(*ast.ValueSpec).Names[0].Name; first != "elSCTLR" {
			continue
		}
		for i, s := range g.Specs {
			order[s.(*ast.ValueSpec).Names[0].Name] = i
		}
	}
	require.Equal(t, ELRegs, order["ELRegs"], "guest.go's el* block")
	return order
}

// asmBody returns the lines of TEXT ·name in file.
func asmBody(t *testing.T, file, name string) []string {
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	var body []string
	in := false
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "TEXT ") {
			in = strings.HasPrefix(l, "TEXT ·"+name+"(SB)") || strings.HasPrefix(l, "TEXT "+name+"<>(SB)")
			continue
		}
		if in {
			body = append(body, strings.TrimSpace(l))
		}
	}
	require.NotEmpty(t, body, "%s in %s", name, file)
	return body
}

var (
	twoRe = regexp.MustCompile(`^(SAVE2|LOAD2)\((\w+), (\w+), const_(\w+)\)$`)
	oneRe = regexp.MustCompile(`^(SAVE1|LOAD1)\((\w+), const_(\w+)\)$`)
	spRe  = regexp.MustCompile(`^(SAVE_SP|LOAD_SP)\(const_(\w+)\)$`)
)

// fileCoverage parses the register moves of fn: file index -> register.
func fileCoverage(t *testing.T, fn string) map[int][]string {
	order := elConstOrder(t)
	got := map[int][]string{}
	put := func(c string, regs ...string) {
		i, ok := order[c]
		require.True(t, ok, "%s uses unknown constant %s", fn, c)
		for k, r := range regs {
			got[i+k] = append(got[i+k], r)
		}
	}
	for _, l := range asmBody(t, "switch_arm64.s", fn) {
		if m := twoRe.FindStringSubmatch(l); m != nil {
			put(m[4], m[2], m[3])
		} else if m := oneRe.FindStringSubmatch(l); m != nil {
			put(m[3], m[2])
		} else if m := spRe.FindStringSubmatch(l); m != nil {
			put(m[2], "SP_EL0", "SP_EL1")
		}
	}
	return got
}

// TestWorldSwitchMovesEveryEL1Row: saveEL1 and loadEL1 move each ELFile
// slot exactly once, with the register elNames and the inventory give it,
// and the inventory's EL1 rows are exactly the file.
func TestWorldSwitchMovesEveryEL1Row(t *testing.T) {
	for _, fn := range []string{"saveEL1", "loadEL1"} {
		got := fileCoverage(t, fn)
		for i := 0; i < ELRegs; i++ {
			assert.Equal(t, []string{elNames[i]}, got[i], "%s: slot %d", fn, i)
		}
		assert.Len(t, got, ELRegs, "%s moves nothing outside the file", fn)
	}
	want := rows(HomeEL1)
	assert.Len(t, want, ELRegs)
	for i, n := range elNames {
		it, ok := want[n]
		if assert.True(t, ok, "%s is in the file but not an EL1 row of the inventory", n) {
			assert.Equal(t, elReset(i), it.Reset)
		}
	}
}

// TestFPFileCoversTheFPRows: the FP/SIMD file has a slot for V0..V31, FPCR
// and FPSR, and the entry and exit macros move each.
func TestFPFileCoversTheFPRows(t *testing.T) {
	assert.Len(t, rows(HomeFP), 34)
	assert.Equal(t, 64, len(FPFile{}.V))
	b, err := os.ReadFile("fp.h")
	require.NoError(t, err)
	for _, macro := range []string{"FP_SAVE", "FP_LOAD"} {
		text := string(b)[strings.Index(string(b), "#define "+macro):]
		if end := strings.Index(text[1:], "#define"); end > 0 {
			text = text[:end+1]
		}
		for i := 0; i < 32; i++ {
			assert.Regexp(t, fmt.Sprintf(`\bV%d\.D2\b`, i), text, "%s moves V%d", macro, i)
		}
		assert.Contains(t, text, "FPCR", macro)
		assert.Contains(t, text, "FPSR", macro)
	}
	for _, fn := range []string{"lowerExit", "enter"} {
		body := strings.Join(asmBody(t, "vectors_arm64.s", fn), "\n")
		assert.Contains(t, body, "Context_FP(R0)", "%s reaches the context's FP file", fn)
	}
	assert.Contains(t, strings.Join(asmBody(t, "vectors_arm64.s", "lowerExit"), "\n"), "FP_SAVE")
	assert.Contains(t, strings.Join(asmBody(t, "vectors_arm64.s", "enter"), "\n"), "FP_LOAD")
	for _, fn := range []string{"run", "runReleasing"} {
		assert.Contains(t, asmBody(t, "vectors_arm64.s", fn), "B\tenter<>(SB)", "%s enters through enter", fn)
	}
}

// TestVGICSwitchCoversTheVGICRows: every VGIC row is loaded for the guest,
// saved at exit (ICH_HCR_EL2 is recomputed by Sync instead) and cleared
// for the host, and the VGIC struct has a slot for each.
func TestVGICSwitchCoversTheVGICRows(t *testing.T) {
	load := strings.Join(asmBody(t, "switch_arm64.s", "loadVGIC"), "\n")
	save := strings.Join(asmBody(t, "switch_arm64.s", "saveVGIC"), "\n")
	all := map[string]bool{}
	for _, it := range Inventory() {
		if it.Home == HomeVGIC {
			all[it.Name] = true
		}
	}
	assert.Len(t, all, ListRegs+2+2*MaxAPRs)
	for n := range all {
		assert.Contains(t, load, "MSR_X("+n+",", "loadVGIC writes %s", n)
		assert.Contains(t, save, "MSR_X("+n+", 31)", "saveVGIC clears %s for the host", n)
		if n != "ICH_HCR_EL2" {
			assert.Contains(t, save, "MRS_X("+n+",", "saveVGIC reads %s", n)
		}
	}
	v := reflect.TypeOf(VGIC{})
	for _, f := range []struct {
		field string
		n     int
	}{{"LR", ListRegs}, {"AP0R", MaxAPRs}, {"AP1R", MaxAPRs}} {
		sf, ok := v.FieldByName(f.field)
		require.True(t, ok, f.field)
		assert.Equal(t, f.n, sf.Type.Len(), f.field)
	}
}

// slots returns, for each switched row outside isolation.Context, the
// words that hold it.
func slots(el1 *ELFile, fp *FPFile, gic *VGIC) map[string][]uint64 {
	m := map[string][]uint64{}
	for i, n := range elNames {
		m[n] = []uint64{el1[i]}
	}
	for i := 0; i < 32; i++ {
		m[fmt.Sprintf("V%d", i)] = []uint64{fp.V[2*i], fp.V[2*i+1]}
	}
	m["FPCR"], m["FPSR"] = []uint64{fp.FPCR}, []uint64{fp.FPSR}
	for i, lr := range gic.LR {
		m[fmt.Sprintf("ICH_LR%d_EL2", i)] = []uint64{lr}
	}
	for i := 0; i < MaxAPRs; i++ {
		m[fmt.Sprintf("ICH_AP0R%d_EL2", i)] = []uint64{gic.AP0R[i]}
		m[fmt.Sprintf("ICH_AP1R%d_EL2", i)] = []uint64{gic.AP1R[i]}
	}
	m["ICH_VMCR_EL2"], m["ICH_HCR_EL2"] = []uint64{gic.VMCR}, []uint64{gic.HCR}
	return m
}

// TestResetVCPUResetsEveryItem: a vCPU slot full of another VM's values
// comes back from ResetVCPU with every switched row at its reset value.
func TestResetVCPUResetsEveryItem(t *testing.T) {
	var el1 ELFile
	var fp FPFile
	var gic VGIC
	for i := range el1 {
		el1[i] = 0xa5a5_0000 + uint64(i)
	}
	for i := range fp.V {
		fp.V[i] = 0x5a5a_0000 + uint64(i)
	}
	fp.FPCR, fp.FPSR = 0x0300_0000, 0x1f
	gic = VGIC{LR: [ListRegs]uint64{1, 2, 3, 4}, VMCR: 5, AP0R: [MaxAPRs]uint64{6, 7, 8, 9}, AP1R: [MaxAPRs]uint64{10, 11, 12, 13}, HCR: 1}
	ResetVCPU(&el1, &fp, &gic)
	got := slots(&el1, &fp, &gic)
	n := 0
	for _, it := range Inventory() {
		if it.Rule != Switched || it.Home == HomeContext || it.Home == HomeBanked {
			continue
		}
		words, ok := got[it.Name]
		if !assert.True(t, ok, "%s has no slot", it.Name) {
			continue
		}
		for _, w := range words {
			assert.Equal(t, it.Reset, w, "%s after reset", it.Name)
		}
		n++
	}
	assert.Equal(t, len(got), n, "every slot is a row")
}

func TestAPRsFollowPREbits(t *testing.T) {
	assert.Equal(t, 1, APRs(4<<26), "5 bits (Cortex-A72): AP0R0 and AP1R0")
	assert.Equal(t, 2, APRs(5<<26), "6 bits")
	assert.Equal(t, 4, APRs(6<<26), "7 bits")
	assert.Equal(t, 1, APRs(0x90000003), "QEMU's cortex-a72 ICH_VTR_EL2: PREbits 4, IDbits 0, 4 LRs")
	for i := 0; i < MaxAPRs; i++ {
		for _, g := range []string{"ICH_AP0R", "ICH_AP1R"} {
			it := find(t, fmt.Sprintf("%s%d_EL2", g, i))
			assert.Equal(t, i < APRs(4<<26), it.A72, it.Name)
			assert.Equal(t, Switched, it.Rule, it.Name)
		}
	}
}

func find(t *testing.T, name string) Item {
	for _, it := range Inventory() {
		if it.Name == name {
			return it
		}
	}
	t.Fatalf("no row %s", name)
	return Item{}
}

// TestTrappedRowsAreTrappedForTheHostToo: the MDCR_EL2 value both the host
// and guests run with traps the PMU and debug registers.
func TestTrappedRowsAreTrappedForTheHostToo(t *testing.T) {
	const tpmcr, tpm, tda, tdosa, tdra = 1 << 5, 1 << 6, 1 << 9, 1 << 10, 1 << 11
	assert.Equal(t, uint64(tpmcr|tpm|tda|tdosa|tdra), uint64(mdcrTraps))
	assert.Equal(t, Trapped, find(t, "PMCCNTR_EL0").Rule)
	assert.Equal(t, Trapped, find(t, "MDSCR_EL1").Rule)
	assert.Zero(t, GuestHCR&(1<<40|1<<41), "HCR_EL2.APK and API stay clear: PAuth traps")
}

// TestGuestHCRDropsOnlyTWI: the trap controls of a VCPU_RUN_ALONE differ
// from every other guest entry's in TWI alone: WFE, SMC, the IMPLEMENTATION
// DEFINED registers and the interrupts' routing stay as they were.
func TestGuestHCRDropsOnlyTWI(t *testing.T) {
	const twi, twe = 1 << 13, 1 << 14
	assert.Equal(t, uint64(GuestHCR), guestHCR(false))
	assert.NotZero(t, guestHCR(false)&twi, "WFI traps on every entry but VCPU_RUN_ALONE's")
	assert.Zero(t, guestHCR(true)&twi)
	assert.Equal(t, uint64(twi), guestHCR(false)^guestHCR(true))
	assert.NotZero(t, guestHCR(true)&twe, "WFE still traps")
}
