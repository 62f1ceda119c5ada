(** * MEM_SHARE and MEM_DONATE refined whole: the model's stage-2s after them

    Lemmas about proofs/code/Isolation.v, the translation of
    isolation/mem.go, that carry on from CodeWalkCalls.v (the walks after
    the memory calls) and CodeWalkHeld.v ([walk_held], and MEM_SHARE
    keeping [create_inv]). The model's stage-2 of a VM is the
    abstraction of its walk ([abs_s2], CodeAbs: for each PFN, the lowest
    IPA page whose walk reaches it).
    Proved here:
    - [first_range] reads only the range it searches
      ([first_range_ext_in]);
    - an IPA page of a range the abstraction of a sane stage-2 leaves
      free ([ipa_range_free]) is unmapped in its walk ([free_walk_none]);
    - the permissions the model accepts are the bits a leaf keeps
      ([perms_bits]);
    - a call that maps an IPA range the model left free onto a PFN
      range, every other IPA page as before, on a stage-2 sane before and
      after, leaves the model's stage-2 [Spec.map_range] of the one
      before ([vm_s2_lend]);
    - so MEM_SHARE and MEM_DONATE answering SUCCESS, from [create_inv],
      [walk_inv] and [walk_held] with RAM inside the IPA space and at
      most 255 VM slots, leave the model's stage-2 of the VM exactly
      [Spec.map_range] of the one before, over the call's PFN and IPA
      ranges with its permissions ([MemShare_vm_s2], [MemDonate_vm_s2]):
      the stage-2 half of their refinement for the VM they map into;
    - the model's host stage-2 reads the host's walk at each RAM page's
      own address, so a host walk changed only on an IPA range changes it
      only on that PFN range ([hs2_range]); after MEM_DONATE it loses the
      range, as [Spec.mem_donate] sets it; after MEM_SHARE it is as it
      was; and after either every other live VM's model's stage-2 is as
      it was ([abs_s2_same], [MemDonate_others_s2],
      [MemShare_others_s2]);
    - so MEM_SHARE and MEM_DONATE answering SUCCESS refine the model's
      step whole: the step from the abstraction before succeeds and
      leaves the abstraction after, ledger, host stage-2 and every VM
      slot, field by field and point by point ([vms_lend_eq],
      [MemShare_refines], [MemDonate_refines], [ms_eq]); and the model's
      invariant [Inv] holds after each when it held before
      ([MemShare_keeps_Inv], [MemDonate_keeps_Inv]):
      [Invariants.mem_share_inv] and [Invariants.mem_donate_inv] as
      theorems about [Engine.MemShare] and [Engine.MemDonate]. *)
From Coq Require Import ZArith Lia List Bool.
From Bulkhead.Spec Require Import State Spec.
From Bulkhead.Proofs Require Import Invariants.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodePlace CodeVMCreate CodeStage2 CodeTransfer CodeAbsLedger CodeMemCall CodeAbs
  CodeTransferRefine CodeVMCreateRefine CodeVMCreateInv CodeOwns CodeEngineInv CodeLedgerRefine Lemmas CodeWalkCalls
  CodeModelThms CodeMemShare
  CodeWalkHeld CodeWalkRange.
Import ListNotations.
Open Scope Z_scope.

Lemma first_range_ext_in : forall {A} n lo (f g : nat -> option A), (forall k, (lo <= k < lo + n)%nat -> f k = g k) ->
  first_range lo n f = first_range lo n g.
Proof.
  intros A n. induction n as [|n IH]; intros lo f g H; [reflexivity|]. cbn [first_range].
  rewrite (H lo ltac:(lia)). destruct (g lo); [reflexivity|]. apply IH. intros k Hk. apply H. lia.
Qed.

(** An IPA page of a range that the abstraction of a sane stage-2 leaves
    free is unmapped in its walk: a page the walk maps is in RAM, and the
    abstraction maps it at that IPA page ([abs_s2_hit]). *)
Lemma free_walk_none : forall c e s2 i0 n k, s2_sane c e s2 -> ipa_range_free c (abs_s2 c e s2) i0 n = true ->
  (k < ipa_pages c)%nat -> (i0 <= k < i0 + n)%nat -> walk e s2 k = None.
Proof.
  intros c e s2 i0 n k Hs Hf Hk Hr. destruct (walk e s2 k) as [[pa w]|] eqn:Hw; [exfalso|reflexivity].
  assert (Hram : in_ram c (pfnZ pa) = true) by exact (proj1 Hs k pa w Hk Hw).
  unfold ipa_range_free in Hf. rewrite all_range_iff in Hf.
  pose proof Hram as Hr'. unfold in_ram, in_range in Hr'. apply andb_true_iff in Hr' as [H1 H2].
  apply Nat.leb_le in H1. apply Nat.ltb_lt in H2.
  specialize (Hf (pfnZ pa) ltac:(lia)). unfold mapped_in in Hf. rewrite Hram, (abs_s2_hit c e s2 k pa w Hs Hk Hw) in Hf.
  rewrite (proj2 (in_range_spec k i0 n) Hr) in Hf. discriminate Hf.
Qed.

(** The permissions the model accepts, 1 to 7, are the bits a leaf keeps
    of the 8-bit field the code stores. *)
Lemma perms_bits : forall perms, 0 <= perms < 2 ^ 64 -> perms_ok (Z.to_nat perms) = true ->
  Z.to_nat (Z.land (wrapu 8 perms) 7) = Z.to_nat perms.
Proof.
  intros perms Hp H. unfold perms_ok, perms_all in H. apply andb_true_iff in H as [_ H]. apply Nat.leb_le in H.
  unfold wrapu. rewrite (Z.mod_small perms) by lia. change 7 with (Z.ones 3). rewrite Z.land_ones, Z.mod_small by lia.
  reflexivity.
Qed.

(** The model's VM [id] is the abstraction of slot [id - 1]. *)
Lemma slot_vm : forall c e id m, 1 <= id -> nth_error (Isolation.Engine_vms e) (Z.to_nat (id - 1)) = Some m ->
  ms_vms (abs_ms c e) (Z.to_nat id) = abs_vm c e m.
Proof. intros c e id m Hid Hnth. replace (Z.to_nat id) with (S (Z.to_nat (id - 1))) by lia. exact (abs_slot c e _ m Hnth). Qed.

Lemma s2_of_slot : forall c e id m, 1 <= id -> nth_error (Isolation.Engine_vms e) (Z.to_nat (id - 1)) = Some m ->
  Isolation.vm_live m = true -> s2_of (abs_ms c e) (Z.to_nat id) = abs_s2 c e (Isolation.vm_s2 m).
Proof. intros c e id m Hid Hnth Hlive. unfold s2_of. rewrite (slot_vm c e id m Hid Hnth). unfold abs_vm. rewrite Hlive. reflexivity. Qed.

(** What the model's checks of a lend that passed say of the VM's
    stage-2 and of the permissions. *)
Lemma lend_checks_vm : forall c e id pa ipa n perms m, lend_checks c (abs_ms c e) (Z.to_nat id) pa ipa n perms = None ->
  1 <= id -> nth_error (Isolation.Engine_vms e) (Z.to_nat (id - 1)) = Some m -> Isolation.vm_live m = true ->
  perms_ok perms = true /\ ipa_range_free c (abs_s2 c e (Isolation.vm_s2 m)) (pfn c ipa) n = true.
Proof.
  intros c e id pa ipa n perms m H Hid Hnth Hlive.
  unfold lend_checks in H. rewrite (s2_of_slot c e id m Hid Hnth Hlive) in H.
  destruct (vmid_ok c _ _), (pa_ok c _ _), (ipa_ok c _ _), (perms_ok perms); try discriminate H.
  destruct (all_range _ _ _); [|discriminate H].
  destruct (ipa_range_free c _ _ _); [|discriminate H]. split; reflexivity.
Qed.

(** A call that maps the IPA range at [ipa] of a stage-2 onto the pages
    at [pa] with permission bits [w0], every other IPA page as before,
    where the model's stage-2 before left that IPA range free, and that
    leaves the stage-2 sane before and after: the model's stage-2 after
    it is [Spec.map_range] of the one before. *)
Lemma vm_s2_lend : forall c e e' s2 pa ipa n w0 pm, cfg_abs c e -> s2_sane c e s2 -> s2_sane c e' s2 ->
  0 <= pa -> 0 <= ipa -> 0 <= n -> pa mod 4096 = 0 -> ipa mod 4096 = 0 -> ipa + n * 4096 <= 2 ^ 40 ->
  ipa_range_free c (abs_s2 c e s2) (pfn c (Z.to_nat ipa)) (Z.to_nat n) = true -> Z.to_nat w0 = pm ->
  (forall k, Z.of_nat k * 4096 < 2 ^ 40 ->
     walk e' s2 k = if (ipa <=? Z.of_nat k * 4096) && (Z.of_nat k * 4096 <? ipa + n * 4096)
                    then Some (pa + (Z.of_nat k * 4096 - ipa), w0) else walk e s2 k) ->
  forall p, abs_s2 c e' s2 p = map_range (abs_s2 c e s2) (pfn c (Z.to_nat pa)) (pfn c (Z.to_nat ipa)) (Z.to_nat n) pm p.
Proof.
  intros c e e' s2 pa ipa n w0 pm Hcfg Hs Hs' Hpa Hipa Hn Hpal Hial H40 Hfr Hw0 Hwm.
  pose proof Hcfg as ((G & _) & _ & Hipl). change Isolation.ipaLimit with (2 ^ 40) in Hipl.
  assert (Ep0 : pfn c (Z.to_nat pa) = Z.to_nat (pa / 4096)) by (unfold pfn; rewrite G, Z2Nat.inj_div by lia; reflexivity).
  assert (Ei0 : pfn c (Z.to_nat ipa) = Z.to_nat (ipa / 4096)) by (unfold pfn; rewrite G, Z2Nat.inj_div by lia; reflexivity).
  pose proof (Z.div_mod pa 4096 ltac:(lia)) as Dp. rewrite Hpal, Z.add_0_r in Dp.
  pose proof (Z.div_mod ipa 4096 ltac:(lia)) as Di. rewrite Hial, Z.add_0_r in Di.
  intros p. unfold map_range. destruct (in_range p (pfn c (Z.to_nat pa)) (Z.to_nat n)) eqn:R.
  - (* a page of the range: the IPA page the call maps it at *)
    apply in_range_spec in R. rewrite Ep0 in R.
    set (k := (Z.to_nat (ipa / 4096) + (p - Z.to_nat (pa / 4096)))%nat).
    assert (Hky : ipa <= Z.of_nat k * 4096 < ipa + n * 4096) by (unfold k; lia).
    assert (Hpfn : pfnZ (pa + (Z.of_nat k * 4096 - ipa)) = p).
    { unfold pfnZ. rewrite (offset_pfn pa ipa (Z.of_nat k * 4096)) by (try apply Z.mod_mul; lia).
      replace ((Z.of_nat k * 4096 - ipa) / 4096) with (Z.of_nat k - ipa / 4096) by (apply Z.div_unique_exact; lia).
      unfold k. lia. }
    rewrite Ei0, Ep0. fold k. rewrite <- Hpfn at 1.
    rewrite (abs_s2_hit c e' _ k _ _ Hs' ltac:(lia) ltac:(rewrite (Hwm k ltac:(lia));
      rewrite (proj2 (Z.leb_le _ _) (proj1 Hky)), (proj2 (Z.ltb_lt _ _) (proj2 Hky)); reflexivity)).
    rewrite Hw0. reflexivity.
  - (* another page: the walk reaches it from the same IPA pages as before *)
    unfold abs_s2. apply first_range_ext_in. intros k Hk. unfold abs_s2_at.
    rewrite (Hwm k ltac:(lia)).
    destruct (Z.leb_spec ipa (Z.of_nat k * 4096)), (Z.ltb_spec (Z.of_nat k * 4096) (ipa + n * 4096)); cbn [andb];
      try reflexivity.
    rewrite (free_walk_none c e _ (pfn c (Z.to_nat ipa)) (Z.to_nat n) k Hs Hfr ltac:(lia) ltac:(rewrite Ei0; lia)).
    destruct (Nat.eqb_spec (pfnZ (pa + (Z.of_nat k * 4096 - ipa))) p) as [Ep|_]; [|reflexivity].
    rewrite <- Ep, (offset_in_range c pa ipa n (Z.of_nat k * 4096) G Hpa Hipa Hpal Hial ltac:(apply Z.mod_mul; lia) ltac:(lia))
      in R.
    discriminate R.
Qed.

(** A lend the model's checks passed and the code's checks passed, that
    keeps [create_inv] and the slots, and whose walk of the VM maps its
    IPA range onto the PFN range with the permission bits asked, every
    other IPA page as before: the model's stage-2 of the VM after it is
    [Spec.map_range] of the one before. *)
Lemma vm_s2_call : forall c e e' id pa ipa n perms m, create_inv c e -> create_inv c e' ->
  Isolation.Engine_vms e' = Isolation.Engine_vms e ->
  nth_error (Isolation.Engine_vms e) (Z.to_nat (id - 1)) = Some m -> Isolation.vm_live m = true ->
  lend_checks c (abs_ms c e) (Z.to_nat id) (Z.to_nat pa) (Z.to_nat ipa) (Z.to_nat n) (Z.to_nat perms) = None ->
  transfer_passed e id pa ipa n (vm_place (id - 1)) -> 0 <= pa -> 0 <= ipa -> 0 <= perms < 2 ^ 64 ->
  (forall k, Z.of_nat k * 4096 < 2 ^ 40 ->
     walk e' (Isolation.vm_s2 m) k =
       if (ipa <=? Z.of_nat k * 4096) && (Z.of_nat k * 4096 <? ipa + n * 4096)
       then Some (pa + (Z.of_nat k * 4096 - ipa), Z.land (wrapu 8 perms) 7) else walk e (Isolation.vm_s2 m) k) ->
  forall p, abs_s2 c e' (Isolation.vm_s2 m) p =
    map_range (abs_s2 c e (Isolation.vm_s2 m)) (pfn c (Z.to_nat pa)) (pfn c (Z.to_nat ipa)) (Z.to_nat n)
      (Z.to_nat perms) p.
Proof.
  intros c e e' id pa ipa n perms m Hc Hc' Ev Hnth Hlive Hlc Hpass Hpa Hipa Hperms Hwm.
  pose proof Hpass as (_ & Hid1 & _ & Hn1 & Hpal & Hial & _ & _ & H40).
  pose proof (lend_checks_vm c e id _ _ _ _ m Hlc Hid1 Hnth Hlive) as (Hpo & Hfr).
  pose proof Hc as (_ & _ & Hcfg & _ & _ & _ & Hsane). pose proof Hc' as (_ & _ & _ & _ & _ & _ & Hsane').
  unfold vms_sane in Hsane, Hsane'. rewrite Forall_forall in Hsane, Hsane'.
  exact (vm_s2_lend c e e' _ pa ipa n _ _ Hcfg (Hsane m (nth_error_In _ _ Hnth) Hlive)
    (Hsane' m ltac:(rewrite Ev; exact (nth_error_In _ _ Hnth)) Hlive) Hpa Hipa ltac:(lia) Hpal Hial H40
    Hfr (perms_bits perms Hperms Hpo) Hwm).
Qed.

(** MEM_SHARE answering SUCCESS, from [create_inv], [walk_inv] and
    [walk_held] with RAM inside the IPA space and at most 255 VM slots:
    the model's stage-2 of the VM afterwards is the one before with the
    call's PFN range mapped at its IPA range with its permissions, as
    [Spec.mem_share] sets it. *)
Theorem MemShare_vm_s2 : forall c e tr id pa ipa n perms e' tr' m, create_inv c e -> walk_inv e -> walk_held c e ->
  reclaim_ok e -> len (Isolation.Engine_vms e) <= 255 ->
  0 <= id < 2 ^ 64 -> 0 <= pa < 2 ^ 64 -> 0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 -> 0 <= perms < 2 ^ 64 ->
  Isolation.Engine_MemShare root id pa ipa n perms e tr = Ok Abi.Success e' tr' ->
  nth_error (Isolation.Engine_vms e) (Z.to_nat (id - 1)) = Some m ->
  forall p, abs_s2 c e' (Isolation.vm_s2 m) p =
    map_range (abs_s2 c e (Isolation.vm_s2 m)) (pfn c (Z.to_nat pa)) (pfn c (Z.to_nat ipa)) (Z.to_nat n)
      (Z.to_nat perms) p.
Proof.
  intros c e tr id pa ipa n perms e' tr' m Hc Hwi H Hrok Hvms Hid Hpa Hipa Hn Hperms Hrun Hm.
  pose proof Hwi as [[Hi _] Hwb]. pose proof Hc as (_ & _ & Hcfg & _ & _ & Hfree & Hsane).
  pose proof (MemShare_walks e tr id pa ipa n perms Abi.Success e' tr' Hi Hwb (proj2 Hrok) Hid Hpa Hipa Hn Hrun)
    as [_ Hsucc].
  pose proof (Hsucc eq_refl) as (m0 & Hnth & Hlive & Ev & _ & _ & _ & Hwm & _ & _).
  rewrite Hnth in Hm. injection Hm as <-.
  pose proof (MemShare_keeps_all c e tr id pa ipa n perms Hc Hwi H Hrok Hvms Hid Hpa Hipa Hn Hperms)
    as (st2 & e2 & tr2 & Hrun2 & Hc' & _ & _).
  rewrite Hrun in Hrun2. injection Hrun2 as _ <- _.
  exact (vm_s2_call c e e' id pa ipa n perms m0 Hc Hc' Ev Hnth Hlive
    (proj2 (proj2 (proj2 (MemShare_success_pages c e tr id pa ipa n perms e' tr' (proj1 Hi) Hrok Hcfg Hfree Hsane Hvms
      Hid Hpa Hipa Hn Hperms Hrun))))
    (MemShare_passed e tr id pa ipa n perms e' tr' (proj1 Hi) Hid Hpa Hipa Hn Hrun) ltac:(lia) ltac:(lia) Hperms Hwm).
Qed.

(** MEM_DONATE answering SUCCESS, under the same hypotheses: the model's
    stage-2 of the VM afterwards is [Spec.map_range] of the one before,
    as [Spec.mem_donate] sets it. *)
Theorem MemDonate_vm_s2 : forall c e tr id pa ipa n perms e' tr' m, create_inv c e -> walk_inv e -> walk_held c e ->
  reclaim_ok e -> len (Isolation.Engine_vms e) <= 255 ->
  0 <= id < 2 ^ 64 -> 0 <= pa < 2 ^ 64 -> 0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 -> 0 <= perms < 2 ^ 64 ->
  Isolation.Engine_MemDonate root id pa ipa n perms e tr = Ok Abi.Success e' tr' ->
  nth_error (Isolation.Engine_vms e) (Z.to_nat (id - 1)) = Some m ->
  forall p, abs_s2 c e' (Isolation.vm_s2 m) p =
    map_range (abs_s2 c e (Isolation.vm_s2 m)) (pfn c (Z.to_nat pa)) (pfn c (Z.to_nat ipa)) (Z.to_nat n)
      (Z.to_nat perms) p.
Proof.
  intros c e tr id pa ipa n perms e' tr' m Hc Hwi H Hrok Hvms Hid Hpa Hipa Hn Hperms Hrun Hm.
  pose proof Hwi as [[Hi _] Hwb]. pose proof Hc as (_ & _ & Hcfg & _ & _ & Hfree & Hsane).
  pose proof (MemDonate_walks e tr id pa ipa n perms Abi.Success e' tr' Hi Hwb (proj2 Hrok) Hid Hpa Hipa Hn Hrun)
    as [_ Hsucc].
  pose proof (Hsucc eq_refl) as (m0 & Hnth & Hlive & Ev & _ & _ & _ & _ & _ & Hwm & _).
  rewrite Hnth in Hm. injection Hm as <-.
  pose proof (MemDonate_keeps_all c e tr id pa ipa n perms Hc Hwi H Hrok Hvms Hid Hpa Hipa Hn Hperms)
    as (st2 & e2 & tr2 & Hrun2 & Hc' & _ & _).
  rewrite Hrun in Hrun2. injection Hrun2 as _ <- _.
  exact (vm_s2_call c e e' id pa ipa n perms m0 Hc Hc' Ev Hnth Hlive
    (proj2 (proj2 (proj2 (MemDonate_success_pages c e tr id pa ipa n perms e' tr' (proj1 Hi) Hrok Hcfg Hfree Hsane Hvms
      Hid Hpa Hipa Hn Hperms Hrun))))
    (MemDonate_passed e tr id pa ipa n perms e' tr' Hi (proj2 Hrok) Hid Hpa Hipa Hn Hrun) ltac:(lia) ltac:(lia) Hperms Hwm).
Qed.

(** ** The host's stage-2 and the other VMs' *)

(** A stage-2 whose walk is as it was has the same model's stage-2. *)
Lemma abs_s2_same : forall c e e' s2, (forall k, walk e' s2 k = walk e s2 k) -> forall p, abs_s2 c e' s2 p = abs_s2 c e s2 p.
Proof.
  intros c e e' s2 Hw p. unfold abs_s2. apply first_range_ext_in. intros k _. unfold abs_s2_at. rewrite Hw. reflexivity.
Qed.

(** The model's host stage-2 reads the host's walk at RAM pages, each at
    its own address: when the host's walk changes only inside the IPA
    range at [pa], to [inside], the model's host stage-2 changes only on
    the PFN range of [pa]. *)
Lemma hs2_range : forall c e e' pa n inside, cfg_abs c e -> reclaim_ok e -> 0 <= pa -> 0 <= n -> pa mod 4096 = 0 ->
  Isolation.Engine_host e' = Isolation.Engine_host e ->
  (forall k, Z.of_nat k * 4096 < 2 ^ 40 ->
     walk e' (Isolation.Engine_host e) k =
       if (pa <=? Z.of_nat k * 4096) && (Z.of_nat k * 4096 <? pa + n * 4096) then inside k
       else walk e (Isolation.Engine_host e) k) ->
  forall p, abs_hs2 c e' p =
    if in_range p (pfn c (Z.to_nat pa)) (Z.to_nat n)
    then in_ram c p && match inside p with Some (x, _) => Nat.eqb (pfnZ x) p | None => false end
    else abs_hs2 c e p.
Proof.
  intros c e e' pa n inside Hcfg (_ & Hram) Hpa Hn Hpal Eh Hw p.
  pose proof Hcfg as ((G & Hb & Hsz) & _).
  assert (Ep0 : pfn c (Z.to_nat pa) = Z.to_nat (pa / 4096)) by (unfold pfn; rewrite G, Z2Nat.inj_div by lia; reflexivity).
  pose proof (Z.div_mod pa 4096 ltac:(lia)) as Dp. rewrite Hpal, Z.add_0_r in Dp.
  unfold abs_hs2. rewrite Eh. destruct (in_ram c p) eqn:Hr; cbn [andb]; [|destruct (in_range _ _ _); reflexivity].
  pose proof Hr as Hr'. unfold in_ram, in_range in Hr'. apply andb_true_iff in Hr' as [H1 H2].
  apply Nat.leb_le in H1. apply Nat.ltb_lt in H2.
  rewrite (Hw p ltac:(lia)), Ep0.
  replace ((pa <=? Z.of_nat p * 4096) && (Z.of_nat p * 4096 <? pa + n * 4096))
    with (in_range p (Z.to_nat (pa / 4096)) (Z.to_nat n)).
  2:{ unfold in_range. clear - Dp Hpa Hn.
      destruct (Nat.leb_spec (Z.to_nat (pa / 4096)) p), (Nat.ltb_spec p (Z.to_nat (pa / 4096) + Z.to_nat n)),
        (Z.leb_spec pa (Z.of_nat p * 4096)), (Z.ltb_spec (Z.of_nat p * 4096) (pa + n * 4096)); cbn [andb]; try reflexivity; lia. }
  destruct (in_range _ _ _); reflexivity.
Qed.

(** MEM_DONATE answering SUCCESS, from [mem_inv] and [walks_below] with
    the model configured as the engine: the model's host stage-2 loses
    the PFN range, as [Spec.mem_donate] sets it, and every other live
    VM's model's stage-2 is as it was. *)
Theorem MemDonate_others_s2 : forall c e tr id pa ipa n perms e' tr', mem_inv e -> walks_below e -> cfg_abs c e ->
  reclaim_ok e -> 0 <= id < 2 ^ 64 -> 0 <= pa < 2 ^ 64 -> 0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 ->
  Isolation.Engine_MemDonate root id pa ipa n perms e tr = Ok Abi.Success e' tr' ->
  (forall p, abs_hs2 c e' p = if in_range p (pfn c (Z.to_nat pa)) (Z.to_nat n) then false else abs_hs2 c e p) /\
  forall j m', j <> Z.to_nat (id - 1) -> nth_error (Isolation.Engine_vms e) j = Some m' -> Isolation.vm_live m' = true ->
    forall p, abs_s2 c e' (Isolation.vm_s2 m') p = abs_s2 c e (Isolation.vm_s2 m') p.
Proof.
  intros c e tr id pa ipa n perms e' tr' Hi Hwb Hcfg Hrok Hid Hpa Hipa Hn Hrun.
  pose proof (MemDonate_walks e tr id pa ipa n perms Abi.Success e' tr' Hi Hwb (proj2 Hrok) Hid Hpa Hipa Hn Hrun)
    as [_ Hsucc].
  pose proof (Hsucc eq_refl) as (m0 & Hnth & Hlive & Ev & Eh & _ & _ & _ & Hwh & _ & Hother & _).
  pose proof (MemDonate_passed e tr id pa ipa n perms e' tr' Hi (proj2 Hrok) Hid Hpa Hipa Hn Hrun)
    as (_ & _ & _ & _ & Hpal & _).
  split.
  - intros p. rewrite (hs2_range c e e' pa n (fun _ => None) Hcfg Hrok ltac:(lia) ltac:(lia) Hpal Eh Hwh p).
    rewrite andb_false_r. reflexivity.
  - intros j m' Hj Hnth' Hl'. apply abs_s2_same. exact (Hother j m' Hj Hnth' Hl').
Qed.

(** MEM_SHARE answering SUCCESS, from [mem_inv] and [walks_below] with
    RAM inside the IPA space: the model's host stage-2 and every other
    live VM's model's stage-2 are as they were, as [Spec.mem_share]
    leaves them. *)
Theorem MemShare_others_s2 : forall c e tr id pa ipa n perms e' tr', mem_inv e -> walks_below e ->
  reclaim_ok e -> 0 <= id < 2 ^ 64 -> 0 <= pa < 2 ^ 64 -> 0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 ->
  Isolation.Engine_MemShare root id pa ipa n perms e tr = Ok Abi.Success e' tr' ->
  (forall p, abs_hs2 c e' p = abs_hs2 c e p) /\
  forall j m', j <> Z.to_nat (id - 1) -> nth_error (Isolation.Engine_vms e) j = Some m' -> Isolation.vm_live m' = true ->
    forall p, abs_s2 c e' (Isolation.vm_s2 m') p = abs_s2 c e (Isolation.vm_s2 m') p.
Proof.
  intros c e tr id pa ipa n perms e' tr' Hi Hwb Hrok Hid Hpa Hipa Hn Hrun.
  pose proof (MemShare_walks e tr id pa ipa n perms Abi.Success e' tr' Hi Hwb (proj2 Hrok) Hid Hpa Hipa Hn Hrun)
    as [_ Hsucc].
  pose proof (Hsucc eq_refl) as (m0 & Hnth & Hlive & Ev & Eh & _ & _ & _ & Hhost & Hother).
  split.
  - intros p. unfold abs_hs2. rewrite Eh, Hhost. reflexivity.
  - intros j m' Hj Hnth' Hl'. apply abs_s2_same. exact (Hother j m' Hj Hnth' Hl').
Qed.

(** ** MEM_SHARE against the model *)

(** Two VMs whose fields are equal, their stage-2s point by point. *)
Lemma vm_eq_fields : forall a b, vm_live a = vm_live b -> vm_vcpus a = vm_vcpus b -> vm_hasrun a = vm_hasrun b ->
  vm_protected a = vm_protected b -> (forall j, vm_vcpu a j = vm_vcpu b j) -> (forall p, vm_s2 a p = vm_s2 b p) ->
  vm_marks a = vm_marks b -> vm_log a = vm_log b -> vm_eq a b.
Proof.
  intros a b A B C D E F G K. unfold vm_eq, vcpu_eq. repeat (split; [assumption|]).
  split; [intros j; rewrite E; split; [reflexivity|split; [reflexivity|intros; reflexivity]]|].
  split; [exact F|]. split; assumption.
Qed.

(** Model slot [v] is the abstraction's after a call that left as many
    slots and, if [v] names a slot, left it as it was and its VM's
    stage-2 when live. *)
Lemma abs_slot_same_at : forall c e e' v, length (Isolation.Engine_vms e') = length (Isolation.Engine_vms e) ->
  ((1 <= v)%nat -> nth (v - 1) (Isolation.Engine_vms e') Isolation.zero_vm = nth (v - 1) (Isolation.Engine_vms e) Isolation.zero_vm) ->
  ((1 <= v)%nat -> forall m, nth_error (Isolation.Engine_vms e) (v - 1) = Some m -> Isolation.vm_live m = true ->
     forall p, abs_s2 c e' (Isolation.vm_s2 m) p = abs_s2 c e (Isolation.vm_s2 m) p) ->
  vm_eq (ms_vms (abs_ms c e) v) (ms_vms (abs_ms c e') v).
Proof.
  intros c e e' v Hlen Hslot Hs2. unfold abs_ms. cbn [ms_vms]. rewrite Hlen.
  destruct ((1 <=? v)%nat && (v <=? length (Isolation.Engine_vms e))%nat) eqn:Hr; [|apply vm_eq_refl].
  apply andb_true_iff in Hr as [Hr1 Hr2]. apply Nat.leb_le in Hr1. apply Nat.leb_le in Hr2.
  rewrite (Hslot Hr1).
  destruct (nth_error (Isolation.Engine_vms e) (v - 1)) as [x|] eqn:Hx; [|apply nth_error_None in Hx; lia].
  rewrite (nth_error_nth _ _ Isolation.zero_vm Hx). unfold abs_vm. destruct (Isolation.vm_live x) eqn:Hl;
    [|apply vm_eq_refl].
  apply vm_eq_fields; cbn [vm_live vm_vcpus vm_hasrun vm_protected vm_vcpu vm_s2 vm_marks vm_log]; try reflexivity.
  intros p. symmetry. exact (Hs2 Hr1 x eq_refl Hl p).
Qed.

(** The same after a call that left the slots as they were. *)
Lemma abs_slot_same : forall c e e' v, Isolation.Engine_vms e' = Isolation.Engine_vms e ->
  ((1 <= v)%nat -> forall m, nth_error (Isolation.Engine_vms e) (v - 1) = Some m -> Isolation.vm_live m = true ->
     forall p, abs_s2 c e' (Isolation.vm_s2 m) p = abs_s2 c e (Isolation.vm_s2 m) p) ->
  vm_eq (ms_vms (abs_ms c e) v) (ms_vms (abs_ms c e') v).
Proof. intros c e e' v Ev. apply abs_slot_same_at; [rewrite Ev; reflexivity|intros _; rewrite Ev; reflexivity]. Qed.

(** The model's VM table after a lend, its slot's stage-2 replaced by
    [s2'], is the abstraction's after a call that left the slots as they
    were, the VM's stage-2 [s2'] and every other live VM's as it was. *)
Lemma vms_lend_eq : forall c e e' id m0 s2', 1 <= id ->
  nth_error (Isolation.Engine_vms e) (Z.to_nat (id - 1)) = Some m0 -> Isolation.vm_live m0 = true ->
  Isolation.Engine_vms e' = Isolation.Engine_vms e ->
  (forall p, abs_s2 c e' (Isolation.vm_s2 m0) p = s2' p) ->
  (forall j m', j <> Z.to_nat (id - 1) -> nth_error (Isolation.Engine_vms e) j = Some m' -> Isolation.vm_live m' = true ->
     forall p, abs_s2 c e' (Isolation.vm_s2 m') p = abs_s2 c e (Isolation.vm_s2 m') p) ->
  forall v, vm_eq (State.upd (ms_vms (abs_ms c e)) (Z.to_nat id) (set_s2 (abs_ms c e) (Z.to_nat id) s2') v)
                  (ms_vms (abs_ms c e') v).
Proof.
  intros c e e' id m0 s2' Hid1 Hnth Hlive Ev Hs2 Hoth v.
  unfold State.upd. destruct (Nat.eqb_spec v (Z.to_nat id)) as [->|Hv].
  - unfold set_s2. rewrite (slot_vm c e id m0 Hid1 Hnth), (slot_vm c e' id m0 Hid1 ltac:(rewrite Ev; exact Hnth)).
    unfold abs_vm. rewrite Hlive.
    apply vm_eq_fields; cbn [vm_live vm_vcpus vm_hasrun vm_protected vm_vcpu vm_s2 vm_marks vm_log]; try reflexivity.
    intros p. symmetry. apply Hs2.
  - apply (abs_slot_same c e e' v Ev). intros Hv1 x Hx Hl p. apply (Hoth (v - 1)%nat x ltac:(lia) Hx Hl p).
Qed.

(** MEM_SHARE answering SUCCESS, from [create_inv], [walk_inv] and
    [walk_held] with RAM inside the IPA space and at most 255 VM slots:
    the model's step from the abstraction before succeeds, and its
    metadata after it is the abstraction after the call, field by field
    and point by point ([ms_eq]): the ledger, the host's stage-2 and
    every VM slot, the one the call maps into included. *)
Theorem MemShare_refines : forall c e tr id pa ipa n perms e' tr' mem regs,
  create_inv c e -> walk_inv e -> walk_held c e -> reclaim_ok e -> len (Isolation.Engine_vms e) <= 255 ->
  0 <= id < 2 ^ 64 -> 0 <= pa < 2 ^ 64 -> 0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 -> 0 <= perms < 2 ^ 64 ->
  Isolation.Engine_MemShare root id pa ipa n perms e tr = Ok Abi.Success e' tr' ->
  exists s', mem_share c (abs_state c e mem regs) (Z.to_nat id) (Z.to_nat pa) (Z.to_nat ipa) (Z.to_nat n)
               (Z.to_nat perms) = (s', ok0) /\ ms_eq (st_meta s') (abs_ms c e').
Proof.
  intros c e tr id pa ipa n perms e' tr' mem regs Hc Hwi H Hrok Hvms Hid Hpa Hipa Hn Hperms Hrun.
  pose proof Hwi as [[Hi _] Hwb]. pose proof Hc as (_ & _ & Hcfg & _ & _ & Hfree & Hsane).
  pose proof (MemShare_walks e tr id pa ipa n perms Abi.Success e' tr' Hi Hwb (proj2 Hrok) Hid Hpa Hipa Hn Hrun)
    as [_ Hsucc].
  pose proof (Hsucc eq_refl) as (m0 & Hnth & Hlive & Ev & _).
  pose proof (MemShare_success_pages c e tr id pa ipa n perms e' tr' (proj1 Hi) Hrok Hcfg Hfree Hsane Hvms
    Hid Hpa Hipa Hn Hperms Hrun) as (Hpg & _ & _ & Hlc).
  pose proof (MemShare_others_s2 c e tr id pa ipa n perms e' tr' Hi Hwb Hrok Hid Hpa Hipa Hn Hrun) as (Hhs2 & Hoth).
  pose proof (MemShare_vm_s2 c e tr id pa ipa n perms e' tr' m0 Hc Hwi H Hrok Hvms Hid Hpa Hipa Hn Hperms Hrun Hnth)
    as Hs2.
  pose proof (MemShare_reaches_mapRange e tr id pa ipa n perms (proj1 Hi) Hid Hpa Hipa Hn)
    as [(st0 & Hc0 & Hne)|(m' & ps & N & (_ & Hid1 & _) & Hnth' & Hprot & _)].
  { rewrite Hc0 in Hrun. injection Hrun as E _ _. subst st0. contradiction. }
  rewrite Hnth in Hnth'. injection Hnth' as <-.
  unfold mem_share, abs_state. cbn [st_meta]. rewrite Hlc.
  rewrite (slot_vm c e id m0 Hid1 Hnth). unfold abs_vm at 1. rewrite Hlive. cbn [vm_protected]. rewrite Hprot.
  eexists. split; [reflexivity|]. split; [|split].
  - intros p. cbn [ms_pages]. rewrite Hpg. reflexivity.
  - intros p. cbn [ms_hs2]. unfold abs_ms. cbn [ms_hs2]. symmetry. apply Hhs2.
  - intros v. cbn [st_meta ms_vms]. rewrite (s2_of_slot c e id m0 Hid1 Hnth Hlive).
    exact (vms_lend_eq c e e' id m0 _ Hid1 Hnth Hlive Ev Hs2 Hoth v).
Qed.

(** So the model's invariant [Inv] holds of the abstraction after a
    MEM_SHARE answering SUCCESS whenever it held before: the model's
    step keeps it ([Invariants.mem_share_inv]) and it respects
    [ms_eq] ([Inv_ms_eq], CodeModelThms). *)
Corollary MemShare_keeps_Inv : forall c e tr id pa ipa n perms e' tr',
  create_inv c e -> walk_inv e -> walk_held c e -> reclaim_ok e -> len (Isolation.Engine_vms e) <= 255 ->
  0 <= id < 2 ^ 64 -> 0 <= pa < 2 ^ 64 -> 0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 -> 0 <= perms < 2 ^ 64 ->
  Isolation.Engine_MemShare root id pa ipa n perms e tr = Ok Abi.Success e' tr' ->
  Inv c (abs_ms c e) -> Inv c (abs_ms c e').
Proof.
  intros c e tr id pa ipa n perms e' tr' Hc Hwi H Hrok Hvms Hid Hpa Hipa Hn Hperms Hrun.
  apply (step_ok_keeps_Inv c e e' (fun _ => 0%nat) (fun _ _ _ => 0%nat)
    (fun s => mem_share c s (Z.to_nat id) (Z.to_nat pa) (Z.to_nat ipa) (Z.to_nat n) (Z.to_nat perms)));
    [intros s; apply Invariants.mem_share_inv|].
  exact (MemShare_refines c e tr id pa ipa n perms e' tr' _ _ Hc Hwi H Hrok Hvms Hid Hpa Hipa Hn Hperms Hrun).
Qed.

(** ** MEM_DONATE against the model *)

(** MEM_DONATE answering SUCCESS, under the same hypotheses, refines the
    model's step whole: the ledger gives the pages to the VM, the host's
    stage-2 loses them, the VM's maps them, every other slot as it was. *)
Theorem MemDonate_refines : forall c e tr id pa ipa n perms e' tr' mem regs,
  create_inv c e -> walk_inv e -> walk_held c e -> reclaim_ok e -> len (Isolation.Engine_vms e) <= 255 ->
  0 <= id < 2 ^ 64 -> 0 <= pa < 2 ^ 64 -> 0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 -> 0 <= perms < 2 ^ 64 ->
  Isolation.Engine_MemDonate root id pa ipa n perms e tr = Ok Abi.Success e' tr' ->
  exists s', mem_donate c (abs_state c e mem regs) (Z.to_nat id) (Z.to_nat pa) (Z.to_nat ipa) (Z.to_nat n)
               (Z.to_nat perms) = (s', ok0) /\ ms_eq (st_meta s') (abs_ms c e').
Proof.
  intros c e tr id pa ipa n perms e' tr' mem regs Hc Hwi H Hrok Hvms Hid Hpa Hipa Hn Hperms Hrun.
  pose proof Hwi as [[Hi _] Hwb]. pose proof Hc as (_ & _ & Hcfg & _ & _ & Hfree & Hsane).
  pose proof (MemDonate_walks e tr id pa ipa n perms Abi.Success e' tr' Hi Hwb (proj2 Hrok) Hid Hpa Hipa Hn Hrun)
    as [_ Hsucc].
  pose proof (Hsucc eq_refl) as (m0 & Hnth & Hlive & Ev & _).
  pose proof (MemDonate_success_pages c e tr id pa ipa n perms e' tr' (proj1 Hi) Hrok Hcfg Hfree Hsane Hvms
    Hid Hpa Hipa Hn Hperms Hrun) as (Hpg & _ & _ & Hlc).
  pose proof (MemDonate_others_s2 c e tr id pa ipa n perms e' tr' Hi Hwb Hcfg Hrok Hid Hpa Hipa Hn Hrun) as (Hhs2 & Hoth).
  pose proof (MemDonate_vm_s2 c e tr id pa ipa n perms e' tr' m0 Hc Hwi H Hrok Hvms Hid Hpa Hipa Hn Hperms Hrun Hnth)
    as Hs2.
  pose proof (MemDonate_passed e tr id pa ipa n perms e' tr' Hi (proj2 Hrok) Hid Hpa Hipa Hn Hrun) as (_ & Hid1 & _).
  unfold mem_donate, abs_state. cbn [st_meta]. rewrite Hlc.
  eexists. split; [reflexivity|]. split; [|split].
  - intros p. cbn [ms_pages]. rewrite Hpg. reflexivity.
  - intros p. cbn [ms_hs2]. unfold abs_ms. cbn [ms_hs2]. rewrite Hhs2. reflexivity.
  - intros v. cbn [st_meta ms_vms]. rewrite (s2_of_slot c e id m0 Hid1 Hnth Hlive).
    exact (vms_lend_eq c e e' id m0 _ Hid1 Hnth Hlive Ev Hs2 Hoth v).
Qed.

(** So [Inv] holds after a MEM_DONATE answering SUCCESS whenever it held
    before ([Invariants.mem_donate_inv] as a theorem about
    [Engine.MemDonate]). *)
Corollary MemDonate_keeps_Inv : forall c e tr id pa ipa n perms e' tr',
  create_inv c e -> walk_inv e -> walk_held c e -> reclaim_ok e -> len (Isolation.Engine_vms e) <= 255 ->
  0 <= id < 2 ^ 64 -> 0 <= pa < 2 ^ 64 -> 0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 -> 0 <= perms < 2 ^ 64 ->
  Isolation.Engine_MemDonate root id pa ipa n perms e tr = Ok Abi.Success e' tr' ->
  Inv c (abs_ms c e) -> Inv c (abs_ms c e').
Proof.
  intros c e tr id pa ipa n perms e' tr' Hc Hwi H Hrok Hvms Hid Hpa Hipa Hn Hperms Hrun.
  apply (step_ok_keeps_Inv c e e' (fun _ => 0%nat) (fun _ _ _ => 0%nat)
    (fun s => mem_donate c s (Z.to_nat id) (Z.to_nat pa) (Z.to_nat ipa) (Z.to_nat n) (Z.to_nat perms)));
    [intros s; apply Invariants.mem_donate_inv|].
  exact (MemDonate_refines c e tr id pa ipa n perms e' tr' _ _ Hc Hwi H Hrok Hvms Hid Hpa Hipa Hn Hperms Hrun).
Qed.

(** ** MEM_RECLAIM against the model *)

(** MEM_RECLAIM answering SUCCESS, from [mem_inv] with the host's walk
    below 2^48, the model configured as the engine and every ledger owner
    one of the four kinds, refines the model's step whole: the ledger
    gives the pages to the host, the model's host stage-2 maps each page
    of the range (the host's walk maps it to itself, [MemReclaim_host_walk],
    and it is in RAM, [range_in_ram]), and every VM slot is as it was
    ([MemReclaim_walks]). *)
Theorem MemReclaim_refines : forall c e tr pa n e' tr' mem regs,
  mem_inv e -> walk_below e (Isolation.Engine_host e) -> cfg_abs c e -> reclaim_ok e -> owners_ok e ->
  0 <= pa < 2 ^ 64 -> 0 <= n < 2 ^ 64 ->
  Isolation.Engine_MemReclaim root pa n e tr = Ok Abi.Success e' tr' ->
  exists s', mem_reclaim c (abs_state c e mem regs) (Z.to_nat pa) (Z.to_nat n) = (s', ok0) /\
    ms_eq (st_meta s') (abs_ms c e').
Proof.
  intros c e tr pa n e' tr' mem regs Hi Hwb Hcfg Hrok Ho Hpa Hn Hrun.
  pose proof (MemReclaim_ledger_refine c e (abs_state c e mem regs) tr pa n e' tr' Hrok Ho (proj1 Hcfg) eq_refl
    Hpa Hn Hrun) as (s' & Hstep & Hp & _).
  pose proof (MemReclaim_host_walk e tr pa n Abi.Success e' tr' Hi Hwb (proj2 Hrok) Hpa Hn Hrun) as (_ & Eh & _ & Hw & _).
  pose proof (MemReclaim_walks e tr pa n Abi.Success e' tr' Hi (proj2 Hrok) Hpa Hn Hrun) as (_ & Ev & _ & Hvw).
  exists s'. split; [exact Hstep|].
  unfold mem_reclaim in Hstep; cbv zeta in Hstep.
  destruct (pa_ok c (Z.to_nat pa) (Z.to_nat n)) eqn:Hok; cbn [negb] in Hstep; [|unfold err, ok0 in Hstep; congruence].
  destruct (first_range _ _ _) as [x|] eqn:F.
  { injection Hstep as <- E. subst x. exfalso.
    apply first_range_some in F as (q & _ & Fq). exact (reclaim_check_not_success _ _ Fq). }
  injection Hstep as <-.
  assert (Hpal : pa mod 4096 = 0)
    by exact (proj1 (proj2 (proj1 (pa_ok_iff c e pa n (proj1 Hcfg) (proj1 Hrok) ltac:(pose proof (proj2 Hrok); lia)
      Hpa Hn) Hok))).
  split; [|split].
  - intros p. apply Hp.
  - intros p. cbn [st_meta ms_hs2]. unfold abs_ms. cbn [ms_hs2].
    rewrite (hs2_range c e e' pa n (fun k => Some (Z.of_nat k * 4096, Z.land (Isolation.Attr_Perms Isolation.hostRAM) 7))
      Hcfg Hrok ltac:(lia) ltac:(lia) Hpal Eh ltac:(intros k Hk; rewrite (Hw k Hk), Z.eqb_refl; reflexivity) p).
    destruct (in_range p _ _) eqn:Hr; [|reflexivity].
    rewrite (range_in_ram c _ _ Hok p Hr). unfold pfnZ. rewrite Z_div_mult by lia. rewrite Nat2Z.id, Nat.eqb_refl.
    reflexivity.
  - intros v. cbn [st_meta ms_vms]. apply (abs_slot_same c e e' v Ev).
    intros _ m Hm Hl p. apply abs_s2_same. intros k. apply (Hvw m k (nth_error_In _ _ Hm) Hl).
Qed.

(** So [Inv] holds after a MEM_RECLAIM answering SUCCESS whenever it held
    before ([Invariants.mem_reclaim_inv] as a theorem about
    [Engine.MemReclaim]). *)
Corollary MemReclaim_keeps_Inv : forall c e tr pa n e' tr',
  mem_inv e -> walk_below e (Isolation.Engine_host e) -> cfg_abs c e -> reclaim_ok e -> owners_ok e ->
  0 <= pa < 2 ^ 64 -> 0 <= n < 2 ^ 64 ->
  Isolation.Engine_MemReclaim root pa n e tr = Ok Abi.Success e' tr' ->
  Inv c (abs_ms c e) -> Inv c (abs_ms c e').
Proof.
  intros c e tr pa n e' tr' Hi Hwb Hcfg Hrok Ho Hpa Hn Hrun.
  apply (step_ok_keeps_Inv c e e' (fun _ => 0%nat) (fun _ _ _ => 0%nat)
    (fun s => mem_reclaim c s (Z.to_nat pa) (Z.to_nat n))); [intros s; apply Invariants.mem_reclaim_inv|].
  exact (MemReclaim_refines c e tr pa n e' tr' _ _ Hi Hwb Hcfg Hrok Ho Hpa Hn Hrun).
Qed.
