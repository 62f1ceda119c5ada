(** * VM_DESTROY keeps the memory calls' invariant

    Lemmas about proofs/code/Isolation.v, the translation of
    isolation/vm.go (VM_DESTROY) and isolation/stage2.go (freeStage2),
    that carry [mem_inv] (CodeOwns: [mem_ok], [s2_owned], [dead_no_root])
    across VM_DESTROY of a VM that shares no page with the host.
    Proved here, from CodeVMDestroy.VMDestroy_unshared_cases (which says
    VM_DESTROY either leaves the engine as it was or leaves the slot
    [destroyed]: no stage-2, not live, every free bit outside the VM's
    tables kept and a counted pool left counted):
    - a [destroyed] slot keeps [s2_owned]: the pool stays sound and
      counted, and the host and every other live VM still own their
      tables, which were apart from the freed ones ([destroyed_owned]);
    - and [dead_no_root] ([destroyed_dead_no_root]);
    - so VM_DESTROY, from [mem_inv] and [shadow_inv], never fails for such
      a VM and keeps both ([VMDestroy_keeps_mem_inv]). *)
From Coq Require Import ZArith Lia List Bool.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodePlace CodeTrack CodeLens CodeLoop CodeLedger CodeVCPU CodeVMCreate CodeShadow
  CodeStage2 CodePool CodeFree CodeRelease CodeVMDestroy CodeTransfer CodeUpdate CodeUpdateRoot CodeMemNoFailure
  CodeVMCreateInv CodeOwns.
Import ListNotations.
Open Scope Z_scope.

(** What VM_DESTROY of the live VM [m] in slot [i] of [e], from
    [mem_inv], left: [e'] with the slot [destroyed]. *)
Definition destroy_ctx (e e' : Isolation.Engine) (i : nat) (m : Isolation.vm) : Prop :=
  mem_inv e /\ nth_error (Isolation.Engine_vms e) i = Some m /\ Isolation.vm_live m = true /\ destroyed e i m e'.

Lemma slot_i : forall e e' i m, destroy_ctx e e' i m -> (i < length (Isolation.Engine_vms e))%nat /\ vm_at e i = m.
Proof.
  intros e e' i m (_ & Hn & _). split; [apply nth_error_Some; congruence|]. unfold vm_at. apply nth_error_nth. exact Hn.
Qed.

(** Every slot of [e'] but [i] is [e]'s. *)
Lemma other_slot : forall e e' i m, destroy_ctx e e' i m -> forall j, j <> i -> vm_at e' j = vm_at e j.
Proof. intros e e' i m (_ & _ & _ & (_ & _ & _ & _ & _ & _ & G & _) & _) j Hj. exact (G j Hj). Qed.

Lemma same_len : forall e e' i m, destroy_ctx e e' i m -> length (Isolation.Engine_vms e') = length (Isolation.Engine_vms e).
Proof. intros e e' i m (_ & _ & _ & (_ & _ & _ & _ & _ & F & _) & _). exact F. Qed.

Lemma same_s2_tables : forall e e' i m, destroy_ctx e e' i m -> forall r, s2_tables e' r = s2_tables e r.
Proof. intros e e' i m (_ & _ & _ & (_ & _ & C & D & _) & _) r. unfold s2_tables. rewrite C, D. reflexivity. Qed.

Lemma pool_kept : forall e e' i m, destroy_ctx e e' i m -> destroy_pool e m e'.
Proof. intros e e' i m (_ & _ & _ & D & _). apply D. Qed.

(** A slot live in [e'] is another slot, live in [e]. *)
Lemma live_other : forall e e' i m, destroy_ctx e e' i m ->
  forall j, Isolation.vm_live (vm_at e' j) = true -> j <> i /\ Isolation.vm_live (vm_at e j) = true.
Proof.
  intros e e' i m C j Hl. destruct (Nat.eq_dec j i) as [->|Hne].
  - destruct C as (_ & _ & _ & _ & _ & K & _). unfold vm_at in Hl. rewrite K in Hl. discriminate Hl.
  - split; [exact Hne|]. rewrite <- (other_slot e e' i m C j Hne). exact Hl.
Qed.

(** A stage-2 whose tables are apart from [m]'s owns them still. *)
Lemma owns_apart : forall e e' i m, destroy_ctx e e' i m -> forall r, owns_tables e r ->
  disjoint (s2_tables e r) (s2_tables e (Isolation.stage2_root (Isolation.vm_s2 m))) -> owns_tables e' r.
Proof.
  intros e e' i m C r Ho Hd. pose proof C as (_ & _ & _ & (_ & _ & Et & Eb & _) & _).
  destruct (pool_kept e e' i m C) as (_ & _ & Hb & _).
  refine (proj2 (owns_frame e e' r Eb _ Ho _ _)); [rewrite Et; reflexivity|rewrite Et; intros x _; reflexivity|].
  intros x Hx. rewrite (Hb x (s2_tables_nonneg e r x Ho Hx) (Hd x Hx)). exact (owns_used e r x Ho Hx).
Qed.

(** The host and every other live VM own tables apart from [m]'s. *)
Lemma host_apart : forall e e' i m, destroy_ctx e e' i m ->
  disjoint (s2_tables e (Isolation.stage2_root (Isolation.Engine_host e))) (s2_tables e (Isolation.stage2_root (Isolation.vm_s2 m))).
Proof.
  intros e e' i m C. pose proof C as ((_ & (_ & _ & _ & _ & Hdis) & _) & _ & Hlive & _).
  destruct (slot_i e e' i m C) as [Hi Ei].
  pose proof (proj1 Hdis i Hi ltac:(rewrite Ei; exact Hlive)) as H. unfold root_at in H. rewrite Ei in H. exact H.
Qed.

Lemma other_apart : forall e e' i m, destroy_ctx e e' i m -> forall j, (j < length (Isolation.Engine_vms e))%nat -> j <> i ->
  Isolation.vm_live (vm_at e j) = true ->
  disjoint (s2_tables e (root_at e j)) (s2_tables e (Isolation.stage2_root (Isolation.vm_s2 m))).
Proof.
  intros e e' i m C j Hj Hne Hl. pose proof C as ((_ & (_ & _ & _ & _ & Hdis) & _) & _ & Hlive & _).
  destruct (slot_i e e' i m C) as [Hi Ei].
  pose proof (proj2 Hdis j i Hj Hi Hne Hl ltac:(rewrite Ei; exact Hlive)) as H.
  unfold root_at in H at 2. rewrite Ei in H. exact H.
Qed.

(** A [destroyed] slot keeps [s2_owned]. *)
Theorem destroyed_owned : forall e e' i m, destroy_ctx e e' i m -> s2_owned e'.
Proof.
  intros e e' i m C. pose proof C as ((_ & (Hp & Hpl & Hhost & Hown & Hdis) & _) & _ & _ & (D & _ & _)).
  destruct Hp as (Htok & Hpok & Hbits & Hcount & Hplat).
  destruct D as (Ec & _ & Et & Eb & Epok & _).
  destruct (pool_kept e e' i m C) as (Eh & Epl & _ & Ecnt).
  destruct (Ecnt (conj Hbits Hcount)) as [Hbits' Hcount'].
  split; [|split; [|split; [|split]]].
  - unfold pool_inv, tables_ok in *. rewrite Et, Eb, Epl.
    split; [exact Htok|]. split; [exact Epok|]. split; [exact Hbits'|]. split; [exact Hcount'|exact Hplat].
  - unfold pool_placed in *. rewrite Et, Eb. exact Hpl.
  - rewrite Eh. exact (owns_apart e e' i m C _ Hhost (host_apart e e' i m C)).
  - intros mv Hin Hl. apply In_nth with (d := Isolation.zero_vm) in Hin as (j & Hj & Ej).
    assert (Hlj : Isolation.vm_live (vm_at e' j) = true) by (unfold vm_at; rewrite Ej; exact Hl).
    destruct (live_other e e' i m C j Hlj) as (Hne & Hle). rewrite (same_len e e' i m C) in Hj.
    rewrite <- Ej. fold (vm_at e' j). rewrite (other_slot e e' i m C j Hne).
    apply (owns_apart e e' i m C); [|exact (other_apart e e' i m C j Hj Hne Hle)].
    apply Hown; [unfold vm_at; apply nth_In; exact Hj|exact Hle].
  - unfold tables_disjoint. rewrite (same_len e e' i m C), Eh. split.
    + intros j Hj Hl. destruct (live_other e e' i m C j Hl) as (Hne & Hle).
      unfold root_at. rewrite !(same_s2_tables e e' i m C), (other_slot e e' i m C j Hne).
      exact (proj1 Hdis j Hj Hle).
    + intros j k Hj Hk Hjk Hlj Hlk.
      destruct (live_other e e' i m C j Hlj) as (Hnj & Hlj'). destruct (live_other e e' i m C k Hlk) as (Hnk & Hlk').
      unfold root_at. rewrite !(same_s2_tables e e' i m C), (other_slot e e' i m C j Hnj), (other_slot e e' i m C k Hnk).
      exact (proj2 Hdis j k Hj Hk Hjk Hlj' Hlk').
Qed.

(** ... and [dead_no_root]: slot [i] has no root, the others are [e]'s. *)
Theorem destroyed_dead_no_root : forall e e' i m, destroy_ctx e e' i m -> dead_no_root e'.
Proof.
  intros e e' i m C. pose proof C as ((_ & _ & Hd) & _ & _ & (_ & G & _)). intros mv Hin Hl.
  apply In_nth with (d := Isolation.zero_vm) in Hin as (j & Hj & <-).
  destruct (Nat.eq_dec j i) as [->|Hne]; [exact G|].
  fold (vm_at e' j) in *. rewrite (other_slot e e' i m C j Hne) in *.
  apply Hd; [|exact Hl]. unfold vm_at. apply nth_In. rewrite <- (same_len e e' i m C). exact Hj.
Qed.

(** VM_DESTROY, from [mem_inv] and [shadow_inv], for any 64-bit vmid whose
    live VM (if any) shares no page with the host, never fails: it leaves
    the engine as it was or a [destroy_ctx]. The slot count is below
    2^16, as VMDestroy_unshared_cases assumes ([Config.validate] allows at
    most 255 slots: VMIDs are 8 bits). *)
Theorem VMDestroy_mem_cases : forall e tr id,
  mem_inv e -> shadow_inv e -> len (Isolation.Engine_vms e) < 2 ^ 16 -> 0 <= id < 2 ^ 64 ->
  unshared_at e id ->
  exists st e' tr', Isolation.Engine_VMDestroy root id e tr = Ok st e' tr' /\
    (e' = e \/ exists i m, destroy_ctx e e' i m /\ i = Z.to_nat (id - 1) /\
       Isolation.Engine_pages e' = map (release_page id) (Isolation.Engine_pages e)).
Proof.
  intros e tr id Hinv Hsh Hvms Hid Hun.
  pose proof Hinv as (Hm & (Hp & _ & _ & Hown & _) & _). pose proof Hp as (_ & Hpok & _ & _ & Hplat).
  destruct (VMDestroy_unshared_cases e tr id Hm Hsh Hpok Hplat Hvms Hid
    (fun m _ Hn Hl => or_intror (Hown m (nth_error_In _ _ Hn) Hl)) Hun)
    as (st & e' & tr' & Hrun & [[E _]|(i & m & Hn & Hlive & Hi & X & Hpg & _)]);
    exists st, e', tr'; (split; [exact Hrun|]); [left; exact E|].
  right. exists i, m. split; [|split; [exact Hi|exact Hpg]].
  split; [exact Hinv|]. split; [exact Hn|]. split; [exact Hlive|exact X].
Qed.

(** ... and keeps both. *)
Theorem VMDestroy_keeps_mem_inv : forall e tr id,
  mem_inv e -> shadow_inv e -> len (Isolation.Engine_vms e) < 2 ^ 16 -> 0 <= id < 2 ^ 64 ->
  unshared_at e id ->
  exists st e' tr', Isolation.Engine_VMDestroy root id e tr = Ok st e' tr' /\ mem_inv e' /\ shadow_inv e'.
Proof.
  intros e tr id Hinv Hsh Hvms Hid Hun.
  destruct (VMDestroy_mem_cases e tr id Hinv Hsh Hvms Hid Hun) as (st & e' & tr' & Hrun & [E|(i & m & C & _)]);
    exists st, e', tr'; (split; [exact Hrun|]); [subst e'; split; assumption|].
  pose proof C as (Hinv' & Hn & _ & D & G & _). pose proof Hinv as (Hm & _).
  destruct (destroy_inv_end e i m e' Hm Hsh Hn D G) as [Hm' Hsh'].
  split; [|exact Hsh']. split; [exact Hm'|]. split.
  - exact (destroyed_owned e e' i m C).
  - exact (destroyed_dead_no_root e e' i m C).
Qed.
