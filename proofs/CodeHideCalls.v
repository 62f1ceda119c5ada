(** * The registers' half of noninterference, over runs of calls

    [CodeHideRegs] of the calls [CodeGuestInv.run_gcall] makes, one and
    many ([CodeCallThms.gcalls]). *)
From Coq Require Import ZArith Lia List Bool.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodeErase CodeHideRegs CodeRefineInv CodeGuestInv CodeCallThms.
Import ListNotations Isolation.
Open Scope Z_scope.

Lemma after_hides : forall h {A} (m : M Engine A) e1 e2 tr o1 o2, hides_regs h m -> erase h e1 = erase h e2 ->
  after (m e1 tr) = Some o1 -> after (m e2 tr) = Some o2 -> snd o1 = snd o2 /\ erase h (fst o1) = erase h (fst o2).
Proof.
  intros h A m e1 e2 tr [e1' tr1] [e2' tr2] H E H1 H2. unfold after in H1, H2.
  destruct (m e1 tr) as [a1 s1 t1|] eqn:M1; [|discriminate H1]. destruct (m e2 tr) as [a2 s2 t2|] eqn:M2; [|discriminate H2].
  injection H1 as <- <-. injection H2 as <- <-.
  destruct (hides_regs_runs h m e1 e2 tr a1 s1 a2 s2 t1 t2 H E M1 M2) as (_ & -> & E'). cbn. auto.
Qed.

(** A call of the host's list, or a memory call of a guest, from two
    engines that differ only in the registers of the VM slots [h] picks,
    makes the same platform calls and leaves two engines that again differ
    only there; by the call's theorem of [CodeHideRegs], it also answers
    the same. *)
Theorem gcall_hides_regs : forall h x e1 e2 tr e1' tr1 e2' tr2, erase h e1 = erase h e2 ->
  run_gcall x e1 tr = Some (e1', tr1) -> run_gcall x e2 tr = Some (e2', tr2) ->
  tr1 = tr2 /\ erase h e1' = erase h e2'.
Proof.
  intros h x e1 e2 tr e1' tr1 e2' tr2 E H1 H2.
  assert (G : forall {A} (m : M Engine A), hides_regs h m ->
    after (m e1 tr) = Some (e1', tr1) -> after (m e2 tr) = Some (e2', tr2) -> tr1 = tr2 /\ erase h e1' = erase h e2')
    by (intros A m Hm G1 G2; exact (after_hides h m e1 e2 tr (e1', tr1) (e2', tr2) Hm E G1 G2)).
  destruct x as [[]| | |]; cbn [run_gcall run_mcall] in H1, H2; refine (G _ _ _ H1 H2);
    lazymatch goal with
    | |- hides_regs _ (Engine_VMCreate _ _ _) => apply VMCreate_hides_regs
    | |- hides_regs _ (Engine_MemShare _ _ _ _ _ _) => apply MemShare_hides_regs
    | |- hides_regs _ (Engine_MemDonate _ _ _ _ _ _) => apply MemDonate_hides_regs
    | |- hides_regs _ (Engine_MemUnshare _ _ _ _) => apply MemUnshare_hides_regs
    | |- hides_regs _ (Engine_MemReclaim _ _ _) => apply MemReclaim_hides_regs
    | |- hides_regs _ (Engine_MemInfo _ _) => apply MemInfo_hides_regs
    | |- hides_regs _ (Engine_VMDestroy _ _) => apply VMDestroy_hides_regs
    | |- hides_regs _ (Engine_VCPUInit _ _ _ _ _) => apply VCPUInit_hides_regs
    | |- hides_regs _ (Engine_VCPUIRQ _ _ _ _ _) => apply VCPUIRQ_hides_regs
    | |- hides_regs _ (Engine_MMIOLogRead _ _) => apply MMIOLogRead_hides_regs
    | |- hides_regs _ (Engine_MMIOShadow _ _ _ _ _) => apply MMIOShadow_hides_regs
    | |- hides_regs _ (Engine_GuestShare _ _ _ _) => apply GuestShare_hides_regs
    | |- hides_regs _ (Engine_GuestUnshare _ _ _ _) => apply GuestUnshare_hides_regs
    | |- hides_regs _ (Engine_GuestRelinquish _ _ _ _) => apply GuestRelinquish_hides_regs
    end.
Qed.

(** Over a run of such calls ([CodeCallThms.gcalls]): two runs of the
    same calls from engines that differ only in the registers of the VM
    slots [h] picks make the same platform calls and end in engines that
    differ only there. *)
Theorem gcalls_hides_regs : forall h c xs e1 tr e1' tr1, gcalls c xs e1 tr e1' tr1 ->
  forall e2 e2' tr2, gcalls c xs e2 tr e2' tr2 -> erase h e1 = erase h e2 ->
  tr1 = tr2 /\ erase h e1' = erase h e2'.
Proof.
  intros h c xs e1 tr e1' tr1 R1. induction R1 as [e tr|x cpu xs e tr e1 tr1 e' tr' Hok Hpre Hfrom Hrun R1 IH];
    intros e2 e2' tr2 R2 E; inversion R2; subst.
  - auto.
  - match goal with H : run_gcall x e2 tr = Some _ |- _ => rename H into Hrun2 end.
    destruct (gcall_hides_regs h x e e2 tr _ _ _ _ E Hrun Hrun2) as (<- & E1).
    eapply IH; eassumption.
Qed.
