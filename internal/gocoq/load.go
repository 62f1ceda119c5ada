package gocoq

import (
	"fmt"
	"go/ast"
	"go/build"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Loader parses and type-checks packages of one module from source. Packages
// of the module are checked from their directories (so that the translator
// sees their syntax); every other import comes from the standard library's
// source importer.
type Loader struct {
	Fset   *token.FileSet
	Module string // module path, as in go.mod
	Root   string // module root directory
	pkgs   map[string]*Package
	std    types.Importer
}

// Package is a parsed and type-checked package.
type Package struct {
	Path  string
	Name  string
	Files []*ast.File
	Types *types.Package
	Info  *types.Info
}

// NewLoader returns a loader for the module at root.
func NewLoader(root, module string) *Loader {
	fset := token.NewFileSet()
	return &Loader{Fset: fset, Module: module, Root: root, pkgs: map[string]*Package{},
		std: importer.ForCompiler(fset, "source", nil)}
}

// Import implements types.Importer.
func (l *Loader) Import(path string) (*types.Package, error) {
	if path != l.Module && !strings.HasPrefix(path, l.Module+"/") {
		return l.std.Import(path)
	}
	p, err := l.Load(path)
	if err != nil {
		return nil, err
	}
	return p.Types, nil
}

// Load returns the package at import path, without its tests.
func (l *Loader) Load(path string) (*Package, error) {
	if p, ok := l.pkgs[path]; ok {
		return p, nil
	}
	dir := filepath.Join(l.Root, strings.TrimPrefix(strings.TrimPrefix(path, l.Module), "/"))
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range ents {
		n := e.Name()
		if e.IsDir() || !strings.HasSuffix(n, ".go") || strings.HasSuffix(n, "_test.go") {
			continue
		}
		if ok, err := build.Default.MatchFile(dir, n); err != nil || !ok {
			continue
		}
		names = append(names, n)
	}
	sort.Strings(names)
	srcs := map[string][]byte{}
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			return nil, err
		}
		srcs[filepath.Join(dir, n)] = b
	}
	p, err := l.check(path, srcs)
	if err != nil {
		return nil, err
	}
	l.pkgs[path] = p
	return p, nil
}

// LoadSource type-checks one package given as file name to contents, for
// tests.
func (l *Loader) LoadSource(path string, files map[string]string) (*Package, error) {
	srcs := map[string][]byte{}
	for n, s := range files {
		srcs[n] = []byte(s)
	}
	p, err := l.check(path, srcs)
	if err == nil {
		l.pkgs[path] = p
	}
	return p, err
}

func (l *Loader) check(path string, srcs map[string][]byte) (*Package, error) {
	names := make([]string, 0, len(srcs))
	for n := range srcs {
		names = append(names, n)
	}
	sort.Strings(names)
	var files []*ast.File
	for _, n := range names {
		f, err := parser.ParseFile(l.Fset, n, srcs[n], parser.ParseComments)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("gocoq: no Go files for %s", path)
	}
	info := &types.Info{
		Types:      map[ast.Expr]types.TypeAndValue{},
		Defs:       map[*ast.Ident]types.Object{},
		Uses:       map[*ast.Ident]types.Object{},
		Selections: map[*ast.SelectorExpr]*types.Selection{},
		Implicits:  map[ast.Node]types.Object{},
	}
	conf := types.Config{Importer: l}
	tp, err := conf.Check(path, l.Fset, files, info)
	if err != nil {
		return nil, err
	}
	return &Package{Path: path, Name: tp.Name(), Files: files, Types: tp, Info: info}, nil
}
