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
    - [root_blocks_below]: the blocks of the root and of the level-2
      tables it holds end below 2^48 (output address plus span), which
      follows from [walk_below], a property of the walk alone: every page
      the walk maps lies below 2^48 ([below_root_blocks]: the walk reads
      each block's last page);
    - from [root_inv] and [root_blocks_below], with the [need_root] free
      tables [need] counts, [update] at the root of a page-aligned range
      [ipa, end') below 2^40, whatever root entries it spans, makes the
      walk from the root of every address below 2^40 the update's mapping
      inside [ipa, end') and leaves it as it was outside
      ([update_root_walk]); it keeps [root_inv] ([update_root_no_failure]);
    - so [walk] (CodeAbs) after [mapRange] and [unmapRange] of any
      page-aligned range below 2^40, from [root_inv] and [walk_below]
      with the tables their reservations count free, is the range's
      mapping inside it and as before outside, at every IPA page below
      2^40 ([mapRange_walk_range], [unmapRange_walk_range]); the stage-2
      stays a tree of tables since [root_inv] is kept, and [walk_below]
      is kept when the map's output addresses lie below 2^48
      ([walk_below_after]). *)
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

(** The blocks of root [t], and those of the level-2 tables its entries
    hold ([blocks_below], CodeWalkUpdate), end below 2^48. *)
Definition root_blocks_below (e : Isolation.Engine) (t : Z) : Prop :=
  forall i, 0 <= i < 1024 ->
    (valid_d (ent (tables e) t i) = true -> Z.land (ent (tables e) t i) 3 <> 3 ->
       Z.land (ent (tables e) t i) Isolation.descOAMask + 2 ^ 30 <= 2 ^ 48) /\
    (Z.land (ent (tables e) t i) 3 = 3 -> blocks_below e (child (pool_base e) (ent (tables e) t i))).

(** update at the root [t] of a stage-2 with [root_inv] and
    [root_blocks_below] over a page-aligned range [ipa, end') below 2^40,
    whatever root entries it spans, given the [need_root] free tables
    [need] counts and output addresses below 2^48: it never fails, keeps
    what [update_root_no_failure] says, and the walk from the root of
    every address below 2^40 is afterwards the update's mapping inside
    [ipa, end') and as it was outside. *)
Theorem update_root_walk : forall f e tr t ipa end' u,
  (8 <= f)%nat -> root_inv e t -> root_blocks_below e t ->
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
      blocks_below st (child (pool_base st) (ent (tables st) t ((cur / 2 ^ 30) mod 1024)))).
    { intros H3. destruct (Hents1 _ Hi H3) as (Hle & Hlt & Hinv & Hct & Hct1).
      assert (Hq : 0 <= ((cur / 2 ^ 30) mod 1024) / 512 < 2) by (split; [apply Z.div_pos|apply Z.div_lt_upper_bound]; lia).
      split; [exact Hle|]. split; [exact Hlt|]. split; [exact Hinv|]. split; [lia|]. split.
      - intros j' Hj' H3'. destruct (Hne1 _ _ Hi (sub_low st t _ j' H3 Hj' H3')) as (Ha & Hb'). lia.
      - assert (H3e : Z.land (ent (tables e) t (cur / 2 ^ 30)) 3 = 3) by (rewrite <- Hek, <- Ei; exact H3).
        rewrite Ei, HB1, Hek. intros j Hj. rewrite (Hck H3e j Hj). exact (proj2 (Hrb _ Hk0) H3e j Hj). }
    assert (Hblk : valid_d (ent (tables st) t ((cur / 2 ^ 30) mod 1024)) = true ->
      Z.land (ent (tables st) t ((cur / 2 ^ 30) mod 1024)) 3 <> 3 ->
      Z.land (ent (tables st) t ((cur / 2 ^ 30) mod 1024)) Isolation.descOAMask + 2 ^ 30 <= 2 ^ 48).
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

(** ** Output addresses below 2^48, from the walk alone *)

(** Every page the walk of [s2] maps, at an IPA page below 2^40, lies
    below 2^48. Unlike [root_blocks_below] it speaks of the walk only, so
    every map whose output addresses lie below 2^48 keeps it. *)
Definition walk_below (e : Isolation.Engine) (s2 : Isolation.stage2) : Prop :=
  forall k p w, Z.of_nat k * 4096 < 2 ^ 40 -> CodeAbs.walk e s2 k = Some (p, w) -> p < 2 ^ 48.

(** A valid leaf at level [lvl] whose last page, in the span at [b], the
    walk reads below 2^48 ends below 2^48. *)
Lemma leaf_last : forall d lvl b, 1 <= lvl <= 3 -> 0 <= b -> b mod span lvl = 0 -> valid_d d = true ->
  (forall p w, leaf_view d lvl (b + span lvl - 4096) = Some (p, w) -> p < 2 ^ 48) ->
  Z.land d Isolation.descOAMask + span lvl <= 2 ^ 48.
Proof.
  intros d lvl b Hl Hb0 Hb Hv H.
  assert (Hs : 4096 <= span lvl <= 2 ^ 30).
  { unfold span. split; [change 4096 with (2 ^ 12); apply Z.pow_le_mono_r|apply Z.pow_le_mono_r]; lia. }
  destruct (oa_range d) as [Hoa Hoa4].
  assert (Em : (b + span lvl - 4096) mod span lvl = span lvl - 4096).
  { rewrite (Z.div_mod b (span lvl)) by lia. rewrite Hb, Z.add_0_r.
    replace (span lvl * (b / span lvl) + span lvl - 4096) with ((span lvl - 4096) + (b / span lvl) * span lvl) by ring.
    rewrite Z.mod_add, Z.mod_small by lia. reflexivity. }
  unfold leaf_view in H. rewrite Hv, leaf_mask, Em, wrapu_small in H by lia.
  specialize (H _ _ eq_refl).
  pose proof (Z.div_mod (Z.land d Isolation.descOAMask) 4096 ltac:(lia)) as E. rewrite Hoa4, Z.add_0_r in E.
  assert (Hs4 : span lvl mod 4096 = 0) by (apply (span_page (span lvl) lvl Hl); apply Z_mod_same_full).
  pose proof (Z.div_mod (span lvl) 4096 ltac:(lia)) as E'. rewrite Hs4, Z.add_0_r in E'. lia.
Qed.

(** What the walk from the root of a stage-2 with [walk_below] reads at
    a page below 2^40 lies below 2^48. *)
Lemma below_view : forall e s2 y p w, l1_inv e (Isolation.stage2_root s2) -> walk_below e s2 ->
  0 <= y < 2 ^ 40 -> y mod 4096 = 0 ->
  root_view (tables e) (pool_base e) (ent (tables e) (Isolation.stage2_root s2) ((y / 2 ^ 30) mod 1024)) y = Some (p, w) ->
  p < 2 ^ 48.
Proof.
  intros e s2 y p w Hl Hb Hy Hya Hv. pose proof Hl as ((Hok & _) & Ht & _).
  assert (Ey : Z.of_nat (Z.to_nat (y / 4096)) * 4096 = y).
  { rewrite Z2Nat.id by (apply Z.div_pos; lia). pose proof (Z.div_mod y 4096 ltac:(lia)). lia. }
  apply (Hb (Z.to_nat (y / 4096)) p w); [lia|].
  rewrite (walk_view e s2 _ Hok Ht (l1_inv_tree e _ Hl) (walk_lim (Z.to_nat (y / 4096)) ltac:(lia))), Ey, view_pw1, eidx_val by lia.
  change (2 ^ (12 + 9 * (3 - 1))) with (2 ^ 30). change (nentries 1) with 1024. exact Hv.
Qed.

(** The root entry of an address of the 1 GiB span of entry [i]. *)
Lemma root_index : forall i y, 0 <= i < 1024 -> i * 2 ^ 30 <= y < i * 2 ^ 30 + 2 ^ 30 -> (y / 2 ^ 30) mod 1024 = i.
Proof.
  intros i y Hi Hy. replace (y / 2 ^ 30) with i by (apply Z.div_unique_pos with (y - i * 2 ^ 30); lia).
  apply Z.mod_small. exact Hi.
Qed.

(** A stage-2 whose walk maps below 2^48 has blocks that end below
    2^48: the walk reads each block's last page. *)
Theorem below_root_blocks : forall e s2, l1_inv e (Isolation.stage2_root s2) -> walk_below e s2 ->
  root_blocks_below e (Isolation.stage2_root s2).
Proof.
  intros e s2 Hl Hb i Hi. set (t := Isolation.stage2_root s2) in *. split.
  - intros Hv H3. change (2 ^ 30) with (span 1).
    apply (leaf_last _ 1 (i * 2 ^ 30) ltac:(lia) ltac:(lia) ltac:(change (span 1) with (2 ^ 30); apply Z.mod_mul; lia) Hv).
    intros p w E. change (span 1) with (2 ^ 30) in E.
    apply (below_view e s2 (i * 2 ^ 30 + 2 ^ 30 - 4096) p w Hl Hb ltac:(lia)
      ltac:(change (2 ^ 30) with (262144 * 4096); rewrite <- Z.add_sub_assoc, Z.mul_assoc, Z.add_comm, Z.mod_add by lia;
            reflexivity)).
    rewrite (root_index i) by lia. fold t. unfold root_view. rewrite Hv.
    replace (Z.land (ent (tables e) t i) 3 =? 3) with false by (symmetry; apply Z.eqb_neq; exact H3). exact E.
  - intros H3 j Hj Hv H3'. set (c := child (pool_base e) (ent (tables e) t i)) in *.
    set (b := i * 2 ^ 30 + j * 2 ^ 21).
    change (2 ^ 21) with (span 2).
    apply (leaf_last _ 2 b ltac:(lia) ltac:(unfold b; lia)
      ltac:(change (span 2) with (2 ^ 21); unfold b; change (2 ^ 30) with (512 * 2 ^ 21);
            rewrite Z.mul_assoc, <- Z.mul_add_distr_r; apply Z.mod_mul; lia) Hv).
    intros p w E. change (span 2) with (2 ^ 21) in E.
    assert (Ej : ((b + 2 ^ 21 - 4096) / 2 ^ 21) mod 512 = j).
    { unfold b. replace ((i * 2 ^ 30 + j * 2 ^ 21 + 2 ^ 21 - 4096) / 2 ^ 21) with (i * 512 + j)
        by (apply Z.div_unique_pos with (2 ^ 21 - 4096); lia).
      rewrite Z.add_comm, Z.mod_add, Z.mod_small by lia. reflexivity. }
    apply (below_view e s2 (b + 2 ^ 21 - 4096) p w Hl Hb ltac:(unfold b; lia)
      ltac:(unfold b; change (2 ^ 30) with (262144 * 4096); change (2 ^ 21) with (512 * 4096);
            replace (i * (262144 * 4096) + j * (512 * 4096) + 512 * 4096 - 4096) with ((i * 262144 + j * 512 + 511) * 4096) by ring;
            apply Z.mod_mul; lia)).
    rewrite (root_index i) by (unfold b; lia). fold t. unfold root_view. rewrite table_valid, H3 by exact H3. cbn [Z.eqb Pos.eqb].
    fold c. rewrite walk2_entry by (unfold b; lia). cbv zeta. rewrite Ej, Hv.
    replace (Z.land (tent (tables e) c j) 3 =? 3) with false by (symmetry; apply Z.eqb_neq; exact H3'). exact E.
Qed.

(** After an update whose walk is its mapping inside a range and as
    before outside, a walk below 2^48 stays so when the mapping's output
    addresses lie below 2^48. *)
Lemma walk_below_after : forall e st s2 s2' u ipa end', walk_below e s2 -> pa_below u ipa end' ->
  (forall k, Z.of_nat k * 4096 < 2 ^ 40 -> CodeAbs.walk st s2' k =
     if (ipa <=? Z.of_nat k * 4096) && (Z.of_nat k * 4096 <? end') then u_map u (Z.of_nat k * 4096)
     else CodeAbs.walk e s2 k) ->
  walk_below st s2'.
Proof.
  intros e st s2 s2' u ipa end' Hb Hpb Hw k p w Hk E. rewrite (Hw k Hk) in E.
  destruct (Z.leb_spec ipa (Z.of_nat k * 4096)), (Z.ltb_spec (Z.of_nat k * 4096) end'); cbn [andb] in E;
    try exact (Hb k p w Hk E).
  unfold u_map in E. destruct (Isolation.s2update_unmap u) eqn:Hun; [discriminate E|].
  injection E as <- _. apply (Hpb Hun). lia.
Qed.

(** mapRange of [n] pages at a page-aligned [ipa] to a page-aligned [pa],
    on a stage-2 whose root has [root_inv] and whose walk maps below 2^48
    ([walk_below]), with at least the tables its reservation [mapNeed]
    counts free and output addresses below 2^48: it never fails, keeps
    [root_inv] ([mapRange_no_failure]) and [walk_below], and afterwards
    [walk] (CodeAbs) of every IPA
    page below 2^40 maps the page to its offset from [pa] with the
    permission bits of [a] inside the range, and is as before outside. *)
Theorem mapRange_walk_range : forall e tr s s2 ipa pa n a k,
  good s e s2 -> root_inv e (Isolation.stage2_root s2) -> walk_below e s2 ->
  pool_base e mod 4096 = 0 -> pool_base e + 4096 * len (tables e) <= 2 ^ 48 ->
  0 <= ipa -> 0 <= n -> ipa + n * 4096 <= 2 ^ 40 -> ipa mod 4096 = 0 -> pa mod 4096 = 0 ->
  Isolation.Engine_mapNeed root s ipa pa n e tr = Ok k e tr -> k <= count_free (Isolation.Engine_pool e) ->
  pa_below (map_u s2 ipa pa a) ipa (ipa + n * 4096) ->
  exists st tr', Isolation.Engine_mapRange root s ipa pa n a e tr = Ok tt st tr' /\
    root_inv st (Isolation.stage2_root s2) /\ pool_base st = pool_base e /\ len (tables st) = len (tables e) /\
    count_free (Isolation.Engine_pool e) - k <= count_free (Isolation.Engine_pool st) /\
    tree_frame e st (Isolation.stage2_root s2) /\ walk_below st s2 /\
    forall k', Z.of_nat k' * 4096 < 2 ^ 40 ->
      CodeAbs.walk st s2 k' = if (ipa <=? Z.of_nat k' * 4096) && (Z.of_nat k' * 4096 <? ipa + n * 4096)
                              then u_map (map_u s2 ipa pa a) (Z.of_nat k' * 4096) else CodeAbs.walk e s2 k'.
Proof.
  intros e tr s s2 ipa pa n a k Hg Hr Hwb Hal Hbelow Hipa Hn H40 Hia Hpa Hk Hle Hpb.
  pose proof (root_inv_l1 e _ Hr) as Hl. pose proof Hl as ((Hok & _) & Ht & _).
  pose proof (below_root_blocks e s2 Hl Hwb) as Hrb.
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
  assert (Hwk : forall k', Z.of_nat k' * 4096 < 2 ^ 40 ->
    CodeAbs.walk st s2 k' = if (ipa <=? Z.of_nat k' * 4096) && (Z.of_nat k' * 4096 <? ipa + n * 4096)
                            then u_map (map_u s2 ipa pa a) (Z.of_nat k' * 4096) else CodeAbs.walk e s2 k').
  { intros k' Hk'. pose proof (root_inv_l1 st _ Hr') as Hl'. pose proof Hl' as ((Hok' & _) & _).
    rewrite (walk_view st s2 k' Hok' Ht (l1_inv_tree st _ Hl') (walk_lim k' Hk')),
      (walk_view e s2 k' Hok Ht (l1_inv_tree e _ Hl) (walk_lim k' Hk')).
    apply Hw. lia. }
  split; [exact (walk_below_after e st s2 s2 _ _ _ Hwb Hpb Hwk)|exact Hwk].
Qed.

(** unmapRange of [n] pages at a page-aligned [ipa] on a stage-2 whose
    root has [root_inv] and [walk_below], with at least the tables its
    reservation [unmapNeed] counts free: it never fails, keeps [root_inv]
    ([unmapRange_no_failure]) and [walk_below], and afterwards [walk] of
    every IPA page below 2^40 maps nothing inside the range and is as
    before outside. *)
Theorem unmapRange_walk_range : forall e tr s s2 ipa n k,
  good s e s2 -> root_inv e (Isolation.stage2_root s2) -> walk_below e s2 ->
  pool_base e mod 4096 = 0 -> pool_base e + 4096 * len (tables e) <= 2 ^ 48 ->
  0 <= ipa -> 0 <= n -> ipa + n * 4096 <= 2 ^ 40 -> ipa mod 4096 = 0 ->
  Isolation.Engine_unmapNeed root s ipa n e tr = Ok k e tr -> k <= count_free (Isolation.Engine_pool e) ->
  exists st tr', Isolation.Engine_unmapRange root s ipa n e tr = Ok tt st tr' /\
    root_inv st (Isolation.stage2_root s2) /\ pool_base st = pool_base e /\ len (tables st) = len (tables e) /\
    count_free (Isolation.Engine_pool e) - k <= count_free (Isolation.Engine_pool st) /\
    tree_frame e st (Isolation.stage2_root s2) /\ walk_below st s2 /\
    forall k', Z.of_nat k' * 4096 < 2 ^ 40 ->
      CodeAbs.walk st s2 k' = if (ipa <=? Z.of_nat k' * 4096) && (Z.of_nat k' * 4096 <? ipa + n * 4096)
                              then None else CodeAbs.walk e s2 k'.
Proof.
  intros e tr s s2 ipa n k Hg Hr Hwb Hal Hbelow Hipa Hn H40 Hia Hk Hle.
  pose proof (root_inv_l1 e _ Hr) as Hl. pose proof Hl as ((Hok & _) & Ht & _).
  pose proof (below_root_blocks e s2 Hl Hwb) as Hrb.
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
  assert (Hwk : forall k', Z.of_nat k' * 4096 < 2 ^ 40 ->
    CodeAbs.walk st s2 k' = if (ipa <=? Z.of_nat k' * 4096) && (Z.of_nat k' * 4096 <? ipa + n * 4096)
                            then u_map (unmap_u s2) (Z.of_nat k' * 4096) else CodeAbs.walk e s2 k').
  { intros k' Hk'. pose proof (root_inv_l1 st _ Hr') as Hl'. pose proof Hl' as ((Hok' & _) & _).
    rewrite (walk_view st s2 k' Hok' Ht (l1_inv_tree st _ Hl') (walk_lim k' Hk')),
      (walk_view e s2 k' Hok Ht (l1_inv_tree e _ Hl) (walk_lim k' Hk')).
    apply Hw. lia. }
  split; [exact (walk_below_after e st s2 s2 _ _ _ Hwb (fun H : Isolation.s2update_unmap (unmap_u s2) = false =>
    ltac:(discriminate H)) Hwk)|].
  intros k' Hk'. rewrite (Hwk k' Hk'). destruct (_ && _); reflexivity.
Qed.
