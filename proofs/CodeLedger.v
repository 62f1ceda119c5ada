(** * Lemmas about the translated ledger

    Lemmas about proofs/code/Isolation.v, the translation of isolation/
    (addr.go, ledger.go, mem.go): what the untrusted-range check computes,
    and that MEM_INFO has no failure outcome. *)
From Coq Require Import ZArith Lia List Bool.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
Import ListNotations.
Open Scope Z_scope.

Lemma land_4095 : forall z, 0 <= z -> Z.land z 4095 = z mod 4096.
Proof. intros z Hz. change 4095 with (Z.ones 12). rewrite Z.land_ones by lia. reflexivity. Qed.

Lemma shr_small : forall x y, 0 <= y < 64 -> shr x y = Z.shiftr x y.
Proof. intros x y Hy. unfold shr. destruct (Z.leb_spec 64 y); [lia | reflexivity]. Qed.

Lemma shl_small : forall x y, 0 <= y < 64 -> shl 64 false x y = wrapu 64 (Z.shiftl x y).
Proof. intros x y Hy. unfold shl. destruct (Z.leb_spec 64 y); [lia | reflexivity]. Qed.

(** pageRange, the check every call makes of an untrusted (base, pages)
    pair, never fails and accepts exactly the non-empty, page-aligned
    ranges that do not wrap 64 bits and lie inside the limit. *)
Theorem pageRange_spec : forall {S} (st : S) tr base pages lim,
  0 <= base < 2^64 -> 0 <= pages < 2^64 ->
  0 <= Isolation.Range_Base lim < 2^64 -> 0 <= Isolation.Range_Size lim < 2^64 ->
  exists b, Isolation.pageRange base pages lim st tr = Ok b st tr /\
  (b = true <-> pages <> 0 /\ base mod 4096 = 0 /\ base + pages * 4096 < 2^64 /\
                Isolation.Range_Base lim <= base /\
                base + pages * 4096 <= Isolation.Range_Base lim + Isolation.Range_Size lim).
Proof.
  intros S st tr base pages [rb rs] Hb Hp Hrb Hrs. cbn [Isolation.Range_Base Isolation.Range_Size] in *.
  unfold Isolation.pageRange, Isolation.Range_Contains, Isolation.pageMask, Isolation.PageShift, bind, ret.
  rewrite shr_small, shl_small by lia. unfold wrapu.
  cbn [Isolation.Range_Base Isolation.Range_Size].
  rewrite land_4095 by lia. rewrite Z.shiftr_div_pow2 by lia. rewrite Z.shiftl_mul_pow2 by lia.
  change (2 ^ 12) with 4096. change (2 ^ 64) with 18446744073709551616 in *.
  rewrite (Z.mod_small (18446744073709551615 - base)) by lia.
  destruct (Z.eqb_spec pages 0) as [E0 | E0]; cbv [orb negb].
  { eexists; split; [reflexivity|]. split; [discriminate | lia]. }
  destruct (Z.eqb_spec (base mod 4096) 0) as [E1 | E1]; cbv [orb negb].
  2:{ eexists; split; [reflexivity|]. split; [discriminate | lia]. }
  pose proof (Z.div_mod (18446744073709551615 - base) 4096 ltac:(lia)) as Hdm.
  pose proof (Z.mod_pos_bound (18446744073709551615 - base) 4096 ltac:(lia)) as Hmb.
  set (q := (18446744073709551615 - base) / 4096) in *.
  set (r := (18446744073709551615 - base) mod 4096) in *.
  destruct (pages >? q) eqn:E2.
  { eexists; split; [reflexivity|]. apply Z.gtb_lt in E2. split; [discriminate | lia]. }
  rewrite Z.gtb_ltb in E2. apply Z.ltb_ge in E2.
  assert (Hw : pages * 4096 < 18446744073709551616) by lia.
  rewrite (Z.mod_small (pages * 4096)) by lia.
  destruct (Z.ltb_spec base rb) as [E3 | E3]; cbv [orb].
  { eexists; split; [reflexivity|]. split; [discriminate | lia]. }
  destruct (pages * 4096 >? rs) eqn:E4.
  { eexists; split; [reflexivity|]. apply Z.gtb_lt in E4. split; [discriminate | lia]. }
  rewrite Z.gtb_ltb, Z.ltb_ge in E4.
  rewrite (Z.mod_small (base - rb)) by lia. rewrite (Z.mod_small (rs - pages * 4096)) by lia.
  eexists; split; [reflexivity|]. rewrite Z.leb_le. lia.
Qed.

Lemma andnot_4095 : forall z, 0 <= z -> andnot z 4095 = z - z mod 4096.
Proof.
  intros z Hz. unfold andnot. change 4095 with (Z.ones 12).
  rewrite <- Z.ldiff_land, Z.ldiff_ones_r by lia.
  rewrite Z.shiftl_mul_pow2, Z.shiftr_div_pow2 by lia. change (2 ^ 12) with 4096.
  pose proof (Z.div_mod z 4096 ltac:(lia)). lia.
Qed.

(** The concrete invariant MEM_INFO needs: RAM is a page-aligned range of
    64-bit addresses, and the ledger has one entry per page of it. *)
Definition ledger_ok (e : Isolation.Engine) : Prop :=
  let r := Isolation.Config_RAM (Isolation.Engine_cfg e) in
  0 <= Isolation.Range_Base r /\ 0 <= Isolation.Range_Size r /\
  Isolation.Range_Base r + Isolation.Range_Size r <= 2 ^ 64 /\
  Isolation.Range_Base r mod 4096 = 0 /\
  len (Isolation.Engine_pages e) * 4096 = Isolation.Range_Size r.

(** pageAt of an address of RAM is a place holding the ledger entry of its page. *)
Lemma pageAt_ok : forall (e : Isolation.Engine) tr pa,
  ledger_ok e -> 0 <= pa < 2 ^ 64 ->
  Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e)) <= pa <
    Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e)) +
    Isolation.Range_Size (Isolation.Config_RAM (Isolation.Engine_cfg e)) ->
  exists p pg, Isolation.Engine_pageAt root (andnot pa 4095) e tr = Ok p e tr /\
    forall tr', deref p e tr' = Ok pg e tr'.
Proof.
  intros e tr pa Hinv Hpa Hin.
  destruct e as [cfg plat pool pages host vms marks]. destruct cfg as [[base size] eng hm gm mv mc].
  unfold ledger_ok in Hinv. cbn in Hinv, Hin. destruct Hinv as (Hb & Hs & Hbs & Hal & Hlen).
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
  eexists; exists pg. split.
  - unfold Isolation.Engine_pageAt, Isolation.Engine_pfn, Isolation.PageShift, shr, wrapu, bind, ret.
    cbn -[Z.pow Z.modulo Z.div Z.shiftr len].
    rewrite Z.shiftr_div_pow2 by lia. change (2 ^ 12) with 4096. rewrite Hi.
    destruct ((q - b <? 0) || (len pages <=? q - b)) eqn:Hc.
    { apply orb_true_iff in Hc. rewrite Z.ltb_lt, Z.leb_le in Hc. lia. }
    reflexivity.
  - intros tr'. cbn. rewrite Hnth. reflexivity.
Qed.

(** MEM_INFO has no failure outcome: from any engine whose ledger covers
    RAM, for any 64-bit pa, it returns, leaving memory and trace as they
    were. *)
Theorem MemInfo_no_failure : forall (e : Isolation.Engine) tr pa,
  ledger_ok e -> 0 <= pa < 2 ^ 64 ->
  exists r, Isolation.Engine_MemInfo root pa e tr = Ok r e tr.
Proof.
  intros e tr pa Hinv Hpa.
  unfold Isolation.Engine_MemInfo, Isolation.Engine_ramPage, Isolation.Range_Contains,
    Isolation.pageMask, bind at 1, bind at 1.
  cbn [deref root]. unfold ret at 1 2.
  set (base := Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e))).
  set (size := Isolation.Range_Size (Isolation.Config_RAM (Isolation.Engine_cfg e))).
  assert (Hinv' := Hinv). destruct Hinv' as (Hb & Hs & Hbs & Hal & Hlen). fold base size in Hb, Hs, Hbs, Hal, Hlen.
  destruct ((pa <? base) || (1 >? size)) eqn:Hc; cbn [negb].
  { unfold ret. eexists. reflexivity. }
  apply orb_false_iff in Hc. destruct Hc as [Hc1 Hc2]. rewrite Z.ltb_ge in Hc1. rewrite Z.gtb_ltb, Z.ltb_ge in Hc2.
  unfold wrapu. rewrite (Z.mod_small (pa - base)) by lia. rewrite (Z.mod_small (size - 1)) by lia.
  destruct (Z.leb_spec (pa - base) (size - 1)) as [Hle | Hgt]; cbn [negb].
  2:{ unfold ret. eexists. reflexivity. }
  destruct (pageAt_ok e tr pa Hinv Hpa ltac:(fold base size; lia)) as (p & pg & Hp & Hd).
  unfold bind, ret. cbv beta iota delta [negb]. rewrite Hp. rewrite !Hd.
  destruct (Isolation.page_owner pg =? Abi.OwnerVM); cbv beta iota; rewrite ?Hd;
    destruct (Isolation.page_shared pg); cbv beta iota; rewrite ?Hd; eexists; reflexivity.
Qed.
