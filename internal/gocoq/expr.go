package gocoq

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"strings"
)

// fn translates the body of one function. Go expressions become a list of
// monadic binds (for the operations that read memory, call or may fail)
// followed by a pure Coq term.
type fn struct {
	pt     *pkgTr
	st     string // the memory type variable
	names  map[types.Object]string
	taken  map[string]bool
	tmp    int
	binds  []string
	conds  map[*ast.BadExpr]func() string // synthetic conditions of switch cases
	result []*types.Var                   // the function's results
}

func newFn(pt *pkgTr, st string) *fn {
	f := &fn{pt: pt, st: st, names: map[types.Object]string{}, taken: map[string]bool{},
		conds: map[*ast.BadExpr]func() string{}}
	for n := range pt.taken {
		f.taken[n] = true
	}
	f.taken[st] = true
	return f
}

// local returns the Coq name of a local variable, naming it on first sight.
func (f *fn) local(o types.Object) string {
	if n, ok := f.names[o]; ok {
		return n
	}
	n := o.Name()
	if n == "_" {
		return "_"
	}
	for f.taken[n] {
		n += "'"
	}
	f.taken[n] = true
	f.names[o] = n
	return n
}

func (f *fn) isLocal(o types.Object) bool {
	v, ok := o.(*types.Var)
	return ok && !v.IsField() && v.Parent() != f.pt.p.Types.Scope() && v.Pkg() == f.pt.p.Types
}

func (f *fn) newTmp() string {
	f.tmp++
	return fmt.Sprintf("t'%d", f.tmp)
}

// bind adds the monadic term m and returns the name of its value.
func (f *fn) bind(m string) string {
	t := f.newTmp()
	f.binds = append(f.binds, fmt.Sprintf("let! %s := %s in", t, m))
	return t
}

// sub translates with a fresh list of binds and returns them.
func (f *fn) sub(g func() string) (pre []string, term string) {
	saved := f.binds
	f.binds = nil
	term = g()
	pre = f.binds
	f.binds = saved
	return pre, term
}

// monadic turns binds and a pure term into one monadic term.
func monadic(pre []string, term string) string {
	if len(pre) == 0 {
		return "ret " + paren(term)
	}
	return "(" + strings.Join(pre, " ") + " ret " + paren(term) + ")"
}

func paren(s string) string {
	if strings.ContainsAny(s, " ") && !(strings.HasPrefix(s, "(") && strings.HasSuffix(s, ")") && balanced(s[1:len(s)-1])) {
		return "(" + s + ")"
	}
	return s
}

func balanced(s string) bool {
	d := 0
	for _, c := range s {
		switch c {
		case '(':
			d++
		case ')':
			d--
			if d < 0 {
				return false
			}
		}
	}
	return d == 0
}

func (f *fn) typeOf(e ast.Expr) types.Type { return f.pt.p.Info.TypeOf(e) }

// expr translates e, adding the binds it needs.
func (f *fn) expr(e ast.Expr) string {
	info := f.pt.p.Info
	if tv, ok := info.Types[e]; ok && tv.Value != nil {
		if o := constRef(info, e); o != nil && o.Pkg() != nil && (o.Pkg() == f.pt.p.Types || f.pt.t.done[o.Pkg()] != nil) {
			return f.pt.use(o, e)
		}
		return constTerm(tv.Value, e)
	}
	switch e := e.(type) {
	case *ast.ParenExpr:
		return f.expr(e.X)
	case *ast.Ident:
		return f.ident(e)
	case *ast.BadExpr:
		if c, ok := f.conds[e]; ok {
			return c()
		}
	case *ast.BinaryExpr:
		return f.binary(e)
	case *ast.UnaryExpr:
		return f.unary(e)
	case *ast.StarExpr:
		return f.derefOf(e.X, f.expr(e.X))
	case *ast.SelectorExpr:
		return f.selector(e)
	case *ast.IndexExpr:
		if _, isMap := f.typeOf(e.X).Underlying().(*types.Map); isMap {
			refuse(e, "map index")
		}
		x := f.seqValue(e.X)
		i := f.expr(e.Index)
		return f.bind(fmt.Sprintf("idx %s %s", paren(x), paren(i)))
	case *ast.SliceExpr:
		return f.slice(e)
	case *ast.CallExpr:
		return f.call(e)
	case *ast.CompositeLit:
		return f.composite(e)
	case *ast.FuncLit:
		refuse(e, "closure")
	case *ast.TypeAssertExpr:
		refuse(e, "type assertion")
	}
	refuse(e, "expression %T", e)
	return ""
}

// byValue reports whether x is a pointer parameter passed by value.
func (f *fn) byValue(x ast.Expr) bool {
	id := ident(x)
	if id == nil {
		return false
	}
	v, ok := f.pt.p.Info.Uses[id].(*types.Var)
	return ok && f.pt.byVal[v]
}

// derefOf reads what pointer x (translated to v) points to: the value
// itself for a parameter passed by value.
func (f *fn) derefOf(x ast.Expr, v string) string {
	if f.byValue(x) {
		return v
	}
	return f.bind("deref " + paren(v))
}

// exprAs translates e where a value of type t is expected, which gives an
// untyped nil its type.
func (f *fn) exprAs(e ast.Expr, t types.Type) string {
	if id := ident(e); id != nil {
		if _, isNil := f.pt.p.Info.Uses[id].(*types.Nil); isNil {
			return f.nilOf(t, e)
		}
	}
	return f.expr(e)
}

// seqValue is the value of an array or slice operand (through a pointer to
// an array, which Go indexes implicitly).
func (f *fn) seqValue(x ast.Expr) string {
	if p, ok := f.typeOf(x).Underlying().(*types.Pointer); ok {
		if _, arr := p.Elem().Underlying().(*types.Array); arr {
			return f.derefOf(x, f.expr(x))
		}
	}
	return f.expr(x)
}

// constRef returns the named constant e refers to, if it is one.
func constRef(info *types.Info, e ast.Expr) types.Object {
	switch e := e.(type) {
	case *ast.Ident:
		if c, ok := info.Uses[e].(*types.Const); ok {
			return c
		}
	case *ast.SelectorExpr:
		if _, sel := info.Selections[e]; !sel {
			if c, ok := info.Uses[e.Sel].(*types.Const); ok {
				return c
			}
		}
	case *ast.ParenExpr:
		return constRef(info, e.X)
	}
	return nil
}

func (f *fn) ident(e *ast.Ident) string {
	o := f.pt.p.Info.Uses[e]
	switch o := o.(type) {
	case *types.Var:
		if f.isLocal(o) {
			return f.local(o)
		}
		return f.pkgVar(o, e)
	case *types.Nil:
		return f.nilOf(f.typeOf(e), e)
	case *types.Builtin:
		refuse(e, "builtin %s as a value", o.Name())
	case *types.Func:
		refuse(e, "function value %s", o.Name())
	}
	refuse(e, "identifier %s", e.Name)
	return ""
}

func (f *fn) pkgVar(o *types.Var, at ast.Node) string {
	if f.pt.falseV[o.Pkg().Path()] && isBool(o.Type()) {
		if f.pt.trueV[o.Pkg().Path()+"."+o.Name()] {
			return "true"
		}
		return "false"
	}
	return f.pt.use(o, at)
}

func (f *fn) nilOf(t types.Type, at ast.Node) string {
	switch t.Underlying().(type) {
	case *types.Pointer:
		return "Nil"
	case *types.Slice:
		return "[]"
	case *types.Interface:
		return "None"
	}
	refuse(at, "nil of type %s", t)
	return ""
}

var cmpOps = map[token.Token]string{token.EQL: "=?", token.LSS: "<?", token.LEQ: "<=?", token.GTR: ">?", token.GEQ: ">=?"}

func (f *fn) binary(e *ast.BinaryExpr) string {
	switch e.Op {
	case token.LAND, token.LOR:
		return f.shortCircuit(e)
	case token.EQL, token.NEQ:
		eq := f.equal(e)
		if e.Op == token.NEQ {
			return "negb " + paren(eq)
		}
		return eq
	}
	t := f.typeOf(e.X)
	if isString(t) {
		refuse(e, "string operator %s", e.Op)
	}
	bits, signed, ok := intInfo(t)
	if !ok {
		refuse(e, "operator %s on %s", e.Op, t)
	}
	x := paren(f.expr(e.X))
	if e.Op == token.SHL || e.Op == token.SHR {
		y := f.expr(e.Y)
		if _, ys, _ := intInfo(f.typeOf(e.Y)); ys && f.pt.p.Info.Types[e.Y].Value == nil {
			y = f.bind("shcount " + paren(y))
		}
		if e.Op == token.SHL {
			return fmt.Sprintf("shl %d %v %s %s", bits, signed, x, paren(y))
		}
		return fmt.Sprintf("shr %s %s", x, paren(y))
	}
	y := paren(f.expr(e.Y))
	wrap := func(s string) string {
		if signed {
			return fmt.Sprintf("wraps %d (%s)", bits, s)
		}
		return fmt.Sprintf("wrapu %d (%s)", bits, s)
	}
	switch e.Op {
	case token.ADD:
		return wrap(x + " + " + y)
	case token.SUB:
		return wrap(x + " - " + y)
	case token.MUL:
		return wrap(x + " * " + y)
	case token.QUO:
		if signed {
			return f.bind(fmt.Sprintf("divs %d %s %s", bits, x, y))
		}
		return f.bind("divu " + x + " " + y)
	case token.REM:
		if signed {
			return f.bind("mods " + x + " " + y)
		}
		return f.bind("modu " + x + " " + y)
	case token.AND:
		return "Z.land " + x + " " + y
	case token.OR:
		return "Z.lor " + x + " " + y
	case token.XOR:
		return "Z.lxor " + x + " " + y
	case token.AND_NOT:
		return "andnot " + x + " " + y
	case token.LSS, token.LEQ, token.GTR, token.GEQ:
		return x + " " + cmpOps[e.Op] + " " + y
	}
	refuse(e, "operator %s", e.Op)
	return ""
}

// equal translates ==: integers, booleans, strings, and pointers, slices or
// interfaces against nil.
func (f *fn) equal(e *ast.BinaryExpr) string {
	info := f.pt.p.Info
	if _, isNil := info.Uses[ident(e.Y)].(*types.Nil); isNil {
		return f.isNil(e.X)
	}
	if _, isNil := info.Uses[ident(e.X)].(*types.Nil); isNil {
		return f.isNil(e.Y)
	}
	t := f.typeOf(e.X)
	x := paren(f.expr(e.X))
	y := paren(f.expr(e.Y))
	switch {
	case isBool(t):
		return "Bool.eqb " + x + " " + y
	case isString(t):
		return "String.eqb " + x + " " + y
	}
	if _, _, ok := intInfo(t); ok {
		return x + " =? " + y
	}
	refuse(e, "comparison of %s values", t)
	return ""
}

func ident(e ast.Expr) *ast.Ident {
	for {
		switch x := e.(type) {
		case *ast.ParenExpr:
			e = x.X
		case *ast.Ident:
			return x
		default:
			return nil
		}
	}
}

func (f *fn) isNil(x ast.Expr) string {
	v := paren(f.expr(x))
	switch f.typeOf(x).Underlying().(type) {
	case *types.Pointer:
		return "is_nil " + v
	case *types.Slice:
		return "(len " + v + " =? 0)"
	case *types.Interface:
		return "negb (is_set " + v + ")"
	}
	refuse(x, "comparison with nil")
	return ""
}

// shortCircuit translates && and ||: the right operand's binds run only
// when Go evaluates it.
func (f *fn) shortCircuit(e *ast.BinaryExpr) string {
	x := paren(f.expr(e.X))
	pre, y := f.sub(func() string { return f.expr(e.Y) })
	if len(pre) == 0 {
		if e.Op == token.LAND {
			return x + " && " + paren(y)
		}
		return x + " || " + paren(y)
	}
	if e.Op == token.LAND {
		return f.bind(fmt.Sprintf("(if %s then %s else ret false)", x, monadic(pre, y)))
	}
	return f.bind(fmt.Sprintf("(if %s then ret true else %s)", x, monadic(pre, y)))
}

func (f *fn) unary(e *ast.UnaryExpr) string {
	switch e.Op {
	case token.NOT:
		return "negb " + paren(f.expr(e.X))
	case token.AND:
		return f.place(e.X)
	case token.SUB, token.XOR:
		bits, signed, ok := intInfo(f.typeOf(e.X))
		if !ok {
			refuse(e, "operator %s on %s", e.Op, f.typeOf(e.X))
		}
		x := paren(f.expr(e.X))
		op := "- " + x
		if e.Op == token.XOR {
			op = "Z.lnot " + x
		}
		if signed {
			return fmt.Sprintf("wraps %d (%s)", bits, op)
		}
		return fmt.Sprintf("wrapu %d (%s)", bits, op)
	case token.ADD:
		return f.expr(e.X)
	}
	refuse(e, "operator %s", e.Op)
	return ""
}

// selector translates x.f: a field (through any pointers and embedded
// fields on the way), or a package-level name of another package.
func (f *fn) selector(e *ast.SelectorExpr) string {
	info := f.pt.p.Info
	sel, ok := info.Selections[e]
	if !ok {
		switch o := info.Uses[e.Sel].(type) {
		case *types.Var:
			return f.pkgVar(o, e)
		}
		refuse(e, "use of %s.%s as a value", e.X, e.Sel.Name)
	}
	if sel.Kind() != types.FieldVal {
		refuse(e, "method value %s", e.Sel.Name)
	}
	v := f.expr(e.X)
	t := f.typeOf(e.X)
	for k, i := range sel.Index() {
		if p, ok := t.Underlying().(*types.Pointer); ok {
			if k == 0 {
				v = f.derefOf(e.X, v)
			} else {
				v = f.bind("deref " + paren(v))
			}
			t = p.Elem()
		}
		st := t.Underlying().(*types.Struct)
		fld := st.Field(i)
		v = f.proj(t, fld, e) + " " + paren(v)
		t = fld.Type()
	}
	return v
}

// proj is the projection of field fld of struct type t.
func (f *fn) proj(t types.Type, fld *types.Var, at ast.Node) string {
	n, ok := t.(*types.Named)
	if !ok {
		refuse(at, "field of an unnamed struct")
	}
	rec := f.pt.use(n.Obj(), at)
	return f.pt.fieldName(rec, fld)
}

func (f *fn) setter(t types.Type, fld *types.Var, at ast.Node) string {
	return prefixed("set_", f.proj(t, fld, at))
}

func (f *fn) slice(e *ast.SliceExpr) string {
	if e.Slice3 {
		refuse(e, "three-index slice")
	}
	if isString(f.typeOf(e.X)) {
		refuse(e, "string slice")
	}
	x := paren(f.seqValue(e.X))
	lo, hi := "0", "(len "+x+")"
	if e.Low != nil {
		lo = paren(f.expr(e.Low))
	}
	if e.High != nil {
		hi = paren(f.expr(e.High))
	}
	return f.bind(fmt.Sprintf("subslice %s %s %s", x, lo, hi))
}

func (f *fn) composite(e *ast.CompositeLit) string {
	t := f.typeOf(e)
	switch u := t.Underlying().(type) {
	case *types.Struct:
		vals := make([]string, u.NumFields())
		for i := range vals {
			vals[i] = f.pt.zero(u.Field(i).Type(), e)
		}
		for i, el := range e.Elts {
			if kv, ok := el.(*ast.KeyValueExpr); ok {
				name := kv.Key.(*ast.Ident).Name
				for j := 0; j < u.NumFields(); j++ {
					if u.Field(j).Name() == name {
						vals[j] = paren(f.exprAs(kv.Value, u.Field(j).Type()))
					}
				}
			} else {
				vals[i] = paren(f.exprAs(el, u.Field(i).Type()))
			}
		}
		n, ok := t.(*types.Named)
		if !ok {
			refuse(e, "unnamed struct literal")
		}
		return prefixed("mk_", f.pt.use(n.Obj(), e)) + " " + strings.Join(vals, " ")
	case *types.Array, *types.Slice:
		var elem types.Type
		n := int64(-1)
		if a, ok := u.(*types.Array); ok {
			elem, n = a.Elem(), a.Len()
		} else {
			elem = u.(*types.Slice).Elem()
		}
		var vals []string
		for _, el := range e.Elts {
			if _, ok := el.(*ast.KeyValueExpr); ok {
				refuse(el, "keyed array or slice literal")
			}
			vals = append(vals, f.expr(el))
		}
		lit := "[" + strings.Join(vals, "; ") + "]"
		if n > int64(len(vals)) {
			lit = fmt.Sprintf("(%s ++ repeat %s %d)", lit, f.pt.zero(elem, e), n-int64(len(vals)))
		}
		return lit
	}
	refuse(e, "composite literal of %s", t)
	return ""
}

// place translates an addressable expression to the pointer &e.
func (f *fn) place(e ast.Expr) string {
	info := f.pt.p.Info
	switch x := e.(type) {
	case *ast.ParenExpr:
		return f.place(x.X)
	case *ast.StarExpr:
		return f.expr(x.X)
	case *ast.Ident:
		if o, ok := info.Uses[x].(*types.Var); ok && f.isLocal(o) {
			refuse(e, "address of a local variable (%s)", x.Name)
		}
		refuse(e, "address of a package variable (%s)", x.Name)
	case *ast.SelectorExpr:
		sel, ok := info.Selections[x]
		if !ok || sel.Kind() != types.FieldVal {
			refuse(e, "address of %s", x.Sel.Name)
		}
		t := f.typeOf(x.X)
		var p string
		if pp, isPtr := t.Underlying().(*types.Pointer); isPtr {
			p = f.expr(x.X)
			t = pp.Elem()
		} else {
			p = f.place(x.X)
		}
		for k, i := range sel.Index() {
			if pp, isPtr := t.Underlying().(*types.Pointer); isPtr {
				if k == 0 {
					refuse(e, "pointer field")
				}
				p = f.bind("deref " + paren(p))
				t = pp.Elem()
			}
			fld := t.Underlying().(*types.Struct).Field(i)
			p = f.bind(fmt.Sprintf("pfield %s %s %s", paren(p), f.proj(t, fld, e), f.setter(t, fld, e)))
			t = fld.Type()
		}
		return p
	case *ast.IndexExpr:
		t := f.typeOf(x.X)
		var p string
		switch u := t.Underlying().(type) {
		case *types.Array:
			p = f.place(x.X)
		case *types.Pointer:
			p = f.expr(x.X)
		case *types.Slice:
			_ = u
			if !f.pathThroughPointer(x.X) {
				refuse(e, "element of a slice not reached through a pointer")
			}
			p = f.place(x.X)
		default:
			refuse(e, "address of an element of %s", t)
		}
		i := f.expr(x.Index)
		return f.bind(fmt.Sprintf("pindex %s %s", paren(p), paren(i)))
	case *ast.CompositeLit:
		refuse(e, "allocation (&%s{})", f.typeOf(x))
	}
	refuse(e, "address of %T", e)
	return ""
}

// pathThroughPointer reports whether e is a path of fields and array
// elements below a pointer dereference, so that it has a place.
func (f *fn) pathThroughPointer(e ast.Expr) bool {
	for {
		switch x := e.(type) {
		case *ast.ParenExpr:
			e = x.X
		case *ast.StarExpr:
			return true
		case *ast.SelectorExpr:
			if _, ok := f.typeOf(x.X).Underlying().(*types.Pointer); ok {
				return true
			}
			e = x.X
		case *ast.IndexExpr:
			if _, ok := f.typeOf(x.X).Underlying().(*types.Array); !ok {
				return false
			}
			e = x.X
		default:
			return false
		}
	}
}
