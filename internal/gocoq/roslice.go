package gocoq

import (
	"go/ast"
	"go/token"
	"go/types"
)

// readOnlySliceParams finds the slice parameters a function only reads:
// it indexes them for a value, ranges over them, takes their length, or
// passes them on to such parameters, and never writes an element, takes an
// element's address, reassigns the parameter or lets it escape. Such a
// parameter is a list passed by value: the function cannot tell it from
// the caller's slice as long as nothing writes the backing array during
// the call, which the core's slices allow (the assumptions in doc.go). It
// is the greatest set closed under these rules.
func readOnlySliceParams(p *Package) map[*types.Var]bool {
	info := p.Info
	bodies, set := candidateParams(p, func(t types.Type) bool {
		_, ok := t.Underlying().(*types.Slice)
		return ok
	})
	for changed := true; changed; {
		changed = false
		for _, fd := range bodies {
			var stack []ast.Node
			ast.Inspect(fd.Body, func(n ast.Node) bool {
				if n == nil {
					stack = stack[:len(stack)-1]
					return true
				}
				stack = append(stack, n)
				id, ok := n.(*ast.Ident)
				if !ok {
					return true
				}
				if v, ok := info.Uses[id].(*types.Var); ok && set[v] && !sliceReadUse(info, set, stack) {
					delete(set, v)
					changed = true
				}
				return true
			})
		}
	}
	return set
}

// sliceReadUse reports whether the use of a slice parameter at the top of
// stack only reads it: the operand of a range or of len, an argument for
// another read-only slice parameter, or the sequence of an element that is
// only read.
func sliceReadUse(info *types.Info, set map[*types.Var]bool, stack []ast.Node) bool {
	i := len(stack) - 1
	if i == 0 {
		return false
	}
	switch parent := stack[i-1].(type) {
	case *ast.RangeStmt:
		return parent.X == stack[i]
	case *ast.CallExpr:
		if id, ok := unparen(parent.Fun).(*ast.Ident); ok {
			if b, ok := info.Uses[id].(*types.Builtin); ok {
				return b.Name() == "len"
			}
		}
		_, params := calleeParams(info, parent)
		for k, a := range parent.Args {
			if a == stack[i] {
				return params != nil && k < params.Len() && set[params.At(k)]
			}
		}
	case *ast.IndexExpr:
		return parent.X == stack[i] && elemRead(info, stack[:i])
	}
	return false
}

// elemRead reports whether the element at the top of stack, and the path
// of fields and elements it heads, is only read: not assigned, incremented,
// addressed, or the receiver of a method that takes its address.
func elemRead(info *types.Info, stack []ast.Node) bool {
	top := len(stack) - 1
	for top > 0 {
		switch x := stack[top-1].(type) {
		case *ast.SelectorExpr:
			if sel := info.Selections[x]; sel != nil && sel.Kind() == types.MethodVal {
				return isValueMethodCall(info, x, stack, top-1)
			}
		case *ast.IndexExpr:
			if x.Index == stack[top] {
				return true
			}
		case *ast.ParenExpr:
		default:
			goto done
		}
		top--
	}
done:
	if top == 0 {
		return true
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
	}
	return true
}
