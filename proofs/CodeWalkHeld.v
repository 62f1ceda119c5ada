(** * A VM's walk maps only pages the ledger gives it

    [walk_held]: every page the walk of a live VM's stage-2 maps, at an
    IPA page of the model's IPA space, is in the ledger the VM's own or
    the host's lent to it ([holds_for], Invariants: one direction of the
    model's [inv_s2]). MEM_SHARE and MEM_DONATE need it to keep
    [vms_sane]: the pages they map were the host's and not lent, so no
    live VM's walk mapped them. Proved here:
    - replacing a slot by one on the same stage-2 and as live keeps it
      ([walk_held_put_vm]), so the calls that write one slot's shadow
      state or a vCPU keep it with [create_rest] ([held_rest_slot],
      [held_rest_stable],
      [VCPUInit_walk_held]);
    - VM_CREATE keeps it: the slot it fills maps nothing and the other
      walks are unchanged ([VMCreate_walk_cases], CodeWalkCalls;
      [VMCreate_walk_held]);
    - VM_DESTROY of a VM sharing no page with the host keeps it: the
      other walks are unchanged ([VMDestroy_walk_cases], CodeWalkCalls),
      and the ledger entries it releases ([release_page]) are held by no
      other VM ([release_held], [VMDestroy_walk_held]);
    - MEM_RECLAIM keeps it: the live VMs' walks are unchanged, and the
      pages it gives the host were nobody's ([MemReclaim_walk_held]; it
      takes [owners_ok], every ledger owner one of the four kinds, which
      no invariant carries yet);
    - MEM_SHARE and MEM_DONATE keep it, from [walk_inv]: the VM's walk
      maps its IPA range onto the PA range ([MemShare_walks],
      [MemDonate_walks], CodeWalkCalls), whose pages the ledger commit
      gives the VM or lends it, and which no VM held before (the host's
      and unshared, as the call's checks ask:
      CodeModelThms.[lend_checks_unheld]); every other page and walk is
      as it was ([walk_held_lend], [MemShare_walk_held],
      [MemDonate_walk_held]);
    - with it, the two keep [create_inv]'s [vms_sane]: the VM's walk
      stays in RAM and maps no two IPA pages onto one page, as the pages
      it gains were mapped by no VM before ([s2_sane_lend],
      [create_inv_lend]); so each never fails from [create_inv],
      [walk_inv] and [walk_held] together and keeps all three
      ([MemShare_keeps_all], [MemDonate_keeps_all]). *)
From Coq Require Import ZArith Lia List Bool.
From Bulkhead.Spec Require Import State Spec.
From Bulkhead.Proofs Require Import Invariants.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodePlace CodeTrack CodeLens CodeLoop CodeLedger CodeVCPU CodeVCPUInit CodeVMCreate
  CodeShadow CodeStage2 CodePool CodeFree CodeTransfer CodeEngineOk CodeAbsLedger CodeAbs CodeVMCreateRefine
  CodeVMCreateInv CodeOwns CodeMemInvCreate CodeEngineInv CodeRelease CodeVMDestroy CodeMemInvDestroy CodeMemCall
  CodeLedgerRefine Lemmas CodeMemShare CodeDonate CodeUpdateRange CodeUpdateRootRange CodeWalkRange CodeWalkCalls
  CodeModelThms.
Import ListNotations.
Open Scope Z_scope.

Definition walk_held (c : config) (e : Isolation.Engine) : Prop :=
  forall i v k pa w, nth_error (Isolation.Engine_vms e) i = Some v -> Isolation.vm_live v = true ->
    (k < ipa_pages c)%nat -> walk e (Isolation.vm_s2 v) k = Some (pa, w) ->
    holds_for (S i) (abs_pages c e (pfnZ pa)) = true.

(** Replacing VM slot [i] by one on the same stage-2 and as live keeps
    [walk_held]: the ledger and every live VM's walk are as they were. *)
Lemma walk_held_put_vm : forall c e i m m', walk_held c e -> tables_ok e -> vms_own e ->
  nth_error (Isolation.Engine_vms e) i = Some m ->
  Isolation.vm_s2 m' = Isolation.vm_s2 m -> Isolation.vm_live m' = Isolation.vm_live m -> walk_held c (put_vm e i m').
Proof.
  intros c e i m m' H Ht Hown Hn Hs2 Hl j v k pa w Hj Hlv Hk Hw.
  assert (Hi : (i < length (Isolation.Engine_vms e))%nat) by (apply nth_error_Some; congruence).
  change (put_vm e i m') with (at_slot e i m') in *. rewrite vms_at in Hj.
  destruct (Nat.eq_dec j i) as [->|Hne].
  - rewrite nth_replace_nth in Hj by exact Hi. injection Hj as <-. rewrite Hs2 in Hw. rewrite Hl in Hlv.
    rewrite (walk_slot e i m' _ k Ht (Hown m (nth_error_In _ _ Hn) Hlv)) in Hw. exact (H i m k pa w Hn Hlv Hk Hw).
  - rewrite nth_replace_nth_other in Hj by (intros E; apply Hne; symmetry; exact E).
    rewrite (walk_slot e i m' _ k Ht (Hown v (nth_error_In _ _ Hj) Hlv)) in Hw. exact (H j v k pa w Hj Hlv Hk Hw).
Qed.

Lemma held_rest_slot : forall c, slot_stable (fun e => walk_held c e /\ create_rest c e).
Proof.
  intros c e i m m' [Hw Hr] Hn (Hs2 & Hl & Hp & Hv).
  pose proof Hr as (_ & _ & _ & Ht & _ & _ & Hown & _).
  split; [exact (walk_held_put_vm c e i m m' Hw Ht Hown Hn Hs2 Hl)|exact (create_rest_put_vm c e i m m' Hr Hn Hs2 Hl Hp Hv)].
Qed.

Lemma held_rest_stable : forall c, store_stable (fun e => walk_held c e /\ create_rest c e).
Proof. intros c. exact (put_vm_stable _ (held_rest_slot c)). Qed.

(** So MMIO_SHADOW, MMIO_LOG_READ, VCPU_INIT, VCPU_IRQ and the MMIO
    shadow path of VCPU_RUN keep [walk_held], [create_inv] and
    [engine_inv] together: the [*_keeps] of CodeEngineOk with
    [held_rest_stable] and [mem_inv_stable] ([store_stable_and]). As one
    instance: *)
Corollary VCPUInit_walk_held : forall c e tr id v entry arg, walk_held c e -> create_inv c e -> engine_inv e ->
  0 <= id < 2 ^ 64 -> 0 <= v < 2 ^ 64 ->
  exists st e', Isolation.Engine_VCPUInit root id v entry arg e tr = Ok st e' tr /\
    walk_held c e' /\ create_inv c e' /\ engine_inv e'.
Proof.
  intros c e tr id v entry arg Hw Hc [Hm Hs] Hid Hv.
  pose proof (VCPUInit_keeps (fun e => (walk_held c e /\ create_rest c e) /\ mem_inv e) e tr id v entry arg
    (store_stable_and _ _ (held_rest_stable c) mem_inv_stable) (conj (conj Hw (rest_of_create_inv c e Hc)) Hm) Hs Hid Hv)
    as (st & e' & H & ((Hw' & Hr') & Hm') & Hs').
  exists st, e'. split; [exact H|]. split; [exact Hw'|].
  split; [exact (create_inv_rest c e' (proj1 Hs') Hr')|split; assumption].
Qed.

(** Every outcome of VM_CREATE keeps [walk_held]: the ledger is
    unchanged, the slot it fills is not live (NO_MEMORY) or maps nothing
    (SUCCESS), and the other walks are as they were
    ([VMCreate_walk_cases], CodeWalkCalls). *)
Theorem VMCreate_walk_held : forall c e tr n flags r e' tr', create_inv c e -> walk_held c e -> 0 <= n < 2 ^ 64 ->
  Isolation.Engine_VMCreate root n flags e tr = Ok r e' tr' -> walk_held c e'.
Proof.
  intros c e tr n flags r e' tr' (Hc & Hok & _ & Hh & Hvms & _) H Hn Hrun.
  pose proof (VMCreate_walk_cases e tr n flags r e' tr' Hc Hok Hh Hvms Hn Hrun) as (Ep & _ & _ & Hwv).
  intros j v k pa w Hj Hlv Hk Hw. unfold abs_pages. rewrite Ep. fold (abs_pages c e (pfnZ pa)).
  pose proof (Hwv j v Hj Hlv) as [Hn0|(Hj0 & Hw0)]; [rewrite Hn0 in Hw; discriminate Hw|].
  rewrite Hw0 in Hw. exact (H j v k pa w Hj0 Hlv Hk Hw).
Qed.

(** ** VM_DESTROY *)

(** [release_page] of VM [id] leaves a page that another VM holds as it
    was. *)
Lemma release_held : forall id j pg, Z.to_nat id <> S j -> holds_for (S j) (abs_page pg) = true ->
  release_page id pg = pg.
Proof.
  intros id j pg Hne H. unfold holds_for, abs_page, abs_owner, abs_share in H. cbn [pg_owner pg_share] in H.
  unfold release_page.
  destruct (Z.eqb_spec (Isolation.page_owner pg) Abi.OwnerEngine) as [_|_]; [discriminate H|].
  destruct (Z.eqb_spec (Isolation.page_owner pg) Abi.OwnerHost) as [Eh|_];
    [|destruct (Z.eqb_spec (Isolation.page_owner pg) Abi.OwnerVM) as [_|_]; [|discriminate H]].
  - destruct (Isolation.page_shared pg); [|discriminate H]. apply Nat.eqb_eq in H.
    rewrite Eh. cbn [Abi.OwnerHost Abi.OwnerVM Z.eqb andb Pos.eqb].
    destruct (Z.eqb_spec (Isolation.page_borrower pg) id) as [<-|_]; [contradiction|reflexivity].
  - apply Nat.eqb_eq in H. cbn [andb].
    destruct (Z.eqb_spec (Isolation.page_vm pg) id) as [<-|_]; [contradiction|reflexivity].
Qed.

Lemma nth_map_release : forall id n l,
  nth n (map (release_page id) l) Isolation.zero_page = release_page id (nth n l Isolation.zero_page).
Proof. intros id n l. change Isolation.zero_page with (release_page id Isolation.zero_page) at 1. apply map_nth. Qed.

(** VM_DESTROY of a VM sharing no page with the host, from [create_inv],
    [engine_inv] and [walk_held], keeps [walk_held]: the slot it frees is
    not live, the other walks are unchanged (the pool's tables are), and
    the ledger entries it releases are the VM's own or lent to it, which
    no other VM holds. *)
Theorem VMDestroy_walk_held : forall c e tr id, create_inv c e -> engine_inv e -> walk_held c e ->
  len (Isolation.Engine_vms e) < 2 ^ 16 -> 0 <= id < 2 ^ 64 -> unshared_at e id ->
  exists st e' tr', Isolation.Engine_VMDestroy root id e tr = Ok st e' tr' /\ walk_held c e'.
Proof.
  intros c e tr id Hc [Hi Hs] H Hv Hid Hun.
  pose proof (VMDestroy_walk_cases e tr id Hi Hs Hv Hid Hun)
    as (st & e' & tr' & Hrun & [E|(i & m & _ & Ei & Hpg & _ & Hl & Hw)]);
    exists st, e', tr'; (split; [exact Hrun|]); [subst e'; exact H|].
  pose proof Hc as (_ & _ & _ & _ & Hvms & _).
  intros j v k pa w Hj Hlv Hk Hwk. pose proof (Hl j v Hj Hlv) as (Hj0 & Hne).
  rewrite (Hw _ k (Hvms v (nth_error_In _ _ Hj0) Hlv)) in Hwk.
  pose proof (H j v k pa w Hj0 Hlv Hk Hwk) as Hh.
  unfold abs_pages in *. destruct (in_ram c (pfnZ pa)); [|exact Hh].
  rewrite Hpg, nth_map_release. rewrite (release_held id j); [exact Hh| |exact Hh].
  intros Hs'. apply Hne. subst i. lia.
Qed.

(** ** MEM_RECLAIM *)

(** MEM_RECLAIM, from [engine_inv] and [walk_held], with RAM inside the
    IPA space, the model configured as the engine ([cfg_abs]) and every
    ledger owner one of the four kinds ([owners_ok]), keeps [walk_held]:
    the live VMs' walks are unchanged ([MemReclaim_walks]), and the pages
    it gives the host were nobody's, which no VM holds. *)
Theorem MemReclaim_walk_held : forall c e tr pa n st e' tr', cfg_abs c e -> owners_ok e -> engine_inv e ->
  walk_held c e ->
  Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e)) +
    Isolation.Range_Size (Isolation.Config_RAM (Isolation.Engine_cfg e)) <= 2 ^ 40 ->
  0 <= pa < 2 ^ 64 -> 0 <= n < 2 ^ 64 ->
  Isolation.Engine_MemReclaim root pa n e tr = Ok st e' tr' -> walk_held c e'.
Proof.
  intros c e tr pa n st e' tr' (Hcfg & _) Hown [Hi _] H Hram Hpa Hn Hrun.
  pose proof (MemReclaim_walks e tr pa n st e' tr' Hi Hram Hpa Hn Hrun) as (Herr & Ev & _ & Hw).
  destruct (Z.eq_dec st Abi.Success) as [->|Ne]; [|rewrite (Herr Ne); exact H].
  pose proof Hi as ((Hl & _) & _).
  set (s := mkState (mkMState (abs_pages c e) (fun _ => false) (fun _ => vm_free)) (fun _ => O) (fun _ _ _ => O)).
  pose proof (MemReclaim_ledger_refine c e s tr pa n e' tr' (conj Hl Hram) Hown Hcfg eq_refl Hpa Hn Hrun)
    as (s' & Hs' & Hpg & _).
  (* The pages MEM_RECLAIM gives the host were nobody's; the others are unchanged. *)
  assert (Hkept : forall j p, holds_for (S j) (abs_pages c e p) = true -> abs_pages c e' p = abs_pages c e p).
  { intros j p Hp. rewrite <- Hpg. unfold mem_reclaim in Hs'.
    destruct (negb (pa_ok c (Z.to_nat pa) (Z.to_nat n))); [injection Hs' as _ E; discriminate E|].
    destruct (first_range _ _ _) as [x|] eqn:Hf.
    { pose proof (first_range_some _ _ _ _ _ Hf) as (p0 & _ & Hx). apply (f_equal snd) in Hs'. cbn in Hs'.
      unfold err, ok0 in Hs'. injection Hs' as ->.
      unfold reclaim_check in Hx. destruct (owner_of _ p0); discriminate Hx. }
    injection Hs' as <-. cbn [st_meta ms_pages].
    destruct (in_range p (pfn c (Z.to_nat pa)) (Z.to_nat n)) eqn:Hr; [|reflexivity].
    unfold in_range in Hr. apply andb_true_iff in Hr as [Hr1 Hr2]. apply Nat.leb_le in Hr1. apply Nat.ltb_lt in Hr2.
    pose proof (first_range_none _ _ _ _ Hf p ltac:(lia)) as Hc. unfold reclaim_check, owner_of in Hc. cbn in Hc.
    unfold holds_for in Hp. destruct (abs_pages c e p) as [[] sh]; cbn in Hc, Hp; discriminate. }
  intros j v k pa' w Hj Hlv Hk Hwk. rewrite Ev in Hj.
  rewrite (Hw v k (nth_error_In _ _ Hj) Hlv) in Hwk.
  pose proof (H j v k pa' w Hj Hlv Hk Hwk) as Hh. rewrite (Hkept j _ Hh). exact Hh.
Qed.

(** ** MEM_SHARE and MEM_DONATE *)

(** The PFN the IPA page [y] of a range mapped at [ipa] onto [pa] maps
    to, all three page aligned: [pa]'s plus [y]'s offset in pages. *)
Lemma offset_pfn : forall pa ipa y, 0 <= pa -> pa mod 4096 = 0 -> ipa mod 4096 = 0 -> y mod 4096 = 0 -> ipa <= y ->
  (pa + (y - ipa)) / 4096 = pa / 4096 + (y - ipa) / 4096.
Proof.
  intros pa ipa y Hpa Hpm Him Hym Hy.
  pose proof (Z.div_mod pa 4096 ltac:(lia)) as Ep. rewrite Hpm, Z.add_0_r in Ep.
  assert (Ed : (y - ipa) mod 4096 = 0) by (rewrite Zminus_mod, Hym, Him; reflexivity).
  pose proof (Z.div_mod (y - ipa) 4096 ltac:(lia)) as Ey. rewrite Ed, Z.add_0_r in Ey.
  replace (pa + (y - ipa)) with ((pa / 4096 + (y - ipa) / 4096) * 4096) by lia. apply Z.div_mul. lia.
Qed.

(** The IPA page [y] of a range mapped at [ipa] to [pa] maps into the
    PFN range the call's ledger commit covers. *)
Lemma offset_in_range : forall c pa ipa n y, granule c = 4096%nat -> 0 <= pa -> 0 <= ipa ->
  pa mod 4096 = 0 -> ipa mod 4096 = 0 -> y mod 4096 = 0 -> ipa <= y < ipa + n * 4096 ->
  in_range (pfnZ (pa + (y - ipa))) (pfn c (Z.to_nat pa)) (Z.to_nat n) = true.
Proof.
  intros c pa ipa n y G Hpa Hipa Hpm Him Hym Hy. unfold in_range, pfnZ, pfn. rewrite G.
  assert (E2 : (Z.to_nat pa / 4096)%nat = Z.to_nat (pa / 4096)) by (rewrite Z2Nat.inj_div by lia; reflexivity).
  rewrite (offset_pfn pa ipa y Hpa Hpm Him Hym ltac:(lia)), E2.
  assert (Hp0 : 0 <= pa / 4096) by (apply Z.div_pos; lia).
  assert (Hd : 0 <= (y - ipa) / 4096 < n) by (split; [apply Z.div_pos|apply Z.div_lt_upper_bound]; lia).
  apply andb_true_iff. split; [apply Nat.leb_le|apply Nat.ltb_lt]; lia.
Qed.

(** A MEM_SHARE or MEM_DONATE answering SUCCESS passed its checks. *)
Lemma MemShare_passed : forall e tr id pa ipa n perms e' tr', mem_ok e ->
  0 <= id < 2 ^ 64 -> 0 <= pa < 2 ^ 64 -> 0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 ->
  Isolation.Engine_MemShare root id pa ipa n perms e tr = Ok Abi.Success e' tr' ->
  transfer_passed e id pa ipa n (vm_place (id - 1)).
Proof.
  intros e tr id pa ipa n perms e' tr' Hm Hid Hpa Hipa Hn Hrun.
  pose proof (MemShare_reaches_mapRange e tr id pa ipa n perms Hm Hid Hpa Hipa Hn)
    as [(st0 & Hc0 & Hne)|(m' & ps & N & Hpass & _)]; [|exact Hpass].
  rewrite Hc0 in Hrun. injection Hrun as E _ _. subst st0. contradiction.
Qed.

Lemma MemDonate_passed : forall e tr id pa ipa n perms e' tr', mem_inv e ->
  Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e)) +
    Isolation.Range_Size (Isolation.Config_RAM (Isolation.Engine_cfg e)) <= 2 ^ 40 ->
  0 <= id < 2 ^ 64 -> 0 <= pa < 2 ^ 64 -> 0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 ->
  Isolation.Engine_MemDonate root id pa ipa n perms e tr = Ok Abi.Success e' tr' ->
  transfer_passed e id pa ipa n (vm_place (id - 1)).
Proof.
  intros e tr id pa ipa n perms e' tr' Hi Hram Hid Hpa Hipa Hn Hrun. pose proof Hi as (Hm & (Hp & _ & Hh & _) & _).
  pose proof (MemDonate_reaches_unmap e tr id pa ipa n perms Hm
    (or_intror (l1_inv_tree e _ (root_inv_l1 e _ (owns_root_inv e _ Hp Hh)))) Hram Hid Hpa Hipa Hn)
    as [(st0 & Hc0 & Hne)|(Nh & Nv & Hpass & _)]; [|exact Hpass].
  rewrite Hc0 in Hrun. injection Hrun as E _ _. subst st0. contradiction.
Qed.

(** A call that commits the PFN range of [pa] to VM [id] (each page
    becomes [given], which [id] holds; every other page as before), when
    no VM held a page of the range, and that maps the IPA range at [ipa]
    onto it in the VM's walk, every other page and every other live VM's
    walk as before, keeps [walk_held]. *)
Lemma walk_held_lend : forall c e e' id pa ipa n m w0 given, walk_held c e -> cfg_abs c e ->
  1 <= id -> 0 <= pa -> 0 <= ipa -> pa mod 4096 = 0 -> ipa mod 4096 = 0 ->
  holds_for (Z.to_nat id) given = true ->
  (forall p, abs_pages c e' p = if in_range p (pfn c (Z.to_nat pa)) (Z.to_nat n) then given else abs_pages c e p) ->
  (forall p w, in_range p (pfn c (Z.to_nat pa)) (Z.to_nat n) = true -> holds_for w (abs_pages c e p) = false) ->
  nth_error (Isolation.Engine_vms e) (Z.to_nat (id - 1)) = Some m -> Isolation.Engine_vms e' = Isolation.Engine_vms e ->
  (forall k, Z.of_nat k * 4096 < 2 ^ 40 ->
     walk e' (Isolation.vm_s2 m) k =
       if (ipa <=? Z.of_nat k * 4096) && (Z.of_nat k * 4096 <? ipa + n * 4096)
       then Some (pa + (Z.of_nat k * 4096 - ipa), w0) else walk e (Isolation.vm_s2 m) k) ->
  (forall j m', j <> Z.to_nat (id - 1) -> nth_error (Isolation.Engine_vms e) j = Some m' -> Isolation.vm_live m' = true ->
     forall k, walk e' (Isolation.vm_s2 m') k = walk e (Isolation.vm_s2 m') k) ->
  walk_held c e'.
Proof.
  intros c e e' id pa ipa n m w0 given H Hcfg Hid Hpa Hipa Hpm Him Hg Hpg Hnone Hnth Ev Hwm Hother.
  pose proof Hcfg as ((G & _) & _ & Hipl).
  assert (Hkeep : forall j v k pa' w, nth_error (Isolation.Engine_vms e) j = Some v -> Isolation.vm_live v = true ->
    (k < ipa_pages c)%nat -> walk e (Isolation.vm_s2 v) k = Some (pa', w) ->
    holds_for (S j) (abs_pages c e' (pfnZ pa')) = true).
  { intros j v k pa' w Hj Hlv Hk Hw. pose proof (H j v k pa' w Hj Hlv Hk Hw) as Hh. rewrite Hpg.
    destruct (in_range _ _ _) eqn:R; [rewrite (Hnone _ _ R) in Hh; discriminate Hh|exact Hh]. }
  intros j v k pa' w Hj Hlv Hk Hw. rewrite Ev in Hj.
  assert (Hk40 : Z.of_nat k * 4096 < 2 ^ 40) by (change Isolation.ipaLimit with (2 ^ 40) in Hipl; lia).
  destruct (Nat.eq_dec j (Z.to_nat (id - 1))) as [->|Hjne].
  - rewrite Hnth in Hj. injection Hj as <-. rewrite (Hwm k Hk40) in Hw.
    destruct (Z.leb_spec ipa (Z.of_nat k * 4096)), (Z.ltb_spec (Z.of_nat k * 4096) (ipa + n * 4096)); cbn [andb] in Hw;
      try exact (Hkeep _ _ k pa' w Hnth Hlv Hk Hw).
    injection Hw as <- _.
    rewrite Hpg, (offset_in_range c pa ipa n (Z.of_nat k * 4096) G Hpa Hipa Hpm Him ltac:(apply Z.mod_mul; lia) ltac:(lia)).
    replace (S (Z.to_nat (id - 1))) with (Z.to_nat id) by lia. exact Hg.
  - rewrite (Hother j v Hjne Hj Hlv k) in Hw. exact (Hkeep j v k pa' w Hj Hlv Hk Hw).
Qed.

(** MEM_SHARE, from [create_inv], [walk_inv] and [walk_held], with RAM
    inside the IPA space and at most 255 VM slots, keeps [walk_held]: the
    pages it maps in the VM's walk are the host's lent to the VM after
    it, and the pages it lends were held by no VM before. *)
Theorem MemShare_walk_held : forall c e tr id pa ipa n perms st e' tr', create_inv c e -> walk_inv e -> reclaim_ok e ->
  len (Isolation.Engine_vms e) <= 255 ->
  0 <= id < 2 ^ 64 -> 0 <= pa < 2 ^ 64 -> 0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 -> 0 <= perms < 2 ^ 64 ->
  walk_held c e -> Isolation.Engine_MemShare root id pa ipa n perms e tr = Ok st e' tr' -> walk_held c e'.
Proof.
  intros c e tr id pa ipa n perms st e' tr' Hc [[Hi Hs] Hwb] Hrok Hvms Hid Hpa Hipa Hn Hperms H Hrun.
  pose proof (MemShare_walks e tr id pa ipa n perms st e' tr' Hi Hwb (proj2 Hrok) Hid Hpa Hipa Hn Hrun) as [Herr Hsucc].
  destruct (Z.eq_dec st Abi.Success) as [->|Ne]; [|rewrite (Herr Ne); exact H].
  pose proof (Hsucc eq_refl) as (m & Hnth & _ & Ev & _ & _ & _ & Hwm & _ & Hother).
  pose proof Hc as (_ & _ & Hcfg & _ & _ & Hfree & Hsane).
  pose proof (MemShare_success_pages c e tr id pa ipa n perms e' tr' (proj1 Hi) Hrok Hcfg Hfree Hsane Hvms
    Hid Hpa Hipa Hn Hperms Hrun) as (Hpg & _ & _ & Hlc).
  pose proof (lend_checks_unheld _ _ _ _ _ _ _ Hlc) as Hnone.
  pose proof (MemShare_passed e tr id pa ipa n perms e' tr' (proj1 Hi) Hid Hpa Hipa Hn Hrun)
    as (_ & Hid1 & _ & _ & Hpal & Hial & _).
  exact (walk_held_lend c e e' id pa ipa n m _ (mkPage OHost (SharedWith (Z.to_nat id))) H Hcfg Hid1
    ltac:(lia) ltac:(lia) Hpal Hial ltac:(unfold holds_for; cbn [pg_owner pg_share]; apply Nat.eqb_refl)
    Hpg Hnone Hnth Ev Hwm Hother).
Qed.

(** MEM_DONATE, under the same hypotheses, keeps [walk_held]: the pages
    it maps in the VM's walk are the VM's after it, and the pages it
    gives were held by no VM before. *)
Theorem MemDonate_walk_held : forall c e tr id pa ipa n perms st e' tr', create_inv c e -> walk_inv e -> reclaim_ok e ->
  len (Isolation.Engine_vms e) <= 255 ->
  0 <= id < 2 ^ 64 -> 0 <= pa < 2 ^ 64 -> 0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 -> 0 <= perms < 2 ^ 64 ->
  walk_held c e -> Isolation.Engine_MemDonate root id pa ipa n perms e tr = Ok st e' tr' -> walk_held c e'.
Proof.
  intros c e tr id pa ipa n perms st e' tr' Hc [[Hi Hs] Hwb] Hrok Hvms Hid Hpa Hipa Hn Hperms H Hrun.
  pose proof (MemDonate_walks e tr id pa ipa n perms st e' tr' Hi Hwb (proj2 Hrok) Hid Hpa Hipa Hn Hrun) as [Herr Hsucc].
  destruct (Z.eq_dec st Abi.Success) as [->|Ne]; [|rewrite (Herr Ne); exact H].
  pose proof (Hsucc eq_refl) as (m & Hnth & _ & Ev & _ & _ & _ & _ & _ & Hwm & Hother & _).
  pose proof Hc as (_ & _ & Hcfg & _ & _ & Hfree & Hsane).
  pose proof (MemDonate_success_pages c e tr id pa ipa n perms e' tr' (proj1 Hi) Hrok Hcfg Hfree Hsane Hvms
    Hid Hpa Hipa Hn Hperms Hrun) as (Hpg & _ & _ & Hlc).
  pose proof (lend_checks_unheld _ _ _ _ _ _ _ Hlc) as Hnone.
  pose proof (MemDonate_passed e tr id pa ipa n perms e' tr' Hi (proj2 Hrok) Hid Hpa Hipa Hn Hrun)
    as (_ & Hid1 & _ & _ & Hpal & Hial & _).
  exact (walk_held_lend c e e' id pa ipa n m _ (mkPage (OVM (Z.to_nat id)) NotShared) H Hcfg Hid1
    ltac:(lia) ltac:(lia) Hpal Hial ltac:(unfold holds_for; cbn [pg_owner pg_share]; apply Nat.eqb_refl)
    Hpg Hnone Hnth Ev Hwm Hother).
Qed.

(** ** [create_inv] after MEM_SHARE and MEM_DONATE *)

(** Two IPA pages of a range mapped onto page-aligned [pa] that map to
    the same PFN are the same page. *)
Lemma offset_pfn_inj : forall pa ipa y1 y2, 0 <= pa -> pa mod 4096 = 0 -> ipa mod 4096 = 0 ->
  y1 mod 4096 = 0 -> y2 mod 4096 = 0 -> ipa <= y1 -> ipa <= y2 ->
  pfnZ (pa + (y1 - ipa)) = pfnZ (pa + (y2 - ipa)) -> y1 = y2.
Proof.
  intros pa ipa y1 y2 Hpa Hpm Him H1 H2 Hl1 Hl2 E. unfold pfnZ in E.
  rewrite (offset_pfn pa ipa y1), (offset_pfn pa ipa y2) in E by assumption.
  apply Z2Nat.inj in E; [|apply Z.add_nonneg_nonneg; apply Z.div_pos; lia..].
  assert (D1 : (y1 - ipa) mod 4096 = 0) by (rewrite Zminus_mod, H1, Him; reflexivity).
  assert (D2 : (y2 - ipa) mod 4096 = 0) by (rewrite Zminus_mod, H2, Him; reflexivity).
  pose proof (Z.div_mod (y1 - ipa) 4096 ltac:(lia)). pose proof (Z.div_mod (y2 - ipa) 4096 ltac:(lia)). lia.
Qed.

(** The pages of a range [pa_ok] accepts are in RAM. *)
Lemma range_in_ram : forall c pa n, pa_ok c pa n = true -> forall p, in_range p (pfn c pa) n = true -> in_ram c p = true.
Proof.
  intros c pa n H p Hp. unfold pa_ok in H. unfold pfn in Hp. unfold in_ram, in_range in *.
  apply andb_true_iff in H as [H H4]. apply andb_true_iff in H as [_ H3]. apply Nat.leb_le in H3. apply Nat.leb_le in H4.
  apply andb_true_iff in Hp as [H1 H2]. apply Nat.leb_le in H1. apply Nat.ltb_lt in H2.
  apply andb_true_iff. split; [apply Nat.leb_le|apply Nat.ltb_lt]; lia.
Qed.

(** A stage-2 whose walk after a call maps the IPA range at [ipa] onto
    the pages [pa_ok] accepts at [pa], none of which it mapped before,
    and every other page as before, stays sane: in RAM, and no two IPA
    pages on one page. *)
Lemma s2_sane_lend : forall c e e' s2 pa ipa n w0, cfg_abs c e -> s2_sane c e s2 ->
  0 <= pa -> 0 <= ipa -> pa mod 4096 = 0 -> ipa mod 4096 = 0 -> pa_ok c (Z.to_nat pa) (Z.to_nat n) = true ->
  (forall k pa' w, (k < ipa_pages c)%nat -> walk e s2 k = Some (pa', w) ->
     in_range (pfnZ pa') (pfn c (Z.to_nat pa)) (Z.to_nat n) = false) ->
  (forall k, Z.of_nat k * 4096 < 2 ^ 40 ->
     walk e' s2 k = if (ipa <=? Z.of_nat k * 4096) && (Z.of_nat k * 4096 <? ipa + n * 4096)
                    then Some (pa + (Z.of_nat k * 4096 - ipa), w0) else walk e s2 k) ->
  s2_sane c e' s2.
Proof.
  intros c e e' s2 pa ipa n w0 Hcfg (Hram & Hinj) Hpa Hipa Hpm Him Hok Hout Hw.
  pose proof Hcfg as ((G & _) & _ & Hipl). change Isolation.ipaLimit with (2 ^ 40) in Hipl.
  assert (Hin : forall k, ipa <= Z.of_nat k * 4096 < ipa + n * 4096 ->
    in_range (pfnZ (pa + (Z.of_nat k * 4096 - ipa))) (pfn c (Z.to_nat pa)) (Z.to_nat n) = true).
  { intros k Hk. apply offset_in_range; [exact G|lia|lia|exact Hpm|exact Him|apply Z.mod_mul; lia|exact Hk]. }
  assert (Hcase : forall k pa' w, (k < ipa_pages c)%nat -> walk e' s2 k = Some (pa', w) ->
    (ipa <= Z.of_nat k * 4096 < ipa + n * 4096 /\ pa' = pa + (Z.of_nat k * 4096 - ipa)) \/ walk e s2 k = Some (pa', w)).
  { intros k pa' w Hk E. rewrite (Hw k ltac:(lia)) in E.
    destruct (Z.leb_spec ipa (Z.of_nat k * 4096)), (Z.ltb_spec (Z.of_nat k * 4096) (ipa + n * 4096)); cbn [andb] in E;
      try (right; exact E).
    injection E as <- _. left. split; [lia|reflexivity]. }
  split.
  - intros k pa' w Hk E. pose proof (Hcase k pa' w Hk E) as [(Hr & ->)|E0]; [|exact (Hram k pa' w Hk E0)].
    exact (range_in_ram c _ _ Hok _ (Hin k Hr)).
  - intros k1 k2 pa1 pa2 w1 w2 Hk1 Hk2 E1 E2 Ep.
    destruct (Hcase k1 pa1 w1 Hk1 E1) as [(Hr1 & ->)|E1'], (Hcase k2 pa2 w2 Hk2 E2) as [(Hr2 & ->)|E2'].
    + apply Nat2Z.inj. apply (offset_pfn_inj pa ipa (Z.of_nat k1 * 4096) (Z.of_nat k2 * 4096) Hpa Hpm Him
        ltac:(apply Z.mod_mul; lia) ltac:(apply Z.mod_mul; lia) ltac:(lia) ltac:(lia)) in Ep. lia.
    + pose proof (Hin k1 Hr1) as R. rewrite Ep, (Hout k2 pa2 w2 Hk2 E2') in R. discriminate R.
    + pose proof (Hin k2 Hr2) as R. rewrite <- Ep, (Hout k1 pa1 w1 Hk1 E1') in R. discriminate R.
    + exact (Hinj k1 k2 pa1 pa2 w1 w2 Hk1 Hk2 E1' E2' Ep).
Qed.

(** A call that keeps [engine_inv], the slots and the configuration,
    leaves one live VM's stage-2 sane and every other live VM's walk as it
    was keeps [create_inv]. *)
Lemma create_inv_one_vm : forall c e e' i m, create_inv c e -> engine_inv e' ->
  Isolation.Engine_vms e' = Isolation.Engine_vms e -> Isolation.Engine_cfg e' = Isolation.Engine_cfg e ->
  nth_error (Isolation.Engine_vms e) i = Some m -> s2_sane c e' (Isolation.vm_s2 m) ->
  (forall j m', j <> i -> nth_error (Isolation.Engine_vms e) j = Some m' -> Isolation.vm_live m' = true ->
     forall k, walk e' (Isolation.vm_s2 m') k = walk e (Isolation.vm_s2 m') k) ->
  create_inv c e'.
Proof.
  intros c e e' i m Hc [Hi' Hs'] Ev Ecfg Hnth Hsm Hother.
  apply (create_inv_rest c e' (proj1 Hs')).
  pose proof (rest_of_create_inv c e Hc) as (_ & Hmax & Hlen & _ & Hcfg & _ & _ & Hfree & Hsane).
  pose proof Hi' as (_ & ((Ht' & Hpk' & _) & _ & Hh' & Hown' & _) & _).
  assert (Hcfg' : cfg_abs c e') by (unfold cfg_abs, cfg_rel in *; rewrite Ev, Ecfg; exact Hcfg).
  unfold create_rest, free_slots_clear, vms_sane in *. rewrite Ev, Ecfg.
  split; [exact Hpk'|]. split; [exact Hmax|]. split; [exact Hlen|]. split; [exact Ht'|].
  split; [exact Hcfg'|]. split; [exact Hh'|]. split; [exact Hown'|]. split; [exact Hfree|].
  rewrite Forall_forall in *. intros mv Hmv Hlv. apply In_nth_error in Hmv as (j & Hj).
  destruct (Nat.eq_dec j i) as [->|Hjne].
  - rewrite Hnth in Hj. injection Hj as <-. exact Hsm.
  - exact (s2_sane_ext c e e' _ (Hother j mv Hjne Hj Hlv) (Hsane mv (nth_error_In _ _ Hj) Hlv)).
Qed.

(** A call that keeps [engine_inv], the slots and the configuration,
    and that maps the IPA range at [ipa] of VM [id] onto the pages
    [pa_ok] accepts at [pa], which no VM held, every other page and every
    other live VM's walk as before, keeps [create_inv] from [create_inv]
    and [walk_held]. *)
Lemma create_inv_lend : forall c e e' id pa ipa n m w0, create_inv c e -> walk_held c e -> engine_inv e' ->
  Isolation.Engine_vms e' = Isolation.Engine_vms e -> Isolation.Engine_cfg e' = Isolation.Engine_cfg e ->
  1 <= id -> 0 <= pa -> 0 <= ipa -> pa mod 4096 = 0 -> ipa mod 4096 = 0 -> pa_ok c (Z.to_nat pa) (Z.to_nat n) = true ->
  (forall p w, in_range p (pfn c (Z.to_nat pa)) (Z.to_nat n) = true -> holds_for w (abs_pages c e p) = false) ->
  nth_error (Isolation.Engine_vms e) (Z.to_nat (id - 1)) = Some m -> Isolation.vm_live m = true ->
  (forall k, Z.of_nat k * 4096 < 2 ^ 40 ->
     walk e' (Isolation.vm_s2 m) k =
       if (ipa <=? Z.of_nat k * 4096) && (Z.of_nat k * 4096 <? ipa + n * 4096)
       then Some (pa + (Z.of_nat k * 4096 - ipa), w0) else walk e (Isolation.vm_s2 m) k) ->
  (forall j m', j <> Z.to_nat (id - 1) -> nth_error (Isolation.Engine_vms e) j = Some m' -> Isolation.vm_live m' = true ->
     forall k, walk e' (Isolation.vm_s2 m') k = walk e (Isolation.vm_s2 m') k) ->
  create_inv c e'.
Proof.
  intros c e e' id pa ipa n m w0 Hc H Hei' Ev Ecfg Hid Hpa Hipa Hpm Him Hok Hnone Hnth Hlive Hwm Hother.
  apply (create_inv_one_vm c e e' _ m Hc Hei' Ev Ecfg Hnth); [|exact Hother].
  pose proof Hc as (_ & _ & Hcfg & _ & _ & _ & Hsane). unfold vms_sane in Hsane. rewrite Forall_forall in Hsane.
  apply (s2_sane_lend c e e' _ pa ipa n w0 Hcfg (Hsane m (nth_error_In _ _ Hnth) Hlive) Hpa Hipa Hpm Him Hok);
    [|exact Hwm].
  intros k pa' w Hk Hw. destruct (in_range _ _ _) eqn:R; [|reflexivity].
  pose proof (H _ m k pa' w Hnth Hlive Hk Hw) as Hh. rewrite (Hnone _ _ R) in Hh. discriminate Hh.
Qed.

(** The pages a transfer that passed its checks covers are the ones
    [pa_ok] accepts. *)
Lemma passed_pa_ok : forall c e id pa ipa n v, cfg_abs c e -> reclaim_ok e -> 0 <= pa < 2 ^ 64 -> 0 <= n < 2 ^ 64 ->
  transfer_passed e id pa ipa n v -> pa_ok c (Z.to_nat pa) (Z.to_nat n) = true.
Proof.
  intros c e id pa ipa n v Hcfg (Hl & Hram) Hpa Hn (_ & _ & _ & Hn1 & Hpal & _ & Hplo & Hphi & _).
  apply (pa_ok_iff c e pa n (proj1 Hcfg) Hl ltac:(lia) Hpa Hn). repeat split; try exact Hpal; lia.
Qed.

(** MEM_SHARE never fails from [create_inv], [walk_inv] and [walk_held],
    with RAM inside the IPA space and at most 255 VM slots, and keeps the
    three. *)
Theorem MemShare_keeps_all : forall c e tr id pa ipa n perms, create_inv c e -> walk_inv e -> walk_held c e ->
  reclaim_ok e -> len (Isolation.Engine_vms e) <= 255 ->
  0 <= id < 2 ^ 64 -> 0 <= pa < 2 ^ 64 -> 0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 -> 0 <= perms < 2 ^ 64 ->
  exists st e' tr', Isolation.Engine_MemShare root id pa ipa n perms e tr = Ok st e' tr' /\
    create_inv c e' /\ walk_inv e' /\ walk_held c e'.
Proof.
  intros c e tr id pa ipa n perms Hc Hwi H Hrok Hvms Hid Hpa Hipa Hn Hperms.
  pose proof (MemShare_walk_inv e tr id pa ipa n perms Hwi (proj2 Hrok) Hid Hpa Hipa Hn) as (st & e' & tr' & Hrun & Hwi').
  exists st, e', tr'. split; [exact Hrun|].
  split; [|split; [exact Hwi'|exact (MemShare_walk_held c e tr id pa ipa n perms st e' tr' Hc Hwi Hrok Hvms
    Hid Hpa Hipa Hn Hperms H Hrun)]].
  destruct Hwi as [[Hi Hs] Hwb].
  pose proof (MemShare_walks e tr id pa ipa n perms st e' tr' Hi Hwb (proj2 Hrok) Hid Hpa Hipa Hn Hrun) as [Herr Hsucc].
  destruct (Z.eq_dec st Abi.Success) as [->|Ne]; [|rewrite (Herr Ne); exact Hc].
  pose proof (Hsucc eq_refl) as (m & Hnth & Hlive & Ev & _ & Ecfg & _ & Hwm & _ & Hother).
  pose proof Hc as (_ & _ & Hcfg & _ & _ & Hfree & Hsane).
  pose proof (MemShare_success_pages c e tr id pa ipa n perms e' tr' (proj1 Hi) Hrok Hcfg Hfree Hsane Hvms
    Hid Hpa Hipa Hn Hperms Hrun) as (_ & _ & _ & Hlc).
  pose proof (lend_checks_unheld _ _ _ _ _ _ _ Hlc) as Hnone.
  pose proof (MemShare_passed e tr id pa ipa n perms e' tr' (proj1 Hi) Hid Hpa Hipa Hn Hrun) as Hpass.
  pose proof Hpass as (_ & Hid1 & _ & _ & Hpal & Hial & _).
  exact (create_inv_lend c e e' id pa ipa n m _ Hc H (proj1 Hwi') Ev Ecfg Hid1 ltac:(lia) ltac:(lia) Hpal Hial
    (passed_pa_ok c e id pa ipa n _ Hcfg Hrok Hpa Hn Hpass) Hnone Hnth Hlive Hwm Hother).
Qed.

(** MEM_DONATE never fails under the same hypotheses and keeps the
    three. *)
Theorem MemDonate_keeps_all : forall c e tr id pa ipa n perms, create_inv c e -> walk_inv e -> walk_held c e ->
  reclaim_ok e -> len (Isolation.Engine_vms e) <= 255 ->
  0 <= id < 2 ^ 64 -> 0 <= pa < 2 ^ 64 -> 0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 -> 0 <= perms < 2 ^ 64 ->
  exists st e' tr', Isolation.Engine_MemDonate root id pa ipa n perms e tr = Ok st e' tr' /\
    create_inv c e' /\ walk_inv e' /\ walk_held c e'.
Proof.
  intros c e tr id pa ipa n perms Hc Hwi H Hrok Hvms Hid Hpa Hipa Hn Hperms.
  pose proof (MemDonate_walk_inv e tr id pa ipa n perms Hwi (proj2 Hrok) Hid Hpa Hipa Hn) as (st & e' & tr' & Hrun & Hwi').
  exists st, e', tr'. split; [exact Hrun|].
  split; [|split; [exact Hwi'|exact (MemDonate_walk_held c e tr id pa ipa n perms st e' tr' Hc Hwi Hrok Hvms
    Hid Hpa Hipa Hn Hperms H Hrun)]].
  destruct Hwi as [[Hi Hs] Hwb].
  pose proof (MemDonate_walks e tr id pa ipa n perms st e' tr' Hi Hwb (proj2 Hrok) Hid Hpa Hipa Hn Hrun) as [Herr Hsucc].
  destruct (Z.eq_dec st Abi.Success) as [->|Ne]; [|rewrite (Herr Ne); exact Hc].
  pose proof (Hsucc eq_refl) as (m & Hnth & Hlive & Ev & _ & Ecfg & _ & _ & _ & Hwm & Hother & _).
  pose proof Hc as (_ & _ & Hcfg & _ & _ & Hfree & Hsane).
  pose proof (MemDonate_success_pages c e tr id pa ipa n perms e' tr' (proj1 Hi) Hrok Hcfg Hfree Hsane Hvms
    Hid Hpa Hipa Hn Hperms Hrun) as (_ & _ & _ & Hlc).
  pose proof (lend_checks_unheld _ _ _ _ _ _ _ Hlc) as Hnone.
  pose proof (MemDonate_passed e tr id pa ipa n perms e' tr' Hi (proj2 Hrok) Hid Hpa Hipa Hn Hrun) as Hpass.
  pose proof Hpass as (_ & Hid1 & _ & _ & Hpal & Hial & _).
  exact (create_inv_lend c e e' id pa ipa n m _ Hc H (proj1 Hwi') Ev Ecfg Hid1 ltac:(lia) ltac:(lia) Hpal Hial
    (passed_pa_ok c e id pa ipa n _ Hcfg Hrok Hpa Hn Hpass) Hnone Hnth Hlive Hwm Hother).
Qed.
