(** * The host walks the pages VMs share with it at level 3

    Lemmas about proofs/code/Isolation.v, the translation of
    isolation/ (the memory calls of the host and of the guests,
    VM_CREATE and the calls that write one VM slot). VM_DESTROY of a VM that shares pages with
    the host unmaps them from the host stage-2 and panics if that needs a
    table (CodeReleaseShared); it does not when the host's walk of each
    such page ends at level 3 or nowhere ([lv3_shared_at]). This file
    states that condition for every VM at once, [host_lv3]: the host's
    walk of every page of RAM that the model sees as a VM's shared with
    the host ends at level 3 or nowhere. Proved here:
    - [host_lv3] gives [lv3_shared_at] for every vmid
      ([host_lv3_shared]) and holds where no VM shares a page with the
      host ([host_lv3_unshared]), as after [boot];
    - the calls that write one VM slot keep [host_lv3]
      ([host_lv3_stable], [host_lv3_store]: VCPU_INIT, VCPU_IRQ,
      MMIO_SHADOW, MMIO_LOG_READ, [*_host_lv3]); so do VM_CREATE ([VMCreate_host_lv3]: the pages and
      the host's tables are kept), MEM_SHARE and MEM_UNSHARE (they update
      a VM's tree, apart from the host's, and make no page a VM's shared
      with the host: [MemShare_host_lv3], [MemUnshare_host_lv3]),
      MEM_DONATE and MEM_RECLAIM (they update the host's tree over a
      range whose pages become a VM's unshared or the host's, and keep
      the level of every page outside it, CodeLevel's [unmapRange_nb]
      and [mapRange_nb]: [MemDonate_host_lv3], [MemReclaim_host_lv3]);
    - so do the guests' memory calls: GUEST_SHARE maps into the host at
      most 16 pages at a time, whose walk [mapRange_nb] leaves at level
      3, and GUEST_UNSHARE unmaps so ([CodeGuestRefine.run_level],
      [GuestShare_host_lv3], [GuestUnshare_host_lv3]); GUEST_RELINQUISH
      updates the VM's tree alone ([GuestRelinquish_host_lv3]).
    CodeDestroyShared proves it of VM_DESTROY ([VMDestroy_host_lv3]). *)
From Coq Require Import ZArith Lia List Bool.
From Bulkhead.Spec Require Import State Spec.
From Bulkhead.Proofs Require Import Invariants.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require CodeAbs.
From Bulkhead.Proofs Require Import CodeVMCreate CodeTransfer CodeAbsLedger CodeAbs CodeVMCreateInv CodeOwns
  CodeVMCreateRefine CodeUpdateRange CodeEngineInv CodeWalkCalls CodeModelThms CodeS2Refine CodeVMDestroy
  CodeRelease CodeLedger CodeVCPU CodeShadow CodeStage2 CodeMemNoFailure CodeUpdateRoot CodeUpdateRootRange
  CodeMemInvDestroy CodeFree CodeWalkRange CodeLevel CodeReleaseShared CodeRefineInv CodeMemCall CodeEngineOk
  CodeVCPUInit CodeDonate CodeUnshare CodeUpdate CodeUnshareRefine CodeWalkHeld CodeDestroyRefine CodeGuestRefine CodeGuestNoFailure CodeRuns
  CodeUnshareInv.
Import ListNotations.
Open Scope Z_scope.

(** The host's walk of every page of RAM that a VM shares with the host
    ends at level 3 or nowhere. *)
Definition host_lv3 (c : config) (e : Isolation.Engine) : Prop :=
  forall p w, in_ram c p = true -> ms_pages (abs_ms c e) p = mkPage (OVM w) (SharedWith host_id) ->
    lv3_at e (Isolation.Engine_host e) p.

(** It gives VM_DESTROY's condition for every vmid. *)
Lemma host_lv3_shared : forall c e, cfg_rel c e -> ledger_ok e -> host_lv3 c e -> forall id, lv3_shared_at e id.
Proof.
  intros c e (_ & Hb & Hs) (_ & _ & _ & _ & Hlen) H id m H1 _ _ j Hj Hsh.
  rewrite <- Hb, Z.div_mul, Nat2Z.id by lia.
  apply (H _ (Z.to_nat id)).
  - unfold in_ram, in_range. apply andb_true_iff. split; [apply Nat.leb_le; lia|apply Nat.ltb_lt].
    unfold len in Hlen. lia.
  - unfold abs_ms. cbn [ms_pages]. unfold abs_pages.
    replace (in_ram c (ram_base c + j)) with true
      by (symmetry; unfold in_ram, in_range; apply andb_true_iff; split; [apply Nat.leb_le; lia|apply Nat.ltb_lt];
          unfold len in Hlen; lia).
    replace (ram_base c + j - ram_base c)%nat with j by lia.
    apply sharedb_spec in Hsh as (Ho & Hv & Hsd & Hbw).
    unfold abs_page, abs_owner, abs_share. rewrite Ho, Hv, Hsd, Hbw. reflexivity.
Qed.

(** Where no VM shares a page with the host it holds. *)
Lemma host_lv3_unshared : forall c e, guest_unshared c e -> host_lv3 c e.
Proof. intros c e G p w _ E. exfalso. exact (G p w E). Qed.

(** A call that keeps the configuration and the host's stage-2 record,
    after which each page a VM shares with the host was one before and
    is walked by the host at the level it was, keeps [host_lv3]. *)
Lemma host_lv3_step : forall c e e', host_lv3 c e -> Isolation.Engine_host e' = Isolation.Engine_host e ->
  (forall p w, in_ram c p = true -> ms_pages (abs_ms c e') p = mkPage (OVM w) (SharedWith host_id) ->
     ms_pages (abs_ms c e) p = mkPage (OVM w) (SharedWith host_id) /\
     (lv3_at e (Isolation.Engine_host e) p -> lv3_at e' (Isolation.Engine_host e) p)) ->
  host_lv3 c e'.
Proof.
  intros c e e' H Eh Hstep p w Hr Hp. rewrite Eh. destruct (Hstep p w Hr Hp) as (Hp0 & Hl). exact (Hl (H p w Hr Hp0)).
Qed.

(** A call whose pages are as they were but a range that becomes pages
    no VM shares with the host, keeping the level of the host's walk of
    every page outside the range, keeps [host_lv3]. *)
Lemma host_lv3_range : forall c e e' (x : page) (inr : nat -> bool), host_lv3 c e ->
  Isolation.Engine_host e' = Isolation.Engine_host e ->
  (forall w, x <> mkPage (OVM w) (SharedWith host_id)) ->
  (forall p, ms_pages (abs_ms c e') p = if inr p then x else ms_pages (abs_ms c e) p) ->
  (forall p, in_ram c p = true -> inr p = false ->
     lv3_at e (Isolation.Engine_host e) p -> lv3_at e' (Isolation.Engine_host e) p) ->
  host_lv3 c e'.
Proof.
  intros c e e' x inr H Eh Hx Hpg Hl. apply (host_lv3_step c e e' H Eh). intros p w Hr Hp.
  rewrite Hpg in Hp. destruct (inr p) eqn:Ein; [exfalso; exact (Hx w Hp)|]. split; [exact Hp|exact (Hl p Hr Ein)].
Qed.

(** ** The calls that write one VM slot *)

Lemma host_lv3_stable : forall c, store_stable (host_lv3 c).
Proof. intros c. apply put_vm_stable. intros e i m m' H _ _. exact H. Qed.

(** A page outside the PFN range of [n] pages at an aligned [pa] is
    outside its addresses. *)
Lemma out_of_range : forall c pa n p, granule c = 4096%nat -> 0 <= pa -> pa mod 4096 = 0 -> 0 <= n ->
  in_range p (pfn c (Z.to_nat pa)) (Z.to_nat n) = false -> ~ (pa <= Z.of_nat p * 4096 < pa + n * 4096).
Proof.
  intros c pa n p G Hpa Hal Hn Hr. rewrite (ipa_in_range c pa n p G Hpa Hal Hn) in Hr.
  intros [H1 H2]. apply Z.leb_le in H1. apply Z.ltb_lt in H2. rewrite H1, H2 in Hr. discriminate Hr.
Qed.

(** ** VM_CREATE *)

(** VM_CREATE keeps the pages and the tables of the host's tree: the
    stage-2 root it takes was free. *)
Theorem VMCreate_host_lv3 : forall c e tr n flags r e' tr', create_ok e -> tables_ok e ->
  owns_tables e (Isolation.stage2_root (Isolation.Engine_host e)) -> vms_own e -> 0 <= n < 2 ^ 64 ->
  Isolation.Engine_VMCreate root n flags e tr = Ok r e' tr' -> host_lv3 c e -> host_lv3 c e'.
Proof.
  intros c e tr n flags r e' tr' Hc Hok Hh Hvms Hn Hrun H.
  destruct (VMCreate_walk_cases e tr n flags r e' tr' Hc Hok Hh Hvms Hn Hrun) as (Ep & Eh & _).
  apply (host_lv3_step c e e' H Eh). intros p w _ Hp.
  split; [unfold abs_ms, abs_pages in *; cbn [ms_pages] in *; rewrite Ep in Hp; exact Hp|]. intros Hl.
  destruct (VMCreate_cases e tr n flags r e' tr' Hc Hn Hrun)
    as [->|[(slot & id & Hff & ->)|(slot & rt & q & X & Hff & [Hrt _] & HX & HXr & _ & ->)]]; [exact Hl| |].
  - destruct e; exact Hl.
  - pose proof Hrt as (_ & _ & _ & _ & _ & HB & _).
    apply (lv3_at_agree e _ _ p); [unfold pool_base; destruct e; exact HB| |exact Hl].
    replace (tables (at_slot (Isolation.set_Engine_pool q e) (Z.to_nat slot) X))
      with (Isolation.Pool_Tables (Isolation.tablePool_Pool q)) by (destruct e; reflexivity).
    exact (taken_agree e q rt _ Hrt Hh).
Qed.

(** ** MEM_SHARE and MEM_UNSHARE *)

(** An update of one live VM's tree, apart from the host's, keeps the
    level of the host's walk. *)
Lemma vm_update_lv3 : forall e e' i m k, s2_owned e -> nth_error (Isolation.Engine_vms e) i = Some m ->
  Isolation.vm_live m = true -> tables_ok e' -> pool_base e' = pool_base e -> len (tables e') = len (tables e) ->
  tree_frame e e' (Isolation.stage2_root (Isolation.vm_s2 m)) ->
  lv3_at e (Isolation.Engine_host e) k -> lv3_at e' (Isolation.Engine_host e) k.
Proof.
  intros e e' i m k (Hp & _ & Hh & Hown & Hdis) Hn Hl Ht' HB HL Htf.
  destruct (slot_at e i m Hn) as (Hi & Ei).
  apply (lv3_apart e e' _ _ k Hp Ht' HB HL Htf Hh).
  pose proof (proj1 Hdis i Hi ltac:(rewrite Ei; exact Hl)) as Hd. unfold root_at in Hd. rewrite Ei in Hd.
  exact (disjoint_sym _ _ Hd).
Qed.

(** MEM_SHARE lends host pages: none becomes a VM's. *)
Theorem MemShare_host_lv3 : forall c e tr id pa ipa n perms st e' tr', refine_inv c e ->
  0 <= id < 2 ^ 64 -> 0 <= pa < 2 ^ 64 -> 0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 -> 0 <= perms < 2 ^ 64 ->
  Isolation.Engine_MemShare root id pa ipa n perms e tr = Ok st e' tr' -> host_lv3 c e -> host_lv3 c e'.
Proof.
  intros c e tr id pa ipa n perms st e' tr' R Hid Hpa Hipa Hn Hperms Hrun H.
  pose proof R as (Hc & [[Hi _] _] & _ & Hrok & _ & Hvms & _).
  pose proof Hi as (Hm & Ho & _). pose proof Ho as (_ & Hpl & _).
  pose proof Hc as (_ & _ & Hcfg & _ & _ & Hf & Hs).
  destruct (MemShare_no_failure e tr id pa ipa n perms Hm Hpl (s2_owned_roots e Ho) Hid Hpa Hipa Hn)
    as (st0 & e0 & tr0 & H0 & Herr & Hsucc).
  rewrite H0 in Hrun. injection Hrun as <- <- <-.
  destruct (Z.eq_dec st0 Abi.Success) as [Es|Ne]; [|rewrite (Herr Ne); exact H].
  destruct (Hsucc Es) as (m & q & ps & Hnth & _ & Hlive & Ee & Hr' & HB & HL & Htf). subst st0.
  apply (host_lv3_range c e e0 (mkPage OHost (SharedWith (Z.to_nat id)))
    (fun p => in_range p (pfn c (Z.to_nat pa)) (Z.to_nat n)) H ltac:(rewrite Ee; reflexivity)).
  - intros w E; discriminate E.
  - exact (proj1 (MemShare_success_pages c e tr id pa ipa n perms e0 tr0 Hm Hrok Hcfg Hf Hs Hvms Hid Hpa Hipa Hn
      Hperms H0)).
  - intros p _ _. exact (vm_update_lv3 e e0 _ m p Ho Hnth Hlive (proj1 (proj1 (root_inv_l1 _ _ Hr'))) HB HL Htf).
Qed.

(** MEM_UNSHARE gives lent pages back to the host. *)
Theorem MemUnshare_host_lv3 : forall c e tr id ipa n st e' tr', refine_inv c e ->
  0 <= id < 2 ^ 64 -> 0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 ->
  Isolation.Engine_MemUnshare root id ipa n e tr = Ok st e' tr' -> host_lv3 c e -> host_lv3 c e'.
Proof.
  intros c e tr id ipa n st e' tr' R Hid Hipa Hn Hrun H.
  destruct (MemUnshare_ledger_after c e tr id ipa n st e' tr' R Hid Hipa Hn Hrun) as (_ & _ & r & Hpg).
  pose proof R as (_ & [[Hi _] _] & _).
  pose proof Hi as (Hm & Ho & _). pose proof Ho as (_ & Hpl & _).
  destruct (MemUnshare_no_failure e tr id ipa n Hm Hpl (s2_owned_roots e Ho) Hid Hipa Hn)
    as (st0 & e0 & tr0 & H0 & Herr & Hsucc).
  rewrite H0 in Hrun. injection Hrun as <- <- <-.
  destruct (Z.eq_dec st0 Abi.Success) as [Es|Ne]; [|rewrite (proj1 (Herr Ne)); exact H].
  destruct (Hsucc Es) as (m & q & ps & Hnth & Hlive & _ & _ & Ee & Hr' & HB & HL & Htf).
  apply (host_lv3_range c e e0 (mkPage OHost NotShared) r H ltac:(rewrite Ee; reflexivity)
    ltac:(intros w E; discriminate E) Hpg).
  intros p _ _. exact (vm_update_lv3 e e0 _ m p Ho Hnth Hlive (proj1 (proj1 (root_inv_l1 _ _ Hr'))) HB HL Htf).
Qed.

(** ** MEM_DONATE and MEM_RECLAIM *)

(** MEM_DONATE makes its range the VM's, unshared; the host's walk of
    every other page keeps its level ([CodeWalkCalls.MemDonate_walks]). *)
Theorem MemDonate_host_lv3 : forall c e tr id pa ipa n perms st e' tr', refine_inv c e ->
  0 <= id < 2 ^ 64 -> 0 <= pa < 2 ^ 64 -> 0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 -> 0 <= perms < 2 ^ 64 ->
  Isolation.Engine_MemDonate root id pa ipa n perms e tr = Ok st e' tr' -> host_lv3 c e -> host_lv3 c e'.
Proof.
  intros c e tr id pa ipa n perms st e' tr' R Hid Hpa Hipa Hn Hperms Hrun H.
  pose proof R as (Hc & [[Hi _] Hwb] & _ & Hrok & _ & Hvms & _).
  pose proof Hc as (_ & _ & Hcfg & _ & _ & Hf & Hs).
  destruct (MemDonate_walks e tr id pa ipa n perms st e' tr' Hi Hwb (proj2 Hrok) Hid Hpa Hipa Hn Hrun) as [Herr Hsucc].
  destruct (Z.eq_dec st Abi.Success) as [Es|Ne]; [|rewrite (Herr Ne); exact H]. subst st.
  destruct (Hsucc eq_refl) as (m & _ & _ & _ & Eh & _ & _ & _ & _ & _ & _ & Hlv).
  pose proof (MemDonate_passed e tr id pa ipa n perms e' tr' Hi (proj2 Hrok) Hid Hpa Hipa Hn Hrun)
    as (_ & _ & _ & _ & Hpal & _).
  apply (host_lv3_range c e e' (mkPage (OVM (Z.to_nat id)) NotShared)
    (fun p => in_range p (pfn c (Z.to_nat pa)) (Z.to_nat n)) H Eh).
  - intros w E; discriminate E.
  - exact (proj1 (MemDonate_success_pages c e tr id pa ipa n perms e' tr' (proj1 Hi) Hrok Hcfg Hf Hs Hvms
      Hid Hpa Hipa Hn Hperms Hrun)).
  - intros p Hr Hout. apply Hlv; [exact (ram_below c e p (proj1 Hcfg) (proj2 Hrok) Hr)|].
    exact (out_of_range c pa n p (proj1 (proj1 Hcfg)) ltac:(lia) Hpal ltac:(lia) Hout).
Qed.

(** MEM_RECLAIM gives its range to the host; the host's walk of every
    other page keeps its level ([CodeWalkCalls.MemReclaim_host_walk]). *)
Theorem MemReclaim_host_lv3 : forall c e tr pa n st e' tr', refine_inv c e -> 0 <= pa < 2 ^ 64 -> 0 <= n < 2 ^ 64 ->
  Isolation.Engine_MemReclaim root pa n e tr = Ok st e' tr' -> host_lv3 c e -> host_lv3 c e'.
Proof.
  intros c e tr pa n st e' tr' R Hpa Hn Hrun H.
  pose proof R as (Hc & [[Hi _] (Hhb & _)] & _ & Hrok & Ho & _).
  pose proof Hc as (_ & _ & Hcfg & _).
  destruct (MemReclaim_host_walk e tr pa n st e' tr' Hi Hhb (proj2 Hrok) Hpa Hn Hrun) as (Herr & Eh & _ & _ & Hlv).
  destruct (Z.eq_dec st Abi.Success) as [Es|Ne]; [|rewrite (Herr Ne); exact H]. subst st.
  pose proof Hi as (Hm & (Hp & _ & Hh & _) & _). pose proof Hp as (_ & _ & _ & _ & Hplat).
  destruct (MemReclaim_reaches_mapRange e tr pa n Hm (or_intror (proj1 Hh)) Hplat (proj2 Hrok) Hpa Hn)
    as [(st0 & Hc0 & Hne)|(N & ps & _ & Hpal & _)].
  { rewrite Hc0 in Hrun. injection Hrun as E _ _. subst st0. contradiction. }
  apply (host_lv3_range c e e' (mkPage OHost NotShared) (fun p => in_range p (pfn c (Z.to_nat pa)) (Z.to_nat n)) H Eh).
  - intros w E; discriminate E.
  - exact (proj1 (MemReclaim_success_pages c e tr pa n e' tr' Hrok Ho (proj1 Hcfg) Hpa Hn Hrun)).
  - intros p Hr Hout. apply Hlv; [exact (ram_below c e p (proj1 Hcfg) (proj2 Hrok) Hr)|].
    exact (out_of_range c pa n p (proj1 (proj1 Hcfg)) ltac:(lia) Hpal ltac:(lia) Hout).
Qed.

(** ** The guests' memory calls *)

(** GUEST_SHARE and GUEST_UNSHARE, taken apart as [host_effect] with
    [host_done]: a page a VM shares with the host afterwards is one of
    the range, whose host walk the runs of at most 16 pages leave at
    level 3 ([CodeGuestRefine.run_level]), or was so before. *)
Lemma effect_host_lv3 : forall call P sh hs, host_effect call P (host_done sh hs) ->
  forall c e tr id ipa n m st e' tr', create_inv c e -> walk_inv e -> reclaim_ok e ->
  1 <= id < 2 ^ 16 -> nth_error (Isolation.Engine_vms e) (Z.to_nat (id - 1)) = Some m -> Isolation.vm_live m = true ->
  0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 -> call id ipa n e tr = Ok st e' tr' -> host_lv3 c e -> host_lv3 c e'.
Proof.
  intros call P sh hs Heff c e tr id ipa n m st e' tr' Hc Hwi Hrok Hid Hnth Hlive Hipa Hn Hrun H.
  destruct (Heff c e tr id ipa n m Hc Hwi Hrok Hid Hnth Hlive Hipa Hn) as (st0 & e0 & tr0 & H0 & Herr & Hsucc).
  rewrite H0 in Hrun. injection Hrun as <- <- <-.
  destruct (Z.eq_dec st0 Abi.Success) as [Es|Ne]; [|rewrite (Herr Ne); exact H].
  destruct (Hsucc Es) as (_ & _ & _ & _ & _ & ((q & ps & Ee & _) & _) & _ & Hpg & _ & _ & Hlv).
  intros p w Hr Hp. change (ms_pages (abs_ms c e0) p) with (abs_pages c e0 p) in Hp.
  rewrite Hpg, Hr in Hp. cbn [andb] in Hp.
  replace (Isolation.Engine_host e0) with (Isolation.Engine_host e) by (rewrite Ee; reflexivity).
  apply (Hlv p Hr). destruct (unshared_page e (Isolation.vm_s2 m) ipa (Z.to_nat n) p); [right; reflexivity|left].
  exact (H p w Hr Hp).
Qed.

Theorem GuestShare_host_lv3 : forall c e tr id ipa n m st e' tr', create_inv c e -> walk_inv e -> reclaim_ok e ->
  1 <= id < 2 ^ 16 -> nth_error (Isolation.Engine_vms e) (Z.to_nat (id - 1)) = Some m -> Isolation.vm_live m = true ->
  0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 ->
  Isolation.Engine_GuestShare root id ipa n e tr = Ok st e' tr' -> host_lv3 c e -> host_lv3 c e'.
Proof. exact (effect_host_lv3 _ _ _ _ GuestShare_effect). Qed.

Theorem GuestUnshare_host_lv3 : forall c e tr id ipa n m st e' tr', create_inv c e -> walk_inv e -> reclaim_ok e ->
  1 <= id < 2 ^ 16 -> nth_error (Isolation.Engine_vms e) (Z.to_nat (id - 1)) = Some m -> Isolation.vm_live m = true ->
  0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 ->
  Isolation.Engine_GuestUnshare root id ipa n e tr = Ok st e' tr' -> host_lv3 c e -> host_lv3 c e'.
Proof. exact (effect_host_lv3 _ _ _ _ GuestUnshare_effect). Qed.

(** GUEST_RELINQUISH updates the VM's tree alone and makes pages
    nobody's. *)
Theorem GuestRelinquish_host_lv3 : forall c e tr id ipa n m st e' tr', create_inv c e -> walk_inv e -> reclaim_ok e ->
  1 <= id < 2 ^ 16 -> nth_error (Isolation.Engine_vms e) (Z.to_nat (id - 1)) = Some m -> Isolation.vm_live m = true ->
  0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 ->
  Isolation.Engine_GuestRelinquish root id ipa n e tr = Ok st e' tr' -> host_lv3 c e -> host_lv3 c e'.
Proof.
  intros c e tr id ipa n m st e' tr' Hc Hwi Hrok Hid Hnth Hlive Hipa Hn Hrun H.
  pose proof Hwi as (((Hm & Ho & _) & _) & (_ & Hvb)). pose proof Ho as (_ & Hpl & _).
  pose proof (GuestRelinquish_no_failure e tr id ipa n m Hm Hpl (s2_owned_roots e Ho) (Hvb _ m Hnth Hlive) (proj2 Hrok)
    Hid Hnth Hlive Hipa Hn) as (st1 & e1 & tr1 & Hcall & Herr & Hsucc & _).
  rewrite Hrun in Hcall. injection Hcall as <- <- <-.
  destruct (Z.eq_dec st Abi.Success) as [->|Ne]; [|rewrite (Herr Ne); exact H].
  pose proof (Hsucc eq_refl) as (((q & ps & Ee & _) & Hr' & HB & HL & Htf & _) & (_ & Hled) & _).
  apply (host_lv3_step c e e' H ltac:(rewrite Ee; reflexivity)). intros p w Hr Hp. split.
  - revert Hp. unfold abs_ms, abs_pages. cbn [ms_pages]. rewrite Hr, Hled. unfold run_ledger.
    destruct (existsb _ _); [|intros E; exact E]. intros E. discriminate E.
  - exact (vm_update_lv3 e e' _ m p Ho Hnth Hlive (proj1 (proj1 (root_inv_l1 _ _ Hr'))) HB HL Htf).
Qed.

(** A store into one slot's shadow state or one vCPU keeps [host_lv3]. *)
Lemma host_lv3_store : forall c e e', shadow_store e e' \/ vcpu_store e e' -> host_lv3 c e -> host_lv3 c e'.
Proof.
  intros c e e' [Hs|Hv] H; [exact (proj1 (host_lv3_stable c) e e' H Hs)|exact (proj2 (host_lv3_stable c) e e' H Hv)].
Qed.

(** So do the four calls that write one VM slot, through
    CodeEngineOk's theorems for any [store_stable] invariant. *)
Lemma VCPUInit_host_lv3 : forall c e tr id v entry arg st e' tr', shadow_inv e -> 0 <= id < 2 ^ 64 -> 0 <= v < 2 ^ 64 ->
  Isolation.Engine_VCPUInit root id v entry arg e tr = Ok st e' tr' -> host_lv3 c e -> host_lv3 c e'.
Proof.
  intros c e tr id v entry arg st e' tr' Hs Hid Hv Hrun H.
  destruct (VCPUInit_keeps (host_lv3 c) e tr id v entry arg (host_lv3_stable c) H Hs Hid Hv) as (st1 & e1 & H1 & H' & _).
  rewrite Hrun in H1. injection H1 as _ E _. subst e1. exact H'.
Qed.

Lemma VCPUIRQ_host_lv3 : forall c e tr id v intid level st e' tr', shadow_inv e -> 0 <= id < 2 ^ 64 -> 0 <= v < 2 ^ 64 ->
  0 <= intid < 2 ^ 64 -> Isolation.Engine_VCPUIRQ root id v intid level e tr = Ok st e' tr' -> host_lv3 c e -> host_lv3 c e'.
Proof.
  intros c e tr id v intid level st e' tr' Hs Hid Hv Hi Hrun H.
  destruct (VCPUIRQ_keeps (host_lv3 c) e tr id v intid level (host_lv3_stable c) H Hs Hid Hv Hi)
    as (st1 & e1 & H1 & H' & _).
  rewrite Hrun in H1. injection H1 as _ E _. subst e1. exact H'.
Qed.

Lemma MMIOShadow_host_lv3 : forall c e tr id ipa mode value st e' tr', shadow_inv e -> 0 <= id < 2 ^ 64 -> 0 <= ipa ->
  Isolation.Engine_MMIOShadow root id ipa mode value e tr = Ok st e' tr' -> host_lv3 c e -> host_lv3 c e'.
Proof.
  intros c e tr id ipa mode value st e' tr' Hs Hid Hipa Hrun H.
  destruct (MMIOShadow_keeps (host_lv3 c) e tr id ipa mode value (host_lv3_stable c) H Hs Hid Hipa)
    as (st1 & e1 & H1 & H' & _).
  rewrite Hrun in H1. injection H1 as _ E _. subst e1. exact H'.
Qed.

Lemma MMIOLogRead_host_lv3 : forall c e tr id r e' tr', shadow_inv e -> 0 <= id < 2 ^ 64 ->
  Isolation.Engine_MMIOLogRead root id e tr = Ok r e' tr' -> host_lv3 c e -> host_lv3 c e'.
Proof.
  intros c e tr id r e' tr' Hs Hid Hrun H.
  destruct (MMIOLogRead_keeps (host_lv3 c) e tr id (host_lv3_stable c) H Hs Hid) as (r1 & e1 & H1 & H' & _).
  rewrite Hrun in H1. injection H1 as _ E _. subst e1. exact H'.
Qed.
