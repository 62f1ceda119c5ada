(** * The stage-2 update at the root over several root entries

    Lemmas about proofs/code/Isolation.v, the translation of
    isolation/stage2.go, that carry on from CodeUpdateRange.v.
    Proved here:
    - [sub]: the tables of the subtree of a root entry (the level-2 table
      it holds and the level-3 tables that table's entries hold); they
      are in use under [l1_inv] ([sub_used]);
    - [root_inv]: [l1_inv] (CodeUpdateRange) with the subtrees of
      different root entries disjoint and none holding the root's own two
      tables;
    - [l2_inv] (CodeUpdateL2) of a level-2 table carries over to a state
      whose pool is sound when the base and the number of tables stay,
      the table and its level-3 tables stay in use and its entries stay
      ([l2_inv_transfer]);
    - so [root_inv] is kept by a change of one root entry [i] that keeps
      the pool sound, the other root entries, and every table in use
      outside the subtree of [i] (in use, with its entries), and leaves in
      entry [i] either no table descriptor or one for a level-2 table of
      the pool with [l2_inv] whose subtree holds only tables of the old
      subtree of [i] or tables that were free ([root_inv_keep]). *)
From Coq Require Import ZArith Lia List Bool String.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodePlace CodeTrack CodeLens CodeLoop CodeLedger CodeVCPU CodeVMCreate
  CodeStage2 CodeShadow CodePool CodeFree CodeUpdate CodeUpdateL2 CodeUpdateRoot CodeUpdateRange.
Import ListNotations.
Open Scope Z_scope.

(** ** The subtrees of the root entries *)

(** [y] is a table of the subtree of root entry [i] of [t]: the level-2
    table the entry holds, or a level-3 table an entry of that table
    holds. *)
Definition sub (e : Isolation.Engine) (t i y : Z) : Prop :=
  Z.land (ent (tables e) t i) 3 = 3 /\
  (y = child (pool_base e) (ent (tables e) t i) \/
   exists j, 0 <= j < 512 /\ Z.land (tent (tables e) (child (pool_base e) (ent (tables e) t i)) j) 3 = 3 /\
     y = child (pool_base e) (tent (tables e) (child (pool_base e) (ent (tables e) t i)) j)).

Lemma sub_top : forall e t i, Z.land (ent (tables e) t i) 3 = 3 -> sub e t i (child (pool_base e) (ent (tables e) t i)).
Proof. intros e t i H3. split; [exact H3|left; reflexivity]. Qed.

Lemma sub_low : forall e t i j, Z.land (ent (tables e) t i) 3 = 3 -> 0 <= j < 512 ->
  Z.land (tent (tables e) (child (pool_base e) (ent (tables e) t i)) j) 3 = 3 ->
  sub e t i (child (pool_base e) (tent (tables e) (child (pool_base e) (ent (tables e) t i)) j)).
Proof. intros e t i j H3 Hj Hj3. split; [exact H3|right; exists j; auto]. Qed.

(** Under [l1_inv] the tables of a subtree are tables of the pool in use. *)
Lemma sub_used : forall e t i y, l1_inv e t -> 0 <= i < 1024 -> sub e t i y ->
  0 <= y /\ y < len (tables e) /\ free_bit (Isolation.Engine_pool e) y = false.
Proof.
  intros e t i y Hl Hi (H3 & Hy).
  pose proof Hl as (_ & _ & _ & _ & _ & Hents & _).
  destruct (Hents i Hi H3) as (Hle & Hlt & Hinv & _ & _).
  pose proof Hinv as (_ & _ & _ & _ & _ & Hc & Hcu & Hc3 & _).
  destruct Hy as [-> | (j & Hj & Hj3 & ->)].
  - split; [apply child_nonneg; exact Hle|]. split; [exact Hlt|exact Hcu].
  - destruct (Hc3 j Hj Hj3) as (_ & Hle' & Hlt' & _ & Hu).
    split; [apply child_nonneg; exact Hle'|]. split; [exact Hlt'|exact Hu].
Qed.

(** ** The root invariant *)

(** [l1_inv] (CodeUpdateRange), and the subtrees of different root
    entries share no table and hold neither of the root's two tables. *)
Definition root_inv (e : Isolation.Engine) (t : Z) : Prop :=
  l1_inv e t /\
  (forall i y, 0 <= i < 1024 -> sub e t i y -> y <> t /\ y <> t + 1) /\
  (forall i i' y, 0 <= i < 1024 -> 0 <= i' < 1024 -> i <> i' -> sub e t i y -> sub e t i' y -> False).

Lemma root_inv_l1 : forall e t, root_inv e t -> l1_inv e t.
Proof. intros e t H. apply H. Qed.

(** [l2_inv] of a level-2 table [c] carries over to a state [st] whose
    pool is sound, with the same base and number of tables, when [c]
    and the level-3 tables its entries hold stay in use and [c] keeps its
    entries. *)
Lemma l2_inv_transfer : forall e st c, l2_inv e c -> pool_inv st ->
  pool_base st = pool_base e -> len (tables st) = len (tables e) ->
  free_bit (Isolation.Engine_pool st) c = false ->
  (forall j, 0 <= j < 512 -> tent (tables st) c j = tent (tables e) c j) ->
  (forall j, 0 <= j < 512 -> Z.land (tent (tables e) c j) 3 = 3 ->
     free_bit (Isolation.Engine_pool st) (child (pool_base e) (tent (tables e) c j)) = false) ->
  l2_inv st c.
Proof.
  intros e st c (_ & _ & _ & _ & _ & Hc & _ & Hents & Hdis) (Hok & Hpok & Hbits & Hcok & Hpl) HB HL Hcu HE Hch.
  unfold l2_inv. split; [exact Hok|]. split; [exact Hpok|]. split; [exact Hbits|]. split; [exact Hcok|].
  split; [exact Hpl|]. split; [rewrite HL; exact Hc|]. split; [exact Hcu|]. split.
  - intros j Hj H3. rewrite HE in H3 by exact Hj. destruct (Hents j Hj H3) as (_ & Hle & Hlt & Hne & _).
    unfold l2_table_entry. rewrite HE, HB, HL by exact Hj.
    split; [exact H3|]. split; [exact Hle|]. split; [exact Hlt|]. split; [exact Hne|]. apply Hch; assumption.
  - intros j j' Hj Hj' Hne. rewrite HB, !HE by assumption. apply Hdis; assumption.
Qed.

(** [root_inv] is kept by a change of root entry [i] alone: the pool
    stays sound with its base and number of tables, the root's tables
    stay in use, the other root entries stay, every table in use outside
    the subtree of [i] (and not the root's) stays in use with its
    entries, entry [i] holds no table descriptor or one for a level-2
    table of the pool with [l2_inv], and the new subtree of [i] holds
    only tables of its old subtree or tables that were free. *)
Lemma root_inv_keep : forall e st t i,
  root_inv e t -> 0 <= i < 1024 ->
  pool_inv st -> pool_base st = pool_base e -> len (tables st) = len (tables e) ->
  free_bit (Isolation.Engine_pool st) t = false -> free_bit (Isolation.Engine_pool st) (t + 1) = false ->
  (forall i', 0 <= i' < 1024 -> i' <> i -> ent (tables st) t i' = ent (tables e) t i') ->
  (forall y, 0 <= y -> y <> t -> y <> t + 1 -> free_bit (Isolation.Engine_pool e) y = false -> ~ sub e t i y ->
     free_bit (Isolation.Engine_pool st) y = false /\ (forall j, 0 <= j < 512 -> tent (tables st) y j = tent (tables e) y j)) ->
  (Z.land (ent (tables st) t i) 3 = 3 ->
     pool_base st <= Z.land (ent (tables st) t i) Isolation.descOAMask /\
     child (pool_base st) (ent (tables st) t i) < len (tables st) /\
     l2_inv st (child (pool_base st) (ent (tables st) t i))) ->
  (forall y, sub st t i y -> sub e t i y \/ free_bit (Isolation.Engine_pool e) y = true) ->
  root_inv st t.
Proof.
  intros e st t i (Hl & Hne & Hdis) Hi Hpi' HB HL Htu' Ht1u' Hroot Hfr Hnew Hown.
  pose proof Hl as (Hpi & Ht & Htl & Htu & Ht1u & Hents & _).
  (* the tables of the subtree of another entry stay in use with their entries *)
  assert (Hkeep : forall i' y, 0 <= i' < 1024 -> i' <> i -> sub e t i' y ->
    free_bit (Isolation.Engine_pool st) y = false /\ (forall j, 0 <= j < 512 -> tent (tables st) y j = tent (tables e) y j)).
  { intros i' y Hi' Hii Hs. destruct (sub_used e t i' y Hl Hi' Hs) as (Hy0 & _ & Hyu).
    destruct (Hne i' y Hi' Hs) as (Hyt & Hyt1).
    apply (Hfr y Hy0 Hyt Hyt1 Hyu). intros Hs'. exact (Hdis i' i y Hi' Hi Hii Hs Hs'). }
  (* so the subtree of another entry is the same *)
  assert (Hsame : forall i' y, 0 <= i' < 1024 -> i' <> i -> sub st t i' y -> sub e t i' y).
  { intros i' y Hi' Hii (H3 & Hy). rewrite (Hroot i' Hi' Hii) in H3. rewrite HB, (Hroot i' Hi' Hii) in Hy.
    destruct (Hkeep i' _ Hi' Hii (sub_top e t i' H3)) as (_ & Hc).
    split; [exact H3|]. destruct Hy as [Hy | (j & Hj & Hj3 & Hy)]; [left; exact Hy|right].
    exists j. rewrite Hc in Hj3, Hy by exact Hj. split; [exact Hj|]. split; assumption. }
  assert (Hne' : forall i' y, 0 <= i' < 1024 -> sub st t i' y -> y <> t /\ y <> t + 1).
  { intros i' y Hi' Hs. destruct (Z.eq_dec i' i) as [->|Hii].
    - destruct (Hown y Hs) as [Hs'|Hf]; [exact (Hne i y Hi Hs')|].
      split; intros ->; congruence.
    - exact (Hne i' y Hi' (Hsame i' y Hi' Hii Hs)). }
  assert (Hdis' : forall i1 i2 y, 0 <= i1 < 1024 -> 0 <= i2 < 1024 -> i1 <> i2 -> sub st t i1 y -> sub st t i2 y -> False).
  { assert (K : forall i2 y, 0 <= i2 < 1024 -> i <> i2 -> sub st t i y -> sub st t i2 y -> False).
    { intros i2 y Hi2 Hii Hs1 Hs2. pose proof (Hsame i2 y Hi2 (not_eq_sym Hii) Hs2) as Hs2'.
      destruct (Hown y Hs1) as [Hs1'|Hf].
      - exact (Hdis i i2 y Hi Hi2 Hii Hs1' Hs2').
      - destruct (sub_used e t i2 y Hl Hi2 Hs2') as (_ & _ & Hu). congruence. }
    intros i1 i2 y Hi1 Hi2 H12 Hs1 Hs2.
    destruct (Z.eq_dec i1 i) as [->|H1]; [exact (K i2 y Hi2 H12 Hs1 Hs2)|].
    destruct (Z.eq_dec i2 i) as [->|H2]; [exact (K i1 y Hi1 (not_eq_sym H12) Hs2 Hs1)|].
    exact (Hdis i1 i2 y Hi1 Hi2 H12 (Hsame i1 y Hi1 H1 Hs1) (Hsame i2 y Hi2 H2 Hs2)). }
  split; [|split; [exact Hne'|exact Hdis']].
  unfold l1_inv. split; [exact Hpi'|]. split; [exact Ht|]. split; [rewrite HL; exact Htl|].
  split; [exact Htu'|]. split; [exact Ht1u'|]. split.
  - intros i' Hi' H3. destruct (Z.eq_dec i' i) as [->|Hii].
    + destruct (Hnew H3) as (Hle & Hlt & Hinv). split; [exact Hle|]. split; [exact Hlt|]. split; [exact Hinv|].
      exact (Hne' i _ Hi (sub_top st t i H3)).
    + pose proof H3 as H3e. rewrite (Hroot i' Hi' Hii) in H3e.
      rewrite HB, HL, (Hroot i' Hi' Hii).
      destruct (Hents i' Hi' H3e) as (Hle & Hlt & Hinv & Hct & Hct1).
      split; [exact Hle|]. split; [exact Hlt|]. split; [|split; assumption].
      destruct (Hkeep i' _ Hi' Hii (sub_top e t i' H3e)) as (Hcu & Hce).
      apply (l2_inv_transfer e st _ Hinv Hpi' HB HL Hcu Hce).
      intros j Hj Hj3. exact (proj1 (Hkeep i' _ Hi' Hii (sub_low e t i' j H3e Hj Hj3))).
  - intros i1 i2 Hi1 Hi2 H12 H31 H32 E. apply (Hdis' i1 i2 _ Hi1 Hi2 H12 (sub_top st t i1 H31)).
    rewrite E. exact (sub_top st t i2 H32).
Qed.
