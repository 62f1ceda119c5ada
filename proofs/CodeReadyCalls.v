(** * The host's calls keep every vCPU ready to run

    Theorems about proofs/code/Isolation.v: CodeReady's [runs_ok], what
    VCPU_RUN needs of the vCPUs of live VMs ([CodeVCPURun.VCPURun_keeps],
    which also keeps it), holds after [boot] and after every other call
    of the host that writes the engine. Proved here, each for any outcome
    of the call from [refine_inv] and [runs_ok]:
    - [boot] leaves no VM live ([boot_runs_ok]);
    - VM_CREATE fills a free slot with vCPUs VM_CREATE names, as many as
      the configuration allows, at most 256 ([VMCreate_runs_ok]);
    - VM_DESTROY of a VM that shares no page with the host leaves its
      slot free and the others as they were ([destroyed_runs_ok],
      [VMDestroy_runs_ok]);
    - VCPU_INIT resets a context with the vCPU's names and 31 registers,
      nothing pending ([VCPUInit_runs_ok]); VCPU_IRQ changes interrupt
      lines only ([VCPUIRQ_runs_ok]);
    - MMIO_SHADOW and MMIO_LOG_READ write a slot's shadow state only
      ([MMIOShadow_runs_ok], [MMIOLogRead_runs_ok]);
    - MEM_SHARE, MEM_DONATE, MEM_RECLAIM and MEM_UNSHARE leave the slots
      as they were ([MemShare_MemDonate_runs_ok], [MemReclaim_runs_ok],
      [MemUnshare_runs_ok]).
    The other calls (the queries, MEM_INFO, FILE_INFO, FILE_READ) leave
    the engine as it was ([CodeAbsLedger.MemInfo_refines],
    [CodeFiles.FileInfo_refines], [CodeFiles.FileRead_refines]). *)
From Coq Require Import ZArith Lia List Bool.
From Bulkhead.Spec Require Import State Spec.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodeTrack CodeVCPU CodeVCPUInit CodeVMCreate CodeShadow CodeAbs
  CodeVMCreateRefine CodeVMCreateInv CodeRefineInv CodeVMDestroy CodeMemInvDestroy CodeEngineInv CodeWalkCalls
  CodeUnshareInv CodeBootRefine CodeMemState CodeUpdateRoot CodeMemNoFailure CodeReady.
Import ListNotations.
Open Scope Z_scope.

(** ** Slots replaced *)

(** An engine with as many slots, each as it was or not live. *)
Lemma runs_ok_slots : forall e e', runs_ok e ->
  (forall i m', nth_error (Isolation.Engine_vms e') i = Some m' -> Isolation.vm_live m' = true ->
     nth_error (Isolation.Engine_vms e) i = Some m') -> runs_ok e'.
Proof. intros e e' H Hs i m' Hn Hl. exact (H i m' (Hs i m' Hn Hl) Hl). Qed.

(** A slot replaced by one that is not live, or whose vCPUs in use are
    ready, with at most 256. *)
Lemma runs_ok_put_new : forall e i m', runs_ok e ->
  (Isolation.vm_live m' = true -> Isolation.vm_nvcpu m' <= 256 /\ forall j, 0 <= j < Isolation.vm_nvcpu m' ->
     vcpu_ready (Z.of_nat i + 1) j (nth (Z.to_nat j) (Isolation.vm_vcpus m') Isolation.zero_vcpu)) ->
  runs_ok (put_vm e i m').
Proof.
  intros e i m' H Hm i' m0 Hn Hl. unfold put_vm in Hn. destruct e as [? ? ? ? ? vms ?]. cbn in *.
  destruct (Nat.eq_dec i' i) as [->|Ne].
  - destruct (Nat.lt_ge_cases i (List.length vms)) as [Hi|Hi].
    + rewrite nth_replace_nth in Hn by exact Hi. injection Hn as <-. exact (Hm Hl).
    + assert (nth_error (replace_nth i m' vms) i = None) by (apply nth_error_None; rewrite replace_nth_length; exact Hi).
      congruence.
  - rewrite nth_replace_nth_other in Hn by (intros E; apply Ne; symmetry; exact E). exact (H i' m0 Hn Hl).
Qed.

Lemma runs_ok_shadow_store : forall e e', runs_ok e -> shadow_store e e' -> runs_ok e'.
Proof.
  intros e e' H [->|(i & m & sh & Hn & ->)]; [exact H|]. unfold put_shadow.
  apply (runs_ok_put_vm e i m _ H Hn); [destruct m; reflexivity|destruct m; reflexivity|].
  intros _ j _ Hj. destruct m; exact Hj.
Qed.

(** What [refine_inv] gives the calls below. *)
Lemma refine_vcpus_ok : forall c e, refine_inv c e -> vcpus_ok e /\ len (Isolation.Engine_vms e) <= 255.
Proof. intros c e (((Hok & _) & _) & _ & _ & _ & _ & H & _). exact (conj Hok H). Qed.

(** ** VCPU_INIT and VCPU_IRQ *)

Theorem VCPUInit_runs_ok : forall c e tr id v entry arg st e' tr', refine_inv c e -> runs_ok e ->
  0 <= id < 2 ^ 64 -> 0 <= v < 2 ^ 64 ->
  Isolation.Engine_VCPUInit root id v entry arg e tr = Ok st e' tr' -> runs_ok e'.
Proof.
  intros c e tr id v entry arg st e' tr' R H Hid Hv Hrun.
  destruct (refine_vcpus_ok c e R) as (Hok & H255).
  destruct (VCPUInit_no_failure e tr id v entry arg Hok Hid Hv) as (st0 & e0 & Hrun0 & _ & _ & Hout).
  rewrite Hrun0 in Hrun. injection Hrun as _ <- _.
  destruct Hout as [(-> & _)|(_ & m & x & Hn & Hlv & Hid1 & Hvm & _ & _ & Hx & ->)]; [exact H|].
  assert (Hi : (Z.to_nat (id - 1) < List.length (Isolation.Engine_vms e))%nat) by (apply nth_error_Some; congruence).
  destruct (H _ m Hn Hlv) as (H256 & _).
  apply (runs_ok_put_vcpu e _ m (Z.to_nat v) _ H Hn ltac:(apply nth_error_Some; congruence)). intros _ _ _.
  unfold vcpu_ready, init_vcpu, reset_ctx. cbn. unfold len in H255.
  rewrite wrapu_small_16 by lia. rewrite wrapu_small_16 by lia.
  split; [lia|]. split; [lia|]. split; [reflexivity|]. intros E. discriminate E.
Qed.

Theorem VCPUIRQ_runs_ok : forall c e tr id v intid level st e' tr', refine_inv c e -> runs_ok e ->
  0 <= id < 2 ^ 64 -> 0 <= v < 2 ^ 64 -> 0 <= intid < 2 ^ 64 ->
  Isolation.Engine_VCPUIRQ root id v intid level e tr = Ok st e' tr' -> runs_ok e'.
Proof.
  intros c e tr id v intid level st e' tr' R H Hid Hv Hi Hrun.
  destruct (refine_vcpus_ok c e R) as (Hok & _).
  destruct (VCPUIRQ_inv e tr id v intid level Hok Hid Hv Hi) as (st0 & e0 & Hrun0 & _ & _ & Hout).
  rewrite Hrun0 in Hrun. injection Hrun as _ <- _.
  destruct Hout as [(-> & _)|(_ & m & x & Hn & _ & _ & _ & Hx & _ & _ & _ & ->)]; [exact H|].
  apply (runs_ok_put_vcpu e _ m (Z.to_nat v) _ H Hn ltac:(apply nth_error_Some; congruence)). intros _ _ Hr.
  rewrite (nth_error_nth _ _ Isolation.zero_vcpu Hx) in Hr.
  apply (ready_kept _ _ x _ Hr); unfold line_vcpu;
    (destruct (level =? 1); [|destruct (intid >=? Isolation.sgiLines)]);
    (apply vcpu_step_refl || (apply step_ctx; exact (fun E => E)) || reflexivity).
Qed.

(** ** The shadow calls *)

Theorem MMIOShadow_runs_ok : forall c e tr id ipa mode value st e' tr', refine_inv c e -> runs_ok e ->
  0 <= id < 2 ^ 64 -> 0 <= ipa ->
  Isolation.Engine_MMIOShadow root id ipa mode value e tr = Ok st e' tr' -> runs_ok e'.
Proof.
  intros c e tr id ipa mode value st e' tr' R H Hid Hipa Hrun.
  destruct (slot_keeps_of c e R) as (_ & Hs & _).
  destruct (MMIOShadow_no_failure e tr id ipa mode value Hs Hid Hipa) as (st0 & e0 & Hrun0 & _ & Hst).
  rewrite Hrun0 in Hrun. injection Hrun as _ <- _. exact (runs_ok_shadow_store e e0 H Hst).
Qed.

Theorem MMIOLogRead_runs_ok : forall c e tr id r e' tr', refine_inv c e -> runs_ok e -> 0 <= id < 2 ^ 64 ->
  Isolation.Engine_MMIOLogRead root id e tr = Ok r e' tr' -> runs_ok e'.
Proof.
  intros c e tr id r e' tr' R H Hid Hrun.
  destruct (slot_keeps_of c e R) as (_ & Hs & _).
  destruct (MMIOLogRead_no_failure e tr id Hs Hid) as (n & packed & st0 & e0 & Hrun0 & _ & _ & _ & Hst).
  rewrite Hrun0 in Hrun. injection Hrun as _ <- _. exact (runs_ok_shadow_store e e0 H Hst).
Qed.

(** ** The memory calls *)

(** A call of the host that keeps every vCPU ready from [e], whatever
    its outcome. *)
Definition keeps_ready {A} (call : M Isolation.Engine A) (e : Isolation.Engine) : Prop :=
  forall tr r e' tr', call e tr = Ok r e' tr' -> runs_ok e'.

(** MEM_SHARE and MEM_DONATE: an error changes nothing, SUCCESS keeps the
    slots ([CodeWalkCalls.MemShare_walks], [MemDonate_walks]). *)
Theorem MemShare_MemDonate_runs_ok : forall c e id pa ipa n perms, refine_inv c e -> runs_ok e ->
  0 <= id < 2 ^ 64 -> 0 <= pa < 2 ^ 64 -> 0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 ->
  keeps_ready (Isolation.Engine_MemShare root id pa ipa n perms) e /\
  keeps_ready (Isolation.Engine_MemDonate root id pa ipa n perms) e.
Proof.
  intros c e id pa ipa n perms R H Hid Hpa Hipa Hn. pose proof R as (_ & [[Hi _] Hwb] & _ & Hrok & _).
  split; intros tr st e' tr' Hrun;
    [destruct (MemShare_walks e tr id pa ipa n perms st e' tr' Hi Hwb (proj2 Hrok) Hid Hpa Hipa Hn Hrun) as [Herr Hsucc]
    |destruct (MemDonate_walks e tr id pa ipa n perms st e' tr' Hi Hwb (proj2 Hrok) Hid Hpa Hipa Hn Hrun) as [Herr Hsucc]];
    (destruct (Z.eq_dec st Abi.Success) as [Es|Ne]; [|rewrite (Herr Ne); exact H]);
    destruct (Hsucc Es) as (m & _ & _ & Ev & _); exact (runs_ok_vms e e' Ev H).
Qed.

Theorem MemReclaim_runs_ok : forall c e tr pa n st e' tr', refine_inv c e -> runs_ok e ->
  0 <= pa < 2 ^ 64 -> 0 <= n < 2 ^ 64 ->
  Isolation.Engine_MemReclaim root pa n e tr = Ok st e' tr' -> runs_ok e'.
Proof.
  intros c e tr pa n st e' tr' R H Hpa Hn Hrun.
  pose proof R as (_ & [[Hi _] _] & _ & Hrok & _).
  destruct (MemReclaim_walks e tr pa n st e' tr' Hi (proj2 Hrok) Hpa Hn Hrun) as (_ & Ev & _).
  exact (runs_ok_vms e e' Ev H).
Qed.

Theorem MemUnshare_runs_ok : forall c e tr id ipa n st e' tr', refine_inv c e -> runs_ok e ->
  0 <= id < 2 ^ 64 -> 0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 ->
  Isolation.Engine_MemUnshare root id ipa n e tr = Ok st e' tr' -> runs_ok e'.
Proof.
  intros c e tr id ipa n st e' tr' R H Hid Hipa Hn Hrun.
  pose proof R as (_ & [[Hi _] Hwb] & _).
  destruct (MemUnshare_walks e tr id ipa n st e' tr' Hi Hwb Hid Hipa Hn Hrun) as [Herr Hsucc].
  destruct (Z.eq_dec st Abi.Success) as [Es|Ne]; [|rewrite (Herr Ne); exact H].
  destruct (Hsucc Es) as (m & _ & _ & _ & _ & _ & _ & _ & Ev & _). exact (runs_ok_vms e e' Ev H).
Qed.

(** ** VM_CREATE and VM_DESTROY *)

Lemma at_slot_put : forall E i X, at_slot E i X = put_vm E i X.
Proof. reflexivity. Qed.

(** VM_CREATE, for a configuration of at most 256 vCPUs per VM (as
    [Config.validate] allows, [validated]). *)
Theorem VMCreate_runs_ok : forall c e tr n flags r e' tr', refine_inv c e -> runs_ok e ->
  Z.of_nat (max_vcpus c) <= 256 -> 0 <= n < 2 ^ 64 ->
  Isolation.Engine_VMCreate root n flags e tr = Ok r e' tr' -> runs_ok e'.
Proof.
  intros c e tr n flags r e' tr' R H Hmax Hn Hrun.
  pose proof R as (Hc & _ & _ & _ & _ & H255 & HM & _). pose proof Hc as (Hco & _). pose proof Hco as (_ & _ & _ & Hroom).
  destruct (VMCreate_spec e tr n flags Hco Hn) as (r0 & e0 & Hrun0 & _ & Hcases).
  rewrite Hrun0 in Hrun. injection Hrun as _ <- _.
  destruct Hcases as [(_ & _ & ->)|[(_ & _ & _ & ->)|(slot & Hn' & (Hs & Hfree & _) & Hcase)]]; [exact H|exact H|].
  cbv zeta in Hcase. unfold live_at in Hfree.
  destruct Hcase as [(_ & ->)|(rt & q & vcs & _ & _ & -> & (Hlen & Hfresh))]; rewrite at_slot_put.
  - apply (runs_ok_put_new e _ _ H). intros Hl. destruct (nth _ _ _); cbn in *. congruence.
  - assert (Hq : runs_ok (Isolation.set_Engine_pool q e)) by (apply (runs_ok_vms e); [destruct e; reflexivity|exact H]).
    apply (runs_ok_put_new _ _ _ Hq). intros _. cbn [Isolation.vm_nvcpu Isolation.vm_vcpus new_vm]. split; [lia|].
    intros j Hj. rewrite Forall_forall in Hroom.
    assert (Hsl : (Z.to_nat slot < List.length (Isolation.Engine_vms e))%nat) by (unfold len in Hs; lia).
    pose proof (Hroom _ (nth_In _ Isolation.zero_vm Hsl)) as Hr. unfold len in Hr, H255, Hs.
    rewrite Hfresh by (rewrite Hlen; lia). unfold vcpu_ready, new_vcpu. cbn.
    rewrite wraps_small by lia. rewrite wrapu_small_16 by lia. rewrite wrapu_small_16 by lia.
    split; [lia|]. split; [lia|]. split; [reflexivity|]. intros E. discriminate E.
Qed.

(** VM_DESTROY of a VM that shares no page with the host, the case whose
    outcomes are proved ([CodeMemInvDestroy.VMDestroy_mem_cases]). *)
(** A slot VM_DESTROY left [destroyed] keeps [runs_ok]: it is not live,
    and every other slot is as it was. *)
Lemma destroyed_runs_ok : forall e e' i m, destroy_ctx e e' i m -> runs_ok e -> runs_ok e'.
Proof.
  intros e e' i m Hd H.
  pose proof Hd as (_ & _ & _ & (_ & _ & Hdead & _)). pose proof (same_len e e' i m Hd) as Hlen.
  apply (runs_ok_slots e e' H). intros i' m' Hn' Hl'.
  assert (Hi' : (i' < List.length (Isolation.Engine_vms e'))%nat) by (apply nth_error_Some; congruence).
  destruct (Nat.eq_dec i' i) as [->|Ne].
  - rewrite (nth_error_nth _ _ Isolation.zero_vm Hn') in Hdead. congruence.
  - pose proof (other_slot e e' i m Hd i' Ne) as E. unfold vm_at in E.
    rewrite (nth_error_nth _ _ Isolation.zero_vm Hn') in E. rewrite E. apply nth_error_nth'. lia.
Qed.

Theorem VMDestroy_runs_ok : forall c e tr id st e' tr', refine_inv c e -> runs_ok e -> 0 <= id < 2 ^ 64 ->
  unshared_at e id -> Isolation.Engine_VMDestroy root id e tr = Ok st e' tr' -> runs_ok e'.
Proof.
  intros c e tr id st e' tr' R H Hid Hun Hrun.
  pose proof R as (_ & [[Hi Hs] _] & _ & _ & _ & H255 & _).
  destruct (VMDestroy_mem_cases e tr id Hi Hs ltac:(lia) Hid Hun) as (st0 & e0 & tr0 & Hrun0 & Hcases).
  rewrite Hrun0 in Hrun. injection Hrun as _ <- _.
  destruct Hcases as [->|(i & m & Hd & _ & _)]; [exact H|exact (destroyed_runs_ok e e0 i m Hd H)].
Qed.

(** ** boot *)

(** Where the abstraction is the model's initial state, no VM is live. *)
Lemma init_runs_ok : forall c e, ms_eq (abs_ms c e) (init_meta c) -> runs_ok e.
Proof.
  intros c e (_ & _ & Hv) i m Hn Hl. exfalso.
  destruct (Hv (Datatypes.S i)) as (Hlv & _). rewrite (abs_slot c e i m Hn), abs_vm_live in Hlv.
  cbn in Hlv. congruence.
Qed.

(** [boot] (as [CodeBootRefine.boot_refines] has it) leaves every vCPU
    ready: no VM is live; and the configuration allows at most 256 vCPUs
    per VM, as VM_CREATE needs. *)
Theorem boot_runs_ok : forall c e tr, allocated e -> validated e -> pool_inv e -> pool_placed e -> model_of c e ->
  exists b e' tr', Isolation.Engine_boot root e tr = Ok b e' tr' /\
    (b = true -> refine_inv c e' /\ runs_ok e' /\ Z.of_nat (max_vcpus c) <= 256).
Proof.
  intros c e tr Ha Hv Hp Hpl Hm.
  destruct (boot_refines c e tr Ha Hv Hp Hpl Hm) as (b & e' & tr' & Hrun & Hb).
  exists b, e', tr'. split; [exact Hrun|]. intros Ht. destruct (Hb Ht) as (R & Heq & _).
  split; [exact R|]. split; [exact (init_runs_ok c e' Heq)|].
  pose proof Hm as (_ & _ & HM & _). pose proof Hv as (_ & HMv & _). lia.
Qed.
