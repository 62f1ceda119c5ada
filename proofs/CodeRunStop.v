(** * The stop test of a run is dead code in the sequential semantics

    Lemmas about proofs/code/Isolation.v, the translation of [Engine.run]
    (isolation/vm.go). Each entry of a run stores [VCPURunning] into the
    vCPU's state, enters the guest through the platform and then reads the
    state back: [if vc.state != VCPURunning && !plant.RunIgnoresStop]
    returns the stopped exit. Only another CPU (a SYSTEM_OFF under
    [Serial], left out of the translation) could change the state between
    the store and the read; here nothing does, since the platform's answer
    is a function of the trace and the arguments and only the vCPU's
    context is written back through its pointer.

    [Engine_run_with b] is the translation of [run] with the switch
    [plant.RunIgnoresStop] read as [b]: the translation reads it as
    [false] ([Engine_run_is_with_false]); [gocoq -plant RunIgnoresStop]
    reads it as [true], which is [Engine_run_with true]. For every engine,
    VM, vCPU place whose reads give back what was last stored through it
    ([put_get]: every place built from the root by fields and in-range
    elements), memory and trace, the two give the same outcome
    ([Engine_run_stop_dead]): the planted bug is an equivalent mutant of
    the translated code, and only a concurrent test can catch it. *)
From Coq Require Import ZArith Lia List Bool String.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodeTrack CodeRunWith.
Import ListNotations.
Import Isolation.
Open Scope Z_scope.
Open Scope bool_scope.

(** The translation of [run] is [Engine_run_with false] (proofs/CodeRunWith.v): the text there is
    the translator's, with the switch named. *)
Theorem Engine_run_is_with_false : forall {S} (e : ptr S Engine) m vc,
  Engine_run e m vc = Engine_run_with false e m vc.
Proof. reflexivity. Qed.

(** A place reads back what was last stored through it. *)
Definition put_get {S A} (p : ptr S A) : Prop :=
  match p with
  | Nil => True
  | Place ld st => forall b s s', st b s = Some s' -> ld s' = Some b
  end.

Lemma put_get_root : forall {S}, put_get (@root S).
Proof. intros S b s s' H. cbn in H. congruence. Qed.

Lemma put_get_pfield : forall {S A B} (p : ptr S A) (get : A -> B) set s tr q s' tr',
  put_get p -> (forall b a, get (set b a) = b) ->
  pfield p get set s tr = Ok q s' tr' -> put_get q.
Proof.
  intros S A B [|ld st] get set s tr q s' tr' Hp Hg H; cbn [pfield ret fail] in H; [discriminate|].
  injection H as <- _ _. intros b s1 s2 Hs. cbn.
  destruct (ld s1) as [a|]; [|discriminate].
  rewrite (Hp _ _ _ Hs). cbn. rewrite Hg. reflexivity.
Qed.

Lemma put_get_pindex : forall {S A} (p : ptr S (list A)) i s tr q s' tr',
  put_get p -> pindex p i s tr = Ok q s' tr' -> put_get q.
Proof.
  intros S A [|ld st] i s tr q s' tr' Hp H; unfold pindex, bind, deref, fail, ret in H; [discriminate|].
  destruct (ld s) as [xs|]; [|discriminate].
  destruct ((i <? 0) || (len xs <=? i)) eqn:Hi; [discriminate|].
  injection H as <- _ _. apply orb_false_iff in Hi as [Hi0 Hi1].
  rewrite Z.ltb_ge in Hi0. intros b s1 s2 Hs. cbn in Hs |- *.
  destruct (ld s1) as [ys|]; [|discriminate].
  destruct (len ys <=? i) eqn:Hl; [discriminate|].
  rewrite (Hp _ _ _ Hs). apply Z.leb_gt in Hl. apply nth_replace_nth.
  unfold len in Hl. lia.
Qed.

Lemma bind_ext : forall {S A B} (m m' : M S A) (f g : A -> M S B) s t,
  (forall s t, m s t = m' s t) -> (forall a s t, f a s t = g a s t) ->
  bind m f s t = bind m' g s t.
Proof. intros. unfold bind. rewrite H. destruct (m' s t); auto. Qed.

Lemma rep_ext : forall {S L R} p (f g : L -> M S (L + R)),
  (forall l s t, f l s t = g l s t) -> forall l s t, rep p f l s t = rep p g l s t.
Proof.
  intros S L R p f g H. induction p as [p IH|p IH|]; intros l s t; cbn [rep]; auto.
  - apply bind_ext; [apply H|]. intros [l'|x] s' t'; [|reflexivity].
    apply bind_ext; [apply IH|]. intros [l''|y] s'' t''; [apply IH|reflexivity].
  - apply bind_ext; [apply IH|]. intros [l'|x] s' t'; [apply IH|reflexivity].
Qed.

Lemma loop_ext : forall {S L X} fuel (cond : L -> M S bool) (body body' : L -> M S (step L X)) post l s t,
  (forall l s t, body l s t = body' l s t) ->
  loop fuel cond body post l s t = loop fuel cond body' post l s t.
Proof.
  intros S L X fuel cond body body' post l s t H. unfold loop.
  apply bind_ext; [|reflexivity].
  apply rep_ext. intros l' s' t'. apply bind_ext; [reflexivity|].
  intros c s'' t''. destruct (negb c); [reflexivity|].
  apply bind_ext; [apply H|reflexivity].
Qed.

(** One entry: after the store of [VCPURunning], the platform's
    EnterGuest and the store of the context it answers, the state read
    back is [VCPURunning], so the stop test is false whatever the switch. *)
Lemma run_iter_stop_dead : forall {S} b (e : ptr S Engine) m (vc : ptr S vcpu) vttbr budget i s t,
  put_get vc -> run_iter b e m vc vttbr budget i s t = run_iter false e m vc vttbr budget i s t.
Proof.
  intros S b e m [|ld st] vttbr budget i s t Hvc; [reflexivity|].
  unfold run_iter. cbv beta iota delta [bind pfield store deref ret fail get_platform trace_now emit].
  destruct (ld s) as [a|] eqn:Ha; [|reflexivity].
  destruct (st (set_vcpu_state VCPURunning a) s) as [s1|] eqn:Hs1; [|reflexivity].
  destruct e as [|lde ste]; [reflexivity|]. cbv beta iota.
  destruct (lde s1) as [E|]; [|reflexivity].
  destruct (Engine_plat E) as [o|]; [|reflexivity]. cbv beta iota.
  rewrite (Hvc _ _ _ Hs1). cbn [option_map].
  destruct (Platform_EnterGuest o t vttbr (vcpu_ctx (set_vcpu_state VCPURunning a))) as [x ctx].
  cbv beta iota. rewrite (Hvc _ _ _ Hs1).
  destruct (st (set_vcpu_ctx ctx (set_vcpu_state VCPURunning a)) s1) as [s2|] eqn:Hs2; [|reflexivity].
  rewrite (Hvc _ _ _ Hs2). reflexivity.
Qed.

(** The run with the stop test ignored ([plant.RunIgnoresStop], the
    translation [gocoq -plant RunIgnoresStop] makes) gives the same outcome
    as the run: the same exit registers, memory and trace, or the same
    failure, from every memory and trace. *)
Theorem Engine_run_stop_dead : forall {S} b (e : ptr S Engine) m (vc : ptr S vcpu) s t,
  put_get vc -> Engine_run_with b e m vc s t = Engine_run e m vc s t.
Proof.
  intros S b e m vc s t Hvc. rewrite Engine_run_is_with_false. unfold Engine_run_with.
  (* The six calls before the loop, the same on both sides. *)
  do 6 (apply bind_ext; [intros ? ?; reflexivity|intros ? ? ?]).
  apply bind_ext; [|reflexivity]. intros s' t'.
  apply loop_ext. intros [budget' i'] s'' t''. apply run_iter_stop_dead. exact Hvc.
Qed.
