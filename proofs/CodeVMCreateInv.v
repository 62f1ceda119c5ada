(** * VM_CREATE keeps the engine's invariants

    Lemmas about proofs/code/Isolation.v, the translation of
    isolation/vm.go (VMCreate), from what [VMCreate_spec] says VM_CREATE
    returns. They let VM_CREATE be chained with the other calls.
    - What VM_CREATE leaves ([VMCreate_cases]): the engine as it was; or,
      when the pool has no free root, the lowest free slot with only its
      stage-2 record changed; or a live VM in that slot whose stage-2 root
      is a pair of tables allocRoot took and whose shadow state is zero,
      and the pool changed as allocRoot changes it.
    - The pool stays made of whole tables ([VMCreate_tables_ok]).
    - The host's stage-2 and every live VM's stage-2 still own their
      tables ([VMCreate_owns]): the tables allocRoot takes were free, so
      they are in no tree that owns its tables, which therefore keeps its
      tables, its shape and its in-use bits; the new VM's root pair was
      free and is now taken and zeroed, so its stage-2 is just those two
      tables ([new_owns]).
    - The tables of two different stage-2s (the host's and the live
      VMs') stay disjoint ([VMCreate_disjoint]). The engine's other
      invariants do not give this, so it is assumed before the call; the
      new VM's two tables were free before, so they are in no other
      stage-2.
    - A free slot stays unprotected ([VMCreate_free_slots_clear]) and
      every live VM's stage-2 still walks into RAM, injectively
      ([VMCreate_vms_sane]): the new VM maps nothing, the others walk as
      before.
    - VM_CREATE keeps the configuration and the number of slots
      ([VMCreate_shape]); together ([VMCreate_keeps]) every outcome, the
      errors included, keeps all of the above (disjointness when it held
      before), so another call can follow it under the same assumptions. *)
From Coq Require Import ZArith Lia List Bool.
From Bulkhead.Spec Require Import State Spec.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodePlace CodeTrack CodeLens CodeLoop CodeVCPU CodeVMCreate CodeShadow
  CodeStage2 CodePool CodeFree CodeAbsLedger CodeAbs CodeMemCall Lemmas CodeAbi CodeVMCreateRefine.
Import ListNotations.
Open Scope Z_scope.

(** ** What VM_CREATE leaves *)

(** VM_CREATE from an engine with [create_ok] returns the engine as it
    was; or the lowest free slot [slot] with its stage-2 record replaced
    by one with root -1; or a live VM [X] with root [rt] in that slot,
    where allocRoot took the pair [rt], [rt + 1]. *)
Theorem VMCreate_cases : forall e tr n flags r e' tr', create_ok e -> 0 <= n < 2 ^ 64 ->
  Isolation.Engine_VMCreate root n flags e tr = Ok r e' tr' ->
  e' = e \/
  (exists slot id, first_free e slot /\
     e' = at_slot e (Z.to_nat slot)
            (Isolation.set_vm_s2 (Isolation.mk_stage2 (-1) id) (nth (Z.to_nat slot) (Isolation.Engine_vms e) Isolation.zero_vm))) \/
  (exists slot rt q X, first_free e slot /\ root_taken_ok (Isolation.Engine_pool e) q rt /\
     Isolation.vm_live X = true /\ Isolation.stage2_root (Isolation.vm_s2 X) = rt /\
     Isolation.vm_shadow X = Isolation.zero_shadowState /\
     e' = at_slot (Isolation.set_Engine_pool q e) (Z.to_nat slot) X).
Proof.
  intros e tr n flags r e' tr' Hc Hn Hrun.
  pose proof (VMCreate_spec e tr n flags Hc Hn) as (r0 & e0 & Hrun0 & _ & Hcase).
  rewrite Hrun0 in Hrun. injection Hrun as E1 E2 E3. subst e0.
  destruct Hcase as [(_ & _ & ->)|[(_ & _ & _ & ->)|(slot & _ & Hff & Hsub)]]; [left; reflexivity|left; reflexivity|].
  cbv zeta in Hsub. destruct Hsub as [(_ & ->)|(rt & q & vcs & _ & Hrt & -> & _)].
  - right. left. eexists _, _. split; [exact Hff|reflexivity].
  - right. right. exists slot, rt, q, (new_vm n flags (wrapu 16 (wraps 64 (slot + 1))) rt vcs).
    split; [exact Hff|]. split; [exact Hrt|]. split; [reflexivity|]. split; [reflexivity|]. split; reflexivity.
Qed.

(** ** Lists, slots and frames *)

Lemma In_replace : forall {A} i (x y : A) xs, In y (replace_nth i x xs) -> y = x \/ In y xs.
Proof.
  intros A i x y xs H.
  assert (Hf : Forall (fun z => z = x \/ In z xs) (replace_nth i x xs)).
  { apply Forall_replace; [|left; reflexivity]. rewrite Forall_forall. intros z Hz. right. exact Hz. }
  rewrite Forall_forall in Hf. exact (Hf y H).
Qed.

Lemma vms_at : forall E i X, Isolation.Engine_vms (at_slot E i X) = replace_nth i X (Isolation.Engine_vms E).
Proof. intros [] i X. reflexivity. Qed.

Lemma owns_at_slot : forall E i X r, owns_tables (at_slot E i X) r = owns_tables E r.
Proof. intros [] i X r. reflexivity. Qed.

Lemma s2_tables_at_slot : forall E i X r, s2_tables (at_slot E i X) r = s2_tables E r.
Proof. intros [] i X r. reflexivity. Qed.

Lemma tables_ok_at_slot : forall E i X, tables_ok (at_slot E i X) = tables_ok E.
Proof. intros [] i X. reflexivity. Qed.

Lemma from_ext : forall f g i n, 0 <= i -> (forall j, i <= j < n -> f j = g j) -> from f i n = from g i n.
Proof.
  intros f g i n Hi H. unfold from.
  assert (Hl : forall l, (forall x, In x l -> f x = g x) -> flat_map f l = flat_map g l).
  { induction l as [|a l IH]; intros Hx; [reflexivity|]. cbn [flat_map].
    rewrite (Hx a) by (left; reflexivity). rewrite IH by (intros x Hin; apply Hx; right; exact Hin). reflexivity. }
  apply Hl. intros x Hx. apply in_map_iff in Hx as (j & <- & Hj). apply in_seq in Hj. apply H. lia.
Qed.

(** The tables a tree reaches are read from the tables it reaches. *)
Lemma reach_frame : forall k T1 T2 base t nent,
  tree_ok T1 base k t nent ->
  (forall i, 0 <= i < nent -> ent T1 t i = ent T2 t i) ->
  agree T1 T2 (reach T1 base k t nent) ->
  reach T2 base k t nent = reach T1 base k t nent.
Proof.
  induction k as [|k IH]; intros T1 T2 base t nent Ht He Ha; [reflexivity|].
  cbn [reach]. apply from_ext; [lia|]. intros i Hi. rewrite <- (He i Hi).
  destruct (Z.eqb_spec (Z.land (ent T1 t i) 3) 3) as [E|E]; [|reflexivity].
  destruct Ht as (_ & _ & Hch). pose proof (Hch i Hi E) as (_ & _ & Hct).
  pose proof (agree_child T1 T2 base k t nent i Hi E Ha) as (Ha' & He').
  rewrite (IH T1 T2 base _ 512 Hct He' Ha'). reflexivity.
Qed.

Lemma s2_tables_nonneg : forall e r x, owns_tables e r -> In x (s2_tables e r) -> 0 <= x.
Proof.
  intros e r x (Ht & _) Hx. pose proof (tree_ok_range _ _ _ _ _ Ht) as [H0 _].
  unfold s2_tables in Hx. destruct Hx as [<-|[<-|Hx]]; [lia|lia|exact (reach_nonneg 2 _ _ _ _ x Ht Hx)].
Qed.

(** A stage-2 that owns its tables keeps them, and owns them still, in an
    engine whose pool has the same base and size, agrees on those tables
    and has them all in use. *)
Lemma owns_frame : forall e1 e2 r, pool_base e2 = pool_base e1 -> len (tables e2) = len (tables e1) ->
  owns_tables e1 r -> agree (tables e1) (tables e2) (s2_tables e1 r) ->
  (forall x, In x (s2_tables e1 r) -> free_bit (Isolation.Engine_pool e2) x = false) ->
  s2_tables e2 r = s2_tables e1 r /\ owns_tables e2 r.
Proof.
  intros e1 e2 r Hb Hl (Ht & Hnd & Hf) Ha Hf2.
  pose proof (tree_ok_range _ _ _ _ _ Ht) as [H0 _].
  assert (He : forall i, 0 <= i < 1024 -> ent (tables e1) r i = ent (tables e2) r i).
  { apply ent_root_agree; [lia|]. intros x Hx. apply Ha. destruct Hx as [<-|[<-|[]]]; [left|right; left]; reflexivity. }
  assert (Har : agree (tables e1) (tables e2) (reach (tables e1) (pool_base e1) 2 r 1024))
    by (intros x Hx; apply Ha; right; right; exact Hx).
  assert (Hs : s2_tables e2 r = s2_tables e1 r).
  { unfold s2_tables. rewrite Hb. rewrite (reach_frame 2 _ _ _ r 1024 Ht He Har). reflexivity. }
  split; [exact Hs|]. split; [rewrite Hb; exact (tree_ok_frame 2 _ _ _ r 1024 Hl Ht He Har)|].
  rewrite Hs. split; [exact Hnd|exact Hf2].
Qed.

(** After allocRoot took a pair and a slot was filled, a stage-2 that
    owned its tables owns the same tables. *)
Lemma owns_after : forall e q rt i X r, root_taken (Isolation.Engine_pool e) q rt -> owns_tables e r ->
  s2_tables (at_slot (Isolation.set_Engine_pool q e) i X) r = s2_tables e r /\
  owns_tables (at_slot (Isolation.set_Engine_pool q e) i X) r.
Proof.
  intros e q rt i X r Hrt Hown.
  pose proof Hrt as (_ & _ & Hb1 & Hb2 & [Hl _] & HB & _ & _ & _ & Hother).
  apply owns_frame.
  - unfold pool_base. destruct e. exact HB.
  - unfold tables. destruct e. exact Hl.
  - exact Hown.
  - replace (tables (at_slot (Isolation.set_Engine_pool q e) i X)) with (Isolation.Pool_Tables (Isolation.tablePool_Pool q))
      by (destruct e; reflexivity).
    exact (taken_agree e q rt r Hrt Hown).
  - intros x Hx. pose proof (s2_tables_nonneg e r x Hown Hx) as Hx0.
    destruct Hown as (_ & _ & Hf). pose proof (Hf x Hx) as Hfx.
    replace (Isolation.Engine_pool (at_slot (Isolation.set_Engine_pool q e) i X)) with q by (destruct e; reflexivity).
    rewrite Hother; [exact Hfx|exact Hx0|intros ->; congruence|intros ->; congruence].
Qed.

(** The pair allocRoot took is zeroed. *)
Lemma new_root_zero : forall e q rt i X, root_taken (Isolation.Engine_pool e) q rt ->
  let E2 := at_slot (Isolation.set_Engine_pool q e) i X in
  0 <= rt /\ rt + 1 < len (tables E2) /\
  nth (Z.to_nat rt) (tables E2) Isolation.zero_Table = repeat 0 512 /\
  nth (Z.to_nat (rt + 1)) (tables E2) Isolation.zero_Table = repeat 0 512.
Proof.
  intros e q rt i X Hrt E2.
  pose proof Hrt as (Hr0 & Hrl & _ & _ & [Hl _] & _ & HT & _). unfold ntables in Hrl.
  assert (HT' : tables E2 = Isolation.Pool_Tables (Isolation.tablePool_Pool q)) by (unfold E2; destruct e; reflexivity).
  rewrite HT'. split; [exact Hr0|]. split; [rewrite Hl; exact Hrl|]. rewrite HT. split.
  - rewrite nth_replace_nth_other' by lia. apply nth_replace_nth_same. unfold len in Hrl. lia.
  - apply nth_replace_nth_same. rewrite replace_nth_length. unfold len in Hrl. lia.
Qed.

Lemma reach_zero : forall T base k t nent, (forall i, 0 <= i < nent -> ent T t i = 0) -> reach T base k t nent = [].
Proof.
  intros T base [|k] t nent H; [reflexivity|]. cbn [reach].
  rewrite (from_ext _ (fun _ => []) 0 nent); [apply from_nil|lia|].
  intros i Hi. rewrite (H i Hi). reflexivity.
Qed.

(** The new VM's stage-2 is the pair allocRoot took, and owns it. *)
Theorem new_owns : forall e q rt i X, root_taken (Isolation.Engine_pool e) q rt ->
  s2_tables (at_slot (Isolation.set_Engine_pool q e) i X) rt = [rt; rt + 1] /\
  owns_tables (at_slot (Isolation.set_Engine_pool q e) i X) rt.
Proof.
  intros e q rt i X Hrt.
  pose proof (new_root_zero e q rt i X Hrt) as (Hr0 & Hrl & Z0 & Z1).
  set (E2 := at_slot (Isolation.set_Engine_pool q e) i X) in *.
  assert (He : forall j, 0 <= j < 1024 -> ent (tables E2) rt j = 0).
  { intros j Hj. unfold ent.
    assert (Hq : j / 512 = 0 \/ j / 512 = 1)
      by (assert (0 <= j / 512 < 2) by (split; [apply Z.div_pos|apply Z.div_lt_upper_bound]; lia); lia).
    destruct Hq as [-> | ->]; rewrite ?Z.add_0_r; [rewrite Z0|rewrite Z1]; apply nth_repeat. }
  assert (Hs : s2_tables E2 rt = [rt; rt + 1]) by (unfold s2_tables; rewrite reach_zero by exact He; reflexivity).
  split; [exact Hs|]. split.
  - cbn [tree_ok]. split; [lia|]. split; [replace ((1024 - 1) / 512) with 1 by reflexivity; lia|].
    intros j Hj H3. rewrite (He j Hj) in H3. discriminate H3.
  - rewrite Hs. pose proof Hrt as (_ & _ & _ & _ & _ & _ & _ & F1 & F2 & _).
    replace (Isolation.Engine_pool E2) with q by (unfold E2; destruct e; reflexivity). split.
    + constructor; [intros [H|[]]; lia|]. constructor; [intros []|constructor].
    + intros x [<-|[<-|[]]]; assumption.
Qed.

(** ** The pool's tables stay whole *)

Theorem VMCreate_tables_ok : forall e tr n flags r e' tr', create_ok e -> tables_ok e -> 0 <= n < 2 ^ 64 ->
  Isolation.Engine_VMCreate root n flags e tr = Ok r e' tr' -> tables_ok e'.
Proof.
  intros e tr n flags r e' tr' Hc Hok Hn Hrun.
  pose proof (VMCreate_cases e tr n flags r e' tr' Hc Hn Hrun)
    as [->|[(slot & id & _ & ->)|(slot & rt & q & X & _ & [Hrt _] & _ & _ & _ & ->)]].
  - exact Hok.
  - rewrite tables_ok_at_slot. exact Hok.
  - exact (tables_ok_taken e q rt Hok Hrt _ _).
Qed.

(** ** The stage-2s own their tables *)

(** Every live VM's stage-2 owns its tables. *)
Definition vms_own (e : Isolation.Engine) : Prop :=
  forall mv, In mv (Isolation.Engine_vms e) -> Isolation.vm_live mv = true ->
    owns_tables e (Isolation.stage2_root (Isolation.vm_s2 mv)).

Lemma first_free_dead : forall e slot,
  first_free e slot -> Isolation.vm_live (nth (Z.to_nat slot) (Isolation.Engine_vms e) Isolation.zero_vm) = false.
Proof. intros e slot (_ & H & _). exact H. Qed.

Theorem VMCreate_owns : forall e tr n flags r e' tr', create_ok e -> 0 <= n < 2 ^ 64 ->
  owns_tables e (Isolation.stage2_root (Isolation.Engine_host e)) -> vms_own e ->
  Isolation.Engine_VMCreate root n flags e tr = Ok r e' tr' ->
  owns_tables e' (Isolation.stage2_root (Isolation.Engine_host e')) /\ vms_own e'.
Proof.
  intros e tr n flags r e' tr' Hc Hn Hhost Hvms Hrun.
  pose proof (VMCreate_cases e tr n flags r e' tr' Hc Hn Hrun)
    as [->|[(slot & id & Hff & ->)|(slot & rt & q & X & Hff & [Hrt _] & HX & HXr & _ & ->)]].
  - split; [exact Hhost|exact Hvms].
  - split; [rewrite owns_at_slot, host_at_slot; exact Hhost|].
    intros mv Hin Hl. rewrite owns_at_slot. rewrite vms_at in Hin.
    apply In_replace in Hin as [->|Hin].
    + cbn in Hl. rewrite (first_free_dead e slot Hff) in Hl. discriminate Hl.
    + exact (Hvms mv Hin Hl).
  - split.
    + rewrite host_at_slot, host_set_pool. exact (proj2 (owns_after e q rt _ X _ Hrt Hhost)).
    + intros mv Hin Hl. rewrite vms_at, vms_set_pool in Hin.
      apply In_replace in Hin as [->|Hin].
      * rewrite HXr. exact (proj2 (new_owns e q rt _ X Hrt)).
      * exact (proj2 (owns_after e q rt _ X _ Hrt (Hvms mv Hin Hl))).
Qed.

(** ** Disjointness *)

Definition disjoint (xs ys : list Z) : Prop := forall x, In x xs -> ~ In x ys.

Lemma disjoint_sym : forall xs ys, disjoint xs ys -> disjoint ys xs.
Proof. intros xs ys H x Hy Hx. exact (H x Hx Hy). Qed.

Definition vm_at (e : Isolation.Engine) (i : nat) : Isolation.vm := nth i (Isolation.Engine_vms e) Isolation.zero_vm.

Definition root_at (e : Isolation.Engine) (i : nat) : Z := Isolation.stage2_root (Isolation.vm_s2 (vm_at e i)).

(** The tables of the host's stage-2 and of the live VMs' stage-2s are
    pairwise disjoint. *)
Definition tables_disjoint (e : Isolation.Engine) : Prop :=
  (forall i, (i < length (Isolation.Engine_vms e))%nat -> Isolation.vm_live (vm_at e i) = true ->
     disjoint (s2_tables e (Isolation.stage2_root (Isolation.Engine_host e))) (s2_tables e (root_at e i))) /\
  (forall i j, (i < length (Isolation.Engine_vms e))%nat -> (j < length (Isolation.Engine_vms e))%nat -> i <> j ->
     Isolation.vm_live (vm_at e i) = true -> Isolation.vm_live (vm_at e j) = true ->
     disjoint (s2_tables e (root_at e i)) (s2_tables e (root_at e j))).

(** The new VM's pair was free, so it is in no stage-2 that owns its
    tables. *)
Lemma new_disjoint : forall e q rt i X r, root_taken (Isolation.Engine_pool e) q rt -> owns_tables e r ->
  disjoint (s2_tables (at_slot (Isolation.set_Engine_pool q e) i X) rt)
           (s2_tables (at_slot (Isolation.set_Engine_pool q e) i X) r).
Proof.
  intros e q rt i X r Hrt Hown.
  rewrite (proj1 (new_owns e q rt i X Hrt)), (proj1 (owns_after e q rt i X r Hrt Hown)).
  pose proof Hrt as (_ & _ & F1 & F2 & _). destruct Hown as (_ & _ & Hf).
  intros x Hx Hin. pose proof (Hf x Hin) as Hfx.
  destruct Hx as [<-|[<-|[]]]; congruence.
Qed.

Theorem VMCreate_disjoint : forall e tr n flags r e' tr', create_ok e -> 0 <= n < 2 ^ 64 ->
  owns_tables e (Isolation.stage2_root (Isolation.Engine_host e)) -> vms_own e -> tables_disjoint e ->
  Isolation.Engine_VMCreate root n flags e tr = Ok r e' tr' -> tables_disjoint e'.
Proof.
  intros e tr n flags r e' tr' Hc Hn Hhost Hvms (Dh & Dv) Hrun.
  assert (Hown : forall i, (i < length (Isolation.Engine_vms e))%nat -> Isolation.vm_live (vm_at e i) = true ->
    owns_tables e (root_at e i)) by (intros i Hi Hl; apply Hvms; [apply nth_In; exact Hi|exact Hl]).
  pose proof (VMCreate_cases e tr n flags r e' tr' Hc Hn Hrun)
    as [->|[(slot & id & Hff & ->)|(slot & rt & q & X & Hff & [Hrt _] & HX & HXr & _ & ->)]].
  - split; [exact Dh|exact Dv].
  - pose proof (first_free_dead e slot Hff) as Hdead.
    assert (Hsl : (Z.to_nat slot < length (Isolation.Engine_vms e))%nat) by (destruct Hff as [Hs _]; unfold len in Hs; lia).
    assert (Hvm : forall k, (k < length (Isolation.Engine_vms e))%nat ->
      Isolation.vm_live (vm_at (at_slot e (Z.to_nat slot) (Isolation.set_vm_s2 (Isolation.mk_stage2 (-1) id)
        (nth (Z.to_nat slot) (Isolation.Engine_vms e) Isolation.zero_vm))) k) = true ->
      k <> Z.to_nat slot /\ vm_at (at_slot e (Z.to_nat slot) (Isolation.set_vm_s2 (Isolation.mk_stage2 (-1) id)
        (nth (Z.to_nat slot) (Isolation.Engine_vms e) Isolation.zero_vm))) k = vm_at e k).
    { intros k Hk Hl. unfold vm_at in *. destruct (Nat.eq_dec k (Z.to_nat slot)) as [->|Hne].
      - rewrite vms_at_slot in Hl by exact Hsl. cbn in Hl. rewrite Hdead in Hl. discriminate Hl.
      - split; [exact Hne|]. apply nth_vms_at_slot_other. intros H; apply Hne; symmetry; exact H. }
    split.
    + intros i Hi Hl. rewrite len_vms_at_slot in Hi. pose proof (Hvm i Hi Hl) as [_ E]. rewrite E in Hl.
      unfold root_at. rewrite E. rewrite !s2_tables_at_slot, host_at_slot. exact (Dh i Hi Hl).
    + intros i j Hi Hj Hij Hli Hlj. rewrite len_vms_at_slot in Hi, Hj.
      pose proof (Hvm i Hi Hli) as [_ Ei]. pose proof (Hvm j Hj Hlj) as [_ Ej]. rewrite Ei in Hli. rewrite Ej in Hlj.
      unfold root_at. rewrite Ei, Ej. rewrite !s2_tables_at_slot. exact (Dv i j Hi Hj Hij Hli Hlj).
  - set (E2 := at_slot (Isolation.set_Engine_pool q e) (Z.to_nat slot) X).
    assert (Hsl : (Z.to_nat slot < length (Isolation.Engine_vms e))%nat) by (destruct Hff as [Hs _]; unfold len in Hs; lia).
    assert (HlenE : length (Isolation.Engine_vms E2) = length (Isolation.Engine_vms e))
      by (unfold E2; rewrite len_vms_at_slot, vms_set_pool; reflexivity).
    assert (Hnew : vm_at E2 (Z.to_nat slot) = X)
      by (unfold vm_at, E2; apply vms_at_slot; rewrite vms_set_pool; exact Hsl).
    assert (Hold : forall k, k <> Z.to_nat slot -> vm_at E2 k = vm_at e k).
    { intros k Hk. unfold vm_at, E2. rewrite nth_vms_at_slot_other by (intros H; apply Hk; symmetry; exact H).
      rewrite vms_set_pool. reflexivity. }
    assert (Hs2old : forall k, (k < length (Isolation.Engine_vms e))%nat -> k <> Z.to_nat slot ->
      Isolation.vm_live (vm_at E2 k) = true ->
      Isolation.vm_live (vm_at e k) = true /\ s2_tables E2 (root_at E2 k) = s2_tables e (root_at e k)).
    { intros k Hk Hne Hl. rewrite (Hold k Hne) in Hl. split; [exact Hl|].
      unfold root_at. rewrite (Hold k Hne). exact (proj1 (owns_after e q rt _ X _ Hrt (Hown k Hk Hl))). }
    assert (Hhs : s2_tables E2 (Isolation.stage2_root (Isolation.Engine_host E2)) =
                  s2_tables e (Isolation.stage2_root (Isolation.Engine_host e))).
    { unfold E2. rewrite host_at_slot, host_set_pool. exact (proj1 (owns_after e q rt _ X _ Hrt Hhost)). }
    assert (HrE : root_at E2 (Z.to_nat slot) = rt) by (unfold root_at; rewrite Hnew; exact HXr).
    assert (Hnd : forall k, (k < length (Isolation.Engine_vms e))%nat -> k <> Z.to_nat slot ->
      Isolation.vm_live (vm_at E2 k) = true ->
      disjoint (s2_tables E2 (root_at E2 (Z.to_nat slot))) (s2_tables E2 (root_at E2 k))).
    { intros k Hk Hne Hl. rewrite (Hold k Hne) in Hl. rewrite HrE. unfold root_at. rewrite (Hold k Hne).
      exact (new_disjoint e q rt _ X _ Hrt (Hown k Hk Hl)). }
    split.
    + intros i Hi Hl. rewrite HlenE in Hi. rewrite Hhs. destruct (Nat.eq_dec i (Z.to_nat slot)) as [->|Hne].
      * rewrite HrE. apply disjoint_sym. rewrite <- Hhs. unfold E2 at 1 3. rewrite host_at_slot, host_set_pool.
        exact (new_disjoint e q rt _ X _ Hrt Hhost).
      * pose proof (Hs2old i Hi Hne Hl) as [Hl' ->]. exact (Dh i Hi Hl').
    + intros i j Hi Hj Hij Hli Hlj. rewrite HlenE in Hi, Hj.
      destruct (Nat.eq_dec i (Z.to_nat slot)) as [->|Hne].
      * exact (Hnd j Hj (fun H => Hij (eq_sym H)) Hlj).
      * destruct (Nat.eq_dec j (Z.to_nat slot)) as [->|Hne'].
        -- apply disjoint_sym. exact (Hnd i Hi Hne Hli).
        -- pose proof (Hs2old i Hi Hne Hli) as [Hli' ->]. pose proof (Hs2old j Hj Hne' Hlj) as [Hlj' ->].
           exact (Dv i j Hi Hj Hij Hli' Hlj').
Qed.

(** ** Free slots and the walks of the live VMs *)

Theorem VMCreate_free_slots_clear : forall e tr n flags r e' tr', create_ok e -> 0 <= n < 2 ^ 64 ->
  free_slots_clear e -> Isolation.Engine_VMCreate root n flags e tr = Ok r e' tr' -> free_slots_clear e'.
Proof.
  intros e tr n flags r e' tr' Hc Hn Hfree Hrun. unfold free_slots_clear in *.
  pose proof (VMCreate_cases e tr n flags r e' tr' Hc Hn Hrun)
    as [->|[(slot & id & Hff & ->)|(slot & rt & q & X & Hff & [Hrt _] & HX & HXr & _ & ->)]].
  - exact Hfree.
  - rewrite vms_at. apply Forall_replace; [exact Hfree|]. cbn.
    destruct (Nat.lt_ge_cases (Z.to_nat slot) (length (Isolation.Engine_vms e))) as [Hsl|Hsl].
    + rewrite Forall_forall in Hfree. exact (Hfree _ (nth_In _ _ Hsl)).
    + rewrite nth_overflow by exact Hsl. intros _. reflexivity.
  - rewrite vms_at, vms_set_pool. apply Forall_replace; [exact Hfree|]. rewrite HX. discriminate.
Qed.

Lemma s2_sane_ext : forall c e1 e2 s2, (forall k, walk e2 s2 k = walk e1 s2 k) -> s2_sane c e1 s2 -> s2_sane c e2 s2.
Proof.
  intros c e1 e2 s2 H (H1 & H2). split.
  - intros k pa w Hk Hw. rewrite H in Hw. exact (H1 k pa w Hk Hw).
  - intros k1 k2 pa1 pa2 w1 w2 Hk1 Hk2 Hw1 Hw2. rewrite H in Hw1, Hw2. exact (H2 k1 k2 pa1 pa2 w1 w2 Hk1 Hk2 Hw1 Hw2).
Qed.

(** The VM that VM_CREATE puts in a slot, whose root is the pair
    allocRoot took and zeroed, maps nothing. *)
Lemma new_vm_walk : forall e q rt i X, tables_ok e -> root_taken (Isolation.Engine_pool e) q rt ->
  Isolation.stage2_root (Isolation.vm_s2 X) = rt ->
  forall k, walk (at_slot (Isolation.set_Engine_pool q e) i X) (Isolation.vm_s2 X) k = None.
Proof.
  intros e q rt i X Hok Hrt HXr k. pose proof (new_root_zero e q rt i X Hrt) as (Hr0 & Hrl & Z0 & Z1).
  destruct (Isolation.vm_s2 X) as [r0 id] eqn:Es. cbn in HXr. subst r0.
  apply walk_zero_root; [exact (tables_ok_taken e q rt Hok Hrt _ _)|exact Hr0|exact Hrl|exact Z0|exact Z1].
Qed.

Theorem VMCreate_vms_sane : forall c e tr n flags r e' tr', create_ok e -> 0 <= n < 2 ^ 64 ->
  tables_ok e -> vms_own e -> vms_sane c e -> Isolation.Engine_VMCreate root n flags e tr = Ok r e' tr' -> vms_sane c e'.
Proof.
  intros c e tr n flags r e' tr' Hc Hn Hok Hvms Hsane Hrun. unfold vms_sane in *.
  pose proof (VMCreate_cases e tr n flags r e' tr' Hc Hn Hrun)
    as [->|[(slot & id & Hff & ->)|(slot & rt & q & X & Hff & [Hrt _] & HX & HXr & _ & ->)]].
  - exact Hsane.
  - rewrite vms_at. apply Forall_replace.
    + rewrite Forall_forall in *. intros mv Hin Hl. apply s2_sane_ext with e; [|exact (Hsane mv Hin Hl)].
      intros k. apply walk_slot; [exact Hok|exact (Hvms mv Hin Hl)].
    + cbn. rewrite (first_free_dead e slot Hff). discriminate.
  - rewrite vms_at, vms_set_pool. apply Forall_replace.
    + rewrite Forall_forall in *. intros mv Hin Hl. apply s2_sane_ext with e; [|exact (Hsane mv Hin Hl)].
      intros k. apply walk_after with (rt := rt); [exact Hok|exact Hrt|exact (Hvms mv Hin Hl)].
    + intros _. pose proof (new_vm_walk e q rt (Z.to_nat slot) X Hok Hrt HXr) as Hw.
      split.
      * intros k pa w _ Hk. rewrite Hw in Hk. discriminate Hk.
      * intros k1 k2 pa1 pa2 w1 w2 _ _ Hk. rewrite Hw in Hk. discriminate Hk.
Qed.

(** ** Chaining *)

(** VM_CREATE keeps the configuration and the number of VM slots, hence
    the model's configuration for the engine. *)
Theorem VMCreate_shape : forall c e tr n flags r e' tr', create_ok e -> 0 <= n < 2 ^ 64 ->
  Isolation.Engine_VMCreate root n flags e tr = Ok r e' tr' ->
  Isolation.Engine_cfg e' = Isolation.Engine_cfg e /\
  length (Isolation.Engine_vms e') = length (Isolation.Engine_vms e) /\
  (cfg_abs c e -> cfg_abs c e').
Proof.
  intros c e tr n flags r e' tr' Hc Hn Hrun.
  assert (H : Isolation.Engine_cfg e' = Isolation.Engine_cfg e /\
              length (Isolation.Engine_vms e') = length (Isolation.Engine_vms e)).
  { pose proof (VMCreate_cases e tr n flags r e' tr' Hc Hn Hrun)
      as [->|[(slot & id & _ & ->)|(slot & rt & q & X & _ & _ & _ & _ & _ & ->)]].
    - split; reflexivity.
    - rewrite len_vms_at_slot. split; [destruct e; reflexivity|reflexivity].
    - rewrite len_vms_at_slot, vms_set_pool. split; [destruct e; reflexivity|reflexivity]. }
  destruct H as [Hcfg Hlen]. split; [exact Hcfg|]. split; [exact Hlen|].
  intros ((Hg & Hb & Hs) & Hm & Hipa). unfold cfg_abs, cfg_rel, len in *. rewrite Hcfg, Hlen.
  split; [split; [exact Hg|split; [exact Hb|exact Hs]]|]. split; [exact Hm|exact Hipa].
Qed.

(** What an engine keeps for VM_CREATE to be chained with the other
    calls. *)
Definition create_inv (c : config) (e : Isolation.Engine) : Prop :=
  create_ok e /\ tables_ok e /\ cfg_abs c e /\
  owns_tables e (Isolation.stage2_root (Isolation.Engine_host e)) /\ vms_own e /\
  free_slots_clear e /\ vms_sane c e.

(** Every outcome of VM_CREATE, the errors included, keeps [create_inv],
    and keeps the disjointness of the stage-2s' tables when it held. *)
Theorem VMCreate_keeps : forall c e tr n flags, create_inv c e -> 0 <= n < 2 ^ 64 ->
  exists r e', Isolation.Engine_VMCreate root n flags e tr = Ok r e' tr /\ create_inv c e' /\
    (tables_disjoint e -> tables_disjoint e').
Proof.
  intros c e tr n flags (Hc & Hok & Hcfg & Hhost & Hvms & Hfree & Hsane) Hn.
  pose proof (VMCreate_spec e tr n flags Hc Hn) as (r & e' & Hrun & Hc' & _).
  exists r, e'. split; [exact Hrun|]. split.
  - pose proof (VMCreate_owns e tr n flags r e' tr Hc Hn Hhost Hvms Hrun) as [Hh' Hv'].
    split; [exact Hc'|]. split; [exact (VMCreate_tables_ok e tr n flags r e' tr Hc Hok Hn Hrun)|].
    split; [exact (proj2 (proj2 (VMCreate_shape c e tr n flags r e' tr Hc Hn Hrun)) Hcfg)|].
    split; [exact Hh'|]. split; [exact Hv'|].
    split; [exact (VMCreate_free_slots_clear e tr n flags r e' tr Hc Hn Hfree Hrun)|].
    exact (VMCreate_vms_sane c e tr n flags r e' tr Hc Hn Hok Hvms Hsane Hrun).
  - intros Hd. exact (VMCreate_disjoint e tr n flags r e' tr Hc Hn Hhost Hvms Hd Hrun).
Qed.
