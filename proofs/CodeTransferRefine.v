(** * MEM_DONATE and MEM_SHARE: their checks against the model

    MEM_DONATE ([Engine.MemDonate]) and MEM_SHARE ([Engine.MemShare]) both
    begin with [checkTransfer]: the vmid ([liveVM]), the PA range against
    RAM, the IPA range against the IPA space, the permissions, then the
    ledger entry of every page (owned by the host, not shared), then the
    VM's stage-2 at every IPA (unmapped). MEM_SHARE then refuses a
    protected VM. The model's checks are [Spec.lend_checks], then, for
    MEM_SHARE, [vm_protected].

    [checkTransfer_refine] proves, of the translated code (with the owner
    check on, as both calls run it unless a planted bug turns it off), for
    any 64-bit arguments: [checkTransfer] reaches no failure outcome and
    leaves memory and trace as they were; when it returns an error, that
    error is the status [lend_checks] returns; when it passes, its VM is
    the live slot [id - 1] and [lend_checks] passes too. The first error
    the code meets and the model's agree, check by check: vmid, PA range
    ([CodeMemCall.pa_ok_iff]), IPA range ([ipa_ok_iff]), permissions
    ([perms_ok_iff]) give INVALID_PARAMETERS, a page of the ledger that is
    not the host's or is shared gives DENIED (read through the ledger's
    abstraction, [CodeAbsLedger.abs_pages]), an IPA mapped in the VM's
    stage-2 gives DENIED. [MemDonate_checks_refine] and
    [MemShare_checks_refine] lift this to the calls: an error either call
    returns before its reservation changes nothing and is exactly the
    status of [Spec.mem_donate] (resp. [Spec.mem_share]), which leaves its
    state as it was; when the checks pass (and, for MEM_SHARE, the VM is
    not protected), the model's checks pass too.

    What is assumed rather than proved: the VM part of the abstraction
    does not exist yet. [vms_rel] states what the checks need of it (as
    many VM slots in the model as in the engine, each live and protected
    iff the engine's is, and the engine's IPA space), and [s2_rel] what
    they need of the VM's stage-2 as the model's [vm_s2]: for a live VM,
    the code's walk ([Engine.translate]) finds IPA page [k] mapped iff the
    model's map has a page of RAM at [k]. Both are hypotheses of the
    theorems, to be discharged by an abstraction function for the VM slots
    and their stage-2s. Not covered either: what the calls do after their
    checks (the reservation, [unmapRange], the platform's clean, the
    ledger's commit, [mapRange]). *)
From Coq Require Import ZArith Lia List Bool Arith.
From Bulkhead.Spec Require Import State Spec.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodePlace CodeLoop CodeLedger CodeAbi CodeVCPU CodeVMCreate CodeStage2 CodeTransfer CodeAbsLedger CodeMemCall.
Import ListNotations.
Open Scope Z_scope.

(** ** The model's scans, page by page *)

Lemma all_range_iff : forall n lo f,
  all_range lo n f = true <-> forall p, (lo <= p < lo + n)%nat -> f p = true.
Proof.
  induction n as [|n IH]; intros lo f; cbn [all_range].
  - split; [intros _ p Hp; lia | reflexivity].
  - rewrite andb_true_iff, IH. split.
    + intros [H0 H] p Hp. destruct (Nat.eq_dec p lo) as [->|Hne]; [exact H0|]. apply H. lia.
    + intros H. split; [apply H; lia|]. intros p Hp. apply H. lia.
Qed.

(** No page of [ipa, ipa + n) is mapped iff none of its pages is, one at
    a time. *)
Lemma ipa_range_free_pages : forall c s2 i n,
  ipa_range_free c s2 i n = true <-> forall k, (k < n)%nat -> ipa_range_free c s2 (i + k) 1 = true.
Proof.
  intros c s2 i n. unfold ipa_range_free. setoid_rewrite all_range_iff. unfold mapped_in, in_range.
  split.
  - intros H k Hk p Hp. specialize (H p Hp). apply negb_true_iff in H. apply negb_true_iff.
    apply not_true_is_false. intros Hm. apply andb_true_iff in Hm as [Hr Hm].
    destruct (s2 p) as [[j w]|] eqn:Hs; [|discriminate]. apply andb_true_iff in Hm as [H1 H2].
    apply Nat.leb_le in H1. apply Nat.ltb_lt in H2. rewrite Hr in H. cbn [andb] in H.
    destruct (Nat.leb_spec i j); destruct (Nat.ltb_spec j (i + n)); cbn in H; try discriminate; lia.
  - intros H p Hp. apply negb_true_iff. apply not_true_is_false. intros Hm. apply andb_true_iff in Hm as [Hr Hm].
    destruct (s2 p) as [[j w]|] eqn:Hs; [|discriminate]. apply andb_true_iff in Hm as [H1 H2].
    apply Nat.leb_le in H1. apply Nat.ltb_lt in H2.
    specialize (H (j - i)%nat ltac:(lia) p Hp). rewrite Hr, Hs in H. cbn [andb] in H.
    destruct (Nat.leb_spec (i + (j - i)) j); destruct (Nat.ltb_spec j (i + (j - i) + 1)); cbn in H; try discriminate; lia.
Qed.

(** ** The argument checks *)

(** The model's IPA range check is [pageRange]'s against [ipaSpace]. *)
Lemma ipa_ok_iff : forall c ipa n,
  granule c = 4096%nat -> Z.of_nat (ipa_pages c) * 4096 = Isolation.ipaLimit ->
  0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 ->
  (ipa_ok c (Z.to_nat ipa) (Z.to_nat n) = true <->
   n <> 0 /\ ipa mod 4096 = 0 /\ ipa + n * 4096 < 2 ^ 64 /\ 0 <= ipa /\ ipa + n * 4096 <= 0 + Isolation.ipaLimit).
Proof.
  intros c ipa n Hg Hp Hipa Hn. unfold Isolation.ipaLimit in Hp. unfold ipa_ok. rewrite Hg.
  pose proof (Z.div_mod ipa 4096 ltac:(lia)). pose proof (Z.mod_pos_bound ipa 4096 ltac:(lia)).
  assert (Hd : Z.of_nat (Z.to_nat ipa / 4096) = ipa / 4096) by (rewrite Nat2Z.inj_div, Z2Nat.id by lia; reflexivity).
  assert (Hm : Z.of_nat (Z.to_nat ipa mod 4096) = ipa mod 4096) by (rewrite Nat2Z.inj_mod, Z2Nat.id by lia; reflexivity).
  (* The booleans are taken apart one by one, as in CodeMemCall.pa_ok_iff. *)
  unfold Isolation.ipaLimit. split.
  - intros Hb. apply andb_prop in Hb as [Hb H3]. apply andb_prop in Hb as [H1 H2].
    apply negb_true_iff, Nat.eqb_neq in H1. apply Nat.eqb_eq in H2. apply Nat.leb_le in H3.
    apply (f_equal Z.of_nat) in H2. rewrite Hm in H2. apply Nat2Z.inj_le in H3.
    rewrite Nat2Z.inj_add, Hd, Z2Nat.id in H3 by lia.
    assert (n <> 0) by (intros ->; apply H1; reflexivity). cbn in H2. lia.
  - intros (H1 & H2 & H3 & H4 & H5). apply andb_true_intro; split; [apply andb_true_intro; split|].
    + apply negb_true_iff, Nat.eqb_neq. lia.
    + apply Nat.eqb_eq. apply Nat2Z.inj. rewrite Hm. exact H2.
    + apply Nat.leb_le. apply Nat2Z.inj_le. rewrite Nat2Z.inj_add, Hd, Z2Nat.id by lia. lia.
Qed.

(** [validPerms] is the model's [perms_ok]. *)
Lemma perms_ok_iff : forall perms, 0 <= perms ->
  negb (perms =? 0) && (andnot perms 7 =? 0) = perms_ok (Z.to_nat perms).
Proof.
  intros perms Hp. unfold perms_ok, perms_all, andnot.
  replace (Z.lnot 7) with (Z.lnot (Z.ones 3)) by reflexivity.
  rewrite <- Z.ldiff_land, Z.ldiff_ones_r, Z.shiftl_mul_pow2, Z.shiftr_div_pow2 by lia.
  change (2 ^ 3) with 8.
  destruct (Z.eqb_spec perms 0) as [->|H0]; [reflexivity|].
  replace (Z.to_nat perms =? 0)%nat with false by (symmetry; apply Nat.eqb_neq; lia). cbn [negb andb].
  destruct (Z.eqb_spec (perms / 8 * 8) 0) as [E|E]; destruct (Nat.leb_spec (Z.to_nat perms) 7) as [F|F];
    try reflexivity.
  - exfalso. pose proof (Z.div_mod perms 8 ltac:(lia)). pose proof (Z.mod_pos_bound perms 8 ltac:(lia)). lia.
  - exfalso. apply E. rewrite Z.div_small by lia. reflexivity.
Qed.

(** ** The ledger's pages, as the model reads them *)

Lemma is_host_unshared_abs : forall pg,
  is_host_unshared (abs_page pg) = (Isolation.page_owner pg =? Abi.OwnerHost) && negb (Isolation.page_shared pg).
Proof.
  intros pg. unfold is_host_unshared, abs_page, abs_owner, abs_share. cbn [pg_owner pg_share].
  unfold Abi.OwnerEngine, Abi.OwnerHost, Abi.OwnerVM.
  destruct (Z.eqb_spec (Isolation.page_owner pg) 1); destruct (Z.eqb_spec (Isolation.page_owner pg) 2);
    destruct (Z.eqb_spec (Isolation.page_owner pg) 3); destruct (Isolation.page_shared pg);
    try reflexivity; lia.
Qed.

(** The model's metadata of the [i]-th page of a range of RAM is the
    abstraction of its ledger entry. *)
Lemma abs_pages_at : forall c e s pa i,
  let base := Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e)) in
  let size := Isolation.Range_Size (Isolation.Config_RAM (Isolation.Engine_cfg e)) in
  cfg_rel c e -> ledger_ok e -> ms_pages (st_meta s) = abs_pages c e ->
  0 <= pa -> pa mod 4096 = 0 -> base <= pa -> 0 <= i -> pa + (i + 1) * 4096 <= base + size ->
  ms_pages (st_meta s) (pfn c (Z.to_nat pa) + Z.to_nat i)%nat =
    abs_page (nth (Z.to_nat ((pa - base) / 4096 + i)) (Isolation.Engine_pages e) Isolation.zero_page).
Proof.
  intros c e s pa i base size Hcfg Hl Habs Hpa Hal Hlo Hi Hhi.
  pose proof Hcfg as (Hg & Hrb & Hrs). fold base in Hrb. fold size in Hrs.
  pose proof Hl as Hl'. unfold ledger_ok in Hl'. cbv zeta in Hl'. fold base size in Hl'.
  destruct Hl' as (Hb0 & Hs0 & Hbs & Hbal & Hlen).
  pose proof (Z.div_mod pa 4096 ltac:(lia)) as Hdm. rewrite Hal in Hdm.
  assert (Hp0 : Z.of_nat (pfn c (Z.to_nat pa)) = pa / 4096).
  { unfold pfn. rewrite Hg, Nat2Z.inj_div, Z2Nat.id by lia. reflexivity. }
  assert (Hk : (pa - base) / 4096 = pa / 4096 - Z.of_nat (ram_base c)).
  { rewrite <- Hrb. replace (pa - Z.of_nat (ram_base c) * 4096) with (pa + (- Z.of_nat (ram_base c)) * 4096) by lia.
    rewrite Z.div_add by lia. lia. }
  assert (Hin : in_ram c (pfn c (Z.to_nat pa) + Z.to_nat i) = true).
  { unfold in_ram, in_range. apply andb_true_iff. rewrite Nat.leb_le, Nat.ltb_lt. lia. }
  assert (Hix : (pfn c (Z.to_nat pa) + Z.to_nat i - ram_base c)%nat = Z.to_nat ((pa - base) / 4096 + i)) by lia.
  rewrite Habs. unfold abs_pages. rewrite Hin, Hix. reflexivity.
Qed.

(** ** The VM slots, as the model reads them *)

(** What the checks need of the VM part of the abstraction: the model has
    as many VM slots as the engine, VM [S i] of the model is live (and
    protected) iff slot [i] of the engine is, and the IPA space is the
    engine's. *)
Definition vms_rel (c : config) (e : Isolation.Engine) (m : mstate) : Prop :=
  Z.of_nat (max_vms c) = len (Isolation.Engine_vms e) /\
  Z.of_nat (ipa_pages c) * 4096 = Isolation.ipaLimit /\
  forall i mv, nth_error (Isolation.Engine_vms e) i = Some mv ->
    vm_live (ms_vms m (S i)) = Isolation.vm_live mv /\
    vm_protected (ms_vms m (S i)) = Isolation.vm_protected mv.

(** What the checks need of the stage-2 part of the abstraction, which is
    not defined yet: for a live VM, the code's walk of its stage-2 finds
    IPA page [k] mapped iff the model's [vm_s2] maps a page of RAM there. *)
Definition s2_rel (c : config) (e : Isolation.Engine) (m : mstate) : Prop :=
  forall i mv, nth_error (Isolation.Engine_vms e) i = Some mv -> Isolation.vm_live mv = true ->
  forall q tr k r, good q e (Isolation.vm_s2 mv) -> 0 <= k -> k * 4096 < Isolation.ipaLimit ->
    Isolation.Engine_translate root q (k * 4096) e tr = Ok r e tr ->
    snd r = negb (ipa_range_free c (s2_of m (S i)) (Z.to_nat k) 1).

(** [liveVM] answers as the model's [vmid_ok]: nil when the model rejects
    the vmid, else a place holding the live slot [id - 1]. *)
Lemma liveVM_at : forall c e m tr id, vms_rel c e m -> len (Isolation.Engine_vms e) < 2 ^ 64 -> 0 <= id < 2 ^ 64 ->
  exists p, Isolation.Engine_liveVM root id e tr = Ok p e tr /\
  ((p = Nil /\ vmid_ok c m (Z.to_nat id) = false) \/
   (exists mv, good p e mv /\ nth_error (Isolation.Engine_vms e) (Z.to_nat (id - 1)) = Some mv /\
      Isolation.vm_live mv = true /\ vmid_ok c m (Z.to_nat id) = true)).
Proof.
  intros c e m tr id (Hmax & _ & Hrel) Hlen Hid.
  assert (Hl0 : 0 <= len (Isolation.Engine_vms e)) by (unfold len; lia).
  unfold Isolation.Engine_liveVM, bind, ret, wrapu. cbn [deref root].
  unfold vmid_ok.
  destruct (Z.eqb_spec id 0) as [H0|H0]; cbv beta iota.
  { subst id. eexists; split; [reflexivity|left; split; reflexivity]. }
  replace (Z.to_nat id =? 0)%nat with false by (symmetry; apply Nat.eqb_neq; lia). cbn [negb andb].
  rewrite (Z.mod_small (len (Isolation.Engine_vms e))) by lia.
  destruct (id >? len (Isolation.Engine_vms e)) eqn:Hg; cbv beta iota.
  { rewrite Z.gtb_ltb, Z.ltb_lt in Hg.
    replace (Z.to_nat id <=? max_vms c)%nat with false by (symmetry; apply Nat.leb_gt; lia).
    eexists; split; [reflexivity|left; split; reflexivity]. }
  rewrite Z.gtb_ltb, Z.ltb_ge in Hg.
  replace (Z.to_nat id <=? max_vms c)%nat with true by (symmetry; apply Nat.leb_le; lia). cbn [andb].
  rewrite !(Z.mod_small (id - 1)) by lia.
  pose proof (pfield_good root Isolation.Engine_vms Isolation.set_Engine_vms e e tr (good_root e)) as (q0 & Hq0 & Hg0).
  pose proof (pindex_good q0 e (Isolation.Engine_vms e) (id - 1) tr Hg0 ltac:(lia)) as (q & mv & Hq & Hn & Hgq).
  rewrite (idx_nth (Isolation.Engine_vms e) (id - 1) mv e tr ltac:(lia) Hn). cbv beta iota.
  pose proof (Hrel _ _ Hn) as [Hlive _].
  replace (Z.to_nat id) with (S (Z.to_nat (id - 1))) by lia. rewrite Hlive.
  destruct (Isolation.vm_live mv) eqn:Hl; cbv beta iota delta [negb].
  2:{ eexists; split; [reflexivity | left; split; reflexivity]. }
  rewrite Hq0. cbv beta iota. rewrite Hq.
  eexists; split; [reflexivity|]. right. exists mv. auto.
Qed.

(** ** The checks *)

(** [checkTransfer] refines [lend_checks]. From an engine satisfying
    [mem_ok] and [reclaim_ok], a model state whose page metadata is the
    ledger's abstraction on the same board and whose VM slots and stage-2s
    agree with the engine's as far as [vms_rel] and [s2_rel] say, for any
    64-bit arguments, the translated checks return without a failure
    outcome, leaving memory and trace as they were; an error they return
    is the model's status (which is not SUCCESS), and when they pass the
    model's checks pass and the code's VM is the live slot [id - 1]. *)
Theorem checkTransfer_refine : forall c e s tr id pa ipa n perms,
  mem_ok e -> reclaim_ok e -> cfg_rel c e -> ms_pages (st_meta s) = abs_pages c e ->
  vms_rel c e (st_meta s) -> s2_rel c e (st_meta s) ->
  0 <= id < 2 ^ 64 -> 0 <= pa < 2 ^ 64 -> 0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 -> 0 <= perms < 2 ^ 64 ->
  exists v st, Isolation.Engine_checkTransfer root id pa ipa n perms true e tr = Ok (v, st) e tr /\
  match lend_checks c (st_meta s) (Z.to_nat id) (Z.to_nat pa) (Z.to_nat ipa) (Z.to_nat n) (Z.to_nat perms) with
  | Some sst => go_status sst = st /\ sst <> SUCCESS
  | None => st = Abi.Success /\ exists mv, good v e mv /\
      nth_error (Isolation.Engine_vms e) (Z.to_nat (id - 1)) = Some mv /\ Isolation.vm_live mv = true
  end.
Proof.
  intros c e s tr id pa ipa n perms Hm Hrok Hcfg Habs Hvr Hsr Hid Hpa Hipa Hn Hperms.
  pose proof Hm as (Hl & Hbase & Hsize & Hvl & Ht & Hs2).
  pose proof Hl as Hl'. unfold ledger_ok in Hl'. cbv zeta in Hl'. destruct Hl' as (Hb0 & Hs0 & Hbs & Hal & Hlen).
  pose proof Hrok as (_ & Hend).
  pose proof Hvr as (Hmax & Hipap & Hrel).
  set (base := Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e))) in *.
  set (size := Isolation.Range_Size (Isolation.Config_RAM (Isolation.Engine_cfg e))) in *.
  unfold lend_checks.
  pose proof (liveVM_at c e (st_meta s) tr id Hvr Hvl Hid) as (v & Hv & [(-> & Hvid) | (mv & Gm & Hnth & Hlive & Hvid)]);
    unfold Isolation.Engine_checkTransfer.
  { cbv beta iota zeta delta [bind ret]. rewrite Hv. cbv beta iota. rewrite Hvid. cbn [negb]. cbn [is_nil]. eexists _, _. split; [reflexivity|]. split; [reflexivity|discriminate]. }
  cbv beta iota zeta delta [bind ret]. rewrite Hv. cbv beta iota. rewrite Hvid. cbn [negb].
  assert (Hid1 : 1 <= id).
  { destruct (Z.eqb_spec id 0) as [->|]; [|lia]. unfold vmid_ok in Hvid. cbn in Hvid. discriminate. }
  assert (Hnil : is_nil v = false) by (destruct Gm as (ld & st & -> & _); reflexivity).
  rewrite Hnil. rewrite deref_root. cbv beta iota.
  pose proof (pageRange_spec e tr pa n (Isolation.Config_RAM (Isolation.Engine_cfg e)) Hpa Hn
    (conj Hb0 Hbase) (conj Hs0 Hsize)) as (b1 & Hb1 & Hb1s).
  rewrite Hb1. cbv beta iota.
  pose proof (pa_ok_iff c e pa n Hcfg Hl ltac:(fold base size; lia) Hpa Hn) as Hpaok. fold base size in Hpaok.
  destruct b1; cbn [negb].
  2:{ replace (pa_ok c (Z.to_nat pa) (Z.to_nat n)) with false.
      - eexists _, _. split; [reflexivity|]. split; [reflexivity|discriminate].
      - symmetry. apply not_true_is_false. intros H. apply Hpaok in H. apply Hb1s in H. discriminate. }
  pose proof (proj1 Hb1s eq_refl) as (Hn0 & Hpal & Hpw & Hplo & Hphi). fold base size in Hplo, Hphi.
  replace (pa_ok c (Z.to_nat pa) (Z.to_nat n)) with true by (symmetry; apply Hpaok; auto). cbn [negb].
  pose proof (pageRange_spec e tr ipa n Isolation.ipaSpace Hipa Hn ltac:(cbn; lia) ltac:(unfold Isolation.ipaSpace, Isolation.ipaLimit; cbn; lia)) as (b2 & Hb2 & Hb2s).
  rewrite Hb2. cbv beta iota.
  pose proof (ipa_ok_iff c ipa n (proj1 Hcfg) Hipap Hipa Hn) as Hipaok.
  cbn [Isolation.ipaSpace Isolation.Range_Base Isolation.Range_Size] in Hb2s.
  destruct b2; cbn [negb].
  2:{ replace (ipa_ok c (Z.to_nat ipa) (Z.to_nat n)) with false.
      - eexists _, _. split; [reflexivity|]. split; [reflexivity|discriminate].
      - symmetry. apply not_true_is_false. intros H. apply Hipaok in H. apply Hb2s in H. discriminate. }
  pose proof (proj1 Hb2s eq_refl) as (_ & Hial & Hiw & _ & Hihi).
  replace (ipa_ok c (Z.to_nat ipa) (Z.to_nat n)) with true by (symmetry; apply Hipaok; repeat split; lia). cbn [negb].
  unfold Isolation.validPerms, ret. cbv beta iota.
  rewrite (perms_ok_iff perms ltac:(lia)).
  destruct (perms_ok (Z.to_nat perms)); cbn [negb]; cbv beta iota.
  2:{ eexists _, _. split; [reflexivity|]. split; [reflexivity|discriminate]. }
  (* The ledger: every page is the host's and not shared. *)
  assert (Hidx : forall i, 0 <= i < n -> 0 <= (pa - base) / 4096 + i < len (Isolation.Engine_pages e)).
  { intros i Hi. pose proof (Z.mul_div_le (pa - base) 4096 ltac:(lia)).
    split; [apply Z.add_nonneg_nonneg; [apply Z.div_pos|]; lia|]. nia. }
  set (hu := fun i => is_host_unshared (ms_pages (st_meta s) (pfn c (Z.to_nat pa) + Z.to_nat i)%nat)).
  assert (Hhu : forall i pg, 0 <= i < n ->
    nth_error (Isolation.Engine_pages e) (Z.to_nat ((pa - base) / 4096 + i)) = Some pg ->
    hu i = (Isolation.page_owner pg =? Abi.OwnerHost) && negb (Isolation.page_shared pg)).
  { intros i pg Hi Hpg. unfold hu. rewrite (abs_pages_at c e s pa i Hcfg Hl Habs) by (fold base size; lia).
    fold base. rewrite (nth_error_nth _ _ _ Hpg). apply is_host_unshared_abs. }
  match goal with |- context [loop max_fuel ?c ?b ?p ?l0] =>
  destruct (loop_spec max_fuel c b p
    (fun i st tr' => st = e /\ tr' = tr /\ 0 <= i <= n /\ forall i', 0 <= i' < i -> hu i' = true)
    (fun j st tr' => st = e /\ tr' = tr /\
       match j with
       | Fall _ => forall i', 0 <= i' < n -> hu i' = true
       | Jump x => x = (Nil, Abi.Denied) /\ exists i, 0 <= i < n /\ hu i = false
       end)
    (fun i => Z.to_nat (n - i))) with (l := l0) (s := e) (tr := tr) as (j & s' & tr' & Hl1 & Hq1) end.
  - intros i st tr' (-> & -> & Hi & Hall). eexists. split; [reflexivity|]. split.
    + intros Hc. cbn [andb] in Hc. apply Z.ltb_lt in Hc. lia.
    + intros Hc. cbn [andb] in Hc. apply Z.ltb_ge in Hc. split; [reflexivity|]. split; [reflexivity|].
      intros i' Hi'. apply Hall. lia.
  - intros i st tr' (-> & -> & Hi & Hall) Hc. injection Hc as Hc. cbn [andb] in Hc. apply Z.ltb_lt in Hc.
    pose proof (pfield_good root Isolation.Engine_pages Isolation.set_Engine_pages e e tr (good_root e)) as (q0 & Hq0 & G0).
    pose proof (pindex_good q0 e _ ((pa - base) / 4096 + i) tr G0 (Hidx i ltac:(lia))) as (q & pg & Hq & Hpg & Gq).
    cbv beta iota. rewrite Hq0. cbv beta iota.
    rewrite (pfn_ok e tr pa Hl ltac:(fold base; lia)). fold base. cbv beta iota.
    rewrite wrapu_small by (pose proof (Hidx i ltac:(lia)); unfold len in *; lia).
    rewrite Hq. cbv beta iota.
    unfold Isolation.page_ownedBy, Isolation.HostVMID. cbn [Z.eqb].
    unfold bind at 1, ret at 1. rewrite (deref_good _ _ _ _ Gq). cbv beta iota.
    pose proof (Hhu i pg ltac:(lia) Hpg) as Hh.
    destruct (Isolation.page_owner pg =? Abi.OwnerHost) eqn:Eo; cbn [negb]; cbv beta iota.
    + rewrite (deref_good _ _ _ _ Gq). cbv beta iota.
      destruct (Isolation.page_shared pg) eqn:Es.
      * eexists _, _, _. split; [reflexivity|]. split; [reflexivity|]. split; [reflexivity|].
        split; [reflexivity|]. exists i. split; [lia|]. exact Hh.
      * eexists _, _, _. split; [reflexivity|]. eexists. split; [reflexivity|].
        rewrite wrapu_small by lia. split; [|apply Z2Nat.inj_lt; lia].
        split; [reflexivity|]. split; [reflexivity|]. split; [lia|].
        intros i' Hi'. destruct (Z.eq_dec i' i) as [->|Hne]; [exact Hh|]. apply Hall. lia.
    + eexists _, _, _. split; [reflexivity|]. split; [reflexivity|]. split; [reflexivity|].
      split; [reflexivity|]. exists i. split; [lia|]. exact Hh.
  - split; [reflexivity|]. split; [reflexivity|]. split; [lia|]. intros; lia.
  - rewrite max_fuel_nat. apply Z2Nat.inj_le; unfold max_fuel; lia.
  - rewrite Hl1. destruct Hq1 as (-> & -> & Hj). destruct j as [i|x].
    2:{ destruct Hj as (-> & i & Hi & Hbad). cbv beta iota.
        replace (all_range (pfn c (Z.to_nat pa)) (Z.to_nat n) (fun p => is_host_unshared (ms_pages (st_meta s) p))) with false.
        - eexists _, _. split; [reflexivity|]. split; [reflexivity|discriminate].
        - symmetry. apply not_true_is_false. intros H. rewrite all_range_iff in H.
          unfold hu in Hbad. rewrite H in Hbad by lia. discriminate. }
    replace (all_range (pfn c (Z.to_nat pa)) (Z.to_nat n) (fun p => is_host_unshared (ms_pages (st_meta s) p))) with true.
    2:{ symmetry. apply all_range_iff. intros p Hp.
        replace p with (pfn c (Z.to_nat pa) + Z.to_nat (Z.of_nat (p - pfn c (Z.to_nat pa))))%nat by lia.
        apply (Hj (Z.of_nat (p - pfn c (Z.to_nat pa)))). lia. }
    cbn [negb]. cbv beta iota.
    (* The stage-2: no IPA of the range is mapped. *)
    set (fr := fun k => ipa_range_free c (s2_of (st_meta s) (Z.to_nat id)) (pfn c (Z.to_nat ipa) + Z.to_nat k)%nat 1).
    assert (Hms2 : s2_ok e (Isolation.vm_s2 mv)).
    { rewrite Forall_forall in Hs2. apply Hs2. eapply nth_error_In. exact Hnth. }
    pose proof (pfield_good v Isolation.vm_s2 Isolation.set_vm_s2 e mv tr Gm) as (qs & Hqs & Gs).
    pose proof (Z.div_mod ipa 4096 ltac:(lia)) as Hidm. rewrite Hial in Hidm.
    assert (Hpfn : forall k, 0 <= k -> Z.to_nat (ipa / 4096 + k) = (pfn c (Z.to_nat ipa) + Z.to_nat k)%nat).
    { intros k Hk. unfold pfn. rewrite (proj1 Hcfg). rewrite Z2Nat.inj_add by (try apply Z.div_pos; lia).
      rewrite Z2Nat.inj_div by lia. reflexivity. }
    match goal with |- context [loop ?f ?c ?b ?p ?l0] =>
    destruct (loop_spec f c b p
      (fun k st tr' => st = e /\ tr' = tr /\ 0 <= k <= n /\ forall k', 0 <= k' < k -> fr k' = true)
      (fun j st tr' => st = e /\ tr' = tr /\
         match j with
         | Fall _ => forall k', 0 <= k' < n -> fr k' = true
         | Jump x => x = (Nil, Abi.Denied) /\ exists k, 0 <= k < n /\ fr k = false
         end)
      (fun k => Z.to_nat (n - k))) with (l := l0) (s := e) (tr := tr) as (j & s' & tr' & Hl2 & Hq2) end.
    + intros k st tr' (-> & -> & Hk & Hall). eexists. split; [reflexivity|]. split.
      * intros Hc. apply Z.ltb_lt in Hc. lia.
      * intros Hc. apply Z.ltb_ge in Hc. split; [reflexivity|]. split; [reflexivity|].
        intros k' Hk'. apply Hall. lia.
    + intros k st tr' (-> & -> & Hk & Hall) Hc. injection Hc as Hc. apply Z.ltb_lt in Hc.
      cbv beta iota. rewrite Hqs. cbv beta iota.
      rewrite shl12 by lia. rewrite wrapu_small by lia.
      replace (ipa + k * 4096) with ((ipa / 4096 + k) * 4096) by lia.
      pose proof (translate_ok e tr qs (Isolation.vm_s2 mv) ((ipa / 4096 + k) * 4096) Ht Hms2 Gs ltac:(lia))
        as ([mp mapped] & Htr).
      pose proof (Hsr _ _ Hnth Hlive qs tr (ipa / 4096 + k) _ Gs ltac:(apply Z.add_nonneg_nonneg; [apply Z.div_pos|]; lia)
        ltac:(unfold Isolation.ipaLimit in *; lia) Htr) as Hfr.
      cbn [snd] in Hfr. rewrite Hpfn in Hfr by lia.
      replace (S (Z.to_nat (id - 1))) with (Z.to_nat id) in Hfr by lia. fold (fr k) in Hfr.
      rewrite Htr. cbv beta iota.
      destruct mapped.
      * eexists _, _, _. split; [reflexivity|]. split; [reflexivity|]. split; [reflexivity|].
        split; [reflexivity|]. exists k. split; [lia|]. destruct (fr k); [discriminate|reflexivity].
      * eexists _, _, _. split; [reflexivity|]. eexists. split; [reflexivity|].
        rewrite wrapu_small by lia. split; [|apply Z2Nat.inj_lt; lia].
        split; [reflexivity|]. split; [reflexivity|]. split; [lia|].
        intros k' Hk'. destruct (Z.eq_dec k' k) as [->|Hne]; [destruct (fr k); [reflexivity|discriminate]|]. apply Hall. lia.
    + split; [reflexivity|]. split; [reflexivity|]. split; [lia|]. intros; lia.
    + rewrite Z.sub_0_r, fuel_nat by lia. lia.
    + rewrite Hl2. destruct Hq2 as (-> & -> & Hj2). destruct j as [k|x].
      2:{ destruct Hj2 as (-> & k & Hk & Hbad). cbv beta iota.
          replace (ipa_range_free c (s2_of (st_meta s) (Z.to_nat id)) (pfn c (Z.to_nat ipa)) (Z.to_nat n)) with false.
          - eexists _, _. split; [reflexivity|]. split; [reflexivity|discriminate].
          - symmetry. apply not_true_is_false. intros H. rewrite ipa_range_free_pages in H.
            unfold fr in Hbad. rewrite H in Hbad by lia. discriminate. }
      replace (ipa_range_free c (s2_of (st_meta s) (Z.to_nat id)) (pfn c (Z.to_nat ipa)) (Z.to_nat n)) with true.
      2:{ symmetry. apply ipa_range_free_pages. intros k' Hk'.
          replace k' with (Z.to_nat (Z.of_nat k')) by lia. apply (Hj2 (Z.of_nat k')). lia. }
      cbn [negb]. cbv beta iota.
      eexists _, _. split; [reflexivity|]. split; [reflexivity|]. exists mv. auto.
Qed.

Lemma status_not_success : forall sst, sst <> SUCCESS -> (go_status sst =? Abi.Success) = false.
Proof.
  intros sst H. apply Z.eqb_neq. intros E. apply H. apply abi_status_injective. exact E.
Qed.

(** ** MEM_DONATE *)

(** MEM_DONATE's checks refine the model's. Under the hypotheses of
    [checkTransfer_refine], for any 64-bit arguments, either the
    translated call returns an error with no failure outcome, leaving
    memory and trace as they were, and [Spec.mem_donate] returns the same
    status and leaves its state as it was; or the checks pass, on a place
    holding the live VM slot [id - 1], and then the model's checks pass
    too. What the call does next (the reservation and the commit) is not
    covered by this theorem. *)
Theorem MemDonate_checks_refine : forall c e s tr id pa ipa n perms,
  mem_ok e -> reclaim_ok e -> cfg_rel c e -> ms_pages (st_meta s) = abs_pages c e ->
  vms_rel c e (st_meta s) -> s2_rel c e (st_meta s) ->
  0 <= id < 2 ^ 64 -> 0 <= pa < 2 ^ 64 -> 0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 -> 0 <= perms < 2 ^ 64 ->
  (exists st sst, Isolation.Engine_MemDonate root id pa ipa n perms e tr = Ok st e tr /\
     mem_donate c s (Z.to_nat id) (Z.to_nat pa) (Z.to_nat ipa) (Z.to_nat n) (Z.to_nat perms) = (s, err sst) /\
     go_status sst = st /\ sst <> SUCCESS)
  \/
  (exists v mv, Isolation.Engine_checkTransfer root id pa ipa n perms true e tr = Ok (v, Abi.Success) e tr /\
     good v e mv /\ nth_error (Isolation.Engine_vms e) (Z.to_nat (id - 1)) = Some mv /\ Isolation.vm_live mv = true /\
     lend_checks c (st_meta s) (Z.to_nat id) (Z.to_nat pa) (Z.to_nat ipa) (Z.to_nat n) (Z.to_nat perms) = None).
Proof.
  intros c e s tr id pa ipa n perms Hm Hrok Hcfg Habs Hvr Hsr Hid Hpa Hipa Hn Hperms.
  pose proof (checkTransfer_refine c e s tr id pa ipa n perms Hm Hrok Hcfg Habs Hvr Hsr Hid Hpa Hipa Hn Hperms)
    as (v & st & Hct & Hmodel).
  destruct (lend_checks c (st_meta s) (Z.to_nat id) (Z.to_nat pa) (Z.to_nat ipa) (Z.to_nat n) (Z.to_nat perms)) as [sst|] eqn:Hlc.
  - destruct Hmodel as (<- & Hns). left. exists (go_status sst), sst.
    split; [|split; [unfold mem_donate; rewrite Hlc; reflexivity|split; [reflexivity|exact Hns]]].
    unfold Isolation.Engine_MemDonate. cbn [negb]. unfold bind at 1. rewrite Hct. cbv beta iota.
    rewrite (status_not_success sst Hns). reflexivity.
  - destruct Hmodel as (-> & mv & Gm & Hnth & Hlive). right. exists v, mv. auto.
Qed.

(** ** MEM_SHARE *)

(** MEM_SHARE's checks refine the model's, its refusal of a protected VM
    included. Under the hypotheses of [checkTransfer_refine], for any
    64-bit arguments, either the translated call returns an error with no
    failure outcome, leaving memory and trace as they were, and
    [Spec.mem_share] returns the same status and leaves its state as it
    was; or the checks pass, on a place holding the live, unprotected VM
    slot [id - 1], and then the model's checks pass too and its VM is not
    protected. What the call does next (the reservation and the commit)
    is not covered by this theorem. *)
Theorem MemShare_checks_refine : forall c e s tr id pa ipa n perms,
  mem_ok e -> reclaim_ok e -> cfg_rel c e -> ms_pages (st_meta s) = abs_pages c e ->
  vms_rel c e (st_meta s) -> s2_rel c e (st_meta s) ->
  0 <= id < 2 ^ 64 -> 0 <= pa < 2 ^ 64 -> 0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 -> 0 <= perms < 2 ^ 64 ->
  (exists st sst, Isolation.Engine_MemShare root id pa ipa n perms e tr = Ok st e tr /\
     mem_share c s (Z.to_nat id) (Z.to_nat pa) (Z.to_nat ipa) (Z.to_nat n) (Z.to_nat perms) = (s, err sst) /\
     go_status sst = st /\ sst <> SUCCESS)
  \/
  (exists v mv, Isolation.Engine_checkTransfer root id pa ipa n perms true e tr = Ok (v, Abi.Success) e tr /\
     good v e mv /\ nth_error (Isolation.Engine_vms e) (Z.to_nat (id - 1)) = Some mv /\ Isolation.vm_live mv = true /\
     Isolation.vm_protected mv = false /\
     lend_checks c (st_meta s) (Z.to_nat id) (Z.to_nat pa) (Z.to_nat ipa) (Z.to_nat n) (Z.to_nat perms) = None /\
     vm_protected (ms_vms (st_meta s) (Z.to_nat id)) = false).
Proof.
  intros c e s tr id pa ipa n perms Hm Hrok Hcfg Habs Hvr Hsr Hid Hpa Hipa Hn Hperms.
  pose proof (checkTransfer_refine c e s tr id pa ipa n perms Hm Hrok Hcfg Habs Hvr Hsr Hid Hpa Hipa Hn Hperms)
    as (v & st & Hct & Hmodel).
  destruct (lend_checks c (st_meta s) (Z.to_nat id) (Z.to_nat pa) (Z.to_nat ipa) (Z.to_nat n) (Z.to_nat perms)) as [sst|] eqn:Hlc.
  - destruct Hmodel as (<- & Hns). left. exists (go_status sst), sst.
    split; [|split; [unfold mem_share; rewrite Hlc; reflexivity|split; [reflexivity|exact Hns]]].
    unfold Isolation.Engine_MemShare. unfold bind at 1. rewrite Hct. cbv beta iota.
    rewrite (status_not_success sst Hns). reflexivity.
  - destruct Hmodel as (-> & mv & Gm & Hnth & Hlive).
    assert (Hid1 : 1 <= id).
    { destruct (Z.eqb_spec id 0) as [->|]; [|lia]. unfold lend_checks, vmid_ok in Hlc. cbn in Hlc. discriminate. }
    destruct Hvr as (_ & _ & Hrel). pose proof (Hrel _ _ Hnth) as (_ & Hprot).
    replace (S (Z.to_nat (id - 1))) with (Z.to_nat id) in Hprot by lia.
    destruct (Isolation.vm_protected mv) eqn:Hp.
    + left. exists Abi.Denied, DENIED.
      split; [|split; [unfold mem_share; rewrite Hlc, Hprot; reflexivity|split; [reflexivity|discriminate]]].
      unfold Isolation.Engine_MemShare. unfold bind at 1. rewrite Hct. cbv beta iota.
      rewrite Z.eqb_refl. cbn [negb]. unfold bind at 1. rewrite (deref_good _ _ _ _ Gm). cbv beta iota.
      rewrite Hp. reflexivity.
    + right. exists v, mv. rewrite Hprot. repeat split; auto.
Qed.
