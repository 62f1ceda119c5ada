(** * The runs of a guest call's range

    Theorems about proofs/code/Isolation.v, the translation of
    isolation/mem.go. GUEST_SHARE, GUEST_UNSHARE and GUEST_RELINQUISH
    walk their checked range run by run with [nextRun]: from page [k],
    the longest stretch whose pages the VM's stage-2 maps to contiguous
    PAs. Proved here:
    - the stage-2 walk of a page-aligned IPA gives a page-aligned PA
      ([pw_aligned], [walk_aligned]);
    - [nextRun] from page [k] of a range whose page [k] is mapped returns
      the run there, [run_at]: its first IPA, the PA of its first page,
      and its length, at least one page, inside the range, each page
      mapped to the next PA, the page after it (inside the range) not
      ([nextRun_run]);
    - [run_at] is read off the walk alone: two engines that walk the
      range alike have the same run there ([run_at_det]);
    - a run of a range whose pages all map to RAM ([in_ram_range], what
      [checkMapped] found: [mapped_in_ram]) starts at a page-aligned PA
      and lies in RAM ([run_in_ram]);
    - the runs of a range, one after another, with what a call counts of
      each ([runs]): the loop that sums them never fails and computes
      that sum ([runs_loop]);
    - the ledger after entries set run by run ([run_ledger]): setting
      the run of [cnt] pages from page [k] extends the ledger of the
      first [k] pages to the first [k + cnt] ([run_ledger_step]). *)
From Coq Require Import ZArith Lia List Bool Znumtheory.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodePlace CodeLoop CodeLedger CodeVCPU CodeVMCreate CodeStage2 CodeTransfer
  CodeShadow CodeMemState CodeMapped CodeAbs CodeVMCreateRefine.
From Bulkhead.Proofs Require CodeUnshare.
From Bulkhead.Spec Require State.
Import ListNotations.
Open Scope Z_scope.

(** ** Page-aligned output addresses *)

Lemma land_low : forall x m, Z.land m 4095 = 0 \/ Z.land x 4095 = 0 -> Z.land (Z.land x m) 4095 = 0.
Proof.
  intros x m [H|H].
  - rewrite <- Z.land_assoc, H. apply Z.land_0_r.
  - rewrite (Z.land_comm x m), <- Z.land_assoc, H. apply Z.land_0_r.
Qed.

Lemma mod_land : forall x, x mod 4096 = Z.land x 4095.
Proof. intros x. change 4095 with (Z.ones 12). rewrite Z.land_ones by lia. reflexivity. Qed.

(** The walk of a page-aligned IPA ends at a page-aligned PA: the leaf's
    output address has no bits below 12, nor has the offset of the IPA
    into the leaf. *)
Lemma pw_aligned : forall n T base ipa t lvl, ipa mod 4096 = 0 ->
  Isolation.Mapping_PA (fst (pw T base ipa n t lvl)) mod 4096 = 0.
Proof.
  induction n as [|n IH]; intros T base ipa t lvl Hi; cbn [pw]; [reflexivity|].
  destruct (_ =? 0); [reflexivity|]. destruct (_ && _); [apply IH; exact Hi|].
  cbn [fst Isolation.Mapping_PA]. unfold wrapu.
  rewrite <- Zmod_div_mod by (try lia; exists (2 ^ 52); reflexivity).
  rewrite Z.add_mod by lia. rewrite !mod_land, !land_low; [reflexivity| |].
  - right. rewrite <- mod_land. exact Hi.
  - left. reflexivity.
Qed.

Lemma pw_range : forall n T base ipa t lvl, 0 <= Isolation.Mapping_PA (fst (pw T base ipa n t lvl)) < 2 ^ 64.
Proof.
  induction n as [|n IH]; intros T base ipa t lvl; cbn [pw]; [cbn [fst Isolation.Mapping_PA]; unfold Isolation.zero_PA; lia|].
  destruct (_ =? 0); [cbn [fst Isolation.Mapping_PA]; unfold Isolation.zero_PA; lia|]. destruct (_ && _); [apply IH|]. apply wrapu_range.
Qed.

Lemma walk_aligned : forall e s2 k pa w, tables_ok e -> s2_ok e s2 -> walk e s2 k = Some (pa, w) ->
  pa mod 4096 = 0 /\ 0 <= pa < 2 ^ 64.
Proof.
  intros e s2 k pa w Hok Hs2 Hw. unfold walk in Hw.
  destruct ((Isolation.stage2_root s2 <? 0) || (Z.of_nat k * 4096 >=? Isolation.ipaLimit)) eqn:Hc.
  { rewrite translate_early in Hw by exact Hc. discriminate Hw. }
  apply orb_false_iff in Hc as [Hr Hk]. apply Z.ltb_ge in Hr. rewrite Z.geb_leb in Hk. apply Z.leb_gt in Hk.
  destruct Hs2 as [Hs2|Ht]; [lia|].
  rewrite (translate_pw e [] (ro s2) s2 (Z.of_nat k * 4096) Hok (deref_ro s2 e) Hr Ht ltac:(lia)) in Hw.
  pose proof (pw_aligned 3 (tables e) (pool_base e) (Z.of_nat k * 4096) (Isolation.stage2_root s2) 1) as H.
  pose proof (pw_range 3 (tables e) (pool_base e) (Z.of_nat k * 4096) (Isolation.stage2_root s2) 1) as H'.
  destruct (pw _ _ _ _ _ _) as [m b] eqn:Ew. destruct b; [|discriminate Hw]. injection Hw as <- _.
  split; [apply H; apply Z.mod_mul; lia|exact H'].
Qed.

(** ** The run [nextRun] returns *)

(** The PA the walk of [s2] maps the page at IPA [x] to, if any. *)
Definition wpa (e : Isolation.Engine) (s2 : Isolation.stage2) (x : Z) : option Z :=
  match walk e s2 (Z.to_nat (x / 4096)) with Some (pa, _) => Some pa | None => None end.

(** The run of the range of [n] pages at [ipa] from page [k]: page [k]
    maps to [pa], each of the [cnt] pages to the PA after the last, the
    page after them inside the range does not. *)
Definition run_at (e : Isolation.Engine) (s2 : Isolation.stage2) (ipa n k pa cnt : Z) : Prop :=
  1 <= cnt /\ k + cnt <= n /\ wpa e s2 (ipa + k * 4096) = Some pa /\
  (forall j, 1 <= j < cnt -> wpa e s2 (ipa + (k + j) * 4096) = Some (wrapu 64 (pa + j * 4096))) /\
  (k + cnt < n -> wpa e s2 (ipa + (k + cnt) * 4096) <> Some (wrapu 64 (pa + cnt * 4096))).

(** What [translate] finds at a page-aligned IPA is what [wpa] reads. *)
Lemma wpa_translate : forall q e tr s2 x r, good q e s2 -> 0 <= x -> x mod 4096 = 0 ->
  Isolation.Engine_translate root q x e tr = Ok r e tr ->
  wpa e s2 x = if snd r then Some (Isolation.Mapping_PA (fst r)) else None.
Proof.
  intros q e tr s2 x r Hg Hx Hal H.
  assert (Ex : x = Z.of_nat (Z.to_nat (x / 4096)) * 4096)
    by (rewrite Z2Nat.id by (apply Z.div_pos; lia); pose proof (Z.div_mod x 4096 ltac:(lia)); lia).
  rewrite Ex in H. unfold wpa. rewrite (walk_translate q e tr s2 _ r Hg H). destruct (snd r); reflexivity.
Qed.

Lemma page_ipa : forall ipa i, 0 <= ipa -> 0 <= i -> ipa + i * 4096 <= 2 ^ 40 ->
  wrapu 64 (ipa + shl 64 false i Isolation.PageShift) = ipa + i * 4096.
Proof. intros ipa i Hipa Hi H. rewrite shl12 by lia. apply wrapu_small. lia. Qed.

Theorem nextRun_run : forall e tr s s2 ipa n k,
  tables_ok e -> s2_ok e s2 -> good s e s2 -> 0 <= k < n -> 0 <= ipa -> ipa mod 4096 = 0 -> ipa + n * 4096 <= 2 ^ 40 ->
  wpa e s2 (ipa + k * 4096) <> None ->
  exists pa cnt, Isolation.Engine_nextRun root s ipa n k e tr = Ok (ipa + k * 4096, pa, cnt) e tr /\
    run_at e s2 ipa n k pa cnt.
Proof.
  intros e tr s s2 ipa n k Ht Hs2 Hg Hk Hipa Hal H40 Hmapped.
  assert (Hal' : forall i, 0 <= i -> (ipa + i * 4096) mod 4096 = 0)
    by (intros i Hi; rewrite Z.add_mod, Hal, Z.mod_mul by lia; reflexivity).
  destruct (translate_ok e tr s s2 (ipa + k * 4096) Ht Hs2 Hg ltac:(lia)) as ([m ok] & Hm).
  pose proof (wpa_translate s e tr s2 (ipa + k * 4096) _ Hg ltac:(lia) (Hal' k ltac:(lia)) Hm) as Hw0. cbn [fst snd] in Hw0.
  destruct ok; [|contradiction].
  set (pa := Isolation.Mapping_PA m) in *.
  unfold Isolation.Engine_nextRun. rewrite page_ipa by lia. cbv zeta.
  unfold Isolation.Engine_mustTranslate. erewrite bind_ok by (step_by Hm; reflexivity). cbv beta iota zeta.
  fold pa.
  match goal with |- context [loop max_fuel ?c ?b ?po 1] =>
  destruct (loop_spec max_fuel c b po
    (fun cnt st tr' => st = e /\ tr' = tr /\ 1 <= cnt /\ k + cnt <= n /\
       forall j, 1 <= j < cnt -> wpa e s2 (ipa + (k + j) * 4096) = Some (wrapu 64 (pa + j * 4096)))
    (fun j st tr' => st = e /\ tr' = tr /\ match j with Fall cnt => run_at e s2 ipa n k pa cnt | Jump _ => True end)
    (fun cnt => Z.to_nat (n - k - cnt))) with (l := 1) (s := e) (tr := tr) as (j & s' & tr' & Hj & -> & -> & Hq) end.
  - intros cnt st tr' (-> & -> & Hc & Hkc & Hrun). exists (k + cnt <? n). rewrite wrapu_small by lia. split; [reflexivity|]. split.
    + intros H. apply Z.ltb_lt in H. lia.
    + intros H. apply Z.ltb_ge in H. split; [reflexivity|]. split; [reflexivity|].
      split; [lia|]. split; [lia|]. split; [exact Hw0|]. split; [exact Hrun|]. intros. lia.
  - intros cnt st tr' (-> & -> & Hc & Hkc & Hrun) Hcnd. cbv beta in Hcnd. rewrite wrapu_small in Hcnd by lia.
    injection Hcnd as Hcnd. apply Z.ltb_lt in Hcnd.
    assert (Ex : wrapu 64 (ipa + k * 4096 + shl 64 false cnt Isolation.PageShift) = ipa + (k + cnt) * 4096)
      by (rewrite shl12 by lia; rewrite wrapu_small by lia; ring).
    rewrite Ex.
    destruct (translate_ok e tr s s2 (ipa + (k + cnt) * 4096) Ht Hs2 Hg ltac:(lia)) as ([m2 ok] & Htr).
    pose proof (wpa_translate s e tr s2 (ipa + (k + cnt) * 4096) _ Hg ltac:(lia) (Hal' (k + cnt) ltac:(lia)) Htr) as Hw. cbn [fst snd] in Hw.
    step_by Htr. rewrite shl12 by lia.
    destruct (negb ok || negb (Isolation.Mapping_PA m2 =? wrapu 64 (pa + cnt * 4096))) eqn:Eb.
    + eexists _, _, _. split; [reflexivity|]. split; [reflexivity|]. split; [reflexivity|].
      split; [lia|]. split; [lia|]. split; [exact Hw0|]. split; [exact Hrun|].
      intros _. rewrite Hw. destruct ok; [|discriminate].
      cbn [negb orb] in Eb. apply negb_true_iff, Z.eqb_neq in Eb. intros E. injection E as E. exact (Eb E).
    + apply orb_false_iff in Eb as [E1 E2]. apply negb_false_iff in E1. apply negb_false_iff, Z.eqb_eq in E2. subst ok.
      eexists _, _, _. split; [reflexivity|]. eexists. split; [reflexivity|].
      rewrite wrapu_small by lia. split; [|apply Z2Nat.inj_lt; lia].
      split; [reflexivity|]. split; [reflexivity|]. split; [lia|]. split; [lia|].
      intros j Hj. destruct (Z.eq_dec j cnt) as [->|Hne]; [rewrite Hw, E2; reflexivity|]. apply Hrun. lia.
  - split; [reflexivity|]. split; [reflexivity|]. split; [lia|]. split; [lia|]. intros. lia.
  - rewrite max_fuel_nat. unfold max_fuel. lia.
  - step_by Hj. destruct j as [cnt|[]]. exists pa, cnt. split; [reflexivity|exact Hq].
Qed.

(** The run from page [k] is read off the walk of the range from there:
    two engines walking it alike have the same run. *)
Lemma run_at_det : forall e e' s2 s2' ipa n k pa cnt pa' cnt',
  (forall i, k <= i < n -> wpa e' s2' (ipa + i * 4096) = wpa e s2 (ipa + i * 4096)) ->
  run_at e s2 ipa n k pa cnt -> run_at e' s2' ipa n k pa' cnt' -> pa' = pa /\ cnt' = cnt.
Proof.
  intros e e' s2 s2' ipa n k pa cnt pa' cnt' Hsame (H1 & Hn & H0 & Hj & Hb) (H1' & Hn' & H0' & Hj' & Hb').
  assert (Hk : k < n) by lia.
  rewrite (Hsame k ltac:(lia)), H0 in H0'. injection H0' as <-. split; [reflexivity|].
  destruct (Z.lt_total cnt' cnt) as [Hlt|[Heq|Hgt]]; [exfalso| exact Heq|exfalso].
  - apply (Hb' ltac:(lia)). rewrite (Hsame (k + cnt') ltac:(lia)). apply Hj. lia.
  - apply (Hb ltac:(lia)). rewrite <- (Hsame (k + cnt) ltac:(lia)). apply Hj'. lia.
Qed.

(** ** The runs of a range, one after another *)

(** [runs e s2 ipa n f k N]: from page [k], the runs of the range of [n]
    pages at [ipa] that [s2] maps, one after another, to the end of the
    range; [N] sums what [f] counts of each from its first IPA, first PA
    and length. *)
Inductive runs (e : Isolation.Engine) (s2 : Isolation.stage2) (ipa n : Z) (f : Z -> Z -> Z -> Z) : Z -> Z -> Prop :=
| runs_end : forall k, n <= k -> runs e s2 ipa n f k 0
| runs_next : forall k pa cnt N, k < n -> run_at e s2 ipa n k pa cnt -> runs e s2 ipa n f (k + cnt) N ->
    runs e s2 ipa n f k (f (ipa + k * 4096) pa cnt + N).

(** The loop of a guest call that sums what it counts of each run never
    fails and leaves the engine as it was: from page 0 its sum is that of
    the runs of the range. Its body, from page [k] inside the range, adds
    what [f] counts of the run there and goes on after the run; [f]
    counts at most 8192 per page, so the sum never wraps. *)
Theorem runs_loop : forall (cond : Z * Z -> M Isolation.Engine bool) (body : Z * Z -> M Isolation.Engine (step (Z * Z) Empty_set))
    (post : Z * Z -> M Isolation.Engine (Z * Z)) e tr s2 ipa n f,
  0 <= n <= 2 ^ 40 ->
  (forall need k, cond (need, k) e tr = Ok (k <? n) e tr) ->
  (forall need k, post (need, k) e tr = Ok (need, k) e tr) ->
  (forall k pa cnt, run_at e s2 ipa n k pa cnt -> 0 <= f (ipa + k * 4096) pa cnt <= 8192 * cnt) ->
  (forall need k, 0 <= k < n -> exists pa cnt, run_at e s2 ipa n k pa cnt /\
     body (need, k) e tr = Ok (Continue (wraps 64 (need + f (ipa + k * 4096) pa cnt), wrapu 64 (k + cnt))) e tr) ->
  exists N k', loop max_fuel cond body post (0, 0) e tr = Ok (Fall (N, k')) e tr /\ runs e s2 ipa n f 0 N.
Proof.
  intros cond body post e tr s2 ipa n f Hn Hc Hp Hf Hb.
  destruct (loop_spec max_fuel cond body post
    (fun l st tr' => st = e /\ tr' = tr /\ 0 <= snd l <= n /\ 0 <= fst l <= 8192 * snd l /\
       forall N, runs e s2 ipa n f (snd l) N -> runs e s2 ipa n f 0 (fst l + N))
    (fun j st tr' => st = e /\ tr' = tr /\ match j with Fall l => runs e s2 ipa n f 0 (fst l) | Jump _ => True end)
    (fun l => Z.to_nat (n - snd l))) with (l := (0, 0)) (s := e) (tr := tr) as (j & s' & tr' & Hj & -> & -> & Hq).
  - intros [need k] st tr' (-> & -> & Hk & Hneed & Hr). cbn [fst snd] in *. exists (k <? n).
    split; [apply Hc|]. split.
    + intros H. apply Z.ltb_lt in H. lia.
    + intros H. apply Z.ltb_ge in H. split; [reflexivity|]. split; [reflexivity|]. cbn [fst].
      rewrite <- (Z.add_0_r need). apply Hr. apply runs_end. exact H.
  - intros [need k] st tr' (-> & -> & Hk & Hneed & Hr) Hcnd. cbn [fst snd] in *.
    rewrite Hc in Hcnd. injection Hcnd as Hcnd. apply Z.ltb_lt in Hcnd.
    destruct (Hb need k ltac:(lia)) as (pa & cnt & Hrun & Hbody).
    pose proof Hrun as (Hc1 & Hkc & _). pose proof (Hf k pa cnt Hrun) as Hfb.
    eexists _, _, _. split; [exact Hbody|]. rewrite wraps_small, wrapu_small by lia. eexists. split; [apply Hp|].
    cbn [fst snd]. split; [|apply Z2Nat.inj_lt; lia].
    split; [reflexivity|]. split; [reflexivity|]. split; [lia|]. split; [lia|].
    intros N HN. replace (need + f (ipa + k * 4096) pa cnt + N) with (need + (f (ipa + k * 4096) pa cnt + N)) by ring.
    apply Hr. apply runs_next; [lia|exact Hrun|exact HN].
  - cbn [fst snd]. split; [reflexivity|]. split; [reflexivity|]. split; [lia|]. split; [lia|]. intros N HN. exact HN.
  - rewrite max_fuel_nat. unfold max_fuel. cbn [snd]. lia.
  - destruct j as [[N k']|[]]. exists N, k'. split; [exact Hj|exact Hq].
Qed.

(** ** A run of a checked range lies in RAM *)

Lemma aligned_next : forall x y, x mod 4096 = 0 -> y mod 4096 = 0 -> x < y -> x + 4096 <= y.
Proof.
  intros x y Hx Hy H. pose proof (Z.div_mod x 4096 ltac:(lia)). pose proof (Z.div_mod y 4096 ltac:(lia)). lia.
Qed.

(** Each page of the range of [n] pages at [ipa] is mapped in [s2] to a
    page of RAM, as [checkMapped] found ([mapped_at]). *)
Definition in_ram_range (e : Isolation.Engine) (s2 : Isolation.stage2) (ipa n : Z) : Prop :=
  forall i, 0 <= i < n -> exists x, wpa e s2 (ipa + i * 4096) = Some x /\
    ram_base e <= x /\ wrapu 64 (x - ram_base e) <= ram_size e - 1.

Lemma mapped_in_ram : forall e tr s s2 ipa n, good s e s2 -> 0 <= ipa -> ipa mod 4096 = 0 -> ipa + n * 4096 <= 2 ^ 40 ->
  (forall i, 0 <= i < n -> mapped_at e tr s ipa i) -> in_ram_range e s2 ipa n.
Proof.
  intros e tr s s2 ipa n Hg Hipa Hal H40 Hm i Hi.
  destruct (Hm i Hi) as (mi & Htr & Hr1 & _ & Hr2). rewrite page_ipa in Htr by lia.
  rewrite (wpa_translate s e tr s2 (ipa + i * 4096) _ Hg ltac:(lia)
    ltac:(rewrite Z.add_mod, Hal, Z.mod_mul by lia; reflexivity) Htr).
  cbn [snd fst]. eexists. split; [reflexivity|]. split; assumption.
Qed.

(** A run of a range mapped to RAM starts at a page-aligned PA of RAM and
    its pages all lie in RAM, when RAM lies below 2^40. *)
Theorem run_in_ram : forall e s2 ipa n k pa cnt, ledger_ok e -> tables_ok e -> s2_ok e s2 ->
  0 <= ipa -> ipa mod 4096 = 0 -> ipa + n * 4096 <= 2 ^ 40 -> 0 <= k -> ram_base e + ram_size e <= 2 ^ 40 ->
  in_ram_range e s2 ipa n -> run_at e s2 ipa n k pa cnt ->
  pa mod 4096 = 0 /\ ram_base e <= pa /\ pa + cnt * 4096 <= ram_base e + ram_size e.
Proof.
  intros e s2 ipa n k pa cnt Hl Hok Hs2 Hipa Hal H40 Hk Hram Hm (Hc & Hkc & H0 & Hj & _).
  pose proof Hl as (Hb0 & Hs0 & Hbs & Hbal & Hlen).
  assert (Hpage : forall i x, 0 <= i < n -> wpa e s2 (ipa + i * 4096) = Some x ->
            ram_base e <= x /\ wrapu 64 (x - ram_base e) <= ram_size e - 1).
  { intros i x Hi Hw. destruct (Hm i Hi) as (x' & Hw' & Hr). rewrite Hw in Hw'. injection Hw' as <-. exact Hr. }
  unfold wpa in H0. destruct (walk e s2 _) as [[pa0 w0]|] eqn:Ew; [|discriminate H0]. injection H0 as ->.
  destruct (walk_aligned e s2 _ pa w0 Hok Hs2 Ew) as [Hpal Hpr].
  assert (Hw0 : wpa e s2 (ipa + k * 4096) = Some pa) by (unfold wpa; rewrite Ew; reflexivity).
  destruct (Hpage k pa ltac:(lia) Hw0) as [Hlo Hhi]. rewrite wrapu_small in Hhi by (unfold ram_base in *; lia).
  unfold ram_base, ram_size in *.
  (* The last page of the run maps to the PA [cnt - 1] pages on. *)
  assert (Hlast : wpa e s2 (ipa + (k + (cnt - 1)) * 4096) = Some (wrapu 64 (pa + (cnt - 1) * 4096))).
  { destruct (Z.eq_dec cnt 1) as [->|Hne].
    - replace (k + (1 - 1)) with k by ring. rewrite Hw0. rewrite wrapu_small by lia. f_equal. ring.
    - apply Hj. lia. }
  destruct (Hpage (k + (cnt - 1)) _ ltac:(lia) Hlast) as [Hlo' Hhi'].
  rewrite (wrapu_small (pa + (cnt - 1) * 4096)) in Hlo', Hhi' by lia. rewrite wrapu_small in Hhi' by lia.
  split; [exact Hpal|]. split; [exact Hlo|].
  assert (Hend : (Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e)) +
                  Isolation.Range_Size (Isolation.Config_RAM (Isolation.Engine_cfg e))) mod 4096 = 0)
    by (rewrite <- Hlen, Z.add_mod, Hbal, Z.mod_mul by lia; reflexivity).
  pose proof (aligned_next (pa + (cnt - 1) * 4096) _
    ltac:(rewrite Z.add_mod, Hpal, Z.mod_mul by lia; reflexivity) Hend ltac:(lia)). lia.
Qed.

(** ** The ledger after a commit run by run *)

Lemma existsb_seq_eq : forall c a b p (f : nat -> nat), (forall i, (a <= i < a + c)%nat -> f i = (b + (i - a))%nat) ->
  existsb (fun i => Nat.eqb (f i) p) (seq a c) = State.in_range p b c.
Proof.
  induction c as [|c IH]; intros a b p f Hf; cbn [seq existsb].
  - unfold State.in_range. destruct (Nat.leb_spec b p), (Nat.ltb_spec p (b + 0)); cbn [andb]; reflexivity || lia.
  - rewrite (Hf a ltac:(lia)), Nat.sub_diag, Nat.add_0_r.
    rewrite (IH (S a) (S b) p f ltac:(intros i Hi; rewrite (Hf i ltac:(lia)); lia)).
    unfold State.in_range. destruct (Nat.eqb_spec b p) as [->|Hne]; cbn [orb].
    + rewrite Nat.leb_refl. symmetry. apply Nat.ltb_lt. lia.
    + destruct (Nat.leb_spec (S b) p), (Nat.ltb_spec p (S b + c)), (Nat.leb_spec b p), (Nat.ltb_spec p (b + S c));
        cbn [andb]; reflexivity || lia.
Qed.

(** Entry [j] of the ledger after the first [i] pages of the range at
    [ipa] have had their entries set to [pg0]: [pg0] if the walk of one of
    them reaches it, as in [e] otherwise. *)
Definition run_ledger (pg0 : Isolation.page) (e : Isolation.Engine) (s2 : Isolation.stage2) (ipa : Z) (i j : nat) :
  Isolation.page :=
  if existsb (fun i' => Nat.eqb (Z.to_nat ((CodeUnshare.walk_pa e s2 (Z.to_nat (ipa / 4096) + i') - ram_base e) / 4096)) j)
       (seq 0 i)
  then pg0 else nth j (Isolation.Engine_pages e) Isolation.zero_page.

(** Setting the entries of the run of [cnt] pages from page [k] extends
    the ledger of the first [k] pages to the first [k + cnt]. *)
Lemma run_ledger_step : forall pg0 e s2 ipa n k pa cnt j, 0 <= ipa -> ipa mod 4096 = 0 -> 0 <= k ->
  0 <= pa -> ram_base e <= pa -> pa + cnt * 4096 < 2 ^ 64 -> run_at e s2 ipa n k pa cnt ->
  run_ledger pg0 e s2 ipa (Z.to_nat (k + cnt)) j =
    if (Z.to_nat ((pa - ram_base e) / 4096) <=? j)%nat && (j <? Z.to_nat ((pa - ram_base e) / 4096) + Z.to_nat cnt)%nat
    then pg0 else run_ledger pg0 e s2 ipa (Z.to_nat k) j.
Proof.
  intros pg0 e s2 ipa n k pa cnt j Hipa Hal Hk Hpa Hlo H64 (Hc & _ & H0 & Hj & _).
  unfold run_ledger. rewrite Z2Nat.inj_add, seq_app, existsb_app by lia. cbn [Nat.add].
  rewrite (existsb_seq_eq (Z.to_nat cnt) (Z.to_nat k) (Z.to_nat ((pa - ram_base e) / 4096))).
  - change (State.in_range j (Z.to_nat ((pa - ram_base e) / 4096)) (Z.to_nat cnt)) with
      ((Z.to_nat ((pa - ram_base e) / 4096) <=? j)%nat && (j <? Z.to_nat ((pa - ram_base e) / 4096) + Z.to_nat cnt)%nat).
    destruct (existsb _ _), (_ && _)%nat; reflexivity.
  - intros i Hi.
    assert (Hw : wpa e s2 (ipa + Z.of_nat i * 4096) = Some (pa + (Z.of_nat i - k) * 4096)).
    { destruct (Z.eq_dec (Z.of_nat i) k) as [E|Ne].
      - rewrite E, Z.sub_diag, Z.add_0_r. exact H0.
      - replace (Z.of_nat i) with (k + (Z.of_nat i - k)) by ring. rewrite (Hj (Z.of_nat i - k) ltac:(lia)).
        rewrite wrapu_small by lia. f_equal. ring. }
    unfold wpa in Hw. rewrite Z.div_add, Z2Nat.inj_add, Nat2Z.id in Hw by (try apply Z.div_pos; lia).
    unfold CodeUnshare.walk_pa. destruct (walk e s2 _) as [[x w]|]; [|discriminate Hw]. injection Hw as ->.
    replace (pa + (Z.of_nat i - k) * 4096 - ram_base e) with ((pa - ram_base e) + (Z.of_nat i - k) * 4096) by ring.
    rewrite Z.div_add, Z2Nat.inj_add by (try apply Z.div_pos; lia). lia.
Qed.
