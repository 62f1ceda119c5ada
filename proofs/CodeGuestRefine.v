(** * GUEST_SHARE, GUEST_UNSHARE and GUEST_RELINQUISH refined whole

    Theorems about proofs/code/Isolation.v, the translation of
    isolation/mem.go, that carry on from CodeGuestNoFailure.v (the calls
    taken apart, run by run) and CodeUnshareRefine.v (the model's checks
    and stage-2s against the walks). Proved here:
    - the RAM pages the first [k + cnt] pages of a range reach are those
      the first [k] reach and the PFN range of the run of [cnt] from page
      [k] ([unshared_page_run]);
    - GUEST_SHARE and GUEST_UNSHARE from a live VM, from [create_inv],
      [walk_inv] and RAM below 2^40, never fail; an error changes
      nothing; SUCCESS passes the model's checks (the model's range check
      holds of each page [checkMapped] passed: [range_passes],
      [passes_vm_unshared], [passes_vm_shared_host]) and, run by run
      (CodeGuestNoFailure.host_runs_loop), gives each RAM page the range
      reaches the new share state in the ledger and maps it in the host's
      stage-2 or unmaps it ([host_effect]; [GuestShare_effect],
      [GuestUnshare_effect]: [share_done], [unshare_done] from page 0 to
      the end of the range; [GuestShare_no_failure],
      [GuestUnshare_no_failure]), and leaves the host's walk of each page
      the range reaches, and of every RAM page whose walk ended at level
      3 or nowhere, ending so: each run is of at most 16 pages, which
      [mapRange] and [unmapRange] leave at level 3, keeping every other
      page ([run_level], CodeLevel);
    - a [host_step] leaves every live VM's walk as it was
      ([host_step_walks]), so those effects are the model's
      ([host_guest_abs]): GUEST_SHARE and GUEST_UNSHARE answering SUCCESS
      refine [Spec.guest_share] and [Spec.guest_unshare] whole
      ([GuestShare_refines], [GuestUnshare_refines]), and [Inv] holds
      after them whenever it held before ([GuestShare_keeps_Inv],
      [GuestUnshare_keeps_Inv]: [Invariants.guest_share_inv] and
      [guest_unshare_inv] as theorems about the Go calls); every outcome
      of either keeps [walk_inv] ([host_step_keeps_mem_inv],
      [host_step_keeps_walk_inv], [GuestShare_keeps_walk_inv],
      [GuestUnshare_keeps_walk_inv]);
    - GUEST_RELINQUISH answering SUCCESS (CodeGuestNoFailure: each RAM
      page the range reaches owned by nobody in the ledger, the range
      gone from the VM's walk, [relinq_done]; every table outside the
      VM's tree kept, so the host's and the other VMs' walks stay)
      refines [Spec.guest_relinquish] whole ([run_abs_pages],
      [GuestRelinquish_refines]) and keeps [Inv]
      ([GuestRelinquish_keeps_Inv]); every outcome of it keeps
      [walk_inv] ([vm_step_keeps_walk_inv],
      [GuestRelinquish_keeps_walk_inv]). *)
From Coq Require Import ZArith Lia List Bool String.
From Bulkhead.Spec Require Import State Spec.
From Bulkhead.Proofs Require Import Invariants.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodePlace CodeLoop CodeLedger CodeVCPU CodeVMCreate CodeStage2 CodeTransfer
  CodeAbsLedger CodeMemCall CodeAbs CodeVMCreateRefine CodeVMCreateInv CodeOwns CodeEngineInv Lemmas CodeWalkCalls
  CodeModelThms CodeMemShare CodeWalkHeld CodeS2Refine CodeMapped CodeUnshare CodeUnshareInv CodeTransferRefine CodeAbi
  CodeUnshareRefine CodeGuestErrors CodeDonate CodePool CodeUpdateRoot CodeUpdateRange CodeUpdateRootRange
  CodeMemNoFailure CodeWalkUpdate CodeWalkRange CodeRunNeed CodeRuns CodeGuestNoFailure CodeLedgerRefine CodeFree
  CodeLevel.
From Bulkhead.Proofs Require CodeMemState.
Import ListNotations.
Open Scope Z_scope.


(** ** The pages the runs reach *)

(** What [wpa] reads at page [i] of a page-aligned range is [walk_pa] of
    that IPA page. *)
Lemma wpa_walk_pa : forall e s2 ipa i x, 0 <= ipa -> ipa mod 4096 = 0 -> 0 <= i ->
  wpa e s2 (ipa + i * 4096) = Some x -> walk_pa e s2 (Z.to_nat (ipa / 4096) + Z.to_nat i) = x.
Proof.
  intros e s2 ipa i x Hipa Hal Hi H. unfold wpa in H. unfold walk_pa.
  replace (Z.to_nat ((ipa + i * 4096) / 4096)) with (Z.to_nat (ipa / 4096) + Z.to_nat i)%nat in H.
  - destruct (walk e s2 _) as [[pa w]|]; [injection H as <-; reflexivity|discriminate H].
  - rewrite Z.div_add by lia. rewrite Z2Nat.inj_add by (try apply Z.div_pos; lia). reflexivity.
Qed.

(** The pages the first [k + cnt] pages of the range reach: those the
    first [k] reach and the run of [cnt] from page [k]. *)
Lemma unshared_page_run : forall e s2 ipa n k pa cnt p, 0 <= ipa -> ipa mod 4096 = 0 -> 0 <= k ->
  0 <= pa -> pa + cnt * 4096 < 2 ^ 64 -> run_at e s2 ipa n k pa cnt ->
  unshared_page e s2 ipa (Z.to_nat (k + cnt)) p = unshared_page e s2 ipa (Z.to_nat k) p || in_range p (pfnZ pa) (Z.to_nat cnt).
Proof.
  intros e s2 ipa n k pa cnt p Hipa Hal Hk Hpa H64 (Hc & _ & H0 & Hj & _).
  unfold unshared_page. rewrite Z2Nat.inj_add, seq_app, existsb_app by lia. f_equal. cbn [Nat.add].
  apply existsb_seq_eq. intros i Hi.
  assert (Hw : wpa e s2 (ipa + Z.of_nat i * 4096) = Some (pa + (Z.of_nat i - k) * 4096)).
  { destruct (Z.eq_dec (Z.of_nat i) k) as [E|Ne].
    - rewrite E, Z.sub_diag, Z.add_0_r. exact H0.
    - replace (Z.of_nat i) with (k + (Z.of_nat i - k)) by ring. rewrite (Hj (Z.of_nat i - k) ltac:(lia)).
      rewrite wrapu_small by lia. f_equal. ring. }
  pose proof (wpa_walk_pa e s2 ipa (Z.of_nat i) _ Hipa Hal ltac:(lia) Hw) as E. rewrite Nat2Z.id in E. rewrite E.
  unfold pfnZ. rewrite Z.div_add by lia. rewrite Z2Nat.inj_add by (try apply Z.div_pos; lia). lia.
Qed.

(** ** GUEST_SHARE's effect on the abstraction *)

(** A ledger entry that passes [checkMapped]'s test of GUEST_SHARE and
    GUEST_RELINQUISH is the VM's own unshared page in the model, and one
    that passes GUEST_UNSHARE's the VM's shared with the host. *)
Lemma passes_vm_unshared : forall id pg, 1 <= id -> entry_passes pg id false 0 ->
  is_vm_unshared (Z.to_nat id) (abs_page pg) = true.
Proof.
  intros id pg Hid H. unfold entry_passes in H.
  replace (id =? Isolation.HostVMID) with false in H by (symmetry; apply Z.eqb_neq; unfold Isolation.HostVMID; lia).
  destruct H as ((Ho & Hv) & Hsh & _).
  unfold is_vm_unshared, abs_page, abs_owner, abs_share. rewrite Ho, Hv, Hsh. cbn [pg_owner pg_share].
  change (Abi.OwnerVM =? Abi.OwnerEngine) with false. change (Abi.OwnerVM =? Abi.OwnerHost) with false.
  change (Abi.OwnerVM =? Abi.OwnerVM) with true. cbv iota. apply Nat.eqb_refl.
Qed.

Lemma passes_vm_shared_host : forall id pg, 1 <= id -> entry_passes pg id true Isolation.HostVMID ->
  is_vm_shared_host (Z.to_nat id) (abs_page pg) = true.
Proof.
  intros id pg Hid H. unfold entry_passes in H.
  replace (id =? Isolation.HostVMID) with false in H by (symmetry; apply Z.eqb_neq; unfold Isolation.HostVMID; lia).
  destruct H as ((Ho & Hv) & Hsh & Hb).
  unfold is_vm_shared_host, abs_page, abs_owner, abs_share. rewrite Ho, Hv, Hsh, (Hb eq_refl). cbn [pg_owner pg_share].
  change (Abi.OwnerVM =? Abi.OwnerEngine) with false. change (Abi.OwnerVM =? Abi.OwnerHost) with false.
  change (Abi.OwnerVM =? Abi.OwnerVM) with true. cbv iota. rewrite Nat.eqb_refl. reflexivity.
Qed.

(** What the runs of GUEST_SHARE or GUEST_UNSHARE have done from page 0
    to page [k]: the host's walk still below 2^48, and each RAM page the
    first [k] pages of the range reach given the share state [sh] in the
    ledger and, in the host's stage-2, mapped ([hs] true) or not, every
    other page as it was; every ledger entry [entry_ok] if every one
    was; and the host's walk of each such page, and of every RAM page
    whose walk ended at level 3 or nowhere, ending so ([CodeLevel.lv3_at]). *)
Definition host_done (sh : share) (hs : bool) (c : config) (e : Isolation.Engine) (s2 : Isolation.stage2) (ipa : Z) (k : Z)
    (S : Isolation.Engine) : Prop :=
  walk_below S (Isolation.Engine_host e) /\
  (forall p, abs_pages c S p = if in_ram c p && unshared_page e s2 ipa (Z.to_nat k) p
                               then mkPage (pg_owner (abs_pages c e p)) sh else abs_pages c e p) /\
  (forall p, abs_hs2 c S p = if in_ram c p && unshared_page e s2 ipa (Z.to_nat k) p then hs else abs_hs2 c e p) /\
  (owners_ok e -> owners_ok S) /\
  (forall p, in_ram c p = true -> lv3_at e (Isolation.Engine_host e) p \/ unshared_page e s2 ipa (Z.to_nat k) p = true ->
     lv3_at S (Isolation.Engine_host e) p).

Definition share_done := host_done (SharedWith host_id) true.
Definition unshare_done := host_done NotShared false.

Lemma in_range_ram : forall c e pa cnt p, cfg_rel c e -> 0 <= pa -> 1 <= cnt -> CodeMemState.ram_base e <= pa ->
  pa + cnt * 4096 <= CodeMemState.ram_base e + CodeMemState.ram_size e ->
  in_range p (pfnZ pa) (Z.to_nat cnt) = true -> in_ram c p = true.
Proof.
  intros c e pa cnt p (G & Hb & Hs) Hpa Hc Hlo Hhi H. unfold CodeMemState.ram_base, CodeMemState.ram_size in *.
  apply in_range_spec in H. unfold pfnZ in H. unfold in_ram. apply in_range_spec.
  assert (pa / 4096 + cnt <= Z.of_nat (State.ram_base c) + Z.of_nat (ram_pages c))
    by (apply Z.le_add_le_sub_r; apply Z.div_le_upper_bound; lia).
  assert (Z.of_nat (State.ram_base c) <= pa / 4096) by (apply Z.div_le_lower_bound; lia).
  lia.
Qed.

Lemma pfn_pfnZ : forall c pa, granule c = 4096%nat -> 0 <= pa -> pfn c (Z.to_nat pa) = pfnZ pa.
Proof. intros c pa G Hpa. unfold pfn, pfnZ. rewrite G, Z2Nat.inj_div by lia. reflexivity. Qed.

Lemma abs_hs2_pages : forall c S ps, tables_ok S -> s2_ok S (Isolation.Engine_host S) ->
  forall p, abs_hs2 c (Isolation.set_Engine_pages ps S) p = abs_hs2 c S p.
Proof.
  intros c S ps Hok Hs2 p. unfold abs_hs2. cbn [Isolation.Engine_host Isolation.set_Engine_pages].
  rewrite (walk_same_pool S (Isolation.set_Engine_pages ps S) _ p Hok Hs2 eq_refl). reflexivity.
Qed.

(** Before the first run, nothing is done. *)
Lemma host_done_start : forall sh hs c e s2 ipa, walk_below e (Isolation.Engine_host e) -> host_done sh hs c e s2 ipa 0 e.
Proof.
  intros sh hs c e s2 ipa Hwb. split; [exact Hwb|].
  split; [|split; [|split; [exact (fun H => H)|intros p _ [Hl|Hu]; [exact Hl|discriminate Hu]]]];
    intros p; cbn [unshared_page]; rewrite andb_false_r; reflexivity.
Qed.

(** A page of RAM is below 2^40 when RAM is. *)
Lemma ram_below : forall c e p, cfg_rel c e ->
  Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e)) +
    Isolation.Range_Size (Isolation.Config_RAM (Isolation.Engine_cfg e)) <= 2 ^ 40 ->
  in_ram c p = true -> Z.of_nat p * 4096 < 2 ^ 40.
Proof.
  intros c e p (_ & Hb & Hs) Hram Hr. unfold in_ram, in_range in Hr.
  apply andb_true_iff in Hr as [_ Hr]. apply Nat.ltb_lt in Hr. lia.
Qed.

(** The update of the host's tree for a run of [cnt] pages at [pa],
    fewer than 512, which keeps at level 3 or nowhere the walk of every
    page that lies in the run or was so, unless its 2 MiB span lies in
    the run whole ([CodeLevel.mapRange_nb], [unmapRange_nb]), carries the
    level part of [host_done] from page [k] to the page after the run. *)
Lemma run_level : forall c e s2 ipa n k pa cnt S S', cfg_rel c e ->
  Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e)) +
    Isolation.Range_Size (Isolation.Config_RAM (Isolation.Engine_cfg e)) <= 2 ^ 40 ->
  0 <= ipa -> ipa mod 4096 = 0 -> 0 <= k -> 0 <= pa -> pa mod 4096 = 0 -> pa + cnt * 4096 < 2 ^ 64 -> cnt < 512 ->
  run_at e s2 ipa n k pa cnt ->
  (forall p, in_ram c p = true -> lv3_at e (Isolation.Engine_host e) p \/ unshared_page e s2 ipa (Z.to_nat k) p = true ->
     lv3_at S (Isolation.Engine_host e) p) ->
  (forall k', Z.of_nat k' * 4096 < 2 ^ 40 ->
     (lv3_at S (Isolation.Engine_host e) k' \/ pa <= Z.of_nat k' * 4096 < pa + cnt * 4096) ->
     ~ l2_cover pa (pa + cnt * 4096) (Z.of_nat k' * 4096) -> lv3_at S' (Isolation.Engine_host e) k') ->
  forall p, in_ram c p = true ->
    lv3_at e (Isolation.Engine_host e) p \/ unshared_page e s2 ipa (Z.to_nat (k + cnt)) p = true ->
    lv3_at S' (Isolation.Engine_host e) p.
Proof.
  intros c e s2 ipa n k pa cnt S S' Hcfg Hram Hipa Hial Hk Hpa Hpal H64 Hcnt Hrun Hlv Hnb p Hr Hp.
  pose proof (ram_below c e p Hcfg Hram Hr) as Hp40. pose proof Hrun as (Hc1 & _).
  rewrite (unshared_page_run e s2 ipa n k pa cnt p Hipa Hial Hk Hpa H64 Hrun) in Hp.
  pose proof (Z.div_mod pa 4096 ltac:(lia)) as Hdm. rewrite Hpal, Z.add_0_r in Hdm.
  assert (0 <= pa / 4096) by (apply Z.div_pos; lia).
  destruct (in_range p (pfnZ pa) (Z.to_nat cnt)) eqn:R.
  - apply in_range_spec in R. unfold pfnZ in R.
    apply Hnb; [exact Hp40|right; lia|apply small_no_cover; lia].
  - rewrite orb_false_r in Hp. apply Hnb; [exact Hp40|left; exact (Hlv p Hr Hp)|].
    apply out_no_cover; [|lia]. intros Hin. apply in_range_false in R. apply R. unfold pfnZ. lia.
Qed.

(** A state the loop reaches keeps [ledger_ok]: the same configuration
    and as many ledger entries. *)
Lemma step_ledger_ok : forall e qq ps, ledger_ok e -> len ps = len (Isolation.Engine_pages e) ->
  ledger_ok (Isolation.set_Engine_pool qq (Isolation.set_Engine_pages ps e)).
Proof.
  intros e qq ps Hl Hps. unfold ledger_ok in *.
  cbn [Isolation.Engine_cfg Isolation.set_Engine_pool Isolation.set_Engine_pages Isolation.Engine_pages]. rewrite Hps. exact Hl.
Qed.

(** What is proved of GUEST_SHARE and GUEST_UNSHARE taken apart: from a
    live VM, for a 64-bit IPA and count, from [create_inv], [walk_inv]
    and RAM below 2^40, the call never fails; an error changes nothing;
    SUCCESS passes the model's checks (its range check for [P]) and
    changes only the ledger and the pool, as a [host_step], which has
    done to the abstraction what [done] says of the whole range. *)
Definition host_effect (call : Z -> Z -> Z -> M Isolation.Engine Abi.Status) (P : nat -> page -> bool)
    (done : config -> Isolation.Engine -> Isolation.stage2 -> Z -> Z -> Isolation.Engine -> Prop) : Prop :=
  forall c e tr id ipa n m,
  create_inv c e -> walk_inv e -> reclaim_ok e ->
  1 <= id < 2 ^ 16 -> nth_error (Isolation.Engine_vms e) (Z.to_nat (id - 1)) = Some m -> Isolation.vm_live m = true ->
  0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 ->
  exists st e' tr', call id ipa n e tr = Ok st e' tr' /\
    (st <> Abi.Success -> e' = e) /\
    (st = Abi.Success ->
       guest_range_ok c (Z.to_nat ipa) (Z.to_nat n) = true /\
       ipa_range_ok c (abs_s2 c e (Isolation.vm_s2 m)) (pfn c (Z.to_nat ipa)) (Z.to_nat n)
         (fun p => P (Z.to_nat id) (ms_pages (abs_ms c e) p)) = true /\
       ipa mod 4096 = 0 /\ ipa + n * 4096 <= 2 ^ 40 /\ in_ram_range e (Isolation.vm_s2 m) ipa n /\
       host_step e e' /\ done c e (Isolation.vm_s2 m) ipa n e').

(** The invariants [host_effect] assumes, taken apart into what the
    calls' proofs use. *)
Ltac walk_inv_facts e Hc Hwi Hrok :=
  let Hmi := fresh "Hmi" in let Hown := fresh "Hown" in let Hp := fresh "Hp" in let Hh := fresh "Hh" in
  let Hdis := fresh "Hdis" in
  pose proof Hwi as ((Hmi & _) & (Hhb & Hvb)); pose proof Hmi as (Hm & Hown & _);
  pose proof Hown as (Hp & Hpl & Hh & _ & Hdis);
  assert (Hroots : vms_root_inv e) by exact (s2_owned_roots e Hown);
  assert (Hhost : root_inv e (Isolation.stage2_root (Isolation.Engine_host e))) by exact (owns_root_inv e _ Hp Hh);
  assert (Happ : host_apart e) by exact (disjoint_host_apart e Hdis);
  assert (Hram : CodeMemState.ram_base e + CodeMemState.ram_size e <= 2 ^ 40) by exact (proj2 Hrok);
  pose proof Hc as (_ & _ & Hcfg & _); pose proof Hcfg as ((G & _) & _ & Hipl).

Theorem GuestShare_effect : host_effect (Isolation.Engine_GuestShare root) is_vm_unshared share_done.
Proof.
  unfold host_effect. intros c e tr id ipa n m Hc Hwi Hrok Hid Hnth Hlive Hipa Hn.
  walk_inv_facts e Hc Hwi Hrok.
  guest_checks @Isolation.Engine_GuestShare false 0 e tr id ipa n m Hm Hroots Hram Hid Hnth Hlive Hipa Hn.
  reserve host_need (fun (first pa : Z) => pa) e tr m ipa n s Hs Hin Ht Hms2 Hgs Hial Hrr Hram (root_inv_l1 e _ Hhost).
  match goal with |- context [loop max_fuel _ ?b _ 0] =>
    pose proof (host_runs_loop b e tr m s ipa n N (share_done c e (Isolation.vm_s2 m) ipa) Hl Ht Hpl Hhost Hvr
      (Happ _ m Hnth Hlive) Hgood ltac:(lia) Hial ltac:(lia) ltac:(lia) Hram Hin Hruns EN)
      as (kf & Sf & tf & Hj & Hstf & Hdone) end.
  - exact (host_done_start _ _ c e _ ipa Hhb).
  - intros k S t pa cnt ((qq & ps & -> & Hps) & HrS & HB & HL & Htf) (HwbS & HpgS & Hhs2S & HoS & HlvS) Hk Hrun Hpa Hlo Hhi Hle Hnr.
    set (S := Isolation.set_Engine_pool qq (Isolation.set_Engine_pages ps e)) in *.
    pose proof Hrun as (Hc1 & _).
    pose proof HrS as (((HokS & _) & _) & _).
    pose proof Hpl as (Hpal & Hpbelow). pose proof (step_ledger_ok e qq ps Hl Hps) as HlS.
    unfold CodeMemState.ram_base, CodeMemState.ram_size in Hlo, Hhi, Hram.
    (* The ledger commit. *)
    pose proof (run_fits e S pa cnt Hl eq_refl Hps Hpa Hlo Hhi Hc1) as (F1 & F2 & F3 & F4).
    pose proof (setShared_pages S t pa cnt true Isolation.HostVMID F1 F2 Hc1 F3 F4) as (ps1 & Hss & Hps1 & _).
    pose proof (setShared_abs c S t pa cnt true Isolation.HostVMID HlS (proj1 Hcfg) ltac:(lia) Hpa Hc1 ltac:(cbn; lia)
      ltac:(cbn; lia)) as (e1 & Hss' & _ & Ho1 & _ & Habs1).
    rewrite Hss in Hss'. injection Hss' as <-.
    set (S1 := Isolation.set_Engine_pages ps1 S) in *.
    assert (HlS1 : ledger_ok S1).
    { pose proof HlS as X. unfold ledger_ok in X |- *.
      cbn [S1 Isolation.Engine_cfg Isolation.set_Engine_pages Isolation.Engine_pages]. rewrite Hps1. exact X. }
    (* The map into the host stage-2. *)
    assert (HrS1 : root_inv S1 (Isolation.stage2_root (Isolation.Engine_host e))) by exact HrS.
    assert (Hs2h : s2_ok S (Isolation.Engine_host e)) by (right; exact (l1_inv_tree S _ (root_inv_l1 S _ HrS))).
    assert (Hg1 : good host_place S1 (Isolation.Engine_host e)) by exact (host_place_good S1).
    pose proof (mapNeed_ok S1 t host_place (Isolation.Engine_host e) pa pa cnt HokS Hs2h Hg1 ltac:(lia) ltac:(lia) ltac:(lia))
      as (K & HK).
    pose proof (mapNeed_le_run S1 t host_place _ pa pa cnt K Hg1 HrS1 ltac:(lia) Hc1 ltac:(lia) HK) as HKle.
    pose proof (mapRange_walk_range S1 t host_place (Isolation.Engine_host e) pa pa cnt Isolation.hostShared K Hg1 HrS1
      (walk_below_same_pool S S1 _ HokS Hs2h eq_refl HwbS)
      ltac:(change (pool_base S1) with (pool_base S); rewrite HB; exact Hpal)
      ltac:(change (pool_base S1) with (pool_base S); change (tables S1) with (tables S); rewrite HB, HL; exact Hpbelow)
      ltac:(lia) ltac:(lia) ltac:(lia) Hpa Hpa HK
      ltac:(change (count_free (Isolation.Engine_pool S1)) with (count_free (Isolation.Engine_pool S)); lia)
      (map_below _ pa pa cnt _ ltac:(lia) ltac:(lia) ltac:(lia) ltac:(lia) ltac:(lia)))
      as (S2 & t2 & Hmr & HrS2 & HB2 & HL2 & Hcf2 & Htf2 & Hwb2 & Hw2).
    destruct (mapRange_nb S1 t host_place (Isolation.Engine_host e) pa pa cnt Isolation.hostShared K Hg1 HrS1
      ltac:(change (pool_base S1) with (pool_base S); rewrite HB; exact Hpal)
      ltac:(change (pool_base S1) with (pool_base S); change (tables S1) with (tables S); rewrite HB, HL; exact Hpbelow)
      ltac:(lia) ltac:(lia) ltac:(lia) Hpa Hpa HK
      ltac:(change (count_free (Isolation.Engine_pool S1)) with (count_free (Isolation.Engine_pool S)); lia))
      as (S2' & t2' & Hmr' & Hnb).
    rewrite Hmr in Hmr'. injection Hmr' as <- <-.
    pose proof (mapRange_pool _ _ _ _ _ _ _ _ _ _ Hmr) as (q2 & E2).
    exists S2, t2. split.
    { cbv beta. CodeShadow.step_by (pfield_any q Isolation.vm_s2 Isolation.set_vm_s2 e tr s S t Hs).
      CodeShadow.step_by Hnr. CodeShadow.step_by Hss.
      CodeShadow.step_by (pfield_host S1 t). CodeShadow.step_by Hmr. reflexivity. }
    split; [split|].
    { exists q2, ps1. split.
      - rewrite E2. unfold S1, S. rewrite set_pages_pool, CodeAbsLedger.set_pages_twice, set_pool_twice. reflexivity.
      - rewrite Hps1. cbn. exact Hps. }
    { split; [exact HrS2|]. split; [rewrite HB2; exact HB|]. split; [rewrite HL2; exact HL|].
      exact (tree_frame_trans e S1 S2 _ Htf Htf2). }
    split; [exact Htf2|]. split.
    { change (count_free (Isolation.Engine_pool S1)) with (count_free (Isolation.Engine_pool S)) in Hcf2. lia. }
    (* What the run did to the abstraction. *)
    assert (Hpfn : pfn c (Z.to_nat pa) = pfnZ pa) by (apply pfn_pfnZ; [exact G|lia]).
    assert (Hrun_ram : forall p, in_range p (pfnZ pa) (Z.to_nat cnt) = true -> in_ram c p = true)
      by (intros p; apply (in_range_ram c e pa cnt p (proj1 Hcfg) ltac:(lia) Hc1); unfold CodeMemState.ram_base, CodeMemState.ram_size; lia).
    pose proof (unshared_page_run e (Isolation.vm_s2 m) ipa n k pa cnt) as Hstep.
    split; [|split; [|split; [|split]]].
    + exact Hwb2.
    + intros p. rewrite E2. change (abs_pages c (Isolation.set_Engine_pool q2 S1) p) with (abs_pages c S1 p).
      rewrite Habs1, Hpfn, (Hstep p ltac:(lia) Hial ltac:(lia) ltac:(lia) ltac:(lia) Hrun), HpgS.
      destruct (in_range p (pfnZ pa) (Z.to_nat cnt)) eqn:R.
      * rewrite (Hrun_ram p R), orb_true_r. cbn [andb].
        destruct (unshared_page _ _ _ _ p); reflexivity.
      * rewrite orb_false_r. reflexivity.
    + intros p.
      rewrite (hs2_range c S1 S2 pa cnt (fun k0 => u_map (map_u (Isolation.Engine_host e) pa pa Isolation.hostShared) (Z.of_nat k0 * 4096))
        Hcfg ltac:(split; [exact HlS1|exact Hram]) ltac:(lia) ltac:(lia) Hpa ltac:(rewrite E2; reflexivity) Hw2 p).
      rewrite Hpfn, (Hstep p ltac:(lia) Hial ltac:(lia) ltac:(lia) ltac:(lia) Hrun).
      destruct (in_range p (pfnZ pa) (Z.to_nat cnt)) eqn:R.
      * rewrite (Hrun_ram p R), orb_true_r. cbn [andb].
        apply in_range_spec in R. unfold pfnZ in R.
        rewrite u_map_offset by (pose proof (Z.div_mod pa 4096 ltac:(lia)); lia).
        replace (pa + (Z.of_nat p * 4096 - pa)) with (Z.of_nat p * 4096) by ring.
        unfold pfnZ. rewrite Z_div_mult by lia. rewrite Nat2Z.id, Nat.eqb_refl. reflexivity.
      * rewrite orb_false_r. unfold S1. rewrite (abs_hs2_pages c S ps1 HokS Hs2h p). apply Hhs2S.
    + intros Ho0. rewrite E2. exact (Ho1 (HoS Ho0)).
    + exact (run_level c e _ ipa n k pa cnt S1 S2 (proj1 Hcfg) Hram ltac:(lia) Hial ltac:(lia) ltac:(lia) Hpa ltac:(lia)
        ltac:(unfold Abi.GuestMaxPages in Hg; pose proof Hrun as (_ & ? & _); lia) Hrun HlvS Hnb).
  - CodeShadow.step_by Hj. eexists _, Sf, tf. split; [reflexivity|]. split; [intros E; contradiction E; reflexivity|].
    intros _. split; [exact (guest_range_passes c ipa n G Hipl Hipa Hn (proj1 Hbs eq_refl) Hg)|].
    split.
    { apply (range_passes c e tr s m ipa n id false 0 (is_vm_unshared (Z.to_nat id)) Hc (nth_error_In _ _ Hnth) Hlive Hgs
        ltac:(lia) Hial ltac:(lia) ltac:(lia)); [|exact Hpass].
      intros pg Hp'. apply passes_vm_unshared; [lia|exact Hp']. }
    split; [exact Hial|]. split; [lia|]. split; [exact Hin|]. split; [exact Hstf|exact Hdone].
Qed.

(** ** GUEST_UNSHARE *)

(** GUEST_UNSHARE: each RAM page the range maps unshared in the ledger
    and gone from the host's stage-2. *)
Theorem GuestUnshare_effect : host_effect (Isolation.Engine_GuestUnshare root) is_vm_shared_host unshare_done.
Proof.
  unfold host_effect. intros c e tr id ipa n m Hc Hwi Hrok Hid Hnth Hlive Hipa Hn.
  walk_inv_facts e Hc Hwi Hrok.
  guest_checks @Isolation.Engine_GuestUnshare true Isolation.HostVMID e tr id ipa n m Hm Hroots Hram Hid Hnth Hlive Hipa Hn.
  reserve host_need (fun (first pa : Z) => pa) e tr m ipa n s Hs Hin Ht Hms2 Hgs Hial Hrr Hram (root_inv_l1 e _ Hhost).
  match goal with |- context [loop max_fuel _ ?b _ 0] =>
    pose proof (host_runs_loop b e tr m s ipa n N (unshare_done c e (Isolation.vm_s2 m) ipa) Hl Ht Hpl Hhost Hvr
      (Happ _ m Hnth Hlive) Hgood ltac:(lia) Hial ltac:(lia) ltac:(lia) Hram Hin Hruns EN)
      as (kf & Sf & tf & Hj & Hstf & Hdone) end.
  - exact (host_done_start _ _ c e _ ipa Hhb).
  - intros k S t pa cnt ((qq & ps & -> & Hps) & HrS & HB & HL & Htf) (HwbS & HpgS & Hhs2S & HoS & HlvS) Hk Hrun Hpa Hlo Hhi Hle Hnr.
    set (S := Isolation.set_Engine_pool qq (Isolation.set_Engine_pages ps e)) in *.
    pose proof Hrun as (Hc1 & _).
    pose proof HrS as (((HokS & _) & _) & _).
    pose proof Hpl as (Hpal & Hpbelow). pose proof (step_ledger_ok e qq ps Hl Hps) as HlS.
    unfold CodeMemState.ram_base, CodeMemState.ram_size in Hlo, Hhi, Hram.
    (* The unmap from the host stage-2. *)
    assert (Hs2h : s2_ok S (Isolation.Engine_host e)) by (right; exact (l1_inv_tree S _ (root_inv_l1 S _ HrS))).
    assert (Hgh : good host_place S (Isolation.Engine_host e)) by exact (host_place_good S).
    pose proof (unmapNeed_ok S t host_place (Isolation.Engine_host e) pa cnt HokS Hs2h Hgh ltac:(lia) ltac:(lia) ltac:(lia))
      as (K & HK).
    pose proof (unmapNeed_le_run S t host_place _ pa cnt K Hgh HrS ltac:(lia) Hc1 ltac:(lia) HK) as HKle.
    pose proof (unmapRange_walk_range S t host_place (Isolation.Engine_host e) pa cnt K Hgh HrS HwbS
      ltac:(rewrite HB; exact Hpal) ltac:(rewrite HB, HL; exact Hpbelow)
      ltac:(lia) ltac:(lia) ltac:(lia) Hpa HK ltac:(lia))
      as (S1 & t1 & Hur & HrS1 & HB1 & HL1 & Hcf1 & Htf1 & Hwb1 & Hw1).
    destruct (unmapRange_nb S t host_place (Isolation.Engine_host e) pa cnt K Hgh HrS
      ltac:(rewrite HB; exact Hpal) ltac:(rewrite HB, HL; exact Hpbelow)
      ltac:(lia) ltac:(lia) ltac:(lia) Hpa HK ltac:(lia)) as (S1' & t1' & Hur' & Hnb).
    rewrite Hur in Hur'. injection Hur' as <- <-.
    pose proof (unmapRange_pool _ _ _ _ _ _ _ _ Hur) as (q1 & E1).
    assert (HlS1 : ledger_ok S1) by (rewrite E1; exact HlS).
    (* The ledger commit. *)
    pose proof (run_fits e S1 pa cnt Hl ltac:(rewrite E1; reflexivity) ltac:(rewrite E1; exact Hps) Hpa Hlo Hhi Hc1)
      as (F1 & F2 & F3 & F4).
    pose proof (setShared_pages S1 t1 pa cnt false Isolation.HostVMID F1 F2 Hc1 F3 F4) as (ps1 & Hss & Hps1 & _).
    pose proof (setShared_abs c S1 t1 pa cnt false Isolation.HostVMID HlS1 ltac:(rewrite E1; exact (proj1 Hcfg)) ltac:(lia) Hpa Hc1
      ltac:(rewrite E1; cbn; lia) ltac:(rewrite E1; cbn; lia)) as (e2 & Hss' & _ & Ho2 & _ & Habs2).
    rewrite Hss in Hss'. injection Hss' as <-.
    exists (Isolation.set_Engine_pages ps1 S1), t1. split.
    { cbv beta. CodeShadow.step_by (pfield_any q Isolation.vm_s2 Isolation.set_vm_s2 e tr s S t Hs).
      CodeShadow.step_by Hnr. CodeShadow.step_by (pfield_host S t). CodeShadow.step_by Hur. CodeShadow.step_by Hss.
      reflexivity. }
    assert (Hpfn : pfn c (Z.to_nat pa) = pfnZ pa) by (apply pfn_pfnZ; [exact G|lia]).
    assert (Hrun_ram : forall p, in_range p (pfnZ pa) (Z.to_nat cnt) = true -> in_ram c p = true)
      by (intros p; apply (in_range_ram c e pa cnt p (proj1 Hcfg) ltac:(lia) Hc1); unfold CodeMemState.ram_base, CodeMemState.ram_size; lia).
    pose proof (unshared_page_run e (Isolation.vm_s2 m) ipa n k pa cnt) as Hstep.
    pose proof HrS1 as (((HokS1 & _) & _) & _).
    assert (Hs2h1 : s2_ok S1 (Isolation.Engine_host e)) by (right; exact (l1_inv_tree S1 _ (root_inv_l1 S1 _ HrS1))).
    (* The abstraction of S1, after the unmap: the ledger as in S, the host's stage-2 without the run. *)
    assert (Hpg1 : forall p, abs_pages c S1 p = abs_pages c S p) by (intros p; rewrite E1; reflexivity).
    assert (Hhs1 : forall p, abs_hs2 c S1 p = if in_range p (pfn c (Z.to_nat pa)) (Z.to_nat cnt) then false else abs_hs2 c S p).
    { intros p. rewrite (hs2_range c S S1 pa cnt (fun _ => None) ltac:(exact Hcfg) ltac:(split; [exact HlS|exact Hram])
        ltac:(lia) ltac:(lia) Hpa ltac:(rewrite E1; reflexivity) Hw1 p).
      rewrite andb_false_r. reflexivity. }
    rewrite E1 in *. split; [split|].
    { exists q1, ps1. split.
      - unfold S. rewrite set_pages_pool, set_pages_pool, CodeAbsLedger.set_pages_twice, set_pool_twice. reflexivity.
      - rewrite Hps1. cbn. exact Hps. }
    { split; [exact HrS1|]. split; [exact (eq_trans HB1 HB)|]. split; [exact (eq_trans HL1 HL)|].
      exact (tree_frame_trans e S _ _ Htf Htf1). }
    split; [exact Htf1|]. split.
    { change (count_free (Isolation.Engine_pool (Isolation.set_Engine_pages ps1 (Isolation.set_Engine_pool q1 S)))) with
        (count_free (Isolation.Engine_pool (Isolation.set_Engine_pool q1 S))). lia. }
    split; [|split; [|split; [|split]]].
    + exact (walk_below_same_pool (Isolation.set_Engine_pool q1 S) (Isolation.set_Engine_pages ps1 (Isolation.set_Engine_pool q1 S)) _
        HokS1 Hs2h1 eq_refl Hwb1).
    + intros p. rewrite Habs2, Hpg1, Hpfn, (Hstep p ltac:(lia) Hial ltac:(lia) ltac:(lia) ltac:(lia) Hrun), HpgS.
      destruct (in_range p (pfnZ pa) (Z.to_nat cnt)) eqn:R.
      * rewrite (Hrun_ram p R), orb_true_r. cbn [andb].
        destruct (unshared_page _ _ _ _ p); reflexivity.
      * rewrite orb_false_r. reflexivity.
    + intros p. rewrite (abs_hs2_pages c _ ps1 HokS1 Hs2h1 p), Hhs1, Hpfn,
        (Hstep p ltac:(lia) Hial ltac:(lia) ltac:(lia) ltac:(lia) Hrun).
      destruct (in_range p (pfnZ pa) (Z.to_nat cnt)) eqn:R.
      * rewrite (Hrun_ram p R), orb_true_r. reflexivity.
      * rewrite orb_false_r. apply Hhs2S.
    + intros Ho0. exact (Ho2 (HoS Ho0)).
    + exact (run_level c e _ ipa n k pa cnt S _ (proj1 Hcfg) Hram ltac:(lia) Hial ltac:(lia) ltac:(lia) Hpa ltac:(lia)
        ltac:(unfold Abi.GuestMaxPages in Hg; pose proof Hrun as (_ & ? & _); lia) Hrun HlvS Hnb).
  - CodeShadow.step_by Hj. eexists _, Sf, tf. split; [reflexivity|]. split; [intros E; contradiction E; reflexivity|].
    intros _. split; [exact (guest_range_passes c ipa n G Hipl Hipa Hn (proj1 Hbs eq_refl) Hg)|].
    split.
    { apply (range_passes c e tr s m ipa n id true Isolation.HostVMID (is_vm_shared_host (Z.to_nat id)) Hc
        (nth_error_In _ _ Hnth) Hlive Hgs ltac:(lia) Hial ltac:(lia) ltac:(lia)); [|exact Hpass].
      intros pg Hp'. apply passes_vm_shared_host; [lia|exact Hp']. }
    split; [exact Hial|]. split; [lia|]. split; [exact Hin|]. split; [exact Hstf|exact Hdone].
Qed.

(** So GUEST_SHARE and GUEST_UNSHARE never reach a failure outcome, and
    an error changes nothing. *)
Definition guest_no_failure (call : Z -> Z -> Z -> M Isolation.Engine Abi.Status) : Prop :=
  forall c e tr id ipa n m,
  create_inv c e -> walk_inv e -> reclaim_ok e ->
  1 <= id < 2 ^ 16 -> nth_error (Isolation.Engine_vms e) (Z.to_nat (id - 1)) = Some m -> Isolation.vm_live m = true ->
  0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 ->
  exists st e' tr', call id ipa n e tr = Ok st e' tr' /\ (st <> Abi.Success -> e' = e).

Lemma effect_no_failure : forall call P done, host_effect call P done -> guest_no_failure call.
Proof.
  intros call P done H c e tr id ipa n m Hc Hwi Hrok Hid Hnth Hlive Hipa Hn.
  pose proof (H c e tr id ipa n m Hc Hwi Hrok Hid Hnth Hlive Hipa Hn) as (st & e' & tr' & Hcall & Herr & _).
  exists st, e', tr'. split; [exact Hcall|exact Herr].
Qed.

Theorem GuestShare_no_failure : guest_no_failure (Isolation.Engine_GuestShare root).
Proof. exact (effect_no_failure _ _ _ GuestShare_effect). Qed.

Theorem GuestUnshare_no_failure : guest_no_failure (Isolation.Engine_GuestUnshare root).
Proof. exact (effect_no_failure _ _ _ GuestUnshare_effect). Qed.

(** ** GUEST_SHARE and GUEST_UNSHARE against the model *)

(** A [host_step] from an engine with [mem_inv] leaves every live VM's
    walk as it was: the VMs' trees share no table with the host's. *)
Lemma host_step_walks : forall e e', mem_inv e -> host_step e e' ->
  forall mv k, In mv (Isolation.Engine_vms e) -> Isolation.vm_live mv = true ->
    walk e' (Isolation.vm_s2 mv) k = walk e (Isolation.vm_s2 mv) k.
Proof.
  intros e e' Hi (_ & Hr' & HB & HL & Htf).
  exact (host_frame_walks e e' Hi (proj1 (proj1 (root_inv_l1 e' _ Hr'))) HB HL Htf).
Qed.

(** A range mapped to RAM has each IPA page of it mapped. *)
Lemma in_ram_range_walk : forall e s2 ipa n, 0 <= ipa -> ipa mod 4096 = 0 -> in_ram_range e s2 ipa n ->
  forall i, (i < Z.to_nat n)%nat -> exists pa w, walk e s2 (Z.to_nat (ipa / 4096) + i) = Some (pa, w).
Proof.
  intros e s2 ipa n Hipa Hal Hin i Hi. pose proof (Hin (Z.of_nat i) ltac:(lia)) as (x & Hx & _).
  unfold wpa in Hx. rewrite Z.div_add, Z2Nat.inj_add, Nat2Z.id in Hx by (try apply Z.div_pos; lia).
  destruct (walk e s2 _) as [[pa w]|] eqn:Hw; [|discriminate Hx]. eauto.
Qed.

(** ... and, on an engine with its tables and ledger in shape, to a page
    of RAM. *)
Lemma in_ram_range_pages : forall e s2 ipa n, tables_ok e -> s2_ok e s2 -> ledger_ok e ->
  0 <= ipa -> ipa mod 4096 = 0 -> in_ram_range e s2 ipa n ->
  forall i, (i < Z.to_nat n)%nat -> exists pa w, walk e s2 (Z.to_nat (ipa / 4096) + i) = Some (pa, w) /\
    CodeMemState.ram_base e <= pa < CodeMemState.ram_base e + CodeMemState.ram_size e.
Proof.
  intros e s2 ipa n Hok Hs2 (Hb & Hs & Hbs & _) Hipa Hal Hin i Hi.
  pose proof (Hin (Z.of_nat i) ltac:(lia)) as (x & Hx & Hlo & Hhi).
  pose proof (wpa_walk_pa e s2 ipa (Z.of_nat i) x Hipa Hal ltac:(lia) Hx) as Hwp. rewrite Nat2Z.id in Hwp.
  pose proof (in_ram_range_walk e s2 ipa n Hipa Hal Hin i Hi) as (pa & w & Hw).
  unfold walk_pa in Hwp. rewrite Hw in Hwp. subst x. exists pa, w. split; [exact Hw|].
  pose proof (proj2 (walk_aligned e s2 _ pa w Hok Hs2 Hw)) as Hpa.
  unfold CodeMemState.ram_base, CodeMemState.ram_size in *. rewrite wrapu_small in Hhi by lia. lia.
Qed.

(** So [walk_pa] reads a page of RAM at each page of the range. *)
Lemma in_ram_range_walk_pa : forall e s2 ipa n, tables_ok e -> s2_ok e s2 -> ledger_ok e ->
  0 <= ipa -> ipa mod 4096 = 0 -> in_ram_range e s2 ipa n ->
  forall i, (i < Z.to_nat n)%nat -> CodeMemState.ram_base e <= walk_pa e s2 (Z.to_nat (ipa / 4096) + i) <
    CodeMemState.ram_base e + CodeMemState.ram_size e.
Proof.
  intros e s2 ipa n Hok Hs2 Hl Hipa Hal Hin i Hi.
  pose proof (in_ram_range_pages e s2 ipa n Hok Hs2 Hl Hipa Hal Hin i Hi) as (pa & w & Hw & Hr).
  unfold walk_pa. rewrite Hw. exact Hr.
Qed.

Lemma vm_unshared_owner : forall v pg, is_vm_unshared v pg = true -> pg_owner pg = OVM v.
Proof.
  intros v [o sh] H. unfold is_vm_unshared in H. cbn [pg_owner pg_share] in *.
  destruct o; try discriminate H. destruct sh; try discriminate H. apply Nat.eqb_eq in H. subst. reflexivity.
Qed.

Lemma vm_shared_host_owner : forall v pg, is_vm_shared_host v pg = true -> pg_owner pg = OVM v.
Proof.
  intros v [o sh] H. unfold is_vm_shared_host in H. cbn [pg_owner pg_share] in *.
  destruct o; try discriminate H. destruct sh; try discriminate H. apply andb_true_iff in H as [H _].
  apply Nat.eqb_eq in H. subst. reflexivity.
Qed.

(** The model's check of a range passed: each PFN mapped inside it holds. *)
Lemma range_ok_mapped : forall c s2 i0 n (ok : nat -> bool) p, ipa_range_ok c s2 i0 n ok = true ->
  mapped_in c s2 i0 n p = true -> ok p = true.
Proof.
  intros c s2 i0 n ok p H M. unfold ipa_range_ok in H. apply andb_true_iff in H as [_ H].
  pose proof M as M'. unfold mapped_in in M'. apply andb_true_iff in M' as [R _]. unfold in_ram in R.
  apply in_range_spec in R. rewrite all_range_spec in H. specialize (H p R). rewrite M in H. exact H.
Qed.

(** The model's state after GUEST_SHARE or GUEST_UNSHARE: the pages
    the range maps of VM [v] owned by it with share state [sh] and, in the
    host's stage-2, [hs]. *)
Definition host_guest_ms (c : config) (m : mstate) (s2 : nat -> option (nat * nat)) (v i0 n : nat) (sh : share) (hs : bool)
  : mstate :=
  mkMState (fun p => if mapped_in c s2 i0 n p then mkPage (OVM v) sh else ms_pages m p)
           (fun p => if mapped_in c s2 i0 n p then hs else ms_hs2 m p)
           (ms_vms m).

(** A call that passed the model's range check for a predicate [P] that
    holds only of VM [v]'s pages and made a [host_step] giving each RAM
    page the range reaches the share state [sh] in the ledger and [hs]
    in the host's stage-2 leaves the abstraction [host_guest_ms]. *)
Lemma host_guest_abs : forall c e e' id ipa n m (P : nat -> page -> bool) sh hs,
  (forall v pg, P v pg = true -> pg_owner pg = OVM v) ->
  create_inv c e -> mem_inv e -> 1 <= id ->
  nth_error (Isolation.Engine_vms e) (Z.to_nat (id - 1)) = Some m -> Isolation.vm_live m = true ->
  0 <= ipa -> 0 <= n -> ipa mod 4096 = 0 -> ipa + n * 4096 <= 2 ^ 40 -> in_ram_range e (Isolation.vm_s2 m) ipa n ->
  ipa_range_ok c (abs_s2 c e (Isolation.vm_s2 m)) (pfn c (Z.to_nat ipa)) (Z.to_nat n)
    (fun p => P (Z.to_nat id) (ms_pages (abs_ms c e) p)) = true ->
  host_step e e' ->
  (forall p, abs_pages c e' p = if in_ram c p && unshared_page e (Isolation.vm_s2 m) ipa (Z.to_nat n) p
                                then mkPage (pg_owner (abs_pages c e p)) sh else abs_pages c e p) ->
  (forall p, abs_hs2 c e' p = if in_ram c p && unshared_page e (Isolation.vm_s2 m) ipa (Z.to_nat n) p
                              then hs else abs_hs2 c e p) ->
  ms_eq (host_guest_ms c (abs_ms c e) (abs_s2 c e (Isolation.vm_s2 m)) (Z.to_nat id) (pfn c (Z.to_nat ipa)) (Z.to_nat n) sh hs)
    (abs_ms c e').
Proof.
  intros c e e' id ipa n m P sh hs HP Hc Hmi Hid Hnth Hlive Hipa Hn Hial H40 Hin Hir Hst Hpg Hhs.
  pose proof Hc as (_ & _ & Hcfg & _ & _ & _ & Hsane).
  unfold vms_sane in Hsane. rewrite Forall_forall in Hsane. pose proof (Hsane m (nth_error_In _ _ Hnth) Hlive) as Hs.
  pose proof (in_ram_range_walk e _ ipa n Hipa Hial Hin) as Hmp.
  pose proof (mapped_in_unshared c e _ ipa n Hcfg Hs Hipa Hn Hial H40 Hmp) as Hmi'.
  unfold host_guest_ms. split; [|split].
  - intros p. cbn [ms_pages abs_ms]. rewrite Hpg, <- Hmi'.
    destruct (mapped_in _ _ _ _ p) eqn:M; [|reflexivity].
    pose proof (HP _ _ (range_ok_mapped c _ _ _ _ p Hir M)) as Ho. cbn [ms_pages abs_ms] in Ho.
    rewrite Ho. reflexivity.
  - intros p. cbn [ms_hs2 abs_ms]. rewrite Hhs, <- Hmi'. reflexivity.
  - intros v. cbn [ms_vms]. apply (abs_slot_same c e e' v).
    + destruct Hst as ((qq & ps & -> & _) & _). reflexivity.
    + intros _ m' Hm' Hl' p. apply abs_s2_same. intros k.
      exact (host_step_walks e e' Hmi Hst m' k (nth_error_In _ _ Hm') Hl').
Qed.

(** What is proved of a guest memory call [call] against the model's
    step [step]: from a live VM, for a 64-bit IPA and count, from
    [create_inv], [walk_inv] and RAM below 2^40, an answer of SUCCESS is
    the model's step from the abstraction before, which succeeds and
    leaves the abstraction after. *)
Definition guest_refines (call : Z -> Z -> Z -> M Isolation.Engine Abi.Status)
    (step : config -> state -> nat -> nat -> nat -> state * output) : Prop :=
  forall c e tr id ipa n m e' tr' mem regs,
  create_inv c e -> walk_inv e -> reclaim_ok e ->
  1 <= id < 2 ^ 16 -> nth_error (Isolation.Engine_vms e) (Z.to_nat (id - 1)) = Some m -> Isolation.vm_live m = true ->
  0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 ->
  call id ipa n e tr = Ok Abi.Success e' tr' ->
  exists s', step c (abs_state c e mem regs) (Z.to_nat id) (Z.to_nat ipa) (Z.to_nat n) = (s', ok0) /\
    ms_eq (st_meta s') (abs_ms c e').

(** And so [Inv] holds after SUCCESS whenever it held before. *)
Definition guest_keeps_Inv (call : Z -> Z -> Z -> M Isolation.Engine Abi.Status) : Prop :=
  forall c e tr id ipa n m e' tr',
  create_inv c e -> walk_inv e -> reclaim_ok e ->
  1 <= id < 2 ^ 16 -> nth_error (Isolation.Engine_vms e) (Z.to_nat (id - 1)) = Some m -> Isolation.vm_live m = true ->
  0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 ->
  call id ipa n e tr = Ok Abi.Success e' tr' ->
  Inv c (abs_ms c e) -> Inv c (abs_ms c e').

Lemma refines_keeps_Inv : forall call step,
  (forall c s v ipa n, Inv c (st_meta s) -> Inv c (st_meta (fst (step c s v ipa n)))) ->
  guest_refines call step -> guest_keeps_Inv call.
Proof.
  intros call step Hinv Hr c e tr id ipa n m e' tr' Hc Hwi Hrok Hid Hnth Hlive Hipa Hn Hrun.
  apply (step_ok_keeps_Inv c e e' (fun _ => 0%nat) (fun _ _ _ => 0%nat)
    (fun s => step c s (Z.to_nat id) (Z.to_nat ipa) (Z.to_nat n))); [intros s; apply Hinv|].
  exact (Hr c e tr id ipa n m e' tr' _ _ Hc Hwi Hrok Hid Hnth Hlive Hipa Hn Hrun).
Qed.

(** The model's GUEST_SHARE and GUEST_UNSHARE: the range checks, then
    [host_guest_ms]. *)
Definition host_guest_step (c : config) (s : state) (v ipa n : nat) (P : nat -> page -> bool) (sh : share) (hs : bool)
  : state * output :=
  let m := st_meta s in
  if negb (guest_range_ok c ipa n) then (s, err INVALID_PARAMETERS) else
  if negb (ipa_range_ok c (s2_of m v) (pfn c ipa) n (fun p => P v (ms_pages m p))) then (s, err DENIED) else
  (mkState (host_guest_ms c m (s2_of m v) v (pfn c ipa) n sh hs) (st_mem s) (st_regs s), ok0).

(** A call taken apart as [host_effect] with [host_done] refines the
    model's step of that shape. *)
Lemma host_refines : forall call P sh hs (step : config -> state -> nat -> nat -> nat -> state * output),
  (forall v pg, P v pg = true -> pg_owner pg = OVM v) ->
  (forall c s v ipa n, step c s v ipa n = host_guest_step c s v ipa n P sh hs) ->
  host_effect call P (host_done sh hs) -> guest_refines call step.
Proof.
  intros call P sh hs step HP Hstep Heff c e tr id ipa n m e' tr' mem regs Hc Hwi Hrok Hid Hnth Hlive Hipa Hn Hrun.
  pose proof (Heff c e tr id ipa n m Hc Hwi Hrok Hid Hnth Hlive Hipa Hn) as (st & e1 & tr1 & Hcall & _ & Hsucc).
  rewrite Hrun in Hcall. injection Hcall as <- <- <-.
  pose proof (Hsucc eq_refl) as (Hgr & Hir & Hial & H40 & Hin & Hst & _ & Hpg & Hhs & _).
  rewrite Hstep. unfold host_guest_step, abs_state. cbv zeta. cbn [st_meta].
  rewrite Hgr. cbn [negb]. rewrite (s2_of_slot c e id m ltac:(lia) Hnth Hlive), Hir. cbn [negb].
  eexists. split; [reflexivity|].
  exact (host_guest_abs c e e' id ipa n m P sh hs HP Hc (proj1 (proj1 Hwi)) ltac:(lia)
    Hnth Hlive ltac:(lia) ltac:(lia) Hial H40 Hin Hir Hst Hpg Hhs).
Qed.

(** GUEST_SHARE answering SUCCESS refines the model's step whole: each
    page the range maps the VM's shared with the host, mapped in the
    host's stage-2, every VM slot as it was; and keeps [Inv]
    ([Invariants.guest_share_inv] as a theorem about [Engine.GuestShare]). *)
Theorem GuestShare_refines : guest_refines (Isolation.Engine_GuestShare root) guest_share.
Proof. exact (host_refines _ _ _ _ guest_share vm_unshared_owner (fun _ _ _ _ _ => eq_refl) GuestShare_effect). Qed.

Corollary GuestShare_keeps_Inv : guest_keeps_Inv (Isolation.Engine_GuestShare root).
Proof. exact (refines_keeps_Inv _ _ Invariants.guest_share_inv GuestShare_refines). Qed.

(** GUEST_UNSHARE likewise: each page the range maps the VM's, not
    shared, gone from the host's stage-2. *)
Theorem GuestUnshare_refines : guest_refines (Isolation.Engine_GuestUnshare root) guest_unshare.
Proof. exact (host_refines _ _ _ _ guest_unshare vm_shared_host_owner (fun _ _ _ _ _ => eq_refl) GuestUnshare_effect). Qed.

Corollary GuestUnshare_keeps_Inv : guest_keeps_Inv (Isolation.Engine_GuestUnshare root).
Proof. exact (refines_keeps_Inv _ _ Invariants.guest_unshare_inv GuestUnshare_refines). Qed.

(** ** GUEST_SHARE and GUEST_UNSHARE keep [walk_inv] *)

(** A [host_step] keeps [mem_inv]: the live VMs' trees are kept and the
    host's grows only by tables no VM holds (CodeOwns). *)
Lemma host_step_keeps_mem_inv : forall e e', mem_inv e -> host_step e e' -> mem_inv e'.
Proof.
  intros e e' (Hm & Ho & Hd) ((q & ps & Ee & Hps) & Hr & HB & HL & Htf).
  apply (mem_inv_after e e' Hm Hd); [exact (host_update_keeps_owned e e' q ps Ho Ee Hr HB HL Htf)|rewrite Ee..];
    [reflexivity|reflexivity|exact Hps].
Qed.

(** A [host_step] whose host walk stays below 2^48 keeps [walk_inv]: the
    VM slots and so the shadow state are as they were, and so is every
    live VM's walk. *)
Lemma host_step_keeps_walk_inv : forall e e', walk_inv e -> host_step e e' ->
  walk_below e' (Isolation.Engine_host e) -> walk_inv e'.
Proof.
  intros e e' ((Hmi & Hsh) & (_ & Hvb)) Hst Hwb.
  pose proof Hst as ((q & ps & Ee & _) & _).
  split; [split|split].
  - exact (host_step_keeps_mem_inv e e' Hmi Hst).
  - rewrite Ee. exact Hsh.
  - rewrite Ee in Hwb |- *. exact Hwb.
  - intros i m' Hnth Hl k p w Hk Hw. rewrite Ee in Hnth. cbn in Hnth.
    rewrite (host_step_walks e e' Hmi Hst m' k (nth_error_In _ _ Hnth) Hl) in Hw.
    exact (Hvb i m' Hnth Hl k p w Hk Hw).
Qed.

(** Every outcome of a call taken apart as [host_effect] with [host_done]
    keeps [walk_inv]. *)
Definition guest_keeps_walk_inv (call : Z -> Z -> Z -> M Isolation.Engine Abi.Status) : Prop :=
  forall c e tr id ipa n m st e' tr',
  create_inv c e -> walk_inv e -> reclaim_ok e ->
  1 <= id < 2 ^ 16 -> nth_error (Isolation.Engine_vms e) (Z.to_nat (id - 1)) = Some m -> Isolation.vm_live m = true ->
  0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 ->
  call id ipa n e tr = Ok st e' tr' -> walk_inv e'.

Lemma effect_keeps_walk_inv : forall call P sh hs, host_effect call P (host_done sh hs) -> guest_keeps_walk_inv call.
Proof.
  intros call P sh hs Heff c e tr id ipa n m st e' tr' Hc Hwi Hrok Hid Hnth Hlive Hipa Hn Hrun.
  pose proof (Heff c e tr id ipa n m Hc Hwi Hrok Hid Hnth Hlive Hipa Hn) as (st1 & e1 & tr1 & Hcall & Herr & Hsucc).
  rewrite Hrun in Hcall. injection Hcall as <- <- <-.
  destruct (Z.eq_dec st Abi.Success) as [->|Ne]; [|rewrite (Herr Ne); exact Hwi].
  pose proof (Hsucc eq_refl) as (_ & _ & _ & _ & _ & Hst & Hwb & _).
  exact (host_step_keeps_walk_inv e e' Hwi Hst Hwb).
Qed.

Theorem GuestShare_keeps_walk_inv : guest_keeps_walk_inv (Isolation.Engine_GuestShare root).
Proof. exact (effect_keeps_walk_inv _ _ _ _ GuestShare_effect). Qed.

Theorem GuestUnshare_keeps_walk_inv : guest_keeps_walk_inv (Isolation.Engine_GuestUnshare root).
Proof. exact (effect_keeps_walk_inv _ _ _ _ GuestUnshare_effect). Qed.

(** ** GUEST_RELINQUISH *)

(** The ledger after entries set to [pg0] run by run, in the model: each
    RAM page the range reaches [abs_page pg0], every other as it was. *)
Lemma run_abs_pages : forall c e e' s2 ipa n pg0, cfg_rel c e ->
  (forall i, (i < n)%nat -> CodeMemState.ram_base e <= walk_pa e s2 (Z.to_nat (ipa / 4096) + i) <
                           CodeMemState.ram_base e + CodeMemState.ram_size e) ->
  (forall j, nth j (Isolation.Engine_pages e') Isolation.zero_page = run_ledger pg0 e s2 ipa n j) ->
  forall p, abs_pages c e' p = if in_ram c p && unshared_page e s2 ipa n p then abs_page pg0 else abs_pages c e p.
Proof.
  intros c e e' s2 ipa n pg0 Hcfg Hram Hled p. unfold abs_pages. destruct (in_ram c p) eqn:R; cbn [andb]; [|reflexivity].
  rewrite Hled. unfold run_ledger, unshared_page.
  rewrite (existsb_pointwise _ (fun i => Nat.eqb (pfnZ (walk_pa e s2 (Z.to_nat (ipa / 4096) + i))) p)).
  - destruct (existsb _ _); reflexivity.
  - intros i Hi. apply in_seq in Hi. exact (index_pfn c e _ p Hcfg (Hram i ltac:(lia)) R).
Qed.

(** GUEST_RELINQUISH answering SUCCESS, from [create_inv], [walk_inv] and
    RAM below 2^40, refines the model's step whole: each page the range
    maps owned by nobody, the VM's stage-2 without the range, the host's
    stage-2 and every other VM slot as they were. *)
Theorem GuestRelinquish_refines : guest_refines (Isolation.Engine_GuestRelinquish root) guest_relinquish.
Proof.
  unfold guest_refines. intros c e tr id ipa n m e' tr' mem regs Hc Hwi Hrok Hid Hnth Hlive Hipa Hn Hrun.
  pose proof Hwi as ((Hmi & _) & (Hhb & Hvb)). pose proof Hmi as (Hm & Hown & _).
  pose proof Hown as (Hp & Hpl & _ & _ & _).
  pose proof Hc as (_ & _ & Hcfg & _ & _ & _ & Hsane). pose proof Hcfg as ((G & _) & _ & Hipl).
  pose proof (GuestRelinquish_no_failure e tr id ipa n m Hm Hpl (s2_owned_roots e Hown) (Hvb _ m Hnth Hlive) (proj2 Hrok)
    Hid Hnth Hlive Hipa Hn) as (st & e1 & tr1 & Hcall & _ & Hsucc & _).
  rewrite Hrun in Hcall. injection Hcall as <- <- <-.
  pose proof (Hsucc eq_refl) as (Hst & (Hw & Hlg) & Hbs & Hg & Hin & s & Hgs & Hpass).
  pose proof Hbs as (_ & Hial & _ & _ & H40). unfold Isolation.ipaLimit in H40.
  unfold vms_sane in Hsane. rewrite Forall_forall in Hsane. pose proof (Hsane m (nth_error_In _ _ Hnth) Hlive) as Hs.
  pose proof (in_ram_range_walk e _ ipa n ltac:(lia) Hial Hin) as Hmp.
  pose proof (mapped_in_unshared c e _ ipa n Hcfg Hs ltac:(lia) ltac:(lia) Hial ltac:(lia) Hmp) as Hmi'.
  pose proof Hst as ((qq & ps & Ee & _) & _ & HB & HL & Htf & _).
  pose proof Hst as (_ & Hr' & _). pose proof (root_inv_l1 e' _ Hr') as ((Ht' & _) & _).
  pose proof (one_vm_walks_apart e (Isolation.Engine_pages e) e' _ m Hown Hnth Hlive Ht' HB HL Htf) as (Hhw & Hother).
  unfold guest_relinquish, abs_state. cbv zeta. cbn [st_meta].
  rewrite (guest_range_passes c ipa n G Hipl Hipa Hn Hbs Hg). cbn [negb].
  rewrite (s2_of_slot c e id m ltac:(lia) Hnth Hlive).
  rewrite (range_passes c e tr s m ipa n id false 0 (is_vm_unshared (Z.to_nat id)) Hc (nth_error_In _ _ Hnth) Hlive Hgs
    ltac:(lia) Hial ltac:(lia) ltac:(lia) ltac:(intros pg Hp'; apply passes_vm_unshared; [lia|exact Hp']) Hpass).
  cbn [negb]. eexists. split; [reflexivity|]. split; [|split].
  - intros p. cbn [st_meta ms_pages abs_ms].
    pose proof Hm as (_ & _ & _ & _ & Hte & Hall). rewrite Forall_forall in Hall.
    pose proof (in_ram_range_walk_pa e _ ipa n Hte (Hall m (nth_error_In _ _ Hnth)) (proj1 Hrok) ltac:(lia) Hial Hin) as Hram.
    rewrite (run_abs_pages c e e' _ ipa (Z.to_nat n) gone_page (proj1 Hcfg) Hram Hlg p), <- Hmi'.
    destruct (mapped_in _ _ _ _ p); reflexivity.
  - intros p. cbn [st_meta ms_hs2 abs_ms]. unfold abs_hs2. rewrite Ee. cbn [Isolation.Engine_host Isolation.set_Engine_pool Isolation.set_Engine_pages].
    rewrite <- Ee, Hhw. reflexivity.
  - intros v. cbn [st_meta ms_vms].
    apply (vms_lend_eq c e e' id m _ ltac:(lia) Hnth Hlive ltac:(rewrite Ee; reflexivity)).
    + intros p. exact (vm_s2_unmap c e e' _ ipa n Hcfg Hs ltac:(lia) ltac:(lia) Hial Hw p).
    + intros j m2 Hj Hnth2 Hl2 p. apply abs_s2_same. exact (Hother j m2 Hj Hnth2 Hl2).
Qed.

(** So [Inv] holds after a GUEST_RELINQUISH answering SUCCESS whenever it
    held before ([Invariants.guest_relinquish_inv] as a theorem about
    [Engine.GuestRelinquish]). *)
Corollary GuestRelinquish_keeps_Inv : guest_keeps_Inv (Isolation.Engine_GuestRelinquish root).
Proof. exact (refines_keeps_Inv _ _ Invariants.guest_relinquish_inv GuestRelinquish_refines). Qed.

(** An update of VM slot [i]'s stage-2 alone that leaves its walk below
    2^48 ([vm_step]) keeps [walk_inv]: the VM's tree stays its own
    (CodeOwns.one_tree_keeps_owned), and the host's and the other VMs'
    walks are as they were. *)
Lemma vm_step_keeps_walk_inv : forall e e' i m, walk_inv e ->
  nth_error (Isolation.Engine_vms e) i = Some m -> Isolation.vm_live m = true ->
  vm_step e (Isolation.vm_s2 m) e' -> walk_inv e'.
Proof.
  intros e e' i m (((Hm & Ho & Hd) & Hsh) & (Hhb & Hvb)) Hnth Hlive ((q & ps & Ee & Hps) & Hr' & HB & HL & Htf & Hwb').
  pose proof (root_inv_l1 e' _ Hr') as ((Ht' & _) & _).
  assert (Ev : Isolation.Engine_vms e' = Isolation.Engine_vms e) by (rewrite Ee; reflexivity).
  assert (Eh : Isolation.Engine_host e' = Isolation.Engine_host e) by (rewrite Ee; reflexivity).
  pose proof (one_vm_walks_apart e (Isolation.Engine_pages e) e' i m Ho Hnth Hlive Ht' HB HL Htf) as (Hhw & Hother).
  split; [split|split].
  - apply (mem_inv_after e e' Hm Hd); [exact (one_tree_keeps_owned e e' i m Ho Hnth Hlive Ev Eh Hr' HB HL Htf)|rewrite Ee..];
      [reflexivity|reflexivity|exact Hps].
  - rewrite Ee. exact Hsh.
  - rewrite Eh. intros k p w Hk Hw. rewrite Hhw in Hw. exact (Hhb k p w Hk Hw).
  - intros j m' Hnth' Hl' k p w Hk Hw. rewrite Ev in Hnth'.
    destruct (Nat.eq_dec j i) as [->|Hj].
    + rewrite Hnth in Hnth'. injection Hnth' as <-. exact (Hwb' k p w Hk Hw).
    + rewrite (Hother j m' Hj Hnth' Hl' k) in Hw. exact (Hvb j m' Hnth' Hl' k p w Hk Hw).
Qed.

(** So every outcome of GUEST_RELINQUISH keeps [walk_inv]. *)
Theorem GuestRelinquish_keeps_walk_inv : guest_keeps_walk_inv (Isolation.Engine_GuestRelinquish root).
Proof.
  intros c e tr id ipa n m st e' tr' Hc Hwi Hrok Hid Hnth Hlive Hipa Hn Hrun.
  pose proof Hwi as (((Hm & Ho & _) & _) & (_ & Hvb)). pose proof Ho as (_ & Hpl & _).
  pose proof (GuestRelinquish_no_failure e tr id ipa n m Hm Hpl (s2_owned_roots e Ho) (Hvb _ m Hnth Hlive) (proj2 Hrok)
    Hid Hnth Hlive Hipa Hn) as (st1 & e1 & tr1 & Hcall & Herr & Hsucc & _).
  rewrite Hrun in Hcall. injection Hcall as <- <- <-.
  destruct (Z.eq_dec st Abi.Success) as [->|Ne]; [|rewrite (Herr Ne); exact Hwi].
  pose proof (Hsucc eq_refl) as (Hst & _).
  exact (vm_step_keeps_walk_inv e e' _ m Hwi Hnth Hlive Hst).
Qed.
