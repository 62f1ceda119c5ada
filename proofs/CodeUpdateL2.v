(** * The stage-2 update at level 2: several entries

    Lemmas about proofs/code/Isolation.v, the translation of
    isolation/pool.go and isolation/stage2.go, that carry on from
    CodeUpdate.v, which proves that [update] never fails at level 3 and
    for one entry at level 2.

    The free bitmap is [bits_ok] (CodePool) when its words are 64-bit, it
    is small and a set bit names a table of the pool; [alloc] needs it.
    Proved here:
    - [release] of a table in use writes into the table's word that word
      with the table's bit set, and keeps [bits_ok] ([release_bits]);
      [take] writes that word with the bit cleared ([take_spec_w], from
      CodeVMCreate's [take_exact]), and
      [mustAlloc] keeps [bits_ok] ([mustAlloc_word], [mustAlloc_bits]);
    - so do [dropTable], [clearEntry], [replaceLeaf] and [descend] at
      level 2 ([dropTable_bits], [clearEntry_table_bits],
      [replaceLeaf_table_bits], [descend_table_bits], [descend_new_bits],
      [descend_split_bits]);
    - [update]'s loop at level 2 is its iterations ([l2_step]): an
      invariant every iteration keeps holds at the end ([update_l2_loop]);
    - [l2_inv e t] says what [update] at level 2 needs of its table [t]
      and the pool: [t] is a table of the pool in use, the table
      descriptors among its entries name distinct tables of the pool in
      use other than [t], and the pool, its bitmap and its count of free
      tables are sound. A step that changes one entry and the bit of at
      most one table, not [t] and named by no other entry, keeps it
      ([l2_inv_step]). The descriptor [descend] writes for a new table
      names it ([tdesc_spec]), and a level-2 block leaf is no table
      descriptor ([leaf2_not_table]);
    - each step at one entry keeps [l2_inv], the other entries of [t], the
      base and the number of tables: [replaceLeaf] of an entry holding no
      table ([replaceLeaf_leaf_inv]) or a table ([replaceLeaf_table_inv],
      one more free table), [descend] into a table ([descend_table_inv]),
      into an invalid entry for a map ([descend_new_inv], one table taken)
      and into a block ([descend_split_inv], at most one table taken);
    - one iteration of the loop, from [l2_inv] and at least [need_at] free
      tables (one when it goes down into a block, or into an invalid entry
      for a map), never fails, keeps [l2_inv] and writes no table in use
      but [t] and the one its entry holds ([l2_step_inv], [l2_frame]; the
      frames of the steps are in CodeUpdateFrame.v), and leaves in its
      entry the table that was there or one that was free ([l2_step_own]);
    - so [update] at level 2 of a page-aligned range inside the 1 GiB span
      of a level-2 table with [l2_inv], given at least [need_l2] free
      tables (the sum of [need_at] over the range, read from the tables
      before the update), never fails, leaves [l2_inv] for the next caller,
      takes at most [need_l2] tables, leaves every table in use other
      than [t] and the tables its entries hold as it was, and in use, and
      leaves in [t] only tables its entries held or that were free
      ([update_l2_keeps], [l2_own]; [update_l2_no_failure] and
      [update_l2_frame] state parts of it).

    The pool is assumed page aligned and below 2^48, as [tablePool.init]
    checks. The depth fuel of every inner call of [update] stays a
    variable, as in CodeUpdate.v. *)
From Coq Require Import ZArith Lia List Bool String.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodePlace CodeTrack CodeLens CodeLoop CodeLedger CodeVCPU CodeVMCreate
  CodeStage2 CodeShadow CodePool CodeFree CodeUpdate CodeUpdateFrame.
Import ListNotations.
Open Scope Z_scope.

(** ** release *)

(** release of a table in use keeps the bitmap [bits_ok]. *)
Theorem release_bits : forall pp s i tr, pool_lens pp -> pool_ok (Isolation.Engine_pool s) ->
  bits_ok (Isolation.Engine_pool s) ->
  0 <= i < ntables (Isolation.Engine_pool s) -> free_bit (Isolation.Engine_pool s) i = false ->
  exists q, Isolation.tablePool_release pp i s tr = Ok tt (Isolation.set_Engine_pool q s) tr /\
    Isolation.tablePool_free q = replace_nth (Z.to_nat (i / 64))
      (Z.lor (nth (Z.to_nat (i / 64)) (Isolation.tablePool_free (Isolation.Engine_pool s)) 0) (2 ^ (i mod 64)))
      (Isolation.tablePool_free (Isolation.Engine_pool s)) /\
    bits_ok q.
Proof.
  intros pp s i tr Hpp Hok Hbits Hi Hb. rewrite (release_exact pp s i tr Hpp Hok Hi Hb).
  eexists. split; [reflexivity|]. split; [reflexivity|]. exact (release_pool_bits _ i Hok Hbits Hi).
Qed.

(** ** take, alloc and mustAlloc *)


(** alloc, as [alloc_spec] (CodeUpdate), with the word it writes. *)
Lemma alloc_spec_w : forall pp s tr, pool_lens pp -> pool_ok (Isolation.Engine_pool s) -> bits_ok (Isolation.Engine_pool s) ->
  exists i s', Isolation.tablePool_alloc pp s tr = Ok i s' tr /\
    ((i = -1 /\ s' = s /\ ~ some_free (Isolation.Engine_pool s)) \/
     (0 <= i < ntables (Isolation.Engine_pool s) /\ free_bit (Isolation.Engine_pool s) i = true /\
      exists q, s' = Isolation.set_Engine_pool q s /\ taken_w (Isolation.Engine_pool s) q i)).
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
           exists q, st = Isolation.set_Engine_pool q s /\ taken_w (Isolation.Engine_pool s) q i end)
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
      pose proof (take_spec_w pp s (w * 64 + Z.log2 x) tr Hpp Hok ltac:(lia)) as (q & Ht & Htk).
      step_by Ht. eexists _, _, _. split; [reflexivity|]. split; [reflexivity|].
      split; [lia|]. split; [exact Hbit|]. exists q. split; [reflexivity|exact Htk].
  - split; [reflexivity|]. split; [reflexivity|]. split; [lia|]. intros w' Hw'. lia.
  - rewrite max_fuel_nat. unfold max_fuel. lia.
  - step_by Hj. destruct j as [w|i].
    + destruct Hq as [-> Hnf]. eexists _, _. split; [reflexivity|]. left. split; [reflexivity|]. split; [reflexivity|exact Hnf].
    + eexists _, _. split; [reflexivity|]. right. exact Hq.
Qed.

(** mustAlloc, as [mustAlloc_spec] (CodeUpdate), with the word it writes
    into the bitmap. *)
Theorem mustAlloc_word : forall s tr, pool_ok (Isolation.Engine_pool s) -> bits_ok (Isolation.Engine_pool s) ->
  some_free (Isolation.Engine_pool s) ->
  exists i q, Isolation.Engine_mustAlloc root s tr = Ok i (Isolation.set_Engine_pool q s) tr /\
    0 <= i < ntables (Isolation.Engine_pool s) /\ free_bit (Isolation.Engine_pool s) i = true /\
    taken_w (Isolation.Engine_pool s) q i.
Proof.
  intros s tr Hok Hbits Hsome.
  pose proof (pfield_lens root _ _ _ Isolation.Engine_pool Isolation.set_Engine_pool lens_root ltac:(field_laws))
    as (qp & Hqp & Lp).
  pose proof (alloc_spec_w qp s tr Lp Hok Hbits) as (i & s' & Ha & [(-> & -> & Hn) | (Hi & Hb & q & -> & Hsh)]).
  - contradiction.
  - unfold Isolation.Engine_mustAlloc. step_by (Hqp s tr). step_by Ha.
    destruct (Z.ltb_spec i 0); [lia|].
    eexists _, _. split; [reflexivity|]. split; [exact Hi|]. split; [exact Hb|exact Hsh].
Qed.

(** mustAlloc keeps the bitmap [bits_ok]: when some table is free it
    takes one ([taken], CodeUpdate) and the bitmap stays [bits_ok]. *)
Theorem mustAlloc_bits : forall s tr, pool_ok (Isolation.Engine_pool s) -> bits_ok (Isolation.Engine_pool s) ->
  some_free (Isolation.Engine_pool s) ->
  exists i q, Isolation.Engine_mustAlloc root s tr = Ok i (Isolation.set_Engine_pool q s) tr /\
    0 <= i < ntables (Isolation.Engine_pool s) /\ free_bit (Isolation.Engine_pool s) i = true /\
    taken (Isolation.Engine_pool s) q i /\ bits_ok q.
Proof.
  intros s tr Hok Hbits Hsome.
  pose proof (mustAlloc_word s tr Hok Hbits Hsome) as (i & q & Hm & Hi & Hb & Htk).
  exists i, q. split; [exact Hm|]. split; [exact Hi|]. split; [exact Hb|]. split; [apply Htk|].
  exact (taken_bits _ _ i Hbits Hi Htk).
Qed.

(** ** The loop of update at level 2 *)

(** One iteration of [update]'s loop at level 2 in table [t], from [ipa]:
    the entry of [ipa] is replaced by a leaf or updated through the level
    below, and the loop goes on from the end of the entry's part of the
    range. *)
Definition l2_step (f : nat) (t end' : Z) (u : Isolation.s2update) (ipa : Z) : M Isolation.Engine (step Z Empty_set) :=
  let! t'1 := Isolation.levelSize 2 in
  let base := andnot ipa (wrapu 64 (t'1 - 1)) in
  let! t'2 := Isolation.levelSize 2 in
  let stop := (Z.min end' (wrapu 64 (base + t'2))) in
  let! t'3 := Isolation.entryIndex ipa 2 in
  let! t'4 := Isolation.Engine_slot root t t'3 in
  let slot := t'4 in
  let! t'5 := Isolation.wholeLeaf base ipa stop 2 u in
  let! _ := (if t'5 then
    let! t'6 := Isolation.Engine_replaceLeaf f root slot 2 base u in ret tt
  else
    let! t'7 := Isolation.Engine_descend f root slot 2 base ipa stop u in ret tt) in
  let ipa := stop in
  ret (Continue ipa).

(** update at level 2 over [ipa, end') is its iterations: an invariant
    [I] of the position and the state that every iteration from inside
    the range keeps, moving forward without passing [end'], holds at the
    end, and update never fails. *)
Theorem update_l2_loop : forall f t ipa end' u (I : Z -> Isolation.Engine -> list event -> Prop) e tr,
  ipa <= end' -> end' - ipa <= 2 ^ 64 -> I ipa e tr ->
  (forall cur st tr1, ipa <= cur < end' -> I cur st tr1 ->
     exists nxt st' tr', l2_step f t end' u cur st tr1 = Ok (Continue nxt) st' tr' /\ cur < nxt <= end' /\ I nxt st' tr') ->
  exists st tr', Isolation.Engine_update (S f) root t 2 ipa end' u e tr = Ok tt st tr' /\ I end' st tr'.
Proof.
  intros f t ipa end' u I e tr Hr Hfuel HI Hstep. cbn [Isolation.Engine_update].
  match goal with |- context [loop ?fu ?c ?b ?p ?l0] =>
  destruct (loop_spec fu c b p
    (fun cur st tr1 => ipa <= cur <= end' /\ I cur st tr1)
    (fun j st tr1 => match j with Fall _ => I end' st tr1 | Jump _ => True end)
    (fun cur => Z.to_nat (end' - cur))) with (l := l0) (s := e) (tr := tr) as (r & s' & tr' & Hl & HQ) end.
  - intros cur st tr1 [Hc HIc]. exists (cur <? end'). split; [reflexivity|]. split.
    + intros H. apply Z.ltb_lt in H. lia.
    + intros H. apply Z.ltb_ge in H. replace end' with cur by lia. exact HIc.
  - intros cur st tr1 [Hc HIc] Hlt. injection Hlt as Hlt. apply Z.ltb_lt in Hlt.
    pose proof (Hstep cur st tr1 ltac:(lia) HIc) as (nxt & st' & tr' & Hs & Hn & HIn).
    exists (Continue nxt), st', tr'. split; [exact Hs|].
    exists nxt. split; [reflexivity|]. split; [split; [lia|exact HIn]|]. lia.
  - split; [lia|exact HI].
  - rewrite max_fuel_nat. unfold max_fuel. lia.
  - step_by Hl. destruct r as [cur|[]]. exists s', tr'. split; [reflexivity|exact HQ].
Qed.

(** ** dropTable and clearEntry keep the bitmap *)

(** Writing the tables keeps the bitmap [bits_ok] when their number stays. *)
Lemma bits_ok_set_tables : forall s T, len T = len (tables s) -> bits_ok (Isolation.Engine_pool s) ->
  bits_ok (Isolation.Engine_pool (set_tables s T)).
Proof.
  intros s T Hl (B1 & B2 & B3). split; [|split].
  - rewrite (proj1 (free_set_tables s _)). exact B1.
  - rewrite (proj1 (free_set_tables s _)). exact B2.
  - intros y Hy Hb. rewrite free_bit_set_tables in Hb. rewrite ntables_set_tables, Hl. apply B3; assumption.
Qed.

(** dropTable of a table in use, as [dropTable_ok] (CodeUpdate), keeps
    the bitmap [bits_ok]. *)
Theorem dropTable_bits : forall p x j s tr child base vmid,
  lens p (slot_valid x) (fun s => tent (tables s) x j) (fun v s => set_tables s (put_ent (tables s) x j v)) ->
  slot_valid x s -> Isolation.Engine_plat s <> None -> pool_ok (Isolation.Engine_pool s) ->
  bits_ok (Isolation.Engine_pool s) ->
  0 <= child < len (tables s) -> free_bit (Isolation.Engine_pool s) child = false ->
  exists q, Isolation.Engine_dropTable root p child base vmid s tr =
    Ok tt (Isolation.set_Engine_pool q (set_tables s (put_ent (tables s) x j 0))) (inval vmid base :: tr) /\
    bits_ok q.
Proof.
  intros p x j s tr child base vmid L Hv Hpl Hok Hbits Hc Hfree.
  set (s0 := set_tables s (put_ent (tables s) x j 0)).
  unfold Isolation.Engine_dropTable. step_by (store_lens _ _ _ _ s 0 tr L Hv). fold s0.
  step_by (deref_root s0 tr). unfold s0 at 1. rewrite plat_set_tables.
  destruct (Isolation.Engine_plat s) as [o|]; [|contradiction]. unfold call_iface. cbn [is_set]. step.
  step_by (pfield_pool_root s0 (inval vmid base :: tr)). fold pool_place.
  assert (Hl0 : len (put_ent (tables s) x j 0) = len (tables s)) by apply len_put_ent.
  assert (Hb0 : bits_ok (Isolation.Engine_pool s0)) by (unfold s0; apply bits_ok_set_tables; assumption).
  pose proof (release_bits pool_place s0 child (inval vmid base :: tr) pool_place_lens
    ltac:(unfold s0; apply pool_ok_set_tables; assumption) Hb0
    ltac:(unfold s0; rewrite ntables_set_tables; lia)
    ltac:(unfold s0; rewrite free_bit_set_tables; exact Hfree))
    as (q & Hrel & _ & Hq).
  step_by Hrel. exists q. split; [reflexivity|exact Hq].
Qed.

(** clearEntry of a level-2 entry holding a level-3 table of the pool in
    use, as [clearEntry_table_last] (CodeUpdate), keeps the bitmap
    [bits_ok]. *)
Theorem clearEntry_table_bits : forall fuel e tr t i p base vmid,
  (4 <= fuel)%nat -> tables_ok e -> pool_ok (Isolation.Engine_pool e) -> bits_ok (Isolation.Engine_pool e) ->
  Isolation.Engine_plat e <> None ->
  0 <= t < len (tables e) -> 0 <= i < 512 ->
  lens p (slot_valid t) (fun s => tent (tables s) t i) (fun v s => set_tables s (put_ent (tables s) t i v)) ->
  l2_table_entry e t i -> 0 <= base -> base mod 2 ^ 21 = 0 -> base + 2 ^ 21 < 2 ^ 64 ->
  exists st tr', Isolation.Engine_clearEntry fuel root p 2 base vmid e tr = Ok tt st tr' /\
    bits_ok (Isolation.Engine_pool st).
Proof.
  intros fuel e tr t i p base vmid Hf Hok Hpok Hbits Hpl Ht Hi L Hent Hb0 Hba Hbe.
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
  pose proof (dropTable_bits p t i (set_tables e T1) (invs (tables e) c (Isolation.s2update_vmid (clear_u vmid)) base base (Z.to_nat ((base + 2 ^ 21 - base) / 4096)) ++ tr) c base vmid L Hv1
    ltac:(rewrite plat_set_tables; exact Hpl) ltac:(apply pool_ok_set_tables; assumption)
    ltac:(apply bits_ok_set_tables; assumption)
    ltac:(rewrite tables_set_tables; lia) ltac:(rewrite free_bit_set_tables; exact Hfree))
    as (q & Hdrop & Hq).
  step_by Hdrop. eexists _, _. split; [reflexivity|]. rewrite get_set_pool. exact Hq.
Qed.

(** ** descend keeps the bitmap *)

(** descend into an invalid level-2 entry for a map, as
    [descend_new_last] (CodeUpdate), keeps the bitmap [bits_ok]. *)
Theorem descend_new_bits : forall fuel e tr t i p base ipa stop u,
  (4 <= fuel)%nat -> tables_ok e -> pool_ok (Isolation.Engine_pool e) -> bits_ok (Isolation.Engine_pool e) ->
  some_free (Isolation.Engine_pool e) -> Isolation.Engine_plat e <> None ->
  0 <= t < len (tables e) -> 0 <= i < 512 ->
  lens p (slot_valid t) (fun s => tent (tables s) t i) (fun v s => set_tables s (put_ent (tables s) t i v)) ->
  free_bit (Isolation.Engine_pool e) t = false -> valid_d (tent (tables e) t i) = false ->
  Isolation.s2update_unmap u = false ->
  0 <= base -> base mod 2 ^ 21 = 0 -> base <= ipa <= stop -> stop <= base + 2 ^ 21 -> stop < 2 ^ 64 ->
  ipa mod 4096 = 0 -> stop mod 4096 = 0 -> Isolation.s2update_delta u mod 4096 = 0 ->
  exists st tr', Isolation.Engine_descend fuel root p 2 base ipa stop u e tr = Ok tt st tr' /\
    bits_ok (Isolation.Engine_pool st).
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
  pose proof (mustAlloc_bits e tr Hpok Hbits Hsome) as (c & q & Hma & Hc & Hcf & Htk & Hqb).
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
  exists st, tr'. split; [reflexivity|].
  destruct Hdone as (T' & -> & _ & HT'l & _).
  apply bits_ok_set_tables; [exact HT'l|]. unfold e2. apply bits_ok_set_tables.
  - rewrite len_put_ent. reflexivity.
  - unfold e1. rewrite get_set_pool. exact Hqb.
Qed.

(** descend into a level-2 entry holding a level-3 table of the pool in
    use, as [descend_table_last] (CodeUpdate), keeps the bitmap
    [bits_ok]. *)
Theorem descend_table_bits : forall fuel e tr t i p base ipa stop u,
  (4 <= fuel)%nat -> tables_ok e -> pool_ok (Isolation.Engine_pool e) -> bits_ok (Isolation.Engine_pool e) ->
  Isolation.Engine_plat e <> None ->
  0 <= t < len (tables e) -> 0 <= i < 512 ->
  lens p (slot_valid t) (fun s => tent (tables s) t i) (fun v s => set_tables s (put_ent (tables s) t i v)) ->
  l2_table_entry e t i -> 0 <= base -> base mod 2 ^ 21 = 0 ->
  base <= ipa <= stop -> stop <= base + 2 ^ 21 -> stop < 2 ^ 64 ->
  ipa mod 4096 = 0 -> stop mod 4096 = 0 -> Isolation.s2update_delta u mod 4096 = 0 ->
  exists st tr', Isolation.Engine_descend fuel root p 2 base ipa stop u e tr = Ok tt st tr' /\
    bits_ok (Isolation.Engine_pool st).
Proof.
  intros fuel e tr t i p base ipa stop u Hf Hok Hpok Hbits Hpl Ht Hi L Hent Hb0 Hba Hr Hs Hs64 Hia Hsa Hd.
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
      pose proof (dropTable_bits p t i (set_tables e T1) tr1 c base (Isolation.s2update_vmid u) L Hv1
        ltac:(rewrite plat_set_tables; exact Hpl) ltac:(apply pool_ok_set_tables; assumption)
        ltac:(apply bits_ok_set_tables; assumption)
        ltac:(rewrite tables_set_tables; lia) ltac:(rewrite free_bit_set_tables; exact Hfree))
        as (q & Hdrop & Hq).
      step_by Hdrop. eexists _, _. split; [reflexivity|]. rewrite get_set_pool. exact Hq.
    + eexists _, _. split; [reflexivity|]. apply bits_ok_set_tables; assumption.
  - step. eexists _, _. split; [reflexivity|]. apply bits_ok_set_tables; assumption.
Qed.

(** descend into a level-2 block entry, as [descend_split_last]
    (CodeUpdate), keeps the bitmap [bits_ok]. *)
Theorem descend_split_bits : forall fuel e tr t i p base ipa stop u,
  (4 <= fuel)%nat -> tables_ok e -> pool_ok (Isolation.Engine_pool e) -> bits_ok (Isolation.Engine_pool e) ->
  some_free (Isolation.Engine_pool e) -> Isolation.Engine_plat e <> None ->
  0 <= t < len (tables e) -> 0 <= i < 512 ->
  lens p (slot_valid t) (fun s => tent (tables s) t i) (fun v s => set_tables s (put_ent (tables s) t i v)) ->
  free_bit (Isolation.Engine_pool e) t = false -> valid_d (tent (tables e) t i) = true ->
  Z.land (tent (tables e) t i) 3 <> 3 ->
  0 <= base -> base mod 2 ^ 21 = 0 -> base <= ipa <= stop -> stop <= base + 2 ^ 21 -> stop < 2 ^ 64 ->
  ipa mod 4096 = 0 -> stop mod 4096 = 0 -> Isolation.s2update_delta u mod 4096 = 0 ->
  exists st tr', Isolation.Engine_descend fuel root p 2 base ipa stop u e tr = Ok tt st tr' /\
    bits_ok (Isolation.Engine_pool st).
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
  pose proof (mustAlloc_bits e tr Hpok Hbits Hsome) as (c & q & Hma & Hc & Hcf & Htk & Hqb).
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
  assert (Hb3 : bits_ok (Isolation.Engine_pool e3)).
  { unfold e3. apply bits_ok_set_tables; [rewrite len_put_ent; exact HTsl|]. unfold e1. rewrite get_set_pool. exact Hqb. }
  assert (Hb4 : bits_ok (Isolation.Engine_pool (set_tables e3 T1))) by (apply bits_ok_set_tables; assumption).
  destruct (Isolation.s2update_unmap u) eqn:Hun.
  - pose proof (tableEmpty_ok (set_tables e3 T1) tr1 c ltac:(rewrite tables_set_tables; lia) ltac:(rewrite tables_set_tables; exact HTw))
      as (b & Hb & Hbiff).
    assert (Hte : (let! t'23 := Isolation.Engine_tableEmpty root c in ret t'23) (set_tables e3 T1) tr1 = Ok b (set_tables e3 T1) tr1)
      by (step_by Hb; reflexivity).
    step_by Hte. destruct b.
    + assert (Hv5 : slot_valid t (set_tables e3 T1)) by (split; rewrite tables_set_tables; [lia|exact HTw]).
      pose proof (dropTable_bits p t i (set_tables e3 T1) tr1 c base (Isolation.s2update_vmid u) L Hv5
        ltac:(unfold e3, e1; rewrite !plat_set_tables, plat_set_pool, Epl; discriminate)
        ltac:(apply pool_ok_set_tables; [lia|exact Hpok3]) Hb4
        ltac:(rewrite tables_set_tables; lia) ltac:(rewrite free_bit_set_tables; exact Hcf3))
        as (q5 & Hdrop & Hq5).
      step_by Hdrop. eexists _, _. split; [reflexivity|]. rewrite get_set_pool. exact Hq5.
    + eexists _, _. split; [reflexivity|exact Hb4].
  - step. eexists _, _. split; [reflexivity|exact Hb4].
Qed.

(** replaceLeaf of a level-2 entry holding a level-3 table of the pool in
    use, as [replaceLeaf_table_last] (CodeUpdate), keeps the bitmap
    [bits_ok]. *)
Theorem replaceLeaf_table_bits : forall fuel e tr t i p base u,
  (5 <= fuel)%nat -> tables_ok e -> pool_ok (Isolation.Engine_pool e) -> bits_ok (Isolation.Engine_pool e) ->
  Isolation.Engine_plat e <> None ->
  0 <= t < len (tables e) -> 0 <= i < 512 ->
  lens p (slot_valid t) (fun s => tent (tables s) t i) (fun v s => set_tables s (put_ent (tables s) t i v)) ->
  l2_table_entry e t i -> 0 <= base -> base mod 2 ^ 21 = 0 -> base + 2 ^ 21 < 2 ^ 64 ->
  exists st tr', Isolation.Engine_replaceLeaf fuel root p 2 base u e tr = Ok tt st tr' /\
    bits_ok (Isolation.Engine_pool st).
Proof.
  intros fuel e tr t i p base u Hf Hok Hpok Hbits Hpl Ht Hi L Hent Hb0 Hba Hbe.
  pose proof (replaceLeaf_table_last fuel e tr t i p base u Hf Hok Hpok Hpl Ht Hi L Hent Hb0 Hba Hbe)
    as (st & tr' & Hrl & st1 & Hce & Est).
  pose proof (clearEntry_table_bits (pred fuel) e tr t i p base (Isolation.s2update_vmid u) ltac:(lia)
    Hok Hpok Hbits Hpl Ht Hi L Hent Hb0 Hba Hbe) as (st2 & tr2 & Hce2 & Hb2).
  rewrite Hce in Hce2. injection Hce2 as <- <-.
  exists st, tr'. split; [exact Hrl|]. rewrite Est. destruct (Isolation.s2update_unmap u); [exact Hb2|].
  apply bits_ok_set_tables; [apply len_put_ent|exact Hb2].
Qed.

(** ** The invariant of a level-2 table *)

(** The level-2 table [t] of [e]: [t] is a table of the pool in use, the
    table descriptors among its entries point at tables of the pool in
    use other than [t] ([l2_table_entry]), no two at the same table, and
    the pool and its bitmap are sound: [tables_ok], [pool_ok], [bits_ok],
    [count_ok]. *)
Definition l2_inv (e : Isolation.Engine) (t : Z) : Prop :=
  tables_ok e /\ pool_ok (Isolation.Engine_pool e) /\ bits_ok (Isolation.Engine_pool e) /\
  count_ok (Isolation.Engine_pool e) /\ Isolation.Engine_plat e <> None /\
  0 <= t < len (tables e) /\ free_bit (Isolation.Engine_pool e) t = false /\
  (forall j, 0 <= j < 512 -> Z.land (tent (tables e) t j) 3 = 3 -> l2_table_entry e t j) /\
  (forall j j', 0 <= j < 512 -> 0 <= j' < 512 -> j <> j' ->
     Z.land (tent (tables e) t j) 3 = 3 -> Z.land (tent (tables e) t j') 3 = 3 ->
     child (pool_base e) (tent (tables e) t j) <> child (pool_base e) (tent (tables e) t j')).

(** The frame of one step: a step of [update] at entry [j] of [t] that
    keeps the pool sound, keeps the other entries of [t], flips at most
    the bit of one table [c] (not [t], and no child of another entry),
    and leaves in entry [j] either no table descriptor or one for [c] in
    use, keeps [l2_inv]. *)
Lemma l2_inv_step : forall e e' t j c,
  l2_inv e t -> 0 <= j < 512 ->
  tables_ok e' -> pool_ok (Isolation.Engine_pool e') -> bits_ok (Isolation.Engine_pool e') ->
  count_ok (Isolation.Engine_pool e') -> Isolation.Engine_plat e' <> None ->
  len (tables e') = len (tables e) -> pool_base e' = pool_base e ->
  (forall j', 0 <= j' < 512 -> j' <> j -> tent (tables e') t j' = tent (tables e) t j') ->
  c <> t ->
  (forall j', 0 <= j' < 512 -> j' <> j -> Z.land (tent (tables e) t j') 3 = 3 ->
     child (pool_base e) (tent (tables e) t j') <> c) ->
  (forall y, 0 <= y -> y <> c -> free_bit (Isolation.Engine_pool e') y = free_bit (Isolation.Engine_pool e) y) ->
  (Z.land (tent (tables e') t j) 3 = 3 ->
     l2_table_entry e' t j /\ child (pool_base e') (tent (tables e') t j) = c) ->
  l2_inv e' t.
Proof.
  intros e e' t j c (Hok & Hpok & Hb & Hc & Hpl & Ht & Htu & Hent & Hdis) Hj
    Hok' Hpok' Hb' Hc' Hpl' Hlen Hbase Hother Hct Hcnot Hbits Hjent.
  unfold l2_inv. split; [exact Hok'|]. split; [exact Hpok'|]. split; [exact Hb'|]. split; [exact Hc'|].
  split; [exact Hpl'|]. split; [lia|].
  split; [rewrite Hbits by lia; exact Htu|]. split.
  - intros j' Hj' H3. destruct (Z.eq_dec j' j) as [->|Hne]; [apply Hjent; exact H3|].
    rewrite Hother in H3 by assumption.
    pose proof (Hent j' Hj' H3) as (_ & Hle & Hlt & Hnt & Hfr).
    assert (Hcc : child (pool_base e) (tent (tables e) t j') <> c) by (apply Hcnot; assumption).
    unfold l2_table_entry. rewrite Hother by assumption. rewrite Hbase, Hlen.
    split; [exact H3|]. split; [exact Hle|]. split; [exact Hlt|]. split; [exact Hnt|].
    rewrite Hbits; [exact Hfr|unfold child; apply Z.div_pos; lia|exact Hcc].
  - intros a b Ha Hb2 Hab Ha3 Hb3. rewrite Hbase.
    destruct (Z.eq_dec a j) as [->|Hna]; destruct (Z.eq_dec b j) as [->|Hnb]; try contradiction.
    + pose proof (Hjent Ha3) as [_ E]. rewrite Hbase in E. rewrite E.
      rewrite Hother in Hb3 |- * by assumption. intros H. apply (Hcnot b Hb2 Hnb Hb3). symmetry. exact H.
    + pose proof (Hjent Hb3) as [_ E]. rewrite Hbase in E. rewrite E.
      rewrite Hother in Ha3 |- * by assumption. apply (Hcnot a Ha Hna Ha3).
    + rewrite !Hother in * by assumption. apply Hdis; assumption.
Qed.

(** ** The table descriptor of a new table *)

Lemma oa_bits : forall n, 0 <= n -> Z.testbit Isolation.descOAMask n = (12 <=? n) && (n <? 48).
Proof.
  intros n Hn. change Isolation.descOAMask with (Z.shiftl (Z.ones 36) 12).
  destruct (Z.ltb_spec n 12).
  - rewrite Z.shiftl_spec_low by lia. destruct (Z.leb_spec 12 n); [lia|reflexivity].
  - rewrite Z.shiftl_spec_high by lia. rewrite Z.testbit_ones_nonneg by lia.
    destruct (Z.leb_spec 12 n); [|lia]. cbn [andb].
    destruct (Z.ltb_spec (n - 12) 36), (Z.ltb_spec n 48); reflexivity || lia.
Qed.

Lemma page_low_bits : forall x n, x mod 4096 = 0 -> 0 <= n < 12 -> Z.testbit x n = false.
Proof.
  intros x n Hx Hn. pose proof (Z.div_mod x 4096 ltac:(lia)) as E. rewrite Hx, Z.add_0_r in E.
  rewrite E. change 4096 with (2 ^ 12). rewrite Z.mul_comm. apply Z.mul_pow2_bits_low. lia.
Qed.

Lemma small_high_bits : forall x n, 0 <= x < 2 ^ 48 -> 48 <= n -> Z.testbit x n = false.
Proof.
  intros x n Hx Hn. rewrite <- (Z.mod_small x (2 ^ 48)) by lia. apply Z.mod_pow2_bits_high. lia.
Qed.

Lemma low_bits_1_2_3 : forall n, 2 <= n -> Z.testbit 1 n = false /\ Z.testbit 2 n = false /\ Z.testbit 3 n = false.
Proof.
  intros n Hn. split; [|split]; apply Z.bits_above_log2; cbn; lia.
Qed.

(** The table descriptor [descend] writes for a table [c] of a pool at a
    page-aligned [base], below 2^48, is a table descriptor that names [c]. *)
Lemma tdesc_spec : forall base c, 0 <= base -> base mod 4096 = 0 -> 0 <= c -> base + 4096 * c < 2 ^ 48 ->
  Z.land (tdesc base c) 3 = 3 /\ Z.land (tdesc base c) Isolation.descOAMask = base + 4096 * c /\
  child base (tdesc base c) = c.
Proof.
  intros base c Hb Hba Hc Hlt.
  assert (Ex : wrapu 64 (base + shl 64 false (wrapu 64 c) Isolation.PageShift) = base + 4096 * c).
  { unfold wrapu, shl. rewrite (Z.mod_small c) by lia. change Isolation.PageShift with 12.
    replace (64 <=? 12) with false by reflexivity. rewrite Z.shiftl_mul_pow2 by lia.
    unfold wrapu. rewrite (Z.mod_small (c * 2 ^ 12)) by lia. rewrite Z.mod_small by lia. lia. }
  assert (Hxa : (base + 4096 * c) mod 4096 = 0) by (rewrite Z.mul_comm, Z.mod_add by lia; exact Hba).
  unfold tdesc. rewrite Ex. set (x := base + 4096 * c) in *.
  assert (Eoa : Z.land (Z.lor (Z.lor (Z.land x Isolation.descOAMask) Isolation.descValid) Isolation.descTable)
    Isolation.descOAMask = x).
  { apply Z.bits_inj'. intros n Hn. rewrite !Z.land_spec, !Z.lor_spec, Z.land_spec, oa_bits by lia.
    change Isolation.descValid with 1. change Isolation.descTable with 2.
    destruct (Z.ltb_spec n 12).
    - rewrite page_low_bits by (auto; lia). destruct (Z.leb_spec 12 n); [lia|]. cbn [andb]. apply andb_false_r.
    - pose proof (low_bits_1_2_3 n ltac:(lia)) as (E1 & E2 & _). rewrite E1, E2, !orb_false_r.
      destruct (Z.ltb_spec n 48).
      + destruct (Z.leb_spec 12 n); [|lia]. cbn [andb]. rewrite !andb_true_r. reflexivity.
      + rewrite small_high_bits by lia. rewrite !andb_false_r. reflexivity. }
  split; [|split; [exact Eoa|]].
  - apply Z.bits_inj'. intros n Hn. rewrite Z.land_spec, !Z.lor_spec.
    change Isolation.descValid with 1. change Isolation.descTable with 2.
    destruct (Z.ltb_spec n 2).
    + assert (n = 0 \/ n = 1) as [->| ->] by lia; cbn; rewrite ?orb_true_r; reflexivity.
    + pose proof (low_bits_1_2_3 n ltac:(lia)) as (E1 & E2 & E3). rewrite E3. apply andb_false_r.
  - unfold child. rewrite Eoa. unfold x. replace (base + 4096 * c - base) with (c * 4096) by ring.
    apply Z.div_mul. lia.
Qed.

(** ** A new table for an invalid entry keeps the invariant *)

Lemma count_set_tables : forall s T, len T = len (tables s) ->
  count_free (Isolation.Engine_pool (set_tables s T)) = count_free (Isolation.Engine_pool s).
Proof.
  intros s T Hl. unfold count_free. rewrite ntables_set_tables, Hl.
  erewrite filter_ext; [reflexivity|]. intros n. cbv beta. apply free_bit_set_tables.
Qed.

Lemma count_ok_set_tables : forall s T, len T = len (tables s) -> count_ok (Isolation.Engine_pool s) ->
  count_ok (Isolation.Engine_pool (set_tables s T)).
Proof.
  intros s T Hl H. unfold count_ok in *. rewrite count_set_tables by exact Hl.
  rewrite (proj2 (free_set_tables s T)). exact H.
Qed.

(** descend into an invalid entry [i] of a level-2 table [t] for a map,
    from a state with [l2_inv] and a free table, keeps [l2_inv], takes one
    table (the count of free tables goes down by one), and keeps the other
    entries of [t], the base and the number of tables. The pool must be
    page aligned and below 2^48, as [tablePool.init] checks. *)
Theorem descend_new_inv : forall fuel e tr t i p base ipa stop u,
  (4 <= fuel)%nat -> l2_inv e t -> 0 < count_free (Isolation.Engine_pool e) ->
  pool_base e mod 4096 = 0 -> pool_base e + 4096 * len (tables e) <= 2 ^ 48 -> 0 <= i < 512 ->
  lens p (slot_valid t) (fun s => tent (tables s) t i) (fun v s => set_tables s (put_ent (tables s) t i v)) ->
  valid_d (tent (tables e) t i) = false -> Isolation.s2update_unmap u = false ->
  0 <= base -> base mod 2 ^ 21 = 0 -> base <= ipa <= stop -> stop <= base + 2 ^ 21 -> stop < 2 ^ 64 ->
  ipa mod 4096 = 0 -> stop mod 4096 = 0 -> Isolation.s2update_delta u mod 4096 = 0 ->
  exists st tr', Isolation.Engine_descend fuel root p 2 base ipa stop u e tr = Ok tt st tr' /\
    l2_inv st t /\ count_free (Isolation.Engine_pool st) = count_free (Isolation.Engine_pool e) - 1 /\
    pool_base st = pool_base e /\ len (tables st) = len (tables e) /\
    (forall j, 0 <= j < 512 -> j <> i -> tent (tables st) t j = tent (tables e) t j).
Proof.
  intros fuel e tr t i p base ipa stop u Hf Hinv Hcnt Hal Hbelow Hi L Hval Hun Hb0 Hba Hr Hs Hs64 Hia Hsa Hd.
  pose proof Hinv as (Hok & Hpok & Hbits & Hcok & Hpl & Ht & Htu & Hent & Hdis).
  pose proof Hok as (Hwh & Hsmall & Hbase). fold (whole (tables e)) in Hwh.
  assert (Hsome : some_free (Isolation.Engine_pool e)) by (apply count_some_free; assumption).
  pose proof (descend_new_last fuel e tr t i p base ipa stop u Hf Hok Hpok Hbits Hsome Hpl Ht Hi L Htu Hval Hun
    Hb0 Hba Hr Hs Hs64 Hia Hsa Hd) as (c & q & st & tr' & Hde & Hc & Hct & Hcf & Htk & Hdone).
  pose proof (descend_new_bits fuel e tr t i p base ipa stop u Hf Hok Hpok Hbits Hsome Hpl Ht Hi L Htu Hval Hun
    Hb0 Hba Hr Hs Hs64 Hia Hsa Hd) as (st2 & tr2 & Hde2 & Hb2).
  rewrite Hde in Hde2. injection Hde2 as <- <-.
  exists st, tr'. split; [exact Hde|].
  pose proof (tables_set_pool_taken e q c Htk) as (HT1 & HB1).
  pose proof Htk as ([Esh1 Esh2] & Hnf & Hqc & Hqo & _ & _).
  pose proof (take_count _ _ c Hpok Hcok Hc Hcf Htk) as (Hcq & Ecq).
  set (e1 := Isolation.set_Engine_pool q e) in *.
  set (e2 := set_tables e1 (put_ent (tables e1) t i (tdesc (pool_base e) c))) in *.
  destruct Hdone as (T' & -> & _ & HT'l & HT'w & HT'p).
  assert (Hl1 : len (tables e1) = len (tables e)) by (rewrite HT1; apply len_replace).
  assert (Hw1 : whole (tables e1)) by (rewrite HT1; apply Forall_replace; [exact Hwh|reflexivity]).
  assert (Hl2 : len (tables e2) = len (tables e)) by (unfold e2; rewrite tables_set_tables, len_put_ent; exact Hl1).
  assert (Hb2' : pool_base e2 = pool_base e) by (unfold e2; rewrite base_set_tables; exact HB1).
  assert (Hlen : len (tables (set_tables e2 T')) = len (tables e)) by (rewrite tables_set_tables; lia).
  assert (Hbase' : pool_base (set_tables e2 T') = pool_base e) by (rewrite base_set_tables; exact Hb2').
  assert (Hfb : forall y, free_bit (Isolation.Engine_pool (set_tables e2 T')) y = free_bit q y).
  { intros y. rewrite free_bit_set_tables. unfold e2. rewrite free_bit_set_tables. unfold e1. rewrite get_set_pool. reflexivity. }
  assert (Ht2 : forall x j, 0 <= x -> 0 <= j < 512 -> x <> c -> tent (tables (set_tables e2 T')) x j = tent (tables e2) x j).
  { intros x j Hx Hj Hxc. rewrite tables_set_tables, HT'p by assumption.
    replace (x =? c) with false by (symmetry; apply Z.eqb_neq; exact Hxc). reflexivity. }
  assert (He2 : forall j, 0 <= j < 512 -> tent (tables e2) t j = if j =? i then tdesc (pool_base e) c else tent (tables e) t j).
  { intros j Hj. unfold e2. rewrite tables_set_tables, tent_put_ent by (auto; lia).
    rewrite Z.eqb_refl. cbn [andb]. destruct (Z.eqb_spec j i); [reflexivity|].
    rewrite HT1. apply tent_replace_other; lia. }
  assert (Hc0 : 0 <= c) by lia.
  unfold ntables in Hc. fold (tables e) in Hc.
  pose proof (tdesc_spec (pool_base e) c Hbase Hal Hc0 ltac:(lia)) as (Td3 & Tdoa & Tdc).
  assert (Hcount : count_free (Isolation.Engine_pool (set_tables e2 T')) = count_free (Isolation.Engine_pool e) - 1).
  { rewrite count_set_tables by lia. unfold e2. rewrite count_set_tables by (rewrite len_put_ent; reflexivity).
    unfold e1. rewrite get_set_pool. exact Ecq. }
  split; [|split; [exact Hcount|split; [exact Hbase'|split; [exact Hlen|]]]].
  2:{ intros j Hj Hne. rewrite Ht2 by lia. rewrite He2 by lia. replace (j =? i) with false by (symmetry; apply Z.eqb_neq; exact Hne). reflexivity. }
  apply (l2_inv_step e (set_tables e2 T') t i c Hinv Hi).
  - split; [rewrite tables_set_tables; exact HT'w|]. split; [lia|]. rewrite Hbase'. exact Hbase.
  - apply pool_ok_set_tables; [lia|]. unfold e2. apply pool_ok_set_tables; [rewrite len_put_ent; reflexivity|].
    unfold e1. rewrite get_set_pool. eapply same_shape_ok; [exact Hpok|exact (proj1 Htk)].
  - exact Hb2.
  - apply count_ok_set_tables; [lia|]. unfold e2. apply count_ok_set_tables; [rewrite len_put_ent; reflexivity|].
    unfold e1. rewrite get_set_pool. exact Hcq.
  - rewrite plat_set_tables. unfold e2. rewrite plat_set_tables. unfold e1. rewrite plat_set_pool. exact Hpl.
  - exact Hlen.
  - exact Hbase'.
  - intros j' Hj' Hne. rewrite Ht2 by lia. rewrite He2 by lia. replace (j' =? i) with false by (symmetry; apply Z.eqb_neq; exact Hne). reflexivity.
  - exact Hct.
  - intros j' Hj' Hne H3 E. pose proof (Hent j' Hj' H3) as (_ & _ & _ & _ & Hfr). rewrite E, Hcf in Hfr. discriminate.
  - intros y Hy Hne. rewrite Hfb. apply Hqo; assumption.
  - intros _. rewrite Ht2 by lia. rewrite He2 by lia. rewrite Z.eqb_refl. rewrite Hbase'.
    unfold l2_table_entry. rewrite Hlen, Hbase'. rewrite Ht2 by lia. rewrite He2 by lia. rewrite Z.eqb_refl.
    rewrite Tdc, Tdoa. split; [split; [exact Td3|]|reflexivity].
    split; [lia|]. split; [lia|]. split; [exact Hct|]. rewrite Hfb. exact Hqc.
Qed.

(** ** An entry holding a table keeps the invariant *)

(** Writing the tables, keeping their number, their shape and the
    entries of [t] outside the table [c] a table descriptor of [t] at
    [i] names, keeps [l2_inv]. *)
Lemma l2_inv_tables : forall e t i T, l2_inv e t -> 0 <= i < 512 -> l2_table_entry e t i ->
  len T = len (tables e) -> whole T ->
  (forall j, 0 <= j < 512 -> tent T t j = tent (tables e) t j) ->
  l2_inv (set_tables e T) t.
Proof.
  intros e t i T Hinv Hi Hent Hl Hw HT.
  pose proof Hinv as (Hok & Hpok & Hbits & Hcok & Hpl & Ht & Htu & Hents & Hdis).
  pose proof Hent as (H3 & Hle & Hlt & Hne & Hfree).
  apply (l2_inv_step e (set_tables e T) t i (child (pool_base e) (tent (tables e) t i)) Hinv Hi).
  - split; [rewrite tables_set_tables; exact Hw|]. rewrite tables_set_tables, base_set_tables, Hl.
    split; [apply Hok|apply Hok].
  - apply pool_ok_set_tables; assumption.
  - apply bits_ok_set_tables; assumption.
  - apply count_ok_set_tables; assumption.
  - rewrite plat_set_tables. exact Hpl.
  - rewrite tables_set_tables. exact Hl.
  - apply base_set_tables.
  - intros j' Hj' _. rewrite tables_set_tables. apply HT. exact Hj'.
  - exact Hne.
  - intros j' Hj' Hne' H3'. apply Hdis; assumption.
  - intros y _ _. apply free_bit_set_tables.
  - intros _. unfold l2_table_entry. rewrite tables_set_tables, base_set_tables, free_bit_set_tables, HT, Hl by exact Hi.
    repeat split; assumption.
Qed.

(** descend into an entry [i] of a level-2 table [t] that holds a table
    descriptor, from a state with [l2_inv], keeps [l2_inv], takes no
    table (the count of free tables does not go down), and keeps the
    other entries of [t], the base and the number of tables. *)
Theorem descend_table_inv : forall fuel e tr t i p base ipa stop u,
  (4 <= fuel)%nat -> l2_inv e t -> 0 <= i < 512 ->
  lens p (slot_valid t) (fun s => tent (tables s) t i) (fun v s => set_tables s (put_ent (tables s) t i v)) ->
  Z.land (tent (tables e) t i) 3 = 3 ->
  0 <= base -> base mod 2 ^ 21 = 0 -> base <= ipa <= stop -> stop <= base + 2 ^ 21 -> stop < 2 ^ 64 ->
  ipa mod 4096 = 0 -> stop mod 4096 = 0 -> Isolation.s2update_delta u mod 4096 = 0 ->
  exists st tr', Isolation.Engine_descend fuel root p 2 base ipa stop u e tr = Ok tt st tr' /\
    l2_inv st t /\ count_free (Isolation.Engine_pool e) <= count_free (Isolation.Engine_pool st) /\
    pool_base st = pool_base e /\ len (tables st) = len (tables e) /\
    (forall j, 0 <= j < 512 -> j <> i -> tent (tables st) t j = tent (tables e) t j).
Proof.
  intros fuel e tr t i p base ipa stop u Hf Hinv Hi L H3i Hb0 Hba Hr Hs Hs64 Hia Hsa Hd.
  pose proof Hinv as (Hok & Hpok & Hbits & Hcok & Hpl & Ht & Htu & Hents & Hdis).
  pose proof (Hents i Hi H3i) as Hent.
  pose proof Hent as (H3 & Hle & Hlt & Hne & Hfree).
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
  assert (HTt : forall j, 0 <= j < 512 -> tent T1 t j = tent (tables e) t j).
  { intros j Hj. rewrite HTp by lia. replace (t =? c) with false by (symmetry; apply Z.eqb_neq; lia). reflexivity. }
  assert (Hinv1 : l2_inv (set_tables e T1) t) by (apply (l2_inv_tables e t i T1); assumption).
  assert (Hkeep : l2_inv (set_tables e T1) t /\ count_free (Isolation.Engine_pool e) <= count_free (Isolation.Engine_pool (set_tables e T1)) /\
    pool_base (set_tables e T1) = pool_base e /\ len (tables (set_tables e T1)) = len (tables e) /\
    (forall j, 0 <= j < 512 -> j <> i -> tent (tables (set_tables e T1)) t j = tent (tables e) t j)).
  { split; [exact Hinv1|]. rewrite count_set_tables by exact HTl. split; [lia|].
    split; [apply base_set_tables|]. rewrite tables_set_tables. split; [exact HTl|]. intros j Hj _. apply HTt. exact Hj. }
  destruct (Isolation.s2update_unmap u) eqn:Hun.
  - pose proof (tableEmpty_ok (set_tables e T1) tr1 c ltac:(rewrite tables_set_tables; lia) ltac:(rewrite tables_set_tables; exact HTw))
      as (b & Hb & Hbiff).
    assert (Hte : (let! t'23 := Isolation.Engine_tableEmpty root c in ret t'23) (set_tables e T1) tr1 = Ok b (set_tables e T1) tr1)
      by (step_by Hb; reflexivity).
    step_by Hte. destruct b.
    + assert (Hv1 : slot_valid t (set_tables e T1)) by (split; rewrite tables_set_tables; [lia|exact HTw]).
      assert (Hpok1 : pool_ok (Isolation.Engine_pool (set_tables e T1))) by (apply pool_ok_set_tables; assumption).
      assert (Hfree1 : free_bit (Isolation.Engine_pool (set_tables e T1)) c = false) by (rewrite free_bit_set_tables; exact Hfree).
      pose proof (dropTable_ok p t i (set_tables e T1) tr1 c base (Isolation.s2update_vmid u) L Hv1
        ltac:(rewrite plat_set_tables; exact Hpl) Hpok1
        ltac:(rewrite tables_set_tables; lia) Hfree1)
        as (q & Hdrop & HP & Hsh & Hnf & Hbc & Hout).
      pose proof (dropTable_bits p t i (set_tables e T1) tr1 c base (Isolation.s2update_vmid u) L Hv1
        ltac:(rewrite plat_set_tables; exact Hpl) Hpok1 ltac:(apply bits_ok_set_tables; assumption)
        ltac:(rewrite tables_set_tables; lia) Hfree1)
        as (q2 & Hdrop2 & Hq2).
      rewrite Hdrop in Hdrop2. injection Hdrop2 as Eq. subst q2.
      step_by Hdrop. rewrite tables_set_tables, set_tables_twice in *.
      set (ef := Isolation.set_Engine_pool q (set_tables e (put_ent T1 t i 0))).
      assert (HTf : tables ef = put_ent T1 t i 0).
      { unfold ef, tables. rewrite get_set_pool. rewrite HP. exact (tables_set_tables e (put_ent T1 t i 0)). }
      assert (HBf : pool_base ef = pool_base e).
      { unfold ef, pool_base. rewrite get_set_pool. rewrite HP. exact (base_set_tables e (put_ent T1 t i 0)). }
      assert (Hcnt1 := Hinv1). destruct Hcnt1 as (_ & _ & _ & Hcok1 & _).
      pose proof (release_count _ q c Hpok1 Hcok1 ltac:(rewrite ntables_set_tables; lia) Hfree1 Hsh Hnf Hbc Hout)
        as (Hcq & Ecq).
      assert (HTl' : len (put_ent T1 t i 0) = len (tables e)) by (rewrite len_put_ent; exact HTl).
      eexists _, _. split; [reflexivity|]. fold ef.
      assert (Hoth : forall j, 0 <= j < 512 -> j <> i -> tent (tables ef) t j = tent (tables e) t j).
      { intros j Hj Hji. rewrite HTf, tent_put_ent by (auto; lia). rewrite Z.eqb_refl. cbn [andb].
        replace (j =? i) with false by (symmetry; apply Z.eqb_neq; exact Hji). apply HTt. exact Hj. }
      split; [|split; [|split; [exact HBf|split; [rewrite HTf; exact HTl'|exact Hoth]]]].
      * apply (l2_inv_step (set_tables e T1) ef t i c Hinv1 Hi).
        -- split; [rewrite HTf; apply whole_put_ent; [exact HTw|lia]|]. rewrite HTf, HBf, HTl'. split; assumption.
        -- unfold ef. rewrite get_set_pool. eapply same_shape_ok; [exact Hpok1|exact Hsh].
        -- unfold ef. rewrite get_set_pool. exact Hq2.
        -- unfold ef. rewrite get_set_pool. exact Hcq.
        -- unfold ef. rewrite plat_set_pool, plat_set_tables. exact Hpl.
        -- rewrite HTf, tables_set_tables. apply len_put_ent.
        -- rewrite HBf, base_set_tables. reflexivity.
        -- intros j' Hj' Hji. rewrite HTf, tables_set_tables, tent_put_ent by (auto; lia). rewrite Z.eqb_refl. cbn [andb].
           replace (j' =? i) with false by (symmetry; apply Z.eqb_neq; exact Hji). reflexivity.
        -- exact Hne.
        -- intros j' Hj' Hji H3'. rewrite tables_set_tables, base_set_tables in *. rewrite HTt in * by exact Hj'.
           intros E. apply (Hdis j' i Hj' Hi Hji H3' H3). exact E.
        -- intros y Hy Hyc. unfold ef. rewrite get_set_pool. apply Hout; assumption.
        -- intros H0. exfalso. rewrite HTf, tent_put_ent in H0 by (auto; lia). rewrite !Z.eqb_refl in H0. discriminate.
      * unfold ef. rewrite get_set_pool, Ecq, count_set_tables by exact HTl. lia.
    + eexists _, _. split; [reflexivity|exact Hkeep].
  - step. eexists _, _. split; [reflexivity|exact Hkeep].
Qed.

(** ** A leaf or nothing in an entry keeps the invariant *)

(** A block leaf at level 2 has bit 1 clear: it is no table descriptor. *)
Lemma leaf2_not_table : forall pa a, Z.land (leaf_val pa 2 a) 3 <> 3.
Proof.
  intros pa a E. assert (H : Z.testbit (leaf_val pa 2 a) 1 = false).
  { unfold leaf_val, Isolation.leafDesc. cbn [bind ret Isolation.lastLevel Z.eqb Pos.eqb].
    repeat match goal with |- context [if ?c then _ else _] => destruct c end;
    cbn [bind ret]; rewrite ?Z.lor_spec, Z.land_spec, oa_bits by lia;
    replace ((12 <=? 1) && (1 <? 48)) with false by reflexivity; rewrite andb_false_r; reflexivity. }
  assert (H1 : Z.testbit (Z.land (leaf_val pa 2 a) 3) 1 = true) by (rewrite E; reflexivity).
  rewrite Z.land_spec, H in H1. discriminate.
Qed.

(** What replaceLeaf leaves in a level-2 entry that held no table
    descriptor is no table descriptor. *)
Lemma new_ent2_not_table : forall u base old, Z.land old 3 <> 3 -> Z.land (new_ent u 2 base old) 3 <> 3.
Proof.
  intros u base old H. unfold new_ent. destruct (Isolation.s2update_unmap u).
  - destruct (valid_d old); [cbn; discriminate|exact H].
  - apply leaf2_not_table.
Qed.

(** Writing entry [j] of [t] with no table descriptor, where it held
    none, keeps [l2_inv] and the count of free tables. *)
Lemma l2_inv_put_leaf : forall e t j v, l2_inv e t -> 0 <= j < 512 ->
  Z.land (tent (tables e) t j) 3 <> 3 -> Z.land v 3 <> 3 ->
  l2_inv (set_tables e (put_ent (tables e) t j v)) t /\
  count_free (Isolation.Engine_pool (set_tables e (put_ent (tables e) t j v))) = count_free (Isolation.Engine_pool e).
Proof.
  intros e t j v Hinv Hj Hold Hv.
  pose proof Hinv as (Hok & Hpok & Hbits & Hcok & Hpl & Ht & Htu & Hents & Hdis).
  pose proof Hok as (Hwh & Hsmall & Hbase). fold (whole (tables e)) in Hwh.
  assert (Hl : len (put_ent (tables e) t j v) = len (tables e)) by apply len_put_ent.
  split; [|apply count_set_tables; exact Hl].
  apply (l2_inv_step e _ t j (-1) Hinv Hj).
  - split; [rewrite tables_set_tables; apply whole_put_ent; [exact Hwh|lia]|].
    rewrite tables_set_tables, base_set_tables, Hl. split; assumption.
  - apply pool_ok_set_tables; assumption.
  - apply bits_ok_set_tables; assumption.
  - apply count_ok_set_tables; assumption.
  - rewrite plat_set_tables. exact Hpl.
  - rewrite tables_set_tables. exact Hl.
  - apply base_set_tables.
  - intros j' Hj' Hne. rewrite tables_set_tables, tent_put_ent by (auto; lia). rewrite Z.eqb_refl. cbn [andb].
    replace (j' =? j) with false by (symmetry; apply Z.eqb_neq; exact Hne). reflexivity.
  - lia.
  - intros j' Hj' _ H3. pose proof (Hents j' Hj' H3) as (_ & Hle & _). pose proof (child_nonneg e _ Hle). lia.
  - intros y _ _. apply free_bit_set_tables.
  - intros H3. exfalso. rewrite tables_set_tables, tent_put_ent in H3 by (auto; lia). rewrite !Z.eqb_refl in H3.
    exact (Hv H3).
Qed.

(** replaceLeaf of an entry [i] of a level-2 table [t] that holds no
    table descriptor, from a state with [l2_inv], keeps [l2_inv], the
    count of free tables, the other entries of [t], the base and the
    number of tables. *)
Theorem replaceLeaf_leaf_inv : forall f e tr t i p base u, l2_inv e t -> 0 <= i < 512 ->
  lens p (slot_valid t) (fun s => tent (tables s) t i) (fun v s => set_tables s (put_ent (tables s) t i v)) ->
  Z.land (tent (tables e) t i) 3 <> 3 ->
  exists st tr', Isolation.Engine_replaceLeaf (S (S f)) root p 2 base u e tr = Ok tt st tr' /\
    l2_inv st t /\ count_free (Isolation.Engine_pool st) = count_free (Isolation.Engine_pool e) /\
    pool_base st = pool_base e /\ len (tables st) = len (tables e) /\
    (forall j, 0 <= j < 512 -> j <> i -> tent (tables st) t j = tent (tables e) t j).
Proof.
  intros f e tr t i p base u Hinv Hi L H3.
  pose proof Hinv as (Hok & Hpok & Hbits & Hcok & Hpl & Ht & Htu & Hents & Hdis).
  pose proof Hok as (Hwh & Hsmall & Hbase). fold (whole (tables e)) in Hwh.
  assert (Hv : slot_valid t e) by (split; [lia|exact Hwh]).
  pose proof (slot_laws t i ltac:(lia) Hi) as (L1 & L2 & L3).
  pose proof (replaceLeaf_leaf_ok f p _ _ _ e tr 2 base u L Hv Hpl L1 L2 L3
    ltac:(apply andb_false_iff; right; apply Z.eqb_neq; exact H3)) as Hrl.
  eexists _, _. split; [exact Hrl|]. cbv beta.
  pose proof (l2_inv_put_leaf e t i _ Hinv Hi H3 (new_ent2_not_table u base _ H3)) as [Hi2 Hc2].
  split; [exact Hi2|]. split; [exact Hc2|]. split; [apply base_set_tables|].
  rewrite tables_set_tables. split; [apply len_put_ent|].
  intros j Hj Hne. rewrite tent_put_ent by (auto; lia). rewrite Z.eqb_refl. cbn [andb].
  replace (j =? i) with false by (symmetry; apply Z.eqb_neq; exact Hne). reflexivity.
Qed.

(** replaceLeaf of an entry [i] of a level-2 table [t] that holds a table
    descriptor, from a state with [l2_inv], keeps [l2_inv]: the table
    below is cleared and released (one more free table), then the entry
    holds the block leaf of a map, or nothing for an unmap; the other
    entries of [t], the base and the number of tables stay. *)
Theorem replaceLeaf_table_inv : forall fuel e tr t i p base u,
  (5 <= fuel)%nat -> l2_inv e t -> 0 <= i < 512 ->
  lens p (slot_valid t) (fun s => tent (tables s) t i) (fun v s => set_tables s (put_ent (tables s) t i v)) ->
  Z.land (tent (tables e) t i) 3 = 3 -> 0 <= base -> base mod 2 ^ 21 = 0 -> base + 2 ^ 21 < 2 ^ 64 ->
  exists st tr', Isolation.Engine_replaceLeaf fuel root p 2 base u e tr = Ok tt st tr' /\
    l2_inv st t /\ count_free (Isolation.Engine_pool st) = count_free (Isolation.Engine_pool e) + 1 /\
    pool_base st = pool_base e /\ len (tables st) = len (tables e) /\
    (forall j, 0 <= j < 512 -> j <> i -> tent (tables st) t j = tent (tables e) t j).
Proof.
  intros fuel e tr t i p base u Hf Hinv Hi L H3i Hb0 Hba Hbe.
  pose proof Hinv as (Hok & Hpok & Hbits & Hcok & Hpl & Ht & Htu & Hents & Hdis).
  pose proof (Hents i Hi H3i) as Hent.
  pose proof Hent as (H3 & Hle & Hlt & Hne & Hfree).
  pose proof Hok as (Hwh & Hsmall & Hbase). fold (whole (tables e)) in Hwh.
  pose proof (replaceLeaf_table_last fuel e tr t i p base u Hf Hok Hpok Hpl Ht Hi L Hent Hb0 Hba Hbe)
    as (st & tr' & Hrl & st1 & Hce & Est).
  pose proof (clearEntry_table_last (pred fuel) e tr t i p base (Isolation.s2update_vmid u) ltac:(lia)
    Hok Hpok Hpl Ht Hi L Hent Hb0 Hba Hbe) as (T1 & q & Hce1 & HTl & HTw & HTp & HP & Hsh & Hnf & Hbc & Hout).
  pose proof (clearEntry_table_bits (pred fuel) e tr t i p base (Isolation.s2update_vmid u) ltac:(lia)
    Hok Hpok Hbits Hpl Ht Hi L Hent Hb0 Hba Hbe) as (st2 & tr2 & Hce2 & Hb2).
  rewrite Hce in Hce1. apply ok_state in Hce1. subst st1.
  rewrite Hce in Hce2. apply ok_state in Hce2. subst st2.
  set (c := child (pool_base e) (tent (tables e) t i)) in *.
  set (ef := Isolation.set_Engine_pool q (set_tables e (put_ent T1 t i 0))) in *.
  assert (Hc0 : 0 <= c) by (apply child_nonneg; exact Hle).
  assert (HTt : forall j, 0 <= j < 512 -> tent T1 t j = tent (tables e) t j).
  { intros j Hj. rewrite HTp by lia. replace (t =? c) with false by (symmetry; apply Z.eqb_neq; lia). reflexivity. }
  assert (HTf : tables ef = put_ent T1 t i 0).
  { unfold ef, tables. rewrite get_set_pool. rewrite HP. exact (tables_set_tables e (put_ent T1 t i 0)). }
  assert (HBf : pool_base ef = pool_base e).
  { unfold ef, pool_base. rewrite get_set_pool. rewrite HP. exact (base_set_tables e (put_ent T1 t i 0)). }
  assert (HTl' : len (put_ent T1 t i 0) = len (tables e)) by (rewrite len_put_ent; exact HTl).
  unfold ef in Hb2. rewrite get_set_pool in Hb2.
  pose proof (release_count _ q c Hpok Hcok ltac:(unfold ntables; fold (tables e); lia) Hfree Hsh Hnf Hbc Hout)
    as (Hcq & Ecq).
  assert (Hoth : forall j, 0 <= j < 512 -> j <> i -> tent (tables ef) t j = tent (tables e) t j).
  { intros j Hj Hji. rewrite HTf, tent_put_ent by (auto; lia). rewrite Z.eqb_refl. cbn [andb].
    replace (j =? i) with false by (symmetry; apply Z.eqb_neq; exact Hji). apply HTt. exact Hj. }
  assert (Hi0 : tent (tables ef) t i = 0).
  { rewrite HTf, tent_put_ent by (auto; lia). rewrite !Z.eqb_refl. reflexivity. }
  assert (Hinvf : l2_inv ef t).
  { apply (l2_inv_step e ef t i c Hinv Hi).
    - split; [rewrite HTf; apply whole_put_ent; [exact HTw|lia]|]. rewrite HTf, HBf, HTl'. split; assumption.
    - unfold ef. rewrite get_set_pool. eapply same_shape_ok; [exact Hpok|exact Hsh].
    - unfold ef. rewrite get_set_pool. exact Hb2.
    - unfold ef. rewrite get_set_pool. exact Hcq.
    - unfold ef. rewrite plat_set_pool, plat_set_tables. exact Hpl.
    - rewrite HTf. exact HTl'.
    - exact HBf.
    - exact Hoth.
    - exact Hne.
    - intros j' Hj' Hji H3'. apply Hdis; assumption.
    - intros y Hy Hyc. unfold ef. rewrite get_set_pool. apply Hout; assumption.
    - intros H0. exfalso. rewrite Hi0 in H0. discriminate. }
  assert (Hcf : count_free (Isolation.Engine_pool ef) = count_free (Isolation.Engine_pool e) + 1)
    by (unfold ef; rewrite get_set_pool; exact Ecq).
  exists st, tr'. split; [exact Hrl|]. rewrite Est. destruct (Isolation.s2update_unmap u).
  - split; [exact Hinvf|]. split; [exact Hcf|]. split; [exact HBf|]. split; [rewrite HTf; exact HTl'|exact Hoth].
  - pose proof (l2_inv_put_leaf ef t i (leaf_val (wrapu 64 (base + Isolation.s2update_delta u)) 2 (Isolation.s2update_attr u))
      Hinvf Hi ltac:(rewrite Hi0; cbn; discriminate) (leaf2_not_table _ _)) as [Hi2 Hc2].
    split; [exact Hi2|]. split; [rewrite Hc2; exact Hcf|]. split; [rewrite base_set_tables; exact HBf|].
    rewrite tables_set_tables. split; [rewrite len_put_ent, HTf; exact HTl'|].
    intros j Hj Hji. rewrite tent_put_ent by (try apply Hinvf; auto; lia). rewrite Z.eqb_refl. cbn [andb].
    replace (j =? i) with false by (symmetry; apply Z.eqb_neq; exact Hji). apply Hoth; assumption.
Qed.

(** ** A block split into a new table keeps the invariant *)

(** dropTable of the table an entry [i] of [t] names, from a state with
    [l2_inv], keeps [l2_inv]: one more free table, the other entries of
    [t], the base and the number of tables stay. *)
Lemma l2_inv_drop : forall E t i p tr c base vmid, l2_inv E t -> 0 <= i < 512 ->
  lens p (slot_valid t) (fun s => tent (tables s) t i) (fun v s => set_tables s (put_ent (tables s) t i v)) ->
  Z.land (tent (tables E) t i) 3 = 3 -> c = child (pool_base E) (tent (tables E) t i) ->
  exists st, Isolation.Engine_dropTable root p c base vmid E tr = Ok tt st (inval vmid base :: tr) /\
    l2_inv st t /\ count_free (Isolation.Engine_pool st) = count_free (Isolation.Engine_pool E) + 1 /\
    pool_base st = pool_base E /\ len (tables st) = len (tables E) /\
    (forall j, 0 <= j < 512 -> j <> i -> tent (tables st) t j = tent (tables E) t j).
Proof.
  intros E t i p tr c base vmid Hinv Hi L H3i Ec.
  pose proof Hinv as (Hok & Hpok & Hbits & Hcok & Hpl & Ht & Htu & Hents & Hdis).
  pose proof (Hents i Hi H3i) as (H3 & Hle & Hlt & Hne & Hfree). rewrite <- Ec in Hlt, Hne, Hfree.
  pose proof Hok as (Hwh & Hsmall & Hbase). fold (whole (tables E)) in Hwh.
  assert (Hv : slot_valid t E) by (split; [lia|exact Hwh]).
  assert (Hc0 : 0 <= c) by (rewrite Ec; apply child_nonneg; exact Hle).
  pose proof (dropTable_ok p t i E tr c base vmid L Hv Hpl Hpok ltac:(lia) Hfree)
    as (q & Hdrop & HP & Hsh & Hnf & Hbc & Hout).
  pose proof (dropTable_bits p t i E tr c base vmid L Hv Hpl Hpok Hbits ltac:(lia) Hfree) as (q2 & Hdrop2 & Hq2).
  rewrite Hdrop in Hdrop2. injection Hdrop2 as Eq. subst q2.
  set (ef := Isolation.set_Engine_pool q (set_tables E (put_ent (tables E) t i 0))) in *.
  assert (HTf : tables ef = put_ent (tables E) t i 0).
  { unfold ef, tables at 1. rewrite get_set_pool. rewrite HP. exact (tables_set_tables E (put_ent (tables E) t i 0)). }
  assert (HBf : pool_base ef = pool_base E).
  { unfold ef, pool_base at 1. rewrite get_set_pool. rewrite HP. exact (base_set_tables E (put_ent (tables E) t i 0)). }
  assert (HTl' : len (put_ent (tables E) t i 0) = len (tables E)) by apply len_put_ent.
  pose proof (release_count _ q c Hpok Hcok ltac:(unfold ntables; fold (tables E); lia) Hfree Hsh Hnf Hbc Hout)
    as (Hcq & Ecq).
  assert (Hoth : forall j, 0 <= j < 512 -> j <> i -> tent (tables ef) t j = tent (tables E) t j).
  { intros j Hj Hji. rewrite HTf, tent_put_ent by (auto; lia). rewrite Z.eqb_refl. cbn [andb].
    replace (j =? i) with false by (symmetry; apply Z.eqb_neq; exact Hji). reflexivity. }
  exists ef. split; [exact Hdrop|].
  split; [|split; [unfold ef; rewrite get_set_pool; exact Ecq|split; [exact HBf|split; [rewrite HTf; exact HTl'|exact Hoth]]]].
  apply (l2_inv_step E ef t i c Hinv Hi).
  - split; [rewrite HTf; apply whole_put_ent; [exact Hwh|lia]|]. rewrite HTf, HBf, HTl'. split; assumption.
  - unfold ef. rewrite get_set_pool. eapply same_shape_ok; [exact Hpok|exact Hsh].
  - unfold ef. rewrite get_set_pool. exact Hq2.
  - unfold ef. rewrite get_set_pool. exact Hcq.
  - unfold ef. rewrite plat_set_pool, plat_set_tables. exact Hpl.
  - rewrite HTf. exact HTl'.
  - exact HBf.
  - exact Hoth.
  - exact Hne.
  - intros j' Hj' Hji H3'. rewrite Ec. apply Hdis; assumption.
  - intros y Hy Hyc. unfold ef. rewrite get_set_pool. apply Hout; assumption.
  - intros H0. exfalso. rewrite HTf, tent_put_ent in H0 by (auto; lia). rewrite !Z.eqb_refl in H0. discriminate.
Qed.

(** descend into a block entry [i] of a level-2 table [t], from a state
    with [l2_inv] and a free table, keeps [l2_inv]: it takes a table,
    splits the block into it, hooks it and updates it, and for an unmap
    that empties it releases it again, so the count of free tables goes
    down by at most one; the other entries of [t], the base and the
    number of tables stay. The pool must be page aligned and below 2^48. *)
Theorem descend_split_inv : forall fuel e tr t i p base ipa stop u,
  (4 <= fuel)%nat -> l2_inv e t -> 0 < count_free (Isolation.Engine_pool e) ->
  pool_base e mod 4096 = 0 -> pool_base e + 4096 * len (tables e) <= 2 ^ 48 -> 0 <= i < 512 ->
  lens p (slot_valid t) (fun s => tent (tables s) t i) (fun v s => set_tables s (put_ent (tables s) t i v)) ->
  valid_d (tent (tables e) t i) = true -> Z.land (tent (tables e) t i) 3 <> 3 ->
  0 <= base -> base mod 2 ^ 21 = 0 -> base <= ipa <= stop -> stop <= base + 2 ^ 21 -> stop < 2 ^ 64 ->
  ipa mod 4096 = 0 -> stop mod 4096 = 0 -> Isolation.s2update_delta u mod 4096 = 0 ->
  exists st tr', Isolation.Engine_descend fuel root p 2 base ipa stop u e tr = Ok tt st tr' /\
    l2_inv st t /\ count_free (Isolation.Engine_pool e) - 1 <= count_free (Isolation.Engine_pool st) /\
    pool_base st = pool_base e /\ len (tables st) = len (tables e) /\
    (forall j, 0 <= j < 512 -> j <> i -> tent (tables st) t j = tent (tables e) t j).
Proof.
  intros fuel e tr t i p base ipa stop u Hf Hinv Hcnt Hal Hbelow Hi L Hval Hnt Hb0 Hba Hr Hs Hs64 Hia Hsa Hd.
  pose proof Hinv as (Hok & Hpok & Hbits & Hcok & Hpl & Ht & Htu & Hents & Hdis).
  pose proof Hok as (Hwh & Hsmall & Hbase). fold (whole (tables e)) in Hwh.
  assert (Hsome : some_free (Isolation.Engine_pool e)) by (apply count_some_free; assumption).
  assert (Hv : slot_valid t e) by (split; [lia|exact Hwh]).
  set (dd := tent (tables e) t i) in *.
  destruct fuel as [|f]; [lia|]. cbn [Isolation.Engine_descend].
  step_by (deref_lens _ _ _ _ e tr L Hv). fold dd. unfold Isolation.isTable. step.
  replace ((2 <? Isolation.lastLevel) && (Z.land dd 3 =? 3)) with false
    by (symmetry; apply andb_false_iff; right; apply Z.eqb_neq; exact Hnt).
  unfold bind at 1. unfold Isolation.isValid. step. fold (valid_d dd). rewrite Hval. cbn [negb].
  pose proof (mustAlloc_bits e tr Hpok Hbits Hsome) as (c & q & Hma & Hc & Hcf & Htk & Hqb).
  step_by Hma.
  assert (Hct : c <> t) by (intros ->; rewrite Hcf in Htu; discriminate).
  pose proof (take_count _ _ c Hpok Hcok Hc Hcf Htk) as (Hcq & Ecq).
  pose proof Htk as (Hsh1 & _ & Hqc & Hqo & _ & _).
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
  assert (HB3 : pool_base e3 = pool_base e) by (unfold e3; rewrite base_set_tables; unfold e1; exact HB1).
  pose proof (update_last_ok f e3 (inval (Isolation.s2update_vmid u) base :: tr) c base ipa stop u ltac:(lia) Hok3
    ltac:(lia) ltac:(unfold e3, e1; rewrite plat_set_tables, plat_set_pool, Epl; discriminate) Hb0 Hba Hr Hs Hs64 Hia Hsa Hd)
    as (st1 & tr1 & Hup & Hdone).
  step_by Hup.
  pose proof Hdone as (T1 & -> & Etr & HTl & HTw & HTp).
  set (E := set_tables e3 T1).
  assert (HTE : forall j, 0 <= j < 512 -> tent (tables E) t j = if j =? i then tdesc (pool_base e) c else tent (tables e) t j).
  { intros j Hj. unfold E. rewrite tables_set_tables, HTp by lia.
    replace (t =? c) with false by (symmetry; apply Z.eqb_neq; lia). cbn [andb].
    unfold e3. rewrite tables_set_tables, tent_put_ent by (auto; lia). rewrite Z.eqb_refl. cbn [andb].
    destruct (Z.eqb_spec j i); [reflexivity|]. rewrite HTsp by lia.
    replace (t =? c) with false by (symmetry; apply Z.eqb_neq; lia).
    unfold e1. rewrite HT1. apply tent_replace_other; lia. }
  assert (HlE : len (tables E) = len (tables e)) by (unfold E; rewrite tables_set_tables; lia).
  assert (HBE : pool_base E = pool_base e) by (unfold E; rewrite base_set_tables; exact HB3).
  assert (HpE : Isolation.Engine_pool E = Isolation.set_tablePool_Pool (Isolation.set_Pool_Tables T1
      (Isolation.tablePool_Pool (Isolation.Engine_pool e3))) (Isolation.Engine_pool e3)) by reflexivity.
  assert (HfE : forall y, free_bit (Isolation.Engine_pool E) y = free_bit q y).
  { intros y. unfold E. rewrite free_bit_set_tables. unfold e3. rewrite free_bit_set_tables. unfold e1. rewrite get_set_pool. reflexivity. }
  assert (Hc0 : 0 <= c) by lia.
  pose proof (tdesc_spec (pool_base e) c Hbase Hal Hc0 ltac:(lia)) as (Td3 & Tdoa & Tdc).
  assert (HcE : count_free (Isolation.Engine_pool E) = count_free (Isolation.Engine_pool e) - 1).
  { unfold E. rewrite count_set_tables by lia. unfold e3. rewrite count_set_tables by (rewrite len_put_ent; lia).
    unfold e1. rewrite get_set_pool. exact Ecq. }
  assert (HinvE : l2_inv E t).
  { apply (l2_inv_step e E t i c Hinv Hi).
    - split; [unfold E; rewrite tables_set_tables; exact HTw|]. rewrite HlE, HBE. split; assumption.
    - unfold E. apply pool_ok_set_tables; [lia|]. unfold e3. apply pool_ok_set_tables; [rewrite len_put_ent; lia|].
      unfold e1. rewrite get_set_pool. eapply same_shape_ok; [exact Hpok|exact Hsh1].
    - unfold E. apply bits_ok_set_tables; [lia|]. unfold e3. apply bits_ok_set_tables; [rewrite len_put_ent; lia|].
      unfold e1. rewrite get_set_pool. exact Hqb.
    - unfold E. apply count_ok_set_tables; [lia|]. unfold e3. apply count_ok_set_tables; [rewrite len_put_ent; lia|].
      unfold e1. rewrite get_set_pool. exact Hcq.
    - unfold E, e3, e1. rewrite !plat_set_tables, plat_set_pool, Epl. discriminate.
    - exact HlE.
    - exact HBE.
    - intros j' Hj' Hne. rewrite HTE by lia. replace (j' =? i) with false by (symmetry; apply Z.eqb_neq; exact Hne). reflexivity.
    - exact Hct.
    - intros j' Hj' Hne H3 E'. pose proof (Hents j' Hj' H3) as (_ & _ & _ & _ & Hfr). rewrite E', Hcf in Hfr. discriminate.
    - intros y Hy Hne. rewrite HfE. apply Hqo; assumption.
    - intros _. unfold l2_table_entry. rewrite HTE by lia. rewrite Z.eqb_refl, HBE, HlE, Tdc, Tdoa, HfE.
      split; [|reflexivity]. split; [exact Td3|]. split; [lia|]. split; [lia|]. split; [exact Hct|exact Hqc]. }
  assert (Hoth : forall j, 0 <= j < 512 -> j <> i -> tent (tables E) t j = tent (tables e) t j).
  { intros j Hj Hne. rewrite HTE by lia. replace (j =? i) with false by (symmetry; apply Z.eqb_neq; exact Hne). reflexivity. }
  assert (Hkeep : l2_inv E t /\ count_free (Isolation.Engine_pool e) - 1 <= count_free (Isolation.Engine_pool E) /\
    pool_base E = pool_base e /\ len (tables E) = len (tables e) /\
    (forall j, 0 <= j < 512 -> j <> i -> tent (tables E) t j = tent (tables e) t j)).
  { split; [exact HinvE|]. split; [lia|]. split; [exact HBE|]. split; [exact HlE|exact Hoth]. }
  destruct (Isolation.s2update_unmap u) eqn:Hun.
  - pose proof (tableEmpty_ok E tr1 c ltac:(lia) ltac:(unfold E; rewrite tables_set_tables; exact HTw))
      as (b & Hb & Hbiff).
    assert (Hte : (let! t'23 := Isolation.Engine_tableEmpty root c in ret t'23) E tr1 = Ok b E tr1)
      by (step_by Hb; reflexivity).
    step_by Hte. destruct b.
    + assert (H3E : Z.land (tent (tables E) t i) 3 = 3) by (rewrite HTE by lia; rewrite Z.eqb_refl; exact Td3).
      assert (EcE : c = child (pool_base E) (tent (tables E) t i)) by (rewrite HTE by lia; rewrite Z.eqb_refl, HBE, Tdc; reflexivity).
      pose proof (l2_inv_drop E t i p tr1 c base (Isolation.s2update_vmid u) HinvE Hi L H3E EcE)
        as (ef & Hdrop & Hinvf & Hcf' & HBf & Hlf & Hothf).
      step_by Hdrop. eexists _, _. split; [reflexivity|].
      split; [exact Hinvf|]. split; [lia|]. split; [congruence|]. split; [congruence|].
      intros j Hj Hne. rewrite Hothf by assumption. apply Hoth; assumption.
    + eexists _, _. split; [reflexivity|exact Hkeep].
  - step. eexists _, _. split; [reflexivity|exact Hkeep].
Qed.

(** ** One iteration of the loop at level 2 *)

(** The value [wholeLeaf] returns at level 2. *)
Definition whole_l2 (base ipa stop : Z) (u : Isolation.s2update) : bool :=
  match Isolation.wholeLeaf (S:=unit) base ipa stop 2 u tt [] with Ok b _ _ => b | Fail _ => false end.

Lemma wholeLeaf_val : forall {S} (s : S) tr base ipa stop u,
  Isolation.wholeLeaf base ipa stop 2 u s tr = Ok (whole_l2 base ipa stop u) s tr.
Proof.
  intros. unfold whole_l2, Isolation.wholeLeaf, Isolation.levelSize, Isolation.levelShift, Isolation.blockAllowed, bind, ret.
  repeat match goal with |- context [if ?c then _ else _] => destruct c end; reflexivity.
Qed.

(** The start of the level-2 entry of [ipa], and the end of its part of
    [ipa, end'). *)
Definition l2_base (ipa : Z) : Z := ipa / 2 ^ 21 * 2 ^ 21.
Definition l2_stop (ipa end' : Z) : Z := Z.min end' (l2_base ipa + 2 ^ 21).

(** The tables the iteration from [ipa] takes at most: one when it goes
    down into an entry of [t] in [T] that holds no table descriptor and
    is valid (a block to split) or is invalid for a map. *)
Definition need_at (T : list Isolation.Table) (t ipa end' : Z) (u : Isolation.s2update) : Z :=
  let d := tent T t ((ipa / 2 ^ 21) mod 512) in
  if whole_l2 (l2_base ipa) ipa (l2_stop ipa end') u then 0
  else if Z.land d 3 =? 3 then 0
  else if valid_d d then 1
  else if Isolation.s2update_unmap u then 0 else 1.

(** The tables one iteration of [update]'s loop at level 2 ([l2_step])
    at entry [j] of [t] may write: [t], the table entry [j] holds, and a
    table that was free. Every other table in use keeps its entries and
    stays in use. *)
Definition l2_frame (e st : Isolation.Engine) (t j : Z) : Prop :=
  forall y, 0 <= y -> y <> t -> free_bit (Isolation.Engine_pool e) y = false ->
    (Z.land (tent (tables e) t j) 3 = 3 -> child (pool_base e) (tent (tables e) t j) <> y) ->
    free_bit (Isolation.Engine_pool st) y = false /\ (forall j, 0 <= j < 512 -> tent (tables st) y j = tent (tables e) y j).

(** The start of a proof about one iteration at level 2 from the
    hypotheses [Hinv] ([l2_inv e t]), [Hr], [H40], [Hia], [Hea]: the facts
    of [l2_inv] and of the span of the entry [j] of [ipa] (from [base] to
    [stop]), and [l2_step] run up to the choice between [replaceLeaf] and
    [descend] at [j], whose entry is [dd]. *)
Ltac l2_step_open e tr t ipa end' u Hinv Hea :=
  pose proof Hinv as (Hok & Hpok & Hbits & Hcok & Hpl & Ht & Htu & Hents & Hdis);
  pose proof Hok as (Hwh & Hsmall & Hbase); fold (whole (tables e)) in Hwh;
  unfold need_at in *; fold (l2_base ipa) in *; fold (l2_stop ipa end') in *;
  set (base := l2_base ipa) in *; set (stop := l2_stop ipa end') in *;
  assert (Hb : 0 <= base <= ipa) by
    (unfold base, l2_base; split; [apply Z.mul_nonneg_nonneg; [apply Z.div_pos|]; lia|];
     pose proof (Z.div_mod ipa (2 ^ 21) ltac:(lia)); pose proof (Z.mod_pos_bound ipa (2 ^ 21) ltac:(lia)); lia);
  assert (Hb2 : ipa < base + 2 ^ 21) by
    (unfold base, l2_base; pose proof (Z.div_mod ipa (2 ^ 21) ltac:(lia)); pose proof (Z.mod_pos_bound ipa (2 ^ 21) ltac:(lia)); lia);
  assert (Hba : base mod 2 ^ 21 = 0) by (unfold base, l2_base; apply Z.mod_mul; lia);
  assert (Hst : ipa < stop <= base + 2 ^ 21 /\ stop <= end') by (unfold stop, l2_stop; fold base; lia);
  assert (Hsa : stop mod 4096 = 0) by
    (unfold stop, l2_stop; fold base; destruct (Z.min_spec end' (base + 2 ^ 21)) as [[_ ->]|[_ ->]]; [exact Hea|];
     apply align_page; rewrite <- Z.add_mod_idemp_l, Hba by lia; reflexivity);
  set (j := (ipa / 2 ^ 21) mod 512) in *;
  assert (Hj : 0 <= j < 512) by (unfold j; apply Z.mod_pos_bound; lia);
  unfold l2_step;
  pose proof (levelSize_ok e tr 2 ltac:(lia)) as [Hsz Hmask];
  change (2 ^ (12 + 9 * (3 - 2))) with (2 ^ 21) in Hsz, Hmask; change (12 + 9 * (3 - 2)) with 21 in Hmask;
  step_by Hsz; rewrite Hmask, andnot_ones by lia; change (ipa / 2 ^ 21 * 2 ^ 21) with (l2_base ipa); fold base;
  step_by Hsz; rewrite (wrapu_small (base + 2 ^ 21)) by lia;
  change (Z.min end' (base + 2 ^ 21)) with (l2_stop ipa end'); fold stop;
  step_by (entryIndex_val e tr ipa 2 ltac:(lia) ltac:(lia));
  change (2 ^ (12 + 9 * (3 - 2))) with (2 ^ 21); change (nentries 2) with 512; fold j;
  pose proof (slot_lens_table t j ltac:(lia) Hj) as (p & Hp & L);
  assert (Hv : slot_valid t e) by (split; [lia|exact Hwh]);
  step_by (Hp e tr Hv);
  step_by (wholeLeaf_val e tr base ipa stop u);
  set (dd := tent (tables e) t j) in *.

(** The end of each case of [l2_step_inv]: the iteration's result and
    the facts the case lemma gives; the frame is left. *)
Ltac l2_step_done Hi2 HB2 Hl2 Ho2 :=
  eexists _, _; split; [reflexivity|]; split; [exact Hi2|]; split; [lia|]; split; [exact HB2|];
  split; [exact Hl2|]; split; [exact Ho2|].

(** One iteration of [update]'s loop at level 2 from a page-aligned [ipa]
    below [end'], from a state with [l2_inv] and at least [need_at] free
    tables, never fails: it goes on at [l2_stop ipa end'], keeps [l2_inv],
    takes at most [need_at] tables, and keeps every other entry of [t],
    the base and the number of tables, and every table in use but [t] and
    the one its entry holds ([l2_frame]). The pool must be page aligned
    and below 2^48. *)
Theorem l2_step_inv : forall f e tr t ipa end' u,
  (5 <= f)%nat -> l2_inv e t ->
  pool_base e mod 4096 = 0 -> pool_base e + 4096 * len (tables e) <= 2 ^ 48 ->
  0 <= ipa < end' -> end' <= 2 ^ 40 -> ipa mod 4096 = 0 -> end' mod 4096 = 0 ->
  Isolation.s2update_delta u mod 4096 = 0 ->
  need_at (tables e) t ipa end' u <= count_free (Isolation.Engine_pool e) ->
  exists st tr', l2_step f t end' u ipa e tr = Ok (Continue (l2_stop ipa end')) st tr' /\
    l2_inv st t /\ count_free (Isolation.Engine_pool e) - need_at (tables e) t ipa end' u <= count_free (Isolation.Engine_pool st) /\
    pool_base st = pool_base e /\ len (tables st) = len (tables e) /\
    (forall j, 0 <= j < 512 -> j <> (ipa / 2 ^ 21) mod 512 -> tent (tables st) t j = tent (tables e) t j) /\
    l2_frame e st t ((ipa / 2 ^ 21) mod 512).
Proof.
  intros f e tr t ipa end' u Hf Hinv Hal Hbelow Hr H40 Hia Hea Hd Hneed.
  l2_step_open e tr t ipa end' u Hinv Hea.
  assert (Hy : forall y c, 0 <= y -> free_bit (Isolation.Engine_pool e) y = false ->
    free_bit (Isolation.Engine_pool e) c = true -> y <> c) by (intros y c _ H1 H2 E; subst; congruence).
  destruct (whole_l2 base ipa stop u) eqn:Hwl.
  - (* a whole entry: replaceLeaf *)
    destruct (Z.eq_dec (Z.land dd 3) 3) as [E3|E3].
    + pose proof (replaceLeaf_table_inv f e tr t j p base u Hf Hinv Hj L E3 ltac:(lia) Hba ltac:(lia))
        as (st & tr1 & Hrl & Hi2 & Hc2 & HB2 & Hl2 & Ho2).
      pose proof (replaceLeaf_table_frame f e tr t j p base u ltac:(lia) Hok Hpok Hpl Ht Hj L (Hents j Hj E3) ltac:(lia) Hba ltac:(lia))
        as (st' & tr1' & Hrl' & _ & _ & HF2 & HE2).
      rewrite Hrl in Hrl'. injection Hrl' as <- <-.
      assert (H : (let! t'6 := Isolation.Engine_replaceLeaf _ root p 2 base u in ret tt) e tr = Ok tt st tr1) by (step_by Hrl; reflexivity).
      step_by H. l2_step_done Hi2 HB2 Hl2 Ho2.
      intros y Hy0 Hyt Hyu Hyc. specialize (Hyc E3). split; [rewrite HF2 by auto; exact Hyu|intros j' Hj'; apply HE2; auto].
    + destruct f as [|[|f']]; [lia|lia|].
      pose proof (replaceLeaf_leaf_inv f' e tr t j p base u Hinv Hj L E3) as (st & tr1 & Hrl & Hi2 & Hc2 & HB2 & Hl2 & Ho2).
      pose proof (slot_laws t j ltac:(lia) Hj) as (L1 & L2 & L3).
      pose proof (replaceLeaf_leaf_ok f' p _ _ _ e tr 2 base u L Hv Hpl L1 L2 L3
        ltac:(apply andb_false_iff; right; apply Z.eqb_neq; exact E3)) as Hrl'.
      rewrite Hrl in Hrl'. injection Hrl' as -> _.
      assert (H : (let! t'6 := Isolation.Engine_replaceLeaf _ root p 2 base u in ret tt) e tr = Ok tt _ tr1) by (step_by Hrl; reflexivity).
      step_by H. l2_step_done Hi2 HB2 Hl2 Ho2.
      intros y Hy0 Hyt Hyu Hyc. cbv beta. split.
      * rewrite free_bit_set_tables. exact Hyu.
      * intros j' Hj'. rewrite tables_set_tables, tent_put_ent_frame by lia. reflexivity.
  - (* part of an entry: descend *)
    destruct (Z.eq_dec (Z.land dd 3) 3) as [E3|E3].
    + rewrite (proj2 (Z.eqb_eq _ _) E3).
      pose proof (descend_table_inv f e tr t j p base ipa stop u ltac:(lia) Hinv Hj L E3 ltac:(lia) Hba ltac:(lia)
        ltac:(lia) ltac:(lia) Hia Hsa Hd) as (st & tr1 & Hde & Hi2 & Hc2 & HB2 & Hl2 & Ho2).
      pose proof (descend_table_frame f e tr t j p base ipa stop u ltac:(lia) Hok Hpok Hpl Ht Hj L (Hents j Hj E3) ltac:(lia) Hba
        ltac:(lia) ltac:(lia) ltac:(lia) Hia Hsa Hd) as (st' & tr1' & Hde' & _ & _ & HF2 & HE2).
      rewrite Hde in Hde'. injection Hde' as <- <-.
      assert (H : (let! t'7 := Isolation.Engine_descend _ root p 2 base ipa stop u in ret tt) e tr = Ok tt st tr1) by (step_by Hde; reflexivity).
      step_by H. l2_step_done Hi2 HB2 Hl2 Ho2.
      intros y Hy0 Hyt Hyu Hyc. specialize (Hyc E3). split; [rewrite HF2 by auto; exact Hyu|intros j' Hj'; apply HE2; auto].
    + replace (Z.land dd 3 =? 3) with false in * by (symmetry; apply Z.eqb_neq; exact E3).
      destruct (valid_d dd) eqn:Hval.
      * pose proof (descend_split_inv f e tr t j p base ipa stop u ltac:(lia) Hinv ltac:(lia) Hal Hbelow Hj L Hval E3
          ltac:(lia) Hba ltac:(lia) ltac:(lia) ltac:(lia) Hia Hsa Hd) as (st & tr1 & Hde & Hi2 & Hc2 & HB2 & Hl2 & Ho2).
        pose proof (descend_split_frame f e tr t j p base ipa stop u ltac:(lia) Hok Hpok Hbits
          ltac:(apply count_some_free; [exact Hpok|lia]) Hpl Ht Hj L Htu Hval E3
          ltac:(lia) Hba ltac:(lia) ltac:(lia) ltac:(lia) Hia Hsa Hd) as (c & st' & tr1' & Hde' & _ & _ & Hcf & _ & _ & HF2 & HE2).
        rewrite Hde in Hde'. injection Hde' as <- <-.
        assert (H : (let! t'7 := Isolation.Engine_descend _ root p 2 base ipa stop u in ret tt) e tr = Ok tt st tr1) by (step_by Hde; reflexivity).
        step_by H. l2_step_done Hi2 HB2 Hl2 Ho2.
        intros y Hy0 Hyt Hyu Hyc. pose proof (Hy y c Hy0 Hyu Hcf).
        split; [rewrite HF2 by auto; exact Hyu|intros j' Hj'; apply HE2; auto].
      * destruct (Isolation.s2update_unmap u) eqn:Hun.
        -- destruct f as [|f']; [lia|].
           assert (H : (let! t'7 := Isolation.Engine_descend (S f') root p 2 base ipa stop u in ret tt) e tr = Ok tt e tr)
             by (step_by (descend_invalid_unmap f' e tr p _ _ _ 2 base ipa stop u L Hv Hval Hun); reflexivity).
           step_by H.
           eexists _, _. split; [reflexivity|]. split; [exact Hinv|]. split; [lia|]. split; [reflexivity|].
           split; [reflexivity|]. split; [intros; reflexivity|]. intros y _ _ Hyu _. split; [exact Hyu|reflexivity].
        -- pose proof (descend_new_inv f e tr t j p base ipa stop u ltac:(lia) Hinv ltac:(lia) Hal Hbelow Hj L Hval Hun
             ltac:(lia) Hba ltac:(lia) ltac:(lia) ltac:(lia) Hia Hsa Hd) as (st & tr1 & Hde & Hi2 & Hc2 & HB2 & Hl2 & Ho2).
           pose proof (descend_new_frame f e tr t j p base ipa stop u ltac:(lia) Hok Hpok Hbits
             ltac:(apply count_some_free; [exact Hpok|lia]) Hpl Ht Hj L Htu Hval Hun
             ltac:(lia) Hba ltac:(lia) ltac:(lia) ltac:(lia) Hia Hsa Hd) as (c & st' & tr1' & Hde' & _ & _ & Hcf & _ & _ & _ & HF2 & HE2).
           rewrite Hde in Hde'. injection Hde' as <- <-.
           assert (H : (let! t'7 := Isolation.Engine_descend _ root p 2 base ipa stop u in ret tt) e tr = Ok tt st tr1) by (step_by Hde; reflexivity).
           step_by H. l2_step_done Hi2 HB2 Hl2 Ho2.
           intros y Hy0 Hyt Hyu Hyc. pose proof (Hy y c Hy0 Hyu Hcf).
           split; [rewrite HF2 by auto; exact Hyu|intros j' Hj'; apply HE2; auto].
Qed.

Lemma land0_not_table : Z.land 0 3 = 3 -> False.
Proof. intros H. change (Z.land 0 3) with 0 in H. discriminate. Qed.

(** One iteration of [update]'s loop at level 2 at entry [j] of [t]
    ([l2_step], CodeUpdateL2) leaves in entry [j] no table descriptor,
    the entry it held, or a table descriptor of a table that was free. *)
Theorem l2_step_own : forall f e tr t ipa end' u,
  (5 <= f)%nat -> l2_inv e t ->
  pool_base e mod 4096 = 0 -> pool_base e + 4096 * len (tables e) <= 2 ^ 48 ->
  0 <= ipa < end' -> end' <= 2 ^ 40 -> ipa mod 4096 = 0 -> end' mod 4096 = 0 ->
  Isolation.s2update_delta u mod 4096 = 0 ->
  need_at (tables e) t ipa end' u <= count_free (Isolation.Engine_pool e) ->
  exists st tr', l2_step f t end' u ipa e tr = Ok (Continue (l2_stop ipa end')) st tr' /\
    (Z.land (tent (tables st) t ((ipa / 2 ^ 21) mod 512)) 3 = 3 ->
       tent (tables st) t ((ipa / 2 ^ 21) mod 512) = tent (tables e) t ((ipa / 2 ^ 21) mod 512) \/
       free_bit (Isolation.Engine_pool e) (child (pool_base e) (tent (tables st) t ((ipa / 2 ^ 21) mod 512))) = true).
Proof.
  intros f e tr t ipa end' u Hf Hinv Hal Hbelow Hr H40 Hia Hea Hd Hneed.
  l2_step_open e tr t ipa end' u Hinv Hea.
  destruct (whole_l2 base ipa stop u) eqn:Hwl.
  - destruct (Z.eq_dec (Z.land dd 3) 3) as [E3|E3].
    + pose proof (replaceLeaf_table_last f e tr t j p base u ltac:(lia) Hok Hpok Hpl Ht Hj L (Hents j Hj E3) ltac:(lia) Hba ltac:(lia))
        as (st & tr1 & Hrl & st1 & Hce & Hst').
      pose proof (clearEntry_table_last (pred f) e tr t j p base (Isolation.s2update_vmid u) ltac:(lia)
        Hok Hpok Hpl Ht Hj L (Hents j Hj E3) ltac:(lia) Hba ltac:(lia)) as (T1 & q & Hce' & HL1 & HW1 & _ & HP & _).
      cbv zeta in Hce'. rewrite Hce in Hce'. apply ok_state in Hce'. subst st1.
      assert (H : (let! t'6 := Isolation.Engine_replaceLeaf _ root p 2 base u in ret tt) e tr = Ok tt st tr1) by (step_by Hrl; reflexivity).
      step_by H. eexists _, _. split; [reflexivity|].
      intros H3. exfalso.
      assert (ET : tables (Isolation.set_Engine_pool q (set_tables e (put_ent T1 t j 0))) = put_ent T1 t j 0).
      { unfold tables at 1. rewrite get_set_pool, HP. exact (tables_set_tables e (put_ent T1 t j 0)). }
      destruct (Isolation.s2update_unmap u); cbv iota in Hst'; subst st.
      * rewrite ET, tent_put_ent in H3 by (auto; lia). rewrite !Z.eqb_refl in H3. cbn [andb] in H3.
        exact (land0_not_table H3).
      * rewrite tables_set_tables, ET, put_ent_twice, tent_put_ent in H3 by (auto; lia).
        rewrite !Z.eqb_refl in H3. cbn [andb] in H3. exact (leaf2_not_table _ _ H3).
    + destruct f as [|[|f']]; [lia|lia|].
      pose proof (slot_laws t j ltac:(lia) Hj) as (L1 & L2 & L3).
      pose proof (replaceLeaf_leaf_ok f' p _ _ _ e tr 2 base u L Hv Hpl L1 L2 L3
        ltac:(apply andb_false_iff; right; apply Z.eqb_neq; exact E3)) as Hrl.
      assert (H : (let! t'6 := Isolation.Engine_replaceLeaf (S (S f')) root p 2 base u in ret tt) e tr = Ok tt
        ((fun v s => set_tables s (put_ent (tables s) t j v)) (new_ent u 2 base ((fun s => tent (tables s) t j) e)) e)
        (if valid_d ((fun s => tent (tables s) t j) e) then inval (Isolation.s2update_vmid u) base :: tr else tr))
        by (step_by Hrl; reflexivity).
      step_by H. eexists _, _. split; [reflexivity|].
      intros H3. exfalso. cbv beta in H3. rewrite tables_set_tables, tent_put_ent in H3 by (auto; lia).
      rewrite !Z.eqb_refl in H3. cbn [andb] in H3. exact (new_ent2_not_table u base dd E3 H3).
  - destruct (Z.eq_dec (Z.land dd 3) 3) as [E3|E3].
    + pose proof (descend_table_last f e tr t j p base ipa stop u ltac:(lia) Hok Hpok Hpl Ht Hj L (Hents j Hj E3) ltac:(lia) Hba
        ltac:(lia) ltac:(lia) ltac:(lia) Hia Hsa Hd) as (st & tr1 & Hde & Hrest).
      assert (H : (let! t'7 := Isolation.Engine_descend _ root p 2 base ipa stop u in ret tt) e tr = Ok tt st tr1) by (step_by Hde; reflexivity).
      step_by H. eexists _, _. split; [reflexivity|].
      cbv zeta in Hrest. destruct Hrest as (st1 & tr2 & Hdone & Hcase).
      pose proof (Hents j Hj E3) as (_ & _ & _ & Hct & _).
      pose proof Hdone as (T' & Est1 & _ & HLT & HWT & _).
      pose proof (last_done_frame _ _ _ _ _ _ _ _ _ Hdone) as (_ & _ & _ & _ & Hte).
      intros H3. destruct Hcase as [[-> _]|(_ & _ & q & -> & _ & HP & _)].
      * left. apply Hte; [lia| |exact Hj]. intros E. apply Hct. exact (eq_sym E).
      * exfalso.
        assert (ET : tables (Isolation.set_Engine_pool q (set_tables st1 (put_ent (tables st1) t j 0))) = put_ent (tables st1) t j 0).
        { unfold tables at 1. rewrite get_set_pool, HP. exact (tables_set_tables st1 _). }
        rewrite ET in H3. subst st1. rewrite tables_set_tables, tent_put_ent in H3 by (auto; lia).
        rewrite !Z.eqb_refl in H3. cbn [andb] in H3. exact (land0_not_table H3).
    + replace (Z.land dd 3 =? 3) with false in * by (symmetry; apply Z.eqb_neq; exact E3).
      destruct (valid_d dd) eqn:Hval.
      * pose proof (descend_split_last f e tr t j p base ipa stop u ltac:(lia) Hok Hpok Hbits
          ltac:(apply count_some_free; [exact Hpok|lia]) Hpl Ht Hj L Htu Hval E3
          ltac:(lia) Hba ltac:(lia) ltac:(lia) ltac:(lia) Hia Hsa Hd)
          as (c & q & Ts & st & tr1 & Hde & Hc & Hct & Hcf & Htk & HTsl & HTsw & HTs & Hrest).
        assert (H : (let! t'7 := Isolation.Engine_descend _ root p 2 base ipa stop u in ret tt) e tr = Ok tt st tr1) by (step_by Hde; reflexivity).
        step_by H. eexists _, _. split; [reflexivity|].
        cbv zeta in Hrest. destruct Hrest as (st1 & tr2 & Hdone & Hcase).
        set (e3 := set_tables (Isolation.set_Engine_pool q e) (put_ent Ts t j (tdesc (pool_base e) c))) in *.
        assert (HL3 : len (tables e3) = len (tables e)) by (unfold e3; rewrite tables_set_tables, len_put_ent; exact HTsl).
        pose proof Hdone as (T' & Est1 & _ & HLT & HWT & _).
        pose proof (last_done_frame _ _ _ _ _ _ _ _ _ Hdone) as (_ & _ & _ & _ & Hte).
        assert (Hlt48 : pool_base e + 4096 * c < 2 ^ 48) by lia.
        pose proof (tdesc_spec (pool_base e) c Hbase Hal ltac:(lia) Hlt48) as (_ & _ & Hch).
        intros H3. destruct Hcase as [[-> _]|(_ & _ & q' & -> & _ & HP & _)].
        -- right. rewrite Hte by lia. unfold e3. rewrite tables_set_tables, tent_put_ent by (auto; lia).
           rewrite !Z.eqb_refl. cbn [andb]. rewrite Hch. exact Hcf.
        -- exfalso.
           assert (ET : tables (Isolation.set_Engine_pool q' (set_tables st1 (put_ent (tables st1) t j 0))) = put_ent (tables st1) t j 0).
           { unfold tables at 1. rewrite get_set_pool, HP. exact (tables_set_tables st1 _). }
           rewrite ET in H3. subst st1. rewrite tables_set_tables, tent_put_ent in H3 by (auto; lia).
           rewrite !Z.eqb_refl in H3. cbn [andb] in H3. exact (land0_not_table H3).
      * destruct (Isolation.s2update_unmap u) eqn:Hun.
        -- destruct f as [|f']; [lia|].
           assert (H : (let! t'7 := Isolation.Engine_descend (S f') root p 2 base ipa stop u in ret tt) e tr = Ok tt e tr)
             by (step_by (descend_invalid_unmap f' e tr p _ _ _ 2 base ipa stop u L Hv Hval Hun); reflexivity).
           step_by H. eexists _, _. split; [reflexivity|].
           intros _. left. reflexivity.
        -- pose proof (descend_new_last f e tr t j p base ipa stop u ltac:(lia) Hok Hpok Hbits
             ltac:(apply count_some_free; [exact Hpok|lia]) Hpl Ht Hj L Htu Hval Hun
             ltac:(lia) Hba ltac:(lia) ltac:(lia) ltac:(lia) Hia Hsa Hd) as (c & q & st & tr1 & Hde & Hc & Hct & Hcf & Htk & Hdone).
           assert (H : (let! t'7 := Isolation.Engine_descend _ root p 2 base ipa stop u in ret tt) e tr = Ok tt st tr1) by (step_by Hde; reflexivity).
           step_by H. eexists _, _. split; [reflexivity|].
           pose proof (last_done_frame _ _ _ _ _ _ _ _ _ Hdone) as (_ & _ & _ & _ & Hte).
           pose proof (tables_set_pool_taken e q c Htk) as [HTq HBq].
           assert (Hlt48 : pool_base e + 4096 * c < 2 ^ 48) by lia.
           pose proof (tdesc_spec (pool_base e) c Hbase Hal ltac:(lia) Hlt48) as (_ & _ & Hch).
           assert (HWq : whole (tables (Isolation.set_Engine_pool q e))).
           { rewrite HTq. apply Forall_replace; [exact Hwh|reflexivity]. }
           assert (HLq : len (tables (Isolation.set_Engine_pool q e)) = len (tables e)) by (rewrite HTq; apply len_replace).
           intros H3. right. rewrite Hte by lia. rewrite tables_set_tables, tent_put_ent by (auto; lia).
           rewrite !Z.eqb_refl. cbn [andb]. rewrite Hch. exact Hcf.
Qed.

(** ** update at level 2 over several entries *)

(** The tables the iterations from [ipa] to [end'] take at most, read
    from the tables [T] as they are before the update, with a fuel [n]
    of at least the bytes left (each iteration covers at least one). *)
Fixpoint need_l2 (n : nat) (T : list Isolation.Table) (t ipa end' : Z) (u : Isolation.s2update) : Z :=
  match n with
  | O => 0
  | S n' => if ipa <? end' then need_at T t ipa end' u + need_l2 n' T t (l2_stop ipa end') end' u else 0
  end.

Lemma need_at_nonneg : forall T t ipa end' u, 0 <= need_at T t ipa end' u.
Proof.
  intros. unfold need_at.
  repeat match goal with |- context [if ?c then _ else _] => destruct c end; lia.
Qed.

Lemma need_l2_nonneg : forall n T t ipa end' u, 0 <= need_l2 n T t ipa end' u.
Proof.
  induction n as [|n IH]; intros; cbn [need_l2]; [lia|].
  destruct (ipa <? end'); [|lia]. pose proof (need_at_nonneg T t ipa end' u). specialize (IH T t (l2_stop ipa end') end' u). lia.
Qed.

Lemma l2_stop_gt : forall ipa end', 0 <= ipa < end' -> ipa < l2_stop ipa end' <= end'.
Proof.
  intros ipa end' H. unfold l2_stop, l2_base.
  pose proof (Z.div_mod ipa (2 ^ 21) ltac:(lia)). pose proof (Z.mod_pos_bound ipa (2 ^ 21) ltac:(lia)). lia.
Qed.

Lemma need_l2_fuel : forall n m T t cur end' u, 0 <= cur ->
  (Z.to_nat (end' - cur) <= n)%nat -> (Z.to_nat (end' - cur) <= m)%nat ->
  need_l2 n T t cur end' u = need_l2 m T t cur end' u.
Proof.
  induction n as [|n IH]; intros m T t cur end' u Hc Hn Hm.
  - destruct m as [|m]; [reflexivity|]. cbn. destruct (Z.ltb_spec cur end'); [lia|reflexivity].
  - destruct m as [|m]; cbn.
    + destruct (Z.ltb_spec cur end'); [lia|reflexivity].
    + destruct (Z.ltb_spec cur end') as [Hlt|]; [|reflexivity]. f_equal.
      pose proof (l2_stop_gt cur end' ltac:(lia)). apply IH; lia.
Qed.

(** [need_at] reads only the entry of [ipa]. *)
Lemma need_at_ent : forall T T' t ipa end' u,
  tent T' t ((ipa / 2 ^ 21) mod 512) = tent T t ((ipa / 2 ^ 21) mod 512) ->
  need_at T' t ipa end' u = need_at T t ipa end' u.
Proof. intros T T' t ipa end' u E. unfold need_at. rewrite E. reflexivity. Qed.

(** Inside one 1 GiB span, the entry after the one of [cur] is the next. *)
Lemma idx_next : forall K cur end', K * 2 ^ 30 <= cur -> end' <= K * 2 ^ 30 + 2 ^ 30 -> 0 <= cur ->
  l2_stop cur end' < end' ->
  (l2_stop cur end' / 2 ^ 21) mod 512 = (cur / 2 ^ 21) mod 512 + 1.
Proof.
  intros K cur end' HK He Hc Hs. unfold l2_stop, l2_base in *.
  assert (Es : Z.min end' (cur / 2 ^ 21 * 2 ^ 21 + 2 ^ 21) = (cur / 2 ^ 21 + 1) * 2 ^ 21) by lia.
  rewrite Es in *. rewrite Z.div_mul by lia.
  set (k := cur / 2 ^ 21) in *.
  assert (Hk : K * 512 <= k < K * 512 + 511).
  { pose proof (Z.div_mod cur (2 ^ 21) ltac:(lia)). pose proof (Z.mod_pos_bound cur (2 ^ 21) ltac:(lia)). fold k in H. lia. }
  replace k with ((k - K * 512) + K * 512) by ring. replace (k - K * 512 + K * 512 + 1) with ((k - K * 512 + 1) + K * 512) by ring.
  rewrite !Z.mod_add by lia. rewrite !Z.mod_small by lia. reflexivity.
Qed.

Lemma idx_le : forall K cur x, K * 2 ^ 30 <= cur <= x -> x < K * 2 ^ 30 + 2 ^ 30 ->
  (cur / 2 ^ 21) mod 512 <= (x / 2 ^ 21) mod 512.
Proof.
  intros K cur x H1 H2.
  assert (Hc : K * 512 <= cur / 2 ^ 21 <= x / 2 ^ 21 /\ x / 2 ^ 21 < K * 512 + 512).
  { pose proof (Z.div_mod cur (2 ^ 21) ltac:(lia)). pose proof (Z.mod_pos_bound cur (2 ^ 21) ltac:(lia)).
    pose proof (Z.div_mod x (2 ^ 21) ltac:(lia)). pose proof (Z.mod_pos_bound x (2 ^ 21) ltac:(lia)).
    split; [split|]; [|apply Z.div_le_mono; lia|]; nia. }
  replace (cur / 2 ^ 21) with ((cur / 2 ^ 21 - K * 512) + K * 512) by ring.
  replace (x / 2 ^ 21) with ((x / 2 ^ 21 - K * 512) + K * 512) by ring.
  rewrite !Z.mod_add by lia. rewrite !Z.mod_small by lia. lia.
Qed.

(** Over the entries of a table, a decidable property holds at some
    entry or at none. *)
Lemma find_entry : forall (P : Z -> Prop), (forall j, P j \/ ~ P j) -> forall n : nat,
  (exists j, 0 <= j < Z.of_nat n /\ P j) \/ (forall j, 0 <= j < Z.of_nat n -> ~ P j).
Proof.
  intros P HP. induction n as [|n [(j & Hj & Pj)|IH]].
  - right. intros j Hj. lia.
  - left. exists j. split; [lia|exact Pj].
  - pose proof (HP (Z.of_nat n)) as [Pn|Pn].
    + left. exists (Z.of_nat n). split; [lia|exact Pn].
    + right. intros j Hj. destruct (Z.eq_dec j (Z.of_nat n)) as [->|Hne]; [exact Pn|]. apply IH. lia.
Qed.

(** The tables of the pool the level-3 entries of [c] in [st] hold were
    held by entries of [c] in [e], or were free in [e]. *)
Definition l2_own (e st : Isolation.Engine) (c : Z) : Prop :=
  forall j, 0 <= j < 512 -> Z.land (tent (tables st) c j) 3 = 3 ->
    (exists j', 0 <= j' < 512 /\ Z.land (tent (tables e) c j') 3 = 3 /\
       child (pool_base e) (tent (tables st) c j) = child (pool_base e) (tent (tables e) c j')) \/
    free_bit (Isolation.Engine_pool e) (child (pool_base e) (tent (tables st) c j)) = true.

(** update at level 2 of a page-aligned range [ipa, end') inside the
    1 GiB span of a level-2 table [c], from a state with [l2_inv] and at
    least [need_l2] free tables, never fails, and keeps: [l2_inv] (for the
    next caller), the base and the number of tables; at most [need_l2]
    fewer free tables; every table in use other than [c] and the tables
    its entries hold, with its entries, in use; and it leaves in [c] only
    tables its entries held or that were free ([l2_own]). The pool must be
    page aligned and below 2^48; the update's output offset page
    aligned. *)
Theorem update_l2_keeps : forall f e tr c ipa end' u,
  (5 <= f)%nat -> l2_inv e c ->
  pool_base e mod 4096 = 0 -> pool_base e + 4096 * len (tables e) <= 2 ^ 48 ->
  0 <= ipa <= end' -> end' <= ipa / 2 ^ 30 * 2 ^ 30 + 2 ^ 30 -> end' <= 2 ^ 40 ->
  ipa mod 4096 = 0 -> end' mod 4096 = 0 -> Isolation.s2update_delta u mod 4096 = 0 ->
  need_l2 (Z.to_nat (end' - ipa)) (tables e) c ipa end' u <= count_free (Isolation.Engine_pool e) ->
  exists st tr', Isolation.Engine_update (S f) root c 2 ipa end' u e tr = Ok tt st tr' /\
    l2_inv st c /\ pool_base st = pool_base e /\ len (tables st) = len (tables e) /\
    count_free (Isolation.Engine_pool e) - need_l2 (Z.to_nat (end' - ipa)) (tables e) c ipa end' u
      <= count_free (Isolation.Engine_pool st) /\
    (forall y, 0 <= y -> y <> c -> free_bit (Isolation.Engine_pool e) y = false ->
       (forall j, 0 <= j < 512 -> Z.land (tent (tables e) c j) 3 = 3 -> child (pool_base e) (tent (tables e) c j) <> y) ->
       free_bit (Isolation.Engine_pool st) y = false /\ (forall j, 0 <= j < 512 -> tent (tables st) y j = tent (tables e) y j)) /\
    l2_own e st c.
Proof.
  intros f e tr c ipa end' u Hf Hinv Hal Hbelow Hr Hspan H40 Hia Hea Hd Hneed.
  set (N := need_l2 (Z.to_nat (end' - ipa)) (tables e) c ipa end' u) in *.
  set (K := ipa / 2 ^ 30).
  assert (HK : K * 2 ^ 30 <= ipa).
  { unfold K. pose proof (Z.div_mod ipa (2 ^ 30) ltac:(lia)). pose proof (Z.mod_pos_bound ipa (2 ^ 30) ltac:(lia)). lia. }
  fold K in Hspan.
  pose proof (update_l2_loop f c ipa end' u
    (fun cur st _ => l2_inv st c /\ ipa <= cur <= end' /\ cur mod 4096 = 0 /\
       pool_base st = pool_base e /\ len (tables st) = len (tables e) /\
       (cur < end' -> forall j, (cur / 2 ^ 21) mod 512 <= j < 512 -> tent (tables st) c j = tent (tables e) c j) /\
       count_free (Isolation.Engine_pool e) - (N - need_l2 (Z.to_nat (end' - cur)) (tables e) c cur end' u)
         <= count_free (Isolation.Engine_pool st) /\
       (forall y, 0 <= y -> y <> c -> free_bit (Isolation.Engine_pool e) y = false ->
          (forall j, 0 <= j < 512 -> Z.land (tent (tables e) c j) 3 = 3 -> child (pool_base e) (tent (tables e) c j) <> y) ->
          free_bit (Isolation.Engine_pool st) y = false /\ (forall j, 0 <= j < 512 -> tent (tables st) y j = tent (tables e) y j)) /\
       l2_own e st c) e tr
    ltac:(lia) ltac:(lia)) as (st & tr' & Hup & Hfin).
  - split; [exact Hinv|]. split; [lia|]. split; [exact Hia|]. split; [reflexivity|]. split; [reflexivity|].
    split; [intros; reflexivity|]. split; [fold N; lia|]. split.
    + intros y _ _ Hyu _. split; [exact Hyu|reflexivity].
    + intros j Hj H3. left. exists j. split; [exact Hj|]. split; [exact H3|reflexivity].
  - intros cur st tr1 Hc (Hi1 & Hc1 & Hca & HB1 & Hl1 & Hent1 & Hn1 & Hfr1 & How1).
    assert (Hn : need_l2 (Z.to_nat (end' - cur)) (tables e) c cur end' u =
      need_at (tables e) c cur end' u + need_l2 (Z.to_nat (end' - l2_stop cur end')) (tables e) c (l2_stop cur end') end' u).
    { destruct (Z.to_nat (end' - cur)) as [|n] eqn:En; [lia|]. cbn [need_l2].
      destruct (Z.ltb_spec cur end'); [|lia]. f_equal. pose proof (l2_stop_gt cur end' ltac:(lia)).
      apply need_l2_fuel; lia. }
    assert (Hjr : 0 <= (cur / 2 ^ 21) mod 512 < 512) by (apply Z.mod_pos_bound; lia).
    assert (Ena : need_at (tables st) c cur end' u = need_at (tables e) c cur end' u).
    { apply need_at_ent. apply Hent1; lia. }
    pose proof (l2_stop_gt cur end' ltac:(lia)) as Hsg.
    pose proof (need_l2_nonneg (Z.to_nat (end' - l2_stop cur end')) (tables e) c (l2_stop cur end') end' u).
    pose proof (l2_step_inv f st tr1 c cur end' u Hf Hi1 ltac:(rewrite HB1; exact Hal) ltac:(rewrite HB1, Hl1; exact Hbelow)
      ltac:(lia) H40 Hca Hea Hd ltac:(rewrite Ena; lia)) as (st' & tr' & Hs & Hi2 & Hc2 & HB2 & Hl2 & Ho2 & Hfr).
    pose proof (l2_step_own f st tr1 c cur end' u Hf Hi1 ltac:(rewrite HB1; exact Hal) ltac:(rewrite HB1, Hl1; exact Hbelow)
      ltac:(lia) H40 Hca Hea Hd ltac:(rewrite Ena; lia)) as (st'' & tr'' & Hs' & How).
    rewrite Hs in Hs'. injection Hs' as <- <-.
    exists (l2_stop cur end'), st', tr'. split; [exact Hs|]. split; [lia|].
    split; [exact Hi2|]. split; [lia|]. split.
    { unfold l2_stop. fold (l2_base cur). destruct (Z.min_spec end' (l2_base cur + 2 ^ 21)) as [[_ ->]|[_ ->]]; [exact Hea|].
      apply align_page. unfold l2_base. rewrite Z.add_mod by lia. rewrite Z.mod_mul by lia. reflexivity. }
    split; [congruence|]. split; [congruence|]. split; [|split; [|split]].
    + intros Hlt j Hj. rewrite idx_next with (K := K) in Hj by lia.
      pose proof (Z.mod_pos_bound (cur / 2 ^ 21) 512 ltac:(lia)). rewrite Ho2 by lia. apply Hent1; lia.
    + rewrite Ena in Hc2. lia.
    + intros y Hy0 Hyt Hyu Hyc. pose proof (Hfr1 y Hy0 Hyt Hyu Hyc) as (Hyu1 & Hye1).
      pose proof (Hfr y Hy0 Hyt Hyu1) as (Hyu2 & Hye2).
      { rewrite HB1, (Hent1 ltac:(lia) ((cur / 2 ^ 21) mod 512) ltac:(lia)). apply Hyc; exact Hjr. }
      split; [exact Hyu2|]. intros j Hj. rewrite Hye2 by exact Hj. apply Hye1; exact Hj.
    + intros j Hj H3. destruct (Z.eq_dec j ((cur / 2 ^ 21) mod 512)) as [->|Hne].
      * pose proof (How H3) as [E|Hfree].
        -- rewrite E. apply How1; [exact Hjr|]. rewrite <- E. exact H3.
        -- rewrite HB1 in Hfree.
           set (y := child (pool_base e) (tent (tables st') c ((cur / 2 ^ 21) mod 512))) in *.
           pose proof Hi2 as (_ & _ & _ & _ & _ & _ & _ & Hents2 & _).
           pose proof (Hents2 _ Hjr H3) as (_ & Hle2 & _ & _ & _).
           assert (Hy0 : 0 <= y) by (unfold y; apply (child_nonneg e); rewrite <- HB1, <- HB2; exact Hle2).
           pose proof Hi1 as (_ & _ & _ & _ & _ & _ & Hcu1 & _).
           assert (Hyc : y <> c) by (intros E; rewrite E in Hfree; congruence).
           pose proof (find_entry (fun j' => Z.land (tent (tables e) c j') 3 = 3 /\ child (pool_base e) (tent (tables e) c j') = y)
             ltac:(intros j'; destruct (Z.eq_dec (Z.land (tent (tables e) c j') 3) 3);
                   [destruct (Z.eq_dec (child (pool_base e) (tent (tables e) c j')) y); [left; split; assumption|]|];
                   right; intros (? & ?); contradiction) 512%nat) as [(j' & Hj' & H3' & Ey)|Hnone].
           ++ left. exists j'. split; [lia|]. split; [exact H3'|]. symmetry. exact Ey.
           ++ destruct (free_bit (Isolation.Engine_pool e) y) eqn:Hfy; [right; reflexivity|].
              exfalso. pose proof (Hfr1 y Hy0 Hyc Hfy) as (Hu1 & _); [|congruence].
              intros j'' Hj'' H3'' E. exact (Hnone j'' ltac:(lia) (conj H3'' E)).
      * rewrite Ho2 in H3 |- * by (try exact Hj; exact Hne). apply How1; assumption.
  - destruct Hfin as (Hi & _ & _ & HB & Hl & _ & Hc & Hfr & How). exists st, tr'. split; [exact Hup|].
    split; [exact Hi|]. split; [exact HB|]. split; [exact Hl|]. split; [|split; [exact Hfr|exact How]].
    rewrite Z.sub_diag in Hc. cbn in Hc. fold N. lia.
Qed.

(** [update_l2_keeps] without what it keeps outside [t]. *)
Theorem update_l2_no_failure : forall f e tr t ipa end' u,
  (5 <= f)%nat -> l2_inv e t ->
  pool_base e mod 4096 = 0 -> pool_base e + 4096 * len (tables e) <= 2 ^ 48 ->
  0 <= ipa <= end' -> end' <= ipa / 2 ^ 30 * 2 ^ 30 + 2 ^ 30 -> end' <= 2 ^ 40 ->
  ipa mod 4096 = 0 -> end' mod 4096 = 0 -> Isolation.s2update_delta u mod 4096 = 0 ->
  need_l2 (Z.to_nat (end' - ipa)) (tables e) t ipa end' u <= count_free (Isolation.Engine_pool e) ->
  exists st tr', Isolation.Engine_update (S f) root t 2 ipa end' u e tr = Ok tt st tr' /\
    l2_inv st t /\ pool_base st = pool_base e /\ len (tables st) = len (tables e).
Proof.
  intros f e tr t ipa end' u Hf Hinv Hal Hbelow Hr Hspan H40 Hia Hea Hd Hneed.
  pose proof (update_l2_keeps f e tr t ipa end' u Hf Hinv Hal Hbelow Hr Hspan H40 Hia Hea Hd Hneed)
    as (st & tr' & Hup & Hi & HB & Hl & _). exists st, tr'. auto.
Qed.

(** [update_l2_keeps] with its frame: every table in use other than [t]
    and the tables its entries hold keeps its entries and stays in use. *)
Theorem update_l2_frame : forall f e tr t ipa end' u,
  (5 <= f)%nat -> l2_inv e t ->
  pool_base e mod 4096 = 0 -> pool_base e + 4096 * len (tables e) <= 2 ^ 48 ->
  0 <= ipa <= end' -> end' <= ipa / 2 ^ 30 * 2 ^ 30 + 2 ^ 30 -> end' <= 2 ^ 40 ->
  ipa mod 4096 = 0 -> end' mod 4096 = 0 -> Isolation.s2update_delta u mod 4096 = 0 ->
  need_l2 (Z.to_nat (end' - ipa)) (tables e) t ipa end' u <= count_free (Isolation.Engine_pool e) ->
  exists st tr', Isolation.Engine_update (S f) root t 2 ipa end' u e tr = Ok tt st tr' /\
    l2_inv st t /\ pool_base st = pool_base e /\ len (tables st) = len (tables e) /\
    (forall y, 0 <= y -> y <> t -> free_bit (Isolation.Engine_pool e) y = false ->
       (forall j, 0 <= j < 512 -> Z.land (tent (tables e) t j) 3 = 3 -> child (pool_base e) (tent (tables e) t j) <> y) ->
       free_bit (Isolation.Engine_pool st) y = false /\ (forall j, 0 <= j < 512 -> tent (tables st) y j = tent (tables e) y j)).
Proof.
  intros f e tr t ipa end' u Hf Hinv Hal Hbelow Hr Hspan H40 Hia Hea Hd Hneed.
  pose proof (update_l2_keeps f e tr t ipa end' u Hf Hinv Hal Hbelow Hr Hspan H40 Hia Hea Hd Hneed)
    as (st & tr' & Hup & Hi & HB & Hl & _ & Hfr & _). exists st, tr'. auto.
Qed.
