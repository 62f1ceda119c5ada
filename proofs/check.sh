#!/bin/sh
# Builds the specification and the proofs about the model (proofs/coq.mk,
# two files at a time), rejects Admitted/admit and unexpected axioms, and
# prints the assumptions of each main theorem. make proofs runs it beside
# the oracle (proofs/oracle.sh), the model's mutants (proofs/mutate.sh)
# and the proofs about the Go code (proofs/gocoq.sh, proofs/codemutate.sh).
set -eu
cd "$(dirname "$0")/.."
COQ="coqc -q -Q specs Bulkhead.Spec -Q proofs Bulkhead.Proofs"
SPECS="specs/State.v specs/Spec.v"
PROOFS="proofs/Lemmas.v proofs/Invariants.v proofs/Scrub.v proofs/Noninterference.v proofs/Integrity.v proofs/Protected.v"
# The theorems whose assumptions are printed: Module.name, one a line.
THEOREMS="
Invariants.inv_init
Invariants.step_inv
Invariants.inv_reachable
Invariants.inv1_vm_s2
Invariants.inv1_ipa_once
Invariants.inv2_host_s2
Invariants.inv2_host_no_private
Invariants.inv3_engine
Scrub.inv4_conservation
Invariants.inv5_none_unmapped
Invariants.inv7_live
Scrub.scrub_owner
Scrub.scrub_host_view
Scrub.scrub_relinquish
Scrub.scrub_run
Noninterference.ni_step
Noninterference.ni_output_consistency
Noninterference.ni_step_consistency
Noninterference.ni_other
Noninterference.rel_obs_host
Noninterference.rel_obs_vm
Noninterference.noninterference
Noninterference.noninterference_obs
Noninterference.noninterference_vregs
Noninterference.ni_boot_files
Noninterference.file_read_contents
Integrity.integrity_mem
Integrity.integrity_regs
Integrity.vcpu_run_regs
Integrity.integrity_mem_run
Integrity.integrity_vregs
Integrity.integrity_vcpu_ctl
Protected.protected_owns
Protected.protected_host_view
Protected.protected_host_gain
"

if grep -nE '\b(Admitted|admit|Axiom|Parameter|Conjecture|Hypothesis|Variable)\b' $SPECS $PROOFS \
	| grep -vE 'Variable cfg : config\.'; then
	echo "check.sh: Admitted, admit or an axiom in the sources" >&2
	exit 1
fi
sh proofs/coqmake.sh $(for f in $SPECS $PROOFS; do echo "${f%.v}.vo"; done)

# Every main theorem, closed under the global context: each Print
# Assumptions goes to build/assumptions/<name>.out.
rm -rf build/assumptions
mkdir -p build/assumptions
{
	for t in $THEOREMS; do echo "From Bulkhead.Proofs Require ${t%%.*}."; done | sort -u
	for t in $THEOREMS; do echo "Redirect \"build/assumptions/$t\" Print Assumptions $t."; done
} > build/Assumptions.v
$COQ build/Assumptions.v
bad=0
for t in $THEOREMS; do
	if grep -q 'Closed under the global context' "build/assumptions/$t.out"; then
		echo "assumptions $t: closed under the global context"
	else
		echo "assumptions $t:"; cat "build/assumptions/$t.out"; bad=1
	fi
done
if [ "$bad" -ne 0 ]; then
	echo "check.sh: a theorem depends on an axiom" >&2
	exit 1
fi

echo "check.sh: ok: $(echo $THEOREMS | wc -w) theorems about the model, each closed"
