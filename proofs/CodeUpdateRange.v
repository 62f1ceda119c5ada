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
      there ([update_root_one_no_failure]). *)
From Coq Require Import ZArith Lia List Bool String.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodePlace CodeTrack CodeLens CodeLoop CodeLedger CodeVCPU CodeVMCreate
  CodeStage2 CodeShadow CodePool CodeFree CodeUpdate CodeUpdateFrame CodeUpdateL2 CodeUpdateRoot.
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
