#!/bin/sh
# Regenerates the Coq translation of the isolation core (proofs/code/, made
# by cmd/gocoq, never edited by hand), fails if the committed translation
# differs from it, then compiles it and the proofs about it.
#
#   proofs/gocoq.sh          check
#   proofs/gocoq.sh -update  rewrite proofs/code/ from the Go sources
set -eu
cd "$(dirname "$0")/.."
PKGS="bulkhead/isolation/abi bulkhead/isolation"
COQ="coqc -q -w -overriding-logical-loadpath -Q specs Bulkhead.Spec -Q proofs Bulkhead.Proofs -Q proofs/code Bulkhead.Code"
mkdir -p build
go build -o build/gocoq ./cmd/gocoq
if [ "${1:-}" = "-update" ]; then
	rm -f proofs/code/*.v
	build/gocoq -o proofs/code $PKGS > build/gocoq-refused.txt
	echo "gocoq: proofs/code regenerated; refused constructs in build/gocoq-refused.txt"
	exit 0
fi
rm -rf build/gocoq-fresh
mkdir -p build/gocoq-fresh
build/gocoq -o build/gocoq-fresh $PKGS > build/gocoq-refused.txt
if ! diff -r -x '*.vo*' -x '*.glob' -x '.*.aux' build/gocoq-fresh proofs/code > build/gocoq.diff; then
	echo "gocoq: proofs/code is not the translation of the Go sources (see build/gocoq.diff); run proofs/gocoq.sh -update" >&2
	exit 1
fi
echo "gocoq: proofs/code matches the Go sources ($(wc -l < build/gocoq-refused.txt) constructs refused, listed in build/gocoq-refused.txt)"
for f in GoCoq Abi Isolation; do
	echo "coqc proofs/code/$f.v"
	$COQ "proofs/code/$f.v"
done
