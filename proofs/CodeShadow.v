(** * MMIO_SHADOW and MMIO_LOG_READ of the translated code: no failure
      outcome, and the concrete invariant [shadow_inv] is preserved

    Lemmas about proofs/code/Isolation.v, the translation of
    isolation/shadow.go. Both calls touch one VM's [shadowState] only: its
    four marked registers and its 256-byte ring log; the registers that
    are on mark distinct IPAs ([regs_ok]), which MMIO_SHADOW keeps as it
    sets the register on at the IPA or else one that is off
    ([regs_ok_set]). The same holds of the
    shadow path of VCPU_RUN ([shadowMMIO], which completes a guest's MMIO
    access from a mark, keeping the vCPU's state, identity and register
    count, [vcpu_kept]), and VCPU_INIT and VCPU_IRQ keep [shadow_inv]. *)
From Coq Require Import ZArith Lia List Bool.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodePlace CodeTrack CodeVCPU CodeVCPUInit CodeLoop CodeVMCreate CodeReady.
Import ListNotations.
Open Scope Z_scope.

(** ** The invariant *)

(** A register is on when its mode is not off. *)
Definition is_on (r : Isolation.shadowReg) : bool := negb (Isolation.shadowReg_mode r =? Abi.ShadowOff)%Z.

(** The registers that are on. *)
Definition active (regs : list Isolation.shadowReg) : list Isolation.shadowReg :=
  filter (fun r => negb (Isolation.shadowReg_mode r =? Abi.ShadowOff)%Z) regs.

(** The registers that are on mark distinct IPAs, and no IPA is negative
    (the Go field is unsigned): one guest access meets at most one mark,
    as the model's marks, a set by IPA, say. *)
Definition regs_ok (regs : list Isolation.shadowReg) : Prop :=
  NoDup (map Isolation.shadowReg_ipa (active regs)) /\ Forall (fun r => 0 <= Isolation.shadowReg_ipa r) regs.

(** A VM's shadow state has its four registers, well formed, and its 256
    bytes of log, with the ring's head inside the log and at most 256
    bytes in it; every entry of the log is a byte (the Go log is a [byte]
    array, which the translation reads as integers), as MMIO_LOG_READ's
    packing of bytes into words needs. *)
Definition shadow_ok (sh : Isolation.shadowState) : Prop :=
  len (Isolation.shadowState_regs sh) = 4 /\ len (Isolation.shadowState_log sh) = 256 /\
  0 <= Isolation.shadowState_head sh < 256 /\ 0 <= Isolation.shadowState_count sh <= 256 /\
  Forall (fun b => 0 <= b < 256) (Isolation.shadowState_log sh) /\ regs_ok (Isolation.shadowState_regs sh).

(** [vcpus_ok] (CodeVCPU), and every VM slot's shadow state [shadow_ok]. *)
Definition shadow_inv (e : Isolation.Engine) : Prop :=
  vcpus_ok e /\ Forall (fun m => shadow_ok (Isolation.vm_shadow m)) (Isolation.Engine_vms e).

(** The memory after VM slot [i], holding [m], gets the shadow state [sh]. *)
Definition put_shadow (e : Isolation.Engine) (i : nat) (m : Isolation.vm) (sh : Isolation.shadowState) :=
  put_vm e i (Isolation.set_vm_shadow sh m).

(** [e'] is [e], or [e] with the shadow state of one VM slot replaced: all
    a call that only writes shadow state can do. *)
Definition shadow_store (e e' : Isolation.Engine) : Prop :=
  e' = e \/ exists i m sh, nth_error (Isolation.Engine_vms e) i = Some m /\ e' = put_shadow e i m sh.

Lemma shadow_inv_put : forall e i m sh, shadow_inv e -> nth_error (Isolation.Engine_vms e) i = Some m ->
  shadow_ok sh -> shadow_inv (put_shadow e i m sh).
Proof.
  intros e i m sh [Hv Hall] Hn Hsh. unfold put_shadow. split.
  - apply vcpus_ok_put_vm; [exact Hv|]. destruct Hv as [_ Hvm]. rewrite Forall_forall in Hvm.
    pose proof (Hvm m (nth_error_In _ _ Hn)) as Hm. destruct m; exact Hm.
  - unfold put_vm. destruct e; cbn in *. apply Forall_replace; [exact Hall|]. destruct m; exact Hsh.
Qed.

Lemma shadow_of : forall e i m, shadow_inv e -> nth_error (Isolation.Engine_vms e) i = Some m ->
  shadow_ok (Isolation.vm_shadow m).
Proof.
  intros e i m [_ Hall] Hn. rewrite Forall_forall in Hall. exact (Hall m (nth_error_In _ _ Hn)).
Qed.

(** Putting back the shadow state a VM slot holds changes nothing. *)
Lemma put_shadow_same : forall e i m, nth_error (Isolation.Engine_vms e) i = Some m ->
  put_shadow e i m (Isolation.vm_shadow m) = e.
Proof.
  intros e i m Hn. unfold put_shadow, put_vm.
  replace (Isolation.set_vm_shadow (Isolation.vm_shadow m) m) with m by (destruct m; reflexivity).
  rewrite replace_nth_same by exact Hn. destruct e; reflexivity.
Qed.

Lemma is_nil_tracks : forall {S A} (p : ptr S A) s a put, tracks p s a put -> is_nil p = false.
Proof. intros S A p s a put (ld & st & -> & _). reflexivity. Qed.

(** Running [bind m f] from a state where [m] returns. *)
Lemma bind_ok : forall {S A B} (m : M S A) (f : A -> M S B) s tr a s' tr',
  m s tr = Ok a s' tr' -> bind m f s tr = f a s' tr'.
Proof. intros S A B m f s tr a s' tr' H. unfold bind. rewrite H. reflexivity. Qed.

(** One step of a proof over the translated code: the computation that
    comes first returns by [H], or by computation alone. *)
Lemma bind_assoc : forall {S A B C} (m : M S A) (f : A -> M S B) (g : B -> M S C) s t,
  bind (bind m f) g s t = bind m (fun a => bind (f a) g) s t.
Proof. intros S A B C m f g s t. unfold bind. destruct (m s t); reflexivity. Qed.

Ltac step_by H := erewrite bind_ok by (exact H); cbv beta iota zeta.
Ltac step := erewrite bind_ok by reflexivity; cbv beta iota zeta.

(** ** inRanges *)

(** [Range_Contains] and [inRanges] read nothing but their arguments: their
    answer is a function of them, whatever the memory. *)
Definition range_has (addr : Z) (r : Isolation.Range) : bool :=
  if (addr <? Isolation.Range_Base r) || (1 >? Isolation.Range_Size r) then false
  else wrapu 64 (addr - Isolation.Range_Base r) <=? wrapu 64 (Isolation.Range_Size r - 1).

Lemma Range_Contains_val : forall {S} (s : S) tr r addr,
  Isolation.Range_Contains r addr 1 s tr = Ok (range_has addr r) s tr.
Proof. intros S s tr r addr. unfold Isolation.Range_Contains, range_has. destruct (_ || _); reflexivity. Qed.

Lemma inRanges_val : forall {S} (s : S) tr addr rs,
  Isolation.inRanges addr rs s tr = Ok (existsb (range_has addr) rs) s tr.
Proof.
  intros S s tr addr rs. unfold Isolation.inRanges. cbv zeta.
  assert (Hl : 0 <= len rs) by (unfold len; lia).
  set (none := fun i : Z => forall j, (j < Z.to_nat i)%nat -> range_has addr (nth j rs Isolation.zero_Range) = false).
  match goal with |- context [loop ?f ?c ?b ?p 0] =>
  destruct (loop_spec f c b p
    (fun i st tr' => st = s /\ tr' = tr /\ 0 <= i <= len rs /\ none i)
    (fun j st tr' => st = s /\ tr' = tr /\
       match j with Fall i => i = len rs /\ none i | Jump y => y = true /\ existsb (range_has addr) rs = true end)
    (fun i => Z.to_nat (len rs - i))) with (l := 0) (s := s) (tr := tr) as (j & s' & tr' & Hj & -> & -> & Hjr) end.
  - intros i st tr' (-> & -> & Hi & Hn). exists (i <? len rs). split; [reflexivity|]. split.
    + intros Hc. apply Z.ltb_lt in Hc. lia.
    + intros Hc. apply Z.ltb_ge in Hc. split; [reflexivity|]. split; [reflexivity|]. split; [lia|exact Hn].
  - intros i st tr' (-> & -> & Hi & Hn) Hc. injection Hc as Hc. apply Z.ltb_lt in Hc.
    assert (Hin : In (nth (Z.to_nat i) rs Isolation.zero_Range) rs) by (apply nth_In; unfold len in Hc; lia).
    assert (Hr : idx rs i s tr = Ok (nth (Z.to_nat i) rs Isolation.zero_Range) s tr)
      by (apply idx_nth; [lia|apply nth_error_nth'; unfold len in Hc; lia]).
    unfold bind. rewrite Hr, Range_Contains_val.
    destruct (range_has addr (nth (Z.to_nat i) rs Isolation.zero_Range)) eqn:Hh; unfold ret.
    + eexists _, _, _. split; [reflexivity|]. split; [reflexivity|]. split; [reflexivity|]. split; [reflexivity|].
      apply existsb_exists. exists (nth (Z.to_nat i) rs Isolation.zero_Range). split; [exact Hin|exact Hh].
    + eexists _, _, _. split; [reflexivity|]. exists (i + 1). split; [reflexivity|].
      split; [split; [reflexivity|]; split; [reflexivity|]; split; [lia|]|apply Z2Nat.inj_lt; lia].
      intros j Hj. destruct (Nat.eq_dec j (Z.to_nat i)) as [->|Nj]; [exact Hh|apply Hn; lia].
  - split; [reflexivity|]. split; [reflexivity|]. split; [lia|]. intros j Hj. cbn in Hj. lia.
  - destruct (Z.eq_dec (len rs) 0) as [E|E].
    + rewrite E. cbn. lia.
    + rewrite fuel_nat by lia. lia.
  - unfold bind at 1. rewrite Hj. destruct j as [i|y]; unfold ret.
    + destruct Hjr as [-> Hn]. f_equal. symmetry. apply not_true_iff_false. intros Hx.
      apply existsb_exists in Hx as (r & Hr & Hh). destruct (In_nth rs r Isolation.zero_Range Hr) as (k & Hk & <-).
      rewrite (Hn k ltac:(unfold len; lia)) in Hh. discriminate.
    + destruct Hjr as [-> ->]. reflexivity.
Qed.

Lemma inRanges_ok : forall {S} (s : S) tr addr rs,
  exists b, Isolation.inRanges addr rs s tr = Ok b s tr.
Proof. intros S s tr addr rs. eexists. apply inRanges_val. Qed.

(** ** MMIO_SHADOW *)

(** What the search of MMIO_SHADOW finds: [slot], a register that is not
    off and marks [ipa], or -1 when none does; [free], the first register
    that is off, or -1 when none is. *)
Definition scan_found (regs : list Isolation.shadowReg) (ipa slot free : Z) : Prop :=
  (0 <= slot -> is_on (nth (Z.to_nat slot) regs Isolation.zero_shadowReg) = true /\
                Isolation.shadowReg_ipa (nth (Z.to_nat slot) regs Isolation.zero_shadowReg) = ipa) /\
  (slot < 0 -> forall j, (j < length regs)%nat ->
     ~ (is_on (nth j regs Isolation.zero_shadowReg) = true /\ Isolation.shadowReg_ipa (nth j regs Isolation.zero_shadowReg) = ipa)) /\
  (0 <= free -> is_on (nth (Z.to_nat free) regs Isolation.zero_shadowReg) = false) /\
  (free < 0 -> forall j, (j < length regs)%nat -> is_on (nth j regs Isolation.zero_shadowReg) = true).

Lemma slot_scan_spec : forall (e : Isolation.Engine) tr (regs : list Isolation.shadowReg) ipa,
  len regs = 4 ->
  exists slot free, (loop (X:=Empty_set) 4
    (fun '(t'9, slot, free) => ret (t'9 <? 4))
    (fun '(t'9, slot, free) =>
       let i := t'9 in
       let! t'12 := idx regs t'9 in
       let r := t'12 in
       if negb (Isolation.shadowReg_mode r =? Abi.ShadowOff) && (Isolation.shadowReg_ipa r =? ipa) then
       let slot := i in ret (Continue (t'9, slot, free))
       else if (Isolation.shadowReg_mode r =? Abi.ShadowOff) && (free <? 0) then
       let free := i in ret (Continue (t'9, slot, free))
       else ret (Continue (t'9, slot, free)))
    (fun '(t'9, slot, free) => let t'9 := t'9 + 1 in ret (t'9, slot, free))
    (0, -1, -1)) e tr = Ok (Fall (4, slot, free)) e tr /\
    -1 <= slot < 4 /\ -1 <= free < 4 /\ scan_found regs ipa slot free.
Proof.
  intros e tr regs ipa Hregs. unfold len in Hregs.
  set (found := fun (i slot free : Z) =>
    (0 <= slot -> slot < i /\ is_on (nth (Z.to_nat slot) regs Isolation.zero_shadowReg) = true /\
                  Isolation.shadowReg_ipa (nth (Z.to_nat slot) regs Isolation.zero_shadowReg) = ipa) /\
    (slot < 0 -> forall j, (j < Z.to_nat i)%nat ->
       ~ (is_on (nth j regs Isolation.zero_shadowReg) = true /\ Isolation.shadowReg_ipa (nth j regs Isolation.zero_shadowReg) = ipa)) /\
    (0 <= free -> free < i /\ is_on (nth (Z.to_nat free) regs Isolation.zero_shadowReg) = false) /\
    (free < 0 -> forall j, (j < Z.to_nat i)%nat -> is_on (nth j regs Isolation.zero_shadowReg) = true)).
  match goal with |- context [loop 4 ?c ?b ?p _] =>
  destruct (loop_spec 4 c b p
    (fun '(i, slot, free) st tr' => st = e /\ tr' = tr /\ 0 <= i <= 4 /\ -1 <= slot < 4 /\ -1 <= free < 4 /\
       found i slot free)
    (fun j st tr' => st = e /\ tr' = tr /\ exists slot free, j = Fall (4, slot, free) /\
       -1 <= slot < 4 /\ -1 <= free < 4 /\ found 4 slot free)
    (fun '(i, _, _) => Z.to_nat (4 - i))) with (l := (0, -1, -1)) (s := e) (tr := tr)
    as (j & s' & tr' & Hj & -> & -> & slot & free & -> & Hs & Hf & Hfd) end.
  - intros [[i slot] free] st tr' (-> & -> & Hi & Hs & Hf & Hfd). exists (i <? 4). split; [reflexivity|]. split.
    + intros Hc. apply Z.ltb_lt in Hc. lia.
    + intros Hc. apply Z.ltb_ge in Hc. split; [reflexivity|]. split; [reflexivity|].
      exists slot, free. replace i with 4 in Hfd by lia. split; [f_equal; f_equal; f_equal; lia|]. split; [lia|]. split; [lia|exact Hfd].
  - intros [[i slot] free] st tr' (-> & -> & Hi & Hs & Hf & (F1 & F2 & F3 & F4)) Hc. injection Hc as Hc.
    apply Z.ltb_lt in Hc.
    assert (Hr : idx regs i e tr = Ok (nth (Z.to_nat i) regs Isolation.zero_shadowReg) e tr)
      by (apply idx_nth; [lia|apply nth_error_nth'; lia]).
    unfold bind. rewrite Hr. cbv beta iota zeta.
    set (r := nth (Z.to_nat i) regs Isolation.zero_shadowReg).
    assert (Hsucc : forall j, (j < Z.to_nat (i + 1))%nat -> (j < Z.to_nat i)%nat \/ j = Z.to_nat i) by lia.
    destruct (negb (Isolation.shadowReg_mode r =? Abi.ShadowOff) && (Isolation.shadowReg_ipa r =? ipa)) eqn:Hm.
    { apply andb_true_iff in Hm as [Hon Hip]. apply Z.eqb_eq in Hip. unfold ret.
      eexists _, _, _. split; [reflexivity|]. eexists. split; [reflexivity|].
      split; [|apply Z2Nat.inj_lt; lia].
      split; [reflexivity|]. split; [reflexivity|]. split; [lia|]. split; [lia|]. split; [lia|].
      split; [intros _; split; [lia|]; split; assumption|]. split; [intros; lia|].
      split; [intros H; destruct (F3 H); split; [lia|assumption]|].
      intros H j Hj. pose proof (Hsucc j Hj) as [Hjl| ->]; [exact (F4 H j Hjl)|]. exact Hon. }
    assert (Hnot : ~ (is_on r = true /\ Isolation.shadowReg_ipa r = ipa)).
    { intros [A B]. unfold is_on in A. rewrite A, B, Z.eqb_refl in Hm. discriminate. }
    destruct ((Isolation.shadowReg_mode r =? Abi.ShadowOff) && (free <? 0)) eqn:Hm2.
    { apply andb_true_iff in Hm2 as [Hoff Hfr]. apply Z.ltb_lt in Hfr. unfold ret.
      eexists _, _, _. split; [reflexivity|]. eexists. split; [reflexivity|].
      split; [|apply Z2Nat.inj_lt; lia].
      split; [reflexivity|]. split; [reflexivity|]. split; [lia|]. split; [lia|]. split; [lia|].
      split; [intros H; pose proof (F1 H) as (? & ? & ?); split; [lia|]; split; assumption|].
      split; [intros H j Hj; pose proof (Hsucc j Hj) as [Hjl| ->]; [exact (F2 H j Hjl)|exact Hnot]|].
      split; [intros _; split; [lia|]; unfold is_on; fold r; rewrite Hoff; reflexivity|].
      intros H. lia. }
    unfold ret. eexists _, _, _. split; [reflexivity|]. eexists. split; [reflexivity|].
    split; [|apply Z2Nat.inj_lt; lia].
    split; [reflexivity|]. split; [reflexivity|]. split; [lia|]. split; [lia|]. split; [lia|].
    split; [intros H; pose proof (F1 H) as (? & ? & ?); split; [lia|]; split; assumption|].
    split; [intros H j Hj; pose proof (Hsucc j Hj) as [Hjl| ->]; [exact (F2 H j Hjl)|exact Hnot]|].
    split; [intros H; destruct (F3 H); split; [lia|assumption]|].
    intros H j Hj. pose proof (Hsucc j Hj) as [Hjl| ->]; [exact (F4 H j Hjl)|].
    unfold is_on. fold r. destruct (Isolation.shadowReg_mode r =? Abi.ShadowOff) eqn:Hoff; [|reflexivity].
    cbn [andb] in Hm2. apply Z.ltb_ge in Hm2. lia.
  - split; [reflexivity|]. split; [reflexivity|]. split; [lia|]. split; [lia|]. split; [lia|].
    split; [intros; lia|]. split; [intros _ j Hj; cbn in Hj; lia|]. split; [intros; lia|]. intros _ j Hj. cbn in Hj. lia.
  - cbn. lia.
  - exists slot, free. split; [exact Hj|]. split; [lia|]. split; [lia|].
    destruct Hfd as (F1 & F2 & F3 & F4). replace (Z.to_nat 4) with (length regs) in F2, F4 by lia.
    split; [intros H; exact (proj2 (F1 H))|]. split; [exact F2|]. split; [intros H; exact (proj2 (F3 H))|exact F4].
Qed.

(** Writing slot [k] of the tracked shadow state of a VM. *)
Lemma set_reg_tracks : forall (e : Isolation.Engine) tr p m put k r,
  tracks p e m put -> len (Isolation.shadowState_regs (Isolation.vm_shadow m)) = 4 -> 0 <= k < 4 ->
  (let! t'15 := pfield p Isolation.vm_shadow Isolation.set_vm_shadow in
   let! t'16 := pfield t'15 Isolation.shadowState_regs Isolation.set_shadowState_regs in
   let! t'17 := pindex t'16 k in
   let! t'18 := store t'17 r in
   ret Abi.Success) e tr =
  Ok Abi.Success (put (Isolation.set_vm_shadow (Isolation.set_shadowState_regs
       (replace_nth (Z.to_nat k) r (Isolation.shadowState_regs (Isolation.vm_shadow m))) (Isolation.vm_shadow m)) m)) tr.
Proof.
  intros e tr p m put k r Ht Hl Hk.
  pose proof (pfield_tracks p Isolation.vm_shadow Isolation.set_vm_shadow e m put tr Ht ltac:(field_laws))
    as (q1 & Hq1 & Ht1).
  pose proof (pfield_tracks q1 Isolation.shadowState_regs Isolation.set_shadowState_regs e _ _ tr Ht1 ltac:(field_laws))
    as (q2 & Hq2 & Ht2).
  pose proof (pindex_tracks q2 e _ _ k tr Ht2 ltac:(lia)) as (q3 & x & Hq3 & _ & Ht3).
  unfold bind. rewrite Hq1, Hq2, Hq3. rewrite (store_tracks _ _ _ _ _ _ Ht3). reflexivity.
Qed.

(** Register [k] set to the mark [ipa], [mode], [value]. *)
Definition set_mark (sh : Isolation.shadowState) (k ipa mode value : Z) : Isolation.shadowState :=
  Isolation.set_shadowState_regs (replace_nth (Z.to_nat k) (Isolation.mk_shadowReg ipa mode value)
    (Isolation.shadowState_regs sh)) sh.

Lemma nth_set_mark : forall sh k ipa mode value j, (Z.to_nat k < length (Isolation.shadowState_regs sh))%nat ->
  nth j (Isolation.shadowState_regs (set_mark sh k ipa mode value)) Isolation.zero_shadowReg =
  if (j =? Z.to_nat k)%nat then Isolation.mk_shadowReg ipa mode value
  else nth j (Isolation.shadowState_regs sh) Isolation.zero_shadowReg.
Proof.
  intros [regs log head count] k ipa mode value j Hk. unfold set_mark. cbn.
  destruct (Nat.eqb_spec j (Z.to_nat k)) as [->|Hj].
  - apply nth_replace_nth_same. exact Hk.
  - apply nth_replace_nth_other'. lia.
Qed.

(** Register [k] is the one MMIO_SHADOW may set for a mark at [ipa]: the
    register on at the IPA or, none being, one that is off. *)
Definition settable (regs : list Isolation.shadowReg) (k ipa : Z) : Prop :=
  let r := nth (Z.to_nat k) regs Isolation.zero_shadowReg in
  (is_on r = true /\ Isolation.shadowReg_ipa r = ipa) \/
  (is_on r = false /\ forall j, (j < length regs)%nat ->
     ~ (is_on (nth j regs Isolation.zero_shadowReg) = true /\
        Isolation.shadowReg_ipa (nth j regs Isolation.zero_shadowReg) = ipa)).

(** What the search finds is settable: the register on at the IPA, or
    else the first one off. *)
Lemma settable_found : forall regs ipa slot free, scan_found regs ipa slot free ->
  (0 <= slot -> settable regs slot ipa) /\ (slot < 0 -> 0 <= free -> settable regs free ipa).
Proof.
  intros regs ipa slot free (F1 & F2 & F3 & _). split.
  - intros H. left. exact (F1 H).
  - intros H0 Hf. right. split; [exact (F3 Hf)|exact (F2 H0)].
Qed.

(** Setting a settable register to a mark at an IPA not negative keeps
    the registers well formed. *)
Lemma regs_ok_set : forall sh k ipa mode value, regs_ok (Isolation.shadowState_regs sh) -> 0 <= ipa ->
  (Z.to_nat k < length (Isolation.shadowState_regs sh))%nat -> settable (Isolation.shadowState_regs sh) k ipa ->
  regs_ok (Isolation.shadowState_regs (set_mark sh k ipa mode value)).
Proof.
  intros sh k ipa mode value [Hd Hnn] Hipa Hk Hcase. unfold settable in Hcase. cbv zeta in Hcase.
  set (regs := Isolation.shadowState_regs sh) in *.
  assert (Hl' : length (Isolation.shadowState_regs (set_mark sh k ipa mode value)) = length regs)
    by (unfold set_mark; destruct sh; cbn; apply replace_nth_length).
  assert (Hn' : forall j, nth j (Isolation.shadowState_regs (set_mark sh k ipa mode value)) Isolation.zero_shadowReg =
    if (j =? Z.to_nat k)%nat then Isolation.mk_shadowReg ipa mode value else nth j regs Isolation.zero_shadowReg)
    by (intros j; apply nth_set_mark; exact Hk).
  pose proof (proj1 (nodup_filter_pos Isolation.shadowReg_ipa _ regs Isolation.zero_shadowReg) Hd) as Hpos.
  (* a register on at another position marks another IPA *)
  assert (Hother : forall j, (j < length regs)%nat -> j <> Z.to_nat k ->
    is_on (nth j regs Isolation.zero_shadowReg) = true -> Isolation.shadowReg_ipa (nth j regs Isolation.zero_shadowReg) <> ipa).
  { intros j Hj Hjk On E. destruct Hcase as [(Onk & Ek)|(_ & None)].
    - apply (Hpos j (Z.to_nat k) Hj Hk Hjk On Onk). rewrite Ek. exact E.
    - exact (None j Hj (conj On E)). }
  rewrite Forall_forall in Hnn. split.
  - apply (nodup_filter_pos _ _ _ Isolation.zero_shadowReg). rewrite Hl'.
    intros j j' Hj Hj' Hjj Pj Pj'. rewrite !Hn' in *.
    destruct (Nat.eqb_spec j (Z.to_nat k)) as [->|Nj], (Nat.eqb_spec j' (Z.to_nat k)) as [->|Nj']; [lia| | |].
    + cbn [Isolation.shadowReg_ipa]. intros E. exact (Hother j' Hj' Nj' Pj' (eq_sym E)).
    + cbn [Isolation.shadowReg_ipa]. exact (Hother j Hj Nj Pj).
    + exact (Hpos j j' Hj Hj' Hjj Pj Pj').
  - apply Forall_forall. intros r Hr. pose proof (In_nth _ r Isolation.zero_shadowReg Hr) as (j & Hj & <-).
    rewrite Hn'. rewrite Hl' in Hj. destruct (j =? Z.to_nat k)%nat; [exact Hipa|apply Hnn, nth_In; exact Hj].
Qed.

Lemma shadow_ok_set_mark : forall sh k ipa mode value, shadow_ok sh -> 0 <= ipa -> 0 <= k < 4 ->
  settable (Isolation.shadowState_regs sh) k ipa -> shadow_ok (set_mark sh k ipa mode value).
Proof.
  intros sh k ipa mode value Hok Hipa Hk Hs.
  assert (Hr : regs_ok (Isolation.shadowState_regs (set_mark sh k ipa mode value))).
  { apply regs_ok_set; [exact (proj2 (proj2 (proj2 (proj2 (proj2 Hok)))))|exact Hipa| |exact Hs].
    destruct Hok as (Hl & _). unfold len in Hl. lia. }
  destruct Hok as (A & B & C & D & F & _). destruct sh as [regs log head count].
  split; [unfold set_mark; cbn; rewrite len_replace; exact A|]. exact (conj B (conj C (conj D (conj F Hr)))).
Qed.

(** MMIO_SHADOW has no failure outcome and keeps [shadow_inv]: from any
    engine whose VM slots are [vcpus_ok] and have well-formed shadow
    state, for any 64-bit vmid, any IPA not negative and any mode and
    value, Engine.MMIOShadow returns a status, records no platform call,
    and at most replaces the shadow registers of one VM slot, keeping
    them well formed. *)
Theorem MMIOShadow_no_failure : forall e tr id ipa mode value,
  shadow_inv e -> 0 <= id < 2 ^ 64 -> 0 <= ipa ->
  exists st e', Isolation.Engine_MMIOShadow root id ipa mode value e tr = Ok st e' tr /\
    shadow_inv e' /\ shadow_store e e'.
Proof.
  intros e tr id ipa mode value Hinv Hid Hipa.
  assert (Hnone : forall st, exists st' e', (ret st : M Isolation.Engine Abi.Status) e tr = Ok st' e' tr /\
    shadow_inv e' /\ shadow_store e e') by (intros st; eexists _, _; split; [reflexivity|]; split; [exact Hinv|left; reflexivity]).
  pose proof (liveVM_tracks e tr id (proj1 Hinv) Hid) as (p & Hp & [[-> _] | (m & Hr & Hn & Hm & Ht & _)]);
    unfold Isolation.Engine_MMIOShadow; step_by Hp.
  - step. step. apply Hnone.
  - pose proof (shadow_of e _ m Hinv Hn) as Hsh. pose proof Hsh as (Hregs & _).
    rewrite (is_nil_tracks _ _ _ _ Ht). cbv beta iota.
    step. destruct (negb (ipa mod Isolation.shadowAccessMax =? 0)).
    { step. apply Hnone. }
    pose proof (inRanges_ok e tr ipa (Isolation.Config_GuestMMIO (Isolation.Engine_cfg e))) as (b & Hb).
    erewrite bind_ok; [|step; step_by Hb; reflexivity]. cbv beta iota zeta.
    destruct (negb b || (mode >? Abi.ShadowLog)).
    { apply Hnone. }
    step_by (deref_tracks _ _ _ _ tr Ht).
    pose proof (slot_scan_spec e tr _ ipa Hregs) as (slot & free & Hscan & Hs & Hf & Hfd).
    pose proof (settable_found _ _ _ _ Hfd) as [Hset1 Hset2].
    step_by Hscan.
    assert (Hfin : forall k, 0 <= k < 4 -> settable (Isolation.shadowState_regs (Isolation.vm_shadow m)) k ipa ->
      exists st e',
      (let! t'15 := pfield p Isolation.vm_shadow Isolation.set_vm_shadow in
       let! t'16 := pfield t'15 Isolation.shadowState_regs Isolation.set_shadowState_regs in
       let! t'17 := pindex t'16 k in
       let! t'18 := store t'17 (Isolation.mk_shadowReg ipa mode value) in
       ret Abi.Success) e tr = Ok st e' tr /\ shadow_inv e' /\ shadow_store e e').
    { intros k Hk Hset. rewrite (set_reg_tracks e tr p m _ k _ Ht Hregs Hk). eexists _, _. split; [reflexivity|].
      split.
      - apply shadow_inv_put with (i := Z.to_nat (id - 1)); [exact Hinv|exact Hn|].
        exact (shadow_ok_set_mark _ k ipa mode value Hsh Hipa Hk Hset).
      - right. do 3 eexists. split; [exact Hn|reflexivity]. }
    destruct (Z.geb_spec slot 0) as [Hs0|Hs0].
    { step. apply Hfin; [lia|exact (Hset1 ltac:(lia))]. }
    destruct (mode =? Abi.ShadowOff).
    { step. apply Hnone. }
    destruct (Z.ltb_spec free 0) as [Hf0|Hf0].
    { step. apply Hnone. }
    step. apply Hfin; [lia|exact (Hset2 ltac:(lia) ltac:(lia))].
Qed.

(** ** MMIO_LOG_READ *)

Lemma upd_ok : forall {S A} (s : S) tr (xs : list A) i a, 0 <= i < len xs ->
  upd xs i a s tr = Ok (replace_nth (Z.to_nat i) a xs) s tr.
Proof.
  intros S A s tr xs i a Hi. unfold upd.
  destruct ((i <? 0) || (len xs <=? i)) eqn:Hc; [|reflexivity].
  apply orb_true_iff in Hc. rewrite Z.ltb_lt, Z.leb_le in Hc. lia.
Qed.

Lemma div8_lt6 : forall n, 0 <= n < 48 -> 0 <= n / 8 < 6.
Proof. intros n Hn. split; [apply Z.div_pos|apply Z.div_lt_upper_bound]; lia. Qed.

(** The ring after its oldest byte is taken: the head moves on by one
    modulo 256 and the count drops by one. *)
Lemma shadow_ok_take : forall sh, shadow_ok sh -> 0 < Isolation.shadowState_count sh ->
  shadow_ok (Isolation.set_shadowState_count (wraps 64 (Isolation.shadowState_count sh - 1))
    (Isolation.set_shadowState_head (Z.rem (wraps 64 (Isolation.shadowState_head sh + 1)) 256) sh)).
Proof.
  intros [regs log head count] (A & B & C & D & F & G) Hc. cbn in *. unfold shadow_ok; cbn.
  rewrite !wraps_small by lia. rewrite Z.rem_mod_nonneg by lia.
  pose proof (Z.mod_pos_bound (head + 1) 256 ltac:(lia)). repeat split; try lia; first [exact F|apply G].
Qed.

(** MMIO_LOG_READ has no failure outcome and keeps [shadow_inv]: from any
    engine whose VM slots are [vcpus_ok] and have well-formed shadow
    state, for any 64-bit vmid, Engine.MMIOLogRead returns at most 48 bytes
    in its six words, records no platform call, and at most replaces the
    shadow state (the ring's head and count) of one VM slot. *)
Theorem MMIOLogRead_no_failure : forall e tr id,
  shadow_inv e -> 0 <= id < 2 ^ 64 ->
  exists n packed st e', Isolation.Engine_MMIOLogRead root id e tr = Ok (n, packed, st) e' tr /\
    0 <= n <= Abi.ShadowLogBatch /\ len packed = 6 /\ shadow_inv e' /\ shadow_store e e'.
Proof.
  intros e tr id Hinv Hid.
  pose proof (liveVM_tracks e tr id (proj1 Hinv) Hid) as (p & Hp & [[-> _] | (m & Hr & Hn & Hm & Ht & _)]);
    unfold Isolation.Engine_MMIOLogRead; cbv zeta; step_by Hp.
  - eexists _, _, _, _. split; [reflexivity|]. split; [unfold Abi.ShadowLogBatch; lia|]. split; [reflexivity|].
    split; [exact Hinv|left; reflexivity].
  - pose proof (shadow_of e _ m Hinv Hn) as Hsh.
    rewrite (is_nil_tracks _ _ _ _ Ht). cbv beta iota.
    set (i := Z.to_nat (id - 1)) in *.
    set (put := fun b => put_shadow e i m b).
    pose proof (pfield_tracks p Isolation.vm_shadow Isolation.set_vm_shadow e m _ tr Ht ltac:(field_laws))
      as (q & Hq & Htq).
    step_by Hq. fold (put_shadow e i m) in Htq. fold put in Htq.
    match goal with |- context [loop max_fuel ?c ?b ?po _] =>
    destruct (loop_spec max_fuel c b po
      (fun '(n, packed) st tr' => tr' = tr /\ 0 <= n <= 48 /\ len packed = 6 /\
         exists sh, st = put sh /\ tracks q st sh put /\ shadow_ok sh)
      (fun j st tr' => tr' = tr /\ match j with Fall (n, packed) => 0 <= n <= 48 /\ len packed = 6 | Jump _ => True end /\
         exists sh, st = put sh /\ shadow_ok sh)
      (fun '(n, _) => Z.to_nat (48 - n))) with (l := (0, repeat 0 6)) (s := e) (tr := tr)
      as (j & s' & tr' & Hj & -> & Hnp & sh' & -> & Hsh') end.
    + intros [n packed] st tr' (-> & Hn48 & Hpl & sh & -> & Hts & Hok).
      cbv beta iota. unfold Abi.ShadowLogBatch.
      exists ((n <? 48) && (Isolation.shadowState_count sh >? 0)). split.
      { destruct (n <? 48); unfold bind, ret; [rewrite (deref_tracks _ _ _ _ tr Hts)|]; reflexivity. }
      split.
      * intros Hc. apply andb_true_iff in Hc as [Hc _]. apply Z.ltb_lt in Hc. lia.
      * intros _. split; [reflexivity|]. split; [lia|]. exists sh. split; [reflexivity|exact Hok].
    + intros [n packed] st tr' (-> & Hn48 & Hpl & sh & -> & Hts & Hok) Hc.
      cbv beta iota in Hc |- *. unfold Abi.ShadowLogBatch in Hc.
      destruct (Z.ltb_spec n 48) as [Hlt|]; [|discriminate].
      unfold bind, ret in Hc. rewrite (deref_tracks _ _ _ _ tr Hts) in Hc.
      injection Hc as Hc. apply Z.gtb_lt in Hc.
      pose proof Hok as (_ & Hlog & Hhead & _).
      pose proof (idx_in_range (Isolation.shadowState_log sh) (Isolation.shadowState_head sh) (put sh) tr ltac:(lia)) as (b & Hb).
      pose proof (idx_in_range packed (n / 8) (put sh) tr ltac:(pose proof (div8_lt6 n); lia)) as (w & Hw).
      step. step. step_by (deref_tracks _ _ _ _ tr Hts). step_by (deref_tracks _ _ _ _ tr Hts). step_by Hb.
      step. step_by Hw. step.
      step_by (upd_ok (put sh) tr packed (n / 8) (Z.lor w (shl 64 false b (wrapu 64 (8 * (n mod 8)))))
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
      { split; [reflexivity|]. rewrite wrapu_small by lia. split; [lia|]. split; [rewrite len_replace; exact Hpl|].
        exists sh2. split; [reflexivity|]. split; [apply tracks_put with (s := put sh) (a := sh); exact Hts|].
        exact (shadow_ok_take sh Hok Hc). }
      rewrite wrapu_small by lia. apply Z2Nat.inj_lt; lia.
    + split; [reflexivity|]. split; [lia|]. split; [reflexivity|].
      exists (Isolation.vm_shadow m). split; [symmetry; apply put_shadow_same; exact Hn|].
      split; [exact Htq|exact Hsh].
    + rewrite max_fuel_nat. unfold max_fuel. lia.
    + step_by Hj. destruct j as [[n' packed']|[]]. destruct Hnp as [Hn' Hp'].
      eexists _, _, _, _. split; [reflexivity|]. split; [unfold Abi.ShadowLogBatch; lia|]. split; [exact Hp'|].
      split; [apply shadow_inv_put; assumption|]. right. do 3 eexists. split; [exact Hn|reflexivity].
Qed.

(** ** The shadow path of VCPU_RUN *)

(** The ring after byte [b] is added at its tail. *)
Lemma shadow_ok_append : forall sh b, shadow_ok sh -> Isolation.shadowState_count sh < 256 -> 0 <= b < 256 ->
  let sh1 := Isolation.set_shadowState_log (replace_nth (Z.to_nat (Z.rem (wraps 64
               (Isolation.shadowState_head sh + Isolation.shadowState_count sh)) 256)) b
               (Isolation.shadowState_log sh)) sh in
  shadow_ok (Isolation.set_shadowState_count (wraps 64 (Isolation.shadowState_count sh1 + 1)) sh1).
Proof.
  intros [regs log head count] b (A & B & C & D & F & G) Hc Hb. cbn in *. unfold shadow_ok; cbn.
  rewrite len_replace. rewrite wraps_small by lia. repeat split; try lia; first [apply Forall_replace; assumption|apply G].
Qed.

(** append never fails on a well-formed ring, and leaves one. *)
Lemma append_tracks : forall (e : Isolation.Engine) tr s sh put b,
  tracks s e sh put -> shadow_ok sh -> 0 <= b < 256 ->
  exists ok sh', Isolation.shadowState_append s b e tr = Ok ok (put sh') tr /\ shadow_ok sh'
    \/ Isolation.shadowState_append s b e tr = Ok ok e tr.
Proof.
  intros e tr s sh put b Ht Hok Hb. pose proof Hok as (Hr & Hl & Hh & Hc & _).
  unfold Isolation.shadowState_append. step_by (deref_tracks _ _ _ _ tr Ht).
  destruct (Z.eqb_spec (Isolation.shadowState_count sh) 256) as [E|E].
  { exists false, sh. right. reflexivity. }
  pose proof (pfield_tracks s Isolation.shadowState_log Isolation.set_shadowState_log _ _ _ tr Ht ltac:(field_laws))
    as (ql & Hql & Htl).
  step_by Hql. step_by (deref_tracks _ _ _ _ tr Ht). step_by (deref_tracks _ _ _ _ tr Ht). step.
  rewrite wraps_small by lia.
  pose proof (Z.rem_bound_pos_pos (Isolation.shadowState_head sh + Isolation.shadowState_count sh) 256
                ltac:(lia) ltac:(lia)) as Hrem.
  pose proof (pindex_tracks ql e _ _ (Z.rem (Isolation.shadowState_head sh + Isolation.shadowState_count sh) 256) tr Htl
              ltac:(lia)) as (qi & x & Hqi & _ & Hti).
  step_by Hqi. step_by (store_tracks _ _ _ _ b tr Hti).
  set (sh1 := Isolation.set_shadowState_log _ sh).
  pose proof (tracks_put s _ _ put sh1 Ht) as Ht1.
  step_by (deref_tracks _ _ _ _ tr Ht1).
  pose proof (pfield_tracks s Isolation.shadowState_count Isolation.set_shadowState_count _ _ _ tr Ht1 ltac:(field_laws))
    as (qc & Hqc & Htc).
  step_by Hqc. step_by (store_tracks _ _ _ _ (wraps 64 (Isolation.shadowState_count sh1 + 1)) tr Htc).
  eexists _, _. left. split; [reflexivity|].
  pose proof (shadow_ok_append sh b Hok ltac:(lia) Hb) as H. cbv zeta in H.
  rewrite (wraps_small (Isolation.shadowState_head sh + Isolation.shadowState_count sh)) in H by lia. exact H.
Qed.

Ltac split_ifs := repeat match goal with |- context [if ?b then _ else _] => destruct b end.

Lemma sizeMask_ok : forall {S} (s : S) tr log2, exists w, Isolation.sizeMask log2 s tr = Ok w s tr.
Proof.
  intros S s tr log2. unfold Isolation.sizeMask.
  destruct (Z.geb_spec log2 3) as [H3|H3]; [eexists; reflexivity|].
  destruct (Z.ltb_spec log2 0) as [Hn|Hn].
  - assert (Hs : shl 64 true 8 log2 = 8 / 2 ^ (- log2)).
    { unfold shl. destruct (Z.leb_spec 64 log2); [lia|].
      rewrite <- Z.shiftr_opp_r, Z.shiftr_div_pow2 by lia. apply wraps_small.
      assert (0 <= 8 / 2 ^ (- log2) <= 8) by (split; [apply Z.div_pos|apply Z.div_le_upper_bound]; lia). lia. }
    rewrite Hs. unfold shcount. destruct (Z.ltb_spec (8 / 2 ^ (- log2)) 0).
    + assert (0 <= 8 / 2 ^ (- log2)) by (apply Z.div_pos; lia). lia.
    + eexists; reflexivity.
  - assert (log2 = 0 \/ log2 = 1 \/ log2 = 2) as [-> | [-> | ->]] by lia; eexists; reflexivity.
Qed.

(** The value a read completes never fails to compute. *)
Lemma MMIORead_value_ok : forall {S} (s : S) tr r v, exists w, Isolation.MMIORead_value r v s tr = Ok w s tr.
Proof.
  intros S s tr r v. unfold Isolation.MMIORead_value.
  pose proof (sizeMask_ok s tr (Isolation.MMIORead_Log2Size r)) as (w & Hw).
  step_by Hw. split_ifs; eexists; reflexivity.
Qed.

(** A VM slot whose vCPU [j] is replaced by one with 16 words of interrupt
    lines keeps [shadow_inv]: its shadow state is untouched. *)
Lemma shadow_inv_put_vcpu : forall e i m j c', shadow_inv e -> nth_error (Isolation.Engine_vms e) i = Some m ->
  len (Isolation.Context_IRQ (Isolation.vcpu_ctx c')) = 16 -> shadow_inv (put_vcpu e i m j c').
Proof.
  intros e i m j c' [Hv Hall] Hn Hc. split.
  - apply vcpus_ok_put_vm; [exact Hv|]. apply vm_ok_put_vcpu; [|exact Hc].
    destruct Hv as [_ Hvm]. rewrite Forall_forall in Hvm. exact (Hvm m (nth_error_In _ _ Hn)).
  - unfold put_vcpu, put_vm. destruct e; cbn in *. apply Forall_replace; [exact Hall|].
    rewrite Forall_forall in Hall. destruct m; exact (Hall _ (nth_error_In _ _ Hn)).
Qed.

(** After [e'], vCPU [j] of slot [i] has the state, the identity and as
    many registers as in [e], and the platform is as it was. *)
Definition vcpu_kept (e e' : Isolation.Engine) (i j : nat) : Prop :=
  let c := nth j (Isolation.vm_vcpus (nth i (Isolation.Engine_vms e) Isolation.zero_vm)) Isolation.zero_vcpu in
  let c' := nth j (Isolation.vm_vcpus (nth i (Isolation.Engine_vms e') Isolation.zero_vm)) Isolation.zero_vcpu in
  Isolation.vcpu_state c' = Isolation.vcpu_state c /\
  Isolation.Context_VMID (Isolation.vcpu_ctx c') = Isolation.Context_VMID (Isolation.vcpu_ctx c) /\
  Isolation.Context_VCPU (Isolation.vcpu_ctx c') = Isolation.Context_VCPU (Isolation.vcpu_ctx c) /\
  len (Isolation.Context_X (Isolation.vcpu_ctx c')) = len (Isolation.Context_X (Isolation.vcpu_ctx c)) /\
  Isolation.Engine_plat e' = Isolation.Engine_plat e.

Lemma vcpu_kept_refl : forall e i j, vcpu_kept e e i j.
Proof. intros. repeat split. Qed.

(** A store of a vCPU of slot [i] that keeps what [vcpu_kept] reads. *)
Lemma vcpu_kept_put : forall e i m j c c', nth_error (Isolation.Engine_vms e) i = Some m ->
  nth_error (Isolation.vm_vcpus m) j = Some c ->
  Isolation.vcpu_state c' = Isolation.vcpu_state c ->
  Isolation.Context_VMID (Isolation.vcpu_ctx c') = Isolation.Context_VMID (Isolation.vcpu_ctx c) ->
  Isolation.Context_VCPU (Isolation.vcpu_ctx c') = Isolation.Context_VCPU (Isolation.vcpu_ctx c) ->
  len (Isolation.Context_X (Isolation.vcpu_ctx c')) = len (Isolation.Context_X (Isolation.vcpu_ctx c)) ->
  forall j', vcpu_kept e (put_vcpu e i m j c') i j'.
Proof.
  intros e i m j c c' Hn Hc E1 E2 E3 E4 j'.
  assert (Hi : (i < length (Isolation.Engine_vms e))%nat) by (apply nth_error_Some; congruence).
  assert (Hj : (j < length (Isolation.vm_vcpus m))%nat) by (apply nth_error_Some; congruence).
  unfold vcpu_kept, put_vcpu, put_vm. destruct e. cbn in *.
  rewrite nth_replace_nth_same by exact Hi. rewrite (nth_error_nth _ _ Isolation.zero_vm Hn).
  destruct m. cbn in *. destruct (Nat.eq_dec j j') as [<-|Ne].
  - rewrite nth_replace_nth_same by exact Hj. rewrite (nth_error_nth _ _ Isolation.zero_vcpu Hc).
    repeat split; assumption.
  - rewrite nth_replace_nth_other' by exact Ne. repeat split.
Qed.

Lemma vcpu_kept_shadow : forall e i m sh j, nth_error (Isolation.Engine_vms e) i = Some m ->
  vcpu_kept e (put_shadow e i m sh) i j.
Proof.
  intros e i m sh j Hn. assert (Hi : (i < length (Isolation.Engine_vms e))%nat) by (apply nth_error_Some; congruence).
  unfold vcpu_kept, put_shadow, put_vm. destruct e. cbn in *.
  rewrite nth_replace_nth_same by exact Hi. rewrite (nth_error_nth _ _ Isolation.zero_vm Hn).
  destruct m. repeat split.
Qed.

(** The MMIO shadow path of VCPU_RUN never fails and keeps [shadow_inv]:
    for an MMIO exit of vCPU [vc] of the VM slot [pm] (both places the
    caller found, as [vcpuOf] finds them), with an exit record of seven
    words and a read's target register a general register or xzr,
    Engine.shadowMMIO returns, and changes at most the target register of
    that vCPU (a read completed from a mark) or that VM's shadow state (a
    byte logged): the vCPU keeps its state, identity and registers' count. *)
Theorem shadowMMIO_no_failure : forall e tr i m j c pm vc ex read isRead,
  shadow_inv e -> nth_error (Isolation.Engine_vms e) i = Some m ->
  nth_error (Isolation.vm_vcpus m) j = Some c ->
  tracks pm e m (put_vm e i) -> tracks vc e c (put_vcpu e i m j) ->
  len (Isolation.Context_X (Isolation.vcpu_ctx c)) = 31 -> 0 <= Isolation.MMIORead_Reg read <= 31 -> len ex = 7 ->
  exists b e', Isolation.Engine_shadowMMIO root pm vc ex read isRead e tr = Ok b e' tr /\
    shadow_inv e' /\ (shadow_store e e' \/ vcpu_store e e') /\ vcpu_kept e e' i j /\ (runs_ok e -> runs_ok e').
Proof.
  intros e tr i m j c pm vc ex read isRead Hinv Hn Hc Hpm Hvc HX Hreg Hex.
  assert (Hsame : shadow_inv e /\ (shadow_store e e \/ vcpu_store e e) /\ vcpu_kept e e i j /\ (runs_ok e -> runs_ok e))
    by (split; [exact Hinv|split; [left; left; reflexivity|split; [apply vcpu_kept_refl|exact (fun H => H)]]]).
  pose proof (shadow_of e i m Hinv Hn) as Hsh. pose proof Hsh as (Hregs & _).
  assert (Hirq : len (Isolation.Context_IRQ (Isolation.vcpu_ctx c)) = 16).
  { destruct Hinv as [[_ Hvm] _]. rewrite Forall_forall in Hvm.
    pose proof (Hvm m (nth_error_In _ _ Hn)) as (_ & _ & Hall). rewrite Forall_forall in Hall.
    exact (Hall c (nth_error_In _ _ Hc)). }
  pose proof (idx_in_range ex 1 e tr ltac:(lia)) as (ipa & Hipa).
  pose proof (idx_in_range ex 2 e tr ltac:(lia)) as (access & Hacc).
  pose proof (idx_in_range ex 3 e tr ltac:(lia)) as (byte & Hbyte).
  unfold Isolation.Engine_shadowMMIO. step_by Hipa. step_by Hacc.
  destruct (_ >? Isolation.shadowAccessMax).
  { eexists _, _. split; [reflexivity|exact Hsame]. }
  step_by (deref_tracks _ _ _ _ tr Hpm).
  match goal with |- context [loop 4 ?cnd ?b ?po 0] =>
  destruct (loop_spec 4 cnd b po
    (fun k st tr' => st = e /\ tr' = tr /\ 0 <= k <= 4)
    (fun _ st tr' => tr' = tr /\ shadow_inv st /\ (shadow_store e st \/ vcpu_store e st) /\ vcpu_kept e st i j /\
       (runs_ok e -> runs_ok st))
    (fun k => Z.to_nat (4 - k))) with (l := 0) (s := e) (tr := tr) as (jr & s' & tr' & Hj & -> & Hq) end.
  - intros k st tr' (-> & -> & Hk). exists (k <? 4). split; [reflexivity|]. split.
    + intros H. apply Z.ltb_lt in H. lia.
    + intros _. split; [reflexivity|exact Hsame].
  - intros k st tr' (-> & -> & Hk) Hcnd. injection Hcnd as Hcnd. apply Z.ltb_lt in Hcnd.
    pose proof (idx_in_range (Isolation.shadowState_regs (Isolation.vm_shadow m)) k e tr ltac:(lia)) as (r & Hr).
    step_by Hr.
    destruct (_ || _ || _).
    { eexists _, _, _. split; [reflexivity|]. eexists. split; [reflexivity|].
      split; [repeat split; lia|]. apply Z2Nat.inj_lt; lia. }
    destruct (isRead && _).
    + destruct (Z.eqb_spec (Isolation.MMIORead_Reg read) Isolation.xzr) as [Ex|Ex]; cbn [negb].
      * step. eexists _, _, _. split; [reflexivity|]. split; [reflexivity|exact Hsame].
      * unfold Isolation.xzr in Ex.
        pose proof (MMIORead_value_ok e tr read (shr (Isolation.shadowReg_value r)
                    (wrapu 64 (8 * wrapu 64 (ipa - Isolation.shadowReg_ipa r))))) as (w & Hw).
        pose proof (pfield_tracks vc Isolation.vcpu_ctx Isolation.set_vcpu_ctx e c _ tr Hvc ltac:(field_laws))
          as (q1 & Hq1 & Ht1).
        pose proof (pfield_tracks q1 Isolation.Context_X Isolation.set_Context_X e _ _ tr Ht1 ltac:(field_laws))
          as (q2 & Hq2 & Ht2).
        pose proof (pindex_tracks q2 e _ _ (Isolation.MMIORead_Reg read) tr Ht2 ltac:(lia)) as (q3 & x & Hq3 & _ & Ht3).
        erewrite bind_ok; [|step_by Hw; step_by Hq1; step_by Hq2; step_by Hq3; step_by (store_tracks _ _ _ _ w tr Ht3); reflexivity].
        cbv beta iota zeta.
        eexists _, _, _. split; [reflexivity|]. split; [reflexivity|]. split.
        -- apply shadow_inv_put_vcpu; [exact Hinv|exact Hn|]. exact Hirq.
        -- split; [right; right; do 4 eexists; split; [exact Hn|reflexivity]|].
           split; [apply (vcpu_kept_put e i m j c _ Hn Hc); [reflexivity|reflexivity|reflexivity|];
             unfold len; cbn; rewrite replace_nth_length; reflexivity|].
           intros Hro. apply (runs_ok_put_vcpu e i m j _ Hro Hn ltac:(apply nth_error_Some; congruence)).
           intros _ _ Hj. rewrite (nth_error_nth _ _ _ Hc) in Hj. apply (ready_kept _ _ c _ Hj); [|reflexivity|reflexivity].
           apply step_ctx. unfold len. cbn. rewrite replace_nth_length. exact (fun H => H).
    + destruct (_ && _ && _).
      * pose proof (pfield_tracks pm Isolation.vm_shadow Isolation.set_vm_shadow e m _ tr Hpm ltac:(field_laws))
          as (qs & Hqs & Hts).
        step_by Hqs. step_by Hbyte.
        pose proof (append_tracks e tr qs _ _ (wrapu 8 byte) Hts Hsh
          ltac:(unfold wrapu; apply Z.mod_pos_bound; lia)) as (ok & sh' & [[Ha Hok'] | Ha]).
        -- step_by Ha. eexists _, _, _. split; [reflexivity|]. split; [reflexivity|]. split.
           ++ apply shadow_inv_put with (i := i); [exact Hinv|exact Hn|exact Hok'].
           ++ split; [left; right; do 3 eexists; split; [exact Hn|reflexivity]|].
              split; [exact (vcpu_kept_shadow e i m _ j Hn)|].
              intros Hro. apply (runs_ok_put_vm e i m _ Hro Hn); [destruct m; reflexivity|destruct m; reflexivity|].
              intros _ k0 _ Hk0. destruct m; exact Hk0.
        -- step_by Ha. eexists _, _, _. split; [reflexivity|]. split; [reflexivity|exact Hsame].
      * eexists _, _, _. split; [reflexivity|]. split; [reflexivity|exact Hsame].
  - repeat split; lia.
  - cbn. lia.
  - step_by Hj. destruct jr; eexists _, _; (split; [reflexivity|exact Hq]).
Qed.

(** ** The other calls that write a VM slot keep [shadow_inv] *)

Lemma shadow_inv_vcpu_store : forall e e', shadow_inv e -> vcpus_ok e' -> vcpu_store e e' -> shadow_inv e'.
Proof.
  intros e e' [Hv Hall] Hv' [-> | (i & m & j & c & Hn & ->)]; [split; assumption|].
  split; [exact Hv'|]. unfold put_vcpu, put_vm. destruct e; cbn in *. apply Forall_replace; [exact Hall|].
  rewrite Forall_forall in Hall. destruct m; exact (Hall _ (nth_error_In _ _ Hn)).
Qed.

(** VCPU_INIT keeps [shadow_inv] (and has no failure outcome,
    [CodeVCPUInit.VCPUInit_no_failure]): Engine.VCPUInit writes a vCPU,
    never a VM's shadow state. *)
Theorem VCPUInit_shadow_inv : forall e tr id v entry arg,
  shadow_inv e -> 0 <= id < 2 ^ 64 -> 0 <= v < 2 ^ 64 ->
  exists st e', Isolation.Engine_VCPUInit root id v entry arg e tr = Ok st e' tr /\ shadow_inv e'.
Proof.
  intros e tr id v entry arg Hinv Hid Hv.
  pose proof (VCPUInit_no_failure e tr id v entry arg (proj1 Hinv) Hid Hv) as (st & e' & H & Hv' & Hs & _).
  exists st, e'. split; [exact H|]. exact (shadow_inv_vcpu_store e e' Hinv Hv' Hs).
Qed.

(** VCPU_IRQ keeps [shadow_inv] (and has no failure outcome,
    [CodeVCPU.VCPUIRQ_no_failure]). *)
Theorem VCPUIRQ_shadow_inv : forall e tr id v intid level,
  shadow_inv e -> 0 <= id < 2 ^ 64 -> 0 <= v < 2 ^ 64 -> 0 <= intid < 2 ^ 64 ->
  exists st e', Isolation.Engine_VCPUIRQ root id v intid level e tr = Ok st e' tr /\ shadow_inv e'.
Proof.
  intros e tr id v intid level Hinv Hid Hv Hi.
  pose proof (VCPUIRQ_inv e tr id v intid level (proj1 Hinv) Hid Hv Hi) as (st & e' & H & Hv' & Hs & _).
  exists st, e'. split; [exact H|]. exact (shadow_inv_vcpu_store e e' Hinv Hv' Hs).
Qed.
