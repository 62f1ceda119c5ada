(** * Places as lenses over every valid memory

    [tracks] (CodeTrack) follows one place through its own stores. A proof
    that interleaves stores through several places (the pool, then a VM
    slot) needs more: a place built by fields and in-range elements from
    the root reads [get s] and stores [set b s] in {i every} memory [s]
    where its path is valid (each index in range), and a store keeps the
    path valid. *)
From Coq Require Import ZArith Lia List Bool.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Proofs Require Import CodeTrack.
Import ListNotations.
Open Scope Z_scope.

Definition lens {S A} (p : ptr S A) (valid : S -> Prop) (get : S -> A) (set : A -> S -> S) : Prop :=
  exists ld st, p = Place ld st /\
  (forall s, valid s -> ld s = Some (get s)) /\
  (forall s b, valid s -> st b s = Some (set b s)) /\
  (forall s b, valid s -> valid (set b s)) /\
  (forall s b, valid s -> get (set b s) = b).

Lemma lens_root : forall {S}, lens (@root S) (fun _ => True) (fun s => s) (fun b _ => b).
Proof. intros S. exists (fun s => Some s), (fun a _ => Some a). repeat split. Qed.

Lemma deref_lens : forall {S A} (p : ptr S A) valid get set s tr, lens p valid get set -> valid s ->
  deref p s tr = Ok (get s) s tr.
Proof. intros S A p valid get set s tr (ld & st & -> & Hl & _) Hv. cbn. rewrite (Hl s Hv). reflexivity. Qed.

Lemma store_lens : forall {S A} (p : ptr S A) valid get set s b tr, lens p valid get set -> valid s ->
  store p b s tr = Ok tt (set b s) tr.
Proof. intros S A p valid get set s b tr (ld & st & -> & _ & Hs & _) Hv. cbn. rewrite (Hs s b Hv). reflexivity. Qed.

Lemma is_nil_lens : forall {S A} (p : ptr S A) valid get set, lens p valid get set -> is_nil p = false.
Proof. intros S A p valid get set (ld & st & -> & _). reflexivity. Qed.

Lemma pfield_lens : forall {S A B} (p : ptr S A) valid get set (g : A -> B) sf,
  lens p valid get set -> field_laws g sf ->
  exists q, (forall s tr, pfield p g sf s tr = Ok q s tr) /\
    lens q valid (fun s => g (get s)) (fun b s => set (sf b (get s)) s).
Proof.
  intros S A B p valid get set g sf (ld & st & -> & Hl & Hs & Hv & Hg) [Hgs Hss].
  eexists. split; [reflexivity|].
  do 2 eexists. split; [reflexivity|]. cbn.
  split; [intros s Hvs; rewrite (Hl s Hvs); reflexivity|].
  split; [intros s b Hvs; rewrite (Hl s Hvs); apply Hs; exact Hvs|].
  split; [intros s b Hvs; apply Hv; exact Hvs|].
  intros s b Hvs. rewrite (Hg _ _ Hvs). apply Hgs.
Qed.

Lemma nth_replace : forall {A} n (a d : A) xs, (n < length xs)%nat -> nth n (replace_nth n a xs) d = a.
Proof.
  intros A n a d xs H. apply nth_error_nth. apply nth_replace_nth. exact H.
Qed.

Lemma pindex_lens : forall {S A} (p : ptr S (list A)) valid get set i (d : A),
  lens p valid get set ->
  exists q, (forall s tr, valid s -> 0 <= i < len (get s) -> pindex p i s tr = Ok q s tr) /\
    lens q (fun s => valid s /\ 0 <= i < len (get s)) (fun s => nth (Z.to_nat i) (get s) d)
      (fun b s => set (replace_nth (Z.to_nat i) b (get s)) s).
Proof.
  intros S A p valid get set i d Hlens. pose proof Hlens as (ld & st & -> & Hl & Hs & Hv & Hg).
  eexists. split.
  { intros s tr Hvs Hi. unfold pindex, bind. rewrite (deref_lens _ _ _ _ _ tr Hlens Hvs).
    destruct ((i <? 0) || (len (get s) <=? i)) eqn:Hc.
    - apply orb_true_iff in Hc. rewrite Z.ltb_lt, Z.leb_le in Hc. lia.
    - reflexivity. }
  do 2 eexists. split; [reflexivity|]. cbv beta.
  split.
  { intros s [Hvs Hi]. rewrite (Hl s Hvs). apply nth_error_nth'. unfold len in Hi. lia. }
  split.
  { intros s b [Hvs Hi]. rewrite (Hl s Hvs).
    destruct (len (get s) <=? i) eqn:Hc; [apply Z.leb_le in Hc; lia|]. apply Hs. exact Hvs. }
  split.
  { intros s b [Hvs Hi]. split; [apply Hv; exact Hvs|]. rewrite (Hg _ _ Hvs).
    unfold len in *. rewrite replace_nth_length. exact Hi. }
  intros s b [Hvs Hi]. rewrite (Hg _ _ Hvs). apply nth_replace. unfold len in Hi. lia.
Qed.

(** A lens restricted to a smaller set of memories is still a lens, if
    its stores stay in the set. *)
Lemma lens_weaken : forall {S A} (p : ptr S A) (valid valid' : S -> Prop) get set,
  lens p valid get set -> (forall s, valid' s -> valid s) -> (forall s b, valid' s -> valid' (set b s)) ->
  lens p valid' get set.
Proof.
  intros S A p valid valid' get set (ld & st & -> & Hl & Hs & Hv & Hg) Hw Hv'.
  exists ld, st. repeat split; auto.
Qed.
