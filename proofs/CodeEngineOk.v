(** * One concrete invariant for the calls proved so far

    [engine_ok] is [mem_ok] (CodeTransfer: the ledger covers RAM, the pool
    holds whole tables, every VM's stage-2 is a tree of tables of the
    pool) and [shadow_inv] (CodeShadow: [vcpus_ok] and every VM's shadow
    state well formed). A call that writes only a VM's shadow state or
    one of its vCPUs leaves the ledger, the pool and every stage-2 as they
    were, so it keeps [mem_ok] and any other [store_stable] invariant;
    with the theorems of CodeShadow, CodeVCPU, CodeVCPUInit, CodeMemState
    and CodeVMDestroy, MMIO_SHADOW, MMIO_LOG_READ, VCPU_INIT, VCPU_IRQ and
    the MMIO shadow path of VCPU_RUN keep [shadow_inv] and such an
    invariant ([*_keeps]), so [engine_ok]; so do GUEST_MEMSTATE and
    VM_DESTROY (of a VM that owns its tables and shares nothing with the
    host). *)
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

(** An invariant of the ledger, the pool and the stage-2s that writing one
    VM slot's shadow state or one of its vCPUs keeps, as [mem_ok] is
    ([mem_ok_stable]) and CodeEngineInv's [mem_inv] is. *)
Definition store_stable (P : Isolation.Engine -> Prop) : Prop :=
  (forall e e', P e -> shadow_store e e' -> P e') /\ (forall e e', P e -> vcpu_store e e' -> P e').

(** Writing a slot's shadow state or one of its vCPUs replaces the slot
    by one on the same stage-2, as live, as protected and with as many
    vCPUs; an invariant every such replacement keeps is [store_stable]. *)
Definition slot_same (m m' : Isolation.vm) : Prop :=
  Isolation.vm_s2 m' = Isolation.vm_s2 m /\ Isolation.vm_live m' = Isolation.vm_live m /\
  Isolation.vm_protected m' = Isolation.vm_protected m /\ len (Isolation.vm_vcpus m') = len (Isolation.vm_vcpus m).

(** An invariant every replacement of a slot by one [slot_same] keeps:
    such a store, or the mark VCPU_RUN sets on a VM that has run. *)
Definition slot_stable (P : Isolation.Engine -> Prop) : Prop :=
  forall e i m m', P e -> nth_error (Isolation.Engine_vms e) i = Some m -> slot_same m m' -> P (put_vm e i m').

Lemma put_vm_stable : forall P : Isolation.Engine -> Prop, slot_stable P -> store_stable P.
Proof.
  intros P H. split.
  - intros e e' HP [-> | (i & m & sh & Hn & ->)]; [exact HP|].
    unfold put_shadow. apply (H e i m); [exact HP|exact Hn|destruct m; repeat split].
  - intros e e' HP [-> | (i & m & j & c & Hn & ->)]; [exact HP|].
    unfold put_vcpu. apply (H e i m); [exact HP|exact Hn|]. destruct m. repeat split. apply len_replace.
Qed.

Lemma store_stable_and : forall P Q, store_stable P -> store_stable Q -> store_stable (fun e => P e /\ Q e).
Proof.
  intros P Q [P1 P2] [Q1 Q2]. split.
  - intros e e' [HP HQ] H. split; [exact (P1 e e' HP H)|exact (Q1 e e' HQ H)].
  - intros e e' [HP HQ] H. split; [exact (P2 e e' HP H)|exact (Q2 e e' HQ H)].
Qed.

Lemma mem_ok_stable : store_stable mem_ok.
Proof. apply put_vm_stable. intros e i m m' H Hn (Hs2 & _). exact (mem_ok_put_vm e i m m' H Hn Hs2). Qed.

(** MMIO_SHADOW keeps [shadow_inv] and any [store_stable] invariant, so
    [engine_ok] (Engine.MMIOShadow). *)
Theorem MMIOShadow_keeps : forall P e tr id ipa mode value, store_stable P -> P e -> shadow_inv e -> 0 <= id < 2 ^ 64 ->
  0 <= ipa -> exists st e', Isolation.Engine_MMIOShadow root id ipa mode value e tr = Ok st e' tr /\ P e' /\ shadow_inv e'.
Proof.
  intros P e tr id ipa mode value [HPs _] HP Hs Hid Hipa.
  destruct (MMIOShadow_no_failure e tr id ipa mode value Hs Hid Hipa) as (st & e' & H & Hs' & Hst).
  exists st, e'. split; [exact H|]. split; [exact (HPs e e' HP Hst)|exact Hs'].
Qed.

(** MMIO_LOG_READ keeps them (Engine.MMIOLogRead). *)
Theorem MMIOLogRead_keeps : forall P e tr id, store_stable P -> P e -> shadow_inv e -> 0 <= id < 2 ^ 64 ->
  exists r e', Isolation.Engine_MMIOLogRead root id e tr = Ok r e' tr /\ P e' /\ shadow_inv e'.
Proof.
  intros P e tr id [HPs _] HP Hs Hid.
  destruct (MMIOLogRead_no_failure e tr id Hs Hid) as (n & packed & st & e' & H & _ & _ & Hs' & Hst).
  exists (n, packed, st), e'. split; [exact H|]. split; [exact (HPs e e' HP Hst)|exact Hs'].
Qed.

(** VCPU_INIT keeps them (Engine.VCPUInit). *)
Theorem VCPUInit_keeps : forall P e tr id v entry arg, store_stable P -> P e -> shadow_inv e ->
  0 <= id < 2 ^ 64 -> 0 <= v < 2 ^ 64 ->
  exists st e', Isolation.Engine_VCPUInit root id v entry arg e tr = Ok st e' tr /\ P e' /\ shadow_inv e'.
Proof.
  intros P e tr id v entry arg [_ HPv] HP Hs Hid Hv.
  destruct (VCPUInit_no_failure e tr id v entry arg (proj1 Hs) Hid Hv) as (st & e' & H & Hv' & Hst & _).
  exists st, e'. split; [exact H|].
  split; [exact (HPv e e' HP Hst)|exact (shadow_inv_vcpu_store e e' Hs Hv' Hst)].
Qed.

(** VCPU_IRQ keeps them (Engine.VCPUIRQ). *)
Theorem VCPUIRQ_keeps : forall P e tr id v intid level, store_stable P -> P e -> shadow_inv e ->
  0 <= id < 2 ^ 64 -> 0 <= v < 2 ^ 64 -> 0 <= intid < 2 ^ 64 ->
  exists st e', Isolation.Engine_VCPUIRQ root id v intid level e tr = Ok st e' tr /\ P e' /\ shadow_inv e'.
Proof.
  intros P e tr id v intid level [_ HPv] HP Hs Hid Hv Hi.
  destruct (VCPUIRQ_inv e tr id v intid level (proj1 Hs) Hid Hv Hi) as (st & e' & H & Hv' & Hst & _).
  exists st, e'. split; [exact H|].
  split; [exact (HPv e e' HP Hst)|exact (shadow_inv_vcpu_store e e' Hs Hv' Hst)].
Qed.

(** The MMIO shadow path of VCPU_RUN keeps them (Engine.shadowMMIO). *)
Theorem shadowMMIO_keeps : forall P e tr i m j c pm vc ex read isRead,
  store_stable P -> P e -> shadow_inv e -> nth_error (Isolation.Engine_vms e) i = Some m ->
  nth_error (Isolation.vm_vcpus m) j = Some c ->
  tracks pm e m (put_vm e i) -> tracks vc e c (put_vcpu e i m j) ->
  len (Isolation.Context_X (Isolation.vcpu_ctx c)) = 31 -> 0 <= Isolation.MMIORead_Reg read <= 31 -> len ex = 7 ->
  exists b e', Isolation.Engine_shadowMMIO root pm vc ex read isRead e tr = Ok b e' tr /\ P e' /\ shadow_inv e'.
Proof.
  intros P e tr i m j c pm vc ex read isRead [HPs HPv] HP Hs Hn Hc Hpm Hvc HX Hreg Hex.
  destruct (shadowMMIO_no_failure e tr i m j c pm vc ex read isRead Hs Hn Hc Hpm Hvc HX Hreg Hex)
    as (b & e' & H & Hs' & [Hst | Hst] & _); exists b, e'; (split; [exact H|]).
  - split; [exact (HPs e e' HP Hst)|exact Hs'].
  - split; [exact (HPv e e' HP Hst)|exact Hs'].
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
  owned_at e id -> unshared_at e id ->
  exists st e' tr', Isolation.Engine_VMDestroy root id e tr = Ok st e' tr' /\ engine_ok e'.
Proof.
  intros e tr id [Hm Hs] Hp Hpl Hv Hid Ho Hu.
  destruct (VMDestroy_unshared_inv e tr id Hm Hs Hp Hpl Hv Hid Ho Hu) as (st & e' & tr' & Hd & Hm' & Hs').
  exists st, e', tr'. split; [exact Hd|]. split; assumption.
Qed.
