package refinement

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"bulkhead/arch/el2"
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

// inventoryToModel renames the inventory's entries the model names after
// the EL2 register that holds them while the vCPU is out: its PC is
// ELR_EL2 and its PSTATE SPSR_EL2 (Arm ARM D1.10.1).
var inventoryToModel = map[string]string{"PC": "ELR_EL2", "PSTATE": "SPSR_EL2"}

// TestModelRegistersAreTheInventorys: the model's vCPU registers are
// exactly the engine's switched per-vCPU registers (arch/el2's inventory,
// the one source), so integrity and noninterference range over every
// register a VM keeps, and over nothing the engine does not switch.
func TestModelRegistersAreTheInventorys(t *testing.T) {
	model := modelRegisters(t)
	inv := map[string]bool{}
	for _, n := range el2.SwitchedVCPUNames() {
		if m, ok := inventoryToModel[n]; ok {
			n = m
		}
		inv[n] = true
		if !model[n] {
			t.Errorf("the engine switches %s per vCPU but the model has no R_%s", n, n)
		}
	}
	for n := range model {
		if !inv[n] {
			t.Errorf("the model names R_%s, which the inventory does not switch per vCPU", n)
		}
	}
}
