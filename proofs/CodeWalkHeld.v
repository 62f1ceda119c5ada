(** * A VM's walk maps only pages the ledger gives it

    [walk_held]: every page the walk of a live VM's stage-2 maps, at an
    IPA page of the model's IPA space, is in the ledger the VM's own or
    the host's lent to it ([holds_for], Invariants: one direction of the
    model's [inv_s2]). MEM_SHARE and MEM_DONATE need it to keep
    [vms_sane]: the pages they map were the host's and not lent, so no
    live VM's walk mapped them. Proved here:
    - replacing a slot by one on the same stage-2 and as live keeps it
      ([walk_held_put_vm]), so the calls that write one slot's shadow
      state or a vCPU keep it with [create_rest] ([held_rest_stable],
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
      no invariant carries yet).
    MEM_SHARE and MEM_DONATE are not yet shown to keep it. *)
From Coq Require Import ZArith Lia List Bool.
From Bulkhead.Spec Require Import State Spec.
From Bulkhead.Proofs Require Import Invariants.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodePlace CodeTrack CodeLens CodeLoop CodeLedger CodeVCPU CodeVCPUInit CodeVMCreate
  CodeShadow CodeStage2 CodePool CodeFree CodeTransfer CodeEngineOk CodeAbsLedger CodeAbs CodeVMCreateRefine
  CodeVMCreateInv CodeOwns CodeMemInvCreate CodeEngineInv CodeRelease CodeVMDestroy CodeMemInvDestroy CodeMemCall
  CodeLedgerRefine Lemmas CodeWalkCalls.
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

Lemma held_rest_stable : forall c, store_stable (fun e => walk_held c e /\ create_rest c e).
Proof.
  intros c. apply put_vm_stable. intros e i m m' [Hw Hr] Hn (Hs2 & Hl & Hp & Hv).
  pose proof Hr as (_ & _ & _ & Ht & _ & _ & Hown & _).
  split; [exact (walk_held_put_vm c e i m m' Hw Ht Hown Hn Hs2 Hl)|exact (create_rest_put_vm c e i m m' Hr Hn Hs2 Hl Hp Hv)].
Qed.

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
  destruct (VCPUInit_keeps (fun e => (walk_held c e /\ create_rest c e) /\ mem_inv e) e tr id v entry arg
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
  destruct (VMCreate_walk_cases e tr n flags r e' tr' Hc Hok Hh Hvms Hn Hrun) as (Ep & _ & _ & Hwv).
  intros j v k pa w Hj Hlv Hk Hw. unfold abs_pages. rewrite Ep. fold (abs_pages c e (pfnZ pa)).
  destruct (Hwv j v Hj Hlv) as [Hn0|(Hj0 & Hw0)]; [rewrite Hn0 in Hw; discriminate Hw|].
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
  destruct (VMDestroy_walk_cases e tr id Hi Hs Hv Hid Hun)
    as (st & e' & tr' & Hrun & [E|(i & m & _ & Ei & Hpg & _ & Hl & Hw)]);
    exists st, e', tr'; (split; [exact Hrun|]); [subst e'; exact H|].
  pose proof Hc as (_ & _ & _ & _ & Hvms & _).
  intros j v k pa w Hj Hlv Hk Hwk. destruct (Hl j v Hj Hlv) as (Hj0 & Hne).
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
  destruct (MemReclaim_walks e tr pa n st e' tr' Hi Hram Hpa Hn Hrun) as (Herr & Ev & _ & Hw).
  destruct (Z.eq_dec st Abi.Success) as [->|Ne]; [|rewrite (Herr Ne); exact H].
  pose proof Hi as ((Hl & _) & _).
  set (s := mkState (mkMState (abs_pages c e) (fun _ => false) (fun _ => vm_free)) (fun _ => O) (fun _ _ _ => O)).
  destruct (MemReclaim_ledger_refine c e s tr pa n e' tr' (conj Hl Hram) Hown Hcfg eq_refl Hpa Hn Hrun)
    as (s' & Hs' & Hpg & _).
  (* The pages MEM_RECLAIM gives the host were nobody's; the others are unchanged. *)
  assert (Hkept : forall j p, holds_for (S j) (abs_pages c e p) = true -> abs_pages c e' p = abs_pages c e p).
  { intros j p Hp. rewrite <- Hpg. unfold mem_reclaim in Hs'.
    destruct (negb (pa_ok c (Z.to_nat pa) (Z.to_nat n))); [injection Hs' as _ E; discriminate E|].
    destruct (first_range _ _ _) as [x|] eqn:Hf.
    { destruct (first_range_some _ _ _ _ _ Hf) as (p0 & _ & Hx). apply (f_equal snd) in Hs'. cbn in Hs'.
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
