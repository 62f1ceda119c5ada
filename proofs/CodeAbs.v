(** * The abstraction function: the engine's state as the model sees it

    A function from the translated engine's state (proofs/code/Isolation.v)
    to the model's metadata ([mstate] of specs/State.v), as
    isolation/snapshot.go computes it in Go for the refinement test:
    - the ledger ([CodeAbsLedger.abs_pages]);
    - the host stage-2 ([abs_hs2]): the RAM pages its walk maps to
      themselves;
    - each VM slot ([abs_vm]): a free slot is the model's [vm_free]; a live
      one has its vCPU count, its flags, each vCPU's state, pending reply
      and interrupt lines, its MMIO shadow marks and log, and its stage-2
      ([abs_s2]), read through [Engine.translate], the walk of the
      descriptors the code itself uses. The model indexes a stage-2 by PFN
      (a page is mapped at most at one IPA page of a VM): [abs_s2] gives,
      for a PFN, the lowest IPA page whose walk reaches it.

    The walk runs the translated [translate] on the stage-2 record alone
    ([ro]: a place that only reads) and the empty trace. [translate_ro]
    and [translate_obliv] show this loses nothing: the walk's answer is
    the same through any place that holds the record, and from any trace.

    Proved with it ([vms_rel_abs], [s2_rel_abs]): the two relations that
    CodeTransferRefine's theorems about MEM_DONATE's and MEM_SHARE's checks
    take as hypotheses hold of the abstraction. [vms_rel] holds of every
    engine whose VM slots fit the model's; [s2_rel] needs what the
    engine keeps of every live VM's stage-2 ([s2_sane]): the walk maps
    IPA pages to RAM pages only, and no two IPA pages to the same page.
    [MemDonate_checks_abs] and [MemShare_checks_abs] state the checks'
    refinement against the abstraction itself, and [MemDonate_ledger_abs]
    and [MemShare_ledger_abs] CodeLedgerRefine's theorems (the ledger after
    a call that answers SUCCESS is the model's). That every call keeps
    [s2_sane] is not proved here. *)
From Coq Require Import ZArith Lia List Bool Arith.
From Bulkhead.Spec Require Import State Spec.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodePlace CodeLedger CodeAbsLedger CodeStage2 CodeTransfer CodeMemCall
  CodeTransferRefine CodeAbi CodeLedgerRefine Lemmas.
Import ListNotations.
Open Scope Z_scope.

(** ** Computations that never read the trace *)

(** [m] neither reads the trace nor takes events from it: run from any
    trace, it adds to it what it adds to the empty one. *)
Definition obliv {S A} (m : M S A) : Prop :=
  forall s t, m s t = match m s [] with Ok a s' t' => Ok a s' (t' ++ t) | Fail f => Fail f end.

Create HintDb obliv.

Lemma obliv_ret : forall {S A} (a : A), obliv (S:=S) (ret a).
Proof. intros S A a s t. reflexivity. Qed.

Lemma obliv_fail : forall {S A} f, obliv (S:=S) (A:=A) (fail f).
Proof. intros S A f s t. reflexivity. Qed.

Lemma obliv_emit : forall {S} m args, obliv (S:=S) (emit m args).
Proof. intros S m args s t. reflexivity. Qed.

Lemma obliv_deref : forall {S A} (p : ptr S A), obliv (deref p).
Proof. intros S A [|ld st] s t; cbn; [reflexivity|]. destruct (ld s); reflexivity. Qed.

Lemma obliv_store : forall {S A} (p : ptr S A) a, obliv (store p a).
Proof. intros S A [|ld st] a s t; cbn; [reflexivity|]. destruct (st a s); reflexivity. Qed.

Lemma obliv_bind : forall {S A B} (m : M S A) (f : A -> M S B),
  obliv m -> (forall a, obliv (f a)) -> obliv (bind m f).
Proof.
  intros S A B m f Hm Hf s t. unfold bind. rewrite (Hm s t).
  destruct (m s []) as [a s1 t1|]; [|reflexivity].
  rewrite (Hf a s1 (t1 ++ t)), (Hf a s1 t1).
  destruct (f a s1 []) as [b s2 t2|]; [|reflexivity]. rewrite app_assoc. reflexivity.
Qed.

(** [obl] proves [obliv] as CodeTrace's [grow] proves [grows]. *)
Ltac head_of t := match t with ?f _ => head_of f | _ => t end.
Ltac obl_ext := fail.
Ltac obl := repeat (cbv beta zeta; first [obl_ext | match goal with
  | |- obliv (bind _ _) => apply obliv_bind; [|intros ?]
  | |- obliv (ret _) => apply obliv_ret
  | |- obliv (fail _) => apply obliv_fail
  | |- obliv (emit _ _) => apply obliv_emit
  | |- obliv (deref _) => apply obliv_deref
  | |- obliv (store _ _) => apply obliv_store
  | |- obliv (if ?b then _ else _) => destruct b
  | |- obliv (let (_, _) := ?p in _) => destruct p
  | |- obliv (match ?x with Fall _ => _ | Jump _ => _ end) => destruct x
  | |- obliv (match ?x with Continue _ => _ | Break _ => _ | Leave _ => _ end) => destruct x
  | |- obliv (match ?x with Some _ => _ | None => _ end) => destruct x
  | |- obliv (match ?x with inl _ => _ | inr _ => _ end) => destruct x
  | |- obliv (match ?x with Nil => _ | Place _ _ => _ end) => destruct x
  | |- obliv (match ?x with end) => destruct x
  | |- obliv _ => solve [auto with obliv]
  | |- obliv ?m => let f := head_of m in progress unfold f
  end]).

Lemma obliv_pfield : forall {S A B} (p : ptr S A) (get : A -> B) set, obliv (pfield p get set).
Proof. intros. unfold pfield. obl. Qed.
Lemma obliv_pindex : forall {S A} (p : ptr S (list A)) i, obliv (pindex p i).
Proof. intros. unfold pindex. obl. Qed.
#[export] Hint Resolve obliv_ret obliv_fail obliv_emit obliv_deref obliv_store obliv_pfield obliv_pindex : obliv.

Lemma obliv_rep : forall {S L R} p (f : L -> M S (L + R)), (forall l, obliv (f l)) -> forall l, obliv (rep p f l).
Proof. intros S L R p f Hf. induction p as [p IH|p IH|]; intros l; cbn [rep]; obl. Qed.

Lemma obliv_loop : forall {S L X} fuel (cond : L -> M S bool) (body : L -> M S (step L X)) post l,
  (forall l, obliv (cond l)) -> (forall l, obliv (body l)) -> (forall l, obliv (post l)) ->
  obliv (loop fuel cond body post l).
Proof.
  intros S L X fuel cond body post l Hc Hb Hp. unfold loop. apply obliv_bind.
  - apply obliv_rep. intros l'. obl.
  - intros a. obl.
Qed.

Ltac obl_ext ::= match goal with |- obliv (loop _ _ _ _ _) => apply obliv_loop; intros ? end.

Lemma obliv_translate : forall {S} e s ipa, obliv (@Isolation.Engine_translate S e s ipa).
Proof. intros. unfold Isolation.Engine_translate. obl. Qed.

(** ** The walk of a stage-2 record *)

(** A place that holds [a] and cannot be written. *)
Definition ro {A} (a : A) : ptr Isolation.Engine A := Place (fun _ => Some a) (fun _ _ => None).

(** [translate] reads its stage-2 record and nothing else through the
    place it is given. *)
Lemma translate_ro : forall q e tr s2 ipa, good q e s2 ->
  Isolation.Engine_translate root q ipa e tr = Isolation.Engine_translate root (ro s2) ipa e tr.
Proof.
  intros q e tr s2 ipa Hg. unfold Isolation.Engine_translate.
  unfold bind at 1. symmetry. unfold bind at 1. symmetry.
  rewrite (deref_good _ _ _ _ Hg). cbn [deref ro]. cbv beta iota.
  destruct (_ || _); [reflexivity|].
  unfold bind at 1. symmetry. unfold bind at 1. symmetry.
  rewrite (deref_good _ _ _ _ Hg). cbn [deref ro]. cbv beta iota. reflexivity.
Qed.

(** The walk's answer at IPA page [k]: the PA and permissions it maps
    there, if any. *)
Definition walk (e : Isolation.Engine) (s2 : Isolation.stage2) (k : nat) : option (Z * Z) :=
  match Isolation.Engine_translate root (ro s2) (Z.of_nat k * 4096) e [] with
  | Ok (m, true) _ _ => Some (Isolation.Mapping_PA m, Isolation.Attr_Perms (Isolation.Mapping_Attr m))
  | _ => None
  end.

(** What the code's own walk of a stage-2 at IPA page [k] returns, through
    any place holding the record and from any trace, is [walk]'s. *)
Lemma walk_translate : forall q e tr s2 k r, good q e s2 ->
  Isolation.Engine_translate root q (Z.of_nat k * 4096) e tr = Ok r e tr ->
  walk e s2 k = if snd r then Some (Isolation.Mapping_PA (fst r), Isolation.Attr_Perms (Isolation.Mapping_Attr (fst r))) else None.
Proof.
  intros q e tr s2 k r Hg H. rewrite (translate_ro q e tr s2 _ Hg), obliv_translate in H.
  unfold walk. destruct (Isolation.Engine_translate root (ro s2) (Z.of_nat k * 4096) e []) as [[m b] s' t'|]; [|discriminate H].
  injection H as <- _ _. destruct b; reflexivity.
Qed.

(** ** The abstraction *)

(** The page frame of a physical address. *)
Definition pfnZ (pa : Z) : nat := Z.to_nat (pa / 4096).

(** The model's stage-2 of a VM whose stage-2 record is [s2]: for PFN [p],
    the lowest IPA page whose walk reaches [p], with its permissions. *)
Definition abs_s2_at (e : Isolation.Engine) (s2 : Isolation.stage2) (p k : nat) : option (nat * nat) :=
  match walk e s2 k with
  | Some (pa, perms) => if Nat.eqb (pfnZ pa) p then Some (k, Z.to_nat perms) else None
  | None => None
  end.

Definition abs_s2 (c : config) (e : Isolation.Engine) (s2 : Isolation.stage2) : nat -> option (nat * nat) :=
  fun p => first_range 0 (ipa_pages c) (abs_s2_at e s2 p).

(** The host stage-2: the RAM pages its walk maps to themselves. *)
Definition abs_hs2 (c : config) (e : Isolation.Engine) (p : nat) : bool :=
  in_ram c p && match walk e (Isolation.Engine_host e) p with Some (pa, _) => Nat.eqb (pfnZ pa) p | None => false end.

(** A vCPU (isolation/snapshot.go, snapshotVCPU): On with a fresh context
    is the model's Ready, at its PC with its x0. *)
Definition abs_vstate (vc : Isolation.vcpu) : vstate :=
  let x := Isolation.vcpu_ctx vc in
  if Isolation.vcpu_state vc =? Isolation.VCPUOff then VOff
  else if Isolation.vcpu_state vc =? Isolation.VCPURunning then VRunning
  else if Isolation.Context_Fresh x then VReady (Z.to_nat (Isolation.Context_PC x)) (Z.to_nat (nth 0 (Isolation.Context_X x) 0))
  else VOn.

Definition abs_pend (vc : Isolation.vcpu) : pending :=
  if Isolation.vcpu_pend vc =? Isolation.pendMMIORead then PMMIORead (Z.to_nat (Isolation.MMIORead_Reg (Isolation.vcpu_read vc)))
  else if Isolation.vcpu_pend vc =? Isolation.pendCall then PCall
  else PNone.

(** Interrupt line [i]: bit [i mod 64] of word [i / 64] of the context's
    line levels. *)
Definition abs_irq (vc : Isolation.vcpu) (i : nat) : bool :=
  Z.testbit (nth (i / 64) (Isolation.Context_IRQ (Isolation.vcpu_ctx vc)) 0) (Z.of_nat (i mod 64)).

Definition abs_vcpu (vc : Isolation.vcpu) : vcpu := mkVCPU (abs_vstate vc) (abs_pend vc) (abs_irq vc).

(** The MMIO shadow marks that are not off, in IPA order as the model
    keeps them ([Spec.insert_mark]), and the log, oldest byte first. *)
Definition abs_marks (sh : Isolation.shadowState) : list mark :=
  fold_right insert_mark []
    (map (fun r => mkMark (Z.to_nat (Isolation.shadowReg_ipa r)) (Z.to_nat (Isolation.shadowReg_mode r))
                          (Z.to_nat (Isolation.shadowReg_value r)))
         (filter (fun r => negb (Isolation.shadowReg_mode r =? Abi.ShadowOff)) (Isolation.shadowState_regs sh))).

Definition abs_log (sh : Isolation.shadowState) : list nat :=
  map (fun i => Z.to_nat (nth (Z.to_nat ((Isolation.shadowState_head sh + Z.of_nat i) mod len (Isolation.shadowState_log sh)))
                              (Isolation.shadowState_log sh) 0))
      (seq 0 (Z.to_nat (Isolation.shadowState_count sh))).

(** A VM slot: a free one is the model's [vm_free]. *)
Definition abs_vm (c : config) (e : Isolation.Engine) (v : Isolation.vm) : vm :=
  if Isolation.vm_live v then
    mkVM true (Z.to_nat (Isolation.vm_nvcpu v)) (Isolation.vm_hasRun v) (Isolation.vm_protected v)
      (fun j => if (j <? Z.to_nat (Isolation.vm_nvcpu v))%nat then abs_vcpu (nth j (Isolation.vm_vcpus v) Isolation.zero_vcpu)
                else vcpu_off)
      (abs_s2 c e (Isolation.vm_s2 v)) (abs_marks (Isolation.vm_shadow v)) (abs_log (Isolation.vm_shadow v))
  else vm_free.

(** The model's metadata of the engine: VM [v] is slot [v - 1]. *)
Definition abs_ms (c : config) (e : Isolation.Engine) : mstate :=
  mkMState (abs_pages c e) (abs_hs2 c e)
    (fun v => if (1 <=? v)%nat && (v <=? length (Isolation.Engine_vms e))%nat
              then abs_vm c e (nth (v - 1) (Isolation.Engine_vms e) Isolation.zero_vm) else vm_free).

(** ** The relations the checks' refinement assumes *)

(** The model is configured for the engine: its RAM ([cfg_rel]), as many
    VM slots, the same IPA space. *)
Definition cfg_abs (c : config) (e : Isolation.Engine) : Prop :=
  cfg_rel c e /\ Z.of_nat (max_vms c) = len (Isolation.Engine_vms e) /\
  Z.of_nat (ipa_pages c) * 4096 = Isolation.ipaLimit.

(** A free slot is not protected (VM_DESTROY clears the flag). *)
Definition free_slots_clear (e : Isolation.Engine) : Prop :=
  Forall (fun v => Isolation.vm_live v = false -> Isolation.vm_protected v = false) (Isolation.Engine_vms e).

Lemma abs_slot : forall c e i mv, nth_error (Isolation.Engine_vms e) i = Some mv ->
  ms_vms (abs_ms c e) (S i) = abs_vm c e mv.
Proof.
  intros c e i mv Hn. cbn [ms_vms abs_ms].
  assert (Hi : (i < length (Isolation.Engine_vms e))%nat) by (apply nth_error_Some; congruence).
  replace ((1 <=? S i)%nat && (S i <=? length (Isolation.Engine_vms e))%nat) with true
    by (symmetry; apply andb_true_iff; split; apply Nat.leb_le; lia).
  replace (S i - 1)%nat with i by lia. rewrite (nth_error_nth _ _ _ Hn). reflexivity.
Qed.

Theorem vms_rel_abs : forall c e, cfg_abs c e -> free_slots_clear e -> vms_rel c e (abs_ms c e).
Proof.
  intros c e (_ & Hmax & Hipa) Hfree. split; [exact Hmax|]. split; [exact Hipa|].
  intros i mv Hn. rewrite (abs_slot c e i mv Hn). unfold abs_vm.
  destruct (Isolation.vm_live mv) eqn:Hl; [split; reflexivity|].
  unfold free_slots_clear in Hfree. rewrite Forall_forall in Hfree. rewrite (Hfree mv (nth_error_In _ _ Hn) Hl). split; reflexivity.
Qed.

(** What the engine keeps of a live VM's stage-2: the walk maps IPA
    pages only to RAM pages, and no two IPA pages to the same page. *)
Definition s2_sane (c : config) (e : Isolation.Engine) (s2 : Isolation.stage2) : Prop :=
  (forall k pa w, (k < ipa_pages c)%nat -> walk e s2 k = Some (pa, w) -> in_ram c (pfnZ pa) = true) /\
  (forall k1 k2 pa1 pa2 w1 w2, (k1 < ipa_pages c)%nat -> (k2 < ipa_pages c)%nat ->
     walk e s2 k1 = Some (pa1, w1) -> walk e s2 k2 = Some (pa2, w2) -> pfnZ pa1 = pfnZ pa2 -> k1 = k2).

Definition vms_sane (c : config) (e : Isolation.Engine) : Prop :=
  Forall (fun v => Isolation.vm_live v = true -> s2_sane c e (Isolation.vm_s2 v)) (Isolation.Engine_vms e).

Lemma abs_s2_at_some : forall e s2 p k a, abs_s2_at e s2 p k = Some a ->
  exists pa w, walk e s2 k = Some (pa, w) /\ pfnZ pa = p /\ a = (k, Z.to_nat w).
Proof.
  intros e s2 p k a H. unfold abs_s2_at in H.
  destruct (walk e s2 k) as [[pa w]|]; [|discriminate H].
  destruct (Nat.eqb_spec (pfnZ pa) p); [|discriminate H]. injection H as <-. eauto.
Qed.

(** In a sane stage-2, the model's map has page [pfnZ pa] at IPA page [k]
    exactly when the walk maps [k] to [pa]. *)
Lemma abs_s2_hit : forall c e s2 k pa w, s2_sane c e s2 -> (k < ipa_pages c)%nat ->
  walk e s2 k = Some (pa, w) -> abs_s2 c e s2 (pfnZ pa) = Some (k, Z.to_nat w).
Proof.
  intros c e s2 k pa w (_ & Hinj) Hk Hw. unfold abs_s2.
  destruct (first_range 0 (ipa_pages c) (abs_s2_at e s2 (pfnZ pa))) as [a|] eqn:Hf.
  - destruct (first_range_some _ _ _ _ _ Hf) as (j & Hj & Ha).
    destruct (abs_s2_at_some _ _ _ _ _ Ha) as (pa' & w' & Hw' & Hp & ->).
    assert (j = k) by (apply (Hinj j k pa' pa w' w); [lia|exact Hk|exact Hw'|exact Hw|exact Hp]). subst j.
    rewrite Hw in Hw'. injection Hw' as -> ->. reflexivity.
  - exfalso. assert (E := first_range_none _ _ _ _ Hf k ltac:(lia)).
    unfold abs_s2_at in E. rewrite Hw, Nat.eqb_refl in E. discriminate E.
Qed.

Lemma abs_s2_some : forall c e s2 p j x, abs_s2 c e s2 p = Some (j, x) ->
  (j < ipa_pages c)%nat /\ exists pa w, walk e s2 j = Some (pa, w) /\ pfnZ pa = p.
Proof.
  intros c e s2 p j x H. unfold abs_s2 in H.
  destruct (first_range_some _ _ _ _ _ H) as (k & Hk & Ha).
  destruct (abs_s2_at_some _ _ _ _ _ Ha) as (pa & w & Hw & Hp & E). injection E as <- _.
  split; [lia|]. eauto.
Qed.

(** The model's range check at one IPA page of a sane stage-2 is the
    walk's answer there. *)
Lemma ipa_free_walk : forall c e s2 k, s2_sane c e s2 -> (k < ipa_pages c)%nat ->
  ipa_range_free c (abs_s2 c e s2) k 1 = match walk e s2 k with Some _ => false | None => true end.
Proof.
  intros c e s2 k Hs Hk. destruct (walk e s2 k) as [[pa w]|] eqn:Hw.
  - apply not_true_is_false. intros Hf. unfold ipa_range_free in Hf. rewrite all_range_iff in Hf.
    assert (Hr : in_ram c (pfnZ pa) = true) by exact (proj1 Hs k pa w Hk Hw).
    pose proof Hr as Hr'. unfold in_ram, in_range in Hr'. apply andb_true_iff in Hr' as [H1 H2].
    apply Nat.leb_le in H1. apply Nat.ltb_lt in H2.
    specialize (Hf (pfnZ pa) ltac:(lia)). unfold mapped_in in Hf.
    rewrite Hr, (abs_s2_hit c e s2 k pa w Hs Hk Hw) in Hf.
    rewrite (proj2 (in_range_spec k k 1) ltac:(lia)) in Hf. discriminate Hf.
  - unfold ipa_range_free. apply all_range_iff. intros p _. unfold mapped_in.
    destruct (abs_s2 c e s2 p) as [[j x]|] eqn:Ha; [|rewrite andb_false_r; reflexivity].
    destruct (abs_s2_some c e s2 p j x Ha) as (Hj & pa & w & Hw' & _).
    unfold in_range. destruct (Nat.leb_spec k j); destruct (Nat.ltb_spec j (k + 1)); cbn [andb];
      try (rewrite andb_false_r; reflexivity).
    assert (j = k) by lia. subst j. rewrite Hw in Hw'. discriminate Hw'.
Qed.

Theorem s2_rel_abs : forall c e, cfg_abs c e -> vms_sane c e -> s2_rel c e (abs_ms c e).
Proof.
  intros c e (_ & _ & Hipa) Hsane i mv Hn Hl q tr k r Hg Hk Hlim Ht.
  unfold s2_of. rewrite (abs_slot c e i mv Hn). unfold abs_vm. rewrite Hl. cbn [vm_s2].
  assert (Hs : s2_sane c e (Isolation.vm_s2 mv)).
  { unfold vms_sane in Hsane. rewrite Forall_forall in Hsane. exact (Hsane mv (nth_error_In _ _ Hn) Hl). }
  assert (HK : (Z.to_nat k < ipa_pages c)%nat) by (unfold Isolation.ipaLimit in *; lia).
  rewrite (ipa_free_walk c e _ _ Hs HK).
  rewrite <- (Z2Nat.id k Hk) in Ht. rewrite (walk_translate q e tr _ (Z.to_nat k) r Hg Ht).
  destruct (snd r); reflexivity.
Qed.

(** ** MEM_DONATE's and MEM_SHARE's checks against the abstraction *)

(** The model's state of an engine: its metadata is the abstraction;
    memory contents and registers are not abstracted here. *)
Definition abs_state (c : config) (e : Isolation.Engine) (mem : nat -> nat) (regs : nat -> nat -> nat -> nat) : state :=
  mkState (abs_ms c e) mem regs.

Theorem MemDonate_checks_abs : forall c e mem regs tr id pa ipa n perms,
  mem_ok e -> reclaim_ok e -> cfg_abs c e -> free_slots_clear e -> vms_sane c e ->
  0 <= id < 2 ^ 64 -> 0 <= pa < 2 ^ 64 -> 0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 -> 0 <= perms < 2 ^ 64 ->
  let s := abs_state c e mem regs in
  (exists st sst, Isolation.Engine_MemDonate root id pa ipa n perms e tr = Ok st e tr /\
     mem_donate c s (Z.to_nat id) (Z.to_nat pa) (Z.to_nat ipa) (Z.to_nat n) (Z.to_nat perms) = (s, err sst) /\
     go_status sst = st /\ sst <> SUCCESS)
  \/
  (exists v mv, Isolation.Engine_checkTransfer root id pa ipa n perms true e tr = Ok (v, Abi.Success) e tr /\
     good v e mv /\ nth_error (Isolation.Engine_vms e) (Z.to_nat (id - 1)) = Some mv /\ Isolation.vm_live mv = true /\
     lend_checks c (st_meta s) (Z.to_nat id) (Z.to_nat pa) (Z.to_nat ipa) (Z.to_nat n) (Z.to_nat perms) = None).
Proof.
  intros c e mem regs tr id pa ipa n perms Hm Hr Hc Hf Hs Hid Hpa Hipa Hn Hperms s.
  apply MemDonate_checks_refine; try assumption.
  - exact (proj1 Hc).
  - reflexivity.
  - apply vms_rel_abs; assumption.
  - apply s2_rel_abs; assumption.
Qed.

Theorem MemShare_checks_abs : forall c e mem regs tr id pa ipa n perms,
  mem_ok e -> reclaim_ok e -> cfg_abs c e -> free_slots_clear e -> vms_sane c e ->
  0 <= id < 2 ^ 64 -> 0 <= pa < 2 ^ 64 -> 0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 -> 0 <= perms < 2 ^ 64 ->
  let s := abs_state c e mem regs in
  (exists st sst, Isolation.Engine_MemShare root id pa ipa n perms e tr = Ok st e tr /\
     mem_share c s (Z.to_nat id) (Z.to_nat pa) (Z.to_nat ipa) (Z.to_nat n) (Z.to_nat perms) = (s, err sst) /\
     go_status sst = st /\ sst <> SUCCESS)
  \/
  (exists v mv, Isolation.Engine_checkTransfer root id pa ipa n perms true e tr = Ok (v, Abi.Success) e tr /\
     good v e mv /\ nth_error (Isolation.Engine_vms e) (Z.to_nat (id - 1)) = Some mv /\ Isolation.vm_live mv = true /\
     Isolation.vm_protected mv = false /\
     lend_checks c (st_meta s) (Z.to_nat id) (Z.to_nat pa) (Z.to_nat ipa) (Z.to_nat n) (Z.to_nat perms) = None /\
     vm_protected (ms_vms (st_meta s) (Z.to_nat id)) = false).
Proof.
  intros c e mem regs tr id pa ipa n perms Hm Hr Hc Hf Hs Hid Hpa Hipa Hn Hperms s.
  apply MemShare_checks_refine; try assumption.
  - exact (proj1 Hc).
  - reflexivity.
  - apply vms_rel_abs; assumption.
  - apply s2_rel_abs; assumption.
Qed.

(** ** The ledger after MEM_DONATE and MEM_SHARE, against the abstraction *)

(** CodeLedgerRefine's theorems with the VM part of the abstraction
    defined: a MEM_DONATE or MEM_SHARE that answers SUCCESS is a successful
    step of the model from the abstraction of the engine it was given,
    whose ledger is, page by page, the abstraction's of the engine it
    returns. *)
Theorem MemDonate_ledger_abs : forall c e mem regs tr id pa ipa n perms e' tr',
  mem_ok e -> reclaim_ok e -> cfg_abs c e -> free_slots_clear e -> vms_sane c e ->
  len (Isolation.Engine_vms e) <= 255 ->
  0 <= id < 2 ^ 64 -> 0 <= pa < 2 ^ 64 -> 0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 -> 0 <= perms < 2 ^ 64 ->
  Isolation.Engine_MemDonate root id pa ipa n perms e tr = Ok Abi.Success e' tr' ->
  exists s', mem_donate c (abs_state c e mem regs) (Z.to_nat id) (Z.to_nat pa) (Z.to_nat ipa) (Z.to_nat n)
      (Z.to_nat perms) = (s', ok0) /\
    forall p, ms_pages (st_meta s') p = ms_pages (abs_ms c e') p.
Proof.
  intros c e mem regs tr id pa ipa n perms e' tr' Hm Hr Hc Hf Hs Hvms Hid Hpa Hipa Hn Hperms H.
  destruct (MemDonate_ledger_refine c e (abs_state c e mem regs) tr id pa ipa n perms e' tr' Hm Hr (proj1 Hc)
    eq_refl (vms_rel_abs c e Hc Hf) (s2_rel_abs c e Hc Hs) Hvms Hid Hpa Hipa Hn Hperms H) as (s' & Hstep & Hp & _).
  exists s'. split; [exact Hstep|exact Hp].
Qed.

Theorem MemShare_ledger_abs : forall c e mem regs tr id pa ipa n perms e' tr',
  mem_ok e -> reclaim_ok e -> cfg_abs c e -> free_slots_clear e -> vms_sane c e ->
  len (Isolation.Engine_vms e) <= 255 ->
  0 <= id < 2 ^ 64 -> 0 <= pa < 2 ^ 64 -> 0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 -> 0 <= perms < 2 ^ 64 ->
  Isolation.Engine_MemShare root id pa ipa n perms e tr = Ok Abi.Success e' tr' ->
  exists s', mem_share c (abs_state c e mem regs) (Z.to_nat id) (Z.to_nat pa) (Z.to_nat ipa) (Z.to_nat n)
      (Z.to_nat perms) = (s', ok0) /\
    forall p, ms_pages (st_meta s') p = ms_pages (abs_ms c e') p.
Proof.
  intros c e mem regs tr id pa ipa n perms e' tr' Hm Hr Hc Hf Hs Hvms Hid Hpa Hipa Hn Hperms H.
  destruct (MemShare_ledger_refine c e (abs_state c e mem regs) tr id pa ipa n perms e' tr' Hm Hr (proj1 Hc)
    eq_refl (vms_rel_abs c e Hc Hf) (s2_rel_abs c e Hc Hs) Hvms Hid Hpa Hipa Hn Hperms H) as (s' & Hstep & Hp & _).
  exists s'. split; [exact Hstep|exact Hp].
Qed.
