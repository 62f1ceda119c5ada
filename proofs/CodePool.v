(** * The table pool of the translated code: isFree, release, the bitmap
      and the count

    Lemmas about proofs/code/Isolation.v, the translation of
    isolation/pool.go. Every stage-2 writer ends in the pool: a table it
    unhooks goes back with [release], which panics ("table released
    twice") if the table is already free. What [isFree] reads is one bit of
    the free bitmap ([free_bit]); [release] of a table in use never fails
    and leaves [release_pool] ([release_exact]): its bit set and no other,
    one more free table, the tables and the pool's shape kept
    ([release_ok]). [alloc] finds a free table when the bitmap is sound
    ([bits_ok]: 64-bit words, each set bit naming a table of the pool);
    [nfree] counts the free tables ([count_ok]); [release_pool] of a table
    in use keeps both ([release_pool_counted]). *)
From Coq Require Import ZArith Lia List Bool String.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodePlace CodeTrack CodeLens CodeLoop CodeVCPU CodeVMCreate CodeShadow.
Import ListNotations.
Open Scope Z_scope.

(** Table [i] is free: bit [i mod 64] of word [i / 64] of the bitmap. *)
Definition free_bit (p : Isolation.tablePool) (i : Z) : bool :=
  Z.testbit (nth (Z.to_nat (i / 64)) (Isolation.tablePool_free p) 0) (i mod 64).

Definition ntables (p : Isolation.tablePool) : Z := len (Isolation.Pool_Tables (Isolation.tablePool_Pool p)).

(** ** Bits *)

Lemma land_pow2_zero : forall w r, 0 <= r -> (Z.land w (2 ^ r) =? 0) = negb (Z.testbit w r).
Proof.
  intros w r Hr. destruct (Z.testbit w r) eqn:Hb; cbn [negb].
  - apply Z.eqb_neq. intros H. assert (Z.testbit (Z.land w (2 ^ r)) r = false) by (rewrite H; apply Z.bits_0).
    rewrite Z.land_spec, Hb, Z.pow2_bits_true in H0 by lia. discriminate.
  - apply Z.eqb_eq. apply Z.bits_inj'. intros n Hn. rewrite Z.land_spec, Z.bits_0, Z.pow2_bits_eqb by lia.
    destruct (Z.eqb_spec r n) as [<-|]; [rewrite Hb; reflexivity|apply andb_false_r].
Qed.

Lemma testbit_lor_pow2 : forall w r k, 0 <= r -> 0 <= k ->
  Z.testbit (Z.lor w (2 ^ r)) k = Z.testbit w k || (r =? k).
Proof. intros w r k Hr Hk. rewrite Z.lor_spec, Z.pow2_bits_eqb by lia. reflexivity. Qed.

Lemma nth_replace_other : forall {A} n m (a d : A) xs, n <> m -> nth m (replace_nth n a xs) d = nth m xs d.
Proof. induction n; intros m a d [|x xs] H; destruct m; cbn; auto; try lia. Qed.

(** Two tables in the same word of the bitmap are the same table, or have
    different bits. *)
Lemma same_word : forall i j, 0 <= i -> 0 <= j -> j <> i -> Z.to_nat (j / 64) = Z.to_nat (i / 64) -> j mod 64 <> i mod 64.
Proof.
  intros i j Hi Hj Hne Hw Hm. apply Z2Nat.inj in Hw; [|apply Z.div_pos; lia|apply Z.div_pos; lia].
  pose proof (Z.div_mod i 64 ltac:(lia)). pose proof (Z.div_mod j 64 ltac:(lia)). lia.
Qed.

(** ** isFree *)

Lemma word_in : forall (p : Isolation.tablePool) i, pool_ok p -> 0 <= i < ntables p ->
  0 <= i / 64 < len (Isolation.tablePool_free p).
Proof.
  intros p i [Hf _] Hi. unfold ntables in Hi. split; [apply Z.div_pos; lia|apply Z.div_lt_upper_bound; lia].
Qed.

(** isFree of a table of the pool never fails and reads its bit. *)
Theorem isFree_spec : forall pp s i tr, pool_lens pp -> pool_ok (Isolation.Engine_pool s) ->
  0 <= i < ntables (Isolation.Engine_pool s) ->
  Isolation.tablePool_isFree pp i s tr = Ok (free_bit (Isolation.Engine_pool s) i) s tr.
Proof.
  intros pp s i tr Hpp Hok Hi. pose proof Hok as [_ Hsmall]. unfold ntables in Hi.
  pose proof (word_in _ i Hok Hi) as Hk.
  unfold Isolation.tablePool_isFree.
  step_by (deref_lens _ _ _ _ s tr Hpp I).
  step_by (divs64 s tr i). rewrite quot64 by lia.
  destruct (nth_error (Isolation.tablePool_free (Isolation.Engine_pool s)) (Z.to_nat (i / 64))) as [w|] eqn:Hw.
  2:{ apply nth_error_None in Hw. unfold len in Hk. lia. }
  step_by (idx_nth _ (i / 64) w s tr ltac:(apply Z.div_pos; lia) Hw). step_by (mods64 s tr i).
  rewrite Z.rem_mod_nonneg by lia.
  step_by (shcount_ok s tr (i mod 64) ltac:(apply Z.mod_pos_bound; lia)).
  rewrite shl_bit by (apply Z.mod_pos_bound; lia). rewrite land_pow2_zero by (apply Z.mod_pos_bound; lia).
  rewrite negb_involutive. unfold free_bit. rewrite (nth_error_nth _ _ _ Hw). reflexivity.
Qed.

(** ** release *)

(** release of a free table is the failure "table released twice". *)
Theorem release_twice : forall pp s i tr, pool_lens pp -> pool_ok (Isolation.Engine_pool s) ->
  0 <= i < ntables (Isolation.Engine_pool s) -> free_bit (Isolation.Engine_pool s) i = true ->
  Isolation.tablePool_release pp i s tr = Fail (Panic "isolation: table released twice"%string).
Proof.
  intros pp s i tr Hpp Hok Hi Hb. unfold Isolation.tablePool_release.
  step_by (isFree_spec pp s i tr Hpp Hok Hi). rewrite Hb. reflexivity.
Qed.

(** The pool [release] of table [i] leaves (isolation/pool.go): bit
    [i mod 64] of word [i / 64] set and one free table more. *)
Definition release_pool (p : Isolation.tablePool) (i : Z) : Isolation.tablePool :=
  let free := Isolation.tablePool_free p in
  Isolation.mk_tablePool (Isolation.tablePool_Pool p)
    (replace_nth (Z.to_nat (i / 64)) (Z.lor (nth (Z.to_nat (i / 64)) free 0) (2 ^ (i mod 64))) free)
    (wraps 64 (Isolation.tablePool_nfree p + 1)) (Isolation.tablePool_allocs p).

(** release of a table in use never fails and leaves [release_pool]. *)
Lemma release_exact : forall pp s i tr, pool_lens pp -> pool_ok (Isolation.Engine_pool s) ->
  0 <= i < ntables (Isolation.Engine_pool s) -> free_bit (Isolation.Engine_pool s) i = false ->
  Isolation.tablePool_release pp i s tr = Ok tt (Isolation.set_Engine_pool (release_pool (Isolation.Engine_pool s) i) s) tr.
Proof.
  intros pp s i tr Hpp Hok Hi Hb. pose proof Hok as [_ Hsmall]. unfold ntables in Hi.
  pose proof (word_in _ i Hok Hi) as Hk.
  unfold Isolation.tablePool_release.
  step_by (isFree_spec pp s i tr Hpp Hok Hi). rewrite Hb.
  destruct s as [cfg plat [P free nfree allocs] pages host vms marks].
  cbn [Isolation.Engine_pool Isolation.tablePool_Pool Isolation.tablePool_free Isolation.tablePool_nfree] in *.
  set (s := Isolation.mk_Engine cfg plat (Isolation.mk_tablePool P free nfree allocs) pages host vms marks).
  assert (Hr : 0 <= i mod 64 < 64) by (apply Z.mod_pos_bound; lia).
  destruct (nth_error free (Z.to_nat (i / 64))) as [w|] eqn:Hw.
  2:{ apply nth_error_None in Hw. unfold len in Hk. lia. }
  destruct (pfield_lens pp _ _ _ Isolation.tablePool_free Isolation.set_tablePool_free Hpp ltac:(field_laws)) as (qf & Hqf & Lf).
  destruct (pindex_lens qf _ _ _ (i / 64) 0 Lf) as (qfi & Hqfi & Lfi).
  destruct (pfield_lens pp _ _ _ Isolation.tablePool_nfree Isolation.set_tablePool_nfree Hpp ltac:(field_laws)) as (qn & Hqn & Ln).
  step_by (mods64 s tr i). rewrite Z.rem_mod_nonneg by lia.
  step_by (shcount_ok s tr (i mod 64) ltac:(lia)).
  step_by (deref_lens _ _ _ _ s tr Hpp I).
  step_by (divs64 s tr i). rewrite quot64 by lia.
  step_by (idx_nth _ (i / 64) w s tr ltac:(apply Z.div_pos; lia) Hw).
  step_by (Hqf s tr).
  step_by (divs64 s tr i). rewrite quot64 by lia.
  step_by (Hqfi s tr I ltac:(cbn; lia)).
  step_by (store_lens _ _ _ _ s (Z.lor w (shl 64 false 1 (i mod 64))) tr Lfi ltac:(cbn; lia)).
  cbn.
  set (free' := replace_nth (Z.to_nat (i / 64)) (Z.lor w (shl 64 false 1 (i mod 64))) free).
  set (s1 := Isolation.mk_Engine cfg plat (Isolation.mk_tablePool P free' nfree allocs) pages host vms marks).
  step_by (deref_lens _ _ _ _ s1 tr Hpp I).
  step_by (Hqn s1 tr).
  step_by (store_lens _ _ _ _ s1 (wraps 64 (nfree + 1)) tr Ln I). cbn.
  unfold release_pool, free'. cbn. rewrite shl_bit, (nth_error_nth _ _ 0 Hw) by lia. reflexivity.
Qed.

(** [release_pool] sets the table's bit and no other, counts one more
    free table, and keeps the tables, the base and the shape of the
    pool. *)
Lemma release_pool_spec : forall p i, pool_ok p -> 0 <= i < ntables p ->
  same_shape p (release_pool p i) /\
  Isolation.tablePool_Pool (release_pool p i) = Isolation.tablePool_Pool p /\
  Isolation.tablePool_nfree (release_pool p i) = wraps 64 (Isolation.tablePool_nfree p + 1) /\
  free_bit (release_pool p i) i = true /\
  (forall j, 0 <= j -> j <> i -> free_bit (release_pool p i) j = free_bit p j).
Proof.
  intros p i Hok Hi. pose proof (word_in _ i Hok Hi) as Hk.
  destruct p as [P free nfree allocs]. unfold ntables in Hi. cbn in Hk, Hi.
  assert (Hr : 0 <= i mod 64 < 64) by (apply Z.mod_pos_bound; lia).
  unfold release_pool. cbn.
  split; [split; cbn; [reflexivity|apply len_replace]|].
  split; [reflexivity|]. split; [reflexivity|].
  unfold free_bit; cbn. split.
  - rewrite nth_replace by (unfold len in Hk; lia).
    rewrite testbit_lor_pow2 by lia. rewrite Z.eqb_refl, orb_true_r. reflexivity.
  - intros j Hj Hne.
    destruct (Nat.eq_dec (Z.to_nat (j / 64)) (Z.to_nat (i / 64))) as [E|E].
    + rewrite E, nth_replace by (unfold len in Hk; lia).
      rewrite testbit_lor_pow2 by (try apply Z.mod_pos_bound; lia).
      pose proof (same_word i j ltac:(lia) Hj Hne E) as Hm.
      replace (i mod 64 =? j mod 64) with false by (symmetry; apply Z.eqb_neq; lia). apply orb_false_r.
    + rewrite nth_replace_other by (intros H; apply E; symmetry; exact H). reflexivity.
Qed.

(** release of a table in use never fails: it sets the table's bit and
    no other, counts one more free table, and keeps the tables, the base
    and the shape of the pool. *)
Theorem release_ok : forall pp s i tr, pool_lens pp -> pool_ok (Isolation.Engine_pool s) ->
  0 <= i < ntables (Isolation.Engine_pool s) -> free_bit (Isolation.Engine_pool s) i = false ->
  exists q, Isolation.tablePool_release pp i s tr = Ok tt (Isolation.set_Engine_pool q s) tr /\
    same_shape (Isolation.Engine_pool s) q /\
    Isolation.tablePool_Pool q = Isolation.tablePool_Pool (Isolation.Engine_pool s) /\
    Isolation.tablePool_nfree q = wraps 64 (Isolation.tablePool_nfree (Isolation.Engine_pool s) + 1) /\
    free_bit q i = true /\
    (forall j, 0 <= j -> j <> i -> free_bit q j = free_bit (Isolation.Engine_pool s) j).
Proof.
  intros pp s i tr Hpp Hok Hi Hb. rewrite (release_exact pp s i tr Hpp Hok Hi Hb).
  eexists. split; [reflexivity|]. apply release_pool_spec; assumption.
Qed.

(** ** alloc and mustAlloc *)

(** The bitmap marks only tables of the pool, its words are 64-bit, and
    it is small enough for its index arithmetic never to wrap. *)
Definition bits_ok (p : Isolation.tablePool) : Prop :=
  Forall (fun w => 0 <= w < 2 ^ 64) (Isolation.tablePool_free p) /\
  64 * len (Isolation.tablePool_free p) < 2 ^ 62 /\
  forall i, 0 <= i -> free_bit p i = true -> i < ntables p.

(** Some table is free. *)
Definition some_free (p : Isolation.tablePool) : Prop :=
  exists w, 0 <= w < len (Isolation.tablePool_free p) /\ nth (Z.to_nat w) (Isolation.tablePool_free p) 0 <> 0.

(** The table alloc picks in a non-zero word [x] at [w]: its highest set bit. *)
Lemma alloc_index : forall w x, 0 <= w -> 64 * w < 2 ^ 62 -> 0 < x < 2 ^ 64 ->
  wraps 64 (wraps 64 (wraps 64 (w * 64) + 63) - (if x <=? 0 then 64 else 63 - Z.log2 x)) = w * 64 + Z.log2 x /\
  (w * 64 + Z.log2 x) / 64 = w /\ (w * 64 + Z.log2 x) mod 64 = Z.log2 x /\ 0 <= Z.log2 x < 64.
Proof.
  intros w x Hw Hs Hx.
  assert (Hl : 0 <= Z.log2 x < 64).
  { split; [apply Z.log2_nonneg|]. apply Z.log2_lt_pow2; lia. }
  destruct (Z.leb_spec x 0); [lia|].
  rewrite (wraps_small (w * 64)) by lia. rewrite (wraps_small (w * 64 + 63)) by lia. rewrite wraps_small by lia.
  split; [lia|]. split.
  - rewrite Z.div_add_l by lia. rewrite Z.div_small by lia. lia.
  - rewrite Z.add_comm, Z.mod_add by lia. rewrite Z.mod_small by lia. lia.
Qed.

(** alloc never fails on a pool whose bitmap is [bits_ok]: it returns -1
    and changes nothing when no table is free, or takes a free table of
    the pool. *)
Theorem alloc_ok : forall pp s tr, pool_lens pp -> pool_ok (Isolation.Engine_pool s) -> bits_ok (Isolation.Engine_pool s) ->
  exists i s', Isolation.tablePool_alloc pp s tr = Ok i s' tr /\
    ((i = -1 /\ s' = s /\ ~ some_free (Isolation.Engine_pool s)) \/
     (0 <= i < ntables (Isolation.Engine_pool s) /\ free_bit (Isolation.Engine_pool s) i = true /\
      exists q, s' = Isolation.set_Engine_pool q s /\ same_shape (Isolation.Engine_pool s) q)).
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
           exists q, st = Isolation.set_Engine_pool q s /\ same_shape (Isolation.Engine_pool s) q end)
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
      destruct (alloc_index w x Hc ltac:(unfold len in *; lia) ltac:(lia)) as (Hi & Hdiv & Hmod & Hlog).
      rewrite Hi.
      assert (Hbit : free_bit (Isolation.Engine_pool s) (w * 64 + Z.log2 x) = true).
      { unfold free_bit. rewrite Hdiv, Hmod. fold free. rewrite (nth_error_nth _ _ 0 Hx). apply Z.bit_log2. lia. }
      assert (Hlt : w * 64 + Z.log2 x < ntables (Isolation.Engine_pool s)) by (apply Hin; [lia|exact Hbit]).
      destruct (take_ok pp s (w * 64 + Z.log2 x) tr Hpp Hok ltac:(unfold ntables in Hlt; lia)) as (q & Ht & Hsh).
      step_by Ht. eexists _, _, _. split; [reflexivity|]. split; [reflexivity|].
      split; [lia|]. split; [exact Hbit|]. exists q. split; [reflexivity|exact Hsh].
  - split; [reflexivity|]. split; [reflexivity|]. split; [lia|]. intros w' Hw'. lia.
  - rewrite max_fuel_nat. unfold max_fuel. lia.
  - step_by Hj. destruct j as [w|i].
    + destruct Hq as [-> Hnf]. eexists _, _. split; [reflexivity|]. left. split; [reflexivity|]. split; [reflexivity|exact Hnf].
    + eexists _, _. split; [reflexivity|]. right. exact Hq.
Qed.

(** mustAlloc ("table pool exhausted inside a commit" if alloc finds
    none) never fails when some table is free: it takes a free table of
    the pool. *)
Theorem mustAlloc_ok : forall s tr, pool_ok (Isolation.Engine_pool s) -> bits_ok (Isolation.Engine_pool s) ->
  some_free (Isolation.Engine_pool s) ->
  exists i q, Isolation.Engine_mustAlloc root s tr = Ok i (Isolation.set_Engine_pool q s) tr /\
    0 <= i < ntables (Isolation.Engine_pool s) /\ free_bit (Isolation.Engine_pool s) i = true /\
    same_shape (Isolation.Engine_pool s) q.
Proof.
  intros s tr Hok Hbits Hsome.
  destruct (pfield_lens root _ _ _ Isolation.Engine_pool Isolation.set_Engine_pool lens_root ltac:(field_laws))
    as (qp & Hqp & Lp).
  destruct (alloc_ok qp s tr Lp Hok Hbits) as (i & s' & Ha & [(-> & -> & Hn) | (Hi & Hb & q & -> & Hsh)]).
  - contradiction.
  - unfold Isolation.Engine_mustAlloc. step_by (Hqp s tr). step_by Ha.
    destruct (Z.ltb_spec i 0); [lia|].
    eexists _, _. split; [reflexivity|]. split; [exact Hi|]. split; [exact Hb|exact Hsh].
Qed.

(** ** The count of free tables *)

(** The free tables of the pool, counted from its bitmap. *)
Definition count_free (p : Isolation.tablePool) : Z :=
  Z.of_nat (List.length (filter (fun n => free_bit p (Z.of_nat n)) (seq 0 (Z.to_nat (ntables p))))).

(** [nfree] counts the free tables. *)
Definition count_ok (p : Isolation.tablePool) : Prop := Isolation.tablePool_nfree p = count_free p.

Lemma testbit_andnot_pow2 : forall w r k, 0 <= r -> 0 <= k ->
  Z.testbit (andnot w (2 ^ r)) k = Z.testbit w k && negb (r =? k).
Proof. intros w r k Hr Hk. unfold andnot. rewrite Z.land_spec, Z.lnot_spec, Z.pow2_bits_eqb by lia. reflexivity. Qed.

(** Flipping one bit changes the count by one. *)
Lemma filter_flip : forall (f g : nat -> bool) n l, NoDup l -> In n l -> (forall m, In m l -> m <> n -> g m = f m) ->
  Z.of_nat (List.length (filter g l)) = Z.of_nat (List.length (filter f l)) + (Z.b2z (g n) - Z.b2z (f n)).
Proof.
  intros f g n l Hnd Hin Hag. induction l as [|a l IH]; [destruct Hin|].
  inversion Hnd as [|? ? Ha Hnd']; subst. cbn [filter].
  destruct (Nat.eq_dec a n) as [->|Hne].
  - rewrite (filter_ext_in g f l) by (intros m Hm; apply Hag; [right; exact Hm|intros ->; contradiction]).
    destruct (g n), (f n); cbn [List.length Z.b2z]; lia.
  - destruct Hin as [->|Hin]; [contradiction|].
    rewrite (Hag a ltac:(left; reflexivity) Hne).
    specialize (IH Hnd' Hin ltac:(intros m Hm; apply Hag; right; exact Hm)).
    destruct (f a); cbn [List.length]; lia.
Qed.

Lemma count_flip : forall p q i, ntables q = ntables p -> 0 <= i < ntables p ->
  (forall j, 0 <= j -> j <> i -> free_bit q j = free_bit p j) ->
  count_free q = count_free p + (Z.b2z (free_bit q i) - Z.b2z (free_bit p i)).
Proof.
  intros p q i En Hi Hag. unfold count_free. rewrite En.
  pose proof (filter_flip (fun n => free_bit p (Z.of_nat n)) (fun n => free_bit q (Z.of_nat n)) (Z.to_nat i)
    (seq 0 (Z.to_nat (ntables p))) (seq_NoDup _ _) ltac:(apply in_seq; lia)
    ltac:(intros m Hm Hne; apply in_seq in Hm; apply Hag; lia)) as H.
  cbv beta in H. rewrite Z2Nat.id in H by lia. exact H.
Qed.

Lemma filter_len : forall {A} (f : A -> bool) l, (List.length (filter f l) <= List.length l)%nat.
Proof. intros A f l. induction l as [|a l IH]; cbn; [lia|]. destruct (f a); cbn; lia. Qed.

Lemma count_bound : forall p, 0 <= count_free p <= ntables p.
Proof.
  intros p. unfold count_free. split; [lia|].
  pose proof (filter_len (fun n => free_bit p (Z.of_nat n)) (seq 0 (Z.to_nat (ntables p)))) as H.
  rewrite seq_length in H. unfold ntables, len in *. lia.
Qed.

(** release of a table in use keeps [nfree] the count of free tables. *)
Theorem release_count : forall p q i, pool_ok p -> count_ok p -> 0 <= i < ntables p -> free_bit p i = false ->
  same_shape p q -> Isolation.tablePool_nfree q = wraps 64 (Isolation.tablePool_nfree p + 1) ->
  free_bit q i = true -> (forall j, 0 <= j -> j <> i -> free_bit q j = free_bit p j) ->
  count_ok q /\ count_free q = count_free p + 1.
Proof.
  intros p q i [_ Hsmall] Hc Hi Hb [Esh _] Hn Hbq Hag.
  assert (E : count_free q = count_free p + 1).
  { rewrite (count_flip p q i) by (unfold ntables; auto). rewrite Hb, Hbq. reflexivity. }
  split; [|exact E]. unfold count_ok in *. rewrite Hn, Hc, E.
  pose proof (count_bound p). apply wraps_small. unfold ntables in *. lia.
Qed.

(** A pool whose count of free tables is positive has a free table, so
    [mustAlloc] takes one ([mustAlloc_spec]). *)
Theorem count_some_free : forall p, pool_ok p -> 0 < count_free p -> some_free p.
Proof.
  intros p [Hf _] Hpos. unfold count_free in Hpos.
  destruct (filter (fun n => free_bit p (Z.of_nat n)) (seq 0 (Z.to_nat (ntables p)))) as [|n l] eqn:E; [cbn in Hpos; lia|].
  assert (Hn : In n (filter (fun n => free_bit p (Z.of_nat n)) (seq 0 (Z.to_nat (ntables p))))) by (rewrite E; left; reflexivity).
  apply filter_In in Hn as [Hs Hb]. apply in_seq in Hs.
  exists (Z.of_nat n / 64). split; [split; [apply Z.div_pos; lia|apply Z.div_lt_upper_bound; unfold ntables in Hs; lia]|].
  intros H0. unfold free_bit in Hb. rewrite H0, Z.bits_0 in Hb. discriminate.
Qed.

(** ** Words of the bitmap *)

(** A number whose bits from 64 up are clear is a 64-bit word. *)
Lemma word_of_bits : forall x, (forall k, 64 <= k -> Z.testbit x k = false) -> 0 <= x < 2 ^ 64.
Proof.
  intros x H. assert (E : x = x mod 2 ^ 64).
  { apply Z.bits_inj'. intros n Hn. destruct (Z.ltb_spec n 64).
    - rewrite Z.mod_pow2_bits_low by lia. reflexivity.
    - rewrite Z.mod_pow2_bits_high by lia. apply H. lia. }
  rewrite E. apply Z.mod_pos_bound. lia.
Qed.

Lemma word_high : forall w k, 0 <= w < 2 ^ 64 -> 64 <= k -> Z.testbit w k = false.
Proof.
  intros w k Hw Hk. rewrite <- (Z.mod_small w (2 ^ 64)) by lia. apply Z.mod_pow2_bits_high. lia.
Qed.

Lemma word_lor : forall w r, 0 <= w < 2 ^ 64 -> 0 <= r < 64 -> 0 <= Z.lor w (2 ^ r) < 2 ^ 64.
Proof.
  intros w r Hw Hr. apply word_of_bits. intros k Hk. rewrite testbit_lor_pow2 by lia.
  rewrite word_high by lia. apply Z.eqb_neq. lia.
Qed.

Lemma word_andnot : forall w r, 0 <= w < 2 ^ 64 -> 0 <= r < 64 -> 0 <= andnot w (2 ^ r) < 2 ^ 64.
Proof.
  intros w r Hw Hr. apply word_of_bits. intros k Hk. rewrite testbit_andnot_pow2 by lia.
  rewrite word_high by lia. reflexivity.
Qed.

Lemma Forall_nth_Z : forall (P : Z -> Prop) xs n, Forall P xs -> P 0 -> P (nth n xs 0).
Proof.
  intros P xs n H H0. destruct (Nat.lt_ge_cases n (List.length xs)).
  - rewrite Forall_forall in H. apply H. apply nth_In. exact H1.
  - rewrite nth_overflow by exact H1. exact H0.
Qed.

(** One word of the bitmap written with one bit changed, and that bit
    naming a table of the pool: the bitmap stays [bits_ok]. *)
Lemma bits_ok_word : forall p q i w', bits_ok p -> 0 <= i < ntables p -> ntables q = ntables p ->
  Isolation.tablePool_free q = replace_nth (Z.to_nat (i / 64)) w' (Isolation.tablePool_free p) ->
  0 <= w' < 2 ^ 64 ->
  (forall j, 0 <= j -> j <> i -> free_bit q j = free_bit p j) ->
  bits_ok q.
Proof.
  intros p q i w' (Hw & Hs & Hin) Hi En Hq Hw' Hag. unfold bits_ok. rewrite Hq, len_replace.
  split; [apply Forall_replace; assumption|]. split; [exact Hs|].
  intros j Hj Hb. rewrite En. destruct (Z.eq_dec j i) as [->|Hne]; [lia|].
  apply Hin; [exact Hj|]. rewrite <- (Hag j Hj Hne). exact Hb.
Qed.

(** ** A sound, counted pool *)

(** [release_pool] of a table of the pool keeps the bitmap [bits_ok]. *)
Lemma release_pool_bits : forall p i, pool_ok p -> bits_ok p -> 0 <= i < ntables p -> bits_ok (release_pool p i).
Proof.
  intros p i Hok Hbits Hi.
  destruct (release_pool_spec p i Hok Hi) as ([Esh _] & _ & _ & _ & Hag).
  apply (bits_ok_word p _ i _ Hbits Hi Esh eq_refl); [|exact Hag].
  apply word_lor; [|apply Z.mod_pos_bound; lia].
  apply Forall_nth_Z; [apply Hbits|lia].
Qed.

(** The pool's bitmap is sound and [nfree] counts its free tables. *)
Definition pool_counted (p : Isolation.tablePool) : Prop := bits_ok p /\ count_ok p.

(** [release_pool] of a table in use keeps the pool [pool_counted]. *)
Lemma release_pool_counted : forall p i, pool_ok p -> pool_counted p -> 0 <= i < ntables p ->
  free_bit p i = false -> pool_counted (release_pool p i).
Proof.
  intros p i Hok [Hbits Hc] Hi Hb.
  destruct (release_pool_spec p i Hok Hi) as (Hsh & _ & Hn & Hbi & Hag).
  split; [exact (release_pool_bits p i Hok Hbits Hi)|].
  exact (proj1 (release_count p _ i Hok Hc Hi Hb Hsh Hn Hbi Hag)).
Qed.
