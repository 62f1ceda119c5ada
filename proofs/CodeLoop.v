(** * Loops of the translated code: no failure from a variant

    [GoCoq.loop] runs its body at most [fuel] times and fails with
    [OutOfFuel] if the condition still holds. A loop whose condition only
    reads, with an invariant [P] its body keeps and a variant [m] (a bound
    on the iterations left, no more than the fuel, that every iteration
    decreases and that is positive while the condition holds), never fails
    and ends in a state satisfying [Q]. *)
From Coq Require Import ZArith Lia List Bool.
From Bulkhead.Code Require Import GoCoq.
Import ListNotations.
Open Scope Z_scope.

Section Rep.
Context {S L R : Type}.
Context (f : L -> M S (L + R)).
Context (P : L -> S -> list event -> Prop).
Context (Q : R -> S -> list event -> Prop).
Context (m : L -> nat).
Context (f_spec : forall l s tr, P l s tr -> exists r s' tr', f l s tr = Ok r s' tr' /\
  match r with inl l' => P l' s' tr' /\ (m l' < m l)%nat | inr x => Q x s' tr' end).

Lemma rep_spec : forall p l s tr, P l s tr -> exists r s' tr', rep p f l s tr = Ok r s' tr' /\
  match r with inl l' => P l' s' tr' /\ (m l' + Pos.to_nat p <= m l)%nat | inr x => Q x s' tr' end.
Proof.
  induction p as [p IH|p IH|]; intros l s tr HP; cbn [rep].
  - destruct (f_spec l s tr HP) as (r & s1 & tr1 & Hf & Hr).
    unfold bind. rewrite Hf. destruct r as [l1|x].
    + destruct Hr as [HP1 Hm1].
      destruct (IH l1 s1 tr1 HP1) as (r2 & s2 & tr2 & H2 & Hr2). rewrite H2.
      destruct r2 as [l2|x2].
      * destruct Hr2 as [HP2 Hm2].
        destruct (IH l2 s2 tr2 HP2) as (r3 & s3 & tr3 & H3 & Hr3). rewrite H3.
        exists r3, s3, tr3. split; [reflexivity|]. destruct r3; [|exact Hr3].
        destruct Hr3 as [HP3 Hm3]. split; [exact HP3|]. rewrite Pos2Nat.inj_xI. lia.
      * unfold ret. exists (inr x2), s2, tr2. split; [reflexivity|exact Hr2].
    + unfold ret. exists (inr x), s1, tr1. split; [reflexivity|exact Hr].
  - destruct (IH l s tr HP) as (r1 & s1 & tr1 & H1 & Hr1). unfold bind. rewrite H1.
    destruct r1 as [l1|x1].
    + destruct Hr1 as [HP1 Hm1].
      destruct (IH l1 s1 tr1 HP1) as (r2 & s2 & tr2 & H2 & Hr2). rewrite H2.
      exists r2, s2, tr2. split; [reflexivity|]. destruct r2; [|exact Hr2].
      destruct Hr2 as [HP2 Hm2]. split; [exact HP2|]. rewrite Pos2Nat.inj_xO. lia.
    + unfold ret. exists (inr x1), s1, tr1. split; [reflexivity|exact Hr1].
  - destruct (f_spec l s tr HP) as (r & s1 & tr1 & Hf & Hr). rewrite Hf.
    exists r, s1, tr1. split; [reflexivity|]. destruct r; [|exact Hr].
    destruct Hr as [HP1 Hm1]. split; [exact HP1|]. cbn. lia.
Qed.
End Rep.

Section Loop.
Context {S L X : Type}.
Context (fuel : Z) (cond : L -> M S bool) (body : L -> M S (step L X)) (post : L -> M S L).
Context (P : L -> S -> list event -> Prop).
Context (Q : join L X -> S -> list event -> Prop).
Context (m : L -> nat).

Context (cond_spec : forall l s tr, P l s tr -> exists c, cond l s tr = Ok c s tr /\
  (c = true -> (0 < m l)%nat) /\ (c = false -> Q (Fall l) s tr)).
Context (body_spec : forall l s tr, P l s tr -> cond l s tr = Ok true s tr ->
  exists r s' tr', body l s tr = Ok r s' tr' /\
  match r with
  | Continue l' => exists l'' , post l' s' tr' = Ok l'' s' tr' /\ P l'' s' tr' /\ (m l'' < m l)%nat
  | Break l' => Q (Fall l') s' tr'
  | Leave x => Q (Jump x) s' tr'
  end).

Theorem loop_spec : forall l s tr, P l s tr -> (m l <= Pos.to_nat (Z.to_pos fuel))%nat ->
  exists j s' tr', loop fuel cond body post l s tr = Ok j s' tr' /\ Q j s' tr'.
Proof.
  intros l s tr HP Hm. unfold loop. cbv zeta.
  set (once := fun l0 : L =>
    bind (cond l0) (fun c => if negb c then ret (inr (Fall l0)) else
      bind (body l0) (fun r => match r with
        | Continue l' => bind (post l') (fun l'' => ret (inl l''))
        | Break l' => ret (inr (Fall l'))
        | Leave x => ret (inr (Jump x)) end))).
  assert (Honce : forall l s tr, P l s tr -> exists r s' tr', once l s tr = Ok r s' tr' /\
    match r with inl l' => P l' s' tr' /\ (m l' < m l)%nat | inr x => Q x s' tr' end).
  { intros l0 s0 tr0 HP0. destruct (cond_spec l0 s0 tr0 HP0) as (c & Hc & Hct & Hcf).
    unfold once, bind. rewrite Hc. destruct c; cbn [negb].
    - destruct (body_spec l0 s0 tr0 HP0 Hc) as (r & s1 & tr1 & Hb & Hr). rewrite Hb.
      destruct r as [l1|l1|x].
      + destruct Hr as (l2 & Hp & HP2 & Hm2). rewrite Hp. unfold ret.
        exists (inl l2), s1, tr1. split; [reflexivity|]. split; [exact HP2|exact Hm2].
      + unfold ret. exists (inr (Fall l1)), s1, tr1. split; [reflexivity|exact Hr].
      + unfold ret. exists (inr (Jump x)), s1, tr1. split; [reflexivity|exact Hr].
    - unfold ret. exists (inr (Fall l0)), s0, tr0. split; [reflexivity|]. apply Hcf. reflexivity. }
  destruct (rep_spec once P Q m Honce (Z.to_pos fuel) l s tr HP) as (r & s1 & tr1 & Hr & Hrr).
  fold once. unfold bind at 1. rewrite Hr.
  destruct r as [l1|j].
  - destruct Hrr as [HP1 Hm1].
    destruct (cond_spec l1 s1 tr1 HP1) as (c & Hc & Hct & Hcf).
    unfold bind. rewrite Hc. destruct c.
    + specialize (Hct eq_refl). lia.
    + unfold ret. exists (Fall l1), s1, tr1. split; [reflexivity|]. apply Hcf. reflexivity.
  - unfold ret. exists j, s1, tr1. split; [reflexivity|exact Hrr].
Qed.
End Loop.

(** The iterations a fuel allows: at least one, and [fuel] when positive. *)
Lemma fuel_nat : forall fuel, 0 < fuel -> Pos.to_nat (Z.to_pos fuel) = Z.to_nat fuel.
Proof. intros fuel H. rewrite <- Z2Nat.inj_pos, Z2Pos.id by lia. reflexivity. Qed.
