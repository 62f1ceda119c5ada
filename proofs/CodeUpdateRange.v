(** * The stage-2 update at the root: the root table's invariant

    Lemmas about proofs/code/Isolation.v, the translation of
    isolation/stage2.go, that carry on from CodeUpdateRoot.v.
    Proved here:
    - [l1_inv]: the root [t] (two tables of the pool, both in use) with
      the pool sound ([pool_inv]), each of its 1,024 entries holding a
      level-2 table of the pool in use with [l2_inv] (CodeUpdateL2), a
      block, or nothing, the tables its entries hold distinct from each
      other and from the root's two tables; it gives [pool_inv] and
      [l2_inv] of every table an entry holds ([l1_inv_pool],
      [l1_inv_l2]), and the root with it is a tree of tables of the pool
      ([l1_inv_tree]), so [need] there is [need_root] ([need_root_l1]);
    - from [l1_inv], [update] at the root of a page-aligned range inside
      one 1 GiB root entry never fails given the [need_root_at] free
      tables [need] counts for the entry ([update_root_entry_l1]), and
      over a range of one root entry the reservation [need_root] is that
      count ([need_root_one]), so [need_root] free tables are enough
      there ([update_root_one_no_failure]);
    - the first parts of the frame of the update at level 2: update at
      level 3 over a table writes no other table and no bit of the pool
      ([update_last_frame]), and descend into an invalid level-2 entry
      for a map writes only the table it takes and that entry, and only
      that table's bit ([descend_new_frame]); descend into an entry
      holding a level-3 table writes only that table and the entry, and
      only that table's bit ([descend_table_frame]), and so do replaceLeaf
      of such an entry ([replaceLeaf_table_frame]) and descend into a
      block, with the table it takes ([descend_split_frame]);
      [descend_table_last] and [descend_split_last] (CodeUpdate) now state
      the pool they leave when they free the level-3 table;
    - so one iteration of [update]'s loop at level 2 at entry [j] of [t]
      writes no table in use but [t] and the table entry [j] holds
      ([l2_step_frame]), and [update] at level 2 over a range of [t]
      ([update_l2_no_failure], CodeUpdateL2) leaves every table in use
      other than [t] and the tables its entries hold as it was, and in
      use ([update_l2_frame]). *)
From Coq Require Import ZArith Lia List Bool String.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodePlace CodeTrack CodeLens CodeLoop CodeLedger CodeVCPU CodeVMCreate
  CodeStage2 CodeShadow CodePool CodeFree CodeUpdate CodeUpdateL2 CodeUpdateRoot.
Import ListNotations.
Open Scope Z_scope.

(** ** The root table's invariant *)

(** The root [t] of a stage-2: its two tables lie in the pool and are in
    use, the pool is sound, every entry holding a table descriptor names a
    table of the pool with [l2_inv], and the tables its entries name are
    distinct from each other and from the root's own two tables. An entry
    that is no table descriptor is a block or nothing. *)
Definition l1_inv (e : Isolation.Engine) (t : Z) : Prop :=
  pool_inv e /\ 0 <= t /\ t + 1 < len (tables e) /\
  free_bit (Isolation.Engine_pool e) t = false /\ free_bit (Isolation.Engine_pool e) (t + 1) = false /\
  (forall i, 0 <= i < 1024 -> Z.land (ent (tables e) t i) 3 = 3 ->
     pool_base e <= Z.land (ent (tables e) t i) Isolation.descOAMask /\
     child (pool_base e) (ent (tables e) t i) < len (tables e) /\
     l2_inv e (child (pool_base e) (ent (tables e) t i)) /\
     child (pool_base e) (ent (tables e) t i) <> t /\ child (pool_base e) (ent (tables e) t i) <> t + 1) /\
  (forall i i', 0 <= i < 1024 -> 0 <= i' < 1024 -> i <> i' ->
     Z.land (ent (tables e) t i) 3 = 3 -> Z.land (ent (tables e) t i') 3 = 3 ->
     child (pool_base e) (ent (tables e) t i) <> child (pool_base e) (ent (tables e) t i')).

Lemma l1_inv_pool : forall e t, l1_inv e t -> pool_inv e.
Proof. intros e t H. apply H. Qed.

Lemma l1_inv_l2 : forall e t i, l1_inv e t -> 0 <= i < 1024 -> Z.land (ent (tables e) t i) 3 = 3 ->
  l2_inv e (child (pool_base e) (ent (tables e) t i)).
Proof. intros e t i (_ & _ & _ & _ & _ & H & _) Hi H3. apply (H i Hi H3). Qed.

(** The table of the root that holds entry [i] is in use. *)
Lemma l1_inv_slot_used : forall e t i, l1_inv e t -> 0 <= i < 1024 ->
  free_bit (Isolation.Engine_pool e) (t + i / 512) = false.
Proof.
  intros e t i (_ & _ & _ & H0 & H1 & _) Hi.
  assert (Hq : i / 512 = 0 \/ i / 512 = 1).
  { assert (0 <= i / 512 < 2) by (split; [apply Z.div_pos|apply Z.div_lt_upper_bound]; lia). lia. }
  destruct Hq as [-> | ->]; [rewrite Z.add_0_r|]; assumption.
Qed.

(** The root with [l1_inv] is a tree of tables of the pool ([tree_ok],
    CodeStage2), so [need] at the root is [need_root] ([need_root_spec]). *)
Lemma l1_inv_tree : forall e t, l1_inv e t -> tree_ok (tables e) (pool_base e) 2 t 1024.
Proof.
  intros e t (_ & Ht & Htl & _ & _ & Hents & _). cbn [tree_ok]. change ((1024 - 1) / 512) with 1.
  split; [exact Ht|]. split; [exact Htl|].
  intros i Hi H3. destruct (Hents i Hi H3) as (Hle & Hlt & Hinv & _).
  split; [exact Hle|]. split; [exact Hlt|].
  set (c := child (pool_base e) (ent (tables e) t i)) in *.
  pose proof Hinv as (_ & _ & _ & _ & _ & Hc & _ & Hc3 & _).
  change ((512 - 1) / 512) with 0. rewrite Z.add_0_r.
  split; [lia|]. split; [lia|].
  intros j Hj Hj3. rewrite ent_tent in Hj3 |- * by exact Hj.
  destruct (Hc3 j Hj Hj3) as (_ & Hle' & Hlt' & _ & _).
  split; [exact Hle'|]. split; [exact Hlt'|].
  cbn [tree_ok]. split; [apply child_nonneg; exact Hle'|]. change ((512 - 1) / 512) with 0. split; [lia|exact I].
Qed.

Theorem need_root_l1 : forall f e tr t ipa end' u, (4 <= f)%nat -> l1_inv e t ->
  0 <= ipa <= end' -> end' <= 2 ^ 40 ->
  Isolation.Engine_need (S f) root t 0 1 ipa end' u e tr =
    Ok (need_root (Z.to_nat (end' - ipa)) (tables e) (pool_base e) t ipa end' u) e tr.
Proof.
  intros f e tr t ipa end' u Hf Hl Hr H40.
  apply need_root_spec; [exact Hf| |apply l1_inv_tree; exact Hl|exact Hr|exact H40].
  destruct Hl as ((Hok & _) & _). exact Hok.
Qed.

(** ** One root entry *)

(** [update_root_entry_no_failure] (CodeUpdateRoot) from [l1_inv]. *)
Theorem update_root_entry_l1 : forall f e tr t ipa end' u,
  (8 <= f)%nat -> l1_inv e t ->
  pool_base e mod 4096 = 0 -> pool_base e + 4096 * len (tables e) <= 2 ^ 48 ->
  0 <= ipa < end' -> end' <= l1_base ipa + 2 ^ 30 -> end' <= 2 ^ 40 ->
  ipa mod 4096 = 0 -> end' mod 4096 = 0 -> Isolation.s2update_delta u mod 4096 = 0 ->
  need_root_at (tables e) (pool_base e) t ipa end' u <= count_free (Isolation.Engine_pool e) ->
  exists st tr', Isolation.Engine_update (S f) root t 1 ipa end' u e tr = Ok tt st tr'.
Proof.
  intros f e tr t ipa end' u Hf Hl Hal Hbelow Hr Hend H40 Hia Hea Hd Hneed.
  pose proof Hl as (Hpi & Ht & Htl & _ & _ & Hents & _).
  assert (Hi : 0 <= (ipa / 2 ^ 30) mod 1024 < 1024) by (apply Z.mod_pos_bound; lia).
  apply (update_root_entry_no_failure f e tr t ipa end' u Hf Hpi Ht Htl
    (l1_inv_slot_used e t _ Hl Hi) Hal Hbelow Hr Hend H40 Hia Hea Hd); [|exact Hneed].
  intros H3. destruct (Hents _ Hi H3) as (Hle & Hlt & Hinv & _). auto.
Qed.

(** Over a range inside one root entry, [need_root] counts what
    [need_root_at] counts for that entry. *)
Lemma need_root_one : forall n T base t ipa end' u, 0 <= ipa < end' -> end' <= l1_base ipa + 2 ^ 30 ->
  (Z.to_nat (end' - ipa) <= n)%nat ->
  need_root n T base t ipa end' u = need_root_at T base t ipa end' u.
Proof.
  intros n T base t ipa end' u Hr Hend Hn.
  destruct n as [|n]; [lia|]. cbn [need_root].
  destruct (Z.ltb_spec ipa end'); [|lia].
  assert (Hs : l1_stop ipa end' = end') by (unfold l1_stop; lia).
  rewrite Hs, need_root_done by lia. ring.
Qed.

(** So, from [l1_inv], [need_root] free tables (the count [need] makes,
    [need_root_spec]) are enough for [update] at the root over a
    page-aligned range inside one root entry. *)
Theorem update_root_one_no_failure : forall f e tr t ipa end' u,
  (8 <= f)%nat -> l1_inv e t ->
  pool_base e mod 4096 = 0 -> pool_base e + 4096 * len (tables e) <= 2 ^ 48 ->
  0 <= ipa < end' -> end' <= l1_base ipa + 2 ^ 30 -> end' <= 2 ^ 40 ->
  ipa mod 4096 = 0 -> end' mod 4096 = 0 -> Isolation.s2update_delta u mod 4096 = 0 ->
  need_root (Z.to_nat (end' - ipa)) (tables e) (pool_base e) t ipa end' u <= count_free (Isolation.Engine_pool e) ->
  exists st tr', Isolation.Engine_update (S f) root t 1 ipa end' u e tr = Ok tt st tr'.
Proof.
  intros f e tr t ipa end' u Hf Hl Hal Hbelow Hr Hend H40 Hia Hea Hd Hneed.
  rewrite need_root_one in Hneed by lia.
  exact (update_root_entry_l1 f e tr t ipa end' u Hf Hl Hal Hbelow Hr Hend H40 Hia Hea Hd Hneed).
Qed.

(** ** The frame of the last level *)

(** What [update] at level 3 over table [t] leaves ([last_done],
    CodeUpdate): the base, the number of tables, every free bit, the
    count of free tables and every entry of every table other than [t]. *)
Lemma last_done_frame : forall e t S0 ipa u tr cur st tr', last_done e t S0 ipa u tr cur st tr' ->
  pool_base st = pool_base e /\ len (tables st) = len (tables e) /\
  Isolation.tablePool_nfree (Isolation.Engine_pool st) = Isolation.tablePool_nfree (Isolation.Engine_pool e) /\
  (forall y, free_bit (Isolation.Engine_pool st) y = free_bit (Isolation.Engine_pool e) y) /\
  (forall x j, 0 <= x -> x <> t -> 0 <= j < 512 -> tent (tables st) x j = tent (tables e) x j).
Proof.
  intros e t S0 ipa u tr cur st tr' (T' & -> & _ & HL & _ & HT).
  rewrite base_set_tables, tables_set_tables. split; [reflexivity|]. split; [exact HL|].
  split; [apply free_set_tables|]. split; [intros y; apply free_bit_set_tables|].
  intros x j Hx Hxt Hj. rewrite HT by assumption.
  destruct (Z.eqb_spec x t); [contradiction|reflexivity].
Qed.

(** [update_last_ok] (CodeUpdate) with its frame: update at level 3 over
    a table [t] of the pool writes no other table and no bit of the
    pool. *)
Theorem update_last_frame : forall fuel e tr t S0 ipa end' u,
  (3 <= fuel)%nat -> tables_ok e -> 0 <= t < len (tables e) -> Isolation.Engine_plat e <> None ->
  0 <= S0 -> S0 mod 2 ^ 21 = 0 -> S0 <= ipa <= end' -> end' <= S0 + 2 ^ 21 -> end' < 2 ^ 64 ->
  ipa mod 4096 = 0 -> end' mod 4096 = 0 -> Isolation.s2update_delta u mod 4096 = 0 ->
  exists st tr', Isolation.Engine_update fuel root t 3 ipa end' u e tr = Ok tt st tr' /\
    pool_base st = pool_base e /\ len (tables st) = len (tables e) /\
    Isolation.tablePool_nfree (Isolation.Engine_pool st) = Isolation.tablePool_nfree (Isolation.Engine_pool e) /\
    (forall y, free_bit (Isolation.Engine_pool st) y = free_bit (Isolation.Engine_pool e) y) /\
    (forall x j, 0 <= x -> x <> t -> 0 <= j < 512 -> tent (tables st) x j = tent (tables e) x j).
Proof.
  intros fuel e tr t S0 ipa end' u Hf Hok Ht Hpl HS0 HSa Hr Hend H64 Hia Hea Hd.
  destruct (update_last_ok fuel e tr t S0 ipa end' u Hf Hok Ht Hpl HS0 HSa Hr Hend H64 Hia Hea Hd)
    as (st & tr' & Hup & Hdone).
  exists st, tr'. split; [exact Hup|]. exact (last_done_frame e t S0 ipa u tr end' st tr' Hdone).
Qed.

Lemma tent_put_ent_frame : forall T x j v x' j', 0 <= x < len T -> 0 <= x' -> 0 <= j -> 0 <= j' ->
  (x' <> x \/ j' <> j) -> tent (put_ent T x j v) x' j' = tent T x' j'.
Proof.
  intros T x j v x' j' Hx Hx' Hj Hj' Hne. unfold tent, put_ent.
  destruct (Z.eq_dec x' x) as [->|Hxx].
  - rewrite nth_replace by (unfold len in Hx; lia).
    apply nth_replace_other. lia.
  - rewrite nth_replace_other by lia. reflexivity.
Qed.

(** descend into an invalid level-2 entry [i] of [t] for a map
    ([descend_new_last], CodeUpdate) with its frame: it takes one free
    table [c] and writes no table but [c] and entry [i] of [t], and no
    bit of the pool but [c]'s. *)
Theorem descend_new_frame : forall fuel e tr t i p base ipa stop u,
  (4 <= fuel)%nat -> tables_ok e -> pool_ok (Isolation.Engine_pool e) -> bits_ok (Isolation.Engine_pool e) ->
  some_free (Isolation.Engine_pool e) -> Isolation.Engine_plat e <> None ->
  0 <= t < len (tables e) -> 0 <= i < 512 ->
  lens p (slot_valid t) (fun s => tent (tables s) t i) (fun v s => set_tables s (put_ent (tables s) t i v)) ->
  free_bit (Isolation.Engine_pool e) t = false -> valid_d (tent (tables e) t i) = false ->
  Isolation.s2update_unmap u = false ->
  0 <= base -> base mod 2 ^ 21 = 0 -> base <= ipa <= stop -> stop <= base + 2 ^ 21 -> stop < 2 ^ 64 ->
  ipa mod 4096 = 0 -> stop mod 4096 = 0 -> Isolation.s2update_delta u mod 4096 = 0 ->
  exists c st tr', Isolation.Engine_descend fuel root p 2 base ipa stop u e tr = Ok tt st tr' /\
    0 <= c < len (tables e) /\ c <> t /\ free_bit (Isolation.Engine_pool e) c = true /\
    free_bit (Isolation.Engine_pool st) c = false /\
    pool_base st = pool_base e /\ len (tables st) = len (tables e) /\
    (forall y, 0 <= y -> y <> c -> free_bit (Isolation.Engine_pool st) y = free_bit (Isolation.Engine_pool e) y) /\
    (forall x j, 0 <= x -> x <> c -> 0 <= j < 512 -> (x <> t \/ j <> i) -> tent (tables st) x j = tent (tables e) x j).
Proof.
  intros fuel e tr t i p base ipa stop u Hf Hok Hpok Hbits Hsome Hpl Ht Hi L Htu Hval Hun Hb Hba Hr Hs Hs64 Hia Hsa Hd.
  destruct (descend_new_last fuel e tr t i p base ipa stop u Hf Hok Hpok Hbits Hsome Hpl Ht Hi L Htu Hval Hun
    Hb Hba Hr Hs Hs64 Hia Hsa Hd) as (c & q & st & tr' & Hde & Hc & Hct & Hfree & Htk & Hdone).
  destruct (last_done_frame _ _ _ _ _ _ _ _ _ Hdone) as (HB & HL & _ & Hfb & Hte).
  destruct (tables_set_pool_taken e q c Htk) as [HTq HBq].
  pose proof Htk as (_ & _ & Hqc & Hqo & _ & _).
  rewrite base_set_tables, HBq in HB. rewrite tables_set_tables, len_put_ent, HTq, len_replace in HL.
  exists c, st, tr'. split; [exact Hde|]. split; [exact Hc|]. split; [exact Hct|]. split; [exact Hfree|].
  split; [rewrite Hfb, free_bit_set_tables, get_set_pool; exact Hqc|].
  split; [exact HB|]. split; [exact HL|]. split.
  - intros y Hy Hyc. rewrite Hfb, free_bit_set_tables, get_set_pool. apply Hqo; assumption.
  - intros x j Hx Hxc Hj Hne. rewrite Hte by assumption. rewrite tables_set_tables.
    rewrite tent_put_ent_frame by (try rewrite HTq, len_replace; lia).
    rewrite HTq. apply tent_replace_other; lia.
Qed.

(** descend into a level-2 entry [i] of [t] holding a level-3 table [c]
    of the pool in use ([descend_table_last], CodeUpdate) with its frame:
    it writes no table but [c] and entry [i] of [t], and no bit of the
    pool but [c]'s. *)
Theorem descend_table_frame : forall fuel e tr t i p base ipa stop u,
  (4 <= fuel)%nat -> tables_ok e -> pool_ok (Isolation.Engine_pool e) -> Isolation.Engine_plat e <> None ->
  0 <= t < len (tables e) -> 0 <= i < 512 ->
  lens p (slot_valid t) (fun s => tent (tables s) t i) (fun v s => set_tables s (put_ent (tables s) t i v)) ->
  l2_table_entry e t i -> 0 <= base -> base mod 2 ^ 21 = 0 ->
  base <= ipa <= stop -> stop <= base + 2 ^ 21 -> stop < 2 ^ 64 ->
  ipa mod 4096 = 0 -> stop mod 4096 = 0 -> Isolation.s2update_delta u mod 4096 = 0 ->
  exists st tr', Isolation.Engine_descend fuel root p 2 base ipa stop u e tr = Ok tt st tr' /\
    let c := child (pool_base e) (tent (tables e) t i) in
    pool_base st = pool_base e /\ len (tables st) = len (tables e) /\
    (forall y, 0 <= y -> y <> c -> free_bit (Isolation.Engine_pool st) y = free_bit (Isolation.Engine_pool e) y) /\
    (forall x j, 0 <= x -> x <> c -> 0 <= j < 512 -> (x <> t \/ j <> i) -> tent (tables st) x j = tent (tables e) x j).
Proof.
  intros fuel e tr t i p base ipa stop u Hf Hok Hpok Hpl Ht Hi L Hent Hb Hba Hr Hs Hs64 Hia Hsa Hd.
  destruct (descend_table_last fuel e tr t i p base ipa stop u Hf Hok Hpok Hpl Ht Hi L Hent Hb Hba Hr Hs Hs64 Hia Hsa Hd)
    as (st & tr' & Hde & Hrest).
  exists st, tr'. split; [exact Hde|]. cbv zeta in Hrest |- *.
  set (c := child (pool_base e) (tent (tables e) t i)) in *.
  destruct Hrest as (st1 & tr1 & Hdone & Hcase).
  destruct (last_done_frame _ _ _ _ _ _ _ _ _ Hdone) as (HB & HL & _ & Hfb & Hte).
  destruct Hcase as [[-> _]|(_ & _ & q & -> & _ & HP & _ & _ & _ & Hout)].
  - split; [exact HB|]. split; [exact HL|]. split.
    + intros y _ _. apply Hfb.
    + intros x j Hx Hxc Hj _. apply Hte; assumption.
  - assert (ET : tables (Isolation.set_Engine_pool q (set_tables st1 (put_ent (tables st1) t i 0))) =
      put_ent (tables st1) t i 0).
    { unfold tables at 1. rewrite get_set_pool, HP. exact (tables_set_tables st1 _). }
    assert (EB : pool_base (Isolation.set_Engine_pool q (set_tables st1 (put_ent (tables st1) t i 0))) = pool_base st1).
    { unfold pool_base at 1. rewrite get_set_pool, HP. exact (base_set_tables st1 (put_ent (tables st1) t i 0)). }
    rewrite ET, EB. split; [exact HB|]. split; [rewrite len_put_ent; exact HL|]. split.
    + intros y Hy Hyc. rewrite get_set_pool. apply Hout; assumption.
    + intros x j Hx Hxc Hj Hne. rewrite tent_put_ent_frame by lia. apply Hte; assumption.
Qed.

(** replaceLeaf of a level-2 entry [i] of [t] holding a level-3 table [c]
    of the pool in use ([replaceLeaf_table_last], [clearEntry_table_last],
    CodeUpdate) with its frame: it writes no table but [c] and entry [i]
    of [t], and no bit of the pool but [c]'s. *)
Theorem replaceLeaf_table_frame : forall fuel e tr t i p base u,
  (5 <= fuel)%nat -> tables_ok e -> pool_ok (Isolation.Engine_pool e) -> Isolation.Engine_plat e <> None ->
  0 <= t < len (tables e) -> 0 <= i < 512 ->
  lens p (slot_valid t) (fun s => tent (tables s) t i) (fun v s => set_tables s (put_ent (tables s) t i v)) ->
  l2_table_entry e t i -> 0 <= base -> base mod 2 ^ 21 = 0 -> base + 2 ^ 21 < 2 ^ 64 ->
  exists st tr', Isolation.Engine_replaceLeaf fuel root p 2 base u e tr = Ok tt st tr' /\
    let c := child (pool_base e) (tent (tables e) t i) in
    pool_base st = pool_base e /\ len (tables st) = len (tables e) /\
    (forall y, 0 <= y -> y <> c -> free_bit (Isolation.Engine_pool st) y = free_bit (Isolation.Engine_pool e) y) /\
    (forall x j, 0 <= x -> x <> c -> 0 <= j < 512 -> (x <> t \/ j <> i) -> tent (tables st) x j = tent (tables e) x j).
Proof.
  intros fuel e tr t i p base u Hf Hok Hpok Hpl Ht Hi L Hent Hb Hba Hb64.
  destruct (replaceLeaf_table_last fuel e tr t i p base u Hf Hok Hpok Hpl Ht Hi L Hent Hb Hba Hb64)
    as (st & tr' & Hrl & st1 & Hce & Hst).
  destruct (clearEntry_table_last (pred fuel) e tr t i p base (Isolation.s2update_vmid u) ltac:(lia)
    Hok Hpok Hpl Ht Hi L Hent Hb Hba Hb64) as (T1 & q & Hce' & HL1 & _ & HT1 & HP & _ & _ & _ & Hout).
  cbv zeta in Hce', HT1, Hout. set (c := child (pool_base e) (tent (tables e) t i)) in *.
  rewrite Hce in Hce'. injection Hce' as E1 _. subst st1.
  exists st, tr'. split; [exact Hrl|]. cbv zeta. fold c.
  set (st1 := Isolation.set_Engine_pool q (set_tables e (put_ent T1 t i 0))) in *.
  assert (ET : tables st1 = put_ent T1 t i 0).
  { unfold st1, tables at 1. rewrite get_set_pool, HP. exact (tables_set_tables e (put_ent T1 t i 0)). }
  assert (EB : pool_base st1 = pool_base e).
  { unfold st1, pool_base at 1. rewrite get_set_pool, HP. exact (base_set_tables e (put_ent T1 t i 0)). }
  assert (EL : len (tables st1) = len (tables e)) by (rewrite ET, len_put_ent; exact HL1).
  assert (EF : forall y, 0 <= y -> y <> c -> free_bit (Isolation.Engine_pool st1) y = free_bit (Isolation.Engine_pool e) y).
  { intros y Hy Hyc. unfold st1. rewrite get_set_pool. apply Hout; assumption. }
  assert (EE : forall x j, 0 <= x -> x <> c -> 0 <= j < 512 -> (x <> t \/ j <> i) -> tent (tables st1) x j = tent (tables e) x j).
  { intros x j Hx Hxc Hj Hne. rewrite ET, tent_put_ent_frame by lia. rewrite HT1 by assumption.
    destruct (Z.eqb_spec x c); [contradiction|reflexivity]. }
  destruct (Isolation.s2update_unmap u); subst st.
  - split; [exact EB|]. split; [exact EL|]. split; assumption.
  - rewrite base_set_tables, tables_set_tables, len_put_ent. split; [exact EB|]. split; [exact EL|]. split.
    + intros y Hy Hyc. rewrite free_bit_set_tables. apply EF; assumption.
    + intros x j Hx Hxc Hj Hne. rewrite tent_put_ent_frame by lia. apply EE; assumption.
Qed.

(** descend into a level-2 block entry [i] of [t] ([descend_split_last],
    CodeUpdate) with its frame: it takes one free table [c] and writes no
    table but [c] and entry [i] of [t], and no bit of the pool but [c]'s. *)
Theorem descend_split_frame : forall fuel e tr t i p base ipa stop u,
  (4 <= fuel)%nat -> tables_ok e -> pool_ok (Isolation.Engine_pool e) -> bits_ok (Isolation.Engine_pool e) ->
  some_free (Isolation.Engine_pool e) -> Isolation.Engine_plat e <> None ->
  0 <= t < len (tables e) -> 0 <= i < 512 ->
  lens p (slot_valid t) (fun s => tent (tables s) t i) (fun v s => set_tables s (put_ent (tables s) t i v)) ->
  free_bit (Isolation.Engine_pool e) t = false -> valid_d (tent (tables e) t i) = true ->
  Z.land (tent (tables e) t i) 3 <> 3 ->
  0 <= base -> base mod 2 ^ 21 = 0 -> base <= ipa <= stop -> stop <= base + 2 ^ 21 -> stop < 2 ^ 64 ->
  ipa mod 4096 = 0 -> stop mod 4096 = 0 -> Isolation.s2update_delta u mod 4096 = 0 ->
  exists c st tr', Isolation.Engine_descend fuel root p 2 base ipa stop u e tr = Ok tt st tr' /\
    0 <= c < len (tables e) /\ c <> t /\ free_bit (Isolation.Engine_pool e) c = true /\
    pool_base st = pool_base e /\ len (tables st) = len (tables e) /\
    (forall y, 0 <= y -> y <> c -> free_bit (Isolation.Engine_pool st) y = free_bit (Isolation.Engine_pool e) y) /\
    (forall x j, 0 <= x -> x <> c -> 0 <= j < 512 -> (x <> t \/ j <> i) -> tent (tables st) x j = tent (tables e) x j).
Proof.
  intros fuel e tr t i p base ipa stop u Hf Hok Hpok Hbits Hsome Hpl Ht Hi L Htu Hval Hnt Hb Hba Hr Hs Hs64 Hia Hsa Hd.
  destruct (descend_split_last fuel e tr t i p base ipa stop u Hf Hok Hpok Hbits Hsome Hpl Ht Hi L Htu Hval Hnt
    Hb Hba Hr Hs Hs64 Hia Hsa Hd) as (c & q & Ts & st & tr' & Hde & Hc & Hct & Hfree & Htk & HTsl & _ & HTs & Hrest).
  cbv zeta in Hrest.
  set (e3 := set_tables (Isolation.set_Engine_pool q e) (put_ent Ts t i (tdesc (pool_base e) c))) in *.
  destruct Hrest as (st1 & tr1 & Hdone & Hcase).
  destruct (last_done_frame _ _ _ _ _ _ _ _ _ Hdone) as (HB & HL & _ & Hfb & Hte).
  destruct (tables_set_pool_taken e q c Htk) as [HTq HBq].
  pose proof Htk as (_ & _ & _ & Hqo & _ & _).
  assert (HB3 : pool_base e3 = pool_base e) by (unfold e3; rewrite base_set_tables; exact HBq).
  assert (HL3 : len (tables e3) = len (tables e)) by (unfold e3; rewrite tables_set_tables, len_put_ent; exact HTsl).
  assert (HF3 : forall y, 0 <= y -> y <> c -> free_bit (Isolation.Engine_pool e3) y = free_bit (Isolation.Engine_pool e) y).
  { intros y Hy Hyc. unfold e3. rewrite free_bit_set_tables, get_set_pool. apply Hqo; assumption. }
  assert (HE3 : forall x j, 0 <= x -> x <> c -> 0 <= j < 512 -> (x <> t \/ j <> i) -> tent (tables e3) x j = tent (tables e) x j).
  { intros x j Hx Hxc Hj Hne. unfold e3. rewrite tables_set_tables, tent_put_ent_frame by lia.
    rewrite HTs by assumption. destruct (Z.eqb_spec x c); [contradiction|]. rewrite HTq. apply tent_replace_other; lia. }
  exists c, st, tr'. split; [exact Hde|]. split; [exact Hc|]. split; [exact Hct|]. split; [exact Hfree|].
  destruct Hcase as [[-> _]|(_ & _ & q' & -> & _ & HP & _ & _ & _ & Hout)].
  - split; [congruence|]. split; [congruence|]. split.
    + intros y Hy Hyc. rewrite Hfb. apply HF3; assumption.
    + intros x j Hx Hxc Hj Hne. rewrite Hte by assumption. apply HE3; assumption.
  - assert (ET : tables (Isolation.set_Engine_pool q' (set_tables st1 (put_ent (tables st1) t i 0))) =
      put_ent (tables st1) t i 0).
    { unfold tables at 1. rewrite get_set_pool, HP. exact (tables_set_tables st1 (put_ent (tables st1) t i 0)). }
    assert (EB : pool_base (Isolation.set_Engine_pool q' (set_tables st1 (put_ent (tables st1) t i 0))) = pool_base st1).
    { unfold pool_base at 1. rewrite get_set_pool, HP. exact (base_set_tables st1 (put_ent (tables st1) t i 0)). }
    rewrite ET, EB. split; [congruence|]. split; [rewrite len_put_ent; congruence|]. split.
    + intros y Hy Hyc. rewrite get_set_pool, Hout by assumption. apply HF3; assumption.
    + intros x j Hx Hxc Hj Hne. rewrite tent_put_ent_frame by lia. rewrite Hte by assumption. apply HE3; assumption.
Qed.


(** ** The frame of one iteration at level 2 *)

(** The tables one iteration of [update]'s loop at level 2 ([l2_step])
    at entry [j] of [t] may write: [t], the table entry [j] holds, and a
    table that was free. Every other table in use keeps its entries and
    stays in use. *)
Definition l2_frame (e st : Isolation.Engine) (t j : Z) : Prop :=
  forall y, 0 <= y -> y <> t -> free_bit (Isolation.Engine_pool e) y = false ->
    (Z.land (tent (tables e) t j) 3 = 3 -> child (pool_base e) (tent (tables e) t j) <> y) ->
    free_bit (Isolation.Engine_pool st) y = false /\ (forall j, 0 <= j < 512 -> tent (tables st) y j = tent (tables e) y j).

(** [l2_step_inv] (CodeUpdateL2) with its frame. *)
Theorem l2_step_frame : forall f e tr t ipa end' u,
  (5 <= f)%nat -> l2_inv e t ->
  pool_base e mod 4096 = 0 -> pool_base e + 4096 * len (tables e) <= 2 ^ 48 ->
  0 <= ipa < end' -> end' <= 2 ^ 40 -> ipa mod 4096 = 0 -> end' mod 4096 = 0 ->
  Isolation.s2update_delta u mod 4096 = 0 ->
  need_at (tables e) t ipa end' u <= count_free (Isolation.Engine_pool e) ->
  exists st tr', l2_step f t end' u ipa e tr = Ok (Continue (l2_stop ipa end')) st tr' /\
    l2_frame e st t ((ipa / 2 ^ 21) mod 512).
Proof.
  intros f e tr t ipa end' u Hf Hinv Hal Hbelow Hr H40 Hia Hea Hd Hneed.
  pose proof Hinv as (Hok & Hpok & Hbits & Hcok & Hpl & Ht & Htu & Hents & Hdis).
  pose proof Hok as (Hwh & Hsmall & Hbase). fold (whole (tables e)) in Hwh.
  unfold need_at in *. fold (l2_base ipa) in *. fold (l2_stop ipa end') in *.
  set (base := l2_base ipa) in *. set (stop := l2_stop ipa end') in *.
  assert (Hb : 0 <= base <= ipa).
  { unfold base, l2_base. split; [apply Z.mul_nonneg_nonneg; [apply Z.div_pos|]; lia|].
    pose proof (Z.div_mod ipa (2 ^ 21) ltac:(lia)). pose proof (Z.mod_pos_bound ipa (2 ^ 21) ltac:(lia)). lia. }
  assert (Hb2 : ipa < base + 2 ^ 21).
  { unfold base, l2_base. pose proof (Z.div_mod ipa (2 ^ 21) ltac:(lia)). pose proof (Z.mod_pos_bound ipa (2 ^ 21) ltac:(lia)). lia. }
  assert (Hba : base mod 2 ^ 21 = 0) by (unfold base, l2_base; apply Z.mod_mul; lia).
  assert (Hst : ipa < stop <= base + 2 ^ 21 /\ stop <= end') by (unfold stop, l2_stop; fold base; lia).
  assert (Hsa : stop mod 4096 = 0).
  { unfold stop, l2_stop. fold base. destruct (Z.min_spec end' (base + 2 ^ 21)) as [[_ ->]|[_ ->]]; [exact Hea|].
    apply align_page. rewrite <- Z.add_mod_idemp_l, Hba by lia. reflexivity. }
  set (j := (ipa / 2 ^ 21) mod 512) in *.
  assert (Hj : 0 <= j < 512) by (unfold j; apply Z.mod_pos_bound; lia).
  unfold l2_step.
  destruct (levelSize_ok e tr 2 ltac:(lia)) as [Hsz Hmask].
  change (2 ^ (12 + 9 * (3 - 2))) with (2 ^ 21) in Hsz, Hmask. change (12 + 9 * (3 - 2)) with 21 in Hmask.
  step_by Hsz. rewrite Hmask, andnot_ones by lia. change (ipa / 2 ^ 21 * 2 ^ 21) with (l2_base ipa). fold base.
  step_by Hsz. rewrite (wrapu_small (base + 2 ^ 21)) by lia.
  change (Z.min end' (base + 2 ^ 21)) with (l2_stop ipa end'). fold stop.
  step_by (entryIndex_val e tr ipa 2 ltac:(lia) ltac:(lia)).
  change (2 ^ (12 + 9 * (3 - 2))) with (2 ^ 21). change (nentries 2) with 512. fold j.
  destruct (slot_lens_table t j ltac:(lia) Hj) as (p & Hp & L).
  assert (Hv : slot_valid t e) by (split; [lia|exact Hwh]).
  step_by (Hp e tr Hv).
  step_by (wholeLeaf_val e tr base ipa stop u).
  set (dd := tent (tables e) t j) in *.
  assert (Hy : forall y c, 0 <= y -> free_bit (Isolation.Engine_pool e) y = false ->
    free_bit (Isolation.Engine_pool e) c = true -> y <> c) by (intros y c _ H1 H2 E; subst; congruence).
  destruct (whole_l2 base ipa stop u) eqn:Hwl.
  - destruct (Z.eq_dec (Z.land dd 3) 3) as [E3|E3].
    + destruct (replaceLeaf_table_frame f e tr t j p base u ltac:(lia) Hok Hpok Hpl Ht Hj L (Hents j Hj E3) ltac:(lia) Hba ltac:(lia))
        as (st & tr1 & Hrl & HB2 & HL2 & HF2 & HE2).
      assert (H : (let! t'6 := Isolation.Engine_replaceLeaf _ root p 2 base u in ret tt) e tr = Ok tt st tr1) by (step_by Hrl; reflexivity).
      step_by H. eexists _, _. split; [reflexivity|].
      intros y Hy0 Hyt Hyu Hyc. specialize (Hyc E3). split.
      * rewrite HF2 by auto. exact Hyu.
      * intros j' Hj'. apply HE2; auto.
    + destruct f as [|[|f']]; [lia|lia|].
      destruct (slot_laws t j ltac:(lia) Hj) as (L1 & L2 & L3).
      pose proof (replaceLeaf_leaf_ok f' p _ _ _ e tr 2 base u L Hv Hpl L1 L2 L3
        ltac:(apply andb_false_iff; right; apply Z.eqb_neq; exact E3)) as Hrl.
      assert (H : (let! t'6 := Isolation.Engine_replaceLeaf (S (S f')) root p 2 base u in ret tt) e tr = Ok tt
        ((fun v s => set_tables s (put_ent (tables s) t j v)) (new_ent u 2 base ((fun s => tent (tables s) t j) e)) e)
        (if valid_d ((fun s => tent (tables s) t j) e) then inval (Isolation.s2update_vmid u) base :: tr else tr))
        by (step_by Hrl; reflexivity).
      step_by H. eexists _, _. split; [reflexivity|].
      intros y Hy0 Hyt Hyu Hyc. cbv beta. split.
      * rewrite free_bit_set_tables. exact Hyu.
      * intros j' Hj'. rewrite tables_set_tables, tent_put_ent_frame by lia. reflexivity.
  - destruct (Z.eq_dec (Z.land dd 3) 3) as [E3|E3].
    + destruct (descend_table_frame f e tr t j p base ipa stop u ltac:(lia) Hok Hpok Hpl Ht Hj L (Hents j Hj E3) ltac:(lia) Hba
        ltac:(lia) ltac:(lia) ltac:(lia) Hia Hsa Hd) as (st & tr1 & Hde & HB2 & HL2 & HF2 & HE2).
      assert (H : (let! t'7 := Isolation.Engine_descend _ root p 2 base ipa stop u in ret tt) e tr = Ok tt st tr1) by (step_by Hde; reflexivity).
      step_by H. eexists _, _. split; [reflexivity|].
      intros y Hy0 Hyt Hyu Hyc. specialize (Hyc E3). split.
      * rewrite HF2 by auto. exact Hyu.
      * intros j' Hj'. apply HE2; auto.
    + replace (Z.land dd 3 =? 3) with false in * by (symmetry; apply Z.eqb_neq; exact E3).
      destruct (valid_d dd) eqn:Hval.
      * destruct (descend_split_frame f e tr t j p base ipa stop u ltac:(lia) Hok Hpok Hbits
          ltac:(apply count_some_free; [exact Hpok|lia]) Hpl Ht Hj L Htu Hval E3
          ltac:(lia) Hba ltac:(lia) ltac:(lia) ltac:(lia) Hia Hsa Hd) as (c & st & tr1 & Hde & Hc & Hct & Hcf & HB2 & HL2 & HF2 & HE2).
        assert (H : (let! t'7 := Isolation.Engine_descend _ root p 2 base ipa stop u in ret tt) e tr = Ok tt st tr1) by (step_by Hde; reflexivity).
        step_by H. eexists _, _. split; [reflexivity|].
        intros y Hy0 Hyt Hyu Hyc. pose proof (Hy y c Hy0 Hyu Hcf). split.
        -- rewrite HF2 by auto. exact Hyu.
        -- intros j' Hj'. apply HE2; auto.
      * destruct (Isolation.s2update_unmap u) eqn:Hun.
        -- destruct f as [|f']; [lia|].
           assert (H : (let! t'7 := Isolation.Engine_descend (S f') root p 2 base ipa stop u in ret tt) e tr = Ok tt e tr)
             by (step_by (descend_invalid_unmap f' e tr p _ _ _ 2 base ipa stop u L Hv Hval Hun); reflexivity).
           step_by H. eexists _, _. split; [reflexivity|].
           intros y _ _ Hyu _. split; [exact Hyu|reflexivity].
        -- destruct (descend_new_frame f e tr t j p base ipa stop u ltac:(lia) Hok Hpok Hbits
             ltac:(apply count_some_free; [exact Hpok|lia]) Hpl Ht Hj L Htu Hval Hun
             ltac:(lia) Hba ltac:(lia) ltac:(lia) ltac:(lia) Hia Hsa Hd) as (c & st & tr1 & Hde & Hc & Hct & Hcf & _ & HB2 & HL2 & HF2 & HE2).
           assert (H : (let! t'7 := Isolation.Engine_descend _ root p 2 base ipa stop u in ret tt) e tr = Ok tt st tr1) by (step_by Hde; reflexivity).
           step_by H. eexists _, _. split; [reflexivity|].
           intros y Hy0 Hyt Hyu Hyc. pose proof (Hy y c Hy0 Hyu Hcf). split.
           ++ rewrite HF2 by auto. exact Hyu.
           ++ intros j' Hj'. apply HE2; auto.
Qed.

(** ** The frame of update at level 2 *)

(** [update_l2_no_failure] (CodeUpdateL2) with its frame: every table in
    use other than [t] and the tables its entries hold keeps its entries
    and stays in use. *)
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
  set (K := ipa / 2 ^ 30).
  assert (HK : K * 2 ^ 30 <= ipa).
  { unfold K. pose proof (Z.div_mod ipa (2 ^ 30) ltac:(lia)). pose proof (Z.mod_pos_bound ipa (2 ^ 30) ltac:(lia)). lia. }
  fold K in Hspan.
  destruct (update_l2_loop f t ipa end' u
    (fun cur st _ => l2_inv st t /\ ipa <= cur <= end' /\ cur mod 4096 = 0 /\
       pool_base st = pool_base e /\ len (tables st) = len (tables e) /\
       (cur < end' -> forall j, (cur / 2 ^ 21) mod 512 <= j < 512 -> tent (tables st) t j = tent (tables e) t j) /\
       need_l2 (Z.to_nat (end' - cur)) (tables e) t cur end' u <= count_free (Isolation.Engine_pool st) /\
       (forall y, 0 <= y -> y <> t -> free_bit (Isolation.Engine_pool e) y = false ->
          (forall j, 0 <= j < 512 -> Z.land (tent (tables e) t j) 3 = 3 -> child (pool_base e) (tent (tables e) t j) <> y) ->
          free_bit (Isolation.Engine_pool st) y = false /\ (forall j, 0 <= j < 512 -> tent (tables st) y j = tent (tables e) y j))) e tr
    ltac:(lia) ltac:(lia)) as (st & tr' & Hup & Hfin).
  - split; [exact Hinv|]. split; [lia|]. split; [exact Hia|]. split; [reflexivity|]. split; [reflexivity|].
    split; [intros; reflexivity|]. split; [exact Hneed|]. intros y _ _ Hyu _. split; [exact Hyu|reflexivity].
  - intros cur st tr1 Hc (Hi1 & Hc1 & Hca & HB1 & Hl1 & Hent1 & Hn1 & Hfr1).
    assert (Hn : need_l2 (Z.to_nat (end' - cur)) (tables e) t cur end' u =
      need_at (tables e) t cur end' u + need_l2 (Z.to_nat (end' - l2_stop cur end')) (tables e) t (l2_stop cur end') end' u).
    { destruct (Z.to_nat (end' - cur)) as [|n] eqn:En; [lia|]. cbn [need_l2].
      destruct (Z.ltb_spec cur end'); [|lia]. f_equal. pose proof (l2_stop_gt cur end' ltac:(lia)).
      apply need_l2_fuel; lia. }
    assert (Hjr : 0 <= (cur / 2 ^ 21) mod 512 < 512) by (apply Z.mod_pos_bound; lia).
    assert (Ena : need_at (tables st) t cur end' u = need_at (tables e) t cur end' u).
    { apply need_at_ent. apply Hent1; lia. }
    pose proof (l2_stop_gt cur end' ltac:(lia)) as Hsg.
    pose proof (need_l2_nonneg (Z.to_nat (end' - l2_stop cur end')) (tables e) t (l2_stop cur end') end' u).
    destruct (l2_step_inv f st tr1 t cur end' u Hf Hi1 ltac:(rewrite HB1; exact Hal) ltac:(rewrite HB1, Hl1; exact Hbelow)
      ltac:(lia) H40 Hca Hea Hd ltac:(rewrite Ena; lia)) as (st' & tr' & Hs & Hi2 & Hc2 & HB2 & Hl2 & Ho2).
    destruct (l2_step_frame f st tr1 t cur end' u Hf Hi1 ltac:(rewrite HB1; exact Hal) ltac:(rewrite HB1, Hl1; exact Hbelow)
      ltac:(lia) H40 Hca Hea Hd ltac:(rewrite Ena; lia)) as (st'' & tr'' & Hs' & Hfr).
    rewrite Hs in Hs'. injection Hs' as <- <-.
    exists (l2_stop cur end'), st', tr'. split; [exact Hs|]. split; [lia|].
    split; [exact Hi2|]. split; [lia|]. split.
    { unfold l2_stop. fold (l2_base cur). destruct (Z.min_spec end' (l2_base cur + 2 ^ 21)) as [[_ ->]|[_ ->]]; [exact Hea|].
      apply align_page. unfold l2_base. rewrite Z.add_mod by lia. rewrite Z.mod_mul by lia. reflexivity. }
    split; [congruence|]. split; [congruence|]. split; [|split].
    + intros Hlt j Hj. rewrite idx_next with (K := K) in Hj by lia.
      pose proof (Z.mod_pos_bound (cur / 2 ^ 21) 512 ltac:(lia)). rewrite Ho2 by lia. apply Hent1; lia.
    + rewrite Ena in Hc2. lia.
    + intros y Hy0 Hyt Hyu Hyc. destruct (Hfr1 y Hy0 Hyt Hyu Hyc) as (Hyu1 & Hye1).
      destruct (Hfr y Hy0 Hyt Hyu1) as (Hyu2 & Hye2).
      { rewrite HB1, (Hent1 ltac:(lia) ((cur / 2 ^ 21) mod 512) ltac:(lia)). apply Hyc; exact Hjr. }
      split; [exact Hyu2|]. intros j Hj. rewrite Hye2 by exact Hj. apply Hye1; exact Hj.
  - destruct Hfin as (Hi & _ & _ & HB & Hl & _ & _ & Hfr). exists st, tr'. split; [exact Hup|].
    split; [exact Hi|]. split; [exact HB|]. split; [exact Hl|exact Hfr].
Qed.
