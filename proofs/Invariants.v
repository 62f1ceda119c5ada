(** * The ledger invariants hold in every reachable state

    [Inv] is the conjunction the proofs carry. Every field is a per-page
    equation between booleans, so that a preservation proof is a case split
    on the tests of a transition followed by computation. The contract's
    invariants 1-7 follow from it as the named theorems at the end, and
    [inv_reachable] states that [Inv] holds after any sequence of actions
    (host calls, host stores, guest calls, guest steps and traps) from the
    boot state. *)

From Coq Require Import Arith Bool List Lia.
Import ListNotations.
From Bulkhead.Spec Require Import State Spec.
From Bulkhead.Proofs Require Import Lemmas.

Definition is_some {A} (o : option A) : bool := match o with Some _ => true | None => false end.

(** [v] owns the page or borrows it from the host: exactly the pages VM
    [v]'s stage-2 maps. *)
Definition holds_for (v : nat) (pg : page) : bool :=
  match pg_owner pg, pg_share pg with
  | OVM w, _ => w =? v
  | OHost, SharedWith b => b =? v
  | _, _ => false
  end.

(** Exactly the pages the host stage-2 maps. *)
Definition host_sees (pg : page) : bool :=
  match pg_owner pg, pg_share pg with
  | OHost, _ => true
  | OVM _, SharedWith b => b =? host_id
  | _, _ => false
  end.

(** Only host pages are shared with VMs, only VM pages with the host. *)
Definition share_ok (pg : page) : bool :=
  match pg_owner pg, pg_share pg with
  | _, NotShared => true
  | OHost, SharedWith b => negb (b =? host_id)
  | OVM _, SharedWith b => b =? host_id
  | _, _ => false
  end.

Definition is_engine (pg : page) : bool := match pg_owner pg with OEngine => true | _ => false end.
Definition is_none (pg : page) : bool := match pg_owner pg with ONone => true | _ => false end.

(** ** Automation *)

Ltac split_page m p :=
  let E := fresh "Ep" in
  destruct (ms_pages m p) as [[| | |?] [|?]] eqn:E; simpl in *.

(** Case split on every [if] and on the pages in sight, then compute. *)
Ltac crush :=
  unfold holds_for, host_sees, share_ok, is_engine, is_none, is_some, upd, host_id in *;
  repeat (first
    [ progress eqb_subst
    | match goal with
      | H : true = false |- _ => discriminate H
      | H : false = true |- _ => discriminate H
      | H : negb _ = true |- _ => apply negb_true_iff in H
      | H : negb _ = false |- _ => apply negb_false_iff in H
      | H : _ && _ = true |- _ => apply andb_true_iff in H as [? ?]
      | H : OVM _ = OVM _ |- _ => injection H as H
      | H : SharedWith _ = SharedWith _ |- _ => injection H as H
      | H : ?a -> _, H' : ?a |- _ => specialize (H H')
      | H : ?a = ?a -> _ |- _ => specialize (H eq_refl)
      | |- context [if ?c then _ else _] => let E := fresh "E" in destruct c eqn:E
      | H : context [if ?c then _ else _] |- _ => let E := fresh "E" in destruct c eqn:E
      | |- context [match ms_pages ?m ?p with _ => _ end] => split_page m p
      | H : context [match ms_pages ?m ?p with _ => _ end] |- _ => split_page m p
      | |- context [match pg_owner (ms_pages ?m ?p) with _ => _ end] => split_page m p
      | H : context [match pg_owner (ms_pages ?m ?p) with _ => _ end] |- _ => split_page m p
      | |- context [match vm_s2 ?w ?p with _ => _ end] => let E := fresh "S" in destruct (vm_s2 w p) eqn:E
      | H : context [match vm_s2 ?w ?p with _ => _ end] |- _ => let E := fresh "S" in destruct (vm_s2 w p) eqn:E
      | |- context [?x =? ?y] => let E := fresh "E" in destruct (Nat.eqb_spec x y) as [E|E]; [subst|]
      | H : context [?x =? ?y] |- _ => let E := fresh "E" in destruct (Nat.eqb_spec x y) as [E|E]; [subst|]
      end
    | progress (simpl in *) ]);
  try solve [auto | congruence | lia].

Section Inv.
Variable cfg : config.
(* Each proof uses the section variables its statement names, so that
   coqc -vos can skip the proofs (proofs/mutate.sh). *)
Set Default Proof Using "Type".

Record Inv (m : mstate) : Prop := {
  (** ownership <-> mappings: a VM's stage-2 maps exactly the pages it owns
      and the host pages shared with it *)
  inv_s2 : forall v p, is_some (vm_s2 (ms_vms m v) p) = holds_for v (ms_pages m p);
  (** the host stage-2 maps exactly host pages and pages a VM shared with it *)
  inv_hs2 : forall p, ms_hs2 m p = host_sees (ms_pages m p);
  (** the engine owns exactly its region *)
  inv_engine : forall p, is_engine (ms_pages m p) = in_ram cfg p && in_engine cfg p;
  (** PFNs outside RAM belong to nobody *)
  inv_ram : forall p, in_ram cfg p = false -> is_none (ms_pages m p) = true;
  inv_share : forall p, share_ok (ms_pages m p) = true;
  (** a free slot maps nothing *)
  inv_free : forall v p, vm_live (ms_vms m v) = false -> is_some (vm_s2 (ms_vms m v) p) = false;
  (** a VM's stage-2 maps each IPA page at most once *)
  inv_inj : forall v p q i a b, vm_s2 (ms_vms m v) p = Some (i, a) ->
    vm_s2 (ms_vms m v) q = Some (i, b) -> p = q;
  (** a protected VM borrows no host page: it holds only pages it owns *)
  inv_protected : forall v p, vm_protected (ms_vms m v) = true ->
    is_host_shared_with v (ms_pages m p) = false
}.

(** The stage-2 update of a call: each new mapping is an old one. *)
Ltac inj_tac I :=
  let v := fresh "v" in let p := fresh "p" in let q := fresh "q" in
  let i := fresh "i" in let a := fresh "a" in let b := fresh "b" in
  let Hp := fresh "Hp" in let Hq := fresh "Hq" in
  try intros v p q i a b Hp Hq; unfold upd, set_s2, s2_of, unmap_range in *; simpl in *;
  repeat (match goal with H : context [if ?c then _ else _] |- _ =>
    let E := fresh "E" in destruct c eqn:E end; simpl in *);
  eqb_subst; simpl in *; try discriminate; try solve [eapply (inv_inj _ I); eauto].

(** ** Boot *)

Lemma inv_init : Inv (init_meta cfg).
Proof.
  constructor; unfold init_meta, init_owner; simpl; intros; try discriminate; crush.
Qed.

(** ** Frame: calls that change neither pages, the host stage-2, liveness
    nor stage-2 maps keep the invariant. *)
Lemma inv_frame : forall m m',
  Inv m ->
  (forall p, ms_pages m' p = ms_pages m p) ->
  (forall p, ms_hs2 m' p = ms_hs2 m p) ->
  (forall v, vm_live (ms_vms m' v) = vm_live (ms_vms m v)) ->
  (forall v p, vm_s2 (ms_vms m' v) p = vm_s2 (ms_vms m v) p) ->
  (forall v, vm_protected (ms_vms m' v) = vm_protected (ms_vms m v)) ->
  Inv m'.
Proof.
  intros m m' I Hp Hh Hl Hs Hr.
  destruct I; constructor; intros;
    repeat rewrite Hp in *; repeat rewrite Hh in *; repeat rewrite Hl in *;
    repeat rewrite Hs in *; repeat rewrite Hr in *; eauto.
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

Lemma set_shadow_inv : forall m v ms log, Inv m -> Inv (set_shadow m v ms log).
Proof.
  intros. apply inv_frame with m; auto; intros; unfold set_shadow, set_vm, upd; simpl; case_ifs; auto.
Qed.

#[local] Hint Resolve set_vcpu_inv set_hasrun_inv all_off_inv stop_vcpu_inv leave_run_inv set_shadow_inv : inv.

Lemma vmid_ok_live : forall m v, vmid_ok cfg m v = true -> vm_live (ms_vms m v) = true /\ v <> 0.
Proof.
  unfold vmid_ok. intros. repeat rewrite andb_true_iff in H. destruct H as [[H0 _] H].
  apply negb_true_iff, Nat.eqb_neq in H0. auto.
Qed.

Lemma vcpu_ok_live : forall m v c, vcpu_ok cfg m v c = true -> vm_live (ms_vms m v) = true.
Proof.
  unfold vcpu_ok. intros. apply andb_true_iff in H as [H _]. apply vmid_ok_live; auto.
Qed.

(** A VM's stage-2 maps only RAM. *)
Lemma inv_s2_ram : forall m v p, Inv m -> is_some (vm_s2 (ms_vms m v) p) = true -> in_ram cfg p = true.
Proof.
  intros m v p I H. destruct (in_ram cfg p) eqn:R; auto.
  pose proof (inv_ram _ I p R). rewrite (inv_s2 _ I) in H. crush.
Qed.

Lemma mapped_in_iff : forall m v i n p, Inv m ->
  mapped_in cfg (vm_s2 (ms_vms m v)) i n p =
  match vm_s2 (ms_vms m v) p with Some (j, _) => in_range j i n | None => false end.
Proof.
  intros. unfold mapped_in. destruct (vm_s2 (ms_vms m v) p) as [[j q]|] eqn:E; simpl.
  - rewrite (inv_s2_ram m v p); auto. rewrite E; auto.
  - apply andb_false_r.
Qed.

(** ** VM_CREATE *)
Lemma vm_create_inv : forall s n f,
  Inv (st_meta s) -> Inv (st_meta (fst (vm_create cfg s n f))).
Proof.
  intros s n f I. unfold vm_create.
  destruct ((n =? 0) || (max_vcpus cfg <? n)); simpl; auto.
  destruct (free_slot cfg (st_meta s)) as [v|] eqn:F; simpl; auto.
  unfold free_slot in F. apply first_range_some in F as [w [Hw Hf]].
  destruct (vm_live (ms_vms (st_meta s) w)) eqn:L; [discriminate|]. inversion Hf; subst w.
  set (m := st_meta s) in *. unfold set_vm.
  constructor; simpl; intros; unfold upd; [try apply I .. | idtac].
  - pose proof (inv_s2 _ I v0 p). pose proof (inv_s2 _ I v p). pose proof (inv_free _ I v p L).
    crush.
  - crush.
  - pose proof (inv_free _ I v0 p). crush.
  - inj_tac I.
  - pose proof (inv_protected _ I v0 p). pose proof (inv_s2 _ I v p). pose proof (inv_free _ I v p L).
    unfold is_host_shared_with in *. crush.
Qed.

(** ** VM_DESTROY *)
Lemma vm_destroy_inv : forall s v,
  Inv (st_meta s) -> Inv (st_meta (fst (vm_destroy cfg s v))).
Proof.
  intros s v I. unfold vm_destroy.
  destruct (negb (vmid_ok cfg (st_meta s) v)) eqn:V; simpl; auto.
  destruct (any_running (ms_vms (st_meta s) v)); simpl; auto.
  set (m := st_meta s) in *. unfold destroy_page, owned_by.
  constructor; simpl; intros; unfold upd.
  - pose proof (inv_s2 _ I v0 p). pose proof (inv_share _ I p). crush.
  - pose proof (inv_hs2 _ I p). pose proof (inv_share _ I p). crush.
  - pose proof (inv_engine _ I p). crush.
  - pose proof (inv_ram _ I p H). crush.
  - pose proof (inv_share _ I p). crush.
  - pose proof (inv_free _ I v0 p). crush.
  - inj_tac I.
  - pose proof (inv_protected _ I v0 p). unfold is_host_shared_with in *. crush.
Qed.

(** ** Frame calls *)

Lemma vcpu_init_inv : forall s v c e x0,
  Inv (st_meta s) -> Inv (st_meta (fst (vcpu_init cfg s v c e x0))).
Proof. intros. unfold vcpu_init. case_ifs; simpl; auto with inv. Qed.

Lemma vcpu_run_inv : forall s v c r,
  Inv (st_meta s) -> Inv (st_meta (fst (vcpu_run cfg s v c r))).
Proof. intros. unfold vcpu_run. case_ifs; simpl; auto. destruct (vc_state _); simpl; auto with inv. Qed.

Lemma vcpu_irq_inv : forall s v c i l,
  Inv (st_meta s) -> Inv (st_meta (fst (vcpu_irq cfg s v c i l))).
Proof. intros. unfold vcpu_irq. case_ifs; simpl; auto with inv. Qed.

(** ** MEM_DONATE and MEM_SHARE *)

Lemma lend_checks_ok : forall m v pa ipa n perms,
  lend_checks cfg m v pa ipa n perms = None ->
  vm_live (ms_vms m v) = true /\ v <> 0 /\
  (forall p, in_range p (pfn cfg pa) n = true -> in_ram cfg p = true) /\
  (forall p, in_range p (pfn cfg pa) n = true -> is_host_unshared (ms_pages m p) = true).
Proof.
  unfold lend_checks. intros.
  destruct (negb (vmid_ok cfg m v)) eqn:V; [discriminate|].
  apply negb_false_iff, vmid_ok_live in V as [V V0].
  case_ifs; try discriminate.
  repeat match goal with H : negb _ = false |- _ => apply negb_false_iff in H end.
  split; [auto|split; [auto|split]]; intros p Hp.
  - unfold pa_ok, pfn in *. repeat rewrite andb_true_iff in *. unfold in_ram.
    rewrite in_range_spec in *. repeat match goal with H : _ /\ _ |- _ => destruct H end.
    rewrite Nat.leb_le in *. lia.
  - rewrite all_range_spec in E2. apply E2. apply in_range_spec. auto.
Qed.

(** The IPAs MEM_DONATE and MEM_SHARE map at are free in the VM's stage-2. *)
Lemma lend_map_fresh : forall m v pa ipa n perms p q i b,
  Inv m -> lend_checks cfg m v pa ipa n perms = None ->
  in_range p (pfn cfg pa) n = true -> i = pfn cfg ipa + (p - pfn cfg pa) ->
  vm_s2 (ms_vms m v) q = Some (i, b) -> False.
Proof.
  intros m v pa ipa n perms p q i b I L R Hi Hq.
  unfold lend_checks in L. case_ifs; try discriminate.
  apply negb_false_iff in E4.
  pose proof (ipa_range_free_pages _ _ _ _ q E4) as F.
  unfold mapped_in, s2_of in F. rewrite Hq in F.
  rewrite (inv_s2_ram m v q) in F; [|auto|rewrite Hq; auto].
  simpl in F. apply in_range_false in F. apply in_range_spec in R. lia.
Qed.

Lemma lend_inj : forall m v pa ipa n perms p q i a b,
  Inv m -> lend_checks cfg m v pa ipa n perms = None ->
  map_range (vm_s2 (ms_vms m v)) (pfn cfg pa) (pfn cfg ipa) n perms p = Some (i, a) ->
  map_range (vm_s2 (ms_vms m v)) (pfn cfg pa) (pfn cfg ipa) n perms q = Some (i, b) -> p = q.
Proof.
  intros m v pa ipa n perms p q i a b I L Hp Hq. unfold map_range in *.
  destruct (in_range p (pfn cfg pa) n) eqn:Rp, (in_range q (pfn cfg pa) n) eqn:Rq.
  - inversion Hp; inversion Hq; subst. apply in_range_spec in Rp, Rq. lia.
  - inversion Hp; subst. exfalso. eapply lend_map_fresh with (p := p) (q := q); eauto.
  - inversion Hq; subst. exfalso. eapply lend_map_fresh with (p := q) (q := p); eauto.
  - eapply (inv_inj _ I); eauto.
Qed.

Ltac use_range F p :=
  match goal with
  | H : in_range p _ _ = true |- _ =>
      let X := fresh "X" in pose proof (F p H) as X
  end.

Lemma mem_donate_inv : forall s v pa ipa n perms,
  Inv (st_meta s) -> Inv (st_meta (fst (mem_donate cfg s v pa ipa n perms))).
Proof.
  intros s v pa ipa n perms I. unfold mem_donate.
  destruct (lend_checks cfg (st_meta s) v pa ipa n perms) eqn:L; simpl; auto.
  pose proof (lend_checks_ok _ _ _ _ _ _ L) as [Lv [L0 [Lr Lh]]].
  set (m := st_meta s) in *.
  constructor; simpl; intros; unfold upd, set_s2, s2_of, map_range.
  - pose proof (inv_s2 _ I v0 p). pose proof (inv_s2 _ I v p).
    destruct (in_range p (pfn cfg pa) n) eqn:R; [pose proof (Lh p R); unfold is_host_unshared in *|]; crush.
  - pose proof (inv_hs2 _ I p).
    destruct (in_range p (pfn cfg pa) n) eqn:R; [pose proof (Lh p R); unfold is_host_unshared in *|]; crush.
  - pose proof (inv_engine _ I p).
    destruct (in_range p (pfn cfg pa) n) eqn:R; [pose proof (Lh p R); unfold is_host_unshared in *|]; crush.
  - pose proof (inv_ram _ I p H).
    destruct (in_range p (pfn cfg pa) n) eqn:R; [pose proof (Lr p R)|]; crush.
  - pose proof (inv_share _ I p). crush.
  - pose proof (inv_free _ I v0 p). crush.
  - inj_tac I. eapply lend_inj; eauto.
  - pose proof (inv_protected _ I v0 p). unfold is_host_shared_with in *.
    destruct (in_range p (pfn cfg pa) n) eqn:R; [pose proof (Lh p R); unfold is_host_unshared in *|]; crush.
Qed.

Lemma mem_share_inv : forall s v pa ipa n perms,
  Inv (st_meta s) -> Inv (st_meta (fst (mem_share cfg s v pa ipa n perms))).
Proof.
  intros s v pa ipa n perms I. unfold mem_share.
  destruct (lend_checks cfg (st_meta s) v pa ipa n perms) eqn:L; simpl; auto.
  destruct (vm_protected (ms_vms (st_meta s) v)) eqn:Pv; simpl; auto.
  pose proof (lend_checks_ok _ _ _ _ _ _ L) as [Lv [L0 [Lr Lh]]].
  set (m := st_meta s) in *.
  constructor; simpl; intros; unfold upd, set_s2, s2_of, map_range.
  - pose proof (inv_s2 _ I v0 p). pose proof (inv_s2 _ I v p).
    destruct (in_range p (pfn cfg pa) n) eqn:R; [pose proof (Lh p R); unfold is_host_unshared in *|]; crush.
  - pose proof (inv_hs2 _ I p).
    destruct (in_range p (pfn cfg pa) n) eqn:R; [pose proof (Lh p R); unfold is_host_unshared in *|]; crush.
  - pose proof (inv_engine _ I p).
    destruct (in_range p (pfn cfg pa) n) eqn:R; [pose proof (Lh p R); unfold is_host_unshared in *|]; crush.
  - pose proof (inv_ram _ I p H).
    destruct (in_range p (pfn cfg pa) n) eqn:R; [pose proof (Lr p R)|]; crush.
  - pose proof (inv_share _ I p). crush.
  - pose proof (inv_free _ I v0 p). crush.
  - inj_tac I. eapply lend_inj; eauto.
  - pose proof (inv_protected _ I v0 p). unfold is_host_shared_with in *.
    destruct (in_range p (pfn cfg pa) n) eqn:R; [pose proof (Lh p R); unfold is_host_unshared in *|]; crush.
Qed.

(** ** MEM_UNSHARE *)
Lemma mem_unshare_inv : forall s v ipa n,
  Inv (st_meta s) -> Inv (st_meta (fst (mem_unshare cfg s v ipa n))).
Proof.
  intros s v ipa n I. unfold mem_unshare.
  destruct (negb (vmid_ok cfg (st_meta s) v)) eqn:V; simpl; auto.
  apply negb_false_iff, vmid_ok_live in V as [Lv L0].
  destruct (negb (ipa_ok cfg ipa n)); simpl; auto.
  destruct (negb (ipa_range_ok _ _ _ _ _)) eqn:C; simpl; auto.
  apply negb_false_iff in C.
  set (m := st_meta s) in *.
  pose proof (fun p => ipa_range_ok_pages _ _ _ _ _ p C) as Ch. unfold is_host_shared_with in Ch.
  constructor; simpl; intros; unfold upd, set_s2, s2_of, unmap_range in *.
  - pose proof (inv_s2 _ I v0 p). pose proof (inv_s2 _ I v p).
    destruct (mapped_in cfg (vm_s2 (ms_vms m v)) (pfn cfg ipa) n p) eqn:R;
      [pose proof (Ch p R); pose proof (mapped_in_some _ _ _ _ _ R) as [? ?]|]; crush.
  - pose proof (inv_hs2 _ I p).
    destruct (mapped_in cfg (vm_s2 (ms_vms m v)) (pfn cfg ipa) n p) eqn:R; [pose proof (Ch p R)|]; crush.
  - pose proof (inv_engine _ I p).
    destruct (mapped_in cfg (vm_s2 (ms_vms m v)) (pfn cfg ipa) n p) eqn:R; [pose proof (Ch p R)|]; crush.
  - pose proof (inv_ram _ I p H).
    destruct (mapped_in cfg (vm_s2 (ms_vms m v)) (pfn cfg ipa) n p) eqn:R;
      [pose proof (mapped_in_ram _ _ _ _ _ R)|]; crush.
  - pose proof (inv_share _ I p). crush.
  - pose proof (inv_free _ I v0 p). crush.
  - inj_tac I.
  - pose proof (inv_protected _ I v0 p). unfold is_host_shared_with in *. crush.
Qed.

(** ** MEM_RECLAIM *)
Lemma mem_reclaim_inv : forall s pa n,
  Inv (st_meta s) -> Inv (st_meta (fst (mem_reclaim cfg s pa n))).
Proof.
  intros s pa n I. unfold mem_reclaim.
  destruct (negb (pa_ok cfg pa n)) eqn:V; simpl; auto.
  destruct (first_range _ _ _) eqn:F; simpl; auto.
  pose proof (first_range_none _ _ _ _ F) as Fn.
  assert (Fr : forall p, in_range p (pfn cfg pa) n = true ->
               in_ram cfg p = true /\ is_none (ms_pages (st_meta s) p) = true).
  { intros p Hp. apply in_range_spec in Hp. specialize (Fn p Hp).
    unfold reclaim_check, owner_of in Fn. unfold is_none.
    split; [|destruct (pg_owner _); congruence].
    unfold pa_ok, pfn in *. apply negb_false_iff in V. repeat rewrite andb_true_iff in *.
    unfold in_ram. rewrite in_range_spec in *. repeat match goal with H : _ /\ _ |- _ => destruct H end.
    rewrite Nat.leb_le in *. lia. }
  set (m := st_meta s) in *.
  constructor; simpl; intros.
  - pose proof (inv_s2 _ I v p).
    destruct (in_range p (pfn cfg pa) n) eqn:R; [pose proof (Fr p R) as [? ?]; unfold is_none in *|]; crush.
  - pose proof (inv_hs2 _ I p).
    destruct (in_range p (pfn cfg pa) n) eqn:R; [pose proof (Fr p R) as [? ?]; unfold is_none in *|]; crush.
  - pose proof (inv_engine _ I p).
    destruct (in_range p (pfn cfg pa) n) eqn:R; [pose proof (Fr p R) as [? ?]; unfold is_none in *|]; crush.
  - pose proof (inv_ram _ I p H).
    destruct (in_range p (pfn cfg pa) n) eqn:R; [pose proof (Fr p R) as [? ?]|]; crush.
  - pose proof (inv_share _ I p). crush.
  - apply I; auto.
  - inj_tac I.
  - pose proof (inv_protected _ I v p). unfold is_host_shared_with in *. crush.
Qed.

(** ** Guest memory calls *)

Lemma guest_share_inv : forall s v ipa n,
  Inv (st_meta s) -> Inv (st_meta (fst (guest_share cfg s v ipa n))).
Proof.
  intros s v ipa n I. unfold guest_share.
  destruct (negb (guest_range_ok cfg ipa n)); simpl; auto.
  destruct (negb (ipa_range_ok _ _ _ _ _)) eqn:C; simpl; auto.
  apply negb_false_iff in C.
  set (m := st_meta s) in *.
  pose proof (fun p => ipa_range_ok_pages _ _ _ _ _ p C) as Ch. unfold is_vm_unshared in Ch.
  unfold s2_of in *.
  constructor; simpl; intros.
  - pose proof (inv_s2 _ I v0 p). pose proof (inv_s2 _ I v p).
    destruct (mapped_in cfg (vm_s2 (ms_vms m v)) (pfn cfg ipa) n p) eqn:R; [pose proof (Ch p R)|]; crush.
  - pose proof (inv_hs2 _ I p).
    destruct (mapped_in cfg (vm_s2 (ms_vms m v)) (pfn cfg ipa) n p) eqn:R; [pose proof (Ch p R)|]; crush.
  - pose proof (inv_engine _ I p).
    destruct (mapped_in cfg (vm_s2 (ms_vms m v)) (pfn cfg ipa) n p) eqn:R; [pose proof (Ch p R)|]; crush.
  - pose proof (inv_ram _ I p H).
    destruct (mapped_in cfg (vm_s2 (ms_vms m v)) (pfn cfg ipa) n p) eqn:R;
      [pose proof (mapped_in_ram _ _ _ _ _ R)|]; crush.
  - pose proof (inv_share _ I p).
    destruct (mapped_in cfg (vm_s2 (ms_vms m v)) (pfn cfg ipa) n p) eqn:R; crush.
  - apply I; auto.
  - inj_tac I.
  - pose proof (inv_protected _ I v0 p). unfold is_host_shared_with in *. crush.
Qed.

Lemma guest_unshare_inv : forall s v ipa n,
  Inv (st_meta s) -> Inv (st_meta (fst (guest_unshare cfg s v ipa n))).
Proof.
  intros s v ipa n I. unfold guest_unshare.
  destruct (negb (guest_range_ok cfg ipa n)); simpl; auto.
  destruct (negb (ipa_range_ok _ _ _ _ _)) eqn:C; simpl; auto.
  apply negb_false_iff in C.
  set (m := st_meta s) in *.
  pose proof (fun p => ipa_range_ok_pages _ _ _ _ _ p C) as Ch. unfold is_vm_shared_host in Ch.
  unfold s2_of in *.
  constructor; simpl; intros.
  - pose proof (inv_s2 _ I v0 p). pose proof (inv_s2 _ I v p).
    destruct (mapped_in cfg (vm_s2 (ms_vms m v)) (pfn cfg ipa) n p) eqn:R; [pose proof (Ch p R)|]; crush.
  - pose proof (inv_hs2 _ I p).
    destruct (mapped_in cfg (vm_s2 (ms_vms m v)) (pfn cfg ipa) n p) eqn:R; [pose proof (Ch p R)|]; crush.
  - pose proof (inv_engine _ I p).
    destruct (mapped_in cfg (vm_s2 (ms_vms m v)) (pfn cfg ipa) n p) eqn:R; [pose proof (Ch p R)|]; crush.
  - pose proof (inv_ram _ I p H).
    destruct (mapped_in cfg (vm_s2 (ms_vms m v)) (pfn cfg ipa) n p) eqn:R;
      [pose proof (mapped_in_ram _ _ _ _ _ R)|]; crush.
  - pose proof (inv_share _ I p).
    destruct (mapped_in cfg (vm_s2 (ms_vms m v)) (pfn cfg ipa) n p) eqn:R; crush.
  - apply I; auto.
  - inj_tac I.
  - pose proof (inv_protected _ I v0 p). unfold is_host_shared_with in *. crush.
Qed.

Lemma guest_relinquish_inv : forall s v ipa n,
  Inv (st_meta s) -> Inv (st_meta (fst (guest_relinquish cfg s v ipa n))).
Proof.
  intros s v ipa n I. unfold guest_relinquish.
  destruct (negb (guest_range_ok cfg ipa n)); simpl; auto.
  destruct (negb (ipa_range_ok _ _ _ _ _)) eqn:C; simpl; auto.
  apply negb_false_iff in C.
  set (m := st_meta s) in *.
  pose proof (fun p => ipa_range_ok_pages _ _ _ _ _ p C) as Ch. unfold is_vm_unshared in Ch.
  unfold s2_of in *.
  constructor; simpl; intros; unfold upd, set_s2, s2_of, unmap_range in *.
  - pose proof (inv_s2 _ I v0 p). pose proof (inv_s2 _ I v p).
    destruct (mapped_in cfg (vm_s2 (ms_vms m v)) (pfn cfg ipa) n p) eqn:R;
      [pose proof (Ch p R); pose proof (mapped_in_some _ _ _ _ _ R) as [? ?]|]; crush.
  - pose proof (inv_hs2 _ I p).
    destruct (mapped_in cfg (vm_s2 (ms_vms m v)) (pfn cfg ipa) n p) eqn:R; [pose proof (Ch p R)|]; crush.
  - pose proof (inv_engine _ I p).
    destruct (mapped_in cfg (vm_s2 (ms_vms m v)) (pfn cfg ipa) n p) eqn:R; [pose proof (Ch p R)|]; crush.
  - pose proof (inv_ram _ I p H). crush.
  - pose proof (inv_share _ I p). crush.
  - pose proof (inv_free _ I v0 p). crush.
  - inj_tac I.
  - pose proof (inv_protected _ I v0 p). unfold is_host_shared_with in *. crush.
Qed.

(** ** PSCI *)

Lemma psci_cpu_on_inv : forall s v c mp e x,
  Inv (st_meta s) -> Inv (st_meta (fst (psci_cpu_on s v c mp e x))).
Proof. intros. unfold psci_cpu_on. case_ifs; simpl; auto. destruct (vc_state _); simpl; auto with inv. Qed.

Lemma psci_affinity_info_inv : forall s v mp l,
  Inv (st_meta s) -> Inv (st_meta (fst (psci_affinity_info s v mp l))).
Proof. intros. unfold psci_affinity_info. case_ifs; simpl; auto. destruct (vc_state _); simpl; auto. Qed.

(** ** Every action *)

Theorem step_inv : forall s a, Inv (st_meta s) -> Inv (st_meta (fst (step cfg s a))).
Proof.
  intros s a I. destruct a as [c|v c g|v c g|v c t|p x]; simpl.
  - destruct c; simpl; auto using vm_create_inv, vm_destroy_inv, vcpu_init_inv, vcpu_run_inv,
      vcpu_irq_inv, mem_donate_inv, mem_share_inv, mem_unshare_inv, mem_reclaim_inv.
    + unfold mem_info. case_ifs; auto.
    + unfold mmio_shadow. case_ifs; auto. destruct (shadow_marks _ _ _ _); simpl; auto with inv.
    + unfold mmio_log_read. case_ifs; simpl; auto with inv.
    + unfold file_info. destruct (nth_error _ _); simpl; auto.
    + unfold file_read. destruct (nth_error _ _); simpl; auto. case_ifs; simpl; auto.
      destruct (first_range _ _ _); simpl; auto.
  - unfold guest_call. destruct (negb _); simpl; auto.
    destruct g; simpl; auto using guest_share_inv, guest_unshare_inv, guest_relinquish_inv,
      psci_cpu_on_inv, psci_affinity_info_inv with inv.
    unfold guest_mem_state. case_ifs; auto.
  - unfold guest_step. destruct (negb _); simpl; auto.
    destruct g; simpl; auto; destruct (s2_access _ _ _ _ _); simpl; auto.
  - unfold guest_exit. destruct (negb _); simpl; auto with inv.
    destruct (shadow_of _ _); simpl; auto with inv. case_ifs; simpl; auto.
  - unfold host_write. repeat match goal with |- context [if ?b then _ else _] => destruct b end; auto.
Qed.

Theorem run_inv : forall tr s, Inv (st_meta s) -> Inv (st_meta (fst (run cfg s tr))).
Proof.
  induction tr as [|a tr IH]; intros s I; simpl; auto.
  destruct (step cfg s a) as [s1 o] eqn:E.
  destruct (run cfg s1 tr) as [s2 os] eqn:E2. simpl.
  replace s2 with (fst (run cfg s1 tr)) by (rewrite E2; auto).
  apply IH. replace s1 with (fst (step cfg s a)) by (rewrite E; auto). apply step_inv; auto.
Qed.

(** The invariant holds in every state reachable from boot by any sequence
    of host calls, host stores, guest calls, guest steps and traps. *)
Theorem inv_reachable : forall mem tr, Inv (st_meta (fst (run cfg (init_state cfg mem) tr))).
Proof. intros. apply run_inv. apply inv_init. Qed.

(** ** The contract's invariants, in every reachable state *)

Definition reachable (s : state) : Prop := exists mem tr, s = fst (run cfg (init_state cfg mem) tr).

Lemma reachable_inv : forall s, reachable s -> Inv (st_meta s).
Proof. intros s [mem [tr ->]]. apply inv_reachable. Qed.

Ltac at_page H v p :=
  let I := fresh "I" in pose proof (reachable_inv _ H) as I;
  pose proof (inv_s2 _ I v p); pose proof (inv_free _ I v p);
  pose proof (inv_hs2 _ I p); pose proof (inv_engine _ I p); pose proof (inv_share _ I p);
  pose proof (inv_ram _ I p).

(** 1: a VM's stage-2 maps exactly the pages it owns and the host pages
    shared with it (ownership <-> mappings). *)
Theorem inv1_vm_s2 : forall s v p, reachable s ->
  (exists x, vm_s2 (ms_vms (st_meta s) v) p = Some x) <->
  (pg_owner (ms_pages (st_meta s) p) = OVM v \/
   (pg_owner (ms_pages (st_meta s) p) = OHost /\ pg_share (ms_pages (st_meta s) p) = SharedWith v)).
Proof.
  intros s v p R. at_page R v p. set (m := st_meta s) in *.
  split; [intros [x Hx]|intros Ho]; crush; intuition (try congruence; eauto).
Qed.

(** 1, continued: a VM's stage-2 maps each IPA page to at most one page. *)
Theorem inv1_ipa_once : forall s v p q i a b, reachable s ->
  vm_s2 (ms_vms (st_meta s) v) p = Some (i, a) -> vm_s2 (ms_vms (st_meta s) v) q = Some (i, b) -> p = q.
Proof. intros s v p q i a b R. apply (inv_inj _ (reachable_inv _ R)). Qed.

(** 2: the host stage-2 maps exactly the host's pages and the pages a VM
    shared with the host; never a VM-private page, never an engine page. *)
Theorem inv2_host_s2 : forall s p, reachable s ->
  ms_hs2 (st_meta s) p = true <->
  (pg_owner (ms_pages (st_meta s) p) = OHost \/
   exists w, pg_owner (ms_pages (st_meta s) p) = OVM w /\ pg_share (ms_pages (st_meta s) p) = SharedWith host_id).
Proof.
  intros s p R. at_page R 0 p. set (m := st_meta s) in *.
  split; [intros Hx|intros Ho]; crush; unfold host_id; intuition (try congruence; eauto);
    match goal with H : exists _, _ |- _ => destruct H as [? [? ?]]; congruence end.
Qed.

Theorem inv2_host_no_private : forall s p w, reachable s ->
  pg_owner (ms_pages (st_meta s) p) = OVM w -> pg_share (ms_pages (st_meta s) p) = NotShared ->
  ms_hs2 (st_meta s) p = false.
Proof. intros s p w R Ho Hs. at_page R w p. set (m := st_meta s) in *. crush. Qed.

(** 3: engine pages are exactly the engine region and are mapped nowhere. *)
Theorem inv3_engine : forall s p, reachable s ->
  (pg_owner (ms_pages (st_meta s) p) = OEngine <-> in_ram cfg p && in_engine cfg p = true) /\
  (pg_owner (ms_pages (st_meta s) p) = OEngine ->
   ms_hs2 (st_meta s) p = false /\ forall v, vm_s2 (ms_vms (st_meta s) v) p = None).
Proof.
  intros s p R. pose proof (reachable_inv _ R) as I.
  pose proof (inv_engine _ I p). pose proof (inv_hs2 _ I p).
  split; [|split; [|intro v; pose proof (inv_s2 _ I v p)]]; crush; intuition congruence.
Qed.

(** 5: pages that nobody owns are mapped nowhere. *)
Theorem inv5_none_unmapped : forall s p, reachable s ->
  pg_owner (ms_pages (st_meta s) p) = ONone ->
  ms_hs2 (st_meta s) p = false /\ forall v, vm_s2 (ms_vms (st_meta s) v) p = None.
Proof.
  intros s p R Ho. pose proof (reachable_inv _ R) as I. pose proof (inv_hs2 _ I p).
  split; [|intro v; pose proof (inv_s2 _ I v p)]; crush.
Qed.

(** 7: only live VMs have mappings, own pages or borrow them. *)
Theorem inv7_live : forall s v p, reachable s ->
  vm_live (ms_vms (st_meta s) v) = false ->
  vm_s2 (ms_vms (st_meta s) v) p = None /\
  pg_owner (ms_pages (st_meta s) p) <> OVM v /\
  ~ (pg_owner (ms_pages (st_meta s) p) = OHost /\ pg_share (ms_pages (st_meta s) p) = SharedWith v).
Proof.
  intros s v p R L. pose proof (reachable_inv _ R) as I.
  pose proof (inv_s2 _ I v p). pose proof (inv_free _ I v p L). pose proof (inv_share _ I p).
  crush; intuition congruence.
Qed.

(** 4: page conservation is a property of each transition, not of a
    state (ownership is a total function of the PFN, so any state has each
    page in exactly one owner class): see [Scrub.inv4_conservation]. *)

End Inv.
