(** * One concrete invariant for the calls proved so far

    [engine_ok] is [mem_ok] (CodeTransfer: the ledger covers RAM, the pool
    holds whole tables, every VM's stage-2 is a tree of tables of the
    pool) and [shadow_inv] (CodeShadow: [vcpus_ok] and every VM's shadow
    state well formed). A call that writes only a VM's shadow state or
    one of its vCPUs leaves the ledger, the pool and every stage-2 as they
    were, so it keeps [mem_ok]; with the theorems of CodeShadow, CodeVCPU,
    CodeVCPUInit, CodeMemState and CodeVMDestroy, MMIO_SHADOW,
    MMIO_LOG_READ, VCPU_INIT, VCPU_IRQ, GUEST_MEMSTATE, the MMIO shadow path
    of VCPU_RUN and VM_DESTROY (of a VM that owns its tables and shares
    nothing with the host) keep [engine_ok]. *)
From Coq Require Import ZArith Lia List Bool.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodePlace CodeTrack CodeLedger CodeVCPU CodeVCPUInit CodeVMCreate
  CodeStage2 CodeTransfer CodeShadow CodeMemState CodeFree CodeRelease CodeVMDestroy.
Import ListNotations.
Open Scope Z_scope.

Definition engine_ok (e : Isolation.Engine) : Prop := mem_ok e /\ shadow_inv e.

(** Replacing VM slot [i] by one with the same stage-2 keeps [mem_ok]. *)
Lemma mem_ok_put_vm : forall e i m m', mem_ok e -> nth_error (Isolation.Engine_vms e) i = Some m ->
  Isolation.vm_s2 m' = Isolation.vm_s2 m -> mem_ok (put_vm e i m').
Proof.
  intros e i m m' (A & B & C & D & E & F) Hn Hs2. unfold put_vm, mem_ok, ledger_ok, tables_ok, tables, pool_base, s2_ok in *.
  cbn [Isolation.set_Engine_vms Isolation.Engine_cfg Isolation.Engine_pages Isolation.Engine_pool Isolation.Engine_vms] in *.
  rewrite len_replace. split; [exact A|]. split; [exact B|]. split; [exact C|]. split; [exact D|]. split; [exact E|].
  apply Forall_replace; [exact F|]. rewrite Hs2. rewrite Forall_forall in F. exact (F m (nth_error_In _ _ Hn)).
Qed.

Lemma mem_ok_shadow_store : forall e e', mem_ok e -> shadow_store e e' -> mem_ok e'.
Proof.
  intros e e' H [-> | (i & m & sh & Hn & ->)]; [exact H|].
  unfold put_shadow. apply (mem_ok_put_vm e i m); [exact H|exact Hn|destruct m; reflexivity].
Qed.

Lemma mem_ok_vcpu_store : forall e e', mem_ok e -> vcpu_store e e' -> mem_ok e'.
Proof.
  intros e e' H [-> | (i & m & j & c & Hn & ->)]; [exact H|].
  unfold put_vcpu. apply (mem_ok_put_vm e i m); [exact H|exact Hn|destruct m; reflexivity].
Qed.

(** MMIO_SHADOW keeps [engine_ok] (Engine.MMIOShadow). *)
Theorem MMIOShadow_engine_ok : forall e tr id ipa mode value, engine_ok e -> 0 <= id < 2 ^ 64 ->
  exists st e', Isolation.Engine_MMIOShadow root id ipa mode value e tr = Ok st e' tr /\ engine_ok e'.
Proof.
  intros e tr id ipa mode value [Hm Hs] Hid.
  destruct (MMIOShadow_no_failure e tr id ipa mode value Hs Hid) as (st & e' & H & Hs' & Hst).
  exists st, e'. split; [exact H|]. split; [exact (mem_ok_shadow_store e e' Hm Hst)|exact Hs'].
Qed.

(** MMIO_LOG_READ keeps [engine_ok] (Engine.MMIOLogRead). *)
Theorem MMIOLogRead_engine_ok : forall e tr id, engine_ok e -> 0 <= id < 2 ^ 64 ->
  exists r e', Isolation.Engine_MMIOLogRead root id e tr = Ok r e' tr /\ engine_ok e'.
Proof.
  intros e tr id [Hm Hs] Hid.
  destruct (MMIOLogRead_no_failure e tr id Hs Hid) as (n & packed & st & e' & H & _ & _ & Hs' & Hst).
  exists (n, packed, st), e'. split; [exact H|]. split; [exact (mem_ok_shadow_store e e' Hm Hst)|exact Hs'].
Qed.

(** VCPU_INIT keeps [engine_ok] (Engine.VCPUInit). *)
Theorem VCPUInit_engine_ok : forall e tr id v entry arg, engine_ok e -> 0 <= id < 2 ^ 64 -> 0 <= v < 2 ^ 64 ->
  exists st e', Isolation.Engine_VCPUInit root id v entry arg e tr = Ok st e' tr /\ engine_ok e'.
Proof.
  intros e tr id v entry arg [Hm Hs] Hid Hv.
  destruct (VCPUInit_no_failure e tr id v entry arg (proj1 Hs) Hid Hv) as (st & e' & H & Hv' & Hst).
  exists st, e'. split; [exact H|].
  split; [exact (mem_ok_vcpu_store e e' Hm Hst)|exact (shadow_inv_vcpu_store e e' Hs Hv' Hst)].
Qed.

(** VCPU_IRQ keeps [engine_ok] (Engine.VCPUIRQ). *)
Theorem VCPUIRQ_engine_ok : forall e tr id v intid level, engine_ok e ->
  0 <= id < 2 ^ 64 -> 0 <= v < 2 ^ 64 -> 0 <= intid < 2 ^ 64 ->
  exists st e', Isolation.Engine_VCPUIRQ root id v intid level e tr = Ok st e' tr /\ engine_ok e'.
Proof.
  intros e tr id v intid level [Hm Hs] Hid Hv Hi.
  destruct (VCPUIRQ_inv e tr id v intid level (proj1 Hs) Hid Hv Hi) as (st & e' & H & Hv' & Hst).
  exists st, e'. split; [exact H|].
  split; [exact (mem_ok_vcpu_store e e' Hm Hst)|exact (shadow_inv_vcpu_store e e' Hs Hv' Hst)].
Qed.

(** The MMIO shadow path of VCPU_RUN keeps [engine_ok] (Engine.shadowMMIO). *)
Theorem shadowMMIO_engine_ok : forall e tr i m j c pm vc ex read isRead,
  engine_ok e -> nth_error (Isolation.Engine_vms e) i = Some m ->
  nth_error (Isolation.vm_vcpus m) j = Some c ->
  tracks pm e m (put_vm e i) -> tracks vc e c (put_vcpu e i m j) ->
  len (Isolation.Context_X (Isolation.vcpu_ctx c)) = 31 -> 0 <= Isolation.MMIORead_Reg read <= 31 -> len ex = 7 ->
  exists b e', Isolation.Engine_shadowMMIO root pm vc ex read isRead e tr = Ok b e' tr /\ engine_ok e'.
Proof.
  intros e tr i m j c pm vc ex read isRead [Hm Hs] Hn Hc Hpm Hvc HX Hreg Hex.
  destruct (shadowMMIO_no_failure e tr i m j c pm vc ex read isRead Hs Hn Hc Hpm Hvc HX Hreg Hex)
    as (b & e' & H & Hs' & [Hst | Hst]).
  - exists b, e'. split; [exact H|]. split; [exact (mem_ok_shadow_store e e' Hm Hst)|exact Hs'].
  - exists b, e'. split; [exact H|]. split; [exact (mem_ok_vcpu_store e e' Hm Hst)|exact Hs'].
Qed.

(** GUEST_MEMSTATE keeps [engine_ok]: it changes nothing
    (Engine.GuestMemState). *)
Theorem GuestMemState_engine_ok : forall e tr id ipa n, engine_ok e ->
  0 <= id < 2 ^ 16 -> 1 <= id <= len (Isolation.Engine_vms e) -> 0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 ->
  exists r, Isolation.Engine_GuestMemState root id ipa n e tr = Ok r e tr.
Proof.
  intros e tr id ipa n [Hm Hs] H1 H2 H3 H4.
  destruct (GuestMemState_no_failure e tr id ipa n Hm H1 H2 H3 H4) as (state & run & st & H & _).
  eexists. exact H.
Qed.

(** VM_DESTROY of a VM that owns its stage-2's tables and shares no page
    with the host keeps [engine_ok] (Engine.VMDestroy). *)
Theorem VMDestroy_engine_ok : forall e tr id,
  engine_ok e -> pool_ok (Isolation.Engine_pool e) -> Isolation.Engine_plat e <> None ->
  len (Isolation.Engine_vms e) < 2 ^ 16 -> 0 <= id < 2 ^ 64 ->
  (forall m, 1 <= id -> nth_error (Isolation.Engine_vms e) (Z.to_nat (id - 1)) = Some m -> Isolation.vm_live m = true ->
     (Isolation.stage2_root (Isolation.vm_s2 m) < 0 \/ owns_tables e (Isolation.stage2_root (Isolation.vm_s2 m))) /\
     (forall p, In p (Isolation.Engine_pages e) -> ~ shared_to_host id p)) ->
  exists st e' tr', Isolation.Engine_VMDestroy root id e tr = Ok st e' tr' /\ engine_ok e'.
Proof.
  intros e tr id [Hm Hs] Hp Hpl Hv Hid H.
  destruct (VMDestroy_unshared_inv e tr id Hm Hs Hp Hpl Hv Hid H) as (st & e' & tr' & Hd & Hm' & Hs').
  exists st, e', tr'. split; [exact Hd|]. split; assumption.
Qed.
