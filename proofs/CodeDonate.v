(** * MEM_DONATE takes the pages out of the host stage-2

    A theorem about proofs/code/Isolation.v, the translation of
    isolation/mem.go. MEM_DONATE gives a VM pages the host owned: the host
    must lose access to them before the VM gains it. [MemDonate_unmaps_host]
    takes a MEM_DONATE that answers SUCCESS apart: its checks passed with
    the owner check on (every page the host's and not shared); the host
    stage-2's [unmapRange] ran over exactly the donated PA range, on the
    state the checks and the reservation left; and the clean, the ledger
    commit and the VM's mapping then ran from the state that unmap left,
    to the state and trace the call returned. What [unmapRange] does to a
    stage-2 (every page of the range left unmapped) is not proved here. *)
From Coq Require Import ZArith Lia List Bool String.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodeTrace.
Import ListNotations.
Open Scope Z_scope.

(** The host stage-2, as a place of the engine. *)
Definition host_place : ptr Isolation.Engine Isolation.stage2 :=
  Place (fun s => Some (Isolation.Engine_host s)) (fun b s => Some (Isolation.set_Engine_host b s)).

(** What a MEM_DONATE does once the host has lost the pages: clean them,
    give them to VM [id] in the ledger, map them in the VM's stage-2 [v]. *)
Definition donate_commit (id pa ipa n perms : Z) (v : ptr Isolation.Engine Isolation.vm) : M Isolation.Engine Abi.Status :=
  let! e0 := deref root in
  let! _ := call_iface (Isolation.Engine_plat e0) "CleanToPoC" (@cons Isolation.PA pa [n]) in
  let! _ := Isolation.Engine_setOwner root pa n Abi.OwnerVM (wrapu 16 id) in
  let! s2 := pfield v Isolation.vm_s2 Isolation.set_vm_s2 in
  let! _ := Isolation.Engine_mapRange root s2 ipa pa n (Isolation.mk_Attr (wrapu 8 perms) false) in
  ret Abi.Success.

Lemma pfield_host : forall s t, pfield root Isolation.Engine_host Isolation.set_Engine_host s t = Ok host_place s t.
Proof. reflexivity. Qed.

(* The proof only takes the call apart: none of the functions it calls
   needs unfolding, and checking it must not evaluate them. *)
Opaque Isolation.Engine_unmapNeed Isolation.Engine_mapNeed Isolation.Engine_unmapRange Isolation.Engine_mapRange
  Isolation.Engine_setOwner Isolation.Engine_checkTransfer.

Theorem MemDonate_unmaps_host : forall e tr id pa ipa n perms s' tr',
  Isolation.Engine_MemDonate root id pa ipa n perms e tr = Ok Abi.Success s' tr' ->
  exists v s0 t0 s1 t1 s2 t2,
    Isolation.Engine_checkTransfer root id pa ipa n perms true e tr = Ok (v, Abi.Success) s0 t0 /\
    Isolation.Engine_unmapRange root host_place pa n s1 t1 = Ok tt s2 t2 /\
    donate_commit id pa ipa n perms v s2 t2 = Ok Abi.Success s' tr'.
Proof.
  intros e tr id pa ipa n perms s' tr' H. unfold Isolation.Engine_MemDonate in H.
  apply bind_inv in H as ([v st] & s0 & t0 & Hc & H). cbv beta iota in H.
  destruct (Z.eqb_spec st Abi.Success) as [->|Hne].
  2:{ exfalso. cbn [negb] in H. apply ret_inv in H as (E & _). exact (Hne E). }
  cbn [negb] in H. cbv beta iota in H.
  unbind H. split_match H; [exfalso; revert H; apply status_ne; discriminate|].
  apply bind_inv in H as (u & s2 & t2 & Hu & H).
  apply bind_inv in Hu as (q & s1 & t1 & Hq & Hu).
  apply bind_inv in Hu as (w & s2' & t2' & Hun & Hu). apply ret_inv in Hu as (_ & <- & <-).
  rewrite pfield_host in Hq. injection Hq as Hq _ _. subst q. destruct w.
  exists v, s0, t0, s1, t1, s2', t2'.
  split; [exact Hc|].
  split; [exact Hun|]. unfold donate_commit. exact H.
Qed.
