(** * MEM_SHARE up to its stage-2 update

    Lemmas about proofs/code/Isolation.v, the translation of
    isolation/mem.go (MemShare). MEM_SHARE checks the transfer
    ([checkTransfer]), refuses a protected VM, reserves [mapNeed] tables,
    marks the pages shared with the VM in the ledger, and maps them in the
    VM's stage-2 ([mapRange]).
    Proved here:
    - the place of VM slot [i]'s stage-2 ([s2_place]) is what selecting
      the field of [vm_place i] gives, and holds the slot's stage-2
      whenever the slot exists, whatever the ledger holds ([s2_place_good],
      [vm_place_pages]);
    - from [mem_ok], for any 64-bit arguments, MEM_SHARE either answers an
      error other than SUCCESS, with memory and trace as they were, or its
      checks passed ([transfer_passed]) on an unprotected VM, the [mapNeed]
      it reserved is at most the free tables, and what is left of the call
      is [mapRange] of the VM's stage-2 from the engine with the ledger
      changed and nothing else ([MemShare_reaches_mapRange]). *)
From Coq Require Import ZArith Lia List Bool.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodePlace CodeLoop CodeLedger CodeVCPU CodeVMCreate CodeStage2 CodeTransfer
  CodeTrace CodeAbsLedger.
Import ListNotations.
Open Scope Z_scope.

(** ** The place of a VM slot's stage-2 *)

Definition s2_place (i : Z) : ptr Isolation.Engine Isolation.stage2 :=
  match vm_place i with
  | Nil => Nil
  | Place ld st => Place (fun s => option_map Isolation.vm_s2 (ld s))
                         (fun b s => match ld s with Some a => st (Isolation.set_vm_s2 b a) s | None => None end)
  end.

Lemma pfield_s2_place : forall i s tr,
  pfield (vm_place i) Isolation.vm_s2 Isolation.set_vm_s2 s tr = Ok (s2_place i) s tr.
Proof. reflexivity. Qed.

Lemma s2_place_good : forall e i m, 0 <= i -> nth_error (Isolation.Engine_vms e) (Z.to_nat i) = Some m ->
  good (s2_place i) e (Isolation.vm_s2 m).
Proof.
  intros e i m Hi Hn.
  destruct (pfield_good (vm_place i) Isolation.vm_s2 Isolation.set_vm_s2 e m [] (vm_place_good e i m Hi Hn))
    as (q & Hq & Hg).
  rewrite pfield_s2_place in Hq. injection Hq as <-. exact Hg.
Qed.

(** The slots do not depend on the ledger. *)
Lemma vm_place_pages : forall e ps i m, 0 <= i -> nth_error (Isolation.Engine_vms e) (Z.to_nat i) = Some m ->
  good (s2_place i) (Isolation.set_Engine_pages ps e) (Isolation.vm_s2 m).
Proof. intros e ps i m Hi Hn. apply s2_place_good; [exact Hi|exact Hn]. Qed.

(** ** MEM_SHARE *)

Theorem MemShare_reaches_mapRange : forall e tr id pa ipa n perms,
  mem_ok e -> 0 <= id < 2 ^ 64 -> 0 <= pa < 2 ^ 64 -> 0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 ->
  (exists st, Isolation.Engine_MemShare root id pa ipa n perms e tr = Ok st e tr /\ st <> Abi.Success) \/
  (exists m ps N, transfer_passed e id pa ipa n (vm_place (id - 1)) /\
     nth_error (Isolation.Engine_vms e) (Z.to_nat (id - 1)) = Some m /\ Isolation.vm_protected m = false /\
     Isolation.Engine_mapNeed root (s2_place (id - 1)) ipa pa n e tr = Ok N e tr /\
     N <= Isolation.tablePool_nfree (Isolation.Engine_pool e) /\
     len ps = len (Isolation.Engine_pages e) /\
     Isolation.Engine_MemShare root id pa ipa n perms e tr =
       (let! _ := Isolation.Engine_mapRange root (s2_place (id - 1)) ipa pa n (Isolation.mk_Attr (wrapu 8 perms) false) in
        ret Abi.Success) (Isolation.set_Engine_pages ps e) tr).
Proof.
  intros e tr id pa ipa n perms Hm Hid Hpa Hipa Hn.
  pose proof Hm as (Hl & Hbase & Hsize & Hvl & Ht & Hs2).
  destruct (checkTransfer_spec e tr id pa ipa n perms true Hm Hid Hpa Hipa Hn) as ([v st] & Hct & Hpass).
  cbn [fst snd] in Hpass.
  unfold Isolation.Engine_MemShare. unfold bind at 1. rewrite Hct. cbv beta iota zeta.
  destruct (Z.eqb_spec st Abi.Success) as [->|Hst]; cbn [negb].
  2:{ left. exists st. split; [reflexivity|exact Hst]. }
  destruct (Hpass eq_refl) as (-> & Hid1 & (m & Hnth & Hlive) & Hn1 & Hpal & Hial & Hplo & Hphi & H40).
  unfold bind at 1. rewrite (deref_good _ _ _ _ (vm_place_good e (id - 1) m ltac:(lia) Hnth)). cbv beta iota.
  destruct (Isolation.vm_protected m) eqn:Hprot; cbn [andb negb].
  { left. exists Abi.Denied. split; [reflexivity|discriminate]. }
  unfold bind at 1. rewrite pfield_s2_place. cbv beta iota.
  assert (Hin : In m (Isolation.Engine_vms e)) by (eapply nth_error_In; exact Hnth).
  assert (Hms2 : s2_ok e (Isolation.vm_s2 m)) by (rewrite Forall_forall in Hs2; apply Hs2; exact Hin).
  destruct (mapNeed_ok e tr (s2_place (id - 1)) (Isolation.vm_s2 m) ipa pa n Ht Hms2
    (s2_place_good e (id - 1) m ltac:(lia) Hnth) ltac:(lia) ltac:(lia) H40) as (N & HN).
  unfold bind at 1. rewrite HN. cbv beta iota.
  unfold bind at 1. rewrite deref_root. cbv beta iota.
  destruct (Z.gtb_spec N (Isolation.tablePool_nfree (Isolation.Engine_pool e))) as [Hgt|Hle]; cbv beta iota.
  { left. exists Abi.NoMemory. split; [reflexivity|discriminate]. }
  right.
  pose proof Hl as Hl'. unfold ledger_ok in Hl'. cbv zeta in Hl'. destruct Hl' as (Hb0 & Hs0 & Hbs & Hal & Hlen).
  set (base := Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e))) in *.
  assert (Hk : (pa - base) / 4096 + n <= len (Isolation.Engine_pages e)).
  { assert (Hm0 : (pa - base) mod 4096 = 0) by (rewrite Zminus_mod, Hpal, Hal; reflexivity).
    pose proof (Z.div_mod (pa - base) 4096 ltac:(lia)). lia. }
  destruct (setShared_pages e tr pa n true id ltac:(fold base; lia) ltac:(lia) Hn1 Hk ltac:(unfold len in *; lia))
    as (ps & Hss & Hps & _).
  exists m, ps, N. split; [|split; [exact Hnth|split; [exact Hprot|split; [first [exact HN|reflexivity]|split; [lia|split; [exact Hps|]]]]]].
  { split; [reflexivity|]. split; [exact Hid1|]. split; [exists m; split; assumption|]. repeat split; assumption. }
  unfold Isolation.Engine_setShared in Hss. cbv zeta in Hss.
  apply bind_inv in Hss as (j & s1 & t1 & Hloop & Hrest).
  destruct j as [k|[]]. unfold ret in Hrest. injection Hrest as <- <-.
  unfold bind at 1. rewrite Hct. cbv beta iota. rewrite Z.eqb_refl. cbn [negb].
  unfold bind at 1. rewrite (deref_good _ _ _ _ (vm_place_good e (id - 1) m ltac:(lia) Hnth)). cbv beta iota.
  rewrite Hprot. cbn [andb].
  unfold bind at 1. rewrite pfield_s2_place. cbv beta iota.
  unfold bind at 1. rewrite HN. cbv beta iota. unfold bind at 1. rewrite deref_root. cbv beta iota.
  replace (N >? Isolation.tablePool_nfree (Isolation.Engine_pool e)) with false
    by (symmetry; rewrite Z.gtb_ltb; apply Z.ltb_ge; exact Hle).
  unfold bind at 1. rewrite Hloop. reflexivity.
Qed.
