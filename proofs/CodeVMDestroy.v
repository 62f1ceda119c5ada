(** * VM_DESTROY of the translated code: no failure when nothing is shared
      with the host

    Lemmas about proofs/code/Isolation.v, the translation of
    isolation/vm.go. [Engine.VMDestroy] checks the vmid and that no vCPU
    is running, releases the VM's pages in the ledger ([releasePages],
    CodeRelease), frees its stage-2 ([freeStage2], CodeFree), clears the
    slot's fields and zeroes its vCPUs. Every step but the host-unmap
    branch of [releasePages] is proved; so VM_DESTROY never fails for a
    VM that shares no page with the host. *)
From Coq Require Import ZArith Lia List Bool.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodePlace CodeTrack CodeLens CodeLoop CodeLedger CodeVCPU CodeVMCreate
  CodeStage2 CodeTransfer CodeShadow CodePool CodeFree CodeRelease.
Import ListNotations.
Open Scope Z_scope.

(** The place of VM slot [id - 1], as a lens over every engine whose
    slot list is as long. *)
Definition vm_valid (id : Z) (s : Isolation.Engine) : Prop := True /\ 0 <= id - 1 < len (Isolation.Engine_vms s).

Lemma liveVM_lens : forall e tr id, len (Isolation.Engine_vms e) < 2 ^ 64 -> 0 <= id < 2 ^ 64 ->
  exists p, Isolation.Engine_liveVM root id e tr = Ok p e tr /\
  (p = Nil \/ (1 <= id <= len (Isolation.Engine_vms e) /\
     Isolation.vm_live (nth (Z.to_nat (id - 1)) (Isolation.Engine_vms e) Isolation.zero_vm) = true /\
     lens p (vm_valid id) (fun s => nth (Z.to_nat (id - 1)) (Isolation.Engine_vms s) Isolation.zero_vm)
       (fun b s => Isolation.set_Engine_vms (replace_nth (Z.to_nat (id - 1)) b (Isolation.Engine_vms s)) s))).
Proof.
  intros e tr id Hlen Hid.
  assert (Hl0 : 0 <= len (Isolation.Engine_vms e)) by (unfold len; lia).
  unfold Isolation.Engine_liveVM.
  destruct (Z.eqb_spec id 0) as [H0|H0].
  { step. step. eexists. split; [reflexivity|left; reflexivity]. }
  step. unfold wrapu. rewrite (Z.mod_small (len (Isolation.Engine_vms e))) by lia.
  destruct (Z.gtb_spec id (len (Isolation.Engine_vms e))) as [Hg|Hg].
  { step. eexists. split; [reflexivity|left; reflexivity]. }
  rewrite !(Z.mod_small (id - 1)) by lia.
  destruct (nth_error (Isolation.Engine_vms e) (Z.to_nat (id - 1))) as [m|] eqn:Hn.
  2:{ apply nth_error_None in Hn. unfold len in Hg. lia. }
  erewrite bind_ok by (step_by (deref_root e tr); step_by (idx_nth _ (id - 1) m e tr ltac:(lia) Hn); reflexivity).
  cbv beta iota zeta.
  rewrite (nth_error_nth _ _ Isolation.zero_vm Hn).
  destruct (Isolation.vm_live m) eqn:Hlive; cbn [negb].
  2:{ eexists. split; [reflexivity|left; reflexivity]. }
  destruct (pfield_lens root _ _ _ Isolation.Engine_vms Isolation.set_Engine_vms lens_root ltac:(field_laws))
    as (q0 & Hq0 & L0).
  destruct (pindex_lens q0 _ _ _ (id - 1) Isolation.zero_vm L0) as (q & Hq & L).
  step_by (Hq0 e tr). step_by (Hq e tr I ltac:(lia)).
  eexists. split; [reflexivity|]. right. split; [lia|]. split; [reflexivity|]. exact L.
Qed.

(** VM_DESTROY never fails on an engine meeting [mem_ok] and
    [shadow_inv], with its platform and a pool in shape, for any 64-bit
    vmid, provided a live VM at that vmid owns its stage-2's tables
    (distinct and in use) and shares no page with the host. *)
Theorem VMDestroy_unshared_no_failure : forall e tr id,
  mem_ok e -> shadow_inv e -> pool_ok (Isolation.Engine_pool e) -> Isolation.Engine_plat e <> None ->
  len (Isolation.Engine_vms e) < 2 ^ 16 -> 0 <= id < 2 ^ 64 ->
  (forall m, 1 <= id -> nth_error (Isolation.Engine_vms e) (Z.to_nat (id - 1)) = Some m -> Isolation.vm_live m = true ->
     (Isolation.stage2_root (Isolation.vm_s2 m) < 0 \/ owns_tables e (Isolation.stage2_root (Isolation.vm_s2 m))) /\
     (forall p, In p (Isolation.Engine_pages e) -> ~ shared_to_host id p)) ->
  exists st e' tr', Isolation.Engine_VMDestroy root id e tr = Ok st e' tr'.
Proof.
  intros e tr id Hmem Hsh Hpool Hplat Hvms Hid Hvm.
  pose proof Hmem as (Hl & _ & _ & _ & Ht & _).
  assert (Hl0 : 0 <= len (Isolation.Engine_vms e)) by (unfold len; lia).
  destruct (liveVM_lens e tr id ltac:(lia) Hid) as (v & Hv & [-> | (Hr & Hlive & Lv)]);
    unfold Isolation.Engine_VMDestroy; step_by Hv.
  { eexists _, _, _. reflexivity. }
  rewrite (is_nil_lens _ _ _ _ Lv). cbv beta iota.
  set (i := Z.to_nat (id - 1)) in *.
  set (m := nth i (Isolation.Engine_vms e) Isolation.zero_vm) in *.
  assert (Hn : nth_error (Isolation.Engine_vms e) i = Some m) by (apply nth_error_nth'; unfold len in Hr; lia).
  assert (Hm : vm_ok m).
  { destruct Hsh as [[_ Hall] _]. rewrite Forall_forall in Hall. apply Hall. eapply nth_error_In. exact Hn. }
  pose proof Hm as (Hn0 & Hnl & _).
  destruct (Hvm m ltac:(lia) Hn Hlive) as (Hown & Hunsh).
  assert (Hv0 : vm_valid id e) by (split; [exact I|lia]).
  step_by (deref_lens _ _ _ _ e tr Lv Hv0). step_by (deref_lens _ _ _ _ e tr Lv Hv0). fold m.
  assert (Hsub : subslice (Isolation.vm_vcpus m) 0 (Isolation.vm_nvcpu m) e tr =
                 Ok (firstn (Z.to_nat (Isolation.vm_nvcpu m)) (Isolation.vm_vcpus m)) e tr).
  { unfold subslice. destruct (Z.ltb_spec (Isolation.vm_nvcpu m) 0); [lia|].
    destruct (Z.ltb_spec (len (Isolation.vm_vcpus m)) (Isolation.vm_nvcpu m)); [lia|]. rewrite Z.sub_0_r. reflexivity. }
  step_by Hsub.
  assert (Hsl : len (firstn (Z.to_nat (Isolation.vm_nvcpu m)) (Isolation.vm_vcpus m)) = Isolation.vm_nvcpu m).
  { unfold len in *. rewrite firstn_length. lia. }
  rewrite Hsl.
  (* No vCPU running: the busy scan reads and changes nothing. *)
  match goal with |- context [loop (Isolation.vm_nvcpu m) ?c ?b ?po 0] =>
  destruct (loop_spec (Isolation.vm_nvcpu m) c b po
    (fun k st tr' => st = e /\ tr' = tr /\ 0 <= k <= Isolation.vm_nvcpu m)
    (fun _ st tr' => st = e /\ tr' = tr)
    (fun k => Z.to_nat (Isolation.vm_nvcpu m - k))) with (l := 0) (s := e) (tr := tr) as (j & s' & tr' & Hj & -> & ->) end.
  - intros k st tr' (-> & -> & Hk). exists (k <? Isolation.vm_nvcpu m). split; [reflexivity|]. split.
    + intros H. apply Z.ltb_lt in H. lia.
    + intros _. split; reflexivity.
  - intros k st tr' (-> & -> & Hk) Hc. injection Hc as Hc. apply Z.ltb_lt in Hc.
    destruct (idx_in_range (Isolation.vm_vcpus m) k e tr ltac:(lia)) as (c & Hc').
    step_by (deref_lens _ _ _ _ e tr Lv Hv0). fold m. step_by Hc'.
    destruct (_ =? _).
    + eexists _, _, _. split; [reflexivity|]. split; reflexivity.
    + eexists _, _, _. split; [reflexivity|]. eexists. split; [reflexivity|].
      split; [repeat split; lia|]. apply Z2Nat.inj_lt; lia.
  - repeat split; lia.
  - destruct (Z.eq_dec (Isolation.vm_nvcpu m) 0) as [E|E]; [rewrite E; cbn; lia|]. rewrite fuel_nat by lia. lia.
  - step_by Hj. destruct j as [k|x]; [|eexists _, _, _; reflexivity].
    (* The ledger pass. *)
    assert (Hw16 : wrapu 16 id = id) by (unfold wrapu; apply Z.mod_small; lia).
    rewrite Hw16.
    assert (Hpl : len (Isolation.Engine_pages e) < 2 ^ 64).
    { destruct Hl as (Hb & Hs & Hbs & _ & Hlen). unfold len in *. lia. }
    step_by (releasePages_unshared e tr id ltac:(lia) Hpl Hunsh).
    set (e1 := Isolation.set_Engine_pages _ e).
    assert (Hv1 : vm_valid id e1) by exact Hv0.
    (* The stage-2. *)
    destruct (pfield_lens v _ _ _ Isolation.vm_s2 Isolation.set_vm_s2 Lv ltac:(field_laws)) as (qs & Hqs & Ls).
    step_by (Hqs e1 tr).
    destruct (freeStage2_no_failure e1 tr qs _ _ _ Ls Hv1 ltac:(intros q st H; exact H) ltac:(intros; reflexivity)
      Ht Hpool Hplat Hown) as (e2 & tr2 & Hfs & Hneg & Hpos).
    step_by Hfs.
    assert (Hv2 : vm_valid id e2).
    { destruct (Z.ltb_spec (Isolation.stage2_root (Isolation.vm_s2 m)) 0) as [Hr0|Hr0].
      - destruct (Hneg Hr0) as [-> _]. exact Hv1.
      - destruct (Hpos Hr0) as (q & -> & _). apply (lens_valid _ _ _ _ _ _ Ls). exact Hv1. }
    (* The slot's fields. *)
    destruct (pfield_lens v _ _ _ Isolation.vm_live Isolation.set_vm_live Lv ltac:(field_laws)) as (q1 & Hq1 & L1).
    destruct (pfield_lens v _ _ _ Isolation.vm_hasRun Isolation.set_vm_hasRun Lv ltac:(field_laws)) as (q2 & Hq2 & L2).
    destruct (pfield_lens v _ _ _ Isolation.vm_nvcpu Isolation.set_vm_nvcpu Lv ltac:(field_laws)) as (q3 & Hq3 & L3).
    destruct (pfield_lens v _ _ _ Isolation.vm_protected Isolation.set_vm_protected Lv ltac:(field_laws)) as (q4 & Hq4 & L4).
    (* A store into a field of the slot, from a memory where the slot is valid. *)
    Local Ltac store_field Hq L Hv b tr2 Hv' :=
      match type of Hv with vm_valid _ ?s =>
        step_by (Hq s tr2); step_by (store_lens _ _ _ _ s b tr2 L Hv);
        pose proof (lens_valid _ _ _ _ s b L Hv) as Hv'; cbv beta in Hv' end.
    store_field Hq1 L1 Hv2 false tr2 Hv3.
    store_field Hq2 L2 Hv3 false tr2 Hv4.
    store_field Hq3 L3 Hv4 0 tr2 Hv5.
    store_field Hq4 L4 Hv5 false tr2 Hv6.
    match type of Hv6 with vm_valid id ?s6 => set (e6 := s6) in * end.
    step_by (deref_lens _ _ _ _ e6 tr2 Lv Hv6). cbv beta.
    (* The vCPUs, zeroed one by one. *)
    set (nc := len (Isolation.vm_vcpus (nth i (Isolation.Engine_vms e6) Isolation.zero_vm))).
    destruct (pfield_lens v _ _ _ Isolation.vm_vcpus Isolation.set_vm_vcpus Lv ltac:(field_laws)) as (qc & Hqc & Lc).
    pose proof Lc as (ldc & stc & _ & _ & _ & Hvc & Hgc). cbv beta in Hvc, Hgc.
    match goal with |- context [loop nc ?c ?b ?po 0] =>
    destruct (loop_spec nc c b po
      (fun z st tr' => tr' = tr2 /\ vm_valid id st /\ 0 <= z <= nc /\
         len (Isolation.vm_vcpus (nth i (Isolation.Engine_vms st) Isolation.zero_vm)) = nc)
      (fun _ st tr' => tr' = tr2)
      (fun z => Z.to_nat (nc - z))) with (l := 0) (s := e6) (tr := tr2) as (jz & s7 & tr7 & Hjz & ->) end.
    + intros z st tr' (-> & Hvs & Hz & Hlc). exists (z <? nc). split; [reflexivity|]. split.
      * intros H. apply Z.ltb_lt in H. lia.
      * intros _. reflexivity.
    + intros z st tr' (-> & Hvs & Hz & Hlc) Hc. injection Hc as Hc. apply Z.ltb_lt in Hc.
      destruct (pindex_lens qc _ _ _ z Isolation.zero_vcpu Lc) as (qk & Hqk & Lk).
      step_by (Hqc st tr2). step_by (Hqk st tr2 Hvs ltac:(cbv beta; lia)).
      erewrite bind_ok by (apply (store_lens _ _ _ _ st _ tr2 Lk); cbv beta; split; [exact Hvs|lia]).
      cbv beta iota zeta.
      eexists _, _, _. split; [reflexivity|]. eexists. split; [reflexivity|].
      split; [|apply Z2Nat.inj_lt; lia].
      split; [reflexivity|]. split; [|split; [lia|]].
      * apply Hvc. exact Hvs.
      * (* the slot keeps as many vCPUs *)
        match goal with |- len ?x = nc =>
          replace x with (replace_nth (Z.to_nat z) (Isolation.mk_vcpu Isolation.zero_VCPUState
            Isolation.zero_pendingReply Isolation.zero_MMIORead Isolation.zero_Context)
            (Isolation.vm_vcpus (nth i (Isolation.Engine_vms st) Isolation.zero_vm)))
            by (symmetry; apply Hgc; exact Hvs) end.
        rewrite len_replace. exact Hlc.
    + split; [reflexivity|]. split; [exact Hv6|]. split; [unfold nc, len; lia|reflexivity].
    + destruct (Z.eq_dec nc 0) as [E|E]; [rewrite E; cbn; lia|]. rewrite fuel_nat by (unfold nc, len in *; lia). lia.
    + step_by Hjz. destruct jz as [z|[]]. eexists _, _, _. reflexivity.
Qed.
