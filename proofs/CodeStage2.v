(** * Stage-2 walks of the translated code: no failure outcome

    [translate] walks a stage-2 from its root: it reads an entry of the
    concatenated root (1,024 entries over two tables), then of a level-2
    and a level-3 table, each found from the table descriptor above it by
    [tablePool.index], which panics if the descriptor points outside the
    pool. The concrete invariant [s2_ok] says a stage-2 is absent (root
    -1) or a tree of tables of the pool: every table descriptor of the
    root and of the level-2 tables below it points at a table of the pool
    (level-3 entries with both low bits set are pages, not tables). With
    it, [translate] never fails. *)
From Coq Require Import ZArith Lia List Bool.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodePlace CodeLoop CodeLedger CodeVMCreate.
Import ListNotations.
Open Scope Z_scope.

(** ** The invariant *)

Definition tables (e : Isolation.Engine) : list Isolation.Table :=
  Isolation.Pool_Tables (Isolation.tablePool_Pool (Isolation.Engine_pool e)).
Definition pool_base (e : Isolation.Engine) : Z :=
  Isolation.Pool_Base (Isolation.tablePool_Pool (Isolation.Engine_pool e)).

(** Entry [i] of the table at index [t]: a root's entries run on into the
    table after it, as [slot] computes. *)
Definition ent (T : list Isolation.Table) (t i : Z) : Z :=
  nth (Z.to_nat (i mod 512)) (nth (Z.to_nat (t + i / 512)) T Isolation.zero_Table) 0.

(** The pool index a table descriptor [d] names. *)
Definition child (base d : Z) : Z := (Z.land d Isolation.descOAMask - base) / 4096.

(** The table at [t], with [nent] entries, lies in the pool, and [k] more
    levels of tables hang below it inside the pool. *)
Fixpoint tree_ok (T : list Isolation.Table) (base : Z) (k : nat) (t nent : Z) : Prop :=
  0 <= t /\ t + (nent - 1) / 512 < len T /\
  match k with
  | O => True
  | S k' => forall i, 0 <= i < nent -> Z.land (ent T t i) 3 = 3 ->
      base <= Z.land (ent T t i) Isolation.descOAMask /\ child base (ent T t i) < len T /\
      tree_ok T base k' (child base (ent T t i)) 512
  end.

(** Every table of the pool has its 512 entries, the pool is small enough
    for its index arithmetic never to wrap, and its base is an address. *)
Definition tables_ok (e : Isolation.Engine) : Prop :=
  Forall (fun tb => len tb = 512) (tables e) /\ len (tables e) < 2 ^ 62 /\ 0 <= pool_base e.

Definition s2_ok (e : Isolation.Engine) (s : Isolation.stage2) : Prop :=
  Isolation.stage2_root s < 0 \/ tree_ok (tables e) (pool_base e) 2 (Isolation.stage2_root s) 1024.

(** ** Reading a slot *)

Lemma divs512 : forall {S} (s : S) tr i, divs 64 i Isolation.entriesPerTable s tr = Ok (wraps 64 (Z.quot i 512)) s tr.
Proof. reflexivity. Qed.

Lemma mods512 : forall {S} (s : S) tr i, mods i Isolation.entriesPerTable s tr = Ok (Z.rem i 512) s tr.
Proof. reflexivity. Qed.

Lemma slot_ok : forall e tr t i, tables_ok e -> 0 <= t -> 0 <= i < 1024 -> t + i / 512 < len (tables e) ->
  exists p, Isolation.Engine_slot root t i e tr = Ok p e tr /\ good p e (ent (tables e) t i).
Proof.
  intros e tr t i (Hall & Hsmall & Hb) Ht Hi Hti. unfold tables in *.
  assert (Hq : 0 <= i / 512 < 2) by (split; [apply Z.div_pos|apply Z.div_lt_upper_bound]; lia).
  pose proof (pfield_good root Isolation.Engine_pool Isolation.set_Engine_pool e e tr (good_root e)) as (q1 & Hq1 & G1).
  pose proof (pfield_good q1 Isolation.tablePool_Pool Isolation.set_tablePool_Pool e _ tr G1) as (q2 & Hq2 & G2).
  pose proof (pfield_good q2 Isolation.Pool_Tables Isolation.set_Pool_Tables e _ tr G2) as (q3 & Hq3 & G3).
  pose proof (pindex_good q3 e _ (t + i / 512) tr G3 ltac:(lia)) as (q4 & tb & Hq4 & Hn4 & G4).
  assert (Htb : len tb = 512).
  { rewrite Forall_forall in Hall. apply Hall. eapply nth_error_In. exact Hn4. }
  pose proof (Z.mod_pos_bound i 512 ltac:(lia)) as Hm.
  pose proof (pindex_good q4 e tb (i mod 512) tr G4 ltac:(lia)) as (q5 & d & Hq5 & Hn5 & G5).
  exists q5. split.
  - unfold Isolation.Engine_slot, bind. rewrite Hq1, Hq2, Hq3, divs512.
    rewrite Z.quot_div_nonneg by lia. rewrite (wraps_small (i / 512)), (wraps_small (t + i / 512)) by lia. rewrite Hq4, mods512.
    rewrite Z.rem_mod_nonneg by lia. rewrite Hq5. reflexivity.
  - replace (ent _ t i) with d; [exact G5|].
    unfold ent. rewrite (nth_error_nth _ _ _ Hn4). symmetry. apply nth_error_nth. exact Hn5.
Qed.

(** ** The steps of a walk *)

Lemma land_ones_bound : forall x n, 0 <= n -> 0 <= Z.land x (Z.ones n) < 2 ^ n.
Proof. intros x n Hn. rewrite Z.land_ones by exact Hn. apply Z.mod_pos_bound. lia. Qed.

(** The index of the entry translating [ipa] at a level lies in its table
    (the root's 1,024 entries, or 512). *)
Lemma entryIndex_ok : forall {S} (s : S) tr ipa lvl, 1 <= lvl <= 3 ->
  exists k, Isolation.entryIndex ipa lvl s tr = Ok k s tr /\ 0 <= k < (if lvl =? 1 then 1024 else 512).
Proof.
  intros S s tr ipa lvl Hl. assert (Hc : lvl = 1 \/ lvl = 2 \/ lvl = 3) by lia.
  destruct Hc as [ -> | [ -> | -> ] ]; cbn [Z.eqb];
    unfold Isolation.entryIndex, Isolation.entries, Isolation.levelShift, bind, ret; cbn [Z.eqb Isolation.S2StartLevel];
    eexists; split; try reflexivity;
    lazymatch goal with |- context [Z.land ?x ?m] => generalize x; intros x' end.
  - replace (wraps 64 (Isolation.rootEntries - 1)) with (Z.ones 10) by reflexivity. apply land_ones_bound; lia.
  - replace (wraps 64 (Isolation.entriesPerTable - 1)) with (Z.ones 9) by reflexivity. apply land_ones_bound; lia.
  - replace (wraps 64 (Isolation.entriesPerTable - 1)) with (Z.ones 9) by reflexivity. apply land_ones_bound; lia.
Qed.

Lemma oa_bound : forall d, 0 <= Z.land d Isolation.descOAMask < 2 ^ 48.
Proof.
  intros d. replace Isolation.descOAMask with (Z.land Isolation.descOAMask (Z.ones 48)) by reflexivity.
  rewrite Z.land_assoc. apply land_ones_bound. lia.
Qed.

Lemma leafAttr_ok : forall {S} (s : S) tr d, exists a, Isolation.leafAttr d s tr = Ok a s tr.
Proof.
  intros S s tr d. unfold Isolation.leafAttr, bind, ret.
  repeat match goal with |- context [if ?c then _ else _] => destruct c end; eexists; reflexivity.
Qed.

(** [tablePool.index] of a descriptor the tree holds is the table below it. *)
Lemma index_ok : forall e tr d, tables_ok e ->
  pool_base e <= Z.land d Isolation.descOAMask -> child (pool_base e) d < len (tables e) ->
  Isolation.tablePool_index (Place (fun s => Some (Isolation.Engine_pool s))
    (fun b s => Some (Isolation.set_Engine_pool b s))) (Z.land d Isolation.descOAMask) e tr
  = Ok (child (pool_base e) d) e tr.
Proof.
  intros e tr d (_ & Hsmall & Hb) Hle Hlt. pose proof (oa_bound d) as Hoa.
  unfold tables, pool_base, child in *.
  set (base := Isolation.Pool_Base (Isolation.tablePool_Pool (Isolation.Engine_pool e))) in *.
  set (T := Isolation.Pool_Tables (Isolation.tablePool_Pool (Isolation.Engine_pool e))) in *.
  set (oa := Z.land d Isolation.descOAMask) in *.
  unfold Isolation.tablePool_index, bind, ret. cbn [deref option_map]. fold base T.
  rewrite wrapu_small by lia.
  destruct (Z.ltb_spec oa base) as [H|H]; [lia|]. cbv beta iota. fold T.
  rewrite (wrapu_small (len T)) by (unfold len in *; lia).
  unfold Isolation.PageShift. rewrite shr_small by lia. rewrite Z.shiftr_div_pow2 by lia. change (2 ^ 12) with 4096.
  destruct (Z.geb_spec ((oa - base) / 4096) (len T)) as [H'|H']; [lia|].
  rewrite wraps_small; [reflexivity|]. split; [|lia].
  apply Z.le_trans with 0; [lia|]. apply Z.div_pos; lia.
Qed.

(** ** The walk *)

Lemma tree_ok_range : forall T base k t n, tree_ok T base k t n -> 0 <= t /\ t + (n - 1) / 512 < len T.
Proof. intros T base [|k] t n H; cbn [tree_ok] in H; tauto. Qed.

Lemma pfield_pool_root : forall (e : Isolation.Engine) tr,
  pfield root Isolation.Engine_pool Isolation.set_Engine_pool e tr =
  Ok (Place (fun s => Some (Isolation.Engine_pool s)) (fun b s => Some (Isolation.set_Engine_pool b s))) e tr.
Proof. reflexivity. Qed.

(** [translate] has no failure outcome: on an engine whose pool is
    [tables_ok], for a stage-2 that is [s2_ok] and any 64-bit IPA, it
    returns, changing neither the memory nor the trace. *)
Theorem translate_ok : forall e tr s s2 ipa, tables_ok e -> s2_ok e s2 -> good s e s2 -> 0 <= ipa < 2 ^ 64 ->
  exists r, Isolation.Engine_translate root s ipa e tr = Ok r e tr.
Proof.
  intros e tr s s2 ipa Hok Hs2 Hg Hipa.
  unfold Isolation.Engine_translate.
  unfold bind at 1. rewrite (deref_good _ _ _ _ Hg). cbv beta iota.
  destruct ((Isolation.stage2_root s2 <? 0) || (ipa >=? Isolation.ipaLimit)) eqn:Hc.
  { unfold ret. eexists. reflexivity. }
  apply orb_false_iff in Hc as [Hr _]. apply Z.ltb_ge in Hr.
  destruct Hs2 as [Hneg|Htree]; [lia|].
  unfold bind at 1. rewrite (deref_good _ _ _ _ Hg). cbv beta iota zeta.
  set (T := tables e) in *. set (base := pool_base e) in *.
  match goal with |- context [loop ?f ?c ?b ?p ?l0] =>
  destruct (loop_spec f c b p
    (fun l st tr' => st = e /\ tr' = tr /\ 1 <= snd l <= 3 /\
       tree_ok T base (Z.to_nat (3 - snd l)) (fst l) (if snd l =? 1 then 1024 else 512))
    (fun j st tr' => st = e /\ tr' = tr /\ exists x, j = Jump x)
    (fun l => Z.to_nat (4 - snd l))) with (l := l0) (s := e) (tr := tr) as (j & s' & tr' & Hl & Hq) end.
  - intros [t lvl] st tr' (-> & -> & Hlvl & Ht). cbn [fst snd] in *.
    eexists. split; [reflexivity|]. split.
    + intros _. lia.
    + intros Hf. unfold Isolation.lastLevel in Hf. apply Z.leb_gt in Hf. lia.
  - intros [t lvl] st tr' (-> & -> & Hlvl & Ht) _. cbn [fst snd] in *.
    pose proof (entryIndex_ok e tr ipa lvl Hlvl) as (k & Hk & Hkb).
    pose proof (tree_ok_range _ _ _ _ _ Ht) as (Ht0 & Htl).
    assert (Hkl : t + k / 512 < len T) by
      (apply Z.le_lt_trans with (t + ((if lvl =? 1 then 1024 else 512) - 1) / 512); [|exact Htl];
       apply Z.add_le_mono_l, Z.div_le_mono; lia).
    pose proof (slot_ok e tr t k Hok Ht0 ltac:(destruct (lvl =? 1); lia) Hkl) as (p & Hp & Gp). fold T in Gp.
    unfold bind at 1; rewrite Hk; cbv beta iota; unfold bind at 1; rewrite Hp; cbv beta iota;
      unfold bind at 1; rewrite (deref_good _ _ _ _ Gp); cbv beta iota.
    all: unfold Isolation.isValid, Isolation.isTable, bind at 1, ret at 1; cbv beta iota.
    all: destruct (negb (Z.land (ent T t k) Isolation.descValid =? 0)); cbn [negb];
      [|unfold ret; eexists _, _, _; split; [reflexivity|]; split; [reflexivity|split; [reflexivity|eauto]]].
    all: unfold bind at 1, ret at 1; cbv beta iota.
    all: destruct ((lvl <? Isolation.lastLevel) && (Z.land (ent T t k) 3 =? 3)) eqn:Htab; cbn [negb].
    2: (pose proof (leafAttr_ok e tr (ent T t k)) as (a & Ha);
      unfold Isolation.levelSize, Isolation.levelShift, Isolation.descOA, bind, ret; cbv beta iota; rewrite Ha;
      eexists _, _, _; split; [reflexivity|]; split; [reflexivity|split; [reflexivity|eauto]]).
    all: apply andb_true_iff in Htab as [Hlt H3]; unfold Isolation.lastLevel in Hlt; apply Z.ltb_lt in Hlt; apply Z.eqb_eq in H3.
    all: replace (Z.to_nat (3 - lvl)) with (S (Z.to_nat (3 - (lvl + 1)))) in Ht by lia.
    all: destruct Ht as (_ & _ & Hch). pose proof (Hch k ltac:(destruct (lvl =? 1); lia) H3) as (Hle & Hclt & Hct).
    all: unfold bind at 1; rewrite pfield_pool_root; cbv beta iota.
    all: unfold Isolation.descOA, bind at 1, ret at 1; cbv beta iota.
    all: unfold bind at 1; rewrite (index_ok e tr (ent T t k) Hok Hle Hclt); cbv beta iota.
    all: unfold ret; eexists _, _, _; split; [reflexivity|].
    all: eexists; split; [reflexivity|]; cbn [fst snd].
    all: rewrite wraps_small by lia.
    all: split; [split; [reflexivity|split; [reflexivity|split; [lia|]]]|lia].
    all: replace (lvl + 1 =? 1) with false by (symmetry; apply Z.eqb_neq; lia); exact Hct.
  - cbn [fst snd]. split; [reflexivity|]. split; [reflexivity|]. split; [unfold Isolation.S2StartLevel; lia|].
    exact Htree.
  - cbn [fst snd]. unfold Isolation.lastLevel, Isolation.S2StartLevel. cbn. lia.
  - unfold bind at 1. rewrite Hl. destruct Hq as (-> & -> & x & ->). unfold ret. eexists. reflexivity.
Qed.

(** ** The reservation count *)

Lemma andnot_ones : forall z n, 0 <= n -> andnot z (Z.ones n) = z / 2 ^ n * 2 ^ n.
Proof.
  intros z n Hn. unfold andnot. rewrite <- Z.ldiff_land, Z.ldiff_ones_r by lia.
  rewrite Z.shiftl_mul_pow2, Z.shiftr_div_pow2 by lia. reflexivity.
Qed.

(** The size of an entry at a level, and the mask of its offset. *)
Lemma levelSize_ok : forall {S} (s : S) tr lvl, 1 <= lvl <= 3 ->
  Isolation.levelSize lvl s tr = Ok (2 ^ (12 + 9 * (3 - lvl))) s tr /\
  wrapu 64 (2 ^ (12 + 9 * (3 - lvl)) - 1) = Z.ones (12 + 9 * (3 - lvl)).
Proof.
  intros S s tr lvl Hl. assert (Hc : lvl = 1 \/ lvl = 2 \/ lvl = 3) by lia.
  destruct Hc as [ -> | [ -> | -> ] ]; split; reflexivity.
Qed.

Lemma wholeLeaf_ok : forall {S} (s : S) tr base ipa stop lvl u,
  exists b, Isolation.wholeLeaf base ipa stop lvl u s tr = Ok b s tr.
Proof.
  intros. unfold Isolation.wholeLeaf, Isolation.levelSize, Isolation.levelShift, Isolation.blockAllowed, bind, ret.
  repeat match goal with |- context [if ?c then _ else _] => destruct c end; eexists; reflexivity.
Qed.

(** [need] and [needBelow], the count of tables a stage-2 update may take,
    have no failure outcome: at level [3 - k], with the depth fuel the
    [k] levels below take, from a table of a tree of the pool or from a
    table not made yet ([t < 0], standing for empty or block entries), for
    any range below 2^40. *)
Theorem need_ok : forall k fuel e tr t virt ipa end' u,
  (k <= 2)%nat -> (2 * k + 1 <= fuel)%nat -> tables_ok e ->
  (t < 0 -> virt = 0 \/ virt = 1) ->
  (0 <= t -> tree_ok (tables e) (pool_base e) k t (if 3 - Z.of_nat k =? 1 then 1024 else 512)) ->
  0 <= ipa -> end' <= 2 ^ 40 ->
  exists n, Isolation.Engine_need fuel root t virt (3 - Z.of_nat k) ipa end' u e tr = Ok n e tr.
Proof.
  induction k as [|k IH]; intros fuel e tr t virt ipa end' u Hk Hf Hok Hv Ht Hipa Hend;
    (destruct fuel as [|fuel]; [lia|]); cbn [Isolation.Engine_need].
  - match goal with |- context [loop ?f ?c ?b ?p ?l0] =>
    destruct (loop_spec f c b p
      (fun l st tr' => st = e /\ tr' = tr)
      (fun j st tr' => st = e /\ tr' = tr /\ exists l, j = Fall l)
      (fun _ => 0%nat)) with (l := l0) (s := e) (tr := tr) as (j & s' & tr' & Hl & Hq) end.
    + intros [i n] st tr' (-> & ->). eexists. split; [reflexivity|].
      rewrite andb_false_r. split; [discriminate|]. intros _. eauto.
    + intros [i n] st tr' _ Hc. injection Hc as Hc.
      replace (3 - Z.of_nat 0 <? Isolation.lastLevel) with false in Hc by reflexivity.
      rewrite andb_false_r in Hc. discriminate.
    + auto.
    + lia.
    + unfold bind at 1. rewrite Hl. destruct Hq as (-> & -> & [i n] & ->). unfold ret. eexists. reflexivity.
  - set (lvl := 3 - Z.of_nat (S k)) in *.
    assert (Hlvl : 1 <= lvl <= 2) by (unfold lvl; lia).
    set (sh := 12 + 9 * (3 - lvl)).
    pose proof (levelSize_ok e tr lvl ltac:(lia)) as [Hsz Hmask]. fold sh in Hsz, Hmask.
    assert (Hsh : 21 <= sh <= 30) by (unfold sh; lia).
    assert (Hpow : 2 ^ 21 <= 2 ^ sh <= 2 ^ 30) by (split; apply Z.pow_le_mono_r; lia).
    match goal with |- context [loop ?f ?c ?b ?p ?l0] =>
    destruct (loop_spec f c b p
      (fun l st tr' => st = e /\ tr' = tr /\ 0 <= fst l)
      (fun j st tr' => st = e /\ tr' = tr /\ exists l, j = Fall l)
      (fun l => Z.to_nat (end' - fst l))) with (l := l0) (s := e) (tr := tr) as (j & s' & tr' & Hl & Hq) end.
    + intros [i n] st tr' (-> & -> & Hi). cbn [fst] in *. eexists. split; [reflexivity|]. split.
      * intros Hc. apply andb_true_iff in Hc as [Hc _]. apply Z.ltb_lt in Hc. lia.
      * intros _. eauto.
    + intros [i n] st tr' (-> & -> & Hi) Hc. cbn [fst] in *.
      injection Hc as Hc. apply andb_true_iff in Hc as [Hc _]. apply Z.ltb_lt in Hc.
      set (base := andnot i (Z.ones sh)).
      assert (Hbase : base = i / 2 ^ sh * 2 ^ sh) by (apply andnot_ones; lia).
      assert (Hb1 : base <= i < base + 2 ^ sh).
      { rewrite Hbase. pose proof (Z.div_mod i (2 ^ sh) ltac:(lia)). pose proof (Z.mod_pos_bound i (2 ^ sh) ltac:(lia)). lia. }
      assert (Hb0 : 0 <= base) by (rewrite Hbase; apply Z.mul_nonneg_nonneg; [apply Z.div_pos|]; lia).
      set (stop := Z.min end' (base + 2 ^ sh)).
      assert (Hstop : i < stop <= end') by (unfold stop; lia).
      (* the slot's descriptor, or the stand-in [virt] *)
      assert (Hd : exists d, (if t >=? 0 then
          (let! t'3 := Isolation.entryIndex i lvl in
           let! t'4 := Isolation.Engine_slot root t t'3 in
           let! t'5 := deref t'4 in ret t'5) else ret virt) e tr = Ok d e tr /\
          ((t < 0 /\ d = virt) \/ (0 <= t /\ exists idx, 0 <= idx < (if lvl =? 1 then 1024 else 512) /\ d = ent (tables e) t idx))).
      { destruct (Z.geb_spec t 0) as [Ht0|Ht0].
        - specialize (Ht ltac:(lia)). pose proof (tree_ok_range _ _ _ _ _ Ht) as (_ & Htl).
          pose proof (entryIndex_ok e tr i lvl ltac:(lia)) as (idx & Hidx & Hib).
          assert (Hkl : t + idx / 512 < len (tables e)).
          { eapply Z.le_lt_trans; [|exact Htl]. apply Z.add_le_mono_l, Z.div_le_mono; unfold lvl in *; lia. }
          pose proof (slot_ok e tr t idx Hok ltac:(lia) ltac:(destruct (lvl =? 1); lia) Hkl) as (p & Hp & Gp).
          eexists. unfold bind. rewrite Hidx, Hp, (deref_good _ _ _ _ Gp). split; [reflexivity|].
          right. split; [lia|]. eauto.
        - eexists. split; [reflexivity|]. left. split; [lia|reflexivity]. }
      destruct Hd as (d & Hd & Hdk).
      pose proof (wholeLeaf_ok e tr base i stop lvl u) as (wl & Hwl).
      (* the count below the entry *)
      assert (Hnb : exists nb, Isolation.Engine_needBelow fuel root d lvl i stop u e tr = Ok nb e tr).
      { destruct fuel as [|fuel]; [lia|]. cbn [Isolation.Engine_needBelow].
        assert (Hl1 : wraps 64 (lvl + 1) = 3 - Z.of_nat k) by (rewrite wraps_small; unfold lvl; lia).
        unfold Isolation.isTable, Isolation.isValid, bind at 1, ret at 1. cbv beta iota.
        destruct ((lvl <? Isolation.lastLevel) && (Z.land d 3 =? 3)) eqn:Htab.
        - apply andb_true_iff in Htab as [_ H3]. apply Z.eqb_eq in H3.
          destruct Hdk as [(Htn & ->) | (Ht0 & idx & Hib & ->)].
          { pose proof (Hv Htn) as [-> | ->]; discriminate. }
          specialize (Ht Ht0). cbn [tree_ok] in Ht. destruct Ht as (_ & _ & Hch).
          pose proof (Hch idx Hib H3) as (Hle & Hclt & Hct).
          unfold bind at 1. rewrite pfield_pool_root. cbv beta iota.
          unfold Isolation.descOA, bind at 1, ret at 1. cbv beta iota.
          unfold bind at 1. rewrite (index_ok e tr _ Hok Hle Hclt). cbv beta iota.
          rewrite Hl1.
          pose proof (IH fuel e tr (child (pool_base e) (ent (tables e) t idx)) 0 i stop u ltac:(lia) ltac:(lia) Hok
            ltac:(intros; lia) ltac:(intros _; replace (3 - Z.of_nat k =? 1) with false by (symmetry; apply Z.eqb_neq; lia); exact Hct)
            ltac:(lia) ltac:(lia)) as (n1 & Hn1).
          unfold bind. rewrite Hn1. unfold ret. eauto.
        - unfold bind at 1. cbv beta iota delta [ret].
          destruct (negb (Z.land d Isolation.descValid =? 0)); cbv beta iota delta [negb].
          + rewrite Hl1.
            pose proof (IH fuel e tr (-1) Isolation.descValid i stop u ltac:(lia) ltac:(lia) Hok
              ltac:(intros; right; reflexivity) ltac:(intros; lia) ltac:(lia) ltac:(lia)) as (n1 & Hn1).
            unfold bind. rewrite Hn1. eauto.
          + destruct (Isolation.s2update_unmap u); cbv beta iota; [eauto|].
            rewrite Hl1.
            pose proof (IH fuel e tr (-1) 0 i stop u ltac:(lia) ltac:(lia) Hok
              ltac:(intros; left; reflexivity) ltac:(intros; lia) ltac:(lia) ltac:(lia)) as (n1 & Hn1).
            unfold bind. rewrite Hn1. eauto. }
      destruct Hnb as (nb & Hnb).
      unfold bind at 1. rewrite Hsz. cbv beta iota. rewrite Hmask. fold base.
      unfold bind at 1. rewrite Hsz. cbv beta iota.
      rewrite (wrapu_small (base + 2 ^ sh)) by lia. fold stop.
      unfold bind at 1. rewrite Hd. cbv beta iota.
      unfold bind at 1. rewrite Hwl. cbv beta iota.
      destruct wl; cbn [negb].
      * unfold ret. eexists _, _, _. split; [reflexivity|]. eexists. split; [reflexivity|].
        cbn [fst]. split; [repeat split; lia|]. apply Z2Nat.inj_lt; lia.
      * unfold bind. rewrite Hnb. unfold ret. cbv beta iota.
        eexists _, _, _. split; [reflexivity|]. eexists. split; [reflexivity|].
        cbn [fst]. split; [repeat split; lia|]. apply Z2Nat.inj_lt; lia.
    + cbn [fst]. repeat split; lia.
    + cbn [fst]. rewrite max_fuel_nat. unfold max_fuel; lia.
    + unfold bind at 1. rewrite Hl. destruct Hq as (-> & -> & [i n] & ->). unfold ret. eexists. reflexivity.
Qed.

Lemma shl12 : forall n, 0 <= n -> n * 4096 < 2 ^ 64 -> shl 64 false n Isolation.PageShift = n * 4096.
Proof.
  intros n Hn Hs. unfold Isolation.PageShift. rewrite shl_small by lia.
  rewrite Z.shiftl_mul_pow2 by lia. apply wrapu_small. change (2 ^ 12) with 4096. lia.
Qed.

(** The reservations of MEM_DONATE, MEM_SHARE, MEM_UNSHARE, MEM_RECLAIM
    and VM_DESTROY ([mapNeed], [unmapNeed]) have no failure outcome on a
    stage-2 that is [s2_ok], for a range inside the IPA space. *)
Theorem mapNeed_ok : forall e tr s s2 ipa pa n, tables_ok e -> s2_ok e s2 -> good s e s2 ->
  0 <= ipa -> 0 <= n -> ipa + n * 4096 <= 2 ^ 40 ->
  exists k, Isolation.Engine_mapNeed root s ipa pa n e tr = Ok k e tr.
Proof.
  intros e tr s s2 ipa pa n Hok Hs2 Hg Hipa Hn Hr.
  unfold Isolation.Engine_mapNeed, bind at 1. rewrite (deref_good _ _ _ _ Hg). cbv beta iota zeta.
  unfold bind at 1. rewrite (deref_good _ _ _ _ Hg). cbv beta iota.
  rewrite shl12, wrapu_small by lia.
  replace Isolation.S2StartLevel with (3 - Z.of_nat 2) by reflexivity.
  pose proof (need_ok 2 rec_fuel e tr (Isolation.stage2_root s2) 0 ipa (ipa + n * 4096)
    (Isolation.mk_s2update (Isolation.stage2_vmid s2) (wrapu 64 (pa - ipa)) Isolation.zero_Attr false)
    ltac:(lia) ltac:(cbv; lia) Hok ltac:(intros; left; reflexivity)
    ltac:(intros H0; destruct Hs2 as [Hneg|Htree]; [lia|exact Htree]) Hipa ltac:(lia)) as (k & Hk).
  unfold bind. rewrite Hk. unfold ret. eauto.
Qed.

Theorem unmapNeed_ok : forall e tr s s2 ipa n, tables_ok e -> s2_ok e s2 -> good s e s2 ->
  0 <= ipa -> 0 <= n -> ipa + n * 4096 <= 2 ^ 40 ->
  exists k, Isolation.Engine_unmapNeed root s ipa n e tr = Ok k e tr.
Proof.
  intros e tr s s2 ipa n Hok Hs2 Hg Hipa Hn Hr.
  unfold Isolation.Engine_unmapNeed, bind at 1. rewrite (deref_good _ _ _ _ Hg). cbv beta iota zeta.
  unfold bind at 1. rewrite (deref_good _ _ _ _ Hg). cbv beta iota.
  rewrite shl12, wrapu_small by lia.
  replace Isolation.S2StartLevel with (3 - Z.of_nat 2) by reflexivity.
  pose proof (need_ok 2 rec_fuel e tr (Isolation.stage2_root s2) 0 ipa (ipa + n * 4096)
    (Isolation.mk_s2update (Isolation.stage2_vmid s2) 0 Isolation.zero_Attr true)
    ltac:(lia) ltac:(cbv; lia) Hok ltac:(intros; left; reflexivity)
    ltac:(intros H0; destruct Hs2 as [Hneg|Htree]; [lia|exact Htree]) Hipa ltac:(lia)) as (k & Hk).
  unfold bind. rewrite Hk. unfold ret. eauto.
Qed.
