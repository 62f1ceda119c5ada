(** * VCPU_RUN

    Theorems about proofs/code/Isolation.v, the translation of
    isolation/vm.go ([VCPURun] and [complete]). VCPU_RUN finds vCPU [v]
    of VM [id], refuses one already running (BUSY) or Off (DENIED), hands
    the host's reply to what the last exit left pending ([complete]),
    marks the VM as having run and runs the vCPU ([run], CodeRun).
    Proved here:
    - what VCPU_RUN needs of a vCPU beyond [refine_inv] is
      CodeReady's [runs_ok]: every vCPU in use of every live VM names
      itself in its context, holds 31 registers, and has a pending MMIO
      read, if any, of x0..x30 or none, each VM with at most 256 vCPUs;
    - [complete] of such a vCPU never fails and keeps its interrupt
      lines, identity and state ([complete_keeps]);
    - the mark of having run replaces the VM's slot by one on the same
      stage-2, as live and as protected: it keeps [refine_inv] and [Inv]
      ([mark_run_keeps]);
    - so VCPU_RUN, for any 64-bit vmid and vCPU, from [refine_inv] and
      [runs_ok], on a platform whose world switch meets [world_ok],
      never fails: it answers an error leaving the engine as it was, or
      SUCCESS with an exit record of seven words, and keeps [refine_inv],
      [Inv] and [runs_ok], and CodeHostLevel's [host_lv3] if it held
      ([VCPURun_keeps]);
    - the status it answers is the model's [vcpu_run]'s, and on an error
      the model leaves its state as the engine does
      ([VCPURun_answer_refines]). *)
From Coq Require Import ZArith Lia List Bool String.
From Bulkhead.Spec Require Import State Spec.
From Bulkhead.Proofs Require Import Invariants.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodeLens CodeTrack CodeVCPU CodeVCPUInit CodeVMCreate CodeShadow CodeAbs
  CodeRefineInv CodeVMDestroy CodeGuestDispatch CodeEngineOk CodeWalkCalls CodeWalkHeld CodeVMCreateInv
  CodeTrapCall CodeApply CodeRun CodeGuestPSCI CodeReady CodeAbi CodeVCPURefine CodeVMCreateRefine CodeHostLevel.
Import ListNotations.
Open Scope Z_scope.

(** ** complete *)

Lemma vc_set_get : forall id j s, vc_valid id j s -> vc_set id j (vc_get id j s) s = s.
Proof.
  intros id j s ((_ & Hi) & Hj). unfold vc_set, vc_get, put_vcpu, put_vm in *. destruct s. cbn in *. unfold len in *.
  rewrite (replace_nth_same (Z.to_nat j)) by (apply nth_error_nth'; lia).
  assert (E : forall mm, Isolation.set_vm_vcpus (Isolation.vm_vcpus mm) mm = mm) by (intros []; reflexivity).
  rewrite E, replace_nth_same by (apply nth_error_nth'; lia). reflexivity.
Qed.

(** [y'] is [y] with its registers and pending mark changed at most: the
    same interrupt lines, identity, state and number of registers. *)
Definition vcpu_alike (y' y : Isolation.vcpu) : Prop :=
  Isolation.Context_IRQ (Isolation.vcpu_ctx y') = Isolation.Context_IRQ (Isolation.vcpu_ctx y) /\
  Isolation.Context_VMID (Isolation.vcpu_ctx y') = Isolation.Context_VMID (Isolation.vcpu_ctx y) /\
  Isolation.Context_VCPU (Isolation.vcpu_ctx y') = Isolation.Context_VCPU (Isolation.vcpu_ctx y) /\
  Isolation.vcpu_state y' = Isolation.vcpu_state y /\
  len (Isolation.Context_X (Isolation.vcpu_ctx y')) = len (Isolation.Context_X (Isolation.vcpu_ctx y)).

Lemma set_x_alike : forall k v y, vcpu_alike (set_x k v y) y.
Proof. intros k v y. repeat split; [destruct y as [? ? ? []]; reflexivity..|apply len_set_x]. Qed.

(** The write [complete] makes before it clears the pending mark: the
    read's register, the call's x0, or none. *)
Lemma complete_write : forall vc id j reply s tr, vcpu_lens vc id j -> vc_valid id j s ->
  len (Isolation.Context_X (Isolation.vcpu_ctx (vc_get id j s))) = 31 ->
  (Isolation.vcpu_pend (vc_get id j s) = Isolation.pendMMIORead ->
   0 <= Isolation.MMIORead_Reg (Isolation.vcpu_read (vc_get id j s)) <= Isolation.xzr) ->
  exists y, vcpu_alike y (vc_get id j s) /\
  (if Isolation.vcpu_pend (vc_get id j s) =? Isolation.pendMMIORead then
    let! t'3 := deref vc in
    if negb (Isolation.MMIORead_Reg (Isolation.vcpu_read t'3) =? Isolation.xzr) then
      let! t'4 := deref vc in
      let! t'5 := Isolation.MMIORead_value (Isolation.vcpu_read t'4) reply in
      let! t'6 := pfield vc Isolation.vcpu_ctx Isolation.set_vcpu_ctx in
      let! t'7 := pfield t'6 Isolation.Context_X Isolation.set_Context_X in
      let! t'8 := deref vc in
      let! t'9 := pindex t'7 (Isolation.MMIORead_Reg (Isolation.vcpu_read t'8)) in
      let! _ := store t'9 t'5 in
      ret tt
    else ret tt
  else if Isolation.vcpu_pend (vc_get id j s) =? Isolation.pendCall then
    let! t'11 := pfield vc Isolation.vcpu_ctx Isolation.set_vcpu_ctx in
    let! t'12 := pfield t'11 Isolation.Context_X Isolation.set_Context_X in
    let! t'13 := pindex t'12 0 in
    let! _ := store t'13 reply in
    ret tt
  else ret tt) s tr = Ok tt (vc_set id j y s) tr.
Proof.
  intros vc id j reply s tr L Hv Hx Hr.
  assert (Hsame : ret tt s tr = Ok tt (vc_set id j (vc_get id j s) s) tr) by (rewrite (vc_set_get id j s Hv); reflexivity).
  destruct (Z.eqb_spec (Isolation.vcpu_pend (vc_get id j s)) Isolation.pendMMIORead) as [Hp|_].
  - specialize (Hr Hp). CodeShadow.step_by (deref_lens _ _ _ _ s tr L Hv).
    destruct (Z.eqb_spec (Isolation.MMIORead_Reg (Isolation.vcpu_read (vc_get id j s))) Isolation.xzr) as [_|Hz];
      cbn [negb]; [exists (vc_get id j s); split; [repeat split|exact Hsame]|].
    CodeShadow.step_by (deref_lens _ _ _ _ s tr L Hv).
    destruct (MMIORead_value_ok s tr (Isolation.vcpu_read (vc_get id j s)) reply) as (w & Hw). CodeShadow.step_by Hw.
    unfold Isolation.xzr in *.
    destruct (pfield_lens vc _ _ _ Isolation.vcpu_ctx Isolation.set_vcpu_ctx L ltac:(field_laws)) as (q1 & Hq1 & L1).
    destruct (pfield_lens q1 _ _ _ Isolation.Context_X Isolation.set_Context_X L1 ltac:(field_laws)) as (q2 & Hq2 & L2).
    destruct (pindex_lens q2 _ _ _ (Isolation.MMIORead_Reg (Isolation.vcpu_read (vc_get id j s))) 0 L2) as (q3 & Hq3 & L3).
    assert (Hk : 0 <= Isolation.MMIORead_Reg (Isolation.vcpu_read (vc_get id j s)) <
      len (Isolation.Context_X (Isolation.vcpu_ctx (vc_get id j s)))) by lia.
    CodeShadow.step_by (Hq1 s tr). CodeShadow.step_by (Hq2 s tr). CodeShadow.step_by (deref_lens _ _ _ _ s tr L Hv).
    CodeShadow.step_by (Hq3 s tr Hv Hk). CodeShadow.step_by (store_lens _ _ _ _ s w tr L3 (conj Hv Hk)).
    exists (set_x (Isolation.MMIORead_Reg (Isolation.vcpu_read (vc_get id j s))) w (vc_get id j s)).
    split; [apply set_x_alike|reflexivity].
  - destruct (Z.eqb_spec (Isolation.vcpu_pend (vc_get id j s)) Isolation.pendCall) as [_|_];
      [|exists (vc_get id j s); split; [repeat split|exact Hsame]].
    exists (set_x 0 reply (vc_get id j s)). split; [apply set_x_alike|].
    exact (store_reg vc id j 0 reply s tr (fun _ => ret tt) L Hv ltac:(lia)).
Qed.

(** [complete] of a vCPU that holds 31 registers, whose pending read (if
    any) writes x0..x30 or none: it never fails, writes only the vCPU and
    keeps its interrupt lines, identity and state. *)
Lemma complete_keeps : forall vc id j reply s tr, vcpu_lens vc id j -> vc_valid id j s ->
  len (Isolation.Context_X (Isolation.vcpu_ctx (vc_get id j s))) = 31 ->
  (Isolation.vcpu_pend (vc_get id j s) = Isolation.pendMMIORead ->
   0 <= Isolation.MMIORead_Reg (Isolation.vcpu_read (vc_get id j s)) <= Isolation.xzr) ->
  exists y, Isolation.vcpu_complete vc reply s tr = Ok tt (vc_set id j y s) tr /\ vcpu_alike y (vc_get id j s) /\
    vcpu_step (vc_get id j s) y.
Proof.
  intros vc id j reply s tr L Hv Hx Hr. unfold Isolation.vcpu_complete.
  CodeShadow.step_by (deref_lens _ _ _ _ s tr L Hv).
  destruct (complete_write vc id j reply s tr L Hv Hx Hr) as (y & Ha & Hw). CodeShadow.step_by Hw.
  pose proof (vc_valid_set id j y s Hv) as Hv'.
  rewrite (store_pend vc id j Isolation.pendNone (vc_set id j y s) tr (fun _ => ret tt) L Hv').
  rewrite (vc_get_set id j y s Hv), (vc_set_twice id j y _ s Hv).
  exists (Isolation.set_vcpu_pend Isolation.pendNone y). split; [reflexivity|].
  destruct Ha as (A & B & C & D & E). destruct y. split; [exact (conj A (conj B (conj C (conj D E))))|].
  split; [cbn in *; rewrite E; exact (fun H => H)|intros F; discriminate F].
Qed.

(** ** The mark of having run *)

(** [vm.hasRun = true] on slot [id - 1]. *)
Definition mark_run (id : Z) (s : Isolation.Engine) : Isolation.Engine :=
  Isolation.set_Engine_vms (replace_nth (Z.to_nat (id - 1))
    (Isolation.set_vm_hasRun true (nth (Z.to_nat (id - 1)) (Isolation.Engine_vms s) Isolation.zero_vm))
    (Isolation.Engine_vms s)) s.

(** The mark replaces the slot by one on the same stage-2, as live and
    as protected: it keeps [refine_inv], [Inv], the caller a vCPU of a
    live VM with as many vCPUs, its vCPU and the platform. *)
Lemma mark_run_keeps : forall c e id j m, refine_inv c e -> live_caller e (Isolation.mk_Caller id j) m ->
  refine_inv c (mark_run id e) /\ (Inv c (abs_ms c e) -> Inv c (abs_ms c (mark_run id e))) /\
  live_caller (mark_run id e) (Isolation.mk_Caller id j) (Isolation.set_vm_hasRun true m) /\
  vc_get id j (mark_run id e) = vc_get id j e /\ Isolation.Engine_plat (mark_run id e) = Isolation.Engine_plat e /\
  (runs_ok e -> runs_ok (mark_run id e)).
Proof.
  intros c e id j m R Hcl. pose proof Hcl as (Hid & Hn & Hlv & Hj). cbn [Isolation.Caller_VM Isolation.Caller_VCPU] in *.
  pose proof R as (Hc & _). pose proof Hc as ((Hvok & _) & _).
  assert (Hi : (Z.to_nat (id - 1) < List.length (Isolation.Engine_vms e))%nat) by (apply nth_error_Some; congruence).
  set (m' := Isolation.set_vm_hasRun true m).
  assert (E : mark_run id e = put_vm e (Z.to_nat (id - 1)) m')
    by (unfold mark_run, put_vm, m'; rewrite (nth_error_nth _ _ Isolation.zero_vm Hn); reflexivity).
  assert (Hss : slot_same m m') by (unfold m'; destruct m; repeat split).
  rewrite E. split; [|split; [exact (slot_same_Inv c e id m m' Hc ltac:(lia) Hn Hss)|]].
  - destruct (slot_keeps_of c e R) as ((HH & HW) & [Hvs Hsh] & _).
    apply (slot_store_refine_inv c e _ R); [destruct e; reflexivity|destruct e; reflexivity| |].
    + exact (conj (held_rest_slot c e _ m m' HH Hn Hss) (walks_below_slot e _ m m' HW Hn Hss)).
    + split; [apply vcpus_ok_put_vm; [exact Hvs|unfold m'; destruct m; exact (vm_ok_at e _ _ Hvok Hn)]|].
      unfold put_vm. destruct e. cbn in *. apply Forall_replace; [exact Hsh|].
      unfold m'. destruct m. exact (shadow_of _ _ _ (conj Hvs Hsh) Hn).
  - split; [|split; [unfold vc_get, put_vm; destruct e; cbn in *; rewrite nth_replace_nth_same by exact Hi;
      rewrite (nth_error_nth _ _ Isolation.zero_vm Hn); unfold m'; destruct m; reflexivity|]].
    split; [exact Hid|]. split; [exact (vms_put_vm e _ m' Hi)|]. unfold m'; destruct m; cbn in *. split; assumption.
    split; [destruct e; reflexivity|]. intros Hr. apply (runs_ok_put_vm e _ m m' Hr Hn); [reflexivity|reflexivity|].
    intros _ k _ Hk. exact Hk.
Qed.

(** ** VCPU_RUN *)

(** [vcpuOf] gives no vCPU, or, for a vCPU of a live VM, the places of
    the VM's slot and of the vCPU. *)
Lemma vcpuOf_lens : forall e tr id v, vcpus_ok e -> len (Isolation.Engine_vms e) <= 255 -> 0 <= id < 2 ^ 64 ->
  0 <= v < 2 ^ 64 ->
  exists pm vc, Isolation.Engine_vcpuOf root id v e tr = Ok (pm, vc) e tr /\
  (vc = Nil \/ exists m, live_caller e (Isolation.mk_Caller id v) m /\ vcpu_lens vc id v /\
     lens pm (vm_valid id) (fun s => nth (Z.to_nat (id - 1)) (Isolation.Engine_vms s) Isolation.zero_vm)
       (fun b s => Isolation.set_Engine_vms (replace_nth (Z.to_nat (id - 1)) b (Isolation.Engine_vms s)) s)).
Proof.
  intros e tr id v Hok H255 Hid Hv0. pose proof Hok as (Hlen & _). unfold Isolation.Engine_vcpuOf.
  destruct (liveVM_lens e tr id Hlen Hid) as (p & Hp & [-> | (Hr & Hlive & Lp)]); CodeShadow.step_by Hp.
  { cbn [is_nil]. CodeShadow.step. eexists _, _. split; [reflexivity|left; reflexivity]. }
  rewrite (is_nil_lens _ _ _ _ Lp). rewrite bind_assoc.
  assert (Hv : vm_valid id e) by (split; [exact Logic.I|lia]).
  CodeShadow.step_by (deref_lens _ _ _ _ e tr Lp Hv). CodeShadow.step.
  assert (Hn : nth_error (Isolation.Engine_vms e) (Z.to_nat (id - 1)) =
    Some (nth (Z.to_nat (id - 1)) (Isolation.Engine_vms e) Isolation.zero_vm)) by (apply nth_error_nth'; unfold len in Hr; lia).
  set (m := nth (Z.to_nat (id - 1)) (Isolation.Engine_vms e) Isolation.zero_vm) in *.
  pose proof (vm_ok_at e _ m Hok Hn) as Hm. pose proof Hm as (Hn0 & Hnl & _).
  unfold wrapu. rewrite (Z.mod_small (Isolation.vm_nvcpu m)) by lia.
  destruct (Z.geb_spec v (Isolation.vm_nvcpu m)) as [Hge|Hlt].
  { eexists _, _. split; [reflexivity|left; reflexivity]. }
  destruct (pfield_lens p _ _ _ Isolation.vm_vcpus Isolation.set_vm_vcpus Lp ltac:(field_laws)) as (q1 & Hq1 & L1).
  destruct (pindex_lens q1 _ _ _ v Isolation.zero_vcpu L1) as (q & Hq & Lq).
  CodeShadow.step_by (Hq1 e tr). CodeShadow.step_by (Hq e tr Hv ltac:(fold m; lia)).
  eexists _, _. split; [reflexivity|right]. exists m. split; [|split; [exact Lq|exact Lp]].
  split; [cbn; lia|]. split; [exact Hn|]. split; [exact Hlive|cbn; lia].
Qed.

(** [vcpuOf] gives no vCPU only where no live VM has that vCPU. *)
Lemma vcpuOf_nil : forall e tr id v pm e' tr', vcpus_ok e -> 0 <= id < 2 ^ 64 -> 0 <= v < 2 ^ 64 ->
  Isolation.Engine_vcpuOf root id v e tr = Ok (pm, Nil) e' tr' -> no_vcpu e id v.
Proof.
  intros e tr id v pm e' tr' Hok Hid Hv H.
  destruct (vcpuOf_tracks e tr id v Hok Hid Hv) as (pm' & vc' & H' & [[_ Hno]|(m & c & _ & _ & _ & _ & _ & _ & Ht & _)]);
    [exact Hno|].
  rewrite H' in H. injection H as _ E _ _. subst vc'. destruct Ht as (ld & st & E & _). discriminate E.
Qed.

(** The status VCPU_RUN answers: INVALID_PARAMETERS where no live VM has
    the vCPU, else BUSY for a vCPU running, DENIED for one Off, SUCCESS
    otherwise. *)
Definition run_answer (e : Isolation.Engine) (id v st : Z) : Prop :=
  (no_vcpu e id v /\ st = Abi.InvalidParameters) \/
  exists m, 1 <= id /\ nth_error (Isolation.Engine_vms e) (Z.to_nat (id - 1)) = Some m /\
    Isolation.vm_live m = true /\ 0 <= v < Isolation.vm_nvcpu m /\
    st = (let x := nth (Z.to_nat v) (Isolation.vm_vcpus m) Isolation.zero_vcpu in
          if Isolation.vcpu_state x =? Isolation.VCPURunning then Abi.Busy
          else if Isolation.vcpu_state x =? Isolation.VCPUOff then Abi.Denied else Abi.Success).

(** VCPU_RUN for any 64-bit vmid and vCPU, from [refine_inv] and
    [runs_ok], on a platform whose world switch meets [world_ok]: it
    never fails; an error (no such vCPU, one running, one Off) leaves the
    engine as it was; SUCCESS returns an exit record of seven words; and
    [refine_inv], [Inv] and [runs_ok] are kept. *)
Theorem VCPURun_keeps : forall c e tr id v reply p, refine_inv c e -> runs_ok e ->
  0 <= id < 2 ^ 64 -> 0 <= v < 2 ^ 64 -> Isolation.Engine_plat e = Some p -> world_ok p ->
  exists st ex e' tr', Isolation.Engine_VCPURun root id v reply e tr = Ok (st, ex) e' tr' /\
    refine_inv c e' /\ (Inv c (abs_ms c e) -> Inv c (abs_ms c e')) /\ len ex = 7 /\
    (st <> Abi.Success -> e' = e) /\ runs_ok e' /\ (host_lv3 c e -> host_lv3 c e') /\ run_answer e id v st.
Proof.
  intros c e tr id v reply p R Hro Hid Hv Hplat Hw.
  pose proof R as (Hc & _ & _ & _ & _ & H255 & _). pose proof Hc as ((Hvok & _) & _).
  unfold Isolation.Engine_VCPURun.
  destruct (vcpuOf_lens e tr id v Hvok H255 Hid Hv) as (pm & vc & Hof & [-> | (m & Hcl & L & Lp)]); CodeShadow.step_by Hof.
  { cbn [is_nil]. eexists _, _, _, _. split; [reflexivity|]. split; [exact R|]. split; [exact (fun I => I)|].
    split; [reflexivity|split; [intros _; reflexivity|split; [exact Hro|split; [exact (fun H => H)|]]]].
    left. split; [exact (vcpuOf_nil e tr id v pm e tr Hvok Hid Hv Hof)|reflexivity]. }
  rewrite (is_nil_lens _ _ _ _ L).
  pose proof Hcl as (Hid1 & Hn & Hlv & Hj). cbn [Isolation.Caller_VM Isolation.Caller_VCPU] in *.
  destruct (vc_valid_of e id v m ltac:(lia) Hn (vm_ok_at e _ m Hvok Hn) Hj) as (Hvv & Hget).
  CodeShadow.step_by (deref_lens _ _ _ _ e tr L Hvv).
  assert (Hans : forall st, st = (if Isolation.vcpu_state (vc_get id v e) =? Isolation.VCPURunning then Abi.Busy
      else if Isolation.vcpu_state (vc_get id v e) =? Isolation.VCPUOff then Abi.Denied else Abi.Success) ->
    run_answer e id v st).
  { intros st Est. right. exists m. split; [lia|]. split; [exact Hn|]. split; [exact Hlv|]. split; [lia|].
    rewrite <- Hget. exact Est. }
  destruct (Z.eqb_spec (Isolation.vcpu_state (vc_get id v e)) Isolation.VCPURunning) as [Hr0|Hnr].
  { eexists _, _, _, _. split; [reflexivity|]. split; [exact R|]. split; [exact (fun I => I)|].
    split; [reflexivity|split; [intros _; reflexivity|split; [exact Hro|split; [exact (fun H => H)|]]]].
    apply Hans. try rewrite Hr0; reflexivity. }
  CodeShadow.step_by (deref_lens _ _ _ _ e tr L Hvv).
  destruct (Z.eqb_spec (Isolation.vcpu_state (vc_get id v e)) Isolation.VCPUOff) as [Ho0|Hnoff].
  { eexists _, _, _, _. split; [reflexivity|]. split; [exact R|]. split; [exact (fun I => I)|].
    split; [reflexivity|split; [intros _; reflexivity|split; [exact Hro|split; [exact (fun H => H)|]]]].
    apply Hans. try rewrite Ho0; reflexivity. }
  destruct (Hro _ m Hn Hlv) as (H256 & Hready).
  replace (Z.of_nat (Z.to_nat (id - 1)) + 1) with id in Hready by lia.
  specialize (Hready v Hj). rewrite <- Hget in Hready. destruct Hready as (Hvm & Hvc & Hx & Hr).
  destruct (complete_keeps vc id v reply e tr L Hvv Hx Hr) as (y & Hcomp & (Hirq & Hvm' & Hvc' & _) & Hst).
  CodeShadow.step_by Hcomp.
  destruct (vc_store_keeps c e id v m y R Hcl Hirq) as (R1 & HI1 & m1 & Hcl1 & Hnv1).
  pose proof (vc_set_runs_ok e id v m y Hro Hcl (vm_ok_at e _ m Hvok Hn) Hst (eq_trans Hvm' Hvm) (eq_trans Hvc' Hvc)) as Hro1.
  set (e1 := vc_set id v y e) in *.
  assert (Hv1 : vm_valid id e1).
  { destruct Hcl1 as (_ & Hn1 & _). cbn [Isolation.Caller_VM] in Hn1. split; [exact Logic.I|].
    assert (Hi : (Z.to_nat (id - 1) < List.length (Isolation.Engine_vms e1))%nat) by (apply nth_error_Some; congruence).
    unfold len. lia. }
  destruct (pfield_lens pm _ _ _ Isolation.vm_hasRun Isolation.set_vm_hasRun Lp ltac:(field_laws)) as (q & Hq & Lq).
  CodeShadow.step_by (Hq e1 tr). CodeShadow.step_by (store_lens _ _ _ _ e1 true tr Lq Hv1).
  change (Isolation.set_Engine_vms _ e1) with (mark_run id e1).
  destruct (mark_run_keeps c e1 id v m1 R1 Hcl1) as (R2 & HI2 & Hcl2 & Hget2 & Hplat2 & Hro2).
  assert (Hids : Isolation.Context_VMID (Isolation.vcpu_ctx (vc_get id v (mark_run id e1))) = id /\
    Isolation.Context_VCPU (Isolation.vcpu_ctx (vc_get id v (mark_run id e1))) = v).
  { rewrite Hget2. unfold e1. rewrite (vc_get_set id v y e Hvv). split; congruence. }
  destruct (run_keeps c (mark_run id e1) tr pm vc id v (Isolation.set_vm_hasRun true m1) p R2 L Lp Hcl2
    ltac:(destruct m1; cbn in *; lia) ltac:(rewrite Hplat2; unfold e1; rewrite vc_set_plat; exact Hplat) Hw
    (proj1 Hids) (proj2 Hids)) as (ex & e' & tr' & Hrun & R' & HI' & Hex & Hro' & Hlv').
  CodeShadow.step_by Hrun.
  eexists _, _, _, _. split; [reflexivity|]. split; [exact R'|]. split; [intros I; exact (HI' (HI2 (HI1 I)))|].
  split; [exact Hex|]. split; [intros N; exfalso; exact (N eq_refl)|]. split; [exact (Hro' (Hro2 Hro1))|].
  split; [intros H; exact (Hlv' H)|].
  apply Hans. apply Z.eqb_neq in Hnr, Hnoff. try rewrite Hnr; try rewrite Hnoff; reflexivity.
Qed.

(** ** The answer, against the model *)

(** VCPU_RUN answers the status of the model's [vcpu_run] on the
    abstraction ([run_answer], from [VCPURun_keeps]); on an error the
    model's state stays as it was, as the engine does. On SUCCESS the
    model's step only enters the guest; the run that follows, up to the
    exit the engine returns, is the model's guest steps, which this does
    not relate. *)
Theorem VCPURun_answer_refines : forall c e id v st reply mem regs, create_inv c e -> run_answer e id v st ->
  0 <= id -> 0 <= v ->
  let r := vcpu_run c (abs_state c e mem regs) (Z.to_nat id) (Z.to_nat v) reply in
  exists sst, snd r = ORet sst [] /\ go_status sst = st /\ (st <> Abi.Success -> fst r = abs_state c e mem regs).
Proof.
  intros c e id v st reply mem regs Hc Hans Hid Hv. pose proof Hc as ((Hvok & _) & _ & Hcfg & _).
  cbv zeta. unfold vcpu_run. cbv zeta. cbn [st_meta abs_state].
  destruct Hans as [(Hno & ->)|(m & Hid1 & Hn & Hlv & Hvm & ->)].
  - assert (Hf : vcpu_ok c (abs_ms c e) (Z.to_nat id) (Z.to_nat v) = false).
    { destruct (vcpu_ok _ _ _ _) eqn:Hk; [|reflexivity]. exfalso. apply Hno.
      destruct (proj1 (vcpu_ok_abs c e id v Hcfg Hid Hv) Hk) as (m & A & B & C & D). exists m. auto. }
    rewrite Hf. cbn. eexists. split; [reflexivity|]. split; reflexivity.
  - rewrite (vcpu_ok_slot c e id v m Hcfg Hid1 Hvm Hn Hlv). cbn [negb].
    pose proof (vm_ok_at e _ m Hvok Hn) as (_ & Hnl & _).
    destruct (nth_error (Isolation.vm_vcpus m) (Z.to_nat v)) as [x|] eqn:Hx;
      [|apply nth_error_None in Hx; unfold len in Hnl; lia].
    rewrite (vcpu_of_abs c e id v m x Hid1 Hn Hlv Hvm Hx), (nth_error_nth _ _ Isolation.zero_vcpu Hx).
    unfold abs_vcpu, abs_vstate. cbn [vc_state].
    destruct (Z.eqb_spec (Isolation.vcpu_state x) Isolation.VCPURunning) as [E|E].
    + rewrite E. cbn. eexists. split; [reflexivity|]. split; reflexivity.
    + destruct (Z.eqb_spec (Isolation.vcpu_state x) Isolation.VCPUOff) as [E'|E'].
      * cbn. eexists. split; [reflexivity|]. split; reflexivity.
      * destruct (Isolation.Context_Fresh _); cbn; eexists; (split; [reflexivity|]);
          (split; [reflexivity|intros N; exfalso; exact (N eq_refl)]).
Qed.
