(** * Hypervisor and guest calls in any order, every VM_DESTROY included

    Theorems about proofs/code/Isolation.v that carry CodeGuestInv's
    [reaches_Inv] (hypervisor and guest calls in any order keep
    [refine_inv] and [Inv]) to every VM_DESTROY, not only of a VM that
    shares no page with the host. The invariant gains CodeHostLevel's
    [host_lv3], which every such call keeps and which gives VM_DESTROY's
    condition for every vmid. Proved here:
    - every call of [gcall] from [refine_inv], with 64-bit arguments and a
      guest call from a live VM, keeps [host_lv3] ([gcall_host_lv3]);
    - so each such call, VM_DESTROY of any vmid included, never fails
      and keeps [refine_inv], [Inv] and [host_lv3] ([gcall_keeps_lv3]),
      and so does any sequence of them ([reaches_all_Inv]); from the
      engine [boot] leaves, where no VM shares a page with the host,
      every engine such calls reach meets the three ([boot_reaches_all]). *)
From Coq Require Import ZArith Lia List Bool.
From Bulkhead.Spec Require Import State Spec.
From Bulkhead.Proofs Require Import Invariants.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodeAbs CodeAbsLedger CodeRefineInv CodeGuestInv CodeHostLevel CodeDestroyShared
  CodeBoot CodeBootRefine CodeReleaseShared CodeUpdateRoot CodeMemNoFailure.
Import ListNotations.
Open Scope Z_scope.

(** What a call needs of the engine besides 64-bit arguments: a guest
    call comes from a live VM; a hypervisor call nothing. *)
Definition gcall_pre_all (x : gcall) (e : Isolation.Engine) : Prop :=
  match x with
  | GHost _ => True
  | GShare id _ _ | GUnshare id _ _ | GRelinquish id _ _ => live_slot e id
  end.

Lemma pre_or_destroy : forall x e, gcall_pre_all x e -> gcall_pre x e \/ exists id, x = GHost (CVMDestroy id).
Proof.
  intros [[]| | |] e H; cbn [gcall_pre_all gcall_pre mcall_pre] in *; try (left; exact Logic.I); try (left; exact H).
  right. eexists. reflexivity.
Qed.

(** The engine a call answered with (CodeCallThms uses it too). *)
Ltac ran Hrun E :=
  match type of Hrun with
  | after ?o = Some _ => destruct o as [? ? ?|?] eqn:E; [cbn [after] in Hrun; injection Hrun as <- <-|discriminate Hrun]
  end.

(** Every call keeps [host_lv3]. *)
Theorem gcall_host_lv3 : forall c x e tr e' tr', refine_inv c e -> gcall_ok x -> gcall_pre_all x e ->
  run_gcall x e tr = Some (e', tr') -> host_lv3 c e -> host_lv3 c e'.
Proof.
  intros c x e tr e' tr' R Hx Hpre Hrun H.
  pose proof R as (Hc & Hwi & _ & Hrok & Ho & _). pose proof Hwi as [[Hi Hs] _].
  pose proof Hc as (Hcok & Htok & Hcfg & Hh & Hvo & _).
  destruct x as [[n f|id pa ipa n perms|id pa ipa n perms|id ipa n|pa n|pa|id|id v entry arg|id v intid level|id
                  |id ipa mode value]|id ipa n|id ipa n|id ipa n];
    cbn [gcall_ok mcall_ok gcall_pre_all run_gcall run_mcall] in *; unfold u64 in *.
  - ran Hrun E. exact (VMCreate_host_lv3 c e tr (Z.of_nat n) (Z.of_nat f) _ _ _ Hcok Htok Hh Hvo ltac:(lia) E H).
  - destruct Hx as (Hid & Hpa & Hipa & Hn & Hp). ran Hrun E.
    exact (MemShare_host_lv3 c e tr id pa ipa n perms _ _ _ R Hid Hpa Hipa Hn Hp E H).
  - destruct Hx as (Hid & Hpa & Hipa & Hn & Hp). ran Hrun E.
    exact (MemDonate_host_lv3 c e tr id pa ipa n perms _ _ _ R Hid Hpa Hipa Hn Hp E H).
  - destruct Hx as (Hid & Hipa & Hn). ran Hrun E. exact (MemUnshare_host_lv3 c e tr id ipa n _ _ _ R Hid Hipa Hn E H).
  - destruct Hx as (Hpa & Hn). ran Hrun E. exact (MemReclaim_host_lv3 c e tr pa n _ _ _ R Hpa Hn E H).
  - destruct (MemInfo_refines c e (abs_state c e (fun _ => 0%nat) (fun _ _ _ => 0%nat)) tr pa (proj1 Hrok) Ho
      (proj1 Hcfg) eq_refl Hx) as (info & st & out & E & _).
    rewrite E in Hrun. cbn [after] in Hrun. injection Hrun as <- <-. exact H.
  - ran Hrun E. exact (VMDestroy_host_lv3 c e tr id _ _ _ R Hx E H).
  - destruct Hx as (Hid & Hv & _). ran Hrun E. exact (VCPUInit_host_lv3 c e tr id v entry arg _ _ _ Hs Hid Hv E H).
  - destruct Hx as (Hid & Hv & Hi' & _). ran Hrun E.
    exact (VCPUIRQ_host_lv3 c e tr id v intid level _ _ _ Hs Hid Hv Hi' E H).
  - ran Hrun E. exact (MMIOLogRead_host_lv3 c e tr id _ _ _ Hs Hx E H).
  - destruct Hx as (Hid & Hipa & _). ran Hrun E.
    exact (MMIOShadow_host_lv3 c e tr id ipa mode value _ _ _ Hs Hid ltac:(lia) E H).
  - destruct Hx as (Hipa & Hn). destruct Hpre as (Hid & m & Hnth & Hlive). ran Hrun E.
    exact (GuestShare_host_lv3 c e tr id ipa n m _ _ _ Hc Hwi Hrok Hid Hnth Hlive Hipa Hn E H).
  - destruct Hx as (Hipa & Hn). destruct Hpre as (Hid & m & Hnth & Hlive). ran Hrun E.
    exact (GuestUnshare_host_lv3 c e tr id ipa n m _ _ _ Hc Hwi Hrok Hid Hnth Hlive Hipa Hn E H).
  - destruct Hx as (Hipa & Hn). destruct Hpre as (Hid & m & Hnth & Hlive). ran Hrun E.
    exact (GuestRelinquish_host_lv3 c e tr id ipa n m _ _ _ Hc Hwi Hrok Hid Hnth Hlive Hipa Hn E H).
Qed.

(** One call from [refine_inv], [Inv] and [host_lv3], VM_DESTROY of any
    vmid included, never fails and keeps the three. *)
Theorem gcall_keeps_lv3 : forall c x e tr, refine_inv c e -> Inv c (abs_ms c e) -> host_lv3 c e ->
  gcall_ok x -> gcall_pre_all x e ->
  exists e' tr', run_gcall x e tr = Some (e', tr') /\ refine_inv c e' /\ Inv c (abs_ms c e') /\ host_lv3 c e'.
Proof.
  intros c x e tr R I H Hx Hpre.
  destruct (pre_or_destroy x e Hpre) as [Hp|(id & ->)].
  - destruct (gcall_keeps c x e tr R I Hx Hp) as (e' & tr' & Hrun & R' & I').
    exists e', tr'. split; [exact Hrun|]. split; [exact R'|]. split; [exact I'|].
    exact (gcall_host_lv3 c x e tr e' tr' R Hx Hpre Hrun H).
  - cbn [gcall_ok mcall_ok] in Hx. unfold u64 in Hx.
    pose proof R as (Hc & _ & _ & (Hled & _) & _). pose proof Hc as (_ & _ & (Hcfg & _) & _).
    destruct (VMDestroy_shared_refine_inv c e tr id (fun _ => 0%nat) (fun _ _ _ => 0%nat) R Hx
      (host_lv3_shared c e Hcfg Hled H id) I) as (st & e' & tr' & Hcall & R' & _ & _ & I').
    exists e', tr'. cbn [run_gcall run_mcall]. rewrite Hcall. split; [reflexivity|].
    split; [exact R'|]. split; [exact I'|]. exact (VMDestroy_host_lv3 c e tr id st e' tr' R Hx Hcall H).
Qed.

(** The engines reached from an engine by calls in any order, each with
    64-bit arguments, each guest call from a live VM. *)
Inductive reaches_all : Isolation.Engine -> Isolation.Engine -> Prop :=
| all_here : forall e, reaches_all e e
| all_step : forall x e tr e1 tr1 e', gcall_ok x -> gcall_pre_all x e -> run_gcall x e tr = Some (e1, tr1) ->
    reaches_all e1 e' -> reaches_all e e'.

(** Every engine reached from one satisfying [refine_inv], [Inv] and
    [host_lv3] satisfies the three, and no call from it fails. *)
Theorem reaches_all_Inv : forall c e e', refine_inv c e -> Inv c (abs_ms c e) -> host_lv3 c e -> reaches_all e e' ->
  refine_inv c e' /\ Inv c (abs_ms c e') /\ host_lv3 c e' /\
  forall x tr, gcall_ok x -> gcall_pre_all x e' -> exists e'' tr', run_gcall x e' tr = Some (e'', tr').
Proof.
  intros c e e' R I H Hr. induction Hr as [e|x e tr e1 tr1 e' Hx Hpre Hrun _ IH].
  - split; [exact R|]. split; [exact I|]. split; [exact H|]. intros x tr Hx Hpre.
    destruct (gcall_keeps_lv3 c x e tr R I H Hx Hpre) as (e' & tr' & Hrun & _). eauto.
  - destruct (gcall_keeps_lv3 c x e tr R I H Hx Hpre) as (e1' & tr1' & Hrun' & R1 & I1 & H1).
    rewrite Hrun in Hrun'. injection Hrun' as <- <-. exact (IH R1 I1 H1).
Qed.

(** From the engine [New] hands [boot]: when [boot] answers true, every
    engine such calls reach from the one it leaves meets [refine_inv],
    [Inv] and [host_lv3], and no call from it fails. *)
Theorem boot_reaches_all : forall c e tr, allocated e -> validated e -> pool_inv e -> pool_placed e -> model_of c e ->
  exists b e0 tr0, Isolation.Engine_boot root e tr = Ok b e0 tr0 /\
    (b = true -> forall e', reaches_all e0 e' -> refine_inv c e' /\ Inv c (abs_ms c e') /\ host_lv3 c e' /\
       forall x tr', gcall_ok x -> gcall_pre_all x e' -> exists e'' tr'', run_gcall x e' tr' = Some (e'', tr'')).
Proof.
  intros c e tr Ha Hv Hp Hpl Hm.
  destruct (boot_refines c e tr Ha Hv Hp Hpl Hm) as (b & e0 & tr0 & Hboot & Hb).
  exists b, e0, tr0. split; [exact Hboot|]. intros Eb e' Hr.
  destruct (Hb Eb) as (R & _ & I & Gu).
  exact (reaches_all_Inv c e0 e' R I (host_lv3_unshared c e0 Gu) Hr).
Qed.
