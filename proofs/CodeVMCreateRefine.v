(** * VM_CREATE of the translated code against the model

    Lemmas about proofs/code/Isolation.v, the translation of
    isolation/vm.go (VMCreate), isolation/stage2.go (newStage2, translate)
    and isolation/pool.go (allocRoot, take).
    - What the pool becomes ([allocRoot_spec], from CodeUpdate's
      [take_spec_w]: take zeroes its table and clears its free bit, and
      nothing else of the tables or the bitmap): allocRoot either finds no
      pair and changes nothing, or takes a pair [r], [r + 1] that was free
      and zeroes both, keeping the bitmap and the count sound.
    - What VM_CREATE returns ([VMCreate_spec]): an error leaves the engine
      as it was, except that when the pool has no free root the chosen
      free slot keeps the root -1 and the vmid newStage2 wrote; a success
      puts into the lowest free slot a live VM with [n] vCPUs, its flags,
      a fresh shadow, the new root and vmid [slot + 1], and vCPUs that are
      the zero vCPU with their VMID and number, and changes the pool only
      as allocRoot does.
    - The walk of a stage-2 ([translate_pw], [walk_frame],
      [walk_zero_root]): on a tree of tables it is a function ([pw]) of
      the tables it reaches, so two engines whose pools have the same base
      and size and agree on those tables walk it alike; a stage-2 whose
      two root tables are zero maps nothing.
    - The refinement ([VMCreate_refines]): from an engine with
      [create_ok], whose model is configured for it and whose host and
      live VMs own their stage-2 tables, VM_CREATE answers as the model's
      [vm_create] on the abstraction, and the abstraction of the engine it
      returns equals the model's metadata after the call ([ms_eq]: field
      by field, point by point). The one exception is the table pool,
      which the model does not have: with a free slot but no free
      stage-2 root, the code answers NO_MEMORY where the model succeeds,
      and the abstraction is unchanged. *)
From Coq Require Import ZArith Lia List Bool.
From Bulkhead.Spec Require Import State Spec.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodePlace CodeTrack CodeLens CodeLoop CodeVCPU CodeVMCreate CodeShadow
  CodeStage2 CodePool CodeFree CodeAbsLedger CodeAbs CodeMemCall Lemmas CodeAbi.
From Bulkhead.Proofs Require CodeUpdate.
Import ListNotations.
Open Scope Z_scope.

(** ** take and allocRoot *)

Lemma testbit_andnot_pow2 : forall w r k, 0 <= r -> 0 <= k ->
  Z.testbit (andnot w (2 ^ r)) k = Z.testbit w k && negb (r =? k).
Proof.
  intros w r k Hr Hk. unfold andnot. rewrite Z.land_spec, Z.lnot_spec, Z.pow2_bits_eqb by lia. reflexivity.
Qed.

(** The pool after taking table [i]: the table zeroed, its bit cleared,
    every other table and bit as they were. *)
Definition taken (p q : Isolation.tablePool) (i : Z) : Prop :=
  same_shape p q /\
  Isolation.Pool_Base (Isolation.tablePool_Pool q) = Isolation.Pool_Base (Isolation.tablePool_Pool p) /\
  Isolation.Pool_Tables (Isolation.tablePool_Pool q) =
    replace_nth (Z.to_nat i) (repeat 0 512) (Isolation.Pool_Tables (Isolation.tablePool_Pool p)) /\
  free_bit q i = false /\ (forall j, 0 <= j -> j <> i -> free_bit q j = free_bit p j).

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

(** [root_taken], and allocRoot keeps the pool's bitmap and count sound
    ([bits_ok], [count_ok]). *)
Definition root_taken_ok (p q : Isolation.tablePool) (r : Z) : Prop :=
  root_taken p q r /\ (pool_ok p -> bits_ok p -> count_ok p -> bits_ok q /\ count_ok q).

Lemma taken_refine : forall p q i, CodeUpdate.taken p q i -> taken p q i.
Proof.
  intros p q i (S & _ & F & O & B & T). split; [exact S|]. split; [exact B|]. split; [exact T|].
  split; [exact F|exact O].
Qed.

Lemma allocRoot_spec : forall pp s tr, pool_lens pp -> pool_ok (Isolation.Engine_pool s) ->
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
        -- pose proof (CodeUpdate.take_spec_w pp s i tr Hpp Hok ltac:(unfold ntables; fold n; lia)) as (q1 & Ht1 & Hs1).
           pose proof (same_shape_ok _ _ Hok (proj1 (proj1 Hs1))) as Hok1.
           assert (Hn1 : ntables q1 = ntables (Isolation.Engine_pool s))
             by (destruct Hs1 as (([E _] & _) & _); exact E).
           pose proof (CodeUpdate.take_spec_w pp (Isolation.set_Engine_pool q1 s) (i + 1) tr Hpp ltac:(rewrite get_set_pool; exact Hok1)
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
              pose proof (CodeUpdate.taken_bits _ _ i Hbits Hi1 Hs1) as Hbits1.
              pose proof (CodeUpdate.take_count _ _ i Hok Hcount Hi1 E1 (proj1 Hs1)) as [Hcount1 _].
              split.
              ** exact (CodeUpdate.taken_bits _ _ (i + 1) Hbits1 ltac:(rewrite Hn1; unfold ntables; fold n; lia) Hs2).
              ** exact (proj1 (CodeUpdate.take_count _ _ (i + 1) Hok1 Hcount1 ltac:(rewrite Hn1; unfold ntables; fold n; lia)
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
    root_taken_ok (Isolation.Engine_pool s) q r.
Proof.
  intros i qs id s tr Ls Hc Hv m.
  assert (Hi : (Z.to_nat i < length (Isolation.Engine_vms s))%nat) by (destruct Hv as [_ Hv]; unfold len in Hv; lia).
  pose proof (pfield_lens qs _ _ _ Isolation.stage2_vmid Isolation.set_stage2_vmid Ls ltac:(field_laws)) as (qsv & Hqsv & Lsv).
  pose proof (pfield_lens qs _ _ _ Isolation.stage2_root Isolation.set_stage2_root Ls ltac:(field_laws)) as (qsr & Hqsr & Lsr).
  pose proof (pfield_lens root _ _ _ Isolation.Engine_pool Isolation.set_Engine_pool lens_root ltac:(field_laws))
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
  pose proof (allocRoot_spec qp s1 tr Lp (proj1 (proj2 Hc1))) as [Ha|(r & q & Ha & Hsh)].
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

(** ** VM_CREATE *)

Definition live_at (e : Isolation.Engine) (k : Z) : bool :=
  Isolation.vm_live (nth (Z.to_nat k) (Isolation.Engine_vms e) Isolation.zero_vm).

(** Slot [i] is the lowest free one. *)
Definition first_free (e : Isolation.Engine) (i : Z) : Prop :=
  0 <= i < len (Isolation.Engine_vms e) /\ live_at e i = false /\ forall k, 0 <= k < i -> live_at e k = true.

Definition all_live (e : Isolation.Engine) : Prop :=
  forall k, 0 <= k < len (Isolation.Engine_vms e) -> live_at e k = true.

(** The slot search reads only: it ends at the lowest free slot, or at -1
    when every slot is live. *)
Lemma slot_search_spec : forall e tr,
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
  (0, -1) e tr = Ok (Fall j) e tr /\ ((snd j = -1 /\ all_live e) \/ first_free e (snd j)).
Proof.
  intros e tr. set (n := len (Isolation.Engine_vms e)).
  assert (Hn : 0 <= n) by (unfold n, len; lia).
  match goal with |- context [loop _ ?c ?b ?p] =>
  destruct (loop_spec n c b p
    (fun l st tr' => st = e /\ tr' = tr /\ 0 <= fst l <= n /\ snd l = -1 /\
       forall k, 0 <= k < fst l -> live_at e k = true)
    (fun j st tr' => st = e /\ tr' = tr /\ match j with
       | Fall l => (snd l = -1 /\ all_live e) \/ first_free e (snd l) | Jump x => False end)
    (fun l => Z.to_nat (n - fst l))) with (l := (0, -1)) (s := e) (tr := tr) as (j & s' & tr' & Hl & Hq) end.
  - intros [k sl] st tr' (-> & -> & Hk & Hsl & Hall). cbn [fst snd] in *. eexists. split; [reflexivity|]. split.
    + intros Hc. apply Z.ltb_lt in Hc. lia.
    + intros Hc. apply Z.ltb_ge in Hc. split; [reflexivity|]. split; [reflexivity|]. left. split; [exact Hsl|].
      intros k' Hk'. apply Hall. fold n in Hk'. lia.
  - intros [k sl] st tr' (-> & -> & Hk & Hsl & Hall) Hc. cbn [fst snd] in *.
    unfold ret in Hc. injection Hc as Hc. apply Z.ltb_lt in Hc.
    destruct (nth_error (Isolation.Engine_vms e) (Z.to_nat k)) as [m|] eqn:Hm.
    2:{ apply nth_error_None in Hm. unfold n, len in Hc. lia. }
    unfold bind. cbn [deref root]. rewrite (idx_nth _ k m e tr ltac:(lia) Hm). cbv beta iota.
    assert (Hlk : live_at e k = Isolation.vm_live m) by (unfold live_at; rewrite (nth_error_nth _ _ _ Hm); reflexivity).
    destruct (Isolation.vm_live m) eqn:Hlm; cbn [negb]; unfold ret.
    + eexists _, _, _. split; [reflexivity|]. eexists. split; [reflexivity|]. cbn [fst snd].
      split; [|apply Z2Nat.inj_lt; lia].
      split; [reflexivity|]. split; [reflexivity|]. split; [lia|]. split; [exact Hsl|].
      intros k' Hk'. destruct (Z.eq_dec k' k) as [->|Hne]; [exact Hlk|apply Hall; lia].
    + eexists _, _, _. split; [reflexivity|]. cbn [snd]. split; [reflexivity|]. split; [reflexivity|].
      right. split; [fold n; lia|]. split; [exact Hlk|exact Hall].
  - cbn. split; [reflexivity|]. split; [reflexivity|]. split; [lia|]. split; [reflexivity|]. intros; lia.
  - cbn [fst]. destruct (Z.eq_dec n 0) as [E|E].
    + rewrite E. cbn. lia.
    + rewrite fuel_nat by lia. lia.
  - destruct Hq as (-> & -> & Hj). destruct j as [l|[]]. exists l. split; [exact Hl|exact Hj].
Qed.

(** A vCPU as VM_CREATE leaves it: the zero vCPU with its VMID and
    number in its context. *)
Definition new_vcpu (id k : Z) : Isolation.vcpu :=
  Isolation.set_vcpu_ctx (Isolation.set_Context_VCPU (wrapu 16 k) (Isolation.set_Context_VMID id Isolation.zero_Context))
    Isolation.zero_vcpu.

Definition fresh_vcpus (id : Z) (old vcs : list Isolation.vcpu) : Prop :=
  length vcs = length old /\ forall k, (k < length vcs)%nat -> nth k vcs Isolation.zero_vcpu = new_vcpu id (Z.of_nat k).

(** The VM VM_CREATE puts in the slot. *)
Definition new_vm (n flags id r : Z) (vcs : list Isolation.vcpu) : Isolation.vm :=
  Isolation.mk_vm true false n (Isolation.mk_stage2 r id) vcs Isolation.zero_shadowState
    (negb (Z.land flags Abi.VMProtected =? 0)).

Ltac slot_rw tac := repeat first [rewrite vms_at_slot by tac | rewrite at_slot_twice].

(** VM_CREATE from an engine with [create_ok]: an invalid count changes
    nothing; with every slot live, NO_MEMORY and nothing changed; else
    with the lowest free slot [slot], either NO_MEMORY with only the
    slot's stage-2 record changed (root -1, the vmid) when the pool has no
    free root, or SUCCESS with vmid [slot + 1], the pool changed as
    allocRoot takes a root [rt], and the slot holding [new_vm] with fresh
    vCPUs. *)
Theorem VMCreate_spec : forall e tr n flags,
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
  pose proof (pfield_lens root _ _ _ Isolation.Engine_vms Isolation.set_Engine_vms lens_root ltac:(field_laws))
    as (qv0 & Hqv0 & Lv0).
  pose proof (pindex_lens qv0 _ _ _ slot Isolation.zero_vm Lv0) as (v & Hv & Lv).
  change (lens v (slot_valid slot) (fun s => nth (Z.to_nat slot) (Isolation.Engine_vms s) Isolation.zero_vm)
    (fun b s => Isolation.set_Engine_vms (replace_nth (Z.to_nat slot) b (Isolation.Engine_vms s)) s)) in Lv.
  pose proof (pfield_lens v _ _ _ Isolation.vm_s2 Isolation.set_vm_s2 Lv ltac:(field_laws)) as (qs & Hqs & Ls).
  assert (Hv0 : slot_valid slot e) by (split; [exact I|exact Hslot]).
  rewrite Hqv0. rewrite Hv by (exact I || exact Hslot). rewrite Hqs.
  set (id := wrapu 16 (wraps 64 (slot + 1))) in *.
  set (m := nth (Z.to_nat slot) (Isolation.Engine_vms e) Isolation.zero_vm).
  pose proof (newStage2_spec slot qs id e tr Ls Hc Hv0) as Hn2. cbv zeta in Hn2. fold m in Hn2.
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
  assert (Hv_s1_ : slot_valid slot s1_)
    by (split; [exact I|]; unfold s1_, len; rewrite len_vms_at_slot; unfold E; rewrite vms_set_pool; exact Hslot).
  assert (Hcfg_s1_ : Isolation.Engine_cfg s1_ = Isolation.Engine_cfg e) by (unfold s1_, E; destruct e; reflexivity).
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
  set (X6 := new_vm (wraps 64 n) flags id rt (Isolation.vm_vcpus m)).
  assert (E6 : s6_ = at_slot E (Z.to_nat slot) X6).
  { unfold s6_, s5_, s4_, s3_, s2_, s1_. slot_rw ltac:(rewrite ?len_vms_at_slot; exact HsE). reflexivity. }
  rewrite (deref_lens _ _ _ _ _ tr Lv Hv_s6_). cbv beta iota.
  pose proof (pfield_lens v _ _ _ Isolation.vm_vcpus Isolation.set_vm_vcpus Lv ltac:(field_laws)) as (qvc & Hqvc & Lvc).
  set (L := len (Isolation.vm_vcpus (nth (Z.to_nat slot) (Isolation.Engine_vms s6_) Isolation.zero_vm))) in *.
  assert (HL : 0 <= L) by (unfold L, len; lia).
  assert (HLm : L = len (Isolation.vm_vcpus m)) by (unfold L; rewrite E6, vms_at_slot by exact HsE; reflexivity).
  match goal with |- context [loop _ ?c ?b ?p 0] =>
  destruct (loop_spec L c b p
    (fun k st tr' => create_ok st /\ slot_valid slot st /\
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

(** ** The walk of a stage-2 as a function of its tables *)

(** The value of a computation that reads no state. *)
Definition pv {A} (m : M unit A) (d : A) : A := match m tt [] with Ok a _ _ => a | Fail _ => d end.

Definition eidx (ipa lvl : Z) : Z := pv (Isolation.entryIndex ipa lvl) 0.
Definition lattr (d : Z) : Isolation.Attr := pv (Isolation.leafAttr d) Isolation.zero_Attr.
Definition lsize (lvl : Z) : Z := pv (Isolation.levelSize lvl) 0.

Lemma eidx_ok : forall {S} (s : S) tr ipa lvl, Isolation.entryIndex ipa lvl s tr = Ok (eidx ipa lvl) s tr.
Proof.
  intros. unfold eidx, pv, Isolation.entryIndex, Isolation.entries, Isolation.levelShift, bind, ret.
  destruct (lvl =? Isolation.S2StartLevel); reflexivity.
Qed.

Lemma lattr_ok : forall {S} (s : S) tr d, Isolation.leafAttr d s tr = Ok (lattr d) s tr.
Proof.
  intros. unfold lattr, pv, Isolation.leafAttr, bind, ret.
  repeat match goal with |- context [if ?b then _ else _] => destruct b end; reflexivity.
Qed.

Lemma lsize_ok : forall {S} (s : S) tr lvl, Isolation.levelSize lvl s tr = Ok (lsize lvl) s tr.
Proof. intros. reflexivity. Qed.

Lemma eidx_bound : forall ipa lvl, 1 <= lvl <= 3 -> 0 <= eidx ipa lvl < (if lvl =? 1 then 1024 else 512).
Proof.
  intros ipa lvl Hl. pose proof (entryIndex_ok tt [] ipa lvl Hl) as (k & Hk & Hb).
  rewrite eidx_ok in Hk. injection Hk as ->. exact Hb.
Qed.

(** The walk from table [t] at level [lvl], in at most [n] levels. *)
Fixpoint pw (T : list Isolation.Table) (base ipa : Z) (n : nat) (t lvl : Z) : Isolation.Mapping * bool :=
  match n with
  | O => (Isolation.mk_Mapping Isolation.zero_PA Isolation.zero_Attr 0, false)
  | S n' =>
    if Z.land (ent T t (eidx ipa lvl)) Isolation.descValid =? 0
    then (Isolation.mk_Mapping Isolation.zero_PA Isolation.zero_Attr 0, false)
    else if (lvl <? Isolation.lastLevel) && (Z.land (ent T t (eidx ipa lvl)) 3 =? 3)
    then pw T base ipa n' (child base (ent T t (eidx ipa lvl))) (lvl + 1)
    else (Isolation.mk_Mapping (wrapu 64 (Z.land (ent T t (eidx ipa lvl)) Isolation.descOAMask +
            Z.land ipa (wrapu 64 (lsize lvl - 1)))) (lattr (ent T t (eidx ipa lvl))) lvl, true)
  end.

(** [translate] of a stage-2 on a tree of tables is [pw] of the tables. *)
Lemma translate_pw : forall e tr s s2 ipa, tables_ok e -> (forall tr', deref s e tr' = Ok s2 e tr') ->
  0 <= Isolation.stage2_root s2 ->
  tree_ok (tables e) (pool_base e) 2 (Isolation.stage2_root s2) 1024 -> 0 <= ipa < Isolation.ipaLimit ->
  Isolation.Engine_translate root s ipa e tr = Ok (pw (tables e) (pool_base e) ipa 3 (Isolation.stage2_root s2) 1) e tr.
Proof.
  intros e tr s s2 ipa Hok Hg Hr Htree Hipa.
  unfold Isolation.Engine_translate.
  unfold bind at 1. rewrite Hg. cbv beta iota.
  replace ((Isolation.stage2_root s2 <? 0) || (ipa >=? Isolation.ipaLimit)) with false
    by (symmetry; apply orb_false_iff; split; [apply Z.ltb_ge; lia|]; rewrite Z.geb_leb; apply Z.leb_gt; lia).
  unfold bind at 1. rewrite Hg. cbv beta iota zeta.
  set (T := tables e) in *. set (base := pool_base e) in *.
  set (W := pw T base ipa 3 (Isolation.stage2_root s2) 1).
  match goal with |- context [loop ?f ?c ?b ?p ?l0] =>
  destruct (loop_spec f c b p
    (fun l st tr' => st = e /\ tr' = tr /\ 1 <= snd l <= 3 /\
       tree_ok T base (Z.to_nat (3 - snd l)) (fst l) (if snd l =? 1 then 1024 else 512) /\
       pw T base ipa (Z.to_nat (4 - snd l)) (fst l) (snd l) = W)
    (fun j st tr' => st = e /\ tr' = tr /\ j = Jump W)
    (fun l => Z.to_nat (4 - snd l))) with (l := l0) (s := e) (tr := tr) as (j & s' & tr' & Hl & Hq) end.
  - intros [t lvl] st tr' (-> & -> & Hlvl & Ht & Hw). cbn [fst snd] in *.
    eexists. split; [reflexivity|]. split.
    + intros _. lia.
    + intros Hf. unfold Isolation.lastLevel in Hf. apply Z.leb_gt in Hf. lia.
  - intros [t lvl] st tr' (-> & -> & Hlvl & Ht & Hw) _. cbn [fst snd] in *.
    pose proof (eidx_bound ipa lvl Hlvl) as Hkb. set (k := eidx ipa lvl) in *.
    replace (Z.to_nat (4 - lvl)) with (S (Z.to_nat (3 - lvl))) in Hw by lia. cbn [pw] in Hw. fold k in Hw.
    pose proof (tree_ok_range _ _ _ _ _ Ht) as (Ht0 & Htl).
    assert (Hkl : t + k / 512 < len T) by
      (apply Z.le_lt_trans with (t + ((if lvl =? 1 then 1024 else 512) - 1) / 512); [|exact Htl];
       apply Z.add_le_mono_l, Z.div_le_mono; lia).
    pose proof (slot_ok e tr t k Hok Ht0 ltac:(destruct (lvl =? 1); lia) Hkl) as (p & Hp & Gp). fold T in Gp.
    unfold bind at 1. rewrite eidx_ok. cbv beta iota. fold k.
    unfold bind at 1. rewrite Hp. cbv beta iota.
    unfold bind at 1. rewrite (deref_good _ _ _ _ Gp). cbv beta iota.
    unfold Isolation.isValid, Isolation.isTable, bind at 1, ret at 1; cbv beta iota.
    destruct (Z.land (ent T t k) Isolation.descValid =? 0) eqn:Hvd; cbn [negb]; cbv beta iota in Hw.
    { unfold ret. eexists _, _, _. split; [reflexivity|]. split; [reflexivity|]. split; [reflexivity|].
      rewrite <- Hw. reflexivity. }
    unfold bind at 1, ret at 1; cbv beta iota.
    destruct ((lvl <? Isolation.lastLevel) && (Z.land (ent T t k) 3 =? 3)) eqn:Htab; cbn [negb];
      cbv beta iota in Hw.
    2:{ unfold bind at 1. rewrite lsize_ok. cbv beta iota zeta.
        unfold bind at 1, Isolation.descOA, ret at 1. cbv beta iota.
        unfold bind at 1. rewrite lattr_ok. cbv beta iota. unfold ret.
        eexists _, _, _. split; [reflexivity|]. split; [reflexivity|]. split; [reflexivity|].
        rewrite <- Hw. reflexivity. }
    apply andb_true_iff in Htab as [Hlt H3]. unfold Isolation.lastLevel in Hlt. apply Z.ltb_lt in Hlt. apply Z.eqb_eq in H3.
    replace (Z.to_nat (3 - lvl)) with (S (Z.to_nat (3 - (lvl + 1)))) in Ht by lia.
    destruct Ht as (_ & _ & Hch). pose proof (Hch k ltac:(destruct (lvl =? 1); lia) H3) as (Hle & Hclt & Hct).
    unfold bind at 1; rewrite pfield_pool_root; cbv beta iota.
    unfold Isolation.descOA, bind at 1, ret at 1; cbv beta iota.
    unfold bind at 1; rewrite (index_ok e tr (ent T t k) Hok Hle Hclt); cbv beta iota.
    unfold ret; eexists _, _, _; split; [reflexivity|].
    eexists; split; [reflexivity|]; cbn [fst snd].
    rewrite wraps_small by lia.
    split; [split; [reflexivity|split; [reflexivity|split; [lia|]]]|lia].
    replace (lvl + 1 =? 1) with false by (symmetry; apply Z.eqb_neq; lia). split; [exact Hct|].
    replace (Z.to_nat (4 - (lvl + 1))) with (Z.to_nat (3 - lvl)) by lia. exact Hw.
  - cbn [fst snd]. split; [reflexivity|]. split; [reflexivity|]. split; [unfold Isolation.S2StartLevel; lia|].
    split; [exact Htree|]. reflexivity.
  - cbn [fst snd]. unfold Isolation.lastLevel, Isolation.S2StartLevel. cbn. lia.
  - unfold bind at 1. rewrite Hl. destruct Hq as (-> & -> & ->). unfold ret. reflexivity.
Qed.

Lemma from_in : forall f i n x, 0 <= i < n -> In x (f i) -> In x (from f 0 n).
Proof.
  intros f i n x Hi Hx. rewrite (from_split f i n) by lia. rewrite (from_step f i n) by lia.
  apply in_or_app. right. apply in_or_app. left. exact Hx.
Qed.

(** Two lists of tables agree on the tables [xs]. *)
Definition agree (T1 T2 : list Isolation.Table) (xs : list Z) : Prop :=
  forall x, In x xs -> nth (Z.to_nat x) T1 Isolation.zero_Table = nth (Z.to_nat x) T2 Isolation.zero_Table.

Lemma agree_child : forall T1 T2 base k t nent i, 0 <= i < nent -> Z.land (ent T1 t i) 3 = 3 ->
  agree T1 T2 (reach T1 base (S k) t nent) ->
  agree T1 T2 (reach T1 base k (child base (ent T1 t i)) 512) /\
  (forall j, 0 <= j < 512 -> ent T1 (child base (ent T1 t i)) j = ent T2 (child base (ent T1 t i)) j).
Proof.
  intros T1 T2 base k t nent i Hi H3 Ha. cbn [reach] in Ha.
  assert (Hin : forall x, In x (reach T1 base k (child base (ent T1 t i)) 512 ++ [child base (ent T1 t i)]) -> 
    nth (Z.to_nat x) T1 Isolation.zero_Table = nth (Z.to_nat x) T2 Isolation.zero_Table).
  { intros x Hx. apply Ha. apply (from_in _ i nent x Hi). rewrite H3, Z.eqb_refl. exact Hx. }
  split.
  - intros x Hx. apply Hin. apply in_or_app. left. exact Hx.
  - intros j Hj. set (c := child base (ent T1 t i)) in *. unfold ent. rewrite (Z.div_small j 512) by lia. rewrite Z.add_0_r.
    rewrite (Hin c) by (apply in_or_app; right; left; reflexivity). reflexivity.
Qed.

(** The walk reads only the tables it reaches. *)
Lemma pw_frame : forall k T1 T2 base ipa t lvl nent,
  1 <= lvl <= 3 -> (if lvl =? 1 then 1024 else 512) <= nent ->
  tree_ok T1 base k t nent ->
  (forall i, 0 <= i < nent -> ent T1 t i = ent T2 t i) ->
  agree T1 T2 (reach T1 base k t nent) ->
  pw T1 base ipa (S k) t lvl = pw T2 base ipa (S k) t lvl.
Proof.
  induction k as [|k IH]; intros T1 T2 base ipa t lvl nent Hl Hn Ht He Ha.
  - pose proof (eidx_bound ipa lvl Hl) as Hb. cbn [pw]. rewrite <- (He (eidx ipa lvl)) by (destruct (lvl =? 1); lia).
    reflexivity.
  - pose proof (eidx_bound ipa lvl Hl) as Hb. cbn [pw] in *. set (i := eidx ipa lvl) in *.
    assert (Hi : 0 <= i < nent) by (destruct (lvl =? 1); lia).
    rewrite <- (He i Hi).
    destruct (Z.land (ent T1 t i) Isolation.descValid =? 0); [reflexivity|].
    destruct ((lvl <? Isolation.lastLevel) && (Z.land (ent T1 t i) 3 =? 3)) eqn:Htab; [|reflexivity].
    apply andb_true_iff in Htab as [Hlt H3]. unfold Isolation.lastLevel in Hlt. apply Z.ltb_lt in Hlt. apply Z.eqb_eq in H3.
    destruct Ht as (_ & _ & Hch). pose proof (Hch i Hi H3) as (_ & _ & Hct).
    pose proof (agree_child T1 T2 base k t nent i Hi H3 Ha) as (Ha' & He').
    apply (IH T1 T2 base ipa _ (lvl + 1) 512); try assumption; [lia|].
    replace (lvl + 1 =? 1) with false by (symmetry; apply Z.eqb_neq; lia). lia.
Qed.

Lemma tree_ok_frame : forall k T1 T2 base t nent, len T2 = len T1 ->
  tree_ok T1 base k t nent ->
  (forall i, 0 <= i < nent -> ent T1 t i = ent T2 t i) ->
  agree T1 T2 (reach T1 base k t nent) ->
  tree_ok T2 base k t nent.
Proof.
  induction k as [|k IH]; intros T1 T2 base t nent Hlen Ht He Ha.
  - cbn [tree_ok] in *. rewrite Hlen. exact Ht.
  - cbn [tree_ok] in Ht |- *. destruct Ht as (H0 & H1 & Hch). rewrite Hlen. split; [exact H0|]. split; [exact H1|].
    intros i Hi H3. rewrite <- (He i Hi) in H3 |- *. pose proof (Hch i Hi H3) as (A & B & C).
    split; [exact A|]. split; [exact B|].
    pose proof (agree_child T1 T2 base k t nent i Hi H3 Ha) as (Ha' & He').
    exact (IH T1 T2 base _ 512 Hlen C He' Ha').
Qed.

Lemma ent_root_agree : forall T1 T2 r, 0 <= r ->
  agree T1 T2 [r; r + 1] -> forall i, 0 <= i < 1024 -> ent T1 r i = ent T2 r i.
Proof.
  intros T1 T2 r Hr Ha i Hi. unfold ent.
  assert (Hq : i / 512 = 0 \/ i / 512 = 1) by (assert (0 <= i / 512 < 2) by (split; [apply Z.div_pos|apply Z.div_lt_upper_bound]; lia); lia).
  rewrite (Ha (r + i / 512)); [reflexivity|]. destruct Hq as [-> | ->]; [left; lia|right; left; reflexivity].
Qed.

Lemma deref_ro : forall (s2 : Isolation.stage2) (e : Isolation.Engine) tr, deref (ro s2) e tr = Ok s2 e tr.
Proof. reflexivity. Qed.

Lemma translate_early : forall (e : Isolation.Engine) s2 ipa,
  (Isolation.stage2_root s2 <? 0) || (ipa >=? Isolation.ipaLimit) = true ->
  Isolation.Engine_translate root (ro s2) ipa e [] =
    Ok (Isolation.mk_Mapping Isolation.zero_PA Isolation.zero_Attr 0, false) e [].
Proof.
  intros e s2 ipa H. unfold Isolation.Engine_translate, bind at 1. rewrite deref_ro. cbv beta iota. rewrite H. reflexivity.
Qed.

(** The walk of a stage-2 that is absent or on a tree of tables depends
    only on the tables it reaches ([s2_tables]): two engines whose pools
    have the same base and size and agree on those tables walk it alike. *)
Theorem walk_frame : forall e1 e2 s2 k, tables_ok e1 -> tables_ok e2 ->
  pool_base e2 = pool_base e1 -> len (tables e2) = len (tables e1) ->
  (Isolation.stage2_root s2 < 0 \/ tree_ok (tables e1) (pool_base e1) 2 (Isolation.stage2_root s2) 1024) ->
  agree (tables e1) (tables e2) (s2_tables e1 (Isolation.stage2_root s2)) ->
  walk e1 s2 k = walk e2 s2 k.
Proof.
  intros e1 e2 s2 k Hok1 Hok2 Hb Hlen Ht Ha. unfold walk.
  destruct ((Isolation.stage2_root s2 <? 0) || (Z.of_nat k * 4096 >=? Isolation.ipaLimit)) eqn:Hc.
  { rewrite !translate_early by exact Hc. reflexivity. }
  apply orb_false_iff in Hc as [Hr Hk]. apply Z.ltb_ge in Hr. rewrite Z.geb_leb in Hk. apply Z.leb_gt in Hk.
  destruct Ht as [Ht|Ht]; [lia|].
  set (r := Isolation.stage2_root s2) in *.
  unfold s2_tables in Ha. fold r in Ha.
  assert (He : forall i, 0 <= i < 1024 -> ent (tables e1) r i = ent (tables e2) r i).
  { apply ent_root_agree; [lia|]. intros x Hx. apply Ha. destruct Hx as [<-|[<-|[]]]; [left|right; left]; reflexivity. }
  assert (Har : agree (tables e1) (tables e2) (reach (tables e1) (pool_base e1) 2 r 1024))
    by (intros x Hx; apply Ha; right; right; exact Hx).
  assert (Ht2 : tree_ok (tables e2) (pool_base e2) 2 r 1024)
    by (rewrite Hb; exact (tree_ok_frame 2 _ _ _ r 1024 Hlen Ht He Har)).
  rewrite (translate_pw e1 [] (ro s2) s2 (Z.of_nat k * 4096) Hok1 (deref_ro s2 e1) Hr Ht ltac:(lia)).
  rewrite (translate_pw e2 [] (ro s2) s2 (Z.of_nat k * 4096) Hok2 (deref_ro s2 e2) Hr Ht2 ltac:(lia)).
  fold r. rewrite Hb. rewrite (pw_frame 2 (tables e1) (tables e2) (pool_base e1) _ r 1 1024);
    [reflexivity|..]; first [assumption | cbn; lia].
Qed.

(** A stage-2 whose two root tables are zero maps nothing. *)
Theorem walk_zero_root : forall e r id k, tables_ok e -> 0 <= r -> r + 1 < len (tables e) ->
  nth (Z.to_nat r) (tables e) Isolation.zero_Table = repeat 0 512 ->
  nth (Z.to_nat (r + 1)) (tables e) Isolation.zero_Table = repeat 0 512 ->
  walk e (Isolation.mk_stage2 r id) k = None.
Proof.
  intros e r id k Hok Hr Hlen Z0 Z1.
  assert (He : forall i, 0 <= i < 1024 -> ent (tables e) r i = 0).
  { intros i Hi. unfold ent.
    assert (Hq : i / 512 = 0 \/ i / 512 = 1) by (assert (0 <= i / 512 < 2) by (split; [apply Z.div_pos|apply Z.div_lt_upper_bound]; lia); lia).
    destruct Hq as [-> | ->]; rewrite ?Z.add_0_r; [rewrite Z0|rewrite Z1]; apply nth_repeat. }
  assert (Ht : tree_ok (tables e) (pool_base e) 2 r 1024).
  { cbn [tree_ok]. split; [lia|]. split; [replace ((1024 - 1) / 512) with 1 by reflexivity; lia|].
    intros i Hi H3. rewrite (He i Hi) in H3. discriminate H3. }
  unfold walk.
  destruct (Z.leb_spec Isolation.ipaLimit (Z.of_nat k * 4096)) as [Hk|Hk].
  { rewrite translate_early; [reflexivity|].
    replace (Z.of_nat k * 4096 >=? Isolation.ipaLimit) with true by (symmetry; rewrite Z.geb_leb; apply Z.leb_le; lia).
    apply orb_true_r. }
  rewrite (translate_pw e [] (ro (Isolation.mk_stage2 r id)) (Isolation.mk_stage2 r id) (Z.of_nat k * 4096) Hok (deref_ro _ e) Hr Ht ltac:(lia)).
  cbn [pw Isolation.stage2_root]. pose proof (eidx_bound (Z.of_nat k * 4096) 1 ltac:(lia)) as Hb.
  rewrite (He (eidx (Z.of_nat k * 4096) 1) Hb). reflexivity.
Qed.

(** ** VM_CREATE against the model *)

(** Equality of the model's metadata, field by field and point by point. *)
Definition vcpu_eq (a b : vcpu) : Prop :=
  vc_state a = vc_state b /\ vc_pend a = vc_pend b /\ forall i, vc_irq a i = vc_irq b i.

Definition vm_eq (a b : vm) : Prop :=
  vm_live a = vm_live b /\ vm_vcpus a = vm_vcpus b /\ vm_hasrun a = vm_hasrun b /\
  vm_protected a = vm_protected b /\ (forall j, vcpu_eq (vm_vcpu a j) (vm_vcpu b j)) /\
  (forall p, vm_s2 a p = vm_s2 b p) /\ vm_marks a = vm_marks b /\ vm_log a = vm_log b.

Definition ms_eq (m1 m2 : mstate) : Prop :=
  (forall p, ms_pages m1 p = ms_pages m2 p) /\ (forall p, ms_hs2 m1 p = ms_hs2 m2 p) /\
  forall v, vm_eq (ms_vms m1 v) (ms_vms m2 v).

Lemma vm_eq_refl : forall a, vm_eq a a.
Proof.
  intros a. split; [reflexivity|]. split; [reflexivity|]. split; [reflexivity|]. split; [reflexivity|].
  split; [intros j; split; [reflexivity|split; [reflexivity|intros; reflexivity]]|].
  split; [intros; reflexivity|]. split; reflexivity.
Qed.

Lemma ms_eq_refl : forall m, ms_eq m m.
Proof. intros m. split; [intros; reflexivity|]. split; [intros; reflexivity|]. intros; apply vm_eq_refl. Qed.

Lemma first_range_ext : forall {A} n lo (f g : nat -> option A), (forall k, f k = g k) ->
  first_range lo n f = first_range lo n g.
Proof.
  induction n as [|n IH]; intros lo f g H; cbn [first_range]; [reflexivity|].
  rewrite H. destruct (g lo); [reflexivity|]. apply IH. exact H.
Qed.

(** A VM slot's abstraction reads the engine only through its walk. *)
Lemma abs_vm_frame : forall c e1 e2 X,
  (Isolation.vm_live X = true -> forall k, walk e1 (Isolation.vm_s2 X) k = walk e2 (Isolation.vm_s2 X) k) ->
  vm_eq (abs_vm c e1 X) (abs_vm c e2 X).
Proof.
  intros c e1 e2 X H. unfold abs_vm. destruct (Isolation.vm_live X); [|apply vm_eq_refl].
  specialize (H eq_refl).
  unfold vm_eq; cbn [vm_live vm_vcpus vm_hasrun vm_protected vm_vcpu vm_s2 vm_marks vm_log].
  split; [reflexivity|]. split; [reflexivity|]. split; [reflexivity|]. split; [reflexivity|].
  split; [intros j; split; [reflexivity|split; [reflexivity|intros; reflexivity]]|].
  split; [|split; reflexivity].
  intros p. unfold abs_s2. apply first_range_ext. intros k. unfold abs_s2_at. rewrite H. reflexivity.
Qed.

Lemma abs_vm_live : forall c e X, vm_live (abs_vm c e X) = Isolation.vm_live X.
Proof. intros c e X. unfold abs_vm. destruct (Isolation.vm_live X); reflexivity. Qed.

Lemma abs_pages_at_slot : forall c E i X p, abs_pages c (at_slot E i X) p = abs_pages c E p.
Proof. intros c [] i X p. reflexivity. Qed.

(** The tables allocRoot takes are in no tree that owns its tables. *)
Lemma taken_agree : forall e q rt r', root_taken (Isolation.Engine_pool e) q rt -> owns_tables e r' ->
  agree (tables e) (Isolation.Pool_Tables (Isolation.tablePool_Pool q)) (s2_tables e r').
Proof.
  intros e q rt r' Hrt (Ht & _ & Hfree) x Hx.
  destruct Hrt as (Hr & _ & Hb1 & Hb2 & _ & _ & HT & _).
  assert (Hx0 : 0 <= x).
  { pose proof (tree_ok_range _ _ _ _ _ Ht) as [H0 _].
    unfold s2_tables in Hx. destruct Hx as [<-|[<-|Hx]]; [lia|lia|exact (reach_nonneg 2 _ _ _ _ x Ht Hx)]. }
  pose proof (Hfree x Hx) as Hfx.
  assert (x <> rt) by (intros ->; congruence). assert (x <> rt + 1) by (intros ->; congruence).
  rewrite HT. rewrite !nth_replace_nth_other' by lia. reflexivity.
Qed.

Lemma tables_ok_taken : forall e q rt, tables_ok e -> root_taken (Isolation.Engine_pool e) q rt ->
  forall i X, tables_ok (at_slot (Isolation.set_Engine_pool q e) i X).
Proof.
  intros e q rt (Hall & Hsmall & Hb) (_ & _ & _ & _ & [Hl _] & HB & HT & _) i X.
  unfold tables_ok, tables, pool_base in *. destruct e. cbn in *. rewrite HB, HT.
  split; [|split; [|exact Hb]].
  - apply Forall_replace; [apply Forall_replace; [exact Hall|]|]; reflexivity.
  - rewrite !len_replace. exact Hsmall.
Qed.

Lemma walk_after : forall e q rt i X s2 k, tables_ok e -> root_taken (Isolation.Engine_pool e) q rt ->
  owns_tables e (Isolation.stage2_root s2) ->
  walk (at_slot (Isolation.set_Engine_pool q e) i X) s2 k = walk e s2 k.
Proof.
  intros e q rt i X s2 k Hok Hrt Hown. symmetry.
  pose proof Hrt as (_ & _ & _ & _ & [Hl _] & HB & _).
  apply walk_frame.
  - exact Hok.
  - exact (tables_ok_taken e q rt Hok Hrt i X).
  - unfold pool_base. destruct e. exact HB.
  - unfold tables. destruct e. exact Hl.
  - right. exact (proj1 Hown).
  - replace (tables (at_slot (Isolation.set_Engine_pool q e) i X)) with (Isolation.Pool_Tables (Isolation.tablePool_Pool q))
      by (destruct e; reflexivity).
    exact (taken_agree e q rt _ Hrt Hown).
Qed.

Lemma walk_slot : forall e i X s2 k, tables_ok e -> owns_tables e (Isolation.stage2_root s2) ->
  walk (at_slot e i X) s2 k = walk e s2 k.
Proof.
  intros e i X s2 k Hok Hown. symmetry. apply walk_frame.
  - exact Hok.
  - destruct e; exact Hok.
  - destruct e; reflexivity.
  - destruct e; reflexivity.
  - right. exact (proj1 Hown).
  - intros x _. destruct e; reflexivity.
Qed.

Lemma prot_flag : forall flags, negb (Z.land (Z.of_nat flags) Abi.VMProtected =? 0) = protected_flag flags.
Proof.
  intros flags. unfold Abi.VMProtected, protected_flag.
  change 1 with (Z.ones 1). rewrite Z.land_ones by lia. change (2 ^ 1) with (Z.of_nat 2).
  rewrite <- Nat2Z.inj_mod.
  pose proof (Nat.mod_upper_bound flags 2 ltac:(lia)) as Hb.
  destruct (flags mod 2)%nat as [|[|k]] eqn:E; cbn; [reflexivity|reflexivity|lia].
Qed.

Lemma abs_new_vcpu : forall id k, vcpu_eq vcpu_off (abs_vcpu (new_vcpu id k)).
Proof.
  intros id k. split; [reflexivity|]. split; [reflexivity|].
  intros i. unfold abs_vcpu, abs_irq, new_vcpu. cbn [vc_irq vcpu_off].
  unfold Isolation.zero_Context. cbn [Isolation.vcpu_ctx Isolation.set_vcpu_ctx Isolation.Context_IRQ
    Isolation.set_Context_VCPU Isolation.set_Context_VMID].
  rewrite nth_repeat. rewrite Z.bits_0. reflexivity.
Qed.

(** The abstraction of the VM VM_CREATE puts in its slot is the model's. *)
Lemma abs_new_vm : forall c e' n flags id rt vcs,
  (forall k, walk e' (Isolation.mk_stage2 rt id) k = None) ->
  (n <= length vcs)%nat ->
  (forall k, (k < length vcs)%nat -> nth k vcs Isolation.zero_vcpu = new_vcpu id (Z.of_nat k)) ->
  vm_eq (mkVM true n false (protected_flag flags) (fun _ => vcpu_off) (fun _ => None) [] [])
    (abs_vm c e' (new_vm (Z.of_nat n) (Z.of_nat flags) id rt vcs)).
Proof.
  intros c e' n flags id rt vcs Hw Hn Hv. unfold abs_vm, new_vm.
  cbn [Isolation.vm_live Isolation.vm_nvcpu Isolation.vm_hasRun Isolation.vm_protected Isolation.vm_vcpus
    Isolation.vm_s2 Isolation.vm_shadow].
  unfold vm_eq; cbn [vm_live vm_vcpus vm_hasrun vm_protected vm_vcpu vm_s2 vm_marks vm_log].
  split; [reflexivity|]. split; [rewrite Nat2Z.id; reflexivity|]. split; [reflexivity|].
  split; [symmetry; apply prot_flag|].
  split; [|split; [|split; reflexivity]].
  - intros j. rewrite Nat2Z.id. destruct (Nat.ltb_spec j n) as [Hj|Hj].
    + rewrite (Hv j) by lia. apply abs_new_vcpu.
    + split; [reflexivity|]. split; [reflexivity|]. intros; reflexivity.
  - intros p. unfold abs_s2. symmetry. apply first_range_all_none. intros k _. unfold abs_s2_at. rewrite Hw. reflexivity.
Qed.

Lemma host_at_slot : forall E i X, Isolation.Engine_host (at_slot E i X) = Isolation.Engine_host E.
Proof. intros [] i X. reflexivity. Qed.

Lemma host_set_pool : forall E q, Isolation.Engine_host (Isolation.set_Engine_pool q E) = Isolation.Engine_host E.
Proof. intros [] q. reflexivity. Qed.

Lemma nth_vms_at_slot_other : forall E i j X, i <> j ->
  nth j (Isolation.Engine_vms (at_slot E i X)) Isolation.zero_vm = nth j (Isolation.Engine_vms E) Isolation.zero_vm.
Proof. intros [] i j X H. cbn. apply nth_replace_nth_other'. exact H. Qed.

Lemma nth_error_at_slot : forall E i X, (i < length (Isolation.Engine_vms E))%nat ->
  nth_error (Isolation.Engine_vms (at_slot E i X)) i = Some X.
Proof.
  intros E i X H. rewrite (nth_error_nth' _ Isolation.zero_vm) by (rewrite len_vms_at_slot; exact H).
  rewrite vms_at_slot by exact H. reflexivity.
Qed.

Lemma abs_pages_set_pool : forall c E q p, abs_pages c (Isolation.set_Engine_pool q E) p = abs_pages c E p.
Proof. intros c [] q p. reflexivity. Qed.

(** VM_CREATE refines the model's [vm_create] through the abstraction:
    from an engine with [create_ok], a pool of whole tables, the model
    configured for it (with its vCPU limit), fewer than 2^15 VM slots, and
    the host's and every live VM's stage-2 owning its tables, for any
    count below 2^64 and any flags, VM_CREATE returns a vmid and a status
    and either
    - the status is the model's, the vmid the one the model returns on
      success (0 on an error), and the abstraction of the engine it
      returns is the model's metadata after the call; or
    - the pool has no free stage-2 root: the code answers NO_MEMORY
      where the model, which has no table pool, succeeds, and the
      abstraction is unchanged. *)
Theorem VMCreate_refines : forall c e tr mem regs n flags,
  create_ok e -> tables_ok e -> cfg_abs c e ->
  Z.of_nat (max_vcpus c) = Isolation.Config_MaxVCPUs (Isolation.Engine_cfg e) ->
  len (Isolation.Engine_vms e) < 2 ^ 15 ->
  owns_tables e (Isolation.stage2_root (Isolation.Engine_host e)) ->
  (forall mv, In mv (Isolation.Engine_vms e) -> Isolation.vm_live mv = true ->
     owns_tables e (Isolation.stage2_root (Isolation.vm_s2 mv))) ->
  Z.of_nat n < 2 ^ 64 ->
  exists id st e', Isolation.Engine_VMCreate root (Z.of_nat n) (Z.of_nat flags) e tr = Ok (id, st) e' tr /\
  let r := vm_create c (abs_state c e mem regs) n flags in
  ((exists sst vs, snd r = ORet sst vs /\ go_status sst = st /\
      (sst = SUCCESS -> vs = [Z.to_nat id]) /\ (sst <> SUCCESS -> id = 0) /\ ms_eq (st_meta (fst r)) (abs_ms c e'))
   \/
   (st = Abi.NoMemory /\ id = 0 /\ (exists vs, snd r = ORet SUCCESS vs) /\ ms_eq (abs_ms c e') (abs_ms c e))).
Proof.
  intros c e tr mem regs n flags Hc Hok Hcfg HM Hlen Hhost Hlive Hn.
  pose proof Hc as (_ & _ & Hmax & Hroom).
  pose proof Hcfg as (_ & Hmv & _).
  pose proof (VMCreate_spec e tr (Z.of_nat n) (Z.of_nat flags) Hc ltac:(lia)) as ([id st] & e' & Hrun & _ & Hcase).
  exists id, st, e'. split; [exact Hrun|]. cbv zeta.
  unfold vm_create, abs_state. cbn [st_meta st_mem st_regs].
  rewrite <- HM in Hcase.
  destruct Hcase as [(Hinv & E1 & ->) | [(Hn' & Hall & E1 & ->) | (slot & Hn' & Hff & Hsub)]].
  - injection E1 as -> ->.
    replace ((n =? 0)%nat || (max_vcpus c <? n)%nat) with true
      by (symmetry; apply orb_true_iff; destruct Hinv as [H|H]; [left; apply Nat.eqb_eq; lia|right; apply Nat.ltb_lt; lia]).
    left. exists INVALID_PARAMETERS, []. split; [reflexivity|]. split; [reflexivity|].
    split; [discriminate|]. split; [reflexivity|]. apply ms_eq_refl.
  - injection E1 as -> ->.
    replace ((n =? 0)%nat || (max_vcpus c <? n)%nat) with false
      by (symmetry; apply orb_false_iff; split; [apply Nat.eqb_neq; lia|apply Nat.ltb_ge; lia]).
    assert (Hfs : free_slot c (abs_ms c e) = None).
    { unfold free_slot. apply first_range_all_none. intros i Hi. replace (1 + i)%nat with (S i) by lia.
      assert (Hi' : (i < length (Isolation.Engine_vms e))%nat) by (unfold len in Hmv; lia).
      rewrite (abs_slot c e i _ (nth_error_nth' _ Isolation.zero_vm Hi')), abs_vm_live.
      pose proof (Hall (Z.of_nat i) ltac:(unfold len; lia)) as Hl. unfold live_at in Hl. rewrite Nat2Z.id in Hl.
      rewrite Hl. reflexivity. }
    rewrite Hfs. left. exists NO_MEMORY, []. split; [reflexivity|]. split; [reflexivity|].
    split; [discriminate|]. split; [reflexivity|]. apply ms_eq_refl.
  - cbv zeta in Hsub. pose proof Hff as (Hsr & Hfree & Hbelow).
    assert (Hsl : (Z.to_nat slot < length (Isolation.Engine_vms e))%nat) by (unfold len in Hsr; lia).
    replace ((n =? 0)%nat || (max_vcpus c <? n)%nat) with false
      by (symmetry; apply orb_false_iff; split; [apply Nat.eqb_neq; lia|apply Nat.ltb_ge; lia]).
    assert (Hfs : free_slot c (abs_ms c e) = Some (S (Z.to_nat slot))).
    { unfold free_slot.
      assert (Hat : (if vm_live (ms_vms (abs_ms c e) (1 + Z.to_nat slot)%nat) then None else Some (1 + Z.to_nat slot)%nat)
                    = Some (S (Z.to_nat slot))).
      { replace (1 + Z.to_nat slot)%nat with (S (Z.to_nat slot)) by lia.
        rewrite (abs_slot c e _ _ (nth_error_nth' _ Isolation.zero_vm Hsl)), abs_vm_live.
        unfold live_at in Hfree. rewrite Hfree. reflexivity. }
      rewrite (first_range_at (max_vms c) 1 _ (Z.to_nat slot)).
      - exact Hat.
      - lia.
      - intros i' Hi'. replace (1 + i')%nat with (S i') by lia.
        assert (Hi'' : (i' < length (Isolation.Engine_vms e))%nat) by lia.
        rewrite (abs_slot c e i' _ (nth_error_nth' _ Isolation.zero_vm Hi'')), abs_vm_live.
        pose proof (Hbelow (Z.of_nat i') ltac:(lia)) as Hl. unfold live_at in Hl. rewrite Nat2Z.id in Hl.
        rewrite Hl. reflexivity.
      - rewrite Hat. discriminate. }
    rewrite Hfs. cbn [fst snd st_meta].
    set (m := nth (Z.to_nat slot) (Isolation.Engine_vms e) Isolation.zero_vm) in *.
    assert (Hml : Isolation.vm_live m = false) by exact Hfree.
    assert (Hown : forall v, (1 <= v <= length (Isolation.Engine_vms e))%nat ->
      Isolation.vm_live (nth (v - 1) (Isolation.Engine_vms e) Isolation.zero_vm) = true ->
      owns_tables e (Isolation.stage2_root (Isolation.vm_s2 (nth (v - 1) (Isolation.Engine_vms e) Isolation.zero_vm)))).
    { intros v Hv Hl. apply Hlive; [apply nth_In; lia|exact Hl]. }
    destruct Hsub as [(E & ->)|(rt & q & vcs & E & [Hrt _] & -> & Hfr)]; injection E as -> ->.
    + right. split; [reflexivity|]. split; [reflexivity|]. split; [eexists; reflexivity|].
      split; [intros p; apply abs_pages_at_slot|]. split.
      * intros p. cbn [ms_hs2 abs_ms]. unfold abs_hs2. rewrite host_at_slot, walk_slot by assumption. reflexivity.
      * intros v. cbn [ms_vms abs_ms]. rewrite len_vms_at_slot.
        destruct ((1 <=? v)%nat && (v <=? length (Isolation.Engine_vms e))%nat) eqn:Hv; [|apply vm_eq_refl].
        apply andb_true_iff in Hv as [Hv1 Hv2]. apply Nat.leb_le in Hv1, Hv2.
        destruct (Nat.eq_dec (v - 1) (Z.to_nat slot)) as [Ev|Ev].
        -- rewrite Ev, vms_at_slot by exact Hsl. fold m. unfold abs_vm. cbn [Isolation.vm_live Isolation.set_vm_s2].
           rewrite Hml. apply vm_eq_refl.
        -- rewrite nth_vms_at_slot_other by (intros H; apply Ev; symmetry; exact H).
           apply abs_vm_frame. intros Hl k. apply walk_slot; [exact Hok|]. apply Hown; [lia|exact Hl].
    + left. exists SUCCESS, [S (Z.to_nat slot)]. split; [reflexivity|]. split; [reflexivity|].
      split.
      { intros _. f_equal. rewrite wraps_small by lia. unfold wrapu. rewrite Z.mod_small by lia. lia. }
      split; [intros H; exfalso; apply H; reflexivity|].
      set (E := Isolation.set_Engine_pool q e) in *.
      assert (HsE : (Z.to_nat slot < length (Isolation.Engine_vms E))%nat) by (unfold E; rewrite vms_set_pool; exact Hsl).
      split; [intros p; cbn [ms_pages set_vm abs_ms]; rewrite abs_pages_at_slot; unfold E; rewrite abs_pages_set_pool; reflexivity|].
      split.
      * intros p. cbn [ms_hs2 set_vm abs_ms]. unfold abs_hs2. rewrite host_at_slot. unfold E. rewrite host_set_pool.
        rewrite walk_after with (rt := rt) by assumption. reflexivity.
      * intros v. cbn [ms_vms set_vm]. unfold State.upd. destruct (Nat.eqb_spec v (S (Z.to_nat slot))) as [->|Hne].
        -- rewrite (abs_slot c _ (Z.to_nat slot) _ (nth_error_at_slot E _ _ HsE)).
           apply abs_new_vm.
           ++ intros k. pose proof Hrt as (Hr0 & Hrl & _ & _ & [Hl _] & _ & HT & _).
              unfold ntables in Hrl.
              assert (HT' : tables (at_slot E (Z.to_nat slot) (new_vm (Z.of_nat n) (Z.of_nat flags)
                              (wrapu 16 (wraps 64 (slot + 1))) rt vcs)) = Isolation.Pool_Tables (Isolation.tablePool_Pool q))
                by (unfold E; destruct e; reflexivity).
              apply walk_zero_root.
              ** exact (tables_ok_taken e q rt Hok Hrt _ _).
              ** exact Hr0.
              ** rewrite HT', Hl. exact Hrl.
              ** rewrite HT', HT. rewrite nth_replace_nth_other' by lia. apply nth_replace_nth_same. unfold len in Hrl. lia.
              ** rewrite HT', HT. apply nth_replace_nth_same. rewrite replace_nth_length. unfold len in Hrl. lia.
           ++ destruct Hfr as [Hfl _]. rewrite Hfl. rewrite Forall_forall in Hroom.
              pose proof (Hroom m (nth_In _ _ Hsl)) as Hr. unfold len in Hr. lia.
           ++ exact (proj2 Hfr).
        -- cbn [abs_ms ms_vms]. rewrite len_vms_at_slot. unfold E. rewrite vms_set_pool.
           destruct ((1 <=? v)%nat && (v <=? length (Isolation.Engine_vms e))%nat) eqn:Hv; [|apply vm_eq_refl].
           apply andb_true_iff in Hv as [Hv1 Hv2]. apply Nat.leb_le in Hv1, Hv2.
           fold E. rewrite nth_vms_at_slot_other by lia. unfold E. rewrite vms_set_pool.
           apply abs_vm_frame. intros Hl k. symmetry. apply walk_after with (rt := rt); [exact Hok|exact Hrt|].
           apply Hown; [lia|exact Hl].
Qed.
