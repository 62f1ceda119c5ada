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
      it was ([walk_apart]);
    - MEM_RECLAIM, from [mem_inv] with the host's walk below 2^48 and RAM
      inside the IPA space: an answer other than SUCCESS leaves the engine
      as it was; SUCCESS leaves the host's walk mapping every IPA page of
      the range to itself with the host's RAM permissions and every other
      page as before, and below 2^48 ([MemReclaim_host_walk]): the
      stage-2 half of its refinement;
    - MEM_SHARE, from [mem_inv] and [walks_below] (the host's walk and
      every live VM's below 2^48) with RAM inside the IPA space: SUCCESS
      leaves the VM's walk mapping each IPA page of the range to its
      offset from the PA with the permission bits asked, every other
      page as before, and every other stage-2's walk as it was
      ([MemShare_walks]);
    - so MEM_SHARE and MEM_RECLAIM keep [walks_below]
      ([MemShare_walks_below], [MemReclaim_walks_below]). *)
From Coq Require Import ZArith Lia List Bool String.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodeVMCreateRefine.
From Bulkhead.Proofs Require CodeAbs.
From Bulkhead.Proofs Require Import CodePlace CodeVMCreate CodeStage2 CodePool CodeFree CodeUpdate CodeUpdateRoot CodeUpdateRange
  CodeUpdateRootRange CodeTransfer CodeMemShare CodeMemNoFailure CodeVMCreateInv CodeOwns CodeDonate CodeLedgerRefine
  CodeEngineInv CodeWalkUpdate CodeWalkRange.
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
  forall k, Z.of_nat k * 4096 < 2 ^ 40 ->
    CodeAbs.walk e' (Isolation.Engine_host e) k =
      if (st =? Abi.Success) && (pa <=? Z.of_nat k * 4096) && (Z.of_nat k * 4096 <? pa + n * 4096)
      then Some (Z.of_nat k * 4096, Z.land (Isolation.Attr_Perms Isolation.hostRAM) 7)
      else CodeAbs.walk e (Isolation.Engine_host e) k.
Proof.
  intros e tr pa n st e' tr' Hi Hwb Hram Hpa Hn Hrun.
  pose proof Hi as (Hm & (Hp & (Hal & Hbelow) & Hh & _) & _).
  pose proof (owns_root_inv e _ Hp Hh) as Hhr. pose proof (root_inv_l1 e _ Hhr) as Hhl.
  pose proof Hhl as ((Hok & _ & _ & Hcok & Hpl) & Hh0 & _).
  destruct (MemReclaim_reaches_mapRange e tr pa n Hm (or_intror (l1_inv_tree e _ Hhl)) Hpl Hram Hpa Hn)
    as [(st0 & Hcall & Hne)|(N & ps & Hn1 & Hpal & H40 & Hps & HN & Hle & Hcall)].
  { rewrite Hcall in Hrun. injection Hrun as <- <- <-.
    split; [intros _; reflexivity|]. split; [reflexivity|]. split; [exact Hwb|].
    intros k _. replace (st0 =? Abi.Success) with false by (symmetry; apply Z.eqb_neq; exact Hne). reflexivity. }
  set (e1 := Isolation.set_Engine_pages ps e) in *.
  set (tr1 := mkEvent "CleanToPoC" [pa; n] :: mkEvent "ZeroPages" [pa; n] :: tr) in *.
  assert (HN1 : Isolation.Engine_mapNeed root host_place pa pa n e1 tr1 = Ok N e1 tr1).
  { rewrite (mapNeed_spec e tr host_place _ pa pa n Hok Hh0 (l1_inv_tree e _ Hhl) (host_place_good e)
      ltac:(lia) ltac:(lia) H40) in HN.
    injection HN as <-.
    exact (mapNeed_spec e1 tr1 host_place _ pa pa n Hok Hh0 (l1_inv_tree e _ Hhl) (host_place_good e1) ltac:(lia) ltac:(lia) H40). }
  assert (Hs2 : s2_ok e (Isolation.Engine_host e)) by (right; exact (l1_inv_tree e _ Hhl)).
  destruct (mapRange_walk_range e1 tr1 host_place (Isolation.Engine_host e) pa pa n Isolation.hostRAM N
    (host_place_good e1) Hhr (walk_below_same_pool e e1 _ Hok Hs2 eq_refl Hwb) Hal Hbelow ltac:(lia) ltac:(lia) H40
    Hpal Hpal HN1 ltac:(change (Isolation.Engine_pool e1) with (Isolation.Engine_pool e); unfold count_ok in Hcok; lia)
    (map_below _ pa pa n _ ltac:(lia) ltac:(lia) ltac:(lia) H40 ltac:(lia)))
    as (st1 & tr1' & Hmr & _ & _ & _ & _ & _ & Hwb' & Hwk).
  assert (Hr2 : Isolation.Engine_MemReclaim root pa n e tr = Ok Abi.Success st1 tr1')
    by (rewrite Hcall; fold e1 tr1; unfold bind; rewrite Hmr; reflexivity).
  rewrite Hrun in Hr2. injection Hr2 as -> -> ->.
  destruct (mapRange_pool _ _ _ _ _ _ _ _ _ _ Hmr) as (q & Eq).
  split; [intros Ne; exfalso; exact (Ne eq_refl)|].
  split; [rewrite Eq; reflexivity|]. split; [exact Hwb'|].
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
     Isolation.Engine_host e' = Isolation.Engine_host e /\ walk_below e' (Isolation.vm_s2 m) /\
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
  assert (HN1 : Isolation.Engine_mapNeed root (s2_place (id - 1)) ipa pa n e1 tr = Ok N e1 tr).
  { rewrite (mapNeed_spec e tr _ _ ipa pa n Hok Ht0 (l1_inv_tree e _ Hl) (s2_place_good e (id - 1) m ltac:(lia) Hnth)
      ltac:(lia) ltac:(lia) H40) in HN.
    injection HN as <-.
    exact (mapNeed_spec e1 tr _ _ ipa pa n Hok Ht0 (l1_inv_tree e _ Hl) Hg1 ltac:(lia) ltac:(lia) H40). }
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
  destruct (slot_at e _ m Hnth) as (Hi1 & Ei1).
  assert (Hlv1 : Isolation.vm_live (vm_at e (Z.to_nat (id - 1))) = true) by (rewrite Ei1; exact Hlive).
  assert (Hdh : disjoint (s2_tables e (Isolation.stage2_root (Isolation.vm_s2 m)))
                         (s2_tables e (Isolation.stage2_root (Isolation.Engine_host e)))).
  { apply disjoint_sym. pose proof (proj1 Hdis _ Hi1 Hlv1) as H. unfold root_at in H. rewrite Ei1 in H. exact H. }
  split; [intros Ne; exfalso; exact (Ne eq_refl)|]. intros _.
  exists m. split; [exact Hnth|]. split; [exact Hlive|]. split; [rewrite Eq; reflexivity|].
  split; [rewrite Eq; reflexivity|]. split; [exact Hwb'|]. split; [|split].
  - intros k Hk. rewrite (Hwk k Hk).
    destruct (Z.leb_spec ipa (Z.of_nat k * 4096)), (Z.ltb_spec (Z.of_nat k * 4096) (ipa + n * 4096)); cbn [andb];
      try exact (walk_same_pool e e1 _ k Hok Hs2 eq_refl).
    rewrite u_map_offset by lia. reflexivity.
  - intros k. rewrite (walk_apart e1 st1 _ (Isolation.Engine_host e) Hp Ht1 HB HL Htf Hh Hdh k).
    exact (walk_same_pool e e1 _ k Hok (or_intror (proj1 Hh)) eq_refl).
  - intros j m2 Hj Hnth2 Hlive2 k.
    destruct (slot_at e j m2 Hnth2) as (Hj1 & Ej1).
    pose proof (Hown m2 (nth_error_In _ _ Hnth2) Hlive2) as Hov2.
    assert (Hd2 : disjoint (s2_tables e (Isolation.stage2_root (Isolation.vm_s2 m)))
                           (s2_tables e (Isolation.stage2_root (Isolation.vm_s2 m2)))).
    { pose proof (proj2 Hdis _ j Hi1 Hj1 ltac:(intros E; apply Hj; symmetry; exact E) Hlv1
        ltac:(rewrite Ej1; exact Hlive2)) as H.
      unfold root_at in H. rewrite Ei1, Ej1 in H. exact H. }
    rewrite (walk_apart e1 st1 _ (Isolation.vm_s2 m2) Hp Ht1 HB HL Htf Hov2 Hd2 k).
    exact (walk_same_pool e e1 _ k Hok (or_intror (proj1 Hov2)) eq_refl).
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
  destruct (Hsucc Es) as (m & Hnth & Hlive & Ev & Eh & Hwm & _ & Hhost & Hother).
  destruct Hwb as (Hhb & Hvb). split.
  - rewrite Eh. intros k p w Hk E. rewrite Hhost in E. exact (Hhb k p w Hk E).
  - intros j m2 Hnth2 Hlive2. rewrite Ev in Hnth2.
    destruct (Nat.eq_dec j (Z.to_nat (id - 1))) as [->|Hj].
    + rewrite Hnth in Hnth2. injection Hnth2 as <-. exact Hwm.
    + intros k p w Hk E. rewrite (Hother j m2 Hj Hnth2 Hlive2 k) in E. exact (Hvb j m2 Hnth2 Hlive2 k p w Hk E).
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
