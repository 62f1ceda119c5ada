(** * VCPU_INIT and VCPU_IRQ of the translated code: no failure outcome,
      and the concrete invariant [vcpus_ok] is preserved *)
From Coq Require Import ZArith Lia List Bool.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodePlace CodeTrack CodeVCPU.
Import ListNotations.
Open Scope Z_scope.

(** The memory after a store into VM slot [i] of [e]. *)
Definition put_vm (e : Isolation.Engine) (i : nat) (m : Isolation.vm) : Isolation.Engine :=
  Isolation.set_Engine_vms (replace_nth i m (Isolation.Engine_vms e)) e.

(** No live VM has vmid [id]. *)
Definition no_live (e : Isolation.Engine) (id : Z) : Prop :=
  ~ exists m, 1 <= id <= len (Isolation.Engine_vms e) /\
      nth_error (Isolation.Engine_vms e) (Z.to_nat (id - 1)) = Some m /\ Isolation.vm_live m = true.

Lemma liveVM_tracks : forall e tr id, vcpus_ok e -> 0 <= id < 2 ^ 64 ->
  exists p, Isolation.Engine_liveVM root id e tr = Ok p e tr /\
  ((p = Nil /\ no_live e id) \/ exists m, 1 <= id <= len (Isolation.Engine_vms e) /\
     nth_error (Isolation.Engine_vms e) (Z.to_nat (id - 1)) = Some m /\ vm_ok m /\
     tracks p e m (put_vm e (Z.to_nat (id - 1))) /\ Isolation.vm_live m = true).
Proof.
  intros e tr id [Hlen Hall] Hid.
  unfold Isolation.Engine_liveVM, bind, ret, wrapu. cbn [deref root].
  assert (Hl0 : 0 <= len (Isolation.Engine_vms e)) by (unfold len; lia).
  destruct (Z.eqb_spec id 0) as [H0|H0]; cbv beta iota.
  { eexists; split; [reflexivity|left; split; [reflexivity|intros (m & Hr & _); lia]]. }
  rewrite (Z.mod_small (len (Isolation.Engine_vms e))) by lia.
  destruct (id >? len (Isolation.Engine_vms e)) eqn:Hg; cbv beta iota.
  { eexists; split; [reflexivity|left; split; [reflexivity|intros (m & Hr & _)]].
    rewrite Z.gtb_ltb, Z.ltb_lt in Hg. lia. }
  rewrite Z.gtb_ltb, Z.ltb_ge in Hg.
  rewrite !(Z.mod_small (id - 1)) by lia.
  destruct (pfield_tracks root Isolation.Engine_vms Isolation.set_Engine_vms e e (fun b => b) tr
              (tracks_root e) ltac:(field_laws)) as (q0 & Hq0 & Hg0).
  assert (Hr : 0 <= id - 1 < len (Isolation.Engine_vms e)) by lia.
  destruct (pindex_tracks q0 e (Isolation.Engine_vms e) _ (id - 1) tr Hg0 Hr) as (q & m & Hq & Hn & Hgq).
  rewrite (idx_nth (Isolation.Engine_vms e) (id - 1) m e tr ltac:(lia) Hn). cbv beta iota.
  destruct (Isolation.vm_live m) eqn:Hlv; cbv beta iota delta [negb].
  2:{ eexists; split; [reflexivity | left; split; [reflexivity|]].
      intros (m' & _ & Hn' & Hl'). rewrite Hn in Hn'. injection Hn' as <-. congruence. }
  rewrite Hq0. cbv beta iota. rewrite Hq.
  eexists; split; [reflexivity|]. right. exists m. split; [lia|]. split; [exact Hn|]. split.
  - rewrite Forall_forall in Hall. apply Hall. eapply nth_error_In. exact Hn.
  - split; [exact Hgq|exact Hlv].
Qed.

(** The memory after a store into vCPU [j] of the VM [m] in slot [i]. *)
Definition put_vcpu (e : Isolation.Engine) (i : nat) (m : Isolation.vm) (j : nat) (c : Isolation.vcpu) :=
  put_vm e i (Isolation.set_vm_vcpus (replace_nth j c (Isolation.vm_vcpus m)) m).

(** VM [id] has no live VM with a vCPU [v]. *)
Definition no_vcpu (e : Isolation.Engine) (id v : Z) : Prop :=
  ~ exists m, 1 <= id <= len (Isolation.Engine_vms e) /\
      nth_error (Isolation.Engine_vms e) (Z.to_nat (id - 1)) = Some m /\ Isolation.vm_live m = true /\
      0 <= v < Isolation.vm_nvcpu m.

Lemma vcpuOf_tracks : forall e tr id v, vcpus_ok e -> 0 <= id < 2 ^ 64 -> 0 <= v < 2 ^ 64 ->
  exists pm vc, Isolation.Engine_vcpuOf root id v e tr = Ok (pm, vc) e tr /\
  ((vc = Nil /\ no_vcpu e id v) \/ exists m c, 1 <= id <= len (Isolation.Engine_vms e) /\
     nth_error (Isolation.Engine_vms e) (Z.to_nat (id - 1)) = Some m /\ vm_ok m /\
     0 <= v < Isolation.vm_nvcpu m /\ nth_error (Isolation.vm_vcpus m) (Z.to_nat v) = Some c /\
     deref pm e tr = Ok m e tr /\
     tracks vc e c (put_vcpu e (Z.to_nat (id - 1)) m (Z.to_nat v)) /\ Isolation.vm_live m = true).
Proof.
  intros e tr id v Hok Hid Hv.
  destruct (liveVM_tracks e tr id Hok Hid) as (p & Hp & [[-> Hno] | (m & Hr & Hn & Hm & Htm & Hlv)]);
    unfold Isolation.Engine_vcpuOf, bind at 1; rewrite Hp; cbv beta iota.
  - unfold bind, ret. cbn [is_nil]. cbv beta iota.
    eexists _, _. split; [reflexivity | left; split; [reflexivity|]].
    intros (m & A & B & C & _). apply Hno. exists m. auto.
  - assert (Hnil : is_nil p = false) by (destruct Htm as (ld & st & -> & _); reflexivity).
    unfold bind, ret. rewrite Hnil. cbv beta iota.
    rewrite (deref_tracks _ _ _ _ _ Htm). cbv beta iota.
    pose proof Hm as (Hn0 & Hnl & Hall).
    unfold wrapu. rewrite (Z.mod_small (Isolation.vm_nvcpu m)) by lia.
    destruct (v >=? Isolation.vm_nvcpu m) eqn:Hge; cbv beta iota.
    { eexists _, _; split; [reflexivity | left; split; [reflexivity|]].
      intros (m' & _ & Hn' & _ & Hv'). rewrite Hn in Hn'. injection Hn' as <-.
      rewrite Z.geb_leb, Z.leb_le in Hge. lia. }
    rewrite Z.geb_leb, Z.leb_gt in Hge.
    destruct (pfield_tracks p Isolation.vm_vcpus Isolation.set_vm_vcpus e m _ tr Htm ltac:(field_laws))
      as (q0 & Hq0 & Hg0).
    destruct (pindex_tracks q0 e (Isolation.vm_vcpus m) _ v tr Hg0 ltac:(lia)) as (q & c & Hq & Hc & Hgq).
    rewrite Hq0. cbv beta iota. rewrite Hq.
    eexists _, _; split; [reflexivity|]. right. exists m, c.
    repeat split; try lia; auto.
    apply deref_tracks with (put := put_vm e (Z.to_nat (id - 1))). exact Htm.
Qed.

(** Replacing a VM slot by one that is [vm_ok] keeps [vcpus_ok]. *)
Lemma vcpus_ok_put_vm : forall e i m, vcpus_ok e -> vm_ok m -> vcpus_ok (put_vm e i m).
Proof.
  intros e i m [Hlen Hall] Hm. unfold put_vm, vcpus_ok. destruct e; cbn in *.
  unfold len in *. rewrite replace_nth_length. split; [exact Hlen|].
  rewrite Forall_forall in *. intros x Hx.
  apply In_nth_error in Hx as [k Hk].
  destruct (Nat.eq_dec i k) as [<-|Hne].
  - destruct (Nat.lt_ge_cases i (length Engine_vms)) as [Hlt|Hge].
    + rewrite nth_replace_nth in Hk by exact Hlt. congruence.
    + exfalso. assert (nth_error (replace_nth i m Engine_vms) i = None)
        by (apply nth_error_None; rewrite replace_nth_length; lia). congruence.
  - rewrite nth_replace_nth_other in Hk by exact Hne. apply Hall. eapply nth_error_In. exact Hk.
Qed.

(** Replacing a vCPU of a VM by one with 16 words of interrupt lines keeps
    [vm_ok]. *)
Lemma vm_ok_put_vcpu : forall m j c, vm_ok m ->
  len (Isolation.Context_IRQ (Isolation.vcpu_ctx c)) = 16 ->
  vm_ok (Isolation.set_vm_vcpus (replace_nth j c (Isolation.vm_vcpus m)) m).
Proof.
  intros m j c (Hn & Hl & Hall) Hc. destruct m; cbn in *. unfold vm_ok; cbn.
  unfold len in *. rewrite replace_nth_length. split; [exact Hn|]. split; [exact Hl|].
  rewrite Forall_forall in *. intros x Hx.
  apply In_nth_error in Hx as [k Hk].
  destruct (Nat.eq_dec j k) as [<-|Hne].
  - destruct (Nat.lt_ge_cases j (length vm_vcpus)) as [Hlt|Hge].
    + rewrite nth_replace_nth in Hk by exact Hlt. congruence.
    + exfalso. assert (nth_error (replace_nth j c vm_vcpus) j = None)
        by (apply nth_error_None; rewrite replace_nth_length; lia). congruence.
  - rewrite nth_replace_nth_other in Hk by exact Hne. apply Hall. eapply nth_error_In. exact Hk.
Qed.

(** [e'] is [e], or [e] with one vCPU of one VM slot replaced: all a call
    that only writes a vCPU can do. *)
Definition vcpu_store (e e' : Isolation.Engine) : Prop :=
  e' = e \/ exists i m j c, nth_error (Isolation.Engine_vms e) i = Some m /\ e' = put_vcpu e i m j c.

(** The context VCPU_INIT leaves: registers zero but x0 = arg, at entry in
    EL1h, fresh, with the interrupt lines it had. *)
Definition reset_ctx (ctx : Isolation.Context) vmid vcpu entry arg : Isolation.Context :=
  Isolation.set_Context_X (replace_nth 0 arg (repeat 0 31))
    (Isolation.mk_Context (repeat 0 31) entry Isolation.PStateEL1h vmid vcpu true (Isolation.Context_IRQ ctx)
       Isolation.zero_Injection 0 (repeat 0 32)).

Lemma reset_tracks : forall {S} (q : ptr S Isolation.Context) s ctx put vmid vcpu entry arg tr,
  tracks q s ctx put ->
  Isolation.Context_reset q vmid vcpu entry arg s tr = Ok tt (put (reset_ctx ctx vmid vcpu entry arg)) tr.
Proof.
  intros S q s ctx put vmid vcpu entry arg tr Ht.
  unfold Isolation.Context_reset, bind. rewrite (deref_tracks _ _ _ _ _ Ht). cbv beta iota zeta.
  change (negb false || negb (Isolation.Context_PC ctx =? entry))%bool with true.
  rewrite (store_tracks _ _ _ _ _ _ Ht). cbv beta iota.
  set (c0 := Isolation.mk_Context (repeat 0 31) entry Isolation.PStateEL1h vmid vcpu true (Isolation.Context_IRQ ctx)
       Isolation.zero_Injection 0 (repeat 0 32)).
  pose proof (tracks_put q s ctx put c0 Ht) as H1.
  destruct (pfield_tracks q Isolation.Context_X Isolation.set_Context_X (put c0) c0 put tr H1 ltac:(field_laws))
    as (q1 & Hq1 & Ht1).
  rewrite Hq1. cbv beta iota.
  assert (Hl : 0 <= 0 < len (Isolation.Context_X c0)) by (unfold len; cbn; lia).
  destruct (pindex_tracks q1 (put c0) (Isolation.Context_X c0) _ 0 tr Ht1 Hl) as (q2 & x & Hq2 & _ & Ht2).
  rewrite Hq2. cbv beta iota. rewrite (store_tracks _ _ _ _ _ _ Ht2). reflexivity.
Qed.

(** The vCPU VCPU_INIT leaves: On, its context reset, no reply owed. *)
Definition init_vcpu (c : Isolation.vcpu) (id v entry arg : Z) : Isolation.vcpu :=
  Isolation.set_vcpu_pend Isolation.pendNone (Isolation.set_vcpu_state Isolation.VCPUOn
    (Isolation.set_vcpu_ctx (reset_ctx (Isolation.vcpu_ctx c) (wrapu 16 id) (wrapu 16 v) entry arg) c)).

(** Which outcome VCPU_INIT gives, and why: INVALID_PARAMETERS (no live
    VM with that vCPU, or an entry not 4-byte aligned) or DENIED (the VM
    has run), the engine unchanged; or SUCCESS with the vCPU replaced by
    [init_vcpu] of it. *)
Definition init_outcome (e e' : Isolation.Engine) (st id v entry arg : Z) : Prop :=
  (e' = e /\
   ((st = Abi.InvalidParameters /\ (no_vcpu e id v \/ Z.land entry 3 <> 0)) \/
    (st = Abi.Denied /\ exists m, nth_error (Isolation.Engine_vms e) (Z.to_nat (id - 1)) = Some m /\
       Isolation.vm_live m = true /\ 1 <= id /\ 0 <= v < Isolation.vm_nvcpu m /\ Z.land entry 3 = 0 /\
       Isolation.vm_hasRun m = true))) \/
  (st = Abi.Success /\ exists m c, nth_error (Isolation.Engine_vms e) (Z.to_nat (id - 1)) = Some m /\
     Isolation.vm_live m = true /\ 1 <= id /\ 0 <= v < Isolation.vm_nvcpu m /\ Z.land entry 3 = 0 /\
     Isolation.vm_hasRun m = false /\ nth_error (Isolation.vm_vcpus m) (Z.to_nat v) = Some c /\
     e' = put_vcpu e (Z.to_nat (id - 1)) m (Z.to_nat v) (init_vcpu c id v entry arg)).

(** VCPU_INIT has no failure outcome and keeps [vcpus_ok]: from any engine
    whose VM slots keep their vCPU counts within their vCPUs and whose
    vCPUs have their 16 words of interrupt lines, for any 64-bit vmid and
    vCPU index and any entry and argument, it returns a status, records no
    platform call, and leaves an engine with the same property; the
    outcome is [init_outcome]. *)
Theorem VCPUInit_no_failure : forall e tr id v entry arg,
  vcpus_ok e -> 0 <= id < 2 ^ 64 -> 0 <= v < 2 ^ 64 ->
  exists st e', Isolation.Engine_VCPUInit root id v entry arg e tr = Ok st e' tr /\ vcpus_ok e' /\ vcpu_store e e' /\
    init_outcome e e' st id v entry arg.
Proof.
  intros e tr id v entry arg Hok Hid Hv.
  destruct (vcpuOf_tracks e tr id v Hok Hid Hv)
    as (pm & vc & Hvc & [[-> Hno] | (m & c & Hr & Hn & Hm & Hv' & Hc & Hpm & Ht & Hlv)]);
    unfold Isolation.Engine_VCPUInit, bind at 1; rewrite Hvc; cbv beta iota.
  - cbn [is_nil orb]. unfold ret. eexists _, _. split; [reflexivity|]. split; [exact Hok|].
    split; [left; reflexivity|]. left. split; [reflexivity|]. left. split; [reflexivity|left; exact Hno].
  - assert (Hnil : is_nil vc = false) by (destruct Ht as (ld & st & -> & _); reflexivity).
    rewrite Hnil. cbn [orb].
    destruct (negb (Z.land entry 3 =? 0)) eqn:He.
    { unfold ret; eexists _, _; split; [reflexivity|]; split; [exact Hok|]. split; [left; reflexivity|].
      left. split; [reflexivity|]. left. split; [reflexivity|right].
      apply negb_true_iff, Z.eqb_neq in He. exact He. }
    apply negb_false_iff, Z.eqb_eq in He.
    unfold bind at 1. rewrite Hpm. cbv beta iota.
    destruct (Isolation.vm_hasRun m) eqn:Hhr.
    { unfold ret; eexists _, _; split; [reflexivity|]; split; [exact Hok|]. split; [left; reflexivity|].
      left. split; [reflexivity|]. right. split; [reflexivity|]. exists m. repeat split; assumption || lia. }
    set (put := put_vcpu e (Z.to_nat (id - 1)) m (Z.to_nat v)) in *.
    destruct (pfield_tracks vc Isolation.vcpu_ctx Isolation.set_vcpu_ctx e c put tr Ht ltac:(field_laws))
      as (q & Hq & Htq).
    unfold bind at 1. rewrite Hq. cbv beta iota.
    unfold bind at 1. rewrite (reset_tracks _ _ _ _ _ _ _ _ _ Htq). cbv beta iota.
    set (c1 := Isolation.set_vcpu_ctx (reset_ctx (Isolation.vcpu_ctx c) (wrapu 16 id) (wrapu 16 v) entry arg) c).
    pose proof (tracks_put vc e c put c1 Ht) as Ht1.
    destruct (pfield_tracks vc Isolation.vcpu_state Isolation.set_vcpu_state (put c1) c1 put tr Ht1 ltac:(field_laws))
      as (qs & Hqs & Hts).
    unfold bind at 1. rewrite Hqs. cbv beta iota.
    unfold bind at 1. rewrite (store_tracks _ _ _ _ _ _ Hts). cbv beta iota.
    set (c2 := Isolation.set_vcpu_state Isolation.VCPUOn c1).
    pose proof (tracks_put vc e c put c2 Ht) as Ht2.
    destruct (pfield_tracks vc Isolation.vcpu_pend Isolation.set_vcpu_pend (put c2) c2 put tr Ht2 ltac:(field_laws))
      as (qp & Hqp & Htp).
    unfold bind at 1. rewrite Hqp. cbv beta iota.
    unfold bind at 1. rewrite (store_tracks _ _ _ _ _ _ Htp). cbv beta iota.
    unfold ret. eexists _, _. split; [reflexivity|]. split; [|split].
    + unfold put, put_vcpu. apply vcpus_ok_put_vm; [exact Hok|]. apply vm_ok_put_vcpu; [exact Hm|].
      destruct Hm as (_ & _ & Hall). rewrite Forall_forall in Hall.
      exact (Hall c (nth_error_In _ _ Hc)).
    + right. do 4 eexists. split; [exact Hn|reflexivity].
    + right. split; [reflexivity|]. exists m, c. repeat (split; [assumption || lia|]). reflexivity.
Qed.

(** The vCPU [c] with the word of line [intid] replaced by [f] of it. *)
Definition set_line (c : Isolation.vcpu) (intid : Z) (f : Z -> Z) : Isolation.vcpu :=
  let ctx := Isolation.vcpu_ctx c in
  let ws := Isolation.Context_IRQ ctx in
  let k := Z.to_nat (intid / 64) in
  Isolation.set_vcpu_ctx (Isolation.set_Context_IRQ (replace_nth k (f (nth k ws 0)) ws) ctx) c.

(** Setting a line of a tracked vCPU in place: what each branch of
    VCPU_IRQ does ([set_line]); the vCPU keeps its 16 words of lines. *)
Lemma set_line_tracks : forall e tr vc c put intid f,
  tracks vc e c put -> len (Isolation.Context_IRQ (Isolation.vcpu_ctx c)) = 16 -> 0 <= intid < 1020 ->
  ((let! t'5 := deref vc in
   let! t'6 := divu intid 64 in
   let! t'7 := idx (Isolation.Context_IRQ (Isolation.vcpu_ctx t'5)) t'6 in
   let! t'8 := pfield vc Isolation.vcpu_ctx Isolation.set_vcpu_ctx in
   let! t'9 := pfield t'8 Isolation.Context_IRQ Isolation.set_Context_IRQ in
   let! t'10 := divu intid 64 in
   let! t'11 := pindex t'9 t'10 in
   let! t'12 := store t'11 (f t'7) in
   ret tt) : M Isolation.Engine unit) e tr = Ok tt (put (set_line c intid f)) tr /\
  len (Isolation.Context_IRQ (Isolation.vcpu_ctx (set_line c intid f))) = 16.
Proof.
  intros e tr vc c put intid f Ht Hl Hi.
  assert (Hw : 0 <= intid / 64 < 16) by (split; [apply Z.div_pos | apply Z.div_lt_upper_bound]; lia).
  destruct (nth_error (Isolation.Context_IRQ (Isolation.vcpu_ctx c)) (Z.to_nat (intid / 64))) as [w|] eqn:Hnw;
    [|apply nth_error_None in Hnw; unfold len in Hl; lia].
  pose proof (idx_nth _ (intid / 64) w e tr ltac:(lia) Hnw) as Hw'.
  destruct (pfield_tracks vc Isolation.vcpu_ctx Isolation.set_vcpu_ctx e c put tr Ht ltac:(field_laws))
    as (q1 & Hq1 & Ht1).
  destruct (pfield_tracks q1 Isolation.Context_IRQ Isolation.set_Context_IRQ e _ _ tr Ht1 ltac:(field_laws))
    as (q2 & Hq2 & Ht2).
  destruct (pindex_tracks q2 e _ _ (intid / 64) tr Ht2 ltac:(lia)) as (q3 & w' & Hq3 & _ & Ht3).
  split.
  - unfold bind, ret.
    rewrite (deref_tracks _ _ _ _ _ Ht). rewrite divu64. rewrite Hw'. rewrite Hq1. rewrite Hq2.
    rewrite divu64. rewrite Hq3. rewrite (store_tracks _ _ _ _ _ _ Ht3).
    unfold set_line. cbv zeta. rewrite (nth_error_nth _ _ 0 Hnw). reflexivity.
  - unfold set_line. cbn. unfold len in *. rewrite replace_nth_length. exact Hl.
Qed.

(** The vCPU VCPU_IRQ leaves: the line raised, lowered (not an SGI), or
    as it was (an SGI lowered: the latch stays). *)
Definition line_vcpu (c : Isolation.vcpu) (intid level : Z) : Isolation.vcpu :=
  if level =? 1 then set_line c intid (fun w => Z.lor w (shl 64 false 1 (intid mod 64)))
  else if intid >=? Isolation.sgiLines then set_line c intid (fun w => andnot w (shl 64 false 1 (intid mod 64)))
  else c.

(** Which outcome VCPU_IRQ gives, and why: INVALID_PARAMETERS (no live VM
    with that vCPU, a line past the last, or a level other than 0 or 1),
    the engine unchanged; or SUCCESS with the vCPU replaced by
    [line_vcpu] of it. *)
Definition irq_outcome (e e' : Isolation.Engine) (st id v intid level : Z) : Prop :=
  (e' = e /\ st = Abi.InvalidParameters /\ (no_vcpu e id v \/ 1020 <= intid \/ 1 < level)) \/
  (st = Abi.Success /\ exists m c, nth_error (Isolation.Engine_vms e) (Z.to_nat (id - 1)) = Some m /\
     Isolation.vm_live m = true /\ 1 <= id /\ 0 <= v < Isolation.vm_nvcpu m /\
     nth_error (Isolation.vm_vcpus m) (Z.to_nat v) = Some c /\ intid < 1020 /\ level <= 1 /\
     len (Isolation.Context_IRQ (Isolation.vcpu_ctx c)) = 16 /\
     e' = put_vcpu e (Z.to_nat (id - 1)) m (Z.to_nat v) (line_vcpu c intid level)).

(** Storing a vCPU as it was changes nothing. *)
Lemma put_vcpu_same : forall e i m j c, nth_error (Isolation.Engine_vms e) i = Some m ->
  nth_error (Isolation.vm_vcpus m) j = Some c -> put_vcpu e i m j c = e.
Proof.
  intros e i m j c Hm Hc. unfold put_vcpu, put_vm. rewrite (replace_nth_same j c _ Hc).
  replace (Isolation.set_vm_vcpus (Isolation.vm_vcpus m) m) with m by (destruct m; reflexivity).
  rewrite (replace_nth_same i m _ Hm). destruct e. reflexivity.
Qed.

(** VCPU_IRQ keeps [vcpus_ok] (and has no failure outcome,
    [CodeVCPU.VCPUIRQ_no_failure]); the outcome is [irq_outcome]. *)
Theorem VCPUIRQ_inv : forall e tr id v intid level,
  vcpus_ok e -> 0 <= id < 2 ^ 64 -> 0 <= v < 2 ^ 64 -> 0 <= intid < 2 ^ 64 ->
  exists st e', Isolation.Engine_VCPUIRQ root id v intid level e tr = Ok st e' tr /\ vcpus_ok e' /\ vcpu_store e e' /\
    irq_outcome e e' st id v intid level.
Proof.
  intros e tr id v intid level Hok Hid Hv Hi.
  destruct (vcpuOf_tracks e tr id v Hok Hid Hv)
    as (pm & vc & Hvc & [[-> Hno] | (m & c & Hr & Hn & Hm & Hv' & Hc & Hpm & Ht & Hlv)]);
    unfold Isolation.Engine_VCPUIRQ, bind at 1; rewrite Hvc; cbv beta iota.
  - cbn [is_nil orb]. unfold ret. eexists _, _. split; [reflexivity|]. split; [exact Hok|].
    split; [left; reflexivity|]. left. split; [reflexivity|split; [reflexivity|left; exact Hno]].
  - assert (Hnil : is_nil vc = false) by (destruct Ht as (ld & st & -> & _); reflexivity).
    rewrite Hnil. cbn [orb].
    unfold Isolation.IRQLines.
    destruct (intid >=? 1020) eqn:Hc1; cbn [orb].
    { unfold ret. eexists _, _. split; [reflexivity|]. split; [exact Hok|]. split; [left; reflexivity|].
      left. split; [reflexivity|split; [reflexivity|right; left]]. rewrite Z.geb_le in Hc1. lia. }
    destruct (level >? 1) eqn:Hl1; cbn [orb].
    { unfold ret. eexists _, _. split; [reflexivity|]. split; [exact Hok|]. split; [left; reflexivity|].
      left. split; [reflexivity|split; [reflexivity|right; right]]. rewrite Z.gtb_lt in Hl1. exact Hl1. }
    rewrite Z.gtb_ltb, Z.ltb_ge in Hl1.
    rewrite Z.geb_leb, Z.leb_gt in Hc1.
    assert (Hirq : len (Isolation.Context_IRQ (Isolation.vcpu_ctx c)) = 16).
    { destruct Hm as (_ & _ & Hall). rewrite Forall_forall in Hall. exact (Hall c (nth_error_In _ _ Hc)). }
    assert (Hfin : forall c', len (Isolation.Context_IRQ (Isolation.vcpu_ctx c')) = 16 ->
              vcpus_ok (put_vcpu e (Z.to_nat (id - 1)) m (Z.to_nat v) c')).
    { intros c' Hc'. apply vcpus_ok_put_vm; [exact Hok|]. apply vm_ok_put_vcpu; [exact Hm|exact Hc']. }
    assert (Hout : irq_outcome e (put_vcpu e (Z.to_nat (id - 1)) m (Z.to_nat v) (line_vcpu c intid level))
                     Abi.Success id v intid level)
      by (right; split; [reflexivity|]; exists m, c; repeat (split; [assumption || lia|]); reflexivity).
    unfold bind at 1. rewrite modu64. cbv beta iota.
    destruct (level =? 1) eqn:El.
    + destruct (set_line_tracks e tr vc c _ intid (fun w => Z.lor w (shl 64 false 1 (intid mod 64))) Ht Hirq ltac:(lia))
        as (He & Hc'). unfold bind at 1. rewrite He. unfold ret. eexists _, _. split; [reflexivity|].
      split; [exact (Hfin _ Hc')|]. split; [right; do 4 eexists; split; [exact Hn|reflexivity]|].
      unfold line_vcpu in Hout. rewrite El in Hout. exact Hout.
    + destruct (intid >=? Isolation.sgiLines) eqn:Es.
      * destruct (set_line_tracks e tr vc c _ intid (fun w => andnot w (shl 64 false 1 (intid mod 64))) Ht Hirq ltac:(lia))
          as (He & Hc'). unfold bind at 1. rewrite He. unfold ret. eexists _, _. split; [reflexivity|].
        split; [exact (Hfin _ Hc')|]. split; [right; do 4 eexists; split; [exact Hn|reflexivity]|].
        unfold line_vcpu in Hout. rewrite El, Es in Hout. exact Hout.
      * unfold bind, ret. eexists _, _. split; [reflexivity|]. split; [exact Hok|]. split; [left; reflexivity|].
        unfold line_vcpu in Hout. rewrite El, Es, (put_vcpu_same e _ m _ c Hn Hc) in Hout. exact Hout.
Qed.
