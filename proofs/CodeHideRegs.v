(** * The registers' half of noninterference, of the Go calls

    Every call of the host but VCPU_RUN of a VM whose registers differ,
    and every memory call of a guest, answers the same, makes the same
    platform calls and leaves engines with the same erasure, from two
    engines that differ only in the registers of the VM slots [h] picks
    ([CodeErase.erase]): those registers reach neither what the host sees
    of these calls nor anything they change but themselves
    ([hides_regs]). Each proof follows the two runs side by side
    ([CodeErase.sim_go]); the lemmas about the functions they share name
    the places they return. The calls of [CodeGuestInv.run_gcall] and
    runs of them are in [CodeHideCalls]. *)
From Coq Require Import ZArith Lia List Bool.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodeErase.
Import ListNotations Isolation.
Open Scope Z_scope.

(** ** Functions that return places *)

Lemma sim_liveVM : forall h e id, compat h e (erase h) ->
  sim h (fun q q' => q = q' /\ compat h q (slot_erasure h (wrapu 64 (id - 1)))) (Engine_liveVM e id) (Engine_liveVM e id).
Proof. intros. unfold Engine_liveVM. sim_go. Qed.
Global Hint Resolve sim_liveVM : simcall.

Lemma sim_vcpuOf : forall h e id v, compat h e (erase h) ->
  sim h (fun q q' => q = q' /\ compat h (fst q) (slot_erasure h (wrapu 64 (id - 1))) /\ compat h (snd q) (if h (wrapu 64 (id - 1)) then erase_vcpu else Datatypes.id)) (Engine_vcpuOf e id v) (Engine_vcpuOf e id v).
Proof. intros. unfold Engine_vcpuOf. sim_go. Qed.
Global Hint Resolve sim_vcpuOf : simcall.

Lemma sim_pageAt : forall h e pa, compat h e (erase h) ->
  sim h (fun q q' => q = q' /\ compat h q id) (Engine_pageAt e pa) (Engine_pageAt e pa).
Proof. intros. unfold Engine_pageAt. sim_go. Qed.
Global Hint Resolve sim_pageAt : simcall.

Lemma sim_slot : forall h e t i, compat h e (erase h) ->
  sim h (fun q q' => q = q' /\ compat h q id) (Engine_slot e t i) (Engine_slot e t i).
Proof. intros. unfold Engine_slot. sim_go. Qed.
Global Hint Resolve sim_slot : simcall.

Lemma sim_stage2Of : forall h e i, compat h e (erase h) ->
  sim h (fun q q' => q = q' /\ compat h q id) (Engine_stage2Of e i) (Engine_stage2Of e i).
Proof. intros. unfold Engine_stage2Of. sim_go. Qed.
Global Hint Resolve sim_stage2Of : simcall.

Lemma sim_callerVM : forall h e c, compat h e (erase h) ->
  sim h (fun q q' => q = q' /\ compat h q (slot_erasure h (wrapu 16 (Caller_VM c - 1)))) (Engine_callerVM e c) (Engine_callerVM e c).
Proof. intros. unfold Engine_callerVM. sim_go. Qed.
Global Hint Resolve sim_callerVM : simcall.

Lemma sim_checkTransfer : forall h e id pa ipa n perms oc, compat h e (erase h) ->
  sim h (fun q q' => q = q' /\ compat h (fst q) (slot_erasure h (wrapu 64 (id - 1))))
    (Engine_checkTransfer e id pa ipa n perms oc) (Engine_checkTransfer e id pa ipa n perms oc).
Proof.
  intros. unfold Engine_checkTransfer. sim_go.
Qed.
Global Hint Resolve sim_checkTransfer : simcall.

(** ** The stage-2 walks

    The recursive walks, by induction on the translation's depth bound:
    a recursive call is the induction hypothesis, which [sim_go] finds
    among the hypotheses. *)

Lemma sim_need : forall h d e, compat h e (erase h) ->
  (forall t virt lvl ipa end' u, sim h eq (Engine_need d e t virt lvl ipa end' u) (Engine_need d e t virt lvl ipa end' u)) /\
  (forall x lvl ipa stop u, sim h eq (Engine_needBelow d e x lvl ipa stop u) (Engine_needBelow d e x lvl ipa stop u)).
Proof.
  induction d as [|d IH]; intros e He; split; intros; cbn [Engine_need Engine_needBelow]; try apply sim_fail;
    destruct (IH e He) as [IHn IHb]; sim_go.
Qed.

Lemma sim_update : forall h d e, compat h e (erase h) ->
  (forall t lvl ipa end' u, sim h eq (Engine_update d e t lvl ipa end' u) (Engine_update d e t lvl ipa end' u)) /\
  (forall slot lvl base u, compat h slot id ->
     sim h eq (Engine_replaceLeaf d e slot lvl base u) (Engine_replaceLeaf d e slot lvl base u)) /\
  (forall slot lvl base vmid, compat h slot id ->
     sim h eq (Engine_clearEntry d e slot lvl base vmid) (Engine_clearEntry d e slot lvl base vmid)) /\
  (forall slot lvl base ipa stop u, compat h slot id ->
     sim h eq (Engine_descend d e slot lvl base ipa stop u) (Engine_descend d e slot lvl base ipa stop u)).
Proof.
  induction d as [|d IH]; intros e He; (split; [|split; [|split]]); intros;
    cbn [Engine_update Engine_replaceLeaf Engine_clearEntry Engine_descend]; try apply sim_fail;
    destruct (IH e He) as (IHu & IHr & IHc & IHd); sim_go.
Qed.

Lemma sim_freeTables : forall h d e t lvl, compat h e (erase h) ->
  sim h eq (Engine_freeTables d e t lvl) (Engine_freeTables d e t lvl).
Proof. induction d as [|d IH]; intros; cbn [Engine_freeTables]; try apply sim_fail; sim_go. Qed.

Global Hint Resolve sim_freeTables : simcall.

Lemma sim_need1 : forall h d e t virt lvl ipa end' u, compat h e (erase h) ->
  sim h eq (Engine_need d e t virt lvl ipa end' u) (Engine_need d e t virt lvl ipa end' u).
Proof. intros. apply sim_need. assumption. Qed.

Lemma sim_update1 : forall h d e t lvl ipa end' u, compat h e (erase h) ->
  sim h eq (Engine_update d e t lvl ipa end' u) (Engine_update d e t lvl ipa end' u).
Proof. intros. apply sim_update. assumption. Qed.

Global Hint Resolve sim_need1 sim_update1 : simcall.

Lemma sim_mapRange : forall h e s ipa pa n a, compat h e (erase h) -> compat h s id ->
  sim h eq (Engine_mapRange e s ipa pa n a) (Engine_mapRange e s ipa pa n a).
Proof. intros. unfold Engine_mapRange. sim_go. Qed.

Lemma sim_unmapRange : forall h e s ipa n, compat h e (erase h) -> compat h s id ->
  sim h eq (Engine_unmapRange e s ipa n) (Engine_unmapRange e s ipa n).
Proof. intros. unfold Engine_unmapRange. sim_go. Qed.

Lemma sim_mapNeed : forall h e s ipa pa n, compat h e (erase h) -> compat h s id ->
  sim h eq (Engine_mapNeed e s ipa pa n) (Engine_mapNeed e s ipa pa n).
Proof. intros. unfold Engine_mapNeed. sim_go. Qed.

Lemma sim_unmapNeed : forall h e s ipa n, compat h e (erase h) -> compat h s id ->
  sim h eq (Engine_unmapNeed e s ipa n) (Engine_unmapNeed e s ipa n).
Proof. intros. unfold Engine_unmapNeed. sim_go. Qed.

Lemma sim_translate : forall h e s ipa, compat h e (erase h) -> compat h s id ->
  sim h eq (Engine_translate e s ipa) (Engine_translate e s ipa).
Proof. intros. unfold Engine_translate. sim_go. Qed.

Global Hint Resolve sim_mapRange sim_unmapRange sim_mapNeed sim_unmapNeed sim_translate : simcall.

(** ** Each call, through any place of the engine *)

Lemma sim_VMCreate : forall h e n flags, compat h e (erase h) ->
  sim h eq (Engine_VMCreate e n flags) (Engine_VMCreate e n flags).
Proof. intros. unfold Engine_VMCreate. sim_go. Qed.
Global Hint Resolve sim_VMCreate : simcall.

Lemma sim_VMDestroy : forall h e id, compat h e (erase h) ->
  sim h eq (Engine_VMDestroy e id) (Engine_VMDestroy e id).
Proof. intros. unfold Engine_VMDestroy. sim_go. Qed.
Global Hint Resolve sim_VMDestroy : simcall.

Lemma sim_VCPUInit : forall h e id v entry arg, compat h e (erase h) ->
  sim h eq (Engine_VCPUInit e id v entry arg) (Engine_VCPUInit e id v entry arg).
Proof. intros. unfold Engine_VCPUInit. sim_go. Qed.
Global Hint Resolve sim_VCPUInit : simcall.

Lemma sim_VCPUIRQ : forall h e id v intid level, compat h e (erase h) ->
  sim h eq (Engine_VCPUIRQ e id v intid level) (Engine_VCPUIRQ e id v intid level).
Proof. intros. unfold Engine_VCPUIRQ. sim_go. Qed.
Global Hint Resolve sim_VCPUIRQ : simcall.

Lemma sim_MemShare : forall h e id pa ipa n perms, compat h e (erase h) ->
  sim h eq (Engine_MemShare e id pa ipa n perms) (Engine_MemShare e id pa ipa n perms).
Proof. intros. unfold Engine_MemShare. sim_go. Qed.
Global Hint Resolve sim_MemShare : simcall.

Lemma sim_MemDonate : forall h e id pa ipa n perms, compat h e (erase h) ->
  sim h eq (Engine_MemDonate e id pa ipa n perms) (Engine_MemDonate e id pa ipa n perms).
Proof. intros. unfold Engine_MemDonate. sim_go. Qed.
Global Hint Resolve sim_MemDonate : simcall.

Lemma sim_MemUnshare : forall h e id ipa n, compat h e (erase h) ->
  sim h eq (Engine_MemUnshare e id ipa n) (Engine_MemUnshare e id ipa n).
Proof. intros. unfold Engine_MemUnshare. sim_go. Qed.
Global Hint Resolve sim_MemUnshare : simcall.

Lemma sim_MemReclaim : forall h e pa n, compat h e (erase h) ->
  sim h eq (Engine_MemReclaim e pa n) (Engine_MemReclaim e pa n).
Proof. intros. unfold Engine_MemReclaim. sim_go. Qed.
Global Hint Resolve sim_MemReclaim : simcall.

Lemma sim_MemInfo : forall h e pa, compat h e (erase h) ->
  sim h eq (Engine_MemInfo e pa) (Engine_MemInfo e pa).
Proof. intros. unfold Engine_MemInfo. sim_go. Qed.
Global Hint Resolve sim_MemInfo : simcall.

Lemma sim_MMIOShadow : forall h e id ipa mode value, compat h e (erase h) ->
  sim h eq (Engine_MMIOShadow e id ipa mode value) (Engine_MMIOShadow e id ipa mode value).
Proof. intros. unfold Engine_MMIOShadow. sim_go. Qed.
Global Hint Resolve sim_MMIOShadow : simcall.

Lemma sim_MMIOLogRead : forall h e id, compat h e (erase h) ->
  sim h eq (Engine_MMIOLogRead e id) (Engine_MMIOLogRead e id).
Proof. intros. unfold Engine_MMIOLogRead. sim_go. Qed.
Global Hint Resolve sim_MMIOLogRead : simcall.

Lemma sim_FileInfo : forall h e index, compat h e (erase h) ->
  sim h eq (Engine_FileInfo e index) (Engine_FileInfo e index).
Proof. intros. unfold Engine_FileInfo. sim_go. Qed.
Global Hint Resolve sim_FileInfo : simcall.

Lemma sim_FileRead : forall h e index pa pages, compat h e (erase h) ->
  sim h eq (Engine_FileRead e index pa pages) (Engine_FileRead e index pa pages).
Proof. intros. unfold Engine_FileRead. sim_go. Qed.
Global Hint Resolve sim_FileRead : simcall.

Lemma sim_GuestShare : forall h e id ipa n, compat h e (erase h) ->
  sim h eq (Engine_GuestShare e id ipa n) (Engine_GuestShare e id ipa n).
Proof. intros. unfold Engine_GuestShare. sim_go. Qed.
Global Hint Resolve sim_GuestShare : simcall.

Lemma sim_GuestUnshare : forall h e id ipa n, compat h e (erase h) ->
  sim h eq (Engine_GuestUnshare e id ipa n) (Engine_GuestUnshare e id ipa n).
Proof. intros. unfold Engine_GuestUnshare. sim_go. Qed.
Global Hint Resolve sim_GuestUnshare : simcall.

Lemma sim_GuestRelinquish : forall h e id ipa n, compat h e (erase h) ->
  sim h eq (Engine_GuestRelinquish e id ipa n) (Engine_GuestRelinquish e id ipa n).
Proof. intros. unfold Engine_GuestRelinquish. sim_go. Qed.
Global Hint Resolve sim_GuestRelinquish : simcall.

(** ** The run loop of a vCPU whose registers are not erased

    The places the loop is given are those of a slot [h] does not pick;
    the VM a guest call names as its caller ([Engine_callerVM], from the
    vCPU's context) may be any slot, erased or not. *)

Lemma sim_cpuOn : forall h e c v mpidr entry arg, compat h e (erase h) -> compat h v id ->
  sim h eq (Engine_cpuOn e c v mpidr entry arg) (Engine_cpuOn e c v mpidr entry arg).
Proof. intros. unfold Engine_cpuOn. sim_go. Qed.

Lemma sim_cpuOn_erased : forall h e c v mpidr entry arg, compat h e (erase h) -> compat h v erase_vm ->
  sim h eq (Engine_cpuOn e c v mpidr entry arg) (Engine_cpuOn e c v mpidr entry arg).
Proof. intros. unfold Engine_cpuOn. sim_go. Qed.
Global Hint Resolve sim_cpuOn sim_cpuOn_erased : simcall.

Lemma sim_guestPSCI : forall h e c v fid x1 x2 x3, compat h e (erase h) -> compat h v id ->
  sim h eq (Engine_guestPSCI e c v fid x1 x2 x3) (Engine_guestPSCI e c v fid x1 x2 x3).
Proof. intros. unfold Engine_guestPSCI. sim_go. Qed.

Lemma sim_guestPSCI_erased : forall h e c v fid x1 x2 x3, compat h e (erase h) -> compat h v erase_vm ->
  sim h eq (Engine_guestPSCI e c v fid x1 x2 x3) (Engine_guestPSCI e c v fid x1 x2 x3).
Proof. intros. unfold Engine_guestPSCI. sim_go. Qed.
Global Hint Resolve sim_guestPSCI sim_guestPSCI_erased : simcall.

Lemma sim_guestCallRegs : forall h e c x0 x1 x2 x3, compat h e (erase h) ->
  sim h eq (Engine_guestCallRegs e c x0 x1 x2 x3) (Engine_guestCallRegs e c x0 x1 x2 x3).
Proof. intros. unfold Engine_guestCallRegs. sim_go. Qed.
Global Hint Resolve sim_guestCallRegs : simcall.

Lemma sim_guestTrapCall : forall h e vc, compat h e (erase h) -> compat h vc id ->
  sim h eq (Engine_guestTrapCall e vc) (Engine_guestTrapCall e vc).
Proof. intros. unfold Engine_guestTrapCall. sim_go. Qed.
Global Hint Resolve sim_guestTrapCall : simcall.

Lemma sim_shadowMMIO : forall h e m vc ex rd isRead, compat h e (erase h) -> compat h m id -> compat h vc id ->
  sim h eq (Engine_shadowMMIO e m vc ex rd isRead) (Engine_shadowMMIO e m vc ex rd isRead).
Proof. intros. unfold Engine_shadowMMIO. sim_go. Qed.
Global Hint Resolve sim_shadowMMIO : simcall.

Lemma sim_apply : forall h e m vc d, compat h e (erase h) -> compat h m id -> compat h vc id ->
  sim h eq (Engine_apply e m vc d) (Engine_apply e m vc d).
Proof. intros. unfold Engine_apply. sim_go. Qed.
Global Hint Resolve sim_apply : simcall.

Lemma sim_FilterTrap : forall h t x g, compat h x id -> sim h eq (FilterTrap t x g) (FilterTrap t x g).
Proof. intros. unfold FilterTrap. sim_go. Qed.
Global Hint Resolve sim_FilterTrap : simcall.

Lemma sim_run : forall h e m vc, compat h e (erase h) -> compat h m id -> compat h vc id ->
  sim h eq (Engine_run e m vc) (Engine_run e m vc).
Proof. intros. unfold Engine_run. sim_go. Qed.
Global Hint Resolve sim_run : simcall.

Lemma sim_VCPURun : forall h e id v reply, compat h e (erase h) -> h (wrapu 64 (id - 1)) = false ->
  sim h eq (Engine_VCPURun e id v reply) (Engine_VCPURun e id v reply).
Proof. intros. unfold Engine_VCPURun. sim_go. Qed.

(** ** The calls, each a theorem *)

Theorem VMCreate_hides_regs : forall h n flags, hides_regs h (Engine_VMCreate root n flags).
Proof. intros. apply sim_VMCreate, compat_root. Qed.

Theorem VMDestroy_hides_regs : forall h id, hides_regs h (Engine_VMDestroy root id).
Proof. intros. apply sim_VMDestroy, compat_root. Qed.

Theorem VCPUInit_hides_regs : forall h id v entry arg, hides_regs h (Engine_VCPUInit root id v entry arg).
Proof. intros. apply sim_VCPUInit, compat_root. Qed.

Theorem VCPUIRQ_hides_regs : forall h id v intid level, hides_regs h (Engine_VCPUIRQ root id v intid level).
Proof. intros. apply sim_VCPUIRQ, compat_root. Qed.

Theorem MemShare_hides_regs : forall h id pa ipa n perms, hides_regs h (Engine_MemShare root id pa ipa n perms).
Proof. intros. apply sim_MemShare, compat_root. Qed.

Theorem MemDonate_hides_regs : forall h id pa ipa n perms, hides_regs h (Engine_MemDonate root id pa ipa n perms).
Proof. intros. apply sim_MemDonate, compat_root. Qed.

Theorem MemUnshare_hides_regs : forall h id ipa n, hides_regs h (Engine_MemUnshare root id ipa n).
Proof. intros. apply sim_MemUnshare, compat_root. Qed.

Theorem MemReclaim_hides_regs : forall h pa n, hides_regs h (Engine_MemReclaim root pa n).
Proof. intros. apply sim_MemReclaim, compat_root. Qed.

Theorem MemInfo_hides_regs : forall h pa, hides_regs h (Engine_MemInfo root pa).
Proof. intros. apply sim_MemInfo, compat_root. Qed.

Theorem MMIOShadow_hides_regs : forall h id ipa mode value, hides_regs h (Engine_MMIOShadow root id ipa mode value).
Proof. intros. apply sim_MMIOShadow, compat_root. Qed.

Theorem MMIOLogRead_hides_regs : forall h id, hides_regs h (Engine_MMIOLogRead root id).
Proof. intros. apply sim_MMIOLogRead, compat_root. Qed.

Theorem FileInfo_hides_regs : forall h index, hides_regs h (Engine_FileInfo root index).
Proof. intros. apply sim_FileInfo, compat_root. Qed.

Theorem FileRead_hides_regs : forall h index pa pages, hides_regs h (Engine_FileRead root index pa pages).
Proof. intros. apply sim_FileRead, compat_root. Qed.

Theorem GuestShare_hides_regs : forall h id ipa n, hides_regs h (Engine_GuestShare root id ipa n).
Proof. intros. apply sim_GuestShare, compat_root. Qed.

Theorem GuestUnshare_hides_regs : forall h id ipa n, hides_regs h (Engine_GuestUnshare root id ipa n).
Proof. intros. apply sim_GuestUnshare, compat_root. Qed.

Theorem GuestRelinquish_hides_regs : forall h id ipa n, hides_regs h (Engine_GuestRelinquish root id ipa n).
Proof. intros. apply sim_GuestRelinquish, compat_root. Qed.

(** VCPU_RUN of a vCPU of a VM whose registers are not erased: running
    one VM neither reads the registers of the others nor lets them reach
    its exit, its platform calls or anything it changes but them. *)
Theorem VCPURun_hides_regs : forall h id v reply, h (wrapu 64 (id - 1)) = false ->
  hides_regs h (Engine_VCPURun root id v reply).
Proof. intros. apply sim_VCPURun; [apply compat_root|assumption]. Qed.

(** ** The calls through the dispatcher *)

Global Hint Resolve sim_VCPURun : simcall.

Lemma idx_nil : forall {S A} i, @idx S A [] i = fail IndexOutOfRange.
Proof. intros S A i. unfold idx. destruct (i <? 0); [reflexivity|]. destruct (Z.to_nat i); reflexivity. Qed.

Lemma idx_one : forall {S A} (a : A), @idx S A [a] 1 = fail IndexOutOfRange.
Proof. reflexivity. Qed.

Lemma idx_first : forall {S A} (a : A) l, @idx S A (a :: l) 0 = ret a.
Proof. reflexivity. Qed.

Lemma idx_second : forall {S A} (a b : A) l, @idx S A (a :: b :: l) 1 = ret b.
Proof. reflexivity. Qed.

(** A call of the host through the ABI, x0..x7 in and out: every call but
    VCPU_RUN of a vCPU of a slot [h] picks. *)
Theorem hostCall_hides_regs : forall h x,
  wrapu 32 (nth 0 x 0) <> Abi.VCPURun \/ h (wrapu 64 (nth 1 x 0 - 1)) = false ->
  hides_regs h (Engine_hostCall root x).
Proof.
  intros h x Hx. pose proof (@compat_root h). unfold hides_regs, Engine_hostCall.
  destruct x as [|x0 [|x1 rest]]; cbn [nth] in Hx.
  - rewrite idx_nil. apply sim_fail.
  - rewrite idx_first, bind_ret_l. cbv zeta. rewrite !idx_one. sim_go.
  - rewrite idx_first, bind_ret_l. cbv zeta. rewrite !idx_second.
    destruct Hx as [Hx|Hx]; [rewrite (proj2 (Z.eqb_neq _ _) Hx)|]; sim_go.
Qed.

(** A call through the dispatcher: a guest's, whatever its VM, or the
    host's as [hostCall_hides_regs] says. *)
Theorem Dispatch_hides_regs : forall h c x,
  (Caller_VM c = HostVMID -> wrapu 32 (nth 0 x 0) <> Abi.VCPURun \/ h (wrapu 64 (nth 1 x 0 - 1)) = false) ->
  hides_regs h (Engine_Dispatch root c x).
Proof.
  intros h c x Hx. unfold hides_regs, Engine_Dispatch.
  destruct (Caller_VM c =? HostVMID) eqn:Hc.
  - apply Z.eqb_eq in Hc. eapply sim_bind_eq; [apply hostCall_hides_regs; auto|]. intros a. apply sim_ret. reflexivity.
  - pose proof (@compat_root h). sim_go.
Qed.
