(** * VM_CREATE of the translated code against the model

    Lemmas about proofs/code/Isolation.v, the translation of
    isolation/vm.go (VMCreate), isolation/stage2.go (newStage2, translate)
    and isolation/pool.go (allocRoot, take).
    - What the pool becomes ([take_spec], [allocRoot_spec]): take zeroes
      its table and clears its free bit, and nothing else of the tables or
      the bitmap; allocRoot either finds no pair and changes nothing, or
      takes a pair [r], [r + 1] that was free and zeroes both.
    - What VM_CREATE returns ([VMCreate_spec]): an error leaves the engine
      as it was, except that when the pool has no free root the chosen
      free slot keeps the root -1 and the vmid newStage2 wrote; a success
      puts into the lowest free slot a live VM with [n] vCPUs, its flags,
      a fresh shadow, the new root and vmid [slot + 1], and vCPUs that are
      the zero vCPU with their VMID and number, and changes the pool only
      as allocRoot does.
    - The walk of a stage-2 ([walk_pw], [walk_frame], [walk_zero_root]):
      it is a function of the tables the stage-2 reaches, and a stage-2
      whose two root tables are zero maps nothing. *)
From Coq Require Import ZArith Lia List Bool.
From Bulkhead.Spec Require Import State Spec.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodePlace CodeTrack CodeLens CodeLoop CodeVCPU CodeVMCreate CodeShadow
  CodeStage2 CodePool CodeFree CodeAbsLedger CodeAbs.
Import ListNotations.
Open Scope Z_scope.

(** ** take and allocRoot *)

Lemma testbit_andnot_pow2 : forall w r k, 0 <= r -> 0 <= k ->
  Z.testbit (andnot w (2 ^ r)) k = Z.testbit w k && negb (r =? k).
Proof.
  intros w r k Hr Hk. unfold andnot. rewrite Z.land_spec, Z.lnot_spec, Z.pow2_bits_eqb by lia. reflexivity.
Qed.

Lemma nth_replace_nth_other' : forall {A} n m (a d : A) xs, n <> m -> nth m (replace_nth n a xs) d = nth m xs d.
Proof. induction n; intros m a d [|x xs] H; destruct m; cbn; auto; try lia. Qed.

Lemma nth_replace_nth_same : forall {A} n (a d : A) xs, (n < length xs)%nat -> nth n (replace_nth n a xs) d = a.
Proof. induction n; intros a d [|x xs] H; cbn in *; try lia; auto. apply IHn. lia. Qed.

(** The pool after taking table [i]: the table zeroed, its bit cleared,
    every other table and bit as they were. *)
Definition taken (p q : Isolation.tablePool) (i : Z) : Prop :=
  same_shape p q /\
  Isolation.Pool_Base (Isolation.tablePool_Pool q) = Isolation.Pool_Base (Isolation.tablePool_Pool p) /\
  Isolation.Pool_Tables (Isolation.tablePool_Pool q) =
    replace_nth (Z.to_nat i) (repeat 0 512) (Isolation.Pool_Tables (Isolation.tablePool_Pool p)) /\
  free_bit q i = false /\ (forall j, 0 <= j -> j <> i -> free_bit q j = free_bit p j).

Lemma take_spec : forall pp s i tr, pool_lens pp -> pool_ok (Isolation.Engine_pool s) ->
  0 <= i < len (Isolation.Pool_Tables (Isolation.tablePool_Pool (Isolation.Engine_pool s))) ->
  exists q, Isolation.tablePool_take pp i s tr = Ok tt (Isolation.set_Engine_pool q s) tr /\
    taken (Isolation.Engine_pool s) q i.
Proof.
  intros pp s i tr Hpp Hok Hi.
  destruct s as [cfg plat [[T base] free nfree allocs] pages host vms marks].
  unfold pool_ok in Hok. cbn [Isolation.Engine_pool Isolation.tablePool_Pool Isolation.Pool_Tables Isolation.tablePool_free] in Hok, Hi.
  destruct Hok as [Hf Hsmall].
  assert (Hk : 0 <= i / 64 < len free) by (split; [apply Z.div_pos|apply Z.div_lt_upper_bound]; lia).
  destruct (pfield_lens pp _ _ _ Isolation.tablePool_free Isolation.set_tablePool_free Hpp ltac:(field_laws)) as (qf & Hqf & Lf).
  destruct (pindex_lens qf _ _ _ (i / 64) 0 Lf) as (qfi & Hqfi & Lfi).
  destruct (pfield_lens pp _ _ _ Isolation.tablePool_nfree Isolation.set_tablePool_nfree Hpp ltac:(field_laws)) as (qn & Hqn & Ln).
  destruct (pfield_lens pp _ _ _ Isolation.tablePool_allocs Isolation.set_tablePool_allocs Hpp ltac:(field_laws)) as (qa & Hqa & La).
  destruct (pfield_lens pp _ _ _ Isolation.tablePool_Pool Isolation.set_tablePool_Pool Hpp ltac:(field_laws)) as (qP & HqP & LP).
  destruct (pfield_lens qP _ _ _ Isolation.Pool_Tables Isolation.set_Pool_Tables LP ltac:(field_laws)) as (qT & HqT & LT).
  destruct (pindex_lens qT _ _ _ i (repeat 0 512) LT) as (qTi & HqTi & LTi).
  unfold Isolation.tablePool_take.
  unfold bind at 1. rewrite mods64. cbv beta iota.
  unfold bind at 1. rewrite shcount_ok by (apply Z.rem_nonneg; lia). cbv beta iota.
  unfold bind at 1. rewrite (deref_lens _ _ _ _ _ tr Hpp I). cbv beta iota.
  unfold bind at 1. rewrite divs64, quot64 by lia. cbv beta iota.
  cbn [Isolation.Engine_pool Isolation.tablePool_free].
  destruct (nth_error free (Z.to_nat (i / 64))) as [w|] eqn:Hw.
  2:{ apply nth_error_None in Hw. unfold len in Hk. lia. }
  unfold bind at 1. rewrite (idx_nth free (i / 64) w _ tr ltac:(lia) Hw). cbv beta iota.
  unfold bind at 1. rewrite Hqf. cbv beta iota.
  unfold bind at 1. rewrite divs64, quot64 by lia. cbv beta iota.
  unfold bind at 1. rewrite Hqfi by (cbn; lia). cbv beta iota.
  unfold bind at 1. rewrite (store_lens _ _ _ _ _ _ tr Lfi) by (cbn; lia). cbv beta iota. cbn.
  unfold bind at 1. rewrite (deref_lens _ _ _ _ _ tr Hpp I). cbv beta iota.
  unfold bind at 1. rewrite Hqn. cbv beta iota.
  unfold bind at 1. rewrite (store_lens _ _ _ _ _ _ tr Ln I). cbv beta iota. cbn.
  unfold bind at 1. rewrite (deref_lens _ _ _ _ _ tr Hpp I). cbv beta iota.
  unfold bind at 1. rewrite Hqa. cbv beta iota.
  unfold bind at 1. rewrite (store_lens _ _ _ _ _ _ tr La I). cbv beta iota. cbn.
  unfold bind at 1. rewrite HqP. cbv beta iota.
  unfold bind at 1. rewrite HqT. cbv beta iota.
  unfold bind at 1. rewrite HqTi by (cbn; lia). cbv beta iota.
  unfold bind at 1. rewrite (store_lens _ _ _ _ _ _ tr LTi) by (cbn; lia). cbv beta iota. cbn.
  unfold ret. eexists. split; [reflexivity|].
  assert (Hm : 0 <= i mod 64 < 64) by (apply Z.mod_pos_bound; lia).
  rewrite Z.rem_mod_nonneg by lia. rewrite shl_bit by lia.
  split; [split; cbn; apply len_replace|]. cbn. split; [reflexivity|]. split; [reflexivity|].
  unfold free_bit. cbv [Isolation.set_tablePool_Pool Isolation.set_tablePool_allocs Isolation.set_tablePool_nfree
    Isolation.set_tablePool_free Isolation.tablePool_free Isolation.tablePool_Pool Isolation.tablePool_nfree
    Isolation.tablePool_allocs]. split.
  - rewrite nth_replace_nth_same by (apply nth_error_Some; congruence).
    rewrite testbit_andnot_pow2 by lia. rewrite Z.eqb_refl. apply andb_false_r.
  - intros j Hj Hne. destruct (Nat.eq_dec (Z.to_nat (j / 64)) (Z.to_nat (i / 64))) as [E|E].
    + rewrite E, nth_replace_nth_same by (apply nth_error_Some; congruence).
      rewrite (nth_error_nth _ _ _ Hw). rewrite testbit_andnot_pow2 by (try apply Z.mod_pos_bound; lia).
      pose proof (same_word i j ltac:(lia) Hj Hne E) as Hd.
      replace (i mod 64 =? j mod 64) with false by (symmetry; apply Z.eqb_neq; lia). apply andb_true_r.
    + rewrite nth_replace_nth_other' by congruence. reflexivity.
Qed.

(** The pool after allocRoot took the pair [r], [r + 1]: both were free,
    both are zeroed and taken, every other table and bit is as it was. *)
Definition root_taken (p q : Isolation.tablePool) (r : Z) : Prop :=
  0 <= r /\ r + 1 < ntables p /\ free_bit p r = true /\ free_bit p (r + 1) = true /\
  same_shape p q /\
  Isolation.Pool_Base (Isolation.tablePool_Pool q) = Isolation.Pool_Base (Isolation.tablePool_Pool p) /\
  Isolation.Pool_Tables (Isolation.tablePool_Pool q) =
    replace_nth (Z.to_nat (r + 1)) (repeat 0 512)
      (replace_nth (Z.to_nat r) (repeat 0 512) (Isolation.Pool_Tables (Isolation.tablePool_Pool p))) /\
  free_bit q r = false /\ free_bit q (r + 1) = false /\
  (forall j, 0 <= j -> j <> r -> j <> r + 1 -> free_bit q j = free_bit p j).

Lemma taken_twice : forall p q1 q2 r, 0 <= r -> r + 1 < ntables p ->
  free_bit p r = true -> free_bit p (r + 1) = true ->
  taken p q1 r -> taken q1 q2 (r + 1) -> root_taken p q2 r.
Proof.
  intros p q1 q2 r Hr Hn Hb1 Hb2 (S1 & B1 & T1 & F1 & O1) (S2 & B2 & T2 & F2 & O2).
  split; [lia|]. split; [lia|]. split; [exact Hb1|]. split; [exact Hb2|].
  split; [eapply same_shape_trans; eassumption|]. split; [congruence|]. split; [rewrite T2, T1; reflexivity|].
  split; [rewrite (O2 r) by lia; exact F1|]. split; [exact F2|].
  intros j Hj H1 H2. rewrite (O2 j Hj H2), (O1 j Hj H1). reflexivity.
Qed.

Lemma allocRoot_spec : forall pp s tr, pool_lens pp -> pool_ok (Isolation.Engine_pool s) ->
  Isolation.tablePool_allocRoot pp s tr = Ok (-1) s tr \/
  exists r q, Isolation.tablePool_allocRoot pp s tr = Ok r (Isolation.set_Engine_pool q s) tr /\
    root_taken (Isolation.Engine_pool s) q r.
Proof.
  intros pp s tr Hpp Hok. pose proof Hok as [Hf Hsmall].
  set (n := len (Isolation.Pool_Tables (Isolation.tablePool_Pool (Isolation.Engine_pool s)))) in *.
  assert (Hn0 : 0 <= n) by (unfold n, len; lia).
  unfold Isolation.tablePool_allocRoot. cbv zeta.
  match goal with |- context [loop max_fuel ?c ?b ?p 0] =>
  destruct (loop_spec max_fuel c b p
    (fun i st tr' => st = s /\ tr' = tr /\ 0 <= i <= n)
    (fun j st tr' => tr' = tr /\ match j with
       | Fall _ => st = s
       | Jump x => exists q, st = Isolation.set_Engine_pool q s /\ root_taken (Isolation.Engine_pool s) q x end)
    (fun i => Z.to_nat (n - i))) with (l := 0) (s := s) (tr := tr) as (j & s' & tr' & Hl & Hq) end.
  - intros i st tr' (-> & -> & Hi). exists (wraps 64 (i + 1) <? n).
    unfold bind. rewrite (deref_lens _ _ _ _ _ tr Hpp I). cbv beta iota. split; [reflexivity|].
    rewrite wraps_small by lia. split.
    + intros Hc. apply Z.ltb_lt in Hc. lia.
    + intros _. split; reflexivity.
  - intros i st tr' (-> & -> & Hi) Hc.
    unfold bind in Hc. rewrite (deref_lens _ _ _ _ _ tr Hpp I) in Hc. cbv beta iota in Hc.
    unfold ret in Hc. injection Hc as Hc. fold n in Hc. rewrite wraps_small in Hc by lia. apply Z.ltb_lt in Hc.
    unfold bind at 1, Isolation.tablePool_pa. unfold bind at 1.
    rewrite (deref_lens _ _ _ _ _ tr Hpp I). cbv beta iota. unfold ret at 1. cbv beta iota.
    unfold bind at 1. unfold Isolation.S2RootAlign. unfold modu at 1. cbn [Z.eqb]. unfold ret at 1. cbv beta iota.
    pose proof (isFree_spec pp s i tr Hpp Hok ltac:(unfold ntables; fold n; lia)) as Hb1.
    pose proof (isFree_spec pp s (i + 1) tr Hpp Hok ltac:(unfold ntables; fold n; lia)) as Hb2.
    destruct (_ mod 8192 =? 0); cbv beta iota.
    + unfold bind at 1 2. rewrite Hb1. cbv beta iota. unfold ret at 1. cbv beta iota.
      destruct (free_bit (Isolation.Engine_pool s) i) eqn:E1.
      * unfold bind at 1 2. rewrite wraps_small by lia. rewrite Hb2. cbv beta iota. unfold ret at 1. cbv beta iota.
        destruct (free_bit (Isolation.Engine_pool s) (i + 1)) eqn:E2.
        -- destruct (take_spec pp s i tr Hpp Hok ltac:(fold n; lia)) as (q1 & Ht1 & Hs1).
           pose proof (same_shape_ok _ _ Hok (proj1 Hs1)) as Hok1.
           destruct (take_spec pp (Isolation.set_Engine_pool q1 s) (i + 1) tr Hpp ltac:(rewrite get_set_pool; exact Hok1)
                       ltac:(rewrite get_set_pool; destruct Hs1 as [[E _] _]; rewrite E; fold n; lia)) as (q2 & Ht2 & Hs2).
           rewrite get_set_pool, set_pool_twice in *.
           unfold bind at 1. rewrite Ht1. cbv beta iota.
           unfold bind at 1. rewrite Ht2. cbv beta iota. unfold ret.
           eexists _, _, _. split; [reflexivity|]. split; [reflexivity|].
           exists q2. split; [reflexivity|]. apply taken_twice with q1; try assumption; unfold ntables; fold n; lia.
        -- unfold ret. eexists _, _, _. split; [reflexivity|]. exists (i + 1).
           rewrite wraps_small by lia. split; [reflexivity|]. split; [repeat split; lia|]. apply Z2Nat.inj_lt; lia.
      * unfold bind at 1. unfold ret at 1. cbv beta iota. unfold ret.
        eexists _, _, _. split; [reflexivity|]. exists (i + 1).
        rewrite wraps_small by lia. split; [reflexivity|]. split; [repeat split; lia|]. apply Z2Nat.inj_lt; lia.
    + unfold bind at 1. unfold ret at 1. cbv beta iota. unfold bind at 1. unfold ret at 1. cbv beta iota. unfold ret.
      eexists _, _, _. split; [reflexivity|]. exists (i + 1).
      rewrite wraps_small by lia. split; [reflexivity|]. split; [repeat split; lia|]. apply Z2Nat.inj_lt; lia.
  - split; [reflexivity|]. split; [reflexivity|]. lia.
  - rewrite max_fuel_nat. apply Z2Nat.inj_le; unfold max_fuel; lia.
  - destruct Hq as [-> Hq]. destruct j as [l|x].
    + subst s'. left. unfold bind at 1. rewrite Hl. unfold ret. reflexivity.
    + destruct Hq as (q & -> & Hs). right. exists x, q. split; [|exact Hs].
      unfold bind at 1. rewrite Hl. unfold ret. reflexivity.
Qed.

(** ** newStage2 *)

(** The engine [E] with VM slot [i] replaced by [X]. *)
Definition at_slot (E : Isolation.Engine) (i : nat) (X : Isolation.vm) : Isolation.Engine :=
  Isolation.set_Engine_vms (replace_nth i X (Isolation.Engine_vms E)) E.

Lemma replace_replace : forall {A} n (a b : A) xs, replace_nth n a (replace_nth n b xs) = replace_nth n a xs.
Proof. induction n; intros a b [|x xs]; cbn; auto. rewrite IHn. reflexivity. Qed.

Lemma vms_at_slot : forall E i X, (i < length (Isolation.Engine_vms E))%nat ->
  nth i (Isolation.Engine_vms (at_slot E i X)) Isolation.zero_vm = X.
Proof. intros [] i X H. cbn in *. apply nth_replace_nth_same. exact H. Qed.

Lemma at_slot_twice : forall E i X Y,
  Isolation.set_Engine_vms (replace_nth i Y (Isolation.Engine_vms (at_slot E i X))) (at_slot E i X) = at_slot E i Y.
Proof. intros [] i X Y. cbn. rewrite replace_replace. reflexivity. Qed.

Lemma len_vms_at_slot : forall E i X, length (Isolation.Engine_vms (at_slot E i X)) = length (Isolation.Engine_vms E).
Proof. intros [] i X. cbn. apply replace_nth_length. Qed.

Lemma newStage2_spec : forall i qs id s tr,
  lens qs (slot_valid i) (fun s => Isolation.vm_s2 (nth (Z.to_nat i) (Isolation.Engine_vms s) Isolation.zero_vm))
    (fun b s => Isolation.set_Engine_vms (replace_nth (Z.to_nat i)
       (Isolation.set_vm_s2 b (nth (Z.to_nat i) (Isolation.Engine_vms s) Isolation.zero_vm)) (Isolation.Engine_vms s)) s) ->
  create_ok s -> slot_valid i s ->
  let m := nth (Z.to_nat i) (Isolation.Engine_vms s) Isolation.zero_vm in
  Isolation.Engine_newStage2 root qs id s tr =
    Ok false (at_slot s (Z.to_nat i) (Isolation.set_vm_s2 (Isolation.mk_stage2 (-1) id) m)) tr \/
  exists r q, Isolation.Engine_newStage2 root qs id s tr =
    Ok true (at_slot (Isolation.set_Engine_pool q s) (Z.to_nat i) (Isolation.set_vm_s2 (Isolation.mk_stage2 r id) m)) tr /\
    root_taken (Isolation.Engine_pool s) q r.
Proof.
  intros i qs id s tr Ls Hc Hv m.
  assert (Hi : (Z.to_nat i < length (Isolation.Engine_vms s))%nat) by (destruct Hv as [_ Hv]; unfold len in Hv; lia).
  destruct (pfield_lens qs _ _ _ Isolation.stage2_vmid Isolation.set_stage2_vmid Ls ltac:(field_laws)) as (qsv & Hqsv & Lsv).
  destruct (pfield_lens qs _ _ _ Isolation.stage2_root Isolation.set_stage2_root Ls ltac:(field_laws)) as (qsr & Hqsr & Lsr).
  destruct (pfield_lens root _ _ _ Isolation.Engine_pool Isolation.set_Engine_pool lens_root ltac:(field_laws))
    as (qp & Hqp & Lp).
  pose proof (lens_valid _ _ _ _ _ id Lsv Hv) as Hv1. cbv beta in Hv1.
  pose proof (create_ok_vm_field s i (fun m => Isolation.set_vm_s2 (Isolation.set_stage2_vmid id (Isolation.vm_s2 m)) m)
                Hc (proj2 Hv) (fun m => eq_refl) (fun m => eq_refl)) as Hc1. cbv beta in Hc1.
  fold m in Hc1, Hv1. change (Isolation.set_Engine_vms ?l s) with (at_slot s (Z.to_nat i) (Isolation.set_vm_s2 (Isolation.set_stage2_vmid id (Isolation.vm_s2 m)) m)) in *.
  set (X1 := Isolation.set_vm_s2 (Isolation.set_stage2_vmid id (Isolation.vm_s2 m)) m) in *.
  set (s1 := at_slot s (Z.to_nat i) X1) in *.
  assert (Hpre2 : Isolation.Engine_newStage2 root qs id s tr =
    bind (Isolation.tablePool_allocRoot qp) (fun t'4 => bind (pfield qs Isolation.stage2_root Isolation.set_stage2_root)
      (fun t'5 => bind (store t'5 t'4) (fun _ => bind (deref qs) (fun t'7 => ret (Isolation.stage2_root t'7 >=? 0))))) s1 tr).
  { unfold Isolation.Engine_newStage2.
    unfold bind at 1. rewrite Hqsv. cbv beta iota.
    unfold bind at 1. rewrite (store_lens _ _ _ _ _ _ tr Lsv Hv). cbv beta iota.
    unfold bind at 1. rewrite Hqp. cbv beta iota. reflexivity. }
  rewrite Hpre2. clear Hpre2.
  assert (Hp1 : Isolation.Engine_pool s1 = Isolation.Engine_pool s) by (unfold s1; destruct s; reflexivity).
  destruct (allocRoot_spec qp s1 tr Lp (proj1 (proj2 Hc1))) as [Ha|(r & q & Ha & Hsh)].
  - left. unfold bind at 1. rewrite Ha. cbv beta iota.
    unfold bind at 1. rewrite Hqsr. cbv beta iota.
    unfold bind at 1. rewrite (store_lens _ _ _ _ _ _ tr Lsr Hv1). cbv beta iota.
    pose proof (lens_valid _ _ _ _ _ (-1) Lsr Hv1) as Hv3. cbv beta in Hv3.
    unfold bind at 1. rewrite (deref_lens _ _ _ _ _ tr Ls Hv3). cbv beta iota.
    unfold s1. rewrite vms_at_slot by exact Hi. rewrite at_slot_twice.
    rewrite vms_at_slot by exact Hi. unfold ret. reflexivity.
  - right. exists r, q. rewrite Hp1 in Hsh. split; [|exact Hsh].
    pose proof (slot_valid_pool i q s1 Hv1) as Hv2.
    unfold bind at 1. rewrite Ha. cbv beta iota.
    unfold bind at 1. rewrite Hqsr. cbv beta iota.
    unfold bind at 1. rewrite (store_lens _ _ _ _ _ _ tr Lsr Hv2). cbv beta iota.
    pose proof (lens_valid _ _ _ _ _ r Lsr Hv2) as Hv3. cbv beta in Hv3.
    unfold bind at 1. rewrite (deref_lens _ _ _ _ _ tr Ls Hv3). cbv beta iota.
    replace (Isolation.set_Engine_pool q s1) with (at_slot (Isolation.set_Engine_pool q s) (Z.to_nat i) X1)
      by (unfold s1; destruct s; reflexivity).
    assert (Hi' : (Z.to_nat i < length (Isolation.Engine_vms (Isolation.set_Engine_pool q s)))%nat)
      by (rewrite vms_set_pool; exact Hi).
    rewrite vms_at_slot by exact Hi'. rewrite at_slot_twice.
    rewrite vms_at_slot by exact Hi'.
    destruct Hsh as (Hr & _). cbn [Isolation.set_vm_s2 Isolation.vm_s2 Isolation.set_stage2_root Isolation.stage2_root].
    replace (r >=? 0) with true by (symmetry; apply Z.geb_le; lia). unfold ret, X1. reflexivity.
Qed.
