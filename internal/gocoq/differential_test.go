package gocoq

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"bulkhead/isolation"
	"bulkhead/isolation/abi"

	"github.com/stretchr/testify/require"
)

// TestDifferential runs exported functions of the real core in Go on
// seeded random and edge inputs, and checks with coqc that their
// translations compute the same results: a test of the translator on the
// code it exists for, with Go itself as the reference.
func TestDifferential(t *testing.T) {
	if _, err := exec.LookPath("coqc"); err != nil {
		t.Skip("coqc not installed")
	}
	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	dir := t.TempDir()
	l := NewLoader(root, "bulkhead")
	tr := NewTranslator(l, Options{Prefix: "Bulkhead.Code", FalseVars: []string{"bulkhead/isolation/internal/plant"}})
	require.NoError(t, os.WriteFile(filepath.Join(dir, "GoCoq.v"), []byte(Runtime), 0o644))
	files := []string{"GoCoq.v"}
	for _, path := range []string{"bulkhead/isolation/abi", "bulkhead/isolation"} {
		p, err := l.Load(path)
		require.NoError(t, err)
		res := tr.Translate(p)
		require.NoError(t, os.WriteFile(filepath.Join(dir, res.Module+".v"), []byte(res.Coq), 0o644))
		files = append(files, res.Module+".v")
	}

	rng := rand.New(rand.NewPCG(15, 2026))
	edges := []uint64{0, 1, 4095, 4096, 1 << 40, 1<<63 - 1, 1 << 63, 1<<64 - 4096, 1<<64 - 1}
	u64 := func() uint64 {
		if rng.IntN(3) == 0 {
			return edges[rng.IntN(len(edges))]
		}
		return rng.Uint64() >> rng.UintN(64)
	}
	u32 := func() uint32 {
		ids := []uint32{abi.VMCreate, abi.MemDonate, abi.GuestShare, abi.PSCICPUOn64, abi.PSCIVersion, abi.CallUID, 0xC6000100, 0x8400001F, 0x84000020}
		if rng.IntN(2) == 0 {
			return ids[rng.IntN(len(ids))]
		}
		return rng.Uint32()
	}
	var b strings.Builder
	b.WriteString("From Coq Require Import ZArith List String.\nFrom Bulkhead.Code Require Import GoCoq.\nFrom Bulkhead.Code Require Abi Isolation.\nImport ListNotations.\nOpen Scope Z_scope.\n\n")
	n := 0
	check := func(call, want string) {
		n++
		fmt.Fprintf(&b, "Example d%d : %s tt [] = Ok %s tt [].\nProof. vm_compute. reflexivity. Qed.\n", n, call, want)
	}
	z := func(v uint64) string { return fmt.Sprint(v) }
	for range 40 {
		r := isolation.Range{Base: u64(), Size: u64()}
		a, s := u64(), u64()
		check(fmt.Sprintf("Isolation.Range_Contains (S:=unit) (Isolation.mk_Range %d %d) %d %d", r.Base, r.Size, a, s), fmt.Sprint(r.Contains(a, s)))
		check(fmt.Sprintf("Isolation.Range_End (S:=unit) (Isolation.mk_Range %d %d)", r.Base, r.Size), z(r.End()))
		pa, vmid := isolation.PA(u64()), isolation.VMID(rng.Uint32())
		check(fmt.Sprintf("Isolation.VTTBR (S:=unit) %d %d", pa, vmid), z(isolation.VTTBR(pa, vmid)))
		id := u32()
		check(fmt.Sprintf("Isolation.EngineOwnsID (S:=unit) %d", id), fmt.Sprint(isolation.EngineOwnsID(id)))
		check(fmt.Sprintf("Abi.IsFast (S:=unit) %d", id), fmt.Sprint(abi.IsFast(id)))
		check(fmt.Sprintf("Abi.Is64 (S:=unit) %d", id), fmt.Sprint(abi.Is64(id)))
		check(fmt.Sprintf("Abi.OwningEntity (S:=unit) %d", id), fmt.Sprint(abi.OwningEntity(id)))
		w, sz := rng.IntN(2) == 0, uint(u64())
		check(fmt.Sprintf("Abi.MMIOAccess (S:=unit) %v %d", w, sz), z(abi.MMIOAccess(w, sz)))
		st := abi.StatusOf(u64())
		check(fmt.Sprintf("Abi.StatusOf (S:=unit) %d", st.Reg()), fmt.Sprintf("(%d)", int64(st)))
	}
	check("Isolation.VTCR (S:=unit)", z(isolation.VTCR()))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "Differential.v"), []byte(b.String()), 0o644))
	for _, f := range append(files, "Differential.v") {
		out, err := exec.Command("coqc", "-q", "-Q", dir, "Bulkhead.Code", filepath.Join(dir, f)).CombinedOutput()
		require.NoError(t, err, "coqc %s:\n%s", f, out)
	}
	t.Logf("%d results of the Go core computed alike by its translation", n)
}
