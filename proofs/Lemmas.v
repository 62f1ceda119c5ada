(** * Lemmas about the helpers of the specification, and the tactics the
    proofs share. *)

From Coq Require Import Arith Bool List Lia.
Import ListNotations.
From Bulkhead.Spec Require Import State Spec.

Lemma in_range_spec : forall p lo n, in_range p lo n = true <-> lo <= p < lo + n.
Proof.
  intros. unfold in_range. rewrite andb_true_iff, Nat.leb_le, Nat.ltb_lt. tauto.
Qed.

Lemma in_range_false : forall p lo n, in_range p lo n = false <-> ~ (lo <= p < lo + n).
Proof.
  intros. rewrite <- in_range_spec. destruct (in_range p lo n); intuition congruence.
Qed.

Lemma all_range_spec : forall n lo f,
  all_range lo n f = true <-> (forall p, lo <= p < lo + n -> f p = true).
Proof.
  induction n; intros; simpl.
  - split; intros; auto. lia.
  - rewrite andb_true_iff, IHn. split.
    + intros [H1 H2] p Hp. destruct (Nat.eq_dec p lo); [subst; auto|]. apply H2. lia.
    + intros H. split; [apply H; lia|]. intros p Hp. apply H. lia.
Qed.

Lemma all_range_in : forall n lo f p,
  all_range lo n f = true -> in_range p lo n = true -> f p = true.
Proof.
  intros n lo f p H Hp. rewrite all_range_spec in H. rewrite in_range_spec in Hp. auto.
Qed.

Lemma first_range_none : forall A n lo (f : nat -> option A),
  first_range lo n f = None -> forall p, lo <= p < lo + n -> f p = None.
Proof.
  induction n; intros lo f H p Hp; simpl in *; [lia|].
  destruct (f lo) eqn:E; [discriminate|].
  destruct (Nat.eq_dec p lo); [subst; auto|]. apply (IHn (S lo)); auto. lia.
Qed.

Lemma first_range_some : forall A n lo (f : nat -> option A) a,
  first_range lo n f = Some a -> exists p, lo <= p < lo + n /\ f p = Some a.
Proof.
  induction n; intros lo f a H; simpl in *; [discriminate|].
  destruct (f lo) eqn:E.
  - inversion H; subst. exists lo. split; auto. lia.
  - destruct (IHn (S lo) f a H) as [p [Hp Hf]]. exists p. split; auto. lia.
Qed.

Lemma upd_eq : forall A (f : nat -> A) x a, upd f x a x = a.
Proof. intros. unfold upd. rewrite Nat.eqb_refl. auto. Qed.

Lemma upd_neq : forall A (f : nat -> A) x y a, y <> x -> upd f x a y = f y.
Proof. intros. unfold upd. destruct (Nat.eqb_spec y x); congruence. Qed.

(** Case splits on every boolean test in sight, turning [Nat.eqb] tests into
    equalities. *)
Ltac eqb_subst :=
  repeat match goal with
  | H : (_ =? _) = true |- _ => apply Nat.eqb_eq in H; subst
  | H : (_ =? _) = false |- _ => apply Nat.eqb_neq in H
  end.

Ltac case_ifs :=
  repeat match goal with H : context [if _ then _ else _] |- _ => revert H end;
  repeat (match goal with
  | |- context [if ?c then _ else _] => let E := fresh "E" in destruct c eqn:E
  end; eqb_subst; cbn beta iota);
  intros; eqb_subst.

Ltac unfold_upd := unfold upd in *.

(** Case analysis of one step: [split_goal] splits on every [match] in the
    goal, [split_step] on every [match] in the goal and the hypotheses, and
    [unfold_calls] unfolds every call of the model into its definition. *)
Ltac split_goal :=
  repeat match goal with
  | |- context [match ?x with _ => _ end] => let E := fresh "E" in destruct x eqn:E
  end.

Ltac split_step :=
  repeat match goal with
  | |- context [match ?x with _ => _ end] => let E := fresh "E" in destruct x eqn:E
  | H : context [match ?x with _ => _ end] |- _ => let E := fresh "E" in destruct x eqn:E
  end.

Ltac unfold_calls :=
  unfold host_call, guest_call, guest_step, guest_exit, host_write, vm_create, vm_destroy,
    vcpu_init, vcpu_run, vcpu_irq, mem_donate, mem_share, mem_unshare, mem_reclaim, mem_info,
    guest_share, guest_unshare, guest_relinquish, guest_mem_state, psci_cpu_on, psci_affinity_info, psci_system,
    stop_vcpu, leave_run, all_off, set_vcpu, set_vm, set_hasrun, set_s2,
    mmio_shadow, mmio_log_read, set_shadow, file_info, file_read in *.

Lemma s2_lookup_some : forall cfg s2 i p,
  s2_lookup cfg s2 i = Some p -> exists perms, s2 p = Some (i, perms) /\ in_ram cfg p = true.
Proof.
  unfold s2_lookup. intros cfg s2 i p H.
  apply first_range_some in H. destruct H as [q [Hq Hf]].
  destruct (s2 q) as [[j perms]|] eqn:E; [|discriminate].
  destruct (Nat.eqb_spec j i); [|discriminate]. inversion Hf; subst.
  exists perms. split; auto. unfold in_ram. apply in_range_spec. auto.
Qed.

Lemma s2_access_some : forall cfg m v ipa bit p,
  s2_access cfg m v ipa bit = Some p -> exists x, vm_s2 (ms_vms m v) p = Some x.
Proof.
  unfold s2_access, s2_of. intros.
  destruct (s2_lookup cfg (vm_s2 (ms_vms m v)) (pfn cfg ipa)) eqn:E; [|discriminate].
  destruct (vm_s2 (ms_vms m v) n) as [[j perms]|] eqn:E2; [|discriminate].
  destruct (has_perm perms bit); [|discriminate]. inversion H; subst. eauto.
Qed.

(** What the checks of a ranged call guarantee. *)
Lemma ipa_range_ok_pages : forall cfg s2 i n ok p,
  ipa_range_ok cfg s2 i n ok = true -> mapped_in cfg s2 i n p = true -> ok p = true.
Proof.
  unfold ipa_range_ok. intros cfg s2 i n ok p H Hm.
  apply andb_true_iff in H as [_ H].
  assert (Hr : in_ram cfg p = true) by (unfold mapped_in in Hm; apply andb_true_iff in Hm; tauto).
  unfold in_ram in Hr. rewrite in_range_spec in Hr.
  rewrite all_range_spec in H. specialize (H p Hr). rewrite Hm in H. simpl in H. auto.
Qed.

Lemma ipa_range_free_pages : forall cfg s2 i n p,
  ipa_range_free cfg s2 i n = true -> mapped_in cfg s2 i n p = false.
Proof.
  unfold ipa_range_free. intros cfg s2 i n p H.
  destruct (mapped_in cfg s2 i n p) eqn:Hm; auto.
  assert (Hr : in_ram cfg p = true) by (unfold mapped_in in Hm; apply andb_true_iff in Hm; tauto).
  unfold in_ram in Hr. rewrite in_range_spec in Hr.
  rewrite all_range_spec in H. specialize (H p Hr). rewrite Hm in H. discriminate.
Qed.

Lemma mapped_in_some : forall cfg s2 i n p,
  mapped_in cfg s2 i n p = true -> exists x, s2 p = Some x.
Proof.
  unfold mapped_in. intros. apply andb_true_iff in H as [_ H].
  destruct (s2 p); [eauto|discriminate].
Qed.

Lemma mapped_in_ram : forall cfg s2 i n p,
  mapped_in cfg s2 i n p = true -> in_ram cfg p = true.
Proof.
  unfold mapped_in. intros. apply andb_true_iff in H. tauto.
Qed.

(** ** Register names

    [vreg_index] gives distinct names distinct places in a register file,
    so a statement about every register number is one about every named
    register, and no two names share one. *)
Definition vreg_of_index (n : nat) : option vreg := find (fun r => vreg_index r =? n) vregs.

Lemma vreg_of_index_spec : forall r, vreg_of_index (vreg_index r) = Some r.
Proof. destruct r; reflexivity. Qed.

Lemma vreg_index_inj : forall r q, vreg_index r = vreg_index q -> r = q.
Proof.
  intros r q H. pose proof (vreg_of_index_spec r) as Hr. rewrite H, vreg_of_index_spec in Hr.
  congruence.
Qed.

(** [vregs] lists every name. *)
Lemma vregs_complete : forall r, In r vregs.
Proof.
  intros r. pose proof (vreg_of_index_spec r) as H. unfold vreg_of_index in H.
  apply find_some in H. tauto.
Qed.

(** A vCPU starts ([boot_regs]) with every named register zero except x0
    and its PC (ELR_EL2). *)
Lemma boot_regs_vreg : forall e x0 r,
  boot_regs e x0 (vreg_index r) =
  match r with R_X0 => x0 | R_ELR_EL2 => e | _ => 0 end.
Proof. intros e x0 r. destruct r; reflexivity. Qed.
