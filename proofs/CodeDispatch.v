(** * Dispatch of the translated code: the identification calls

    The host's CALL_UID and VERSION through Dispatch, as translated from
    the Go: for any engine, any registers and any trace, the results are
    the constants of the ABI (the UID as SMCCC 1.2 section 5.2.1 packs it),
    the other registers are unchanged, nothing is asked of the caller, and
    the engine and the trace are untouched. *)
From Coq Require Import ZArith Lia List Bool.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
Import ListNotations.
Open Scope Z_scope.

(** f61d5a2c-ad92-474d-9d8d-2d4c3d8e771f, four bytes a word, little-endian. *)
Definition uid_words : list Z := [744103414; 1296536237; 1278053789; 527928893].

Lemma UIDWords_value : forall {S} (s : S) tr, Abi.UIDWords s tr = Ok uid_words s tr.
Proof. intros. reflexivity. Qed.

Theorem host_call_uid : forall e tr x0 x1 x2 x3 x4 x5 x6 x7,
  wrapu 32 x0 = Abi.CallUID ->
  Isolation.Engine_Dispatch root (Isolation.mk_Caller Isolation.HostVMID 0) [x0; x1; x2; x3; x4; x5; x6; x7] e tr =
  Ok (uid_words ++ [x4; x5; x6; x7], Isolation.zero_Effect) e tr.
Proof.
  intros e tr x0 x1 x2 x3 x4 x5 x6 x7 H.
  unfold Isolation.Engine_Dispatch, Isolation.Engine_hostCall. cbn [Isolation.Caller_VM].
  unfold Isolation.HostVMID. rewrite Z.eqb_refl.
  unfold bind at 1 2. cbn [idx nth_error Z.to_nat Z.ltb Z.compare]. unfold ret at 1. cbv beta iota zeta.
  rewrite H.
  replace ((Abi.CallUID =? Abi.Version) || (Abi.CallUID =? Abi.CallUID) || (Abi.CallUID =? Abi.Revision)) with true
    by reflexivity.
  unfold Isolation.query. cbv beta iota zeta.
  replace (Abi.CallUID =? Abi.Version) with false by reflexivity.
  rewrite Z.eqb_refl.
  unfold bind at 1 2 3. rewrite UIDWords_value. reflexivity.
Qed.

Theorem host_version : forall e tr x0 x1 x2 x3 x4 x5 x6 x7,
  wrapu 32 x0 = Abi.Version ->
  Isolation.Engine_Dispatch root (Isolation.mk_Caller Isolation.HostVMID 0) [x0; x1; x2; x3; x4; x5; x6; x7] e tr =
  Ok ([0; Abi.VersionMajor; Abi.VersionMinor; x3; x4; x5; x6; x7], Isolation.zero_Effect) e tr.
Proof.
  intros e tr x0 x1 x2 x3 x4 x5 x6 x7 H.
  unfold Isolation.Engine_Dispatch, Isolation.Engine_hostCall. cbn [Isolation.Caller_VM].
  unfold Isolation.HostVMID. rewrite Z.eqb_refl.
  unfold bind at 1 2. cbn [idx nth_error Z.to_nat Z.ltb Z.compare]. unfold ret at 1. cbv beta iota zeta.
  rewrite H. rewrite Z.eqb_refl. cbn [orb].
  unfold Isolation.query. cbv beta iota zeta. rewrite Z.eqb_refl. reflexivity.
Qed.
