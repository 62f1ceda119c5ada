(** * Integrity

    No action of the host or of another VM changes a VM's private memory
    (pages it owns and has not shared) or its registers. The one exception
    the ABI makes is VCPU_RUN on the VM's own vCPU, and [vcpu_run_regs] says
    exactly what it may write: the boot registers of a vCPU that VCPU_INIT
    or the VM's own PSCI CPU_ON set up, or the host's reply in the register
    the vCPU's last trap named. *)

From Coq Require Import Arith Bool List Lia.
Import ListNotations.
From Bulkhead.Spec Require Import State Spec.
From Bulkhead.Proofs Require Import Lemmas Invariants Noninterference.

Definition private_to (v : nat) (m : mstate) (p : nat) : bool :=
  match pg_owner (ms_pages m p), pg_share (ms_pages m p) with
  | OVM w, NotShared => w =? v
  | _, _ => false
  end.

Section Integrity.
Variable cfg : config.
(* Each proof uses the section variables its statement names, so that
   coqc -vos can skip the proofs (proofs/mutate.sh). *)
Set Default Proof Using "Type".

Lemma holds_not_private : forall m v w p, Inv cfg m -> w <> v ->
  is_some (vm_s2 (ms_vms m w) p) = true -> private_to v m p = false.
Proof.
  intros m v w p I Hw H. pose proof (inv_s2 _ _ I w p) as S. rewrite H in S.
  unfold private_to. crush.
Qed.

(** FILE_READ writes only pages the host owns. *)
Lemma file_read_keeps_private : forall m v p lo k x (ms : nat -> nat),
  first_range lo k (file_check cfg m) = None ->
  private_to v m p = true ->
  (if in_range p lo k then x else ms p) = ms p.
Proof.
  intros m v p lo k x ms H P. destruct (in_range p lo k) eqn:R; auto.
  apply in_range_spec in R. pose proof (first_range_none _ _ _ _ H p R) as O.
  unfold file_check, host_owned, private_to in *.
  destruct (negb _); [discriminate|].
  destruct (pg_owner (ms_pages m p)); destruct (pg_share (ms_pages m p)); discriminate.
Qed.

Theorem integrity_mem : forall s a v p,
  Inv cfg (st_meta s) -> actor a <> Some v -> private_to v (st_meta s) p = true ->
  st_mem (fst (step cfg s a)) p = st_mem s p.
Proof.
  intros [m ms rs] a v p I A P. simpl in *.
  destruct a as [c|w c g|w c g|w c tr|q x]; simpl in *; [destruct c| destruct g | destruct g | |];
    unfold_calls; simpl; split_goal; simpl; auto.
  all: try solve [eapply file_read_keeps_private; eauto].
  - (* MEM_RECLAIM: pages nobody owns *)
    destruct (in_range p (pfn cfg pa) pages) eqn:R; auto.
    apply in_range_spec in R. pose proof (first_range_none _ _ _ _ E0 p R) as N.
    unfold reclaim_check, owner_of, private_to in *. crush.
  - (* GUEST_RELINQUISH by another VM: its own pages *)
    destruct (mapped_in _ _ _ _ p) eqn:R; auto.
    apply mapped_in_some in R as [x R]. unfold s2_of in R.
    assert (w <> v) by congruence.
    assert (is_some (vm_s2 (ms_vms m w) p) = true) by (rewrite R; auto).
    rewrite (holds_not_private m v w p I) in P; auto; discriminate.
  - (* a store by another VM: to a page it holds *)
    unfold upd. destruct (p =? n) eqn:Ep; auto. eqb_subst.
    apply s2_access_some in E0 as [x R].
    assert (w <> v) by congruence.
    assert (is_some (vm_s2 (ms_vms m w) n) = true) by (rewrite R; auto).
    rewrite (holds_not_private m v w n I) in P; auto; discriminate.
  - (* a host store: to a page the host stage-2 maps *)
    unfold upd. destruct (p =? q) eqn:Ep; auto. eqb_subst.
    pose proof (inv_hs2 _ _ I q) as S. rewrite E in S. unfold private_to in P. crush.
Qed.

Theorem integrity_regs : forall s a v c r,
  actor a <> Some v -> vm_live (ms_vms (st_meta s) v) = true ->
  (forall c' reply, a <> AHost (HVCPURun v c' reply)) ->
  st_regs (fst (step cfg s a)) v c r = st_regs s v c r.
Proof.
  intros [m ms rs] a v c r A L R. simpl in *.
  destruct a as [cl|w c' g|w c' g|w c' tr|q x]; simpl in *; [destruct cl| destruct g | destruct g | |];
    unfold_calls; simpl; split_goal; simpl; auto; unfold upd;
    repeat match goal with |- context [if ?b then _ else _] => let E := fresh "E" in destruct b eqn:E end;
    eqb_subst; auto; try congruence.
  - (* VM_CREATE takes a free slot *)
    unfold free_slot in *. apply first_range_some in E0 as [w [_ F]].
    destruct (vm_live (ms_vms m w)) eqn:Lw; congruence.
  - exfalso. eapply R; eauto.
  - exfalso. eapply R; eauto.
Qed.

(** The same for every register by name ([vreg]): the switched state of
    the world switch, FP/SIMD, timer and GIC registers included. *)
Theorem integrity_vregs : forall s a v c (r : vreg),
  actor a <> Some v -> vm_live (ms_vms (st_meta s) v) = true ->
  (forall c' reply, a <> AHost (HVCPURun v c' reply)) ->
  st_regs (fst (step cfg s a)) v c (vreg_index r) = st_regs s v c (vreg_index r).
Proof. intros. apply integrity_regs; auto. Qed.

(** The control state of a vCPU: its lifecycle state (with the entry point
    and x0 of a vCPU about to start) and the reply it is owed. *)
Definition vcpu_ctl (x : vcpu) : vstate * pending := (vc_state x, vc_pend x).

(** Integrity of vCPU control state: once a VM has run, nothing the host
    or another VM does changes whether its vCPUs are on, where they start
    or what they are owed, except running them (VCPU_RUN) or destroying the
    VM. In particular a host VCPU_INIT after the first run, or another VM's
    PSCI SYSTEM_OFF, CPU_ON or CPU_OFF, leaves them alone. *)
Theorem integrity_vcpu_ctl : forall s a v c,
  actor a <> Some v -> vm_live (ms_vms (st_meta s) v) = true ->
  vm_hasrun (ms_vms (st_meta s) v) = true ->
  (forall c' reply, a <> AHost (HVCPURun v c' reply)) ->
  vm_live (ms_vms (st_meta (fst (step cfg s a))) v) = true ->
  vcpu_ctl (vcpu_of (st_meta (fst (step cfg s a))) v c) = vcpu_ctl (vcpu_of (st_meta s) v c).
Proof.
  intros [m ms rs] a v c A L H R L'. simpl in *. unfold vcpu_of, vcpu_ctl in *.
  destruct a as [cl|w c' g|w c' g|w c' tr|q x]; simpl in *; [destruct cl| destruct g | destruct g | |];
    unfold_calls; simpl in *; split_goal; simpl in *; auto; unfold upd in *;
    repeat match goal with |- context [if ?b then _ else _] => let E := fresh "E" in destruct b eqn:E end;
    simpl in *; eqb_subst; auto; try congruence.
  - (* VM_CREATE takes a free slot *)
    unfold free_slot in *. apply first_range_some in E0 as [w [_ F]].
    destruct (vm_live (ms_vms m w)) eqn:Lw; congruence.
  - exfalso. eapply R; eauto.
  - exfalso. eapply R; eauto.
  - (* VCPU_IRQ changes only the interrupt lines *)
    unfold vcpu_of. destruct (c =? vcpu) eqn:Ec; eqb_subst; auto.
Qed.

(** What VCPU_RUN writes into the registers of the vCPU it runs. *)
Theorem vcpu_run_regs : forall s v c reply c' r,
  let x := vcpu_of (st_meta s) v c in
  let s' := fst (step cfg s (AHost (HVCPURun v c reply))) in
  st_regs s' v c' r = st_regs s v c' r \/
  (c' = c /\ exists e x0, vc_state x = VReady e x0 /\ st_regs s' v c r = boot_regs e x0 r) \/
  (c' = c /\ st_regs s' v c r = reply /\
   (vc_pend x = PMMIORead r \/ (vc_pend x = PCall /\ r = 0))).
Proof.
  intros [m ms rs] v c reply c' r x s'. subst x s'. simpl.
  unfold vcpu_run. simpl. split_goal; simpl; auto; unfold upd; rewrite Nat.eqb_refl;
    destruct (c' =? c) eqn:Ec; eqb_subst; auto.
  - right; left. split; auto. exists entry, x0. rewrite Nat.eqb_refl. auto.
  - rewrite Nat.eqb_refl. unfold deliver. destruct (vc_pend _) eqn:P; auto; unfold upd;
      destruct (r =? _) eqn:Er; eqb_subst; auto; right; right; auto.
Qed.

(** Over a whole trace of other principals' actions, a VM's private pages
    keep their contents (as long as they stay private) and a live VM that
    is not run keeps its registers. *)
Theorem integrity_mem_run : forall tr s v p,
  Inv cfg (st_meta s) ->
  (forall a, In a tr -> actor a <> Some v) ->
  (forall k, private_to v (st_meta (fst (run cfg s (firstn k tr)))) p = true) ->
  st_mem (fst (run cfg s tr)) p = st_mem s p.
Proof.
  induction tr as [|a tr IH]; intros s v p I A P; simpl; auto.
  specialize (P 0) as P0. simpl in P0.
  destruct (step cfg s a) as [s1 o] eqn:E1. simpl.
  destruct (run cfg s1 tr) as [s2 os] eqn:E2. simpl.
  assert (M1 : st_mem s1 p = st_mem s p).
  { replace s1 with (fst (step cfg s a)) by (rewrite E1; auto).
    apply (integrity_mem s a v p I); [apply A; simpl; auto | exact P0]. }
  rewrite <- M1. replace s2 with (fst (run cfg s1 tr)) by (rewrite E2; auto).
  apply (IH s1 v p).
  - replace s1 with (fst (step cfg s a)) by (rewrite E1; auto). apply step_inv; auto.
  - intros b Hb. apply A. simpl. auto.
  - intros k. specialize (P (S k)). simpl in P. rewrite E1 in P.
    destruct (run cfg s1 (firstn k tr)) eqn:E3. simpl in *. auto.
Qed.

End Integrity.
