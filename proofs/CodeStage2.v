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
  destruct (pfield_good root Isolation.Engine_pool Isolation.set_Engine_pool e e tr (good_root e)) as (q1 & Hq1 & G1).
  destruct (pfield_good q1 Isolation.tablePool_Pool Isolation.set_tablePool_Pool e _ tr G1) as (q2 & Hq2 & G2).
  destruct (pfield_good q2 Isolation.Pool_Tables Isolation.set_Pool_Tables e _ tr G2) as (q3 & Hq3 & G3).
  destruct (pindex_good q3 e _ (t + i / 512) tr G3 ltac:(lia)) as (q4 & tb & Hq4 & Hn4 & G4).
  assert (Htb : len tb = 512).
  { rewrite Forall_forall in Hall. apply Hall. eapply nth_error_In. exact Hn4. }
  pose proof (Z.mod_pos_bound i 512 ltac:(lia)) as Hm.
  destruct (pindex_good q4 e tb (i mod 512) tr G4 ltac:(lia)) as (q5 & d & Hq5 & Hn5 & G5).
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
    destruct (entryIndex_ok e tr ipa lvl Hlvl) as (k & Hk & Hkb).
    destruct (tree_ok_range _ _ _ _ _ Ht) as (Ht0 & Htl).
    assert (Hkl : t + k / 512 < len T) by
      (apply Z.le_lt_trans with (t + ((if lvl =? 1 then 1024 else 512) - 1) / 512); [|exact Htl];
       apply Z.add_le_mono_l, Z.div_le_mono; lia).
    destruct (slot_ok e tr t k Hok Ht0 ltac:(destruct (lvl =? 1); lia) Hkl) as (p & Hp & Gp). fold T in Gp.
    unfold bind at 1; rewrite Hk; cbv beta iota; unfold bind at 1; rewrite Hp; cbv beta iota;
      unfold bind at 1; rewrite (deref_good _ _ _ _ Gp); cbv beta iota.
    all: unfold Isolation.isValid, Isolation.isTable, bind at 1, ret at 1; cbv beta iota.
    all: destruct (negb (Z.land (ent T t k) Isolation.descValid =? 0)); cbn [negb];
      [|unfold ret; eexists _, _, _; split; [reflexivity|]; split; [reflexivity|split; [reflexivity|eauto]]].
    all: unfold bind at 1, ret at 1; cbv beta iota.
    all: destruct ((lvl <? Isolation.lastLevel) && (Z.land (ent T t k) 3 =? 3)) eqn:Htab; cbn [negb].
    2: (destruct (leafAttr_ok e tr (ent T t k)) as (a & Ha);
      unfold Isolation.levelSize, Isolation.levelShift, Isolation.descOA, bind, ret; cbv beta iota; rewrite Ha;
      eexists _, _, _; split; [reflexivity|]; split; [reflexivity|split; [reflexivity|eauto]]).
    all: apply andb_true_iff in Htab as [Hlt H3]; unfold Isolation.lastLevel in Hlt; apply Z.ltb_lt in Hlt; apply Z.eqb_eq in H3.
    all: replace (Z.to_nat (3 - lvl)) with (S (Z.to_nat (3 - (lvl + 1)))) in Ht by lia.
    all: destruct Ht as (_ & _ & Hch). destruct (Hch k ltac:(destruct (lvl =? 1); lia) H3) as (Hle & Hclt & Hct).
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
