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
    stage-2 (every page of the range left unmapped) is not proved here.
    Forward, [MemDonate_reaches_unmap] shows that from [mem_ok] (with the
    host stage-2 a tree of tables and RAM inside the IPA space) the call
    either answers an error with nothing changed, or its checks passed,
    its two reservations together are at most the free tables, and what
    is left is that [unmapRange], then [donate_commit]. *)
From Coq Require Import ZArith Lia List Bool String.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodePlace CodeVMCreate CodeStage2 CodeTransfer CodeTrace CodeMemShare.
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

(** ** Forward: MEM_DONATE up to the host's unmap *)

Lemma host_place_good : forall e, good host_place e (Isolation.Engine_host e).
Proof. intros e. do 2 eexists. split; [reflexivity|]. split; [reflexivity|]. intros b. eexists. reflexivity. Qed.

(** From [mem_ok], the host stage-2 a tree of tables of the pool and RAM
    inside the IPA space (as [Config.validate] checks), for any 64-bit
    arguments, MEM_DONATE either answers an error other than SUCCESS with
    memory and trace as they were, or its checks passed
    ([transfer_passed]), the reservations it added up are at most the free
    tables, and what is left of the call is the host stage-2's
    [unmapRange] over the pages, then [donate_commit] from the state that
    unmap leaves. *)
Theorem MemDonate_reaches_unmap : forall e tr id pa ipa n perms,
  mem_ok e -> s2_ok e (Isolation.Engine_host e) ->
  Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e)) +
    Isolation.Range_Size (Isolation.Config_RAM (Isolation.Engine_cfg e)) <= 2 ^ 40 ->
  0 <= id < 2 ^ 64 -> 0 <= pa < 2 ^ 64 -> 0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 ->
  (exists st, Isolation.Engine_MemDonate root id pa ipa n perms e tr = Ok st e tr /\ st <> Abi.Success) \/
  (exists Nh Nv, transfer_passed e id pa ipa n (vm_place (id - 1)) /\
     Isolation.Engine_unmapNeed root host_place pa n e tr = Ok Nh e tr /\
     Isolation.Engine_mapNeed root (s2_place (id - 1)) ipa pa n e tr = Ok Nv e tr /\
     wraps 64 (Nh + Nv) <= Isolation.tablePool_nfree (Isolation.Engine_pool e) /\
     Isolation.Engine_MemDonate root id pa ipa n perms e tr =
       (let! _ := Isolation.Engine_unmapRange root host_place pa n in donate_commit id pa ipa n perms (vm_place (id - 1))) e tr).
Proof.
  intros e tr id pa ipa n perms Hm Hhost Hram Hid Hpa Hipa Hn.
  pose proof Hm as (Hl & Hbase & Hsize & Hvl & Ht & Hs2).
  destruct (checkTransfer_spec e tr id pa ipa n perms (negb false) Hm Hid Hpa Hipa Hn) as ([v st] & Hct & Hpass).
  cbn [fst snd] in Hpass.
  destruct (Z.eqb_spec st Abi.Success) as [->|Hst].
  2:{ left. exists st. split; [|exact Hst]. unfold Isolation.Engine_MemDonate. unfold bind at 1. rewrite Hct.
      cbv beta iota zeta. replace (st =? Abi.Success) with false by (symmetry; apply Z.eqb_neq; exact Hst). reflexivity. }
  destruct (Hpass eq_refl) as (-> & Hid1 & (m & Hnth & Hlive) & Hn1 & Hpal & Hial & Hplo & Hphi & H40).
  assert (Hin : In m (Isolation.Engine_vms e)) by (eapply nth_error_In; exact Hnth).
  assert (Hms2 : s2_ok e (Isolation.vm_s2 m)) by (rewrite Forall_forall in Hs2; apply Hs2; exact Hin).
  destruct (unmapNeed_ok e tr host_place (Isolation.Engine_host e) pa n Ht Hhost (host_place_good e)
    ltac:(lia) ltac:(lia) ltac:(lia)) as (Nh & HNh).
  destruct (mapNeed_ok e tr (s2_place (id - 1)) (Isolation.vm_s2 m) ipa pa n Ht Hms2
    (s2_place_good e (id - 1) m ltac:(lia) Hnth) ltac:(lia) ltac:(lia) H40) as (Nv & HNv).
  assert (Hcall : Isolation.Engine_MemDonate root id pa ipa n perms e tr =
    (if wraps 64 (Nh + Nv) >? Isolation.tablePool_nfree (Isolation.Engine_pool e) then ret Abi.NoMemory
     else let! _ := Isolation.Engine_unmapRange root host_place pa n in donate_commit id pa ipa n perms (vm_place (id - 1))) e tr).
  { unfold Isolation.Engine_MemDonate. unfold bind at 1. rewrite Hct. cbv beta iota zeta.
    rewrite Z.eqb_refl. cbn [negb].
    unfold bind at 1. rewrite pfield_host. cbv beta iota.
    unfold bind at 1. rewrite HNh. cbv beta iota.
    unfold bind at 1. rewrite pfield_s2_place. cbv beta iota.
    unfold bind at 1. rewrite HNv. cbv beta iota.
    unfold bind at 1. rewrite deref_root. cbv beta iota.
    destruct (_ >? _); [reflexivity|].
    unfold donate_commit, bind. rewrite pfield_host. cbv beta iota.
    destruct (Isolation.Engine_unmapRange root host_place pa n e tr) as [[] s2 t2|f]; reflexivity. }
  destruct (Z.gtb_spec (wraps 64 (Nh + Nv)) (Isolation.tablePool_nfree (Isolation.Engine_pool e))) as [Hgt|Hle].
  - left. exists Abi.NoMemory. rewrite Hcall. split; [reflexivity|discriminate].
  - right. exists Nh, Nv. split.
    { split; [reflexivity|]. split; [exact Hid1|]. split; [exists m; split; assumption|]. repeat split; assumption. }
    split; [exact HNh|]. split; [exact HNv|]. split; [lia|]. rewrite Hcall. reflexivity.
Qed.
