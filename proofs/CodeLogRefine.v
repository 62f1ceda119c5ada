(** * MMIO_LOG_READ refined whole

    Theorems about proofs/code/Isolation.v, the translation of
    isolation/shadow.go, that carry on from CodeLogRead.v (MMIO_LOG_READ
    returns the model's batch of the log) and CodeVCPURefine.v (the
    model's VM slots after a store into one).
    Proved here:
    - the model's check of the vmid passes exactly for a live VM at it
      ([vmid_ok_abs]), and a store of one VM's shadow state changes no
      page, no walk and no other slot ([put_shadow_ms_eq]);
    - so MMIO_LOG_READ, from [create_inv] and [shadow_inv], answers the
      model's status and results, and the abstraction of the engine it
      leaves is the model's metadata after the step
      ([MMIOLogRead_refines]). *)
From Coq Require Import ZArith Lia List Bool.
From Bulkhead.Spec Require Import State Spec.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodeTrack CodeVCPU CodeVCPUInit CodeVMCreate CodeShadow CodeLogRead
  CodeAbsLedger CodeAbs CodeVMCreateRefine CodeVMCreateInv CodeS2Refine CodeAbi CodeFree CodeStage2 CodeVCPURefine.
Import ListNotations.
Open Scope Z_scope.

(** ** The refinement *)

(** The model's check of the vmid, on the abstraction, holds exactly when
    a live VM sits at the vmid. *)
Lemma vmid_ok_abs : forall c e id, cfg_abs c e -> 0 <= id ->
  vmid_ok c (abs_ms c e) (Z.to_nat id) = true <->
  exists m, 1 <= id <= len (Isolation.Engine_vms e) /\
    nth_error (Isolation.Engine_vms e) (Z.to_nat (id - 1)) = Some m /\ Isolation.vm_live m = true.
Proof.
  intros c e id (_ & Hmax & _) Hid. unfold vmid_ok. unfold len in *. split.
  - intros H. apply andb_true_iff in H as [H Hl].
    apply andb_true_iff in H as [H0 Hm]. apply negb_true_iff, Nat.eqb_neq in H0. apply Nat.leb_le in Hm.
    assert (Hs : Z.to_nat id = S (Z.to_nat (id - 1))) by lia.
    destruct (nth_error (Isolation.Engine_vms e) (Z.to_nat (id - 1))) as [m|] eqn:Hn;
      [|apply nth_error_None in Hn; lia].
    rewrite Hs, (abs_slot c e _ m Hn) in Hl. unfold abs_vm in Hl.
    destruct (Isolation.vm_live m) eqn:Hlv; [|discriminate Hl].
    exists m. split; [lia|]. split; [reflexivity|exact Hlv].
  - intros (m & Hr & Hn & Hlv).
    assert (Hs : Z.to_nat id = S (Z.to_nat (id - 1))) by lia.
    rewrite Hs, (abs_slot c e _ m Hn). unfold abs_vm. rewrite Hlv. cbn [vm_live].
    rewrite <- Hs. apply andb_true_iff. split; [apply andb_true_iff; split|].
    + apply negb_true_iff, Nat.eqb_neq. lia.
    + apply Nat.leb_le. lia.
    + reflexivity.
Qed.

Lemma put_shadow_pages : forall e i m sh,
  Isolation.Engine_pages (put_shadow e i m sh) = Isolation.Engine_pages e /\
  Isolation.Engine_host (put_shadow e i m sh) = Isolation.Engine_host e /\
  Isolation.Engine_cfg (put_shadow e i m sh) = Isolation.Engine_cfg e.
Proof. intros e i m sh. destruct e. repeat split. Qed.

(** The model's marks read the registers only. *)
Lemma abs_marks_regs : forall sh sh', Isolation.shadowState_regs sh = Isolation.shadowState_regs sh' ->
  abs_marks sh = abs_marks sh'.
Proof. intros sh sh' E. unfold abs_marks. rewrite E. reflexivity. Qed.

(** Storing the shadow state [sh] into the live VM [id] leaves the
    abstraction the model's metadata with that VM's marks and log those
    of [sh]: no page, no walk, no vCPU and no other slot changes. *)
Lemma put_shadow_ms_eq : forall c e id m sh, create_inv c e -> 1 <= id ->
  nth_error (Isolation.Engine_vms e) (Z.to_nat (id - 1)) = Some m -> Isolation.vm_live m = true ->
  ms_eq (set_shadow (abs_ms c e) (Z.to_nat id) (abs_marks sh) (abs_log sh))
        (abs_ms c (put_shadow e (Z.to_nat (id - 1)) m sh)).
Proof.
  intros c e id m sh Hc Hid1 Hn Hlv.
  set (m1 := Isolation.set_vm_shadow sh m).
  destruct (put_vm_slot c e id m m1 Hc Hid1 Hn Hlv ltac:(destruct m; reflexivity)) as (Hslot & Hs2).
  apply (put_vm_ms_eq c e id m m1 _ Hc Hid1 Hn). rewrite Hslot.
  rewrite (slot_vm c e id m Hid1 Hn). unfold abs_vm at 1. rewrite Hlv.
  revert Hs2. unfold abs_vm, m1. rewrite Hlv.
  destruct m as [l0 hr0 nv0 s20 vcs0 sh0 pr0].
  cbn [Isolation.vm_live Isolation.vm_nvcpu Isolation.vm_vcpus Isolation.vm_hasRun Isolation.vm_s2
       Isolation.vm_shadow Isolation.vm_protected Isolation.set_vm_shadow] in *.
  subst l0. intros Hs2. unfold vm_eq. cbn [vm_live vm_vcpus vm_hasrun vm_protected vm_vcpu vm_s2 vm_marks vm_log].
  split; [reflexivity|]. split; [reflexivity|]. split; [reflexivity|]. split; [reflexivity|].
  split; [intros j; split; [reflexivity|split; [reflexivity|intros; reflexivity]]|].
  split; [|split; reflexivity]. intros p. symmetry. exact (Hs2 p).
Qed.

(** MMIO_LOG_READ, from [create_inv] and [shadow_inv], for any 64-bit
    vmid: it answers the model's status, on SUCCESS with the model's
    results (the count of bytes taken and six words of them), and the
    model's metadata after the step is the abstraction of the engine it
    leaves: on an error both leave everything as it was; on SUCCESS the
    VM's log has lost the batch, its marks and everything else as they
    were. *)
Theorem MMIOLogRead_refines : forall c e tr id mem regs,
  create_inv c e -> shadow_inv e -> 0 <= id < 2 ^ 64 ->
  exists n packed st e', Isolation.Engine_MMIOLogRead root id e tr = Ok (n, packed, st) e' tr /\
    let r := mmio_log_read c (abs_state c e mem regs) (Z.to_nat id) in
    exists sst vals, snd r = ORet sst vals /\ go_status sst = st /\
      (st = Abi.Success -> vals = Z.to_nat n :: map Z.to_nat packed) /\
      ms_eq (st_meta (fst r)) (abs_ms c e').
Proof.
  intros c e tr id mem regs Hc Hinv Hid.
  pose proof Hc as (_ & _ & Hcfg & _).
  destruct (MMIOLogRead_result e tr id Hinv Hid) as (n & packed & st & e' & Hrun & Hout).
  exists n, packed, st, e'. split; [exact Hrun|]. cbv zeta. unfold mmio_log_read. cbn [st_meta abs_state].
  destruct Hout as [(Hno & -> & ->)|(m & sh & Hr & Hn & Hlv & -> & -> & _ & Hregs & Hlog & Hres)].
  - assert (Hf : vmid_ok c (abs_ms c e) (Z.to_nat id) = false).
    { destruct (vmid_ok _ _ _) eqn:Hk; [|reflexivity]. exfalso. apply Hno.
      exact (proj1 (vmid_ok_abs c e id Hcfg ltac:(lia)) Hk). }
    rewrite Hf. cbn. eexists _, _. split; [reflexivity|]. split; [reflexivity|].
    split; [discriminate|apply ms_eq_refl].
  - rewrite (proj2 (vmid_ok_abs c e id Hcfg ltac:(lia)) (ex_intro _ m (conj Hr (conj Hn Hlv)))).
    cbn [negb fst snd st_meta]. rewrite (slot_vm c e id m ltac:(lia) Hn). unfold abs_vm. rewrite Hlv.
    cbn [vm_marks vm_log]. eexists _, _. split; [reflexivity|]. split; [reflexivity|].
    split; [intros _; symmetry; exact Hres|].
    rewrite <- Hlog, (abs_marks_regs (Isolation.vm_shadow m) sh (eq_sym Hregs)).
    exact (put_shadow_ms_eq c e id m sh Hc ltac:(lia) Hn Hlv).
Qed.
