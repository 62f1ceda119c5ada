(** * The model's theorems as theorems about the Go calls

    What the refinements proved so far carry over from the model
    (specs/Spec.v, proofs/Invariants.v, Scrub.v, Protected.v) to the
    translated Go code (proofs/code/Isolation.v), through the abstraction
    function [CodeAbs.abs_ms] from the engine to the model's metadata.
    - Transport ([Inv_ms_eq]): the invariant [Inv] respects [ms_eq], the
      pointwise equality [VMCreate_refines] gives; no extensionality.
    - VM_CREATE ([VMCreate_Inv]): under [VMCreate_refines]' hypotheses,
      if the abstraction of the engine satisfies [Inv], so does that of
      the engine VM_CREATE returns, in every outcome (NO_MEMORY from an
      empty table pool included). With [VMCreate_keeps], which keeps
      those hypotheses ([create_hyps]), VM_CREATE chains
      ([VMCreate_keeps_Inv]), so any sequence of VM_CREATEs keeps [Inv]
      ([VMCreates_Inv]); after them a protected VM maps only pages it
      owns ([VMCreates_protected_owns], from [Protected.protected_owner]).
    - Integrity of VM_CREATE at the level of metadata
      ([VMCreate_integrity]): it changes no page's owner or share state,
      not the host stage-2, and no VM slot but the one it returns on
      SUCCESS; in particular no live VM (its vCPUs, stage-2, flags, MMIO
      shadow).
    - The calls whose errors are refined: when the model refuses
      MEM_DONATE, MEM_SHARE or MEM_RECLAIM on the abstraction, the Go call
      answers the same status and returns the engine it was given, so the
      abstraction and [Inv] are kept ([MemDonate_error_keeps_Inv],
      [MemShare_error_keeps_Inv], [MemReclaim_error_keeps_Inv]). MEM_INFO,
      FILE_INFO and FILE_READ return the engine they were given in every
      outcome ([MemInfo_keeps_Inv], [FileInfo_keeps_Inv],
      [FileRead_keeps_Inv]); FILE_READ's copy changes memory contents,
      which are outside the abstraction.
    - MEM_DONATE, MEM_SHARE and MEM_RECLAIM answering SUCCESS
      ([MemDonate_success_pages], [MemShare_success_pages],
      [MemReclaim_success_pages]): the ledger's refinement, so what
      carries over here is about pages: each page of the abstraction
      after the call is the model's (the range given to the VM, shared
      with it, or back to the host; every other page as before), a page's
      owner moves only along the model's flow ([Scrub.inv4_conservation]),
      and the invariant's fields about pages alone ([pages_inv]: the
      engine owns its region, no page outside RAM is owned, shares go
      the right way) hold after the call when [Inv] held before.

    The stage-2s after MEM_SHARE and MEM_DONATE, and with them the
    whole of [Inv], are carried over in CodeS2Refine.
    Not carried over: [Inv]'s stage-2 fields after MEM_RECLAIM, and the
    error those calls answer after their checks pass (NO_MEMORY
    from the table pool), which the model does not have; noninterference,
    which compares two runs and needs every call refined whole; and
    everything about memory contents and registers (scrubbing, integrity
    of memory), which the abstraction leaves out. *)
From Coq Require Import ZArith Lia List Bool Arith.
From Bulkhead.Spec Require Import State Spec.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodePlace CodeLedger CodeAbsLedger CodeStage2 CodeFree CodeTransfer CodeMemCall
  CodeFiles CodeTransferRefine CodeAbi CodeLedgerRefine CodeAbs CodeVMCreate CodeVMCreateRefine CodeVMCreateInv Lemmas.
From Bulkhead.Proofs Require Import Invariants.
From Bulkhead.Proofs Require Scrub Protected.
Import ListNotations.
Open Scope Z_scope.

(** ** Transport along [ms_eq] *)

Lemma vcpu_eq_sym : forall a b, vcpu_eq a b -> vcpu_eq b a.
Proof. intros a b (H1 & H2 & H3). split; [auto|split; [auto|intros i; auto]]. Qed.

Lemma vm_eq_sym : forall a b, vm_eq a b -> vm_eq b a.
Proof.
  intros a b (H1 & H2 & H3 & H4 & H5 & H6 & H7 & H8).
  split; [auto|]. split; [auto|]. split; [auto|]. split; [auto|].
  split; [intros j; apply vcpu_eq_sym, H5|]. split; [intros p; auto|]. split; auto.
Qed.

Lemma ms_eq_sym : forall m1 m2, ms_eq m1 m2 -> ms_eq m2 m1.
Proof.
  intros m1 m2 (Hp & Hh & Hv). split; [intros p; auto|]. split; [intros p; auto|]. intros v. apply vm_eq_sym, Hv.
Qed.

(** [Inv] reads the metadata only point by point. *)
Theorem Inv_ms_eq : forall c m1 m2, ms_eq m1 m2 -> Inv c m1 -> Inv c m2.
Proof.
  intros c m1 m2 (Hp & Hh & Hv) I.
  assert (Hs : forall v p, vm_s2 (ms_vms m1 v) p = vm_s2 (ms_vms m2 v) p)
    by (intros v p; destruct (Hv v) as (_ & _ & _ & _ & _ & H & _); apply H).
  assert (Hl : forall v, vm_live (ms_vms m1 v) = vm_live (ms_vms m2 v)) by (intros v; apply (Hv v)).
  assert (Hr : forall v, vm_protected (ms_vms m1 v) = vm_protected (ms_vms m2 v))
    by (intros v; destruct (Hv v) as (_ & _ & _ & H & _); apply H).
  constructor; intros.
  - rewrite <- Hs, <- Hp. apply (inv_s2 _ _ I).
  - rewrite <- Hh, <- Hp. apply (inv_hs2 _ _ I).
  - rewrite <- Hp. apply (inv_engine _ _ I).
  - rewrite <- Hp. apply (inv_ram _ _ I). assumption.
  - rewrite <- Hp. apply (inv_share _ _ I).
  - rewrite <- Hs. apply (inv_free _ _ I). rewrite Hl. assumption.
  - rewrite <- Hs in *. eapply (inv_inj _ _ I); eassumption.
  - rewrite <- Hp. apply (inv_protected _ _ I). rewrite Hr. assumption.
Qed.

(** A Go call whose abstraction after is, by [ms_eq], the metadata the
    model's step leaves from the abstraction before keeps [Inv] when the
    step does. *)
Lemma step_keeps_Inv : forall c e e' mem regs (step : state -> state * output),
  (forall s, Inv c (st_meta s) -> Inv c (st_meta (fst (step s)))) ->
  ms_eq (st_meta (fst (step (abs_state c e mem regs)))) (abs_ms c e') ->
  Inv c (abs_ms c e) -> Inv c (abs_ms c e').
Proof. intros c e e' mem regs step Hstep Heq I. apply (Inv_ms_eq c _ _ Heq). apply Hstep. exact I. Qed.

(** The same for a step that answers SUCCESS. *)
Lemma step_ok_keeps_Inv : forall c e e' mem regs (step : state -> state * output),
  (forall s, Inv c (st_meta s) -> Inv c (st_meta (fst (step s)))) ->
  (exists s', step (abs_state c e mem regs) = (s', ok0) /\ ms_eq (st_meta s') (abs_ms c e')) ->
  Inv c (abs_ms c e) -> Inv c (abs_ms c e').
Proof.
  intros c e e' mem regs step Hstep (s' & Hs & Heq). apply (step_keeps_Inv c e e' mem regs step Hstep).
  rewrite Hs. exact Heq.
Qed.

(** The fields of [Inv] about pages alone. *)
Definition pages_inv (c : config) (m : mstate) : Prop :=
  (forall p, is_engine (ms_pages m p) = in_ram c p && in_engine c p) /\
  (forall p, in_ram c p = false -> is_none (ms_pages m p) = true) /\
  (forall p, share_ok (ms_pages m p) = true).

Lemma Inv_pages_inv : forall c m, Inv c m -> pages_inv c m.
Proof.
  intros c m I. split; [apply (inv_engine _ _ I)|]. split; [apply (inv_ram _ _ I)|apply (inv_share _ _ I)].
Qed.

Lemma pages_inv_ext : forall c m1 m2, (forall p, ms_pages m1 p = ms_pages m2 p) -> pages_inv c m1 -> pages_inv c m2.
Proof.
  intros c m1 m2 Hp (H1 & H2 & H3).
  split; [intros p; rewrite <- Hp; apply H1|]. split; [intros p; rewrite <- Hp; apply H2|intros p; rewrite <- Hp; apply H3].
Qed.

(** ** VM_CREATE keeps [Inv] *)

(** The abstraction of the engine VM_CREATE returns satisfies [Inv] when
    that of the engine it was given does, under the hypotheses of
    [VMCreate_refines], in every outcome. *)
Theorem VMCreate_Inv : forall c e tr n flags r e' tr',
  create_ok e -> tables_ok e -> cfg_abs c e ->
  Z.of_nat (max_vcpus c) = Isolation.Config_MaxVCPUs (Isolation.Engine_cfg e) ->
  len (Isolation.Engine_vms e) < 2 ^ 15 ->
  owns_tables e (Isolation.stage2_root (Isolation.Engine_host e)) ->
  (forall mv, In mv (Isolation.Engine_vms e) -> Isolation.vm_live mv = true ->
     owns_tables e (Isolation.stage2_root (Isolation.vm_s2 mv))) ->
  Z.of_nat n < 2 ^ 64 ->
  Isolation.Engine_VMCreate root (Z.of_nat n) (Z.of_nat flags) e tr = Ok r e' tr' ->
  Inv c (abs_ms c e) -> Inv c (abs_ms c e').
Proof.
  intros c e tr n flags r e' tr' Hc Hok Hcfg HM Hlen Hhost Hlive Hn Hrun I.
  destruct (VMCreate_refines c e tr (fun _ => 0%nat) (fun _ _ _ => 0%nat) n flags Hc Hok Hcfg HM Hlen Hhost Hlive Hn)
    as (id & st & e0 & Hrun0 & Hcase).
  rewrite Hrun0 in Hrun. injection Hrun as _ <- _. cbv zeta in Hcase.
  destruct Hcase as [(sst & vs & _ & _ & _ & _ & Heq)|(_ & _ & _ & Heq)].
  - apply (Inv_ms_eq c _ _ Heq). apply Invariants.vm_create_inv. exact I.
  - apply (Inv_ms_eq c _ _ (ms_eq_sym _ _ Heq)). exact I.
Qed.

(** What an engine keeps for VM_CREATE to be refined, call after call:
    [create_inv], the model's vCPU limit, fewer than 2^15 slots. *)
Definition create_hyps (c : config) (e : Isolation.Engine) : Prop :=
  create_inv c e /\ Z.of_nat (max_vcpus c) = Isolation.Config_MaxVCPUs (Isolation.Engine_cfg e) /\
  len (Isolation.Engine_vms e) < 2 ^ 15.

Theorem VMCreate_keeps_Inv : forall c e tr n flags r e' tr',
  create_hyps c e -> Z.of_nat n < 2 ^ 64 -> Inv c (abs_ms c e) ->
  Isolation.Engine_VMCreate root (Z.of_nat n) (Z.of_nat flags) e tr = Ok r e' tr' ->
  create_hyps c e' /\ Inv c (abs_ms c e').
Proof.
  intros c e tr n flags r e' tr' (Hinv & HM & Hlen) Hn I Hrun.
  pose proof Hinv as (Hc & Hok & Hcfg & Hhost & Hvms & _).
  split.
  - destruct (VMCreate_keeps c e tr (Z.of_nat n) (Z.of_nat flags) Hinv ltac:(lia)) as (r0 & e0 & Hrun0 & Hinv' & _).
    rewrite Hrun0 in Hrun. injection Hrun as _ <- _.
    destruct (VMCreate_shape c e tr (Z.of_nat n) (Z.of_nat flags) r0 e0 tr Hc ltac:(lia) Hrun0) as (Hcf & Hl & _).
    split; [exact Hinv'|]. unfold len in *. rewrite Hcf, Hl. split; assumption.
  - exact (VMCreate_Inv c e tr n flags r e' tr' Hc Hok Hcfg HM Hlen Hhost Hvms Hn Hrun I).
Qed.

(** A sequence of VM_CREATE calls (vCPU count, flags), each from the
    engine and trace the one before returned. *)
Fixpoint vm_creates (calls : list (nat * nat)) (e : Isolation.Engine) (tr : list event) : option Isolation.Engine :=
  match calls with
  | [] => Some e
  | (n, f) :: rest =>
      match Isolation.Engine_VMCreate root (Z.of_nat n) (Z.of_nat f) e tr with
      | Ok _ e' tr' => vm_creates rest e' tr'
      | Fail _ => None
      end
  end.

(** Any sequence of VM_CREATEs with counts below 2^64 runs to its end and
    keeps [Inv] of the abstraction. *)
Theorem VMCreates_Inv : forall c calls e tr,
  create_hyps c e -> Inv c (abs_ms c e) -> Forall (fun nf => Z.of_nat (fst nf) < 2 ^ 64) calls ->
  exists e', vm_creates calls e tr = Some e' /\ create_hyps c e' /\ Inv c (abs_ms c e').
Proof.
  intros c calls. induction calls as [|[n f] rest IH]; intros e tr H I Hb.
  - exists e. split; [reflexivity|]. split; assumption.
  - inversion Hb as [|? ? Hn Hrest]; subst. cbn [fst] in Hn.
    destruct (VMCreate_keeps c e tr (Z.of_nat n) (Z.of_nat f) (proj1 H) ltac:(lia)) as (r0 & e0 & Hrun0 & _).
    destruct (VMCreate_keeps_Inv c e tr n f r0 e0 tr H Hn I Hrun0) as [H' I'].
    destruct (IH e0 tr H' I' Hrest) as (e' & Hrun & He').
    exists e'. split; [|exact He']. cbn [vm_creates]. rewrite Hrun0. exact Hrun.
Qed.

(** ** Integrity of VM_CREATE *)

(** The model's VM_CREATE changes no page, not the host stage-2, and no
    VM but the one it returns; that one was free. *)
Lemma vm_create_frame : forall c s n f,
  let r := vm_create c s n f in
  (forall p, ms_pages (st_meta (fst r)) p = ms_pages (st_meta s) p) /\
  (forall p, ms_hs2 (st_meta (fst r)) p = ms_hs2 (st_meta s) p) /\
  (forall v, snd r <> ORet SUCCESS [v] -> ms_vms (st_meta (fst r)) v = ms_vms (st_meta s) v) /\
  (forall v, vm_live (ms_vms (st_meta s) v) = true -> snd r <> ORet SUCCESS [v]).
Proof.
  intros c s n f. cbv zeta. unfold vm_create.
  destruct ((n =? 0)%nat || (max_vcpus c <? n)%nat).
  { split; [reflexivity|]. split; [reflexivity|]. split; [reflexivity|]. intros v _ H. discriminate H. }
  destruct (free_slot c (st_meta s)) as [w|] eqn:F.
  2: { split; [reflexivity|]. split; [reflexivity|]. split; [reflexivity|]. intros v _ H. discriminate H. }
  cbn [fst snd st_meta set_vm ms_pages ms_hs2 ms_vms].
  split; [reflexivity|]. split; [reflexivity|]. split.
  - intros v Hv. unfold State.upd. destruct (Nat.eqb_spec v w) as [->|]; [exfalso; apply Hv; reflexivity|reflexivity].
  - intros v Hl H. injection H as ->. unfold free_slot in F. apply first_range_some in F as (u & _ & Fu).
    destruct (vm_live (ms_vms (st_meta s) u)) eqn:Lu; [discriminate Fu|]. injection Fu as ->. congruence.
Qed.

(** VM_CREATE, under [VMCreate_refines]' hypotheses, changes no page's
    owner or share state and not the host stage-2 of the abstraction, and
    no VM slot but the one it returns with SUCCESS; so no live VM at all
    (its vCPUs' states, pending replies and lines, its stage-2, flags and
    MMIO shadow). *)
Theorem VMCreate_integrity : forall c e tr n flags id st e' tr',
  create_ok e -> tables_ok e -> cfg_abs c e ->
  Z.of_nat (max_vcpus c) = Isolation.Config_MaxVCPUs (Isolation.Engine_cfg e) ->
  len (Isolation.Engine_vms e) < 2 ^ 15 ->
  owns_tables e (Isolation.stage2_root (Isolation.Engine_host e)) ->
  (forall mv, In mv (Isolation.Engine_vms e) -> Isolation.vm_live mv = true ->
     owns_tables e (Isolation.stage2_root (Isolation.vm_s2 mv))) ->
  Z.of_nat n < 2 ^ 64 ->
  Isolation.Engine_VMCreate root (Z.of_nat n) (Z.of_nat flags) e tr = Ok (id, st) e' tr' ->
  (forall p, ms_pages (abs_ms c e') p = ms_pages (abs_ms c e) p) /\
  (forall p, ms_hs2 (abs_ms c e') p = ms_hs2 (abs_ms c e) p) /\
  (forall v, (st = Abi.Success -> v <> Z.to_nat id) -> vm_eq (ms_vms (abs_ms c e') v) (ms_vms (abs_ms c e) v)) /\
  (forall v, vm_live (ms_vms (abs_ms c e) v) = true -> vm_eq (ms_vms (abs_ms c e') v) (ms_vms (abs_ms c e) v)).
Proof.
  intros c e tr n flags id st e' tr' Hc Hok Hcfg HM Hlen Hhost Hlive Hn Hrun.
  destruct (VMCreate_refines c e tr (fun _ => 0%nat) (fun _ _ _ => 0%nat) n flags Hc Hok Hcfg HM Hlen Hhost Hlive Hn)
    as (id0 & st0 & e0 & Hrun0 & Hcase).
  rewrite Hrun0 in Hrun. injection Hrun as -> -> -> _. cbv zeta in Hcase.
  destruct Hcase as [(sst & vs & Hout & Hst & Hvs & _ & (Hp & Hh & Hv))|(_ & _ & _ & (Hp & Hh & Hv))].
  - destruct (vm_create_frame c (abs_state c e (fun _ => 0%nat) (fun _ _ _ => 0%nat)) n flags)
      as (Fp & Fh & Fv & Fl).
    cbv zeta in Fp, Fh, Fv, Fl. cbn [st_meta abs_state] in Fp, Fh, Fv, Fl.
    assert (Hother : forall v, snd (vm_create c (abs_state c e (fun _ => 0%nat) (fun _ _ _ => 0%nat)) n flags)
                                 <> ORet SUCCESS [v] ->
                               vm_eq (ms_vms (abs_ms c e') v) (ms_vms (abs_ms c e) v)).
    { intros v H. apply vm_eq_sym. rewrite <- (Fv v H). apply Hv. }
    split; [intros p; rewrite <- Hp; apply Fp|]. split; [intros p; rewrite <- Hh; apply Fh|]. split.
    + intros v Hne. apply Hother. rewrite Hout. intros E. injection E as -> ->.
      apply Hne; [rewrite <- Hst; reflexivity|]. specialize (Hvs eq_refl). injection Hvs as ->. reflexivity.
    + intros v Hl. apply Hother. apply Fl. exact Hl.
  - split; [exact Hp|]. split; [exact Hh|]. split; intros v _; apply Hv.
Qed.

(** ** Errors of the refined calls change nothing *)

(** When the model refuses MEM_DONATE on the abstraction, the Go call
    answers the same status and returns the engine and trace it was
    given; the abstraction, hence [Inv], is kept. *)
Theorem MemDonate_error_keeps_Inv : forall c e mem regs tr id pa ipa n perms s' sst st e' tr',
  mem_ok e -> reclaim_ok e -> cfg_abs c e -> free_slots_clear e -> vms_sane c e ->
  0 <= id < 2 ^ 64 -> 0 <= pa < 2 ^ 64 -> 0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 -> 0 <= perms < 2 ^ 64 ->
  mem_donate c (abs_state c e mem regs) (Z.to_nat id) (Z.to_nat pa) (Z.to_nat ipa) (Z.to_nat n) (Z.to_nat perms)
    = (s', err sst) -> sst <> SUCCESS ->
  Isolation.Engine_MemDonate root id pa ipa n perms e tr = Ok st e' tr' ->
  st = go_status sst /\ e' = e /\ tr' = tr /\ (Inv c (abs_ms c e) -> Inv c (abs_ms c e')).
Proof.
  intros c e mem regs tr id pa ipa n perms s' sst st e' tr' Hm Hr Hc Hf Hs Hid Hpa Hipa Hn Hperms Hmodel Hne Hrun.
  destruct (MemDonate_checks_abs c e mem regs tr id pa ipa n perms Hm Hr Hc Hf Hs Hid Hpa Hipa Hn Hperms)
    as [(st0 & sst0 & Hrun0 & Hm0 & Hg & _)|(v & mv & _ & _ & _ & _ & Hl)]; cbv zeta in *.
  - rewrite Hrun0 in Hrun. injection Hrun as <- <- <-.
    rewrite Hmodel in Hm0. injection Hm0 as _ Hsst. subst sst0.
    split; [symmetry; exact Hg|]. split; [reflexivity|]. split; [reflexivity|]. intros I; exact I.
  - exfalso. unfold mem_donate in Hmodel; cbv zeta in Hmodel. rewrite Hl in Hmodel. injection Hmodel as _ E.
    apply Hne. congruence.
Qed.

Theorem MemShare_error_keeps_Inv : forall c e mem regs tr id pa ipa n perms s' sst st e' tr',
  mem_ok e -> reclaim_ok e -> cfg_abs c e -> free_slots_clear e -> vms_sane c e ->
  0 <= id < 2 ^ 64 -> 0 <= pa < 2 ^ 64 -> 0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 -> 0 <= perms < 2 ^ 64 ->
  mem_share c (abs_state c e mem regs) (Z.to_nat id) (Z.to_nat pa) (Z.to_nat ipa) (Z.to_nat n) (Z.to_nat perms)
    = (s', err sst) -> sst <> SUCCESS ->
  Isolation.Engine_MemShare root id pa ipa n perms e tr = Ok st e' tr' ->
  st = go_status sst /\ e' = e /\ tr' = tr /\ (Inv c (abs_ms c e) -> Inv c (abs_ms c e')).
Proof.
  intros c e mem regs tr id pa ipa n perms s' sst st e' tr' Hm Hr Hc Hf Hs Hid Hpa Hipa Hn Hperms Hmodel Hne Hrun.
  destruct (MemShare_checks_abs c e mem regs tr id pa ipa n perms Hm Hr Hc Hf Hs Hid Hpa Hipa Hn Hperms)
    as [(st0 & sst0 & Hrun0 & Hm0 & Hg & _)|(v & mv & _ & _ & _ & _ & _ & Hl & Hp)]; cbv zeta in *.
  - rewrite Hrun0 in Hrun. injection Hrun as <- <- <-.
    rewrite Hmodel in Hm0. injection Hm0 as _ Hsst. subst sst0.
    split; [symmetry; exact Hg|]. split; [reflexivity|]. split; [reflexivity|]. intros I; exact I.
  - exfalso. unfold mem_share in Hmodel; cbv zeta in Hmodel. rewrite Hl, Hp in Hmodel. injection Hmodel as _ E.
    apply Hne. congruence.
Qed.

Theorem MemReclaim_error_keeps_Inv : forall c e mem regs tr pa n s' sst st e' tr',
  reclaim_ok e -> owners_ok e -> cfg_rel c e -> 0 <= pa < 2 ^ 64 -> 0 <= n < 2 ^ 64 ->
  mem_reclaim c (abs_state c e mem regs) (Z.to_nat pa) (Z.to_nat n) = (s', err sst) -> sst <> SUCCESS ->
  Isolation.Engine_MemReclaim root pa n e tr = Ok st e' tr' ->
  st = go_status sst /\ e' = e /\ tr' = tr /\ (Inv c (abs_ms c e) -> Inv c (abs_ms c e')).
Proof.
  intros c e mem regs tr pa n s' sst st e' tr' Hr Ho Hc Hpa Hn Hmodel Hne Hrun.
  destruct (MemReclaim_checks_refine c e (abs_state c e mem regs) tr pa n Hr Ho Hc eq_refl Hpa Hn)
    as [(st0 & sst0 & Hrun0 & Hm0 & Hg & _)|(_ & _ & Hok & Hfr)].
  - rewrite Hrun0 in Hrun. injection Hrun as <- <- <-.
    rewrite Hmodel in Hm0. injection Hm0 as _ Hsst. subst sst0.
    split; [symmetry; exact Hg|]. split; [reflexivity|]. split; [reflexivity|]. intros I; exact I.
  - exfalso. unfold mem_reclaim in Hmodel; cbv zeta in Hmodel. rewrite Hok in Hmodel. cbn [negb] in Hmodel. rewrite Hfr in Hmodel.
    injection Hmodel as _ E. apply Hne. congruence.
Qed.

(** MEM_INFO, FILE_INFO and FILE_READ return the engine they were given,
    whatever they answer; FILE_READ's copy changes memory contents only,
    through the platform. *)
Theorem MemInfo_keeps_Inv : forall c e tr pa r e' tr',
  ledger_ok e -> owners_ok e -> cfg_rel c e -> 0 <= pa < 2 ^ 64 ->
  Isolation.Engine_MemInfo root pa e tr = Ok r e' tr' ->
  e' = e /\ tr' = tr /\ (Inv c (abs_ms c e) -> Inv c (abs_ms c e')).
Proof.
  intros c e tr pa r e' tr' Hl Ho Hc Hpa Hrun.
  destruct (MemInfo_refines c e (abs_state c e (fun _ => 0%nat) (fun _ _ _ => 0%nat)) tr pa Hl Ho Hc eq_refl Hpa)
    as (info & st & out & Hrun0 & _).
  rewrite Hrun0 in Hrun. injection Hrun as _ <- <-. split; [reflexivity|]. split; [reflexivity|]. intros I; exact I.
Qed.

Theorem FileInfo_keeps_Inv : forall c e tr index r e' tr',
  files_rel c e -> len (Isolation.Config_Files (Isolation.Engine_cfg e)) < 2 ^ 64 -> 0 <= index < 2 ^ 64 ->
  Isolation.Engine_FileInfo root index e tr = Ok r e' tr' ->
  e' = e /\ tr' = tr /\ (Inv c (abs_ms c e) -> Inv c (abs_ms c e')).
Proof.
  intros c e tr index r e' tr' Hf Hlen Hi Hrun.
  destruct (FileInfo_refines c e (abs_state c e (fun _ => 0%nat) (fun _ _ _ => 0%nat)) tr index Hf Hlen Hi)
    as (b & st & out & Hrun0 & _).
  rewrite Hrun0 in Hrun. injection Hrun as _ <- <-. split; [reflexivity|]. split; [reflexivity|]. intros I; exact I.
Qed.

Theorem FileRead_keeps_Inv : forall c e tr index pa pages r e' tr',
  reclaim_ok e -> Isolation.Engine_plat e <> None ->
  cfg_rel c e -> files_rel c e -> files_ok e ->
  0 <= index < 2 ^ 64 -> 0 <= pa < 2 ^ 64 -> 0 <= pages < 2 ^ 64 ->
  Isolation.Engine_FileRead root index pa pages e tr = Ok r e' tr' ->
  e' = e /\ (Inv c (abs_ms c e) -> Inv c (abs_ms c e')).
Proof.
  intros c e tr index pa pages r e' tr' Hr Hp Hc Hf Hfo Hi Hpa Hpg Hrun.
  enough (E : e' = e) by (split; [exact E|subst; intros I; exact I]).
  destruct (FileRead_refines c e (abs_state c e (fun _ => 0%nat) (fun _ _ _ => 0%nat)) tr index pa pages
    Hr Hp Hc Hf Hfo eq_refl Hi Hpa Hpg)
    as [(sst & _ & Hrun0 & _)|(f & b & s' & _ & _ & _ & _ & _ & _ & [(_ & _ & Hrun0 & _)|(_ & o & _ & Hrun0)])];
    rewrite Hrun0 in Hrun; injection Hrun as _ <- _; reflexivity.
Qed.

(** ** The ledger after MEM_DONATE, MEM_SHARE and MEM_RECLAIM answer SUCCESS *)

Lemma lend_checks_not_success : forall c m v pa ipa n perms, lend_checks c m v pa ipa n perms <> Some SUCCESS.
Proof.
  intros. unfold lend_checks.
  repeat match goal with |- context [if ?b then _ else _] => destruct b end; discriminate.
Qed.

(** No VM holds a page a lend passed its checks on: it is the host's and
    unshared. *)
Lemma lend_checks_unheld : forall c m v pa ipa n perms, lend_checks c m v pa ipa n perms = None ->
  forall p w, in_range p (pfn c pa) n = true -> holds_for w (ms_pages m p) = false.
Proof.
  intros c m v pa ipa n perms H p w Hp. pose proof (lend_checks_unshared c m v pa ipa n perms H p Hp) as E.
  unfold is_host_unshared in E. unfold holds_for.
  destruct (pg_owner (ms_pages m p)), (pg_share (ms_pages m p)); try discriminate E; reflexivity.
Qed.

(** A MEM_DONATE answering SUCCESS: every page of the range is the VM's,
    unshared, every other page as before; each page's owner moves along
    the model's flow; the page fields of [Inv] hold after it when [Inv]
    held before; and the model's checks of the call passed. *)
Theorem MemDonate_success_pages : forall c e tr id pa ipa n perms e' tr',
  mem_ok e -> reclaim_ok e -> cfg_abs c e -> free_slots_clear e -> vms_sane c e ->
  len (Isolation.Engine_vms e) <= 255 ->
  0 <= id < 2 ^ 64 -> 0 <= pa < 2 ^ 64 -> 0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 -> 0 <= perms < 2 ^ 64 ->
  Isolation.Engine_MemDonate root id pa ipa n perms e tr = Ok Abi.Success e' tr' ->
  (forall p, ms_pages (abs_ms c e') p =
     if in_range p (pfn c (Z.to_nat pa)) (Z.to_nat n) then mkPage (OVM (Z.to_nat id)) NotShared
     else ms_pages (abs_ms c e) p) /\
  (forall p, Scrub.owner_flow (AHost (HMemDonate (Z.to_nat id) (Z.to_nat pa) (Z.to_nat ipa) (Z.to_nat n) (Z.to_nat perms)))
     (pg_owner (ms_pages (abs_ms c e) p)) (pg_owner (ms_pages (abs_ms c e') p))) /\
  (Inv c (abs_ms c e) -> pages_inv c (abs_ms c e')) /\
  lend_checks c (abs_ms c e) (Z.to_nat id) (Z.to_nat pa) (Z.to_nat ipa) (Z.to_nat n) (Z.to_nat perms) = None.
Proof.
  intros c e tr id pa ipa n perms e' tr' Hm Hr Hc Hf Hs Hvms Hid Hpa Hipa Hn Hperms Hrun.
  destruct (MemDonate_ledger_abs c e (fun _ => 0%nat) (fun _ _ _ => 0%nat) tr id pa ipa n perms e' tr' Hm Hr Hc Hf Hs Hvms Hid Hpa Hipa Hn Hperms Hrun)
    as (s' & Hstep & Hp).
  set (s := abs_state c e (fun _ => 0%nat) (fun _ _ _ => 0%nat)) in *.
  split; [|split; [|split]].
  - intros p. rewrite <- Hp. unfold mem_donate in Hstep; cbv zeta in Hstep.
    destruct (lend_checks c (st_meta s) _ _ _ _ _) as [x|] eqn:L.
    + injection Hstep as <- E. subst x. exfalso. exact (lend_checks_not_success _ _ _ _ _ _ _ L).
    + injection Hstep as <-. reflexivity.
  - intros p. rewrite <- Hp. replace s' with (fst (Spec.step c s (AHost (HMemDonate (Z.to_nat id) (Z.to_nat pa) (Z.to_nat ipa)
      (Z.to_nat n) (Z.to_nat perms))))) by (cbn [Spec.step host_call]; rewrite Hstep; reflexivity).
    apply Scrub.inv4_conservation.
  - intros I. apply (pages_inv_ext c (st_meta s')); [exact Hp|]. apply Inv_pages_inv.
    replace s' with (fst (mem_donate c s (Z.to_nat id) (Z.to_nat pa) (Z.to_nat ipa) (Z.to_nat n) (Z.to_nat perms)))
      by (rewrite Hstep; reflexivity).
    apply Invariants.mem_donate_inv. exact I.
  - unfold mem_donate in Hstep; cbv zeta in Hstep.
    destruct (lend_checks c (st_meta s) _ _ _ _ _) as [x|] eqn:L; [|exact L].
    injection Hstep as <- E. subst x. exfalso. exact (lend_checks_not_success _ _ _ _ _ _ _ L).
Qed.

(** A MEM_SHARE answering SUCCESS: every page of the range stays the
    host's and is shared with the VM, every other page as before, and
    the model's checks of the call passed. *)
Theorem MemShare_success_pages : forall c e tr id pa ipa n perms e' tr',
  mem_ok e -> reclaim_ok e -> cfg_abs c e -> free_slots_clear e -> vms_sane c e ->
  len (Isolation.Engine_vms e) <= 255 ->
  0 <= id < 2 ^ 64 -> 0 <= pa < 2 ^ 64 -> 0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 -> 0 <= perms < 2 ^ 64 ->
  Isolation.Engine_MemShare root id pa ipa n perms e tr = Ok Abi.Success e' tr' ->
  (forall p, ms_pages (abs_ms c e') p =
     if in_range p (pfn c (Z.to_nat pa)) (Z.to_nat n) then mkPage OHost (SharedWith (Z.to_nat id))
     else ms_pages (abs_ms c e) p) /\
  (forall p, Scrub.owner_flow (AHost (HMemShare (Z.to_nat id) (Z.to_nat pa) (Z.to_nat ipa) (Z.to_nat n) (Z.to_nat perms)))
     (pg_owner (ms_pages (abs_ms c e) p)) (pg_owner (ms_pages (abs_ms c e') p))) /\
  (Inv c (abs_ms c e) -> pages_inv c (abs_ms c e')) /\
  lend_checks c (abs_ms c e) (Z.to_nat id) (Z.to_nat pa) (Z.to_nat ipa) (Z.to_nat n) (Z.to_nat perms) = None.
Proof.
  intros c e tr id pa ipa n perms e' tr' Hm Hr Hc Hf Hs Hvms Hid Hpa Hipa Hn Hperms Hrun.
  destruct (MemShare_ledger_abs c e (fun _ => 0%nat) (fun _ _ _ => 0%nat) tr id pa ipa n perms e' tr' Hm Hr Hc Hf Hs Hvms Hid Hpa Hipa Hn Hperms Hrun)
    as (s' & Hstep & Hp).
  set (s := abs_state c e (fun _ => 0%nat) (fun _ _ _ => 0%nat)) in *.
  split; [|split; [|split]].
  - intros p. rewrite <- Hp. unfold mem_share in Hstep; cbv zeta in Hstep.
    destruct (lend_checks c (st_meta s) _ _ _ _ _) as [x|] eqn:L.
    + injection Hstep as <- E. subst x. exfalso. exact (lend_checks_not_success _ _ _ _ _ _ _ L).
    + destruct (vm_protected _); [exfalso; unfold err, ok0 in Hstep; congruence|].
      injection Hstep as <-. reflexivity.
  - intros p. rewrite <- Hp. replace s' with (fst (Spec.step c s (AHost (HMemShare (Z.to_nat id) (Z.to_nat pa) (Z.to_nat ipa)
      (Z.to_nat n) (Z.to_nat perms))))) by (cbn [Spec.step host_call]; rewrite Hstep; reflexivity).
    apply Scrub.inv4_conservation.
  - intros I. apply (pages_inv_ext c (st_meta s')); [exact Hp|]. apply Inv_pages_inv.
    replace s' with (fst (mem_share c s (Z.to_nat id) (Z.to_nat pa) (Z.to_nat ipa) (Z.to_nat n) (Z.to_nat perms)))
      by (rewrite Hstep; reflexivity).
    apply Invariants.mem_share_inv. exact I.
  - unfold mem_share in Hstep; cbv zeta in Hstep.
    destruct (lend_checks c (st_meta s) _ _ _ _ _) as [x|] eqn:L; [|exact L].
    injection Hstep as <- E. subst x. exfalso. exact (lend_checks_not_success _ _ _ _ _ _ _ L).
Qed.

Lemma reclaim_check_not_success : forall m p, reclaim_check m p <> Some SUCCESS.
Proof. intros m p. unfold reclaim_check. destruct (owner_of m p); discriminate. Qed.

(** A MEM_RECLAIM answering SUCCESS: every page of the range is the
    host's, unshared (each was nobody's: the owner moves only from nobody
    to the host), every other page as before. *)
Theorem MemReclaim_success_pages : forall c e tr pa n e' tr',
  reclaim_ok e -> owners_ok e -> cfg_rel c e -> 0 <= pa < 2 ^ 64 -> 0 <= n < 2 ^ 64 ->
  Isolation.Engine_MemReclaim root pa n e tr = Ok Abi.Success e' tr' ->
  (forall p, ms_pages (abs_ms c e') p =
     if in_range p (pfn c (Z.to_nat pa)) (Z.to_nat n) then mkPage OHost NotShared else ms_pages (abs_ms c e) p) /\
  (forall p, Scrub.owner_flow (AHost (HMemReclaim (Z.to_nat pa) (Z.to_nat n)))
     (pg_owner (ms_pages (abs_ms c e) p)) (pg_owner (ms_pages (abs_ms c e') p))) /\
  (Inv c (abs_ms c e) -> pages_inv c (abs_ms c e')).
Proof.
  intros c e tr pa n e' tr' Hr Ho Hc Hpa Hn Hrun.
  destruct (MemReclaim_ledger_refine c e (abs_state c e (fun _ => 0%nat) (fun _ _ _ => 0%nat)) tr pa n e' tr' Hr Ho Hc eq_refl Hpa Hn Hrun)
    as (s' & Hstep & Hp & _).
  set (s := abs_state c e (fun _ => 0%nat) (fun _ _ _ => 0%nat)) in *.
  assert (Hp' : forall p, ms_pages (st_meta s') p = ms_pages (abs_ms c e') p) by exact Hp.
  split; [|split].
  - intros p. rewrite <- Hp'. unfold mem_reclaim in Hstep; cbv zeta in Hstep.
    destruct (negb (pa_ok c _ _)); [exfalso; unfold err, ok0 in Hstep; congruence|].
    destruct (first_range _ _ (reclaim_check (st_meta s))) as [x|] eqn:F.
    + injection Hstep as <- E. subst x. exfalso.
      apply first_range_some in F as (q & _ & Fq). exact (reclaim_check_not_success _ _ Fq).
    + injection Hstep as <-. reflexivity.
  - intros p. rewrite <- Hp'. replace s' with (fst (Spec.step c s (AHost (HMemReclaim (Z.to_nat pa) (Z.to_nat n)))))
      by (cbn [Spec.step host_call]; rewrite Hstep; reflexivity).
    apply Scrub.inv4_conservation.
  - intros I. apply (pages_inv_ext c (st_meta s')); [exact Hp'|]. apply Inv_pages_inv.
    replace s' with (fst (mem_reclaim c s (Z.to_nat pa) (Z.to_nat n))) by (rewrite Hstep; reflexivity).
    apply Invariants.mem_reclaim_inv. exact I.
Qed.

(** ** Protected VMs after VM_CREATEs *)

(** [Protected.protected_owner] of the abstraction: after any sequence of
    VM_CREATEs from an engine whose abstraction satisfies [Inv], a
    protected VM's stage-2 maps only pages that VM owns. *)
Theorem VMCreates_protected_owns : forall c calls e tr,
  create_hyps c e -> Inv c (abs_ms c e) -> Forall (fun nf => Z.of_nat (fst nf) < 2 ^ 64) calls ->
  exists e', vm_creates calls e tr = Some e' /\
    forall v p x, vm_protected (ms_vms (abs_ms c e') v) = true -> vm_s2 (ms_vms (abs_ms c e') v) p = Some x ->
      pg_owner (ms_pages (abs_ms c e') p) = OVM v.
Proof.
  intros c calls e tr H I Hb.
  destruct (VMCreates_Inv c calls e tr H I Hb) as (e' & Hrun & _ & I').
  exists e'. split; [exact Hrun|]. intros v p x. apply (Protected.protected_owner c). exact I'.
Qed.
