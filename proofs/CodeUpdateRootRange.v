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
      ([l2_inv_transfer]); so [root_inv] is kept by a change of one root
      entry that keeps the pool sound, the other root entries and every
      table in use outside the entry's subtree, and leaves in the entry no
      table descriptor or one for a level-2 table with [l2_inv] whose
      subtree holds tables of the old subtree or tables that were free
      ([root_inv_keep]);
    - [step_post]: what a change of one entry of a root's table leaves
      (the pool sound, at most [N] tables taken, the tables in use outside
      the entry's old subtree kept, the entry no table descriptor or one
      with [l2_inv], the new subtree made of old or free tables); two
      changes make one ([step_post_trans]), as do no change
      ([step_post_refl]) and a write of no table descriptor
      ([step_post_put]);
    - each step of [update] at a root entry leaves [step_post]: [descend]
      into an entry holding a level-2 table ([descend_table_post]; its end
      [root_tail]), into an invalid entry for a map ([descend_new_post])
      and into a block ([descend_split_post]), taking the count [need]
      makes for it; [clearEntry] and [replaceLeaf] of an entry holding a
      table, taking none ([clearEntry_table_post],
      [replaceLeaf_table_post]); the table just taken and hooked
      ([hook_post]);
    - so one iteration of [update]'s loop at the root ([l1_step]) from
      [root_inv] with [need_root_at] free tables never fails, keeps
      [root_inv], the other root entries and the level-2 tables they
      hold, and takes at most [need_root_at] tables ([update_root_step],
      through [root_inv_of_post]);
    - and [update] at the root over a page-aligned range below 2^40,
      across any number of root entries ([update_root_loop]), never fails
      from [root_inv] given the [need_root] free tables [need] counts
      ([need_root_spec], CodeUpdateRoot), keeps [root_inv] and takes at
      most [need_root] tables ([update_root_no_failure]), and every table
      in use outside the tree of [t] stays in use, with its entries, and
      outside the tree ([tree_frame], [step_tree_frame]);
    - [need] reads of the update only whether it unmaps and its output
      offset ([need_root_u]), so from [root_inv] and as many free tables
      as the reservations [mapNeed] and [unmapNeed] count, [mapRange] and
      [unmapRange] never fail and keep [root_inv]
      ([mapRange_no_failure], [unmapRange_no_failure]). *)
From Coq Require Import ZArith Lia List Bool String.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodePlace CodeTrack CodeLens CodeLoop CodeLedger CodeVCPU CodeVMCreate
  CodeStage2 CodeShadow CodePool CodeFree CodeUpdate CodeUpdateFrame CodeUpdateL2 CodeUpdateRoot CodeUpdateRange.
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
  pose proof (Hents i Hi H3) as (Hle & Hlt & Hinv & _ & _).
  pose proof Hinv as (_ & _ & _ & _ & _ & Hc & Hcu & Hc3 & _).
  destruct Hy as [-> | (j & Hj & Hj3 & ->)].
  - split; [apply child_nonneg; exact Hle|]. split; [exact Hlt|exact Hcu].
  - pose proof (Hc3 j Hj Hj3) as (_ & Hle' & Hlt' & _ & Hu).
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
  - intros j Hj H3. rewrite HE in H3 by exact Hj. pose proof (Hents j Hj H3) as (_ & Hle & Hlt & Hne & _).
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
  { intros i' y Hi' Hii Hs. pose proof (sub_used e t i' y Hl Hi' Hs) as (Hy0 & _ & Hyu).
    pose proof (Hne i' y Hi' Hs) as (Hyt & Hyt1).
    apply (Hfr y Hy0 Hyt Hyt1 Hyu). intros Hs'. exact (Hdis i' i y Hi' Hi Hii Hs Hs'). }
  (* so the subtree of another entry is the same *)
  assert (Hsame : forall i' y, 0 <= i' < 1024 -> i' <> i -> sub st t i' y -> sub e t i' y).
  { intros i' y Hi' Hii (H3 & Hy). rewrite (Hroot i' Hi' Hii) in H3. rewrite HB, (Hroot i' Hi' Hii) in Hy.
    pose proof (Hkeep i' _ Hi' Hii (sub_top e t i' H3)) as (_ & Hc).
    split; [exact H3|]. destruct Hy as [Hy | (j & Hj & Hj3 & Hy)]; [left; exact Hy|right].
    exists j. rewrite Hc in Hj3, Hy by exact Hj. split; [exact Hj|]. split; assumption. }
  assert (Hne' : forall i' y, 0 <= i' < 1024 -> sub st t i' y -> y <> t /\ y <> t + 1).
  { intros i' y Hi' Hs. destruct (Z.eq_dec i' i) as [->|Hii].
    - pose proof (Hown y Hs) as [Hs'|Hf]; [exact (Hne i y Hi Hs')|].
      split; intros ->; congruence.
    - exact (Hne i' y Hi' (Hsame i' y Hi' Hii Hs)). }
  assert (Hdis' : forall i1 i2 y, 0 <= i1 < 1024 -> 0 <= i2 < 1024 -> i1 <> i2 -> sub st t i1 y -> sub st t i2 y -> False).
  { assert (K : forall i2 y, 0 <= i2 < 1024 -> i <> i2 -> sub st t i y -> sub st t i2 y -> False).
    { intros i2 y Hi2 Hii Hs1 Hs2. pose proof (Hsame i2 y Hi2 (not_eq_sym Hii) Hs2) as Hs2'.
      pose proof (Hown y Hs1) as [Hs1'|Hf].
      - exact (Hdis i i2 y Hi Hi2 Hii Hs1' Hs2').
      - pose proof (sub_used e t i2 y Hl Hi2 Hs2') as (_ & _ & Hu). congruence. }
    intros i1 i2 y Hi1 Hi2 H12 Hs1 Hs2.
    destruct (Z.eq_dec i1 i) as [->|H1]; [exact (K i2 y Hi2 H12 Hs1 Hs2)|].
    destruct (Z.eq_dec i2 i) as [->|H2]; [exact (K i1 y Hi1 (not_eq_sym H12) Hs2 Hs1)|].
    exact (Hdis i1 i2 y Hi1 Hi2 H12 (Hsame i1 y Hi1 H1 Hs1) (Hsame i2 y Hi2 H2 Hs2)). }
  split; [|split; [exact Hne'|exact Hdis']].
  unfold l1_inv. split; [exact Hpi'|]. split; [exact Ht|]. split; [rewrite HL; exact Htl|].
  split; [exact Htu'|]. split; [exact Ht1u'|]. split.
  - intros i' Hi' H3. destruct (Z.eq_dec i' i) as [->|Hii].
    + pose proof (Hnew H3) as (Hle & Hlt & Hinv). split; [exact Hle|]. split; [exact Hlt|]. split; [exact Hinv|].
      exact (Hne' i _ Hi (sub_top st t i H3)).
    + pose proof H3 as H3e. rewrite (Hroot i' Hi' Hii) in H3e.
      rewrite HB, HL, (Hroot i' Hi' Hii).
      pose proof (Hents i' Hi' H3e) as (Hle & Hlt & Hinv & Hct & Hct1).
      split; [exact Hle|]. split; [exact Hlt|]. split; [|split; assumption].
      pose proof (Hkeep i' _ Hi' Hii (sub_top e t i' H3e)) as (Hcu & Hce).
      apply (l2_inv_transfer e st _ Hinv Hpi' HB HL Hcu Hce).
      intros j Hj Hj3. exact (proj1 (Hkeep i' _ Hi' Hii (sub_low e t i' j H3e Hj Hj3))).
  - intros i1 i2 Hi1 Hi2 H12 H31 H32 E. apply (Hdis' i1 i2 _ Hi1 Hi2 H12 (sub_top st t i1 H31)).
    rewrite E. exact (sub_top st t i2 H32).
Qed.

(** ** What a change of one root entry leaves *)

(** The pool stays sound when an entry is written. *)
Lemma pool_inv_put : forall e x j v, pool_inv e -> 0 <= x < len (tables e) ->
  pool_inv (set_tables e (put_ent (tables e) x j v)).
Proof.
  intros e x j v (Hok & Hpok & Hbits & Hcok & Hpl) Hx. pose proof Hok as (Hwh & Hsmall & Hbase).
  fold (whole (tables e)) in Hwh.
  assert (HL : len (put_ent (tables e) x j v) = len (tables e)) by apply len_put_ent.
  split; [|split; [|split; [|split]]].
  - split; [rewrite tables_set_tables; apply whole_put_ent; assumption|].
    rewrite tables_set_tables, base_set_tables, HL. split; assumption.
  - apply pool_ok_set_tables; assumption.
  - apply bits_ok_set_tables; assumption.
  - apply count_ok_set_tables; assumption.
  - rewrite plat_set_tables. exact Hpl.
Qed.

(** dropTable of a table [c] in use hooked at entry [j] of [x], from a
    sound pool: the entry is written 0 and [c] is released, the pool stays
    sound with one more free table. *)
Lemma drop_pool : forall p x j s tr c base vmid,
  lens p (slot_valid x) (fun s => tent (tables s) x j) (fun v s => set_tables s (put_ent (tables s) x j v)) ->
  pool_inv s -> 0 <= x < len (tables s) -> 0 <= c < len (tables s) -> free_bit (Isolation.Engine_pool s) c = false ->
  exists st, Isolation.Engine_dropTable root p c base vmid s tr = Ok tt st (inval vmid base :: tr) /\
    pool_inv st /\ pool_base st = pool_base s /\ tables st = put_ent (tables s) x j 0 /\
    count_free (Isolation.Engine_pool st) = count_free (Isolation.Engine_pool s) + 1 /\
    free_bit (Isolation.Engine_pool st) c = true /\
    (forall y, 0 <= y -> y <> c -> free_bit (Isolation.Engine_pool st) y = free_bit (Isolation.Engine_pool s) y).
Proof.
  intros p x j s tr c base vmid L (Hok & Hpok & Hbits & Hcok & Hpl) Hx Hc Hfree.
  pose proof Hok as (Hwh & Hsmall & Hbase). fold (whole (tables s)) in Hwh.
  assert (Hv : slot_valid x s) by (split; [lia|exact Hwh]).
  pose proof (dropTable_ok p x j s tr c base vmid L Hv Hpl Hpok Hc Hfree) as (q & Hdrop & HP & Hsh & Hnf & Hbc & Hout).
  pose proof (dropTable_bits p x j s tr c base vmid L Hv Hpl Hpok Hbits Hc Hfree) as (q2 & Hdrop2 & Hq2).
  rewrite Hdrop in Hdrop2. injection Hdrop2 as Eq. subst q2.
  set (ef := Isolation.set_Engine_pool q (set_tables s (put_ent (tables s) x j 0))) in *.
  assert (HTf : tables ef = put_ent (tables s) x j 0).
  { unfold ef, tables at 1. rewrite get_set_pool. rewrite HP. exact (tables_set_tables s (put_ent (tables s) x j 0)). }
  assert (HBf : pool_base ef = pool_base s).
  { unfold ef, pool_base at 1. rewrite get_set_pool. rewrite HP. exact (base_set_tables s (put_ent (tables s) x j 0)). }
  assert (HTl' : len (put_ent (tables s) x j 0) = len (tables s)) by apply len_put_ent.
  pose proof (release_count _ q c Hpok Hcok ltac:(unfold ntables; fold (tables s); lia) Hfree Hsh Hnf Hbc Hout)
    as (Hcq & Ecq).
  exists ef. split; [exact Hdrop|]. split; [|split; [exact HBf|split; [exact HTf|]]].
  - split; [|split; [|split; [|split]]].
    + split; [rewrite HTf; apply whole_put_ent; [exact Hwh|lia]|]. rewrite HTf, HBf, HTl'. split; assumption.
    + unfold ef. rewrite get_set_pool. eapply same_shape_ok; [exact Hpok|exact Hsh].
    + unfold ef. rewrite get_set_pool. exact Hq2.
    + unfold ef. rewrite get_set_pool. exact Hcq.
    + unfold ef. rewrite plat_set_pool, plat_set_tables. exact Hpl.
  - unfold ef. rewrite get_set_pool. split; [exact Ecq|]. split; [exact Hbc|]. exact Hout.
Qed.

(** [y] is a table of the subtree of entry [j] of table [x]: [sub] for
    the entry of a root's table. *)
Definition subx (e : Isolation.Engine) (x j y : Z) : Prop :=
  Z.land (tent (tables e) x j) 3 = 3 /\
  (y = child (pool_base e) (tent (tables e) x j) \/
   exists j', 0 <= j' < 512 /\ Z.land (tent (tables e) (child (pool_base e) (tent (tables e) x j)) j') 3 = 3 /\
     y = child (pool_base e) (tent (tables e) (child (pool_base e) (tent (tables e) x j)) j')).

Lemma sub_subx : forall e t i y, sub e t i y <-> subx e (t + i / 512) (i mod 512) y.
Proof. intros. reflexivity. Qed.

(** What a change of entry [j] of table [x] leaves, from [e] to [st]:
    the pool sound, the base and the number of tables, at most [N] fewer
    free tables, every table in use outside the old subtree of the entry
    in use with its entries (but entry [j] of [x]), in the entry either
    no table descriptor or one for a level-2 table of the pool with
    [l2_inv], whose subtree holds tables of the old subtree or tables
    that were free. *)
Definition step_post (e st : Isolation.Engine) (x j N : Z) : Prop :=
  pool_inv st /\ pool_base st = pool_base e /\ len (tables st) = len (tables e) /\
  count_free (Isolation.Engine_pool e) - N <= count_free (Isolation.Engine_pool st) /\
  (forall y, 0 <= y -> free_bit (Isolation.Engine_pool e) y = false -> ~ subx e x j y ->
     free_bit (Isolation.Engine_pool st) y = false /\
     (forall j', 0 <= j' < 512 -> (y <> x \/ j' <> j) -> tent (tables st) y j' = tent (tables e) y j')) /\
  (Z.land (tent (tables st) x j) 3 = 3 ->
     pool_base st <= Z.land (tent (tables st) x j) Isolation.descOAMask /\
     child (pool_base st) (tent (tables st) x j) < len (tables st) /\
     l2_inv st (child (pool_base st) (tent (tables st) x j))) /\
  (forall y, subx st x j y -> subx e x j y \/ free_bit (Isolation.Engine_pool e) y = true).

(** Whether a table is in the subtree of an entry is decidable. *)
Lemma subx_dec : forall e x j y, subx e x j y \/ ~ subx e x j y.
Proof.
  intros e x j y. destruct (Z.eq_dec (Z.land (tent (tables e) x j) 3) 3) as [H3|H3];
    [|right; intros (H & _); contradiction].
  set (c := child (pool_base e) (tent (tables e) x j)).
  destruct (Z.eq_dec y c) as [E|Hne]; [left; split; [exact H3|left; exact E]|].
  pose proof (find_entry (fun j' => Z.land (tent (tables e) c j') 3 = 3 /\ y = child (pool_base e) (tent (tables e) c j'))
    ltac:(intros j'; destruct (Z.eq_dec (Z.land (tent (tables e) c j') 3) 3);
          [destruct (Z.eq_dec y (child (pool_base e) (tent (tables e) c j'))); [left; split; assumption|]|];
          right; intros (? & ?); contradiction) 512%nat) as [(j' & Hj' & H3' & E)|Hnone].
  - left. split; [exact H3|right]. exists j'. split; [lia|]. split; assumption.
  - right. intros (_ & [E|(j' & Hj' & H3' & E)]); [contradiction|]. exact (Hnone j' ltac:(lia) (conj H3' E)).
Qed.

(** The tables of the subtree of an entry holding a level-2 table with
    [l2_inv] lie in the pool. *)
Lemma subx_nonneg : forall st x j y,
  (Z.land (tent (tables st) x j) 3 = 3 ->
     pool_base st <= Z.land (tent (tables st) x j) Isolation.descOAMask /\
     child (pool_base st) (tent (tables st) x j) < len (tables st) /\
     l2_inv st (child (pool_base st) (tent (tables st) x j))) ->
  subx st x j y -> 0 <= y.
Proof.
  intros st x j y Hent (H3 & Hy). pose proof (Hent H3) as (Hle & _ & Hinv).
  destruct Hy as [->|(j' & Hj' & H3' & ->)]; [apply (child_nonneg st); exact Hle|].
  pose proof Hinv as (_ & _ & _ & _ & _ & _ & _ & Hc3 & _).
  pose proof (Hc3 j' Hj' H3') as (_ & Hle' & _). apply (child_nonneg st). exact Hle'.
Qed.

(** Two changes of the same entry make one. *)
Lemma step_post_trans : forall e e3 st x j N1 N2, step_post e e3 x j N1 -> step_post e3 st x j N2 ->
  step_post e st x j (N1 + N2).
Proof.
  intros e e3 st x j N1 N2 (Hpi1 & HB1 & HL1 & Hc1 & Hfr1 & Hent1 & How1) (Hpi2 & HB2 & HL2 & Hc2 & Hfr2 & Hent2 & How2).
  (* a table free after the first change was free before it or in the old subtree *)
  assert (Hback : forall y, 0 <= y -> free_bit (Isolation.Engine_pool e3) y = true ->
    free_bit (Isolation.Engine_pool e) y = true \/ subx e x j y).
  { intros y Hy Hf. destruct (free_bit (Isolation.Engine_pool e) y) eqn:Hfe; [left; reflexivity|].
    right. destruct (subx_dec e x j y) as [H|H]; [exact H|].
    pose proof (Hfr1 y Hy Hfe H) as (Hu & _). congruence. }
  split; [exact Hpi2|]. split; [congruence|]. split; [congruence|]. split; [lia|]. split; [|split; [exact Hent2|]].
  - intros y Hy Hyu Hns. pose proof (Hfr1 y Hy Hyu Hns) as (Hu3 & He3).
    assert (Hns3 : ~ subx e3 x j y).
    { intros Hs. pose proof (How1 y Hs) as [Hs'|Hf]; [exact (Hns Hs')|congruence]. }
    pose proof (Hfr2 y Hy Hu3 Hns3) as (Hu & He). split; [exact Hu|].
    intros j' Hj' Hne. rewrite He by assumption. apply He3; assumption.
  - intros y Hs. pose proof (How2 y Hs) as [Hs3|Hf3].
    + exact (How1 y Hs3).
    + pose proof (Hback y (subx_nonneg st x j y Hent2 Hs) Hf3) as [Hf|Hs']; [right; exact Hf|left; exact Hs'].
Qed.

(** ** The end of descend at the root *)

(** What descend at the root does once entry [j] of [x] holds a level-2
    table [c] with [l2_inv]: update [c] ([update_l2_keeps]) and, for an
    unmap that leaves it empty, release it. It leaves [step_post] with
    at most [need_l2] fewer free tables. The root's table [x] must not be
    in the subtree of its entry. *)
Lemma root_tail : forall f e3 tr x j p base ipa stop u,
  (5 <= f)%nat ->
  lens p (slot_valid x) (fun s => tent (tables s) x j) (fun v s => set_tables s (put_ent (tables s) x j v)) ->
  pool_inv e3 -> 0 <= x < len (tables e3) -> 0 <= j < 512 -> free_bit (Isolation.Engine_pool e3) x = false ->
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
    step_post e3 st x j (need_l2 (Z.to_nat (stop - ipa)) (tables e3) (child (pool_base e3) (tent (tables e3) x j)) ipa stop u).
Proof.
  intros f e3 tr x j p base ipa stop u Hf L Hpi Hx Hj Hxu H3 Hle Hlt Hinv Hxs Hal Hbelow Hb0 Hba Hr Hs H40 Hia Hsa Hd Hneed.
  set (c := child (pool_base e3) (tent (tables e3) x j)) in *.
  set (N := need_l2 (Z.to_nat (stop - ipa)) (tables e3) c ipa stop u) in *.
  pose proof (update_l2_keeps f e3 tr c ipa stop u Hf Hinv Hal Hbelow ltac:(lia)
    ltac:(rewrite (l1_base_of base ipa Hba ltac:(lia)); lia) H40 Hia Hsa Hd Hneed)
    as (st1 & tr1 & Hup & Hinv1 & HB1 & Hl1 & Hc1 & Hfr & Hown).
  fold N in Hc1. step_by Hup.
  pose proof Hinv1 as (Hok1 & Hpok1 & Hbits1 & Hcok1 & Hpl1 & Hcr1 & Hcu1 & _).
  pose proof Hok1 as (Hwh1 & _ & _). fold (whole (tables st1)) in Hwh1.
  assert (Hpi1 : pool_inv st1) by (split; [exact Hok1|split; [exact Hpok1|split; [exact Hbits1|split; assumption]]]).
  (* the tables outside the subtree of the entry stay *)
  assert (Hfr' : forall y, 0 <= y -> free_bit (Isolation.Engine_pool e3) y = false -> ~ subx e3 x j y ->
    free_bit (Isolation.Engine_pool st1) y = false /\ (forall j', 0 <= j' < 512 -> tent (tables st1) y j' = tent (tables e3) y j')).
  { intros y Hy Hyu Hns. apply (Hfr y Hy).
    - intros E. apply Hns. split; [exact H3|left; exact E].
    - exact Hyu.
    - intros j' Hj' H3' E. apply Hns. split; [exact H3|right]. exists j'. split; [exact Hj'|]. split; [exact H3'|]. symmetry. exact E. }
  pose proof (Hfr' x ltac:(lia) Hxu Hxs) as (Hxu1 & Hxe1).
  (* the state without the drop *)
  assert (Hkeep : step_post e3 st1 x j N).
  { split; [exact Hpi1|]. split; [exact HB1|]. split; [exact Hl1|]. split; [exact Hc1|]. split; [|split].
    - intros y Hy Hyu Hns. pose proof (Hfr' y Hy Hyu Hns) as (Hu & He). split; [exact Hu|]. intros j' Hj' _. apply He. exact Hj'.
    - intros _. rewrite Hxe1, HB1, Hl1 by exact Hj. fold c. split; [exact Hle|]. split; [exact Hlt|exact Hinv1].
    - intros y (H3' & Hy). rewrite Hxe1, HB1 in Hy by exact Hj. fold c in Hy.
      destruct Hy as [E|(j' & Hj' & Hj3 & E)]; [left; split; [exact H3|left; exact E]|].
      pose proof (Hown j' Hj' Hj3) as [(j'' & Hj'' & H3'' & Ec)|Hff].
      + left. split; [exact H3|right]. exists j''. split; [exact Hj''|]. split; [exact H3''|]. rewrite E. exact Ec.
      + right. rewrite E. exact Hff. }
  destruct (Isolation.s2update_unmap u).
  - pose proof (tableEmpty_ok st1 tr1 c Hcr1 Hwh1) as (b & Hb & _).
    assert (Hte : (let! t'23 := Isolation.Engine_tableEmpty root c in ret t'23) st1 tr1 = Ok b st1 tr1)
      by (step_by Hb; reflexivity).
    step_by Hte. destruct b.
    + pose proof (drop_pool p x j st1 tr1 c base (Isolation.s2update_vmid u) L Hpi1 ltac:(lia) Hcr1 Hcu1)
        as (st & Hdrop & Hpi2 & HB2 & HT2 & Hc2 & Hcf2 & Hout2).
      step_by Hdrop. eexists _, _. split; [reflexivity|].
      split; [exact Hpi2|]. split; [congruence|]. split; [rewrite HT2, len_put_ent; exact Hl1|].
      split; [lia|]. split; [|split].
      * intros y Hy Hyu Hns. pose proof (Hfr' y Hy Hyu Hns) as (Hu & He).
        assert (Hyc : y <> c) by (intros E; apply Hns; split; [exact H3|left; exact E]).
        split; [rewrite Hout2 by assumption; exact Hu|].
        intros j' Hj' Hne. rewrite HT2, tent_put_ent_frame by lia. apply He. exact Hj'.
      * intros H3'. exfalso. rewrite HT2, tent_put_ent in H3' by (auto; lia).
        rewrite !Z.eqb_refl in H3'. cbn [andb] in H3'. exact (land0_not_table H3').
      * intros y (H3' & _). exfalso. rewrite HT2, tent_put_ent in H3' by (auto; lia).
        rewrite !Z.eqb_refl in H3'. cbn [andb] in H3'. exact (land0_not_table H3').
    + eexists _, _. split; [reflexivity|exact Hkeep].
  - step. eexists _, _. split; [reflexivity|exact Hkeep].
Qed.

(** descend into a root entry (entry [j] of the root's table [x]) that
    holds a level-2 table [c] with [l2_inv] ([descend_table_root],
    CodeUpdateRoot) leaves [step_post] with at most [need_l2] fewer free
    tables. *)
Theorem descend_table_post : forall fuel e tr x j p base ipa stop u,
  (7 <= fuel)%nat -> 0 <= j < 512 ->
  lens p (slot_valid x) (fun s => tent (tables s) x j) (fun v s => set_tables s (put_ent (tables s) x j v)) ->
  pool_inv e -> 0 <= x < len (tables e) -> free_bit (Isolation.Engine_pool e) x = false ->
  Z.land (tent (tables e) x j) 3 = 3 -> pool_base e <= Z.land (tent (tables e) x j) Isolation.descOAMask ->
  child (pool_base e) (tent (tables e) x j) < len (tables e) ->
  l2_inv e (child (pool_base e) (tent (tables e) x j)) -> ~ subx e x j x ->
  pool_base e mod 4096 = 0 -> pool_base e + 4096 * len (tables e) <= 2 ^ 48 ->
  0 <= base -> base mod 2 ^ 30 = 0 -> base <= ipa < stop -> stop <= base + 2 ^ 30 -> stop <= 2 ^ 40 ->
  ipa mod 4096 = 0 -> stop mod 4096 = 0 -> Isolation.s2update_delta u mod 4096 = 0 ->
  need_l2 (Z.to_nat (stop - ipa)) (tables e) (child (pool_base e) (tent (tables e) x j)) ipa stop u
    <= count_free (Isolation.Engine_pool e) ->
  exists st tr', Isolation.Engine_descend fuel root p 1 base ipa stop u e tr = Ok tt st tr' /\
    step_post e st x j (need_l2 (Z.to_nat (stop - ipa)) (tables e) (child (pool_base e) (tent (tables e) x j)) ipa stop u).
Proof.
  intros fuel e tr x j p base ipa stop u Hf Hj L Hpi Hx Hxu H3 Hle Hlt Hinv Hxs Hal Hbelow Hb0 Hba Hr Hs H40 Hia Hsa Hd Hneed.
  pose proof Hpi as (Hok & _). pose proof Hok as (Hwh & Hsmall & Hbase).
  fold (whole (tables e)) in Hwh.
  set (dd := tent (tables e) x j) in *.
  set (c := child (pool_base e) dd) in *.
  assert (Hv : slot_valid x e) by (split; [lia|exact Hwh]).
  destruct fuel as [|f]; [lia|]. cbn [Isolation.Engine_descend].
  step_by (deref_lens _ _ _ _ e tr L Hv). fold dd. unfold Isolation.isTable. step.
  replace ((1 <? Isolation.lastLevel) && (Z.land dd 3 =? 3)) with true by (rewrite H3; reflexivity).
  unfold bind at 1. step_by (pfield_pool_root e tr). unfold Isolation.descOA. step.
  step_by (index_ok e tr dd Hok Hle Hlt). fold c. unfold ret. cbv beta iota.
  replace (wraps 64 (1 + 1)) with 2 by reflexivity.
  destruct f as [|f]; [lia|].
  exact (root_tail f e tr x j p base ipa stop u ltac:(lia) L Hpi Hx Hj Hxu H3 Hle Hlt Hinv Hxs Hal Hbelow
    Hb0 Hba Hr Hs H40 Hia Hsa Hd Hneed).
Qed.

(** Hooking a table [c] just taken (its entries [v j'], no table
    descriptor) into entry [j] of [x] leaves [step_post] with one table
    fewer. *)
Lemma hook_post : forall e q c x j v T, pool_inv e -> 0 <= c < len (tables e) -> free_bit (Isolation.Engine_pool e) c = true ->
  taken (Isolation.Engine_pool e) q c -> bits_ok q -> 0 <= x < len (tables e) -> x <> c -> 0 <= j < 512 ->
  len T = len (tables e) -> whole T ->
  (forall j', 0 <= j' < 512 -> tent T c j' = v j') -> (forall j', 0 <= j' < 512 -> Z.land (v j') 3 <> 3) ->
  (forall y j', 0 <= y -> y <> c -> 0 <= j' < 512 -> tent T y j' = tent (tables e) y j') ->
  pool_base e mod 4096 = 0 -> pool_base e + 4096 * len (tables e) <= 2 ^ 48 ->
  step_post e (set_tables (Isolation.set_Engine_pool q e) (put_ent T x j (tdesc (pool_base e) c))) x j 1.
Proof.
  intros e q c x j v T Hpi Hc Hcf Htk Hqb Hx Hxc Hj HTl HTw HTc Hv HTo Hal Hbelow.
  pose proof (l2_inv_new e q c x j v T Hpi Hc Hcf Htk Hqb Hx Hxc Hj HTl HTw HTc Hv) as (Hinv2 & Hc2 & HB2).
  pose proof Hpi as (Hok & _). pose proof Hok as (_ & _ & Hbase).
  pose proof Htk as (_ & _ & _ & Hqo & _ & _).
  set (e2 := set_tables (Isolation.set_Engine_pool q e) (put_ent T x j (tdesc (pool_base e) c))) in *.
  assert (Hl2 : len (tables e2) = len (tables e)) by (unfold e2; rewrite tables_set_tables, len_put_ent; exact HTl).
  assert (Hxj : tent (tables e2) x j = tdesc (pool_base e) c).
  { unfold e2. rewrite tables_set_tables, tent_put_ent by (auto; lia). rewrite !Z.eqb_refl. reflexivity. }
  pose proof (tdesc_spec (pool_base e) c Hbase Hal ltac:(lia) ltac:(lia)) as (Ht3 & Hoa & Hch).
  assert (Hc2' : forall j', 0 <= j' < 512 -> tent (tables e2) c j' = v j').
  { intros j' Hj'. unfold e2. rewrite tables_set_tables, tent_put_ent by (auto; lia).
    replace (c =? x) with false by (symmetry; apply Z.eqb_neq; lia). apply HTc. exact Hj'. }
  pose proof Hinv2 as (Hok2 & Hpok2 & Hbits2 & Hcok2 & Hpl2 & _).
  split; [split; [exact Hok2|split; [exact Hpok2|split; [exact Hbits2|split; assumption]]]|].
  split; [exact HB2|]. split; [exact Hl2|]. split; [lia|]. split; [|split].
  - intros y Hy Hyu Hns. assert (Hyc : y <> c) by (intros ->; congruence). split.
    + unfold e2. rewrite free_bit_set_tables, get_set_pool, Hqo by assumption. exact Hyu.
    + intros j' Hj' Hne. unfold e2. rewrite tables_set_tables, tent_put_ent_frame by lia. apply HTo; assumption.
  - intros _. rewrite Hxj, HB2, Hl2, Hoa, Hch. split; [lia|]. split; [lia|]. exact Hinv2.
  - intros y (_ & Hy). rewrite Hxj, HB2, Hch in Hy. destruct Hy as [->|(j' & Hj' & H3' & _)].
    + right. exact Hcf.
    + exfalso. rewrite Hc2' in H3' by exact Hj'. exact (Hv j' Hj' H3').
Qed.

(** descend into an invalid root entry for a map ([descend_new_root],
    CodeUpdateRoot) leaves [step_post] with at most one table and what
    [need] counts for a zeroed table fewer. *)
Theorem descend_new_post : forall fuel e tr x j p base ipa stop u,
  (7 <= fuel)%nat -> pool_inv e -> 0 <= j < 512 ->
  lens p (slot_valid x) (fun s => tent (tables s) x j) (fun v s => set_tables s (put_ent (tables s) x j v)) ->
  0 <= x < len (tables e) -> free_bit (Isolation.Engine_pool e) x = false ->
  valid_d (tent (tables e) x j) = false -> Isolation.s2update_unmap u = false ->
  pool_base e mod 4096 = 0 -> pool_base e + 4096 * len (tables e) <= 2 ^ 48 ->
  0 <= base -> base mod 2 ^ 30 = 0 -> base <= ipa < stop -> stop <= base + 2 ^ 30 -> stop <= 2 ^ 40 ->
  ipa mod 4096 = 0 -> stop mod 4096 = 0 -> Isolation.s2update_delta u mod 4096 = 0 ->
  1 + need_l2g (Z.to_nat (stop - ipa)) (fun _ => 0) ipa stop u <= count_free (Isolation.Engine_pool e) ->
  exists st tr', Isolation.Engine_descend fuel root p 1 base ipa stop u e tr = Ok tt st tr' /\
    step_post e st x j (1 + need_l2g (Z.to_nat (stop - ipa)) (fun _ => 0) ipa stop u).
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
  pose proof (hook_post e q c x j (fun _ => 0) (tables e1) Hpi ltac:(lia) Hcf Htk Hqb Hx Hxc Hj Hl1 Hw1
    ltac:(intros j' Hj'; unfold e1; rewrite HT1; apply tent_zeroed; lia) ltac:(intros; discriminate)
    ltac:(intros y j' Hy Hyc Hj'; unfold e1; rewrite HT1; apply tent_replace_other; lia) Hal Hbelow) as Hhook.
  fold e1 in Hhook.
  set (e2 := set_tables e1 (put_ent (tables e1) x j (tdesc (pool_base e) c))) in *.
  pose proof Hhook as (Hpi2 & HB2 & Hl2 & Hc2 & _ & Hent2 & _).
  pose proof Hbase as Hbase'.
  pose proof (tdesc_spec (pool_base e) c Hbase Hal ltac:(lia) ltac:(lia)) as (Ht3 & Hoa & Hch).
  assert (Hxj : tent (tables e2) x j = tdesc (pool_base e) c).
  { unfold e2. rewrite tables_set_tables, tent_put_ent by (auto; lia). rewrite !Z.eqb_refl. reflexivity. }
  assert (Ec : child (pool_base e2) (tent (tables e2) x j) = c) by (rewrite Hxj, HB2; exact Hch).
  assert (H3 : Z.land (tent (tables e2) x j) 3 = 3) by (rewrite Hxj; exact Ht3).
  pose proof (Hent2 H3) as (Hle2 & Hlt2 & Hinv2).
  assert (Hcz : forall j', 0 <= j' < 512 -> tent (tables e2) c j' = 0).
  { intros j' Hj'. unfold e2. rewrite tables_set_tables, tent_put_ent by (auto; lia).
    replace (c =? x) with false by (symmetry; apply Z.eqb_neq; lia). unfold e1. rewrite HT1. apply tent_zeroed; lia. }
  assert (Hxs : ~ subx e2 x j x).
  { intros (_ & [E|(j' & Hj' & H3' & _)]); [rewrite Ec in E; exact (Hxc E)|].
    rewrite Ec, Hcz in H3' by exact Hj'. exact (land0_not_table H3'). }
  assert (Hn2 : need_l2 (Z.to_nat (stop - ipa)) (tables e2) (child (pool_base e2) (tent (tables e2) x j)) ipa stop u =
    need_l2g (Z.to_nat (stop - ipa)) (fun _ => 0) ipa stop u) by (rewrite Ec; apply need_l2_new; exact Hcz).
  destruct f as [|f]; [lia|].
  pose proof (root_tail f e2 tr x j p base ipa stop u ltac:(lia) L Hpi2 ltac:(lia) Hj
    ltac:(unfold e2; rewrite free_bit_set_tables; unfold e1; rewrite get_set_pool; pose proof Htk as (_ & _ & _ & Hqo & _);
          rewrite Hqo by lia; exact Hxu)
    H3 Hle2 Hlt2 Hinv2 Hxs ltac:(rewrite HB2; exact Hal) ltac:(rewrite HB2, Hl2; exact Hbelow)
    Hb0 Hba Hr Hs H40 Hia Hsa Hd ltac:(rewrite Hn2; lia)) as (st & tr' & Htail & Hpost).
  rewrite Ec, Hun in Htail. rewrite Hn2 in Hpost.
  exists st, tr'. split; [exact Htail|]. exact (step_post_trans e e2 st x j 1 _ Hhook Hpost).
Qed.

(** descend into a root block entry ([descend_split_root],
    CodeUpdateRoot) leaves [step_post] with at most one table and what
    [need] counts for a table of valid leaves fewer. *)
Theorem descend_split_post : forall fuel e tr x j p base ipa stop u,
  (7 <= fuel)%nat -> pool_inv e -> 0 <= j < 512 ->
  lens p (slot_valid x) (fun s => tent (tables s) x j) (fun v s => set_tables s (put_ent (tables s) x j v)) ->
  0 <= x < len (tables e) -> free_bit (Isolation.Engine_pool e) x = false ->
  valid_d (tent (tables e) x j) = true -> Z.land (tent (tables e) x j) 3 <> 3 ->
  pool_base e mod 4096 = 0 -> pool_base e + 4096 * len (tables e) <= 2 ^ 48 ->
  0 <= base -> base mod 2 ^ 30 = 0 -> base <= ipa < stop -> stop <= base + 2 ^ 30 -> stop <= 2 ^ 40 ->
  ipa mod 4096 = 0 -> stop mod 4096 = 0 -> Isolation.s2update_delta u mod 4096 = 0 ->
  1 + need_l2g (Z.to_nat (stop - ipa)) (fun _ => Isolation.descValid) ipa stop u <= count_free (Isolation.Engine_pool e) ->
  exists st tr', Isolation.Engine_descend fuel root p 1 base ipa stop u e tr = Ok tt st tr' /\
    step_post e st x j (1 + need_l2g (Z.to_nat (stop - ipa)) (fun _ => Isolation.descValid) ipa stop u).
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
  pose proof (hook_post e q c x j (split_leaf dd 2) Ts Hpi ltac:(lia) Hcf Htk Hqb Hx Hxc Hj ltac:(lia) HTsw HTc
    ltac:(intros j' _; apply leaf2_not_table)
    ltac:(intros y j' Hy Hyc Hj'; rewrite HTsp by lia; replace (y =? c) with false by (symmetry; apply Z.eqb_neq; exact Hyc);
          unfold e1; rewrite HT1; apply tent_replace_other; lia) Hal Hbelow) as Hhook.
  fold e1 in Hhook.
  set (e3 := set_tables e1 (put_ent Ts x j (tdesc (pool_base e) c))) in *.
  pose proof Hhook as (Hpi3 & HB3 & Hl3 & Hc3 & _ & Hent3 & _).
  pose proof (tdesc_spec (pool_base e) c Hbase Hal ltac:(lia) ltac:(lia)) as (Ht3 & Hoa & Hch).
  assert (Hxj : tent (tables e3) x j = tdesc (pool_base e) c).
  { unfold e3. rewrite tables_set_tables, tent_put_ent by (auto; lia). rewrite !Z.eqb_refl. reflexivity. }
  assert (Ec : child (pool_base e3) (tent (tables e3) x j) = c) by (rewrite Hxj, HB3; exact Hch).
  assert (H3 : Z.land (tent (tables e3) x j) 3 = 3) by (rewrite Hxj; exact Ht3).
  pose proof (Hent3 H3) as (Hle3 & Hlt3 & Hinv3).
  assert (Hcs : forall j', 0 <= j' < 512 -> tent (tables e3) c j' = split_leaf dd 2 j').
  { intros j' Hj'. unfold e3. rewrite tables_set_tables, tent_put_ent by (auto; lia).
    replace (c =? x) with false by (symmetry; apply Z.eqb_neq; lia). apply HTc. exact Hj'. }
  assert (Hxs : ~ subx e3 x j x).
  { intros (_ & [E|(j' & Hj' & H3' & _)]); [rewrite Ec in E; exact (Hxc E)|].
    rewrite Ec, Hcs in H3' by exact Hj'. exact (leaf2_not_table _ _ H3'). }
  assert (Hn3 : need_l2 (Z.to_nat (stop - ipa)) (tables e3) (child (pool_base e3) (tent (tables e3) x j)) ipa stop u =
    need_l2g (Z.to_nat (stop - ipa)) (fun _ => Isolation.descValid) ipa stop u)
    by (rewrite Ec; apply (need_l2_split _ _ _ dd); exact Hcs).
  destruct f as [|f]; [lia|].
  pose proof (root_tail f e3 (inval (Isolation.s2update_vmid u) base :: tr) x j p base ipa stop u ltac:(lia) L Hpi3 ltac:(lia) Hj
    ltac:(unfold e3; rewrite free_bit_set_tables; unfold e1; rewrite get_set_pool; pose proof Htk as (_ & _ & _ & Hqo & _);
          rewrite Hqo by lia; exact Hxu)
    H3 Hle3 Hlt3 Hinv3 Hxs ltac:(rewrite HB3; exact Hal) ltac:(rewrite HB3, Hl3; exact Hbelow)
    Hb0 Hba Hr Hs H40 Hia Hsa Hd ltac:(rewrite Hn3; lia)) as (st & tr' & Htail & Hpost).
  rewrite Ec in Htail. rewrite Hn3 in Hpost.
  exists st, tr'. split; [exact Htail|]. exact (step_post_trans e e3 st x j 1 _ Hhook Hpost).
Qed.

(** ** replaceLeaf at the root *)

Lemma leaf1_not_table : forall pa a, Z.land (leaf_val pa 1 a) 3 <> 3.
Proof.
  intros pa a E. assert (H : Z.testbit (leaf_val pa 1 a) 1 = false).
  { unfold leaf_val, Isolation.leafDesc. cbn [bind ret Isolation.lastLevel Z.eqb Pos.eqb].
    repeat match goal with |- context [if ?c then _ else _] => destruct c end;
    cbn [bind ret]; rewrite ?Z.lor_spec, Z.land_spec, oa_bits by lia;
    replace ((12 <=? 1) && (1 <? 48)) with false by reflexivity; rewrite andb_false_r; reflexivity. }
  assert (H1 : Z.testbit (Z.land (leaf_val pa 1 a) 3) 1 = true) by (rewrite E; reflexivity).
  rewrite Z.land_spec, H in H1. discriminate.
Qed.

Lemma new_ent1_not_table : forall u base old, Z.land old 3 <> 3 -> Z.land (new_ent u 1 base old) 3 <> 3.
Proof.
  intros u base old H. unfold new_ent. destruct (Isolation.s2update_unmap u).
  - destruct (valid_d old); [cbn; discriminate|exact H].
  - apply leaf1_not_table.
Qed.

(** No change: [step_post] of a state with itself. *)
Lemma step_post_refl : forall e x j, pool_inv e ->
  (Z.land (tent (tables e) x j) 3 = 3 ->
     pool_base e <= Z.land (tent (tables e) x j) Isolation.descOAMask /\
     child (pool_base e) (tent (tables e) x j) < len (tables e) /\
     l2_inv e (child (pool_base e) (tent (tables e) x j))) ->
  step_post e e x j 0.
Proof.
  intros e x j Hpi Hent. split; [exact Hpi|]. split; [reflexivity|]. split; [reflexivity|]. split; [lia|].
  split; [|split; [exact Hent|]].
  - intros y _ Hyu _. split; [exact Hyu|]. intros; reflexivity.
  - intros y Hs. left. exact Hs.
Qed.

(** Writing no table descriptor into the entry after a change keeps
    [step_post]. *)
Lemma step_post_put : forall e s x j N v, step_post e s x j N -> 0 <= x < len (tables s) -> 0 <= j < 512 ->
  Z.land v 3 <> 3 -> step_post e (set_tables s (put_ent (tables s) x j v)) x j N.
Proof.
  intros e s x j N v (Hpi & HB & HL & Hc & Hfr & _ & _) Hx Hj Hv.
  pose proof Hpi as (Hok & _). pose proof Hok as (Hwh & _). fold (whole (tables s)) in Hwh.
  assert (Hxj : tent (tables (set_tables s (put_ent (tables s) x j v))) x j = v).
  { rewrite tables_set_tables, tent_put_ent by (auto; lia). rewrite !Z.eqb_refl. reflexivity. }
  split; [apply pool_inv_put; assumption|]. split; [rewrite base_set_tables; exact HB|].
  split; [rewrite tables_set_tables, len_put_ent; exact HL|].
  split; [rewrite count_set_tables by (rewrite len_put_ent; reflexivity); exact Hc|]. split; [|split].
  - intros y Hy Hyu Hns. pose proof (Hfr y Hy Hyu Hns) as (Hu & He). split; [rewrite free_bit_set_tables; exact Hu|].
    intros j' Hj' Hne. rewrite tables_set_tables, tent_put_ent_frame by lia. apply He; assumption.
  - intros H3. exfalso. rewrite Hxj in H3. exact (Hv H3).
  - intros y (H3 & _). exfalso. rewrite Hxj in H3. exact (Hv H3).
Qed.

(** clearEntry of a root entry holding a level-2 table [c] with [l2_inv]
    ([clearEntry_table_root], CodeUpdateRoot) leaves [step_post] with no
    table fewer and the entry 0. *)
Theorem clearEntry_table_post : forall fuel e tr x j p base vmid,
  (7 <= fuel)%nat -> 0 <= j < 512 ->
  lens p (slot_valid x) (fun s => tent (tables s) x j) (fun v s => set_tables s (put_ent (tables s) x j v)) ->
  pool_inv e -> 0 <= x < len (tables e) -> free_bit (Isolation.Engine_pool e) x = false ->
  Z.land (tent (tables e) x j) 3 = 3 -> pool_base e <= Z.land (tent (tables e) x j) Isolation.descOAMask ->
  child (pool_base e) (tent (tables e) x j) < len (tables e) ->
  l2_inv e (child (pool_base e) (tent (tables e) x j)) -> ~ subx e x j x ->
  pool_base e mod 4096 = 0 -> pool_base e + 4096 * len (tables e) <= 2 ^ 48 ->
  0 <= base -> base mod 2 ^ 30 = 0 -> base + 2 ^ 30 <= 2 ^ 40 ->
  exists st tr', Isolation.Engine_clearEntry fuel root p 1 base vmid e tr = Ok tt st tr' /\
    step_post e st x j 0 /\ slot_valid x st.
Proof.
  intros fuel e tr x j p base vmid Hf Hj L Hpi Hx Hxu H3 Hle Hlt Hinv Hxs Hal Hbelow Hb0 Hba H40.
  pose proof Hpi as (Hok & _). pose proof Hok as (Hwh & Hsmall & Hbase).
  fold (whole (tables e)) in Hwh.
  set (dd := tent (tables e) x j) in *.
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
  assert (Hn0 : need_l2 (Z.to_nat (base + 2 ^ 30 - base)) (tables e) c base (base + 2 ^ 30) (clear_u vmid) = 0)
    by (apply need_l2_clear; first [reflexivity|lia|exact H21|exact H21']).
  pose proof (update_l2_keeps f e tr c base (base + 2 ^ 30) (clear_u vmid) ltac:(lia) Hinv Hal Hbelow ltac:(lia)
    ltac:(rewrite (l1_base_of base base Hba ltac:(lia)); lia) H40 Hba'
    ltac:(rewrite Z.add_mod, Hba' by lia; reflexivity) eq_refl
    ltac:(rewrite Hn0; pose proof (count_bound (Isolation.Engine_pool e)); lia))
    as (st1 & tr1 & Hup & Hinv1 & HB1 & Hl1 & Hc1 & Hfr & _).
  rewrite Hn0 in Hc1.
  step_by Hup.
  pose proof Hinv1 as (Hok1 & Hpok1 & Hbits1 & Hcok1 & Hpl1 & Hcr1 & Hcu1 & _).
  pose proof Hok1 as (Hwh1 & _ & _). fold (whole (tables st1)) in Hwh1.
  assert (Hpi1 : pool_inv st1) by (split; [exact Hok1|split; [exact Hpok1|split; [exact Hbits1|split; assumption]]]).
  assert (Hfr' : forall y, 0 <= y -> free_bit (Isolation.Engine_pool e) y = false -> ~ subx e x j y ->
    free_bit (Isolation.Engine_pool st1) y = false /\ (forall j', 0 <= j' < 512 -> tent (tables st1) y j' = tent (tables e) y j')).
  { intros y Hy Hyu Hns. apply (Hfr y Hy).
    - intros E. apply Hns. split; [exact H3|left; exact E].
    - exact Hyu.
    - intros j' Hj' H3' E. apply Hns. split; [exact H3|right]. exists j'. split; [exact Hj'|]. split; [exact H3'|]. symmetry. exact E. }
  pose proof (drop_pool p x j st1 tr1 c base vmid L Hpi1 ltac:(lia) Hcr1 Hcu1)
    as (st & Hdrop & Hpi2 & HB2 & HT2 & Hc2 & Hcf2 & Hout2).
  step_by Hdrop. eexists _, _. split; [reflexivity|].
  pose proof Hpi2 as (Hok2 & _). pose proof Hok2 as (Hwh2 & _). fold (whole (tables st)) in Hwh2.
  split; [|split; [rewrite HT2, len_put_ent; lia|exact Hwh2]].
  split; [exact Hpi2|]. split; [congruence|]. split; [rewrite HT2, len_put_ent; exact Hl1|].
  split; [lia|]. split; [|split].
  - intros y Hy Hyu Hns. pose proof (Hfr' y Hy Hyu Hns) as (Hu & He).
    assert (Hyc : y <> c) by (intros E; apply Hns; split; [exact H3|left; exact E]).
    split; [rewrite Hout2 by assumption; exact Hu|].
    intros j' Hj' Hne. rewrite HT2, tent_put_ent_frame by lia. apply He. exact Hj'.
  - intros H3'. exfalso. rewrite HT2, tent_put_ent in H3' by (auto; lia).
    rewrite !Z.eqb_refl in H3'. cbn [andb] in H3'. exact (land0_not_table H3').
  - intros y (H3' & _). exfalso. rewrite HT2, tent_put_ent in H3' by (auto; lia).
    rewrite !Z.eqb_refl in H3'. cbn [andb] in H3'. exact (land0_not_table H3').
Qed.

(** replaceLeaf of a root entry holding a level-2 table [c] with
    [l2_inv] ([replaceLeaf_table_root], CodeUpdateRoot) leaves
    [step_post] with no table fewer and no table descriptor in the
    entry. *)
Theorem replaceLeaf_table_post : forall fuel e tr x j p base u,
  (8 <= fuel)%nat -> 0 <= j < 512 ->
  lens p (slot_valid x) (fun s => tent (tables s) x j) (fun v s => set_tables s (put_ent (tables s) x j v)) ->
  pool_inv e -> 0 <= x < len (tables e) -> free_bit (Isolation.Engine_pool e) x = false ->
  Z.land (tent (tables e) x j) 3 = 3 -> pool_base e <= Z.land (tent (tables e) x j) Isolation.descOAMask ->
  child (pool_base e) (tent (tables e) x j) < len (tables e) ->
  l2_inv e (child (pool_base e) (tent (tables e) x j)) -> ~ subx e x j x ->
  pool_base e mod 4096 = 0 -> pool_base e + 4096 * len (tables e) <= 2 ^ 48 ->
  0 <= base -> base mod 2 ^ 30 = 0 -> base + 2 ^ 30 <= 2 ^ 40 ->
  exists st tr', Isolation.Engine_replaceLeaf fuel root p 1 base u e tr = Ok tt st tr' /\ step_post e st x j 0.
Proof.
  intros fuel e tr x j p base u Hf Hj L Hpi Hx Hxu H3 Hle Hlt Hinv Hxs Hal Hbelow Hb0 Hba H40.
  pose proof Hpi as (Hok & _). pose proof Hok as (Hwh & _). fold (whole (tables e)) in Hwh.
  assert (Hv : slot_valid x e) by (split; [lia|exact Hwh]).
  set (dd := tent (tables e) x j) in *.
  destruct fuel as [|f]; [lia|]. cbn [Isolation.Engine_replaceLeaf].
  step_by (deref_lens _ _ _ _ e tr L Hv). unfold Isolation.isValid. step. fold dd.
  fold (valid_d dd). rewrite (table_valid dd H3).
  pose proof (clearEntry_table_post f e tr x j p base (Isolation.s2update_vmid u) ltac:(lia) Hj L Hpi Hx Hxu H3 Hle Hlt Hinv Hxs
    Hal Hbelow Hb0 Hba H40) as (st1 & tr1 & Hce & Hpost & Hv1).
  assert (Hc' : (let! _ := Isolation.Engine_clearEntry f root p 1 base (Isolation.s2update_vmid u) in ret tt) e tr = Ok tt st1 tr1)
    by (step_by Hce; reflexivity).
  step_by Hc'.
  destruct (Isolation.s2update_unmap u); cbn [negb].
  - eexists _, _. split; [reflexivity|exact Hpost].
  - step_by (leafDesc_ok st1 tr1 (wrapu 64 (base + Isolation.s2update_delta u)) 1 (Isolation.s2update_attr u)).
    step_by (store_lens _ _ _ _ st1 (leaf_val (wrapu 64 (base + Isolation.s2update_delta u)) 1 (Isolation.s2update_attr u)) tr1 L Hv1).
    eexists _, _. split; [reflexivity|].
    apply step_post_put; [exact Hpost|destruct Hv1; lia|exact Hj|apply leaf1_not_table].
Qed.

(** ** One iteration at the root *)

(** The level-2 tables the root entries other than [i] hold keep their
    entries. *)
Definition subs_kept (e st : Isolation.Engine) (t i : Z) : Prop :=
  forall i', 0 <= i' < 1024 -> i' <> i -> Z.land (ent (tables e) t i') 3 = 3 -> forall j', 0 <= j' < 512 ->
    tent (tables st) (child (pool_base e) (ent (tables e) t i')) j' = tent (tables e) (child (pool_base e) (ent (tables e) t i')) j'.

(** [step_post] of a change of root entry [i] keeps [root_inv], the
    other root entries and the level-2 tables they hold. *)
Lemma root_inv_of_post : forall e st t i N, root_inv e t -> 0 <= i < 1024 ->
  step_post e st (t + i / 512) (i mod 512) N ->
  root_inv st t /\ (forall i', 0 <= i' < 1024 -> i' <> i -> ent (tables st) t i' = ent (tables e) t i') /\
  subs_kept e st t i.
Proof.
  intros e st t i N Hr Hi (Hpi & HB & HL & _ & Hfr & Hent & How).
  pose proof Hr as (Hl & Hne & Hdis). pose proof Hl as (_ & Ht & Htl & Htu & Ht1u & _).
  assert (Hq : forall k, 0 <= k < 1024 -> k / 512 = 0 \/ k / 512 = 1).
  { intros k Hk. assert (0 <= k / 512 < 2) by (split; [apply Z.div_pos|apply Z.div_lt_upper_bound]; lia). lia. }
  assert (Hns : forall y, y = t \/ y = t + 1 -> ~ subx e (t + i / 512) (i mod 512) y).
  { intros y Hy Hs. destruct (Hne i y Hi Hs). lia. }
  assert (Hroot : forall i', 0 <= i' < 1024 -> i' <> i -> ent (tables st) t i' = ent (tables e) t i').
  { intros i' Hi' Hii. change (tent (tables st) (t + i' / 512) (i' mod 512) = tent (tables e) (t + i' / 512) (i' mod 512)).
    assert (Hu : free_bit (Isolation.Engine_pool e) (t + i' / 512) = false) by (apply (l1_inv_slot_used e t i' Hl Hi')).
    pose proof (Hfr (t + i' / 512) ltac:(pose proof (Hq i' Hi'); lia) Hu ltac:(apply Hns; pose proof (Hq i' Hi'); lia))
      as (_ & He).
    apply He; [apply Z.mod_pos_bound; lia|].
    destruct (Z.eq_dec (t + i' / 512) (t + i / 512)) as [E|E]; [right|left; exact E].
    intros Em. apply Hii. rewrite (Z.div_mod i' 512), (Z.div_mod i 512) by lia. rewrite Em. f_equal. f_equal. lia. }
  split; [|split; [exact Hroot|]].
  2:{ intros i' Hi' Hii H3 j' Hj'. set (y := child (pool_base e) (ent (tables e) t i')).
      pose proof (sub_top e t i' H3) as Hs. fold y in Hs.
      pose proof (sub_used e t i' y Hl Hi' Hs) as (Hy0 & _ & Hyu).
      pose proof (Hne i' y Hi' Hs) as (Hyt & Hyt1).
      pose proof (Hfr y Hy0 Hyu ltac:(intros Hs'; exact (Hdis i' i y Hi' Hi Hii Hs Hs'))) as (_ & He).
      apply He; [exact Hj'|]. left. pose proof (Hq i Hi). lia. }
  apply (root_inv_keep e st t i Hr Hi Hpi HB HL).
  - pose proof (Hfr t ltac:(lia) Htu ltac:(apply Hns; left; reflexivity)) as (Hu & _). exact Hu.
  - pose proof (Hfr (t + 1) ltac:(lia) Ht1u ltac:(apply Hns; right; reflexivity)) as (Hu & _). exact Hu.
  - exact Hroot.
  - intros y Hy Hyt Hyt1 Hyu Hys. pose proof (Hfr y Hy Hyu Hys) as (Hu & He). split; [exact Hu|].
    intros j' Hj'. apply He; [exact Hj'|]. left. pose proof (Hq i Hi). lia.
  - exact Hent.
  - exact How.
Qed.

(** One iteration of [update]'s loop at the root [t], from [ipa]: the
    entry of [ipa] is replaced by a leaf or updated through the level
    below, and the loop goes on from the end of the entry's part of the
    range. *)
Definition l1_step (f : nat) (t end' : Z) (u : Isolation.s2update) (ipa : Z) : M Isolation.Engine (step Z Empty_set) :=
  let! t'1 := Isolation.levelSize 1 in
  let base := andnot ipa (wrapu 64 (t'1 - 1)) in
  let! t'2 := Isolation.levelSize 1 in
  let stop := (Z.min end' (wrapu 64 (base + t'2))) in
  let! t'3 := Isolation.entryIndex ipa 1 in
  let! t'4 := Isolation.Engine_slot root t t'3 in
  let slot := t'4 in
  let! t'5 := Isolation.wholeLeaf base ipa stop 1 u in
  let! _ := (if t'5 then
    let! t'6 := Isolation.Engine_replaceLeaf f root slot 1 base u in ret tt
  else
    let! t'7 := Isolation.Engine_descend f root slot 1 base ipa stop u in ret tt) in
  let ipa := stop in
  ret (Continue ipa).

(** update at the root over [ipa, end') is its iterations: an invariant
    [I] that every iteration from inside the range keeps, moving forward
    without passing [end'], holds at the end, and update never fails. *)
Theorem update_root_loop : forall f t ipa end' u (I : Z -> Isolation.Engine -> list event -> Prop) e tr,
  ipa <= end' -> end' - ipa <= 2 ^ 64 -> I ipa e tr ->
  (forall cur st tr1, ipa <= cur < end' -> I cur st tr1 ->
     exists nxt st' tr', l1_step f t end' u cur st tr1 = Ok (Continue nxt) st' tr' /\ cur < nxt <= end' /\ I nxt st' tr') ->
  exists st tr', Isolation.Engine_update (S f) root t 1 ipa end' u e tr = Ok tt st tr' /\ I end' st tr'.
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

(** ** What the update at the root leaves outside its tree *)

(** The tables of the tree of root [t]: its two tables and the subtrees
    of its entries. *)
Definition in_tree (e : Isolation.Engine) (t y : Z) : Prop :=
  y = t \/ y = t + 1 \/ exists i, 0 <= i < 1024 /\ sub e t i y.

(** Every table in use outside the tree of [t] stays in use, with its
    entries, and outside the tree. *)
Definition tree_frame (e st : Isolation.Engine) (t : Z) : Prop :=
  forall y, 0 <= y -> free_bit (Isolation.Engine_pool e) y = false -> ~ in_tree e t y ->
    free_bit (Isolation.Engine_pool st) y = false /\
    (forall j, 0 <= j < 512 -> tent (tables st) y j = tent (tables e) y j) /\ ~ in_tree st t y.

Lemma tree_frame_refl : forall e t, tree_frame e e t.
Proof. intros e t y _ Hu Hn. split; [exact Hu|]. split; [reflexivity|exact Hn]. Qed.

Lemma tree_frame_trans : forall e s st t, tree_frame e s t -> tree_frame s st t -> tree_frame e st t.
Proof.
  intros e s st t H1 H2 y Hy Hu Hn. pose proof (H1 y Hy Hu Hn) as (Hu1 & He1 & Hn1).
  pose proof (H2 y Hy Hu1 Hn1) as (Hu2 & He2 & Hn2). split; [exact Hu2|]. split; [|exact Hn2].
  intros j Hj. rewrite He2 by exact Hj. apply He1. exact Hj.
Qed.

(** A change of root entry [i] that leaves [step_post], the other root
    entries and the level-2 tables they hold keeps every table in use
    outside the tree as it was, and outside the tree: the new subtree is
    made of old or free tables. *)
Lemma step_tree_frame : forall e st t i M, 0 <= t -> 0 <= i < 1024 ->
  step_post e st (t + i / 512) (i mod 512) M ->
  (forall i', 0 <= i' < 1024 -> i' <> i -> ent (tables st) t i' = ent (tables e) t i') ->
  subs_kept e st t i -> tree_frame e st t.
Proof.
  intros e st t i M Ht Hi Hpost Hoth Hsk y Hy Hu Hn.
  pose proof Hpost as (_ & HB & _ & _ & Hkeep & _ & Hown).
  assert (Hq : i / 512 = 0 \/ i / 512 = 1).
  { assert (0 <= i / 512 < 2) by (split; [apply Z.div_pos|apply Z.div_lt_upper_bound]; lia). lia. }
  assert (Hns : ~ subx e (t + i / 512) (i mod 512) y).
  { intros Hs. apply Hn. right. right. exists i. split; [exact Hi|]. apply sub_subx. exact Hs. }
  pose proof (Hkeep y Hy Hu Hns) as (Hu' & He').
  assert (Hyx : y <> t + i / 512).
  { intros E. apply Hn. destruct Hq as [Q|Q]; rewrite Q in E; [left|right; left]; lia. }
  split; [exact Hu'|]. split; [intros j Hj; apply He'; [exact Hj|left; exact Hyx]|].
  intros [E|[E|(i' & Hi' & Hs)]]; [apply Hn; left; exact E|apply Hn; right; left; exact E|].
  destruct (Z.eq_dec i' i) as [->|Hne].
  - apply sub_subx in Hs. pose proof (Hown y Hs) as [Hs0|Hf]; [exact (Hns Hs0)|congruence].
  - apply Hn. right. right. exists i'. split; [exact Hi'|].
    unfold sub in Hs |- *. rewrite (Hoth i' Hi' Hne), HB in Hs.
    destruct Hs as (H3 & [Ey|(j' & Hj' & H3' & Ey)]); (split; [exact H3|]); [left; exact Ey|].
    right. exists j'. split; [exact Hj'|].
    rewrite (Hsk i' Hi' Hne H3 j' Hj') in H3', Ey. split; [exact H3'|exact Ey].
Qed.

(** One iteration of [update]'s loop at the root [t], at root entry
    [i = (ipa / 2^30) mod 1024], from [root_inv] with the [need_root_at]
    free tables [need] counts for the entry, never fails, goes on from
    [l1_stop ipa end'], keeps [root_inv], the base, the number of tables
    and every other root entry, and takes at most [need_root_at]
    tables. *)
Theorem update_root_step : forall f e tr t ipa end' u,
  (8 <= f)%nat -> root_inv e t ->
  pool_base e mod 4096 = 0 -> pool_base e + 4096 * len (tables e) <= 2 ^ 48 ->
  0 <= ipa < end' -> end' <= 2 ^ 40 ->
  ipa mod 4096 = 0 -> end' mod 4096 = 0 -> Isolation.s2update_delta u mod 4096 = 0 ->
  need_root_at (tables e) (pool_base e) t ipa end' u <= count_free (Isolation.Engine_pool e) ->
  exists st tr', l1_step f t end' u ipa e tr = Ok (Continue (l1_stop ipa end')) st tr' /\
    root_inv st t /\ pool_base st = pool_base e /\ len (tables st) = len (tables e) /\
    (forall i', 0 <= i' < 1024 -> i' <> (ipa / 2 ^ 30) mod 1024 -> ent (tables st) t i' = ent (tables e) t i') /\
    count_free (Isolation.Engine_pool e) - need_root_at (tables e) (pool_base e) t ipa end' u
      <= count_free (Isolation.Engine_pool st) /\
    subs_kept e st t ((ipa / 2 ^ 30) mod 1024) /\ tree_frame e st t /\
    exists M, step_post e st (t + ((ipa / 2 ^ 30) mod 1024) / 512) (((ipa / 2 ^ 30) mod 1024) mod 512) M.
Proof.
  intros f e tr t ipa end' u Hf Hr Hal Hbelow Hrange H40 Hia Hea Hd Hneed.
  pose proof Hr as (Hl & Hne & _).
  pose proof Hl as (Hpi & Ht & Htl & _ & _ & Hents & _).
  pose proof Hpi as (Hok & Hpok & Hbits & Hcok & Hpl). pose proof Hok as (Hwh & Hsmall & Hbase).
  fold (whole (tables e)) in Hwh.
  pose proof (l1_base_bound ipa ltac:(lia)) as Hb.
  pose proof (need_root_at_bound (tables e) (pool_base e) t ipa end' u ltac:(lia)) as HNb.
  set (N := need_root_at (tables e) (pool_base e) t ipa end' u) in *.
  set (base := l1_base ipa) in *. set (stop := l1_stop ipa end') in *.
  assert (Hba : base mod 2 ^ 30 = 0) by (unfold base, l1_base; apply Z.mod_mul; lia).
  assert (Hb40 : base + 2 ^ 30 <= 2 ^ 40).
  { unfold base, l1_base in *. pose proof (Z.div_mod ipa (2 ^ 30) ltac:(lia)). pose proof (Z.mod_pos_bound ipa (2 ^ 30) ltac:(lia)). lia. }
  assert (Hst : ipa < stop <= base + 2 ^ 30 /\ stop <= end') by (unfold stop, l1_stop; fold base; lia).
  assert (Hsa : stop mod 4096 = 0).
  { unfold stop, l1_stop. fold base. destruct (Z.min_spec end' (base + 2 ^ 30)) as [[_ ->]|[_ ->]]; [exact Hea|].
    unfold base, l1_base. replace (ipa / 2 ^ 30 * 2 ^ 30 + 2 ^ 30) with ((ipa / 2 ^ 30 + 1) * 2 ^ 18 * 4096) by ring.
    apply Z.mod_mul. lia. }
  set (i := (ipa / 2 ^ 30) mod 1024) in *.
  assert (Hi : 0 <= i < 1024) by (apply Z.mod_pos_bound; lia).
  assert (Hq : 0 <= i / 512 < 2) by (split; [apply Z.div_pos|apply Z.div_lt_upper_bound]; lia).
  set (x := t + i / 512) in *. set (j := i mod 512) in *.
  assert (Hj : 0 <= j < 512) by (apply Z.mod_pos_bound; lia).
  set (dd := ent (tables e) t i) in *.
  assert (Edd : dd = tent (tables e) x j) by reflexivity.
  assert (Hxu : free_bit (Isolation.Engine_pool e) x = false) by (apply (l1_inv_slot_used e t i Hl Hi)).
  assert (Hxs : ~ subx e x j x).
  { intros Hs. destruct (Hne i x Hi Hs). unfold x in *. assert (i / 512 = 0 \/ i / 512 = 1) by lia. lia. }
  (* what the post of the entry gives *)
  assert (Hfin : forall st M, step_post e st x j M -> M <= N ->
    root_inv st t /\ pool_base st = pool_base e /\ len (tables st) = len (tables e) /\
    (forall i', 0 <= i' < 1024 -> i' <> i -> ent (tables st) t i' = ent (tables e) t i') /\
    count_free (Isolation.Engine_pool e) - N <= count_free (Isolation.Engine_pool st) /\ subs_kept e st t i /\
    tree_frame e st t /\ exists M, step_post e st x j M).
  { intros st M Hpost HM. pose proof (root_inv_of_post e st t i M Hr Hi Hpost) as (Hr' & Hoth & Hsk).
    pose proof Hpost as (_ & HB & HL & Hc & _). split; [exact Hr'|]. split; [exact HB|]. split; [exact HL|].
    split; [exact Hoth|]. split; [lia|]. split; [exact Hsk|].
    split; [exact (step_tree_frame e st t i M Ht Hi Hpost Hoth Hsk)|exists M; exact Hpost]. }
  unfold l1_step.
  pose proof (levelSize_ok e tr 1 ltac:(lia)) as [Hsz Hmask].
  change (2 ^ (12 + 9 * (3 - 1))) with (2 ^ 30) in Hsz, Hmask. change (12 + 9 * (3 - 1)) with 30 in Hmask.
  step_by Hsz. rewrite Hmask, andnot_ones by lia. change (ipa / 2 ^ 30 * 2 ^ 30) with (l1_base ipa). fold base.
  step_by Hsz. rewrite (wrapu_small (base + 2 ^ 30)) by lia.
  change (Z.min end' (base + 2 ^ 30)) with (l1_stop ipa end'). fold stop.
  step_by (entryIndex_val e tr ipa 1 ltac:(lia) ltac:(lia)).
  change (2 ^ (12 + 9 * (3 - 1))) with (2 ^ 30). change (nentries 1) with 1024. fold i.
  pose proof (slot_lens t i ltac:(lia) Hi ltac:(lia)) as (p & Hp & L). fold x j in Hp, L.
  assert (Hv : slot_valid x e) by (split; [lia|exact Hwh]).
  step_by (Hp e tr Hv).
  step_by (wholeLeaf_val1 e tr base ipa stop u).
  destruct (whole_l1 base ipa stop u) eqn:Hwl.
  - (* a whole entry: replaceLeaf *)
    destruct (Z.eq_dec (Z.land dd 3) 3) as [E3|E3].
    + pose proof (Hents i Hi E3) as (Hle & Hlt & Hinv & _).
      pose proof (replaceLeaf_table_post f e tr x j p base u ltac:(lia) Hj L Hpi ltac:(lia) Hxu E3 Hle Hlt Hinv Hxs Hal Hbelow
        ltac:(lia) Hba Hb40) as (st & tr1 & Hrl & Hpost).
      assert (H : (let! t'6 := Isolation.Engine_replaceLeaf f root p 1 base u in ret tt) e tr = Ok tt st tr1)
        by (step_by Hrl; reflexivity).
      step_by H. eexists _, _. split; [reflexivity|]. apply (Hfin st 0 Hpost). lia.
    + pose proof (slot_laws x j ltac:(lia) Hj) as (L1 & L2 & L3).
      destruct f as [|[|f']]; [lia|lia|].
      pose proof (replaceLeaf_leaf_ok f' p _ _ _ e tr 1 base u L Hv Hpl L1 L2 L3
        ltac:(apply andb_false_iff; right; apply Z.eqb_neq; exact E3)) as Hrl.
      assert (H : (let! t'6 := Isolation.Engine_replaceLeaf (S (S f')) root p 1 base u in ret tt) e tr = Ok tt
        ((fun v s => set_tables s (put_ent (tables s) x j v)) (new_ent u 1 base ((fun s => tent (tables s) x j) e)) e)
        (if valid_d ((fun s => tent (tables s) x j) e) then inval (Isolation.s2update_vmid u) base :: tr else tr))
        by (step_by Hrl; reflexivity).
      step_by H. eexists _, _. split; [reflexivity|]. cbv beta.
      apply (Hfin _ 0); [|lia].
      apply step_post_put; [|lia|exact Hj|apply new_ent1_not_table; exact E3].
      apply step_post_refl; [exact Hpi|]. intros E. exfalso. exact (E3 E).
  - (* part of an entry: descend *)
    assert (Hdesc : forall st tr1 M, Isolation.Engine_descend f root p 1 base ipa stop u e tr = Ok tt st tr1 ->
      step_post e st x j M -> M <= N ->
      exists st' tr', (let! _ := (let! t'7 := Isolation.Engine_descend f root p 1 base ipa stop u in ret tt) in
        let ipa := stop in ret (Continue (X:=Empty_set) ipa)) e tr = Ok (Continue stop) st' tr' /\
      root_inv st' t /\ pool_base st' = pool_base e /\ len (tables st') = len (tables e) /\
      (forall i', 0 <= i' < 1024 -> i' <> i -> ent (tables st') t i' = ent (tables e) t i') /\
      count_free (Isolation.Engine_pool e) - N <= count_free (Isolation.Engine_pool st') /\ subs_kept e st' t i /\
      tree_frame e st' t /\ exists M, step_post e st' x j M).
    { intros st tr1 M H Hpost HM.
      assert (H' : (let! t'7 := Isolation.Engine_descend f root p 1 base ipa stop u in ret tt) e tr = Ok tt st tr1)
        by (step_by H; reflexivity).
      step_by H'. eexists _, _. split; [reflexivity|]. exact (Hfin st M Hpost HM). }
    destruct (Z.eq_dec (Z.land dd 3) 3) as [E3|E3].
    + pose proof (Hents i Hi E3) as (Hle & Hlt & Hinv & _).
      assert (EN : N = need_l2 (Z.to_nat (stop - ipa)) (tables e) (child (pool_base e) dd) ipa stop u)
        by (unfold N, need_root_at, below1; fold base stop i; fold dd; rewrite Hwl, (proj2 (Z.eqb_eq _ _) E3); reflexivity).
      pose proof (descend_table_post f e tr x j p base ipa stop u ltac:(lia) Hj L Hpi ltac:(lia) Hxu E3 Hle Hlt Hinv Hxs Hal Hbelow
        ltac:(lia) Hba ltac:(lia) ltac:(lia) ltac:(lia) Hia Hsa Hd ltac:(rewrite <- Edd, <- EN; exact Hneed)) as (st & tr1 & Hde & Hpost).
      exact (Hdesc st tr1 _ Hde Hpost ltac:(rewrite EN; apply Z.le_refl)).
    + destruct (valid_d dd) eqn:Hval.
      * assert (EN : N = 1 + need_l2g (Z.to_nat (stop - ipa)) (fun _ => Isolation.descValid) ipa stop u)
          by (unfold N, need_root_at, below1; fold base stop i; fold dd; rewrite Hwl, (proj2 (Z.eqb_neq _ _) E3), Hval; reflexivity).
        pose proof (descend_split_post f e tr x j p base ipa stop u ltac:(lia) Hpi Hj L ltac:(lia) Hxu Hval E3 Hal Hbelow
          ltac:(lia) Hba ltac:(lia) ltac:(lia) ltac:(lia) Hia Hsa Hd ltac:(rewrite <- EN; exact Hneed)) as (st & tr1 & Hde & Hpost).
        exact (Hdesc st tr1 _ Hde Hpost ltac:(rewrite EN; lia)).
      * destruct (Isolation.s2update_unmap u) eqn:Hun.
        -- destruct f as [|f']; [lia|].
           refine (Hdesc e tr 0 (descend_invalid_unmap f' e tr p _ _ _ 1 base ipa stop u L Hv Hval Hun) _ ltac:(lia)).
           apply step_post_refl; [exact Hpi|]. intros E. exfalso. exact (E3 E).
        -- assert (EN : N = 1 + need_l2g (Z.to_nat (stop - ipa)) (fun _ => 0) ipa stop u)
             by (unfold N, need_root_at, below1; fold base stop i; fold dd; rewrite Hwl, (proj2 (Z.eqb_neq _ _) E3), Hval, Hun; reflexivity).
           pose proof (descend_new_post f e tr x j p base ipa stop u ltac:(lia) Hpi Hj L ltac:(lia) Hxu Hval Hun Hal Hbelow
             ltac:(lia) Hba ltac:(lia) ltac:(lia) ltac:(lia) Hia Hsa Hd ltac:(rewrite <- EN; exact Hneed)) as (st & tr1 & Hde & Hpost).
           exact (Hdesc st tr1 _ Hde Hpost ltac:(rewrite EN; lia)).
Qed.

(** ** Update at the root over several root entries *)

(** [need_root_at] reads only the root entry of [cur] and the entries of
    the level-2 table it holds. *)
Lemma need_root_at_same : forall T T' base t cur end' u,
  ent T' t ((cur / 2 ^ 30) mod 1024) = ent T t ((cur / 2 ^ 30) mod 1024) ->
  (Z.land (ent T t ((cur / 2 ^ 30) mod 1024)) 3 = 3 -> forall j, 0 <= j < 512 ->
     tent T' (child base (ent T t ((cur / 2 ^ 30) mod 1024))) j = tent T (child base (ent T t ((cur / 2 ^ 30) mod 1024))) j) ->
  need_root_at T' base t cur end' u = need_root_at T base t cur end' u.
Proof.
  intros T T' base t cur end' u He Hc. unfold need_root_at, below1. rewrite He.
  destruct (whole_l1 _ _ _ _); [reflexivity|].
  destruct (Z.eqb_spec (Z.land (ent T t ((cur / 2 ^ 30) mod 1024)) 3) 3) as [E3|]; [|reflexivity].
  rewrite !need_l2_g. apply need_l2g_ext. intros j Hj. rewrite (Hc E3 j Hj). reflexivity.
Qed.

Lemma l1_stop_next : forall cur end', 0 <= cur -> l1_stop cur end' < end' ->
  l1_stop cur end' = l1_base cur + 2 ^ 30 /\ l1_stop cur end' / 2 ^ 30 = cur / 2 ^ 30 + 1.
Proof.
  intros cur end' H0 Hlt. unfold l1_stop in *.
  assert (E : Z.min end' (l1_base cur + 2 ^ 30) = l1_base cur + 2 ^ 30) by lia.
  rewrite E. split; [reflexivity|]. unfold l1_base.
  replace (cur / 2 ^ 30 * 2 ^ 30 + 2 ^ 30) with ((cur / 2 ^ 30 + 1) * 2 ^ 30) by ring.
  apply Z.div_mul. lia.
Qed.

Lemma l1_stop_page : forall cur end', end' mod 4096 = 0 -> l1_stop cur end' mod 4096 = 0.
Proof.
  intros cur end' Hea. unfold l1_stop. destruct (Z.min_spec end' (l1_base cur + 2 ^ 30)) as [[_ ->]|[_ ->]]; [exact Hea|].
  unfold l1_base. replace (cur / 2 ^ 30 * 2 ^ 30 + 2 ^ 30) with ((cur / 2 ^ 30 + 1) * 2 ^ 18 * 4096) by ring.
  apply Z.mod_mul. lia.
Qed.

(** update at the root [t] of a stage-2 with [root_inv] over a
    page-aligned range below 2^40, whatever root entries it spans, never
    fails given the [need_root] free tables [need] counts for it
    ([need_root_spec], CodeUpdateRoot); it keeps [root_inv], the base and
    the number of tables, and takes at most [need_root] tables. The pool
    must be page aligned and below 2^48. *)
Theorem update_root_no_failure : forall f e tr t ipa end' u,
  (8 <= f)%nat -> root_inv e t ->
  pool_base e mod 4096 = 0 -> pool_base e + 4096 * len (tables e) <= 2 ^ 48 ->
  0 <= ipa <= end' -> end' <= 2 ^ 40 ->
  ipa mod 4096 = 0 -> end' mod 4096 = 0 -> Isolation.s2update_delta u mod 4096 = 0 ->
  need_root (Z.to_nat (end' - ipa)) (tables e) (pool_base e) t ipa end' u <= count_free (Isolation.Engine_pool e) ->
  exists st tr', Isolation.Engine_update (S f) root t 1 ipa end' u e tr = Ok tt st tr' /\
    root_inv st t /\ pool_base st = pool_base e /\ len (tables st) = len (tables e) /\
    count_free (Isolation.Engine_pool e) - need_root (Z.to_nat (end' - ipa)) (tables e) (pool_base e) t ipa end' u
      <= count_free (Isolation.Engine_pool st) /\ tree_frame e st t.
Proof.
  intros f e tr t ipa end' u Hf Hr Hal Hbelow Hrange H40 Hia Hea Hd Hneed.
  set (NT := need_root (Z.to_nat (end' - ipa)) (tables e) (pool_base e) t ipa end' u) in *.
  pose proof (update_root_loop f t ipa end' u
    (fun cur st _ => root_inv st t /\ ipa <= cur <= end' /\ cur mod 4096 = 0 /\
       pool_base st = pool_base e /\ len (tables st) = len (tables e) /\
       (cur < end' -> forall k, cur / 2 ^ 30 <= k < 1024 -> ent (tables st) t k = ent (tables e) t k /\
          (Z.land (ent (tables e) t k) 3 = 3 -> forall j, 0 <= j < 512 ->
             tent (tables st) (child (pool_base e) (ent (tables e) t k)) j = tent (tables e) (child (pool_base e) (ent (tables e) t k)) j)) /\
       count_free (Isolation.Engine_pool e) - (NT - need_root (Z.to_nat (end' - cur)) (tables e) (pool_base e) t cur end' u)
         <= count_free (Isolation.Engine_pool st) /\ tree_frame e st t) e tr
    ltac:(lia) ltac:(lia)) as (st & tr' & Hup & Hfin).
  - split; [exact Hr|]. split; [lia|]. split; [exact Hia|]. split; [reflexivity|]. split; [reflexivity|].
    split; [intros _ k _; split; [reflexivity|intros; reflexivity]|]. split; [fold NT; lia|]. apply tree_frame_refl.
  - intros cur st tr1 Hc (Hr1 & Hc1 & Hca & HB1 & Hl1 & Hent1 & Hn1 & Htf1).
    assert (Hk0 : 0 <= cur / 2 ^ 30 < 1024) by (split; [apply Z.div_pos|apply Z.div_lt_upper_bound]; lia).
    assert (Ei : (cur / 2 ^ 30) mod 1024 = cur / 2 ^ 30) by (apply Z.mod_small; lia).
    pose proof (Hent1 ltac:(lia) (cur / 2 ^ 30) ltac:(lia)) as (Hek & Hck).
    assert (Ena : need_root_at (tables st) (pool_base st) t cur end' u = need_root_at (tables e) (pool_base e) t cur end' u).
    { rewrite HB1. apply need_root_at_same; rewrite Ei; [exact Hek|exact Hck]. }
    pose proof (need_root_step (tables e) (pool_base e) t cur end' u ltac:(lia)) as Hn.
    pose proof (l1_stop_gt cur end' ltac:(lia)) as Hsg.
    pose proof (need_root_bound (Z.to_nat (end' - l1_stop cur end')) (tables e) (pool_base e) t (l1_stop cur end') end' u
      ltac:(lia)) as Hnb.
    pose proof (need_root_at_bound (tables e) (pool_base e) t cur end' u ltac:(lia)) as Hab.
    pose proof (update_root_step f st tr1 t cur end' u Hf Hr1 ltac:(rewrite HB1; exact Hal) ltac:(rewrite HB1, Hl1; exact Hbelow)
      ltac:(lia) H40 Hca Hea Hd ltac:(rewrite Ena; lia)) as (st' & tr' & Hs & Hr2 & HB2 & Hl2 & Ho2 & Hc2 & Hsk2 & Htf2 & _).
    exists (l1_stop cur end'), st', tr'. split; [exact Hs|]. split; [lia|].
    split; [exact Hr2|]. split; [lia|]. split; [apply l1_stop_page; exact Hea|].
    split; [congruence|]. split; [congruence|]. split; [|split].
    + intros Hlt k Hk. pose proof (l1_stop_next cur end' ltac:(lia) Hlt) as (_ & Ediv).
      rewrite Ediv in Hk. rewrite Ei in Ho2, Hsk2.
      pose proof (Hent1 ltac:(lia) k ltac:(lia)) as (Hek' & Hck').
      split; [rewrite Ho2 by lia; exact Hek'|].
      intros H3 j Hj. rewrite <- Hck' by assumption.
      pose proof (Hsk2 k ltac:(lia) ltac:(lia) ltac:(rewrite Hek'; exact H3) j Hj) as E.
      rewrite Hek', HB1 in E. exact E.
    + rewrite Ena in Hc2. lia.
    + exact (tree_frame_trans e st st' t Htf1 Htf2).
  - destruct Hfin as (Hr' & _ & _ & HB & Hl & _ & Hc & Htf). exists st, tr'. split; [exact Hup|].
    split; [exact Hr'|]. split; [exact HB|]. split; [exact Hl|]. split; [|exact Htf].
    rewrite Z.sub_diag in Hc. cbn in Hc. fold NT. lia.
Qed.

(** ** mapRange and unmapRange *)

(** The counts of [need] read of the update only whether it unmaps and
    its output offset. *)
Lemma whole_l1_u : forall base ipa stop u u', Isolation.s2update_unmap u = Isolation.s2update_unmap u' ->
  Isolation.s2update_delta u = Isolation.s2update_delta u' -> whole_l1 base ipa stop u = whole_l1 base ipa stop u'.
Proof. intros base ipa stop u u' Hu Hd. unfold whole_l1, Isolation.wholeLeaf. rewrite Hu, Hd. reflexivity. Qed.

Lemma whole_l2_u : forall base ipa stop u u', Isolation.s2update_unmap u = Isolation.s2update_unmap u' ->
  Isolation.s2update_delta u = Isolation.s2update_delta u' -> whole_l2 base ipa stop u = whole_l2 base ipa stop u'.
Proof. intros base ipa stop u u' Hu Hd. unfold whole_l2, Isolation.wholeLeaf. rewrite Hu, Hd. reflexivity. Qed.

Lemma need_l2g_u : forall n get ipa end' u u', Isolation.s2update_unmap u = Isolation.s2update_unmap u' ->
  Isolation.s2update_delta u = Isolation.s2update_delta u' -> need_l2g n get ipa end' u = need_l2g n get ipa end' u'.
Proof.
  induction n as [|n IH]; intros get ipa end' u u' Hu Hd; cbn [need_l2g]; [reflexivity|].
  destruct (ipa <? end'); [|reflexivity]. rewrite (IH get _ end' u u' Hu Hd). f_equal.
  unfold need_atg, below2. rewrite (whole_l2_u _ _ _ u u' Hu Hd), Hu. reflexivity.
Qed.

Lemma need_root_u : forall n T base t ipa end' u u', Isolation.s2update_unmap u = Isolation.s2update_unmap u' ->
  Isolation.s2update_delta u = Isolation.s2update_delta u' -> need_root n T base t ipa end' u = need_root n T base t ipa end' u'.
Proof.
  induction n as [|n IH]; intros T base t ipa end' u u' Hu Hd; cbn [need_root]; [reflexivity|].
  destruct (ipa <? end'); [|reflexivity]. rewrite (IH T base t _ end' u u' Hu Hd). f_equal.
  unfold need_root_at, below1. rewrite (whole_l1_u _ _ _ u u' Hu Hd), !need_l2_g, !(need_l2g_u _ _ _ _ u u' Hu Hd), Hu.
  reflexivity.
Qed.

(** mapRange of [n] pages at [ipa] on a stage-2 whose root has
    [root_inv], with at least the tables its reservation [mapNeed] counts
    free, never fails and keeps [root_inv]. The range must lie below
    2^40 and be page aligned, the offset to [pa] too; the pool must be
    page aligned and below 2^48. *)
Theorem mapRange_no_failure : forall e tr s s2 ipa pa n a k,
  good s e s2 -> root_inv e (Isolation.stage2_root s2) ->
  pool_base e mod 4096 = 0 -> pool_base e + 4096 * len (tables e) <= 2 ^ 48 ->
  0 <= ipa -> 0 <= n -> ipa + n * 4096 <= 2 ^ 40 -> ipa mod 4096 = 0 -> wrapu 64 (pa - ipa) mod 4096 = 0 ->
  Isolation.Engine_mapNeed root s ipa pa n e tr = Ok k e tr -> k <= count_free (Isolation.Engine_pool e) ->
  exists st tr', Isolation.Engine_mapRange root s ipa pa n a e tr = Ok tt st tr' /\ root_inv st (Isolation.stage2_root s2) /\
    pool_base st = pool_base e /\ len (tables st) = len (tables e) /\
    count_free (Isolation.Engine_pool e) - k <= count_free (Isolation.Engine_pool st) /\
    tree_frame e st (Isolation.stage2_root s2).
Proof.
  intros e tr s s2 ipa pa n a k Hg Hr Hal Hbelow Hipa Hn H40 Hia Hd Hk Hle.
  pose proof (root_inv_l1 e _ Hr) as Hl. pose proof Hl as ((Hok & _) & Ht & _).
  rewrite (mapNeed_spec e tr s s2 ipa pa n Hok Ht (l1_inv_tree e _ Hl) Hg Hipa Hn H40) in Hk.
  injection Hk as <-.
  unfold Isolation.Engine_mapRange, bind at 1. rewrite (deref_good _ _ _ _ Hg). cbv beta iota zeta.
  unfold bind at 1. rewrite (deref_good _ _ _ _ Hg). cbv beta iota.
  rewrite shl12, wrapu_small by lia.
  change Isolation.S2StartLevel with 1. change rec_fuel with (S 63).
  pose proof (update_root_no_failure 63 e tr (Isolation.stage2_root s2) ipa (ipa + n * 4096)
    (Isolation.mk_s2update (Isolation.stage2_vmid s2) (wrapu 64 (pa - ipa)) a false)
    ltac:(lia) Hr Hal Hbelow ltac:(lia) H40 Hia ltac:(rewrite Z.add_mod, Z.mod_mul, Hia by lia; reflexivity) Hd
    ltac:(replace (ipa + n * 4096 - ipa) with (n * 4096) by ring; erewrite need_root_u; [exact Hle|reflexivity|reflexivity]))
    as (st & tr' & Hup & Hr' & HB & HL & Hc & Htf).
  replace (ipa + n * 4096 - ipa) with (n * 4096) in Hc by ring.
  rewrite (need_root_u _ _ _ _ _ _ _ (Isolation.mk_s2update (Isolation.stage2_vmid s2) (wrapu 64 (pa - ipa)) Isolation.zero_Attr false))
    in Hc by reflexivity.
  step_by Hup. exists st, tr'. split; [reflexivity|]. split; [exact Hr'|]. split; [exact HB|]. split; [exact HL|].
  split; [exact Hc|exact Htf].
Qed.

(** unmapRange of [n] pages at [ipa] on a stage-2 whose root has
    [root_inv], with at least the tables its reservation [unmapNeed]
    counts free, never fails and keeps [root_inv]. *)
Theorem unmapRange_no_failure : forall e tr s s2 ipa n k,
  good s e s2 -> root_inv e (Isolation.stage2_root s2) ->
  pool_base e mod 4096 = 0 -> pool_base e + 4096 * len (tables e) <= 2 ^ 48 ->
  0 <= ipa -> 0 <= n -> ipa + n * 4096 <= 2 ^ 40 -> ipa mod 4096 = 0 ->
  Isolation.Engine_unmapNeed root s ipa n e tr = Ok k e tr -> k <= count_free (Isolation.Engine_pool e) ->
  exists st tr', Isolation.Engine_unmapRange root s ipa n e tr = Ok tt st tr' /\ root_inv st (Isolation.stage2_root s2) /\
    pool_base st = pool_base e /\ len (tables st) = len (tables e) /\
    count_free (Isolation.Engine_pool e) - k <= count_free (Isolation.Engine_pool st) /\
    tree_frame e st (Isolation.stage2_root s2).
Proof.
  intros e tr s s2 ipa n k Hg Hr Hal Hbelow Hipa Hn H40 Hia Hk Hle.
  pose proof (root_inv_l1 e _ Hr) as Hl. pose proof Hl as ((Hok & _) & Ht & _).
  rewrite (unmapNeed_spec e tr s s2 ipa n Hok Ht (l1_inv_tree e _ Hl) Hg Hipa Hn H40) in Hk.
  injection Hk as <-.
  unfold Isolation.Engine_unmapRange, bind at 1. rewrite (deref_good _ _ _ _ Hg). cbv beta iota zeta.
  unfold bind at 1. rewrite (deref_good _ _ _ _ Hg). cbv beta iota.
  rewrite shl12, wrapu_small by lia.
  change Isolation.S2StartLevel with 1. change rec_fuel with (S 63).
  pose proof (update_root_no_failure 63 e tr (Isolation.stage2_root s2) ipa (ipa + n * 4096)
    (Isolation.mk_s2update (Isolation.stage2_vmid s2) 0 Isolation.zero_Attr true)
    ltac:(lia) Hr Hal Hbelow ltac:(lia) H40 Hia ltac:(rewrite Z.add_mod, Z.mod_mul, Hia by lia; reflexivity) eq_refl
    ltac:(replace (ipa + n * 4096 - ipa) with (n * 4096) by ring; exact Hle))
    as (st & tr' & Hup & Hr' & HB & HL & Hc & Htf).
  replace (ipa + n * 4096 - ipa) with (n * 4096) in Hc by ring.
  step_by Hup. exists st, tr'. split; [reflexivity|]. split; [exact Hr'|]. split; [exact HB|]. split; [exact HL|].
  split; [exact Hc|exact Htf].
Qed.
