(** * VM_CREATE keeps the memory calls' invariant

    Lemmas about proofs/code/Isolation.v, the translation of
    isolation/vm.go (VM_CREATE) and isolation/pool.go (allocRoot, take),
    that carry [mem_inv] (CodeOwns: [mem_ok], [s2_owned], [dead_no_root])
    across VM_CREATE.
    Proved here, from CodeVMCreateInv.VMCreate_cases (whose
    [root_taken_ok] says allocRoot keeps the pool's bitmap and count):
    - every outcome of VM_CREATE keeps [pool_inv] and [pool_placed]
      ([VMCreate_pool_inv]), [dead_no_root] ([VMCreate_dead_no_root]:
      the only slot whose root changes is the lowest free one, which
      either gets root -1 or is made live), [s2_owned]
      ([VMCreate_s2_owned], with CodeVMCreateInv's [VMCreate_owns] and
      [VMCreate_disjoint]), and so [mem_inv] ([VMCreate_keeps_mem_inv]). *)
From Coq Require Import ZArith Lia List Bool.
From Bulkhead.Spec Require Import State Spec.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodePlace CodeTrack CodeLens CodeLoop CodeLedger CodeVCPU CodeVMCreate CodeShadow
  CodeStage2 CodePool CodeFree CodeAbsLedger CodeAbs CodeMemCall Lemmas CodeAbi CodeUpdate CodeUpdateFrame CodeUpdateL2
  CodeUpdateRoot CodeTransfer CodeMemNoFailure CodeVMCreateRefine CodeVMCreateInv CodeOwns.
Import ListNotations.
Open Scope Z_scope.

(** ** What VM_CREATE keeps *)

(** [pool_inv] and [pool_placed] read only the pool and the platform. *)
Lemma pool_inv_eq : forall e e', Isolation.Engine_pool e' = Isolation.Engine_pool e ->
  Isolation.Engine_plat e' = Isolation.Engine_plat e -> pool_inv e -> pool_placed e -> pool_inv e' /\ pool_placed e'.
Proof.
  intros e e' Ep Epl H1 H2. unfold pool_inv, pool_placed, tables_ok, tables, pool_base in *. rewrite Ep, Epl.
  split; assumption.
Qed.

(** VM_CREATE keeps the configuration, the number of VM slots, the
    ledger and the platform. *)
Lemma VMCreate_frame : forall e tr n flags r e' tr', create_ok e -> 0 <= n < 2 ^ 64 ->
  Isolation.Engine_VMCreate root n flags e tr = Ok r e' tr' ->
  Isolation.Engine_cfg e' = Isolation.Engine_cfg e /\
  length (Isolation.Engine_vms e') = length (Isolation.Engine_vms e) /\
  Isolation.Engine_pages e' = Isolation.Engine_pages e /\ Isolation.Engine_plat e' = Isolation.Engine_plat e.
Proof.
  intros e tr n flags r e' tr' Hc Hn Hrun.
  destruct (VMCreate_cases e tr n flags r e' tr' Hc Hn Hrun)
    as [->|[(slot & id & _ & ->)|(slot & rt & q & X & _ & _ & _ & _ & _ & ->)]].
  - auto.
  - rewrite len_vms_at_slot. destruct e; auto.
  - rewrite len_vms_at_slot, vms_set_pool. destruct e; auto.
Qed.

(** Every outcome of VM_CREATE keeps a sound, placed pool: the errors
    leave the pool as it was, SUCCESS leaves it as allocRoot took a pair
    ([root_taken_ok]). *)
Theorem VMCreate_pool_inv : forall e tr n flags r e' tr', create_ok e -> 0 <= n < 2 ^ 64 ->
  pool_inv e -> pool_placed e ->
  Isolation.Engine_VMCreate root n flags e tr = Ok r e' tr' -> pool_inv e' /\ pool_placed e'.
Proof.
  intros e tr n flags r e' tr' Hc Hn Hp Hpl Hrun.
  pose proof (VMCreate_frame e tr n flags r e' tr' Hc Hn Hrun) as (_ & _ & _ & Eplat).
  destruct (VMCreate_cases e tr n flags r e' tr' Hc Hn Hrun)
    as [->|[(slot & id & _ & ->)|(slot & rt & q & X & _ & (Hrt & Hbc) & _ & _ & _ & ->)]].
  - split; assumption.
  - apply (pool_inv_eq e); [destruct e; reflexivity|exact Eplat|exact Hp|exact Hpl].
  - pose proof Hp as (Hok & Hpo & Hbits & Hcount & Hplat).
    pose proof Hrt as (_ & _ & _ & _ & Hsh & Eb & _).
    destruct (Hbc Hpo Hbits Hcount) as [Hbits' Hcount'].
    assert (Ep : Isolation.Engine_pool (at_slot (Isolation.set_Engine_pool q e) (Z.to_nat slot) X) = q)
      by (destruct e; reflexivity).
    split.
    + split; [exact (tables_ok_taken e q rt Hok Hrt _ _)|]. rewrite Ep, Eplat.
      split; [exact (same_shape_ok _ _ Hpo Hsh)|]. split; [exact Hbits'|]. split; [exact Hcount'|exact Hplat].
    + unfold pool_placed, pool_base, tables in *. rewrite Ep, Eb, (proj1 Hsh). exact Hpl.
Qed.

(** Every outcome of VM_CREATE keeps [dead_no_root]: the only slot
    whose stage-2 record changes is the lowest free one, which gets root
    -1 (NO_MEMORY) or is made live (SUCCESS). *)
Theorem VMCreate_dead_no_root : forall e tr n flags r e' tr', create_ok e -> 0 <= n < 2 ^ 64 ->
  dead_no_root e -> Isolation.Engine_VMCreate root n flags e tr = Ok r e' tr' -> dead_no_root e'.
Proof.
  intros e tr n flags r e' tr' Hc Hn Hd Hrun.
  destruct (VMCreate_cases e tr n flags r e' tr' Hc Hn Hrun)
    as [->|[(slot & id & _ & ->)|(slot & rt & q & X & _ & _ & HX & _ & _ & ->)]].
  - exact Hd.
  - intros m Hin Hl. rewrite vms_at in Hin. apply In_replace in Hin as [->|Hin].
    + cbn. lia.
    + exact (Hd m Hin Hl).
  - intros m Hin Hl. rewrite vms_at, vms_set_pool in Hin. apply In_replace in Hin as [->|Hin].
    + rewrite HX in Hl. discriminate Hl.
    + exact (Hd m Hin Hl).
Qed.

(** Every outcome of VM_CREATE keeps [s2_owned]. *)
Theorem VMCreate_s2_owned : forall e tr n flags r e' tr', create_ok e -> 0 <= n < 2 ^ 64 ->
  s2_owned e -> Isolation.Engine_VMCreate root n flags e tr = Ok r e' tr' -> s2_owned e'.
Proof.
  intros e tr n flags r e' tr' Hc Hn (Hp & Hpl & Hh & Hv & Hd) Hrun.
  destruct (VMCreate_pool_inv e tr n flags r e' tr' Hc Hn Hp Hpl Hrun) as [Hp' Hpl'].
  destruct (VMCreate_owns e tr n flags r e' tr' Hc Hn Hh Hv Hrun) as [Hh' Hv'].
  split; [exact Hp'|]. split; [exact Hpl'|]. split; [exact Hh'|]. split; [exact Hv'|].
  exact (VMCreate_disjoint e tr n flags r e' tr' Hc Hn Hh Hv Hd Hrun).
Qed.

(** [mem_ok] reads the configuration, the number of VM slots, the
    ledger's length and the stage-2s: an engine with the same
    configuration, as many slots and as long a ledger, whose stage-2s are
    owned and whose slots not live have no root, has [mem_inv]. *)
Lemma mem_inv_of : forall e e', mem_ok e -> s2_owned e' -> dead_no_root e' ->
  Isolation.Engine_cfg e' = Isolation.Engine_cfg e ->
  length (Isolation.Engine_vms e') = length (Isolation.Engine_vms e) ->
  len (Isolation.Engine_pages e') = len (Isolation.Engine_pages e) -> mem_inv e'.
Proof.
  intros e e' (Hl & Hb & Hs & Hvl & _ & _) Ho Hdead Ec Ev Ep.
  pose proof Ho as ((Hok & _) & _ & _ & Hvms & _).
  split; [|split; [exact Ho|exact Hdead]].
  unfold mem_ok. split; [unfold ledger_ok in *; rewrite Ec, Ep; exact Hl|].
  rewrite Ec. split; [exact Hb|]. split; [exact Hs|]. split; [unfold len in *; rewrite Ev; exact Hvl|].
  split; [exact Hok|].
  apply Forall_forall. intros m Hin. destruct (Isolation.vm_live m) eqn:Hlive.
  - right. exact (proj1 (Hvms m Hin Hlive)).
  - left. exact (Hdead m Hin Hlive).
Qed.

(** Every outcome of VM_CREATE (SUCCESS, NO_MEMORY with every slot live
    or no free root pair, INVALID_PARAMETERS) keeps [mem_inv]. Beyond
    [mem_inv], VM_CREATE needs [create_ok] (CodeVMCreate: the pool's
    bitmap as long as its tables need, the VMs' vCPU lists as long as the
    configuration's maximum), as [VMCreate_spec] does; the vCPU count is
    a 64-bit word, as the call's register holds. *)
Theorem VMCreate_keeps_mem_inv_ok : forall e tr n flags r e' tr', create_ok e -> mem_inv e -> 0 <= n < 2 ^ 64 ->
  Isolation.Engine_VMCreate root n flags e tr = Ok r e' tr' -> mem_inv e'.
Proof.
  intros e tr n flags r e' tr' Hc (Hm & Ho & Hd) Hn Hrun.
  destruct (VMCreate_frame e tr n flags r e' tr' Hc Hn Hrun) as (Ec & Ev & Ep & _).
  apply (mem_inv_of e e' Hm).
  - exact (VMCreate_s2_owned e tr n flags r e' tr' Hc Hn Ho Hrun).
  - exact (VMCreate_dead_no_root e tr n flags r e' tr' Hc Hn Hd Hrun).
  - exact Ec.
  - exact Ev.
  - rewrite Ep. reflexivity.
Qed.

(** The same from [create_inv] (CodeVMCreateInv), which VM_CREATE keeps
    too ([VMCreate_keeps]), so that the two are chained. *)
Corollary VMCreate_keeps_mem_inv : forall c e tr n flags r e' tr', create_inv c e -> mem_inv e -> 0 <= n < 2 ^ 64 ->
  Isolation.Engine_VMCreate root n flags e tr = Ok r e' tr' -> mem_inv e'.
Proof.
  intros c e tr n flags r e' tr' (Hc & _) Hm Hn Hrun.
  exact (VMCreate_keeps_mem_inv_ok e tr n flags r e' tr' Hc Hm Hn Hrun).
Qed.

(** VM_CREATE, from [create_inv] and [mem_inv], answers and keeps both. *)
Corollary VMCreate_keeps_both : forall c e tr n flags, create_inv c e -> mem_inv e -> 0 <= n < 2 ^ 64 ->
  exists r e', Isolation.Engine_VMCreate root n flags e tr = Ok r e' tr /\ create_inv c e' /\ mem_inv e'.
Proof.
  intros c e tr n flags Hci Hm Hn.
  destruct (VMCreate_keeps c e tr n flags Hci Hn) as (r & e' & Hrun & Hci' & _).
  exists r, e'. split; [exact Hrun|]. split; [exact Hci'|].
  exact (VMCreate_keeps_mem_inv c e tr n flags r e' tr Hci Hm Hn Hrun).
Qed.
