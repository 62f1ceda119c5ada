#!/bin/sh
# Builds the specification and the proofs with coqc in dependency order,
# rejects Admitted/admit and unexpected axioms, runs the mutation check and
# builds the extracted oracle (build/oracle/bulkhead-oracle).
set -eu
cd "$(dirname "$0")/.."
COQ="coqc -q -Q specs Bulkhead.Spec -Q proofs Bulkhead.Proofs"
SPECS="specs/State.v specs/Spec.v"
PROOFS="proofs/Lemmas.v proofs/Invariants.v"

if grep -nE '\b(Admitted|admit|Axiom|Parameter)\b' $SPECS $PROOFS; then
	echo "check.sh: Admitted, admit or an axiom in the sources" >&2
	exit 1
fi
for f in $SPECS $PROOFS; do
	echo "coqc $f"
	$COQ "$f"
done

# Every main theorem, closed under the global context.
out=$(mktemp)
trap 'rm -f "$out"' EXIT
mkdir -p build
cat > build/Assumptions.v <<'V'
From Bulkhead.Proofs Require Import Invariants.
Print Assumptions inv_init.
Print Assumptions vm_create_inv.
Print Assumptions vm_destroy_inv.
V
$COQ build/Assumptions.v | tee "$out"
if [ "$(grep -c 'Closed under the global context' "$out")" -ne 3 ]; then
	echo "check.sh: a theorem depends on an axiom" >&2
	exit 1
fi

# The oracle: extract and compile.
mkdir -p build/oracle
$COQ specs/Extract.v
cp proofs/oracle/oracle.ml build/oracle/
(cd build/oracle && ocamlopt -w -a spec.mli spec.ml oracle.ml -o bulkhead-oracle)
echo "check.sh: ok, oracle at build/oracle/bulkhead-oracle"
