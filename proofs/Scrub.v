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

Ltac split_step :=
  repeat match goal with
  | |- context [match ?x with _ => _ end] => let E := fresh "E" in destruct x eqn:E
  | H : context [match ?x with _ => _ end] |- _ => let E := fresh "E" in destruct x eqn:E
  end.

Ltac unfold_calls :=
  unfold host_call, guest_call, guest_step, guest_exit, host_write, vm_create, vm_destroy,
    vcpu_init, vcpu_run, vcpu_irq, mem_donate, mem_share, mem_unshare, mem_reclaim, mem_info,
    guest_share, guest_unshare, guest_relinquish, guest_mem_state, psci_cpu_on, psci_affinity_info, psci_system,
    stop_vcpu, leave_run, all_off, set_vcpu, set_vm, set_hasrun, set_s2 in *.

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

(** Over a whole trace: whenever the host stage-2 gains a page, the page
    is zero or its owner VM has just shared it. *)
Theorem scrub_run : forall tr s a,
  let s1 := fst (run cfg s tr) in
  let s2 := fst (step cfg s1 a) in
  forall p, ms_hs2 (st_meta s1) p = false -> ms_hs2 (st_meta s2) p = true ->
  st_mem s2 p = 0 \/ exists v c ipa n, a = AGuest v c (GGuestShare ipa n).
Proof.
  intros tr s a s1 s2 p H0 H1.
  destruct (scrub_host_view s1 a p H0 H1) as [H|[v [c [ipa [n [H _]]]]]]; [left; auto|right; exists v, c, ipa, n; auto].
Qed.

End Scrub.
