(** * MEM_UNSHARE keeps the engine's invariants

    Theorems about proofs/code/Isolation.v, the translation of
    isolation/mem.go, from CodeUnshare.v (MEM_UNSHARE taken apart and
    never failing) and the stage-2 update's effect on the walk
    (CodeWalkRange.unmapRange_walk_range). MEM_UNSHARE changes one live
    VM's tree of tables, the pool and the ledger; the slots, the host's
    stage-2 record and the configuration stay as they were.
    Proved here:
    - an update of one live VM's tree that keeps [root_inv] and
      [tree_frame] keeps [s2_owned] (CodeOwns.one_tree_keeps_owned), so
      every outcome of MEM_UNSHARE keeps [s2_owned], [mem_inv] and
      [engine_inv] ([MemUnshare_keeps_owned], [MemUnshare_keeps_mem_inv],
      [MemUnshare_engine_inv]);
    - after SUCCESS the VM's walk maps no IPA page of the range and every
      other page as before, stays below 2^48, and the host's walk and
      every other live VM's are as they were; the ledger is
      [unshare_ledger] of the range ([MemUnshare_walks]); so MEM_UNSHARE
      keeps [walks_below] and [walk_inv] ([MemUnshare_walks_below],
      [MemUnshare_walk_inv]);
    - a walk that only loses pages stays sane ([s2_sane_shrink]), so
      MEM_UNSHARE keeps [create_inv] ([MemUnshare_create_inv]);
    - after the ledger commit, the model's page metadata gives the host,
      unshared, each page of RAM the walk of the range reaches, and
      leaves every other page ([unshare_abs_pages]);
    - a page is held by one VM at most ([holds_for_unique]), so MEM_UNSHARE
      keeps [walk_held]: the VM keeps only pages its walk of the range
      does not reach, and no other VM held those ([MemUnshare_walk_held]). *)
From Coq Require Import ZArith Lia List Bool.
From Bulkhead.Spec Require Import State Spec.
From Bulkhead.Proofs Require Import Invariants.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodePlace CodeVCPU CodeVMCreate CodeStage2 CodePool CodeFree CodeTransfer
  CodeShadow CodeMemShare CodeUpdate CodeUpdateRange CodeUpdateRoot CodeUpdateRootRange CodeMemNoFailure CodeUnshare
  CodeAbs CodeVMCreateInv CodeOwns CodeEngineInv CodeWalkRange CodeWalkCalls CodeWalkHeld CodeMemCall CodeLedgerRefine CodeAbsLedger CodeMapped.
From Bulkhead.Proofs Require CodeMemState.
Import ListNotations.
Open Scope Z_scope.

(** ** The tables *)

Theorem MemUnshare_keeps_owned : forall e tr id ipa n st e' tr', mem_ok e -> s2_owned e ->
  0 <= id < 2 ^ 64 -> 0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 ->
  Isolation.Engine_MemUnshare root id ipa n e tr = Ok st e' tr' -> s2_owned e'.
Proof.
  intros e tr id ipa n st e' tr' Hm Ho Hid Hipa Hn H.
  pose proof Ho as (_ & Hpl & _).
  destruct (MemUnshare_no_failure e tr id ipa n Hm Hpl (s2_owned_roots e Ho) Hid Hipa Hn)
    as (st0 & e0 & tr0 & H0 & Herr & Hsucc).
  rewrite H0 in H. injection H as <- <- <-.
  destruct (Z.eq_dec st0 Abi.Success) as [Es|Ne]; [|rewrite (proj1 (Herr Ne)); exact Ho].
  destruct (Hsucc Es) as (m & q & ps & Hnth & Hlive & _ & _ & Ee & Hr' & HB & HL & Htf).
  apply (one_tree_keeps_owned e e0 _ m Ho Hnth Hlive); [rewrite Ee; reflexivity|rewrite Ee; reflexivity|assumption..].
Qed.

Theorem MemUnshare_keeps_mem_inv : forall e tr id ipa n st e' tr', mem_inv e ->
  0 <= id < 2 ^ 64 -> 0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 ->
  Isolation.Engine_MemUnshare root id ipa n e tr = Ok st e' tr' -> mem_inv e'.
Proof.
  intros e tr id ipa n st e' tr' (Hm & Ho & Hd) Hid Hipa Hn H.
  pose proof (MemUnshare_keeps_owned e tr id ipa n st e' tr' Hm Ho Hid Hipa Hn H) as Ho'.
  pose proof Ho as (_ & Hpl & _).
  destruct (MemUnshare_no_failure e tr id ipa n Hm Hpl (s2_owned_roots e Ho) Hid Hipa Hn)
    as (st0 & e0 & tr0 & H0 & Herr & Hsucc).
  rewrite H0 in H. injection H as <- <- <-.
  destruct (Z.eq_dec st0 Abi.Success) as [Es|Ne]; [|rewrite (proj1 (Herr Ne)); split; [exact Hm|split; assumption]].
  destruct (Hsucc Es) as (m & q & ps & _ & _ & Hps & _ & Ee & _).
  apply (mem_inv_after e e0 Hm Hd Ho'); rewrite Ee; [reflexivity|reflexivity|exact Hps].
Qed.

(** MEM_UNSHARE never fails from [engine_inv] and keeps it. *)
Theorem MemUnshare_engine_inv : forall e tr id ipa n, engine_inv e ->
  0 <= id < 2 ^ 64 -> 0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 ->
  exists st e' tr', Isolation.Engine_MemUnshare root id ipa n e tr = Ok st e' tr' /\ engine_inv e'.
Proof.
  intros e tr id ipa n [Hi Hs] Hid Hipa Hn. pose proof Hi as (Hm & Ho & _). pose proof Ho as (_ & Hpl & _).
  destruct (MemUnshare_no_failure e tr id ipa n Hm Hpl (s2_owned_roots e Ho) Hid Hipa Hn)
    as (st & e' & tr' & H & Herr & Hsucc).
  exists st, e', tr'. split; [exact H|].
  split; [exact (MemUnshare_keeps_mem_inv e tr id ipa n st e' tr' Hi Hid Hipa Hn H)|].
  apply (shadow_inv_same_vms e); [|exact Hs].
  destruct (Z.eq_dec st Abi.Success) as [Es|Ne]; [|rewrite (proj1 (Herr Ne)); reflexivity].
  destruct (Hsucc Es) as (m & q & ps & _ & _ & _ & _ & -> & _). reflexivity.
Qed.

(** ** The walks *)

(** MEM_UNSHARE, from [mem_inv] and [walks_below]: an answer other than
    SUCCESS changes nothing; after SUCCESS the slots, the host's stage-2
    record and the configuration are as they were, the ledger is
    [unshare_ledger] of the range, the VM's walk maps no IPA page of the
    range, every other IPA page below 2^40 as before, and stays below
    2^48, and the host's walk and every other live VM's are as they
    were. *)
Theorem MemUnshare_walks : forall e tr id ipa n st e' tr', mem_inv e -> walks_below e ->
  0 <= id < 2 ^ 64 -> 0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 ->
  Isolation.Engine_MemUnshare root id ipa n e tr = Ok st e' tr' ->
  (st <> Abi.Success -> e' = e) /\
  (st = Abi.Success -> exists m, nth_error (Isolation.Engine_vms e) (Z.to_nat (id - 1)) = Some m /\
     Isolation.vm_live m = true /\ 1 <= id /\ 1 <= n /\ ipa mod 4096 = 0 /\ ipa + n * 4096 <= 2 ^ 40 /\
     (forall i, (i < Z.to_nat n)%nat -> exists pa w,
        CodeAbs.walk e (Isolation.vm_s2 m) (Z.to_nat (ipa / 4096) + i) = Some (pa, w) /\
        CodeMemState.ram_base e <= pa < CodeMemState.ram_base e + CodeMemState.ram_size e) /\
     Isolation.Engine_vms e' = Isolation.Engine_vms e /\
     Isolation.Engine_host e' = Isolation.Engine_host e /\ Isolation.Engine_cfg e' = Isolation.Engine_cfg e /\
     len (Isolation.Engine_pages e') = len (Isolation.Engine_pages e) /\
     (forall j, nth j (Isolation.Engine_pages e') Isolation.zero_page =
        unshare_ledger e (Isolation.vm_s2 m) ipa (Z.to_nat n) j) /\
     walk_below e' (Isolation.vm_s2 m) /\
     (forall k, Z.of_nat k * 4096 < 2 ^ 40 ->
        CodeAbs.walk e' (Isolation.vm_s2 m) k =
          if (ipa <=? Z.of_nat k * 4096) && (Z.of_nat k * 4096 <? ipa + n * 4096)
          then None else CodeAbs.walk e (Isolation.vm_s2 m) k) /\
     (forall k, CodeAbs.walk e' (Isolation.Engine_host e) k = CodeAbs.walk e (Isolation.Engine_host e) k) /\
     forall j m', j <> Z.to_nat (id - 1) -> nth_error (Isolation.Engine_vms e) j = Some m' ->
       Isolation.vm_live m' = true ->
       forall k, CodeAbs.walk e' (Isolation.vm_s2 m') k = CodeAbs.walk e (Isolation.vm_s2 m') k).
Proof.
  intros e tr id ipa n st e' tr' Hi (Hhb & Hvb) Hid Hipa Hn Hrun.
  pose proof Hi as (Hm & (Hp & (Hal & Hbelow) & Hh & Hown & Hdis) & _).
  pose proof Hp as (Hok & _ & _ & Hcok & _).
  destruct (MemUnshare_reaches_unmap e tr id ipa n Hm Hid Hipa Hn)
    as [(st0 & Hcall & Hst & _)|(m & N & ps & Hid1 & Hnth & Hlive & Hn1 & Hial & H40 & Hmapped & HN & Hle & Hps & Hled & Hcall)].
  { rewrite Hcall in Hrun. injection Hrun as <- <- <-. split; [intros _; reflexivity|]. intros E; contradiction. }
  pose proof (Hown m (nth_error_In _ _ Hnth) Hlive) as Hov.
  pose proof (owns_root_inv e _ Hp Hov) as Hr.
  set (e1 := Isolation.set_Engine_pages ps e).
  pose proof (root_inv_l1 e _ Hr) as Hl.
  assert (Hg1 : good (s2_place (id - 1)) e1 (Isolation.vm_s2 m)) by (apply vm_place_pages; [lia|exact Hnth]).
  pose proof (vm_unmapNeed_pages e tr id m ipa n N ps Hok Hid1 Hnth Hr ltac:(lia) ltac:(lia) H40 HN) as HN1.
  assert (Hs2 : s2_ok e (Isolation.vm_s2 m)) by (right; exact (l1_inv_tree e _ Hl)).
  destruct (unmapRange_walk_range e1 tr (s2_place (id - 1)) (Isolation.vm_s2 m) ipa n N Hg1 Hr
    (walk_below_same_pool e e1 _ Hok Hs2 eq_refl (Hvb _ m Hnth Hlive)) Hal Hbelow ltac:(lia) ltac:(lia) H40 Hial HN1
    ltac:(change (Isolation.Engine_pool e1) with (Isolation.Engine_pool e); unfold count_ok in Hcok; lia))
    as (st1 & tr1 & Hur & Hr' & HB & HL & _ & Htf & Hwb' & Hwk).
  assert (Hr2 : Isolation.Engine_MemUnshare root id ipa n e tr = Ok Abi.Success st1 tr1)
    by (rewrite Hcall; fold e1; unfold bind; rewrite Hur; reflexivity).
  rewrite Hrun in Hr2. injection Hr2 as -> -> ->.
  destruct (unmapRange_pool _ _ _ _ _ _ _ _ Hur) as (q & Eq).
  pose proof (root_inv_l1 st1 _ Hr') as ((Ht1 & _) & _).
  destruct (one_vm_walks_apart e ps st1 _ m (proj1 (proj2 Hi)) Hnth Hlive Ht1 HB HL Htf) as (Hhost & Hother).
  split; [intros Ne; exfalso; exact (Ne eq_refl)|]. intros _.
  exists m. split; [exact Hnth|]. split; [exact Hlive|]. split; [exact Hid1|]. split; [exact Hn1|].
  split; [exact Hial|]. split; [exact H40|].
  split.
  { intros i Hil. pose proof (proj1 Hm) as Hlg. destruct Hlg as (Hb0 & _).
    replace i with (Z.to_nat (Z.of_nat i)) by lia.
    apply (mapped_walk e tr id m ipa n (Z.of_nat i) Hok Hb0 Hid1 Hnth Hs2 Hial ltac:(lia) H40 ltac:(lia)).
    exact (checked_mapped _ _ _ _ _ _ _ _ (Hmapped (Z.of_nat i) ltac:(lia))). }
  split; [rewrite Eq; reflexivity|].
  split; [rewrite Eq; reflexivity|]. split; [rewrite Eq; reflexivity|].
  split; [rewrite Eq; exact Hps|]. split; [rewrite Eq; exact Hled|]. split; [exact Hwb'|]. split; [|split].
  - intros k Hk. rewrite (Hwk k Hk). destruct (_ && _); [reflexivity|].
    exact (walk_same_pool e e1 _ k Hok Hs2 eq_refl).
  - exact Hhost.
  - exact Hother.
Qed.

(** MEM_UNSHARE keeps [walks_below]. *)
Corollary MemUnshare_walks_below : forall e tr id ipa n st e' tr', mem_inv e -> walks_below e ->
  0 <= id < 2 ^ 64 -> 0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 ->
  Isolation.Engine_MemUnshare root id ipa n e tr = Ok st e' tr' -> walks_below e'.
Proof.
  intros e tr id ipa n st e' tr' Hi Hwb Hid Hipa Hn Hrun.
  destruct (MemUnshare_walks e tr id ipa n st e' tr' Hi Hwb Hid Hipa Hn Hrun) as [Herr Hsucc].
  destruct (Z.eq_dec st Abi.Success) as [Es|Ne]; [|rewrite (Herr Ne); exact Hwb].
  destruct (Hsucc Es) as (m & Hnth & _ & _ & _ & _ & _ & _ & Ev & Eh & _ & _ & _ & Hwm & _ & Hhost & Hother).
  apply (walks_below_one e e' (Z.to_nat (id - 1)) m Hwb Ev Eh); [|exact Hnth|exact Hwm|exact Hother].
  intros k p w Hk E. rewrite Hhost in E. exact (proj1 Hwb k p w Hk E).
Qed.

(** MEM_UNSHARE never fails from [walk_inv] and keeps it. *)
Theorem MemUnshare_walk_inv : forall e tr id ipa n, walk_inv e ->
  0 <= id < 2 ^ 64 -> 0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 ->
  exists st e' tr', Isolation.Engine_MemUnshare root id ipa n e tr = Ok st e' tr' /\ walk_inv e'.
Proof.
  intros e tr id ipa n [Hei Hwb] Hid Hipa Hn.
  destruct (MemUnshare_engine_inv e tr id ipa n Hei Hid Hipa Hn) as (st & e' & tr' & Hrun & Hei').
  exists st, e', tr'. split; [exact Hrun|]. split; [exact Hei'|].
  exact (MemUnshare_walks_below e tr id ipa n st e' tr' (proj1 Hei) Hwb Hid Hipa Hn Hrun).
Qed.

(** ** The slots stay sane *)

(** A walk that maps nothing it did not map before stays sane: in RAM,
    and no two IPA pages on one page. *)
Lemma s2_sane_shrink : forall c e e' s2,
  (forall k pa w, (k < ipa_pages c)%nat -> walk e' s2 k = Some (pa, w) -> walk e s2 k = Some (pa, w)) ->
  s2_sane c e s2 -> s2_sane c e' s2.
Proof.
  intros c e e' s2 Hsub (Hram & Hinj). split.
  - intros k pa w Hk E. exact (Hram k pa w Hk (Hsub k pa w Hk E)).
  - intros k1 k2 pa1 pa2 w1 w2 Hk1 Hk2 E1 E2. exact (Hinj k1 k2 pa1 pa2 w1 w2 Hk1 Hk2 (Hsub _ _ _ Hk1 E1) (Hsub _ _ _ Hk2 E2)).
Qed.

(** MEM_UNSHARE keeps [create_inv]: the slots, the configuration and
    every other live VM's walk are as they were, the tables keep
    [engine_inv], and the VM's walk only loses pages. *)
Theorem MemUnshare_create_inv : forall c e tr id ipa n st e' tr', create_inv c e -> walk_inv e ->
  0 <= id < 2 ^ 64 -> 0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 ->
  Isolation.Engine_MemUnshare root id ipa n e tr = Ok st e' tr' -> create_inv c e'.
Proof.
  intros c e tr id ipa n st e' tr' Hc [Hei Hwb] Hid Hipa Hn Hrun.
  destruct (MemUnshare_engine_inv e tr id ipa n Hei Hid Hipa Hn) as (st0 & e0 & tr0 & Hrun0 & Hei').
  rewrite Hrun in Hrun0. injection Hrun0 as <- <- <-.
  destruct (MemUnshare_walks e tr id ipa n st e' tr' (proj1 Hei) Hwb Hid Hipa Hn Hrun) as [Herr Hsucc].
  destruct (Z.eq_dec st Abi.Success) as [Es|Ne]; [|rewrite (Herr Ne); exact Hc].
  destruct (Hsucc Es) as (m & Hnth & Hlive & _ & _ & _ & _ & _ & Ev & _ & Ecfg & _ & _ & _ & Hwm & _ & Hother).
  pose proof Hc as (_ & _ & Hcfg & _ & _ & _ & Hsane). unfold vms_sane in Hsane. rewrite Forall_forall in Hsane.
  pose proof Hcfg as (_ & _ & Hipl). change Isolation.ipaLimit with (2 ^ 40) in Hipl.
  apply (create_inv_one_vm c e e' _ m Hc Hei' Ev Ecfg Hnth); [|exact Hother].
  apply (s2_sane_shrink c e e' _); [|exact (Hsane m (nth_error_In _ _ Hnth) Hlive)].
  intros k pa w Hk E. rewrite (Hwm k ltac:(lia)) in E. destruct (_ && _); [discriminate E|exact E].
Qed.

(** ** The ledger as the model sees it *)

(** Page frame [p] is one the walk of [s2] reaches from an IPA page of
    the [n] pages at [ipa]. *)
Definition unshared_page (e : Isolation.Engine) (s2 : Isolation.stage2) (ipa : Z) (n p : nat) : bool :=
  existsb (fun i => Nat.eqb (pfnZ (walk_pa e s2 (Z.to_nat (ipa / 4096) + i))) p) (seq 0 n).

Lemma existsb_pointwise : forall {A} (f g : A -> bool) l, (forall x, In x l -> f x = g x) -> existsb f l = existsb g l.
Proof.
  intros A f g l H. induction l as [|x l IH]; [reflexivity|]. cbn [existsb].
  rewrite (H x (or_introl eq_refl)), IH by (intros y Hy; exact (H y (or_intror Hy))). reflexivity.
Qed.

(** The ledger index of a RAM address is its page frame less RAM's
    first. *)
Lemma index_pfn : forall c e pa p, cfg_rel c e ->
  CodeMemState.ram_base e <= pa < CodeMemState.ram_base e + CodeMemState.ram_size e -> in_ram c p = true ->
  Nat.eqb (Z.to_nat ((pa - CodeMemState.ram_base e) / 4096)) (p - State.ram_base c) = Nat.eqb (pfnZ pa) p.
Proof.
  intros c e pa p (_ & Hb & Hs) Hpa Hp. unfold CodeMemState.ram_base, CodeMemState.ram_size in *.
  rewrite <- Hb, <- Hs in Hpa. unfold in_ram, in_range in Hp. apply andb_true_iff in Hp as [H1 H2].
  apply Nat.leb_le in H1. apply Nat.ltb_lt in H2. unfold pfnZ. rewrite <- Hb.
  replace (pa - Z.of_nat (State.ram_base c) * 4096) with (pa + (- Z.of_nat (State.ram_base c)) * 4096) by ring.
  rewrite Z.div_add by lia.
  assert (Hq : Z.of_nat (State.ram_base c) <= pa / 4096) by (apply Z.div_le_lower_bound; lia).
  destruct (Nat.eqb_spec (Z.to_nat (pa / 4096 + - Z.of_nat (State.ram_base c))) (p - State.ram_base c)) as [E|E];
    destruct (Nat.eqb_spec (Z.to_nat (pa / 4096)) p) as [E'|E']; try reflexivity; exfalso; lia.
Qed.

(** After MEM_UNSHARE's ledger commit, each page of RAM the walk of the
    range reaches is the host's and not shared, and every other page as
    it was. *)
Lemma unshare_abs_pages : forall c e e' s2 ipa n, cfg_rel c e ->
  (forall i, (i < n)%nat -> CodeMemState.ram_base e <= walk_pa e s2 (Z.to_nat (ipa / 4096) + i) <
                           CodeMemState.ram_base e + CodeMemState.ram_size e) ->
  (forall j, nth j (Isolation.Engine_pages e') Isolation.zero_page = unshare_ledger e s2 ipa n j) ->
  forall p, abs_pages c e' p =
    if in_ram c p && unshared_page e s2 ipa n p then mkPage OHost NotShared else abs_pages c e p.
Proof.
  intros c e e' s2 ipa n Hcfg Hram Hled p. unfold abs_pages. destruct (in_ram c p) eqn:R; cbn [andb]; [|reflexivity].
  rewrite Hled. unfold unshare_ledger, unshared_page.
  rewrite (existsb_pointwise _ (fun i => Nat.eqb (pfnZ (walk_pa e s2 (Z.to_nat (ipa / 4096) + i))) p)).
  - destruct (existsb _ _); reflexivity.
  - intros i Hi. apply in_seq in Hi. exact (index_pfn c e _ p Hcfg (Hram i ltac:(lia)) R).
Qed.

(** A page the walk of the range reaches, when the walk maps each IPA
    page of the range, is reached from one of them. *)
Lemma unshared_hit : forall e s2 ipa n p, unshared_page e s2 ipa n p = true ->
  (forall i, (i < n)%nat -> exists pa w, walk e s2 (Z.to_nat (ipa / 4096) + i) = Some (pa, w)) ->
  exists i pa w, (i < n)%nat /\ walk e s2 (Z.to_nat (ipa / 4096) + i) = Some (pa, w) /\ pfnZ pa = p.
Proof.
  intros e s2 ipa n p U Hmp. unfold unshared_page in U. apply existsb_exists in U as (i & Hi & E). apply in_seq in Hi.
  apply Nat.eqb_eq in E. destruct (Hmp i ltac:(lia)) as (pa & w & Hw). exists i, pa, w.
  split; [lia|]. split; [exact Hw|]. unfold walk_pa in E. rewrite Hw in E. exact E.
Qed.

(** ** The pages the VMs hold *)

(** A page is held by one VM at most. *)
Lemma holds_for_unique : forall v v' pg, holds_for v pg = true -> holds_for v' pg = true -> v = v'.
Proof.
  intros v v' pg. unfold holds_for.
  destruct (pg_owner pg), (pg_share pg); intros H1 H2; try discriminate; apply Nat.eqb_eq in H1, H2; congruence.
Qed.

(** A call that takes the [n] pages at [ipa] out of the walk of live VM
    slot [i], each of them mapped before, keeps every other live VM's
    walk and the slots, and gives each RAM page the walk of that range
    reached one entry [x], every other page its old one, keeps
    [walk_held]: the VM keeps only pages outside the range, which the
    walk of the range does not reach (its walk maps no two IPA pages on
    one page), and a page the walk of the range reaches is held by this
    VM, so by no other. *)
Lemma walk_held_unmap : forall c e e' i m ipa n x, create_inv c e -> walk_held c e ->
  Isolation.Engine_vms e' = Isolation.Engine_vms e ->
  nth_error (Isolation.Engine_vms e) i = Some m -> Isolation.vm_live m = true ->
  0 <= ipa -> ipa mod 4096 = 0 -> ipa + n * 4096 <= 2 ^ 40 ->
  (forall i', (i' < Z.to_nat n)%nat -> exists pa w, walk e (Isolation.vm_s2 m) (Z.to_nat (ipa / 4096) + i') = Some (pa, w)) ->
  (forall k, Z.of_nat k * 4096 < 2 ^ 40 ->
     walk e' (Isolation.vm_s2 m) k = if (ipa <=? Z.of_nat k * 4096) && (Z.of_nat k * 4096 <? ipa + n * 4096)
                                     then None else walk e (Isolation.vm_s2 m) k) ->
  (forall j m', j <> i -> nth_error (Isolation.Engine_vms e) j = Some m' -> Isolation.vm_live m' = true ->
     forall k, walk e' (Isolation.vm_s2 m') k = walk e (Isolation.vm_s2 m') k) ->
  (forall p, abs_pages c e' p =
     if in_ram c p && unshared_page e (Isolation.vm_s2 m) ipa (Z.to_nat n) p then x else abs_pages c e p) ->
  walk_held c e'.
Proof.
  intros c e e' i m ipa n x Hc H Ev Hnth Hlive Hipa Hial H40 Hmp Hwm Hother Hpg.
  pose proof Hc as (_ & _ & Hcfg & _ & _ & _ & Hsane). pose proof Hcfg as (_ & _ & Hipl).
  change Isolation.ipaLimit with (2 ^ 40) in Hipl.
  unfold vms_sane in Hsane. rewrite Forall_forall in Hsane. pose proof (Hsane m (nth_error_In _ _ Hnth) Hlive) as (_ & Hinj).
  set (s2 := Isolation.vm_s2 m) in *. set (k0 := Z.to_nat (ipa / 4096)) in *.
  assert (Hk0 : Z.of_nat k0 * 4096 = ipa) by (unfold k0; pose proof (Z.div_mod ipa 4096 ltac:(lia)); rewrite Z2Nat.id by
    (apply Z.div_pos; lia); lia).
  assert (Hkin : forall i', (i' < Z.to_nat n)%nat -> (k0 + i' < ipa_pages c)%nat) by (intros i' Hi'; lia).
  intros j v k pa w Hj Hlv Hk Hw. rewrite Ev in Hj.
  assert (Hk40 : Z.of_nat k * 4096 < 2 ^ 40) by lia.
  (* the walk before, at the same IPA page *)
  assert (Hw0 : walk e (Isolation.vm_s2 v) k = Some (pa, w) /\
    (j = i -> v = m /\ ~ (ipa <= Z.of_nat k * 4096 < ipa + n * 4096))).
  { destruct (Nat.eq_dec j i) as [->|Hjne].
    - rewrite Hnth in Hj. injection Hj as <-. fold s2 in Hw |- *. rewrite (Hwm k Hk40) in Hw.
      destruct (Z.leb_spec ipa (Z.of_nat k * 4096)), (Z.ltb_spec (Z.of_nat k * 4096) (ipa + n * 4096)); cbn [andb] in Hw;
        try discriminate Hw; (split; [exact Hw|intros _; split; [reflexivity|lia]]).
    - rewrite (Hother j v Hjne Hj Hlv k) in Hw. split; [exact Hw|intros E; contradiction]. }
  destruct Hw0 as (Hw0 & Hsame).
  rewrite Hpg. destruct (in_ram c (pfnZ pa) && unshared_page e s2 ipa (Z.to_nat n) (pfnZ pa)) eqn:U.
  2:{ exact (H j v k pa w Hj Hlv Hk Hw0). }
  exfalso. apply andb_true_iff in U as [_ U]. destruct (unshared_hit e s2 ipa _ _ U Hmp) as (i' & pai & wi & Hi' & Hwi & Ep).
  destruct (Nat.eq_dec j i) as [Ej|Hjne].
  - destruct (Hsame Ej) as (-> & Hout). fold s2 in Hw0.
    assert (k = (k0 + i')%nat) by exact (Hinj k (k0 + i')%nat pa pai w wi Hk (Hkin i' Hi') Hw0 Hwi (eq_sym Ep)).
    subst k. apply Hout. lia.
  - pose proof (H j v k pa w Hj Hlv Hk Hw0) as Hv.
    pose proof (H _ m (k0 + i')%nat pai wi Hnth Hlive (Hkin i' Hi') Hwi) as Hm'. rewrite Ep in Hm'.
    pose proof (holds_for_unique _ _ _ Hv Hm'). lia.
Qed.

(** So MEM_UNSHARE keeps [walk_held]. *)
Theorem MemUnshare_walk_held : forall c e tr id ipa n st e' tr', create_inv c e -> walk_inv e -> walk_held c e ->
  0 <= id < 2 ^ 64 -> 0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 ->
  Isolation.Engine_MemUnshare root id ipa n e tr = Ok st e' tr' -> walk_held c e'.
Proof.
  intros c e tr id ipa n st e' tr' Hc [[Hi Hs] Hwb] H Hid Hipa Hn Hrun.
  destruct (MemUnshare_walks e tr id ipa n st e' tr' Hi Hwb Hid Hipa Hn Hrun) as [Herr Hsucc].
  destruct (Z.eq_dec st Abi.Success) as [Es|Ne]; [|rewrite (Herr Ne); exact H].
  destruct (Hsucc Es) as (m & Hnth & Hlive & Hid1 & Hn1 & Hial & H40 & Hmp & Ev & _ & _ & _ & Hled & _ & Hwm & _ & Hother).
  pose proof Hc as (_ & _ & Hcfg & _). pose proof Hcfg as (Hrel & _).
  assert (Hwp : forall i, (i < Z.to_nat n)%nat -> exists pa w,
    walk e (Isolation.vm_s2 m) (Z.to_nat (ipa / 4096) + i) = Some (pa, w)).
  { intros i Hi'. destruct (Hmp i Hi') as (pa & w & Hw & _). exists pa, w. exact Hw. }
  apply (walk_held_unmap c e e' _ m ipa n (mkPage OHost NotShared) Hc H Ev Hnth Hlive ltac:(lia) Hial ltac:(lia) Hwp Hwm Hother).
  apply (unshare_abs_pages c e e' _ ipa (Z.to_nat n) Hrel); [|exact Hled].
  intros i Hi'. destruct (Hmp i Hi') as (pa & w & Hw & Hr). unfold walk_pa. rewrite Hw. exact Hr.
Qed.
