(** * The checks of MEM_DONATE and MEM_SHARE: no failure outcome

    [checkTransfer] validates a transfer in the contract's order: the vmid,
    the PA and IPA ranges, the permissions, then the ledger entry of every
    page and the VM's stage-2 at every IPA. It only reads. On an engine
    whose ledger covers RAM and whose VMs' stage-2s are trees of tables of
    the pool, it never reaches a failure outcome, for any 64-bit
    arguments, and when it answers SUCCESS what it checked holds: the
    place it returns is that of the live VM slot [id - 1] ([vm_place],
    the place [liveVM] returns, [liveVM_place]), and the two ranges are
    page aligned, in RAM and in the IPA space ([checkTransfer_spec],
    [transfer_passed]). *)
From Coq Require Import ZArith Lia List Bool.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodePlace CodeLoop CodeLedger CodeVCPU CodeVMCreate CodeStage2.
Import ListNotations.
Open Scope Z_scope.

(** The concrete invariant the memory calls' checks need: [ledger_ok],
    a RAM base that is a 64-bit address, a pool of whole tables, and the
    stage-2 of every VM slot a tree of tables of the pool. *)
Definition mem_ok (e : Isolation.Engine) : Prop :=
  ledger_ok e /\ Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e)) < 2 ^ 64 /\
  Isolation.Range_Size (Isolation.Config_RAM (Isolation.Engine_cfg e)) < 2 ^ 64 /\
  len (Isolation.Engine_vms e) < 2 ^ 64 /\ tables_ok e /\
  Forall (fun m => s2_ok e (Isolation.vm_s2 m)) (Isolation.Engine_vms e).

(** The place [liveVM] returns for VM slot [i]: element [i] of the
    engine's VM slots. *)
Definition vm_place (i : Z) : ptr Isolation.Engine Isolation.vm :=
  Place (fun s => nth_error (Isolation.Engine_vms s) (Z.to_nat i))
        (fun a s => if len (Isolation.Engine_vms s) <=? i then None
                    else Some (Isolation.set_Engine_vms (replace_nth (Z.to_nat i) a (Isolation.Engine_vms s)) s)).

Lemma vm_place_good : forall e i m, 0 <= i -> nth_error (Isolation.Engine_vms e) (Z.to_nat i) = Some m ->
  good (vm_place i) e m.
Proof.
  intros e i m Hi Hn. do 2 eexists. split; [reflexivity|]. split; [exact Hn|].
  intros b. assert (Hl : i < len (Isolation.Engine_vms e)).
  { assert (H : nth_error (Isolation.Engine_vms e) (Z.to_nat i) <> None) by congruence.
    apply nth_error_Some in H. unfold len. lia. }
  replace (len (Isolation.Engine_vms e) <=? i) with false by (symmetry; apply Z.leb_gt; exact Hl). eexists. reflexivity.
Qed.

(** [liveVM] returns nil or the place of VM slot [id - 1], which is live. *)
Lemma liveVM_place : forall e tr id, len (Isolation.Engine_vms e) < 2 ^ 64 -> 0 <= id < 2 ^ 64 ->
  exists p, Isolation.Engine_liveVM root id e tr = Ok p e tr /\
  (p = Nil \/ p = vm_place (id - 1) /\ 1 <= id /\
     exists m, nth_error (Isolation.Engine_vms e) (Z.to_nat (id - 1)) = Some m /\ Isolation.vm_live m = true).
Proof.
  intros e tr id Hlen Hid.
  unfold Isolation.Engine_liveVM, bind, ret, wrapu. cbn [deref root].
  assert (Hl0 : 0 <= len (Isolation.Engine_vms e)) by (unfold len; lia).
  destruct (Z.eqb_spec id 0) as [H0|H0]; cbv beta iota.
  { eexists; split; [reflexivity|left; reflexivity]. }
  rewrite (Z.mod_small (len (Isolation.Engine_vms e))) by lia.
  destruct (id >? len (Isolation.Engine_vms e)) eqn:Hg; cbv beta iota.
  { eexists; split; [reflexivity|left; reflexivity]. }
  rewrite Z.gtb_ltb, Z.ltb_ge in Hg.
  rewrite !(Z.mod_small (id - 1)) by lia.
  destruct (nth_error (Isolation.Engine_vms e) (Z.to_nat (id - 1))) as [m|] eqn:Hn.
  2:{ apply nth_error_None in Hn. unfold len in Hg. lia. }
  rewrite (idx_nth (Isolation.Engine_vms e) (id - 1) m e tr ltac:(lia) Hn). cbv beta iota.
  destruct (Isolation.vm_live m) eqn:Hlive; cbv beta iota delta [negb].
  2:{ eexists; split; [reflexivity | left; reflexivity]. }
  cbv [pfield pindex root deref bind ret option_map]; cbv beta iota.
  replace ((id - 1 <? 0) || (len (Isolation.Engine_vms e) <=? id - 1)) with false
    by (symmetry; apply orb_false_iff; split; [apply Z.ltb_ge|apply Z.leb_gt]; lia).
  eexists; split; [reflexivity|]. right. split; [reflexivity|]. split; [lia|]. exists m. split; [first [exact Hn|reflexivity]|exact Hlive].
Qed.

(** [liveVM] returns nil or a place holding one of the VM slots. *)
Lemma liveVM_in : forall e tr id, len (Isolation.Engine_vms e) < 2 ^ 64 -> 0 <= id < 2 ^ 64 ->
  exists p, Isolation.Engine_liveVM root id e tr = Ok p e tr /\
  (p = Nil \/ exists m, good p e m /\ In m (Isolation.Engine_vms e)).
Proof.
  intros e tr id Hlen Hid.
  destruct (liveVM_place e tr id Hlen Hid) as (p & Hp & Hcase). exists p. split; [exact Hp|].
  destruct Hcase as [->|(-> & Hid1 & m & Hn & _)]; [left; reflexivity|right].
  exists m. split; [exact (vm_place_good e (id - 1) m ltac:(lia) Hn)|]. eapply nth_error_In. exact Hn.
Qed.

(** [pfn] of an address at or above the RAM base is its page's index. *)
Lemma pfn_ok : forall (e : Isolation.Engine) tr pa, ledger_ok e ->
  Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e)) <= pa < 2 ^ 64 ->
  Isolation.Engine_pfn root pa e tr =
  Ok ((pa - Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e))) / 4096) e tr.
Proof.
  intros e tr pa Hok Hpa. unfold ledger_ok in Hok.
  unfold Isolation.Engine_pfn, bind, ret. cbn [deref root].
  rewrite wrapu_small by lia. unfold Isolation.PageShift. rewrite shr_small by lia.
  rewrite Z.shiftr_div_pow2 by lia. reflexivity.
Qed.

Lemma wrapu_range : forall z, 0 <= wrapu 64 z < 2 ^ 64.
Proof. intros z. unfold wrapu. apply Z.mod_pos_bound. lia. Qed.

(** What [checkTransfer] checked when it passes: VM slot [id - 1] is
    live, and its place ([vm_place]) is what it returns; [n] pages at [pa] lie in RAM and at [ipa] in
    the IPA space, both page aligned. *)
Definition transfer_passed (e : Isolation.Engine) (id pa ipa n : Z) (v : ptr Isolation.Engine Isolation.vm) : Prop :=
  v = vm_place (id - 1) /\ 1 <= id /\
  (exists m, nth_error (Isolation.Engine_vms e) (Z.to_nat (id - 1)) = Some m /\ Isolation.vm_live m = true) /\
  1 <= n /\ pa mod 4096 = 0 /\ ipa mod 4096 = 0 /\
  Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e)) <= pa /\
  pa + n * 4096 <= Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e)) +
                   Isolation.Range_Size (Isolation.Config_RAM (Isolation.Engine_cfg e)) /\
  ipa + n * 4096 <= 2 ^ 40.

(** [checkTransfer] has no failure outcome and changes neither memory nor
    trace; when it answers SUCCESS its checks passed ([transfer_passed]). *)
Theorem checkTransfer_spec : forall e tr id pa ipa n perms oc,
  mem_ok e -> 0 <= id < 2 ^ 64 -> 0 <= pa < 2 ^ 64 -> 0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 ->
  exists r, Isolation.Engine_checkTransfer root id pa ipa n perms oc e tr = Ok r e tr /\
    (snd r = Abi.Success -> transfer_passed e id pa ipa n (fst r)).
Proof.
  intros e tr id pa ipa n perms oc Hm Hid Hpa Hipa Hn.
  pose proof Hm as (Hl & Hbase & Hsize & Hvl & Ht & Hs2).
  pose proof Hl as Hl'. unfold ledger_ok in Hl'. cbv zeta in Hl'. destruct Hl' as (Hb0 & Hs0 & Hbs & Hal & Hlen).
  set (base := Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e))) in *.
  set (size := Isolation.Range_Size (Isolation.Config_RAM (Isolation.Engine_cfg e))) in *.
  destruct (liveVM_place e tr id Hvl Hid) as (v & Hv & [-> | (Ev & Hid1 & m & Hnth & Hlive)]);
    unfold Isolation.Engine_checkTransfer; cbv beta iota zeta delta [bind ret]; rewrite Hv; cbv beta iota.
  { cbn [is_nil]. eexists. split; [reflexivity|discriminate]. }
  pose proof (vm_place_good e (id - 1) m ltac:(lia) Hnth) as Gm. rewrite <- Ev in Gm.
  assert (Hin : In m (Isolation.Engine_vms e)) by (eapply nth_error_In; exact Hnth).
  assert (Hnil : is_nil v = false) by (destruct Gm as (ld & st & -> & _); reflexivity).
  rewrite Hnil. rewrite deref_root. cbv beta iota.
  destruct (pageRange_spec e tr pa n (Isolation.Config_RAM (Isolation.Engine_cfg e)) Hpa Hn
    (conj Hb0 Hbase) (conj Hs0 Hsize)) as (b1 & Hb1 & Hb1s).
  rewrite Hb1. cbv beta iota.
  destruct b1; cbn [negb].
  2:{ eexists. split; [reflexivity|discriminate]. }
  destruct (proj1 Hb1s eq_refl) as (Hn0 & Hpal & Hpw & Hplo & Hphi). fold base size in Hplo, Hphi.
  destruct (pageRange_spec e tr ipa n Isolation.ipaSpace Hipa Hn ltac:(cbn; lia) ltac:(unfold Isolation.ipaSpace, Isolation.ipaLimit; cbn; lia)) as (b2 & Hb2 & Hb2s).
  rewrite Hb2. cbv beta iota.
  destruct b2; cbn [negb].
  2:{ eexists. split; [reflexivity|discriminate]. }
  destruct (proj1 Hb2s eq_refl) as (_ & Hial & _ & _ & Hihi).
  unfold Isolation.ipaSpace, Isolation.ipaLimit in Hihi. cbn [Isolation.Range_Base Isolation.Range_Size] in Hihi.
  unfold Isolation.validPerms, ret. cbv beta iota.
  destruct (negb (negb (perms =? 0) && (andnot perms 7 =? 0))); cbv beta iota.
  { eexists. split; [reflexivity|discriminate]. }
  (* The ledger: every page's entry is read through an index in range. *)
  assert (Hidx : forall i, 0 <= i < n -> 0 <= (pa - base) / 4096 + i < len (Isolation.Engine_pages e)).
  { intros i Hi. pose proof (Z.mul_div_le (pa - base) 4096 ltac:(lia)).
    split; [apply Z.add_nonneg_nonneg; [apply Z.div_pos|]; lia|]. nia. }
  match goal with |- context [loop max_fuel ?c ?b ?p ?l0] =>
  destruct (loop_spec max_fuel c b p
    (fun i st tr' => st = e /\ tr' = tr /\ 0 <= i <= n)
    (fun j st tr' => st = e /\ tr' = tr /\ match j with Jump x => snd x <> Abi.Success | Fall _ => True end)
    (fun i => Z.to_nat (n - i))) with (l := l0) (s := e) (tr := tr) as (j & s' & tr' & Hl1 & Hq1) end.
  - intros i st tr' (-> & -> & Hi). eexists. split; [reflexivity|]. split; [|auto].
    intros Hc. apply andb_true_iff in Hc as [_ Hc]. apply Z.ltb_lt in Hc. lia.
  - intros i st tr' (-> & -> & Hi) Hc. injection Hc as Hc. apply andb_true_iff in Hc as [_ Hc]. apply Z.ltb_lt in Hc.
    destruct (pfield_good root Isolation.Engine_pages Isolation.set_Engine_pages e e tr (good_root e)) as (q0 & Hq0 & G0).
    destruct (pindex_good q0 e _ ((pa - base) / 4096 + i) tr G0 (Hidx i ltac:(lia))) as (q & pg & Hq & _ & Gq).
    cbv beta iota. rewrite Hq0. cbv beta iota.
    rewrite (pfn_ok e tr pa Hl ltac:(fold base; lia)). fold base. cbv beta iota.
    rewrite wrapu_small by (pose proof (Hidx i ltac:(lia)); unfold len in *; lia).
    rewrite Hq. cbv beta iota.
    unfold Isolation.page_ownedBy, Isolation.HostVMID. cbn [Z.eqb].
    unfold bind at 1, ret at 1. rewrite (deref_good _ _ _ _ Gq). cbv beta iota.
    destruct (negb (Isolation.page_owner pg =? Abi.OwnerHost)); cbv beta iota.
    + eexists _, _, _. split; [reflexivity|]. cbn; repeat split; discriminate.
    + rewrite (deref_good _ _ _ _ Gq). cbv beta iota.
      destruct (Isolation.page_shared pg).
      * eexists _, _, _. split; [reflexivity|]. cbn; repeat split; discriminate.
      * eexists _, _, _. split; [reflexivity|]. eexists. split; [reflexivity|].
        rewrite wrapu_small by lia. split; [repeat split; lia|]. apply Z2Nat.inj_lt; lia.
  - repeat split; lia.
  - rewrite max_fuel_nat. apply Z2Nat.inj_le; unfold max_fuel; lia.
  - rewrite Hl1. destruct Hq1 as (-> & -> & Hx). destruct j as [i|x].
    2:{ eexists. split; [reflexivity|exact (fun H => False_ind _ (Hx H))]. }
    (* The stage-2: every IPA is walked. *)
    assert (Hms2 : s2_ok e (Isolation.vm_s2 m)) by (rewrite Forall_forall in Hs2; apply Hs2; exact Hin).
    destruct (pfield_good v Isolation.vm_s2 Isolation.set_vm_s2 e m tr Gm) as (qs & Hqs & Gs).
    match goal with |- context [loop ?f ?c ?b ?p ?l0] =>
    destruct (loop_spec f c b p
      (fun i st tr' => st = e /\ tr' = tr /\ 0 <= i <= n)
      (fun j st tr' => st = e /\ tr' = tr /\ match j with Jump x => snd x <> Abi.Success | Fall _ => True end)
      (fun i => Z.to_nat (n - i))) with (l := l0) (s := e) (tr := tr) as (j & s' & tr' & Hl2 & Hq2) end.
    + intros k st tr' (-> & -> & Hk). eexists. split; [reflexivity|]. split; [|auto].
      intros Hc. apply Z.ltb_lt in Hc. lia.
    + intros k st tr' (-> & -> & Hk) Hc. injection Hc as Hc. apply Z.ltb_lt in Hc.
      cbv beta iota. rewrite Hqs. cbv beta iota.
      destruct (translate_ok e tr qs (Isolation.vm_s2 m) _ Ht Hms2 Gs (wrapu_range (ipa + shl 64 false k Isolation.PageShift)))
        as ([mp mapped] & Htr).
      rewrite Htr. cbv beta iota.
      destruct mapped.
      * eexists _, _, _. split; [reflexivity|]. cbn; repeat split; discriminate.
      * eexists _, _, _. split; [reflexivity|]. eexists. split; [reflexivity|].
        rewrite wrapu_small by lia. split; [repeat split; lia|]. apply Z2Nat.inj_lt; lia.
    + repeat split; lia.
    + rewrite Z.sub_0_r, fuel_nat by lia. lia.
    + rewrite Hl2. destruct Hq2 as (-> & -> & Hx2). destruct j; eexists; (split; [reflexivity|]); [|exact (fun H => False_ind _ (Hx2 H))].
      intros _. split; [exact Ev|]. split; [exact Hid1|]. split; [exists m; split; assumption|].
      fold base size. cbn in Hihi. lia.
Qed.

Theorem checkTransfer_no_failure : forall e tr id pa ipa n perms oc,
  mem_ok e -> 0 <= id < 2 ^ 64 -> 0 <= pa < 2 ^ 64 -> 0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 ->
  exists r, Isolation.Engine_checkTransfer root id pa ipa n perms oc e tr = Ok r e tr.
Proof.
  intros e tr id pa ipa n perms oc Hm Hid Hpa Hipa Hn.
  destruct (checkTransfer_spec e tr id pa ipa n perms oc Hm Hid Hpa Hipa Hn) as (r & H & _). exists r. exact H.
Qed.
