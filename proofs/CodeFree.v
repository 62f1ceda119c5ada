(** * Freeing a stage-2's tables: no failure

    Lemmas about proofs/code/Isolation.v, the translation of
    isolation/stage2.go. VM_DESTROY returns a VM's tables to the pool with
    [freeStage2], whose [freeTables] walks the tree below the root and
    releases every table it finds, children first; [release] panics on a
    table already free. On a tree of tables of the pool ([tree_ok],
    CodeStage2) whose tables below the root ([reach], in the order
    [freeTables] releases them) are distinct and all in use, [freeTables]
    never fails, frees exactly those tables and keeps the tables' contents. *)
From Coq Require Import ZArith Lia List Bool String.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodePlace CodeTrack CodeLens CodeLoop CodeLedger CodeVCPU CodeVMCreate
  CodeStage2 CodeShadow CodePool.
Import ListNotations.
Open Scope Z_scope.

(** ** The tables below a table *)

(** [f i ++ f (i+1) ++ ... ++ f (n-1)]. *)
Definition from (f : Z -> list Z) (i n : Z) : list Z :=
  flat_map f (map Z.of_nat (seq (Z.to_nat i) (Z.to_nat (n - i)))).

Lemma from_step : forall f i n, 0 <= i < n -> from f i n = f i ++ from f (i + 1) n.
Proof.
  intros f i n H. unfold from. replace (Z.to_nat (n - i)) with (S (Z.to_nat (n - (i + 1)))) by lia.
  cbn [seq map flat_map]. rewrite Z2Nat.id by lia. replace (S (Z.to_nat i)) with (Z.to_nat (i + 1)) by lia.
  reflexivity.
Qed.

Lemma from_end : forall f i n, n <= i -> from f i n = [].
Proof. intros f i n H. unfold from. replace (Z.to_nat (n - i)) with O by lia. reflexivity. Qed.

Lemma from_split : forall f i n, 0 <= i <= n -> from f 0 n = from f 0 i ++ from f i n.
Proof.
  intros f i n H. unfold from. rewrite !Z.sub_0_r. replace (Z.to_nat n) with (Z.to_nat i + Z.to_nat (n - i))%nat by lia.
  rewrite seq_app, map_app, flat_map_app. reflexivity.
Qed.

Lemma from_nil : forall i n, from (fun _ => []) i n = [].
Proof. intros i n. unfold from. generalize (map Z.of_nat (seq (Z.to_nat i) (Z.to_nat (n - i)))). induction l; auto. Qed.

(** The tables [k] levels of tables below table [t] (of [nent] entries)
    hold, each after the tables below it. *)
Fixpoint reach (T : list Isolation.Table) (base : Z) (k : nat) (t nent : Z) : list Z :=
  match k with
  | O => []
  | S k' => from (fun i => if Z.land (ent T t i) 3 =? 3
                           then reach T base k' (child base (ent T t i)) 512 ++ [child base (ent T t i)]
                           else []) 0 nent
  end.

(** What [freeTables] releases for entry [i] of table [t]. *)
Definition below (T : list Isolation.Table) (base : Z) (k : nat) (t i : Z) : list Z :=
  match k with
  | O => []
  | S k' => if Z.land (ent T t i) 3 =? 3
            then reach T base k' (child base (ent T t i)) 512 ++ [child base (ent T t i)] else []
  end.

Lemma reach_below : forall T base k t nent, reach T base k t nent = from (below T base k t) 0 nent.
Proof. intros T base [|k] t nent; [symmetry; apply from_nil|reflexivity]. Qed.

Lemma in_from : forall f i n x, 0 <= i -> In x (from f i n) -> exists j, i <= j < n /\ In x (f j).
Proof.
  intros f i n x Hi H. unfold from in H. apply in_flat_map in H as (j & Hj & Hx).
  apply in_map_iff in Hj as (jn & <- & Hjn). apply in_seq in Hjn. exists (Z.of_nat jn). split; [lia|exact Hx].
Qed.

(** The tables below a table are tables of the pool: indices from 0. *)
Lemma reach_nonneg : forall k T base t n x, tree_ok T base k t n -> In x (reach T base k t n) -> 0 <= x.
Proof.
  induction k as [|k IH]; intros T base t n x Ht Hx; [destruct Hx|].
  cbn [reach] in Hx. apply in_from in Hx as (j & Hj & Hx); [|lia].
  destruct (Z.eqb_spec (Z.land (ent T t j) 3) 3) as [E|E]; [|destruct Hx].
  destruct Ht as (_ & _ & Hch). pose proof (Hch j ltac:(lia) E) as (Hle & _ & Hct).
  apply in_app_or in Hx as [Hx|[<-|[]]].
  - exact (IH _ _ _ _ _ Hct Hx).
  - unfold child. apply Z.div_pos; lia.
Qed.

(** ** The pool place *)

Definition pool_place : ptr Isolation.Engine Isolation.tablePool :=
  Place (fun s => Some (Isolation.Engine_pool s)) (fun b s => Some (Isolation.set_Engine_pool b s)).

Lemma pool_place_lens : pool_lens pool_place.
Proof.
  exists (fun s => Some (Isolation.Engine_pool s)), (fun b s => Some (Isolation.set_Engine_pool b s)).
  repeat split; intros; destruct s; reflexivity.
Qed.

Lemma tables_ok_set_pool : forall s q, tables_ok s ->
  Isolation.tablePool_Pool q = Isolation.tablePool_Pool (Isolation.Engine_pool s) -> tables_ok (Isolation.set_Engine_pool q s).
Proof. intros [] q H E. unfold tables_ok, tables, pool_base in *; cbn in *. rewrite E. exact H. Qed.

Lemma tables_set_pool : forall s q,
  Isolation.tablePool_Pool q = Isolation.tablePool_Pool (Isolation.Engine_pool s) -> tables (Isolation.set_Engine_pool q s) = tables s.
Proof. intros [] q E. unfold tables; cbn in *. rewrite E. reflexivity. Qed.

Lemma base_set_pool : forall s q,
  Isolation.tablePool_Pool q = Isolation.tablePool_Pool (Isolation.Engine_pool s) -> pool_base (Isolation.set_Engine_pool q s) = pool_base s.
Proof. intros [] q E. unfold pool_base; cbn in *. rewrite E. reflexivity. Qed.

Lemma NoDup_app_l : forall {A} (l1 l2 : list A), NoDup (l1 ++ l2) -> NoDup l1.
Proof.
  intros A l1 l2. induction l1 as [|a l1 IH]; intros H; [constructor|].
  inversion H as [|? ? Hn Hd]; subst. constructor; [|exact (IH Hd)].
  intros Hin. apply Hn. apply in_or_app. left. exact Hin.
Qed.

Lemma NoDup_app_r : forall {A} (l1 l2 : list A), NoDup (l1 ++ l2) -> NoDup l2.
Proof.
  intros A l1 l2. induction l1 as [|a l1 IH]; intros H; [exact H|].
  inversion H as [|? ? Hn Hd]; subst. exact (IH Hd).
Qed.

Lemma NoDup_app_disj : forall {A} (l1 l2 : list A) x, NoDup (l1 ++ l2) -> In x l1 -> ~ In x l2.
Proof.
  intros A l1 l2 x H. induction l1 as [|a l1 IH]; intros Hin; [destruct Hin|].
  inversion H as [|? ? Hn Hd]; subst. destruct Hin as [<-|Hin].
  - intros H2. apply Hn. apply in_or_app. right. exact H2.
  - exact (IH Hd Hin).
Qed.

(** ** freeTables *)

Definition nentries (lvl : Z) : Z := if lvl =? 1 then 1024 else 512.

Lemma entries_ok : forall {S} (s : S) tr lvl, Isolation.entries lvl s tr = Ok (nentries lvl) s tr.
Proof. intros. unfold Isolation.entries, nentries. destruct (lvl =? _); reflexivity. Qed.

Lemma from_snoc : forall f i, 0 <= i -> from f 0 (i + 1) = from f 0 i ++ f i.
Proof.
  intros f i H. rewrite (from_split f i (i + 1)) by lia. rewrite (from_step f i (i + 1)) by lia. rewrite (from_end f (i + 1) (i + 1)) by lia.
  rewrite app_nil_r. reflexivity.
Qed.

Lemma nodup3 : forall (A B C : list Z), NoDup (A ++ B ++ C) ->
  (forall x, In x A -> ~ In x B) /\ (forall x, In x A -> ~ In x C) /\ (forall x, In x B -> ~ In x C) /\ NoDup B.
Proof.
  intros A B C H. pose proof (NoDup_app_r _ _ H) as HBC. split; [|split; [|split]].
  - intros x Ha Hb. exact (NoDup_app_disj _ _ x H Ha (in_or_app _ _ _ (or_introl Hb))).
  - intros x Ha Hc. exact (NoDup_app_disj _ _ x H Ha (in_or_app _ _ _ (or_intror Hc))).
  - intros x Hb. exact (NoDup_app_disj _ _ x HBC Hb).
  - exact (NoDup_app_l _ _ HBC).
Qed.

Lemma nentries_low : forall k, (k <= 1)%nat -> nentries (3 - Z.of_nat k) = 512.
Proof. intros k H. unfold nentries. destruct (Z.eqb_spec (3 - Z.of_nat k) 1); [lia|reflexivity]. Qed.

Lemma nentries_range : forall lvl, 512 <= nentries lvl <= 1024.
Proof. intros lvl. unfold nentries. destruct (lvl =? 1); lia. Qed.

(** What [freeTables depth] at the level of [k] more levels of tables
    does: on a tree whose tables below [t] are distinct and in use, it
    returns, frees exactly those tables, and keeps the tables' contents,
    the pool's shape and a counted pool ([pool_counted], CodePool). *)
Definition frees (k depth : nat) : Prop := forall s tr t,
  tables_ok s -> pool_ok (Isolation.Engine_pool s) ->
  tree_ok (tables s) (pool_base s) k t (nentries (3 - Z.of_nat k)) ->
  NoDup (reach (tables s) (pool_base s) k t (nentries (3 - Z.of_nat k))) ->
  (forall x, In x (reach (tables s) (pool_base s) k t (nentries (3 - Z.of_nat k))) ->
     free_bit (Isolation.Engine_pool s) x = false) ->
  exists q, Isolation.Engine_freeTables depth root t (3 - Z.of_nat k) s tr = Ok tt (Isolation.set_Engine_pool q s) tr /\
    Isolation.tablePool_Pool q = Isolation.tablePool_Pool (Isolation.Engine_pool s) /\
    same_shape (Isolation.Engine_pool s) q /\
    (forall x, In x (reach (tables s) (pool_base s) k t (nentries (3 - Z.of_nat k))) -> free_bit q x = true) /\
    (forall x, 0 <= x -> ~ In x (reach (tables s) (pool_base s) k t (nentries (3 - Z.of_nat k))) ->
       free_bit q x = free_bit (Isolation.Engine_pool s) x) /\
    (pool_counted (Isolation.Engine_pool s) -> pool_counted q).

Lemma freeTables_step : forall k depth', (k <= 2)%nat -> (forall k', k = S k' -> frees k' depth') -> frees k (S depth').
Proof.
  intros k depth' Hk2 Hrec s tr t Ht Hp Htree Hnd Hfree.
  set (T := tables s) in *. set (base := pool_base s) in *.
  set (lvl := 3 - Z.of_nat k) in *. set (nent := nentries lvl) in *.
  rewrite reach_below in *. set (f := below T base k t) in *.
  pose proof (nentries_range lvl) as Hnr. fold nent in Hnr.
  pose proof (tree_ok_range _ _ _ _ _ Htree) as (Ht0 & Htl).
  assert (Hnn : forall x, In x (from f 0 nent) -> 0 <= x).
  { intros x Hx. apply (reach_nonneg _ _ _ _ _ _ Htree). rewrite reach_below. exact Hx. }
  cbn [Isolation.Engine_freeTables]. cbv zeta.
  match goal with |- context [loop max_fuel ?c ?b ?po 0] =>
  destruct (loop_spec max_fuel c b po
    (fun i st tr' => tr' = tr /\ 0 <= i <= nent /\ exists q, st = Isolation.set_Engine_pool q s /\
       Isolation.tablePool_Pool q = Isolation.tablePool_Pool (Isolation.Engine_pool s) /\
       same_shape (Isolation.Engine_pool s) q /\
       (forall x, In x (from f i nent) -> free_bit q x = false) /\
       (forall x, In x (from f 0 i) -> free_bit q x = true) /\
       (forall x, 0 <= x -> ~ In x (from f 0 i) -> free_bit q x = free_bit (Isolation.Engine_pool s) x) /\
       (pool_counted (Isolation.Engine_pool s) -> pool_counted q))
    (fun j st tr' => tr' = tr /\ exists q, st = Isolation.set_Engine_pool q s /\
       Isolation.tablePool_Pool q = Isolation.tablePool_Pool (Isolation.Engine_pool s) /\
       same_shape (Isolation.Engine_pool s) q /\
       (forall x, In x (from f 0 nent) -> free_bit q x = true) /\
       (forall x, 0 <= x -> ~ In x (from f 0 nent) -> free_bit q x = free_bit (Isolation.Engine_pool s) x) /\
       (pool_counted (Isolation.Engine_pool s) -> pool_counted q))
    (fun i => Z.to_nat (nent - i))) with (l := 0) (s := s) (tr := tr) as (j & s' & tr' & Hj & -> & Hq) end.
  - (* the condition *)
    intros i st tr' (-> & Hi & q & -> & HP & Hsh & Hrest & Hdone & Hother & Hcnt).
    exists (i <? nent). split; [step_by (entries_ok (Isolation.set_Engine_pool q s) tr lvl); reflexivity|]. split.
    + intros H. apply Z.ltb_lt in H. lia.
    + intros H. apply Z.ltb_ge in H. split; [reflexivity|]. exists q.
      replace i with nent in * by lia. split; [reflexivity|]. split; [exact HP|]. split; [exact Hsh|]. split; [exact Hdone|]. split; [exact Hother|exact Hcnt].
  - (* one entry *)
    intros i st tr' (-> & Hi & q & -> & HP & Hsh & Hrest & Hdone & Hother & Hcnt) Hc.
    revert Hc. step_by (entries_ok (Isolation.set_Engine_pool q s) tr lvl). intros Hc.
    injection Hc as Hc. apply Z.ltb_lt in Hc.
    set (st := Isolation.set_Engine_pool q s).
    assert (Htst : tables_ok st) by (apply tables_ok_set_pool; assumption).
    assert (HT : tables st = T) by (apply tables_set_pool; exact HP).
    assert (Hb : pool_base st = base) by (apply base_set_pool; exact HP).
    pose proof (slot_ok st tr t i Htst Ht0 ltac:(lia)
      ltac:(rewrite HT; apply Z.le_lt_trans with (t + (nent - 1) / 512); [apply Z.add_le_mono_l, Z.div_le_mono; lia|exact Htl]))
      as (p & Hslot & Hgp).
    rewrite HT in Hgp.
    step_by Hslot. step_by (deref_good _ _ _ tr Hgp). unfold Isolation.isTable. step.
    rewrite (from_step f i nent) in Hrest by lia.
    assert (Hsplit : from f 0 nent = from f 0 i ++ f i ++ from f (i + 1) nent).
    { rewrite (from_split f i nent) by lia. rewrite (from_step f i nent) by lia. reflexivity. }
    rewrite Hsplit in Hnd, Hnn. pose proof (nodup3 _ _ _ Hnd) as (Dab & Dac & Dbc & NDb).
    (* An entry that is not a table: nothing to free. *)
    Local Ltac skip_entry q HP Hsh Hrest Hdone Hother Hcnt Hf :=
      eexists _, _, _; split; [reflexivity|]; eexists; split; [reflexivity|];
      rewrite wraps_small by lia; split; [|apply Z2Nat.inj_lt; lia];
      split; [reflexivity|]; split; [lia|]; exists q; split; [reflexivity|]; split; [exact HP|];
      split; [exact Hsh|]; rewrite from_snoc, Hf, app_nil_r by lia; rewrite Hf in Hrest;
      split; [exact Hrest|]; split; [exact Hdone|]; split; [exact Hother|exact Hcnt].
    destruct k as [|k'].
    { cbn [Z.of_nat] in lvl. replace (lvl <? Isolation.lastLevel) with false by reflexivity. cbn [andb].
      assert (Hf : f i = []) by reflexivity. skip_entry q HP Hsh Hrest Hdone Hother Hcnt Hf. }
    assert (Hlvl : lvl <? Isolation.lastLevel = true) by (unfold lvl, Isolation.lastLevel; apply Z.ltb_lt; lia).
    rewrite Hlvl. cbn [andb].
    destruct (Z.eqb_spec (Z.land (ent T t i) 3) 3) as [E3|E3].
    2:{ assert (Hf : f i = []) by (unfold f, below; destruct (Z.eqb_spec (Z.land (ent T t i) 3) 3); [contradiction|reflexivity]).
        skip_entry q HP Hsh Hrest Hdone Hother Hcnt Hf. }
    set (d := ent T t i) in *. set (c := child base d) in *.
    destruct Htree as (_ & _ & Hch). pose proof (Hch i ltac:(lia) E3) as (Hle & Hclt & Hct). fold d in Hle, Hclt, Hct. fold c in Hclt, Hct.
    set (R := reach T base k' c 512) in *.
    assert (Hfi : f i = R ++ [c]) by (unfold f, below; fold d; rewrite (proj2 (Z.eqb_eq _ _) E3); reflexivity).
    rewrite Hfi in Hrest, Dab, Dbc, NDb, Hnn.
    assert (Hc0 : 0 <= c) by (unfold c, child; apply Z.div_pos; lia).
    step_by (pfield_pool_root st tr). step.
    fold pool_place.
    step_by (index_ok st tr d Htst ltac:(rewrite Hb; exact Hle) ltac:(rewrite Hb, HT; exact Hclt)). rewrite Hb.
    fold c.
    replace (wraps 64 (lvl + 1)) with (3 - Z.of_nat k') by (unfold lvl; rewrite wraps_small by lia; lia).
    assert (Hk' : nentries (3 - Z.of_nat k') = 512) by (apply nentries_low; lia).
    pose proof (Hrec k' eq_refl st tr c Htst ltac:(unfold st; rewrite get_set_pool; eapply same_shape_ok; eassumption)
      ltac:(rewrite HT, Hb, Hk'; exact Hct)
      ltac:(rewrite HT, Hb, Hk'; exact (NoDup_app_l _ _ NDb))
      ltac:(rewrite HT, Hb, Hk'; intros x Hx; unfold st; rewrite get_set_pool; apply Hrest;
            apply in_or_app; left; apply in_or_app; left; exact Hx))
      as (q1 & Hq1 & HP1 & Hsh1 & Hin1 & Hout1 & Hcnt1).
    rewrite HT, Hb, Hk' in Hin1, Hout1. fold R in Hin1, Hout1. unfold st in *. rewrite get_set_pool in *.
    rewrite set_pool_twice in Hq1.
    step_by Hq1. step_by (pfield_pool_root (Isolation.set_Engine_pool q1 s) tr). fold pool_place.
    assert (HcR : ~ In c R).
    { intros H. apply NoDup_app_r with (l1 := []) in NDb. clear -NDb H.
      apply (NoDup_app_disj R [c] c NDb H). left. reflexivity. }
    assert (Hcfree : free_bit q1 c = false).
    { rewrite (Hout1 c Hc0 HcR). apply Hrest. apply in_or_app. left. apply in_or_app. right. left. reflexivity. }
    assert (Hok1 : pool_ok q1) by (eapply same_shape_ok; [eapply same_shape_ok; eassumption|exact Hsh1]).
    assert (Hcn : 0 <= c < ntables q1).
    { unfold ntables. rewrite HP1, HP. split; [exact Hc0|]. unfold tables in Hclt. unfold st in Hclt. cbn in Hclt.
      exact Hclt. }
    pose proof (release_exact pool_place (Isolation.set_Engine_pool q1 s) c tr pool_place_lens
      ltac:(rewrite get_set_pool; exact Hok1) ltac:(rewrite get_set_pool; exact Hcn) ltac:(rewrite get_set_pool; exact Hcfree))
      as Hrel.
    pose proof (release_pool_spec q1 c Hok1 Hcn) as (Hsh2 & HP2 & _ & Hc2 & Hout2).
    pose proof (fun H => release_pool_counted q1 c Hok1 (Hcnt1 (Hcnt H)) Hcn Hcfree) as Hcnt2.
    set (q2 := release_pool q1 c) in *.
    rewrite get_set_pool, set_pool_twice in *.
    step_by Hrel.
    eexists _, _, _. split; [reflexivity|]. eexists. split; [reflexivity|].
    rewrite wraps_small by lia. split; [|apply Z2Nat.inj_lt; lia].
    split; [reflexivity|]. split; [lia|]. exists q2. split; [reflexivity|].
    split; [congruence|]. split; [eapply same_shape_trans; [eapply same_shape_trans; eassumption|exact Hsh2]|].
    rewrite from_snoc, Hfi by lia.
    assert (HcB : In c (R ++ [c])) by (apply in_or_app; right; left; reflexivity).
    assert (HRB : forall x, In x R -> In x (R ++ [c])) by (intros x H; apply in_or_app; left; exact H).
    split; [|split; [|split; [|exact Hcnt2]]].
    + intros x Hx.
      assert (Hxc : x <> c) by (intros ->; exact (Dbc c HcB Hx)).
      assert (HxR : ~ In x R) by (intros H; exact (Dbc x (HRB x H) Hx)).
      assert (Hx0 : 0 <= x) by (apply Hnn; apply in_or_app; right; apply in_or_app; right; exact Hx).
      rewrite (Hout2 x Hx0 Hxc), (Hout1 x Hx0 HxR). apply Hrest. apply in_or_app. right. exact Hx.
    + intros x Hx. apply in_app_or in Hx as [Hx|Hx].
      * assert (Hxc : x <> c) by (intros ->; exact (Dab c Hx HcB)).
        assert (HxR : ~ In x R) by (intros H; exact (Dab x Hx (HRB x H))).
        assert (Hx0 : 0 <= x) by (apply Hnn; apply in_or_app; left; exact Hx).
        rewrite (Hout2 x Hx0 Hxc), (Hout1 x Hx0 HxR). exact (Hdone x Hx).
      * apply in_app_or in Hx as [Hx|[<-|[]]]; [|exact Hc2].
        assert (Hxc : x <> c) by (intros ->; exact (HcR Hx)).
        assert (Hx0 : 0 <= x) by (apply Hnn; apply in_or_app; right; apply in_or_app; left; exact (HRB x Hx)).
        rewrite (Hout2 x Hx0 Hxc). exact (Hin1 x Hx).
    + intros x Hx0 Hx.
      assert (Hxc : x <> c) by (intros ->; apply Hx; apply in_or_app; right; apply in_or_app; right; left; reflexivity).
      assert (HxR : ~ In x R) by (intros H; apply Hx; apply in_or_app; right; apply in_or_app; left; exact H).
      rewrite (Hout2 x Hx0 Hxc), (Hout1 x Hx0 HxR). apply Hother; [exact Hx0|].
      intros H; apply Hx; apply in_or_app; left; exact H.
  - split; [reflexivity|]. split; [lia|]. exists (Isolation.Engine_pool s).
    rewrite set_pool_same. split; [reflexivity|]. split; [reflexivity|]. split; [split; reflexivity|].
    rewrite (from_end f 0 0) by lia. split; [exact Hfree|].
    split; [intros x []|]. split; [intros; reflexivity|exact (fun H => H)].
  - rewrite max_fuel_nat. unfold max_fuel. lia.
  - step_by Hj. destruct j as [i|[]]. destruct Hq as (q & -> & HP & Hsh & Hin & Hout & Hc).
    exists q. split; [reflexivity|]. split; [exact HP|]. split; [exact Hsh|]. split; [exact Hin|]. split; assumption.
Qed.

(** freeTables never fails on a tree whose tables below its root are
    distinct and in use: called with depth [depth] at the level of [k] more
    levels of tables (the root's, [k] = 2, from [freeStage2]), it frees
    exactly those tables and keeps the tables' contents and the pool's
    shape. *)
Theorem freeTables_ok : forall k depth, (k < depth)%nat -> (k <= 2)%nat -> frees k depth.
Proof.
  induction k as [|k IH]; intros [|depth'] Hd Hk; try lia; apply freeTables_step; try lia.
  (* At the last level there is no recursion (lia refutes 0 = S k'). *)
  intros k' E. injection E as <-. apply IH; lia.
Qed.

(** ** freeStage2 *)

(** The tables of a stage-2 with root [r]: the two root tables and those
    below them, distinct and all in use, on a tree of tables of the pool. *)
Definition s2_tables (e : Isolation.Engine) (r : Z) : list Z :=
  r :: (r + 1) :: reach (tables e) (pool_base e) 2 r 1024.

Definition owns_tables (e : Isolation.Engine) (r : Z) : Prop :=
  tree_ok (tables e) (pool_base e) 2 r 1024 /\ NoDup (s2_tables e r) /\
  forall x, In x (s2_tables e r) -> free_bit (Isolation.Engine_pool e) x = false.

(** freeStage2 never fails: on an engine with its platform and a pool of
    whole tables, for a stage-2 [s] (a place that selecting the pool does
    not disturb, as a VM slot's) that is absent or owns its tables, it
    returns; an absent one is left as it was, and one with a root has
    every table of it freed, nothing else of the pool changed, its root
    set to -1, the platform's InvalidateVMID recorded, and a counted
    pool ([pool_counted]: a sound bitmap and [nfree] its count of free
    tables) left counted. *)
Theorem freeStage2_no_failure : forall e tr s valid get set,
  lens s valid get set -> valid e ->
  (forall q st, valid st -> valid (Isolation.set_Engine_pool q st)) ->
  (forall q st, get (Isolation.set_Engine_pool q st) = get st) ->
  tables_ok e -> pool_ok (Isolation.Engine_pool e) -> Isolation.Engine_plat e <> None ->
  (Isolation.stage2_root (get e) < 0 \/ owns_tables e (Isolation.stage2_root (get e))) ->
  exists e' tr', Isolation.Engine_freeStage2 root s e tr = Ok tt e' tr' /\
    (Isolation.stage2_root (get e) < 0 -> e' = e /\ tr' = tr) /\
    (0 <= Isolation.stage2_root (get e) -> exists q,
       e' = set (Isolation.set_stage2_root (-1) (get e)) (Isolation.set_Engine_pool q e) /\
       tr' = mkEvent "InvalidateVMID" [Isolation.stage2_vmid (get e)] :: tr /\
       Isolation.tablePool_Pool q = Isolation.tablePool_Pool (Isolation.Engine_pool e) /\
       same_shape (Isolation.Engine_pool e) q /\
       (forall x, In x (s2_tables e (Isolation.stage2_root (get e))) -> free_bit q x = true) /\
       (forall x, 0 <= x -> ~ In x (s2_tables e (Isolation.stage2_root (get e))) ->
          free_bit q x = free_bit (Isolation.Engine_pool e) x) /\
       (pool_counted (Isolation.Engine_pool e) -> pool_counted q)).
Proof.
  intros e tr s valid get set Hs Hv Hvp Hgp Ht Hp Hplat Hown.
  set (r := Isolation.stage2_root (get e)) in *.
  unfold Isolation.Engine_freeStage2. step_by (deref_lens _ _ _ _ e tr Hs Hv). fold r.
  destruct (Z.ltb_spec r 0) as [Hr|Hr].
  { eexists _, _. split; [reflexivity|]. split; [intros _; split; reflexivity|intros; lia]. }
  destruct Hown as [Hneg|(Htree & Hnd & Hfree)]; [lia|].
  destruct (Isolation.Engine_plat e) as [o|] eqn:Epl; [|contradiction].
  step_by (deref_root e tr). step_by (deref_lens _ _ _ _ e tr Hs Hv).
  rewrite Epl. unfold call_iface. cbn [is_set]. step.
  set (tr1 := mkEvent "InvalidateVMID" [Isolation.stage2_vmid (get e)] :: tr).
  step_by (deref_lens _ _ _ _ e tr1 Hs Hv). fold r.
  unfold s2_tables in Hnd, Hfree. fold r in Hnd, Hfree.
  inversion Hnd as [|? ? Hr0 Hnd1]; subst. inversion Hnd1 as [|? ? Hr1 Hnd2]; subst.
  assert (Hr0' : ~ In r (reach (tables e) (pool_base e) 2 r 1024)) by (intros H; apply Hr0; right; exact H).
  pose proof (tree_ok_range _ _ _ _ _ Htree) as (_ & Hrl). change ((1024 - 1) / 512) with 1 in Hrl.
  replace Isolation.S2StartLevel with (3 - Z.of_nat 2) by reflexivity.
  pose proof (freeTables_ok 2 rec_fuel ltac:(unfold rec_fuel; lia) ltac:(lia) e tr1 r Ht Hp Htree Hnd2
    ltac:(intros x Hx; apply Hfree; right; right; exact Hx)) as (q1 & Hq1 & HP1 & Hsh1 & Hin1 & Hout1 & Hcnt1).
  step_by Hq1.
  set (e1 := Isolation.set_Engine_pool q1 e).
  assert (Hv1 : valid e1) by (apply Hvp; exact Hv).
  assert (Hg1 : get e1 = get e) by apply Hgp.
  step_by (pfield_pool_root e1 tr1). fold pool_place.
  step_by (deref_lens _ _ _ _ e1 tr1 Hs Hv1). rewrite Hg1. fold r.
  assert (Hok1 : pool_ok q1) by (eapply same_shape_ok; eassumption).
  assert (Hn1 : ntables q1 = len (tables e)) by (unfold ntables, tables; rewrite HP1; reflexivity).
  assert (Hb1 : free_bit q1 r = false) by (rewrite (Hout1 r ltac:(lia) Hr0'); apply Hfree; left; reflexivity).
  assert (Hrn1 : 0 <= r < ntables q1) by (rewrite Hn1; lia).
  pose proof (release_exact pool_place e1 r tr1 pool_place_lens ltac:(unfold e1; rewrite get_set_pool; exact Hok1)
    ltac:(unfold e1; rewrite get_set_pool; exact Hrn1) ltac:(unfold e1; rewrite get_set_pool; exact Hb1)) as Hrel2.
  pose proof (release_pool_spec q1 r Hok1 Hrn1) as (Hsh2 & HP2 & _ & Hb2 & Hout2).
  pose proof (fun H => release_pool_counted q1 r Hok1 (Hcnt1 H) Hrn1 Hb1) as Hcnt2.
  set (q2 := release_pool q1 r) in *.
  unfold e1 in Hrel2. rewrite get_set_pool, set_pool_twice in *.
  step_by Hrel2.
  set (e2 := Isolation.set_Engine_pool q2 e).
  assert (Hv2 : valid e2) by (apply Hvp; exact Hv).
  assert (Hg2 : get e2 = get e) by apply Hgp.
  step_by (pfield_pool_root e2 tr1). fold pool_place.
  step_by (deref_lens _ _ _ _ e2 tr1 Hs Hv2). rewrite Hg2. fold r.
  rewrite wraps_small by (unfold tables_ok in Ht; lia).
  assert (Hr1' : ~ In (r + 1) (reach (tables e) (pool_base e) 2 r 1024)) by exact Hr1.
  assert (Hok2 : pool_ok q2) by (eapply same_shape_ok; eassumption).
  assert (Hrn2 : 0 <= r + 1 < ntables q2) by (unfold ntables, tables in *; rewrite HP2, HP1; lia).
  assert (Hb2' : free_bit q2 (r + 1) = false)
    by (rewrite (Hout2 (r + 1) ltac:(lia) ltac:(lia)), (Hout1 (r + 1) ltac:(lia) Hr1'); apply Hfree; right; left; reflexivity).
  pose proof (release_exact pool_place e2 (r + 1) tr1 pool_place_lens ltac:(unfold e2; rewrite get_set_pool; exact Hok2)
    ltac:(unfold e2; rewrite get_set_pool; exact Hrn2) ltac:(unfold e2; rewrite get_set_pool; exact Hb2')) as Hrel3.
  pose proof (release_pool_spec q2 (r + 1) Hok2 Hrn2) as (Hsh3 & HP3 & _ & Hb3 & Hout3).
  pose proof (fun H => release_pool_counted q2 (r + 1) Hok2 (Hcnt2 H) Hrn2 Hb2') as Hcnt3.
  set (q3 := release_pool q2 (r + 1)) in *.
  unfold e2 in Hrel3. rewrite get_set_pool, set_pool_twice in *.
  step_by Hrel3.
  set (e3 := Isolation.set_Engine_pool q3 e).
  assert (Hv3 : valid e3) by (apply Hvp; exact Hv).
  assert (Hg3 : get e3 = get e) by apply Hgp.
  pose proof (pfield_lens s _ _ _ Isolation.stage2_root Isolation.set_stage2_root Hs ltac:(field_laws)) as (qr & Hqr & Lr).
  step_by (Hqr e3 tr1). step_by (store_lens _ _ _ _ e3 (-1) tr1 Lr Hv3).
  eexists _, _. split; [reflexivity|]. split; [intros; lia|]. intros _. exists q3.
  rewrite Hg3. split; [reflexivity|]. split; [reflexivity|]. split; [congruence|].
  split; [eapply same_shape_trans; [eapply same_shape_trans; eassumption|exact Hsh3]|].
  unfold s2_tables. fold r. split; [|split; [|exact Hcnt3]].
  - intros x [<-|[<-|Hx]].
    + rewrite (Hout3 r ltac:(lia) ltac:(lia)). exact Hb2.
    + exact Hb3.
    + assert (x <> r) by (intros ->; contradiction). assert (x <> r + 1) by (intros ->; contradiction).
      assert (0 <= x) by exact (reach_nonneg _ _ _ _ _ _ Htree Hx).
      rewrite (Hout3 x ltac:(lia) ltac:(assumption)), (Hout2 x ltac:(lia) ltac:(assumption)). exact (Hin1 x Hx).
  - intros x Hx0 Hx.
    assert (x <> r) by (intros ->; apply Hx; left; reflexivity).
    assert (x <> r + 1) by (intros ->; apply Hx; right; left; reflexivity).
    rewrite (Hout3 x Hx0 ltac:(assumption)), (Hout2 x Hx0 ltac:(assumption)).
    apply Hout1; [exact Hx0|]. intros Hy; apply Hx; right; right; exact Hy.
Qed.
