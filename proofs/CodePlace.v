(** * Places of the translated code

    Lemmas about GoCoq's pointers: a place that holds a value, and into
    which a store succeeds, stays such a place when a field or an element in
    range is selected. *)
From Coq Require Import ZArith Lia List Bool.
From Bulkhead.Code Require Import GoCoq.
Import ListNotations.
Open Scope Z_scope.

(** [p] points, in memory [s], at [a], and a store through it succeeds. *)
Definition good {S A} (p : ptr S A) (s : S) (a : A) : Prop :=
  exists ld st, p = Place ld st /\ ld s = Some a /\ forall b, exists s', st b s = Some s'.

Lemma good_root : forall {S} (s : S), good root s s.
Proof. intros. do 2 eexists. split; [reflexivity|]. split; [reflexivity|]. intros b. eexists. reflexivity. Qed.

Lemma deref_good : forall {S A} (p : ptr S A) s a tr, good p s a -> deref p s tr = Ok a s tr.
Proof. intros S A p s a tr (ld & st & -> & Hl & _). cbn. rewrite Hl. reflexivity. Qed.

Lemma store_good : forall {S A} (p : ptr S A) s a b tr, good p s a -> exists s', store p b s tr = Ok tt s' tr.
Proof.
  intros S A p s a b tr (ld & st & -> & Hl & Hs). destruct (Hs b) as [s' Hs'].
  exists s'. cbn. rewrite Hs'. reflexivity.
Qed.

Lemma pfield_good : forall {S A B} (p : ptr S A) (get : A -> B) set s a tr, good p s a ->
  exists q, pfield p get set s tr = Ok q s tr /\ good q s (get a).
Proof.
  intros S A B p get set s a tr (ld & st & -> & Hl & Hs). eexists. split; [reflexivity|].
  do 2 eexists. split; [reflexivity|]. cbn. rewrite Hl. split; [reflexivity|].
  intros b. apply Hs.
Qed.

Lemma pindex_good : forall {S A} (p : ptr S (list A)) s xs i tr, good p s xs -> 0 <= i < len xs ->
  exists q x, pindex p i s tr = Ok q s tr /\ nth_error xs (Z.to_nat i) = Some x /\ good q s x.
Proof.
  intros S A p s xs i tr Hg Hi. pose proof Hg as (ld & st & -> & Hl & Hs).
  destruct (nth_error xs (Z.to_nat i)) as [x|] eqn:Hn.
  2:{ apply nth_error_None in Hn. unfold len in Hi. lia. }
  exists (Place (fun s => match ld s with Some ys => nth_error ys (Z.to_nat i) | None => None end)
                (fun a s => match ld s with
                            | Some ys => if len ys <=? i then None else st (replace_nth (Z.to_nat i) a ys) s
                            | None => None end)), x.
  split; [|split; [reflexivity|]].
  - unfold pindex, bind. rewrite (deref_good _ _ _ _ Hg).
    destruct ((i <? 0) || (len xs <=? i)) eqn:Hc.
    + apply orb_true_iff in Hc. rewrite Z.ltb_lt, Z.leb_le in Hc. lia.
    + reflexivity.
  - do 2 eexists. split; [reflexivity|]. cbv beta. rewrite Hl. split; [exact Hn|].
    intros b. destruct (Z.leb_spec (len xs) i); [lia|]. apply Hs.
Qed.
