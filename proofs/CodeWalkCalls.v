(** * The stage-2 walks after the memory calls

    Lemmas about proofs/code/Isolation.v, the translation of
    isolation/mem.go, that carry on from CodeWalkRange.v (the walk after
    [mapRange] and [unmapRange] of any range below 2^40, from [root_inv]
    and [walk_below]) and from the no-failure theorems of the calls
    (CodeMemNoFailure: what is left of each call after its checks).
    Proved here:
    - a walk reads only the pool, so a state with the same pool has the
      same walks ([walk_same_pool]) and keeps [walk_below]
      ([walk_below_same_pool]); an update whose tree shares no table
      with a stage-2 that owns its tables leaves that stage-2's walk as
      it was ([walk_apart]), and so the level at which it ends
      ([CodeLevel.lv3_at], which reads only the tree's tables:
      [lv3_at_agree], [lv3_apart]);
    - MEM_RECLAIM, from [mem_inv] with the host's walk below 2^48 and RAM
      inside the IPA space: an answer other than SUCCESS leaves the engine
      as it was; SUCCESS leaves the host's walk mapping every IPA page of
      the range to itself with the host's RAM permissions and every other
      page as before, and below 2^48, the walk of every page outside the
      range ending at level 3 or nowhere if it did
      ([MemReclaim_host_walk]): the stage-2 half of its refinement;
    - MEM_SHARE, from [mem_inv] and [walks_below] (the host's walk and
      every live VM's below 2^48) with RAM inside the IPA space: SUCCESS
      leaves the VM's walk mapping each IPA page of the range to its
      offset from the PA with the permission bits asked, every other
      page as before, and every other stage-2's walk as it was
      ([MemShare_walks]);
    - MEM_DONATE, from the same: SUCCESS leaves the host's walk mapping
      no IPA page of the PA range and every other page as before (at
      level 3 or nowhere if it was), the
      VM's walk mapping its IPA range as MEM_SHARE does, and every other
      live VM's walk as it was ([MemDonate_walks]; the host's unmap frees
      tables only, so its tree after it is still apart from the VM's);
    - so MEM_SHARE, MEM_DONATE and MEM_RECLAIM keep [walks_below]
      ([MemShare_walks_below], [MemDonate_walks_below],
      [MemReclaim_walks_below]);
    - every outcome of VM_CREATE leaves the ledger and the host's walk
      as they were and each live VM's walk as it was or mapping nothing
      ([VMCreate_walk_cases]); VM_DESTROY of a VM sharing no page with
      the host leaves every live slot's and the host's walk as it was
      ([VMDestroy_walk_cases]); writing one slot's shadow state or vCPU
      changes no walk ([walks_below_stable]); so these keep
      [walks_below] too ([VMCreate_walks_below], [VMDestroy_walks_below]);
    - [walk_inv], [engine_inv] with [walks_below], never fails and is
      kept by MEM_SHARE, MEM_DONATE, MEM_RECLAIM, VM_CREATE (with
      [create_inv]) and VM_DESTROY of a VM sharing no page with the host
      ([MemShare_walk_inv], [MemDonate_walk_inv], [MemReclaim_walk_inv],
      [VMCreate_walk_inv], [VMDestroy_walk_inv]). *)
From Coq Require Import ZArith Lia List Bool String.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodeVMCreateRefine.
From Bulkhead.Proofs Require CodeAbs.
From Bulkhead.Proofs Require Import CodePlace CodeVMCreate CodeStage2 CodePool CodeFree CodeUpdate CodeUpdateRoot CodeUpdateRange
  CodeUpdateRootRange CodeTransfer CodeMemShare CodeMemNoFailure CodeVMCreateInv CodeOwns CodeDonate CodeLedgerRefine
  CodeTrack CodeVCPUInit CodeShadow CodeEngineOk CodeRelease CodeVMDestroy CodeMemInvDestroy CodeEngineInv CodeWalkUpdate CodeWalkRange
  CodeLevel.
Import ListNotations.
Open Scope Z_scope.

(** ** Walks read only the pool *)

Lemma walk_same_pool : forall e e' s2 k, tables_ok e -> s2_ok e s2 ->
  Isolation.Engine_pool e' = Isolation.Engine_pool e -> CodeAbs.walk e' s2 k = CodeAbs.walk e s2 k.
Proof.
  intros e e' s2 k Hok Hs2 Ep. symmetry.
  assert (Et : tables e' = tables e) by (unfold tables; rewrite Ep; reflexivity).
  assert (Eb : pool_base e' = pool_base e) by (unfold pool_base; rewrite Ep; reflexivity).
  apply walk_frame; [exact Hok|unfold tables_ok; rewrite Et, Eb; exact Hok|exact Eb|rewrite Et; reflexivity|exact Hs2|].
  intros x _. rewrite Et. reflexivity.
Qed.

Lemma walk_below_same_pool : forall e e' s2, tables_ok e -> s2_ok e s2 ->
  Isolation.Engine_pool e' = Isolation.Engine_pool e -> walk_below e s2 -> walk_below e' s2.
Proof.
  intros e e' s2 Hok Hs2 Ep Hb k p w Hk E. rewrite (walk_same_pool e e' s2 k Hok Hs2 Ep) in E. exact (Hb k p w Hk E).
Qed.

(** An update of the tree at [t] that keeps [tree_frame] leaves the walk
    of a stage-2 that owns its tables, apart from that tree, as it was. *)
Lemma walk_apart : forall e e' t s2, pool_inv e -> tables_ok e' -> pool_base e' = pool_base e ->
  len (tables e') = len (tables e) -> tree_frame e e' t -> owns_tables e (Isolation.stage2_root s2) ->
  disjoint (s2_tables e t) (s2_tables e (Isolation.stage2_root s2)) ->
  forall k, CodeAbs.walk e' s2 k = CodeAbs.walk e s2 k.
Proof.
  intros e e' t s2 Hp Ht' HB HL Htf Hov Hd k. pose proof Hp as (Ht & _). symmetry.
  apply walk_frame; [exact Ht|exact Ht'|exact HB|exact HL|right; exact (proj1 Hov)|].
  apply agree_kept; [exact Ht|exact Ht'|exact HL|].
  apply (tree_kept_of_frame e e' _ _ Htf (owns_root_inv e _ Hp Hov)).
  intros y Hy Hy'. exact (Hd y (proj2 (in_tree_iff e _ y) Hy') (proj2 (in_tree_iff e _ y) Hy)).
Qed.

(** The level at which the walk of stage-2 [s2] at IPA page [k] ends
    ([CodeLevel.lv3_at]) reads only the tables of [s2]'s tree. *)
Lemma lv3_at_agree : forall e e' s2 k, pool_base e' = pool_base e ->
  agree (tables e) (tables e') (s2_tables e (Isolation.stage2_root s2)) -> lv3_at e s2 k -> lv3_at e' s2 k.
Proof.
  intros e e' s2 k HB Hag [Hnb Hl]. unfold lv3_at, lv3 in *.
  set (r := Isolation.stage2_root s2) in *. set (i := (Z.of_nat k * 4096 / 2 ^ 30) mod 1024) in *.
  assert (Hi : 0 <= i < 1024) by (apply Z.mod_pos_bound; lia).
  assert (Ei : ent (tables e') r i = ent (tables e) r i).
  { unfold ent. rewrite (Hag (r + i / 512)); [reflexivity|].
    assert (Hq : i / 512 = 0 \/ i / 512 = 1).
    { assert (0 <= i / 512 < 2) by (split; [apply Z.div_pos|apply Z.div_lt_upper_bound]; lia). lia. }
    apply in_tree_s2_tables. destruct Hq as [-> | ->]; [left; ring|right; left; reflexivity]. }
  rewrite Ei, HB. split; [exact Hnb|]. intros H3.
  unfold tent. rewrite <- (Hag (child (pool_base e) (ent (tables e) r i))); [exact (Hl H3)|].
  apply in_tree_s2_tables. right. right. exists i. split; [exact Hi|]. split; [exact H3|left; reflexivity].
Qed.

(** ... so an update of the tree at [t] that keeps [tree_frame] keeps
    it for a stage-2 that owns its tables, apart from that tree. *)
Lemma lv3_apart : forall e e' t s2 k, pool_inv e -> tables_ok e' -> pool_base e' = pool_base e ->
  len (tables e') = len (tables e) -> tree_frame e e' t -> owns_tables e (Isolation.stage2_root s2) ->
  disjoint (s2_tables e t) (s2_tables e (Isolation.stage2_root s2)) -> lv3_at e s2 k -> lv3_at e' s2 k.
Proof.
  intros e e' t s2 k Hp Ht' HB HL Htf Hov Hd. pose proof Hp as (Ht & _).
  apply (lv3_at_agree e e' s2 k HB). apply (agree_kept e e' _ Ht Ht' HL).
  apply (tree_kept_of_frame e e' _ _ Htf (owns_root_inv e _ Hp Hov)).
  intros y Hy Hy'. exact (Hd y (proj2 (in_tree_iff e _ y) Hy') (proj2 (in_tree_iff e _ y) Hy)).
Qed.

(** The host's walk and every live VM's map only below 2^48. *)
Definition walks_below (e : Isolation.Engine) : Prop :=
  walk_below e (Isolation.Engine_host e) /\
  forall i m, nth_error (Isolation.Engine_vms e) i = Some m -> Isolation.vm_live m = true -> walk_below e (Isolation.vm_s2 m).

(** ** MEM_RECLAIM *)

(** A map of [n] pages at [ipa] to [pa] below 2^48 has its output
    addresses below 2^48. *)
Lemma map_below : forall s2 ipa pa n a, 0 <= ipa -> 0 <= pa -> 0 <= n -> ipa + n * 4096 <= 2 ^ 40 ->
  pa + n * 4096 <= 2 ^ 48 -> pa_below (map_u s2 ipa pa a) ipa (ipa + n * 4096).
Proof.
  intros s2 ipa pa n a Hipa Hpa Hn H40 H48 _ x Hx. cbn [map_u Isolation.s2update_delta].
  rewrite Z.add_comm, wrapu_add_mod, wrapu_small by lia. lia.
Qed.

(** What a map of [ipa] to [pa] gives an address [y] at or above [ipa]:
    [pa] plus the offset of [y], with the permission bits of the
    attributes. *)
Lemma u_map_offset : forall s2 ipa pa a y, 0 <= ipa <= y -> 0 <= pa -> pa + (y - ipa) < 2 ^ 64 ->
  u_map (map_u s2 ipa pa a) y = Some (pa + (y - ipa), Z.land (Isolation.Attr_Perms a) 7).
Proof.
  intros s2 ipa pa a y Hy Hpa Hlt. unfold u_map, map_u.
  cbn [Isolation.s2update_unmap Isolation.s2update_delta Isolation.s2update_attr].
  rewrite Z.add_comm, wrapu_add_mod, wrapu_small by lia. f_equal. f_equal. ring.
Qed.

(** MEM_RECLAIM, from [mem_inv] with the host's walk below 2^48 and RAM
    inside the IPA space: an answer other than SUCCESS changes nothing;
    after SUCCESS the host's walk maps each IPA page of the range to
    itself with the host's RAM permissions, every other IPA page below
    2^40 as before, and stays below 2^48. *)
Theorem MemReclaim_host_walk : forall e tr pa n st e' tr', mem_inv e ->
  walk_below e (Isolation.Engine_host e) ->
  Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e)) +
    Isolation.Range_Size (Isolation.Config_RAM (Isolation.Engine_cfg e)) <= 2 ^ 40 ->
  0 <= pa < 2 ^ 64 -> 0 <= n < 2 ^ 64 ->
  Isolation.Engine_MemReclaim root pa n e tr = Ok st e' tr' ->
  (st <> Abi.Success -> e' = e) /\ Isolation.Engine_host e' = Isolation.Engine_host e /\
  walk_below e' (Isolation.Engine_host e) /\
  (forall k, Z.of_nat k * 4096 < 2 ^ 40 ->
    CodeAbs.walk e' (Isolation.Engine_host e) k =
      if (st =? Abi.Success) && (pa <=? Z.of_nat k * 4096) && (Z.of_nat k * 4096 <? pa + n * 4096)
      then Some (Z.of_nat k * 4096, Z.land (Isolation.Attr_Perms Isolation.hostRAM) 7)
      else CodeAbs.walk e (Isolation.Engine_host e) k) /\
  forall k, Z.of_nat k * 4096 < 2 ^ 40 -> ~ (pa <= Z.of_nat k * 4096 < pa + n * 4096) ->
    lv3_at e (Isolation.Engine_host e) k -> lv3_at e' (Isolation.Engine_host e) k.
Proof.
  intros e tr pa n st e' tr' Hi Hwb Hram Hpa Hn Hrun.
  pose proof Hi as (Hm & (Hp & (Hal & Hbelow) & Hh & _) & _).
  pose proof (owns_root_inv e _ Hp Hh) as Hhr. pose proof (root_inv_l1 e _ Hhr) as Hhl.
  pose proof Hhl as ((Hok & _ & _ & Hcok & Hpl) & Hh0 & _).
  destruct (MemReclaim_reaches_mapRange e tr pa n Hm (or_intror (l1_inv_tree e _ Hhl)) Hpl Hram Hpa Hn)
    as [(st0 & Hcall & Hne)|(N & ps & Hn1 & Hpal & H40 & Hps & HN & Hle & Hcall)].
  { rewrite Hcall in Hrun. injection Hrun as <- <- <-.
    split; [intros _; reflexivity|]. split; [reflexivity|]. split; [exact Hwb|].
    split; [|intros k _ _ Hl; exact Hl].
    intros k _. replace (st0 =? Abi.Success) with false by (symmetry; apply Z.eqb_neq; exact Hne). reflexivity. }
  set (e1 := Isolation.set_Engine_pages ps e) in *.
  set (tr1 := mkEvent "CleanToPoC" [pa; n] :: mkEvent "ZeroPages" [pa; n] :: tr) in *.
  pose proof (host_mapNeed_pages e tr pa n N ps tr1 Hok Hhr ltac:(lia) ltac:(lia) H40 HN) as HN1.
  assert (Hs2 : s2_ok e (Isolation.Engine_host e)) by (right; exact (l1_inv_tree e _ Hhl)).
  destruct (mapRange_walk_range e1 tr1 host_place (Isolation.Engine_host e) pa pa n Isolation.hostRAM N
    (host_place_good e1) Hhr (walk_below_same_pool e e1 _ Hok Hs2 eq_refl Hwb) Hal Hbelow ltac:(lia) ltac:(lia) H40
    Hpal Hpal HN1 ltac:(change (Isolation.Engine_pool e1) with (Isolation.Engine_pool e); unfold count_ok in Hcok; lia)
    (map_below _ pa pa n _ ltac:(lia) ltac:(lia) ltac:(lia) H40 ltac:(lia)))
    as (st1 & tr1' & Hmr & _ & _ & _ & _ & _ & Hwb' & Hwk).
  destruct (mapRange_nb e1 tr1 host_place (Isolation.Engine_host e) pa pa n Isolation.hostRAM N
    (host_place_good e1) Hhr Hal Hbelow ltac:(lia) ltac:(lia) H40 Hpal Hpal HN1
    ltac:(change (Isolation.Engine_pool e1) with (Isolation.Engine_pool e); unfold count_ok in Hcok; lia))
    as (st2 & tr2 & Hmr2 & Hnb).
  rewrite Hmr in Hmr2. injection Hmr2 as <- <-.
  assert (Hr2 : Isolation.Engine_MemReclaim root pa n e tr = Ok Abi.Success st1 tr1')
    by (rewrite Hcall; fold e1 tr1; unfold bind; rewrite Hmr; reflexivity).
  rewrite Hrun in Hr2. injection Hr2 as -> -> ->.
  destruct (mapRange_pool _ _ _ _ _ _ _ _ _ _ Hmr) as (q & Eq).
  split; [intros Ne; exfalso; exact (Ne eq_refl)|].
  split; [rewrite Eq; reflexivity|]. split; [exact Hwb'|].
  split; [|intros k Hk Hout Hl; exact (Hnb k Hk (or_introl Hl) (out_no_cover _ _ _ Hout ltac:(lia)))].
  intros k Hk. rewrite (Hwk k Hk), Z.eqb_refl. cbn [andb].
  destruct (Z.leb_spec pa (Z.of_nat k * 4096)), (Z.ltb_spec (Z.of_nat k * 4096) (pa + n * 4096)); cbn [andb];
    try exact (walk_same_pool e e1 _ k Hok Hs2 eq_refl).
  rewrite u_map_offset by lia. f_equal. f_equal. ring.
Qed.

(** ** MEM_SHARE *)

Lemma slot_at : forall e j m, nth_error (Isolation.Engine_vms e) j = Some m ->
  (j < List.length (Isolation.Engine_vms e))%nat /\ vm_at e j = m.
Proof.
  intros e j m H. split; [apply nth_error_Some; congruence|unfold vm_at; apply nth_error_nth; exact H].
Qed.

(** An update of the tree of one live VM's stage-2 alone, after a ledger
    commit ([tree_frame] from [set_Engine_pages ps e]), leaves the host's
    walk and every other live VM's as they were: their trees share no
    table with it ([s2_owned]). *)
Lemma one_vm_walks_apart : forall e ps e' i m, s2_owned e ->
  nth_error (Isolation.Engine_vms e) i = Some m -> Isolation.vm_live m = true ->
  tables_ok e' -> pool_base e' = pool_base e -> len (tables e') = len (tables e) ->
  tree_frame (Isolation.set_Engine_pages ps e) e' (Isolation.stage2_root (Isolation.vm_s2 m)) ->
  (forall k, CodeAbs.walk e' (Isolation.Engine_host e) k = CodeAbs.walk e (Isolation.Engine_host e) k) /\
  (forall j m', j <> i -> nth_error (Isolation.Engine_vms e) j = Some m' -> Isolation.vm_live m' = true ->
     forall k, CodeAbs.walk e' (Isolation.vm_s2 m') k = CodeAbs.walk e (Isolation.vm_s2 m') k).
Proof.
  intros e ps e' i m (Hp & _ & Hh & Hown & Hdis) Hnth Hlive Ht1 HB HL Htf.
  pose proof Hp as (Hok & _).
  set (e1 := Isolation.set_Engine_pages ps e) in *.
  destruct (slot_at e _ m Hnth) as (Hi1 & Ei1).
  assert (Hlv1 : Isolation.vm_live (vm_at e i) = true) by (rewrite Ei1; exact Hlive).
  assert (Hdh : disjoint (s2_tables e (Isolation.stage2_root (Isolation.vm_s2 m)))
                         (s2_tables e (Isolation.stage2_root (Isolation.Engine_host e)))).
  { apply disjoint_sym. pose proof (proj1 Hdis _ Hi1 Hlv1) as H. unfold root_at in H. rewrite Ei1 in H. exact H. }
  split.
  - intros k. rewrite (walk_apart e1 e' _ (Isolation.Engine_host e) Hp Ht1 HB HL Htf Hh Hdh k).
    exact (walk_same_pool e e1 _ k Hok (or_intror (proj1 Hh)) eq_refl).
  - intros j m2 Hj Hnth2 Hlive2 k.
    destruct (slot_at e j m2 Hnth2) as (Hj1 & Ej1).
    pose proof (Hown m2 (nth_error_In _ _ Hnth2) Hlive2) as Hov2.
    assert (Hd2 : disjoint (s2_tables e (Isolation.stage2_root (Isolation.vm_s2 m)))
                           (s2_tables e (Isolation.stage2_root (Isolation.vm_s2 m2)))).
    { pose proof (proj2 Hdis _ j Hi1 Hj1 ltac:(intros E; apply Hj; symmetry; exact E) Hlv1
        ltac:(rewrite Ej1; exact Hlive2)) as H.
      unfold root_at in H. rewrite Ei1, Ej1 in H. exact H. }
    rewrite (walk_apart e1 e' _ (Isolation.vm_s2 m2) Hp Ht1 HB HL Htf Hov2 Hd2 k).
    exact (walk_same_pool e e1 _ k Hok (or_intror (proj1 Hov2)) eq_refl).
Qed.

(** MEM_SHARE, from [mem_inv] and [walks_below] with RAM inside the IPA
    space: an answer other than SUCCESS changes nothing; after SUCCESS
    the slots and the host's stage-2 record are as they were, the VM's
    walk maps each IPA page of the range to its offset from [pa] with the
    permission bits asked, every other IPA page below 2^40 as before, and
    stays below 2^48, and the host's walk and every other live VM's are
    as they were. *)
Theorem MemShare_walks : forall e tr id pa ipa n perms st e' tr', mem_inv e -> walks_below e ->
  Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e)) +
    Isolation.Range_Size (Isolation.Config_RAM (Isolation.Engine_cfg e)) <= 2 ^ 40 ->
  0 <= id < 2 ^ 64 -> 0 <= pa < 2 ^ 64 -> 0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 ->
  Isolation.Engine_MemShare root id pa ipa n perms e tr = Ok st e' tr' ->
  (st <> Abi.Success -> e' = e) /\
  (st = Abi.Success -> exists m, nth_error (Isolation.Engine_vms e) (Z.to_nat (id - 1)) = Some m /\
     Isolation.vm_live m = true /\ Isolation.Engine_vms e' = Isolation.Engine_vms e /\
     Isolation.Engine_host e' = Isolation.Engine_host e /\ Isolation.Engine_cfg e' = Isolation.Engine_cfg e /\
     walk_below e' (Isolation.vm_s2 m) /\
     (forall k, Z.of_nat k * 4096 < 2 ^ 40 ->
        CodeAbs.walk e' (Isolation.vm_s2 m) k =
          if (ipa <=? Z.of_nat k * 4096) && (Z.of_nat k * 4096 <? ipa + n * 4096)
          then Some (pa + (Z.of_nat k * 4096 - ipa), Z.land (wrapu 8 perms) 7)
          else CodeAbs.walk e (Isolation.vm_s2 m) k) /\
     (forall k, CodeAbs.walk e' (Isolation.Engine_host e) k = CodeAbs.walk e (Isolation.Engine_host e) k) /\
     forall j m', j <> Z.to_nat (id - 1) -> nth_error (Isolation.Engine_vms e) j = Some m' ->
       Isolation.vm_live m' = true ->
       forall k, CodeAbs.walk e' (Isolation.vm_s2 m') k = CodeAbs.walk e (Isolation.vm_s2 m') k).
Proof.
  intros e tr id pa ipa n perms st e' tr' Hi (Hhb & Hvb) Hram Hid Hpa Hipa Hn Hrun.
  pose proof Hi as (Hm & (Hp & (Hal & Hbelow) & Hh & Hown & Hdis) & _).
  pose proof Hp as (Hok & _ & _ & Hcok & _).
  destruct (MemShare_reaches_mapRange e tr id pa ipa n perms Hm Hid Hpa Hipa Hn)
    as [(st0 & Hcall & Hst)|(m & ps & N & Hpass & Hnth & Hprot & HN & Hle & Hps & Hcall)].
  { rewrite Hcall in Hrun. injection Hrun as <- <- <-. split; [intros _; reflexivity|]. intros E; contradiction. }
  destruct Hpass as (_ & Hid1 & (m' & Hnth' & Hlive) & Hn1 & Hpal & Hial & Hplo & Hphi & H40).
  rewrite Hnth in Hnth'. injection Hnth' as <-.
  pose proof (Hown m (nth_error_In _ _ Hnth) Hlive) as Hov.
  pose proof (owns_root_inv e _ Hp Hov) as Hr.
  set (e1 := Isolation.set_Engine_pages ps e).
  pose proof (root_inv_l1 e _ Hr) as Hl. pose proof Hl as (_ & Ht0 & _).
  assert (Hg1 : good (s2_place (id - 1)) e1 (Isolation.vm_s2 m)) by (apply vm_place_pages; [lia|exact Hnth]).
  pose proof (vm_mapNeed_pages e tr id m ipa pa n N ps Hok ltac:(lia) Hnth Hr ltac:(lia) ltac:(lia) H40 HN) as HN1.
  assert (Hs2 : s2_ok e (Isolation.vm_s2 m)) by (right; exact (l1_inv_tree e _ Hl)).
  destruct (mapRange_walk_range e1 tr (s2_place (id - 1)) (Isolation.vm_s2 m) ipa pa n
    (Isolation.mk_Attr (wrapu 8 perms) false) N Hg1 Hr (walk_below_same_pool e e1 _ Hok Hs2 eq_refl (Hvb _ m Hnth Hlive))
    Hal Hbelow ltac:(lia) ltac:(lia) H40 Hial Hpal HN1
    ltac:(change (Isolation.Engine_pool e1) with (Isolation.Engine_pool e); unfold count_ok in Hcok; lia)
    (map_below _ ipa pa n _ ltac:(lia) ltac:(lia) ltac:(lia) H40 ltac:(lia)))
    as (st1 & tr1 & Hmr & Hr' & HB & HL & _ & Htf & Hwb' & Hwk).
  assert (Hr2 : Isolation.Engine_MemShare root id pa ipa n perms e tr = Ok Abi.Success st1 tr1)
    by (rewrite Hcall; fold e1; unfold bind; rewrite Hmr; reflexivity).
  rewrite Hrun in Hr2. injection Hr2 as -> -> ->.
  destruct (mapRange_pool _ _ _ _ _ _ _ _ _ _ Hmr) as (q & Eq).
  pose proof (root_inv_l1 st1 _ Hr') as ((Ht1 & _) & _).
  destruct (one_vm_walks_apart e ps st1 _ m (proj1 (proj2 Hi)) Hnth Hlive Ht1 HB HL Htf) as (Hhost & Hother).
  split; [intros Ne; exfalso; exact (Ne eq_refl)|]. intros _.
  exists m. split; [exact Hnth|]. split; [exact Hlive|]. split; [rewrite Eq; reflexivity|].
  split; [rewrite Eq; reflexivity|]. split; [rewrite Eq; reflexivity|]. split; [exact Hwb'|]. split; [|split].
  - intros k Hk. rewrite (Hwk k Hk).
    destruct (Z.leb_spec ipa (Z.of_nat k * 4096)), (Z.ltb_spec (Z.of_nat k * 4096) (ipa + n * 4096)); cbn [andb];
      try exact (walk_same_pool e e1 _ k Hok Hs2 eq_refl).
    rewrite u_map_offset by lia. reflexivity.
  - exact Hhost.
  - exact Hother.
Qed.

(** A call that leaves the slots and the host's stage-2 record as they
    were, the host's walk below 2^48, the walk of one live VM below 2^48
    and every other live VM's walk as it was keeps [walks_below]. *)
Lemma walks_below_one : forall e e' i m, walks_below e ->
  Isolation.Engine_vms e' = Isolation.Engine_vms e -> Isolation.Engine_host e' = Isolation.Engine_host e ->
  walk_below e' (Isolation.Engine_host e) -> nth_error (Isolation.Engine_vms e) i = Some m ->
  walk_below e' (Isolation.vm_s2 m) ->
  (forall j m', j <> i -> nth_error (Isolation.Engine_vms e) j = Some m' -> Isolation.vm_live m' = true ->
     forall k, CodeAbs.walk e' (Isolation.vm_s2 m') k = CodeAbs.walk e (Isolation.vm_s2 m') k) ->
  walks_below e'.
Proof.
  intros e e' i m (_ & Hvb) Ev Eh Hwh Hnth Hwm Hother. split; [rewrite Eh; exact Hwh|].
  intros j m2 Hnth2 Hlive2. rewrite Ev in Hnth2.
  destruct (Nat.eq_dec j i) as [->|Hj].
  - rewrite Hnth in Hnth2. injection Hnth2 as <-. exact Hwm.
  - intros k p w Hk E. rewrite (Hother j m2 Hj Hnth2 Hlive2 k) in E. exact (Hvb j m2 Hnth2 Hlive2 k p w Hk E).
Qed.

(** MEM_SHARE keeps [walks_below]. *)
Corollary MemShare_walks_below : forall e tr id pa ipa n perms st e' tr', mem_inv e -> walks_below e ->
  Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e)) +
    Isolation.Range_Size (Isolation.Config_RAM (Isolation.Engine_cfg e)) <= 2 ^ 40 ->
  0 <= id < 2 ^ 64 -> 0 <= pa < 2 ^ 64 -> 0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 ->
  Isolation.Engine_MemShare root id pa ipa n perms e tr = Ok st e' tr' -> walks_below e'.
Proof.
  intros e tr id pa ipa n perms st e' tr' Hi Hwb Hram Hid Hpa Hipa Hn Hrun.
  destruct (MemShare_walks e tr id pa ipa n perms st e' tr' Hi Hwb Hram Hid Hpa Hipa Hn Hrun) as [Herr Hsucc].
  destruct (Z.eq_dec st Abi.Success) as [Es|Ne]; [|rewrite (Herr Ne); exact Hwb].
  destruct (Hsucc Es) as (m & Hnth & _ & Ev & Eh & _ & Hwm & _ & Hhost & Hother).
  apply (walks_below_one e e' (Z.to_nat (id - 1)) m Hwb Ev Eh); [|exact Hnth|exact Hwm|exact Hother].
  intros k p w Hk E. rewrite Hhost in E. exact (proj1 Hwb k p w Hk E).
Qed.

(** MEM_RECLAIM keeps [walks_below]: the host's walk by
    [MemReclaim_host_walk], the live VMs' walks unchanged
    ([MemReclaim_walks], CodeEngineInv). *)
Corollary MemReclaim_walks_below : forall e tr pa n st e' tr', mem_inv e -> walks_below e ->
  Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e)) +
    Isolation.Range_Size (Isolation.Config_RAM (Isolation.Engine_cfg e)) <= 2 ^ 40 ->
  0 <= pa < 2 ^ 64 -> 0 <= n < 2 ^ 64 ->
  Isolation.Engine_MemReclaim root pa n e tr = Ok st e' tr' -> walks_below e'.
Proof.
  intros e tr pa n st e' tr' Hi (Hhb & Hvb) Hram Hpa Hn Hrun.
  destruct (MemReclaim_host_walk e tr pa n st e' tr' Hi Hhb Hram Hpa Hn Hrun) as (_ & Eh & Hhb' & _).
  destruct (MemReclaim_walks e tr pa n st e' tr' Hi Hram Hpa Hn Hrun) as (_ & Ev & _ & Hw).
  split; [rewrite Eh; exact Hhb'|].
  intros j m Hnth Hlive k p w Hk E. rewrite Ev in Hnth.
  rewrite (Hw m k (nth_error_In _ _ Hnth) Hlive) in E. exact (Hvb j m Hnth Hlive k p w Hk E).
Qed.

(** ** MEM_DONATE *)

(** MEM_DONATE, from [mem_inv] and [walks_below] with RAM inside the IPA
    space: an answer other than SUCCESS changes nothing; after SUCCESS
    the slots and the host's stage-2 record are as they were, the host's
    walk maps no IPA page of the PA range (the host maps RAM at its own
    address) and every other page as before, the VM's walk maps each IPA
    page of its range to its offset from [pa] with the permission bits
    asked and every other page as before, both stay below 2^48, and
    every other live VM's walk is as it was. *)
Theorem MemDonate_walks : forall e tr id pa ipa n perms st e' tr', mem_inv e -> walks_below e ->
  Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e)) +
    Isolation.Range_Size (Isolation.Config_RAM (Isolation.Engine_cfg e)) <= 2 ^ 40 ->
  0 <= id < 2 ^ 64 -> 0 <= pa < 2 ^ 64 -> 0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 ->
  Isolation.Engine_MemDonate root id pa ipa n perms e tr = Ok st e' tr' ->
  (st <> Abi.Success -> e' = e) /\
  (st = Abi.Success -> exists m, nth_error (Isolation.Engine_vms e) (Z.to_nat (id - 1)) = Some m /\
     Isolation.vm_live m = true /\ Isolation.Engine_vms e' = Isolation.Engine_vms e /\
     Isolation.Engine_host e' = Isolation.Engine_host e /\ Isolation.Engine_cfg e' = Isolation.Engine_cfg e /\
     walk_below e' (Isolation.Engine_host e) /\ walk_below e' (Isolation.vm_s2 m) /\
     (forall k, Z.of_nat k * 4096 < 2 ^ 40 ->
        CodeAbs.walk e' (Isolation.Engine_host e) k =
          if (pa <=? Z.of_nat k * 4096) && (Z.of_nat k * 4096 <? pa + n * 4096) then None
          else CodeAbs.walk e (Isolation.Engine_host e) k) /\
     (forall k, Z.of_nat k * 4096 < 2 ^ 40 ->
        CodeAbs.walk e' (Isolation.vm_s2 m) k =
          if (ipa <=? Z.of_nat k * 4096) && (Z.of_nat k * 4096 <? ipa + n * 4096)
          then Some (pa + (Z.of_nat k * 4096 - ipa), Z.land (wrapu 8 perms) 7)
          else CodeAbs.walk e (Isolation.vm_s2 m) k) /\
     (forall j m', j <> Z.to_nat (id - 1) -> nth_error (Isolation.Engine_vms e) j = Some m' ->
       Isolation.vm_live m' = true ->
       forall k, CodeAbs.walk e' (Isolation.vm_s2 m') k = CodeAbs.walk e (Isolation.vm_s2 m') k) /\
     forall k, Z.of_nat k * 4096 < 2 ^ 40 -> ~ (pa <= Z.of_nat k * 4096 < pa + n * 4096) ->
       lv3_at e (Isolation.Engine_host e) k -> lv3_at e' (Isolation.Engine_host e) k).
Proof.
  intros e tr id pa ipa n perms st e' tr' Hi (Hhb & Hvb) Hram Hid Hpa Hipa Hn Hrun.
  pose proof Hi as (Hm & Ho & _). pose proof Ho as (Hp & (Hal & Hbelow) & Hh & Hown & Hdis).
  pose proof Hp as (Hok & _ & _ & Hcok & _).
  pose proof (owns_root_inv e _ Hp Hh) as Hhr. pose proof (root_inv_l1 e _ Hhr) as Hhl.
  destruct (MemDonate_no_failure e tr id pa ipa n perms Hm (conj Hal Hbelow) (s2_owned_roots e Ho) Hhr
    (disjoint_host_apart e Hdis) Hram Hid Hpa Hipa Hn) as (st0 & e0 & tr0 & H0 & Herr & Hsucc).
  rewrite H0 in Hrun. injection Hrun as <- <- <-.
  split; [exact Herr|]. intros Es.
  destruct (Hsucc Es) as (m & q2 & ps & q4 & Hnth & Hps & Hlive & Ee & Hh2 & Htf2 & HB2 & HL2 & Hr0 & Htf4 & HB & HL &
    Nh & Nv & tr2 & tr3 & HNh & Hun & Hr2 & HN3 & Hmr & HNv0 & Hle & Hc2).
  destruct (MemDonate_reaches_unmap e tr id pa ipa n perms Hm (or_intror (l1_inv_tree e _ Hhl)) Hram Hid Hpa Hipa Hn)
    as [(st1 & Hc1 & Hne)|(Nh' & Nv' & Hpass & _)].
  { rewrite H0 in Hc1. injection Hc1 as E _ _. subst st1. contradiction. }
  destruct Hpass as (_ & Hid1 & _ & Hn1 & Hpal & Hial & Hplo & Hphi & H40).
  set (e2 := Isolation.set_Engine_pool q2 e) in *.
  set (e3 := Isolation.set_Engine_pages ps e2) in *.
  set (h := Isolation.stage2_root (Isolation.Engine_host e)) in *.
  set (r := Isolation.stage2_root (Isolation.vm_s2 m)) in *.
  pose proof (Hown m (nth_error_In _ _ Hnth) Hlive) as Hov.
  pose proof (root_inv_l1 e2 _ Hr2) as Hl2. pose proof Hl2 as ((Hok2 & _) & _).
  pose proof (root_inv_l1 e0 _ Hr0) as ((Hok0 & _) & _).
  assert (Hp2 : pool_inv e2) by exact (proj1 (root_inv_l1 e2 h Hh2)).
  destruct (slot_at e _ m Hnth) as (Hi1 & Ei1).
  assert (Hlv1 : Isolation.vm_live (vm_at e (Z.to_nat (id - 1))) = true) by (rewrite Ei1; exact Hlive).
  assert (Hdhr : disjoint (s2_tables e h) (s2_tables e r)).
  { pose proof (proj1 Hdis _ Hi1 Hlv1) as H. unfold root_at in H. rewrite Ei1 in H. exact H. }
  (* the host's unmap *)
  destruct (unmapRange_walk_range e tr host_place (Isolation.Engine_host e) pa n Nh (host_place_good e) Hhr Hhb Hal Hbelow
    ltac:(lia) ltac:(lia) ltac:(lia) Hpal HNh ltac:(lia)) as (e2' & tr2' & Hun' & _ & _ & _ & _ & _ & Hwbh2 & Hwkh2).
  rewrite Hun in Hun'. injection Hun' as <- <-.
  destruct (unmapRange_nb e tr host_place (Isolation.Engine_host e) pa n Nh (host_place_good e) Hhr Hal Hbelow
    ltac:(lia) ltac:(lia) ltac:(lia) Hpal HNh ltac:(lia)) as (e2' & tr2' & Hun' & Hnb2).
  rewrite Hun in Hun'. injection Hun' as <- <-.
  (* the VM's tree and walk across it *)
  destruct (tree_apart_kept e e2 h r Htf2 (owns_root_inv e r Hp Hov) (disjoint_sym _ _ Hdhr) Hp2 HB2 HL2) as (_ & Hrl2).
  assert (Hwv2 : forall k, CodeAbs.walk e2 (Isolation.vm_s2 m) k = CodeAbs.walk e (Isolation.vm_s2 m) k)
    by exact (walk_apart e e2 h (Isolation.vm_s2 m) Hp Hok2 HB2 HL2 Htf2 Hov Hdhr).
  assert (Hs2v : s2_ok e2 (Isolation.vm_s2 m)) by (right; exact (l1_inv_tree e2 _ Hl2)).
  assert (Hwbv3 : walk_below e3 (Isolation.vm_s2 m)).
  { apply (walk_below_same_pool e2 e3 _ Hok2 Hs2v eq_refl). intros k p w Hk E. rewrite Hwv2 in E.
    exact (Hvb _ m Hnth Hlive k p w Hk E). }
  (* the VM's map *)
  destruct (mapRange_walk_range e3 tr3 (s2_place (id - 1)) (Isolation.vm_s2 m) ipa pa n
    (Isolation.mk_Attr (wrapu 8 perms) false) Nv ltac:(apply s2_place_good; [lia|exact Hnth]) Hr2 Hwbv3
    ltac:(change (pool_base e3) with (pool_base e2); rewrite HB2; exact Hal)
    ltac:(change (pool_base e3 + 4096 * len (tables e3)) with (pool_base e2 + 4096 * len (tables e2)); rewrite HB2, HL2;
          exact Hbelow)
    ltac:(lia) ltac:(lia) H40 Hial Hpal HN3
    ltac:(change (count_free (Isolation.Engine_pool e3)) with (count_free (Isolation.Engine_pool e2)); lia)
    (map_below _ ipa pa n _ ltac:(lia) ltac:(lia) ltac:(lia) H40 ltac:(lia)))
    as (e0' & tr0' & Hmr' & _ & _ & _ & _ & _ & Hwbv & Hwkv).
  rewrite Hmr in Hmr'. injection Hmr' as <- <-.
  (* the host's tree after its unmap shares no table with the VM's *)
  assert (Hd2hr : disjoint (s2_tables e2 h) (s2_tables e2 r)).
  { apply (disjoint_after (s2_tables e h) (s2_tables e r) _ _ (fun y => free_bit (Isolation.Engine_pool e) y = false) Hdhr
      (tree_list_grows e e2 h Htf2 Hh2)); [intros y Hy; apply Hrl2; exact Hy|intros y Hy; exact (owns_used e r y Hov Hy)]. }
  assert (Hwh0 : forall k, CodeAbs.walk e0 (Isolation.Engine_host e) k = CodeAbs.walk e2 (Isolation.Engine_host e) k).
  { intros k. rewrite (walk_apart e3 e0 r (Isolation.Engine_host e) Hp2 Hok0 ltac:(rewrite HB, <- HB2; reflexivity)
      ltac:(rewrite HL, <- HL2; reflexivity) Htf4 (root_inv_owns e2 h Hh2) (disjoint_sym _ _ Hd2hr) k).
    exact (walk_same_pool e2 e3 _ k Hok2 (or_intror (l1_inv_tree e2 _ (root_inv_l1 e2 h Hh2))) eq_refl). }
  exists m. split; [exact Hnth|]. split; [exact Hlive|]. split; [rewrite Ee; reflexivity|]. split; [rewrite Ee; reflexivity|].
  split; [rewrite Ee; reflexivity|].
  split; [intros k p w Hk E; rewrite Hwh0 in E; exact (Hwbh2 k p w Hk E)|]. split; [exact Hwbv|]. split; [|split; [|split]].
  - intros k Hk. rewrite Hwh0, (Hwkh2 k Hk). destruct (_ && _); reflexivity.
  - intros k Hk. rewrite (Hwkv k Hk).
    destruct (Z.leb_spec ipa (Z.of_nat k * 4096)), (Z.ltb_spec (Z.of_nat k * 4096) (ipa + n * 4096)); cbn [andb];
      try (rewrite <- (Hwv2 k); exact (walk_same_pool e2 e3 _ k Hok2 Hs2v eq_refl)).
    rewrite u_map_offset by lia. reflexivity.
  - intros j m2 Hj Hnth2 Hlive2 k.
    destruct (slot_at e j m2 Hnth2) as (Hj1 & Ej1).
    pose proof (Hown m2 (nth_error_In _ _ Hnth2) Hlive2) as Hov2.
    assert (Hdh2 : disjoint (s2_tables e h) (s2_tables e (Isolation.stage2_root (Isolation.vm_s2 m2)))).
    { pose proof (proj1 Hdis j Hj1 ltac:(rewrite Ej1; exact Hlive2)) as H. unfold root_at in H. rewrite Ej1 in H. exact H. }
    assert (Hdr2 : disjoint (s2_tables e r) (s2_tables e (Isolation.stage2_root (Isolation.vm_s2 m2)))).
    { pose proof (proj2 Hdis _ j Hi1 Hj1 ltac:(intros E; apply Hj; symmetry; exact E) Hlv1
        ltac:(rewrite Ej1; exact Hlive2)) as H.
      unfold root_at in H. rewrite Ei1, Ej1 in H. exact H. }
    destruct (tree_apart_kept e e2 h _ Htf2 (owns_root_inv e _ Hp Hov2) (disjoint_sym _ _ Hdh2) Hp2 HB2 HL2)
      as (Hri2 & Hil2).
    assert (Hd2 : disjoint (s2_tables e2 r) (s2_tables e2 (Isolation.stage2_root (Isolation.vm_s2 m2)))).
    { intros y Hy Hy'. apply Hrl2 in Hy. apply Hil2 in Hy'. exact (Hdr2 y Hy Hy'). }
    rewrite (walk_apart e3 e0 r (Isolation.vm_s2 m2) Hp2 Hok0 ltac:(rewrite HB, <- HB2; reflexivity)
      ltac:(rewrite HL, <- HL2; reflexivity) Htf4 (root_inv_owns e2 _ Hri2) Hd2 k).
    rewrite (walk_same_pool e2 e3 _ k Hok2 (or_intror (l1_inv_tree e2 _ (root_inv_l1 e2 _ Hri2))) eq_refl).
    exact (walk_apart e e2 h (Isolation.vm_s2 m2) Hp Hok2 HB2 HL2 Htf2 Hov2 Hdh2 k).
  - intros k Hk Hout Hl.
    apply (lv3_apart e3 e0 r (Isolation.Engine_host e) k Hp2 Hok0 ltac:(rewrite HB, <- HB2; reflexivity)
      ltac:(rewrite HL, <- HL2; reflexivity) Htf4 (root_inv_owns e2 h Hh2) (disjoint_sym _ _ Hd2hr)).
    exact (Hnb2 k Hk (or_introl Hl) (out_no_cover _ _ _ Hout ltac:(lia))).
Qed.

(** MEM_DONATE keeps [walks_below]. *)
Corollary MemDonate_walks_below : forall e tr id pa ipa n perms st e' tr', mem_inv e -> walks_below e ->
  Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e)) +
    Isolation.Range_Size (Isolation.Config_RAM (Isolation.Engine_cfg e)) <= 2 ^ 40 ->
  0 <= id < 2 ^ 64 -> 0 <= pa < 2 ^ 64 -> 0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 ->
  Isolation.Engine_MemDonate root id pa ipa n perms e tr = Ok st e' tr' -> walks_below e'.
Proof.
  intros e tr id pa ipa n perms st e' tr' Hi Hwb Hram Hid Hpa Hipa Hn Hrun.
  destruct (MemDonate_walks e tr id pa ipa n perms st e' tr' Hi Hwb Hram Hid Hpa Hipa Hn Hrun) as [Herr Hsucc].
  destruct (Z.eq_dec st Abi.Success) as [Es|Ne]; [|rewrite (Herr Ne); exact Hwb].
  destruct (Hsucc Es) as (m & Hnth & _ & Ev & Eh & _ & Hwh & Hwm & _ & _ & Hother & _).
  exact (walks_below_one e e' _ m Hwb Ev Eh Hwh Hnth Hwm Hother).
Qed.

(** ** VM_CREATE *)

Lemma host_pages_at_slot : forall E i X, Isolation.Engine_host (at_slot E i X) = Isolation.Engine_host E /\
  Isolation.Engine_pages (at_slot E i X) = Isolation.Engine_pages E.
Proof. intros [] i X. split; reflexivity. Qed.

Lemma host_pages_set_pool : forall q E, Isolation.Engine_host (Isolation.set_Engine_pool q E) = Isolation.Engine_host E /\
  Isolation.Engine_pages (Isolation.set_Engine_pool q E) = Isolation.Engine_pages E.
Proof. intros q []. split; reflexivity. Qed.

(** Every outcome of VM_CREATE leaves the ledger and the host's walk as
    they were, and each live VM's walk either as it was in the same slot
    or, for the slot it fills, mapping nothing. *)
Theorem VMCreate_walk_cases : forall e tr n flags r e' tr', create_ok e -> tables_ok e ->
  owns_tables e (Isolation.stage2_root (Isolation.Engine_host e)) -> vms_own e -> 0 <= n < 2 ^ 64 ->
  Isolation.Engine_VMCreate root n flags e tr = Ok r e' tr' ->
  Isolation.Engine_pages e' = Isolation.Engine_pages e /\ Isolation.Engine_host e' = Isolation.Engine_host e /\
  (forall k, CodeAbs.walk e' (Isolation.Engine_host e) k = CodeAbs.walk e (Isolation.Engine_host e) k) /\
  forall j v, nth_error (Isolation.Engine_vms e') j = Some v -> Isolation.vm_live v = true ->
    (forall k, CodeAbs.walk e' (Isolation.vm_s2 v) k = None) \/
    (nth_error (Isolation.Engine_vms e) j = Some v /\
     forall k, CodeAbs.walk e' (Isolation.vm_s2 v) k = CodeAbs.walk e (Isolation.vm_s2 v) k).
Proof.
  intros e tr n flags r e' tr' Hc Hok Hh Hvms Hn Hrun.
  destruct (VMCreate_cases e tr n flags r e' tr' Hc Hn Hrun)
    as [->|[(slot & id & Hff & ->)|(slot & rt & q & X & Hff & [Hrt _] & HX & HXr & _ & ->)]].
  { split; [reflexivity|]. split; [reflexivity|]. split; [reflexivity|]. intros j v Hj _. right. split; [exact Hj|reflexivity]. }
  all: assert (Hs : (Z.to_nat slot < List.length (Isolation.Engine_vms e))%nat) by (destruct Hff as [Hr _]; unfold len in Hr; lia).
  - destruct (host_pages_at_slot e (Z.to_nat slot)
      (Isolation.set_vm_s2 (Isolation.mk_stage2 (-1) id) (nth (Z.to_nat slot) (Isolation.Engine_vms e) Isolation.zero_vm)))
      as [Eh Ep].
    split; [exact Ep|]. split; [exact Eh|]. split; [intros k; exact (walk_slot e _ _ _ k Hok Hh)|].
    intros j v Hj Hlv. rewrite vms_at in Hj. destruct (Nat.eq_dec j (Z.to_nat slot)) as [->|Hne].
    + rewrite nth_replace_nth in Hj by exact Hs. injection Hj as <-. cbn in Hlv.
      rewrite (first_free_dead e slot Hff) in Hlv. discriminate Hlv.
    + rewrite nth_replace_nth_other in Hj by (intros E; apply Hne; symmetry; exact E).
      right. split; [exact Hj|]. intros k. exact (walk_slot e _ _ _ k Hok (Hvms v (nth_error_In _ _ Hj) Hlv)).
  - destruct (host_pages_at_slot (Isolation.set_Engine_pool q e) (Z.to_nat slot) X) as [Eh Ep].
    destruct (host_pages_set_pool q e) as [Eh' Ep'].
    split; [rewrite Ep; exact Ep'|]. split; [rewrite Eh; exact Eh'|].
    split; [intros k; exact (walk_after e q rt _ X _ k Hok Hrt Hh)|].
    intros j v Hj Hlv. rewrite vms_at, vms_set_pool in Hj. destruct (Nat.eq_dec j (Z.to_nat slot)) as [->|Hne].
    + rewrite nth_replace_nth in Hj by exact Hs. injection Hj as <-. left. exact (new_vm_walk e q rt _ X Hok Hrt HXr).
    + rewrite nth_replace_nth_other in Hj by (intros E; apply Hne; symmetry; exact E).
      right. split; [exact Hj|]. intros k. exact (walk_after e q rt _ X _ k Hok Hrt (Hvms v (nth_error_In _ _ Hj) Hlv)).
Qed.

(** VM_CREATE keeps [walks_below]. *)
Corollary VMCreate_walks_below : forall e tr n flags r e' tr', create_ok e -> tables_ok e ->
  owns_tables e (Isolation.stage2_root (Isolation.Engine_host e)) -> vms_own e -> 0 <= n < 2 ^ 64 ->
  walks_below e -> Isolation.Engine_VMCreate root n flags e tr = Ok r e' tr' -> walks_below e'.
Proof.
  intros e tr n flags r e' tr' Hc Hok Hh Hvms Hn (Hhb & Hvb) Hrun.
  destruct (VMCreate_walk_cases e tr n flags r e' tr' Hc Hok Hh Hvms Hn Hrun) as (_ & Eh & Hwh & Hwv).
  split; [rewrite Eh; intros k p w Hk E; rewrite Hwh in E; exact (Hhb k p w Hk E)|].
  intros j v Hj Hlv k p w Hk E. destruct (Hwv j v Hj Hlv) as [Hn0|(Hj0 & Hw)].
  - rewrite Hn0 in E. discriminate E.
  - rewrite Hw in E. exact (Hvb j v Hj0 Hlv k p w Hk E).
Qed.

(** ** VM_DESTROY *)

(** VM_DESTROY of a VM sharing no page with the host, from [mem_inv] and
    [shadow_inv]: the engine as it was, or the slot destroyed with the
    ledger released entry by entry, the host's stage-2 record as it was,
    every live slot a live slot before, not the destroyed one, and every
    walk of a stage-2 that owned its tables as it was (the pool's tables
    are). *)
Theorem VMDestroy_walk_cases : forall e tr id, mem_inv e -> shadow_inv e ->
  len (Isolation.Engine_vms e) < 2 ^ 16 -> 0 <= id < 2 ^ 64 -> unshared_at e id ->
  exists st e' tr', Isolation.Engine_VMDestroy root id e tr = Ok st e' tr' /\
    (e' = e \/ exists i m, destroy_ctx e e' i m /\ i = Z.to_nat (id - 1) /\
       Isolation.Engine_pages e' = map (release_page id) (Isolation.Engine_pages e) /\
       Isolation.Engine_host e' = Isolation.Engine_host e /\
       (forall j v, nth_error (Isolation.Engine_vms e') j = Some v -> Isolation.vm_live v = true ->
          nth_error (Isolation.Engine_vms e) j = Some v /\ j <> i) /\
       forall s2 k, owns_tables e (Isolation.stage2_root s2) -> CodeAbs.walk e' s2 k = CodeAbs.walk e s2 k).
Proof.
  intros e tr id Hi Hs Hv Hid Hun.
  destruct (VMDestroy_mem_cases e tr id Hi Hs Hv Hid Hun) as (st & e' & tr' & Hrun & [E|(i & m & C & Ei & Hpg)]);
    exists st, e', tr'; (split; [exact Hrun|]); [left; exact E|right].
  exists i, m. split; [exact C|]. split; [exact Ei|]. split; [exact Hpg|].
  pose proof C as (_ & _ & _ & (D & _ & K & _)).
  pose proof D as (_ & _ & Et & Eb & _ & Elen & Eoth & _ & _ & _ & _ & (Eh & _)).
  pose proof Hi as (_ & ((Hok & _) & _) & _).
  assert (Htok : tables_ok e') by (unfold tables_ok in *; rewrite Et, Eb; exact Hok).
  split; [exact Eh|]. split.
  - intros j v Hj Hlv.
    assert (Hjl : (j < List.length (Isolation.Engine_vms e'))%nat) by (apply nth_error_Some; congruence).
    apply nth_error_nth with (d := Isolation.zero_vm) in Hj.
    destruct (Nat.eq_dec j i) as [->|Hne]; [rewrite Hj in K; rewrite K in Hlv; discriminate Hlv|].
    split; [|exact Hne]. rewrite <- Hj, (Eoth j Hne). apply nth_error_nth'. rewrite <- Elen. exact Hjl.
  - intros s2 k Ho. symmetry.
    exact (walk_frame e e' s2 k Hok Htok Eb ltac:(rewrite Et; reflexivity) (or_intror (proj1 Ho))
      ltac:(rewrite Et; intros x _; reflexivity)).
Qed.

(** VM_DESTROY of a VM sharing no page with the host keeps
    [walks_below]. *)
Corollary VMDestroy_walks_below : forall e tr id, mem_inv e -> shadow_inv e -> walks_below e ->
  len (Isolation.Engine_vms e) < 2 ^ 16 -> 0 <= id < 2 ^ 64 -> unshared_at e id ->
  exists st e' tr', Isolation.Engine_VMDestroy root id e tr = Ok st e' tr' /\ walks_below e'.
Proof.
  intros e tr id Hi Hs (Hhb & Hvb) Hv Hid Hun.
  destruct (VMDestroy_walk_cases e tr id Hi Hs Hv Hid Hun) as (st & e' & tr' & Hrun & [E|(i & m & _ & _ & _ & Eh & Hl & Hw)]);
    exists st, e', tr'; (split; [exact Hrun|]); [subst e'; split; assumption|].
  pose proof Hi as (_ & (_ & _ & Hh & Hvms & _) & _).
  split; [rewrite Eh; intros k p w Hk E; rewrite (Hw _ k Hh) in E; exact (Hhb k p w Hk E)|].
  intros j v Hj Hlv k p w Hk E. destruct (Hl j v Hj Hlv) as (Hj0 & _).
  rewrite (Hw _ k (Hvms v (nth_error_In _ _ Hj0) Hlv)) in E. exact (Hvb j v Hj0 Hlv k p w Hk E).
Qed.

(** ** One invariant: [engine_inv] and [walks_below] *)

(** Replacing a slot by one on the same stage-2 and as live (writing its
    shadow state, a vCPU or its mark of having run) keeps [walks_below]
    (with [mem_inv]): the host's walk and every live slot's stage-2 are
    as they were. *)
Lemma walks_below_slot : slot_stable (fun e => walks_below e /\ mem_inv e).
Proof.
  intros e i m m' [(Hhb & Hvb) Hi] Hn (Hs2 & Hl & _).
  split; [|exact (mem_inv_put_vm e i m m' Hi Hn Hs2 Hl)].
  pose proof Hi as (_ & (Hp & _ & Hh & Hvms & _) & _). pose proof Hp as (Hok & _).
  assert (Hil : (i < List.length (Isolation.Engine_vms e))%nat) by (apply nth_error_Some; congruence).
  change (put_vm e i m') with (at_slot e i m'). split.
  - rewrite (proj1 (host_pages_at_slot e i m')). intros k p w Hk E.
    rewrite (walk_slot e i m' _ k Hok Hh) in E. exact (Hhb k p w Hk E).
  - intros j v Hj Hlv k p w Hk E. rewrite vms_at in Hj. destruct (Nat.eq_dec j i) as [->|Hne].
    + rewrite nth_replace_nth in Hj by exact Hil. injection Hj as <-. rewrite Hs2 in E. rewrite Hl in Hlv.
      rewrite (walk_slot e i m' _ k Hok (Hvms m (nth_error_In _ _ Hn) Hlv)) in E. exact (Hvb i m Hn Hlv k p w Hk E).
    + rewrite nth_replace_nth_other in Hj by (intros E'; apply Hne; symmetry; exact E').
      rewrite (walk_slot e i m' _ k Hok (Hvms v (nth_error_In _ _ Hj) Hlv)) in E. exact (Hvb j v Hj Hlv k p w Hk E).
Qed.

Lemma walks_below_stable : store_stable (fun e => walks_below e /\ mem_inv e).
Proof. exact (put_vm_stable _ walks_below_slot). Qed.

(** [engine_inv] with every stage-2's walk below 2^48: what the walk
    theorems of the memory calls need, and what they keep. *)
Definition walk_inv (e : Isolation.Engine) : Prop := engine_inv e /\ walks_below e.

(** MEM_SHARE never fails from [walk_inv], with RAM inside the IPA space,
    and keeps it. *)
Theorem MemShare_walk_inv : forall e tr id pa ipa n perms, walk_inv e ->
  Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e)) +
    Isolation.Range_Size (Isolation.Config_RAM (Isolation.Engine_cfg e)) <= 2 ^ 40 ->
  0 <= id < 2 ^ 64 -> 0 <= pa < 2 ^ 64 -> 0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 ->
  exists st e' tr', Isolation.Engine_MemShare root id pa ipa n perms e tr = Ok st e' tr' /\ walk_inv e'.
Proof.
  intros e tr id pa ipa n perms [Hei Hwb] Hram Hid Hpa Hipa Hn.
  destruct (MemShare_engine_inv e tr id pa ipa n perms Hei Hid Hpa Hipa Hn) as (st & e' & tr' & Hrun & Hei').
  exists st, e', tr'. split; [exact Hrun|]. split; [exact Hei'|].
  exact (MemShare_walks_below e tr id pa ipa n perms st e' tr' (proj1 Hei) Hwb Hram Hid Hpa Hipa Hn Hrun).
Qed.

(** MEM_DONATE never fails from [walk_inv], with RAM inside the IPA
    space, and keeps it. *)
Theorem MemDonate_walk_inv : forall e tr id pa ipa n perms, walk_inv e ->
  Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e)) +
    Isolation.Range_Size (Isolation.Config_RAM (Isolation.Engine_cfg e)) <= 2 ^ 40 ->
  0 <= id < 2 ^ 64 -> 0 <= pa < 2 ^ 64 -> 0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 ->
  exists st e' tr', Isolation.Engine_MemDonate root id pa ipa n perms e tr = Ok st e' tr' /\ walk_inv e'.
Proof.
  intros e tr id pa ipa n perms [Hei Hwb] Hram Hid Hpa Hipa Hn.
  destruct (MemDonate_engine_inv e tr id pa ipa n perms Hei Hram Hid Hpa Hipa Hn) as (st & e' & tr' & Hrun & Hei').
  exists st, e', tr'. split; [exact Hrun|]. split; [exact Hei'|].
  exact (MemDonate_walks_below e tr id pa ipa n perms st e' tr' (proj1 Hei) Hwb Hram Hid Hpa Hipa Hn Hrun).
Qed.

(** MEM_RECLAIM never fails from [walk_inv], with RAM inside the IPA
    space, and keeps it. *)
Theorem MemReclaim_walk_inv : forall e tr pa n, walk_inv e ->
  Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e)) +
    Isolation.Range_Size (Isolation.Config_RAM (Isolation.Engine_cfg e)) <= 2 ^ 40 ->
  0 <= pa < 2 ^ 64 -> 0 <= n < 2 ^ 64 ->
  exists st e' tr', Isolation.Engine_MemReclaim root pa n e tr = Ok st e' tr' /\ walk_inv e'.
Proof.
  intros e tr pa n [Hei Hwb] Hram Hpa Hn.
  destruct (MemReclaim_engine_inv e tr pa n Hei Hram Hpa Hn) as (st & e' & tr' & Hrun & Hei').
  exists st, e', tr'. split; [exact Hrun|]. split; [exact Hei'|].
  exact (MemReclaim_walks_below e tr pa n st e' tr' (proj1 Hei) Hwb Hram Hpa Hn Hrun).
Qed.

(** VM_CREATE never fails from [create_inv] and [walk_inv] and keeps
    both. *)
Theorem VMCreate_walk_inv : forall c e tr n flags, create_inv c e -> walk_inv e -> 0 <= n < 2 ^ 64 ->
  exists r e', Isolation.Engine_VMCreate root n flags e tr = Ok r e' tr /\ create_inv c e' /\ walk_inv e'.
Proof.
  intros c e tr n flags Hc [Hei Hwb] Hn.
  destruct (VMCreate_engine_inv c e tr n flags Hc Hei Hn) as (r & e' & Hrun & Hc' & Hei').
  exists r, e'. split; [exact Hrun|]. split; [exact Hc'|]. split; [exact Hei'|].
  pose proof Hc as (Hco & Hok & _ & Hh & Hvms & _).
  exact (VMCreate_walks_below e tr n flags r e' tr Hco Hok Hh Hvms Hn Hwb Hrun).
Qed.

(** VM_DESTROY of a VM sharing no page with the host never fails from
    [walk_inv] and keeps it. *)
Theorem VMDestroy_walk_inv : forall e tr id, walk_inv e ->
  len (Isolation.Engine_vms e) < 2 ^ 16 -> 0 <= id < 2 ^ 64 -> unshared_at e id ->
  exists st e' tr', Isolation.Engine_VMDestroy root id e tr = Ok st e' tr' /\ walk_inv e'.
Proof.
  intros e tr id [Hei Hwb] Hv Hid Hun.
  destruct (VMDestroy_engine_inv e tr id Hei Hv Hid Hun) as (st & e' & tr' & Hrun & Hei').
  destruct (VMDestroy_walks_below e tr id (proj1 Hei) (proj2 Hei) Hwb Hv Hid Hun) as (st2 & e2 & tr2 & Hrun2 & Hwb').
  rewrite Hrun in Hrun2. injection Hrun2 as <- <- <-.
  exists st, e', tr'. split; [exact Hrun|]. split; assumption.
Qed.
