package a64

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEncodingsAgreeWithADisassembler runs every encoder through binutils'
// AArch64 objdump and compares the mnemonics.
func TestEncodingsAgreeWithADisassembler(t *testing.T) {
	objdump, err := exec.LookPath("aarch64-linux-gnu-objdump")
	if err != nil {
		t.Skip("aarch64-linux-gnu-objdump is not installed (Debian binutils-aarch64-linux-gnu)")
	}
	var p Program
	p.Label("top")
	want := []string{}
	add := func(w uint32, text string) { p.Emit(w); want = append(want, text) }
	add(MOVZ(0, 0x43, 0), "mov\tx0, #0x43")
	add(MOVK(0, 0xc600, 1), "movk\tx0, #0xc600, lsl #16")
	add(MOVZ(9, 0x0900, 1), "mov\tx9, #0x9000000")
	add(ADDImm(1, 1, '0'), "add\tx1, x1, #0x30")
	add(SUBSImm(19, 19, 1), "subs\tx19, x19, #0x1")
	add(SUB(2, 2, 1), "sub\tx2, x2, x1")
	add(STRB(10, 9), "strb\tw10, [x9]")
	add(STR(1, 9), "str\tx1, [x9]")
	add(LDR(2, 9), "ldr\tx2, [x9]")
	add(MSRVBAREL1(3), "msr\tvbar_el1, x3")
	add(MRSESREL1(1), "mrs\tx1, esr_el1")
	add(STRPost(2, 20, 8), "str\tx2, [x20], #8")
	add(HVC(0), "hvc\t#0x0")
	add(SMC(0), "smc\t#0x0")
	add(ISB, "isb")
	add(MRSCNTVCT(1), "mrs\tx1, cntvct_el0")
	add(MSR(SysReg{3, 0, 12, 8, 4}, 1), "msr\ticc_ap0r0_el1, x1")
	add(MRS(2, SysReg{3, 0, 12, 8, 4}), "mrs\tx2, icc_ap0r0_el1")
	add(MSR(SysReg{2, 0, 0, 2, 2}, 3), "msr\tmdscr_el1, x3")
	add(MRS(4, SysReg{3, 3, 13, 0, 3}), "mrs\tx4, tpidrro_el0")
	add(FMOVToD(5, 1), "fmov\td5, x1")
	add(FMOVToHigh(5, 1), "fmov\tv5.d[1], x1")
	add(FMOVFromD(1, 5), "fmov\tx1, d5")
	add(FMOVFromHigh(1, 5), "fmov\tx1, v5.d[1]")
	add(BNE(p.Offset("top")), "b.ne\t0")
	add(B(0), "b\t0x")
	path := filepath.Join(t.TempDir(), "prog.bin")
	require.NoError(t, os.WriteFile(path, p.Bytes(), 0o644))
	out, err := exec.Command(objdump, "-D", "-b", "binary", "-m", "aarch64", path).CombinedOutput()
	require.NoError(t, err, string(out))
	var got []string
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.SplitN(line, "\t", 3); len(f) == 3 && strings.HasSuffix(f[0], ":") {
			got = append(got, strings.TrimSpace(f[2]))
		}
	}
	require.Len(t, got, len(want), string(out))
	for i := range want {
		assert.True(t, strings.HasPrefix(got[i], want[i]), "instruction %d: got %q, want %q", i, got[i], want[i])
	}
}

func TestMOV64UsesOnlyTheHalvesItNeeds(t *testing.T) {
	assert.Equal(t, []uint32{MOVZ(3, 0, 0), MOVK(3, 0xc600, 1)}, MOV64(3, 0xc600_0000))
	assert.Len(t, MOV64(3, 0x1234_5678_9abc_def0), 4)
	assert.Len(t, MOV64(3, 7), 1)
}

// TestKnownWords pins encodings to the words an assembler produces, for
// machines without binutils.
func TestKnownWords(t *testing.T) {
	for want, got := range map[uint32]uint32{
		0xd2800860: MOVZ(0, 0x43, 0),               // mov x0, #0x43
		0xf2b8c000: MOVK(0, 0xc600, 1),             // movk x0, #0xc600, lsl #16
		0xd2a12009: MOVZ(9, 0x0900, 1),             // mov x9, #0x9000000
		0xf9000121: STR(1, 9),                      // str x1, [x9]
		0xf9400122: LDR(2, 9),                      // ldr x2, [x9]
		0xd4000002: HVC(0),                         // hvc #0
		0x14000000: BSelf,                          // b .
		0xd518c003: MSRVBAREL1(3),                  // msr vbar_el1, x3
		0xd5385201: MRSESREL1(1),                   // mrs x1, esr_el1
		0xd518c881: MSR(SysReg{3, 0, 12, 8, 4}, 1), // msr icc_ap0r0_el1, x1
		0xd538c882: MRS(2, SysReg{3, 0, 12, 8, 4}), // mrs x2, icc_ap0r0_el1
		0xd5100243: MSR(SysReg{2, 0, 0, 2, 2}, 3),  // msr mdscr_el1, x3
		0x9e670025: FMOVToD(5, 1),                  // fmov d5, x1
		0x9eaf0025: FMOVToHigh(5, 1),               // fmov v5.d[1], x1
		0x9e6600a1: FMOVFromD(1, 5),                // fmov x1, d5
		0x9eae00a1: FMOVFromHigh(1, 5),             // fmov x1, v5.d[1]
	} {
		assert.Equal(t, want, got, "%#08x", want)
	}
}
