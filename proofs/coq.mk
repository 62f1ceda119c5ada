# Compiles the Coq sources of specs/ and proofs/ (the translation in
# proofs/code/ among them) in their dependency order, as coqdep reads it
# from their Require lines, as many files at a time as make's -j allows.
# proofs/check.sh and proofs/gocoq.sh call it with the .vo files they
# need (proofs/coqmake.sh joins the jobserver of a calling make, or runs
# two at a time):
#
#   make -f proofs/coq.mk -j2 proofs/Invariants.vo proofs/CodeAbs.vo
#
# proofs/code is inside proofs, so coqc warns that its -Q remaps it: the
# warning is dropped, every other message is shown.

COQ_FLAGS := -Q specs Bulkhead.Spec -Q proofs Bulkhead.Proofs -Q proofs/code Bulkhead.Code
COQ_SOURCES := $(sort $(wildcard specs/*.v proofs/*.v proofs/code/*.v))
COQ_NOISE := -e 'remapped to' -e 'previously bound' -e 'overriding-logical-loadpath' -e '^Bulkhead'

.SUFFIXES:
.DELETE_ON_ERROR:

%.vo: %.v
	@echo "coqc $<"
	@if ! coqc -q $(COQ_FLAGS) $< 2> $@.err; then cat $@.err >&2; rm -f $@.err; exit 1; fi
	@grep -v $(COQ_NOISE) $@.err >&2 || true
	@rm -f $@.err

build/coq.d: $(COQ_SOURCES)
	@mkdir -p build
	@if ! coqdep $(COQ_FLAGS) $(COQ_SOURCES) > $@.tmp 2> build/coqdep.err; then cat build/coqdep.err >&2; exit 1; fi
	@mv $@.tmp $@

include build/coq.d
