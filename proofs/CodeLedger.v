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
  unfold Isolation.pageRange, Isolation.Range_Contains, Isolation.pageMask, Isolation.PageShift,
    shr, shl, wrapu, bind, ret.
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
