(** * Boot refines the model's initial state

    Theorems about proofs/code/Isolation.v, the translation of
    isolation/engine.go's [boot], run on the engine [isolation.New] has
    allocated ([allocated]: a zeroed ledger of the RAM's pages and VM
    slots of zeroed vCPUs, the host's record zero) for a configuration
    [Config.validate] accepted ([validated]) and a pool [tablePool.init]
    prepared ([pool_inv], [pool_placed]). Proved here ([boot_refines]):
    [boot] never fails; when it answers true, the engine meets the
    refinement invariant [refine_inv] of CodeRefineInv.v, its abstraction
    is the model's initial state ([State.init_meta]: the engine's ranges
    the engine's, every other RAM page the host's and in the host's
    stage-2, every VM slot free), so [Inv] holds of it, and no VM shares
    a page with the host. So every sequence of calls CodeRefineInv.v and
    CodeGuestInv.v cover, from the engine [boot] leaves, keeps them
    ([boot_mcalls], [boot_reaches]). *)
From Coq Require Import ZArith Lia List Bool.
From Bulkhead.Spec Require Import State Spec.
From Bulkhead.Proofs Require Import Invariants.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import Lemmas CodeLedger CodeVCPU CodeVMCreate CodeAbsLedger CodeShadow CodeStage2 CodeAbs
  CodeTransfer CodeFree CodeUpdateRoot CodeOwns CodeMemNoFailure CodeWalkRange CodeWalkCalls CodeEngineInv CodeMemCall
  CodeVMCreateRefine CodeVMCreateInv CodeWalkHeld CodeShadowRefine CodeModelThms CodeRefineInv CodeGuestInv
  CodeBoot CodeBootHost CodeFiles.
Import ListNotations.
Open Scope Z_scope.

(** ** What [New] hands [boot] *)

(** A VM slot as [New] allocates it: zero, with the configured number of
    zeroed vCPUs. *)
Definition fresh_vm (e : Isolation.Engine) : Isolation.vm :=
  Isolation.set_vm_vcpus (repeat Isolation.zero_vcpu (Z.to_nat (Isolation.Config_MaxVCPUs (Isolation.Engine_cfg e))))
    Isolation.zero_vm.

(** The engine [New] has allocated: a zeroed ledger entry per page of
    RAM, the configured number of fresh VM slots. *)
Definition allocated (e : Isolation.Engine) : Prop :=
  len (Isolation.Engine_pages e) * 4096 = Isolation.Range_Size (Isolation.Config_RAM (Isolation.Engine_cfg e)) /\
  Forall (fun pg => pg = Isolation.zero_page) (Isolation.Engine_pages e) /\
  Isolation.Engine_vms e = repeat (fresh_vm e) (Z.to_nat (Isolation.Config_MaxVMs (Isolation.Engine_cfg e))).

(** What [Config.validate] guarantees of the configuration: the limits,
    RAM whole pages inside the IPA space, the engine ranges whole pages of
    RAM, the host MMIO ranges whole pages inside the IPA space and apart
    from RAM, the boot files at most [MaxFileSize] bytes each. *)
Definition validated (e : Isolation.Engine) : Prop :=
  let cfg := Isolation.Engine_cfg e in
  let ram := Isolation.Config_RAM cfg in
  1 <= Isolation.Config_MaxVMs cfg <= 255 /\ 1 <= Isolation.Config_MaxVCPUs cfg <= 256 /\
  0 <= Isolation.Range_Base ram /\ Isolation.Range_Base ram mod 4096 = 0 /\
  Isolation.Range_Size ram mod 4096 = 0 /\ 4096 <= Isolation.Range_Size ram /\
  Isolation.Range_Base ram + Isolation.Range_Size ram <= 2 ^ 40 /\
  Forall (range_in_ram e) (Isolation.Config_Engine cfg) /\
  Forall (fun r => mmio_ok r /\ (Isolation.Range_Base r + Isolation.Range_Size r <= Isolation.Range_Base ram \/
                                 Isolation.Range_Base ram + Isolation.Range_Size ram <= Isolation.Range_Base r))
    (Isolation.Config_HostMMIO cfg) /\
  files_ok e.

(** The model configured for the engine: its RAM, slots and IPA space
    ([cfg_abs]), its engine region the engine ranges, its vCPU limit,
    its MMIO windows and its boot files the engine's. *)
Definition model_of (c : config) (e : Isolation.Engine) : Prop :=
  cfg_abs c e /\ engine_rel c e /\ Z.of_nat (max_vcpus c) = Isolation.Config_MaxVCPUs (Isolation.Engine_cfg e) /\
  windows_rel c e /\ files_rel c e.

(** ** The slots [boot] leaves *)

Definition boot_vm (e : Isolation.Engine) : Isolation.vm := no_root (fresh_vm e).

Lemma boot_vm_facts : forall e, 0 <= Isolation.Config_MaxVCPUs (Isolation.Engine_cfg e) < 2 ^ 63 ->
  let m := boot_vm e in
  Isolation.vm_live m = false /\ Isolation.vm_protected m = false /\ Isolation.stage2_root (Isolation.vm_s2 m) < 0 /\
  vm_ok m /\ shadow_ok (Isolation.vm_shadow m) /\
  Isolation.Config_MaxVCPUs (Isolation.Engine_cfg e) <= len (Isolation.vm_vcpus m).
Proof.
  intros e HM m. unfold m, boot_vm, no_root, fresh_vm.
  cbn [Isolation.vm_live Isolation.vm_protected Isolation.vm_s2 Isolation.vm_shadow Isolation.vm_vcpus Isolation.vm_nvcpu
    Isolation.set_vm_s2 Isolation.set_vm_vcpus Isolation.zero_vm Isolation.stage2_root Isolation.set_stage2_root].
  assert (Hl : len (repeat Isolation.zero_vcpu (Z.to_nat (Isolation.Config_MaxVCPUs (Isolation.Engine_cfg e)))) =
               Isolation.Config_MaxVCPUs (Isolation.Engine_cfg e)) by (unfold len; rewrite repeat_length; lia).
  split; [reflexivity|]. split; [reflexivity|]. split; [lia|]. split.
  - unfold vm_ok. cbn [Isolation.vm_nvcpu Isolation.vm_vcpus Isolation.set_vm_s2 Isolation.set_vm_vcpus Isolation.zero_vm]. rewrite Hl. split; [lia|]. split; [lia|].
    apply Forall_forall. intros x Hx. apply repeat_spec in Hx. subst x. reflexivity.
  - split; [|rewrite Hl; lia].
    unfold shadow_ok, regs_ok, Isolation.zero_shadowState.
    cbn [Isolation.shadowState_regs Isolation.shadowState_log Isolation.shadowState_head Isolation.shadowState_count].
    split; [reflexivity|]. split; [unfold len; rewrite repeat_length; reflexivity|]. split; [lia|]. split; [lia|].
    split; [apply Forall_forall; intros x Hx; apply repeat_spec in Hx; subst x; lia|].
    split.
    + unfold active. cbn. constructor.
    + apply Forall_forall. intros x Hx. apply repeat_spec in Hx. subst x. cbn. lia.
Qed.

(** The model's owner of a ledger entry is the host exactly when the
    entry's owner is. *)
Lemma host_owner : forall pg,
  match abs_owner pg with OHost => true | _ => false end = (Isolation.page_owner pg =? Abi.OwnerHost).
Proof.
  intros pg. unfold abs_owner.
  destruct (Z.eqb_spec (Isolation.page_owner pg) Abi.OwnerEngine) as [E|_]; [rewrite E; reflexivity|].
  destruct (Isolation.page_owner pg =? Abi.OwnerHost); [reflexivity|].
  destruct (Isolation.page_owner pg =? Abi.OwnerVM); reflexivity.
Qed.

Lemma map_repeat' : forall {A B} (f : A -> B) x n, map f (repeat x n) = repeat (f x) n.
Proof. intros A B f x n. induction n as [|n IH]; cbn; [reflexivity|]. rewrite IH. reflexivity. Qed.

(** ** [boot] *)

(** [boot] on the engine [New] allocated for a validated configuration,
    with a pool [tablePool.init] prepared, never fails; when it answers
    true (the pool was large enough for the host's stage-2), the engine
    meets [refine_inv], its abstraction is the model's initial state, so
    [Inv] holds of it, and no VM shares a page with the host. *)
Theorem boot_refines : forall c e tr, allocated e -> validated e -> pool_inv e -> pool_placed e -> model_of c e ->
  exists b e' tr', Isolation.Engine_boot root e tr = Ok b e' tr' /\
    (b = true -> refine_inv c e' /\ ms_eq (abs_ms c e') (init_meta c) /\ Inv c (abs_ms c e') /\ guest_unshared c e').
Proof.
  intros c e tr (Hlen & Hzero & Hvms) Hv Hp Hpl (Hcfg & Hen & HMc & Hw & Hfr).
  unfold validated in Hv. cbv zeta in Hv. destruct Hv as (HM & HMv & Hb0 & Hal & Hsal & Hs1 & H40 & Hrs & Hmmio & Hfo).
  pose proof Hcfg as (Hrel & HMV & Hipl). pose proof Hrel as (G & Hrb & Hrs0).
  assert (Hl : ledger_ok e) by (unfold ledger_ok; repeat split; lia).
  assert (Hown : owners_ok e).
  { unfold owners_ok. rewrite Forall_forall in *. intros pg Hin. rewrite (Hzero pg Hin). unfold entry_ok. cbn. lia. }
  pose proof (boot_prefix c e tr Hrel Hl ltac:(lia) ltac:(lia) Hrs Hen Hown) as (e1 & Hboot & Ho1 & (ps & E1 & Hps) & Hab1).
  assert (Ecfg1 : Isolation.Engine_cfg e1 = Isolation.Engine_cfg e) by (rewrite E1; destruct e; reflexivity).
  assert (Epool1 : Isolation.Engine_pool e1 = Isolation.Engine_pool e) by (rewrite E1; destruct e; reflexivity).
  assert (Eplat1 : Isolation.Engine_plat e1 = Isolation.Engine_plat e) by (rewrite E1; destruct e; reflexivity).
  assert (Epg1 : Isolation.Engine_pages e1 = ps) by (rewrite E1; destruct e; reflexivity).
  assert (Evms1 : Isolation.Engine_vms e1 = repeat (boot_vm e) (Z.to_nat (Isolation.Config_MaxVMs (Isolation.Engine_cfg e))))
    by (rewrite E1, Hvms, map_repeat'; destruct e; reflexivity).
  pose proof (boot_vm_facts e ltac:(lia)) as (Hbl & Hbp & Hbr & Hbok & Hbsh & Hbv).
  assert (Hp1 : pool_inv e1) by (unfold pool_inv, tables_ok, tables, pool_base in *; rewrite Epool1, Eplat1; exact Hp).
  assert (Hpl1 : pool_placed e1) by (unfold pool_placed, tables, pool_base in *; rewrite Epool1; exact Hpl).
  assert (Hl1 : ledger_ok e1) by (unfold ledger_ok in *; rewrite Ecfg1, Epg1, Hps; exact Hl).
  assert (Hdead1 : forall m, In m (Isolation.Engine_vms e1) -> Isolation.vm_live m = false)
    by (intros m Hm; rewrite Evms1 in Hm; apply repeat_spec in Hm; subst m; exact Hbl).
  assert (Hmmio1 : Forall mmio_ok (Isolation.Config_HostMMIO (Isolation.Engine_cfg e1)))
    by (rewrite Ecfg1; exact (Forall_impl _ (fun r H => proj1 H) Hmmio)).
  pose proof (buildHost_spec e1 tr Hp1 Hpl1 Hl1 ltac:(unfold CodeMemState.ram_base, CodeMemState.ram_size; rewrite Ecfg1; lia)
    Hdead1 Hmmio1) as (b & e' & tr' & Hbh & Hspec).
  exists b, e', tr'. split; [rewrite Hboot; exact Hbh|].
  intros ->. pose proof (Hspec eq_refl) as ((q & r & E') & Ho' & Hwb' & Hw').
  set (M := Z.to_nat (Isolation.Config_MaxVMs (Isolation.Engine_cfg e))) in *.
  assert (Ecfg : Isolation.Engine_cfg e' = Isolation.Engine_cfg e) by (rewrite E', <- Ecfg1; destruct e1; reflexivity).
  assert (Evms : Isolation.Engine_vms e' = repeat (boot_vm e) M) by (rewrite E', <- Evms1; destruct e1; reflexivity).
  assert (Epg : Isolation.Engine_pages e' = Isolation.Engine_pages e1) by (rewrite E'; destruct e1; reflexivity).
  assert (Hin : forall m, In m (Isolation.Engine_vms e') -> m = boot_vm e)
    by (intros m Hm; rewrite Evms in Hm; apply repeat_spec in Hm; exact Hm).
  assert (Hlenv : len (Isolation.Engine_vms e') = Isolation.Config_MaxVMs (Isolation.Engine_cfg e))
    by (rewrite Evms; unfold len, M; rewrite repeat_length; lia).
  pose proof Ho' as ((Hok' & Hpo' & _) & _ & Hh' & _).
  assert (Hl' : ledger_ok e') by (unfold ledger_ok in *; rewrite Ecfg, Epg, <- Ecfg1; exact Hl1).
  assert (Hvok : vcpus_ok e').
  { split; [lia|]. apply Forall_forall. intros m Hm. rewrite (Hin m Hm). exact Hbok. }
  assert (Hsh : shadow_inv e').
  { split; [exact Hvok|]. apply Forall_forall. intros m Hm. rewrite (Hin m Hm). exact Hbsh. }
  assert (Hcfg' : cfg_abs c e').
  { assert (HMV' : Z.of_nat (max_vms c) = Isolation.Config_MaxVMs (Isolation.Engine_cfg e))
      by (rewrite HMV, Hvms; unfold len; rewrite repeat_length; lia).
    unfold cfg_abs, cfg_rel in *. rewrite Ecfg, Hlenv. split; [exact Hrel|]. split; [exact HMV'|exact Hipl]. }
  assert (Hmem : mem_inv e').
  { split; [|split; [exact Ho'|]].
    - split; [exact Hl'|]. rewrite Ecfg. split; [lia|]. split; [lia|]. split; [lia|]. split; [exact Hok'|].
      apply Forall_forall. intros m Hm. rewrite (Hin m Hm). left. exact Hbr.
    - intros m Hm _. rewrite (Hin m Hm). exact Hbr. }
  assert (Habs : ms_eq (abs_ms c e') (init_meta c)).
  { split; [|split].
    - intros p. cbn [abs_ms ms_pages init_meta]. rewrite <- (Hab1 p). unfold abs_pages. rewrite Epg. reflexivity.
    - intros p. cbn [abs_ms ms_hs2 init_meta]. unfold abs_hs2.
      pose proof (Hab1 p) as Ha. unfold abs_pages in Ha. unfold init_owner in Ha |- *.
      destruct (in_ram c p) eqn:R; cbn [andb]; [|reflexivity].
      pose proof R as R'. unfold in_ram in R'. apply in_range_spec in R'.
      assert (Hp40 : Z.of_nat p * 4096 < 2 ^ 40) by lia.
      change (Isolation.Engine_host e') with (Isolation.Engine_host e') in Hw'. rewrite (Hw' p Hp40). unfold host_map.
      replace (in_mmio (Isolation.Config_HostMMIO (Isolation.Engine_cfg e1)) p) with false.
      2:{ symmetry. apply Bool.not_true_iff_false. intros Hc. unfold in_mmio in Hc.
          apply existsb_exists in Hc as (rg & Hrg & Hc). rewrite Ecfg1 in Hrg.
          rewrite Forall_forall in Hmmio. apply andb_true_iff in Hc as [C1 C2]. apply Z.leb_le in C1. apply Z.ltb_lt in C2.
          pose proof (Hmmio rg Hrg) as (_ & [Hlo|Hhi]); lia. }
      unfold ram_map, CodeMemState.ram_base. rewrite Ecfg1, Z.min_id.
      assert (Hx : Z.of_nat p - Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e)) / 4096 =
                   Z.of_nat (p - ram_base c)).
      { rewrite <- Hrb, Z_div_mult by lia. lia. }
      rewrite Hx. replace ((0 <=? Z.of_nat (p - ram_base c)) && (Z.of_nat (p - ram_base c) <? len (Isolation.Engine_pages e1)))
        with true by (symmetry; apply andb_true_iff; split; [apply Z.leb_le; lia|apply Z.ltb_lt];
                      rewrite Epg1, Hps; lia).
      cbn [andb]. unfold host_at. rewrite Nat2Z.id.
      injection Ha as Ha _. rewrite <- Ha, host_owner.
      destruct (Isolation.page_owner (nth (p - ram_base c) (Isolation.Engine_pages e1) Isolation.zero_page) =? Abi.OwnerHost);
        cbv iota beta; [|reflexivity].
      unfold pfnZ. rewrite Z_div_mult by lia. rewrite Nat2Z.id, Nat.eqb_refl. reflexivity.
    - intros v. cbn [abs_ms ms_vms init_meta]. destruct (_ && _); [|apply vm_eq_refl].
      assert (Hl0 : Isolation.vm_live (nth (v - 1) (Isolation.Engine_vms e') Isolation.zero_vm) = false).
      { pose proof (nth_in_or_default (v - 1) (Isolation.Engine_vms e') Isolation.zero_vm) as [H|H].
        - rewrite (Hin _ H). exact Hbl.
        - rewrite H. reflexivity. }
      unfold abs_vm. rewrite Hl0. apply vm_eq_refl. }
  assert (R : refine_inv c e').
  { split.
    - split; [split; [exact Hvok|]; split; [exact Hpo'|]; rewrite Ecfg; split; [lia|];
              apply Forall_forall; intros m Hm; rewrite (Hin m Hm); exact Hbv|].
      split; [exact Hok'|]. split; [exact Hcfg'|]. split; [exact Hh'|].
      split; [intros m Hm Hlv; rewrite (Hin m Hm), Hbl in Hlv; discriminate Hlv|].
      split; [apply Forall_forall; intros m Hm _; rewrite (Hin m Hm); exact Hbp|].
      apply Forall_forall. intros m Hm Hlv. rewrite (Hin m Hm), Hbl in Hlv. discriminate Hlv.
    - split; [split; [split; [exact Hmem|exact Hsh]|split; [exact Hwb'|]]|].
      { intros i m Hm Hlv. rewrite (Hin m (nth_error_In _ _ Hm)), Hbl in Hlv. discriminate Hlv. }
      split; [intros i m k pa w Hm Hlv; rewrite (Hin m (nth_error_In _ _ Hm)), Hbl in Hlv; discriminate Hlv|].
      split; [split; [exact Hl'|]; rewrite Ecfg; lia|].
      split; [unfold owners_ok in *; rewrite Epg; exact Ho1|].
      split; [lia|]. split; [rewrite Ecfg; exact HMc|].
      unfold windows_rel, files_rel, files_ok in *. rewrite Ecfg. exact (conj Hw (conj Hfr Hfo)). }
  split; [exact R|]. split; [exact Habs|].
  split; [exact (Inv_ms_eq c _ _ (ms_eq_sym _ _ Habs) (Invariants.inv_init c))|].
  intros p w E. destruct Habs as (Hpg & _). rewrite Hpg in E. cbn [init_meta ms_pages] in E. injection E as _ E.
  discriminate E.
Qed.

(** So from the engine [boot] leaves, any sequence of the hypervisor
    calls CodeRefineInv.v covers, with 64-bit arguments, runs to its end
    keeping [refine_inv], [Inv] and no VM page shared with the host
    (CodeRefineInv.mcalls_Inv). *)
Corollary boot_mcalls : forall c e tr xs, allocated e -> validated e -> pool_inv e -> pool_placed e -> model_of c e ->
  Forall mcall_ok xs ->
  exists b e' tr', Isolation.Engine_boot root e tr = Ok b e' tr' /\
    (b = true -> exists e'', run_mcalls xs e' tr' = Some e'' /\ seq_inv c e'').
Proof.
  intros c e tr xs Ha Hv Hp Hpl Hm Hxs.
  pose proof (boot_refines c e tr Ha Hv Hp Hpl Hm) as (b & e' & tr' & Hboot & H).
  exists b, e', tr'. split; [exact Hboot|]. intros Eb. pose proof (H Eb) as (R & _ & I & G).
  exact (mcalls_Inv c xs e' tr' (conj R (conj G I)) Hxs).
Qed.

(** And every engine reached from it by hypervisor and guest calls in
    any order, each with 64-bit arguments and its condition
    (CodeGuestInv.reaches), meets [refine_inv] and [Inv], and no such
    call from it fails (CodeGuestInv.reaches_Inv). *)
Corollary boot_reaches : forall c e tr, allocated e -> validated e -> pool_inv e -> pool_placed e -> model_of c e ->
  exists b e' tr', Isolation.Engine_boot root e tr = Ok b e' tr' /\
    (b = true -> forall e'', reaches e' e'' ->
       refine_inv c e'' /\ Inv c (abs_ms c e'') /\
       forall x tr'', gcall_ok x -> gcall_pre x e'' -> exists e3 tr3, run_gcall x e'' tr'' = Some (e3, tr3)).
Proof.
  intros c e tr Ha Hv Hp Hpl Hm.
  pose proof (boot_refines c e tr Ha Hv Hp Hpl Hm) as (b & e' & tr' & Hboot & H).
  exists b, e', tr'. split; [exact Hboot|]. intros Eb e'' Hr. pose proof (H Eb) as (R & _ & I & _).
  exact (reaches_Inv c e' e'' R I Hr).
Qed.
