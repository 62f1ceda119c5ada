(** * The reservation count of the stage-2 update

    Lemmas about proofs/code/Isolation.v, the translation of
    isolation/stage2.go, that carry on from CodeUpdateL2.v. Before a
    stage-2 update, the callers reserve [need] tables: [need] walks the
    range as [update] does, and for an entry it goes down into (not
    replaced whole by a leaf) counts through [needBelow] one table for a
    block to split or an invalid entry of a map, plus what the level below
    needs, reading a table not made yet as [virt] in every entry (0 for a
    new empty table, a valid leaf for a split block).
    Proved here:
    - at level 3 [need] counts nothing ([need_l3]), and at level 2
      [needBelow] of one entry is what [need_at] (CodeUpdateL2) counts for
      it ([needBelow_l2]);
    - so [need] at level 2 over a range of a level-2 table [t] with
      [l2_inv] is [need_l2] (CodeUpdateL2), the count [update_l2_no_failure]
      asks for ([need_l2_spec]); over a table not made yet it is the same
      count read from [virt] in every entry ([need_l2_virt]);
    - at the root (level 1, 1,024 entries over two tables), on a stage-2
      that is a tree of tables of the pool ([tree_ok], CodeStage2), [need]
      is the sum over the root entries of the range of [need_root_at]: for
      an entry holding a table, [need_l2] of that table over the entry's
      part of the range; for a block to split or an invalid entry of a map,
      one table plus the count of the table that will be made
      ([need_root_spec]); so are the reservations [mapNeed] and
      [unmapNeed] before [mapRange] and [unmapRange] ([mapNeed_spec],
      [unmapNeed_spec]);
    - the table the root's update makes where [need] read [virt] counts
      for [need_l2] what [need] counted: a level-2 table a block is split
      into ([need_l2_split]), a new zeroed table ([need_l2_new]);
    - at one root entry, the steps of [update] at the root never fail:
      [clearEntry] and [replaceLeaf] of an entry holding a level-2 table
      with [l2_inv] (the unmap of its whole span takes no table,
      [need_l2_clear]) ([clearEntry_table_root], [replaceLeaf_table_root]),
      [descend] into such an entry ([descend_table_root]), into an invalid
      entry for a map ([descend_new_root]; the new table has [l2_inv],
      [l2_inv_new]) and into a block ([descend_split_root]; its opening,
      up to the update of the table the block is split into, is
      [descend_split_open], and that into an invalid entry is
      [descend_new_open]; CodeUpdateRootRange and CodeWalkUpdate use
      them too);
    - so [update] at the root of a page-aligned range inside one 1 GiB
      root entry never fails whatever the entry holds, given the pool
      sound ([pool_inv]) and [need_root_at] free tables, the count [need]
      makes for that entry ([update_root_entry_no_failure]);
    - [update] at level 2 leaves at most [need_l2] fewer free tables
      ([update_l2_count]), so the reservation bounds what it takes there:
      when [need] counts at most the free tables, [update] over the same
      range never fails, keeps [l2_inv] and takes at most that count
      ([update_l2_reserved]).

    The depth fuel of every inner call stays a variable when a call is
    unfolded ([cbn]), as in CodeUpdate.v: a lemma about a call at fuel
    [S f] unfolds it, then destructs [f]. Unfolding a call at [S (S f)]
    leaves the kernel an inner call at a successor, which it unfolds
    into [loop]'s 2^64 fuel when checking the proof. *)
From Coq Require Import ZArith Lia List Bool String.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodePlace CodeTrack CodeLens CodeLoop CodeLedger CodeVCPU CodeVMCreate
  CodeStage2 CodeShadow CodePool CodeFree CodeUpdate CodeUpdateFrame CodeUpdateL2.
Import ListNotations.
Open Scope Z_scope.

(** ** Level 3 *)

(** [need] at the last level counts nothing: its loop stops at once. *)
Theorem need_l3 : forall f e tr t virt ipa end' u,
  Isolation.Engine_need (S f) root t virt 3 ipa end' u e tr = Ok 0 e tr.
Proof.
  intros f e tr t virt ipa end' u. cbn [Isolation.Engine_need].
  match goal with |- context [loop ?fu ?c ?b ?p ?l0] =>
  destruct (loop_spec fu c b p
    (fun l st tr' => st = e /\ tr' = tr /\ snd l = 0)
    (fun j st tr' => st = e /\ tr' = tr /\ exists i, j = Fall (i, 0))
    (fun _ => 0%nat)) with (l := l0) (s := e) (tr := tr) as (j & s' & tr' & Hl & Hq) end.
  - intros [i n] st tr' (-> & -> & Hn). cbn [snd] in Hn. subst n. eexists. split; [reflexivity|].
    change (3 <? Isolation.lastLevel) with false. rewrite andb_false_r. split; [discriminate|]. intros _. eauto.
  - intros [i n] st tr' _ Hc. injection Hc as Hc. change (3 <? Isolation.lastLevel) with false in Hc.
    rewrite andb_false_r in Hc. discriminate.
  - cbn. auto.
  - lia.
  - unfold bind at 1. rewrite Hl. destruct Hq as (-> & -> & i & ->). reflexivity.
Qed.

(** ** One entry at level 2 *)

(** The tables [needBelow] counts for an entry [d] of a level-2 table:
    none for a table (level 3 takes none), one for a block to split or an
    invalid entry of a map, none for an invalid entry of an unmap. *)
Definition below2 (d : Z) (u : Isolation.s2update) : Z :=
  if Z.land d 3 =? 3 then 0 else if valid_d d then 1 else if Isolation.s2update_unmap u then 0 else 1.

Lemma below2_bound : forall d u, 0 <= below2 d u <= 1.
Proof.
  intros d u. unfold below2.
  repeat match goal with |- context [if ?c then _ else _] => destruct c end; lia.
Qed.

(** needBelow of a level-2 entry never fails and counts [below2]; an entry
    holding a table descriptor must point into the pool. *)
Theorem needBelow_l2 : forall f e tr d ipa stop u, (1 <= f)%nat -> tables_ok e ->
  (Z.land d 3 = 3 -> pool_base e <= Z.land d Isolation.descOAMask /\ child (pool_base e) d < len (tables e)) ->
  Isolation.Engine_needBelow (S f) root d 2 ipa stop u e tr = Ok (below2 d u) e tr.
Proof.
  intros f e tr d ipa stop u Hf Hok Hd. cbn [Isolation.Engine_needBelow]. destruct f as [|f]; [lia|].
  unfold Isolation.isTable, Isolation.isValid, bind at 1, ret at 1. cbv beta iota.
  change (2 <? Isolation.lastLevel) with true. cbn [andb]. unfold below2.
  destruct (Z.eqb_spec (Z.land d 3) 3) as [H3|H3].
  - pose proof (Hd H3) as [Hle Hlt].
    step_by (pfield_pool_root e tr). unfold Isolation.descOA. step.
    step_by (index_ok e tr d Hok Hle Hlt). replace (wraps 64 (2 + 1)) with 3 by reflexivity.
    step_by (need_l3 f e tr (child (pool_base e) d) 0 ipa stop u). reflexivity.
  - unfold bind at 1. cbv beta iota delta [ret]. unfold valid_d.
    destruct (Z.land d Isolation.descValid =? 0); cbn [negb].
    + destruct (Isolation.s2update_unmap u); [reflexivity|].
      replace (wraps 64 (2 + 1)) with 3 by reflexivity.
      step_by (need_l3 f e tr (-1) 0 ipa stop u). reflexivity.
    + replace (wraps 64 (2 + 1)) with 3 by reflexivity.
      step_by (need_l3 f e tr (-1) Isolation.descValid ipa stop u). reflexivity.
Qed.

(** ** A range at level 2 *)

(** [need_at] and [need_l2] (CodeUpdateL2) with the entries read through
    [get]: entry [j] of the table is [get j]. *)
Definition need_atg (get : Z -> Z) (ipa end' : Z) (u : Isolation.s2update) : Z :=
  if whole_l2 (l2_base ipa) ipa (l2_stop ipa end') u then 0 else below2 (get ((ipa / 2 ^ 21) mod 512)) u.

Fixpoint need_l2g (n : nat) (get : Z -> Z) (ipa end' : Z) (u : Isolation.s2update) : Z :=
  match n with
  | O => 0
  | S n' => if ipa <? end' then need_atg get ipa end' u + need_l2g n' get (l2_stop ipa end') end' u else 0
  end.

Lemma need_l2_g : forall n T t ipa end' u, need_l2 n T t ipa end' u = need_l2g n (tent T t) ipa end' u.
Proof.
  induction n as [|n IH]; intros T t ipa end' u; cbn [need_l2 need_l2g]; [reflexivity|].
  rewrite IH. reflexivity.
Qed.

Lemma need_atg_bound : forall get ipa end' u, 0 <= need_atg get ipa end' u <= 1.
Proof.
  intros. unfold need_atg. destruct (whole_l2 _ _ _ _); [lia|apply below2_bound].
Qed.

(** The count is at most the fuel, one table per entry. *)
Lemma need_l2g_bound : forall n get ipa end' u, 0 <= need_l2g n get ipa end' u <= Z.of_nat n.
Proof.
  induction n as [|n IH]; intros; cbn [need_l2g]; [lia|].
  destruct (ipa <? end'); [|lia]. pose proof (need_atg_bound get ipa end' u).
  specialize (IH get (l2_stop ipa end') end' u). lia.
Qed.

Lemma need_l2g_done : forall n get ipa end' u, end' <= ipa -> need_l2g n get ipa end' u = 0.
Proof.
  intros [|n] get ipa end' u H; cbn [need_l2g]; [reflexivity|]. destruct (Z.ltb_spec ipa end'); [lia|reflexivity].
Qed.

Lemma need_l2g_fuel : forall n m get cur end' u, 0 <= cur ->
  (Z.to_nat (end' - cur) <= n)%nat -> (Z.to_nat (end' - cur) <= m)%nat ->
  need_l2g n get cur end' u = need_l2g m get cur end' u.
Proof.
  induction n as [|n IH]; intros m get cur end' u Hc Hn Hm.
  - destruct m as [|m]; [reflexivity|]. cbn. destruct (Z.ltb_spec cur end'); [lia|reflexivity].
  - destruct m as [|m]; cbn.
    + destruct (Z.ltb_spec cur end'); [lia|reflexivity].
    + destruct (Z.ltb_spec cur end') as [Hlt|]; [|reflexivity]. f_equal.
      pose proof (l2_stop_gt cur end' ltac:(lia)). apply IH; lia.
Qed.

Lemma need_l2g_step : forall get cur end' u, 0 <= cur < end' ->
  need_l2g (Z.to_nat (end' - cur)) get cur end' u =
  need_atg get cur end' u + need_l2g (Z.to_nat (end' - l2_stop cur end')) get (l2_stop cur end') end' u.
Proof.
  intros get cur end' u Hc.
  destruct (Z.to_nat (end' - cur)) as [|n] eqn:En; [lia|]. cbn [need_l2g].
  destruct (Z.ltb_spec cur end'); [|lia]. f_equal. pose proof (l2_stop_gt cur end' ltac:(lia)).
  apply need_l2g_fuel; lia.
Qed.

Lemma l2_base_bound : forall ipa, 0 <= ipa -> 0 <= l2_base ipa <= ipa.
Proof.
  intros ipa H. unfold l2_base. split; [apply Z.mul_nonneg_nonneg; [apply Z.div_pos|]; lia|].
  pose proof (Z.div_mod ipa (2 ^ 21) ltac:(lia)). pose proof (Z.mod_pos_bound ipa (2 ^ 21) ltac:(lia)). lia.
Qed.

(** [need] at level 2 over [ipa, end') never fails and counts
    [need_l2g], with [get] the entries it reads: those of the table [t]
    of the pool, or [virt] for a table not made yet ([t < 0]). Entries
    holding a table descriptor must point into the pool. *)
Theorem need_l2_get : forall f e tr t virt ipa end' u get,
  (2 <= f)%nat -> tables_ok e -> 0 <= ipa <= end' -> end' <= 2 ^ 40 ->
  (0 <= t -> t < len (tables e) /\ forall j, 0 <= j < 512 -> get j = tent (tables e) t j) ->
  (t < 0 -> forall j, 0 <= j < 512 -> get j = virt) ->
  (forall j, 0 <= j < 512 -> Z.land (get j) 3 = 3 ->
     pool_base e <= Z.land (get j) Isolation.descOAMask /\ child (pool_base e) (get j) < len (tables e)) ->
  Isolation.Engine_need (S f) root t virt 2 ipa end' u e tr =
    Ok (need_l2g (Z.to_nat (end' - ipa)) get ipa end' u) e tr.
Proof.
  intros f e tr t virt ipa end' u get Hf Hok Hr H40 Ht Hv Hget.
  pose proof Hok as (Hwh & Hsmall & Hbase). fold (whole (tables e)) in Hwh.
  set (total := need_l2g (Z.to_nat (end' - ipa)) get ipa end' u).
  assert (Htot : 0 <= total <= end' - ipa) by (pose proof (need_l2g_bound (Z.to_nat (end' - ipa)) get ipa end' u); unfold total; lia).
  cbn [Isolation.Engine_need]. destruct f as [|f]; [lia|].
  match goal with |- context [loop ?fu ?c ?b ?p ?l0] =>
  destruct (loop_spec fu c b p
    (fun l st tr' => st = e /\ tr' = tr /\ ipa <= fst l <= end' /\ 0 <= snd l /\
       snd l + need_l2g (Z.to_nat (end' - fst l)) get (fst l) end' u = total)
    (fun j st tr' => st = e /\ tr' = tr /\ match j with Fall l => snd l = total | Jump _ => True end)
    (fun l => Z.to_nat (end' - fst l))) with (l := l0) (s := e) (tr := tr) as (j & s' & tr' & Hl & Hq) end.
  - intros [cur acc] st tr' (-> & -> & Hc & Ha & Hsum). cbn [fst snd] in *. eexists. split; [reflexivity|].
    change (2 <? Isolation.lastLevel) with true. rewrite andb_true_r. split.
    + intros H. apply Z.ltb_lt in H. lia.
    + intros H. apply Z.ltb_ge in H. split; [reflexivity|]. split; [reflexivity|]. cbn [snd].
      rewrite need_l2g_done in Hsum by lia. lia.
  - intros [cur acc] st tr' (-> & -> & Hc & Ha & Hsum) Hcond. cbn [fst snd] in *.
    injection Hcond as Hcond. change (2 <? Isolation.lastLevel) with true in Hcond. rewrite andb_true_r in Hcond.
    apply Z.ltb_lt in Hcond.
    pose proof (l2_base_bound cur ltac:(lia)) as Hb.
    pose proof (l2_stop_gt cur end' ltac:(lia)) as Hsg.
    cbv beta iota.
    pose proof (levelSize_ok e tr 2 ltac:(lia)) as [Hsz Hmask].
    change (2 ^ (12 + 9 * (3 - 2))) with (2 ^ 21) in Hsz, Hmask. change (12 + 9 * (3 - 2)) with 21 in Hmask.
    step_by Hsz. rewrite Hmask, andnot_ones by lia. change (cur / 2 ^ 21 * 2 ^ 21) with (l2_base cur).
    step_by Hsz. rewrite (wrapu_small (l2_base cur + 2 ^ 21)) by lia.
    change (Z.min end' (l2_base cur + 2 ^ 21)) with (l2_stop cur end').
    set (j := (cur / 2 ^ 21) mod 512).
    assert (Hj : 0 <= j < 512) by (apply Z.mod_pos_bound; lia).
    match goal with |- context [bind (if t >=? 0 then ?a else ?b) _ e tr] =>
      assert (Hd : (if t >=? 0 then a else b) e tr = Ok (get j) e tr) end.
    { destruct (Z.geb_spec t 0) as [Ht0|Ht0].
      - pose proof (Ht ltac:(lia)) as [Htl Hgt].
        step_by (entryIndex_val e tr cur 2 ltac:(lia) ltac:(lia)).
        change (2 ^ (12 + 9 * (3 - 2))) with (2 ^ 21). change (nentries 2) with 512. fold j.
        pose proof (slot_lens_table t j ltac:(lia) Hj) as (p & Hp & L).
        assert (Hsv : slot_valid t e) by (split; [lia|exact Hwh]).
        step_by (Hp e tr Hsv). step_by (deref_lens _ _ _ _ e tr L Hsv).
        rewrite (Hgt j Hj). reflexivity.
      - rewrite (Hv ltac:(lia) j Hj). reflexivity. }
    step_by Hd.
    step_by (wholeLeaf_val e tr (l2_base cur) cur (l2_stop cur end') u).
    pose proof (need_l2g_step get cur end' u ltac:(lia)) as Hn.
    unfold need_atg in Hn. fold j in Hn.
    pose proof (need_l2g_bound (Z.to_nat (end' - l2_stop cur end')) get (l2_stop cur end') end' u).
    destruct (whole_l2 (l2_base cur) cur (l2_stop cur end') u); cbn [negb].
    + step. eexists _, _, _. split; [reflexivity|]. eexists. split; [reflexivity|]. cbn [fst snd].
      split; [|apply Z2Nat.inj_lt; lia].
      split; [reflexivity|]. split; [reflexivity|]. split; [lia|]. split; [lia|]. lia.
    + assert (Hnb : (let! t'7 := Isolation.Engine_needBelow (S f) root (get j) 2 cur (l2_stop cur end') u in
          ret (wraps 64 (acc + t'7))) e tr = Ok (acc + below2 (get j) u) e tr).
      { step_by (needBelow_l2 f e tr (get j) cur (l2_stop cur end') u ltac:(lia) Hok (Hget j Hj)).
        pose proof (below2_bound (get j) u). rewrite wraps_small by lia. reflexivity. }
      pose proof (below2_bound (get j) u).
      step_by Hnb.
      eexists _, _, _. split; [reflexivity|]. eexists. split; [reflexivity|]. cbn [fst snd].
      split; [|apply Z2Nat.inj_lt; lia].
      split; [reflexivity|]. split; [reflexivity|]. split; [lia|]. split; [lia|]. lia.
  - cbn [fst snd]. split; [reflexivity|]. split; [reflexivity|]. split; [lia|]. split; [lia|]. lia.
  - cbn [fst]. rewrite max_fuel_nat. unfold max_fuel. lia.
  - unfold bind at 1. rewrite Hl. destruct j as [[cur acc]|[]]. destruct Hq as (-> & -> & Hacc).
    cbn [snd] in Hacc. subst acc. reflexivity.
Qed.

(** [need] at level 2 over a range of a level-2 table [t] with [l2_inv]
    (CodeUpdateL2) is [need_l2], the count [update_l2_no_failure] asks
    for free tables. *)
Theorem need_l2_spec : forall f e tr t ipa end' u, (2 <= f)%nat -> l2_inv e t -> 0 <= ipa <= end' -> end' <= 2 ^ 40 ->
  Isolation.Engine_need (S f) root t 0 2 ipa end' u e tr =
    Ok (need_l2 (Z.to_nat (end' - ipa)) (tables e) t ipa end' u) e tr.
Proof.
  intros f e tr t ipa end' u Hf Hinv Hr H40.
  pose proof Hinv as (Hok & _ & _ & _ & _ & Ht & _ & Hents & _).
  rewrite need_l2_g. apply need_l2_get; [exact Hf|exact Hok|exact Hr|exact H40| | |].
  - intros _. split; [lia|]. intros; reflexivity.
  - intros H. lia.
  - intros j Hj H3. pose proof (Hents j Hj H3) as (_ & Hle & Hlt & _). split; assumption.
Qed.

(** Over a table not made yet, [need] at level 2 reads [virt] in every
    entry: 0 for a new empty table, [descValid] for a block to split. *)
Theorem need_l2_virt : forall f e tr virt ipa end' u, (2 <= f)%nat -> tables_ok e -> virt = 0 \/ virt = Isolation.descValid ->
  0 <= ipa <= end' -> end' <= 2 ^ 40 ->
  Isolation.Engine_need (S f) root (-1) virt 2 ipa end' u e tr =
    Ok (need_l2g (Z.to_nat (end' - ipa)) (fun _ => virt) ipa end' u) e tr.
Proof.
  intros f e tr virt ipa end' u Hf Hok Hv Hr H40.
  apply need_l2_get; [exact Hf|exact Hok|exact Hr|exact H40| | |].
  - intros H. lia.
  - intros _ j _. reflexivity.
  - intros j _ H3. exfalso. destruct Hv as [-> | ->]; discriminate.
Qed.

(** A level-2 table of a tree of the pool ([tree_ok], CodeStage2): [need]
    at level 2 over it is [need_l2]. *)
Lemma need_l2_tree : forall f e tr c ipa end' u, (2 <= f)%nat -> tables_ok e -> tree_ok (tables e) (pool_base e) 1 c 512 ->
  0 <= ipa <= end' -> end' <= 2 ^ 40 ->
  Isolation.Engine_need (S f) root c 0 2 ipa end' u e tr =
    Ok (need_l2 (Z.to_nat (end' - ipa)) (tables e) c ipa end' u) e tr.
Proof.
  intros f e tr c ipa end' u Hf Hok Htree Hr H40.
  destruct Htree as (Hc0 & Hcl & Hch). change ((512 - 1) / 512) with 0 in Hcl.
  rewrite need_l2_g. apply need_l2_get; [exact Hf|exact Hok|exact Hr|exact H40| | |].
  - intros _. split; [lia|]. intros; reflexivity.
  - intros H. lia.
  - intros j Hj H3. rewrite <- ent_tent in H3 |- * by exact Hj.
    pose proof (Hch j Hj H3) as (Hle & Hlt & _). split; assumption.
Qed.

(** ** The root *)

(** The value [wholeLeaf] returns at level 1. *)
Definition whole_l1 (base ipa stop : Z) (u : Isolation.s2update) : bool :=
  match Isolation.wholeLeaf (S:=unit) base ipa stop 1 u tt [] with Ok b _ _ => b | Fail _ => false end.

Lemma wholeLeaf_val1 : forall {S} (s : S) tr base ipa stop u,
  Isolation.wholeLeaf base ipa stop 1 u s tr = Ok (whole_l1 base ipa stop u) s tr.
Proof.
  intros. unfold whole_l1, Isolation.wholeLeaf, Isolation.levelSize, Isolation.levelShift, Isolation.blockAllowed, bind, ret.
  repeat match goal with |- context [if ?c then _ else _] => destruct c end; reflexivity.
Qed.

(** The start of the root entry of [ipa], and the end of its part of
    [ipa, end'). *)
Definition l1_base (ipa : Z) : Z := ipa / 2 ^ 30 * 2 ^ 30.
Definition l1_stop (ipa end' : Z) : Z := Z.min end' (l1_base ipa + 2 ^ 30).

Lemma l1_base_bound : forall ipa, 0 <= ipa -> 0 <= l1_base ipa <= ipa /\ ipa < l1_base ipa + 2 ^ 30.
Proof.
  intros ipa H. unfold l1_base. split; [split; [apply Z.mul_nonneg_nonneg; [apply Z.div_pos|]; lia|]|];
  pose proof (Z.div_mod ipa (2 ^ 30) ltac:(lia)); pose proof (Z.mod_pos_bound ipa (2 ^ 30) ltac:(lia)); lia.
Qed.

Lemma l1_stop_gt : forall ipa end', 0 <= ipa < end' -> ipa < l1_stop ipa end' <= end'.
Proof. intros ipa end' H. pose proof (l1_base_bound ipa ltac:(lia)). unfold l1_stop. lia. Qed.

(** The tables [needBelow] counts for a root entry [d] over [ipa, stop):
    for a table, [need_l2] of it; for a block to split, one table and the
    count of the level-2 table of blocks it becomes; for an invalid entry
    of a map, one table and the count of a new empty table; nothing for
    an invalid entry of an unmap. *)
Definition below1 (T : list Isolation.Table) (base d ipa stop : Z) (u : Isolation.s2update) : Z :=
  if Z.land d 3 =? 3 then need_l2 (Z.to_nat (stop - ipa)) T (child base d) ipa stop u
  else if valid_d d then 1 + need_l2g (Z.to_nat (stop - ipa)) (fun _ => Isolation.descValid) ipa stop u
  else if Isolation.s2update_unmap u then 0
  else 1 + need_l2g (Z.to_nat (stop - ipa)) (fun _ => 0) ipa stop u.

Lemma below1_bound : forall T base d ipa stop u, ipa <= stop -> 0 <= below1 T base d ipa stop u <= 1 + (stop - ipa).
Proof.
  intros T base d ipa stop u H. unfold below1. rewrite need_l2_g.
  pose proof (need_l2g_bound (Z.to_nat (stop - ipa)) (tent T (child base d)) ipa stop u).
  pose proof (need_l2g_bound (Z.to_nat (stop - ipa)) (fun _ => Isolation.descValid) ipa stop u).
  pose proof (need_l2g_bound (Z.to_nat (stop - ipa)) (fun _ => 0) ipa stop u).
  repeat match goal with |- context [if ?c then _ else _] => destruct c end; lia.
Qed.

(** needBelow of a root entry never fails and counts [below1]; an entry
    holding a table descriptor must point at a level-2 table of a tree of
    the pool. *)
Theorem needBelow_l1 : forall f e tr d ipa stop u, (3 <= f)%nat -> tables_ok e -> 0 <= ipa <= stop -> stop <= 2 ^ 40 ->
  (Z.land d 3 = 3 -> pool_base e <= Z.land d Isolation.descOAMask /\ child (pool_base e) d < len (tables e) /\
     tree_ok (tables e) (pool_base e) 1 (child (pool_base e) d) 512) ->
  Isolation.Engine_needBelow (S f) root d 1 ipa stop u e tr =
    Ok (below1 (tables e) (pool_base e) d ipa stop u) e tr.
Proof.
  intros f e tr d ipa stop u Hf Hok Hr H40 Hd. cbn [Isolation.Engine_needBelow]. destruct f as [|f]; [lia|].
  unfold Isolation.isTable, Isolation.isValid, bind at 1, ret at 1. cbv beta iota.
  change (1 <? Isolation.lastLevel) with true. cbn [andb]. unfold below1.
  replace (wraps 64 (1 + 1)) with 2 by reflexivity.
  destruct (Z.eqb_spec (Z.land d 3) 3) as [H3|H3].
  - pose proof (Hd H3) as (Hle & Hlt & Htree).
    step_by (pfield_pool_root e tr). unfold Isolation.descOA. step.
    step_by (index_ok e tr d Hok Hle Hlt).
    step_by (need_l2_tree f e tr (child (pool_base e) d) ipa stop u ltac:(lia) Hok Htree Hr H40). reflexivity.
  - unfold bind at 1. cbv beta iota delta [ret]. unfold valid_d.
    destruct (Z.land d Isolation.descValid =? 0); cbn [negb].
    + destruct (Isolation.s2update_unmap u); [reflexivity|].
      step_by (need_l2_virt f e tr 0 ipa stop u ltac:(lia) Hok ltac:(left; reflexivity) Hr H40).
      pose proof (need_l2g_bound (Z.to_nat (stop - ipa)) (fun _ => 0) ipa stop u).
      rewrite wraps_small by lia. reflexivity.
    + step_by (need_l2_virt f e tr Isolation.descValid ipa stop u ltac:(lia) Hok ltac:(right; reflexivity) Hr H40).
      pose proof (need_l2g_bound (Z.to_nat (stop - ipa)) (fun _ => Isolation.descValid) ipa stop u).
      rewrite wraps_small by lia. reflexivity.
Qed.

(** The tables [need] counts at the root entry of [ipa] of the root [t]. *)
Definition need_root_at (T : list Isolation.Table) (base t ipa end' : Z) (u : Isolation.s2update) : Z :=
  if whole_l1 (l1_base ipa) ipa (l1_stop ipa end') u then 0
  else below1 T base (ent T t ((ipa / 2 ^ 30) mod 1024)) ipa (l1_stop ipa end') u.

(** The tables [need] counts over [ipa, end') at the root [t], with a
    fuel [n] of at least the bytes left. *)
Fixpoint need_root (n : nat) (T : list Isolation.Table) (base t ipa end' : Z) (u : Isolation.s2update) : Z :=
  match n with
  | O => 0
  | S n' => if ipa <? end' then need_root_at T base t ipa end' u + need_root n' T base t (l1_stop ipa end') end' u else 0
  end.

Lemma need_root_at_bound : forall T base t ipa end' u, 0 <= ipa < end' ->
  0 <= need_root_at T base t ipa end' u <= 1 + (l1_stop ipa end' - ipa).
Proof.
  intros T base t ipa end' u H. pose proof (l1_stop_gt ipa end' H). unfold need_root_at.
  destruct (whole_l1 _ _ _ _); [lia|]. apply below1_bound. lia.
Qed.

(** The count is at most twice the bytes of the range: it never wraps. *)
Lemma need_root_bound : forall n T base t cur end' u, 0 <= cur <= end' ->
  0 <= need_root n T base t cur end' u <= 2 * (end' - cur).
Proof.
  induction n as [|n IH]; intros T base t cur end' u Hc; cbn [need_root]; [lia|].
  destruct (Z.ltb_spec cur end'); [|lia].
  pose proof (l1_stop_gt cur end' ltac:(lia)).
  pose proof (need_root_at_bound T base t cur end' u ltac:(lia)).
  specialize (IH T base t (l1_stop cur end') end' u ltac:(lia)). lia.
Qed.

Lemma need_root_done : forall n T base t ipa end' u, end' <= ipa -> need_root n T base t ipa end' u = 0.
Proof.
  intros [|n] T base t ipa end' u H; cbn [need_root]; [reflexivity|]. destruct (Z.ltb_spec ipa end'); [lia|reflexivity].
Qed.

Lemma need_root_fuel : forall n m T base t cur end' u, 0 <= cur ->
  (Z.to_nat (end' - cur) <= n)%nat -> (Z.to_nat (end' - cur) <= m)%nat ->
  need_root n T base t cur end' u = need_root m T base t cur end' u.
Proof.
  induction n as [|n IH]; intros m T base t cur end' u Hc Hn Hm.
  - destruct m as [|m]; [reflexivity|]. cbn. destruct (Z.ltb_spec cur end'); [lia|reflexivity].
  - destruct m as [|m]; cbn.
    + destruct (Z.ltb_spec cur end'); [lia|reflexivity].
    + destruct (Z.ltb_spec cur end') as [Hlt|]; [|reflexivity]. f_equal.
      pose proof (l1_stop_gt cur end' ltac:(lia)). apply IH; lia.
Qed.

Lemma need_root_step : forall T base t cur end' u, 0 <= cur < end' ->
  need_root (Z.to_nat (end' - cur)) T base t cur end' u =
  need_root_at T base t cur end' u + need_root (Z.to_nat (end' - l1_stop cur end')) T base t (l1_stop cur end') end' u.
Proof.
  intros T base t cur end' u Hc.
  destruct (Z.to_nat (end' - cur)) as [|n] eqn:En; [lia|]. cbn [need_root].
  destruct (Z.ltb_spec cur end'); [|lia]. f_equal. pose proof (l1_stop_gt cur end' ltac:(lia)).
  apply need_root_fuel; lia.
Qed.

(** [need] at the root [t] of a stage-2 that is a tree of tables of the
    pool ([tree_ok], CodeStage2), over a range below 2^40, never fails and
    counts [need_root]: over the root entries of the range, [need_l2] of
    the level-2 table an entry holds, or one table and the count of the
    table that will be made for a block to split or an invalid entry of a
    map. *)
Theorem need_root_spec : forall f e tr t ipa end' u, (4 <= f)%nat ->
  tables_ok e -> tree_ok (tables e) (pool_base e) 2 t 1024 -> 0 <= ipa <= end' -> end' <= 2 ^ 40 ->
  Isolation.Engine_need (S f) root t 0 1 ipa end' u e tr =
    Ok (need_root (Z.to_nat (end' - ipa)) (tables e) (pool_base e) t ipa end' u) e tr.
Proof.
  intros f e tr t ipa end' u Hf Hok Htree Hr H40.
  pose proof Hok as (Hwh & Hsmall & Hbase). fold (whole (tables e)) in Hwh.
  pose proof Htree as (Ht0 & Htl & Hch). change ((1024 - 1) / 512) with 1 in Htl.
  set (total := need_root (Z.to_nat (end' - ipa)) (tables e) (pool_base e) t ipa end' u).
  assert (Htot : 0 <= total <= 2 * (end' - ipa)) by (apply need_root_bound; lia).
  cbn [Isolation.Engine_need]. destruct f as [|f]; [lia|].
  match goal with |- context [loop ?fu ?c ?b ?p ?l0] =>
  destruct (loop_spec fu c b p
    (fun l st tr' => st = e /\ tr' = tr /\ ipa <= fst l <= end' /\ 0 <= snd l /\
       snd l + need_root (Z.to_nat (end' - fst l)) (tables e) (pool_base e) t (fst l) end' u = total)
    (fun j st tr' => st = e /\ tr' = tr /\ match j with Fall l => snd l = total | Jump _ => True end)
    (fun l => Z.to_nat (end' - fst l))) with (l := l0) (s := e) (tr := tr) as (j & s' & tr' & Hl & Hq) end.
  - intros [cur acc] st tr' (-> & -> & Hc & Ha & Hsum). cbn [fst snd] in *. eexists. split; [reflexivity|].
    change (1 <? Isolation.lastLevel) with true. rewrite andb_true_r. split.
    + intros H. apply Z.ltb_lt in H. lia.
    + intros H. apply Z.ltb_ge in H. split; [reflexivity|]. split; [reflexivity|]. cbn [snd].
      rewrite need_root_done in Hsum by lia. lia.
  - intros [cur acc] st tr' (-> & -> & Hc & Ha & Hsum) Hcond. cbn [fst snd] in *.
    injection Hcond as Hcond. change (1 <? Isolation.lastLevel) with true in Hcond. rewrite andb_true_r in Hcond.
    apply Z.ltb_lt in Hcond.
    pose proof (l1_base_bound cur ltac:(lia)) as Hb.
    pose proof (l1_stop_gt cur end' ltac:(lia)) as Hsg.
    cbv beta iota.
    pose proof (levelSize_ok e tr 1 ltac:(lia)) as [Hsz Hmask].
    change (2 ^ (12 + 9 * (3 - 1))) with (2 ^ 30) in Hsz, Hmask. change (12 + 9 * (3 - 1)) with 30 in Hmask.
    step_by Hsz. rewrite Hmask, andnot_ones by lia. change (cur / 2 ^ 30 * 2 ^ 30) with (l1_base cur).
    step_by Hsz. rewrite (wrapu_small (l1_base cur + 2 ^ 30)) by lia.
    change (Z.min end' (l1_base cur + 2 ^ 30)) with (l1_stop cur end').
    set (i := (cur / 2 ^ 30) mod 1024).
    assert (Hi : 0 <= i < 1024) by (apply Z.mod_pos_bound; lia).
    assert (Hq : 0 <= i / 512 < 2) by (split; [apply Z.div_pos|apply Z.div_lt_upper_bound]; lia).
    match goal with |- context [bind (if t >=? 0 then ?a else ?b) _ e tr] =>
      assert (Hd : (if t >=? 0 then a else b) e tr = Ok (ent (tables e) t i) e tr) end.
    { destruct (Z.geb_spec t 0) as [_|Ht']; [|lia].
      step_by (entryIndex_val e tr cur 1 ltac:(lia) ltac:(lia)).
      change (2 ^ (12 + 9 * (3 - 1))) with (2 ^ 30). change (nentries 1) with 1024. fold i.
      pose proof (slot_lens t i ltac:(lia) Hi ltac:(lia)) as (p & Hp & L).
      assert (Hsv : slot_valid (t + i / 512) e) by (split; [lia|exact Hwh]).
      step_by (Hp e tr Hsv). step_by (deref_lens _ _ _ _ e tr L Hsv). reflexivity. }
    step_by Hd.
    step_by (wholeLeaf_val1 e tr (l1_base cur) cur (l1_stop cur end') u).
    pose proof (need_root_step (tables e) (pool_base e) t cur end' u ltac:(lia)) as Hn.
    unfold need_root_at in Hn. fold i in Hn.
    pose proof (need_root_bound (Z.to_nat (end' - l1_stop cur end')) (tables e) (pool_base e) t (l1_stop cur end') end' u
      ltac:(lia)).
    destruct (whole_l1 (l1_base cur) cur (l1_stop cur end') u); cbn [negb].
    + step. eexists _, _, _. split; [reflexivity|]. eexists. split; [reflexivity|]. cbn [fst snd].
      split; [|apply Z2Nat.inj_lt; lia].
      split; [reflexivity|]. split; [reflexivity|]. split; [lia|]. split; [lia|]. lia.
    + assert (Hent : Z.land (ent (tables e) t i) 3 = 3 -> pool_base e <= Z.land (ent (tables e) t i) Isolation.descOAMask /\
          child (pool_base e) (ent (tables e) t i) < len (tables e) /\
          tree_ok (tables e) (pool_base e) 1 (child (pool_base e) (ent (tables e) t i)) 512)
        by (intros H3; exact (Hch i Hi H3)).
      pose proof (below1_bound (tables e) (pool_base e) (ent (tables e) t i) cur (l1_stop cur end') u ltac:(lia)).
      assert (Hnb : (let! t'7 := Isolation.Engine_needBelow (S f) root (ent (tables e) t i) 1 cur (l1_stop cur end') u in
          ret (wraps 64 (acc + t'7))) e tr = Ok (acc + below1 (tables e) (pool_base e) (ent (tables e) t i) cur (l1_stop cur end') u) e tr).
      { step_by (needBelow_l1 f e tr (ent (tables e) t i) cur (l1_stop cur end') u ltac:(lia) Hok ltac:(lia) ltac:(lia) Hent).
        rewrite wraps_small by lia. reflexivity. }
      step_by Hnb.
      eexists _, _, _. split; [reflexivity|]. eexists. split; [reflexivity|]. cbn [fst snd].
      split; [|apply Z2Nat.inj_lt; lia].
      split; [reflexivity|]. split; [reflexivity|]. split; [lia|]. split; [lia|]. lia.
  - cbn [fst snd]. split; [reflexivity|]. split; [reflexivity|]. split; [lia|]. split; [lia|]. lia.
  - cbn [fst]. rewrite max_fuel_nat. unfold max_fuel. lia.
  - unfold bind at 1. rewrite Hl. destruct j as [[cur acc]|[]]. destruct Hq as (-> & -> & Hacc).
    cbn [snd] in Hacc. subst acc. reflexivity.
Qed.

(** ** The reservations of mapRange and unmapRange *)

(** [mapNeed], the reservation before [mapRange], on a stage-2 whose root
    is a tree of tables of the pool and a range inside the IPA space, is
    [need_root] for the update [mapRange] makes. *)
Theorem mapNeed_spec : forall e tr s s2 ipa pa n, tables_ok e -> 0 <= Isolation.stage2_root s2 ->
  tree_ok (tables e) (pool_base e) 2 (Isolation.stage2_root s2) 1024 -> good s e s2 ->
  0 <= ipa -> 0 <= n -> ipa + n * 4096 <= 2 ^ 40 ->
  Isolation.Engine_mapNeed root s ipa pa n e tr =
    Ok (need_root (Z.to_nat (n * 4096)) (tables e) (pool_base e) (Isolation.stage2_root s2) ipa (ipa + n * 4096)
          (Isolation.mk_s2update (Isolation.stage2_vmid s2) (wrapu 64 (pa - ipa)) Isolation.zero_Attr false)) e tr.
Proof.
  intros e tr s s2 ipa pa n Hok Hr Htree Hg Hipa Hn H40.
  unfold Isolation.Engine_mapNeed, bind at 1. rewrite (deref_good _ _ _ _ Hg). cbv beta iota zeta.
  unfold bind at 1. rewrite (deref_good _ _ _ _ Hg). cbv beta iota.
  rewrite shl12, wrapu_small by lia.
  change Isolation.S2StartLevel with 1. change rec_fuel with (S 63).
  step_by (need_root_spec 63 e tr (Isolation.stage2_root s2) ipa (ipa + n * 4096)
    (Isolation.mk_s2update (Isolation.stage2_vmid s2) (wrapu 64 (pa - ipa)) Isolation.zero_Attr false)
    ltac:(lia) Hok Htree ltac:(lia) H40).
  replace (ipa + n * 4096 - ipa) with (n * 4096) by ring. reflexivity.
Qed.

(** [unmapNeed], the reservation before [unmapRange], likewise. *)
Theorem unmapNeed_spec : forall e tr s s2 ipa n, tables_ok e -> 0 <= Isolation.stage2_root s2 ->
  tree_ok (tables e) (pool_base e) 2 (Isolation.stage2_root s2) 1024 -> good s e s2 ->
  0 <= ipa -> 0 <= n -> ipa + n * 4096 <= 2 ^ 40 ->
  Isolation.Engine_unmapNeed root s ipa n e tr =
    Ok (need_root (Z.to_nat (n * 4096)) (tables e) (pool_base e) (Isolation.stage2_root s2) ipa (ipa + n * 4096)
          (Isolation.mk_s2update (Isolation.stage2_vmid s2) 0 Isolation.zero_Attr true)) e tr.
Proof.
  intros e tr s s2 ipa n Hok Hr Htree Hg Hipa Hn H40.
  unfold Isolation.Engine_unmapNeed, bind at 1. rewrite (deref_good _ _ _ _ Hg). cbv beta iota zeta.
  unfold bind at 1. rewrite (deref_good _ _ _ _ Hg). cbv beta iota.
  rewrite shl12, wrapu_small by lia.
  change Isolation.S2StartLevel with 1. change rec_fuel with (S 63).
  step_by (need_root_spec 63 e tr (Isolation.stage2_root s2) ipa (ipa + n * 4096)
    (Isolation.mk_s2update (Isolation.stage2_vmid s2) 0 Isolation.zero_Attr true)
    ltac:(lia) Hok Htree ltac:(lia) H40).
  replace (ipa + n * 4096 - ipa) with (n * 4096) by ring. reflexivity.
Qed.

(** ** The tables the root's update makes *)

(** [need_l2g] reads only what [below2] makes of each entry. *)
Lemma need_l2g_ext : forall n g1 g2 ipa end' u, (forall j, 0 <= j < 512 -> below2 (g1 j) u = below2 (g2 j) u) ->
  need_l2g n g1 ipa end' u = need_l2g n g2 ipa end' u.
Proof.
  induction n as [|n IH]; intros g1 g2 ipa end' u H; cbn [need_l2g]; [reflexivity|].
  destruct (ipa <? end'); [|reflexivity]. rewrite (IH g1 g2 _ end' u H). f_equal.
  unfold need_atg. destruct (whole_l2 _ _ _ _); [reflexivity|]. apply H. apply Z.mod_pos_bound. lia.
Qed.

(** A level-2 block leaf is valid. *)
Lemma leaf2_valid : forall pa a, valid_d (leaf_val pa 2 a) = true.
Proof.
  intros pa a. assert (H : Z.testbit (leaf_val pa 2 a) 0 = true).
  { unfold leaf_val, Isolation.leafDesc. cbn [bind ret Isolation.lastLevel Z.eqb Pos.eqb].
    repeat match goal with |- context [if ?c then _ else _] => destruct c end;
    cbn [bind ret]; rewrite ?Z.lor_spec, Z.land_spec, oa_bits by lia;
    replace ((12 <=? 0) && (0 <? 48)) with false by reflexivity; rewrite andb_false_r; reflexivity. }
  unfold valid_d. destruct (Z.eqb_spec (Z.land (leaf_val pa 2 a) Isolation.descValid) 0) as [E|E]; [|reflexivity].
  assert (H1 : Z.testbit (Z.land (leaf_val pa 2 a) Isolation.descValid) 0 = true)
    by (rewrite Z.land_spec, H; reflexivity).
  rewrite E in H1. discriminate.
Qed.

(** The level-2 table a root block is split into ([splitBlock_ok],
    CodeUpdate) counts, for [need_l2], what [need] counts for it before it
    exists: a valid leaf in every entry. *)
Theorem need_l2_split : forall n T c b ipa end' u, (forall j, 0 <= j < 512 -> tent T c j = split_leaf b 2 j) ->
  need_l2 n T c ipa end' u = need_l2g n (fun _ => Isolation.descValid) ipa end' u.
Proof.
  intros n T c b ipa end' u H. rewrite need_l2_g. apply need_l2g_ext. intros j Hj.
  rewrite (H j Hj). unfold below2, split_leaf.
  rewrite (proj2 (Z.eqb_neq _ _) (leaf2_not_table _ _)), leaf2_valid. reflexivity.
Qed.

(** A new table, zeroed by [take], counts for [need_l2] what [need]
    counts for it before it exists: 0 in every entry. *)
Theorem need_l2_new : forall n T c ipa end' u, (forall j, 0 <= j < 512 -> tent T c j = 0) ->
  need_l2 n T c ipa end' u = need_l2g n (fun _ => 0) ipa end' u.
Proof.
  intros n T c ipa end' u H. rewrite need_l2_g. apply need_l2g_ext. intros j Hj. rewrite (H j Hj). reflexivity.
Qed.

(** ** One root entry holding a level-2 table *)

Lemma l1_base_of : forall base ipa, base mod 2 ^ 30 = 0 -> base <= ipa < base + 2 ^ 30 -> ipa / 2 ^ 30 * 2 ^ 30 = base.
Proof.
  intros base ipa Hba Hr. pose proof (Z.div_mod base (2 ^ 30) ltac:(lia)) as E. rewrite Hba, Z.add_0_r in E.
  assert (Q : ipa / 2 ^ 30 = base / 2 ^ 30).
  { symmetry. apply Z.div_unique with (ipa - base); [left; lia|lia]. }
  rewrite Q. lia.
Qed.

(** descend into a root entry (entry [j] of the root's table [x]) that
    holds a table descriptor of a level-2 table [c] of the pool with
    [l2_inv] (CodeUpdateL2) never fails, given at least [need_l2] free
    tables for the part [ipa, stop) of the entry's 1 GiB span: it updates
    [c] ([update_l2_no_failure]) and, for an unmap that leaves [c] empty,
    unhooks and releases it. The pool must be page aligned and below
    2^48. *)
Theorem descend_table_root : forall fuel e tr x j p base ipa stop u,
  (7 <= fuel)%nat -> 0 <= j < 512 ->
  lens p (slot_valid x) (fun s => tent (tables s) x j) (fun v s => set_tables s (put_ent (tables s) x j v)) ->
  0 <= x < len (tables e) ->
  let d := tent (tables e) x j in
  Z.land d 3 = 3 -> pool_base e <= Z.land d Isolation.descOAMask -> child (pool_base e) d < len (tables e) ->
  l2_inv e (child (pool_base e) d) ->
  pool_base e mod 4096 = 0 -> pool_base e + 4096 * len (tables e) <= 2 ^ 48 ->
  0 <= base -> base mod 2 ^ 30 = 0 -> base <= ipa < stop -> stop <= base + 2 ^ 30 -> stop <= 2 ^ 40 ->
  ipa mod 4096 = 0 -> stop mod 4096 = 0 -> Isolation.s2update_delta u mod 4096 = 0 ->
  need_l2 (Z.to_nat (stop - ipa)) (tables e) (child (pool_base e) d) ipa stop u <= count_free (Isolation.Engine_pool e) ->
  exists st tr', Isolation.Engine_descend fuel root p 1 base ipa stop u e tr = Ok tt st tr'.
Proof.
  intros fuel e tr x j p base ipa stop u Hf Hj L Hx dd H3 Hle Hlt Hinv Hal Hbelow Hb0 Hba Hr Hs H40 Hia Hsa Hd Hneed.
  pose proof Hinv as (Hok & Hpok & _ & _ & Hpl & _). pose proof Hok as (Hwh & Hsmall & Hbase).
  fold (whole (tables e)) in Hwh.
  set (c := child (pool_base e) dd) in *.
  assert (Hv : slot_valid x e) by (split; [lia|exact Hwh]).
  destruct fuel as [|f]; [lia|]. cbn [Isolation.Engine_descend].
  step_by (deref_lens _ _ _ _ e tr L Hv). fold dd. unfold Isolation.isTable. step.
  replace ((1 <? Isolation.lastLevel) && (Z.land dd 3 =? 3)) with true by (rewrite H3; reflexivity).
  unfold bind at 1. step_by (pfield_pool_root e tr). unfold Isolation.descOA. step.
  step_by (index_ok e tr dd Hok Hle Hlt). fold c. unfold ret. cbv beta iota.
  replace (wraps 64 (1 + 1)) with 2 by reflexivity.
  destruct f as [|f]; [lia|].
  pose proof (update_l2_no_failure f e tr c ipa stop u ltac:(lia) Hinv Hal Hbelow ltac:(lia)
    ltac:(rewrite (l1_base_of base ipa Hba ltac:(lia)); lia) H40 Hia Hsa Hd Hneed)
    as (st1 & tr1 & Hup & Hinv1 & HB1 & Hl1).
  step_by Hup.
  pose proof Hinv1 as (Hok1 & Hpok1 & _ & _ & Hpl1 & Hc1 & Hcu1 & _).
  pose proof Hok1 as (Hwh1 & _ & _). fold (whole (tables st1)) in Hwh1.
  destruct (Isolation.s2update_unmap u).
  - pose proof (tableEmpty_ok st1 tr1 c Hc1 Hwh1) as (b & Hb & _).
    assert (Hte : (let! t'23 := Isolation.Engine_tableEmpty root c in ret t'23) st1 tr1 = Ok b st1 tr1)
      by (step_by Hb; reflexivity).
    step_by Hte. destruct b.
    + assert (Hv1 : slot_valid x st1) by (split; [lia|exact Hwh1]).
      pose proof (dropTable_ok p x j st1 tr1 c base (Isolation.s2update_vmid u) L Hv1 Hpl1 Hpok1 Hc1 Hcu1)
        as (q & Hdrop & _).
      step_by Hdrop. eexists _, _. reflexivity.
    + eexists _, _. reflexivity.
  - step. eexists _, _. reflexivity.
Qed.

(** An unmap of whole 2 MiB entries at level 2 takes no table. *)
Lemma whole_l2_unmap : forall cur u, Isolation.s2update_unmap u = true -> 0 <= cur -> cur + 2 ^ 21 < 2 ^ 64 ->
  whole_l2 cur cur (cur + 2 ^ 21) u = true.
Proof.
  intros cur u Hu H0 Hb.
  unfold whole_l2, Isolation.wholeLeaf, Isolation.levelSize, Isolation.levelShift, bind, ret. cbv beta iota.
  match goal with |- context [shl 64 false 1 ?k] => let v := eval vm_compute in (shl 64 false 1 k) in change (shl 64 false 1 k) with v end.
  rewrite Z.eqb_refl. replace (wrapu 64 (cur + 2 ^ 21 - cur)) with 2097152 by (rewrite wrapu_small; lia).
  rewrite Z.eqb_refl. cbn [negb orb]. rewrite Hu. reflexivity.
Qed.

Lemma need_l2_clear : forall n T c cur end' u, Isolation.s2update_unmap u = true -> 0 <= cur ->
  cur mod 2 ^ 21 = 0 -> end' mod 2 ^ 21 = 0 -> end' <= 2 ^ 40 -> need_l2 n T c cur end' u = 0.
Proof.
  induction n as [|n IH]; intros T c cur end' u Hu H0 Hc He H40; cbn [need_l2]; [reflexivity|].
  destruct (Z.ltb_spec cur end') as [Hlt|]; [|reflexivity].
  pose proof (Z.div_mod cur (2 ^ 21) ltac:(lia)). pose proof (Z.div_mod end' (2 ^ 21) ltac:(lia)).
  assert (Eb : l2_base cur = cur) by (unfold l2_base; lia).
  assert (Es : l2_stop cur end' = cur + 2 ^ 21) by (unfold l2_stop; rewrite Eb; lia).
  unfold need_at. rewrite Eb, Es, whole_l2_unmap by (auto; lia).
  rewrite IH by (auto; try lia; rewrite Z.add_mod, Hc by lia; reflexivity). reflexivity.
Qed.

(** clearEntry of a root entry holding a table descriptor, up to what it
    does with the level-2 table [c] the descriptor names: the update
    unmapping the entry's whole 1 GiB span from [c], then [dropTable]. *)
Lemma clearEntry_table_open : forall f e tr x j p base vmid,
  0 <= j < 512 ->
  lens p (slot_valid x) (fun s => tent (tables s) x j) (fun v s => set_tables s (put_ent (tables s) x j v)) ->
  0 <= x < len (tables e) -> tables_ok e ->
  Z.land (tent (tables e) x j) 3 = 3 -> pool_base e <= Z.land (tent (tables e) x j) Isolation.descOAMask ->
  child (pool_base e) (tent (tables e) x j) < len (tables e) -> 0 <= base -> base + 2 ^ 30 <= 2 ^ 40 ->
  Isolation.Engine_clearEntry (S f) root p 1 base vmid e tr =
    (let! _ := Isolation.Engine_update f root (child (pool_base e) (tent (tables e) x j)) 2 base (base + 2 ^ 30)
                 (clear_u vmid)
     in let! _ := Isolation.Engine_dropTable root p (child (pool_base e) (tent (tables e) x j)) base vmid in ret tt) e tr.
Proof.
  intros f e tr x j p base vmid Hj L Hx Hok H3 Hle Hlt Hb0 H40.
  pose proof Hok as (Hwh & _). fold (whole (tables e)) in Hwh.
  assert (Hv : slot_valid x e) by (split; [lia|exact Hwh]).
  cbn [Isolation.Engine_clearEntry].
  step_by (deref_lens _ _ _ _ e tr L Hv). unfold Isolation.isTable. step.
  replace ((1 <? Isolation.lastLevel) && (Z.land (tent (tables e) x j) 3 =? 3)) with true by (rewrite H3; reflexivity).
  step_by (pfield_pool_root e tr). unfold Isolation.descOA. step.
  step_by (index_ok e tr _ Hok Hle Hlt).
  pose proof (levelSize_ok e tr 1 ltac:(lia)) as [Hsz _]. step_by Hsz.
  change (2 ^ (12 + 9 * (3 - 1))) with (2 ^ 30). replace (wraps 64 (1 + 1)) with 2 by reflexivity.
  rewrite wrapu_small by lia. reflexivity.
Qed.

(** clearEntry of a root entry holding a table descriptor of a level-2
    table [c] with [l2_inv] never fails: it unmaps the whole 1 GiB span
    of [c] ([update_l2_no_failure], which takes no table for it), writes
    the entry invalid (0), records InvalidateIPA and releases [c]. *)
Theorem clearEntry_table_root : forall fuel e tr x j p base vmid,
  (7 <= fuel)%nat -> 0 <= j < 512 ->
  lens p (slot_valid x) (fun s => tent (tables s) x j) (fun v s => set_tables s (put_ent (tables s) x j v)) ->
  0 <= x < len (tables e) ->
  let d := tent (tables e) x j in
  Z.land d 3 = 3 -> pool_base e <= Z.land d Isolation.descOAMask -> child (pool_base e) d < len (tables e) ->
  l2_inv e (child (pool_base e) d) ->
  pool_base e mod 4096 = 0 -> pool_base e + 4096 * len (tables e) <= 2 ^ 48 ->
  0 <= base -> base mod 2 ^ 30 = 0 -> base + 2 ^ 30 <= 2 ^ 40 ->
  exists st tr', Isolation.Engine_clearEntry fuel root p 1 base vmid e tr = Ok tt st tr' /\ slot_valid x st /\
    tent (tables st) x j = 0.
Proof.
  intros fuel e tr x j p base vmid Hf Hj L Hx dd H3 Hle Hlt Hinv Hal Hbelow Hb0 Hba H40.
  pose proof Hinv as (Hok & Hpok & _ & _ & Hpl & _). pose proof Hok as (Hwh & Hsmall & Hbase).
  fold (whole (tables e)) in Hwh.
  set (c := child (pool_base e) dd) in *.
  destruct fuel as [|f]; [lia|].
  rewrite (clearEntry_table_open f e tr x j p base vmid Hj L Hx Hok H3 Hle Hlt Hb0 ltac:(lia)). fold dd c.
  destruct f as [|f]; [lia|].
  assert (H21 : base mod 2 ^ 21 = 0).
  { pose proof (Z.div_mod base (2 ^ 30) ltac:(lia)) as E. rewrite Hba, Z.add_0_r in E.
    apply Z.mod_divide; [lia|]. exists (512 * (base / 2 ^ 30)). lia. }
  pose proof (align_page base H21) as Hba'.
  assert (H21' : (base + 2 ^ 30) mod 2 ^ 21 = 0).
  { rewrite Z.add_mod, H21 by lia. reflexivity. }
  pose proof (update_l2_no_failure f e tr c base (base + 2 ^ 30) (clear_u vmid) ltac:(lia) Hinv Hal Hbelow ltac:(lia)
    ltac:(rewrite (l1_base_of base base Hba ltac:(lia)); lia) H40 Hba'
    ltac:(rewrite Z.add_mod, Hba' by lia; reflexivity) eq_refl
    ltac:(rewrite need_l2_clear by (first [reflexivity|lia|exact H21|exact H21']); pose proof (count_bound (Isolation.Engine_pool e)); lia))
    as (st1 & tr1 & Hup & Hinv1 & HB1 & Hl1).
  step_by Hup.
  pose proof Hinv1 as (Hok1 & Hpok1 & _ & _ & Hpl1 & Hc1 & Hcu1 & _).
  pose proof Hok1 as (Hwh1 & _ & _). fold (whole (tables st1)) in Hwh1.
  assert (Hv1 : slot_valid x st1) by (split; [lia|exact Hwh1]).
  pose proof (dropTable_ok p x j st1 tr1 c base vmid L Hv1 Hpl1 Hpok1 Hc1 Hcu1) as (q & Hdrop & HP & _).
  step_by Hdrop. eexists _, _. split; [reflexivity|].
  unfold slot_valid, tables. rewrite get_set_pool, HP. fold (tables (set_tables st1 (put_ent (tables st1) x j 0))).
  rewrite tables_set_tables. split; [split; [rewrite len_put_ent; lia|apply whole_put_ent; [exact Hwh1|lia]]|].
  rewrite tent_put_ent by (try exact Hwh1; lia). rewrite !Z.eqb_refl. reflexivity.
Qed.

(** replaceLeaf of a root entry holding a table descriptor of a level-2
    table with [l2_inv] never fails: it clears the entry as
    [clearEntry_table_root] says, then, for a map, writes the 1 GiB block
    leaf of the update; the entry is then that leaf, or 0 for an unmap. *)
Theorem replaceLeaf_table_root : forall fuel e tr x j p base u,
  (8 <= fuel)%nat -> 0 <= j < 512 ->
  lens p (slot_valid x) (fun s => tent (tables s) x j) (fun v s => set_tables s (put_ent (tables s) x j v)) ->
  0 <= x < len (tables e) ->
  let d := tent (tables e) x j in
  Z.land d 3 = 3 -> pool_base e <= Z.land d Isolation.descOAMask -> child (pool_base e) d < len (tables e) ->
  l2_inv e (child (pool_base e) d) ->
  pool_base e mod 4096 = 0 -> pool_base e + 4096 * len (tables e) <= 2 ^ 48 ->
  0 <= base -> base mod 2 ^ 30 = 0 -> base + 2 ^ 30 <= 2 ^ 40 ->
  exists st tr', Isolation.Engine_replaceLeaf fuel root p 1 base u e tr = Ok tt st tr' /\
    tent (tables st) x j = if Isolation.s2update_unmap u then 0
      else leaf_val (wrapu 64 (base + Isolation.s2update_delta u)) 1 (Isolation.s2update_attr u).
Proof.
  intros fuel e tr x j p base u Hf Hj L Hx dd H3 Hle Hlt Hinv Hal Hbelow Hb0 Hba H40.
  pose proof Hinv as (Hok & _). pose proof Hok as (Hwh & _). fold (whole (tables e)) in Hwh.
  assert (Hv : slot_valid x e) by (split; [lia|exact Hwh]).
  destruct fuel as [|f]; [lia|]. cbn [Isolation.Engine_replaceLeaf].
  step_by (deref_lens _ _ _ _ e tr L Hv). unfold Isolation.isValid. step. fold dd.
  fold (valid_d dd). rewrite (table_valid dd H3).
  pose proof (clearEntry_table_root f e tr x j p base (Isolation.s2update_vmid u) ltac:(lia) Hj L Hx H3 Hle Hlt Hinv
    Hal Hbelow Hb0 Hba H40) as (st1 & tr1 & Hce & Hv1 & He1).
  assert (Hc' : (let! _ := Isolation.Engine_clearEntry f root p 1 base (Isolation.s2update_vmid u) in ret tt) e tr = Ok tt st1 tr1)
    by (step_by Hce; reflexivity).
  step_by Hc'.
  destruct (Isolation.s2update_unmap u); cbn [negb].
  - eexists _, _. split; [reflexivity|exact He1].
  - step_by (leafDesc_ok st1 tr1 (wrapu 64 (base + Isolation.s2update_delta u)) 1 (Isolation.s2update_attr u)).
    step_by (store_lens _ _ _ _ st1 (leaf_val (wrapu 64 (base + Isolation.s2update_delta u)) 1 (Isolation.s2update_attr u)) tr1 L Hv1).
    eexists _, _. split; [reflexivity|]. destruct Hv1 as [Hl1 Hw1]. rewrite tables_set_tables.
    rewrite tent_put_ent by (try exact Hw1; lia). rewrite !Z.eqb_refl. reflexivity.
Qed.

(** The pool and its bitmap are sound: the part of [l2_inv] (CodeUpdateL2)
    that is about the pool. *)
Definition pool_inv (e : Isolation.Engine) : Prop :=
  tables_ok e /\ pool_ok (Isolation.Engine_pool e) /\ bits_ok (Isolation.Engine_pool e) /\
  count_ok (Isolation.Engine_pool e) /\ Isolation.Engine_plat e <> None.

Lemma tent_zeroed : forall (T : list Isolation.Table) c j, 0 <= c < len T -> 0 <= j < 512 -> tent (replace_nth (Z.to_nat c) (repeat 0 512) T) c j = 0.
Proof.
  intros T c j Hc Hj. unfold tent. rewrite nth_replace by (unfold len in Hc; lia). apply nth_repeat.
Qed.

(** A table [c] that [take] has just taken, hooked by a table descriptor
    into entry [j] of another table [x], has [l2_inv] when its entries
    [v j'] hold no table descriptor. *)
Lemma l2_inv_new : forall e q c x j v T, pool_inv e -> 0 <= c < len (tables e) -> free_bit (Isolation.Engine_pool e) c = true ->
  taken (Isolation.Engine_pool e) q c -> bits_ok q -> 0 <= x < len (tables e) -> x <> c -> 0 <= j < 512 ->
  len T = len (tables e) -> whole T ->
  (forall j', 0 <= j' < 512 -> tent T c j' = v j') -> (forall j', 0 <= j' < 512 -> Z.land (v j') 3 <> 3) ->
  l2_inv (set_tables (Isolation.set_Engine_pool q e) (put_ent T x j (tdesc (pool_base e) c))) c /\
  count_free (Isolation.Engine_pool (set_tables (Isolation.set_Engine_pool q e) (put_ent T x j (tdesc (pool_base e) c))))
    = count_free (Isolation.Engine_pool e) - 1 /\
  pool_base (set_tables (Isolation.set_Engine_pool q e) (put_ent T x j (tdesc (pool_base e) c))) = pool_base e.
Proof.
  intros e q c x j v T (Hok & Hpok & Hbits & Hcok & Hpl) Hc Hcf Htk Hqb Hx Hxc Hj HTl HTw HTc Hv.
  pose proof Hok as (Hwh & Hsmall & Hbase).
  pose proof (tables_set_pool_taken e q c Htk) as (HT1 & HB1).
  pose proof (take_count _ _ c Hpok Hcok ltac:(unfold ntables; fold (tables e); lia) Hcf Htk) as (Hcq & Ecq).
  pose proof Htk as (Hsh & _ & Hqc & _ & _ & _).
  set (e1 := Isolation.set_Engine_pool q e) in *.
  set (e2 := set_tables e1 (put_ent T x j (tdesc (pool_base e) c))).
  assert (Hl2 : len (tables e2) = len (tables e)) by (unfold e2; rewrite tables_set_tables, len_put_ent; exact HTl).
  assert (Hl1 : len (tables e1) = len (tables e)) by (rewrite HT1; apply len_replace).
  assert (HB2 : pool_base e2 = pool_base e) by (unfold e2; rewrite base_set_tables; exact HB1).
  assert (Hent : forall j', 0 <= j' < 512 -> tent (tables e2) c j' = v j').
  { intros j' Hj'. unfold e2. rewrite tables_set_tables, tent_put_ent by (auto; lia).
    replace (c =? x) with false by (symmetry; apply Z.eqb_neq; lia). apply HTc. exact Hj'. }
  assert (Hc2 : count_free (Isolation.Engine_pool e2) = count_free (Isolation.Engine_pool e) - 1).
  { unfold e2. rewrite count_set_tables by (rewrite len_put_ent; lia). unfold e1. rewrite get_set_pool. exact Ecq. }
  split; [|split; [exact Hc2|exact HB2]].
  unfold l2_inv. split; [|split; [|split; [|split; [|split; [|split; [|split]]]]]].
  - split; [unfold e2; rewrite tables_set_tables; apply whole_put_ent; [exact HTw|lia]|]. rewrite Hl2, HB2. split; assumption.
  - unfold e2. apply pool_ok_set_tables; [rewrite len_put_ent; lia|]. unfold e1. rewrite get_set_pool.
    eapply same_shape_ok; [exact Hpok|exact Hsh].
  - unfold e2. apply bits_ok_set_tables; [rewrite len_put_ent; lia|]. unfold e1. rewrite get_set_pool. exact Hqb.
  - unfold e2. apply count_ok_set_tables; [rewrite len_put_ent; lia|]. unfold e1. rewrite get_set_pool. exact Hcq.
  - unfold e2, e1. rewrite plat_set_tables, plat_set_pool. exact Hpl.
  - lia.
  - unfold e2. rewrite free_bit_set_tables. unfold e1. rewrite get_set_pool. exact Hqc.
  - split.
    + intros j' Hj' H3. rewrite Hent in H3 by exact Hj'. exfalso. exact (Hv j' Hj' H3).
    + intros a b Ha Hb _ H3. rewrite Hent in H3 by exact Ha. exfalso. exact (Hv a Ha H3).
Qed.

(** What [descend] at the root does after it has hooked the level-2 table
    [c]: update [c] with fuel [f] and, for an unmap that leaves it empty,
    unhook and release it. *)
Definition descend_tail (f : nat) (p : ptr Isolation.Engine Z) (c base ipa stop : Z) (u : Isolation.s2update) :
    M Isolation.Engine unit :=
  let! _ := Isolation.Engine_update f root c 2 ipa stop u in
  let! t'24 := (if Isolation.s2update_unmap u
                then (let! t'23 := Isolation.Engine_tableEmpty root c in ret t'23)
                else ret false) in
  if t'24 then
    let! _ := Isolation.Engine_dropTable root p c base (Isolation.s2update_vmid u) in
    ret tt
  else ret tt.

(** descend into an invalid root entry (entry [j] of the root's table
    [x], in use) for a map, up to the update of the table it makes: it
    takes a free table [c] ([mustAlloc], zeroed), hooks it with a table
    descriptor, and goes on with [descend_tail] from there. *)
Lemma descend_new_open : forall f e tr x j p base ipa stop u,
  pool_inv e -> 0 <= j < 512 ->
  lens p (slot_valid x) (fun s => tent (tables s) x j) (fun v s => set_tables s (put_ent (tables s) x j v)) ->
  0 <= x < len (tables e) -> free_bit (Isolation.Engine_pool e) x = false ->
  valid_d (tent (tables e) x j) = false -> Isolation.s2update_unmap u = false ->
  some_free (Isolation.Engine_pool e) ->
  exists c q,
    0 <= c < len (tables e) /\ x <> c /\ free_bit (Isolation.Engine_pool e) c = true /\
    taken (Isolation.Engine_pool e) q c /\ bits_ok q /\
    Isolation.Engine_descend (S f) root p 1 base ipa stop u e tr =
      descend_tail f p c base ipa stop u
        (set_tables (Isolation.set_Engine_pool q e)
          (put_ent (tables (Isolation.set_Engine_pool q e)) x j (tdesc (pool_base e) c))) tr.
Proof.
  intros f e tr x j p base ipa stop u Hpi Hj L Hx Hxu Hinv Hun Hsome.
  pose proof Hpi as (Hok & Hpok & Hbits & Hcok & Hpl). pose proof Hok as (Hwh & Hsmall & Hbase).
  fold (whole (tables e)) in Hwh.
  assert (Hv : slot_valid x e) by (split; [lia|exact Hwh]).
  cbn [Isolation.Engine_descend].
  step_by (deref_lens _ _ _ _ e tr L Hv). unfold Isolation.isTable. step.
  replace ((1 <? Isolation.lastLevel) && (Z.land (tent (tables e) x j) 3 =? 3)) with false
    by (symmetry; apply andb_false_iff; right; apply Z.eqb_neq; apply invalid_not_table; exact Hinv).
  unfold bind at 1. unfold Isolation.isValid. step. fold (valid_d (tent (tables e) x j)). rewrite Hinv. cbn [negb].
  rewrite Hun.
  pose proof (mustAlloc_bits e tr Hpok Hbits Hsome) as (c & q & Hma & Hc & Hcf & Htk & Hqb).
  step_by Hma.
  assert (Hxc : x <> c) by (intros ->; rewrite Hcf in Hxu; discriminate).
  set (e1 := Isolation.set_Engine_pool q e).
  pose proof (tables_set_pool_taken e q c Htk) as (HT1 & HB1).
  unfold ntables in Hc. fold (tables e) in Hc.
  assert (Hw1 : whole (tables e1)).
  { unfold e1. rewrite HT1. apply Forall_replace; [exact Hwh|reflexivity]. }
  assert (Hl1 : len (tables e1) = len (tables e)) by (unfold e1; rewrite HT1; apply len_replace).
  step_by (pfield_pool_root e1 tr). fold pool_place.
  assert (Hd1 : Isolation.Pool_Base (Isolation.tablePool_Pool (Isolation.Engine_pool e1)) = pool_base e)
    by (rewrite <- HB1; reflexivity).
  assert (Hpa : Isolation.tablePool_pa pool_place c e1 tr =
    Ok (wrapu 64 (pool_base e + shl 64 false (wrapu 64 c) Isolation.PageShift)) e1 tr).
  { unfold Isolation.tablePool_pa. step_by (deref_lens _ _ _ _ e1 tr pool_place_lens I). rewrite Hd1. reflexivity. }
  step_by Hpa. unfold Isolation.tableDesc. step. fold (tdesc (pool_base e) c).
  assert (Hv1 : slot_valid x e1) by (split; [lia|exact Hw1]).
  step_by (store_lens _ _ _ _ e1 (tdesc (pool_base e) c) tr L Hv1).
  unfold ret. cbv beta iota.
  replace (wraps 64 (1 + 1)) with 2 by reflexivity.
  exists c, q. split; [lia|]. split; [exact Hxc|]. split; [exact Hcf|]. split; [exact Htk|]. split; [exact Hqb|].
  unfold descend_tail. rewrite Hun. reflexivity.
Qed.

(** descend into an invalid root entry (entry [j] of the root's table
    [x], in use) for a map never fails, given at least one table for the
    new level-2 table and what [need] counts for it (a zeroed table) free:
    it takes a table, hooks it and updates it ([update_l2_no_failure]). *)
Theorem descend_new_root : forall fuel e tr x j p base ipa stop u,
  (7 <= fuel)%nat -> pool_inv e -> 0 <= j < 512 ->
  lens p (slot_valid x) (fun s => tent (tables s) x j) (fun v s => set_tables s (put_ent (tables s) x j v)) ->
  0 <= x < len (tables e) -> free_bit (Isolation.Engine_pool e) x = false ->
  valid_d (tent (tables e) x j) = false -> Isolation.s2update_unmap u = false ->
  pool_base e mod 4096 = 0 -> pool_base e + 4096 * len (tables e) <= 2 ^ 48 ->
  0 <= base -> base mod 2 ^ 30 = 0 -> base <= ipa < stop -> stop <= base + 2 ^ 30 -> stop <= 2 ^ 40 ->
  ipa mod 4096 = 0 -> stop mod 4096 = 0 -> Isolation.s2update_delta u mod 4096 = 0 ->
  1 + need_l2g (Z.to_nat (stop - ipa)) (fun _ => 0) ipa stop u <= count_free (Isolation.Engine_pool e) ->
  exists st tr', Isolation.Engine_descend fuel root p 1 base ipa stop u e tr = Ok tt st tr'.
Proof.
  intros fuel e tr x j p base ipa stop u Hf Hpi Hj L Hx Hxu Hinv Hun Hal Hbelow Hb0 Hba Hr Hs H40 Hia Hsa Hd Hneed.
  pose proof Hpi as (Hok & Hpok & Hbits & Hcok & Hpl). pose proof Hok as (Hwh & Hsmall & Hbase).
  fold (whole (tables e)) in Hwh.
  pose proof (need_l2g_bound (Z.to_nat (stop - ipa)) (fun _ => 0) ipa stop u).
  assert (Hsome : some_free (Isolation.Engine_pool e)) by (apply count_some_free; [exact Hpok|lia]).
  destruct fuel as [|f]; [lia|].
  pose proof (descend_new_open f e tr x j p base ipa stop u Hpi Hj L Hx Hxu Hinv Hun Hsome)
    as (c & q & Hc & Hxc & Hcf & Htk & Hqb & Hopen).
  rewrite Hopen. unfold descend_tail. rewrite Hun.
  set (e1 := Isolation.set_Engine_pool q e) in *.
  pose proof (tables_set_pool_taken e q c Htk) as (HT1 & HB1).
  assert (Hw1 : whole (tables e1)).
  { unfold e1. rewrite HT1. apply Forall_replace; [exact Hwh|reflexivity]. }
  assert (Hl1 : len (tables e1) = len (tables e)) by (unfold e1; rewrite HT1; apply len_replace).
  pose proof (l2_inv_new e q c x j (fun _ => 0) (tables e1) Hpi ltac:(lia) Hcf Htk Hqb Hx Hxc Hj Hl1 Hw1
    ltac:(intros j' Hj'; unfold e1; rewrite HT1; apply tent_zeroed; lia) ltac:(intros; discriminate))
    as (Hinv2 & Hc2 & HB2).
  fold e1 in Hinv2, Hc2, HB2.
  set (e2 := set_tables e1 (put_ent (tables e1) x j (tdesc (pool_base e) c))) in *.
  assert (Hl2 : len (tables e2) = len (tables e)) by (unfold e2; rewrite tables_set_tables, len_put_ent; exact Hl1).
  assert (Hn2 : need_l2 (Z.to_nat (stop - ipa)) (tables e2) c ipa stop u = need_l2g (Z.to_nat (stop - ipa)) (fun _ => 0) ipa stop u).
  { apply need_l2_new. intros j' Hj'. unfold e2. rewrite tables_set_tables, tent_put_ent by (auto; lia).
    replace (c =? x) with false by (symmetry; apply Z.eqb_neq; lia). unfold e1. rewrite HT1. apply tent_zeroed; lia. }
  destruct f as [|f]; [lia|].
  pose proof (update_l2_no_failure f e2 tr c ipa stop u ltac:(lia) Hinv2 ltac:(rewrite HB2; exact Hal)
    ltac:(rewrite HB2, Hl2; exact Hbelow) ltac:(lia)
    ltac:(rewrite (l1_base_of base ipa Hba ltac:(lia)); lia) H40 Hia Hsa Hd ltac:(rewrite Hn2, Hc2; lia))
    as (st1 & tr1 & Hup & _).
  step_by Hup. step. eexists _, _. reflexivity.
Qed.

(** descend into a root block entry (valid, no table descriptor; entry
    [j] of the root's table [x], in use), up to the update of the table it
    makes: it takes a free table [c] ([mustAlloc]), splits the block into
    it ([splitBlock_ok]: [Ts]), writes the entry invalid, records
    InvalidateIPA, hooks [c] with a table descriptor, and goes on with
    [descend_tail] from there. *)
Lemma descend_split_open : forall f e tr x j p base ipa stop u,
  pool_inv e -> 0 <= j < 512 ->
  lens p (slot_valid x) (fun s => tent (tables s) x j) (fun v s => set_tables s (put_ent (tables s) x j v)) ->
  0 <= x < len (tables e) -> free_bit (Isolation.Engine_pool e) x = false ->
  valid_d (tent (tables e) x j) = true -> Z.land (tent (tables e) x j) 3 <> 3 ->
  some_free (Isolation.Engine_pool e) -> pool_base e mod 4096 = 0 -> 0 <= base -> base + 2 ^ 30 < 2 ^ 64 ->
  exists c q Ts,
    0 <= c < len (tables e) /\ x <> c /\ free_bit (Isolation.Engine_pool e) c = true /\
    taken (Isolation.Engine_pool e) q c /\ bits_ok q /\
    len Ts = len (tables e) /\ whole Ts /\
    (forall y j', 0 <= y -> 0 <= j' < 512 -> tent Ts y j' =
       if y =? c then split_leaf (tent (tables e) x j) 2 j' else tent (tables (Isolation.set_Engine_pool q e)) y j') /\
    Isolation.Engine_descend (S f) root p 1 base ipa stop u e tr =
      descend_tail f p c base ipa stop u
        (set_tables (Isolation.set_Engine_pool q e) (put_ent Ts x j (tdesc (pool_base e) c)))
        (inval (Isolation.s2update_vmid u) base :: tr).
Proof.
  intros f e tr x j p base ipa stop u Hpi Hj L Hx Hxu Hval Hnt Hsome Hal Hb0 H64.
  pose proof Hpi as (Hok & Hpok & Hbits & Hcok & Hpl). pose proof Hok as (Hwh & Hsmall & Hbase).
  fold (whole (tables e)) in Hwh.
  assert (Hv : slot_valid x e) by (split; [lia|exact Hwh]).
  set (dd := tent (tables e) x j) in *.
  cbn [Isolation.Engine_descend].
  step_by (deref_lens _ _ _ _ e tr L Hv). fold dd. unfold Isolation.isTable. step.
  replace ((1 <? Isolation.lastLevel) && (Z.land dd 3 =? 3)) with false
    by (symmetry; apply andb_false_iff; right; apply Z.eqb_neq; exact Hnt).
  unfold bind at 1. unfold Isolation.isValid. step. fold (valid_d dd). rewrite Hval. cbn [negb].
  pose proof (mustAlloc_bits e tr Hpok Hbits Hsome) as (c & q & Hma & Hc & Hcf & Htk & Hqb).
  step_by Hma.
  assert (Hxc : x <> c) by (intros ->; rewrite Hcf in Hxu; discriminate).
  set (e1 := Isolation.set_Engine_pool q e).
  pose proof (tables_set_pool_taken e q c Htk) as (HT1 & HB1).
  unfold ntables in Hc. fold (tables e) in Hc.
  assert (Hw1 : whole (tables e1)).
  { unfold e1. rewrite HT1. apply Forall_replace; [exact Hwh|reflexivity]. }
  assert (Hl1 : len (tables e1) = len (tables e)) by (unfold e1; rewrite HT1; apply len_replace).
  replace (wraps 64 (1 + 1)) with 2 by reflexivity.
  pose proof (splitBlock_ok e1 tr c dd 2 base ltac:(lia) ltac:(lia) Hw1) as (Ts & Hsp & HTsl & HTsw & HTsp).
  step_by Hsp.
  set (e2 := set_tables e1 Ts).
  assert (Hv2 : slot_valid x e2) by (unfold e2; split; rewrite tables_set_tables; [lia|exact HTsw]).
  step_by (store_lens _ _ _ _ e2 0 tr L Hv2).
  unfold e2. rewrite set_tables_twice, tables_set_tables.
  set (e4 := set_tables e1 (put_ent Ts x j 0)).
  step_by (deref_root e4 tr). unfold e4 at 1. rewrite plat_set_tables. unfold e1. rewrite plat_set_pool.
  destruct (Isolation.Engine_plat e) as [o|] eqn:Epl; [|contradiction]. unfold call_iface. cbn [is_set]. step.
  step_by (pfield_pool_root e4 (inval (Isolation.s2update_vmid u) base :: tr)). fold pool_place.
  assert (Hd4 : Isolation.Pool_Base (Isolation.tablePool_Pool (Isolation.Engine_pool e4)) = pool_base e).
  { unfold e4. rewrite <- HB1. fold e1. rewrite <- (base_set_tables e1 (put_ent Ts x j 0)). reflexivity. }
  assert (Hpa : Isolation.tablePool_pa pool_place c e4 (inval (Isolation.s2update_vmid u) base :: tr) =
    Ok (wrapu 64 (pool_base e + shl 64 false (wrapu 64 c) Isolation.PageShift)) e4 (inval (Isolation.s2update_vmid u) base :: tr)).
  { unfold Isolation.tablePool_pa. step_by (deref_lens _ _ _ _ e4 (inval (Isolation.s2update_vmid u) base :: tr) pool_place_lens I).
    rewrite Hd4. reflexivity. }
  step_by Hpa. unfold Isolation.tableDesc. step. fold (tdesc (pool_base e) c).
  assert (Hv4 : slot_valid x e4).
  { unfold e4. split; rewrite tables_set_tables; [rewrite len_put_ent; lia|apply whole_put_ent; [exact HTsw|lia]]. }
  step_by (store_lens _ _ _ _ e4 (tdesc (pool_base e) c) (inval (Isolation.s2update_vmid u) base :: tr) L Hv4).
  unfold e4. rewrite set_tables_twice, tables_set_tables, put_ent_twice.
  unfold ret. cbv beta iota.
  exists c, q, Ts. split; [lia|]. split; [exact Hxc|]. split; [exact Hcf|]. split; [exact Htk|]. split; [exact Hqb|].
  split; [lia|]. split; [exact HTsw|]. split; [exact HTsp|]. reflexivity.
Qed.

(** descend into a root block entry (valid, no table descriptor; entry
    [j] of the root's table [x], in use) never fails, given at least one
    table for the level-2 table the block is split into and what [need]
    counts for it (a valid leaf in every entry) free: it takes a table,
    splits the block into it ([splitBlock_ok]), breaks the entry, hooks the
    table, updates it ([update_l2_no_failure]) and, for an unmap that
    leaves it empty, releases it. *)
Theorem descend_split_root : forall fuel e tr x j p base ipa stop u,
  (7 <= fuel)%nat -> pool_inv e -> 0 <= j < 512 ->
  lens p (slot_valid x) (fun s => tent (tables s) x j) (fun v s => set_tables s (put_ent (tables s) x j v)) ->
  0 <= x < len (tables e) -> free_bit (Isolation.Engine_pool e) x = false ->
  valid_d (tent (tables e) x j) = true -> Z.land (tent (tables e) x j) 3 <> 3 ->
  pool_base e mod 4096 = 0 -> pool_base e + 4096 * len (tables e) <= 2 ^ 48 ->
  0 <= base -> base mod 2 ^ 30 = 0 -> base <= ipa < stop -> stop <= base + 2 ^ 30 -> stop <= 2 ^ 40 ->
  ipa mod 4096 = 0 -> stop mod 4096 = 0 -> Isolation.s2update_delta u mod 4096 = 0 ->
  1 + need_l2g (Z.to_nat (stop - ipa)) (fun _ => Isolation.descValid) ipa stop u <= count_free (Isolation.Engine_pool e) ->
  exists st tr', Isolation.Engine_descend fuel root p 1 base ipa stop u e tr = Ok tt st tr'.
Proof.
  intros fuel e tr x j p base ipa stop u Hf Hpi Hj L Hx Hxu Hval Hnt Hal Hbelow Hb0 Hba Hr Hs H40 Hia Hsa Hd Hneed.
  pose proof Hpi as (Hok & Hpok & Hbits & Hcok & Hpl). pose proof Hok as (Hwh & Hsmall & Hbase).
  fold (whole (tables e)) in Hwh.
  pose proof (need_l2g_bound (Z.to_nat (stop - ipa)) (fun _ => Isolation.descValid) ipa stop u).
  assert (Hsome : some_free (Isolation.Engine_pool e)) by (apply count_some_free; [exact Hpok|lia]).
  set (dd := tent (tables e) x j) in *.
  destruct fuel as [|f]; [lia|].
  pose proof (descend_split_open f e tr x j p base ipa stop u Hpi Hj L Hx Hxu Hval Hnt Hsome Hal Hb0 ltac:(lia))
    as (c & q & Ts & Hc & Hxc & Hcf & Htk & Hqb & HTsl & HTsw & HTsp & Hopen).
  rewrite Hopen. unfold descend_tail.
  set (e1 := Isolation.set_Engine_pool q e) in *.
  pose proof (tables_set_pool_taken e q c Htk) as (HT1 & HB1).
  assert (HTc : forall j', 0 <= j' < 512 -> tent Ts c j' = split_leaf dd 2 j') by (intros j' Hj'; rewrite HTsp by lia; rewrite Z.eqb_refl; reflexivity).
  pose proof (l2_inv_new e q c x j (split_leaf dd 2) Ts Hpi ltac:(lia) Hcf Htk Hqb Hx Hxc Hj ltac:(lia) HTsw HTc
    ltac:(intros j' _; apply leaf2_not_table)) as (Hinv3 & Hc3 & HB3).
  fold e1 in Hinv3, Hc3, HB3.
  set (e3 := set_tables e1 (put_ent Ts x j (tdesc (pool_base e) c))) in *.
  assert (Hl3 : len (tables e3) = len (tables e)) by (unfold e3; rewrite tables_set_tables, len_put_ent; lia).
  assert (Hn3 : need_l2 (Z.to_nat (stop - ipa)) (tables e3) c ipa stop u =
    need_l2g (Z.to_nat (stop - ipa)) (fun _ => Isolation.descValid) ipa stop u).
  { apply (need_l2_split _ _ _ dd). intros j' Hj'. unfold e3. rewrite tables_set_tables, tent_put_ent by (auto; lia).
    replace (c =? x) with false by (symmetry; apply Z.eqb_neq; lia). apply HTc. exact Hj'. }
  destruct f as [|f]; [lia|].
  pose proof (update_l2_no_failure f e3 (inval (Isolation.s2update_vmid u) base :: tr) c ipa stop u ltac:(lia) Hinv3
    ltac:(rewrite HB3; exact Hal) ltac:(rewrite HB3, Hl3; exact Hbelow) ltac:(lia)
    ltac:(rewrite (l1_base_of base ipa Hba ltac:(lia)); lia) H40 Hia Hsa Hd ltac:(rewrite Hn3, Hc3; lia))
    as (st1 & tr1 & Hup & Hinv1 & HB1' & Hl1').
  step_by Hup.
  pose proof Hinv1 as (Hok1 & Hpok1 & _ & _ & Hpl1 & Hc1 & Hcu1 & _).
  pose proof Hok1 as (Hwh1 & _ & _). fold (whole (tables st1)) in Hwh1.
  destruct (Isolation.s2update_unmap u).
  - pose proof (tableEmpty_ok st1 tr1 c Hc1 Hwh1) as (b & Hb & _).
    assert (Hte : (let! t'23 := Isolation.Engine_tableEmpty root c in ret t'23) st1 tr1 = Ok b st1 tr1)
      by (step_by Hb; reflexivity).
    step_by Hte. destruct b.
    + assert (Hv1 : slot_valid x st1) by (split; [lia|exact Hwh1]).
      pose proof (dropTable_ok p x j st1 tr1 c base (Isolation.s2update_vmid u) L Hv1 Hpl1 Hpok1 Hc1 Hcu1)
        as (q' & Hdrop & _).
      step_by Hdrop. eexists _, _. reflexivity.
    + eexists _, _. reflexivity.
  - step. eexists _, _. reflexivity.
Qed.

(** ** One root entry *)

(** update at the root (level 1) of a page-aligned range inside one 1 GiB
    entry of the root [t] (two tables of the pool, the entry's one in use)
    never fails, whatever the entry holds: a level-2 table of the pool
    with [l2_inv], a block, or nothing, given at least [need_root_at] free
    tables, the count [need] makes for the entry ([need_root_spec]). The
    pool must be page aligned and below 2^48. *)
Theorem update_root_entry_no_failure : forall f e tr t ipa end' u,
  (8 <= f)%nat -> pool_inv e -> 0 <= t -> t + 1 < len (tables e) ->
  free_bit (Isolation.Engine_pool e) (t + ((ipa / 2 ^ 30) mod 1024) / 512) = false ->
  pool_base e mod 4096 = 0 -> pool_base e + 4096 * len (tables e) <= 2 ^ 48 ->
  0 <= ipa < end' -> end' <= l1_base ipa + 2 ^ 30 -> end' <= 2 ^ 40 ->
  ipa mod 4096 = 0 -> end' mod 4096 = 0 -> Isolation.s2update_delta u mod 4096 = 0 ->
  let d := ent (tables e) t ((ipa / 2 ^ 30) mod 1024) in
  (Z.land d 3 = 3 -> pool_base e <= Z.land d Isolation.descOAMask /\ child (pool_base e) d < len (tables e) /\
     l2_inv e (child (pool_base e) d)) ->
  need_root_at (tables e) (pool_base e) t ipa end' u <= count_free (Isolation.Engine_pool e) ->
  exists st tr', Isolation.Engine_update (S f) root t 1 ipa end' u e tr = Ok tt st tr'.
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
  unfold need_root_at in Hneed. fold base in Hneed. rewrite Hstop in Hneed. fold i in Hneed. fold dd in Hneed.
  cbn [Isolation.Engine_update].
  match goal with |- context [loop ?fu ?c ?b ?p ?l0] =>
  destruct (loop_spec fu c b p
    (fun cur st tr' => (cur = ipa /\ st = e /\ tr' = tr) \/ cur = end')
    (fun _ _ _ => True)
    (fun cur => Z.to_nat (end' - cur))) with (l := l0) (s := e) (tr := tr) as (r & s' & tr' & Hl & _) end.
  - intros cur st tr' H. exists (cur <? end'). split; [destruct H as [(_ & -> & ->)| ->]; reflexivity|]. split.
    + intros Hc. apply Z.ltb_lt in Hc. lia.
    + intros _. exact I.
  - intros cur st tr' [(-> & -> & ->)| ->] Hc; [|injection Hc as Hc; rewrite Z.ltb_irrefl in Hc; discriminate].
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
    assert (Hcont : forall st tr1, exists r s' tr', (let ipa := end' in ret (S:=Isolation.Engine) (Continue (X:=Empty_set) ipa)) st tr1 = Ok r s' tr' /\
      match r with Continue l' => exists l'', ret l' s' tr' = Ok l'' s' tr' /\
        ((l'' = ipa /\ s' = e /\ tr' = tr) \/ l'' = end') /\ (Z.to_nat (end' - l'') < Z.to_nat (end' - ipa))%nat
      | Break l' => True | Leave x => True end).
    { intros st tr1. eexists _, _, _. split; [reflexivity|]. eexists. split; [reflexivity|]. split; [right; reflexivity|]. lia. }
    destruct (whole_l1 base ipa end' u).
    + (* a whole entry: replaceLeaf *)
      destruct (Z.eq_dec (Z.land dd 3) 3) as [E3|E3].
      * pose proof (Htab E3) as (Hle & Hlt & Hinv).
        pose proof (replaceLeaf_table_root f e tr x j p base u ltac:(lia) Hj L ltac:(lia) E3 Hle Hlt Hinv Hal Hbelow
          ltac:(lia) Hba Hb40) as (st & tr1 & Hrl & _).
        assert (H : (let! t'6 := Isolation.Engine_replaceLeaf f root p 1 base u in ret tt) e tr = Ok tt st tr1)
          by (step_by Hrl; reflexivity).
        step_by H. apply Hcont.
      * pose proof (slot_laws x j ltac:(lia) Hj) as (L1 & L2 & L3).
        destruct f as [|[|f']]; [lia|lia|].
        pose proof (replaceLeaf_leaf_ok f' p _ _ _ e tr 1 base u L Hv Hpl L1 L2 L3
          ltac:(apply andb_false_iff; right; apply Z.eqb_neq; exact E3)) as Hrl.
        assert (H : (let! t'6 := Isolation.Engine_replaceLeaf (S (S f')) root p 1 base u in ret tt) e tr = Ok tt
          ((fun v s => set_tables s (put_ent (tables s) x j v)) (new_ent u 1 base ((fun s => tent (tables s) x j) e)) e)
          (if valid_d ((fun s => tent (tables s) x j) e) then inval (Isolation.s2update_vmid u) base :: tr else tr))
          by (step_by Hrl; reflexivity).
        step_by H. apply Hcont.
    + (* part of an entry: descend *)
      assert (Hal' : forall st tr1, Isolation.Engine_descend f root p 1 base ipa end' u e tr = Ok tt st tr1 ->
        exists r s' tr', (let! _ := (let! t'7 := Isolation.Engine_descend f root p 1 base ipa end' u in ret tt) in let ipa := end' in ret (Continue (X:=Empty_set) ipa)) e tr = Ok r s' tr' /\
        match r with Continue l' => exists l'', ret l' s' tr' = Ok l'' s' tr' /\
          ((l'' = ipa /\ s' = e /\ tr' = tr) \/ l'' = end') /\ (Z.to_nat (end' - l'') < Z.to_nat (end' - ipa))%nat
        | Break l' => True | Leave x => True end).
      { intros st tr1 H. assert (H' : (let! t'7 := Isolation.Engine_descend f root p 1 base ipa end' u in ret tt) e tr = Ok tt st tr1)
          by (step_by H; reflexivity). step_by H'. apply Hcont. }
      unfold below1 in Hneed.
      destruct (Z.eq_dec (Z.land dd 3) 3) as [E3|E3].
      * rewrite (proj2 (Z.eqb_eq _ _) E3) in Hneed.
        pose proof (Htab E3) as (Hle & Hlt & Hinv).
        pose proof (descend_table_root f e tr x j p base ipa end' u ltac:(lia) Hj L ltac:(lia) E3 Hle Hlt Hinv Hal Hbelow
          ltac:(lia) Hba ltac:(lia) ltac:(lia) H40 Hia Hea Hd Hneed) as (st & tr1 & Hde).
        exact (Hal' st tr1 Hde).
      * replace (Z.land dd 3 =? 3) with false in Hneed by (symmetry; apply Z.eqb_neq; exact E3).
        destruct (valid_d dd) eqn:Hval.
        -- pose proof (descend_split_root f e tr x j p base ipa end' u ltac:(lia) Hpi Hj L ltac:(lia) Hxu Hval E3 Hal Hbelow
             ltac:(lia) Hba ltac:(lia) ltac:(lia) H40 Hia Hea Hd Hneed) as (st & tr1 & Hde).
           exact (Hal' st tr1 Hde).
        -- destruct (Isolation.s2update_unmap u) eqn:Hun.
           ++ destruct f as [|f']; [lia|].
              exact (Hal' e tr (descend_invalid_unmap f' e tr p _ _ _ 1 base ipa end' u L Hv Hval Hun)).
           ++ pose proof (descend_new_root f e tr x j p base ipa end' u ltac:(lia) Hpi Hj L ltac:(lia) Hxu Hval Hun Hal Hbelow
                ltac:(lia) Hba ltac:(lia) ltac:(lia) H40 Hia Hea Hd Hneed) as (st & tr1 & Hde).
              exact (Hal' st tr1 Hde).
  - left. split; [reflexivity|]. split; reflexivity.
  - rewrite max_fuel_nat. unfold max_fuel. lia.
  - step_by Hl. destruct r as [cur|[]]. eexists _, _. reflexivity.
Qed.

(** ** What update at level 2 takes *)

(** [update_l2_no_failure] (CodeUpdateL2), with what it takes: the update
    at level 2 over [ipa, end') leaves at least [need_l2] fewer free
    tables than there were, so the count [need] reserves bounds what it
    takes. *)
Theorem update_l2_count : forall f e tr t ipa end' u,
  (5 <= f)%nat -> l2_inv e t ->
  pool_base e mod 4096 = 0 -> pool_base e + 4096 * len (tables e) <= 2 ^ 48 ->
  0 <= ipa <= end' -> end' <= ipa / 2 ^ 30 * 2 ^ 30 + 2 ^ 30 -> end' <= 2 ^ 40 ->
  ipa mod 4096 = 0 -> end' mod 4096 = 0 -> Isolation.s2update_delta u mod 4096 = 0 ->
  need_l2 (Z.to_nat (end' - ipa)) (tables e) t ipa end' u <= count_free (Isolation.Engine_pool e) ->
  exists st tr', Isolation.Engine_update (S f) root t 2 ipa end' u e tr = Ok tt st tr' /\
    l2_inv st t /\ pool_base st = pool_base e /\ len (tables st) = len (tables e) /\
    count_free (Isolation.Engine_pool e) - need_l2 (Z.to_nat (end' - ipa)) (tables e) t ipa end' u
      <= count_free (Isolation.Engine_pool st).
Proof.
  intros f e tr t ipa end' u Hf Hinv Hal Hbelow Hr Hspan H40 Hia Hea Hd Hneed.
  pose proof (update_l2_keeps f e tr t ipa end' u Hf Hinv Hal Hbelow Hr Hspan H40 Hia Hea Hd Hneed)
    as (st & tr' & Hup & Hi & HB & Hl & Hc & _). exists st, tr'. auto.
Qed.

(** The reservation at level 2 suffices: when [need] over a level-2 table
    with [l2_inv] counts at most the free tables, [update] over the same
    range never fails, keeps [l2_inv] and takes at most that count. *)
Theorem update_l2_reserved : forall f e tr t ipa end' u n,
  (5 <= f)%nat -> l2_inv e t ->
  pool_base e mod 4096 = 0 -> pool_base e + 4096 * len (tables e) <= 2 ^ 48 ->
  0 <= ipa <= end' -> end' <= ipa / 2 ^ 30 * 2 ^ 30 + 2 ^ 30 -> end' <= 2 ^ 40 ->
  ipa mod 4096 = 0 -> end' mod 4096 = 0 -> Isolation.s2update_delta u mod 4096 = 0 ->
  Isolation.Engine_need (S f) root t 0 2 ipa end' u e tr = Ok n e tr -> n <= count_free (Isolation.Engine_pool e) ->
  exists st tr', Isolation.Engine_update (S f) root t 2 ipa end' u e tr = Ok tt st tr' /\
    l2_inv st t /\ count_free (Isolation.Engine_pool e) - n <= count_free (Isolation.Engine_pool st).
Proof.
  intros f e tr t ipa end' u n Hf Hinv Hal Hbelow Hr Hspan H40 Hia Hea Hd Hn Hle.
  rewrite (need_l2_spec f e tr t ipa end' u ltac:(lia) Hinv Hr H40) in Hn. injection Hn as <-.
  pose proof (update_l2_count f e tr t ipa end' u Hf Hinv Hal Hbelow Hr Hspan H40 Hia Hea Hd Hle)
    as (st & tr' & Hup & Hi & _ & _ & Hc).
  exists st, tr'. split; [exact Hup|]. split; [exact Hi|exact Hc].
Qed.
