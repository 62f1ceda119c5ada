(** * VM_DESTROY of a VM that shares no page with the host, refined whole

    Lemmas about proofs/code/Isolation.v, the translation of
    isolation/vm.go, that carry on from CodeVMDestroy.v (the outcomes of
    VM_DESTROY when the VM shares no page with the host), CodeWalkCalls.v
    (its effect on the walks) and CodeS2Refine.v (the model's VM slots).
    Proved here:
    - the abstraction of the ledger entry [releasePages] leaves is the
      model's [destroy_page] of the abstraction of the entry before
      ([release_abs], [destroy_pages_abs]);
    - a page the VM owns and does not share with the host is not in the
      model's host stage-2 when [Inv] holds of the abstraction
      ([owned_not_host_at]), so none it owns is when it shares none with
      the host ([owned_not_host]);
    - the model's checks pass for a live VM none of whose vCPUs runs
      ([destroy_checks]), and the model's step leaves the abstraction of
      an engine where the VM is gone as VM_DESTROY leaves it: ledger
      released, host stage-2 without the VM's pages, the slot free and
      the others as they were ([destroy_refines_with]);
    - so VM_DESTROY answering SUCCESS, from [create_inv] and [engine_inv]
      with every ledger entry [entry_ok], for a VM that shares no page
      with the host, refines the model's step whole when [Inv] holds of
      the abstraction before: the step succeeds and leaves the
      abstraction after, ledger, host stage-2 and every VM slot
      ([VMDestroy_refines]). *)
From Coq Require Import ZArith Lia List Bool.
From Bulkhead.Spec Require Import State Spec.
From Bulkhead.Proofs Require Import Invariants.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodeVMCreate CodeTransfer CodeAbsLedger CodeAbs CodeVMCreateRefine CodeVMCreateInv
  CodeOwns CodeEngineInv CodeWalkCalls CodeModelThms CodeS2Refine CodeVMDestroy CodeRelease CodeMemInvDestroy
  CodeTransferRefine.
Import ListNotations.
Open Scope Z_scope.

(** Two integers, one at least 1, that differ have different naturals. *)
Lemma to_nat_neq : forall x id, 1 <= id -> x <> id -> Nat.eqb (Z.to_nat x) (Z.to_nat id) = false.
Proof. intros x id Hid Hx. apply Nat.eqb_neq. intros E. destruct (Z.leb_spec 0 x); lia. Qed.

Lemma release_abs : forall id pg, 1 <= id -> abs_page (release_page id pg) = destroy_page (Z.to_nat id) (abs_page pg).
Proof.
  intros id [o v sh b] Hid. unfold release_page, abs_page, abs_owner, abs_share, destroy_page.
  cbn [Isolation.page_owner Isolation.page_vm Isolation.page_shared Isolation.page_borrower
       Isolation.set_page_borrower Isolation.set_page_shared].
  unfold Abi.OwnerVM, Abi.OwnerHost, Abi.OwnerEngine, Abi.OwnerNone.
  destruct (Z.eqb_spec o 3) as [->|N3]; cbn [andb Z.eqb Pos.eqb].
  - destruct (Z.eqb_spec v id) as [->|Nv]; cbn [andb pg_owner pg_share].
    + rewrite Nat.eqb_refl. reflexivity.
    + rewrite (to_nat_neq v id Hid Nv). reflexivity.
  - destruct (Z.eqb_spec o 2) as [->|N2]; cbn [andb Z.eqb Pos.eqb].
    + destruct sh; cbn [andb pg_owner pg_share]; [|reflexivity].
      destruct (Z.eqb_spec b id) as [->|Nb]; cbn [andb pg_owner pg_share].
      * rewrite Nat.eqb_refl. reflexivity.
      * rewrite (to_nat_neq b id Hid Nb). reflexivity.
    + cbn [andb Isolation.page_owner Isolation.page_vm Isolation.page_shared Isolation.page_borrower].
      destruct (Z.eqb_spec o 1); try rewrite (proj2 (Z.eqb_neq o 2) N2); try rewrite (proj2 (Z.eqb_neq o 3) N3);
        reflexivity.
Qed.

(** The abstraction of a ledger [releasePages] left, page by page. *)
Lemma destroy_pages_abs : forall c e e' id, 1 <= id ->
  Isolation.Engine_pages e' = map (release_page id) (Isolation.Engine_pages e) ->
  forall p, abs_pages c e' p = destroy_page (Z.to_nat id) (abs_pages c e p).
Proof.
  intros c e e' id Hid Hpg p. unfold abs_pages. destruct (in_ram c p); [|reflexivity]. rewrite Hpg.
  rewrite <- release_abs by exact Hid. f_equal.
  change Isolation.zero_page with (release_page id Isolation.zero_page) at 1. apply map_nth.
Qed.

(** A page of RAM VM [id] owns is not in the model's host stage-2 when
    [Inv] holds and the VM does not share it with the host: the host sees
    a VM's page only if the VM shared it with the host. *)
Lemma owned_not_host_at : forall c e id p, Inv c (abs_ms c e) -> owners_ok e -> 1 <= id ->
  ~ shared_to_host id (nth (p - ram_base c) (Isolation.Engine_pages e) Isolation.zero_page) ->
  owned_by (Z.to_nat id) (abs_pages c e p) = true -> abs_hs2 c e p = false.
Proof.
  intros c e id p I Hown Hid Hns Ho.
  change (abs_hs2 c e p) with (ms_hs2 (abs_ms c e) p). rewrite (inv_hs2 c _ I p). unfold abs_ms. cbn [ms_pages].
  revert Ho Hns. unfold abs_pages. destruct (in_ram c p) eqn:Hr; [|intros E; discriminate E].
  set (k := (p - ram_base c)%nat). destruct (Nat.ltb_spec k (length (Isolation.Engine_pages e))) as [Hk|Hk].
  2:{ rewrite nth_overflow by lia. intros E; discriminate E. }
  pose proof (nth_In _ Isolation.zero_page Hk) as Hin.
  unfold owners_ok in Hown. rewrite Forall_forall in Hown. pose proof (Hown _ Hin) as (_ & Hv & Hb).
  unfold shared_to_host.
  destruct (nth k (Isolation.Engine_pages e) Isolation.zero_page) as [o v sh b].
  cbn [Isolation.page_owner Isolation.page_vm Isolation.page_shared Isolation.page_borrower] in *.
  unfold abs_page, abs_owner, abs_share, owned_by, host_sees. cbn [pg_owner pg_share Isolation.page_owner
    Isolation.page_vm Isolation.page_shared Isolation.page_borrower].
  unfold Abi.OwnerVM, Abi.OwnerHost, Abi.OwnerEngine, Abi.OwnerNone in *.
  destruct (Z.eqb_spec o 1); [intros E; discriminate E|]. destruct (Z.eqb_spec o 2); [intros E; discriminate E|].
  destruct (Z.eqb_spec o 3) as [->|]; [|intros E; discriminate E].
  intros Ev Hns. apply Nat.eqb_eq in Ev. destruct sh; [|reflexivity].
  unfold host_id. destruct (Nat.eqb_spec (Z.to_nat b) 0) as [Eb|]; [|reflexivity].
  exfalso. apply Hns. unfold Isolation.HostVMID. repeat split; lia.
Qed.

(** So no page VM [id] owns is when the live VM at [id] shares none with
    the host. *)
Lemma owned_not_host : forall c e id m p, Inv c (abs_ms c e) -> owners_ok e -> unshared_at e id -> 1 <= id ->
  nth_error (Isolation.Engine_vms e) (Z.to_nat (id - 1)) = Some m -> Isolation.vm_live m = true ->
  owned_by (Z.to_nat id) (abs_pages c e p) = true -> abs_hs2 c e p = false.
Proof.
  intros c e id m p I Hown Hun Hid Hnth Hlive Ho. apply (owned_not_host_at c e id p I Hown Hid); [|exact Ho].
  revert Ho. unfold abs_pages. destruct (in_ram c p); [|intros E; discriminate E].
  destruct (Nat.ltb_spec (p - ram_base c) (length (Isolation.Engine_pages e))) as [Hk|Hk].
  - intros _. exact (Hun m Hid Hnth Hlive _ (nth_In _ Isolation.zero_page Hk)).
  - rewrite nth_overflow by lia. intros E; discriminate E.
Qed.

(** The model's checks pass for the abstraction of a live VM none of
    whose vCPUs runs. *)
Lemma destroy_checks : forall c e id m, cfg_abs c e -> 1 <= id ->
  nth_error (Isolation.Engine_vms e) (Z.to_nat (id - 1)) = Some m -> Isolation.vm_live m = true -> idle m ->
  vmid_ok c (abs_ms c e) (Z.to_nat id) = true /\ any_running (ms_vms (abs_ms c e) (Z.to_nat id)) = false.
Proof.
  intros c e id m (_ & Hmax & _) Hid Hnth Hlive Hidle.
  rewrite (slot_vm c e id m Hid Hnth). unfold abs_vm. rewrite Hlive.
  pose proof (nth_error_Some (Isolation.Engine_vms e) (Z.to_nat (id - 1))) as Hs. rewrite Hnth in Hs.
  assert (Hlt : (Z.to_nat (id - 1) < length (Isolation.Engine_vms e))%nat) by (apply Hs; discriminate).
  split.
  - unfold vmid_ok. cbn [ms_vms vm_live]. unfold len in Hmax.
    apply andb_true_iff. split; [apply andb_true_iff; split|].
    + apply negb_true_iff, Nat.eqb_neq. lia.
    + apply Nat.leb_le. lia.
    + rewrite (slot_vm c e id m Hid Hnth). unfold abs_vm. rewrite Hlive. reflexivity.
  - unfold any_running. cbn [vm_vcpus vm_vcpu]. apply negb_false_iff. apply all_range_iff.
    intros j Hj. destruct (Nat.ltb_spec j (Z.to_nat (Isolation.vm_nvcpu m))) as [_|]; [|lia].
    unfold abs_vcpu, abs_vstate. cbn [vc_state].
    pose proof (Hidle (Z.of_nat j) ltac:(lia)) as Hn. rewrite Nat2Z.id in Hn.
    destruct (_ =? Isolation.VCPUOff); [reflexivity|]. rewrite (proj2 (Z.eqb_neq _ _) Hn).
    destruct (Isolation.Context_Fresh _); reflexivity.
Qed.

(** The model's step from the abstraction of [e] succeeds and leaves
    the abstraction of [e'] when [e'] is what VM_DESTROY of the live VM
    [m] at vmid [id], none of whose vCPUs runs, leaves: the ledger
    released, the host stage-2 without the pages the VM owned and
    otherwise as it was, the VM's slot not live and every other slot as
    it was, with its walk. *)
Lemma destroy_refines_with : forall c e e' id m mem regs, cfg_abs c e -> 1 <= id ->
  nth_error (Isolation.Engine_vms e) (Z.to_nat (id - 1)) = Some m -> Isolation.vm_live m = true -> idle m ->
  Isolation.Engine_pages e' = map (release_page id) (Isolation.Engine_pages e) ->
  (forall p, abs_hs2 c e' p = if owned_by (Z.to_nat id) (abs_pages c e p) then false else abs_hs2 c e p) ->
  length (Isolation.Engine_vms e') = length (Isolation.Engine_vms e) ->
  Isolation.vm_live (nth (Z.to_nat (id - 1)) (Isolation.Engine_vms e') Isolation.zero_vm) = false ->
  (forall j, j <> Z.to_nat (id - 1) -> vm_at e' j = vm_at e j) ->
  (forall j v k, nth_error (Isolation.Engine_vms e) j = Some v -> Isolation.vm_live v = true ->
     CodeAbs.walk e' (Isolation.vm_s2 v) k = CodeAbs.walk e (Isolation.vm_s2 v) k) ->
  exists s', vm_destroy c (abs_state c e mem regs) (Z.to_nat id) = (s', ok0) /\ ms_eq (st_meta s') (abs_ms c e').
Proof.
  intros c e e' id m mem regs Hcfg Hid1 Hn Hlive Hidle Hpg Hhs2 Hlen Kdead Hoth Hw.
  unfold vm_destroy, abs_state. cbn [st_meta].
  destruct (destroy_checks c e id m Hcfg Hid1 Hn Hlive Hidle) as [Hok Hnr]. rewrite Hok, Hnr. cbn [negb].
  eexists. split; [reflexivity|]. split; [|split].
  - intros p. cbn [st_meta ms_pages]. symmetry. apply (destroy_pages_abs c e e' id Hid1 Hpg).
  - intros p. cbn [st_meta ms_hs2]. change (ms_hs2 (abs_ms c e') p) with (abs_hs2 c e' p).
    change (ms_hs2 (abs_ms c e) p) with (abs_hs2 c e p). change (ms_pages (abs_ms c e) p) with (abs_pages c e p).
    symmetry. exact (Hhs2 p).
  - intros w. cbn [st_meta ms_vms]. unfold State.upd. destruct (Nat.eqb_spec w (Z.to_nat id)) as [->|Hwv].
    + assert (Hn' : nth_error (Isolation.Engine_vms e') (Z.to_nat (id - 1)) =
                    Some (nth (Z.to_nat (id - 1)) (Isolation.Engine_vms e') Isolation.zero_vm))
        by (apply nth_error_nth'; rewrite Hlen; apply nth_error_Some; congruence).
      rewrite (slot_vm c e' id _ Hid1 Hn'). unfold abs_vm. rewrite Kdead. apply vm_eq_refl.
    + apply (abs_slot_same_at c e e' w Hlen).
      * intros Hw1. exact (Hoth (w - 1)%nat ltac:(lia)).
      * intros _ m0 Hm0 Hl0 p. apply abs_s2_same. intros k. exact (Hw _ m0 k Hm0 Hl0).
Qed.

(** VM_DESTROY answering SUCCESS for a VM that shares no page with the
    host, from [create_inv] and [engine_inv] with every ledger entry
    [entry_ok] and fewer than 2^16 slots, when [Inv] holds of the
    abstraction: the model's step from the abstraction succeeds, and its
    metadata after is the abstraction after the call: the VM's pages are
    nobody's, the host's pages lent to it come back, the host stage-2 is
    as it was (it mapped none of the VM's pages) and the VM's slot is
    free, every other slot as it was. *)
Theorem VMDestroy_refines : forall c e tr id e' tr' mem regs,
  create_inv c e -> engine_inv e -> owners_ok e -> len (Isolation.Engine_vms e) < 2 ^ 16 -> 0 <= id < 2 ^ 64 ->
  unshared_at e id -> Inv c (abs_ms c e) ->
  Isolation.Engine_VMDestroy root id e tr = Ok Abi.Success e' tr' ->
  exists s', vm_destroy c (abs_state c e mem regs) (Z.to_nat id) = (s', ok0) /\ ms_eq (st_meta s') (abs_ms c e').
Proof.
  intros c e tr id e' tr' mem regs Hc [Hi Hs] Hown Hv Hid Hun I Hrun.
  pose proof Hc as (_ & _ & Hcfg & _ & Hvms & _).
  pose proof Hi as (Hm & (Hp & _ & _ & Hown2 & _) & _). pose proof Hp as (_ & Hpok & _ & _ & Hplat).
  destruct (VMDestroy_unshared_cases e tr id Hm Hs Hpok Hplat Hv Hid
    (fun m _ Hn Hl => or_intror (Hown2 m (nth_error_In _ _ Hn) Hl)) Hun)
    as (st0 & e0 & tr0 & Hrun0 & [[_ Ne]|(i & m & Hn & Hlive & Ei & X & Hpg & _ & Hidle & Hid1)]);
    rewrite Hrun in Hrun0; injection Hrun0 as E1 E2 _; subst st0 e0; [contradiction|].
  destruct (VMDestroy_walk_cases e tr id Hi Hs Hv Hid Hun)
    as (st1 & e1 & tr1 & Hrun1 & [E|(i' & m' & C & Ei' & _ & Eh & _ & Hw)]);
    rewrite Hrun in Hrun1; injection Hrun1 as _ E3 _; subst e1.
  { exfalso. subst e'. destruct X as (_ & _ & K & _). rewrite (nth_error_nth _ _ Isolation.zero_vm Hn) in K.
    rewrite Hlive in K. discriminate K. }
  subst i i'. pose proof X as (_ & _ & Kdead & _).
  apply (destroy_refines_with c e e' id m mem regs Hcfg Hid1 Hn Hlive Hidle Hpg).
  - intros p. replace (abs_hs2 c e' p) with (abs_hs2 c e p)
      by (unfold abs_hs2; rewrite Eh, (Hw (Isolation.Engine_host e) p (proj1 (proj2 (proj2 (proj2 Hc))))); reflexivity).
    destruct (owned_by (Z.to_nat id) (abs_pages c e p)) eqn:Ho; [|reflexivity].
    exact (owned_not_host c e id m p I Hown Hun Hid1 Hn Hlive Ho).
  - exact (same_len _ _ _ _ C).
  - exact Kdead.
  - exact (other_slot _ _ _ _ C).
  - intros j v k Hj Hl. exact (Hw _ k (Hvms v (nth_error_In _ _ Hj) Hl)).
Qed.
