#!/bin/sh
# Compiles the .vo files named (and what they require) with proofs/coq.mk.
# Run from a make recipe marked recursive (+), it takes its jobs from that
# make's jobserver; run alone, it compiles JOBS files at a time (default
# 2, the cores CI has).
#
#   sh proofs/coqmake.sh proofs/Invariants.vo ...
set -eu
cd "$(dirname "$0")/.."
case " ${MAKEFLAGS:-} " in
*jobserver*) exec make -s --no-print-directory -f proofs/coq.mk "$@" ;;
*) exec make -s --no-print-directory -j"${JOBS:-2}" -f proofs/coq.mk "$@" ;;
esac
