// Package refinement checks the isolation core against the executable
// specification: the Coq model of specs/, extracted to OCaml and built as
// bulkhead-oracle by proofs/check.sh. The same trace of calls runs through
// isolation.Engine and through the oracle, and after every call the
// registers the caller sees and the abstract state must be identical.
//
// A trace is a list of Ops in the oracle's text format (specs/ABI.md,
// "Traces"). The package has no code outside its tests.
package refinement
