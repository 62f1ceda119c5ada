(** * Scrubbing

    A page returns to the host only by MEM_RECLAIM, and the host first sees
    a page it did not see before only by MEM_RECLAIM or because the VM that
    owns it shared it (GUEST_SHARE). MEM_RECLAIM zeroes before it maps, and
    GUEST_RELINQUISH zeroes what it gives up. None of this needs the
    invariant: it is a property of each transition. *)

From Coq Require Import Arith Bool List Lia.
Import ListNotations.
From Bulkhead.Spec Require Import State Spec.
From Bulkhead.Proofs Require Import Lemmas Invariants.

Section Scrub.
Variable cfg : config.
(* Each proof uses the section variables its statement names, so that
   coqc -vos can skip the proofs (proofs/mutate.sh). *)
Set Default Proof Using "Type".

(** A page whose owner becomes the host is zero at that moment. *)
Theorem scrub_owner : forall s a p,
  pg_owner (ms_pages (st_meta s) p) <> OHost ->
  pg_owner (ms_pages (st_meta (fst (step cfg s a))) p) = OHost ->
  st_mem (fst (step cfg s a)) p = 0.
Proof.
  intros s a p H0 H1.
  destruct a as [c|v c g|v c g|v c t|q x]; simpl in *; [destruct c| |destruct g| |];
    unfold_calls; split_step; simpl in *; try congruence.
  - (* VM_DESTROY *) unfold destroy_page in H1. split_step; simpl in *; congruence.
  - (* MEM_DONATE *) destruct (in_range p (pfn cfg pa) pages); simpl in *; congruence.
  - (* MEM_SHARE *) destruct (in_range p (pfn cfg pa) pages) eqn:R; simpl in *; try congruence.
    apply lend_checks_ok in E as [_ [_ [_ Lh]]]. specialize (Lh p R).
    unfold is_host_unshared in Lh. split_step; congruence.
  - (* MEM_UNSHARE *) destruct (mapped_in _ _ _ _ p) eqn:R; simpl in *; try congruence.
    apply negb_false_iff in E1. pose proof (ipa_range_ok_pages _ _ _ _ _ p E1 R) as Ch.
    unfold is_host_shared_with in Ch. split_step; congruence.
  - (* MEM_RECLAIM *) destruct (in_range p (pfn cfg pa) pages); simpl in *; congruence.
  - (* GUEST_SHARE *) destruct (mapped_in _ _ _ _ p); simpl in *; congruence.
  - (* GUEST_UNSHARE *) destruct (mapped_in _ _ _ _ p); simpl in *; congruence.
  - (* GUEST_RELINQUISH *) destruct (mapped_in _ _ _ _ p); simpl in *; congruence.
Qed.

(** The host stage-2 gains a page only zeroed (MEM_RECLAIM) or because
    the VM that owns the page shared it with the host. *)
Theorem scrub_host_view : forall s a p,
  ms_hs2 (st_meta s) p = false ->
  ms_hs2 (st_meta (fst (step cfg s a))) p = true ->
  st_mem (fst (step cfg s a)) p = 0 \/
  exists v c ipa n, a = AGuest v c (GGuestShare ipa n) /\
    pg_owner (ms_pages (st_meta (fst (step cfg s a))) p) = OVM v.
Proof.
  intros s a p H0 H1.
  destruct a as [c|v c g|v c g|v c t|q x]; simpl in *; [destruct c| |destruct g| |];
    unfold_calls; split_step; simpl in *; try congruence.
  all: match goal with H : context [if ?c then _ else _] |- _ => destruct c; simpl in * end;
    try congruence; solve [auto | right; eauto 6].
Qed.

(** GUEST_RELINQUISH zeroes every page it gives up. *)
Theorem scrub_relinquish : forall s v c ipa n p,
  pg_owner (ms_pages (st_meta s) p) <> ONone ->
  pg_owner (ms_pages (st_meta (fst (step cfg s (AGuest v c (GGuestRelinquish ipa n))))) p) = ONone ->
  st_mem (fst (step cfg s (AGuest v c (GGuestRelinquish ipa n)))) p = 0.
Proof.
  intros. simpl in *. unfold_calls. split_step; simpl in *; try congruence.
  destruct (mapped_in _ _ _ _ p); simpl in *; congruence.
Qed.

(** Over a whole run, by induction on the trace: if the host stage-2 does
    not map a page at the start and maps it at the end, then there is a
    step of the run where it gained the page, and at that step the page
    was zero or the action was a guest's GUEST_SHARE of a page it owns.
    So whatever the host reads at the end of any run from a page it could
    not read at its start was written after that moment (by the host or by
    the sharing VM), never left over from before. *)
Theorem scrub_run : forall tr s p,
  ms_hs2 (st_meta s) p = false ->
  ms_hs2 (st_meta (fst (run cfg s tr))) p = true ->
  exists (tr1 : list action) (a : action) (tr2 : list action),
    tr = tr1 ++ a :: tr2 /\
    (let s1 := fst (run cfg s tr1) in
     let s2 := fst (step cfg s1 a) in
     ms_hs2 (st_meta s1) p = false /\ ms_hs2 (st_meta s2) p = true /\
     (st_mem s2 p = 0 \/ exists v c ipa n, a = AGuest v c (GGuestShare ipa n) /\
        pg_owner (ms_pages (st_meta s2) p) = OVM v)).
Proof.
  induction tr as [|a tr IH]; intros s p H0 H1; simpl in *.
  - congruence.
  - destruct (step cfg s a) as [s1 o] eqn:ES. simpl in *.
    destruct (run cfg s1 tr) as [s2 os] eqn:ER. simpl in *.
    destruct (ms_hs2 (st_meta s1) p) eqn:H1'.
    + (* gained at this step *)
      exists [], a, tr. simpl. rewrite ES. simpl.
      pose proof (scrub_host_view s a p H0) as G. rewrite ES in G. simpl in G.
      repeat split; auto.
    + (* gained later in the run *)
      assert (Hr : ms_hs2 (st_meta (fst (run cfg s1 tr))) p = true) by (rewrite ER; auto).
      destruct (IH s1 p H1' Hr) as [tr1 [a' [tr2 [Heq Hrest]]]].
      exists (a :: tr1), a', tr2. simpl. rewrite ES. simpl.
      split; [congruence|].
      destruct (run cfg s1 tr1) as [s3 os3] eqn:E3. exact Hrest.
Qed.

(** A page changes owner only along the ledger's flow: from the host to a
    VM (MEM_DONATE), from a VM to nobody (VM_DESTROY, GUEST_RELINQUISH), and
    from nobody back to the host (MEM_RECLAIM). So no step moves a page from
    one VM to another, creates or takes an engine page, or gives the host a
    VM's page without passing through reclaim; with ownership a total
    function of the PFN, pages are neither created nor lost. Each move names
    the action that makes it, so a step that moves a page any other way
    (a VM's GUEST_SHARE taking a page the host lent it, say) breaks the
    statement, not only its proof. This holds for every state, reachable or
    not: the checks of each call ensure it. *)
Definition owner_flow (a : action) (o0 o1 : owner) : Prop :=
  o1 = o0 \/
  (o0 = OHost /\ exists v pa ipa n perms, o1 = OVM v /\ a = AHost (HMemDonate v pa ipa n perms)) \/
  ((exists v, o0 = OVM v /\
      (a = AHost (HVMDestroy v) \/ exists c ipa n, a = AGuest v c (GGuestRelinquish ipa n))) /\
   o1 = ONone) \/
  (o0 = ONone /\ o1 = OHost /\ exists pa n, a = AHost (HMemReclaim pa n)).

(** Closes a goal [owner_flow a o0 o1] once [a], [o0] and [o1] are
    constructors. *)
Ltac flow :=
  simpl; first
  [ left; reflexivity
  | right; left; split; [reflexivity|do 5 eexists; split; reflexivity]
  | right; right; left; split; [eexists; split; [reflexivity|left; reflexivity]|reflexivity]
  | right; right; left; split; [eexists; split; [reflexivity|right; do 3 eexists; reflexivity]|reflexivity]
  | right; right; right; split; [reflexivity|split; [reflexivity|do 2 eexists; reflexivity]] ].

(** From a check [Ch] on the page before the step, the page's owner then;
    then [flow]. *)
Ltac owner_from Ch :=
  cbv beta in Ch;
  unfold is_host_unshared, is_host_shared_with, is_vm_unshared, is_vm_shared_host in Ch;
  match type of Ch with context [ms_pages ?m ?q] => destruct (ms_pages m q) as [[| | |w] [|b]] end;
  simpl in Ch; try discriminate;
  repeat match goal with
  | H : _ && _ = true |- _ => apply andb_true_iff in H as [? ?]
  | H : (_ =? _) = true |- _ => apply Nat.eqb_eq in H; subst
  end; flow.

Theorem inv4_conservation : forall s a p,
  owner_flow a (pg_owner (ms_pages (st_meta s) p))
             (pg_owner (ms_pages (st_meta (fst (step cfg s a))) p)).
Proof.
  intros s a p. unfold owner_flow.
  destruct a as [c|v c g|v c g|v c t|q x]; simpl in *; [destruct c| |destruct g| |];
    unfold_calls; split_step; simpl in *; auto.
  all: repeat match goal with |- context [if ?c then _ else _] => let E := fresh "I" in destruct c eqn:E end;
    simpl; auto.
  (* What each call's checks say of the page's owner before the step. *)
  - (* VM_DESTROY *) unfold destroy_page.
    destruct (ms_pages (st_meta s) p) as [[| | |w] [|b]]; simpl;
      repeat match goal with |- context [if ?c then _ else _] => let E := fresh "D" in destruct c eqn:E end;
      repeat match goal with H : (_ =? _) = true |- _ => apply Nat.eqb_eq in H; subst end; flow.
  - (* MEM_DONATE *) apply lend_checks_ok in E as [_ [_ [_ Ch]]]. specialize (Ch p I). owner_from Ch.
  - (* MEM_SHARE *) apply lend_checks_ok in E as [_ [_ [_ Ch]]]. specialize (Ch p I). owner_from Ch.
  - (* MEM_UNSHARE *) apply negb_false_iff in E1. pose proof (ipa_range_ok_pages _ _ _ _ _ p E1 I) as Ch.
    owner_from Ch.
  - (* MEM_RECLAIM *) apply in_range_spec in I. pose proof (first_range_none _ _ _ _ E0 p I) as Ch.
    unfold reclaim_check, owner_of in Ch. owner_from Ch.
  - (* GUEST_SHARE *) apply negb_false_iff in E2. pose proof (ipa_range_ok_pages _ _ _ _ _ p E2 I) as Ch.
    owner_from Ch.
  - (* GUEST_UNSHARE *) apply negb_false_iff in E2. pose proof (ipa_range_ok_pages _ _ _ _ _ p E2 I) as Ch.
    owner_from Ch.
  - (* GUEST_RELINQUISH *) apply negb_false_iff in E2. pose proof (ipa_range_ok_pages _ _ _ _ _ p E2 I) as Ch.
    owner_from Ch.
Qed.

End Scrub.
