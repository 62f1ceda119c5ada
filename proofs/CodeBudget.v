(** * The bounds on guest-caused work at EL2

    Lemmas about proofs/code/Isolation.v, the translation of
    isolation/budget.go and of the guest memory calls in isolation/mem.go.
    A guest memory call (GUEST_SHARE, GUEST_UNSHARE, GUEST_RELINQUISH) of
    more pages than [Abi.GuestMaxPages] is refused before it does any work
    ([guestPagesOK_bound]), and a VCPU_RUN's budget lets the run go on only
    while some of it is left ([spend_stops]): the two bounds that keep the
    time a guest can hold EL2 finite. *)
From Coq Require Import ZArith Lia List Bool.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodePlace CodeLedger CodeShadow.
Import ListNotations.
Open Scope Z_scope.

(** A guest memory call of more than [Abi.GuestMaxPages] pages answers
    INVALID_PARAMETERS and changes neither the engine nor the trace, for
    any caller that names a VM slot (the dispatcher's precondition), any
    64-bit IPA and count. *)
Theorem guestPagesOK_bound : forall e tr id ipa n,
  1 <= id <= len (Isolation.Engine_vms e) -> id < 2 ^ 16 ->
  0 <= ipa < 2 ^ 64 -> Abi.GuestMaxPages < n < 2 ^ 64 ->
  Isolation.Engine_GuestShare root id ipa n e tr = Ok Abi.InvalidParameters e tr /\
  Isolation.Engine_GuestUnshare root id ipa n e tr = Ok Abi.InvalidParameters e tr /\
  Isolation.Engine_GuestRelinquish root id ipa n e tr = Ok Abi.InvalidParameters e tr.
Proof.
  intros e tr id ipa n Hid Hid16 Hipa Hn.
  destruct (pfield_good root Isolation.Engine_vms Isolation.set_Engine_vms e e tr (good_root e)) as (q0 & Hq0 & Hg0).
  assert (Hw : wrapu 16 (id - 1) = id - 1) by (unfold wrapu; apply Z.mod_small; lia).
  destruct (pindex_good q0 e _ (id - 1) tr Hg0 ltac:(lia)) as (q & m & Hq & _ & _).
  destruct (pageRange_spec e tr ipa n Isolation.ipaSpace Hipa ltac:(unfold Abi.GuestMaxPages in Hn; lia)
    ltac:(unfold Isolation.ipaSpace, Isolation.ipaLimit; cbn; lia) ltac:(unfold Isolation.ipaSpace, Isolation.ipaLimit; cbn; lia))
    as (b & Hb & _).
  assert (Hok : (n <=? Abi.GuestMaxPages) = false) by (apply Z.leb_gt; lia).
  unfold Isolation.Engine_GuestShare, Isolation.Engine_GuestUnshare, Isolation.Engine_GuestRelinquish.
  rewrite Hw. repeat split; step_by Hq0; step_by Hq; step_by Hb;
    destruct b; cbn [negb]; try reflexivity;
    unfold Isolation.guestPagesOK; step; rewrite Hok; reflexivity.
Qed.

(** Spending [units] of a run's budget leaves [left - units] (in Go's
    64-bit arithmetic) and lets the run go on exactly when some is left. *)
Theorem spend_stops : forall {S} (s : S) tr b units,
  Isolation.workBudget_spend b units s tr =
  Ok (Isolation.mk_workBudget (wraps 64 (Isolation.workBudget_left b - units)),
      0 <? wraps 64 (Isolation.workBudget_left b - units)) s tr.
Proof.
  intros S s tr [left] units. unfold Isolation.workBudget_spend, ret. cbn.
  rewrite orb_false_r, Z.gtb_ltb. reflexivity.
Qed.
