package refinement

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// modelRegisters reads the constructors of the inductive vreg in
// specs/State.v (one a line, "| R_<Arm name>") and returns the Arm names.
func modelRegisters(t *testing.T) map[string]bool {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "specs", "State.v"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	start := strings.Index(s, "Inductive vreg :=")
	if start < 0 {
		t.Fatal("specs/State.v has no Inductive vreg")
	}
	body := s[start:]
	body = body[:strings.Index(body, ".\n")]
	names := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^\| R_([A-Z0-9_]+)$`).FindAllStringSubmatch(body, -1) {
		if names[m[1]] {
			t.Errorf("vreg names %s twice", m[1])
		}
		names[m[1]] = true
	}
	return names
}

// TestModelNamesEveryRegisterTheSwitchSaves: every EL1 register the world
// switch saves (the SAVE2 lines of arch/el2/switch_arm64.s) is a vreg of
// the model, so that integrity and noninterference name it.
func TestModelNamesEveryRegisterTheSwitchSaves(t *testing.T) {
	names := modelRegisters(t)
	if len(names) < 31+32 {
		t.Fatalf("vreg has %d names, fewer than x0..x30 and V0..V31", len(names))
	}
	for _, r := range []string{"X0", "X30", "V0", "V31", "FPCR", "FPSR", "ICH_AP0R0_EL2", "ICH_AP1R0_EL2",
		"ICH_VMCR_EL2", "SP_EL0", "SP_EL1", "ELR_EL2", "SPSR_EL2"} {
		if !names[r] {
			t.Errorf("vreg lacks R_%s", r)
		}
	}
	b, err := os.ReadFile(filepath.Join("..", "..", "arch", "el2", "switch_arm64.s"))
	if err != nil {
		t.Fatal(err)
	}
	saved := regexp.MustCompile(`(?m)^\s*SAVE2\(([A-Z0-9_]+), ([A-Z0-9_]+),`).FindAllStringSubmatch(string(b), -1)
	if len(saved) == 0 {
		t.Fatal("no SAVE2 lines in switch_arm64.s")
	}
	for _, m := range saved {
		for _, r := range m[1:] {
			if !names[r] {
				t.Errorf("the switch saves %s but the model has no R_%s", r, r)
			}
		}
	}
}
