(** * VM_DESTROY's ledger pass: no failure when nothing is shared with the host

    Lemmas about proofs/code/Isolation.v, the translation of
    isolation/vm.go. [releasePages] walks the ledger: a page the VM owns
    becomes nobody's, a host page shared with the VM is unshared, and a run
    of pages the VM owns and shares with the host leaves the host stage-2
    through [unmapRange] (after a check that panics if the reservation
    exceeds the free tables). That last branch needs the stage-2 update
    proofs; when the VM shares no page with the host it is never taken,
    and then [releasePages] never fails and leaves exactly the ledger
    [release_page] describes. *)
From Coq Require Import ZArith Lia List Bool.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodePlace CodeTrack CodeLens CodeLoop CodeVCPU CodeVMCreate CodeShadow CodePool.
Import ListNotations.
Open Scope Z_scope.

(** What VM_DESTROY of VM [id] does to one ledger entry. *)
Definition release_page (id : Z) (p : Isolation.page) : Isolation.page :=
  if (Isolation.page_owner p =? Abi.OwnerVM) && (Isolation.page_vm p =? id)
  then Isolation.mk_page Abi.OwnerNone 0 false 0
  else if (Isolation.page_owner p =? Abi.OwnerHost) && (Isolation.page_shared p && (Isolation.page_borrower p =? id))
  then Isolation.set_page_borrower 0 (Isolation.set_page_shared false p)
  else p.

(** The page is the VM's and shared with the host. *)
Definition shared_to_host (id : Z) (p : Isolation.page) : Prop :=
  Isolation.page_owner p = Abi.OwnerVM /\ Isolation.page_vm p = id /\
  Isolation.page_shared p = true /\ Isolation.page_borrower p = Isolation.HostVMID.

Lemma lens_good : forall {S A} (p : ptr S A) valid get set s, lens p valid get set -> valid s -> good p s (get s).
Proof.
  intros S A p valid get set s (ld & st & -> & Hl & Hs & _) Hv. exists ld, st. split; [reflexivity|].
  split; [exact (Hl s Hv)|]. intros b. eexists. exact (Hs s b Hv).
Qed.

Lemma ownedBy_vm : forall (s : Isolation.Engine) tr p pg id, good p s pg -> id <> Isolation.HostVMID ->
  Isolation.page_ownedBy p id s tr =
  Ok ((Isolation.page_owner pg =? Abi.OwnerVM) && (Isolation.page_vm pg =? id)) s tr.
Proof.
  intros s tr p pg id Hg Hid. unfold Isolation.page_ownedBy.
  destruct (Z.eqb_spec id Isolation.HostVMID); [contradiction|].
  step_by (deref_good _ _ _ tr Hg). destruct (Isolation.page_owner pg =? Abi.OwnerVM).
  - erewrite bind_ok by (step_by (deref_good _ _ _ tr Hg); reflexivity). reflexivity.
  - step. reflexivity.
Qed.

Lemma ownedBy_host : forall (s : Isolation.Engine) tr p pg, good p s pg ->
  Isolation.page_ownedBy p Isolation.HostVMID s tr = Ok (Isolation.page_owner pg =? Abi.OwnerHost) s tr.
Proof. intros s tr p pg Hg. unfold Isolation.page_ownedBy. cbn. step_by (deref_good _ _ _ tr Hg). reflexivity. Qed.

Lemma sharedWith_spec : forall (s : Isolation.Engine) tr p pg id, good p s pg ->
  Isolation.page_sharedWith p id s tr = Ok (Isolation.page_shared pg && (Isolation.page_borrower pg =? id)) s tr.
Proof.
  intros s tr p pg id Hg. unfold Isolation.page_sharedWith. step_by (deref_good _ _ _ tr Hg).
  destruct (Isolation.page_shared pg).
  - erewrite bind_ok by (step_by (deref_good _ _ _ tr Hg); reflexivity). reflexivity.
  - step. reflexivity.
Qed.

Lemma nth_replace_nat : forall {A} n m (a d : A) xs, (n < length xs)%nat ->
  nth m (replace_nth n a xs) d = if Nat.eqb m n then a else nth m xs d.
Proof.
  intros A n m a d xs H. destruct (Nat.eqb_spec m n) as [->|Hne].
  - apply nth_replace. exact H.
  - apply nth_replace_other. intros E. apply Hne. symmetry. exact E.
Qed.

Lemma set_pages_twice : forall a b (e : Isolation.Engine),
  Isolation.set_Engine_pages a (Isolation.set_Engine_pages b e) = Isolation.set_Engine_pages a e.
Proof. intros a b []. reflexivity. Qed.

Lemma get_set_pages : forall a (e : Isolation.Engine), Isolation.Engine_pages (Isolation.set_Engine_pages a e) = a.
Proof. intros a []. reflexivity. Qed.

Lemma set_pages_same : forall (e : Isolation.Engine), Isolation.set_Engine_pages (Isolation.Engine_pages e) e = e.
Proof. intros []. reflexivity. Qed.

(** The ledger after entry [i] is released: entries below [i + 1] are
    released, the others as they were. *)
Lemma release_step : forall id (P ps : list Isolation.page) i,
  length ps = length P -> (i < length P)%nat ->
  (forall j, (j < i)%nat -> nth j ps Isolation.zero_page = release_page id (nth j P Isolation.zero_page)) ->
  (forall j, (i <= j)%nat -> nth j ps Isolation.zero_page = nth j P Isolation.zero_page) ->
  let ps' := replace_nth i (release_page id (nth i P Isolation.zero_page)) ps in
  length ps' = length P /\
  (forall j, (j < S i)%nat -> nth j ps' Isolation.zero_page = release_page id (nth j P Isolation.zero_page)) /\
  (forall j, (S i <= j)%nat -> nth j ps' Isolation.zero_page = nth j P Isolation.zero_page).
Proof.
  intros id P ps i Hl Hi Hlo Hhi ps'. unfold ps'. rewrite replace_nth_length. split; [exact Hl|].
  split; intros j Hj; rewrite nth_replace_nat by lia; destruct (Nat.eqb_spec j i) as [->|Hne];
    [reflexivity|apply Hlo; lia|lia|apply Hhi; lia].
Qed.

(** releasePages never fails when the VM shares no page with the host: it
    leaves every ledger entry as [release_page] makes it, and nothing else
    of the engine changes. *)
Theorem releasePages_unshared : forall e tr id,
  1 <= id < 2 ^ 16 -> len (Isolation.Engine_pages e) < 2 ^ 64 ->
  (forall p, In p (Isolation.Engine_pages e) -> ~ shared_to_host id p) ->
  Isolation.Engine_releasePages root id e tr =
  Ok tt (Isolation.set_Engine_pages (map (release_page id) (Isolation.Engine_pages e)) e) tr.
Proof.
  intros e tr id Hid Hlen Hnone.
  set (P := Isolation.Engine_pages e) in *.
  assert (Hl0 : 0 <= len P) by (unfold len; lia).
  assert (Hid0 : id <> Isolation.HostVMID) by (unfold Isolation.HostVMID; lia).
  unfold Isolation.Engine_releasePages. step_by (deref_root e tr). fold P.
  rewrite wrapu_small by lia.
  destruct (pfield_lens root _ _ _ Isolation.Engine_pages Isolation.set_Engine_pages lens_root ltac:(field_laws))
    as (qps & Hqps & Lps).
  match goal with |- context [loop max_fuel ?c ?b ?po 0] =>
  destruct (loop_spec max_fuel c b po
    (fun i st tr' => tr' = tr /\ 0 <= i <= len P /\ exists ps, st = Isolation.set_Engine_pages ps e /\
       length ps = length P /\
       (forall j, (j < Z.to_nat i)%nat -> nth j ps Isolation.zero_page = release_page id (nth j P Isolation.zero_page)) /\
       (forall j, (Z.to_nat i <= j)%nat -> nth j ps Isolation.zero_page = nth j P Isolation.zero_page))
    (fun j st tr' => tr' = tr /\ exists ps, st = Isolation.set_Engine_pages ps e /\ length ps = length P /\
       (forall j, (j < length P)%nat -> nth j ps Isolation.zero_page = release_page id (nth j P Isolation.zero_page)))
    (fun i => Z.to_nat (len P - i))) with (l := 0) (s := e) (tr := tr) as (j & s' & tr' & Hj & -> & ps & -> & Hpl & Hps) end.
  - intros i st tr' (-> & Hi & ps & -> & Hpl & Hlo & Hhi). exists (i <? len P). split; [reflexivity|]. split.
    + intros H. apply Z.ltb_lt in H. lia.
    + intros H. apply Z.ltb_ge in H. split; [reflexivity|]. exists ps. split; [reflexivity|]. split; [exact Hpl|].
      intros j Hj. apply Hlo. unfold len in *. lia.
  - intros i st tr' (-> & Hi & ps & -> & Hpl & Hlo & Hhi) Hc. injection Hc as Hc. apply Z.ltb_lt in Hc.
    set (st := Isolation.set_Engine_pages ps e).
    assert (Hin : (Z.to_nat i < length P)%nat) by (unfold len in *; lia).
    set (pg := nth (Z.to_nat i) P Isolation.zero_page).
    assert (HpgP : In pg P) by (apply nth_In; exact Hin).
    assert (Hpg : nth (Z.to_nat i) ps Isolation.zero_page = pg) by (apply Hhi; lia).
    destruct (pindex_lens qps _ _ _ i Isolation.zero_page Lps) as (qp & Hqp & Lp). cbv beta in Lp.
    assert (Hv : True /\ 0 <= i < len (Isolation.Engine_pages st)) by (unfold st; rewrite get_set_pages; unfold len in *; lia).
    pose proof (lens_good _ _ _ _ st Lp Hv) as Hg. cbv beta in Hg. unfold st in Hg at 2. rewrite get_set_pages, Hpg in Hg.
    step_by (Hqps st tr). step_by (Hqp st tr I ltac:(unfold st; rewrite get_set_pages; unfold len in *; lia)).
    step_by (ownedBy_vm st tr qp pg id Hg Hid0).
    (* After entry i is settled as [release_page] says. *)
    assert (Hnext : forall st', st' = Isolation.set_Engine_pages (replace_nth (Z.to_nat i) (release_page id pg) ps) e ->
      exists l'', (ret (wrapu 64 (i + 1)) : M Isolation.Engine Z) st' tr = Ok l'' st' tr /\
      (tr = tr /\ 0 <= l'' <= len P /\ exists ps0, st' = Isolation.set_Engine_pages ps0 e /\ length ps0 = length P /\
       (forall j, (j < Z.to_nat l'')%nat -> nth j ps0 Isolation.zero_page = release_page id (nth j P Isolation.zero_page)) /\
       (forall j, (Z.to_nat l'' <= j)%nat -> nth j ps0 Isolation.zero_page = nth j P Isolation.zero_page)) /\
      (Z.to_nat (len P - l'') < Z.to_nat (len P - i))%nat).
    { intros st' ->. eexists. split; [reflexivity|]. rewrite wrapu_small by lia. split; [|apply Z2Nat.inj_lt; lia].
      split; [reflexivity|]. split; [lia|]. eexists. split; [reflexivity|].
      destruct (release_step id P ps (Z.to_nat i) Hpl Hin Hlo Hhi) as (A & B & C). fold pg in A, B, C.
      replace (Z.to_nat (i + 1)) with (S (Z.to_nat i)) by lia. auto. }
    destruct ((Isolation.page_owner pg =? Abi.OwnerVM) && (Isolation.page_vm pg =? id)) eqn:Ho; cbn [negb].
    + erewrite bind_ok by (step_by (sharedWith_spec st tr qp pg Isolation.HostVMID Hg); reflexivity). cbv beta.
      destruct (Isolation.page_shared pg && (Isolation.page_borrower pg =? Isolation.HostVMID)) eqn:Hs.
      { exfalso. apply (Hnone pg HpgP). apply andb_true_iff in Ho as [Ho1 Ho2]. apply andb_true_iff in Hs as [Hs1 Hs2].
        apply Z.eqb_eq in Ho1, Ho2, Hs2. repeat split; assumption. }
      cbn [negb]. step_by (ownedBy_vm st tr qp pg id Hg Hid0). rewrite Ho.
      erewrite bind_ok by (step_by (store_lens _ _ _ _ st (Isolation.mk_page Abi.OwnerNone 0 false 0) tr Lp Hv); reflexivity).
      cbv beta zeta.
      eexists _, _, _. split; [reflexivity|]. apply Hnext.
      unfold st. rewrite get_set_pages, set_pages_twice. unfold release_page. rewrite Ho. reflexivity.
    + step. step_by (ownedBy_vm st tr qp pg id Hg Hid0). rewrite Ho. cbv beta iota zeta.
      destruct (Isolation.page_owner pg =? Abi.OwnerHost) eqn:Hh.
      * destruct (Isolation.page_shared pg && (Isolation.page_borrower pg =? id)) eqn:Hs.
        -- destruct (pfield_lens qp _ _ _ Isolation.page_shared Isolation.set_page_shared Lp ltac:(field_laws)) as (q1 & Hq1 & L1).
           destruct (pfield_lens qp _ _ _ Isolation.page_borrower Isolation.set_page_borrower Lp ltac:(field_laws)) as (q2 & Hq2 & L2).
           set (st1 := Isolation.set_Engine_pages (replace_nth (Z.to_nat i) (Isolation.set_page_shared false pg) ps) e).
           assert (E1 : store q1 false st tr = Ok tt st1 tr).
           { rewrite (store_lens _ _ _ _ st false tr L1 Hv). cbv beta. unfold st1, st.
             rewrite get_set_pages, set_pages_twice, Hpg. reflexivity. }
           assert (Hv1 : True /\ 0 <= i < len (Isolation.Engine_pages st1)) by (unfold st1; rewrite get_set_pages, len_replace; exact Hv).
           set (st2 := Isolation.set_Engine_pages (replace_nth (Z.to_nat i)
                         (Isolation.set_page_borrower 0 (Isolation.set_page_shared false pg)) ps) e).
           assert (E2 : store q2 0 st1 tr = Ok tt st2 tr).
           { rewrite (store_lens _ _ _ _ st1 0 tr L2 Hv1). cbv beta. unfold st2, st1.
             rewrite get_set_pages, set_pages_twice, replace_nth_twice.
             rewrite nth_replace by (rewrite Hpl; exact Hin). reflexivity. }
           erewrite bind_ok; [|step_by (ownedBy_host st tr qp pg Hg); rewrite Hh; cbv beta iota zeta;
             erewrite bind_ok by (step_by (sharedWith_spec st tr qp pg id Hg); reflexivity); cbv beta iota zeta;
             rewrite Hs; step_by (Hq1 st tr); step_by E1; step_by (Hq2 st1 tr); step_by E2; reflexivity].
           cbv beta zeta.
           eexists _, _, _. split; [reflexivity|]. apply Hnext.
           unfold st2. unfold release_page. rewrite Ho, Hh, Hs. reflexivity.
        -- erewrite bind_ok; [|step_by (ownedBy_host st tr qp pg Hg); rewrite Hh; cbv beta iota zeta;
             erewrite bind_ok by (step_by (sharedWith_spec st tr qp pg id Hg); reflexivity); cbv beta iota zeta;
             rewrite Hs; reflexivity].
           cbv beta zeta. eexists _, _, _. split; [reflexivity|]. apply Hnext.
           unfold st, release_page. rewrite Ho, Hh, Hs. cbn [andb].
           rewrite replace_nth_same; [reflexivity|]. rewrite <- Hpg. apply nth_error_nth'. lia.
      * erewrite bind_ok; [|step_by (ownedBy_host st tr qp pg Hg); rewrite Hh; cbv beta iota zeta; step; reflexivity].
        cbv beta zeta. eexists _, _, _. split; [reflexivity|]. apply Hnext.
        unfold st, release_page. rewrite Ho, Hh. cbn [andb].
        rewrite replace_nth_same; [reflexivity|]. rewrite <- Hpg. apply nth_error_nth'. lia.
  - split; [reflexivity|]. split; [lia|]. exists P. split; [symmetry; apply set_pages_same|].
    split; [reflexivity|]. split; [intros j Hj; lia|]. intros j Hj. reflexivity.
  - rewrite max_fuel_nat. unfold max_fuel. unfold len in *. lia.
  - step_by Hj. destruct j as [i|[]]. unfold ret. f_equal. f_equal.
    apply (nth_ext _ _ Isolation.zero_page Isolation.zero_page).
    + rewrite map_length. exact Hpl.
    + intros k Hk. rewrite Hps by lia.
      rewrite nth_indep with (l := map (release_page id) P) (d' := release_page id Isolation.zero_page) by (rewrite map_length; lia).
      rewrite map_nth. reflexivity.
Qed.
