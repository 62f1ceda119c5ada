(** * The guest memory calls through the dispatcher

    Theorems about proofs/code/Isolation.v, the translation of
    isolation/dispatch.go ([guestCallRegs], which performs a guest's call
    from its registers, for a trapped HVC or SMC as for [Dispatch]).
    Proved here:
    - [callerVM] of a vCPU of a live VM finds that VM ([callerVM_tracks],
      [callerVM_live]);
    - a GUEST_SHARE, GUEST_UNSHARE or GUEST_RELINQUISH from such a vCPU,
      for any IPA and count below 2^64, from [refine_inv], never fails,
      answers the call's status in x0 with x1..x3 as they were and no
      effect for the caller of the dispatcher, and keeps [refine_inv]
      and [Inv]; the engine changes only on SUCCESS, where the call
      refines the model's step whole ([guestCallRegs_mem]). *)
From Coq Require Import ZArith Lia List Bool.
From Bulkhead.Spec Require Import State Spec.
From Bulkhead.Proofs Require Import Invariants.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodeLens CodeTrack CodeVCPU CodeVCPUInit CodeVMCreate CodeShadow CodeAbsLedger CodeAbs
  CodeVMCreateRefine CodeRefineInv CodeGuestInv CodeMemState CodeHostLevel.
Import ListNotations.
Open Scope Z_scope.

(** The caller is vCPU [Caller_VCPU cl] of the live VM in slot
    [Caller_VM cl - 1]. *)
Definition live_caller (e : Isolation.Engine) (cl : Isolation.Caller) (m : Isolation.vm) : Prop :=
  1 <= Isolation.Caller_VM cl < 2 ^ 16 /\
  nth_error (Isolation.Engine_vms e) (Z.to_nat (Isolation.Caller_VM cl - 1)) = Some m /\
  Isolation.vm_live m = true /\ 0 <= Isolation.Caller_VCPU cl < Isolation.vm_nvcpu m.

(** [callerVM] of a vCPU of a live VM finds that VM: a place that
    tracks its slot. *)
Lemma callerVM_tracks : forall e tr cl m, live_caller e cl m ->
  exists p, Isolation.Engine_callerVM root cl e tr = Ok p e tr /\
    tracks p e m (put_vm e (Z.to_nat (Isolation.Caller_VM cl - 1))).
Proof.
  intros e tr cl m (Hid & Hnth & Hlive & Hvc).
  assert (Hlt : (Z.to_nat (Isolation.Caller_VM cl - 1) < length (Isolation.Engine_vms e))%nat)
    by (apply nth_error_Some; congruence).
  destruct (pfield_tracks root Isolation.Engine_vms Isolation.set_Engine_vms e e (fun b => b) tr
              (tracks_root e) ltac:(field_laws)) as (q0 & Hq0 & Hg0).
  assert (Hr : 0 <= Isolation.Caller_VM cl - 1 < len (Isolation.Engine_vms e)) by (unfold len; lia).
  destruct (pindex_tracks q0 e _ _ (Isolation.Caller_VM cl - 1) tr Hg0 Hr) as (q & m' & Hq & Hn & Hgq).
  rewrite Hnth in Hn. injection Hn as <-.
  unfold Isolation.Engine_callerVM. CodeShadow.step_by (deref_root e tr).
  replace (Isolation.Caller_VM cl >? len (Isolation.Engine_vms e)) with false
    by (symmetry; rewrite Z.gtb_ltb; apply Z.ltb_ge; lia).
  CodeShadow.step_by Hq0. rewrite wrapu_small_16 by lia. CodeShadow.step_by Hq.
  CodeShadow.step_by (deref_tracks _ _ _ _ tr Hgq). rewrite Hlive. cbn [negb].
  rewrite bind_assoc. CodeShadow.step_by (deref_tracks _ _ _ _ tr Hgq).
  replace (Isolation.Caller_VCPU cl >=? Isolation.vm_nvcpu m) with false by (symmetry; rewrite Z.geb_leb; apply Z.leb_gt; lia).
  CodeShadow.step. exists q. split; [reflexivity|exact Hgq].
Qed.

Lemma callerVM_live : forall e tr cl m, live_caller e cl m ->
  exists p, Isolation.Engine_callerVM root cl e tr = Ok p e tr /\ is_nil p = false.
Proof.
  intros e tr cl m Hc. destruct (callerVM_tracks e tr cl m Hc) as (p & Hp & (ld & st & -> & _)).
  exists (Place ld st). split; [exact Hp|reflexivity].
Qed.

(** The guest memory calls' function ids, as [guestCallRegs] reads them
    from the low 32 bits of x0. *)
Definition mem_fid (fid : Z) (call : Z -> Z -> Z -> M Isolation.Engine Abi.Status)
    (step : config -> state -> nat -> nat -> nat -> state * output) : Prop :=
  (fid = Abi.GuestShare /\ call = Isolation.Engine_GuestShare root /\ step = guest_share) \/
  (fid = Abi.GuestUnshare /\ call = Isolation.Engine_GuestUnshare root /\ step = guest_unshare) \/
  (fid = Abi.GuestRelinquish /\ call = Isolation.Engine_GuestRelinquish root /\ step = guest_relinquish).

(** [guestCallRegs] of a guest memory call from a vCPU of a live VM is
    the call, its status in x0, x1..x3 as they were and no effect. *)
Lemma guestCallRegs_is_call : forall e tr cl m x0 x1 x2 x3 call step, live_caller e cl m ->
  mem_fid (wrapu 32 x0) call step ->
  Isolation.Engine_guestCallRegs root cl x0 x1 x2 x3 e tr =
    bind (call (Isolation.Caller_VM cl) x1 x2) (fun st => bind (Abi.Status_Reg st)
      (fun r => ret (r, x1, x2, x3, Isolation.mk_Effect Isolation.zero_EffectKind 0 false false))) e tr.
Proof.
  intros e tr cl m x0 x1 x2 x3 call step Hc Hf.
  destruct (callerVM_live e tr cl m Hc) as (p & Hp & Hnil).
  unfold Isolation.Engine_guestCallRegs. CodeShadow.step_by Hp. rewrite Hnil. cbv zeta.
  destruct Hf as [(E & -> & _)|[(E & -> & _)|(E & -> & _)]]; rewrite E; cbn -[bind Isolation.Engine_GuestShare
    Isolation.Engine_GuestUnshare Isolation.Engine_GuestRelinquish Abi.Status_Reg];
    unfold bind; match goal with |- context [?f (Isolation.Caller_VM cl) x1 x2 e tr] =>
      destruct (f (Isolation.Caller_VM cl) x1 x2 e tr) end; reflexivity.
Qed.

(** So a guest memory call through the dispatcher, from a vCPU of a live
    VM and from [refine_inv], for an IPA and count below 2^64, never
    fails, keeps [refine_inv] and [Inv], changes nothing unless it
    answers SUCCESS, and on SUCCESS refines the model's step whole. *)
Theorem guestCallRegs_mem : forall c e tr cl m x0 x1 x2 x3 call step mem regs, refine_inv c e -> live_caller e cl m ->
  mem_fid (wrapu 32 x0) call step -> 0 <= x1 < 2 ^ 64 -> 0 <= x2 < 2 ^ 64 ->
  exists st e' tr', Isolation.Engine_guestCallRegs root cl x0 x1 x2 x3 e tr =
      Ok (wrapu 64 st, x1, x2, x3, Isolation.mk_Effect Isolation.zero_EffectKind 0 false false) e' tr' /\
    (Isolation.Engine_vms e' = Isolation.Engine_vms e /\ Isolation.Engine_plat e' = Isolation.Engine_plat e) /\
    refine_inv c e' /\ (st <> Abi.Success -> e' = e) /\
    (st = Abi.Success -> exists s', step c (abs_state c e mem regs) (Z.to_nat (Isolation.Caller_VM cl)) (Z.to_nat x1)
       (Z.to_nat x2) = (s', ok0) /\ ms_eq (st_meta s') (abs_ms c e')) /\
    (Inv c (abs_ms c e) -> Inv c (abs_ms c e')) /\ (host_lv3 c e -> host_lv3 c e').
Proof.
  intros c e tr cl m x0 x1 x2 x3 call step mem regs R Hc Hf Hx1 Hx2.
  rewrite (guestCallRegs_is_call e tr cl m x0 x1 x2 x3 call step Hc Hf).
  pose proof Hc as (Hid & Hnth & Hlive & _).
  assert (Hg : guest_refine_inv call step).
  { destruct Hf as [(_ & -> & ->)|[(_ & -> & ->)|(_ & -> & ->)]];
      [exact GuestShare_refine_inv|exact GuestUnshare_refine_inv|exact GuestRelinquish_refine_inv]. }
  destruct (Hg c e tr (Isolation.Caller_VM cl) x1 x2 m mem regs R Hid Hnth Hlive Hx1 Hx2)
    as (st & e' & tr' & Hcall & Ev & R' & Herr & Hsucc & HI).
  exists st, e', tr'. split; [CodeShadow.step_by Hcall; reflexivity|]. do 4 (split; [assumption|]). split; [exact HI|].
  pose proof R as (Hci & Hwi & _ & Hrok & _).
  destruct Hf as [(_ & -> & _)|[(_ & -> & _)|(_ & -> & _)]];
    [exact (GuestShare_host_lv3 c e tr _ x1 x2 m st e' tr' Hci Hwi Hrok Hid Hnth Hlive Hx1 Hx2 Hcall)
    |exact (GuestUnshare_host_lv3 c e tr _ x1 x2 m st e' tr' Hci Hwi Hrok Hid Hnth Hlive Hx1 Hx2 Hcall)
    |exact (GuestRelinquish_host_lv3 c e tr _ x1 x2 m st e' tr' Hci Hwi Hrok Hid Hnth Hlive Hx1 Hx2 Hcall)].
Qed.
