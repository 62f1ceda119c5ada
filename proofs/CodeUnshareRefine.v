(** * MEM_UNSHARE refined whole

    Theorems about proofs/code/Isolation.v, the translation of
    isolation/mem.go, that carry on from CodeUnshareInv.v (the walks and
    the ledger after MEM_UNSHARE) and CodeS2Refine.v (the model's
    stage-2s as the abstraction of the walks).
    Proved here:
    - the IPA pages of a page-aligned range are the model's IPA page
      range ([ipa_in_range]);
    - a call that unmaps an IPA range of a sane stage-2, every other IPA
      page as before, leaves the model's stage-2 [Spec.unmap_range] of
      the one before ([vm_s2_unmap]);
    - a PFN the model's stage-2 maps inside the range is one the walk of
      the range reaches, and conversely ([mapped_in_unshared]);
    - when [checkMapped] passed every page of a range, the model's range
      check passes too, for any model predicate that holds of the
      entries it passes ([range_passes]);
    - so the model's checks of MEM_UNSHARE pass when the code's did: the
      VM is live, the range is in the IPA space, each IPA page of it is
      mapped, and each page it maps is the host's shared with the VM
      ([MemUnshare_checks_pass]);
    - so MEM_UNSHARE answering SUCCESS, from [create_inv] and [walk_inv]
      with at most 255 VM slots, refines the model's step whole: the step
      from the abstraction before succeeds and leaves the abstraction
      after, ledger, host stage-2 and every VM slot
      ([MemUnshare_refines]); and [Inv] holds after it whenever it held
      before ([MemUnshare_keeps_Inv]: [Invariants.mem_unshare_inv] as a
      theorem about [Engine.MemUnshare]);
    - a page of the range [checkMapped] does not pass fails the model's
      range check too ([range_refused], for any model predicate that
      holds only of entries it passes; [unshare_range_refused]), so every error of
      MEM_UNSHARE changes nothing and is the model's status, or NO_MEMORY
      ([MemUnshare_errors_refine]). *)
From Coq Require Import ZArith Lia List Bool.
From Bulkhead.Spec Require Import State Spec.
From Bulkhead.Proofs Require Import Invariants.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodePlace CodeVMCreate CodeStage2 CodeTransfer CodeAbsLedger CodeMemCall CodeAbs
  CodeVMCreateRefine CodeVMCreateInv CodeOwns CodeEngineInv Lemmas CodeWalkCalls CodeModelThms CodeMemShare
  CodeWalkHeld CodeS2Refine CodeMapped CodeUnshare CodeUnshareInv CodeTransferRefine CodeAbi.
From Bulkhead.Proofs Require CodeMemState.
Import ListNotations.
Open Scope Z_scope.

(** ** The model's stage-2 after the unmap *)

Lemma ipa_in_range : forall c ipa n k, granule c = 4096%nat -> 0 <= ipa -> ipa mod 4096 = 0 -> 0 <= n ->
  in_range k (pfn c (Z.to_nat ipa)) (Z.to_nat n) =
    (ipa <=? Z.of_nat k * 4096) && (Z.of_nat k * 4096 <? ipa + n * 4096).
Proof.
  intros c ipa n k G Hipa Hial Hn.
  assert (Ei0 : pfn c (Z.to_nat ipa) = Z.to_nat (ipa / 4096)) by (unfold pfn; rewrite G, Z2Nat.inj_div by lia; reflexivity).
  pose proof (Z.div_mod ipa 4096 ltac:(lia)) as Di. rewrite Hial, Z.add_0_r in Di.
  assert (0 <= ipa / 4096) by (apply Z.div_pos; lia).
  rewrite Ei0. destruct (in_range k _ _) eqn:R; symmetry.
  - apply in_range_spec in R. apply andb_true_iff. split; [apply Z.leb_le|apply Z.ltb_lt]; lia.
  - apply in_range_false in R. apply andb_false_iff.
    destruct (Z.leb_spec ipa (Z.of_nat k * 4096)); [right; apply Z.ltb_ge; lia|left; reflexivity].
Qed.

(** A call that unmaps the IPA range at [ipa] of a sane stage-2, every
    other IPA page as before: the model's stage-2 after it is
    [Spec.unmap_range] of the one before. A PFN the range maps was
    reached from that IPA page alone; any other is reached from the same
    IPA pages as before. *)
Lemma vm_s2_unmap : forall c e e' s2 ipa n, cfg_abs c e -> s2_sane c e s2 ->
  0 <= ipa -> 0 <= n -> ipa mod 4096 = 0 ->
  (forall k, Z.of_nat k * 4096 < 2 ^ 40 ->
     walk e' s2 k = if (ipa <=? Z.of_nat k * 4096) && (Z.of_nat k * 4096 <? ipa + n * 4096)
                    then None else walk e s2 k) ->
  forall p, abs_s2 c e' s2 p = unmap_range c (abs_s2 c e s2) (pfn c (Z.to_nat ipa)) (Z.to_nat n) p.
Proof.
  intros c e e' s2 ipa n Hcfg (Hram & Hinj) Hipa Hn Hial Hwm p.
  pose proof Hcfg as ((G & _) & _ & Hipl). change Isolation.ipaLimit with (2 ^ 40) in Hipl.
  pose proof (fun k => ipa_in_range c ipa n k G Hipa Hial Hn) as Hin.
  unfold unmap_range. destruct (mapped_in c (abs_s2 c e s2) (pfn c (Z.to_nat ipa)) (Z.to_nat n) p) eqn:M.
  - (* a PFN the range maps: no IPA page reaches it any more *)
    unfold mapped_in in M. apply andb_true_iff in M as [_ M].
    destruct (abs_s2 c e s2 p) as [[j x]|] eqn:Hj; [|discriminate M].
    pose proof (abs_s2_some c e s2 p j x Hj) as (Hjl & paj & wj & Hwj & Epj).
    unfold abs_s2. rewrite <- (Nat.add_0_l (ipa_pages c)). apply first_range_all_none. intros k Hk.
    cbn [Nat.add]. unfold abs_s2_at. rewrite (Hwm k ltac:(lia)).
    destruct ((ipa <=? Z.of_nat k * 4096) && (Z.of_nat k * 4096 <? ipa + n * 4096)) eqn:T; [reflexivity|].
    destruct (walk e s2 k) as [[pa w]|] eqn:Hw; [|reflexivity].
    destruct (Nat.eqb_spec (pfnZ pa) p) as [Ep|]; [|reflexivity].
    assert (k = j) by (apply (Hinj k j pa paj w wj Hk Hjl Hw Hwj); congruence). subst k.
    rewrite Hin, T in M. discriminate M.
  - (* any other PFN: each IPA page of the range reached none before *)
    unfold abs_s2. apply first_range_ext_in. intros k Hk. unfold abs_s2_at. rewrite (Hwm k ltac:(lia)).
    destruct ((ipa <=? Z.of_nat k * 4096) && (Z.of_nat k * 4096 <? ipa + n * 4096)) eqn:T; [|reflexivity].
    destruct (walk e s2 k) as [[pa w]|] eqn:Hw; [|reflexivity].
    destruct (Nat.eqb_spec (pfnZ pa) p) as [<-|]; [|reflexivity].
    exfalso. unfold mapped_in in M.
    rewrite (Hram k pa w ltac:(lia) Hw), (abs_s2_hit c e s2 k pa w (conj Hram Hinj) ltac:(lia) Hw), Hin, T in M.
    discriminate M.
Qed.

(** A PFN the model's stage-2 of a sane walk maps inside the range at
    [ipa] is one the walk of the range reaches, and conversely, when the
    walk maps each IPA page of the range. *)
Lemma mapped_in_unshared : forall c e s2 ipa n, cfg_abs c e -> s2_sane c e s2 ->
  0 <= ipa -> 0 <= n -> ipa mod 4096 = 0 -> ipa + n * 4096 <= 2 ^ 40 ->
  (forall i, (i < Z.to_nat n)%nat -> exists pa w, walk e s2 (Z.to_nat (ipa / 4096) + i) = Some (pa, w)) ->
  forall p, mapped_in c (abs_s2 c e s2) (pfn c (Z.to_nat ipa)) (Z.to_nat n) p =
    in_ram c p && unshared_page e s2 ipa (Z.to_nat n) p.
Proof.
  intros c e s2 ipa n Hcfg Hs Hipa Hn Hial H40 Hmp p.
  pose proof Hcfg as ((G & _) & _ & Hipl). change Isolation.ipaLimit with (2 ^ 40) in Hipl.
  pose proof (fun k => ipa_in_range c ipa n k G Hipa Hial Hn) as Hin.
  pose proof (Z.div_mod ipa 4096 ltac:(lia)) as Di. rewrite Hial, Z.add_0_r in Di.
  assert (0 <= ipa / 4096) by (apply Z.div_pos; lia).
  unfold mapped_in. destruct (in_ram c p) eqn:R; cbn [andb]; [|reflexivity].
  destruct (unshared_page e s2 ipa (Z.to_nat n) p) eqn:U.
  - unfold unshared_page in U. apply existsb_exists in U as (i & Hi & E). apply in_seq in Hi. apply Nat.eqb_eq in E.
    pose proof (Hmp i ltac:(lia)) as (pa & w & Hw). unfold walk_pa in E. rewrite Hw in E. subst p.
    rewrite (abs_s2_hit c e s2 (Z.to_nat (ipa / 4096) + i)%nat pa w Hs ltac:(lia) Hw), Hin.
    apply andb_true_iff. split; [apply Z.leb_le|apply Z.ltb_lt]; lia.
  - destruct (abs_s2 c e s2 p) as [[j x]|] eqn:Hj; [|reflexivity].
    pose proof (abs_s2_some c e s2 p j x Hj) as (Hjl & paj & wj & Hwj & Epj).
    destruct (in_range j _ _) eqn:Rj; [|reflexivity]. exfalso.
    rewrite Hin in Rj. apply andb_true_iff in Rj as [R1 R2]. apply Z.leb_le in R1. apply Z.ltb_lt in R2.
    assert (Hi : (j - Z.to_nat (ipa / 4096) < Z.to_nat n)%nat) by lia.
    unfold unshared_page in U. rewrite <- Bool.not_true_iff_false in U. apply U.
    apply existsb_exists. exists (j - Z.to_nat (ipa / 4096))%nat. split; [apply in_seq; lia|].
    replace (Z.to_nat (ipa / 4096) + (j - Z.to_nat (ipa / 4096)))%nat with j by lia.
    unfold walk_pa. rewrite Hwj. apply Nat.eqb_eq. exact Epj.
Qed.

(** ** The model's checks *)

(** A live slot and a page-aligned range inside the IPA space pass the
    model's first two checks of MEM_UNSHARE. *)
Lemma unshare_vm_ipa_ok : forall c e id ipa n m, cfg_abs c e -> 1 <= id ->
  nth_error (Isolation.Engine_vms e) (Z.to_nat (id - 1)) = Some m -> Isolation.vm_live m = true ->
  1 <= n -> 0 <= ipa -> ipa mod 4096 = 0 -> ipa + n * 4096 <= 2 ^ 40 ->
  vmid_ok c (abs_ms c e) (Z.to_nat id) = true /\ ipa_ok c (Z.to_nat ipa) (Z.to_nat n) = true.
Proof.
  intros c e id ipa n m Hcfg Hid1 Hnth Hlive Hn1 Hipa Hial H40.
  pose proof Hcfg as ((G & _) & Hmax & Hipl).
  assert (Hlt : (Z.to_nat (id - 1) < length (Isolation.Engine_vms e))%nat) by (apply nth_error_Some; congruence).
  split.
  - unfold vmid_ok. rewrite (slot_vm c e id m Hid1 Hnth). unfold abs_vm. rewrite Hlive. cbn [vm_live].
    rewrite andb_true_r. apply andb_true_iff. split; [apply negb_true_iff, Nat.eqb_neq; lia|apply Nat.leb_le].
    unfold len in Hmax. lia.
  - apply (ipa_ok_iff c ipa n G Hipl ltac:(lia) ltac:(lia)). unfold Isolation.ipaLimit. repeat split; lia.
Qed.

(** ** The model's range check passes when [checkMapped] did *)

(** When [checkMapped] passed every page of the range, the model's range
    check passes too, for a model predicate [P] on pages that holds of
    the abstraction of every ledger entry that passes: the model's
    stage-2 maps each IPA page of the range, and each PFN it maps there
    is one the walk of the range reaches, whose entry passed. *)
Lemma range_passes : forall c e tr s m ipa n owner shared borrower (P : page -> bool),
  create_inv c e -> In m (Isolation.Engine_vms e) -> Isolation.vm_live m = true -> good s e (Isolation.vm_s2 m) ->
  0 <= ipa -> ipa mod 4096 = 0 -> 0 <= n -> ipa + n * 4096 <= 2 ^ 40 ->
  (forall pg, entry_passes pg owner shared borrower -> P (abs_page pg) = true) ->
  (forall i, 0 <= i < n -> checked_at e tr s ipa i owner shared borrower) ->
  ipa_range_ok c (abs_s2 c e (Isolation.vm_s2 m)) (pfn c (Z.to_nat ipa)) (Z.to_nat n)
    (fun p => P (ms_pages (abs_ms c e) p)) = true.
Proof.
  intros c e tr s m ipa n owner shared borrower P Hc Hinm Hlive Hg Hipa Hial Hn H40 Hpass Hchk.
  pose proof Hc as (_ & Ht & Hcfg & _ & Hown & _ & Hsane). pose proof Hcfg as ((G & Hb & Hsz) & _ & Hipl).
  change Isolation.ipaLimit with (2 ^ 40) in Hipl.
  unfold vms_sane in Hsane. rewrite Forall_forall in Hsane. pose proof (Hsane m Hinm Hlive) as Hs.
  pose proof Hs as (Hram & _).
  pose proof (Z.div_mod ipa 4096 ltac:(lia)) as Di. rewrite Hial, Z.add_0_r in Di.
  assert (0 <= ipa / 4096) by (apply Z.div_pos; lia).
  assert (Hs2m : s2_ok e (Isolation.vm_s2 m)) by (right; exact (proj1 (Hown m Hinm Hlive))).
  assert (Ei0 : pfn c (Z.to_nat ipa) = Z.to_nat (ipa / 4096)) by (unfold pfn; rewrite G, Z2Nat.inj_div by lia; reflexivity).
  assert (Hbase0 : 0 <= CodeMemState.ram_base e) by (unfold CodeMemState.ram_base; lia).
  (* the walk of each IPA page of the range, from what checkMapped found *)
  assert (Hwalk : forall i, (i < Z.to_nat n)%nat -> exists mp pg,
    walk e (Isolation.vm_s2 m) (Z.to_nat (ipa / 4096) + i) =
      Some (Isolation.Mapping_PA mp, Isolation.Attr_Perms (Isolation.Mapping_Attr mp)) /\
    CodeMemState.ram_base e <= Isolation.Mapping_PA mp < CodeMemState.ram_base e + CodeMemState.ram_size e /\
    nth_error (Isolation.Engine_pages e) (Z.to_nat ((Isolation.Mapping_PA mp - CodeMemState.ram_base e) / 4096)) = Some pg /\
    entry_passes pg owner shared borrower).
  { intros i Hi. pose proof (Hchk (Z.of_nat i) ltac:(lia)) as (mp & pg & Htr & H1 & H2 & H3 & Hpg & Hp).
    pose proof Htr as Htr0. rewrite (translate_ro _ e tr _ _ Hg) in Htr0.
    pose proof (translate_pa e tr _ _ mp Ht Hs2m (proj1 (wrapu_range _)) Htr0) as Hpa.
    rewrite (page_ipa ipa (Z.of_nat i) Hial Hipa ltac:(lia) ltac:(lia)), Nat2Z.id in Htr.
    rewrite wrapu_small in H3, Hpg by lia.
    exists mp, pg. split; [rewrite (walk_translate _ e tr _ _ _ Hg Htr); reflexivity|].
    split; [lia|]. split; [exact Hpg|exact Hp]. }
  assert (Hmp : forall i, (i < Z.to_nat n)%nat -> exists pa w, walk e (Isolation.vm_s2 m) (Z.to_nat (ipa / 4096) + i) = Some (pa, w))
    by (intros i Hi; pose proof (Hwalk i Hi) as (mp & _ & Hw & _); eauto).
  unfold ipa_range_ok. apply andb_true_iff. split.
  - (* each IPA page of the range is mapped *)
    apply all_range_spec. intros i Hi. rewrite Ei0 in Hi.
    pose proof (Hwalk (i - Z.to_nat (ipa / 4096))%nat ltac:(lia)) as (mp & pg & Hw & Hr & _).
    replace (Z.to_nat (ipa / 4096) + (i - Z.to_nat (ipa / 4096)))%nat with i in Hw by lia.
    pose proof (abs_s2_hit c e _ i _ _ Hs ltac:(lia) Hw) as Hh.
    unfold s2_lookup. destruct (first_range _ _ _) eqn:F; [reflexivity|exfalso].
    pose proof (Hram i _ _ ltac:(lia) Hw) as Hr'. apply in_range_spec in Hr'.
    pose proof (first_range_none _ _ _ _ F _ Hr') as Hn'. cbv beta in Hn'. rewrite Hh, Nat.eqb_refl in Hn'. discriminate Hn'.
  - (* each PFN mapped there passes *)
    apply all_range_spec. intros p Hp.
    destruct (mapped_in c (abs_s2 c e (Isolation.vm_s2 m)) (pfn c (Z.to_nat ipa)) (Z.to_nat n) p) eqn:M; [|reflexivity].
    cbn [negb orb].
    rewrite (mapped_in_unshared c e _ ipa n Hcfg Hs Hipa ltac:(lia) Hial H40 Hmp) in M.
    apply andb_true_iff in M as [R U].
    pose proof (unshared_hit e _ ipa _ p U Hmp) as (i & pa & w & Hi & Hw & Ep).
    pose proof (Hwalk i Hi) as (mp & pg & Hw' & Hr & Hpg & Hp'). rewrite Hw in Hw'. injection Hw' as Epa _. subst pa.
    cbn [ms_pages abs_ms]. unfold abs_pages. rewrite R.
    assert (Ej : (p - State.ram_base c)%nat = Z.to_nat ((Isolation.Mapping_PA mp - CodeMemState.ram_base e) / 4096)).
    { pose proof (index_pfn c e (Isolation.Mapping_PA mp) p (proj1 Hcfg) Hr R) as X. rewrite Ep, Nat.eqb_refl in X.
      apply Nat.eqb_eq in X. lia. }
    rewrite Ej, (nth_error_nth _ _ _ Hpg). apply Hpass. exact Hp'.
Qed.

(** The model's checks of MEM_UNSHARE pass when the code's did: the VM is
    live, the range lies page aligned in the IPA space, the model's
    stage-2 maps each IPA page of it (the walk does, [abs_s2_hit]), and
    each PFN it maps there is the host's shared with the VM (the ledger
    entry [checkMapped] read for it). *)
Lemma MemUnshare_checks_pass : forall c e tr id ipa n m, create_inv c e -> len (Isolation.Engine_vms e) <= 255 ->
  1 <= id -> nth_error (Isolation.Engine_vms e) (Z.to_nat (id - 1)) = Some m -> Isolation.vm_live m = true ->
  1 <= n -> 0 <= ipa -> ipa mod 4096 = 0 -> ipa + n * 4096 <= 2 ^ 40 ->
  (forall i, 0 <= i < n -> checked_at e tr (s2_place (id - 1)) ipa i Isolation.HostVMID true (wrapu 16 id)) ->
  vmid_ok c (abs_ms c e) (Z.to_nat id) = true /\ ipa_ok c (Z.to_nat ipa) (Z.to_nat n) = true /\
  ipa_range_ok c (abs_s2 c e (Isolation.vm_s2 m)) (pfn c (Z.to_nat ipa)) (Z.to_nat n)
    (fun p => is_host_shared_with (Z.to_nat id) (ms_pages (abs_ms c e) p)) = true.
Proof.
  intros c e tr id ipa n m Hc Hvms Hid1 Hnth Hlive Hn1 Hipa Hial H40 Hchk.
  pose proof Hc as (_ & _ & Hcfg & _).
  assert (Hlt : (Z.to_nat (id - 1) < length (Isolation.Engine_vms e))%nat) by (apply nth_error_Some; congruence).
  pose proof (unshare_vm_ipa_ok c e id ipa n m Hcfg Hid1 Hnth Hlive Hn1 Hipa Hial H40) as (Hv & Hk).
  split; [exact Hv|]. split; [exact Hk|].
  apply (range_passes c e tr (s2_place (id - 1)) m ipa n Isolation.HostVMID true (wrapu 16 id)
    (is_host_shared_with (Z.to_nat id)) Hc (nth_error_In _ _ Hnth) Hlive
    ltac:(apply s2_place_good; [lia|exact Hnth]) Hipa Hial ltac:(lia) H40); [|exact Hchk].
  intros pg (Ho & Hsh & Hbo). cbn in Ho.
  unfold abs_page, abs_owner, abs_share, is_host_shared_with. rewrite Ho, Hsh, (Hbo eq_refl). cbn [pg_owner pg_share].
  change (Abi.OwnerHost =? Abi.OwnerEngine) with false. change (Abi.OwnerHost =? Abi.OwnerHost) with true.
  cbv iota. unfold len in Hvms. rewrite CodeMemState.wrapu_small_16 by lia. apply Nat.eqb_refl.
Qed.

(** ** MEM_UNSHARE against the model *)

(** MEM_UNSHARE answering SUCCESS, from [create_inv] and [walk_inv] with
    at most 255 VM slots, refines the model's step whole: the model's
    checks pass, the ledger gives each page the range maps to the host,
    unshared, the VM's stage-2 loses the range, the host's stage-2 and
    every other slot are as they were. *)
Theorem MemUnshare_refines : forall c e tr id ipa n e' tr' mem regs,
  create_inv c e -> walk_inv e -> len (Isolation.Engine_vms e) <= 255 ->
  0 <= id < 2 ^ 64 -> 0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 ->
  Isolation.Engine_MemUnshare root id ipa n e tr = Ok Abi.Success e' tr' ->
  exists s', mem_unshare c (abs_state c e mem regs) (Z.to_nat id) (Z.to_nat ipa) (Z.to_nat n) = (s', ok0) /\
    ms_eq (st_meta s') (abs_ms c e').
Proof.
  intros c e tr id ipa n e' tr' mem regs Hc Hwi Hvms Hid Hipa Hn Hrun.
  pose proof Hwi as [[Hi _] Hwb]. pose proof Hc as (_ & _ & Hcfg & _ & _ & _ & Hsane).
  pose proof (MemUnshare_walks e tr id ipa n Abi.Success e' tr' Hi Hwb Hid Hipa Hn Hrun) as [_ Hsucc].
  pose proof (Hsucc eq_refl) as (m & Hnth & Hlive & Hid1 & Hn1 & Hial & H40 & Hmp & Ev & Eh & _ & _ & Hled & _ & Hwm &
    Hhost & Hother).
  pose proof (MemUnshare_reaches_unmap e tr id ipa n (proj1 Hi) Hid Hipa Hn)
    as [(st0 & Hc0 & Hne & _)|(m' & N & ps & _ & Hnth' & _ & _ & _ & _ & Hchk & _)].
  { rewrite Hc0 in Hrun. injection Hrun as E _ _. subst st0. contradiction. }
  rewrite Hnth in Hnth'. injection Hnth' as <-.
  pose proof (MemUnshare_checks_pass c e tr id ipa n m Hc Hvms Hid1 Hnth Hlive Hn1 ltac:(lia) Hial H40 Hchk)
    as (Hv & Hok & Hrange).
  unfold vms_sane in Hsane. rewrite Forall_forall in Hsane. pose proof (Hsane m (nth_error_In _ _ Hnth) Hlive) as Hs.
  assert (Hmp' : forall i, (i < Z.to_nat n)%nat -> exists pa w,
    walk e (Isolation.vm_s2 m) (Z.to_nat (ipa / 4096) + i) = Some (pa, w))
    by (intros i Hi'; pose proof (Hmp i Hi') as (pa & w & Hw & _); eauto).
  assert (Hram : forall i, (i < Z.to_nat n)%nat -> CodeMemState.ram_base e <=
    walk_pa e (Isolation.vm_s2 m) (Z.to_nat (ipa / 4096) + i) < CodeMemState.ram_base e + CodeMemState.ram_size e)
    by (intros i Hi'; pose proof (Hmp i Hi') as (pa & w & Hw & Hr); unfold walk_pa; rewrite Hw; exact Hr).
  unfold mem_unshare, abs_state. cbv zeta. cbn [st_meta].
  rewrite Hv, Hok. cbn [negb]. rewrite (s2_of_slot c e id m Hid1 Hnth Hlive), Hrange. cbn [negb].
  eexists. split; [reflexivity|]. split; [|split].
  - intros p. cbn [st_meta ms_pages abs_ms].
    rewrite (unshare_abs_pages c e e' _ ipa (Z.to_nat n) (proj1 Hcfg) Hram Hled p).
    rewrite (mapped_in_unshared c e _ ipa n Hcfg Hs ltac:(lia) ltac:(lia) Hial H40 Hmp' p). reflexivity.
  - intros p. cbn [st_meta ms_hs2 abs_ms]. unfold abs_hs2. rewrite Eh, Hhost. reflexivity.
  - intros v. cbn [st_meta ms_vms]. apply (vms_lend_eq c e e' id m _ Hid1 Hnth Hlive Ev).
    + intros p. exact (vm_s2_unmap c e e' _ ipa n Hcfg Hs ltac:(lia) ltac:(lia) Hial Hwm p).
    + intros j m2 Hj Hnth2 Hl2 p. apply abs_s2_same. exact (Hother j m2 Hj Hnth2 Hl2).
Qed.

(** So [Inv] holds after a MEM_UNSHARE answering SUCCESS whenever it held
    before ([Invariants.mem_unshare_inv] as a theorem about
    [Engine.MemUnshare]). *)
Corollary MemUnshare_keeps_Inv : forall c e tr id ipa n e' tr',
  create_inv c e -> walk_inv e -> len (Isolation.Engine_vms e) <= 255 ->
  0 <= id < 2 ^ 64 -> 0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 ->
  Isolation.Engine_MemUnshare root id ipa n e tr = Ok Abi.Success e' tr' ->
  Inv c (abs_ms c e) -> Inv c (abs_ms c e').
Proof.
  intros c e tr id ipa n e' tr' Hc Hwi Hvms Hid Hipa Hn Hrun.
  apply (step_ok_keeps_Inv c e e' (fun _ => 0%nat) (fun _ _ _ => 0%nat)
    (fun s => mem_unshare c s (Z.to_nat id) (Z.to_nat ipa) (Z.to_nat n))); [intros s; apply Invariants.mem_unshare_inv|].
  exact (MemUnshare_refines c e tr id ipa n e' tr' _ _ Hc Hwi Hvms Hid Hipa Hn Hrun).
Qed.

(** ** MEM_UNSHARE's errors against the model's *)

(** When some page of the range is not one [checkMapped] passes, the
    model's range check fails too, for a model predicate [P] on pages
    that holds only of the abstraction of ledger entries that pass:
    either the model's stage-2 maps no PFN at that IPA page (the walk
    maps none), or the PFN it maps there is in RAM and mapped inside the
    range, and [P] does not hold of its page. *)
Lemma range_refused : forall c e tr s m ipa n i owner shared borrower (P : page -> bool),
  create_inv c e -> mem_ok e -> owners_ok e ->
  In m (Isolation.Engine_vms e) -> Isolation.vm_live m = true -> good s e (Isolation.vm_s2 m) ->
  0 <= ipa -> ipa mod 4096 = 0 -> ipa + n * 4096 <= 2 ^ 40 -> 0 <= i < n ->
  (forall pg, entry_ok pg -> P (abs_page pg) = true -> entry_passes pg owner shared borrower) ->
  ~ checked_at e tr s ipa i owner shared borrower ->
  ipa_range_ok c (abs_s2 c e (Isolation.vm_s2 m)) (pfn c (Z.to_nat ipa)) (Z.to_nat n)
    (fun p => P (ms_pages (abs_ms c e) p)) = false.
Proof.
  intros c e tr s m ipa n i owner shared borrower P Hc Hm Ho Hinm Hlive Hg Hipa Hial H40 Hi Hpass Hnot.
  pose proof Hc as (_ & Ht & Hcfg & _ & Hown & _ & Hsane). pose proof Hcfg as ((G & Hb & Hsz) & _ & Hipl).
  change Isolation.ipaLimit with (2 ^ 40) in Hipl.
  unfold vms_sane in Hsane. rewrite Forall_forall in Hsane. pose proof (Hsane m Hinm Hlive) as Hs.
  pose proof Hs as (Hram & _).
  assert (Hs2m : s2_ok e (Isolation.vm_s2 m)) by (right; exact (proj1 (Hown m Hinm Hlive))).
  assert (Ei0 : pfn c (Z.to_nat ipa) = Z.to_nat (ipa / 4096)) by (unfold pfn; rewrite G, Z2Nat.inj_div by lia; reflexivity).
  pose proof (Z.div_mod ipa 4096 ltac:(lia)) as Di. rewrite Hial, Z.add_0_r in Di.
  assert (0 <= ipa / 4096) by (apply Z.div_pos; lia).
  set (k := (Z.to_nat (ipa / 4096) + Z.to_nat i)%nat).
  assert (Hk : (k < ipa_pages c)%nat) by (unfold k; lia).
  destruct (ipa_range_ok _ _ _ _ _) eqn:Hok; [exfalso|reflexivity].
  unfold ipa_range_ok in Hok. apply andb_true_iff in Hok as [Hmap Hshare].
  (* the model's stage-2 maps a PFN at IPA page [k], so the walk maps [k] *)
  pose proof (proj1 (all_range_spec _ _ _) Hmap k ltac:(rewrite Ei0; unfold k; lia)) as Hlk. cbv beta in Hlk.
  destruct (s2_lookup c (abs_s2 c e (Isolation.vm_s2 m)) k) as [p|] eqn:L; [|discriminate Hlk].
  unfold s2_lookup in L. apply first_range_some in L as (p' & Hp' & Hf).
  destruct (abs_s2 c e (Isolation.vm_s2 m) p') as [[j x]|] eqn:Hj; [|discriminate Hf].
  destruct (Nat.eqb_spec j k) as [->|]; [|discriminate Hf]. injection Hf as ->.
  pose proof (abs_s2_some c e _ p k x Hj) as (_ & pa & w & Hw & Ep).
  (* the code's walk there finds the same page *)
  pose proof (translate_ok e tr _ _ (wrapu 64 (ipa + shl 64 false i Isolation.PageShift)) Ht Hs2m Hg (wrapu_range _))
    as ([mp ok] & Htr).
  assert (Hkz : wrapu 64 (ipa + shl 64 false i Isolation.PageShift) = Z.of_nat k * 4096)
    by (unfold k; rewrite (page_ipa ipa i Hial Hipa ltac:(lia) ltac:(lia)); reflexivity).
  rewrite Hkz in Htr. pose proof (walk_translate _ e tr _ _ _ Hg Htr) as Hwt. rewrite Hw in Hwt. cbn [snd fst] in Hwt.
  destruct ok; cbn in Hwt; [|discriminate Hwt]. injection Hwt as Epa _. rewrite <- Hkz in Htr.
  (* the page is in RAM, and its ledger entry *)
  pose proof (Hram k pa w Hk Hw) as Hin. rewrite Ep in Hin.
  pose proof Hin as Hin'. apply in_range_spec in Hin'. unfold pfnZ in Ep.
  pose proof (translate_pa e tr _ _ mp Ht Hs2m (proj1 (wrapu_range _))
    ltac:(rewrite <- (translate_ro _ e tr _ _ Hg); exact Htr)) as Hpa.
  assert (Hpr : CodeMemState.ram_base e <= pa < CodeMemState.ram_base e + CodeMemState.ram_size e).
  { unfold CodeMemState.ram_base, CodeMemState.ram_size. rewrite <- Hb, <- Hsz. rewrite <- Ep in Hin'.
    assert (pa / 4096 = Z.of_nat (Z.to_nat (pa / 4096))) by (rewrite Z2Nat.id; [reflexivity|apply Z.div_pos; lia]).
    pose proof (Z.div_mod pa 4096 ltac:(lia)). pose proof (Z.mod_pos_bound pa 4096 ltac:(lia)). lia. }
  assert (Hidx : (p - State.ram_base c)%nat = Z.to_nat ((pa - CodeMemState.ram_base e) / 4096)).
  { pose proof (index_pfn c e pa p (proj1 Hcfg) Hpr Hin) as X. unfold pfnZ in X. rewrite Ep, Nat.eqb_refl in X.
    apply Nat.eqb_eq in X. lia. }
  pose proof Hm as (Hl & _). pose proof Hl as (Hb0 & _ & _ & _ & Hlen). fold (CodeMemState.ram_size e) in Hlen.
  fold (CodeMemState.ram_base e) in Hb0.
  destruct (nth_error (Isolation.Engine_pages e) (Z.to_nat ((pa - CodeMemState.ram_base e) / 4096))) as [pg|] eqn:Hpg.
  2:{ apply nth_error_None in Hpg. unfold len in Hlen.
      assert ((pa - CodeMemState.ram_base e) / 4096 < Z.of_nat (length (Isolation.Engine_pages e)))
        by (apply Z.div_lt_upper_bound; lia).
      lia. }
  (* the model's check of that page: [P], so checkMapped passes it *)
  pose proof (proj1 (all_range_spec _ _ _) Hshare p Hin') as Hsh. cbv beta in Hsh.
  unfold mapped_in in Hsh. rewrite Hin, Hj in Hsh.
  rewrite (ipa_in_range c ipa n k G Hipa Hial ltac:(lia)) in Hsh.
  replace ((ipa <=? Z.of_nat k * 4096) && (Z.of_nat k * 4096 <? ipa + n * 4096)) with true in Hsh
    by (symmetry; apply andb_true_iff; split; [apply Z.leb_le|apply Z.ltb_lt]; unfold k; lia).
  cbn [andb negb orb] in Hsh. cbn [ms_pages abs_ms] in Hsh. unfold abs_pages in Hsh. rewrite Hin, Hidx in Hsh.
  rewrite (nth_error_nth _ _ _ Hpg) in Hsh.
  assert (Hok_pg : entry_ok pg) by (unfold owners_ok in Ho; rewrite Forall_forall in Ho; exact (Ho pg (nth_error_In _ _ Hpg))).
  apply Hnot. exists mp, pg. subst pa. split; [exact Htr|].
  rewrite wrapu_small by lia. split; [lia|]. split; [lia|]. split; [lia|]. split; [exact Hpg|].
  exact (Hpass pg Hok_pg Hsh).
Qed.

(** MEM_UNSHARE's instance: the host's page shared with the VM. *)
Lemma unshare_range_refused : forall c e tr id ipa n m i, create_inv c e -> mem_ok e -> owners_ok e ->
  len (Isolation.Engine_vms e) <= 255 -> 1 <= id ->
  nth_error (Isolation.Engine_vms e) (Z.to_nat (id - 1)) = Some m -> Isolation.vm_live m = true ->
  0 <= ipa -> ipa mod 4096 = 0 -> ipa + n * 4096 <= 2 ^ 40 -> 0 <= i < n ->
  ~ checked_at e tr (s2_place (id - 1)) ipa i Isolation.HostVMID true (wrapu 16 id) ->
  ipa_range_ok c (abs_s2 c e (Isolation.vm_s2 m)) (pfn c (Z.to_nat ipa)) (Z.to_nat n)
    (fun p => is_host_shared_with (Z.to_nat id) (ms_pages (abs_ms c e) p)) = false.
Proof.
  intros c e tr id ipa n m i Hc Hm Ho Hvms Hid1 Hnth Hlive Hipa Hial H40 Hi Hnot.
  apply (range_refused c e tr (s2_place (id - 1)) m ipa n i Isolation.HostVMID true (wrapu 16 id)
    (is_host_shared_with (Z.to_nat id)) Hc Hm Ho (nth_error_In _ _ Hnth) Hlive
    ltac:(apply s2_place_good; [lia|exact Hnth]) Hipa Hial H40 Hi); [|exact Hnot].
  intros pg Hok_pg Hsh.
  unfold is_host_shared_with, abs_page, abs_owner, abs_share in Hsh. cbn [pg_owner pg_share] in Hsh.
  destruct (Isolation.page_owner pg =? Abi.OwnerEngine); [discriminate Hsh|].
  destruct (Isolation.page_owner pg =? Abi.OwnerHost) eqn:Eo; [|destruct (_ =? Abi.OwnerVM); discriminate Hsh].
  destruct (Isolation.page_shared pg) eqn:Es; [|discriminate Hsh]. apply Nat.eqb_eq in Hsh.
  unfold len in Hvms.
  assert (Hlt : (Z.to_nat (id - 1) < length (Isolation.Engine_vms e))%nat) by (apply nth_error_Some; congruence).
  split; [cbn; apply Z.eqb_eq; exact Eo|]. split; [exact Es|]. intros _.
  destruct Hok_pg as (_ & _ & Hbo). rewrite CodeMemState.wrapu_small_16 by lia. lia.
Qed.

(** MEM_UNSHARE's errors are the model's. For any 64-bit arguments, from
    [create_inv], [walk_inv] and [owners_ok] with at most 255 VM slots,
    an answer other than SUCCESS leaves the engine and the trace as they
    were, and it is NO_MEMORY (too few free tables for the unmap: a step
    with no effect) or the status [Spec.mem_unshare] answers from the
    abstraction, which leaves its state as it was: INVALID_PARAMETERS for
    no live VM or a range outside the IPA space, DENIED for a page of the
    range the VM does not map as the host's page shared with it. *)
Theorem MemUnshare_errors_refine : forall c e tr id ipa n st e' tr' mem regs,
  create_inv c e -> walk_inv e -> owners_ok e -> len (Isolation.Engine_vms e) <= 255 ->
  0 <= id < 2 ^ 64 -> 0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 ->
  Isolation.Engine_MemUnshare root id ipa n e tr = Ok st e' tr' -> st <> Abi.Success ->
  e' = e /\ tr' = tr /\
  (st = Abi.NoMemory \/ exists sst, mem_unshare c (abs_state c e mem regs) (Z.to_nat id) (Z.to_nat ipa) (Z.to_nat n) =
     (abs_state c e mem regs, err sst) /\ go_status sst = st).
Proof.
  intros c e tr id ipa n st e' tr' mem regs Hc Hwi Ho Hvms Hid Hipa Hn Hrun Hne.
  pose proof Hwi as [[Hi _] _]. pose proof Hi as (Hm & _). pose proof Hm as (_ & _ & _ & Hvl & _).
  pose proof Hc as (_ & _ & Hcfg & _ & _ & Hfree & _). pose proof Hcfg as ((G & _) & _ & Hipl).
  pose proof (MemUnshare_reaches_unmap e tr id ipa n Hm Hid Hipa Hn)
    as [(st0 & Hcall & _ & Hwhy)|(m & N & ps & _ & _ & _ & _ & _ & _ & _ & _ & _ & _ & _ & Hcall)].
  2:{ exfalso. rewrite Hcall in Hrun. unfold bind in Hrun.
      destruct (Isolation.Engine_unmapRange _ _ _ _ _ _) as [[] s1 t1|]; [|discriminate Hrun].
      injection Hrun as <- _ _. exact (Hne eq_refl). }
  rewrite Hcall in Hrun. injection Hrun as <- <- <-. split; [reflexivity|]. split; [reflexivity|].
  unfold mem_unshare, abs_state. cbv zeta. cbn [st_meta].
  destruct Hwhy as [(-> & Hwhy)|[(-> & m & i & Hid1 & Hnth & Hlive & Hn1 & Hial & H40 & Hi' & Hnot)| ->]];
    [right|right|left; reflexivity].
  - (* no live VM, or a range outside the IPA space *)
    exists INVALID_PARAMETERS. split; [|reflexivity].
    destruct (vmid_ok c (abs_ms c e) (Z.to_nat id)) eqn:Hv; cbn [negb]; [|reflexivity].
    destruct Hwhy as [Hnil|Hrange].
    + pose proof (liveVM_at c e (abs_ms c e) tr id (vms_rel_abs c e Hcfg Hfree) Hvl Hid) as (p & Hp & Hcase).
      rewrite Hnil in Hp. injection Hp as <-.
      destruct Hcase as [(_ & Hv')|(mv & (ld & st' & E & _) & _)]; [congruence|discriminate E].
    + destruct (ipa_ok c (Z.to_nat ipa) (Z.to_nat n)) eqn:Hk; cbn [negb]; [|reflexivity].
      exfalso. apply Hrange. apply (ipa_ok_iff c ipa n G Hipl Hipa Hn) in Hk. unfold Isolation.ipaLimit in Hk. lia.
  - (* a page of the range that does not pass *)
    exists DENIED. split; [|reflexivity].
    pose proof (unshare_vm_ipa_ok c e id ipa n m Hcfg Hid1 Hnth Hlive Hn1 ltac:(lia) Hial H40) as (Hv & Hk).
    rewrite Hv, Hk. cbn [negb]. rewrite (s2_of_slot c e id m Hid1 Hnth Hlive).
    rewrite (unshare_range_refused c e tr id ipa n m i Hc Hm Ho Hvms Hid1 Hnth Hlive ltac:(lia) Hial H40 Hi' Hnot).
    reflexivity.
Qed.
