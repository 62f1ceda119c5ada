(** * The model's stage-2 of a VM after MEM_SHARE

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
    - so MEM_SHARE answering SUCCESS, from [create_inv], [walk_inv] and
      [walk_held] with RAM inside the IPA space and at most 255 VM slots,
      leaves the model's stage-2 of the VM exactly [Spec.map_range] of the
      one before, over the call's PFN and IPA ranges with its permissions
      ([MemShare_vm_s2]): the stage-2 half of MEM_SHARE's refinement for
      the VM it maps into. *)
From Coq Require Import ZArith Lia List Bool.
From Bulkhead.Spec Require Import State Spec.
From Bulkhead.Proofs Require Import Invariants.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodePlace CodeVMCreate CodeStage2 CodeTransfer CodeAbsLedger CodeMemCall CodeAbs
  CodeTransferRefine CodeVMCreateRefine CodeVMCreateInv CodeEngineInv CodeLedgerRefine Lemmas CodeWalkCalls CodeModelThms
  CodeWalkHeld.
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
  pose proof Hwi as [[Hi Hs] Hwb].
  destruct (MemShare_walks e tr id pa ipa n perms Abi.Success e' tr' Hi Hwb (proj2 Hrok) Hid Hpa Hipa Hn Hrun)
    as [_ Hsucc].
  destruct (Hsucc eq_refl) as (m0 & Hnth & Hlive & Ev & _ & _ & _ & Hwm & _ & _).
  rewrite Hnth in Hm. injection Hm as <-.
  pose proof Hc as (_ & _ & Hcfg & _ & _ & Hfree & Hsane).
  pose proof Hcfg as ((G & _) & _ & Hipl). change Isolation.ipaLimit with (2 ^ 40) in Hipl.
  destruct (MemShare_success_pages c e tr id pa ipa n perms e' tr' (proj1 Hi) Hrok Hcfg Hfree Hsane Hvms
    Hid Hpa Hipa Hn Hperms Hrun) as (_ & _ & _ & Hlc).
  pose proof (MemShare_passed e tr id pa ipa n perms e' tr' (proj1 Hi) Hid Hpa Hipa Hn Hrun)
    as (_ & Hid1 & _ & Hn1 & Hpal & Hial & _ & _ & H40).
  (* the model's checks: the permissions, and the IPA range free in the VM's stage-2 *)
  assert (Hs2of : s2_of (abs_ms c e) (Z.to_nat id) = abs_s2 c e (Isolation.vm_s2 m0)).
  { replace (Z.to_nat id) with (S (Z.to_nat (id - 1))) by lia. unfold s2_of.
    rewrite (abs_slot c e _ m0 Hnth). unfold abs_vm. rewrite Hlive. reflexivity. }
  unfold lend_checks in Hlc. rewrite Hs2of in Hlc.
  destruct (vmid_ok c _ _), (pa_ok c _ _), (ipa_ok c _ _), (perms_ok (Z.to_nat perms)) eqn:Hpo; try discriminate Hlc.
  destruct (all_range _ _ _); [|discriminate Hlc].
  destruct (ipa_range_free c _ _ _) eqn:Hfr; [|discriminate Hlc].
  unfold vms_sane in Hsane. rewrite Forall_forall in Hsane.
  pose proof (Hsane m0 (nth_error_In _ _ Hnth) Hlive) as Hsm.
  (* the VM's stage-2 stays sane *)
  destruct (MemShare_keeps_all c e tr id pa ipa n perms Hc Hwi H Hrok Hvms Hid Hpa Hipa Hn Hperms)
    as (st2 & e2 & tr2 & Hrun2 & Hc' & _ & _).
  rewrite Hrun in Hrun2. injection Hrun2 as _ <- _.
  pose proof Hc' as (_ & _ & _ & _ & _ & _ & Hsane'). unfold vms_sane in Hsane'. rewrite Forall_forall in Hsane'.
  pose proof (Hsane' m0 ltac:(rewrite Ev; exact (nth_error_In _ _ Hnth)) Hlive) as Hsm'.
  (* PFNs and IPA pages as integers *)
  assert (Ep0 : pfn c (Z.to_nat pa) = Z.to_nat (pa / 4096)) by (unfold pfn; rewrite G, Z2Nat.inj_div by lia; reflexivity).
  assert (Ei0 : pfn c (Z.to_nat ipa) = Z.to_nat (ipa / 4096)) by (unfold pfn; rewrite G, Z2Nat.inj_div by lia; reflexivity).
  pose proof (Z.div_mod pa 4096 ltac:(lia)) as Dp. rewrite Hpal, Z.add_0_r in Dp.
  pose proof (Z.div_mod ipa 4096 ltac:(lia)) as Di. rewrite Hial, Z.add_0_r in Di.
  assert (Hin : forall k, ipa <= Z.of_nat k * 4096 < ipa + n * 4096 ->
    in_range (pfnZ (pa + (Z.of_nat k * 4096 - ipa))) (pfn c (Z.to_nat pa)) (Z.to_nat n) = true).
  { intros k Hk. apply offset_in_range; [exact G|lia|lia|exact Hpal|exact Hial|apply Z.mod_mul; lia|exact Hk]. }
  intros p. unfold map_range. destruct (in_range p (pfn c (Z.to_nat pa)) (Z.to_nat n)) eqn:R.
  - (* a page of the range: the IPA page the call maps it at *)
    apply in_range_spec in R. rewrite Ep0 in R.
    set (k := (Z.to_nat (ipa / 4096) + (p - Z.to_nat (pa / 4096)))%nat).
    assert (Hky : ipa <= Z.of_nat k * 4096 < ipa + n * 4096) by (unfold k; lia).
    assert (Hpfn : pfnZ (pa + (Z.of_nat k * 4096 - ipa)) = p).
    { unfold pfnZ. rewrite (offset_pfn pa ipa (Z.of_nat k * 4096)) by (try apply Z.mod_mul; lia).
      replace ((Z.of_nat k * 4096 - ipa) / 4096) with (Z.of_nat k - ipa / 4096)
        by (apply Z.div_unique_exact; lia).
      unfold k. lia. }
    rewrite Ei0, Ep0. fold k. rewrite <- Hpfn at 1.
    rewrite (abs_s2_hit c e' _ k _ _ Hsm' ltac:(lia) ltac:(rewrite (Hwm k ltac:(lia));
      rewrite (proj2 (Z.leb_le _ _) (proj1 Hky)), (proj2 (Z.ltb_lt _ _) (proj2 Hky)); reflexivity)).
    cbn -[Z.to_nat]. rewrite (perms_bits perms Hperms Hpo). reflexivity.
  - (* another page: the walk reaches it from the same IPA pages as before *)
    unfold abs_s2. apply first_range_ext_in. intros k Hk. unfold abs_s2_at.
    rewrite (Hwm k ltac:(lia)).
    destruct (Z.leb_spec ipa (Z.of_nat k * 4096)), (Z.ltb_spec (Z.of_nat k * 4096) (ipa + n * 4096)); cbn [andb];
      try reflexivity.
    rewrite (free_walk_none c e _ (pfn c (Z.to_nat ipa)) (Z.to_nat n) k Hsm Hfr ltac:(lia) ltac:(rewrite Ei0; lia)).
    destruct (Nat.eqb_spec (pfnZ (pa + (Z.of_nat k * 4096 - ipa))) p) as [Ep|_]; [|reflexivity].
    rewrite <- Ep, Hin in R by lia. discriminate R.
Qed.
