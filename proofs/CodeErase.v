(** * What a vCPU's own execution decides, erased

    [erase h] blanks, in every vCPU of the VM slots [h] picks, what the
    guest's own execution decides: its general registers, PC, PSTATE and
    EL1 system registers, the abort it is owed and its address, and the
    shape of the MMIO read it waits on. Two engines with the same erasure
    differ at most there: in the registers of those VMs.

    [sim h R m1 m2]: from two engines with the same erasure, whenever
    [m1] succeeds from the first, [m2] succeeds from the second with the
    same trace, a value related to [m1]'s by [R], and two engines that
    again have the same erasure. A call [m] with [sim h eq m m] answers,
    calls the platform and changes everything but those registers the
    same way whatever registers those vCPUs hold: the registers' half of
    noninterference for it ([hides_regs]).

    The proofs are relational: both runs are followed side by side, the
    values read through a place related by the place's erasure ([compat]),
    which field selection and indexing carry down the path; indexing the
    VM slots splits on whether [h] picks the slot. A value read from a
    register can be stored back into a register, but a branch on it, or a
    store of it anywhere else, leaves two runs the tactics cannot
    relate. *)
From Coq Require Import ZArith Lia List Bool.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
Import ListNotations Isolation.
Open Scope Z_scope.

(** ** Erasure *)

Definition erase_ctx (c : Context) : Context :=
  mk_Context (map (fun _ => 0) (Context_X c)) 0 0 (Context_VMID c) (Context_VCPU c) (Context_Fresh c)
    (Context_IRQ c) zero_Injection 0 (map (fun _ => 0) (Context_EL1 c)).

Definition erase_vcpu (x : vcpu) : vcpu :=
  mk_vcpu (vcpu_state x) (vcpu_pend x) zero_MMIORead (erase_ctx (vcpu_ctx x)).

Definition erase_vm (m : vm) : vm :=
  mk_vm (vm_live m) (vm_hasRun m) (vm_nvcpu m) (vm_s2 m) (map erase_vcpu (vm_vcpus m))
    (vm_shadow m) (vm_protected m).

(** The VM slots [h] picks, from slot [i] on, with their registers
    erased; the others as they are. *)
Fixpoint erase_vms (h : Z -> bool) (i : Z) (ms : list vm) : list vm :=
  match ms with
  | [] => []
  | m :: r => (if h i then erase_vm m else m) :: erase_vms h (i + 1) r
  end.

Definition erase (h : Z -> bool) (e : Engine) : Engine :=
  mk_Engine (Engine_cfg e) (Engine_plat e) (Engine_pool e) (Engine_pages e) (Engine_host e)
    (erase_vms h 0 (Engine_vms e)) (Engine_marks e).

(** What slot [i] of the VMs is erased by. *)
Definition slot_erasure (h : Z -> bool) (i : Z) : vm -> vm := if h i then erase_vm else id.

Section Erasure.
Context {h : Z -> bool}.

(** ** Places whose reads and writes respect an erasure

    [compat p f]: through [p], two engines with the same erasure read
    values with the same [f], and writing values with the same [f] leaves
    engines with the same erasure. Nil is compatible with anything: every
    access through it fails. *)
Definition compat {A} (p : ptr Engine A) (f : A -> A) : Prop :=
  match p with
  | Nil => True
  | Place ld st =>
      (forall s t a, erase h s = erase h t -> ld s = Some a -> exists b, ld t = Some b /\ f a = f b) /\
      (forall s t a b s', erase h s = erase h t -> f a = f b -> st a s = Some s' ->
         exists t', st b t = Some t' /\ erase h s' = erase h t')
  end.

Lemma compat_root : compat root (erase h).
Proof.
  split.
  - intros s t a E H. injection H as <-. exists t. auto.
  - intros s t a b s' E F H. injection H as <-. exists b. auto.
Qed.

(** A field [g] (with setter [sf]) of a record erased by [f] is erased by
    [f']. *)
Definition fcompat {A B} (f : A -> A) (g : A -> B) (sf : B -> A -> A) (f' : B -> B) : Prop :=
  (forall a b, f a = f b -> f' (g a) = f' (g b)) /\
  (forall a b c d, f a = f b -> f' c = f' d -> f (sf c a) = f (sf d b)).

Lemma fcompat_id : forall {A B} (g : A -> B) sf, fcompat id g sf id.
Proof. intros A B g sf. split; unfold id; intros; subst; reflexivity. Qed.

Lemma map_replace_nth : forall {A} (f : A -> A) n a xs, map f (replace_nth n a xs) = replace_nth n (f a) (map f xs).
Proof. intros A f n; induction n; intros a [|x xs]; cbn; f_equal; auto. Qed.

Lemma replace_nth_map_eq : forall {A} (f : A -> A) n a b xs ys, map f xs = map f ys -> f a = f b ->
  map f (replace_nth n a xs) = map f (replace_nth n b ys).
Proof. intros. rewrite !map_replace_nth. congruence. Qed.

Lemma len_map_eq : forall {A} (f : A -> A) xs ys, map f xs = map f ys -> len xs = len ys.
Proof. intros A f xs ys H. unfold len. rewrite <- (map_length f xs), <- (map_length f ys), H. reflexivity. Qed.

Lemma nth_error_map_eq : forall {A} (f : A -> A) xs ys n a, map f xs = map f ys -> nth_error xs n = Some a ->
  exists b, nth_error ys n = Some b /\ f a = f b.
Proof.
  intros A f xs ys n a H Ha.
  assert (E : nth_error (map f xs) n = nth_error (map f ys) n) by (rewrite H; reflexivity).
  rewrite !nth_error_map, Ha in E. destruct (nth_error ys n) as [b|]; [|discriminate E].
  injection E as E. eauto.
Qed.

(** ** Two runs side by side *)

Definition sim {A} (R : A -> A -> Prop) (m1 m2 : M Engine A) : Prop :=
  forall s t tr a s' tr', erase h s = erase h t -> m1 s tr = Ok a s' tr' ->
    exists b t', m2 t tr = Ok b t' tr' /\ R a b /\ erase h s' = erase h t'.

Lemma sim_ret : forall {A} (R : A -> A -> Prop) a b, R a b -> sim R (ret a) (ret b).
Proof. intros A R a b H s t tr a' s' tr' E Hr. injection Hr as <- <- <-. exists b, t. auto. Qed.

Lemma sim_fail : forall {A} (R : A -> A -> Prop) f m, sim R (fail f) m.
Proof. intros A R f m s t tr a s' tr' E H. discriminate H. Qed.

Lemma sim_bind_fail : forall {A B} (R : B -> B -> Prop) f (k : A -> M Engine B) m, sim R (bind (fail f) k) m.
Proof. intros A B R f k m s t tr a s' tr' E H. discriminate H. Qed.

Lemma bind_ret_l : forall {S A B} (a : A) (k : A -> M S B), bind (ret a) k = k a.
Proof. reflexivity. Qed.

Lemma sim_bind : forall {A B} (R : A -> A -> Prop) (R' : B -> B -> Prop) m1 m2 k1 k2,
  sim R m1 m2 -> (forall a b, R a b -> sim R' (k1 a) (k2 b)) -> sim R' (bind m1 k1) (bind m2 k2).
Proof.
  intros A B R R' m1 m2 k1 k2 Hm Hk s t tr a s' tr' E H. unfold bind in H |- *.
  destruct (m1 s tr) as [a1 s1 tr1|f] eqn:H1; [|discriminate H].
  destruct (Hm s t tr a1 s1 tr1 E H1) as (b1 & t1 & -> & R1 & E1).
  exact (Hk a1 b1 R1 s1 t1 tr1 a s' tr' E1 H).
Qed.

Lemma sim_bind_eq : forall {A B} (R' : B -> B -> Prop) (m1 m2 : M Engine A) k1 k2,
  sim eq m1 m2 -> (forall a, sim R' (k1 a) (k2 a)) -> sim R' (bind m1 k1) (bind m2 k2).
Proof. intros. eapply sim_bind; [eassumption|]. intros a b <-. auto. Qed.

Lemma sim_weaken : forall {A} (R R' : A -> A -> Prop) m1 m2, sim R m1 m2 -> (forall a b, R a b -> R' a b) -> sim R' m1 m2.
Proof.
  intros A R R' m1 m2 H W s t tr a s' tr' E H1.
  destruct (H s t tr a s' tr' E H1) as (b & t' & H2 & Rab & E'). exists b, t'. auto.
Qed.

(** A computation that reads nothing of the memory: the same on both. *)
Lemma sim_same : forall {A} (m : M Engine A), (forall s t tr, erase h s = erase h t ->
    match m s tr, m t tr with
    | Ok a s' tr', Ok b t' tr'' => a = b /\ tr' = tr'' /\ erase h s' = erase h t'
    | Fail _, _ => True
    | _, _ => False
    end) -> sim eq m m.
Proof.
  intros A m H s t tr a s' tr' E H1. specialize (H s t tr E). rewrite H1 in H.
  destruct (m t tr) as [b t' tr''|]; [|contradiction]. destruct H as (-> & -> & E'). eauto.
Qed.

Lemma sim_emit : forall m args, sim eq (@emit Engine m args) (emit m args).
Proof. intros m args. apply sim_same. intros s t tr E. cbn. auto. Qed.

Lemma sim_trace_now : sim eq (@trace_now Engine) trace_now.
Proof. apply sim_same. intros s t tr E. cbn. auto. Qed.

(** ** Access through a place *)

Lemma sim_deref : forall {A} (p : ptr Engine A) f, compat p f -> sim (fun a b => f a = f b) (deref p) (deref p).
Proof.
  intros A [|ld st] f Hc s t tr a s' tr' E H; [discriminate H|]. destruct Hc as [Hl _].
  cbn in H |- *. destruct (ld s) as [a1|] eqn:Hs; [|discriminate H]. injection H as <- <- <-.
  destruct (Hl s t a1 E Hs) as (b & -> & F). exists b, t. auto.
Qed.

Lemma sim_store : forall {A} (p : ptr Engine A) f a b, compat p f -> f a = f b -> sim eq (store p a) (store p b).
Proof.
  intros A [|ld st] f a b Hc F s t tr u s' tr' E H; [discriminate H|]. destruct Hc as [_ Hst].
  cbn in H |- *. destruct (st a s) as [s1|] eqn:Hs; [|discriminate H]. injection H as <- <- <-.
  destruct (Hst s t a b s1 E F Hs) as (t1 & -> & E1). exists tt, t1. auto.
Qed.

Lemma sim_pfield : forall {A B} (p : ptr Engine A) f (g : A -> B) sf f', compat p f -> fcompat f g sf f' ->
  sim (fun q q' => q = q' /\ compat q f') (pfield p g sf) (pfield p g sf).
Proof.
  intros A B [|ld st] f g sf f' Hc [Hg Hsf] s t tr q s' tr' E H; [discriminate H|].
  destruct Hc as [Hl Hst]. cbn in H |- *. injection H as <- <- <-.
  eexists _, t. split; [reflexivity|]. split; [|exact E]. split; [reflexivity|]. split.
  - intros s1 t1 a E1 H1. destruct (ld s1) as [x|] eqn:Hx; [|discriminate H1]. cbn in H1. injection H1 as <-.
    destruct (Hl s1 t1 x E1 Hx) as (y & Hy & F). rewrite Hy. cbn. eauto.
  - intros s1 t1 a b s2 E1 F H1. destruct (ld s1) as [x|] eqn:Hx; [|discriminate H1].
    destruct (Hl s1 t1 x E1 Hx) as (y & Hy & Fxy). rewrite Hy.
    eapply Hst; [exact E1| |exact H1]. apply Hsf; assumption.
Qed.

Lemma sim_pindex : forall {A} (p : ptr Engine (list A)) (g : A -> A) i, compat p (map g) ->
  sim (fun q q' => q = q' /\ compat q g) (pindex p i) (pindex p i).
Proof.
  intros A p g i Hc. unfold pindex. eapply sim_bind; [apply (sim_deref p _ Hc)|]. intros xs ys Hxy.
  rewrite <- (len_map_eq g xs ys Hxy).
  destruct ((i <? 0) || (len xs <=? i)); [apply sim_fail|].
  destruct p as [|ld st]; [apply sim_fail|]. destruct Hc as [Hl Hst].
  apply sim_ret. split; [reflexivity|]. split.
  - intros s1 t1 a E1 H1. destruct (ld s1) as [x|] eqn:Hx; [|discriminate H1].
    destruct (Hl s1 t1 x E1 Hx) as (y & Hy & F). rewrite Hy. exact (nth_error_map_eq g x y _ a F H1).
  - intros s1 t1 a b s2 E1 F H1. destruct (ld s1) as [x|] eqn:Hx; [|discriminate H1].
    destruct (Hl s1 t1 x E1 Hx) as (y & Hy & Fxy). rewrite Hy.
    rewrite <- (len_map_eq g x y Fxy). destruct (len x <=? i); [discriminate H1|].
    eapply Hst; [exact E1| |exact H1]. apply replace_nth_map_eq; assumption.
Qed.

(** A place into memory no erasure touches. *)
Lemma compat_id_map : forall {A} (p : ptr Engine (list A)), compat p id -> compat p (map id).
Proof.
  intros A [|ld st] Hc; [exact I|]. destruct Hc as [Hl Hst]. split.
  - intros s t a E H. destruct (Hl s t a E H) as (b & Hb & F). exists b. unfold id in F. subst b. rewrite !map_id. auto.
  - intros s t a b s' E F H. rewrite !map_id in F. exact (Hst s t a b s' E F H).
Qed.

(** Each field on a path to a register, and every other field of a
    record on such a path, which its erasure keeps. *)
Ltac fcompat_tac :=
  split; intros [] []; intros; unfold erase, erase_vm, erase_vcpu, erase_ctx, id in *; cbn in *;
  repeat match goal with H : _ = _ |- _ => injection H; clear H; intros end;
  subst; first [congruence | f_equal; congruence].

Lemma fc_cfg : fcompat (erase h) Engine_cfg set_Engine_cfg id. Proof. fcompat_tac. Qed.
Lemma fc_plat : fcompat (erase h) Engine_plat set_Engine_plat id. Proof. fcompat_tac. Qed.
Lemma fc_pool : fcompat (erase h) Engine_pool set_Engine_pool id. Proof. fcompat_tac. Qed.
Lemma fc_pages : fcompat (erase h) Engine_pages set_Engine_pages id. Proof. fcompat_tac. Qed.
Lemma fc_host : fcompat (erase h) Engine_host set_Engine_host id. Proof. fcompat_tac. Qed.
Lemma fc_vms : fcompat (erase h) Engine_vms set_Engine_vms (erase_vms h 0). Proof. fcompat_tac. Qed.
Lemma fc_marks : fcompat (erase h) Engine_marks set_Engine_marks id. Proof. fcompat_tac. Qed.
Lemma fc_live : fcompat erase_vm vm_live set_vm_live id. Proof. fcompat_tac. Qed.
Lemma fc_hasRun : fcompat erase_vm vm_hasRun set_vm_hasRun id. Proof. fcompat_tac. Qed.
Lemma fc_nvcpu : fcompat erase_vm vm_nvcpu set_vm_nvcpu id. Proof. fcompat_tac. Qed.
Lemma fc_s2 : fcompat erase_vm vm_s2 set_vm_s2 id. Proof. fcompat_tac. Qed.
Lemma fc_vcpus : fcompat erase_vm vm_vcpus set_vm_vcpus (map erase_vcpu). Proof. fcompat_tac. Qed.
Lemma fc_shadow : fcompat erase_vm vm_shadow set_vm_shadow id. Proof. fcompat_tac. Qed.
Lemma fc_protected : fcompat erase_vm vm_protected set_vm_protected id. Proof. fcompat_tac. Qed.
Lemma fc_state : fcompat erase_vcpu vcpu_state set_vcpu_state id. Proof. fcompat_tac. Qed.
Lemma fc_pend : fcompat erase_vcpu vcpu_pend set_vcpu_pend id. Proof. fcompat_tac. Qed.
Lemma fc_read : fcompat erase_vcpu vcpu_read set_vcpu_read (fun _ => zero_MMIORead). Proof. fcompat_tac. Qed.
Lemma fc_ctx : fcompat erase_vcpu vcpu_ctx set_vcpu_ctx erase_ctx. Proof. fcompat_tac. Qed.
Lemma fc_X : fcompat erase_ctx Context_X set_Context_X (map (fun _ => 0)). Proof. fcompat_tac. Qed.
Lemma fc_PC : fcompat erase_ctx Context_PC set_Context_PC (fun _ => 0). Proof. fcompat_tac. Qed.
Lemma fc_PState : fcompat erase_ctx Context_PState set_Context_PState (fun _ => 0). Proof. fcompat_tac. Qed.
Lemma fc_VMID : fcompat erase_ctx Context_VMID set_Context_VMID id. Proof. fcompat_tac. Qed.
Lemma fc_VCPU : fcompat erase_ctx Context_VCPU set_Context_VCPU id. Proof. fcompat_tac. Qed.
Lemma fc_Fresh : fcompat erase_ctx Context_Fresh set_Context_Fresh id. Proof. fcompat_tac. Qed.
Lemma fc_IRQ : fcompat erase_ctx Context_IRQ set_Context_IRQ id. Proof. fcompat_tac. Qed.
Lemma fc_Inject : fcompat erase_ctx Context_Inject set_Context_Inject (fun _ => zero_Injection). Proof. fcompat_tac. Qed.
Lemma fc_InjectFAR : fcompat erase_ctx Context_InjectFAR set_Context_InjectFAR (fun _ => 0). Proof. fcompat_tac. Qed.
Lemma fc_EL1 : fcompat erase_ctx Context_EL1 set_Context_EL1 (map (fun _ => 0)). Proof. fcompat_tac. Qed.


(** ** Sequences read from related values *)

Lemma sim_idx : forall {A} (g : A -> A) xs ys i, map g xs = map g ys ->
  sim (fun a b => g a = g b) (idx xs i) (idx ys i).
Proof.
  intros A g xs ys i H. unfold idx. destruct (i <? 0); [apply sim_fail|].
  destruct (nth_error xs (Z.to_nat i)) as [a|] eqn:Ha; [|apply sim_fail].
  destruct (nth_error_map_eq g xs ys _ a H Ha) as (b & -> & F). apply sim_ret. exact F.
Qed.

Lemma sim_idx_same : forall {A} (xs : list A) i, sim eq (idx xs i) (idx xs i).
Proof.
  intros A xs i. unfold idx. destruct (i <? 0); [apply sim_fail|].
  destruct (nth_error xs (Z.to_nat i)); [apply sim_ret; reflexivity|apply sim_fail].
Qed.

Lemma sim_subslice : forall {A} (g : A -> A) xs ys lo hi, map g xs = map g ys ->
  sim (fun a b => map g a = map g b) (subslice xs lo hi) (subslice ys lo hi).
Proof.
  intros A g xs ys lo hi H. unfold subslice. rewrite <- (len_map_eq g xs ys H).
  destruct ((lo <? 0) || (hi <? lo) || (len xs <? hi)); [apply sim_fail|]. apply sim_ret.
  rewrite <- !firstn_map, <- !skipn_map, H. reflexivity.
Qed.

(** ** The VM slots *)

Lemma erase_vms_length : forall i xs ys, erase_vms h i xs = erase_vms h i ys -> length xs = length ys.
Proof.
  intros i xs; revert i; induction xs as [|x xs IH]; intros i [|y ys] H; cbn in H; try discriminate H; [reflexivity|].
  injection H as _ H. cbn. f_equal. exact (IH _ _ H).
Qed.

Lemma len_erase_vms : forall xs ys, erase_vms h 0 xs = erase_vms h 0 ys -> len xs = len ys.
Proof. intros xs ys H. unfold len. rewrite (erase_vms_length 0 xs ys H). reflexivity. Qed.

Lemma erase_vms_nth : forall n i xs ys a, erase_vms h i xs = erase_vms h i ys -> nth_error xs n = Some a ->
  exists b, nth_error ys n = Some b /\ slot_erasure h (i + Z.of_nat n) a = slot_erasure h (i + Z.of_nat n) b.
Proof.
  induction n as [|n IH]; intros i [|x xs] [|y ys] a H Ha; cbn in H, Ha; try discriminate.
  - injection Ha as <-. injection H as Hxy _. exists y. split; [reflexivity|]. rewrite Z.add_0_r.
    unfold slot_erasure. destruct (h i); exact Hxy.
  - injection H as _ H. destruct (IH _ _ _ a H Ha) as (b & Hb & F). exists b. split; [exact Hb|].
    replace (i + Z.of_nat (S n)) with (i + 1 + Z.of_nat n) by lia. exact F.
Qed.

Lemma erase_vms_replace : forall n i xs ys a b, erase_vms h i xs = erase_vms h i ys ->
  slot_erasure h (i + Z.of_nat n) a = slot_erasure h (i + Z.of_nat n) b ->
  erase_vms h i (replace_nth n a xs) = erase_vms h i (replace_nth n b ys).
Proof.
  induction n as [|n IH]; intros i [|x xs] [|y ys] a b H F; cbn in H |- *; try discriminate; try reflexivity.
  - injection H as _ H. rewrite Z.add_0_r in F. unfold slot_erasure in F. f_equal; [destruct (h i); exact F|exact H].
  - injection H as Hxy H. f_equal; [exact Hxy|]. apply IH; [exact H|].
    replace (i + 1 + Z.of_nat n) with (i + Z.of_nat (S n)) by lia. exact F.
Qed.

Lemma sim_pindex_vms : forall (p : ptr Engine (list vm)) i, compat p (erase_vms h 0) ->
  sim (fun q q' => q = q' /\ compat q (slot_erasure h i)) (pindex p i) (pindex p i).
Proof.
  intros p i Hc. unfold pindex. eapply sim_bind; [apply (sim_deref p _ Hc)|]. intros xs ys Hxy.
  rewrite <- (len_erase_vms xs ys Hxy).
  destruct ((i <? 0) || (len xs <=? i)) eqn:Hi; [apply sim_fail|].
  apply orb_false_iff in Hi as [Hi _]. apply Z.ltb_ge in Hi.
  destruct p as [|ld st]; [apply sim_fail|]. destruct Hc as [Hl Hst].
  apply sim_ret. split; [reflexivity|]. split.
  - intros s1 t1 a E1 H1. destruct (ld s1) as [x|] eqn:Hx; [|discriminate H1].
    destruct (Hl s1 t1 x E1 Hx) as (y & Hy & F). rewrite Hy.
    destruct (erase_vms_nth _ 0 x y a F H1) as (b & Hb & G). rewrite Z2Nat.id in G by lia. eauto.
  - intros s1 t1 a b s2 E1 F H1. destruct (ld s1) as [x|] eqn:Hx; [|discriminate H1].
    destruct (Hl s1 t1 x E1 Hx) as (y & Hy & Fxy). rewrite Hy.
    rewrite <- (len_erase_vms x y Fxy). destruct (len x <=? i); [discriminate H1|].
    eapply Hst; [exact E1| |exact H1]. apply erase_vms_replace; [exact Fxy|].
    rewrite Z2Nat.id by lia. exact F.
Qed.

Lemma sim_idx_vms : forall xs ys i, erase_vms h 0 xs = erase_vms h 0 ys ->
  sim (fun a b => slot_erasure h i a = slot_erasure h i b) (idx xs i) (idx ys i).
Proof.
  intros xs ys i H. unfold idx. destruct (i <? 0) eqn:Hi; [apply sim_fail|]. apply Z.ltb_ge in Hi.
  destruct (nth_error xs (Z.to_nat i)) as [a|] eqn:Ha; [|apply sim_fail].
  destruct (erase_vms_nth _ 0 xs ys a H Ha) as (b & -> & F). apply sim_ret.
  rewrite Z2Nat.id in F by lia. exact F.
Qed.

(** ** Loops

    A loop's locals are equal in the two runs; what a loop leaves with
    may carry places, whose compatibility [P] says. *)

Definition step_ok {L X} (P : X -> Prop) (r : step L X) : Prop := match r with Leave x => P x | _ => True end.
Definition join_ok {L X} (P : X -> Prop) (j : join L X) : Prop := match j with Jump x => P x | _ => True end.
Definition sum_ok {L X} (P : X -> Prop) (r : L + X) : Prop := match r with inr x => P x | _ => True end.

Lemma sim_rep : forall {L R} (P : R -> Prop) p (f1 f2 : L -> M Engine (L + R)),
  (forall l, sim (fun r r' => r = r' /\ sum_ok P r) (f1 l) (f2 l)) ->
  forall l, sim (fun r r' => r = r' /\ sum_ok P r) (rep p f1 l) (rep p f2 l).
Proof.
  intros L R P p f1 f2 Hf. induction p as [p IH|p IH|]; intros l; cbn [rep].
  - eapply sim_bind; [apply Hf|]. intros [l'|x] r' [<- Hx]; [|apply sim_ret; auto].
    eapply sim_bind; [apply IH|]. intros [l''|x] r'' [<- Hx']; [apply IH|apply sim_ret; auto].
  - eapply sim_bind; [apply IH|]. intros [l'|x] r' [<- Hx]; [apply IH|apply sim_ret; auto].
  - apply Hf.
Qed.

Lemma sim_loop_P : forall {L X} (P : X -> Prop) fuel (c1 c2 : L -> M Engine bool) (b1 b2 : L -> M Engine (step L X)) p1 p2 l,
  (forall l, sim eq (c1 l) (c2 l)) -> (forall l, sim (fun r r' => r = r' /\ step_ok P r) (b1 l) (b2 l)) ->
  (forall l, sim eq (p1 l) (p2 l)) ->
  sim (fun j j' => j = j' /\ join_ok P j) (loop fuel c1 b1 p1 l) (loop fuel c2 b2 p2 l).
Proof.
  intros L X P fuel c1 c2 b1 b2 p1 p2 l Hc Hb Hp. unfold loop.
  eapply sim_bind.
  - apply (sim_rep (join_ok P)). intros l'. eapply sim_bind_eq; [apply Hc|]. intros c.
    destruct (negb c); [apply sim_ret; cbn; auto|].
    eapply sim_bind; [apply Hb|]. intros [l1|l1|x] r [<- Hr].
    + eapply sim_bind_eq; [apply Hp|]. intros l2. apply sim_ret. cbn. auto.
    + apply sim_ret. cbn. auto.
    + apply sim_ret. cbn. auto.
  - intros [l'|j] r [<- Hr]; [|apply sim_ret; auto].
    eapply sim_bind_eq; [apply Hc|]. intros c. destruct c; [apply sim_fail|apply sim_ret; cbn; auto].
Qed.

Lemma sim_loop : forall {L X} fuel (c1 c2 : L -> M Engine bool) (b1 b2 : L -> M Engine (step L X)) p1 p2 l,
  (forall l, sim eq (c1 l) (c2 l)) -> (forall l, sim eq (b1 l) (b2 l)) -> (forall l, sim eq (p1 l) (p2 l)) ->
  sim eq (loop fuel c1 b1 p1 l) (loop fuel c2 b2 p2 l).
Proof.
  intros L X fuel c1 c2 b1 b2 p1 p2 l Hc Hb Hp.
  eapply sim_weaken; [apply (sim_loop_P (fun _ => True)); auto|].
  - intros l'. eapply sim_weaken; [apply Hb|]. intros r r' <-. split; [reflexivity|]. destruct r; exact I.
  - intros j j' [E _]. exact E.
Qed.

End Erasure.

(** The registers' half of noninterference for a call. *)
Definition hides_regs (h : Z -> bool) {A} (m : M Engine A) : Prop := @sim h A eq m m.

Theorem hides_regs_runs : forall h {A} (m : M Engine A) s t tr a s' b t' tr1 tr2, hides_regs h m ->
  erase h s = erase h t -> m s tr = Ok a s' tr1 -> m t tr = Ok b t' tr2 ->
  b = a /\ tr2 = tr1 /\ erase h t' = erase h s'.
Proof.
  intros h A m s t tr a s' b t' tr1 tr2 H E H1 H2.
  destruct (H s t tr a s' tr1 E H1) as (b' & t'' & H2' & <- & E').
  rewrite H2 in H2'. injection H2' as -> -> ->. auto.
Qed.


Global Hint Resolve fc_cfg fc_plat fc_pool fc_pages fc_host fc_vms fc_marks fc_live fc_hasRun fc_nvcpu fc_s2
  fc_vcpus fc_shadow fc_protected fc_state fc_pend fc_read fc_ctx fc_X fc_PC fc_PState fc_VMID fc_VCPU
  fc_Fresh fc_IRQ fc_Inject fc_InjectFAR fc_EL1 fcompat_id : fcompat.

(** ** Following two runs

    [sim_go] follows two runs of the same code from engines with the same
    erasure: the values a place's read gives the two runs are split into
    their fields, those the erasure keeps made one ([split_erased]), the
    rest kept apart, related by their erasure; a call whose lemma is in
    the [simcall] database is taken as a step. *)
Ltac cbn_fields H :=
  cbn [Engine_cfg Engine_plat Engine_pool Engine_pages Engine_host Engine_vms Engine_marks
       vm_live vm_hasRun vm_nvcpu vm_s2 vm_vcpus vm_shadow vm_protected
       vcpu_state vcpu_pend vcpu_read vcpu_ctx
       Context_X Context_PC Context_PState Context_VMID Context_VCPU Context_Fresh Context_IRQ
       Context_Inject Context_InjectFAR Context_EL1] in H.

Ltac split_erased :=
  repeat match goal with
  | H : erase ?h ?a = erase ?h ?b |- _ => is_var a; is_var b; destruct a, b; unfold erase in H; cbn_fields H;
      injection H; clear H; intros; subst
  | H : erase_vm ?a = erase_vm ?b |- _ => is_var a; is_var b; destruct a, b; unfold erase_vm in H; cbn_fields H;
      injection H; clear H; intros; subst
  | H : erase_vcpu ?a = erase_vcpu ?b |- _ => is_var a; is_var b; destruct a, b; unfold erase_vcpu in H; cbn_fields H;
      injection H; clear H; intros; subst
  | H : Context_IRQ ?a = Context_IRQ ?b |- _ => is_var a; is_var b; destruct a, b; cbn_fields H;
      cbn [Context_X Context_PC Context_PState Context_VMID Context_VCPU Context_Fresh Context_IRQ
           Context_Inject Context_InjectFAR Context_EL1] in *; subst
  | H : erase_ctx ?a = erase_ctx ?b |- _ => is_var a; is_var b; destruct a, b; unfold erase_ctx in H; cbn_fields H;
      injection H; clear H; intros; subst
  end;
  cbn [Engine_cfg Engine_plat Engine_pool Engine_pages Engine_host Engine_vms Engine_marks
       vm_live vm_hasRun vm_nvcpu vm_s2 vm_vcpus vm_shadow vm_protected
       vcpu_state vcpu_pend vcpu_read vcpu_ctx
       Context_X Context_PC Context_PState Context_VMID Context_VCPU Context_Fresh Context_IRQ
       Context_Inject Context_InjectFAR Context_EL1] in *;
  repeat match goal with
  | H : map ?g ?x = map ?g ?y |- context [len ?y] => rewrite <- (len_map_eq g x y H)
  | H : erase_vms _ 0 ?x = erase_vms _ 0 ?y |- context [len ?y] => rewrite <- (len_erase_vms x y H)
  end.

(** The lemmas about the functions runs call, found by the function's
    name alone: no function is unfolded to match another's lemma. *)
Create HintDb simcall discriminated.
Global Hint Constants Opaque : simcall.

(** What [sim_bind] relates, made usable. *)
Ltac sim_rel H :=
  cbv beta in H;
  lazymatch type of H with
  | _ = _ /\ _ => let Hc := fresh "Hc" in destruct H as [<- Hc];
      (* a place into a VM slot: whether the slot is erased *)
      repeat match type of Hc with context [slot_erasure ?h ?i] =>
        unfold slot_erasure in Hc; destruct (h i) eqn:?; cbv iota in Hc end
  | slot_erasure ?h ?i _ = _ => unfold slot_erasure in H; destruct (h i) eqn:?; cbv beta iota in H; sim_rel H
  | id ?a = id ?b => unfold id in H; subst b
  | ?a = ?a => clear H
  | ?a = ?b => first [is_var b; subst b | split_erased]
  | _ => idtac
  end.

Ltac sim_first :=
  lazymatch goal with
  | |- sim _ (deref ?p) _ =>
      lazymatch goal with Hc : compat p _ |- _ => exact (sim_deref p _ Hc) end
  | |- sim _ (pfield ?p _ _) _ =>
      lazymatch goal with Hc : compat p _ |- _ => eapply (sim_pfield p _ _ _ _ Hc); eauto with fcompat end
  | |- sim _ (pindex ?p _) _ =>
      lazymatch goal with Hc : compat p _ |- _ =>
        first [exact (sim_pindex_vms p _ Hc) | exact (sim_pindex p _ _ Hc) | exact (sim_pindex p _ _ (compat_id_map p Hc))] end
  | |- sim _ (store ?p _) _ =>
      lazymatch goal with Hc : compat p _ |- _ => apply (sim_store p _ _ _ Hc); reflexivity end
  | |- sim _ (idx ?xs _) (idx ?xs _) => apply sim_idx_same
  | |- sim _ (idx ?xs _) (idx ?ys _) =>
      lazymatch goal with
      | H : map ?g xs = map ?g ys |- _ => exact (sim_idx g xs ys _ H)
      | H : erase_vms _ 0 xs = erase_vms _ 0 ys |- _ => exact (sim_idx_vms xs ys _ H)
      end
  | |- sim _ (subslice ?xs _ _) (subslice ?ys _ _) =>
      lazymatch goal with H : map ?g xs = map ?g ys |- _ => exact (sim_subslice g xs ys _ _ H) end
  | |- sim _ (emit _ _) _ => apply sim_emit
  | |- sim _ trace_now _ => apply sim_trace_now
  | |- _ => solve [eauto with simcall]
  end.

Ltac head_of t := lazymatch t with ?f _ => head_of f | _ => t end.

(** The values two runs return: equal, and the places among them
    compatible. *)
Ltac sim_close :=
  cbn [fst snd step_ok join_ok] in *; repeat split; try reflexivity; try assumption; try exact I;
  try (unfold slot_erasure;
       repeat match goal with
       | E : ?h ?i = true |- context [?h ?i] => rewrite E
       | E : ?h ?i = false |- context [?h ?i] => rewrite E
       end; cbv iota; assumption).

Ltac sim_go :=
  repeat (cbv beta iota zeta;
  match goal with
  | E1 : ?x = true, E2 : ?x = false |- _ => exfalso; congruence
  | E : true = false |- _ => discriminate E
  | |- sim _ (bind (fail _) _) _ => apply sim_bind_fail
  | |- sim _ (bind (ret ?a) ?k1) (bind (ret ?b) ?k2) => rewrite (bind_ret_l a k1); try rewrite (bind_ret_l b k2)
  | |- sim ?R (bind (loop _ _ _ _ _) _) (bind (loop _ _ _ _ _) _) =>
      (* a loop that leaves with what the code returns: the places in it *)
      eapply sim_bind; [apply (sim_loop_P (fun x => R x x)); intros; solve [sim_go]|];
      let j := fresh "j" in let j' := fresh "j" in let H := fresh "H" in intros j j' [<- H]
  | |- sim _ (bind ?m1 _) (bind ?m2 _) =>
      first [ eapply sim_bind; [sim_first|]; let a := fresh "a" in let b := fresh "b" in let H := fresh "H" in
              intros a b H; sim_rel H
            | eapply sim_bind_eq; [solve [sim_go]|]; intros ]
  | |- sim _ (ret _) (ret _) => apply sim_ret; sim_close
  | |- sim _ (fail _) _ => apply sim_fail
  | |- sim _ (if ?c then _ else _) (if ?c then _ else _) => destruct c
  | |- sim _ (match ?x with _ => _ end) _ => destruct x; cbn [fst snd step_ok join_ok] in *;
      repeat match goal with H : _ /\ _ |- _ => destruct H end
  | |- sim _ (loop _ _ _ _ _) (loop _ _ _ _ _) => apply sim_loop; intros
  | |- sim _ _ _ => sim_first
  | |- sim _ ?m _ => let f := head_of m in
      lazymatch f with
      | @bind => fail | @ret => fail | @deref => fail | @store => fail | @pfield => fail | @pindex => fail
      | _ => unfold f
      end
  end).

(** Outside the tactics, the erasure is named. *)
Arguments compat h {A} p f.
Arguments sim h {A} R m1 m2.
