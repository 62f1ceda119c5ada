// Command gocoq translates the packages of the isolation core into Coq (see
// package bulkhead/internal/gocoq) and lints them against the subset it
// translates.
//
//	gocoq -o proofs/code bulkhead/isolation/abi bulkhead/isolation
//	gocoq -lint bulkhead/isolation
//	gocoq -plant SkipZeroOnReclaim -o build/m bulkhead/isolation/abi bulkhead/isolation
//
// Packages are translated in the order given, so a package comes after the
// ones it imports. Every construct outside the subset is printed as
// file:line: construct. With -o, the runtime GoCoq.v and one Module.v per
// package are written to the directory; with -lint, nothing is written and
// the exit status is 1 if anything is refused. The switches of
// isolation/internal/plant are read as false, except the one -plant names,
// read as true: the translation of the core with that bug planted.
package main

import (
	"flag"
	"fmt"
	"go/types"
	"os"
	"path/filepath"

	"bulkhead/internal/gocoq"
)

func main() {
	out := flag.String("o", "", "directory to write the Coq files to")
	lint := flag.Bool("lint", false, "only report constructs outside the subset; exit 1 if any")
	prefix := flag.String("prefix", "Bulkhead.Code", "Coq logical path of the output directory")
	root := flag.String("root", ".", "module root")
	plantOn := flag.String("plant", "", "translate the planted-bug switch `Name` of isolation/internal/plant as true")
	flag.Parse()
	if err := run(*root, *out, *prefix, *plantOn, *lint, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "gocoq:", err)
		os.Exit(1)
	}
}

// plantPkg holds the planted-bug switches.
const plantPkg = "bulkhead/isolation/internal/plant"

func run(root, out, prefix, plantOn string, lint bool, pkgs []string) error {
	if len(pkgs) == 0 {
		return fmt.Errorf("no packages given")
	}
	if !lint && out == "" {
		return fmt.Errorf("give -o DIR or -lint")
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return err
	}
	l := gocoq.NewLoader(abs, "bulkhead")
	opts := gocoq.Options{Prefix: prefix, FalseVars: []string{plantPkg}}
	if plantOn != "" {
		p, err := l.Load(plantPkg)
		if err != nil {
			return err
		}
		v, ok := p.Types.Scope().Lookup(plantOn).(*types.Var)
		if !ok || !types.Identical(v.Type(), types.Typ[types.Bool]) {
			return fmt.Errorf("-plant %s: no bool variable %s in %s", plantOn, plantOn, plantPkg)
		}
		opts.TrueVars = []string{plantPkg + "." + plantOn}
	}
	tr := gocoq.NewTranslator(l, opts)
	refused := 0
	for _, path := range pkgs {
		p, err := l.Load(path)
		if err != nil {
			return err
		}
		res := tr.Translate(p)
		for _, r := range res.Refusals {
			fmt.Println(r)
		}
		for _, d := range res.Dropped {
			fmt.Fprintln(os.Stderr, "left out:", d)
		}
		refused += len(res.Refusals)
		fmt.Fprintf(os.Stderr, "%s: %d of %d declarations translated, %d refused, %d left out for using them\n",
			path, res.Translated, res.Decls, len(res.Refusals), len(res.Dropped))
		if !lint {
			if err := os.WriteFile(filepath.Join(out, res.Module+".v"), []byte(res.Coq), 0o644); err != nil {
				return err
			}
		}
	}
	if lint {
		if refused != 0 {
			os.Exit(1)
		}
		return nil
	}
	return os.WriteFile(filepath.Join(out, "GoCoq.v"), []byte(gocoq.Runtime), 0o644)
}
