(** * The guest's PSCI calls through the dispatcher

    Theorems about proofs/code/Isolation.v, the translation of
    isolation/psci.go ([guestPSCI], PSCI 1.1, DEN0022) and
    isolation/dispatch.go ([guestCallRegs]). Proved here:
    - [guestCallRegs] of a PSCI function id from a vCPU of a live VM is
      [guestPSCI] on that VM's slot, with x1..x3 as they were
      ([guestCallRegs_is_psci]);
    - SYSTEM_OFF and SYSTEM_RESET turn the VM's vCPUs Off one by one
      ([system_off_run]);
    - so a guest PSCI call from such a vCPU, one marked On (as VCPU_RUN
      marks it before it handles the trap), of a VM with at most 256
      vCPUs, from [refine_inv], never fails, keeps the caller's context,
      [refine_inv] and [Inv], answers in x0 the model's PSCI result and
      reports the model's exit, and the abstraction after it is the
      model's metadata after the model's call ([guestCallRegs_psci]). *)
From Coq Require Import ZArith Lia List Bool.
From Bulkhead.Spec Require Import State Spec.
From Bulkhead.Proofs Require Import Invariants.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodeLens CodeTrack CodeVCPU CodeVCPUInit CodeVMCreate CodeShadow CodeAbs
  CodeVMCreateRefine CodeVCPURefine CodeEngineOk CodeRefineInv CodeModelThms CodeGuestDispatch CodeLoop CodeStage2 CodeMemState
  CodeVMCreateInv CodeS2Refine CodeReady CodeHostLevel.
Import ListNotations.
Open Scope Z_scope.

(** ** The calls and their answers, as the ABI encodes them *)

(** The PSCI functions a guest may call ([guestPSCIImplemented]). *)
Definition guest_psci_ids : list Z :=
  [Abi.PSCIVersion; Abi.PSCIFeatures; Abi.PSCICPUOn32; Abi.PSCICPUOn64; Abi.PSCICPUOff;
   Abi.PSCIAffinityInfo32; Abi.PSCIAffinityInfo64; Abi.PSCISystemOff; Abi.PSCISystemReset].

(** An argument of an SMC32 call is its low 32 bits (SMCCC 1.2, section
    2.6); bit 30 of the function id marks an SMC64 call. *)
Definition psci_arg (id x : Z) : Z := if Z.land id (2 ^ 30) =? 0 then Z.land x (2 ^ 32 - 1) else x.

(** The model's call for PSCI function [id] with arguments x1..x3. *)
Definition psci_gcall (id x1 x2 x3 : Z) : gcall :=
  if id =? Abi.PSCIVersion then GPSCIVersion
  else if id =? Abi.PSCIFeatures then GPSCIFeatures (existsb (Z.eqb (wrapu 32 x1)) guest_psci_ids)
  else if (id =? Abi.PSCICPUOn32) || (id =? Abi.PSCICPUOn64) then
    GPSCICPUOn (Z.to_nat (psci_arg id x1)) (Z.to_nat (psci_arg id x2)) (Z.to_nat (psci_arg id x3))
  else if id =? Abi.PSCICPUOff then GPSCICPUOff
  else if (id =? Abi.PSCIAffinityInfo32) || (id =? Abi.PSCIAffinityInfo64) then
    GPSCIAffinityInfo (Z.to_nat (psci_arg id x1)) (Z.to_nat (psci_arg id x2))
  else if id =? Abi.PSCISystemOff then GPSCISystemOff
  else GPSCISystemReset.

(** x0 after a PSCI call: the result's code as a register. *)
Definition psci_code (r : psci_ret) : Z :=
  match r with
  | PSCI_SUCCESS => wrapu 64 Abi.PSCISuccess
  | PSCI_NOT_SUPPORTED => wrapu 64 Abi.PSCINotSupported
  | PSCI_INVALID_PARAMETERS => wrapu 64 Abi.PSCIInvalidParameters
  | PSCI_ALREADY_ON => wrapu 64 Abi.PSCIAlreadyOn
  | PSCI_VERSION_1_1 => Abi.PSCIVersion11
  | PSCI_AFFINITY off => if off then Abi.AffinityOff else Abi.AffinityOn
  end.

(** The effect the dispatcher reports for the exit a PSCI call ends the
    run with, if any ([Effect]). *)
Definition exit_effect (x : option exit) : Isolation.Effect :=
  match x with
  | Some (ExitVCPUState t on) => Isolation.mk_Effect Isolation.EffectVCPUState (Z.of_nat t) (Nat.eqb on 1) false
  | Some (ExitShutdown r) => Isolation.mk_Effect Isolation.EffectShutdown 0 false (Nat.eqb r 1)
  | _ => Isolation.mk_Effect Isolation.zero_EffectKind 0 false false
  end.

(** ** The dispatcher *)

Lemma psci_ids_or : forall id, In id guest_psci_ids ->
  ((((((((id =? Abi.PSCIVersion) || (id =? Abi.PSCIFeatures)) || (id =? Abi.PSCICPUOn32)) ||
     (id =? Abi.PSCICPUOn64)) || (id =? Abi.PSCICPUOff)) || (id =? Abi.PSCIAffinityInfo32)) ||
     (id =? Abi.PSCIAffinityInfo64)) || (id =? Abi.PSCISystemOff)) || (id =? Abi.PSCISystemReset) = true.
Proof. intros id H. repeat destruct H as [<-|H]; [..|destruct H]; reflexivity. Qed.

(** [guestCallRegs] of a PSCI function from a vCPU of a live VM is
    [guestPSCI] on the VM's slot, x1..x3 as they were. *)
Lemma guestCallRegs_is_psci : forall e tr cl m x0 x1 x2 x3, live_caller e cl m ->
  In (wrapu 32 x0) guest_psci_ids ->
  exists p, tracks p e m (put_vm e (Z.to_nat (Isolation.Caller_VM cl - 1))) /\
  Isolation.Engine_guestCallRegs root cl x0 x1 x2 x3 e tr =
    bind (Isolation.Engine_guestPSCI root cl p (wrapu 32 x0) x1 x2 x3)
      (fun r => ret (fst r, x1, x2, x3, snd r)) e tr.
Proof.
  intros e tr cl m x0 x1 x2 x3 Hc Hf.
  pose proof (callerVM_tracks e tr cl m Hc) as (p & Hp & Ht). exists p. split; [exact Ht|].
  unfold Isolation.Engine_guestCallRegs. CodeShadow.step_by Hp.
  replace (is_nil p) with false by (destruct Ht as (ld & st & -> & _); reflexivity).
  rewrite (psci_ids_or _ Hf).
  assert (Hn : forall f, In f [Abi.Version; Abi.CallUID; Abi.Revision; Abi.GuestShare; Abi.GuestUnshare;
    Abi.GuestRelinquish; Abi.GuestMemInfo; Abi.GuestMemState] -> (wrapu 32 x0 =? f) = false).
  { intros f Hf'. apply Z.eqb_neq. intros E. rewrite E in Hf. clear -Hf Hf'. revert Hf.
    repeat destruct Hf' as [<-|Hf']; [..|destruct Hf']; cbv; intuition discriminate. }
  rewrite !Hn by (cbn; tauto). cbn [orb].
  unfold bind. destruct (Isolation.Engine_guestPSCI root cl p (wrapu 32 x0) x1 x2 x3 e tr) as [[r0 eff] s' t'|];
    reflexivity.
Qed.

(** ** SYSTEM_OFF and SYSTEM_RESET *)

Definition off_vcpu (c : Isolation.vcpu) : Isolation.vcpu :=
  Isolation.set_vcpu_pend Isolation.pendNone (Isolation.set_vcpu_state Isolation.VCPUOff c).

(** [l] with its first [k] vCPUs turned Off. *)
Definition offs (k : nat) (l : list Isolation.vcpu) : list Isolation.vcpu :=
  map off_vcpu (firstn k l) ++ skipn k l.

Lemma offs_length : forall k l, length (offs k l) = length l.
Proof. intros k l. unfold offs. rewrite app_length, map_length, firstn_length, skipn_length. lia. Qed.

Lemma offs_at : forall k l, nth_error (offs k l) k = nth_error l k.
Proof.
  induction k as [|k IH]; intros [|x r]; try reflexivity.
  cbn [offs firstn skipn map app nth_error]. exact (IH r).
Qed.

Lemma offs_step : forall k l x, nth_error l k = Some x ->
  replace_nth k (off_vcpu x) (offs k l) = offs (Datatypes.S k) l.
Proof.
  induction k as [|k IH]; intros [|y r] x H; try discriminate H.
  - injection H as <-. reflexivity.
  - cbn [offs firstn skipn map app replace_nth nth_error] in *. f_equal. exact (IH r x H).
Qed.

Lemma put_vm_twice : forall e i a b, put_vm (put_vm e i a) i b = put_vm e i b.
Proof. intros [] i a b. unfold put_vm. cbn. rewrite replace_nth_twice. reflexivity. Qed.

(** SYSTEM_OFF and SYSTEM_RESET (the last branch of [guestPSCI]) turn
    the first [vm_nvcpu] vCPUs of the caller's VM Off, one after the
    other, and report a shutdown, a reset for SYSTEM_RESET. *)
Lemma system_off_run : forall e tr cl p m i id x1 x2 x3, tracks p e m (put_vm e i) ->
  nth_error (Isolation.Engine_vms e) i = Some m -> vm_ok m ->
  (id =? Abi.PSCIVersion) = false -> (id =? Abi.PSCIFeatures) = false ->
  ((id =? Abi.PSCICPUOn32) || (id =? Abi.PSCICPUOn64)) = false -> (id =? Abi.PSCICPUOff) = false ->
  ((id =? Abi.PSCIAffinityInfo32) || (id =? Abi.PSCIAffinityInfo64)) = false ->
  Isolation.Engine_guestPSCI root cl p id x1 x2 x3 e tr =
    Ok (wrapu 64 Abi.PSCISuccess, Isolation.mk_Effect Isolation.EffectShutdown 0 false (id =? Abi.PSCISystemReset))
      (put_vm e i (Isolation.set_vm_vcpus (offs (Z.to_nat (Isolation.vm_nvcpu m)) (Isolation.vm_vcpus m)) m)) tr.
Proof.
  intros e tr cl p m i id x1 x2 x3 Ht Hm (Hn0 & Hnl & _) E1 E2 E3 E4 E5.
  unfold Isolation.Engine_guestPSCI. cbv zeta. rewrite E1, E2, E3, E4, E5.
  CodeShadow.step_by (deref_tracks _ _ _ _ tr Ht). CodeShadow.step_by (deref_tracks _ _ _ _ tr Ht).
  set (n := Isolation.vm_nvcpu m) in *. set (l := Isolation.vm_vcpus m) in *.
  assert (Hsub : subslice l 0 n e tr = Ok (firstn (Z.to_nat n) l) e tr).
  { unfold subslice. destruct (Z.ltb_spec n 0); [lia|]. destruct (Z.ltb_spec (len l) n); [lia|].
    rewrite Z.sub_0_r. reflexivity. }
  CodeShadow.step_by Hsub.
  replace (len (firstn (Z.to_nat n) l)) with n by (unfold len in *; rewrite firstn_length; lia).
  set (st := fun k : Z => put_vm e i (Isolation.set_vm_vcpus (offs (Z.to_nat k) l) m)).
  match goal with |- context [loop n ?c ?b ?po 0] =>
  destruct (loop_spec n c b po
    (fun k s tr' => tr' = tr /\ 0 <= k <= n /\ s = st k)
    (fun j s tr' => tr' = tr /\ s = st n)
    (fun k => Z.to_nat (n - k))) with (l := 0) (s := e) (tr := tr) as (j & s' & tr' & Hj & -> & ->) end.
  - intros k s tr' (-> & Hk & ->). exists (k <? n). split; [reflexivity|]. split.
    + intros H. apply Z.ltb_lt in H. lia.
    + intros H. apply Z.ltb_ge in H. split; [reflexivity|]. f_equal. lia.
  - intros k s tr' (-> & Hk & ->) Hc. injection Hc as Hc. apply Z.ltb_lt in Hc.
    assert (Hk' : (Z.to_nat k < length l)%nat) by (unfold len in *; lia).
    destruct (nth_error l (Z.to_nat k)) as [x|] eqn:Hx; [|apply nth_error_None in Hx; lia].
    set (mk := Isolation.set_vm_vcpus (offs (Z.to_nat k) l) m).
    pose proof (tracks_put p e m (put_vm e i) mk Ht) as Htk.
    pose proof (pfield_tracks p Isolation.vm_vcpus Isolation.set_vm_vcpus _ _ _ tr Htk ltac:(field_laws))
      as (q & Hq & Htq).
    assert (Hkl : 0 <= k < len (Isolation.vm_vcpus mk))
      by (unfold mk, len; destruct m; cbn; rewrite offs_length; unfold len, l in *; cbn in *; lia).
    pose proof (pindex_tracks q _ _ _ k tr Htq Hkl) as (q1 & x1' & Hq1 & Hx1 & Ht1).
    assert (Hvv : forall b y, Isolation.vm_vcpus (Isolation.set_vm_vcpus b y) = b) by (intros b y; destruct y; reflexivity).
    unfold mk in Hx1. rewrite Hvv, offs_at, Hx in Hx1. injection Hx1 as <-.
    pose proof (pfield_tracks q1 Isolation.vcpu_state Isolation.set_vcpu_state _ _ _ tr Ht1 ltac:(field_laws))
      as (q2 & Hq2 & Ht2).
    set (mk1 := Isolation.set_vm_vcpus (replace_nth (Z.to_nat k) (Isolation.set_vcpu_state Isolation.VCPUOff x)
      (Isolation.vm_vcpus mk)) mk).
    pose proof (tracks_put p e m (put_vm e i) mk1 Ht) as Htk1.
    pose proof (pfield_tracks p Isolation.vm_vcpus Isolation.set_vm_vcpus _ _ _ tr Htk1 ltac:(field_laws))
      as (q3 & Hq3 & Htq3).
    assert (Hkl1 : 0 <= k < len (Isolation.vm_vcpus mk1))
      by (unfold mk1, len; rewrite Hvv, replace_nth_length; exact Hkl).
    pose proof (pindex_tracks q3 _ _ _ k tr Htq3 Hkl1) as (q4 & y2 & Hq4 & Hx2 & Ht4).
    unfold mk1 in Hx2. rewrite Hvv, nth_replace_nth in Hx2 by (unfold len in Hkl; lia). injection Hx2 as <-.
    pose proof (pfield_tracks q4 Isolation.vcpu_pend Isolation.set_vcpu_pend _ _ _ tr Ht4 ltac:(field_laws))
      as (q5 & Hq5 & Ht5).
    eexists _, _, _. split.
    { CodeShadow.step_by Hq. CodeShadow.step_by Hq1. CodeShadow.step_by Hq2.
      CodeShadow.step_by (store_tracks _ _ _ _ Isolation.VCPUOff tr Ht2).
      CodeShadow.step_by Hq3. CodeShadow.step_by Hq4. CodeShadow.step_by Hq5.
      CodeShadow.step_by (store_tracks _ _ _ _ Isolation.pendNone tr Ht5). reflexivity. }
    eexists. split; [reflexivity|]. split; [split; [reflexivity|split; [lia|]]|lia].
    unfold st. replace (Z.to_nat (k + 1)) with (Datatypes.S (Z.to_nat k)) by lia.
    rewrite <- (offs_step _ _ _ Hx). unfold mk1, mk. rewrite !Hvv.
    assert (Hss : forall a b y, Isolation.set_vm_vcpus a (Isolation.set_vm_vcpus b y) = Isolation.set_vm_vcpus a y)
      by (intros a b y; destruct y; reflexivity).
    rewrite !Hss, replace_nth_twice. reflexivity.
  - split; [reflexivity|]. split; [lia|]. unfold st, offs. change (Z.to_nat 0) with 0%nat. cbn [firstn skipn map app].
    replace (Isolation.set_vm_vcpus l m) with m by (unfold l; destruct m; reflexivity).
    unfold put_vm. rewrite (replace_nth_same _ _ _ Hm). destruct e; reflexivity.
  - destruct (Z.eq_dec n 0) as [E|E]; [rewrite E; cbn; lia|]. rewrite fuel_nat by lia. lia.
  - CodeShadow.step_by Hj. destruct j as [k|[]]. reflexivity.
Qed.

(** ** CPU_ON, CPU_OFF and AFFINITY_INFO *)

(** A target_cpu names vCPU [mp] exactly when it is below the VM's vCPU
    count: with at most 256 vCPUs, a value with a bit outside Aff0 is
    never below it. *)
Lemma psciTarget_run : forall (p : ptr Isolation.Engine Isolation.vm) e m put tr mp, tracks p e m put -> 0 <= mp < 2 ^ 64 ->
  Isolation.vm_nvcpu m <= 256 ->
  @Isolation.psciTarget Isolation.Engine p mp e tr = Ok (if mp <? Isolation.vm_nvcpu m then (mp, true) else (0, false)) e tr.
Proof.
  intros p e m put tr mp Ht Hmp Hn. unfold Isolation.psciTarget, Isolation.mpidrAff0.
  change 255 with (Z.ones 8). rewrite andnot_ones by lia. change (2 ^ 8) with 256.
  destruct (Z.eqb_spec (mp / 256 * 256) 0) as [E|E]; cbn [negb].
  - assert (Hs : mp < 256) by (assert (mp / 256 = 0) by lia; apply Z.div_small_iff in H; lia).
    rewrite bind_assoc. CodeShadow.step_by (deref_tracks _ _ _ _ tr Ht).
    replace (wraps 64 mp) with mp by (unfold wraps; rewrite Z.mod_small by lia;
      destruct (Z.leb_spec (2 ^ (64 - 1)) mp); lia).
    destruct (Z.ltb_spec mp (Isolation.vm_nvcpu m)) as [L|L].
    + replace (mp >=? Isolation.vm_nvcpu m) with false by (symmetry; rewrite Z.geb_leb; apply Z.leb_gt; lia). reflexivity.
    + replace (mp >=? Isolation.vm_nvcpu m) with true by (symmetry; rewrite Z.geb_leb; apply Z.leb_le; lia). reflexivity.
  - assert (256 <= mp) by (destruct (Z.ltb_spec mp 256); [rewrite Z.div_small in E by lia; lia|lia]).
    replace (mp <? Isolation.vm_nvcpu m) with false by (symmetry; apply Z.ltb_ge; lia). reflexivity.
Qed.

Definition zero_effect : Isolation.Effect := Isolation.mk_Effect Isolation.zero_EffectKind 0 false false.

(** CPU_ON's outcomes: INVALID_PARAMETERS for a target the VM lacks,
    ALREADY_ON for one not Off, else SUCCESS with the target started
    at the entry with the context in x0, as VCPU_INIT starts a vCPU. *)
Lemma cpuOn_run : forall e tr cl p m i mp entry arg, tracks p e m (put_vm e i) -> vm_ok m ->
  0 <= Isolation.Caller_VM cl < 2 ^ 16 -> 0 <= mp < 2 ^ 64 -> Isolation.vm_nvcpu m <= 256 ->
  exists r eff e', Isolation.Engine_cpuOn root cl p mp entry arg e tr = Ok (r, eff) e' tr /\
    ((Isolation.vm_nvcpu m <= mp /\ r = wrapu 64 Abi.PSCIInvalidParameters /\ eff = zero_effect /\ e' = e) \/
     exists x, mp < Isolation.vm_nvcpu m /\ nth_error (Isolation.vm_vcpus m) (Z.to_nat mp) = Some x /\
       ((Isolation.vcpu_state x <> Isolation.VCPUOff /\ r = wrapu 64 Abi.PSCIAlreadyOn /\ eff = zero_effect /\ e' = e) \/
        (Isolation.vcpu_state x = Isolation.VCPUOff /\ r = wrapu 64 Abi.PSCISuccess /\
         eff = Isolation.mk_Effect Isolation.EffectVCPUState mp true false /\
         e' = put_vcpu e i m (Z.to_nat mp) (init_vcpu x (Isolation.Caller_VM cl) mp entry arg)))).
Proof.
  intros e tr cl p m i mp entry arg Ht (Hn0 & Hnl & _) Hvm Hmp Hn.
  unfold Isolation.Engine_cpuOn. CodeShadow.step_by (psciTarget_run p e m _ tr mp Ht Hmp Hn).
  destruct (Z.ltb_spec mp (Isolation.vm_nvcpu m)) as [L|L]; cbn [negb].
  2:{ eexists _, _, _. split; [reflexivity|]. left. repeat split; lia. }
  destruct (nth_error (Isolation.vm_vcpus m) (Z.to_nat mp)) as [x|] eqn:Hx;
    [|apply nth_error_None in Hx; unfold len in Hnl; lia].
  CodeShadow.step_by (deref_tracks _ _ _ _ tr Ht). CodeShadow.step_by (idx_nth _ mp x e tr ltac:(lia) Hx).
  destruct (Z.eqb_spec (Isolation.vcpu_state x) Isolation.VCPUOff) as [Off|On]; cbn [negb].
  2:{ eexists _, _, _. split; [reflexivity|]. right. exists x. split; [exact L|]. split; [first [exact Hx|reflexivity]|].
      left. split; [exact On|]. split; [reflexivity|]. split; reflexivity. }
  pose proof (pfield_tracks p Isolation.vm_vcpus Isolation.set_vm_vcpus _ _ _ tr Ht ltac:(field_laws)) as (q & Hq & Htq).
  pose proof (pindex_tracks q _ _ _ mp tr Htq ltac:(unfold len in *; lia)) as (q1 & x' & Hq1 & Hx' & Ht1).
  rewrite Hx in Hx'. injection Hx' as <-.
  pose proof (pfield_tracks q1 Isolation.vcpu_ctx Isolation.set_vcpu_ctx _ _ _ tr Ht1 ltac:(field_laws)) as (q2 & Hq2 & Ht2).
  CodeShadow.step_by Hq. CodeShadow.step_by Hq1. CodeShadow.step. CodeShadow.step_by Hq2. CodeShadow.step_by (reset_tracks _ _ _ _ (Isolation.Caller_VM cl) (wrapu 16 mp) entry arg tr Ht2).
  set (x1 := Isolation.set_vcpu_ctx (reset_ctx (Isolation.vcpu_ctx x) (Isolation.Caller_VM cl) (wrapu 16 mp) entry arg) x).
  pose proof (tracks_put q1 e x _ x1 Ht1) as Ht3.
  pose proof (pfield_tracks q1 Isolation.vcpu_state Isolation.set_vcpu_state _ _ _ tr Ht3 ltac:(field_laws)) as (q4 & Hq4 & Ht4).
  CodeShadow.step_by Hq4. CodeShadow.step_by (store_tracks _ _ _ _ Isolation.VCPUOn tr Ht4).
  set (x2 := Isolation.set_vcpu_state Isolation.VCPUOn x1).
  pose proof (tracks_put q1 e x _ x2 Ht1) as Ht5.
  pose proof (pfield_tracks q1 Isolation.vcpu_pend Isolation.set_vcpu_pend _ _ _ tr Ht5 ltac:(field_laws)) as (q6 & Hq6 & Ht6).
  CodeShadow.step_by Hq6. CodeShadow.step_by (store_tracks _ _ _ _ Isolation.pendNone tr Ht6).
  eexists _, _, _. split; [reflexivity|]. right. exists x. split; [exact L|]. split; [first [exact Hx|reflexivity]|]. right.
  split; [exact Off|]. split; [reflexivity|]. split.
  - rewrite (wrapu_small_16 mp) by lia. reflexivity.
  - unfold init_vcpu, x2, x1. rewrite (wrapu_small_16 (Isolation.Caller_VM cl)) by lia. reflexivity.
Qed.

(** ** What the stores keep *)

(** A sequence of stores, each into one vCPU, each leaving [vcpus_ok]. *)
Inductive vcpu_chain : Isolation.Engine -> Isolation.Engine -> Prop :=
| chain_refl : forall e, vcpu_chain e e
| chain_step : forall e1 e2 e3, vcpu_chain e1 e2 -> vcpu_store e2 e3 -> vcpus_ok e3 -> vcpu_chain e1 e3.

Lemma chain_vcpus_ok : forall e e', vcpus_ok e -> vcpu_chain e e' -> vcpus_ok e'.
Proof. intros e e' H C. induction C; [exact H|assumption]. Qed.

(** Writing vCPUs changes no page, no walk and no configuration, so it
    keeps [refine_inv]. *)
Lemma chain_refine_inv : forall c e e', refine_inv c e -> vcpu_chain e e' -> refine_inv c e'.
Proof.
  intros c e e' R C. induction C as [e|e1 e2 e3 C IH Hst Hok]; [exact R|].
  specialize (IH R). pose proof (slot_keeps_of c e2 IH) as (HP & Hs & [_ Hstab]).
  exact (proj1 (vcpu_store_refine_inv c e2 e3 IH Hst (Hstab e2 e3 HP Hst) (shadow_inv_vcpu_store e2 e3 Hs Hok Hst))).
Qed.

(** An invariant every vCPU store keeps is kept along a chain of them. *)
Lemma chain_stable : forall (P : Isolation.Engine -> Prop) e e', store_stable P -> P e -> vcpu_chain e e' -> P e'.
Proof.
  intros P e e' [_ HPv] H C. induction C as [e|e1 e2 e3 C IH Hst _]; [exact H|exact (HPv e2 e3 (IH H) Hst)].
Qed.

Lemma chain_plat : forall e e', vcpu_chain e e' -> Isolation.Engine_plat e' = Isolation.Engine_plat e.
Proof.
  intros e e' C. induction C as [|e1 e2 e3 C IH [->|(i & m & j & x & _ & ->)] _]; [reflexivity|exact IH|].
  rewrite <- IH. destruct e2. reflexivity.
Qed.

(** The VM in a slot has its vCPUs, as [vcpus_ok] says of every slot. *)
Lemma vm_ok_at : forall e i m, vcpus_ok e -> nth_error (Isolation.Engine_vms e) i = Some m -> vm_ok m.
Proof. intros e i m [_ Hall] Hn. rewrite Forall_forall in Hall. exact (Hall m (nth_error_In _ _ Hn)). Qed.

Lemma chain_one : forall e i m j x, vcpus_ok e -> nth_error (Isolation.Engine_vms e) i = Some m ->
  len (Isolation.Context_IRQ (Isolation.vcpu_ctx x)) = 16 -> vcpu_chain e (put_vcpu e i m j x).
Proof.
  intros e i m j x Hok Hn Hx. apply (chain_step e e); [constructor| |].
  - right. exists i, m, j, x. split; [exact Hn|reflexivity].
  - unfold put_vcpu. apply vcpus_ok_put_vm; [exact Hok|]. apply vm_ok_put_vcpu; [|exact Hx].
    exact (vm_ok_at e i m Hok Hn).
Qed.

Lemma vcpu_irq_len : forall m j x, vm_ok m -> nth_error (Isolation.vm_vcpus m) j = Some x ->
  len (Isolation.Context_IRQ (Isolation.vcpu_ctx x)) = 16.
Proof.
  intros m j x (_ & _ & Hall) Hx. rewrite Forall_forall in Hall. exact (Hall x (nth_error_In _ _ Hx)).
Qed.

Lemma vms_put_vm : forall e i m, (i < length (Isolation.Engine_vms e))%nat ->
  nth_error (Isolation.Engine_vms (put_vm e i m)) i = Some m.
Proof. intros [] i m H. unfold put_vm. cbn in *. exact (nth_replace_nth _ _ _ H). Qed.

(** SYSTEM_OFF's stores, one vCPU at a time. *)
Lemma chain_offs : forall e i m, vcpus_ok e -> nth_error (Isolation.Engine_vms e) i = Some m ->
  forall k, (k <= length (Isolation.vm_vcpus m))%nat ->
  vcpu_chain e (put_vm e i (Isolation.set_vm_vcpus (offs k (Isolation.vm_vcpus m)) m)).
Proof.
  intros e i m Hok Hn. assert (Hi : (i < length (Isolation.Engine_vms e))%nat) by (apply nth_error_Some; congruence).
  induction k as [|k IH]; intros Hk.
  - unfold offs. cbn [firstn skipn map app].
    replace (Isolation.set_vm_vcpus (Isolation.vm_vcpus m) m) with m by (destruct m; reflexivity).
    unfold put_vm. rewrite (replace_nth_same _ _ _ Hn). destruct e. constructor.
  - destruct (nth_error (Isolation.vm_vcpus m) k) as [x|] eqn:Hx; [|apply nth_error_None in Hx; lia].
    specialize (IH ltac:(lia)).
    set (mk := Isolation.set_vm_vcpus (offs k (Isolation.vm_vcpus m)) m) in *.
    set (s := put_vm e i mk) in *.
    assert (Hns : nth_error (Isolation.Engine_vms s) i = Some mk) by exact (vms_put_vm e i mk Hi).
    pose proof (chain_vcpus_ok e s Hok IH) as Hoks.
    pose proof (vm_ok_at _ _ mk Hoks Hns) as Hmk.
    assert (Hxk : nth_error (Isolation.vm_vcpus mk) k = Some x) by (unfold mk; destruct m; cbn in *; rewrite offs_at; exact Hx).
    assert (E : put_vcpu s i mk k (off_vcpu x) =
                put_vm e i (Isolation.set_vm_vcpus (offs (Datatypes.S k) (Isolation.vm_vcpus m)) m)).
    { unfold put_vcpu, s. rewrite put_vm_twice, <- (offs_step _ _ _ Hx). unfold mk. destruct m. reflexivity. }
    rewrite <- E. apply (chain_step e s); [exact IH| |].
    + right. exists i, mk, k, (off_vcpu x). split; [exact Hns|reflexivity].
    + unfold put_vcpu. apply vcpus_ok_put_vm; [exact Hoks|]. apply vm_ok_put_vcpu; [exact Hmk|].
      exact (vcpu_irq_len mk k x Hmk Hxk).
Qed.

(** ** The model's calls on the abstraction *)

Lemma off_vcpu_abs : forall y, abs_vcpu (off_vcpu y) = mkVCPU VOff PNone (abs_irq y).
Proof. intros y. destruct y. reflexivity. Qed.

Lemma offs_nth_lt : forall k l j d, (j < k)%nat -> (k <= length l)%nat -> nth j (offs k l) d = off_vcpu (nth j l d).
Proof.
  induction k as [|k IH]; intros [|x r] j d Hj Hk; cbn in Hk; try lia.
  destruct j as [|j]; [reflexivity|]. cbn [offs firstn skipn map app nth] in *. apply IH; lia.
Qed.

(** SYSTEM_OFF's stores leave the abstraction the model's [all_off]. *)
Lemma system_ms_eq : forall c e id m, create_inv c e -> 1 <= id ->
  nth_error (Isolation.Engine_vms e) (Z.to_nat (id - 1)) = Some m -> Isolation.vm_live m = true -> vm_ok m ->
  ms_eq (all_off (abs_ms c e) (Z.to_nat id))
    (abs_ms c (put_vm e (Z.to_nat (id - 1))
      (Isolation.set_vm_vcpus (offs (Z.to_nat (Isolation.vm_nvcpu m)) (Isolation.vm_vcpus m)) m))).
Proof.
  intros c e id m Hc Hid1 Hn Hlv (Hn0 & Hnl & _). unfold all_off.
  apply (put_vcpus_ms_eq c e id m _ _ Hc Hid1 Hn Hlv).
  intros k. rewrite (slot_vm c e id m Hid1 Hn). unfold abs_vm. rewrite Hlv. cbn [vm_vcpu].
  destruct (Nat.ltb_spec k (Z.to_nat (Isolation.vm_nvcpu m))) as [Hk|Hk].
  - rewrite offs_nth_lt by (unfold len in Hnl; lia). rewrite off_vcpu_abs.
    split; [reflexivity|split; [reflexivity|intros; reflexivity]].
  - split; [reflexivity|split; [reflexivity|intros; reflexivity]].
Qed.

Lemma vcpu_of_set : forall m v t y k, vcpu_of (set_vcpu m v t y) v k = if Nat.eqb k t then y else vcpu_of m v k.
Proof. intros. unfold vcpu_of, set_vcpu, set_vm, State.upd. cbn [ms_vms vm_vcpu]. rewrite Nat.eqb_refl. reflexivity. Qed.

(** A caller the code has not marked running is not running in the
    abstraction, so the model's [leave_run] leaves it. *)
Lemma abs_not_running : forall x, Isolation.vcpu_state x <> Isolation.VCPURunning -> vc_state (abs_vcpu x) <> VRunning.
Proof.
  intros x H. unfold abs_vcpu, abs_vstate. cbn [vc_state].
  destruct (Isolation.vcpu_state x =? Isolation.VCPUOff); [discriminate|].
  destruct (Z.eqb_spec (Isolation.vcpu_state x) Isolation.VCPURunning); [contradiction|].
  destruct (Isolation.Context_Fresh _); discriminate.
Qed.

Lemma leave_run_idle : forall m v k, vc_state (vcpu_of m v k) <> VRunning -> leave_run m v k = m.
Proof. intros m v k H. unfold leave_run. destruct (vc_state (vcpu_of m v k)); [reflexivity|reflexivity|reflexivity|contradiction]. Qed.

Lemma psci32_arg : forall {S} (s : S) tr id x, Isolation.psci32 id x s tr = Ok (psci_arg id x) s tr.
Proof. intros. unfold Isolation.psci32, Abi.Is64, psci_arg, bind, ret. cbn. destruct (Z.land id _ =? 0); reflexivity. Qed.

Lemma psci_arg_range : forall id x, 0 <= x < 2 ^ 64 -> 0 <= psci_arg id x < 2 ^ 64.
Proof.
  intros id x H. unfold psci_arg. destruct (_ =? 0); [|exact H].
  change (2 ^ 32 - 1) with (Z.ones 32). rewrite Z.land_ones by lia.
  pose proof (Z.mod_pos_bound x (2 ^ 32) ltac:(lia)). lia.
Qed.

Lemma implemented_ids : forall f, existsb (Z.eqb f) guest_psci_ids =
  ((((((((f =? Abi.PSCIVersion) || (f =? Abi.PSCIFeatures)) || (f =? Abi.PSCICPUOn32)) || (f =? Abi.PSCICPUOn64)) ||
     (f =? Abi.PSCICPUOff)) || (f =? Abi.PSCIAffinityInfo32)) || (f =? Abi.PSCIAffinityInfo64)) ||
     (f =? Abi.PSCISystemOff)) || (f =? Abi.PSCISystemReset).
Proof. intros f. cbn [existsb guest_psci_ids]. rewrite orb_false_r, !orb_assoc. reflexivity. Qed.

(** CPU_OFF turns the caller Off and reports it. *)
Lemma cpuOff_run : forall e tr cl p m i id x1 x2 x3, tracks p e m (put_vm e i) ->
  0 <= Isolation.Caller_VCPU cl < len (Isolation.vm_vcpus m) ->
  (id =? Abi.PSCIVersion) = false -> (id =? Abi.PSCIFeatures) = false ->
  ((id =? Abi.PSCICPUOn32) || (id =? Abi.PSCICPUOn64)) = false -> (id =? Abi.PSCICPUOff) = true ->
  exists x, nth_error (Isolation.vm_vcpus m) (Z.to_nat (Isolation.Caller_VCPU cl)) = Some x /\
  Isolation.Engine_guestPSCI root cl p id x1 x2 x3 e tr =
    Ok (wrapu 64 Abi.PSCISuccess, Isolation.mk_Effect Isolation.EffectVCPUState (Isolation.Caller_VCPU cl) false false)
      (put_vcpu e i m (Z.to_nat (Isolation.Caller_VCPU cl)) (off_vcpu x)) tr.
Proof.
  intros e tr cl p m i id x1 x2 x3 Ht Hj E1 E2 E3 E4.
  unfold Isolation.Engine_guestPSCI. cbv zeta. rewrite E1, E2, E3, E4.
  pose proof (pfield_tracks p Isolation.vm_vcpus Isolation.set_vm_vcpus _ _ _ tr Ht ltac:(field_laws)) as (q & Hq & Htq).
  pose proof (pindex_tracks q _ _ _ _ tr Htq Hj) as (q1 & x & Hq1 & Hx & Ht1).
  pose proof (pfield_tracks q1 Isolation.vcpu_state Isolation.set_vcpu_state _ _ _ tr Ht1 ltac:(field_laws)) as (q2 & Hq2 & Ht2).
  exists x. split; [exact Hx|].
  CodeShadow.step_by Hq. CodeShadow.step_by Hq1. CodeShadow.step_by Hq2.
  CodeShadow.step_by (store_tracks _ _ _ _ Isolation.VCPUOff tr Ht2).
  pose proof (tracks_put q1 e x _ (Isolation.set_vcpu_state Isolation.VCPUOff x) Ht1) as Ht3.
  pose proof (pfield_tracks q1 Isolation.vcpu_pend Isolation.set_vcpu_pend _ _ _ tr Ht3 ltac:(field_laws)) as (q4 & Hq4 & Ht4).
  CodeShadow.step_by Hq4. CodeShadow.step_by (store_tracks _ _ _ _ Isolation.pendNone tr Ht4). reflexivity.
Qed.

(** AFFINITY_INFO answers for level 0 and a vCPU of the VM, 1 if it is
    Off and 0 otherwise, and INVALID_PARAMETERS for anything else. *)
Lemma affinityInfo_run : forall (p : ptr Isolation.Engine Isolation.vm) e m put tr mp lvl, tracks p e m put -> vm_ok m ->
  0 <= mp < 2 ^ 64 -> Isolation.vm_nvcpu m <= 256 ->
  Isolation.affinityInfo p mp lvl e tr =
    Ok (if (lvl =? 0) && (mp <? Isolation.vm_nvcpu m) then
          (if Isolation.vcpu_state (nth (Z.to_nat mp) (Isolation.vm_vcpus m) Isolation.zero_vcpu) =? Isolation.VCPUOff
           then Abi.AffinityOff else Abi.AffinityOn)
        else wrapu 64 Abi.PSCIInvalidParameters) e tr.
Proof.
  intros p e m put tr mp lvl Ht (_ & Hnl & _) Hmp Hn. unfold Isolation.affinityInfo.
  CodeShadow.step_by (psciTarget_run p e m put tr mp Ht Hmp Hn).
  destruct (Z.eqb_spec lvl 0) as [->|L]; cbn [negb orb andb Z.eqb]; [|destruct (_ <? _); reflexivity].
  destruct (Z.ltb_spec mp (Isolation.vm_nvcpu m)) as [L|L]; cbn [negb orb]; [|reflexivity].
  destruct (nth_error (Isolation.vm_vcpus m) (Z.to_nat mp)) as [x|] eqn:Hx;
    [|apply nth_error_None in Hx; unfold len in Hnl; lia].
  CodeShadow.step_by (deref_tracks _ _ _ _ tr Ht). CodeShadow.step_by (idx_nth _ mp x e tr ltac:(lia) Hx).
  rewrite (nth_error_nth _ _ Isolation.zero_vcpu Hx). destruct (_ =? _); reflexivity.
Qed.

(** ** The guest's PSCI calls refined *)

(** The context of the caller's vCPU. *)
Definition caller_ctx (e : Isolation.Engine) (cl : Isolation.Caller) : Isolation.Context :=
  Isolation.vcpu_ctx (nth (Z.to_nat (Isolation.Caller_VCPU cl))
    (Isolation.vm_vcpus (nth (Z.to_nat (Isolation.Caller_VM cl - 1)) (Isolation.Engine_vms e) Isolation.zero_vm))
    Isolation.zero_vcpu).

(** A store into vCPU [t] of slot [i] leaves the context of vCPU [j] of
    that slot as it was, if [t] is another vCPU or the store keeps it. *)
Lemma ctx_put_vcpu : forall e i m t y j, nth_error (Isolation.Engine_vms e) i = Some m ->
  (t <> j \/ Isolation.vcpu_ctx y = Isolation.vcpu_ctx (nth t (Isolation.vm_vcpus m) Isolation.zero_vcpu)) ->
  Isolation.vcpu_ctx (nth j (Isolation.vm_vcpus (nth i (Isolation.Engine_vms (put_vcpu e i m t y)) Isolation.zero_vm))
    Isolation.zero_vcpu) =
  Isolation.vcpu_ctx (nth j (Isolation.vm_vcpus (nth i (Isolation.Engine_vms e) Isolation.zero_vm)) Isolation.zero_vcpu).
Proof.
  intros e i m t y j Hn H. assert (Hi : (i < length (Isolation.Engine_vms e))%nat) by (apply nth_error_Some; congruence).
  unfold put_vcpu, put_vm. destruct e. cbn in *.
  rewrite nth_replace_nth_same by exact Hi. rewrite (nth_error_nth _ _ Isolation.zero_vm Hn).
  destruct m. cbn. destruct (Nat.eq_dec t j) as [<-|Ne].
  - destruct H as [H|H]; [contradiction|].
    destruct (Nat.lt_ge_cases t (length vm_vcpus)) as [Lt|Ge].
    + rewrite nth_replace_nth_same by exact Lt. exact H.
    + rewrite !nth_overflow; [reflexivity|lia|rewrite replace_nth_length; lia].
  - rewrite nth_replace_nth_other' by exact Ne. reflexivity.
Qed.

(** [guestPSCI] on the slot of the caller's VM answers [r] and reports
    [eff], leaving [e'] after stores into vCPUs; the model's call [g]
    from the caller answers the PSCI result whose code is [r] and the
    exit [eff] reports, and leaves the abstraction of [e']. *)
Definition psci_ok (c : config) (e : Isolation.Engine) tr cl p id x1 x2 x3 mem regs (g : gcall) : Prop :=
  exists r eff e' s' ret ex, Isolation.Engine_guestPSCI root cl p id x1 x2 x3 e tr = Ok (r, eff) e' tr /\
    vcpu_chain e e' /\ (runs_ok e -> runs_ok e') /\ caller_ctx e' cl = caller_ctx e cl /\
    guest_call c (abs_state c e mem regs) (Z.to_nat (Isolation.Caller_VM cl)) (Z.to_nat (Isolation.Caller_VCPU cl)) g =
      (s', OPSCI ret ex) /\
    ms_eq (st_meta s') (abs_ms c e') /\ r = psci_code ret /\ eff = exit_effect ex.

(** What every case starts from: the caller is a vCPU of the live VM
    [m], tracked by [p], which has at most 256 vCPUs, and it is marked
    On. *)
Definition psci_pre (c : config) (e : Isolation.Engine) cl p m : Prop :=
  create_inv c e /\ live_caller e cl m /\ vm_ok m /\ Isolation.vm_nvcpu m <= 256 /\
  tracks p e m (put_vm e (Z.to_nat (Isolation.Caller_VM cl - 1))) /\
  Isolation.vcpu_state (nth (Z.to_nat (Isolation.Caller_VCPU cl)) (Isolation.vm_vcpus m) Isolation.zero_vcpu) =
    Isolation.VCPUOn.

Lemma guest_call_psci : forall c e cl m mem regs g, create_inv c e -> live_caller e cl m ->
  guest_call c (abs_state c e mem regs) (Z.to_nat (Isolation.Caller_VM cl)) (Z.to_nat (Isolation.Caller_VCPU cl)) g =
  (fun s => match g with
   | GPSCIVersion => (s, OPSCI PSCI_VERSION_1_1 None)
   | GPSCIFeatures b => (s, OPSCI (if b then PSCI_SUCCESS else PSCI_NOT_SUPPORTED) None)
   | GPSCICPUOn mpidr entry ctx => psci_cpu_on s (Z.to_nat (Isolation.Caller_VM cl)) (Z.to_nat (Isolation.Caller_VCPU cl)) mpidr entry ctx
   | GPSCICPUOff =>
       (mkState (stop_vcpu (st_meta s) (Z.to_nat (Isolation.Caller_VM cl)) (Z.to_nat (Isolation.Caller_VCPU cl)) VOff)
          (st_mem s) (st_regs s),
        OPSCI PSCI_SUCCESS (Some (ExitVCPUState (Z.to_nat (Isolation.Caller_VCPU cl)) 0)))
   | GPSCIAffinityInfo mpidr level => psci_affinity_info s (Z.to_nat (Isolation.Caller_VM cl)) mpidr level
   | GPSCISystemOff => psci_system s (Z.to_nat (Isolation.Caller_VM cl)) 0
   | GPSCISystemReset => psci_system s (Z.to_nat (Isolation.Caller_VM cl)) 1
   | _ => guest_call c s (Z.to_nat (Isolation.Caller_VM cl)) (Z.to_nat (Isolation.Caller_VCPU cl)) g
   end) (abs_state c e mem regs).
Proof.
  intros c e cl m mem regs g Hc (Hid & Hn & Hlv & Hj). pose proof Hc as (_ & _ & Hcfg & _).
  assert (Hok : vcpu_ok c (abs_ms c e) (Z.to_nat (Isolation.Caller_VM cl)) (Z.to_nat (Isolation.Caller_VCPU cl)) = true)
    by (apply (vcpu_ok_slot c e _ _ m Hcfg); lia || assumption).
  destruct g; cbv beta iota; try reflexivity; unfold guest_call; cbn [st_meta abs_state]; rewrite Hok; reflexivity.
Qed.

(** A case that changes nothing: the engine and the model's state stay,
    and the answers agree by computation. *)
Local Ltac psci_same :=
  eexists _, _, _, _, _, _; split; [reflexivity|]; split; [constructor|]; split; [exact (fun H => H)|];
  split; [reflexivity|]; split; [reflexivity|]; split; [apply ms_eq_refl|]; split; reflexivity.

Lemma psci_version_ok : forall c e tr cl p m id x1 x2 x3 mem regs, psci_pre c e cl p m ->
  (id =? Abi.PSCIVersion) = true -> psci_ok c e tr cl p id x1 x2 x3 mem regs GPSCIVersion.
Proof.
  intros c e tr cl p m id x1 x2 x3 mem regs (Hc & Hcl & _) E1.
  unfold psci_ok. rewrite (guest_call_psci c e cl m mem regs _ Hc Hcl). cbv beta iota.
  unfold Isolation.Engine_guestPSCI. cbv zeta. rewrite E1.
  psci_same.
Qed.

Lemma psci_features_ok : forall c e tr cl p m id x1 x2 x3 mem regs, psci_pre c e cl p m ->
  (id =? Abi.PSCIVersion) = false -> (id =? Abi.PSCIFeatures) = true ->
  psci_ok c e tr cl p id x1 x2 x3 mem regs (GPSCIFeatures (existsb (Z.eqb (wrapu 32 x1)) guest_psci_ids)).
Proof.
  intros c e tr cl p m id x1 x2 x3 mem regs (Hc & Hcl & _) E1 E2.
  unfold psci_ok. rewrite (guest_call_psci c e cl m mem regs _ Hc Hcl). cbv beta iota.
  unfold Isolation.Engine_guestPSCI, Isolation.guestPSCIImplemented. cbv zeta. rewrite E1, E2.
  rewrite <- implemented_ids. destruct (existsb _ _);
    psci_same.
Qed.

(** The abstraction of a vCPU that is not Off is not the model's Off. *)
Lemma abs_not_off : forall x, Isolation.vcpu_state x <> Isolation.VCPUOff ->
  exists st, vc_state (abs_vcpu x) = st /\ st <> VOff.
Proof.
  intros x H. eexists. split; [reflexivity|]. unfold abs_vcpu, abs_vstate. cbn [vc_state].
  destruct (Z.eqb_spec (Isolation.vcpu_state x) Isolation.VCPUOff); [contradiction|].
  destruct (_ =? _); [discriminate|]. destruct (Isolation.Context_Fresh _); discriminate.
Qed.

Lemma abs_off : forall x, Isolation.vcpu_state x = Isolation.VCPUOff -> vc_state (abs_vcpu x) = VOff.
Proof. intros x H. unfold abs_vcpu, abs_vstate. cbn [vc_state]. rewrite H. reflexivity. Qed.

Lemma psci_cpu_on_ok : forall c e tr cl p m id x1 x2 x3 mem regs, psci_pre c e cl p m ->
  (id =? Abi.PSCIVersion) = false -> (id =? Abi.PSCIFeatures) = false ->
  ((id =? Abi.PSCICPUOn32) || (id =? Abi.PSCICPUOn64)) = true -> 0 <= x1 < 2 ^ 64 ->
  psci_ok c e tr cl p id x1 x2 x3 mem regs
    (GPSCICPUOn (Z.to_nat (psci_arg id x1)) (Z.to_nat (psci_arg id x2)) (Z.to_nat (psci_arg id x3))).
Proof.
  intros c e tr cl p m id x1 x2 x3 mem regs (Hc & Hcl & Hm & Hn & Ht & Hidle) E1 E2 E3 Hx1.
  pose proof Hcl as (Hid & Hnth & Hlv & Hj). pose proof Hc as ((Hvok & _) & _).
  unfold psci_ok. rewrite (guest_call_psci c e cl m mem regs _ Hc Hcl). cbv beta iota.
  unfold Isolation.Engine_guestPSCI. cbv zeta. rewrite E1, E2, E3.
  CodeShadow.step_by (psci32_arg e tr id x1). CodeShadow.step_by (psci32_arg e tr id x2).
  CodeShadow.step_by (psci32_arg e tr id x3).
  pose proof (psci_arg_range id x1 Hx1) as Hmp.
  set (mp := psci_arg id x1) in *. set (en := psci_arg id x2). set (ar := psci_arg id x3).
  pose proof (cpuOn_run e tr cl p m _ mp en ar Ht Hm ltac:(lia) Hmp Hn) as (r & eff & e' & Hrun & Hout).
  CodeShadow.step_by Hrun. unfold psci_cpu_on. cbv zeta. cbn [st_meta abs_state].
  assert (Hvs : vm_vcpus (ms_vms (abs_ms c e) (Z.to_nat (Isolation.Caller_VM cl))) = Z.to_nat (Isolation.vm_nvcpu m))
    by (rewrite (slot_vm c e (Isolation.Caller_VM cl) m ltac:(lia) Hnth); unfold abs_vm; rewrite Hlv; reflexivity).
  rewrite Hvs.
  destruct Hout as [(L & -> & -> & ->) | (x & L & Hx & [(On & -> & -> & ->) | (Off & -> & -> & ->)])].
  - replace (Z.to_nat (Isolation.vm_nvcpu m) <=? Z.to_nat mp)%nat with true by (symmetry; apply Nat.leb_le; lia).
    psci_same.
  - replace (Z.to_nat (Isolation.vm_nvcpu m) <=? Z.to_nat mp)%nat with false by (symmetry; apply Nat.leb_gt; lia).
    rewrite (vcpu_of_abs c e (Isolation.Caller_VM cl) mp m x ltac:(lia) Hnth Hlv ltac:(lia) Hx).
    pose proof (abs_not_off x On) as (st & -> & Hst).
    destruct st; [contradiction| | |];
      psci_same.
  - replace (Z.to_nat (Isolation.vm_nvcpu m) <=? Z.to_nat mp)%nat with false by (symmetry; apply Nat.leb_gt; lia).
    rewrite (vcpu_of_abs c e (Isolation.Caller_VM cl) mp m x ltac:(lia) Hnth Hlv ltac:(lia) Hx), (abs_off x Off).
    set (y := mkVCPU (VReady (Z.to_nat en) (Z.to_nat ar)) PNone (vc_irq (abs_vcpu x))).
    set (v := Z.to_nat (Isolation.Caller_VM cl)). set (j := Z.to_nat (Isolation.Caller_VCPU cl)).
    assert (Hl : leave_run (set_vcpu (abs_ms c e) v (Z.to_nat mp) y) v j = set_vcpu (abs_ms c e) v (Z.to_nat mp) y).
    { apply leave_run_idle. rewrite vcpu_of_set. destruct (Nat.eqb j (Z.to_nat mp)); [discriminate|].
      destruct (nth_error (Isolation.vm_vcpus m) j) as [xj|] eqn:Hxj;
        [|apply nth_error_None in Hxj; destruct Hm as (_ & Hnl & _); unfold len in Hnl; lia].
      unfold v, j in *. rewrite (vcpu_of_abs c e (Isolation.Caller_VM cl) (Isolation.Caller_VCPU cl) m xj ltac:(lia) Hnth Hlv Hj Hxj). apply abs_not_running.
      rewrite (nth_error_nth _ _ Isolation.zero_vcpu Hxj) in Hidle. rewrite Hidle. cbv. discriminate. }
    rewrite Hl.
    assert (Hxl : (Z.to_nat mp < length (Isolation.vm_vcpus m))%nat) by (apply nth_error_Some; congruence).
    eexists _, _, _, _, _, _. split; [reflexivity|]. split.
    { apply chain_one; [exact Hvok|exact Hnth|]. exact (vcpu_irq_len m _ x Hm Hx). }
    split.
    { intros Hr. apply (runs_ok_put_vcpu e _ m _ _ Hr Hnth Hxl). intros _ Hlt _.
      unfold init_vcpu, reset_ctx. cbn. rewrite wrapu_small_16 by lia. rewrite wrapu_small_16 by lia.
      unfold vcpu_ready. cbn. split; [lia|]. split; [lia|]. split; [reflexivity|]. intros E. discriminate E. }
    split.
    { unfold caller_ctx. apply (ctx_put_vcpu e _ m _ _ _ Hnth). left. intros E.
      rewrite <- E, (nth_error_nth _ _ Isolation.zero_vcpu Hx), Off in Hidle. discriminate Hidle. }
    split; [reflexivity|]. split.
    { cbn [st_meta]. apply (put_vcpu_ms_eq c e (Isolation.Caller_VM cl) mp m _ y Hc ltac:(lia) Hnth Hlv ltac:(lia) Hxl).
      unfold y. rewrite init_vcpu_abs. split; [reflexivity|split; [reflexivity|intros; reflexivity]]. }
    split; [reflexivity|]. cbn [exit_effect]. rewrite Z2Nat.id by lia. reflexivity.
Qed.

Lemma psci_cpu_off_ok : forall c e tr cl p m id x1 x2 x3 mem regs, psci_pre c e cl p m ->
  (id =? Abi.PSCIVersion) = false -> (id =? Abi.PSCIFeatures) = false ->
  ((id =? Abi.PSCICPUOn32) || (id =? Abi.PSCICPUOn64)) = false -> (id =? Abi.PSCICPUOff) = true ->
  psci_ok c e tr cl p id x1 x2 x3 mem regs GPSCICPUOff.
Proof.
  intros c e tr cl p m id x1 x2 x3 mem regs (Hc & Hcl & Hm & _ & Ht & _) E1 E2 E3 E4.
  pose proof Hcl as (Hid & Hnth & Hlv & Hj). pose proof Hc as ((Hvok & _) & _).
  pose proof Hm as (_ & Hnl & _).
  unfold psci_ok. rewrite (guest_call_psci c e cl m mem regs _ Hc Hcl). cbv beta iota.
  pose proof (cpuOff_run e tr cl p m _ id x1 x2 x3 Ht ltac:(lia) E1 E2 E3 E4) as (x & Hx & Hrun).
  rewrite Hrun. cbn [st_meta abs_state].
  assert (Hxl : (Z.to_nat (Isolation.Caller_VCPU cl) < length (Isolation.vm_vcpus m))%nat)
    by (apply nth_error_Some; congruence).
  eexists _, _, _, _, _, _. split; [reflexivity|]. split.
  { apply chain_one; [exact Hvok|exact Hnth|]. exact (vcpu_irq_len m _ x Hm Hx). }
  split.
  { intros Hr. apply (runs_ok_put_vcpu e _ m _ _ Hr Hnth Hxl). intros _ _ Hx0.
    rewrite (nth_error_nth _ _ Isolation.zero_vcpu Hx) in Hx0. destruct x as [? ? ? []].
    destruct Hx0 as (A & B & C & _). split; [exact A|]. split; [exact B|]. split; [exact C|]. intros E. discriminate E. }
  split.
  { unfold caller_ctx. apply (ctx_put_vcpu e _ m _ _ _ Hnth). right.
    rewrite (nth_error_nth _ _ Isolation.zero_vcpu Hx). destruct x; reflexivity. }
  split; [reflexivity|]. split.
  { cbn [st_meta]. unfold stop_vcpu.
    apply (put_vcpu_ms_eq c e (Isolation.Caller_VM cl) _ m _ _ Hc ltac:(lia) Hnth Hlv Hj Hxl).
    rewrite off_vcpu_abs, (vcpu_of_abs c e (Isolation.Caller_VM cl) _ m x ltac:(lia) Hnth Hlv Hj Hx).
    split; [reflexivity|split; [reflexivity|intros; reflexivity]]. }
  split; [reflexivity|]. cbn [exit_effect]. rewrite Z2Nat.id by lia. reflexivity.
Qed.

Lemma psci_affinity_ok : forall c e tr cl p m id x1 x2 x3 mem regs, psci_pre c e cl p m ->
  (id =? Abi.PSCIVersion) = false -> (id =? Abi.PSCIFeatures) = false ->
  ((id =? Abi.PSCICPUOn32) || (id =? Abi.PSCICPUOn64)) = false -> (id =? Abi.PSCICPUOff) = false ->
  ((id =? Abi.PSCIAffinityInfo32) || (id =? Abi.PSCIAffinityInfo64)) = true ->
  0 <= x1 < 2 ^ 64 -> 0 <= x2 < 2 ^ 64 ->
  psci_ok c e tr cl p id x1 x2 x3 mem regs (GPSCIAffinityInfo (Z.to_nat (psci_arg id x1)) (Z.to_nat (psci_arg id x2))).
Proof.
  intros c e tr cl p m id x1 x2 x3 mem regs (Hc & Hcl & Hm & Hn & Ht & _) E1 E2 E3 E4 E5 Hx1 Hx2.
  pose proof Hcl as (Hid & Hnth & Hlv & Hj). pose proof Hm as (_ & Hnl & _).
  unfold psci_ok. rewrite (guest_call_psci c e cl m mem regs _ Hc Hcl). cbv beta iota.
  unfold Isolation.Engine_guestPSCI. cbv zeta. rewrite E1, E2, E3, E4, E5.
  CodeShadow.step_by (psci32_arg e tr id x1). CodeShadow.step_by (psci32_arg e tr id x2).
  pose proof (psci_arg_range id x1 Hx1) as Hmp. pose proof (psci_arg_range id x2 Hx2) as Hlvl.
  set (mp := psci_arg id x1) in *. set (lvl := psci_arg id x2) in *.
  CodeShadow.step_by (affinityInfo_run p e m _ tr mp lvl Ht Hm Hmp Hn).
  unfold psci_affinity_info. cbv zeta. cbn [st_meta abs_state].
  assert (Hvs : vm_vcpus (ms_vms (abs_ms c e) (Z.to_nat (Isolation.Caller_VM cl))) = Z.to_nat (Isolation.vm_nvcpu m))
    by (rewrite (slot_vm c e (Isolation.Caller_VM cl) m ltac:(lia) Hnth); unfold abs_vm; rewrite Hlv; reflexivity).
  rewrite Hvs.
  destruct (Z.eqb_spec lvl 0) as [L0|L0]; cbn [andb].
  2:{ replace (negb (Z.to_nat lvl =? 0)%nat) with true by (symmetry; apply negb_true_iff, Nat.eqb_neq; lia).
      psci_same. }
  rewrite L0. cbn [Z.to_nat Nat.eqb negb].
  destruct (Z.ltb_spec mp (Isolation.vm_nvcpu m)) as [L|L].
  2:{ replace (Z.to_nat (Isolation.vm_nvcpu m) <=? Z.to_nat mp)%nat with true by (symmetry; apply Nat.leb_le; lia).
      psci_same. }
  replace (Z.to_nat (Isolation.vm_nvcpu m) <=? Z.to_nat mp)%nat with false by (symmetry; apply Nat.leb_gt; lia).
  destruct (nth_error (Isolation.vm_vcpus m) (Z.to_nat mp)) as [x|] eqn:Hx;
    [|apply nth_error_None in Hx; unfold len in Hnl; lia].
  rewrite (vcpu_of_abs c e (Isolation.Caller_VM cl) mp m x ltac:(lia) Hnth Hlv ltac:(lia) Hx).
  rewrite (nth_error_nth _ _ Isolation.zero_vcpu Hx).
  destruct (Z.eqb_spec (Isolation.vcpu_state x) Isolation.VCPUOff) as [Off|On].
  - rewrite (abs_off x Off).
    psci_same.
  - pose proof (abs_not_off x On) as (st & -> & Hst).
    destruct st; [contradiction| | |];
      psci_same.
Qed.

(** SYSTEM_OFF's vCPUs, Off, keep their contexts. *)
Lemma system_runs_ok : forall e i m, nth_error (Isolation.Engine_vms e) i = Some m -> vm_ok m ->
  runs_ok e -> runs_ok (put_vm e i (Isolation.set_vm_vcpus (offs (Z.to_nat (Isolation.vm_nvcpu m)) (Isolation.vm_vcpus m)) m)).
Proof.
  intros e i m Hn (_ & Hnl & _) Hr. apply (runs_ok_put_vm e i m _ Hr Hn); [destruct m; reflexivity|destruct m; reflexivity|].
  intros _ j Hj (A & B & C & _). replace (Isolation.vm_vcpus (Isolation.set_vm_vcpus _ m))
    with (offs (Z.to_nat (Isolation.vm_nvcpu m)) (Isolation.vm_vcpus m)) by (destruct m; reflexivity).
  rewrite offs_nth_lt by (unfold len in Hnl; lia). destruct (nth _ _ _) as [? ? ? []].
  split; [exact A|]. split; [exact B|]. split; [exact C|]. intros E. discriminate E.
Qed.

Lemma psci_system_ok : forall c e tr cl p m id x1 x2 x3 mem regs, psci_pre c e cl p m ->
  (id =? Abi.PSCIVersion) = false -> (id =? Abi.PSCIFeatures) = false ->
  ((id =? Abi.PSCICPUOn32) || (id =? Abi.PSCICPUOn64)) = false -> (id =? Abi.PSCICPUOff) = false ->
  ((id =? Abi.PSCIAffinityInfo32) || (id =? Abi.PSCIAffinityInfo64)) = false ->
  (id = Abi.PSCISystemOff \/ id = Abi.PSCISystemReset) ->
  psci_ok c e tr cl p id x1 x2 x3 mem regs (if id =? Abi.PSCISystemOff then GPSCISystemOff else GPSCISystemReset).
Proof.
  intros c e tr cl p m id x1 x2 x3 mem regs (Hc & Hcl & Hm & _ & Ht & _) E1 E2 E3 E4 E5 Hid'.
  pose proof Hcl as (Hid & Hnth & Hlv & Hj). pose proof Hc as ((Hvok & _) & _). pose proof Hm as (_ & Hnl & _).
  unfold psci_ok. rewrite (guest_call_psci c e cl m mem regs _ Hc Hcl).
  rewrite (system_off_run e tr cl p m _ id x1 x2 x3 Ht Hnth Hm E1 E2 E3 E4 E5).
  assert (Hch : vcpu_chain e (put_vm e (Z.to_nat (Isolation.Caller_VM cl - 1))
    (Isolation.set_vm_vcpus (offs (Z.to_nat (Isolation.vm_nvcpu m)) (Isolation.vm_vcpus m)) m)))
    by (apply chain_offs; [exact Hvok|exact Hnth|unfold len in Hnl; lia]).
  pose proof (system_ms_eq c e (Isolation.Caller_VM cl) m Hc ltac:(lia) Hnth Hlv Hm) as Heq.
  assert (Hctx : caller_ctx (put_vm e (Z.to_nat (Isolation.Caller_VM cl - 1))
    (Isolation.set_vm_vcpus (offs (Z.to_nat (Isolation.vm_nvcpu m)) (Isolation.vm_vcpus m)) m)) cl = caller_ctx e cl).
  { unfold caller_ctx. rewrite (nth_error_nth _ _ Isolation.zero_vm (vms_put_vm e (Z.to_nat (Isolation.Caller_VM cl - 1)) _ ltac:(apply nth_error_Some; congruence))).
    rewrite (nth_error_nth _ _ Isolation.zero_vm Hnth).
    replace (Isolation.vm_vcpus (Isolation.set_vm_vcpus _ m)) with (offs (Z.to_nat (Isolation.vm_nvcpu m)) (Isolation.vm_vcpus m))
      by (destruct m; reflexivity).
    rewrite offs_nth_lt by (unfold len in Hnl; lia). destruct (nth _ _ _); reflexivity. }
  destruct Hid' as [->| ->]; cbv beta iota; cbn [Z.eqb Pos.eqb];
    (eexists _, _, _, _, _, _; split; [reflexivity|]; split; [exact Hch|]; split; [exact (system_runs_ok e _ m Hnth Hm)|];
     split; [exact Hctx|]; split; [reflexivity|];
     split; [exact Heq|]; split; reflexivity).
Qed.

(** The function ids left when none of the others matched. *)
Lemma psci_system_ids : forall id, In id guest_psci_ids ->
  (id =? Abi.PSCIVersion) = false -> (id =? Abi.PSCIFeatures) = false ->
  ((id =? Abi.PSCICPUOn32) || (id =? Abi.PSCICPUOn64)) = false -> (id =? Abi.PSCICPUOff) = false ->
  ((id =? Abi.PSCIAffinityInfo32) || (id =? Abi.PSCIAffinityInfo64)) = false ->
  id = Abi.PSCISystemOff \/ id = Abi.PSCISystemReset.
Proof.
  intros id H E1 E2 E3 E4 E5. repeat destruct H as [<-|H]; try discriminate; auto; destruct H.
Qed.

(** So a guest's PSCI call through the dispatcher, from a vCPU of a live
    VM with at most 256 vCPUs (Config.validate's MaxVCPUsLimit), one
    marked On (as VCPU_RUN marks the vCPU before it handles its trap),
    from [refine_inv], for arguments below 2^64: it never fails, keeps
    x1..x3, the caller's context, [refine_inv] and [Inv], answers in x0 the code of
    the model's PSCI result and reports the model's exit, and the model's
    metadata after the model's call is the abstraction of the engine after
    it. *)
Theorem guestCallRegs_psci : forall c e tr cl m x0 x1 x2 x3 mem regs, refine_inv c e -> live_caller e cl m ->
  Isolation.vcpu_state (nth (Z.to_nat (Isolation.Caller_VCPU cl)) (Isolation.vm_vcpus m) Isolation.zero_vcpu) =
    Isolation.VCPUOn ->
  Isolation.vm_nvcpu m <= 256 -> In (wrapu 32 x0) guest_psci_ids ->
  0 <= x1 < 2 ^ 64 -> 0 <= x2 < 2 ^ 64 ->
  exists r eff e' s' ret ex,
    Isolation.Engine_guestCallRegs root cl x0 x1 x2 x3 e tr = Ok (r, x1, x2, x3, eff) e' tr /\
    refine_inv c e' /\ caller_ctx e' cl = caller_ctx e cl /\ Isolation.Engine_plat e' = Isolation.Engine_plat e /\
    guest_call c (abs_state c e mem regs) (Z.to_nat (Isolation.Caller_VM cl)) (Z.to_nat (Isolation.Caller_VCPU cl))
      (psci_gcall (wrapu 32 x0) x1 x2 x3) = (s', OPSCI ret ex) /\
    ms_eq (st_meta s') (abs_ms c e') /\ r = psci_code ret /\ eff = exit_effect ex /\
    (Inv c (abs_ms c e) -> Inv c (abs_ms c e')) /\ (runs_ok e -> runs_ok e') /\ (host_lv3 c e -> host_lv3 c e').
Proof.
  intros c e tr cl m x0 x1 x2 x3 mem regs R Hcl Hidle Hn Hf Hx1 Hx2.
  pose proof (guestCallRegs_is_psci e tr cl m x0 x1 x2 x3 Hcl Hf) as (p & Ht & ->).
  pose proof R as (Hc & _). pose proof Hc as ((Hvok & _) & _). pose proof Hcl as (_ & Hnth & _).
  pose proof (vm_ok_at _ _ m Hvok Hnth) as Hm.
  assert (Hpre : psci_pre c e cl p m) by exact (conj Hc (conj Hcl (conj Hm (conj Hn (conj Ht Hidle))))).
  set (id := wrapu 32 x0) in *.
  assert (Hok : psci_ok c e tr cl p id x1 x2 x3 mem regs (psci_gcall id x1 x2 x3)).
  { unfold psci_gcall.
    destruct (id =? Abi.PSCIVersion) eqn:E1; [exact (psci_version_ok c e tr cl p m id x1 x2 x3 mem regs Hpre E1)|].
    destruct (id =? Abi.PSCIFeatures) eqn:E2; [exact (psci_features_ok c e tr cl p m id x1 x2 x3 mem regs Hpre E1 E2)|].
    destruct ((id =? Abi.PSCICPUOn32) || (id =? Abi.PSCICPUOn64)) eqn:E3;
      [exact (psci_cpu_on_ok c e tr cl p m id x1 x2 x3 mem regs Hpre E1 E2 E3 Hx1)|].
    destruct (id =? Abi.PSCICPUOff) eqn:E4; [exact (psci_cpu_off_ok c e tr cl p m id x1 x2 x3 mem regs Hpre E1 E2 E3 E4)|].
    destruct ((id =? Abi.PSCIAffinityInfo32) || (id =? Abi.PSCIAffinityInfo64)) eqn:E5;
      [exact (psci_affinity_ok c e tr cl p m id x1 x2 x3 mem regs Hpre E1 E2 E3 E4 E5 Hx1 Hx2)|].
    exact (psci_system_ok c e tr cl p m id x1 x2 x3 mem regs Hpre E1 E2 E3 E4 E5
      (psci_system_ids id Hf E1 E2 E3 E4 E5)). }
  destruct Hok as (r & eff & e' & s' & ret' & ex & Hrun & Hch & Hro & Hctx & Hg & Heq & Hr & Heff).
  exists r, eff, e', s', ret', ex. split; [CodeShadow.step_by Hrun; reflexivity|].
  split; [exact (chain_refine_inv c e e' R Hch)|]. split; [exact Hctx|]. split; [exact (chain_plat e e' Hch)|]. split; [exact Hg|]. split; [exact Heq|].
  split; [exact Hr|]. split; [exact Heff|].
  split; [|split; [exact Hro|intros H; exact (chain_stable _ e e' (host_lv3_stable c) H Hch)]].
  intros I. apply (Inv_ms_eq c _ _ Heq).
  pose proof (Invariants.step_inv c (abs_state c e mem regs)
    (AGuest (Z.to_nat (Isolation.Caller_VM cl)) (Z.to_nat (Isolation.Caller_VCPU cl)) (psci_gcall id x1 x2 x3)) I) as Hs.
  cbn [Spec.step fst] in Hs. rewrite Hg in Hs. exact Hs.
Qed.
