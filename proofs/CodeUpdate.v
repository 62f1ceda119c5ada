(** * The stage-2 update of the translated code: no failure outcome

    Lemmas about proofs/code/Isolation.v, the translation of
    isolation/stage2.go. Every memory call that changes a stage-2 ends in
    [update] (through [mapRange] or [unmapRange]): it walks the range one
    entry at a time, replaces whole entries by a leaf ([replaceLeaf], which
    first breaks a live entry with [clearEntry]) and goes down a level for
    the others ([descend]). Its failure outcomes are a descriptor pointing
    outside the pool, a table released twice, the pool exhausted, an index
    out of range and running out of depth fuel.

    Proved here:
    - a slot of the pool is a place that reads and writes one entry of one
      table ([slot_lens]), and [entryIndex] is the entry's index;
    - [replaceLeaf] on a slot holding a non-table entry never fails: it
      breaks a live entry (writes it invalid and records InvalidateIPA for
      its address) and then writes the leaf for the update, or leaves it
      invalid for an unmap ([replaceLeaf_leaf_ok]);
    - [tableEmpty] of a table of the pool never fails and says whether its
      512 entries are all invalid ([tableEmpty_ok]); [splitBlock] of a
      table of the pool never fails and fills it with the 512 leaves the
      block mapped ([splitBlock_ok]); [dropTable] of a table in use never
      fails: it writes the slot invalid, records InvalidateIPA and releases
      the table ([dropTable_ok]);
    - the pool's [nfree] counts the free tables ([count_ok], CodePool, a
      count of the bitmap's bits over the pool's tables): [take] of a free
      table keeps it so, removing one ([take_count], as CodePool's
      [release_count] adds one); a positive count means some table is
      free (CodePool's [count_some_free]), and then [mustAlloc] takes one,
      zeroed, with only its bit cleared ([mustAlloc_spec]);
    - at the last level (3), [update] of a page-aligned range inside the
      2 MiB span of a table of the pool, for an update whose output offset
      is page aligned, never fails, takes no table, changes only the
      entries of that table in the range (each becomes the page leaf of
      the update, or invalid for an unmap) and records one InvalidateIPA,
      in address order, for every entry of the range that was valid
      ([update_last_ok]);
    - one entry of a level-2 table, the steps of [update] at level 2 that
      reach level 3: [clearEntry] of an entry holding a level-3 table in
      use unmaps the table's span and releases it
      ([clearEntry_table_last]), and [replaceLeaf] of such an entry does
      so and then writes the block leaf of a map ([replaceLeaf_table_last]); [descend] into such an entry updates the
      part of the span and, for an unmap that leaves the table empty,
      unhooks and releases it ([descend_table_last]); [descend] into an
      invalid entry for a map takes a free table, hooks it and updates
      it ([descend_new_last]); [descend] into a block entry takes a free
      table, splits the block into it, breaks the entry, hooks the table,
      updates it and, for an unmap that leaves it empty, releases it again
      ([descend_split_last]);
    - so [update] at level 2 of a page-aligned range inside one 2 MiB
      entry of a level-2 table in use never fails, whatever the entry
      holds (a level-3 table of the pool in use, a block, or nothing),
      given a free table where the update takes one
      ([update_l2_entry_no_failure]).

    Depth fuel: the proofs keep the depth fuel of every inner call of
    [update] a variable, never a successor, so that the kernel never
    unfolds [update]'s loop (whose fuel is 2^64) when it checks them. *)
From Coq Require Import ZArith Lia List Bool String Znumtheory.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodePlace CodeTrack CodeLens CodeLoop CodeLedger CodeVCPU CodeVMCreate
  CodeStage2 CodeShadow CodePool CodeFree.
Import ListNotations.
Open Scope Z_scope.

(** ** Entries of the pool's tables *)

(** Entry [j] of table [x] of [T]. *)
Definition tent (T : list Isolation.Table) (x j : Z) : Z :=
  nth (Z.to_nat j) (nth (Z.to_nat x) T Isolation.zero_Table) 0.

(** [T] with entry [j] of table [x] replaced by [v]. *)
Definition put_ent (T : list Isolation.Table) (x j v : Z) : list Isolation.Table :=
  replace_nth (Z.to_nat x) (replace_nth (Z.to_nat j) v (nth (Z.to_nat x) T Isolation.zero_Table)) T.

(** The engine [e] with the tables [T]. *)
Definition set_tables (e : Isolation.Engine) (T : list Isolation.Table) : Isolation.Engine :=
  Isolation.set_Engine_pool (Isolation.set_tablePool_Pool
    (Isolation.set_Pool_Tables T (Isolation.tablePool_Pool (Isolation.Engine_pool e))) (Isolation.Engine_pool e)) e.

(** The tables are whole: 512 entries each. *)
Definition whole (T : list Isolation.Table) : Prop := Forall (fun tb => len tb = 512) T.

(** The state of an outcome [Ok], from an equation between two: a lemma,
    as [injection] of the equation itself takes seconds when the states
    are large terms. *)
Lemma ok_state : forall {S A} (a a' : A) (s s' : S) t t', Ok a s t = Ok a' s' t' -> s = s'.
Proof. intros S A a a' s s' t t' H. injection H as _ E _. exact E. Qed.

Lemma tables_set_tables : forall e T, tables (set_tables e T) = T.
Proof. intros [? ? [[] ? ? ?] ? ? ? ?] T. reflexivity. Qed.

Lemma base_set_tables : forall e T, pool_base (set_tables e T) = pool_base e.
Proof. intros [? ? [[] ? ? ?] ? ? ? ?] T. reflexivity. Qed.

Lemma plat_set_tables : forall e T, Isolation.Engine_plat (set_tables e T) = Isolation.Engine_plat e.
Proof. intros [? ? [[] ? ? ?] ? ? ? ?] T. reflexivity. Qed.

Lemma set_tables_twice : forall e T1 T2, set_tables (set_tables e T1) T2 = set_tables e T2.
Proof. intros [? ? [[] ? ? ?] ? ? ? ?] T1 T2. reflexivity. Qed.

Lemma set_tables_same : forall e, set_tables e (tables e) = e.
Proof. intros [? ? [[] ? ? ?] ? ? ? ?]. reflexivity. Qed.

(** Only the tables change: the bitmap, the count of free tables and the
    rest of the engine stay. *)
Lemma free_set_tables : forall e T,
  Isolation.tablePool_free (Isolation.Engine_pool (set_tables e T)) = Isolation.tablePool_free (Isolation.Engine_pool e) /\
  Isolation.tablePool_nfree (Isolation.Engine_pool (set_tables e T)) = Isolation.tablePool_nfree (Isolation.Engine_pool e).
Proof. intros [? ? [[] ? ? ?] ? ? ? ?] T. split; reflexivity. Qed.

Lemma nth_whole : forall T x, whole T -> 0 <= x < len T -> len (nth (Z.to_nat x) T Isolation.zero_Table) = 512.
Proof.
  intros T x H Hx. unfold whole in H. rewrite Forall_forall in H. apply H. apply nth_In. unfold len in Hx. lia.
Qed.

Lemma len_put_ent : forall T x j v, len (put_ent T x j v) = len T.
Proof. intros. unfold put_ent. apply len_replace. Qed.

Lemma whole_put_ent : forall T x j v, whole T -> 0 <= x < len T -> whole (put_ent T x j v).
Proof.
  intros T x j v H Hx. unfold put_ent, whole. apply Forall_replace; [exact H|].
  rewrite len_replace. apply nth_whole; assumption.
Qed.

Lemma tent_put_ent : forall T x j v x' j', whole T -> 0 <= x < len T -> 0 <= j < 512 -> 0 <= x' -> 0 <= j' ->
  tent (put_ent T x j v) x' j' = if (x' =? x) && (j' =? j) then v else tent T x' j'.
Proof.
  intros T x j v x' j' H Hx Hj Hx' Hj'. unfold tent, put_ent.
  pose proof (nth_whole T x H Hx) as Hl.
  destruct (Z.eqb_spec x' x) as [->|Hne]; cbn [andb].
  - rewrite nth_replace by (unfold len in Hx; lia).
    destruct (Z.eqb_spec j' j) as [->|Hne'].
    + apply nth_replace. unfold len in Hl. lia.
    + apply nth_replace_other. lia.
  - rewrite nth_replace_other by lia. reflexivity.
Qed.

Lemma put_ent_same : forall T x j, 0 <= x < len T -> 0 <= j < len (nth (Z.to_nat x) T Isolation.zero_Table) ->
  put_ent T x j (tent T x j) = T.
Proof.
  intros T x j Hx Hj. unfold put_ent, tent.
  destruct (nth_error (nth (Z.to_nat x) T Isolation.zero_Table) (Z.to_nat j)) as [a|] eqn:Ha.
  2:{ apply nth_error_None in Ha. unfold len in Hj. lia. }
  rewrite (nth_error_nth _ _ _ Ha). rewrite (replace_nth_same _ _ _ Ha).
  apply replace_nth_same. apply nth_error_nth'. unfold len in Hx. lia.
Qed.

Lemma put_ent_twice : forall T x j a b, put_ent (put_ent T x j a) x j b = put_ent T x j b.
Proof.
  intros T x j a b. unfold put_ent.
  destruct (Nat.lt_ge_cases (Z.to_nat x) (List.length T)) as [Hx|Hx].
  - rewrite nth_replace by exact Hx. rewrite replace_nth_twice, replace_nth_twice. reflexivity.
  - assert (E : forall (c : Isolation.Table), replace_nth (Z.to_nat x) c T = T).
    { intros c. clear - Hx. revert T Hx. induction (Z.to_nat x) as [|n IH]; intros [|y T] H; cbn in *; auto; try lia.
      f_equal. apply IH. lia. }
    rewrite !E. reflexivity.
Qed.

Lemma ent_tent : forall T t k, 0 <= k < 512 -> ent T t k = tent T t k.
Proof.
  intros T t k Hk. unfold ent, tent. rewrite Z.mod_small, Z.div_small by lia. rewrite Z.add_0_r. reflexivity.
Qed.

(** ** Slots *)

(** The slot of entry [i] of the table at [t] (a root's entries run on into
    the next table) reads and writes that entry in every memory whose
    tables are whole and reach that far. *)
Definition slot_valid (x : Z) (s : Isolation.Engine) : Prop := x < len (tables s) /\ whole (tables s).

Lemma slot_lens : forall t i, 0 <= t -> 0 <= i < 1024 -> t + i / 512 < 2 ^ 62 ->
  exists p, (forall s tr, slot_valid (t + i / 512) s -> Isolation.Engine_slot root t i s tr = Ok p s tr) /\
    lens p (slot_valid (t + i / 512)) (fun s => tent (tables s) (t + i / 512) (i mod 512))
      (fun v s => set_tables s (put_ent (tables s) (t + i / 512) (i mod 512) v)).
Proof.
  intros t i Ht Hi Hs.
  assert (Hq : 0 <= i / 512 < 2) by (split; [apply Z.div_pos|apply Z.div_lt_upper_bound]; lia).
  pose proof (Z.mod_pos_bound i 512 ltac:(lia)) as Hm.
  pose proof (pfield_lens root _ _ _ Isolation.Engine_pool Isolation.set_Engine_pool lens_root ltac:(field_laws)) as (q1 & H1 & L1).
  pose proof (pfield_lens q1 _ _ _ Isolation.tablePool_Pool Isolation.set_tablePool_Pool L1 ltac:(field_laws)) as (q2 & H2 & L2).
  pose proof (pfield_lens q2 _ _ _ Isolation.Pool_Tables Isolation.set_Pool_Tables L2 ltac:(field_laws)) as (q3 & H3 & L3).
  pose proof (pindex_lens q3 _ _ _ (t + i / 512) Isolation.zero_Table L3) as (q4 & H4 & L4).
  pose proof (pindex_lens q4 _ _ _ (i mod 512) 0 L4) as (q5 & H5 & L5).
  cbv beta in L5.
  exists q5. split.
  - intros s tr [Hx Hw]. unfold Isolation.Engine_slot.
    step_by (H1 s tr). step_by (H2 s tr). step_by (H3 s tr). step_by (divs512 s tr i).
    rewrite Z.quot_div_nonneg by lia. rewrite (wraps_small (i / 512)), (wraps_small (t + i / 512)) by lia.
    step_by (H4 s tr I ltac:(unfold tables in Hx; lia)). step_by (mods512 s tr i).
    rewrite Z.rem_mod_nonneg by lia.
    step_by (H5 s tr ltac:(split; [exact I|unfold tables in Hx; lia])
      ltac:(pose proof (nth_whole (tables s) (t + i / 512) Hw ltac:(lia)) as E; unfold tables in E; lia)).
    reflexivity.
  - eapply lens_weaken; [exact L5| |].
    + intros s [Hx Hw]. split; [split; [exact I|unfold tables in Hx; lia]|].
      pose proof (nth_whole (tables s) (t + i / 512) Hw ltac:(lia)) as E; unfold tables in E; lia.
    + intros s v [Hx Hw]. change (set_tables s (put_ent (tables s) (t + i / 512) (i mod 512) v)) with
        (set_tables s (put_ent (tables s) (t + i / 512) (i mod 512) v)).
      unfold slot_valid. rewrite tables_set_tables. split; [rewrite len_put_ent; exact Hx|].
      apply whole_put_ent; [exact Hw|lia].
Qed.

(** The index [entryIndex] computes: the entry of the level's table that
    translates [ipa]. *)
Lemma entryIndex_val : forall {S} (s : S) tr ipa lvl, 1 <= lvl <= 3 -> 0 <= ipa < 2 ^ 64 ->
  Isolation.entryIndex ipa lvl s tr = Ok ((ipa / 2 ^ (12 + 9 * (3 - lvl))) mod nentries lvl) s tr.
Proof.
  intros S s tr ipa lvl Hl Hipa.
  assert (Hd : forall k, 12 <= k -> 0 <= ipa / 2 ^ k < 2 ^ 52).
  { intros k Hk. split; [apply Z.div_pos; lia|]. apply Z.div_lt_upper_bound; [lia|].
    apply Z.lt_le_trans with (2 ^ 64); [lia|]. replace (2 ^ 64) with (2 ^ 12 * 2 ^ 52) by reflexivity.
    apply Z.mul_le_mono_nonneg_r; [lia|]. apply Z.pow_le_mono_r; lia. }
  assert (Hc : lvl = 1 \/ lvl = 2 \/ lvl = 3) by lia.
  unfold Isolation.entryIndex, Isolation.levelShift, Isolation.entries, nentries, bind, ret.
  destruct Hc as [ -> | [ -> | -> ] ]; cbv beta iota;
    (match goal with |- context [shr ipa ?k] => let v := eval vm_compute in k in change k with v end);
    (match goal with |- context [if ?c then _ else _] => let v := eval vm_compute in c in change c with v end);
    cbv beta iota; cbn [Z.sub Z.add Z.mul Z.pos_sub Pos.add Pos.mul];
    rewrite shr_small by lia; rewrite Z.shiftr_div_pow2 by lia;
    (match goal with |- context [wraps 64 (ipa / 2 ^ ?k)] =>
       rewrite (wraps_small (ipa / 2 ^ k)) by (pose proof (Hd k ltac:(lia)); lia) end);
    [change (wraps 64 (Isolation.rootEntries - 1)) with (Z.ones 10)|change (wraps 64 (Isolation.entriesPerTable - 1)) with (Z.ones 9)..];
    rewrite Z.land_ones by lia; reflexivity.
Qed.

(** ** Descriptors *)

Definition valid_d (d : Z) : bool := negb (Z.land d Isolation.descValid =? 0).

(** The leaf descriptor [leafDesc] builds, as a value. *)
Definition leaf_val (pa lvl : Z) (a : Isolation.Attr) : Z :=
  match Isolation.leafDesc (S:=unit) pa lvl a tt [] with Ok d _ _ => d | Fail _ => 0 end.

Lemma leafDesc_ok : forall {S} (s : S) tr pa lvl a, Isolation.leafDesc pa lvl a s tr = Ok (leaf_val pa lvl a) s tr.
Proof.
  intros S s tr pa lvl a. unfold leaf_val, Isolation.leafDesc, bind, ret.
  repeat match goal with |- context [if ?c then _ else _] => destruct c end; reflexivity.
Qed.

(** What [replaceLeaf] leaves in an entry holding [old] that starts at
    [base]: the leaf of the update, or for an unmap an invalid entry (0 if
    it was valid, else unchanged). *)
Definition new_ent (u : Isolation.s2update) (lvl base old : Z) : Z :=
  if Isolation.s2update_unmap u then (if valid_d old then 0 else old)
  else leaf_val (wrapu 64 (base + Isolation.s2update_delta u)) lvl (Isolation.s2update_attr u).

Definition inval (vmid a : Z) : event := mkEvent "InvalidateIPA" [vmid; a].

(** ** replaceLeaf on a non-table entry *)

(** [clearEntry] of a live non-table entry writes it invalid (0) and
    records InvalidateIPA for its address. *)
Lemma clearEntry_leaf_ok : forall d p valid get set s tr lvl base vmid,
  lens p valid get set -> valid s -> Isolation.Engine_plat s <> None ->
  (forall s b, valid s -> Isolation.Engine_plat (set b s) = Isolation.Engine_plat s) ->
  (lvl <? Isolation.lastLevel) && (Z.land (get s) 3 =? 3) = false ->
  Isolation.Engine_clearEntry (S d) root p lvl base vmid s tr = Ok tt (set 0 s) (inval vmid base :: tr).
Proof.
  intros d p valid get set s tr lvl base vmid L Hv Hpl Hps Hnt.
  cbn [Isolation.Engine_clearEntry].
  step_by (deref_lens _ _ _ _ s tr L Hv). unfold Isolation.isTable. step. rewrite Hnt.
  step_by (store_lens _ _ _ _ s 0 tr L Hv). step_by (deref_root (set 0 s) tr).
  rewrite (Hps s 0 Hv). destruct (Isolation.Engine_plat s) as [o|]; [|contradiction].
  unfold call_iface. cbn [is_set]. step. reflexivity.
Qed.

(** [replaceLeaf] on a slot [p] (a place that reads [get] and writes [set],
    as [slot_lens] gives) holding a non-table entry never fails: a live
    entry is first written invalid and its InvalidateIPA recorded, then the
    slot holds [new_ent]. *)
Lemma replaceLeaf_leaf_ok : forall d p valid get set s tr lvl base u,
  lens p valid get set -> valid s -> Isolation.Engine_plat s <> None ->
  (forall s b, valid s -> Isolation.Engine_plat (set b s) = Isolation.Engine_plat s) ->
  (forall s a b, valid s -> set b (set a s) = set b s) ->
  (forall s, valid s -> set (get s) s = s) ->
  (lvl <? Isolation.lastLevel) && (Z.land (get s) 3 =? 3) = false ->
  Isolation.Engine_replaceLeaf (S (S d)) root p lvl base u s tr =
  Ok tt (set (new_ent u lvl base (get s)) s)
    (if valid_d (get s) then inval (Isolation.s2update_vmid u) base :: tr else tr).
Proof.
  intros d p valid get set s tr lvl base u L Hv Hpl Hps Htw Hsg Hnt.
  cbn [Isolation.Engine_replaceLeaf].
  step_by (deref_lens _ _ _ _ s tr L Hv). unfold Isolation.isValid. step.
  unfold new_ent. fold (valid_d (get s)).
  destruct (valid_d (get s)) eqn:Hval.
  - assert (Hc : (let! _ := Isolation.Engine_clearEntry (S d) root p lvl base (Isolation.s2update_vmid u) in ret tt) s tr
                 = Ok tt (set 0 s) (inval (Isolation.s2update_vmid u) base :: tr)).
    { step_by (clearEntry_leaf_ok d p valid get set s tr lvl base (Isolation.s2update_vmid u) L Hv Hpl Hps Hnt). reflexivity. }
    step_by Hc.
    destruct (Isolation.s2update_unmap u); cbn [negb].
    + reflexivity.
    + step_by (leafDesc_ok (set 0 s) (inval (Isolation.s2update_vmid u) base :: tr)
        (wrapu 64 (base + Isolation.s2update_delta u)) lvl (Isolation.s2update_attr u)).
      step_by (store_lens _ _ _ _ (set 0 s) (leaf_val (wrapu 64 (base + Isolation.s2update_delta u)) lvl
        (Isolation.s2update_attr u)) (inval (Isolation.s2update_vmid u) base :: tr) L (lens_valid _ _ _ _ s 0 L Hv)).
      rewrite Htw by exact Hv. reflexivity.
  - step. destruct (Isolation.s2update_unmap u); cbn [negb].
    + rewrite Hsg by exact Hv. reflexivity.
    + step_by (leafDesc_ok s tr (wrapu 64 (base + Isolation.s2update_delta u)) lvl (Isolation.s2update_attr u)).
      step_by (store_lens _ _ _ _ s (leaf_val (wrapu 64 (base + Isolation.s2update_delta u)) lvl
        (Isolation.s2update_attr u)) tr L Hv). reflexivity.
Qed.
(** The laws [replaceLeaf_leaf_ok] needs of a slot. *)
Lemma slot_laws : forall x j, 0 <= x -> 0 <= j < 512 ->
  (forall s b, slot_valid x s -> Isolation.Engine_plat (set_tables s (put_ent (tables s) x j b)) = Isolation.Engine_plat s) /\
  (forall s a b, slot_valid x s ->
     set_tables (set_tables s (put_ent (tables s) x j a)) (put_ent (tables (set_tables s (put_ent (tables s) x j a))) x j b)
     = set_tables s (put_ent (tables s) x j b)) /\
  (forall s, slot_valid x s -> set_tables s (put_ent (tables s) x j (tent (tables s) x j)) = s).
Proof.
  intros x j Hx Hj. split; [|split].
  - intros s b _. apply plat_set_tables.
  - intros s a b _. rewrite set_tables_twice, tables_set_tables, put_ent_twice. reflexivity.
  - intros s [Hl Hw]. rewrite put_ent_same; [apply set_tables_same|lia|].
    rewrite (nth_whole (tables s) x Hw ltac:(lia)). lia.
Qed.

(** ** update at the last level *)

Lemma slot_lens_table : forall t j, 0 <= t < 2 ^ 62 -> 0 <= j < 512 ->
  exists p, (forall s tr, slot_valid t s -> Isolation.Engine_slot root t j s tr = Ok p s tr) /\
    lens p (slot_valid t) (fun s => tent (tables s) t j) (fun v s => set_tables s (put_ent (tables s) t j v)).
Proof.
  intros t j Ht Hj. pose proof (slot_lens t j ltac:(lia) ltac:(lia) ltac:(rewrite Z.div_small by lia; lia)) as (p & Hp & Lp).
  rewrite Z.div_small, Z.add_0_r in Hp by lia. rewrite Z.div_small, Z.add_0_r, Z.mod_small in Lp by lia.
  exists p. split; assumption.
Qed.

Lemma div4096 : forall a, a mod 4096 = 0 -> a = 4096 * (a / 4096).
Proof. intros a H. pose proof (Z.div_mod a 4096 ltac:(lia)). lia. Qed.

Lemma div_aligned : forall a b, a mod 4096 = 0 -> b mod 4096 = 0 -> (a - b) / 4096 = a / 4096 - b / 4096.
Proof.
  intros a b Ha Hb. rewrite (div4096 a Ha) at 1. rewrite (div4096 b Hb) at 1.
  replace (4096 * (a / 4096) - 4096 * (b / 4096)) with ((a / 4096 - b / 4096) * 4096) by ring.
  apply Z.div_mul. lia.
Qed.

(** The page [cur] of the 2 MiB span at [S0] is entry [j] of its level-3
    table. *)
Lemma page_index : forall S0 cur, S0 mod 2 ^ 21 = 0 -> cur mod 4096 = 0 -> S0 <= cur < S0 + 2 ^ 21 ->
  cur = S0 + 4096 * ((cur - S0) / 4096) /\ 0 <= (cur - S0) / 4096 < 512 /\ (cur / 2 ^ 12) mod 512 = (cur - S0) / 4096.
Proof.
  intros S0 cur HS Hc Hr.
  pose proof (Z.div_mod S0 (2 ^ 21) ltac:(lia)) as ES. rewrite HS, Z.add_0_r in ES.
  pose proof (div4096 cur Hc) as Ec.
  set (q := S0 / 2 ^ 21) in *. set (c := cur / 4096) in *.
  assert (Ej : (cur - S0) / 4096 = c - 512 * q).
  { replace (cur - S0) with ((c - 512 * q) * 4096) by lia. apply Z.div_mul. lia. }
  rewrite Ej. change (2 ^ 12) with 4096. fold c.
  split; [lia|]. split; [lia|].
  replace c with ((c - 512 * q) + q * 512) at 1 by ring. rewrite Z.mod_add by lia. apply Z.mod_small. lia.
Qed.

Lemma wholeLeaf_last : forall {S} (s : S) tr cur u, 0 <= cur -> cur mod 4096 = 0 -> cur + 4096 < 2 ^ 64 ->
  Isolation.s2update_delta u mod 4096 = 0 ->
  Isolation.wholeLeaf cur cur (cur + 4096) 3 u s tr = Ok true s tr.
Proof.
  intros S s tr cur u H0 Hc Hb Hd.
  unfold Isolation.wholeLeaf, Isolation.levelSize, Isolation.levelShift, Isolation.blockAllowed, bind, ret.
  cbv beta iota.
  match goal with |- context [shl 64 false 1 ?k] => let v := eval vm_compute in (shl 64 false 1 k) in change (shl 64 false 1 k) with v end.
  rewrite Z.eqb_refl. replace (wrapu 64 (cur + 4096 - cur)) with 4096 by (rewrite wrapu_small; lia).
  cbn [negb orb Z.eqb Pos.eqb].
  change (wrapu 64 (4096 - 1)) with 4095. rewrite land_4095 by (apply Z.mod_pos_bound; lia).
  unfold wrapu. rewrite <- Zmod_div_mod by (try lia; exists (2 ^ 52); reflexivity).
  rewrite Z.add_mod, Hc, Hd by lia. cbn.
  destruct (Isolation.s2update_unmap u); reflexivity.
Qed.

(** The InvalidateIPA events of the first [n] pages from [a0] whose
    entries in table [t] (of the 2 MiB span at [S0]) are valid in [T],
    newest first. *)
Fixpoint invs (T : list Isolation.Table) (t vmid S0 a0 : Z) (n : nat) : list event :=
  match n with
  | O => []
  | S n' => let a := a0 + 4096 * Z.of_nat n' in
      (if valid_d (tent T t ((a - S0) / 4096)) then [inval vmid a] else []) ++ invs T t vmid S0 a0 n'
  end.

(** After the pages [ipa, cur): the engine has other tables only, each
    entry of table [t] for a page in the range holds [new_ent], and the
    trace has the events [invs]. *)
Definition last_done (e : Isolation.Engine) (t S0 ipa : Z) (u : Isolation.s2update) (tr : list event)
    (cur : Z) (st : Isolation.Engine) (tr' : list event) : Prop :=
  exists T', st = set_tables e T' /\
    tr' = invs (tables e) t (Isolation.s2update_vmid u) S0 ipa (Z.to_nat ((cur - ipa) / 4096)) ++ tr /\
    len T' = len (tables e) /\ whole T' /\
    forall x j, 0 <= x -> 0 <= j < 512 -> tent T' x j =
      if (x =? t) && (ipa <=? S0 + 4096 * j) && (S0 + 4096 * j <? cur)
      then new_ent u 3 (S0 + 4096 * j) (tent (tables e) x j) else tent (tables e) x j.

Ltac bcases := repeat match goal with
  | |- context [?a =? ?b] => destruct (Z.eqb_spec a b)
  | |- context [?a <=? ?b] => destruct (Z.leb_spec a b)
  | |- context [?a <? ?b] => destruct (Z.ltb_spec a b)
  end; cbn [andb].

(** update at the last level never fails: for a table [t] of the pool, a
    page-aligned range [ipa, end') inside the 2 MiB span at [S0] it
    translates, and an update whose output offset is page aligned, it
    returns with no table taken or freed (only the tables change), the
    entries of [t] for the pages of the range replaced by [new_ent] and
    every other entry kept, and one InvalidateIPA per page whose entry
    was valid, in address order. *)
Theorem update_last_ok : forall fuel e tr t S0 ipa end' u,
  (3 <= fuel)%nat -> tables_ok e -> 0 <= t < len (tables e) -> Isolation.Engine_plat e <> None ->
  0 <= S0 -> S0 mod 2 ^ 21 = 0 -> S0 <= ipa <= end' -> end' <= S0 + 2 ^ 21 -> end' < 2 ^ 64 ->
  ipa mod 4096 = 0 -> end' mod 4096 = 0 -> Isolation.s2update_delta u mod 4096 = 0 ->
  exists st tr', Isolation.Engine_update fuel root t 3 ipa end' u e tr = Ok tt st tr' /\
    last_done e t S0 ipa u tr end' st tr'.
Proof.
  intros fuel e tr t S0 ipa end' u Hf Hok Ht Hpl HS0 HS Hr Hend Hend64 Hia Hea Hd.
  pose proof Hok as (Hwh & Hsmall & _). fold (whole (tables e)) in Hwh.
  destruct fuel as [|[|[|d]]]; try lia. cbn [Isolation.Engine_update].
  match goal with |- context [loop ?f ?c ?b ?p ?l0] =>
  destruct (loop_spec f c b p
    (fun cur st tr' => ipa <= cur <= end' /\ cur mod 4096 = 0 /\ last_done e t S0 ipa u tr cur st tr')
    (fun _ st tr' => last_done e t S0 ipa u tr end' st tr')
    (fun cur => Z.to_nat (end' - cur))) with (l := l0) (s := e) (tr := tr) as (j & s' & tr' & Hl & Hq) end.
  - intros cur st tr' (Hc & Hca & Hdone). exists (cur <? end'). split; [reflexivity|]. split.
    + intros H. apply Z.ltb_lt in H. lia.
    + intros H. apply Z.ltb_ge in H. replace end' with cur by lia. exact Hdone.
  - intros cur st tr' (Hc & Hca & T' & -> & -> & HTl & HTw & HTp) Hcond.
    injection Hcond as Hcond. apply Z.ltb_lt in Hcond.
    set (trc := invs (tables e) t (Isolation.s2update_vmid u) S0 ipa (Z.to_nat ((cur - ipa) / 4096)) ++ tr).
    assert (Hcur4 : cur + 4096 <= end').
    { pose proof (div4096 cur Hca). pose proof (div4096 end' Hea). lia. }
    pose proof (page_index S0 cur HS Hca ltac:(lia)) as (Ecur & Hj & Eidx).
    set (jj := (cur - S0) / 4096) in *.
    set (st := set_tables e T').
    pose proof (levelSize_ok st (trc) 3 ltac:(lia)) as [Hsz Hmask].
    change (2 ^ (12 + 9 * (3 - 3))) with 4096 in Hsz, Hmask. change (12 + 9 * (3 - 3)) with 12 in Hmask.
    step_by Hsz. rewrite Hmask, andnot_ones by lia.
    replace (cur / 2 ^ 12 * 2 ^ 12) with cur by (pose proof (div4096 cur Hca); change (2 ^ 12) with 4096; lia).
    step_by Hsz. rewrite (wrapu_small (cur + 4096)) by lia. replace (Z.min end' (cur + 4096)) with (cur + 4096) by lia.
    step_by (entryIndex_val st (trc) cur 3 ltac:(lia) ltac:(lia)).
    change (2 ^ (12 + 9 * (3 - 3))) with (2 ^ 12). change (nentries 3) with 512. rewrite Eidx.
    pose proof (slot_lens_table t jj ltac:(lia) Hj) as (p & Hp & Lp).
    assert (Hsv : slot_valid t st) by (unfold slot_valid, st; rewrite tables_set_tables; split; [lia|exact HTw]).
    step_by (Hp st trc Hsv).
    step_by (wholeLeaf_last st (trc) cur u ltac:(lia) Hca ltac:(lia) Hd).
    pose proof (slot_laws t jj ltac:(lia) Hj) as (L1 & L2 & L3).
    pose proof (replaceLeaf_leaf_ok d p _ _ _ st (trc) 3 cur u
      Lp Hsv ltac:(unfold st; rewrite plat_set_tables; exact Hpl) L1 L2 L3 eq_refl) as Hrl.
    cbv beta in Hrl. unfold st in Hrl. rewrite set_tables_twice, tables_set_tables in Hrl.
    assert (Hold : tent T' t jj = tent (tables e) t jj).
    { rewrite HTp by lia. rewrite Z.eqb_refl. replace (S0 + 4096 * jj <? cur) with false by (symmetry; apply Z.ltb_ge; lia).
      rewrite andb_false_r. reflexivity. }
    rewrite Hold in Hrl.
    assert (Hr' : (let! _ := Isolation.Engine_replaceLeaf (S (S d)) root p 3 cur u in ret tt) st
        (trc) = Ok tt
        (set_tables e (put_ent T' t jj (new_ent u 3 cur (tent (tables e) t jj))))
        (if valid_d (tent (tables e) t jj) then inval (Isolation.s2update_vmid u) cur :: trc
         else trc)).
    { step_by Hrl. reflexivity. }
    step_by Hr'.
    eexists _, _, _. split; [reflexivity|]. eexists. split; [reflexivity|].
    split; [|apply Z2Nat.inj_lt; lia].
    split; [lia|]. split; [rewrite Z.add_mod, Hca by lia; reflexivity|].
    exists (put_ent T' t jj (new_ent u 3 cur (tent (tables e) t jj))). split; [reflexivity|]. split.
    + unfold trc. rewrite (div_aligned (cur + 4096) ipa) by (try assumption; rewrite Z.add_mod, Hca by lia; reflexivity).
      rewrite (div_aligned cur ipa Hca Hia).
      replace ((cur + 4096) / 4096) with (cur / 4096 + 1) by
        (replace (cur + 4096) with (1 * 4096 + cur) by ring; rewrite Z.div_add_l by lia; ring).
      assert (Hci : ipa / 4096 <= cur / 4096) by (apply Z.div_le_mono; lia).
      replace (Z.to_nat (cur / 4096 + 1 - ipa / 4096)) with (S (Z.to_nat (cur / 4096 - ipa / 4096))) by lia.
      cbn [invs]. rewrite Z2Nat.id by lia.
      replace (ipa + 4096 * (cur / 4096 - ipa / 4096)) with cur
        by (pose proof (div4096 cur Hca); pose proof (div4096 ipa Hia); lia).
      fold jj. destruct (valid_d (tent (tables e) t jj)); reflexivity.
    + split; [rewrite len_put_ent; exact HTl|]. split; [apply whole_put_ent; [exact HTw|lia]|].
      intros x j' Hx Hj'. rewrite tent_put_ent by (try exact HTw; lia).
      rewrite HTp by assumption.
      bcases; try lia; try reflexivity.
      all: replace x with t by lia; replace j' with jj by lia; rewrite <- Ecur; reflexivity.
  - split; [lia|]. split; [exact Hia|]. exists (tables e). split; [symmetry; apply set_tables_same|].
    split; [rewrite Z.sub_diag; reflexivity|]. split; [reflexivity|]. split; [exact Hwh|].
    intros x j Hx Hj. bcases; try lia; reflexivity.
  - rewrite max_fuel_nat. unfold max_fuel. lia.
  - step_by Hl. destruct j as [cur|[]]. eexists _, _. split; [reflexivity|exact Hq].
Qed.

(** ** tableEmpty, dropTable, splitBlock *)

Lemma nth_error_table : forall T x, whole T -> 0 <= x < len T ->
  nth_error T (Z.to_nat x) = Some (nth (Z.to_nat x) T Isolation.zero_Table) /\ len (nth (Z.to_nat x) T Isolation.zero_Table) = 512.
Proof.
  intros T x H Hx. split; [apply nth_error_nth'; unfold len in Hx; lia|apply nth_whole; assumption].
Qed.

Lemma nth_error_ent : forall tb j, len tb = 512 -> 0 <= j < 512 -> nth_error tb (Z.to_nat j) = Some (nth (Z.to_nat j) tb 0).
Proof. intros tb j H Hj. apply nth_error_nth'. unfold len in H. lia. Qed.

(** tableEmpty of a table of the pool never fails, changes nothing, and
    says whether all 512 entries of the table are invalid. *)
Theorem tableEmpty_ok : forall s tr t, 0 <= t < len (tables s) -> whole (tables s) ->
  exists b, Isolation.Engine_tableEmpty root t s tr = Ok b s tr /\
    (b = true <-> forall j, 0 <= j < 512 -> valid_d (tent (tables s) t j) = false).
Proof.
  intros s tr t Ht Hw. pose proof (nth_error_table _ _ Hw Ht) as (Hn & Hl).
  set (tb := nth (Z.to_nat t) (tables s) Isolation.zero_Table) in *.
  unfold Isolation.Engine_tableEmpty. step_by (deref_root s tr).
  step_by (idx_nth (tables s) t tb s tr ltac:(lia) Hn).
  match goal with |- context [loop ?f ?c ?b ?p ?l0] =>
  destruct (loop_spec f c b p
    (fun i st tr' => st = s /\ tr' = tr /\ 0 <= i <= 512 /\ forall j, 0 <= j < i -> valid_d (tent (tables s) t j) = false)
    (fun r st tr' => st = s /\ tr' = tr /\ match r with
       | Fall _ => forall j, 0 <= j < 512 -> valid_d (tent (tables s) t j) = false
       | Jump bb => bb = false /\ exists j, 0 <= j < 512 /\ valid_d (tent (tables s) t j) = true end)
    (fun i => Z.to_nat (512 - i))) with (l := l0) (s := s) (tr := tr) as (r & s' & tr' & Hr & Hq) end.
  - intros i st tr' (-> & -> & Hi & Hb). exists (i <? 512). split; [reflexivity|]. split.
    + intros H. apply Z.ltb_lt in H. lia.
    + intros H. apply Z.ltb_ge in H. split; [reflexivity|]. split; [reflexivity|]. intros j Hj. apply Hb. lia.
  - intros i st tr' (-> & -> & Hi & Hb) Hc. injection Hc as Hc. apply Z.ltb_lt in Hc.
    step_by (idx_nth tb i _ s tr ltac:(lia) (nth_error_ent tb i Hl ltac:(lia))).
    unfold Isolation.isValid. step. fold (valid_d (nth (Z.to_nat i) tb 0)).
    destruct (valid_d (nth (Z.to_nat i) tb 0)) eqn:Hv.
    + eexists _, _, _. split; [reflexivity|]. split; [reflexivity|]. split; [reflexivity|]. split; [reflexivity|].
      exists i. split; [lia|exact Hv].
    + eexists _, _, _. split; [reflexivity|]. eexists. split; [reflexivity|]. split; [|apply Z2Nat.inj_lt; lia].
      split; [reflexivity|]. split; [reflexivity|]. split; [lia|].
      intros j Hj. destruct (Z.eq_dec j i) as [->|Hne]; [exact Hv|apply Hb; lia].
  - split; [reflexivity|]. split; [reflexivity|]. split; [lia|]. intros j Hj. lia.
  - cbn. lia.
  - step_by Hr. destruct Hq as (-> & -> & Hq). destruct r as [i|b].
    + eexists. split; [reflexivity|]. split; [intros _; exact Hq|reflexivity].
    + destruct Hq as (-> & j & Hj & Hv). eexists. split; [reflexivity|]. split; [discriminate|].
      intros H. rewrite (H j Hj) in Hv. discriminate.
Qed.

Lemma free_bit_set_tables : forall s T x, free_bit (Isolation.Engine_pool (set_tables s T)) x = free_bit (Isolation.Engine_pool s) x.
Proof. intros [? ? [[] ? ? ?] ? ? ? ?] T x. reflexivity. Qed.

Lemma pool_ok_set_tables : forall s T, len T = len (tables s) -> pool_ok (Isolation.Engine_pool s) -> pool_ok (Isolation.Engine_pool (set_tables s T)).
Proof. intros [? ? [[] ? ? ?] ? ? ? ?] T E H. unfold pool_ok, tables in *. cbn in *. rewrite E. exact H. Qed.

Lemma ntables_set_tables : forall s T, ntables (Isolation.Engine_pool (set_tables s T)) = len T.
Proof. intros [? ? [[] ? ? ?] ? ? ? ?] T. reflexivity. Qed.

(** dropTable of a table in use never fails: the slot is written invalid,
    InvalidateIPA is recorded for its address, and the table is released
    (its bit set, no other, one more free table). *)
Theorem dropTable_ok : forall p x j s tr child base vmid,
  lens p (slot_valid x) (fun s => tent (tables s) x j) (fun v s => set_tables s (put_ent (tables s) x j v)) ->
  slot_valid x s -> Isolation.Engine_plat s <> None -> pool_ok (Isolation.Engine_pool s) ->
  0 <= child < len (tables s) -> free_bit (Isolation.Engine_pool s) child = false ->
  exists q, Isolation.Engine_dropTable root p child base vmid s tr =
    Ok tt (Isolation.set_Engine_pool q (set_tables s (put_ent (tables s) x j 0))) (inval vmid base :: tr) /\
    Isolation.tablePool_Pool q = Isolation.tablePool_Pool (Isolation.Engine_pool (set_tables s (put_ent (tables s) x j 0))) /\
    same_shape (Isolation.Engine_pool s) q /\
    Isolation.tablePool_nfree q = wraps 64 (Isolation.tablePool_nfree (Isolation.Engine_pool s) + 1) /\
    free_bit q child = true /\
    (forall y, 0 <= y -> y <> child -> free_bit q y = free_bit (Isolation.Engine_pool s) y).
Proof.
  intros p x j s tr child base vmid L Hv Hpl Hok Hc Hfree.
  set (s0 := set_tables s (put_ent (tables s) x j 0)).
  unfold Isolation.Engine_dropTable. step_by (store_lens _ _ _ _ s 0 tr L Hv). fold s0.
  step_by (deref_root s0 tr). unfold s0 at 1. rewrite plat_set_tables.
  destruct (Isolation.Engine_plat s) as [o|]; [|contradiction]. unfold call_iface. cbn [is_set]. step.
  step_by (pfield_pool_root s0 (inval vmid base :: tr)). fold pool_place.
  assert (Hl0 : len (put_ent (tables s) x j 0) = len (tables s)) by apply len_put_ent.
  pose proof (release_ok pool_place s0 child (inval vmid base :: tr) pool_place_lens
    ltac:(unfold s0; apply pool_ok_set_tables; assumption)
    ltac:(unfold s0; rewrite ntables_set_tables; lia)
    ltac:(unfold s0; rewrite free_bit_set_tables; exact Hfree))
    as (q & Hrel & Hsh & HP & Hnf & Hb & Hout).
  step_by Hrel. exists q. split; [reflexivity|]. split; [exact HP|].
  unfold s0 in Hsh, Hnf, Hout. split.
  - destruct s as [? ? [[] ? ? ?] ? ? ? ?]. unfold same_shape in *. cbn in *. unfold tables in Hl0. cbn in Hl0. lia.
  - split; [rewrite Hnf; destruct s as [? ? [[] ? ? ?] ? ? ? ?]; reflexivity|]. split; [exact Hb|].
    intros y Hy Hne. rewrite (Hout y Hy Hne). apply free_bit_set_tables.
Qed.

(** The places of a table's entries, as [splitBlock] selects them. *)
Lemma tab_places : exists q1 q2 q3,
  (forall s tr, pfield root Isolation.Engine_pool Isolation.set_Engine_pool s tr = Ok q1 s tr) /\
  (forall s tr, pfield q1 Isolation.tablePool_Pool Isolation.set_tablePool_Pool s tr = Ok q2 s tr) /\
  (forall s tr, pfield q2 Isolation.Pool_Tables Isolation.set_Pool_Tables s tr = Ok q3 s tr) /\
  forall t j, 0 <= t -> 0 <= j < 512 -> exists q4 q5,
    (forall s tr, slot_valid t s -> pindex q3 t s tr = Ok q4 s tr) /\
    (forall s tr, slot_valid t s -> pindex q4 j s tr = Ok q5 s tr) /\
    lens q5 (slot_valid t) (fun s => tent (tables s) t j) (fun v s => set_tables s (put_ent (tables s) t j v)).
Proof.
  pose proof (pfield_lens root _ _ _ Isolation.Engine_pool Isolation.set_Engine_pool lens_root ltac:(field_laws)) as (q1 & H1 & L1).
  pose proof (pfield_lens q1 _ _ _ Isolation.tablePool_Pool Isolation.set_tablePool_Pool L1 ltac:(field_laws)) as (q2 & H2 & L2).
  pose proof (pfield_lens q2 _ _ _ Isolation.Pool_Tables Isolation.set_Pool_Tables L2 ltac:(field_laws)) as (q3 & H3 & L3).
  exists q1, q2, q3. split; [exact H1|]. split; [exact H2|]. split; [exact H3|].
  intros t j Ht Hj.
  pose proof (pindex_lens q3 _ _ _ t Isolation.zero_Table L3) as (q4 & H4 & L4).
  pose proof (pindex_lens q4 _ _ _ j 0 L4) as (q5 & H5 & L5).
  cbv beta in L5. exists q4, q5. split; [|split].
  - intros s tr [Hx Hw]. apply H4; [exact I|unfold tables in Hx; lia].
  - intros s tr [Hx Hw]. apply H5; [split; [exact I|unfold tables in Hx; lia]|].
    pose proof (nth_whole (tables s) t Hw ltac:(lia)) as E; unfold tables in E; lia.
  - eapply lens_weaken; [exact L5| |].
    + intros s [Hx Hw]. split; [split; [exact I|unfold tables in Hx; lia]|].
      pose proof (nth_whole (tables s) t Hw ltac:(lia)) as E; unfold tables in E; lia.
    + intros s v [Hx Hw]. change (slot_valid t (set_tables s (put_ent (tables s) t j v))).
      unfold slot_valid. rewrite tables_set_tables. split; [rewrite len_put_ent; exact Hx|].
      apply whole_put_ent; [exact Hw|lia].
Qed.

(** The attributes [leafAttr] reads, as a value. *)
Definition attr_val (d : Z) : Isolation.Attr :=
  match Isolation.leafAttr (S:=unit) d tt [] with Ok a _ _ => a | Fail _ => Isolation.zero_Attr end.

Lemma leafAttr_val : forall {S} (s : S) tr d, Isolation.leafAttr d s tr = Ok (attr_val d) s tr.
Proof.
  intros S s tr d. unfold attr_val, Isolation.leafAttr, bind, ret.
  repeat match goal with |- context [if ?c then _ else _] => destruct c end; reflexivity.
Qed.

(** The [j]-th leaf of the split of block [b] at level [lvl]. *)
Definition split_leaf (b lvl j : Z) : Z :=
  leaf_val (wrapu 64 (Z.land b Isolation.descOAMask + wrapu 64 (j * 2 ^ (12 + 9 * (3 - lvl))))) lvl (attr_val b).

(** splitBlock of a table of the pool never fails: it fills the table
    with the 512 leaves that map what the block mapped, with its
    attributes, and changes nothing else. *)
Theorem splitBlock_ok : forall s tr t b lvl base, 1 <= lvl <= 3 -> 0 <= t < len (tables s) -> whole (tables s) ->
  exists T', Isolation.Engine_splitBlock root t b lvl base s tr = Ok tt (set_tables s T') tr /\
    len T' = len (tables s) /\ whole T' /\
    forall x j, 0 <= x -> 0 <= j < 512 -> tent T' x j = if x =? t then split_leaf b lvl j else tent (tables s) x j.
Proof.
  intros s tr t b lvl base Hl Ht Hw.
  destruct tab_places as (q1 & q2 & q3 & H1 & H2 & H3 & Hq).
  pose proof (nth_error_table _ _ Hw Ht) as (Hn & Hlt).
  pose proof (levelSize_ok s tr lvl Hl) as [Hsz _].
  unfold Isolation.Engine_splitBlock. step_by (leafAttr_val s tr b). unfold Isolation.descOA. step.
  step_by Hsz. step_by (deref_root s tr). step_by (idx_nth (tables s) t _ s tr ltac:(lia) Hn).
  match goal with |- context [loop ?f ?c ?bd ?p ?l0] =>
  destruct (loop_spec f c bd p
    (fun i st tr' => tr' = tr /\ 0 <= i <= 512 /\ exists T', st = set_tables s T' /\ len T' = len (tables s) /\ whole T' /\
       forall x j, 0 <= x -> 0 <= j < 512 -> tent T' x j =
         if (x =? t) && (j <? i) then split_leaf b lvl j else tent (tables s) x j)
    (fun _ st tr' => tr' = tr /\ exists T', st = set_tables s T' /\ len T' = len (tables s) /\ whole T' /\
       forall x j, 0 <= x -> 0 <= j < 512 -> tent T' x j =
         if (x =? t) && (j <? 512) then split_leaf b lvl j else tent (tables s) x j)
    (fun i => Z.to_nat (512 - i))) with (l := l0) (s := s) (tr := tr) as (r & s' & tr' & Hr & Hq') end.
  - intros i st tr' (-> & Hi & Hrest). exists (i <? 512). split; [reflexivity|]. split.
    + intros H. apply Z.ltb_lt in H. lia.
    + intros H. apply Z.ltb_ge in H. split; [reflexivity|]. replace i with 512 in Hrest by lia. exact Hrest.
  - intros i st tr' (-> & Hi & T' & -> & HTl & HTw & HTp) Hc. injection Hc as Hc. apply Z.ltb_lt in Hc.
    pose proof (Hq t i ltac:(lia) ltac:(lia)) as (q4 & q5 & H4 & H5 & L5).
    assert (Hv : slot_valid t (set_tables s T')) by (unfold slot_valid; rewrite tables_set_tables; split; [lia|exact HTw]).
    step_by (leafDesc_ok (set_tables s T') tr (wrapu 64 (Z.land b Isolation.descOAMask + wrapu 64 (wrapu 64 i * 2 ^ (12 + 9 * (3 - lvl))))) lvl (attr_val b)).
    step_by (H1 (set_tables s T') tr). step_by (H2 (set_tables s T') tr). step_by (H3 (set_tables s T') tr).
    step_by (H4 _ tr Hv). step_by (H5 _ tr Hv). step_by (store_lens _ _ _ _ _ (leaf_val (wrapu 64 (Z.land b Isolation.descOAMask + wrapu 64 (wrapu 64 i * 2 ^ (12 + 9 * (3 - lvl))))) lvl (attr_val b)) tr L5 Hv).
    rewrite set_tables_twice, tables_set_tables.
    eexists _, _, _. split; [reflexivity|]. eexists. split; [reflexivity|]. split; [|apply Z2Nat.inj_lt; lia].
    split; [reflexivity|]. split; [lia|]. eexists. split; [reflexivity|].
    split; [rewrite len_put_ent; exact HTl|]. split; [apply whole_put_ent; [exact HTw|lia]|].
    intros x j Hx Hj. rewrite tent_put_ent by (try exact HTw; lia). rewrite HTp by assumption.
    rewrite (wrapu_small i) by lia.
    bcases; try lia; try reflexivity. replace j with i by lia. reflexivity.
  - split; [reflexivity|]. split; [lia|]. exists (tables s). split; [symmetry; apply set_tables_same|].
    split; [reflexivity|]. split; [exact Hw|]. intros x j Hx Hj. bcases; try lia; reflexivity.
  - cbn. lia.
  - step_by Hr. destruct r as [i|[]]. destruct Hq' as (-> & T' & -> & HTl & HTw & HTp).
    exists T'. split; [reflexivity|]. split; [exact HTl|]. split; [exact HTw|].
    intros x j Hx Hj. rewrite HTp by assumption. bcases; try lia; reflexivity.
Qed.

(** What [take] of table [i] makes of the pool [p]. *)
Definition taken (p q : Isolation.tablePool) (i : Z) : Prop :=
  same_shape p q /\
  Isolation.tablePool_nfree q = wraps 64 (Isolation.tablePool_nfree p - 1) /\
  free_bit q i = false /\
  (forall j, 0 <= j -> j <> i -> free_bit q j = free_bit p j) /\
  Isolation.Pool_Base (Isolation.tablePool_Pool q) = Isolation.Pool_Base (Isolation.tablePool_Pool p) /\
  Isolation.Pool_Tables (Isolation.tablePool_Pool q) = replace_nth (Z.to_nat i) (repeat 0 512) (Isolation.Pool_Tables (Isolation.tablePool_Pool p)).

(** [take_pool] clears the table's bit and no other, counts one free
    table less, and zeroes the table. *)
Lemma take_pool_taken : forall p i, pool_ok p -> 0 <= i < ntables p -> taken p (take_pool p i) i.
Proof.
  intros p i Hok Hi. pose proof (word_in _ i Hok Hi) as Hk.
  destruct p as [[T base] free nfree allocs].
  unfold ntables in Hi. cbn in Hk, Hi.
  assert (Hr : 0 <= i mod 64 < 64) by (apply Z.mod_pos_bound; lia).
  unfold taken, take_pool. cbn.
  split; [split; cbn; apply len_replace|]. split; [reflexivity|].
  unfold free_bit; cbn. split; [|split; [|split; reflexivity]].
  - rewrite nth_replace by (unfold len in Hk; lia). rewrite testbit_andnot_pow2 by lia.
    rewrite Z.eqb_refl. apply andb_false_r.
  - intros j Hj Hne.
    destruct (Nat.eq_dec (Z.to_nat (j / 64)) (Z.to_nat (i / 64))) as [E|E].
    + rewrite E, nth_replace by (unfold len in Hk; lia).
      rewrite testbit_andnot_pow2 by (try apply Z.mod_pos_bound; lia).
      pose proof (same_word i j ltac:(lia) Hj Hne E) as Hm.
      replace (i mod 64 =? j mod 64) with false by (symmetry; apply Z.eqb_neq; lia). apply andb_true_r.
    + rewrite nth_replace_other by (intros H; apply E; symmetry; exact H). reflexivity.
Qed.

(** What [take] of table [i] makes of the pool [p], with the word it
    writes into the bitmap. *)
Definition taken_w (p q : Isolation.tablePool) (i : Z) : Prop :=
  taken p q i /\
  Isolation.tablePool_free q = replace_nth (Z.to_nat (i / 64))
    (andnot (nth (Z.to_nat (i / 64)) (Isolation.tablePool_free p) 0) (2 ^ (i mod 64)))
    (Isolation.tablePool_free p).

(** take of a table of the pool never fails, and the pool it leaves is
    [taken_w]. *)
Lemma take_spec_w : forall pp s i tr, pool_lens pp -> pool_ok (Isolation.Engine_pool s) ->
  0 <= i < ntables (Isolation.Engine_pool s) ->
  exists q, Isolation.tablePool_take pp i s tr = Ok tt (Isolation.set_Engine_pool q s) tr /\
    taken_w (Isolation.Engine_pool s) q i.
Proof.
  intros pp s i tr Hpp Hok Hi. rewrite (take_exact pp s i tr Hpp Hok Hi).
  eexists. split; [reflexivity|]. split; [apply take_pool_taken; assumption|reflexivity].
Qed.

(** A table [take] takes keeps the bitmap [bits_ok]. *)
Lemma taken_bits : forall p q i, bits_ok p -> 0 <= i < ntables p -> taken_w p q i -> bits_ok q.
Proof.
  intros p q i Hbits Hi (([Esh _] & _ & _ & Hag & _) & Hw).
  apply (bits_ok_word _ _ i _ Hbits Hi Esh Hw); [|exact Hag].
  apply word_andnot; [|apply Z.mod_pos_bound; lia].
  apply Forall_nth_Z; [apply Hbits|lia].
Qed.

(** alloc, as [alloc_ok] (CodePool), with what it does to the pool: the
    table it takes is [taken]. *)
Lemma alloc_spec : forall pp s tr, pool_lens pp -> pool_ok (Isolation.Engine_pool s) -> bits_ok (Isolation.Engine_pool s) ->
  exists i s', Isolation.tablePool_alloc pp s tr = Ok i s' tr /\
    ((i = -1 /\ s' = s /\ ~ some_free (Isolation.Engine_pool s)) \/
     (0 <= i < ntables (Isolation.Engine_pool s) /\ free_bit (Isolation.Engine_pool s) i = true /\
      exists q, s' = Isolation.set_Engine_pool q s /\ taken (Isolation.Engine_pool s) q i)).
Proof.
  intros pp s tr Hpp Hok (Hwords & Hsmall & Hin).
  set (free := Isolation.tablePool_free (Isolation.Engine_pool s)) in *.
  assert (Hl0 : 0 <= len free) by (unfold len; lia).
  unfold Isolation.tablePool_alloc. step_by (deref_lens _ _ _ _ s tr Hpp I). fold free.
  rewrite wraps_small by lia.
  match goal with |- context [loop max_fuel ?c ?b ?po _] =>
  destruct (loop_spec max_fuel c b po
    (fun w st tr' => st = s /\ tr' = tr /\ -1 <= w < len free /\
       forall w', w < w' < len free -> nth (Z.to_nat w') free 0 = 0)
    (fun j st tr' => tr' = tr /\ match j with
       | Fall _ => st = s /\ ~ some_free (Isolation.Engine_pool s)
       | Jump i => 0 <= i < ntables (Isolation.Engine_pool s) /\ free_bit (Isolation.Engine_pool s) i = true /\
           exists q, st = Isolation.set_Engine_pool q s /\ taken (Isolation.Engine_pool s) q i end)
    (fun w => Z.to_nat (w + 1))) with (l := len free - 1) (s := s) (tr := tr)
    as (j & s' & tr' & Hj & -> & Hq) end.
  - intros w st tr' (-> & -> & Hw & Habove). exists (w >=? 0). split; [reflexivity|]. split.
    + intros H. apply Z.geb_le in H. lia.
    + intros H. rewrite Z.geb_leb in H. apply Z.leb_gt in H. split; [reflexivity|]. split; [reflexivity|].
      intros (w' & Hw' & Hnz). fold free in Hw', Hnz. apply Hnz. apply Habove. lia.
  - intros w st tr' (-> & -> & Hw & Habove) Hc. injection Hc as Hc. rewrite Z.geb_leb in Hc. apply Z.leb_le in Hc.
    destruct (nth_error free (Z.to_nat w)) as [x|] eqn:Hx.
    2:{ apply nth_error_None in Hx. unfold len in Hw. lia. }
    assert (Hxr : 0 <= x < 2 ^ 64).
    { rewrite Forall_forall in Hwords. apply Hwords. eapply nth_error_In. exact Hx. }
    step_by (deref_lens _ _ _ _ s tr Hpp I). fold free.
    step_by (idx_nth free w x s tr Hc Hx).
    destruct (Z.eqb_spec x 0) as [E|E]; cbn [negb].
    + eexists _, _, _. split; [reflexivity|]. eexists. split; [reflexivity|].
      rewrite wraps_small by lia. split; [|apply Z2Nat.inj_lt; lia].
      split; [reflexivity|]. split; [reflexivity|]. split; [lia|].
      intros w' Hw'. destruct (Z.eq_dec w' w) as [->|Hne].
      * rewrite (nth_error_nth _ _ 0 Hx). exact E.
      * apply Habove. lia.
    + step_by (deref_lens _ _ _ _ s tr Hpp I). fold free.
      step_by (idx_nth free w x s tr Hc Hx). step.
      pose proof (alloc_index w x Hc ltac:(unfold len in *; lia) ltac:(lia)) as (Hi & Hdiv & Hmod & Hlog).
      rewrite Hi.
      assert (Hbit : free_bit (Isolation.Engine_pool s) (w * 64 + Z.log2 x) = true).
      { unfold free_bit. rewrite Hdiv, Hmod. fold free. rewrite (nth_error_nth _ _ 0 Hx). apply Z.bit_log2. lia. }
      assert (Hlt : w * 64 + Z.log2 x < ntables (Isolation.Engine_pool s)) by (apply Hin; [lia|exact Hbit]).
      pose proof (take_spec_w pp s (w * 64 + Z.log2 x) tr Hpp Hok ltac:(lia)) as (q & Ht & Htk & _).
      step_by Ht. eexists _, _, _. split; [reflexivity|]. split; [reflexivity|].
      split; [lia|]. split; [exact Hbit|]. exists q. split; [reflexivity|exact Htk].
  - split; [reflexivity|]. split; [reflexivity|]. split; [lia|]. intros w' Hw'. lia.
  - rewrite max_fuel_nat. unfold max_fuel. lia.
  - step_by Hj. destruct j as [w|i].
    + destruct Hq as [-> Hnf]. eexists _, _. split; [reflexivity|]. left. split; [reflexivity|]. split; [reflexivity|exact Hnf].
    + eexists _, _. split; [reflexivity|]. right. exact Hq.
Qed.

(** mustAlloc, as [mustAlloc_ok] (CodePool), with what it does to the
    pool: when some table is free it takes one, which is [taken]. *)
Theorem mustAlloc_spec : forall s tr, pool_ok (Isolation.Engine_pool s) -> bits_ok (Isolation.Engine_pool s) ->
  some_free (Isolation.Engine_pool s) ->
  exists i q, Isolation.Engine_mustAlloc root s tr = Ok i (Isolation.set_Engine_pool q s) tr /\
    0 <= i < ntables (Isolation.Engine_pool s) /\ free_bit (Isolation.Engine_pool s) i = true /\
    taken (Isolation.Engine_pool s) q i.
Proof.
  intros s tr Hok Hbits Hsome.
  pose proof (pfield_lens root _ _ _ Isolation.Engine_pool Isolation.set_Engine_pool lens_root ltac:(field_laws))
    as (qp & Hqp & Lp).
  pose proof (alloc_spec qp s tr Lp Hok Hbits) as (i & s' & Ha & [(-> & -> & Hn) | (Hi & Hb & q & -> & Hsh)]).
  - contradiction.
  - unfold Isolation.Engine_mustAlloc. step_by (Hqp s tr). step_by Ha.
    destruct (Z.ltb_spec i 0); [lia|].
    eexists _, _. split; [reflexivity|]. split; [exact Hi|]. split; [exact Hb|exact Hsh].
Qed.

(** take of a free table keeps [nfree] the count of free tables. *)
Theorem take_count : forall p q i, pool_ok p -> count_ok p -> 0 <= i < ntables p -> free_bit p i = true ->
  taken p q i -> count_ok q /\ count_free q = count_free p - 1.
Proof.
  intros p q i [_ Hsmall] Hc Hi Hb ([Esh _] & Hn & Hbq & Hag & _).
  assert (E : count_free q = count_free p - 1).
  { rewrite (count_flip p q i) by (unfold ntables; auto). rewrite Hb, Hbq. reflexivity. }
  split; [|exact E]. unfold count_ok in *. rewrite Hn, Hc, E.
  pose proof (count_bound p). apply wraps_small. unfold ntables in *. lia.
Qed.

(** ** One entry of a level-2 table *)

(** The update that [clearEntry] passes down: unmap, for [vmid]. *)
Definition clear_u (vmid : Z) : Isolation.s2update := Isolation.mk_s2update vmid 0 Isolation.zero_Attr true.

(** A level-2 entry [i] of table [t] that holds a table descriptor whose
    level-3 table is a table of the pool, in use, other than [t]. *)
Definition l2_table_entry (e : Isolation.Engine) (t i : Z) : Prop :=
  Z.land (tent (tables e) t i) 3 = 3 /\
  pool_base e <= Z.land (tent (tables e) t i) Isolation.descOAMask /\
  child (pool_base e) (tent (tables e) t i) < len (tables e) /\
  child (pool_base e) (tent (tables e) t i) <> t /\
  free_bit (Isolation.Engine_pool e) (child (pool_base e) (tent (tables e) t i)) = false.

Lemma same_shape_set_tables : forall e T q, len T = len (tables e) ->
  same_shape (Isolation.Engine_pool (set_tables e T)) q -> same_shape (Isolation.Engine_pool e) q.
Proof. intros [? ? [[] ? ? ?] ? ? ? ?] T q E [H1 H2]. unfold same_shape, tables in *. cbn in *. split; congruence. Qed.

Lemma align_page : forall a, a mod 2 ^ 21 = 0 -> a mod 4096 = 0.
Proof.
  intros a H. pose proof (Z.div_mod a (2 ^ 21) ltac:(lia)) as E. rewrite H, Z.add_0_r in E. rewrite E.
  replace (2 ^ 21 * (a / 2 ^ 21)) with ((512 * (a / 2 ^ 21)) * 4096) by (change (2 ^ 21) with (512 * 4096); ring).
  apply Z.mod_mul. lia.
Qed.

Lemma child_nonneg : forall e d, pool_base e <= Z.land d Isolation.descOAMask -> 0 <= child (pool_base e) d.
Proof. intros e d H. unfold child. apply Z.div_pos; lia. Qed.

(** clearEntry of a level-2 entry holding a level-3 table of the pool in
    use never fails: it unmaps the whole 2 MiB span of the table (every
    valid entry written 0, with its InvalidateIPA, in order), then writes
    the entry invalid, records InvalidateIPA for the span and releases the
    table. *)
Theorem clearEntry_table_last : forall fuel e tr t i p base vmid,
  (4 <= fuel)%nat -> tables_ok e -> pool_ok (Isolation.Engine_pool e) -> Isolation.Engine_plat e <> None ->
  0 <= t < len (tables e) -> 0 <= i < 512 ->
  lens p (slot_valid t) (fun s => tent (tables s) t i) (fun v s => set_tables s (put_ent (tables s) t i v)) ->
  l2_table_entry e t i -> 0 <= base -> base mod 2 ^ 21 = 0 -> base + 2 ^ 21 < 2 ^ 64 ->
  exists T1 q, let c := child (pool_base e) (tent (tables e) t i) in
    Isolation.Engine_clearEntry fuel root p 2 base vmid e tr =
      Ok tt (Isolation.set_Engine_pool q (set_tables e (put_ent T1 t i 0)))
        (inval vmid base :: invs (tables e) c vmid base base 512 ++ tr) /\
    len T1 = len (tables e) /\ whole T1 /\
    (forall x j, 0 <= x -> 0 <= j < 512 -> tent T1 x j =
       if x =? c then (if valid_d (tent (tables e) x j) then 0 else tent (tables e) x j) else tent (tables e) x j) /\
    Isolation.tablePool_Pool q = Isolation.tablePool_Pool (Isolation.Engine_pool (set_tables e (put_ent T1 t i 0))) /\
    same_shape (Isolation.Engine_pool e) q /\
    Isolation.tablePool_nfree q = wraps 64 (Isolation.tablePool_nfree (Isolation.Engine_pool e) + 1) /\
    free_bit q c = true /\
    (forall y, 0 <= y -> y <> c -> free_bit q y = free_bit (Isolation.Engine_pool e) y).
Proof.
  intros fuel e tr t i p base vmid Hf Hok Hpok Hpl Ht Hi L Hent Hb0 Hba Hbe.
  destruct Hent as (H3 & Hle & Hlt & Hne & Hfree).
  pose proof Hok as (Hwh & Hsmall & Hbase). fold (whole (tables e)) in Hwh.
  set (dd := tent (tables e) t i) in *. set (c := child (pool_base e) dd) in *.
  assert (Hc0 : 0 <= c) by (apply child_nonneg; exact Hle).
  assert (Hv : slot_valid t e) by (split; [lia|exact Hwh]).
  destruct fuel as [|f]; [lia|]. cbn [Isolation.Engine_clearEntry].
  step_by (deref_lens _ _ _ _ e tr L Hv). fold dd. unfold Isolation.isTable. step.
  replace ((2 <? Isolation.lastLevel) && (Z.land dd 3 =? 3)) with true by (rewrite H3; reflexivity).
  step_by (pfield_pool_root e tr). unfold Isolation.descOA. step.
  step_by (index_ok e tr dd Hok Hle Hlt). fold c.
  pose proof (levelSize_ok e tr 2 ltac:(lia)) as [Hsz _]. step_by Hsz.
  change (2 ^ (12 + 9 * (3 - 2))) with (2 ^ 21). replace (wraps 64 (2 + 1)) with 3 by reflexivity.
  rewrite wrapu_small by lia.
  pose proof (update_last_ok f e tr c base base (base + 2 ^ 21) (clear_u vmid) ltac:(lia) Hok
    ltac:(lia) Hpl Hb0 Hba ltac:(lia) ltac:(lia) Hbe
    ltac:(apply align_page; exact Hba) ltac:(apply align_page; rewrite <- Z.add_mod_idemp_l, Hba by lia; reflexivity)
    eq_refl) as (st & tr1 & Hup & T1 & -> & -> & HTl & HTw & HTp).
  change (Isolation.mk_s2update vmid 0 Isolation.zero_Attr true) with (clear_u vmid).
  step_by Hup.
  assert (Hv1 : slot_valid t (set_tables e T1)) by (split; rewrite tables_set_tables; [lia|exact HTw]).
  assert (Hti : tent T1 t i = dd).
  { rewrite HTp by lia. replace (t =? c) with false by (symmetry; apply Z.eqb_neq; lia). reflexivity. }
  pose proof (dropTable_ok p t i (set_tables e T1) (invs (tables e) c (Isolation.s2update_vmid (clear_u vmid)) base base (Z.to_nat ((base + 2 ^ 21 - base) / 4096)) ++ tr) c base vmid L Hv1
    ltac:(rewrite plat_set_tables; exact Hpl) ltac:(apply pool_ok_set_tables; assumption)
    ltac:(rewrite tables_set_tables; lia) ltac:(rewrite free_bit_set_tables; exact Hfree))
    as (q & Hdrop & HP & Hsh & Hnf & Hbc & Hout).
  rewrite (proj2 (free_set_tables e T1)) in Hnf.
  rewrite tables_set_tables in Hdrop, HP. rewrite set_tables_twice in Hdrop, HP.
  step_by Hdrop.
  exists T1, q. cbv zeta. fold dd. fold c.
  replace (Z.to_nat ((base + 2 ^ 21 - base) / 4096)) with 512%nat in * by (replace (base + 2 ^ 21 - base) with (512 * 4096) by ring; rewrite Z.div_mul by lia; reflexivity).
  split; [reflexivity|]. split; [exact HTl|]. split; [exact HTw|]. split.
  - intros x j Hx Hj. rewrite HTp by assumption. unfold new_ent. cbn [clear_u Isolation.s2update_unmap].
    destruct (Z.eqb_spec x c) as [->|]; cbn [andb]; [|reflexivity].
    replace (base <=? base + 4096 * j) with true by (symmetry; apply Z.leb_le; lia).
    replace (base + 4096 * j <? base + 2 ^ 21) with true by (symmetry; apply Z.ltb_lt; lia). reflexivity.
  - split; [exact HP|]. split.
    + exact (same_shape_set_tables e T1 q HTl Hsh).
    + split; [exact Hnf|]. split; [exact Hbc|].
      intros y Hy Hyc. rewrite (Hout y Hy Hyc). apply free_bit_set_tables.
Qed.

(** descend into a level-2 entry holding a level-3 table of the pool in
    use never fails: it applies the update to the part [ipa, stop) of the
    table's span ([update_last_ok]); for an unmap that leaves every entry
    of the table invalid it then writes the entry invalid, records
    InvalidateIPA for the span and releases the table. *)
Theorem descend_table_last : forall fuel e tr t i p base ipa stop u,
  (4 <= fuel)%nat -> tables_ok e -> pool_ok (Isolation.Engine_pool e) -> Isolation.Engine_plat e <> None ->
  0 <= t < len (tables e) -> 0 <= i < 512 ->
  lens p (slot_valid t) (fun s => tent (tables s) t i) (fun v s => set_tables s (put_ent (tables s) t i v)) ->
  l2_table_entry e t i -> 0 <= base -> base mod 2 ^ 21 = 0 ->
  base <= ipa <= stop -> stop <= base + 2 ^ 21 -> stop < 2 ^ 64 ->
  ipa mod 4096 = 0 -> stop mod 4096 = 0 -> Isolation.s2update_delta u mod 4096 = 0 ->
  exists st tr', Isolation.Engine_descend fuel root p 2 base ipa stop u e tr = Ok tt st tr' /\
    let c := child (pool_base e) (tent (tables e) t i) in
    exists st1 tr1, last_done e c base ipa u tr stop st1 tr1 /\
    ((st = st1 /\ tr' = tr1) \/
     (Isolation.s2update_unmap u = true /\ (forall j, 0 <= j < 512 -> valid_d (tent (tables st1) c j) = false) /\
      exists q, st = Isolation.set_Engine_pool q (set_tables st1 (put_ent (tables st1) t i 0)) /\
        tr' = inval (Isolation.s2update_vmid u) base :: tr1 /\
        Isolation.tablePool_Pool q = Isolation.tablePool_Pool (Isolation.Engine_pool (set_tables st1 (put_ent (tables st1) t i 0))) /\
        same_shape (Isolation.Engine_pool e) q /\
        Isolation.tablePool_nfree q = wraps 64 (Isolation.tablePool_nfree (Isolation.Engine_pool e) + 1) /\
        free_bit q c = true /\
        (forall y, 0 <= y -> y <> c -> free_bit q y = free_bit (Isolation.Engine_pool e) y))).
Proof.
  intros fuel e tr t i p base ipa stop u Hf Hok Hpok Hpl Ht Hi L Hent Hb0 Hba Hr Hs Hs64 Hia Hsa Hd.
  destruct Hent as (H3 & Hle & Hlt & Hne & Hfree).
  pose proof Hok as (Hwh & Hsmall & Hbase). fold (whole (tables e)) in Hwh.
  set (dd := tent (tables e) t i) in *. set (c := child (pool_base e) dd) in *.
  assert (Hc0 : 0 <= c) by (apply child_nonneg; exact Hle).
  assert (Hv : slot_valid t e) by (split; [lia|exact Hwh]).
  destruct fuel as [|f]; [lia|]. cbn [Isolation.Engine_descend].
  step_by (deref_lens _ _ _ _ e tr L Hv). fold dd. unfold Isolation.isTable. step.
  replace ((2 <? Isolation.lastLevel) && (Z.land dd 3 =? 3)) with true by (rewrite H3; reflexivity).
  unfold bind at 1. step_by (pfield_pool_root e tr). unfold Isolation.descOA. step.
  step_by (index_ok e tr dd Hok Hle Hlt). fold c. unfold ret. cbv beta iota.
  replace (wraps 64 (2 + 1)) with 3 by reflexivity.
  pose proof (update_last_ok f e tr c base ipa stop u ltac:(lia) Hok ltac:(lia) Hpl Hb0 Hba Hr Hs Hs64 Hia Hsa Hd)
    as (st1 & tr1 & Hup & Hdone).
  step_by Hup.
  pose proof Hdone as (T1 & -> & Etr & HTl & HTw & HTp).
  destruct (Isolation.s2update_unmap u) eqn:Hun.
  - pose proof (tableEmpty_ok (set_tables e T1) tr1 c ltac:(rewrite tables_set_tables; lia) ltac:(rewrite tables_set_tables; exact HTw))
      as (b & Hb & Hbiff).
    assert (Hte : (let! t'23 := Isolation.Engine_tableEmpty root c in ret t'23) (set_tables e T1) tr1 = Ok b (set_tables e T1) tr1)
      by (step_by Hb; reflexivity).
    step_by Hte. destruct b.
    + assert (Hv1 : slot_valid t (set_tables e T1)) by (split; rewrite tables_set_tables; [lia|exact HTw]).
      pose proof (dropTable_ok p t i (set_tables e T1) tr1 c base (Isolation.s2update_vmid u) L Hv1
        ltac:(rewrite plat_set_tables; exact Hpl) ltac:(apply pool_ok_set_tables; assumption)
        ltac:(rewrite tables_set_tables; lia) ltac:(rewrite free_bit_set_tables; exact Hfree))
        as (q & Hdrop & HP & Hsh & Hnf & Hbc & Hout).
      rewrite (proj2 (free_set_tables e T1)) in Hnf.
      step_by Hdrop. eexists _, _. split; [reflexivity|]. cbv zeta. fold dd. fold c.
      exists (set_tables e T1), tr1. split; [exact Hdone|]. right. split; [reflexivity|].
      split; [apply Hbiff; reflexivity|]. exists q. split; [reflexivity|]. split; [reflexivity|].
      split; [exact HP|]. split; [exact (same_shape_set_tables e T1 q HTl Hsh)|]. split; [exact Hnf|]. split; [exact Hbc|].
      intros y Hy Hyc. rewrite (Hout y Hy Hyc). apply free_bit_set_tables.
    + eexists _, _. split; [reflexivity|]. cbv zeta. fold dd. fold c.
      exists (set_tables e T1), tr1. split; [exact Hdone|]. left. split; reflexivity.
  - step. eexists _, _. split; [reflexivity|]. cbv zeta. fold dd. fold c.
    exists (set_tables e T1), tr1. split; [exact Hdone|]. left. split; reflexivity.
Qed.

(** The table descriptor [descend] writes for the table at index [c] of a
    pool based at [base]. *)
Definition tdesc (base c : Z) : Z :=
  Z.lor (Z.lor (Z.land (wrapu 64 (base + shl 64 false (wrapu 64 c) Isolation.PageShift)) Isolation.descOAMask)
    Isolation.descValid) Isolation.descTable.

Lemma plat_set_pool : forall q e, Isolation.Engine_plat (Isolation.set_Engine_pool q e) = Isolation.Engine_plat e.
Proof. intros q []. reflexivity. Qed.

Lemma invalid_not_table : forall d, valid_d d = false -> Z.land d 3 <> 3.
Proof.
  intros d H E. unfold valid_d in H. apply negb_false_iff, Z.eqb_eq in H.
  change Isolation.descValid with (Z.land 3 1) in H. rewrite Z.land_assoc, E in H. discriminate.
Qed.

Lemma tables_set_pool_taken : forall e q c, taken (Isolation.Engine_pool e) q c ->
  tables (Isolation.set_Engine_pool q e) = replace_nth (Z.to_nat c) (repeat 0 512) (tables e) /\
  pool_base (Isolation.set_Engine_pool q e) = pool_base e.
Proof.
  intros e q c (_ & _ & _ & _ & Hb & HT). unfold tables, pool_base. rewrite get_set_pool. split; assumption.
Qed.

(** descend into an invalid level-2 entry, for an update that maps,
    never fails when some table is free: it takes a free table [c] (other
    than [t], which is in use), zeroed, hooks it into the entry with a
    table descriptor, and applies the update to the part [ipa, stop) of
    its span ([update_last_ok], from the engine with the table hooked). *)
Theorem descend_new_last : forall fuel e tr t i p base ipa stop u,
  (4 <= fuel)%nat -> tables_ok e -> pool_ok (Isolation.Engine_pool e) -> bits_ok (Isolation.Engine_pool e) ->
  some_free (Isolation.Engine_pool e) -> Isolation.Engine_plat e <> None ->
  0 <= t < len (tables e) -> 0 <= i < 512 ->
  lens p (slot_valid t) (fun s => tent (tables s) t i) (fun v s => set_tables s (put_ent (tables s) t i v)) ->
  free_bit (Isolation.Engine_pool e) t = false -> valid_d (tent (tables e) t i) = false ->
  Isolation.s2update_unmap u = false ->
  0 <= base -> base mod 2 ^ 21 = 0 -> base <= ipa <= stop -> stop <= base + 2 ^ 21 -> stop < 2 ^ 64 ->
  ipa mod 4096 = 0 -> stop mod 4096 = 0 -> Isolation.s2update_delta u mod 4096 = 0 ->
  exists c q st tr', Isolation.Engine_descend fuel root p 2 base ipa stop u e tr = Ok tt st tr' /\
    0 <= c < len (tables e) /\ c <> t /\ free_bit (Isolation.Engine_pool e) c = true /\
    taken (Isolation.Engine_pool e) q c /\
    last_done (set_tables (Isolation.set_Engine_pool q e)
                 (put_ent (tables (Isolation.set_Engine_pool q e)) t i (tdesc (pool_base e) c)))
      c base ipa u tr stop st tr'.
Proof.
  intros fuel e tr t i p base ipa stop u Hf Hok Hpok Hbits Hsome Hpl Ht Hi L Htu Hinv Hun Hb0 Hba Hr Hs Hs64 Hia Hsa Hd.
  pose proof Hok as (Hwh & Hsmall & Hbase). fold (whole (tables e)) in Hwh.
  assert (Hv : slot_valid t e) by (split; [lia|exact Hwh]).
  destruct fuel as [|f]; [lia|]. cbn [Isolation.Engine_descend].
  step_by (deref_lens _ _ _ _ e tr L Hv). unfold Isolation.isTable. step.
  replace ((2 <? Isolation.lastLevel) && (Z.land (tent (tables e) t i) 3 =? 3)) with false
    by (symmetry; apply andb_false_iff; right; apply Z.eqb_neq; apply invalid_not_table; exact Hinv).
  unfold bind at 1. unfold Isolation.isValid. step. fold (valid_d (tent (tables e) t i)). rewrite Hinv. cbn [negb].
  rewrite Hun.
  pose proof (mustAlloc_spec e tr Hpok Hbits Hsome) as (c & q & Hma & Hc & Hcf & Htk).
  step_by Hma.
  assert (Hct : c <> t) by (intros ->; rewrite Hcf in Htu; discriminate).
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
  assert (Hv1 : slot_valid t e1) by (split; [lia|exact Hw1]).
  step_by (store_lens _ _ _ _ e1 (tdesc (pool_base e) c) tr L Hv1).
  unfold ret. cbv beta iota.
  replace (wraps 64 (2 + 1)) with 3 by reflexivity.
  set (e2 := set_tables e1 (put_ent (tables e1) t i (tdesc (pool_base e) c))).
  assert (Hok2 : tables_ok e2).
  { unfold e2. split; [|split].
    - rewrite tables_set_tables. apply whole_put_ent; [exact Hw1|lia].
    - rewrite tables_set_tables, len_put_ent. lia.
    - rewrite base_set_tables. unfold e1. rewrite HB1. exact Hbase. }
  pose proof (update_last_ok f e2 tr c base ipa stop u ltac:(lia) Hok2
    ltac:(unfold e2; rewrite tables_set_tables, len_put_ent; lia)
    ltac:(unfold e2, e1; rewrite plat_set_tables; exact Hpl) Hb0 Hba Hr Hs Hs64 Hia Hsa Hd)
    as (st & tr' & Hup & Hdone).
  step_by Hup. step.
  exists c, q, st, tr'. split; [reflexivity|]. split; [lia|]. split; [exact Hct|]. split; [exact Hcf|].
  split; [exact Htk|exact Hdone].
Qed.

(** descend into a level-2 block entry (valid, not a table) never fails
    when some table is free: it takes a free table [c] (other than [t]),
    fills it with the 512 page leaves of the block ([splitBlock_ok]),
    breaks the entry (writes it invalid and records InvalidateIPA for
    the span), hooks the table with a table descriptor and applies the
    update to the part [ipa, stop) of the span ([update_last_ok]); for an
    unmap that leaves every entry of the table invalid it then unhooks
    the table and releases it. *)
Theorem descend_split_last : forall fuel e tr t i p base ipa stop u,
  (4 <= fuel)%nat -> tables_ok e -> pool_ok (Isolation.Engine_pool e) -> bits_ok (Isolation.Engine_pool e) ->
  some_free (Isolation.Engine_pool e) -> Isolation.Engine_plat e <> None ->
  0 <= t < len (tables e) -> 0 <= i < 512 ->
  lens p (slot_valid t) (fun s => tent (tables s) t i) (fun v s => set_tables s (put_ent (tables s) t i v)) ->
  free_bit (Isolation.Engine_pool e) t = false -> valid_d (tent (tables e) t i) = true ->
  Z.land (tent (tables e) t i) 3 <> 3 ->
  0 <= base -> base mod 2 ^ 21 = 0 -> base <= ipa <= stop -> stop <= base + 2 ^ 21 -> stop < 2 ^ 64 ->
  ipa mod 4096 = 0 -> stop mod 4096 = 0 -> Isolation.s2update_delta u mod 4096 = 0 ->
  exists c q Ts st tr', Isolation.Engine_descend fuel root p 2 base ipa stop u e tr = Ok tt st tr' /\
    0 <= c < len (tables e) /\ c <> t /\ free_bit (Isolation.Engine_pool e) c = true /\
    taken (Isolation.Engine_pool e) q c /\
    len Ts = len (tables e) /\ whole Ts /\
    (forall x j, 0 <= x -> 0 <= j < 512 -> tent Ts x j =
       if x =? c then split_leaf (tent (tables e) t i) 3 j else tent (tables (Isolation.set_Engine_pool q e)) x j) /\
    let e3 := set_tables (Isolation.set_Engine_pool q e) (put_ent Ts t i (tdesc (pool_base e) c)) in
    exists st1 tr1, last_done e3 c base ipa u (inval (Isolation.s2update_vmid u) base :: tr) stop st1 tr1 /\
    ((st = st1 /\ tr' = tr1) \/
     (Isolation.s2update_unmap u = true /\ (forall j, 0 <= j < 512 -> valid_d (tent (tables st1) c j) = false) /\
      exists q', st = Isolation.set_Engine_pool q' (set_tables st1 (put_ent (tables st1) t i 0)) /\
        tr' = inval (Isolation.s2update_vmid u) base :: tr1 /\
        Isolation.tablePool_Pool q' = Isolation.tablePool_Pool (Isolation.Engine_pool (set_tables st1 (put_ent (tables st1) t i 0))) /\
        same_shape (Isolation.Engine_pool e3) q' /\
        Isolation.tablePool_nfree q' = wraps 64 (Isolation.tablePool_nfree (Isolation.Engine_pool e3) + 1) /\
        free_bit q' c = true /\
        (forall y, 0 <= y -> y <> c -> free_bit q' y = free_bit (Isolation.Engine_pool e3) y))).
Proof.
  intros fuel e tr t i p base ipa stop u Hf Hok Hpok Hbits Hsome Hpl Ht Hi L Htu Hval Hnt Hb0 Hba Hr Hs Hs64 Hia Hsa Hd.
  pose proof Hok as (Hwh & Hsmall & Hbase). fold (whole (tables e)) in Hwh.
  assert (Hv : slot_valid t e) by (split; [lia|exact Hwh]).
  set (dd := tent (tables e) t i) in *.
  destruct fuel as [|f]; [lia|]. cbn [Isolation.Engine_descend].
  step_by (deref_lens _ _ _ _ e tr L Hv). fold dd. unfold Isolation.isTable. step.
  replace ((2 <? Isolation.lastLevel) && (Z.land dd 3 =? 3)) with false
    by (symmetry; apply andb_false_iff; right; apply Z.eqb_neq; exact Hnt).
  unfold bind at 1. unfold Isolation.isValid. step. fold (valid_d dd). rewrite Hval. cbn [negb].
  pose proof (mustAlloc_spec e tr Hpok Hbits Hsome) as (c & q & Hma & Hc & Hcf & Htk).
  step_by Hma.
  assert (Hct : c <> t) by (intros ->; rewrite Hcf in Htu; discriminate).
  set (e1 := Isolation.set_Engine_pool q e).
  pose proof (tables_set_pool_taken e q c Htk) as (HT1 & HB1).
  unfold ntables in Hc. fold (tables e) in Hc.
  assert (Hw1 : whole (tables e1)).
  { unfold e1. rewrite HT1. apply Forall_replace; [exact Hwh|reflexivity]. }
  assert (Hl1 : len (tables e1) = len (tables e)) by (unfold e1; rewrite HT1; apply len_replace).
  replace (wraps 64 (2 + 1)) with 3 by reflexivity.
  pose proof (splitBlock_ok e1 tr c dd 3 base ltac:(lia) ltac:(lia) Hw1) as (Ts & Hsp & HTsl & HTsw & HTsp).
  step_by Hsp.
  set (e2 := set_tables e1 Ts).
  assert (Hv2 : slot_valid t e2) by (unfold e2; split; rewrite tables_set_tables; [lia|exact HTsw]).
  step_by (store_lens _ _ _ _ e2 0 tr L Hv2).
  unfold e2. rewrite set_tables_twice, tables_set_tables.
  set (e4 := set_tables e1 (put_ent Ts t i 0)).
  step_by (deref_root e4 tr). unfold e4 at 1. rewrite plat_set_tables. unfold e1. rewrite plat_set_pool.
  destruct (Isolation.Engine_plat e) as [o|] eqn:Epl; [|contradiction]. unfold call_iface. cbn [is_set]. step.
  step_by (pfield_pool_root e4 (inval (Isolation.s2update_vmid u) base :: tr)). fold pool_place.
  assert (Hd4 : Isolation.Pool_Base (Isolation.tablePool_Pool (Isolation.Engine_pool e4)) = pool_base e).
  { unfold e4. rewrite <- HB1. fold e1. rewrite <- (base_set_tables e1 (put_ent Ts t i 0)). reflexivity. }
  assert (Hpa : Isolation.tablePool_pa pool_place c e4 (inval (Isolation.s2update_vmid u) base :: tr) =
    Ok (wrapu 64 (pool_base e + shl 64 false (wrapu 64 c) Isolation.PageShift)) e4 (inval (Isolation.s2update_vmid u) base :: tr)).
  { unfold Isolation.tablePool_pa. step_by (deref_lens _ _ _ _ e4 (inval (Isolation.s2update_vmid u) base :: tr) pool_place_lens I).
    rewrite Hd4. reflexivity. }
  step_by Hpa. unfold Isolation.tableDesc. step. fold (tdesc (pool_base e) c).
  assert (Hv4 : slot_valid t e4).
  { unfold e4. split; rewrite tables_set_tables; [rewrite len_put_ent; lia|apply whole_put_ent; [exact HTsw|lia]]. }
  step_by (store_lens _ _ _ _ e4 (tdesc (pool_base e) c) (inval (Isolation.s2update_vmid u) base :: tr) L Hv4).
  unfold e4. rewrite set_tables_twice, tables_set_tables, put_ent_twice.
  unfold ret. cbv beta iota.
  set (e3 := set_tables e1 (put_ent Ts t i (tdesc (pool_base e) c))).
  assert (Hok3 : tables_ok e3).
  { unfold e3. split; [|split].
    - rewrite tables_set_tables. apply whole_put_ent; [exact HTsw|lia].
    - rewrite tables_set_tables, len_put_ent. lia.
    - rewrite base_set_tables. unfold e1. rewrite HB1. exact Hbase. }
  assert (Hl3 : len (tables e3) = len (tables e)) by (unfold e3; rewrite tables_set_tables, len_put_ent; lia).
  pose proof (update_last_ok f e3 (inval (Isolation.s2update_vmid u) base :: tr) c base ipa stop u ltac:(lia) Hok3
    ltac:(lia) ltac:(unfold e3, e1; rewrite plat_set_tables, plat_set_pool, Epl; discriminate) Hb0 Hba Hr Hs Hs64 Hia Hsa Hd)
    as (st1 & tr1 & Hup & Hdone).
  step_by Hup.
  pose proof Hdone as (T1 & -> & Etr & HTl & HTw & HTp).
  assert (Hpok3 : pool_ok (Isolation.Engine_pool e3)).
  { unfold e3. apply pool_ok_set_tables; [rewrite len_put_ent; exact HTsl|]. unfold e1. rewrite get_set_pool.
    eapply same_shape_ok; [exact Hpok|exact (proj1 Htk)]. }
  assert (Hcf3 : free_bit (Isolation.Engine_pool e3) c = false).
  { unfold e3. rewrite free_bit_set_tables. unfold e1. rewrite get_set_pool. exact (proj1 (proj2 (proj2 Htk))). }
  assert (Hgoal : forall st tr', (st = set_tables e3 T1 /\ tr' = tr1) \/
     (Isolation.s2update_unmap u = true /\ (forall j, 0 <= j < 512 -> valid_d (tent (tables (set_tables e3 T1)) c j) = false) /\
      exists q', st = Isolation.set_Engine_pool q' (set_tables (set_tables e3 T1) (put_ent (tables (set_tables e3 T1)) t i 0)) /\
        tr' = inval (Isolation.s2update_vmid u) base :: tr1 /\
        Isolation.tablePool_Pool q' = Isolation.tablePool_Pool (Isolation.Engine_pool (set_tables (set_tables e3 T1) (put_ent (tables (set_tables e3 T1)) t i 0))) /\
        same_shape (Isolation.Engine_pool e3) q' /\
        Isolation.tablePool_nfree q' = wraps 64 (Isolation.tablePool_nfree (Isolation.Engine_pool e3) + 1) /\
        free_bit q' c = true /\
        (forall y, 0 <= y -> y <> c -> free_bit q' y = free_bit (Isolation.Engine_pool e3) y)) ->
     exists c0 q0 Ts0 st0 tr0, Ok tt st tr' = Ok tt st0 tr0 /\
       0 <= c0 < len (tables e) /\ c0 <> t /\ free_bit (Isolation.Engine_pool e) c0 = true /\
       taken (Isolation.Engine_pool e) q0 c0 /\ len Ts0 = len (tables e) /\ whole Ts0 /\
       (forall x j, 0 <= x -> 0 <= j < 512 -> tent Ts0 x j =
          if x =? c0 then split_leaf dd 3 j else tent (tables (Isolation.set_Engine_pool q0 e)) x j) /\
       let e5 := set_tables (Isolation.set_Engine_pool q0 e) (put_ent Ts0 t i (tdesc (pool_base e) c0)) in
       exists st5 tr5, last_done e5 c0 base ipa u (inval (Isolation.s2update_vmid u) base :: tr) stop st5 tr5 /\
       ((st0 = st5 /\ tr0 = tr5) \/
        (Isolation.s2update_unmap u = true /\ (forall j, 0 <= j < 512 -> valid_d (tent (tables st5) c0 j) = false) /\
         exists q', st0 = Isolation.set_Engine_pool q' (set_tables st5 (put_ent (tables st5) t i 0)) /\
           tr0 = inval (Isolation.s2update_vmid u) base :: tr5 /\
           Isolation.tablePool_Pool q' = Isolation.tablePool_Pool (Isolation.Engine_pool (set_tables st5 (put_ent (tables st5) t i 0))) /\
           same_shape (Isolation.Engine_pool e5) q' /\
           Isolation.tablePool_nfree q' = wraps 64 (Isolation.tablePool_nfree (Isolation.Engine_pool e5) + 1) /\
           free_bit q' c0 = true /\
           (forall y, 0 <= y -> y <> c0 -> free_bit q' y = free_bit (Isolation.Engine_pool e5) y)))).
  { intros st tr' H. exists c, q, Ts, st, tr'. split; [reflexivity|]. split; [lia|]. split; [exact Hct|].
    split; [exact Hcf|]. split; [exact Htk|]. split; [lia|]. split; [exact HTsw|]. split.
    - intros x j Hx Hj. rewrite HTsp by assumption. reflexivity.
    - cbv zeta. fold e1. fold e3. exists (set_tables e3 T1), tr1. split; [exact Hdone|exact H]. }
  destruct (Isolation.s2update_unmap u) eqn:Hun.
  - pose proof (tableEmpty_ok (set_tables e3 T1) tr1 c ltac:(rewrite tables_set_tables; lia) ltac:(rewrite tables_set_tables; exact HTw))
      as (b & Hb & Hbiff).
    assert (Hte : (let! t'23 := Isolation.Engine_tableEmpty root c in ret t'23) (set_tables e3 T1) tr1 = Ok b (set_tables e3 T1) tr1)
      by (step_by Hb; reflexivity).
    step_by Hte. destruct b.
    + assert (Hv5 : slot_valid t (set_tables e3 T1)) by (split; rewrite tables_set_tables; [lia|exact HTw]).
      pose proof (dropTable_ok p t i (set_tables e3 T1) tr1 c base (Isolation.s2update_vmid u) L Hv5
        ltac:(unfold e3, e1; rewrite !plat_set_tables, plat_set_pool, Epl; discriminate)
        ltac:(apply pool_ok_set_tables; [lia|exact Hpok3])
        ltac:(rewrite tables_set_tables; lia) ltac:(rewrite free_bit_set_tables; exact Hcf3))
        as (q5 & Hdrop & HP & Hsh & Hnf & Hbc & Hout).
      rewrite (proj2 (free_set_tables e3 T1)) in Hnf.
      step_by Hdrop. apply Hgoal. right. split; [reflexivity|]. split; [apply Hbiff; reflexivity|].
      exists q5. split; [reflexivity|]. split; [reflexivity|]. split; [exact HP|].
      split; [exact (same_shape_set_tables e3 T1 q5 ltac:(lia) Hsh)|]. split; [exact Hnf|]. split; [exact Hbc|].
      intros y Hy Hyc. rewrite (Hout y Hy Hyc). apply free_bit_set_tables.
    + apply Hgoal. left. split; reflexivity.
  - step. apply Hgoal. left. split; reflexivity.
Qed.

Lemma table_valid : forall d, Z.land d 3 = 3 -> valid_d d = true.
Proof.
  intros d E. unfold valid_d. change Isolation.descValid with (Z.land 3 1). rewrite Z.land_assoc, E. reflexivity.
Qed.

Lemma tables_set_pool_eq : forall q s, tables (Isolation.set_Engine_pool q s) = Isolation.Pool_Tables (Isolation.tablePool_Pool q).
Proof. intros q []. reflexivity. Qed.

(** replaceLeaf of a level-2 entry holding a level-3 table in use (a
    whole 2 MiB entry replaced, by a block leaf or by nothing) never
    fails: it clears the entry as [clearEntry_table_last] says, then, for
    a map, writes the block leaf of the update into it. *)
Theorem replaceLeaf_table_last : forall fuel e tr t i p base u,
  (5 <= fuel)%nat -> tables_ok e -> pool_ok (Isolation.Engine_pool e) -> Isolation.Engine_plat e <> None ->
  0 <= t < len (tables e) -> 0 <= i < 512 ->
  lens p (slot_valid t) (fun s => tent (tables s) t i) (fun v s => set_tables s (put_ent (tables s) t i v)) ->
  l2_table_entry e t i -> 0 <= base -> base mod 2 ^ 21 = 0 -> base + 2 ^ 21 < 2 ^ 64 ->
  exists st tr', Isolation.Engine_replaceLeaf fuel root p 2 base u e tr = Ok tt st tr' /\
    exists st1, Isolation.Engine_clearEntry (pred fuel) root p 2 base (Isolation.s2update_vmid u) e tr = Ok tt st1 tr' /\
    st = if Isolation.s2update_unmap u then st1
         else set_tables st1 (put_ent (tables st1) t i
                (leaf_val (wrapu 64 (base + Isolation.s2update_delta u)) 2 (Isolation.s2update_attr u))).
Proof.
  intros fuel e tr t i p base u Hf Hok Hpok Hpl Ht Hi L Hent Hb0 Hba Hbe.
  pose proof Hok as (Hwh & Hsmall & Hbase). fold (whole (tables e)) in Hwh.
  assert (Hv : slot_valid t e) by (split; [lia|exact Hwh]).
  pose proof (table_valid _ (proj1 Hent)) as Hval.
  destruct fuel as [|f]; [lia|]. cbn [Isolation.Engine_replaceLeaf pred].
  step_by (deref_lens _ _ _ _ e tr L Hv). unfold Isolation.isValid. step. fold (valid_d (tent (tables e) t i)).
  rewrite Hval.
  pose proof (clearEntry_table_last f e tr t i p base (Isolation.s2update_vmid u) ltac:(lia) Hok Hpok Hpl Ht Hi L Hent Hb0 Hba Hbe)
    as (T1 & q & Hce & HTl & HTw & _ & HP & _).
  set (st1 := Isolation.set_Engine_pool q (set_tables e (put_ent T1 t i 0))) in *.
  set (tr1 := inval (Isolation.s2update_vmid u) base :: invs (tables e) (child (pool_base e) (tent (tables e) t i))
    (Isolation.s2update_vmid u) base base 512 ++ tr) in *.
  assert (Hc' : (let! _ := Isolation.Engine_clearEntry f root p 2 base (Isolation.s2update_vmid u) in ret tt) e tr = Ok tt st1 tr1)
    by (step_by Hce; reflexivity).
  step_by Hc'.
  destruct (Isolation.s2update_unmap u); cbn [negb].
  - eexists _, _. split; [reflexivity|]. exists st1. split; [exact Hce|reflexivity].
  - assert (Hv1 : slot_valid t st1).
    { unfold st1. unfold slot_valid. rewrite tables_set_pool_eq, HP.
      change (Isolation.Pool_Tables (Isolation.tablePool_Pool (Isolation.Engine_pool (set_tables e (put_ent T1 t i 0)))))
        with (tables (set_tables e (put_ent T1 t i 0))).
      rewrite tables_set_tables. split; [rewrite len_put_ent; lia|apply whole_put_ent; [exact HTw|lia]]. }
    step_by (leafDesc_ok st1 tr1 (wrapu 64 (base + Isolation.s2update_delta u)) 2 (Isolation.s2update_attr u)).
    step_by (store_lens _ _ _ _ st1 (leaf_val (wrapu 64 (base + Isolation.s2update_delta u)) 2 (Isolation.s2update_attr u)) tr1 L Hv1).
    eexists _, _. split; [reflexivity|]. exists st1. split; [exact Hce|reflexivity].
Qed.

(** descend into an invalid entry for an unmap does nothing. *)
Lemma descend_invalid_unmap : forall f s tr p valid get set lvl base ipa stop u,
  lens p valid get set -> valid s -> valid_d (get s) = false -> Isolation.s2update_unmap u = true ->
  Isolation.Engine_descend (S f) root p lvl base ipa stop u s tr = Ok tt s tr.
Proof.
  intros f s tr p valid get set lvl base ipa stop u L Hv Hinv Hun. cbn [Isolation.Engine_descend].
  step_by (deref_lens _ _ _ _ s tr L Hv). unfold Isolation.isTable. step.
  replace ((lvl <? Isolation.lastLevel) && (Z.land (get s) 3 =? 3)) with false
    by (symmetry; apply andb_false_iff; right; apply Z.eqb_neq; apply invalid_not_table; exact Hinv).
  unfold bind at 1. unfold Isolation.isValid. step. fold (valid_d (get s)). rewrite Hinv. cbn [negb].
  rewrite Hun. reflexivity.
Qed.

(** update at level 2 of a page-aligned range inside one 2 MiB entry of a
    level-2 table [t] of the pool in use never fails, whatever the entry
    holds: a level-3 table of the pool in use ([l2_table_entry]), a
    block, or nothing, provided some table is free when the entry is not
    a table and the update needs one there (a map, or a block to split). *)
Theorem update_l2_entry_no_failure : forall fuel e tr t ipa end' u,
  (6 <= fuel)%nat -> tables_ok e -> pool_ok (Isolation.Engine_pool e) -> bits_ok (Isolation.Engine_pool e) ->
  Isolation.Engine_plat e <> None -> 0 <= t < len (tables e) -> free_bit (Isolation.Engine_pool e) t = false ->
  0 <= ipa < end' -> end' <= ipa / 2 ^ 21 * 2 ^ 21 + 2 ^ 21 -> end' <= 2 ^ 40 ->
  ipa mod 4096 = 0 -> end' mod 4096 = 0 -> Isolation.s2update_delta u mod 4096 = 0 ->
  let d := tent (tables e) t ((ipa / 2 ^ 21) mod 512) in
  (Z.land d 3 = 3 -> l2_table_entry e t ((ipa / 2 ^ 21) mod 512)) ->
  (Z.land d 3 <> 3 -> valid_d d = true \/ Isolation.s2update_unmap u = false -> some_free (Isolation.Engine_pool e)) ->
  exists st tr', Isolation.Engine_update fuel root t 2 ipa end' u e tr = Ok tt st tr'.
Proof.
  intros fuel e tr t ipa end' u Hf Hok Hpok Hbits Hpl Ht Htu Hr Hend H40 Hia Hea Hd dd Htab Hfree.
  pose proof Hok as (Hwh & Hsmall & Hbase). fold (whole (tables e)) in Hwh.
  destruct fuel as [|f]; [lia|]. cbn [Isolation.Engine_update].
  set (base := ipa / 2 ^ 21 * 2 ^ 21) in *.
  assert (Hb : 0 <= base <= ipa).
  { unfold base. split; [apply Z.mul_nonneg_nonneg; [apply Z.div_pos|]; lia|].
    pose proof (Z.div_mod ipa (2 ^ 21) ltac:(lia)). pose proof (Z.mod_pos_bound ipa (2 ^ 21) ltac:(lia)). lia. }
  assert (Hba : base mod 2 ^ 21 = 0) by (unfold base; apply Z.mod_mul; lia).
  set (j := (ipa / 2 ^ 21) mod 512) in *.
  assert (Hj : 0 <= j < 512) by (unfold j; apply Z.mod_pos_bound; lia).
  match goal with |- context [loop ?fu ?c ?b ?p ?l0] =>
  destruct (loop_spec fu c b p
    (fun cur st tr' => (cur = ipa /\ st = e /\ tr' = tr) \/ cur = end')
    (fun _ _ _ => True)
    (fun cur => Z.to_nat (end' - cur))) with (l := l0) (s := e) (tr := tr) as (r & s' & tr' & Hl & _) end.
  - intros cur st tr' H. exists (cur <? end'). split; [destruct H as [(_ & -> & ->)| ->]; reflexivity|]. split.
    + intros Hc. apply Z.ltb_lt in Hc. lia.
    + intros _. exact I.
  - intros cur st tr' [(-> & -> & ->)| ->] Hc; [|injection Hc as Hc; rewrite Z.ltb_irrefl in Hc; discriminate].
    pose proof (levelSize_ok e tr 2 ltac:(lia)) as [Hsz Hmask].
    change (2 ^ (12 + 9 * (3 - 2))) with (2 ^ 21) in Hsz, Hmask. change (12 + 9 * (3 - 2)) with 21 in Hmask.
    step_by Hsz. rewrite Hmask, andnot_ones by lia. fold base.
    step_by Hsz. rewrite (wrapu_small (base + 2 ^ 21)) by lia. replace (Z.min end' (base + 2 ^ 21)) with end' by lia.
    step_by (entryIndex_val e tr ipa 2 ltac:(lia) ltac:(lia)).
    change (2 ^ (12 + 9 * (3 - 2))) with (2 ^ 21). change (nentries 2) with 512. fold j.
    pose proof (slot_lens_table t j ltac:(lia) Hj) as (p & Hp & L).
    assert (Hv : slot_valid t e) by (split; [lia|exact Hwh]).
    step_by (Hp e tr Hv).
    pose proof (wholeLeaf_ok e tr base ipa end' 2 u) as (wl & Hwl). step_by Hwl.
    assert (Hcont : forall st tr1, exists r s' tr', (let ipa := end' in ret (S:=Isolation.Engine) (Continue (X:=Empty_set) ipa)) st tr1 = Ok r s' tr' /\
      match r with Continue l' => exists l'', ret l' s' tr' = Ok l'' s' tr' /\
        ((l'' = ipa /\ s' = e /\ tr' = tr) \/ l'' = end') /\ (Z.to_nat (end' - l'') < Z.to_nat (end' - ipa))%nat
      | Break l' => True | Leave x => True end).
    { intros st tr1. eexists _, _, _. split; [reflexivity|]. eexists. split; [reflexivity|]. split; [right; reflexivity|]. lia. }
    destruct wl.
    + (* a whole entry: replaceLeaf *)
      destruct (Z.eq_dec (Z.land dd 3) 3) as [E3|E3].
      * pose proof (replaceLeaf_table_last f e tr t j p base u ltac:(lia) Hok Hpok Hpl Ht Hj L (Htab E3)
          ltac:(lia) Hba ltac:(lia)) as (st & tr1 & Hrl & _).
        assert (H : (let! t'6 := Isolation.Engine_replaceLeaf f root p 2 base u in ret tt) e tr = Ok tt st tr1)
          by (step_by Hrl; reflexivity).
        step_by H. apply Hcont.
      * pose proof (slot_laws t j ltac:(lia) Hj) as (L1 & L2 & L3).
        destruct f as [|[|f']]; [lia|lia|].
        pose proof (replaceLeaf_leaf_ok f' p _ _ _ e tr 2 base u L Hv Hpl L1 L2 L3
          ltac:(apply andb_false_iff; right; apply Z.eqb_neq; exact E3)) as Hrl.
        assert (H : (let! t'6 := Isolation.Engine_replaceLeaf (S (S f')) root p 2 base u in ret tt) e tr = Ok tt
          ((fun v s => set_tables s (put_ent (tables s) t j v)) (new_ent u 2 base ((fun s => tent (tables s) t j) e)) e)
          (if valid_d ((fun s => tent (tables s) t j) e) then inval (Isolation.s2update_vmid u) base :: tr else tr))
          by (step_by Hrl; reflexivity).
        step_by H. apply Hcont.
    + (* part of an entry: descend *)
      assert (Hal : forall st tr1, Isolation.Engine_descend f root p 2 base ipa end' u e tr = Ok tt st tr1 ->
        exists r s' tr', (let! _ := (let! t'7 := Isolation.Engine_descend f root p 2 base ipa end' u in ret tt) in let ipa := end' in ret (Continue (X:=Empty_set) ipa)) e tr = Ok r s' tr' /\
        match r with Continue l' => exists l'', ret l' s' tr' = Ok l'' s' tr' /\
          ((l'' = ipa /\ s' = e /\ tr' = tr) \/ l'' = end') /\ (Z.to_nat (end' - l'') < Z.to_nat (end' - ipa))%nat
        | Break l' => True | Leave x => True end).
      { intros st tr1 H. assert (H' : (let! t'7 := Isolation.Engine_descend f root p 2 base ipa end' u in ret tt) e tr = Ok tt st tr1)
          by (step_by H; reflexivity). step_by H'. apply Hcont. }
      destruct (Z.eq_dec (Z.land dd 3) 3) as [E3|E3].
      * pose proof (descend_table_last f e tr t j p base ipa end' u ltac:(lia) Hok Hpok Hpl Ht Hj L (Htab E3)
          ltac:(lia) Hba ltac:(lia) ltac:(lia) ltac:(lia) Hia Hea Hd) as (st & tr1 & Hde & _).
        exact (Hal st tr1 Hde).
      * destruct (valid_d dd) eqn:Hval.
        -- pose proof (descend_split_last f e tr t j p base ipa end' u ltac:(lia) Hok Hpok Hbits
             (Hfree E3 (or_introl eq_refl)) Hpl Ht Hj L Htu Hval E3 ltac:(lia) Hba ltac:(lia) ltac:(lia) ltac:(lia)
             Hia Hea Hd) as (c & q & Ts & st & tr1 & Hde & _).
           exact (Hal st tr1 Hde).
        -- destruct (Isolation.s2update_unmap u) eqn:Hun.
           ++ destruct f as [|f']; [lia|].
              exact (Hal e tr (descend_invalid_unmap f' e tr p _ _ _ 2 base ipa end' u L Hv Hval Hun)).
           ++ pose proof (descend_new_last f e tr t j p base ipa end' u ltac:(lia) Hok Hpok Hbits
                (Hfree E3 (or_intror eq_refl)) Hpl Ht Hj L Htu Hval Hun ltac:(lia) Hba ltac:(lia) ltac:(lia) ltac:(lia)
                Hia Hea Hd) as (c & q & st & tr1 & Hde & _).
              exact (Hal st tr1 Hde).
  - left. split; [reflexivity|]. split; reflexivity.
  - rewrite max_fuel_nat. unfold max_fuel. lia.
  - step_by Hl. destruct r as [cur|[]]. eexists _, _. reflexivity.
Qed.

