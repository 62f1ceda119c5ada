(** * VCPU_IRQ of the translated code has no failure outcome *)
From Coq Require Import ZArith Lia List Bool.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodePlace.
Import ListNotations.
Open Scope Z_scope.

(** The concrete invariant: every VM slot uses at most the vCPUs it has,
    and every vCPU has its 16 words of interrupt lines. *)
Definition vm_ok (m : Isolation.vm) : Prop :=
  0 <= Isolation.vm_nvcpu m < 2 ^ 63 /\ Isolation.vm_nvcpu m <= len (Isolation.vm_vcpus m) /\
  Forall (fun c => len (Isolation.Context_IRQ (Isolation.vcpu_ctx c)) = 16) (Isolation.vm_vcpus m).

Definition vcpus_ok (e : Isolation.Engine) : Prop :=
  len (Isolation.Engine_vms e) < 2 ^ 64 /\ Forall vm_ok (Isolation.Engine_vms e).

Lemma idx_nth : forall {S A} (xs : list A) i x (s : S) tr,
  0 <= i -> nth_error xs (Z.to_nat i) = Some x -> idx xs i s tr = Ok x s tr.
Proof.
  intros S A xs i x s tr Hi Hn. unfold idx. destruct (Z.ltb_spec i 0); [lia|]. rewrite Hn. reflexivity.
Qed.

Lemma liveVM_spec : forall e tr id, vcpus_ok e -> 0 <= id < 2 ^ 64 ->
  exists p, Isolation.Engine_liveVM root id e tr = Ok p e tr /\
  (p = Nil \/ exists m, good p e m /\ vm_ok m).
Proof.
  intros e tr id [Hlen Hall] Hid.
  unfold Isolation.Engine_liveVM, bind, ret, wrapu. cbn [deref root].
  assert (Hl0 : 0 <= len (Isolation.Engine_vms e)) by (unfold len; lia).
  destruct (Z.eqb_spec id 0) as [H0|H0]; cbv beta iota.
  { eexists; split; [reflexivity|left; reflexivity]. }
  rewrite (Z.mod_small (len (Isolation.Engine_vms e))) by lia.
  destruct (id >? len (Isolation.Engine_vms e)) eqn:Hg; cbv beta iota.
  { eexists; split; [reflexivity|left; reflexivity]. }
  rewrite Z.gtb_ltb, Z.ltb_ge in Hg.
  rewrite !(Z.mod_small (id - 1)) by lia.
  destruct (pfield_good root Isolation.Engine_vms Isolation.set_Engine_vms e e tr (good_root e)) as (q0 & Hq0 & Hg0).
  assert (Hr : 0 <= id - 1 < len (Isolation.Engine_vms e)). { lia. }
  destruct (pindex_good q0 e (Isolation.Engine_vms e) (id - 1) tr Hg0 Hr) as (q & m & Hq & Hn & Hgq).
  rewrite (idx_nth (Isolation.Engine_vms e) (id - 1) m e tr ltac:(lia) Hn). cbv beta iota.
  destruct (Isolation.vm_live m); cbv beta iota delta [negb].
  2:{ eexists; split; [reflexivity | left; reflexivity]. }
  rewrite Hq0. cbv beta iota. rewrite Hq.
  eexists; split; [reflexivity|]. right. exists m. split; [exact Hgq|].
  rewrite Forall_forall in Hall. apply Hall. eapply nth_error_In. exact Hn.
Qed.

Lemma vcpuOf_spec : forall e tr id v, vcpus_ok e -> 0 <= id < 2 ^ 64 -> 0 <= v < 2 ^ 64 ->
  exists m vc, Isolation.Engine_vcpuOf root id v e tr = Ok (m, vc) e tr /\
  (vc = Nil \/ exists c, good vc e c /\ len (Isolation.Context_IRQ (Isolation.vcpu_ctx c)) = 16).
Proof.
  intros e tr id v Hok Hid Hv.
  destruct (liveVM_spec e tr id Hok Hid) as (p & Hp & [-> | (m & Hgm & Hm)]);
    unfold Isolation.Engine_vcpuOf, bind at 1; rewrite Hp; cbv beta iota.
  - unfold bind, ret. cbn [is_nil]. cbv beta iota.
    eexists _, _. split; [reflexivity | left; reflexivity].
  - assert (Hnil : is_nil p = false) by (destruct Hgm as (ld & st & -> & _); reflexivity).
    unfold bind, ret. rewrite Hnil. cbv beta iota.
    rewrite (deref_good _ _ _ _ Hgm). cbv beta iota.
    destruct Hm as (Hn0 & Hnl & Hall).
    unfold wrapu. rewrite (Z.mod_small (Isolation.vm_nvcpu m)) by lia.
    destruct (v >=? Isolation.vm_nvcpu m) eqn:Hge; cbv beta iota.
    { eexists _, _; split; [reflexivity | left; reflexivity]. }
    rewrite Z.geb_leb, Z.leb_gt in Hge.
    destruct (pfield_good p Isolation.vm_vcpus Isolation.set_vm_vcpus e m tr Hgm) as (q0 & Hq0 & Hg0).
    destruct (pindex_good q0 e (Isolation.vm_vcpus m) v tr Hg0 ltac:(lia)) as (q & c & Hq & Hn & Hgq).
    rewrite Hq0. cbv beta iota. rewrite Hq.
    eexists _, _; split; [reflexivity|]. right. exists c. split; [exact Hgq|].
    rewrite Forall_forall in Hall. apply Hall. eapply nth_error_In. exact Hn.
Qed.

Lemma divu64 : forall {S} (s : S) tr x, divu x 64 s tr = Ok (x / 64) s tr.
Proof. reflexivity. Qed.

Lemma modu64 : forall {S} (s : S) tr x, modu x 64 s tr = Ok (x mod 64) s tr.
Proof. reflexivity. Qed.

Lemma idx_in_range : forall {S A} (xs : list A) i (s : S) tr, 0 <= i < len xs ->
  exists x, idx xs i s tr = Ok x s tr.
Proof.
  intros S A xs i s tr Hi. destruct (nth_error xs (Z.to_nat i)) as [x|] eqn:Hn.
  - exists x. apply idx_nth; [lia | exact Hn].
  - apply nth_error_None in Hn. unfold len in Hi. lia.
Qed.

(** Setting a line of a vCPU in place: what each branch of VCPU_IRQ does. *)
Lemma set_line_ok : forall e tr vc c intid f,
  good vc e c -> len (Isolation.Context_IRQ (Isolation.vcpu_ctx c)) = 16 -> 0 <= intid < 1020 ->
  exists e',
  ((let! t'5 := deref vc in
   let! t'6 := divu intid 64 in
   let! t'7 := idx (Isolation.Context_IRQ (Isolation.vcpu_ctx t'5)) t'6 in
   let! t'8 := pfield vc Isolation.vcpu_ctx Isolation.set_vcpu_ctx in
   let! t'9 := pfield t'8 Isolation.Context_IRQ Isolation.set_Context_IRQ in
   let! t'10 := divu intid 64 in
   let! t'11 := pindex t'9 t'10 in
   let! t'12 := store t'11 (f t'7) in
   ret tt) : M Isolation.Engine unit) e tr = Ok tt e' tr.
Proof.
  intros e tr vc c intid f Hg Hl Hi.
  assert (Hw : 0 <= intid / 64 < 16) by (split; [apply Z.div_pos | apply Z.div_lt_upper_bound]; lia).
  destruct (idx_in_range (Isolation.Context_IRQ (Isolation.vcpu_ctx c)) (intid / 64) e tr ltac:(lia)) as (w & Hw').
  destruct (pfield_good vc Isolation.vcpu_ctx Isolation.set_vcpu_ctx e c tr Hg) as (q1 & Hq1 & Hg1).
  destruct (pfield_good q1 Isolation.Context_IRQ Isolation.set_Context_IRQ e _ tr Hg1) as (q2 & Hq2 & Hg2).
  destruct (pindex_good q2 e _ (intid / 64) tr Hg2 ltac:(lia)) as (q3 & w' & Hq3 & _ & Hg3).
  destruct (store_good q3 e w' (f w) tr Hg3) as (e' & Hs).
  exists e'. unfold bind, ret.
  rewrite (deref_good _ _ _ _ Hg). rewrite divu64. rewrite Hw'. rewrite Hq1. rewrite Hq2.
  rewrite divu64. rewrite Hq3. rewrite Hs. reflexivity.
Qed.

(** VCPU_IRQ has no failure outcome: from any engine whose VM slots keep
    their vCPU counts within their vCPUs and whose vCPUs have their 16
    words of interrupt lines, for any 64-bit arguments, it returns a status
    and records no platform call. *)
Theorem VCPUIRQ_no_failure : forall e tr id v intid level,
  vcpus_ok e -> 0 <= id < 2 ^ 64 -> 0 <= v < 2 ^ 64 -> 0 <= intid < 2 ^ 64 ->
  exists st e', Isolation.Engine_VCPUIRQ root id v intid level e tr = Ok st e' tr.
Proof.
  intros e tr id v intid level Hok Hid Hv Hi.
  destruct (vcpuOf_spec e tr id v Hok Hid Hv) as (m & vc & Hvc & [-> | (c & Hgc & Hirq)]);
    unfold Isolation.Engine_VCPUIRQ, bind at 1; rewrite Hvc; cbv beta iota.
  - cbn [is_nil orb]. unfold ret. eexists _, _. reflexivity.
  - assert (Hnil : is_nil vc = false) by (destruct Hgc as (ld & st & -> & _); reflexivity).
    rewrite Hnil. cbn [orb].
    unfold Isolation.IRQLines.
    destruct (intid >=? 1020) eqn:Hc; cbn [orb].
    { unfold ret. eexists _, _. reflexivity. }
    destruct (level >? 1); cbn [orb].
    { unfold ret. eexists _, _. reflexivity. }
    rewrite Z.geb_leb, Z.leb_gt in Hc.
    unfold bind at 1. rewrite modu64. cbv beta iota.
    destruct (level =? 1).
    + destruct (set_line_ok e tr vc c intid (fun w => Z.lor w (shl 64 false 1 (intid mod 64))) Hgc Hirq ltac:(lia))
        as (e' & He). unfold bind at 1. rewrite He. unfold ret. eexists _, _. reflexivity.
    + destruct (intid >=? Isolation.sgiLines).
      * destruct (set_line_ok e tr vc c intid (fun w => andnot w (shl 64 false 1 (intid mod 64))) Hgc Hirq ltac:(lia))
          as (e' & He). unfold bind at 1. rewrite He. unfold ret. eexists _, _. reflexivity.
      * unfold bind, ret. eexists _, _. reflexivity.
Qed.
