(** * A guest's call through the dispatcher, every function id

    Theorems about proofs/code/Isolation.v, the translation of
    isolation/dispatch.go ([guestCallRegs]). Proved here:
    - the model's guest calls keep every VM slot live or free as it was,
      with as many vCPUs ([guest_call_slots], [guest_mem_slots]);
    - so, from [refine_inv], a call of any function id with arguments
      below 2^64 from a vCPU of a live VM of at most 256 vCPUs that is
      marked On never fails, keeps [refine_inv], the caller's context and
      [Inv], and leaves the caller a vCPU of a live VM with as many vCPUs
      ([guestCallRegs_keeps]): the engine's queries, GUEST_MEMINFO,
      GUEST_MEMSTATE, a host id (NOT_SUPPORTED) and a call forwarded to
      the host change nothing; the memory calls and PSCI are
      [guestCallRegs_mem] and [guestCallRegs_psci]. *)
From Coq Require Import ZArith Lia List Bool.
From Bulkhead.Spec Require Import State Spec.
From Bulkhead.Proofs Require Import Invariants.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodeTrack CodeVCPU CodeVCPUInit CodeVMCreate CodeShadow CodeAbs
  CodeVMCreateRefine CodeVMCreateInv CodeS2Refine CodeRefineInv CodeModelThms CodeMemState CodeTransfer
  CodeWalkCalls CodeEngineInv CodeGuestDispatch CodeGuestPSCI CodeDispatch CodeReady CodeHostLevel.
Import ListNotations.
Open Scope Z_scope.

(** ** The model's slots through a guest call *)

(** Every slot of [m'] is live or free as in [m], with as many vCPUs. *)
Definition slots_alike (m m' : mstate) : Prop :=
  forall w, vm_live (ms_vms m' w) = vm_live (ms_vms m w) /\ vm_vcpus (ms_vms m' w) = vm_vcpus (ms_vms m w).

Lemma slots_alike_refl : forall m, slots_alike m m.
Proof. intros m w. split; reflexivity. Qed.

Lemma set_vm_alike : forall m v x, vm_live x = vm_live (ms_vms m v) -> vm_vcpus x = vm_vcpus (ms_vms m v) ->
  slots_alike m (set_vm m v x).
Proof.
  intros m v x Hl Hv w. unfold set_vm, State.upd. cbn [ms_vms].
  destruct (Nat.eqb_spec w v) as [->|_]; [split; assumption|split; reflexivity].
Qed.

Lemma set_vcpu_alike : forall m v k y, slots_alike m (set_vcpu m v k y).
Proof. intros. unfold set_vcpu. apply set_vm_alike; reflexivity. Qed.

Lemma slots_alike_trans : forall m1 m2 m3, slots_alike m1 m2 -> slots_alike m2 m3 -> slots_alike m1 m3.
Proof. intros m1 m2 m3 A B w. destruct (A w), (B w). split; congruence. Qed.

Lemma leave_run_alike : forall m v k, slots_alike m (leave_run m v k).
Proof.
  intros m v k. unfold leave_run. destruct (vc_state _); try apply slots_alike_refl. apply set_vcpu_alike.
Qed.

(** The three guest memory calls of the model keep the slots alike. *)
Lemma guest_mem_slots : forall c s v ipa n,
  slots_alike (st_meta s) (st_meta (fst (guest_share c s v ipa n))) /\
  slots_alike (st_meta s) (st_meta (fst (guest_unshare c s v ipa n))) /\
  slots_alike (st_meta s) (st_meta (fst (guest_relinquish c s v ipa n))).
Proof.
  intros c s v ipa n. unfold guest_share, guest_unshare, guest_relinquish.
  split; [|split]; (destruct (negb _); [apply slots_alike_refl|]); (destruct (negb _); [apply slots_alike_refl|]);
    cbn [fst st_meta].
  - intros w. split; reflexivity.
  - intros w. split; reflexivity.
  - intros w. cbn [ms_vms]. unfold State.upd. destruct (Nat.eqb_spec w v) as [->|_]; split; reflexivity.
Qed.

(** So does every guest call of the model. *)
Lemma guest_call_slots : forall c s v j g, slots_alike (st_meta s) (st_meta (fst (guest_call c s v j g))).
Proof.
  intros c s v j g. unfold guest_call. destruct (negb _); [apply slots_alike_refl|].
  pose proof (guest_mem_slots c s v) as Hm.
  destruct g; cbn [fst]; try apply slots_alike_refl; try apply Hm.
  - unfold guest_mem_state. destruct (negb _); apply slots_alike_refl.
  - unfold psci_cpu_on. cbv zeta. destruct (_ <=? _)%nat; [apply slots_alike_refl|].
    destruct (vc_state _); try apply slots_alike_refl. cbn [fst st_meta].
    eapply slots_alike_trans; [apply set_vcpu_alike|apply leave_run_alike].
  - cbn [st_meta]. unfold stop_vcpu. apply set_vcpu_alike.
  - unfold psci_affinity_info. cbv zeta. destruct (negb _); [apply slots_alike_refl|].
    destruct (_ <=? _)%nat; [apply slots_alike_refl|]. destruct (vc_state _); apply slots_alike_refl.
  - unfold psci_system, all_off. cbn [fst st_meta]. apply set_vm_alike; reflexivity.
  - unfold psci_system, all_off. cbn [fst st_meta]. apply set_vm_alike; reflexivity.
Qed.

Lemma ms_eq_alike : forall m1 m2 m3, slots_alike m1 m2 -> ms_eq m2 m3 -> slots_alike m1 m3.
Proof.
  intros m1 m2 m3 A (_ & _ & V) w. destruct (A w) as [Al Av]. destruct (V w) as (Vl & Vv & _).
  split; congruence.
Qed.

(** ** The caller stays a vCPU of a live VM *)

(** When the model's slots are alike before and after, the caller's VM
    is still live with as many vCPUs. *)
Lemma live_caller_alike : forall c e e' cl m, create_inv c e -> create_inv c e' -> live_caller e cl m ->
  slots_alike (abs_ms c e) (abs_ms c e') ->
  exists m', live_caller e' cl m' /\ Isolation.vm_nvcpu m' = Isolation.vm_nvcpu m.
Proof.
  intros c e e' cl m Hc Hc' (Hid & Hn & Hlv & Hj) A.
  pose proof Hc as ((Hv & _) & _ & (_ & Hmax & _) & _). pose proof Hc' as ((Hv' & _) & _ & (_ & Hmax' & _) & _).
  assert (Hi : (Z.to_nat (Isolation.Caller_VM cl - 1) < length (Isolation.Engine_vms e'))%nat).
  { assert (Z.to_nat (Isolation.Caller_VM cl - 1) < length (Isolation.Engine_vms e))%nat by (apply nth_error_Some; congruence).
    unfold len in *. lia. }
  destruct (nth_error (Isolation.Engine_vms e') (Z.to_nat (Isolation.Caller_VM cl - 1))) as [m'|] eqn:Hn';
    [|apply nth_error_None in Hn'; lia].
  specialize (A (Z.to_nat (Isolation.Caller_VM cl))).
  rewrite (slot_vm c e (Isolation.Caller_VM cl) m ltac:(lia) Hn), (slot_vm c e' (Isolation.Caller_VM cl) m' ltac:(lia) Hn') in A. unfold abs_vm in A.
  rewrite Hlv in A. destruct (Isolation.vm_live m') eqn:Hl'; cbn [vm_live vm_free] in A; [|destruct A as [A _]; discriminate].
  destruct A as [_ A]. cbn [vm_vcpus] in A.
  pose proof (vm_ok_at _ _ m Hv Hn) as Hm.
  pose proof (vm_ok_at _ _ m' Hv' Hn') as Hm'.
  destruct Hm as (Hm & _), Hm' as (Hm' & _).
  assert (Isolation.vm_nvcpu m' = Isolation.vm_nvcpu m) by lia.
  exists m'. split; [|assumption]. split; [lia|]. split; [exact Hn'|]. split; [exact Hl'|lia].
Qed.

(** ** The other calls *)

Lemma upd_ok : forall {S A} (s : S) tr (xs : list A) i a, 0 <= i < len xs ->
  upd xs i a s tr = Ok (replace_nth (Z.to_nat i) a xs) s tr /\ len (replace_nth (Z.to_nat i) a xs) = len xs.
Proof.
  intros S A s tr xs i a H. unfold upd, len in *. rewrite replace_nth_length. split; [|reflexivity].
  destruct (Z.ltb_spec i 0); [lia|]. destruct (Z.leb_spec (Z.of_nat (length xs)) i); [lia|]. reflexivity.
Qed.

Lemma upd8 : forall {S A} (s : S) tr (xs : list A) i a, len xs = 8 -> 0 <= i < 8 ->
  upd xs i a s tr = Ok (replace_nth (Z.to_nat i) a xs) s tr /\ len (replace_nth (Z.to_nat i) a xs) = 8.
Proof. intros S A s tr xs i a H Hi. rewrite <- H in *. exact (upd_ok s tr xs i a Hi). Qed.

Local Ltac sstep H := rewrite ?bind_assoc; CodeShadow.step_by H.

(** The engine's queries (VERSION, CALL_UID, REVISION) fill at most the
    first four of eight registers. *)
Lemma query_ok : forall {S} (s : S) tr id (q : list Z), len q = 8 ->
  exists r, Isolation.query id q s tr = Ok r s tr /\ len r = 8.
Proof.
  intros S s tr id q Hq. unfold Isolation.query. cbv zeta.
  destruct (id =? Abi.Version).
  - rewrite ?bind_assoc; CodeShadow.step. destruct (upd8 s tr q 0 (wrapu 64 Abi.Success) Hq ltac:(lia)) as [U0 L0]. sstep U0.
    destruct (upd8 s tr _ 1 Abi.VersionMajor L0 ltac:(lia)) as [U1 L1]. sstep U1.
    destruct (upd8 s tr _ 2 Abi.VersionMinor L1 ltac:(lia)) as [U2 L2]. sstep U2.
    eexists. split; [reflexivity|]. assumption.
  - destruct (id =? Abi.CallUID).
    + sstep (CodeDispatch.UIDWords_value s tr).
      assert (Hw : forall k, 0 <= k < 4 -> exists w, idx uid_words k s tr = Ok w s tr)
        by (intros k Hk; apply idx_in_range; unfold uid_words, len; cbn; lia).
      destruct (Hw 0 ltac:(lia)) as (w0 & H0). sstep H0.
      destruct (Hw 1 ltac:(lia)) as (w1 & H1). sstep H1.
      destruct (Hw 2 ltac:(lia)) as (w2 & H2). sstep H2.
      destruct (Hw 3 ltac:(lia)) as (w3 & H3). sstep H3.
      destruct (upd8 s tr q 0 w0 Hq ltac:(lia)) as [U0 L0]. sstep U0.
      destruct (upd8 s tr _ 1 w1 L0 ltac:(lia)) as [U1 L1]. sstep U1.
      destruct (upd8 s tr _ 2 w2 L1 ltac:(lia)) as [U2 L2]. sstep U2.
      destruct (upd8 s tr _ 3 w3 L2 ltac:(lia)) as [U3 L3]. sstep U3.
      eexists. split; [reflexivity|]. assumption.
    + destruct (upd8 s tr q 0 Abi.RevisionMajor Hq ltac:(lia)) as [U0 L0]. sstep U0.
      destruct (upd8 s tr _ 1 Abi.RevisionMinor L0 ltac:(lia)) as [U1 L1]. sstep U1.
      eexists. split; [reflexivity|]. assumption.
Qed.

Lemma psci_ids_or_false : forall id, ~ In id guest_psci_ids ->
  ((((((((id =? Abi.PSCIVersion) || (id =? Abi.PSCIFeatures)) || (id =? Abi.PSCICPUOn32)) ||
     (id =? Abi.PSCICPUOn64)) || (id =? Abi.PSCICPUOff)) || (id =? Abi.PSCIAffinityInfo32)) ||
     (id =? Abi.PSCIAffinityInfo64)) || (id =? Abi.PSCISystemOff)) || (id =? Abi.PSCISystemReset) = false.
Proof.
  intros id H. rewrite <- implemented_ids. destruct (existsb _ _) eqn:E; [|reflexivity].
  exfalso. apply H. apply existsb_exists in E as (x & Hx & Ex). apply Z.eqb_eq in Ex. subst x. exact Hx.
Qed.

(** The calls other than the memory calls and PSCI: the queries,
    GUEST_MEMINFO, GUEST_MEMSTATE, a forwarded call and NOT_SUPPORTED
    read the engine and change nothing. *)
Lemma guestCallRegs_other : forall e tr cl m x0 x1 x2 x3, mem_ok e -> live_caller e cl m ->
  ~ In (wrapu 32 x0) [Abi.GuestShare; Abi.GuestUnshare; Abi.GuestRelinquish] ->
  ~ In (wrapu 32 x0) guest_psci_ids -> 0 <= x1 < 2 ^ 64 -> 0 <= x2 < 2 ^ 64 ->
  exists r, Isolation.Engine_guestCallRegs root cl x0 x1 x2 x3 e tr = Ok r e tr.
Proof.
  intros e tr cl m x0 x1 x2 x3 Hmok Hcl Hm Hp Hx1 Hx2.
  destruct (callerVM_tracks e tr cl m Hcl) as (p & Hcv & Ht).
  pose proof Hcl as (Hid & Hn & _). pose proof Hmok as (_ & _ & _ & Hlen & _).
  assert (Hi : (Z.to_nat (Isolation.Caller_VM cl - 1) < length (Isolation.Engine_vms e))%nat)
    by (apply nth_error_Some; congruence).
  unfold Isolation.Engine_guestCallRegs. CodeShadow.step_by Hcv.
  replace (is_nil p) with false by (destruct Ht as (ld & st & -> & _); reflexivity).
  set (id := wrapu 32 x0) in *. cbv zeta.
  assert (Hs : (id =? Abi.GuestShare) = false) by (apply Z.eqb_neq; intros E; apply Hm; rewrite E; cbn; tauto).
  assert (Hu : (id =? Abi.GuestUnshare) = false) by (apply Z.eqb_neq; intros E; apply Hm; rewrite E; cbn; tauto).
  assert (Hr : (id =? Abi.GuestRelinquish) = false) by (apply Z.eqb_neq; intros E; apply Hm; rewrite E; cbn; tauto).
  rewrite Hs, Hu, Hr, (psci_ids_or_false id Hp).
  destruct ((id =? Abi.Version) || (id =? Abi.CallUID) || (id =? Abi.Revision)).
  - destruct (upd8 e tr (repeat 0 8) 0 x0 eq_refl ltac:(lia)) as [U0 L0]. sstep U0.
    destruct (upd8 e tr _ 1 x1 L0 ltac:(lia)) as [U1 L1]. sstep U1.
    destruct (upd8 e tr _ 2 x2 L1 ltac:(lia)) as [U2 L2]. sstep U2.
    destruct (upd8 e tr _ 3 x3 L2 ltac:(lia)) as [U3 L3]. sstep U3.
    destruct (query_ok e tr id _ L3) as (r & Hq & Lr). sstep Hq.
    destruct (idx_in_range r 0 e tr ltac:(lia)) as (r0 & H0). sstep H0.
    destruct (idx_in_range r 1 e tr ltac:(lia)) as (r1 & H1). sstep H1.
    destruct (idx_in_range r 2 e tr ltac:(lia)) as (r2 & H2). sstep H2.
    destruct (idx_in_range r 3 e tr ltac:(lia)) as (r3 & H3). sstep H3.
    eexists. reflexivity.
  - destruct (id =? Abi.GuestMemInfo).
    + rewrite ?bind_assoc. CodeShadow.step. eexists. reflexivity.
    + destruct (id =? Abi.GuestMemState).
      * destruct (GuestMemState_no_failure e tr (Isolation.Caller_VM cl) x1 x2 Hmok ltac:(lia)
          ltac:(unfold len; lia) Hx1 Hx2) as (state & run & st & Hms & _).
        sstep Hms. destruct (st =? Abi.Success); rewrite ?bind_assoc; CodeShadow.step; eexists; reflexivity.
      * unfold Isolation.EngineOwnsID, Abi.OwningEntity. rewrite ?bind_assoc. CodeShadow.step.
        repeat (rewrite ?bind_assoc; first [CodeShadow.step | match goal with |- context [if ?b then _ else _] =>
          destruct b end]); eexists; reflexivity.
Qed.

(** ** Every call *)

(** A guest's call of any function id through the dispatcher, from a
    vCPU of a live VM of at most 256 vCPUs that is marked On (as VCPU_RUN
    marks it before it handles its trap), from [refine_inv], for
    arguments below 2^64: it never fails, keeps [refine_inv], the
    caller's context, the platform and [Inv], and leaves the caller a vCPU of a live VM
    with as many vCPUs. *)
Theorem guestCallRegs_keeps : forall c e tr cl m x0 x1 x2 x3, refine_inv c e -> live_caller e cl m ->
  Isolation.vcpu_state (nth (Z.to_nat (Isolation.Caller_VCPU cl)) (Isolation.vm_vcpus m) Isolation.zero_vcpu) =
    Isolation.VCPUOn ->
  Isolation.vm_nvcpu m <= 256 -> 0 <= x1 < 2 ^ 64 -> 0 <= x2 < 2 ^ 64 ->
  exists r e' tr', Isolation.Engine_guestCallRegs root cl x0 x1 x2 x3 e tr = Ok r e' tr' /\ refine_inv c e' /\
    caller_ctx e' cl = caller_ctx e cl /\ Isolation.Engine_plat e' = Isolation.Engine_plat e /\
    (Inv c (abs_ms c e) -> Inv c (abs_ms c e')) /\ (runs_ok e -> runs_ok e') /\ (host_lv3 c e -> host_lv3 c e') /\
    exists m', live_caller e' cl m' /\ Isolation.vm_nvcpu m' = Isolation.vm_nvcpu m.
Proof.
  intros c e tr cl m x0 x1 x2 x3 R Hcl Hidle Hn Hx1 Hx2.
  pose proof R as (Hc & (((Hmok & _) & _) & _) & _).
  set (mem := fun _ : nat => 0%nat). set (regs := fun _ _ _ : nat => 0%nat).
  destruct (in_dec Z.eq_dec (wrapu 32 x0) [Abi.GuestShare; Abi.GuestUnshare; Abi.GuestRelinquish]) as [Hm|Hm].
  { assert (Hf : exists call step, mem_fid (wrapu 32 x0) call step /\
      forall s v ipa n, slots_alike (st_meta s) (st_meta (fst (step c s v ipa n)))).
    { destruct Hm as [E|[E|[E|[]]]]; do 2 eexists; (split; [unfold mem_fid; rewrite <- E; eauto 7|]);
        intros s v ipa n; apply (guest_mem_slots c s v ipa n). }
    destruct Hf as (call & step & Hf & Hsl).
    destruct (guestCallRegs_mem c e tr cl m x0 x1 x2 x3 call step mem regs R Hcl Hf Hx1 Hx2)
      as (st & e' & tr' & Hrun & (Ev & Ep) & R' & Herr & Hsucc & HI & Hlv).
    eexists _, e', tr'. split; [exact Hrun|]. split; [exact R'|]. split; [unfold caller_ctx; rewrite Ev; reflexivity|].
    split; [exact Ep|].
    split; [exact HI|]. split; [exact (runs_ok_vms e e' Ev)|]. split; [exact Hlv|].
    destruct (Z.eq_dec st Abi.Success) as [Es|Ne]; [|rewrite (Herr Ne); exists m; split; [exact Hcl|reflexivity]].
    destruct (Hsucc Es) as (s' & Hs & Heq).
    apply (live_caller_alike c e e' cl m Hc (proj1 R') Hcl).
    pose proof (Hsl (abs_state c e mem regs) (Z.to_nat (Isolation.Caller_VM cl)) (Z.to_nat x1) (Z.to_nat x2)) as A.
    rewrite Hs in A. exact (ms_eq_alike _ _ _ A Heq). }
  destruct (in_dec Z.eq_dec (wrapu 32 x0) guest_psci_ids) as [Hp|Hp].
  { destruct (guestCallRegs_psci c e tr cl m x0 x1 x2 x3 mem regs R Hcl Hidle Hn Hp Hx1 Hx2)
      as (r & eff & e' & s' & ret' & ex & Hrun & R' & Hctx & Ep & Hg & Heq & _ & _ & HI & Hro & Hlv).
    eexists _, e', tr. split; [exact Hrun|]. split; [exact R'|]. split; [exact Hctx|]. split; [exact Ep|]. split; [exact HI|].
    split; [exact Hro|]. split; [exact Hlv|].
    apply (live_caller_alike c e e' cl m Hc (proj1 R') Hcl).
    pose proof (guest_call_slots c (abs_state c e mem regs) (Z.to_nat (Isolation.Caller_VM cl))
      (Z.to_nat (Isolation.Caller_VCPU cl)) (psci_gcall (wrapu 32 x0) x1 x2 x3)) as A.
    rewrite Hg in A. exact (ms_eq_alike _ _ _ A Heq). }
  destruct (guestCallRegs_other e tr cl m x0 x1 x2 x3 Hmok Hcl Hm Hp Hx1 Hx2) as (r & Hrun).
  exists r, e, tr. split; [exact Hrun|]. split; [exact R|]. split; [reflexivity|]. split; [reflexivity|]. split; [exact (fun I => I)|].
  split; [exact (fun H => H)|]. split; [exact (fun H => H)|].
  exists m. split; [exact Hcl|reflexivity].
Qed.
