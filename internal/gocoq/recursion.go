package gocoq

import (
	"go/ast"
	"go/types"
)

// recursiveGroups returns, for each function of the package that is part
// of a cycle of calls, the number of its group (a strongly connected
// component of the call graph, found with Tarjan's algorithm).
func recursiveGroups(p *Package) map[*types.Func]int {
	calls := map[*types.Func][]*types.Func{}
	var funcs []*types.Func
	for _, file := range p.Files {
		for _, d := range file.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Body == nil {
				continue
			}
			caller := p.Info.Defs[fd.Name].(*types.Func)
			funcs = append(funcs, caller)
			ast.Inspect(fd.Body, func(n ast.Node) bool {
				if id, ok := n.(*ast.Ident); ok {
					if callee, ok := p.Info.Uses[id].(*types.Func); ok && callee.Pkg() == p.Types {
						calls[caller] = append(calls[caller], callee)
					}
				}
				return true
			})
		}
	}
	index := map[*types.Func]int{}
	low := map[*types.Func]int{}
	on := map[*types.Func]bool{}
	var stack []*types.Func
	groups := map[*types.Func]int{}
	next, ngroups := 0, 0
	var connect func(v *types.Func)
	connect = func(v *types.Func) {
		index[v], low[v] = next, next
		next++
		stack = append(stack, v)
		on[v] = true
		self := false
		for _, w := range calls[v] {
			if w == v {
				self = true
			}
			if _, seen := index[w]; !seen {
				connect(w)
				low[v] = min(low[v], low[w])
			} else if on[w] {
				low[v] = min(low[v], index[w])
			}
		}
		if low[v] != index[v] {
			return
		}
		var comp []*types.Func
		for {
			w := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			on[w] = false
			comp = append(comp, w)
			if w == v {
				break
			}
		}
		if len(comp) > 1 || self {
			ngroups++
			for _, w := range comp {
				groups[w] = ngroups
			}
		}
	}
	for _, f := range funcs {
		if _, seen := index[f]; !seen {
			connect(f)
		}
	}
	return groups
}
