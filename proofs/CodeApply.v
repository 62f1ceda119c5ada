(** * Applying the decision about a trap of VCPU_RUN

    Theorems about proofs/code/Isolation.v, the translation of
    isolation/vm.go ([apply], which carries out what the exit filter
    decided about one trap of a vCPU). Proved here:
    - a store into one VM slot's shadow state or one of its vCPUs
      replaces the slot by one as live, with as many vCPUs, on the same
      stage-2 ([store_slot]); so it keeps [Inv] on the abstraction
      ([store_Inv], from [slot_same_Inv]), [refine_inv]
      ([store_refine_inv]), the caller a vCPU of a live VM
      ([store_live]) and the vCPU's place valid ([store_valid]);
    - a place built from the root reads and writes like the memory it
      was followed in ([lens_tracks]);
    - so [apply], for a decision [FilterTrap] can make ([decision_ok]),
      of a vCPU marked On whose context names it and holds 31 registers
      of 64 bits, of a live VM of at most 256 vCPUs, from [refine_inv],
      never fails: it advances the PC and exits to the host (after the
      MMIO shadow path, which may complete the access itself), performs
      the call ([guestTrapCall_keeps]), answers NOT_SUPPORTED in x0 or
      reflects an abort, and meets [run_post] ([apply_keeps]), keeping
      every vCPU ready to run if each was. *)
From Coq Require Import ZArith Lia List Bool.
From Bulkhead.Spec Require Import State Spec.
From Bulkhead.Proofs Require Import Invariants.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodeLens CodeTrack CodeVCPU CodeVCPUInit CodeVMCreate CodeShadow CodeAbs
  CodeVMCreateRefine CodeVMCreateInv CodeS2Refine CodeVCPURefine CodeEngineOk CodeRefineInv CodeModelThms
  CodeVMDestroy CodeGuestDispatch CodeGuestPSCI CodeTrapCall CodeExitFilter CodeReady CodeHostLevel.
Import ListNotations.
Open Scope Z_scope.

(** ** Stores into one slot *)

(** Replacing slot [id - 1] by one as live, as protected and on the same
    stage-2 keeps [Inv] on the abstraction: [Inv] reads the ledger, the
    host stage-2 and each slot's liveness, stage-2 and protection. *)
Lemma slot_same_Inv : forall c e id m m', create_inv c e -> 1 <= id ->
  nth_error (Isolation.Engine_vms e) (Z.to_nat (id - 1)) = Some m -> slot_same m m' ->
  Inv c (abs_ms c e) -> Inv c (abs_ms c (put_vm e (Z.to_nat (id - 1)) m')).
Proof.
  intros c e id m m' Hc Hid1 Hn (Hs2 & Hl & Hp & _) I.
  pose proof (put_vm_ms_eq c e id m m' _ Hc Hid1 Hn (vm_eq_refl _)) as Hx.
  apply (Inv_ms_eq c _ _ Hx). apply (inv_frame c (abs_ms c e)); [exact I|intros; reflexivity|intros; reflexivity|..];
    intros v; unfold set_vm, State.upd; cbn [ms_vms]; (destruct (Nat.eqb_spec v (Z.to_nat id)) as [->|_]; [|reflexivity]);
    assert (Hi : (Z.to_nat (id - 1) < length (Isolation.Engine_vms e))%nat) by (apply nth_error_Some; congruence);
    rewrite (slot_vm c (put_vm e (Z.to_nat (id - 1)) m') id m' Hid1 (vms_put_vm e _ m' Hi)), (slot_vm c e id m Hid1 Hn);
    unfold abs_vm; rewrite Hl;
    destruct (Isolation.vm_live m) eqn:Hlv; cbn [vm_live vm_s2 vm_protected vm_free]; try reflexivity.
  - intros p. exact (proj2 (put_vm_slot c e id m m' Hc Hid1 Hn Hlv Hs2) p).
  - exact Hp.
Qed.

(** A store into a slot's shadow state or one of its vCPUs. *)
Lemma store_slot : forall e e', shadow_store e e' \/ vcpu_store e e' ->
  e' = e \/ exists i m m', nth_error (Isolation.Engine_vms e) i = Some m /\ slot_same m m' /\
    Isolation.vm_nvcpu m' = Isolation.vm_nvcpu m /\ e' = put_vm e i m'.
Proof.
  intros e e' [[->|(i & m & sh & Hn & ->)]|[->|(i & m & j & x & Hn & ->)]]; [left; reflexivity| |left; reflexivity|].
  - right. exists i, m, (Isolation.set_vm_shadow sh m). split; [exact Hn|].
    split; [destruct m; repeat split|]. split; [destruct m; reflexivity|reflexivity].
  - right. exists i, m, (Isolation.set_vm_vcpus (replace_nth j x (Isolation.vm_vcpus m)) m). split; [exact Hn|].
    split; [destruct m; repeat split; apply len_replace|]. split; [destruct m; reflexivity|reflexivity].
Qed.

Lemma store_Inv : forall c e e', create_inv c e -> shadow_store e e' \/ vcpu_store e e' ->
  Inv c (abs_ms c e) -> Inv c (abs_ms c e').
Proof.
  intros c e e' Hc Hst I. destruct (store_slot e e' Hst) as [->|(i & m & m' & Hn & Hss & _ & ->)]; [exact I|].
  replace i with (Z.to_nat ((Z.of_nat i + 1) - 1)) in * by lia.
  exact (slot_same_Inv c e (Z.of_nat i + 1) m m' Hc ltac:(lia) Hn Hss I).
Qed.

Lemma store_refine_inv : forall c e e', refine_inv c e -> shadow_store e e' \/ vcpu_store e e' -> shadow_inv e' ->
  refine_inv c e'.
Proof.
  intros c e e' R Hst Hs'. destruct (slot_keeps_of c e R) as (HP & _ & [Hsh Hvc]).
  destruct Hst as [Hst|Hst].
  - exact (proj1 (shadow_store_refine_inv c e e' R Hst (Hsh e e' HP Hst) Hs')).
  - exact (proj1 (vcpu_store_refine_inv c e e' R Hst (Hvc e e' HP Hst) Hs')).
Qed.

Lemma store_live : forall e e' cl m, live_caller e cl m -> shadow_store e e' \/ vcpu_store e e' ->
  exists m', live_caller e' cl m' /\ Isolation.vm_nvcpu m' = Isolation.vm_nvcpu m.
Proof.
  intros e e' cl m Hcl Hst. destruct (store_slot e e' Hst) as [->|(i & m0 & m' & Hn & (_ & Hl & _) & Hnv & ->)];
    [exists m; split; [exact Hcl|reflexivity]|].
  destruct Hcl as (Hid & Hnth & Hlv & Hj).
  assert (Hi : (i < length (Isolation.Engine_vms e))%nat) by (apply nth_error_Some; congruence).
  destruct (Nat.eq_dec i (Z.to_nat (Isolation.Caller_VM cl - 1))) as [E|Ne].
  - subst i. rewrite Hnth in Hn. injection Hn as <-. exists m'. split; [|exact Hnv].
    split; [exact Hid|]. split; [exact (vms_put_vm e _ m' Hi)|]. split; [congruence|lia].
  - exists m. split; [|reflexivity]. split; [exact Hid|]. split; [|split; assumption].
    unfold put_vm. destruct e. cbn in *. rewrite nth_replace_nth_other by exact Ne. exact Hnth.
Qed.

Lemma store_valid : forall e e' id j, vc_valid id j e -> shadow_store e e' \/ vcpu_store e e' -> vc_valid id j e'.
Proof.
  intros e e' id j ((_ & Hi) & Hj) Hst. destruct (store_slot e e' Hst) as [->|(i & m & m' & Hn & (_ & _ & _ & Hlen) & _ & ->)];
    [split; [split; [exact Logic.I|exact Hi]|exact Hj]|].
  unfold vc_valid, vm_valid, put_vm in *. destruct e. cbn in *. unfold len in *. rewrite replace_nth_length.
  split; [split; [exact Logic.I|exact Hi]|].
  destruct (Nat.eq_dec i (Z.to_nat (id - 1))) as [E|Ne].
  - subst i. rewrite nth_replace_nth_same by lia. rewrite (nth_error_nth _ _ Isolation.zero_vm Hn) in Hj. unfold len in Hlen. lia.
  - rewrite nth_replace_nth_other' by exact Ne. exact Hj.
Qed.

(** A place that reads [a] in [s] and whose stores are those of [put],
    the last store winning, tracks [a] there. *)
Lemma lens_tracks : forall {S A} (p : ptr S A) valid get set s a put, lens p valid get set -> valid s -> get s = a ->
  (forall b, set b s = put b) -> (forall b c, set c (put b) = put c) -> tracks p s a put.
Proof.
  intros S A p valid get set s a put (ld & st & -> & Hl & Hs & Hv & Hg) Hvs Ha Hput Hpp.
  exists ld, st. split; [reflexivity|]. split; [rewrite (Hl s Hvs), Ha; reflexivity|].
  split; [intros b; rewrite (Hs s b Hvs), Hput; reflexivity|].
  assert (Hvp : forall b, valid (put b)) by (intros b; rewrite <- Hput; exact (Hv s b Hvs)).
  split; [intros b; rewrite (Hl _ (Hvp b)), <- Hput, (Hg s b Hvs); reflexivity|].
  intros b c. rewrite (Hs _ c (Hvp b)), Hpp. reflexivity.
Qed.

(** ** Stores through the vCPU's place *)

(** A field of the vCPU, [vc.f = v]. *)
Lemma store_vc_field : forall {A B} vc id j (g : Isolation.vcpu -> B) sf v s tr (K : unit -> M Isolation.Engine A),
  field_laws g sf -> vcpu_lens vc id j -> vc_valid id j s ->
  bind (pfield vc g sf) (fun a => bind (store a v) K) s tr = K tt (vc_set id j (sf v (vc_get id j s)) s) tr.
Proof.
  intros A B vc id j g sf v s tr K Hf L Hv.
  destruct (pfield_lens vc _ _ _ g sf L Hf) as (q1 & Hq1 & L1).
  CodeShadow.step_by (Hq1 s tr). CodeShadow.step_by (store_lens _ _ _ _ s v tr L1 Hv). reflexivity.
Qed.

(** A field of the vCPU's context, [vc.ctx.f = v]. *)
Lemma store_ctx_field : forall {A B} vc id j (g : Isolation.Context -> B) sf v s tr (K : unit -> M Isolation.Engine A),
  field_laws g sf -> vcpu_lens vc id j -> vc_valid id j s ->
  bind (pfield vc Isolation.vcpu_ctx Isolation.set_vcpu_ctx) (fun a => bind (pfield a g sf) (fun b => bind (store b v) K)) s tr =
  K tt (vc_set id j (Isolation.set_vcpu_ctx (sf v (Isolation.vcpu_ctx (vc_get id j s))) (vc_get id j s)) s) tr.
Proof.
  intros A B vc id j g sf v s tr K Hf L Hv.
  destruct (pfield_lens vc _ _ _ Isolation.vcpu_ctx Isolation.set_vcpu_ctx L ltac:(field_laws)) as (q1 & Hq1 & L1).
  destruct (pfield_lens q1 _ _ _ g sf L1 Hf) as (q2 & Hq2 & L2).
  CodeShadow.step_by (Hq1 s tr). CodeShadow.step_by (Hq2 s tr). CodeShadow.step_by (store_lens _ _ _ _ s v tr L2 Hv).
  reflexivity.
Qed.

(** ** apply *)

(** [apply], for a decision [FilterTrap] can make, of a vCPU marked On
    whose context names it and holds 31 registers of 64 bits, of a live
    VM of at most 256 vCPUs, through the places [liveVM] and [vcpuOf]
    give, from [refine_inv]: it never fails and meets [run_post]. *)
Theorem apply_keeps : forall c e tr pm vc id j m d, refine_inv c e -> vcpu_lens vc id j ->
  lens pm (vm_valid id) (fun s => nth (Z.to_nat (id - 1)) (Isolation.Engine_vms s) Isolation.zero_vm)
    (fun b s => Isolation.set_Engine_vms (replace_nth (Z.to_nat (id - 1)) b (Isolation.Engine_vms s)) s) ->
  live_caller e (Isolation.mk_Caller id j) m -> Isolation.vm_nvcpu m <= 256 ->
  Isolation.vcpu_state (vc_get id j e) = Isolation.VCPUOn ->
  Isolation.Context_VMID (Isolation.vcpu_ctx (vc_get id j e)) = id ->
  Isolation.Context_VCPU (Isolation.vcpu_ctx (vc_get id j e)) = j ->
  len (Isolation.Context_X (Isolation.vcpu_ctx (vc_get id j e))) = 31 ->
  Forall (fun r => 0 <= r < 2 ^ 64) (Isolation.Context_X (Isolation.vcpu_ctx (vc_get id j e))) ->
  decision_ok d ->
  exists ex b e' tr', Isolation.Engine_apply root pm vc d e tr = Ok (ex, b) e' tr' /\ run_post c e e' ex id j m.
Proof.
  intros c e tr pm vc id j m d R L Lp Hcl Hn Hon Hvm Hvc HX HXr (Hex & Hreg).
  pose proof Hcl as (Hid & Hnth & Hlv & Hj). cbn [Isolation.Caller_VM Isolation.Caller_VCPU] in *.
  pose proof R as (Hc & _). pose proof Hc as ((Hvok & _) & _).
  pose proof (vm_ok_at _ _ m Hvok Hnth) as Hm.
  destruct (vc_valid_of e id j m ltac:(lia) Hnth Hm Hj) as (Hv & _).
  unfold Isolation.Engine_apply. cbv zeta.
  CodeShadow.step_by (deref_lens _ _ _ _ e tr L Hv).
  rewrite (store_ctx_field vc id j Isolation.Context_PC Isolation.set_Context_PC _ e tr _ ltac:(field_laws) L Hv).
  set (x := vc_get id j e) in *.
  set (x1 := Isolation.set_vcpu_ctx (Isolation.set_Context_PC
    (wrapu 64 (Isolation.Context_PC (Isolation.vcpu_ctx x) + Isolation.Decision_PCAdvance d)) (Isolation.vcpu_ctx x)) x).
  destruct (vc_store_keeps c e id j m x1 R Hcl eq_refl) as (R1 & HI1 & m1 & Hcl1 & Hnv1).
  assert (Hro1 : runs_ok e -> runs_ok (vc_set id j x1 e))
    by (intros H; exact (vc_set_runs_ok e id j m x1 H Hcl Hm (step_ctx x _ (fun H => H)) Hvm Hvc)).
  assert (Hl1 : host_lv3 c e -> host_lv3 c (vc_set id j x1 e)) by (intros H; exact H).
  set (e1 := vc_set id j x1 e) in *.
  pose proof (vc_valid_set id j x1 e Hv) as Hv1. pose proof (vc_get_set id j x1 e Hv) as Hget1. fold e1 in Hv1, Hget1.
  pose proof R1 as (Hc1 & _). pose proof Hc1 as ((Hvok1 & _) & _). pose proof Hcl1 as (_ & Hnth1 & Hlv1 & Hj1).
  cbn [Isolation.Caller_VM Isolation.Caller_VCPU] in Hnth1, Hj1.
  pose proof (vm_ok_at _ _ m1 Hvok1 Hnth1) as Hm1.
  assert (Hp1 : Isolation.Engine_plat e1 = Isolation.Engine_plat e) by apply vc_set_plat.
  assert (Hvm1 : Isolation.Context_VMID (Isolation.vcpu_ctx (vc_get id j e1)) = id) by (rewrite Hget1; exact Hvm).
  assert (Hvc1 : Isolation.Context_VCPU (Isolation.vcpu_ctx (vc_get id j e1)) = j) by (rewrite Hget1; exact Hvc).
  destruct (Isolation.Decision_Disp d =? Isolation.DispExit).
  - destruct (idx_in_range (Isolation.Decision_Exit d) 0 e1 tr ltac:(lia)) as (a0 & Ha0). CodeShadow.step_by Ha0.
    (* The MMIO shadow path, then the vCPU owes the host's reply. *)
    assert (Hmid : exists b e2, (if a0 =? 1 then bind (Isolation.Engine_shadowMMIO root pm vc (Isolation.Decision_Exit d)
        (Isolation.Decision_Read d) (Isolation.Decision_ReadPending d)) (fun t => ret t) else ret false) e1 tr = Ok b e2 tr /\
      refine_inv c e2 /\ (Inv c (abs_ms c e) -> Inv c (abs_ms c e2)) /\ vc_valid id j e2 /\
      (exists m2, live_caller e2 (Isolation.mk_Caller id j) m2 /\ Isolation.vm_nvcpu m2 = Isolation.vm_nvcpu m) /\
      Isolation.Engine_plat e2 = Isolation.Engine_plat e /\
      Isolation.Context_VMID (Isolation.vcpu_ctx (vc_get id j e2)) = id /\
      Isolation.Context_VCPU (Isolation.vcpu_ctx (vc_get id j e2)) = j /\ (runs_ok e -> runs_ok e2) /\
      (host_lv3 c e -> host_lv3 c e2)).
    { destruct (a0 =? 1); [|exists false, e1; split; [reflexivity|]; split; [exact R1|]; split; [exact HI1|];
        split; [exact Hv1|]; split; [exists m1; split; [exact Hcl1|exact Hnv1]|]; split; [exact Hp1|]; split; [assumption|]; split; [assumption|]; split; [exact Hro1|exact Hl1]].
      assert (Hjl : (Z.to_nat j < length (Isolation.vm_vcpus m1))%nat)
        by (destruct Hm1 as (_ & Hnl & _); unfold len in Hnl; lia).
      assert (Hx1 : nth_error (Isolation.vm_vcpus m1) (Z.to_nat j) = Some x1).
      { rewrite <- Hget1. unfold vc_get. rewrite (nth_error_nth _ _ Isolation.zero_vm Hnth1).
        apply nth_error_nth'. exact Hjl. }
      assert (Hpm : tracks pm e1 m1 (put_vm e1 (Z.to_nat (id - 1)))).
      { apply (lens_tracks pm _ _ _ e1 m1 _ Lp (proj1 Hv1)); [exact (nth_error_nth _ _ _ Hnth1)|reflexivity|].
        intros b b'. exact (put_vm_twice e1 _ b b'). }
      assert (Hput : forall b, vc_set id j b e1 = put_vcpu e1 (Z.to_nat (id - 1)) m1 (Z.to_nat j) b)
        by (intros b; unfold vc_set; rewrite (nth_error_nth _ _ Isolation.zero_vm Hnth1); reflexivity).
      assert (Hvt : tracks vc e1 x1 (put_vcpu e1 (Z.to_nat (id - 1)) m1 (Z.to_nat j))).
      { apply (lens_tracks vc _ _ _ e1 x1 _ L Hv1 Hget1 Hput).
        intros b b'. rewrite <- !Hput. exact (vc_set_twice id j b b' e1 Hv1). }
      destruct (shadowMMIO_no_failure e1 tr _ m1 _ x1 pm vc (Isolation.Decision_Exit d) (Isolation.Decision_Read d)
        (Isolation.Decision_ReadPending d) (proj2 (proj1 (proj1 (proj2 R1)))) Hnth1 Hx1 Hpm Hvt
        ltac:(exact HX) Hreg Hex) as (b & e2 & Hsh & Hs2 & Hst & (_ & Hk2 & Hk3 & _ & Hk5) & Hro12).
      exists b, e2. split; [CodeShadow.step_by Hsh; reflexivity|].
      split; [exact (store_refine_inv c e1 e2 R1 Hst Hs2)|].
      split; [intros I; exact (store_Inv c e1 e2 Hc1 Hst (HI1 I))|]. split; [exact (store_valid e1 e2 id j Hv1 Hst)|].
      destruct (store_live e1 e2 _ m1 Hcl1 Hst) as (m2 & Hcl2 & Hnv2).
      split; [exists m2; split; [exact Hcl2|congruence]|]. split; [congruence|].
      split; [exact (eq_trans Hk2 Hvm1)|]. split; [exact (eq_trans Hk3 Hvc1)|].
      split; [intros H; exact (Hro12 (Hro1 H))|intros H; exact (host_lv3_store c e1 e2 Hst (Hl1 H))]. }
    destruct Hmid as (b & e2 & Hb & R2 & HI2 & Hv2 & (m2 & Hcl2 & Hnv2) & Hp2 & Hvm2 & Hvc2 & Hro2 & Hl2).
    CodeShadow.step_by Hb. destruct b.
    { eexists _, _, _, _. split; [reflexivity|]. split; [exact R2|]. split; [exact HI2|].
      split; [reflexivity|]. split; [exists m2; split; [exact Hcl2|exact Hnv2]|]. split; [exact Hp2|]. split; [assumption|]. split; [assumption|]. split; [exact Hro2|exact Hl2]. }
    destruct (Isolation.Decision_ReadPending d).
    + destruct (pfield_lens vc _ _ _ Isolation.vcpu_pend Isolation.set_vcpu_pend L ltac:(field_laws)) as (qp & Hqp & Lqp).
      destruct (pfield_lens vc _ _ _ Isolation.vcpu_read Isolation.set_vcpu_read L ltac:(field_laws)) as (qr & Hqr & Lqr).
      rewrite bind_assoc. CodeShadow.step_by (Hqp e2 tr). rewrite bind_assoc.
      CodeShadow.step_by (store_lens _ _ _ _ e2 Isolation.pendMMIORead tr Lqp Hv2).
      set (y := Isolation.set_vcpu_pend Isolation.pendMMIORead (vc_get id j e2)).
      pose proof (vc_valid_set id j y e2 Hv2) as Hv3.
      rewrite bind_assoc. CodeShadow.step_by (Hqr (vc_set id j y e2) tr).
      rewrite ?bind_assoc. CodeShadow.step_by (store_lens _ _ _ _ (vc_set id j y e2) (Isolation.Decision_Read d) tr Lqr Hv3).
      repeat CodeShadow.step.
      rewrite (vc_get_set id j y e2 Hv2), (vc_set_twice id j y _ e2 Hv2).
      eexists _, _, _, _. split; [reflexivity|].
      apply (vc_store_post c e e2 id j m2 m);
        [exact R2|exact Hcl2|exact Hnv2|exact HI2|exact Hex|exact Hp2|reflexivity|exact Hvm2|exact Hvc2|exact Hro2|exact Hl2|].
      split; [exact (fun H => H)|intros _; left; exact Hreg].
    + CodeShadow.step. eexists _, _, _, _. split; [reflexivity|]. split; [exact R2|]. split; [exact HI2|].
      split; [exact Hex|]. split; [exists m2; split; [exact Hcl2|exact Hnv2]|]. split; [exact Hp2|]. split; [assumption|]. split; [assumption|]. split; [exact Hro2|exact Hl2].
  - assert (Hon1 : Isolation.vcpu_state (vc_get id j e1) = Isolation.VCPUOn) by (rewrite Hget1; exact Hon).
    destruct (Isolation.Decision_Disp d =? Isolation.DispCall).
    + destruct (guestTrapCall_keeps c e1 tr vc id j m1 R1 L Hcl1 ltac:(lia) Hon1 ltac:(rewrite Hget1; exact Hvm)
        ltac:(rewrite Hget1; exact Hvc) ltac:(rewrite Hget1; exact HX) ltac:(rewrite Hget1; exact HXr))
        as (ex & b & e' & tr' & Hrun & R' & HI' & Hex' & (m' & Hcl' & Hnv') & Hp' & Hvm' & Hvc' & Hro' & Hl').
      CodeShadow.step_by Hrun. eexists _, _, _, _. split; [reflexivity|].
      split; [exact R'|]. split; [intros I; exact (HI' (HI1 I))|]. split; [exact Hex'|].
      split; [exists m'; split; [exact Hcl'|congruence]|]. split; [congruence|]. split; [exact Hvm'|].
      split; [exact Hvc'|]. split; [intros H; exact (Hro' (Hro1 H))|intros H; exact (Hl' (Hl1 H))].
    + assert (Hpost1 : run_post c e e1 (repeat 0 7) id j m).
      { split; [exact R1|]. split; [exact HI1|]. split; [reflexivity|].
        split; [exists m1; split; [exact Hcl1|exact Hnv1]|]. split; [exact Hp1|]; split; [assumption|]; split; [assumption|]; split; [exact Hro1|exact Hl1]. }
      destruct (Isolation.Decision_Disp d =? Isolation.DispCallNotSupported);
        [|destruct (Isolation.Decision_Disp d =? Isolation.DispInjectAbort)].
      * rewrite bind_assoc. CodeShadow.step. unfold bind at 1.
        rewrite (store_reg vc id j 0 _ e1 tr _ L Hv1 ltac:(rewrite Hget1; change (0 <= 0 < len (Isolation.Context_X (Isolation.vcpu_ctx x))); lia)). cbn [ret].
        eexists _, _, _, _. split; [reflexivity|].
        apply (vc_store_post c e e1 id j m1 m);
          [exact R1|exact Hcl1|exact Hnv1|exact HI1|reflexivity|exact Hp1|reflexivity|exact Hvm1|exact Hvc1|exact Hro1|exact Hl1|].
        apply step_set_x.
      * unfold bind at 1.
        rewrite (store_ctx_field vc id j Isolation.Context_Inject Isolation.set_Context_Inject _ e1 tr _
          ltac:(field_laws) L Hv1).
        set (y := Isolation.set_vcpu_ctx (Isolation.set_Context_Inject (Isolation.Decision_Inject d)
          (Isolation.vcpu_ctx (vc_get id j e1))) (vc_get id j e1)).
        pose proof (vc_valid_set id j y e1 Hv1) as Hv2.
        rewrite (store_ctx_field vc id j Isolation.Context_InjectFAR Isolation.set_Context_InjectFAR _ _ tr _
          ltac:(field_laws) L Hv2). cbn [ret].
        rewrite (vc_get_set id j y e1 Hv1), (vc_set_twice id j y _ e1 Hv1).
        eexists _, _, _, _. split; [reflexivity|].
        apply (vc_store_post c e e1 id j m1 m);
          [exact R1|exact Hcl1|exact Hnv1|exact HI1|reflexivity|exact Hp1|reflexivity|exact Hvm1|exact Hvc1|exact Hro1|exact Hl1|].
        split; [exact (fun H => H)|intros H; right; split; [exact H|reflexivity]].
      * CodeShadow.step. eexists _, _, _, _. split; [reflexivity|exact Hpost1].
Qed.
