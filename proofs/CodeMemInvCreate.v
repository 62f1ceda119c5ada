(** * VM_CREATE keeps the memory calls' invariant

    Lemmas about proofs/code/Isolation.v, the translation of
    isolation/vm.go (VM_CREATE) and isolation/pool.go (allocRoot, take),
    that carry [mem_inv] (CodeOwns: [mem_ok], [s2_owned], [dead_no_root])
    across VM_CREATE.
    Proved here:
    - allocRoot keeps the bitmap [bits_ok] and the count [count_ok] of the
      pool when it takes a pair ([allocRoot_spec_ok]): each take is
      [taken_w] (CodeUpdateL2), so [taken_bits] and [take_count] apply
      twice; newStage2 and VM_CREATE carry this to the pool they leave
      ([newStage2_spec_ok], [VMCreate_spec_ok], [VMCreate_cases_ok]),
      following the steps of CodeVMCreateRefine.VMCreate_spec;
    - every outcome of VM_CREATE keeps [pool_inv] and [pool_placed]
      ([VMCreate_pool_inv]), [dead_no_root] ([VMCreate_dead_no_root]:
      the only slot whose root changes is the lowest free one, which
      either gets root -1 or is made live), [s2_owned]
      ([VMCreate_s2_owned], with CodeVMCreateInv's [VMCreate_owns] and
      [VMCreate_disjoint]), and so [mem_inv] ([VMCreate_keeps_mem_inv]). *)
From Coq Require Import ZArith Lia List Bool.
From Bulkhead.Spec Require Import State Spec.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodePlace CodeTrack CodeLens CodeLoop CodeLedger CodeVCPU CodeVMCreate CodeShadow
  CodeStage2 CodePool CodeFree CodeAbsLedger CodeAbs CodeMemCall Lemmas CodeAbi CodeUpdate CodeUpdateFrame CodeUpdateL2
  CodeUpdateRoot CodeTransfer CodeMemNoFailure CodeVMCreateRefine CodeVMCreateInv CodeOwns.
Import ListNotations.
Open Scope Z_scope.

(** ** allocRoot keeps the bitmap and the count *)

(** [root_taken], and the pool's bitmap and count stay sound. *)
Definition root_taken_ok (p q : Isolation.tablePool) (r : Z) : Prop :=
  root_taken p q r /\ (pool_ok p -> bits_ok p -> count_ok p -> bits_ok q /\ count_ok q).

Lemma taken_refine : forall p q i, CodeUpdate.taken p q i -> CodeVMCreateRefine.taken p q i.
Proof.
  intros p q i (S & _ & F & O & B & T). split; [exact S|]. split; [exact B|]. split; [exact T|].
  split; [exact F|exact O].
Qed.

Lemma allocRoot_spec_ok : forall pp s tr, pool_lens pp -> pool_ok (Isolation.Engine_pool s) ->
  Isolation.tablePool_allocRoot pp s tr = Ok (-1) s tr \/
  exists r q, Isolation.tablePool_allocRoot pp s tr = Ok r (Isolation.set_Engine_pool q s) tr /\
    root_taken_ok (Isolation.Engine_pool s) q r.
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
       | Jump x => exists q, st = Isolation.set_Engine_pool q s /\ root_taken_ok (Isolation.Engine_pool s) q x end)
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
        -- destruct (take_spec_w pp s i tr Hpp Hok ltac:(unfold ntables; fold n; lia)) as (q1 & Ht1 & Hs1).
           pose proof (same_shape_ok _ _ Hok (proj1 (proj1 Hs1))) as Hok1.
           assert (Hn1 : ntables q1 = ntables (Isolation.Engine_pool s))
             by (destruct Hs1 as (([E _] & _) & _); exact E).
           destruct (take_spec_w pp (Isolation.set_Engine_pool q1 s) (i + 1) tr Hpp ltac:(rewrite get_set_pool; exact Hok1)
                       ltac:(rewrite get_set_pool, Hn1; unfold ntables; fold n; lia)) as (q2 & Ht2 & Hs2).
           rewrite get_set_pool, set_pool_twice in *.
           unfold bind at 1. rewrite Ht1. cbv beta iota.
           unfold bind at 1. rewrite Ht2. cbv beta iota. unfold ret.
           eexists _, _, _. split; [reflexivity|]. split; [reflexivity|].
           exists q2. split; [reflexivity|]. split.
           ++ apply taken_twice with q1; try assumption; try (unfold ntables; fold n; lia).
              ** exact (taken_refine _ _ _ (proj1 Hs1)).
              ** exact (taken_refine _ _ _ (proj1 Hs2)).
           ++ intros _ Hbits Hcount.
              assert (Hi1 : 0 <= i < ntables (Isolation.Engine_pool s)) by (unfold ntables; fold n; lia).
              assert (Hb21 : free_bit q1 (i + 1) = true)
                by (destruct Hs1 as ((_ & _ & _ & O & _) & _); rewrite O by lia; exact E2).
              pose proof (taken_bits _ _ i Hbits Hi1 Hs1) as Hbits1.
              pose proof (take_count _ _ i Hok Hcount Hi1 E1 (proj1 Hs1)) as [Hcount1 _].
              split.
              ** exact (taken_bits _ _ (i + 1) Hbits1 ltac:(rewrite Hn1; unfold ntables; fold n; lia) Hs2).
              ** exact (proj1 (take_count _ _ (i + 1) Hok1 Hcount1 ltac:(rewrite Hn1; unfold ntables; fold n; lia)
                   Hb21 (proj1 Hs2))).
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

(** ** newStage2 and VM_CREATE, with the pool's bitmap and count *)

(** As CodeVMCreateRefine.newStage2_spec, with [root_taken_ok]. *)
Lemma newStage2_spec_ok : forall i qs id s tr,
  lens qs (CodeVMCreate.slot_valid i) (fun s => Isolation.vm_s2 (nth (Z.to_nat i) (Isolation.Engine_vms s) Isolation.zero_vm))
    (fun b s => Isolation.set_Engine_vms (replace_nth (Z.to_nat i)
       (Isolation.set_vm_s2 b (nth (Z.to_nat i) (Isolation.Engine_vms s) Isolation.zero_vm)) (Isolation.Engine_vms s)) s) ->
  create_ok s -> CodeVMCreate.slot_valid i s ->
  let m := nth (Z.to_nat i) (Isolation.Engine_vms s) Isolation.zero_vm in
  Isolation.Engine_newStage2 root qs id s tr =
    Ok false (at_slot s (Z.to_nat i) (Isolation.set_vm_s2 (Isolation.mk_stage2 (-1) id) m)) tr \/
  exists r q, Isolation.Engine_newStage2 root qs id s tr =
    Ok true (at_slot (Isolation.set_Engine_pool q s) (Z.to_nat i) (Isolation.set_vm_s2 (Isolation.mk_stage2 r id) m)) tr /\
    root_taken_ok (Isolation.Engine_pool s) q r.
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
  destruct (allocRoot_spec_ok qp s1 tr Lp (proj1 (proj2 Hc1))) as [Ha|(r & q & Ha & Hsh)].
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
    destruct Hsh as ((Hr & _) & _). cbn [Isolation.set_vm_s2 Isolation.vm_s2 Isolation.set_stage2_root Isolation.stage2_root].
    replace (r >=? 0) with true by (symmetry; apply Z.geb_le; lia). unfold ret, X1. reflexivity.
Qed.

(** As CodeVMCreateRefine.VMCreate_spec, with [root_taken_ok]. *)
Theorem VMCreate_spec_ok : forall e tr n flags,
  create_ok e -> 0 <= n < 2 ^ 64 ->
  exists r e', Isolation.Engine_VMCreate root n flags e tr = Ok r e' tr /\ create_ok e' /\
  (((n = 0 \/ Isolation.Config_MaxVCPUs (Isolation.Engine_cfg e) < n) /\ r = (0, Abi.InvalidParameters) /\ e' = e) \/
   (0 < n <= Isolation.Config_MaxVCPUs (Isolation.Engine_cfg e) /\ all_live e /\ r = (0, Abi.NoMemory) /\ e' = e) \/
   (exists slot, 0 < n <= Isolation.Config_MaxVCPUs (Isolation.Engine_cfg e) /\ first_free e slot /\
     let m := nth (Z.to_nat slot) (Isolation.Engine_vms e) Isolation.zero_vm in
     let id := wrapu 16 (wraps 64 (slot + 1)) in
     ((r = (0, Abi.NoMemory) /\ e' = at_slot e (Z.to_nat slot) (Isolation.set_vm_s2 (Isolation.mk_stage2 (-1) id) m)) \/
      exists rt q vcs, r = (id, Abi.Success) /\ root_taken_ok (Isolation.Engine_pool e) q rt /\
        e' = at_slot (Isolation.set_Engine_pool q e) (Z.to_nat slot) (new_vm n flags id rt vcs) /\
        fresh_vcpus id (Isolation.vm_vcpus m) vcs))).
Proof.
  intros e tr n flags Hc Hn. pose proof Hc as (Hvo & Hpo & Hmax & Hroom).
  pose proof (slot_search_spec e tr) as Hs. cbv beta iota zeta delta [bind ret] in Hs.
  unfold Isolation.Engine_VMCreate. cbv beta iota zeta delta [bind ret].
  destruct (Z.eqb_spec n 0) as [H0|H0].
  { eexists _, _. split; [reflexivity|]. split; [exact Hc|]. left. auto. }
  rewrite deref_root. rewrite wrapu_small by lia.
  destruct (Z.gtb_spec n (Isolation.Config_MaxVCPUs (Isolation.Engine_cfg e))) as [Hg|Hg].
  { eexists _, _. split; [reflexivity|]. split; [exact Hc|]. left. auto. }
  rewrite deref_root.
  destruct Hs as ([k0 slot] & Hs & Hslot). cbn [snd] in Hslot.
  rewrite Hs.
  destruct (Z.ltb_spec slot 0) as [Hneg|Hpos].
  { destruct Hslot as [[_ Hall]|(Hf & _)]; [|lia].
    eexists _, _. split; [reflexivity|]. split; [exact Hc|]. right. left. split; [lia|]. auto. }
  destruct Hslot as [[Hm1 _]|Hff]; [lia|].
  pose proof Hff as (Hslot & _ & _).
  assert (Hsl : (Z.to_nat slot < length (Isolation.Engine_vms e))%nat) by (unfold len in Hslot; lia).
  destruct (pfield_lens root _ _ _ Isolation.Engine_vms Isolation.set_Engine_vms lens_root ltac:(field_laws))
    as (qv0 & Hqv0 & Lv0).
  destruct (pindex_lens qv0 _ _ _ slot Isolation.zero_vm Lv0) as (v & Hv & Lv).
  change (lens v (CodeVMCreate.slot_valid slot) (fun s => nth (Z.to_nat slot) (Isolation.Engine_vms s) Isolation.zero_vm)
    (fun b s => Isolation.set_Engine_vms (replace_nth (Z.to_nat slot) b (Isolation.Engine_vms s)) s)) in Lv.
  destruct (pfield_lens v _ _ _ Isolation.vm_s2 Isolation.set_vm_s2 Lv ltac:(field_laws)) as (qs & Hqs & Ls).
  assert (Hv0 : CodeVMCreate.slot_valid slot e) by (split; [exact I|exact Hslot]).
  rewrite Hqv0. rewrite Hv by (exact I || exact Hslot). rewrite Hqs.
  set (id := wrapu 16 (wraps 64 (slot + 1))) in *.
  set (m := nth (Z.to_nat slot) (Isolation.Engine_vms e) Isolation.zero_vm).
  pose proof (newStage2_spec_ok slot qs id e tr Ls Hc Hv0) as Hn2. cbv zeta in Hn2. fold m in Hn2.
  destruct Hn2 as [Hn2|(rt & q & Hn2 & Hrt)].
  { rewrite Hn2. cbn [negb]. eexists _, _. split; [reflexivity|]. split.
    - exact (create_ok_vm_field e slot (fun m => Isolation.set_vm_s2 (Isolation.mk_stage2 (-1) id) m) Hc Hslot
        (fun _ => eq_refl) (fun _ => eq_refl)).
    - right. right. exists slot. split; [lia|]. split; [exact Hff|]. left. auto. }
  rewrite Hn2. cbn [negb].
  set (E := Isolation.set_Engine_pool q e) in *.
  assert (HsE : (Z.to_nat slot < length (Isolation.Engine_vms E))%nat) by (unfold E; rewrite vms_set_pool; exact Hsl).
  pose proof Hrt as ((_ & _ & _ & _ & Hshape & _) & _).
  pose proof (create_ok_set_pool e q Hc Hshape) as HcE. fold E in HcE.
  set (X1 := Isolation.set_vm_s2 (Isolation.mk_stage2 rt id) m).
  set (s1_ := at_slot E (Z.to_nat slot) X1).
  assert (Hc_s1_ : create_ok s1_)
    by exact (create_ok_vm_field E slot (fun m => Isolation.set_vm_s2 (Isolation.mk_stage2 rt id) m) HcE
                ltac:(unfold E; rewrite vms_set_pool; exact Hslot) (fun _ => eq_refl) (fun _ => eq_refl)).
  assert (Hv_s1_ : CodeVMCreate.slot_valid slot s1_)
    by (split; [exact I|]; unfold s1_, len; rewrite len_vms_at_slot; unfold E; rewrite vms_set_pool; exact Hslot).
  assert (Hcfg_s1_ : Isolation.Engine_cfg s1_ = Isolation.Engine_cfg e) by (unfold s1_, E; destruct e; reflexivity).
  destruct (pfield_lens v _ _ _ Isolation.vm_live Isolation.set_vm_live Lv ltac:(field_laws)) as (q_s2_ & Hq_s2_ & L_s2_).
  rewrite Hq_s2_. rewrite (store_lens _ _ _ _ _ _ tr L_s2_ Hv_s1_). cbv beta iota.
  pose proof (lens_valid _ _ _ _ _ (true) L_s2_ Hv_s1_) as Hv_s2_. cbv beta in Hv_s2_.
  pose proof (create_ok_vm_field s1_ slot (fun m => Isolation.set_vm_live (true) m) Hc_s1_ (proj2 Hv_s1_) (fun _ => eq_refl) (fun _ => eq_refl)) as Hc_s2_. cbv beta in Hc_s2_.
  match type of Hc_s2_ with create_ok ?x => set (s2_ := x) in * end.
  assert (Hcfg_s2_ : Isolation.Engine_cfg s2_ = Isolation.Engine_cfg e) by (unfold s2_; rewrite cfg_vm_put; exact Hcfg_s1_).
  destruct (pfield_lens v _ _ _ Isolation.vm_hasRun Isolation.set_vm_hasRun Lv ltac:(field_laws)) as (q_s3_ & Hq_s3_ & L_s3_).
  rewrite Hq_s3_. rewrite (store_lens _ _ _ _ _ _ tr L_s3_ Hv_s2_). cbv beta iota.
  pose proof (lens_valid _ _ _ _ _ (false) L_s3_ Hv_s2_) as Hv_s3_. cbv beta in Hv_s3_.
  pose proof (create_ok_vm_field s2_ slot (fun m => Isolation.set_vm_hasRun (false) m) Hc_s2_ (proj2 Hv_s2_) (fun _ => eq_refl) (fun _ => eq_refl)) as Hc_s3_. cbv beta in Hc_s3_.
  match type of Hc_s3_ with create_ok ?x => set (s3_ := x) in * end.
  assert (Hcfg_s3_ : Isolation.Engine_cfg s3_ = Isolation.Engine_cfg e) by (unfold s3_; rewrite cfg_vm_put; exact Hcfg_s2_).
  destruct (pfield_lens v _ _ _ Isolation.vm_nvcpu Isolation.set_vm_nvcpu Lv ltac:(field_laws)) as (q_s4_ & Hq_s4_ & L_s4_).
  rewrite Hq_s4_. rewrite (store_lens _ _ _ _ _ _ tr L_s4_ Hv_s3_). cbv beta iota.
  pose proof (lens_valid _ _ _ _ _ (wraps 64 n) L_s4_ Hv_s3_) as Hv_s4_. cbv beta in Hv_s4_.
  pose proof (create_ok_nvcpu s3_ slot (wraps 64 n) Hc_s3_ (proj2 Hv_s3_) ltac:(rewrite Hcfg_s3_, wraps_small by lia; lia)) as Hc_s4_. cbv beta in Hc_s4_.
  match type of Hc_s4_ with create_ok ?x => set (s4_ := x) in * end.
  assert (Hcfg_s4_ : Isolation.Engine_cfg s4_ = Isolation.Engine_cfg e) by (unfold s4_; rewrite cfg_vm_put; exact Hcfg_s3_).
  destruct (pfield_lens v _ _ _ Isolation.vm_shadow Isolation.set_vm_shadow Lv ltac:(field_laws)) as (q_s5_ & Hq_s5_ & L_s5_).
  rewrite Hq_s5_. rewrite (store_lens _ _ _ _ _ _ tr L_s5_ Hv_s4_). cbv beta iota.
  pose proof (lens_valid _ _ _ _ _ (Isolation.mk_shadowState (repeat Isolation.zero_shadowReg 4) (repeat 0 256) 0 0) L_s5_ Hv_s4_) as Hv_s5_. cbv beta in Hv_s5_.
  pose proof (create_ok_vm_field s4_ slot (fun m => Isolation.set_vm_shadow (Isolation.mk_shadowState (repeat Isolation.zero_shadowReg 4) (repeat 0 256) 0 0) m) Hc_s4_ (proj2 Hv_s4_) (fun _ => eq_refl) (fun _ => eq_refl)) as Hc_s5_. cbv beta in Hc_s5_.
  match type of Hc_s5_ with create_ok ?x => set (s5_ := x) in * end.
  assert (Hcfg_s5_ : Isolation.Engine_cfg s5_ = Isolation.Engine_cfg e) by (unfold s5_; rewrite cfg_vm_put; exact Hcfg_s4_).
  destruct (pfield_lens v _ _ _ Isolation.vm_protected Isolation.set_vm_protected Lv ltac:(field_laws)) as (q_s6_ & Hq_s6_ & L_s6_).
  rewrite Hq_s6_. rewrite (store_lens _ _ _ _ _ _ tr L_s6_ Hv_s5_). cbv beta iota.
  pose proof (lens_valid _ _ _ _ _ (negb (Z.land flags Abi.VMProtected =? 0)) L_s6_ Hv_s5_) as Hv_s6_. cbv beta in Hv_s6_.
  pose proof (create_ok_vm_field s5_ slot (fun m => Isolation.set_vm_protected (negb (Z.land flags Abi.VMProtected =? 0)) m) Hc_s5_ (proj2 Hv_s5_) (fun _ => eq_refl) (fun _ => eq_refl)) as Hc_s6_. cbv beta in Hc_s6_.
  match type of Hc_s6_ with create_ok ?x => set (s6_ := x) in * end.
  set (X6 := new_vm (wraps 64 n) flags id rt (Isolation.vm_vcpus m)).
  assert (E6 : s6_ = at_slot E (Z.to_nat slot) X6).
  { unfold s6_, s5_, s4_, s3_, s2_, s1_. slot_rw ltac:(rewrite ?len_vms_at_slot; exact HsE). reflexivity. }
  rewrite (deref_lens _ _ _ _ _ tr Lv Hv_s6_). cbv beta iota.
  destruct (pfield_lens v _ _ _ Isolation.vm_vcpus Isolation.set_vm_vcpus Lv ltac:(field_laws)) as (qvc & Hqvc & Lvc).
  set (L := len (Isolation.vm_vcpus (nth (Z.to_nat slot) (Isolation.Engine_vms s6_) Isolation.zero_vm))) in *.
  assert (HL : 0 <= L) by (unfold L, len; lia).
  assert (HLm : L = len (Isolation.vm_vcpus m)) by (unfold L; rewrite E6, vms_at_slot by exact HsE; reflexivity).
  match goal with |- context [loop _ ?c ?b ?p 0] =>
  destruct (loop_spec L c b p
    (fun k st tr' => create_ok st /\ CodeVMCreate.slot_valid slot st /\
       len (Isolation.vm_vcpus (nth (Z.to_nat slot) (Isolation.Engine_vms st) Isolation.zero_vm)) = L /\
       0 <= k <= L /\ tr' = tr /\
       exists vcs, st = at_slot E (Z.to_nat slot) (Isolation.set_vm_vcpus vcs X6) /\
         length vcs = length (Isolation.vm_vcpus m) /\
         forall j, (j < Z.to_nat k)%nat -> nth j vcs Isolation.zero_vcpu = new_vcpu id (Z.of_nat j))
    (fun j st tr' => create_ok st /\ tr' = tr /\ match j with Fall _ => True | Jump _ => False end /\
       exists vcs, st = at_slot E (Z.to_nat slot) (Isolation.set_vm_vcpus vcs X6) /\ fresh_vcpus id (Isolation.vm_vcpus m) vcs)
    (fun k => Z.to_nat (L - k))) with (l := 0) (s := s6_) (tr := tr) as (j & s' & tr' & Hl & Hq) end.
  - intros k st tr' (Hck & Hvk & HLk & Hk & -> & vcs & Est & Hlen & Hpre). eexists. split; [reflexivity|]. split.
    + intros Hc'. apply Z.ltb_lt in Hc'. lia.
    + intros Hc'. apply Z.ltb_ge in Hc'. split; [exact Hck|]. split; [reflexivity|]. split; [exact I|].
      exists vcs. split; [exact Est|]. split; [exact Hlen|].
      intros j Hj. apply Hpre. unfold len in HLm. lia.
  - intros k st tr' (Hck & Hvk & HLk & Hk & -> & vcs & Est & Hlen & Hpre) Hc'. injection Hc' as Hc'. apply Z.ltb_lt in Hc'.
    destruct (pindex_lens qvc _ _ _ k Isolation.zero_vcpu Lvc) as (qi & Hqi & Li).
    destruct (pfield_lens qi _ _ _ Isolation.vcpu_ctx Isolation.set_vcpu_ctx Li ltac:(field_laws)) as (qc & Hqc & Lc).
    destruct (pfield_lens qc _ _ _ Isolation.Context_VMID Isolation.set_Context_VMID Lc ltac:(field_laws)) as (qid & Hqid & Lid).
    destruct (pfield_lens qc _ _ _ Isolation.Context_VCPU Isolation.set_Context_VCPU Lc ltac:(field_laws)) as (qvp & Hqvp & Lvp).
    assert (Hvi : CodeVMCreate.slot_valid slot st /\ 0 <= k < len (Isolation.vm_vcpus (nth (Z.to_nat slot) (Isolation.Engine_vms st) Isolation.zero_vm)))
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
    assert (Hkv : (Z.to_nat k < length vcs)%nat) by (unfold len in HLm; lia).
    assert (Est3 : st3 = at_slot E (Z.to_nat slot) (Isolation.set_vm_vcpus (replace_nth (Z.to_nat k) (new_vcpu id k) vcs) X6)).
    { unfold st3, st2, st1. subst st. slot_rw ltac:(rewrite ?len_vms_at_slot; exact HsE).
      f_equal. cbv beta iota delta [Isolation.set_vm_vcpus Isolation.vm_vcpus]. f_equal.
      rewrite !nth_replace_nth_same by (rewrite ?replace_nth_length; exact Hkv).
      rewrite !replace_replace. reflexivity. }
    eexists _, _, _. split; [reflexivity|]. eexists. split; [reflexivity|].
    split; [split; [exact Hc3|]|].
    + split; [exact (proj1 Hvi3)|]. split; [|split; [lia|split; [reflexivity|]]].
      * unfold st3. rewrite len_vcpus_put by exact (proj2 (proj1 Hvi2)).
        unfold st2. rewrite len_vcpus_put by exact (proj2 (proj1 Hvi1)).
        unfold st1. rewrite len_vcpus_put by exact (proj2 Hvk). exact HLk.
      * exists (replace_nth (Z.to_nat k) (new_vcpu id k) vcs). split; [exact Est3|].
        split; [rewrite replace_nth_length; exact Hlen|].
        intros j Hj. destruct (Nat.eq_dec j (Z.to_nat k)) as [->|Hne].
        -- rewrite nth_replace_nth_same by exact Hkv. rewrite Z2Nat.id by lia. reflexivity.
        -- rewrite nth_replace_nth_other' by congruence. apply Hpre. lia.
    + apply Z2Nat.inj_lt; lia.
  - split; [exact Hc_s6_|]. split; [exact Hv_s6_|]. split; [reflexivity|]. split; [lia|]. split; [reflexivity|].
    exists (Isolation.vm_vcpus m). split; [exact E6|]. split; [reflexivity|]. intros j Hj. lia.
  - destruct (Z.eq_dec L 0) as [E0|E0].
    + rewrite E0. cbn. lia.
    + rewrite fuel_nat by lia. lia.
  - rewrite Hl. destruct Hq as (Hcj & -> & Hj & vcs & Es' & Hfr). destruct j as [l|[]].
    eexists _, _. split; [reflexivity|]. split; [exact Hcj|]. right. right. exists slot.
    split; [lia|]. split; [exact Hff|]. right. exists rt, q, vcs. split; [reflexivity|]. split; [exact Hrt|].
    split; [|exact Hfr]. rewrite Es'. unfold X6. rewrite wraps_small by lia. reflexivity.
Qed.

(** As CodeVMCreateInv.VMCreate_cases, with [root_taken_ok]. *)
Theorem VMCreate_cases_ok : forall e tr n flags r e' tr', create_ok e -> 0 <= n < 2 ^ 64 ->
  Isolation.Engine_VMCreate root n flags e tr = Ok r e' tr' ->
  e' = e \/
  (exists slot id, first_free e slot /\
     e' = at_slot e (Z.to_nat slot)
            (Isolation.set_vm_s2 (Isolation.mk_stage2 (-1) id) (nth (Z.to_nat slot) (Isolation.Engine_vms e) Isolation.zero_vm))) \/
  (exists slot rt q X, first_free e slot /\ root_taken_ok (Isolation.Engine_pool e) q rt /\
     Isolation.vm_live X = true /\ Isolation.stage2_root (Isolation.vm_s2 X) = rt /\
     e' = at_slot (Isolation.set_Engine_pool q e) (Z.to_nat slot) X).
Proof.
  intros e tr n flags r e' tr' Hc Hn Hrun.
  destruct (VMCreate_spec_ok e tr n flags Hc Hn) as (r0 & e0 & Hrun0 & _ & Hcase).
  rewrite Hrun0 in Hrun. injection Hrun as E1 E2 E3. subst e0.
  destruct Hcase as [(_ & _ & ->)|[(_ & _ & _ & ->)|(slot & _ & Hff & Hsub)]]; [left; reflexivity|left; reflexivity|].
  cbv zeta in Hsub. destruct Hsub as [(_ & ->)|(rt & q & vcs & _ & Hrt & -> & _)].
  - right. left. eexists _, _. split; [exact Hff|reflexivity].
  - right. right. exists slot, rt, q, (new_vm n flags (wrapu 16 (wraps 64 (slot + 1))) rt vcs).
    split; [exact Hff|]. split; [exact Hrt|]. split; [reflexivity|]. split; reflexivity.
Qed.

(** ** Lists, slots and frames *)

(** ** What VM_CREATE keeps *)

(** [pool_inv] and [pool_placed] read only the pool and the platform. *)
Lemma pool_inv_eq : forall e e', Isolation.Engine_pool e' = Isolation.Engine_pool e ->
  Isolation.Engine_plat e' = Isolation.Engine_plat e -> pool_inv e -> pool_placed e -> pool_inv e' /\ pool_placed e'.
Proof.
  intros e e' Ep Epl H1 H2. unfold pool_inv, pool_placed, tables_ok, tables, pool_base in *. rewrite Ep, Epl.
  split; assumption.
Qed.

(** VM_CREATE keeps the configuration, the number of VM slots, the
    ledger and the platform. *)
Lemma VMCreate_frame : forall e tr n flags r e' tr', create_ok e -> 0 <= n < 2 ^ 64 ->
  Isolation.Engine_VMCreate root n flags e tr = Ok r e' tr' ->
  Isolation.Engine_cfg e' = Isolation.Engine_cfg e /\
  length (Isolation.Engine_vms e') = length (Isolation.Engine_vms e) /\
  Isolation.Engine_pages e' = Isolation.Engine_pages e /\ Isolation.Engine_plat e' = Isolation.Engine_plat e.
Proof.
  intros e tr n flags r e' tr' Hc Hn Hrun.
  destruct (VMCreate_cases_ok e tr n flags r e' tr' Hc Hn Hrun)
    as [->|[(slot & id & _ & ->)|(slot & rt & q & X & _ & _ & _ & _ & ->)]].
  - auto.
  - rewrite len_vms_at_slot. destruct e; auto.
  - rewrite len_vms_at_slot, vms_set_pool. destruct e; auto.
Qed.

(** Every outcome of VM_CREATE keeps a sound, placed pool: the errors
    leave the pool as it was, SUCCESS leaves it as allocRoot took a pair
    ([root_taken_ok]). *)
Theorem VMCreate_pool_inv : forall e tr n flags r e' tr', create_ok e -> 0 <= n < 2 ^ 64 ->
  pool_inv e -> pool_placed e ->
  Isolation.Engine_VMCreate root n flags e tr = Ok r e' tr' -> pool_inv e' /\ pool_placed e'.
Proof.
  intros e tr n flags r e' tr' Hc Hn Hp Hpl Hrun.
  pose proof (VMCreate_frame e tr n flags r e' tr' Hc Hn Hrun) as (_ & _ & _ & Eplat).
  destruct (VMCreate_cases_ok e tr n flags r e' tr' Hc Hn Hrun)
    as [->|[(slot & id & _ & ->)|(slot & rt & q & X & _ & (Hrt & Hbc) & _ & _ & ->)]].
  - split; assumption.
  - apply (pool_inv_eq e); [destruct e; reflexivity|exact Eplat|exact Hp|exact Hpl].
  - pose proof Hp as (Hok & Hpo & Hbits & Hcount & Hplat).
    pose proof Hrt as (_ & _ & _ & _ & Hsh & Eb & _).
    destruct (Hbc Hpo Hbits Hcount) as [Hbits' Hcount'].
    assert (Ep : Isolation.Engine_pool (at_slot (Isolation.set_Engine_pool q e) (Z.to_nat slot) X) = q)
      by (destruct e; reflexivity).
    split.
    + split; [exact (tables_ok_taken e q rt Hok Hrt _ _)|]. rewrite Ep, Eplat.
      split; [exact (same_shape_ok _ _ Hpo Hsh)|]. split; [exact Hbits'|]. split; [exact Hcount'|exact Hplat].
    + unfold pool_placed, pool_base, tables in *. rewrite Ep, Eb, (proj1 Hsh). exact Hpl.
Qed.

(** Every outcome of VM_CREATE keeps [dead_no_root]: the only slot
    whose stage-2 record changes is the lowest free one, which gets root
    -1 (NO_MEMORY) or is made live (SUCCESS). *)
Theorem VMCreate_dead_no_root : forall e tr n flags r e' tr', create_ok e -> 0 <= n < 2 ^ 64 ->
  dead_no_root e -> Isolation.Engine_VMCreate root n flags e tr = Ok r e' tr' -> dead_no_root e'.
Proof.
  intros e tr n flags r e' tr' Hc Hn Hd Hrun.
  destruct (VMCreate_cases_ok e tr n flags r e' tr' Hc Hn Hrun)
    as [->|[(slot & id & _ & ->)|(slot & rt & q & X & _ & _ & HX & _ & ->)]].
  - exact Hd.
  - intros m Hin Hl. rewrite vms_at in Hin. apply In_replace in Hin as [->|Hin].
    + cbn. lia.
    + exact (Hd m Hin Hl).
  - intros m Hin Hl. rewrite vms_at, vms_set_pool in Hin. apply In_replace in Hin as [->|Hin].
    + rewrite HX in Hl. discriminate Hl.
    + exact (Hd m Hin Hl).
Qed.

(** Every outcome of VM_CREATE keeps [s2_owned]. *)
Theorem VMCreate_s2_owned : forall e tr n flags r e' tr', create_ok e -> 0 <= n < 2 ^ 64 ->
  s2_owned e -> Isolation.Engine_VMCreate root n flags e tr = Ok r e' tr' -> s2_owned e'.
Proof.
  intros e tr n flags r e' tr' Hc Hn (Hp & Hpl & Hh & Hv & Hd) Hrun.
  destruct (VMCreate_pool_inv e tr n flags r e' tr' Hc Hn Hp Hpl Hrun) as [Hp' Hpl'].
  destruct (VMCreate_owns e tr n flags r e' tr' Hc Hn Hh Hv Hrun) as [Hh' Hv'].
  split; [exact Hp'|]. split; [exact Hpl'|]. split; [exact Hh'|]. split; [exact Hv'|].
  exact (VMCreate_disjoint e tr n flags r e' tr' Hc Hn Hh Hv Hd Hrun).
Qed.

(** [mem_ok] reads the configuration, the number of VM slots, the
    ledger's length and the stage-2s: an engine with the same
    configuration, as many slots and as long a ledger, whose stage-2s are
    owned and whose slots not live have no root, has [mem_inv]. *)
Lemma mem_inv_of : forall e e', mem_ok e -> s2_owned e' -> dead_no_root e' ->
  Isolation.Engine_cfg e' = Isolation.Engine_cfg e ->
  length (Isolation.Engine_vms e') = length (Isolation.Engine_vms e) ->
  len (Isolation.Engine_pages e') = len (Isolation.Engine_pages e) -> mem_inv e'.
Proof.
  intros e e' (Hl & Hb & Hs & Hvl & _ & _) Ho Hdead Ec Ev Ep.
  pose proof Ho as ((Hok & _) & _ & _ & Hvms & _).
  split; [|split; [exact Ho|exact Hdead]].
  unfold mem_ok. split; [unfold ledger_ok in *; rewrite Ec, Ep; exact Hl|].
  rewrite Ec. split; [exact Hb|]. split; [exact Hs|]. split; [unfold len in *; rewrite Ev; exact Hvl|].
  split; [exact Hok|].
  apply Forall_forall. intros m Hin. destruct (Isolation.vm_live m) eqn:Hlive.
  - right. exact (proj1 (Hvms m Hin Hlive)).
  - left. exact (Hdead m Hin Hlive).
Qed.

(** Every outcome of VM_CREATE (SUCCESS, NO_MEMORY with every slot live
    or no free root pair, INVALID_PARAMETERS) keeps [mem_inv]. Beyond
    [mem_inv], VM_CREATE needs [create_ok] (CodeVMCreate: the pool's
    bitmap as long as its tables need, the VMs' vCPU lists as long as the
    configuration's maximum), as [VMCreate_spec] does; the vCPU count is
    a 64-bit word, as the call's register holds. *)
Theorem VMCreate_keeps_mem_inv_ok : forall e tr n flags r e' tr', create_ok e -> mem_inv e -> 0 <= n < 2 ^ 64 ->
  Isolation.Engine_VMCreate root n flags e tr = Ok r e' tr' -> mem_inv e'.
Proof.
  intros e tr n flags r e' tr' Hc (Hm & Ho & Hd) Hn Hrun.
  destruct (VMCreate_frame e tr n flags r e' tr' Hc Hn Hrun) as (Ec & Ev & Ep & _).
  apply (mem_inv_of e e' Hm).
  - exact (VMCreate_s2_owned e tr n flags r e' tr' Hc Hn Ho Hrun).
  - exact (VMCreate_dead_no_root e tr n flags r e' tr' Hc Hn Hd Hrun).
  - exact Ec.
  - exact Ev.
  - rewrite Ep. reflexivity.
Qed.

(** The same from [create_inv] (CodeVMCreateInv), which VM_CREATE keeps
    too ([VMCreate_keeps]), so that the two are chained. *)
Corollary VMCreate_keeps_mem_inv : forall c e tr n flags r e' tr', create_inv c e -> mem_inv e -> 0 <= n < 2 ^ 64 ->
  Isolation.Engine_VMCreate root n flags e tr = Ok r e' tr' -> mem_inv e'.
Proof.
  intros c e tr n flags r e' tr' (Hc & _) Hm Hn Hrun.
  exact (VMCreate_keeps_mem_inv_ok e tr n flags r e' tr' Hc Hm Hn Hrun).
Qed.

(** VM_CREATE, from [create_inv] and [mem_inv], answers and keeps both. *)
Corollary VMCreate_keeps_both : forall c e tr n flags, create_inv c e -> mem_inv e -> 0 <= n < 2 ^ 64 ->
  exists r e', Isolation.Engine_VMCreate root n flags e tr = Ok r e' tr /\ create_inv c e' /\ mem_inv e'.
Proof.
  intros c e tr n flags Hci Hm Hn.
  destruct (VMCreate_keeps c e tr n flags Hci Hn) as (r & e' & Hrun & Hci' & _).
  exists r, e'. split; [exact Hrun|]. split; [exact Hci'|].
  exact (VMCreate_keeps_mem_inv c e tr n flags r e' tr Hci Hm Hn Hrun).
Qed.
