(** * What the exit filter releases is what the model releases

    The model's noninterference lets a VM's exits differ only where
    [Noninterference.declass] allows: for an exit of trap [t], the two
    register files agree on what [t] releases ([trap_agree]: an MMIO
    write's source register, the ICC_SGI1R_EL1 fields of an SGI write's,
    x1..x5 of a call). Here that agreement, for the model's reading of a
    trap [FilterTrap] exits with, implies the agreement
    CodeExitRegs.FilterTrap_released needs of the Go registers, so the
    model's declassification of an exit is the Go exit filter's
    ([FilterTrap_trap_agree]). The registers of the model are naturals,
    those of the Go vCPU 64-bit words: [regs_of] reads one as the other. *)
From Coq Require Import ZArith Lia List Bool.
From Bulkhead.Spec Require Import State Spec.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodeLens CodeShadow CodeExitRegs.
From Bulkhead.Proofs Require Noninterference.
Import ListNotations.
Open Scope Z_scope.

(** The model's register file of a Go register file. *)
Definition regs_of (f : list Z) : nat -> nat := fun r => Z.to_nat (nth r f 0).

(** A field of a natural, read as bits of the integer. *)
Lemma field_testbit : forall x lo w i, 0 <= x -> (lo <= Z.to_nat i < lo + w)%nat -> 0 <= i ->
  Z.testbit (Z.of_nat (field (Z.to_nat x) lo w)) (i - Z.of_nat lo) = Z.testbit x i.
Proof.
  intros x lo w i Hx Hi H0. unfold field.
  rewrite Nat2Z.inj_mod, Nat2Z.inj_div, !Nat2Z.inj_pow, Z2Nat.id by lia. cbn [Z.of_nat Pos.of_succ_nat].
  rewrite <- Z.shiftr_div_pow2 by lia. change (Z.of_nat 2) with 2.
  rewrite <- Z.land_ones by lia. rewrite Z.land_spec, Z.ones_spec_low by lia. rewrite andb_true_r.
  rewrite Z.shiftr_spec by lia. f_equal. lia.
Qed.

(** The bits of [sgi1rFields] are those of the model's [sgi_fields]. *)
Lemma sgi_mask_fields : forall i, 0 <= i -> Z.testbit Isolation.sgi1rFields i = true ->
  exists b, In b sgi_fields /\ (fst b <= Z.to_nat i < fst b + snd b)%nat.
Proof.
  intros i Hi Ht.
  assert (Hlt : i < 64).
  { destruct (Z.lt_ge_cases i 64) as [H|H]; [exact H|].
    rewrite Z.bits_above_log2 in Ht; [discriminate|unfold Isolation.sgi1rFields; lia|cbn; lia]. }
  assert (Hall : forallb (fun k => implb (Z.testbit Isolation.sgi1rFields (Z.of_nat k))
     (existsb (fun b => (fst b <=? k) && (k <? fst b + snd b))%nat sgi_fields)) (seq 0 64) = true) by reflexivity.
  rewrite forallb_forall in Hall. specialize (Hall (Z.to_nat i) ltac:(apply in_seq; lia)).
  rewrite Z2Nat.id, Ht in Hall by lia. cbn [implb] in Hall. apply existsb_exists in Hall as (b & Hb & Hr).
  exists b. split; [exact Hb|]. apply andb_true_iff in Hr as [H1 H2]. apply Nat.leb_le in H1. apply Nat.ltb_lt in H2. lia.
Qed.

(** Two words whose SGI fields agree, as the model reads them, agree
    under the Go mask. *)
Lemma sgi_fields_land : forall x y, 0 <= x -> 0 <= y ->
  (forall b, In b sgi_fields -> field (Z.to_nat x) (fst b) (snd b) = field (Z.to_nat y) (fst b) (snd b)) ->
  Z.land x Isolation.sgi1rFields = Z.land y Isolation.sgi1rFields.
Proof.
  intros x y Hx Hy H. apply Z.bits_inj'. intros i Hi. rewrite !Z.land_spec.
  destruct (Z.testbit Isolation.sgi1rFields i) eqn:Ht; [|rewrite !andb_false_r; reflexivity].
  destruct (sgi_mask_fields i Hi Ht) as (b & Hb & Hr). rewrite !andb_true_r.
  rewrite <- (field_testbit x (fst b) (snd b) i Hx Hr Hi), <- (field_testbit y (fst b) (snd b) i Hy Hr Hi), (H b Hb).
  reflexivity.
Qed.

Lemma nth_nonneg : forall f r, Forall (fun v => 0 <= v) f -> 0 <= nth r f 0.
Proof.
  intros f r H. destruct (nth_in_or_default r f 0) as [Hin|Hd]; [|rewrite Hd; lia].
  rewrite Forall_forall in H. exact (H _ Hin).
Qed.

(** The source registers the syndrome names. *)
Definition srt_of (esr : Z) : nat := Z.to_nat (Z.land (shr esr Isolation.issSRTShift) Isolation.issSRTMask).
Definition rt_of (esr : Z) : nat := Z.to_nat (Z.land (shr esr Isolation.sysRegIssRtShift) Isolation.sysRegIssRtMask).

(** [mt] is the model's trap of a Go trap [t] with guest MMIO windows
    [gm], for the traps whose exits carry a register: an MMIO write from
    the source register for an MMIO write the filter emulates, an SGI
    from the source register for an SGI write. *)
Definition model_reading (t : Isolation.Trap) (gm : list Isolation.Range) (mt : trap) : Prop :=
  (esr_ec (Isolation.Trap_ESR t) = Isolation.ecDABTLow -> mmio_emulated t gm = true ->
     Z.land (Isolation.Trap_ESR t) Isolation.issWnR <> 0 ->
     exists ipa sz, mt = TMMIO ipa true sz (srt_of (Isolation.Trap_ESR t))) /\
  (esr_ec (Isolation.Trap_ESR t) = Isolation.ecSysReg ->
     Z.land (Isolation.Trap_ESR t) Isolation.sysRegIssRegMask = Isolation.sgi1rWrite ->
     mt = TSGI (rt_of (Isolation.Trap_ESR t))).

(** Two register files that agree on what the model's trap releases
    agree on what the Go trap releases. *)
Theorem filter_agree_model : forall t gm f g (mt : trap),
  len f = 31 -> len g = 31 -> Forall (fun v => 0 <= v) f -> Forall (fun v => 0 <= v) g ->
  model_reading t gm mt ->
  Noninterference.trap_agree mt (regs_of f) (regs_of g) -> filter_agree t gm f g.
Proof.
  intros t gm f g mt Hlf Hlg Hf Hg [Hm Hs] [Hr Hsgi]. split.
  - intros Ec Em Ew. destruct (Hm Ec Em Ew) as (ipa & sz & ->). cbv zeta.
    specialize (Hr _ (or_introl eq_refl)). unfold regs_of, srt_of in Hr.
    apply Z2Nat.inj in Hr; [|apply nth_nonneg; exact Hf|apply nth_nonneg; exact Hg]. rewrite Hr. reflexivity.
  - intros Ec Es. rewrite (Hs Ec Es) in Hsgi. cbv zeta. fold (rt_of (Isolation.Trap_ESR t)) in *.
    destruct (Nat.eq_dec (rt_of (Isolation.Trap_ESR t)) xzr) as [E|E].
    + rewrite E. unfold xzr. rewrite !nth_overflow by (unfold len in *; lia). reflexivity.
    + apply sgi_fields_land; [apply nth_nonneg; exact Hf|apply nth_nonneg; exact Hg|].
      exact (Hsgi E).
Qed.

(** So two vCPUs whose registers differ anywhere the model's
    [trap_agree] allows for the exit get the same decision from the Go
    exit filter, the same trace and the same change to their registers:
    [Noninterference.declass] of an exit holds of [FilterTrap]. *)
Corollary FilterTrap_trap_agree : forall {S} (x : ptr S (list Z)) valid get set, lens x valid get set ->
  forall s1 s2 tr t gm (mt : trap), valid s1 -> valid s2 -> len (get s1) = 31 -> len (get s2) = 31 ->
  Forall (fun v => 0 <= v) (get s1) -> Forall (fun v => 0 <= v) (get s2) -> 0 <= Isolation.Trap_ESR t ->
  model_reading t gm mt ->
  Noninterference.trap_agree mt (regs_of (get s1)) (regs_of (get s2)) ->
  exists d s1' s2', Isolation.FilterTrap t x gm s1 tr = Ok d s1' tr /\ Isolation.FilterTrap t x gm s2 tr = Ok d s2' tr /\
    same_change get set s1 s2 s1' s2'.
Proof.
  intros S x valid get set Lx s1 s2 tr t gm mt Hv1 Hv2 Hl1 Hl2 Hf1 Hf2 He Hm Ha.
  exact (FilterTrap_released x valid get set Lx s1 s2 tr t gm Hv1 Hv2 Hl1 Hl2 He
    (filter_agree_model t gm _ _ mt Hl1 Hl2 Hf1 Hf2 Hm Ha)).
Qed.
