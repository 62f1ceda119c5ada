(** * The host's calls through the dispatcher

    Theorems about proofs/code/Isolation.v, the translation of
    isolation/dispatch.go ([hostCall], what [Dispatch] runs for the
    host): it decodes the function id from the low 32 bits of x0, passes
    x1..x5 to the call it names, writes the call's results and status
    back into the eight registers, and answers NOT_SUPPORTED for an id
    it does not know. Proved here:
    - [engine_good]: [refine_inv], the model's [Inv] on the abstraction,
      CodeReady's [runs_ok] and CodeHostLevel's [host_lv3] (the host's
      walk of every page a VM shares with it ends at level 3 or nowhere,
      which VM_DESTROY needs), what the calls below keep;
    - every host call through the dispatcher, for any eight registers of
      64 bits, from an engine that is [engine_good] (on a platform whose
      world switch meets [world_ok], at most 256 vCPUs per VM), never
      fails, answers eight registers and leaves an engine that is
      [engine_good] ([hostCall_keeps], [Dispatch_host_keeps]). The
      per-call theorems it gathers are CodeRefineInv's [*_refine_inv]
      (CodeDestroyShared's for VM_DESTROY), CodeHostLevel's
      [*_host_lv3], CodeVCPURun's [VCPURun_keeps],
      CodeReadyCalls' [*_runs_ok], and the queries'
      ([CodeGuestCall.query_ok]), MEM_INFO's, FILE_INFO's and
      FILE_READ's, which change nothing;
    - since no call changes the platform (CodeStatic), every engine the
      host reaches by such calls one after another is [engine_good] and
      no such call from it fails ([host_reaches_keeps]); and from the
      engine [boot] leaves, on a platform meeting [world_ok], so is every
      engine the host reaches and so does every call from it
      ([boot_host_reaches]). *)
From Coq Require Import ZArith Lia List Bool.
From Bulkhead.Spec Require Import State Spec.
From Bulkhead.Proofs Require Import Invariants.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodeTrack CodeVCPU CodeShadow CodeAbs CodeLedger CodeAbsLedger CodeMemCall CodeFiles
  CodeVMCreateInv CodeRefineInv CodeVMDestroy CodeGuestCall CodeRun CodeVCPURun CodeReady CodeReadyCalls
  CodeUpdateRoot CodeMemNoFailure CodeBoot CodeBootRefine CodeStatic CodeReleaseShared CodeDestroyShared CodeHostLevel.
Import ListNotations.
Open Scope Z_scope.

(** An engine every call below keeps so. *)
Definition engine_good (c : config) (e : Isolation.Engine) : Prop :=
  refine_inv c e /\ Inv c (abs_ms c e) /\ runs_ok e /\ host_lv3 c e.

(** ** The registers *)

Lemma copy_into_len : forall {A} (xs src : list A) lo hi, 0 <= lo <= hi -> hi <= len xs ->
  len (copy_into xs lo hi src) = len xs.
Proof.
  intros A xs src lo hi Hl Hh. unfold copy_into, len in *.
  rewrite !app_length, !firstn_length, skipn_length. lia.
Qed.

Lemma subslice_ok : forall {S A} (s : S) tr (xs : list A) lo hi, 0 <= lo <= hi -> hi <= len xs ->
  exists ys, subslice xs lo hi s tr = Ok ys s tr.
Proof.
  intros S A s tr xs lo hi Hl Hh. unfold subslice.
  destruct (Z.ltb_spec lo 0); [lia|]. destruct (Z.ltb_spec hi lo); [lia|]. destruct (Z.ltb_spec (len xs) hi); [lia|].
  eexists. reflexivity.
Qed.

(** [copy(r[lo:], src)] of eight registers, as the dispatcher writes a
    result of several words. *)
Lemma copy8 : forall {S B} (P : B -> S -> Prop) (s : S) tr (r src : list Z) lo (K : list Z -> M S B),
  len r = 8 -> 0 <= lo <= 8 ->
  (forall r', len r' = 8 -> exists out s' tr', K r' s tr = Ok out s' tr' /\ P out s') ->
  exists out s' tr', bind (subslice r lo (len r)) (fun _ =>
    bind (subslice src 0 (len src)) (fun t => K (copy_into r lo (len r) t))) s tr = Ok out s' tr' /\ P out s'.
Proof.
  intros S B P s tr r src lo K Hr Hlo HK.
  destruct (subslice_ok s tr r lo (len r) ltac:(lia) ltac:(lia)) as (y1 & H1). CodeShadow.step_by H1.
  assert (Hl0 : 0 <= len src) by (unfold len; lia).
  destruct (subslice_ok s tr src 0 (len src) ltac:(lia) ltac:(lia)) as (y2 & H2). CodeShadow.step_by H2.
  apply HK. rewrite copy_into_len by lia. exact Hr.
Qed.

(** [finish] puts the status in x0, over the caller's registers on an
    error. *)
Lemma finish_ok : forall {S} (s : S) tr x r st, len x = 8 -> len r = 8 ->
  exists out, Isolation.finish x r st s tr = Ok out s tr /\ len out = 8.
Proof.
  intros S s tr x r st Hx Hr. unfold Isolation.finish.
  destruct (negb (st =? Abi.Success)); CodeShadow.step; unfold Abi.Status_Reg; CodeShadow.step;
    [destruct (upd8 s tr x 0 (wrapu 64 st) Hx ltac:(lia)) as [U L]|destruct (upd8 s tr r 0 (wrapu 64 st) Hr ltac:(lia)) as [U L]];
    CodeShadow.step_by U; eexists; (split; [reflexivity|exact L]).
Qed.

(** ** hostCall *)

Definition regs_ok (c : config) (e' : Isolation.Engine) {E} (j : join (list Z * Abi.Status) (list Z * E)) : Prop :=
  engine_good c e' /\ match j with Fall (r, _) => len r = 8 | Jump (r, _) => len r = 8 end.

Local Ltac sstep H := rewrite ?bind_assoc; CodeShadow.step_by H.

(** A call's registers and status after it kept [refine_inv], [Inv],
    [runs_ok] and [host_lv3]. *)
Lemma good_fall : forall c e e' r st, refine_inv c e' -> (Inv c (abs_ms c e) -> Inv c (abs_ms c e')) ->
  Inv c (abs_ms c e) -> runs_ok e' -> host_lv3 c e' -> len r = 8 ->
  regs_ok c e' (@Fall _ (list Z * Isolation.Effect) (r, st)).
Proof. intros c e e' r st R HI I H Hl L. split; [|exact L]. exact (conj R (conj (HI I) (conj H Hl))). Qed.

(** The host's PSCI calls (VERSION, FEATURES, SYSTEM_OFF, SYSTEM_RESET)
    read the engine and change nothing. *)
Lemma hostPSCI_ok : forall {S} (s : S) tr id x, len x = 8 ->
  exists r eff, Isolation.hostPSCI id x s tr = Ok (r, eff) s tr /\ len r = 8.
Proof.
  intros S s tr id x Hx. unfold Isolation.hostPSCI, Isolation.psciReg. CodeShadow.step.
  destruct (upd8 s tr x 0 (wrapu 64 Abi.PSCISuccess) Hx ltac:(lia)) as [U0 L0]. sstep U0.
  destruct (id =? Abi.PSCIVersion).
  - destruct (upd8 s tr _ 0 Abi.PSCIVersion11 L0 ltac:(lia)) as [U L]. sstep U. CodeShadow.step.
    eexists _, _. split; [reflexivity|exact L].
  - destruct (id =? Abi.PSCIFeatures).
    + destruct (idx_in_range x 1 s tr ltac:(lia)) as (a & Ha). sstep Ha.
      unfold Isolation.hostPSCIImplemented, Isolation.psciFeature, Isolation.psciReg. rewrite ?bind_assoc.
      repeat (rewrite ?bind_assoc; first [CodeShadow.step | match goal with |- context [if ?b then _ else _] => destruct b end]);
        match goal with |- context [upd ?l 0 ?v] => destruct (upd8 s tr l 0 v L0 ltac:(lia)) as [U L] end;
        sstep U; CodeShadow.step; eexists _, _; split; (reflexivity || exact L).
    + destruct (id =? Abi.PSCISystemOff); CodeShadow.step; eexists _, _; split; (reflexivity || exact L0).
Qed.


(** MEM_DONATE and MEM_SHARE through the dispatcher: five arguments, the
    call's theorem ([thm]), its half ([pick]) of
    [MemShare_MemDonate_runs_ok] and its [*_host_lv3] ([lv3]). *)
Ltac lend_case thm pick lv3 c e tr x1 x2 x3 x4 x5 mm rr R H Hl I Lx :=
  do 5 CodeShadow.step;
  destruct (thm c e tr x1 x2 x3 x4 x5 mm rr R ltac:(lia) ltac:(lia) ltac:(lia) ltac:(lia) ltac:(lia))
    as (st & e' & tr' & Hrun & R' & _ & _ & HI');
  sstep Hrun; eexists _, _, _; split; [reflexivity|];
  exact (good_fall c e e' _ st R' HI' I
    (pick _ _ (MemShare_MemDonate_runs_ok c e x1 x2 x3 x4 x5 R H ltac:(lia) ltac:(lia) ltac:(lia) ltac:(lia)) tr st e' tr' Hrun)
    (lv3 c e tr x1 x2 x3 x4 x5 st e' tr' R ltac:(lia) ltac:(lia) ltac:(lia) ltac:(lia) ltac:(lia) Hrun Hl) Lx).

(** VCPU_INIT, VCPU_IRQ and MMIO_SHADOW through the dispatcher: four
    arguments, the call's theorem ([thm]), its [*_runs_ok] ([runs]) and
    its [*_host_lv3] ([lv3]). *)
Ltac slot_case thm runs lv3 c e tr x1 x2 x3 x4 mm rr R I Lx :=
  do 4 CodeShadow.step;
  destruct (thm c e tr x1 x2 x3 x4 mm rr R ltac:(lia) ltac:(lia) ltac:(lia) ltac:(lia) I)
    as (st & e' & Hrun & R' & _ & _ & I');
  sstep Hrun; eexists _, _, _; split; [reflexivity|];
  exact (good_fall c e e' _ st R' (fun _ => I') I (runs st e' Hrun) (lv3 st e' Hrun) Lx).

(** Every host call through the dispatcher, for any eight registers of
    64 bits, from an engine that is [engine_good] (its boot files are the
    configuration's, [refine_inv]), on a platform whose world switch
    meets [world_ok], for a configuration of at most 256
    vCPUs per VM: it never fails, answers eight registers, and leaves an
    engine that is [engine_good]. *)
Theorem hostCall_keeps : forall c e tr p x0 x1 x2 x3 x4 x5 x6 x7,
  engine_good c e -> Z.of_nat (max_vcpus c) <= 256 ->
  Isolation.Engine_plat e = Some p -> world_ok p ->
  Forall (fun r => 0 <= r < 2 ^ 64) [x0; x1; x2; x3; x4; x5; x6; x7] ->
  exists out e' tr', Isolation.Engine_hostCall root [x0; x1; x2; x3; x4; x5; x6; x7] e tr = Ok out e' tr' /\
    engine_good c e' /\ len (fst out) = 8.
Proof.
  intros c e tr p x0 x1 x2 x3 x4 x5 x6 x7 G Hmax Hplat Hw Hx.
  pose proof G as (R & I & H & Hl). pose proof R as (Hci & ((_ & Hsh) & _) & _ & (Hled & _) & _ & _ & _ & _ & Hfr & Hfo).
  pose proof Hci as (Hcok & Htok & (Hcfg & _) & Hhown & Hvown & _).
  repeat match goal with Hf : Forall _ (_ :: _) |- _ => apply Forall_cons_iff in Hf; destruct Hf as [? Hf] end.
  set (mm := fun _ : nat => 0%nat). set (rr := fun _ _ _ : nat => 0%nat).
  set (x := [x0; x1; x2; x3; x4; x5; x6; x7]).
  assert (Lx : len x = 8) by reflexivity.
  unfold Isolation.Engine_hostCall. CodeShadow.step. set (id := wrapu 32 x0) in *.
  destruct ((id =? Abi.Version) || (id =? Abi.CallUID) || (id =? Abi.Revision)).
  { destruct (query_ok e tr id x Lx) as (r & Hq & Lr). sstep Hq.
    eexists _, _, _. split; [reflexivity|]. split; [exact G|exact Lr]. }
  match goal with |- exists out e' tr', bind ?A ?K e tr = _ /\ _ =>
    assert (Hin : exists j e' tr', A e tr = Ok j e' tr' /\ regs_ok c e' j) end.
  2:{ destruct Hin as (j & e' & tr' & Hj & G' & Lj). CodeShadow.step_by Hj.
      destruct j as [[r st]|[r eff]].
      - destruct (finish_ok e' tr' x r st Lx Lj) as (out & Hf & Lo). sstep Hf.
        eexists _, _, _. split; [reflexivity|]. split; [exact G'|exact Lo].
      - eexists _, _, _. split; [reflexivity|]. split; [exact G'|exact Lj]. }
  (* The result with the engine as it was, for the calls that change nothing. *)
  assert (Same : forall r st, len r = 8 -> regs_ok c e (@Fall _ (list Z * Isolation.Effect) (r, st)))
    by (intros r st L; split; [exact G|exact L]).
  destruct (id =? Abi.VMCreate).
  { CodeShadow.step. CodeShadow.step.
    destruct (VMCreate_refine_inv c e tr mm rr (Z.to_nat x1) (Z.to_nat x2) R ltac:(lia))
      as (vid & st & e' & Hrun & R' & _ & HI').
    rewrite !Z2Nat.id in Hrun by lia. sstep Hrun.
    destruct (upd8 e' tr x 1 vid Lx ltac:(lia)) as [U L]. sstep U.
    eexists _, _, _. split; [reflexivity|].
    exact (good_fall c e e' _ st R' HI' I (VMCreate_runs_ok c e tr x1 x2 _ e' tr R H Hmax ltac:(lia) Hrun)
      (VMCreate_host_lv3 c e tr x1 x2 _ e' tr Hcok Htok Hhown Hvown ltac:(lia) Hrun Hl) L). }
  destruct (id =? Abi.VMDestroy).
  { CodeShadow.step. pose proof (host_lv3_shared c e Hcfg Hled Hl x1) as Hl3.
    destruct (VMDestroy_shared_refine_inv c e tr x1 mm rr R ltac:(lia) Hl3 I) as (st & e' & tr' & Hrun & R' & _ & _ & I').
    sstep Hrun. eexists _, _, _. split; [reflexivity|].
    exact (good_fall c e e' _ st R' (fun _ => I') I (VMDestroy_shared_runs_ok c e tr x1 st e' tr' R H ltac:(lia) Hl3 Hrun)
      (VMDestroy_host_lv3 c e tr x1 st e' tr' R ltac:(lia) Hrun Hl) Lx). }
  destruct (id =? Abi.VCPUInit).
  { slot_case VCPUInit_refine_inv (fun st e' Hrun => VCPUInit_runs_ok c e tr x1 x2 x3 x4 st e' tr R H
      ltac:(lia) ltac:(lia) Hrun) (fun st e' Hrun => VCPUInit_host_lv3 c e tr x1 x2 x3 x4 st e' tr Hsh ltac:(lia) ltac:(lia)
      Hrun Hl) c e tr x1 x2 x3 x4 mm rr R I Lx. }
  destruct (id =? Abi.VCPURun).
  { do 3 CodeShadow.step.
    destruct (VCPURun_keeps c e tr x1 x2 x3 p R H ltac:(lia) ltac:(lia) Hplat Hw)
      as (st & ex & e' & tr' & Hrun & R' & HI' & _ & _ & H' & Hl' & _).
    sstep Hrun.
    apply (copy8 (fun j s => regs_ok c s j) e' tr' x ex 1 (fun r' => ret (Fall (r', st))) Lx ltac:(lia)).
    intros r' L. eexists _, _, _. split; [reflexivity|]. exact (good_fall c e e' r' st R' HI' I H' (Hl' Hl) L). }
  destruct (id =? Abi.VCPUIRQ).
  { slot_case VCPUIRQ_refine_inv (fun st e' Hrun => VCPUIRQ_runs_ok c e tr x1 x2 x3 x4 st e' tr R H
      ltac:(lia) ltac:(lia) ltac:(lia) Hrun) (fun st e' Hrun => VCPUIRQ_host_lv3 c e tr x1 x2 x3 x4 st e' tr Hsh ltac:(lia)
      ltac:(lia) ltac:(lia) Hrun Hl) c e tr x1 x2 x3 x4 mm rr R I Lx. }
  destruct (id =? Abi.MMIOShadow).
  { slot_case MMIOShadow_refine_inv (fun st e' Hrun => MMIOShadow_runs_ok c e tr x1 x2 x3 x4 st e' tr R H
      ltac:(lia) ltac:(lia) Hrun) (fun st e' Hrun => MMIOShadow_host_lv3 c e tr x1 x2 x3 x4 st e' tr Hsh ltac:(lia) ltac:(lia)
      Hrun Hl) c e tr x1 x2 x3 x4 mm rr R I Lx. }
  destruct (id =? Abi.MMIOLogRead).
  { CodeShadow.step.
    destruct (MMIOLogRead_refine_inv c e tr x1 mm rr R ltac:(lia) I) as (n & packed & st & e' & Hrun & R' & _ & _ & I').
    sstep Hrun. destruct (upd8 e' tr x 1 n Lx ltac:(lia)) as [U L]. sstep U.
    apply (copy8 (fun j s => regs_ok c s j) e' tr _ packed 2 (fun r' => ret (Fall (r', st))) L ltac:(lia)).
    intros r' L'. eexists _, _, _. split; [reflexivity|].
    exact (good_fall c e e' r' st R' (fun _ => I') I (MMIOLogRead_runs_ok c e tr x1 _ e' tr R H ltac:(lia) Hrun)
      (MMIOLogRead_host_lv3 c e tr x1 _ e' tr Hsh ltac:(lia) Hrun Hl) L'). }
  destruct (id =? Abi.MemDonate); [|destruct (id =? Abi.MemShare)];
    [lend_case MemDonate_refine_inv proj2 MemDonate_host_lv3 c e tr x1 x2 x3 x4 x5 mm rr R H Hl I Lx
    |lend_case MemShare_refine_inv proj1 MemShare_host_lv3 c e tr x1 x2 x3 x4 x5 mm rr R H Hl I Lx|].
  destruct (id =? Abi.MemUnshare).
  { do 3 CodeShadow.step.
    destruct (MemUnshare_refine_inv c e tr x1 x2 x3 mm rr R ltac:(lia) ltac:(lia) ltac:(lia))
      as (st & e' & tr' & Hrun & R' & _ & _ & HI' & _).
    sstep Hrun. eexists _, _, _. split; [reflexivity|].
    exact (good_fall c e e' _ st R' HI' I (MemUnshare_runs_ok c e tr x1 x2 x3 st e' tr' R H ltac:(lia) ltac:(lia) ltac:(lia) Hrun)
      (MemUnshare_host_lv3 c e tr x1 x2 x3 st e' tr' R ltac:(lia) ltac:(lia) ltac:(lia) Hrun Hl) Lx). }
  destruct (id =? Abi.MemReclaim).
  { do 2 CodeShadow.step.
    destruct (MemReclaim_refine_inv c e tr x1 x2 mm rr R ltac:(lia) ltac:(lia)) as (st & e' & tr' & Hrun & R' & _ & _ & HI').
    sstep Hrun. eexists _, _, _. split; [reflexivity|].
    exact (good_fall c e e' _ st R' HI' I (MemReclaim_runs_ok c e tr x1 x2 st e' tr' R H ltac:(lia) ltac:(lia) Hrun)
      (MemReclaim_host_lv3 c e tr x1 x2 st e' tr' R ltac:(lia) ltac:(lia) Hrun Hl) Lx). }
  pose proof R as (_ & _ & _ & Hrok & Hown & _).
  destruct (id =? Abi.MemInfo).
  { CodeShadow.step.
    destruct (MemInfo_refines c e (abs_state c e mm rr) tr x1 Hled Hown Hcfg eq_refl ltac:(lia)) as (info & st & _ & Hrun & _).
    sstep Hrun.
    destruct (upd8 e tr x 1 (Isolation.PageInfo_Owner info) Lx ltac:(lia)) as [U1 L1]. sstep U1.
    destruct (upd8 e tr _ 2 (Isolation.PageInfo_VM info) L1 ltac:(lia)) as [U2 L2]. sstep U2.
    destruct (upd8 e tr _ 3 (Isolation.PageInfo_Shared info) L2 ltac:(lia)) as [U3 L3]. sstep U3.
    destruct (upd8 e tr _ 4 (Isolation.PageInfo_Borrower info) L3 ltac:(lia)) as [U4 L4]. sstep U4.
    eexists _, _, _. split; [reflexivity|exact (Same _ _ L4)]. }
  destruct (id =? Abi.FileInfo).
  { CodeShadow.step.
    destruct (FileInfo_refines c e (abs_state c e mm rr) tr x1 Hfr (proj1 Hfo) ltac:(lia)) as (b & st & _ & Hrun & _).
    sstep Hrun. destruct (upd8 e tr x 1 (Isolation.BootFile_Size b) Lx ltac:(lia)) as [U L]. sstep U.
    apply (copy8 (fun j s => regs_ok c s j) e tr _ (Isolation.BootFile_Name b) 2 (fun r' => ret (Fall (r', st))) L
      ltac:(lia)).
    intros r' L'. eexists _, _, _. split; [reflexivity|exact (Same _ _ L')]. }
  destruct (id =? Abi.FileRead).
  { do 3 CodeShadow.step.
    assert (Hfile : exists n st tr', Isolation.Engine_FileRead root x1 x2 x3 e tr = Ok (n, st) e tr').
    { destruct (FileRead_refines c e (abs_state c e mm rr) tr x1 x2 x3 Hrok
        ltac:(congruence) Hcfg Hfr Hfo eq_refl ltac:(lia) ltac:(lia) ltac:(lia)) as [(sst & _ & Hrun & _)|
        (f & b & s' & _ & _ & _ & _ & _ & _ & [(_ & _ & Hrun & _)|(_ & o & _ & Hrun)])];
        [| |revert Hrun; destruct (Isolation.Platform_CopyFile _ _ _ _); intros Hrun]; eexists _, _, _; exact Hrun. }
    destruct Hfile as (n & st & tr' & Hrun). sstep Hrun.
    destruct (upd8 e tr' x 1 n Lx ltac:(lia)) as [U L]. sstep U.
    eexists _, _, _. split; [reflexivity|exact (Same _ _ L)]. }
  destruct ((id =? Abi.PSCIVersion) || (id =? Abi.PSCIFeatures) || (id =? Abi.PSCISystemOff) || (id =? Abi.PSCISystemReset)).
  { destruct (hostPSCI_ok e tr id x Lx) as (r & eff & Hp & Lr). sstep Hp.
    eexists _, _, _. split; [reflexivity|]. split; [exact G|exact Lr]. }
  eexists _, _, _. split; [reflexivity|exact (Same _ _ Lx)].
Qed.

(** The same through [Dispatch], the engine's one entry for the host. *)
Corollary Dispatch_host_keeps : forall c e tr p v x0 x1 x2 x3 x4 x5 x6 x7,
  engine_good c e -> Z.of_nat (max_vcpus c) <= 256 ->
  Isolation.Engine_plat e = Some p -> world_ok p ->
  Forall (fun r => 0 <= r < 2 ^ 64) [x0; x1; x2; x3; x4; x5; x6; x7] ->
  exists out e' tr', Isolation.Engine_Dispatch root (Isolation.mk_Caller Isolation.HostVMID v)
    [x0; x1; x2; x3; x4; x5; x6; x7] e tr = Ok out e' tr' /\ engine_good c e' /\ len (fst out) = 8.
Proof.
  intros c e tr p v x0 x1 x2 x3 x4 x5 x6 x7 G Hmax Hplat Hw Hx.
  destruct (hostCall_keeps c e tr p x0 x1 x2 x3 x4 x5 x6 x7 G Hmax Hplat Hw Hx) as (out & e' & tr' & Hrun & G' & L).
  unfold Isolation.Engine_Dispatch. cbn [Isolation.Caller_VM]. rewrite Z.eqb_refl. CodeShadow.step_by Hrun.
  eexists _, _, _. split; [reflexivity|]. split; [exact G'|exact L].
Qed.

(** ** The host's calls one after another *)

(** The host calls [x] the theorems above cover: eight registers of 64
    bits. *)
Definition host_ok (x : list Z) : Prop :=
  exists x0 x1 x2 x3 x4 x5 x6 x7, x = [x0; x1; x2; x3; x4; x5; x6; x7] /\ Forall (fun r => 0 <= r < 2 ^ 64) x.

(** The engines the host reaches from [e] by such calls through
    [Dispatch], whatever each answered. *)
Inductive host_reaches : Isolation.Engine -> Isolation.Engine -> Prop :=
| host_here : forall e, host_reaches e e
| host_then : forall e v x tr out e1 tr1 e',
    host_ok x -> Isolation.Engine_Dispatch root (Isolation.mk_Caller Isolation.HostVMID v) x e tr = Ok out e1 tr1 ->
    host_reaches e1 e' -> host_reaches e e'.

(** One call of [host_ok] from an [engine_good] engine never fails,
    leaves an [engine_good] engine and keeps the platform. *)
Lemma host_call_keeps : forall c e tr p v x, engine_good c e -> Z.of_nat (max_vcpus c) <= 256 ->
  Isolation.Engine_plat e = Some p -> world_ok p -> host_ok x ->
  exists out e' tr', Isolation.Engine_Dispatch root (Isolation.mk_Caller Isolation.HostVMID v) x e tr = Ok out e' tr' /\
    engine_good c e' /\ Isolation.Engine_plat e' = Some p /\ len (fst out) = 8.
Proof.
  intros c e tr p v x G Hmax Hplat Hw (x0 & x1 & x2 & x3 & x4 & x5 & x6 & x7 & -> & Hx).
  destruct (Dispatch_host_keeps c e tr p v x0 x1 x2 x3 x4 x5 x6 x7 G Hmax Hplat Hw Hx)
    as (out & e' & tr' & Hrun & G' & L).
  exists out, e', tr'. split; [exact Hrun|]. split; [exact G'|]. split; [|exact L].
  rewrite (proj2 (Dispatch_keeps_static _ _ e tr out e' tr' Hrun)). exact Hplat.
Qed.

(** Every engine the host reaches from an [engine_good] one, on a
    platform meeting [world_ok], is [engine_good] on the same platform,
    and no call of [host_ok] from it fails. *)
Theorem host_reaches_keeps : forall c e e' p, engine_good c e -> Z.of_nat (max_vcpus c) <= 256 ->
  Isolation.Engine_plat e = Some p -> world_ok p -> host_reaches e e' ->
  engine_good c e' /\ Isolation.Engine_plat e' = Some p /\
  forall v x tr, host_ok x ->
    exists out e'' tr', Isolation.Engine_Dispatch root (Isolation.mk_Caller Isolation.HostVMID v) x e' tr =
      Ok out e'' tr' /\ len (fst out) = 8.
Proof.
  intros c e e' p G Hmax Hplat Hw H. induction H as [e|e v x tr out e1 tr1 e' Hok Hrun _ IH].
  - split; [exact G|]. split; [exact Hplat|]. intros v x tr Hok.
    destruct (host_call_keeps c e tr p v x G Hmax Hplat Hw Hok) as (out & e' & tr' & Hrun & _ & _ & L). eauto.
  - destruct (host_call_keeps c e tr p v x G Hmax Hplat Hw Hok) as (out' & e1' & tr1' & Hrun' & G1 & Hp1 & _).
    rewrite Hrun in Hrun'. injection Hrun' as <- <- <-. exact (IH G1 Hp1).
Qed.

(** From the engine [New] hands [boot] (CodeBootRefine), on a platform
    meeting [world_ok]: [boot] never fails, and when it answers true,
    every engine the host reaches from the one it leaves is
    [engine_good] and no call of [host_ok] from it fails. No VM shares a
    page with the host after [boot], so the host's walk of such pages is
    vacuously at level 3 ([host_lv3_unshared]). *)
Theorem boot_host_reaches : forall c e tr p, allocated e -> validated e -> pool_inv e -> pool_placed e -> model_of c e ->
  Isolation.Engine_plat e = Some p -> world_ok p ->
  exists b e0 tr0, Isolation.Engine_boot root e tr = Ok b e0 tr0 /\
    (b = true -> forall e', host_reaches e0 e' -> engine_good c e' /\
      forall v x tr', host_ok x ->
        exists out e'' tr'', Isolation.Engine_Dispatch root (Isolation.mk_Caller Isolation.HostVMID v) x e' tr' =
          Ok out e'' tr'' /\ len (fst out) = 8).
Proof.
  intros c e tr p Ha Hv Hp Hpl Hm Hplat Hw.
  destruct (boot_refines c e tr Ha Hv Hp Hpl Hm) as (b & e0 & tr0 & Hboot & Hb).
  destruct (boot_runs_ok c e tr Ha Hv Hp Hpl Hm) as (b' & e0' & tr0' & Hboot' & Hb').
  rewrite Hboot in Hboot'. injection Hboot' as <- <- <-.
  exists b, e0, tr0. split; [exact Hboot|]. intros Eb e' Hr.
  destruct (Hb Eb) as (R & _ & I & Gu). destruct (Hb' Eb) as (_ & H & Hmax).
  assert (Hp0 : Isolation.Engine_plat e0 = Some p) by (rewrite (proj2 (boot_static e tr b e0 tr0 Hboot)); exact Hplat).
  destruct (host_reaches_keeps c e0 e' p (conj R (conj I (conj H (host_lv3_unshared c e0 Gu)))) Hmax Hp0 Hw Hr)
    as (G' & _ & Hcall).
  split; [exact G'|exact Hcall].
Qed.
