(** * VM_DESTROY of the translated code: no failure when nothing is shared
      with the host, and [mem_ok] and [shadow_inv] kept

    Lemmas about proofs/code/Isolation.v, the translation of
    isolation/vm.go. [Engine.VMDestroy] checks the vmid and that no vCPU
    is running, releases the VM's pages in the ledger ([releasePages],
    CodeRelease), frees its stage-2 ([freeStage2], CodeFree), clears the
    slot's fields and zeroes its vCPUs. Every step but [releasePages] is
    proved for whatever engine that ledger pass leaves, given its slots,
    platform, tables and pool in shape and the VM's stage-2 owning its
    tables there ([VMDestroy_cases_with]): VM_DESTROY then never fails,
    and leaves the engine as it was or the slot [destroyed] (no stage-2,
    not live, not protected, as many vCPUs, every free bit outside the
    VM's tables kept and a counted pool left counted). With
    [releasePages] for a VM that shares no page with the host
    (CodeRelease), VM_DESTROY of such a VM never fails, releases the
    ledger page by page ([release_page]; [VMDestroy_unshared_cases]) and
    keeps [mem_ok] and [shadow_inv] (the slot's stage-2 is gone, its
    vCPUs zeroed); CodeReleaseShared.v does the same for a VM sharing
    pages with the host. *)
From Coq Require Import ZArith Lia List Bool.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodePlace CodeTrack CodeLens CodeLoop CodeLedger CodeVCPU CodeVCPUInit CodeVMCreate
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
  pose proof (pfield_lens root _ _ _ Isolation.Engine_vms Isolation.set_Engine_vms lens_root ltac:(field_laws))
    as (q0 & Hq0 & L0).
  pose proof (pindex_lens q0 _ _ _ (id - 1) Isolation.zero_vm L0) as (q & Hq & L).
  step_by (Hq0 e tr). step_by (Hq e tr I ltac:(lia)).
  eexists. split; [reflexivity|]. right. split; [lia|]. split; [reflexivity|]. exact L.
Qed.

(** ** What VM_DESTROY keeps

    Along VM_DESTROY of the VM [m] in slot [i], the memory keeps the
    engine's configuration, as many ledger entries, the pool's tables and
    shape, the other slots, and slot [i]'s shadow state; slot [i] stays
    [vm_ok] and its stage-2 is [m]'s or absent; and [destroy_pool] holds. *)

(** The host's stage-2 record and the platform are kept, so is every free
    bit outside [m]'s stage-2's tables, and a counted pool stays counted. *)
Definition destroy_pool (e : Isolation.Engine) (m : Isolation.vm) (s : Isolation.Engine) : Prop :=
  Isolation.Engine_host s = Isolation.Engine_host e /\ Isolation.Engine_plat s = Isolation.Engine_plat e /\
  (forall x, 0 <= x -> ~ In x (s2_tables e (Isolation.stage2_root (Isolation.vm_s2 m))) ->
     free_bit (Isolation.Engine_pool s) x = free_bit (Isolation.Engine_pool e) x) /\
  (pool_counted (Isolation.Engine_pool e) -> pool_counted (Isolation.Engine_pool s)).

Definition destroy_inv (e : Isolation.Engine) (i : nat) (m : Isolation.vm) (s : Isolation.Engine) : Prop :=
  Isolation.Engine_cfg s = Isolation.Engine_cfg e /\ len (Isolation.Engine_pages s) = len (Isolation.Engine_pages e) /\
  tables s = tables e /\ pool_base s = pool_base e /\ pool_ok (Isolation.Engine_pool s) /\
  length (Isolation.Engine_vms s) = length (Isolation.Engine_vms e) /\
  (forall j, j <> i -> nth j (Isolation.Engine_vms s) Isolation.zero_vm = nth j (Isolation.Engine_vms e) Isolation.zero_vm) /\
  Isolation.vm_shadow (nth i (Isolation.Engine_vms s) Isolation.zero_vm) = Isolation.vm_shadow m /\
  len (Isolation.vm_vcpus (nth i (Isolation.Engine_vms s) Isolation.zero_vm)) = len (Isolation.vm_vcpus m) /\
  (Isolation.stage2_root (Isolation.vm_s2 (nth i (Isolation.Engine_vms s) Isolation.zero_vm)) < 0 \/
   Isolation.vm_s2 (nth i (Isolation.Engine_vms s) Isolation.zero_vm) = Isolation.vm_s2 m) /\
  vm_ok (nth i (Isolation.Engine_vms s) Isolation.zero_vm) /\ destroy_pool e m s.

Lemma destroy_inv_slot : forall e i m s x, destroy_inv e i m s -> (i < length (Isolation.Engine_vms s))%nat ->
  vm_ok x -> Isolation.vm_shadow x = Isolation.vm_shadow m -> len (Isolation.vm_vcpus x) = len (Isolation.vm_vcpus m) ->
  (Isolation.stage2_root (Isolation.vm_s2 x) < 0 \/ Isolation.vm_s2 x = Isolation.vm_s2 m) ->
  destroy_inv e i m (Isolation.set_Engine_vms (replace_nth i x (Isolation.Engine_vms s)) s).
Proof.
  intros e i m s x (A & B & C & D & E & F & G & H & L & I' & J & K) Hi Hx Hsh Hlen Hs2.
  unfold destroy_inv, tables, pool_base in *.
  cbn [Isolation.set_Engine_vms Isolation.Engine_cfg Isolation.Engine_pages Isolation.Engine_pool Isolation.Engine_vms].
  rewrite replace_nth_length, nth_replace by exact Hi.
  split; [exact A|]. split; [exact B|]. split; [exact C|]. split; [exact D|]. split; [exact E|].
  split; [exact F|]. split; [|split; [exact Hsh|split; [exact Hlen|split; [exact Hs2|split; [exact Hx|exact K]]]]].
  intros j Hj. rewrite nth_replace_other by (intros E'; apply Hj; symmetry; exact E'). apply G. exact Hj.
Qed.

Lemma destroy_inv_pool : forall e i m s q, destroy_inv e i m s ->
  Isolation.tablePool_Pool q = Isolation.tablePool_Pool (Isolation.Engine_pool s) ->
  same_shape (Isolation.Engine_pool s) q ->
  (forall x, 0 <= x -> ~ In x (s2_tables e (Isolation.stage2_root (Isolation.vm_s2 m))) ->
     free_bit q x = free_bit (Isolation.Engine_pool s) x) ->
  (pool_counted (Isolation.Engine_pool s) -> pool_counted q) ->
  destroy_inv e i m (Isolation.set_Engine_pool q s).
Proof.
  intros e i m s q (A & B & C & D & E & F & G & H & L & I' & J & Hh & Hp & Hb & Hc) HP Hsh Hout Hcq.
  unfold destroy_inv, destroy_pool, tables, pool_base in *.
  cbn [Isolation.set_Engine_pool Isolation.Engine_cfg Isolation.Engine_pages Isolation.Engine_pool Isolation.Engine_vms
       Isolation.Engine_host Isolation.Engine_plat].
  rewrite HP.
  split; [exact A|]. split; [exact B|]. split; [exact C|]. split; [exact D|].
  split; [eapply same_shape_ok; eassumption|]. do 6 (split; [assumption|]).
  split; [exact Hh|]. split; [exact Hp|].
  split; [intros x Hx0 Hx; rewrite (Hout x Hx0 Hx); exact (Hb x Hx0 Hx)|].
  intros H0. exact (Hcq (Hc H0)).
Qed.

Lemma destroy_inv_end : forall e i m s, mem_ok e -> shadow_inv e ->
  nth_error (Isolation.Engine_vms e) i = Some m -> destroy_inv e i m s ->
  Isolation.stage2_root (Isolation.vm_s2 (nth i (Isolation.Engine_vms s) Isolation.zero_vm)) < 0 ->
  mem_ok s /\ shadow_inv s.
Proof.
  intros e i m s (Hl & Hb & Hsz & Hlv & Ht & Hs2) ((Hlv' & Hvm) & Hsh) Hn (A & B & C & D & E & F & G & H & L & I' & J & _) Hr.
  assert (Hslot : forall (P : Isolation.vm -> Prop), Forall P (Isolation.Engine_vms e) ->
            P (nth i (Isolation.Engine_vms s) Isolation.zero_vm) -> Forall P (Isolation.Engine_vms s)).
  { intros P Hall Hi. rewrite Forall_forall in *. intros x Hx. apply In_nth with (d := Isolation.zero_vm) in Hx as (j & Hj & <-).
    destruct (Nat.eq_dec j i) as [->|Hne]; [exact Hi|]. rewrite (G j Hne). apply Hall. apply nth_In. lia. }
  assert (Hlen : len (Isolation.Engine_vms s) = len (Isolation.Engine_vms e)) by (unfold len; rewrite F; reflexivity).
  split; [split; [|split; [|split; [|split; [|split]]]]|split; [split|]].
  - unfold ledger_ok in *. rewrite A, B. exact Hl.
  - rewrite A. exact Hb.
  - rewrite A. exact Hsz.
  - rewrite Hlen. exact Hlv.
  - unfold tables_ok in *. rewrite C, D. exact Ht.
  - apply Hslot; [unfold s2_ok in *; rewrite C, D; exact Hs2|]. left. exact Hr.
  - rewrite Hlen. exact Hlv'.
  - apply Hslot; [exact Hvm|exact J].
  - apply Hslot; [exact Hsh|]. rewrite H. rewrite Forall_forall in Hsh. apply Hsh. eapply nth_error_In. exact Hn.
Qed.

Definition gone (i : nat) (s : Isolation.Engine) : Prop :=
  Isolation.stage2_root (Isolation.vm_s2 (nth i (Isolation.Engine_vms s) Isolation.zero_vm)) < 0.

Lemma destroy_inv_refl : forall e i m, nth_error (Isolation.Engine_vms e) i = Some m -> vm_ok m ->
  pool_ok (Isolation.Engine_pool e) -> destroy_inv e i m e.
Proof.
  intros e i m Hn Hm Hp. unfold destroy_inv.
  rewrite (nth_error_nth _ _ Isolation.zero_vm Hn). split; [reflexivity|]. split; [reflexivity|]. split; [reflexivity|]. split; [reflexivity|]. split; [exact Hp|]. split; [reflexivity|]. split; [reflexivity|]. split; [reflexivity|]. split; [reflexivity|]. split; [right; reflexivity|]. split; [exact Hm|].
  split; [reflexivity|]. split; [reflexivity|]. split; [reflexivity|]. exact (fun H => H).
Qed.

Lemma destroy_inv_pages : forall e i m s ps, destroy_inv e i m s -> length ps = length (Isolation.Engine_pages s) ->
  destroy_inv e i m (Isolation.set_Engine_pages ps s).
Proof.
  intros e i m s ps (A & B & C & D & E & F & G & H & L & I' & J & K) Hl. unfold destroy_inv, tables, pool_base in *.
  cbn [Isolation.set_Engine_pages Isolation.Engine_cfg Isolation.Engine_pages Isolation.Engine_pool Isolation.Engine_vms].
  split; [exact A|]. split; [unfold len in *; rewrite Hl; exact B|]. split; [exact C|]. split; [exact D|]. split; [exact E|]. split; [exact F|]. split; [exact G|]. split; [exact H|]. split; [exact L|]. split; [exact I'|]. split; [exact J|exact K].
Qed.

Lemma destroy_inv_ok : forall e i m s, destroy_inv e i m s -> vm_ok (nth i (Isolation.Engine_vms s) Isolation.zero_vm).
Proof. intros e i m s D. apply D. Qed.
Lemma destroy_inv_shadow : forall e i m s, destroy_inv e i m s ->
  Isolation.vm_shadow (nth i (Isolation.Engine_vms s) Isolation.zero_vm) = Isolation.vm_shadow m.
Proof. intros e i m s D. apply D. Qed.
Lemma destroy_inv_len : forall e i m s, destroy_inv e i m s ->
  len (Isolation.vm_vcpus (nth i (Isolation.Engine_vms s) Isolation.zero_vm)) = len (Isolation.vm_vcpus m).
Proof. intros e i m s D. apply D. Qed.
Lemma destroy_inv_s2 : forall e i m s, destroy_inv e i m s ->
  Isolation.stage2_root (Isolation.vm_s2 (nth i (Isolation.Engine_vms s) Isolation.zero_vm)) < 0 \/
  Isolation.vm_s2 (nth i (Isolation.Engine_vms s) Isolation.zero_vm) = Isolation.vm_s2 m.
Proof. intros e i m s D. apply D. Qed.

Lemma slot_lt : forall e i m s, destroy_inv e i m s -> (i < length (Isolation.Engine_vms e))%nat ->
  (i < length (Isolation.Engine_vms s))%nat.
Proof. intros e i m s D H. destruct D as (_ & _ & _ & _ & _ & F & _). rewrite F. exact H. Qed.

Lemma vm_ok_s2 : forall y b, vm_ok y -> vm_ok (Isolation.set_vm_s2 b y).
Proof. intros [] b H. exact H. Qed.
Lemma vm_ok_live : forall y, vm_ok y -> vm_ok (Isolation.set_vm_live false y).
Proof. intros [] H. exact H. Qed.
Lemma vm_ok_hasRun : forall y, vm_ok y -> vm_ok (Isolation.set_vm_hasRun false y).
Proof. intros [] H. exact H. Qed.
Lemma vm_ok_protected : forall y, vm_ok y -> vm_ok (Isolation.set_vm_protected false y).
Proof. intros [] H. exact H. Qed.
Lemma vm_ok_nvcpu0 : forall y, vm_ok y -> vm_ok (Isolation.set_vm_nvcpu 0 y).
Proof. intros [] (A & B & C). unfold vm_ok in *; cbn in *. unfold len in *. repeat split; try lia; exact C. Qed.

(** The live VM at vmid [id], if any, has no stage-2 or owns its tables. *)
Definition owned_at (e : Isolation.Engine) (id : Z) : Prop :=
  forall m, 1 <= id -> nth_error (Isolation.Engine_vms e) (Z.to_nat (id - 1)) = Some m -> Isolation.vm_live m = true ->
    Isolation.stage2_root (Isolation.vm_s2 m) < 0 \/ owns_tables e (Isolation.stage2_root (Isolation.vm_s2 m)).

(** The live VM at vmid [id], if any, shares no page with the host. *)
Definition unshared_at (e : Isolation.Engine) (id : Z) : Prop :=
  forall m, 1 <= id -> nth_error (Isolation.Engine_vms e) (Z.to_nat (id - 1)) = Some m -> Isolation.vm_live m = true ->
    forall p, In p (Isolation.Engine_pages e) -> ~ shared_to_host id p.

(** What VM_DESTROY leaves of slot [i], which held the VM [m]:
    [destroy_inv], no stage-2, not live and not protected. *)
Definition destroyed (e : Isolation.Engine) (i : nat) (m : Isolation.vm) (s : Isolation.Engine) : Prop :=
  destroy_inv e i m s /\ gone i s /\ Isolation.vm_live (nth i (Isolation.Engine_vms s) Isolation.zero_vm) = false /\
  Isolation.vm_protected (nth i (Isolation.Engine_vms s) Isolation.zero_vm) = false.

(** No vCPU of the VM is running: the check VM_DESTROY passes. *)
Definition idle (m : Isolation.vm) : Prop :=
  forall j, 0 <= j < Isolation.vm_nvcpu m ->
    Isolation.vcpu_state (nth (Z.to_nat j) (Isolation.vm_vcpus m) Isolation.zero_vcpu) <> Isolation.VCPURunning.

(** The slot destroyed from an engine whose ledger alone differs, with as
    many entries, is destroyed from this one: [destroy_inv] reads of the
    ledger only its length. *)
Lemma destroyed_pages : forall e ps i m s, List.length ps = List.length (Isolation.Engine_pages e) ->
  destroyed (Isolation.set_Engine_pages ps e) i m s -> destroyed e i m s.
Proof.
  intros e ps i m s Hl ((A & B & Rest) & G). split; [|exact G]. split; [exact A|]. split; [|exact Rest].
  rewrite B. cbn [Isolation.Engine_pages Isolation.set_Engine_pages]. unfold len. rewrite Hl. reflexivity.
Qed.

(** VM_DESTROY, with what its ledger pass does given as a hypothesis:
    when [releasePages] of the live VM [m] at the vmid (if any) ends in
    an engine with the same VM slots, a platform, whole tables, a pool in
    shape and [m]'s stage-2 absent or owning its tables, VM_DESTROY never
    fails on an engine meeting [shadow_inv] with fewer than 2^16 slots,
    for any 64-bit vmid: it leaves the engine as it was with an error (no
    live VM at the vmid, or a vCPU running), or answers SUCCESS having
    run that ledger pass and then [destroyed] the slot of the live,
    [idle] VM at the vmid. *)
Theorem VMDestroy_cases_with : forall e tr id,
  shadow_inv e -> len (Isolation.Engine_vms e) < 2 ^ 16 -> 0 <= id < 2 ^ 64 ->
  (forall m, 1 <= id -> nth_error (Isolation.Engine_vms e) (Z.to_nat (id - 1)) = Some m -> Isolation.vm_live m = true ->
     exists e1 tr1, Isolation.Engine_releasePages root id e tr = Ok tt e1 tr1 /\
       Isolation.Engine_vms e1 = Isolation.Engine_vms e /\ Isolation.Engine_plat e1 <> None /\
       tables_ok e1 /\ pool_ok (Isolation.Engine_pool e1) /\
       (Isolation.stage2_root (Isolation.vm_s2 m) < 0 \/ owns_tables e1 (Isolation.stage2_root (Isolation.vm_s2 m)))) ->
  exists st e' tr', Isolation.Engine_VMDestroy root id e tr = Ok st e' tr' /\
    ((e' = e /\ st <> Abi.Success) \/
     exists i m e1 tr1, nth_error (Isolation.Engine_vms e) i = Some m /\ Isolation.vm_live m = true /\
       i = Z.to_nat (id - 1) /\ Isolation.Engine_releasePages root id e tr = Ok tt e1 tr1 /\
       destroyed e1 i m e' /\ Isolation.Engine_pages e' = Isolation.Engine_pages e1 /\
       st = Abi.Success /\ idle m /\ 1 <= id).
Proof.
  intros e tr id Hsh Hvms Hid Hrel_at.
  assert (Hl0 : 0 <= len (Isolation.Engine_vms e)) by (unfold len; lia).
  pose proof (liveVM_lens e tr id ltac:(lia) Hid) as (v & Hv & [-> | (Hr & Hlive & Lv)]);
    unfold Isolation.Engine_VMDestroy; step_by Hv.
  { eexists _, _, _. split; [reflexivity|]. left. split; [reflexivity|intros E; cbv in E; discriminate E]. }
  rewrite (is_nil_lens _ _ _ _ Lv). cbv beta iota.
  set (i := Z.to_nat (id - 1)) in *.
  set (m := nth i (Isolation.Engine_vms e) Isolation.zero_vm) in *.
  assert (Hn : nth_error (Isolation.Engine_vms e) i = Some m) by (apply nth_error_nth'; unfold len in Hr; lia).
  assert (Hm : vm_ok m).
  { destruct Hsh as [[_ Hall] _]. rewrite Forall_forall in Hall. apply Hall. eapply nth_error_In. exact Hn. }
  pose proof Hm as (Hn0 & Hnl & _).
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
    (fun k st tr' => st = e /\ tr' = tr /\ 0 <= k <= Isolation.vm_nvcpu m /\
       forall x, 0 <= x < k -> Isolation.vcpu_state (nth (Z.to_nat x) (Isolation.vm_vcpus m) Isolation.zero_vcpu) <>
                                Isolation.VCPURunning)
    (fun j st tr' => st = e /\ tr' = tr /\ match j with Fall _ => idle m | Jump x => x = Abi.Busy end)
    (fun k => Z.to_nat (Isolation.vm_nvcpu m - k))) with (l := 0) (s := e) (tr := tr)
    as (j & s' & tr' & Hj & -> & -> & Hjq) end.
  - intros k st tr' (-> & -> & Hk & Hscan). exists (k <? Isolation.vm_nvcpu m). split; [reflexivity|]. split.
    + intros H. apply Z.ltb_lt in H. lia.
    + intros H. apply Z.ltb_ge in H. split; [reflexivity|]. split; [reflexivity|]. intros x Hx. apply Hscan. lia.
  - intros k st tr' (-> & -> & Hk & Hscan) Hc. injection Hc as Hc. apply Z.ltb_lt in Hc.
    destruct (nth_error (Isolation.vm_vcpus m) (Z.to_nat k)) as [c|] eqn:Hnc;
      [|apply nth_error_None in Hnc; unfold len in *; lia].
    pose proof (idx_nth (Isolation.vm_vcpus m) k c e tr ltac:(lia) Hnc) as Hc'.
    step_by (deref_lens _ _ _ _ e tr Lv Hv0). fold m. step_by Hc'.
    destruct (_ =? _) eqn:Hrunning.
    + eexists _, _, _. split; [reflexivity|]. split; [reflexivity|]. split; reflexivity.
    + eexists _, _, _. split; [reflexivity|]. eexists. split; [reflexivity|].
      split; [|apply Z2Nat.inj_lt; lia].
      split; [reflexivity|]. split; [reflexivity|]. split; [lia|].
      intros x Hx. destruct (Z.eq_dec x k) as [->|Ne]; [|apply Hscan; lia].
      rewrite (nth_error_nth _ _ Isolation.zero_vcpu Hnc). apply Z.eqb_neq. exact Hrunning.
  - split; [reflexivity|]. split; [reflexivity|]. split; [lia|]. intros x Hx. lia.
  - destruct (Z.eq_dec (Isolation.vm_nvcpu m) 0) as [E|E]; [rewrite E; cbn; lia|]. rewrite fuel_nat by lia. lia.
  - step_by Hj. destruct j as [k|x];
      [|subst x; eexists _, _, _; split; [reflexivity|]; left; split; [reflexivity|intros E; cbv in E; discriminate E]].
    (* The ledger pass. *)
    assert (Hw16 : wrapu 16 id = id) by (unfold wrapu; apply Z.mod_small; lia).
    rewrite Hw16.
    destruct (Hrel_at m ltac:(lia) Hn Hlive) as (e1 & trR & Hrel & Hvms1 & Hplat1 & Ht1 & Hpool1 & Hown1).
    step_by Hrel.
    assert (Hn1 : nth_error (Isolation.Engine_vms e1) i = Some m) by (rewrite Hvms1; exact Hn).
    pose proof (destroy_inv_refl e1 i m Hn1 Hm Hpool1) as D1.
    assert (Hv1 : vm_valid id e1) by (split; [exact I|]; rewrite Hvms1; exact (proj2 Hv0)).
    (* The stage-2. *)
    pose proof (pfield_lens v _ _ _ Isolation.vm_s2 Isolation.set_vm_s2 Lv ltac:(field_laws)) as (qs & Hqs & Ls).
    step_by (Hqs e1 trR).
    assert (Em1 : nth i (Isolation.Engine_vms e1) Isolation.zero_vm = m) by (apply nth_error_nth; exact Hn1).
    pose proof Hown1 as Hown1'. rewrite <- Em1 in Hown1'.
    pose proof (freeStage2_no_failure e1 trR qs _ _ _ Ls Hv1 ltac:(intros q' st H; exact H) ltac:(intros; reflexivity)
      Ht1 Hpool1 Hplat1 Hown1') as (e2 & tr2 & Hfs & Hneg & Hpos).
    rewrite Em1 in Hneg, Hpos.
    step_by Hfs.
    assert (Hv2 : vm_valid id e2 /\ destroy_inv e1 i m e2 /\ gone i e2 /\ Isolation.Engine_pages e2 = Isolation.Engine_pages e1).
    { destruct (Z.ltb_spec (Isolation.stage2_root (Isolation.vm_s2 m)) 0) as [Hr0|Hr0].
      - pose proof (Hneg Hr0) as [-> _]. split; [exact Hv1|]. split; [exact D1|].
        split; [unfold gone; rewrite Em1; exact Hr0|reflexivity].
      - pose proof (Hpos Hr0) as (q & -> & _ & HPq & Hshq & _ & Hout & Hcq). split; [apply (lens_valid _ _ _ _ _ _ Ls); exact Hv1|].
        pose proof (destroy_inv_pool e1 i m e1 q D1 HPq Hshq Hout Hcq) as D1'.
        assert (Hi1 : (i < List.length (Isolation.Engine_vms (Isolation.set_Engine_pool q e1)))%nat)
          by (cbn; rewrite Hvms1; unfold len in Hr; lia).
        cbv beta. split; [|split; [|reflexivity]].
        + apply destroy_inv_slot; [exact D1'|exact Hi1| | | |].
          * apply vm_ok_s2. exact (destroy_inv_ok _ _ _ _ D1').
          * cbn. rewrite Em1. reflexivity.
          * cbn. rewrite Em1. reflexivity.
          * left. cbn. lia.
        + unfold gone. cbn [Isolation.set_Engine_vms Isolation.Engine_vms]. rewrite nth_replace by exact Hi1. cbn. lia. }
    destruct Hv2 as (Hv2 & D2 & G2 & E2).
    (* The slot's fields. *)
    pose proof (pfield_lens v _ _ _ Isolation.vm_live Isolation.set_vm_live Lv ltac:(field_laws)) as (q1 & Hq1 & L1).
    pose proof (pfield_lens v _ _ _ Isolation.vm_hasRun Isolation.set_vm_hasRun Lv ltac:(field_laws)) as (q2 & Hq2 & L2).
    pose proof (pfield_lens v _ _ _ Isolation.vm_nvcpu Isolation.set_vm_nvcpu Lv ltac:(field_laws)) as (q3 & Hq3 & L3).
    pose proof (pfield_lens v _ _ _ Isolation.vm_protected Isolation.set_vm_protected Lv ltac:(field_laws)) as (q4 & Hq4 & L4).
    (* A store into a field of the slot, from a memory where the slot is valid. *)
    Local Ltac store_field Hq L Hv b tr2 Hv' :=
      match type of Hv with vm_valid _ ?s =>
        step_by (Hq s tr2); step_by (store_lens _ _ _ _ s b tr2 L Hv);
        pose proof (lens_valid _ _ _ _ s b L Hv) as Hv'; cbv beta in Hv' end.
    (* ... and keeps [destroy_inv] and the absent stage-2. *)
    Local Ltac keep e1 m Hie D G Hv D' G' Hok :=
      match type of Hv with vm_valid _ (Isolation.set_Engine_vms (replace_nth ?i ?x (Isolation.Engine_vms ?s)) ?s) =>
        assert (Hi' : (i < List.length (Isolation.Engine_vms s))%nat)
          by exact (slot_lt _ _ _ _ D Hie);
        assert (D' : destroy_inv e1 i m (Isolation.set_Engine_vms (replace_nth i x (Isolation.Engine_vms s)) s))
          by (apply destroy_inv_slot; [exact D|exact Hi'|apply Hok; exact (destroy_inv_ok _ _ _ _ D)|
                                       exact (destroy_inv_shadow _ _ _ _ D)|exact (destroy_inv_len _ _ _ _ D)|
                                       exact (destroy_inv_s2 _ _ _ _ D)]);
        assert (G' : gone i (Isolation.set_Engine_vms (replace_nth i x (Isolation.Engine_vms s)) s))
          by (unfold gone in *; cbn [Isolation.set_Engine_vms Isolation.Engine_vms]; rewrite nth_replace by exact Hi'; exact G);
        clear Hi' end.
    assert (Hie : (i < List.length (Isolation.Engine_vms e1))%nat) by (rewrite Hvms1; unfold i; unfold len in Hr; lia).
    (* ... and the slot, once not live, stays so. *)
    Local Ltac keep_dead K Hv K' :=
      match type of Hv with vm_valid _ (Isolation.set_Engine_vms (replace_nth ?i ?x (Isolation.Engine_vms ?s)) ?s) =>
        assert (K' : Isolation.vm_live (nth i (Isolation.Engine_vms
                       (Isolation.set_Engine_vms (replace_nth i x (Isolation.Engine_vms s)) s)) Isolation.zero_vm) = false)
          by (cbn [Isolation.set_Engine_vms Isolation.Engine_vms];
              rewrite nth_replace by (destruct Hv as [_ Hv']; cbn [Isolation.set_Engine_vms Isolation.Engine_vms] in Hv';
                                      rewrite len_replace in Hv'; unfold len in Hv'; lia);
              exact K) end.
    store_field Hq1 L1 Hv2 false tr2 Hv3. keep e1 m Hie D2 G2 Hv3 D3 G3 vm_ok_live.
    assert (K3 : Isolation.vm_live (nth i (Isolation.Engine_vms
                   (Isolation.set_Engine_vms (replace_nth i (Isolation.set_vm_live false (nth i (Isolation.Engine_vms e2) Isolation.zero_vm))
                     (Isolation.Engine_vms e2)) e2)) Isolation.zero_vm) = false)
      by (cbn [Isolation.set_Engine_vms Isolation.Engine_vms]; rewrite nth_replace by exact (slot_lt _ _ _ _ D2 Hie); reflexivity).
    store_field Hq2 L2 Hv3 false tr2 Hv4. keep e1 m Hie D3 G3 Hv4 D4 G4 vm_ok_hasRun. keep_dead K3 Hv4 K4.
    store_field Hq3 L3 Hv4 0 tr2 Hv5. keep e1 m Hie D4 G4 Hv5 D5 G5 vm_ok_nvcpu0. keep_dead K4 Hv5 K5.
    store_field Hq4 L4 Hv5 false tr2 Hv6. keep e1 m Hie D5 G5 Hv6 D6 G6 vm_ok_protected. keep_dead K5 Hv6 K6.
    match type of Hv6 with vm_valid _ (Isolation.set_Engine_vms (replace_nth ?j ?x (Isolation.Engine_vms ?s)) ?s) =>
      assert (P6 : Isolation.vm_protected (nth j (Isolation.Engine_vms
                     (Isolation.set_Engine_vms (replace_nth j x (Isolation.Engine_vms s)) s)) Isolation.zero_vm) = false)
        by (cbn [Isolation.set_Engine_vms Isolation.Engine_vms]; rewrite nth_replace by exact (slot_lt _ _ _ _ D5 Hie);
            reflexivity) end.
    match type of Hv6 with vm_valid id ?s6 => set (e6 := s6) in * end.
    step_by (deref_lens _ _ _ _ e6 tr2 Lv Hv6). cbv beta.
    (* The vCPUs, zeroed one by one. *)
    set (nc := len (Isolation.vm_vcpus (nth i (Isolation.Engine_vms e6) Isolation.zero_vm))).
    pose proof (pfield_lens v _ _ _ Isolation.vm_vcpus Isolation.set_vm_vcpus Lv ltac:(field_laws)) as (qc & Hqc & Lc).
    pose proof Lc as (ldc & stc & _ & _ & _ & Hvc & Hgc). cbv beta in Hvc, Hgc.
    match goal with |- context [loop nc ?c ?b ?po 0] =>
    destruct (loop_spec nc c b po
      (fun z st tr' => tr' = tr2 /\ vm_valid id st /\ 0 <= z <= nc /\
         len (Isolation.vm_vcpus (nth i (Isolation.Engine_vms st) Isolation.zero_vm)) = nc /\
         destroy_inv e1 i m st /\ gone i st /\ Isolation.vm_live (nth i (Isolation.Engine_vms st) Isolation.zero_vm) = false /\
         Isolation.vm_protected (nth i (Isolation.Engine_vms st) Isolation.zero_vm) = false /\
         Isolation.Engine_pages st = Isolation.Engine_pages e1)
      (fun _ st tr' => tr' = tr2 /\ destroyed e1 i m st /\ Isolation.Engine_pages st = Isolation.Engine_pages e1)
      (fun z => Z.to_nat (nc - z))) with (l := 0) (s := e6) (tr := tr2) as (jz & s7 & tr7 & Hjz & -> & X7 & E7) end.
    + intros z st tr' (-> & Hvs & Hz & Hlc & Ds & Gs & Ks & Ps & Es). exists (z <? nc). split; [reflexivity|]. split.
      * intros H. apply Z.ltb_lt in H. lia.
      * intros _. split; [reflexivity|]. split; [split; [exact Ds|]; split; [exact Gs|]; split; assumption|exact Es].
    + intros z st tr' (-> & Hvs & Hz & Hlc & Ds & Gs & Ks & Ps & Es) Hc. injection Hc as Hc. apply Z.ltb_lt in Hc.
      pose proof (pindex_lens qc _ _ _ z Isolation.zero_vcpu Lc) as (qk & Hqk & Lk).
      step_by (Hqc st tr2). step_by (Hqk st tr2 Hvs ltac:(cbv beta; lia)).
      erewrite bind_ok by (apply (store_lens _ _ _ _ st _ tr2 Lk); cbv beta; split; [exact Hvs|lia]).
      cbv beta iota zeta.
      eexists _, _, _. split; [reflexivity|]. eexists. split; [reflexivity|].
      split; [|apply Z2Nat.inj_lt; lia].
      split; [reflexivity|]. split; [|split; [lia|split]].
      * apply Hvc. exact Hvs.
      * (* the slot keeps as many vCPUs *)
        match goal with |- len ?x = nc =>
          replace x with (replace_nth (Z.to_nat z) (Isolation.mk_vcpu Isolation.zero_VCPUState
            Isolation.zero_pendingReply Isolation.zero_MMIORead Isolation.zero_Context)
            (Isolation.vm_vcpus (nth i (Isolation.Engine_vms st) Isolation.zero_vm)))
            by (symmetry; apply Hgc; exact Hvs) end.
        rewrite len_replace. exact Hlc.
      * assert (Hi' : (i < List.length (Isolation.Engine_vms st))%nat) by (destruct Hvs as [_ Hvs]; unfold len in Hvs; lia).
        split; [|split; [|split; [|split]]].
        -- apply destroy_inv_slot; [exact Ds|exact Hi'| |exact (destroy_inv_shadow _ _ _ _ Ds)| |exact (destroy_inv_s2 _ _ _ _ Ds)].
           ++ apply vm_ok_put_vcpu; [exact (destroy_inv_ok _ _ _ _ Ds)|reflexivity].
           ++ cbn [Isolation.vm_vcpus Isolation.set_vm_vcpus]. rewrite len_replace. exact (destroy_inv_len _ _ _ _ Ds).
        -- unfold gone in *. cbn [Isolation.set_Engine_vms Isolation.Engine_vms]. rewrite nth_replace by exact Hi'. exact Gs.
        -- cbn [Isolation.set_Engine_vms Isolation.Engine_vms]. rewrite nth_replace by exact Hi'. exact Ks.
        -- cbn [Isolation.set_Engine_vms Isolation.Engine_vms]. rewrite nth_replace by exact Hi'. exact Ps.
        -- exact Es.
    + split; [reflexivity|]. split; [exact Hv6|]. split; [unfold nc, len; lia|]. split; [reflexivity|]. split; [exact D6|].
      split; [exact G6|]. split; [exact K6|]. split; [exact P6|exact E2].
    + destruct (Z.eq_dec nc 0) as [E|E]; [rewrite E; cbn; lia|]. rewrite fuel_nat by (unfold nc, len in *; lia). lia.
    + step_by Hjz. destruct jz as [z|[]]. eexists _, _, _. split; [reflexivity|].
      right. exists i, m, e1, trR. split; [exact Hn|]. split; [exact Hlive|]. split; [reflexivity|]. split; [exact Hrel|].
      split; [exact X7|]. split; [exact E7|]. split; [reflexivity|]. split; [exact Hjq|unfold len in Hr; lia].
Qed.

(** VM_DESTROY never fails on an engine meeting [mem_ok] and
    [shadow_inv], with its platform and a pool in shape, for any 64-bit
    vmid, provided a live VM at that vmid owns its stage-2's tables
    (distinct and in use) and shares no page with the host. It leaves the
    engine as it was with an error (no live VM at the vmid, or a vCPU
    running), or answers SUCCESS having [destroyed] the live, [idle] VM
    at the vmid. *)
Theorem VMDestroy_unshared_cases : forall e tr id,
  mem_ok e -> shadow_inv e -> pool_ok (Isolation.Engine_pool e) -> Isolation.Engine_plat e <> None ->
  len (Isolation.Engine_vms e) < 2 ^ 16 -> 0 <= id < 2 ^ 64 ->
  owned_at e id -> unshared_at e id ->
  exists st e' tr', Isolation.Engine_VMDestroy root id e tr = Ok st e' tr' /\
    ((e' = e /\ st <> Abi.Success) \/
     exists i m, nth_error (Isolation.Engine_vms e) i = Some m /\ Isolation.vm_live m = true /\
       i = Z.to_nat (id - 1) /\ destroyed e i m e' /\
       Isolation.Engine_pages e' = map (release_page id) (Isolation.Engine_pages e) /\
       st = Abi.Success /\ idle m /\ 1 <= id).
Proof.
  intros e tr id Hmem Hsh Hpool Hplat Hvms Hid Hown_at Hunsh_at.
  pose proof Hmem as (Hl & _ & _ & _ & Ht & _).
  assert (Hpl : len (Isolation.Engine_pages e) < 2 ^ 64)
    by (destruct Hl as (Hb & Hs & Hbs & _ & Hlen); unfold len in *; lia).
  destruct (VMDestroy_cases_with e tr id Hsh Hvms Hid) as (st & e' & tr' & Hrun & Hcase).
  { intros m H1 Hn Hlive.
    assert (Hlt : (Z.to_nat (id - 1) < List.length (Isolation.Engine_vms e))%nat) by (apply nth_error_Some; congruence).
    assert (Hid16 : 1 <= id < 2 ^ 16) by (unfold len in Hvms; lia).
    exists (Isolation.set_Engine_pages (map (release_page id) (Isolation.Engine_pages e)) e), tr.
    split; [exact (releasePages_unshared e tr id Hid16 Hpl (Hunsh_at m H1 Hn Hlive))|].
    split; [reflexivity|]. split; [exact Hplat|]. split; [exact Ht|]. split; [exact Hpool|].
    exact (Hown_at m H1 Hn Hlive). }
  exists st, e', tr'. split; [exact Hrun|].
  destruct Hcase as [H|(i & m & e1 & tr1 & Hn & Hlive & -> & Hrel & Hd & Ep & Est & Hidle & H1)]; [left; exact H|right].
  assert (Hlt : (Z.to_nat (id - 1) < List.length (Isolation.Engine_vms e))%nat) by (apply nth_error_Some; congruence).
  assert (Hid16 : 1 <= id < 2 ^ 16) by (unfold len in Hvms; lia).
  rewrite (releasePages_unshared e tr id Hid16 Hpl (Hunsh_at m H1 Hn Hlive)) in Hrel.
  injection Hrel as <- <-.
  exists (Z.to_nat (id - 1)), m. split; [exact Hn|]. split; [exact Hlive|]. split; [reflexivity|].
  split; [exact (destroyed_pages e _ _ m e' (map_length _ _) Hd)|].
  split; [exact Ep|]. split; [exact Est|]. split; [exact Hidle|exact H1].
Qed.


(** VM_DESTROY, under the same conditions, leaves an engine meeting
    [mem_ok] and [shadow_inv] again. *)
Theorem VMDestroy_unshared_inv : forall e tr id,
  mem_ok e -> shadow_inv e -> pool_ok (Isolation.Engine_pool e) -> Isolation.Engine_plat e <> None ->
  len (Isolation.Engine_vms e) < 2 ^ 16 -> 0 <= id < 2 ^ 64 ->
  owned_at e id -> unshared_at e id ->
  exists st e' tr', Isolation.Engine_VMDestroy root id e tr = Ok st e' tr' /\ mem_ok e' /\ shadow_inv e'.
Proof.
  intros e tr id Hmem Hsh H3 H4 H5 H6 H7 H8.
  pose proof (VMDestroy_unshared_cases e tr id Hmem Hsh H3 H4 H5 H6 H7 H8)
    as (st & e' & tr' & Hrun & [[E _]|(i & m & Hn & _ & _ & (D & G & _) & _)]);
    exists st, e', tr'; (split; [exact Hrun|]).
  - subst e'. split; assumption.
  - exact (destroy_inv_end e i m e' Hmem Hsh Hn D G).
Qed.

(** The same, without the invariants: Engine.VMDestroy has no failure
    outcome for such a VM. *)
Theorem VMDestroy_unshared_no_failure : forall e tr id,
  mem_ok e -> shadow_inv e -> pool_ok (Isolation.Engine_pool e) -> Isolation.Engine_plat e <> None ->
  len (Isolation.Engine_vms e) < 2 ^ 16 -> 0 <= id < 2 ^ 64 ->
  owned_at e id -> unshared_at e id ->
  exists st e' tr', Isolation.Engine_VMDestroy root id e tr = Ok st e' tr'.
Proof.
  intros e tr id H1 H2 H3 H4 H5 H6 H7 H8.
  pose proof (VMDestroy_unshared_inv e tr id H1 H2 H3 H4 H5 H6 H7 H8) as (st & e' & tr' & H & _).
  exists st, e', tr'. exact H.
Qed.
