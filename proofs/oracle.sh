#!/bin/sh
# Builds the oracle (build/oracle/bulkhead-oracle): the specification
# extracted to OCaml (specs/Extract.v) beside the step driver of
# proofs/oracle/. It compiles its own copy of specs/ in build/oracle/, so
# that it needs nothing else built and may run beside the proofs, which
# compile specs/ in place; the unit tests and the refinement mutants need
# only it.
set -eu
cd "$(dirname "$0")/.."
d=build/oracle
rm -rf "$d"
mkdir -p "$d/specs" "$d/build/oracle"
cp specs/State.v specs/Spec.v specs/Extract.v "$d/specs/"
for f in State Spec Extract; do
	(cd "$d" && coqc -q -Q specs Bulkhead.Spec "specs/$f.v")
done
mv "$d/build/oracle/spec.ml" "$d/build/oracle/spec.mli" "$d/"
rm -rf "$d/specs" "$d/build"
cp proofs/oracle/oracle.ml proofs/oracle/nat64.ml proofs/oracle/nat64_test.ml proofs/oracle/statements.ml "$d/"
# The exact naturals the extraction uses, against 64-bit arithmetic.
(cd "$d" && ocamlopt -w -a nat64.ml nat64_test.ml -o nat64_test && ./nat64_test)
(cd "$d" && ocamlopt -w -a nat64.ml spec.mli spec.ml statements.ml oracle.ml -o bulkhead-oracle)
echo "oracle: built at $d/bulkhead-oracle"
