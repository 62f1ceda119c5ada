(** * MEM_SHARE and MEM_DONATE never fail

    Theorems about proofs/code/Isolation.v, the translation of
    isolation/mem.go, that join the memory calls taken apart forward
    (CodeMemShare, CodeDonate) to the stage-2 update
    (CodeUpdateRootRange).
    Proved here:
    - a page-aligned pair gives [mapRange] a page-aligned output offset
      ([delta_page]);
    - MEM_SHARE never reaches a failure outcome, for any 64-bit
      arguments, from [mem_ok] with the pool page aligned and below 2^48
      and the stage-2 of every live VM with [root_inv]; when it answers
      SUCCESS the VM's stage-2 keeps [root_inv] ([MemShare_no_failure]). *)
From Coq Require Import ZArith Lia List Bool Znumtheory.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodePlace CodeVMCreate CodeStage2 CodeTransfer CodeTrace CodeMemShare CodeUpdate
  CodeUpdateL2 CodeUpdateRoot CodeUpdateRange CodeUpdateRootRange.
Import ListNotations.
Open Scope Z_scope.

Lemma delta_page : forall pa ipa, pa mod 4096 = 0 -> ipa mod 4096 = 0 -> wrapu 64 (pa - ipa) mod 4096 = 0.
Proof.
  intros pa ipa Hp Hi. unfold wrapu. rewrite <- Zmod_div_mod by (try lia; exists (2 ^ 52); reflexivity).
  rewrite Zminus_mod, Hp, Hi. reflexivity.
Qed.

(** The stage-2 of every live VM slot has [root_inv]. *)
Definition vms_root_inv (e : Isolation.Engine) : Prop :=
  forall i m, nth_error (Isolation.Engine_vms e) i = Some m -> Isolation.vm_live m = true ->
    root_inv e (Isolation.stage2_root (Isolation.vm_s2 m)).

(** The pool lies page aligned below 2^48, as [tablePool.init] checks. *)
Definition pool_placed (e : Isolation.Engine) : Prop :=
  pool_base e mod 4096 = 0 /\ pool_base e + 4096 * len (tables e) <= 2 ^ 48.

Theorem MemShare_no_failure : forall e tr id pa ipa n perms,
  mem_ok e -> pool_placed e -> vms_root_inv e ->
  0 <= id < 2 ^ 64 -> 0 <= pa < 2 ^ 64 -> 0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 ->
  exists st e' tr', Isolation.Engine_MemShare root id pa ipa n perms e tr = Ok st e' tr' /\
    (st = Abi.Success -> exists m, nth_error (Isolation.Engine_vms e) (Z.to_nat (id - 1)) = Some m /\
       root_inv e' (Isolation.stage2_root (Isolation.vm_s2 m))).
Proof.
  intros e tr id pa ipa n perms Hm (Hal & Hbelow) Hroots Hid Hpa Hipa Hn.
  destruct (MemShare_reaches_mapRange e tr id pa ipa n perms Hm Hid Hpa Hipa Hn)
    as [(st & Hcall & Hst)|(m & ps & N & Hpass & Hnth & Hprot & HN & Hle & Hps & Hcall)].
  { exists st, e, tr. split; [exact Hcall|]. intros E. contradiction. }
  destruct Hpass as (_ & Hid1 & (m' & Hnth' & Hlive) & Hn1 & Hpal & Hial & _ & _ & H40).
  rewrite Hnth in Hnth'. injection Hnth' as <-.
  pose proof (Hroots _ m Hnth Hlive) as Hr.
  set (e1 := Isolation.set_Engine_pages ps e).
  assert (Hr1 : root_inv e1 (Isolation.stage2_root (Isolation.vm_s2 m))) by exact Hr.
  pose proof (root_inv_l1 e _ Hr) as Hl. pose proof Hl as ((Hok & _ & _ & Hcok & _) & Ht0 & _).
  assert (Hg1 : good (s2_place (id - 1)) e1 (Isolation.vm_s2 m)) by (apply vm_place_pages; [lia|exact Hnth]).
  assert (HN1 : Isolation.Engine_mapNeed root (s2_place (id - 1)) ipa pa n e1 tr = Ok N e1 tr).
  { rewrite (mapNeed_spec e tr _ _ ipa pa n Hok Ht0 (l1_inv_tree e _ Hl) (s2_place_good e (id - 1) m ltac:(lia) Hnth)
      ltac:(lia) ltac:(lia) H40) in HN.
    injection HN as <-.
    exact (mapNeed_spec e1 tr _ _ ipa pa n Hok Ht0 (l1_inv_tree e _ Hl) Hg1 ltac:(lia) ltac:(lia) H40). }
  destruct (mapRange_no_failure e1 tr (s2_place (id - 1)) (Isolation.vm_s2 m) ipa pa n
    (Isolation.mk_Attr (wrapu 8 perms) false) N Hg1 Hr1 Hal Hbelow ltac:(lia) ltac:(lia) H40 Hial
    (delta_page pa ipa Hpal Hial) HN1 ltac:(unfold count_ok in Hcok; cbn; lia)) as (st & tr' & Hmr & Hr').
  exists Abi.Success, st, tr'. split.
  - rewrite Hcall. fold e1. unfold bind. rewrite Hmr. reflexivity.
  - intros _. exists m. split; [exact Hnth|exact Hr'].
Qed.
