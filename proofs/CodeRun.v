(** * The run loop of VCPU_RUN

    Theorems about proofs/code/Isolation.v, the translation of
    isolation/vm.go ([run], which enters the guest until an exit needs
    the host or the run's budget is spent). The world switch (arch/,
    trusted) is the platform's [EnterGuest]; its contract is [world_ok]:
    it gives back a trap whose syndrome is not negative and the vCPU's
    context with the same identity and interrupt lines and 31 registers
    of 64 bits. Proved here:
    - what a run keeps between two entries, [run_inv]: [refine_inv],
      [Inv] if it held, the caller a vCPU of a live VM with as many
      vCPUs whose context names it, the platform, and CodeReady's
      [runs_ok] and CodeHostLevel's [host_lv3] if they held; a store into the
      vCPU that keeps its lines and identity keeps it ([vc_store_inv]),
      and so does each step [run_post] describes ([post_inv]);
    - so the run of vCPU [j] of VM [id], of a live VM of at most 256
      vCPUs whose context names it, from [refine_inv], with a platform
      that keeps [world_ok], never fails: each of its at most 64 entries
      marks the vCPU running, enters the guest, marks it On and handles
      the trap (the call, [guestTrapCall_keeps], or the exit filter's
      decision, [FilterTrap_no_failure] and [apply_keeps]); it returns
      an exit record of seven words and keeps [refine_inv] and [Inv],
      and [runs_ok] and [host_lv3] if they held ([run_keeps]). *)
From Coq Require Import ZArith Lia List Bool String.
From Bulkhead.Spec Require Import State Spec.
From Bulkhead.Proofs Require Import Invariants.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodeLens CodeTrack CodeVCPU CodeVCPUInit CodeVMCreate CodeShadow CodeAbs
  CodeRefineInv CodeVMDestroy CodeGuestDispatch CodeLoop CodeBudget CodeTrapCall CodeExitFilter CodeApply
  CodeRunWith CodeRunStop CodeGuestPSCI CodeReady CodeHostLevel.
Import ListNotations.
Open Scope Z_scope.

(** ** The world switch *)

(** What the run needs of the platform's [EnterGuest], the world switch
    of arch/ (trusted): a trap whose syndrome is not negative, and the
    vCPU's context back with the same identity and interrupt lines and 31
    registers of 64 bits. *)
Definition world_ok (p : Isolation.Platform) : Prop :=
  forall tr vttbr ctx,
    0 <= Isolation.Trap_ESR (fst (Isolation.Platform_EnterGuest p tr vttbr ctx)) /\
    Isolation.Context_VMID (snd (Isolation.Platform_EnterGuest p tr vttbr ctx)) = Isolation.Context_VMID ctx /\
    Isolation.Context_VCPU (snd (Isolation.Platform_EnterGuest p tr vttbr ctx)) = Isolation.Context_VCPU ctx /\
    Isolation.Context_IRQ (snd (Isolation.Platform_EnterGuest p tr vttbr ctx)) = Isolation.Context_IRQ ctx /\
    len (Isolation.Context_X (snd (Isolation.Platform_EnterGuest p tr vttbr ctx))) = 31 /\
    Forall (fun r => 0 <= r < 2 ^ 64) (Isolation.Context_X (snd (Isolation.Platform_EnterGuest p tr vttbr ctx))).

(** The contract can be met: a platform that hands back the context with
    its registers zeroed meets it, so [run_keeps] is not about no
    platform at all. *)
Lemma world_ok_inhabited : exists p, world_ok p.
Proof.
  exists (Isolation.mk_Platform (fun _ _ _ => false)
    (fun _ _ ctx => (Isolation.zero_Trap, Isolation.set_Context_X (repeat 0 31) ctx)) (fun _ _ => false)).
  intros tr vttbr ctx. cbn. repeat split; try lia; try reflexivity.
  repeat constructor; lia.
Qed.

(** ** Between two entries *)

Definition run_inv (c : config) (e0 s : Isolation.Engine) (id j : Z) (m : Isolation.vm) : Prop :=
  refine_inv c s /\ (Inv c (abs_ms c e0) -> Inv c (abs_ms c s)) /\
  (exists m', live_caller s (Isolation.mk_Caller id j) m' /\ Isolation.vm_nvcpu m' = Isolation.vm_nvcpu m) /\
  Isolation.Engine_plat s = Isolation.Engine_plat e0 /\
  Isolation.Context_VMID (Isolation.vcpu_ctx (vc_get id j s)) = id /\
  Isolation.Context_VCPU (Isolation.vcpu_ctx (vc_get id j s)) = j /\ (runs_ok e0 -> runs_ok s) /\
  (host_lv3 c e0 -> host_lv3 c s).

(** A step from an engine that meets [run_inv] that [run_post] describes
    leaves one that meets it. *)
Lemma post_inv : forall c e0 s s' ex id j m, run_inv c e0 s id j m -> run_post c s s' ex id j m ->
  run_inv c e0 s' id j m.
Proof.
  intros c e0 s s' ex id j m (_ & HI & _ & Hp & _ & _ & Hro & Hlv) (R' & HI' & _ & Hl' & Hp' & Hvm' & Hvc' & Hro' & Hlv').
  split; [exact R'|]. split; [intros I; exact (HI' (HI I))|]. split; [exact Hl'|]. split; [congruence|].
  split; [exact Hvm'|]. split; [exact Hvc'|]. split; [intros H; exact (Hro' (Hro H))|intros H; exact (Hlv' (Hlv H))].
Qed.

Lemma vc_store_inv : forall c e0 s id j m y, run_inv c e0 s id j m ->
  Isolation.Context_IRQ (Isolation.vcpu_ctx y) = Isolation.Context_IRQ (Isolation.vcpu_ctx (vc_get id j s)) ->
  Isolation.Context_VMID (Isolation.vcpu_ctx y) = id -> Isolation.Context_VCPU (Isolation.vcpu_ctx y) = j ->
  vcpu_step (vc_get id j s) y -> run_inv c e0 (vc_set id j y s) id j m.
Proof.
  intros c e0 s id j m y Hinv Hirq Hvm Hvc Hst. pose proof Hinv as (R & HI & (m' & Hcl & Hnv) & Hp & _).
  apply (post_inv c e0 s _ (repeat 0 7) id j m Hinv).
  exact (vc_store_post c s s id j m' m y (repeat 0 7) R Hcl Hnv (fun I => I) eq_refl eq_refl Hirq Hvm Hvc (fun H => H)
    (fun H => H) Hst).
Qed.

Lemma run_post_m : forall c e e' ex id j m m', run_post c e e' ex id j m' ->
  Isolation.vm_nvcpu m' = Isolation.vm_nvcpu m -> run_post c e e' ex id j m.
Proof.
  intros c e e' ex id j m m' (R & HI & Hex & (m2 & Hcl & Hnv) & Hp & Hids) E.
  split; [exact R|]. split; [exact HI|]. split; [exact Hex|]. split; [exists m2; split; [exact Hcl|congruence]|].
  split; [exact Hp|exact Hids].
Qed.

(** The place of the caller's vCPU is valid in an engine that meets
    [run_inv], and the VM has at most as many vCPUs as it had. *)
Lemma run_inv_valid : forall c e0 s id j m, run_inv c e0 s id j m -> vc_valid id j s.
Proof.
  intros c e0 s id j m (R & _ & (m' & (Hid & Hnth & _ & Hj) & _) & _). cbn [Isolation.Caller_VM Isolation.Caller_VCPU] in *.
  pose proof R as (((Hvok & _) & _) & _).
  pose proof (vm_ok_at _ _ m' Hvok Hnth) as Hm.
  exact (proj1 (vc_valid_of s id j m' ltac:(lia) Hnth Hm Hj)).
Qed.

(** [callWork] and [guestWork] read x0 and x2 of a file of 31 registers. *)
Lemma callWork_ok : forall (q : ptr Isolation.Engine (list Z)) valid get set s tr, lens q valid get set -> valid s ->
  len (get s) = 31 -> exists w, Isolation.callWork q s tr = Ok w s tr.
Proof.
  intros q valid get set s tr L Hv Hl. unfold Isolation.callWork.
  destruct (idx_in_range (get s) 0 s tr ltac:(lia)) as (a0 & H0). destruct (idx_in_range (get s) 2 s tr ltac:(lia)) as (a2 & H2).
  CodeShadow.step_by (deref_lens _ _ _ _ s tr L Hv). CodeShadow.step_by H0. cbv zeta.
  destruct (_ || _ || _); [|eexists; reflexivity].
  CodeShadow.step_by (deref_lens _ _ _ _ s tr L Hv). CodeShadow.step_by H2. eexists; reflexivity.
Qed.

Lemma guestWork_ok : forall (q : ptr Isolation.Engine (list Z)) valid get set d s tr, lens q valid get set -> valid s ->
  len (get s) = 31 -> exists w, Isolation.guestWork d q s tr = Ok w s tr.
Proof.
  intros q valid get set d s tr L Hv Hl. unfold Isolation.guestWork.
  destruct (negb _); [eexists; reflexivity|].
  destruct (callWork_ok q valid get set s tr L Hv Hl) as (w & Hw). CodeShadow.step_by Hw. eexists; reflexivity.
Qed.

(** What one entry leaves, besides [run_inv]: an exit record of seven
    words when it ends the run, the entry count as it was when it goes
    on. *)
Definition iter_post (c : config) (e0 : Isolation.Engine) (id j : Z) (m : Isolation.vm) (i : Z)
    (r : step (Isolation.workBudget * Z) (list Z)) (s : Isolation.Engine) : Prop :=
  run_inv c e0 s id j m /\
  match r with
  | Continue (_, i') => i' = i
  | Break _ => True
  | Leave ex => len ex = 7
  end.

(** The end of an entry, after the trap was handled by a step that
    [run_post] describes and returned [(ex, done)]. *)
Lemma iter_end : forall c e0 s s' tr ex (done : bool) w budget i id j m, run_inv c e0 s id j m ->
  run_post c s s' ex id j m ->
  exists r s'' tr', bind (if done then ret (Jump (Leave ex)) else ret (Fall w)) (fun t =>
    match t with
    | Fall work => bind (Isolation.workBudget_spend budget work) (fun '(b, more) =>
        if negb more then ret (Break (b, i)) else ret (Continue (b, i)))
    | Jump x => ret x
    end) s' tr = Ok r s'' tr' /\ iter_post c e0 id j m i r s''.
Proof.
  intros c e0 s s' tr ex done w budget i id j m Hinv Hpost.
  pose proof (post_inv c e0 s s' ex id j m Hinv Hpost) as Hinv'. pose proof Hpost as (_ & _ & Hex & _).
  destruct done.
  - eexists _, _, _. split; [reflexivity|]. split; [exact Hinv'|exact Hex].
  - CodeShadow.step. CodeShadow.step_by (spend_stops s' tr budget w).
    destruct (0 <? _); cbn [negb]; eexists _, _, _; (split; [reflexivity|]); split; (exact Hinv' || exact Logic.I || reflexivity).
Qed.

(** ** One entry *)

(** The run marks its vCPU, [vc.state = st]: a store that keeps
    [run_inv]. *)
Lemma store_state_inv : forall c e0 s id j m st, run_inv c e0 s id j m ->
  run_inv c e0 (vc_set id j (Isolation.set_vcpu_state st (vc_get id j s)) s) id j m.
Proof.
  intros c e0 s id j m st Hinv. pose proof Hinv as (_ & _ & _ & _ & Hvm & Hvc & _).
  exact (vc_store_inv c e0 s id j m (Isolation.set_vcpu_state st (vc_get id j s)) Hinv eq_refl Hvm Hvc (step_state _ _)).
Qed.

Lemma store_state : forall {A} c e0 s tr id j m vc st (K : unit -> M Isolation.Engine A), vcpu_lens vc id j ->
  run_inv c e0 s id j m ->
  bind (pfield vc Isolation.vcpu_state Isolation.set_vcpu_state) (fun a => bind (store a st) K) s tr =
  K tt (vc_set id j (Isolation.set_vcpu_state st (vc_get id j s)) s) tr.
Proof.
  intros A c e0 s tr id j m vc st K L Hinv.
  exact (store_vc_field vc id j Isolation.vcpu_state Isolation.set_vcpu_state st s tr K ltac:(field_laws) L
    (run_inv_valid c e0 s id j m Hinv)).
Qed.

Local Ltac sstep H := rewrite ?bind_assoc; CodeShadow.step_by H.

Lemma run_iter_keeps : forall c e0 s tr pm vc id j m p vttbr budget i, vcpu_lens vc id j ->
  lens pm (vm_valid id) (fun s => nth (Z.to_nat (id - 1)) (Isolation.Engine_vms s) Isolation.zero_vm)
    (fun b s => Isolation.set_Engine_vms (replace_nth (Z.to_nat (id - 1)) b (Isolation.Engine_vms s)) s) ->
  Isolation.vm_nvcpu m <= 256 -> Isolation.Engine_plat e0 = Some p -> world_ok p -> run_inv c e0 s id j m ->
  exists r s' tr', run_iter false root pm vc vttbr budget i s tr = Ok r s' tr' /\ iter_post c e0 id j m i r s'.
Proof.
  intros c e0 s tr pm vc id j m p vttbr budget i L Lp Hn Hplat Hw Hinv.
  pose proof (run_inv_valid c e0 s id j m Hinv) as Hv.
  unfold run_iter.
  (* vc.state = VCPURunning *)
  rewrite (store_state c e0 s tr id j m vc Isolation.VCPURunning _ L Hinv).
  pose proof (store_state_inv c e0 s id j m Isolation.VCPURunning Hinv) as Hinv1.
  set (y1 := Isolation.set_vcpu_state Isolation.VCPURunning (vc_get id j s)) in *.
  set (s1 := vc_set id j y1 s) in *. pose proof (run_inv_valid c e0 s1 id j m Hinv1) as Hv1.
  (* EnterGuest, through the platform *)
  CodeShadow.step_by (deref_root s1 tr).
  destruct (pfield_lens vc _ _ _ Isolation.vcpu_ctx Isolation.set_vcpu_ctx L ltac:(field_laws)) as (q1 & Hq1 & L1).
  CodeShadow.step_by (Hq1 s1 tr).
  replace (Isolation.Engine_plat s1) with (Some p) by (rewrite (proj1 (proj2 (proj2 (proj2 Hinv1)))); symmetry; exact Hplat).
  unfold get_platform. CodeShadow.step. unfold trace_now. CodeShadow.step.
  CodeShadow.step_by (deref_lens _ _ _ _ s1 tr L1 Hv1). cbv beta.
  destruct (Hw tr vttbr (Isolation.vcpu_ctx (vc_get id j s1))) as (Hesr & Hgvm & Hgvc & Hgirq & HgX & HgXr).
  destruct (Isolation.Platform_EnterGuest p tr vttbr (Isolation.vcpu_ctx (vc_get id j s1))) as [t ctx'] eqn:Eg.
  cbn [fst snd] in Hesr, Hgvm, Hgvc, Hgirq, HgX, HgXr.
  CodeShadow.step_by (store_lens _ _ _ _ s1 ctx' tr L1 Hv1).
  set (y2 := Isolation.set_vcpu_ctx ctx' (vc_get id j s1)).
  pose proof Hinv1 as (_ & _ & _ & _ & Hvm1 & Hvc1 & _).
  pose proof (vc_store_inv c e0 s1 id j m y2 Hinv1 Hgirq (eq_trans Hgvm Hvm1) (eq_trans Hgvc Hvc1)
    (step_ctx _ _ (fun _ => HgX))) as Hinv2.
  set (s2 := vc_set id j y2 s1) in *. pose proof (run_inv_valid c e0 s2 id j m Hinv2) as Hv2.
  CodeShadow.step. set (tr1 := mkEvent "EnterGuest"%string [vttbr] :: tr).
  (* The stop test reads the state just stored. *)
  CodeShadow.step_by (deref_lens _ _ _ _ s2 tr1 L Hv2).
  replace (negb (Isolation.vcpu_state (vc_get id j s2) =? Isolation.VCPURunning) && negb false) with false
    by (unfold s2; rewrite (vc_get_set id j y2 s1 Hv1); unfold y2, s1; rewrite (vc_get_set id j y1 s Hv); reflexivity).
  cbv beta iota.
  (* vc.state = VCPUOn *)
  rewrite (store_state c e0 s2 tr1 id j m vc Isolation.VCPUOn _ L Hinv2).
  pose proof (store_state_inv c e0 s2 id j m Isolation.VCPUOn Hinv2) as Hinv3.
  set (y3 := Isolation.set_vcpu_state Isolation.VCPUOn (vc_get id j s2)) in *.
  set (s3 := vc_set id j y3 s2) in *. pose proof (run_inv_valid c e0 s3 id j m Hinv3) as Hv3.
  assert (Hget3 : vc_get id j s3 = y3) by exact (vc_get_set id j y3 s2 Hv2).
  assert (Hctx3 : Isolation.vcpu_ctx y3 = ctx').
  { unfold y3. cbn. unfold s2. rewrite (vc_get_set id j y2 s1 Hv1). reflexivity. }
  destruct (pfield_lens q1 _ _ _ Isolation.Context_X Isolation.set_Context_X L1 ltac:(field_laws)) as (q2 & Hq2 & L2).
  pose proof Hinv3 as (R3 & HI3 & (m3 & Hcl3 & Hnv3) & Hp3 & Hvm3 & Hvc3 & _).
  unfold Isolation.hvcCall. CodeShadow.step.
  destruct (_ && _ && _).
  - (* an SMCCC call by HVC #0 *)
    sstep (Hq1 s3 tr1). sstep (Hq2 s3 tr1).
    destruct (callWork_ok q2 _ _ _ s3 tr1 L2 Hv3
      ltac:(cbv beta; rewrite Hget3, Hctx3; exact HgX)) as (w & Hw').
    sstep Hw'.
    destruct (guestTrapCall_keeps c s3 tr1 vc id j m3 R3 L Hcl3 ltac:(lia) ltac:(rewrite Hget3; reflexivity)
      Hvm3 Hvc3 ltac:(rewrite Hget3, Hctx3; exact HgX) ltac:(rewrite Hget3, Hctx3; exact HgXr))
      as (ex & b & s' & tr' & Hrun & Hpost).
    sstep Hrun.
    exact (iter_end c e0 s3 s' tr' ex b w budget i id j m Hinv3 (run_post_m c s3 s' ex id j m m3 Hpost Hnv3)).
  - (* any other trap: the exit filter, then its decision *)
    sstep (Hq1 s3 tr1). sstep (Hq2 s3 tr1). sstep (deref_root s3 tr1).
    assert (HX3 : len (Isolation.Context_X (Isolation.vcpu_ctx (vc_get id j s3))) = 31) by (rewrite Hget3, Hctx3; exact HgX).
    destruct (FilterTrap_no_failure q2 _ _ _ L2 s3 tr1 t (Isolation.Config_GuestMMIO (Isolation.Engine_cfg s3)) Hv3 HX3 Hesr)
      as (d & s4 & Hft & Hrs & Hdok).
    sstep Hft.
    assert (H4 : run_inv c e0 s4 id j m /\ Isolation.vcpu_state (vc_get id j s4) = Isolation.VCPUOn /\
      len (Isolation.Context_X (Isolation.vcpu_ctx (vc_get id j s4))) = 31 /\
      Forall (fun r => 0 <= r < 2 ^ 64) (Isolation.Context_X (Isolation.vcpu_ctx (vc_get id j s4)))).
    { destruct Hrs as [->|(rt & Hrt & ->)].
      - split; [exact Hinv3|]. rewrite Hget3. split; [reflexivity|]. rewrite Hctx3. split; [exact HgX|exact HgXr].
      - cbv beta. set (y4 := Isolation.set_vcpu_ctx (Isolation.set_Context_X
          (replace_nth (Z.to_nat rt) 0 (Isolation.Context_X (Isolation.vcpu_ctx (vc_get id j s3))))
          (Isolation.vcpu_ctx (vc_get id j s3))) (vc_get id j s3)).
        split; [apply (vc_store_inv c e0 s3 id j m y4 Hinv3 eq_refl Hvm3 Hvc3); unfold y4; apply step_ctx;
          intros H; cbn; unfold len in *; rewrite replace_nth_length; exact H|].
        rewrite (vc_get_set id j y4 s3 Hv3). unfold y4. cbn [Isolation.vcpu_ctx Isolation.set_vcpu_ctx Isolation.vcpu_state
          Isolation.Context_X Isolation.set_Context_X].
        rewrite Hget3. split; [reflexivity|]. rewrite Hctx3. split.
        + unfold len in *. rewrite replace_nth_length. exact HgX.
        + apply Forall_replace; [exact HgXr|lia]. }
    destruct H4 as (Hinv4 & Hon4 & HX4 & HXr4). pose proof (run_inv_valid c e0 s4 id j m Hinv4) as Hv4.
    pose proof Hinv4 as (R4 & _ & (m4 & Hcl4 & Hnv4) & _ & Hvm4 & Hvc4 & _).
    sstep (Hq1 s4 tr1). sstep (Hq2 s4 tr1).
    destruct (guestWork_ok q2 _ _ _ d s4 tr1 L2 Hv4 HX4) as (w & Hw'). sstep Hw'.
    destruct (apply_keeps c s4 tr1 pm vc id j m4 d R4 L Lp Hcl4 ltac:(lia) Hon4 Hvm4 Hvc4 HX4 HXr4 Hdok)
      as (ex & b & s' & tr' & Hrun & Hpost).
    sstep Hrun.
    exact (iter_end c e0 s4 s' tr' ex b w budget i id j m Hinv4 (run_post_m c s4 s' ex id j m m4 Hpost Hnv4)).
Qed.

(** ** The run *)

(** The run of vCPU [j] of VM [id] through the places [liveVM] and
    [vcpuOf] give, of a live VM of at most 256 vCPUs whose context names
    the vCPU, from [refine_inv], on a platform whose world switch keeps
    [world_ok]: it never fails, returns an exit record of seven words
    and keeps [refine_inv] and [Inv]. *)
Theorem run_keeps : forall c e tr pm vc id j m p, refine_inv c e -> vcpu_lens vc id j ->
  lens pm (vm_valid id) (fun s => nth (Z.to_nat (id - 1)) (Isolation.Engine_vms s) Isolation.zero_vm)
    (fun b s => Isolation.set_Engine_vms (replace_nth (Z.to_nat (id - 1)) b (Isolation.Engine_vms s)) s) ->
  live_caller e (Isolation.mk_Caller id j) m -> Isolation.vm_nvcpu m <= 256 ->
  Isolation.Engine_plat e = Some p -> world_ok p ->
  Isolation.Context_VMID (Isolation.vcpu_ctx (vc_get id j e)) = id ->
  Isolation.Context_VCPU (Isolation.vcpu_ctx (vc_get id j e)) = j ->
  exists ex e' tr', Isolation.Engine_run root pm vc e tr = Ok ex e' tr' /\ refine_inv c e' /\
    (Inv c (abs_ms c e) -> Inv c (abs_ms c e')) /\ len ex = 7 /\ (runs_ok e -> runs_ok e') /\
    (host_lv3 c e -> host_lv3 c e').
Proof.
  intros c e tr pm vc id j m p R L Lp Hcl Hn Hplat Hw Hvm Hvc.
  assert (Hinv : run_inv c e e id j m).
  { split; [exact R|]. split; [exact (fun I => I)|]. split; [exists m; split; [exact Hcl|reflexivity]|].
    split; [reflexivity|]. split; [assumption|]. split; [assumption|]. split; exact (fun H => H). }
  pose proof (run_inv_valid c e e id j m Hinv) as Hv.
  rewrite Engine_run_is_with_false. unfold Engine_run_with.
  destruct (pfield_lens root _ _ _ Isolation.Engine_pool Isolation.set_Engine_pool lens_root ltac:(field_laws))
    as (q & Hq & Lq).
  CodeShadow.step_by (Hq e tr). CodeShadow.step_by (deref_lens _ _ _ _ e tr Lp (proj1 Hv)).
  unfold Isolation.tablePool_pa. rewrite bind_assoc. CodeShadow.step_by (deref_lens _ _ _ _ e tr Lq Logic.I).
  CodeShadow.step. CodeShadow.step_by (deref_lens _ _ _ _ e tr Lp (proj1 Hv)).
  unfold Isolation.VTTBR. CodeShadow.step. unfold Isolation.newWorkBudget. CodeShadow.step.
  match goal with |- context [loop ?f ?cnd ?b ?po ?l0] =>
  destruct (loop_spec f cnd b po
    (fun l s tr' => 0 <= snd l <= 64 /\ run_inv c e s id j m)
    (fun jn s tr' => run_inv c e s id j m /\ match jn with Fall _ => True | Jump ex => len ex = 7 end)
    (fun l => Z.to_nat (64 - snd l))) with (l := l0) (s := e) (tr := tr) as (jn & e' & tr' & Hj & Hinv' & Hjn) end.
  - intros [b i] s tr' (Hi & Hs). cbv beta iota. exists (i <? Isolation.maxEntries). split; [reflexivity|].
    unfold Isolation.maxEntries. split.
    + intros H. apply Z.ltb_lt in H. cbn [snd]. lia.
    + intros _. split; [exact Hs|exact Logic.I].
  - intros [b i] s tr' (Hi & Hs) Hc. injection Hc as Hc. apply Z.ltb_lt in Hc. unfold Isolation.maxEntries in Hc.
    cbn [snd] in Hi. cbv beta iota.
    destruct (run_iter_keeps c e s tr' pm vc id j m p (Z.lor (wrapu 64 (Isolation.Pool_Base (Isolation.tablePool_Pool
      (Isolation.Engine_pool e)) + shl 64 false (wrapu 64 (Isolation.stage2_root (Isolation.vm_s2 (nth (Z.to_nat (id - 1))
      (Isolation.Engine_vms e) Isolation.zero_vm)))) Isolation.PageShift)) (shl 64 false (Z.land (Isolation.stage2_vmid
      (Isolation.vm_s2 (nth (Z.to_nat (id - 1)) (Isolation.Engine_vms e) Isolation.zero_vm))) 255) 48)) b i L Lp Hn
      Hplat Hw Hs) as (r & s' & tr'' & Hr & (Hs' & Hr')).
    exists r, s', tr''. split; [exact Hr|].
    destruct r as [[b' i']|l'|ex].
    + subst i'. eexists. split; [reflexivity|]. cbn [snd].
      rewrite (wraps_small (i + 1)) by lia. split; [split; [lia|exact Hs']|lia].
    + split; [exact Hs'|exact Logic.I].
    + split; [exact Hs'|exact Hr'].
  - split; [cbn; lia|exact Hinv].
  - cbn. lia.
  - CodeShadow.step_by Hj. pose proof Hinv' as (R' & HI' & _ & _ & _ & _ & Hro' & Hlv').
    destruct jn as [[b i]|ex]; eexists _, _, _; (split; [reflexivity|]); (split; [exact R'|]); (split; [exact HI'|]);
      (split; [|exact (conj Hro' Hlv')]); [reflexivity|exact Hjn].
Qed.
