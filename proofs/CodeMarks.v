(** * The MMIO shadow marks as a set kept in IPA order

    Lemmas about the model's marks ([Spec.insert_mark], [Spec.shadow_marks])
    and their abstraction from the engine's registers ([CodeAbs.abs_marks]),
    toward the refinement of MMIO_SHADOW.
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
      ([shadow_marks_sorted], [shadow_marks_in]). *)
From Coq Require Import ZArith Lia List Bool Sorting.Sorted.
Open Scope Z_scope.
From Bulkhead.Spec Require Import State Spec.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodeAbs CodeLoop CodeVCPU CodeShadow.
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

Definition active (regs : list Isolation.shadowReg) : list Isolation.shadowReg :=
  filter (fun r => negb (Isolation.shadowReg_mode r =? Abi.ShadowOff)%Z) regs.

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

(** ** MMIO_SHADOW's search of the registers *)

Definition is_on (r : Isolation.shadowReg) : bool := negb (Isolation.shadowReg_mode r =? Abi.ShadowOff)%Z.

(** What the search of MMIO_SHADOW finds: [slot], a register that is not
    off and marks [ipa], or -1 when none does; [free], the first register
    that is off, or -1 when none is. *)
Definition scan_found (regs : list Isolation.shadowReg) (ipa slot free : Z) : Prop :=
  (0 <= slot -> is_on (nth (Z.to_nat slot) regs Isolation.zero_shadowReg) = true /\
                Isolation.shadowReg_ipa (nth (Z.to_nat slot) regs Isolation.zero_shadowReg) = ipa) /\
  (slot < 0 -> forall j, (j < length regs)%nat ->
     ~ (is_on (nth j regs Isolation.zero_shadowReg) = true /\ Isolation.shadowReg_ipa (nth j regs Isolation.zero_shadowReg) = ipa)) /\
  (0 <= free -> is_on (nth (Z.to_nat free) regs Isolation.zero_shadowReg) = false) /\
  (free < 0 -> forall j, (j < length regs)%nat -> is_on (nth j regs Isolation.zero_shadowReg) = true).

Lemma slot_scan_spec : forall (e : Isolation.Engine) tr (regs : list Isolation.shadowReg) ipa,
  len regs = 4 ->
  exists slot free, (loop (X:=Empty_set) 4
    (fun '(t'9, slot, free) => ret (t'9 <? 4))
    (fun '(t'9, slot, free) =>
       let i := t'9 in
       let! t'12 := idx regs t'9 in
       let r := t'12 in
       if negb (Isolation.shadowReg_mode r =? Abi.ShadowOff) && (Isolation.shadowReg_ipa r =? ipa) then
       let slot := i in ret (Continue (t'9, slot, free))
       else if (Isolation.shadowReg_mode r =? Abi.ShadowOff) && (free <? 0) then
       let free := i in ret (Continue (t'9, slot, free))
       else ret (Continue (t'9, slot, free)))
    (fun '(t'9, slot, free) => let t'9 := t'9 + 1 in ret (t'9, slot, free))
    (0, -1, -1)) e tr = Ok (Fall (4, slot, free)) e tr /\
    -1 <= slot < 4 /\ -1 <= free < 4 /\ scan_found regs ipa slot free.
Proof.
  intros e tr regs ipa Hregs. unfold len in Hregs.
  set (found := fun (i slot free : Z) =>
    (0 <= slot -> slot < i /\ is_on (nth (Z.to_nat slot) regs Isolation.zero_shadowReg) = true /\
                  Isolation.shadowReg_ipa (nth (Z.to_nat slot) regs Isolation.zero_shadowReg) = ipa) /\
    (slot < 0 -> forall j, (j < Z.to_nat i)%nat ->
       ~ (is_on (nth j regs Isolation.zero_shadowReg) = true /\ Isolation.shadowReg_ipa (nth j regs Isolation.zero_shadowReg) = ipa)) /\
    (0 <= free -> free < i /\ is_on (nth (Z.to_nat free) regs Isolation.zero_shadowReg) = false) /\
    (free < 0 -> forall j, (j < Z.to_nat i)%nat -> is_on (nth j regs Isolation.zero_shadowReg) = true)).
  match goal with |- context [loop 4 ?c ?b ?p _] =>
  destruct (loop_spec 4 c b p
    (fun '(i, slot, free) st tr' => st = e /\ tr' = tr /\ 0 <= i <= 4 /\ -1 <= slot < 4 /\ -1 <= free < 4 /\
       found i slot free)
    (fun j st tr' => st = e /\ tr' = tr /\ exists slot free, j = Fall (4, slot, free) /\
       -1 <= slot < 4 /\ -1 <= free < 4 /\ found 4 slot free)
    (fun '(i, _, _) => Z.to_nat (4 - i))) with (l := (0, -1, -1)) (s := e) (tr := tr)
    as (j & s' & tr' & Hj & -> & -> & slot & free & -> & Hs & Hf & Hfd) end.
  - intros [[i slot] free] st tr' (-> & -> & Hi & Hs & Hf & Hfd). exists (i <? 4). split; [reflexivity|]. split.
    + intros Hc. apply Z.ltb_lt in Hc. lia.
    + intros Hc. apply Z.ltb_ge in Hc. split; [reflexivity|]. split; [reflexivity|].
      exists slot, free. replace i with 4 in Hfd by lia. split; [f_equal; f_equal; f_equal; lia|]. split; [lia|]. split; [lia|exact Hfd].
  - intros [[i slot] free] st tr' (-> & -> & Hi & Hs & Hf & (F1 & F2 & F3 & F4)) Hc. injection Hc as Hc.
    apply Z.ltb_lt in Hc.
    assert (Hr : idx regs i e tr = Ok (nth (Z.to_nat i) regs Isolation.zero_shadowReg) e tr)
      by (apply idx_nth; [lia|apply nth_error_nth'; lia]).
    unfold bind. rewrite Hr. cbv beta iota zeta.
    set (r := nth (Z.to_nat i) regs Isolation.zero_shadowReg).
    assert (Hsucc : forall j, (j < Z.to_nat (i + 1))%nat -> (j < Z.to_nat i)%nat \/ j = Z.to_nat i) by lia.
    destruct (negb (Isolation.shadowReg_mode r =? Abi.ShadowOff) && (Isolation.shadowReg_ipa r =? ipa)) eqn:Hm.
    { apply andb_true_iff in Hm as [Hon Hip]. apply Z.eqb_eq in Hip. unfold ret.
      eexists _, _, _. split; [reflexivity|]. eexists. split; [reflexivity|].
      split; [|apply Z2Nat.inj_lt; lia].
      split; [reflexivity|]. split; [reflexivity|]. split; [lia|]. split; [lia|]. split; [lia|].
      split; [intros _; split; [lia|]; split; assumption|]. split; [intros; lia|].
      split; [intros H; destruct (F3 H); split; [lia|assumption]|].
      intros H j Hj. destruct (Hsucc j Hj) as [Hjl| ->]; [exact (F4 H j Hjl)|]. exact Hon. }
    assert (Hnot : ~ (is_on r = true /\ Isolation.shadowReg_ipa r = ipa)).
    { intros [A B]. unfold is_on in A. rewrite A, B, Z.eqb_refl in Hm. discriminate. }
    destruct ((Isolation.shadowReg_mode r =? Abi.ShadowOff) && (free <? 0)) eqn:Hm2.
    { apply andb_true_iff in Hm2 as [Hoff Hfr]. apply Z.ltb_lt in Hfr. unfold ret.
      eexists _, _, _. split; [reflexivity|]. eexists. split; [reflexivity|].
      split; [|apply Z2Nat.inj_lt; lia].
      split; [reflexivity|]. split; [reflexivity|]. split; [lia|]. split; [lia|]. split; [lia|].
      split; [intros H; destruct (F1 H) as (? & ? & ?); split; [lia|]; split; assumption|].
      split; [intros H j Hj; destruct (Hsucc j Hj) as [Hjl| ->]; [exact (F2 H j Hjl)|exact Hnot]|].
      split; [intros _; split; [lia|]; unfold is_on; fold r; rewrite Hoff; reflexivity|].
      intros H. lia. }
    unfold ret. eexists _, _, _. split; [reflexivity|]. eexists. split; [reflexivity|].
    split; [|apply Z2Nat.inj_lt; lia].
    split; [reflexivity|]. split; [reflexivity|]. split; [lia|]. split; [lia|]. split; [lia|].
    split; [intros H; destruct (F1 H) as (? & ? & ?); split; [lia|]; split; assumption|].
    split; [intros H j Hj; destruct (Hsucc j Hj) as [Hjl| ->]; [exact (F2 H j Hjl)|exact Hnot]|].
    split; [intros H; destruct (F3 H); split; [lia|assumption]|].
    intros H j Hj. destruct (Hsucc j Hj) as [Hjl| ->]; [exact (F4 H j Hjl)|].
    unfold is_on. fold r. destruct (Isolation.shadowReg_mode r =? Abi.ShadowOff) eqn:Hoff; [|reflexivity].
    cbn [andb] in Hm2. apply Z.ltb_ge in Hm2. lia.
  - split; [reflexivity|]. split; [reflexivity|]. split; [lia|]. split; [lia|]. split; [lia|].
    split; [intros; lia|]. split; [intros _ j Hj; cbn in Hj; lia|]. split; [intros; lia|]. intros _ j Hj. cbn in Hj. lia.
  - cbn. lia.
  - exists slot, free. split; [exact Hj|]. split; [lia|]. split; [lia|].
    destruct Hfd as (F1 & F2 & F3 & F4). replace (Z.to_nat 4) with (length regs) in F2, F4 by lia.
    split; [intros H; exact (proj2 (F1 H))|]. split; [exact F2|]. split; [intros H; exact (proj2 (F3 H))|exact F4].
Qed.
