(** * The frame of the stage-2 update below the root

    Lemmas about proofs/code/Isolation.v, the translation of
    isolation/stage2.go, that carry on from CodeUpdate.v: what the calls
    below the root write, and what they leave as it was.
    Proved here:
    - update at level 3 over a table writes no other table and no bit of
      the pool ([update_last_frame]);
    - descend into an invalid level-2 entry for a map writes only the
      table it takes and that entry, and only that table's bit
      ([descend_new_frame]); descend into an entry holding a level-3 table
      writes only that table and the entry, and only that table's bit
      ([descend_table_frame]), and so do replaceLeaf of such an entry
      ([replaceLeaf_table_frame]) and descend into a block, with the table
      it takes ([descend_split_frame]). *)
From Coq Require Import ZArith Lia List Bool String.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodePlace CodeTrack CodeLens CodeLoop CodeLedger CodeVCPU CodeVMCreate
  CodeStage2 CodeShadow CodePool CodeFree CodeUpdate.
Import ListNotations.
Open Scope Z_scope.

Lemma tent_replace_other : forall T c X x j, 0 <= c -> 0 <= x -> x <> c ->
  tent (replace_nth (Z.to_nat c) X T) x j = tent T x j.
Proof.
  intros T c X x j Hc Hx Hne. unfold tent. rewrite nth_replace_other by lia. reflexivity.
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
  pose proof (update_last_ok fuel e tr t S0 ipa end' u Hf Hok Ht Hpl HS0 HSa Hr Hend H64 Hia Hea Hd)
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
  pose proof (descend_new_last fuel e tr t i p base ipa stop u Hf Hok Hpok Hbits Hsome Hpl Ht Hi L Htu Hval Hun
    Hb Hba Hr Hs Hs64 Hia Hsa Hd) as (c & q & st & tr' & Hde & Hc & Hct & Hfree & Htk & Hdone).
  pose proof (last_done_frame _ _ _ _ _ _ _ _ _ Hdone) as (HB & HL & _ & Hfb & Hte).
  pose proof (tables_set_pool_taken e q c Htk) as [HTq HBq].
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
  pose proof (descend_table_last fuel e tr t i p base ipa stop u Hf Hok Hpok Hpl Ht Hi L Hent Hb Hba Hr Hs Hs64 Hia Hsa Hd)
    as (st & tr' & Hde & Hrest).
  exists st, tr'. split; [exact Hde|]. cbv zeta in Hrest |- *.
  set (c := child (pool_base e) (tent (tables e) t i)) in *.
  destruct Hrest as (st1 & tr1 & Hdone & Hcase).
  pose proof (last_done_frame _ _ _ _ _ _ _ _ _ Hdone) as (HB & HL & _ & Hfb & Hte).
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
  pose proof (replaceLeaf_table_last fuel e tr t i p base u Hf Hok Hpok Hpl Ht Hi L Hent Hb Hba Hb64)
    as (st & tr' & Hrl & st1 & Hce & Hst).
  pose proof (clearEntry_table_last (pred fuel) e tr t i p base (Isolation.s2update_vmid u) ltac:(lia)
    Hok Hpok Hpl Ht Hi L Hent Hb Hba Hb64) as (T1 & q & Hce' & HL1 & _ & HT1 & HP & _ & _ & _ & Hout).
  cbv zeta in Hce', HT1, Hout. set (c := child (pool_base e) (tent (tables e) t i)) in *.
  rewrite Hce in Hce'. apply ok_state in Hce'. subst st1.
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
  pose proof (descend_split_last fuel e tr t i p base ipa stop u Hf Hok Hpok Hbits Hsome Hpl Ht Hi L Htu Hval Hnt
    Hb Hba Hr Hs Hs64 Hia Hsa Hd) as (c & q & Ts & st & tr' & Hde & Hc & Hct & Hfree & Htk & HTsl & _ & HTs & Hrest).
  cbv zeta in Hrest.
  set (e3 := set_tables (Isolation.set_Engine_pool q e) (put_ent Ts t i (tdesc (pool_base e) c))) in *.
  destruct Hrest as (st1 & tr1 & Hdone & Hcase).
  pose proof (last_done_frame _ _ _ _ _ _ _ _ _ Hdone) as (HB & HL & _ & Hfb & Hte).
  pose proof (tables_set_pool_taken e q c Htk) as [HTq HBq].
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

