(** * VM_DESTROY of a VM that shares pages with the host, refined whole

    Lemmas about proofs/code/Isolation.v, the translation of
    isolation/vm.go, that carry on from CodeReleaseShared.v (the outcomes
    of VM_DESTROY when the VM may share pages with the host) as
    CodeMemInvDestroy, CodeWalkCalls, CodeEngineInv, CodeWalkHeld,
    CodeDestroyRefine and CodeRefineInv do for a VM that shares none.
    [releasePages] leaves the engine [released]: the ledger released, the
    host's tree changed in the pool as [host_after] says; the rest of
    VM_DESTROY then [destroyed] the slot from there. Proved here:
    - the [released] engine keeps [mem_inv] (the host's tree still owns
      its tables, every live VM's, apart from it, is kept) and the walk
      of every live VM ([released_mem_inv], [released_vm_walk]);
    - VM_DESTROY, from [mem_inv], [shadow_inv] and [walks_below], with
      RAM inside the IPA space, for a vmid whose live VM's pages shared
      with the host the host walks at level 3 ([lv3_shared_at]), never
      fails and leaves the engine as it was with an error, or answers
      SUCCESS with the slot destroyed, the ledger released, every other
      live VM's walk as it was, and the host's walk without the VM's
      pages shared with it ([VMDestroy_shared_walk_cases]);
    - so it keeps [walk_inv], [create_inv], [walk_held], the
      configuration and [owners_ok]; its SUCCESS refines the model's
      [vm_destroy] whole, the host stage-2 included, which loses exactly
      the pages the VM owned ([shared_hs2], [VMDestroy_shared_keeps]);
      from [refine_inv] and [Inv] it keeps both
      ([VMDestroy_shared_refine_inv], CodeRefineInv's
      [VMDestroy_refine_inv] without its condition that the VM shares no
      page with the host, which meets this one: [unshared_lv3]), and it
      keeps CodeReady's [runs_ok] ([VMDestroy_shared_runs_ok]);
    - it keeps CodeHostLevel's [host_lv3], which gives its condition for
      every vmid: it unmaps from the host only the pages the VM shared
      with it, which become nobody's, and keeps the level of the host's
      walk of the others ([VMDestroy_host_lv3]). *)
From Coq Require Import ZArith Lia List Bool.
From Bulkhead.Spec Require Import State Spec.
From Bulkhead.Proofs Require Import Invariants.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require CodeAbs.
From Bulkhead.Proofs Require Import CodeVMCreate CodeTransfer CodeAbsLedger CodeAbs CodeVMCreateInv CodeOwns
  CodeVMCreateRefine CodeUpdateRange CodeEngineInv CodeWalkCalls CodeModelThms CodeWalkHeld CodeS2Refine CodeVMDestroy CodeRelease CodeDestroyRefine
  CodeLedger CodeVCPU CodeShadow CodeStage2 CodeMemNoFailure CodeUpdateRoot CodeUpdateRootRange CodeMemInvDestroy
  CodeFree CodeWalkRange CodeLevel CodeReleaseShared CodeRefineInv CodeMemCall CodeReady CodeReadyCalls CodeHostLevel.
Import ListNotations.
Open Scope Z_scope.

(** The engine [releasePages] leaves of [e] for VM [id], with the pool
    [q]. *)
Definition released (e : Isolation.Engine) (id : Z) (q : Isolation.tablePool) : Isolation.Engine :=
  Isolation.set_Engine_pages (map (release_page id) (Isolation.Engine_pages e)) (Isolation.set_Engine_pool q e).

(** What [releasePages] leaves of the host, from [mem_inv]. *)
Definition release_ctx (e : Isolation.Engine) (id : Z) (q : Isolation.tablePool) : Prop :=
  mem_inv e /\ host_after e (Isolation.set_Engine_pool q e) id (List.length (Isolation.Engine_pages e)).

(** The [released] engine keeps [mem_inv]: the host's tree has
    [root_inv] and grew only by tables that were free, and every live
    VM's, apart from it, is kept ([host_update_keeps_owned]). *)
Lemma released_mem_inv : forall e id q, release_ctx e id q -> mem_inv (released e id q).
Proof.
  intros e id q ((Hm & Ho & Hd) & Hh & HB & HL & Htf & _).
  apply (mem_inv_after e _ Hm Hd); [|reflexivity|reflexivity|unfold len; cbn [released Isolation.Engine_pages Isolation.set_Engine_pages]; rewrite map_length; reflexivity].
  exact (host_update_keeps_owned e (released e id q) q _ Ho eq_refl Hh HB HL Htf).
Qed.

(** ... and the walk of every live VM of [e]. *)
Lemma released_vm_walk : forall e id q, release_ctx e id q ->
  forall j v k, nth_error (Isolation.Engine_vms e) j = Some v -> Isolation.vm_live v = true ->
    CodeAbs.walk (released e id q) (Isolation.vm_s2 v) k = CodeAbs.walk e (Isolation.vm_s2 v) k.
Proof.
  intros e id q ((_ & (Hp & _ & _ & Hown & Hdis) & _) & Hh & HB & HL & Htf & _) j v k Hj Hlv.
  destruct (slot_at e j v Hj) as (Hjl & Ej).
  assert (Hd : disjoint (s2_tables e (Isolation.stage2_root (Isolation.Engine_host e)))
                        (s2_tables e (Isolation.stage2_root (Isolation.vm_s2 v)))).
  { pose proof (proj1 Hdis j Hjl ltac:(rewrite Ej; exact Hlv)) as H. unfold root_at in H. rewrite Ej in H. exact H. }
  exact (walk_apart e (released e id q) _ (Isolation.vm_s2 v) Hp (proj1 (proj1 (root_inv_l1 _ _ Hh))) HB HL Htf
    (Hown v (nth_error_In _ _ Hj) Hlv) Hd k).
Qed.

(** The slot VM_DESTROY left [destroyed] from the [released] engine keeps
    the walk of every stage-2 that owned its tables there: the tables are
    the [released] engine's. *)
Lemma destroyed_walk : forall e1 e' i m, destroy_ctx e1 e' i m ->
  forall s2 k, owns_tables e1 (Isolation.stage2_root s2) -> CodeAbs.walk e' s2 k = CodeAbs.walk e1 s2 k.
Proof.
  intros e1 e' i m C s2 k Ho.
  pose proof C as (Hi & _ & _ & (D & _)).
  pose proof D as (_ & _ & Et & Eb & _).
  pose proof Hi as (_ & ((Hok & _) & _) & _).
  assert (Htok : tables_ok e') by (unfold tables_ok in *; rewrite Et, Eb; exact Hok).
  symmetry. exact (walk_frame e1 e' s2 k Hok Htok Eb ltac:(rewrite Et; reflexivity) (or_intror (proj1 Ho))
    ltac:(rewrite Et; intros x _; reflexivity)).
Qed.

(** The host's walk of the [released] engine, from [host_after]. *)
Lemma released_host : forall e id q, release_ctx e id q ->
  walk_below (released e id q) (Isolation.Engine_host e) /\
  forall k, Z.of_nat k * 4096 < 2 ^ 40 ->
    CodeAbs.walk (released e id q) (Isolation.Engine_host e) k =
      if CodeReleaseShared.gone id (Isolation.Engine_pages e)
           (Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e)) / 4096)
           (List.length (Isolation.Engine_pages e)) k
      then None else CodeAbs.walk e (Isolation.Engine_host e) k.
Proof.
  intros e id q (_ & Hh & _ & _ & _ & Hwb & _ & Hw).
  set (X := Isolation.set_Engine_pool q e) in *.
  pose proof (root_inv_l1 X _ Hh) as ((Hok & _) & _).
  assert (Hs2 : s2_ok X (Isolation.Engine_host e)) by (right; exact (l1_inv_tree X _ (root_inv_l1 X _ Hh))).
  split; [exact (walk_below_same_pool X (released e id q) _ Hok Hs2 eq_refl Hwb)|].
  intros k Hk. rewrite (walk_same_pool X (released e id q) _ k Hok Hs2 eq_refl). exact (Hw k Hk).
Qed.

(** VM_DESTROY, from [mem_inv], [shadow_inv] and [walks_below], with RAM
    inside the IPA space, for any 64-bit vmid whose live VM (if any) has
    its pages shared with the host walked by the host at level 3 or
    nowhere: it never fails, and leaves the engine as it was with an
    error, or answers SUCCESS having [released] the ledger and
    [destroyed] the slot from there, the host's stage-2 record as it
    was, every live slot a live slot before, not the destroyed one, every
    live VM's walk as it was, and the host's walk below 2^48, without the
    VM's pages shared with it and otherwise as it was. *)
Theorem VMDestroy_shared_walk_cases : forall e tr id, mem_inv e -> shadow_inv e -> walks_below e ->
  len (Isolation.Engine_vms e) < 2 ^ 16 -> 0 <= id < 2 ^ 64 ->
  Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e)) +
    Isolation.Range_Size (Isolation.Config_RAM (Isolation.Engine_cfg e)) <= 2 ^ 40 ->
  lv3_shared_at e id ->
  exists st e' tr', Isolation.Engine_VMDestroy root id e tr = Ok st e' tr' /\
    ((e' = e /\ st <> Abi.Success) \/
     exists i m q, release_ctx e id q /\ destroy_ctx (released e id q) e' i m /\ i = Z.to_nat (id - 1) /\
       Isolation.Engine_pages e' = map (release_page id) (Isolation.Engine_pages e) /\
       Isolation.Engine_host e' = Isolation.Engine_host e /\
       (forall j v, nth_error (Isolation.Engine_vms e') j = Some v -> Isolation.vm_live v = true ->
          nth_error (Isolation.Engine_vms e) j = Some v /\ j <> i) /\
       (forall j v k, nth_error (Isolation.Engine_vms e) j = Some v -> Isolation.vm_live v = true ->
          CodeAbs.walk e' (Isolation.vm_s2 v) k = CodeAbs.walk e (Isolation.vm_s2 v) k) /\
       walk_below e' (Isolation.Engine_host e) /\
       (forall k, Z.of_nat k * 4096 < 2 ^ 40 ->
          CodeAbs.walk e' (Isolation.Engine_host e) k =
            if CodeReleaseShared.gone id (Isolation.Engine_pages e)
                 (Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e)) / 4096)
                 (List.length (Isolation.Engine_pages e)) k
            then None else CodeAbs.walk e (Isolation.Engine_host e) k) /\
       st = Abi.Success /\ idle m /\ 1 <= id).
Proof.
  intros e tr id Hi Hs (Hhb & _) Hv Hid Hram Hl3.
  pose proof Hi as (Hm & (Hp & (Hal & Hbelow) & Hh & Hown & Hdis) & _). pose proof Hp as (_ & Hpok & _ & _ & Hplat).
  destruct (VMDestroy_shared_cases e tr id Hm Hs Hpok Hplat Hv Hid
    (fun m _ Hn Hl => or_intror (Hown m (nth_error_In _ _ Hn) Hl)) Hram (owns_root_inv e _ Hp Hh) Hhb Hal Hbelow
    (fun m _ Hn Hl => disjoint_host_apart e Hdis _ m Hn Hl) Hl3)
    as (st & e' & tr' & Hrun & [E|(i & m & q & Hn & Hlive & Ei & X & Hpg & Hafter & Est & Hidle & Hid1)]);
    exists st, e', tr'; (split; [exact Hrun|]); [left; exact E|right].
  assert (Hctx : release_ctx e id q) by (split; [exact Hi|exact Hafter]).
  pose proof (released_mem_inv e id q Hctx) as Hi1.
  assert (C : destroy_ctx (released e id q) e' i m) by exact (conj Hi1 (conj Hn (conj Hlive X))).
  pose proof Hi1 as (_ & (_ & _ & Hh1 & Hown1 & _) & _).
  pose proof X as (D & _ & K & _).
  pose proof D as (_ & _ & _ & _ & _ & Elen & Eoth & _ & _ & _ & _ & (Eh & _)).
  exists i, m, q. split; [exact Hctx|]. split; [exact C|]. split; [exact Ei|]. split; [exact Hpg|].
  split; [exact Eh|]. split.
  { intros j v Hj Hlv.
    assert (Hjl : (j < List.length (Isolation.Engine_vms e'))%nat) by (apply nth_error_Some; congruence).
    apply nth_error_nth with (d := Isolation.zero_vm) in Hj.
    destruct (Nat.eq_dec j i) as [->|Hne]; [rewrite Hj in K; rewrite K in Hlv; discriminate Hlv|].
    split; [|exact Hne]. rewrite <- Hj, (Eoth j Hne). apply nth_error_nth'. rewrite <- Elen. exact Hjl. }
  split.
  { intros j v k Hj Hlv. rewrite (destroyed_walk _ e' i m C _ k (Hown1 v (nth_error_In _ _ Hj) Hlv)).
    exact (released_vm_walk e id q Hctx j v k Hj Hlv). }
  pose proof (released_host e id q Hctx) as (Hwb1 & Hw1).
  split; [intros k p w Hk Ew; rewrite (destroyed_walk _ e' i m C (Isolation.Engine_host e) k Hh1) in Ew; exact (Hwb1 k p w Hk Ew)|].
  split; [intros k Hk; rewrite (destroyed_walk _ e' i m C (Isolation.Engine_host e) k Hh1); exact (Hw1 k Hk)|].
  split; [exact Est|]. split; [exact Hidle|exact Hid1].
Qed.

(** ** What VM_DESTROY keeps *)

(** [create_rest] of the [released] engine: its stage-2s are owned and
    every live VM's walk is as it was. *)
Lemma released_create_rest : forall c e id q, release_ctx e id q -> create_rest c e -> create_rest c (released e id q).
Proof.
  intros c e id q Hctx (_ & Hmax & Hlen & _ & Hc & _ & _ & Hfree & Hsane).
  pose proof (released_mem_inv e id q Hctx) as (_ & ((Htok1 & Hpok1 & _) & _ & Hh1 & Hown1 & _) & _).
  split; [exact Hpok1|]. split; [exact Hmax|]. split; [exact Hlen|]. split; [exact Htok1|].
  split; [exact Hc|]. split; [exact Hh1|]. split; [exact Hown1|]. split; [exact Hfree|].
  unfold vms_sane in *. rewrite Forall_forall in *. intros v Hv Hlv.
  apply In_nth_error in Hv as (j & Hj).
  apply (s2_sane_ext c e); [intros k; exact (released_vm_walk e id q Hctx j v k Hj Hlv)|].
  exact (Hsane v (nth_error_In _ _ Hj) Hlv).
Qed.

(** A page VM [id] shares with the host is one it owns. *)
Lemma sharedb_owned : forall id pg, 1 <= id -> sharedb id pg = true -> owned_by (Z.to_nat id) (abs_page pg) = true.
Proof.
  intros id pg Hid H. apply sharedb_spec in H as (Ho & Hv & _).
  unfold owned_by, abs_page, abs_owner. cbn [pg_owner]. rewrite Ho, Hv. cbn. apply Nat.eqb_refl.
Qed.

(** Of a page of RAM, the host's walk after [releasePages] is gone when
    VM [id] shared its ledger entry with the host. *)
Lemma gone_ram : forall c e id p, cfg_rel c e -> ledger_ok e -> in_ram c p = true ->
  CodeReleaseShared.gone id (Isolation.Engine_pages e)
    (Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e)) / 4096)
    (List.length (Isolation.Engine_pages e)) p =
  sharedb id (nth (p - ram_base c) (Isolation.Engine_pages e) Isolation.zero_page).
Proof.
  intros c e id p (_ & Hb & Hs) (_ & _ & _ & _ & Hl) Hr.
  unfold in_ram, in_range in Hr. apply andb_true_iff in Hr as [H1 H2]. apply Nat.leb_le in H1. apply Nat.ltb_lt in H2.
  rewrite <- Hb, Z.div_mul by lia. unfold CodeReleaseShared.gone, len in *.
  destruct (Z.leb_spec (Z.of_nat (ram_base c)) (Z.of_nat p)); [|lia].
  destruct (Z.ltb_spec (Z.of_nat p) (Z.of_nat (ram_base c) + Z.of_nat (List.length (Isolation.Engine_pages e)))); [|lia].
  cbn [andb]. f_equal. f_equal. lia.
Qed.

(** The model's host stage-2 after VM_DESTROY of VM [id], when [Inv]
    held: the host's walk lost exactly the pages the VM shared with it,
    so the abstraction lost exactly the pages the VM owned (the others it
    owned the host did not see). *)
Lemma shared_hs2 : forall c e e' id, Inv c (abs_ms c e) -> owners_ok e -> cfg_rel c e -> ledger_ok e -> 1 <= id ->
  Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e)) +
    Isolation.Range_Size (Isolation.Config_RAM (Isolation.Engine_cfg e)) <= 2 ^ 40 ->
  Isolation.Engine_host e' = Isolation.Engine_host e ->
  (forall k, Z.of_nat k * 4096 < 2 ^ 40 ->
     CodeAbs.walk e' (Isolation.Engine_host e) k =
       if CodeReleaseShared.gone id (Isolation.Engine_pages e)
            (Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e)) / 4096)
            (List.length (Isolation.Engine_pages e)) k
       then None else CodeAbs.walk e (Isolation.Engine_host e) k) ->
  forall p, abs_hs2 c e' p = if owned_by (Z.to_nat id) (abs_pages c e p) then false else abs_hs2 c e p.
Proof.
  intros c e e' id I Ho Hcfg Hl Hid Hram Eh Hhw p.
  pose proof Hcfg as (_ & Hb & Hs). pose proof Hl as (_ & _ & _ & _ & Hlen).
  destruct (in_ram c p) eqn:Hr.
  2:{ unfold abs_hs2, abs_pages. rewrite Hr. destruct (owned_by _ _); reflexivity. }
  assert (Hp : Z.of_nat p * 4096 < 2 ^ 40).
  { unfold in_ram, in_range in Hr. apply andb_true_iff in Hr as [_ H2]. apply Nat.ltb_lt in H2. lia. }
  pose proof (gone_ram c e id p Hcfg Hl Hr) as Hg.
  assert (Hh : abs_hs2 c e' p = if sharedb id (nth (p - ram_base c) (Isolation.Engine_pages e) Isolation.zero_page)
                                then false else abs_hs2 c e p)
    by (unfold abs_hs2; rewrite Eh, (Hhw p Hp), Hg, Hr; destruct (sharedb _ _); reflexivity).
  rewrite Hh. unfold abs_pages at 1. rewrite Hr.
  destruct (sharedb id _) eqn:Hsb; [rewrite (sharedb_owned id _ Hid Hsb); reflexivity|].
  destruct (owned_by _ _) eqn:Hob; [|reflexivity].
  apply (owned_not_host_at c e id p I Ho Hid); [|unfold abs_pages; rewrite Hr; exact Hob].
  intros Hst. apply sharedb_spec in Hst. congruence.
Qed.

(** VM_DESTROY, from [create_inv], [walk_inv], [walk_held] and
    [owners_ok], with RAM inside the IPA space, for any 64-bit vmid whose
    live VM (if any) has its pages shared with the host walked by the
    host at level 3 or nowhere: it never fails, keeps the first four and
    the configuration, changes nothing unless it answers SUCCESS, and on
    SUCCESS, when [Inv] holds of the abstraction, refines the model's
    [vm_destroy] whole. *)
Theorem VMDestroy_shared_keeps : forall c e tr id mem regs, create_inv c e -> walk_inv e -> walk_held c e -> owners_ok e ->
  len (Isolation.Engine_vms e) < 2 ^ 16 -> 0 <= id < 2 ^ 64 ->
  Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e)) +
    Isolation.Range_Size (Isolation.Config_RAM (Isolation.Engine_cfg e)) <= 2 ^ 40 ->
  lv3_shared_at e id ->
  exists st e' tr', Isolation.Engine_VMDestroy root id e tr = Ok st e' tr' /\
    create_inv c e' /\ walk_inv e' /\ walk_held c e' /\
    (Isolation.Engine_cfg e' = Isolation.Engine_cfg e /\ owners_ok e') /\ (st <> Abi.Success -> e' = e) /\
    (st = Abi.Success -> Inv c (abs_ms c e) ->
       exists s', vm_destroy c (abs_state c e mem regs) (Z.to_nat id) = (s', ok0) /\ ms_eq (st_meta s') (abs_ms c e')).
Proof.
  intros c e tr id mem regs Hc [[Hi Hs] Hwb] H Ho Hv Hid Hram Hl3.
  destruct (VMDestroy_shared_walk_cases e tr id Hi Hs Hwb Hv Hid Hram Hl3)
    as (st & e' & tr' & Hrun & [[E Ne]|(i & m & q & Hctx & C & -> & Hpg & Eh & Hl & Hw & Hhb & Hhw & Est & Hidle & Hid1)]);
    exists st, e', tr'; (split; [exact Hrun|]).
  { subst e'. split; [exact Hc|]. split; [exact (conj (conj Hi Hs) Hwb)|]. split; [exact H|].
    split; [split; [reflexivity|exact Ho]|]. split; [intros _; reflexivity|intros E; contradiction]. }
  set (e1 := released e id q) in *.
  pose proof C as (Hi1 & Hn & Hlive & X). pose proof X as (D & G & Kdead & _). pose proof D as (Ec & _).
  destruct (destroy_inv_end e1 _ m e' (proj1 Hi1) Hs Hn D G) as [Hm' Hs'].
  assert (Hi' : mem_inv e') by exact (conj Hm' (conj (destroyed_owned e1 e' _ m C) (destroyed_dead_no_root e1 e' _ m C))).
  assert (Hwb' : walks_below e').
  { split; [rewrite Eh; exact Hhb|]. intros j v Hj Hlv k p w Hk E. destruct (Hl j v Hj Hlv) as (Hj0 & _).
    rewrite (Hw j v k Hj0 Hlv) in E. exact (proj2 Hwb j v Hj0 Hlv k p w Hk E). }
  assert (H' : walk_held c e').
  { intros j v k pa w Hj Hlv Hk Hwk. pose proof (Hl j v Hj Hlv) as (Hj0 & Hne).
    rewrite (Hw j v k Hj0 Hlv) in Hwk. pose proof (H j v k pa w Hj0 Hlv Hk Hwk) as Hh.
    unfold abs_pages in *. destruct (in_ram c (pfnZ pa)); [|exact Hh].
    rewrite Hpg, nth_map_release. rewrite (release_held id j); [exact Hh| |exact Hh].
    intros E. apply Hne. lia. }
  split; [exact (create_inv_rest c e' (proj1 Hs') (destroyed_create_rest c e1 e' _ m C
    (released_create_rest c e id q Hctx (rest_of_create_inv c e Hc))))|].
  split; [exact (conj (conj Hi' Hs') Hwb')|]. split; [exact H'|].
  split; [split; [exact Ec|]|].
  { unfold owners_ok in *. rewrite Hpg. apply Forall_map. rewrite Forall_forall in *.
    intros x Hx. apply release_entry_ok. exact (Ho x Hx). }
  split; [intros Ne; contradiction|]. intros _ I.
  pose proof Hc as (_ & _ & Hcfg & _). pose proof Hi as ((Hled & _) & _).
  apply (destroy_refines_with c e e' id m mem regs Hcfg Hid1 Hn Hlive Hidle Hpg).
  - exact (shared_hs2 c e e' id I Ho (proj1 Hcfg) Hled Hid1 Hram Eh Hhw).
  - exact (same_len _ _ _ _ C).
  - exact Kdead.
  - exact (other_slot _ _ _ _ C).
  - exact Hw.
Qed.

(** VM_DESTROY from [refine_inv] and [Inv], for any 64-bit vmid whose
    live VM (if any) has its pages shared with the host walked by the
    host at level 3 or nowhere: it never fails, keeps [refine_inv] and
    [Inv], changes nothing unless it answers SUCCESS, and on SUCCESS
    refines [Spec.vm_destroy] whole. *)
Theorem VMDestroy_shared_refine_inv : forall c e tr id mem regs, refine_inv c e -> 0 <= id < 2 ^ 64 ->
  lv3_shared_at e id -> Inv c (abs_ms c e) ->
  exists st e' tr', Isolation.Engine_VMDestroy root id e tr = Ok st e' tr' /\ refine_inv c e' /\
    (st <> Abi.Success -> e' = e) /\
    (st = Abi.Success -> exists s', vm_destroy c (abs_state c e mem regs) (Z.to_nat id) = (s', ok0) /\
       ms_eq (st_meta s') (abs_ms c e')) /\
    Inv c (abs_ms c e').
Proof.
  intros c e tr id mem regs R Hid Hl3 I.
  pose proof R as (Hc & Hwi & H & (_ & Hram) & Ho & Hvms & _).
  destruct (VMDestroy_shared_keeps c e tr id mem regs Hc Hwi H Ho ltac:(lia) Hid Hram Hl3)
    as (st & e' & tr' & Hrun & Hc' & Hwi' & H' & Hl & Herr & Href).
  exists st, e', tr'. split; [exact Hrun|].
  destruct (refine_inv_outcome c e e' st _ R Hl Hc' Hwi' H' Herr (fun Es => Href Es I)) as (R' & Herr' & Href' & HI).
  - intros Es. apply (step_ok_keeps_Inv c e e' mem regs (fun s => vm_destroy c s (Z.to_nat id)));
      [intros s; apply Invariants.vm_destroy_inv|exact (Href Es I)].
  - split; [exact R'|]. split; [exact Herr'|]. split; [exact Href'|exact (HI I)].
Qed.

(** ... and keeps CodeReady's [runs_ok]: the slot it frees is not live,
    every other slot is as it was. *)
Theorem VMDestroy_shared_runs_ok : forall c e tr id st e' tr', refine_inv c e -> runs_ok e -> 0 <= id < 2 ^ 64 ->
  lv3_shared_at e id -> Isolation.Engine_VMDestroy root id e tr = Ok st e' tr' -> runs_ok e'.
Proof.
  intros c e tr id st e' tr' R H Hid Hl3 Hrun.
  pose proof R as (_ & [[Hi Hs] Hwb] & _ & (_ & Hram) & _ & H255 & _).
  destruct (VMDestroy_shared_walk_cases e tr id Hi Hs Hwb ltac:(lia) Hid Hram Hl3)
    as (st0 & e0 & tr0 & Hrun0 & [[E _]|(i & m & q & _ & C & _)]);
    rewrite Hrun0 in Hrun; injection Hrun as _ <- _; [rewrite E; exact H|].
  exact (destroyed_runs_ok _ e0 i m C H).
Qed.

(** ** The host's walk of the pages VMs share with it *)

(** A page VM_DESTROY of VM [v] leaves a VM's shared with the host was
    so before, of another VM. *)
Lemma destroy_page_shared : forall v pg w, destroy_page v pg = mkPage (OVM w) (SharedWith host_id) ->
  pg = mkPage (OVM w) (SharedWith host_id) /\ w <> v.
Proof.
  intros v [o s] w. unfold destroy_page. cbn [pg_owner pg_share].
  destruct o as [| | |w'].
  1-2: intros E; discriminate E.
  - destruct s as [|b]; [intros E; discriminate E|]. destruct (Nat.eqb b v); intros E; discriminate E.
  - destruct (Nat.eqb_spec w' v) as [_|Ne]; [intros E; discriminate E|].
    intros E. split; [exact E|]. injection E as <- _. exact Ne.
Qed.

(** VM_DESTROY unmaps from the host only the pages the VM shared with
    it, which become nobody's; the host's walk of every other page keeps
    its level ([host_after]), and destroying the slot keeps the tables. *)
Theorem VMDestroy_host_lv3 : forall c e tr id st e' tr', refine_inv c e -> 0 <= id < 2 ^ 64 ->
  Isolation.Engine_VMDestroy root id e tr = Ok st e' tr' -> host_lv3 c e -> host_lv3 c e'.
Proof.
  intros c e tr id st e' tr' R Hid Hrun H.
  pose proof R as (Hc & [[Hi Hs] Hwb] & _ & (Hled & Hram) & _ & Hvms & _).
  pose proof Hc as (_ & _ & (Hcfg & _) & _). pose proof Hcfg as (_ & Hb & Hsz).
  destruct (VMDestroy_shared_walk_cases e tr id Hi Hs Hwb ltac:(lia) Hid Hram (host_lv3_shared c e Hcfg Hled H id))
    as (st0 & e0 & tr0 & Hrun0 & [[E _]|(i & m & q & Hctx & C & _ & Hpg & Eh & _ & _ & _ & _ & _ & _ & Hid1)]);
    rewrite Hrun0 in Hrun; injection Hrun as _ <- _; [rewrite E; exact H|].
  apply (host_lv3_step c e e0 H Eh). intros p w Hr Hp.
  change (ms_pages (abs_ms c e0) p) with (abs_pages c e0 p) in Hp.
  rewrite (destroy_pages_abs c e e0 id Hid1 Hpg p) in Hp.
  apply destroy_page_shared in Hp as (Hp & Hw). split; [exact Hp|]. intros Hl.
  (* the host's walk of the [released] engine, then the slot destroyed on the same tables *)
  pose proof C as (_ & _ & _ & (D & _)). pose proof D as (_ & _ & Et & Eb & _).
  apply (lv3_at_agree (released e id q) e0 _ p Eb ltac:(rewrite Et; intros x _; reflexivity)).
  pose proof Hctx as (_ & _ & _ & _ & _ & _ & Hlv & _).
  unfold in_ram, in_range in Hr. apply andb_true_iff in Hr as [Hr1 Hr2].
  apply Nat.leb_le in Hr1. apply Nat.ltb_lt in Hr2. pose proof Hled as (_ & _ & _ & _ & Hlen).
  assert (Ep : (Z.to_nat (Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e)) / 4096) +
               (p - ram_base c) = p)%nat) by (rewrite <- Hb, Z.div_mul, Nat2Z.id by lia; lia).
  rewrite <- Ep. rewrite <- Ep in Hl. apply (Hlv (p - ram_base c)%nat); [unfold len in Hlen; lia| |exact Hl].
  right. destruct (sharedb id _) eqn:Hsb; [exfalso|reflexivity].
  apply Hw. revert Hp. unfold abs_ms, abs_pages. cbn [ms_pages].
  replace (in_ram c p) with true
    by (symmetry; unfold in_ram, in_range; apply andb_true_iff; split; [apply Nat.leb_le|apply Nat.ltb_lt]; lia).
  intros Hp. pose proof (sharedb_owned id _ Hid1 Hsb) as Ho. rewrite Hp in Ho. unfold owned_by in Ho. cbn in Ho.
  apply Nat.eqb_eq in Ho. exact Ho.
Qed.

(** The condition of the theorems above holds of a VM that shares no
    page with the host, the condition of CodeRefineInv's
    [VMDestroy_refine_inv]: they are more general. *)
Lemma unshared_lv3 : forall e id, unshared_at e id -> lv3_shared_at e id.
Proof.
  intros e id Hun m H1 Hn Hl j Hj Hs. exfalso.
  exact (Hun m H1 Hn Hl _ (nth_In _ Isolation.zero_page Hj) (proj1 (sharedb_spec id _) Hs)).
Qed.
