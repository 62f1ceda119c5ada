(** * The reservation of a run: [runNeed]

    Theorems about proofs/code/Isolation.v, the translation of
    isolation/stage2.go. GUEST_SHARE, GUEST_UNSHARE and GUEST_RELINQUISH
    update a stage-2 run by run, and reserve for each run [runNeed]: one
    table for each level-1 and each level-2 entry the run touches.
    Proved here:
    - [runNeed] never fails on a range inside 2^64 and counts those
      entries ([runNeed_spec], [run_need]);
    - what [need] counts over a range, for any tables and any update, is
      at most that ([need_l2g_touched], [need_root_touched]), so the
      reservations [mapNeed] and [unmapNeed] of a run, whatever the
      stage-2 holds, are at most its [runNeed] ([mapNeed_le_run],
      [unmapNeed_le_run]);
    - [runNeed] of a run of [cnt] pages is between 2 and [8192 * cnt]
      ([run_need_bound]), so the sum over the runs of a range never
      wraps. *)
From Coq Require Import ZArith Lia List Bool.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodePlace CodeVMCreate CodeStage2 CodeUpdate CodeUpdateL2 CodeUpdateRoot CodeUpdateRange CodeUpdateRootRange.
Import ListNotations.
Open Scope Z_scope.

(** The entries of the level whose entries map [2 ^ sh] bytes that the
    bytes [first] to [last] touch. *)
Definition touched (sh first last : Z) : Z := last / 2 ^ sh - first / 2 ^ sh + 1.

(** What [runNeed] counts for [n] pages at [a]. *)
Definition run_need (a n : Z) : Z := touched 30 a (a + n * 4096 - 1) + touched 21 a (a + n * 4096 - 1).

Lemma touched_pos : forall sh first last, 0 <= sh -> first <= last -> 1 <= touched sh first last.
Proof.
  intros sh first last Hs H. unfold touched.
  pose proof (Z.div_le_mono first last (2 ^ sh) ltac:(apply Z.pow_pos_nonneg; lia) H). lia.
Qed.

Lemma touched_small : forall sh first last, 3 <= sh -> 0 <= first -> first <= last < 2 ^ 64 ->
  0 <= last / 2 ^ sh - first / 2 ^ sh < 2 ^ 61.
Proof.
  intros sh first last Hs H0 H. assert (8 <= 2 ^ sh) by (change 8 with (2 ^ 3); apply Z.pow_le_mono_r; lia).
  pose proof (Z.div_le_mono first last (2 ^ sh) ltac:(lia) ltac:(lia)).
  pose proof (Z.div_pos first (2 ^ sh) ltac:(lia) ltac:(lia)).
  assert (last / 2 ^ sh < 2 ^ 61)
    by (apply Z.div_lt_upper_bound; [lia|]; pose proof (Z.mul_le_mono_nonneg_r 8 (2 ^ sh) (2 ^ 61) ltac:(lia) ltac:(lia)); lia).
  lia.
Qed.

Theorem runNeed_spec : forall {S} (s : S) tr a n, 0 <= a -> 1 <= n -> a + n * 4096 < 2 ^ 64 ->
  Isolation.runNeed a n s tr = Ok (run_need a n) s tr.
Proof.
  intros S s tr a n Ha Hn H64. unfold Isolation.runNeed, Isolation.touched, Isolation.levelShift. cbv zeta.
  unfold bind, ret. cbv beta iota.
  change (wrapu 64 (wraps 64 (Isolation.PageShift + wraps 64 (9 * wraps 64 (Isolation.lastLevel - 1))))) with 30.
  change (wrapu 64 (wraps 64 (Isolation.PageShift + wraps 64 (9 * wraps 64 (Isolation.lastLevel - 2))))) with 21.
  rewrite (shl12 n), (wrapu_small (a + n * 4096)) by lia.
  rewrite (wrapu_small (a + n * 4096 - 1)) by lia.
  unfold shr. cbn [Z.leb Z.compare Pos.compare Pos.compare_cont]. rewrite !Z.shiftr_div_pow2 by lia.
  pose proof (touched_small 30 a (a + n * 4096 - 1) ltac:(lia) ltac:(lia) ltac:(lia)).
  pose proof (touched_small 21 a (a + n * 4096 - 1) ltac:(lia) ltac:(lia) ltac:(lia)).
  rewrite (wrapu_small ((a + n * 4096 - 1) / 2 ^ 30 - a / 2 ^ 30)) by lia.
  rewrite (wrapu_small ((a + n * 4096 - 1) / 2 ^ 21 - a / 2 ^ 21)) by lia.
  rewrite !(wraps_small (_ - _)) by lia.
  rewrite (wraps_small ((a + n * 4096 - 1) / 2 ^ 30 - a / 2 ^ 30 + 1)) by lia.
  rewrite (wraps_small ((a + n * 4096 - 1) / 2 ^ 21 - a / 2 ^ 21 + 1)) by lia.
  rewrite wraps_small by lia. reflexivity.
Qed.

(** ** What [need] counts is at most what [runNeed] counts *)

(** The end of the part of [cur, end') inside the entry of [cur], at a
    level whose entries map [2 ^ sh] bytes: [end'], or the next entry's
    start before [end']. *)
Lemma stop_cases : forall sh cur end', 0 <= sh -> 0 <= cur < end' ->
  Z.min end' (cur / 2 ^ sh * 2 ^ sh + 2 ^ sh) = end' \/
  (Z.min end' (cur / 2 ^ sh * 2 ^ sh + 2 ^ sh) < end' /\
   (cur / 2 ^ sh * 2 ^ sh + 2 ^ sh) / 2 ^ sh = cur / 2 ^ sh + 1 /\
   Z.min end' (cur / 2 ^ sh * 2 ^ sh + 2 ^ sh) = cur / 2 ^ sh * 2 ^ sh + 2 ^ sh).
Proof.
  intros sh cur end' Hs Hc. assert (0 < 2 ^ sh) by (apply Z.pow_pos_nonneg; lia).
  destruct (Z.le_gt_cases end' (cur / 2 ^ sh * 2 ^ sh + 2 ^ sh)) as [Hle|Hgt]; [left; lia|right].
  split; [lia|]. split; [|lia].
  replace (cur / 2 ^ sh * 2 ^ sh + 2 ^ sh) with ((cur / 2 ^ sh + 1) * 2 ^ sh) by ring.
  apply Z.div_mul. lia.
Qed.

(** [need_l2g] counts at most one table per level-2 entry touched. *)
Lemma need_l2g_touched : forall n get cur end' u, 0 <= cur < end' ->
  need_l2g n get cur end' u <= touched 21 cur (end' - 1).
Proof.
  induction n as [|n IH]; intros get cur end' u Hc; cbn [need_l2g].
  { pose proof (touched_pos 21 cur (end' - 1)). lia. }
  destruct (Z.ltb_spec cur end') as [_|]; [|lia].
  pose proof (need_atg_bound get cur end' u).
  pose proof (stop_cases 21 cur end' ltac:(lia) Hc) as [E|(Hlt & Ed & E)];
    unfold l2_stop, l2_base; rewrite E.
  - rewrite need_l2g_done by lia. pose proof (touched_pos 21 cur (end' - 1)). lia.
  - specialize (IH get (cur / 2 ^ 21 * 2 ^ 21 + 2 ^ 21) end' u ltac:(pose proof (Z.div_mod cur (2 ^ 21) ltac:(lia)); pose proof (Z.mod_pos_bound cur (2 ^ 21) ltac:(lia)); lia)).
    unfold touched in *. rewrite Ed in IH. lia.
Qed.

(** [below1] counts at most one table for the entry and one per level-2
    entry touched below it. *)
Lemma below1_touched : forall T base d cur stop u, 0 <= cur < stop ->
  below1 T base d cur stop u <= 1 + touched 21 cur (stop - 1).
Proof.
  intros T base d cur stop u Hc. unfold below1. rewrite need_l2_g.
  pose proof (need_l2g_touched (Z.to_nat (stop - cur)) (tent T (child base d)) cur stop u Hc).
  pose proof (need_l2g_touched (Z.to_nat (stop - cur)) (fun _ => Isolation.descValid) cur stop u Hc).
  pose proof (need_l2g_touched (Z.to_nat (stop - cur)) (fun _ => 0) cur stop u Hc).
  pose proof (touched_pos 21 cur (stop - 1)).
  repeat match goal with |- context [if ?c then _ else _] => destruct c end; lia.
Qed.

(** [need_root] counts at most one table per level-1 and one per level-2
    entry touched. *)
Lemma need_root_touched : forall n T base t cur end' u, 0 <= cur < end' ->
  need_root n T base t cur end' u <= touched 30 cur (end' - 1) + touched 21 cur (end' - 1).
Proof.
  induction n as [|n IH]; intros T base t cur end' u Hc; cbn [need_root].
  { pose proof (touched_pos 30 cur (end' - 1)). pose proof (touched_pos 21 cur (end' - 1)). lia. }
  destruct (Z.ltb_spec cur end') as [_|]; [|lia].
  assert (Hat : need_root_at T base t cur end' u <= 1 + touched 21 cur (l1_stop cur end' - 1)).
  { unfold need_root_at. pose proof (l1_stop_gt cur end' Hc).
    pose proof (touched_pos 21 cur (l1_stop cur end' - 1)).
    destruct (whole_l1 _ _ _ _); [lia|]. apply below1_touched. lia. }
  pose proof (touched_pos 30 cur (end' - 1)).
  pose proof (stop_cases 30 cur end' ltac:(lia) Hc) as [E|(Hlt & Ed & E)];
    unfold l1_stop, l1_base in *; rewrite E in *.
  - rewrite need_root_done by lia. lia.
  - set (s := cur / 2 ^ 30 * 2 ^ 30 + 2 ^ 30) in *.
    assert (Hs : cur < s)
      by (unfold s; pose proof (Z.div_mod cur (2 ^ 30) ltac:(lia)); pose proof (Z.mod_pos_bound cur (2 ^ 30) ltac:(lia)); lia).
    specialize (IH T base t s end' u ltac:(lia)).
    assert (Hs21 : (s - 1) / 2 ^ 21 + 1 = s / 2 ^ 21).
    { assert (Em : s = (cur / 2 ^ 30 * 512 + 512) * 2 ^ 21) by (unfold s; ring).
      rewrite Em, Z.div_mul by lia.
      replace ((cur / 2 ^ 30 * 512 + 512) * 2 ^ 21 - 1) with ((cur / 2 ^ 30 * 512 + 511) * 2 ^ 21 + (2 ^ 21 - 1)) by ring.
      rewrite Z.div_add_l by lia. rewrite (Z.div_small (2 ^ 21 - 1)) by lia. lia. }
    unfold touched in *. rewrite Ed in IH. lia.
Qed.

(** So the reservation of a map or an unmap of [n] pages at [a] of a
    stage-2 with [root_inv], whatever it holds, is at most [run_need a n]. *)
Theorem mapNeed_le_run : forall e tr s s2 a pa n k, good s e s2 -> root_inv e (Isolation.stage2_root s2) ->
  0 <= a -> 1 <= n -> a + n * 4096 <= 2 ^ 40 ->
  Isolation.Engine_mapNeed root s a pa n e tr = Ok k e tr -> k <= run_need a n.
Proof.
  intros e tr s s2 a pa n k Hg Hr Ha Hn H40 Hk.
  pose proof (root_inv_l1 e _ Hr) as Hl. pose proof Hl as ((Hok & _) & Ht & _).
  rewrite (mapNeed_spec e tr s s2 a pa n Hok Ht (l1_inv_tree e _ Hl) Hg Ha ltac:(lia) H40) in Hk.
  injection Hk as <-. unfold run_need. apply need_root_touched. lia.
Qed.

Theorem unmapNeed_le_run : forall e tr s s2 a n k, good s e s2 -> root_inv e (Isolation.stage2_root s2) ->
  0 <= a -> 1 <= n -> a + n * 4096 <= 2 ^ 40 ->
  Isolation.Engine_unmapNeed root s a n e tr = Ok k e tr -> k <= run_need a n.
Proof.
  intros e tr s s2 a n k Hg Hr Ha Hn H40 Hk.
  pose proof (root_inv_l1 e _ Hr) as Hl. pose proof Hl as ((Hok & _) & Ht & _).
  rewrite (unmapNeed_spec e tr s s2 a n Hok Ht (l1_inv_tree e _ Hl) Hg Ha ltac:(lia) H40) in Hk.
  injection Hk as <-. unfold run_need. apply need_root_touched. lia.
Qed.

(** A run of [cnt] pages touches at most [4096 * cnt] entries of a level:
    the count of a run never wraps a sum of a few of them. *)
Lemma touched_le : forall sh a cnt, 0 <= sh -> 1 <= cnt -> 1 <= touched sh a (a + cnt * 4096 - 1) <= cnt * 4096.
Proof.
  intros sh a cnt Hs Hc. assert (0 < 2 ^ sh) by (apply Z.pow_pos_nonneg; lia).
  split; [apply touched_pos; lia|]. unfold touched.
  set (d := cnt * 4096 - 1). set (b := 2 ^ sh) in *.
  assert (Hd : d <= d * b) by (unfold d; nia).
  pose proof (Z.div_le_mono (a + d) (a + d * b) b ltac:(lia) ltac:(lia)) as Hdiv.
  rewrite Z.div_add in Hdiv by lia. replace (a + cnt * 4096 - 1) with (a + d) by (unfold d; ring). lia.
Qed.

Lemma run_need_bound : forall a cnt, 1 <= cnt -> 2 <= run_need a cnt <= 8192 * cnt.
Proof.
  intros a cnt Hc. unfold run_need.
  pose proof (touched_le 30 a cnt ltac:(lia) Hc). pose proof (touched_le 21 a cnt ltac:(lia) Hc). lia.
Qed.
