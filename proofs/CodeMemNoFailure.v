(** * MEM_SHARE and MEM_DONATE never fail

    Theorems about proofs/code/Isolation.v, the translation of
    isolation/mem.go, that join the memory calls taken apart forward
    (CodeMemShare, CodeDonate) to the stage-2 update
    (CodeUpdateRootRange).
    Proved here:
    - a page-aligned pair gives [mapRange] a page-aligned output offset
      ([delta_page]);
    - MEM_SHARE never reaches a failure outcome, for any 64-bit
      arguments, from [mem_ok] with the pool page aligned and below 2^48
      ([pool_placed]) and the stage-2 of every live VM with [root_inv]
      ([vms_root_inv]); when it answers SUCCESS the VM's stage-2 keeps
      [root_inv] ([MemShare_no_failure]);
    - [root_inv] of a root and [need] at it read only the pool's
      soundness and the tables of its tree ([in_tree]): they carry over
      to a state that keeps those tables in use with their entries
      ([tree_kept], [root_inv_frame], [need_root_kept]), as the update of
      another stage-2 whose tree shares no table with it does
      ([tree_kept_of_frame], from [tree_frame], CodeUpdateRootRange);
    - so MEM_DONATE never reaches a failure outcome either, for any
      64-bit arguments, when moreover the host stage-2 has [root_inv], no
      live VM's tree shares a table with the host's ([host_apart]) and RAM
      lies in the IPA space: the host's unmap keeps the VM's stage-2 and
      its reservation, and the ledger commit changes no table
      ([MemDonate_no_failure]);
    - MEM_RECLAIM, taken apart forward ([MemReclaim_reaches_mapRange]:
      an error changes nothing; otherwise the range is in RAM, every page
      owned by nobody, the reservation at most the free tables, and the
      rest is the host stage-2's [mapRange] after the zeroing, the clean
      and the ledger commit), never reaches a failure outcome from
      [mem_ok], the pool placed, the host stage-2 with [root_inv] and RAM
      in the IPA space ([MemReclaim_no_failure]). *)
From Coq Require Import ZArith Lia List Bool String Znumtheory.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodePlace CodeLoop CodeVCPU CodeVMCreate CodeLedger CodeStage2 CodePool CodeTransfer CodeTrace CodeMemShare CodeUpdate
  CodeUpdateL2 CodeUpdateRoot CodeUpdateRange CodeUpdateRootRange CodeDonate CodeLedgerRefine CodeAbsLedger.
Import ListNotations.
Open Scope Z_scope.

Lemma delta_page : forall pa ipa, pa mod 4096 = 0 -> ipa mod 4096 = 0 -> wrapu 64 (pa - ipa) mod 4096 = 0.
Proof.
  intros pa ipa Hp Hi. unfold wrapu. rewrite <- Zmod_div_mod by (try lia; exists (2 ^ 52); reflexivity).
  rewrite Zminus_mod, Hp, Hi. reflexivity.
Qed.

(** The stage-2 of every live VM slot has [root_inv]. *)
Definition vms_root_inv (e : Isolation.Engine) : Prop :=
  forall i m, nth_error (Isolation.Engine_vms e) i = Some m -> Isolation.vm_live m = true ->
    root_inv e (Isolation.stage2_root (Isolation.vm_s2 m)).

(** The pool lies page aligned below 2^48, as [tablePool.init] checks. *)
Definition pool_placed (e : Isolation.Engine) : Prop :=
  pool_base e mod 4096 = 0 /\ pool_base e + 4096 * len (tables e) <= 2 ^ 48.

(** A VM's reservation reads only the tables, so a ledger commit before
    the map leaves it as it was. *)
Lemma vm_mapNeed_pages : forall e tr id m ipa pa n N ps, tables_ok e -> 1 <= id ->
  nth_error (Isolation.Engine_vms e) (Z.to_nat (id - 1)) = Some m ->
  root_inv e (Isolation.stage2_root (Isolation.vm_s2 m)) -> 0 <= ipa -> 0 <= n -> ipa + n * 4096 <= 2 ^ 40 ->
  Isolation.Engine_mapNeed root (s2_place (id - 1)) ipa pa n e tr = Ok N e tr ->
  Isolation.Engine_mapNeed root (s2_place (id - 1)) ipa pa n (Isolation.set_Engine_pages ps e) tr =
    Ok N (Isolation.set_Engine_pages ps e) tr.
Proof.
  intros e tr id m ipa pa n N ps Hok Hid Hnth Hr Hipa Hn H40 HN.
  pose proof (root_inv_l1 e _ Hr) as Hl. pose proof Hl as (_ & Ht0 & _).
  rewrite (mapNeed_spec e tr _ _ ipa pa n Hok Ht0 (l1_inv_tree e _ Hl) (s2_place_good e (id - 1) m ltac:(lia) Hnth)
    Hipa Hn H40) in HN.
  injection HN as <-.
  exact (mapNeed_spec (Isolation.set_Engine_pages ps e) tr _ _ ipa pa n Hok Ht0 (l1_inv_tree e _ Hl)
    (vm_place_pages e ps (id - 1) m ltac:(lia) Hnth) Hipa Hn H40).
Qed.

Theorem MemShare_no_failure : forall e tr id pa ipa n perms,
  mem_ok e -> pool_placed e -> vms_root_inv e ->
  0 <= id < 2 ^ 64 -> 0 <= pa < 2 ^ 64 -> 0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 ->
  exists st e' tr', Isolation.Engine_MemShare root id pa ipa n perms e tr = Ok st e' tr' /\
    (st <> Abi.Success -> e' = e) /\
    (st = Abi.Success -> exists m q ps, nth_error (Isolation.Engine_vms e) (Z.to_nat (id - 1)) = Some m /\
       len ps = len (Isolation.Engine_pages e) /\
       Isolation.vm_live m = true /\ e' = Isolation.set_Engine_pool q (Isolation.set_Engine_pages ps e) /\
       root_inv e' (Isolation.stage2_root (Isolation.vm_s2 m)) /\
       pool_base e' = pool_base e /\ len (tables e') = len (tables e) /\
       tree_frame e e' (Isolation.stage2_root (Isolation.vm_s2 m))).
Proof.
  intros e tr id pa ipa n perms Hm (Hal & Hbelow) Hroots Hid Hpa Hipa Hn.
  pose proof (MemShare_reaches_mapRange e tr id pa ipa n perms Hm Hid Hpa Hipa Hn)
    as [(st & Hcall & Hst)|(m & ps & N & Hpass & Hnth & Hprot & HN & Hle & Hps & Hcall)].
  { exists st, e, tr. split; [exact Hcall|]. split; [reflexivity|]. intros E. contradiction. }
  destruct Hpass as (_ & Hid1 & (m' & Hnth' & Hlive) & Hn1 & Hpal & Hial & _ & _ & H40).
  rewrite Hnth in Hnth'. injection Hnth' as <-.
  pose proof (Hroots _ m Hnth Hlive) as Hr.
  set (e1 := Isolation.set_Engine_pages ps e).
  assert (Hr1 : root_inv e1 (Isolation.stage2_root (Isolation.vm_s2 m))) by exact Hr.
  pose proof (root_inv_l1 e _ Hr) as Hl. pose proof Hl as ((Hok & _ & _ & Hcok & _) & Ht0 & _).
  assert (Hg1 : good (s2_place (id - 1)) e1 (Isolation.vm_s2 m)) by (apply vm_place_pages; [lia|exact Hnth]).
  pose proof (vm_mapNeed_pages e tr id m ipa pa n N ps Hok ltac:(lia) Hnth Hr ltac:(lia) ltac:(lia) H40 HN) as HN1.
  pose proof (mapRange_no_failure e1 tr (s2_place (id - 1)) (Isolation.vm_s2 m) ipa pa n
    (Isolation.mk_Attr (wrapu 8 perms) false) N Hg1 Hr1 Hal Hbelow ltac:(lia) ltac:(lia) H40 Hial
    (delta_page pa ipa Hpal Hial) HN1 ltac:(unfold count_ok in Hcok; cbn; lia)) as (st & tr' & Hmr & Hr' & HB & HL & _ & Htf).
  pose proof (mapRange_pool _ _ _ _ _ _ _ _ _ _ Hmr) as (q & Eq).
  exists Abi.Success, st, tr'. split; [|split; [intros E; exfalso; exact (E eq_refl)|]].
  - rewrite Hcall. fold e1. unfold bind. rewrite Hmr. reflexivity.
  - intros _. exists m, q, ps. split; [exact Hnth|]. split; [exact Hps|]. split; [exact Hlive|]. split; [exact Eq|].
    split; [exact Hr'|]. split; [exact HB|]. split; [exact HL|exact Htf].
Qed.

(** ** Another stage-2's tables *)

(** Every table of the tree of [r] in [e] is in use in [e'] with the
    same entries. *)
Definition tree_kept (e e' : Isolation.Engine) (r : Z) : Prop :=
  forall y, in_tree e r y ->
    free_bit (Isolation.Engine_pool e') y = false /\ forall j, 0 <= j < 512 -> tent (tables e') y j = tent (tables e) y j.

Lemma ent_kept : forall e e' r i, 0 <= i < 1024 -> tree_kept e e' r -> ent (tables e') r i = ent (tables e) r i.
Proof.
  intros e e' r i Hi Hk.
  assert (Hq : i / 512 = 0 \/ i / 512 = 1).
  { assert (0 <= i / 512 < 2) by (split; [apply Z.div_pos|apply Z.div_lt_upper_bound]; lia). lia. }
  assert (Hin : in_tree e r (r + i / 512)) by (destruct Hq as [-> | ->]; [left; ring|right; left; reflexivity]).
  pose proof (Hk _ Hin) as (_ & He). exact (He (i mod 512) (Z.mod_pos_bound i 512 ltac:(lia))).
Qed.

Lemma sub_kept : forall e e' r i y, 0 <= i < 1024 -> tree_kept e e' r -> pool_base e' = pool_base e ->
  sub e' r i y <-> sub e r i y.
Proof.
  intros e e' r i y Hi Hk HB. unfold sub. rewrite (ent_kept e e' r i Hi Hk), HB.
  split; intros (H3 & Hy); split; try exact H3;
    (destruct Hy as [Ey|(j & Hj & H3j & Ey)]; [left; exact Ey|right; exists j; split; [exact Hj|]]);
    assert (Hc : in_tree e r (child (pool_base e) (ent (tables e) r i)))
      by (right; right; exists i; split; [exact Hi|apply sub_top; exact H3]);
    pose proof (Hk _ Hc) as (_ & He); [rewrite He in H3j, Ey by exact Hj|rewrite He by exact Hj]; split; assumption.
Qed.

(** [root_inv] reads only the pool's soundness and the tables of the
    tree: it holds of [r] in [e'] when it held in [e] and every table of
    the tree is kept. *)
Lemma root_inv_frame : forall e e' r, root_inv e r -> pool_inv e' ->
  pool_base e' = pool_base e -> len (tables e') = len (tables e) -> tree_kept e e' r -> root_inv e' r.
Proof.
  intros e e' r (Hl & Hne & Hdis) Hp' HB HL Hk.
  pose proof Hl as (_ & Hr0 & Hrl & _ & _ & Hents & Hdist).
  split; [|split].
  - unfold l1_inv. split; [exact Hp'|]. split; [exact Hr0|]. split; [lia|].
    split; [apply (Hk r); left; reflexivity|]. split; [apply (Hk (r + 1)); right; left; reflexivity|]. split.
    + intros i Hi H3. rewrite (ent_kept e e' r i Hi Hk) in H3 |- *. rewrite HB, HL.
      pose proof (Hents i Hi H3) as (Hle & Hlt & Hinv & Hc0 & Hc1).
      split; [exact Hle|]. split; [exact Hlt|]. split; [|split; assumption].
      assert (Hc : in_tree e r (child (pool_base e) (ent (tables e) r i)))
        by (right; right; exists i; split; [exact Hi|apply sub_top; exact H3]).
      pose proof (Hk _ Hc) as (Hcu & He).
      apply (l2_inv_transfer e e' _ Hinv Hp' HB HL Hcu He).
      intros j Hj Hj3. apply (Hk _ (or_intror (or_intror (ex_intro _ i (conj Hi (conj H3 (or_intror
        (ex_intro _ j (conj Hj (conj Hj3 eq_refl)))))))))).
    + intros i i' Hi Hi' Hii H3 H3'. rewrite (ent_kept e e' r i Hi Hk), (ent_kept e e' r i' Hi' Hk), HB in *.
      exact (Hdist i i' Hi Hi' Hii H3 H3').
  - intros i y Hi Hs. apply (Hne i y Hi). apply (sub_kept e e' r i y Hi Hk HB). exact Hs.
  - intros i i' y Hi Hi' Hii Hs Hs'.
    exact (Hdis i i' y Hi Hi' Hii (proj1 (sub_kept e e' r i y Hi Hk HB) Hs) (proj1 (sub_kept e e' r i' y Hi' Hk HB) Hs')).
Qed.

(** [need] at a root counts the same over the same tree. *)
Lemma need_root_kept : forall nf e e' r ipa end' u, tree_kept e e' r -> pool_base e' = pool_base e -> 0 <= ipa ->
  need_root nf (tables e') (pool_base e') r ipa end' u = need_root nf (tables e) (pool_base e) r ipa end' u.
Proof.
  induction nf as [|nf IH]; intros e e' r ipa end' u Hk HB H0; cbn [need_root]; [reflexivity|].
  destruct (ipa <? end') eqn:Hlt; [|reflexivity]. apply Z.ltb_lt in Hlt.
  pose proof (l1_stop_gt ipa end' ltac:(lia)). rewrite (IH e e' r) by (auto; lia). f_equal.
  rewrite HB. assert (Hi : 0 <= (ipa / 2 ^ 30) mod 1024 < 1024) by (apply Z.mod_pos_bound; lia).
  apply need_root_at_same; [exact (ent_kept e e' r _ Hi Hk)|].
  intros H3 j Hj.
  assert (Hc : in_tree e r (child (pool_base e) (ent (tables e) r ((ipa / 2 ^ 30) mod 1024))))
    by (right; right; exists ((ipa / 2 ^ 30) mod 1024); split; [exact Hi|apply sub_top; exact H3]).
  exact (proj2 (Hk _ Hc) j Hj).
Qed.

(** A tree in use that shares no table with the tree of [t] is kept by
    what keeps the tables outside the tree of [t]. *)
Lemma tree_kept_of_frame : forall e e' t r, tree_frame e e' t -> root_inv e r ->
  (forall y, in_tree e r y -> ~ in_tree e t y) -> tree_kept e e' r.
Proof.
  intros e e' t r Hf Hr Hap y Hy.
  assert (Hu : 0 <= y /\ free_bit (Isolation.Engine_pool e) y = false).
  { pose proof (root_inv_l1 e r Hr) as Hl. pose proof Hl as (_ & Hr0 & _ & Hu0 & Hu1 & _).
    destruct Hy as [->|[->|(i & Hi & Hs)]]; [split; [lia|exact Hu0]|split; [lia|exact Hu1]|].
    pose proof (sub_used e r i y Hl Hi Hs) as (H0 & _ & Hu). split; assumption. }
  pose proof (Hf y (proj1 Hu) (proj2 Hu) (Hap y Hy)) as (Hu' & He & _). split; assumption.
Qed.

(** ** MEM_DONATE *)

(** The tree of every live VM's stage-2 shares no table with the host's. *)
Definition host_apart (e : Isolation.Engine) : Prop :=
  forall i m, nth_error (Isolation.Engine_vms e) i = Some m -> Isolation.vm_live m = true ->
    forall y, in_tree e (Isolation.stage2_root (Isolation.vm_s2 m)) y ->
      ~ in_tree e (Isolation.stage2_root (Isolation.Engine_host e)) y.

Theorem MemDonate_no_failure : forall e tr id pa ipa n perms,
  mem_ok e -> pool_placed e -> vms_root_inv e -> root_inv e (Isolation.stage2_root (Isolation.Engine_host e)) ->
  host_apart e ->
  Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e)) +
    Isolation.Range_Size (Isolation.Config_RAM (Isolation.Engine_cfg e)) <= 2 ^ 40 ->
  0 <= id < 2 ^ 64 -> 0 <= pa < 2 ^ 64 -> 0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 ->
  exists st e' tr', Isolation.Engine_MemDonate root id pa ipa n perms e tr = Ok st e' tr' /\
    (st <> Abi.Success -> e' = e) /\
    (st = Abi.Success -> exists m q2 ps q4, nth_error (Isolation.Engine_vms e) (Z.to_nat (id - 1)) = Some m /\
       len ps = len (Isolation.Engine_pages e) /\
       Isolation.vm_live m = true /\
       e' = Isolation.set_Engine_pool q4 (Isolation.set_Engine_pages ps (Isolation.set_Engine_pool q2 e)) /\
       root_inv (Isolation.set_Engine_pool q2 e) (Isolation.stage2_root (Isolation.Engine_host e)) /\
       tree_frame e (Isolation.set_Engine_pool q2 e) (Isolation.stage2_root (Isolation.Engine_host e)) /\
       pool_base (Isolation.set_Engine_pool q2 e) = pool_base e /\ len (tables (Isolation.set_Engine_pool q2 e)) = len (tables e) /\
       root_inv e' (Isolation.stage2_root (Isolation.vm_s2 m)) /\
       tree_frame (Isolation.set_Engine_pool q2 e) e' (Isolation.stage2_root (Isolation.vm_s2 m)) /\
       pool_base e' = pool_base e /\ len (tables e') = len (tables e) /\
       exists Nh Nv tr2 tr3,
         Isolation.Engine_unmapNeed root host_place pa n e tr = Ok Nh e tr /\
         Isolation.Engine_unmapRange root host_place pa n e tr = Ok tt (Isolation.set_Engine_pool q2 e) tr2 /\
         root_inv (Isolation.set_Engine_pool q2 e) (Isolation.stage2_root (Isolation.vm_s2 m)) /\
         Isolation.Engine_mapNeed root (s2_place (id - 1)) ipa pa n
           (Isolation.set_Engine_pages ps (Isolation.set_Engine_pool q2 e)) tr3 =
           Ok Nv (Isolation.set_Engine_pages ps (Isolation.set_Engine_pool q2 e)) tr3 /\
         Isolation.Engine_mapRange root (s2_place (id - 1)) ipa pa n (Isolation.mk_Attr (wrapu 8 perms) false)
           (Isolation.set_Engine_pages ps (Isolation.set_Engine_pool q2 e)) tr3 = Ok tt e' tr' /\
         0 <= Nv /\ Nh + Nv <= count_free (Isolation.Engine_pool e) /\
         count_free (Isolation.Engine_pool e) - Nh <= count_free (Isolation.Engine_pool (Isolation.set_Engine_pool q2 e))).
Proof.
  intros e tr id pa ipa n perms Hm (Hal & Hbelow) Hroots Hhr Hapart Hram Hid Hpa Hipa Hn.
  pose proof Hm as (Hl & _ & _ & _ & Ht & _).
  pose proof (root_inv_l1 e _ Hhr) as Hhl. pose proof Hhl as ((Hok & _ & _ & Hcok & _) & Hh0 & _).
  pose proof (MemDonate_reaches_unmap e tr id pa ipa n perms Hm (or_intror (l1_inv_tree e _ Hhl)) Hram Hid Hpa Hipa Hn)
    as [(st & Hcall & Hne)|(Nh & Nv & Hpass & HNh & HNv & Hle & Hcall)].
  { exists st, e, tr. split; [exact Hcall|]. split; [reflexivity|intros E; contradiction]. }
  destruct Hpass as (_ & Hid1 & (m & Hnth & Hlive) & Hn1 & Hpal & Hial & Hplo & Hphi & H40).
  pose proof (Hroots _ m Hnth Hlive) as Hr. pose proof (root_inv_l1 e _ Hr) as Hvl.
  pose proof Hvl as (_ & Hv0 & _).
  pose proof Hl as Hl'. unfold ledger_ok in Hl'. cbv zeta in Hl'. destruct Hl' as (Hb0 & Hs0 & Hbs & Hbal & Hlen).
  set (base := Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e))) in *.
  (* the two reservations, exactly *)
  set (uh := Isolation.mk_s2update (Isolation.stage2_vmid (Isolation.Engine_host e)) 0 Isolation.zero_Attr true).
  set (uv := Isolation.mk_s2update (Isolation.stage2_vmid (Isolation.vm_s2 m)) (wrapu 64 (pa - ipa)) Isolation.zero_Attr false).
  assert (ENh : Nh = need_root (Z.to_nat (n * 4096)) (tables e) (pool_base e) (Isolation.stage2_root (Isolation.Engine_host e))
                       pa (pa + n * 4096) uh).
  { rewrite (unmapNeed_spec e tr host_place _ pa n Hok Hh0 (l1_inv_tree e _ Hhl) (host_place_good e) ltac:(lia) ltac:(lia)
      ltac:(lia)) in HNh. injection HNh as <-. reflexivity. }
  assert (ENv : Nv = need_root (Z.to_nat (n * 4096)) (tables e) (pool_base e) (Isolation.stage2_root (Isolation.vm_s2 m))
                       ipa (ipa + n * 4096) uv).
  { rewrite (mapNeed_spec e tr (s2_place (id - 1)) _ ipa pa n Hok Hv0 (l1_inv_tree e _ Hvl)
      (s2_place_good e (id - 1) m ltac:(lia) Hnth) ltac:(lia) ltac:(lia) H40) in HNv. injection HNv as <-. reflexivity. }
  pose proof (need_root_bound (Z.to_nat (n * 4096)) (tables e) (pool_base e) (Isolation.stage2_root (Isolation.Engine_host e))
    pa (pa + n * 4096) uh ltac:(lia)) as HbNh.
  pose proof (need_root_bound (Z.to_nat (n * 4096)) (tables e) (pool_base e) (Isolation.stage2_root (Isolation.vm_s2 m))
    ipa (ipa + n * 4096) uv ltac:(lia)) as HbNv.
  rewrite wraps_small in Hle by lia. unfold count_ok in Hcok.
  (* the host's unmap *)
  pose proof (unmapRange_no_failure e tr host_place (Isolation.Engine_host e) pa n Nh (host_place_good e) Hhr Hal Hbelow
    ltac:(lia) ltac:(lia) ltac:(lia) Hpal HNh ltac:(lia)) as (e2 & tr2 & Hun & Hhr2 & HB2 & HL2 & Hc2 & Htf2).
  pose proof (unmapRange_pool _ _ _ _ _ _ _ _ Hun) as (q & Eq).
  pose proof (root_inv_l1 e2 _ Hhr2) as ((Hok2 & Hpok2 & Hbits2 & Hcok2 & Hpl2) & _).
  assert (Hk : tree_kept e e2 (Isolation.stage2_root (Isolation.vm_s2 m)))
    by (apply (tree_kept_of_frame e e2 _ _ Htf2 Hr); exact (Hapart _ m Hnth Hlive)).
  assert (Hr2 : root_inv e2 (Isolation.stage2_root (Isolation.vm_s2 m)))
    by exact (root_inv_frame e e2 _ Hr (conj Hok2 (conj Hpok2 (conj Hbits2 (conj Hcok2 Hpl2)))) HB2 HL2 Hk).
  (* the ledger commit *)
  subst e2.
  assert (Hk0 : (pa - base) / 4096 + n <= len (Isolation.Engine_pages e)).
  { assert (Hm0 : (pa - base) mod 4096 = 0) by (rewrite Zminus_mod, Hpal, Hbal; reflexivity).
    pose proof (Z.div_mod (pa - base) 4096 ltac:(lia)). lia. }
  set (e2 := Isolation.set_Engine_pool q e) in *.
  pose proof (setOwner_pages e2 (mkEvent "CleanToPoC" [pa; n] :: tr2) pa n Abi.OwnerVM (wrapu 16 id)
    ltac:(unfold e2; cbn; fold base; lia) ltac:(lia) Hn1 Hk0 ltac:(unfold e2, len in *; cbn; lia)) as (ps & Hso & Hps & _).
  set (e3 := Isolation.set_Engine_pages ps e2) in *.
  assert (Hg3 : good (s2_place (id - 1)) e3 (Isolation.vm_s2 m)) by (apply s2_place_good; [lia|exact Hnth]).
  assert (HN3 : Isolation.Engine_mapNeed root (s2_place (id - 1)) ipa pa n e3 (mkEvent "CleanToPoC" [pa; n] :: tr2) =
                Ok Nv e3 (mkEvent "CleanToPoC" [pa; n] :: tr2)).
  { pose proof (root_inv_l1 e2 _ Hr2) as Hvl2.
    rewrite (mapNeed_spec e3 _ (s2_place (id - 1)) _ ipa pa n Hok2 Hv0 (l1_inv_tree e2 _ Hvl2) Hg3 ltac:(lia) ltac:(lia) H40).
    rewrite ENv. f_equal. exact (need_root_kept _ e e2 _ ipa (ipa + n * 4096) uv Hk HB2 ltac:(lia)). }
  pose proof (mapRange_no_failure e3 (mkEvent "CleanToPoC" [pa; n] :: tr2) (s2_place (id - 1)) (Isolation.vm_s2 m) ipa pa n
    (Isolation.mk_Attr (wrapu 8 perms) false) Nv Hg3 Hr2 ltac:(change (pool_base e3) with (pool_base e2); rewrite HB2; exact Hal)
    ltac:(change (pool_base e3 + 4096 * len (tables e3)) with (pool_base e2 + 4096 * len (tables e2)); rewrite HB2, HL2; exact Hbelow) ltac:(lia) ltac:(lia) H40 Hial (delta_page pa ipa Hpal Hial) HN3
    ltac:(change (count_free (Isolation.Engine_pool e3)) with (count_free (Isolation.Engine_pool e2)); lia))
    as (e4 & tr4 & Hmr & Hr4 & HB4 & HL4 & _ & Htf4).
  pose proof (mapRange_pool _ _ _ _ _ _ _ _ _ _ Hmr) as (q4 & Eq4).
  exists Abi.Success, e4, tr4. split; [|split; [intros E; exfalso; exact (E eq_refl)|]].
  2:{ intros _. exists m, q, ps, q4. split; [exact Hnth|]. split; [exact Hps|]. split; [exact Hlive|]. split; [exact Eq4|].
      split; [exact Hhr2|]. split; [exact Htf2|]. split; [exact HB2|]. split; [exact HL2|].
      split; [exact Hr4|]. split; [exact Htf4|].
      split; [change (pool_base e3) with (pool_base e2) in HB4; congruence|].
      split; [change (len (tables e3)) with (len (tables e2)) in HL4; congruence|].
      exists Nh, Nv, tr2, (mkEvent "CleanToPoC" [pa; n] :: tr2).
      split; [exact HNh|]. split; [exact Hun|]. split; [exact Hr2|]. split; [exact HN3|]. split; [exact Hmr|].
      split; [lia|]. split; [rewrite <- Hcok; exact Hle|exact Hc2]. }
  rewrite Hcall. unfold bind at 1. rewrite Hun. cbv beta iota.
  unfold donate_commit. unfold bind at 1. rewrite deref_root. cbv beta iota.
  unfold bind at 1. unfold call_iface, is_set. destruct (Isolation.Engine_plat e2) eqn:Hp; [|contradiction].
  cbv beta iota. unfold emit. cbv beta iota.
  rewrite (CodeShadow.bind_ok _ _ _ _ _ _ _ Hso). cbv beta iota. fold e3.
  unfold bind at 1. rewrite pfield_s2_place. cbv beta iota.
  unfold bind at 1. rewrite Hmr. reflexivity.
Qed.

(** ** MEM_RECLAIM *)

(** From [mem_ok], the host stage-2 a tree of tables and RAM inside the
    IPA space, for any 64-bit arguments, MEM_RECLAIM either answers an
    error other than SUCCESS with memory and trace as they were, or the
    range lies in RAM, every page of it owned by nobody passed the scan,
    the reservation [mapNeed] for the host is at most the free tables, and
    what is left of the call, after the zeroing, the clean and the ledger
    commit, is the host stage-2's [mapRange]. *)
Theorem MemReclaim_reaches_mapRange : forall e tr pa n,
  mem_ok e -> s2_ok e (Isolation.Engine_host e) -> Isolation.Engine_plat e <> None ->
  Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e)) +
    Isolation.Range_Size (Isolation.Config_RAM (Isolation.Engine_cfg e)) <= 2 ^ 40 ->
  0 <= pa < 2 ^ 64 -> 0 <= n < 2 ^ 64 ->
  (exists st, Isolation.Engine_MemReclaim root pa n e tr = Ok st e tr /\ st <> Abi.Success) \/
  (exists N ps, 1 <= n /\ pa mod 4096 = 0 /\ pa + n * 4096 <= 2 ^ 40 /\ len ps = len (Isolation.Engine_pages e) /\
     Isolation.Engine_mapNeed root host_place pa pa n e tr = Ok N e tr /\
     N <= Isolation.tablePool_nfree (Isolation.Engine_pool e) /\
     Isolation.Engine_MemReclaim root pa n e tr =
       (let! _ := Isolation.Engine_mapRange root host_place pa pa n Isolation.hostRAM in ret Abi.Success)
         (Isolation.set_Engine_pages ps e) (mkEvent "CleanToPoC" [pa; n] :: mkEvent "ZeroPages" [pa; n] :: tr)).
Proof.
  intros e tr pa n Hm Hhost Hpl Hram Hpa Hn.
  pose proof Hm as (Hl & Hbase & Hsize & Hvl & Ht & Hs2).
  pose proof Hl as Hl'. unfold ledger_ok in Hl'. cbv zeta in Hl'. destruct Hl' as (Hb0 & Hs0 & Hbs & Hal & Hlen).
  set (base := Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e))) in *.
  set (size := Isolation.Range_Size (Isolation.Config_RAM (Isolation.Engine_cfg e))) in *.
  pose proof (pageRange_spec e tr pa n (Isolation.Config_RAM (Isolation.Engine_cfg e)) Hpa Hn
    ltac:(fold base; lia) ltac:(fold size; lia)) as (b & Hb & Hbs').
  unfold Isolation.Engine_MemReclaim. cbv [bind]. rewrite deref_root. cbv beta iota. rewrite Hb.
  destruct b; cbn [negb].
  2:{ left. exists Abi.InvalidParameters. split; [reflexivity|discriminate]. }
  pose proof (proj1 Hbs' eq_refl) as (Hn0 & Hpal & Hpw & Hplo & Hphi). fold base size in Hplo, Hphi.
  set (k0 := (pa - base) / 4096).
  assert (Hidx : forall i, 0 <= i < n -> 0 <= k0 + i < len (Isolation.Engine_pages e)).
  { intros i Hi. unfold k0. pose proof (Z.mul_div_le (pa - base) 4096 ltac:(lia)).
    split; [apply Z.add_nonneg_nonneg; [apply Z.div_pos|]; lia|]. nia. }
  match goal with |- context [loop ?f ?c ?b ?p ?l0 e tr] =>
  destruct (loop_spec f c b p
    (fun i st tr' => st = e /\ tr' = tr /\ 0 <= i <= n)
    (fun j st tr' => st = e /\ tr' = tr /\ match j with Jump x => x <> Abi.Success | Fall _ => True end)
    (fun i => Z.to_nat (n - i))) with (l := l0) (s := e) (tr := tr) as (j & s' & tr' & Hl1 & Hq1) end.
  - intros i st tr' (-> & -> & Hi). eexists. split; [reflexivity|]. split.
    + intros Hc. apply Z.ltb_lt in Hc. lia.
    + intros _. split; [reflexivity|]. split; [reflexivity|exact I].
  - intros i st tr' (-> & -> & Hi) Hc. injection Hc as Hc. apply Z.ltb_lt in Hc.
    cbv [bind]. rewrite deref_root. cbv beta iota.
    rewrite (pfn_ok e tr pa Hl ltac:(fold base; lia)). fold base k0. cbv beta iota.
    rewrite wrapu_small by (pose proof (Hidx i ltac:(lia)); unfold len in *; lia).
    destruct (nth_error (Isolation.Engine_pages e) (Z.to_nat (k0 + i))) as [pg|] eqn:Hpg.
    2:{ apply nth_error_None in Hpg. pose proof (Hidx i ltac:(lia)). unfold len in *. lia. }
    rewrite (idx_nth (Isolation.Engine_pages e) (k0 + i) pg e tr ltac:(pose proof (Hidx i ltac:(lia)); lia) Hpg). cbv beta iota.
    destruct (Isolation.page_owner pg =? Abi.OwnerNone); cbv beta iota.
    + eexists _, _, _. split; [reflexivity|]. eexists. split; [reflexivity|].
      rewrite wrapu_small by lia. split; [repeat split; lia|]. apply Z2Nat.inj_lt; lia.
    + destruct (Isolation.page_owner pg =? Abi.OwnerVM); eexists _, _, _; (split; [reflexivity|]); cbn;
        repeat split; discriminate.
  - repeat split; lia.
  - rewrite Z.sub_0_r. rewrite max_fuel_nat || (rewrite fuel_nat by lia); lia.
  - rewrite Hl1. destruct Hq1 as (-> & -> & Hj). destruct j as [i|x]; cbv beta iota.
    2:{ left. exists x. split; [reflexivity|exact Hj]. }
    assert (H40 : pa + n * 4096 <= 2 ^ 40) by lia.
    pose proof (mapNeed_ok e tr host_place (Isolation.Engine_host e) pa pa n Ht Hhost (host_place_good e)
      ltac:(lia) ltac:(lia) H40) as (N & HN).
    rewrite pfield_host. cbv beta iota. rewrite HN. cbv beta iota. rewrite deref_root. cbv beta iota.
    destruct (Z.gtb_spec N (Isolation.tablePool_nfree (Isolation.Engine_pool e))) as [Hgt|Hle]; cbv beta iota.
    { left. exists Abi.NoMemory. split; [reflexivity|discriminate]. }
    right.
    assert (Hk : (pa - base) / 4096 + n <= len (Isolation.Engine_pages e)).
    { assert (Hm0 : (pa - base) mod 4096 = 0) by (rewrite Zminus_mod, Hpal, Hal; reflexivity).
      pose proof (Z.div_mod (pa - base) 4096 ltac:(lia)). lia. }
    pose proof (setOwner_pages e (mkEvent "CleanToPoC" (@cons Isolation.PA pa [n]) :: mkEvent "ZeroPages" (@cons Isolation.PA pa [n]) :: tr) pa n
      Abi.OwnerHost Isolation.HostVMID ltac:(fold base; lia) ltac:(lia) ltac:(lia) Hk ltac:(unfold len in *; lia)) as (ps & Hso & Hps & _).
    exists N, ps. split; [lia|]. split; [exact Hpal|]. split; [exact H40|]. split; [exact Hps|]. split; [first [exact HN|reflexivity]|]. split; [lia|].
    cbn [negb]. rewrite !deref_root. cbv beta iota.
    destruct (Isolation.Engine_plat e) eqn:Hp; [|contradiction].
    cbv [call_iface is_set emit ret]. cbv beta iota. rewrite !deref_root. cbv beta iota.
    rewrite Hp. cbv [call_iface is_set emit]. cbv beta iota.
    rewrite Hso. cbv beta iota. rewrite pfield_host. cbv beta iota. reflexivity.
Qed.

(** The host's reservation reads only the tables, so a ledger commit
    before the map leaves it as it was. *)
Lemma host_mapNeed_pages : forall e tr pa n N ps tr1, tables_ok e ->
  root_inv e (Isolation.stage2_root (Isolation.Engine_host e)) -> 0 <= pa -> 0 <= n -> pa + n * 4096 <= 2 ^ 40 ->
  Isolation.Engine_mapNeed root host_place pa pa n e tr = Ok N e tr ->
  Isolation.Engine_mapNeed root host_place pa pa n (Isolation.set_Engine_pages ps e) tr1 =
    Ok N (Isolation.set_Engine_pages ps e) tr1.
Proof.
  intros e tr pa n N ps tr1 Hok Hhr Hpa Hn H40 HN. pose proof (root_inv_l1 e _ Hhr) as Hhl. pose proof Hhl as (_ & Hh0 & _).
  rewrite (mapNeed_spec e tr host_place _ pa pa n Hok Hh0 (l1_inv_tree e _ Hhl) (host_place_good e) Hpa Hn H40) in HN.
  injection HN as <-.
  exact (mapNeed_spec (Isolation.set_Engine_pages ps e) tr1 host_place _ pa pa n Hok Hh0 (l1_inv_tree e _ Hhl)
    (host_place_good _) Hpa Hn H40).
Qed.

(** MEM_RECLAIM never reaches a failure outcome, for any 64-bit
    arguments, from [mem_ok] with the pool placed, the host stage-2 with
    [root_inv] and RAM inside the IPA space; on SUCCESS only the ledger and
    the pool changed, the host stage-2 keeps [root_inv] and its update
    keeps [tree_frame]. *)
Theorem MemReclaim_no_failure : forall e tr pa n,
  mem_ok e -> pool_placed e -> root_inv e (Isolation.stage2_root (Isolation.Engine_host e)) ->
  Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e)) +
    Isolation.Range_Size (Isolation.Config_RAM (Isolation.Engine_cfg e)) <= 2 ^ 40 ->
  0 <= pa < 2 ^ 64 -> 0 <= n < 2 ^ 64 ->
  exists st e' tr', Isolation.Engine_MemReclaim root pa n e tr = Ok st e' tr' /\
    (st <> Abi.Success -> e' = e) /\
    (st = Abi.Success -> exists q ps, len ps = len (Isolation.Engine_pages e) /\
       e' = Isolation.set_Engine_pool q (Isolation.set_Engine_pages ps e) /\
       root_inv e' (Isolation.stage2_root (Isolation.Engine_host e)) /\
       pool_base e' = pool_base e /\ len (tables e') = len (tables e) /\
       tree_frame e e' (Isolation.stage2_root (Isolation.Engine_host e))).
Proof.
  intros e tr pa n Hm (Hal & Hbelow) Hhr Hram Hpa Hn.
  pose proof (root_inv_l1 e _ Hhr) as Hhl. pose proof Hhl as ((Hok & _ & _ & Hcok & Hpl) & Hh0 & _).
  pose proof (MemReclaim_reaches_mapRange e tr pa n Hm (or_intror (l1_inv_tree e _ Hhl)) Hpl Hram Hpa Hn)
    as [(st & Hcall & Hne)|(N & ps & Hn1 & Hpal & H40 & Hps & HN & Hle & Hcall)].
  { exists st, e, tr. split; [exact Hcall|]. split; [reflexivity|intros E; contradiction]. }
  set (e1 := Isolation.set_Engine_pages ps e) in *.
  set (tr1 := mkEvent "CleanToPoC" [pa; n] :: mkEvent "ZeroPages" [pa; n] :: tr) in *.
  pose proof (host_mapNeed_pages e tr pa n N ps tr1 Hok Hhr ltac:(lia) ltac:(lia) H40 HN) as HN1.
  pose proof (mapRange_no_failure e1 tr1 host_place (Isolation.Engine_host e) pa pa n Isolation.hostRAM N
    (host_place_good e1) Hhr Hal Hbelow ltac:(lia) ltac:(lia) H40 Hpal (delta_page pa pa Hpal Hpal) HN1
    ltac:(unfold count_ok in Hcok; cbn; lia)) as (st & tr' & Hmr & Hr' & HB & HL & _ & Htf).
  pose proof (mapRange_pool _ _ _ _ _ _ _ _ _ _ Hmr) as (q & Eq).
  exists Abi.Success, st, tr'. split; [|split; [intros E; exfalso; exact (E eq_refl)|]].
  - rewrite Hcall. fold e1 tr1. unfold bind. rewrite Hmr. reflexivity.
  - intros _. exists q, ps. split; [exact Hps|]. split; [exact Eq|]. split; [exact Hr'|]. split; [exact HB|]. split; [exact HL|exact Htf].
Qed.
