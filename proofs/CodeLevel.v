(** * Which levels the stage-2 update leaves blocks at

    Lemmas about proofs/code/Isolation.v, the translation of
    isolation/stage2.go, that carry on from CodeWalkUpdate.v and
    CodeWalkRange.v, which say what the walk reads after [update] (the
    output address and the permissions) but not at which level its leaf
    lies. Here the level: an entry holds no block ([nb]) when it is
    invalid or names a table, and a walk from the root ends at level 3
    or nowhere exactly when the root entry of the address and, below a
    table, its level-2 entry hold no block.
    Proved here:
    - one iteration of [update]'s loop at level 2 that does not replace
      its whole entry leaves a table or an invalid entry there
      ([l2_step_nb]): [descend] keeps the entry's table, hooks a new one
      (for a map into an invalid entry, or a split block) or clears the
      entry when an unmap empties the table; so [update] at level 2
      leaves every entry whose 2 MiB span lies outside the range as it
      was and every entry whose span the range covers in part holding no
      block ([update_l2_nb], [l2_nb_after]);
    - at the root: the end of [descend] once the entry holds a level-2
      table ([tail_nb]), [descend] into any root entry ([descend_root_nb])
      and [update] inside one root entry ([update_root_entry_nb]) and
      over any range below 2^40 ([update_root_nb]) leave the walk of
      every address [y] at level 3 or nowhere ([lv3]) when it was so
      before or [y] lies in the range, unless the range covers the whole
      2 MiB span of [y] ([l2_cover]); the other root entries and their
      tables stay ([lv3_kept]);
    - so [mapRange] and [unmapRange] of any page-aligned range below
      2^40 keep [lv3_at] of every IPA page outside the range, and give it
      to every page inside when the range is under 512 pages
      ([mapRange_nb], [unmapRange_nb], [small_no_cover]);
    - [need] for an unmap counts no table when the walk of every address
      of the range ends at level 3 or nowhere ([need_l2_nb_zero],
      [need_root_nb_zero]), so [unmapNeed] is 0 then
      ([unmapNeed_nb_zero]).
 *)
From Coq Require Import ZArith Lia List Bool String Znumtheory.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodeVMCreateRefine.
From Bulkhead.Proofs Require CodeAbs.
From Bulkhead.Proofs Require Import CodePlace CodeTrack CodeLens CodeLoop CodeLedger CodeVCPU CodeVMCreate
  CodeStage2 CodeShadow CodePool CodeFree CodeUpdate CodeUpdateFrame CodeUpdateL2 CodeUpdateRoot CodeUpdateRange
  CodeUpdateRootRange CodeWalkUpdate CodeWalkRange.
Import ListNotations.
Open Scope Z_scope.

(** An entry above level 3 that holds no block: invalid, or a table
    descriptor. *)
Definition nb (d : Z) : Prop := valid_d d = false \/ Z.land d 3 = 3.

(** ** Level 2, one iteration *)

(** One iteration of [update]'s loop at level 2 that does not replace
    the whole entry ([descend]) leaves in it a table or nothing: the
    table it held, a new one for a map into an invalid entry or for a
    split block, or, when an unmap empties the table, an invalid entry;
    an unmap of an invalid entry leaves it invalid. *)
Theorem l2_step_nb : forall f e tr t ipa end' u st tr',
  (5 <= f)%nat -> l2_inv e t ->
  pool_base e mod 4096 = 0 -> pool_base e + 4096 * len (tables e) <= 2 ^ 48 ->
  0 <= ipa < end' -> end' <= 2 ^ 40 -> ipa mod 4096 = 0 -> end' mod 4096 = 0 ->
  Isolation.s2update_delta u mod 4096 = 0 ->
  need_at (tables e) t ipa end' u <= count_free (Isolation.Engine_pool e) ->
  l2_step f t end' u ipa e tr = Ok (Continue (l2_stop ipa end')) st tr' ->
  whole_l2 (l2_base ipa) ipa (l2_stop ipa end') u = false ->
  nb (tent (tables st) t ((ipa / 2 ^ 21) mod 512)).
Proof.
  intros f e tr t ipa end' u st tr' Hf Hinv Hal Hbelow Hr H40 Hia Hea Hd Hneed Hs Hwl.
  pose proof Hinv as (Hok & Hpok & Hbits & Hcok & Hpl & Ht & Htu & Hents & Hdis).
  pose proof Hok as (Hwh & Hsmall & Hbase). fold (whole (tables e)) in Hwh.
  pose proof (l2_base_bound' ipa ltac:(lia)) as Hb.
  set (base := l2_base ipa) in *. set (stop := l2_stop ipa end') in *.
  assert (Hba : base mod 2 ^ 21 = 0) by (unfold base, l2_base; apply Z.mod_mul; lia).
  assert (Hst : ipa < stop <= base + 2 ^ 21 /\ stop <= end') by (unfold stop, l2_stop; fold base; lia).
  assert (Hsa : stop mod 4096 = 0).
  { unfold stop, l2_stop. fold base. destruct (Z.min_spec end' (base + 2 ^ 21)) as [[_ ->]|[_ ->]]; [exact Hea|].
    apply align_page. rewrite <- Z.add_mod_idemp_l, Hba by lia. reflexivity. }
  set (j := (ipa / 2 ^ 21) mod 512) in *.
  assert (Hj : 0 <= j < 512) by (unfold j; apply Z.mod_pos_bound; lia).
  pose proof (slot_lens_table t j ltac:(lia) Hj) as (p & Hp & L).
  assert (Hv : slot_valid t e) by (split; [lia|exact Hwh]).
  pose proof (l2_step_eq f e tr t ipa end' u p Hok Ht Hr H40 Hp) as Heq. fold base stop in Heq.
  rewrite Hs, Hwl in Heq.
  set (dd := tent (tables e) t j) in *.
  assert (Hneed1 : need_at (tables e) t ipa end' u =
    if Z.land dd 3 =? 3 then 0 else if valid_d dd then 1 else if Isolation.s2update_unmap u then 0 else 1).
  { unfold need_at. cbv zeta. change (l2_base ipa) with base. change (l2_stop ipa end') with stop. rewrite Hwl. reflexivity. }
  destruct (Z.eq_dec (Z.land dd 3) 3) as [E3|E3].
  - pose proof (Hents j Hj E3) as Hent. pose proof Hent as (_ & Hle & Hclt & Hct & _).
    fold dd in Hle, Hclt, Hct. set (c := child (pool_base e) dd) in *.
    pose proof (descend_table_last f e tr t j p base ipa stop u ltac:(lia) Hok Hpok Hpl Ht Hj L Hent
      ltac:(lia) Hba ltac:(lia) ltac:(lia) ltac:(lia) Hia Hsa Hd) as (st1' & tr1' & Hde & st1 & tr1 & Hdone & Hcase).
    fold dd c in Hdone, Hcase. rewrite Hde in Heq. apply ok_state in Heq. subst st1'.
    pose proof (last_done_frame _ _ _ _ _ _ _ _ _ Hdone) as (HB1 & _ & _ & _ & HF1).
    destruct Hcase as [[Est _]|(Hun & Hall & q & Est & _ & HP & _)].
    + rewrite Est, (HF1 t j) by lia. right. exact E3.
    + rewrite Est. pose proof (tables_pool_same _ _ HP) as [ET _]. rewrite ET, tables_set_tables.
      assert (HW1 : whole (tables st1) /\ len (tables st1) = len (tables e)) by
        (destruct Hdone as (T' & E' & _ & Hl' & Hw' & _); rewrite E', tables_set_tables; split; assumption).
      destruct HW1 as [HW1 HL1].
      rewrite tent_put_ent by (try exact HW1; lia). rewrite !Z.eqb_refl. left. exact zero_invalid.
  - rewrite (proj2 (Z.eqb_neq _ _) E3) in Hneed1.
    destruct (valid_d dd) eqn:Hval.
    + assert (Hsome : some_free (Isolation.Engine_pool e)) by (apply count_some_free; [exact Hpok|lia]).
      pose proof (descend_split_last f e tr t j p base ipa stop u ltac:(lia) Hok Hpok Hbits Hsome Hpl Ht Hj L Htu Hval E3
        ltac:(lia) Hba ltac:(lia) ltac:(lia) ltac:(lia) Hia Hsa Hd)
        as (c & q & Ts & st1' & tr1' & Hde & Hc & Hct & Hcf & Htk & HTsl & HTsw & HTsp & st1 & tr1 & Hdone & Hcase).
      rewrite Hde in Heq. apply ok_state in Heq. subst st1'.
      pose proof (tables_set_pool_taken e q c Htk) as (HTq & HBq).
      set (e3 := set_tables (Isolation.set_Engine_pool q e) (put_ent Ts t j (tdesc (pool_base e) c))) in *.
      assert (Ht3 : tent (tables e3) t j = tdesc (pool_base e) c).
      { unfold e3. rewrite tables_set_tables, tent_put_ent by (try exact HTsw; lia). rewrite !Z.eqb_refl. reflexivity. }
      pose proof (last_done_frame _ _ _ _ _ _ _ _ _ Hdone) as (HB1 & _ & _ & _ & HF1).
      destruct Hcase as [[Est _]|(Hun & Hall & q' & Est & _ & HP & _)].
      * rewrite Est, (HF1 t j) by lia. rewrite Ht3. right.
        exact (proj1 (tdesc_spec (pool_base e) c ltac:(lia) Hal ltac:(lia) ltac:(lia))).
      * rewrite Est. pose proof (tables_pool_same _ _ HP) as [ET _]. rewrite ET, tables_set_tables.
        assert (HW1 : whole (tables st1) /\ len (tables st1) = len (tables e)) by
          (destruct Hdone as (T' & E' & _ & Hl' & Hw' & _); rewrite E', tables_set_tables; split; [exact Hw'|];
           rewrite Hl'; unfold e3; rewrite tables_set_tables, len_put_ent; exact HTsl).
        destruct HW1 as [HW1 HL1].
        rewrite tent_put_ent by (try exact HW1; lia). rewrite !Z.eqb_refl. left. exact zero_invalid.
    + destruct (Isolation.s2update_unmap u) eqn:Hun.
      * destruct f as [|f']; [lia|].
        pose proof (descend_invalid_unmap f' e tr p _ _ _ 2 base ipa stop u L Hv Hval Hun) as Hde.
        rewrite Hde in Heq. apply ok_state in Heq. subst st. left. exact Hval.
      * assert (Hsome : some_free (Isolation.Engine_pool e)) by (apply count_some_free; [exact Hpok|lia]).
        pose proof (descend_new_last f e tr t j p base ipa stop u ltac:(lia) Hok Hpok Hbits Hsome Hpl Ht Hj L Htu Hval Hun
          ltac:(lia) Hba ltac:(lia) ltac:(lia) ltac:(lia) Hia Hsa Hd) as (c & q & st1 & tr1 & Hde & Hc & Hct & Hcf & Htk & Hdone).
        rewrite Hde in Heq. apply ok_state in Heq. subst st1.
        pose proof (tables_set_pool_taken e q c Htk) as (HTq & HBq).
        assert (Hw2 : whole (tables (Isolation.set_Engine_pool q e))) by (rewrite HTq; apply Forall_replace; [exact Hwh|reflexivity]).
        pose proof (last_done_frame _ _ _ _ _ _ _ _ _ Hdone) as (HB1 & _ & _ & _ & HF1).
        rewrite (HF1 t j) by lia. rewrite tables_set_tables, tent_put_ent by (try exact Hw2; try (rewrite HTq, len_replace); lia).
        rewrite !Z.eqb_refl. right.
        exact (proj1 (tdesc_spec (pool_base e) c ltac:(lia) Hal ltac:(lia) ltac:(lia))).
Qed.

(** ** Level 2, the loop *)

(** An address [cur] of the 1 GiB span at [K * 2^30]: its 2 MiB entry
    [cur / 2^21] is entry [(cur / 2^21) mod 512] of that span. *)
Lemma idx_in_span : forall K cur, 0 <= K -> K * 2 ^ 30 <= cur < K * 2 ^ 30 + 2 ^ 30 ->
  cur / 2 ^ 21 = K * 512 + (cur / 2 ^ 21) mod 512 /\ 0 <= (cur / 2 ^ 21) mod 512 < 512 /\
  cur / 2 ^ 21 * 2 ^ 21 <= cur < cur / 2 ^ 21 * 2 ^ 21 + 2 ^ 21.
Proof.
  intros K cur HK Hc.
  assert (Hq : K * 512 <= cur / 2 ^ 21 < K * 512 + 512)
    by (split; [apply Z.div_le_lower_bound|apply Z.div_lt_upper_bound]; lia).
  pose proof (Z.div_mod cur (2 ^ 21) ltac:(lia)). pose proof (Z.mod_pos_bound cur (2 ^ 21) ltac:(lia)).
  replace ((cur / 2 ^ 21) mod 512) with (cur / 2 ^ 21 - K * 512).
  - lia.
  - apply Z.mod_unique_pos with K; lia.
Qed.

(** What [update] over [ipa, end') leaves in a level-2 table [t] of the
    1 GiB span of [ipa]: every entry whose 2 MiB span lies outside the
    range as it was, and every entry whose span the range covers only in
    part holding no block. *)
Definition l2_nb_after (e st : Isolation.Engine) (t ipa end' : Z) : Prop :=
  forall j, 0 <= j < 512 ->
    (end' <= ipa / 2 ^ 30 * 2 ^ 30 + j * 2 ^ 21 \/ ipa / 2 ^ 30 * 2 ^ 30 + j * 2 ^ 21 + 2 ^ 21 <= ipa ->
       tent (tables st) t j = tent (tables e) t j) /\
    (ipa < end' -> ipa / 2 ^ 30 * 2 ^ 30 + j * 2 ^ 21 < end' -> ipa < ipa / 2 ^ 30 * 2 ^ 30 + j * 2 ^ 21 + 2 ^ 21 ->
     ~ (ipa <= ipa / 2 ^ 30 * 2 ^ 30 + j * 2 ^ 21 /\ ipa / 2 ^ 30 * 2 ^ 30 + j * 2 ^ 21 + 2 ^ 21 <= end') ->
     nb (tent (tables st) t j)).

(** update at level 2 of a page-aligned range [ipa, end') inside the
    1 GiB span of a level-2 table [t] ([update_l2_walk]'s conditions but
    the blocks' and the output addresses' bounds): every entry whose
    2 MiB span lies outside the range keeps what it held, and every entry
    whose span the range covers only in part is left holding no block. *)
Theorem update_l2_nb : forall f e tr t ipa end' u,
  (5 <= f)%nat -> l2_inv e t ->
  pool_base e mod 4096 = 0 -> pool_base e + 4096 * len (tables e) <= 2 ^ 48 ->
  0 <= ipa <= end' -> end' <= ipa / 2 ^ 30 * 2 ^ 30 + 2 ^ 30 -> end' <= 2 ^ 40 ->
  ipa mod 4096 = 0 -> end' mod 4096 = 0 -> Isolation.s2update_delta u mod 4096 = 0 ->
  need_l2 (Z.to_nat (end' - ipa)) (tables e) t ipa end' u <= count_free (Isolation.Engine_pool e) ->
  exists st tr', Isolation.Engine_update (S f) root t 2 ipa end' u e tr = Ok tt st tr' /\ l2_nb_after e st t ipa end'.
Proof.
  intros f e tr t ipa end' u Hf Hinv Hal Hbelow Hr Hspan H40 Hia Hea Hd Hneed.
  set (N := need_l2 (Z.to_nat (end' - ipa)) (tables e) t ipa end' u) in *.
  set (K := ipa / 2 ^ 30).
  assert (HK : K * 2 ^ 30 <= ipa /\ 0 <= K).
  { unfold K. pose proof (Z.div_mod ipa (2 ^ 30) ltac:(lia)). pose proof (Z.mod_pos_bound ipa (2 ^ 30) ltac:(lia)).
    split; [lia|apply Z.div_pos; lia]. }
  fold K in Hspan |- *.
  pose proof (update_l2_loop f t ipa end' u
    (fun cur st _ => l2_inv st t /\ ipa <= cur <= end' /\ cur mod 4096 = 0 /\
       pool_base st = pool_base e /\ len (tables st) = len (tables e) /\
       (cur < end' -> forall j, (cur / 2 ^ 21) mod 512 <= j < 512 -> tent (tables st) t j = tent (tables e) t j) /\
       count_free (Isolation.Engine_pool e) - (N - need_l2 (Z.to_nat (end' - cur)) (tables e) t cur end' u)
         <= count_free (Isolation.Engine_pool st) /\
       (forall j, 0 <= j < 512 -> end' <= K * 2 ^ 30 + j * 2 ^ 21 \/ K * 2 ^ 30 + j * 2 ^ 21 + 2 ^ 21 <= ipa ->
          tent (tables st) t j = tent (tables e) t j) /\
       (forall j, 0 <= j < 512 -> ipa < cur -> K * 2 ^ 30 + j * 2 ^ 21 < cur -> ipa < K * 2 ^ 30 + j * 2 ^ 21 + 2 ^ 21 ->
          ~ (ipa <= K * 2 ^ 30 + j * 2 ^ 21 /\ K * 2 ^ 30 + j * 2 ^ 21 + 2 ^ 21 <= end') ->
          nb (tent (tables st) t j))) e tr
    ltac:(lia) ltac:(lia)) as (st & tr' & Hup & Hfin).
  - split; [exact Hinv|]. split; [lia|]. split; [exact Hia|]. split; [reflexivity|]. split; [reflexivity|].
    split; [intros; reflexivity|]. split; [fold N; lia|]. split; [intros; reflexivity|]. intros; lia.
  - intros cur st tr1 Hc (Hi1 & Hc1 & Hca & HB1 & Hl1 & Hent1 & Hn1 & Hout1 & Hnb1).
    assert (Hn : need_l2 (Z.to_nat (end' - cur)) (tables e) t cur end' u =
      need_at (tables e) t cur end' u + need_l2 (Z.to_nat (end' - l2_stop cur end')) (tables e) t (l2_stop cur end') end' u).
    { destruct (Z.to_nat (end' - cur)) as [|n] eqn:En; [lia|]. cbn [need_l2].
      destruct (Z.ltb_spec cur end'); [|lia]. f_equal. pose proof (l2_stop_gt cur end' ltac:(lia)).
      apply need_l2_fuel; lia. }
    pose proof (idx_in_span K cur ltac:(lia) ltac:(lia)) as (Eq & Hjr & Hbc).
    set (jc := (cur / 2 ^ 21) mod 512) in *.
    assert (Ena : need_at (tables st) t cur end' u = need_at (tables e) t cur end' u).
    { apply need_at_ent. apply Hent1; lia. }
    pose proof (l2_stop_gt cur end' ltac:(lia)) as Hsg.
    pose proof (need_l2_nonneg (Z.to_nat (end' - l2_stop cur end')) (tables e) t (l2_stop cur end') end' u).
    pose proof (need_l2_nonneg (Z.to_nat (end' - cur)) (tables e) t cur end' u).
    pose proof (l2_step_inv f st tr1 t cur end' u Hf Hi1 ltac:(rewrite HB1; exact Hal) ltac:(rewrite HB1, Hl1; exact Hbelow)
      ltac:(lia) H40 Hca Hea Hd ltac:(rewrite Ena; lia))
      as (st' & tr' & Hs & Hi2 & Hc2 & HB2 & Hl2 & Ho2 & Hfr).
    assert (Hstop : l2_stop cur end' = Z.min end' (cur / 2 ^ 21 * 2 ^ 21 + 2 ^ 21)) by reflexivity.
    exists (l2_stop cur end'), st', tr'. split; [exact Hs|]. split; [lia|].
    split; [exact Hi2|]. split; [lia|]. split.
    { unfold l2_stop. fold (l2_base cur). destruct (Z.min_spec end' (l2_base cur + 2 ^ 21)) as [[_ ->]|[_ ->]]; [exact Hea|].
      apply align_page. unfold l2_base. rewrite Z.add_mod by lia. rewrite Z.mod_mul by lia. reflexivity. }
    split; [congruence|]. split; [congruence|]. split; [|split; [|split]].
    + intros Hlt j Hj. rewrite idx_next with (K := K) in Hj by lia. fold jc in Hj.
      rewrite Ho2 by lia. apply Hent1; lia.
    + rewrite Ena in Hc2. lia.
    + intros j Hj Hjo. rewrite Ho2 by lia. apply Hout1; assumption.
    + intros j Hj _ Hlo Hhi Hnc. destruct (Z.eq_dec j jc) as [->|Hne].
      * assert (Hwl : whole_l2 (l2_base cur) cur (l2_stop cur end') u = false).
        { destruct (whole_l2 (l2_base cur) cur (l2_stop cur end') u) eqn:Hw; [|reflexivity].
          pose proof (l2_base_bound' cur ltac:(lia)) as Hb'.
          pose proof (whole_l2_spec (l2_base cur) cur (l2_stop cur end') u ltac:(lia) ltac:(unfold l2_stop; lia) Hw)
            as (E1 & E2 & _).
          exfalso. apply Hnc. unfold l2_base in *. lia. }
        exact (l2_step_nb f st tr1 t cur end' u st' tr' Hf Hi1 ltac:(rewrite HB1; exact Hal)
          ltac:(rewrite HB1, Hl1; exact Hbelow) ltac:(lia) H40 Hca Hea Hd ltac:(rewrite Ena; lia) Hs Hwl).
      * rewrite Ho2 by lia. apply Hnb1; try assumption; lia.
  - destruct Hfin as (_ & _ & _ & _ & _ & _ & _ & Hout & Hnb). exists st, tr'. split; [exact Hup|].
    intros j Hj. split; [apply Hout; exact Hj|]. intros Hie Hlo Hhi Hnc. apply Hnb; try assumption.
Qed.

(** ** One root entry *)

(** The end of [descend] at the root once entry [j] of the root's table
    [x] holds a level-2 table [c] ([root_tail], CodeUpdateRootRange):
    afterwards the entry holds nothing (an unmap emptied [c]) or still
    [c], updated as [update_l2_nb] says. *)
Lemma tail_nb : forall f e3 tr x j p base ipa stop u,
  (5 <= f)%nat ->
  lens p (slot_valid x) (fun s => tent (tables s) x j) (fun v s => set_tables s (put_ent (tables s) x j v)) ->
  0 <= x < len (tables e3) -> 0 <= j < 512 -> free_bit (Isolation.Engine_pool e3) x = false ->
  Z.land (tent (tables e3) x j) 3 = 3 -> pool_base e3 <= Z.land (tent (tables e3) x j) Isolation.descOAMask ->
  child (pool_base e3) (tent (tables e3) x j) < len (tables e3) ->
  l2_inv e3 (child (pool_base e3) (tent (tables e3) x j)) -> ~ subx e3 x j x ->
  pool_base e3 mod 4096 = 0 -> pool_base e3 + 4096 * len (tables e3) <= 2 ^ 48 ->
  0 <= base -> base mod 2 ^ 30 = 0 -> base <= ipa < stop -> stop <= base + 2 ^ 30 -> stop <= 2 ^ 40 ->
  ipa mod 4096 = 0 -> stop mod 4096 = 0 -> Isolation.s2update_delta u mod 4096 = 0 ->
  need_l2 (Z.to_nat (stop - ipa)) (tables e3) (child (pool_base e3) (tent (tables e3) x j)) ipa stop u
    <= count_free (Isolation.Engine_pool e3) ->
  exists st tr',
    (let! _ := Isolation.Engine_update (S f) root (child (pool_base e3) (tent (tables e3) x j)) 2 ipa stop u in
     let! t'24 := (if Isolation.s2update_unmap u
                   then (let! t'23 := Isolation.Engine_tableEmpty root (child (pool_base e3) (tent (tables e3) x j)) in ret t'23)
                   else ret false) in
     if t'24 then
       let! _ := Isolation.Engine_dropTable root p (child (pool_base e3) (tent (tables e3) x j)) base (Isolation.s2update_vmid u) in
       ret tt
     else ret tt) e3 tr = Ok tt st tr' /\
    pool_base st = pool_base e3 /\
    (tent (tables st) x j = 0 \/
     (tent (tables st) x j = tent (tables e3) x j /\
      l2_nb_after e3 st (child (pool_base e3) (tent (tables e3) x j)) ipa stop)).
Proof.
  intros f e3 tr x j p base ipa stop u Hf L Hx Hj Hxu H3 Hle Hlt Hinv Hxs Hal Hbelow Hb0 Hba Hr Hs H40 Hia Hsa Hd Hneed.
  set (c := child (pool_base e3) (tent (tables e3) x j)) in *.
  assert (EK : ipa / 2 ^ 30 * 2 ^ 30 + 2 ^ 30 = base + 2 ^ 30) by (rewrite (l1_base_of base ipa Hba ltac:(lia)); reflexivity).
  pose proof (update_l2_nb f e3 tr c ipa stop u Hf Hinv Hal Hbelow ltac:(lia) ltac:(lia) H40 Hia Hsa Hd Hneed)
    as (st1 & tr1 & Hup & Hnb).
  pose proof (update_l2_keeps f e3 tr c ipa stop u Hf Hinv Hal Hbelow ltac:(lia) ltac:(lia) H40 Hia Hsa Hd Hneed)
    as (st1' & tr1' & Hup' & Hinv1 & HB1 & Hl1 & Hc1 & Hfr & Hown).
  rewrite Hup in Hup'. injection Hup' as <- <-.
  step_by Hup.
  pose proof Hinv1 as (Hok1 & Hpok1 & Hbits1 & Hcok1 & Hpl1 & Hcr1 & Hcu1 & _).
  pose proof Hok1 as (Hwh1 & _ & _). fold (whole (tables st1)) in Hwh1.
  assert (Hpi1 : pool_inv st1) by (split; [exact Hok1|split; [exact Hpok1|split; [exact Hbits1|split; assumption]]]).
  assert (Hxe1 : tent (tables st1) x j = tent (tables e3) x j).
  { apply (Hfr x ltac:(lia)); [intros E; apply Hxs; split; [exact H3|left; exact E]|exact Hxu|
      |exact Hj].
    intros j' Hj' H3' E. apply Hxs. split; [exact H3|right]. exists j'. split; [exact Hj'|]. split; [exact H3'|].
    symmetry. exact E. }
  destruct (Isolation.s2update_unmap u).
  - pose proof (tableEmpty_ok st1 tr1 c Hcr1 Hwh1) as (b & Hb & _).
    assert (Hte : (let! t'23 := Isolation.Engine_tableEmpty root c in ret t'23) st1 tr1 = Ok b st1 tr1)
      by (step_by Hb; reflexivity).
    step_by Hte. destruct b.
    + pose proof (drop_pool p x j st1 tr1 c base (Isolation.s2update_vmid u) L Hpi1 ltac:(lia) Hcr1 Hcu1)
        as (st & Hdrop & Hpi2 & HB2 & HT2 & _).
      step_by Hdrop. eexists _, _. split; [reflexivity|]. split; [congruence|]. left.
      rewrite HT2, tent_put_ent by (try exact Hwh1; lia). rewrite !Z.eqb_refl. reflexivity.
    + eexists _, _. split; [reflexivity|]. split; [exact HB1|]. right. split; [exact Hxe1|exact Hnb].
  - step. eexists _, _. split; [reflexivity|]. split; [exact HB1|]. right. split; [exact Hxe1|exact Hnb].
Qed.

(** The walk from the root of [y], whose root entry is [d], ends at
    level 3 or nowhere: [d] holds no block and, when it names a level-2
    table, neither does that table's entry of [y]. *)
Definition lv3 (T : list Isolation.Table) (bs d y : Z) : Prop :=
  nb d /\ (Z.land d 3 = 3 -> nb (tent T (child bs d) ((y / 2 ^ 21) mod 512))).

(** The range [ipa, stop) covers the whole 2 MiB span of [y]. *)
Definition l2_cover (ipa stop y : Z) : Prop := ipa <= y / 2 ^ 21 * 2 ^ 21 /\ y / 2 ^ 21 * 2 ^ 21 + 2 ^ 21 <= stop.

Lemma nb_zero : nb 0.
Proof. left. exact zero_invalid. Qed.

Lemma lv3_zero : forall T bs y, lv3 T bs 0 y.
Proof. intros T bs y. split; [exact nb_zero|intros H; exfalso; exact (zero_not_table H)]. Qed.

(** The entry of [y] in the level-2 table of its 1 GiB span at [base]
    and that entry's 2 MiB span. *)
Lemma l2_entry_of : forall base y, 0 <= base -> base mod 2 ^ 30 = 0 -> base <= y < base + 2 ^ 30 ->
  0 <= (y / 2 ^ 21) mod 512 < 512 /\ y / 2 ^ 21 * 2 ^ 21 = base + (y / 2 ^ 21) mod 512 * 2 ^ 21 /\
  y / 2 ^ 21 * 2 ^ 21 <= y < y / 2 ^ 21 * 2 ^ 21 + 2 ^ 21.
Proof.
  intros base y Hb Hba Hy.
  assert (EK : base = base / 2 ^ 30 * 2 ^ 30) by (pose proof (Z.div_mod base (2 ^ 30) ltac:(lia)); lia).
  pose proof (idx_in_span (base / 2 ^ 30) y ltac:(apply Z.div_pos; lia) ltac:(lia)) as (Eq & Hj & Hy').
  split; [exact Hj|]. split; [|exact Hy']. set (r := (y / 2 ^ 21) mod 512) in *. rewrite Eq.
  change (2 ^ 21) with 2097152 in *. change (2 ^ 30) with 1073741824 in *. lia.
Qed.

(** What [l2_nb_after] gives at the entry of [y] of a table the range
    [ipa, stop) of one 1 GiB span at [base] was updated in: that entry
    holds no block if the range covers its span in part, and is as
    before if the range misses it. *)
Lemma l2_nb_at : forall e st c base ipa stop y, 0 <= base -> base mod 2 ^ 30 = 0 -> base <= ipa < stop ->
  stop <= base + 2 ^ 30 -> base <= y < base + 2 ^ 30 -> l2_nb_after e st c ipa stop -> ~ l2_cover ipa stop y ->
  nb (tent (tables st) c ((y / 2 ^ 21) mod 512)) \/
  (~ (ipa <= y < stop) /\ tent (tables st) c ((y / 2 ^ 21) mod 512) = tent (tables e) c ((y / 2 ^ 21) mod 512)).
Proof.
  intros e st c base ipa stop y Hb Hba Hr Hs Hy Hnb Hnc.
  pose proof (l2_entry_of base y Hb Hba Hy) as (Hj & EB & Hyb).
  assert (EK : ipa / 2 ^ 30 * 2 ^ 30 = base) by (apply l1_base_of; [exact Hba|lia]).
  destruct (Hnb _ Hj) as [Hout Hin]. rewrite EK in Hout, Hin. unfold l2_cover in Hnc.
  destruct (Z_le_gt_dec stop (base + (y / 2 ^ 21) mod 512 * 2 ^ 21)) as [H1|H1];
    [right; split; [lia|apply Hout; lia]|].
  destruct (Z_le_gt_dec (base + (y / 2 ^ 21) mod 512 * 2 ^ 21 + 2 ^ 21) ipa) as [H2|H2];
    [right; split; [lia|apply Hout; lia]|].
  left. apply Hin; lia.
Qed.

(** descend at the root, into entry [j] of the root's table [x] for the
    part [ipa, stop) of its 1 GiB span at [base], whatever the entry
    holds, given the [below1] free tables [need] counts for it: every
    address [y] of the span whose 2 MiB span the range does not cover
    whole, and whose walk ended at level 3 or nowhere or that lies in the
    range, walks to level 3 or nowhere afterwards. *)
Theorem descend_root_nb : forall fuel e tr x j p base ipa stop u,
  (7 <= fuel)%nat -> pool_inv e -> 0 <= j < 512 ->
  lens p (slot_valid x) (fun s => tent (tables s) x j) (fun v s => set_tables s (put_ent (tables s) x j v)) ->
  0 <= x < len (tables e) -> free_bit (Isolation.Engine_pool e) x = false ->
  (Z.land (tent (tables e) x j) 3 = 3 ->
     pool_base e <= Z.land (tent (tables e) x j) Isolation.descOAMask /\
     child (pool_base e) (tent (tables e) x j) < len (tables e) /\
     l2_inv e (child (pool_base e) (tent (tables e) x j)) /\ x <> child (pool_base e) (tent (tables e) x j) /\
     (forall j', 0 <= j' < 512 -> Z.land (tent (tables e) (child (pool_base e) (tent (tables e) x j)) j') 3 = 3 ->
        child (pool_base e) (tent (tables e) (child (pool_base e) (tent (tables e) x j)) j') <> x)) ->
  pool_base e mod 4096 = 0 -> pool_base e + 4096 * len (tables e) <= 2 ^ 48 ->
  0 <= base -> base mod 2 ^ 30 = 0 -> base <= ipa < stop -> stop <= base + 2 ^ 30 -> stop <= 2 ^ 40 ->
  ipa mod 4096 = 0 -> stop mod 4096 = 0 -> Isolation.s2update_delta u mod 4096 = 0 ->
  below1 (tables e) (pool_base e) (tent (tables e) x j) ipa stop u <= count_free (Isolation.Engine_pool e) ->
  exists st tr', Isolation.Engine_descend fuel root p 1 base ipa stop u e tr = Ok tt st tr' /\
    forall y, base <= y < base + 2 ^ 30 ->
      (lv3 (tables e) (pool_base e) (tent (tables e) x j) y \/ ipa <= y < stop) -> ~ l2_cover ipa stop y ->
      lv3 (tables st) (pool_base st) (tent (tables st) x j) y.
Proof.
  intros fuel e tr x j p base ipa stop u Hf Hpi Hj L Hx Hxu Htab Hal Hbelow Hb0 Hba Hr Hs H40 Hia Hsa Hd Hneed.
  pose proof Hpi as (Hok & Hpok & Hbits & Hcok & Hpl). pose proof Hok as (Hwh & Hsmall & Hbase).
  fold (whole (tables e)) in Hwh.
  assert (Hv : slot_valid x e) by (split; [lia|exact Hwh]).
  set (dd := tent (tables e) x j) in *.
  unfold below1 in Hneed.
  destruct (Z.eq_dec (Z.land dd 3) 3) as [E3|E3].
  - (* a level-2 table *)
    rewrite (proj2 (Z.eqb_eq _ _) E3) in Hneed.
    pose proof (Htab E3) as (Hle & Hlt & Hinv & Hxc & Hxch).
    set (c := child (pool_base e) dd) in *.
    assert (Hxs : ~ subx e x j x).
    { intros (_ & [E|(j' & Hj' & H3' & E)]); [exact (Hxc E)|exact (Hxch j' Hj' H3' (eq_sym E))]. }
    destruct fuel as [|f]; [lia|]. cbn [Isolation.Engine_descend].
    step_by (deref_lens _ _ _ _ e tr L Hv). fold dd. unfold Isolation.isTable. step.
    replace ((1 <? Isolation.lastLevel) && (Z.land dd 3 =? 3)) with true by (rewrite E3; reflexivity).
    unfold bind at 1. step_by (pfield_pool_root e tr). unfold Isolation.descOA. step.
    step_by (index_ok e tr dd Hok Hle Hlt). fold c. unfold ret. cbv beta iota.
    replace (wraps 64 (1 + 1)) with 2 by reflexivity.
    destruct f as [|f]; [lia|].
    pose proof (tail_nb f e tr x j p base ipa stop u ltac:(lia) L Hx Hj Hxu E3 Hle Hlt Hinv Hxs Hal Hbelow
      Hb0 Hba Hr Hs H40 Hia Hsa Hd Hneed) as (st & tr' & Htail & HBs & Hcase).
    fold dd c in Htail, Hcase.
    exists st, tr'. split; [exact Htail|]. intros y Hy Hpre Hnc.
    destruct Hcase as [E0|(Ex & Hnb)]; [rewrite E0; apply lv3_zero|].
    rewrite Ex, HBs. fold dd. split; [right; exact E3|intros _]. change (child (pool_base e) dd) with c.
    destruct (l2_nb_at e st c base ipa stop y Hb0 Hba Hr Hs Hy Hnb Hnc) as [Hn|(Hout & Ee)]; [exact Hn|].
    rewrite Ee. destruct Hpre as [(_ & Hl3)|Hin]; [exact (Hl3 E3)|lia].
  - rewrite (proj2 (Z.eqb_neq _ _) E3) in Hneed.
    destruct (valid_d dd) eqn:Hval.
    + (* a block: split *)
      pose proof (need_l2g_bound (Z.to_nat (stop - ipa)) (fun _ => Isolation.descValid) ipa stop u).
      assert (Hsome : some_free (Isolation.Engine_pool e)) by (apply count_some_free; [exact Hpok|lia]).
      destruct fuel as [|f]; [lia|].
      pose proof (descend_split_open f e tr x j p base ipa stop u Hpi Hj L Hx Hxu Hval E3 Hsome Hal Hb0 ltac:(lia))
        as (c & q & Ts & Hc & Hxc & Hcf & Htk & Hqb & HTsl & HTsw & HTsp & Hopen).
      fold dd in HTsp. rewrite Hopen. unfold descend_tail.
      set (e1 := Isolation.set_Engine_pool q e) in *.
      pose proof (tables_set_pool_taken e q c Htk) as (HT1 & HB1).
      assert (HTc : forall j', 0 <= j' < 512 -> tent Ts c j' = split_leaf dd 2 j')
        by (intros j' Hj'; rewrite HTsp by lia; rewrite Z.eqb_refl; reflexivity).
      pose proof (l2_inv_new e q c x j (split_leaf dd 2) Ts Hpi ltac:(lia) Hcf Htk Hqb Hx Hxc Hj ltac:(lia) HTsw HTc
        ltac:(intros j' _; apply leaf2_not_table)) as (Hinv3 & Hc3 & HB3).
      fold e1 in Hinv3, Hc3, HB3.
      set (e3 := set_tables e1 (put_ent Ts x j (tdesc (pool_base e) c))) in *.
      assert (Hl3 : len (tables e3) = len (tables e)) by (unfold e3; rewrite tables_set_tables, len_put_ent; lia).
      pose proof (tdesc_spec (pool_base e) c ltac:(lia) Hal ltac:(lia) ltac:(lia)) as (Td3 & Toa & Tdc).
      assert (Ex3 : tent (tables e3) x j = tdesc (pool_base e) c).
      { unfold e3. rewrite tables_set_tables, tent_put_ent by (auto; lia). rewrite !Z.eqb_refl. reflexivity. }
      assert (Ec3 : child (pool_base e3) (tent (tables e3) x j) = c) by (rewrite Ex3, HB3; exact Tdc).
      assert (Hc3e : forall j', 0 <= j' < 512 -> tent (tables e3) c j' = split_leaf dd 2 j').
      { intros j' Hj'. unfold e3. rewrite tables_set_tables, tent_put_ent by (auto; lia).
        replace (c =? x) with false by (symmetry; apply Z.eqb_neq; lia). apply HTc. exact Hj'. }
      assert (Hn3 : need_l2 (Z.to_nat (stop - ipa)) (tables e3) c ipa stop u =
        need_l2g (Z.to_nat (stop - ipa)) (fun _ => Isolation.descValid) ipa stop u).
      { apply (need_l2_split _ _ _ dd). exact Hc3e. }
      assert (Hxu3 : free_bit (Isolation.Engine_pool e3) x = false).
      { unfold e3. rewrite free_bit_set_tables. unfold e1. rewrite get_set_pool.
        destruct Htk as (_ & _ & _ & Hout & _). rewrite Hout by lia. exact Hxu. }
      assert (Hxs : ~ subx e3 x j x).
      { intros (_ & [E|(j' & Hj' & H3' & _)]).
        - rewrite Ec3 in E. lia.
        - rewrite Ec3, Hc3e in H3' by exact Hj'. exact (leaf2_not_table _ _ H3'). }
      destruct f as [|f]; [lia|].
      pose proof (tail_nb f e3 (inval (Isolation.s2update_vmid u) base :: tr) x j p base ipa stop u ltac:(lia) L
        ltac:(lia) Hj Hxu3 ltac:(rewrite Ex3; exact Td3) ltac:(rewrite Ex3, Toa, HB3; lia) ltac:(rewrite Ec3; lia)
        ltac:(rewrite Ec3; exact Hinv3) Hxs ltac:(rewrite HB3; exact Hal) ltac:(rewrite HB3, Hl3; exact Hbelow)
        Hb0 Hba Hr Hs H40 Hia Hsa Hd ltac:(rewrite Ec3, Hn3, Hc3; lia)) as (st & tr' & Htail & HBs & Hcase).
      rewrite Ec3 in Htail, Hcase. exists st, tr'. split; [exact Htail|]. intros y Hy Hpre Hnc.
      destruct Hcase as [E0|(Ex & Hnb)]; [rewrite E0; apply lv3_zero|].
      rewrite Ex, Ex3, HBs, HB3. unfold lv3. rewrite Tdc. split; [right; exact Td3|intros _].
      destruct (l2_nb_at e3 st c base ipa stop y Hb0 Hba Hr Hs Hy Hnb Hnc) as [Hn|(Hout & _)]; [exact Hn|].
      exfalso. destruct Hpre as [([Hi|Hi] & _)|Hin]; [congruence|exact (E3 Hi)|lia].
    + destruct (Isolation.s2update_unmap u) eqn:Hun.
      * (* nothing to unmap *)
        destruct fuel as [|f']; [lia|].
        exists e, tr. split; [exact (descend_invalid_unmap f' e tr p _ _ _ 1 base ipa stop u L Hv Hval Hun)|].
        intros y _ _ _. fold dd. split; [left; exact Hval|intros H3; exfalso; exact (invalid_not_table dd Hval H3)].
      * (* a new table for a map *)
        pose proof (need_l2g_bound (Z.to_nat (stop - ipa)) (fun _ => 0) ipa stop u).
        assert (Hsome : some_free (Isolation.Engine_pool e)) by (apply count_some_free; [exact Hpok|lia]).
        destruct fuel as [|f]; [lia|].
        pose proof (descend_new_open f e tr x j p base ipa stop u Hpi Hj L Hx Hxu Hval Hun Hsome)
          as (c & q & Hc & Hxc & Hcf & Htk & Hqb & Hopen).
        rewrite Hopen. unfold descend_tail.
        set (e1 := Isolation.set_Engine_pool q e) in *.
        pose proof (tables_set_pool_taken e q c Htk) as (HT1 & HB1).
        assert (Hw1 : whole (tables e1)) by (unfold e1; rewrite HT1; apply Forall_replace; [exact Hwh|reflexivity]).
        assert (Hl1 : len (tables e1) = len (tables e)) by (unfold e1; rewrite HT1; apply len_replace).
        pose proof (l2_inv_new e q c x j (fun _ => 0) (tables e1) Hpi ltac:(lia) Hcf Htk Hqb Hx Hxc Hj Hl1 Hw1
          ltac:(intros j' Hj'; unfold e1; rewrite HT1; apply tent_zeroed; lia) ltac:(intros; discriminate))
          as (Hinv2 & Hc2 & HB2).
        fold e1 in Hinv2, Hc2, HB2.
        set (e2 := set_tables e1 (put_ent (tables e1) x j (tdesc (pool_base e) c))) in *.
        assert (Hl2 : len (tables e2) = len (tables e)) by (unfold e2; rewrite tables_set_tables, len_put_ent; exact Hl1).
        pose proof (tdesc_spec (pool_base e) c ltac:(lia) Hal ltac:(lia) ltac:(lia)) as (Td3 & Toa & Tdc).
        assert (Ex2 : tent (tables e2) x j = tdesc (pool_base e) c).
        { unfold e2. rewrite tables_set_tables, tent_put_ent by (auto; lia). rewrite !Z.eqb_refl. reflexivity. }
        assert (Ec2 : child (pool_base e2) (tent (tables e2) x j) = c) by (rewrite Ex2, HB2; exact Tdc).
        assert (Hz2 : forall j', 0 <= j' < 512 -> tent (tables e2) c j' = 0).
        { intros j' Hj'. unfold e2. rewrite tables_set_tables, tent_put_ent by (auto; lia).
          replace (c =? x) with false by (symmetry; apply Z.eqb_neq; lia). unfold e1. rewrite HT1. apply tent_zeroed; lia. }
        assert (Hn2 : need_l2 (Z.to_nat (stop - ipa)) (tables e2) c ipa stop u =
          need_l2g (Z.to_nat (stop - ipa)) (fun _ => 0) ipa stop u) by (apply need_l2_new; exact Hz2).
        assert (Hxu2 : free_bit (Isolation.Engine_pool e2) x = false).
        { unfold e2. rewrite free_bit_set_tables. unfold e1. rewrite get_set_pool.
          destruct Htk as (_ & _ & _ & Hout & _). rewrite Hout by lia. exact Hxu. }
        assert (Hxs : ~ subx e2 x j x).
        { intros (_ & [E|(j' & Hj' & H3' & _)]).
          - rewrite Ec2 in E. lia.
          - rewrite Ec2, Hz2 in H3' by exact Hj'. exact (zero_not_table H3'). }
        destruct f as [|f]; [lia|].
        pose proof (tail_nb f e2 tr x j p base ipa stop u ltac:(lia) L
          ltac:(lia) Hj Hxu2 ltac:(rewrite Ex2; exact Td3) ltac:(rewrite Ex2, Toa, HB2; lia) ltac:(rewrite Ec2; lia)
          ltac:(rewrite Ec2; exact Hinv2) Hxs ltac:(rewrite HB2; exact Hal) ltac:(rewrite HB2, Hl2; exact Hbelow)
          Hb0 Hba Hr Hs H40 Hia Hsa Hd ltac:(rewrite Ec2, Hn2, Hc2; lia)) as (st & tr' & Htail & HBs & Hcase).
        rewrite Ec2 in Htail, Hcase. exists st, tr'. split; [exact Htail|]. intros y Hy Hpre Hnc.
        destruct Hcase as [E0|(Ex & Hnb)]; [rewrite E0; apply lv3_zero|].
        rewrite Ex, Ex2, HBs, HB2. unfold lv3. rewrite Tdc. split; [right; exact Td3|intros _].
        destruct (l2_nb_at e2 st c base ipa stop y Hb0 Hba Hr Hs Hy Hnb Hnc) as [Hn|(_ & Ee)]; [exact Hn|].
        rewrite Ee, Hz2 by (apply Z.mod_pos_bound; lia). exact nb_zero.
Qed.

(** update at the root (level 1) of a page-aligned range inside one 1 GiB
    entry of the root [t] ([update_root_entry_walk]'s conditions but the
    blocks' and the output addresses' bounds): afterwards every address
    [y] of the entry's span whose 2 MiB span the range does not cover
    whole, and whose walk ended at level 3 or nowhere or that lies in the
    range, walks to level 3 or nowhere. A range covering the whole entry
    covers every 2 MiB span of it, so [replaceLeaf] is left out. *)
Theorem update_root_entry_nb : forall f e tr t ipa end' u,
  (8 <= f)%nat -> pool_inv e -> 0 <= t -> t + 1 < len (tables e) ->
  free_bit (Isolation.Engine_pool e) (t + ((ipa / 2 ^ 30) mod 1024) / 512) = false ->
  pool_base e mod 4096 = 0 -> pool_base e + 4096 * len (tables e) <= 2 ^ 48 ->
  0 <= ipa < end' -> end' <= l1_base ipa + 2 ^ 30 -> end' <= 2 ^ 40 ->
  ipa mod 4096 = 0 -> end' mod 4096 = 0 -> Isolation.s2update_delta u mod 4096 = 0 ->
  let d := ent (tables e) t ((ipa / 2 ^ 30) mod 1024) in
  (Z.land d 3 = 3 -> pool_base e <= Z.land d Isolation.descOAMask /\ child (pool_base e) d < len (tables e) /\
     l2_inv e (child (pool_base e) d) /\ t + ((ipa / 2 ^ 30) mod 1024) / 512 <> child (pool_base e) d /\
     (forall j', 0 <= j' < 512 -> Z.land (tent (tables e) (child (pool_base e) d) j') 3 = 3 ->
        child (pool_base e) (tent (tables e) (child (pool_base e) d) j') <> t + ((ipa / 2 ^ 30) mod 1024) / 512)) ->
  need_root_at (tables e) (pool_base e) t ipa end' u <= count_free (Isolation.Engine_pool e) ->
  exists st tr', Isolation.Engine_update (S f) root t 1 ipa end' u e tr = Ok tt st tr' /\
    forall y, l1_base ipa <= y < l1_base ipa + 2 ^ 30 ->
      (lv3 (tables e) (pool_base e) d y \/ ipa <= y < end') -> ~ l2_cover ipa end' y ->
      lv3 (tables st) (pool_base st) (ent (tables st) t ((ipa / 2 ^ 30) mod 1024)) y.
Proof.
  intros f e tr t ipa end' u Hf Hpi Ht Htl Hxu Hal Hbelow Hr Hend H40 Hia Hea Hd dd Htab Hneed.
  pose proof Hpi as (Hok & Hpok & Hbits & Hcok & Hpl). pose proof Hok as (Hwh & Hsmall & Hbase).
  fold (whole (tables e)) in Hwh.
  pose proof (l1_base_bound ipa ltac:(lia)) as Hb.
  set (base := l1_base ipa) in *.
  assert (Hba : base mod 2 ^ 30 = 0) by (unfold base, l1_base; apply Z.mod_mul; lia).
  assert (Hb40 : base + 2 ^ 30 <= 2 ^ 40).
  { unfold base, l1_base in *. pose proof (Z.div_mod ipa (2 ^ 30) ltac:(lia)). pose proof (Z.mod_pos_bound ipa (2 ^ 30) ltac:(lia)). lia. }
  assert (Hstop : l1_stop ipa end' = end') by (unfold l1_stop; fold base; lia).
  set (i := (ipa / 2 ^ 30) mod 1024) in *.
  assert (Hi : 0 <= i < 1024) by (apply Z.mod_pos_bound; lia).
  assert (Hq : 0 <= i / 512 < 2) by (split; [apply Z.div_pos|apply Z.div_lt_upper_bound]; lia).
  set (x := t + i / 512) in *. set (j := i mod 512).
  assert (Hj : 0 <= j < 512) by (apply Z.mod_pos_bound; lia).
  assert (Edd : dd = tent (tables e) x j) by reflexivity.
  set (PW := fun st : Isolation.Engine => forall y, base <= y < base + 2 ^ 30 ->
    (lv3 (tables e) (pool_base e) dd y \/ ipa <= y < end') -> ~ l2_cover ipa end' y ->
    lv3 (tables st) (pool_base st) (tent (tables st) x j) y).
  unfold need_root_at in Hneed. fold base in Hneed. rewrite Hstop in Hneed. fold i in Hneed. fold dd in Hneed.
  cbn [Isolation.Engine_update].
  match goal with |- context [loop ?fu ?c ?b ?p ?l0] =>
  destruct (loop_spec fu c b p
    (fun cur st tr' => (cur = ipa /\ st = e /\ tr' = tr) \/ (cur = end' /\ PW st))
    (fun _ st _ => PW st)
    (fun cur => Z.to_nat (end' - cur))) with (l := l0) (s := e) (tr := tr) as (r & s' & tr' & Hl & Hfin) end.
  - intros cur st tr' H. exists (cur <? end'). split; [destruct H as [(_ & -> & ->)|(-> & _)]; reflexivity|]. split.
    + intros Hc. apply Z.ltb_lt in Hc. lia.
    + intros Hc. apply Z.ltb_ge in Hc. destruct H as [(-> & _ & _)|(_ & HP)]; [lia|exact HP].
  - intros cur st tr' [(-> & -> & ->)|(-> & _)] Hc; [|injection Hc as Hc; rewrite Z.ltb_irrefl in Hc; discriminate].
    pose proof (levelSize_ok e tr 1 ltac:(lia)) as [Hsz Hmask].
    change (2 ^ (12 + 9 * (3 - 1))) with (2 ^ 30) in Hsz, Hmask. change (12 + 9 * (3 - 1)) with 30 in Hmask.
    step_by Hsz. rewrite Hmask, andnot_ones by lia. change (ipa / 2 ^ 30 * 2 ^ 30) with (l1_base ipa). fold base.
    step_by Hsz. rewrite (wrapu_small (base + 2 ^ 30)) by lia. replace (Z.min end' (base + 2 ^ 30)) with end' by lia.
    step_by (entryIndex_val e tr ipa 1 ltac:(lia) ltac:(lia)).
    change (2 ^ (12 + 9 * (3 - 1))) with (2 ^ 30). change (nentries 1) with 1024. fold i.
    pose proof (slot_lens t i ltac:(lia) Hi ltac:(lia)) as (p & Hp & L). fold x j in Hp, L.
    assert (Hv : slot_valid x e) by (split; [lia|exact Hwh]).
    step_by (Hp e tr Hv).
    step_by (wholeLeaf_val1 e tr base ipa end' u).
    assert (Hcont : forall st tr1, PW st -> exists r s' tr', (let ipa := end' in ret (S:=Isolation.Engine) (Continue (X:=Empty_set) ipa)) st tr1 = Ok r s' tr' /\
      match r with Continue l' => exists l'', ret l' s' tr' = Ok l'' s' tr' /\
        ((l'' = ipa /\ s' = e /\ tr' = tr) \/ (l'' = end' /\ PW s')) /\ (Z.to_nat (end' - l'') < Z.to_nat (end' - ipa))%nat
      | Break l' => PW s' | Leave x => PW s' end).
    { intros st tr1 HP. eexists _, _, _. split; [reflexivity|]. eexists. split; [reflexivity|]. split; [right; split; [reflexivity|exact HP]|]. lia. }
    destruct (whole_l1 base ipa end' u) eqn:Hwl.
    + (* a whole entry: every 2 MiB span of it is covered *)
      pose proof (whole_l1_spec base ipa end' u ltac:(lia) ltac:(lia) Hwl) as (Eib & Eend & _).
      assert (Hall : forall st : Isolation.Engine, PW st).
      { intros st y Hy _ Hnc. exfalso. apply Hnc.
        pose proof (l2_entry_of base y ltac:(lia) Hba Hy) as (Hjy & EB & _). unfold l2_cover. rewrite EB. lia. }
      destruct (Z.eq_dec (Z.land dd 3) 3) as [E3|E3].
      * pose proof (Htab E3) as (Hle & Hlt & Hinv & _).
        pose proof (replaceLeaf_table_root f e tr x j p base u ltac:(lia) Hj L ltac:(lia) E3 Hle Hlt Hinv Hal Hbelow
          ltac:(lia) Hba Hb40) as (st & tr1 & Hrl & _).
        assert (H : (let! t'6 := Isolation.Engine_replaceLeaf f root p 1 base u in ret tt) e tr = Ok tt st tr1)
          by (step_by Hrl; reflexivity).
        step_by H. apply Hcont. apply Hall.
      * pose proof (slot_laws x j ltac:(lia) Hj) as (L1 & L2 & L3).
        destruct f as [|[|f']]; [lia|lia|].
        pose proof (replaceLeaf_leaf_ok f' p _ _ _ e tr 1 base u L Hv Hpl L1 L2 L3
          ltac:(apply andb_false_iff; right; apply Z.eqb_neq; exact E3)) as Hrl.
        assert (H : (let! t'6 := Isolation.Engine_replaceLeaf (S (S f')) root p 1 base u in ret tt) e tr = Ok tt
          ((fun v s => set_tables s (put_ent (tables s) x j v)) (new_ent u 1 base ((fun s => tent (tables s) x j) e)) e)
          (if valid_d ((fun s => tent (tables s) x j) e) then inval (Isolation.s2update_vmid u) base :: tr else tr))
          by (step_by Hrl; reflexivity).
        step_by H. apply Hcont. apply Hall.
    + (* part of an entry: descend *)
      assert (Hal' : forall st tr1, Isolation.Engine_descend f root p 1 base ipa end' u e tr = Ok tt st tr1 -> PW st ->
        exists r s' tr', (let! _ := (let! t'7 := Isolation.Engine_descend f root p 1 base ipa end' u in ret tt) in let ipa := end' in ret (Continue (X:=Empty_set) ipa)) e tr = Ok r s' tr' /\
        match r with Continue l' => exists l'', ret l' s' tr' = Ok l'' s' tr' /\
          ((l'' = ipa /\ s' = e /\ tr' = tr) \/ (l'' = end' /\ PW s')) /\ (Z.to_nat (end' - l'') < Z.to_nat (end' - ipa))%nat
        | Break l' => PW s' | Leave x => PW s' end).
      { intros st tr1 H HP. assert (H' : (let! t'7 := Isolation.Engine_descend f root p 1 base ipa end' u in ret tt) e tr = Ok tt st tr1)
          by (step_by H; reflexivity). step_by H'. apply Hcont. exact HP. }
      assert (Hxu' : free_bit (Isolation.Engine_pool e) x = false) by exact Hxu.
      pose proof (descend_root_nb f e tr x j p base ipa end' u ltac:(lia) Hpi Hj L ltac:(lia) Hxu' Htab Hal Hbelow
        ltac:(lia) Hba ltac:(lia) ltac:(lia) H40 Hia Hea Hd Hneed) as (st & tr1 & Hde & Hw).
      apply (Hal' st tr1 Hde). exact Hw.
  - left. split; [reflexivity|]. split; reflexivity.
  - rewrite max_fuel_nat. unfold max_fuel. lia.
  - step_by Hl. destruct r as [cur|[]]. eexists _, _. split; [reflexivity|].
    intros y Hy. rewrite ent_tent'. exact (Hfin y Hy).
Qed.

(** ** Over several root entries *)

(** A root entry other than the one an iteration changed, and the
    entries of the level-2 table it holds, stay; so does whether the walk
    of an address under it ends at level 3 or nowhere. *)
Lemma lv3_kept : forall e st t i y, pool_base st = pool_base e -> 0 <= y < 2 ^ 40 ->
  (forall i', 0 <= i' < 1024 -> i' <> i -> ent (tables st) t i' = ent (tables e) t i') ->
  subs_kept e st t i -> y / 2 ^ 30 <> i ->
  lv3 (tables e) (pool_base e) (ent (tables e) t ((y / 2 ^ 30) mod 1024)) y ->
  lv3 (tables st) (pool_base st) (ent (tables st) t ((y / 2 ^ 30) mod 1024)) y.
Proof.
  intros e st t i y HB Hy Ho Hsk Hne [Hnb Hl].
  assert (Hk : 0 <= y / 2 ^ 30 < 1024) by (split; [apply Z.div_pos|apply Z.div_lt_upper_bound]; lia).
  rewrite Z.mod_small in * by exact Hk. rewrite Ho by lia. split; [exact Hnb|]. intros H3.
  rewrite HB, Hsk by (try lia; try exact H3; apply Z.mod_pos_bound; lia). exact (Hl H3).
Qed.

(** update at the root [t] of a stage-2 with [root_inv] over a
    page-aligned range [ipa, end') below 2^40, whatever root entries it
    spans, given the [need_root] free tables [need] counts
    ([update_root_walk]'s conditions but the blocks' and the output
    addresses' bounds): afterwards every address [y] below 2^40 whose
    2 MiB span the range does not cover whole, and whose walk ended at
    level 3 or nowhere or that lies in the range, walks to level 3 or
    nowhere. *)
Theorem update_root_nb : forall f e tr t ipa end' u,
  (8 <= f)%nat -> root_inv e t ->
  pool_base e mod 4096 = 0 -> pool_base e + 4096 * len (tables e) <= 2 ^ 48 ->
  0 <= ipa <= end' -> end' <= 2 ^ 40 ->
  ipa mod 4096 = 0 -> end' mod 4096 = 0 -> Isolation.s2update_delta u mod 4096 = 0 ->
  need_root (Z.to_nat (end' - ipa)) (tables e) (pool_base e) t ipa end' u <= count_free (Isolation.Engine_pool e) ->
  exists st tr', Isolation.Engine_update (S f) root t 1 ipa end' u e tr = Ok tt st tr' /\
    forall y, 0 <= y < 2 ^ 40 ->
      (lv3 (tables e) (pool_base e) (ent (tables e) t ((y / 2 ^ 30) mod 1024)) y \/ ipa <= y < end') ->
      ~ l2_cover ipa end' y ->
      lv3 (tables st) (pool_base st) (ent (tables st) t ((y / 2 ^ 30) mod 1024)) y.
Proof.
  intros f e tr t ipa end' u Hf Hr Hal Hbelow Hrange H40 Hia Hea Hd Hneed.
  set (NT := need_root (Z.to_nat (end' - ipa)) (tables e) (pool_base e) t ipa end' u) in *.
  set (L3 := fun (s : Isolation.Engine) y => lv3 (tables s) (pool_base s) (ent (tables s) t ((y / 2 ^ 30) mod 1024)) y).
  destruct (update_root_loop f t ipa end' u
    (fun cur st _ => root_inv st t /\ ipa <= cur <= end' /\ cur mod 4096 = 0 /\
       pool_base st = pool_base e /\ len (tables st) = len (tables e) /\
       (cur < end' -> forall k, cur / 2 ^ 30 <= k < 1024 -> ent (tables st) t k = ent (tables e) t k /\
          (Z.land (ent (tables e) t k) 3 = 3 -> forall j, 0 <= j < 512 ->
             tent (tables st) (child (pool_base e) (ent (tables e) t k)) j = tent (tables e) (child (pool_base e) (ent (tables e) t k)) j)) /\
       count_free (Isolation.Engine_pool e) - (NT - need_root (Z.to_nat (end' - cur)) (tables e) (pool_base e) t cur end' u)
         <= count_free (Isolation.Engine_pool st) /\
       (forall y, 0 <= y < 2 ^ 40 -> y < cur -> (L3 e y \/ ipa <= y < end') -> ~ l2_cover ipa end' y -> L3 st y) /\
       (forall y, 0 <= y < 2 ^ 40 -> cur <= y -> L3 e y -> L3 st y)) e tr
    ltac:(lia) ltac:(lia)) as (st & tr' & Hup & Hfin).
  - split; [exact Hr|]. split; [lia|]. split; [exact Hia|]. split; [reflexivity|]. split; [reflexivity|].
    split; [intros _ k _; split; [reflexivity|intros; reflexivity]|]. split; [fold NT; lia|].
    split; [|intros y _ _ H; exact H].
    intros y Hy Hlt [H|H] _; [exact H|lia].
  - intros cur st tr1 Hc (Hr1 & Hc1 & Hca & HB1 & Hl1 & Hent1 & Hn1 & HP1 & HQ1).
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
           <> t + ((cur / 2 ^ 30) mod 1024) / 512)).
    { intros H3. destruct (Hents1 _ Hi H3) as (Hle & Hlt & Hinv & Hct & Hct1).
      assert (Hq : 0 <= ((cur / 2 ^ 30) mod 1024) / 512 < 2) by (split; [apply Z.div_pos|apply Z.div_lt_upper_bound]; lia).
      split; [exact Hle|]. split; [exact Hlt|]. split; [exact Hinv|]. split; [lia|].
      intros j' Hj' H3'. destruct (Hne1 _ _ Hi (sub_low st t _ j' H3 Hj' H3')) as (Ha & Hb'). lia. }
    assert (Hneq : need_root_at (tables st) (pool_base st) t cur (l1_stop cur end') u =
      need_root_at (tables st) (pool_base st) t cur end' u) by (unfold need_root_at; rewrite Hss; reflexivity).
    destruct (update_root_entry_nb f st tr1 t cur (l1_stop cur end') u Hf Hpi1 Ht ltac:(lia)
      (l1_inv_slot_used st t _ Hl1' Hi) ltac:(rewrite HB1; exact Hal) ltac:(rewrite HB1, Hl1; exact Hbelow)
      ltac:(lia) Hst ltac:(lia) Hca (l1_stop_page cur end' Hea) Hd Htab ltac:(rewrite Hneq; exact Hna0))
      as (st2 & tr2 & Hup2 & Hw2).
    rewrite Hone in Hup2. apply ok_state in Hup2. subst st2.
    (* the addresses of the entry just updated, [l1_base cur] to [l1_base cur + 2^30) *)
    assert (Hsame : forall y, l1_base cur <= y < l1_base cur + 2 ^ 30 -> (y / 2 ^ 30) mod 1024 = (cur / 2 ^ 30) mod 1024).
    { intros y Hy. rewrite Ei. unfold l1_base in Hy.
      assert (E : y / 2 ^ 30 = cur / 2 ^ 30) by (symmetry; apply Z.div_unique_pos with (y - cur / 2 ^ 30 * 2 ^ 30); lia).
      rewrite E. exact Ei. }
    assert (Hother : forall y, 0 <= y < 2 ^ 40 -> ~ (l1_base cur <= y < l1_base cur + 2 ^ 30) -> L3 st y -> L3 st' y).
    { intros y Hy Hn' H. apply (lv3_kept st st' t ((cur / 2 ^ 30) mod 1024) y HB2 Hy Ho2 Hsk2); [|exact H].
      rewrite Ei. intros E. apply Hn'. unfold l1_base. pose proof (Z.div_mod y (2 ^ 30) ltac:(lia)).
      pose proof (Z.mod_pos_bound y (2 ^ 30) ltac:(lia)). lia. }
    assert (Hin : forall y, l1_base cur <= y < l1_base cur + 2 ^ 30 ->
      (L3 st y \/ cur <= y < l1_stop cur end') -> ~ l2_cover cur (l1_stop cur end') y -> L3 st' y).
    { intros y Hy Hpre Hnc. unfold L3. rewrite (Hsame y Hy). apply Hw2; [exact Hy| |exact Hnc].
      unfold L3 in Hpre. rewrite (Hsame y Hy) in Hpre. exact Hpre. }
    assert (Hcov : forall y, ~ l2_cover ipa end' y -> ~ l2_cover cur (l1_stop cur end') y)
      by (intros y Hnc Hc'; apply Hnc; unfold l2_cover in *; lia).
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
    + intros y Hy Hlt Hpre Hnc.
      destruct (Z_lt_le_dec y (l1_base cur)) as [Hyl|Hyl].
      * apply Hother; [exact Hy|lia|]. apply HP1; [exact Hy|lia|exact Hpre|exact Hnc].
      * apply Hin; [lia| |exact (Hcov y Hnc)].
        destruct (Z_lt_le_dec y cur) as [Hyc|Hyc]; [left; apply HP1; assumption|].
        destruct Hpre as [H|H]; [left; apply HQ1; assumption|right; lia].
    + intros y Hy Hle H.
      destruct (Z_lt_le_dec y (l1_base cur + 2 ^ 30)) as [Hyh|Hyh].
      * apply Hin; [lia|left; apply HQ1; [exact Hy|lia|exact H]|]. intros (Hc1' & Hc2'). 
        pose proof (Z.div_mod y (2 ^ 21) ltac:(lia)). pose proof (Z.mod_pos_bound y (2 ^ 21) ltac:(lia)). lia.
      * apply Hother; [exact Hy|lia|]. apply HQ1; [exact Hy|lia|exact H].
  - destruct Hfin as (_ & _ & _ & _ & _ & _ & _ & HP & HQ). exists st, tr'. split; [exact Hup|].
    intros y Hy Hpre Hnc. destruct (Z_lt_le_dec y end') as [Hlt|Hge]; [exact (HP y Hy Hlt Hpre Hnc)|].
    destruct Hpre as [H|H]; [|lia]. exact (HQ y Hy Hge H).
Qed.

(** ** mapRange and unmapRange *)

(** The walk of stage-2 [s2] at IPA page [k] ends at level 3 or
    nowhere. *)
Definition lv3_at (e : Isolation.Engine) (s2 : Isolation.stage2) (k : nat) : Prop :=
  lv3 (tables e) (pool_base e) (ent (tables e) (Isolation.stage2_root s2) ((Z.of_nat k * 4096 / 2 ^ 30) mod 1024))
    (Z.of_nat k * 4096).

(** A page outside a range is not under a 2 MiB span the range covers. *)
Lemma out_no_cover : forall ipa end' y, ~ (ipa <= y < end') -> 0 <= y -> ~ l2_cover ipa end' y.
Proof.
  intros ipa end' y Hout Hy (H1 & H2). apply Hout.
  pose proof (Z.div_mod y (2 ^ 21) ltac:(lia)). pose proof (Z.mod_pos_bound y (2 ^ 21) ltac:(lia)). lia.
Qed.

(** A range of fewer than 512 pages covers no 2 MiB span whole. *)
Lemma small_no_cover : forall ipa n y, 0 <= n -> n < 512 -> ~ l2_cover ipa (ipa + n * 4096) y.
Proof. intros ipa n y Hn Hs (H1 & H2). lia. Qed.

(** mapRange of [n] pages at a page-aligned [ipa] ([mapRange_walk_range]'s
    conditions but the output addresses' bounds): every IPA page below
    2^40 whose 2 MiB span the range does not cover whole, and whose walk
    ended at level 3 or nowhere or that lies in the range, walks to
    level 3 or nowhere afterwards. *)
Theorem mapRange_nb : forall e tr s s2 ipa pa n a k,
  good s e s2 -> root_inv e (Isolation.stage2_root s2) ->
  pool_base e mod 4096 = 0 -> pool_base e + 4096 * len (tables e) <= 2 ^ 48 ->
  0 <= ipa -> 0 <= n -> ipa + n * 4096 <= 2 ^ 40 -> ipa mod 4096 = 0 -> pa mod 4096 = 0 ->
  Isolation.Engine_mapNeed root s ipa pa n e tr = Ok k e tr -> k <= count_free (Isolation.Engine_pool e) ->
  exists st tr', Isolation.Engine_mapRange root s ipa pa n a e tr = Ok tt st tr' /\
    forall k', Z.of_nat k' * 4096 < 2 ^ 40 ->
      (lv3_at e s2 k' \/ ipa <= Z.of_nat k' * 4096 < ipa + n * 4096) ->
      ~ l2_cover ipa (ipa + n * 4096) (Z.of_nat k' * 4096) -> lv3_at st s2 k'.
Proof.
  intros e tr s s2 ipa pa n a k Hg Hr Hal Hbelow Hipa Hn H40 Hia Hpa Hk Hle.
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
  destruct (update_root_nb 63 e tr (Isolation.stage2_root s2) ipa (ipa + n * 4096) (map_u s2 ipa pa a)
    ltac:(lia) Hr Hal Hbelow ltac:(lia) H40 Hia ltac:(rewrite Z.add_mod, Z.mod_mul, Hia by lia; reflexivity) Hd
    ltac:(replace (ipa + n * 4096 - ipa) with (n * 4096) by ring; erewrite need_root_u; [exact Hle|reflexivity|reflexivity]))
    as (st & tr' & Hup & Hw).
  step_by Hup. exists st, tr'. split; [reflexivity|].
  intros k' Hk' Hpre Hnc. apply Hw; [lia|exact Hpre|exact Hnc].
Qed.

(** unmapRange of [n] pages at a page-aligned [ipa]
    ([unmapRange_walk_range]'s conditions): the same. *)
Theorem unmapRange_nb : forall e tr s s2 ipa n k,
  good s e s2 -> root_inv e (Isolation.stage2_root s2) ->
  pool_base e mod 4096 = 0 -> pool_base e + 4096 * len (tables e) <= 2 ^ 48 ->
  0 <= ipa -> 0 <= n -> ipa + n * 4096 <= 2 ^ 40 -> ipa mod 4096 = 0 ->
  Isolation.Engine_unmapNeed root s ipa n e tr = Ok k e tr -> k <= count_free (Isolation.Engine_pool e) ->
  exists st tr', Isolation.Engine_unmapRange root s ipa n e tr = Ok tt st tr' /\
    forall k', Z.of_nat k' * 4096 < 2 ^ 40 ->
      (lv3_at e s2 k' \/ ipa <= Z.of_nat k' * 4096 < ipa + n * 4096) ->
      ~ l2_cover ipa (ipa + n * 4096) (Z.of_nat k' * 4096) -> lv3_at st s2 k'.
Proof.
  intros e tr s s2 ipa n k Hg Hr Hal Hbelow Hipa Hn H40 Hia Hk Hle.
  pose proof (root_inv_l1 e _ Hr) as Hl. pose proof Hl as ((Hok & _) & Ht & _).
  rewrite (unmapNeed_spec e tr s s2 ipa n Hok Ht (l1_inv_tree e _ Hl) Hg Hipa Hn H40) in Hk.
  injection Hk as <-.
  unfold Isolation.Engine_unmapRange, bind at 1. rewrite (deref_good _ _ _ _ Hg). cbv beta iota zeta.
  unfold bind at 1. rewrite (deref_good _ _ _ _ Hg). cbv beta iota.
  rewrite shl12, wrapu_small by lia.
  change Isolation.S2StartLevel with 1. change rec_fuel with (S 63).
  change (Isolation.mk_s2update (Isolation.stage2_vmid s2) 0 Isolation.zero_Attr true) with (unmap_u s2).
  destruct (update_root_nb 63 e tr (Isolation.stage2_root s2) ipa (ipa + n * 4096) (unmap_u s2)
    ltac:(lia) Hr Hal Hbelow ltac:(lia) H40 Hia ltac:(rewrite Z.add_mod, Z.mod_mul, Hia by lia; reflexivity) eq_refl
    ltac:(replace (ipa + n * 4096 - ipa) with (n * 4096) by ring; exact Hle))
    as (st & tr' & Hup & Hw).
  step_by Hup. exists st, tr'. split; [reflexivity|].
  intros k' Hk' Hpre Hnc. apply Hw; [lia|exact Hpre|exact Hnc].
Qed.

(** ** What an unmap needs where no block lies *)

(** [need] at level 2 for an unmap counts nothing when every entry the
    range reaches holds no block: only splitting a block takes a table. *)
Lemma need_l2_nb_zero : forall n T t cur end' u, Isolation.s2update_unmap u = true -> 0 <= cur ->
  (forall y, cur <= y < end' -> nb (tent T t ((y / 2 ^ 21) mod 512))) ->
  need_l2 n T t cur end' u = 0.
Proof.
  induction n as [|n IH]; intros T t cur end' u Hun Hc Hnb; cbn [need_l2]; [reflexivity|].
  destruct (Z.ltb_spec cur end') as [Hlt|]; [|reflexivity].
  pose proof (l2_stop_gt cur end' ltac:(lia)) as Hsg.
  rewrite IH by (try exact Hun; try lia; intros y Hy; apply Hnb; lia).
  unfold need_at. destruct (whole_l2 _ _ _ _); [reflexivity|].
  destruct (Hnb cur ltac:(lia)) as [Hv|H3].
  - rewrite (proj2 (Z.eqb_neq _ _) (invalid_not_table _ Hv)), Hv, Hun. reflexivity.
  - rewrite H3. reflexivity.
Qed.

(** [need] at the root for an unmap counts nothing when the walk of
    every address of the range ends at level 3 or nowhere. *)
Lemma need_root_nb_zero : forall n T base t cur end' u, Isolation.s2update_unmap u = true -> 0 <= cur ->
  (forall y, cur <= y < end' -> lv3 T base (ent T t ((y / 2 ^ 30) mod 1024)) y) ->
  need_root n T base t cur end' u = 0.
Proof.
  induction n as [|n IH]; intros T base t cur end' u Hun Hc Hl; cbn [need_root]; [reflexivity|].
  destruct (Z.ltb_spec cur end') as [Hlt|]; [|reflexivity].
  pose proof (l1_stop_gt cur end' ltac:(lia)) as Hsg.
  pose proof (l1_base_bound cur ltac:(lia)) as Hb.
  assert (Hst : l1_stop cur end' <= l1_base cur + 2 ^ 30) by (unfold l1_stop; lia).
  rewrite IH by (try exact Hun; try lia; intros y Hy; apply Hl; lia).
  unfold need_root_at. destruct (whole_l1 _ _ _ _); [reflexivity|].
  set (d := ent T t ((cur / 2 ^ 30) mod 1024)).
  assert (Hsame : forall y, cur <= y < l1_stop cur end' -> (y / 2 ^ 30) mod 1024 = (cur / 2 ^ 30) mod 1024).
  { intros y Hy. unfold l1_base in Hb, Hst. f_equal. symmetry.
    apply Z.div_unique_pos with (y - cur / 2 ^ 30 * 2 ^ 30); lia. }
  destruct (Hl cur ltac:(lia)) as [[Hv|H3] _]; unfold below1.
  - fold d in Hv |- *. rewrite (proj2 (Z.eqb_neq _ _) (invalid_not_table _ Hv)), Hv, Hun. lia.
  - fold d in H3 |- *. rewrite H3. cbn [Z.eqb Pos.eqb]. rewrite Z.add_0_r. apply need_l2_nb_zero; [exact Hun|exact Hc|].
    intros y Hy. destruct (Hl y ltac:(lia)) as [_ Hl3]. rewrite (Hsame y Hy) in Hl3. exact (Hl3 H3).
Qed.

(** The page of [y] lies in the same 2 MiB and 1 GiB spans as [y]. *)
Lemma page_spans : forall y, 0 <= y ->
  (y / 4096 * 4096) / 2 ^ 21 = y / 2 ^ 21 /\ (y / 4096 * 4096) / 2 ^ 30 = y / 2 ^ 30.
Proof.
  intros y Hy.
  assert (E : forall m, 0 < m -> (y / 4096 * 4096) / (4096 * m) = y / (4096 * m)).
  { intros m Hm. rewrite <- !Z.div_div by lia. rewrite Z.div_mul by lia. reflexivity. }
  split; [change (2 ^ 21) with (4096 * 512)|change (2 ^ 30) with (4096 * 262144)]; apply E; lia.
Qed.

(** unmapNeed of [n] pages at a page-aligned [ipa] of a stage-2 on a tree
    of tables is 0 when the walk of every page of the range ends at
    level 3 or nowhere: unmapping them splits no block. *)
Theorem unmapNeed_nb_zero : forall e tr s s2 ipa n, tables_ok e -> 0 <= Isolation.stage2_root s2 ->
  tree_ok (tables e) (pool_base e) 2 (Isolation.stage2_root s2) 1024 -> good s e s2 ->
  0 <= ipa -> 0 <= n -> ipa + n * 4096 <= 2 ^ 40 -> ipa mod 4096 = 0 ->
  (forall k, ipa <= Z.of_nat k * 4096 < ipa + n * 4096 -> lv3_at e s2 k) ->
  Isolation.Engine_unmapNeed root s ipa n e tr = Ok 0 e tr.
Proof.
  intros e tr s s2 ipa n Hok Ht Htree Hg Hipa Hn H40 Hia Hl.
  rewrite (unmapNeed_spec e tr s s2 ipa n Hok Ht Htree Hg Hipa Hn H40).
  rewrite need_root_nb_zero; [reflexivity|reflexivity|exact Hipa|].
  intros y Hy. pose proof (page_spans y ltac:(lia)) as [E21 E30].
  assert (Hk : ipa <= Z.of_nat (Z.to_nat (y / 4096)) * 4096 < ipa + n * 4096).
  { rewrite Z2Nat.id by (apply Z.div_pos; lia). pose proof (Z.div_mod y 4096 ltac:(lia)).
    pose proof (Z.mod_pos_bound y 4096 ltac:(lia)). pose proof (Z.div_mod ipa 4096 ltac:(lia)). lia. }
  pose proof (Hl _ Hk) as H. unfold lv3_at in H. rewrite Z2Nat.id in H by (apply Z.div_pos; lia).
  unfold lv3 in H |- *. rewrite E30, E21 in H. exact H.
Qed.
