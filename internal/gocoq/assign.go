package gocoq

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
)

// simple translates an assignment, increment or declaration into binds:
// a local is rebound (Coq's let shadows it), a path below a pointer is
// stored through its place.
func (f *fn) simple(s ast.Stmt) {
	info := f.pt.p.Info
	switch s := s.(type) {
	case *ast.DeclStmt:
		g, ok := s.Decl.(*ast.GenDecl)
		if !ok || g.Tok != token.VAR {
			refuse(s, "local %s declaration", g.Tok)
		}
		for _, sp := range g.Specs {
			vs := sp.(*ast.ValueSpec)
			if len(vs.Values) != 0 && len(vs.Values) != len(vs.Names) {
				refuse(vs, "multi-value var declaration")
			}
			for i, n := range vs.Names {
				o := info.Defs[n]
				f.checkLocalType(o, n)
				v := f.pt.zero(o.Type(), n)
				if len(vs.Values) != 0 {
					v = f.expr(vs.Values[i])
				}
				f.letLocal(o, v)
			}
		}
	case *ast.IncDecStmt:
		op := token.ADD
		if s.Tok == token.DEC {
			op = token.SUB
		}
		f.opAssign(s.X, op, "1", s)
	case *ast.AssignStmt:
		switch s.Tok {
		case token.DEFINE, token.ASSIGN:
			f.assign(s)
		default:
			f.opAssign(s.Lhs[0], opOf[s.Tok], paren(f.expr(s.Rhs[0])), s)
		}
	case *ast.ExprStmt:
		if call, ok := unparen(s.X).(*ast.CallExpr); ok && f.isBuiltin(call, "copy") {
			f.copyStmt(call)
			return
		}
		f.expr(s.X)
	default:
		refuse(s, "statement %T", s)
	}
}

var opOf = map[token.Token]token.Token{
	token.ADD_ASSIGN: token.ADD, token.SUB_ASSIGN: token.SUB, token.MUL_ASSIGN: token.MUL,
	token.QUO_ASSIGN: token.QUO, token.REM_ASSIGN: token.REM, token.AND_ASSIGN: token.AND,
	token.OR_ASSIGN: token.OR, token.XOR_ASSIGN: token.XOR, token.SHL_ASSIGN: token.SHL,
	token.SHR_ASSIGN: token.SHR, token.AND_NOT_ASSIGN: token.AND_NOT,
}

// checkLocalType refuses locals of slice type: a copied slice header shares
// its backing array, which the value model of slices does not.
func (f *fn) checkLocalType(o types.Object, at ast.Node) {
	if o == nil {
		return
	}
	if _, ok := o.Type().Underlying().(*types.Slice); ok {
		refuse(at, "local slice variable %s: slice aliasing is not modelled", o.Name())
	}
}

func (f *fn) letLocal(o types.Object, v string) {
	if o == nil || o.Name() == "_" {
		return
	}
	f.binds = append(f.binds, fmt.Sprintf("let %s := %s in", f.local(o), v))
}

// assign translates = and :=: the right-hand sides are evaluated first,
// then the assignments are made left to right (Go spec, "Assignment
// statements").
func (f *fn) assign(s *ast.AssignStmt) {
	info := f.pt.p.Info
	var vals []string
	if len(s.Rhs) == 1 && len(s.Lhs) > 1 {
		v := f.expr(s.Rhs[0])
		for range s.Lhs {
			vals = append(vals, f.newTmp())
		}
		f.binds = append(f.binds, fmt.Sprintf("let %s := %s in", bindPat(vals), v))
	} else {
		for i, r := range s.Rhs {
			v := f.exprAs(r, f.typeOf(s.Lhs[i]))
			if len(s.Lhs) > 1 {
				t := f.newTmp()
				f.binds = append(f.binds, fmt.Sprintf("let %s := %s in", t, v))
				v = t
			}
			vals = append(vals, v)
		}
	}
	for i, l := range s.Lhs {
		if id, ok := l.(*ast.Ident); ok {
			if id.Name == "_" {
				continue
			}
			if o := info.Defs[id]; o != nil {
				f.checkLocalType(o, id)
				f.letLocal(o, vals[i])
				continue
			}
		}
		f.store(l, vals[i])
	}
}

// opAssign translates x op= y: x is read and written once each; its index
// expressions are evaluated for both, so they must not call anything.
func (f *fn) opAssign(l ast.Expr, op token.Token, y string, at ast.Node) {
	ast.Inspect(l, func(n ast.Node) bool {
		if c, ok := n.(*ast.CallExpr); ok {
			if tv := f.pt.p.Info.Types[c.Fun]; !tv.IsType() {
				refuse(c, "call inside the target of %s", op)
			}
		}
		return true
	})
	t := f.typeOf(l)
	bits, signed, ok := intInfo(t)
	if !ok {
		refuse(at, "%s on %s", op, t)
	}
	x := paren(f.expr(l))
	f.store(l, f.arith(op, bits, signed, x, y, at))
}

// arith is an integer operation on translated operands.
func (f *fn) arith(op token.Token, bits int, signed bool, x, y string, at ast.Node) string {
	wrap := "wrapu"
	if signed {
		wrap = "wraps"
	}
	switch op {
	case token.ADD:
		return fmt.Sprintf("%s %d (%s + %s)", wrap, bits, x, y)
	case token.SUB:
		return fmt.Sprintf("%s %d (%s - %s)", wrap, bits, x, y)
	case token.MUL:
		return fmt.Sprintf("%s %d (%s * %s)", wrap, bits, x, y)
	case token.AND:
		return "Z.land " + x + " " + y
	case token.OR:
		return "Z.lor " + x + " " + y
	case token.XOR:
		return "Z.lxor " + x + " " + y
	case token.AND_NOT:
		return "andnot " + x + " " + y
	case token.SHL:
		return fmt.Sprintf("shl %d %v %s %s", bits, signed, x, y)
	case token.SHR:
		return "shr " + x + " " + y
	}
	refuse(at, "operator %s in an assignment", op)
	return ""
}

// store assigns v to the lvalue l: a local path is rebuilt and rebound, a
// path through a pointer is stored at its place.
func (f *fn) store(l ast.Expr, v string) {
	info := f.pt.p.Info
	if root := f.lvalueRoot(l); root != nil {
		if !f.isLocal(root) {
			refuse(l, "assignment to package variable %s", root.Name())
		}
		f.binds = append(f.binds, fmt.Sprintf("let %s := %s in", f.local(root), f.update(l, v)))
		return
	}
	if id, ok := unparen(l).(*ast.Ident); ok {
		refuse(l, "assignment to %s", info.Uses[id].Name())
	}
	p := f.place(l)
	f.bind(fmt.Sprintf("store %s %s", paren(p), paren(v)))
}

// update is the value of the root of the local path e after e is set to v.
func (f *fn) update(e ast.Expr, v string) string {
	info := f.pt.p.Info
	switch x := e.(type) {
	case *ast.Ident:
		return v
	case *ast.ParenExpr:
		return f.update(x.X, v)
	case *ast.SelectorExpr:
		sel := info.Selections[x]
		t := f.typeOf(x.X)
		// Rebuild the struct along the (embedded) field path, innermost last.
		cur := []string{f.expr(x.X)}
		ts := []types.Type{t}
		idx := sel.Index()
		for _, i := range idx[:len(idx)-1] {
			fld := ts[len(ts)-1].Underlying().(*types.Struct).Field(i)
			cur = append(cur, f.proj(ts[len(ts)-1], fld, x)+" "+paren(cur[len(cur)-1]))
			ts = append(ts, fld.Type())
		}
		for k := len(idx) - 1; k >= 0; k-- {
			fld := ts[k].Underlying().(*types.Struct).Field(idx[k])
			v = fmt.Sprintf("%s %s %s", f.setter(ts[k], fld, x), paren(v), paren(cur[k]))
		}
		return f.update(x.X, v)
	case *ast.IndexExpr:
		seq := f.expr(x.X)
		i := f.expr(x.Index)
		return f.update(x.X, f.bind(fmt.Sprintf("upd %s %s %s", paren(seq), paren(i), paren(v))))
	}
	refuse(e, "assignment to %T", e)
	return ""
}

// isBuiltin reports whether call calls the builtin name.
func (f *fn) isBuiltin(call *ast.CallExpr, name string) bool {
	id, ok := unparen(call.Fun).(*ast.Ident)
	if !ok {
		return false
	}
	b, ok := f.pt.p.Info.Uses[id].(*types.Builtin)
	return ok && b.Name() == name
}

// copyStmt translates copy(a[lo:hi], src) as a statement, where a is an
// array (a local path or one reached through a pointer): the window is
// checked as a slice expression checks it, then src, evaluated to a value,
// replaces its first elements and a is stored back. Copying into a slice
// would write a backing array other slices may share, which lists do not
// model.
func (f *fn) copyStmt(call *ast.CallExpr) {
	dst, ok := unparen(call.Args[0]).(*ast.SliceExpr)
	if !ok || dst.Slice3 {
		refuse(call, "copy into something other than a slice expression of an array")
	}
	if _, arr := f.typeOf(dst.X).Underlying().(*types.Array); !arr {
		refuse(call, "copy into a slice of %s, not of an array", f.typeOf(dst.X))
	}
	if isString(f.typeOf(call.Args[1])) {
		refuse(call, "copy from a string")
	}
	cur := f.newTmp()
	f.binds = append(f.binds, fmt.Sprintf("let %s := %s in", cur, f.expr(dst.X)))
	lo, hi := "0", "(len "+cur+")"
	if dst.Low != nil {
		lo = paren(f.expr(dst.Low))
	}
	if dst.High != nil {
		hi = paren(f.expr(dst.High))
	}
	f.bind(fmt.Sprintf("subslice %s %s %s", cur, lo, hi))
	src := paren(f.expr(call.Args[1]))
	f.store(dst.X, fmt.Sprintf("copy_into %s %s %s %s", cur, lo, hi, src))
}
