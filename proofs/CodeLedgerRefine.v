(** * The ledger after MEM_DONATE, MEM_SHARE and MEM_RECLAIM

    Functional correctness of three host memory calls, for the ledger, as
    partial correctness. Whenever the translated call (proofs/code/
    Isolation.v, the translation of isolation/mem.go) returns SUCCESS, the
    model's step ([Spec.mem_donate], [Spec.mem_share], [Spec.mem_reclaim])
    succeeds too, from a model state whose page metadata ([ms_pages]) is
    the ledger's abstraction ([CodeAbsLedger.abs_pages]) of the engine the
    call was given, and the page metadata of the state it returns is, page
    by page, the abstraction of the engine the call returned; that engine
    keeps its configuration and a ledger covering RAM ([ledger_ok]).

    First what a computation may change. [frame R P m] says that whenever
    [m] returns, its result satisfies [P] and the memory it returns is
    [R]-related to the one it was given. Every construct of the runtime
    keeps any preorder [R], but a store, which keeps it when made through
    a place whose stores keep [R] ([ptr_in]); [framed] proves [frame] of
    a function by taking it apart, as [CodeTrace.grow] proves [grows], and
    keeps with every pointer it binds the fact that stores through it keep
    [R]. The stage-2 update
    stores through the [slot] pointers [Engine.slot] makes into the table
    pool, which [update] passes to [replaceLeaf], [clearEntry] and
    [descend]: the property lifted through their fixpoint holds of these
    for a [slot] whose stores change the pool alone. So [Engine.update],
    at any depth, from the root, changes nothing but [Engine_pool]
    ([update_pool]), nor do [mapRange] and [unmapRange] of any stage-2
    place, which they only read ([mapRange_pool], [unmapRange_pool]);
    [need], [mapNeed] and [unmapNeed] change nothing, in any memory
    ([need_same], [mapNeed_same], [unmapNeed_same]), and a call through
    the Platform interface changes only the trace ([call_iface_same]). The
    ledger's abstraction does not read the pool.

    Then the calls, taken apart from their checks on: MEM_DONATE's checks
    ([CodeTransferRefine.MemDonate_checks_refine]), the reservation (reads
    only), the host stage-2's [unmapRange] (the pool only), the clean (the
    trace only), the ledger's commit ([CodeAbsLedger.setOwner_abs]), the
    VM's [mapRange] (the pool only). MEM_SHARE writes the share flag and
    the borrower in a loop of its own, which is [setShared]'s loop with the
    flag set and the VM as the borrower ([CodeAbsLedger.setShared_abs]);
    the checks passed, so each page was the host's and stays so. MEM_RECLAIM
    is taken apart the same way from [CodeMemCall.MemReclaim_checks_refine],
    with [setOwner] to the host.

    What is assumed: the hypotheses of the theorems about the checks
    ([mem_ok], [reclaim_ok], [owners_ok], [cfg_rel], the page metadata as
    the abstraction, and, standing for the VM part of the abstraction that
    is not defined yet, [vms_rel] and [s2_rel]), and, for MEM_DONATE and
    MEM_SHARE, one more: the engine has at most 255 VM slots, as
    [Config.validate] requires (MaxVMsLimit: VMIDs are 8 bits). The ledger
    keeps a VM id in 8 bits ([uint8]), so the code's owner or borrower is
    the model's VM only below 256; no existing invariant bounds the slots.

    Not covered: the other components of the model's state (the host
    stage-2 [ms_hs2], the VM's stage-2, memory contents); MEM_UNSHARE, whose
    commit walks the VM's stage-2 run by run ([nextRun]) while [unmapRange]
    changes it, so its proof needs what [unmapRange] does to a stage-2's
    translation and an abstraction of the VM stage-2 that says which page
    an IPA maps to, which [s2_rel] does not; and that the calls reach
    SUCCESS at all. *)
From Coq Require Import ZArith Lia List Bool Arith String RelationClasses.
From Bulkhead.Spec Require Import State Spec.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodePlace CodeTrack CodeLens CodeLoop CodeLedger CodeAbi CodeVCPU CodeVMCreate
  CodeStage2 CodeTransfer CodeAbsLedger CodeMemCall CodeTransferRefine CodeTrace.
Import ListNotations.
Open Scope Z_scope.

(** ** What a computation may change *)

(** [frame R P m]: whenever [m] returns, its result satisfies [P] and the
    memory it returns is related by [R] to the one it was given. *)
Definition frame {S A} (R : S -> S -> Prop) (P : A -> Prop) (m : M S A) : Prop :=
  forall s t a s' t', m s t = Ok a s' t' -> P a /\ R s s'.

(** A place every store through which keeps the memory [R]-related. *)
Definition ptr_in {S A} (R : S -> S -> Prop) (p : ptr S A) : Prop :=
  match p with Nil => True | Place _ st => forall b s s', st b s = Some s' -> R s s' end.

Definition any {A} (_ : A) : Prop := True.

(** A pair of places every store through which keeps [R] ([vcpuOf]). *)
Definition pair_in {S A B} (R : S -> S -> Prop) (p : ptr S A * ptr S B) : Prop := ptr_in R (fst p) /\ ptr_in R (snd p).

Section Rules.
Context {S : Type} (R : S -> S -> Prop) {HR : PreOrder R}.

Lemma frame_ret : forall {A} (P : A -> Prop) a, P a -> frame R P (ret a).
Proof. intros A P a Ha s t b s' t' H. injection H as <- <- _. split; [exact Ha|reflexivity]. Qed.

Lemma frame_fail : forall {A} (P : A -> Prop) f, frame R P (fail f).
Proof. intros A P f s t b s' t' H. discriminate H. Qed.

Lemma frame_bind : forall {A B} (P : A -> Prop) (Q : B -> Prop) (m : M S A) (f : A -> M S B),
  frame R P m -> (forall a, P a -> frame R Q (f a)) -> frame R Q (bind m f).
Proof.
  intros A B P Q m f Hm Hf s t b s' t' H. unfold bind in H.
  destruct (m s t) as [a s1 t1|] eqn:E; [|discriminate H].
  destruct (Hm _ _ _ _ _ E) as [Ha H1]. destruct (Hf a Ha _ _ _ _ _ H) as [Hb H2].
  split; [exact Hb|]. transitivity s1; assumption.
Qed.

Lemma frame_emit : forall m args, frame R any (emit m args).
Proof. intros m args s t b s' t' H. injection H as _ <- _. split; [exact I|reflexivity]. Qed.

Lemma frame_trace_now : frame R any trace_now.
Proof. intros s t b s' t' H. injection H as _ <- _. split; [exact I|reflexivity]. Qed.

Lemma frame_deref : forall {A} (p : ptr S A), frame R any (deref p).
Proof.
  intros A [|ld st] s t b s' t' H; cbn in H; [discriminate H|].
  destruct (ld s); [injection H as _ <- _; split; [exact I|reflexivity]|discriminate H].
Qed.

Lemma frame_store : forall {A} (p : ptr S A) a, ptr_in R p -> frame R any (store p a).
Proof.
  intros A [|ld st] a Hp s t b s' t' H; cbn in H; [discriminate H|].
  destruct (st a s) eqn:E; [injection H as _ <- _; split; [exact I|exact (Hp _ _ _ E)]|discriminate H].
Qed.

Lemma frame_pfield : forall {A B} (p : ptr S A) (g : A -> B) st, frame R any (pfield p g st).
Proof.
  intros A B [|ld st0] g st s t b s' t' H; cbn in H; [discriminate H|].
  injection H as _ <- _. split; [exact I|reflexivity].
Qed.

Lemma frame_pfield_ptr : forall {A B} (p : ptr S A) (g : A -> B) st, ptr_in R p -> frame R (ptr_in R) (pfield p g st).
Proof.
  intros A B [|ld st0] g st Hp s t b s' t' H; cbn in H; [discriminate H|].
  injection H as <- <- _. split; [|reflexivity]. cbn. intros c s1 s2 E.
  destruct (ld s1); [exact (Hp _ _ _ E)|discriminate E].
Qed.

Lemma frame_pindex : forall {A} (p : ptr S (list A)) i, frame R any (pindex p i).
Proof.
  intros A p i s t b s' t' H. unfold pindex in H. apply bind_inv in H as (xs & s1 & t1 & Hd & H).
  destruct (frame_deref p _ _ _ _ _ Hd) as [_ H1].
  destruct ((i <? 0) || (len xs <=? i)); [discriminate H|].
  destruct p as [|ld st]; [discriminate H|]. injection H as _ <- _. split; [exact I|exact H1].
Qed.

Lemma frame_pindex_ptr : forall {A} (p : ptr S (list A)) i, ptr_in R p -> frame R (ptr_in R) (pindex p i).
Proof.
  intros A p i Hp s t b s' t' H. unfold pindex in H. apply bind_inv in H as (xs & s1 & t1 & Hd & H).
  destruct (frame_deref p _ _ _ _ _ Hd) as [_ H1].
  destruct ((i <? 0) || (len xs <=? i)); [discriminate H|].
  destruct p as [|ld st]; [discriminate H|]. injection H as <- <- _. split; [|exact H1].
  cbn. intros c s2 s3 E. destruct (ld s2) as [ys|]; [|discriminate E].
  destruct (len ys <=? i); [discriminate E|exact (Hp _ _ _ E)].
Qed.

Lemma frame_call_iface : forall {O} (p : iface O) m args, frame R any (call_iface p m args).
Proof.
  intros O p m args s t b s' t' H. unfold call_iface in H. destruct (is_set p); [|discriminate H].
  exact (frame_emit m args _ _ _ _ _ H).
Qed.

Lemma frame_get_platform : forall {O} (p : iface O), frame R any (get_platform p).
Proof.
  intros O [o|] s t b s' t' H; cbn in H; [injection H as _ <- _; split; [exact I|reflexivity]|discriminate H].
Qed.

Lemma frame_rep : forall {L X} p (f : L -> M S (L + X)), (forall l, frame R any (f l)) -> forall l, frame R any (rep p f l).
Proof.
  intros L X p f Hf. induction p as [p IH|p IH|]; intros l; cbn [rep].
  - apply (frame_bind any); [apply Hf|]. intros [l'|x] _.
    + apply (frame_bind any); [apply IH|]. intros [l''|y] _; [apply IH|apply frame_ret; exact I].
    + apply frame_ret. exact I.
  - apply (frame_bind any); [apply IH|]. intros [l'|x] _; [apply IH|apply frame_ret; exact I].
  - apply Hf.
Qed.

Lemma frame_loop : forall {L X} fuel (cond : L -> M S bool) (body : L -> M S (step L X)) post l,
  (forall l, frame R any (cond l)) -> (forall l, frame R any (body l)) -> (forall l, frame R any (post l)) ->
  frame R any (loop fuel cond body post l).
Proof.
  intros L X fuel cond body post l Hc Hb Hp. unfold loop.
  apply (frame_bind any).
  - apply frame_rep. intros l'. apply (frame_bind any); [apply Hc|]. intros c _.
    destruct (negb c); [apply frame_ret; exact I|].
    apply (frame_bind any); [apply Hb|]. intros [l1|l1|x] _.
    + apply (frame_bind any); [apply Hp|]. intros l2 _. apply frame_ret. exact I.
    + apply frame_ret. exact I.
    + apply frame_ret. exact I.
  - intros [l'|j] _; [|apply frame_ret; exact I].
    apply (frame_bind any); [apply Hc|]. intros c _. destruct c; [apply frame_fail|apply frame_ret; exact I].
Qed.
End Rules.

Create HintDb frame.
#[export] Hint Resolve frame_pfield_ptr frame_pindex_ptr : frame.
#[export] Hint Extern 1 (PreOrder _) => typeclasses eauto : frame.

(** [framed] proves [frame R P m] by taking [m] apart construct by
    construct, as [CodeTrace.grow] does: a bound pointer (or pair holding
    pointers) is kept with the fact that stores through it keep [R] when
    the [frame] hint database proves it, a returned value must satisfy [P]
    by a hypothesis. *)
Ltac framed := repeat (cbv beta zeta; match goal with
  | |- frame ?R _ (@bind _ ?A _ ?m _) =>
      lazymatch A with
      | ptr _ _ => first [ apply (frame_bind R (ptr_in R)); [solve [eauto with frame] | intros ? ?]
                         | apply (frame_bind R any); [| intros ? _] ]
      | (ptr _ _ * ptr _ _)%type =>
          first [ apply (frame_bind R (pair_in R)); [solve [eauto with frame] | intros [? ?] [? ?]; cbv beta iota]
                | apply (frame_bind R any); [| intros ? _] ]
      | _ => apply (frame_bind R any); [| intros ? _]
      end
  | |- frame ?R _ (ret _) => apply (frame_ret R); cbv beta;
      first [exact I | assumption | split; cbn [fst snd]; first [exact I | assumption]]
  | |- frame ?R _ (fail _) => apply (frame_fail R)
  | |- frame ?R _ (emit _ _) => apply (frame_emit R)
  | |- frame ?R _ trace_now => apply (frame_trace_now R)
  | |- frame ?R _ (deref _) => apply (frame_deref R)
  | |- frame ?R _ (store _ _) => apply (frame_store R); assumption
  | |- frame ?R _ (pfield _ _ _) => apply (frame_pfield R)
  | |- frame ?R _ (pindex _ _) => apply (frame_pindex R)
  | |- frame ?R _ (call_iface _ _ _) => apply (frame_call_iface R)
  | |- frame ?R _ (get_platform _) => apply (frame_get_platform R)
  | |- frame ?R _ (loop _ _ _ _ _) => apply (frame_loop R); intros ?
  | |- frame _ _ (if ?b then _ else _) => destruct b
  | |- frame _ _ (let (_, _) := ?p in _) => destruct p
  | |- frame _ _ (match ?x with Fall _ => _ | Jump _ => _ end) => destruct x
  | |- frame _ _ (match ?x with Continue _ => _ | Break _ => _ | Leave _ => _ end) => destruct x
  | |- frame _ _ (match ?x with Some _ => _ | None => _ end) => destruct x
  | |- frame _ _ (match ?x with inl _ => _ | inr _ => _ end) => destruct x
  | |- frame _ _ (match ?x with Nil => _ | Place _ _ => _ end) => destruct x
  | |- frame _ _ (match ?x with end) => destruct x
  | |- frame _ _ _ => solve [eauto with frame]
  | |- frame _ _ ?m => let f := head m in progress unfold f
  end).

(** ** The memory the stage-2 update changes: the table pool *)

Definition pool_rel (s s' : Isolation.Engine) : Prop := exists q, s' = Isolation.set_Engine_pool q s.

#[export] Instance pool_rel_preorder : PreOrder pool_rel.
Proof.
  split.
  - intros s. exists (Isolation.Engine_pool s). destruct s; reflexivity.
  - intros s1 s2 s3 (q1 & ->) (q2 & ->). exists q2. destruct s1; reflexivity.
Qed.

Lemma frame_pool_field : frame pool_rel (ptr_in pool_rel) (pfield root Isolation.Engine_pool Isolation.set_Engine_pool).
Proof.
  intros s t b s' t' H. cbn in H. injection H as <- <- _. split; [|reflexivity].
  cbn. intros c s1 s2 E. injection E as <-. exists c. reflexivity.
Qed.
#[export] Hint Resolve frame_pool_field : frame.

Lemma frame_slot : forall t i, frame pool_rel (ptr_in pool_rel) (@Isolation.Engine_slot Isolation.Engine root t i).
Proof. intros t i. unfold Isolation.Engine_slot. framed. Qed.
#[export] Hint Resolve frame_slot : frame.

Lemma frame_update : forall d,
  (forall t lvl ipa end' u, frame pool_rel any (@Isolation.Engine_update Isolation.Engine d root t lvl ipa end' u)) /\
  (forall slot lvl base u, ptr_in pool_rel slot -> frame pool_rel any (@Isolation.Engine_replaceLeaf Isolation.Engine d root slot lvl base u)) /\
  (forall slot lvl base vmid, ptr_in pool_rel slot -> frame pool_rel any (@Isolation.Engine_clearEntry Isolation.Engine d root slot lvl base vmid)) /\
  (forall slot lvl base ipa stop u, ptr_in pool_rel slot -> frame pool_rel any (@Isolation.Engine_descend Isolation.Engine d root slot lvl base ipa stop u)).
Proof.
  induction d as [|d (IHu & IHr & IHc & IHd)]; (split; [|split; [|split]]); intros; cbn [Isolation.Engine_update
    Isolation.Engine_replaceLeaf Isolation.Engine_clearEntry Isolation.Engine_descend]; framed.
Qed.

(** [Engine.update] at any depth changes nothing but the table pool. *)
Theorem update_pool : forall d t lvl ipa end' u e tr x e' tr',
  @Isolation.Engine_update Isolation.Engine d root t lvl ipa end' u e tr = Ok x e' tr' ->
  exists q, e' = Isolation.set_Engine_pool q e.
Proof. intros d t lvl ipa end' u e tr x e' tr' H. apply (proj1 (frame_update d) t lvl ipa end' u _ _ _ _ _ H). Qed.

Lemma frame_update_any : forall d t lvl ipa end' u,
  frame pool_rel any (@Isolation.Engine_update Isolation.Engine d root t lvl ipa end' u).
Proof. intros. apply frame_update. Qed.
#[export] Hint Resolve frame_update_any : frame.

Lemma frame_mapRange : forall s ipa pa n a, frame pool_rel any (@Isolation.Engine_mapRange Isolation.Engine root s ipa pa n a).
Proof. intros. unfold Isolation.Engine_mapRange. framed. Qed.

Lemma frame_unmapRange : forall s ipa n, frame pool_rel any (@Isolation.Engine_unmapRange Isolation.Engine root s ipa n).
Proof. intros. unfold Isolation.Engine_unmapRange. framed. Qed.

(** [mapRange] and [unmapRange], of any stage-2 place, change nothing but
    the table pool. *)
Theorem mapRange_pool : forall s ipa pa n a e tr x e' tr',
  @Isolation.Engine_mapRange Isolation.Engine root s ipa pa n a e tr = Ok x e' tr' ->
  exists q, e' = Isolation.set_Engine_pool q e.
Proof. intros s ipa pa n a e tr x e' tr' H. apply (frame_mapRange s ipa pa n a _ _ _ _ _ H). Qed.

Theorem unmapRange_pool : forall s ipa n e tr x e' tr',
  @Isolation.Engine_unmapRange Isolation.Engine root s ipa n e tr = Ok x e' tr' ->
  exists q, e' = Isolation.set_Engine_pool q e.
Proof. intros s ipa n e tr x e' tr' H. apply (frame_unmapRange s ipa n _ _ _ _ _ H). Qed.

(** ** Computations that change nothing but the trace *)

Lemma frame_need : forall S d,
  (forall (e : ptr S Isolation.Engine) t virt lvl ipa end' u, frame eq any (Isolation.Engine_need d e t virt lvl ipa end' u)) /\
  (forall (e : ptr S Isolation.Engine) dsc lvl ipa stop u, frame eq any (Isolation.Engine_needBelow d e dsc lvl ipa stop u)).
Proof.
  intros S d. induction d as [|d (IHn & IHb)]; split; intros; cbn [Isolation.Engine_need Isolation.Engine_needBelow]; framed.
Qed.

(** [need], [mapNeed] and [unmapNeed], in any memory, leave it as it was. *)
Theorem need_same : forall S d (e : ptr S Isolation.Engine) t virt lvl ipa end' u st tr x st' tr',
  Isolation.Engine_need d e t virt lvl ipa end' u st tr = Ok x st' tr' -> st' = st.
Proof. intros. symmetry. eapply (proj1 (frame_need S d)). eassumption. Qed.

Lemma frame_need_any : forall S d (e : ptr S Isolation.Engine) t virt lvl ipa end' u,
  frame eq any (Isolation.Engine_need d e t virt lvl ipa end' u).
Proof. intros. apply frame_need. Qed.
#[export] Hint Resolve frame_need_any : frame.

Lemma frame_mapNeed : forall S (e : ptr S Isolation.Engine) s ipa pa n, frame eq any (Isolation.Engine_mapNeed e s ipa pa n).
Proof. intros. unfold Isolation.Engine_mapNeed. framed. Qed.

Lemma frame_unmapNeed : forall S (e : ptr S Isolation.Engine) s ipa n, frame eq any (Isolation.Engine_unmapNeed e s ipa n).
Proof. intros. unfold Isolation.Engine_unmapNeed. framed. Qed.

Theorem mapNeed_same : forall S (e : ptr S Isolation.Engine) s ipa pa n st tr x st' tr',
  Isolation.Engine_mapNeed e s ipa pa n st tr = Ok x st' tr' -> st' = st.
Proof. intros. symmetry. eapply frame_mapNeed. eassumption. Qed.

Theorem unmapNeed_same : forall S (e : ptr S Isolation.Engine) s ipa n st tr x st' tr',
  Isolation.Engine_unmapNeed e s ipa n st tr = Ok x st' tr' -> st' = st.
Proof. intros. symmetry. eapply frame_unmapNeed. eassumption. Qed.

(** A call through the Platform interface changes the trace alone. *)
Theorem call_iface_same : forall S O (p : iface O) m args (st : S) tr x st' tr',
  call_iface p m args st tr = Ok x st' tr' -> st' = st /\ tr' = mkEvent m args :: tr.
Proof.
  intros S O p m args st tr x st' tr' H. split.
  - symmetry. eapply (frame_call_iface eq). eassumption.
  - eapply call_iface_inv. eassumption.
Qed.

#[export] Hint Resolve frame_mapRange frame_unmapRange frame_mapNeed frame_unmapNeed : frame.

(** ** Taking a call apart *)

Lemma frame_eq : forall {S A} (P : A -> Prop) (m : M S A) s t a s' t', frame eq P m -> m s t = Ok a s' t' -> s' = s.
Proof. intros S A P m s t a s' t' Hf H. symmetry. exact (proj2 (Hf _ _ _ _ _ H)). Qed.

Lemma frame_pool : forall {A} (P : A -> Prop) (m : M Isolation.Engine A) s t a s' t',
  frame pool_rel P m -> m s t = Ok a s' t' -> exists q, s' = Isolation.set_Engine_pool q s.
Proof. intros A P m s t a s' t' Hf H. exact (proj2 (Hf _ _ _ _ _ H)). Qed.

(** ** The ledger's abstraction ignores the table pool *)

Lemma abs_pages_pool : forall c e q p, abs_pages c (Isolation.set_Engine_pool q e) p = abs_pages c e p.
Proof. intros c [] q p. reflexivity. Qed.

Lemma cfg_pool : forall e q, Isolation.Engine_cfg (Isolation.set_Engine_pool q e) = Isolation.Engine_cfg e.
Proof. intros [] q. reflexivity. Qed.

Lemma owners_ok_pool : forall e q, owners_ok (Isolation.set_Engine_pool q e) = owners_ok e.
Proof. intros e q. destruct e. reflexivity. Qed.

Lemma ledger_ok_pool : forall e q, ledger_ok e -> ledger_ok (Isolation.set_Engine_pool q e).
Proof. intros [] q H. exact H. Qed.

Lemma cfg_rel_pool : forall c e q, cfg_rel c e -> cfg_rel c (Isolation.set_Engine_pool q e).
Proof. intros c [] q H. exact H. Qed.

(** What the model's checks passing says of the arguments. *)
Lemma lend_checks_ok : forall c m id pa ipa n perms,
  lend_checks c m id pa ipa n perms = None -> vmid_ok c m id = true /\ pa_ok c pa n = true.
Proof.
  intros c m id pa ipa n perms H. unfold lend_checks in H.
  destruct (vmid_ok c m id); [|discriminate H]. destruct (pa_ok c pa n); [|discriminate H]. auto.
Qed.

Lemma deref_root_inv : forall {S} (s : S) t a s' t', deref root s t = Ok a s' t' -> a = s /\ s' = s /\ t' = t.
Proof. intros S s t a s' t' H. cbn in H. injection H as <- <- <-. auto. Qed.

(** Replaces, in the outcomes [unbind] leaves, the memory a step that
    changes nothing returns by the one it was given. *)
Ltac settle := repeat match goal with
  | Hx : deref root ?s _ = Ok ?a ?s' ?t' |- _ => apply deref_root_inv in Hx as (? & ? & ?); subst a s' t'
  | Hx : deref _ ?s _ = Ok _ ?s' _ |- _ => apply (frame_eq _ _ _ _ _ _ _ (frame_deref eq _)) in Hx; subst s'
  | Hx : pfield _ _ _ ?s _ = Ok _ ?s' _ |- _ => apply (frame_eq _ _ _ _ _ _ _ (frame_pfield eq _ _ _)) in Hx; subst s'
  | Hx : Isolation.Engine_mapNeed _ _ _ _ _ ?s _ = Ok _ ?s' _ |- _ => apply mapNeed_same in Hx; subst s'
  | Hx : Isolation.Engine_unmapNeed _ _ _ _ ?s _ = Ok _ ?s' _ |- _ => apply unmapNeed_same in Hx; subst s'
  | Hx : call_iface _ _ _ ?s _ = Ok _ ?s' _ |- _ => apply call_iface_same in Hx as [Hx _]; subst s'
  end.

Lemma bind_ok : forall {S A B} (m : M S A) (f : A -> M S B) s t a s1 t1 b s2 t2,
  m s t = Ok a s1 t1 -> f a s1 t1 = Ok b s2 t2 -> bind m f s t = Ok b s2 t2.
Proof. intros S A B m f s t a s1 t1 b s2 t2 Hm Hf. unfold bind. rewrite Hm. exact Hf. Qed.

(** The pages a lend passes its checks on are the host's and unshared. *)
Lemma lend_checks_unshared : forall c m id pa ipa n perms,
  lend_checks c m id pa ipa n perms = None ->
  forall p, in_range p (pfn c pa) n = true -> is_host_unshared (ms_pages m p) = true.
Proof.
  intros c m id pa ipa n perms H p Hp. unfold lend_checks in H.
  destruct (vmid_ok c m id); [|discriminate H]. destruct (pa_ok c pa n); [|discriminate H].
  destruct (ipa_ok c ipa n); [|discriminate H]. destruct (perms_ok perms); [|discriminate H].
  cbn [negb] in H. destruct (all_range (pfn c pa) n (fun p => is_host_unshared (ms_pages m p))) eqn:E; [|discriminate H].
  rewrite all_range_iff in E. unfold in_range in Hp. apply andb_true_iff in Hp as [H1 H2].
  apply Nat.leb_le in H1. apply Nat.ltb_lt in H2. exact (E p ltac:(lia)).
Qed.

Lemma lend_checks_host : forall c m id pa ipa n perms,
  lend_checks c m id pa ipa n perms = None ->
  forall p, in_range p (pfn c pa) n = true -> pg_owner (ms_pages m p) = OHost.
Proof.
  intros c m id pa ipa n perms H p Hp. pose proof (lend_checks_unshared c m id pa ipa n perms H p Hp) as E.
  unfold is_host_unshared in E. destruct (pg_owner (ms_pages m p)); try discriminate E. reflexivity.
Qed.

(* The proofs below take the calls apart: none of the functions they call
   needs unfolding, and checking them must not evaluate them. *)
Opaque Isolation.Engine_unmapNeed Isolation.Engine_mapNeed Isolation.Engine_unmapRange Isolation.Engine_mapRange
  Isolation.Engine_setOwner Isolation.Engine_checkTransfer.

(** ** MEM_DONATE *)

(** Under the hypotheses of [MemDonate_checks_refine], and at most 255 VM
    slots, a MEM_DONATE that returns SUCCESS leaves a ledger whose
    abstraction is the page metadata [Spec.mem_donate] leaves, and the
    model's step succeeds. *)
Theorem MemDonate_ledger_refine : forall c e s tr id pa ipa n perms e' tr',
  mem_ok e -> reclaim_ok e -> cfg_rel c e -> ms_pages (st_meta s) = abs_pages c e ->
  vms_rel c e (st_meta s) -> s2_rel c e (st_meta s) -> len (Isolation.Engine_vms e) <= 255 ->
  0 <= id < 2 ^ 64 -> 0 <= pa < 2 ^ 64 -> 0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 -> 0 <= perms < 2 ^ 64 ->
  Isolation.Engine_MemDonate root id pa ipa n perms e tr = Ok Abi.Success e' tr' ->
  exists s', mem_donate c s (Z.to_nat id) (Z.to_nat pa) (Z.to_nat ipa) (Z.to_nat n) (Z.to_nat perms) = (s', ok0) /\
    (forall p, ms_pages (st_meta s') p = abs_pages c e' p) /\
    ledger_ok e' /\ Isolation.Engine_cfg e' = Isolation.Engine_cfg e /\ (owners_ok e -> owners_ok e').
Proof.
  intros c e s tr id pa ipa n perms e' tr' Hm Hrok Hcfg Habs Hvr Hsr Hvms Hid Hpa Hipa Hn Hperms H.
  destruct (MemDonate_checks_refine c e s tr id pa ipa n perms Hm Hrok Hcfg Habs Hvr Hsr Hid Hpa Hipa Hn Hperms)
    as [(st & sst & Hrun & _ & Hst & Hns) | (v & mv & Hct & Gm & Hnth & Hlive & Hlc)].
  { rewrite Hrun in H. apply (f_equal (fun o => match o with Ok a _ _ => a | Fail _ => 0 end)) in H.
    cbn in H. pose proof (status_not_success sst Hns) as E. rewrite Hst, H in E. discriminate E. }
  unfold mem_donate. rewrite Hlc. eexists. split; [reflexivity|]. cbn [st_meta ms_pages].
  unfold Isolation.Engine_MemDonate in H.
  apply bind_inv in H as ([v' st] & s0 & t0 & Hc & H). cbv beta iota in H.
  cbn [negb] in Hc. rewrite Hct in Hc. injection Hc as <- <- <- <-.
  rewrite Z.eqb_refl in H. cbn [negb] in H.
  unbind H.
  apply (frame_eq _ _ _ _ _ _ _ (frame_pfield eq _ _ _)) in Hm0. subst x0.
  apply (frame_eq _ _ _ _ _ _ _ (frame_unmapNeed _ _ _ _ _)) in Hm1. subst x3.
  apply (frame_eq _ _ _ _ _ _ _ (frame_pfield eq _ _ _)) in Hm2. subst x6.
  apply (frame_eq _ _ _ _ _ _ _ (frame_mapNeed _ _ _ _ _ _)) in Hm3. subst x9.
  apply (frame_eq _ _ _ _ _ _ _ (frame_deref eq _)) in Hm4. subst x12.
  split_match H; [exfalso; revert H; apply status_ne; discriminate|].
  unbind H.
  apply (frame_pool any) in Hm0 as [q1 ->]; [|framed].
  apply (frame_eq _ _ _ _ _ _ _ (frame_deref eq _)) in Hm1. subst x12.
  apply call_iface_same in Hm2 as [-> _].
  (* The arguments the model's checks accepted. *)
  destruct (lend_checks_ok _ _ _ _ _ _ _ Hlc) as [Hvid Hpaok].
  pose proof Hm as (Hl & _). pose proof Hrok as (_ & Hend).
  apply (pa_ok_iff c e pa n Hcfg Hl ltac:(lia) Hpa Hn) in Hpaok as (Hn0 & Hal & Hw & Hlo & Hhi).
  assert (Hid8 : 1 <= id <= 255).
  { destruct Hvr as (Hmax & _). unfold vmid_ok in Hvid.
    apply andb_true_iff in Hvid as [Hvid _]. apply andb_true_iff in Hvid as [H0 H1].
    apply negb_true_iff, Nat.eqb_neq in H0. apply Nat.leb_le in H1. lia. }
  (* The ledger's commit. *)
  destruct (setOwner_abs c (Isolation.set_Engine_pool q1 e) x17 pa n Abi.OwnerVM (wrapu 16 id)
    (ledger_ok_pool e q1 Hl) (cfg_rel_pool c e q1 Hcfg) Hpa Hal ltac:(lia)
    ltac:(rewrite cfg_pool; exact Hlo) ltac:(rewrite cfg_pool; exact Hhi)) as (e2 & Hso & Hl2 & Ho2 & Hc2 & Ha2).
  rewrite Hso in Hm3. injection Hm3 as _ <- <-.
  apply (frame_eq _ _ _ _ _ _ _ (frame_pfield eq _ _ _)) in Hm4. subst x22.
  apply (frame_pool any) in Hm5 as [q2 ->]; [|apply frame_mapRange].
  apply ret_inv in H as (_ & <- & _).
  split; [|split].
  - intros p. rewrite abs_pages_pool, Ha2, abs_pages_pool, <- Habs.
    destruct (in_range p (pfn c (Z.to_nat pa)) (Z.to_nat n)); [|reflexivity].
    replace (wrapu 16 id) with id by (unfold wrapu; rewrite Z.mod_small; lia).
    rewrite abs_page_vm by lia. reflexivity.
  - apply ledger_ok_pool. exact Hl2.
  - split; [rewrite cfg_pool, Hc2, cfg_pool; reflexivity|].
    intros Ho. rewrite owners_ok_pool. apply Ho2; [unfold Abi.OwnerVM; lia|]. rewrite owners_ok_pool. exact Ho.
Qed.

(** ** MEM_SHARE *)

(** Under the hypotheses of [MemShare_checks_refine], and at most 255 VM
    slots, a MEM_SHARE that returns SUCCESS leaves a ledger whose
    abstraction is the page metadata [Spec.mem_share] leaves, and the
    model's step succeeds. *)
Theorem MemShare_ledger_refine : forall c e s tr id pa ipa n perms e' tr',
  mem_ok e -> reclaim_ok e -> cfg_rel c e -> ms_pages (st_meta s) = abs_pages c e ->
  vms_rel c e (st_meta s) -> s2_rel c e (st_meta s) -> len (Isolation.Engine_vms e) <= 255 ->
  0 <= id < 2 ^ 64 -> 0 <= pa < 2 ^ 64 -> 0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 -> 0 <= perms < 2 ^ 64 ->
  Isolation.Engine_MemShare root id pa ipa n perms e tr = Ok Abi.Success e' tr' ->
  exists s', mem_share c s (Z.to_nat id) (Z.to_nat pa) (Z.to_nat ipa) (Z.to_nat n) (Z.to_nat perms) = (s', ok0) /\
    (forall p, ms_pages (st_meta s') p = abs_pages c e' p) /\
    ledger_ok e' /\ Isolation.Engine_cfg e' = Isolation.Engine_cfg e /\ (owners_ok e -> owners_ok e').
Proof.
  intros c e s tr id pa ipa n perms e' tr' Hm Hrok Hcfg Habs Hvr Hsr Hvms Hid Hpa Hipa Hn Hperms H.
  destruct (MemShare_checks_refine c e s tr id pa ipa n perms Hm Hrok Hcfg Habs Hvr Hsr Hid Hpa Hipa Hn Hperms)
    as [(st & sst & Hrun & _ & Hst & Hns) | (v & mv & Hct & Gm & Hnth & Hlive & Hprot & Hlc & Hmprot)].
  { rewrite Hrun in H. apply (f_equal (fun o => match o with Ok a _ _ => a | Fail _ => 0 end)) in H.
    cbn in H. pose proof (status_not_success sst Hns) as E. rewrite Hst, H in E. discriminate E. }
  unfold mem_share. rewrite Hlc, Hmprot. eexists. split; [reflexivity|]. cbn [st_meta ms_pages].
  unfold Isolation.Engine_MemShare in H.
  apply bind_inv in H as ([v' st] & s0 & t0 & Hc & H). cbv beta iota in H.
  rewrite Hct in Hc. injection Hc as <- <- <- <-.
  rewrite Z.eqb_refl in H. cbn [negb] in H.
  unbind H.
  rewrite (deref_good _ _ _ _ Gm) in Hm0. injection Hm0 as <- <- <-.
  rewrite Hprot in H. cbn [andb] in H.
  unbind H.
  apply (frame_eq _ _ _ _ _ _ _ (frame_pfield eq _ _ _)) in Hm0. subst x0.
  apply (frame_eq _ _ _ _ _ _ _ (frame_mapNeed _ _ _ _ _ _)) in Hm1. subst x3.
  apply (frame_eq _ _ _ _ _ _ _ (frame_deref eq _)) in Hm2. subst x6.
  split_match H; [exfalso; revert H; apply status_ne; discriminate|].
  unbind H. split_match H; [|match goal with y : Empty_set |- _ => destruct y end].
  (* The loop is [setShared]'s with the share flag set and [id] as the borrower. *)
  match goal with Hl : loop _ _ _ _ _ e ?t0 = Ok _ ?s1 ?t1 |- _ =>
    assert (Hss : Isolation.Engine_setShared root pa n true id e t0 = Ok tt s1 t1)
      by (unfold Isolation.Engine_setShared; cbv beta zeta; eapply bind_ok; [exact Hl|]; reflexivity);
    clear Hl end.
  (* The loop is [setShared]'s with the share flag set and [id] as the borrower. *)
  destruct (lend_checks_ok _ _ _ _ _ _ _ Hlc) as [Hvid Hpaok].
  pose proof Hm as (Hl & _). pose proof Hrok as (_ & Hend).
  apply (pa_ok_iff c e pa n Hcfg Hl ltac:(lia) Hpa Hn) in Hpaok as (Hn0 & Hal & Hw & Hlo & Hhi).
  assert (Hid8 : 1 <= id <= 255).
  { destruct Hvr as (Hmax & _). unfold vmid_ok in Hvid.
    apply andb_true_iff in Hvid as [Hvid _]. apply andb_true_iff in Hvid as [H0 H1].
    apply negb_true_iff, Nat.eqb_neq in H0. apply Nat.leb_le in H1. lia. }
  destruct (setShared_abs c e x7 pa n true id Hl Hcfg Hpa Hal ltac:(lia) Hlo Hhi) as (e2 & Hso & Hl2 & Ho2 & Hc2 & Ha2).
  rewrite Hso in Hss. injection Hss as <- <-.
  unbind H.
  apply (frame_eq _ _ _ _ _ _ _ (frame_pfield eq _ _ _)) in Hm0. subst.
  apply (frame_pool any) in Hm1 as [q2 ->]; [|apply frame_mapRange].
  apply ret_inv in H as (_ & <- & _).
  split; [|split].
  - intros p. rewrite abs_pages_pool, Ha2.
    destruct (in_range p (pfn c (Z.to_nat pa)) (Z.to_nat n)) eqn:Hr; [|rewrite Habs; reflexivity].
    rewrite <- Habs, (lend_checks_host _ _ _ _ _ _ _ Hlc p Hr).
    replace (wrapu 8 id) with id by (unfold wrapu; rewrite Z.mod_small; lia). reflexivity.
  - apply ledger_ok_pool. exact Hl2.
  - split; [rewrite cfg_pool, Hc2; reflexivity|].
    intros Ho. rewrite owners_ok_pool. exact (Ho2 Ho).
Qed.

(** ** MEM_RECLAIM *)

(** Under the hypotheses of [MemReclaim_checks_refine], a MEM_RECLAIM that
    returns SUCCESS leaves a ledger whose abstraction is the page metadata
    [Spec.mem_reclaim] leaves, and the model's step succeeds. *)
Theorem MemReclaim_ledger_refine : forall c e s tr pa n e' tr',
  reclaim_ok e -> owners_ok e -> cfg_rel c e -> ms_pages (st_meta s) = abs_pages c e ->
  0 <= pa < 2 ^ 64 -> 0 <= n < 2 ^ 64 ->
  Isolation.Engine_MemReclaim root pa n e tr = Ok Abi.Success e' tr' ->
  exists s', mem_reclaim c s (Z.to_nat pa) (Z.to_nat n) = (s', ok0) /\
    (forall p, ms_pages (st_meta s') p = abs_pages c e' p) /\
    ledger_ok e' /\ Isolation.Engine_cfg e' = Isolation.Engine_cfg e /\ owners_ok e'.
Proof.
  intros c e s tr pa n e' tr' Hok Hown Hcfg Habs Hpa Hn H.
  destruct (MemReclaim_checks_refine c e s tr pa n Hok Hown Hcfg Habs Hpa Hn)
    as [(st & sst & Hrun & _ & Hst & Hns) | (Hrange & Hnone & Hpaok & Hfirst)].
  { rewrite Hrun in H. apply (f_equal (fun o => match o with Ok a _ _ => a | Fail _ => 0 end)) in H.
    cbn in H. pose proof (status_not_success sst Hns) as E. rewrite Hst, H in E. discriminate E. }
  unfold mem_reclaim. rewrite Hpaok, Hfirst. cbn [negb]. eexists. split; [reflexivity|]. cbn [st_meta ms_pages].
  pose proof Hok as (Hl & Hend).
  destruct Hrange as (Hn0 & Hal & Hw & Hlo & Hhi).
  unfold Isolation.Engine_MemReclaim in H.
  unbind H.
  settle.
  destruct (pageRange_spec e tr pa n (Isolation.Config_RAM (Isolation.Engine_cfg e)) Hpa Hn) as (b & Hb & Hbs);
    [destruct Hl as (? & ? & ? & _); lia..|].
  rewrite Hb in Hm0. injection Hm0 as <- <- <-.
  replace b with true in H by (symmetry; apply Hbs; repeat split; lia). cbn [negb] in H.
  unbind H.
  apply (frame_eq any) in Hm as Es; [|framed]. subst.
  split_match H.
  2:{ exfalso. apply (loop_jump _ _ _ _ _ (fun x => x <> Abi.Success)) in Hm; [exact (Hm (proj1 (ret_inv _ _ _ _ _ _ H)))|].
    clear. intros l s t x s' t' H. unbind H.
    repeat match type of H with
    | (if ?b then _ else _) _ _ = _ => destruct b
    | ret _ _ _ = Ok _ _ _ => apply ret_inv in H as (E & _); first [discriminate E | injection E as <-; discriminate]
    end. }
  unbind H. settle.
  split_match H; [exfalso; revert H; apply status_ne; discriminate|].
  unbind H.
  match goal with Hz : bind (deref root) _ _ _ = Ok _ _ _ |- _ =>
    unbind Hz; apply ret_inv in Hz as (_ & <- & <-) end.
  settle.
  destruct (setOwner_abs c e x12 pa n Abi.OwnerHost Isolation.HostVMID Hl Hcfg Hpa Hal ltac:(lia) Hlo Hhi)
    as (e2 & Hso & Hl2 & Ho2 & Hc2 & Ha2).
  rewrite Hso in Hm3. injection Hm3 as <- <- <-.
  apply (frame_pool any) in Hm5 as [q2 ->]; [|apply frame_mapRange].
  apply ret_inv in H as (_ & <- & _).
  split; [|split].
  - intros p. rewrite abs_pages_pool, Ha2, <- Habs.
    destruct (in_range p (pfn c (Z.to_nat pa)) (Z.to_nat n)); reflexivity.
  - apply ledger_ok_pool. exact Hl2.
  - split; [rewrite cfg_pool, Hc2; reflexivity|].
    rewrite owners_ok_pool. apply Ho2; [unfold Abi.OwnerHost; lia|exact Hown].
Qed.
