package gocoq

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// construct is one construct of the subset: a small package, the Coq shape
// its translation must have, and Coq examples that compute its semantics
// (checked by coqc when it is installed).
type construct struct {
	name   string
	src    string   // body of the package (after the package clause)
	shape  []string // substrings of the translation, in order
	coq    string   // Coq sentences checked against the translation
	refuse string   // for a construct outside the subset: the refusal
}

const platformSrc = `
type Platform interface {
	ZeroPages(pa uint64, n uint64)
	PageIsZero(pa uint64) bool
}
`

var constructs = []construct{
	{name: "struct", src: `type page struct { owner uint8; shared bool }`,
		shape: []string{"Record page := mk_page {", "page_owner : Z;", "page_shared : bool",
			"Definition set_page_owner (x : Z) (r : page) : page := mk_page x (page_shared r).",
			"Definition zero_page : page := mk_page 0 false."}},
	{name: "named integer and constant", src: `type Status int64
const Denied Status = -3`,
		shape: []string{"Definition Status : Type := Z.", "Definition Denied : Status := (-3)."}},
	{name: "uint64 wraps", src: `func add(a, b uint64) uint64 { return a + b }`,
		shape: []string{"Definition add {S : Type} (a : Z) (b : Z) : M S Z :=", "ret (wrapu 64 (a + b))"},
		coq:   "Example e : add (S:=unit) 18446744073709551615 2 tt [] = Ok 1 tt [] := eq_refl."},
	{name: "signed narrow wraps", src: `func neg(a int8) int8 { return -a }`,
		shape: []string{"wraps 8 (- a)"},
		coq:   "Example e : neg (S:=unit) (-128) tt [] = Ok (-128) tt [] := eq_refl."},
	{name: "conversion narrows", src: `func lo(a uint64) uint8 { return uint8(a) }
func widen(a uint8) int { return int(a) }`,
		shape: []string{"ret (wrapu 8 a)", "ret a"},
		coq:   "Example e : lo (S:=unit) 513 tt [] = Ok 1 tt [] := eq_refl."},
	{name: "division fails on zero", src: `func div(a, b uint64) uint64 { return a / b }
func sdiv(a, b int64) int64 { return a / b }`,
		shape: []string{"divu a b", "divs 64 a b"},
		coq: `Example e1 : div (S:=unit) 7 0 tt [] = Fail DivideByZero := eq_refl.
Example e2 : sdiv (S:=unit) (-7) 2 tt [] = Ok (-3) tt [] := eq_refl.`},
	{name: "signed shift count", src: `func sh(a uint64, n int) uint64 { return a << n }`,
		shape: []string{"shcount n", "shl 64 false a"},
		coq: `Example e1 : sh (S:=unit) 1 (-1) tt [] = Fail NegativeShift := eq_refl.
Example e2 : sh (S:=unit) 1 64 tt [] = Ok 0 tt [] := eq_refl.
Example e3 : sh (S:=unit) 3 62 tt [] = Ok 13835058055282163712 tt [] := eq_refl.`},
	{name: "shift by a huge count", src: `func r(a, n uint64) uint64 { return a >> n }
func sr(a int64, n uint64) int64 { return a >> n }`,
		shape: []string{"shr a n"},
		coq: `Example e1 : r (S:=unit) 5 9223372036854775808 tt [] = Ok 0 tt [] := eq_refl.
Example e2 : sr (S:=unit) (-5) 9223372036854775808 tt [] = Ok (-1) tt [] := eq_refl.
Example e3 : sr (S:=unit) (-5) 1 tt [] = Ok (-3) tt [] := eq_refl.`},
	{name: "array index and update", src: `func get(a [4]uint64, i int) uint64 { return a[i] }
func set(a [4]uint64, i int) [4]uint64 { a[i] = 7; return a }`,
		shape: []string{"idx a i", "upd a i 7"},
		coq: `Example e1 : get (S:=unit) [1;2;3;4] 4 tt [] = Fail IndexOutOfRange := eq_refl.
Example e2 : set (S:=unit) [1;2;3;4] 1 tt [] = Ok [1;7;3;4] tt [] := eq_refl.`},
	{name: "slice expression", src: `type T struct{ xs []uint64 }
func tail(t T) uint64 { return uint64(len(t.xs[1:])) }`,
		shape: []string{"subslice (T_xs t) 1 (len (T_xs t))"},
		coq:   "Example e : tail (S:=unit) (mk_T [5;6;7]) tt [] = Ok 2 tt [] := eq_refl."},
	{name: "counted loop has its bound as fuel", src: `func sum(n uint64) uint64 {
	s := uint64(0)
	for i := uint64(0); i < n; i++ { s += i }
	return s
}`,
		shape: []string{"loop (X:=Empty_set) (n - i)", "(fun '(s, i) => ret (i <? n))", "ret (Continue (s, i))"},
		coq:   "Example e : sum (S:=unit) 5 tt [] = Ok 10 tt [] := eq_refl."},
	{name: "range over an array", src: `func count(a [3]bool) int {
	n := 0
	for _, b := range a { if b { n++ } }
	return n
}`,
		shape: []string{"loop (X:=Empty_set) 3", "idx t'2 t'1"},
		coq:   "Example e : count (S:=unit) [true; false; true] tt [] = Ok 2 tt [] := eq_refl."},
	{name: "break and return in a loop", src: `func find(a [4]uint64, v uint64) int {
	at := -1
	for i := 0; i < 4; i++ {
		if a[i] == v { at = i; break }
		if a[i] == 0 { return -2 }
	}
	return at
}`,
		shape: []string{"Break", "Leave (-2)", "| Jump x'j => ret x'j"},
		coq: `Example e1 : find (S:=unit) [1;2;3;4] 3 tt [] = Ok 2 tt [] := eq_refl.
Example e2 : find (S:=unit) [1;0;3;4] 3 tt [] = Ok (-2) tt [] := eq_refl.`},
	{name: "if joins the locals it assigns", src: `func pick(c bool, a, b uint64) uint64 {
	x, y := a, b
	if c { x = b } else { y = a }
	return x + y
}`,
		shape: []string{"let! '(x, y) := (if c then", "ret (x, y)"},
		coq:   "Example e : pick (S:=unit) true 1 2 tt [] = Ok 4 tt [] := eq_refl."},
	{name: "switch is a chain of ifs, default last", src: `func name(s int64) uint64 {
	switch s {
	default:
		return 9
	case 0:
		return 1
	case -1, -2:
		return 2
	}
}`,
		shape: []string{"let t'1 := s in", "if t'1 =? 0 then", "(t'1 =? (-1)) || (t'1 =? (-2))"},
		coq:   "Example e : name (S:=unit) (-2) tt [] = Ok 2 tt [] := eq_refl."},
	{name: "method on a pointer stores through a place", src: `type R struct{ n uint64; xs [2]uint64 }
func (r *R) bump(i int) { r.n++; r.xs[i] = r.n }`,
		shape: []string{"Definition R_bump {S : Type} (r : (ptr S R)) (i : Z) : M S unit :=",
			"pfield r R_n set_R_n", "store", "pindex"},
		coq: `Example e1 : R_bump root 1 (mk_R 4 [0;0]) [] = Ok tt (mk_R 5 [0;5]) [] := eq_refl.
Example e2 : R_bump root 2 (mk_R 4 [0;0]) [] = Fail IndexOutOfRange := eq_refl.
Example e3 : R_bump (Nil (S:=R)) 0 (mk_R 4 [0;0]) [] = Fail NilDereference := eq_refl.`},
	{name: "nil pointers", src: `type V struct{ live bool }
type E struct{ vms [2]V }
func (e *E) live(i int) *V {
	if !e.vms[i].live { return nil }
	return &e.vms[i]
}
func (e *E) isLive(i int) bool { return e.live(i) != nil }`,
		shape: []string{"ret Nil", "negb (is_nil t'"},
		coq:   "Example e : E_isLive root 1 (mk_E [mk_V false; mk_V true]) [] = Ok true (mk_E [mk_V false; mk_V true]) [] := eq_refl."},
	{name: "Platform calls are events", src: platformSrc + `type E struct{ plat Platform }
func (e *E) zero(pa uint64) { e.plat.ZeroPages(pa, 1) }`,
		shape: []string{"Record Platform := mk_Platform {", "Platform_PageIsZero : list event -> Z -> bool",
			"E_plat : (iface Platform)", `call_iface (E_plat t'1) "ZeroPages" [pa; 1]`},
		coq: `Definition p := mk_Platform (fun _ _ => true).
Example e1 : E_zero root 4096 (mk_E (Some p)) [] = Ok tt (mk_E (Some p)) [mkEvent "ZeroPages" [4096; 1]] := eq_refl.
Example e2 : E_zero root 4096 (mk_E None) [] = Fail NilDereference := eq_refl.`},
	{name: "Platform method with results is the platform's answer", src: `type Platform interface {
	Probe(pa uint64) bool
	Fill(n uint64, x *[2]uint64) uint64
}
type E struct{ plat Platform; regs [2]uint64 }
func (e *E) zero(pa uint64) bool { return e.plat.Probe(pa) }
func (e *E) fill(n uint64) uint64 { return e.plat.Fill(n, &e.regs) + e.regs[1] }`,
		shape: []string{"Platform_Fill : list event -> Z -> (list Z) -> Z * (list Z);", "Platform_Probe : list event -> Z -> bool",
			"get_platform", "trace_now", "Platform_Probe", `emit "Probe" [pa]`,
			"deref", "Platform_Fill", "store", `emit "Fill" [n]`},
		coq: `(* The methods in the order go/types lists them: by name. *)
Definition p := mk_Platform (fun tr n x => (n, [n; n + len tr]))
  (fun tr pa => Nat.eqb (List.length tr) 0 && (pa =? 4096)).
Example e1 : E_zero root 4096 (mk_E (Some p) [0; 0]) [] = Ok true (mk_E (Some p) [0; 0]) [mkEvent "Probe" [4096]] := eq_refl.
Example e2 : E_zero root 4096 (mk_E (Some p) [0; 0]) [mkEvent "Probe" [1]] =
  Ok false (mk_E (Some p) [0; 0]) [mkEvent "Probe" [4096]; mkEvent "Probe" [1]] := eq_refl.
Example e3 : E_fill root 5 (mk_E (Some p) [0; 0]) [mkEvent "Probe" [1]] =
  Ok 11 (mk_E (Some p) [5; 6]) [mkEvent "Fill" [5]; mkEvent "Probe" [1]] := eq_refl.
Example e4 : E_zero root 4096 (mk_E None [0; 0]) [] = Fail NilDereference := eq_refl.`},
	{name: "Platform method with two results", src: `type Platform interface{ Two() (uint64, bool) }`,
		refuse: "Platform method Two with 2 results"},
	{name: "panic is a failure", src: `func must(ok bool) uint64 { if !ok { panic("broken") }; return 1 }`,
		shape: []string{`fail (Panic "broken"%string)`},
		coq:   `Example e : must (S:=unit) false tt [] = Fail (Panic "broken") := eq_refl.`},
	{name: "short circuit keeps the right operand's failure unreached", src: `func first(a [1]uint64, i int) bool { return i < 1 && a[i] == 0 }`,
		shape: []string{"(if (i <? 1) then (let! t'1 := idx a i in ret (t'1 =? 0)) else ret false)"},
		coq:   "Example e : first (S:=unit) [0] 5 tt [] = Ok false tt [] := eq_refl."},
	{name: "package variable never assigned is a definition", src: `type A struct{ p uint8 }
var all = A{p: 7}
func get() uint8 { return all.p }`,
		shape: []string{"Definition all : A := mk_A 7."}},

	{name: "address of a local for a read-only parameter is the value", src: `type U struct{ d uint64; unmap bool }
type E struct{ n uint64 }
func shift(u *U, x uint64) uint64 { if u.unmap { return 0 }; return x + u.d }
func twice(u *U, x uint64) uint64 { y := shift(u, x); return shift(u, y) }
func (e *E) run(d uint64) uint64 { u := U{d: d}; e.n = twice(&u, e.n); return e.n }`,
		shape: []string{"Definition shift {S : Type} (u : U) (x : Z)", "Definition twice {S : Type} (u : U)", "shift u x", "twice u"},
		coq:   "Example e : E_run root 3 (mk_E 1) [] = Ok 7 (mk_E 7) [] := eq_refl."},
	{name: "address of a local for a parameter written through", src: `type U struct{ d uint64 }
func set(u *U) { u.d = 1 }
func f() uint64 { var u U; set(&u); return u.d }`, refuse: "address of a local variable (u)"},
	{name: "read-only slice parameter is a list", src: `type R struct{ lo, hi uint64 }
func inR(a uint64, rs []R) bool {
	for _, r := range rs { if r.lo <= a && a < r.hi { return true } }
	return false
}
func first(rs []R) uint64 { if len(rs) == 0 { return 0 }; return rs[0].lo }
type C struct{ rs []R }
func (c *C) has(a uint64) bool { return inR(a, c.rs) }`,
		shape: []string{"Definition inR {S : Type} (a : Z) (rs : (list R)) : M S bool :=",
			"Definition C_has {S : Type} (c : (ptr S C)) (a : Z) : M S bool :="},
		coq: `Example e1 : inR (S:=unit) 5 [mk_R 1 2; mk_R 4 6] tt [] = Ok true tt [] := eq_refl.
Example e2 : inR (S:=unit) 6 [mk_R 1 2; mk_R 4 6] tt [] = Ok false tt [] := eq_refl.
Example e3 : first (S:=unit) [] tt [] = Ok 0 tt [] := eq_refl.
Example e4 : C_has root 1 (mk_C [mk_R 1 2]) [] = Ok true (mk_C [mk_R 1 2]) [] := eq_refl.`},
	{name: "slice parameter written through", src: `func set(xs []uint64) { xs[0] = 1 }`,
		refuse: "slice parameter xs written, reassigned or escaping"},
	{name: "slice parameter escaping", src: `func keep(xs []uint64) []uint64 { return xs }`,
		refuse: "slice parameter xs written, reassigned or escaping"},
	{name: "slice parameter passed on to one written through", src: `func pass(ys []uint64) { set(ys) }
func set(xs []uint64) { xs[0] = 1 }`,
		refuse: "slice parameter ys written, reassigned or escaping"},
	{name: "copy into a window of an array", src: `func put(x [4]uint64, y [2]uint64, i int) [4]uint64 { copy(x[i:], y[:]); return x }
func some(c bool, x [2]uint64, y [3]uint64) [2]uint64 { if c { copy(x[1:], y[:]) }; return x }
type T struct{ a [3]uint64 }
func (t *T) head(y [4]uint64) { copy(t.a[:2], y[:]) }`,
		shape: []string{"subslice", "copy_into", "store"},
		coq: `Example e1 : put (S:=unit) [1;2;3;4] [7;8] 1 tt [] = Ok [1;7;8;4] tt [] := eq_refl.
Example e2 : put (S:=unit) [1;2;3;4] [7;8] 3 tt [] = Ok [1;2;3;7] tt [] := eq_refl.
Example e3 : put (S:=unit) [1;2;3;4] [7;8] 5 tt [] = Fail IndexOutOfRange := eq_refl.
Example e4 : some (S:=unit) true [1;2] [7;8;9] tt [] = Ok [1;7] tt [] := eq_refl.
Example e5 : some (S:=unit) false [1;2] [7;8;9] tt [] = Ok [1;2] tt [] := eq_refl.
Example e6 : T_head root [7;8;9;10] (mk_T [1;2;3]) [] = Ok tt (mk_T [7;8;3]) [] := eq_refl.`},
	{name: "copy into a slice", src: `type T struct{ s []uint64 }
func (t *T) f(y [2]uint64) { copy(t.s[:], y[:]) }`, refuse: "copy into a slice of []uint64, not of an array"},
	{name: "copy's count", src: `func f(x [2]uint64, y [2]uint64) int { return copy(x[:], y[:]) }`, refuse: "copy used as a value"},
	{name: "goroutine", src: `func f() { go f() }`, refuse: "go statement"},
	{name: "defer", src: `func f() { defer f() }`, refuse: "defer"},
	{name: "map", src: `func f(m map[int]int) int { return m[0] }`, refuse: "map type"},
	{name: "closure", src: `func f() int { g := func() int { return 1 }; return g() }`, refuse: "closure"},
	{name: "recursion spends a depth fuel", src: `func even(n uint64) bool { if n == 0 { return true }; return odd(n - 1) }
func odd(n uint64) bool { if n == 0 { return false }; return even(n - 1) }
func isEven(n uint64) bool { return even(n) }`,
		shape: []string{"Fixpoint", "even {S : Type} (depth'rec : nat)", "@odd S depth' (wrapu 64 (n - 1))", "with", "odd {S : Type}", "even rec_fuel n"},
		coq: `Example e1 : isEven (S:=unit) 10 tt [] = Ok true tt [] := eq_refl.
Example e2 : isEven (S:=unit) 100 tt [] = Fail OutOfFuel := eq_refl.`},
	{name: "math/bits", src: `import "math/bits"
func lz(x uint64) int { return bits.LeadingZeros64(x) }`,
		shape: []string{"bits_LeadingZeros64 x"},
		coq: `Example e1 : lz (S:=unit) 1 tt [] = Ok 63 tt [] := eq_refl.
Example e2 : lz (S:=unit) 0 tt [] = Ok 64 tt [] := eq_refl.
Example e3 : lz (S:=unit) 18446744073709551615 tt [] = Ok 0 tt [] := eq_refl.`},
	{name: "recursive type", src: `type T struct{ kids []T }`, refuse: "cycle: T -> T"},
	{name: "local slice", src: `func f(a [4]int) int { b := a[1:]; return b[0] }`, refuse: "local slice variable b"},
	{name: "other interface", src: `type I interface{ M() }`, refuse: "interface I"},
	{name: "break in a switch", src: `func f(x int) { for { switch x { case 1: break }; return } }`, refuse: "break inside a switch"},
	{name: "pointer field", src: `type T struct{ p *int }`, refuse: "pointer inside a type declaration"},
}

func pkgName(i int) string { return "c" + strings.Repeat("x", i) }

func translateSrc(t *testing.T, name, src string) *Result {
	t.Helper()
	l := NewLoader(t.TempDir(), "example")
	p, err := l.LoadSource("example/"+name, map[string]string{name + ".go": "package " + name + "\n" + src})
	require.NoError(t, err)
	return NewTranslator(l, Options{Prefix: "T"}).Translate(p)
}

func TestConstructs(t *testing.T) {
	for i, c := range constructs {
		t.Run(c.name, func(t *testing.T) {
			res := translateSrc(t, pkgName(i), c.src)
			if c.refuse != "" {
				require.NotEmpty(t, res.Refusals, "translation:\n%s", res.Coq)
				assert.Contains(t, res.Refusals[0].String(), c.refuse)
				assert.Regexp(t, `^\S+\.go:\d+: `, res.Refusals[0].String())
				return
			}
			require.Empty(t, res.Refusals)
			rest := res.Coq
			for _, s := range c.shape {
				i := strings.Index(rest, s)
				if !assert.GreaterOrEqual(t, i, 0, "%q not found, in order, in:\n%s", s, res.Coq) {
					return
				}
				rest = rest[i+len(s):]
			}
		})
	}
}

// TestPlantedSwitch checks that the bool variables of a FalseVars package
// are read as false, and the one TrueVars names as true, in the package
// that uses them, and that the package's other variables are unaffected.
func TestPlantedSwitch(t *testing.T) {
	const use = `package user
import "example/plant"
var limit uint64
func zero() bool { return !plant.SkipZero }
func owner() bool { return plant.SkipOwner || limit > 0 }
`
	translate := func(on []string) string {
		l := NewLoader(t.TempDir(), "example")
		_, err := l.LoadSource("example/plant", map[string]string{"plant.go": "package plant\nvar SkipZero, SkipOwner bool\n"})
		require.NoError(t, err)
		p, err := l.LoadSource("example/user", map[string]string{"user.go": use})
		require.NoError(t, err)
		res := NewTranslator(l, Options{Prefix: "T", FalseVars: []string{"example/plant"}, TrueVars: on}).Translate(p)
		require.Empty(t, res.Refusals)
		return res.Coq
	}
	off := translate(nil)
	assert.Contains(t, off, "ret (negb false)")
	assert.Contains(t, off, "ret (false || (limit >? 0))")
	assert.NotContains(t, off, "SkipZero")
	on := translate([]string{"example/plant.SkipZero"})
	assert.Contains(t, on, "ret (negb true)")
	assert.Contains(t, on, "ret (false || (limit >? 0))", "only the named switch is on")
	other := translate([]string{"example/plant.SkipOwner"})
	assert.Contains(t, other, "ret (negb false)")
	assert.Contains(t, other, "ret (true || (limit >? 0))")
	assert.Contains(t, other, "Definition limit : Z := 0.", "a variable of another package is translated as itself")
}

// TestConstructsCompile checks every translation above, and the examples
// that compute it, with coqc.
func TestConstructsCompile(t *testing.T) {
	if _, err := exec.LookPath("coqc"); err != nil {
		t.Skip("coqc not installed")
	}
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "GoCoq.v"), []byte(Runtime), 0o644))
	coqc := func(file string) {
		out, err := exec.Command("coqc", "-q", "-Q", dir, "T", filepath.Join(dir, file)).CombinedOutput()
		require.NoError(t, err, "coqc %s:\n%s", file, out)
	}
	coqc("GoCoq.v")
	for i, c := range constructs {
		if c.refuse != "" {
			continue
		}
		res := translateSrc(t, pkgName(i), c.src)
		file := res.Module + ".v"
		require.NoError(t, os.WriteFile(filepath.Join(dir, file), []byte(res.Coq+"\n"+c.coq+"\n"), 0o644))
		t.Run(c.name, func(t *testing.T) { coqc(file) })
	}
}

// TestIsolationCore translates the real core and checks that the lint
// finds nothing new in what this step covers: the ABI, addresses and the
// ledger translate whole.
func TestIsolationCore(t *testing.T) {
	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	l := NewLoader(root, "bulkhead")
	tr := NewTranslator(l, Options{Prefix: "Bulkhead.Code", FalseVars: []string{"bulkhead/isolation/internal/plant"}})
	for _, path := range []string{"bulkhead/isolation/abi", "bulkhead/isolation"} {
		p, err := l.Load(path)
		require.NoError(t, err)
		res := tr.Translate(p)
		for _, r := range res.Refusals {
			for _, covered := range []string{"isolation/addr.go", "isolation/ledger.go"} {
				assert.NotEqual(t, covered, r.Pos.Filename, "refused in a covered file: %s", r)
			}
		}
		if path == "bulkhead/isolation" {
			for _, name := range []string{"Definition pageRange", "Definition Engine_setOwner", "Definition page_ownedBy",
				"Definition Engine_MemInfo", "Definition Engine_VMCreate", "Definition Engine_VCPUInit", "Definition Engine_VCPUIRQ",
				"Definition Engine_VMDestroy", "Definition Engine_MemDonate", "Definition Engine_MemShare", "Definition Engine_MemReclaim",
				"Definition Engine_MemUnshare", "Definition Engine_GuestShare", "Definition Engine_GuestUnshare",
				"Definition Engine_GuestRelinquish", "Definition FilterTrap", "Definition Engine_MMIOShadow",
				"Definition Engine_VCPURun", "Definition Engine_Dispatch"} {
				assert.Contains(t, res.Coq, name)
			}
		}
	}
}
