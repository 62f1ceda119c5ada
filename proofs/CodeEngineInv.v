(** * One invariant that every call proved so far keeps: [engine_inv]

    [engine_inv] is [mem_inv] (CodeOwns: [mem_ok], the stage-2s owning
    their tables in a sound and counted pool, a slot not live having no
    root) and [shadow_inv] (CodeShadow: [vcpus_ok] and every VM's shadow
    state well formed). Proved here:
    - a call that writes only a VM's shadow state or one of its vCPUs
      keeps each slot's stage-2 and liveness, so it keeps [mem_inv]
      ([mem_inv_put_vm], [mem_inv_stable]); so MMIO_SHADOW, MMIO_LOG_READ,
      VCPU_INIT, VCPU_IRQ and the MMIO shadow path of VCPU_RUN never fail
      from [engine_inv] and keep it (CodeEngineOk's [*_keeps]);
    - MEM_SHARE, MEM_DONATE and MEM_RECLAIM never fail from it (MEM_DONATE
      and MEM_RECLAIM with RAM inside the IPA space, as [Config.validate]
      checks), leave the VM slots as they were and keep it;
    - VM_DESTROY of a VM sharing no page with the host keeps it
      ([VMDestroy_engine_inv], from CodeMemInvDestroy);
    - VM_CREATE, from [create_inv] (CodeVMCreateInv) and [engine_inv],
      keeps both: the slot it fills gets a zero shadow state
      ([VMCreate_engine_inv]).
    [create_inv] is kept as well:
    - by the calls that write one slot's shadow state or a vCPU, which
      keep the walks of the live VMs ([create_rest_put_vm],
      [create_rest_stable], and CodeWalkHeld's [VCPUInit_walk_held]);
    - by VM_DESTROY of a VM sharing no page with the host: the slot it
      frees is left not live, not protected and with as many vCPUs, and
      the pool's tables, so the other live VMs' walks, are unchanged
      ([destroyed_create_rest], [VMDestroy_create_inv]);
    - by MEM_RECLAIM, which updates only the host's stage-2 and keeps
      every table in use outside the host's tree, so every live VM's
      tables and walk ([agree_kept], [host_frame_walks],
      [MemReclaim_walks], [MemReclaim_create_inv]).
    GUEST_MEMSTATE and MEM_INFO change nothing (CodeMemState's
    [GuestMemState_no_failure], CodeLedger's [MemInfo_no_failure]). So
    any sequence of VM_CREATE, VM_DESTROY (of VMs sharing no page with the
    host), MEM_RECLAIM, MMIO_SHADOW, MMIO_LOG_READ, VCPU_INIT, VCPU_IRQ,
    the MMIO shadow path of VCPU_RUN, GUEST_MEMSTATE and MEM_INFO from an
    engine meeting [create_inv] and [engine_inv] (with RAM inside the IPA
    space) never fails and keeps both. MEM_SHARE and MEM_DONATE keep
    [engine_inv]; that they keep [create_inv] (its [vms_sane]: each live
    VM's walk maps into RAM, one IPA page to one PA page) is not proved
    yet. *)
From Coq Require Import ZArith Lia List Bool.
From Bulkhead.Spec Require Import State Spec.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodePlace CodeTrack CodeLens CodeLoop CodeLedger CodeVCPU CodeVCPUInit CodeVMCreate
  CodeShadow CodeStage2 CodePool CodeFree CodeRelease CodeVMDestroy CodeTransfer CodeEngineOk CodeUpdate
  CodeUpdateRoot CodeMemNoFailure CodeAbsLedger CodeAbs CodeVMCreateRefine CodeVMCreateInv CodeOwns CodeMemInvCreate CodeMemInvDestroy
  CodeUpdateRootRange.
Import ListNotations.
Open Scope Z_scope.

Definition engine_inv (e : Isolation.Engine) : Prop := mem_inv e /\ shadow_inv e.

(** ** Calls that write one VM slot's shadow state or vCPUs *)

(** Slot [j] of [put_vm e i m'], with [m'] as live as [m] and on the same
    stage-2, is as live and has the same root as slot [j] of [e]. *)
Lemma put_vm_slots : forall e i m m' j, nth_error (Isolation.Engine_vms e) i = Some m ->
  Isolation.vm_s2 m' = Isolation.vm_s2 m -> Isolation.vm_live m' = Isolation.vm_live m ->
  Isolation.vm_live (vm_at (put_vm e i m') j) = Isolation.vm_live (vm_at e j) /\
  root_at (put_vm e i m') j = root_at e j.
Proof.
  intros e i m m' j Hn Hs2 Hl. unfold root_at, vm_at, put_vm. cbn [Isolation.set_Engine_vms Isolation.Engine_vms].
  destruct (Nat.eq_dec j i) as [->|Hne].
  - rewrite nth_replace by (apply nth_error_Some; congruence). rewrite (nth_error_nth _ _ Isolation.zero_vm Hn).
    rewrite Hs2, Hl. split; reflexivity.
  - rewrite nth_replace_other by (intros E; apply Hne; symmetry; exact E). split; reflexivity.
Qed.

(** Replacing VM slot [i] by one as live and on the same stage-2 keeps
    [mem_inv]: the pool, the host and every slot's tables are as they
    were. *)
Lemma mem_inv_put_vm : forall e i m m', mem_inv e -> nth_error (Isolation.Engine_vms e) i = Some m ->
  Isolation.vm_s2 m' = Isolation.vm_s2 m -> Isolation.vm_live m' = Isolation.vm_live m -> mem_inv (put_vm e i m').
Proof.
  intros e i m m' (Hm & (Hp & Hpl & Hh & Hown & Hdis) & Hd) Hn Hs2 Hl.
  set (e' := put_vm e i m').
  assert (Hlen : length (Isolation.Engine_vms e') = length (Isolation.Engine_vms e))
    by (unfold e', put_vm; cbn [Isolation.set_Engine_vms Isolation.Engine_vms]; apply replace_nth_length).
  pose proof (fun j => put_vm_slots e i m m' j Hn Hs2 Hl) as Hag. fold e' in Hag.
  (* A slot of [e'] is slot [j] of [e'], with [e]'s liveness and root. *)
  assert (Hat : forall mv, In mv (Isolation.Engine_vms e') -> exists j, (j < length (Isolation.Engine_vms e))%nat /\
            Isolation.vm_live mv = Isolation.vm_live (vm_at e j) /\
            Isolation.stage2_root (Isolation.vm_s2 mv) = root_at e j).
  { intros mv Hin. apply In_nth with (d := Isolation.zero_vm) in Hin as (j & Hj & <-).
    exists j. rewrite <- Hlen. split; [exact Hj|]. exact (Hag j). }
  assert (Hin : forall j, (j < length (Isolation.Engine_vms e))%nat -> In (vm_at e j) (Isolation.Engine_vms e))
    by (intros j Hj; unfold vm_at; apply nth_In; exact Hj).
  split; [exact (mem_ok_put_vm e i m m' Hm Hn Hs2)|]. split; [split; [exact Hp|split; [exact Hpl|split; [exact Hh|split]]]|].
  - intros mv Hmv Hlv. destruct (Hat mv Hmv) as (j & Hj & El & Er). rewrite Er.
    rewrite El in Hlv. exact (Hown _ (Hin j Hj) Hlv).
  - unfold tables_disjoint. rewrite Hlen. split.
    + intros j Hj Hlv. rewrite (proj2 (Hag j)). rewrite (proj1 (Hag j)) in Hlv. exact (proj1 Hdis j Hj Hlv).
    + intros j k Hj Hk Hjk Hlj Hlk. rewrite (proj2 (Hag j)), (proj2 (Hag k)).
      rewrite (proj1 (Hag j)) in Hlj. rewrite (proj1 (Hag k)) in Hlk. exact (proj2 Hdis j k Hj Hk Hjk Hlj Hlk).
  - intros mv Hmv Hlv. destruct (Hat mv Hmv) as (j & Hj & El & Er). rewrite Er.
    rewrite El in Hlv. exact (Hd _ (Hin j Hj) Hlv).
Qed.

Lemma mem_inv_stable : store_stable mem_inv.
Proof. apply put_vm_stable. intros e i m m' H Hn (Hs2 & Hl & _). exact (mem_inv_put_vm e i m m' H Hn Hs2 Hl). Qed.

(** ** The memory calls *)

(** [shadow_inv] reads only the VM slots. *)
Lemma shadow_inv_same_vms : forall e e', Isolation.Engine_vms e' = Isolation.Engine_vms e -> shadow_inv e -> shadow_inv e'.
Proof. intros e e' Ev H. unfold shadow_inv, vcpus_ok in *. rewrite Ev. exact H. Qed.

(** MEM_SHARE never fails from [engine_inv] and keeps it. *)
Theorem MemShare_engine_inv : forall e tr id pa ipa n perms, engine_inv e ->
  0 <= id < 2 ^ 64 -> 0 <= pa < 2 ^ 64 -> 0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 ->
  exists st e' tr', Isolation.Engine_MemShare root id pa ipa n perms e tr = Ok st e' tr' /\ engine_inv e'.
Proof.
  intros e tr id pa ipa n perms [Hi Hs] Hid Hpa Hipa Hn. pose proof Hi as (Hm & Ho & _). pose proof Ho as (_ & Hpl & _).
  destruct (MemShare_no_failure e tr id pa ipa n perms Hm Hpl (s2_owned_roots e Ho) Hid Hpa Hipa Hn)
    as (st & e' & tr' & H & Herr & Hsucc).
  exists st, e', tr'. split; [exact H|].
  split; [exact (MemShare_keeps_mem_inv e tr id pa ipa n perms st e' tr' Hi Hid Hpa Hipa Hn H)|].
  apply (shadow_inv_same_vms e); [|exact Hs].
  destruct (Z.eq_dec st Abi.Success) as [Es|Ne]; [|rewrite (Herr Ne); reflexivity].
  destruct (Hsucc Es) as (m & q & ps & _ & _ & _ & -> & _). reflexivity.
Qed.

(** MEM_DONATE never fails from [engine_inv], with RAM inside the IPA
    space, and keeps it. *)
Theorem MemDonate_engine_inv : forall e tr id pa ipa n perms, engine_inv e ->
  Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e)) +
    Isolation.Range_Size (Isolation.Config_RAM (Isolation.Engine_cfg e)) <= 2 ^ 40 ->
  0 <= id < 2 ^ 64 -> 0 <= pa < 2 ^ 64 -> 0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 ->
  exists st e' tr', Isolation.Engine_MemDonate root id pa ipa n perms e tr = Ok st e' tr' /\ engine_inv e'.
Proof.
  intros e tr id pa ipa n perms [Hi Hs] Hram Hid Hpa Hipa Hn.
  pose proof Hi as (Hm & Ho & _). pose proof Ho as (Hp & Hpl & Hh & _ & Hdis).
  destruct (MemDonate_no_failure e tr id pa ipa n perms Hm Hpl (s2_owned_roots e Ho) (owns_root_inv e _ Hp Hh)
    (disjoint_host_apart e Hdis) Hram Hid Hpa Hipa Hn) as (st & e' & tr' & H & Herr & Hsucc).
  exists st, e', tr'. split; [exact H|].
  split; [exact (MemDonate_keeps_mem_inv e tr id pa ipa n perms st e' tr' Hi Hram Hid Hpa Hipa Hn H)|].
  apply (shadow_inv_same_vms e); [|exact Hs].
  destruct (Z.eq_dec st Abi.Success) as [Es|Ne]; [|rewrite (Herr Ne); reflexivity].
  destruct (Hsucc Es) as (m & q2 & ps & q4 & _ & _ & _ & -> & _). reflexivity.
Qed.

(** MEM_RECLAIM never fails from [engine_inv], with RAM inside the IPA
    space, and keeps it. *)
Theorem MemReclaim_engine_inv : forall e tr pa n, engine_inv e ->
  Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e)) +
    Isolation.Range_Size (Isolation.Config_RAM (Isolation.Engine_cfg e)) <= 2 ^ 40 ->
  0 <= pa < 2 ^ 64 -> 0 <= n < 2 ^ 64 ->
  exists st e' tr', Isolation.Engine_MemReclaim root pa n e tr = Ok st e' tr' /\ engine_inv e'.
Proof.
  intros e tr pa n [Hi Hs] Hram Hpa Hn. pose proof Hi as (Hm & Ho & _). pose proof Ho as (Hp & Hpl & Hh & _).
  destruct (MemReclaim_no_failure e tr pa n Hm Hpl (owns_root_inv e _ Hp Hh) Hram Hpa Hn)
    as (st & e' & tr' & H & Herr & Hsucc).
  exists st, e', tr'. split; [exact H|].
  split; [exact (MemReclaim_keeps_mem_inv e tr pa n st e' tr' Hi Hram Hpa Hn H)|].
  apply (shadow_inv_same_vms e); [|exact Hs].
  destruct (Z.eq_dec st Abi.Success) as [Es|Ne]; [|rewrite (Herr Ne); reflexivity].
  destruct (Hsucc Es) as (q & ps & _ & -> & _). reflexivity.
Qed.

(** ** VM_DESTROY *)

(** VM_DESTROY of a VM sharing no page with the host never fails from
    [engine_inv] and keeps it. *)
Theorem VMDestroy_engine_inv : forall e tr id,
  engine_inv e -> len (Isolation.Engine_vms e) < 2 ^ 16 -> 0 <= id < 2 ^ 64 ->
  unshared_at e id ->
  exists st e' tr', Isolation.Engine_VMDestroy root id e tr = Ok st e' tr' /\ engine_inv e'.
Proof.
  intros e tr id [Hi Hs] Hv Hid Hun.
  destruct (VMDestroy_keeps_mem_inv e tr id Hi Hs Hv Hid Hun) as (st & e' & tr' & H & Hi' & Hs').
  exists st, e', tr'. split; [exact H|]. split; assumption.
Qed.

(** ** VM_CREATE *)

Lemma zero_shadow_ok : shadow_ok Isolation.zero_shadowState.
Proof.
  unfold shadow_ok. cbn [Isolation.zero_shadowState Isolation.shadowState_regs Isolation.shadowState_log
    Isolation.shadowState_head Isolation.shadowState_count].
  unfold len. rewrite !repeat_length. repeat split; try lia.
  - apply Forall_forall. intros x Hx. apply repeat_spec in Hx. lia.
  - cbn. constructor.
  - apply Forall_forall. intros x Hx. apply repeat_spec in Hx. subst x. cbn. lia.
Qed.

(** Every slot's shadow state, and the empty slot's beyond the list, is
    well formed. *)
Lemma shadow_ok_nth : forall vms j, Forall (fun m => shadow_ok (Isolation.vm_shadow m)) vms ->
  shadow_ok (Isolation.vm_shadow (nth j vms Isolation.zero_vm)).
Proof.
  intros vms j H. destruct (Nat.lt_ge_cases j (length vms)) as [Hj|Hj].
  - rewrite Forall_forall in H. apply H. apply nth_In. exact Hj.
  - rewrite nth_overflow by exact Hj. exact zero_shadow_ok.
Qed.

(** VM_CREATE, from [create_inv] and [engine_inv], answers and keeps
    both: [VMCreate_keeps_both] gives [create_inv] (so [vcpus_ok]) and
    [mem_inv]; the slot it changes keeps its shadow state (NO_MEMORY) or
    gets a zero one (SUCCESS). *)
Theorem VMCreate_engine_inv : forall c e tr n flags, create_inv c e -> engine_inv e -> 0 <= n < 2 ^ 64 ->
  exists r e', Isolation.Engine_VMCreate root n flags e tr = Ok r e' tr /\ create_inv c e' /\ engine_inv e'.
Proof.
  intros c e tr n flags Hci [Hi [_ Hsh]] Hn.
  destruct (VMCreate_keeps_both c e tr n flags Hci Hi Hn) as (r & e' & Hrun & Hci' & Hi').
  exists r, e'. split; [exact Hrun|]. split; [exact Hci'|]. split; [exact Hi'|].
  split; [exact (proj1 (proj1 Hci'))|].
  destruct (VMCreate_cases e tr n flags r e' tr (proj1 Hci) Hn Hrun)
    as [->|[(slot & id & _ & ->)|(slot & rt & q & X & _ & _ & _ & _ & HXs & ->)]].
  - exact Hsh.
  - rewrite vms_at. apply Forall_replace; [exact Hsh|]. exact (shadow_ok_nth _ (Z.to_nat slot) Hsh).
  - rewrite vms_at, vms_set_pool. apply Forall_replace; [exact Hsh|]. rewrite HXs. exact zero_shadow_ok.
Qed.

(** ** [create_inv] *)

(** [create_inv] (CodeVMCreateInv) but its [vcpus_ok], which [shadow_inv]
    holds: what a write of one slot's shadow state or one of its vCPUs
    keeps of it, whatever it writes. *)
Definition create_rest (c : config) (e : Isolation.Engine) : Prop :=
  pool_ok (Isolation.Engine_pool e) /\
  0 <= Isolation.Config_MaxVCPUs (Isolation.Engine_cfg e) < 2 ^ 63 /\
  Forall (fun m => Isolation.Config_MaxVCPUs (Isolation.Engine_cfg e) <= len (Isolation.vm_vcpus m))
    (Isolation.Engine_vms e) /\
  tables_ok e /\ cfg_abs c e /\ owns_tables e (Isolation.stage2_root (Isolation.Engine_host e)) /\ vms_own e /\
  free_slots_clear e /\ vms_sane c e.

Lemma create_inv_rest : forall c e, vcpus_ok e -> create_rest c e -> create_inv c e.
Proof.
  intros c e Hv (Hp & Hmax & Hlen & Ht & Hc & Hh & Hown & Hfree & Hsane).
  split; [split; [exact Hv|split; [exact Hp|split; assumption]]|]. repeat (split; [assumption|]). exact Hsane.
Qed.

Lemma rest_of_create_inv : forall c e, create_inv c e -> create_rest c e.
Proof.
  intros c e ((_ & Hp & Hmax & Hlen) & Ht & Hc & Hh & Hown & Hfree & Hsane).
  split; [exact Hp|]. split; [exact Hmax|]. split; [exact Hlen|]. repeat (split; [assumption|]). exact Hsane.
Qed.

(** Replacing VM slot [i] by one as live, as protected, on the same
    stage-2 and with as many vCPUs keeps [create_rest]: the walks of the
    live VMs are as they were. *)
Lemma create_rest_put_vm : forall c e i m m', create_rest c e -> nth_error (Isolation.Engine_vms e) i = Some m ->
  Isolation.vm_s2 m' = Isolation.vm_s2 m -> Isolation.vm_live m' = Isolation.vm_live m ->
  Isolation.vm_protected m' = Isolation.vm_protected m ->
  len (Isolation.vm_vcpus m') = len (Isolation.vm_vcpus m) -> create_rest c (put_vm e i m').
Proof.
  intros c e i m m' (Hp & Hmax & Hlen & Ht & (Hcr & Hn & Hipa) & Hh & Hown & Hfree & Hsane) Hi Hs2 Hl Hpr Hvl.
  pose proof (nth_error_In _ _ Hi) as Hin.
  (* Every live VM's walk, and the new slot's, is [e]'s. *)
  assert (Hw : forall mv, In mv (Isolation.Engine_vms e) -> Isolation.vm_live mv = true ->
            forall k, walk (put_vm e i m') (Isolation.vm_s2 mv) k = walk e (Isolation.vm_s2 mv) k)
    by (intros mv Hmv Hlv k; apply walk_slot; [exact Ht|exact (Hown mv Hmv Hlv)]).
  unfold create_rest, put_vm. fold (at_slot e i m'). rewrite owns_at_slot, vms_at.
  split; [exact Hp|]. split; [exact Hmax|].
  split; [apply Forall_replace; [exact Hlen|]; rewrite Hvl; rewrite Forall_forall in Hlen; exact (Hlen m Hin)|].
  split; [exact Ht|].
  split; [split; [exact Hcr|split; [rewrite vms_at, len_replace; exact Hn|exact Hipa]]|].
  split; [exact Hh|]. split.
  - intros mv Hmv Hlv. rewrite vms_at in Hmv. rewrite owns_at_slot.
    apply In_replace in Hmv as [->|Hmv]; [rewrite Hs2; rewrite Hl in Hlv|]; apply Hown; assumption.
  - split.
    + unfold free_slots_clear in *. apply Forall_replace; [exact Hfree|]. rewrite Hl, Hpr.
      rewrite Forall_forall in Hfree. exact (Hfree m Hin).
    + unfold vms_sane in *. rewrite Forall_forall in Hsane.
      apply Forall_replace; [rewrite Forall_forall|].
      * intros mv Hmv Hlv. apply s2_sane_ext with e; [exact (Hw mv Hmv Hlv)|exact (Hsane mv Hmv Hlv)].
      * intros Hlv. rewrite Hl in Hlv. rewrite Hs2.
        apply s2_sane_ext with e; [exact (Hw m Hin Hlv)|exact (Hsane m Hin Hlv)].
Qed.

Lemma create_rest_stable : forall c, store_stable (create_rest c).
Proof.
  intros c. apply put_vm_stable. intros e i m m' H Hn (Hs2 & Hl & Hp & Hv).
  exact (create_rest_put_vm c e i m m' H Hn Hs2 Hl Hp Hv).
Qed.

(** VM_DESTROY keeps [create_rest]: the slot it frees is left not live,
    not protected and with as many vCPUs; the other slots and the pool's
    tables are as they were, so every live VM's walk is. *)
Lemma destroyed_create_rest : forall c e e' i m, destroy_ctx e e' i m -> create_rest c e -> create_rest c e'.
Proof.
  intros c e e' i m C (Hp & Hmax & Hlen & Ht & Hc & Hh & Hown & Hfree & Hsane).
  pose proof C as (_ & Hni & _ & D & _ & K & P).
  pose proof D as (Ec & _ & Et & Eb & Epok & Elen & Eoth & _ & Evl & _).
  pose proof (destroyed_owned e e' i m C) as (_ & _ & Hh' & Hown' & _).
  assert (Htok : tables_ok e') by (unfold tables_ok in *; rewrite Et, Eb; exact Ht).
  (* A slot of [e'] is slot [i], or [e]'s. *)
  assert (Hslot : forall (Q : Isolation.vm -> Prop), Forall Q (Isolation.Engine_vms e) ->
            Q (nth i (Isolation.Engine_vms e') Isolation.zero_vm) -> Forall Q (Isolation.Engine_vms e')).
  { intros Q Hall Hi. rewrite Forall_forall in *. intros x Hx. apply In_nth with (d := Isolation.zero_vm) in Hx as (j & Hj & <-).
    destruct (Nat.eq_dec j i) as [->|Hne]; [exact Hi|]. rewrite (Eoth j Hne). apply Hall. apply nth_In. lia. }
  unfold create_rest, cfg_abs, cfg_rel in *. rewrite Ec.
  split; [exact Epok|]. split; [exact Hmax|].
  split; [apply Hslot; [exact Hlen|]; rewrite Evl; rewrite Forall_forall in Hlen; exact (Hlen m (nth_error_In _ _ Hni))|].
  split; [exact Htok|]. split; [unfold len in *; rewrite Elen; exact Hc|].
  split; [exact Hh'|]. split; [exact Hown'|]. split.
  - unfold free_slots_clear in *. apply Hslot; [exact Hfree|]. intros _. exact P.
  - unfold vms_sane in *. apply Hslot.
    + rewrite Forall_forall in *. intros mv Hmv Hlv. apply s2_sane_ext with e; [|exact (Hsane mv Hmv Hlv)].
      intros k. symmetry. apply walk_frame; [exact Ht|exact Htok|exact Eb|rewrite Et; reflexivity| |].
      * right. exact (proj1 (Hown mv Hmv Hlv)).
      * rewrite Et. intros x _. reflexivity.
    + intros Hl. rewrite K in Hl. discriminate Hl.
Qed.

(** VM_DESTROY of a VM sharing no page with the host, from [create_inv]
    and [engine_inv], never fails and keeps both. *)
Theorem VMDestroy_create_inv : forall c e tr id, create_inv c e -> engine_inv e ->
  len (Isolation.Engine_vms e) < 2 ^ 16 -> 0 <= id < 2 ^ 64 -> unshared_at e id ->
  exists st e' tr', Isolation.Engine_VMDestroy root id e tr = Ok st e' tr' /\ create_inv c e' /\ engine_inv e'.
Proof.
  intros c e tr id Hc [Hi Hs] Hv Hid Hun.
  destruct (VMDestroy_keeps_mem_inv e tr id Hi Hs Hv Hid Hun) as (st & e' & tr' & Hrun & Hi' & Hs').
  exists st, e', tr'. split; [exact Hrun|]. split; [|split; assumption].
  destruct (VMDestroy_mem_cases e tr id Hi Hs Hv Hid Hun) as (st0 & e0 & tr0 & Hrun0 & [E|(i & m & C & _)]);
    rewrite Hrun in Hrun0; injection Hrun0 as _ E0 _; subst e0; [rewrite E; exact Hc|].
  exact (create_inv_rest c e' (proj1 Hs') (destroyed_create_rest c e e' i m C (rest_of_create_inv c e Hc))).
Qed.

(** ** MEM_RECLAIM *)

(** A tree that an update kept ([tree_kept]) has, in a pool of whole
    tables as long, the same tables. *)
Lemma agree_kept : forall e e' r, tables_ok e -> tables_ok e' -> len (tables e') = len (tables e) -> tree_kept e e' r ->
  agree (tables e) (tables e') (s2_tables e r).
Proof.
  intros e e' r (Hw & _) (Hw' & _) Hl Hk y Hy.
  destruct (Hk y (proj1 (in_tree_iff e r y) Hy)) as [_ Ht].
  unfold len in Hl. apply Nat2Z.inj in Hl.
  destruct (Nat.lt_ge_cases (Z.to_nat y) (length (tables e))) as [Hlt|Hge].
  - rewrite Forall_forall in Hw, Hw'.
    assert (L1 : len (nth (Z.to_nat y) (tables e) Isolation.zero_Table) = 512) by (apply Hw; apply nth_In; exact Hlt).
    assert (L2 : len (nth (Z.to_nat y) (tables e') Isolation.zero_Table) = 512) by (apply Hw'; apply nth_In; lia).
    unfold len in L1, L2.
    apply (nth_ext _ _ 0 0); [lia|]. intros n Hn. specialize (Ht (Z.of_nat n) ltac:(lia)). unfold tent in Ht.
    rewrite Nat2Z.id in Ht. symmetry. exact Ht.
  - rewrite !nth_overflow by lia. reflexivity.
Qed.

(** An update of the host stage-2 from an engine with [mem_inv] that
    keeps the pool's place and size and every table outside the host's
    tree leaves every live VM's walk as it was: the VMs' trees share no
    table with the host's. *)
Lemma host_frame_walks : forall e e', mem_inv e -> tables_ok e' -> pool_base e' = pool_base e ->
  len (tables e') = len (tables e) -> tree_frame e e' (Isolation.stage2_root (Isolation.Engine_host e)) ->
  forall mv k, In mv (Isolation.Engine_vms e) -> Isolation.vm_live mv = true ->
    walk e' (Isolation.vm_s2 mv) k = walk e (Isolation.vm_s2 mv) k.
Proof.
  intros e e' Hi Ht' HB HL Htf mv k Hmv Hlv.
  pose proof Hi as (_ & (Hp & _ & _ & Hown & Hdis) & _). pose proof Hp as (Ht & _).
  symmetry. pose proof (Hown mv Hmv Hlv) as Hov.
  apply In_nth with (d := Isolation.zero_vm) in Hmv as (j & Hj & Ej).
  assert (Hd : disjoint (s2_tables e (Isolation.stage2_root (Isolation.Engine_host e))) (s2_tables e (Isolation.stage2_root (Isolation.vm_s2 mv))))
    by (pose proof (proj1 Hdis j Hj ltac:(unfold vm_at; rewrite Ej; exact Hlv)) as H; unfold root_at, vm_at in H; rewrite Ej in H; exact H).
  apply walk_frame; [exact Ht|exact Ht'|exact HB|exact HL|right; exact (proj1 Hov)|].
  apply agree_kept; [exact Ht|exact Ht'|exact HL|].
  apply (tree_kept_of_frame e e' _ _ Htf (owns_root_inv e _ Hp Hov)).
  intros y Hy Hy'. exact (Hd y (proj2 (in_tree_iff e _ y) Hy') (proj2 (in_tree_iff e _ y) Hy)).
Qed.

(** MEM_RECLAIM, from [mem_inv] with RAM inside the IPA space, leaves the
    VM slots, a pool of whole tables and every live VM's walk as they
    were: it changes only the ledger, the pool and the host's stage-2,
    whose update keeps every table in use outside the host's tree. *)
Lemma MemReclaim_walks : forall e tr pa n st e' tr', mem_inv e ->
  Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e)) +
    Isolation.Range_Size (Isolation.Config_RAM (Isolation.Engine_cfg e)) <= 2 ^ 40 ->
  0 <= pa < 2 ^ 64 -> 0 <= n < 2 ^ 64 ->
  Isolation.Engine_MemReclaim root pa n e tr = Ok st e' tr' ->
  (st <> Abi.Success -> e' = e) /\
  Isolation.Engine_vms e' = Isolation.Engine_vms e /\ Isolation.Engine_cfg e' = Isolation.Engine_cfg e /\
  forall mv k, In mv (Isolation.Engine_vms e) -> Isolation.vm_live mv = true ->
    walk e' (Isolation.vm_s2 mv) k = walk e (Isolation.vm_s2 mv) k.
Proof.
  intros e tr pa n st e' tr' Hi Hram Hpa Hn Hrun.
  pose proof (MemReclaim_keeps_mem_inv e tr pa n st e' tr' Hi Hram Hpa Hn Hrun) as (_ & ((Ht' & _) & _) & _).
  pose proof Hi as (Hm & (Hp & Hpl & Hh & Hown & Hdis) & _). pose proof Hp as (Ht & _).
  destruct (MemReclaim_no_failure e tr pa n Hm Hpl (owns_root_inv e _ Hp Hh) Hram Hpa Hn)
    as (st0 & e0 & tr0 & H0 & Herr & Hsucc).
  rewrite Hrun in H0. injection H0 as E1 E2 E3. subst st0 e0 tr0.
  destruct (Z.eq_dec st Abi.Success) as [Es|Ne];
    [|split; [intros _; exact (Herr Ne)|]; rewrite (Herr Ne); split; [reflexivity|split; [reflexivity|auto]]].
  destruct (Hsucc Es) as (q & ps & _ & Ee & _ & HB & HL & Htf).
  split; [intros Ne; contradiction|]. split; [rewrite Ee; reflexivity|]. split; [rewrite Ee; reflexivity|].
  exact (host_frame_walks e e' Hi Ht' HB HL Htf).
Qed.

(** A call that keeps [engine_inv], the slots, the configuration and
    every live VM's walk keeps [create_inv]. *)
Lemma create_inv_same_walks : forall c e e', create_inv c e -> engine_inv e' ->
  Isolation.Engine_vms e' = Isolation.Engine_vms e -> Isolation.Engine_cfg e' = Isolation.Engine_cfg e ->
  (forall mv k, In mv (Isolation.Engine_vms e) -> Isolation.vm_live mv = true ->
     walk e' (Isolation.vm_s2 mv) k = walk e (Isolation.vm_s2 mv) k) ->
  create_inv c e'.
Proof.
  intros c e e' Hc [Hi' Hs'] Ev Ecfg Hw.
  apply (create_inv_rest c e' (proj1 Hs')).
  pose proof (rest_of_create_inv c e Hc) as (_ & Hmax & Hlen & _ & Hcfg & _ & _ & Hfree & Hsane).
  pose proof Hi' as (_ & ((Ht' & Hpk' & _) & _ & Hh' & Hown' & _) & _).
  unfold create_rest, cfg_abs, cfg_rel, free_slots_clear, vms_sane in *. rewrite Ev, Ecfg.
  split; [exact Hpk'|]. split; [exact Hmax|]. split; [exact Hlen|]. split; [exact Ht'|]. split; [exact Hcfg|].
  split; [exact Hh'|]. split; [exact Hown'|]. split; [exact Hfree|].
  rewrite Forall_forall in *. intros mv Hmv Hlv.
  apply s2_sane_ext with e; [exact (fun k => Hw mv k Hmv Hlv)|exact (Hsane mv Hmv Hlv)].
Qed.

(** MEM_RECLAIM, from [create_inv] and [engine_inv], with RAM inside the
    IPA space, never fails and keeps both: the slots and the live VMs'
    walks are as they were ([MemReclaim_walks]). *)
Theorem MemReclaim_create_inv : forall c e tr pa n, create_inv c e -> engine_inv e ->
  Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e)) +
    Isolation.Range_Size (Isolation.Config_RAM (Isolation.Engine_cfg e)) <= 2 ^ 40 ->
  0 <= pa < 2 ^ 64 -> 0 <= n < 2 ^ 64 ->
  exists st e' tr', Isolation.Engine_MemReclaim root pa n e tr = Ok st e' tr' /\ create_inv c e' /\ engine_inv e'.
Proof.
  intros c e tr pa n Hc Hei Hram Hpa Hn.
  destruct (MemReclaim_engine_inv e tr pa n Hei Hram Hpa Hn) as (st & e' & tr' & Hrun & Hei').
  exists st, e', tr'. split; [exact Hrun|]. split; [|exact Hei'].
  destruct (MemReclaim_walks e tr pa n st e' tr' (proj1 Hei) Hram Hpa Hn Hrun) as (_ & Ev & Ecfg & Hw).
  exact (create_inv_same_walks c e e' Hc Hei' Ev Ecfg Hw).
Qed.
