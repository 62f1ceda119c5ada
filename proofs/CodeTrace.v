(** * Calls only add to the trace

    The translation (proofs/code/GoCoq.v) keeps the calls made through the
    Platform interface in a trace, newest first. A Go function can only
    call the platform: it never takes an event back. [grows m] says so of
    a computation [m]: whenever it returns, the trace it returns is the
    trace it was given with events put in front. Every construct of the
    runtime grows, so every translated function does; [grow] proves it of
    a function by unfolding it down to the runtime's constructs.
    [grows_by P m] says besides that each event put in front satisfies
    [P]; [quiet m], that none writes memory ([writes_memory]: ZeroPages,
    CopyFile, EnterGuest). Proved here of the stage-2 update
    ([Engine.update] and the functions it calls), [mapRange], [unmapRange]
    and [setOwner], which a call runs after it has asked the platform to
    zero or clean its pages: they are quiet, and what the call asked for
    stays in the trace it returns. Then the tools to take a returned
    outcome apart: [unbind] splits [bind m f s t = Ok ...] into the
    outcomes of [m] and of the rest, [split_match] cases on what a returned
    computation matches on, [loop_jump] says a loop leaves only with what
    its body left with, and [in_order] finds two events, in order, in a
    trace built by [grows]. *)
From Coq Require Import ZArith Lia List Bool String.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
Import ListNotations.
Open Scope Z_scope.

(** [grows_by P m]: whenever [m] returns, the trace it returns is the
    trace it was given with events put in front, each satisfying [P].
    [grows] is that with any events. *)
Definition grows_by {S A} (P : event -> Prop) (m : M S A) : Prop :=
  forall s t a s' t', m s t = Ok a s' t' -> exists l, t' = l ++ t /\ Forall P l.

Notation grows := (grows_by (fun _ => True)).

(** The platform calls that write memory a guest or the host can read:
    zeroing, the copy of a boot file, and running a guest, whose stores
    land where its stage-2 maps. [quiet] calls make none of them. *)
Definition writes_memory (ev : event) : bool :=
  String.eqb (ev_method ev) "ZeroPages" || String.eqb (ev_method ev) "CopyFile" ||
  String.eqb (ev_method ev) "EnterGuest".

Definition quiet_event (ev : event) : Prop := writes_memory ev = false.

Notation quiet := (grows_by quiet_event).

Create HintDb grows.

Lemma grows_ret : forall {S A} P (a : A), grows_by (S:=S) P (ret a).
Proof. intros S A P a s t b s' t' H. injection H as _ _ <-. exists []. auto. Qed.

Lemma grows_fail : forall {S A} P f, grows_by (S:=S) (A:=A) P (fail f).
Proof. intros S A P f s t b s' t' H. discriminate H. Qed.

Lemma grows_emit : forall {S} (P : event -> Prop) m args, P (mkEvent m args) -> grows_by (S:=S) P (emit m args).
Proof. intros S P m args Hp s t b s' t' H. injection H as _ _ <-. exists [mkEvent m args]. auto. Qed.

Lemma grows_trace_now : forall {S} P, grows_by (S:=S) P trace_now.
Proof. intros S P s t b s' t' H. injection H as _ _ <-. exists []. auto. Qed.

Lemma grows_bind : forall {S A B} P (m : M S A) (f : A -> M S B),
  grows_by P m -> (forall a, grows_by P (f a)) -> grows_by P (bind m f).
Proof.
  intros S A B P m f Hm Hf s t b s' t' H. unfold bind in H.
  destruct (m s t) as [a s1 t1|] eqn:E; [|discriminate H].
  pose proof (Hm _ _ _ _ _ E) as (l1 & -> & P1). pose proof (Hf a _ _ _ _ _ H) as (l2 & -> & P2).
  exists (l2 ++ l1). rewrite app_assoc. split; [reflexivity|]. apply Forall_app. auto.
Qed.

Lemma grows_deref : forall {S A} P (p : ptr S A), grows_by P (deref p).
Proof.
  intros S A P [|ld st] s t b s' t' H; cbn in H; [discriminate H|].
  destruct (ld s); [injection H as _ _ <-; exists []; auto|discriminate H].
Qed.

Lemma grows_store : forall {S A} P (p : ptr S A) a, grows_by P (store p a).
Proof.
  intros S A P [|ld st] a s t b s' t' H; cbn in H; [discriminate H|].
  destruct (st a s); [injection H as _ _ <-; exists []; auto|discriminate H].
Qed.

Lemma grows_call_iface : forall {S O} (P : event -> Prop) (p : iface O) m args, P (mkEvent m args) ->
  grows_by (S:=S) P (call_iface p m args).
Proof. intros S O P p m args Hp. unfold call_iface. destruct (is_set p); [apply grows_emit; exact Hp|apply grows_fail]. Qed.

(** A computation that adds only events of [P] adds only events of any
    weaker [Q]. *)
Lemma grows_weaken : forall {S A} (P Q : event -> Prop) (m : M S A), (forall ev, P ev -> Q ev) ->
  grows_by P m -> grows_by Q m.
Proof.
  intros S A P Q m Hpq Hm s t a s' t' H. destruct (Hm _ _ _ _ _ H) as (l & -> & Hl).
  exists l. split; [reflexivity|]. exact (Forall_impl _ Hpq Hl).
Qed.

(** Closes [P ev] for an event the tactics below meet: any event, no
    write, or one of two events named. *)
Ltac event_ok := first [exact I | assumption | reflexivity | left; first [assumption | reflexivity] | right; reflexivity].

(** [grow] proves [grows_by P] of a computation: it takes it apart
    construct by construct, uses the lemmas of the [grows] hint database
    (stated of [quiet], and so of any [P] a quiet event satisfies) and the
    hypotheses for the functions it calls, and unfolds any other
    function. *)
Ltac head t := match t with ?f _ => head f | _ => t end.
(** [grow_ext] is where the lemma about loops joins [grow], once proved. *)
Ltac grow_ext := fail.
Ltac grow := repeat (cbv beta zeta; first [grow_ext | match goal with
  | |- grows_by _ (bind _ _) => apply grows_bind; [|intros ?]
  | |- grows_by _ (ret _) => apply grows_ret
  | |- grows_by _ (fail _) => apply grows_fail
  | |- grows_by _ (emit _ _) => apply grows_emit; event_ok
  | |- grows_by _ (call_iface _ _ _) => apply grows_call_iface; event_ok
  | |- grows_by _ trace_now => apply grows_trace_now
  | |- grows_by _ (deref _) => apply grows_deref
  | |- grows_by _ (store _ _) => apply grows_store
  | |- grows_by _ (if ?b then _ else _) => destruct b
  | |- grows_by _ (let (_, _) := ?p in _) => destruct p
  | |- grows_by _ (match ?x with Fall _ => _ | Jump _ => _ end) => destruct x
  | |- grows_by _ (match ?x with Continue _ => _ | Break _ => _ | Leave _ => _ end) => destruct x
  | |- grows_by _ (match ?x with Some _ => _ | None => _ end) => destruct x
  | |- grows_by _ (match ?x with inl _ => _ | inr _ => _ end) => destruct x
  | |- grows_by _ (match ?x with Nil => _ | Place _ _ => _ end) => destruct x
  | |- grows_by _ (match ?x with end) => destruct x
  | |- grows_by _ _ => solve [auto with grows | apply (grows_weaken quiet_event); [intros ? ?; event_ok|auto with grows]]
  | |- grows_by _ ?m => let f := head m in progress unfold f
  end]).

Lemma grows_pfield : forall {S A B} P (p : ptr S A) (get : A -> B) set, grows_by P (pfield p get set).
Proof. intros. unfold pfield. grow. Qed.
Lemma grows_pindex : forall {S A} P (p : ptr S (list A)) i, grows_by P (pindex p i).
Proof. intros. unfold pindex. grow. Qed.
Lemma grows_get_platform : forall {S O} P (p : iface O), grows_by (S:=S) P (get_platform p).
Proof. intros. unfold get_platform. grow. Qed.
#[export] Hint Resolve grows_ret grows_fail grows_trace_now grows_deref grows_store
  grows_pfield grows_pindex grows_get_platform : grows.

Lemma grows_rep : forall {S L R} P p (f : L -> M S (L + R)), (forall l, grows_by P (f l)) ->
  forall l, grows_by P (rep p f l).
Proof.
  intros S L R P p f Hf. induction p as [p IH|p IH|]; intros l; cbn [rep]; grow.
Qed.

Lemma grows_loop : forall {S L X} P fuel (cond : L -> M S bool) (body : L -> M S (step L X)) post l,
  (forall l, grows_by P (cond l)) -> (forall l, grows_by P (body l)) -> (forall l, grows_by P (post l)) ->
  grows_by P (loop fuel cond body post l).
Proof.
  intros S L X P fuel cond body post l Hc Hb Hp. unfold loop. apply grows_bind.
  - apply grows_rep. intros l'. grow.
  - intros a. grow.
Qed.

Ltac grow_ext ::= match goal with |- grows_by _ (loop _ _ _ _ _) => apply grows_loop; intros ? end.

(** ** The stage-2 update, and the calls that commit a memory call

    These ask the platform only to invalidate TLB entries: they are
    [quiet]. *)

Lemma grows_update : forall d,
  (forall S e t lvl ipa end' u, quiet (@Isolation.Engine_update S d e t lvl ipa end' u)) /\
  (forall S e slot lvl base u, quiet (@Isolation.Engine_replaceLeaf S d e slot lvl base u)) /\
  (forall S e slot lvl base vmid, quiet (@Isolation.Engine_clearEntry S d e slot lvl base vmid)) /\
  (forall S e slot lvl base ipa stop u, quiet (@Isolation.Engine_descend S d e slot lvl base ipa stop u)).
Proof.
  induction d as [|d (IHu & IHr & IHc & IHd)]; (split; [|split; [|split]]); intros; cbn [Isolation.Engine_update
    Isolation.Engine_replaceLeaf Isolation.Engine_clearEntry Isolation.Engine_descend]; grow.
Qed.

Lemma grows_need : forall d,
  (forall S e t virt lvl ipa end' u, quiet (@Isolation.Engine_need S d e t virt lvl ipa end' u)) /\
  (forall S e dsc lvl ipa stop u, quiet (@Isolation.Engine_needBelow S d e dsc lvl ipa stop u)).
Proof.
  induction d as [|d (IHn & IHb)]; split; intros; cbn [Isolation.Engine_need Isolation.Engine_needBelow]; grow.
Qed.

Lemma grows_update_any : forall {S} d e t lvl ipa end' u, quiet (@Isolation.Engine_update S d e t lvl ipa end' u).
Proof. intros. apply grows_update. Qed.
Lemma grows_need_any : forall {S} d e t virt lvl ipa end' u, quiet (@Isolation.Engine_need S d e t virt lvl ipa end' u).
Proof. intros. apply grows_need. Qed.
#[export] Hint Resolve grows_update_any grows_need_any : grows.

Lemma grows_mapRange : forall {S} e s ipa pa n a, quiet (@Isolation.Engine_mapRange S e s ipa pa n a).
Proof. intros. unfold Isolation.Engine_mapRange. grow. Qed.
Lemma grows_unmapRange : forall {S} e s ipa n, quiet (@Isolation.Engine_unmapRange S e s ipa n).
Proof. intros. unfold Isolation.Engine_unmapRange. grow. Qed.
Lemma grows_mapNeed : forall {S} e s ipa pa n, quiet (@Isolation.Engine_mapNeed S e s ipa pa n).
Proof. intros. unfold Isolation.Engine_mapNeed. grow. Qed.
Lemma grows_unmapNeed : forall {S} e s ipa n, quiet (@Isolation.Engine_unmapNeed S e s ipa n).
Proof. intros. unfold Isolation.Engine_unmapNeed. grow. Qed.
Lemma grows_setOwner : forall {S} e pa n o v, quiet (@Isolation.Engine_setOwner S e pa n o v).
Proof. intros. unfold Isolation.Engine_setOwner. grow. Qed.
#[export] Hint Resolve grows_mapRange grows_unmapRange grows_mapNeed grows_unmapNeed grows_setOwner : grows.

(** ** Taking a returned outcome apart *)

Lemma bind_inv : forall {S A B} (m : M S A) (f : A -> M S B) s t b s' t',
  bind m f s t = Ok b s' t' -> exists a s1 t1, m s t = Ok a s1 t1 /\ f a s1 t1 = Ok b s' t'.
Proof.
  intros S A B m f s t b s' t' H. unfold bind in H.
  destruct (m s t) as [a s1 t1|]; [exists a, s1, t1; split; [reflexivity|exact H]|discriminate H].
Qed.

Lemma ret_inv : forall {S A} (a b : A) (s s' : S) t t', ret a s t = Ok b s' t' -> a = b /\ s = s' /\ t = t'.
Proof. intros S A a b s s' t t' H. injection H as -> -> ->. auto. Qed.

Lemma call_iface_inv : forall {S O} (p : iface O) m args (s s' : S) t t' a,
  call_iface p m args s t = Ok a s' t' -> t' = mkEvent m args :: t.
Proof.
  intros S O p m args s s' t t' a H. unfold call_iface in H.
  destruct (is_set p); [injection H as _ _ <-; reflexivity|discriminate H].
Qed.

(** Splits a hypothesis [bind m f s t = Ok ...] into the outcome of [m] and
    that of the rest. *)
Ltac unbind H := repeat (cbv beta zeta in H; match type of H with
  | bind _ _ _ _ = Ok _ _ _ => let Hm := fresh "Hm" in apply bind_inv in H as (? & ? & ? & Hm & H)
  end).

(** Cases on what a hypothesis [(match x with ... end) s t = Ok ...]
    matches on. *)
Ltac split_match H := match type of H with
  | (if true then _ else _) _ _ = _ => cbv beta iota in H
  | (if false then _ else _) _ _ = _ => cbv beta iota in H
  | (if ?b then _ else _) _ _ = _ => destruct b
  | (let (_, _) := ?p in _) _ _ = _ => destruct p
  | (match ?x with inl _ => _ | inr _ => _ end) _ _ = _ => destruct x
  | (match ?x with Fall _ => _ | Jump _ => _ end) _ _ = _ => destruct x
  | (match ?x with Continue _ => _ | Break _ => _ | Leave _ => _ end) _ _ = _ => destruct x
  end.

(** The trace an outcome [Hm] of a computation that [grow] handles returns
    is the one it was given with events in front. *)
Ltac grown Hm := match type of Hm with
  | ?m ?s ?t = Ok _ _ _ => let G := fresh in assert (G : grows m) by grow;
      let l := fresh "l" in pose proof (G _ _ _ _ _ Hm) as (l & ? & _); clear G
  end.

(** A loop ends with [Jump x] only when its body left with [x]. *)
Lemma rep_jump : forall {S L X} p (once : L -> M S (L + join L X)) (P : X -> Prop),
  (forall l s t x s' t', once l s t = Ok (inr (Jump x)) s' t' -> P x) ->
  forall l s t x s' t', rep p once l s t = Ok (inr (Jump x)) s' t' -> P x.
Proof.
  intros S L X p once P Ho. induction p as [p IH|p IH|]; intros l s t x s' t' H; cbn [rep] in H.
  - unbind H. split_match H.
    + unbind H. split_match H; [exact (IH _ _ _ _ _ _ H)|].
      apply ret_inv in H as (E & _). injection E as ->. exact (IH _ _ _ _ _ _ Hm0).
    + apply ret_inv in H as (E & _). injection E as ->. exact (Ho _ _ _ _ _ _ Hm).
  - unbind H. split_match H; [exact (IH _ _ _ _ _ _ H)|].
    apply ret_inv in H as (E & _). injection E as ->. exact (IH _ _ _ _ _ _ Hm).
  - exact (Ho _ _ _ _ _ _ H).
Qed.

Lemma loop_jump : forall {S L X} fuel (cond : L -> M S bool) (body : L -> M S (step L X)) post l (P : X -> Prop),
  (forall l s t x s' t', body l s t = Ok (Leave x) s' t' -> P x) ->
  forall s t x s' t', loop fuel cond body post l s t = Ok (Jump x) s' t' -> P x.
Proof.
  intros S L X fuel cond body post l P Hb s t x s' t' H. unfold loop in H. unbind H.
  split_match H.
  - unbind H. split_match H; [discriminate H|]. apply ret_inv in H as (E & _). discriminate E.
  - apply ret_inv in H as (-> & _). revert Hm. apply rep_jump. clear - Hb.
    intros l s t x s' t' H. unbind H. split_match H; [apply ret_inv in H as (E & _); discriminate E|].
    unbind H. split_match H.
    + unbind H. apply ret_inv in H as (E & _). discriminate E.
    + apply ret_inv in H as (E & _). discriminate E.
    + apply ret_inv in H as (E & _). injection E as ->. exact (Hb _ _ _ _ _ _ Hm0).
Qed.

Lemma status_ne : forall st, st <> Abi.Success -> forall {S} (s s' : S) t t', ret st s t = Ok Abi.Success s' t' -> False.
Proof. intros st Hst S s s' t t' H. apply ret_inv in H as (E & _). exact (Hst E). Qed.

(** Finding two events, in order, in a trace built by [grows]. *)
Lemma ord_x : forall {A} (r : list A) x y tr, (exists l2 l3, r = l2 ++ y :: l3 ++ tr) ->
  exists l1 l2 l3, x :: r = l1 ++ x :: l2 ++ y :: l3 ++ tr.
Proof. intros A r x y tr (l2 & l3 & ->). exists [], l2, l3. reflexivity. Qed.
Lemma ord_front : forall {A} (a r : list A) x y tr, (exists l1 l2 l3, r = l1 ++ x :: l2 ++ y :: l3 ++ tr) ->
  exists l1 l2 l3, a ++ r = l1 ++ x :: l2 ++ y :: l3 ++ tr.
Proof. intros A a r x y tr (l1 & l2 & l3 & ->). exists (a ++ l1), l2, l3. rewrite <- app_assoc. reflexivity. Qed.
Lemma ord_y : forall {A} (r : list A) y tr, (exists l3, r = l3 ++ tr) -> exists l2 l3, y :: r = l2 ++ y :: l3 ++ tr.
Proof. intros A r y tr (l3 & ->). exists [], l3. reflexivity. Qed.
Lemma ord_front2 : forall {A} (a r : list A) y tr, (exists l2 l3, r = l2 ++ y :: l3 ++ tr) ->
  exists l2 l3, a ++ r = l2 ++ y :: l3 ++ tr.
Proof. intros A a r y tr (l2 & l3 & ->). exists (a ++ l2), l3. rewrite <- app_assoc. reflexivity. Qed.
Lemma ord_front3 : forall {A} (a r tr : list A), (exists l3, r = l3 ++ tr) -> exists l3, a ++ r = l3 ++ tr.
Proof. intros A a r tr (l3 & ->). exists (a ++ l3). rewrite <- app_assoc. reflexivity. Qed.
Lemma ord_end : forall {A} (tr : list A), exists l3, tr = l3 ++ tr.
Proof. intros A tr. exists []. reflexivity. Qed.
Ltac in_order := repeat first [apply ord_x | apply ord_front | apply ord_y | apply ord_front2 | apply ord_front3 | apply ord_end].
