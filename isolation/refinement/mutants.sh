#!/usr/bin/env bash
# mutants.sh: how much the refinement test alone catches. Each mutant below
# is a bug a reviewer could write into the Go core; it is applied to a
# temporary copy of the working tree (never to the tree itself), whose
# checked-in regression traces (testdata/*.trace) are removed, and the
# refinement tests are run on that copy: first the state-aware traces, then,
# if they pass, the others. One line per mutant: caught, by which test, and
# the length of the trace prefix that diverged (the failing call's index
# + 1), or NOT caught. Exits non-zero if a mutant is not caught or no
# longer applies.
#
#   isolation/refinement/mutants.sh            all mutants
#   isolation/refinement/mutants.sh NAME...    some of them
#
# BULKHEAD_ORACLE names the oracle (default build/oracle/bulkhead-oracle,
# which make oracle builds); BULKHEAD_SEED the random tests' seed.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
oracle=${BULKHEAD_ORACLE:-$root/build/oracle/bulkhead-oracle}
[ -x "$oracle" ] || { echo "mutants.sh: no oracle at $oracle (make oracle)" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Every mutant's divergent trace (saveRegression) goes under $tmp, removed
# with it, not into the system's temporary directory.
mkdir -p "$tmp/src" "$tmp/tmp"
export TMPDIR=$tmp/tmp
(cd "$root" && git ls-files -z | tar --null -T - -cf -) | tar -xf - -C "$tmp/src"
rm -f "$tmp/src"/isolation/refinement/testdata/*.trace

# MUTANT_TESTS replaces both runs by one of the tests it names (a go test
# -run pattern), e.g. to see what the random traces alone catch.
first=${MUTANT_TESTS:-'^TestStateAwareTraces$'}
rest=${MUTANT_TESTS:+'^$'}
rest=${rest:-'^(TestBoundaryValues|TestScriptedGuest|TestLongRandom|TestLongShareUnshare|TestRandomTraces|TestExhaustive|TestExhaustiveReduced)$'}
bad=0

# The unmutated copy must pass, or no verdict below means anything.
if ! (cd "$tmp/src" && BULKHEAD_ORACLE=$oracle go test -count=1 -run "$first" ./isolation/refinement/ >"$tmp/log" 2>&1); then
	echo "mutants.sh: the refinement test fails without a mutant:" >&2
	tail -20 "$tmp/log" >&2
	exit 2
fi

# verdict LOG: "by TEST, N calls" from a failing go test log.
verdict() {
	local test op tr
	if grep -q 'fork/exec' "$1"; then
		# The oracle did not start (replaced while the run went on, say):
		# no verdict.
		echo "INCONCLUSIVE: $(grep -m1 'fork/exec' "$1" | sed 's/^ *//' | cut -c1-100)"
		return
	fi
	test=$(grep -o -m1 -- '--- FAIL: Test[A-Za-z]*' "$1" | sed 's/--- FAIL: //' || true)
	if grep -q '^panic: ' "$1"; then
		echo "by ${test:-a test} (the Go core panicked: $(grep -m1 '^panic: ' "$1" | cut -c8-80))"
		return
	fi
	op=$(grep -o -m1 'diverges at op [0-9]*' "$1" | grep -o '[0-9]*$' || true)
	tr=$(grep -o -m1 'trace [0-9]* diverges' "$1" | grep -o '[0-9][0-9]*' || true)
	if [ -n "$op" ]; then
		echo "by $test, trace prefix of $((op + 1)) calls${tr:+ (trace $tr of the run)}"
	else
		echo "by $test: $(grep -m1 -E '(Error|Fatal|NO_MEMORY|\.go:[0-9]+:)' "$1" | sed 's/^ *//' | cut -c1-100)"
	fi
}

# report NAME LOG: the line of a mutant whose tests failed.
report() {
	local v
	v=$(verdict "$2")
	case $v in
	INCONCLUSIVE*) printf '%-34s %s\n' "$1" "$v"; bad=1 ;;
	*) printf '%-34s caught %s\n' "$1" "$v" ;;
	esac
}

# mutant NAME FILE FROM TO: replace the first FROM in FILE by TO.
mutant() {
	local name=$1 file=$tmp/src/$2
	if [ $# -gt 4 ]; then shift 4; fi
	case " ${SELECTED:-} " in "  ") ;; *" $name "*) ;; *) return 0 ;; esac
	cp "$file" "$tmp/orig"
	if ! "$root/scripts/replace-first" "$file" "$3" "$4"; then
		printf '%-34s does not apply (the code changed)\n' "$name"
		cp "$tmp/orig" "$file"; bad=1; return 0
	fi
	local log=$tmp/log
	if (cd "$tmp/src" && BULKHEAD_ORACLE=$oracle go test -count=1 -run "$first" ./isolation/refinement/ >"$log" 2>&1); then
		if (cd "$tmp/src" && BULKHEAD_ORACLE=$oracle go test -count=1 -failfast -run "$rest" ./isolation/refinement/ >"$log" 2>&1); then
			printf '%-34s NOT caught\n' "$name"; bad=1
		else
			report "$name" "$log"
		fi
	else
		report "$name" "$log"
	fi
	cp "$tmp/orig" "$file"
}

SELECTED="$*"

mutant relinquish-skips-zeroing isolation/mem.go \
	'		e.plat.ZeroPages(pa, cnt)
		e.plat.CleanToPoC(pa, cnt)
		e.setOwner(pa, cnt, abi.OwnerNone, HostVMID)' \
	'		e.plat.CleanToPoC(pa, cnt)
		e.setOwner(pa, cnt, abi.OwnerNone, HostVMID)'
mutant relinquish-keeps-vm-mapping isolation/mem.go \
	'		e.unmapRange(&v.s2, rIPA, cnt)
		e.plat.ZeroPages(pa, cnt)' \
	'		_ = rIPA
		e.plat.ZeroPages(pa, cnt)'
mutant guest-unshare-keeps-host-mapping isolation/mem.go \
	'		e.unmapRange(&e.host, IPA(pa), cnt)
		e.setShared(pa, cnt, false, HostVMID)' \
	'		e.setShared(pa, cnt, false, HostVMID)'
mutant lend-skips-shared-check isolation/mem.go \
	'if !p.ownedBy(HostVMID) || p.shared {' \
	'if !p.ownedBy(HostVMID) {'
mutant range-one-page-past-the-end isolation/addr.go \
	'return limit.Contains(base, pages<<PageShift)' \
	'return limit.Contains(base, (pages-1)<<PageShift)'
mutant call-reply-to-x1 isolation/vm.go \
	'	case pendCall:
		vc.ctx.X[0] = reply' \
	'	case pendCall:
		vc.ctx.X[1] = reply'
mutant call-exit-leaks-x6 isolation/exit.go \
	'x[1], x[2], x[3], x[4], x[5]}' \
	'x[1], x[2], x[3], x[4], x[6]}'
mutant mmio-write-mask-32-as-64 isolation/exit.go \
	'	if log2 >= 3 {
		return ^uint64(0)' \
	'	if log2 >= 2 {
		return ^uint64(0)'
mutant need-skips-new-tables isolation/stage2.go \
	'return 1 + e.need(-1, 0, lvl+1, ipa, stop, u)' \
	'return e.need(-1, 0, lvl+1, ipa, stop, u)'
mutant destroy-keeps-lent-pages-shared isolation/vm.go \
	'			} else if p.ownedBy(HostVMID) && p.sharedWith(id) {
				p.shared, p.borrower = false, 0' \
	'			} else if p.ownedBy(HostVMID) && p.sharedWith(id) {'
mutant run-starts-off-vcpu isolation/vm.go \
	'	case vc.state == VCPUOff:
		return abi.Denied, [7]uint64{}' \
	''
mutant irq-accepts-intid-1020 isolation/vm.go \
	'intid >= IRQLines' \
	'intid > IRQLines'

# Mutants that only the comparison of the whole state catches: each one
# passed every refinement test while they compared only the ledger, page
# contents as zero or not, and the registers calls and exits return (the
# tree before the VCPUS part and host permissions were in the state line).
mutant irq-lower-keeps-line isolation/vm.go \
	'	case intid >= sgiLines:
		vc.ctx.IRQ[intid/64] &^= bit' \
	'	case intid >= sgiLines:'
mutant irq-raise-clears-word isolation/vm.go \
	'vc.ctx.IRQ[intid/64] |= bit' \
	'vc.ctx.IRQ[intid/64] = bit'
mutant sgi-lower-withdraws-latch isolation/vm.go \
	'	case intid >= sgiLines:
		vc.ctx.IRQ[intid/64] &^= bit' \
	'	default:
		vc.ctx.IRQ[intid/64] &^= bit'
mutant vcpu-reset-clears-irq-lines isolation/platform.go \
	'Fresh: fresh, IRQ: old.IRQ}' \
	'Fresh: fresh}'
mutant guest-share-host-maps-rwx isolation/mem.go \
	'e.mapRange(&e.host, IPA(pa), pa, cnt, hostShared)' \
	'e.mapRange(&e.host, IPA(pa), pa, cnt, hostRAM)'
mutant cpu-on-entry-is-context isolation/psci.go \
	'vc.ctx.reset(c.VM, name, entry, arg)' \
	'vc.ctx.reset(c.VM, name, arg&^3, arg)'
mutant mmio-read-to-x30-dropped isolation/vm.go \
	'if vc.read.Reg != xzr {' \
	'if vc.read.Reg < 30 {'

# Mutants of the SGI exit, which the model covers since the refinement
# test's guests request SGIs (the "sgi R" action): before, no trace
# trapped on ICC_SGI1R_EL1 and both passed every refinement test.
mutant sgi-exit-leaks-res0-bits isolation/sysreg.go \
	'value = x[rt] & sgi1rFields' \
	'value = x[rt]'
mutant sgi-exit-reports-x0 isolation/sysreg.go \
	'value = x[rt] & sgi1rFields' \
	'value = x[0] & sgi1rFields'

# Mutants of the MMIO shadow, which the model covers since the traces mark
# registers (MMIO_SHADOW), drain the log (MMIO_LOG_READ) and access the
# marked registers: before, no trace made either call, and each passed
# every refinement test.
mutant shadow-read-ignores-offset isolation/shadow.go \
	'read.value(r.value >> (8 * (ipa - r.ipa)))' \
	'read.value(r.value)'
mutant shadow-logs-any-offset isolation/shadow.go \
	'!isRead && r.mode == abi.ShadowLog && ipa == r.ipa' \
	'!isRead && r.mode == abi.ShadowLog'
mutant shadow-log-read-keeps-bytes isolation/shadow.go \
	'		s.head = (s.head + 1) % len(s.log)
		s.count--' \
	'		s.head = (s.head + 1) % len(s.log)'
mutant shadow-unmark-takes-a-slot isolation/shadow.go \
	'	case mode == abi.ShadowOff:
		return abi.Success' \
	''
mutant shadow-log-one-byte-short isolation/shadow.go \
	'if s.count == len(s.log) {' \
	'if s.count == len(s.log)-1 {'
mutant vm-create-keeps-shadow isolation/vm.go \
	'v.live, v.hasRun, v.nvcpu, v.shadow = true, false, int(n), shadowState{}' \
	'v.live, v.hasRun, v.nvcpu = true, false, int(n)'

# Mutants of the boot files, which the model covers since FILE_INFO and
# FILE_READ moved from the engine's machine layer into the core.
mutant file-read-any-owner isolation/files.go \
	'if e.pageAt(p).owner != abi.OwnerHost {' \
	'if e.pageAt(p).owner == abi.OwnerEngine {'
mutant file-read-last-page-unchecked isolation/files.go \
	'for i := uint64(0); i < need; i++ {' \
	'for i := uint64(0); i+1 < need; i++ {'
mutant file-read-too-few-pages isolation/files.go \
	'if pages < need {' \
	'if pages+1 < need {'
mutant file-read-reports-pages isolation/files.go \
	'return size, abi.Success' \
	'return need, abi.Success'
mutant file-info-index-off-by-one isolation/files.go \
	'return e.cfg.Files[index], abi.Success' \
	'return e.cfg.Files[(index+1)%uint64(len(e.cfg.Files))], abi.Success'

exit $bad
