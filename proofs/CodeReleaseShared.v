(** * VM_DESTROY's ledger pass with pages shared with the host

    Lemmas about proofs/code/Isolation.v, the translation of
    isolation/vm.go. CodeRelease.v proves [releasePages] when the VM
    shares no page with the host; here the general case, where each run
    of the VM's pages shared with the host leaves the host stage-2 through
    [unmapRange] after the check that [unmapNeed] is at most the free
    tables, which panics otherwise. The check passes when the host's walk
    of every such page ends at level 3 or nowhere ([lv3_at], CodeLevel):
    [unmapNeed] is then 0 ([unmapNeed_nb_zero]), and each [unmapRange]
    keeps that of the pages after the run ([unmapRange_nb]).
    Proved here:
    - [releasePages] never fails then; it leaves every ledger entry as
      [release_page] makes it, changes nothing else but the table pool,
      keeps the host's [root_inv] and [walk_below], the tables outside
      the host's tree and the level of the host's walk of every other
      page, and afterwards the host's walk maps none of the VM's pages
      shared with the host and every other page as before
      ([releasePages_shared], [host_after]);
    - so VM_DESTROY never fails for a live VM whose stage-2 lies apart
      from the host's ([apart_at]) and whose pages shared with the host
      the host walks at level 3 ([lv3_shared_at]): it answers SUCCESS
      having released the ledger, unmapped those pages from the host and
      [destroyed] the slot as [VMDestroy_unshared_cases] does, or leaves
      the engine as it was with an error ([VMDestroy_shared_cases]).
 *)
From Coq Require Import ZArith Lia List Bool String.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodeVMCreateRefine.
From Bulkhead.Proofs Require CodeAbs.
From Bulkhead.Proofs Require Import CodePlace CodeLens CodeLoop CodeVMCreate CodeStage2 CodePool CodeFree CodeUpdate
  CodeUpdateRoot CodeUpdateRange CodeUpdateRootRange CodeTransfer CodeMemNoFailure CodeDonate CodeLedgerRefine
  CodeTrack CodeShadow CodeLedger CodeRelease CodeWalkUpdate CodeWalkRange CodeLevel CodeWalkCalls
  CodeVMDestroy CodeOwns.
Import ListNotations.
Open Scope Z_scope.

(** [shared_to_host], as a test. *)
Definition sharedb (id : Z) (p : Isolation.page) : bool :=
  (Isolation.page_owner p =? Abi.OwnerVM) && (Isolation.page_vm p =? id) &&
  (Isolation.page_shared p && (Isolation.page_borrower p =? Isolation.HostVMID)).

Lemma sharedb_spec : forall id p, sharedb id p = true <-> shared_to_host id p.
Proof.
  intros id p. unfold sharedb, shared_to_host. rewrite !andb_true_iff, !Z.eqb_eq. tauto.
Qed.

Definition none_page : Isolation.page := Isolation.mk_page Abi.OwnerNone 0 false 0.

Lemma release_sharedb : forall id p, sharedb id p = true -> release_page id p = none_page.
Proof.
  intros id p H. unfold sharedb in H. rewrite !andb_true_iff in H. destruct H as ((Ho & Hv) & _).
  unfold release_page. rewrite Ho, Hv. reflexivity.
Qed.

(** The host's IPA page [k] held a page of the ledger [P] below entry
    [i] that VM [id] shared with the host; [b] is the first page of RAM. *)
Definition gone (id : Z) (P : list Isolation.page) (b : Z) (i : nat) (k : nat) : bool :=
  (b <=? Z.of_nat k) && (Z.of_nat k <? b + Z.of_nat i) &&
  sharedb id (nth (Z.to_nat (Z.of_nat k - b)) P Isolation.zero_page).

Lemma gone_zero : forall id P b k, gone id P b 0 k = false.
Proof.
  intros id P b k. unfold gone. destruct (Z.leb_spec b (Z.of_nat k)), (Z.ltb_spec (Z.of_nat k) (b + Z.of_nat 0));
    cbn [andb]; try reflexivity; lia.
Qed.

(** Past an entry the VM does not share with the host, as before. *)
Lemma gone_next : forall id P b i k, 0 <= b -> sharedb id (nth i P Isolation.zero_page) = false ->
  gone id P b (S i) k = gone id P b i k.
Proof.
  intros id P b i k Hb Hs. unfold gone.
  destruct (Z.leb_spec b (Z.of_nat k)), (Z.ltb_spec (Z.of_nat k) (b + Z.of_nat (S i))),
    (Z.ltb_spec (Z.of_nat k) (b + Z.of_nat i)); cbn [andb]; try reflexivity; try lia.
  replace (Z.to_nat (Z.of_nat k - b)) with i by lia. rewrite Hs. reflexivity.
Qed.

(** Past a run of entries from [i] to [j] that the VM shares with the
    host, the run's pages are gone too. *)
Lemma gone_run : forall id P b i j k, 0 <= b -> (i <= j)%nat ->
  (forall x, (i <= x < j)%nat -> sharedb id (nth x P Isolation.zero_page) = true) ->
  gone id P b j k = (b + Z.of_nat i <=? Z.of_nat k) && (Z.of_nat k <? b + Z.of_nat j) || gone id P b i k.
Proof.
  intros id P b i j k Hb Hij Hs. unfold gone.
  destruct (Z.leb_spec b (Z.of_nat k)), (Z.ltb_spec (Z.of_nat k) (b + Z.of_nat j)),
    (Z.ltb_spec (Z.of_nat k) (b + Z.of_nat i)), (Z.leb_spec (b + Z.of_nat i) (Z.of_nat k)); cbn [andb orb];
    try reflexivity; try lia; try (rewrite Hs by lia; reflexivity); destruct (sharedb _ _); reflexivity.
Qed.

Lemma set_pool_pages : forall q ps (e : Isolation.Engine),
  Isolation.set_Engine_pool q (Isolation.set_Engine_pages ps e) = Isolation.set_Engine_pages ps (Isolation.set_Engine_pool q e).
Proof. intros q ps []. reflexivity. Qed.

Lemma set_pool_twice : forall q q' (e : Isolation.Engine),
  Isolation.set_Engine_pool q' (Isolation.set_Engine_pool q e) = Isolation.set_Engine_pool q' e.
Proof. intros q q' []. reflexivity. Qed.

Lemma set_pool_same : forall (e : Isolation.Engine), Isolation.set_Engine_pool (Isolation.Engine_pool e) e = e.
Proof. intros []. reflexivity. Qed.

(** What [releasePages] keeps of the host once the pool is [X]'s: the
    host's stage-2 a tree with [root_inv] and [walk_below], the tables
    outside it as in [e], the host's walk of each page that ended at
    level 3 or nowhere still so unless it is one of the VM's pages shared
    with the host below entry [i], and the host's walk without those
    pages. *)
Definition host_after (e X : Isolation.Engine) (id : Z) (i : nat) : Prop :=
  let P := Isolation.Engine_pages e in
  let b := Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e)) / 4096 in
  let h := Isolation.Engine_host e in
  root_inv X (Isolation.stage2_root h) /\ pool_base X = pool_base e /\ len (tables X) = len (tables e) /\
  tree_frame e X (Isolation.stage2_root h) /\ walk_below X h /\
  (forall j, (j < List.length P)%nat -> (i <= j)%nat \/ sharedb id (nth j P Isolation.zero_page) = false ->
     lv3_at e h (Z.to_nat b + j) -> lv3_at X h (Z.to_nat b + j)) /\
  (forall k, Z.of_nat k * 4096 < 2 ^ 40 ->
     CodeAbs.walk X h k = if gone id P b i k then None else CodeAbs.walk e h k).

(** [releasePages]'s loop before entry [i]: the entries below [i]
    released, the others as they were, and the pool some [q] that leaves
    [host_after]. *)
Definition rel_inv (e : Isolation.Engine) (id i : Z) (st : Isolation.Engine) : Prop :=
  let P := Isolation.Engine_pages e in
  0 <= i <= len P /\ exists ps q, st = Isolation.set_Engine_pages ps (Isolation.set_Engine_pool q e) /\
    List.length ps = List.length P /\
    (forall j, (j < Z.to_nat i)%nat -> nth j ps Isolation.zero_page = release_page id (nth j P Isolation.zero_page)) /\
    (forall j, (Z.to_nat i <= j)%nat -> nth j ps Isolation.zero_page = nth j P Isolation.zero_page) /\
    host_after e (Isolation.set_Engine_pool q e) id (Z.to_nat i).

Theorem releasePages_shared : forall e tr id,
  1 <= id < 2 ^ 16 -> ledger_ok e -> len (Isolation.Engine_pages e) < 2 ^ 64 ->
  Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e)) +
    Isolation.Range_Size (Isolation.Config_RAM (Isolation.Engine_cfg e)) <= 2 ^ 40 ->
  root_inv e (Isolation.stage2_root (Isolation.Engine_host e)) -> walk_below e (Isolation.Engine_host e) ->
  pool_base e mod 4096 = 0 -> pool_base e + 4096 * len (tables e) <= 2 ^ 48 ->
  (forall j, (j < List.length (Isolation.Engine_pages e))%nat ->
     sharedb id (nth j (Isolation.Engine_pages e) Isolation.zero_page) = true ->
     lv3_at e (Isolation.Engine_host e)
       (Z.to_nat (Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e)) / 4096) + j)) ->
  exists q tr', Isolation.Engine_releasePages root id e tr =
    Ok tt (Isolation.set_Engine_pages (map (release_page id) (Isolation.Engine_pages e)) (Isolation.set_Engine_pool q e)) tr' /\
    host_after e (Isolation.set_Engine_pool q e) id (List.length (Isolation.Engine_pages e)).
Proof.
  intros e tr id Hid Hled Hlen Hram Hhr Hwb Hal Hbelow Hl3.
  set (P := Isolation.Engine_pages e) in *.
  set (base := Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e))) in *.
  pose proof Hled as (Hb0 & Hs0 & Hbs & Hbal & Hlp). fold base in Hb0, Hs0, Hbs, Hbal. fold P in Hlp.
  assert (Hl0 : 0 <= len P) by (unfold len; lia).
  assert (Hid0 : id <> Isolation.HostVMID) by (unfold Isolation.HostVMID; lia).
  unfold Isolation.Engine_releasePages. step_by (deref_root e tr). fold P.
  rewrite wrapu_small by lia.
  destruct (pfield_lens root _ _ _ Isolation.Engine_pages Isolation.set_Engine_pages lens_root ltac:(field_laws))
    as (qps & Hqps & Lps).
  match goal with |- context [loop max_fuel ?c ?b ?po 0] =>
  destruct (loop_spec max_fuel c b po
    (fun i st _ => rel_inv e id i st)
    (fun j st _ => exists ps q, st = Isolation.set_Engine_pages ps (Isolation.set_Engine_pool q e) /\ List.length ps = List.length P /\
       (forall j, (j < List.length P)%nat -> nth j ps Isolation.zero_page = release_page id (nth j P Isolation.zero_page)) /\
       host_after e (Isolation.set_Engine_pool q e) id (List.length P))
    (fun i => Z.to_nat (len P - i))) with (l := 0) (s := e) (tr := tr) as (j & s' & tr' & Hj & ps & q & -> & Hpl & Hps & Hh) end.
  - intros i st tr' (Hi & ps & q & -> & Hpl & Hlo & Hhi & Hh). fold P in Hi, Hpl, Hlo, Hhi. exists (i <? len P). split; [reflexivity|]. split.
    + intros H. apply Z.ltb_lt in H. lia.
    + intros H. apply Z.ltb_ge in H. exists ps, q. split; [reflexivity|]. split; [exact Hpl|]. split.
      * intros j Hj. apply Hlo. unfold len in *. lia.
      * assert (E : Z.to_nat i = List.length P) by (unfold len in *; lia). rewrite <- E. exact Hh.
  - intros i st tr1 (Hi & ps & q & -> & Hpl & Hlo & Hhi & Hh) Hc. fold P in Hi, Hpl, Hlo, Hhi.
    injection Hc as Hc. apply Z.ltb_lt in Hc.
    set (X := Isolation.set_Engine_pool q e) in *.
    set (st := Isolation.set_Engine_pages ps X).
    assert (Hin : (Z.to_nat i < List.length P)%nat) by (unfold len in *; lia).
    set (pg := nth (Z.to_nat i) P Isolation.zero_page).
    assert (Hpg : nth (Z.to_nat i) ps Isolation.zero_page = pg) by (apply Hhi; lia).
    destruct (pindex_lens qps _ _ _ i Isolation.zero_page Lps) as (qp & Hqp & Lp). cbv beta in Lp.
    assert (Hv : True /\ 0 <= i < len (Isolation.Engine_pages st)) by (unfold st; rewrite get_set_pages; unfold len in *; lia).
    pose proof (lens_good _ _ _ _ st Lp Hv) as Hg. cbv beta in Hg. unfold st in Hg at 2. rewrite get_set_pages, Hpg in Hg.
    step_by (Hqps st tr1). step_by (Hqp st tr1 I ltac:(unfold st; rewrite get_set_pages; unfold len in *; lia)).
    step_by (ownedBy_vm st tr1 qp pg id Hg Hid0).
    (* an entry the VM does not share with the host: settled as [release_page] says *)
    assert (Hnext : forall st', sharedb id pg = false ->
      st' = Isolation.set_Engine_pages (replace_nth (Z.to_nat i) (release_page id pg) ps) X ->
      exists l'', (ret (wrapu 64 (i + 1)) : M Isolation.Engine Z) st' tr1 = Ok l'' st' tr1 /\
      rel_inv e id l'' st' /\ (Z.to_nat (len P - l'') < Z.to_nat (len P - i))%nat).
    { intros st' Hsh ->. eexists. split; [reflexivity|]. rewrite wrapu_small by lia. split; [|apply Z2Nat.inj_lt; lia].
      split; [change (Isolation.Engine_pages e) with P; lia|]. exists (replace_nth (Z.to_nat i) (release_page id pg) ps), q. split; [reflexivity|].
      destruct (release_step id P ps (Z.to_nat i) Hpl Hin Hlo Hhi) as (A & B & C). fold pg in A, B, C.
      replace (Z.to_nat (i + 1)) with (S (Z.to_nat i)) by lia. split; [exact A|]. split; [exact B|]. split; [exact C|].
      destruct Hh as (Hr1 & HB1 & HL1 & Htf1 & Hwb1 & Hl31 & Hw1).
      split; [exact Hr1|]. split; [exact HB1|]. split; [exact HL1|]. split; [exact Htf1|]. split; [exact Hwb1|]. split.
      - intros j Hj Hor Hl. apply Hl31; [exact Hj| |exact Hl]. destruct Hor as [Hor|Hor]; [left; lia|right; exact Hor].
      - intros k Hk. rewrite gone_next by (try exact Hsh; apply Z.div_pos; lia). exact (Hw1 k Hk). }
    destruct ((Isolation.page_owner pg =? Abi.OwnerVM) && (Isolation.page_vm pg =? id)) eqn:Ho; cbn [negb].
    + erewrite bind_ok by (step_by (sharedWith_spec st tr1 qp pg Isolation.HostVMID Hg); reflexivity). cbv beta.
      destruct (Isolation.page_shared pg && (Isolation.page_borrower pg =? Isolation.HostVMID)) eqn:Hs.
      { cbn [negb].
        assert (Hsh : sharedb id pg = true) by (unfold sharedb; rewrite Ho, Hs; reflexivity).
        set (b := base / 4096) in *.
        assert (Ebase : base = b * 4096) by (unfold b; pose proof (Z.div_mod base 4096 ltac:(lia)); lia).
        assert (Hb : 0 <= b) by (unfold b; apply Z.div_pos; lia).
        assert (HlP : len P * 4096 + base <= 2 ^ 40) by lia.
        set (PI := fun (j : Z) (s : Isolation.Engine) (t : list event) => t = tr1 /\ i <= j <= len P /\
          exists ps1, s = Isolation.set_Engine_pages ps1 X /\ List.length ps1 = List.length P /\
            (forall k, (k < Z.to_nat i)%nat -> nth k ps1 Isolation.zero_page = release_page id (nth k P Isolation.zero_page)) /\
            (forall k, (Z.to_nat i <= k < Z.to_nat j)%nat -> nth k ps1 Isolation.zero_page = none_page /\
               sharedb id (nth k P Isolation.zero_page) = true) /\
            (forall k, (Z.to_nat j <= k)%nat -> nth k ps1 Isolation.zero_page = nth k P Isolation.zero_page)).
        match goal with |- context [loop max_fuel ?c ?bd ?po i] => set (cI := c); set (bI := bd); set (pI := po) end.
        (* the loop's test reads the entry at [j] *)
        assert (Hcv : forall j s t, PI j s t ->
          cI j s t = Ok (if j <? len P then sharedb id (nth (Z.to_nat j) P Isolation.zero_page) else false) s t).
        { intros j s t (-> & Hj & ps1 & -> & Hl1 & _ & _ & Hhi1). unfold cI.
          destruct (Z.ltb_spec j (len P)) as [Hjl|Hjl].
          - destruct (pindex_lens qps _ _ _ j Isolation.zero_page Lps) as (qj & Hqj & Lj). cbv beta in Lj.
            assert (Hvj : True /\ 0 <= j < len (Isolation.Engine_pages (Isolation.set_Engine_pages ps1 X)))
              by (rewrite get_set_pages; unfold len in *; lia).
            pose proof (lens_good _ _ _ _ _ Lj Hvj) as Hgj. cbv beta in Hgj. rewrite get_set_pages in Hgj.
            rewrite (Hhi1 (Z.to_nat j)) in Hgj by lia.
            erewrite bind_ok by (step_by (Hqps (Isolation.set_Engine_pages ps1 X) tr1);
              step_by (Hqj (Isolation.set_Engine_pages ps1 X) tr1 I ltac:(rewrite get_set_pages; unfold len in *; lia));
              step_by (ownedBy_vm _ tr1 qj _ id Hgj Hid0); reflexivity). cbv beta. unfold sharedb.
            destruct ((Isolation.page_owner (nth (Z.to_nat j) P Isolation.zero_page) =? Abi.OwnerVM) &&
                      (Isolation.page_vm (nth (Z.to_nat j) P Isolation.zero_page) =? id)); cbn [andb].
            + erewrite bind_ok by (step_by (Hqps (Isolation.set_Engine_pages ps1 X) tr1);
                step_by (Hqj (Isolation.set_Engine_pages ps1 X) tr1 I ltac:(rewrite get_set_pages; unfold len in *; lia));
                step_by (sharedWith_spec _ tr1 qj _ Isolation.HostVMID Hgj); reflexivity). reflexivity.
            + reflexivity.
          - reflexivity. }
        destruct (loop_spec max_fuel cI bI pI PI (fun r s t => exists j, r = Fall j /\ i < j /\ PI j s t)
          (fun j => Z.to_nat (len P - j))) with (l := i) (s := st) (tr := tr1) as (r & s1 & tr2 & Hloop & j & -> & Hij & HP).
        - intros j s t HP. rewrite (Hcv j s t HP). eexists. split; [reflexivity|]. pose proof HP as (_ & Hj & _).
          split; [intros Hc'; destruct (Z.ltb_spec j (len P)); [lia|discriminate]|].
          intros Hc'. exists j. split; [reflexivity|]. split; [|exact HP].
          destruct (Z.eq_dec j i) as [->|]; [|lia]. exfalso. rewrite (proj2 (Z.ltb_lt _ _) Hc) in Hc'.
          fold pg in Hc'. congruence.
        - intros j s t HP Hct. rewrite (Hcv j s t HP) in Hct. injection Hct as Hct.
          destruct (Z.ltb_spec j (len P)) as [Hjl|]; [|discriminate].
          pose proof HP as (-> & Hj & ps1 & -> & Hl1 & Hlo1 & Hmid1 & Hhi1).
          destruct (pindex_lens qps _ _ _ j Isolation.zero_page Lps) as (qj & Hqj & Lj). cbv beta in Lj.
          assert (Hvj : True /\ 0 <= j < len (Isolation.Engine_pages (Isolation.set_Engine_pages ps1 X)))
            by (rewrite get_set_pages; unfold len in *; lia).
          unfold bI. step_by (Hqps (Isolation.set_Engine_pages ps1 X) tr1).
          step_by (Hqj (Isolation.set_Engine_pages ps1 X) tr1 I ltac:(rewrite get_set_pages; unfold len in *; lia)).
          step_by (store_lens _ _ _ _ _ none_page tr1 Lj Hvj). cbv beta. rewrite get_set_pages, set_pages_twice.
          eexists _, _, _. split; [reflexivity|]. eexists. split; [reflexivity|]. rewrite wrapu_small by lia.
          split; [|apply Z2Nat.inj_lt; lia].
          split; [reflexivity|]. split; [lia|]. eexists. split; [reflexivity|].
          rewrite replace_nth_length. split; [exact Hl1|].
          replace (Z.to_nat (j + 1)) with (S (Z.to_nat j)) by lia.
          split; [|split].
          + intros k Hk. rewrite nth_replace_nat by (unfold len in *; lia). destruct (Nat.eqb_spec k (Z.to_nat j)); [lia|]. apply Hlo1. exact Hk.
          + intros k Hk. rewrite nth_replace_nat by (unfold len in *; lia). destruct (Nat.eqb_spec k (Z.to_nat j)) as [->|Hne].
            * split; [reflexivity|exact Hct].
            * apply Hmid1. lia.
          + intros k Hk. rewrite nth_replace_nat by (unfold len in *; lia). destruct (Nat.eqb_spec k (Z.to_nat j)); [lia|]. apply Hhi1. lia.
        - split; [reflexivity|]. split; [lia|]. exists ps. split; [reflexivity|]. split; [exact Hpl|].
          split; [exact Hlo|]. split; [intros k Hk; lia|exact Hhi].
        - rewrite max_fuel_nat. unfold max_fuel. unfold len in *. lia.
        - step_by Hloop. destruct HP as (-> & Hj & ps1 & -> & Hl1 & Hlo1 & Hmid1 & Hhi1).
          destruct Hh as (Hr1 & HB1 & HL1 & Htf1 & Hwb1 & Hl31 & Hw1).
          change (Isolation.Engine_pages e) with P in Hl31, Hw1.
          set (s1 := Isolation.set_Engine_pages ps1 X).
          step_by (deref_root s1 tr1).
          change (Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg s1))) with base.
          assert (Hipg : i * 4096 <= len P * 4096) by lia.
          rewrite shl12 by lia. rewrite (wrapu_small (base + i * 4096)) by lia. rewrite (wrapu_small (j - i)) by lia.
          step_by (pfield_host s1 tr1).
          pose proof (root_inv_l1 X _ Hr1) as Hl1X. pose proof Hl1X as ((HokX & Hpok & Hbits & Hcok & Hpl') & Hh0 & _).
          assert (Hr1s : root_inv s1 (Isolation.stage2_root (Isolation.Engine_host e))) by exact Hr1.
          assert (Hgh : good host_place s1 (Isolation.Engine_host e)) by exact (host_place_good s1).
          assert (Hpal : (base + i * 4096) mod 4096 = 0) by (rewrite Ebase; rewrite <- Z.mul_add_distr_r; apply Z.mod_mul; lia).
          assert (HN : Isolation.Engine_unmapNeed root host_place (base + i * 4096) (j - i) s1 tr1 = Ok 0 s1 tr1).
          { apply (unmapNeed_nb_zero s1 tr1 host_place (Isolation.Engine_host e) _ _ HokX Hh0 (l1_inv_tree X _ Hl1X) Hgh);
              [lia|lia|unfold len in *; lia|exact Hpal|].
            intros k Hk.
            assert (Ek : k = (Z.to_nat b + Z.to_nat (Z.of_nat k - b))%nat) by lia.
            destruct (Hmid1 (Z.to_nat (Z.of_nat k - b)) ltac:(lia)) as [_ Hsx].
            rewrite Ek. apply (Hl31 (Z.to_nat (Z.of_nat k - b)) ltac:(unfold len in *; lia) ltac:(left; lia)).
            exact (Hl3 (Z.to_nat (Z.of_nat k - b)) ltac:(unfold len in *; lia) Hsx). }
          step_by HN. step_by (deref_root s1 tr1).
          assert (Hcf0 : 0 <= count_free (Isolation.Engine_pool s1)) by (unfold count_free; lia).
          replace (0 >? Isolation.tablePool_nfree (Isolation.Engine_pool s1)) with false
            by (symmetry; rewrite Z.gtb_ltb; apply Z.ltb_ge; unfold count_ok in Hcok;
                change (Isolation.Engine_pool s1) with (Isolation.Engine_pool X); rewrite Hcok; exact Hcf0).
          step_by (pfield_host s1 tr1).
          assert (HsX : s2_ok X (Isolation.Engine_host e)) by (right; exact (l1_inv_tree X _ Hl1X)).
          assert (Hwbs : walk_below s1 (Isolation.Engine_host e)) by exact (walk_below_same_pool X s1 _ HokX HsX eq_refl Hwb1).
          assert (Hal1 : pool_base s1 mod 4096 = 0) by (change (pool_base s1) with (pool_base X); rewrite HB1; exact Hal).
          assert (Hbl1 : pool_base s1 + 4096 * len (tables s1) <= 2 ^ 48)
            by (change (pool_base s1 + 4096 * len (tables s1)) with (pool_base X + 4096 * len (tables X)); rewrite HB1, HL1; exact Hbelow).
          pose proof (unmapRange_walk_range s1 tr1 host_place (Isolation.Engine_host e) (base + i * 4096) (j - i) 0 Hgh Hr1s
            Hwbs Hal1 Hbl1 ltac:(lia) ltac:(lia) ltac:(unfold len in *; lia) Hpal HN Hcf0)
            as (s2 & tr3 & Hun & Hr2 & HB2 & HL2 & _ & Htf2 & Hwb2 & Hwk2).
          pose proof (unmapRange_nb s1 tr1 host_place (Isolation.Engine_host e) (base + i * 4096) (j - i) 0 Hgh Hr1s
            Hal1 Hbl1 ltac:(lia) ltac:(lia) ltac:(unfold len in *; lia) Hpal HN Hcf0) as (s2' & tr3' & Hun' & Hl32).
          rewrite Hun in Hun'. injection Hun' as <- <-.
          pose proof (unmapRange_pool _ _ _ _ _ _ _ _ Hun) as (q2 & Eq2).
          assert (Eq2' : s2 = Isolation.set_Engine_pages ps1 (Isolation.set_Engine_pool q2 e))
            by (rewrite Eq2; unfold s1, X; rewrite set_pool_pages, set_pool_twice; reflexivity).
          step_by Hun.
          eexists _, _, _. split; [reflexivity|]. exists j. split; [reflexivity|]. split; [|apply Z2Nat.inj_lt; lia].
          split; [change (Isolation.Engine_pages e) with P; lia|]. exists ps1, q2. split; [exact Eq2'|]. split; [exact Hl1|].
          rewrite Eq2' in Hr2, HB2, HL2, Htf2, Hwb2, Hl32, Hwk2.
          pose proof (root_inv_l1 _ _ Hr2) as Hl2Y. pose proof Hl2Y as ((Hok2 & _) & _).
          assert (Hs2 : s2_ok (Isolation.set_Engine_pages ps1 (Isolation.set_Engine_pool q2 e)) (Isolation.Engine_host e))
            by (right; exact (l1_inv_tree _ _ Hl2Y)).
          split; [|split].
          + intros k Hk. destruct (Nat.lt_ge_cases k (Z.to_nat i)); [apply Hlo1; lia|].
            destruct (Hmid1 k ltac:(lia)) as [E Hsk]. rewrite E. symmetry. apply release_sharedb. exact Hsk.
          + exact Hhi1.
          + split; [exact Hr2|]. split; [exact (eq_trans HB2 HB1)|]. split; [exact (eq_trans HL2 HL1)|].
            split; [exact (tree_frame_trans e X _ _ Htf1 Htf2)|].
            split; [exact (walk_below_same_pool _ (Isolation.set_Engine_pool q2 e) _ Hok2 Hs2 eq_refl Hwb2)|]. split.
            * intros x Hx Hor Hle. change (Isolation.Engine_pages e) with P in Hx, Hor.
              assert (Hk40 : Z.of_nat (Z.to_nat b + x) * 4096 < 2 ^ 40) by (unfold len in *; lia).
              assert (Hout : (x < Z.to_nat i \/ Z.to_nat j <= x)%nat).
              { destruct (Nat.lt_ge_cases x (Z.to_nat i)) as [H|H]; [left; exact H|right].
                destruct (Nat.lt_ge_cases x (Z.to_nat j)) as [H'|H']; [|exact H'].
                destruct Hor as [Hor|Hor]; [lia|]. rewrite (proj2 (Hmid1 x ltac:(lia))) in Hor. discriminate Hor. }
              apply (Hl32 _ Hk40); [left; apply (Hl31 x Hx); [|exact Hle]|apply out_no_cover; lia].
              destruct Hout as [Ho'|Ho']; [|left; lia]. destruct Hor as [Hor|Hor]; [lia|right; exact Hor].
            * intros k Hk.
              rewrite (walk_same_pool _ (Isolation.set_Engine_pool q2 e) _ k Hok2 Hs2 eq_refl), (Hwk2 k Hk).
              rewrite (walk_same_pool X s1 _ k HokX HsX eq_refl), (Hw1 k Hk).
              change (Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e)) / 4096) with b.
              change (Isolation.Engine_pages e) with P.
              rewrite (gone_run id P b (Z.to_nat i) (Z.to_nat j) k Hb ltac:(lia) (fun x Hx => proj2 (Hmid1 x Hx))).
              destruct (Z.leb_spec (base + i * 4096) (Z.of_nat k * 4096)), (Z.ltb_spec (Z.of_nat k * 4096) (base + i * 4096 + (j - i) * 4096)),
                (Z.leb_spec (b + Z.of_nat (Z.to_nat i)) (Z.of_nat k)), (Z.ltb_spec (Z.of_nat k) (b + Z.of_nat (Z.to_nat j)));
                cbn [andb orb]; try reflexivity; lia. }
      assert (Hsh : sharedb id pg = false) by (unfold sharedb; rewrite Ho, Hs; reflexivity).
      cbn [negb]. step_by (ownedBy_vm st tr1 qp pg id Hg Hid0). rewrite Ho.
      erewrite bind_ok by (step_by (store_lens _ _ _ _ st (Isolation.mk_page Abi.OwnerNone 0 false 0) tr1 Lp Hv); reflexivity).
      cbv beta zeta.
      eexists _, _, _. split; [reflexivity|]. apply (Hnext _ Hsh).
      unfold st. rewrite get_set_pages, set_pages_twice. unfold release_page. rewrite Ho. reflexivity.
    + assert (Hsh : sharedb id pg = false) by (unfold sharedb; rewrite Ho; reflexivity).
      step. step_by (ownedBy_vm st tr1 qp pg id Hg Hid0). rewrite Ho. cbv beta iota zeta.
      destruct (Isolation.page_owner pg =? Abi.OwnerHost) eqn:Hh'.
      * destruct (Isolation.page_shared pg && (Isolation.page_borrower pg =? id)) eqn:Hs.
        -- destruct (pfield_lens qp _ _ _ Isolation.page_shared Isolation.set_page_shared Lp ltac:(field_laws)) as (q1 & Hq1 & L1).
           destruct (pfield_lens qp _ _ _ Isolation.page_borrower Isolation.set_page_borrower Lp ltac:(field_laws)) as (q2 & Hq2 & L2).
           set (st1 := Isolation.set_Engine_pages (replace_nth (Z.to_nat i) (Isolation.set_page_shared false pg) ps) X).
           assert (E1 : store q1 false st tr1 = Ok tt st1 tr1).
           { rewrite (store_lens _ _ _ _ st false tr1 L1 Hv). cbv beta. unfold st1, st.
             rewrite get_set_pages, set_pages_twice, Hpg. reflexivity. }
           assert (Hv1 : True /\ 0 <= i < len (Isolation.Engine_pages st1)) by (unfold st1; rewrite get_set_pages, len_replace; exact Hv).
           set (st2 := Isolation.set_Engine_pages (replace_nth (Z.to_nat i)
                         (Isolation.set_page_borrower 0 (Isolation.set_page_shared false pg)) ps) X).
           assert (E2 : store q2 0 st1 tr1 = Ok tt st2 tr1).
           { rewrite (store_lens _ _ _ _ st1 0 tr1 L2 Hv1). cbv beta. unfold st2, st1.
             rewrite get_set_pages, set_pages_twice, replace_nth_twice.
             rewrite nth_replace by (rewrite Hpl; exact Hin). reflexivity. }
           erewrite bind_ok; [|step_by (ownedBy_host st tr1 qp pg Hg); rewrite Hh'; cbv beta iota zeta;
             erewrite bind_ok by (step_by (sharedWith_spec st tr1 qp pg id Hg); reflexivity); cbv beta iota zeta;
             rewrite Hs; step_by (Hq1 st tr1); step_by E1; step_by (Hq2 st1 tr1); step_by E2; reflexivity].
           cbv beta zeta.
           eexists _, _, _. split; [reflexivity|]. apply (Hnext _ Hsh).
           unfold st2. unfold release_page. rewrite Ho, Hh', Hs. reflexivity.
        -- erewrite bind_ok; [|step_by (ownedBy_host st tr1 qp pg Hg); rewrite Hh'; cbv beta iota zeta;
             erewrite bind_ok by (step_by (sharedWith_spec st tr1 qp pg id Hg); reflexivity); cbv beta iota zeta;
             rewrite Hs; reflexivity].
           cbv beta zeta. eexists _, _, _. split; [reflexivity|]. apply (Hnext _ Hsh).
           unfold st, release_page. rewrite Ho, Hh', Hs. cbn [andb].
           rewrite replace_nth_same; [reflexivity|]. rewrite <- Hpg. apply nth_error_nth'. lia.
      * erewrite bind_ok; [|step_by (ownedBy_host st tr1 qp pg Hg); rewrite Hh'; cbv beta iota zeta; step; reflexivity].
        cbv beta zeta. eexists _, _, _. split; [reflexivity|]. apply (Hnext _ Hsh).
        unfold st, release_page. rewrite Ho, Hh'. cbn [andb].
        rewrite replace_nth_same; [reflexivity|]. rewrite <- Hpg. apply nth_error_nth'. lia.
  - split; [unfold len; lia|]. exists P, (Isolation.Engine_pool e). rewrite set_pool_same. split; [symmetry; apply set_pages_same|].
    split; [reflexivity|]. split; [intros j Hj; lia|]. split; [intros j Hj; reflexivity|].
    split; [exact Hhr|]. split; [reflexivity|]. split; [reflexivity|]. split; [apply tree_frame_refl|].
    split; [exact Hwb|]. split.
    + intros j' _ _ Hl. exact Hl.
    + intros k _. change (Z.to_nat 0) with 0%nat. rewrite gone_zero. reflexivity.
  - rewrite max_fuel_nat. unfold max_fuel. unfold len in *. lia.
  - step_by Hj. destruct j as [i|[]]. unfold ret. exists q, tr'. split; [|exact Hh]. f_equal. f_equal.
    apply (nth_ext _ _ Isolation.zero_page Isolation.zero_page).
    + rewrite map_length. exact Hpl.
    + intros k Hk. rewrite Hps by lia.
      rewrite nth_indep with (l := map (release_page id) P) (d' := release_page id Isolation.zero_page) by (rewrite map_length; lia).
      rewrite map_nth. reflexivity.
Qed.

(** ** VM_DESTROY *)

(** The live VM at vmid [id], if any, has a stage-2 tree apart from the
    host's. *)
Definition apart_at (e : Isolation.Engine) (id : Z) : Prop :=
  forall m, 1 <= id -> nth_error (Isolation.Engine_vms e) (Z.to_nat (id - 1)) = Some m -> Isolation.vm_live m = true ->
    forall y, in_tree e (Isolation.stage2_root (Isolation.vm_s2 m)) y ->
      ~ in_tree e (Isolation.stage2_root (Isolation.Engine_host e)) y.

(** The host's walk of every page the live VM at vmid [id], if any,
    shares with it ends at level 3 or nowhere. *)
Definition lv3_shared_at (e : Isolation.Engine) (id : Z) : Prop :=
  forall m, 1 <= id -> nth_error (Isolation.Engine_vms e) (Z.to_nat (id - 1)) = Some m -> Isolation.vm_live m = true ->
    forall j, (j < List.length (Isolation.Engine_pages e))%nat ->
      sharedb id (nth j (Isolation.Engine_pages e) Isolation.zero_page) = true ->
      lv3_at e (Isolation.Engine_host e)
        (Z.to_nat (Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e)) / 4096) + j).

(** VM_DESTROY never fails on an engine meeting [mem_ok] and
    [shadow_inv], with its platform and a pool in shape, the host's
    stage-2 a tree with [root_inv] that maps only below 2^48 and RAM
    inside the IPA space, for any 64-bit vmid, provided a live VM at that
    vmid owns its stage-2's tables, apart from the host's, and the host's
    walk of every page it shares with the host ends at level 3 or
    nowhere ([VMDestroy_unshared_cases] without its condition that the
    VM shares no page with the host). It leaves the engine as it was with
    an error, or answers SUCCESS having released the ledger, unmapped the
    VM's pages shared with the host ([host_after]) and then [destroyed]
    the slot of the live, [idle] VM at the vmid. *)
Theorem VMDestroy_shared_cases : forall e tr id,
  mem_ok e -> shadow_inv e -> pool_ok (Isolation.Engine_pool e) -> Isolation.Engine_plat e <> None ->
  len (Isolation.Engine_vms e) < 2 ^ 16 -> 0 <= id < 2 ^ 64 ->
  owned_at e id ->
  Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e)) +
    Isolation.Range_Size (Isolation.Config_RAM (Isolation.Engine_cfg e)) <= 2 ^ 40 ->
  root_inv e (Isolation.stage2_root (Isolation.Engine_host e)) -> walk_below e (Isolation.Engine_host e) ->
  pool_base e mod 4096 = 0 -> pool_base e + 4096 * len (tables e) <= 2 ^ 48 ->
  apart_at e id -> lv3_shared_at e id ->
  exists st e' tr', Isolation.Engine_VMDestroy root id e tr = Ok st e' tr' /\
    ((e' = e /\ st <> Abi.Success) \/
     exists i m q, nth_error (Isolation.Engine_vms e) i = Some m /\ Isolation.vm_live m = true /\
       i = Z.to_nat (id - 1) /\
       destroyed (Isolation.set_Engine_pages (map (release_page id) (Isolation.Engine_pages e)) (Isolation.set_Engine_pool q e))
         i m e' /\
       Isolation.Engine_pages e' = map (release_page id) (Isolation.Engine_pages e) /\
       host_after e (Isolation.set_Engine_pool q e) id (List.length (Isolation.Engine_pages e)) /\
       st = Abi.Success /\ idle m /\ 1 <= id).
Proof.
  intros e tr id Hmem Hsh Hpool Hplat Hvms Hid Hown_at Hram Hhr Hwb Hal Hbelow Hap_at Hl3_at.
  pose proof Hmem as (Hl & _).
  assert (Hpl : len (Isolation.Engine_pages e) < 2 ^ 64)
    by (destruct Hl as (Hb & Hs & Hbs & _ & Hlen); unfold len in *; lia).
  destruct (VMDestroy_cases_with e tr id Hsh Hvms Hid) as (st & e' & tr' & Hrun & Hcase).
  { intros m H1 Hn Hlive.
    assert (Hlt : (Z.to_nat (id - 1) < List.length (Isolation.Engine_vms e))%nat) by (apply nth_error_Some; congruence).
    assert (Hid16 : 1 <= id < 2 ^ 16) by (unfold len in Hvms; lia).
   
    destruct (releasePages_shared e tr id Hid16 Hl Hpl Hram Hhr Hwb Hal Hbelow (Hl3_at m H1 Hn Hlive))
      as (qR & trR & Hrel & Hafter).
    set (X := Isolation.set_Engine_pool qR e) in *.
    exists (Isolation.set_Engine_pages (map (release_page id) (Isolation.Engine_pages e)) X), trR.
    split; [exact Hrel|]. split; [reflexivity|]. split; [exact Hplat|].
    pose proof Hafter as (HrX & HBX & HLX & HtfX & _).
    pose proof (root_inv_l1 X _ HrX) as (HpiX & _). pose proof HpiX as (HokX & HpokX & _).
    split; [exact HokX|]. split; [exact HpokX|].
    destruct (Hown_at m H1 Hn Hlive) as [Hneg|Hown]; [left; exact Hneg|right].
    pose proof (root_inv_l1 e _ Hhr) as (Hpie & _).
    pose proof (owns_root_inv e _ Hpie Hown) as Hrv.
    assert (Hk : tree_kept e X (Isolation.stage2_root (Isolation.vm_s2 m)))
      by exact (tree_kept_of_frame e X _ _ HtfX Hrv (Hap_at m H1 Hn Hlive)).
    exact (root_inv_owns X _ (root_inv_frame e X _ Hrv HpiX HBX HLX Hk)). }
  exists st, e', tr'. split; [exact Hrun|].
  destruct Hcase as [H|(i & m & e1 & tr1 & Hn & Hlive & -> & Hrel & Hd & Ep & Est & Hidle & H1)]; [left; exact H|right].
  assert (Hlt : (Z.to_nat (id - 1) < List.length (Isolation.Engine_vms e))%nat) by (apply nth_error_Some; congruence).
  assert (Hid16 : 1 <= id < 2 ^ 16) by (unfold len in Hvms; lia).
  destruct (releasePages_shared e tr id Hid16 Hl Hpl Hram Hhr Hwb Hal Hbelow (Hl3_at m H1 Hn Hlive))
    as (qR & trR & Hrel' & Hafter).
  rewrite Hrel' in Hrel. injection Hrel as <- <-.
  exists (Z.to_nat (id - 1)), m, qR. split; [exact Hn|]. split; [exact Hlive|]. split; [reflexivity|].
  split; [exact Hd|]. split; [exact Ep|]. split; [exact Hafter|]. split; [exact Est|]. split; [exact Hidle|exact H1].
Qed.

