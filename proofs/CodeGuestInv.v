(** * GUEST_SHARE, GUEST_UNSHARE and GUEST_RELINQUISH keep [refine_inv]

    Theorems about proofs/code/Isolation.v, the translation of
    isolation/mem.go, that carry the guest calls of CodeGuestRefine.v
    over to the refinement invariant of CodeRefineInv.v. Proved here:
    - a call that changes only the ledger and the pool, keeping every
      live VM's walk ([host_step]), keeps [create_inv]
      ([host_step_create_inv]), and keeps [walk_held] when each page
      is held by the VMs that held it ([walk_held_same_holds]); after
      GUEST_SHARE or GUEST_UNSHARE a page the range reaches was the VM's
      and stays the VM's ([host_guest_holds]);
    - so GUEST_SHARE and GUEST_UNSHARE from a live VM, from [refine_inv],
      for any IPA and count below 2^64, never fail, keep [refine_inv],
      change nothing when they answer anything but SUCCESS, on SUCCESS
      refine the model's step whole, and keep [Inv]
      ([GuestShare_refine_inv], [GuestUnshare_refine_inv]);
    - GUEST_RELINQUISH likewise ([GuestRelinquish_refine_inv]): the VM's
      walk only loses pages (CodeUnshareInv.s2_sane_shrink), the pages it
      gives up are held by no VM after (CodeUnshareInv.walk_held_unmap),
      and the ledger entries it writes are [entry_ok];
    - so any interleaving of these calls with the hypervisor calls of
      CodeRefineInv.v, each made when its condition holds, keeps
      [refine_inv] and [Inv], and no call of it fails ([gcall_keeps],
      [reaches_Inv], [reaches_protected_owns]). *)
From Coq Require Import ZArith Lia List Bool.
From Bulkhead.Spec Require Import State Spec.
From Bulkhead.Proofs Require Import Invariants.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Protected.
From Bulkhead.Proofs Require Import CodeTransfer CodeAbsLedger CodeAbs CodeVMCreateRefine CodeVMCreateInv CodeOwns
  CodeEngineInv CodeMemCall CodeWalkCalls CodeWalkHeld CodeUnshareInv CodeRuns CodeGuestNoFailure CodeGuestRefine
  CodeRefineInv CodeStage2 CodeLedger CodeUpdateRootRange.
Import ListNotations.
Open Scope Z_scope.

(** What a guest call [call], against the model's step [step], does from
    [refine_inv]: from a live VM, for an IPA and a count below 2^64, it
    never fails, keeps the VM slots, the platform and [refine_inv], changes nothing unless it answers
    SUCCESS, on SUCCESS refines [step] whole, and keeps [Inv]. *)
Definition guest_refine_inv (call : Z -> Z -> Z -> M Isolation.Engine Abi.Status)
    (step : config -> state -> nat -> nat -> nat -> state * output) : Prop :=
  forall c e tr id ipa n m mem regs, refine_inv c e ->
  1 <= id < 2 ^ 16 -> nth_error (Isolation.Engine_vms e) (Z.to_nat (id - 1)) = Some m -> Isolation.vm_live m = true ->
  0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 ->
  exists st e' tr', call id ipa n e tr = Ok st e' tr' /\
    (Isolation.Engine_vms e' = Isolation.Engine_vms e /\ Isolation.Engine_plat e' = Isolation.Engine_plat e) /\
    refine_inv c e' /\
    (st <> Abi.Success -> e' = e) /\
    (st = Abi.Success -> exists s', step c (abs_state c e mem regs) (Z.to_nat id) (Z.to_nat ipa) (Z.to_nat n) =
       (s', ok0) /\ ms_eq (st_meta s') (abs_ms c e')) /\
    (Inv c (abs_ms c e) -> Inv c (abs_ms c e')).

(** A call that changes nothing unless it answers SUCCESS, and on SUCCESS
    keeps the configuration and every part of [refine_inv] that is not
    read off them, keeps [refine_inv]. *)
Lemma refine_inv_success : forall c e e' st (P : Prop), refine_inv c e -> (st <> Abi.Success -> e' = e) ->
  (st = Abi.Success ->
     (Isolation.Engine_cfg e' = Isolation.Engine_cfg e /\ owners_ok e') /\ create_inv c e' /\ walk_inv e' /\
     walk_held c e' /\ P /\ (Inv c (abs_ms c e) -> Inv c (abs_ms c e'))) ->
  refine_inv c e' /\ (st <> Abi.Success -> e' = e) /\ (st = Abi.Success -> P) /\
  (Inv c (abs_ms c e) -> Inv c (abs_ms c e')).
Proof.
  intros c e e' st P R Herr Hok.
  destruct (Z.eq_dec st Abi.Success) as [Es|Ne].
  - destruct (Hok Es) as (Hcfg & Hc' & Hwi' & Hh' & HP & HI).
    apply (refine_inv_outcome c e e' st P R Hcfg Hc' Hwi' Hh' Herr); intros _; assumption.
  - rewrite (Herr Ne). split; [exact R|]. split; [intros _; reflexivity|]. split; [intros E; contradiction|].
    exact (fun I => I).
Qed.

(** ** A change of the ledger and the pool alone *)

(** A [host_step] that keeps [walk_inv] keeps [create_inv]: the slots,
    the configuration and every live VM's walk are as they were. *)
Lemma host_step_create_inv : forall c e e', create_inv c e -> walk_inv e -> host_step e e' -> walk_inv e' ->
  create_inv c e'.
Proof.
  intros c e e' Hc Hwi Hst Hwi'. pose proof Hst as ((q & ps & Ee & _) & _).
  apply (create_inv_same_walks c e e' Hc (proj1 Hwi')); [rewrite Ee; reflexivity..|].
  exact (host_step_walks e e' (proj1 (proj1 Hwi)) Hst).
Qed.

(** A call that keeps the slots and every live VM's walk, and leaves each
    page held by the VMs that held it, keeps [walk_held]. *)
Lemma walk_held_same_holds : forall c e e', walk_held c e ->
  Isolation.Engine_vms e' = Isolation.Engine_vms e ->
  (forall mv k, In mv (Isolation.Engine_vms e) -> Isolation.vm_live mv = true ->
     walk e' (Isolation.vm_s2 mv) k = walk e (Isolation.vm_s2 mv) k) ->
  (forall p v, holds_for v (abs_pages c e' p) = holds_for v (abs_pages c e p)) ->
  walk_held c e'.
Proof.
  intros c e e' H Ev Hw Hh j v k pa w Hj Hlv Hk Hwk. rewrite Ev in Hj.
  rewrite (Hw v k (nth_error_In _ _ Hj) Hlv) in Hwk. rewrite Hh. exact (H j v k pa w Hj Hlv Hk Hwk).
Qed.

(** After GUEST_SHARE or GUEST_UNSHARE, as the model has it
    ([host_guest_ms]), each page is held by the VMs that held it: a page
    the range maps passed the check for [P], so it was the VM's, and it
    stays the VM's. *)
Lemma host_guest_holds : forall c e e' s2 v i0 n (P : nat -> page -> bool) sh hs,
  (forall v pg, P v pg = true -> pg_owner pg = OVM v) ->
  ipa_range_ok c s2 i0 n (fun p => P v (ms_pages (abs_ms c e) p)) = true ->
  ms_eq (host_guest_ms c (abs_ms c e) s2 v i0 n sh hs) (abs_ms c e') ->
  forall p w, holds_for w (abs_pages c e' p) = holds_for w (abs_pages c e p).
Proof.
  intros c e e' s2 v i0 n P sh hs HP Hir (Hpg & _) p w.
  specialize (Hpg p). cbn [host_guest_ms ms_pages abs_ms] in Hpg. rewrite <- Hpg.
  destruct (mapped_in c s2 i0 n p) eqn:M; [|reflexivity].
  pose proof (HP _ _ (range_ok_mapped c _ _ _ _ p Hir M)) as Ho. cbn [ms_pages abs_ms] in Ho.
  unfold holds_for. rewrite Ho. reflexivity.
Qed.

(** ** GUEST_SHARE and GUEST_UNSHARE *)

(** A call taken apart as [host_effect] with [host_done], against a
    model step of that shape that keeps [Inv], keeps [refine_inv]. *)
Lemma effect_refine_inv : forall call P sh hs (step : config -> state -> nat -> nat -> nat -> state * output),
  (forall v pg, P v pg = true -> pg_owner pg = OVM v) ->
  (forall c s v ipa n, step c s v ipa n = host_guest_step c s v ipa n P sh hs) ->
  (forall c s v ipa n, Inv c (st_meta s) -> Inv c (st_meta (fst (step c s v ipa n)))) ->
  host_effect call P (host_done sh hs) -> guest_refine_inv call step.
Proof.
  intros call P sh hs step HP Hstep Hinv Heff c e tr id ipa n m mem regs R Hid Hnth Hlive Hipa Hn.
  pose proof R as (Hc & Hwi & H & Hrok & Ho & _).
  destruct (Heff c e tr id ipa n m Hc Hwi Hrok Hid Hnth Hlive Hipa Hn) as (st & e' & tr' & Hcall & Herr & Hsucc).
  exists st, e', tr'. split; [exact Hcall|].
  split.
  { destruct (Z.eq_dec st Abi.Success) as [Es|Ne]; [|rewrite (Herr Ne); split; reflexivity].
    subst st. destruct (Hsucc eq_refl) as (_ & _ & _ & _ & _ & ((q & ps & Ee & _) & _) & _). rewrite Ee. split; reflexivity. }
  apply (refine_inv_success c e e' st _ R Herr). intros Es. subst st.
  destruct (Hsucc eq_refl) as (_ & Hir & Hial & H40 & Hin & Hst & Hwb & Hpg & Hhs & Hown & _).
  pose proof Hst as ((q & ps & Ee & _) & _).
  pose proof (host_step_keeps_walk_inv e e' Hwi Hst Hwb) as Hwi'.
  pose proof (host_guest_abs c e e' id ipa n m P sh hs HP Hc (proj1 (proj1 Hwi)) ltac:(lia) Hnth Hlive ltac:(lia)
    ltac:(lia) Hial H40 Hin Hir Hst Hpg Hhs) as Hms.
  pose proof (host_refines call P sh hs step HP Hstep Heff) as Hr.
  split; [split; [rewrite Ee; reflexivity|exact (Hown Ho)]|].
  split; [exact (host_step_create_inv c e e' Hc Hwi Hst Hwi')|]. split; [exact Hwi'|].
  split.
  { apply (walk_held_same_holds c e e' H); [rewrite Ee; reflexivity|exact (host_step_walks e e' (proj1 (proj1 Hwi)) Hst)|].
    exact (host_guest_holds c e e' _ _ _ _ P sh hs HP Hir Hms). }
  split; [exact (Hr c e tr id ipa n m e' tr' mem regs Hc Hwi Hrok Hid Hnth Hlive Hipa Hn Hcall)|].
  exact (refines_keeps_Inv call step Hinv Hr c e tr id ipa n m e' tr' Hc Hwi Hrok Hid Hnth Hlive Hipa Hn Hcall).
Qed.

(** GUEST_SHARE from [refine_inv]: it never fails, keeps [refine_inv],
    changes nothing unless it answers SUCCESS, on SUCCESS refines
    [Spec.guest_share] whole, and keeps [Inv]. *)
Theorem GuestShare_refine_inv : guest_refine_inv (Isolation.Engine_GuestShare root) guest_share.
Proof.
  exact (effect_refine_inv _ _ _ _ guest_share vm_unshared_owner (fun _ _ _ _ _ => eq_refl) Invariants.guest_share_inv
    GuestShare_effect).
Qed.

(** GUEST_UNSHARE likewise, refining [Spec.guest_unshare]. *)
Theorem GuestUnshare_refine_inv : guest_refine_inv (Isolation.Engine_GuestUnshare root) guest_unshare.
Proof.
  exact (effect_refine_inv _ _ _ _ guest_unshare vm_shared_host_owner (fun _ _ _ _ _ => eq_refl)
    Invariants.guest_unshare_inv GuestUnshare_effect).
Qed.

(** ** GUEST_RELINQUISH *)

Lemma gone_page_ok : entry_ok gone_page.
Proof. unfold entry_ok, gone_page, Abi.OwnerNone, Isolation.HostVMID. cbn. lia. Qed.

(** GUEST_RELINQUISH from [refine_inv] likewise, refining
    [Spec.guest_relinquish]. *)
Theorem GuestRelinquish_refine_inv : guest_refine_inv (Isolation.Engine_GuestRelinquish root) guest_relinquish.
Proof.
  intros c e tr id ipa n m mem regs R Hid Hnth Hlive Hipa Hn.
  pose proof R as (Hc & Hwi & H & Hrok & Ho & _).
  pose proof Hwi as (((Hm & Hown & _) & _) & (_ & Hvb)). pose proof Hown as (_ & Hpl & _).
  pose proof Hc as (_ & _ & Hcfg & _ & _ & _ & Hsane). pose proof Hcfg as (_ & _ & Hipl).
  change Isolation.ipaLimit with (2 ^ 40) in Hipl.
  destruct (GuestRelinquish_no_failure e tr id ipa n m Hm Hpl (s2_owned_roots e Hown) (Hvb _ m Hnth Hlive) (proj2 Hrok)
    Hid Hnth Hlive Hipa Hn) as (st & e' & tr' & Hcall & Herr & Hsucc & _).
  exists st, e', tr'. split; [exact Hcall|].
  split.
  { destruct (Z.eq_dec st Abi.Success) as [Es|Ne]; [|rewrite (Herr Ne); split; reflexivity].
    subst st. destruct (Hsucc eq_refl) as (((qq & ps & Ee & _) & _) & _). rewrite Ee. split; reflexivity. }
  apply (refine_inv_success c e e' st _ R Herr). intros Es. subst st.
  destruct (Hsucc eq_refl) as (Hst & (Hw & Hlg) & Hbs & _ & Hin & _).
  pose proof Hbs as (_ & Hial & _ & _ & H40). unfold Isolation.ipaLimit in H40.
  pose proof Hst as ((qq & ps & Ee & Hps) & Hr' & HB & HL & Htf & _).
  pose proof (root_inv_l1 e' _ Hr') as ((Ht' & _) & _).
  destruct (one_vm_walks_apart e (Isolation.Engine_pages e) e' _ m Hown Hnth Hlive Ht' HB HL Htf) as (_ & Hother).
  pose proof (vm_step_keeps_walk_inv e e' _ m Hwi Hnth Hlive Hst) as Hwi'.
  assert (Ev : Isolation.Engine_vms e' = Isolation.Engine_vms e) by (rewrite Ee; reflexivity).
  assert (Ecfg : Isolation.Engine_cfg e' = Isolation.Engine_cfg e) by (rewrite Ee; reflexivity).
  split; [split; [exact Ecfg|]|].
  { assert (Eps : Isolation.Engine_pages e' = ps) by (rewrite Ee; reflexivity).
    unfold owners_ok. rewrite Eps. apply (owners_ok_nth e ps Hps Ho). intros j Hj.
    rewrite <- Eps, Hlg. unfold run_ledger. destruct (existsb _ _); [exact gone_page_ok|exact Hj]. }
  split.
  { apply (create_inv_one_vm c e e' _ m Hc (proj1 Hwi') Ev Ecfg Hnth); [|exact Hother].
    unfold vms_sane in Hsane. rewrite Forall_forall in Hsane.
    apply (s2_sane_shrink c e e' _); [|exact (Hsane m (nth_error_In _ _ Hnth) Hlive)].
    intros k pa w Hk E. rewrite (Hw k ltac:(lia)) in E. destruct (_ && _); [discriminate E|exact E]. }
  split; [exact Hwi'|]. split.
  { pose proof Hm as (_ & _ & _ & _ & Hte & Hall). rewrite Forall_forall in Hall.
    pose proof (in_ram_range_walk_pa e _ ipa n Hte (Hall m (nth_error_In _ _ Hnth)) (proj1 Hrok) ltac:(lia) Hial Hin)
      as Hram.
    apply (walk_held_unmap c e e' _ m ipa n (abs_page gone_page) Hc H Ev Hnth Hlive ltac:(lia) Hial ltac:(lia)
      (in_ram_range_walk e _ ipa n ltac:(lia) Hial Hin) Hw Hother).
    exact (run_abs_pages c e e' _ ipa (Z.to_nat n) gone_page (proj1 Hcfg) Hram Hlg). }
  split; [exact (GuestRelinquish_refines c e tr id ipa n m e' tr' mem regs Hc Hwi Hrok Hid Hnth Hlive Hipa Hn Hcall)|].
  exact (GuestRelinquish_keeps_Inv c e tr id ipa n m e' tr' Hc Hwi Hrok Hid Hnth Hlive Hipa Hn Hcall).
Qed.

(** ** Any sequence of hypervisor and guest calls *)

(** A hypervisor call (CodeRefineInv.mcall), or a guest call of VM [id]:
    GUEST_SHARE, GUEST_UNSHARE or GUEST_RELINQUISH, as a vCPU of the VM
    makes it, with its arguments as the vCPU's registers give them. *)
Inductive gcall : Type :=
| GHost (x : mcall)
| GShare (id ipa n : Z)
| GUnshare (id ipa n : Z)
| GRelinquish (id ipa n : Z).

(** Every argument fits its 64-bit register. *)
Definition gcall_ok (x : gcall) : Prop :=
  match x with
  | GHost x => mcall_ok x
  | GShare _ ipa n | GUnshare _ ipa n | GRelinquish _ ipa n => u64 ipa /\ u64 n
  end.

(** Slot [id - 1] holds a live VM. *)
Definition live_slot (e : Isolation.Engine) (id : Z) : Prop :=
  1 <= id < 2 ^ 16 /\
  exists m, nth_error (Isolation.Engine_vms e) (Z.to_nat (id - 1)) = Some m /\ Isolation.vm_live m = true.

(** What a call needs of the engine: a guest call comes from a vCPU of a
    live VM, which only VCPU_RUN of a live VM runs; a hypervisor call
    needs its [mcall_pre]. *)
Definition gcall_pre (x : gcall) (e : Isolation.Engine) : Prop :=
  match x with
  | GHost x => mcall_pre x e
  | GShare id _ _ | GUnshare id _ _ | GRelinquish id _ _ => live_slot e id
  end.

Definition run_gcall (x : gcall) (e : Isolation.Engine) (tr : list event) : option (Isolation.Engine * list event) :=
  match x with
  | GHost x => run_mcall x e tr
  | GShare id ipa n => after (Isolation.Engine_GuestShare root id ipa n e tr)
  | GUnshare id ipa n => after (Isolation.Engine_GuestUnshare root id ipa n e tr)
  | GRelinquish id ipa n => after (Isolation.Engine_GuestRelinquish root id ipa n e tr)
  end.

(** One call from [refine_inv] and [Inv], with 64-bit arguments and its
    condition, never fails and keeps both. *)
Theorem gcall_keeps : forall c x e tr, refine_inv c e -> Inv c (abs_ms c e) -> gcall_ok x -> gcall_pre x e ->
  exists e' tr', run_gcall x e tr = Some (e', tr') /\ refine_inv c e' /\ Inv c (abs_ms c e').
Proof.
  intros c x e tr R I Hx Hpre. set (mem := fun _ : nat => 0%nat). set (regs := fun _ _ _ : nat => 0%nat).
  destruct x as [x|id ipa n|id ipa n|id ipa n]; cbn [gcall_ok gcall_pre run_gcall] in *.
  - destruct (mcall_keeps c x e tr R I Hx Hpre) as (e' & tr' & Hrun & R' & I' & _). exists e', tr'. auto.
  - destruct Hx as (Hipa & Hn). destruct Hpre as (Hid & m & Hnth & Hlive).
    destruct (GuestShare_refine_inv c e tr id ipa n m mem regs R Hid Hnth Hlive Hipa Hn)
      as (st & e' & tr' & Hcall & _ & R' & _ & _ & HI).
    exists e', tr'. rewrite Hcall. split; [reflexivity|]. exact (conj R' (HI I)).
  - destruct Hx as (Hipa & Hn). destruct Hpre as (Hid & m & Hnth & Hlive).
    destruct (GuestUnshare_refine_inv c e tr id ipa n m mem regs R Hid Hnth Hlive Hipa Hn)
      as (st & e' & tr' & Hcall & _ & R' & _ & _ & HI).
    exists e', tr'. rewrite Hcall. split; [reflexivity|]. exact (conj R' (HI I)).
  - destruct Hx as (Hipa & Hn). destruct Hpre as (Hid & m & Hnth & Hlive).
    destruct (GuestRelinquish_refine_inv c e tr id ipa n m mem regs R Hid Hnth Hlive Hipa Hn)
      as (st & e' & tr' & Hcall & _ & R' & _ & _ & HI).
    exists e', tr'. rewrite Hcall. split; [reflexivity|]. exact (conj R' (HI I)).
Qed.

(** The engines reached from an engine by calls in any order, each with
    64-bit arguments and made when its condition holds. *)
Inductive reaches : Isolation.Engine -> Isolation.Engine -> Prop :=
| reaches_here : forall e, reaches e e
| reaches_step : forall x e tr e1 tr1 e', gcall_ok x -> gcall_pre x e -> run_gcall x e tr = Some (e1, tr1) ->
    reaches e1 e' -> reaches e e'.

(** Every engine reached from one satisfying [refine_inv] whose
    abstraction satisfies [Inv] satisfies both, and no call from it
    fails: [Inv] is an invariant of the Go engine's hypervisor and guest
    calls together. *)
Theorem reaches_Inv : forall c e e', refine_inv c e -> Inv c (abs_ms c e) -> reaches e e' ->
  refine_inv c e' /\ Inv c (abs_ms c e') /\
  forall x tr, gcall_ok x -> gcall_pre x e' -> exists e'' tr', run_gcall x e' tr = Some (e'', tr').
Proof.
  intros c e e' R I H. induction H as [e|x e tr e1 tr1 e' Hx Hpre Hrun _ IH].
  - split; [exact R|]. split; [exact I|]. intros x tr Hx Hpre.
    destruct (gcall_keeps c x e tr R I Hx Hpre) as (e' & tr' & Hrun & _). eauto.
  - destruct (gcall_keeps c x e tr R I Hx Hpre) as (e1' & tr1' & Hrun' & R1 & I1).
    rewrite Hrun in Hrun'. injection Hrun' as <- <-. exact (IH R1 I1).
Qed.

(** So [Protected.protected_owner] holds of every engine reached: a
    protected VM's stage-2, as the abstraction reads it from the VM's
    walk, maps only pages the ledger gives that VM. *)
Corollary reaches_protected_owns : forall c e e', refine_inv c e -> Inv c (abs_ms c e) -> reaches e e' ->
  forall v p x, vm_protected (ms_vms (abs_ms c e') v) = true -> vm_s2 (ms_vms (abs_ms c e') v) p = Some x ->
    pg_owner (ms_pages (abs_ms c e') p) = OVM v.
Proof.
  intros c e e' R I H v p x. apply (Protected.protected_owner c). exact (proj1 (proj2 (reaches_Inv c e e' R I H))).
Qed.
