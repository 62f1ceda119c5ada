(** * Extraction of the specification to OCaml

    The transition function and the initial state, not the proofs, become
    build/oracle/spec.ml; proofs/oracle/oracle.ml reads traces and prints
    the abstract state after each call. [nat] becomes [Nat64.t]
    (proofs/oracle/nat64.ml): exact natural numbers, so that every 64-bit
    register value reaches the model as it is (no clamping), and the sums
    the model forms of them (a page number plus a page count, above 2^64)
    compare as in Coq. Each arithmetic operation the specification uses is
    realised by Nat64's, which are exact up to 2^124 and raise beyond. *)

From Coq Require Import Extraction ExtrOcamlBasic.
From Bulkhead.Spec Require Import State Spec.

Extract Inductive nat => "Nat64.t" [ "Nat64.zero" "Nat64.succ" ] "Nat64.case".
Extract Constant Coq.Init.Nat.add => "Nat64.add".
Extract Constant Coq.Init.Nat.sub => "Nat64.sub".
Extract Constant Coq.Init.Nat.mul => "Nat64.mul".
Extract Constant Coq.Init.Nat.pred => "Nat64.pred".
Extract Constant Coq.Init.Nat.min => "Nat64.min".
Extract Constant Coq.Init.Nat.max => "Nat64.max".
Extract Constant Coq.Init.Nat.eqb => "Nat64.eqb".
Extract Constant Coq.Init.Nat.leb => "Nat64.leb".
Extract Constant Coq.Init.Nat.ltb => "Nat64.ltb".
Extract Constant Coq.Init.Nat.div => "Nat64.div".
Extract Constant Coq.Init.Nat.modulo => "Nat64.modulo".
Extract Constant Coq.Init.Nat.pow => "Nat64.pow".
Extract Constant PeanoNat.Nat.add => "Nat64.add".
Extract Constant PeanoNat.Nat.sub => "Nat64.sub".
Extract Constant PeanoNat.Nat.mul => "Nat64.mul".
Extract Constant PeanoNat.Nat.pred => "Nat64.pred".
Extract Constant PeanoNat.Nat.min => "Nat64.min".
Extract Constant PeanoNat.Nat.max => "Nat64.max".
Extract Constant PeanoNat.Nat.eqb => "Nat64.eqb".
Extract Constant PeanoNat.Nat.leb => "Nat64.leb".
Extract Constant PeanoNat.Nat.ltb => "Nat64.ltb".
Extract Constant PeanoNat.Nat.div => "Nat64.div".
Extract Constant PeanoNat.Nat.modulo => "Nat64.modulo".
Extract Constant PeanoNat.Nat.pow => "Nat64.pow".

Extraction "build/oracle/spec.ml" step init_state mkConfig vm_vcpus vm_live.
