(** * The MMIO shadow marks as a set kept in IPA order

    Lemmas about the model's marks ([Spec.insert_mark], [Spec.shadow_marks])
    and their abstraction from the engine's registers ([CodeAbs.abs_marks]),
    and about proofs/code/Isolation.v, the translation of
    isolation/shadow.go, for the refinement of MMIO_SHADOW
    (CodeShadowRefine.v).
    Proved here:
    - two lists of marks each strictly increasing by IPA that hold the
      same marks are equal ([ssorted_ext]): the order in which a VM's
      marks are kept carries nothing;
    - [insert_mark] adds its mark and keeps a list strictly increasing by
      IPA when no mark of the list has the new mark's IPA
      ([insert_mark_in], [insert_mark_sorted]);
    - so the abstraction of registers whose marked IPAs are distinct
      ([marks_ok]) is strictly increasing by IPA and holds exactly the
      marks of the registers that are not off ([abs_marks_sorted],
      [abs_marks_in]);
    - the model's marks after MMIO_SHADOW, from marks strictly increasing
      by IPA, are strictly increasing too and hold what the call says:
      the marks at other IPAs, and the new mark unless it is off
      ([shadow_marks_sorted], [shadow_marks_in]);
    - with what MMIO_SHADOW's search of the registers finds, the
      register on at the IPA or the first one off
      ([CodeShadow.slot_scan_spec]), its outcomes follow: INVALID_PARAMETERS, the register on at the IPA set, SUCCESS
      or NO_MEMORY changing nothing, or the first register off set
      ([MMIOShadow_result]);
    - registers whose marked IPAs are distinct and not negative
      ([CodeShadow.regs_ok]) give distinct marks ([marks_of_regs]);
    - setting the register the search found to the mark asked for
      leaves the marks at other IPAs and the new one unless it is off
      ([marks_after_set]). *)
From Coq Require Import ZArith Lia List Bool Sorting.Sorted.
Open Scope Z_scope.
From Bulkhead.Spec Require Import State Spec.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodeAbs CodeLoop CodeVCPU CodeVCPUInit CodeTrack CodeShadow.
Import ListNotations.

(** Strictly increasing by IPA. *)
Definition ipa_lt (a b : mark) : Prop := (mk_ipa a < mk_ipa b)%nat.

Definition ssorted (ms : list mark) : Prop := StronglySorted ipa_lt ms.

Lemma ssorted_ext : forall l1 l2, ssorted l1 -> ssorted l2 -> (forall x, In x l1 <-> In x l2) -> l1 = l2.
Proof.
  induction l1 as [|x1 r1 IH]; intros [|x2 r2] S1 S2 E.
  - reflexivity.
  - exfalso. apply (proj2 (E x2)). left. reflexivity.
  - exfalso. apply (proj1 (E x1)). left. reflexivity.
  - apply StronglySorted_inv in S1 as [S1 F1]. apply StronglySorted_inv in S2 as [S2 F2].
    rewrite Forall_forall in F1, F2. unfold ipa_lt in F1, F2.
    assert (Ex : x1 = x2).
    { destruct (proj1 (E x1) (or_introl eq_refl)) as [|H1]; [congruence|].
      destruct (proj2 (E x2) (or_introl eq_refl)) as [|H2]; [congruence|].
      pose proof (F2 _ H1). pose proof (F1 _ H2). lia. }
    subst x2. f_equal. apply IH; [exact S1|exact S2|].
    intros y. split; intros Hy.
    + destruct (proj1 (E y) (or_intror Hy)) as [<-|H]; [|exact H]. pose proof (F1 _ Hy). lia.
    + destruct (proj2 (E y) (or_intror Hy)) as [<-|H]; [|exact H]. pose proof (F2 _ Hy). lia.
Qed.

Lemma insert_mark_in : forall k ms x, In x (insert_mark k ms) <-> x = k \/ In x ms.
Proof.
  intros k ms x. induction ms as [|y r IH]; cbn [insert_mark].
  - cbn. intuition congruence.
  - destruct (mk_ipa k <=? mk_ipa y)%nat; cbn [In]; rewrite ?IH; intuition congruence.
Qed.

Lemma insert_mark_sorted : forall k ms, ssorted ms -> (forall y, In y ms -> mk_ipa y <> mk_ipa k) ->
  ssorted (insert_mark k ms).
Proof.
  intros k ms. induction ms as [|y r IH]; intros S N; cbn [insert_mark].
  - repeat constructor.
  - apply StronglySorted_inv in S as [S F]. pose proof F as F'. rewrite Forall_forall in F'. unfold ipa_lt in F'.
    assert (Ny : mk_ipa y <> mk_ipa k) by (apply N; left; reflexivity).
    destruct (Nat.leb_spec (mk_ipa k) (mk_ipa y)) as [Hle|Hgt].
    + constructor; [constructor; [exact S|exact F]|].
      constructor; [unfold ipa_lt; lia|]. apply Forall_forall. intros z Hz. unfold ipa_lt. pose proof (F' _ Hz). lia.
    + constructor; [apply IH; [exact S|intros z Hz; apply N; right; exact Hz]|].
      apply Forall_forall. intros z Hz. apply insert_mark_in in Hz as [->|Hz]; unfold ipa_lt; [lia|exact (F' _ Hz)].
Qed.

(** A list built by inserting marks of distinct IPAs one by one. *)
Lemma fold_insert : forall l, NoDup (map mk_ipa l) ->
  ssorted (fold_right insert_mark [] l) /\ forall x, In x (fold_right insert_mark [] l) <-> In x l.
Proof.
  induction l as [|k r IH]; intros Hd.
  - split; [constructor|intros x; reflexivity].
  - cbn [map] in Hd. apply NoDup_cons_iff in Hd as [Hk Hd]. destruct (IH Hd) as [S E].
    cbn [fold_right]. split.
    + apply insert_mark_sorted; [exact S|]. intros y Hy E'. apply Hk. rewrite <- E'. apply in_map. apply E. exact Hy.
    + intros x. rewrite insert_mark_in, E. cbn [In]. intuition congruence.
Qed.

(** ** The engine's registers *)

(** The marks of the registers that are not off. *)
Definition reg_mark (r : Isolation.shadowReg) : mark :=
  mkMark (Z.to_nat (Isolation.shadowReg_ipa r)) (Z.to_nat (Isolation.shadowReg_mode r))
    (Z.to_nat (Isolation.shadowReg_value r)).

(** No two registers that are not off mark the same IPA. *)
Definition marks_ok (sh : Isolation.shadowState) : Prop :=
  NoDup (map (fun r => mk_ipa (reg_mark r)) (active (Isolation.shadowState_regs sh))).

Lemma abs_marks_fold : forall sh, abs_marks sh = fold_right insert_mark [] (map reg_mark (active (Isolation.shadowState_regs sh))).
Proof. reflexivity. Qed.

Lemma abs_marks_sorted : forall sh, marks_ok sh -> ssorted (abs_marks sh).
Proof.
  intros sh H. rewrite abs_marks_fold. apply fold_insert. rewrite map_map. exact H.
Qed.

Lemma abs_marks_in : forall sh, marks_ok sh ->
  forall x, In x (abs_marks sh) <-> exists r, In r (active (Isolation.shadowState_regs sh)) /\ x = reg_mark r.
Proof.
  intros sh H x. rewrite abs_marks_fold. rewrite (proj2 (fold_insert _ ltac:(rewrite map_map; exact H)) x).
  rewrite in_map_iff. split; intros (r & A & B); exists r; split; congruence.
Qed.

(** ** The model's marks after MMIO_SHADOW *)

Lemma filter_sorted : forall f ms, ssorted ms -> ssorted (filter f ms).
Proof.
  intros f ms. induction ms as [|y r IH]; intros S; [constructor|].
  apply StronglySorted_inv in S as [S F]. cbn [filter]. destruct (f y); [|exact (IH S)].
  constructor; [exact (IH S)|]. rewrite Forall_forall in F |- *. intros z Hz. apply F.
  apply filter_In in Hz. exact (proj1 Hz).
Qed.

Lemma shadow_marks_sorted : forall ms ipa mode value ms', ssorted ms ->
  shadow_marks ms ipa mode value = Some ms' -> ssorted ms'.
Proof.
  intros ms ipa mode value ms' S. unfold shadow_marks. cbv zeta.
  assert (Hf : ssorted (filter (fun k => negb (mk_ipa k =? ipa)%nat) ms)) by (apply filter_sorted; exact S).
  destruct (existsb (fun k => (mk_ipa k =? ipa)%nat) ms) eqn:Hx.
  - intros E. injection E as <-. destruct (mode =? 0)%nat; [exact Hf|].
    apply insert_mark_sorted; [exact Hf|]. intros y Hy. apply filter_In in Hy as [_ Hy]. cbn [mk_ipa].
    apply negb_true_iff, Nat.eqb_neq in Hy. exact Hy.
  - destruct (mode =? 0)%nat; [intros E; injection E as <-; exact S|].
    destruct (shadow_slots <=? length ms)%nat; [discriminate|]. intros E. injection E as <-.
    apply insert_mark_sorted; [exact S|]. intros y Hy E'. cbn [mk_ipa] in E'.
    assert (existsb (fun k => (mk_ipa k =? ipa)%nat) ms = true) by (apply existsb_exists; exists y; split; [exact Hy|apply Nat.eqb_eq; exact E']).
    congruence.
Qed.

(** What the model's marks after MMIO_SHADOW hold: the marks at other
    IPAs, and the new mark unless it is off; with no mark at the IPA and
    an off mode, the marks as they were. *)
Lemma shadow_marks_in : forall ms ipa mode value ms',
  shadow_marks ms ipa mode value = Some ms' ->
  (existsb (fun k => (mk_ipa k =? ipa)%nat) ms = false /\ mode = 0%nat /\ ms' = ms) \/
  ((existsb (fun k => (mk_ipa k =? ipa)%nat) ms = true \/ mode <> 0%nat) /\
   forall x, In x ms' <-> (In x ms /\ mk_ipa x <> ipa) \/ (mode <> 0%nat /\ x = mkMark ipa mode value)).
Proof.
  intros ms ipa mode value ms'. unfold shadow_marks. cbv zeta.
  destruct (existsb (fun k => (mk_ipa k =? ipa)%nat) ms) eqn:Hx.
  - intros E. injection E as <-. right. split; [left; reflexivity|]. intros x.
    destruct (Nat.eqb_spec mode 0) as [->|Hm].
    + rewrite filter_In, negb_true_iff, Nat.eqb_neq. intuition.
    + rewrite insert_mark_in, filter_In, negb_true_iff, Nat.eqb_neq. intuition.
  - destruct (Nat.eqb_spec mode 0) as [->|Hm]; [intros E; injection E as <-; left; auto|].
    destruct (shadow_slots <=? length ms)%nat; [discriminate|]. intros E. injection E as <-.
    right. split; [right; exact Hm|]. intros x. rewrite insert_mark_in. split.
    + intros [->|H]; [right; split; [exact Hm|reflexivity]|left; split; [exact H|]].
      intros E. assert (existsb (fun k => (mk_ipa k =? ipa)%nat) ms = true)
        by (apply existsb_exists; exists x; split; [exact H|apply Nat.eqb_eq; exact E]). congruence.
    + intros [[H _]|[_ ->]]; [right; exact H|left; reflexivity].
Qed.

(** ** MMIO_SHADOW's outcomes *)

(** MMIO_SHADOW, from [shadow_inv], for any 64-bit vmid, when the window
    check of [ipa] answers [w]: without a live VM at the vmid, or with an
    unaligned IPA, an IPA outside the windows or an unknown mode, it
    answers INVALID_PARAMETERS and changes nothing; otherwise, with
    [slot] and [free] what the search of the VM's registers found, it
    sets the register on at the IPA, or else answers SUCCESS changing
    nothing for mode off, or else NO_MEMORY changing nothing with every
    register on, or else sets the first register that is off. *)
Theorem MMIOShadow_result : forall e tr id ipa mode value w, shadow_inv e -> 0 <= id < 2 ^ 64 ->
  (forall (s : Isolation.Engine) tr', Isolation.inRanges ipa (Isolation.Config_GuestMMIO (Isolation.Engine_cfg e)) s tr' = Ok w s tr') ->
  exists st e', Isolation.Engine_MMIOShadow root id ipa mode value e tr = Ok st e' tr /\
  ((st = Abi.InvalidParameters /\ e' = e /\
     (no_live e id \/ ipa mod Isolation.shadowAccessMax <> 0 \/ w = false \/ mode > Abi.ShadowLog)) \/
   exists m slot free, 1 <= id <= len (Isolation.Engine_vms e) /\
     nth_error (Isolation.Engine_vms e) (Z.to_nat (id - 1)) = Some m /\ Isolation.vm_live m = true /\
     ipa mod Isolation.shadowAccessMax = 0 /\ w = true /\ mode <= Abi.ShadowLog /\
     -1 <= slot < 4 /\ -1 <= free < 4 /\
     scan_found (Isolation.shadowState_regs (Isolation.vm_shadow m)) ipa slot free /\
     let put k := put_shadow e (Z.to_nat (id - 1)) m (set_mark (Isolation.vm_shadow m) k ipa mode value) in
     ((0 <= slot /\ st = Abi.Success /\ e' = put slot) \/
      (slot < 0 /\ mode = Abi.ShadowOff /\ st = Abi.Success /\ e' = e) \/
      (slot < 0 /\ mode <> Abi.ShadowOff /\ free < 0 /\ st = Abi.NoMemory /\ e' = e) \/
      (slot < 0 /\ mode <> Abi.ShadowOff /\ 0 <= free /\ st = Abi.Success /\ e' = put free))).
Proof.
  intros e tr id ipa mode value w Hinv Hid Hwin.
  destruct (liveVM_tracks e tr id (proj1 Hinv) Hid) as (p & Hp & [[-> Hno] | (m & Hr & Hn & Hm & Ht & Hlv)]);
    unfold Isolation.Engine_MMIOShadow; step_by Hp.
  - step. step. eexists _, _. split; [reflexivity|]. left. split; [reflexivity|]. split; [reflexivity|]. left; exact Hno.
  - pose proof (shadow_of e _ m Hinv Hn) as Hsh. pose proof Hsh as (Hregs & _).
    rewrite (is_nil_tracks _ _ _ _ Ht). cbv beta iota.
    step. destruct (Z.eqb_spec (ipa mod Isolation.shadowAccessMax) 0) as [Ha|Ha]; cbn [negb].
    2: { step. eexists _, _. split; [reflexivity|]. left. split; [reflexivity|]. split; [reflexivity|].
         right; left; exact Ha. }
    erewrite bind_ok; [|step; step_by (Hwin e tr); reflexivity]. cbv beta iota zeta.
    destruct w; cbn [negb orb].
    2: { eexists _, _. split; [reflexivity|]. left. split; [reflexivity|]. split; [reflexivity|].
         right; right; left; reflexivity. }
    destruct (Z.gtb_spec mode Abi.ShadowLog) as [Hmd|Hmd].
    { eexists _, _. split; [reflexivity|]. left. split; [reflexivity|]. split; [reflexivity|].
      right; right; right; lia. }
    step_by (deref_tracks _ _ _ _ tr Ht).
    destruct (slot_scan_spec e tr _ ipa Hregs) as (slot & free & Hscan & Hs & Hf & Hfd).
    step_by Hscan.
    assert (Hput : forall k, 0 <= k < 4 ->
      (let! t'15 := pfield p Isolation.vm_shadow Isolation.set_vm_shadow in
       let! t'16 := pfield t'15 Isolation.shadowState_regs Isolation.set_shadowState_regs in
       let! t'17 := pindex t'16 k in
       let! t'18 := store t'17 (Isolation.mk_shadowReg ipa mode value) in
       ret Abi.Success) e tr =
      Ok Abi.Success (put_shadow e (Z.to_nat (id - 1)) m (set_mark (Isolation.vm_shadow m) k ipa mode value)) tr)
      by (intros k Hk; exact (set_reg_tracks e tr p m _ k _ Ht Hregs Hk)).
    destruct (Z.geb_spec slot 0) as [Hs0|Hs0].
    { step. rewrite (Hput slot ltac:(lia)). eexists _, _. split; [reflexivity|]. right. exists m, slot, free.
      split; [exact Hr|]. split; [exact Hn|]. split; [exact Hlv|]. split; [exact Ha|]. split; [reflexivity|].
      split; [lia|]. split; [lia|]. split; [lia|]. split; [exact Hfd|]. cbv zeta.
      left. split; [lia|]. split; reflexivity. }
    destruct (Z.eqb_spec mode Abi.ShadowOff) as [Hoff|Hoff].
    { step. eexists _, _. split; [reflexivity|]. right. exists m, slot, free.
      split; [exact Hr|]. split; [exact Hn|]. split; [exact Hlv|]. split; [exact Ha|]. split; [reflexivity|].
      split; [lia|]. split; [lia|]. split; [lia|]. split; [exact Hfd|]. cbv zeta.
      right; left. split; [lia|]. split; [exact Hoff|]. split; reflexivity. }
    destruct (Z.ltb_spec free 0) as [Hf0|Hf0].
    { step. eexists _, _. split; [reflexivity|]. right. exists m, slot, free.
      split; [exact Hr|]. split; [exact Hn|]. split; [exact Hlv|]. split; [exact Ha|]. split; [reflexivity|].
      split; [lia|]. split; [lia|]. split; [lia|]. split; [exact Hfd|]. cbv zeta.
      right; right; left. split; [lia|]. split; [exact Hoff|]. split; [exact Hf0|]. split; reflexivity. }
    step. rewrite (Hput free ltac:(lia)). eexists _, _. split; [reflexivity|]. right. exists m, slot, free.
    split; [exact Hr|]. split; [exact Hn|]. split; [exact Hlv|]. split; [exact Ha|]. split; [reflexivity|].
    split; [lia|]. split; [lia|]. split; [lia|]. split; [exact Hfd|]. cbv zeta.
    right; right; right. split; [lia|]. split; [exact Hoff|]. split; [exact Hf0|]. split; reflexivity.
Qed.

(** ** The marks after a register is set *)

(** Distinct IPAs, none negative, are distinct as the model's naturals. *)
Lemma marks_of_regs : forall sh, regs_ok (Isolation.shadowState_regs sh) -> marks_ok sh.
Proof.
  intros sh [Hd Hnn]. unfold marks_ok.
  assert (Ha : Forall (fun r => 0 <= Isolation.shadowReg_ipa r) (active (Isolation.shadowState_regs sh))).
  { rewrite Forall_forall in *. intros r Hr. apply Hnn. unfold active in Hr. apply filter_In in Hr. exact (proj1 Hr). }
  revert Hd Ha. generalize (active (Isolation.shadowState_regs sh)) as l.
  induction l as [|r l IH]; intros Hd Ha; [constructor|].
  cbn [map] in *. apply NoDup_cons_iff in Hd as [Hn Hd]. inversion Ha as [|? ? Hr Ha']; subst.
  constructor; [|exact (IH Hd Ha')].
  intros Hin. apply in_map_iff in Hin as (y & Ey & Hy). apply Hn. unfold reg_mark in Ey. cbn [mk_ipa] in Ey.
  rewrite Forall_forall in Ha'. pose proof (Ha' y Hy).
  replace (Isolation.shadowReg_ipa r) with (Isolation.shadowReg_ipa y) by lia. apply in_map. exact Hy.
Qed.

Lemma in_active : forall regs r, In r (active regs) <->
  exists j, (j < length regs)%nat /\ nth j regs Isolation.zero_shadowReg = r /\ is_on r = true.
Proof.
  intros regs r. unfold active. rewrite filter_In. split.
  - intros [Hr On]. destruct (In_nth regs r Isolation.zero_shadowReg Hr) as (j & Hj & E). exists j. auto.
  - intros (j & Hj & <- & On). split; [apply nth_In; exact Hj|exact On].
Qed.

(** Setting a settable register [k] to the mark asked for: the marks are
    those at other IPAs, and the new one unless it is off. *)
Lemma marks_after_set : forall sh k ipa mode value,
  len (Isolation.shadowState_regs sh) = 4 -> regs_ok (Isolation.shadowState_regs sh) -> 0 <= ipa -> 0 <= mode ->
  0 <= k < 4 -> settable (Isolation.shadowState_regs sh) k ipa ->
  forall x, In x (abs_marks (set_mark sh k ipa mode value)) <->
    (In x (abs_marks sh) /\ mk_ipa x <> Z.to_nat ipa) \/
    (Z.to_nat mode <> 0%nat /\ x = mkMark (Z.to_nat ipa) (Z.to_nat mode) (Z.to_nat value)).
Proof.
  intros sh k ipa mode value Hl Hr Hipa Hmode Hk Hcase.
  pose proof (regs_ok_set sh k ipa mode value Hr Hipa ltac:(unfold len in Hl; lia) Hcase) as Hr'.
  pose proof (marks_of_regs sh Hr) as Hm. destruct Hr as [_ Hnn]. unfold settable in Hcase. cbv zeta in Hcase.
  set (regs := Isolation.shadowState_regs sh) in *. unfold len in Hl.
  set (sh' := set_mark sh k ipa mode value) in *.
  assert (Hl' : length (Isolation.shadowState_regs sh') = length regs)
    by (unfold sh', set_mark; destruct sh; cbn; apply replace_nth_length).
  assert (Hn' : forall j, nth j (Isolation.shadowState_regs sh') Isolation.zero_shadowReg =
    if (j =? Z.to_nat k)%nat then Isolation.mk_shadowReg ipa mode value else nth j regs Isolation.zero_shadowReg)
    by (intros j; apply nth_set_mark; fold regs; lia).
  rewrite Forall_forall in Hnn.
  assert (Hnj : forall j, (j < length regs)%nat -> 0 <= Isolation.shadowReg_ipa (nth j regs Isolation.zero_shadowReg))
    by (intros j Hj; apply Hnn, nth_In; exact Hj).
  pose proof (proj1 (nodup_filter_pos (fun r => mk_ipa (reg_mark r)) _ regs Isolation.zero_shadowReg) Hm) as Hpos.
  (* a register on at another position marks another IPA *)
  assert (Hother : forall j, (j < length regs)%nat -> j <> Z.to_nat k ->
    is_on (nth j regs Isolation.zero_shadowReg) = true ->
    Z.to_nat (Isolation.shadowReg_ipa (nth j regs Isolation.zero_shadowReg)) <> Z.to_nat ipa).
  { intros j Hj Hjk On E. pose proof (Hnj j Hj).
    destruct Hcase as [(Onk & Ek)|(_ & None)].
    - apply (Hpos j (Z.to_nat k) Hj ltac:(lia) Hjk On Onk). unfold reg_mark. cbn [mk_ipa]. rewrite Ek. exact E.
    - apply (None j Hj). split; [exact On|lia]. }
  intros x. rewrite (abs_marks_in sh' (marks_of_regs sh' Hr') x), (abs_marks_in sh Hm x).
  assert (Hnew : is_on (Isolation.mk_shadowReg ipa mode value) = true <-> Z.to_nat mode <> 0%nat).
  { unfold is_on. cbn [Isolation.shadowReg_mode]. unfold Abi.ShadowOff.
    destruct (Z.eqb_spec mode 0); cbn [negb]; split; intros; try discriminate; try reflexivity; lia. }
  split.
  - intros (r & Hr & ->). apply in_active in Hr as (j & Hj & Er & On). rewrite Hl' in Hj. rewrite Hn' in Er.
    destruct (Nat.eqb_spec j (Z.to_nat k)) as [Ej|Nj].
    + subst r. right. split; [exact (proj1 Hnew On)|reflexivity].
    + left. split; [exists r; split; [apply in_active; exists j; auto|reflexivity]|].
      subst r. unfold reg_mark. cbn [mk_ipa]. exact (Hother j Hj Nj On).
  - intros [((r & Hr & ->) & Hne)|(Hmd & ->)].
    + apply in_active in Hr as (j & Hj & Er & On). exists r. split; [|reflexivity].
      apply in_active. exists j. split; [rewrite Hl'; exact Hj|]. split; [|exact On].
      rewrite Hn'. destruct (Nat.eqb_spec j (Z.to_nat k)) as [Ej|Nj]; [|exact Er].
      exfalso. subst j. destruct Hcase as [(_ & Ek)|(Offk & _)].
      * apply Hne. unfold reg_mark. cbn [mk_ipa]. f_equal. rewrite <- Er. exact Ek.
      * assert (is_on r = false) by (rewrite <- Er; exact Offk). congruence.
    + exists (Isolation.mk_shadowReg ipa mode value). split; [|reflexivity].
      apply in_active. exists (Z.to_nat k). split; [rewrite Hl'; lia|]. split; [rewrite Hn', Nat.eqb_refl; reflexivity|].
      exact (proj2 Hnew Hmd).
Qed.
