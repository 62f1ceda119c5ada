(** * What a vCPU needs to be run

    VCPU_RUN (isolation/vm.go) reads a vCPU's context for the caller of
    the calls it traps ([GuestCaller(ctx.VMID, ctx.VCPU)]), indexes its
    31 registers, and completes a pending MMIO read by writing the
    read's register. What it needs of every vCPU of a live VM:
    [vcpu_ready], gathered over the engine as [runs_ok]. Proved here:
    the stores that keep it, a slot replaced by one as live with as many
    vCPUs each of which stays ready ([runs_ok_put_vm]), one vCPU
    replaced ([runs_ok_put_vcpu]), and a step of a vCPU that keeps its
    registers and names and writes a pending read of a register
    ([ready_step]). *)
From Coq Require Import ZArith Lia List Bool.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Isolation.
From Bulkhead.Proofs Require Import CodeTrack CodeVCPUInit.
Import ListNotations.
Open Scope Z_scope.

(** vCPU [j] of VM [id] names itself in its context and holds 31
    registers (VM_CREATE names every vCPU, VCPU_INIT and PSCI CPU_ON
    reset a context with the same names), and a pending MMIO read writes
    a register x0..x30 or none (31, XZR): the exit filter marks only
    such reads pending ([CodeExitFilter.decision_ok]). *)
Definition vcpu_ready (id j : Z) (y : Isolation.vcpu) : Prop :=
  Isolation.Context_VMID (Isolation.vcpu_ctx y) = id /\ Isolation.Context_VCPU (Isolation.vcpu_ctx y) = j /\
  len (Isolation.Context_X (Isolation.vcpu_ctx y)) = 31 /\
  (Isolation.vcpu_pend y = Isolation.pendMMIORead ->
   0 <= Isolation.MMIORead_Reg (Isolation.vcpu_read y) <= Isolation.xzr).

(** Every live VM has at most 256 vCPUs (Config's MaxVCPUsLimit) and
    every vCPU it uses is [vcpu_ready]. *)
Definition runs_ok (e : Isolation.Engine) : Prop :=
  forall i m, nth_error (Isolation.Engine_vms e) i = Some m -> Isolation.vm_live m = true ->
    Isolation.vm_nvcpu m <= 256 /\
    forall j, 0 <= j < Isolation.vm_nvcpu m ->
      vcpu_ready (Z.of_nat i + 1) j (nth (Z.to_nat j) (Isolation.vm_vcpus m) Isolation.zero_vcpu).

(** [y'] follows [y] keeping it ready: 31 registers if [y] had 31, and
    a pending MMIO read that is [y]'s or writes x0..x30 or XZR. *)
Definition vcpu_step (y y' : Isolation.vcpu) : Prop :=
  (len (Isolation.Context_X (Isolation.vcpu_ctx y)) = 31 -> len (Isolation.Context_X (Isolation.vcpu_ctx y')) = 31) /\
  (Isolation.vcpu_pend y' = Isolation.pendMMIORead ->
   0 <= Isolation.MMIORead_Reg (Isolation.vcpu_read y') <= Isolation.xzr \/
   (Isolation.vcpu_pend y = Isolation.pendMMIORead /\ Isolation.vcpu_read y' = Isolation.vcpu_read y)).

Lemma vcpu_step_refl : forall y, vcpu_step y y.
Proof. intros y. split; [exact (fun H => H)|intros H; right; split; [exact H|reflexivity]]. Qed.

Lemma vcpu_step_trans : forall a b c, vcpu_step a b -> vcpu_step b c -> vcpu_step a c.
Proof.
  intros a b c (Xab & Rab) (Xbc & Rbc). split; [intros H; exact (Xbc (Xab H))|].
  intros Hc. destruct (Rbc Hc) as [H|(Hb & E)]; [left; exact H|].
  destruct (Rab Hb) as [H|(Ha & E')]; [left; rewrite E; exact H|right; split; [exact Ha|congruence]].
Qed.

(** A store into a vCPU's context that keeps 31 registers, or into its
    state, or a pending mark other than an MMIO read. *)
Lemma step_ctx : forall y c', (len (Isolation.Context_X (Isolation.vcpu_ctx y)) = 31 -> len (Isolation.Context_X c') = 31) ->
  vcpu_step y (Isolation.set_vcpu_ctx c' y).
Proof. intros [? ? ? ?] c' H. split; [exact H|intros E; right; split; [exact E|reflexivity]]. Qed.

Lemma step_state : forall y st, vcpu_step y (Isolation.set_vcpu_state st y).
Proof. intros [? ? ? ?] st. split; [exact (fun H => H)|intros E; right; split; [exact E|reflexivity]]. Qed.

Lemma step_pend : forall y p, p <> Isolation.pendMMIORead -> vcpu_step y (Isolation.set_vcpu_pend p y).
Proof. intros [? ? ? ?] p Hp. split; [exact (fun H => H)|intros E; contradiction]. Qed.

Lemma ready_step : forall id j y y', vcpu_ready id j y -> vcpu_step y y' ->
  Isolation.Context_VMID (Isolation.vcpu_ctx y') = id -> Isolation.Context_VCPU (Isolation.vcpu_ctx y') = j ->
  vcpu_ready id j y'.
Proof.
  intros id j y y' (_ & _ & Hx & Hr) (Hx' & Hr') Hvm Hvc. split; [exact Hvm|]. split; [exact Hvc|].
  split; [exact (Hx' Hx)|]. intros Hp. destruct (Hr' Hp) as [H|(Hp0 & E)]; [exact H|rewrite E; exact (Hr Hp0)].
Qed.

Lemma runs_ok_vms : forall e e', Isolation.Engine_vms e' = Isolation.Engine_vms e -> runs_ok e -> runs_ok e'.
Proof. intros e e' E H. unfold runs_ok. rewrite E. exact H. Qed.

(** A slot replaced by one as live, with as many vCPUs, each of which
    stays ready. *)
Lemma runs_ok_put_vm : forall e i m m', runs_ok e -> nth_error (Isolation.Engine_vms e) i = Some m ->
  Isolation.vm_live m' = Isolation.vm_live m -> Isolation.vm_nvcpu m' = Isolation.vm_nvcpu m ->
  (Isolation.vm_live m = true -> forall j, 0 <= j < Isolation.vm_nvcpu m ->
     vcpu_ready (Z.of_nat i + 1) j (nth (Z.to_nat j) (Isolation.vm_vcpus m) Isolation.zero_vcpu) ->
     vcpu_ready (Z.of_nat i + 1) j (nth (Z.to_nat j) (Isolation.vm_vcpus m') Isolation.zero_vcpu)) ->
  runs_ok (put_vm e i m').
Proof.
  intros e i m m' H Hn Hl Hnv Hv i' m0 Hn' Hl'.
  assert (Hi : (i < List.length (Isolation.Engine_vms e))%nat) by (apply nth_error_Some; congruence).
  unfold put_vm in Hn'. destruct e. cbn in *.
  destruct (Nat.eq_dec i' i) as [->|Ne].
  - rewrite nth_replace_nth in Hn' by exact Hi. injection Hn' as <-. rewrite Hl in Hl'.
    destruct (H i m Hn Hl') as (H256 & Hr). rewrite Hnv. split; [exact H256|].
    intros j Hj. exact (Hv Hl' j Hj (Hr j Hj)).
  - rewrite nth_replace_nth_other in Hn' by (intros E; apply Ne; symmetry; exact E). exact (H i' m0 Hn' Hl').
Qed.

(** One vCPU replaced by one that is ready where the old one was. *)
Lemma runs_ok_put_vcpu : forall e i m j x, runs_ok e -> nth_error (Isolation.Engine_vms e) i = Some m ->
  (j < List.length (Isolation.vm_vcpus m))%nat ->
  (Isolation.vm_live m = true -> Z.of_nat j < Isolation.vm_nvcpu m ->
   vcpu_ready (Z.of_nat i + 1) (Z.of_nat j) (nth j (Isolation.vm_vcpus m) Isolation.zero_vcpu) ->
   vcpu_ready (Z.of_nat i + 1) (Z.of_nat j) x) ->
  runs_ok (put_vcpu e i m j x).
Proof.
  intros e i m j x H Hn Hj Hx. unfold put_vcpu.
  apply (runs_ok_put_vm e i m _ H Hn); [destruct m; reflexivity|destruct m; reflexivity|].
  intros Hl k Hk Hr. replace (Isolation.vm_vcpus (Isolation.set_vm_vcpus _ m))
    with (replace_nth j x (Isolation.vm_vcpus m)) by (destruct m; reflexivity).
  destruct (Nat.eq_dec (Z.to_nat k) j) as [E|Ne].
  - rewrite E, nth_replace_nth_same by exact Hj. rewrite E in Hr. replace k with (Z.of_nat j) in * by lia.
    exact (Hx Hl ltac:(lia) Hr).
  - rewrite nth_replace_nth_other' by (intros E; apply Ne; symmetry; exact E). exact Hr.
Qed.

(** A step that keeps the vCPU's names. *)
Lemma ready_kept : forall id j y y', vcpu_ready id j y -> vcpu_step y y' ->
  Isolation.Context_VMID (Isolation.vcpu_ctx y') = Isolation.Context_VMID (Isolation.vcpu_ctx y) ->
  Isolation.Context_VCPU (Isolation.vcpu_ctx y') = Isolation.Context_VCPU (Isolation.vcpu_ctx y) ->
  vcpu_ready id j y'.
Proof.
  intros id j y y' Hr Hs Hvm Hvc. pose proof Hr as (A & B & _).
  exact (ready_step id j y y' Hr Hs (eq_trans Hvm A) (eq_trans Hvc B)).
Qed.
