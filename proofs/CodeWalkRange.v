(** * The walk after the stage-2 update at the root over several root entries

    Lemmas about proofs/code/Isolation.v, the translation of
    isolation/stage2.go, that carry on from CodeWalkUpdate.v (the walk
    after [update] at the root inside one root entry) and
    CodeUpdateRootRange.v ([root_inv], one iteration of [update]'s loop
    at the root, [l1_step], and the loop, [update_root_loop]).
    Proved here:
    - one iteration at root entry [i] leaves [step_post] of that entry
      ([update_root_step]), so the level-3 tables of the other root entries
      keep their entries ([subs3_kept], [subs3_of_post]); the walk from
      the root of an address of another root entry reads only that entry,
      the level-2 table it holds and the level-3 tables that table holds,
      so it stays as it was ([walk_other]);
    - one iteration is [update] of its entry's part of the range
      ([l1_step_end], [update_one_step]), so its walk is that of
      [update_root_entry_pw] (CodeWalkUpdate);
    - [root_blocks_ok]: the blocks of the root are aligned to 1 GiB and
      those of the level-2 tables it holds to 2 MiB;
    - from [root_inv] and [root_blocks_ok], with the [need_root] free
      tables [need] counts, [update] at the root of a page-aligned range
      [ipa, end') below 2^40, whatever root entries it spans, makes the
      walk from the root of every address below 2^40 the update's mapping
      inside [ipa, end') and leaves it as it was outside
      ([update_root_walk]); it keeps [root_inv] ([update_root_no_failure]);
    - so [walk] (CodeAbs) after [mapRange] and [unmapRange] of any
      page-aligned range below 2^40, from [root_inv] and [root_blocks_ok]
      with the tables their reservations count free, is the range's
      mapping inside it and as before outside, at every IPA page below
      2^40 ([mapRange_walk_range], [unmapRange_walk_range]); the stage-2
      stays a tree of tables since [root_inv] is kept.
    That [root_blocks_ok] is kept by the update is not proved here. *)
From Coq Require Import ZArith Lia List Bool String Znumtheory.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodeVMCreateRefine.
From Bulkhead.Proofs Require CodeAbs.
From Bulkhead.Proofs Require Import CodePlace CodeTrack CodeLens CodeLoop CodeLedger CodeVCPU CodeVMCreate
  CodeStage2 CodeShadow CodePool CodeFree CodeUpdate CodeUpdateFrame CodeUpdateL2 CodeUpdateRoot CodeUpdateRange
  CodeUpdateRootRange CodeWalkUpdate.
Import ListNotations.
Open Scope Z_scope.

(** ** One iteration at the root *)

(** The level-3 tables that the level-2 tables of the root entries other
    than [i] hold keep their entries. *)
Definition subs3_kept (e st : Isolation.Engine) (t i : Z) : Prop :=
  forall i', 0 <= i' < 1024 -> i' <> i -> Z.land (ent (tables e) t i') 3 = 3 -> forall j', 0 <= j' < 512 ->
    Z.land (tent (tables e) (child (pool_base e) (ent (tables e) t i')) j') 3 = 3 -> forall k, 0 <= k < 512 ->
    tent (tables st) (child (pool_base e) (tent (tables e) (child (pool_base e) (ent (tables e) t i')) j')) k =
    tent (tables e) (child (pool_base e) (tent (tables e) (child (pool_base e) (ent (tables e) t i')) j')) k.

(** [step_post] of a change of root entry [i] under [root_inv] keeps the
    level-3 tables of the other entries: they are in use, outside the
    subtree of [i] and not the root's tables. *)
Lemma subs3_of_post : forall e st t i M, root_inv e t -> 0 <= i < 1024 ->
  step_post e st (t + i / 512) (i mod 512) M -> subs3_kept e st t i.
Proof.
  intros e st t i M Hr Hi (_ & _ & _ & _ & Hfr & _) i' Hi' Hne H3 j' Hj' H3' k Hk.
  pose proof Hr as (Hl & Hn & Hdis).
  pose proof (sub_low e t i' j' H3 Hj' H3') as Hs.
  destruct (sub_used e t i' _ Hl Hi' Hs) as (Hy0 & _ & Hyu).
  destruct (Hn i' _ Hi' Hs) as (Hyt & Hyt1).
  destruct (Hfr _ Hy0 Hyu ltac:(intros Hs'; exact (Hdis i' i _ Hi' Hi Hne Hs Hs'))) as (_ & He).
  apply He; [exact Hk|]. left.
  assert (0 <= i / 512 < 2) by (split; [apply Z.div_pos|apply Z.div_lt_upper_bound]; lia). lia.
Qed.

(** The walk from the root of an address [y] below 2^40 outside root
    entry [i] stays as it was when the other root entries, the level-2
    tables they hold and the level-3 tables those hold keep their
    entries. *)
Lemma walk_other : forall e st t i y, pool_base st = pool_base e -> 0 <= y < 2 ^ 40 -> y / 2 ^ 30 <> i ->
  (forall i', 0 <= i' < 1024 -> i' <> i -> ent (tables st) t i' = ent (tables e) t i') ->
  subs_kept e st t i -> subs3_kept e st t i ->
  view (pw (tables st) (pool_base st) y 3 t 1) = view (pw (tables e) (pool_base e) y 3 t 1).
Proof.
  intros e st t i y HB Hy Hne Ho Hsk Hs3.
  rewrite !view_pw1, !eidx_val by lia. change (nentries 1) with 1024. change (2 ^ (12 + 9 * (3 - 1))) with (2 ^ 30).
  assert (Hk : 0 <= y / 2 ^ 30 < 1024) by (split; [apply Z.div_pos|apply Z.div_lt_upper_bound]; lia).
  rewrite (Z.mod_small (y / 2 ^ 30) 1024) by lia.
  rewrite (Ho _ Hk Hne), HB. unfold root_view.
  destruct (valid_d (ent (tables e) t (y / 2 ^ 30))); [|reflexivity].
  destruct (Z.land (ent (tables e) t (y / 2 ^ 30)) 3 =? 3) eqn:E3; [|reflexivity]. apply Z.eqb_eq in E3.
  rewrite !walk2_entry by lia. cbv zeta.
  assert (Hj : 0 <= (y / 2 ^ 21) mod 512 < 512) by (apply Z.mod_pos_bound; lia).
  rewrite (Hsk _ Hk Hne E3 _ Hj).
  destruct (valid_d (tent (tables e) (child (pool_base e) (ent (tables e) t (y / 2 ^ 30))) ((y / 2 ^ 21) mod 512)));
    [|reflexivity].
  destruct (Z.land (tent (tables e) (child (pool_base e) (ent (tables e) t (y / 2 ^ 30))) ((y / 2 ^ 21) mod 512)) 3 =? 3)
    eqn:E3'; [|reflexivity]. apply Z.eqb_eq in E3'.
  rewrite (Hs3 _ Hk Hne E3 _ Hj E3' _ ltac:(apply Z.mod_pos_bound; lia)). reflexivity.
Qed.

(** An iteration reads of the end of the range only the end of its
    entry's part. *)
Lemma l1_step_end : forall f t end' end2 u cur (s : Isolation.Engine) tr, 0 <= cur < 2 ^ 40 ->
  l1_stop cur end' = l1_stop cur end2 -> l1_step f t end' u cur s tr = l1_step f t end2 u cur s tr.
Proof.
  intros f t end' end2 u cur s tr Hc Hs.
  destruct (levelSize_ok s tr 1 ltac:(lia)) as [Hsz Hmask].
  change (2 ^ (12 + 9 * (3 - 1))) with (2 ^ 30) in Hsz, Hmask. change (12 + 9 * (3 - 1)) with 30 in Hmask.
  pose proof (l1_base_bound cur ltac:(lia)) as Hb.
  unfold l1_step at 1.
  step_by Hsz. rewrite Hmask, andnot_ones by lia. change (cur / 2 ^ 30 * 2 ^ 30) with (l1_base cur).
  step_by Hsz. rewrite (wrapu_small (l1_base cur + 2 ^ 30)) by lia.
  change (Z.min end' (l1_base cur + 2 ^ 30)) with (l1_stop cur end'). rewrite Hs.
  symmetry. unfold l1_step.
  step_by Hsz. rewrite Hmask, andnot_ones by lia. change (cur / 2 ^ 30 * 2 ^ 30) with (l1_base cur).
  step_by Hsz. rewrite (wrapu_small (l1_base cur + 2 ^ 30)) by lia.
  change (Z.min end2 (l1_base cur + 2 ^ 30)) with (l1_stop cur end2). reflexivity.
Qed.

(** An iteration from [cur] is [update] of [cur, l1_stop cur end'). *)
Lemma update_one_step : forall f t cur end' u st tr st' tr', 0 <= cur < end' -> end' <= 2 ^ 40 ->
  l1_step f t end' u cur st tr = Ok (Continue (l1_stop cur end')) st' tr' ->
  Isolation.Engine_update (S f) root t 1 cur (l1_stop cur end') u st tr = Ok tt st' tr'.
Proof.
  intros f t cur end' u st tr st' tr' Hc H40 H.
  pose proof (l1_stop_gt cur end' ltac:(lia)) as Hg.
  assert (Hss : l1_stop cur (l1_stop cur end') = l1_stop cur end') by (unfold l1_stop; lia).
  destruct (update_root_loop f t cur (l1_stop cur end') u
    (fun c s tr1 => (c = cur /\ s = st /\ tr1 = tr) \/ (c = l1_stop cur end' /\ s = st' /\ tr1 = tr')) st tr
    ltac:(lia) ltac:(lia) (or_introl (conj eq_refl (conj eq_refl eq_refl)))) as (s1 & tr1 & Hup & HI).
  - intros c s tr1 Hc' [(-> & -> & ->)|(-> & _)]; [|lia].
    exists (l1_stop cur end'), st', tr'. split; [|split; [lia|right; auto]].
    rewrite (l1_step_end f t (l1_stop cur end') end' u cur st tr ltac:(lia) Hss). exact H.
  - destruct HI as [(E & _)|(_ & -> & ->)]; [lia|exact Hup].
Qed.

(** ** Over several root entries *)

(** The blocks of root [t] are aligned to 1 GiB, and those of the level-2
    tables its entries hold to 2 MiB ([blocks_ok], CodeWalkUpdate). *)
Definition root_blocks_ok (e : Isolation.Engine) (t : Z) : Prop :=
  forall i, 0 <= i < 1024 ->
    (valid_d (ent (tables e) t i) = true -> Z.land (ent (tables e) t i) 3 <> 3 ->
       Z.land (ent (tables e) t i) Isolation.descOAMask mod 2 ^ 30 = 0) /\
    (Z.land (ent (tables e) t i) 3 = 3 -> blocks_ok e (child (pool_base e) (ent (tables e) t i))).

(** update at the root [t] of a stage-2 with [root_inv] and
    [root_blocks_ok] over a page-aligned range [ipa, end') below 2^40,
    whatever root entries it spans, given the [need_root] free tables
    [need] counts and output addresses below 2^48: it never fails, keeps
    what [update_root_no_failure] says, and the walk from the root of
    every address below 2^40 is afterwards the update's mapping inside
    [ipa, end') and as it was outside. *)
Theorem update_root_walk : forall f e tr t ipa end' u,
  (8 <= f)%nat -> root_inv e t -> root_blocks_ok e t ->
  pool_base e mod 4096 = 0 -> pool_base e + 4096 * len (tables e) <= 2 ^ 48 ->
  0 <= ipa <= end' -> end' <= 2 ^ 40 ->
  ipa mod 4096 = 0 -> end' mod 4096 = 0 -> Isolation.s2update_delta u mod 4096 = 0 ->
  need_root (Z.to_nat (end' - ipa)) (tables e) (pool_base e) t ipa end' u <= count_free (Isolation.Engine_pool e) ->
  pa_below u ipa end' ->
  exists st tr', Isolation.Engine_update (S f) root t 1 ipa end' u e tr = Ok tt st tr' /\
    root_inv st t /\ pool_base st = pool_base e /\ len (tables st) = len (tables e) /\
    count_free (Isolation.Engine_pool e) - need_root (Z.to_nat (end' - ipa)) (tables e) (pool_base e) t ipa end' u
      <= count_free (Isolation.Engine_pool st) /\ tree_frame e st t /\
    forall y, 0 <= y < 2 ^ 40 ->
      view (pw (tables st) (pool_base st) y 3 t 1) =
        if (ipa <=? y) && (y <? end') then u_map u y else view (pw (tables e) (pool_base e) y 3 t 1).
Proof.
  intros f e tr t ipa end' u Hf Hr Hrb Hal Hbelow Hrange H40 Hia Hea Hd Hneed Hpa.
  set (NT := need_root (Z.to_nat (end' - ipa)) (tables e) (pool_base e) t ipa end' u) in *.
  destruct (update_root_loop f t ipa end' u
    (fun cur st _ => root_inv st t /\ ipa <= cur <= end' /\ cur mod 4096 = 0 /\
       pool_base st = pool_base e /\ len (tables st) = len (tables e) /\
       (cur < end' -> forall k, cur / 2 ^ 30 <= k < 1024 -> ent (tables st) t k = ent (tables e) t k /\
          (Z.land (ent (tables e) t k) 3 = 3 -> forall j, 0 <= j < 512 ->
             tent (tables st) (child (pool_base e) (ent (tables e) t k)) j = tent (tables e) (child (pool_base e) (ent (tables e) t k)) j)) /\
       count_free (Isolation.Engine_pool e) - (NT - need_root (Z.to_nat (end' - cur)) (tables e) (pool_base e) t cur end' u)
         <= count_free (Isolation.Engine_pool st) /\ tree_frame e st t /\
       (forall y, 0 <= y < 2 ^ 40 -> view (pw (tables st) (pool_base st) y 3 t 1) =
          if (ipa <=? y) && (y <? cur) then u_map u y else view (pw (tables e) (pool_base e) y 3 t 1))) e tr
    ltac:(lia) ltac:(lia)) as (st & tr' & Hup & Hfin).
  - split; [exact Hr|]. split; [lia|]. split; [exact Hia|]. split; [reflexivity|]. split; [reflexivity|].
    split; [intros _ k _; split; [reflexivity|intros; reflexivity]|]. split; [fold NT; lia|].
    split; [apply tree_frame_refl|].
    intros y Hy. destruct (Z.ltb_spec y ipa); rewrite ?andb_false_r;
      [rewrite (proj2 (Z.leb_gt ipa y)) by lia; reflexivity|reflexivity].
  - intros cur st tr1 Hc (Hr1 & Hc1 & Hca & HB1 & Hl1 & Hent1 & Hn1 & Htf1 & Hw1).
    assert (Hk0 : 0 <= cur / 2 ^ 30 < 1024) by (split; [apply Z.div_pos|apply Z.div_lt_upper_bound]; lia).
    assert (Ei : (cur / 2 ^ 30) mod 1024 = cur / 2 ^ 30) by (apply Z.mod_small; lia).
    assert (Hi : 0 <= (cur / 2 ^ 30) mod 1024 < 1024) by lia.
    destruct (Hent1 ltac:(lia) (cur / 2 ^ 30) ltac:(lia)) as (Hek & Hck).
    assert (Ena : need_root_at (tables st) (pool_base st) t cur end' u = need_root_at (tables e) (pool_base e) t cur end' u).
    { rewrite HB1. apply need_root_at_same; rewrite Ei; [exact Hek|exact Hck]. }
    pose proof (need_root_step (tables e) (pool_base e) t cur end' u ltac:(lia)) as Hn.
    pose proof (l1_stop_gt cur end' ltac:(lia)) as Hsg.
    pose proof (need_root_bound (Z.to_nat (end' - l1_stop cur end')) (tables e) (pool_base e) t (l1_stop cur end') end' u
      ltac:(lia)) as Hnb.
    pose proof (need_root_at_bound (tables e) (pool_base e) t cur end' u ltac:(lia)) as Hab.
    assert (Hna0 : need_root_at (tables st) (pool_base st) t cur end' u <= count_free (Isolation.Engine_pool st))
      by (rewrite Ena; lia).
    destruct (update_root_step f st tr1 t cur end' u Hf Hr1 ltac:(rewrite HB1; exact Hal) ltac:(rewrite HB1, Hl1; exact Hbelow)
      ltac:(lia) H40 Hca Hea Hd Hna0) as (st' & tr' & Hs & Hr2 & HB2 & Hl2 & Ho2 & Hc2 & Hsk2 & Htf2 & M & Hpost).
    pose proof (subs3_of_post st st' t ((cur / 2 ^ 30) mod 1024) M Hr1 Hi Hpost) as Hs3.
    pose proof (update_one_step f t cur end' u st tr1 st' tr' ltac:(lia) H40 Hs) as Hone.
    assert (Hss : l1_stop cur (l1_stop cur end') = l1_stop cur end') by (unfold l1_stop; lia).
    pose proof (l1_base_bound cur ltac:(lia)) as Hb.
    assert (Hst : l1_stop cur end' <= l1_base cur + 2 ^ 30) by (unfold l1_stop; lia).
    pose proof Hr1 as (Hl1' & Hne1 & _). pose proof Hl1' as (Hpi1 & Ht & Htl & _ & _ & Hents1 & _).
    assert (Htab : Z.land (ent (tables st) t ((cur / 2 ^ 30) mod 1024)) 3 = 3 ->
      pool_base st <= Z.land (ent (tables st) t ((cur / 2 ^ 30) mod 1024)) Isolation.descOAMask /\
      child (pool_base st) (ent (tables st) t ((cur / 2 ^ 30) mod 1024)) < len (tables st) /\
      l2_inv st (child (pool_base st) (ent (tables st) t ((cur / 2 ^ 30) mod 1024))) /\
      t + ((cur / 2 ^ 30) mod 1024) / 512 <> child (pool_base st) (ent (tables st) t ((cur / 2 ^ 30) mod 1024)) /\
      (forall j', 0 <= j' < 512 ->
         Z.land (tent (tables st) (child (pool_base st) (ent (tables st) t ((cur / 2 ^ 30) mod 1024))) j') 3 = 3 ->
         child (pool_base st) (tent (tables st) (child (pool_base st) (ent (tables st) t ((cur / 2 ^ 30) mod 1024))) j')
           <> t + ((cur / 2 ^ 30) mod 1024) / 512) /\
      blocks_ok st (child (pool_base st) (ent (tables st) t ((cur / 2 ^ 30) mod 1024)))).
    { intros H3. destruct (Hents1 _ Hi H3) as (Hle & Hlt & Hinv & Hct & Hct1).
      assert (Hq : 0 <= ((cur / 2 ^ 30) mod 1024) / 512 < 2) by (split; [apply Z.div_pos|apply Z.div_lt_upper_bound]; lia).
      split; [exact Hle|]. split; [exact Hlt|]. split; [exact Hinv|]. split; [lia|]. split.
      - intros j' Hj' H3'. destruct (Hne1 _ _ Hi (sub_low st t _ j' H3 Hj' H3')) as (Ha & Hb'). lia.
      - assert (H3e : Z.land (ent (tables e) t (cur / 2 ^ 30)) 3 = 3) by (rewrite <- Hek, <- Ei; exact H3).
        rewrite Ei, HB1, Hek. intros j Hj. rewrite (Hck H3e j Hj). exact (proj2 (Hrb _ Hk0) H3e j Hj). }
    assert (Hblk : valid_d (ent (tables st) t ((cur / 2 ^ 30) mod 1024)) = true ->
      Z.land (ent (tables st) t ((cur / 2 ^ 30) mod 1024)) 3 <> 3 ->
      Z.land (ent (tables st) t ((cur / 2 ^ 30) mod 1024)) Isolation.descOAMask mod 2 ^ 30 = 0).
    { rewrite Ei, Hek. apply (proj1 (Hrb _ Hk0)). }
    assert (Hneq : need_root_at (tables st) (pool_base st) t cur (l1_stop cur end') u =
      need_root_at (tables st) (pool_base st) t cur end' u) by (unfold need_root_at; rewrite Hss; reflexivity).
    destruct (update_root_entry_pw f st tr1 t cur (l1_stop cur end') u Hf Hpi1 Ht ltac:(lia)
      (l1_inv_slot_used st t _ Hl1' Hi) ltac:(rewrite HB1; exact Hal) ltac:(rewrite HB1, Hl1; exact Hbelow)
      ltac:(lia) Hst ltac:(lia) Hca (l1_stop_page cur end' Hea) Hd Htab Hblk
      ltac:(rewrite Hneq; exact Hna0) (pa_below_sub u cur end' (l1_stop cur end') ltac:(lia) (pa_below_sub' u ipa cur end' ltac:(lia) Hpa)))
      as (st2 & tr2 & Hup2 & Hw2).
    rewrite Hone in Hup2. apply ok_state in Hup2. subst st2.
    exists (l1_stop cur end'), st', tr'. split; [exact Hs|]. split; [lia|].
    split; [exact Hr2|]. split; [lia|]. split; [apply l1_stop_page; exact Hea|].
    split; [congruence|]. split; [congruence|]. split; [|split; [|split]].
    + intros Hlt k Hk. destruct (l1_stop_next cur end' ltac:(lia) Hlt) as (_ & Ediv).
      rewrite Ediv in Hk. rewrite Ei in Ho2, Hsk2.
      destruct (Hent1 ltac:(lia) k ltac:(lia)) as (Hek' & Hck').
      split; [rewrite Ho2 by lia; exact Hek'|].
      intros H3 j Hj. rewrite <- Hck' by assumption.
      pose proof (Hsk2 k ltac:(lia) ltac:(lia) ltac:(rewrite Hek'; exact H3) j Hj) as E.
      rewrite Hek', HB1 in E. exact E.
    + rewrite Ena in Hc2. lia.
    + exact (tree_frame_trans e st st' t Htf1 Htf2).
    + intros y Hy.
      destruct (Z_lt_le_dec y (l1_base cur)) as [Hyl|Hyl];
        [|destruct (Z_lt_le_dec y (l1_base cur + 2 ^ 30)) as [Hyh|Hyh]].
      2:{ rewrite (Hw2 y ltac:(lia)), (Hw1 y Hy).
          destruct (Z.leb_spec ipa y), (Z.ltb_spec y cur), (Z.leb_spec cur y), (Z.ltb_spec y (l1_stop cur end'));
            cbn [andb]; try reflexivity; lia. }
      * assert (Hne : y / 2 ^ 30 <> (cur / 2 ^ 30) mod 1024).
        { rewrite Ei. assert (y / 2 ^ 30 < cur / 2 ^ 30) by (apply Z.div_lt_upper_bound; unfold l1_base in Hyl; lia). lia. }
        rewrite (walk_other st st' t ((cur / 2 ^ 30) mod 1024) y HB2 Hy Hne Ho2 Hsk2 Hs3), (Hw1 y Hy).
        destruct (Z.leb_spec ipa y), (Z.ltb_spec y cur), (Z.ltb_spec y (l1_stop cur end')); cbn [andb]; try reflexivity; lia.
      * assert (Hne : y / 2 ^ 30 <> (cur / 2 ^ 30) mod 1024).
        { rewrite Ei. assert (cur / 2 ^ 30 + 1 <= y / 2 ^ 30) by (apply Z.div_le_lower_bound; unfold l1_base in Hyh; lia). lia. }
        rewrite (walk_other st st' t ((cur / 2 ^ 30) mod 1024) y HB2 Hy Hne Ho2 Hsk2 Hs3), (Hw1 y Hy).
        destruct (Z.leb_spec ipa y), (Z.ltb_spec y cur), (Z.ltb_spec y (l1_stop cur end')); cbn [andb]; try reflexivity; lia.
  - destruct Hfin as (Hr' & _ & _ & HB & Hl & _ & Hc & Htf & Hw). exists st, tr'. split; [exact Hup|].
    split; [exact Hr'|]. split; [exact HB|]. split; [exact Hl|]. split; [|split; [exact Htf|exact Hw]].
    rewrite Z.sub_diag in Hc. cbn in Hc. fold NT. lia.
Qed.

(** ** mapRange and unmapRange over several root entries *)

Lemma walk_lim : forall k, Z.of_nat k * 4096 < 2 ^ 40 -> Z.of_nat k * 4096 < Isolation.ipaLimit.
Proof. intros k H. change Isolation.ipaLimit with (2 ^ 40). exact H. Qed.

(** mapRange of [n] pages at a page-aligned [ipa] to a page-aligned [pa],
    on a stage-2 whose root has [root_inv] and [root_blocks_ok], with at
    least the tables its reservation [mapNeed] counts free and output
    addresses below 2^48: it never fails, keeps [root_inv]
    ([mapRange_no_failure]), and afterwards [walk] (CodeAbs) of every IPA
    page below 2^40 maps the page to its offset from [pa] with the
    permission bits of [a] inside the range, and is as before outside. *)
Theorem mapRange_walk_range : forall e tr s s2 ipa pa n a k,
  good s e s2 -> root_inv e (Isolation.stage2_root s2) -> root_blocks_ok e (Isolation.stage2_root s2) ->
  pool_base e mod 4096 = 0 -> pool_base e + 4096 * len (tables e) <= 2 ^ 48 ->
  0 <= ipa -> 0 <= n -> ipa + n * 4096 <= 2 ^ 40 -> ipa mod 4096 = 0 -> pa mod 4096 = 0 ->
  Isolation.Engine_mapNeed root s ipa pa n e tr = Ok k e tr -> k <= count_free (Isolation.Engine_pool e) ->
  pa_below (map_u s2 ipa pa a) ipa (ipa + n * 4096) ->
  exists st tr', Isolation.Engine_mapRange root s ipa pa n a e tr = Ok tt st tr' /\
    root_inv st (Isolation.stage2_root s2) /\ pool_base st = pool_base e /\ len (tables st) = len (tables e) /\
    count_free (Isolation.Engine_pool e) - k <= count_free (Isolation.Engine_pool st) /\
    tree_frame e st (Isolation.stage2_root s2) /\
    forall k', Z.of_nat k' * 4096 < 2 ^ 40 ->
      CodeAbs.walk st s2 k' = if (ipa <=? Z.of_nat k' * 4096) && (Z.of_nat k' * 4096 <? ipa + n * 4096)
                              then u_map (map_u s2 ipa pa a) (Z.of_nat k' * 4096) else CodeAbs.walk e s2 k'.
Proof.
  intros e tr s s2 ipa pa n a k Hg Hr Hrb Hal Hbelow Hipa Hn H40 Hia Hpa Hk Hle Hpb.
  pose proof (root_inv_l1 e _ Hr) as Hl. pose proof Hl as ((Hok & _) & Ht & _).
  assert (Hd : Isolation.s2update_delta (map_u s2 ipa pa a) mod 4096 = 0).
  { cbn [map_u Isolation.s2update_delta]. change 4096 with (2 ^ 12). apply wrapu_align; [lia|].
    change (2 ^ 12) with 4096. rewrite Zminus_mod, Hpa, Hia. reflexivity. }
  rewrite (mapNeed_spec e tr s s2 ipa pa n Hok Ht (l1_inv_tree e _ Hl) Hg Hipa Hn H40) in Hk.
  injection Hk as <-.
  unfold Isolation.Engine_mapRange, bind at 1. rewrite (deref_good _ _ _ _ Hg). cbv beta iota zeta.
  unfold bind at 1. rewrite (deref_good _ _ _ _ Hg). cbv beta iota.
  rewrite shl12, wrapu_small by lia.
  change Isolation.S2StartLevel with 1. change rec_fuel with (S 63).
  change (Isolation.mk_s2update (Isolation.stage2_vmid s2) (wrapu 64 (pa - ipa)) a false) with (map_u s2 ipa pa a).
  destruct (update_root_walk 63 e tr (Isolation.stage2_root s2) ipa (ipa + n * 4096) (map_u s2 ipa pa a)
    ltac:(lia) Hr Hrb Hal Hbelow ltac:(lia) H40 Hia ltac:(rewrite Z.add_mod, Z.mod_mul, Hia by lia; reflexivity) Hd
    ltac:(replace (ipa + n * 4096 - ipa) with (n * 4096) by ring; erewrite need_root_u; [exact Hle|reflexivity|reflexivity])
    Hpb)
    as (st & tr' & Hup & Hr' & HB & HL & Hc & Htf & Hw).
  replace (ipa + n * 4096 - ipa) with (n * 4096) in Hc by ring.
  rewrite (need_root_u _ _ _ _ _ _ _ (Isolation.mk_s2update (Isolation.stage2_vmid s2) (wrapu 64 (pa - ipa)) Isolation.zero_Attr false))
    in Hc by reflexivity.
  step_by Hup. exists st, tr'. split; [reflexivity|]. split; [exact Hr'|]. split; [exact HB|]. split; [exact HL|].
  split; [exact Hc|]. split; [exact Htf|].
  intros k' Hk'. pose proof (root_inv_l1 st _ Hr') as Hl'. pose proof Hl' as ((Hok' & _) & _).
  rewrite (walk_view st s2 k' Hok' Ht (l1_inv_tree st _ Hl') (walk_lim k' Hk')),
    (walk_view e s2 k' Hok Ht (l1_inv_tree e _ Hl) (walk_lim k' Hk')).
  apply Hw. lia.
Qed.

(** unmapRange of [n] pages at a page-aligned [ipa] on a stage-2 whose
    root has [root_inv] and [root_blocks_ok], with at least the tables
    its reservation [unmapNeed] counts free: it never fails, keeps
    [root_inv] ([unmapRange_no_failure]), and afterwards [walk] of every
    IPA page below 2^40 maps nothing inside the range and is as before
    outside. *)
Theorem unmapRange_walk_range : forall e tr s s2 ipa n k,
  good s e s2 -> root_inv e (Isolation.stage2_root s2) -> root_blocks_ok e (Isolation.stage2_root s2) ->
  pool_base e mod 4096 = 0 -> pool_base e + 4096 * len (tables e) <= 2 ^ 48 ->
  0 <= ipa -> 0 <= n -> ipa + n * 4096 <= 2 ^ 40 -> ipa mod 4096 = 0 ->
  Isolation.Engine_unmapNeed root s ipa n e tr = Ok k e tr -> k <= count_free (Isolation.Engine_pool e) ->
  exists st tr', Isolation.Engine_unmapRange root s ipa n e tr = Ok tt st tr' /\
    root_inv st (Isolation.stage2_root s2) /\ pool_base st = pool_base e /\ len (tables st) = len (tables e) /\
    count_free (Isolation.Engine_pool e) - k <= count_free (Isolation.Engine_pool st) /\
    tree_frame e st (Isolation.stage2_root s2) /\
    forall k', Z.of_nat k' * 4096 < 2 ^ 40 ->
      CodeAbs.walk st s2 k' = if (ipa <=? Z.of_nat k' * 4096) && (Z.of_nat k' * 4096 <? ipa + n * 4096)
                              then None else CodeAbs.walk e s2 k'.
Proof.
  intros e tr s s2 ipa n k Hg Hr Hrb Hal Hbelow Hipa Hn H40 Hia Hk Hle.
  pose proof (root_inv_l1 e _ Hr) as Hl. pose proof Hl as ((Hok & _) & Ht & _).
  rewrite (unmapNeed_spec e tr s s2 ipa n Hok Ht (l1_inv_tree e _ Hl) Hg Hipa Hn H40) in Hk.
  injection Hk as <-.
  unfold Isolation.Engine_unmapRange, bind at 1. rewrite (deref_good _ _ _ _ Hg). cbv beta iota zeta.
  unfold bind at 1. rewrite (deref_good _ _ _ _ Hg). cbv beta iota.
  rewrite shl12, wrapu_small by lia.
  change Isolation.S2StartLevel with 1. change rec_fuel with (S 63).
  change (Isolation.mk_s2update (Isolation.stage2_vmid s2) 0 Isolation.zero_Attr true) with (unmap_u s2).
  destruct (update_root_walk 63 e tr (Isolation.stage2_root s2) ipa (ipa + n * 4096) (unmap_u s2)
    ltac:(lia) Hr Hrb Hal Hbelow ltac:(lia) H40 Hia ltac:(rewrite Z.add_mod, Z.mod_mul, Hia by lia; reflexivity) eq_refl
    ltac:(replace (ipa + n * 4096 - ipa) with (n * 4096) by ring; exact Hle)
    ltac:(intros Hun; discriminate Hun))
    as (st & tr' & Hup & Hr' & HB & HL & Hc & Htf & Hw).
  replace (ipa + n * 4096 - ipa) with (n * 4096) in Hc by ring.
  step_by Hup. exists st, tr'. split; [reflexivity|]. split; [exact Hr'|]. split; [exact HB|]. split; [exact HL|].
  split; [exact Hc|]. split; [exact Htf|].
  intros k' Hk'. pose proof (root_inv_l1 st _ Hr') as Hl'. pose proof Hl' as ((Hok' & _) & _).
  rewrite (walk_view st s2 k' Hok' Ht (l1_inv_tree st _ Hl') (walk_lim k' Hk')),
    (walk_view e s2 k' Hok Ht (l1_inv_tree e _ Hl) (walk_lim k' Hk')).
  rewrite Hw by lia. destruct (_ && _); reflexivity.
Qed.
