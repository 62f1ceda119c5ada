(** * VCPU_INIT and VCPU_IRQ refined whole

    Lemmas about proofs/code/Isolation.v, the translation of
    isolation/vm.go, that carry on from CodeVCPUInit.v (the outcomes of
    VCPU_INIT, [init_outcome]) and CodeS2Refine.v (the model's VM slots).
    Proved here:
    - the model's vCPU check passes exactly for a live VM at the vmid with
      that many vCPUs ([vcpu_ok_abs]), and its alignment check is the
      code's ([entry_aligned]);
    - the abstraction of the vCPU VCPU_INIT leaves is Ready at the entry
      with the argument in x0, owes no reply and keeps its interrupt lines
      ([init_vcpu_abs]);
    - writing one vCPU changes no page, not the host stage-2 and no walk
      ([put_vcpu_pages]); replacing one VM slot by one on the same
      stage-2 changes no page, no walk and no other slot
      ([put_vm_ms_eq], [put_vm_slot]), nor does replacing its vCPUs
      ([put_vcpus_ms_eq], [put_vcpu_ms_eq]);
    - so VCPU_INIT, from [create_inv], for any 64-bit vmid, vCPU, entry and
      argument, answers the model's status, and the abstraction of the
      engine it leaves is the model's metadata after the step, field by
      field and point by point ([VCPUInit_refines]);
    - a line word with one bit set or cleared reads, line by line, as the
      model's levels with that line updated ([line_after],
      [line_vcpu_abs]), so VCPU_IRQ is refined likewise
      ([VCPUIRQ_refines]). *)
From Coq Require Import ZArith Lia List Bool.
From Bulkhead.Spec Require Import State Spec.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodeVCPU CodeVCPUInit CodeVMCreate CodeAbsLedger CodeAbs CodeVMCreateRefine
  CodeVMCreateInv CodeS2Refine CodeAbi CodeFree CodeStage2 CodeTrack.
Import ListNotations.
Open Scope Z_scope.

(** The model's check that vCPU [v] of VM [id] exists, on the
    abstraction, holds exactly when a live VM sits at the vmid with more
    than [v] vCPUs. *)
Lemma vcpu_ok_abs : forall c e id v, cfg_abs c e -> 0 <= id -> 0 <= v ->
  vcpu_ok c (abs_ms c e) (Z.to_nat id) (Z.to_nat v) = true <->
  exists m, 1 <= id <= len (Isolation.Engine_vms e) /\
    nth_error (Isolation.Engine_vms e) (Z.to_nat (id - 1)) = Some m /\ Isolation.vm_live m = true /\
    0 <= v < Isolation.vm_nvcpu m.
Proof.
  intros c e id v (_ & Hmax & _) Hid Hv. unfold vcpu_ok, vmid_ok. unfold len in *. split.
  - intros H. apply andb_true_iff in H as [H Hc]. apply andb_true_iff in H as [H Hl].
    apply andb_true_iff in H as [H0 Hm]. apply negb_true_iff, Nat.eqb_neq in H0. apply Nat.leb_le in Hm.
    assert (Hs : Z.to_nat id = S (Z.to_nat (id - 1))) by lia.
    destruct (nth_error (Isolation.Engine_vms e) (Z.to_nat (id - 1))) as [m|] eqn:Hn;
      [|apply nth_error_None in Hn; lia].
    rewrite Hs, (abs_slot c e _ m Hn) in Hl, Hc. unfold abs_vm in Hl, Hc.
    destruct (Isolation.vm_live m) eqn:Hlv; [|discriminate Hl]. cbn [vm_vcpus] in Hc. apply Nat.ltb_lt in Hc.
    exists m. split; [lia|]. split; [reflexivity|]. split; [exact Hlv|lia].
  - intros (m & Hr & Hn & Hlv & Hvm).
    assert (Hs : Z.to_nat id = S (Z.to_nat (id - 1))) by lia.
    rewrite Hs, (abs_slot c e _ m Hn). unfold abs_vm. rewrite Hlv. cbn [vm_live vm_vcpus].
    rewrite <- Hs. apply andb_true_iff. split; [apply andb_true_iff; split; [apply andb_true_iff; split|]|].
    + apply negb_true_iff, Nat.eqb_neq. lia.
    + apply Nat.leb_le. lia.
    + reflexivity.
    + apply Nat.ltb_lt. lia.
Qed.

Lemma vcpu_ok_slot : forall c e id v m, cfg_abs c e -> 1 <= id -> 0 <= v < Isolation.vm_nvcpu m ->
  nth_error (Isolation.Engine_vms e) (Z.to_nat (id - 1)) = Some m -> Isolation.vm_live m = true ->
  vcpu_ok c (abs_ms c e) (Z.to_nat id) (Z.to_nat v) = true.
Proof.
  intros c e id v m Hcfg Hid1 Hvm Hn Hlv. apply (vcpu_ok_abs c e id v Hcfg ltac:(lia) ltac:(lia)).
  exists m. split; [|split; [exact Hn|split; [exact Hlv|exact Hvm]]].
  pose proof (nth_error_Some (Isolation.Engine_vms e) (Z.to_nat (id - 1))) as Hs. rewrite Hn in Hs.
  assert (Z.to_nat (id - 1) < length (Isolation.Engine_vms e))%nat by (apply Hs; discriminate).
  unfold len. lia.
Qed.

(** The code's alignment check of the entry is the model's. *)
Lemma entry_aligned : forall entry, 0 <= entry ->
  (Z.to_nat entry mod 4 =? 0)%nat = (Z.land entry 3 =? 0).
Proof.
  intros entry H. change 3 with (Z.ones 2). rewrite Z.land_ones by lia. change (2 ^ 2) with 4.
  rewrite <- (Z2Nat.id (entry mod 4)) by (apply Z.mod_pos_bound; lia).
  rewrite Z2Nat.inj_mod by lia. change (Z.to_nat 4) with 4%nat.
  destruct (Nat.eqb_spec (Z.to_nat entry mod 4) 0) as [E|E]; [rewrite E; reflexivity|].
  symmetry. apply Z.eqb_neq. lia.
Qed.

(** The abstraction of the vCPU VCPU_INIT leaves. *)
Lemma init_vcpu_abs : forall c0 id v entry arg,
  abs_vcpu (init_vcpu c0 id v entry arg) = mkVCPU (VReady (Z.to_nat entry) (Z.to_nat arg)) PNone (abs_irq c0).
Proof. intros c0 id v entry arg. destruct c0. reflexivity. Qed.

Lemma put_vcpu_pages : forall e i m j c0,
  Isolation.Engine_pages (put_vcpu e i m j c0) = Isolation.Engine_pages e /\
  Isolation.Engine_host (put_vcpu e i m j c0) = Isolation.Engine_host e /\
  Isolation.Engine_cfg (put_vcpu e i m j c0) = Isolation.Engine_cfg e.
Proof. intros e i m j c0. destruct e. repeat split. Qed.

(** The model's vCPU [v] of VM [id] is the abstraction of the engine's. *)
Lemma vcpu_of_abs : forall c e id v m c0, 1 <= id ->
  nth_error (Isolation.Engine_vms e) (Z.to_nat (id - 1)) = Some m -> Isolation.vm_live m = true ->
  0 <= v < Isolation.vm_nvcpu m -> nth_error (Isolation.vm_vcpus m) (Z.to_nat v) = Some c0 ->
  vcpu_of (abs_ms c e) (Z.to_nat id) (Z.to_nat v) = abs_vcpu c0.
Proof.
  intros c e id v m c0 Hid1 Hn Hlv Hvm Hc0. unfold vcpu_of. rewrite (slot_vm c e id m Hid1 Hn).
  unfold abs_vm. rewrite Hlv. cbn [vm_vcpu].
  replace (Z.to_nat v <? Z.to_nat (Isolation.vm_nvcpu m))%nat with true by (symmetry; apply Nat.ltb_lt; lia).
  rewrite (nth_error_nth _ _ Isolation.zero_vcpu Hc0). reflexivity.
Qed.

(** Replacing the VM slot of vmid [id] by [m1] leaves the abstraction the
    model's metadata with that slot set to [x], when [x] reads as the
    abstraction's slot after: no page, no host walk and no other slot
    changes. *)
Lemma put_vm_ms_eq : forall c e id m m1 x, create_inv c e -> 1 <= id ->
  nth_error (Isolation.Engine_vms e) (Z.to_nat (id - 1)) = Some m ->
  vm_eq x (ms_vms (abs_ms c (put_vm e (Z.to_nat (id - 1)) m1)) (Z.to_nat id)) ->
  ms_eq (set_vm (abs_ms c e) (Z.to_nat id) x) (abs_ms c (put_vm e (Z.to_nat (id - 1)) m1)).
Proof.
  intros c e id m m1 x Hc Hid1 Hn Hx.
  pose proof Hc as (_ & Hok & _ & Hhost & Hvms & _).
  set (i := Z.to_nat (id - 1)) in *.
  assert (Hi : (i < length (Isolation.Engine_vms e))%nat)
    by (pose proof (nth_error_Some (Isolation.Engine_vms e) i) as Hs; rewrite Hn in Hs; apply Hs; discriminate).
  assert (Hw : forall s2 k, owns_tables e (Isolation.stage2_root s2) -> walk (put_vm e i m1) s2 k = walk e s2 k)
    by (intros s2 k Ho; exact (walk_slot e i _ s2 k Hok Ho)).
  split; [|split].
  - intros p. unfold set_vm. cbn [ms_pages]. unfold abs_ms. cbn [ms_pages]. unfold abs_pages.
    destruct e; reflexivity.
  - intros p. unfold set_vm. cbn [ms_hs2]. unfold abs_ms. cbn [ms_hs2]. unfold abs_hs2.
    replace (Isolation.Engine_host (put_vm e i m1)) with (Isolation.Engine_host e) by (destruct e; reflexivity).
    rewrite (Hw _ p Hhost). destruct e; reflexivity.
  - intros w. unfold set_vm. cbn [ms_vms]. unfold State.upd.
    destruct (Nat.eqb_spec w (Z.to_nat id)) as [->|Hwv]; [exact Hx|].
    apply (abs_slot_same_at c e _ w).
    + destruct e; exact (replace_nth_length _ _ _).
    + intros Hw1. destruct e. cbn. apply nth_replace_nth_other'. lia.
    + intros _ m0 Hm0 Hl0 p. apply abs_s2_same. intros k. apply Hw.
      exact (Hvms m0 (nth_error_In _ _ Hm0) Hl0).
Qed.

(** The slot of vmid [id] after it is replaced by [m1] on the same
    stage-2 as the live [m] it held: [m1]'s abstraction, its stage-2 read
    in the engine before. *)
Lemma put_vm_slot : forall c e id m m1, create_inv c e -> 1 <= id ->
  nth_error (Isolation.Engine_vms e) (Z.to_nat (id - 1)) = Some m -> Isolation.vm_live m = true ->
  Isolation.vm_s2 m1 = Isolation.vm_s2 m ->
  ms_vms (abs_ms c (put_vm e (Z.to_nat (id - 1)) m1)) (Z.to_nat id) =
  abs_vm c (put_vm e (Z.to_nat (id - 1)) m1) m1 /\
  forall p, abs_s2 c (put_vm e (Z.to_nat (id - 1)) m1) (Isolation.vm_s2 m1) p = abs_s2 c e (Isolation.vm_s2 m) p.
Proof.
  intros c e id m m1 Hc Hid1 Hn Hlv Hs2.
  pose proof Hc as (_ & Hok & _ & _ & Hvms & _).
  assert (Hi : (Z.to_nat (id - 1) < length (Isolation.Engine_vms e))%nat)
    by (pose proof (nth_error_Some (Isolation.Engine_vms e) (Z.to_nat (id - 1))) as Hs; rewrite Hn in Hs; apply Hs; discriminate).
  split.
  - apply (slot_vm c _ id m1 Hid1). destruct e; exact (nth_replace_nth _ m1 _ Hi).
  - intros p. rewrite Hs2. apply abs_s2_same. intros k. apply (walk_slot e _ _ _ k Hok).
    exact (Hvms _ (nth_error_In _ _ Hn) Hlv).
Qed.

(** Replacing the vCPUs of the live VM [id] by [l] leaves the abstraction
    the model's metadata with that slot's vCPUs read as [f], when [f]
    reads as the abstraction of [l] below the VM's vCPU count and as Off
    above it: no page, no walk and no other slot changes. *)
Lemma put_vcpus_ms_eq : forall c e id m l f, create_inv c e -> 1 <= id ->
  nth_error (Isolation.Engine_vms e) (Z.to_nat (id - 1)) = Some m -> Isolation.vm_live m = true ->
  (forall k, vcpu_eq (f k) (if (k <? Z.to_nat (Isolation.vm_nvcpu m))%nat
                            then abs_vcpu (nth k l Isolation.zero_vcpu) else vcpu_off)) ->
  let w := ms_vms (abs_ms c e) (Z.to_nat id) in
  ms_eq (set_vm (abs_ms c e) (Z.to_nat id)
          (mkVM (vm_live w) (vm_vcpus w) (vm_hasrun w) (vm_protected w) f (vm_s2 w) (vm_marks w) (vm_log w)))
        (abs_ms c (put_vm e (Z.to_nat (id - 1)) (Isolation.set_vm_vcpus l m))).
Proof.
  intros c e id m l f Hc Hid1 Hn Hlv Hf w.
  destruct (put_vm_slot c e id m (Isolation.set_vm_vcpus l m) Hc Hid1 Hn Hlv ltac:(destruct m; reflexivity))
    as (Hslot & Hs2).
  apply (put_vm_ms_eq c e id m _ _ Hc Hid1 Hn). rewrite Hslot.
  unfold w. rewrite (slot_vm c e id m Hid1 Hn). unfold abs_vm at 1. rewrite Hlv.
  revert Hs2 Hf. unfold abs_vm. rewrite Hlv.
  destruct m as [l0 hr0 nv0 s20 vcs0 sh0 pr0].
  cbn [Isolation.vm_live Isolation.vm_nvcpu Isolation.vm_vcpus Isolation.vm_hasRun Isolation.vm_s2
       Isolation.vm_shadow Isolation.vm_protected Isolation.set_vm_vcpus] in *.
  subst l0. intros Hs2 Hf. unfold vm_eq. cbn [vm_live vm_vcpus vm_hasrun vm_protected vm_vcpu vm_s2 vm_marks vm_log].
  split; [reflexivity|]. split; [reflexivity|]. split; [reflexivity|]. split; [reflexivity|].
  split; [exact Hf|]. split; [|split; reflexivity].
  intros p. symmetry. exact (Hs2 p).
Qed.

(** Storing vCPU [j] of the live VM [id] as [c1] leaves the abstraction
    the model's metadata with that vCPU set to [x], when [x] is the
    abstraction of [c1]: no page, no walk and no other vCPU or slot
    changes. *)
Lemma put_vcpu_ms_eq : forall c e id j m c1 x, create_inv c e -> 1 <= id ->
  nth_error (Isolation.Engine_vms e) (Z.to_nat (id - 1)) = Some m -> Isolation.vm_live m = true ->
  0 <= j < Isolation.vm_nvcpu m -> (Z.to_nat j < length (Isolation.vm_vcpus m))%nat ->
  vcpu_eq x (abs_vcpu c1) ->
  ms_eq (set_vcpu (abs_ms c e) (Z.to_nat id) (Z.to_nat j) x)
        (abs_ms c (put_vcpu e (Z.to_nat (id - 1)) m (Z.to_nat j) c1)).
Proof.
  intros c e id j m c1 x Hc Hid1 Hn Hlv Hj Hjl Hx. unfold set_vcpu, put_vcpu.
  apply (put_vcpus_ms_eq c e id m _ _ Hc Hid1 Hn Hlv).
  intros k. rewrite (slot_vm c e id m Hid1 Hn). unfold abs_vm. rewrite Hlv. cbn [vm_vcpu]. unfold State.upd.
  destruct (Nat.eqb_spec k (Z.to_nat j)) as [->|Hk].
  - replace (Z.to_nat j <? Z.to_nat (Isolation.vm_nvcpu m))%nat with true by (symmetry; apply Nat.ltb_lt; lia).
    rewrite nth_replace_nth_same by exact Hjl. exact Hx.
  - rewrite nth_replace_nth_other' by (intros E; apply Hk; symmetry; exact E).
    split; [reflexivity|split; [reflexivity|intros; reflexivity]].
Qed.

(** VCPU_INIT, from [create_inv], for any 64-bit vmid, vCPU, entry and
    argument: it answers the status the model's step answers, and the
    model's metadata after the step is the abstraction of the engine it
    leaves: on an error both leave everything as it was; on SUCCESS the
    vCPU is Ready at the entry with the argument in x0, owes no reply and
    keeps its interrupt lines, every other vCPU, slot, page and mapping
    as it was. *)
Theorem VCPUInit_refines : forall c e tr id v entry arg mem regs,
  create_inv c e -> 0 <= id < 2 ^ 64 -> 0 <= v < 2 ^ 64 -> 0 <= entry < 2 ^ 64 -> 0 <= arg < 2 ^ 64 ->
  exists st e', Isolation.Engine_VCPUInit root id v entry arg e tr = Ok st e' tr /\
    let r := vcpu_init c (abs_state c e mem regs) (Z.to_nat id) (Z.to_nat v) (Z.to_nat entry) (Z.to_nat arg) in
    exists sst, snd r = ORet sst [] /\ go_status sst = st /\ ms_eq (st_meta (fst r)) (abs_ms c e').
Proof.
  intros c e tr id v entry arg mem regs Hc Hid Hv He Ha.
  pose proof Hc as ((Hvok & _) & Hok & Hcfg & Hhost & Hvms & _).
  destruct (VCPUInit_no_failure e tr id v entry arg Hvok Hid Hv) as (st & e' & Hrun & _ & _ & Hout).
  exists st, e'. split; [exact Hrun|]. cbv zeta. unfold vcpu_init. cbv zeta.
  rewrite (entry_aligned entry ltac:(lia)).
  destruct Hout as [(-> & [(-> & [Hno|Hal])|(-> & m & Hn & Hlv & Hid1 & Hvm & Hal & Hhr)])|
                    (-> & m & c0 & Hn & Hlv & Hid1 & Hvm & Hal & Hhr & Hc0 & ->)].
  - assert (Hf : vcpu_ok c (abs_ms c e) (Z.to_nat id) (Z.to_nat v) = false).
    { destruct (vcpu_ok _ _ _ _) eqn:Hk; [|reflexivity]. exfalso. apply Hno.
      exact (proj1 (vcpu_ok_abs c e id v Hcfg ltac:(lia) ltac:(lia)) Hk). }
    cbn [st_meta abs_state]. rewrite Hf. cbn. eexists. split; [reflexivity|]. split; [reflexivity|apply ms_eq_refl].
  - cbn [st_meta abs_state]. apply Z.eqb_neq in Hal. rewrite Hal.
    destruct (vcpu_ok _ _ _ _); cbn; eexists; (split; [reflexivity|]); (split; [reflexivity|apply ms_eq_refl]).
  - cbn [st_meta abs_state]. rewrite (vcpu_ok_slot c e id v m Hcfg Hid1 Hvm Hn Hlv), Hal. cbn [negb Z.eqb].
    rewrite (slot_vm c e id m Hid1 Hn).
    replace (vm_hasrun (abs_vm c e m)) with true by (unfold abs_vm; rewrite Hlv; cbn; symmetry; exact Hhr).
    cbn [fst snd st_meta]. eexists. split; [reflexivity|]. split; [reflexivity|apply ms_eq_refl].
  - cbn [st_meta abs_state]. rewrite (vcpu_ok_slot c e id v m Hcfg Hid1 Hvm Hn Hlv), Hal. cbn [negb Z.eqb].
    rewrite (slot_vm c e id m Hid1 Hn).
    replace (vm_hasrun (abs_vm c e m)) with false by (unfold abs_vm; rewrite Hlv; cbn; symmetry; exact Hhr).
    cbn [fst snd st_meta]. eexists. split; [reflexivity|]. split; [reflexivity|].
    assert (Hvl : (Z.to_nat v < length (Isolation.vm_vcpus m))%nat).
    { pose proof (nth_error_Some (Isolation.vm_vcpus m) (Z.to_nat v)) as Hs'. rewrite Hc0 in Hs'.
      apply Hs'. discriminate. }
    apply (put_vcpu_ms_eq c e id v m _ _ Hc Hid1 Hn Hlv Hvm Hvl).
    rewrite init_vcpu_abs, (vcpu_of_abs c e id v m c0 Hid1 Hn Hlv Hvm Hc0).
    split; [reflexivity|split; [reflexivity|intros; reflexivity]].
Qed.

(** ** VCPU_IRQ *)

Lemma shl_bit : forall k, 0 <= k < 64 -> shl 64 false 1 k = 2 ^ k.
Proof.
  intros k Hk. unfold shl, wrapu. destruct (Z.leb_spec 64 k); [lia|]. rewrite Z.shiftl_1_l.
  apply Z.mod_small. split; [apply Z.pow_nonneg; lia|apply Z.pow_lt_mono_r; lia].
Qed.

Lemma testbit_set : forall w k j, 0 <= k -> 0 <= j ->
  Z.testbit (Z.lor w (2 ^ k)) j = if j =? k then true else Z.testbit w j.
Proof.
  intros w k j Hk Hj. rewrite Z.lor_spec, Z.pow2_bits_eqb by lia.
  destruct (Z.eqb_spec j k) as [->|Ne]; [rewrite Z.eqb_refl, orb_true_r; reflexivity|].
  rewrite (proj2 (Z.eqb_neq k j)) by lia. apply orb_false_r.
Qed.

Lemma testbit_clear : forall w k j, 0 <= k -> 0 <= j ->
  Z.testbit (andnot w (2 ^ k)) j = if j =? k then false else Z.testbit w j.
Proof.
  intros w k j Hk Hj. unfold andnot. rewrite Z.land_spec, Z.lnot_spec, Z.pow2_bits_eqb by lia.
  destruct (Z.eqb_spec j k) as [->|Ne]; [rewrite Z.eqb_refl, andb_false_r; reflexivity|].
  rewrite (proj2 (Z.eqb_neq k j)) by lia. apply andb_true_r.
Qed.

(** Interrupt line [i] read from the words [ws] after the word of line
    [intid] is replaced by [w'], which has bit [intid mod 64] set to [b]
    and every other bit of the old word. *)
Lemma line_after : forall (ws : list Z) intid w' b, 0 <= intid -> (Z.to_nat (intid / 64) < length ws)%nat ->
  (forall j, 0 <= j -> Z.testbit w' j =
     if j =? intid mod 64 then b else Z.testbit (nth (Z.to_nat (intid / 64)) ws 0) j) ->
  forall i, Z.testbit (nth (i / 64) (replace_nth (Z.to_nat (intid / 64)) w' ws) 0) (Z.of_nat (i mod 64)) =
    if Nat.eqb i (Z.to_nat intid) then b else Z.testbit (nth (i / 64) ws 0) (Z.of_nat (i mod 64)).
Proof.
  intros ws intid w' b Hi Hl Hg i.
  pose proof (Nat.div_mod i 64 ltac:(lia)). pose proof (Nat.mod_upper_bound i 64 ltac:(lia)).
  pose proof (Z.div_mod intid 64 ltac:(lia)). pose proof (Z.mod_pos_bound intid 64 ltac:(lia)).
  assert (0 <= intid / 64) by (apply Z.div_pos; lia).
  destruct (Nat.eq_dec (i / 64) (Z.to_nat (intid / 64))) as [E|N].
  - rewrite E, nth_replace_nth_same by exact Hl. rewrite Hg by lia.
    destruct (Nat.eqb_spec i (Z.to_nat intid)) as [Ei|Ni];
      destruct (Z.eqb_spec (Z.of_nat (i mod 64)) (intid mod 64)) as [Em|Nm]; try reflexivity; exfalso; lia.
  - rewrite nth_replace_nth_other' by (intros E; apply N; symmetry; exact E).
    destruct (Nat.eqb_spec i (Z.to_nat intid)) as [Ei|Ni]; [exfalso; apply N; rewrite Ei|reflexivity].
    rewrite Z2Nat.inj_div by lia. reflexivity.
Qed.

(** The abstraction of the vCPU VCPU_IRQ leaves: as it was, but for line
    [intid], which is the level asked, or for a lowered SGI its latch. *)
Lemma line_vcpu_abs : forall c0 intid level, 0 <= intid < 1020 -> 0 <= level <= 1 ->
  len (Isolation.Context_IRQ (Isolation.vcpu_ctx c0)) = 16 ->
  vcpu_eq (mkVCPU (abs_vstate c0) (abs_pend c0)
             (State.upd (abs_irq c0) (Z.to_nat intid)
                ((Z.to_nat level =? 1)%nat || ((Z.to_nat intid <? 16)%nat && abs_irq c0 (Z.to_nat intid)))))
    (abs_vcpu (line_vcpu c0 intid level)).
Proof.
  intros c0 intid level Hi Hl Hlen.
  assert (Hk : (Z.to_nat (intid / 64) < length (Isolation.Context_IRQ (Isolation.vcpu_ctx c0)))%nat).
  { unfold len in Hlen. assert (intid / 64 < 16) by (apply Z.div_lt_upper_bound; lia). lia. }
  pose proof (Z.mod_pos_bound intid 64 ltac:(lia)) as Hm.
  unfold line_vcpu, Isolation.sgiLines, vcpu_eq. cbn [vc_state vc_pend vc_irq abs_vcpu].
  destruct (Z.eqb_spec level 1) as [->|Nl].
  - split; [reflexivity|]. split; [reflexivity|]. intros i. unfold State.upd, abs_irq, set_line. cbv zeta.
    cbn [Isolation.vcpu_ctx Isolation.set_vcpu_ctx Isolation.Context_IRQ Isolation.set_Context_IRQ].
    rewrite (line_after _ intid _ true ltac:(lia) Hk); [destruct (_ =? _)%nat; reflexivity|].
    intros j Hj. rewrite shl_bit by lia. apply testbit_set; lia.
  - replace (Z.to_nat level =? 1)%nat with false by (symmetry; apply Nat.eqb_neq; lia). cbn [orb].
    destruct (Z.geb_spec intid 16) as [Hge|Hlt].
    + replace (Z.to_nat intid <? 16)%nat with false by (symmetry; apply Nat.ltb_ge; lia). cbn [andb].
      split; [reflexivity|]. split; [reflexivity|]. intros i. unfold State.upd, abs_irq, set_line. cbv zeta.
    cbn [Isolation.vcpu_ctx Isolation.set_vcpu_ctx Isolation.Context_IRQ Isolation.set_Context_IRQ].
      rewrite (line_after _ intid _ false ltac:(lia) Hk); [destruct (_ =? _)%nat; reflexivity|].
      intros j Hj. rewrite shl_bit by lia. apply testbit_clear; lia.
    + replace (Z.to_nat intid <? 16)%nat with true by (symmetry; apply Nat.ltb_lt; lia). cbn [andb].
      split; [reflexivity|]. split; [reflexivity|]. intros i. unfold State.upd.
      destruct (Nat.eqb_spec i (Z.to_nat intid)) as [->|]; reflexivity.
Qed.

(** VCPU_IRQ, from [create_inv], for any 64-bit vmid, vCPU, line and
    level: it answers the status the model's step answers, and the
    model's metadata after the step is the abstraction of the engine it
    leaves: on an error both leave everything as it was; on SUCCESS the
    line has the level asked (a lowered SGI keeps its latch), every other
    line, vCPU, slot, page and mapping as it was. *)
Theorem VCPUIRQ_refines : forall c e tr id v intid level mem regs,
  create_inv c e -> 0 <= id < 2 ^ 64 -> 0 <= v < 2 ^ 64 -> 0 <= intid < 2 ^ 64 -> 0 <= level < 2 ^ 64 ->
  exists st e', Isolation.Engine_VCPUIRQ root id v intid level e tr = Ok st e' tr /\
    let r := vcpu_irq c (abs_state c e mem regs) (Z.to_nat id) (Z.to_nat v) (Z.to_nat intid) (Z.to_nat level) in
    exists sst, snd r = ORet sst [] /\ go_status sst = st /\ ms_eq (st_meta (fst r)) (abs_ms c e').
Proof.
  intros c e tr id v intid level mem regs Hc Hid Hv Hi Hl.
  pose proof Hc as ((Hvok & _) & _ & Hcfg & _).
  destruct (VCPUIRQ_inv e tr id v intid level Hvok Hid Hv Hi) as (st & e' & Hrun & _ & _ & Hout).
  exists st, e'. split; [exact Hrun|]. cbv zeta. unfold vcpu_irq. cbv zeta. cbn [st_meta abs_state].
  destruct Hout as [(-> & -> & Hwhy)|(-> & m & c0 & Hn & Hlv & Hid1 & Hvm & Hc0 & Hi1 & Hl1 & Hirq & ->)].
  - destruct (vcpu_ok c (abs_ms c e) (Z.to_nat id) (Z.to_nat v)) eqn:Hk; cbn [negb].
    + destruct Hwhy as [Hno|[Hbig|Hlvl]].
      * exfalso. apply Hno. exact (proj1 (vcpu_ok_abs c e id v Hcfg ltac:(lia) ltac:(lia)) Hk).
      * replace (max_intid <=? Z.to_nat intid)%nat with true by (symmetry; apply Nat.leb_le; unfold max_intid; lia).
        cbn. eexists. split; [reflexivity|]. split; [reflexivity|apply ms_eq_refl].
      * destruct (max_intid <=? Z.to_nat intid)%nat;
          [|replace (1 <? Z.to_nat level)%nat with true by (symmetry; apply Nat.ltb_lt; lia)];
          cbn; eexists; (split; [reflexivity|]); (split; [reflexivity|apply ms_eq_refl]).
    + cbn. eexists. split; [reflexivity|]. split; [reflexivity|apply ms_eq_refl].
  - rewrite (vcpu_ok_slot c e id v m Hcfg Hid1 Hvm Hn Hlv). cbn [negb].
    replace (max_intid <=? Z.to_nat intid)%nat with false by (symmetry; apply Nat.leb_gt; unfold max_intid; lia).
    replace (1 <? Z.to_nat level)%nat with false by (symmetry; apply Nat.ltb_ge; lia).
    cbn [fst snd st_meta]. eexists. split; [reflexivity|]. split; [reflexivity|].
    assert (Hvl : (Z.to_nat v < length (Isolation.vm_vcpus m))%nat).
    { pose proof (nth_error_Some (Isolation.vm_vcpus m) (Z.to_nat v)) as Hs'. rewrite Hc0 in Hs'.
      apply Hs'. discriminate. }
    apply (put_vcpu_ms_eq c e id v m _ _ Hc Hid1 Hn Hlv Hvm Hvl).
    rewrite (vcpu_of_abs c e id v m c0 Hid1 Hn Hlv Hvm Hc0).
    exact (line_vcpu_abs c0 intid level ltac:(lia) ltac:(lia) Hirq).
Qed.
