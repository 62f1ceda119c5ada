(** * MMIO_LOG_READ's result, as the model's batch of the log

    Lemmas about proofs/code/Isolation.v, the translation of
    isolation/shadow.go, that carry on from CodeShadow.v (MMIO_LOG_READ
    has no failure outcome and keeps [shadow_inv]).
    Proved here:
    - the model's packing of bytes into words, [Spec.pack_bytes], grows
      by one byte at its top ([pack_bytes_app1]) and stays below the
      bytes' range ([pack_bytes_lt]); its six words of a batch change in
      one word only when a byte is added ([pack_words_snoc]);
    - the code's OR of a byte shifted above a word's bytes is that sum
      ([lor_above], [or_byte]);
    - the ring's oldest byte is the first of the model's log, and taking
      it leaves the rest ([abs_log_take]);
    - so Engine.MMIOLogRead, from [shadow_inv], for any 64-bit vmid,
      returns the model's batch of the VM's log, count and six words, and
      leaves its log without that batch, its marks as they were
      ([MMIOLogRead_result]). *)
From Coq Require Import ZArith Arith Lia List Bool.
From Bulkhead.Spec Require Import State Spec.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodePlace CodeTrack CodeVCPU CodeVCPUInit CodeLoop CodeVMCreate CodeShadow
  CodeAbs.
Import ListNotations.
Open Scope Z_scope.

(** ** Bytes packed into words *)

Lemma pack_bytes_app1 : forall l b, pack_bytes (l ++ [b]) = (pack_bytes l + b * 256 ^ length l)%nat.
Proof.
  unfold pack_bytes. induction l as [|x l IH]; intros b; cbn [app fold_right length].
  - cbn. lia.
  - rewrite IH. rewrite Nat.pow_succ_r'. ring.
Qed.

Lemma pack_bytes_lt : forall l, Forall (fun b => b < 256)%nat l -> (pack_bytes l < 256 ^ length l)%nat.
Proof.
  unfold pack_bytes. induction l as [|x l IH]; intros Hl; cbn [fold_right length].
  - cbn. lia.
  - inversion Hl as [|? ? Hx Hr]; subst. specialize (IH Hr). rewrite Nat.pow_succ_r'. nia.
Qed.

(** Word [i] of a batch: its bytes [8 i] to [8 i + 7]. *)
Definition pack_word (l : list nat) (i : nat) : nat := pack_bytes (firstn 8 (skipn (8 * i) l)).

(** The six words of [Spec.log_batch]. *)
Definition pack_words (l : list nat) : list nat := map (pack_word l) (seq 0 6).

Lemma log_batch_words : forall log,
  log_batch log = length (firstn shadow_log_batch log) :: pack_words (firstn shadow_log_batch log).
Proof. reflexivity. Qed.

Lemma firstn_snoc : forall {A} n (l : list A) d, (n < length l)%nat -> firstn (S n) l = firstn n l ++ [nth n l d].
Proof.
  intros A n. induction n as [|n IH]; intros l d Hn; destruct l as [|x l]; cbn [length] in Hn; try lia.
  - reflexivity.
  - change (x :: firstn (S n) l = x :: (firstn n l ++ [nth n l d])). rewrite (IH l d) by lia. reflexivity.
Qed.

(** Adding byte [b] after [n] bytes adds [b] at byte [n mod 8] of word
    [n / 8], every other word as it was. *)
Lemma pack_word_snoc : forall l b i, pack_word (l ++ [b]) i =
  if (i =? length l / 8)%nat then (pack_word l i + b * 256 ^ (length l mod 8))%nat else pack_word l i.
Proof.
  intros l b i. unfold pack_word. set (n := length l).
  pose proof (Nat.div_mod n 8 ltac:(lia)) as Hdm. pose proof (Nat.mod_upper_bound n 8 ltac:(lia)) as Hmb.
  destruct (Nat.le_gt_cases (8 * i) n) as [Hle|Hgt].
  - rewrite skipn_app. replace (8 * i - length l)%nat with 0%nat by (unfold n in Hle; lia). cbn [skipn].
    assert (Hs : length (skipn (8 * i) l) = (n - 8 * i)%nat) by (rewrite skipn_length; reflexivity).
    destruct (Nat.eqb_spec i (n / 8)) as [Ei|Ni].
    + rewrite (firstn_all2 (skipn (8 * i) l ++ [b])) by (rewrite app_length, Hs; cbn [length]; lia).
      rewrite (firstn_all2 (skipn (8 * i) l)) by lia.
      rewrite pack_bytes_app1, Hs. replace (n - 8 * i)%nat with (n mod 8)%nat by lia. reflexivity.
    + assert (8 * i + 8 <= n)%nat.
      { assert (i < n / 8)%nat; [|nia].
        destruct (Nat.lt_ge_cases i (n / 8)) as [|Hge]; [assumption|].
        exfalso. apply Ni. apply Nat.le_antisymm; [|exact Hge]. apply Nat.div_le_lower_bound; lia. }
      rewrite firstn_app. rewrite Hs. replace (8 - (n - 8 * i))%nat with 0%nat by lia.
      cbn [firstn]. rewrite app_nil_r. reflexivity.
  - rewrite skipn_app. rewrite !(skipn_all2 (n := (8 * i)%nat) l) by (unfold n in Hgt; lia).
    cbn [app]. rewrite skipn_all2 by (cbn [length]; unfold n in Hgt; lia).
    replace (i =? n / 8)%nat with false by (symmetry; apply Nat.eqb_neq; nia). reflexivity.
Qed.

Lemma nth_words : forall (f : nat -> nat) k, (k < 6)%nat -> nth k (map f (seq 0 6)) 0%nat = f k.
Proof. intros f k Hk. do 6 (destruct k as [|k]; [reflexivity|]). lia. Qed.

Lemma pack_words_snoc : forall l b, (length l < 48)%nat ->
  pack_words (l ++ [b]) =
  replace_nth (length l / 8) (pack_word l (length l / 8) + b * 256 ^ (length l mod 8))%nat (pack_words l).
Proof.
  intros l b Hl. unfold pack_words.
  apply nth_ext with (d := 0%nat) (d' := 0%nat).
  - rewrite replace_nth_length, !map_length. reflexivity.
  - intros k Hk. rewrite map_length, seq_length in Hk.
    rewrite nth_words by exact Hk. rewrite pack_word_snoc.
    destruct (Nat.eqb_spec k (length l / 8)) as [->|Nk].
    + rewrite nth_replace_nth_same by (rewrite map_length, seq_length; exact Hk). reflexivity.
    + rewrite nth_replace_nth_other' by (intros E; apply Nk; symmetry; exact E).
      rewrite nth_words by exact Hk. reflexivity.
Qed.

(** ** The code's OR of a shifted byte *)

(** OR of a word below bit [k] and a number shifted to bit [k] is their
    sum: no bit is set in both. *)
Lemma lor_above : forall w x k, 0 <= k -> 0 <= w < 2 ^ k -> 0 <= x ->
  Z.lor w (x * 2 ^ k) = w + x * 2 ^ k.
Proof.
  intros w x k Hk Hw Hx.
  assert (Hand : Z.land w (x * 2 ^ k) = 0).
  { apply Z.bits_inj'. intros j Hj. rewrite Z.land_spec, Z.bits_0.
    rewrite <- Z.shiftl_mul_pow2 by exact Hk.
    destruct (Z.lt_ge_cases j k) as [Hjk|Hjk].
    - rewrite (Z.shiftl_spec_low x k j Hjk). apply andb_false_r.
    - rewrite <- (Z.mod_small w (2 ^ k)) by exact Hw. rewrite Z.mod_pow2_bits_high by lia. reflexivity. }
  rewrite (Z.add_nocarry_lxor _ _ Hand). symmetry. exact (Z.lxor_lor _ _ Hand).
Qed.

(** The code's step [packed[n/8] |= b << (8 * (n % 8))] on a word below
    byte [n mod 8]. *)
Lemma or_byte : forall w b r, 0 <= r < 8 -> 0 <= w < 2 ^ (8 * r) -> 0 <= b < 256 ->
  Z.lor w (shl 64 false b (wrapu 64 (8 * r))) = w + b * 2 ^ (8 * r).
Proof.
  intros w b r Hr Hw Hb. rewrite (wrapu_small (8 * r)) by lia.
  unfold shl. destruct (Z.leb_spec 64 (8 * r)) as [|_]; [lia|].
  rewrite Z.shiftl_mul_pow2 by lia.
  assert (Hlt : b * 2 ^ (8 * r) < 2 ^ 64).
  { apply Z.lt_le_trans with (256 * 2 ^ (8 * r)); [apply Z.mul_lt_mono_pos_r; [apply Z.pow_pos_nonneg|]; lia|].
    replace 256 with (2 ^ 8) by reflexivity. rewrite <- Z.pow_add_r by lia. apply Z.pow_le_mono_r; lia. }
  assert (0 <= b * 2 ^ (8 * r)) by (apply Z.mul_nonneg_nonneg; [lia|apply Z.pow_nonneg; lia]).
  rewrite wrapu_small by lia. apply lor_above; lia.
Qed.

Lemma pow256 : forall r, Z.of_nat (256 ^ r) = 2 ^ (8 * Z.of_nat r).
Proof.
  intros r. rewrite Nat2Z.inj_pow. rewrite Z.pow_mul_r by lia. reflexivity.
Qed.

Lemma Forall_firstn' : forall {A} (P : A -> Prop) n l, Forall P l -> Forall P (firstn n l).
Proof.
  intros A P n. induction n as [|n IH]; intros l Hl; [constructor|].
  destruct Hl as [|x l Hx Hl]; [constructor|]. cbn [firstn]. constructor; [exact Hx|exact (IH l Hl)].
Qed.

Lemma Forall_skipn' : forall {A} (P : A -> Prop) n l, Forall P l -> Forall P (skipn n l).
Proof.
  intros A P n. induction n as [|n IH]; intros l Hl; [exact Hl|].
  destruct Hl as [|x l _ Hl]; [constructor|]. exact (IH l Hl).
Qed.

Lemma skipn_S_tl : forall {A} n (l : list A), skipn (S n) l = tl (skipn n l).
Proof. intros A n. induction n as [|n IH]; intros [|x l]; try reflexivity. exact (IH l). Qed.

Lemma nth_skipn_hd : forall n (l : list nat), nth n l 0%nat = hd 0%nat (skipn n l).
Proof. intros n. induction n as [|n IH]; intros [|x l]; try reflexivity. exact (IH l). Qed.

Lemma map_replace_nth : forall {A B} (f : A -> B) k a l, map f (replace_nth k a l) = replace_nth k (f a) (map f l).
Proof. intros A B f k. induction k as [|k IH]; intros a [|x l]; cbn; try reflexivity. rewrite IH. reflexivity. Qed.

(** ** The ring *)

Lemma abs_log_length : forall sh, length (abs_log sh) = Z.to_nat (Isolation.shadowState_count sh).
Proof. intros sh. unfold abs_log. rewrite map_length, seq_length. reflexivity. Qed.

(** Every entry of the model's log is a byte. *)
Lemma abs_log_bytes : forall sh, shadow_ok sh -> Forall (fun b => b < 256)%nat (abs_log sh).
Proof.
  intros sh (_ & Hl & _ & _ & F & _). unfold abs_log. apply Forall_forall. intros x Hx.
  apply in_map_iff in Hx as (i & <- & _). rewrite Forall_forall in F.
  match goal with |- (Z.to_nat (nth ?j _ _) < _)%nat => set (k := j) end.
  destruct (Nat.lt_ge_cases k (length (Isolation.shadowState_log sh))) as [Hk|Hk].
  - pose proof (F _ (nth_In _ 0 Hk)). lia.
  - rewrite nth_overflow by exact Hk. cbn. lia.
Qed.

(** Taking the oldest byte of a ring holding one: the code reads it at
    the head, and the model's log loses its first entry. *)
Lemma abs_log_take : forall sh, shadow_ok sh -> 0 < Isolation.shadowState_count sh ->
  abs_log (Isolation.set_shadowState_count (wraps 64 (Isolation.shadowState_count sh - 1))
    (Isolation.set_shadowState_head (Z.rem (wraps 64 (Isolation.shadowState_head sh + 1)) 256) sh)) =
    tl (abs_log sh) /\
  nth (Z.to_nat (Isolation.shadowState_head sh)) (Isolation.shadowState_log sh) 0 = Z.of_nat (hd 0%nat (abs_log sh)).
Proof.
  intros [regs log head count] Hok Hc. pose proof Hok as (_ & Hl & Hh & Hcn & F & _). cbn in *.
  unfold abs_log. cbn. rewrite !wraps_small by lia. rewrite Z.rem_mod_nonneg by lia. rewrite Hl.
  replace (Z.to_nat count) with (S (Z.to_nat (count - 1))) by lia. cbn [seq map tl hd].
  split.
  - rewrite <- seq_shift, map_map. apply map_ext. intros i. f_equal. f_equal. f_equal.
    rewrite Nat2Z.inj_succ, Z.add_mod_idemp_l by lia. f_equal. lia.
  - rewrite Z.add_0_r, Z.mod_small by lia. rewrite Z2Nat.id; [reflexivity|].
    destruct (Nat.lt_ge_cases (Z.to_nat head) (length log)) as [Hk|Hk].
    + rewrite Forall_forall in F. pose proof (F _ (nth_In _ 0 Hk)). lia.
    + rewrite nth_overflow by exact Hk. lia.
Qed.

(** ** MMIO_LOG_READ's result *)

(** The words after one more byte of the log [L]: the code's OR into word
    [n / 8] of the words of the first [n] bytes. *)
Lemma words_step : forall (L : list nat) n b w, Forall (fun x => x < 256)%nat L ->
  0 <= n < 48 -> (Z.to_nat n < length L)%nat -> b = Z.of_nat (nth (Z.to_nat n) L 0%nat) ->
  w = nth (Z.to_nat (n / 8)) (map Z.of_nat (pack_words (firstn (Z.to_nat n) L))) 0 ->
  replace_nth (Z.to_nat (n / 8)) (Z.lor w (shl 64 false b (wrapu 64 (8 * (n mod 8)))))
    (map Z.of_nat (pack_words (firstn (Z.to_nat n) L))) =
  map Z.of_nat (pack_words (firstn (Z.to_nat (n + 1)) L)).
Proof.
  intros L n b w HL Hn HnL -> ->. set (k := Z.to_nat n).
  set (F := firstn k L).
  assert (HF : length F = k) by (unfold F; rewrite firstn_length; lia).
  replace (Z.to_nat (n + 1)) with (S k) by lia. rewrite (firstn_snoc k L 0%nat HnL). fold F.
  rewrite pack_words_snoc by lia. rewrite map_replace_nth. rewrite HF.
  replace (Z.to_nat (n / 8)) with (k / 8)%nat by (unfold k; rewrite Z2Nat.inj_div by lia; reflexivity).
  f_equal.
  assert (Hk8 : (k / 8 < 6)%nat) by (apply Nat.div_lt_upper_bound; lia).
  change 0 with (Z.of_nat 0). rewrite map_nth. unfold pack_words. rewrite nth_words by exact Hk8.
  assert (Hm : Z.of_nat (k mod 8) = n mod 8) by (unfold k; rewrite Nat2Z.inj_mod, Z2Nat.id by lia; reflexivity).
  assert (Hbyte : (nth k L 0 < 256)%nat).
  { destruct (Nat.lt_ge_cases k (length L)) as [Hl|Hl]; [|rewrite nth_overflow by exact Hl; lia].
    rewrite Forall_forall in HL. exact (HL _ (nth_In _ 0%nat Hl)). }
  assert (Hlen : length (firstn 8 (skipn (8 * (k / 8)) F)) = (k mod 8)%nat).
  { rewrite firstn_length, skipn_length, HF. pose proof (Nat.div_mod k 8 ltac:(lia)).
    pose proof (Nat.mod_upper_bound k 8 ltac:(lia)). lia. }
  assert (Hw : (pack_word F (k / 8) < 256 ^ (k mod 8))%nat).
  { unfold pack_word. rewrite <- Hlen. apply pack_bytes_lt.
    apply Forall_firstn', Forall_skipn'. unfold F. apply Forall_firstn'. exact HL. }
  rewrite <- Hm. rewrite or_byte.
  - rewrite Nat2Z.inj_add, Nat2Z.inj_mul, pow256. reflexivity.
  - pose proof (Nat.mod_upper_bound k 8 ltac:(lia)). lia.
  - rewrite <- pow256. lia.
  - lia.
Qed.

(** The batch of a log: its first [n] bytes, [n] at most 48 and all the
    log when it holds fewer. *)
Lemma batch_of : forall (L : list nat) n, (n <= length L)%nat -> (n <= 48)%nat -> (n = 48 \/ n = length L)%nat ->
  firstn n L = firstn shadow_log_batch L /\ skipn n L = skipn shadow_log_batch L /\
  n = length (firstn shadow_log_batch L).
Proof.
  intros L n Hl H48 [->| ->]; unfold shadow_log_batch.
  - rewrite firstn_length. split; [reflexivity|]. split; [reflexivity|lia].
  - rewrite firstn_all, (firstn_all2 (n := 48) L) by lia. rewrite (skipn_all2 (n := 48) L) by lia.
    rewrite skipn_all. split; [reflexivity|]. split; [reflexivity|lia].
Qed.

(** MMIO_LOG_READ, from [shadow_inv], for any 64-bit vmid: without a live
    VM at the vmid it answers INVALID_PARAMETERS and changes nothing;
    with one it answers SUCCESS with the model's batch of the VM's log
    (the count of bytes taken, then six words of eight bytes each, oldest
    lowest) and leaves the VM's shadow state with the same marks and the
    log without that batch, every other slot as it was. *)
Theorem MMIOLogRead_result : forall e tr id, shadow_inv e -> 0 <= id < 2 ^ 64 ->
  exists n packed st e', Isolation.Engine_MMIOLogRead root id e tr = Ok (n, packed, st) e' tr /\
  ((no_live e id /\ st = Abi.InvalidParameters /\ e' = e) \/
   exists m sh, 1 <= id <= len (Isolation.Engine_vms e) /\
     nth_error (Isolation.Engine_vms e) (Z.to_nat (id - 1)) = Some m /\ Isolation.vm_live m = true /\
     st = Abi.Success /\ e' = put_shadow e (Z.to_nat (id - 1)) m sh /\ shadow_ok sh /\
     Isolation.shadowState_regs sh = Isolation.shadowState_regs (Isolation.vm_shadow m) /\
     abs_log sh = skipn shadow_log_batch (abs_log (Isolation.vm_shadow m)) /\
     Z.to_nat n :: map Z.to_nat packed = log_batch (abs_log (Isolation.vm_shadow m))).
Proof.
  intros e tr id Hinv Hid.
  pose proof (liveVM_tracks e tr id (proj1 Hinv) Hid) as (p & Hp & [[-> Hno] | (m & Hr & Hn & Hm & Ht & Hlv)]);
    unfold Isolation.Engine_MMIOLogRead; cbv zeta; step_by Hp.
  - eexists _, _, _, _. split; [reflexivity|]. left. split; [exact Hno|split; reflexivity].
  - pose proof (shadow_of e _ m Hinv Hn) as Hsh.
    rewrite (is_nil_tracks _ _ _ _ Ht). cbv beta iota.
    set (i := Z.to_nat (id - 1)) in *.
    set (put := fun b => put_shadow e i m b).
    set (sh0 := Isolation.vm_shadow m) in *.
    set (L := abs_log sh0).
    pose proof (abs_log_bytes sh0 Hsh) as HL. fold L in HL.
    pose proof (pfield_tracks p Isolation.vm_shadow Isolation.set_vm_shadow e m _ tr Ht ltac:(field_laws))
      as (q & Hq & Htq).
    step_by Hq. fold (put_shadow e i m) in Htq. fold put in Htq.
    match goal with |- context [loop max_fuel ?c ?b ?po _] =>
    destruct (loop_spec max_fuel c b po
      (fun '(n, packed) st tr' => tr' = tr /\ 0 <= n <= 48 /\ (Z.to_nat n <= length L)%nat /\
         packed = map Z.of_nat (pack_words (firstn (Z.to_nat n) L)) /\
         exists sh, st = put sh /\ tracks q st sh put /\ shadow_ok sh /\
           Isolation.shadowState_regs sh = Isolation.shadowState_regs sh0 /\ abs_log sh = skipn (Z.to_nat n) L)
      (fun j st tr' => tr' = tr /\ match j with
         | Fall (n, packed) => 0 <= n <= 48 /\ (Z.to_nat n <= length L)%nat /\ (n = 48 \/ Z.to_nat n = length L) /\
             packed = map Z.of_nat (pack_words (firstn (Z.to_nat n) L)) /\
             exists sh, st = put sh /\ shadow_ok sh /\
               Isolation.shadowState_regs sh = Isolation.shadowState_regs sh0 /\ abs_log sh = skipn (Z.to_nat n) L
         | Jump _ => True end)
      (fun '(n, _) => Z.to_nat (48 - n))) with (l := (0, repeat 0 6)) (s := e) (tr := tr)
      as (j & s' & tr' & Hj & -> & Hnp) end.
    + intros [n packed] st tr' (-> & Hn48 & HnL & Hpk & sh & -> & Hts & Hok & Hregs & Hlog).
      cbv beta iota. unfold Abi.ShadowLogBatch.
      exists ((n <? 48) && (Isolation.shadowState_count sh >? 0)). split.
      { destruct (n <? 48); unfold bind, ret; [rewrite (deref_tracks _ _ _ _ tr Hts)|]; reflexivity. }
      split.
      * intros Hc. apply andb_true_iff in Hc as [Hc _]. apply Z.ltb_lt in Hc. lia.
      * intros Hc. split; [reflexivity|]. split; [lia|]. split; [exact HnL|]. split.
        { apply andb_false_iff in Hc as [Hc|Hc]; [apply Z.ltb_ge in Hc; left; lia|right].
          rewrite Z.gtb_ltb, Z.ltb_ge in Hc. pose proof (abs_log_length sh) as Hal.
          rewrite Hlog, skipn_length in Hal. lia. }
        split; [exact Hpk|]. exists sh. split; [reflexivity|]. split; [exact Hok|]. split; [exact Hregs|exact Hlog].
    + intros [n packed] st tr' (-> & Hn48 & HnL & Hpk & sh & -> & Hts & Hok & Hregs & Hlog) Hc.
      cbv beta iota in Hc |- *. unfold Abi.ShadowLogBatch in Hc.
      destruct (Z.ltb_spec n 48) as [Hlt|]; [|discriminate].
      unfold bind, ret in Hc. rewrite (deref_tracks _ _ _ _ tr Hts) in Hc.
      injection Hc as Hc. apply Z.gtb_lt in Hc.
      pose proof Hok as (_ & Hlogl & Hhead & _).
      assert (HnL' : (Z.to_nat n < length L)%nat).
      { pose proof (abs_log_length sh) as Hal. rewrite Hlog, skipn_length in Hal. lia. }
      pose proof (abs_log_take sh Hok Hc) as [Htake Hbyte].
      rewrite Hlog, <- nth_skipn_hd in Hbyte.
      assert (Hb : idx (Isolation.shadowState_log sh) (Isolation.shadowState_head sh) (put sh) tr =
                   Ok (Z.of_nat (nth (Z.to_nat n) L 0%nat)) (put sh) tr).
      { rewrite <- Hbyte. apply idx_nth; [lia|]. apply nth_error_nth'. unfold len in Hlogl. lia. }
      assert (Hw : idx packed (n / 8) (put sh) tr = Ok (nth (Z.to_nat (n / 8)) packed 0) (put sh) tr).
      { apply idx_nth; [apply Z.div_pos; lia|]. apply nth_error_nth'.
        rewrite Hpk, map_length. unfold pack_words. rewrite map_length, seq_length.
        rewrite Z2Nat.inj_div by lia. apply Nat.div_lt_upper_bound; lia. }
      assert (Hpl : len packed = 6) by (rewrite Hpk; unfold len, pack_words; rewrite !map_length, seq_length; reflexivity).
      step. step. step_by (deref_tracks _ _ _ _ tr Hts). step_by (deref_tracks _ _ _ _ tr Hts). step_by Hb.
      step. step_by Hw. step.
      step_by (upd_ok (put sh) tr packed (n / 8)
                 (Z.lor (nth (Z.to_nat (n / 8)) packed 0)
                        (shl 64 false (Z.of_nat (nth (Z.to_nat n) L 0%nat)) (wrapu 64 (8 * (n mod 8)))))
                 ltac:(pose proof (div8_lt6 n); lia)).
      step_by (deref_tracks _ _ _ _ tr Hts). step.
      pose proof (pfield_tracks q Isolation.shadowState_head Isolation.set_shadowState_head _ _ _ tr Hts ltac:(field_laws))
        as (qh & Hqh & Hth).
      step_by Hqh. step_by (store_tracks _ _ _ _ (Z.rem (wraps 64 (Isolation.shadowState_head sh + 1)) 256) tr Hth).
      set (sh1 := Isolation.set_shadowState_head (Z.rem (wraps 64 (Isolation.shadowState_head sh + 1)) 256) sh).
      pose proof (tracks_put q _ _ put sh1 Hts) as Hts1.
      step_by (deref_tracks _ _ _ _ tr Hts1).
      pose proof (pfield_tracks q Isolation.shadowState_count Isolation.set_shadowState_count _ _ _ tr Hts1 ltac:(field_laws))
        as (qc & Hqc & Htc).
      step_by Hqc. step_by (store_tracks _ _ _ _ (wraps 64 (Isolation.shadowState_count sh1 - 1)) tr Htc).
      set (sh2 := Isolation.set_shadowState_count (wraps 64 (Isolation.shadowState_count sh1 - 1)) sh1).
      eexists _, _, _. split; [reflexivity|].
      eexists. split; [reflexivity|]. split.
      { split; [reflexivity|]. rewrite wrapu_small by lia. split; [lia|]. split; [lia|]. split.
        { rewrite Hpk. apply words_step; [exact HL|lia|exact HnL'|reflexivity|reflexivity]. }
        exists sh2. split; [reflexivity|]. split; [apply tracks_put with (s := put sh) (a := sh); exact Hts|].
        split; [exact (shadow_ok_take sh Hok Hc)|]. split; [exact Hregs|].
        unfold sh2. replace (Isolation.shadowState_count sh1) with (Isolation.shadowState_count sh) by (unfold sh1; destruct sh; reflexivity). unfold sh1. rewrite Htake, Hlog. replace (Z.to_nat (n + 1)) with (S (Z.to_nat n)) by lia.
        symmetry. apply skipn_S_tl. }
      rewrite wrapu_small by lia. apply Z2Nat.inj_lt; lia.
    + split; [reflexivity|]. split; [lia|]. split; [cbn; lia|]. split; [reflexivity|].
      exists sh0. split; [symmetry; apply put_shadow_same; exact Hn|].
      split; [exact Htq|]. split; [exact Hsh|]. split; reflexivity.
    + rewrite max_fuel_nat. unfold max_fuel. lia.
    + step_by Hj. destruct j as [[n' packed']|[]].
      destruct Hnp as (Hn' & HnL & Hend & Hpk & sh & -> & Hok & Hregs & Hlog).
      pose proof (batch_of L (Z.to_nat n') HnL ltac:(lia) ltac:(destruct Hend; lia)) as (Ef & Es & El).
      eexists _, _, _, _. split; [reflexivity|]. right. exists m, sh.
      split; [exact Hr|]. split; [exact Hn|]. split; [exact Hlv|]. split; [reflexivity|]. split; [reflexivity|].
      split; [exact Hok|]. split; [exact Hregs|]. split; [rewrite Hlog; exact Es|].
      rewrite log_batch_words. change (abs_log (Isolation.vm_shadow m)) with L. rewrite <- El, <- Ef, Hpk, map_map.
      f_equal. rewrite <- (map_id (pack_words _)) at 2. apply map_ext. intros a. apply Nat2Z.id.
Qed.
