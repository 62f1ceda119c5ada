(** * The exit filtering never fails and tells the host what the model does

    Theorems about proofs/code/Isolation.v, the translation of
    isolation/exit.go ([FilterTrap] and what it calls), for a trap and a
    vCPU's 31 general registers reached through any place. Proved here:
    - [FilterTrap] never fails, leaves the trace as it was, changes the
      registers only by zeroing the destination register of a system
      register read it emulates, and decides with an exit record of seven
      words and, for an MMIO read, a register of the file or XZR
      ([FilterTrap_no_failure], [decision_ok]);
    - the record of an MMIO exit it builds for an emulatable access is the
      model's [Spec.exit_of] of that access: the IPA, the access word
      ([Spec.mmio_access]) and, for a write, the source register masked to
      the access size, zero for XZR ([Spec.mmio_write_value]); for a
      read, no value ([mmioDecision_exit]). *)
From Coq Require Import ZArith Lia List Bool.
From Bulkhead.Spec Require Import State Spec.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodeLens CodeTrack CodeVCPU CodeShadow CodeLedger CodeStage2 CodeVMCreate CodeExitRegs.
Import ListNotations.
Open Scope Z_scope.

(** What [apply] reads of a decision: an exit record of seven words and,
    for an MMIO read, a register of the file or XZR (31). *)
Definition decision_ok (d : Isolation.Decision) : Prop :=
  len (Isolation.Decision_Exit d) = 7 /\ 0 <= Isolation.MMIORead_Reg (Isolation.Decision_Read d) <= 31.

Ltac decision_ok := split; [reflexivity|cbn; lia].

Section Filter.
Context {S : Type} (x : ptr S (list Z)) (valid : S -> Prop) (get : S -> list Z) (set : list Z -> S -> S).
Context (Lx : lens x valid get set).

(** [mmioDecision] never fails, and its exit record is the IPA, the
    access word and, for a write from a register other than XZR, that
    register masked to the access size. *)
Theorem mmioDecision_exit : forall s tr esr ipa, valid s -> len (get s) = 31 -> 0 <= esr ->
  let sas := Z.land (shr esr Isolation.issSASShift) Isolation.issSASMask in
  let reg := Z.land (shr esr Isolation.issSRTShift) Isolation.issSRTMask in
  let write := negb (Z.land esr Isolation.issWnR =? 0) in
  exists d, Isolation.mmioDecision esr ipa x s tr = Ok d s tr /\
    Isolation.Decision_Exit d =
      [Abi.ExitMMIO; ipa; Z.lor (Z.shiftl sas 1) (if write then 1 else 0);
       if write && negb (reg =? 31) then Z.land (nth (Z.to_nat reg) (get s) 0) (Z.ones (8 * 2 ^ sas)) else 0;
       0; 0; 0] /\
    0 <= Isolation.MMIORead_Reg (Isolation.Decision_Read d) <= 31.
Proof.
  intros s tr esr ipa Hv Hl He sas reg write.
  assert (Hsas : 0 <= sas <= 3) by (unfold sas, Isolation.issSASMask, Isolation.issSASShift; pose proof (esr_field esr 22 2 He ltac:(lia) ltac:(lia)); cbn in *; lia).
  assert (Hreg : 0 <= reg <= 31) by (unfold reg, Isolation.issSRTMask, Isolation.issSRTShift; pose proof (esr_field esr 16 5 He ltac:(lia) ltac:(lia)); cbn in *; lia).
  unfold Isolation.mmioDecision. cbv zeta. rewrite orb_false_r.
  fold sas reg write. rewrite (wrapu8_small sas) by lia. rewrite (wrapu8_small reg) by lia.
  assert (Hacc : forall (s0 : S) t0, Abi.MMIOAccess write sas s0 t0 =
                   Ok (Z.lor (Z.shiftl sas 1) (if write then 1 else 0)) s0 t0).
  { intros s0 t0. unfold Abi.MMIOAccess, Abi.AccessSizeShift, Abi.AccessWrite.
    replace (Z.land sas 3) with sas by (unfold sas, Isolation.issSASMask; rewrite <- Z.land_assoc; reflexivity).
    rewrite shl_small by lia. rewrite wrapu_small by (rewrite Z.shiftl_mul_pow2 by lia; lia).
    destruct write; [reflexivity|]. rewrite Z.lor_0_r. reflexivity. }
  clearbody sas reg write.
  destruct (write && negb (reg =? Isolation.xzr)) eqn:Ew.
  - apply andb_true_iff in Ew as [Ewr Er]. apply negb_true_iff, Z.eqb_neq in Er. unfold Isolation.xzr in Er.
    rewrite bind_assoc. CodeShadow.step_by (deref_lens _ _ _ _ s tr Lx Hv).
    rewrite bind_assoc. CodeShadow.step_by (idx_nth (get s) reg (nth (Z.to_nat reg) (get s) 0) s tr ltac:(lia)
      ltac:(apply nth_error_nth'; unfold len in Hl; lia)).
    rewrite bind_assoc. CodeShadow.step_by (sizeMask_spec s tr sas Hsas). CodeShadow.step.
    CodeShadow.step_by (Hacc s tr). unfold Isolation.exitDecision. CodeShadow.step.
    rewrite Ewr. cbn [negb]. eexists. split; [reflexivity|]. split; [|cbn; lia]. cbn.
    replace (reg =? 31) with false by (symmetry; apply Z.eqb_neq; lia). reflexivity.
  - CodeShadow.step. CodeShadow.step_by (Hacc s tr). unfold Isolation.exitDecision. CodeShadow.step.
    assert (Ew' : write && negb (reg =? 31) = false) by exact Ew. rewrite Ew'.
    destruct write; cbn [negb]; eexists; (split; [reflexivity|split; [reflexivity|cbn; lia]]).
Qed.

(** What [FilterTrap] may do to the registers: nothing, or zero one of
    them (the destination of a system register read it emulates). *)
Definition regs_step (s s' : S) : Prop :=
  s' = s \/ exists rt, 0 <= rt < 31 /\ s' = set (replace_nth (Z.to_nat rt) 0 (get s)) s.

Lemma callDecision_ok : forall (s : S) tr esr ec,
  exists d, Isolation.callDecision esr ec s tr = Ok d s tr /\ decision_ok d.
Proof.
  intros s tr esr ec. unfold Isolation.callDecision. cbv zeta.
  destruct (negb _), (ec =? _); eexists; (split; [reflexivity|decision_ok]).
Qed.

Lemma stage2Fault_ok : forall (s : S) tr esr, exists b, Isolation.stage2Fault esr s tr = Ok b s tr.
Proof. intros s tr esr. unfold Isolation.stage2Fault. cbv zeta. destruct (_ || _); eexists; reflexivity. Qed.

Lemma dataAbort_ok : forall s tr t gm, valid s -> len (get s) = 31 -> 0 <= Isolation.Trap_ESR t ->
  exists d, Isolation.dataAbort t x gm s tr = Ok d s tr /\ decision_ok d.
Proof.
  intros s tr t gm Hv Hl He. unfold Isolation.dataAbort, Isolation.faultIPA. cbv zeta. CodeShadow.step.
  set (ipa := Z.lor _ _).
  destruct (inRanges_ok s tr ipa gm) as (b & Hb).
  destruct (_ && _).
  - rewrite bind_assoc. CodeShadow.step_by Hb. CodeShadow.step.
    destruct (mmioDecision_exit s tr (Isolation.Trap_ESR t) ipa Hv Hl He) as (d & Hd & HE & HR).
    destruct (b && _); [eexists; split; [reflexivity|decision_ok]|].
    destruct (b && _); [eexists; split; [reflexivity|decision_ok]|].
    destruct b; [CodeShadow.step_by Hd; eexists; split; [reflexivity|split; [rewrite HE; reflexivity|exact HR]]|].
    destruct (stage2Fault_ok s tr (Isolation.Trap_ESR t)) as (f & Hf). CodeShadow.step_by Hf.
    destruct f; eexists; (split; [reflexivity|decision_ok]).
  - CodeShadow.step. cbn [andb]. destruct (stage2Fault_ok s tr (Isolation.Trap_ESR t)) as (f & Hf).
    CodeShadow.step_by Hf. destruct f; eexists; (split; [reflexivity|decision_ok]).
Qed.

Lemma sysRegAccess_ok : forall s tr esr, valid s -> len (get s) = 31 -> 0 <= esr ->
  exists d s', Isolation.sysRegAccess esr x s tr = Ok d s' tr /\ regs_step s s' /\ decision_ok d.
Proof.
  intros s tr esr Hv Hl He. unfold Isolation.sysRegAccess. cbv zeta.
  assert (Hrt : 0 <= Z.land (shr esr Isolation.sysRegIssRtShift) Isolation.sysRegIssRtMask <= 31)
    by (unfold Isolation.sysRegIssRtMask, Isolation.sysRegIssRtShift; pose proof (esr_field esr 5 5 He ltac:(lia) ltac:(lia));
        cbn in *; lia).
  set (rt := Z.land (shr esr Isolation.sysRegIssRtShift) Isolation.sysRegIssRtMask) in *. clearbody rt.
  destruct (_ =? Isolation.sgi1rWrite).
  - destruct (negb (rt =? Isolation.xzr)) eqn:Er.
    + apply negb_true_iff, Z.eqb_neq in Er. unfold Isolation.xzr in Er.
      rewrite bind_assoc. CodeShadow.step_by (deref_lens _ _ _ _ s tr Lx Hv).
      rewrite bind_assoc. CodeShadow.step_by (idx_nth (get s) rt (nth (Z.to_nat rt) (get s) 0) s tr ltac:(lia)
        ltac:(apply nth_error_nth'; unfold len in Hl; lia)).
      CodeShadow.step. unfold Isolation.exitDecision. CodeShadow.step.
      eexists _, s. split; [reflexivity|split; [left; reflexivity|decision_ok]].
    + CodeShadow.step. unfold Isolation.exitDecision. CodeShadow.step.
      eexists _, s. split; [reflexivity|split; [left; reflexivity|decision_ok]].
  - destruct (negb (_ =? 0)).
    + destruct (negb (rt =? Isolation.xzr)) eqn:Er.
      * apply negb_true_iff, Z.eqb_neq in Er. unfold Isolation.xzr in Er.
        destruct (pindex_lens x valid get set rt 0 Lx) as (q & Hq & Lq).
        rewrite bind_assoc. CodeShadow.step_by (Hq s tr Hv ltac:(lia)).
        assert (Hq' : valid s /\ 0 <= rt < len (get s)) by (split; [exact Hv|lia]).
        rewrite bind_assoc. CodeShadow.step_by (store_lens _ _ _ _ s 0 tr Lq Hq').
        CodeShadow.step. eexists _, _. split; [reflexivity|]. split; [|decision_ok]. right. exists rt. split; [lia|reflexivity].
      * CodeShadow.step. eexists _, s. split; [reflexivity|split; [left; reflexivity|decision_ok]].
    + CodeShadow.step. eexists _, s. split; [reflexivity|split; [left; reflexivity|decision_ok]].
Qed.

(** [FilterTrap] never fails, for any trap whose syndrome is a 64-bit
    value, changes the registers at most by zeroing one, and its decision
    has an exit record of seven words and names a register for an MMIO
    read. *)
Theorem FilterTrap_no_failure : forall s tr t gm, valid s -> len (get s) = 31 -> 0 <= Isolation.Trap_ESR t ->
  exists d s', Isolation.FilterTrap t x gm s tr = Ok d s' tr /\ regs_step s s' /\ decision_ok d.
Proof.
  intros s tr t gm Hv Hl He. unfold Isolation.FilterTrap. cbv zeta.
  destruct (_ || _); [unfold Isolation.exitDecision; CodeShadow.step; eexists _, s; split; [reflexivity|split; [left; reflexivity|decision_ok]]|].
  destruct (_ =? Isolation.TrapSError);
    [unfold Isolation.exitDecision; CodeShadow.step; eexists _, s; split; [reflexivity|split; [left; reflexivity|decision_ok]]|].
  destruct (_ =? Isolation.ecWFx);
    [unfold Isolation.exitDecision; CodeShadow.step; eexists _, s; split; [reflexivity|split; [left; reflexivity|decision_ok]]|].
  destruct (_ || _).
  { destruct (callDecision_ok s tr (Isolation.Trap_ESR t) (Z.land (shr (Isolation.Trap_ESR t) Isolation.esrECShift)
      Isolation.esrECMask)) as (d & Hd & Hok). CodeShadow.step_by Hd. eexists _, s. split; [reflexivity|split; [left; reflexivity|exact Hok]]. }
  destruct (_ =? Isolation.ecDABTLow).
  { destruct (dataAbort_ok s tr t gm Hv Hl He) as (d & Hd & Hok). CodeShadow.step_by Hd.
    eexists _, s. split; [reflexivity|split; [left; reflexivity|exact Hok]]. }
  destruct (_ =? Isolation.ecIABTLow).
  { rewrite bind_assoc. destruct (stage2Fault_ok s tr (Isolation.Trap_ESR t)) as (f & Hf). CodeShadow.step_by Hf.
    destruct f.
    - unfold Isolation.injectDecision. CodeShadow.step. eexists _, s. split; [reflexivity|split; [left; reflexivity|decision_ok]].
    - CodeShadow.step. unfold Isolation.exitDecision. CodeShadow.step. eexists _, s. split; [reflexivity|split; [left; reflexivity|decision_ok]]. }
  destruct (_ =? Isolation.ecSysReg).
  { rewrite bind_assoc. destruct (sysRegAccess_ok s tr (Isolation.Trap_ESR t) Hv Hl He) as (d & s' & Hd & Hs' & Hok).
    CodeShadow.step_by Hd. CodeShadow.step. eexists _, s'. split; [reflexivity|split; [exact Hs'|exact Hok]]. }
  destruct (_ || _).
  - CodeShadow.step. eexists _, s. split; [reflexivity|split; [left; reflexivity|decision_ok]].
  - CodeShadow.step. unfold Isolation.exitDecision. CodeShadow.step. eexists _, s. split; [reflexivity|split; [left; reflexivity|decision_ok]].
Qed.

(** So an MMIO exit tells the host what the model's [exit_of] of the
    access does: the IPA, [mmio_access] of the direction and size, and
    for a write [mmio_write_value] of the registers (as naturals), for a
    read nothing. *)
Corollary mmioDecision_model : forall s tr esr ipa, valid s -> len (get s) = 31 -> 0 <= esr ->
  Forall (fun v => 0 <= v) (get s) ->
  let sas := Z.land (shr esr Isolation.issSASShift) Isolation.issSASMask in
  let reg := Z.land (shr esr Isolation.issSRTShift) Isolation.issSRTMask in
  let write := negb (Z.land esr Isolation.issWnR =? 0) in
  let regs := fun r => Z.to_nat (nth r (get s) 0) in
  exists d, Isolation.mmioDecision esr ipa x s tr = Ok d s tr /\
    Isolation.Decision_Exit d =
      [Abi.ExitMMIO; ipa; Z.of_nat (mmio_access write (Z.to_nat sas));
       Z.of_nat (if write then mmio_write_value regs (Z.to_nat sas) (Z.to_nat reg) else 0); 0; 0; 0].
Proof.
  intros s tr esr ipa Hv Hl He Hpos sas reg write regs.
  assert (Hsas : 0 <= sas <= 3) by (unfold sas, Isolation.issSASMask, Isolation.issSASShift; pose proof (esr_field esr 22 2 He ltac:(lia) ltac:(lia)); cbn in *; lia).
  assert (Hreg : 0 <= reg <= 31) by (unfold reg, Isolation.issSRTMask, Isolation.issSRTShift; pose proof (esr_field esr 16 5 He ltac:(lia) ltac:(lia)); cbn in *; lia).
  destruct (mmioDecision_exit s tr esr ipa Hv Hl He) as (d & Hd & Hex & _). fold sas reg write in Hex.
  exists d. split; [exact Hd|]. rewrite Hex. clearbody sas reg write.
  assert (Hm : (Z.to_nat sas mod 4 = Z.to_nat sas)%nat) by (apply Nat.mod_small; lia).
  assert (Ea : Z.lor (Z.shiftl sas 1) (if write then 1 else 0) = Z.of_nat (mmio_access write (Z.to_nat sas))).
  { assert (sas = 0 \/ sas = 1 \/ sas = 2 \/ sas = 3) as [-> | [-> | [-> | ->]]] by lia;
      destruct write; reflexivity. }
  assert (Ev : (if write && negb (reg =? 31) then Z.land (nth (Z.to_nat reg) (get s) 0) (Z.ones (8 * 2 ^ sas)) else 0) =
               Z.of_nat (if write then mmio_write_value regs (Z.to_nat sas) (Z.to_nat reg) else 0)).
  { destruct write; cbn [andb negb]; [|reflexivity].
    unfold mmio_write_value, xzr. rewrite Hm.
    destruct (Z.eqb_spec reg 31) as [->|Hne]; cbn [negb]; [reflexivity|].
    replace (Z.to_nat reg =? 31)%nat with false by (symmetry; apply Nat.eqb_neq; lia).
    assert (Hv0 : 0 <= nth (Z.to_nat reg) (get s) 0).
    { destruct (nth_in_or_default (Z.to_nat reg) (get s) 0) as [H|H]; [|rewrite H; lia].
      rewrite Forall_forall in Hpos. exact (Hpos _ H). }
    unfold regs. rewrite Z.land_ones by lia.
    rewrite Nat2Z.inj_mod, Z2Nat.id by lia. rewrite Nat2Z.inj_pow, Nat2Z.inj_mul, Nat2Z.inj_pow, Z2Nat.id by lia.
    reflexivity. }
  rewrite Ea, Ev. reflexivity.
Qed.

End Filter.
