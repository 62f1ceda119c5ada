package gocoq

import (
	_ "embed"
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"path/filepath"
	"sort"
	"strings"
	"unicode"
)

// Runtime is GoCoq.v, the Coq definitions every translation uses.
//
//go:embed runtime/GoCoq.v
var Runtime string

// Options tune a translation.
type Options struct {
	// Prefix is the Coq logical path the generated files live under, as
	// given to coqc with -Q (for example Bulkhead.Code).
	Prefix string
	// FalseVars lists packages whose package-level bool variables are read
	// as false: switches that only tests set (isolation/internal/plant).
	FalseVars []string
	// TrueVars names package-level bool variables of those packages, as
	// path.Name, that are read as true instead: one planted bug switched
	// on, to show that a proof about the translation catches it.
	TrueVars []string
}

// Refusal is a construct outside the subset, at a position.
type Refusal struct {
	Pos       token.Position
	Construct string
}

func (r Refusal) String() string {
	return fmt.Sprintf("%s:%d: %s", r.Pos.Filename, r.Pos.Line, r.Construct)
}

// Result is the translation of one package.
type Result struct {
	Module   string // the Coq module: the file is Module + ".v"
	Coq      string
	Refusals []Refusal // constructs outside the subset, in source order
	// Dropped names the declarations left out because they use a refused
	// one, with the one they use.
	Dropped []string
	// Decls and Translated count the package's declarations (types,
	// constants, variables, functions and methods) and those translated.
	Decls, Translated int
	objs              map[types.Object]string
}

// refusal is the panic that abandons the translation of a declaration.
type refusal struct {
	pos  token.Pos
	what string
}

// Translator translates packages in dependency order; a package may use
// what an earlier one translated.
type Translator struct {
	L    *Loader
	Opts Options
	done map[*types.Package]*Result
}

// NewTranslator returns a translator over the packages l loads.
func NewTranslator(l *Loader, o Options) *Translator {
	return &Translator{L: l, Opts: o, done: map[*types.Package]*Result{}}
}

// ModuleName is the Coq module a Go package becomes: its name, capitalised.
func ModuleName(pkgName string) string {
	r := []rune(pkgName)
	r[0] = unicode.ToUpper(r[0])
	return string(r)
}

// decl is one top-level declaration being translated.
type decl struct {
	obj  types.Object
	pos  token.Pos
	text string
	deps map[types.Object]bool
	err  *refusal
}

// pkgTr is the translation of one package in progress.
type pkgTr struct {
	t       *Translator
	p       *Package
	mod     string
	names   map[types.Object]string // Coq names of this package's top-level objects
	taken   map[string]bool
	cur     *decl
	imps    map[string]bool // Coq modules required
	falseV  map[string]bool
	trueV   map[string]bool     // path.Name of the FalseVars read as true
	group   map[*types.Func]int // recursive groups
	byVal   map[*types.Var]bool // pointer parameters passed by value
	roSlice map[*types.Var]bool // slice parameters only read, passed by value
}

// Translate translates p; the packages it imports must have been translated
// first if it uses them.
func (t *Translator) Translate(p *Package) *Result {
	pt := &pkgTr{t: t, p: p, mod: ModuleName(p.Name), names: map[types.Object]string{},
		taken: map[string]bool{}, imps: map[string]bool{}, falseV: map[string]bool{}, trueV: map[string]bool{},
		group: recursiveGroups(p), byVal: byValueParams(p), roSlice: readOnlySliceParams(p)}
	for _, v := range t.Opts.FalseVars {
		pt.falseV[v] = true
	}
	for _, v := range t.Opts.TrueVars {
		pt.trueV[v] = true
	}
	for n := range reserved {
		pt.taken[n] = true
	}
	decls := pt.collect()
	for _, d := range decls {
		pt.translateDecl(d)
	}
	res := pt.assemble(decls)
	t.done[p.Types] = res
	return res
}

// collect lists the package's declarations in source order and names them.
func (pt *pkgTr) collect() []*decl {
	var ds []*decl
	add := func(obj types.Object, pos token.Pos) {
		ds = append(ds, &decl{obj: obj, pos: pos, deps: map[types.Object]bool{}})
	}
	for _, f := range pt.p.Files {
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.GenDecl:
				for _, s := range d.Specs {
					switch s := s.(type) {
					case *ast.TypeSpec:
						add(pt.p.Info.Defs[s.Name], s.Pos())
					case *ast.ValueSpec:
						for _, n := range s.Names {
							if n.Name != "_" {
								add(pt.p.Info.Defs[n], n.Pos())
							}
						}
					}
				}
			case *ast.FuncDecl:
				add(pt.p.Info.Defs[d.Name], d.Pos())
			}
		}
	}
	for _, d := range ds {
		pt.names[d.obj] = pt.fresh(pt.goName(d.obj))
	}
	return ds
}

// goName is the name an object gets in Coq before escaping: methods are
// Type_method.
func (pt *pkgTr) goName(o types.Object) string {
	if f, ok := o.(*types.Func); ok {
		if recv := f.Type().(*types.Signature).Recv(); recv != nil {
			return recvTypeName(recv.Type()) + "_" + f.Name()
		}
	}
	return o.Name()
}

func recvTypeName(t types.Type) string {
	if p, ok := t.(*types.Pointer); ok {
		t = p.Elem()
	}
	if n, ok := t.(*types.Named); ok {
		return n.Obj().Name()
	}
	return "recv"
}

// fresh returns n, primed until it is not taken, and takes it.
func (pt *pkgTr) fresh(n string) string {
	for pt.taken[n] {
		n += "'"
	}
	pt.taken[n] = true
	return n
}

// refuse abandons the current declaration.
func refuse(n ast.Node, format string, args ...any) {
	var pos token.Pos
	if n != nil {
		pos = n.Pos()
	}
	panic(&refusal{pos: pos, what: fmt.Sprintf(format, args...)})
}

func (pt *pkgTr) translateDecl(d *decl) {
	pt.cur = d
	defer func() {
		if r := recover(); r != nil {
			rf, ok := r.(*refusal)
			if !ok {
				panic(r)
			}
			if !rf.pos.IsValid() {
				rf.pos = d.pos
			}
			d.err = rf
		}
	}()
	switch o := d.obj.(type) {
	case *types.TypeName:
		d.text = pt.typeDecl(o)
	case *types.Const:
		d.text = pt.constDecl(o)
	case *types.Var:
		d.text = pt.varDecl(o)
	case *types.Func:
		d.text = pt.funcDecl(o)
	}
}

// use records that the current declaration needs o and returns its Coq name.
func (pt *pkgTr) use(o types.Object, at ast.Node) string {
	if o.Pkg() == pt.p.Types {
		n, ok := pt.names[o]
		if !ok {
			refuse(at, "use of %s, which is not a top-level declaration", o.Name())
		}
		pt.cur.deps[o] = true
		return n
	}
	r := pt.t.done[o.Pkg()]
	if r == nil {
		refuse(at, "use of %s.%s: package %s is not translated", o.Pkg().Name(), o.Name(), o.Pkg().Path())
	}
	n, ok := r.objs[o]
	if !ok {
		refuse(at, "use of %s.%s, which its package does not translate", o.Pkg().Name(), o.Name())
	}
	pt.imps[r.Module] = true
	return r.Module + "." + n
}

// assemble drops the declarations that use refused ones and orders the rest
// so that each comes after what it uses.
func (pt *pkgTr) assemble(ds []*decl) *Result {
	res := &Result{Module: pt.mod, objs: map[types.Object]string{}, Decls: len(ds)}
	byObj := map[types.Object]*decl{}
	for _, d := range ds {
		byObj[d.obj] = d
	}
	for _, d := range ds {
		if d.err != nil {
			res.Refusals = append(res.Refusals, Refusal{Pos: pt.relPos(d.err.pos), Construct: d.err.what})
		}
	}
	// A recursive group of functions is one node, emitted as one Fixpoint;
	// any other cycle of uses (a recursive type) is refused.
	rep := func(d *decl) *decl { return d }
	members := map[*decl][]*decl{}
	groupRep := map[int]*decl{}
	for _, d := range ds {
		if f, ok := d.obj.(*types.Func); ok {
			if g, rec := pt.group[f]; rec {
				if groupRep[g] == nil {
					groupRep[g] = d
				}
				members[groupRep[g]] = append(members[groupRep[g]], d)
				continue
			}
		}
		members[d] = []*decl{d}
	}
	rep = func(d *decl) *decl {
		if f, ok := d.obj.(*types.Func); ok {
			if g, rec := pt.group[f]; rec {
				return groupRep[g]
			}
		}
		return d
	}
	for _, ms := range members {
		for _, m := range ms {
			if m.err == nil {
				continue
			}
			for _, o := range ms {
				if o.err == nil {
					o.err = &refusal{pos: o.pos, what: "in a recursive group with " + pt.names[m.obj]}
					res.Dropped = append(res.Dropped, fmt.Sprintf("%s (recursive with %s)", pt.names[o.obj], pt.names[m.obj]))
				}
			}
			break
		}
	}
	state := map[*decl]int{}
	var order []*decl
	var visit func(r *decl, stack []*decl)
	visit = func(r *decl, stack []*decl) {
		switch state[r] {
		case 1:
			if r.err == nil {
				r.err = &refusal{pos: r.pos, what: "cycle: " + cycleNames(pt, stack, r)}
				res.Refusals = append(res.Refusals, Refusal{Pos: pt.relPos(r.pos), Construct: r.err.what})
			}
			return
		case 2:
			return
		}
		state[r] = 1
		for _, d := range members[r] {
			for _, o := range sortedObjs(d.deps) {
				dep := byObj[o]
				if dep == nil {
					continue
				}
				if rep(dep) == r {
					if _, isFunc := r.obj.(*types.Func); !isFunc && r.err == nil {
						r.err = &refusal{pos: r.pos, what: "cycle: " + pt.names[r.obj] + " -> " + pt.names[r.obj]}
						res.Refusals = append(res.Refusals, Refusal{Pos: pt.relPos(r.pos), Construct: r.err.what})
					}
					continue
				}
				visit(rep(dep), append(stack, r))
				if rep(dep).err != nil && d.err == nil {
					for _, m := range members[r] {
						if m.err == nil {
							m.err = &refusal{pos: m.pos, what: "uses " + pt.names[o]}
							res.Dropped = append(res.Dropped, fmt.Sprintf("%s (uses %s)", pt.names[m.obj], pt.names[o]))
						}
					}
				}
			}
		}
		state[r] = 2
		order = append(order, r)
	}
	for _, d := range ds {
		visit(rep(d), nil)
	}
	sort.SliceStable(res.Refusals, func(i, j int) bool {
		a, b := res.Refusals[i].Pos, res.Refusals[j].Pos
		if a.Filename != b.Filename {
			return a.Filename < b.Filename
		}
		return a.Line < b.Line
	})
	var body strings.Builder
	for _, r := range order {
		ms := members[r]
		if r.err != nil {
			continue
		}
		var texts []string
		for _, d := range ms {
			res.Translated++
			res.objs[d.obj] = pt.names[d.obj]
			texts = append(texts, d.text)
		}
		if f, ok := r.obj.(*types.Func); ok && pt.group[f] != 0 {
			body.WriteString("Fixpoint " + strings.Join(texts, "\nwith ") + ".\n\n")
			continue
		}
		body.WriteString(texts[0])
		body.WriteString("\n")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "(** Generated by gocoq from the Go package %s. Do not edit. *)\n\n", pt.p.Path)
	b.WriteString("From Coq Require Import ZArith Bool List String.\n")
	fmt.Fprintf(&b, "From %s Require Import GoCoq.\n", pt.t.Opts.Prefix)
	for _, m := range sortedKeys(pt.imps) {
		fmt.Fprintf(&b, "From %s Require %s.\n", pt.t.Opts.Prefix, m)
	}
	b.WriteString("Import ListNotations.\nOpen Scope Z_scope.\nOpen Scope bool_scope.\n\n")
	b.WriteString(body.String())
	res.Coq = b.String()
	return res
}

func cycleNames(pt *pkgTr, stack []*decl, d *decl) string {
	var names []string
	on := false
	for _, s := range stack {
		if s == d {
			on = true
		}
		if on {
			names = append(names, pt.names[s.obj])
		}
	}
	return strings.Join(append(names, pt.names[d.obj]), " -> ")
}

func (pt *pkgTr) relPos(p token.Pos) token.Position {
	pos := pt.t.L.Fset.Position(p)
	if rel, err := filepath.Rel(pt.t.L.Root, pos.Filename); err == nil && !strings.HasPrefix(rel, "..") {
		pos.Filename = rel
	}
	return pos
}

func sortedObjs(m map[types.Object]bool) []types.Object {
	os := make([]types.Object, 0, len(m))
	for o := range m {
		os = append(os, o)
	}
	sort.Slice(os, func(i, j int) bool { return os[i].Pos() < os[j].Pos() })
	return os
}

func sortedKeys(m map[string]bool) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// reserved are names a Go identifier must not take in Coq: vernacular and
// term keywords, and the names of the runtime and the standard library the
// generated code uses.
var reserved = map[string]bool{}

func init() {
	for _, n := range strings.Fields(`as at cofix else end exists exists2 fix for forall fun if IF in let match
		mod open Prop return Set SProp then Type using where with struct is
		Definition Record Inductive Fixpoint Theorem Lemma Proof Qed Require Import Export From
		S O nat bool true false Z N list string unit tt pair fst snd option Some None
		ret bind fail emit M ptr Nil Place root deref store pfield pindex idx upd subslice copy_into len
		loop rep join Fall Jump step Continue Break Leave max_fuel iface is_set get_platform trace_now call_iface wrapu wraps
		andnot shl shr divu modu divs mods shcount is_nil failure outcome Ok Fail event
		Panic OutOfFuel IndexOutOfRange NilDereference DivideByZero NegativeShift repeat length
		negb andb orb xorb min max`) {
		reserved[n] = true
	}
}
