package gocoq

import (
	"fmt"
	"go/ast"
	"go/constant"
	"go/types"
	"strings"
)

// intInfo returns the width and signedness of an integer type.
func intInfo(t types.Type) (bits int, signed bool, ok bool) {
	b, isBasic := t.Underlying().(*types.Basic)
	if !isBasic {
		return 0, false, false
	}
	switch b.Kind() {
	case types.Int, types.Int64, types.UntypedInt, types.UntypedRune:
		return 64, true, true
	case types.Int8:
		return 8, true, true
	case types.Int16:
		return 16, true, true
	case types.Int32:
		return 32, true, true
	case types.Uint, types.Uint64, types.Uintptr:
		return 64, false, true
	case types.Uint8:
		return 8, false, true
	case types.Uint16:
		return 16, false, true
	case types.Uint32:
		return 32, false, true
	}
	return 0, false, false
}

func isBool(t types.Type) bool {
	b, ok := t.Underlying().(*types.Basic)
	return ok && b.Info()&types.IsBoolean != 0
}

func isString(t types.Type) bool {
	b, ok := t.Underlying().(*types.Basic)
	return ok && b.Info()&types.IsString != 0
}

// coqType is the Coq type of Go type t; st is the memory type pointers
// point into ("" where no pointer may occur).
func (pt *pkgTr) coqType(t types.Type, st string, at ast.Node) string {
	if n, ok := t.(*types.Named); ok {
		if n.TypeArgs() != nil {
			refuse(at, "generic type %s", n)
		}
		if _, isIface := n.Underlying().(*types.Interface); isIface {
			if !pt.isPlatform(n) {
				refuse(at, "interface %s", n.Obj().Name())
			}
			return "(iface " + pt.use(n.Obj(), at) + ")"
		}
		return pt.use(n.Obj(), at)
	}
	switch u := t.(type) {
	case *types.Basic:
		switch {
		case isBool(u):
			return "bool"
		case isString(u):
			return "string"
		}
		if _, _, ok := intInfo(u); ok {
			return "Z"
		}
		refuse(at, "type %s", u)
	case *types.Array:
		return "(list " + pt.coqType(u.Elem(), st, at) + ")"
	case *types.Slice:
		return "(list " + pt.coqType(u.Elem(), st, at) + ")"
	case *types.Pointer:
		if st == "" {
			refuse(at, "pointer inside a type declaration (%s)", t)
		}
		return "(ptr " + st + " " + pt.coqType(u.Elem(), st, at) + ")"
	case *types.Map:
		refuse(at, "map type")
	case *types.Chan:
		refuse(at, "channel type")
	case *types.Signature:
		refuse(at, "function type")
	case *types.Struct:
		refuse(at, "unnamed struct type")
	case *types.Interface:
		refuse(at, "interface type")
	}
	refuse(at, "type %s", t)
	return ""
}

// isPlatform reports whether n is an interface whose methods the translation
// records as events: every method takes integers and returns nothing.
func (pt *pkgTr) isPlatform(n *types.Named) bool {
	return n.Obj().Name() == "Platform"
}

// typeDecl translates a type declaration: a basic type is an alias of its
// Coq type, a struct a record with a setter per field and a zero value.
func (pt *pkgTr) typeDecl(o *types.TypeName) string {
	name := pt.names[o]
	if o.IsAlias() {
		refuse(nil, "type alias %s", o.Name())
	}
	n := o.Type().(*types.Named)
	if n.TypeParams() != nil {
		refuse(nil, "generic type %s", o.Name())
	}
	switch u := n.Underlying().(type) {
	case *types.Struct:
		return pt.recordDecl(name, u)
	case *types.Interface:
		if !pt.isPlatform(n) {
			refuse(nil, "interface %s", o.Name())
		}
		return pt.platformDecl(name, u)
	}
	ct := pt.coqType(n.Underlying(), "", nil)
	return fmt.Sprintf("(** Go: type %s %s *)\nDefinition %s : Type := %s.\nDefinition zero_%s : %s := %s.\n",
		o.Name(), n.Underlying(), name, ct, name, name, pt.zero(n.Underlying(), nil))
}

// platformDecl declares the platform of the Platform interface: a record
// with, for each method with results, its answer as a function of the
// trace so far and the arguments (a pointer argument by the value it
// points to), giving the results and then the new value behind each
// pointer argument. A method without results is only an event.
func (pt *pkgTr) platformDecl(name string, u *types.Interface) string {
	var events, fields []string
	for i := 0; i < u.NumMethods(); i++ {
		m := u.Method(i)
		events = append(events, m.Name())
		sig := m.Type().(*types.Signature)
		if sig.Results().Len() == 0 {
			continue
		}
		if sig.Results().Len() != 1 {
			refuse(nil, "Platform method %s with %d results", m.Name(), sig.Results().Len())
		}
		ty := []string{"list event"}
		out := []string{pt.coqType(sig.Results().At(0).Type(), "", nil)}
		for k := 0; k < sig.Params().Len(); k++ {
			t := sig.Params().At(k).Type()
			if p, ok := t.Underlying().(*types.Pointer); ok {
				ct := pt.coqType(p.Elem(), "", nil)
				ty = append(ty, ct)
				out = append(out, ct)
				continue
			}
			if _, _, ok := intInfo(t); !ok {
				refuse(nil, "Platform method %s with a parameter of type %s", m.Name(), t)
			}
			ty = append(ty, pt.coqType(t, "", nil))
		}
		fields = append(fields, fmt.Sprintf("  %s_%s : %s -> %s", name, m.Name(), strings.Join(ty, " -> "), strings.Join(out, " * ")))
	}
	doc := fmt.Sprintf("(** Go: interface %s. A call of %s is an event of the trace; the\n    platform answers the calls with results. *)\n", name, strings.Join(events, ", "))
	if len(fields) == 0 {
		return doc + fmt.Sprintf("Inductive %s := mk_%s.\n", name, name)
	}
	return doc + fmt.Sprintf("Record %s := mk_%s {\n%s\n}.\n", name, name, strings.Join(fields, ";\n"))
}

func (pt *pkgTr) fieldName(rec string, f *types.Var) string { return rec + "_" + f.Name() }

func (pt *pkgTr) recordDecl(name string, s *types.Struct) string {
	var b strings.Builder
	var fields, zeros []string
	for i := 0; i < s.NumFields(); i++ {
		f := s.Field(i)
		fields = append(fields, fmt.Sprintf("%s : %s", pt.fieldName(name, f), pt.coqType(f.Type(), "", nil)))
		zeros = append(zeros, pt.zero(f.Type(), nil))
	}
	fmt.Fprintf(&b, "Record %s := mk_%s {\n  %s\n}.\n", name, name, strings.Join(fields, ";\n  "))
	for i := 0; i < s.NumFields(); i++ {
		f := s.Field(i)
		var args []string
		for j := 0; j < s.NumFields(); j++ {
			if j == i {
				args = append(args, "x")
			} else {
				args = append(args, "("+pt.fieldName(name, s.Field(j))+" r)")
			}
		}
		fmt.Fprintf(&b, "Definition set_%s (x : %s) (r : %s) : %s := mk_%s %s.\n",
			pt.fieldName(name, f), pt.coqType(f.Type(), "", nil), name, name, name, strings.Join(args, " "))
	}
	fmt.Fprintf(&b, "Definition zero_%s : %s := mk_%s %s.\n", name, name, name, strings.Join(zeros, " "))
	return b.String()
}

// zero is the Coq term for the zero value of t.
func (pt *pkgTr) zero(t types.Type, at ast.Node) string {
	if n, ok := t.(*types.Named); ok {
		if _, isIface := n.Underlying().(*types.Interface); isIface {
			return "None"
		}
		return prefixed("zero_", pt.use(n.Obj(), at))
	}
	switch u := t.(type) {
	case *types.Basic:
		switch {
		case isBool(u):
			return "false"
		case isString(u):
			return `""%string`
		}
		return "0"
	case *types.Array:
		return fmt.Sprintf("(repeat %s %d)", pt.zero(u.Elem(), at), u.Len())
	case *types.Slice:
		return "[]"
	case *types.Pointer:
		return "Nil"
	}
	refuse(at, "zero value of %s", t)
	return ""
}

// prefixed puts prefix before the last component of a qualified name:
// zero_T, or Abi.zero_T for a name of another module.
func prefixed(prefix, name string) string {
	i := strings.LastIndex(name, ".")
	return name[:i+1] + prefix + name[i+1:]
}

// constDecl translates a constant to its value.
func (pt *pkgTr) constDecl(o *types.Const) string {
	ty := "Z"
	if n, ok := o.Type().(*types.Named); ok {
		ty = pt.use(n.Obj(), nil)
	} else if isBool(o.Type()) {
		ty = "bool"
	} else if isString(o.Type()) {
		ty = "string"
	}
	return fmt.Sprintf("Definition %s : %s := %s.\n", pt.names[o], ty, constTerm(o.Val(), nil))
}

// constTerm is the Coq literal of a constant value.
func constTerm(v constant.Value, at ast.Node) string {
	switch v.Kind() {
	case constant.Int:
		s := v.ExactString()
		if strings.HasPrefix(s, "-") {
			return "(" + s + ")"
		}
		return s
	case constant.Bool:
		return fmt.Sprint(constant.BoolVal(v))
	case constant.String:
		return `"` + strings.ReplaceAll(constant.StringVal(v), `"`, `""`) + `"%string`
	}
	refuse(at, "constant %s", v)
	return ""
}

// varDecl translates a package variable that the package never changes
// into a definition of its initial value.
func (pt *pkgTr) varDecl(o *types.Var) string {
	init := pt.varInit(o)
	if init == nil {
		return fmt.Sprintf("Definition %s : %s := %s.\n", pt.names[o], pt.coqType(o.Type(), "", nil), pt.zero(o.Type(), nil))
	}
	if pt.assignedVar(o) {
		refuse(nil, "package variable %s is assigned", o.Name())
	}
	f := newFn(pt, "S")
	term := f.expr(init)
	if len(f.binds) != 0 {
		refuse(init, "package variable %s: initialiser is not a value", o.Name())
	}
	return fmt.Sprintf("Definition %s : %s := %s.\n", pt.names[o], pt.coqType(o.Type(), "", nil), term)
}

func (pt *pkgTr) varInit(o *types.Var) ast.Expr {
	for _, f := range pt.p.Files {
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok {
				continue
			}
			for _, s := range g.Specs {
				vs, ok := s.(*ast.ValueSpec)
				if !ok {
					continue
				}
				for i, n := range vs.Names {
					if pt.p.Info.Defs[n] == o {
						if len(vs.Values) == 0 {
							return nil
						}
						if len(vs.Values) != len(vs.Names) {
							refuse(vs, "multi-value package variable")
						}
						return vs.Values[i]
					}
				}
			}
		}
	}
	return nil
}

// assignedVar reports whether any function of the package assigns o, takes
// its address, or increments it.
func (pt *pkgTr) assignedVar(o *types.Var) bool {
	found := false
	for _, f := range pt.p.Files {
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.AssignStmt:
				for _, l := range n.Lhs {
					if rootObj(pt.p.Info, l) == o {
						found = true
					}
				}
			case *ast.IncDecStmt:
				if rootObj(pt.p.Info, n.X) == o {
					found = true
				}
			case *ast.UnaryExpr:
				if n.Op.String() == "&" && rootObj(pt.p.Info, n.X) == o {
					found = true
				}
			}
			return true
		})
	}
	return found
}

// rootObj returns the variable at the root of a path x.f[i].g, or nil.
func rootObj(info *types.Info, e ast.Expr) types.Object {
	for {
		switch x := e.(type) {
		case *ast.Ident:
			return info.Uses[x]
		case *ast.SelectorExpr:
			if _, ok := info.Selections[x]; !ok {
				return info.Uses[x.Sel]
			}
			e = x.X
		case *ast.IndexExpr:
			e = x.X
		case *ast.ParenExpr:
			e = x.X
		case *ast.StarExpr:
			e = x.X
		default:
			return nil
		}
	}
}
