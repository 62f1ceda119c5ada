(** * VM_CREATE of the translated code: no failure outcome, and the
      concrete invariant [create_ok] is preserved *)
From Coq Require Import ZArith Lia List Bool.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodePlace CodeTrack CodeVCPU CodeVCPUInit CodeLoop CodeLens.
Import ListNotations.
Open Scope Z_scope.

(** ** Words *)

Lemma wraps_small : forall z, - 2 ^ 63 <= z < 2 ^ 63 -> wraps 64 z = z.
Proof.
  intros z Hz. unfold wraps.
  destruct (Z.leb_spec 0 z) as [Hp|Hn].
  - rewrite Z.mod_small by lia. destruct (Z.leb_spec (2 ^ (64 - 1)) z); [cbn in *; lia|reflexivity].
  - replace (z mod 2 ^ 64) with (z + 2 ^ 64).
    + destruct (Z.leb_spec (2 ^ (64 - 1)) (z + 2 ^ 64)); [lia|cbn in *; lia].
    + symmetry. rewrite <- (Z.mod_small (z + 2 ^ 64) (2 ^ 64)) by lia.
      rewrite Z.add_mod, Z.mod_same, Z.add_0_r, Z.mod_mod by lia. reflexivity.
Qed.

Lemma wrapu_small : forall z, 0 <= z < 2 ^ 64 -> wrapu 64 z = z.
Proof. intros z Hz. unfold wrapu. apply Z.mod_small. lia. Qed.

Lemma mods64 : forall {S} (s : S) tr i, mods i 64 s tr = Ok (Z.rem i 64) s tr.
Proof. reflexivity. Qed.

Lemma divs64 : forall {S} (s : S) tr i, divs 64 i 64 s tr = Ok (wraps 64 (Z.quot i 64)) s tr.
Proof. reflexivity. Qed.

Lemma shcount_ok : forall {S} (s : S) tr y, 0 <= y -> shcount y s tr = Ok y s tr.
Proof. intros S s tr y H. unfold shcount. destruct (Z.ltb_spec y 0); [lia|reflexivity]. Qed.

Lemma quot64 : forall i, 0 <= i < 2 ^ 62 -> wraps 64 (Z.quot i 64) = i / 64.
Proof.
  intros i Hi. rewrite Z.quot_div_nonneg by lia. apply wraps_small.
  split; [apply Z.le_trans with 0; [lia|apply Z.div_pos; lia]|].
  apply Z.le_lt_trans with i; [apply Z.div_le_upper_bound; lia|lia].
Qed.

(** ** The table pool *)

(** Every table has its bit in [free], and the tables are few enough for
    the index arithmetic never to wrap. *)
Definition pool_ok (p : Isolation.tablePool) : Prop :=
  len (Isolation.Pool_Tables (Isolation.tablePool_Pool p)) <= 64 * len (Isolation.tablePool_free p) /\
  len (Isolation.Pool_Tables (Isolation.tablePool_Pool p)) < 2 ^ 62.

Definition same_shape (p q : Isolation.tablePool) : Prop :=
  len (Isolation.Pool_Tables (Isolation.tablePool_Pool q)) = len (Isolation.Pool_Tables (Isolation.tablePool_Pool p)) /\
  len (Isolation.tablePool_free q) = len (Isolation.tablePool_free p).

Lemma same_shape_ok : forall p q, pool_ok p -> same_shape p q -> pool_ok q.
Proof. intros p q [H1 H2] [E1 E2]. unfold pool_ok. rewrite E1, E2. lia. Qed.

Lemma same_shape_trans : forall p q r, same_shape p q -> same_shape q r -> same_shape p r.
Proof. intros p q r [A1 A2] [B1 B2]. split; congruence. Qed.

Definition pool_lens (pp : ptr Isolation.Engine Isolation.tablePool) : Prop :=
  lens pp (fun _ => True) Isolation.Engine_pool (fun b s => Isolation.set_Engine_pool b s).

Lemma len_replace : forall {A} n (a : A) xs, len (replace_nth n a xs) = len xs.
Proof. intros. unfold len. rewrite replace_nth_length. reflexivity. Qed.

Lemma shl_bit : forall r, 0 <= r < 64 -> shl 64 false 1 r = 2 ^ r.
Proof.
  intros r Hr. unfold shl. destruct (Z.leb_spec 64 r); [lia|]. unfold wrapu.
  rewrite Z.shiftl_1_l. apply Z.mod_small. split; [lia|]. apply Z.pow_lt_mono_r; lia.
Qed.

(** The pool [take] of table [i] leaves (isolation/pool.go): bit
    [i mod 64] of word [i / 64] cleared, one free table less, one
    allocation more, and table [i] zeroed. *)
Definition take_pool (p : Isolation.tablePool) (i : Z) : Isolation.tablePool :=
  let P := Isolation.tablePool_Pool p in
  let free := Isolation.tablePool_free p in
  Isolation.mk_tablePool
    (Isolation.mk_Pool (replace_nth (Z.to_nat i) (repeat 0 512) (Isolation.Pool_Tables P)) (Isolation.Pool_Base P))
    (replace_nth (Z.to_nat (i / 64)) (andnot (nth (Z.to_nat (i / 64)) free 0) (2 ^ (i mod 64))) free)
    (wraps 64 (Isolation.tablePool_nfree p - 1))
    (wrapu 64 (Isolation.tablePool_allocs p + 1)).

(** take of a table of the pool never fails and leaves [take_pool]. *)
Lemma take_exact : forall pp s i tr, pool_lens pp -> pool_ok (Isolation.Engine_pool s) ->
  0 <= i < len (Isolation.Pool_Tables (Isolation.tablePool_Pool (Isolation.Engine_pool s))) ->
  Isolation.tablePool_take pp i s tr = Ok tt (Isolation.set_Engine_pool (take_pool (Isolation.Engine_pool s) i) s) tr.
Proof.
  intros pp s i tr Hpp Hok Hi.
  destruct s as [cfg plat [[T base] free nfree allocs] pages host vms marks].
  unfold pool_ok in Hok. cbn [Isolation.Engine_pool Isolation.tablePool_Pool Isolation.Pool_Tables Isolation.tablePool_free] in Hok, Hi.
  destruct Hok as [Hf Hsmall].
  assert (Hk : 0 <= i / 64 < len free) by (split; [apply Z.div_pos|apply Z.div_lt_upper_bound]; lia).
  assert (Hr : 0 <= i mod 64 < 64) by (apply Z.mod_pos_bound; lia).
  destruct (nth_error free (Z.to_nat (i / 64))) as [w|] eqn:Hw.
  2:{ apply nth_error_None in Hw. unfold len in Hk. lia. }
  pose proof (pfield_lens pp _ _ _ Isolation.tablePool_free Isolation.set_tablePool_free Hpp ltac:(field_laws)) as (qf & Hqf & Lf).
  pose proof (pindex_lens qf _ _ _ (i / 64) 0 Lf) as (qfi & Hqfi & Lfi).
  pose proof (pfield_lens pp _ _ _ Isolation.tablePool_nfree Isolation.set_tablePool_nfree Hpp ltac:(field_laws)) as (qn & Hqn & Ln).
  pose proof (pfield_lens pp _ _ _ Isolation.tablePool_allocs Isolation.set_tablePool_allocs Hpp ltac:(field_laws)) as (qa & Hqa & La).
  pose proof (pfield_lens pp _ _ _ Isolation.tablePool_Pool Isolation.set_tablePool_Pool Hpp ltac:(field_laws)) as (qP & HqP & LP).
  pose proof (pfield_lens qP _ _ _ Isolation.Pool_Tables Isolation.set_Pool_Tables LP ltac:(field_laws)) as (qT & HqT & LT).
  pose proof (pindex_lens qT _ _ _ i (repeat 0 512) LT) as (qTi & HqTi & LTi).
  unfold Isolation.tablePool_take.
  unfold bind at 1. rewrite mods64. cbv beta iota.
  unfold bind at 1. rewrite shcount_ok by (apply Z.rem_nonneg; lia). cbv beta iota.
  unfold bind at 1. rewrite (deref_lens _ _ _ _ _ tr Hpp I). cbv beta iota.
  unfold bind at 1. rewrite divs64, quot64 by lia. cbv beta iota.
  cbn [Isolation.Engine_pool Isolation.tablePool_free].
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
  unfold ret, take_pool. cbn. rewrite Z.rem_mod_nonneg, shl_bit, (nth_error_nth _ _ 0 Hw) by lia. reflexivity.
Qed.

Lemma take_ok : forall pp s i tr, pool_lens pp -> pool_ok (Isolation.Engine_pool s) ->
  0 <= i < len (Isolation.Pool_Tables (Isolation.tablePool_Pool (Isolation.Engine_pool s))) ->
  exists q, Isolation.tablePool_take pp i s tr = Ok tt (Isolation.set_Engine_pool q s) tr /\
    same_shape (Isolation.Engine_pool s) q.
Proof.
  intros pp s i tr Hpp Hok Hi. rewrite (take_exact pp s i tr Hpp Hok Hi).
  eexists. split; [reflexivity|]. split; cbn; apply len_replace.
Qed.

Lemma isFree_ok : forall pp s i tr, pool_lens pp -> pool_ok (Isolation.Engine_pool s) ->
  0 <= i < len (Isolation.Pool_Tables (Isolation.tablePool_Pool (Isolation.Engine_pool s))) ->
  exists b, Isolation.tablePool_isFree pp i s tr = Ok b s tr.
Proof.
  intros pp s i tr Hpp [Hf Hsmall] Hi.
  assert (Hk : 0 <= i / 64 < len (Isolation.tablePool_free (Isolation.Engine_pool s)))
    by (split; [apply Z.div_pos|apply Z.div_lt_upper_bound]; lia).
  unfold Isolation.tablePool_isFree.
  unfold bind at 1. rewrite (deref_lens _ _ _ _ _ tr Hpp I). cbv beta iota.
  unfold bind at 1. rewrite divs64, quot64 by lia. cbv beta iota.
  pose proof (idx_in_range _ (i / 64) s tr Hk) as (w & Hw).
  unfold bind at 1. rewrite Hw. cbv beta iota.
  unfold bind at 1. rewrite mods64. cbv beta iota.
  unfold bind at 1. rewrite shcount_ok by (apply Z.rem_nonneg; lia). cbv beta iota.
  unfold ret. eexists. reflexivity.
Qed.

Lemma set_pool_same : forall s, Isolation.set_Engine_pool (Isolation.Engine_pool s) s = s.
Proof. intros []. reflexivity. Qed.

Lemma set_pool_twice : forall a b s, Isolation.set_Engine_pool a (Isolation.set_Engine_pool b s) = Isolation.set_Engine_pool a s.
Proof. intros a b []. reflexivity. Qed.

Lemma get_set_pool : forall a s, Isolation.Engine_pool (Isolation.set_Engine_pool a s) = a.
Proof. intros a []. reflexivity. Qed.

Lemma max_fuel_nat : Pos.to_nat (Z.to_pos max_fuel) = Z.to_nat max_fuel.
Proof. apply fuel_nat. unfold max_fuel. lia. Qed.

Lemma allocRoot_ok : forall pp s tr, pool_lens pp -> pool_ok (Isolation.Engine_pool s) ->
  exists r q, Isolation.tablePool_allocRoot pp s tr = Ok r (Isolation.set_Engine_pool q s) tr /\
    same_shape (Isolation.Engine_pool s) q.
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
       | Jump _ => exists q, st = Isolation.set_Engine_pool q s /\ same_shape (Isolation.Engine_pool s) q end)
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
    pose proof (isFree_ok pp s i tr Hpp Hok ltac:(fold n; lia)) as (b1 & Hb1).
    pose proof (isFree_ok pp s (i + 1) tr Hpp Hok ltac:(fold n; lia)) as (b2 & Hb2).
    destruct (_ mod 8192 =? 0); cbv beta iota.
    + unfold bind at 1 2. rewrite Hb1. cbv beta iota. unfold ret at 1. cbv beta iota.
      destruct b1.
      * unfold bind at 1 2. rewrite wraps_small by lia. rewrite Hb2. cbv beta iota. unfold ret at 1. cbv beta iota.
        destruct b2.
        -- pose proof (take_ok pp s i tr Hpp Hok ltac:(fold n; lia)) as (q1 & Ht1 & Hs1).
           pose proof (same_shape_ok _ _ Hok Hs1) as Hok1.
           pose proof (take_ok pp (Isolation.set_Engine_pool q1 s) (i + 1) tr Hpp ltac:(rewrite get_set_pool; exact Hok1)
                       ltac:(rewrite get_set_pool; destruct Hs1 as [E1 _]; rewrite E1; fold n; lia)) as (q2 & Ht2 & Hs2).
           rewrite get_set_pool, set_pool_twice in *.
           unfold bind at 1. rewrite Ht1. cbv beta iota.
           unfold bind at 1. rewrite Ht2. cbv beta iota. unfold ret.
           eexists _, _, _. split; [reflexivity|]. split; [reflexivity|].
           exists q2. split; [reflexivity|]. eapply same_shape_trans; eassumption.
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
  - unfold bind at 1. rewrite Hl. destruct Hq as [-> Hq]. destruct j as [l|x].
    + subst s'. unfold ret. exists (-1), (Isolation.Engine_pool s). rewrite set_pool_same.
      split; [reflexivity|]. split; reflexivity.
    + destruct Hq as (q & -> & Hs). unfold ret. exists x, q. split; [reflexivity|exact Hs].
Qed.

(** ** The invariant *)

(** [vcpus_ok], a consistent table pool, a vCPU limit that fits an int,
    and every VM slot with room for that many vCPUs. *)
Definition create_ok (e : Isolation.Engine) : Prop :=
  vcpus_ok e /\ pool_ok (Isolation.Engine_pool e) /\
  0 <= Isolation.Config_MaxVCPUs (Isolation.Engine_cfg e) < 2 ^ 63 /\
  Forall (fun m => Isolation.Config_MaxVCPUs (Isolation.Engine_cfg e) <= len (Isolation.vm_vcpus m))
    (Isolation.Engine_vms e).

Lemma create_ok_set_pool : forall e q, create_ok e -> same_shape (Isolation.Engine_pool e) q ->
  create_ok (Isolation.set_Engine_pool q e).
Proof.
  intros [] q (Hv & Hp & Hm & Hall) Hs. cbn in *. unfold create_ok, vcpus_ok in *; cbn.
  split; [exact Hv|]. split; [eapply same_shape_ok; eassumption|]. auto.
Qed.

Lemma Forall_replace : forall {A} (P : A -> Prop) n a xs, Forall P xs -> P a -> Forall P (replace_nth n a xs).
Proof.
  intros A P n a xs Hall Ha. rewrite Forall_forall in *. intros x Hx.
  apply In_nth_error in Hx as [k Hk].
  destruct (Nat.eq_dec n k) as [<-|Hne].
  - destruct (Nat.lt_ge_cases n (length xs)) as [Hlt|Hge].
    + rewrite nth_replace_nth in Hk by exact Hlt. congruence.
    + exfalso. assert (nth_error (replace_nth n a xs) n = None)
        by (apply nth_error_None; rewrite replace_nth_length; lia). congruence.
  - rewrite nth_replace_nth_other in Hk by exact Hne. apply Hall. eapply nth_error_In. exact Hk.
Qed.

Lemma create_ok_put_vm : forall e i m', create_ok e -> vm_ok m' ->
  Isolation.Config_MaxVCPUs (Isolation.Engine_cfg e) <= len (Isolation.vm_vcpus m') ->
  create_ok (Isolation.set_Engine_vms (replace_nth i m' (Isolation.Engine_vms e)) e).
Proof.
  intros e i m' (Hv & Hp & Hm & Hall) Hok Hlen.
  split; [exact (vcpus_ok_put_vm e i m' Hv Hok)|].
  destruct e; cbn in *. split; [exact Hp|]. split; [exact Hm|].
  apply Forall_replace; assumption.
Qed.

Lemma nth_vm_in : forall e i, 0 <= i < len (Isolation.Engine_vms e) ->
  In (nth (Z.to_nat i) (Isolation.Engine_vms e) Isolation.zero_vm) (Isolation.Engine_vms e).
Proof. intros e i Hi. apply nth_In. unfold len in Hi. lia. Qed.

(** A store into a field of VM slot [i] that keeps its vCPUs and count. *)
Lemma create_ok_vm_field : forall e i f, create_ok e -> 0 <= i < len (Isolation.Engine_vms e) ->
  (forall m, Isolation.vm_nvcpu (f m) = Isolation.vm_nvcpu m) ->
  (forall m, Isolation.vm_vcpus (f m) = Isolation.vm_vcpus m) ->
  create_ok (Isolation.set_Engine_vms
    (replace_nth (Z.to_nat i) (f (nth (Z.to_nat i) (Isolation.Engine_vms e) Isolation.zero_vm)) (Isolation.Engine_vms e)) e).
Proof.
  intros e i f Hc Hi Hn Hvc. pose proof Hc as ((_ & Hall) & _ & _ & Hall2).
  rewrite Forall_forall in Hall, Hall2.
  pose proof (nth_vm_in e i Hi) as Hin.
  apply create_ok_put_vm; [exact Hc| |rewrite Hvc; apply Hall2; exact Hin].
  pose proof (Hall _ Hin) as (A & B & C). unfold vm_ok. rewrite Hn, Hvc. auto.
Qed.

(** A store into vCPU [k] of VM slot [i] that keeps its 16 words of lines. *)
Lemma create_ok_vcpu : forall e i k f, create_ok e -> 0 <= i < len (Isolation.Engine_vms e) ->
  0 <= k < len (Isolation.vm_vcpus (nth (Z.to_nat i) (Isolation.Engine_vms e) Isolation.zero_vm)) ->
  (forall c, len (Isolation.Context_IRQ (Isolation.vcpu_ctx c)) = 16 ->
             len (Isolation.Context_IRQ (Isolation.vcpu_ctx (f c))) = 16) ->
  let m := nth (Z.to_nat i) (Isolation.Engine_vms e) Isolation.zero_vm in
  create_ok (Isolation.set_Engine_vms
    (replace_nth (Z.to_nat i) (Isolation.set_vm_vcpus
       (replace_nth (Z.to_nat k) (f (nth (Z.to_nat k) (Isolation.vm_vcpus m) Isolation.zero_vcpu)) (Isolation.vm_vcpus m)) m)
    (Isolation.Engine_vms e)) e).
Proof.
  intros e i k f Hc Hi Hk Hf m. pose proof Hc as ((_ & Hall) & _ & _ & Hall2).
  rewrite Forall_forall in Hall, Hall2.
  pose proof (nth_vm_in e i Hi) as Hin. fold m in Hin, Hk.
  pose proof (Hall _ Hin) as (A & B & C).
  apply create_ok_put_vm; [exact Hc| |].
  - apply vm_ok_put_vcpu; [split; auto|]. apply Hf.
    rewrite Forall_forall in C. apply C. apply nth_In. unfold len in Hk. lia.
  - destruct m; cbn. rewrite len_replace. exact (Hall2 _ Hin).
Qed.

Lemma vms_set_pool : forall q e, Isolation.Engine_vms (Isolation.set_Engine_pool q e) = Isolation.Engine_vms e.
Proof. intros q []. reflexivity. Qed.

Lemma cfg_set_pool : forall q e, Isolation.Engine_cfg (Isolation.set_Engine_pool q e) = Isolation.Engine_cfg e.
Proof. intros q []. reflexivity. Qed.

Lemma cfg_set_vms : forall q e, Isolation.Engine_cfg (Isolation.set_Engine_vms q e) = Isolation.Engine_cfg e.
Proof. intros q []. reflexivity. Qed.

(** ** VM_CREATE *)

(** The slot search reads only: it ends at a free slot or at -1. *)
Lemma slot_search : forall e tr,
  exists j, loop (X:=Empty_set) (len (Isolation.Engine_vms e))
  (fun '(t'3, slot) => ret (t'3 <? len (Isolation.Engine_vms e)))
  (fun '(t'3, slot) =>
  let i := t'3 in
  let! t'6 := deref root in
  let! t'7 := idx (Isolation.Engine_vms t'6) i in
  if negb (Isolation.vm_live t'7) then
  let slot := i in
  ret (Break (t'3, slot))
  else
  ret (Continue (t'3, slot)))
  (fun '(t'3, slot) => let t'3 := t'3 + 1 in ret (t'3, slot))
  (0, -1) e tr = Ok (Fall j) e tr /\ (snd j = -1 \/ 0 <= snd j < len (Isolation.Engine_vms e)).
Proof.
  intros e tr. set (n := len (Isolation.Engine_vms e)).
  assert (Hn : 0 <= n) by (unfold n, len; lia).
  match goal with |- context [loop _ ?c ?b ?p] =>
  destruct (loop_spec n c b p
    (fun l st tr' => st = e /\ tr' = tr /\ 0 <= fst l <= n /\ (snd l = -1 \/ 0 <= snd l < n))
    (fun j st tr' => st = e /\ tr' = tr /\ match j with Fall l => snd l = -1 \/ 0 <= snd l < n | Jump x => False end)
    (fun l => Z.to_nat (n - fst l))) with (l := (0, -1)) (s := e) (tr := tr) as (j & s' & tr' & Hl & Hq) end.
  - intros [k sl] st tr' (-> & -> & Hk & Hsl). cbn [fst snd] in *. eexists. split; [reflexivity|]. split.
    + intros Hc. apply Z.ltb_lt in Hc. lia.
    + intros _. auto.
  - intros [k sl] st tr' (-> & -> & Hk & Hsl) Hc. cbn [fst snd] in *.
    unfold ret in Hc. injection Hc as Hc. apply Z.ltb_lt in Hc.
    pose proof (idx_in_range (Isolation.Engine_vms e) k e tr ltac:(fold n; lia)) as (m & Hm).
    unfold bind. cbn [deref root]. rewrite Hm. cbv beta iota.
    destruct (negb (Isolation.vm_live m)); unfold ret.
    + eexists _, _, _. split; [reflexivity|]. cbn. auto with zarith.
    + eexists _, _, _. split; [reflexivity|]. eexists. split; [reflexivity|]. cbn [fst snd].
      split; [auto with zarith|]. apply Z2Nat.inj_lt; lia.
  - cbn. auto with zarith.
  - cbn [fst]. destruct (Z.eq_dec n 0) as [E|E].
    + rewrite E. cbn. lia.
    + rewrite fuel_nat by lia. lia.
  - destruct Hq as (-> & -> & Hj). destruct j as [l|[]]. exists l. split; [exact Hl|exact Hj].
Qed.

Definition slot_valid (i : Z) (s : Isolation.Engine) : Prop := True /\ 0 <= i < len (Isolation.Engine_vms s).

Lemma deref_root : forall {S} (s : S) tr, deref root s tr = Ok s s tr.
Proof. reflexivity. Qed.

Lemma lens_valid : forall {S A} (p : ptr S A) valid get set s b, lens p valid get set -> valid s -> valid (set b s).
Proof. intros S A p valid get set s b (ld & st & _ & _ & _ & Hv & _) H. apply Hv. exact H. Qed.

Lemma slot_valid_pool : forall i q s, slot_valid i s -> slot_valid i (Isolation.set_Engine_pool q s).
Proof. intros i q [] H. exact H. Qed.

(** newStage2 on the stage-2 of VM slot [i]: no failure, [create_ok] kept. *)
Lemma newStage2_ok : forall i qs id s tr,
  lens qs (slot_valid i) (fun s => Isolation.vm_s2 (nth (Z.to_nat i) (Isolation.Engine_vms s) Isolation.zero_vm))
    (fun b s => Isolation.set_Engine_vms (replace_nth (Z.to_nat i)
       (Isolation.set_vm_s2 b (nth (Z.to_nat i) (Isolation.Engine_vms s) Isolation.zero_vm)) (Isolation.Engine_vms s)) s) ->
  create_ok s -> slot_valid i s ->
  exists b s', Isolation.Engine_newStage2 root qs id s tr = Ok b s' tr /\ create_ok s' /\ slot_valid i s' /\
    Isolation.Engine_cfg s' = Isolation.Engine_cfg s.
Proof.
  intros i qs id s tr Ls Hc Hv.
  pose proof (pfield_lens qs _ _ _ Isolation.stage2_vmid Isolation.set_stage2_vmid Ls ltac:(field_laws)) as (qsv & Hqsv & Lsv).
  pose proof (pfield_lens qs _ _ _ Isolation.stage2_root Isolation.set_stage2_root Ls ltac:(field_laws)) as (qsr & Hqsr & Lsr).
  pose proof (pfield_lens root _ _ _ Isolation.Engine_pool Isolation.set_Engine_pool lens_root ltac:(field_laws))
    as (qp & Hqp & Lp).
  unfold Isolation.Engine_newStage2.
  unfold bind at 1. rewrite Hqsv. cbv beta iota.
  unfold bind at 1. rewrite (store_lens _ _ _ _ _ _ tr Lsv Hv). cbv beta iota.
  pose proof (lens_valid _ _ _ _ _ id Lsv Hv) as Hv1. cbv beta in Hv1.
  pose proof (create_ok_vm_field s i (fun m => Isolation.set_vm_s2 (Isolation.set_stage2_vmid id (Isolation.vm_s2 m)) m)
                Hc (proj2 Hv) (fun m => eq_refl) (fun m => eq_refl)) as Hc1. cbv beta in Hc1.
  match type of Hc1 with create_ok ?x => set (s1 := x) in * end.
  unfold bind at 1. rewrite Hqp. cbv beta iota.
  pose proof (allocRoot_ok qp s1 tr Lp (proj1 (proj2 Hc1))) as (r & q & Ha & Hsh).
  unfold bind at 1. rewrite Ha. cbv beta iota.
  pose proof (create_ok_set_pool s1 q Hc1 Hsh) as Hc2.
  pose proof (slot_valid_pool i q s1 Hv1) as Hv2.
  set (s2 := Isolation.set_Engine_pool q s1) in *.
  unfold bind at 1. rewrite Hqsr. cbv beta iota.
  unfold bind at 1. rewrite (store_lens _ _ _ _ _ _ tr Lsr Hv2). cbv beta iota.
  pose proof (lens_valid _ _ _ _ _ r Lsr Hv2) as Hv3. cbv beta in Hv3.
  pose proof (create_ok_vm_field s2 i (fun m => Isolation.set_vm_s2 (Isolation.set_stage2_root r (Isolation.vm_s2 m)) m)
                Hc2 (proj2 Hv2) (fun m => eq_refl) (fun m => eq_refl)) as Hc3. cbv beta in Hc3.
  match type of Hc3 with create_ok ?x => set (s3 := x) in * end.
  unfold bind at 1. rewrite (deref_lens _ _ _ _ _ tr Ls Hv3). cbv beta iota.
  unfold ret. eexists _, _. split; [reflexivity|]. split; [assumption|]. split; [assumption|].
  unfold s3, s2, s1. rewrite cfg_set_vms, cfg_set_pool, cfg_set_vms. reflexivity.
Qed.


Lemma create_ok_nvcpu : forall e i x, create_ok e -> 0 <= i < len (Isolation.Engine_vms e) ->
  0 <= x <= Isolation.Config_MaxVCPUs (Isolation.Engine_cfg e) ->
  create_ok (Isolation.set_Engine_vms (replace_nth (Z.to_nat i)
    (Isolation.set_vm_nvcpu x (nth (Z.to_nat i) (Isolation.Engine_vms e) Isolation.zero_vm)) (Isolation.Engine_vms e)) e).
Proof.
  intros e i x Hc Hi Hx. pose proof Hc as ((_ & Hall) & _ & Hmax & Hall2). rewrite Forall_forall in Hall, Hall2.
  pose proof (nth_vm_in e i Hi) as Hin. pose proof (Hall _ Hin) as (A & B & C). specialize (Hall2 _ Hin).
  apply create_ok_put_vm; [exact Hc| |exact Hall2].
  unfold vm_ok. cbn. split; [lia|]. split; [lia|exact C].
Qed.

Lemma len_vcpus_put : forall st i k c, 0 <= i < len (Isolation.Engine_vms st) ->
  len (Isolation.vm_vcpus (nth (Z.to_nat i) (Isolation.Engine_vms (Isolation.set_Engine_vms (replace_nth (Z.to_nat i)
    (Isolation.set_vm_vcpus (replace_nth (Z.to_nat k) c
       (Isolation.vm_vcpus (nth (Z.to_nat i) (Isolation.Engine_vms st) Isolation.zero_vm)))
       (nth (Z.to_nat i) (Isolation.Engine_vms st) Isolation.zero_vm)) (Isolation.Engine_vms st)) st)) Isolation.zero_vm))
  = len (Isolation.vm_vcpus (nth (Z.to_nat i) (Isolation.Engine_vms st) Isolation.zero_vm)).
Proof.
  intros [] i k c Hi. cbn in *. rewrite nth_replace by (unfold len in Hi; lia). cbn. apply len_replace.
Qed.

Lemma cfg_vm_put : forall st i m, Isolation.Engine_cfg (Isolation.set_Engine_vms (replace_nth i m (Isolation.Engine_vms st)) st)
  = Isolation.Engine_cfg st.
Proof. intros [] i m. reflexivity. Qed.

(** VM_CREATE has no failure outcome and keeps [create_ok]: from any
    engine whose VM slots keep their vCPU counts within their vCPUs, whose
    vCPUs have their 16 words of interrupt lines, whose every slot has room
    for the vCPU limit, and whose table pool has a free bit for every
    table, for any 64-bit count and flags, it returns a vmid and a status,
    records no platform call, and leaves an engine with the same
    properties. *)
Theorem VMCreate_no_failure : forall e tr n flags,
  create_ok e -> 0 <= n < 2 ^ 64 ->
  exists r e', Isolation.Engine_VMCreate root n flags e tr = Ok r e' tr /\ create_ok e'.
Proof.
  intros e tr n flags Hc Hn. pose proof Hc as (Hvo & Hpo & Hmax & Hroom).
  pose proof (slot_search e tr) as Hs. cbv beta iota zeta delta [bind ret] in Hs.
  unfold Isolation.Engine_VMCreate. cbv beta iota zeta delta [bind ret].
  destruct (Z.eqb_spec n 0) as [H0|H0]; [eauto|].
  rewrite deref_root. rewrite wrapu_small by lia.
  destruct (Z.gtb_spec n (Isolation.Config_MaxVCPUs (Isolation.Engine_cfg e))) as [Hg|Hg]; [eauto|].
  rewrite deref_root.
  destruct Hs as ([k0 slot] & Hs & Hslot). cbn [snd] in Hslot.
  rewrite Hs.
  destruct (Z.ltb_spec slot 0) as [Hneg|Hpos]; [eauto|].
  destruct Hslot as [Hslot|Hslot]; [lia|].
  pose proof (pfield_lens root _ _ _ Isolation.Engine_vms Isolation.set_Engine_vms lens_root ltac:(field_laws))
    as (qv0 & Hqv0 & Lv0).
  pose proof (pindex_lens qv0 _ _ _ slot Isolation.zero_vm Lv0) as (v & Hv & Lv).
  change (lens v (slot_valid slot) (fun s => nth (Z.to_nat slot) (Isolation.Engine_vms s) Isolation.zero_vm)
    (fun b s => Isolation.set_Engine_vms (replace_nth (Z.to_nat slot) b (Isolation.Engine_vms s)) s)) in Lv.
  pose proof (pfield_lens v _ _ _ Isolation.vm_s2 Isolation.set_vm_s2 Lv ltac:(field_laws)) as (qs & Hqs & Ls).
  assert (Hv0 : slot_valid slot e) by (split; [exact I|exact Hslot]).
  rewrite Hqv0. rewrite Hv by (exact I || exact Hslot). rewrite Hqs.
  pose proof (newStage2_ok slot qs (wrapu 16 (wraps 64 (slot + 1))) e tr Ls Hc Hv0) as (b & s1 & Hn2 & Hc1 & Hv1 & Hcfg1).
  rewrite Hn2.
  destruct b; cbn [negb]; [|eauto].
  rename s1 into s1_, Hc1 into Hc_s1_, Hv1 into Hv_s1_, Hcfg1 into Hcfg_s1_.
  pose proof (pfield_lens v _ _ _ Isolation.vm_live Isolation.set_vm_live Lv ltac:(field_laws)) as (q_s2_ & Hq_s2_ & L_s2_).
  rewrite Hq_s2_. rewrite (store_lens _ _ _ _ _ _ tr L_s2_ Hv_s1_). cbv beta iota.
  pose proof (lens_valid _ _ _ _ _ (true) L_s2_ Hv_s1_) as Hv_s2_. cbv beta in Hv_s2_.
  pose proof (create_ok_vm_field s1_ slot (fun m => Isolation.set_vm_live (true) m) Hc_s1_ (proj2 Hv_s1_) (fun _ => eq_refl) (fun _ => eq_refl)) as Hc_s2_. cbv beta in Hc_s2_.
  match type of Hc_s2_ with create_ok ?x => set (s2_ := x) in * end.
  assert (Hcfg_s2_ : Isolation.Engine_cfg s2_ = Isolation.Engine_cfg e) by (unfold s2_; rewrite cfg_vm_put; exact Hcfg_s1_).
  pose proof (pfield_lens v _ _ _ Isolation.vm_hasRun Isolation.set_vm_hasRun Lv ltac:(field_laws)) as (q_s3_ & Hq_s3_ & L_s3_).
  rewrite Hq_s3_. rewrite (store_lens _ _ _ _ _ _ tr L_s3_ Hv_s2_). cbv beta iota.
  pose proof (lens_valid _ _ _ _ _ (false) L_s3_ Hv_s2_) as Hv_s3_. cbv beta in Hv_s3_.
  pose proof (create_ok_vm_field s2_ slot (fun m => Isolation.set_vm_hasRun (false) m) Hc_s2_ (proj2 Hv_s2_) (fun _ => eq_refl) (fun _ => eq_refl)) as Hc_s3_. cbv beta in Hc_s3_.
  match type of Hc_s3_ with create_ok ?x => set (s3_ := x) in * end.
  assert (Hcfg_s3_ : Isolation.Engine_cfg s3_ = Isolation.Engine_cfg e) by (unfold s3_; rewrite cfg_vm_put; exact Hcfg_s2_).
  pose proof (pfield_lens v _ _ _ Isolation.vm_nvcpu Isolation.set_vm_nvcpu Lv ltac:(field_laws)) as (q_s4_ & Hq_s4_ & L_s4_).
  rewrite Hq_s4_. rewrite (store_lens _ _ _ _ _ _ tr L_s4_ Hv_s3_). cbv beta iota.
  pose proof (lens_valid _ _ _ _ _ (wraps 64 n) L_s4_ Hv_s3_) as Hv_s4_. cbv beta in Hv_s4_.
  pose proof (create_ok_nvcpu s3_ slot (wraps 64 n) Hc_s3_ (proj2 Hv_s3_) ltac:(rewrite Hcfg_s3_, wraps_small by lia; lia)) as Hc_s4_. cbv beta in Hc_s4_.
  match type of Hc_s4_ with create_ok ?x => set (s4_ := x) in * end.
  assert (Hcfg_s4_ : Isolation.Engine_cfg s4_ = Isolation.Engine_cfg e) by (unfold s4_; rewrite cfg_vm_put; exact Hcfg_s3_).
  pose proof (pfield_lens v _ _ _ Isolation.vm_shadow Isolation.set_vm_shadow Lv ltac:(field_laws)) as (q_s5_ & Hq_s5_ & L_s5_).
  rewrite Hq_s5_. rewrite (store_lens _ _ _ _ _ _ tr L_s5_ Hv_s4_). cbv beta iota.
  pose proof (lens_valid _ _ _ _ _ (Isolation.mk_shadowState (repeat Isolation.zero_shadowReg 4) (repeat 0 256) 0 0) L_s5_ Hv_s4_) as Hv_s5_. cbv beta in Hv_s5_.
  pose proof (create_ok_vm_field s4_ slot (fun m => Isolation.set_vm_shadow (Isolation.mk_shadowState (repeat Isolation.zero_shadowReg 4) (repeat 0 256) 0 0) m) Hc_s4_ (proj2 Hv_s4_) (fun _ => eq_refl) (fun _ => eq_refl)) as Hc_s5_. cbv beta in Hc_s5_.
  match type of Hc_s5_ with create_ok ?x => set (s5_ := x) in * end.
  assert (Hcfg_s5_ : Isolation.Engine_cfg s5_ = Isolation.Engine_cfg e) by (unfold s5_; rewrite cfg_vm_put; exact Hcfg_s4_).
  pose proof (pfield_lens v _ _ _ Isolation.vm_protected Isolation.set_vm_protected Lv ltac:(field_laws)) as (q_s6_ & Hq_s6_ & L_s6_).
  rewrite Hq_s6_. rewrite (store_lens _ _ _ _ _ _ tr L_s6_ Hv_s5_). cbv beta iota.
  pose proof (lens_valid _ _ _ _ _ (negb (Z.land flags Abi.VMProtected =? 0)) L_s6_ Hv_s5_) as Hv_s6_. cbv beta in Hv_s6_.
  pose proof (create_ok_vm_field s5_ slot (fun m => Isolation.set_vm_protected (negb (Z.land flags Abi.VMProtected =? 0)) m) Hc_s5_ (proj2 Hv_s5_) (fun _ => eq_refl) (fun _ => eq_refl)) as Hc_s6_. cbv beta in Hc_s6_.
  match type of Hc_s6_ with create_ok ?x => set (s6_ := x) in * end.
  assert (Hcfg_s6_ : Isolation.Engine_cfg s6_ = Isolation.Engine_cfg e) by (unfold s6_; rewrite cfg_vm_put; exact Hcfg_s5_).
  rewrite (deref_lens _ _ _ _ _ tr Lv Hv_s6_). cbv beta iota.
  pose proof (pfield_lens v _ _ _ Isolation.vm_vcpus Isolation.set_vm_vcpus Lv ltac:(field_laws)) as (qvc & Hqvc & Lvc).
  set (L := len (Isolation.vm_vcpus (nth (Z.to_nat slot) (Isolation.Engine_vms s6_) Isolation.zero_vm))) in *.
  assert (HL : 0 <= L) by (unfold L, len; lia).
  set (id := wrapu 16 (wraps 64 (slot + 1))) in *.
  match goal with |- context [loop _ ?c ?b ?p 0] =>
  destruct (loop_spec L c b p
    (fun k st tr' => create_ok st /\ slot_valid slot st /\
       len (Isolation.vm_vcpus (nth (Z.to_nat slot) (Isolation.Engine_vms st) Isolation.zero_vm)) = L /\
       0 <= k <= L /\ tr' = tr)
    (fun j st tr' => create_ok st /\ tr' = tr /\ match j with Fall _ => True | Jump _ => False end)
    (fun k => Z.to_nat (L - k))) with (l := 0) (s := s6_) (tr := tr) as (j & s' & tr' & Hl & Hq) end.
  - intros k st tr' (Hck & Hvk & HLk & Hk & ->). eexists. split; [reflexivity|]. split.
    + intros Hc'. apply Z.ltb_lt in Hc'. lia.
    + intros _. auto.
  - intros k st tr' (Hck & Hvk & HLk & Hk & ->) Hc'. injection Hc' as Hc'. apply Z.ltb_lt in Hc'.
    pose proof (pindex_lens qvc _ _ _ k Isolation.zero_vcpu Lvc) as (qi & Hqi & Li).
    pose proof (pfield_lens qi _ _ _ Isolation.vcpu_ctx Isolation.set_vcpu_ctx Li ltac:(field_laws)) as (qc & Hqc & Lc).
    pose proof (pfield_lens qc _ _ _ Isolation.Context_VMID Isolation.set_Context_VMID Lc ltac:(field_laws)) as (qid & Hqid & Lid).
    pose proof (pfield_lens qc _ _ _ Isolation.Context_VCPU Isolation.set_Context_VCPU Lc ltac:(field_laws)) as (qvp & Hqvp & Lvp).
    assert (Hvi : slot_valid slot st /\ 0 <= k < len (Isolation.vm_vcpus (nth (Z.to_nat slot) (Isolation.Engine_vms st) Isolation.zero_vm)))
      by (split; [exact Hvk|lia]).
    rewrite Hqvc. rewrite Hqi by (exact Hvk || lia). cbv beta iota.
    rewrite (store_lens _ _ _ _ _ _ tr Li Hvi). cbv beta iota.
    pose proof (lens_valid _ _ _ _ _ (Isolation.mk_vcpu Isolation.zero_VCPUState Isolation.zero_pendingReply
      Isolation.zero_MMIORead Isolation.zero_Context) Li Hvi) as Hvi1. cbv beta in Hvi1.
    pose proof (create_ok_vcpu st slot k (fun _ => Isolation.mk_vcpu Isolation.zero_VCPUState Isolation.zero_pendingReply
      Isolation.zero_MMIORead Isolation.zero_Context) Hck (proj2 Hvk) (proj2 Hvi) (fun _ _ => eq_refl)) as Hc1.
    cbv beta zeta in Hc1.
    match type of Hc1 with create_ok ?x => set (st1 := x) in * end.
    rewrite Hqvc. rewrite Hqi by (exact (proj1 Hvi1) || exact (proj2 Hvi1)). cbv beta iota.
    rewrite Hqc. rewrite Hqid. rewrite (store_lens _ _ _ _ _ _ tr Lid Hvi1). cbv beta iota.
    pose proof (lens_valid _ _ _ _ _ id Lid Hvi1) as Hvi2. cbv beta in Hvi2.
    pose proof (create_ok_vcpu st1 slot k (fun c => Isolation.set_vcpu_ctx (Isolation.set_Context_VMID id (Isolation.vcpu_ctx c)) c)
      Hc1 (proj2 (proj1 Hvi1)) (proj2 Hvi1) (fun _ H => H)) as Hc2.
    cbv beta zeta in Hc2.
    match type of Hc2 with create_ok ?x => set (st2 := x) in * end.
    rewrite Hqvc. rewrite Hqi by (exact (proj1 Hvi2) || exact (proj2 Hvi2)). cbv beta iota.
    rewrite Hqc. rewrite Hqvp. rewrite (store_lens _ _ _ _ _ _ tr Lvp Hvi2). cbv beta iota.
    pose proof (lens_valid _ _ _ _ _ (wrapu 16 k) Lvp Hvi2) as Hvi3. cbv beta in Hvi3.
    pose proof (create_ok_vcpu st2 slot k (fun c => Isolation.set_vcpu_ctx (Isolation.set_Context_VCPU (wrapu 16 k) (Isolation.vcpu_ctx c)) c)
      Hc2 (proj2 (proj1 Hvi2)) (proj2 Hvi2) (fun _ H => H)) as Hc3.
    cbv beta zeta in Hc3.
    match type of Hc3 with create_ok ?x => set (st3 := x) in * end.
    eexists _, _, _. split; [reflexivity|]. eexists. split; [reflexivity|].
    split; [split; [exact Hc3|]|].
    + split; [exact (proj1 Hvi3)|]. split; [|split; [lia|reflexivity]].
      unfold st3. rewrite len_vcpus_put by exact (proj2 (proj1 Hvi2)).
      unfold st2. rewrite len_vcpus_put by exact (proj2 (proj1 Hvi1)).
      unfold st1. rewrite len_vcpus_put by exact (proj2 Hvk). exact HLk.
    + apply Z2Nat.inj_lt; lia.
  - split; [exact Hc_s6_|]. split; [exact Hv_s6_|]. split; [reflexivity|]. split; [lia|reflexivity].
  - destruct (Z.eq_dec L 0) as [E|E].
    + rewrite E. cbn. lia.
    + rewrite fuel_nat by lia. lia.
  - rewrite Hl. destruct Hq as (Hcj & -> & Hj). destruct j as [l|[]]. eauto.
Qed.

(** ** VCPU_INIT and VCPU_IRQ keep [create_ok] *)

Lemma create_ok_vcpu_store : forall e e', create_ok e -> vcpus_ok e' -> vcpu_store e e' -> create_ok e'.
Proof.
  intros e e' Hc Hv' [->|(i & m & j & c & Hn & ->)]; [exact Hc|].
  destruct Hc as (_ & Hp & Hm & Hall). split; [exact Hv'|].
  unfold put_vcpu, put_vm. destruct e; cbn in *. split; [exact Hp|]. split; [exact Hm|].
  apply Forall_replace; [exact Hall|]. cbn. rewrite len_replace.
  rewrite Forall_forall in Hall. apply Hall. eapply nth_error_In. exact Hn.
Qed.

(** VCPU_INIT has no failure outcome and keeps [create_ok]. *)
Theorem VCPUInit_create_ok : forall e tr id v entry arg,
  create_ok e -> 0 <= id < 2 ^ 64 -> 0 <= v < 2 ^ 64 ->
  exists st e', Isolation.Engine_VCPUInit root id v entry arg e tr = Ok st e' tr /\ create_ok e'.
Proof.
  intros e tr id v entry arg Hc Hid Hv.
  pose proof (VCPUInit_no_failure e tr id v entry arg (proj1 Hc) Hid Hv) as (st & e' & H & Hv' & Hs & _).
  exists st, e'. split; [exact H|]. eapply create_ok_vcpu_store; eassumption.
Qed.

(** VCPU_IRQ has no failure outcome and keeps [create_ok]. *)
Theorem VCPUIRQ_create_ok : forall e tr id v intid level,
  create_ok e -> 0 <= id < 2 ^ 64 -> 0 <= v < 2 ^ 64 -> 0 <= intid < 2 ^ 64 ->
  exists st e', Isolation.Engine_VCPUIRQ root id v intid level e tr = Ok st e' tr /\ create_ok e'.
Proof.
  intros e tr id v intid level Hc Hid Hv Hi.
  pose proof (VCPUIRQ_inv e tr id v intid level (proj1 Hc) Hid Hv Hi) as (st & e' & H & Hv' & Hs & _).
  exists st, e'. split; [exact H|]. eapply create_ok_vcpu_store; eassumption.
Qed.
