(** * Boot: the ledger and the VM slots [boot] sets

    Theorems about proofs/code/Isolation.v, the translation of
    isolation/engine.go's [boot], the part of [isolation.New] after its
    allocations (which, with its errors, are outside the translated
    subset). [boot] gives every RAM page to the host, then each page of an
    engine range to the engine, marks every VM slot as having no stage-2,
    and builds the host stage-2 ([buildHost]). Proved here:
    - the ledger after the two passes, as the model sees it, is the
      model's initial ledger ([State.init_meta]): the engine's the pages of
      its ranges, the host's every other RAM page, none shared
      ([boot_ledger]);
    - so [boot], on an engine with its RAM and engine ranges as
      [Config.validate] leaves them, never fails before [buildHost], and
      runs [buildHost] on an engine whose ledger is the model's initial
      one, whose slots all have no stage-2 and whose configuration, pool
      and host stage-2 are as [New] allocated them ([boot_prefix]). *)
From Coq Require Import ZArith Lia List Bool.
From Bulkhead.Spec Require Import State Spec.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import Lemmas CodeLens CodeTrack CodeLoop CodeLedger CodeVCPU CodeVMCreate CodeAbsLedger CodeShadow
  CodeLogRead.
Import ListNotations.
Open Scope Z_scope.

Definition host_pg : Isolation.page := Isolation.mk_page Abi.OwnerHost (wrapu 8 Isolation.HostVMID) false 0.
Definition engine_pg : Isolation.page := Isolation.mk_page Abi.OwnerEngine (wrapu 8 Isolation.HostVMID) false 0.

(** What [Config.validate] leaves of an engine range: whole pages of
    RAM, at least one. *)
Definition range_in_ram (e : Isolation.Engine) (r : Isolation.Range) : Prop :=
  Isolation.Range_Base r mod 4096 = 0 /\ Isolation.Range_Size r mod 4096 = 0 /\ 4096 <= Isolation.Range_Size r /\
  Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e)) <= Isolation.Range_Base r /\
  Isolation.Range_Base r + Isolation.Range_Size r <=
    Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e)) +
    Isolation.Range_Size (Isolation.Config_RAM (Isolation.Engine_cfg e)).

(** Page frame [p] is in one of the ranges [rs]. *)
Definition in_ranges (c : config) (rs : list Isolation.Range) (p : nat) : bool :=
  existsb (fun r => in_range p (pfn c (Z.to_nat (Isolation.Range_Base r))) (Z.to_nat (Isolation.Range_Size r / 4096))) rs.

Lemma in_ranges_app : forall c rs r p, in_ranges c (rs ++ [r]) p =
  in_ranges c rs p || in_range p (pfn c (Z.to_nat (Isolation.Range_Base r))) (Z.to_nat (Isolation.Range_Size r / 4096)).
Proof. intros c rs r p. unfold in_ranges. rewrite existsb_app. cbn [existsb]. rewrite orb_false_r. reflexivity. Qed.

Lemma shr_page : forall x, 0 <= x -> shr x Isolation.PageShift = x / 4096.
Proof. intros x Hx. unfold Isolation.PageShift. rewrite shr_small, Z.shiftr_div_pow2 by lia. reflexivity. Qed.

(** The engine range loop: from an engine [S] the RAM pass left, each
    range in turn given to the engine. *)
Lemma engine_ranges_loop : forall c e tr, cfg_rel c e -> ledger_ok e ->
  Forall (range_in_ram e) (Isolation.Config_Engine (Isolation.Engine_cfg e)) ->
  let rs := Isolation.Config_Engine (Isolation.Engine_cfg e) in
  exists e' k, loop (X:=Empty_set) (len rs)
    (fun t'4 => ret (t'4 <? len rs))
    (fun t'4 =>
       let! t'7 := deref root in
       let! t'8 := idx (Isolation.Config_Engine (Isolation.Engine_cfg t'7)) t'4 in
       let! t'9 := Isolation.Engine_setOwner root (Isolation.Range_Base t'8) (shr (Isolation.Range_Size t'8) Isolation.PageShift)
                     Abi.OwnerEngine Isolation.HostVMID in
       ret (Continue t'4))
    (fun t'4 => let t'4 := t'4 + 1 in ret t'4) 0 e tr = Ok (Fall k) e' tr /\
    (exists ps, e' = Isolation.set_Engine_pages ps e /\ len ps = len (Isolation.Engine_pages e)) /\
    (owners_ok e -> owners_ok e') /\
    forall p, abs_pages c e' p = if in_ranges c rs p then abs_page engine_pg else abs_pages c e p.
Proof.
  intros c e tr Hcfg Hl Hrs rs.
  assert (Hn : 0 <= len rs) by (unfold len; lia).
  match goal with |- context [loop _ ?cnd ?b ?po] =>
  destruct (loop_spec (len rs) cnd b po
    (fun k S t => t = tr /\ 0 <= k <= len rs /\
       (exists ps, S = Isolation.set_Engine_pages ps e /\ len ps = len (Isolation.Engine_pages e)) /\
       (owners_ok e -> owners_ok S) /\
       forall p, abs_pages c S p = if in_ranges c (firstn (Z.to_nat k) rs) p then abs_page engine_pg else abs_pages c e p)
    (fun j S t => t = tr /\ (exists ps, S = Isolation.set_Engine_pages ps e /\ len ps = len (Isolation.Engine_pages e)) /\
       (owners_ok e -> owners_ok S) /\
       match j with
       | Fall k => forall p, abs_pages c S p = if in_ranges c rs p then abs_page engine_pg else abs_pages c e p
       | Jump x => False end)
    (fun k => Z.to_nat (len rs - k))) with (l := 0) (s := e) (tr := tr) as (j & S & t & Hrun & Hq) end.
  - intros k S t (-> & Hk & HS & HoS & Hab). eexists. split; [reflexivity|]. split.
    + intros Hc. apply Z.ltb_lt in Hc. lia.
    + intros Hc. apply Z.ltb_ge in Hc. split; [reflexivity|]. split; [exact HS|]. split; [exact HoS|].
      replace (Z.to_nat k) with (length rs) in Hab by (unfold len in Hk, Hc; lia). rewrite firstn_all in Hab. exact Hab.
  - intros k S t (-> & Hk & (ps & -> & Hps) & HoS & Hab) Hc. unfold ret in Hc. injection Hc as Hc. apply Z.ltb_lt in Hc.
    set (S := Isolation.set_Engine_pages ps e) in *.
    assert (ES : Isolation.Engine_cfg S = Isolation.Engine_cfg e) by (unfold S; destruct e; reflexivity).
    destruct (nth_error rs (Z.to_nat k)) as [r|] eqn:Hr;
      [|apply nth_error_None in Hr; unfold len in Hc; lia].
    pose proof (proj1 (Forall_forall _ _) Hrs r (nth_error_In _ _ Hr)) as (Hb & Hs & Hs1 & Hlo & Hhi).
    assert (Hidx : idx rs k S tr = Ok r S tr).
    { unfold idx. rewrite Hr. destruct (k <? 0) eqn:E; [apply Z.ltb_lt in E; lia|]. reflexivity. }
    assert (HlS : ledger_ok S).
    { unfold ledger_ok in *. rewrite ES. unfold S. cbn [Isolation.Engine_pages Isolation.set_Engine_pages]. rewrite Hps.
      exact Hl. }
    pose proof Hl as (Hb0 & Hs0 & Hbs0 & _).
    pose proof (setOwner_abs c S tr (Isolation.Range_Base r) (Isolation.Range_Size r / 4096) Abi.OwnerEngine Isolation.HostVMID HlS
      ltac:(unfold cfg_rel in *; rewrite ES; exact Hcfg) ltac:(lia) Hb ltac:(apply Z.div_le_lower_bound; lia)
      ltac:(rewrite ES; lia) ltac:(rewrite ES; pose proof (Z.div_mod (Isolation.Range_Size r) 4096 ltac:(lia)); lia))
      as (S1 & Hso & HlS1 & Ho1 & _ & Hab1).
    pose proof (setOwner_pages S tr (Isolation.Range_Base r) (Isolation.Range_Size r / 4096) Abi.OwnerEngine Isolation.HostVMID)
      as (ps1 & Hso1 & Hps1 & _).
    { rewrite ES. lia. }
    { lia. }
    { apply Z.div_le_lower_bound; lia. }
    { rewrite ES. pose proof HlS as (_ & _ & _ & _ & HlenS). rewrite ES in HlenS.
      pose proof (Z.div_mod (Isolation.Range_Size r) 4096 ltac:(lia)) as D1.
      pose proof (Z.div_mod (Isolation.Range_Base r - Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e))) 4096
        ltac:(lia)) as D2.
      pose proof (Z.mod_pos_bound (Isolation.Range_Base r - Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e)))
        4096 ltac:(lia)) as M2. lia. }
    { pose proof HlS as (_ & _ & _ & _ & HlenS). rewrite ES in HlenS. lia. }
    rewrite Hso in Hso1. injection Hso1 as ->.
    exists (Continue k), (Isolation.set_Engine_pages ps1 S), tr. split.
    { cbv beta. CodeShadow.step_by (deref_root S tr). rewrite ES. fold rs. CodeShadow.step_by Hidx.
      rewrite shr_page by lia. CodeShadow.step_by Hso. reflexivity. }
    eexists. split; [reflexivity|]. split; [|lia]. split; [reflexivity|]. split; [lia|]. split.
    { exists ps1. split; [unfold S; destruct e; reflexivity|]. rewrite Hps1. exact Hps. }
    split; [intros Ho0; exact (Ho1 ltac:(unfold Abi.OwnerEngine; lia) (HoS Ho0))|].
    intros p. rewrite Hab1, Hab. replace (Z.to_nat (k + 1)) with (Datatypes.S (Z.to_nat k)) by lia.
    rewrite (firstn_snoc (Z.to_nat k) rs r ltac:(apply nth_error_Some; congruence)), (nth_error_nth _ _ r Hr),
      in_ranges_app.
    destruct (in_range p _ _); rewrite ?orb_true_r, ?orb_false_r; reflexivity.
  - split; [reflexivity|]. split; [lia|]. split; [exists (Isolation.Engine_pages e); split; [destruct e; reflexivity|reflexivity]|].
    split; [exact (fun H => H)|]. intros p. cbn [firstn in_ranges existsb]. reflexivity.
  - destruct (Z.eq_dec (len rs) 0) as [E|E]; [rewrite E; cbn; lia|rewrite fuel_nat by lia; lia].
  - destruct Hq as (-> & HS & HoS & Hj). destruct j as [k|[]]. exists S, k. split; [exact Hrun|]. split; [exact HS|].
    split; [exact HoS|exact Hj].
Qed.

(** ** The VM slots *)

(** A VM slot without a stage-2. *)
Definition no_root (m : Isolation.vm) : Isolation.vm :=
  Isolation.set_vm_s2 (Isolation.set_stage2_root (-1) (Isolation.vm_s2 m)) m.

Lemma replace_prefix : forall {A} (f : A -> A) d (xs : list A) k, (k < length xs)%nat ->
  replace_nth k (f (nth k (map f (firstn k xs) ++ skipn k xs) d)) (map f (firstn k xs) ++ skipn k xs) =
  map f (firstn (Datatypes.S k) xs) ++ skipn (Datatypes.S k) xs.
Proof.
  intros A f d xs. induction xs as [|x xs IH]; intros [|k] Hk; cbn in *; try lia; [reflexivity|].
  f_equal. exact (IH k ltac:(lia)).
Qed.

(** The loop that marks every slot as having no stage-2. *)
Lemma vms_roots_loop : forall e tr,
  let vs := Isolation.Engine_vms e in
  exists k, loop (X:=Empty_set) (len vs)
    (fun t'11 => ret (t'11 <? len vs))
    (fun t'11 =>
       let i := t'11 in
       let! t'14 := pfield root Isolation.Engine_vms Isolation.set_Engine_vms in
       let! t'15 := pindex t'14 i in
       let! t'16 := pfield t'15 Isolation.vm_s2 Isolation.set_vm_s2 in
       let! t'17 := pfield t'16 Isolation.stage2_root Isolation.set_stage2_root in
       let! t'18 := store t'17 (-1) in
       ret (Continue t'11))
    (fun t'11 => let t'11 := t'11 + 1 in ret t'11) 0 e tr =
    Ok (Fall k) (Isolation.set_Engine_vms (map no_root vs) e) tr.
Proof.
  intros e tr vs.
  assert (Hn : 0 <= len vs) by (unfold len; lia).
  pose proof (pfield_lens root _ _ _ Isolation.Engine_vms Isolation.set_Engine_vms lens_root ltac:(field_laws))
    as (q1 & Hq1 & L1).
  set (at_k := fun k => Isolation.set_Engine_vms (map no_root (firstn (Z.to_nat k) vs) ++ skipn (Z.to_nat k) vs) e).
  match goal with |- context [loop _ ?cnd ?b ?po] =>
  destruct (loop_spec (len vs) cnd b po
    (fun k S t => t = tr /\ 0 <= k <= len vs /\ S = at_k k)
    (fun j S t => t = tr /\ S = Isolation.set_Engine_vms (map no_root vs) e /\
       match j with Fall _ => True | Jump x => False end)
    (fun k => Z.to_nat (len vs - k))) with (l := 0) (s := e) (tr := tr) as (j & S & t & Hrun & Hq) end.
  - intros k S t (-> & Hk & ->). eexists. split; [reflexivity|]. split.
    + intros Hc. apply Z.ltb_lt in Hc. lia.
    + intros Hc. apply Z.ltb_ge in Hc. split; [reflexivity|]. split; [|exact Logic.I].
      unfold at_k. replace (Z.to_nat k) with (length vs) by (unfold len in Hk, Hc; lia).
      rewrite firstn_all, skipn_all, app_nil_r. reflexivity.
  - intros k S t (-> & Hk & ->) Hc. unfold ret in Hc. injection Hc as Hc. apply Z.ltb_lt in Hc.
    set (l := map no_root (firstn (Z.to_nat k) vs) ++ skipn (Z.to_nat k) vs) in *.
    assert (Hl : length l = length vs).
    { unfold l. rewrite app_length, map_length, firstn_length, skipn_length. unfold len in Hk. lia. }
    pose proof (pindex_lens q1 _ _ _ k Isolation.zero_vm L1) as (q2 & Hq2 & L2).
    pose proof (pfield_lens q2 _ _ _ Isolation.vm_s2 Isolation.set_vm_s2 L2 ltac:(field_laws)) as (q3 & Hq3 & L3).
    pose proof (pfield_lens q3 _ _ _ Isolation.stage2_root Isolation.set_stage2_root L3 ltac:(field_laws)) as (q4 & Hq4 & L4).
    assert (Hv : True /\ 0 <= k < len (Isolation.Engine_vms (at_k k))).
    { split; [exact Logic.I|]. unfold at_k. cbn [Isolation.Engine_vms Isolation.set_Engine_vms]. fold l.
      unfold len in *. lia. }
    exists (Continue k), (at_k (k + 1)), tr. split.
    + cbv beta zeta. CodeShadow.step_by (Hq1 (at_k k) tr). CodeShadow.step_by (Hq2 (at_k k) tr Logic.I (proj2 Hv)).
      CodeShadow.step_by (Hq3 (at_k k) tr). CodeShadow.step_by (Hq4 (at_k k) tr).
      CodeShadow.step_by (store_lens _ _ _ _ _ (-1) tr L4 Hv). unfold ret. f_equal.
      unfold at_k. cbn [Isolation.Engine_vms Isolation.set_Engine_vms]. fold l.
      replace (Z.to_nat (k + 1)) with (Datatypes.S (Z.to_nat k)) by lia.
      rewrite <- (replace_prefix no_root Isolation.zero_vm vs (Z.to_nat k)) by (unfold len in Hc; lia).
      fold l. destruct e; reflexivity.
    + eexists. split; [reflexivity|]. split; [|lia]. split; [reflexivity|]. split; [lia|reflexivity].
  - split; [reflexivity|]. split; [lia|]. unfold at_k. cbn [firstn skipn map app]. destruct e; reflexivity.
  - destruct (Z.eq_dec (len vs) 0) as [E|E]; [rewrite E; cbn; lia|rewrite fuel_nat by lia; lia].
  - destruct Hq as (-> & -> & Hj). destruct j as [k|[]]. exists k. exact Hrun.
Qed.

(** ** The ledger and the slots before [buildHost] *)

(** A page of an engine range is in RAM. *)
Lemma in_ranges_ram : forall c e p, cfg_rel c e ->
  Forall (range_in_ram e) (Isolation.Config_Engine (Isolation.Engine_cfg e)) ->
  in_ranges c (Isolation.Config_Engine (Isolation.Engine_cfg e)) p = true -> in_ram c p = true.
Proof.
  intros c e p (G & Hrb & Hrs) Hall H. unfold in_ranges in H. apply existsb_exists in H as (r & Hin & Hr).
  rewrite Forall_forall in Hall. pose proof (Hall r Hin) as (Hb & Hs & Hs1 & Hlo & Hhi).
  apply in_range_spec in Hr. unfold in_ram. apply in_range_spec. unfold pfn in Hr. rewrite G in Hr.
  rewrite <- Hrb, <- Hrs in *.
  pose proof (Z.div_mod (Isolation.Range_Base r) 4096 ltac:(lia)) as D1.
  pose proof (Z.div_mod (Isolation.Range_Size r) 4096 ltac:(lia)) as D2.
  assert (Z.of_nat (Z.to_nat (Isolation.Range_Base r) / 4096) = Isolation.Range_Base r / 4096)
    by (rewrite Nat2Z.inj_div, Z2Nat.id by lia; reflexivity).
  lia.
Qed.

(** The model's engine region is the union of the configuration's engine
    ranges. *)
Definition engine_rel (c : config) (e : Isolation.Engine) : Prop :=
  forall p, in_ram c p = true -> in_engine c p = in_ranges c (Isolation.Config_Engine (Isolation.Engine_cfg e)) p.

(** [boot] up to [buildHost]: on an engine whose RAM is at least a page
    and whose engine ranges are whole pages of RAM, it never fails and
    runs [buildHost] on the engine with the model's initial ledger and
    every slot without a stage-2, the rest as it was. *)
Theorem boot_prefix : forall c e tr, cfg_rel c e -> ledger_ok e -> 1 <= len (Isolation.Engine_pages e) ->
  len (Isolation.Engine_pages e) < 2 ^ 64 ->
  Forall (range_in_ram e) (Isolation.Config_Engine (Isolation.Engine_cfg e)) -> engine_rel c e -> owners_ok e ->
  exists e1, Isolation.Engine_boot root e tr = Isolation.Engine_buildHost root e1 tr /\ owners_ok e1 /\
    (exists ps, e1 = Isolation.set_Engine_vms (map no_root (Isolation.Engine_vms e)) (Isolation.set_Engine_pages ps e) /\
       len ps = len (Isolation.Engine_pages e)) /\
    forall p, abs_pages c e1 p = mkPage (init_owner c p) NotShared.
Proof.
  intros c e tr Hcfg Hl Hn1 Hn64 Hrs Hen Ho.
  pose proof Hl as (Hb0 & Hs0 & Hbs0 & Hal0 & Hlen0). pose proof Hcfg as (G & Hrb & Hrs0).
  set (base := Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e))) in *.
  set (n := len (Isolation.Engine_pages e)) in *.
  (* The RAM pass. *)
  pose proof (setOwner_abs c e tr base n Abi.OwnerHost Isolation.HostVMID Hl Hcfg ltac:(lia) Hal0 Hn1 ltac:(lia) ltac:(lia))
    as (e0 & Hso & Hl0 & Ho0 & Ecfg0 & Hab0).
  pose proof (setOwner_pages e tr base n Abi.OwnerHost Isolation.HostVMID ltac:(lia) ltac:(lia) Hn1
    ltac:(fold base n; rewrite Z.sub_diag, Z.div_0_l by lia; lia) Hn64) as (ps0 & Hso0 & Hps0 & _).
  rewrite Hso in Hso0. injection Hso0 as ->.
  set (e0 := Isolation.set_Engine_pages ps0 e) in *.
  (* The engine ranges. *)
  assert (Hrs' : Forall (range_in_ram e0) (Isolation.Config_Engine (Isolation.Engine_cfg e0))) by (rewrite Ecfg0; exact Hrs).
  pose proof (engine_ranges_loop c e0 tr ltac:(unfold cfg_rel in *; rewrite Ecfg0; exact Hcfg) Hl0 Hrs')
    as (e2 & k & Hloop & (ps2 & E2 & Hps2) & Ho2 & Hab2).
  (* The slots. *)
  pose proof (vms_roots_loop e2 tr) as (k2 & Hloop2).
  exists (Isolation.set_Engine_vms (map no_root (Isolation.Engine_vms e2)) e2).
  split.
  - unfold Isolation.Engine_boot. CodeShadow.step_by (deref_root e tr). CodeShadow.step_by (deref_root e tr).
    fold base. rewrite wrapu_small by (fold n; lia). fold n. CodeShadow.step_by Hso.
    CodeShadow.step_by (deref_root e0 tr). CodeShadow.step_by Hloop.
    CodeShadow.step_by (deref_root e2 tr). CodeShadow.step_by Hloop2.
    unfold bind, ret. destruct (Isolation.Engine_buildHost root _ tr); reflexivity.
  - split; [exact (Ho2 (Ho0 ltac:(unfold Abi.OwnerHost; lia) Ho))|].
    assert (Ee2 : e2 = Isolation.set_Engine_pages ps2 (Isolation.set_Engine_pages ps0 e)) by exact E2.
    split; [exists ps2; split; [rewrite Ee2; destruct e; reflexivity|rewrite Hps2; exact Hps0]|].
    intros p. change (abs_pages c (Isolation.set_Engine_vms _ e2) p) with (abs_pages c e2 p).
    rewrite Hab2, Ecfg0, Hab0.
    assert (Hram : in_range p (pfn c (Z.to_nat base)) (Z.to_nat n) = in_ram c p).
    { unfold in_ram, pfn. rewrite G. f_equal; [|lia].
      replace (Z.to_nat base) with (ram_base c * 4096)%nat by lia. rewrite Nat.div_mul by lia. reflexivity. }
    rewrite Hram. unfold init_owner.
    destruct (in_ram c p) eqn:R.
    + rewrite (Hen p R). destruct (in_ranges c _ p); reflexivity.
    + destruct (in_ranges c _ p) eqn:Ri; [|unfold abs_pages; rewrite R; reflexivity].
      exfalso. pose proof (in_ranges_ram c e p Hcfg Hrs Ri) as X. congruence.
Qed.
