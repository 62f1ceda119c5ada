#!/usr/bin/env bash
# mutants.sh: what the vGIC's reference-model test catches. Each mutant
# below is a bug a reviewer could write into hypervisor/vgic; it is applied
# to a temporary copy of the tree (never to the tree itself) and the test
# is run on that copy. One line per mutant: caught, with the length of the
# shrunk operation sequence that shows it (shrinking has a time budget, so
# under load a sequence may be left longer), or NOT caught. Exits non-zero if
# a mutant is not caught or no longer applies.
#
#   hypervisor/vgic/mutants.sh            all mutants
#   hypervisor/vgic/mutants.sh NAME...    some of them
#
# MUTANT_TESTS names the tests to run (a go test -run pattern, default
# ^TestReferenceModel$); MUTANT_TREE a commit to mutate instead of the
# working tree, e.g. to see what an older test caught:
#   MUTANT_TREE=<commit> MUTANT_TESTS='^TestRandomRuns$' hypervisor/vgic/mutants.sh
# BULKHEAD_SEED is passed on to the test; GO names the go command.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
tests=${MUTANT_TESTS:-'^TestReferenceModel$'}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/src"
if [ -n "${MUTANT_TREE:-}" ]; then
	(cd "$root" && git archive "$MUTANT_TREE") | tar -xf - -C "$tmp/src"
else
	(cd "$root" && git ls-files -z | tar --null -T - -cf -) | tar -xf - -C "$tmp/src"
fi
bad=0

gotest() { (cd "$tmp/src" && "${GO:-go}" test -count=1 -run "$tests" ./hypervisor/vgic/ >"$tmp/log" 2>&1); }

# The unmutated copy must pass, or no verdict below means anything.
if ! gotest; then
	echo "mutants.sh: $tests fails without a mutant:" >&2
	tail -20 "$tmp/log" >&2
	exit 2
fi

# verdict: how the failing run in $tmp/log showed the mutant.
verdict() {
	local n
	if grep -q -E '^# |build failed|\[setup failed\]' "$tmp/log"; then
		echo "DOES NOT BUILD: $(grep -m1 -E '\.go:[0-9]+' "$tmp/log" | cut -c1-90)"
		return
	fi
	n=$(grep -o -m1 'shrunk to [0-9]*' "$tmp/log" | grep -o '[0-9]*$' || true)
	if [ -n "$n" ]; then
		echo "caught: $(grep -m1 -o 'differ: .*' "$tmp/log" | cut -c9-100) ($n operations)"
	else
		echo "caught: $(grep -m1 -E '(Error|\.go:[0-9]+:)' "$tmp/log" | sed 's/^ *//' | cut -c1-100)"
	fi
}

# mutant NAME FILE FROM TO: replace the first FROM in FILE by TO.
mutant() {
	local name=$1 file=$tmp/src/hypervisor/vgic/$2 v
	case " ${SELECTED:-} " in "  ") ;; *" $name "*) ;; *) return 0 ;; esac
	cp "$file" "$tmp/orig"
	if ! "$root/scripts/replace-first" "$file" "$3" "$4"; then
		printf '%-30s does not apply (the code changed)\n' "$name"
		cp "$tmp/orig" "$file"
		bad=1
		return 0
	fi
	if gotest; then
		printf '%-30s NOT caught\n' "$name"
		bad=1
	else
		v=$(verdict)
		case $v in DOES*) bad=1 ;; esac
		printf '%-30s %s\n' "$name" "$v"
	fi
	cp "$tmp/orig" "$file"
}

SELECTED="$*"

mutant icenabler-sets dist.go \
	'	case GICDICENABLER:
		b.enable &^= v' \
	'	case GICDICENABLER:
		b.enable |= v'
mutant icpendr-keeps-ones dist.go \
	'	case GICDICPENDR:
		b.latch &^= v' \
	'	case GICDICPENDR:
		b.latch &= v'
mutant ispendr-reads-latch-only dist.go \
	'	case GICDISPENDR, GICDICPENDR:
		return b.pending()' \
	'	case GICDISPENDR, GICDICPENDR:
		return b.latch'
mutant priority-lane-off-by-one dist.go \
	'*p = uint8(v >> (8 * i))' \
	'*p = uint8(v >> (8 * ((i + 1) % 4)))'
mutant sgi-icfgr0-writable dist.go \
	'if b == nil || intid < NumSGIs {' \
	'if b == nil {'
mutant ctlr-drops-enablegrp0 dist.go \
	'g.ctlr = v & (CtlrEnableGrp0 | CtlrEnableGrp1)' \
	'g.ctlr = v & CtlrEnableGrp1'
mutant irouter-write-dropped mmio.go \
	'g.route[i] = v & routeMask' \
	'_, _ = i, v'
mutant irouter-high-word-low mmio.go \
	'shift := off & 4 * 8' \
	'shift := uint64(0)'
mutant redist-priority-vcpu0 mmio.go \
	'return prioByte(g.priv[f:f+1], 0, off-SGIBase)' \
	'return prioByte(g.priv[0:1], 0, off-SGIBase)'
mutant routing-ignores-irouter deliver.go \
	'r := g.route[intid-SPIBase]' \
	'r := uint64(0)'
mutant one-of-n-ignores-waker deliver.go \
	'if !g.cpu[v].sleep && g.cpu[v].ctlr&RCtlrDPG1NS == 0 {' \
	'if g.cpu[v].ctlr&RCtlrDPG1NS == 0 {'
mutant sgi-to-sender lines.go \
	'		if v := rs*16 + bits.TrailingZeros32(list); v < g.vcpus {
			g.raiseSGI(v, bit)' \
	'		if v := rs*16 + bits.TrailingZeros32(list); v < g.vcpus {
			g.raiseSGI(from, bit)'
mutant sgi-ignores-range-selector lines.go \
	'if v := rs*16 + bits.TrailingZeros32(list)' \
	'if v := rs*0 + bits.TrailingZeros32(list)'
mutant ack-clears-level-line lines.go \
	'	b, bit := g.bankOf(vcpu, intid)
	b.latch &^= bit' \
	'	b, bit := g.bankOf(vcpu, intid)
	b.latch &^= bit
	b.line &^= bit'
mutant edge-relatch-on-high-level gic.go \
	'b.latch |= mask &^ b.line & b.edge' \
	'b.latch |= mask & b.edge'
mutant pulse-ignores-trigger lines.go \
	'b.latch |= bit & b.edge' \
	'b.latch |= bit'
mutant set-level-not-dirty lines.go \
	'	b.setLine(bit, level)
	g.dirty = true' \
	'	b.setLine(bit, level)'
mutant reset-keeps-routes gic.go \
	'	clear(g.route)
' \
	''
mutant typer-last-on-every redist.go \
	'if v == g.vcpus-1 {' \
	'if v >= 0 {'

exit $bad
