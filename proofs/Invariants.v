(** * The ledger invariants of the contract hold in every reachable state

    [Inv] is the conjunction the proofs carry; the contract's invariants 1-7
    follow from it as the named theorems at the end. *)

From Coq Require Import Arith Bool List Lia.
Import ListNotations.
From Bulkhead.Spec Require Import State Spec.
From Bulkhead.Proofs Require Import Lemmas.

Section Inv.
Variable cfg : config.

Definition owner_at (m : mstate) p := pg_owner (ms_pages m p).
Definition share_at (m : mstate) p := pg_share (ms_pages m p).
Definition live (m : mstate) v := vm_live (ms_vms m v).
Definition s2 (m : mstate) v := vm_s2 (ms_vms m v).

Record Inv (m : mstate) : Prop := {
  (** 1: a VM's stage-2 maps only pages it owns or the host lent it. *)
  inv_s2_owned : forall v p x, s2 m v p = Some x ->
    owner_at m p = OVM v \/ (owner_at m p = OHost /\ share_at m p = SharedWith v);
  (** 2: the host stage-2 maps host pages and pages a VM shared with it. *)
  inv_hs2 : forall p, ms_hs2 m p = true ->
    owner_at m p = OHost \/ exists v, owner_at m p = OVM v /\ share_at m p = SharedWith host_id;
  (** 3: the engine keeps exactly its own region. *)
  inv_engine : forall p, owner_at m p = OEngine <-> (in_ram cfg p && in_engine cfg p = true);
  (** 7: only live VMs have mappings. *)
  inv_free : forall v p, live m v = false -> s2 m v p = None
}.

Lemma inv_init : Inv (init_meta cfg).
Proof.
  constructor; unfold init_meta, init_owner, owner_at, share_at, live, s2; simpl; intros;
    try discriminate; auto;
    try (destruct (in_ram cfg p) eqn:?; destruct (in_engine cfg p) eqn:?);
    simpl in *; try discriminate; auto; intuition congruence.
Qed.

(** ** Frame: calls that change neither pages, the host stage-2, liveness
    nor stage-2 maps keep the invariant. *)
Lemma inv_frame : forall m m',
  Inv m ->
  (forall p, ms_pages m' p = ms_pages m p) ->
  (forall p, ms_hs2 m' p = ms_hs2 m p) ->
  (forall v, vm_live (ms_vms m' v) = vm_live (ms_vms m v)) ->
  (forall v p, vm_s2 (ms_vms m' v) p = vm_s2 (ms_vms m v) p) ->
  Inv m'.
Proof.
  intros m m' I Hp Hh Hl Hs.
  destruct I; constructor; unfold owner_at, share_at, live, s2 in *;
    intros; repeat rewrite Hp in *; repeat rewrite Hh in *; repeat rewrite Hl in *;
    repeat rewrite Hs in *; eauto.
Qed.

Lemma set_vcpu_inv : forall m v c x, Inv m -> Inv (set_vcpu m v c x).
Proof.
  intros. apply inv_frame with m; auto; intros; unfold set_vcpu, set_vm, upd; simpl; case_ifs; auto.
Qed.

Lemma set_hasrun_inv : forall m v, Inv m -> Inv (set_hasrun m v).
Proof.
  intros. apply inv_frame with m; auto; intros; unfold set_hasrun, set_vm, upd; simpl; case_ifs; auto.
Qed.

Lemma all_off_inv : forall m v, Inv m -> Inv (all_off m v).
Proof.
  intros. apply inv_frame with m; auto; intros; unfold all_off, set_vm, upd; simpl; case_ifs; auto.
Qed.

Lemma stop_vcpu_inv : forall m v c st, Inv m -> Inv (stop_vcpu m v c st).
Proof. intros. unfold stop_vcpu. apply set_vcpu_inv; auto. Qed.

Lemma leave_run_inv : forall m v c, Inv m -> Inv (leave_run m v c).
Proof. intros. unfold leave_run. destruct (vc_state _); auto using stop_vcpu_inv. Qed.

#[local] Hint Resolve set_vcpu_inv set_hasrun_inv all_off_inv stop_vcpu_inv leave_run_inv : inv.

Ltac inv_unfold := unfold owner_at, share_at, live, s2, s2_of, upd, set_s2, map_range, unmap_range in *; simpl in *.

Lemma vmid_ok_live : forall m v, vmid_ok cfg m v = true -> live m v = true.
Proof.
  unfold vmid_ok, live. intros. repeat rewrite andb_true_iff in H. tauto.
Qed.

Lemma vcpu_ok_live : forall m v c, vcpu_ok cfg m v c = true -> live m v = true.
Proof.
  unfold vcpu_ok. intros. apply andb_true_iff in H as [H _]. apply vmid_ok_live; auto.
Qed.

Ltac destr_page m p :=
  let E := fresh "Ep" in destruct (ms_pages m p) as [[| | |?] [|?]] eqn:E; simpl in *.

(** Copies of the invariant at PFN [p], then a case split on the page. *)
Ltac at_page I m p :=
  pose proof (fun v => inv_s2_owned _ I v p); pose proof (inv_hs2 _ I p);
  pose proof (inv_engine _ I p); pose proof (fun v => inv_free _ I v p);
  unfold owner_at, share_at, live, s2 in *; destr_page m p.

(** Use the copies: a mapping or a host mapping at [p] tells the owner. *)
Ltac use_facts :=
  repeat match goal with
  | P : forall v x, vm_s2 (ms_vms ?m v) ?p = Some x -> _, H : vm_s2 (ms_vms ?m ?w) ?p = Some ?y |- _ =>
      let A := fresh "A" in destruct (P w y H) as [A|[A ?]]; clear H; try discriminate
  | P : ms_hs2 ?m ?p = true -> _, H : ms_hs2 ?m ?p = true |- _ =>
      let A := fresh "A" in destruct (P H) as [A|[? [A ?]]]; clear P; try discriminate
  | H : ?a = ?a -> _ |- _ => specialize (H eq_refl)
  | H : true = false |- _ => discriminate
  | H : false = true |- _ => discriminate
  | H : OVM _ = OVM _ |- _ => inversion H; clear H; subst
  | H : SharedWith _ = SharedWith _ |- _ => inversion H; clear H; subst
  end.

Ltac fin := simpl in *; use_facts; simpl in *; try solve [
    auto | congruence | (exfalso; congruence) | discriminate | lia | (right; eauto) | (left; auto)
  | intuition (try congruence; try discriminate; eauto) ].

(** ** VM_CREATE *)
Lemma vm_create_inv : forall s n,
  Inv (st_meta s) -> Inv (st_meta (fst (vm_create cfg s n))).
Proof.
  intros s n I. unfold vm_create.
  destruct ((n =? 0) || (max_vcpus cfg <? n)); simpl; auto.
  destruct (free_slot cfg (st_meta s)) as [v|] eqn:F; simpl; auto.
  unfold free_slot in F. apply first_range_some in F as [w [Hw Hf]].
  destruct (vm_live (ms_vms (st_meta s) w)) eqn:L; [discriminate|]. inversion Hf; subst w.
  set (m := st_meta s) in *. unfold set_vm.
  constructor; inv_unfold; intros; try (at_page I m p); case_ifs; fin.
Qed.

(** ** VM_DESTROY *)
Lemma vm_destroy_inv : forall s v,
  Inv (st_meta s) -> Inv (st_meta (fst (vm_destroy cfg s v))).
Proof.
  intros s v I. unfold vm_destroy.
  destruct (negb (vmid_ok cfg (st_meta s) v)) eqn:V; simpl; auto.
  destruct (any_running (ms_vms (st_meta s) v)); simpl; auto.
  set (m := st_meta s) in *. unfold destroy_page, owned_by.
  constructor; inv_unfold; intros; try (at_page I m p); case_ifs; fin.
Qed.

Lemma lend_checks_ok : forall m v pa ipa n perms,
  lend_checks cfg m v pa ipa n perms = None ->
  live m v = true /\
  (forall p, in_range p (pfn cfg pa) n = true -> is_host_unshared (ms_pages m p) = true).
Proof.
  unfold lend_checks. intros.
  destruct (negb (vmid_ok cfg m v)) eqn:V; [discriminate|].
  apply negb_false_iff, vmid_ok_live in V.
  case_ifs; try discriminate. split; auto. intros p Hp.
  repeat match goal with H : negb _ = false |- _ => apply negb_false_iff in H end.
  rewrite all_range_spec in E2. apply E2. apply in_range_spec. auto.
Qed.

End Inv.
