#!/bin/sh
# Plants known bugs, one at a time, in a copy of the specification
# (build/mutants/<name>/). A mutant is caught when the model it makes
# violates the statement of a main theorem on a concrete trace: the
# oracle built from the mutated model, with its statement checks on
# (proofs/oracle/statements.ml), runs the state-aware traces of
# isolation/refinement (TestStatementsHold) until a step violates one. A
# proof that merely breaks is not enough (an equivalent rewrite of the
# model can break a proof script); which proof breaks is printed too: the
# first in the file of the violated statement, checked on the statements
# of the files before it, else the first in order.
# Naming the broken proof compiles the proofs against each mutant, which
# is most of the run time and decides nothing: NAME_PROOFS=0 (what make
# proofs uses) skips it.
# Prints one line per mutant, "caught" with the statement violated and
# the first proof that fails, or "NOT caught"; exits non-zero if a mutant
# is not caught, or if a mutation no longer applies or no longer builds
# (the model changed under it).
set -eu
cd "$(dirname "$0")/.."
ROOT=build/mutants
JOBS=${JOBS:-2}
NAME_PROOFS=${NAME_PROOFS:-1}
PROOFS="Lemmas Invariants Scrub Noninterference Integrity Protected"

rm -rf "$ROOT"
mkdir -p "$ROOT"

# "sh proofs/mutate.sh NAME..." runs only the mutants named.
SELECTED=" $* "

# mutant NAME FROM TO: in specs/Spec.v, replace the first occurrence of the
# text FROM by TO.
mutant() {
	case "$SELECTED" in "  ") ;; *" $1 "*) ;; *) return 0 ;; esac
	d="$ROOT/$1"
	mkdir -p "$d/specs" "$d/proofs"
	cp specs/State.v specs/Spec.v specs/Extract.v "$d/specs/"
	mkdir -p "$d/oracle"
	cp proofs/oracle/*.ml "$d/oracle/"
	for p in $PROOFS; do cp "proofs/$p.v" "$d/proofs/"; done
	FROM=$2 TO=$3 perl -0 -e '
		local $/; my $s = <STDIN>;
		my $i = index($s, $ENV{FROM});
		if ($i < 0) { exit 3 }
		substr($s, $i, length($ENV{FROM})) = $ENV{TO};
		print $s;' < specs/Spec.v > "$d/specs/Spec.v" || echo "mutation does not apply" > "$d/verdict"
}

mutant file-read-any-owner \
	'else if host_owned (ms_pages m p) then None else Some DENIED.' \
	'else None.'
mutant reclaim-skips-zeroing \
	'(fun p => if in_range p p0 n then 0 else st_mem s p)' \
	'(st_mem s)'
mutant donate-keeps-host-mapping \
	"let hs2' := fun p => if in_range p p0 n then false else ms_hs2 m p in" \
	"let hs2' := ms_hs2 m in"
mutant donate-skips-owner-check \
	'if negb (all_range (pfn pa) n (fun p => is_host_unshared (ms_pages m p))) then Some DENIED else' \
	''
mutant donate-skips-ipa-check \
	'if negb (ipa_range_free (s2_of m v) (pfn ipa) n) then Some DENIED else' \
	''
mutant reclaim-takes-live-vm-page \
	'| OVM _ => Some BUSY' \
	'| OVM _ => None'
mutant mmio-read-exit-leaks-register \
	'(if w then mmio_write_value regs sz r else 0)' \
	'(regs r)'
mutant call-exit-leaks-x6 \
	'[regs 1; regs 2; regs 3; regs 4; regs 5]' \
	'[regs 1; regs 2; regs 3; regs 4; regs 6]'
mutant sgi-exit-leaks-register \
	'if r =? xzr then 0 else fields_value sgi_fields (regs r)' \
	'if r =? xzr then 0 else regs r'
mutant shadow-logs-next-register \
	'| TMMIO _ true sz r => mmio_write_value regs sz r mod 256' \
	'| TMMIO _ true sz r => regs (S r) mod 256'
mutant relinquish-skips-zeroing \
	'(fun p => if mapped_in s2 i0 n p then 0 else st_mem s p)' \
	'(st_mem s)'
mutant destroy-hands-pages-to-host \
	'| OVM w, _ => if w =? v then mkPage ONone NotShared else pg' \
	'| OVM w, _ => if w =? v then mkPage OHost NotShared else pg'
mutant destroy-keeps-host-mapping \
	'(fun p => if owned_by v (ms_pages m p) then false else ms_hs2 m p)' \
	'(ms_hs2 m)'
mutant guest-share-skips-owner-check \
	'(fun p => is_vm_unshared v (ms_pages m p))' \
	'(fun p => negb (is_host_unshared (ms_pages m p)))'
mutant host-store-ignores-stage2 \
	'if ms_hs2 (st_meta s) p then (mkState' \
	'if true then (mkState'
mutant vcpu-init-after-run \
	'if vm_hasrun (ms_vms m v) then (s, err DENIED) else' \
	''
mutant system-off-stops-vm-1 \
	'(mkState (all_off (st_meta s) v)' \
	'(mkState (all_off (st_meta s) 1)'
mutant share-into-protected-vm \
	'if vm_protected (ms_vms m v) then (s, err DENIED) else' \
	''

# equivalent NAME FROM TO: a rewrite that changes no behaviour, which must
# not be counted as caught whether or not a proof script breaks on it.
equivalent() {
	mutant "$@"
	if [ -d "$ROOT/$1" ]; then touch "$ROOT/$1/equivalent"; fi
}

equivalent host-write-rewritten \
	'if ms_hs2 (st_meta s) p then (mkState (st_meta s) (upd (st_mem s) p x) (st_regs s), ONothing)
  else (s, ONothing).' \
	'(if negb (ms_hs2 (st_meta s) p) then s else mkState (st_meta s) (upd (st_mem s) p x) (st_regs s),
   ONothing).'

# Build one mutant; its verdict goes to $d/verdict.
cat > "$ROOT/run.sh" <<'RUN'
d=$1
[ -e "$d/verdict" ] && exit 0
cd "$d"
COQ="coqc -q -Q specs Bulkhead.Spec -Q proofs Bulkhead.Proofs"
PWD_MUTANT=$(pwd)
if ! $COQ specs/State.v > log 2>&1 || ! $COQ specs/Spec.v >> log 2>&1; then
	echo "mutant does not build" > verdict; exit 0
fi
# The mutated model's oracle, and the statements on concrete traces.
mkdir -p build/oracle
if ! $COQ specs/Extract.v > olog 2>&1 || ! cp oracle/*.ml build/oracle/ ||
	! (cd build/oracle && ocamlopt -w -a nat64.ml spec.mli spec.ml statements.ml oracle.ml -o bulkhead-oracle) >> olog 2>&1; then
	echo "its oracle does not build" > verdict; exit 0
fi
(cd "$REPO" && BULKHEAD_ORACLE=$PWD_MUTANT/build/oracle/bulkhead-oracle \
	go test -count=1 -run '^TestStatementsHold$' ./isolation/refinement/) > tlog 2>&1
v=$(grep -o -m1 'the model: violation after [0-9]* steps: [^:]*' tlog | sed 's/the model: violation after \([0-9]*\) steps: /\1 /')
# breaks P MODE: compiles proofs/P.v with coqc MODE; on an error, proof
# names the theorem it is in.
breaks() {
	$COQ $2 "proofs/$1.v" > log 2>&1 && return 1
	line=$(sed -n 's/^File "[^"]*", line \([0-9]*\).*/\1/p' log | head -n 1)
	thm=$(head -n "${line:-1}" "proofs/$1.v" | grep -oE '^(Theorem|Lemma) [A-Za-z0-9_]+' | tail -n 1 | cut -d' ' -f2)
	proof="proof breaks at proofs/$1.v:$line ($thm)"
}
# Which proof breaks: first in the file of the violated statement, its
# proofs checked (coqc -vok) on the statements of the files before it
# (coqc -vos checks statements and definitions and skips the proofs); if
# none breaks there, or nothing is violated, every file whole, in order.
proof="no proof breaks"
if [ "$NAME_PROOFS" = 0 ]; then
	proof="the broken proof not named (NAME_PROOFS=0)"
fi
stmt=${v#* }; stmt=${stmt%% *}
file=$(grep -lE "^(Theorem|Lemma) $stmt\b" proofs/*.v 2>/dev/null | head -n 1)
file=$(basename "${file:-none}" .v)
if [ "$NAME_PROOFS" != 0 ] && [ -n "$v" ] && [ -e "proofs/$file.v" ]; then
	for p in $PROOFS; do
		if [ "$p" = "$file" ]; then breaks "$p" -vok; break; fi
		breaks "$p" -vos && break
	done
	rm -f proofs/*.vos proofs/*.vok
fi
if [ "$NAME_PROOFS" != 0 ] && [ "$proof" = "no proof breaks" ]; then
	for p in $PROOFS; do breaks "$p" "" && break; done
fi
if [ -n "$v" ]; then
	echo "caught: violates ${v#* } (after ${v%% *} steps); $proof" > verdict
elif grep -q '^ok' tlog; then
	echo "NOT caught: no trace violates a statement; $proof" > verdict
else
	echo "NOT caught: the statement test failed otherwise ($(grep -m1 -E 'Error|error|FAIL|panic' tlog | cut -c1-80)); $proof" > verdict
fi
RUN

ls "$ROOT" | grep -v '^run.sh$' | sed "s|^|$ROOT/|" |
	REPO=$(pwd) PROOFS="$PROOFS" NAME_PROOFS="$NAME_PROOFS" xargs -P "$JOBS" -n 1 sh "$ROOT/run.sh"

status=0
for d in "$ROOT"/*/; do
	name=$(basename "$d")
	v=$(cat "$d/verdict")
	if [ -e "$d/equivalent" ]; then
		case $v in
		caught*) printf 'WRONG       %-32s an equivalent rewrite counted as caught: %s\n' "$name" "${v#caught: }"; status=1 ;;
		"NOT caught: no trace"*) printf 'equivalent  %-32s not counted (%s)\n' "$name" "${v#*; }" ;;
		*) printf 'NOT caught  %-32s %s\n' "$name" "$v"; status=1 ;;
		esac
		continue
	fi
	case $v in
	caught*) printf 'caught      %-32s %s\n' "$name" "${v#caught: }" ;;
	*) printf 'NOT caught  %-32s %s\n' "$name" "$v"; status=1 ;;
	esac
done
exit $status
