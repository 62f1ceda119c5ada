(** * Confidentiality of a VM's private memory and registers

    Noninterference by unwinding, for a fixed VM [v]. Two states are
    related by [rel v] when they have the same ledger, the same contents of
    every page that is not [hidden] from the others (pages [v] owns and has
    not shared, and pages nobody owns, which nobody maps and MEM_RECLAIM
    zeroes before anybody may see them), and the same registers for every
    other VM. What [v] chooses to release is the only declassification
    ([declass]): the registers a trap names (the value of an MMIO write, x1..x5
    of a forwarded call), the fields of the SGI it asks for (the target
    list, affinity, INTID, IRM and RS of its ICC_SGI1R_EL1 write, the SGI
    exit of the extension), a register it stores to a page others may read,
    and the pages it shares with GUEST_SHARE. The MMIO shadow extension
    adds no release: a write a mark logs appends the low byte of the value
    the MMIO exit would have carried ([log_byte], from the register the
    trap releases), which the host reads with MMIO_LOG_READ, and which
    marks exist and how full the log is are the host's own doing and the
    ledger's ([vm_marks], [vm_log] are in [st_meta]: [rel] requires them
    equal, and [ni_step] shows they stay equal).

    - [ni_step]: step consistency and output consistency in one: from
      related states, any action (under [declass] if it is [v]'s) gives
      related states and the same output;
    - [ni_other]: for an action of any other principal, with no condition;
    - [unhide]: a page hidden for [v] becomes visible only by a
      MEM_RECLAIM of it or by [v]'s own GUEST_SHARE;
    - [rel_obs_host], [rel_obs_vm]: related states look the same to the
      host and to every other VM;
    - [noninterference]: the trace-level theorem, by induction. *)

From Coq Require Import Arith Bool List Lia.
Import ListNotations.
From Bulkhead.Spec Require Import State Spec.
From Bulkhead.Proofs Require Import Lemmas Invariants.

Definition hidden (v : nat) (m : mstate) (p : nat) : bool :=
  match pg_owner (ms_pages m p), pg_share (ms_pages m p) with
  | OVM w, NotShared => w =? v
  | ONone, _ => true
  | _, _ => false
  end.

(** The registers a trap releases to the host: exactly what [exit_of] and
    [log_byte] may read, written down independently of them. *)
Definition released (t : trap) : list nat :=
  match t with
  | TMMIO _ true _ r => [r]
  | TCall _ => [1; 2; 3; 4; 5]
  | _ => []
  end.

(** What an SGI exit releases to the host: the fields of the value the
    guest writes to ICC_SGI1R_EL1 (GIC IHI 0069, 12.11.27), as (first bit,
    width), written down independently of [sgi_fields]; the register's
    RES0 bits are not released. *)
Definition sgi_released : list (nat * nat) :=
  [ (0, 16)    (* TargetList: the vCPUs of the affinity group to interrupt *)
  ; (16, 8)    (* Aff1 *)
  ; (24, 4)    (* INTID: which SGI, 0-15 *)
  ; (32, 8)    (* Aff2 *)
  ; (40, 1)    (* IRM: every PE but the sender *)
  ; (44, 4)    (* RS: range selector of TargetList *)
  ; (48, 8)    (* Aff3 *)
  ].

(** The released fields of register [r] agree in [f] and [g]. *)
Definition sgi_agree (r : nat) (f g : nat -> nat) : Prop :=
  r <> xzr -> forall b, In b sgi_released -> field (f r) (fst b) (snd b) = field (g r) (fst b) (snd b).

(** Everything a trap releases agrees in the register files [f] and [g]. *)
Definition trap_agree (t : trap) (f g : nat -> nat) : Prop :=
  (forall r, In r (released t) -> f r = g r) /\
  match t with TSGI r => sgi_agree r f g | _ => True end.

(** The principal that takes an action: [None] for the host. *)
Definition actor (a : action) : option nat :=
  match a with
  | AHost _ | AHostWrite _ _ => None
  | AGuest w _ _ | AStep w _ _ | AExit w _ _ => Some w
  end.

(** The checks of a call, as facts about each page. *)
Ltac check_facts :=
  repeat match goal with
  | H : lend_checks _ _ _ _ _ _ _ = None |- _ =>
      apply lend_checks_ok in H as [? [? [? ?]]]
  | H : negb (ipa_range_ok _ _ _ _ _) = false |- _ =>
      apply negb_false_iff in H; pose proof (fun p => ipa_range_ok_pages _ _ _ _ _ p H)
  end.

Ltac use_check :=
  repeat match goal with
  | F : forall q, in_range q ?a ?b = true -> _, R : in_range ?p ?a ?b = true |- _ =>
      specialize (F p R)
  | F : forall q, mapped_in ?c ?s ?i ?n q = true -> _, R : mapped_in ?c ?s ?i ?n ?p = true |- _ =>
      specialize (F p R)
  end;
  unfold is_host_unshared, is_host_shared_with, is_vm_unshared, is_vm_shared_host in *.

Section NI.
Variable cfg : config.
(* Each proof uses the section variables its statement names, so that
   coqc -vos can skip the proofs (proofs/mutate.sh). *)
Set Default Proof Using "Type".

Record rel (v : nat) (s t : state) : Prop := {
  rel_meta : st_meta s = st_meta t;
  rel_mem : forall p, hidden v (st_meta s) p = false -> st_mem s p = st_mem t p;
  rel_regs : forall w c r, w <> v -> st_regs s w c r = st_regs t w c r
}.

(** What [v] may release by action [a]: the two states agree on it. *)
Definition declass (v : nat) (s t : state) (a : action) : Prop :=
  match a with
  | AExit w c tr => w = v -> trap_agree tr (st_regs s w c) (st_regs t w c)
  | AStep w c (GStore ipa r) => w = v ->
      forall p, s2_access cfg (st_meta s) w ipa 2 = Some p -> hidden v (st_meta s) p = false ->
      st_regs s w c r = st_regs t w c r
  | AGuest w c (GGuestShare ipa n) => w = v -> snd (guest_share cfg s w ipa n) = ok0 ->
      forall p, mapped_in cfg (vm_s2 (ms_vms (st_meta s) w)) (pfn cfg ipa) n p = true ->
      st_mem s p = st_mem t p
  | _ => True
  end.

Lemma declass_other : forall v s t a, actor a <> Some v -> declass v s t a.
Proof.
  intros v s t a H. destruct a as [c|w c g|w c g|w c tr|q x]; simpl in *; try destruct g;
    simpl; auto; intro E; subst; congruence.
Qed.

Lemma fields_value_agree : forall l x y,
  (forall b, In b l -> field x (fst b) (snd b) = field y (fst b) (snd b)) ->
  fields_value l x = fields_value l y.
Proof.
  induction l as [|b l IH]; intros x y H; unfold fields_value in *; simpl; auto.
  rewrite (H b) by (left; auto). f_equal. apply IH. intros b' Hb. apply H. right. auto.
Qed.

(** The released fields are the fields the exit carries. *)
Lemma sgi_released_fields : sgi_released = sgi_fields.
Proof. reflexivity. Qed.

Lemma exit_of_released : forall t f g, trap_agree t f g -> exit_of t f = exit_of t g.
Proof.
  intros t f g [H S]. destruct t as [ipa [|] sz r|fid| | |ec|r]; simpl in *; auto;
    unfold mmio_write_value, sgi_value; repeat rewrite H by tauto; auto.
  destruct (r =? xzr) eqn:E; auto. apply Nat.eqb_neq in E. f_equal.
  apply fields_value_agree. rewrite <- sgi_released_fields. auto.
Qed.

Lemma trap_agree_all : forall t f g, (forall r, f r = g r) -> trap_agree t f g.
Proof.
  intros t f g H. split; [auto|]. destruct t; auto. intros _ b _. rewrite H. auto.
Qed.

(** The byte a shadowed MMIO write logs is part of what the trap releases:
    the low byte of the written value ([log_byte]). *)
Lemma log_byte_agree : forall t f g, trap_agree t f g -> log_byte f t = log_byte g t.
Proof.
  intros t f g [H _]. destruct t as [ipa [|] sz r| | | | |]; simpl in *; auto.
  unfold mmio_write_value. rewrite H by tauto. auto.
Qed.

Lemma log_byte_rel : forall v w c tr (rs rt : nat -> nat -> nat -> nat),
  (forall w c r, w <> v -> rs w c r = rt w c r) ->
  (w = v -> trap_agree tr (rs w c) (rt w c)) -> log_byte (rs w c) tr = log_byte (rt w c) tr.
Proof.
  intros v w c tr rs rt R D. apply log_byte_agree.
  destruct (Nat.eq_dec w v); [auto|apply trap_agree_all; intros; apply R; auto].
Qed.

Lemma s2_not_hidden : forall m v w p x, Inv cfg m -> w <> v ->
  vm_s2 (ms_vms m w) p = Some x -> hidden v m p = false.
Proof.
  intros m v w p x I Hw H. pose proof (inv_s2 _ _ I w p) as S. pose proof (inv_share _ _ I p).
  rewrite H in S. unfold hidden. crush.
Qed.

Lemma s2_access_not_hidden : forall m v w ipa bit p, Inv cfg m -> w <> v ->
  s2_access cfg m w ipa bit = Some p -> hidden v m p = false.
Proof.
  intros. apply s2_access_some in H1 as [x H1]. eapply s2_not_hidden; eauto.
Qed.

Ltac leaf Rmem Rregs :=
  unfold upd, deliver, boot_regs, destroy_page, owned_by in *; simpl in *;
  repeat match goal with |- context [match ?c with _ => _ end] => let E := fresh "E" in destruct c eqn:E end;
  eqb_subst; try reflexivity; try congruence;
  first
    [ apply Rregs; congruence
    | apply Rmem; first
        [ solve [eapply s2_access_not_hidden; eauto]
        | use_check; unfold hidden in *; crush ]
    | idtac ].

Theorem ni_step : forall v s t a,
  Inv cfg (st_meta s) -> rel v s t -> declass v s t a ->
  rel v (fst (step cfg s a)) (fst (step cfg t a)) /\ snd (step cfg s a) = snd (step cfg t a).
Proof.
  intros v [m ms rs] [m' mt rt] a I [Rm Rmem Rregs] D. simpl in *. subst m'.
  destruct a as [c|w c g|w c g|w c tr|q x]; simpl in *; [destruct c| destruct g | destruct g | |];
    unfold_calls; simpl; split_goal;
    (* a shadowed MMIO write: the byte it logs is released *)
    try match goal with
      | D : ?w = ?v -> trap_agree ?tr (?rs ?w ?c) (?rt ?w ?c),
        R : forall w c r, w <> ?v -> ?rs w c r = ?rt w c r |- _ =>
          rewrite (log_byte_rel v w c tr rs rt R D)
      end;
    check_facts; simpl in *;
    (split; [constructor; simpl; [reflexivity| intros p Hp | intros w' c' r' Hw] |]);
    try reflexivity; try (apply Rregs; assumption);
    try (apply Rmem; unfold hidden in *; simpl in Hp; exact Hp).
  all: unfold upd, deliver, boot_regs in *; simpl in *;
    repeat match goal with |- context [match ?c with _ => _ end] => let E := fresh "E" in destruct c eqn:E end;
    eqb_subst; try reflexivity; try (apply Rregs; congruence);
    try (apply Rmem; unfold hidden in *; simpl in Hp; exact Hp).
  all: unfold upd in *;
    repeat match goal with |- context [match ?c with _ => _ end] => let E := fresh "E" in destruct c eqn:E end;
    eqb_subst; try reflexivity; try (apply Rregs; congruence).
  all: try (apply Rmem; solve [eapply s2_access_not_hidden; eauto]).
  all: try solve [apply Rmem; use_check; unfold hidden in *; crush].
  - (* VM_DESTROY *) apply Rmem. unfold hidden, destroy_page in *. crush.
  - (* GUEST_SHARE: by v, the pages it shares; by another VM, its own pages *)
    destruct (Nat.eq_dec w v); [subst|].
    + unfold s2_of in *.
      destruct (mapped_in cfg (vm_s2 (ms_vms m v)) (pfn cfg ipa) pages p) eqn:R.
      * apply D; auto.
        match goal with H : ipa_range_ok _ _ _ _ _ = true |- _ => rewrite H end. reflexivity.
      * apply Rmem. unfold hidden in *. simpl in Hp. rewrite R in Hp. exact Hp.
    + apply Rmem. use_check. unfold hidden in *. crush.
  - (* a store by v to a page others may read *)
    destruct (Nat.eq_dec w v); [|apply Rregs; auto]. subst.
    eapply D; eauto.
  - (* a trap *)
    f_equal. apply exit_of_released.
    destruct (Nat.eq_dec w v); [subst; apply D; auto|apply trap_agree_all; intros; apply Rregs; auto].
Qed.

(** A page hidden for [v] becomes visible to the others only by a
    MEM_RECLAIM whose range holds it (which zeroes it) or by [v]'s own
    GUEST_SHARE answering SUCCESS of a range [v] maps it in: what
    [declass] releases. *)
Lemma unhide : forall v s a p,
  hidden v (st_meta s) p = true -> hidden v (st_meta (fst (step cfg s a))) p = false ->
  (exists pa n, a = AHost (HMemReclaim pa n) /\ in_range p (pfn cfg pa) n = true) \/
  (exists c ipa n, a = AGuest v c (GGuestShare ipa n) /\ snd (guest_share cfg s v ipa n) = ok0 /\
     mapped_in cfg (vm_s2 (ms_vms (st_meta s) v)) (pfn cfg ipa) n p = true).
Proof.
  intros v s a p H0 H1. unfold hidden in *.
  destruct a as [h|w c g|w c g|w c t|q y]; cbn [step] in *; [destruct h| |destruct g| |];
    unfold_calls; unfold destroy_page, owned_by in *; split_step; simpl in *; try congruence.
  all: repeat match goal with H : context [if ?b then _ else _] |- _ => destruct b eqn:?; simpl in * end;
    try congruence; try solve [left; eauto].
  all: check_facts; use_check; crush.
  (* [v]'s own GUEST_SHARE *)
  subst. right. exists c, ipa, pages. split; [reflexivity|]. unfold s2_of in *. cbn [negb].
  repeat match goal with H : ?b = true |- context [?b] => rewrite H end. split; reflexivity.
Qed.

(** The two unwinding conditions, separately. *)
Theorem ni_output_consistency : forall v s t a,
  Inv cfg (st_meta s) -> rel v s t -> declass v s t a -> snd (step cfg s a) = snd (step cfg t a).
Proof. intros. apply (ni_step v s t a); auto. Qed.

Theorem ni_step_consistency : forall v s t a,
  Inv cfg (st_meta s) -> rel v s t -> declass v s t a -> rel v (fst (step cfg s a)) (fst (step cfg t a)).
Proof. intros. apply (ni_step v s t a); auto. Qed.

(** Step and output consistency for an action of any other principal:
    no condition at all. *)
Theorem ni_other : forall v s t a,
  Inv cfg (st_meta s) -> rel v s t -> actor a <> Some v ->
  rel v (fst (step cfg s a)) (fst (step cfg t a)) /\ snd (step cfg s a) = snd (step cfg t a).
Proof. intros. apply ni_step; auto. apply declass_other; auto. Qed.

(** ** Observations *)

(** The host sees the ledger (through MEM_INFO and the statuses of its
    calls) and the contents of the pages its stage-2 maps. *)
Definition obs_host_eq (s t : state) : Prop :=
  st_meta s = st_meta t /\
  forall p, ms_hs2 (st_meta s) p = true -> st_mem s p = st_mem t p.

(** VM [w] sees its registers and the pages its stage-2 maps. *)
Definition obs_vm_eq (w : nat) (s t : state) : Prop :=
  (forall c r, st_regs s w c r = st_regs t w c r) /\
  forall p x, vm_s2 (ms_vms (st_meta s) w) p = Some x -> st_mem s p = st_mem t p.

Theorem rel_obs_host : forall v s t, Inv cfg (st_meta s) -> rel v s t -> obs_host_eq s t.
Proof.
  intros v s t I [Rm Rmem Rregs]. split; auto. intros p H. apply Rmem.
  pose proof (inv_hs2 _ _ I p) as S. pose proof (inv_share _ _ I p).
  rewrite H in S. unfold hidden. crush.
Qed.

Theorem rel_obs_vm : forall v w s t, Inv cfg (st_meta s) -> rel v s t -> w <> v -> obs_vm_eq w s t.
Proof.
  intros v w s t I [Rm Rmem Rregs] Hw. split; auto. intros p x H. apply Rmem.
  eapply s2_not_hidden; eauto.
Qed.

(** ** Traces *)

(** [v]'s releases along a pair of runs. *)
Fixpoint declass_run (v : nat) (s t : state) (tr : list action) : Prop :=
  match tr with
  | [] => True
  | a :: tr' => declass v s t a /\ declass_run v (fst (step cfg s a)) (fst (step cfg t a)) tr'
  end.

Lemma run_cons : forall s a tr,
  run cfg s (a :: tr) = (fst (run cfg (fst (step cfg s a)) tr),
                         snd (step cfg s a) :: snd (run cfg (fst (step cfg s a)) tr)).
Proof.
  intros. simpl. destruct (step cfg s a) as [s1 o]. simpl. destruct (run cfg s1 tr). auto.
Qed.

(** Two runs of any trace from states that differ only in [v]'s secrets,
    along which [v] releases the same values, produce the same outputs
    (every status, result and exit record) and end in related states. *)
Theorem noninterference : forall tr v s t,
  Inv cfg (st_meta s) -> rel v s t -> declass_run v s t tr ->
  snd (run cfg s tr) = snd (run cfg t tr) /\ rel v (fst (run cfg s tr)) (fst (run cfg t tr)).
Proof.
  induction tr as [|a tr IH]; intros v s t I R D; simpl in D.
  - simpl. auto.
  - destruct D as [Da Dr]. destruct (ni_step v s t a I R Da) as [R1 O1].
    destruct (IH v _ _ (step_inv cfg s a I) R1 Dr) as [Os Rs].
    rewrite !run_cons. rewrite O1, Os. auto.
Qed.

(** The same from boot: two machines that differ only in what VM [v] keeps
    private (and in pages nobody owns) look the same to the host and to
    every other VM after any trace, up to what [v] releases. *)
Theorem noninterference_obs : forall tr v s t,
  Inv cfg (st_meta s) -> rel v s t -> declass_run v s t tr ->
  snd (run cfg s tr) = snd (run cfg t tr) /\
  obs_host_eq (fst (run cfg s tr)) (fst (run cfg t tr)) /\
  forall w, w <> v -> obs_vm_eq w (fst (run cfg s tr)) (fst (run cfg t tr)).
Proof.
  intros tr v s t I R D. destruct (noninterference tr v s t I R D) as [O Rf].
  pose proof (run_inv cfg tr s I) as If.
  split; [auto|split; [eapply rel_obs_host; eauto|intros; eapply rel_obs_vm; eauto]].
Qed.

(** In particular every named register ([vreg]) of every other VM, the
    switched FP/SIMD, timer and GIC state included, is the same in both. *)
Theorem noninterference_vregs : forall tr v s t,
  Inv cfg (st_meta s) -> rel v s t -> declass_run v s t tr ->
  forall w c (r : vreg), w <> v ->
  st_regs (fst (run cfg s tr)) w c (vreg_index r) = st_regs (fst (run cfg t tr)) w c (vreg_index r).
Proof.
  intros tr v s t I R D w c r Hw. destruct (noninterference tr v s t I R D) as [_ Rf].
  apply (rel_regs _ _ _ Rf). auto.
Qed.

(** The boot files release nothing of [v]: [declass] asks nothing of a
    host call, so FILE_INFO and FILE_READ answer the same in any two
    related states, and leave them related. What the host learns from
    them is the configuration's ([files]), which both states share:
    FILE_INFO's size and name, and the pages FILE_READ wrote
    ([file_read_contents]). *)
Theorem ni_boot_files : forall v s t i pa n c,
  Inv cfg (st_meta s) -> rel v s t -> c = HFileInfo i \/ c = HFileRead i pa n ->
  rel v (fst (step cfg s (AHost c))) (fst (step cfg t (AHost c))) /\
  snd (step cfg s (AHost c)) = snd (step cfg t (AHost c)).
Proof. intros v s t i pa n c Hi R _. apply ni_step; auto. exact I. Qed.

Theorem file_read_contents : forall s i pa n f p,
  nth_error (files cfg) i = Some f ->
  snd (step cfg s (AHost (HFileRead i pa n))) = ORet SUCCESS [f_size f] ->
  in_range p (pfn cfg pa) (file_pages cfg f) = true ->
  st_mem (fst (step cfg s (AHost (HFileRead i pa n)))) p = nth (p - pfn cfg pa) (f_pages f) 0.
Proof.
  intros s i pa n f p F O R. simpl in *. unfold file_read in *. rewrite F in *.
  destruct (negb _ || _); [discriminate|].
  destruct (first_range _ _ _); [discriminate|]. simpl. rewrite R. reflexivity.
Qed.

(** The boot states for two memory images related for [v]. *)
Lemma rel_init : forall v mem1 mem2,
  (forall p, hidden v (init_meta cfg) p = false -> mem1 p = mem2 p) ->
  rel v (init_state cfg mem1) (init_state cfg mem2).
Proof. intros. constructor; simpl; auto. Qed.

End NI.
