(** * Places as lenses: what a sequence of stores does to the memory

    [good] (CodePlace) says a place can be read and written; [tracks] says
    what the memory is after a write: the place reads [a] in [s], a store
    of [b] gives [put b], where the place reads [b] and a further store of
    [c] gives [put c]. The root tracks the whole memory, and selecting a
    field or an element in range keeps a place tracking, with [put]
    rebuilding the path. Proofs that code preserves an invariant use it to
    name the memory after each store. *)
From Coq Require Import ZArith Lia List Bool.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Proofs Require Import CodePlace.
Import ListNotations.
Open Scope Z_scope.

Definition tracks {S A} (p : ptr S A) (s : S) (a : A) (put : A -> S) : Prop :=
  exists ld st, p = Place ld st /\ ld s = Some a /\
    (forall b, st b s = Some (put b)) /\
    (forall b, ld (put b) = Some b) /\
    (forall b c, st c (put b) = Some (put c)).

Lemma tracks_root : forall {S} (s : S), tracks root s s (fun b => b).
Proof. intros S s. exists (fun s => Some s), (fun a _ => Some a). repeat split. Qed.

(** After a store through a tracking place, it tracks the new memory. *)
Lemma tracks_put : forall {S A} (p : ptr S A) s a put b, tracks p s a put -> tracks p (put b) b put.
Proof.
  intros S A p s a put b (ld & st & -> & Hl & Hs & Hp & Hpp).
  exists ld, st. repeat split; auto.
Qed.

Lemma tracks_good : forall {S A} (p : ptr S A) s a put, tracks p s a put -> good p s a.
Proof.
  intros S A p s a put (ld & st & -> & Hl & Hs & _ & _).
  exists ld, st. repeat split; auto. intros b. eexists. apply Hs.
Qed.

Lemma deref_tracks : forall {S A} (p : ptr S A) s a put tr, tracks p s a put -> deref p s tr = Ok a s tr.
Proof. intros. eapply deref_good, tracks_good. eassumption. Qed.

Lemma store_tracks : forall {S A} (p : ptr S A) s a put b tr, tracks p s a put ->
  store p b s tr = Ok tt (put b) tr.
Proof. intros S A p s a put b tr (ld & st & -> & Hl & Hs & _ & _). cbn. rewrite Hs. reflexivity. Qed.

(** The laws of a record field's projection and setter, which every
    generated record satisfies (each by [destruct; reflexivity]). *)
Definition field_laws {A B} (get : A -> B) (set : B -> A -> A) : Prop :=
  (forall b x, get (set b x) = b) /\ (forall b c x, set c (set b x) = set c x).

Ltac field_laws := split; intros; match goal with x : _ |- _ => destruct x end; reflexivity.

Lemma pfield_tracks : forall {S A B} (p : ptr S A) (get : A -> B) set s a put tr,
  tracks p s a put -> field_laws get set ->
  exists q, pfield p get set s tr = Ok q s tr /\ tracks q s (get a) (fun b => put (set b a)).
Proof.
  intros S A B p get set s a put tr (ld & st & -> & Hl & Hs & Hp & Hpp) [Hgs Hss].
  eexists. split; [reflexivity|].
  do 2 eexists. split; [reflexivity|]. cbn.
  split; [rewrite Hl; reflexivity|].
  split; [intros b; rewrite Hl; apply Hs|].
  split; [intros b; rewrite Hp; cbn; rewrite Hgs; reflexivity|].
  intros b c. rewrite Hp, Hpp, Hss. reflexivity.
Qed.

Lemma replace_nth_length : forall {A} n (a : A) xs, length (replace_nth n a xs) = length xs.
Proof. induction n; intros a [|x xs]; cbn; auto. Qed.

Lemma nth_replace_nth : forall {A} n (a : A) xs, (n < length xs)%nat -> nth_error (replace_nth n a xs) n = Some a.
Proof. induction n; intros a [|x xs] H; cbn in *; try lia; auto. apply IHn. lia. Qed.

Lemma nth_replace_nth_other : forall {A} n m (a : A) xs, n <> m -> nth_error (replace_nth n a xs) m = nth_error xs m.
Proof. induction n; intros m a [|x xs] H; destruct m; cbn; auto; try lia. Qed.

Lemma nth_replace_nth_other' : forall {A} n m (a d : A) xs, n <> m -> nth m (replace_nth n a xs) d = nth m xs d.
Proof. induction n; intros m a d [|x xs] H; destruct m; cbn; auto; try lia. Qed.

Lemma nth_replace_nth_same : forall {A} n (a d : A) xs, (n < length xs)%nat -> nth n (replace_nth n a xs) d = a.
Proof. induction n; intros a d [|x xs] H; cbn in *; try lia; auto. apply IHn. lia. Qed.

Lemma replace_nth_twice : forall {A} n (a b : A) xs, replace_nth n b (replace_nth n a xs) = replace_nth n b xs.
Proof. induction n; intros a b [|x xs]; cbn; auto. f_equal. apply IHn. Qed.

Lemma replace_nth_same : forall {A} n (a : A) xs, nth_error xs n = Some a -> replace_nth n a xs = xs.
Proof. induction n; intros a [|x xs] H; cbn in *; try discriminate; [congruence|]. f_equal. auto. Qed.

Lemma pindex_tracks : forall {S A} (p : ptr S (list A)) s xs put i tr,
  tracks p s xs put -> 0 <= i < len xs ->
  exists q x, pindex p i s tr = Ok q s tr /\ nth_error xs (Z.to_nat i) = Some x /\
  tracks q s x (fun b => put (replace_nth (Z.to_nat i) b xs)).
Proof.
  intros S A p s xs put i tr Ht Hi. pose proof Ht as (ld & st & -> & Hl & Hs & Hp & Hpp).
  destruct (nth_error xs (Z.to_nat i)) as [x|] eqn:Hn.
  2:{ apply nth_error_None in Hn. unfold len in Hi. lia. }
  assert (Hlen : forall b, (len (replace_nth (Z.to_nat i) b xs) <=? i) = false).
  { intros b. unfold len. rewrite replace_nth_length. apply Z.leb_gt. unfold len in Hi. lia. }
  eexists _, x. split; [|split; [reflexivity|]].
  - unfold pindex, bind. rewrite (deref_tracks _ _ _ _ _ Ht).
    destruct ((i <? 0) || (len xs <=? i)) eqn:Hc.
    + apply orb_true_iff in Hc. rewrite Z.ltb_lt, Z.leb_le in Hc. lia.
    + reflexivity.
  - do 2 eexists. split; [reflexivity|]. cbv beta.
    split; [rewrite Hl; exact Hn|].
    split.
    { intros b. rewrite Hl. destruct (len xs <=? i) eqn:Hc; [apply Z.leb_le in Hc; lia|]. apply Hs. }
    split.
    { intros b. rewrite Hp. apply nth_replace_nth. unfold len in Hi. lia. }
    intros b c. rewrite Hp, Hlen, Hpp, replace_nth_twice. reflexivity.
Qed.

(** Distinct images of the elements a filter keeps, said of positions. *)
Lemma nodup_filter_pos : forall {A B} (f : A -> B) p (l : list A) d,
  NoDup (map f (filter p l)) <->
  forall j k, (j < length l)%nat -> (k < length l)%nat -> j <> k ->
    p (nth j l d) = true -> p (nth k l d) = true -> f (nth j l d) <> f (nth k l d).
Proof.
  intros A B f p l d. induction l as [|a r IH]; cbn [filter length].
  - split; [intros _ j k Hj; lia|intros _; constructor].
  - split.
    + intros Hd j k Hj Hk Hjk Pj Pk.
      assert (Hr : NoDup (map f (filter p r))) by (destruct (p a); [cbn in Hd; apply NoDup_cons_iff in Hd; exact (proj2 Hd)|exact Hd]).
      destruct j as [|j], k as [|k]; cbn [nth] in Pj, Pk |- *; [lia| | |].
      * rewrite Pj in Hd. cbn in Hd. apply NoDup_cons_iff in Hd as [Hn _]. intros E. apply Hn. rewrite E.
        apply in_map, filter_In. split; [apply nth_In; lia|exact Pk].
      * rewrite Pk in Hd. cbn in Hd. apply NoDup_cons_iff in Hd as [Hn _]. intros E. apply Hn. rewrite <- E.
        apply in_map, filter_In. split; [apply nth_In; lia|exact Pj].
      * apply (proj1 IH Hr j k); [lia|lia|lia|exact Pj|exact Pk].
    + intros H. assert (Hr : NoDup (map f (filter p r))).
      { apply IH. intros j k Hj Hk Hjk Pj Pk. exact (H (S j) (S k) ltac:(lia) ltac:(lia) ltac:(lia) Pj Pk). }
      destruct (p a) eqn:Pa; [|exact Hr]. cbn [map]. constructor; [|exact Hr].
      intros Hin. apply in_map_iff in Hin as (y & Ey & Hy). apply filter_In in Hy as [Hy Py].
      destruct (In_nth r y d Hy) as (k & Hk & Ek). subst y.
      exact (H 0%nat (S k) ltac:(lia) ltac:(lia) ltac:(lia) Pa Py (eq_sym Ey)).
Qed.
