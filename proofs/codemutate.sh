#!/bin/sh
# Plants the bugs of isolation/internal/plant, one at a time, in the Coq
# translation of the isolation core, and shows that a proof about the
# translated Go fails on each. For every switch of plant.go, gocoq
# translates the core with that switch read as true (gocoq -plant NAME)
# into build/codemutants/NAME/, which then compiles the translation and the
# proofs about it (proofs/Code*.v, as listed in CODE_PROOFS of
# proofs/gocoq.sh) in order until one fails. The mutant is caught by the
# theorem or lemma whose proof (or statement) fails to compile there.
#
# Each switch below is either expected to be caught by a named theorem,
# or is outside the translated code, with the reason; a switch of
# plant.go listed in neither, a switch listed as outside whose translation
# changes, or a switch listed as caught whose translation does not, is an
# error. For a mutant, the expected theorem's file is checked whole on the
# statements of the proof files it needs: those are compiled with coqc
# -vos, which checks every statement and definition but skips the proofs
# closed by Qed (a file whose statement the mutant breaks is reported;
# -vos still checks the proofs inside a Section, whose variables it must
# know, so a section lemma a mutant breaks in a file the expected one
# needs is reported instead), the file itself with -vok, which checks
# every proof in it. If its proofs all hold, every proof file is then
# compiled whole, in CODE_PROOFS order, to report the first that fails.
# ALL=1 does only the latter.
#
# Prints one line per switch: "caught by File.theorem", "NOT caught",
# "outside the translated code: reason" or "not observable in the
# translated code: reason"; exits non-zero if a switch
# expected to be caught is not caught by its theorem.
#
#   sh proofs/codemutate.sh            every switch
#   sh proofs/codemutate.sh NAME...    only the switches named
#   JOBS=2 sh proofs/codemutate.sh     two mutants at a time (default 1)
#
# Switches and the theorem that catches each (isolation/internal/plant):
#
#   SkipZeroOnReclaim        CodeReclaim.MemReclaim_zeroes
#   KeepHostMappingOnDonate  CodeDonate.MemDonate_unmaps_host
#   SkipOwnerCheckOnDonate   CodeTransferRefine.MemDonate_checks_refine
#   ReclaimLiveVMIsDenied    CodeMemCall.MemReclaim_checks_refine
#   ShareIntoProtectedVM     CodeTransferRefine.MemShare_checks_refine
#   MemStateIgnoresShare     CodeMemState.memStateAt_shared
#   NoWorkBudget             CodeBudget.guestPagesOK_bound
#   LogReadOldestHighest     CodeLogRead.MMIOLogRead_result
#   CPUOnNamesCaller         CodeGuestPSCI.cpuOn_run
#   SGIExitWholeRegister     CodeExitRegs.sysRegAccess_agree
#   MMIOReadCarriesRegister  CodeExitRegs.mmioDecision_agree
#   ResetSkipsWarmEL1        CodeHideRegs.sim_VCPUInit
#   RunIgnoresStop           not observable sequentially: the mutant's run
#                            is Engine_run_with true (checked here), which
#                            is proved to behave as the code's
#                            (CodeRunStop.Engine_run_stop_dead); its test
#                            sees a state only another CPU changes
#   SerialNoLock, SerialIRQIntoGuest, SerialDestroyInGuest: outside the
#   translated code (Serial's methods are left out by gocoq).
#
# The translation must match the Go sources first (sh proofs/gocoq.sh).
# Run time: about 3 minutes on 2 cores (the translation compiles in
# about 3 s; checking one expected file on its dependencies' statements
# takes under a minute).
set -eu
cd "$(dirname "$0")/.."
ROOT=build/codemutants
JOBS=${JOBS:-1}
ALL=${ALL:-0}
PKGS="bulkhead/isolation/abi bulkhead/isolation"
CODE_PROOFS=$(sed -n 's/^CODE_PROOFS="\(.*\)"$/\1/p' proofs/gocoq.sh)
[ -n "$CODE_PROOFS" ] || { echo "codemutate: no CODE_PROOFS in proofs/gocoq.sh" >&2; exit 1; }

# The expected outcome of each switch: "caught FILE.THEOREM"; "outside
# REASON" for a switch only code left out of the translation reads;
# "equivalent FUN=FILE.DEF REASON" for one whose translation changes but
# whose effect needs another CPU, which the translation's sequential
# semantics has not: the mutant's translation of FUN must be, by
# reflexivity, DEF (defined in proofs/FILE.v) applied to true, so that a
# proof about DEF is a proof about the mutant. (The translation of the code
# is DEF applied to false, which a theorem of the proofs states, and it
# differs from the mutant's, which the diff checks; a reflexivity that
# does not hold can run for minutes, hence the timeout.)
EXPECT="
SkipZeroOnReclaim caught CodeReclaim.MemReclaim_zeroes
KeepHostMappingOnDonate caught CodeDonate.MemDonate_unmaps_host
SkipOwnerCheckOnDonate caught CodeTransferRefine.MemDonate_checks_refine
ReclaimLiveVMIsDenied caught CodeMemCall.MemReclaim_checks_refine
ShareIntoProtectedVM caught CodeTransferRefine.MemShare_checks_refine
MemStateIgnoresShare caught CodeMemState.memStateAt_shared
NoWorkBudget caught CodeBudget.guestPagesOK_bound
LogReadOldestHighest caught CodeLogRead.MMIOLogRead_result
CPUOnNamesCaller caught CodeGuestPSCI.cpuOn_run
SGIExitWholeRegister caught CodeExitRegs.sysRegAccess_agree
MMIOReadCarriesRegister caught CodeExitRegs.mmioDecision_agree
ResetSkipsWarmEL1 caught CodeHideRegs.sim_VCPUInit
RunIgnoresStop equivalent Isolation.Engine_run=CodeRunWith.Engine_run_with its test reads the state of the vCPU the run itself set to Running just before EnterGuest; CodeRunStop.Engine_run_stop_dead proves that the run with the switch on (Engine_run_with true, the mutant's translation) gives the same outcome as the code's (the same exit, memory and trace, or the same failure) from every memory and trace, so only another CPU's SYSTEM_OFF (under Serial, left out) can tell them apart. Checked by TestSerialSystemOffCatchesPlantedBugs (isolation/serial_test.go)
SerialNoLock outside Serial is left out of the translation (its sync.Mutex is outside the subset); checked by make race's planted build (bulkhead_plant_serial_nolock)
SerialIRQIntoGuest outside Serial is left out of the translation (its sync.Mutex is outside the subset); checked by TestSerialIRQCatchesPlantedBug and make race's planted build
SerialDestroyInGuest outside Serial is left out of the translation (its sync.Mutex is outside the subset); checked by TestSerialSystemOffCatchesPlantedBugs
"

SELECTED=" $* "
SWITCHES=$(sed -n 's/^	\([A-Z][A-Za-z0-9]*\) [b=].*/\1/p' isolation/internal/plant/plant.go)
[ -n "$SWITCHES" ] || { echo "codemutate: no switch found in isolation/internal/plant/plant.go" >&2; exit 1; }

rm -rf "$ROOT"
mkdir -p "$ROOT/base/specs" "$ROOT/base/proofs/code"
go build -o build/gocoq ./cmd/gocoq
COQC="coqc -q -Q specs Bulkhead.Spec -Q proofs Bulkhead.Proofs -Q proofs/code Bulkhead.Code"

# The translation without a planted bug, and what every mutant shares:
# the runtime, the ABI package and the specification, compiled once.
build/gocoq -o "$ROOT/base/proofs/code" $PKGS > /dev/null 2>&1
if ! diff -r -x '*.vo*' -x '*.glob' -x '.*.aux' "$ROOT/base/proofs/code" proofs/code > /dev/null; then
	echo "codemutate: proofs/code is not the translation of the Go sources; run proofs/gocoq.sh first" >&2
	exit 1
fi
cp specs/State.v specs/Spec.v "$ROOT/base/specs/"
for f in proofs/code/GoCoq.v proofs/code/Abi.v specs/State.v specs/Spec.v; do
	if ! (cd "$ROOT/base" && $COQC "$f") > "$ROOT/base/log" 2>&1; then
		cat "$ROOT/base/log" >&2; exit 1
	fi
done

# is_switch_on DIR FUN=FILE.DEF: in DIR, whose proofs/code holds a
# translation, FUN is by reflexivity DEF of proofs/FILE.v applied to true.
is_switch_on() {
	fun=${2%%=*} file=${2#*=}; def=${file#*.}; file=${file%%.*}
	mkdir -p "$1/proofs"
	cp "proofs/$file.v" "$1/proofs/"
	cat > "$1/proofs/Equiv.v" <<EOF
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Isolation.
From Bulkhead.Proofs Require $file.
Theorem switch_on : forall S, @$fun S = @$file.$def S true.
Proof. intros S. reflexivity. Qed.
EOF
	(cd "$1" && { [ -e proofs/code/GoCoq.vo ] || cp ../base/proofs/code/GoCoq.* proofs/code/; } &&
		{ [ -e proofs/code/Abi.vo ] || $COQC proofs/code/Abi.v; } &&
		{ [ -e proofs/code/Isolation.vo ] || $COQC proofs/code/Isolation.v; } &&
		$COQC "proofs/$file.v" && timeout 120 $COQC proofs/Equiv.v) > "$1/equiv.log" 2>&1
}

status=0
: > "$ROOT/list"
for s in $SWITCHES; do
	case "$SELECTED" in "  ") ;; *" $s "*) ;; *) continue ;; esac
	e=$(printf '%s\n' "$EXPECT" | sed -n "s/^$s //p")
	if [ -z "$e" ]; then
		printf '%-24s  no expectation in proofs/codemutate.sh for this switch of plant.go\n' "$s"
		status=1; continue
	fi
	d=$ROOT/$s
	mkdir -p "$d/specs" "$d/proofs/code"
	build/gocoq -plant "$s" -o "$d/proofs/code" $PKGS > /dev/null 2>&1
	changed=yes
	if diff -r -x '*.vo*' -x '*.glob' -x '.*.aux' "$ROOT/base/proofs/code" "$d/proofs/code" > "$d/diff" 2>&1; then
		changed=no
	fi
	case "$e" in
	outside*)
		if [ $changed = yes ]; then
			printf '%-24s  listed as outside the translated code, but its translation changes (%s)\n' "$s" "$d/diff"
			status=1
		else
			printf '%-24s  outside the translated code: %s\n' "$s" "${e#outside }"
		fi
		rm -rf "$d"; continue ;;
	equivalent*)
		e=${e#equivalent }
		if [ $changed = no ]; then
			printf '%-24s  listed as changing the translation, but it does not\n' "$s"
			status=1
		elif ! is_switch_on "$d" "${e%% *}"; then
			printf '%-24s  its translation is not %s applied to true (%s)\n' "$s" "${e%% *}" "$d/equiv.log"
			status=1; continue
		else
			printf '%-24s  not observable in the translated code: %s\n' "$s" "${e#* }"
		fi
		rm -rf "$d"; continue ;;
	esac
	if [ $changed = no ]; then
		printf '%-24s  its translation does not change: the switch is outside the translated code\n' "$s"
		status=1; rm -rf "$d"; continue
	fi
	cp "$ROOT"/base/specs/* "$d/specs/"
	cp "$ROOT"/base/proofs/code/GoCoq.* "$ROOT"/base/proofs/code/.GoCoq.aux "$d/proofs/code/" 2>/dev/null || true
	cmp -s "$ROOT/base/proofs/code/Abi.v" "$d/proofs/code/Abi.v" &&
		cp "$ROOT"/base/proofs/code/Abi.* "$d/proofs/code/"
	for f in $CODE_PROOFS; do cp "$f" "$d/proofs/"; done
	echo "$s ${e#caught }" >> "$ROOT/list"
done

# Builds one mutant; its verdict goes to $d/verdict.
cat > "$ROOT/run.sh" <<'RUN'
s=$1 want=$2
d=$ROOT/$s
cd "$d"
# deps FILE: the proof files FILE requires, transitively, then FILE, each
# once (visited names the files already listed, so that a file many others
# require is read once, not once per path to it).
visited=" "
deps() {
	case "$visited" in *" $1 "*) return ;; esac
	visited="$visited$1 "
	for r in $(perl -0 -ne 'while (/From Bulkhead\.Proofs Require(?: Import)?\s+([^.]*)\./g) { print "$1\n" }' "proofs/$1.v"); do
		deps "$r"
	done
	echo "$1"
}
first=$(deps "${want%%.*}")
for f in GoCoq Abi Isolation; do
	[ -e "proofs/code/$f.vo" ] && continue
	if ! $COQC "proofs/code/$f.v" > log 2>&1; then
		echo "the translation does not compile: $(grep -m1 Error log)" > verdict; exit 0
	fi
done
# The files in CODE_PROOFS order.
ordered() { for f in $CODE_PROOFS; do b=$(basename "$f" .v); printf '%s\n' "$@" | grep -qx "$b" && echo "$b"; done; true; }
# caught P: the verdict names the theorem of proofs/P.v whose proof (or
# statement) the error in log is in.
caught() {
	line=$(sed -n 's/^File "[^"]*", line \([0-9]*\).*/\1/p' log | head -n 1)
	thm=$(head -n "${line:-1}" "proofs/$1.v" | grep -oE '^(Theorem|Lemma|Corollary|Definition|Fixpoint) [A-Za-z0-9_'"'"']+' | tail -n 1 | cut -d' ' -f2)
	echo "caught by $1.$thm (proofs/$1.v:$line)" > verdict
	exit 0
}
# First the expected file, whole, on its dependencies' statements: each
# dependency compiled with coqc -vos, which checks every statement and
# definition but skips the proofs closed by Qed, then the file itself with
# -vok, which checks all of its proofs. A dependency whose statement no
# longer holds still fails here.
if [ "$ALL" != 1 ]; then
	want_file=${want%%.*}
	for p in $(ordered $first); do
		if [ "$p" = "$want_file" ]; then
			$COQC -vok "proofs/$p.v" > log 2>&1 || caught "$p"
		else
			$COQC -vos "proofs/$p.v" > log 2>&1 || caught "$p"
		fi
	done
	rm -f proofs/*.vos proofs/*.vok
fi
# Then, if the expected theorem still holds, every file whole, in order,
# to report whichever proof the mutant breaks.
for p in $(for f in $CODE_PROOFS; do basename "$f" .v; done); do
	$COQC "proofs/$p.v" > log 2>&1 || caught "$p"
done
echo "NOT caught: every proof about the code compiles" > verdict
RUN

start=$(date +%s)
if [ -s "$ROOT/list" ]; then
	ROOT=$ROOT ALL=$ALL COQC=$COQC CODE_PROOFS=$CODE_PROOFS xargs -P "$JOBS" -L 1 sh "$ROOT/run.sh" < "$ROOT/list"
fi
while read -r s want; do
	v=$(cat "$ROOT/$s/verdict")
	case $v in
	"caught by $want "*) printf '%-24s  %s\n' "$s" "$v" ;;
	caught*) printf '%-24s  %s, expected %s\n' "$s" "$v" "$want" ;;
	*) printf '%-24s  %s, expected to be caught by %s\n' "$s" "$v" "$want"; status=1 ;;
	esac
done < "$ROOT/list"
echo "codemutate: $(wc -l < "$ROOT/list") mutants built in $(($(date +%s) - start)) s"
exit $status
