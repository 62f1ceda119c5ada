(** * Protected VMs

    A VM created with VM_CREATE's protected flag takes only donated memory:
    MEM_SHARE into it is DENIED, so its stage-2 maps only pages it owns
    ([Invariants.inv_protected]). The host can read such a page only once
    the VM has shared it with GUEST_SHARE:

    - [protected_owns]: every page a protected VM maps is its own;
    - [protected_host_view]: every such page the host stage-2 maps is one
      the VM shared with the host;
    - [protected_host_gain]: the only action that lets the host map a page
      a protected VM holds is that VM's own GUEST_SHARE. *)

From Coq Require Import Arith Bool List Lia.
Import ListNotations.
From Bulkhead.Spec Require Import State Spec.
From Bulkhead.Proofs Require Import Lemmas Invariants.

Section Protected.
Variable cfg : config.
(* Each proof uses the section variables its statement names, so that
   coqc -vos can skip the proofs (proofs/mutate.sh). *)
Set Default Proof Using "Type".

(** Under the invariant, a page a protected VM maps is its own. *)
Lemma protected_owner : forall m v p x, Inv cfg m ->
  vm_protected (ms_vms m v) = true -> vm_s2 (ms_vms m v) p = Some x ->
  pg_owner (ms_pages m p) = OVM v.
Proof.
  intros m v p x I P H. pose proof (inv_s2 _ _ I v p) as S. pose proof (inv_protected _ _ I v p P) as Q.
  rewrite H in S. unfold is_host_shared_with in Q. crush.
Qed.

Theorem protected_owns : forall s v p x, reachable cfg s ->
  vm_protected (ms_vms (st_meta s) v) = true -> vm_s2 (ms_vms (st_meta s) v) p = Some x ->
  pg_owner (ms_pages (st_meta s) p) = OVM v.
Proof. intros s v p x R. apply protected_owner. apply reachable_inv; auto. Qed.

Theorem protected_host_view : forall s v p x, reachable cfg s ->
  vm_protected (ms_vms (st_meta s) v) = true -> vm_s2 (ms_vms (st_meta s) v) p = Some x ->
  ms_hs2 (st_meta s) p = true ->
  pg_owner (ms_pages (st_meta s) p) = OVM v /\ pg_share (ms_pages (st_meta s) p) = SharedWith host_id.
Proof.
  intros s v p x R P H Hh. pose proof (reachable_inv _ _ R) as I.
  pose proof (protected_owner _ _ _ _ I P H) as O. pose proof (inv_hs2 _ _ I p) as S.
  split; auto. rewrite Hh in S. crush.
Qed.

Theorem protected_host_gain : forall s a v p x,
  Inv cfg (st_meta s) ->
  vm_protected (ms_vms (st_meta s) v) = true -> vm_s2 (ms_vms (st_meta s) v) p = Some x ->
  ms_hs2 (st_meta s) p = false -> ms_hs2 (st_meta (fst (step cfg s a))) p = true ->
  exists c ipa n, a = AGuest v c (GGuestShare ipa n).
Proof.
  intros [m ms rs] a v p x I P H H0 H1. simpl in *.
  pose proof (protected_owner _ _ _ _ I P H) as O.
  destruct a as [cl|w c g|w c g|w c tr|q y]; simpl in *; [destruct cl| |destruct g| |];
    unfold_calls; split_step; simpl in *; try congruence.
  - (* VM_DESTROY only removes pages from the host stage-2 *)
    destruct (owned_by _ _); congruence.
  - (* MEM_DONATE likewise *)
    destruct (in_range _ _ _); congruence.
  - (* MEM_RECLAIM maps only pages nobody owns *)
    destruct (in_range p (pfn cfg pa) pages) eqn:R; [|congruence].
    apply in_range_spec in R. pose proof (first_range_none _ _ _ _ E0 p R) as N.
    unfold reclaim_check, owner_of in N. rewrite O in N. discriminate.
  - (* GUEST_SHARE by the VM that owns the page *)
    destruct (mapped_in _ _ _ _ p) eqn:R; [|congruence].
    match goal with C : negb (ipa_range_ok _ _ _ _ _) = false |- _ => apply negb_false_iff in C;
      pose proof (ipa_range_ok_pages _ _ _ _ _ p C R) as Ch end.
    unfold is_vm_unshared in Ch. rewrite O in Ch. split_step; try discriminate.
    apply Nat.eqb_eq in Ch. subst. eauto.
  - (* GUEST_UNSHARE only removes pages *)
    destruct (mapped_in _ _ _ _ p); congruence.
Qed.

End Protected.
