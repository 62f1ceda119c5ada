(** * The table pool of the translated code: isFree and release

    Lemmas about proofs/code/Isolation.v, the translation of
    isolation/pool.go. Every stage-2 writer ends in the pool: a table it
    unhooks goes back with [release], which panics ("table released
    twice") if the table is already free. What [isFree] reads is one bit of
    the free bitmap ([free_bit]); [release] of a table in use never fails,
    sets its bit and no other, and keeps the tables and the pool's shape. *)
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

Lemma shl_bit : forall r, 0 <= r < 64 -> shl 64 false 1 r = 2 ^ r.
Proof.
  intros r Hr. unfold shl. destruct (Z.leb_spec 64 r); [lia|]. unfold wrapu.
  rewrite Z.shiftl_1_l. apply Z.mod_small. split; [lia|]. apply Z.pow_lt_mono_r; lia.
Qed.

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
  eexists. split; [reflexivity|].
  split; [split; cbn; [reflexivity|unfold free'; apply len_replace]|].
  split; [reflexivity|]. split; [reflexivity|].
  unfold free_bit; cbn. split.
  - unfold free'. rewrite shl_bit by lia. rewrite nth_replace by (unfold len in Hk; lia).
    rewrite testbit_lor_pow2 by lia. rewrite Z.eqb_refl, orb_true_r. reflexivity.
  - intros j Hj Hne. unfold free'. rewrite shl_bit by lia.
    destruct (Nat.eq_dec (Z.to_nat (j / 64)) (Z.to_nat (i / 64))) as [E|E].
    + rewrite E, nth_replace by (unfold len in Hk; lia). rewrite <- E.
      rewrite testbit_lor_pow2 by (try apply Z.mod_pos_bound; lia).
      rewrite <- (nth_error_nth _ _ 0 Hw) in *. rewrite E.
      pose proof (same_word i j ltac:(lia) Hj Hne E) as Hm.
      replace (i mod 64 =? j mod 64) with false by (symmetry; apply Z.eqb_neq; lia). apply orb_false_r.
    + rewrite nth_replace_other by (intros H; apply E; symmetry; exact H). reflexivity.
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
