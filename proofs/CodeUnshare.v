(** * MEM_UNSHARE: taken apart, and no failure

    Theorems about proofs/code/Isolation.v, the translation of
    isolation/mem.go. MEM_UNSHARE checks its VM, its IPA range and each
    page of it ([checkMapped]), reserves the tables its unmap may take
    ([unmapNeed]), commits the ledger page by page, reading each page's PA
    through the VM's stage-2 ([mustTranslate]), and then unmaps the whole
    range in one update ([unmapRange]).
    Proved here:
    - the walk of a stage-2 reads the table pool, never the ledger, so a
      ledger commit leaves every walk as it was ([translate_pages]);
    - taken apart forward, MEM_UNSHARE either answers an error other than
      SUCCESS with memory and trace as they were, or the VM is live, the
      range page aligned inside the IPA space, each page of it mapped to a
      page of RAM, the reservation at most the free tables, the ledger
      commit gives each page the walk finds to the host
      ([unshare_ledger]), and what is left of the call is the VM stage-2's
      [unmapRange] from there ([MemUnshare_reaches_unmap]);
    - so MEM_UNSHARE never reaches a failure outcome, for any 64-bit
      arguments, from [mem_ok] with the pool placed and the stage-2 of
      every live VM with [root_inv]; on SUCCESS only the ledger and the
      pool changed, and the VM's stage-2 keeps [root_inv] and its update
      [tree_frame] ([MemUnshare_no_failure]). *)
From Coq Require Import ZArith Lia List Bool Arith.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodePlace CodeLoop CodeLedger CodeVCPU CodeVMCreate CodeStage2 CodeTransfer
  CodeShadow CodeMemState CodeMapped CodeMemShare CodeAbsLedger CodePool CodeUpdate CodeUpdateRange CodeUpdateRoot
  CodeUpdateRootRange CodeMemNoFailure CodeLedgerRefine.
From Bulkhead.Proofs Require CodeAbs CodeVMCreateRefine.
Import ListNotations.
Open Scope Z_scope.

(** ** The walk does not read the ledger *)

Lemma translate_pages : forall e ps tr s2 ipa r, tables_ok e -> s2_ok e s2 -> 0 <= ipa ->
  Isolation.Engine_translate root (CodeAbs.ro s2) ipa e tr = Ok r e tr ->
  Isolation.Engine_translate root (CodeAbs.ro s2) ipa (Isolation.set_Engine_pages ps e) tr =
    Ok r (Isolation.set_Engine_pages ps e) tr.
Proof.
  intros e ps tr s2 ipa r Hok Hs2 Hipa H.
  destruct ((Isolation.stage2_root s2 <? 0) || (ipa >=? Isolation.ipaLimit)) eqn:Hc.
  - unfold Isolation.Engine_translate in H |- *. unfold bind at 1 in H. unfold bind at 1.
    rewrite CodeVMCreateRefine.deref_ro in H |- *.
    cbv beta iota in H |- *. rewrite Hc in H |- *. unfold ret in H |- *. injection H as <-. reflexivity.
  - apply orb_false_iff in Hc as [Hr Hk]. apply Z.ltb_ge in Hr. rewrite Z.geb_leb in Hk. apply Z.leb_gt in Hk.
    destruct Hs2 as [Hlt|Ht]; [lia|].
    rewrite (CodeVMCreateRefine.translate_pw e tr (CodeAbs.ro s2) s2 ipa Hok (CodeVMCreateRefine.deref_ro s2 e) Hr Ht
      ltac:(lia)) in H.
    injection H as <-.
    exact (CodeVMCreateRefine.translate_pw (Isolation.set_Engine_pages ps e) tr (CodeAbs.ro s2) s2 ipa Hok
      (CodeVMCreateRefine.deref_ro s2 _) Hr Ht ltac:(lia)).
Qed.

(** The same through the place of VM slot [i]'s stage-2. *)
Lemma translate_place_pages : forall e ps tr i m ipa r, tables_ok e -> 0 <= i ->
  nth_error (Isolation.Engine_vms e) (Z.to_nat i) = Some m -> s2_ok e (Isolation.vm_s2 m) -> 0 <= ipa ->
  Isolation.Engine_translate root (s2_place i) ipa e tr = Ok r e tr ->
  Isolation.Engine_translate root (s2_place i) ipa (Isolation.set_Engine_pages ps e) tr =
    Ok r (Isolation.set_Engine_pages ps e) tr.
Proof.
  intros e ps tr i m ipa r Hok Hi Hnth Hs2 Hipa H.
  rewrite (CodeAbs.translate_ro _ e tr (Isolation.vm_s2 m) ipa (s2_place_good e i m Hi Hnth)) in H.
  rewrite (CodeAbs.translate_ro _ _ tr (Isolation.vm_s2 m) ipa (vm_place_pages e ps i m Hi Hnth)).
  exact (translate_pages e ps tr _ ipa r Hok Hs2 Hipa H).
Qed.

(** A walk that finds a leaf finds a 64-bit PA. *)
Lemma pw_pa : forall T base ipa n t lvl m, CodeVMCreateRefine.pw T base ipa n t lvl = (m, true) ->
  0 <= Isolation.Mapping_PA m < 2 ^ 64.
Proof.
  induction n as [|n IH]; intros t lvl m H; cbn [CodeVMCreateRefine.pw] in H; [discriminate H|].
  destruct (_ =? 0); [discriminate H|].
  destruct (_ && _); [exact (IH _ _ _ H)|]. injection H as <-. cbn. apply wrapu_range.
Qed.

Lemma translate_pa : forall e tr s2 ipa m, tables_ok e -> s2_ok e s2 -> 0 <= ipa ->
  Isolation.Engine_translate root (CodeAbs.ro s2) ipa e tr = Ok (m, true) e tr -> 0 <= Isolation.Mapping_PA m < 2 ^ 64.
Proof.
  intros e tr s2 ipa m Hok Hs2 Hipa H.
  destruct ((Isolation.stage2_root s2 <? 0) || (ipa >=? Isolation.ipaLimit)) eqn:Hc.
  - unfold Isolation.Engine_translate in H. unfold bind at 1 in H. rewrite CodeVMCreateRefine.deref_ro in H.
    cbv beta iota in H. rewrite Hc in H. discriminate H.
  - apply orb_false_iff in Hc as [Hr Hk]. apply Z.ltb_ge in Hr. rewrite Z.geb_leb in Hk. apply Z.leb_gt in Hk.
    destruct Hs2 as [Hlt|Ht]; [lia|].
    rewrite (CodeVMCreateRefine.translate_pw e tr (CodeAbs.ro s2) s2 ipa Hok (CodeVMCreateRefine.deref_ro s2 e) Hr Ht
      ltac:(lia)) in H.
    match type of H with Ok ?r _ _ = Ok _ _ _ => assert (E : r = (m, true)) by congruence end.
    exact (pw_pa _ _ _ _ _ _ _ E).
Qed.

(** ** The ledger commit *)

(** The PA the walk of [s2] finds at IPA page [k] (0 where it finds
    none). *)
Definition walk_pa (e : Isolation.Engine) (s2 : Isolation.stage2) (k : nat) : Z :=
  match CodeAbs.walk e s2 k with Some (pa, _) => pa | None => 0 end.

(** Page [j] of the ledger after the commit of the first [i] pages of the
    range at [ipa]: the host's if the walk of one of them reaches it, as
    it was otherwise. *)
Definition unshare_ledger (e : Isolation.Engine) (s2 : Isolation.stage2) (ipa : Z) (i j : nat) : Isolation.page :=
  if existsb (fun i' => Nat.eqb (Z.to_nat ((walk_pa e s2 (Z.to_nat (ipa / 4096) + i') - ram_base e) / 4096)) j) (seq 0 i)
  then Isolation.mk_page Abi.OwnerHost (wrapu 8 Isolation.HostVMID) false 0
  else nth j (Isolation.Engine_pages e) Isolation.zero_page.

(** The IPA of page [i] of a page-aligned range, as the code computes it,
    is IPA page [ipa / 4096 + i]. *)
Lemma page_ipa : forall ipa i, ipa mod 4096 = 0 -> 0 <= ipa -> 0 <= i -> ipa + (i + 1) * 4096 <= 2 ^ 40 ->
  wrapu 64 (ipa + shl 64 false i Isolation.PageShift) = Z.of_nat (Z.to_nat (ipa / 4096) + Z.to_nat i) * 4096.
Proof.
  intros ipa i Hal Hipa Hi Hlim. rewrite shl12 by lia. rewrite wrapu_small by lia.
  rewrite Nat2Z.inj_add, !Z2Nat.id by (try apply Z.div_pos; lia).
  pose proof (Z.div_mod ipa 4096 ltac:(lia)). lia.
Qed.

(** One iteration: the commit of page [i] extends the ledger of the
    first [i] pages by one. *)
Lemma unshare_ledger_next : forall e s2 ipa i ps pa j,
  (forall j, nth j ps Isolation.zero_page = unshare_ledger e s2 ipa i j) ->
  walk_pa e s2 (Z.to_nat (ipa / 4096) + i) = pa ->
  (if (Z.to_nat ((pa - ram_base e) / 4096) <=? j)%nat && (j <? Z.to_nat ((pa - ram_base e) / 4096) + Z.to_nat 1)%nat
   then Isolation.mk_page Abi.OwnerHost (wrapu 8 Isolation.HostVMID) false 0 else nth j ps Isolation.zero_page) =
  unshare_ledger e s2 ipa (S i) j.
Proof.
  intros e s2 ipa i ps pa j Hps Hpa. rewrite Hps. unfold unshare_ledger. rewrite seq_S, existsb_app.
  cbn [existsb Nat.add]. rewrite Hpa.
  change (Z.to_nat 1) with 1%nat.
  set (k := Z.to_nat ((pa - ram_base e) / 4096)).
  destruct (Nat.eqb_spec k j) as [<-|Hne].
  - rewrite Nat.leb_refl, (proj2 (Nat.ltb_lt k (k + 1)) ltac:(lia)), orb_true_r. reflexivity.
  - rewrite orb_false_r.
    replace ((k <=? j)%nat && (j <? k + 1)%nat) with false
      by (destruct (Nat.leb_spec k j); destruct (Nat.ltb_spec j (k + 1)); cbn; lia || reflexivity).
    reflexivity.
Qed.

(** ** MEM_UNSHARE taken apart *)

(** Why MEM_UNSHARE refused, in the order it checks: no live VM or a
    range outside the IPA space (INVALID_PARAMETERS), a page of the range
    [checkMapped] does not pass (DENIED), or too few free tables
    (NO_MEMORY). *)
Definition unshare_refused (e : Isolation.Engine) tr (id ipa n st : Z) : Prop :=
  (st = Abi.InvalidParameters /\ (Isolation.Engine_liveVM root id e tr = Ok Nil e tr \/
     ~ (1 <= n /\ ipa mod 4096 = 0 /\ ipa + n * 4096 <= 2 ^ 40))) \/
  (st = Abi.Denied /\ exists m i, 1 <= id /\ nth_error (Isolation.Engine_vms e) (Z.to_nat (id - 1)) = Some m /\
     Isolation.vm_live m = true /\ 1 <= n /\ ipa mod 4096 = 0 /\ ipa + n * 4096 <= 2 ^ 40 /\ 0 <= i < n /\
     ~ checked_at e tr (s2_place (id - 1)) ipa i Isolation.HostVMID true (wrapu 16 id)) \/
  st = Abi.NoMemory.

Theorem MemUnshare_reaches_unmap : forall e tr id ipa n,
  mem_ok e -> 0 <= id < 2 ^ 64 -> 0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 ->
  (exists st, Isolation.Engine_MemUnshare root id ipa n e tr = Ok st e tr /\ st <> Abi.Success /\
     unshare_refused e tr id ipa n st) \/
  (exists m N ps, 1 <= id /\ nth_error (Isolation.Engine_vms e) (Z.to_nat (id - 1)) = Some m /\
     Isolation.vm_live m = true /\ 1 <= n /\ ipa mod 4096 = 0 /\ ipa + n * 4096 <= 2 ^ 40 /\
     (forall i, 0 <= i < n -> checked_at e tr (s2_place (id - 1)) ipa i Isolation.HostVMID true (wrapu 16 id)) /\
     Isolation.Engine_unmapNeed root (s2_place (id - 1)) ipa n e tr = Ok N e tr /\
     N <= Isolation.tablePool_nfree (Isolation.Engine_pool e) /\
     len ps = len (Isolation.Engine_pages e) /\
     (forall j, nth j ps Isolation.zero_page = unshare_ledger e (Isolation.vm_s2 m) ipa (Z.to_nat n) j) /\
     Isolation.Engine_MemUnshare root id ipa n e tr =
       (let! _ := Isolation.Engine_unmapRange root (s2_place (id - 1)) ipa n in ret Abi.Success)
         (Isolation.set_Engine_pages ps e) tr).
Proof.
  intros e tr id ipa n Hm Hid Hipa Hn.
  pose proof Hm as (Hl & Hbase & Hsize & Hvl & Ht & Hs2).
  pose proof (liveVM_place e tr id Hvl Hid) as (p & Hp & Hcase).
  unfold Isolation.Engine_MemUnshare. unfold bind at 1. rewrite Hp. cbv beta iota zeta.
  destruct Hcase as [->|(-> & Hid1 & m & Hnth & Hlive)].
  { left. exists Abi.InvalidParameters. split; [reflexivity|]. split; [discriminate|]. left. split; [reflexivity|].
    left. exact Hp. }
  pose proof (pageRange_spec e tr ipa n Isolation.ipaSpace Hipa Hn
    ltac:(unfold Isolation.ipaSpace, Isolation.ipaLimit; cbn; lia) ltac:(unfold Isolation.ipaSpace, Isolation.ipaLimit; cbn; lia))
    as (b & Hb & Hbs).
  cbn [is_nil vm_place]. erewrite CodeShadow.bind_ok by (step_by Hb; reflexivity). cbv beta iota.
  destruct b; cbn [negb].
  2:{ left. exists Abi.InvalidParameters. split; [reflexivity|]. split; [discriminate|]. left. split; [reflexivity|].
      right. intros (Hn1 & Hal & H40). assert (E : false = true); [|discriminate E]. apply Hbs.
      unfold Isolation.ipaSpace, Isolation.ipaLimit; cbn. lia. }
  pose proof (proj1 Hbs eq_refl) as (Hn0 & Hial & Hw & Hlo & Hhi). cbn [Isolation.ipaSpace Isolation.Range_Base
    Isolation.Range_Size] in Hlo, Hhi. unfold Isolation.ipaLimit in Hhi.
  assert (Hin : In m (Isolation.Engine_vms e)) by (eapply nth_error_In; exact Hnth).
  assert (Hms2 : s2_ok e (Isolation.vm_s2 m)) by (rewrite Forall_forall in Hs2; apply Hs2; exact Hin).
  assert (Hg : good (s2_place (id - 1)) e (Isolation.vm_s2 m)) by (apply s2_place_good; [lia|exact Hnth]).
  unfold bind at 1. rewrite pfield_s2_place. cbv beta iota.
  pose proof (checkMapped_no_failure e tr (s2_place (id - 1)) (Isolation.vm_s2 m) ipa n Isolation.HostVMID true
    (wrapu 16 id) Hm Hms2 Hg Hipa Hn) as (st & Hcm & Hmapped & Hfail).
  unfold bind at 1. rewrite Hcm. cbv beta iota.
  destruct (Z.eqb_spec st Abi.Success) as [->|Hst]; cbn [negb].
  2:{ left. exists st. split; [reflexivity|]. split; [exact Hst|]. right. left.
      pose proof (Hfail Hst) as (-> & i & Hi & Hnot). split; [reflexivity|]. exists m, i.
      repeat split; try assumption; lia. }
  specialize (Hmapped eq_refl).
  unfold bind at 1. rewrite pfield_s2_place. cbv beta iota.
  pose proof (unmapNeed_ok e tr (s2_place (id - 1)) (Isolation.vm_s2 m) ipa n Ht Hms2 Hg ltac:(lia) ltac:(lia)
    ltac:(lia)) as (N & HN).
  unfold bind at 1. rewrite HN. cbv beta iota. unfold bind at 1. rewrite deref_root. cbv beta iota.
  destruct (Z.gtb_spec N (Isolation.tablePool_nfree (Isolation.Engine_pool e))) as [Hgt|Hle]; cbv beta iota.
  { left. exists Abi.NoMemory. split; [reflexivity|]. split; [discriminate|]. right. right. reflexivity. }
  assert (Heta : Isolation.set_Engine_pages (Isolation.Engine_pages e) e = e) by (destruct e; reflexivity).
  pose proof Hl as (Hb0 & Hs0 & Hbs0 & Hbal & Hlen). fold (ram_base e) (ram_size e) in Hb0, Hs0, Hbs0, Hbal, Hlen.
  match goal with |- context [loop ?f ?c ?b ?po 0] =>
  destruct (loop_spec f c b po
    (fun i st tr' => tr' = tr /\ 0 <= i <= n /\ exists ps, st = Isolation.set_Engine_pages ps e /\
       len ps = len (Isolation.Engine_pages e) /\
       forall j, nth j ps Isolation.zero_page = unshare_ledger e (Isolation.vm_s2 m) ipa (Z.to_nat i) j)
    (fun j st tr' => tr' = tr /\ exists ps, st = Isolation.set_Engine_pages ps e /\
       len ps = len (Isolation.Engine_pages e) /\
       forall j, nth j ps Isolation.zero_page = unshare_ledger e (Isolation.vm_s2 m) ipa (Z.to_nat n) j)
    (fun i => Z.to_nat (n - i))) with (l := 0) (s := e) (tr := tr) as (j & s' & tr' & Hloop & -> & ps & -> & Hps & Hled) end.
  - intros i st tr' (-> & Hi & ps & -> & Hps & Hled). exists (i <? n). split; [reflexivity|]. split.
    + intros H. apply Z.ltb_lt in H. lia.
    + intros H. apply Z.ltb_ge in H. split; [reflexivity|]. exists ps. split; [reflexivity|]. split; [exact Hps|].
      replace n with i by lia. exact Hled.
  - intros i st tr' (-> & Hi & ps & -> & Hps & Hled) Hc. injection Hc as Hc. apply Z.ltb_lt in Hc.
    step_by (pfield_s2_place (id - 1) (Isolation.set_Engine_pages ps e) tr).
    pose proof (checked_mapped _ _ _ _ _ _ _ _ (Hmapped i ltac:(lia))) as (mp & Htr & Hr1 & Hr2 & Hr3).
    pose proof (translate_place_pages e ps tr (id - 1) m _ _ Ht ltac:(lia) Hnth Hms2 (proj1 (wrapu_range _)) Htr) as Htr1.
    erewrite CodeShadow.bind_ok by (unfold Isolation.Engine_mustTranslate; step_by Htr1; reflexivity).
    cbv beta iota zeta.
    pose proof Htr as Htr0. rewrite (CodeAbs.translate_ro _ e tr _ _ Hg) in Htr0.
    pose proof (translate_pa e tr _ _ mp Ht Hms2 (proj1 (wrapu_range _)) Htr0) as Hpa.
    assert (Hwp : wrapu 64 (Isolation.Mapping_PA mp - ram_base e) = Isolation.Mapping_PA mp - ram_base e)
      by (apply wrapu_small; lia).
    pose proof (setOwner_pages (Isolation.set_Engine_pages ps e) tr (Isolation.Mapping_PA mp) 1 Abi.OwnerHost Isolation.HostVMID
      ltac:(cbn; fold (ram_base e); lia) ltac:(lia) ltac:(lia)
      ltac:(cbn; fold (ram_base e); rewrite Hps;
        pose proof (Z.div_lt_upper_bound (Isolation.Mapping_PA mp - ram_base e) 4096 (len (Isolation.Engine_pages e))
          ltac:(lia) ltac:(lia)); lia) ltac:(cbn; rewrite Hps; unfold len in *; lia))
      as (ps' & Hso & Hps' & Hnth').
    step_by Hso.
    eexists _, _, _. split; [reflexivity|]. eexists. split; [reflexivity|].
    rewrite wrapu_small by lia. split; [|apply Z2Nat.inj_lt; lia].
    split; [reflexivity|]. split; [lia|]. exists ps'. split; [reflexivity|]. split; [cbn in Hps'; lia|].
    intros j. rewrite Hnth'. cbn [Isolation.Engine_cfg Isolation.set_Engine_pages Isolation.Engine_pages]. fold (ram_base e).
    replace (Z.to_nat (i + 1)) with (S (Z.to_nat i)) by lia.
    apply unshare_ledger_next; [exact Hled|].
    rewrite (page_ipa ipa i Hial ltac:(lia) ltac:(lia) ltac:(lia)) in Htr.
    unfold walk_pa. rewrite (CodeAbs.walk_translate _ e tr _ _ _ Hg Htr). reflexivity.
  - split; [reflexivity|]. split; [lia|]. exists (Isolation.Engine_pages e). split; [symmetry; exact Heta|].
    split; [reflexivity|]. intros j. reflexivity.
  - rewrite Z.sub_0_r. rewrite fuel_nat by lia. lia.
  - right. exists m, N, ps.
    split; [exact Hid1|]. split; [exact Hnth|]. split; [exact Hlive|]. split; [lia|]. split; [exact Hial|].
    split; [lia|]. split; [exact Hmapped|]. split; [reflexivity|]. split; [exact Hle|]. split; [exact Hps|].
    split; [exact Hled|].
    unfold bind at 1. rewrite Hp. cbv beta iota zeta. cbn [is_nil vm_place].
    erewrite CodeShadow.bind_ok by (step_by Hb; reflexivity). cbn [negb].
    unfold bind at 1. rewrite pfield_s2_place. cbv beta iota. unfold bind at 1. rewrite Hcm. cbv beta iota.
    rewrite Z.eqb_refl. cbn [negb].
    unfold bind at 1. rewrite pfield_s2_place. cbv beta iota. unfold bind at 1. rewrite HN. cbv beta iota.
    unfold bind at 1. rewrite deref_root. cbv beta iota.
    replace (N >? Isolation.tablePool_nfree (Isolation.Engine_pool e)) with false
      by (symmetry; rewrite Z.gtb_ltb; apply Z.ltb_ge; exact Hle).
    unfold bind at 1. rewrite Hloop. destruct j as [k|[]]. reflexivity.
Qed.

(** ** No failure *)

(** The VM's reservation reads only the tables, so the ledger commit
    before the unmap leaves it as it was. *)
Lemma vm_unmapNeed_pages : forall e tr id m ipa n N ps, tables_ok e -> 1 <= id ->
  nth_error (Isolation.Engine_vms e) (Z.to_nat (id - 1)) = Some m ->
  root_inv e (Isolation.stage2_root (Isolation.vm_s2 m)) -> 0 <= ipa -> 0 <= n -> ipa + n * 4096 <= 2 ^ 40 ->
  Isolation.Engine_unmapNeed root (s2_place (id - 1)) ipa n e tr = Ok N e tr ->
  Isolation.Engine_unmapNeed root (s2_place (id - 1)) ipa n (Isolation.set_Engine_pages ps e) tr =
    Ok N (Isolation.set_Engine_pages ps e) tr.
Proof.
  intros e tr id m ipa n N ps Hok Hid Hnth Hr Hipa Hn H40 HN.
  pose proof (root_inv_l1 e _ Hr) as Hl. pose proof Hl as (_ & Ht0 & _).
  rewrite (unmapNeed_spec e tr _ _ ipa n Hok Ht0 (l1_inv_tree e _ Hl) (s2_place_good e (id - 1) m ltac:(lia) Hnth)
    Hipa Hn H40) in HN.
  injection HN as <-.
  exact (unmapNeed_spec (Isolation.set_Engine_pages ps e) tr _ _ ipa n Hok Ht0 (l1_inv_tree e _ Hl)
    (vm_place_pages e ps (id - 1) m ltac:(lia) Hnth) Hipa Hn H40).
Qed.

(** MEM_UNSHARE never reaches a failure outcome, for any 64-bit
    arguments, from [mem_ok] with the pool placed and the stage-2 of every
    live VM with [root_inv]. An error changes nothing; on SUCCESS the
    ledger is [unshare_ledger] of the whole range, only the pool changed
    besides, and the VM's stage-2 keeps [root_inv] and its update
    [tree_frame]. *)
Theorem MemUnshare_no_failure : forall e tr id ipa n,
  mem_ok e -> pool_placed e -> vms_root_inv e ->
  0 <= id < 2 ^ 64 -> 0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 ->
  exists st e' tr', Isolation.Engine_MemUnshare root id ipa n e tr = Ok st e' tr' /\
    (st <> Abi.Success -> e' = e /\ tr' = tr) /\
    (st = Abi.Success -> exists m q ps, nth_error (Isolation.Engine_vms e) (Z.to_nat (id - 1)) = Some m /\
       Isolation.vm_live m = true /\ len ps = len (Isolation.Engine_pages e) /\
       (forall j, nth j ps Isolation.zero_page = unshare_ledger e (Isolation.vm_s2 m) ipa (Z.to_nat n) j) /\
       e' = Isolation.set_Engine_pool q (Isolation.set_Engine_pages ps e) /\
       root_inv e' (Isolation.stage2_root (Isolation.vm_s2 m)) /\
       pool_base e' = pool_base e /\ len (tables e') = len (tables e) /\
       tree_frame e e' (Isolation.stage2_root (Isolation.vm_s2 m))).
Proof.
  intros e tr id ipa n Hm (Hal & Hbelow) Hroots Hid Hipa Hn.
  pose proof (MemUnshare_reaches_unmap e tr id ipa n Hm Hid Hipa Hn)
    as [(st & Hcall & Hst & _)|(m & N & ps & Hid1 & Hnth & Hlive & Hn1 & Hial & H40 & _ & HN & Hle & Hps & Hled & Hcall)].
  { exists st, e, tr. split; [exact Hcall|]. split; [auto|]. intros E. contradiction. }
  pose proof (Hroots _ m Hnth Hlive) as Hr.
  set (e1 := Isolation.set_Engine_pages ps e).
  assert (Hr1 : root_inv e1 (Isolation.stage2_root (Isolation.vm_s2 m))) by exact Hr.
  pose proof (root_inv_l1 e _ Hr) as Hl. pose proof Hl as ((Hok & _ & _ & Hcok & _) & Ht0 & _).
  assert (Hg1 : good (s2_place (id - 1)) e1 (Isolation.vm_s2 m)) by (apply vm_place_pages; [lia|exact Hnth]).
  pose proof (vm_unmapNeed_pages e tr id m ipa n N ps Hok Hid1 Hnth Hr ltac:(lia) ltac:(lia) H40 HN) as HN1.
  pose proof (unmapRange_no_failure e1 tr (s2_place (id - 1)) (Isolation.vm_s2 m) ipa n N Hg1 Hr1 Hal Hbelow
    ltac:(lia) ltac:(lia) H40 Hial HN1 ltac:(unfold count_ok in Hcok; cbn; lia)) as (st & tr' & Hur & Hr' & HB & HL & _ & Htf).
  pose proof (unmapRange_pool _ _ _ _ _ _ _ _ Hur) as (q & Eq).
  exists Abi.Success, st, tr'. split; [|split; [intros E; exfalso; exact (E eq_refl)|]].
  - rewrite Hcall. fold e1. unfold bind. rewrite Hur. reflexivity.
  - intros _. exists m, q, ps. split; [exact Hnth|]. split; [exact Hlive|]. split; [exact Hps|]. split; [exact Hled|].
    split; [exact Eq|]. split; [exact Hr'|]. split; [exact HB|]. split; [exact HL|exact Htf].
Qed.

(** A page [checkMapped] found mapped is one the abstraction's walk maps,
    at its IPA page, to a page of RAM. *)
Lemma mapped_walk : forall e tr id m ipa n i, tables_ok e -> 0 <= ram_base e -> 1 <= id ->
  nth_error (Isolation.Engine_vms e) (Z.to_nat (id - 1)) = Some m -> s2_ok e (Isolation.vm_s2 m) ->
  ipa mod 4096 = 0 -> 0 <= ipa -> ipa + n * 4096 <= 2 ^ 40 -> 0 <= i < n ->
  mapped_at e tr (s2_place (id - 1)) ipa i ->
  exists pa w, CodeAbs.walk e (Isolation.vm_s2 m) (Z.to_nat (ipa / 4096) + Z.to_nat i) = Some (pa, w) /\
    ram_base e <= pa < ram_base e + ram_size e.
Proof.
  intros e tr id m ipa n i Hok Hb0 Hid Hnth Hs2 Hial Hipa H40 Hi (mp & Htr & Hr1 & Hr2 & Hr3).
  assert (Hg : good (s2_place (id - 1)) e (Isolation.vm_s2 m)) by (apply s2_place_good; [lia|exact Hnth]).
  pose proof Htr as Htr0. rewrite (CodeAbs.translate_ro _ e tr _ _ Hg) in Htr0.
  pose proof (translate_pa e tr _ _ mp Hok Hs2 (proj1 (wrapu_range _)) Htr0) as Hpa.
  rewrite (page_ipa ipa i Hial Hipa ltac:(lia) ltac:(lia)) in Htr.
  exists (Isolation.Mapping_PA mp), (Isolation.Attr_Perms (Isolation.Mapping_Attr mp)).
  split; [rewrite (CodeAbs.walk_translate _ e tr _ _ _ Hg Htr); reflexivity|].
  rewrite wrapu_small in Hr3 by lia. lia.
Qed.
