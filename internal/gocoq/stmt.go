package gocoq

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"strings"
)

// funcDecl translates a function or method to a Coq definition into the
// monad, polymorphic in the memory S its pointers point into.
func (pt *pkgTr) funcDecl(o *types.Func) string {
	fd := pt.findFunc(o)
	if fd.Body == nil {
		refuse(fd, "function without a body (%s)", o.Name())
	}
	sig := o.Type().(*types.Signature)
	if sig.TypeParams() != nil || sig.RecvTypeParams() != nil {
		refuse(fd, "generic function %s", o.Name())
	}
	if sig.Variadic() {
		refuse(fd, "variadic function %s", o.Name())
	}
	f := newFn(pt, "S")
	var params []string
	param := func(v *types.Var, at ast.Node) {
		t := v.Type()
		if pt.byVal[v] {
			t = t.(*types.Pointer).Elem() // read only: passed by value
		}
		params = append(params, fmt.Sprintf("(%s : %s)", f.local(v), pt.coqType(t, "S", at)))
		if _, isSlice := v.Type().Underlying().(*types.Slice); isSlice && !pt.roSlice[v] {
			refuse(at, "slice parameter %s written, reassigned or escaping: slice aliasing is not modelled", v.Name())
		}
	}
	if r := sig.Recv(); r != nil {
		if r.Name() == "" || r.Name() == "_" {
			params = append(params, fmt.Sprintf("(_ : %s)", pt.coqType(r.Type(), "S", fd)))
		} else {
			param(r, fd)
		}
	}
	for i := 0; i < sig.Params().Len(); i++ {
		v := sig.Params().At(i)
		if v.Name() == "" || v.Name() == "_" {
			params = append(params, fmt.Sprintf("(_ : %s)", pt.coqType(v.Type(), "S", fd)))
			continue
		}
		param(v, fd)
	}
	var rtypes []string
	var pre []string
	for i := 0; i < sig.Results().Len(); i++ {
		v := sig.Results().At(i)
		f.result = append(f.result, v)
		rtypes = append(rtypes, pt.coqType(v.Type(), "S", fd))
		if v.Name() != "" && v.Name() != "_" {
			pre = append(pre, fmt.Sprintf("let %s := %s in", f.local(v), pt.zero(v.Type(), fd)))
		}
	}
	rt := "unit"
	if len(rtypes) == 1 {
		rt = rtypes[0]
	} else if len(rtypes) > 1 {
		rt = "(" + strings.Join(rtypes, " * ") + ")"
	}
	body := f.block(fd.Body.List, &ctx{kind: ctxTop})
	if len(pre) != 0 {
		body = strings.Join(pre, "\n  ") + "\n  " + body
	}
	where := pt.relPos(fd.Pos()).String() + " " + o.Name()
	if pt.group[o] != 0 {
		return fmt.Sprintf("(* Go: %s *)\n%s {S : Type} (depth'rec : nat) %s {struct depth'rec} : M S %s :=\n  match depth'rec with\n  | O => fail OutOfFuel\n  | Datatypes.S depth' =>\n  %s\n  end",
			where, pt.names[o], strings.Join(params, " "), rt, body)
	}
	return fmt.Sprintf("(** Go: %s *)\nDefinition %s {S : Type} %s : M S %s :=\n  %s.\n",
		where, pt.names[o], strings.Join(params, " "), rt, body)
}

func (pt *pkgTr) findFunc(o *types.Func) *ast.FuncDecl {
	for _, file := range pt.p.Files {
		for _, d := range file.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && pt.p.Info.Defs[fd.Name] == o {
				return fd
			}
		}
	}
	refuse(nil, "no declaration for %s", o.Name())
	return nil
}

// Statement contexts: the function body, a loop body, or a branch of an if
// whose fall-through joins the statements after it.
const (
	ctxTop = iota
	ctxLoop
	ctxJoin
)

type ctx struct {
	kind   int
	parent *ctx
	vars   []string // loop: the locals it threads; join: those the branches assign
	plain  bool     // join without exits: branches return the tuple itself
}

func tuple(vs []string) string {
	switch len(vs) {
	case 0:
		return "tt"
	case 1:
		return vs[0]
	}
	return "(" + strings.Join(vs, ", ") + ")"
}

// pattern binds a tuple of locals.
func pattern(vs []string) string {
	if len(vs) == 0 {
		return "_"
	}
	return tuple(vs)
}

// binder is a fun binder for a tuple of locals.
func binder(vs []string) string {
	if len(vs) <= 1 {
		return pattern(vs)
	}
	return "'" + tuple(vs)
}

// abrupt is the value with which a return (val), break or continue leaves
// the construct of context c.
func (f *fn) abrupt(c *ctx, kind token.Token, val string, at ast.Node) string {
	switch c.kind {
	case ctxTop:
		if kind != token.RETURN {
			refuse(at, "%s outside a loop", kind)
		}
		return val
	case ctxLoop:
		switch kind {
		case token.BREAK:
			return "Break " + paren(tuple(c.vars))
		case token.CONTINUE:
			return "Continue " + paren(tuple(c.vars))
		}
		return "Leave " + paren(f.abrupt(c.parent, kind, val, at))
	}
	return "Jump " + paren(f.abrupt(c.parent, kind, val, at))
}

func (f *fn) fallthrough_(c *ctx) string {
	switch c.kind {
	case ctxLoop:
		return "ret (Continue " + paren(tuple(c.vars)) + ")"
	case ctxJoin:
		if c.plain {
			return "ret " + paren(tuple(c.vars))
		}
		return "ret (Fall " + paren(tuple(c.vars)) + ")"
	}
	return "ret tt"
}

// block translates a statement list in context c.
func (f *fn) block(stmts []ast.Stmt, c *ctx) string {
	if len(stmts) == 0 {
		return f.fallthrough_(c)
	}
	s, rest := stmts[0], stmts[1:]
	switch s := s.(type) {
	case *ast.ReturnStmt:
		return f.ret(s, c)
	case *ast.BranchStmt:
		if s.Label != nil || (s.Tok != token.BREAK && s.Tok != token.CONTINUE) {
			refuse(s, "%s", s.Tok)
		}
		return "ret (" + f.abrupt(c, s.Tok, "", s) + ")"
	case *ast.ExprStmt:
		if call, ok := s.X.(*ast.CallExpr); ok && isPanic(f.pt.p.Info, call) {
			return f.panicStmt(call)
		}
		pre, _ := f.sub(func() string { f.simple(s); return "" })
		return joinLines(pre, f.block(rest, c))
	case *ast.AssignStmt, *ast.IncDecStmt, *ast.DeclStmt:
		pre, _ := f.sub(func() string { f.simple(s); return "" })
		return joinLines(pre, f.block(rest, c))
	case *ast.IfStmt:
		return f.ifStmt(s, rest, c)
	case *ast.SwitchStmt:
		return f.switchStmt(s, rest, c)
	case *ast.ForStmt:
		return f.forStmt(s, rest, c)
	case *ast.RangeStmt:
		return f.rangeStmt(s, rest, c)
	case *ast.BlockStmt:
		return f.block(append(append([]ast.Stmt{}, s.List...), rest...), c)
	case *ast.EmptyStmt:
		return f.block(rest, c)
	case *ast.GoStmt:
		refuse(s, "go statement")
	case *ast.DeferStmt:
		refuse(s, "defer")
	case *ast.SelectStmt:
		refuse(s, "select")
	case *ast.SendStmt:
		refuse(s, "channel send")
	case *ast.LabeledStmt:
		refuse(s, "label")
	case *ast.TypeSwitchStmt:
		refuse(s, "type switch")
	}
	refuse(s, "statement %T", s)
	return ""
}

func joinLines(pre []string, rest string) string {
	if len(pre) == 0 {
		return rest
	}
	return strings.Join(pre, "\n  ") + "\n  " + rest
}

func isPanic(info *types.Info, call *ast.CallExpr) bool {
	id, ok := unparen(call.Fun).(*ast.Ident)
	if !ok {
		return false
	}
	b, ok := info.Uses[id].(*types.Builtin)
	return ok && b.Name() == "panic"
}

func (f *fn) panicStmt(call *ast.CallExpr) string {
	msg := `""%string`
	if tv := f.pt.p.Info.Types[call.Args[0]]; tv.Value != nil {
		msg = constTerm(tv.Value, call)
	}
	return "fail (Panic " + msg + ")"
}

func (f *fn) ret(s *ast.ReturnStmt, c *ctx) string {
	var val string
	switch {
	case len(s.Results) == 0:
		var names []string
		for _, r := range f.result {
			names = append(names, f.local(r))
		}
		val = tuple(names)
	default:
		var vals []string
		for i, r := range s.Results {
			if len(s.Results) == len(f.result) {
				vals = append(vals, f.exprAs(r, f.result[i].Type()))
			} else {
				vals = append(vals, f.expr(r))
			}
		}
		val = tuple(vals)
	}
	pre := f.binds
	f.binds = nil
	return joinLines(pre, "ret "+paren(f.abrupt(c, token.RETURN, val, s)))
}

// noFallthrough reports whether control never leaves stmts at their end.
func noFallthrough(info *types.Info, stmts []ast.Stmt) bool {
	if len(stmts) == 0 {
		return false
	}
	switch s := stmts[len(stmts)-1].(type) {
	case *ast.ReturnStmt, *ast.BranchStmt:
		return true
	case *ast.ExprStmt:
		call, ok := s.X.(*ast.CallExpr)
		return ok && isPanic(info, call)
	case *ast.BlockStmt:
		return noFallthrough(info, s.List)
	case *ast.IfStmt:
		if s.Else == nil {
			return false
		}
		return noFallthrough(info, s.Body.List) && noFallthrough(info, []ast.Stmt{s.Else})
	case *ast.SwitchStmt:
		hasDefault := false
		for _, cl := range s.Body.List {
			cc := cl.(*ast.CaseClause)
			if cc.List == nil {
				hasDefault = true
			}
			if !noFallthrough(info, cc.Body) || hasBranch(cc.Body, token.BREAK) {
				return false
			}
		}
		return hasDefault
	case *ast.ForStmt:
		return s.Cond == nil && !hasBranch(s.Body.List, token.BREAK)
	}
	return false
}

// hasBranch reports whether stmts hold a break (or continue) that leaves
// them, not one of an inner loop.
func hasBranch(stmts []ast.Stmt, tok token.Token) bool {
	found := false
	for _, s := range stmts {
		ast.Inspect(s, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.ForStmt, *ast.RangeStmt, *ast.FuncLit:
				return false
			case *ast.SwitchStmt:
				return tok != token.BREAK
			case *ast.BranchStmt:
				if n.Tok == tok {
					found = true
				}
			}
			return true
		})
	}
	return found
}

// hasExit reports whether stmts may leave the enclosing construct other
// than by falling through: a return anywhere, or a break or continue not of
// an inner loop.
func hasExit(stmts []ast.Stmt) bool {
	if hasBranch(stmts, token.BREAK) || hasBranch(stmts, token.CONTINUE) {
		return true
	}
	found := false
	for _, s := range stmts {
		ast.Inspect(s, func(n ast.Node) bool {
			if _, ok := n.(*ast.ReturnStmt); ok {
				found = true
			}
			_, lit := n.(*ast.FuncLit)
			return !lit
		})
	}
	return found
}

// assigned returns the Coq names of the locals declared outside [from, to)
// that the nodes assign, in order of declaration.
func (f *fn) assigned(nodes []ast.Node, from, to token.Pos) []string {
	info := f.pt.p.Info
	seen := map[types.Object]bool{}
	var objs []types.Object
	note := func(o types.Object) {
		if o == nil || seen[o] || !f.isLocal(o) || (o.Pos() >= from && o.Pos() < to) {
			return
		}
		seen[o] = true
		objs = append(objs, o)
	}
	for _, n := range nodes {
		if n == nil {
			continue
		}
		ast.Inspect(n, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.AssignStmt:
				for _, l := range n.Lhs {
					if id, ok := l.(*ast.Ident); ok && n.Tok == token.DEFINE {
						if info.Defs[id] == nil {
							note(info.Uses[id])
						}
						continue
					}
					note(f.lvalueRoot(l))
				}
			case *ast.IncDecStmt:
				note(f.lvalueRoot(n.X))
			case *ast.CallExpr:
				if f.isBuiltin(n, "copy") {
					if dst, ok := unparen(n.Args[0]).(*ast.SliceExpr); ok {
						note(f.lvalueRoot(dst.X))
					}
				}
			case *ast.RangeStmt:
				if n.Tok == token.ASSIGN {
					if n.Key != nil {
						note(f.lvalueRoot(n.Key))
					}
					if n.Value != nil {
						note(f.lvalueRoot(n.Value))
					}
				}
			}
			return true
		})
	}
	sortByPos(objs)
	var names []string
	for _, o := range objs {
		names = append(names, f.local(o))
	}
	return names
}

func sortByPos(os []types.Object) {
	for i := 1; i < len(os); i++ {
		for j := i; j > 0 && os[j].Pos() < os[j-1].Pos(); j-- {
			os[j], os[j-1] = os[j-1], os[j]
		}
	}
}

// lvalueRoot returns the local variable an assignment to e rebinds: the
// root of a path of fields and array elements, or nil if the path goes
// through a pointer (the assignment is then a store).
func (f *fn) lvalueRoot(e ast.Expr) types.Object {
	info := f.pt.p.Info
	for {
		switch x := e.(type) {
		case *ast.Ident:
			return info.Uses[x]
		case *ast.ParenExpr:
			e = x.X
		case *ast.SelectorExpr:
			if _, ok := f.typeOf(x.X).Underlying().(*types.Pointer); ok {
				return nil
			}
			e = x.X
		case *ast.IndexExpr:
			if _, ok := f.typeOf(x.X).Underlying().(*types.Array); !ok {
				return nil
			}
			e = x.X
		default:
			return nil
		}
	}
}

func (f *fn) ifStmt(s *ast.IfStmt, rest []ast.Stmt, c *ctx) string {
	if s.Init != nil {
		f.simple(s.Init)
	}
	cond := f.expr(s.Cond)
	pre := f.binds
	f.binds = nil
	var els []ast.Stmt
	switch e := s.Else.(type) {
	case *ast.BlockStmt:
		els = e.List
	case *ast.IfStmt:
		els = []ast.Stmt{e}
	}
	info := f.pt.p.Info
	then := s.Body.List
	var out string
	switch {
	case noFallthrough(info, then):
		out = fmt.Sprintf("if %s then\n  %s\n  else\n  %s", cond, f.block(then, c), f.block(concat(els, rest), c))
	case els != nil && noFallthrough(info, els):
		out = fmt.Sprintf("if %s then\n  %s\n  else\n  %s", cond, f.block(concat(then, rest), c), f.block(els, c))
	case len(rest) == 0:
		out = fmt.Sprintf("if %s then\n  %s\n  else\n  %s", cond, f.block(then, c), f.block(els, c))
	default:
		out = f.join(s, cond, then, els, rest, c)
	}
	return joinLines(pre, out)
}

func concat(a, b []ast.Stmt) []ast.Stmt { return append(append([]ast.Stmt{}, a...), b...) }

// join translates an if both of whose branches may fall through to rest:
// the branches return the locals they assign, or leave.
func (f *fn) join(s *ast.IfStmt, cond string, then, els, rest []ast.Stmt, c *ctx) string {
	nodes := []ast.Node{s.Body}
	if s.Else != nil {
		nodes = append(nodes, s.Else)
	}
	vars := f.assigned(nodes, s.Pos(), s.End())
	jc := &ctx{kind: ctxJoin, parent: c, vars: vars, plain: !hasExit(then) && !hasExit(els)}
	branches := fmt.Sprintf("(if %s then\n  %s\n  else\n  %s)", cond, f.block(then, jc), f.block(els, jc))
	if jc.plain {
		return fmt.Sprintf("let! %s := %s in\n  %s", bindPat(vars), branches, f.block(rest, c))
	}
	j := f.newTmp()
	return fmt.Sprintf("let! %s := %s in\n  match %s with\n  | Fall %s =>\n  %s\n  | Jump x'j => ret x'j\n  end",
		j, branches, j, paren(pattern(vars)), f.block(rest, c))
}

// bindPat is the pattern of a let! binding a tuple of locals.
func bindPat(vs []string) string {
	if len(vs) <= 1 {
		return pattern(vs)
	}
	return "'" + tuple(vs)
}

// switchStmt translates a switch into a chain of ifs, default last, as Go
// evaluates the cases top to bottom.
func (f *fn) switchStmt(s *ast.SwitchStmt, rest []ast.Stmt, c *ctx) string {
	if s.Init != nil {
		f.simple(s.Init)
	}
	var tag string
	var tagType types.Type
	if s.Tag != nil {
		tagType = f.typeOf(s.Tag)
		tag = f.newTmp()
		f.binds = append(f.binds, fmt.Sprintf("let %s := %s in", tag, f.expr(s.Tag)))
	}
	var cases []*ast.CaseClause
	var def *ast.CaseClause
	for _, cl := range s.Body.List {
		cc := cl.(*ast.CaseClause)
		if hasBranch(cc.Body, token.BREAK) {
			refuse(cc, "break inside a switch")
		}
		for _, st := range cc.Body {
			if b, ok := st.(*ast.BranchStmt); ok && b.Tok == token.FALLTHROUGH {
				refuse(b, "fallthrough")
			}
		}
		if cc.List == nil {
			def = cc
		} else {
			cases = append(cases, cc)
		}
	}
	var chain ast.Stmt
	if def != nil {
		chain = &ast.BlockStmt{List: def.Body}
	}
	for i := len(cases) - 1; i >= 0; i-- {
		cc := cases[i]
		cond := &ast.BadExpr{From: cc.Pos(), To: cc.Colon}
		f.conds[cond] = func() string { return f.caseCond(tag, tagType, cc.List) }
		chain = &ast.IfStmt{If: cc.Pos(), Cond: cond, Body: &ast.BlockStmt{List: cc.Body}, Else: chain}
	}
	pre := f.binds
	f.binds = nil
	if chain == nil {
		return joinLines(pre, f.block(rest, c))
	}
	if b, ok := chain.(*ast.BlockStmt); ok {
		return joinLines(pre, f.block(concat(b.List, rest), c))
	}
	return joinLines(pre, f.ifStmt(chain.(*ast.IfStmt), rest, c))
}

// caseCond is the condition of a case: the tag equals one of the
// expressions, or (without a tag) one of them holds, tried in order.
func (f *fn) caseCond(tag string, tagType types.Type, list []ast.Expr) string {
	one := func(e ast.Expr) string {
		if tag == "" {
			return f.expr(e)
		}
		v := paren(f.expr(e))
		switch {
		case isBool(tagType):
			return "Bool.eqb " + tag + " " + v
		case isString(tagType):
			return "String.eqb " + tag + " " + v
		}
		if _, _, ok := intInfo(tagType); !ok {
			refuse(e, "switch on %s", tagType)
		}
		return tag + " =? " + v
	}
	cond := one(list[0])
	for _, e := range list[1:] {
		pre, y := f.sub(func() string { return one(e) })
		if len(pre) == 0 {
			cond = paren(cond) + " || " + paren(y)
		} else {
			cond = f.bind(fmt.Sprintf("(if %s then ret true else %s)", paren(cond), monadic(pre, y)))
		}
	}
	return cond
}

// loopTerm assembles a loop over the locals vars.
func (f *fn) loopTerm(fuel, cond, body, post string, vars []string, returns bool, rest []ast.Stmt, c *ctx) string {
	x := ""
	if !returns {
		x = " (X:=Empty_set)"
	}
	r := f.newTmp()
	jump := "ret x'j"
	if !returns {
		jump = "match x'j with end"
	}
	b := binder(vars)
	return fmt.Sprintf("let! %s := loop%s %s\n  (fun %s => %s)\n  (fun %s =>\n  %s)\n  (fun %s => %s)\n  %s in\n  match %s with\n  | Fall %s =>\n  %s\n  | Jump x'j => %s\n  end",
		r, x, paren(fuel), b, cond, b, body, b, post, paren(tuple(vars)), r, paren(pattern(vars)), f.block(rest, c), jump)
}

func (f *fn) forStmt(s *ast.ForStmt, rest []ast.Stmt, c *ctx) string {
	if s.Init != nil {
		f.simple(s.Init)
	}
	from, to := s.Body.Pos(), s.Body.End()
	if s.Cond != nil && s.Cond.Pos() < from {
		from = s.Cond.Pos()
	}
	vars := f.assigned([]ast.Node{s.Cond, s.Post, s.Body}, from, to)
	lc := &ctx{kind: ctxLoop, parent: c, vars: vars}
	fuel := f.fuel(s)
	pre := f.binds
	f.binds = nil
	cond := "ret true"
	if s.Cond != nil {
		cpre, ct := f.sub(func() string { return f.expr(s.Cond) })
		cond = monadic(cpre, ct)
	}
	post := "ret " + paren(tuple(vars))
	if s.Post != nil {
		ppre, _ := f.sub(func() string { f.simple(s.Post); return "" })
		post = joinLines(ppre, post)
	}
	body := f.block(s.Body.List, lc)
	return joinLines(pre, f.loopTerm(fuel, cond, body, post, vars, hasExitReturn(s.Body.List), rest, c))
}

func hasExitReturn(stmts []ast.Stmt) bool {
	found := false
	for _, s := range stmts {
		ast.Inspect(s, func(n ast.Node) bool {
			if _, ok := n.(*ast.ReturnStmt); ok {
				found = true
			}
			return true
		})
	}
	return found
}

// fuel is the loop's bound for a counted loop "for i := a; i < b; i++"
// whose b is a value and whose body leaves i alone, and max_fuel otherwise.
func (f *fn) fuel(s *ast.ForStmt) string {
	info := f.pt.p.Info
	init, ok := s.Init.(*ast.AssignStmt)
	cond, ok2 := s.Cond.(*ast.BinaryExpr)
	post, ok3 := s.Post.(*ast.IncDecStmt)
	if !ok || !ok2 || !ok3 || init.Tok != token.DEFINE || len(init.Lhs) != 1 || post.Tok != token.INC {
		return "max_fuel"
	}
	i := info.Defs[init.Lhs[0].(*ast.Ident)]
	ci, isId := cond.X.(*ast.Ident)
	pi, isId2 := post.X.(*ast.Ident)
	if !isId || !isId2 || info.Uses[ci] != i || info.Uses[pi] != i || (cond.Op != token.LSS && cond.Op != token.LEQ) {
		return "max_fuel"
	}
	for _, n := range f.assigned([]ast.Node{s.Body}, s.Body.Pos(), s.Body.End()) {
		if n == f.local(i) {
			return "max_fuel"
		}
	}
	pre, bound := f.sub(func() string { return f.expr(cond.Y) })
	if len(pre) != 0 {
		return "max_fuel"
	}
	if cond.Op == token.LEQ {
		return fmt.Sprintf("%s - %s + 1", paren(bound), f.local(i))
	}
	return fmt.Sprintf("%s - %s", paren(bound), f.local(i))
}

// rangeStmt translates a range over an array, a slice or an integer as a
// counted loop over a hidden index. A slice is read afresh at each
// iteration, as Go reads the shared backing array; an array is copied once.
func (f *fn) rangeStmt(s *ast.RangeStmt, rest []ast.Stmt, c *ctx) string {
	if s.Tok == token.ASSIGN {
		refuse(s, "range assigning existing variables")
	}
	info := f.pt.p.Info
	t := f.typeOf(s.X).Underlying()
	if _, ok := t.(*types.Pointer); ok {
		refuse(s, "range over a pointer to an array (its elements are read live)")
	}
	k := f.newTmp()
	var n, seq string
	reread := false
	switch u := t.(type) {
	case *types.Array:
		seq = f.newTmp()
		f.binds = append(f.binds, fmt.Sprintf("let %s := %s in", seq, f.seqValue(s.X)))
		n = fmt.Sprint(u.Len())
	case *types.Slice:
		n = f.newTmp()
		f.binds = append(f.binds, fmt.Sprintf("let %s := len %s in", n, paren(f.expr(s.X))))
		reread = true
		if o := rootObj(info, s.X); o != nil {
			for _, a := range f.assigned([]ast.Node{s.Body}, s.Body.Pos(), s.Body.End()) {
				if a == f.local(o) {
					refuse(s, "range over a slice the loop reassigns")
				}
			}
		}
	case *types.Basic:
		if _, _, ok := intInfo(u); !ok {
			refuse(s, "range over %s", u)
		}
		n = f.newTmp()
		f.binds = append(f.binds, fmt.Sprintf("let %s := %s in", n, f.expr(s.X)))
	default:
		refuse(s, "range over %s", t)
	}
	f.binds = append(f.binds, fmt.Sprintf("let %s := 0 in", k))
	pre := f.binds
	f.binds = nil
	vars := append([]string{k}, f.assigned([]ast.Node{s.Body}, s.Body.Pos(), s.Body.End())...)
	lc := &ctx{kind: ctxLoop, parent: c, vars: vars}
	var head []string
	if id, ok := s.Key.(*ast.Ident); ok && id.Name != "_" {
		head = append(head, fmt.Sprintf("let %s := %s in", f.local(info.Defs[id]), k))
	}
	if id, ok := s.Value.(*ast.Ident); ok && id.Name != "_" {
		vpre, v := f.sub(func() string {
			if reread {
				return f.bind(fmt.Sprintf("idx %s %s", paren(f.expr(s.X)), k))
			}
			return f.bind(fmt.Sprintf("idx %s %s", seq, k))
		})
		head = append(append(head, vpre...), fmt.Sprintf("let %s := %s in", f.local(info.Defs[id]), v))
	}
	body := joinLines(head, f.block(s.Body.List, lc))
	post := fmt.Sprintf("let %s := %s + 1 in ret %s", k, k, paren(tuple(vars)))
	cond := fmt.Sprintf("ret (%s <? %s)", k, n)
	return joinLines(pre, f.loopTerm(n, cond, body, post, vars, hasExitReturn(s.Body.List), rest, c))
}
