(** * GUEST_MEMSTATE of the translated code has no failure outcome

    Lemmas about proofs/code/Isolation.v, the translation of
    isolation/memstate.go: [memStateAt] walks a VM's stage-2 with
    [translate] ([CodeStage2.translate_ok]) and reads the ledger entry of
    the page it finds, and [GuestMemState] does that for at most
    [MemStateMaxRun] pages. Neither writes, so the invariant [mem_ok]
    (CodeTransfer) is kept trivially: the memory after the call is the
    memory before. *)
From Coq Require Import ZArith Lia List Bool.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodePlace CodeLoop CodeLedger CodeVCPU CodeVMCreate CodeStage2 CodeTransfer CodeShadow.
Import ListNotations.
Open Scope Z_scope.

Definition ram_base (e : Isolation.Engine) : Z := Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e)).
Definition ram_size (e : Isolation.Engine) : Z := Isolation.Range_Size (Isolation.Config_RAM (Isolation.Engine_cfg e)).

(** [ramPage] never fails, and when it accepts [pa] the offset of [pa]
    into RAM, as the 64-bit subtraction computes it, is inside RAM. *)
Lemma ramPage_any : forall e tr pa, ledger_ok e ->
  exists b, Isolation.Engine_ramPage root pa e tr = Ok b e tr /\
    (b = true -> ram_base e <= pa /\ 1 <= ram_size e /\ wrapu 64 (pa - ram_base e) <= ram_size e - 1).
Proof.
  intros e tr pa Hl. pose proof Hl as (Hb & Hs & Hbs & Hal & Hlen).
  unfold Isolation.Engine_ramPage, Isolation.Range_Contains. step.
  fold (ram_base e) (ram_size e) in *.
  destruct ((pa <? ram_base e) || (1 >? ram_size e)) eqn:Hc.
  { step. eexists. split; [reflexivity|discriminate]. }
  apply orb_false_iff in Hc as [Hc1 Hc2]. rewrite Z.ltb_ge in Hc1. rewrite Z.gtb_ltb, Z.ltb_ge in Hc2.
  step. eexists. split; [reflexivity|]. intros Hin. apply Z.leb_le in Hin.
  rewrite (wrapu_small (ram_size e - 1)) in Hin by (unfold ram_base, ram_size in *; lia). lia.
Qed.

(** [pageAt] of an address [ramPage] accepted is a place holding a ledger
    entry. *)
Lemma pageAt_in : forall e tr pa, ledger_ok e ->
  ram_base e <= pa -> 1 <= ram_size e -> wrapu 64 (pa - ram_base e) <= ram_size e - 1 ->
  exists q pg, Isolation.Engine_pageAt root pa e tr = Ok q e tr /\ good q e pg /\
    nth_error (Isolation.Engine_pages e) (Z.to_nat (wrapu 64 (pa - ram_base e) / 4096)) = Some pg.
Proof.
  intros e tr pa Hl Hb1 Hs1 Hin. pose proof Hl as (Hb & Hs & Hbs & Hal & Hlen). fold (ram_base e) (ram_size e) in *.
  pose proof (Z.mod_pos_bound (pa - ram_base e) (2 ^ 64) ltac:(lia)) as Hw. fold (wrapu 64 (pa - ram_base e)) in Hw.
  assert (Hk : 0 <= wrapu 64 (pa - ram_base e) / 4096 < len (Isolation.Engine_pages e)).
  { split; [apply Z.div_pos; lia|]. apply Z.div_lt_upper_bound; lia. }
  destruct (pfield_good root Isolation.Engine_pages Isolation.set_Engine_pages e e tr (good_root e)) as (q0 & Hq0 & Hg0).
  destruct (pindex_good q0 e _ _ tr Hg0 Hk) as (q & pg & Hq & Hn & Hg).
  exists q, pg. split; [|split; [exact Hg|exact Hn]].
  unfold Isolation.Engine_pageAt. step_by Hq0.
  unfold Isolation.Engine_pfn. step.
  unfold Isolation.PageShift. rewrite shr_small by lia. rewrite Z.shiftr_div_pow2 by lia.
  change (2 ^ 12) with 4096. fold (ram_base e). step_by Hq. reflexivity.
Qed.

(** [memStateAt] never fails: on an engine whose ledger covers RAM and
    whose pool is [tables_ok], for a stage-2 that is [s2_ok] and any 64-bit
    IPA, it returns a state and changes nothing. *)
Lemma memStateAt_ok : forall e tr s s2 ipa, ledger_ok e -> tables_ok e -> s2_ok e s2 -> good s e s2 ->
  0 <= ipa < 2 ^ 64 ->
  exists st, Isolation.Engine_memStateAt root s ipa e tr = Ok st e tr.
Proof.
  intros e tr s s2 ipa Hl Ht Hs2 Hg Hipa.
  destruct (translate_ok e tr s s2 ipa Ht Hs2 Hg Hipa) as ([m ok] & Htr).
  unfold Isolation.Engine_memStateAt. step_by Htr.
  destruct ok; cbn [negb]; [|eexists; reflexivity].
  destruct (ramPage_any e tr (Isolation.Mapping_PA m) Hl) as (b & Hb & Hin).
  step_by Hb. destruct b; cbn [negb]; [|eexists; reflexivity].
  destruct (Hin eq_refl) as (H1 & H2 & H3).
  destruct (pageAt_in e tr _ Hl H1 H2 H3) as (q & pg & Hq & Hg' & _).
  step_by Hq. step_by (deref_good _ _ _ tr Hg').
  destruct (negb _); [eexists; reflexivity|].
  step_by (deref_good _ _ _ tr Hg').
  destruct (_ && _); eexists; reflexivity.
Qed.

Lemma wrapu_small_16 : forall z, 0 <= z < 2 ^ 16 -> wrapu 16 z = z.
Proof. intros z Hz. unfold wrapu. apply Z.mod_small. lia. Qed.

(** GUEST_MEMSTATE has no failure outcome: from any engine meeting
    [mem_ok] (ledger covering RAM, a pool of whole tables, every VM's
    stage-2 a tree of tables of the pool), for a caller that is a VM slot
    (the dispatcher's precondition: [id] names one) and any 64-bit IPA and
    count, Engine.GuestMemState returns a state, a run of 1 to 64 pages
    when it succeeds, and leaves memory and trace as they were. *)
Theorem GuestMemState_no_failure : forall e tr id ipa n,
  mem_ok e -> 0 <= id < 2 ^ 16 -> 1 <= id <= len (Isolation.Engine_vms e) ->
  0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 ->
  exists state run st, Isolation.Engine_GuestMemState root id ipa n e tr = Ok (state, run, st) e tr /\
    (st = Abi.Success -> 1 <= run <= Abi.MemStateMaxRun).
Proof.
  intros e tr id ipa n (Hl & _ & _ & _ & Ht & Hall) Hid Hvm Hipa Hn.
  unfold Isolation.Engine_GuestMemState. cbv zeta.
  destruct (pageRange_spec e tr ipa n Isolation.ipaSpace Hipa Hn ltac:(unfold Isolation.ipaSpace, Isolation.ipaLimit; cbn; lia) ltac:(unfold Isolation.ipaSpace, Isolation.ipaLimit; cbn; lia)) as (b & Hb & Hbi).
  step_by Hb. destruct b; cbn [negb]; [|eexists _, _, _; split; [reflexivity|discriminate]].
  destruct (proj1 Hbi eq_refl) as (Hn0 & _).
  destruct (pfield_good root Isolation.Engine_vms Isolation.set_Engine_vms e e tr (good_root e)) as (q0 & Hq0 & Hg0).
  rewrite (wrapu_small_16 (id - 1)) by lia.
  destruct (pindex_good q0 e _ (id - 1) tr Hg0 ltac:(lia)) as (q & m & Hq & Hnth & Hgm).
  destruct (pfield_good q Isolation.vm_s2 Isolation.set_vm_s2 e m tr Hgm) as (s & Hs & Hgs).
  assert (Hs2 : s2_ok e (Isolation.vm_s2 m)).
  { rewrite Forall_forall in Hall. exact (Hall m (nth_error_In _ _ Hnth)). }
  step_by Hq0. step_by Hq. step_by Hs.
  destruct (memStateAt_ok e tr s _ ipa Hl Ht Hs2 Hgs Hipa) as (state & Hst).
  step_by Hst.
  set (limit := Z.min n Abi.MemStateMaxRun).
  assert (Hlim : 1 <= limit <= 64) by (unfold limit, Abi.MemStateMaxRun; lia).
  match goal with |- context [loop max_fuel ?c ?b ?po 1] =>
  destruct (loop_spec max_fuel c b po
    (fun run st tr' => st = e /\ tr' = tr /\ 1 <= run <= limit)
    (fun j st tr' => st = e /\ tr' = tr /\ match j with Fall run => 1 <= run <= limit | Jump _ => True end)
    (fun run => Z.to_nat (limit - run))) with (l := 1) (s := e) (tr := tr)
    as (j & s' & tr' & Hj & -> & -> & Hrun) end.
  - intros run st tr' (-> & -> & Hr). cbv beta.
    destruct (Z.ltb_spec run limit) as [Hlt|Hge].
    + destruct (memStateAt_ok e tr s _ (wrapu 64 (ipa + shl 64 false run Isolation.PageShift)) Hl Ht Hs2 Hgs
                  (wrapu_range _)) as (st2 & Hst2).
      eexists. split; [erewrite bind_ok by (step_by Hst2; reflexivity); reflexivity|]. split; [intros _; lia|].
      intros _. repeat split; lia.
    + eexists. split; [step; reflexivity|]. split; [discriminate|]. intros _. repeat split; lia.
  - intros run st tr' (-> & -> & Hr) Hc. cbv beta in Hc |- *.
    assert (Hlt : run < limit).
    { destruct (Z.ltb_spec run limit) as [Hlt|Hge]; [exact Hlt|].
      revert Hc. step. discriminate. }
    eexists _, _, _. split; [reflexivity|]. eexists. split; [reflexivity|].
    rewrite wrapu_small by lia. split; [repeat split; lia|]. apply Z2Nat.inj_lt; lia.
  - repeat split; lia.
  - rewrite max_fuel_nat. unfold max_fuel. lia.
  - step_by Hj. destruct j as [run|[]].
    eexists _, _, _. split; [reflexivity|]. intros _. unfold Abi.MemStateMaxRun. unfold limit in Hrun. lia.
Qed.

(** ** What [memStateAt] reports

    The state of a page a VM maps, as GUEST_MEMSTATE defines it: a page of
    RAM the VM owns is shared if the VM shares it with the host, private
    otherwise; a RAM page someone else owns, or an address outside RAM, is
    lent; an unmapped IPA is unmapped. RAM is tested with Go's 64-bit
    arithmetic, as [ramPage] does. *)
Definition page_state (pg : Isolation.page) : Z :=
  if negb (Isolation.page_owner pg =? Abi.OwnerVM) then Abi.MemLent
  else if Isolation.page_shared pg then Abi.MemShared
  else Abi.MemPrivate.

Definition in_ram (e : Isolation.Engine) (pa : Z) : bool :=
  (ram_base e <=? pa) && (wrapu 64 (pa - ram_base e) <? ram_size e).

Definition mem_state (e : Isolation.Engine) (m : Isolation.Mapping) (ok : bool) : Z :=
  if negb ok then Abi.MemUnmapped
  else let pa := Isolation.Mapping_PA m in
  if in_ram e pa
  then page_state (nth (Z.to_nat (wrapu 64 (pa - ram_base e) / 4096)) (Isolation.Engine_pages e) Isolation.zero_page)
  else Abi.MemLent.

Lemma ramPage_spec : forall e tr pa, ledger_ok e ->
  Isolation.Engine_ramPage root pa e tr = Ok (in_ram e pa) e tr.
Proof.
  intros e tr pa Hl. pose proof Hl as (Hb & Hs & Hbs & Hal & Hlen).
  unfold Isolation.Engine_ramPage, Isolation.Range_Contains, in_ram. step.
  fold (ram_base e) (ram_size e) in *.
  pose proof (Z.mod_pos_bound (pa - ram_base e) (2 ^ 64) ltac:(lia)) as Hw. fold (wrapu 64 (pa - ram_base e)) in Hw.
  destruct (Z.ltb_spec pa (ram_base e)) as [H1|H1]; cbn [orb].
  { destruct (Z.leb_spec (ram_base e) pa); [lia|reflexivity]. }
  destruct (Z.leb_spec (ram_base e) pa) as [_|]; [|lia]. cbn [andb].
  destruct (Z.gtb_spec 1 (ram_size e)) as [H2|H2].
  { replace (wrapu 64 (pa - ram_base e) <? ram_size e) with false by (symmetry; apply Z.ltb_ge; lia). reflexivity. }
  rewrite (wrapu_small (ram_size e - 1)) by (unfold ram_base, ram_size in *; lia).
  replace (wrapu 64 (pa - ram_base e) <? ram_size e) with (wrapu 64 (pa - ram_base e) <=? ram_size e - 1); [reflexivity|].
  destruct (Z.leb_spec (wrapu 64 (pa - ram_base e)) (ram_size e - 1));
    symmetry; [apply Z.ltb_lt|apply Z.ltb_ge]; lia.
Qed.

(** [memStateAt] reports [mem_state] of what [translate] finds: on an
    engine whose ledger covers RAM and whose pool is [tables_ok], for a
    stage-2 that is [s2_ok] and any 64-bit IPA. In particular a page of
    RAM the VM owns and shares with the host is reported shared. *)
Theorem memStateAt_shared : forall e tr s s2 ipa, ledger_ok e -> tables_ok e -> s2_ok e s2 -> good s e s2 ->
  0 <= ipa < 2 ^ 64 ->
  exists m ok, Isolation.Engine_translate root s ipa e tr = Ok (m, ok) e tr /\
    Isolation.Engine_memStateAt root s ipa e tr = Ok (mem_state e m ok) e tr.
Proof.
  intros e tr s s2 ipa Hl Ht Hs2 Hg Hipa.
  destruct (translate_ok e tr s s2 ipa Ht Hs2 Hg Hipa) as ([m ok] & Htr).
  exists m, ok. split; [exact Htr|].
  unfold Isolation.Engine_memStateAt, mem_state. step_by Htr.
  destruct ok; cbn [negb]; [|reflexivity].
  step_by (ramPage_spec e tr (Isolation.Mapping_PA m) Hl).
  destruct (in_ram e (Isolation.Mapping_PA m)) eqn:Hin; cbn [negb]; [|reflexivity].
  unfold in_ram in Hin. apply andb_true_iff in Hin as [H1 H3]. apply Z.leb_le in H1. apply Z.ltb_lt in H3.
  pose proof Hl as (Hb & Hs & Hbs & Hal & Hlen). fold (ram_base e) (ram_size e) in *.
  pose proof (Z.mod_pos_bound (Isolation.Mapping_PA m - ram_base e) (2 ^ 64) ltac:(lia)) as Hw.
  fold (wrapu 64 (Isolation.Mapping_PA m - ram_base e)) in Hw.
  assert (Hk : 0 <= wrapu 64 (Isolation.Mapping_PA m - ram_base e) / 4096 < len (Isolation.Engine_pages e)).
  { split; [apply Z.div_pos; lia|]. apply Z.div_lt_upper_bound; lia. }
  destruct (pfield_good root Isolation.Engine_pages Isolation.set_Engine_pages e e tr (good_root e)) as (q0 & Hq0 & Hg0).
  destruct (pindex_good q0 e _ _ tr Hg0 Hk) as (q & pg & Hq & Hnth & Hgq).
  assert (Hpa : Isolation.Engine_pageAt root (Isolation.Mapping_PA m) e tr = Ok q e tr).
  { unfold Isolation.Engine_pageAt. step_by Hq0.
    unfold Isolation.Engine_pfn. step.
    unfold Isolation.PageShift. rewrite shr_small by lia. rewrite Z.shiftr_div_pow2 by lia.
    change (2 ^ 12) with 4096. fold (ram_base e). step_by Hq. reflexivity. }
  step_by Hpa. step_by (deref_good _ _ _ tr Hgq).
  rewrite (nth_error_nth _ _ _ Hnth). unfold page_state.
  destruct (negb _); [reflexivity|].
  step_by (deref_good _ _ _ tr Hgq). cbn [negb]. rewrite andb_true_r.
  destruct (Isolation.page_shared pg); reflexivity.
Qed.
