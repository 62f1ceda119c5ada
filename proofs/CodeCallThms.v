(** * The model's page and vCPU theorems about each Go call

    Theorems about proofs/code/Isolation.v. CodeGuestInv's [gcall] holds
    the ten calls of the functional-correctness list (VM_CREATE,
    VM_DESTROY, VCPU_INIT, MEM_DONATE, MEM_SHARE, MEM_UNSHARE,
    MEM_RECLAIM, GUEST_SHARE, GUEST_UNSHARE, GUEST_RELINQUISH) and
    VCPU_IRQ, MEM_INFO, MMIO_LOG_READ and MMIO_SHADOW. Each is the model's
    action [gcall_action], a guest call made from a vCPU of its VM
    ([gcall_from]).
    - [gcall_refines]: from an engine meeting what [reaches_all_Inv]
      keeps, the abstraction after any such call is the abstraction
      before (the call refused, or NO_MEMORY) or the model's step from
      it, field by field ([ms_eq]).
    - So the model's theorems about one step are theorems about the Go
      call: a page's owner moves only along the model's flow
      ([gcall_owner_flow], from [Scrub.inv4_conservation]); a page
      becomes the host's only by MEM_RECLAIM answering SUCCESS with the
      page in its range, after that call asked the platform to zero the
      range and then to clean it ([gcall_scrub_owner], from
      [Scrub.scrub_owner]'s reason and CodeReclaim's
      [MemReclaim_zeroes]), and over a run of such calls the call that
      made a page the host's was such a MEM_RECLAIM
      ([gcalls_scrub_owner], from [Scrub.scrub_run]'s reason); a page
      becomes nobody's only by VM_DESTROY or by a GUEST_RELINQUISH that
      asked the platform to zero it ([gcall_scrub_none],
      [Scrub.scrub_relinquish]); the host's stage-2 gains a page only
      by such a MEM_RECLAIM or by a GUEST_SHARE of the VM owning the page
      ([gcall_scrub_host_view], [Scrub.scrub_host_view], through the
      model's [host_view_gain]); the
      host's stage-2 gains a page of a protected VM only by that VM's
      GUEST_SHARE ([gcall_protected_host_gain], from
      [Protected.protected_host_gain]), and in every engine such calls
      reach a protected VM maps only its own pages, a page of it mapped
      by the host being one it shared with the host
      ([reaches_all_protected]); and once a VM has run, a call of
      the host or of another VM leaves its vCPUs' states and the replies
      they are owed as they were ([gcall_integrity_vcpu_ctl], from
      [Integrity.integrity_vcpu_ctl]); no call but VM_DESTROY of a VM
      that has run changes the registers its vCPUs' contexts hold
      ([gcall_integrity_regs], [Integrity.integrity_regs]; over a run of
      calls without that VM_DESTROY, [gcalls_integrity_regs]).
    - The memory the calls write, which the abstraction leaves out: the
      platform calls that write it are events of the trace (CodeTrace's
      [writes_memory]). A call writes memory only by zeroing, and only
      pages that no VM but the one making the call holds privately
      before it ([gcall_integrity_mem], [Integrity.integrity_mem]'s
      statement of the Go calls): MEM_RECLAIM zeroes pages nobody owned
      (its checks, [MemReclaim_writes]), GUEST_RELINQUISH pages nobody
      owns after it, every page it changes among them
      ([GuestRelinquish_zeroes], from CodeGuestNoFailure's
      [zeroed_gone]), which were its own VM's or nobody's before
      ([gcall_owner_flow]); every other call writes nothing
      (CodeWrites). FILE_READ, a call of the host outside [gcall],
      changes no engine state and copies the file only onto pages the
      host owns, after the model's checks passed
      ([FileRead_integrity_mem]).
    - Noninterference, for the memory a VM keeps private: a call reads
      no memory, so from one engine the two runs [Noninterference.rel]
      compares are one run; memories that agree on every page not hidden
      for [v] agree on every such page after it, each as the call's
      zeroings leave it ([after_zeroing]), given what [v] releases
      ([gcall_noninterference], through [Noninterference.unhide]; over a
      run of calls, [gcalls_noninterference]). The registers' half is not
      here: the engine's vCPU contexts are outside the abstraction. *)
From Coq Require Import ZArith Lia List Bool Arith String.
From Bulkhead.Spec Require Import State Spec.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import Lemmas Invariants CodeTrace CodeAbs CodeAbsLedger CodeVMCreateRefine CodeVMCreateInv
  CodeMemCall CodeOwns CodeGuestNoFailure CodeRefineInv CodeGuestInv CodeHostLevel CodeDestroyShared CodeReachesAll CodeModelThms
  CodeReclaim CodeWrites CodeFiles CodeTrack CodeVCPUInit CodeShadow CodeMemInvDestroy CodeWalkCalls CodeEngineInv
  CodeUnshareInv CodeLogRead.
From Bulkhead.Proofs Require Scrub Protected Integrity Noninterference.
Import ListNotations.
Open Scope Z_scope.

(** ** Each call as the model's action *)

Definition mcall_action (x : mcall) : hcall :=
  match x with
  | CVMCreate n f => HVMCreate n f
  | CMemShare id pa ipa n perms =>
      HMemShare (Z.to_nat id) (Z.to_nat pa) (Z.to_nat ipa) (Z.to_nat n) (Z.to_nat perms)
  | CMemDonate id pa ipa n perms =>
      HMemDonate (Z.to_nat id) (Z.to_nat pa) (Z.to_nat ipa) (Z.to_nat n) (Z.to_nat perms)
  | CMemUnshare id ipa n => HMemUnshare (Z.to_nat id) (Z.to_nat ipa) (Z.to_nat n)
  | CMemReclaim pa n => HMemReclaim (Z.to_nat pa) (Z.to_nat n)
  | CMemInfo pa => HMemInfo (Z.to_nat pa)
  | CVMDestroy id => HVMDestroy (Z.to_nat id)
  | CVCPUInit id v entry arg => HVCPUInit (Z.to_nat id) (Z.to_nat v) (Z.to_nat entry) (Z.to_nat arg)
  | CVCPUIRQ id v intid level => HVCPUIRQ (Z.to_nat id) (Z.to_nat v) (Z.to_nat intid) (Z.to_nat level)
  | CMMIOLogRead id => HMMIOLogRead (Z.to_nat id)
  | CMMIOShadow id ipa mode value => HMMIOShadow (Z.to_nat id) (Z.to_nat ipa) (Z.to_nat mode) (Z.to_nat value)
  end.

(** A guest call is made by vCPU [cpu] of its VM. *)
Definition gcall_action (x : gcall) (cpu : nat) : action :=
  match x with
  | GHost h => AHost (mcall_action h)
  | GShare id ipa n => AGuest (Z.to_nat id) cpu (GGuestShare (Z.to_nat ipa) (Z.to_nat n))
  | GUnshare id ipa n => AGuest (Z.to_nat id) cpu (GGuestUnshare (Z.to_nat ipa) (Z.to_nat n))
  | GRelinquish id ipa n => AGuest (Z.to_nat id) cpu (GGuestRelinquish (Z.to_nat ipa) (Z.to_nat n))
  end.

(** [cpu] is a vCPU of the VM making a guest call, in the abstraction. *)
Definition gcall_from (c : config) (e : Isolation.Engine) (x : gcall) (cpu : nat) : Prop :=
  match x with
  | GHost _ => True
  | GShare id _ _ | GUnshare id _ _ | GRelinquish id _ _ => vcpu_ok c (abs_ms c e) (Z.to_nat id) cpu = true
  end.

(** What [reaches_all_Inv] keeps, and the call's own conditions. *)
Definition call_pre (c : config) (x : gcall) (cpu : nat) (e : Isolation.Engine) : Prop :=
  refine_inv c e /\ Inv c (abs_ms c e) /\ host_lv3 c e /\ gcall_ok x /\ gcall_pre_all x e /\ gcall_from c e x cpu.

(** A call that changed nothing unless it answered SUCCESS, and then as
    the model's step answering SUCCESS: the abstraction after it is the
    one before, or the model's step from it. *)
Lemma success_or_same : forall c e e' st (model : state * output),
  (st <> Abi.Success -> e' = e) ->
  (st = Abi.Success -> exists s', model = (s', ok0) /\ ms_eq (st_meta s') (abs_ms c e')) ->
  ms_eq (abs_ms c e') (abs_ms c e) \/ ms_eq (st_meta (fst model)) (abs_ms c e').
Proof.
  intros c e e' st model Herr Hsucc. destruct (Z.eq_dec st Abi.Success) as [E|Ne].
  - right. destruct (Hsucc E) as (s' & -> & Heq). exact Heq.
  - left. rewrite (Herr Ne). apply ms_eq_refl.
Qed.

(** A guest call from a live VM, with 64-bit arguments, leaves the
    abstraction as it was or as the model's step from it. *)
Lemma guest_refines : forall call step c e tr id ipa n e' tr' mem regs, guest_refine_inv call step -> refine_inv c e ->
  live_slot e id -> u64 ipa /\ u64 n -> after (call id ipa n e tr) = Some (e', tr') ->
  ms_eq (abs_ms c e') (abs_ms c e) \/
  ms_eq (st_meta (fst (step c (abs_state c e mem regs) (Z.to_nat id) (Z.to_nat ipa) (Z.to_nat n)))) (abs_ms c e').
Proof.
  intros call step c e tr id ipa n e' tr' mem regs G R (Hid & m & Hnth & Hlive) (Hipa & Hn) Hrun.
  destruct (G c e tr id ipa n m mem regs R Hid Hnth Hlive Hipa Hn) as (st & e0 & tr0 & Hrun0 & _ & _ & Herr & Hsucc & _).
  rewrite Hrun0 in Hrun. cbn [after] in Hrun. injection Hrun as <- <-.
  exact (success_or_same c e e0 st _ Herr Hsucc).
Qed.

(** ** Every call refines the model's step *)

Theorem gcall_refines : forall c x cpu e tr e' tr' mem regs, call_pre c x cpu e ->
  run_gcall x e tr = Some (e', tr') ->
  ms_eq (abs_ms c e') (abs_ms c e) \/
  ms_eq (st_meta (fst (Spec.step c (abs_state c e mem regs) (gcall_action x cpu)))) (abs_ms c e').
Proof.
  intros c x cpu e tr e' tr' mem regs (R & I & H & Hx & Hpre & Hfrom) Hrun.
  pose proof R as (Hc & _ & _ & (Hled & _) & Ho & _). pose proof Hc as (_ & _ & (Hcfg & _) & _).
  destruct x as [[n f|id pa ipa n perms|id pa ipa n perms|id ipa n|pa n|pa|id|id v entry arg|id v intid level|id
                  |id ipa mode value]|id ipa n|id ipa n|id ipa n];
    cbn [gcall_ok mcall_ok gcall_pre_all gcall_from run_gcall run_mcall gcall_action mcall_action Spec.step host_call]
      in *; unfold u64 in *.
  - destruct (VMCreate_refine_inv c e tr mem regs n f R Hx) as (id & st & e0 & Hrun0 & _ & Hcase & _).
    rewrite Hrun0 in Hrun. cbn [after] in Hrun. injection Hrun as <- <-. cbv zeta in Hcase.
    destruct Hcase as [(_ & _ & _ & _ & _ & _ & Heq)|(_ & _ & _ & Heq)]; [right|left]; exact Heq.
  - destruct Hx as (Hid & Hpa & Hipa & Hn & Hp).
    destruct (MemShare_refine_inv c e tr id pa ipa n perms mem regs R Hid Hpa Hipa Hn Hp)
      as (st & e0 & tr0 & Hrun0 & _ & Herr & Hsucc & _).
    rewrite Hrun0 in Hrun. cbn [after] in Hrun. injection Hrun as <- <-.
    exact (success_or_same c e e0 st _ Herr Hsucc).
  - destruct Hx as (Hid & Hpa & Hipa & Hn & Hp).
    destruct (MemDonate_refine_inv c e tr id pa ipa n perms mem regs R Hid Hpa Hipa Hn Hp)
      as (st & e0 & tr0 & Hrun0 & _ & Herr & Hsucc & _).
    rewrite Hrun0 in Hrun. cbn [after] in Hrun. injection Hrun as <- <-.
    exact (success_or_same c e e0 st _ Herr Hsucc).
  - destruct Hx as (Hid & Hipa & Hn).
    destruct (MemUnshare_refine_inv c e tr id ipa n mem regs R Hid Hipa Hn)
      as (st & e0 & tr0 & Hrun0 & _ & Herr & Hsucc & _).
    rewrite Hrun0 in Hrun. cbn [after] in Hrun. injection Hrun as <- <-.
    exact (success_or_same c e e0 st _ Herr Hsucc).
  - destruct Hx as (Hpa & Hn).
    destruct (MemReclaim_refine_inv c e tr pa n mem regs R Hpa Hn) as (st & e0 & tr0 & Hrun0 & _ & Herr & Hsucc & _).
    rewrite Hrun0 in Hrun. cbn [after] in Hrun. injection Hrun as <- <-.
    exact (success_or_same c e e0 st _ Herr Hsucc).
  - destruct (MemInfo_refines c e (abs_state c e mem regs) tr pa Hled Ho Hcfg eq_refl Hx) as (info & st & out & E & _).
    rewrite E in Hrun. cbn [after] in Hrun. injection Hrun as <- <-. left. apply ms_eq_refl.
  - destruct (VMDestroy_shared_refine_inv c e tr id mem regs R Hx (host_lv3_shared c e Hcfg Hled H id) I)
      as (st & e0 & tr0 & Hrun0 & _ & Herr & Hsucc & _).
    rewrite Hrun0 in Hrun. cbn [after] in Hrun. injection Hrun as <- <-.
    exact (success_or_same c e e0 st _ Herr Hsucc).
  - destruct Hx as (Hid & Hv & Hen & Har).
    destruct (VCPUInit_refine_inv c e tr id v entry arg mem regs R Hid Hv Hen Har I)
      as (st & e0 & Hrun0 & _ & _ & (sst & _ & _ & Heq) & _).
    rewrite Hrun0 in Hrun. cbn [after] in Hrun. injection Hrun as <- <-. right. exact Heq.
  - destruct Hx as (Hid & Hv & Hin & Hl).
    destruct (VCPUIRQ_refine_inv c e tr id v intid level mem regs R Hid Hv Hin Hl I)
      as (st & e0 & Hrun0 & _ & _ & (sst & _ & _ & Heq) & _).
    rewrite Hrun0 in Hrun. cbn [after] in Hrun. injection Hrun as <- <-. right. exact Heq.
  - destruct (MMIOLogRead_refine_inv c e tr id mem regs R Hx I)
      as (k & packed & st & e0 & Hrun0 & _ & _ & (sst & vals & _ & _ & _ & Heq) & _).
    rewrite Hrun0 in Hrun. cbn [after] in Hrun. injection Hrun as <- <-. right. exact Heq.
  - destruct Hx as (Hid & Hipa & Hm & Hval).
    destruct (MMIOShadow_refine_inv c e tr id ipa mode value mem regs R Hid Hipa Hm Hval I)
      as (st & e0 & Hrun0 & _ & _ & (sst & _ & _ & Heq) & _).
    rewrite Hrun0 in Hrun. cbn [after] in Hrun. injection Hrun as <- <-. right. exact Heq.
  (* The guest calls: from a vCPU of their VM, the model's guest call is the step. *)
  - unfold guest_call. cbn [st_meta abs_state]. rewrite Hfrom.
    exact (guest_refines _ _ c e tr id ipa n e' tr' mem regs GuestShare_refine_inv R Hpre Hx Hrun).
  - unfold guest_call. cbn [st_meta abs_state]. rewrite Hfrom.
    exact (guest_refines _ _ c e tr id ipa n e' tr' mem regs GuestUnshare_refine_inv R Hpre Hx Hrun).
  - unfold guest_call. cbn [st_meta abs_state]. rewrite Hfrom.
    exact (guest_refines _ _ c e tr id ipa n e' tr' mem regs GuestRelinquish_refine_inv R Hpre Hx Hrun).
Qed.

(** ** The model's theorems about one step, of the Go calls *)

(** [Scrub.inv4_conservation]: a page's owner moves only along the
    model's flow for the call's action. *)
Theorem gcall_owner_flow : forall c x cpu e tr e' tr', call_pre c x cpu e -> run_gcall x e tr = Some (e', tr') ->
  forall p, Scrub.owner_flow (gcall_action x cpu) (pg_owner (ms_pages (abs_ms c e) p))
    (pg_owner (ms_pages (abs_ms c e') p)).
Proof.
  intros c x cpu e tr e' tr' Hpre Hrun p.
  destruct (gcall_refines c x cpu e tr e' tr' (fun _ => 0%nat) (fun _ _ _ => 0%nat) Hpre Hrun) as [(Hp & _)|(Hp & _)].
  - rewrite Hp. left. reflexivity.
  - rewrite <- Hp. apply (Scrub.inv4_conservation c (abs_state c e (fun _ => 0%nat) (fun _ _ _ => 0%nat))).
Qed.

(** [Scrub.scrub_owner]: a page the host did not own is the host's after
    a call only if the call was MEM_RECLAIM of a range holding the page,
    answering SUCCESS; and that call asked the platform to zero the range
    and, after that, to clean it, before it returned (CodeReclaim's
    [MemReclaim_zeroes]). *)
Theorem gcall_scrub_owner : forall c x cpu e tr e' tr', call_pre c x cpu e -> run_gcall x e tr = Some (e', tr') ->
  forall p, pg_owner (ms_pages (abs_ms c e) p) <> OHost -> pg_owner (ms_pages (abs_ms c e') p) = OHost ->
  exists pa n, x = GHost (CMemReclaim pa n) /\ in_range p (pfn c (Z.to_nat pa)) (Z.to_nat n) = true /\
    exists l1 l2 l3, tr' = l1 ++ mkEvent "CleanToPoC" [pa; n] :: l2 ++ mkEvent "ZeroPages" [pa; n] :: l3 ++ tr.
Proof.
  intros c x cpu e tr e' tr' Hpre Hrun p H0 H1.
  pose proof (gcall_owner_flow c x cpu e tr e' tr' Hpre Hrun p) as F.
  destruct F as [F|[(F & _)|[(_ & F)|(_ & _ & pa' & n' & Ha)]]]; try congruence.
  destruct x as [[| | | |pa n| | | | | |]| | |]; cbn [gcall_action mcall_action] in Ha; try discriminate Ha.
  exists pa, n. split; [reflexivity|].
  pose proof Hpre as (R & _ & _ & Hx & _). pose proof R as (Hc & _ & _ & Hrok & Ho & _).
  pose proof Hc as (_ & _ & (Hcfg & _) & _). cbn [gcall_ok mcall_ok] in Hx. unfold u64 in Hx. destruct Hx as (Hpa & Hn).
  destruct (MemReclaim_refine_inv c e tr pa n (fun _ => 0%nat) (fun _ _ _ => 0%nat) R Hpa Hn)
    as (st & e0 & tr0 & Hrun0 & _ & Herr & _).
  cbn [run_gcall run_mcall] in Hrun. rewrite Hrun0 in Hrun. cbn [after] in Hrun. injection Hrun as <- <-.
  destruct (Z.eq_dec st Abi.Success) as [->|Ne]; [|rewrite (Herr Ne) in H1; congruence].
  destruct (MemReclaim_success_pages c e tr pa n e0 tr0 Hrok Ho Hcfg Hpa Hn Hrun0) as (Hp & _).
  rewrite Hp in H1. destruct (in_range p _ _); [|congruence].
  split; [reflexivity|]. exact (MemReclaim_zeroes e tr pa n e0 tr0 Hrun0).
Qed.

(** [Protected.protected_host_gain]: the host's stage-2 gains a page a
    protected VM maps only by that VM's own GUEST_SHARE. *)
Theorem gcall_protected_host_gain : forall c x cpu e tr e' tr', call_pre c x cpu e -> run_gcall x e tr = Some (e', tr') ->
  forall v p y, vm_protected (ms_vms (abs_ms c e) v) = true -> vm_s2 (ms_vms (abs_ms c e) v) p = Some y ->
  ms_hs2 (abs_ms c e) p = false -> ms_hs2 (abs_ms c e') p = true ->
  exists id ipa n, x = GShare id ipa n /\ Z.to_nat id = v.
Proof.
  intros c x cpu e tr e' tr' Hpre Hrun v p y Hp Hs H0 H1. pose proof Hpre as (_ & I & _).
  set (s := abs_state c e (fun _ => 0%nat) (fun _ _ _ => 0%nat)).
  destruct (gcall_refines c x cpu e tr e' tr' (fun _ => 0%nat) (fun _ _ _ => 0%nat) Hpre Hrun) as [(_ & Hh & _)|(_ & Hh & _)].
  - rewrite Hh in H1. congruence.
  - rewrite <- Hh in H1.
    destruct (Protected.protected_host_gain c s (gcall_action x cpu) v p y I Hp Hs H0 H1) as (cpu' & ipa & n & Ha).
    destruct x as [[]|id ipa' n'| |]; cbn [gcall_action mcall_action] in Ha; try discriminate Ha.
    injection Ha as Hv _ _. exists id, ipa', n'. split; [reflexivity|exact Hv].
Qed.

(** [Integrity.integrity_vcpu_ctl]: once a VM has run, a call of the host
    or of another VM that leaves it live leaves each of its vCPUs' state
    (on or off, where it starts) and the reply it is owed as they were. *)
Theorem gcall_integrity_vcpu_ctl : forall c x cpu e tr e' tr', call_pre c x cpu e -> run_gcall x e tr = Some (e', tr') ->
  forall v j, Noninterference.actor (gcall_action x cpu) <> Some v ->
  vm_live (ms_vms (abs_ms c e) v) = true -> vm_hasrun (ms_vms (abs_ms c e) v) = true ->
  vm_live (ms_vms (abs_ms c e') v) = true ->
  Integrity.vcpu_ctl (vcpu_of (abs_ms c e') v j) = Integrity.vcpu_ctl (vcpu_of (abs_ms c e) v j).
Proof.
  intros c x cpu e tr e' tr' Hpre Hrun v j Ha Hl Hh Hl'. unfold Integrity.vcpu_ctl, vcpu_of.
  set (s := abs_state c e (fun _ => 0%nat) (fun _ _ _ => 0%nat)).
  destruct (gcall_refines c x cpu e tr e' tr' (fun _ => 0%nat) (fun _ _ _ => 0%nat) Hpre Hrun) as [(_ & _ & Hv)|(_ & _ & Hv)];
    destruct (Hv v) as (Hlv & _ & _ & _ & Hc & _); destruct (Hc j) as (Hst & Hpd & _).
  - rewrite Hst, Hpd. reflexivity.
  - rewrite <- Hst, <- Hpd.
    assert (Hrun' : forall c' reply, gcall_action x cpu <> AHost (HVCPURun v c' reply))
      by (intros c' reply; destruct x as [[]| | |]; discriminate).
    rewrite <- Hlv in Hl'.
    exact (Integrity.integrity_vcpu_ctl c s (gcall_action x cpu) v j Ha Hl Hh Hrun' Hl').
Qed.

(** ** The memory the calls write *)

(** The events a quiet computation adds write no memory. *)
Lemma quiet_no_writes : forall {A} (m : M Isolation.Engine A) e tr a e' tr', quiet m -> m e tr = Ok a e' tr' ->
  exists l, tr' = l ++ tr /\ forall ev, In ev l -> writes_memory ev = true -> False.
Proof.
  intros A m e tr a e' tr' Hq Hm. destruct (Hq _ _ _ _ _ Hm) as (l & -> & Hl). exists l. split; [reflexivity|].
  intros ev Hin Hw. rewrite Forall_forall in Hl. unfold quiet_event in Hl. rewrite (Hl ev Hin) in Hw. discriminate Hw.
Qed.

(** Ledger index and page frame: with RAM at [ram_base c] (in pages), the
    entry [(pa - base) / 4096 + i] is of page [pa / 4096 + i]. *)
Lemma index_frame : forall c pa i, 0 <= Z.of_nat (ram_base c) * 4096 <= pa -> 0 <= i ->
  Z.to_nat ((pa - Z.of_nat (ram_base c) * 4096) / 4096 + i) = (Z.to_nat pa / 4096 + Z.to_nat i - ram_base c)%nat /\
  (ram_base c <= Z.to_nat pa / 4096)%nat.
Proof.
  intros c pa i Hpa Hi.
  assert (Hd : Z.of_nat (Z.to_nat pa / 4096) = pa / 4096) by (rewrite Nat2Z.inj_div, Z2Nat.id by lia; reflexivity).
  assert (Hsub : (pa - Z.of_nat (ram_base c) * 4096) / 4096 = pa / 4096 - Z.of_nat (ram_base c)).
  { replace (pa - Z.of_nat (ram_base c) * 4096) with (pa + (- Z.of_nat (ram_base c)) * 4096) by lia.
    rewrite Z.div_add by lia. lia. }
  assert (Hle : Z.of_nat (ram_base c) <= pa / 4096) by (apply Z.div_le_lower_bound; lia).
  rewrite Hsub. lia.
Qed.

(** [zeroed_gone] in the abstraction: the calls that write memory among
    the events in front of [tr] in [tr'] are zeroings of pages nobody
    owns in [e'], and each page whose abstraction [e'] changed from [e]'s
    is one of them. *)
Definition zeroes_gone (c : config) (e e' : Isolation.Engine) (tr tr' : list event) : Prop :=
  exists l, tr' = l ++ tr /\
    (forall ev, In ev l -> writes_memory ev = true ->
      exists pa k, ev = mkEvent "ZeroPages" [pa; k] /\
        forall p, in_range p (pfn c (Z.to_nat pa)) (Z.to_nat k) = true -> pg_owner (ms_pages (abs_ms c e') p) = ONone) /\
    (forall p, ms_pages (abs_ms c e') p <> ms_pages (abs_ms c e) p ->
      exists pa k, In (mkEvent "ZeroPages" [pa; k]) l /\ in_range p (pfn c (Z.to_nat pa)) (Z.to_nat k) = true).

Lemma zeroed_gone_abs : forall c e e' tr tr', cfg_rel c e' -> zeroed_gone e e' tr tr' -> zeroes_gone c e e' tr tr'.
Proof.
  intros c e e' tr tr' (Hg & Hb & _) (l & -> & Hl & Hc). exists l. split; [reflexivity|].
  unfold CodeMemState.ram_base in *. rewrite <- Hb in Hl, Hc. split.
  - intros ev Hin Hw. destruct (Hl ev Hin Hw) as (pa & k & -> & Hpa & Hgone). exists pa, k. split; [reflexivity|].
    intros p Hp. apply Lemmas.in_range_spec in Hp. unfold pfn in Hp. rewrite Hg in Hp.
    change (ms_pages (abs_ms c e') p) with (abs_pages c e' p). unfold abs_pages.
    destruct (in_ram c p) eqn:R; [|reflexivity]. unfold in_ram in R. apply Lemmas.in_range_spec in R.
    assert (Hd : Z.of_nat (Z.to_nat pa / 4096) = pa / 4096) by (rewrite Nat2Z.inj_div, Z2Nat.id by lia; reflexivity).
    destruct (index_frame c pa (Z.of_nat p - pa / 4096) ltac:(lia) ltac:(lia)) as (Hj & _).
    replace (p - ram_base c)%nat
      with (Z.to_nat ((pa - Z.of_nat (ram_base c) * 4096) / 4096 + (Z.of_nat p - pa / 4096))) by lia.
    rewrite Hgone by lia. reflexivity.
  - intros p Hne. change (abs_pages c e' p <> abs_pages c e p) in Hne. unfold abs_pages in Hne.
    destruct (in_ram c p) eqn:R; [|congruence].
    destruct (Hc (p - ram_base c)%nat ltac:(intros E; apply Hne; rewrite E; reflexivity))
      as (pa & k & i & Hin & Hpa & Hi & Hj).
    exists pa, k. split; [exact Hin|]. apply Lemmas.in_range_spec. unfold pfn. rewrite Hg.
    destruct (index_frame c pa i ltac:(lia) ltac:(lia)) as (Hj' & Hle). rewrite Hj' in Hj.
    unfold in_ram in R. apply Lemmas.in_range_spec in R. lia.
Qed.

(** GUEST_RELINQUISH zeroes only pages nobody owns after it, and every
    page it changes it zeroed. *)
Lemma GuestRelinquish_zeroes : forall c e tr id ipa n m st e' tr', refine_inv c e ->
  1 <= id < 2 ^ 16 -> nth_error (Isolation.Engine_vms e) (Z.to_nat (id - 1)) = Some m -> Isolation.vm_live m = true ->
  0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 ->
  Isolation.Engine_GuestRelinquish root id ipa n e tr = Ok st e' tr' -> zeroes_gone c e e' tr tr'.
Proof.
  intros c e tr id ipa n m st e' tr' R Hid Hnth Hlive Hipa Hn Hrun.
  pose proof R as (Hc & Hwi & _ & Hrok & _).
  pose proof Hwi as (((Hm & Hown & _) & _) & (_ & Hvb)). pose proof Hown as (_ & Hpl & _).
  pose proof Hc as (_ & _ & (Hcfg & _) & _).
  destruct (GuestRelinquish_no_failure e tr id ipa n m Hm Hpl (s2_owned_roots e Hown) (Hvb _ m Hnth Hlive) (proj2 Hrok)
    Hid Hnth Hlive Hipa Hn) as (st1 & e1 & tr1 & Hcall & Herr & Hsucc & Hz).
  rewrite Hrun in Hcall. injection Hcall as <- <- <-.
  assert (Hc' : cfg_rel c e').
  { destruct (Z.eq_dec st Abi.Success) as [->|Ne]; [|rewrite (Herr Ne); exact Hcfg].
    destruct (Hsucc eq_refl) as (((qq & ps & -> & _) & _) & _). destruct e; exact Hcfg. }
  exact (zeroed_gone_abs c e e' tr tr' Hc' Hz).
Qed.

(** The calls of CodeWrites that write nothing. *)
Local Ltac no_writes E :=
  match type of E with ?m ?e ?tr = Ok _ _ _ =>
    let Hq := fresh "Hq" in
    assert (Hq : quiet m) by
      (lazymatch m with
       | Isolation.Engine_VMCreate _ _ _ => apply VMCreate_quiet
       | Isolation.Engine_VMDestroy _ _ => apply VMDestroy_quiet
       | Isolation.Engine_VCPUInit _ _ _ _ _ => apply VCPUInit_quiet
       | Isolation.Engine_VCPUIRQ _ _ _ _ _ => apply VCPUIRQ_quiet
       | Isolation.Engine_MMIOShadow _ _ _ _ _ => apply MMIOShadow_quiet
       | Isolation.Engine_MMIOLogRead _ _ => apply MMIOLogRead_quiet
       | Isolation.Engine_MemInfo _ _ => apply MemInfo_quiet
       | Isolation.Engine_MemDonate _ _ _ _ _ _ => apply MemDonate_quiet
       | Isolation.Engine_MemShare _ _ _ _ _ _ => apply MemShare_quiet
       | Isolation.Engine_MemUnshare _ _ _ _ => apply MemUnshare_quiet
       | Isolation.Engine_GuestShare _ _ _ _ => apply GuestShare_quiet
       | Isolation.Engine_GuestUnshare _ _ _ _ => apply GuestUnshare_quiet
       end);
    destruct (quiet_no_writes _ _ _ _ _ _ Hq E) as (l & -> & Hl)
  end.

(** ** Integrity of a VM's registers *)

(** The registers a vCPU's context holds for its guest: x0..x30, the PC,
    PSTATE and the EL1 system registers. The rest of the context is the
    engine's (VMID, vCPU index, Fresh, a pending injection) or the host's
    (the interrupt lines VCPU_IRQ drives). *)
Definition ctx_regs (x : Isolation.Context) : list Z * Z * Z * list Z :=
  (Isolation.Context_X x, Isolation.Context_PC x, Isolation.Context_PState x, Isolation.Context_EL1 x).

Definition vm_regs (m : Isolation.vm) : list (list Z * Z * Z * list Z) :=
  map (fun x => ctx_regs (Isolation.vcpu_ctx x)) (Isolation.vm_vcpus m).

(** [m'] is [m] as far as its registers go: as live, as run, with the
    same registers. *)
Definition kept_run (m m' : Isolation.vm) : Prop :=
  Isolation.vm_live m' = Isolation.vm_live m /\ Isolation.vm_hasRun m' = Isolation.vm_hasRun m /\
  vm_regs m' = vm_regs m.

Lemma kept_run_refl : forall m, kept_run m m.
Proof. intros m. split; [reflexivity|split; reflexivity]. Qed.

(** Slot [i], if it holds a live VM that has run, holds after the same VM
    as far as its registers go. *)
Definition regs_kept (i : nat) (e e' : Isolation.Engine) : Prop :=
  forall m, nth_error (Isolation.Engine_vms e) i = Some m -> Isolation.vm_live m = true -> Isolation.vm_hasRun m = true ->
  exists m', nth_error (Isolation.Engine_vms e') i = Some m' /\ kept_run m m'.

Lemma regs_kept_vms : forall i e e', Isolation.Engine_vms e' = Isolation.Engine_vms e -> regs_kept i e e'.
Proof. intros i e e' E m Hm _ _. exists m. rewrite E. split; [exact Hm|apply kept_run_refl]. Qed.

Lemma regs_kept_trans : forall i e1 e2 e3, regs_kept i e1 e2 -> regs_kept i e2 e3 -> regs_kept i e1 e3.
Proof.
  intros i e1 e2 e3 H12 H23 m Hm Hl Hr. destruct (H12 m Hm Hl Hr) as (m2 & Hm2 & (El2 & Er2 & Eg2)).
  destruct (H23 m2 Hm2 ltac:(congruence) ltac:(congruence)) as (m3 & Hm3 & (El3 & Er3 & Eg3)).
  exists m3. split; [exact Hm3|]. split; [congruence|split; congruence].
Qed.

Lemma regs_kept_put_vm : forall i e j X,
  (forall m, nth_error (Isolation.Engine_vms e) j = Some m -> j = i -> Isolation.vm_live m = true ->
     Isolation.vm_hasRun m = true -> kept_run m X) ->
  regs_kept i e (put_vm e j X).
Proof.
  intros i e j X H m Hm Hl Hr. unfold put_vm. cbn [Isolation.Engine_vms Isolation.set_Engine_vms].
  destruct (Nat.eq_dec j i) as [<-|Ne].
  - exists X. split; [apply nth_replace_nth; apply nth_error_Some; congruence|exact (H m Hm eq_refl Hl Hr)].
  - exists m. rewrite nth_replace_nth_other by exact Ne. split; [exact Hm|apply kept_run_refl].
Qed.

(** A vCPU store that leaves the context's registers. *)
Lemma regs_put_vcpu : forall m j c c', nth_error (Isolation.vm_vcpus m) j = Some c ->
  ctx_regs (Isolation.vcpu_ctx c') = ctx_regs (Isolation.vcpu_ctx c) ->
  vm_regs (Isolation.set_vm_vcpus (replace_nth j c' (Isolation.vm_vcpus m)) m) = vm_regs m.
Proof.
  intros m j c c' Hc E. unfold vm_regs. destruct m as [l hr nv s2 vcpus sh pr]. cbn in *.
  rewrite map_replace_nth, E. apply replace_nth_same. rewrite nth_error_map, Hc. reflexivity.
Qed.

Lemma line_vcpu_regs : forall c intid level,
  ctx_regs (Isolation.vcpu_ctx (line_vcpu c intid level)) = ctx_regs (Isolation.vcpu_ctx c).
Proof.
  intros c intid level. unfold line_vcpu, set_line.
  destruct (level =? 1); [reflexivity|]. destruct (intid >=? Isolation.sgiLines); reflexivity.
Qed.

(** [Integrity.integrity_regs] of the Go calls: no call of [gcall] but
    VM_DESTROY of the VM itself changes the registers a live VM that has
    run keeps in its vCPUs' contexts, whoever makes it: the host's calls
    and the guest calls leave every vCPU context's registers as they
    were (VCPU_INIT resets a context only before its VM has run, VCPU_IRQ
    changes only the interrupt lines). *)
Theorem gcall_integrity_regs : forall c x cpu e tr e' tr' id, call_pre c x cpu e -> run_gcall x e tr = Some (e', tr') ->
  1 <= id -> x <> GHost (CVMDestroy id) -> regs_kept (Z.to_nat (id - 1)) e e'.
Proof.
  intros c x cpu e tr e' tr' id Hpre Hrun Hid Hx0. pose proof Hpre as (R & I & H & Hx & Hp & _).
  pose proof R as (Hc & ((Hi & Hs) & Hwb) & _ & (_ & Hram) & Ho & Hvms & _).
  pose proof Hc as (Hcok & _ & Hcfg & _).
  destruct x as [[n f|id' pa ipa n perms|id' pa ipa n perms|id' ipa n|pa n|pa|id'|id' v entry arg|id' v intid level|id'
                  |id' ipa mode value]|id' ipa n|id' ipa n|id' ipa n];
    cbn [gcall_ok mcall_ok gcall_pre_all run_gcall run_mcall] in *; unfold u64 in *; ran Hrun E;
    match type of E with _ = Ok ?st _ _ => rename st into r end.
  - (* VM_CREATE fills a free slot *)
    destruct (VMCreate_cases e tr (Z.of_nat n) (Z.of_nat f) _ _ _ Hcok ltac:(lia) E)
      as [->|[(slot & id0 & _ & ->)|(slot & rt & q & X & (_ & Hfree & _) & _ & _ & _ & _ & ->)]].
    + apply regs_kept_vms. reflexivity.
    + apply regs_kept_put_vm. intros m Hm _ _ _. rewrite (nth_error_nth _ _ _ Hm). destruct m.
      split; [reflexivity|split; reflexivity].
    + intros m Hm Hl Hr. unfold at_slot. cbn [Isolation.Engine_vms Isolation.set_Engine_vms Isolation.set_Engine_pool].
      destruct (Nat.eq_dec (Z.to_nat slot) (Z.to_nat (id - 1))) as [Es|Ne].
      * exfalso. unfold live_at in Hfree. rewrite Es, (nth_error_nth _ _ _ Hm) in Hfree. congruence.
      * exists m. rewrite nth_replace_nth_other by exact Ne. destruct e. split; [exact Hm|apply kept_run_refl].
  - destruct Hx as (? & ? & ? & ? & ?).
    destruct (MemShare_walks e tr id' pa ipa n perms _ _ _ Hi Hwb Hram ltac:(assumption) ltac:(assumption)
      ltac:(assumption) ltac:(assumption) E) as (Herr & Hsucc).
    destruct (Z.eq_dec r Abi.Success) as [Es|Ne]; [|rewrite (Herr Ne); apply regs_kept_vms; reflexivity].
    destruct (Hsucc Es) as (m & _ & _ & Ev & _). apply regs_kept_vms. exact Ev.
  - destruct Hx as (? & ? & ? & ? & ?).
    destruct (MemDonate_walks e tr id' pa ipa n perms _ _ _ Hi Hwb Hram ltac:(assumption) ltac:(assumption)
      ltac:(assumption) ltac:(assumption) E) as (Herr & Hsucc).
    destruct (Z.eq_dec r Abi.Success) as [Es|Ne]; [|rewrite (Herr Ne); apply regs_kept_vms; reflexivity].
    destruct (Hsucc Es) as (m & _ & _ & Ev & _). apply regs_kept_vms. exact Ev.
  - destruct Hx as (? & ? & ?).
    destruct (MemUnshare_walks e tr id' ipa n _ _ _ Hi Hwb ltac:(assumption) ltac:(assumption) ltac:(assumption) E)
      as (Herr & Hsucc).
    destruct (Z.eq_dec r Abi.Success) as [Es|Ne]; [|rewrite (Herr Ne); apply regs_kept_vms; reflexivity].
    destruct (Hsucc Es) as (m & _ & _ & _ & _ & _ & _ & _ & Ev & _). apply regs_kept_vms. exact Ev.
  - destruct Hx as (? & ?).
    destruct (MemReclaim_walks e tr pa n _ _ _ Hi Hram ltac:(assumption) ltac:(assumption) E) as (_ & Ev & _).
    apply regs_kept_vms. exact Ev.
  - pose proof Hi as ((Hled & _) & _).
    destruct (MemInfo_refines c e (abs_state c e (fun _ => 0%nat) (fun _ _ _ => 0%nat)) tr pa Hled Ho (proj1 Hcfg)
      eq_refl Hx) as (info & st & out & E' & _).
    rewrite E' in E. injection E as _ <- _. apply regs_kept_vms. reflexivity.
  - (* VM_DESTROY of another VM: every other slot as it was *)
    assert (Hne : id' <> id) by (intros ->; exact (Hx0 eq_refl)).
    destruct (VMDestroy_shared_walk_cases e tr id' Hi Hs Hwb ltac:(lia) Hx Hram
      (host_lv3_shared c e (proj1 Hcfg) (proj1 (proj1 Hi)) H id'))
      as (st & e1 & tr1 & E1 & [(-> & _)|(i & m & q & _ & C & -> & _ & _ & _ & _ & _ & _ & _ & _ & Hid1)]);
      rewrite E1 in E; injection E as _ <- _; [apply regs_kept_vms; reflexivity|].
    intros m0 Hm0 _ _. exists m0. split; [|apply kept_run_refl].
    assert (Hj : Z.to_nat (id - 1) <> Z.to_nat (id' - 1)) by lia.
    pose proof (other_slot _ _ _ _ C _ Hj) as Ev. pose proof (same_len _ _ _ _ C) as Hlen.
    unfold vm_at, released in *. cbn [Isolation.Engine_vms Isolation.set_Engine_pages Isolation.set_Engine_pool] in *.
    assert (Hlt : (Z.to_nat (id - 1) < List.length (Isolation.Engine_vms e))%nat) by (apply nth_error_Some; congruence).
    rewrite (nth_error_nth' _ Isolation.zero_vm) by (destruct e; cbn in *; lia).
    rewrite Ev. destruct e. cbn in *. rewrite (nth_error_nth _ _ _ Hm0). reflexivity.
  - (* VCPU_INIT: only a VM that has not run *)
    destruct Hx as (? & ? & ? & ?).
    destruct (VCPUInit_no_failure e tr id' v entry arg (proj1 Hs) ltac:(assumption) ltac:(assumption))
      as (st & e1 & E1 & _ & _ & Hout). rewrite E1 in E. injection E as <- <-.
    destruct Hout as [(-> & _)|(_ & m & c0 & Hm & _ & _ & _ & _ & Hr & _ & ->)]; [apply regs_kept_vms; reflexivity|].
    apply regs_kept_put_vm. intros m0 Hm0 _ _ Hr0. rewrite Hm in Hm0. injection Hm0 as <-. congruence.
  - (* VCPU_IRQ: only the interrupt lines *)
    destruct Hx as (? & ? & ? & ?).
    destruct (VCPUIRQ_inv e tr id' v intid level (proj1 Hs) ltac:(assumption) ltac:(assumption) ltac:(assumption))
      as (st & e1 & E1 & _ & _ & Hout). rewrite E1 in E. injection E as <- <-.
    destruct Hout as [(-> & _)|(_ & m & c0 & Hm & _ & _ & _ & Hc0 & _ & _ & _ & ->)]; [apply regs_kept_vms; reflexivity|].
    apply regs_kept_put_vm. intros m0 Hm0 _ _ _. rewrite Hm in Hm0. injection Hm0 as <-.
    split; [destruct m; reflexivity|split; [destruct m; reflexivity|]].
    exact (regs_put_vcpu m _ c0 _ Hc0 (line_vcpu_regs c0 intid level)).
  - (* MMIO_LOG_READ: only the shadow state *)
    destruct (MMIOLogRead_no_failure e tr id' Hs Hx) as (k & packed & st & e1 & E1 & _ & _ & _ & Hst).
    rewrite E1 in E. injection E as _ <-.
    destruct Hst as [->|(i & m & sh & Hm & ->)]; [apply regs_kept_vms; reflexivity|].
    apply regs_kept_put_vm. intros m0 Hm0 _ _ _. rewrite Hm in Hm0. injection Hm0 as <-. destruct m.
    split; [reflexivity|split; reflexivity].
  - destruct Hx as (? & ? & ? & ?).
    destruct (MMIOShadow_no_failure e tr id' ipa mode value Hs ltac:(assumption) ltac:(lia)) as (st & e1 & E1 & _ & Hst).
    rewrite E1 in E. injection E as _ <-.
    destruct Hst as [->|(i & m & sh & Hm & ->)]; [apply regs_kept_vms; reflexivity|].
    apply regs_kept_put_vm. intros m0 Hm0 _ _ _. rewrite Hm in Hm0. injection Hm0 as <-. destruct m.
    split; [reflexivity|split; reflexivity].
  (* The guest calls change no VM slot. *)
  - destruct Hx as (Hipa & Hn). destruct Hp as (Hid' & m & Hnth & Hlive).
    destruct (GuestShare_refine_inv c e tr id' ipa n m (fun _ => 0%nat) (fun _ _ _ => 0%nat) R Hid' Hnth Hlive Hipa Hn)
      as (st & e1 & tr1 & E1 & (Ev & _) & _). rewrite E1 in E. injection E as _ <- _. apply regs_kept_vms. exact Ev.
  - destruct Hx as (Hipa & Hn). destruct Hp as (Hid' & m & Hnth & Hlive).
    destruct (GuestUnshare_refine_inv c e tr id' ipa n m (fun _ => 0%nat) (fun _ _ _ => 0%nat) R Hid' Hnth Hlive Hipa Hn)
      as (st & e1 & tr1 & E1 & (Ev & _) & _). rewrite E1 in E. injection E as _ <- _. apply regs_kept_vms. exact Ev.
  - destruct Hx as (Hipa & Hn). destruct Hp as (Hid' & m & Hnth & Hlive).
    destruct (GuestRelinquish_refine_inv c e tr id' ipa n m (fun _ => 0%nat) (fun _ _ _ => 0%nat) R Hid' Hnth Hlive Hipa Hn)
      as (st & e1 & tr1 & E1 & (Ev & _) & _). rewrite E1 in E. injection E as _ <- _. apply regs_kept_vms. exact Ev.
Qed.

(** [Integrity.integrity_mem]: a call writes memory only by zeroing, and
    only pages no VM but the one making the call holds privately before
    it: MEM_RECLAIM zeroes pages nobody owned, GUEST_RELINQUISH pages of
    its own VM (nobody's after it), every other call writes nothing
    (CodeWrites). *)
Theorem gcall_integrity_mem : forall c x cpu e tr e' tr', call_pre c x cpu e -> run_gcall x e tr = Some (e', tr') ->
  exists l, tr' = l ++ tr /\ forall ev, In ev l -> writes_memory ev = true ->
    exists pa n, ev = mkEvent "ZeroPages" [pa; n] /\
      forall p v, in_range p (pfn c (Z.to_nat pa)) (Z.to_nat n) = true ->
        Noninterference.actor (gcall_action x cpu) <> Some v -> Integrity.private_to v (abs_ms c e) p = false.
Proof.
  intros c x cpu e tr e' tr' Hpre Hrun. pose proof Hpre as (R & I & H & Hx & Hp & Hfrom).
  pose proof R as (Hc & _ & _ & Hrok & Ho & _). pose proof Hc as (_ & _ & (Hcfg & _) & _).
  assert (Nw : forall l, (forall ev, In ev l -> writes_memory ev = true -> False) ->
    forall ev, In ev l -> writes_memory ev = true ->
      exists pa n, ev = mkEvent "ZeroPages" [pa; n] /\
        forall p v, in_range p (pfn c (Z.to_nat pa)) (Z.to_nat n) = true ->
          Noninterference.actor (gcall_action x cpu) <> Some v -> Integrity.private_to v (abs_ms c e) p = false)
    by (intros l Hl ev Hin Hw; destruct (Hl ev Hin Hw)).
  destruct x as [[n f|id pa ipa n perms|id pa ipa n perms|id ipa n|pa n|pa|id|id v entry arg|id v intid level|id
                  |id ipa mode value]|id ipa n|id ipa n|id ipa n];
    cbn [run_gcall run_mcall] in Hrun;
    try solve [ran Hrun E; no_writes E; exists l; split; [reflexivity|exact (Nw l Hl)]].
  - (* MEM_RECLAIM *)
    cbn [gcall_ok mcall_ok] in Hx. unfold u64 in Hx. destruct Hx as (Hpa & Hn).
    ran Hrun E.
    destruct (MemReclaim_checks_refine c e (abs_state c e (fun _ => 0%nat) (fun _ _ _ => 0%nat)) tr pa n Hrok Ho Hcfg
      eq_refl Hpa Hn) as [(st & sst & E0 & _)|(_ & _ & _ & Hfr)].
    { rewrite E0 in E. injection E as _ <- <-. exists []. split; [reflexivity|intros ? []]. }
    destruct (MemReclaim_writes root pa n e tr _ _ _ E) as (l & -> & Hl). exists l. split; [reflexivity|].
    intros ev Hin Hw. rewrite Forall_forall in Hl. destruct (Hl ev Hin) as [Hq| ->].
    { unfold quiet_event in Hq. rewrite Hq in Hw. discriminate Hw. }
    exists pa, n. split; [reflexivity|]. intros p v Hin' _.
    apply Lemmas.in_range_spec in Hin'.
    pose proof (Lemmas.first_range_none _ _ _ _ Hfr p Hin') as Hnone.
    unfold reclaim_check, owner_of in Hnone. cbn [st_meta abs_state] in Hnone. unfold Integrity.private_to.
    destruct (pg_owner (ms_pages (abs_ms c e) p)); [reflexivity|discriminate Hnone|discriminate Hnone|discriminate Hnone].
  - (* GUEST_RELINQUISH *)
    cbn [gcall_ok gcall_pre_all] in Hx, Hp. destruct Hx as (Hipa & Hn). destruct Hp as (Hid & m & Hnth & Hlive).
    assert (Hrun' : run_gcall (GRelinquish id ipa n) e tr = Some (e', tr')) by exact Hrun. ran Hrun E.
    destruct (GuestRelinquish_zeroes c e tr id ipa n m _ _ _ R Hid Hnth Hlive Hipa Hn E) as (l & -> & Hl & _).
    exists l. split; [reflexivity|]. intros ev Hin Hw. destruct (Hl ev Hin Hw) as (pa & k & -> & Hgone).
    exists pa, k. split; [reflexivity|]. intros p v Hin' Ha.
    pose proof (gcall_owner_flow c (GRelinquish id ipa n) cpu e tr _ _ Hpre Hrun' p) as F.
    rewrite (Hgone p Hin') in F. cbn [gcall_action Noninterference.actor] in F, Ha.
    unfold Integrity.private_to.
    destruct F as [F|[(_ & v' & pa' & ipa' & n' & perms & F & _)|[((w & F & [Fa|(c' & ipa' & n' & Fa)]) & _)|(_ & F & _)]]];
      try discriminate F; try discriminate Fa; [rewrite <- F; reflexivity|].
    injection Fa as Ew _ _. rewrite F. destruct (pg_share _); [|reflexivity].
    apply Nat.eqb_neq. intros ->. apply Ha. rewrite Ew. reflexivity.
Qed.

(** ** Noninterference: the memory a VM keeps private *)

(** [p] is in the range of a ZeroPages event. *)
Definition zeroes_page (c : config) (p : nat) (ev : event) : bool :=
  String.eqb (ev_method ev) "ZeroPages" &&
  match ev_args ev with [pa; n] => in_range p (pfn c (Z.to_nat pa)) (Z.to_nat n) | _ => false end.

(** Memory after the events [l] of a call, whose only writes are
    zeroings ([gcall_integrity_mem]): a page some ZeroPages of [l] covers
    reads zero, every other page as before. *)
Definition after_zeroing (c : config) (l : list event) (mem : nat -> nat) : nat -> nat :=
  fun p => if existsb (zeroes_page c p) l then 0%nat else mem p.

Lemma zeroes_page_in : forall c p l pa n, In (mkEvent "ZeroPages" [pa; n]) l ->
  in_range p (pfn c (Z.to_nat pa)) (Z.to_nat n) = true -> existsb (zeroes_page c p) l = true.
Proof. intros c p l pa n Hin Hr. apply existsb_exists. exists (mkEvent "ZeroPages" [pa; n]). auto. Qed.

(** [Noninterference.ni_step] of the Go calls, for the memory that holds
    a VM's secrets: two machines with the same engine whose memories
    agree on every page not hidden for [v] (its pages it has not shared,
    and pages nobody owns), along which [v] releases what [declass]
    allows, are still related after the call, with each memory as the
    call's zeroings leave it. The call itself reads no memory (its
    platform calls are events, and it makes none that answers), so the two
    runs are one run: same engine, same trace, same answer. The pages
    that become visible are those MEM_RECLAIM zeroes and those [v] itself
    shares ([Noninterference.unhide]). *)
Theorem gcall_noninterference : forall c v x cpu e tr e' tr' mem1 mem2 regs1 regs2,
  call_pre c x cpu e -> run_gcall x e tr = Some (e', tr') ->
  let s := abs_state c e mem1 regs1 in let t := abs_state c e mem2 regs2 in
  Noninterference.rel v s t -> Noninterference.declass c v s t (gcall_action x cpu) ->
  exists l, tr' = l ++ tr /\
    Noninterference.rel v (abs_state c e' (after_zeroing c l mem1) regs1) (abs_state c e' (after_zeroing c l mem2) regs2).
Proof.
  intros c v x cpu e tr e' tr' mem1 mem2 regs1 regs2 Hpre Hrun s t [_ Rmem Rregs] D.
  destruct (gcall_integrity_mem c x cpu e tr e' tr' Hpre Hrun) as (l & -> & _).
  exists l. split; [reflexivity|]. constructor; [reflexivity| |exact Rregs].
  cbn [st_meta st_mem abs_state]. intros p Hp. unfold after_zeroing.
  destruct (existsb (zeroes_page c p) l) eqn:Z; [reflexivity|].
  destruct (Noninterference.hidden v (abs_ms c e) p) eqn:H0; [|exact (Rmem p H0)].
  (* Hidden before, visible after: the model's step made it visible. *)
  destruct (gcall_refines c x cpu e tr e' (l ++ tr) mem1 regs1 Hpre Hrun) as [(Hpg & _)|(Hpg & _)];
    unfold Noninterference.hidden in Hp, H0.
  { rewrite Hpg in Hp. congruence. }
  pose proof Hp as Hp'. rewrite <- Hpg in Hp.
  destruct (Noninterference.unhide c v s (gcall_action x cpu) p H0 Hp)
    as [(pa' & n' & Ha & Hin)|(cpu' & ipa' & n' & Ha & Hok & Hin)].
  - (* MEM_RECLAIM: it answered SUCCESS, having zeroed its range *)
    destruct x as [[| | | |pa n| | | | | |]| | |]; cbn [gcall_action mcall_action] in Ha; try discriminate Ha.
    injection Ha as <- <-.
    pose proof Hpre as (R & _ & _ & Hx & _). cbn [gcall_ok mcall_ok] in Hx. unfold u64 in Hx. destruct Hx as (Hpa & Hn).
    destruct (MemReclaim_refine_inv c e tr pa n mem1 regs1 R Hpa Hn) as (st & e0 & tr0 & Hrun0 & _ & Herr & _).
    cbn [run_gcall run_mcall] in Hrun. rewrite Hrun0 in Hrun. cbn [after] in Hrun. injection Hrun as E0 E. subst e'.
    destruct (Z.eq_dec st Abi.Success) as [->|Ne].
    + destruct (MemReclaim_zeroes e tr pa n e0 tr0 Hrun0) as (l1 & l2 & l3 & Etr).
      rewrite E in Etr. rewrite !app_comm_cons, !app_assoc in Etr. apply app_inv_tail in Etr.
      rewrite (zeroes_page_in c p l pa n ltac:(rewrite Etr; apply in_or_app; right; left; reflexivity) Hin) in Z.
      discriminate Z.
    + rewrite (Herr Ne) in Hp'. congruence.
  - (* [v]'s GUEST_SHARE: the pages it shares are what it releases *)
    destruct x as [h|id ipa n|id ipa n|id ipa n]; cbn [gcall_action] in Ha, D;
      [destruct h; discriminate Ha| |discriminate Ha|discriminate Ha].
    injection Ha as Ev _ Ei En. subst v ipa' n'. exact (D eq_refl Hok p Hin).
Qed.

(** [Integrity.integrity_mem] of FILE_READ, a call of the host: it
    changes no engine state, and its one platform call that writes memory,
    the copy of the file, comes only after the model's checks passed: it
    lands on pages the host owns, no VM's private page. *)
Theorem FileRead_integrity_mem : forall c e tr index pa pages r e' tr',
  reclaim_ok e -> Isolation.Engine_plat e <> None -> cfg_rel c e -> files_rel c e -> files_ok e ->
  0 <= index < 2 ^ 64 -> 0 <= pa < 2 ^ 64 -> 0 <= pages < 2 ^ 64 ->
  Isolation.Engine_FileRead root index pa pages e tr = Ok r e' tr' ->
  e' = e /\ exists l, tr' = l ++ tr /\ forall ev, In ev l -> writes_memory ev = true ->
    ev = mkEvent "CopyFile" [index; pa] /\ exists f, nth_error (files c) (Z.to_nat index) = Some f /\
      forall p v, in_range p (pfn c (Z.to_nat pa)) (file_pages c f) = true -> Integrity.private_to v (abs_ms c e) p = false.
Proof.
  intros c e tr index pa pages r e' tr' Hok Hplat Hcfg Hrel Hfok Hi Hpa Hpg Hrun.
  destruct (FileRead_refines c e (abs_state c e (fun _ => 0%nat) (fun _ _ _ => 0%nat)) tr index pa pages Hok Hplat Hcfg
    Hrel Hfok eq_refl Hi Hpa Hpg)
    as [(sst & _ & E & _)|(f & b & s' & Hf & _ & _ & Hm & _ & _ & [(_ & _ & E & _)|(_ & o & _ & E)])];
    rewrite E in Hrun; injection Hrun as _ <- <-; (split; [reflexivity|]).
  1,2: exists []; split; [reflexivity|intros ? []].
  exists [mkEvent "CopyFile" [index; pa]]. split; [reflexivity|]. intros ev [<-|[]] _. split; [reflexivity|].
  exists f. split; [exact Hf|]. intros p v Hp.
  unfold file_read in Hm. rewrite Hf in Hm. cbv zeta in Hm.
  destruct (negb _ || _); [discriminate Hm|].
  destruct (first_range _ _ _) eqn:F; [discriminate Hm|].
  apply Lemmas.in_range_spec in Hp. pose proof (Lemmas.first_range_none _ _ _ _ F p Hp) as Hc.
  unfold file_check, host_owned in Hc. cbn [st_meta abs_state] in Hc. unfold Integrity.private_to.
  destruct (in_ram c p); [|discriminate Hc].
  destruct (pg_owner (ms_pages (abs_ms c e) p)); cbn [negb] in Hc; discriminate Hc || reflexivity.
Qed.

(** ** Over a run of calls *)

(** Calls of [gcall] one after the other, each with the vCPU a guest call
    comes from, each from the engine and trace the one before returned. *)
Inductive gcalls (c : config) : list (gcall * nat) -> Isolation.Engine -> list event ->
    Isolation.Engine -> list event -> Prop :=
| gcalls_nil : forall e tr, gcalls c [] e tr e tr
| gcalls_cons : forall x cpu xs e tr e1 tr1 e' tr',
    gcall_ok x -> gcall_pre_all x e -> gcall_from c e x cpu -> run_gcall x e tr = Some (e1, tr1) ->
    gcalls c xs e1 tr1 e' tr' -> gcalls c ((x, cpu) :: xs) e tr e' tr'.

(** [Scrub.scrub_run] of the Go calls, for the ledger: if a page is not
    the host's before a run and is after it, some call of the run made it
    the host's, and that call was a MEM_RECLAIM of a range holding the
    page, answering SUCCESS, which asked the platform to zero the range
    and then to clean it. *)
Theorem gcalls_scrub_owner : forall c xs e tr e' tr', refine_inv c e -> Inv c (abs_ms c e) -> host_lv3 c e ->
  gcalls c xs e tr e' tr' ->
  forall p, pg_owner (ms_pages (abs_ms c e) p) <> OHost -> pg_owner (ms_pages (abs_ms c e') p) = OHost ->
  exists xs1 cpu xs2 e1 tr1 e2 tr2 pa n, xs = xs1 ++ (GHost (CMemReclaim pa n), cpu) :: xs2 /\
    gcalls c xs1 e tr e1 tr1 /\ run_gcall (GHost (CMemReclaim pa n)) e1 tr1 = Some (e2, tr2) /\
    gcalls c xs2 e2 tr2 e' tr' /\
    pg_owner (ms_pages (abs_ms c e1) p) <> OHost /\ pg_owner (ms_pages (abs_ms c e2) p) = OHost /\
    in_range p (pfn c (Z.to_nat pa)) (Z.to_nat n) = true /\
    exists l1 l2 l3, tr2 = l1 ++ mkEvent "CleanToPoC" [pa; n] :: l2 ++ mkEvent "ZeroPages" [pa; n] :: l3 ++ tr1.
Proof.
  intros c xs e tr e' tr' R I H Hr. induction Hr as [e tr|x cpu xs e tr e1 tr1 e' tr' Hx Hpre Hfrom Hrun Hrest IH];
    intros p H0 H1; [congruence|].
  destruct (gcall_keeps_lv3 c x e tr R I H Hx Hpre) as (e1' & tr1' & Hrun' & R1 & I1 & H1').
  rewrite Hrun in Hrun'. injection Hrun' as <- <-.
  assert (Hd : {pg_owner (ms_pages (abs_ms c e1) p) = OHost} + {pg_owner (ms_pages (abs_ms c e1) p) <> OHost})
    by (destruct (pg_owner (ms_pages (abs_ms c e1) p)); [right; discriminate|right; discriminate|left; reflexivity
        |right; discriminate]).
  destruct Hd as [O1|O1].
  2:{ destruct (IH R1 I1 H1' p O1 H1) as (xs1 & cpu' & xs2 & e2 & tr2 & e3 & tr3 & pa & n & -> & Hr1 & Hp).
      exists ((x, cpu) :: xs1), cpu', xs2, e2, tr2, e3, tr3, pa, n. split; [reflexivity|].
      exact (conj (gcalls_cons c x cpu xs1 e tr e1 tr1 e2 tr2 Hx Hpre Hfrom Hrun Hr1) Hp). }
  (* This call made it the host's. *)
  destruct (gcall_scrub_owner c x cpu e tr e1 tr1 (conj R (conj I (conj H (conj Hx (conj Hpre Hfrom))))) Hrun p H0 O1)
    as (pa & n & -> & Hin & Htr).
  exists [], cpu, xs, e, tr, e1, tr1, pa, n. split; [reflexivity|]. split; [apply gcalls_nil|].
  split; [exact Hrun|]. split; [exact Hrest|]. split; [exact H0|]. split; [exact O1|]. exact (conj Hin Htr).
Qed.

(** What [v] releases along a run of calls ([Noninterference.declass_run]
    of the Go calls): [declass] at each call, from the memories as the
    zeroings of the calls before left them. *)
Fixpoint declass_calls (c : config) (v : nat) (xs : list (gcall * nat)) (e : Isolation.Engine) (tr : list event)
    (mem1 mem2 : nat -> nat) (regs1 regs2 : nat -> nat -> nat -> nat) : Prop :=
  match xs with
  | [] => True
  | (x, cpu) :: xs' =>
      Noninterference.declass c v (abs_state c e mem1 regs1) (abs_state c e mem2 regs2) (gcall_action x cpu) /\
      forall e1 l, run_gcall x e tr = Some (e1, l ++ tr) ->
        declass_calls c v xs' e1 (l ++ tr) (after_zeroing c l mem1) (after_zeroing c l mem2) regs1 regs2
  end.

Lemma after_zeroing_app : forall c l2 l1 mem p,
  after_zeroing c (l2 ++ l1) mem p = after_zeroing c l2 (after_zeroing c l1 mem) p.
Proof.
  intros c l2 l1 mem p. unfold after_zeroing. rewrite existsb_app.
  destruct (existsb (zeroes_page c p) l2); reflexivity.
Qed.

(** [Noninterference.noninterference] of the Go calls, for memory: along
    any run of calls from an engine meeting what [reaches_all_Inv] keeps,
    two memories that agree on every page not hidden for [v], along which
    [v] releases what [declass] allows, agree on every such page of the
    last engine, each as the run's zeroings leave it. *)
Theorem gcalls_noninterference : forall c v xs e tr e' tr', refine_inv c e -> Inv c (abs_ms c e) -> host_lv3 c e ->
  gcalls c xs e tr e' tr' ->
  forall mem1 mem2 regs1 regs2,
  Noninterference.rel v (abs_state c e mem1 regs1) (abs_state c e mem2 regs2) ->
  declass_calls c v xs e tr mem1 mem2 regs1 regs2 ->
  exists l, tr' = l ++ tr /\
    Noninterference.rel v (abs_state c e' (after_zeroing c l mem1) regs1) (abs_state c e' (after_zeroing c l mem2) regs2).
Proof.
  intros c v xs e tr e' tr' R I H Hr. induction Hr as [e tr|x cpu xs e tr e1 tr1 e' tr' Hx Hpre Hfrom Hrun Hrest IH];
    intros mem1 mem2 regs1 regs2 Rel D.
  - exists []. split; [reflexivity|]. destruct Rel as [Rm Rmem Rregs]. constructor; [exact Rm| |exact Rregs].
    exact Rmem.
  - destruct D as (Da & Dr).
    destruct (gcall_keeps_lv3 c x e tr R I H Hx Hpre) as (e1' & tr1' & Hrun' & R1 & I1 & H1').
    rewrite Hrun in Hrun'. injection Hrun' as <- <-.
    destruct (gcall_noninterference c v x cpu e tr e1 tr1 mem1 mem2 regs1 regs2
      (conj R (conj I (conj H (conj Hx (conj Hpre Hfrom))))) Hrun Rel Da) as (l1 & -> & Rel1).
    destruct (IH R1 I1 H1' _ _ _ _ Rel1 (Dr e1 l1 Hrun)) as (l2 & -> & [Rm Rmem Rregs]).
    exists (l2 ++ l1). split; [rewrite app_assoc; reflexivity|].
    constructor; [exact Rm| |exact Rregs]. cbn [st_meta st_mem abs_state] in *. intros p Hp.
    rewrite !after_zeroing_app. exact (Rmem p Hp).
Qed.

(** Over any run of such calls with no VM_DESTROY of the VM: a live VM
    that has run is still live, has run, and holds the registers it held
    ([gcall_integrity_regs] call after call). Between two VCPU_RUNs of a
    vCPU, nothing the host or another VM asks changes them. *)
Theorem gcalls_integrity_regs : forall c xs e tr e' tr' id, refine_inv c e -> Inv c (abs_ms c e) -> host_lv3 c e ->
  gcalls c xs e tr e' tr' -> 1 <= id -> (forall x cpu, In (x, cpu) xs -> x <> GHost (CVMDestroy id)) ->
  regs_kept (Z.to_nat (id - 1)) e e'.
Proof.
  intros c xs e tr e' tr' id R I H Hr Hid. induction Hr as [e tr|x cpu xs e tr e1 tr1 e' tr' Hx Hpre Hfrom Hrun Hrest IH];
    intros Hno.
  - intros m Hm _ _. exists m. split; [exact Hm|apply kept_run_refl].
  - destruct (gcall_keeps_lv3 c x e tr R I H Hx Hpre) as (e1' & tr1' & Hrun' & R1 & I1 & H1').
    rewrite Hrun in Hrun'. injection Hrun' as <- <-.
    apply (regs_kept_trans _ e e1 e').
    + exact (gcall_integrity_regs c x cpu e tr e1 tr1 id (conj R (conj I (conj H (conj Hx (conj Hpre Hfrom))))) Hrun Hid
        (Hno x cpu (or_introl eq_refl))).
    + exact (IH R1 I1 H1' (fun x' cpu' Hin => Hno x' cpu' (or_intror Hin))).
Qed.

(** [Scrub.scrub_relinquish]: a page becomes nobody's only by VM_DESTROY
    (MEM_RECLAIM zeroes it before the host has it again) or by a
    GUEST_RELINQUISH that asked the platform to zero it. *)
Theorem gcall_scrub_none : forall c x cpu e tr e' tr', call_pre c x cpu e -> run_gcall x e tr = Some (e', tr') ->
  forall p, pg_owner (ms_pages (abs_ms c e) p) <> ONone -> pg_owner (ms_pages (abs_ms c e') p) = ONone ->
  (exists id, x = GHost (CVMDestroy id)) \/
  (exists id ipa n pa k l1 l2, x = GRelinquish id ipa n /\ tr' = l1 ++ mkEvent "ZeroPages" [pa; k] :: l2 ++ tr /\
     in_range p (pfn c (Z.to_nat pa)) (Z.to_nat k) = true).
Proof.
  intros c x cpu e tr e' tr' Hpre Hrun p H0 H1.
  pose proof (gcall_owner_flow c x cpu e tr e' tr' Hpre Hrun p) as F. rewrite H1 in F.
  destruct F as [F|[(_ & v' & pa' & ipa' & n' & perms & F & _)|[((w & F & [Fa|(c' & ipa' & n' & Fa)]) & _)|(_ & F & _)]]];
    try congruence.
  - left. destruct x as [[| | | | | |id| | | |]| | |]; cbn [gcall_action mcall_action] in Fa; try discriminate Fa.
    exists id. reflexivity.
  - right. destruct x as [|id ipa n|id ipa n|id ipa n]; cbn [gcall_action mcall_action] in Fa;
      try (destruct m; discriminate Fa); try discriminate Fa.
    pose proof Hpre as (R & _ & _ & (Hipa & Hn) & (Hid & m & Hnth & Hlive) & _).
    cbn [run_gcall] in Hrun. ran Hrun E.
    destruct (GuestRelinquish_zeroes c e tr id ipa n m _ _ _ R Hid Hnth Hlive Hipa Hn E) as (l & -> & _ & Hcov).
    destruct (Hcov p ltac:(intros Ep; apply H0; rewrite <- Ep; exact H1)) as (pa & k & Hin & Hr).
    apply in_split in Hin as (l1 & l2 & ->).
    exists id, ipa, n, pa, k, l1, l2. split; [reflexivity|]. split; [rewrite <- app_assoc; reflexivity|exact Hr].
Qed.

(** The model's host stage-2 gains a page only by a MEM_RECLAIM of a range
    holding it or by a GUEST_SHARE of the VM that owns the page after. *)
Lemma host_view_gain : forall c s a p,
  ms_hs2 (st_meta s) p = false -> ms_hs2 (st_meta (fst (Spec.step c s a))) p = true ->
  (exists pa n, a = AHost (HMemReclaim pa n) /\ in_range p (pfn c pa) n = true) \/
  (exists v cpu ipa n, a = AGuest v cpu (GGuestShare ipa n) /\
     pg_owner (ms_pages (st_meta (fst (Spec.step c s a))) p) = OVM v).
Proof.
  intros c s a p H0 H1.
  destruct a as [h|v cpu g|v cpu g|v cpu t|q y]; cbn [Spec.step] in *; [destruct h| |destruct g| |];
    unfold_calls; split_step; simpl in *; try congruence.
  all: match goal with H : context [if ?b then _ else _] |- _ => destruct b eqn:Eb; simpl in * end;
    try congruence; solve [left; eauto | right; eauto 6].
Qed.

(** [Scrub.scrub_host_view]: the host's stage-2 gains a page only by a
    MEM_RECLAIM answering SUCCESS whose range holds the page, which asked
    the platform to zero the range and then to clean it, or by a
    GUEST_SHARE of the VM that owns the page. *)
Theorem gcall_scrub_host_view : forall c x cpu e tr e' tr', call_pre c x cpu e -> run_gcall x e tr = Some (e', tr') ->
  forall p, ms_hs2 (abs_ms c e) p = false -> ms_hs2 (abs_ms c e') p = true ->
  (exists pa n, x = GHost (CMemReclaim pa n) /\ in_range p (pfn c (Z.to_nat pa)) (Z.to_nat n) = true /\
     exists l1 l2 l3, tr' = l1 ++ mkEvent "CleanToPoC" [pa; n] :: l2 ++ mkEvent "ZeroPages" [pa; n] :: l3 ++ tr) \/
  (exists id ipa n, x = GShare id ipa n /\ pg_owner (ms_pages (abs_ms c e') p) = OVM (Z.to_nat id)).
Proof.
  intros c x cpu e tr e' tr' Hpre Hrun p H0 H1.
  set (s := abs_state c e (fun _ => 0%nat) (fun _ _ _ => 0%nat)).
  destruct (gcall_refines c x cpu e tr e' tr' (fun _ => 0%nat) (fun _ _ _ => 0%nat) Hpre Hrun) as [(_ & Hh & _)|(Hp & Hh & _)];
    [rewrite Hh in H1; congruence|].
  pose proof H1 as H1'. rewrite <- Hh in H1.
  destruct (host_view_gain c s (gcall_action x cpu) p H0 H1) as [(pa' & n' & Ha & Hin)|(v & cpu' & ipa' & n' & Ha & Ho)].
  - left. destruct x as [[| | | |pa n| | | | | |]| | |]; cbn [gcall_action mcall_action] in Ha; try discriminate Ha.
    injection Ha as <- <-. exists pa, n. split; [reflexivity|]. split; [exact Hin|].
    pose proof Hpre as (R & _ & _ & Hx & _). cbn [gcall_ok mcall_ok] in Hx. unfold u64 in Hx. destruct Hx as (Hpa & Hn).
    destruct (MemReclaim_refine_inv c e tr pa n (fun _ => 0%nat) (fun _ _ _ => 0%nat) R Hpa Hn)
      as (st & e0 & tr0 & Hrun0 & _ & Herr & _).
    cbn [run_gcall run_mcall] in Hrun. rewrite Hrun0 in Hrun. cbn [after] in Hrun. injection Hrun as <- <-.
    destruct (Z.eq_dec st Abi.Success) as [->|Ne]; [|rewrite (Herr Ne) in H1'; congruence].
    exact (MemReclaim_zeroes e tr pa n e0 tr0 Hrun0).
  - right. destruct x as [h|id ipa n|id ipa n|id ipa n]; cbn [gcall_action] in Ha; try discriminate Ha.
    injection Ha as Ev _ _ _. exists id, ipa, n. split; [reflexivity|]. rewrite <- Hp, Ev. exact Ho.
Qed.

(** ** Protected VMs in every engine the calls reach *)

(** [Protected.protected_owns] and [Protected.protected_host_view] of
    every engine calls of [gcall] in any order reach, every VM_DESTROY
    included: a protected VM maps only pages it owns, and a page of it the
    host's stage-2 maps is one the VM shared with the host. *)
Corollary reaches_all_protected : forall c e e', refine_inv c e -> Inv c (abs_ms c e) -> host_lv3 c e ->
  reaches_all e e' ->
  forall v p y, vm_protected (ms_vms (abs_ms c e') v) = true -> vm_s2 (ms_vms (abs_ms c e') v) p = Some y ->
    pg_owner (ms_pages (abs_ms c e') p) = OVM v /\
    (ms_hs2 (abs_ms c e') p = true -> pg_share (ms_pages (abs_ms c e') p) = SharedWith host_id).
Proof.
  intros c e e' R I H Hr v p y Hp Hs. destruct (reaches_all_Inv c e e' R I H Hr) as (_ & I' & _).
  pose proof (Protected.protected_owner c _ v p y I' Hp Hs) as O. split; [exact O|]. intros Hh.
  pose proof (inv_hs2 _ _ I' p) as S. rewrite Hh in S. unfold host_sees in S. rewrite O in S.
  destruct (pg_share _) as [|b]; [discriminate S|]. symmetry in S. apply Nat.eqb_eq in S. rewrite S. reflexivity.
Qed.
