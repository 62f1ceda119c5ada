(** * A guest's trapped call, from its registers to its exit record

    Theorems about proofs/code/Isolation.v, the translation of
    isolation/vm.go ([guestTrapCall], which performs the SMCCC call a
    vCPU trapped with on its own registers). Proved here:
    - the place of vCPU [j] of VM [id] reads and writes that vCPU in every
      engine where both indices are in range ([vcpu_lens]); two stores
      through it are the last one ([vc_set_twice]);
    - so a trapped call of a vCPU marked On (as VCPU_RUN marks it) of a
      live VM of at most 256 vCPUs, whose context names that vCPU and
      holds 31 registers of 64 bits, from [refine_inv], never fails: it
      writes the call's x0..x3 back, marks a call forwarded to the host
      pending, returns an exit record of seven words, keeps [refine_inv],
      [Inv] and the platform, and leaves the caller a vCPU of a live VM
      with as many vCPUs whose context names it, and every vCPU ready
      to run if each was ([guestTrapCall_keeps], [run_post]). *)
From Coq Require Import ZArith Lia List Bool.
From Bulkhead.Spec Require Import State Spec.
From Bulkhead.Proofs Require Import Invariants.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodeLens CodeTrack CodeVCPU CodeVCPUInit CodeVMCreate CodeShadow CodeAbs
  CodeVMCreateRefine CodeVMCreateInv CodeVCPURefine CodeRefineInv CodeModelThms CodeVMDestroy
  CodeGuestDispatch CodeGuestPSCI CodeGuestCall CodeReady CodeHostLevel CodeExitRegs.
Import ListNotations.
Open Scope Z_scope.

(** ** The place of a vCPU *)

Definition vc_valid (id j : Z) (s : Isolation.Engine) : Prop :=
  vm_valid id s /\ 0 <= j < len (Isolation.vm_vcpus (nth (Z.to_nat (id - 1)) (Isolation.Engine_vms s) Isolation.zero_vm)).

Definition vc_get (id j : Z) (s : Isolation.Engine) : Isolation.vcpu :=
  nth (Z.to_nat j) (Isolation.vm_vcpus (nth (Z.to_nat (id - 1)) (Isolation.Engine_vms s) Isolation.zero_vm))
    Isolation.zero_vcpu.

Definition vc_set (id j : Z) (b : Isolation.vcpu) (s : Isolation.Engine) : Isolation.Engine :=
  put_vcpu s (Z.to_nat (id - 1)) (nth (Z.to_nat (id - 1)) (Isolation.Engine_vms s) Isolation.zero_vm) (Z.to_nat j) b.

(** What [liveVM] then [vm.vcpus[j]] give ([vcpuOf]). *)
Definition vcpu_lens (vc : ptr Isolation.Engine Isolation.vcpu) (id j : Z) : Prop :=
  lens vc (vc_valid id j) (vc_get id j) (vc_set id j).

(** The place of a VM slot, as [liveVM] gives it ([liveVM_lens]), then
    its field [vcpus] and element [j], is that place. *)
Lemma vcpu_lens_of : forall (p : ptr Isolation.Engine Isolation.vm) id j,
  lens p (vm_valid id) (fun s => nth (Z.to_nat (id - 1)) (Isolation.Engine_vms s) Isolation.zero_vm)
    (fun b s => Isolation.set_Engine_vms (replace_nth (Z.to_nat (id - 1)) b (Isolation.Engine_vms s)) s) ->
  exists q, vcpu_lens q id j /\ forall s tr, vc_valid id j s ->
    bind (pfield p Isolation.vm_vcpus Isolation.set_vm_vcpus) (fun a => pindex a j) s tr = Ok q s tr.
Proof.
  intros p id j L.
  destruct (pfield_lens p _ _ _ Isolation.vm_vcpus Isolation.set_vm_vcpus L ltac:(field_laws)) as (q1 & Hq1 & L1).
  destruct (pindex_lens q1 _ _ _ j Isolation.zero_vcpu L1) as (q & Hq & Lq).
  exists q. split; [exact Lq|].
  intros s tr (Hv & Hj). CodeShadow.step_by (Hq1 s tr). exact (Hq s tr Hv Hj).
Qed.

Lemma vc_set_twice : forall id j a b s, vc_valid id j s -> vc_set id j b (vc_set id j a s) = vc_set id j b s.
Proof.
  intros id j a b s ((_ & Hi) & _). unfold vc_set, put_vcpu, put_vm.
  destruct s. cbn in *. unfold len in Hi.
  rewrite nth_replace_nth_same by lia. rewrite replace_nth_twice.
  destruct (nth _ Engine_vms _). cbn. rewrite replace_nth_twice. reflexivity.
Qed.

Lemma vc_valid_of : forall e id j m, 1 <= id -> nth_error (Isolation.Engine_vms e) (Z.to_nat (id - 1)) = Some m -> vm_ok m ->
  0 <= j < Isolation.vm_nvcpu m -> vc_valid id j e /\ vc_get id j e = nth (Z.to_nat j) (Isolation.vm_vcpus m) Isolation.zero_vcpu.
Proof.
  intros e id j m Hid Hn (_ & Hnl & _) Hj. assert (Hi : (Z.to_nat (id - 1) < length (Isolation.Engine_vms e))%nat)
    by (apply nth_error_Some; congruence).
  unfold vc_valid, vc_get, vm_valid. rewrite (nth_error_nth _ _ Isolation.zero_vm Hn). unfold len in *.
  split; [split; [split; [exact Logic.I|lia]|lia]|reflexivity].
Qed.

Lemma idx_forall : forall {S} (P : Z -> Prop) (xs : list Z) i (s : S) tr, Forall P xs -> 0 <= i < len xs ->
  exists x, idx xs i s tr = Ok x s tr /\ P x.
Proof.
  intros S P xs i s tr H Hi. destruct (nth_error xs (Z.to_nat i)) as [x|] eqn:Hn; [|apply nth_error_None in Hn; unfold len in Hi; lia].
  exists x. split; [exact (idx_nth xs i x s tr ltac:(lia) Hn)|]. rewrite Forall_forall in H. exact (H x (nth_error_In _ _ Hn)).
Qed.

Lemma vc_get_set : forall id j b s, vc_valid id j s -> vc_get id j (vc_set id j b s) = b.
Proof.
  intros id j b s ((_ & Hi) & Hj). unfold vc_get, vc_set, put_vcpu, put_vm in *.
  destruct s. cbn in *. unfold len in *. rewrite nth_replace_nth_same by lia.
  destruct (nth _ Engine_vms _). cbn in *. apply nth_replace_nth_same. lia.
Qed.

Lemma vc_valid_set : forall id j b s, vc_valid id j s -> vc_valid id j (vc_set id j b s).
Proof.
  intros id j b s ((_ & Hi) & Hj). unfold vc_valid, vm_valid, vc_set, put_vcpu, put_vm in *.
  destruct s. cbn in *. unfold len in *. rewrite replace_nth_length. rewrite nth_replace_nth_same by lia.
  destruct (nth _ Engine_vms _). cbn in *. rewrite replace_nth_length. lia.
Qed.

(** The vCPU [y] with register [k] set to [v]. *)
Definition set_x (k v : Z) (y : Isolation.vcpu) : Isolation.vcpu :=
  Isolation.set_vcpu_ctx (Isolation.set_Context_X (replace_nth (Z.to_nat k) v (Isolation.Context_X (Isolation.vcpu_ctx y)))
    (Isolation.vcpu_ctx y)) y.

Lemma len_set_x : forall k v y, len (Isolation.Context_X (Isolation.vcpu_ctx (set_x k v y))) =
  len (Isolation.Context_X (Isolation.vcpu_ctx y)).
Proof. intros k v [? ? ? []]. unfold set_x, len. cbn. apply f_equal, replace_nth_length. Qed.

(** One write of a register of the vCPU, [vc.ctx.X[k] = v]. *)
Lemma store_reg : forall {A} vc id j k v s tr (K : unit -> M Isolation.Engine A), vcpu_lens vc id j -> vc_valid id j s ->
  0 <= k < len (Isolation.Context_X (Isolation.vcpu_ctx (vc_get id j s))) ->
  bind (pfield vc Isolation.vcpu_ctx Isolation.set_vcpu_ctx) (fun a =>
    bind (pfield a Isolation.Context_X Isolation.set_Context_X) (fun b =>
      bind (pindex b k) (fun c => bind (store c v) K))) s tr =
  K tt (vc_set id j (set_x k v (vc_get id j s)) s) tr.
Proof.
  intros A vc id j k v s tr K L Hv Hk.
  destruct (pfield_lens vc _ _ _ Isolation.vcpu_ctx Isolation.set_vcpu_ctx L ltac:(field_laws)) as (q1 & Hq1 & L1).
  destruct (pfield_lens q1 _ _ _ Isolation.Context_X Isolation.set_Context_X L1 ltac:(field_laws)) as (q2 & Hq2 & L2).
  destruct (pindex_lens q2 _ _ _ k 0 L2) as (q3 & Hq3 & L3).
  CodeShadow.step_by (Hq1 s tr). CodeShadow.step_by (Hq2 s tr). CodeShadow.step_by (Hq3 s tr Hv Hk).
  CodeShadow.step_by (store_lens _ _ _ _ s v tr L3 (conj Hv Hk)). reflexivity.
Qed.

(** The pending mark of the vCPU, [vc.pend = p]. *)
Lemma store_pend : forall {A} vc id j p s tr (K : unit -> M Isolation.Engine A), vcpu_lens vc id j -> vc_valid id j s ->
  bind (pfield vc Isolation.vcpu_pend Isolation.set_vcpu_pend) (fun a => bind (store a p) K) s tr =
  K tt (vc_set id j (Isolation.set_vcpu_pend p (vc_get id j s)) s) tr.
Proof.
  intros A vc id j p s tr K L Hv.
  destruct (pfield_lens vc _ _ _ Isolation.vcpu_pend Isolation.set_vcpu_pend L ltac:(field_laws)) as (q1 & Hq1 & L1).
  CodeShadow.step_by (Hq1 s tr). CodeShadow.step_by (store_lens _ _ _ _ s p tr L1 Hv). reflexivity.
Qed.

(** [CallExit] reads six registers and never fails on a file of 31. *)
Lemma CallExit_ok : forall (q : ptr Isolation.Engine (list Z)) valid get set s tr, lens q valid get set -> valid s ->
  len (get s) = 31 -> exists ex, Isolation.CallExit q s tr = Ok ex s tr /\ len ex = 7.
Proof.
  intros q valid get set s tr L Hv Hl. eexists. split; [exact (CallExit_val q valid get set L s tr Hv Hl)|reflexivity].
Qed.

(** Writing the caller's vCPU with one that keeps its interrupt lines
    keeps [refine_inv] and [Inv], and the caller a vCPU of a live VM. *)
Lemma vc_store_keeps : forall c e id j m y, refine_inv c e -> live_caller e (Isolation.mk_Caller id j) m ->
  Isolation.Context_IRQ (Isolation.vcpu_ctx y) = Isolation.Context_IRQ (Isolation.vcpu_ctx (vc_get id j e)) ->
  refine_inv c (vc_set id j y e) /\ (Inv c (abs_ms c e) -> Inv c (abs_ms c (vc_set id j y e))) /\
  exists m', live_caller (vc_set id j y e) (Isolation.mk_Caller id j) m' /\ Isolation.vm_nvcpu m' = Isolation.vm_nvcpu m.
Proof.
  intros c e id j m y R Hcl Hirq.
  pose proof Hcl as (Hid & Hnth & Hlv & Hj). cbn [Isolation.Caller_VM Isolation.Caller_VCPU] in *.
  pose proof R as (Hc & _). pose proof Hc as ((Hvok & _) & _).
  pose proof (vm_ok_at _ _ m Hvok Hnth) as Hm.
  destruct (vc_valid_of e id j m ltac:(lia) Hnth Hm Hj) as (Hv & Hget).
  pose proof Hm as (_ & Hnl & Hirqs).
  assert (Hjl : (Z.to_nat j < length (Isolation.vm_vcpus m))%nat) by (unfold len in Hnl; lia).
  assert (Hy : len (Isolation.Context_IRQ (Isolation.vcpu_ctx y)) = 16).
  { rewrite Hirq, Hget. rewrite Forall_forall in Hirqs. apply Hirqs. apply nth_In. exact Hjl. }
  assert (E : vc_set id j y e = put_vcpu e (Z.to_nat (id - 1)) m (Z.to_nat j) y)
    by (unfold vc_set; rewrite (nth_error_nth _ _ Isolation.zero_vm Hnth); reflexivity).
  rewrite E. split; [exact (chain_refine_inv c e _ R (chain_one e _ m _ y Hvok Hnth Hy))|]. split.
  - intros I. apply (Inv_ms_eq c _ _ (put_vcpu_ms_eq c e id j m y (abs_vcpu y) Hc ltac:(lia) Hnth Hlv Hj Hjl
      ltac:(split; [reflexivity|split; [reflexivity|intros; reflexivity]]))).
    apply Invariants.set_vcpu_inv. exact I.
  - exists (Isolation.set_vm_vcpus (replace_nth (Z.to_nat j) y (Isolation.vm_vcpus m)) m).
    split; [|destruct m; reflexivity]. unfold live_caller. cbn [Isolation.Caller_VM Isolation.Caller_VCPU].
    split; [lia|]. split; [exact (vms_put_vm e (Z.to_nat (id - 1)) _ ltac:(apply nth_error_Some; congruence))|].
    destruct m; cbn in *. split; [exact Hlv|lia].
Qed.

Lemma step_set_x : forall k v y, vcpu_step y (set_x k v y).
Proof. intros k v y. split; [rewrite len_set_x; exact (fun H => H)|intros E; right; split; [exact E|reflexivity]]. Qed.

(** Writing the caller's vCPU with a step of it that keeps its names
    keeps every vCPU ready to run ([runs_ok]). *)
Lemma vc_set_runs_ok : forall e id j m y, runs_ok e -> live_caller e (Isolation.mk_Caller id j) m -> vm_ok m ->
  vcpu_step (vc_get id j e) y ->
  Isolation.Context_VMID (Isolation.vcpu_ctx y) = id -> Isolation.Context_VCPU (Isolation.vcpu_ctx y) = j ->
  runs_ok (vc_set id j y e).
Proof.
  intros e id j m y Hr (Hid & Hnth & _ & Hj) (_ & Hnl & _) Hs Hvm Hvc. cbn [Isolation.Caller_VM Isolation.Caller_VCPU] in *.
  assert (E : vc_set id j y e = put_vcpu e (Z.to_nat (id - 1)) m (Z.to_nat j) y)
    by (unfold vc_set; rewrite (nth_error_nth _ _ Isolation.zero_vm Hnth); reflexivity).
  rewrite E. apply (runs_ok_put_vcpu e _ m (Z.to_nat j) y Hr Hnth ltac:(unfold len in Hnl; lia)). intros _ _ Hold.
  replace (Z.of_nat (Z.to_nat (id - 1)) + 1) with id in * by lia. replace (Z.of_nat (Z.to_nat j)) with j in * by lia.
  apply (ready_step id j _ y Hold); [|exact Hvm|exact Hvc].
  unfold vc_get in Hs. rewrite (nth_error_nth _ _ Isolation.zero_vm Hnth) in Hs. exact Hs.
Qed.

Lemma vc_set_plat : forall id j y s, Isolation.Engine_plat (vc_set id j y s) = Isolation.Engine_plat s.
Proof. intros id j y []. reflexivity. Qed.

(** What a step of a run leaves: [refine_inv], [Inv] if it held, an exit
    record of seven words, the caller a vCPU of a live VM with as many
    vCPUs whose context still names it, the platform as it was, and
    CodeReady's [runs_ok] and CodeHostLevel's [host_lv3] if they held. *)
Definition run_post (c : config) (e e' : Isolation.Engine) (ex : list Z) (id j : Z) (m : Isolation.vm) : Prop :=
  refine_inv c e' /\ (Inv c (abs_ms c e) -> Inv c (abs_ms c e')) /\ len ex = 7 /\
  (exists m', live_caller e' (Isolation.mk_Caller id j) m' /\ Isolation.vm_nvcpu m' = Isolation.vm_nvcpu m) /\
  Isolation.Engine_plat e' = Isolation.Engine_plat e /\
  Isolation.Context_VMID (Isolation.vcpu_ctx (vc_get id j e')) = id /\
  Isolation.Context_VCPU (Isolation.vcpu_ctx (vc_get id j e')) = j /\ (runs_ok e -> runs_ok e') /\
  (host_lv3 c e -> host_lv3 c e').

(** A last store into the caller's vCPU that keeps its interrupt lines
    and identity. *)
Lemma vc_store_post : forall c e0 e id j m m0 y ex,
  refine_inv c e -> live_caller e (Isolation.mk_Caller id j) m -> Isolation.vm_nvcpu m = Isolation.vm_nvcpu m0 ->
  (Inv c (abs_ms c e0) -> Inv c (abs_ms c e)) -> len ex = 7 -> Isolation.Engine_plat e = Isolation.Engine_plat e0 ->
  Isolation.Context_IRQ (Isolation.vcpu_ctx y) = Isolation.Context_IRQ (Isolation.vcpu_ctx (vc_get id j e)) ->
  Isolation.Context_VMID (Isolation.vcpu_ctx y) = id -> Isolation.Context_VCPU (Isolation.vcpu_ctx y) = j ->
  (runs_ok e0 -> runs_ok e) -> (host_lv3 c e0 -> host_lv3 c e) -> vcpu_step (vc_get id j e) y ->
  run_post c e0 (vc_set id j y e) ex id j m0.
Proof.
  intros c e0 e id j m m0 y ex R Hcl Hnv HI Hex Hp Hirq Hvm Hvc Hro Hlv Hst.
  destruct (vc_store_keeps c e id j m y R Hcl Hirq) as (R' & HI' & m' & Hcl' & Hnv').
  pose proof Hcl as (Hid & Hnth & _ & Hj). cbn [Isolation.Caller_VM Isolation.Caller_VCPU] in *.
  pose proof R as (((Hvok & _) & _) & _).
  pose proof (vm_ok_at _ _ m Hvok Hnth) as Hm.
  destruct (vc_valid_of e id j m ltac:(lia) Hnth Hm Hj) as (Hv & _).
  split; [exact R'|]. split; [intros I; exact (HI' (HI I))|]. split; [exact Hex|].
  split; [exists m'; split; [exact Hcl'|congruence]|]. split; [rewrite vc_set_plat; exact Hp|].
  rewrite (vc_get_set id j y e Hv). split; [assumption|]. split; [assumption|].
  split; [intros H0; exact (vc_set_runs_ok e id j m y (Hro H0) Hcl Hm Hst Hvm Hvc)|].
  intros H0. exact (Hlv H0).
Qed.

(** ** The trapped call *)

(** A trapped call of vCPU [j] of VM [id], marked On (as VCPU_RUN marks
    it), whose context names it and holds 31 registers of 64 bits, of a
    live VM of at most 256 vCPUs, from [refine_inv]: it never fails and
    meets [run_post]. *)
Theorem guestTrapCall_keeps : forall c e tr vc id j m, refine_inv c e -> vcpu_lens vc id j ->
  live_caller e (Isolation.mk_Caller id j) m -> Isolation.vm_nvcpu m <= 256 ->
  Isolation.vcpu_state (vc_get id j e) = Isolation.VCPUOn ->
  Isolation.Context_VMID (Isolation.vcpu_ctx (vc_get id j e)) = id ->
  Isolation.Context_VCPU (Isolation.vcpu_ctx (vc_get id j e)) = j ->
  len (Isolation.Context_X (Isolation.vcpu_ctx (vc_get id j e))) = 31 ->
  Forall (fun r => 0 <= r < 2 ^ 64) (Isolation.Context_X (Isolation.vcpu_ctx (vc_get id j e))) ->
  exists ex b e' tr', Isolation.Engine_guestTrapCall root vc e tr = Ok (ex, b) e' tr' /\ run_post c e e' ex id j m.
Proof.
  intros c e tr vc id j m R L Hcl Hn Hon Hvm Hvc HX HXr.
  pose proof Hcl as (Hid & Hnth & Hlv & Hj). cbn [Isolation.Caller_VM Isolation.Caller_VCPU] in *.
  pose proof R as (Hc & _). pose proof Hc as ((Hvok & _) & _).
  pose proof (vm_ok_at _ _ m Hvok Hnth) as Hm.
  destruct (vc_valid_of e id j m ltac:(lia) Hnth Hm Hj) as (Hv & Hget).
  unfold Isolation.Engine_guestTrapCall. cbv zeta.
  CodeShadow.step_by (deref_lens _ _ _ _ e tr L Hv). CodeShadow.step_by (deref_lens _ _ _ _ e tr L Hv).
  rewrite Hvm, Hvc. unfold Isolation.GuestCaller. CodeShadow.step.
  destruct (idx_forall _ _ 0 e tr HXr ltac:(lia)) as (a0 & H0 & _).
  destruct (idx_forall _ _ 1 e tr HXr ltac:(lia)) as (a1 & H1 & B1).
  destruct (idx_forall _ _ 2 e tr HXr ltac:(lia)) as (a2 & H2 & B2).
  destruct (idx_forall _ _ 3 e tr HXr ltac:(lia)) as (a3 & H3 & _).
  CodeShadow.step_by (deref_lens _ _ _ _ e tr L Hv). CodeShadow.step_by H0.
  CodeShadow.step_by (deref_lens _ _ _ _ e tr L Hv). CodeShadow.step_by H1.
  CodeShadow.step_by (deref_lens _ _ _ _ e tr L Hv). CodeShadow.step_by H2.
  CodeShadow.step_by (deref_lens _ _ _ _ e tr L Hv). CodeShadow.step_by H3.
  assert (Hon' : Isolation.vcpu_state (nth (Z.to_nat (Isolation.Caller_VCPU (Isolation.mk_Caller id j)))
    (Isolation.vm_vcpus m) Isolation.zero_vcpu) = Isolation.VCPUOn) by (cbn; rewrite <- Hget; exact Hon).
  destruct (guestCallRegs_keeps c e tr (Isolation.mk_Caller id j) m a0 a1 a2 a3 R Hcl Hon' Hn B1 B2)
    as (r & e1 & tr1 & Hrun & R1 & Hctx & Ep1 & HI & Hro & Hl3 & m1 & Hcl1 & Hnv).
  CodeShadow.step_by Hrun. destruct r as [[[[r0 r1] r2] r3] eff]. cbv beta iota.
  pose proof R1 as (Hc1 & _). pose proof Hc1 as ((Hvok1 & _) & _). pose proof Hcl1 as (_ & Hnth1 & Hlv1 & Hj1).
  cbn [Isolation.Caller_VM Isolation.Caller_VCPU] in *.
  pose proof (vm_ok_at _ _ m1 Hvok1 Hnth1) as Hm1.
  destruct (vc_valid_of e1 id j m1 ltac:(lia) Hnth1 Hm1 Hj1) as (Hv1 & _).
  assert (Hctx' : Isolation.vcpu_ctx (vc_get id j e1) = Isolation.vcpu_ctx (vc_get id j e)) by exact Hctx.
  (* x0..x3 written back, one register at a time *)
  rewrite (store_reg vc id j 0 r0 e1 tr1 _ L Hv1 ltac:(rewrite Hctx'; lia)).
  set (y0 := set_x 0 r0 (vc_get id j e1)).
  pose proof (vc_valid_set id j y0 e1 Hv1) as Hv2.
  rewrite (store_reg vc id j 1 r1 _ tr1 _ L Hv2 ltac:(rewrite vc_get_set by exact Hv1; unfold y0;
    rewrite len_set_x, Hctx'; lia)).
  rewrite vc_get_set, vc_set_twice by exact Hv1. set (y1 := set_x 1 r1 y0).
  pose proof (vc_valid_set id j y1 e1 Hv1) as Hv3.
  rewrite (store_reg vc id j 2 r2 _ tr1 _ L Hv3 ltac:(rewrite vc_get_set by exact Hv1; unfold y1, y0;
    rewrite !len_set_x, Hctx'; lia)).
  rewrite vc_get_set, vc_set_twice by exact Hv1. set (y2 := set_x 2 r2 y1).
  pose proof (vc_valid_set id j y2 e1 Hv1) as Hv4.
  rewrite (store_reg vc id j 3 r3 _ tr1 _ L Hv4 ltac:(rewrite vc_get_set by exact Hv1; unfold y2, y1, y0;
    rewrite !len_set_x, Hctx'; lia)).
  rewrite vc_get_set, vc_set_twice by exact Hv1. set (y3 := set_x 3 r3 y2).
  assert (Hirq3 : Isolation.Context_IRQ (Isolation.vcpu_ctx y3) = Isolation.Context_IRQ (Isolation.vcpu_ctx (vc_get id j e1)))
    by (unfold y3, y2, y1, y0, set_x; destruct (vc_get id j e1) as [? ? ? []]; reflexivity).
  assert (HX3 : len (Isolation.Context_X (Isolation.vcpu_ctx y3)) = 31)
    by (unfold y3, y2, y1, y0; rewrite !len_set_x, Hctx'; exact HX).
  assert (Hids3 : Isolation.Context_VMID (Isolation.vcpu_ctx y3) = id /\ Isolation.Context_VCPU (Isolation.vcpu_ctx y3) = j)
    by (unfold y3, y2, y1, y0, set_x; cbn; rewrite Hctx'; split; assumption).
  pose proof (vc_valid_set id j y3 e1 Hv1) as Hv5.
  assert (Hst3 : vcpu_step (vc_get id j e1) y3)
    by (unfold y3, y2, y1, y0; repeat (eapply vcpu_step_trans; [|apply step_set_x]); apply vcpu_step_refl).
  destruct (Isolation.Effect_Kind eff =? Isolation.EffectForward).
  - rewrite (store_pend vc id j Isolation.pendCall _ tr1 _ L Hv5). rewrite vc_get_set, vc_set_twice by exact Hv1.
    set (y4 := Isolation.set_vcpu_pend Isolation.pendCall y3).
    pose proof (vc_valid_set id j y4 e1 Hv1) as Hv6.
    destruct (pfield_lens vc _ _ _ Isolation.vcpu_ctx Isolation.set_vcpu_ctx L ltac:(field_laws)) as (q1 & Hq1 & L1).
    destruct (pfield_lens q1 _ _ _ Isolation.Context_X Isolation.set_Context_X L1 ltac:(field_laws)) as (q2 & Hq2 & L2).
    CodeShadow.step_by (Hq1 (vc_set id j y4 e1) tr1). CodeShadow.step_by (Hq2 (vc_set id j y4 e1) tr1).
    destruct (CallExit_ok q2 _ _ _ (vc_set id j y4 e1) tr1 L2 Hv6 ltac:(cbv beta; rewrite vc_get_set by exact Hv1; exact HX3)) as (ex & Hex & Lex).
    CodeShadow.step_by Hex.
    eexists _, _, _, _. split; [reflexivity|].
    exact (vc_store_post c e e1 id j m1 m y4 ex R1 Hcl1 Hnv HI Lex Ep1 Hirq3 (proj1 Hids3) (proj2 Hids3) Hro Hl3
      (vcpu_step_trans _ _ _ Hst3 (step_pend y3 Isolation.pendCall ltac:(unfold Isolation.pendCall, Isolation.pendMMIORead; discriminate)))).
  - assert (Hrest : forall (ex : list Z) (b : bool), len ex = 7 -> exists ex' b' e' tr',
      @ret Isolation.Engine _ (ex, b) (vc_set id j y3 e1) tr1 = Ok (ex', b') e' tr' /\ run_post c e e' ex' id j m).
    { intros ex b Lex. eexists _, _, _, _. split; [reflexivity|].
      exact (vc_store_post c e e1 id j m1 m y3 ex R1 Hcl1 Hnv HI Lex Ep1 Hirq3 (proj1 Hids3) (proj2 Hids3) Hro Hl3 Hst3). }
    destruct (Isolation.Effect_Kind eff =? Isolation.EffectVCPUState);
      [|destruct (Isolation.Effect_Kind eff =? Isolation.EffectShutdown)];
      [destruct (Isolation.Effect_On eff)|destruct (Isolation.Effect_Reset eff)|]; cbv beta iota;
      try rewrite bind_assoc; try CodeShadow.step; apply Hrest; reflexivity.
Qed.
