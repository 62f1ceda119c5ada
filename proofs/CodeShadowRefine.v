(** * MMIO_SHADOW refined whole

    Theorems about proofs/code/Isolation.v, the translation of
    isolation/shadow.go, that carry on from CodeMarks.v (the marks as a
    set kept in IPA order, and MMIO_SHADOW's outcomes) and CodeLogRefine.v
    (the model's VM slots after a store of one VM's shadow state).
    Proved here:
    - the model's marks hold as many marks as the engine has registers on
      ([abs_marks_length]), and one mark at an IPA exactly when a
      register on marks it ([abs_marks_at]);
    - so MMIO_SHADOW, from [create_inv] and [shadow_inv] (every VM's
      registers [regs_ok]), for 64-bit arguments, when the model's window
      check agrees with the engine's, answers the model's status, and the
      abstraction of the engine it leaves is the model's metadata after
      the step ([MMIOShadow_refines]);
    - Engine.inRanges, on 64-bit ranges and address, answers whether a
      range holds the address ([inRanges_holds]), so with the model's
      windows the engine's guest MMIO ranges ([windows_rel]) the window
      checks agree ([windows_agree]) and MMIO_SHADOW is refined with no
      assumption on them ([MMIOShadow_refines_windows]), and keeps the
      model's invariant [Inv] ([MMIOShadow_keeps_Inv]). *)
From Coq Require Import ZArith Lia List Bool.
From Bulkhead.Spec Require Import State Spec.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodeTrack CodeVCPUInit CodeShadow CodeAbs CodeVMCreateRefine CodeS2Refine
  CodeVMCreateInv CodeAbi CodeMarks CodeLogRefine CodeVMCreate CodeVCPU CodeLoop CodeModelThms.
From Bulkhead.Proofs Require Invariants.
Import ListNotations.
Open Scope Z_scope.

Lemma insert_mark_length : forall k ms, length (insert_mark k ms) = S (length ms).
Proof.
  intros k ms. induction ms as [|y r IH]; cbn [insert_mark]; [reflexivity|].
  destruct (mk_ipa k <=? mk_ipa y)%nat; cbn [length]; [reflexivity|]. rewrite IH. reflexivity.
Qed.

Lemma abs_marks_length : forall sh, length (abs_marks sh) = length (active (Isolation.shadowState_regs sh)).
Proof.
  intros sh. rewrite abs_marks_fold. induction (active (Isolation.shadowState_regs sh)) as [|r l IH];
    cbn [map fold_right length]; [reflexivity|]. rewrite insert_mark_length, IH. reflexivity.
Qed.

(** Every register on: the filter keeps them all. *)
Lemma active_all : forall regs, (forall j, (j < length regs)%nat -> is_on (nth j regs Isolation.zero_shadowReg) = true) ->
  length (active regs) = length regs.
Proof.
  intros regs H. unfold active. induction regs as [|r l IH]; [reflexivity|].
  cbn [filter]. pose proof (H 0%nat ltac:(cbn; lia)) as H0. cbn [nth] in H0. unfold is_on in H0. rewrite H0.
  cbn [length]. rewrite IH; [reflexivity|]. intros j Hj. exact (H (S j) ltac:(cbn; lia)).
Qed.

Lemma filter_le : forall {A} (f : A -> bool) l, (length (filter f l) <= length l)%nat.
Proof. intros A f l. induction l as [|x l IH]; cbn [filter length]; [lia|]. destruct (f x); cbn [length]; lia. Qed.

(** A register off: the filter drops it. *)
Lemma active_drops : forall regs j, (j < length regs)%nat -> is_on (nth j regs Isolation.zero_shadowReg) = false ->
  (length (active regs) < length regs)%nat.
Proof.
  intros regs. unfold active. induction regs as [|r l IH]; intros j Hj Hoff; [cbn in Hj; lia|].
  pose proof (filter_le (fun r => negb (Isolation.shadowReg_mode r =? Abi.ShadowOff)) l) as Hle.
  cbn [filter length]. destruct j as [|j].
  - cbn [nth] in Hoff. unfold is_on in Hoff. rewrite Hoff. lia.
  - cbn [nth length] in Hoff, Hj. specialize (IH j ltac:(lia) Hoff).
    destruct (negb _); cbn [length]; lia.
Qed.

(** The model has a mark at IPA [ipa] exactly when a register on marks
    it, for well-formed registers and an IPA not negative. *)
Lemma abs_marks_at : forall sh ipa, regs_ok (Isolation.shadowState_regs sh) -> 0 <= ipa ->
  existsb (fun k => (mk_ipa k =? Z.to_nat ipa)%nat) (abs_marks sh) = true <->
  exists j, (j < length (Isolation.shadowState_regs sh))%nat /\
    is_on (nth j (Isolation.shadowState_regs sh) Isolation.zero_shadowReg) = true /\
    Isolation.shadowReg_ipa (nth j (Isolation.shadowState_regs sh) Isolation.zero_shadowReg) = ipa.
Proof.
  intros sh ipa Hr Hipa. pose proof (marks_of_regs sh Hr) as Hm. destruct Hr as [_ Hnn]. rewrite existsb_exists. rewrite Forall_forall in Hnn. split.
  - intros (x & Hx & E). apply Nat.eqb_eq in E. apply (abs_marks_in sh Hm) in Hx as (r & Hr & ->).
    apply in_active in Hr as (j & Hj & Er & On). exists j. split; [exact Hj|]. rewrite Er. split; [exact On|].
    unfold reg_mark in E. cbn [mk_ipa] in E. pose proof (Hnn r (proj1 (proj1 (filter_In _ _ _) (proj2 (in_active _ _)
      (ex_intro _ j (conj Hj (conj Er On))))))). lia.
  - intros (j & Hj & On & E). exists (reg_mark (nth j (Isolation.shadowState_regs sh) Isolation.zero_shadowReg)).
    split; [apply (abs_marks_in sh Hm); eexists; split; [apply in_active; exists j; auto|reflexivity]|].
    unfold reg_mark. cbn [mk_ipa]. rewrite E. apply Nat.eqb_refl.
Qed.

(** MMIO_SHADOW, from [create_inv] and [shadow_inv], for
    64-bit arguments, when the model's window check of [ipa] agrees with
    the engine's: it answers the model's status, and the model's metadata
    after the step is the abstraction of the engine it leaves: on an
    error both leave everything as it was; on SUCCESS the VM's marks are
    the model's after the call, its log and everything else as they
    were. *)
Theorem MMIOShadow_refines : forall c e tr id ipa mode value w mem regs,
  create_inv c e -> shadow_inv e ->
  0 <= id < 2 ^ 64 -> 0 <= ipa < 2 ^ 64 -> 0 <= mode < 2 ^ 64 -> 0 <= value < 2 ^ 64 ->
  (forall (s : Isolation.Engine) tr', Isolation.inRanges ipa (Isolation.Config_GuestMMIO (Isolation.Engine_cfg e)) s tr' = Ok w s tr') ->
  in_windows c (Z.to_nat ipa) = w ->
  exists st e', Isolation.Engine_MMIOShadow root id ipa mode value e tr = Ok st e' tr /\
    let r := mmio_shadow c (abs_state c e mem regs) (Z.to_nat id) (Z.to_nat ipa) (Z.to_nat mode) (Z.to_nat value) in
    exists sst, snd r = ORet sst [] /\ go_status sst = st /\ ms_eq (st_meta (fst r)) (abs_ms c e').
Proof.
  intros c e tr id ipa mode value w mem regs Hc Hinv Hid Hipa Hmode Hval Hwin Hw.
  pose proof Hc as (_ & _ & Hcfg & _).
  destruct (MMIOShadow_result e tr id ipa mode value w Hinv Hid Hwin) as (st & e' & Hrun & Hout).
  exists st, e'. split; [exact Hrun|]. cbv zeta. unfold mmio_shadow. cbn [st_meta abs_state].
  assert (Ealign : (Z.to_nat ipa mod shadow_access_max =? 0)%nat = (ipa mod Isolation.shadowAccessMax =? 0)).
  { unfold shadow_access_max, Isolation.shadowAccessMax.
    replace (Z.to_nat ipa mod 4)%nat with (Z.to_nat (ipa mod 4)) by (rewrite Z2Nat.inj_mod by lia; reflexivity).
    pose proof (Z.mod_pos_bound ipa 4 ltac:(lia)).
    destruct (Z.eqb_spec (ipa mod 4) 0) as [E|E]; [rewrite E; reflexivity|]. apply Nat.eqb_neq. lia. }
  assert (Emode : (2 <? Z.to_nat mode)%nat = (mode >? Abi.ShadowLog)).
  { unfold Abi.ShadowLog. rewrite Z.gtb_ltb. destruct (Z.ltb_spec 2 mode); [apply Nat.ltb_lt|apply Nat.ltb_ge]; lia. }
  rewrite Ealign, Emode, Hw.
  destruct Hout as [(-> & -> & Hwhy)|(m & slot & free & Hr & Hn & Hlv & Ha & -> & Hmd & Hs & Hf & Hfd & Hcases)].
  - assert (Hbad : negb (vmid_ok c (abs_ms c e) (Z.to_nat id)) || negb (ipa mod Isolation.shadowAccessMax =? 0) ||
                   negb w || (mode >? Abi.ShadowLog) = true).
    { destruct Hwhy as [Hno|[Hal|[Hw0|Hm2]]].
      - assert (Hf : vmid_ok c (abs_ms c e) (Z.to_nat id) = false).
        { destruct (vmid_ok _ _ _) eqn:Hk; [|reflexivity]. exfalso. apply Hno.
          exact (proj1 (vmid_ok_abs c e id Hcfg ltac:(lia)) Hk). }
        rewrite Hf. reflexivity.
      - apply Z.eqb_neq in Hal. rewrite Hal. destruct (vmid_ok _ _ _); reflexivity.
      - rewrite Hw0. destruct (vmid_ok _ _ _), (_ =? 0); reflexivity.
      - rewrite (proj2 (Z.gtb_lt mode Abi.ShadowLog) ltac:(lia)). apply orb_true_r. }
    rewrite Hbad. cbn. eexists. split; [reflexivity|]. split; [reflexivity|apply ms_eq_refl].
  - rewrite (proj2 (vmid_ok_abs c e id Hcfg ltac:(lia)) (ex_intro _ m (conj Hr (conj Hn Hlv)))).
    apply Z.eqb_eq in Ha. rewrite Ha. replace (mode >? Abi.ShadowLog) with false by (symmetry; rewrite Z.gtb_ltb; apply Z.ltb_ge; lia).
    cbn [negb orb]. rewrite (slot_vm c e id m ltac:(lia) Hn). unfold abs_vm. rewrite Hlv. cbn [vm_marks vm_log].
    set (sh := Isolation.vm_shadow m) in *.
    pose proof (shadow_of e _ m Hinv Hn) as Hsh. pose proof Hsh as (Hregs & _ & _ & _ & _ & Hok). fold sh in Hsh, Hregs, Hok.
    assert (Hl4 : length (Isolation.shadowState_regs sh) = 4%nat) by (unfold len in Hregs; lia).
    destruct Hfd as (F1 & F2 & F3 & F4).
    assert (Hlog : forall k, abs_log (set_mark sh k ipa mode value) = abs_log sh) by (intros k; destruct sh; reflexivity).
    (* a register set as asked: the model's marks after the call are the
       abstraction's, as sets and so as lists *)
    assert (Hset : forall k, 0 <= k < 4 -> settable (Isolation.shadowState_regs sh) k ipa ->
      forall ms', shadow_marks (abs_marks sh) (Z.to_nat ipa) (Z.to_nat mode) (Z.to_nat value) = Some ms' ->
      (existsb (fun k => (mk_ipa k =? Z.to_nat ipa)%nat) (abs_marks sh) = true \/ Z.to_nat mode <> 0%nat) ->
      ms_eq (set_shadow (abs_ms c e) (Z.to_nat id) ms' (abs_log sh))
            (abs_ms c (put_shadow e (Z.to_nat (id - 1)) m (set_mark sh k ipa mode value)))).
    { intros k Hk Hwhich ms' Hsm Hany.
      pose proof (marks_after_set sh k ipa mode value Hregs Hok ltac:(lia) ltac:(lia) Hk Hwhich) as Hin'.
      pose proof (marks_of_regs _ (regs_ok_set sh k ipa mode value Hok ltac:(lia) ltac:(lia) Hwhich)) as Hok'.
      assert (Ems : ms' = abs_marks (set_mark sh k ipa mode value)).
      { apply ssorted_ext.
        - exact (shadow_marks_sorted _ _ _ _ _ (abs_marks_sorted sh (marks_of_regs sh Hok)) Hsm).
        - exact (abs_marks_sorted _ Hok').
        - intros x. rewrite Hin'.
          destruct (shadow_marks_in _ _ _ _ _ Hsm) as [(Hx & Hm0 & _)|(_ & Hin)]; [|exact (Hin x)].
          exfalso. destruct Hany as [Hany|Hany]; [congruence|exact (Hany Hm0)]. }
      rewrite Ems, <- (Hlog k). exact (put_shadow_ms_eq c e id m _ Hc ltac:(lia) Hn Hlv). }
    cbv zeta in Hcases.
    assert (Hnone : slot < 0 -> existsb (fun k => (mk_ipa k =? Z.to_nat ipa)%nat) (abs_marks sh) = false).
    { intros H0. destruct (existsb _ _) eqn:E; [|reflexivity]. exfalso.
      apply (abs_marks_at sh ipa Hok ltac:(lia)) in E as (j & Hj & On & Ej). exact (F2 H0 j Hj (conj On Ej)). }
    assert (Hmnat : mode <> Abi.ShadowOff -> Z.to_nat mode <> 0%nat) by (unfold Abi.ShadowOff; lia).
    destruct Hcases as [(H0 & -> & ->)|[(H0 & Hm0 & -> & ->)|[(H0 & Hm0 & Hf0 & -> & ->)|(H0 & Hm0 & Hf0 & -> & ->)]]].
    + assert (Hex : existsb (fun k => (mk_ipa k =? Z.to_nat ipa)%nat) (abs_marks sh) = true).
      { apply (abs_marks_at sh ipa Hok ltac:(lia)). exists (Z.to_nat slot). split; [lia|]. exact (F1 H0). }
      destruct (shadow_marks (abs_marks sh) (Z.to_nat ipa) (Z.to_nat mode) (Z.to_nat value)) as [ms'|] eqn:Hsm.
      * cbn [fst snd st_meta]. eexists. split; [reflexivity|]. split; [reflexivity|].
        apply (Hset slot ltac:(lia)); [left; exact (F1 H0)|first [exact Hsm|reflexivity]|left; exact Hex].
      * exfalso. unfold shadow_marks in Hsm. rewrite Hex in Hsm. destruct (_ =? 0)%nat; discriminate.
    + replace (shadow_marks (abs_marks sh) (Z.to_nat ipa) (Z.to_nat mode) (Z.to_nat value)) with (Some (abs_marks sh))
        by (unfold shadow_marks; rewrite (Hnone H0), Hm0; reflexivity).
      cbn [fst snd st_meta]. eexists. split; [reflexivity|]. split; [reflexivity|].
      pose proof (put_shadow_ms_eq c e id m sh Hc ltac:(lia) Hn Hlv) as Heq.
      unfold sh in Heq. rewrite (put_shadow_same e _ m Hn) in Heq. exact Heq.
    + assert (Hlen : length (abs_marks sh) = 4%nat) by (rewrite abs_marks_length, active_all; [exact Hl4|exact (F4 Hf0)]).
      replace (shadow_marks (abs_marks sh) (Z.to_nat ipa) (Z.to_nat mode) (Z.to_nat value)) with (@None (list mark))
        by (unfold shadow_marks; rewrite (Hnone H0), Hlen; destruct (Nat.eqb_spec (Z.to_nat mode) 0) as [E|_];
            [exfalso; exact (Hmnat Hm0 E)|reflexivity]).
      cbn [fst snd st_meta]. eexists. split; [reflexivity|]. split; [reflexivity|apply ms_eq_refl].
    + assert (Hlen : (length (abs_marks sh) < 4)%nat).
      { rewrite abs_marks_length, <- Hl4. apply (active_drops _ (Z.to_nat free)); [lia|exact (F3 Hf0)]. }
      destruct (shadow_marks (abs_marks sh) (Z.to_nat ipa) (Z.to_nat mode) (Z.to_nat value)) as [ms'|] eqn:Hsm.
      * cbn [fst snd st_meta]. eexists. split; [reflexivity|]. split; [reflexivity|].
        apply (Hset free ltac:(lia)); [right; split; [exact (F3 Hf0)|exact (F2 H0)]|first [exact Hsm|reflexivity]|right; exact (Hmnat Hm0)].
      * exfalso. unfold shadow_marks in Hsm. rewrite (Hnone H0) in Hsm.
        destruct (Nat.eqb_spec (Z.to_nat mode) 0) as [E|_]; [exact (Hmnat Hm0 E)|].
        unfold shadow_slots in Hsm. destruct (Nat.leb_spec 4 (length (abs_marks sh))); [lia|discriminate].
Qed.

(** ** The window check *)

(** A range holds an address, as the model's [in_range] reads it. *)
Definition holds (r : Isolation.Range) (a : Z) : bool :=
  (Isolation.Range_Base r <=? a) && (a <? Isolation.Range_Base r + Isolation.Range_Size r).

Definition range_u64 (r : Isolation.Range) : Prop :=
  0 <= Isolation.Range_Base r < 2 ^ 64 /\ 0 <= Isolation.Range_Size r < 2 ^ 64.

Lemma Range_Contains_one : forall {S} (s : S) tr r a, range_u64 r -> 0 <= a < 2 ^ 64 ->
  Isolation.Range_Contains r a 1 s tr = Ok (holds r a) s tr.
Proof.
  intros S s tr r a (Hb & Hs) Ha. unfold Isolation.Range_Contains, holds.
  destruct (Z.ltb_spec a (Isolation.Range_Base r)) as [Hlt|Hge]; cbn [orb].
  - replace (Isolation.Range_Base r <=? a) with false by (symmetry; apply Z.leb_gt; lia). reflexivity.
  - replace (Isolation.Range_Base r <=? a) with true by (symmetry; apply Z.leb_le; lia). cbn [andb].
    destruct (Z.gtb_spec 1 (Isolation.Range_Size r)) as [H0|H1].
    + replace (a <? _) with false by (symmetry; apply Z.ltb_ge; lia). reflexivity.
    + rewrite !wrapu_small by lia.
      replace (a - Isolation.Range_Base r <=? Isolation.Range_Size r - 1)
        with (a <? Isolation.Range_Base r + Isolation.Range_Size r); [reflexivity|].
      destruct (Z.leb_spec (a - Isolation.Range_Base r) (Isolation.Range_Size r - 1)),
        (Z.ltb_spec a (Isolation.Range_Base r + Isolation.Range_Size r)); first [reflexivity|lia].
Qed.

(** inRanges, on ranges and an address of 64 bits, answers whether one
    of the ranges holds the address. *)
Lemma inRanges_holds : forall {S} (s : S) tr a rs, Forall range_u64 rs -> 0 <= a < 2 ^ 64 ->
  Isolation.inRanges a rs s tr = Ok (existsb (fun r => holds r a) rs) s tr.
Proof.
  intros S s tr a rs Hrs Ha. rewrite inRanges_val. f_equal.
  induction Hrs as [|r rs Hr _ IH]; [reflexivity|]. cbn. rewrite IH. f_equal.
  pose proof (Range_Contains_val s tr r a) as E. rewrite (Range_Contains_one s tr r a Hr Ha) in E.
  injection E as E. symmetry. exact E.
Qed.

(** The model's windows are the engine's guest MMIO ranges, each of 64
    bits. *)
Definition windows_rel (c : config) (e : Isolation.Engine) : Prop :=
  mmio_windows c = map (fun r => (Z.to_nat (Isolation.Range_Base r), Z.to_nat (Isolation.Range_Size r)))
                       (Isolation.Config_GuestMMIO (Isolation.Engine_cfg e)) /\
  Forall range_u64 (Isolation.Config_GuestMMIO (Isolation.Engine_cfg e)).

Lemma existsb_map' : forall {A B} (f : B -> bool) (g : A -> B) l, existsb f (map g l) = existsb (fun x => f (g x)) l.
Proof. intros A B f g l. induction l as [|x l IH]; cbn; [reflexivity|]. rewrite IH. reflexivity. Qed.

Lemma holds_in_range : forall r a, range_u64 r -> 0 <= a ->
  holds r a = in_range (Z.to_nat a) (Z.to_nat (Isolation.Range_Base r)) (Z.to_nat (Isolation.Range_Size r)).
Proof.
  intros r a (Hb & Hs) Ha. unfold holds, in_range.
  replace (Z.to_nat (Isolation.Range_Base r) <=? Z.to_nat a)%nat with (Isolation.Range_Base r <=? a)
    by (destruct (Z.leb_spec (Isolation.Range_Base r) a), (Nat.leb_spec (Z.to_nat (Isolation.Range_Base r)) (Z.to_nat a));
        first [reflexivity|lia]).
  replace (Z.to_nat a <? Z.to_nat (Isolation.Range_Base r) + Z.to_nat (Isolation.Range_Size r))%nat
    with (a <? Isolation.Range_Base r + Isolation.Range_Size r)
    by (destruct (Z.ltb_spec a (Isolation.Range_Base r + Isolation.Range_Size r)),
          (Nat.ltb_spec (Z.to_nat a) (Z.to_nat (Isolation.Range_Base r) + Z.to_nat (Isolation.Range_Size r)));
        first [reflexivity|lia]).
  reflexivity.
Qed.

(** With them, the engine's window check is the model's. *)
Lemma windows_agree : forall c e a, windows_rel c e -> 0 <= a < 2 ^ 64 ->
  forall (s : Isolation.Engine) tr,
  Isolation.inRanges a (Isolation.Config_GuestMMIO (Isolation.Engine_cfg e)) s tr = Ok (in_windows c (Z.to_nat a)) s tr.
Proof.
  intros c e a [Hw Hu] Ha s tr. rewrite (inRanges_holds s tr a _ Hu Ha). f_equal.
  unfold in_windows. rewrite Hw, existsb_map'. revert Hu.
  generalize (Isolation.Config_GuestMMIO (Isolation.Engine_cfg e)) as l. intros l Hu.
  induction Hu as [|r l Hr Hl IH]; [reflexivity|]. cbn [existsb fst snd]. rewrite IH, (holds_in_range r a Hr ltac:(lia)).
  reflexivity.
Qed.

(** So, with the model's windows the engine's, MMIO_SHADOW is refined
    with no assumption on its window check. *)
Corollary MMIOShadow_refines_windows : forall c e tr id ipa mode value mem regs,
  create_inv c e -> shadow_inv e -> windows_rel c e ->
  0 <= id < 2 ^ 64 -> 0 <= ipa < 2 ^ 64 -> 0 <= mode < 2 ^ 64 -> 0 <= value < 2 ^ 64 ->
  exists st e', Isolation.Engine_MMIOShadow root id ipa mode value e tr = Ok st e' tr /\
    let r := mmio_shadow c (abs_state c e mem regs) (Z.to_nat id) (Z.to_nat ipa) (Z.to_nat mode) (Z.to_nat value) in
    exists sst, snd r = ORet sst [] /\ go_status sst = st /\ ms_eq (st_meta (fst r)) (abs_ms c e').
Proof.
  intros c e tr id ipa mode value mem regs Hc Hinv Hw Hid Hipa Hmode Hval.
  exact (MMIOShadow_refines c e tr id ipa mode value _ mem regs Hc Hinv Hid Hipa Hmode Hval
           (windows_agree c e ipa Hw Hipa) eq_refl).
Qed.

(** And [Inv] holds of the abstraction after MMIO_SHADOW whenever it held
    before: [Invariants.step_inv] for the model's step, carried over by
    [MMIOShadow_refines_windows]. *)
Corollary MMIOShadow_keeps_Inv : forall c e tr id ipa mode value st e',
  create_inv c e -> shadow_inv e -> windows_rel c e ->
  0 <= id < 2 ^ 64 -> 0 <= ipa < 2 ^ 64 -> 0 <= mode < 2 ^ 64 -> 0 <= value < 2 ^ 64 ->
  Isolation.Engine_MMIOShadow root id ipa mode value e tr = Ok st e' tr ->
  Invariants.Inv c (abs_ms c e) -> Invariants.Inv c (abs_ms c e').
Proof.
  intros c e tr id ipa mode value st e' Hc Hinv Hw Hid Hipa Hmode Hval Hrun I.
  set (mem := fun _ : nat => 0%nat). set (regs := fun _ _ _ : nat => 0%nat).
  destruct (MMIOShadow_refines_windows c e tr id ipa mode value mem regs Hc Hinv Hw Hid Hipa Hmode Hval)
    as (st1 & e1 & Hrun1 & Href).
  rewrite Hrun in Hrun1. injection Hrun1 as <- <-.
  cbv zeta in Href. destruct Href as (sst & _ & _ & Heq).
  apply (step_keeps_Inv c e e' mem regs (fun s => mmio_shadow c s (Z.to_nat id) (Z.to_nat ipa) (Z.to_nat mode) (Z.to_nat value)));
    [intros s Is; exact (Invariants.step_inv c s (AHost (HMMIOShadow (Z.to_nat id) (Z.to_nat ipa) (Z.to_nat mode) (Z.to_nat value))) Is)
    |exact Heq|exact I].
Qed.
