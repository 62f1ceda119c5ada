(** * The stage-2 update at level 2: the free bitmap

    Lemmas about proofs/code/Isolation.v, the translation of
    isolation/pool.go and isolation/stage2.go, that carry on from
    CodeUpdate.v.

    The free bitmap is [bits_ok] (CodePool) when its words are 64-bit, it
    is small and a set bit names a table of the pool. [alloc] needs it.
    Proved here:
    - [release] of a table in use writes into the table's word that word
      with the table's bit set ([release_word]), so it keeps [bits_ok]
      ([release_bits]);
    - [take] writes into the table's word that word with the table's bit
      cleared ([take_word]); [alloc] and [mustAlloc] take a table that way
      ([mustAlloc_word]), so [mustAlloc] keeps [bits_ok]
      ([mustAlloc_bits]). *)
From Coq Require Import ZArith Lia List Bool String.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodePlace CodeTrack CodeLens CodeLoop CodeLedger CodeVCPU CodeVMCreate
  CodeStage2 CodeShadow CodePool CodeFree CodeUpdate.
Import ListNotations.
Open Scope Z_scope.

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

Lemma Forall_replace : forall {A} (P : A -> Prop) n a xs, Forall P xs -> P a -> Forall P (replace_nth n a xs).
Proof.
  intros A P n. induction n as [|n IH]; intros a [|x xs] H Ha; cbn; auto.
  - inversion H; subst. constructor; assumption.
  - inversion H; subst. constructor; [assumption|apply IH; assumption].
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

(** ** release *)

Lemma pool_of_set : forall q1 q2 (s : Isolation.Engine), Isolation.set_Engine_pool q1 s = Isolation.set_Engine_pool q2 s -> q1 = q2.
Proof. intros q1 q2 s H. apply (f_equal Isolation.Engine_pool) in H. rewrite !get_set_pool in H. exact H. Qed.

(** release of a table [i] in use writes into word [i / 64] of the bitmap
    that word with bit [i mod 64] set. *)
Lemma release_word : forall pp s i tr, pool_lens pp -> pool_ok (Isolation.Engine_pool s) ->
  0 <= i < ntables (Isolation.Engine_pool s) -> free_bit (Isolation.Engine_pool s) i = false ->
  exists q, Isolation.tablePool_release pp i s tr = Ok tt (Isolation.set_Engine_pool q s) tr /\
    Isolation.tablePool_free q = replace_nth (Z.to_nat (i / 64))
      (Z.lor (nth (Z.to_nat (i / 64)) (Isolation.tablePool_free (Isolation.Engine_pool s)) 0) (2 ^ (i mod 64)))
      (Isolation.tablePool_free (Isolation.Engine_pool s)).
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
  eexists. split; [reflexivity|]. cbn. unfold free'. rewrite shl_bit by lia.
  rewrite (nth_error_nth _ _ 0 Hw). reflexivity.
Qed.

(** release of a table in use keeps the bitmap [bits_ok]. *)
Theorem release_bits : forall pp s i tr, pool_lens pp -> pool_ok (Isolation.Engine_pool s) ->
  bits_ok (Isolation.Engine_pool s) ->
  0 <= i < ntables (Isolation.Engine_pool s) -> free_bit (Isolation.Engine_pool s) i = false ->
  exists q, Isolation.tablePool_release pp i s tr = Ok tt (Isolation.set_Engine_pool q s) tr /\
    Isolation.tablePool_free q = replace_nth (Z.to_nat (i / 64))
      (Z.lor (nth (Z.to_nat (i / 64)) (Isolation.tablePool_free (Isolation.Engine_pool s)) 0) (2 ^ (i mod 64)))
      (Isolation.tablePool_free (Isolation.Engine_pool s)) /\
    bits_ok q.
Proof.
  intros pp s i tr Hpp Hok Hbits Hi Hb.
  destruct (release_word pp s i tr Hpp Hok Hi Hb) as (q & Hr & Hw).
  destruct (release_ok pp s i tr Hpp Hok Hi Hb) as (q' & Hr' & [Esh _] & _ & _ & _ & Hag).
  rewrite Hr in Hr'. injection Hr' as Hr'. subst q'.
  exists q. split; [exact Hr|]. split; [exact Hw|].
  apply (bits_ok_word _ _ i _ Hbits Hi Esh Hw); [|exact Hag].
  apply word_lor; [|apply Z.mod_pos_bound; lia].
  apply Forall_nth_Z; [apply Hbits|lia].
Qed.

(** ** take, alloc and mustAlloc *)

(** take of table [i] writes into word [i / 64] of the bitmap that word
    with bit [i mod 64] cleared. *)
Lemma take_word : forall pp s i tr, pool_lens pp -> pool_ok (Isolation.Engine_pool s) ->
  0 <= i < ntables (Isolation.Engine_pool s) ->
  exists q, Isolation.tablePool_take pp i s tr = Ok tt (Isolation.set_Engine_pool q s) tr /\
    Isolation.tablePool_free q = replace_nth (Z.to_nat (i / 64))
      (andnot (nth (Z.to_nat (i / 64)) (Isolation.tablePool_free (Isolation.Engine_pool s)) 0) (2 ^ (i mod 64)))
      (Isolation.tablePool_free (Isolation.Engine_pool s)).
Proof.
  intros pp s i tr Hpp Hok Hi. pose proof (word_in _ i Hok Hi) as Hk.
  destruct s as [cfg plat [[T base] free nfree allocs] pages host vms marks].
  unfold pool_ok, ntables in *. cbn [Isolation.Engine_pool Isolation.tablePool_Pool Isolation.Pool_Tables Isolation.tablePool_free] in *.
  destruct Hok as [Hf Hsmall].
  destruct (pfield_lens pp _ _ _ Isolation.tablePool_free Isolation.set_tablePool_free Hpp ltac:(field_laws)) as (qf & Hqf & Lf).
  destruct (pindex_lens qf _ _ _ (i / 64) 0 Lf) as (qfi & Hqfi & Lfi).
  destruct (pfield_lens pp _ _ _ Isolation.tablePool_nfree Isolation.set_tablePool_nfree Hpp ltac:(field_laws)) as (qn & Hqn & Ln).
  destruct (pfield_lens pp _ _ _ Isolation.tablePool_allocs Isolation.set_tablePool_allocs Hpp ltac:(field_laws)) as (qa & Hqa & La).
  destruct (pfield_lens pp _ _ _ Isolation.tablePool_Pool Isolation.set_tablePool_Pool Hpp ltac:(field_laws)) as (qP & HqP & LP).
  destruct (pfield_lens qP _ _ _ Isolation.Pool_Tables Isolation.set_Pool_Tables LP ltac:(field_laws)) as (qT & HqT & LT).
  destruct (pindex_lens qT _ _ _ i (repeat 0 512) LT) as (qTi & HqTi & LTi).
  assert (Hr : 0 <= i mod 64 < 64) by (apply Z.mod_pos_bound; lia).
  destruct (nth_error free (Z.to_nat (i / 64))) as [w|] eqn:Hw.
  2:{ apply nth_error_None in Hw. unfold len in Hk. lia. }
  unfold Isolation.tablePool_take.
  step_by (mods64 (Isolation.mk_Engine cfg plat (Isolation.mk_tablePool (Isolation.mk_Pool T base) free nfree allocs) pages host vms marks) tr i).
  rewrite Z.rem_mod_nonneg by lia. step_by (shcount_ok (S:=Isolation.Engine) (Isolation.mk_Engine cfg plat (Isolation.mk_tablePool (Isolation.mk_Pool T base) free nfree allocs) pages host vms marks) tr (i mod 64) ltac:(lia)).
  unfold bind at 1; rewrite (deref_lens _ _ _ _ _ tr Hpp I); cbv beta iota zeta.
  step_by (divs64 (Isolation.mk_Engine cfg plat (Isolation.mk_tablePool (Isolation.mk_Pool T base) free nfree allocs) pages host vms marks) tr i). rewrite quot64 by lia.
  cbn [Isolation.Engine_pool Isolation.tablePool_free].
  step_by (idx_nth free (i / 64) w (Isolation.mk_Engine cfg plat (Isolation.mk_tablePool (Isolation.mk_Pool T base) free nfree allocs) pages host vms marks) tr ltac:(apply Z.div_pos; lia) Hw).
  unfold bind at 1; rewrite Hqf; cbv beta iota zeta.
  step_by (divs64 (Isolation.mk_Engine cfg plat (Isolation.mk_tablePool (Isolation.mk_Pool T base) free nfree allocs) pages host vms marks) tr i). rewrite quot64 by lia.
  unfold bind at 1; rewrite Hqfi by (cbn; lia); cbv beta iota zeta.
  unfold bind at 1; rewrite (store_lens _ _ _ _ _ (andnot w (shl 64 false 1 (i mod 64))) tr Lfi) by (cbn; lia); cbv beta iota zeta. cbn.
  unfold bind at 1; rewrite (deref_lens _ _ _ _ _ tr Hpp I); cbv beta iota zeta. unfold bind at 1; rewrite Hqn; cbv beta iota zeta. unfold bind at 1; rewrite (store_lens _ _ _ _ _ _ tr Ln I); cbv beta iota zeta. cbn.
  unfold bind at 1; rewrite (deref_lens _ _ _ _ _ tr Hpp I); cbv beta iota zeta. unfold bind at 1; rewrite Hqa; cbv beta iota zeta. unfold bind at 1; rewrite (store_lens _ _ _ _ _ _ tr La I); cbv beta iota zeta. cbn.
  unfold bind at 1; rewrite HqP; cbv beta iota zeta. unfold bind at 1; rewrite HqT; cbv beta iota zeta. unfold bind at 1; rewrite HqTi by (cbn; lia); cbv beta iota zeta.
  unfold bind at 1; rewrite (store_lens _ _ _ _ _ _ tr LTi) by (cbn; lia); cbv beta iota zeta. cbn.
  eexists. split; [reflexivity|]. cbn.
  rewrite shl_bit by lia. rewrite (nth_error_nth _ _ 0 Hw). reflexivity.
Qed.

(** What [take] of table [i] makes of the pool [p], with the word it
    writes into the bitmap. *)
Definition taken_w (p q : Isolation.tablePool) (i : Z) : Prop :=
  taken p q i /\
  Isolation.tablePool_free q = replace_nth (Z.to_nat (i / 64))
    (andnot (nth (Z.to_nat (i / 64)) (Isolation.tablePool_free p) 0) (2 ^ (i mod 64)))
    (Isolation.tablePool_free p).

Lemma take_spec_w : forall pp s i tr, pool_lens pp -> pool_ok (Isolation.Engine_pool s) ->
  0 <= i < ntables (Isolation.Engine_pool s) ->
  exists q, Isolation.tablePool_take pp i s tr = Ok tt (Isolation.set_Engine_pool q s) tr /\
    taken_w (Isolation.Engine_pool s) q i.
Proof.
  intros pp s i tr Hpp Hok Hi.
  destruct (take_word pp s i tr Hpp Hok Hi) as (q & Ht & Hw).
  destruct (take_spec pp s i tr Hpp Hok Hi) as (q' & Ht' & Htk).
  rewrite Ht in Ht'. injection Ht' as Ht'. subst q'.
  exists q. split; [exact Ht|]. split; [exact Htk|exact Hw].
Qed.

(** A table [take] takes keeps the bitmap [bits_ok]. *)
Lemma taken_bits : forall p q i, bits_ok p -> 0 <= i < ntables p -> taken_w p q i -> bits_ok q.
Proof.
  intros p q i Hbits Hi (([Esh _] & _ & _ & Hag & _) & Hw).
  apply (bits_ok_word _ _ i _ Hbits Hi Esh Hw); [|exact Hag].
  apply word_andnot; [|apply Z.mod_pos_bound; lia].
  apply Forall_nth_Z; [apply Hbits|lia].
Qed.

(** alloc, as [alloc_spec] (CodeUpdate), with the word it writes. *)
Lemma alloc_spec_w : forall pp s tr, pool_lens pp -> pool_ok (Isolation.Engine_pool s) -> bits_ok (Isolation.Engine_pool s) ->
  exists i s', Isolation.tablePool_alloc pp s tr = Ok i s' tr /\
    ((i = -1 /\ s' = s /\ ~ some_free (Isolation.Engine_pool s)) \/
     (0 <= i < ntables (Isolation.Engine_pool s) /\ free_bit (Isolation.Engine_pool s) i = true /\
      exists q, s' = Isolation.set_Engine_pool q s /\ taken_w (Isolation.Engine_pool s) q i)).
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
           exists q, st = Isolation.set_Engine_pool q s /\ taken_w (Isolation.Engine_pool s) q i end)
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
      destruct (take_spec_w pp s (w * 64 + Z.log2 x) tr Hpp Hok ltac:(lia)) as (q & Ht & Htk).
      step_by Ht. eexists _, _, _. split; [reflexivity|]. split; [reflexivity|].
      split; [lia|]. split; [exact Hbit|]. exists q. split; [reflexivity|exact Htk].
  - split; [reflexivity|]. split; [reflexivity|]. split; [lia|]. intros w' Hw'. lia.
  - rewrite max_fuel_nat. unfold max_fuel. lia.
  - step_by Hj. destruct j as [w|i].
    + destruct Hq as [-> Hnf]. eexists _, _. split; [reflexivity|]. left. split; [reflexivity|]. split; [reflexivity|exact Hnf].
    + eexists _, _. split; [reflexivity|]. right. exact Hq.
Qed.

(** mustAlloc, as [mustAlloc_spec] (CodeUpdate), with the word it writes
    into the bitmap. *)
Theorem mustAlloc_word : forall s tr, pool_ok (Isolation.Engine_pool s) -> bits_ok (Isolation.Engine_pool s) ->
  some_free (Isolation.Engine_pool s) ->
  exists i q, Isolation.Engine_mustAlloc root s tr = Ok i (Isolation.set_Engine_pool q s) tr /\
    0 <= i < ntables (Isolation.Engine_pool s) /\ free_bit (Isolation.Engine_pool s) i = true /\
    taken_w (Isolation.Engine_pool s) q i.
Proof.
  intros s tr Hok Hbits Hsome.
  destruct (pfield_lens root _ _ _ Isolation.Engine_pool Isolation.set_Engine_pool lens_root ltac:(field_laws))
    as (qp & Hqp & Lp).
  destruct (alloc_spec_w qp s tr Lp Hok Hbits) as (i & s' & Ha & [(-> & -> & Hn) | (Hi & Hb & q & -> & Hsh)]).
  - contradiction.
  - unfold Isolation.Engine_mustAlloc. step_by (Hqp s tr). step_by Ha.
    destruct (Z.ltb_spec i 0); [lia|].
    eexists _, _. split; [reflexivity|]. split; [exact Hi|]. split; [exact Hb|exact Hsh].
Qed.

(** mustAlloc keeps the bitmap [bits_ok]: when some table is free it
    takes one ([taken], CodeUpdate) and the bitmap stays [bits_ok]. *)
Theorem mustAlloc_bits : forall s tr, pool_ok (Isolation.Engine_pool s) -> bits_ok (Isolation.Engine_pool s) ->
  some_free (Isolation.Engine_pool s) ->
  exists i q, Isolation.Engine_mustAlloc root s tr = Ok i (Isolation.set_Engine_pool q s) tr /\
    0 <= i < ntables (Isolation.Engine_pool s) /\ free_bit (Isolation.Engine_pool s) i = true /\
    taken (Isolation.Engine_pool s) q i /\ bits_ok q.
Proof.
  intros s tr Hok Hbits Hsome.
  destruct (mustAlloc_word s tr Hok Hbits Hsome) as (i & q & Hm & Hi & Hb & Htk).
  exists i, q. split; [exact Hm|]. split; [exact Hi|]. split; [exact Hb|]. split; [apply Htk|].
  exact (taken_bits _ _ i Hbits Hi Htk).
Qed.
