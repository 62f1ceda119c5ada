(** * The checks MEM_UNSHARE and the guest memory calls share: no failure

    Lemmas about proofs/code/Isolation.v, the translation of isolation/mem.go.
    MEM_UNSHARE, GUEST_SHARE, GUEST_UNSHARE and GUEST_RELINQUISH first check
    each page of their IPA range with [checkMapped] (walk the VM's stage-2,
    read the ledger entry of the page found), then walk the range again:
    MEM_UNSHARE page by page, the guest calls run by run with [nextRun];
    both through [mustTranslate], which panics on a page that is not
    mapped. [checkMapped] never fails on an engine meeting [mem_ok]
    (CodeTransfer), and when it passes each page is mapped to a page of
    RAM ([mapped_at]); [nextRun] never fails on such a range (MEM_UNSHARE's
    walk: CodeUnshare). *)
From Coq Require Import ZArith Lia List Bool.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodePlace CodeLoop CodeLedger CodeVCPU CodeVMCreate CodeStage2 CodeTransfer
  CodeShadow CodeMemState.
Import ListNotations.
Open Scope Z_scope.

(** The page [i] pages into the range at [ipa] is mapped in the stage-2 at
    [s] to a page of RAM: the walk [checkMapped], [nextRun] and MEM_UNSHARE
    make finds a leaf, and [checkMapped] found its output in RAM. *)
Definition mapped_at (e : Isolation.Engine) tr (s : ptr Isolation.Engine Isolation.stage2) ipa i : Prop :=
  exists m, Isolation.Engine_translate root s (wrapu 64 (ipa + shl 64 false i Isolation.PageShift)) e tr = Ok (m, true) e tr /\
    ram_base e <= Isolation.Mapping_PA m /\ 1 <= ram_size e /\ wrapu 64 (Isolation.Mapping_PA m - ram_base e) <= ram_size e - 1.

(** The ledger entry [pg] passes [checkMapped]'s test of its owner,
    sharing and borrower. *)
Definition entry_passes (pg : Isolation.page) (owner : Z) (shared : bool) (borrower : Z) : Prop :=
  (if owner =? Isolation.HostVMID then Isolation.page_owner pg = Abi.OwnerHost
   else Isolation.page_owner pg = Abi.OwnerVM /\ Isolation.page_vm pg = owner) /\
  Isolation.page_shared pg = shared /\ (shared = true -> Isolation.page_borrower pg = borrower).

(** What [checkMapped] found of page [i] of the range: mapped to a page of
    RAM whose ledger entry passes its test. *)
Definition checked_at (e : Isolation.Engine) tr (s : ptr Isolation.Engine Isolation.stage2) ipa i owner shared borrower
  : Prop :=
  exists m pg, Isolation.Engine_translate root s (wrapu 64 (ipa + shl 64 false i Isolation.PageShift)) e tr = Ok (m, true) e tr /\
    ram_base e <= Isolation.Mapping_PA m /\ 1 <= ram_size e /\ wrapu 64 (Isolation.Mapping_PA m - ram_base e) <= ram_size e - 1 /\
    nth_error (Isolation.Engine_pages e) (Z.to_nat (wrapu 64 (Isolation.Mapping_PA m - ram_base e) / 4096)) = Some pg /\
    entry_passes pg owner shared borrower.

Lemma checked_mapped : forall e tr s ipa i owner shared borrower,
  checked_at e tr s ipa i owner shared borrower -> mapped_at e tr s ipa i.
Proof. intros e tr s ipa i owner shared borrower (m & pg & H & H1 & H2 & H3 & _). exists m. auto. Qed.

Lemma page_ownedBy_ok : forall e tr p pg vm', good p e pg ->
  exists b, Isolation.page_ownedBy (S := Isolation.Engine) p vm' e tr = Ok b e tr /\
    (b = true <-> if vm' =? Isolation.HostVMID then Isolation.page_owner pg = Abi.OwnerHost
                  else Isolation.page_owner pg = Abi.OwnerVM /\ Isolation.page_vm pg = vm').
Proof.
  intros e tr p pg vm' Hg. unfold Isolation.page_ownedBy.
  destruct (vm' =? Isolation.HostVMID); unfold bind, ret; rewrite (deref_good _ _ _ tr Hg).
  - eexists. split; [reflexivity|]. apply Z.eqb_eq.
  - destruct (Isolation.page_owner pg =? Abi.OwnerVM) eqn:E; [rewrite (deref_good _ _ _ tr Hg)|].
    + eexists. split; [reflexivity|]. apply Z.eqb_eq in E. rewrite Z.eqb_eq. tauto.
    + eexists. split; [reflexivity|]. apply Z.eqb_neq in E. split; [discriminate|intros (H & _); contradiction].
Qed.

(** checkMapped never fails: on an engine meeting [mem_ok], for a stage-2
    that is [s2_ok] and any 64-bit IPA and count, it returns a status and
    changes nothing; when it returns SUCCESS every page of the range is
    mapped to a page of RAM whose ledger entry passes the test, and
    otherwise it returns DENIED and some page of the range is not. *)
Theorem checkMapped_no_failure : forall e tr s s2 ipa n owner shared borrower,
  mem_ok e -> s2_ok e s2 -> good s e s2 -> 0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 ->
  exists st, Isolation.Engine_checkMapped root s ipa n owner shared borrower e tr = Ok st e tr /\
    (st = Abi.Success -> forall i, 0 <= i < n -> checked_at e tr s ipa i owner shared borrower) /\
    (st <> Abi.Success -> st = Abi.Denied /\
       exists i, 0 <= i < n /\ ~ checked_at e tr s ipa i owner shared borrower).
Proof.
  intros e tr s s2 ipa n owner shared borrower (Hl & _ & _ & _ & Ht & _) Hs2 Hg Hipa Hn.
  unfold Isolation.Engine_checkMapped. cbv zeta. rewrite Z.sub_0_r.
  match goal with |- context [loop n ?c ?b ?po 0] =>
  destruct (loop_spec n c b po
    (fun i st tr' => st = e /\ tr' = tr /\ 0 <= i <= n /\
       forall i', 0 <= i' < i -> checked_at e tr s ipa i' owner shared borrower)
    (fun j st tr' => st = e /\ tr' = tr /\ match j with
       | Fall _ => forall i', 0 <= i' < n -> checked_at e tr s ipa i' owner shared borrower
       | Jump x => x = Abi.Denied /\ exists i', 0 <= i' < n /\ ~ checked_at e tr s ipa i' owner shared borrower end)
    (fun i => Z.to_nat (n - i))) with (l := 0) (s := e) (tr := tr) as (j & s' & tr' & Hj & -> & -> & Hq) end.
  - intros i st tr' (-> & -> & Hi & Hm). exists (i <? n). split; [reflexivity|]. split.
    + intros H. apply Z.ltb_lt in H. lia.
    + intros H. apply Z.ltb_ge in H. split; [reflexivity|]. split; [reflexivity|].
      intros i' Hi'. apply Hm. lia.
  - intros i st tr' (-> & -> & Hi & Hm) Hc. injection Hc as Hc. apply Z.ltb_lt in Hc.
    destruct (translate_ok e tr s s2 _ Ht Hs2 Hg (wrapu_range (ipa + shl 64 false i Isolation.PageShift)))
      as ([m ok] & Htr).
    step_by Htr.
    (* A page that fails its check: the loop leaves with DENIED, and the
       page is not one [checked_at] describes. *)
    Local Ltac denied i H :=
      eexists _, _, _; split; [reflexivity|]; split; [reflexivity|]; split; [reflexivity|];
      split; [reflexivity|]; exists i; split; [lia|exact H].
    assert (Hsame : forall m', Isolation.Engine_translate root s (wrapu 64 (ipa + shl 64 false i Isolation.PageShift)) e tr =
      Ok (m', true) e tr -> m' = m /\ ok = true) by (intros m' H; rewrite Htr in H; injection H as -> ->; auto).
    destruct ok; cbn [negb].
    2:{ step. assert (Hn' : ~ checked_at e tr s ipa i owner shared borrower)
          by (intros (m' & pg' & H & _); destruct (Hsame m' H) as [_ E]; discriminate E).
        denied i Hn'. }
    destruct (ramPage_any e tr (Isolation.Mapping_PA m) Hl) as (b & Hb & Hin).
    erewrite bind_ok by (step_by Hb; reflexivity). cbv beta iota zeta.
    destruct b; cbn [negb].
    2:{ assert (Hn' : ~ checked_at e tr s ipa i owner shared borrower).
        { intros (m' & pg' & H & H1 & _ & H3 & _). destruct (Hsame m' H) as [-> _].
          rewrite (ramPage_spec e tr _ Hl) in Hb. injection Hb as Hb. unfold in_ram in Hb.
          rewrite (proj2 (Z.leb_le _ _) H1), (proj2 (Z.ltb_lt _ _) ltac:(lia)) in Hb. discriminate Hb. }
        denied i Hn'. }
    destruct (Hin eq_refl) as (H1 & H2 & H3).
    destruct (pageAt_in e tr _ Hl H1 H2 H3) as (p & pg & Hp & Hgp & Hpg).
    step_by Hp.
    (* A page [checked_at] describes has this ledger entry. *)
    assert (Hent : checked_at e tr s ipa i owner shared borrower -> entry_passes pg owner shared borrower).
    { intros (m' & pg' & H & _ & _ & _ & Hpg' & Hpass). destruct (Hsame m' H) as [-> _].
      rewrite Hpg in Hpg'. injection Hpg' as <-. exact Hpass. }
    (* The ledger entry's owner, sharing and borrower. *)
    destruct (page_ownedBy_ok e tr p pg owner Hgp) as (b1 & Hb1 & Hown). step_by Hb1.
    assert (Hd : forall A (f : Isolation.page -> A), (let! x := deref p in ret (f x)) e tr = Ok (f pg) e tr)
      by (intros; step_by (deref_good _ _ _ tr Hgp); reflexivity).
    destruct b1; cbn [negb].
    2:{ step. step. assert (Hn' : ~ checked_at e tr s ipa i owner shared borrower)
          by (intros C; pose proof (proj2 Hown (proj1 (Hent C))) as E; discriminate E).
        denied i Hn'. }
    erewrite bind_ok by apply Hd. cbv beta iota zeta.
    destruct (negb (Bool.eqb (Isolation.page_shared pg) shared)) eqn:Esh.
    { step. assert (Hn' : ~ checked_at e tr s ipa i owner shared borrower).
      { intros C. destruct (Hent C) as (_ & E & _). rewrite E, Bool.eqb_reflx in Esh. discriminate Esh. }
      denied i Hn'. }
    assert (Hsh : Isolation.page_shared pg = shared)
      by (apply negb_false_iff, Bool.eqb_prop in Esh; exact Esh).
    (* The page passes: the loop goes on, with one more page known checked. *)
    Local Ltac next i m pg Htr H1 H2 H3 Hpg Hpass Hm :=
      eexists _, _, _; split; [reflexivity|]; eexists; split; [reflexivity|];
      rewrite wrapu_small by lia; split; [|apply Z2Nat.inj_lt; lia];
      split; [reflexivity|]; split; [reflexivity|]; split; [lia|];
      let i' := fresh "i'" in let Hi' := fresh "Hi'" in
      intros i' Hi'; destruct (Z.eq_dec i' i) as [->|?];
        [exists m, pg; split; [exact Htr|split; [exact H1|split; [exact H2|split; [exact H3|split; [exact Hpg|exact Hpass]]]]]
        |apply Hm; lia].
    destruct shared.
    * erewrite bind_ok by (erewrite bind_ok by apply Hd; reflexivity). cbv beta iota zeta.
      destruct (negb (Isolation.page_borrower pg =? borrower)) eqn:Ebo.
      { assert (Hn' : ~ checked_at e tr s ipa i owner true borrower).
        { intros C. destruct (Hent C) as (_ & _ & E). rewrite (E eq_refl), Z.eqb_refl in Ebo. discriminate Ebo. }
        denied i Hn'. }
      assert (Hpass : entry_passes pg owner true borrower).
      { split; [exact (proj1 Hown eq_refl)|]. split; [exact Hsh|]. intros _.
        apply negb_false_iff, Z.eqb_eq in Ebo. exact Ebo. }
      next i m pg Htr H1 H2 H3 Hpg Hpass Hm.
    * step.
      assert (Hpass : entry_passes pg owner false borrower)
        by (split; [exact (proj1 Hown eq_refl)|]; split; [exact Hsh|]; discriminate).
      next i m pg Htr H1 H2 H3 Hpg Hpass Hm.
  - repeat split; lia.
  - destruct (Z.eq_dec n 0) as [->|Hn0]; [cbn; lia|]. rewrite fuel_nat by lia. lia.
  - step_by Hj. destruct j as [i|x].
    + eexists. split; [reflexivity|]. split; [intros _; exact Hq|intros E; contradiction].
    + destruct Hq as (-> & Hfail). eexists. split; [reflexivity|]. split; [discriminate|intros _; auto].
Qed.

(** nextRun never fails on a range whose pages are all mapped: from [k]
    pages in, it returns a run of at least one page that ends inside the
    range, and changes nothing. *)
Theorem nextRun_no_failure : forall e tr s s2 ipa n k,
  tables_ok e -> s2_ok e s2 -> good s e s2 -> 0 <= k < n -> n < 2 ^ 64 ->
  (forall i, 0 <= i < n -> mapped_at e tr s ipa i) ->
  exists first pa cnt, Isolation.Engine_nextRun root s ipa n k e tr = Ok (first, pa, cnt) e tr /\
    1 <= cnt /\ k + cnt <= n.
Proof.
  intros e tr s s2 ipa n k Ht Hs2 Hg Hk Hn Hmapped.
  unfold Isolation.Engine_nextRun. cbv zeta.
  destruct (Hmapped k Hk) as (m & Hm & _).
  unfold Isolation.Engine_mustTranslate. erewrite bind_ok by (step_by Hm; reflexivity). cbv beta iota zeta.
  match goal with |- context [loop max_fuel ?c ?b ?po 1] =>
  destruct (loop_spec max_fuel c b po
    (fun cnt st tr' => st = e /\ tr' = tr /\ 1 <= cnt /\ k + cnt <= n)
    (fun j st tr' => st = e /\ tr' = tr /\ match j with Fall cnt => 1 <= cnt /\ k + cnt <= n | Jump _ => True end)
    (fun cnt => Z.to_nat (n - k - cnt))) with (l := 1) (s := e) (tr := tr) as (j & s' & tr' & Hj & -> & -> & Hq) end.
  - intros cnt st tr' (-> & -> & Hc). exists (k + cnt <? n). rewrite wrapu_small by lia. split; [reflexivity|]. split.
    + intros H. apply Z.ltb_lt in H. lia.
    + intros _. repeat split; lia.
  - intros cnt st tr' (-> & -> & Hc) Hcnd. cbv beta in Hcnd. rewrite wrapu_small in Hcnd by lia.
    injection Hcnd as Hcnd. apply Z.ltb_lt in Hcnd.
    destruct (translate_ok e tr s s2 _ Ht Hs2 Hg (wrapu_range (wrapu 64 (ipa + shl 64 false k Isolation.PageShift) +
                shl 64 false cnt Isolation.PageShift))) as ([m2 ok] & Htr).
    step_by Htr. destruct (_ || _).
    + eexists _, _, _. split; [reflexivity|]. repeat split; lia.
    + eexists _, _, _. split; [reflexivity|]. eexists. split; [reflexivity|].
      rewrite wrapu_small by lia. split; [repeat split; lia|]. apply Z2Nat.inj_lt; lia.
  - repeat split; lia.
  - rewrite max_fuel_nat. unfold max_fuel. lia.
  - step_by Hj. destruct j as [cnt|[]]. destruct Hq as [H1 H2].
    eexists _, _, _. split; [reflexivity|]. split; assumption.
Qed.
