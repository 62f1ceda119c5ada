(** * A stage-2 that owns its tables has the root's invariant

    Lemmas about proofs/code/Isolation.v, the translation of
    isolation/stage2.go, that tie two invariants of a stage-2 together:
    [owns_tables] (CodeFree: a tree of tables of the pool, its root's two
    tables and every table it reaches distinct and in use), which
    VM_CREATE keeps (CodeVMCreateInv) and freeStage2 needs, and [l1_inv]
    (CodeUpdateRange: what the stage-2 update at the root needs of the
    root and the level-2 tables its entries hold).
    Proved here:
    - in the list [from f 0 n] with no duplicate, an element of [f i] is
      in no other [f i'] ([from_nodup_unique]), and each [f i] has no
      duplicate ([from_nodup_part]);
    - the tables a root entry holding a table reaches are the level-3
      tables of that table, then the table ([below_root_table]); those of
      a level-2 entry, its table ([below_l2_table]);
    - so, with a sound pool ([pool_inv]), a stage-2 that owns its tables
      has [l1_inv] at its root ([owns_l1_inv]), and [root_inv]
      (CodeUpdateRootRange) too: the subtrees of its root entries are in
      the list of its tables ([sub_below], [in_tree_s2_tables]), which has
      no duplicate ([owns_root_inv]); stage-2s with disjoint lists of
      tables ([tables_disjoint]) have disjoint trees
      ([disjoint_host_apart]);
    - so MEM_SHARE and MEM_DONATE never fail from [mem_ok] and [s2_owned]:
      a sound pool placed as [tablePool.init] checks, the host and every
      live VM owning their tables, as VM_CREATE keeps, with disjoint
      lists of tables ([MemShare_no_failure_owned],
      [MemDonate_no_failure_owned]);
    - conversely [root_inv] gives [owns_tables] ([root_inv_owns]), and a
      tree after an update that keeps [tree_frame] holds only tables it
      held or that were free ([tree_grows], [tree_list_grows]), and a
      tree apart from the one updated keeps [root_inv] and its list
      ([tree_apart_kept]); so every outcome of MEM_SHARE and of MEM_DONATE
      keeps [s2_owned]: the stage-2s they update gain only free tables
      (MEM_DONATE's VM possibly one the host's unmap freed), and every
      other stage-2, apart from them, is kept ([MemShare_keeps_owned],
      [MemDonate_keeps_owned]); so does any update of the host's stage-2
      that changes only the ledger and the pool and keeps the tables
      outside the host's tree ([host_update_keeps_owned]), MEM_RECLAIM's
      among them, which never fails from the same invariant
      ([MemReclaim_no_failure_owned], [MemReclaim_keeps_owned]);
    - with [mem_ok] and [dead_no_root] (a slot not live has no stage-2
      root), the invariant [mem_inv] the three calls need is kept by
      every outcome of each ([mem_inv_after], [MemShare_keeps_mem_inv],
      [MemDonate_keeps_mem_inv], [MemReclaim_keeps_mem_inv]). *)
From Coq Require Import ZArith Lia List Bool.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodeStage2 CodePool CodeFree CodeVMCreateRefine CodeUpdate CodeUpdateL2
  CodeUpdateRoot CodeUpdateRange CodeUpdateRootRange CodeVMCreateInv CodeLedger CodeTransfer CodeMemNoFailure.
Import ListNotations.
Open Scope Z_scope.

(** ** Lists of the tables below *)

Lemma from_in_at : forall f lo i n x, 0 <= lo <= i -> i < n -> In x (f i) -> In x (from f lo n).
Proof.
  intros f lo i n x Hlo Hn Hx. unfold from. apply in_flat_map. exists i. split; [|exact Hx].
  apply in_map_iff. exists (Z.to_nat i). split; [lia|]. apply in_seq. lia.
Qed.

Lemma from_nodup_before : forall f n i i' x, NoDup (from f 0 n) -> 0 <= i < i' -> i' < n ->
  In x (f i) -> In x (f i') -> False.
Proof.
  intros f n i i' x Hnd Hi Hi' Hx Hx'.
  rewrite (from_split f (i + 1) n) in Hnd by lia.
  apply (NoDup_app_disj _ _ x Hnd).
  - apply (from_in f i (i + 1)); [lia|exact Hx].
  - apply (from_in_at f (i + 1) i' n); [lia|lia|exact Hx'].
Qed.

(** No element is in two parts of a list with no duplicate. *)
Lemma from_nodup_unique : forall f n i i' x, NoDup (from f 0 n) -> 0 <= i < n -> 0 <= i' < n ->
  In x (f i) -> In x (f i') -> i = i'.
Proof.
  intros f n i i' x Hnd Hi Hi' Hx Hx'.
  destruct (Z.lt_trichotomy i i') as [Hlt|[E|Hgt]]; [exfalso|exact E|exfalso].
  - exact (from_nodup_before f n i i' x Hnd ltac:(lia) ltac:(lia) Hx Hx').
  - exact (from_nodup_before f n i' i x Hnd ltac:(lia) ltac:(lia) Hx' Hx).
Qed.

Lemma from_nodup_part : forall f n i, NoDup (from f 0 n) -> 0 <= i < n -> NoDup (f i).
Proof.
  intros f n i Hnd Hi. rewrite (from_split f i n), (from_step f i n) in Hnd by lia.
  exact (NoDup_app_l _ _ (NoDup_app_r _ _ Hnd)).
Qed.

Lemma below_root_table : forall T base r i, Z.land (ent T r i) 3 = 3 ->
  below T base 2 r i = reach T base 1 (child base (ent T r i)) 512 ++ [child base (ent T r i)].
Proof. intros T base r i H. unfold below. rewrite H. reflexivity. Qed.

Lemma below_l2_table : forall T base c j, Z.land (ent T c j) 3 = 3 ->
  below T base 1 c j = [child base (ent T c j)].
Proof. intros T base c j H. unfold below. rewrite H. reflexivity. Qed.

(** ** From [owns_tables] to [l1_inv] *)

(** A level-2 table [c] a root entry holds, in a stage-2 that owns its
    tables, has [l2_inv]: its level-3 tables are tables of the pool in
    use, other than [c] and than each other, because the list of the
    stage-2's tables has no duplicate. *)
Lemma owns_l2_inv : forall e r i, pool_inv e -> owns_tables e r -> 0 <= i < 1024 ->
  Z.land (ent (tables e) r i) 3 = 3 -> l2_inv e (child (pool_base e) (ent (tables e) r i)).
Proof.
  intros e r i Hp (Htree & Hnd & Hused) Hi H3.
  pose proof Hp as (Hok & Hpok & Hbits & Hcok & Hpl).
  pose proof Htree as (_ & _ & Hch). pose proof (Hch i Hi H3) as (Hle & Hlt & Hsub).
  set (c := child (pool_base e) (ent (tables e) r i)) in *.
  set (K := reach (tables e) (pool_base e) 1 c 512).
  unfold s2_tables in Hnd, Hused. apply NoDup_cons_iff in Hnd as [_ Hnd]. apply NoDup_cons_iff in Hnd as [_ Hnd].
  rewrite reach_below in Hnd, Hused.
  assert (Hbi : below (tables e) (pool_base e) 2 r i = K ++ [c]) by (apply below_root_table; exact H3).
  assert (Hin : forall x, In x (K ++ [c]) -> free_bit (Isolation.Engine_pool e) x = false).
  { intros x Hx. apply Hused. right. right. apply (from_in _ i 1024); [exact Hi|]. rewrite Hbi. exact Hx. }
  pose proof (from_nodup_part _ 1024 i Hnd Hi) as Hndi. rewrite Hbi in Hndi.
  pose proof (NoDup_app_l _ _ Hndi) as HndK. unfold K in HndK. rewrite reach_below in HndK.
  pose proof Hsub as (_ & _ & Hch2).
  assert (HinK : forall j, 0 <= j < 512 -> Z.land (ent (tables e) c j) 3 = 3 -> In (child (pool_base e) (ent (tables e) c j)) K).
  { intros j Hj Hj3. unfold K. rewrite reach_below. apply (from_in _ j 512); [exact Hj|].
    rewrite below_l2_table by exact Hj3. left. reflexivity. }
  unfold l2_inv. split; [exact Hok|]. split; [exact Hpok|]. split; [exact Hbits|]. split; [exact Hcok|].
  split; [exact Hpl|]. split; [split; [apply child_nonneg; exact Hle|exact Hlt]|].
  split; [apply Hin; apply in_or_app; right; left; reflexivity|]. split.
  - intros j Hj Hj3. rewrite <- ent_tent in Hj3 by exact Hj. unfold l2_table_entry. rewrite <- !ent_tent by exact Hj.
    pose proof (Hch2 j Hj Hj3) as (Hle' & Hlt' & _).
    split; [exact Hj3|]. split; [exact Hle'|]. split; [exact Hlt'|]. split.
    + intros E. apply (NoDup_app_disj _ _ c Hndi); [rewrite <- E at 1; exact (HinK j Hj Hj3)|left; reflexivity].
    + apply Hin. apply in_or_app. left. exact (HinK j Hj Hj3).
  - intros j j' Hj Hj' Hne Hj3 Hj3' E.
    rewrite <- (ent_tent _ _ j) in Hj3, E by exact Hj. rewrite <- (ent_tent _ _ j') in Hj3', E by exact Hj'.
    apply Hne. apply (from_nodup_unique _ 512 j j' (child (pool_base e) (ent (tables e) c j)) HndK Hj Hj').
    + rewrite below_l2_table by exact Hj3. left. reflexivity.
    + rewrite below_l2_table by exact Hj3'. left. symmetry. exact E.
Qed.

(** A stage-2 that owns its tables, with a sound pool, has [l1_inv] at
    its root. *)
Theorem owns_l1_inv : forall e r, pool_inv e -> owns_tables e r -> l1_inv e r.
Proof.
  intros e r Hp Hown. pose proof Hown as (Htree & Hnd & Hused).
  pose proof Htree as (Hr0 & Hrl & Hch). change ((1024 - 1) / 512) with 1 in Hrl.
  unfold s2_tables in Hnd, Hused.
  apply NoDup_cons_iff in Hnd as [Hr Hnd]. apply NoDup_cons_iff in Hnd as [Hr1 Hnd].
  rewrite reach_below in Hnd, Hr, Hr1.
  assert (Hc : forall i, 0 <= i < 1024 -> Z.land (ent (tables e) r i) 3 = 3 ->
    In (child (pool_base e) (ent (tables e) r i)) (below (tables e) (pool_base e) 2 r i)).
  { intros i Hi H3. rewrite below_root_table by exact H3. apply in_or_app. right. left. reflexivity. }
  unfold l1_inv. split; [exact Hp|]. split; [exact Hr0|]. split; [lia|].
  split; [apply Hused; left; reflexivity|]. split; [apply Hused; right; left; reflexivity|]. split.
  - intros i Hi H3. pose proof (Hch i Hi H3) as (Hle & Hlt & _).
    split; [exact Hle|]. split; [exact Hlt|]. split; [exact (owns_l2_inv e r i Hp Hown Hi H3)|].
    pose proof (from_in _ i 1024 _ Hi (Hc i Hi H3)) as Hin.
    split; intros E; rewrite E in Hin; [apply Hr; right|apply Hr1]; exact Hin.
  - intros i i' Hi Hi' Hne H3 H3' E. apply Hne.
    apply (from_nodup_unique _ 1024 i i' (child (pool_base e) (ent (tables e) r i)) Hnd Hi Hi' (Hc i Hi H3)).
    rewrite E. exact (Hc i' Hi' H3').
Qed.

(** ** From [owns_tables] to [root_inv] *)

(** A table of the tree of root [r] ([in_tree], CodeUpdateRootRange) is
    in the list of the stage-2's tables. *)
Lemma sub_below : forall e r i y, 0 <= i < 1024 -> sub e r i y -> In y (below (tables e) (pool_base e) 2 r i).
Proof.
  intros e r i y Hi (H3 & Hy). rewrite below_root_table by exact H3. apply in_or_app.
  destruct Hy as [->|(j & Hj & Hj3 & ->)]; [right; left; reflexivity|left].
  rewrite reach_below. apply (from_in _ j 512); [exact Hj|].
  rewrite below_l2_table by (rewrite (ent_tent _ _ j Hj); exact Hj3).
  rewrite (ent_tent _ _ j Hj). left. reflexivity.
Qed.

Lemma in_tree_s2_tables : forall e r y, in_tree e r y -> In y (s2_tables e r).
Proof.
  intros e r y [->|[->|(i & Hi & Hs)]]; [left; reflexivity|right; left; reflexivity|].
  right. right. rewrite reach_below. exact (from_in _ i 1024 _ Hi (sub_below e r i y Hi Hs)).
Qed.

(** With a sound pool, a stage-2 that owns its tables has [root_inv]: the
    subtrees of its root entries are parts of a list with no duplicate. *)
Theorem owns_root_inv : forall e r, pool_inv e -> owns_tables e r -> root_inv e r.
Proof.
  intros e r Hp Hown. pose proof Hown as (_ & Hnd & _).
  unfold s2_tables in Hnd. apply NoDup_cons_iff in Hnd as [Hr Hnd]. apply NoDup_cons_iff in Hnd as [Hr1 Hnd].
  rewrite reach_below in Hnd, Hr, Hr1.
  split; [exact (owns_l1_inv e r Hp Hown)|split].
  - intros i y Hi Hs. pose proof (from_in _ i 1024 _ Hi (sub_below e r i y Hi Hs)) as Hin.
    split; intros E; subst y; [apply Hr; right|apply Hr1]; exact Hin.
  - intros i i' y Hi Hi' Hne Hs Hs'. apply Hne.
    exact (from_nodup_unique _ 1024 i i' y Hnd Hi Hi' (sub_below e r i y Hi Hs) (sub_below e r i' y Hi' Hs')).
Qed.

(** Stage-2s whose lists of tables are disjoint ([tables_disjoint],
    CodeVMCreateInv) have disjoint trees: the host's and each live VM's
    ([host_apart], CodeMemNoFailure). *)
Theorem disjoint_host_apart : forall e, tables_disjoint e -> host_apart e.
Proof.
  intros e (Hhost & _) i m Hn Hlive y Hy Hh.
  assert (Hi : (i < length (Isolation.Engine_vms e))%nat) by (apply nth_error_Some; congruence).
  assert (Hm : vm_at e i = m) by (unfold vm_at; apply nth_error_nth; exact Hn).
  apply (Hhost i Hi ltac:(rewrite Hm; exact Hlive) y (in_tree_s2_tables e _ y Hh)).
  unfold root_at. rewrite Hm. exact (in_tree_s2_tables e _ y Hy).
Qed.

(** ** The memory calls from the invariant VM_CREATE keeps *)

(** The stage-2 part of the engine's invariant: a sound pool placed as
    [tablePool.init] checks, the host and every live VM owning their
    tables ([owns_tables], [vms_own]: what VM_CREATE keeps,
    CodeVMCreateInv.VMCreate_keeps), their lists of tables disjoint. *)
Definition s2_owned (e : Isolation.Engine) : Prop :=
  pool_inv e /\ pool_placed e /\ owns_tables e (Isolation.stage2_root (Isolation.Engine_host e)) /\
  vms_own e /\ tables_disjoint e.

Lemma s2_owned_roots : forall e, s2_owned e -> vms_root_inv e.
Proof.
  intros e (Hp & _ & _ & Hv & _) i m Hn Hl. apply owns_root_inv; [exact Hp|].
  apply Hv; [eapply nth_error_In; exact Hn|exact Hl].
Qed.

(** MEM_SHARE never fails from [mem_ok] and [s2_owned]. *)
Corollary MemShare_no_failure_owned : forall e tr id pa ipa n perms,
  mem_ok e -> s2_owned e ->
  0 <= id < 2 ^ 64 -> 0 <= pa < 2 ^ 64 -> 0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 ->
  exists st e' tr', Isolation.Engine_MemShare root id pa ipa n perms e tr = Ok st e' tr'.
Proof.
  intros e tr id pa ipa n perms Hm Ho Hid Hpa Hipa Hn. pose proof Ho as (_ & Hpl & _).
  pose proof (MemShare_no_failure e tr id pa ipa n perms Hm Hpl (s2_owned_roots e Ho) Hid Hpa Hipa Hn)
    as (st & e' & tr' & H & _). exists st, e', tr'. exact H.
Qed.

(** MEM_DONATE never fails from [mem_ok] and [s2_owned], with RAM in the
    IPA space as [Config.validate] checks. *)
Corollary MemDonate_no_failure_owned : forall e tr id pa ipa n perms,
  mem_ok e -> s2_owned e ->
  Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e)) +
    Isolation.Range_Size (Isolation.Config_RAM (Isolation.Engine_cfg e)) <= 2 ^ 40 ->
  0 <= id < 2 ^ 64 -> 0 <= pa < 2 ^ 64 -> 0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 ->
  exists st e' tr', Isolation.Engine_MemDonate root id pa ipa n perms e tr = Ok st e' tr'.
Proof.
  intros e tr id pa ipa n perms Hm Ho Hram Hid Hpa Hipa Hn. pose proof Ho as (Hp & Hpl & Hh & _ & Hd).
  pose proof (MemDonate_no_failure e tr id pa ipa n perms Hm Hpl (s2_owned_roots e Ho) (owns_root_inv e _ Hp Hh)
    (disjoint_host_apart e Hd) Hram Hid Hpa Hipa Hn) as (st & e' & tr' & H & _). exists st, e', tr'. exact H.
Qed.

(** ** From [root_inv] back to [owns_tables] *)

Lemma NoDup_app_disjoint : forall (l1 l2 : list Z), NoDup l1 -> NoDup l2 -> (forall x, In x l1 -> ~ In x l2) ->
  NoDup (l1 ++ l2).
Proof.
  induction l1 as [|a l1 IH]; intros l2 H1 H2 Hd; [exact H2|].
  apply NoDup_cons_iff in H1 as [Ha H1]. cbn. constructor.
  - intros Hin. apply in_app_or in Hin as [Hin|Hin]; [exact (Ha Hin)|exact (Hd a (or_introl eq_refl) Hin)].
  - apply IH; [exact H1|exact H2|]. intros x Hx. apply Hd. right. exact Hx.
Qed.

Lemma nodup_from_nat : forall f (k : nat), (forall i, 0 <= i < Z.of_nat k -> NoDup (f i)) ->
  (forall i i' y, 0 <= i < Z.of_nat k -> 0 <= i' < Z.of_nat k -> i <> i' -> In y (f i) -> In y (f i') -> False) ->
  NoDup (from f 0 (Z.of_nat k)).
Proof.
  intros f k. induction k as [|k IH]; intros Hp Hd.
  - rewrite from_end by lia. constructor.
  - rewrite Nat2Z.inj_succ, <- Z.add_1_r, from_snoc by lia. apply NoDup_app_disjoint.
    + apply IH; intros; [apply Hp; lia|apply (Hd i i' y); first [lia|assumption]].
    + apply Hp. lia.
    + intros x Hx Hx'. apply in_from in Hx as (i & Hi & Hxi); [|lia].
      exact (Hd i (Z.of_nat k) x ltac:(lia) ltac:(lia) ltac:(lia) Hxi Hx').
Qed.

(** A list of parts with no duplicate inside a part and no element in
    two parts has no duplicate. *)
Lemma nodup_from : forall f n, 0 <= n -> (forall i, 0 <= i < n -> NoDup (f i)) ->
  (forall i i' y, 0 <= i < n -> 0 <= i' < n -> i <> i' -> In y (f i) -> In y (f i') -> False) ->
  NoDup (from f 0 n).
Proof.
  intros f n Hn Hp Hd. rewrite <- (Z2Nat.id n Hn). apply nodup_from_nat.
  - intros i Hi. apply Hp. lia.
  - intros i i' y Hi Hi'. apply Hd; lia.
Qed.

Lemma below_sub : forall e r i y, In y (below (tables e) (pool_base e) 2 r i) -> sub e r i y.
Proof.
  intros e r i y Hy. unfold below in Hy.
  destruct (Z.eqb_spec (Z.land (ent (tables e) r i) 3) 3) as [H3|H3]; [|destruct Hy].
  split; [exact H3|]. apply in_app_or in Hy as [Hy|[E|[]]]; [|left; symmetry; exact E].
  right. rewrite reach_below in Hy. apply in_from in Hy as (j & Hj & Hyj); [|lia].
  unfold below in Hyj.
  destruct (Z.eqb_spec (Z.land (ent (tables e) (child (pool_base e) (ent (tables e) r i)) j) 3) 3) as [Hj3|Hj3];
    [|destruct Hyj].
  destruct Hyj as [E|[]]. exists j. rewrite <- (ent_tent _ _ j Hj).
  split; [exact Hj|]. split; [exact Hj3|symmetry; exact E].
Qed.

(** With [root_inv] at its root, a stage-2 owns its tables: the converse
    of [owns_root_inv]. *)
Theorem root_inv_owns : forall e r, root_inv e r -> owns_tables e r.
Proof.
  intros e r Hr. pose proof Hr as (Hl & Hne & Hdis).
  pose proof Hl as (_ & Hr0 & Hrl & Hu0 & Hu1 & Hents & Hdist).
  assert (Hin : forall y, In y (reach (tables e) (pool_base e) 2 r 1024) -> exists i, 0 <= i < 1024 /\ sub e r i y).
  { intros y Hy. rewrite reach_below in Hy. apply in_from in Hy as (i & Hi & Hyi); [|lia].
    exists i. split; [exact Hi|exact (below_sub e r i y Hyi)]. }
  split; [exact (l1_inv_tree e r Hl)|split].
  - unfold s2_tables. constructor; [|constructor].
    + intros [E|Hy]; [lia|]. pose proof (Hin r Hy) as (i & Hi & Hs). exact (proj1 (Hne i r Hi Hs) eq_refl).
    + intros Hy. pose proof (Hin (r + 1) Hy) as (i & Hi & Hs). exact (proj2 (Hne i (r + 1) Hi Hs) eq_refl).
    + rewrite reach_below. apply nodup_from; [lia| |].
      * intros i Hi. unfold below.
        destruct (Z.eqb_spec (Z.land (ent (tables e) r i) 3) 3) as [H3|_]; [|constructor].
        pose proof (Hents i Hi H3) as (_ & _ & Hinv & _). set (c := child (pool_base e) (ent (tables e) r i)) in *.
        pose proof Hinv as (_ & _ & _ & _ & _ & _ & _ & Hcents & Hcdis).
        apply NoDup_app_disjoint; [| constructor; [intros []|constructor] |].
        -- rewrite reach_below. apply nodup_from; [lia| |].
           ++ intros j Hj. unfold below. destruct (_ =? 3); constructor; [intros []|constructor].
           ++ intros j j' y Hj Hj' Hne' Hy Hy'. unfold below in Hy, Hy'.
              destruct (Z.eqb_spec (Z.land (ent (tables e) c j) 3) 3) as [Hj3|]; [|destruct Hy].
              destruct (Z.eqb_spec (Z.land (ent (tables e) c j') 3) 3) as [Hj3'|]; [|destruct Hy'].
              destruct Hy as [E|[]]. destruct Hy' as [E'|[]].
              rewrite (ent_tent _ _ j Hj) in Hj3, E. rewrite (ent_tent _ _ j' Hj') in Hj3', E'.
              exact (Hcdis j j' Hj Hj' Hne' Hj3 Hj3' (eq_trans E (eq_sym E'))).
        -- intros x Hx [E|[]]. subst x. rewrite reach_below in Hx. apply in_from in Hx as (j & Hj & Hxj); [|lia].
           unfold below in Hxj. destruct (Z.eqb_spec (Z.land (ent (tables e) c j) 3) 3) as [Hj3|]; [|destruct Hxj].
           destruct Hxj as [E|[]]. rewrite (ent_tent _ _ j Hj) in Hj3, E.
           pose proof (Hcents j Hj Hj3) as (_ & _ & _ & Hne2 & _). exact (Hne2 E).
      * intros i i' y Hi Hi' Hii Hy Hy'. exact (Hdis i i' y Hi Hi' Hii (below_sub e r i y Hy) (below_sub e r i' y Hy')).
  - intros x Hx. unfold s2_tables in Hx. destruct Hx as [<-|[<-|Hx]]; [exact Hu0|exact Hu1|].
    pose proof (Hin x Hx) as (i & Hi & Hs). exact (proj2 (proj2 (sub_used e r i x Hl Hi Hs))).
Qed.

(** ** MEM_SHARE keeps the stage-2s owned *)

Lemma in_tree_iff : forall e r y, In y (s2_tables e r) <-> in_tree e r y.
Proof.
  intros e r y. split; [|apply in_tree_s2_tables].
  unfold s2_tables. intros [<-|[<-|Hy]]; [left; reflexivity|right; left; reflexivity|].
  rewrite reach_below in Hy. apply in_from in Hy as (i & Hi & Hyi); [|lia].
  right. right. exists i. split; [exact Hi|exact (below_sub e r i y Hyi)].
Qed.

Lemma in_tree_kept : forall e e' r y, tree_kept e e' r -> pool_base e' = pool_base e ->
  in_tree e' r y <-> in_tree e r y.
Proof.
  intros e e' r y Hk HB. unfold in_tree.
  split; intros [E|[E|(i & Hi & Hs)]]; try (left; exact E); try (right; left; exact E);
    right; right; exists i; (split; [exact Hi|]); [apply (proj1 (sub_kept e e' r i y Hi Hk HB))|apply (proj2 (sub_kept e e' r i y Hi Hk HB))];
    exact Hs.
Qed.

Lemma sub_dec : forall e t i y, sub e t i y \/ ~ sub e t i y.
Proof.
  intros e t i y. destruct (subx_dec e (t + i / 512) (i mod 512) y) as [H|H];
    [left; apply sub_subx; exact H|right; intros Hs; apply H; apply sub_subx; exact Hs].
Qed.

Lemma in_tree_dec : forall e t y, in_tree e t y \/ ~ in_tree e t y.
Proof.
  intros e t y.
  destruct (Z.eq_dec y t) as [E|H0]; [left; left; exact E|].
  destruct (Z.eq_dec y (t + 1)) as [E|H1]; [left; right; left; exact E|].
  pose proof (find_entry (fun i => sub e t i y) (fun i => sub_dec e t i y) 1024%nat) as [(i & Hi & Hs)|Hnone].
  - left. right. right. exists i. split; [lia|exact Hs].
  - right. intros [E|[E|(i & Hi & Hs)]]; [contradiction|contradiction|]. exact (Hnone i ltac:(lia) Hs).
Qed.

(** A table of the tree after an update that keeps [tree_frame] was in
    the tree before, or free. *)
Lemma tree_grows : forall e st t y, tree_frame e st t -> 0 <= y -> in_tree st t y ->
  in_tree e t y \/ free_bit (Isolation.Engine_pool e) y = true.
Proof.
  intros e st t y Hf Hy Hin. destruct (free_bit (Isolation.Engine_pool e) y) eqn:Hu; [right; reflexivity|left].
  destruct (in_tree_dec e t y) as [H|H]; [exact H|exfalso].
  pose proof (Hf y Hy Hu H) as (_ & _ & Hn). exact (Hn Hin).
Qed.

Lemma in_tree_nonneg : forall e r y, root_inv e r -> in_tree e r y -> 0 <= y.
Proof.
  intros e r y Hr Hy. pose proof (root_inv_l1 e r Hr) as Hl. pose proof Hl as (_ & Hr0 & _).
  destruct Hy as [->|[->|(i & Hi & Hs)]]; [lia|lia|]. exact (proj1 (sub_used e r i y Hl Hi Hs)).
Qed.

(** Two lists of tables stay disjoint when the second keeps its tables,
    all in use before, and the first gains only tables that were free. *)
Lemma disjoint_after : forall (A B A0 B0 : list Z) (used : Z -> Prop), disjoint A B ->
  (forall y, In y A0 -> In y A \/ ~ used y) -> (forall y, In y B0 -> In y B) -> (forall y, In y B -> used y) ->
  disjoint A0 B0.
Proof.
  intros A B A0 B0 used Hd HA HB Hu y Hy Hy'. pose proof (HA y Hy) as [Hy1|Hn].
  - exact (Hd y Hy1 (HB y Hy')).
  - exact (Hn (Hu y (HB y Hy'))).
Qed.

(** Across an update of the tree of [t] that keeps [tree_frame], a tree
    whose list of tables is disjoint from [t]'s keeps [root_inv] and its
    list. *)
Lemma tree_apart_kept : forall a b t r', tree_frame a b t -> root_inv a r' ->
  disjoint (s2_tables a r') (s2_tables a t) -> pool_inv b -> pool_base b = pool_base a -> len (tables b) = len (tables a) ->
  root_inv b r' /\ forall y, In y (s2_tables b r') <-> In y (s2_tables a r').
Proof.
  intros a b t r' Htf Hr0 Hd' Hp HB HL.
  assert (Hk : tree_kept a b r').
  { apply (tree_kept_of_frame a b t r' Htf Hr0). intros y Hy Hy'.
    exact (Hd' y (proj2 (in_tree_iff a r' y) Hy) (proj2 (in_tree_iff a t y) Hy')). }
  split; [exact (root_inv_frame a b r' Hr0 Hp HB HL Hk)|].
  intros y. rewrite !in_tree_iff. exact (in_tree_kept a b r' y Hk HB).
Qed.

(** The tables the updated tree holds after were in it before, or free. *)
Lemma tree_list_grows : forall a b t, tree_frame a b t -> root_inv b t ->
  forall y, In y (s2_tables b t) -> In y (s2_tables a t) \/ ~ (free_bit (Isolation.Engine_pool a) y = false).
Proof.
  intros a b t Htf Hr y Hy. apply in_tree_iff in Hy.
  pose proof (tree_grows a b t y Htf (in_tree_nonneg b t y Hr Hy) Hy) as [Ht|Hf].
  - left. apply in_tree_iff. exact Ht.
  - right. rewrite Hf. discriminate.
Qed.

Lemma owns_used : forall e r y, owns_tables e r -> In y (s2_tables e r) -> free_bit (Isolation.Engine_pool e) y = false.
Proof. intros e r y (_ & _ & Hu) Hy. exact (Hu y Hy). Qed.

(** An update of the tree of one live VM's stage-2 that keeps its
    [root_inv] and [tree_frame], and leaves the slots, the host's record
    and the pool's base and size as they were, keeps [s2_owned]: the
    other trees keep their tables, and the tables the updated tree gains
    were free. *)
Lemma one_tree_keeps_owned : forall e e0 k m, s2_owned e ->
  nth_error (Isolation.Engine_vms e) k = Some m -> Isolation.vm_live m = true ->
  Isolation.Engine_vms e0 = Isolation.Engine_vms e -> Isolation.Engine_host e0 = Isolation.Engine_host e ->
  root_inv e0 (Isolation.stage2_root (Isolation.vm_s2 m)) -> pool_base e0 = pool_base e ->
  len (tables e0) = len (tables e) -> tree_frame e e0 (Isolation.stage2_root (Isolation.vm_s2 m)) -> s2_owned e0.
Proof.
  intros e e0 k m Ho Hnth Hlive Evms Ehost Hr' HB HL Htf.
  pose proof Ho as (Hp & Hpl & Hhost & Hvms & Hdis).
  set (r := Isolation.stage2_root (Isolation.vm_s2 m)) in *.
  assert (Hp0 : pool_inv e0) by exact (proj1 (root_inv_l1 e0 r Hr')).
  set (h := Isolation.stage2_root (Isolation.Engine_host e)).
  assert (Hk_lt : (k < length (Isolation.Engine_vms e))%nat) by (apply nth_error_Some; congruence).
  assert (Hvk : vm_at e k = m) by (unfold vm_at; apply nth_error_nth; exact Hnth).
  (* what a tree apart from [r]'s keeps *)
  assert (Hkeep : forall r', owns_tables e r' -> disjoint (s2_tables e r') (s2_tables e r) ->
    root_inv e0 r' /\ forall y, In y (s2_tables e0 r') <-> In y (s2_tables e r'))
    by (intros r' Ho' Hd'; exact (tree_apart_kept e e0 r r' Htf (owns_root_inv e r' Hp Ho') Hd' Hp0 HB HL)).
  (* the tables [r]'s tree gains were free *)
  pose proof (tree_list_grows e e0 r Htf Hr') as Hgrow.
  assert (Hvm_own : forall i, (i < length (Isolation.Engine_vms e))%nat -> Isolation.vm_live (vm_at e i) = true ->
    owns_tables e (root_at e i)).
  { intros i Hi Hl. apply Hvms; [|exact Hl]. unfold vm_at. apply nth_In. exact Hi. }
  (* each live VM's list after, from the one before *)
  assert (Hvm_after : forall i, (i < length (Isolation.Engine_vms e))%nat -> Isolation.vm_live (vm_at e i) = true ->
    (i = k /\ root_at e i = r) \/
    (i <> k /\ root_inv e0 (root_at e i) /\ forall y, In y (s2_tables e0 (root_at e i)) <-> In y (s2_tables e (root_at e i)))).
  { intros i Hi Hl. destruct (Nat.eq_dec i k) as [->|Hik]; [left; unfold root_at; rewrite Hvk; split; reflexivity|right].
    split; [exact Hik|]. apply Hkeep; [exact (Hvm_own i Hi Hl)|].
    pose proof (proj2 Hdis i k Hi Hk_lt Hik Hl ltac:(rewrite Hvk; exact Hlive)) as Hd.
    unfold root_at at 2 in Hd. rewrite Hvk in Hd. exact Hd. }
  pose proof (Hkeep h Hhost ltac:(pose proof (proj1 Hdis k Hk_lt ltac:(rewrite Hvk; exact Hlive)) as Hd;
    unfold root_at in Hd; rewrite Hvk in Hd; exact Hd)) as (Hh0 & Hhl).
  assert (Hused : forall r', owns_tables e r' -> forall y, In y (s2_tables e r') -> free_bit (Isolation.Engine_pool e) y = false)
    by (intros r' Ho' y Hy; exact (owns_used e r' y Ho' Hy)).
  split; [exact Hp0|]. split; [unfold pool_placed in *; rewrite HB, HL; exact Hpl|].
  split; [rewrite Ehost; exact (root_inv_owns e0 h Hh0)|]. split.
  - intros mv Hin Hl. rewrite Evms in Hin. apply In_nth_error in Hin as (i & Hi).
    assert (Hi_lt : (i < length (Isolation.Engine_vms e))%nat) by (apply nth_error_Some; congruence).
    assert (Hvi : vm_at e i = mv) by (unfold vm_at; apply nth_error_nth; exact Hi).
    pose proof (Hvm_after i Hi_lt ltac:(rewrite Hvi; exact Hl)) as [(_ & Er)|(_ & Hri & _)];
      unfold root_at in *; rewrite Hvi in *; [rewrite Er; exact (root_inv_owns e0 r Hr')|exact (root_inv_owns e0 _ Hri)].
  - assert (Evm : forall i, vm_at e0 i = vm_at e i) by (intros i; unfold vm_at; rewrite Evms; reflexivity).
    assert (Ert : forall i, root_at e0 i = root_at e i) by (intros i; unfold root_at; rewrite Evm; reflexivity).
    unfold tables_disjoint. rewrite Ehost, Evms. fold h. split.
    + intros i Hi Hl. rewrite Evm in Hl. rewrite Ert. pose proof (Hvm_after i Hi Hl) as [(-> & Er)|(_ & _ & Hil)].
      * rewrite Er. apply disjoint_sym.
        apply (disjoint_after (s2_tables e r) (s2_tables e h) _ _ (fun y => free_bit (Isolation.Engine_pool e) y = false));
          [|exact Hgrow|intros y Hy; apply Hhl; exact Hy|exact (Hused h Hhost)].
        apply disjoint_sym. pose proof (proj1 Hdis k Hk_lt ltac:(rewrite Hvk; exact Hlive)) as Hd.
        unfold root_at in Hd. rewrite Hvk in Hd. exact Hd.
      * intros y Hy Hy'. apply Hhl in Hy. apply Hil in Hy'. exact (proj1 Hdis i Hi Hl y Hy Hy').
    + intros i j Hi Hj Hij Hli Hlj. rewrite Evm in Hli, Hlj. rewrite !Ert.
      pose proof (Hvm_after i Hi Hli) as [(-> & Er)|(Hik & _ & Hil)];
        pose proof (Hvm_after j Hj Hlj) as [(-> & Er')|(Hjk & _ & Hjl)]; [contradiction| | |].
      * rewrite Er.
        apply (disjoint_after (s2_tables e r) (s2_tables e (root_at e j)) _ _ (fun y => free_bit (Isolation.Engine_pool e) y = false));
          [|exact Hgrow|intros y Hy; apply Hjl; exact Hy|exact (Hused _ (Hvm_own j Hj Hlj))].
        pose proof (proj2 Hdis k j Hk_lt Hj Hij ltac:(rewrite Hvk; exact Hlive) Hlj) as Hd.
        unfold root_at at 1 in Hd. rewrite Hvk in Hd. exact Hd.
      * rewrite Er'. apply disjoint_sym.
        apply (disjoint_after (s2_tables e r) (s2_tables e (root_at e i)) _ _ (fun y => free_bit (Isolation.Engine_pool e) y = false));
          [|exact Hgrow|intros y Hy; apply Hil; exact Hy|exact (Hused _ (Hvm_own i Hi Hli))].
        pose proof (proj2 Hdis k i Hk_lt Hi (not_eq_sym Hij) ltac:(rewrite Hvk; exact Hlive) Hli) as Hd.
        unfold root_at at 1 in Hd. rewrite Hvk in Hd. exact Hd.
      * intros y Hy Hy'. apply Hil in Hy. apply Hjl in Hy'. exact (proj2 Hdis i j Hi Hj Hij Hli Hlj y Hy Hy').
Qed.

Theorem MemShare_keeps_owned : forall e tr id pa ipa n perms st e' tr',
  mem_ok e -> s2_owned e ->
  0 <= id < 2 ^ 64 -> 0 <= pa < 2 ^ 64 -> 0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 ->
  Isolation.Engine_MemShare root id pa ipa n perms e tr = Ok st e' tr' -> s2_owned e'.
Proof.
  intros e tr id pa ipa n perms st e' tr' Hm Ho Hid Hpa Hipa Hn H.
  pose proof Ho as (_ & Hpl & _).
  pose proof (MemShare_no_failure e tr id pa ipa n perms Hm Hpl (s2_owned_roots e Ho) Hid Hpa Hipa Hn)
    as (st0 & e0 & tr0 & H0 & Herr & Hsucc).
  rewrite H0 in H. injection H as <- <- <-.
  destruct (Z.eq_dec st0 Abi.Success) as [Es|Ne]; [|rewrite (Herr Ne); exact Ho].
  pose proof (Hsucc Es) as (m & q & ps & Hnth & Hps & Hlive & Ee & Hr' & HB & HL & Htf).
  apply (one_tree_keeps_owned e e0 _ m Ho Hnth Hlive); [rewrite Ee; reflexivity|rewrite Ee; reflexivity|assumption..].
Qed.

(** ** MEM_DONATE keeps the stage-2s owned *)

Theorem MemDonate_keeps_owned : forall e tr id pa ipa n perms st e' tr',
  mem_ok e -> s2_owned e ->
  Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e)) +
    Isolation.Range_Size (Isolation.Config_RAM (Isolation.Engine_cfg e)) <= 2 ^ 40 ->
  0 <= id < 2 ^ 64 -> 0 <= pa < 2 ^ 64 -> 0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 ->
  Isolation.Engine_MemDonate root id pa ipa n perms e tr = Ok st e' tr' -> s2_owned e'.
Proof.
  intros e tr id pa ipa n perms st e' tr' Hm Ho Hram Hid Hpa Hipa Hn H.
  pose proof Ho as (Hp & Hpl & Hhost & Hvms & Hdis).
  pose proof (MemDonate_no_failure e tr id pa ipa n perms Hm Hpl (s2_owned_roots e Ho) (owns_root_inv e _ Hp Hhost)
    (disjoint_host_apart e Hdis) Hram Hid Hpa Hipa Hn) as (st0 & e0 & tr0 & H0 & Herr & Hsucc).
  rewrite H0 in H. injection H as <- <- <-.
  destruct (Z.eq_dec st0 Abi.Success) as [Es|Ne]; [|rewrite (Herr Ne); exact Ho].
  pose proof (Hsucc Es) as (m & q2 & ps & q4 & Hnth & Hps & Hlive & Ee & Hh2 & Htf2 & HB2 & HL2 & Hr' & Htf4 & HB & HL & _).
  set (e2 := Isolation.set_Engine_pool q2 e) in *.
  set (r := Isolation.stage2_root (Isolation.vm_s2 m)) in *.
  set (h := Isolation.stage2_root (Isolation.Engine_host e)) in *.
  set (k := Z.to_nat (id - 1)) in *.
  assert (Evms : Isolation.Engine_vms e0 = Isolation.Engine_vms e) by (rewrite Ee; reflexivity).
  assert (Ehost : Isolation.Engine_host e0 = Isolation.Engine_host e) by (rewrite Ee; reflexivity).
  assert (Hp0 : pool_inv e0) by exact (proj1 (root_inv_l1 e0 r Hr')).
  assert (Hp2 : pool_inv e2) by exact (proj1 (root_inv_l1 e2 h Hh2)).
  assert (HB02 : pool_base e0 = pool_base e2) by congruence.
  assert (HL02 : len (tables e0) = len (tables e2)) by congruence.
  assert (Hk_lt : (k < length (Isolation.Engine_vms e))%nat) by (apply nth_error_Some; congruence).
  assert (Hvk : vm_at e k = m) by (unfold vm_at; apply nth_error_nth; exact Hnth).
  assert (Hvm_own : forall i, (i < length (Isolation.Engine_vms e))%nat -> Isolation.vm_live (vm_at e i) = true ->
    owns_tables e (root_at e i)).
  { intros i Hi Hl. apply Hvms; [|exact Hl]. unfold vm_at. apply nth_In. exact Hi. }
  assert (Hdhr : disjoint (s2_tables e h) (s2_tables e r)).
  { pose proof (proj1 Hdis k Hk_lt ltac:(rewrite Hvk; exact Hlive)) as Hd. unfold root_at in Hd. rewrite Hvk in Hd. exact Hd. }
  (* the VM's tree across the host's unmap *)
  pose proof (tree_apart_kept e e2 h r Htf2 (owns_root_inv e r Hp (Hvms m ltac:(eapply nth_error_In; exact Hnth) Hlive))
    (disjoint_sym _ _ Hdhr) Hp2 HB2 HL2) as (Hr2 & Hrl2).
  (* the host's tree after its unmap: old or free tables, none of the VM's *)
  assert (Hh2grow := tree_list_grows e e2 h Htf2 Hh2).
  assert (Hd2hr : disjoint (s2_tables e2 h) (s2_tables e2 r)).
  { apply (disjoint_after (s2_tables e h) (s2_tables e r) _ _ (fun y => free_bit (Isolation.Engine_pool e) y = false) Hdhr Hh2grow);
      [intros y Hy; apply Hrl2; exact Hy|intros y Hy; exact (owns_used e r y (Hvms m ltac:(eapply nth_error_In; exact Hnth) Hlive) Hy)]. }
  (* the host's tree across the VM's map *)
  pose proof (tree_apart_kept e2 e0 r h Htf4 Hh2 (disjoint_sym _ _ (disjoint_sym _ _ Hd2hr)) Hp0 HB02 HL02) as (Hh0 & Hhl0).
  assert (Hr0grow := tree_list_grows e2 e0 r Htf4 Hr').
  (* every other live VM's tree across both *)
  assert (Hoth : forall i, (i < length (Isolation.Engine_vms e))%nat -> Isolation.vm_live (vm_at e i) = true -> i <> k ->
    root_inv e0 (root_at e i) /\ (forall y, In y (s2_tables e0 (root_at e i)) <-> In y (s2_tables e (root_at e i))) /\
    (forall y, In y (s2_tables e (root_at e i)) -> free_bit (Isolation.Engine_pool e2) y = false)).
  { intros i Hi Hl Hik. pose proof (Hvm_own i Hi Hl) as Hoi.
    pose proof (proj2 Hdis i k Hi Hk_lt Hik Hl ltac:(rewrite Hvk; exact Hlive)) as Hdir.
    unfold root_at at 2 in Hdir. rewrite Hvk in Hdir.
    pose proof (proj1 Hdis i Hi Hl) as Hdhi.
    pose proof (tree_apart_kept e e2 h (root_at e i) Htf2 (owns_root_inv e _ Hp Hoi) (disjoint_sym _ _ Hdhi) Hp2 HB2 HL2)
      as (Hri2 & Hil2).
    assert (Hd2 : disjoint (s2_tables e2 (root_at e i)) (s2_tables e2 r)).
    { intros y Hy Hy'. apply Hil2 in Hy. apply Hrl2 in Hy'. exact (Hdir y Hy Hy'). }
    pose proof (tree_apart_kept e2 e0 r (root_at e i) Htf4 Hri2 Hd2 Hp0 HB02 HL02) as (Hri0 & Hil0).
    split; [exact Hri0|]. split; [intros y; rewrite Hil0; apply Hil2|].
    intros y Hy. apply (owns_used e2 _ y (root_inv_owns e2 _ Hri2)). apply Hil2. exact Hy. }
  (* the VM's tree after both, against another live VM's *)
  assert (Hrk : forall j, (j < length (Isolation.Engine_vms e))%nat -> Isolation.vm_live (vm_at e j) = true -> j <> k ->
    disjoint (s2_tables e0 r) (s2_tables e0 (root_at e j))).
  { intros j Hj Hlj Hjk. pose proof (Hoth j Hj Hlj Hjk) as (_ & Hjl & Hju).
    pose proof (proj2 Hdis k j Hk_lt Hj (not_eq_sym Hjk) ltac:(rewrite Hvk; exact Hlive) Hlj) as Hd.
    unfold root_at at 1 in Hd. rewrite Hvk in Hd.
    apply (disjoint_after (s2_tables e r) (s2_tables e (root_at e j)) _ _ (fun y => free_bit (Isolation.Engine_pool e2) y = false) Hd);
      [|intros y Hy; apply Hjl; exact Hy|exact Hju].
    intros y Hy. pose proof (Hr0grow y Hy) as [Hy2|Hf]; [left; apply Hrl2; exact Hy2|right; exact Hf]. }
  split; [exact Hp0|]. split; [unfold pool_placed in *; rewrite HB, HL; exact Hpl|].
  split; [rewrite Ehost; exact (root_inv_owns e0 h Hh0)|]. split.
  - intros mv Hin Hl. rewrite Evms in Hin. apply In_nth_error in Hin as (i & Hi).
    assert (Hi_lt : (i < length (Isolation.Engine_vms e))%nat) by (apply nth_error_Some; congruence).
    assert (Hvi : vm_at e i = mv) by (unfold vm_at; apply nth_error_nth; exact Hi).
    destruct (Nat.eq_dec i k) as [->|Hik].
    + rewrite Hvk in Hvi. subst mv. exact (root_inv_owns e0 r Hr').
    + pose proof (Hoth i Hi_lt ltac:(rewrite Hvi; exact Hl) Hik) as (Hri & _). unfold root_at in Hri. rewrite Hvi in Hri.
      exact (root_inv_owns e0 _ Hri).
  - assert (Evm : forall i, vm_at e0 i = vm_at e i) by (intros i; unfold vm_at; rewrite Evms; reflexivity).
    assert (Ert : forall i, root_at e0 i = root_at e i) by (intros i; unfold root_at; rewrite Evm; reflexivity).
    assert (Hh0e : forall y, In y (s2_tables e0 h) -> In y (s2_tables e h) \/ ~ (free_bit (Isolation.Engine_pool e) y = false))
      by (intros y Hy; apply Hh2grow; apply Hhl0; exact Hy).
    assert (Erk : root_at e k = r) by (unfold root_at; rewrite Hvk; reflexivity).
    unfold tables_disjoint. rewrite Ehost, Evms. fold h. split.
    + intros i Hi Hl. rewrite Evm in Hl. rewrite Ert. destruct (Nat.eq_dec i k) as [->|Hik].
      * rewrite Erk. apply disjoint_sym.
        apply (disjoint_after (s2_tables e2 r) (s2_tables e2 h) _ _ (fun y => free_bit (Isolation.Engine_pool e2) y = false)
          (disjoint_sym _ _ Hd2hr) Hr0grow);
          [intros y Hy; apply Hhl0; exact Hy|intros y Hy; exact (owns_used e2 h y (root_inv_owns e2 h Hh2) Hy)].
      * pose proof (Hoth i Hi Hl Hik) as (_ & Hil & _).
        apply (disjoint_after (s2_tables e h) (s2_tables e (root_at e i)) _ _ (fun y => free_bit (Isolation.Engine_pool e) y = false)
          (proj1 Hdis i Hi Hl) Hh0e); [intros y Hy; apply Hil; exact Hy|intros y Hy; exact (owns_used e _ y (Hvm_own i Hi Hl) Hy)].
    + intros i j Hi Hj Hij Hli Hlj. rewrite Evm in Hli, Hlj. rewrite !Ert.
      destruct (Nat.eq_dec i k) as [->|Hik]; destruct (Nat.eq_dec j k) as [->|Hjk]; [contradiction| | |].
      * rewrite Erk. exact (Hrk j Hj Hlj Hjk).
      * rewrite Erk. apply disjoint_sym. exact (Hrk i Hi Hli Hik).
      * pose proof (Hoth i Hi Hli Hik) as (_ & Hil & _). pose proof (Hoth j Hj Hlj Hjk) as (_ & Hjl & _).
        intros y Hy Hy'. apply Hil in Hy. apply Hjl in Hy'. exact (proj2 Hdis i j Hi Hj Hij Hli Hlj y Hy Hy').
Qed.

(** ** MEM_RECLAIM *)

(** MEM_RECLAIM never fails from [mem_ok] and [s2_owned], with RAM in the
    IPA space. *)
Corollary MemReclaim_no_failure_owned : forall e tr pa n,
  mem_ok e -> s2_owned e ->
  Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e)) +
    Isolation.Range_Size (Isolation.Config_RAM (Isolation.Engine_cfg e)) <= 2 ^ 40 ->
  0 <= pa < 2 ^ 64 -> 0 <= n < 2 ^ 64 ->
  exists st e' tr', Isolation.Engine_MemReclaim root pa n e tr = Ok st e' tr'.
Proof.
  intros e tr pa n Hm Ho Hram Hpa Hn. pose proof Ho as (Hp & Hpl & Hh & _).
  pose proof (MemReclaim_no_failure e tr pa n Hm Hpl (owns_root_inv e _ Hp Hh) Hram Hpa Hn) as (st & e' & tr' & H & _).
  exists st, e', tr'. exact H.
Qed.

(** An update of the host stage-2 that changes only the ledger and the
    pool, keeps the pool's place and size, leaves the host's stage-2 with
    [root_inv] and keeps every table outside the host's tree, keeps
    [s2_owned]: each live VM's tree is kept, and the host's grows only by
    tables no VM's tree holds. *)
Lemma host_update_keeps_owned : forall e e0 q ps, s2_owned e ->
  e0 = Isolation.set_Engine_pool q (Isolation.set_Engine_pages ps e) ->
  root_inv e0 (Isolation.stage2_root (Isolation.Engine_host e)) -> pool_base e0 = pool_base e ->
  len (tables e0) = len (tables e) -> tree_frame e e0 (Isolation.stage2_root (Isolation.Engine_host e)) ->
  s2_owned e0.
Proof.
  intros e e0 q ps Ho Ee Hh0 HB HL Htf.
  pose proof Ho as (Hp & Hpl & Hhost & Hvms & Hdis).
  set (h := Isolation.stage2_root (Isolation.Engine_host e)) in *.
  assert (Evms : Isolation.Engine_vms e0 = Isolation.Engine_vms e) by (rewrite Ee; reflexivity).
  assert (Ehost : Isolation.Engine_host e0 = Isolation.Engine_host e) by (rewrite Ee; reflexivity).
  assert (Hp0 : pool_inv e0) by exact (proj1 (root_inv_l1 e0 h Hh0)).
  assert (Hvm_own : forall i, (i < length (Isolation.Engine_vms e))%nat -> Isolation.vm_live (vm_at e i) = true ->
    owns_tables e (root_at e i)).
  { intros i Hi Hl. apply Hvms; [|exact Hl]. unfold vm_at. apply nth_In. exact Hi. }
  assert (Hkept : forall i, (i < length (Isolation.Engine_vms e))%nat -> Isolation.vm_live (vm_at e i) = true ->
    root_inv e0 (root_at e i) /\ forall y, In y (s2_tables e0 (root_at e i)) <-> In y (s2_tables e (root_at e i))).
  { intros i Hi Hl. exact (tree_apart_kept e e0 h (root_at e i) Htf (owns_root_inv e _ Hp (Hvm_own i Hi Hl))
      (disjoint_sym _ _ (proj1 Hdis i Hi Hl)) Hp0 HB HL). }
  split; [exact Hp0|]. split; [unfold pool_placed in *; rewrite HB, HL; exact Hpl|].
  split; [rewrite Ehost; exact (root_inv_owns e0 h Hh0)|]. split.
  - intros mv Hin Hl. rewrite Evms in Hin. apply In_nth_error in Hin as (i & Hi).
    assert (Hi_lt : (i < length (Isolation.Engine_vms e))%nat) by (apply nth_error_Some; congruence).
    assert (Hvi : vm_at e i = mv) by (unfold vm_at; apply nth_error_nth; exact Hi).
    pose proof (Hkept i Hi_lt ltac:(rewrite Hvi; exact Hl)) as (Hri & _). unfold root_at in Hri. rewrite Hvi in Hri.
    exact (root_inv_owns e0 _ Hri).
  - assert (Evm : forall i, vm_at e0 i = vm_at e i) by (intros i; unfold vm_at; rewrite Evms; reflexivity).
    assert (Ert : forall i, root_at e0 i = root_at e i) by (intros i; unfold root_at; rewrite Evm; reflexivity).
    unfold tables_disjoint. rewrite Ehost, Evms. fold h. split.
    + intros i Hi Hl. rewrite Evm in Hl. rewrite Ert. pose proof (Hkept i Hi Hl) as (_ & Hil).
      apply (disjoint_after (s2_tables e h) (s2_tables e (root_at e i)) _ _ (fun y => free_bit (Isolation.Engine_pool e) y = false)
        (proj1 Hdis i Hi Hl) (tree_list_grows e e0 h Htf Hh0));
        [intros y Hy; apply Hil; exact Hy|intros y Hy; exact (owns_used e _ y (Hvm_own i Hi Hl) Hy)].
    + intros i j Hi Hj Hij Hli Hlj. rewrite Evm in Hli, Hlj. rewrite !Ert.
      pose proof (Hkept i Hi Hli) as (_ & Hil). pose proof (Hkept j Hj Hlj) as (_ & Hjl).
      intros y Hy Hy'. apply Hil in Hy. apply Hjl in Hy'. exact (proj2 Hdis i j Hi Hj Hij Hli Hlj y Hy Hy').
Qed.

(** Every outcome of MEM_RECLAIM keeps [s2_owned]: the host's tree gains
    only tables that were free, and every live VM's, apart from it, is
    kept. *)
Theorem MemReclaim_keeps_owned : forall e tr pa n st e' tr',
  mem_ok e -> s2_owned e ->
  Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e)) +
    Isolation.Range_Size (Isolation.Config_RAM (Isolation.Engine_cfg e)) <= 2 ^ 40 ->
  0 <= pa < 2 ^ 64 -> 0 <= n < 2 ^ 64 ->
  Isolation.Engine_MemReclaim root pa n e tr = Ok st e' tr' -> s2_owned e'.
Proof.
  intros e tr pa n st e' tr' Hm Ho Hram Hpa Hn H.
  pose proof Ho as (Hp & Hpl & Hhost & _).
  pose proof (MemReclaim_no_failure e tr pa n Hm Hpl (owns_root_inv e _ Hp Hhost) Hram Hpa Hn)
    as (st0 & e0 & tr0 & H0 & Herr & Hsucc).
  rewrite H0 in H. injection H as <- <- <-.
  destruct (Z.eq_dec st0 Abi.Success) as [Es|Ne]; [|rewrite (Herr Ne); exact Ho].
  pose proof (Hsucc Es) as (q & ps & _ & Ee & Hh0 & HB & HL & Htf).
  exact (host_update_keeps_owned e e0 q ps Ho Ee Hh0 HB HL Htf).
Qed.

(** ** The engine's invariant for the memory calls *)

(** A VM slot that is not live has no stage-2 root (VM_DESTROY sets it
    to -1, VM_CREATE sets one only in the slot it makes live). *)
Definition dead_no_root (e : Isolation.Engine) : Prop :=
  forall m, In m (Isolation.Engine_vms e) -> Isolation.vm_live m = false -> Isolation.stage2_root (Isolation.vm_s2 m) < 0.

(** What MEM_SHARE, MEM_DONATE and MEM_RECLAIM need and keep: [mem_ok],
    [s2_owned] and [dead_no_root]. *)
Definition mem_inv (e : Isolation.Engine) : Prop := mem_ok e /\ s2_owned e /\ dead_no_root e.

(** [mem_ok] and [dead_no_root] read the configuration, the VM slots, the
    ledger's length and the stage-2s: an engine with the same
    configuration, slots and ledger length whose stage-2s are owned keeps
    them. *)
Lemma mem_inv_after : forall e e', mem_ok e -> dead_no_root e -> s2_owned e' ->
  Isolation.Engine_cfg e' = Isolation.Engine_cfg e -> Isolation.Engine_vms e' = Isolation.Engine_vms e ->
  len (Isolation.Engine_pages e') = len (Isolation.Engine_pages e) -> mem_inv e'.
Proof.
  intros e e' (Hl & Hb & Hs & Hvl & _ & _) Hdead Ho Ec Ev Ep.
  pose proof Ho as ((Hok & _) & _ & _ & Hvms & _).
  split; [|split; [exact Ho|intros m Hin Hlive; rewrite Ev in Hin; exact (Hdead m Hin Hlive)]].
  unfold mem_ok. split; [unfold ledger_ok in *; rewrite Ec, Ep; exact Hl|].
  rewrite Ec, Ev. split; [exact Hb|]. split; [exact Hs|]. split; [exact Hvl|]. split; [exact Hok|].
  apply Forall_forall. intros m Hin. destruct (Isolation.vm_live m) eqn:Hlive.
  - right. rewrite <- Ev in Hin. exact (proj1 (Hvms m Hin Hlive)).
  - left. exact (Hdead m Hin Hlive).
Qed.

Theorem MemShare_keeps_mem_inv : forall e tr id pa ipa n perms st e' tr',
  mem_inv e -> 0 <= id < 2 ^ 64 -> 0 <= pa < 2 ^ 64 -> 0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 ->
  Isolation.Engine_MemShare root id pa ipa n perms e tr = Ok st e' tr' -> mem_inv e'.
Proof.
  intros e tr id pa ipa n perms st e' tr' (Hm & Ho & Hd) Hid Hpa Hipa Hn H.
  pose proof (MemShare_keeps_owned e tr id pa ipa n perms st e' tr' Hm Ho Hid Hpa Hipa Hn H) as Ho'.
  pose proof Ho as (_ & Hpl & _).
  pose proof (MemShare_no_failure e tr id pa ipa n perms Hm Hpl (s2_owned_roots e Ho) Hid Hpa Hipa Hn)
    as (st0 & e0 & tr0 & H0 & Herr & Hsucc).
  rewrite H0 in H. injection H as <- <- <-.
  destruct (Z.eq_dec st0 Abi.Success) as [Es|Ne]; [|rewrite (Herr Ne); split; [exact Hm|split; assumption]].
  pose proof (Hsucc Es) as (m & q & ps & _ & Hps & _ & Ee & _).
  apply (mem_inv_after e e0 Hm Hd Ho'); rewrite Ee; [reflexivity|reflexivity|exact Hps].
Qed.

Theorem MemDonate_keeps_mem_inv : forall e tr id pa ipa n perms st e' tr',
  mem_inv e ->
  Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e)) +
    Isolation.Range_Size (Isolation.Config_RAM (Isolation.Engine_cfg e)) <= 2 ^ 40 ->
  0 <= id < 2 ^ 64 -> 0 <= pa < 2 ^ 64 -> 0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 ->
  Isolation.Engine_MemDonate root id pa ipa n perms e tr = Ok st e' tr' -> mem_inv e'.
Proof.
  intros e tr id pa ipa n perms st e' tr' (Hm & Ho & Hd) Hram Hid Hpa Hipa Hn H.
  pose proof (MemDonate_keeps_owned e tr id pa ipa n perms st e' tr' Hm Ho Hram Hid Hpa Hipa Hn H) as Ho'.
  pose proof Ho as (Hp & Hpl & Hh & _ & Hdis).
  pose proof (MemDonate_no_failure e tr id pa ipa n perms Hm Hpl (s2_owned_roots e Ho) (owns_root_inv e _ Hp Hh)
    (disjoint_host_apart e Hdis) Hram Hid Hpa Hipa Hn) as (st0 & e0 & tr0 & H0 & Herr & Hsucc).
  rewrite H0 in H. injection H as <- <- <-.
  destruct (Z.eq_dec st0 Abi.Success) as [Es|Ne]; [|rewrite (Herr Ne); split; [exact Hm|split; assumption]].
  pose proof (Hsucc Es) as (m & q2 & ps & q4 & _ & Hps & _ & Ee & _).
  apply (mem_inv_after e e0 Hm Hd Ho'); rewrite Ee; [reflexivity|reflexivity|exact Hps].
Qed.

Theorem MemReclaim_keeps_mem_inv : forall e tr pa n st e' tr',
  mem_inv e ->
  Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e)) +
    Isolation.Range_Size (Isolation.Config_RAM (Isolation.Engine_cfg e)) <= 2 ^ 40 ->
  0 <= pa < 2 ^ 64 -> 0 <= n < 2 ^ 64 ->
  Isolation.Engine_MemReclaim root pa n e tr = Ok st e' tr' -> mem_inv e'.
Proof.
  intros e tr pa n st e' tr' (Hm & Ho & Hd) Hram Hpa Hn H.
  pose proof (MemReclaim_keeps_owned e tr pa n st e' tr' Hm Ho Hram Hpa Hn H) as Ho'.
  pose proof Ho as (Hp & Hpl & Hh & _).
  pose proof (MemReclaim_no_failure e tr pa n Hm Hpl (owns_root_inv e _ Hp Hh) Hram Hpa Hn)
    as (st0 & e0 & tr0 & H0 & Herr & Hsucc).
  rewrite H0 in H. injection H as <- <- <-.
  destruct (Z.eq_dec st0 Abi.Success) as [Es|Ne]; [|rewrite (Herr Ne); split; [exact Hm|split; assumption]].
  pose proof (Hsucc Es) as (q & ps & Hps & Ee & _).
  apply (mem_inv_after e e0 Hm Hd Ho'); rewrite Ee; [reflexivity|reflexivity|exact Hps].
Qed.
