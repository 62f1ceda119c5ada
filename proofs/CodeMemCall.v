(** * MEM_RECLAIM: its checks against the model

    MEM_RECLAIM ([Engine.MemReclaim]) checks the range against RAM, reads
    the ledger entry of every page (the first page not owned by nobody
    decides: BUSY for a VM's, DENIED for the host's or the engine's),
    reserves the host stage-2's tables ([mapNeed]), asks the platform to
    zero and clean the pages, commits the ledger ([setOwner]) and maps the
    pages in the host stage-2 ([mapRange]).

    [MemReclaim_checks_refine] proves, of the translated code, the part up
    to the reservation: from an engine whose ledger covers RAM inside the
    IPA space, for any 64-bit arguments, the range check and the scan of
    the ledger reach no failure outcome; an error they return leaves
    memory and trace as they were and is the model's status
    ([Spec.mem_reclaim] from the ledger's abstraction, which then leaves
    its state as it was); when they pass, every page of the range is owned
    by nobody and the model's checks pass too. The rest of the call is not
    proved here: the reservation never fails ([CodeStage2.mapNeed_ok]) and
    the ledger's commit is the model's ([CodeAbsLedger.setOwner_abs]), but
    that [mapRange] never fails, and the statement that strings these
    together, are still to come (see README). *)
From Coq Require Import ZArith Lia List Bool Arith String.
From Bulkhead.Spec Require Import State Spec.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodePlace CodeLoop CodeLedger CodeAbi CodeVCPU CodeVMCreate CodeStage2 CodeTransfer CodeAbsLedger.
Import ListNotations.
Open Scope Z_scope.

(** ** The model's scan of the range *)

Lemma first_range_all_none : forall {A} n lo (f : nat -> option A),
  (forall i, (i < n)%nat -> f (lo + i)%nat = None) -> first_range lo n f = None.
Proof.
  induction n as [|n IH]; intros lo f H; cbn [first_range]; [reflexivity|].
  rewrite <- (Nat.add_0_r lo) at 1. rewrite H by lia.
  apply IH. intros i Hi. replace (S lo + i)%nat with (lo + S i)%nat by lia. apply H. lia.
Qed.

Lemma first_range_at : forall {A} n lo (f : nat -> option A) i,
  (i < n)%nat -> (forall i', (i' < i)%nat -> f (lo + i')%nat = None) -> f (lo + i)%nat <> None ->
  first_range lo n f = f (lo + i)%nat.
Proof.
  induction n as [|n IH]; intros lo f i Hi H Hs; [lia|]. cbn [first_range].
  destruct i as [|i].
  - rewrite Nat.add_0_r in *. destruct (f lo); [reflexivity|congruence].
  - rewrite <- (Nat.add_0_r lo) at 1. rewrite H by lia.
    replace (lo + S i)%nat with (S lo + i)%nat in * by lia. apply IH; [lia| |exact Hs].
    intros i' Hi'. replace (S lo + i')%nat with (lo + S i')%nat by lia. apply H. lia.
Qed.

(** ** The concrete invariant MEM_RECLAIM's checks need *)

(** [ledger_ok], and RAM inside the IPA space, as [Config.validate]
    requires (isolation/config.go: the host stage-2 maps RAM at its PA). *)
Definition reclaim_ok (e : Isolation.Engine) : Prop :=
  ledger_ok e /\
  Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e)) +
    Isolation.Range_Size (Isolation.Config_RAM (Isolation.Engine_cfg e)) <= 2 ^ 40.

(** The ranges [pageRange] accepts ([pageRange_spec]). *)
Definition pageRange_ok (lim : Isolation.Range) (base pages : Z) : Prop :=
  pages <> 0 /\ base mod 4096 = 0 /\ base + pages * 4096 < 2 ^ 64 /\
  Isolation.Range_Base lim <= base /\ base + pages * 4096 <= Isolation.Range_Base lim + Isolation.Range_Size lim.

(** The model's range check is [pageRange]'s on the same board. *)
Lemma pa_ok_iff : forall c e pa n,
  cfg_rel c e -> ledger_ok e ->
  Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e)) +
    Isolation.Range_Size (Isolation.Config_RAM (Isolation.Engine_cfg e)) < 2 ^ 64 ->
  0 <= pa < 2 ^ 64 -> 0 <= n < 2 ^ 64 ->
  (pa_ok c (Z.to_nat pa) (Z.to_nat n) = true <->
   n <> 0 /\ pa mod 4096 = 0 /\ pa + n * 4096 < 2 ^ 64 /\
   Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e)) <= pa /\
   pa + n * 4096 <= Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e)) +
     Isolation.Range_Size (Isolation.Config_RAM (Isolation.Engine_cfg e))).
Proof.
  intros c e pa n (Hg & Hrb & Hrs) Hl Hend Hpa Hn.
  set (base := Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e))) in *.
  set (size := Isolation.Range_Size (Isolation.Config_RAM (Isolation.Engine_cfg e))) in *.
  unfold pa_ok. rewrite Hg.
  pose proof (Z.div_mod pa 4096 ltac:(lia)). pose proof (Z.mod_pos_bound pa 4096 ltac:(lia)).
  assert (Hd : Z.of_nat (Z.to_nat pa / 4096) = pa / 4096) by (rewrite Nat2Z.inj_div, Z2Nat.id by lia; reflexivity).
  assert (Hm : Z.of_nat (Z.to_nat pa mod 4096) = pa mod 4096) by (rewrite Nat2Z.inj_mod, Z2Nat.id by lia; reflexivity).
  (* The booleans are taken apart one by one: rewriting the goal's iff
     with the reflection lemmas takes seconds each. *)
  split.
  - intros Hb. apply andb_prop in Hb as [Hb H4]. apply andb_prop in Hb as [Hb H3]. apply andb_prop in Hb as [H1 H2].
    apply negb_true_iff, Nat.eqb_neq in H1. apply Nat.eqb_eq in H2. apply Nat.leb_le in H3. apply Nat.leb_le in H4.
    apply (f_equal Z.of_nat) in H2. rewrite Hm in H2.
    apply Nat2Z.inj_le in H3. apply Nat2Z.inj_le in H4. rewrite Nat2Z.inj_add in H4, H3 || rewrite Nat2Z.inj_add in H4.
    rewrite Hd in H3, H4. rewrite Nat2Z.inj_add, Z2Nat.id in H4 by lia.
    assert (n <> 0) by (intros ->; apply H1; reflexivity).
    cbn in H2. lia.
  - intros (H1 & H2 & H3 & H4 & H5).
    apply andb_true_intro; split; [apply andb_true_intro; split; [apply andb_true_intro; split|]|].
    + apply negb_true_iff, Nat.eqb_neq. lia.
    + apply Nat.eqb_eq. apply Nat2Z.inj. rewrite Hm. exact H2.
    + apply Nat.leb_le. apply Nat2Z.inj_le. rewrite Hd. lia.
    + apply Nat.leb_le. apply Nat2Z.inj_le. rewrite !Nat2Z.inj_add, Hd, Z2Nat.id by lia. lia.
Qed.

(** The model's verdict on the [i]-th page of a range of RAM is read off
    its ledger entry: nobody's page passes, a VM's is BUSY, any other
    DENIED. *)
Lemma reclaim_check_abs : forall c e s pa i,
  let base := Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e)) in
  let size := Isolation.Range_Size (Isolation.Config_RAM (Isolation.Engine_cfg e)) in
  cfg_rel c e -> ledger_ok e -> owners_ok e -> ms_pages (st_meta s) = abs_pages c e ->
  0 <= pa -> pa mod 4096 = 0 -> base <= pa -> 0 <= i -> pa + (i + 1) * 4096 <= base + size ->
  let o := Isolation.page_owner (nth (Z.to_nat ((pa - base) / 4096 + i)) (Isolation.Engine_pages e) Isolation.zero_page) in
  reclaim_check (st_meta s) (pfn c (Z.to_nat pa) + Z.to_nat i)%nat =
    if o =? Abi.OwnerNone then None else if o =? Abi.OwnerVM then Some BUSY else Some DENIED.
Proof.
  intros c e s pa i base size Hcfg Hl Hown Habs Hpa Hal Hlo Hi Hhi o.
  pose proof Hcfg as (Hg & Hrb & Hrs). fold base in Hrb. fold size in Hrs.
  pose proof Hl as Hl'. unfold ledger_ok in Hl'. cbv zeta in Hl'. fold base size in Hl'.
  destruct Hl' as (Hb0 & Hs0 & Hbs & Hbal & Hlen).
  pose proof (Z.div_mod pa 4096 ltac:(lia)) as Hdm. rewrite Hal in Hdm.
  assert (Hp0 : Z.of_nat (pfn c (Z.to_nat pa)) = pa / 4096).
  { unfold pfn. rewrite Hg, Nat2Z.inj_div, Z2Nat.id by lia. reflexivity. }
  assert (Hk : (pa - base) / 4096 = pa / 4096 - Z.of_nat (ram_base c)).
  { rewrite <- Hrb. replace (pa - Z.of_nat (ram_base c) * 4096) with (pa + (- Z.of_nat (ram_base c)) * 4096) by lia.
    rewrite Z.div_add by lia. lia. }
  assert (Hin : in_ram c (pfn c (Z.to_nat pa) + Z.to_nat i)%nat = true).
  { unfold in_ram, in_range. apply andb_true_iff. rewrite Nat.leb_le, Nat.ltb_lt. lia. }
  assert (Hix : (pfn c (Z.to_nat pa) + Z.to_nat i - ram_base c)%nat = Z.to_nat ((pa - base) / 4096 + i)) by lia.
  assert (Ho : 0 <= o <= 3).
  { enough (H : entry_ok (nth (Z.to_nat ((pa - base) / 4096 + i)) (Isolation.Engine_pages e) Isolation.zero_page))
      by exact (proj1 H).
    unfold owners_ok in Hown. rewrite Forall_forall in Hown. apply Hown. apply nth_In.
    unfold len in Hlen. lia. }
  unfold reclaim_check, owner_of. rewrite Habs. unfold abs_pages. rewrite Hin, Hix.
  unfold abs_page, abs_owner. cbn [pg_owner]. fold base. fold o.
  assert (Hc : o = 0 \/ o = 1 \/ o = 2 \/ o = 3) by lia.
  destruct Hc as [-> | [-> | [-> | ->]]]; reflexivity.
Qed.

(** ** The call: its checks *)

(** MEM_RECLAIM's checks refine the model's. From an engine satisfying
    [reclaim_ok] whose ledger holds owners of the four kinds, and a model
    state whose page metadata is the ledger's abstraction on the same
    board, for any 64-bit [pa] and [n], either the translated call
    returns an error with no failure outcome, leaving memory and trace as
    they were, and the model's step returns the same status and leaves its
    state as it was; or the range check passes and every page of the range
    is owned by nobody, and then the model's checks pass too. What the
    call does next (the reservation, the platform calls, the ledger's
    commit, [mapRange]) is not covered by this theorem. *)
Theorem MemReclaim_checks_refine : forall c e s tr pa n,
  reclaim_ok e -> owners_ok e -> cfg_rel c e -> ms_pages (st_meta s) = abs_pages c e ->
  0 <= pa < 2 ^ 64 -> 0 <= n < 2 ^ 64 ->
  (exists st sst, Isolation.Engine_MemReclaim root pa n e tr = Ok st e tr /\
     mem_reclaim c s (Z.to_nat pa) (Z.to_nat n) = (s, err sst) /\ go_status sst = st /\ sst <> SUCCESS)
  \/
  (pageRange_ok (Isolation.Config_RAM (Isolation.Engine_cfg e)) pa n /\
   (forall i, 0 <= i < n -> Isolation.page_owner (nth (Z.to_nat ((pa -
      Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e))) / 4096 + i))
      (Isolation.Engine_pages e) Isolation.zero_page) = Abi.OwnerNone) /\
   pa_ok c (Z.to_nat pa) (Z.to_nat n) = true /\
   first_range (pfn c (Z.to_nat pa)) (Z.to_nat n) (reclaim_check (st_meta s)) = None).
Proof.
  intros c e s tr pa n Hok Hown Hcfg Habs Hpa Hn.
  pose proof Hok as (Hl & Hend).
  pose proof Hl as Hl'. unfold ledger_ok in Hl'. cbv zeta in Hl'. destruct Hl' as (Hb0 & Hs0 & Hbs & Hal & Hlen).
  set (base := Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e))) in *.
  set (size := Isolation.Range_Size (Isolation.Config_RAM (Isolation.Engine_cfg e))) in *.
  remember (Isolation.Engine_MemReclaim root pa n e tr) as R eqn:HR.
  unfold Isolation.Engine_MemReclaim, bind at 1 in HR. rewrite deref_root in HR. cbv beta iota in HR.
  pose proof (pageRange_spec e tr pa n (Isolation.Config_RAM (Isolation.Engine_cfg e)) Hpa Hn
    ltac:(fold base; lia) ltac:(fold size; lia)) as (b & Hb & Hbs').
  unfold bind at 1 in HR. rewrite Hb in HR. cbv beta iota in HR.
  pose proof (pa_ok_iff c e pa n Hcfg Hl ltac:(lia) Hpa Hn) as Hpaok. fold base size in Hpaok.
  unfold mem_reclaim.
  destruct b; cbn [negb] in HR.
  2:{ left. exists Abi.InvalidParameters, INVALID_PARAMETERS. split; [exact HR|].
      split; [|split; [reflexivity|discriminate]].
      replace (pa_ok c (Z.to_nat pa) (Z.to_nat n)) with false; [reflexivity|].
      symmetry. apply not_true_is_false. intros H. apply Hpaok in H. apply Hbs' in H. discriminate. }
  pose proof (proj1 Hbs' eq_refl) as (Hn0 & Hpal & Hpw & Hplo & Hphi). fold base size in Hplo, Hphi.
  replace (pa_ok c (Z.to_nat pa) (Z.to_nat n)) with true by (symmetry; apply Hpaok; auto).
  cbn [negb]. cbv zeta. cbv zeta in HR.
  set (k0 := (pa - base) / 4096).
  set (own := fun i => Isolation.page_owner (nth (Z.to_nat (k0 + i)) (Isolation.Engine_pages e) Isolation.zero_page)).
  assert (Hidx : forall i, 0 <= i < n -> 0 <= k0 + i < len (Isolation.Engine_pages e)).
  { intros i Hi. unfold k0. pose proof (Z.mul_div_le (pa - base) 4096 ltac:(lia)).
    split; [apply Z.add_nonneg_nonneg; [apply Z.div_pos|]; lia|]. nia. }
  (* The scan of the ledger. *)
  match type of HR with context [loop ?f ?c ?b ?p ?l0] =>
  destruct (loop_spec f c b p
    (fun i st tr' => st = e /\ tr' = tr /\ 0 <= i <= n /\ forall i', 0 <= i' < i -> own i' = 0)
    (fun j st tr' => st = e /\ tr' = tr /\
       match j with
       | Fall _ => forall i', 0 <= i' < n -> own i' = 0
       | Jump x => exists i, 0 <= i < n /\ (forall i', 0 <= i' < i -> own i' = 0) /\ own i <> 0 /\
           x = (if own i =? Abi.OwnerVM then Abi.Busy else Abi.Denied)
       end)
    (fun i => Z.to_nat (n - i))) with (l := l0) (s := e) (tr := tr) as (j & s' & tr' & Hl1 & Hq1) end.
  - intros i st tr' (-> & -> & Hi & Hall). eexists. split; [reflexivity|]. split.
    + intros Hc. apply Z.ltb_lt in Hc. lia.
    + intros Hc. apply Z.ltb_ge in Hc. split; [reflexivity|]. split; [reflexivity|].
      intros i' Hi'. apply Hall. lia.
  - intros i st tr' (-> & -> & Hi & Hall) Hc. injection Hc as Hc. apply Z.ltb_lt in Hc.
    unfold bind at 1. rewrite deref_root. cbv beta iota.
    unfold bind at 1. rewrite (pfn_ok e tr pa Hl ltac:(fold base; lia)). fold base k0. cbv beta iota.
    rewrite wrapu_small by (pose proof (Hidx i ltac:(lia)); unfold len in *; lia).
    destruct (nth_error (Isolation.Engine_pages e) (Z.to_nat (k0 + i))) as [pg|] eqn:Hnth.
    2:{ apply nth_error_None in Hnth. pose proof (Hidx i ltac:(lia)). unfold len in *. lia. }
    unfold bind at 1. rewrite (idx_nth _ (k0 + i) pg e tr ltac:(pose proof (Hidx i ltac:(lia)); lia) Hnth). cbv beta iota.
    assert (Hown_i : own i = Isolation.page_owner pg) by (unfold own; rewrite (nth_error_nth _ _ _ Hnth); reflexivity).
    destruct (Z.eqb_spec (Isolation.page_owner pg) Abi.OwnerNone) as [E0|E0].
    + unfold ret. eexists _, _, _. split; [reflexivity|]. eexists. split; [reflexivity|].
      rewrite wrapu_small by lia. split; [|apply Z2Nat.inj_lt; lia].
      split; [reflexivity|]. split; [reflexivity|]. split; [lia|].
      intros i' Hi'. destruct (Z.eq_dec i' i) as [->|Hne]; [rewrite Hown_i; exact E0|]. apply Hall. lia.
    + destruct (Isolation.page_owner pg =? Abi.OwnerVM) eqn:EV; cbv beta iota.
      * unfold ret. eexists _, _, _. split; [reflexivity|]. split; [reflexivity|]. split; [reflexivity|].
        exists i. split; [lia|]. split; [exact Hall|]. rewrite Hown_i, EV. split; [exact E0|reflexivity].
      * unfold ret. eexists _, _, _. split; [reflexivity|]. split; [reflexivity|]. split; [reflexivity|].
        exists i. split; [lia|]. split; [exact Hall|]. rewrite Hown_i, EV. split; [exact E0|reflexivity].
  - split; [reflexivity|]. split; [reflexivity|]. split; [lia|]. intros; lia.
  - rewrite Z.sub_0_r, fuel_nat by lia. lia.
  - unfold bind at 1 in HR. rewrite Hl1 in HR. destruct Hq1 as (-> & -> & Hj). cbv beta iota in HR.
    (* The model's scan, page by page, is the code's. *)
    assert (Hchk : forall i, 0 <= i < n -> reclaim_check (st_meta s) (pfn c (Z.to_nat pa) + Z.to_nat i)%nat =
      if own i =? Abi.OwnerNone then None else if own i =? Abi.OwnerVM then Some BUSY else Some DENIED).
    { intros i Hi. apply (reclaim_check_abs c e s pa i Hcfg Hl Hown Habs); fold base size; lia. }
    destruct j as [i|x].
    2:{ destruct Hj as (i & Hi & Hbefore & Hnz & ->).
        left. unfold ret in HR.
        exists (if own i =? Abi.OwnerVM then Abi.Busy else Abi.Denied), (if own i =? Abi.OwnerVM then BUSY else DENIED).
        split; [exact HR|].
        rewrite (first_range_at (Z.to_nat n) _ _ (Z.to_nat i)).
        - rewrite Hchk by lia.
          destruct (Z.eqb_spec (own i) Abi.OwnerNone) as [E|E]; [contradiction|].
          destruct (own i =? Abi.OwnerVM); (split; [reflexivity|]); (split; [reflexivity|discriminate]).
        - lia.
        - intros i' Hi'. replace i' with (Z.to_nat (Z.of_nat i')) by lia. rewrite Hchk by lia.
          rewrite Hbefore by lia. reflexivity.
        - rewrite Hchk by lia.
          destruct (Z.eqb_spec (own i) Abi.OwnerNone) as [E|E]; [contradiction|].
          destruct (own i =? Abi.OwnerVM); discriminate. }
    right. split; [unfold pageRange_ok; fold base size; tauto|]. split; [exact Hj|]. split; [reflexivity|].
    apply first_range_all_none.
    intros i' Hi'. replace i' with (Z.to_nat (Z.of_nat i')) by lia. rewrite Hchk by lia.
    rewrite Hj by lia. reflexivity.
Qed.

