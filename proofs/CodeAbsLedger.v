(** * The ledger's abstraction, and MEM_INFO against the specification

    The abstraction function from the concrete ledger (one [page] record
    per page of RAM, [Engine.pages]) to the model's page metadata
    ([ms_pages] of specs/State.v): owner kinds map to [owner], a VM
    owner's id to [OVM], the share flag and borrower to [share]. Pages
    outside RAM have no ledger entry; the model keeps them owned by nobody
    and no call changes them.

    With it, MEM_INFO's translated code computes the model's step: the
    status and the four words of the result are those of [Spec.mem_info]
    applied to the abstraction, and neither changes the state. *)
From Coq Require Import ZArith Lia List Bool Arith.
From Bulkhead.Spec Require Import State Spec.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodePlace CodeTrack CodeLens CodeLoop CodeLedger CodeAbi CodeVMCreate.
Import ListNotations.
Open Scope Z_scope.

(** ** The abstraction function *)

Definition abs_owner (pg : Isolation.page) : owner :=
  if Isolation.page_owner pg =? Abi.OwnerEngine then OEngine
  else if Isolation.page_owner pg =? Abi.OwnerHost then OHost
  else if Isolation.page_owner pg =? Abi.OwnerVM then OVM (Z.to_nat (Isolation.page_vm pg))
  else ONone.

Definition abs_share (pg : Isolation.page) : share :=
  if Isolation.page_shared pg then SharedWith (Z.to_nat (Isolation.page_borrower pg)) else NotShared.

Definition abs_page (pg : Isolation.page) : page := mkPage (abs_owner pg) (abs_share pg).

(** The board the model is configured for is the engine's: 4 KiB pages,
    and RAM at the same page frames. *)
Definition cfg_rel (c : config) (e : Isolation.Engine) : Prop :=
  granule c = 4096%nat /\
  Z.of_nat (ram_base c) * 4096 = Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e)) /\
  Z.of_nat (ram_pages c) * 4096 = Isolation.Range_Size (Isolation.Config_RAM (Isolation.Engine_cfg e)).

(** The model's metadata of page frame [p]: the abstraction of its ledger
    entry inside RAM, owned by nobody and not shared outside. *)
Definition abs_pages (c : config) (e : Isolation.Engine) (p : nat) : page :=
  if in_ram c p then abs_page (nth (p - ram_base c) (Isolation.Engine_pages e) Isolation.zero_page)
  else mkPage ONone NotShared.

(** A ledger entry's owner is one of the four kinds, and its VM and
    borrower fields (8-bit in the Go) are not negative. *)
Definition entry_ok (pg : Isolation.page) : Prop :=
  0 <= Isolation.page_owner pg <= 3 /\ 0 <= Isolation.page_vm pg /\ 0 <= Isolation.page_borrower pg.

(** Every ledger entry is [entry_ok]. *)
Definition owners_ok (e : Isolation.Engine) : Prop := Forall entry_ok (Isolation.Engine_pages e).

(** ** MEM_INFO *)

Lemma pageAt_nth : forall (e : Isolation.Engine) tr pa,
  ledger_ok e -> 0 <= pa < 2 ^ 64 ->
  Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e)) <= pa <
    Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e)) +
    Isolation.Range_Size (Isolation.Config_RAM (Isolation.Engine_cfg e)) ->
  exists p, Isolation.Engine_pageAt root (andnot pa 4095) e tr = Ok p e tr /\
    forall tr', deref p e tr' = Ok (nth (Z.to_nat (pa / 4096 -
      Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e)) / 4096)) (Isolation.Engine_pages e) Isolation.zero_page) e tr'.
Proof.
  intros e tr pa Hinv Hpa Hin.
  destruct e as [cfg plat pool pages host vms marks]. destruct cfg as [[base size] eng hm gm mv mc].
  unfold ledger_ok in Hinv. cbn in Hinv, Hin. destruct Hinv as (Hb & Hs & Hbs & Hal & Hlen). cbn [Isolation.Engine_cfg Isolation.Config_RAM Isolation.Range_Base Isolation.Engine_pages].
  rewrite andnot_4095 by lia.
  pose proof (Z.div_mod pa 4096 ltac:(lia)) as Hdm.
  pose proof (Z.mod_pos_bound pa 4096 ltac:(lia)) as Hmb.
  pose proof (Z.div_mod base 4096 ltac:(lia)) as Hdb.
  set (q := pa / 4096) in *. set (r := pa mod 4096) in *. set (b := base / 4096) in *.
  assert (Hi : (pa - r - base) mod 2 ^ 64 / 4096 = q - b).
  { rewrite Z.mod_small by lia. replace (pa - r - base) with ((q - b) * 4096) by lia.
    apply Z.div_mul. lia. }
  assert (Hlt : q - b < len pages) by lia.
  destruct (nth_error pages (Z.to_nat (q - b))) as [pg|] eqn:Hnth.
  2:{ apply nth_error_None in Hnth. unfold len in Hlt. lia. }
  eexists. split.
  - unfold Isolation.Engine_pageAt, Isolation.Engine_pfn, Isolation.PageShift, shr, wrapu, bind, ret.
    cbn -[Z.pow Z.modulo Z.div Z.shiftr len].
    rewrite Z.shiftr_div_pow2 by lia. change (2 ^ 12) with 4096. rewrite Hi.
    destruct ((q - b <? 0) || (len pages <=? q - b)) eqn:Hc.
    { apply orb_true_iff in Hc. rewrite Z.ltb_lt, Z.leb_le in Hc. lia. }
    reflexivity.
  - intros tr'. cbn. rewrite Hnth. rewrite (nth_error_nth _ _ _ Hnth). reflexivity.
Qed.

Lemma in_ram_iff : forall c e pa, cfg_rel c e -> 0 <= pa ->
  in_ram c (pfn c (Z.to_nat pa)) = true <->
  Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e)) <= pa <
    Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e)) +
    Isolation.Range_Size (Isolation.Config_RAM (Isolation.Engine_cfg e)).
Proof.
  intros c e pa (Hg & Hb & Hs) Hpa. rewrite <- Hb, <- Hs.
  unfold in_ram, in_range, pfn. rewrite Hg. rewrite andb_true_iff, Nat.leb_le, Nat.ltb_lt.
  pose proof (Z.div_mod pa 4096 ltac:(lia)) as Hdm.
  pose proof (Z.mod_pos_bound pa 4096 ltac:(lia)) as Hmb.
  assert (Hq : Z.of_nat (Z.to_nat pa / 4096) = pa / 4096).
  { rewrite Nat2Z.inj_div, Z2Nat.id by lia. reflexivity. }
  split.
  - intros [H1 H2]. apply Nat2Z.inj_le in H1. apply Nat2Z.inj_lt in H2.
    rewrite Nat2Z.inj_add, Hq in *. lia.
  - intros [H1 H2]. split; [apply Nat2Z.inj_le|apply Nat2Z.inj_lt]; rewrite ?Nat2Z.inj_add, Hq; lia.
Qed.

(** The four words MEM_INFO returns beside the status. *)
Definition info_words (i : Isolation.PageInfo) : list nat :=
  [Z.to_nat (Isolation.PageInfo_Owner i); Z.to_nat (Isolation.PageInfo_VM i);
   Z.to_nat (Isolation.PageInfo_Shared i); Z.to_nat (Isolation.PageInfo_Borrower i)].

(** MEM_INFO refines the model: from an engine whose ledger covers RAM and
    holds owners of the four kinds, and a model state whose page metadata
    is the ledger's abstraction on the same board, for any 64-bit pa, the
    translated code returns without touching memory or trace, its status
    is the model's, and on success its four words are the model's. *)
Theorem MemInfo_refines : forall c e s tr pa,
  ledger_ok e -> owners_ok e -> cfg_rel c e -> ms_pages (st_meta s) = abs_pages c e -> 0 <= pa < 2 ^ 64 ->
  exists info st out, Isolation.Engine_MemInfo root pa e tr = Ok (info, st) e tr /\
    mem_info c s (Z.to_nat pa) = (s, out) /\
    match out with
    | ORet sst ws => go_status sst = st /\ ws = (if st =? Abi.Success then info_words info else [])
    | _ => False
    end.
Proof.
  intros c e s tr pa Hinv Hown Hcfg Habs Hpa.
  pose proof (in_ram_iff c e pa Hcfg ltac:(lia)) as Hram.
  unfold Isolation.Engine_MemInfo, Isolation.Engine_ramPage, Isolation.Range_Contains,
    Isolation.pageMask, bind at 1, bind at 1.
  cbn [deref root]. unfold ret at 1 2.
  set (base := Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e))) in *.
  set (size := Isolation.Range_Size (Isolation.Config_RAM (Isolation.Engine_cfg e))) in *.
  assert (Hinv' := Hinv). destruct Hinv' as (Hb & Hs & Hbs & Hal & Hlen). fold base size in Hb, Hs, Hbs, Hal, Hlen.
  unfold mem_info. cbv zeta.
  destruct ((pa <? base) || (1 >? size)) eqn:Hc; cbn [negb].
  { assert (Hr : in_ram c (pfn c (Z.to_nat pa)) = false).
    { apply not_true_is_false. intros E.
      apply Hram in E. apply orb_true_iff in Hc. rewrite Z.ltb_lt, Z.gtb_ltb, Z.ltb_lt in Hc. lia. }
    rewrite Hr. unfold ret. do 3 eexists. split; [reflexivity|]. split; [reflexivity|]. split; reflexivity. }
  apply orb_false_iff in Hc. destruct Hc as [Hc1 Hc2]. rewrite Z.ltb_ge in Hc1. rewrite Z.gtb_ltb, Z.ltb_ge in Hc2.
  unfold wrapu. rewrite (Z.mod_small (pa - base)) by lia. rewrite (Z.mod_small (size - 1)) by lia.
  destruct (Z.leb_spec (pa - base) (size - 1)) as [Hle | Hgt]; cbn [negb].
  2:{ assert (Hr : in_ram c (pfn c (Z.to_nat pa)) = false).
      { apply not_true_is_false. intros E. apply Hram in E. lia. }
      rewrite Hr. unfold ret. do 3 eexists. split; [reflexivity|]. split; [reflexivity|]. split; reflexivity. }
  assert (Hr : in_ram c (pfn c (Z.to_nat pa)) = true) by (apply Hram; lia).
  rewrite Hr. rewrite Habs. unfold abs_pages. rewrite Hr.
  pose proof (pageAt_nth e tr pa Hinv Hpa ltac:(fold base size; lia)) as (p & Hp & Hd). fold base in Hd.
  set (pg := nth _ (Isolation.Engine_pages e) Isolation.zero_page) in Hd.
  (* The model's index of the page is the ledger's. *)
  destruct Hcfg as (Hg & Hrb & Hrs). fold base in Hrb.
  assert (Hix : (pfn c (Z.to_nat pa) - ram_base c)%nat = Z.to_nat (pa / 4096 - base / 4096)).
  { unfold pfn. rewrite Hg. rewrite <- Hrb, Z.div_mul by lia.
    apply Nat2Z.inj. rewrite Z2Nat.id.
    2:{ apply Zle_minus_le_0, Z.div_le_lower_bound; lia. }
    rewrite Nat2Z.inj_sub.
    - rewrite Nat2Z.inj_div, Z2Nat.id by lia. reflexivity.
    - apply Nat2Z.inj_le. rewrite Nat2Z.inj_div, Z2Nat.id by lia. apply Z.div_le_lower_bound; lia. }
  rewrite Hix. fold pg.
  assert (Hpg : 0 <= Isolation.page_owner pg <= 3).
  { enough (H : entry_ok pg) by exact (proj1 H).
    unfold owners_ok in Hown. rewrite Forall_forall in Hown. apply Hown. unfold pg. apply nth_In.
    pose proof (Z.div_mod pa 4096 ltac:(lia)). pose proof (Z.mod_pos_bound pa 4096 ltac:(lia)).
    pose proof (Z.div_mod base 4096 ltac:(lia)). unfold len in Hlen. lia. }
  unfold bind, ret. cbv beta iota delta [negb]. rewrite Hp. rewrite !Hd.
  destruct pg as [o vm sh bor]. cbn [Isolation.page_owner Isolation.page_vm Isolation.page_shared Isolation.page_borrower] in *.
  assert (Ho : o = 0 \/ o = 1 \/ o = 2 \/ o = 3) by lia.
  unfold Abi.OwnerVM.
  destruct Ho as [-> | [-> | [-> | ->]]]; cbn [Z.eqb Pos.eqb]; cbv beta iota;
    destruct sh; cbv beta iota;
    repeat (rewrite Hd; cbn [Isolation.page_shared Isolation.page_owner Isolation.page_borrower Isolation.page_vm]; cbv beta iota);
    do 3 eexists; (split; [reflexivity|]); (split; [reflexivity|]); split; reflexivity.
Qed.

(** ** The ledger's commit: [setOwner]

    MEM_DONATE, MEM_UNSHARE, MEM_RECLAIM and GUEST_RELINQUISH commit their
    ledger change through [setOwner]: [n] pages from [pa] get one owner,
    not shared. Its effect on the abstraction is the model's: inside the
    range, the abstraction of the new entry; outside, as before. *)

Lemma nth_replace_any : forall {A} m (a : A) xs j d, (m < length xs)%nat ->
  nth j (replace_nth m a xs) d = if Nat.eqb j m then a else nth j xs d.
Proof.
  induction m; intros a [|x xs] [|j] d H; cbn in *; try lia; try reflexivity.
  apply IHm. lia.
Qed.

Lemma set_pages_twice : forall a b e, Isolation.set_Engine_pages a (Isolation.set_Engine_pages b e) = Isolation.set_Engine_pages a e.
Proof. intros a b []. reflexivity. Qed.

Lemma cfg_set_pages : forall a e, Isolation.Engine_cfg (Isolation.set_Engine_pages a e) = Isolation.Engine_cfg e.
Proof. intros a []. reflexivity. Qed.

Lemma pfn_pages : forall (e : Isolation.Engine) ps tr pa,
  0 <= Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e)) <= pa -> pa < 2 ^ 64 ->
  Isolation.Engine_pfn root pa (Isolation.set_Engine_pages ps e) tr =
  Ok ((pa - Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e))) / 4096) (Isolation.set_Engine_pages ps e) tr.
Proof.
  intros e ps tr pa Hb Hpa. unfold Isolation.Engine_pfn, bind, ret. cbn [deref root]. rewrite cfg_set_pages.
  unfold wrapu. rewrite Z.mod_small by lia. unfold Isolation.PageShift. rewrite shr_small by lia.
  rewrite Z.shiftr_div_pow2 by lia. reflexivity.
Qed.

(** A ledger of the same length whose entries are each [entry_ok] when
    the old entry is keeps [owners_ok]. *)
Lemma owners_ok_nth : forall e ps, len ps = len (Isolation.Engine_pages e) -> owners_ok e ->
  (forall j, entry_ok (nth j (Isolation.Engine_pages e) Isolation.zero_page) -> entry_ok (nth j ps Isolation.zero_page)) ->
  owners_ok (Isolation.set_Engine_pages ps e).
Proof.
  intros e ps Hlen Hown H. unfold owners_ok in *. rewrite Forall_forall in *.
  assert (E : Isolation.Engine_pages (Isolation.set_Engine_pages ps e) = ps) by (destruct e; reflexivity). rewrite E.
  intros pg Hin. apply In_nth with (d := Isolation.zero_page) in Hin as (j & Hj & <-).
  apply H. apply Hown. apply nth_In. unfold len in Hlen. lia.
Qed.

Lemma wrapu_nonneg : forall n z, 0 <= n -> 0 <= wrapu n z.
Proof. intros n z Hn. unfold wrapu. apply Z.mod_pos_bound. apply Z.pow_pos_nonneg; lia. Qed.

(** [setOwner] over [n] ledger entries from the one of [pa] has no failure
    outcome, records no platform call, changes only the ledger, and leaves
    exactly those entries [page{owner, vm}]. *)
(** The pages [k, k + n) of RAM, counted from its first page [rb]: a page
    is in that range iff it is in RAM and its index in RAM is in [k, k + n). *)
Lemma range_shift : forall rb rp k n p, (k + n <= rp)%nat ->
  ((rb + k <=? p) && (p <? rb + k + n))%nat = ((rb <=? p) && (p <? rb + rp) && ((k <=? p - rb) && (p - rb <? k + n)))%nat.
Proof.
  intros rb rp k n p H.
  destruct (Nat.leb_spec rb p); destruct (Nat.ltb_spec p (rb + rp)); destruct (Nat.leb_spec k (p - rb));
    destruct (Nat.ltb_spec (p - rb) (k + n)); destruct (Nat.leb_spec (rb + k) p);
    destruct (Nat.ltb_spec p (rb + k + n)); cbn [andb]; reflexivity || lia.
Qed.

Theorem setOwner_pages : forall e tr pa n o v,
  let base := Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e)) in
  let k0 := (pa - base) / 4096 in
  let pages := Isolation.Engine_pages e in
  0 <= base <= pa -> pa < 2 ^ 64 -> 1 <= n -> k0 + n <= len pages -> len pages < 2 ^ 64 ->
  exists ps, Isolation.Engine_setOwner root pa n o v e tr = Ok tt (Isolation.set_Engine_pages ps e) tr /\
    len ps = len pages /\
    forall j, nth j ps Isolation.zero_page =
      if (Z.to_nat k0 <=? j)%nat && (j <? Z.to_nat k0 + Z.to_nat n)%nat
      then Isolation.mk_page o (wrapu 8 v) false 0 else nth j pages Isolation.zero_page.
Proof.
  intros e tr pa n o v base k0 pages Hb Hpa Hn Hk Hl64.
  assert (Hk0 : 0 <= k0) by (apply Z.div_pos; lia).
  assert (Hlen : 0 <= len pages) by (unfold len; lia).
  set (newpg := Isolation.mk_page o (wrapu 8 v) false 0).
  pose proof (pfield_lens root _ _ _ Isolation.Engine_pages Isolation.set_Engine_pages lens_root ltac:(field_laws))
    as (q0 & Hq0 & L0).
  unfold Isolation.Engine_setOwner. cbv zeta.
  match goal with |- context [loop ?f ?c ?b ?p ?l0] =>
  destruct (loop_spec f c b p
    (fun i st tr' => tr' = tr /\ 0 <= i <= n /\ exists ps, st = Isolation.set_Engine_pages ps e /\
       len ps = len pages /\ forall j, nth j ps Isolation.zero_page =
         if (Z.to_nat k0 <=? j)%nat && (j <? Z.to_nat k0 + Z.to_nat i)%nat then newpg else nth j pages Isolation.zero_page)
    (fun j st tr' => tr' = tr /\ (exists l, j = Fall l) /\ exists ps, st = Isolation.set_Engine_pages ps e /\
       len ps = len pages /\ forall j, nth j ps Isolation.zero_page =
         if (Z.to_nat k0 <=? j)%nat && (j <? Z.to_nat k0 + Z.to_nat n)%nat then newpg else nth j pages Isolation.zero_page)
    (fun i => Z.to_nat (n - i))) with (l := l0) (s := e) (tr := tr) as (j & s' & tr' & Hl & Hq) end.
  - intros i st tr' (-> & Hi & ps & -> & Hps & Hnth). eexists. split; [reflexivity|]. split.
    + intros Hc. apply Z.ltb_lt in Hc. lia.
    + intros Hc. apply Z.ltb_ge in Hc. split; [reflexivity|]. split; [eauto|].
      exists ps. split; [reflexivity|]. split; [exact Hps|]. intros j. rewrite Hnth.
      replace i with n by lia. reflexivity.
  - intros i st tr' (-> & Hi & ps & -> & Hps & Hnth) Hc. injection Hc as Hc. apply Z.ltb_lt in Hc.
    pose proof (pindex_lens q0 _ _ _ (k0 + i) Isolation.zero_page L0) as (q & Hq & Lq).
    assert (Hv : True /\ 0 <= k0 + i < len (Isolation.Engine_pages (Isolation.set_Engine_pages ps e)))
      by (split; [exact I|]; destruct e; cbn in *; lia).
    unfold bind at 1. rewrite Hq0. cbv beta iota.
    unfold bind at 1. rewrite pfn_pages by (unfold base in Hb; lia). fold base k0. cbv beta iota.
    rewrite wrapu_small by (unfold len in *; lia).
    unfold bind at 1. rewrite Hq by (exact I || exact (proj2 Hv)). cbv beta iota.
    unfold bind at 1. rewrite (store_lens _ _ _ _ _ _ tr Lq Hv). cbv beta iota. fold newpg.
    unfold ret. eexists _, _, _. split; [reflexivity|].
    eexists. split; [reflexivity|]. rewrite wrapu_small by lia. split; [|apply Z2Nat.inj_lt; lia].
    split; [reflexivity|]. split; [lia|].
    eexists. split.
    { destruct e; reflexivity. }
    assert (Hps' : Isolation.Engine_pages (Isolation.set_Engine_pages ps e) = ps) by (destruct e; reflexivity).
    rewrite Hps'. split; [unfold len in *; rewrite replace_nth_length; exact Hps|].
    intros j. rewrite nth_replace_any by (unfold len in *; lia). rewrite Hnth.
    destruct (Nat.eqb_spec j (Z.to_nat (k0 + i))) as [Ej|Ej].
    + subst j. replace ((Z.to_nat k0 <=? Z.to_nat (k0 + i))%nat && (Z.to_nat (k0 + i) <? Z.to_nat k0 + Z.to_nat (i + 1))%nat) with true.
      * reflexivity.
      * symmetry. apply andb_true_iff. rewrite Nat.leb_le, Nat.ltb_lt. lia.
    + destruct (Nat.leb_spec (Z.to_nat k0) j); destruct (Nat.ltb_spec j (Z.to_nat k0 + Z.to_nat i));
        destruct (Nat.ltb_spec j (Z.to_nat k0 + Z.to_nat (i + 1))); cbn [andb]; try reflexivity; lia.
  - split; [reflexivity|]. split; [lia|]. exists (Isolation.Engine_pages e). split; [destruct e; reflexivity|].
    split; [reflexivity|]. intros j. change (Z.to_nat 0) with 0%nat. rewrite Nat.add_0_r.
    destruct (Nat.leb_spec (Z.to_nat k0) j); destruct (Nat.ltb_spec j (Z.to_nat k0)); cbn [andb]; try reflexivity; lia.
  - rewrite Z.sub_0_r, fuel_nat by lia. lia.
  - unfold bind at 1. rewrite Hl. destruct Hq as (-> & (l & ->) & ps & -> & Hps & Hnth).
    unfold ret. exists ps. split; [reflexivity|]. split; [exact Hps|]. exact Hnth.
Qed.

(** The effect on the abstraction: from an engine and a board as above,
    for a range of [n] pages of RAM from a page-aligned [pa] (what
    [pageRange] accepted), [setOwner] leaves an engine whose abstraction
    is the old one with the range's pages replaced by the abstraction of
    [page{owner, vm}], as the model's MEM_DONATE ([mkPage (OVM v)
    NotShared]) and MEM_UNSHARE and MEM_RECLAIM ([mkPage OHost NotShared])
    replace them. *)
Theorem setOwner_abs : forall c e tr pa n o v,
  let base := Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e)) in
  let size := Isolation.Range_Size (Isolation.Config_RAM (Isolation.Engine_cfg e)) in
  ledger_ok e -> cfg_rel c e -> 0 <= pa < 2 ^ 64 -> pa mod 4096 = 0 -> 1 <= n ->
  base <= pa -> pa + n * 4096 <= base + size ->
  exists e', Isolation.Engine_setOwner root pa n o v e tr = Ok tt e' tr /\
    ledger_ok e' /\ (0 <= o <= 3 -> owners_ok e -> owners_ok e') /\ Isolation.Engine_cfg e' = Isolation.Engine_cfg e /\
    forall p, abs_pages c e' p =
      if in_range p (pfn c (Z.to_nat pa)) (Z.to_nat n)
      then abs_page (Isolation.mk_page o (wrapu 8 v) false 0) else abs_pages c e p.
Proof.
  intros c e tr pa n o v base size Hl Hcfg Hpa Hal Hn Hlo Hhi.
  pose proof Hl as Hl'. unfold ledger_ok in Hl'. cbv zeta in Hl'. fold base size in Hl'.
  destruct Hl' as (Hb0 & Hs0 & Hbs & Hbal & Hlen).
  destruct Hcfg as (Hg & Hrb & Hrs). fold base in Hrb. fold size in Hrs.
  set (k0 := (pa - base) / 4096).
  assert (Hk0 : k0 = pa / 4096 - Z.of_nat (ram_base c)).
  { unfold k0. rewrite <- Hrb. replace (pa - Z.of_nat (ram_base c) * 4096) with (pa + (- Z.of_nat (ram_base c)) * 4096) by lia.
    rewrite Z.div_add by lia. lia. }
  pose proof (Z.div_mod pa 4096 ltac:(lia)) as Hdm. rewrite Hal in Hdm.
  assert (Hkn : k0 + n <= len (Isolation.Engine_pages e)) by lia.
  pose proof (setOwner_pages e tr pa n o v ltac:(fold base; lia) ltac:(lia) Hn ltac:(fold base k0; exact Hkn) ltac:(lia))
    as (ps & Hso & Hps & Hnth). fold base k0 in Hnth.
  exists (Isolation.set_Engine_pages ps e). split; [exact Hso|].
  split.
  { unfold ledger_ok. rewrite cfg_set_pages. fold base size.
    assert (E : Isolation.Engine_pages (Isolation.set_Engine_pages ps e) = ps) by (destruct e; reflexivity).
    rewrite E. repeat split; lia. }
  split.
  { intros Ho Hown. apply (owners_ok_nth _ ps Hps Hown). intros j Hj. rewrite Hnth.
    destruct (_ && _)%nat; [|exact Hj]. split; [exact Ho|]. split; [apply wrapu_nonneg; lia|cbn; lia]. }
  split; [apply cfg_set_pages|].
  assert (Hp0 : Z.of_nat (pfn c (Z.to_nat pa)) = pa / 4096).
  { unfold pfn. rewrite Hg, Nat2Z.inj_div, Z2Nat.id by lia. reflexivity. }
  intros p. unfold abs_pages.
  assert (E : Isolation.Engine_pages (Isolation.set_Engine_pages ps e) = ps) by (destruct e; reflexivity).
  rewrite E. unfold in_range, in_ram, in_range.
  assert (HP : pfn c (Z.to_nat pa) = (ram_base c + Z.to_nat k0)%nat) by lia.
  assert (HN : (Z.to_nat k0 + Z.to_nat n <= ram_pages c)%nat) by lia.
  rewrite HP, (range_shift _ _ _ _ _ HN).
  destruct ((ram_base c <=? p) && (p <? ram_base c + ram_pages c))%nat; cbn [andb]; [|reflexivity].
  rewrite Hnth. destruct ((Z.to_nat k0 <=? p - ram_base c) && (p - ram_base c <? Z.to_nat k0 + Z.to_nat n))%nat; reflexivity.
Qed.

(** The new entries' abstraction, for the owners [setOwner] is given. *)
Lemma abs_page_vm : forall id, 0 <= id < 256 ->
  abs_page (Isolation.mk_page Abi.OwnerVM (wrapu 8 id) false 0) = mkPage (OVM (Z.to_nat id)) NotShared.
Proof. intros id Hid. unfold abs_page, abs_owner, abs_share, wrapu. cbn. rewrite Z.mod_small by lia. reflexivity. Qed.

Lemma abs_page_host : forall v, abs_page (Isolation.mk_page Abi.OwnerHost v false 0) = mkPage OHost NotShared.
Proof. reflexivity. Qed.

Lemma abs_page_none : forall v, abs_page (Isolation.mk_page Abi.OwnerNone v false 0) = mkPage ONone NotShared.
Proof. reflexivity. Qed.

(** ** The share flag: [setShared]

    GUEST_SHARE and GUEST_UNSHARE commit, run by run, through [setShared]:
    [n] pages from [pa] get a share flag and a borrower, and keep their
    owner. *)

Definition with_share (sh : bool) (b : Z) (pg : Isolation.page) : Isolation.page :=
  Isolation.set_page_borrower (wrapu 8 b) (Isolation.set_page_shared sh pg).

Theorem setShared_pages : forall e tr pa n sh bw,
  let base := Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e)) in
  let k0 := (pa - base) / 4096 in
  let pages := Isolation.Engine_pages e in
  0 <= base <= pa -> pa < 2 ^ 64 -> 1 <= n -> k0 + n <= len pages -> len pages < 2 ^ 64 ->
  exists ps, Isolation.Engine_setShared root pa n sh bw e tr = Ok tt (Isolation.set_Engine_pages ps e) tr /\
    len ps = len pages /\
    forall j, nth j ps Isolation.zero_page =
      if (Z.to_nat k0 <=? j)%nat && (j <? Z.to_nat k0 + Z.to_nat n)%nat
      then with_share sh bw (nth j pages Isolation.zero_page) else nth j pages Isolation.zero_page.
Proof.
  intros e tr pa n sh bw base k0 pages Hb Hpa Hn Hk Hl64.
  assert (Hk0 : 0 <= k0) by (apply Z.div_pos; lia).
  assert (Hlen : 0 <= len pages) by (unfold len; lia).
  pose proof (pfield_lens root _ _ _ Isolation.Engine_pages Isolation.set_Engine_pages lens_root ltac:(field_laws))
    as (q0 & Hq0 & L0).
  unfold Isolation.Engine_setShared. cbv zeta.
  match goal with |- context [loop ?f ?c ?b ?p ?l0] =>
  destruct (loop_spec f c b p
    (fun i st tr' => tr' = tr /\ 0 <= i <= n /\ exists ps, st = Isolation.set_Engine_pages ps e /\
       len ps = len pages /\ forall j, nth j ps Isolation.zero_page =
         if (Z.to_nat k0 <=? j)%nat && (j <? Z.to_nat k0 + Z.to_nat i)%nat
         then with_share sh bw (nth j pages Isolation.zero_page) else nth j pages Isolation.zero_page)
    (fun j st tr' => tr' = tr /\ (exists l, j = Fall l) /\ exists ps, st = Isolation.set_Engine_pages ps e /\
       len ps = len pages /\ forall j, nth j ps Isolation.zero_page =
         if (Z.to_nat k0 <=? j)%nat && (j <? Z.to_nat k0 + Z.to_nat n)%nat
         then with_share sh bw (nth j pages Isolation.zero_page) else nth j pages Isolation.zero_page)
    (fun i => Z.to_nat (n - i))) with (l := l0) (s := e) (tr := tr) as (j & s' & tr' & Hl & Hq) end.
  - intros i st tr' (-> & Hi & ps & -> & Hps & Hnth). eexists. split; [reflexivity|]. split.
    + intros Hc. apply Z.ltb_lt in Hc. lia.
    + intros Hc. apply Z.ltb_ge in Hc. split; [reflexivity|]. split; [eauto|].
      exists ps. split; [reflexivity|]. split; [exact Hps|]. intros j. rewrite Hnth.
      replace i with n by lia. reflexivity.
  - intros i st tr' (-> & Hi & ps & -> & Hps & Hnth) Hc. injection Hc as Hc. apply Z.ltb_lt in Hc.
    set (k := Z.to_nat (k0 + i)).
    pose proof (pindex_lens q0 _ _ _ (k0 + i) Isolation.zero_page L0) as (q & Hq & Lq).
    pose proof (pfield_lens q _ _ _ Isolation.page_shared Isolation.set_page_shared Lq ltac:(field_laws)) as (qs & Hqs & Ls).
    pose proof (pfield_lens q _ _ _ Isolation.page_borrower Isolation.set_page_borrower Lq ltac:(field_laws)) as (qb & Hqb & Lb).
    assert (Hv : True /\ 0 <= k0 + i < len (Isolation.Engine_pages (Isolation.set_Engine_pages ps e)))
      by (split; [exact I|]; destruct e; cbn in *; lia).
    unfold bind at 1. rewrite Hq0. cbv beta iota.
    unfold bind at 1. rewrite pfn_pages by (unfold base in Hb; lia). fold base k0. cbv beta iota.
    rewrite wrapu_small by (unfold len in *; lia).
    unfold bind at 1. rewrite Hq by (exact I || exact (proj2 Hv)). cbv beta iota.
    unfold bind at 1. rewrite Hqs. cbv beta iota.
    unfold bind at 1. rewrite (store_lens _ _ _ _ _ _ tr Ls Hv). cbv beta iota.
    pose proof (lens_valid _ _ _ _ _ sh Ls Hv) as Hv1. cbv beta in Hv1.
    unfold bind at 1. rewrite Hqb. cbv beta iota.
    unfold bind at 1. rewrite (store_lens _ _ _ _ _ _ tr Lb Hv1). cbv beta iota.
    unfold ret. eexists _, _, _. split; [reflexivity|].
    eexists. split; [reflexivity|]. rewrite wrapu_small by lia. split; [|apply Z2Nat.inj_lt; lia].
    split; [reflexivity|]. split; [lia|].
    assert (Hps' : Isolation.Engine_pages (Isolation.set_Engine_pages ps e) = ps) by (destruct e; reflexivity).
    eexists. split.
    { rewrite Hps'. rewrite !set_pages_twice. destruct e; reflexivity. }
    rewrite ?Hps'. fold k.
    assert (Hkl : (k < length ps)%nat) by (unfold k, len in *; lia).
    split.
    { destruct e; cbn. unfold len in *. rewrite !replace_nth_length. exact Hps. }
    intros j.
    assert (Hpg : forall ps', Isolation.Engine_pages (Isolation.set_Engine_pages ps' e) = ps') by (destruct e; reflexivity).
    rewrite Hpg, nth_replace_any by (rewrite ?replace_nth_length; lia).
    rewrite !nth_replace_any by lia. rewrite Nat.eqb_refl.
    destruct (Nat.eqb_spec j k) as [Ej|Ej].
    + subst j. rewrite Hnth.
      replace ((Z.to_nat k0 <=? k)%nat && (k <? Z.to_nat k0 + Z.to_nat i)%nat) with false
        by (symmetry; apply andb_false_iff; right; apply Nat.ltb_ge; unfold k; lia).
      replace ((Z.to_nat k0 <=? k)%nat && (k <? Z.to_nat k0 + Z.to_nat (i + 1))%nat) with true
        by (symmetry; apply andb_true_iff; rewrite Nat.leb_le, Nat.ltb_lt; unfold k; lia).
      reflexivity.
    + rewrite Hnth.
      destruct (Nat.leb_spec (Z.to_nat k0) j); destruct (Nat.ltb_spec j (Z.to_nat k0 + Z.to_nat i));
        destruct (Nat.ltb_spec j (Z.to_nat k0 + Z.to_nat (i + 1))); cbn [andb]; try reflexivity; unfold k in *; lia.
  - split; [reflexivity|]. split; [lia|]. exists (Isolation.Engine_pages e). split; [destruct e; reflexivity|].
    split; [reflexivity|]. intros j. change (Z.to_nat 0) with 0%nat. rewrite Nat.add_0_r.
    destruct (Nat.leb_spec (Z.to_nat k0) j); destruct (Nat.ltb_spec j (Z.to_nat k0)); cbn [andb]; try reflexivity; lia.
  - rewrite Z.sub_0_r, fuel_nat by lia. lia.
  - unfold bind at 1. rewrite Hl. destruct Hq as (-> & (l & ->) & ps & -> & Hps & Hnth).
    unfold ret. exists ps. split; [reflexivity|]. split; [exact Hps|]. exact Hnth.
Qed.

(** The effect on the abstraction: inside the range each page keeps its
    owner and gets the new share state, as the model's GUEST_SHARE
    ([SharedWith host_id]) and GUEST_UNSHARE ([NotShared]) set it; outside,
    nothing changes. *)
Theorem setShared_abs : forall c e tr pa n sh bw,
  let base := Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e)) in
  let size := Isolation.Range_Size (Isolation.Config_RAM (Isolation.Engine_cfg e)) in
  ledger_ok e -> cfg_rel c e -> 0 <= pa < 2 ^ 64 -> pa mod 4096 = 0 -> 1 <= n ->
  base <= pa -> pa + n * 4096 <= base + size ->
  exists e', Isolation.Engine_setShared root pa n sh bw e tr = Ok tt e' tr /\
    ledger_ok e' /\ (owners_ok e -> owners_ok e') /\ Isolation.Engine_cfg e' = Isolation.Engine_cfg e /\
    forall p, abs_pages c e' p =
      if in_range p (pfn c (Z.to_nat pa)) (Z.to_nat n)
      then mkPage (pg_owner (abs_pages c e p)) (if sh then SharedWith (Z.to_nat (wrapu 8 bw)) else NotShared)
      else abs_pages c e p.
Proof.
  intros c e tr pa n sh bw base size Hl Hcfg Hpa Hal Hn Hlo Hhi.
  pose proof Hl as Hl'. unfold ledger_ok in Hl'. cbv zeta in Hl'. fold base size in Hl'.
  destruct Hl' as (Hb0 & Hs0 & Hbs & Hbal & Hlen).
  destruct Hcfg as (Hg & Hrb & Hrs). fold base in Hrb. fold size in Hrs.
  set (k0 := (pa - base) / 4096).
  assert (Hk0 : k0 = pa / 4096 - Z.of_nat (ram_base c)).
  { unfold k0. rewrite <- Hrb. replace (pa - Z.of_nat (ram_base c) * 4096) with (pa + (- Z.of_nat (ram_base c)) * 4096) by lia.
    rewrite Z.div_add by lia. lia. }
  pose proof (Z.div_mod pa 4096 ltac:(lia)) as Hdm. rewrite Hal in Hdm.
  assert (Hkn : k0 + n <= len (Isolation.Engine_pages e)) by lia.
  pose proof (setShared_pages e tr pa n sh bw ltac:(fold base; lia) ltac:(lia) Hn ltac:(fold base k0; exact Hkn) ltac:(lia))
    as (ps & Hso & Hps & Hnth). fold base k0 in Hnth.
  exists (Isolation.set_Engine_pages ps e). split; [exact Hso|].
  split.
  { unfold ledger_ok. rewrite cfg_set_pages. fold base size.
    assert (E : Isolation.Engine_pages (Isolation.set_Engine_pages ps e) = ps) by (destruct e; reflexivity).
    rewrite E. repeat split; lia. }
  split.
  { intros Hown. apply (owners_ok_nth _ ps Hps Hown). intros j Hj. rewrite Hnth.
    destruct (_ && _)%nat; [|exact Hj]. unfold with_share. destruct (nth j _ _) as [o0 v0 sh0 b0]. unfold entry_ok in *.
    cbn in *. split; [lia|]. split; [lia|apply wrapu_nonneg; lia]. }
  split; [apply cfg_set_pages|].
  assert (Hp0 : Z.of_nat (pfn c (Z.to_nat pa)) = pa / 4096).
  { unfold pfn. rewrite Hg, Nat2Z.inj_div, Z2Nat.id by lia. reflexivity. }
  intros p. unfold abs_pages.
  assert (E : Isolation.Engine_pages (Isolation.set_Engine_pages ps e) = ps) by (destruct e; reflexivity).
  rewrite E. unfold in_range, in_ram, in_range.
  assert (HP : pfn c (Z.to_nat pa) = (ram_base c + Z.to_nat k0)%nat) by lia.
  assert (HN : (Z.to_nat k0 + Z.to_nat n <= ram_pages c)%nat) by lia.
  rewrite HP, (range_shift _ _ _ _ _ HN).
  destruct ((ram_base c <=? p) && (p <? ram_base c + ram_pages c))%nat; cbn [andb]; [|reflexivity].
  rewrite Hnth. destruct ((Z.to_nat k0 <=? p - ram_base c) && (p - ram_base c <? Z.to_nat k0 + Z.to_nat n))%nat; reflexivity.
Qed.
