(** * The errors of GUEST_SHARE, GUEST_UNSHARE and GUEST_RELINQUISH are
      the model's

    Theorems about proofs/code/Isolation.v, the translation of
    isolation/mem.go. Each of the three guest memory calls checks its
    range (page aligned inside the IPA space, at most [GuestMaxPages]
    pages), then each page of it with [checkMapped], then sums the
    tables its runs need and answers NO_MEMORY when the pool has fewer
    free; only then does it change anything, and it answers SUCCESS.
    Proved here, for a live VM, from [create_inv], [mem_ok] and
    [owners_ok]: an answer other than SUCCESS leaves the engine as it
    was, and it is NO_MEMORY (a step with no effect) or the status the
    model's step answers from the abstraction, which leaves its state as
    it was: INVALID_PARAMETERS for a range outside the IPA space or too
    long, DENIED for a page of the range the VM does not map as its own
    page unshared ([GuestShare_errors_refine],
    [GuestRelinquish_errors_refine]) or shared with the host
    ([GuestUnshare_errors_refine]). *)
From Coq Require Import ZArith Lia List Bool.
From Bulkhead.Spec Require Import State Spec.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodePlace CodeVMCreate CodeStage2 CodeTransfer CodeAbsLedger CodeMemCall CodeAbs
  CodeVMCreateRefine CodeVMCreateInv CodeLedger CodeLedgerRefine CodeS2Refine CodeMapped CodeTransferRefine CodeAbi
  CodeUnshareRefine CodeMemState.
Import ListNotations.
Open Scope Z_scope.

(** One step of a proof over the translated code whose first
    computation is a [ret]. The proofs below take each call apart in the
    goal, an outcome of the call implying what is proved: the kernel
    checks each step there as it is made. *)
Ltac ret_g := match goal with |- context [bind (ret ?x) ?f] =>
  change (bind (ret x) f) with (f x) end; cbv beta iota zeta.

(** A computation that returns: its first part returned. *)
Lemma bind_inv : forall {S A B} (m : M S A) (f : A -> M S B) s t b s' t',
  bind m f s t = Ok b s' t' -> exists a s1 t1, m s t = Ok a s1 t1 /\ f a s1 t1 = Ok b s' t'.
Proof.
  intros S A B m f s t b s' t' H. unfold bind in H. destruct (m s t) as [a s1 t1|x]; [|discriminate H].
  exists a, s1, t1. split; [reflexivity|exact H].
Qed.

(** Takes apart a hypothesis that a computation returned: its first part
    returned [pat] in [L], with memory [s1] and trace [t1]. *)
Tactic Notation "bind_in" hyp(H) ident(L) simple_intropattern(pat) ident(s1) ident(t1) := match type of H with bind ?x ?f ?s ?t = _ =>
  let a := fresh "a" in let H' := fresh "H" in
  pose proof (bind_inv x f s t _ _ _ H) as (a & s1 & t1 & L & H'); clear H; rename H' into H;
  destruct a as pat; cbv beta iota zeta in H
  end.

Lemma frame_nextRun : forall S (e : ptr S Isolation.Engine) s ipa n k, frame eq any (Isolation.Engine_nextRun e s ipa n k).
Proof. intros. unfold Isolation.Engine_nextRun. framed. Qed.
#[export] Hint Resolve frame_nextRun : frame.

(** ** The model's checks *)

(** The model's range check of a guest call fails when the code's does:
    a range not page aligned inside the IPA space, or of more than
    [GuestMaxPages] pages. *)
Lemma guest_range_refused : forall c ipa n b, granule c = 4096%nat ->
  Z.of_nat (ipa_pages c) * 4096 = Isolation.ipaLimit -> 0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 ->
  (b = true <-> n <> 0 /\ ipa mod 4096 = 0 /\ ipa + n * 4096 < 2 ^ 64 /\
     Isolation.Range_Base Isolation.ipaSpace <= ipa /\
     ipa + n * 4096 <= Isolation.Range_Base Isolation.ipaSpace + Isolation.Range_Size Isolation.ipaSpace) ->
  negb b || negb ((n <=? Abi.GuestMaxPages) || false) = true ->
  guest_range_ok c (Z.to_nat ipa) (Z.to_nat n) = false.
Proof.
  intros c ipa n b G Hipl Hipa Hn Hbs Hbad. unfold guest_range_ok, guest_max_pages.
  apply andb_false_iff. apply orb_true_iff in Hbad as [Hb|Hg].
  - left. destruct (ipa_ok c (Z.to_nat ipa) (Z.to_nat n)) eqn:Hk; [|reflexivity].
    apply (ipa_ok_iff c ipa n G Hipl Hipa Hn) in Hk. apply negb_true_iff in Hb. subst b.
    assert (E : false = true); [|discriminate E]. apply Hbs. exact Hk.
  - right. rewrite orb_false_r in Hg. apply negb_true_iff, Z.leb_gt in Hg. unfold Abi.GuestMaxPages in Hg.
    apply Nat.leb_gt. lia.
Qed.

(** The model's range check of a guest call passes when the code's does. *)
Lemma guest_range_passes : forall c ipa n, granule c = 4096%nat ->
  Z.of_nat (ipa_pages c) * 4096 = Isolation.ipaLimit -> 0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 ->
  n <> 0 /\ ipa mod 4096 = 0 /\ ipa + n * 4096 < 2 ^ 64 /\ 0 <= ipa /\ ipa + n * 4096 <= 0 + Isolation.ipaLimit ->
  n <= Abi.GuestMaxPages ->
  guest_range_ok c (Z.to_nat ipa) (Z.to_nat n) = true.
Proof.
  intros c ipa n G Hipl Hipa Hn Hr Hg. unfold guest_range_ok, guest_max_pages. apply andb_true_iff. split.
  - apply (ipa_ok_iff c ipa n G Hipl Hipa Hn). exact Hr.
  - apply Nat.leb_le. unfold Abi.GuestMaxPages in Hg. lia.
Qed.

(** The ledger entry of a page the model sees as the VM's own, not
    shared, passes [checkMapped]'s test for GUEST_SHARE and
    GUEST_RELINQUISH. *)
Lemma vm_unshared_passes : forall id pg, 1 <= id -> entry_ok pg ->
  is_vm_unshared (Z.to_nat id) (abs_page pg) = true -> entry_passes pg id false 0.
Proof.
  intros id pg Hid (Hpo & Hv & Hb) H. unfold is_vm_unshared, abs_page, abs_owner, abs_share in H. cbn [pg_owner pg_share] in H.
  destruct (Isolation.page_owner pg =? Abi.OwnerEngine); [discriminate H|].
  destruct (Isolation.page_owner pg =? Abi.OwnerHost); [discriminate H|].
  destruct (Isolation.page_owner pg =? Abi.OwnerVM) eqn:Eo; [|discriminate H].
  destruct (Isolation.page_shared pg) eqn:Es; [discriminate H|]. apply Nat.eqb_eq in H.
  unfold entry_passes. replace (id =? Isolation.HostVMID) with false by (symmetry; apply Z.eqb_neq; unfold Isolation.HostVMID; lia).
  split; [split; [apply Z.eqb_eq; exact Eo|lia]|]. split; [exact Es|]. intros E; discriminate E.
Qed.

(** And of a page the model sees as the VM's own, shared with the host,
    for GUEST_UNSHARE. *)
Lemma vm_shared_host_passes : forall id pg, 1 <= id -> entry_ok pg ->
  is_vm_shared_host (Z.to_nat id) (abs_page pg) = true -> entry_passes pg id true Isolation.HostVMID.
Proof.
  intros id pg Hid (Hpo & Hv & Hb) H. unfold is_vm_shared_host, abs_page, abs_owner, abs_share in H. cbn [pg_owner pg_share] in H.
  destruct (Isolation.page_owner pg =? Abi.OwnerEngine); [discriminate H|].
  destruct (Isolation.page_owner pg =? Abi.OwnerHost); [discriminate H|].
  destruct (Isolation.page_owner pg =? Abi.OwnerVM) eqn:Eo; [|discriminate H].
  destruct (Isolation.page_shared pg) eqn:Es; [|discriminate H]. apply andb_true_iff in H as [H1 H2].
  apply Nat.eqb_eq in H1. apply Nat.eqb_eq in H2. unfold host_id in H2.
  unfold entry_passes. replace (id =? Isolation.HostVMID) with false by (symmetry; apply Z.eqb_neq; unfold Isolation.HostVMID; lia).
  split; [split; [apply Z.eqb_eq; exact Eo|lia]|]. split; [exact Es|]. intros _. unfold Isolation.HostVMID. lia.
Qed.

(** ** The three calls

    Each is taken apart the same way: the range check, [checkMapped]
    with the test of the call ([shared], [borrower]) whose model
    predicate [P] holds only of entries that pass it ([passes]), the sum
    of the runs' needs (which changes nothing), the pool check, and the
    changes, which end in SUCCESS. *)
Ltac guest_errors code model P passes shared borrower :=
  intros c e tr id ipa n m st e' tr' mem regs Hc Hm Ho Hid Hnth Hlive Hipa Hn Hrun Hne;
  pose proof Hm as (Hl & _ & _ & _ & Ht & Hall);
  pose proof Hc as (_ & _ & Hcfg & _); pose proof Hcfg as ((G & _) & _ & Hipl);
  assert (Hms2 : s2_ok e (Isolation.vm_s2 m)) by (rewrite Forall_forall in Hall; exact (Hall m (nth_error_In _ _ Hnth)));
  assert (Hlt : (Z.to_nat (id - 1) < length (Isolation.Engine_vms e))%nat) by (apply nth_error_Some; congruence);
  pose proof (pfield_good root Isolation.Engine_vms Isolation.set_Engine_vms e e tr (good_root e)) as (q0 & Hq0 & Hg0);
  pose proof (pindex_good q0 e _ (id - 1) tr Hg0 ltac:(unfold len; lia)) as (q & m' & Hq & Hnth' & Hgm);
  rewrite Hnth in Hnth'; injection Hnth' as <-;
  pose proof (pfield_good q Isolation.vm_s2 Isolation.set_vm_s2 e m tr Hgm) as (s & Hs & Hgs);
  revert Hrun; unfold code; rewrite (wrapu_small_16 (id - 1)) by lia;
  CodeShadow.step_by Hq0; CodeShadow.step_by Hq;
  pose proof (pageRange_spec e tr ipa n Isolation.ipaSpace Hipa Hn
    ltac:(unfold Isolation.ipaSpace, Isolation.ipaLimit; cbn; lia) ltac:(unfold Isolation.ipaSpace, Isolation.ipaLimit; cbn; lia))
    as (b & Hb & Hbs);
  CodeShadow.step_by Hb; unfold Isolation.guestPagesOK;
  destruct b; cbn [negb];
  [|ret_g; intros Hrun; injection Hrun as <- <- _; split; [reflexivity|right]; exists INVALID_PARAMETERS;
    unfold abs_state, model; cbv zeta; cbn [st_meta];
    rewrite (guest_range_refused c ipa n false G Hipl Hipa Hn Hbs eq_refl); split; reflexivity];
  ret_g; ret_g;
  destruct (Z.leb_spec n Abi.GuestMaxPages) as [Hg|Hg]; cbn [orb negb];
  [|intros Hrun; injection Hrun as <- <- _; split; [reflexivity|right]; exists INVALID_PARAMETERS;
    unfold abs_state, model; cbv zeta; cbn [st_meta];
    rewrite (guest_range_refused c ipa n true G Hipl Hipa Hn Hbs
      ltac:(apply orb_true_iff; right; apply negb_true_iff; rewrite orb_false_r; apply Z.leb_gt; exact Hg));
    split; reflexivity];
  pose proof (proj1 Hbs eq_refl) as Hr; cbn [Isolation.ipaSpace Isolation.Range_Base Isolation.Range_Size] in Hr;
  CodeShadow.step_by Hs;
  pose proof (checkMapped_no_failure e tr s (Isolation.vm_s2 m) ipa n id shared borrower Hm Hms2 Hgs Hipa Hn)
    as (st0 & Hcm & Hpass & Hfail);
  CodeShadow.step_by Hcm;
  let E0 := fresh "E0" in
  destruct (st0 =? Abi.Success) eqn:E0; cbn [negb];
  [|apply Z.eqb_neq in E0 as Hst; intros Hrun; injection Hrun as <- <- _; split; [reflexivity|right]; exists DENIED;
    unfold abs_state, model; cbv zeta; cbn [st_meta];
    rewrite (guest_range_passes c ipa n G Hipl Hipa Hn Hr Hg); cbn [negb];
    let i := fresh "i" in
    pose proof (Hfail Hst) as (-> & i & Hi & Hnot); split; [|reflexivity];
    rewrite (s2_of_slot c e id m ltac:(lia) Hnth Hlive);
    destruct Hr as (Hn0 & Hial & _ & _ & H40); unfold Isolation.ipaLimit in H40;
    rewrite (range_refused c e tr s m ipa n i id shared borrower (P (Z.to_nat id)) Hc Hm Ho
      (nth_error_In _ _ Hnth) Hlive Hgs ltac:(lia) Hial ltac:(lia) Hi (fun pg => passes id pg ltac:(lia)) Hnot);
    reflexivity];
  let L := fresh "L" in let Hf := fresh "Hf" in let s1 := fresh "s" in let t1 := fresh "t" in
  let need := fresh "need" in let k := fresh "k" in
  intros Hrun; bind_in Hrun L [[need k]|[]] s1 t1;
  match type of L with ?x _ _ = _ => assert (Hf : frame eq any x) by framed end;
  pose proof (frame_eq any _ _ _ _ _ _ Hf L) as Es1; subst s1; revert Hrun;
  CodeShadow.step_by (deref_root e t1);
  destruct (need >? Isolation.tablePool_nfree (Isolation.Engine_pool e));
  [intros Hrun; injection Hrun as <- <- _; split; [reflexivity|left; reflexivity]|];
  let L2 := fresh "L" in let s2 := fresh "s" in let t2 := fresh "t" in let k' := fresh "k" in intros Hrun; bind_in Hrun L2 [k'|[]] s2 t2; injection Hrun as <- _ _; contradiction (Hne eq_refl).

(** What is proved of a guest memory call [call] against the model's
    step [step]: from a live VM [id], for a 64-bit IPA and count, from
    [create_inv], [mem_ok] and [owners_ok], an answer other than SUCCESS
    leaves the engine as it was, and is NO_MEMORY or the model's status
    from the abstraction, which leaves its state as it was. *)
Definition errors_refine (call : Z -> Z -> Z -> M Isolation.Engine Abi.Status)
    (step : config -> state -> nat -> nat -> nat -> state * output) : Prop :=
  forall c e tr id ipa n m st e' tr' mem regs,
  create_inv c e -> mem_ok e -> owners_ok e ->
  1 <= id < 2 ^ 16 -> nth_error (Isolation.Engine_vms e) (Z.to_nat (id - 1)) = Some m -> Isolation.vm_live m = true ->
  0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 ->
  call id ipa n e tr = Ok st e' tr' -> st <> Abi.Success ->
  e' = e /\
  (st = Abi.NoMemory \/ exists sst, step c (abs_state c e mem regs) (Z.to_nat id) (Z.to_nat ipa) (Z.to_nat n) =
     (abs_state c e mem regs, err sst) /\ go_status sst = st).

(** GUEST_SHARE: DENIED for a page the VM does not map as its own, not
    shared. *)
Theorem GuestShare_errors_refine : errors_refine (Isolation.Engine_GuestShare root) guest_share.
Proof.
  unfold errors_refine. guest_errors @Isolation.Engine_GuestShare guest_share is_vm_unshared vm_unshared_passes false 0.
Qed.

(** GUEST_UNSHARE: DENIED for a page the VM does not map as its own
    shared with the host. *)
Theorem GuestUnshare_errors_refine : errors_refine (Isolation.Engine_GuestUnshare root) guest_unshare.
Proof.
  unfold errors_refine.
  guest_errors @Isolation.Engine_GuestUnshare guest_unshare is_vm_shared_host vm_shared_host_passes true Isolation.HostVMID.
Qed.

(** GUEST_RELINQUISH: DENIED for a page the VM does not map as its own,
    not shared. *)
Theorem GuestRelinquish_errors_refine : errors_refine (Isolation.Engine_GuestRelinquish root) guest_relinquish.
Proof.
  unfold errors_refine.
  guest_errors @Isolation.Engine_GuestRelinquish guest_relinquish is_vm_unshared vm_unshared_passes false 0.
Qed.
