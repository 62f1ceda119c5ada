(** * The exit filter tells the host only what the trap releases

    Theorems about proofs/code/Isolation.v, the translation of
    isolation/exit.go and isolation/sysreg.go ([FilterTrap] and what it
    calls), for a trap and a vCPU's 31 general registers reached through
    any place. The decision is what VCPU_RUN hands the host of a trap the
    engine does not handle itself, so it is where a guest's registers
    could reach the hypervisor. Proved here, the registers' half of
    noninterference for the exit filter ([Noninterference.declass] of an
    exit, [trap_agree], read on the Go code):
    - two register files that agree on what the trap releases
      ([filter_agree]) — for an MMIO write the filter emulates
      ([mmio_emulated]), the source register masked to the access size
      (Arm ARM D23.2, ESR_EL2, ISS of a Data Abort: WnR, SRT, SAS); for a
      write of ICC_SGI1R_EL1, the fields of the source register an SGI
      exit carries (GIC IHI 0069, 12.11.27) — and may differ everywhere
      else, get the same decision from [FilterTrap], the same trace, and
      the same change to their registers: none, or the zeroing of the
      same one ([FilterTrap_released]; [FilterTrap_src] for registers
      equal at [filter_src]);
    - so an MMIO read, any other data abort, a trapped call, WFI/WFE, an
      instruction abort, an interrupt or an SError tell the host nothing
      of any register;
    - a call the engine forwards to the host leaves in a CALL exit whose
      record is the function ID (the low 32 bits of x0) and x1..x5, as
      the model releases of a call, nothing of x6..x30
      ([CallExit_val]).
    [Range_Contains] and [inRanges] answer from their arguments alone
    (CodeShadow.inRanges_val), which is what lets both runs take the same
    path. CodeExitModel reads [filter_agree] off the model's [trap_agree]. *)
From Coq Require Import ZArith Lia List Bool.
From Bulkhead.Spec Require Import State Spec.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodeLens CodeVCPU CodeShadow CodeStage2.
Import ListNotations.
Open Scope Z_scope.

Section Released.
Context {S : Type} (x : ptr S (list Z)) (valid : S -> Prop) (get : S -> list Z) (set : list Z -> S -> S).
Context (Lx : lens x valid get set).

(** The access size field of an ESR is 0 to 3, and [sizeMask] of it the
    mask of that many bytes' bits. *)
Lemma sizeMask_spec : forall (s : S) tr l, 0 <= l <= 3 ->
  Isolation.sizeMask l s tr = Ok (Z.ones (8 * 2 ^ l)) s tr.
Proof.
  intros s tr l Hl. assert (l = 0 \/ l = 1 \/ l = 2 \/ l = 3) as [-> | [-> | [-> | ->]]] by lia; reflexivity.
Qed.

Lemma wrapu8_small : forall z, 0 <= z < 256 -> wrapu 8 z = z.
Proof. intros z Hz. unfold wrapu. apply Z.mod_small. lia. Qed.

(** A field of [w] bits of a 64-bit syndrome, from bit [k]. *)
Lemma esr_field : forall esr k w, 0 <= esr -> 0 <= k < 64 -> 0 <= w -> 0 <= Z.land (shr esr k) (Z.ones w) < 2 ^ w.
Proof.
  intros esr k w He Hk Hw. unfold shr. replace (64 <=? k) with false by (symmetry; apply Z.leb_gt; lia).
  exact (land_ones_bound (Z.shiftr esr k) w Hw).
Qed.

(** Split on every test left in the goal: tests of the trap alone. *)
Ltac branches := repeat match goal with |- context [if ?c then _ else _] => destruct c end.

(** Two runs side by side: take the step of the run from state [s] by
    [H], or by computing it. *)
Ltac step_at s H := erewrite (bind_ok _ _ s) by (exact H); cbv beta iota zeta.
Ltac pure_at s := erewrite (bind_ok _ _ s) by reflexivity; cbv beta iota zeta.

(** The exception class of a syndrome (Arm ARM D23.2, ESR_EL2.EC). *)
Definition esr_ec (esr : Z) : Z := Z.land (shr esr Isolation.esrECShift) Isolation.esrECMask.

(** What an MMIO write releases: its source register (ISS.SRT) masked to
    the access size (ISS.SAS); a read releases nothing. *)
Definition mmio_agree (esr : Z) (f g : list Z) : Prop :=
  Z.land esr Isolation.issWnR <> 0 ->
  let reg := Z.to_nat (Z.land (shr esr Isolation.issSRTShift) Isolation.issSRTMask) in
  let mask := Z.ones (8 * 2 ^ Z.land (shr esr Isolation.issSASShift) Isolation.issSASMask) in
  Z.land (nth reg f 0) mask = Z.land (nth reg g 0) mask.

(** What a write of ICC_SGI1R_EL1 releases: the fields of its source
    register (Rt) that name the SGI and its targets. *)
Definition sgi_fields_agree (esr : Z) (f g : list Z) : Prop :=
  Z.land esr Isolation.sysRegIssRegMask = Isolation.sgi1rWrite ->
  let rt := Z.to_nat (Z.land (shr esr Isolation.sysRegIssRtShift) Isolation.sysRegIssRtMask) in
  Z.land (nth rt f 0) Isolation.sgi1rFields = Z.land (nth rt g 0) Isolation.sgi1rFields.

(** The IPA of a stage-2 fault (HPFAR_EL2.FIPA and the page offset from
    FAR_EL2), as [faultIPA] computes it. *)
Definition fault_ipa (t : Isolation.Trap) : Z :=
  Z.lor (shl 64 false (Z.land (Isolation.Trap_HPFAR t) Isolation.hpfarFIPAMask) 8)
    (Z.land (Isolation.Trap_FAR t) Isolation.pageMask).

(** A data abort the filter emulates as an MMIO access: a stage-2
    translation fault, not on a stage-1 walk, inside a guest MMIO window,
    not a cache maintenance, with a valid syndrome (ISV). *)
Definition mmio_emulated (t : Isolation.Trap) (gm : list Isolation.Range) : bool :=
  let esr := Isolation.Trap_ESR t in
  ((Z.land esr Isolation.fscTypeMask =? Isolation.fscTranslation) && (Z.land esr Isolation.issS1PTW =? 0)) &&
  existsb (range_has (fault_ipa t)) gm && (Z.land esr Isolation.issCM =? 0) && negb (Z.land esr Isolation.issISV =? 0).

(** Two register files agree on what trap [t] releases, with guest MMIO
    windows [gm]: an emulated MMIO write, or an SGI write; any other trap
    releases nothing. *)
Definition filter_agree (t : Isolation.Trap) (gm : list Isolation.Range) (f g : list Z) : Prop :=
  (esr_ec (Isolation.Trap_ESR t) = Isolation.ecDABTLow -> mmio_emulated t gm = true ->
     mmio_agree (Isolation.Trap_ESR t) f g) /\
  (esr_ec (Isolation.Trap_ESR t) = Isolation.ecSysReg -> sgi_fields_agree (Isolation.Trap_ESR t) f g).

(** Reading register [r] of the file, as the translation does it: the
    file, then its element, then what the read value is for. *)
Lemma read_reg : forall {A B} s tr r (k : Z -> M S A) (k' : A -> M S B), valid s -> len (get s) = 31 -> 0 <= r < 31 ->
  bind (deref x) (fun f => bind (bind (idx f r) k) k') s tr = bind (k (nth (Z.to_nat r) (get s) 0)) k' s tr.
Proof.
  intros A B s tr r k k' Hv Hl Hr. step_by (deref_lens _ _ _ _ s tr Lx Hv). rewrite bind_assoc.
  step_by (idx_nth (get s) r (nth (Z.to_nat r) (get s) 0) s tr ltac:(lia)
    ltac:(apply nth_error_nth'; unfold len in Hl; lia)).
  reflexivity.
Qed.

(** [mmioDecision] reads only what an MMIO write releases. *)
Lemma mmioDecision_agree : forall s1 s2 tr esr ipa, valid s1 -> valid s2 -> len (get s1) = 31 -> len (get s2) = 31 ->
  0 <= esr -> mmio_agree esr (get s1) (get s2) ->
  exists d, Isolation.mmioDecision esr ipa x s1 tr = Ok d s1 tr /\ Isolation.mmioDecision esr ipa x s2 tr = Ok d s2 tr.
Proof.
  intros s1 s2 tr esr ipa Hv1 Hv2 Hl1 Hl2 He Ha. unfold mmio_agree in Ha.
  assert (Hsas : 0 <= Z.land (shr esr Isolation.issSASShift) Isolation.issSASMask <= 3)
    by (unfold Isolation.issSASMask, Isolation.issSASShift; pose proof (esr_field esr 22 2 He ltac:(lia) ltac:(lia)); cbn in *; lia).
  assert (Hreg : 0 <= Z.land (shr esr Isolation.issSRTShift) Isolation.issSRTMask <= 31)
    by (unfold Isolation.issSRTMask, Isolation.issSRTShift; pose proof (esr_field esr 16 5 He ltac:(lia) ltac:(lia)); cbn in *; lia).
  unfold Isolation.mmioDecision. cbv zeta. rewrite orb_false_r, !wrapu8_small by lia.
  set (sas := Z.land (shr esr Isolation.issSASShift) Isolation.issSASMask) in *.
  set (reg := Z.land (shr esr Isolation.issSRTShift) Isolation.issSRTMask) in *.
  destruct (negb (Z.land esr Isolation.issWnR =? 0) && negb (reg =? Isolation.xzr)) eqn:Ew.
  - apply andb_true_iff in Ew as [Ewr Er]. apply negb_true_iff, Z.eqb_neq in Er. unfold Isolation.xzr in Er.
    rewrite !bind_assoc, (read_reg s1 tr reg _ _ Hv1 Hl1 ltac:(lia)), (read_reg s2 tr reg _ _ Hv2 Hl2 ltac:(lia)).
    rewrite !bind_assoc. step_at s1 (sizeMask_spec s1 tr sas Hsas). step_at s2 (sizeMask_spec s2 tr sas Hsas).
    rewrite Ewr. apply negb_true_iff, Z.eqb_neq in Ewr. rewrite (Ha Ewr).
    unfold Abi.MMIOAccess, Isolation.exitDecision. cbn. eexists. split; reflexivity.
  - unfold Abi.MMIOAccess, Isolation.exitDecision. destruct (negb _); cbn; eexists; split; reflexivity.
Qed.

(** What the filter may do to the registers of either run: the same thing,
    nothing or zeroing the same register. *)
Definition zero_reg (rt : Z) (s : S) : S := set (replace_nth (Z.to_nat rt) 0 (get s)) s.

Definition same_change (s1 s2 s1' s2' : S) : Prop :=
  (s1' = s1 /\ s2' = s2) \/ exists rt, 0 <= rt < 31 /\ s1' = zero_reg rt s1 /\ s2' = zero_reg rt s2.

(** [sysRegAccess] reads only what an SGI write releases, and zeroes the
    destination of an emulated read in both runs alike. *)
Lemma sysRegAccess_agree : forall s1 s2 tr esr, valid s1 -> valid s2 -> len (get s1) = 31 -> len (get s2) = 31 ->
  0 <= esr -> sgi_fields_agree esr (get s1) (get s2) ->
  exists d s1' s2', Isolation.sysRegAccess esr x s1 tr = Ok d s1' tr /\ Isolation.sysRegAccess esr x s2 tr = Ok d s2' tr /\
    same_change s1 s2 s1' s2'.
Proof.
  intros s1 s2 tr esr Hv1 Hv2 Hl1 Hl2 He Ha. unfold sgi_fields_agree in Ha. unfold Isolation.sysRegAccess. cbv zeta.
  assert (Hrt : 0 <= Z.land (shr esr Isolation.sysRegIssRtShift) Isolation.sysRegIssRtMask <= 31)
    by (unfold Isolation.sysRegIssRtMask, Isolation.sysRegIssRtShift; pose proof (esr_field esr 5 5 He ltac:(lia) ltac:(lia));
        cbn in *; lia).
  set (rt := Z.land (shr esr Isolation.sysRegIssRtShift) Isolation.sysRegIssRtMask) in *. clearbody rt.
  destruct (_ =? Isolation.sgi1rWrite) eqn:Es.
  - apply Z.eqb_eq in Es. specialize (Ha Es).
    destruct (negb (rt =? Isolation.xzr)) eqn:Er.
    + apply negb_true_iff, Z.eqb_neq in Er. unfold Isolation.xzr in Er.
      rewrite !bind_assoc, (read_reg s1 tr rt _ _ Hv1 Hl1 ltac:(lia)), (read_reg s2 tr rt _ _ Hv2 Hl2 ltac:(lia)).
      cbv beta. rewrite Ha. unfold Isolation.exitDecision. cbn. eexists _, s1, s2. split; [reflexivity|split; [reflexivity|left; split; reflexivity]].
    + unfold Isolation.exitDecision. cbn. eexists _, s1, s2. split; [reflexivity|split; [reflexivity|left; split; reflexivity]].
  - destruct (negb (_ =? 0)).
    + destruct (negb (rt =? Isolation.xzr)) eqn:Er.
      * apply negb_true_iff, Z.eqb_neq in Er. unfold Isolation.xzr in Er.
        destruct (pindex_lens x valid get set rt 0 Lx) as (q & Hq & Lq).
        rewrite !bind_assoc. step_at s1 (Hq s1 tr Hv1 ltac:(lia)). step_at s2 (Hq s2 tr Hv2 ltac:(lia)).
        rewrite !bind_assoc.
        assert (Hq1 : valid s1 /\ 0 <= rt < len (get s1)) by (split; [exact Hv1|lia]).
        assert (Hq2 : valid s2 /\ 0 <= rt < len (get s2)) by (split; [exact Hv2|lia]).
        step_at s1 (store_lens _ _ _ _ s1 0 tr Lq Hq1). step_at s2 (store_lens _ _ _ _ s2 0 tr Lq Hq2).
        cbn. eexists _, _, _. split; [reflexivity|split; [reflexivity|right]]. exists rt. split; [lia|split; reflexivity].
      * cbn. eexists _, s1, s2. split; [reflexivity|split; [reflexivity|left; split; reflexivity]].
    + cbn. eexists _, s1, s2. split; [reflexivity|split; [reflexivity|left; split; reflexivity]].
Qed.

(** [dataAbort] decides the same for both: whether the IPA is a guest MMIO
    window comes from the trap alone ([inRanges_val]), and it reads a
    register only for an MMIO access it emulates. *)
Lemma dataAbort_agree : forall s1 s2 tr t gm, valid s1 -> valid s2 -> len (get s1) = 31 -> len (get s2) = 31 ->
  0 <= Isolation.Trap_ESR t -> (mmio_emulated t gm = true -> mmio_agree (Isolation.Trap_ESR t) (get s1) (get s2)) ->
  exists d, Isolation.dataAbort t x gm s1 tr = Ok d s1 tr /\ Isolation.dataAbort t x gm s2 tr = Ok d s2 tr.
Proof.
  intros s1 s2 tr t gm Hv1 Hv2 Hl1 Hl2 He Ha. unfold Isolation.dataAbort, Isolation.faultIPA. cbv zeta.
  change (Z.lor _ _) with (fault_ipa t).
  unfold Isolation.stage2Fault, Isolation.injectDecision, Isolation.exitDecision.
  destruct (_ && _) eqn:Et.
  - pure_at s1. pure_at s2. rewrite !bind_assoc.
    step_at s1 (inRanges_val s1 tr (fault_ipa t) gm). step_at s2 (inRanges_val s2 tr (fault_ipa t) gm).
    destruct (existsb _ _) eqn:Ein; pure_at s1; pure_at s2; cbn [andb].
    + destruct (negb (Z.land (Isolation.Trap_ESR t) Isolation.issCM =? 0)) eqn:Ecm; [cbn; eexists; split; reflexivity|].
      destruct (Z.land (Isolation.Trap_ESR t) Isolation.issISV =? 0) eqn:Eisv; [cbn; eexists; split; reflexivity|].
      assert (Hem : mmio_emulated t gm = true).
      { unfold mmio_emulated. rewrite Et, Ein. apply negb_false_iff in Ecm. rewrite Ecm, Eisv. reflexivity. }
      destruct (mmioDecision_agree s1 s2 tr _ (fault_ipa t) Hv1 Hv2 Hl1 Hl2 He (Ha Hem)) as (d & H1 & H2).
      step_at s1 H1. step_at s2 H2. cbn. eexists; split; reflexivity.
    + branches; cbn; eexists; split; reflexivity.
  - cbn [andb]. branches; cbn; eexists; split; reflexivity.
Qed.

(** Both runs leave their registers as they were. *)
Ltac unchanged s1 s2 := cbn; eexists _, s1, s2; split; [reflexivity|split; [reflexivity|left; split; reflexivity]].

(** The registers' half of noninterference for the exit filter: two
    register files that agree on what the trap releases get the same
    decision, the same trace and the same change. *)
Theorem FilterTrap_released : forall s1 s2 tr t gm, valid s1 -> valid s2 -> len (get s1) = 31 -> len (get s2) = 31 ->
  0 <= Isolation.Trap_ESR t -> filter_agree t gm (get s1) (get s2) ->
  exists d s1' s2', Isolation.FilterTrap t x gm s1 tr = Ok d s1' tr /\ Isolation.FilterTrap t x gm s2 tr = Ok d s2' tr /\
    same_change s1 s2 s1' s2'.
Proof.
  intros s1 s2 tr t gm Hv1 Hv2 Hl1 Hl2 He [Hd Hs]. unfold Isolation.FilterTrap. cbv zeta.
  destruct (_ || _); [unchanged s1 s2|].
  destruct (_ =? Isolation.TrapSError); [unchanged s1 s2|].
  destruct (_ =? Isolation.ecWFx); [unchanged s1 s2|].
  destruct (_ || _); [unfold Isolation.callDecision; branches; unchanged s1 s2|].
  destruct (_ =? Isolation.ecDABTLow) eqn:Eda.
  { apply Z.eqb_eq in Eda. destruct (dataAbort_agree s1 s2 tr t gm Hv1 Hv2 Hl1 Hl2 He (Hd Eda)) as (d & H1 & H2).
    step_at s1 H1. step_at s2 H2. unchanged s1 s2. }
  destruct (_ =? Isolation.ecIABTLow).
  { unfold Isolation.stage2Fault, Isolation.injectDecision, Isolation.exitDecision. branches; unchanged s1 s2. }
  destruct (_ =? Isolation.ecSysReg) eqn:Esy.
  { apply Z.eqb_eq in Esy.
    destruct (sysRegAccess_agree s1 s2 tr (Isolation.Trap_ESR t) Hv1 Hv2 Hl1 Hl2 He (Hs Esy)) as (d & s1' & s2' & H1 & H2 & Hc).
    rewrite !bind_assoc. step_at s1 H1. step_at s2 H2. cbn. eexists _, s1', s2'. split; [reflexivity|split; [reflexivity|exact Hc]]. }
  branches; unchanged s1 s2.
Qed.

(** A call the engine forwards leaves as a CALL exit whose record is the
    function ID (the low 32 bits of x0, SMCCC 1.4, 2.5) and x1..x5, the
    model's [released] of a call: nothing of x6..x30. *)
Lemma CallExit_val : forall s tr, valid s -> len (get s) = 31 ->
  Isolation.CallExit x s tr =
    Ok [2; Z.land (nth 0 (get s) 0) 4294967295; nth 1 (get s) 0; nth 2 (get s) 0; nth 3 (get s) 0;
        nth 4 (get s) 0; nth 5 (get s) 0] s tr.
Proof.
  intros s tr Hv Hl. unfold Isolation.CallExit.
  assert (Hx : forall k, 0 <= k < 6 -> idx (get s) k s tr = Ok (nth (Z.to_nat k) (get s) 0) s tr)
    by (intros k Hk; apply idx_nth; [lia|apply nth_error_nth'; unfold len in Hl; lia]).
  step_by (deref_lens _ _ _ _ s tr Lx Hv). step_by (Hx 0 ltac:(lia)).
  step_by (deref_lens _ _ _ _ s tr Lx Hv). step_by (Hx 1 ltac:(lia)).
  step_by (deref_lens _ _ _ _ s tr Lx Hv). step_by (Hx 2 ltac:(lia)).
  step_by (deref_lens _ _ _ _ s tr Lx Hv). step_by (Hx 3 ltac:(lia)).
  step_by (deref_lens _ _ _ _ s tr Lx Hv). step_by (Hx 4 ltac:(lia)).
  step_by (deref_lens _ _ _ _ s tr Lx Hv). step_by (Hx 5 ltac:(lia)).
  reflexivity.
Qed.

(** The registers a trap may release: the source of an MMIO write the
    filter emulates, or of a write of ICC_SGI1R_EL1; none for any other
    trap. So two register files equal on these registers, whatever the
    others hold, get the same decision ([FilterTrap_released]). This is
    the model's [Noninterference.released] of the trap: [[r]] for an MMIO
    write from [r], the fields of [r] for an SGI, nothing otherwise. *)
Definition filter_src (t : Isolation.Trap) (gm : list Isolation.Range) : list nat :=
  let esr := Isolation.Trap_ESR t in
  if (esr_ec esr =? Isolation.ecDABTLow) && mmio_emulated t gm && negb (Z.land esr Isolation.issWnR =? 0) then
    [Z.to_nat (Z.land (shr esr Isolation.issSRTShift) Isolation.issSRTMask)]
  else if (esr_ec esr =? Isolation.ecSysReg) && (Z.land esr Isolation.sysRegIssRegMask =? Isolation.sgi1rWrite) then
    [Z.to_nat (Z.land (shr esr Isolation.sysRegIssRtShift) Isolation.sysRegIssRtMask)]
  else [].

Lemma filter_agree_src : forall t gm f g, (forall r, In r (filter_src t gm) -> nth r f 0 = nth r g 0) ->
  filter_agree t gm f g.
Proof.
  intros t gm f g H. unfold filter_src in H. split.
  - intros Ec Em Ew. cbv zeta. rewrite H; [reflexivity|].
    rewrite Ec, Em, Z.eqb_refl. replace (Z.land _ Isolation.issWnR =? 0) with false by (symmetry; apply Z.eqb_neq; exact Ew).
    left. reflexivity.
  - intros Ec Es. cbv zeta. rewrite H; [reflexivity|].
    rewrite Ec, Es, Z.eqb_refl, Z.eqb_refl. cbn [andb]. left. reflexivity.
Qed.

(** So the host's view of a trap is the same for any two vCPUs whose
    registers agree on the trap's source register, if it has one. *)
Corollary FilterTrap_src : forall s1 s2 tr t gm, valid s1 -> valid s2 -> len (get s1) = 31 -> len (get s2) = 31 ->
  0 <= Isolation.Trap_ESR t ->
  (forall r, In r (filter_src t gm) -> nth r (get s1) 0 = nth r (get s2) 0) ->
  exists d s1' s2', Isolation.FilterTrap t x gm s1 tr = Ok d s1' tr /\ Isolation.FilterTrap t x gm s2 tr = Ok d s2' tr /\
    same_change s1 s2 s1' s2'.
Proof.
  intros s1 s2 tr t gm Hv1 Hv2 Hl1 Hl2 He H.
  exact (FilterTrap_released s1 s2 tr t gm Hv1 Hv2 Hl1 Hl2 He (filter_agree_src _ _ _ _ H)).
Qed.

End Released.
