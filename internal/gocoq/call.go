package gocoq

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"strings"
)

// call translates a call: a conversion, a builtin, a function, a method, or
// a method of the Platform interface (an event).
func (f *fn) call(e *ast.CallExpr) string {
	info := f.pt.p.Info
	if e.Ellipsis.IsValid() {
		refuse(e, "variadic call")
	}
	if tv := info.Types[e.Fun]; tv.IsType() {
		return f.conversion(tv.Type, e.Args[0], e)
	}
	switch fun := unparen(e.Fun).(type) {
	case *ast.Ident:
		switch o := info.Uses[fun].(type) {
		case *types.Builtin:
			return f.builtin(o.Name(), e)
		case *types.Func:
			return f.bind(f.apply(f.callee(o, e), nil, e.Args, o))
		}
	case *ast.SelectorExpr:
		sel, ok := info.Selections[fun]
		if !ok {
			if o, ok := info.Uses[fun.Sel].(*types.Func); ok {
				if ext, ok := externals[o.Pkg().Path()+"."+o.Name()]; ok {
					return f.bind(f.apply(ext, nil, e.Args, o))
				}
				return f.bind(f.apply(f.callee(o, e), nil, e.Args, o))
			}
			break
		}
		if sel.Kind() != types.MethodVal {
			refuse(e, "call of a function-typed field")
		}
		if len(sel.Index()) != 1 {
			refuse(e, "call of a promoted method")
		}
		m := sel.Obj().(*types.Func)
		if _, isIface := sel.Recv().Underlying().(*types.Interface); isIface {
			return f.ifaceCall(fun, m, e)
		}
		recv := f.receiver(fun.X, m, e)
		return f.bind(f.apply(f.callee(m, e), []string{recv}, e.Args, m))
	}
	refuse(e, "call of %T", e.Fun)
	return ""
}

func unparen(e ast.Expr) ast.Expr {
	for {
		p, ok := e.(*ast.ParenExpr)
		if !ok {
			return e
		}
		e = p.X
	}
}

// externals are the functions of other packages the runtime defines.
var externals = map[string]string{
	"math/bits.LeadingZeros64": "bits_LeadingZeros64",
}

// callee is how a call names function o: a function of a recursive group
// takes the depth fuel, one less inside the group.
func (f *fn) callee(o *types.Func, at ast.Node) string {
	name := f.pt.use(o, at)
	g, rec := f.pt.group[o]
	if !rec {
		return name
	}
	if cur, ok := f.pt.cur.obj.(*types.Func); ok && f.pt.group[cur] == g {
		return "@" + name + " " + f.st + " depth'"
	}
	return name + " rec_fuel"
}

// apply is the application of a function to a receiver and arguments.
func (f *fn) apply(fun string, recv []string, args []ast.Expr, callee *types.Func) string {
	parts := append([]string{fun}, recv...)
	ps := callee.Type().(*types.Signature).Params()
	for i, a := range args {
		if f.pt.byVal[ps.At(i)] {
			if u, ok := unparen(a).(*ast.UnaryExpr); ok && u.Op == token.AND {
				parts = append(parts, paren(f.expr(u.X)))
				continue
			}
		}
		parts = append(parts, paren(f.exprAs(a, ps.At(i).Type())))
	}
	return strings.Join(parts, " ")
}

// receiver evaluates the receiver of a method call, taking its address or
// dereferencing it as Go does implicitly.
func (f *fn) receiver(x ast.Expr, m *types.Func, at ast.Node) string {
	wantPtr := false
	if _, ok := m.Type().(*types.Signature).Recv().Type().(*types.Pointer); ok {
		wantPtr = true
	}
	_, isPtr := f.typeOf(x).Underlying().(*types.Pointer)
	switch {
	case wantPtr && !isPtr:
		return f.place(x)
	case !wantPtr && isPtr:
		return f.derefOf(x, f.expr(x))
	}
	return paren(f.expr(x))
}

// ifaceCall records a call through the Platform interface as an event.
func (f *fn) ifaceCall(fun *ast.SelectorExpr, m *types.Func, e *ast.CallExpr) string {
	n, ok := f.typeOf(fun.X).(*types.Named)
	if !ok || !f.pt.isPlatform(n) {
		refuse(e, "call through interface %s", f.typeOf(fun.X))
	}
	sig := m.Type().(*types.Signature)
	if sig.Results().Len() != 0 {
		return f.platformAnswer(fun, n, m, e)
	}
	iv := paren(f.expr(fun.X))
	var args []string
	for _, a := range e.Args {
		if _, _, ok := intInfo(f.typeOf(a)); !ok {
			refuse(a, "Platform method %s with a non-integer argument", m.Name())
		}
		args = append(args, f.expr(a))
	}
	return f.bind(fmt.Sprintf("call_iface %s %q [%s]", iv, m.Name(), strings.Join(args, "; ")))
}

// platformAnswer translates a call of a Platform method with results: the
// arguments are evaluated, the platform's answer to the trace so far and
// the arguments (a pointer argument by the value it points to) gives the
// result and the new value behind each pointer argument, which is stored
// there, and the call is an event with the integer arguments.
func (f *fn) platformAnswer(fun *ast.SelectorExpr, iface *types.Named, m *types.Func, e *ast.CallExpr) string {
	sig := m.Type().(*types.Signature)
	iv := paren(f.expr(fun.X))
	var ints, vals, ptrs []string
	for i, a := range e.Args {
		if _, ok := sig.Params().At(i).Type().Underlying().(*types.Pointer); ok {
			ptrs = append(ptrs, paren(f.expr(a)))
			continue
		}
		if _, _, ok := intInfo(f.typeOf(a)); !ok {
			refuse(a, "Platform method %s with a non-integer argument", m.Name())
		}
		v := f.expr(a)
		ints = append(ints, v)
		vals = append(vals, paren(v))
	}
	o := f.bind("get_platform " + iv)
	tr := f.bind("trace_now")
	var args []string
	k := 0
	for i := range e.Args {
		if _, ok := sig.Params().At(i).Type().Underlying().(*types.Pointer); ok {
			args = append(args, f.bind("deref "+ptrs[k]))
			k++
			continue
		}
		args = append(args, vals[i-k])
	}
	res := []string{f.newTmp()}
	for range ptrs {
		res = append(res, f.newTmp())
	}
	answer := fmt.Sprintf("%s_%s %s %s %s", f.pt.use(iface.Obj(), e), m.Name(), o, tr, strings.Join(args, " "))
	f.binds = append(f.binds, fmt.Sprintf("let %s := %s in", bindPat(res), answer))
	for k, p := range ptrs {
		f.bind(fmt.Sprintf("store %s %s", p, res[k+1]))
	}
	f.bind(fmt.Sprintf("emit %q [%s]", m.Name(), strings.Join(ints, "; ")))
	return res[0]
}

// conversion translates T(x) between integer types (wrapping when the
// value may not fit), and between types with the same underlying type.
func (f *fn) conversion(to types.Type, x ast.Expr, at ast.Node) string {
	from := f.typeOf(x)
	v := f.expr(x)
	if types.Identical(to.Underlying(), from.Underlying()) {
		return v
	}
	tb, ts, tok := intInfo(to)
	fb, fs, fok := intInfo(from)
	if !tok || !fok {
		refuse(at, "conversion from %s to %s", from, to)
	}
	if f.pt.p.Info.Types[x].Value != nil {
		return v // go/types checked that the constant fits
	}
	fits := (ts == fs && tb >= fb) || (ts && !fs && tb > fb)
	switch {
	case fits:
		return v
	case ts:
		return fmt.Sprintf("wraps %d %s", tb, paren(v))
	}
	return fmt.Sprintf("wrapu %d %s", tb, paren(v))
}

func (f *fn) builtin(name string, e *ast.CallExpr) string {
	switch name {
	case "len":
		t := f.typeOf(e.Args[0]).Underlying()
		if a, ok := t.(*types.Array); ok {
			return fmt.Sprint(a.Len())
		}
		if p, ok := t.(*types.Pointer); ok {
			if a, ok := p.Elem().Underlying().(*types.Array); ok {
				return fmt.Sprint(a.Len())
			}
		}
		if _, ok := t.(*types.Slice); !ok {
			refuse(e, "len of %s", t)
		}
		return "len " + paren(f.expr(e.Args[0]))
	case "min", "max":
		if _, _, ok := intInfo(f.typeOf(e)); !ok {
			refuse(e, "%s of %s", name, f.typeOf(e))
		}
		v := paren(f.expr(e.Args[0]))
		for _, a := range e.Args[1:] {
			v = fmt.Sprintf("(Z.%s %s %s)", name, v, paren(f.expr(a)))
		}
		return v
	case "panic":
		refuse(e, "panic inside an expression")
	case "copy":
		refuse(e, "copy used as a value (its count)")
	}
	refuse(e, "builtin %s", name)
	return ""
}
