(** * A VM's walk maps only pages the ledger gives it

    [walk_held]: every page the walk of a live VM's stage-2 maps, at an
    IPA page of the model's IPA space, is in the ledger the VM's own or
    the host's lent to it ([holds_for], Invariants: one direction of the
    model's [inv_s2]). MEM_SHARE and MEM_DONATE need it to keep
    [vms_sane]: the pages they map were the host's and not lent, so no
    live VM's walk mapped them. Proved here:
    - replacing a slot by one on the same stage-2 and as live keeps it
      ([walk_held_put_vm]), so the calls that write one slot's shadow
      state or a vCPU keep it with [create_rest] ([held_rest_stable],
      [VCPUInit_walk_held]);
    - VM_CREATE keeps it: the slot it fills maps nothing and the other
      walks are unchanged ([VMCreate_walk_held]).
    VM_DESTROY, MEM_RECLAIM, MEM_SHARE and MEM_DONATE are not yet shown to
    keep it. *)
From Coq Require Import ZArith Lia List Bool.
From Bulkhead.Spec Require Import State Spec.
From Bulkhead.Proofs Require Import Invariants.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodePlace CodeTrack CodeLens CodeLoop CodeLedger CodeVCPU CodeVCPUInit CodeVMCreate
  CodeShadow CodeStage2 CodePool CodeFree CodeTransfer CodeEngineOk CodeAbsLedger CodeAbs CodeVMCreateRefine
  CodeVMCreateInv CodeOwns CodeMemInvCreate CodeEngineInv.
Import ListNotations.
Open Scope Z_scope.

Definition walk_held (c : config) (e : Isolation.Engine) : Prop :=
  forall i v k pa w, nth_error (Isolation.Engine_vms e) i = Some v -> Isolation.vm_live v = true ->
    (k < ipa_pages c)%nat -> walk e (Isolation.vm_s2 v) k = Some (pa, w) ->
    holds_for (S i) (abs_pages c e (pfnZ pa)) = true.

Lemma nth_error_replace : forall {A} i j (x : A) xs, (i < length xs)%nat ->
  nth_error (replace_nth i x xs) j = if Nat.eqb j i then Some x else nth_error xs j.
Proof. induction i; intros j x [|y ys] H; cbn in *; try lia; destruct j; cbn; auto. apply IHi. lia. Qed.

(** Replacing VM slot [i] by one on the same stage-2 and as live keeps
    [walk_held]: the ledger and every live VM's walk are as they were. *)
Lemma walk_held_put_vm : forall c e i m m', walk_held c e -> tables_ok e -> vms_own e ->
  nth_error (Isolation.Engine_vms e) i = Some m ->
  Isolation.vm_s2 m' = Isolation.vm_s2 m -> Isolation.vm_live m' = Isolation.vm_live m -> walk_held c (put_vm e i m').
Proof.
  intros c e i m m' H Ht Hown Hn Hs2 Hl j v k pa w Hj Hlv Hk Hw.
  assert (Hi : (i < length (Isolation.Engine_vms e))%nat) by (apply nth_error_Some; congruence).
  change (put_vm e i m') with (at_slot e i m') in *. rewrite vms_at, nth_error_replace in Hj by exact Hi.
  destruct (Nat.eqb_spec j i) as [->|Hne].
  - injection Hj as <-. rewrite Hs2 in Hw. rewrite Hl in Hlv.
    rewrite (walk_slot e i m' _ k Ht (Hown m (nth_error_In _ _ Hn) Hlv)) in Hw. exact (H i m k pa w Hn Hlv Hk Hw).
  - rewrite (walk_slot e i m' _ k Ht (Hown v (nth_error_In _ _ Hj) Hlv)) in Hw. exact (H j v k pa w Hj Hlv Hk Hw).
Qed.

Lemma held_rest_put_vm : forall c e i m m', walk_held c e /\ create_rest c e ->
  nth_error (Isolation.Engine_vms e) i = Some m ->
  Isolation.vm_s2 m' = Isolation.vm_s2 m -> Isolation.vm_live m' = Isolation.vm_live m ->
  Isolation.vm_protected m' = Isolation.vm_protected m ->
  len (Isolation.vm_vcpus m') = len (Isolation.vm_vcpus m) -> walk_held c (put_vm e i m') /\ create_rest c (put_vm e i m').
Proof.
  intros c e i m m' [Hw Hr] Hn Hs2 Hl Hp Hv. pose proof Hr as (_ & _ & _ & Ht & _ & _ & Hown & _).
  split; [exact (walk_held_put_vm c e i m m' Hw Ht Hown Hn Hs2 Hl)|exact (create_rest_put_vm c e i m m' Hr Hn Hs2 Hl Hp Hv)].
Qed.

Lemma held_rest_stable : forall c, store_stable (fun e => walk_held c e /\ create_rest c e).
Proof.
  intros c. split.
  - intros e e' H [-> | (i & m & sh & Hn & ->)]; [exact H|].
    unfold put_shadow. apply (held_rest_put_vm c e i m); [exact H|exact Hn|destruct m; reflexivity..].
  - intros e e' H [-> | (i & m & j & x & Hn & ->)]; [exact H|].
    unfold put_vcpu. apply (held_rest_put_vm c e i m); [exact H|exact Hn|destruct m; reflexivity..|].
    destruct m; cbn. apply len_replace.
Qed.

(** So MMIO_SHADOW, MMIO_LOG_READ, VCPU_INIT, VCPU_IRQ and the MMIO
    shadow path of VCPU_RUN keep [walk_held] with [create_inv] (the
    [*_keeps] of CodeEngineOk with [held_rest_stable]). As one
    instance: *)
Corollary VCPUInit_walk_held : forall c e tr id v entry arg, walk_held c e -> create_inv c e -> shadow_inv e ->
  0 <= id < 2 ^ 64 -> 0 <= v < 2 ^ 64 ->
  exists st e', Isolation.Engine_VCPUInit root id v entry arg e tr = Ok st e' tr /\ walk_held c e' /\ create_inv c e'.
Proof.
  intros c e tr id v entry arg Hw Hc Hs Hid Hv.
  destruct (VCPUInit_keeps (fun e => walk_held c e /\ create_rest c e) e tr id v entry arg (held_rest_stable c)
    (conj Hw (rest_of_create_inv c e Hc)) Hs Hid Hv) as (st & e' & H & [Hw' Hr'] & Hs').
  exists st, e'. split; [exact H|]. split; [exact Hw'|exact (create_inv_rest c e' (proj1 Hs') Hr')].
Qed.

(** Every outcome of VM_CREATE keeps [walk_held]: the ledger is
    unchanged, the slot it fills is not live (NO_MEMORY) or maps nothing
    (SUCCESS), and the other walks are as they were. *)
Theorem VMCreate_walk_held : forall c e tr n flags r e' tr', create_inv c e -> walk_held c e -> 0 <= n < 2 ^ 64 ->
  Isolation.Engine_VMCreate root n flags e tr = Ok r e' tr' -> walk_held c e'.
Proof.
  intros c e tr n flags r e' tr' (Hc & Hok & _ & _ & Hvms & _) H Hn Hrun.
  destruct (VMCreate_cases e tr n flags r e' tr' Hc Hn Hrun)
    as [->|[(slot & id & Hff & ->)|(slot & rt & q & X & Hff & [Hrt _] & HX & HXr & _ & ->)]]; [exact H| |];
    intros j v k pa w Hj Hlv Hk Hw;
    assert (Hs : (Z.to_nat slot < length (Isolation.Engine_vms e))%nat) by (destruct Hff as [Hr _]; unfold len in Hr; lia).
  - rewrite vms_at, nth_error_replace in Hj by exact Hs.
    destruct (Nat.eqb_spec j (Z.to_nat slot)) as [->|Hne].
    + injection Hj as <-. cbn in Hlv. rewrite (first_free_dead e slot Hff) in Hlv. discriminate Hlv.
    + rewrite (walk_slot e _ _ _ k Hok (Hvms v (nth_error_In _ _ Hj) Hlv)) in Hw. exact (H j v k pa w Hj Hlv Hk Hw).
  - rewrite vms_at, vms_set_pool, nth_error_replace in Hj by exact Hs.
    destruct (Nat.eqb_spec j (Z.to_nat slot)) as [->|Hne].
    + injection Hj as <-. rewrite (new_vm_walk e q rt _ X Hok Hrt HXr k) in Hw. discriminate Hw.
    + rewrite (walk_after e q rt _ X _ k Hok Hrt (Hvms v (nth_error_In _ _ Hj) Hlv)) in Hw. exact (H j v k pa w Hj Hlv Hk Hw).
Qed.
