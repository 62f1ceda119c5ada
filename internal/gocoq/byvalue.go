package gocoq

import (
	"go/ast"
	"go/token"
	"go/types"
)

// byValueParams finds the pointer parameters that can be passed by value:
// the function only reads through them (or passes them on to such
// parameters), and every caller passes the address of one of its locals or
// such a parameter of its own. Nothing else can reach a local whose address
// is taken only for such a call, so reading the value passed is reading
// through the pointer. This admits the one use the core makes of &local:
// handing a descriptor of work down a walk (the stage-2 *s2update). It is
// the greatest set closed under these rules.
func byValueParams(p *Package) map[*types.Var]bool {
	info := p.Info
	bodies, set := candidateParams(p, func(t types.Type) bool {
		_, ok := t.(*types.Pointer)
		return ok
	})
	for changed := true; changed; {
		changed = false
		drop := func(v *types.Var) {
			if set[v] {
				delete(set, v)
				changed = true
			}
		}
		for _, fd := range bodies {
			var stack []ast.Node
			ast.Inspect(fd.Body, func(n ast.Node) bool {
				if n == nil {
					stack = stack[:len(stack)-1]
					return true
				}
				stack = append(stack, n)
				switch n := n.(type) {
				case *ast.Ident:
					if v, ok := info.Uses[n].(*types.Var); ok && set[v] && !readOnlyUse(info, set, stack) {
						drop(v)
					}
				case *ast.CallExpr:
					callee, params := calleeParams(info, n)
					if callee == nil {
						return true
					}
					for i, a := range n.Args {
						if i < params.Len() && set[params.At(i)] && !byValueArg(info, set, a) {
							drop(params.At(i))
						}
					}
				}
				return true
			})
		}
	}
	return set
}

// calleeParams returns the function a call calls statically, and its
// parameters.
func calleeParams(info *types.Info, call *ast.CallExpr) (*types.Func, *types.Tuple) {
	var id *ast.Ident
	switch fun := unparen(call.Fun).(type) {
	case *ast.Ident:
		id = fun
	case *ast.SelectorExpr:
		id = fun.Sel
	default:
		return nil, nil
	}
	f, ok := info.Uses[id].(*types.Func)
	if !ok {
		return nil, nil
	}
	return f, f.Type().(*types.Signature).Params()
}

// byValueArg reports whether a is &local (a path of fields and array
// elements of a local) or a by-value parameter.
func byValueArg(info *types.Info, set map[*types.Var]bool, a ast.Expr) bool {
	a = unparen(a)
	if id, ok := a.(*ast.Ident); ok {
		v, isVar := info.Uses[id].(*types.Var)
		return isVar && set[v]
	}
	u, ok := a.(*ast.UnaryExpr)
	if !ok || u.Op != token.AND {
		return false
	}
	e := u.X
	for {
		switch x := e.(type) {
		case *ast.ParenExpr:
			e = x.X
		case *ast.SelectorExpr:
			if _, ptr := info.TypeOf(x.X).Underlying().(*types.Pointer); ptr {
				return false
			}
			e = x.X
		case *ast.IndexExpr:
			if _, arr := info.TypeOf(x.X).Underlying().(*types.Array); !arr {
				return false
			}
			e = x.X
		case *ast.Ident:
			v, isVar := info.Uses[x].(*types.Var)
			return isVar && !v.IsField() && v.Parent() != nil && v.Parent() != v.Pkg().Scope()
		default:
			return false
		}
	}
}

// readOnlyUse reports whether the use of a pointer parameter at the top of
// stack only reads through it, or passes it to a by-value parameter.
func readOnlyUse(info *types.Info, set map[*types.Var]bool, stack []ast.Node) bool {
	i := len(stack) - 1
	id := stack[i]
	if i == 0 {
		return false
	}
	if call, ok := stack[i-1].(*ast.CallExpr); ok {
		_, params := calleeParams(info, call)
		for k, a := range call.Args {
			if unparen(a) == id {
				return params != nil && k < params.Len() && set[params.At(k)]
			}
		}
		return false
	}
	// Walk up the path of fields, elements and dereferences it heads.
	top := i
	for top > 0 {
		switch x := stack[top-1].(type) {
		case *ast.SelectorExpr:
			if sel := info.Selections[x]; sel == nil || sel.Kind() != types.FieldVal {
				return isValueMethodCall(info, x, stack, top-1)
			}
		case *ast.IndexExpr:
			if x.Index == stack[top] {
				return true // used as an index: a read of the value
			}
		case *ast.StarExpr, *ast.ParenExpr:
		default:
			goto done
		}
		top--
	}
done:
	if top == i {
		return false // the pointer itself is used: copied, compared, returned
	}
	if top == 0 {
		return false
	}
	switch parent := stack[top-1].(type) {
	case *ast.AssignStmt:
		for _, l := range parent.Lhs {
			if l == stack[top] {
				return false
			}
		}
	case *ast.IncDecStmt:
		return false
	case *ast.UnaryExpr:
		return parent.Op != token.AND
	case *ast.RangeStmt:
		return parent.X == stack[top]
	}
	return true
}

// isValueMethodCall reports whether the selector at stack[k] calls a
// method with a value receiver, which reads its receiver.
func isValueMethodCall(info *types.Info, x *ast.SelectorExpr, stack []ast.Node, k int) bool {
	sel := info.Selections[x]
	if sel == nil || sel.Kind() != types.MethodVal {
		return false
	}
	_, ptrRecv := sel.Obj().Type().(*types.Signature).Recv().Type().(*types.Pointer)
	return !ptrRecv
}

// candidateParams returns p's functions that have a body, in source order,
// and the parameters of theirs whose type satisfies candidate: the start
// of an analysis that then drops the parameters its rules refute.
func candidateParams(p *Package, candidate func(types.Type) bool) ([]*ast.FuncDecl, map[*types.Var]bool) {
	var bodies []*ast.FuncDecl
	set := map[*types.Var]bool{}
	for _, file := range p.Files {
		for _, d := range file.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Body == nil {
				continue
			}
			bodies = append(bodies, fd)
			params := p.Info.Defs[fd.Name].(*types.Func).Type().(*types.Signature).Params()
			for i := 0; i < params.Len(); i++ {
				if candidate(params.At(i).Type()) {
					set[params.At(i)] = true
				}
			}
		}
	}
	return bodies, set
}
