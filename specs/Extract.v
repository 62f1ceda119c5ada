(** * Extraction of the specification to OCaml

    The transition function and the initial state, not the proofs, become
    build/oracle/spec.ml; proofs/oracle/oracle.ml reads traces and prints
    the abstract state after each call. [nat] becomes OCaml [int]: every
    value the oracle stores is below 2^62, and the trace reader clamps
    larger arguments (all of them invalid) below that. *)

From Coq Require Import Extraction ExtrOcamlBasic ExtrOcamlNatInt.
From Bulkhead.Spec Require Import State Spec.

Extract Constant Coq.Init.Nat.div => "fun n m -> if m = 0 then 0 else n / m".
Extract Constant Coq.Init.Nat.modulo => "fun n m -> if m = 0 then n else n mod m".
Extract Constant PeanoNat.Nat.div => "fun n m -> if m = 0 then 0 else n / m".
Extract Constant PeanoNat.Nat.modulo => "fun n m -> if m = 0 then n else n mod m".
Extract Inlined Constant Coq.Init.Nat.leb => "(<=)".
Extract Inlined Constant Coq.Init.Nat.ltb => "(<)".

Extraction "build/oracle/spec.ml" step init_state mkConfig vm_vcpus vm_live.
