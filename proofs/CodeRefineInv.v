(** * The refinement invariant: the memory calls, VM_CREATE, VM_DESTROY,
      VCPU_INIT, VCPU_IRQ, MMIO_LOG_READ and MMIO_SHADOW keep it and
      refine the model

    Lemmas about proofs/code/Isolation.v, the translation of
    isolation/mem.go, isolation/vm.go and isolation/shadow.go, that
    gather the results of CodeWalkCalls.v, CodeWalkHeld.v, CodeS2Refine.v,
    CodeDestroyRefine.v, CodeVCPURefine.v, CodeLogRefine.v and
    CodeShadowRefine.v into one
    invariant of the engine, [refine_inv]:
    [create_inv] (the tables and slots are sane and the model is
    configured as the engine), [walk_inv] ([engine_inv] and every walk
    below 2^48), [walk_held] (each live VM's walk maps pages the ledger
    gives it or lends it), the ledger's shape with RAM inside the IPA
    space ([reclaim_ok]), every ledger entry [entry_ok] ([owners_ok]), at
    most 255 VM slots, the model's vCPU limit, and the model's MMIO
    windows the engine's ([windows_rel]) and the boot files its
    configuration's ([files_rel], [files_ok]).
    Proved here:
    - the ledger's commit writes entries of the four owner kinds, so
      MEM_SHARE, MEM_DONATE, MEM_UNSHARE, MEM_RECLAIM and VM_DESTROY keep
      [owners_ok], and keep the configuration ([MemShare_ledger_after],
      [MemDonate_ledger_after], [MemUnshare_ledger_after],
      [MemReclaim_ledger_after], [VMDestroy_ledger_after]);
    - from [refine_inv], each of MEM_SHARE, MEM_DONATE, MEM_UNSHARE and
      MEM_RECLAIM, for any arguments below 2^64, never fails, keeps
      [refine_inv],
      changes nothing when it answers anything but SUCCESS, and on SUCCESS
      refines the model's step whole: the step from the abstraction
      before succeeds and leaves the abstraction after ([ms_eq]); and the
      model's invariant [Inv] holds of the abstraction after whenever it
      held before ([MemShare_refine_inv], [MemDonate_refine_inv],
      [MemUnshare_refine_inv], [MemReclaim_refine_inv]); VM_CREATE likewise, where it either
      answers as the model does or answers NO_MEMORY for want of a
      stage-2 root, changing nothing the model sees
      ([VMCreate_refine_inv]); and VM_DESTROY of a VM that shares no page
      with the host likewise, from [Inv] ([VMDestroy_refine_inv]); and
      VCPU_INIT and VCPU_IRQ, which answer the model's status in every
      outcome ([VCPUInit_refine_inv], [VCPUIRQ_refine_inv]), and
      MMIO_LOG_READ, which answers the model's status and results in
      every outcome ([MMIOLogRead_refine_inv]), and MMIO_SHADOW, which
      answers the model's status in every outcome
      ([MMIOShadow_refine_inv]);
    - no VM shares a page with the host ([guest_unshared]) after any of
      these calls when none did before, which gives VM_DESTROY's
      condition for every vmid ([unshared_of_guest]);
    - so any sequence of VM_CREATE, VM_DESTROY, VCPU_INIT, VCPU_IRQ,
      MEM_SHARE, MEM_DONATE, MEM_UNSHARE, MEM_RECLAIM, MEM_INFO,
      MMIO_LOG_READ and MMIO_SHADOW calls
      with 64-bit arguments, from an engine satisfying [refine_inv] and
      [guest_unshared] whose abstraction satisfies [Inv], runs to its end
      keeping all three
      ([mcalls_Inv]), and every protected VM's stage-2 maps only pages
      the VM owns after it ([mcalls_protected_owns]). *)
From Coq Require Import ZArith Lia List Bool.
From Bulkhead.Spec Require Import State Spec.
From Bulkhead.Proofs Require Import Invariants.
From Bulkhead.Proofs Require Protected.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodeVMCreate CodeTransfer CodeAbsLedger CodeAbs CodeVMCreateRefine CodeVMCreateInv
  CodeOwns CodeEngineInv CodeLedgerRefine CodeMemCall CodeWalkCalls CodeModelThms CodeWalkHeld CodeS2Refine CodeAbi
  CodeVMDestroy CodeRelease CodeDestroyRefine CodeLedger CodeVCPU CodeVCPUInit CodeEngineOk CodeVCPURefine CodeShadow
  CodeUnshare CodeUnshareInv CodeUnshareRefine CodeLogRefine CodeShadowRefine CodeFiles.
Import ListNotations.
Open Scope Z_scope.

Definition refine_inv (c : config) (e : Isolation.Engine) : Prop :=
  create_inv c e /\ walk_inv e /\ walk_held c e /\ reclaim_ok e /\ owners_ok e /\
  len (Isolation.Engine_vms e) <= 255 /\
  Z.of_nat (max_vcpus c) = Isolation.Config_MaxVCPUs (Isolation.Engine_cfg e) /\ windows_rel c e /\
  files_rel c e /\ files_ok e.

(** The last five parts read only the ledger, the configuration and the
    number of slots, which [create_inv] ties to the model's: an engine
    after a call that keeps the configuration, the first three parts and
    [owners_ok] keeps [refine_inv]. *)
Lemma refine_inv_step : forall c e e', refine_inv c e -> Isolation.Engine_cfg e' = Isolation.Engine_cfg e ->
  create_inv c e' -> walk_inv e' -> walk_held c e' -> owners_ok e' -> refine_inv c e'.
Proof.
  intros c e e' (Hc & _ & _ & (_ & Hram) & _ & Hlen & HM & Hw & Hfr & Hfo) Ecfg Hc' Hwi' Hh' Ho'.
  pose proof Hc as (_ & _ & (_ & Hmax & _) & _).
  pose proof Hc' as (_ & _ & (_ & Hmax' & _) & _).
  pose proof Hwi' as [[[[Hl' _] _] _] _].
  split; [exact Hc'|]. split; [exact Hwi'|]. split; [exact Hh'|].
  split; [split; [exact Hl'|rewrite Ecfg; exact Hram]|]. split; [exact Ho'|].
  split; [lia|]. unfold windows_rel, files_rel, files_ok in *. rewrite Ecfg. exact (conj HM (conj Hw (conj Hfr Hfo))).
Qed.

(** What a call answering [st] leaves, gathered: [refine_inv] after, the
    engine unchanged on an error, and on SUCCESS the refinement [P] and
    [Inv] carried over. *)
Lemma refine_inv_outcome : forall c e e' st (P : Prop), refine_inv c e ->
  Isolation.Engine_cfg e' = Isolation.Engine_cfg e /\ owners_ok e' ->
  create_inv c e' -> walk_inv e' -> walk_held c e' ->
  (st <> Abi.Success -> e' = e) -> (st = Abi.Success -> P) ->
  (st = Abi.Success -> Inv c (abs_ms c e) -> Inv c (abs_ms c e')) ->
  refine_inv c e' /\ (st <> Abi.Success -> e' = e) /\ (st = Abi.Success -> P) /\
  (Inv c (abs_ms c e) -> Inv c (abs_ms c e')).
Proof.
  intros c e e' st P R [Ecfg Ho'] Hc' Hwi' Hh' Herr HP HI.
  split; [exact (refine_inv_step c e e' R Ecfg Hc' Hwi' Hh' Ho')|]. split; [exact Herr|]. split; [exact HP|].
  destruct (Z.eq_dec st Abi.Success) as [Es|Ne]; [exact (HI Es)|]. rewrite (Herr Ne). exact (fun I => I).
Qed.

(** ** The ledger and the configuration after the memory calls *)

Theorem MemShare_ledger_after : forall c e tr id pa ipa n perms st e' tr', refine_inv c e ->
  0 <= id < 2 ^ 64 -> 0 <= pa < 2 ^ 64 -> 0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 -> 0 <= perms < 2 ^ 64 ->
  Isolation.Engine_MemShare root id pa ipa n perms e tr = Ok st e' tr' ->
  Isolation.Engine_cfg e' = Isolation.Engine_cfg e /\ owners_ok e'.
Proof.
  intros c e tr id pa ipa n perms st e' tr' (Hc & Hwi & _ & Hrok & Ho & Hvms & _) Hid Hpa Hipa Hn Hperms Hrun.
  pose proof Hwi as [[Hi _] Hwb]. pose proof Hc as (_ & _ & Hcfg & _ & _ & Hf & Hs).
  destruct (MemShare_walks e tr id pa ipa n perms st e' tr' Hi Hwb (proj2 Hrok) Hid Hpa Hipa Hn Hrun) as [Herr _].
  destruct (Z.eq_dec st Abi.Success) as [->|Ne]; [|rewrite (Herr Ne); split; [reflexivity|exact Ho]].
  destruct (MemShare_ledger_refine c e (abs_state c e (fun _ => 0%nat) (fun _ _ _ => 0%nat)) tr id pa ipa n perms e' tr'
    (proj1 Hi) Hrok (proj1 Hcfg) eq_refl (vms_rel_abs c e Hcfg Hf) (s2_rel_abs c e Hcfg Hs) Hvms
    Hid Hpa Hipa Hn Hperms Hrun) as (_ & _ & _ & _ & Ecfg & Ho').
  exact (conj Ecfg (Ho' Ho)).
Qed.

Theorem MemDonate_ledger_after : forall c e tr id pa ipa n perms st e' tr', refine_inv c e ->
  0 <= id < 2 ^ 64 -> 0 <= pa < 2 ^ 64 -> 0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 -> 0 <= perms < 2 ^ 64 ->
  Isolation.Engine_MemDonate root id pa ipa n perms e tr = Ok st e' tr' ->
  Isolation.Engine_cfg e' = Isolation.Engine_cfg e /\ owners_ok e'.
Proof.
  intros c e tr id pa ipa n perms st e' tr' (Hc & Hwi & _ & Hrok & Ho & Hvms & _) Hid Hpa Hipa Hn Hperms Hrun.
  pose proof Hwi as [[Hi _] Hwb]. pose proof Hc as (_ & _ & Hcfg & _ & _ & Hf & Hs).
  destruct (MemDonate_walks e tr id pa ipa n perms st e' tr' Hi Hwb (proj2 Hrok) Hid Hpa Hipa Hn Hrun) as [Herr _].
  destruct (Z.eq_dec st Abi.Success) as [->|Ne]; [|rewrite (Herr Ne); split; [reflexivity|exact Ho]].
  destruct (MemDonate_ledger_refine c e (abs_state c e (fun _ => 0%nat) (fun _ _ _ => 0%nat)) tr id pa ipa n perms e' tr'
    (proj1 Hi) Hrok (proj1 Hcfg) eq_refl (vms_rel_abs c e Hcfg Hf) (s2_rel_abs c e Hcfg Hs) Hvms
    Hid Hpa Hipa Hn Hperms Hrun) as (_ & _ & _ & _ & Ecfg & Ho').
  exact (conj Ecfg (Ho' Ho)).
Qed.

Theorem MemReclaim_ledger_after : forall c e tr pa n st e' tr', refine_inv c e ->
  0 <= pa < 2 ^ 64 -> 0 <= n < 2 ^ 64 ->
  Isolation.Engine_MemReclaim root pa n e tr = Ok st e' tr' ->
  Isolation.Engine_cfg e' = Isolation.Engine_cfg e /\ owners_ok e'.
Proof.
  intros c e tr pa n st e' tr' (Hc & Hwi & _ & Hrok & Ho & _ & _) Hpa Hn Hrun.
  pose proof Hwi as [[Hi _] _]. pose proof Hc as (_ & _ & Hcfg & _).
  destruct (MemReclaim_walks e tr pa n st e' tr' Hi (proj2 Hrok) Hpa Hn Hrun) as (Herr & _).
  destruct (Z.eq_dec st Abi.Success) as [->|Ne]; [|rewrite (Herr Ne); split; [reflexivity|exact Ho]].
  destruct (MemReclaim_ledger_refine c e (abs_state c e (fun _ => 0%nat) (fun _ _ _ => 0%nat)) tr pa n e' tr'
    Hrok Ho (proj1 Hcfg) eq_refl Hpa Hn Hrun) as (_ & _ & _ & _ & Ecfg & Ho').
  exact (conj Ecfg Ho').
Qed.

(** MEM_UNSHARE keeps the configuration and [owners_ok], and the model's
    ledger after it gives some pages to the host, unshared, and leaves
    every other as it was. *)
Theorem MemUnshare_ledger_after : forall c e tr id ipa n st e' tr', refine_inv c e ->
  0 <= id < 2 ^ 64 -> 0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 ->
  Isolation.Engine_MemUnshare root id ipa n e tr = Ok st e' tr' ->
  Isolation.Engine_cfg e' = Isolation.Engine_cfg e /\ owners_ok e' /\
  exists r : nat -> bool, forall p,
    ms_pages (abs_ms c e') p = if r p then mkPage OHost NotShared else ms_pages (abs_ms c e) p.
Proof.
  intros c e tr id ipa n st e' tr' (Hc & Hwi & _ & _ & Ho & _ & _) Hid Hipa Hn Hrun.
  pose proof Hwi as [[Hi _] Hwb]. pose proof Hc as (_ & _ & Hcfg & _).
  destruct (MemUnshare_walks e tr id ipa n st e' tr' Hi Hwb Hid Hipa Hn Hrun) as [Herr Hsucc].
  destruct (Z.eq_dec st Abi.Success) as [Es|Ne].
  2:{ rewrite (Herr Ne). split; [reflexivity|]. split; [exact Ho|]. exists (fun _ => false). reflexivity. }
  destruct (Hsucc Es) as (m & _ & _ & _ & _ & _ & _ & Hmp & _ & _ & Ecfg & Hps & Hled & _).
  split; [exact Ecfg|]. split.
  - unfold owners_ok in *. rewrite Forall_forall in *. intros pg Hin.
    apply In_nth with (d := Isolation.zero_page) in Hin as (j & Hj & <-). rewrite Hled. unfold unshare_ledger.
    destruct (existsb _ _); [unfold entry_ok, Abi.OwnerHost, Isolation.HostVMID; cbn; lia|].
    apply Ho. apply nth_In. unfold len in Hps. lia.
  - exists (fun p => in_ram c p && unshared_page e (Isolation.vm_s2 m) ipa (Z.to_nat n) p). intros p.
    cbn [abs_ms ms_pages]. apply (unshare_abs_pages c e e' _ ipa (Z.to_nat n) (proj1 Hcfg)); [|exact Hled].
    intros i Hi'. destruct (Hmp i Hi') as (pa & w & Hw & Hr). unfold walk_pa. rewrite Hw. exact Hr.
Qed.

(** ** The memory calls from [refine_inv] *)

(** MEM_SHARE from [refine_inv], for any arguments below 2^64: it never
    fails, keeps [refine_inv], changes nothing unless it answers SUCCESS,
    on SUCCESS refines [Spec.mem_share] whole, and keeps [Inv]. *)
Theorem MemShare_refine_inv : forall c e tr id pa ipa n perms mem regs, refine_inv c e ->
  0 <= id < 2 ^ 64 -> 0 <= pa < 2 ^ 64 -> 0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 -> 0 <= perms < 2 ^ 64 ->
  exists st e' tr', Isolation.Engine_MemShare root id pa ipa n perms e tr = Ok st e' tr' /\ refine_inv c e' /\
    (st <> Abi.Success -> e' = e) /\
    (st = Abi.Success -> exists s', mem_share c (abs_state c e mem regs) (Z.to_nat id) (Z.to_nat pa) (Z.to_nat ipa)
       (Z.to_nat n) (Z.to_nat perms) = (s', ok0) /\ ms_eq (st_meta s') (abs_ms c e')) /\
    (Inv c (abs_ms c e) -> Inv c (abs_ms c e')).
Proof.
  intros c e tr id pa ipa n perms mem regs R Hid Hpa Hipa Hn Hperms.
  pose proof R as (Hc & Hwi & H & Hrok & _ & Hvms & _).
  destruct (MemShare_keeps_all c e tr id pa ipa n perms Hc Hwi H Hrok Hvms Hid Hpa Hipa Hn Hperms)
    as (st & e' & tr' & Hrun & Hc' & Hwi' & H').
  pose proof Hwi as [[Hi _] Hwb].
  exists st, e', tr'. split; [exact Hrun|].
  apply (refine_inv_outcome c e e' st _ R
    (MemShare_ledger_after c e tr id pa ipa n perms st e' tr' R Hid Hpa Hipa Hn Hperms Hrun) Hc' Hwi' H'
    (proj1 (MemShare_walks e tr id pa ipa n perms st e' tr' Hi Hwb (proj2 Hrok) Hid Hpa Hipa Hn Hrun))).
  - intros ->. exact (MemShare_refines c e tr id pa ipa n perms e' tr' mem regs Hc Hwi H Hrok Hvms
      Hid Hpa Hipa Hn Hperms Hrun).
  - intros ->. exact (MemShare_keeps_Inv c e tr id pa ipa n perms e' tr' Hc Hwi H Hrok Hvms Hid Hpa Hipa Hn Hperms Hrun).
Qed.

(** MEM_DONATE likewise, refining [Spec.mem_donate]. *)
Theorem MemDonate_refine_inv : forall c e tr id pa ipa n perms mem regs, refine_inv c e ->
  0 <= id < 2 ^ 64 -> 0 <= pa < 2 ^ 64 -> 0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 -> 0 <= perms < 2 ^ 64 ->
  exists st e' tr', Isolation.Engine_MemDonate root id pa ipa n perms e tr = Ok st e' tr' /\ refine_inv c e' /\
    (st <> Abi.Success -> e' = e) /\
    (st = Abi.Success -> exists s', mem_donate c (abs_state c e mem regs) (Z.to_nat id) (Z.to_nat pa) (Z.to_nat ipa)
       (Z.to_nat n) (Z.to_nat perms) = (s', ok0) /\ ms_eq (st_meta s') (abs_ms c e')) /\
    (Inv c (abs_ms c e) -> Inv c (abs_ms c e')).
Proof.
  intros c e tr id pa ipa n perms mem regs R Hid Hpa Hipa Hn Hperms.
  pose proof R as (Hc & Hwi & H & Hrok & _ & Hvms & _).
  destruct (MemDonate_keeps_all c e tr id pa ipa n perms Hc Hwi H Hrok Hvms Hid Hpa Hipa Hn Hperms)
    as (st & e' & tr' & Hrun & Hc' & Hwi' & H').
  pose proof Hwi as [[Hi _] Hwb].
  exists st, e', tr'. split; [exact Hrun|].
  apply (refine_inv_outcome c e e' st _ R
    (MemDonate_ledger_after c e tr id pa ipa n perms st e' tr' R Hid Hpa Hipa Hn Hperms Hrun) Hc' Hwi' H'
    (proj1 (MemDonate_walks e tr id pa ipa n perms st e' tr' Hi Hwb (proj2 Hrok) Hid Hpa Hipa Hn Hrun))).
  - intros ->. exact (MemDonate_refines c e tr id pa ipa n perms e' tr' mem regs Hc Hwi H Hrok Hvms
      Hid Hpa Hipa Hn Hperms Hrun).
  - intros ->. exact (MemDonate_keeps_Inv c e tr id pa ipa n perms e' tr' Hc Hwi H Hrok Hvms Hid Hpa Hipa Hn Hperms Hrun).
Qed.

(** MEM_RECLAIM likewise, refining [Spec.mem_reclaim]. *)
Theorem MemReclaim_refine_inv : forall c e tr pa n mem regs, refine_inv c e ->
  0 <= pa < 2 ^ 64 -> 0 <= n < 2 ^ 64 ->
  exists st e' tr', Isolation.Engine_MemReclaim root pa n e tr = Ok st e' tr' /\ refine_inv c e' /\
    (st <> Abi.Success -> e' = e) /\
    (st = Abi.Success -> exists s', mem_reclaim c (abs_state c e mem regs) (Z.to_nat pa) (Z.to_nat n) = (s', ok0) /\
       ms_eq (st_meta s') (abs_ms c e')) /\
    (Inv c (abs_ms c e) -> Inv c (abs_ms c e')).
Proof.
  intros c e tr pa n mem regs R Hpa Hn.
  pose proof R as (Hc & Hwi & H & Hrok & Ho & _ & _).
  pose proof Hwi as [Hei Hwb]. pose proof Hei as [Hi _]. pose proof Hc as (_ & _ & Hcfg & _).
  destruct (MemReclaim_create_inv c e tr pa n Hc Hei (proj2 Hrok) Hpa Hn) as (st & e' & tr' & Hrun & Hc' & Hei').
  exists st, e', tr'. split; [exact Hrun|].
  apply (refine_inv_outcome c e e' st _ R (MemReclaim_ledger_after c e tr pa n st e' tr' R Hpa Hn Hrun) Hc'
    (conj Hei' (MemReclaim_walks_below e tr pa n st e' tr' Hi Hwb (proj2 Hrok) Hpa Hn Hrun))
    (MemReclaim_walk_held c e tr pa n st e' tr' Hcfg Ho Hei H (proj2 Hrok) Hpa Hn Hrun)
    (proj1 (MemReclaim_walks e tr pa n st e' tr' Hi (proj2 Hrok) Hpa Hn Hrun))).
  - intros ->. exact (MemReclaim_refines c e tr pa n e' tr' mem regs Hi (proj1 Hwb) Hcfg Hrok Ho Hpa Hn Hrun).
  - intros ->. exact (MemReclaim_keeps_Inv c e tr pa n e' tr' Hi (proj1 Hwb) Hcfg Hrok Ho Hpa Hn Hrun).
Qed.

(** MEM_UNSHARE likewise, refining [Spec.mem_unshare], its errors
    included: each is the model's status, or NO_MEMORY. *)
Theorem MemUnshare_refine_inv : forall c e tr id ipa n mem regs, refine_inv c e ->
  0 <= id < 2 ^ 64 -> 0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 ->
  exists st e' tr', Isolation.Engine_MemUnshare root id ipa n e tr = Ok st e' tr' /\ refine_inv c e' /\
    (st <> Abi.Success -> e' = e) /\
    (st = Abi.Success -> exists s', mem_unshare c (abs_state c e mem regs) (Z.to_nat id) (Z.to_nat ipa) (Z.to_nat n) =
       (s', ok0) /\ ms_eq (st_meta s') (abs_ms c e')) /\
    (Inv c (abs_ms c e) -> Inv c (abs_ms c e')) /\
    (st <> Abi.Success -> st = Abi.NoMemory \/ exists sst,
       mem_unshare c (abs_state c e mem regs) (Z.to_nat id) (Z.to_nat ipa) (Z.to_nat n) =
         (abs_state c e mem regs, err sst) /\ go_status sst = st).
Proof.
  intros c e tr id ipa n mem regs R Hid Hipa Hn.
  pose proof R as (Hc & Hwi & H & _ & Ho & Hvms & _). pose proof Hwi as [[Hi _] Hwb].
  destruct (MemUnshare_walk_inv e tr id ipa n Hwi Hid Hipa Hn) as (st & e' & tr' & Hrun & Hwi').
  exists st, e', tr'. split; [exact Hrun|].
  destruct (MemUnshare_ledger_after c e tr id ipa n st e' tr' R Hid Hipa Hn Hrun) as (Ecfg & Ho' & _).
  assert (Herr : st <> Abi.Success -> st = Abi.NoMemory \/ exists sst,
       mem_unshare c (abs_state c e mem regs) (Z.to_nat id) (Z.to_nat ipa) (Z.to_nat n) =
         (abs_state c e mem regs, err sst) /\ go_status sst = st)
    by (intros Ne; exact (proj2 (proj2 (MemUnshare_errors_refine c e tr id ipa n st e' tr' mem regs Hc Hwi Ho Hvms
          Hid Hipa Hn Hrun Ne)))).
  cut (refine_inv c e' /\ (st <> Abi.Success -> e' = e) /\
    (st = Abi.Success -> exists s', mem_unshare c (abs_state c e mem regs) (Z.to_nat id) (Z.to_nat ipa) (Z.to_nat n) =
       (s', ok0) /\ ms_eq (st_meta s') (abs_ms c e')) /\
    (Inv c (abs_ms c e) -> Inv c (abs_ms c e'))); [intros (R' & E & S & I); auto|].
  apply (refine_inv_outcome c e e' st _ R (conj Ecfg Ho')
    (MemUnshare_create_inv c e tr id ipa n st e' tr' Hc Hwi Hid Hipa Hn Hrun) Hwi'
    (MemUnshare_walk_held c e tr id ipa n st e' tr' Hc Hwi H Hid Hipa Hn Hrun)
    (proj1 (MemUnshare_walks e tr id ipa n st e' tr' Hi Hwb Hid Hipa Hn Hrun))).
  - intros ->. exact (MemUnshare_refines c e tr id ipa n e' tr' mem regs Hc Hwi Hvms Hid Hipa Hn Hrun).
  - intros ->. exact (MemUnshare_keeps_Inv c e tr id ipa n e' tr' Hc Hwi Hvms Hid Hipa Hn Hrun).
Qed.

(** ** VM_CREATE from [refine_inv] *)

(** VM_CREATE from [refine_inv], for any count below 2^64 and any flags:
    it never fails, keeps [refine_inv] (it writes one slot and the pool,
    never the ledger or the configuration), keeps [Inv], and either
    answers as the model does with the abstraction after it the model's
    metadata after the step, or answers NO_MEMORY (no free stage-2 root,
    which the model does not have) leaving the abstraction as it was
    ([VMCreate_refines]). *)
Theorem VMCreate_refine_inv : forall c e tr mem regs n flags, refine_inv c e -> Z.of_nat n < 2 ^ 64 ->
  exists id st e', Isolation.Engine_VMCreate root (Z.of_nat n) (Z.of_nat flags) e tr = Ok (id, st) e' tr /\
    refine_inv c e' /\
    (let r := vm_create c (abs_state c e mem regs) n flags in
     (exists sst vs, snd r = ORet sst vs /\ go_status sst = st /\
        (sst = SUCCESS -> vs = [Z.to_nat id]) /\ (sst <> SUCCESS -> id = 0) /\ ms_eq (st_meta (fst r)) (abs_ms c e'))
     \/
     (st = Abi.NoMemory /\ id = 0 /\ (exists vs, snd r = ORet SUCCESS vs) /\ ms_eq (abs_ms c e') (abs_ms c e))) /\
    (Inv c (abs_ms c e) -> Inv c (abs_ms c e')).
Proof.
  intros c e tr mem regs n flags R Hn.
  pose proof R as (Hc & Hwi & H & _ & Ho & Hvms & HM & _).
  pose proof Hc as (Hco & Hok & Hcfg & Hhost & Hown & _).
  destruct (VMCreate_refines c e tr mem regs n flags Hco Hok Hcfg HM ltac:(lia) Hhost Hown Hn)
    as (id & st & e' & Hrun & Href).
  destruct (VMCreate_walk_inv c e tr (Z.of_nat n) (Z.of_nat flags) Hc Hwi ltac:(lia)) as (r & e2 & Hrun2 & Hc' & Hwi').
  rewrite Hrun in Hrun2. injection Hrun2 as <- <-.
  destruct (VMCreate_walk_cases e tr (Z.of_nat n) (Z.of_nat flags) (id, st) e' tr Hco Hok Hhost Hown ltac:(lia) Hrun)
    as (Ep & _).
  destruct (VMCreate_shape c e tr (Z.of_nat n) (Z.of_nat flags) (id, st) e' tr Hco ltac:(lia) Hrun) as (Ecfg & _).
  exists id, st, e'. split; [exact Hrun|].
  split; [apply (refine_inv_step c e e' R Ecfg Hc' Hwi'
    (VMCreate_walk_held c e tr (Z.of_nat n) (Z.of_nat flags) (id, st) e' tr Hc H ltac:(lia) Hrun));
    unfold owners_ok; rewrite Ep; exact Ho|].
  split; [exact Href|].
  exact (VMCreate_Inv c e tr n flags (id, st) e' tr Hco Hok Hcfg HM ltac:(lia) Hhost Hown Hn Hrun).
Qed.

(** ** VM_DESTROY from [refine_inv] *)

(** [releasePages] leaves [entry_ok] entries. *)
Lemma release_entry_ok : forall id pg, entry_ok pg -> entry_ok (release_page id pg).
Proof.
  intros id [o v sh b] H. unfold release_page, entry_ok, Abi.OwnerNone in *. cbn in *.
  destruct (_ && _); [cbn; lia|]. destruct (_ && _); cbn; lia.
Qed.

(** VM_DESTROY of a VM sharing no page with the host keeps the
    configuration and [owners_ok], changes nothing unless it answers
    SUCCESS, and changes the ledger only as [releasePages] does. *)
Theorem VMDestroy_ledger_after : forall c e tr id st e' tr', refine_inv c e -> 0 <= id < 2 ^ 64 -> unshared_at e id ->
  Isolation.Engine_VMDestroy root id e tr = Ok st e' tr' ->
  (Isolation.Engine_cfg e' = Isolation.Engine_cfg e /\ owners_ok e') /\ (st <> Abi.Success -> e' = e) /\
  (e' = e \/ 1 <= id /\ Isolation.Engine_pages e' = map (release_page id) (Isolation.Engine_pages e)).
Proof.
  intros c e tr id st e' tr' (Hc & Hwi & _ & _ & Ho & Hvms & _) Hid Hun Hrun.
  pose proof Hwi as [[Hi Hs] _].
  pose proof Hi as (Hm & (Hp & _ & _ & Hown2 & _) & _). pose proof Hp as (_ & Hpok & _ & _ & Hplat).
  destruct (VMDestroy_unshared_cases e tr id Hm Hs Hpok Hplat ltac:(lia) Hid
    (fun m _ Hn Hl => or_intror (Hown2 m (nth_error_In _ _ Hn) Hl)) Hun)
    as (st0 & e0 & tr0 & Hrun0 & [[E Ne]|(i & m & _ & _ & _ & ((Ecfg & _) & _) & Hpg & Es & _ & Hid1)]);
    rewrite Hrun in Hrun0; injection Hrun0 as E1 E2 _; subst st0 e0.
  - subst e'. split; [split; [reflexivity|exact Ho]|split; [intros _; reflexivity|left; reflexivity]].
  - split; [|split; [intros Ne; contradiction|right; split; assumption]]. split; [exact Ecfg|].
    unfold owners_ok in *. rewrite Hpg. apply Forall_map. rewrite Forall_forall in *.
    intros x Hx. apply release_entry_ok. exact (Ho x Hx).
Qed.

(** VM_DESTROY from [refine_inv] and [Inv], for a vmid below 2^64 whose
    VM, if live, shares no page with the host: it never fails, keeps
    [refine_inv] and [Inv], changes nothing unless it answers SUCCESS,
    and on SUCCESS refines [Spec.vm_destroy] whole
    ([VMDestroy_refines]). *)
Theorem VMDestroy_refine_inv : forall c e tr id mem regs, refine_inv c e -> 0 <= id < 2 ^ 64 -> unshared_at e id ->
  Inv c (abs_ms c e) ->
  exists st e' tr', Isolation.Engine_VMDestroy root id e tr = Ok st e' tr' /\ refine_inv c e' /\
    (st <> Abi.Success -> e' = e) /\
    (st = Abi.Success -> exists s', vm_destroy c (abs_state c e mem regs) (Z.to_nat id) = (s', ok0) /\
       ms_eq (st_meta s') (abs_ms c e')) /\
    Inv c (abs_ms c e').
Proof.
  intros c e tr id mem regs R Hid Hun I.
  pose proof R as (Hc & Hwi & H & _ & Ho & Hvms & _). pose proof Hwi as [Hei _].
  destruct (VMDestroy_walk_inv e tr id Hwi ltac:(lia) Hid Hun) as (st & e' & tr' & Hrun & Hwi').
  destruct (VMDestroy_create_inv c e tr id Hc Hei ltac:(lia) Hid Hun) as (st1 & e1 & tr1 & Hrun1 & Hc' & _).
  rewrite Hrun in Hrun1. injection Hrun1 as <- <- <-.
  destruct (VMDestroy_walk_held c e tr id Hc Hei H ltac:(lia) Hid Hun) as (st2 & e2 & tr2 & Hrun2 & H').
  rewrite Hrun in Hrun2. injection Hrun2 as <- <- <-.
  destruct (VMDestroy_ledger_after c e tr id st e' tr' R Hid Hun Hrun) as (Hl & Herr & _).
  exists st, e', tr'. split; [exact Hrun|].
  assert (Href : st = Abi.Success -> exists s', vm_destroy c (abs_state c e mem regs) (Z.to_nat id) = (s', ok0) /\
       ms_eq (st_meta s') (abs_ms c e')).
  { intros ->. exact (VMDestroy_refines c e tr id e' tr' mem regs Hc Hei Ho ltac:(lia) Hid Hun I Hrun). }
  destruct (refine_inv_outcome c e e' st _ R Hl Hc' Hwi' H' Herr Href) as (R' & Herr' & Href' & HI).
  - intros Es. apply (step_ok_keeps_Inv c e e' mem regs (fun s => vm_destroy c s (Z.to_nat id)));
      [intros s; apply Invariants.vm_destroy_inv|exact (Href Es)].
  - split; [exact R'|]. split; [exact Herr'|]. split; [exact Href'|exact (HI I)].
Qed.

(** ** VCPU_INIT and VCPU_IRQ from [refine_inv] *)

(** A call that writes at most one slot's vCPUs or shadow state, keeping
    the ledger, the configuration and the invariants of the calls that
    write one slot, keeps [refine_inv]. *)
Lemma slot_store_refine_inv : forall c e e', refine_inv c e ->
  Isolation.Engine_pages e' = Isolation.Engine_pages e -> Isolation.Engine_cfg e' = Isolation.Engine_cfg e ->
  (walk_held c e' /\ create_rest c e') /\ (walks_below e' /\ mem_inv e') -> shadow_inv e' -> refine_inv c e'.
Proof.
  intros c e e' R Ep Ec ((Hh' & Hr') & (Hwb' & Hm')) Hs'. pose proof R as (_ & _ & _ & _ & Ho & _).
  apply (refine_inv_step c e e' R Ec (create_inv_rest c e' (proj1 Hs') Hr') (conj (conj Hm' Hs') Hwb') Hh').
  unfold owners_ok. rewrite Ep. exact Ho.
Qed.

(** A call that writes at most one vCPU and keeps the invariants of the
    calls that write one slot keeps [refine_inv] and every page. *)
Lemma vcpu_store_refine_inv : forall c e e', refine_inv c e -> vcpu_store e e' ->
  (walk_held c e' /\ create_rest c e') /\ (walks_below e' /\ mem_inv e') -> shadow_inv e' ->
  refine_inv c e' /\ Isolation.Engine_pages e' = Isolation.Engine_pages e.
Proof.
  intros c e e' R Hst HP' Hs'.
  assert (Ep : Isolation.Engine_pages e' = Isolation.Engine_pages e /\ Isolation.Engine_cfg e' = Isolation.Engine_cfg e).
  { destruct Hst as [->|(i & m & j & c0 & _ & ->)]; [split; reflexivity|].
    pose proof (put_vcpu_pages e i m j c0) as (A & _ & B). split; assumption. }
  split; [exact (slot_store_refine_inv c e e' R (proj1 Ep) (proj2 Ep) HP' Hs')|exact (proj1 Ep)].
Qed.

(** Likewise a call that writes at most one slot's shadow state. *)
Lemma shadow_store_refine_inv : forall c e e', refine_inv c e -> shadow_store e e' ->
  (walk_held c e' /\ create_rest c e') /\ (walks_below e' /\ mem_inv e') -> shadow_inv e' ->
  refine_inv c e' /\ Isolation.Engine_pages e' = Isolation.Engine_pages e.
Proof.
  intros c e e' R Hst HP' Hs'.
  assert (Ep : Isolation.Engine_pages e' = Isolation.Engine_pages e /\ Isolation.Engine_cfg e' = Isolation.Engine_cfg e).
  { destruct Hst as [->|(i & m & sh & _ & ->)]; [split; reflexivity|].
    pose proof (put_shadow_pages e i m sh) as (A & _ & B). split; assumption. }
  split; [exact (slot_store_refine_inv c e e' R (proj1 Ep) (proj2 Ep) HP' Hs')|exact (proj1 Ep)].
Qed.

(** What the calls that write one slot keep, from [refine_inv]. *)
Lemma slot_keeps_of : forall c e, refine_inv c e ->
  (fun e => (walk_held c e /\ create_rest c e) /\ (walks_below e /\ mem_inv e)) e /\ shadow_inv e /\
  store_stable (fun e => (walk_held c e /\ create_rest c e) /\ (walks_below e /\ mem_inv e)).
Proof.
  intros c e (Hc & Hwi & H & _). pose proof Hwi as [[Hm Hs] Hwb].
  split; [exact (conj (conj H (rest_of_create_inv c e Hc)) (conj Hwb Hm))|]. split; [exact Hs|].
  exact (store_stable_and _ _ (held_rest_stable c) walks_below_stable).
Qed.

(** VCPU_INIT from [refine_inv] and [Inv], for any 64-bit vmid, vCPU,
    entry and argument: it never fails, keeps [refine_inv] and [Inv]
    (writing one vCPU changes no page, no walk and no configuration),
    and answers as the model's step does with the abstraction after it
    the model's metadata after the step ([VCPUInit_refines]). *)
Theorem VCPUInit_refine_inv : forall c e tr id v entry arg mem regs, refine_inv c e ->
  0 <= id < 2 ^ 64 -> 0 <= v < 2 ^ 64 -> 0 <= entry < 2 ^ 64 -> 0 <= arg < 2 ^ 64 -> Inv c (abs_ms c e) ->
  exists st e', Isolation.Engine_VCPUInit root id v entry arg e tr = Ok st e' tr /\ refine_inv c e' /\
    Isolation.Engine_pages e' = Isolation.Engine_pages e /\
    (let r := vcpu_init c (abs_state c e mem regs) (Z.to_nat id) (Z.to_nat v) (Z.to_nat entry) (Z.to_nat arg) in
     exists sst, snd r = ORet sst [] /\ go_status sst = st /\ ms_eq (st_meta (fst r)) (abs_ms c e')) /\
    Inv c (abs_ms c e').
Proof.
  intros c e tr id v entry arg mem regs R Hid Hv He Ha I.
  destruct (slot_keeps_of c e R) as (HP & Hs & Hstab).
  destruct (VCPUInit_keeps _ e tr id v entry arg Hstab HP Hs Hid Hv) as (st & e' & Hrun & HP' & Hs').
  destruct (VCPUInit_no_failure e tr id v entry arg (proj1 Hs) Hid Hv) as (st0 & e0 & Hrun0 & _ & Hst & _).
  rewrite Hrun in Hrun0. injection Hrun0 as <- <-.
  destruct (VCPUInit_refines c e tr id v entry arg mem regs (proj1 R) Hid Hv He Ha) as (st1 & e1 & Hrun1 & Href).
  rewrite Hrun in Hrun1. injection Hrun1 as <- <-.
  destruct (vcpu_store_refine_inv c e e' R Hst HP' Hs') as [R' Ep].
  exists st, e'. split; [exact Hrun|]. split; [exact R'|]. split; [exact Ep|]. split; [exact Href|].
  cbv zeta in Href. destruct Href as (sst & _ & _ & Heq).
  apply (step_keeps_Inv c e e' mem regs (fun s => vcpu_init c s (Z.to_nat id) (Z.to_nat v) (Z.to_nat entry) (Z.to_nat arg)));
    [intros s; apply Invariants.vcpu_init_inv|exact Heq|exact I].
Qed.

(** VCPU_IRQ likewise ([VCPUIRQ_refines]). *)
Theorem VCPUIRQ_refine_inv : forall c e tr id v intid level mem regs, refine_inv c e ->
  0 <= id < 2 ^ 64 -> 0 <= v < 2 ^ 64 -> 0 <= intid < 2 ^ 64 -> 0 <= level < 2 ^ 64 -> Inv c (abs_ms c e) ->
  exists st e', Isolation.Engine_VCPUIRQ root id v intid level e tr = Ok st e' tr /\ refine_inv c e' /\
    Isolation.Engine_pages e' = Isolation.Engine_pages e /\
    (let r := vcpu_irq c (abs_state c e mem regs) (Z.to_nat id) (Z.to_nat v) (Z.to_nat intid) (Z.to_nat level) in
     exists sst, snd r = ORet sst [] /\ go_status sst = st /\ ms_eq (st_meta (fst r)) (abs_ms c e')) /\
    Inv c (abs_ms c e').
Proof.
  intros c e tr id v intid level mem regs R Hid Hv Hi Hl I.
  destruct (slot_keeps_of c e R) as (HP & Hs & Hstab).
  destruct (VCPUIRQ_keeps _ e tr id v intid level Hstab HP Hs Hid Hv Hi) as (st & e' & Hrun & HP' & Hs').
  destruct (VCPUIRQ_inv e tr id v intid level (proj1 Hs) Hid Hv Hi) as (st0 & e0 & Hrun0 & _ & Hst & _).
  rewrite Hrun in Hrun0. injection Hrun0 as <- <-.
  destruct (VCPUIRQ_refines c e tr id v intid level mem regs (proj1 R) Hid Hv Hi Hl) as (st1 & e1 & Hrun1 & Href).
  rewrite Hrun in Hrun1. injection Hrun1 as <- <-.
  destruct (vcpu_store_refine_inv c e e' R Hst HP' Hs') as [R' Ep].
  exists st, e'. split; [exact Hrun|]. split; [exact R'|]. split; [exact Ep|]. split; [exact Href|].
  cbv zeta in Href. destruct Href as (sst & _ & _ & Heq).
  apply (step_keeps_Inv c e e' mem regs
    (fun s => vcpu_irq c s (Z.to_nat id) (Z.to_nat v) (Z.to_nat intid) (Z.to_nat level)));
    [intros s; apply Invariants.vcpu_irq_inv|exact Heq|exact I].
Qed.

(** ** MMIO_LOG_READ from [refine_inv] *)

(** MMIO_LOG_READ from [refine_inv] and [Inv], for any 64-bit vmid: it
    never fails, keeps [refine_inv] and [Inv] (writing one slot's shadow
    state changes no page, no walk and no configuration), and answers
    as the model's step does, results included, with the abstraction
    after it the model's metadata after the step ([MMIOLogRead_refines]). *)
Theorem MMIOLogRead_refine_inv : forall c e tr id mem regs, refine_inv c e -> 0 <= id < 2 ^ 64 ->
  Inv c (abs_ms c e) ->
  exists n packed st e', Isolation.Engine_MMIOLogRead root id e tr = Ok (n, packed, st) e' tr /\ refine_inv c e' /\
    Isolation.Engine_pages e' = Isolation.Engine_pages e /\
    (let r := mmio_log_read c (abs_state c e mem regs) (Z.to_nat id) in
     exists sst vals, snd r = ORet sst vals /\ go_status sst = st /\
       (st = Abi.Success -> vals = Z.to_nat n :: map Z.to_nat packed) /\ ms_eq (st_meta (fst r)) (abs_ms c e')) /\
    Inv c (abs_ms c e').
Proof.
  intros c e tr id mem regs R Hid I.
  destruct (slot_keeps_of c e R) as (HP & Hs & Hstab).
  destruct (MMIOLogRead_keeps _ e tr id Hstab HP Hs Hid) as (r & e' & Hrun & HP' & Hs').
  destruct (MMIOLogRead_no_failure e tr id Hs Hid) as (n0 & p0 & st0 & e0 & Hrun0 & _ & _ & _ & Hst).
  rewrite Hrun in Hrun0. injection Hrun0 as -> <-.
  destruct (MMIOLogRead_refines c e tr id mem regs (proj1 R) Hs Hid) as (n & packed & st & e1 & Hrun1 & Href).
  rewrite Hrun in Hrun1. injection Hrun1 as <- <- <- <-.
  destruct (shadow_store_refine_inv c e e' R Hst HP' Hs') as [R' Ep].
  exists n0, p0, st0, e'. split; [exact Hrun|].
  split; [exact R'|]. split; [exact Ep|]. split; [exact Href|].
  cbv zeta in Href. destruct Href as (sst & vals & _ & _ & _ & Heq).
  apply (step_keeps_Inv c e e' mem regs (fun s => mmio_log_read c s (Z.to_nat id)));
    [intros s Is; exact (Invariants.step_inv c s (AHost (HMMIOLogRead (Z.to_nat id))) Is)|exact Heq|exact I].
Qed.

(** ** MMIO_SHADOW from [refine_inv] *)

(** MMIO_SHADOW from [refine_inv] and [Inv], for 64-bit arguments: it
    never fails, keeps [refine_inv] and [Inv] (writing one slot's shadow
    registers changes no page, no walk and no configuration), and
    answers the model's status, with the abstraction after it the
    model's metadata after the step ([MMIOShadow_refines_windows]). *)
Theorem MMIOShadow_refine_inv : forall c e tr id ipa mode value mem regs, refine_inv c e ->
  0 <= id < 2 ^ 64 -> 0 <= ipa < 2 ^ 64 -> 0 <= mode < 2 ^ 64 -> 0 <= value < 2 ^ 64 -> Inv c (abs_ms c e) ->
  exists st e', Isolation.Engine_MMIOShadow root id ipa mode value e tr = Ok st e' tr /\ refine_inv c e' /\
    Isolation.Engine_pages e' = Isolation.Engine_pages e /\
    (let r := mmio_shadow c (abs_state c e mem regs) (Z.to_nat id) (Z.to_nat ipa) (Z.to_nat mode) (Z.to_nat value) in
     exists sst, snd r = ORet sst [] /\ go_status sst = st /\ ms_eq (st_meta (fst r)) (abs_ms c e')) /\
    Inv c (abs_ms c e').
Proof.
  intros c e tr id ipa mode value mem regs R Hid Hipa Hmode Hval I.
  pose proof R as (Hc & _ & _ & _ & _ & _ & _ & Hw & _).
  destruct (slot_keeps_of c e R) as (HP & Hs & Hstab).
  destruct (MMIOShadow_keeps _ e tr id ipa mode value Hstab HP Hs Hid ltac:(lia)) as (st & e' & Hrun & HP' & Hs').
  destruct (MMIOShadow_no_failure e tr id ipa mode value Hs Hid ltac:(lia)) as (st0 & e0 & Hrun0 & _ & Hst).
  rewrite Hrun in Hrun0. injection Hrun0 as <- <-.
  destruct (MMIOShadow_refines_windows c e tr id ipa mode value mem regs Hc Hs Hw Hid Hipa Hmode Hval)
    as (st1 & e1 & Hrun1 & Href).
  rewrite Hrun in Hrun1. injection Hrun1 as <- <-.
  destruct (shadow_store_refine_inv c e e' R Hst HP' Hs') as [R' Ep].
  exists st, e'. split; [exact Hrun|].
  split; [exact R'|]. split; [exact Ep|]. split; [exact Href|].
  exact (MMIOShadow_keeps_Inv c e tr id ipa mode value st e' Hc Hs Hw Hid Hipa Hmode Hval Hrun I).
Qed.

(** ** No VM shares a page with the host *)

(** No page is a VM's shared with the host, as the model sees the
    ledger. Only GUEST_SHARE makes such pages, and it is not among the
    calls below; with it, VM_DESTROY's refinement holds for every
    vmid. *)
Definition guest_unshared (c : config) (e : Isolation.Engine) : Prop :=
  forall p w, ms_pages (abs_ms c e) p <> mkPage (OVM w) (SharedWith host_id).

Lemma unshared_of_guest : forall c e, cfg_rel c e -> ledger_ok e -> owners_ok e -> guest_unshared c e ->
  forall id, unshared_at e id.
Proof.
  intros c e (Hg & Hrb & Hrs) Hl Hown G id m _ _ _ pg Hin (Ho & Hv & Hsh & Hb).
  pose proof Hl as (_ & _ & _ & _ & Hlen).
  apply In_nth with (d := Isolation.zero_page) in Hin as (j & Hj & Ej).
  apply (G (ram_base c + j)%nat (Z.to_nat id)). unfold abs_ms. cbn [ms_pages]. unfold abs_pages.
  assert (Hr : in_ram c (ram_base c + j) = true).
  { unfold in_ram, in_range. apply andb_true_iff. split; [apply Nat.leb_le; lia|apply Nat.ltb_lt].
    unfold len in Hlen. lia. }
  rewrite Hr. replace (ram_base c + j - ram_base c)%nat with j by lia. rewrite Ej.
  unfold abs_page, abs_owner, abs_share. rewrite Ho, Hv, Hsh, Hb. reflexivity.
Qed.

(** A call that leaves each page as it was or makes it one of the
    model's pages no VM shares with the host keeps [guest_unshared]. *)
Lemma guest_unshared_pages : forall c e e' (x : page), guest_unshared c e ->
  (forall w, x <> mkPage (OVM w) (SharedWith host_id)) ->
  (forall p, ms_pages (abs_ms c e') p = x \/ ms_pages (abs_ms c e') p = ms_pages (abs_ms c e) p) ->
  guest_unshared c e'.
Proof. intros c e e' x G Hx H p w. destruct (H p) as [->| ->]; [apply Hx|apply G]. Qed.

Lemma guest_unshared_range : forall c e e' (x : page) (r : nat -> bool), guest_unshared c e ->
  (forall p, ms_pages (abs_ms c e') p = if r p then x else ms_pages (abs_ms c e) p) ->
  (forall w, x <> mkPage (OVM w) (SharedWith host_id)) ->
  guest_unshared c e'.
Proof.
  intros c e e' x r G H Hx. apply (guest_unshared_pages c e e' x G Hx). intros p. rewrite H. destruct (r p); auto.
Qed.

(** A call that leaves the ledger as it was keeps [guest_unshared]. *)
Lemma guest_unshared_same : forall c e e', Isolation.Engine_pages e' = Isolation.Engine_pages e ->
  guest_unshared c e -> guest_unshared c e'.
Proof. intros c e e' Ep G p w. unfold abs_ms, abs_pages. cbn [ms_pages]. rewrite Ep. apply G. Qed.

(** So does VM_DESTROY: [destroy_page] makes no page shared with the
    host that was not. *)
Lemma VMDestroy_guest_unshared : forall c e e' id, guest_unshared c e ->
  (e' = e \/ 1 <= id /\ Isolation.Engine_pages e' = map (release_page id) (Isolation.Engine_pages e)) ->
  guest_unshared c e'.
Proof.
  intros c e e' id G [->|(Hid1 & Hpg)]; [exact G|].
  intros p w. unfold abs_ms at 1. cbn [ms_pages]. rewrite (destroy_pages_abs c e e' id Hid1 Hpg p).
  specialize (G p). unfold abs_ms in G. cbn [ms_pages] in G. revert G.
  unfold destroy_page. destruct (abs_pages c e p) as [[| | |v0] sh]; cbn [pg_owner pg_share];
    try (intros G E; exact (G w E)).
  - destruct sh as [|b]; [intros G E; exact (G w E)|].
    destruct (Nat.eqb b (Z.to_nat id)); [intros _ E; discriminate E|intros G E; exact (G w E)].
  - destruct (Nat.eqb v0 (Z.to_nat id)); [intros _ E; discriminate E|intros G E; exact (G w E)].
Qed.

(** What a sequence of the calls below keeps: [refine_inv],
    [guest_unshared], and the model's invariant of the abstraction. *)
Definition seq_inv (c : config) (e : Isolation.Engine) : Prop :=
  refine_inv c e /\ guest_unshared c e /\ Inv c (abs_ms c e).

(** ** Any sequence of these calls *)


(** The calls this file covers, with their arguments as the hypervisor's
    registers give them. *)
Inductive mcall : Type :=
| CVMCreate (n flags : nat)
| CMemShare (id pa ipa n perms : Z)
| CMemDonate (id pa ipa n perms : Z)
| CMemUnshare (id ipa n : Z)
| CMemReclaim (pa n : Z)
| CMemInfo (pa : Z)
| CVMDestroy (id : Z)
| CVCPUInit (id v entry arg : Z)
| CVCPUIRQ (id v intid level : Z)
| CMMIOLogRead (id : Z)
| CMMIOShadow (id ipa mode value : Z).

Definition u64 (x : Z) : Prop := 0 <= x < 2 ^ 64.

(** Every argument fits its 64-bit register. *)
Definition mcall_ok (x : mcall) : Prop :=
  match x with
  | CVMCreate n _ => Z.of_nat n < 2 ^ 64
  | CMemShare id pa ipa n perms | CMemDonate id pa ipa n perms => u64 id /\ u64 pa /\ u64 ipa /\ u64 n /\ u64 perms
  | CMemUnshare id ipa n => u64 id /\ u64 ipa /\ u64 n
  | CMemReclaim pa n => u64 pa /\ u64 n
  | CMemInfo pa | CVMDestroy pa | CMMIOLogRead pa => u64 pa
  | CVCPUInit id v a b | CVCPUIRQ id v a b | CMMIOShadow id v a b => u64 id /\ u64 v /\ u64 a /\ u64 b
  end.

Definition after {A} (o : outcome Isolation.Engine A) : option (Isolation.Engine * list event) :=
  match o with Ok _ e' tr' => Some (e', tr') | Fail _ => None end.

Definition run_mcall (x : mcall) (e : Isolation.Engine) (tr : list event) : option (Isolation.Engine * list event) :=
  match x with
  | CVMCreate n f => after (Isolation.Engine_VMCreate root (Z.of_nat n) (Z.of_nat f) e tr)
  | CMemShare id pa ipa n perms => after (Isolation.Engine_MemShare root id pa ipa n perms e tr)
  | CMemDonate id pa ipa n perms => after (Isolation.Engine_MemDonate root id pa ipa n perms e tr)
  | CMemUnshare id ipa n => after (Isolation.Engine_MemUnshare root id ipa n e tr)
  | CMemReclaim pa n => after (Isolation.Engine_MemReclaim root pa n e tr)
  | CMemInfo pa => after (Isolation.Engine_MemInfo root pa e tr)
  | CVMDestroy id => after (Isolation.Engine_VMDestroy root id e tr)
  | CVCPUInit id v entry arg => after (Isolation.Engine_VCPUInit root id v entry arg e tr)
  | CVCPUIRQ id v intid level => after (Isolation.Engine_VCPUIRQ root id v intid level e tr)
  | CMMIOLogRead id => after (Isolation.Engine_MMIOLogRead root id e tr)
  | CMMIOShadow id ipa mode value => after (Isolation.Engine_MMIOShadow root id ipa mode value e tr)
  end.

(** The calls one after the other, each from the engine and trace the one
    before returned; [None] if one fails. *)
Fixpoint run_mcalls (xs : list mcall) (e : Isolation.Engine) (tr : list event) : option Isolation.Engine :=
  match xs with
  | [] => Some e
  | x :: rest => match run_mcall x e tr with Some (e', tr') => run_mcalls rest e' tr' | None => None end
  end.

(** What a call needs of the engine besides 64-bit arguments: VM_DESTROY,
    that the VM shares no page with the host; the others nothing. *)
Definition mcall_pre (x : mcall) (e : Isolation.Engine) : Prop :=
  match x with CVMDestroy id => unshared_at e id | _ => True end.

(** One call of the list from [refine_inv] and [Inv], with 64-bit
    arguments and [mcall_pre], never fails and keeps both, and keeps
    [guest_unshared]. MEM_INFO returns the engine it was given
    ([MemInfo_refines]); the other calls are the theorems above; no call
    here makes a VM's page shared with the host. *)
Theorem mcall_keeps : forall c x e tr, refine_inv c e -> Inv c (abs_ms c e) -> mcall_ok x -> mcall_pre x e ->
  exists e' tr', run_mcall x e tr = Some (e', tr') /\ refine_inv c e' /\ Inv c (abs_ms c e') /\
    (guest_unshared c e -> guest_unshared c e').
Proof.
  intros c x e tr R I Hx Hpre. set (mem := fun _ : nat => 0%nat). set (regs := fun _ _ _ : nat => 0%nat).
  pose proof R as (Hc & Hwi & _ & Hrok & Ho & Hvms & _). pose proof Hwi as [[Hi _] _].
  pose proof Hc as (_ & _ & Hcfg & _ & _ & Hf & Hs).
  destruct x as [n f|id pa ipa n perms|id pa ipa n perms|id ipa n|pa n|pa|id|id v entry arg|id v intid level|id
                 |id ipa mode value];
    cbn [mcall_ok] in Hx;
    unfold u64 in Hx;
    cbn [run_mcall].
  - destruct (VMCreate_refine_inv c e tr mem regs n f R Hx) as (id & st & e' & Hrun & R' & _ & HI).
    exists e', tr. rewrite Hrun. split; [reflexivity|]. split; [exact R'|split; [exact (HI I)|intros G]].
    pose proof Hc as (Hco & Hok & _ & Hh & Hvo & _).
    destruct (VMCreate_walk_cases e tr (Z.of_nat n) (Z.of_nat f) (id, st) e' tr Hco Hok Hh Hvo ltac:(lia) Hrun)
      as (Ep & _).
    exact (guest_unshared_same c e e' Ep G).
  - destruct Hx as (Hid & Hpa & Hipa & Hn & Hperms).
    destruct (MemShare_refine_inv c e tr id pa ipa n perms mem regs R Hid Hpa Hipa Hn Hperms)
      as (st & e' & tr' & Hrun & R' & Herr & _ & HI).
    exists e', tr'. rewrite Hrun. split; [reflexivity|]. split; [exact R'|split; [exact (HI I)|intros G]].
    destruct (Z.eq_dec st Abi.Success) as [->|Ne]; [|rewrite (Herr Ne); exact G].
    apply (guest_unshared_range c e e' _ _ G
      (proj1 (MemShare_success_pages c e tr id pa ipa n perms e' tr' (proj1 Hi) Hrok Hcfg Hf Hs Hvms
         Hid Hpa Hipa Hn Hperms Hrun))).
    intros w E; discriminate E.
  - destruct Hx as (Hid & Hpa & Hipa & Hn & Hperms).
    destruct (MemDonate_refine_inv c e tr id pa ipa n perms mem regs R Hid Hpa Hipa Hn Hperms)
      as (st & e' & tr' & Hrun & R' & Herr & _ & HI).
    exists e', tr'. rewrite Hrun. split; [reflexivity|]. split; [exact R'|split; [exact (HI I)|intros G]].
    destruct (Z.eq_dec st Abi.Success) as [->|Ne]; [|rewrite (Herr Ne); exact G].
    apply (guest_unshared_range c e e' _ _ G
      (proj1 (MemDonate_success_pages c e tr id pa ipa n perms e' tr' (proj1 Hi) Hrok Hcfg Hf Hs Hvms
         Hid Hpa Hipa Hn Hperms Hrun))).
    intros w E; discriminate E.
  - destruct Hx as (Hid & Hipa & Hn).
    destruct (MemUnshare_refine_inv c e tr id ipa n mem regs R Hid Hipa Hn) as (st & e' & tr' & Hrun & R' & _ & _ & HI & _).
    exists e', tr'. rewrite Hrun. split; [reflexivity|]. split; [exact R'|split; [exact (HI I)|intros G]].
    destruct (MemUnshare_ledger_after c e tr id ipa n st e' tr' R Hid Hipa Hn Hrun) as (_ & _ & r & Hpg).
    apply (guest_unshared_range c e e' _ r G Hpg). intros w E; discriminate E.
  - destruct Hx as (Hpa & Hn).
    destruct (MemReclaim_refine_inv c e tr pa n mem regs R Hpa Hn) as (st & e' & tr' & Hrun & R' & Herr & _ & HI).
    exists e', tr'. rewrite Hrun. split; [reflexivity|]. split; [exact R'|split; [exact (HI I)|intros G]].
    destruct (Z.eq_dec st Abi.Success) as [->|Ne]; [|rewrite (Herr Ne); exact G].
    apply (guest_unshared_range c e e' _ _ G
      (proj1 (MemReclaim_success_pages c e tr pa n e' tr' Hrok Ho (proj1 Hcfg) Hpa Hn Hrun))).
    intros w E; discriminate E.
  - destruct (MemInfo_refines c e (abs_state c e mem regs) tr pa (proj1 Hrok) Ho (proj1 Hcfg) eq_refl Hx)
      as (info & st & out & Hrun & _).
    exists e, tr. rewrite Hrun. split; [reflexivity|]. split; [exact R|split; [exact I|exact (fun G => G)]].
  - cbn [mcall_pre] in Hpre. rename Hpre into Hun.
    destruct (VMDestroy_refine_inv c e tr id mem regs R Hx Hun I) as (st & e' & tr' & Hrun & R' & _ & _ & I').
    exists e', tr'. rewrite Hrun. split; [reflexivity|]. split; [exact R'|split; [exact I'|intros G]].
    destruct (VMDestroy_ledger_after c e tr id st e' tr' R Hx Hun Hrun) as (_ & _ & Hpg).
    exact (VMDestroy_guest_unshared c e e' id G Hpg).
  - destruct Hx as (Hid & Hv & He & Ha).
    destruct (VCPUInit_refine_inv c e tr id v entry arg mem regs R Hid Hv He Ha I) as (st & e' & Hrun & R' & Ep & _ & I').
    exists e', tr. rewrite Hrun. split; [reflexivity|]. split; [exact R'|split; [exact I'|intros G; exact (guest_unshared_same c e e' Ep G)]].
  - destruct Hx as (Hid & Hv & Hli & Hl).
    destruct (VCPUIRQ_refine_inv c e tr id v intid level mem regs R Hid Hv Hli Hl I) as (st & e' & Hrun & R' & Ep & _ & I').
    exists e', tr. rewrite Hrun. split; [reflexivity|]. split; [exact R'|split; [exact I'|intros G; exact (guest_unshared_same c e e' Ep G)]].
  - destruct (MMIOLogRead_refine_inv c e tr id mem regs R Hx I) as (n & packed & st & e' & Hrun & R' & Ep & _ & I').
    exists e', tr. rewrite Hrun. split; [reflexivity|]. split; [exact R'|split; [exact I'|intros G; exact (guest_unshared_same c e e' Ep G)]].
  - destruct Hx as (Hid & Hipa & Hmode & Hval).
    destruct (MMIOShadow_refine_inv c e tr id ipa mode value mem regs R Hid Hipa Hmode Hval I)
      as (st & e' & Hrun & R' & Ep & _ & I').
    exists e', tr. rewrite Hrun. split; [reflexivity|]. split; [exact R'|split; [exact I'|intros G; exact (guest_unshared_same c e e' Ep G)]].
Qed.

(** So one call from [seq_inv] never fails and keeps it: [guest_unshared]
    gives VM_DESTROY's condition ([unshared_of_guest]). *)
Theorem mcall_seq_inv : forall c x e tr, seq_inv c e -> mcall_ok x ->
  exists e' tr', run_mcall x e tr = Some (e', tr') /\ seq_inv c e'.
Proof.
  intros c x e tr (R & G & I) Hx.
  assert (Hpre : mcall_pre x e).
  { pose proof R as (Hc & _ & _ & Hrok & Ho & _). pose proof Hc as (_ & _ & Hcfg & _).
    destruct x as [| | | | | |id| | | |]; cbn [mcall_pre]; try exact Logic.I. exact (unshared_of_guest c e (proj1 Hcfg) (proj1 Hrok) Ho G id). }
  destruct (mcall_keeps c x e tr R I Hx Hpre) as (e' & tr' & Hrun & R' & I' & G').
  exists e', tr'. split; [exact Hrun|]. exact (conj R' (conj (G' G) I')).
Qed.

(** Any sequence of these calls with 64-bit arguments, from an engine
    satisfying [refine_inv] and [guest_unshared] whose abstraction
    satisfies [Inv], runs to its end, and the engine it leaves satisfies
    all three: [Inv] is an invariant of the Go engine's VM_CREATE,
    VM_DESTROY, VCPU_INIT, VCPU_IRQ, MEM_SHARE, MEM_DONATE, MEM_UNSHARE,
    MEM_RECLAIM, MEM_INFO, MMIO_LOG_READ and MMIO_SHADOW. *)
Theorem mcalls_Inv : forall c xs e tr, seq_inv c e -> Forall mcall_ok xs ->
  exists e', run_mcalls xs e tr = Some e' /\ seq_inv c e'.
Proof.
  intros c xs. induction xs as [|x rest IH]; intros e tr S Hok.
  - exists e. split; [reflexivity|exact S].
  - inversion Hok as [|? ? Hx Hrest]; subst.
    destruct (mcall_seq_inv c x e tr S Hx) as (e0 & tr0 & Hrun0 & S0).
    destruct (IH e0 tr0 S0 Hrest) as (e' & Hrun & S').
    exists e'. split; [cbn [run_mcalls]; rewrite Hrun0; exact Hrun|exact S'].
Qed.

(** So [Protected.protected_owner] holds of every engine such a sequence
    reaches: a protected VM's stage-2, as the abstraction reads it from
    the VM's walk, maps only pages the ledger gives that VM. *)
Corollary mcalls_protected_owns : forall c xs e tr, seq_inv c e -> Forall mcall_ok xs ->
  exists e', run_mcalls xs e tr = Some e' /\
    forall v p x, vm_protected (ms_vms (abs_ms c e') v) = true -> vm_s2 (ms_vms (abs_ms c e') v) p = Some x ->
      pg_owner (ms_pages (abs_ms c e') p) = OVM v.
Proof.
  intros c xs e tr S Hok.
  destruct (mcalls_Inv c xs e tr S Hok) as (e' & Hrun & (_ & _ & I')).
  exists e'. split; [exact Hrun|]. intros v p x. apply (Protected.protected_owner c). exact I'.
Qed.
