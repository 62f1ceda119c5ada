(** * The translated ABI package agrees with the specification

    Lemmas about proofs/code/Abi.v, the translation of isolation/abi. *)
From Coq Require Import ZArith Lia List.
From Bulkhead.Spec Require Import Spec.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi.
Import ListNotations.
Open Scope Z_scope.

(** The register value x0 of each status of the model, as the oracle
    encodes it (proofs/oracle/oracle.ml, [status_code]) and specs/ABI.md
    lists it. *)
Definition spec_code (s : status) : Z :=
  match s with
  | SUCCESS => 0 | NOT_SUPPORTED => -1 | INVALID_PARAMETERS => -2
  | DENIED => -3 | NO_MEMORY => -4 | BUSY => -5
  end.

(** The Go constant of each status of the model. *)
Definition go_status (s : status) : Abi.Status :=
  match s with
  | SUCCESS => Abi.Success | NOT_SUPPORTED => Abi.NotSupported
  | INVALID_PARAMETERS => Abi.InvalidParameters | DENIED => Abi.Denied
  | NO_MEMORY => Abi.NoMemory | BUSY => Abi.Busy
  end.

Theorem abi_status_codes : forall s, go_status s = spec_code s.
Proof. destruct s; reflexivity. Qed.

(** Distinct statuses have distinct codes. *)
Theorem abi_status_injective : forall s s', go_status s = go_status s' -> s = s'.
Proof. destruct s, s'; simpl; try reflexivity; discriminate. Qed.

Lemma wraps_wrapu : forall z, -2^63 <= z < 2^63 -> wraps 64 (wrapu 64 z) = z.
Proof.
  intros z Hz. unfold wraps, wrapu. rewrite Zmod_mod.
  destruct (Z_lt_le_dec z 0) as [Hneg | Hpos].
  - assert (H : z mod 2 ^ 64 = z + 2 ^ 64).
    { symmetry. apply (Z.mod_unique z (2^64) (-1)); lia. }
    rewrite H. replace (64 - 1) with 63 by lia.
    destruct (2 ^ 63 <=? z + 2 ^ 64) eqn:E; [lia | apply Z.leb_gt in E; lia].
  - rewrite Z.mod_small by lia. replace (64 - 1) with 63 by lia.
    destruct (2 ^ 63 <=? z) eqn:E; [apply Z.leb_le in E; lia | reflexivity].
Qed.

(** Status.Reg then StatusOf is the identity on every int64, and neither
    fails, touches memory or calls the platform. *)
Theorem status_reg_roundtrip : forall {S} (st : S) tr s,
  -2^63 <= s < 2^63 ->
  (let! r := Abi.Status_Reg s in Abi.StatusOf r) st tr = Ok s st tr.
Proof.
  intros S st tr s Hs. cbv [bind Abi.Status_Reg Abi.StatusOf ret].
  rewrite wraps_wrapu by exact Hs. reflexivity.
Qed.

(** Every status travels in x0 as its 64-bit two's complement. *)
Theorem status_reg_codes : forall {S} (st : S) tr s,
  Abi.Status_Reg (go_status s) st tr = Ok (spec_code s mod 2^64) st tr.
Proof. destruct s; reflexivity. Qed.
