(** * What no call changes: the configuration and the platform

    Theorems about proofs/code/Isolation.v, the translation of the
    isolation core. The engine's configuration ([Engine.cfg]) and its
    platform ([Engine.plat]) are set by [isolation.New] and written by no
    call: the translation writes them nowhere. Proved here, with the
    frame rules of CodeLedgerRefine.v ([framed]):
    - [static_rel]: two engines with the same configuration and platform;
      a store through a field of the engine other than those two keeps it
      ([static_pool] ... [static_marks]), and so does every computation
      that changes only the table pool ([frame_pool_static]) or nothing
      ([frame_eq_static]);
    - the recursive parts: the stage-2 update, the reservation count and
      the release of a stage-2's tables keep it ([update_static],
      [need_static], [freeTables_static]);
    - the places a call finds keep it: a VM slot ([liveVM],
      [callerVM]), a vCPU ([vcpuOf]), a ledger entry ([pageAt]); so do
      the parts several calls share ([setOwner_static],
      [checkMapped_static], [shadowMMIO_static], [guestPSCI_static],
      [run_static], ...);
    - so does every call through the engine's one entry, from the host
      or from a guest, whatever it answers ([Dispatch_static],
      [Dispatch_keeps_static]), and so does [boot] ([boot_static]). *)
From Coq Require Import ZArith Lia List Bool RelationClasses.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodeLedgerRefine.
Import ListNotations.
Open Scope Z_scope.

Definition static_rel (s s' : Isolation.Engine) : Prop :=
  Isolation.Engine_cfg s' = Isolation.Engine_cfg s /\ Isolation.Engine_plat s' = Isolation.Engine_plat s.

#[export] Instance static_rel_preorder : PreOrder static_rel.
Proof.
  split.
  - intros s. split; reflexivity.
  - intros s1 s2 s3 [C1 P1] [C2 P2]. split; congruence.
Qed.

Lemma frame_weaken : forall {S A} (R1 R2 : S -> S -> Prop) (P : A -> Prop) m,
  (forall s s', R1 s s' -> R2 s s') -> frame R1 P m -> frame R2 P m.
Proof. intros S A R1 R2 P m H F s t a s' t' E. destruct (F s t a s' t' E) as [Ha HR]. split; [exact Ha|exact (H _ _ HR)]. Qed.

Lemma frame_pool_static : forall {A} (P : A -> Prop) m, frame pool_rel P m -> frame static_rel P m.
Proof. intros A P m. apply frame_weaken. intros s s' (q & ->). split; reflexivity. Qed.

Lemma frame_eq_static : forall {A} (P : A -> Prop) m, frame eq P m -> frame static_rel P m.
Proof. intros A P m. apply frame_weaken. intros s s' <-. split; reflexivity. Qed.

(** ** The fields a call writes *)

Ltac field_static := intros s t b s' t' H; cbn in H; injection H as <- <- _; split; [|split; reflexivity];
  cbn; intros c s1 s2 E; injection E as <-; split; reflexivity.

Lemma static_pool : frame static_rel (ptr_in static_rel) (pfield root Isolation.Engine_pool Isolation.set_Engine_pool).
Proof. field_static. Qed.
Lemma static_pages : frame static_rel (ptr_in static_rel) (pfield root Isolation.Engine_pages Isolation.set_Engine_pages).
Proof. field_static. Qed.
Lemma static_host : frame static_rel (ptr_in static_rel) (pfield root Isolation.Engine_host Isolation.set_Engine_host).
Proof. field_static. Qed.
Lemma static_vms : frame static_rel (ptr_in static_rel) (pfield root Isolation.Engine_vms Isolation.set_Engine_vms).
Proof. field_static. Qed.
Lemma static_marks : frame static_rel (ptr_in static_rel) (pfield root Isolation.Engine_marks Isolation.set_Engine_marks).
Proof. field_static. Qed.
#[export] Hint Resolve static_pool static_pages static_host static_vms static_marks : frame.

(** ** The recursive parts *)

Lemma update_static : forall d t lvl ipa end' u,
  frame static_rel any (@Isolation.Engine_update Isolation.Engine d root t lvl ipa end' u).
Proof. intros. apply frame_pool_static, frame_update_any. Qed.

Lemma need_static : forall d t virt lvl ipa end' u,
  frame static_rel any (@Isolation.Engine_need Isolation.Engine d root t virt lvl ipa end' u).
Proof. intros. apply frame_eq_static, frame_need_any. Qed.

Lemma needBelow_static : forall d dsc lvl ipa stop u,
  frame static_rel any (@Isolation.Engine_needBelow Isolation.Engine d root dsc lvl ipa stop u).
Proof. intros. apply frame_eq_static, (proj2 (frame_need Isolation.Engine d)). Qed.
#[export] Hint Resolve update_static need_static needBelow_static : frame.

Lemma slot_static : forall t i, frame static_rel (ptr_in static_rel) (@Isolation.Engine_slot Isolation.Engine root t i).
Proof. intros t i. unfold Isolation.Engine_slot. framed. Qed.
#[export] Hint Resolve slot_static : frame.

Lemma freeTables_static : forall d t lvl,
  frame static_rel any (@Isolation.Engine_freeTables Isolation.Engine d root t lvl).
Proof. induction d as [|d IH]; intros; cbn [Isolation.Engine_freeTables]; framed. Qed.
#[export] Hint Resolve freeTables_static : frame.

(** ** The places a call finds *)

Lemma liveVM_static : forall id, frame static_rel (ptr_in static_rel) (@Isolation.Engine_liveVM Isolation.Engine root id).
Proof. intros id. unfold Isolation.Engine_liveVM. framed. Qed.
#[export] Hint Resolve liveVM_static : frame.

Lemma vcpuOf_static : forall id v, frame static_rel (pair_in static_rel) (@Isolation.Engine_vcpuOf Isolation.Engine root id v).
Proof. intros id v. unfold Isolation.Engine_vcpuOf. framed. Qed.
#[export] Hint Resolve vcpuOf_static : frame.

Lemma callerVM_static : forall c, frame static_rel (ptr_in static_rel) (@Isolation.Engine_callerVM Isolation.Engine root c).
Proof. intros c. unfold Isolation.Engine_callerVM. framed. Qed.

Lemma pageAt_static : forall pa, frame static_rel (ptr_in static_rel) (@Isolation.Engine_pageAt Isolation.Engine root pa).
Proof. intros pa. unfold Isolation.Engine_pageAt. framed. Qed.
#[export] Hint Resolve callerVM_static pageAt_static : frame.

(** ** The parts several calls share *)

Lemma setOwner_static : forall pa n o v, frame static_rel any (@Isolation.Engine_setOwner Isolation.Engine root pa n o v).
Proof. intros. unfold Isolation.Engine_setOwner. framed. Qed.
Lemma setShared_static : forall pa n b v, frame static_rel any (@Isolation.Engine_setShared Isolation.Engine root pa n b v).
Proof. intros. unfold Isolation.Engine_setShared. framed. Qed.
Lemma checkMapped_static : forall s ipa n o b v,
  frame static_rel any (@Isolation.Engine_checkMapped Isolation.Engine root s ipa n o b v).
Proof. intros. unfold Isolation.Engine_checkMapped. framed. Qed.
Lemma nextRun_static : forall s ipa n k, frame static_rel any (@Isolation.Engine_nextRun Isolation.Engine root s ipa n k).
Proof. intros. unfold Isolation.Engine_nextRun. framed. Qed.
#[export] Hint Resolve setOwner_static setShared_static checkMapped_static nextRun_static : frame.

Lemma shadowMMIO_static : forall m vc ex r b, ptr_in static_rel m -> ptr_in static_rel vc ->
  frame static_rel any (@Isolation.Engine_shadowMMIO Isolation.Engine root m vc ex r b).
Proof. intros. unfold Isolation.Engine_shadowMMIO. framed. Qed.
Lemma guestPSCI_static : forall c v id x1 x2 x3, ptr_in static_rel v ->
  frame static_rel any (@Isolation.Engine_guestPSCI Isolation.Engine root c v id x1 x2 x3).
Proof. intros. unfold Isolation.Engine_guestPSCI. framed. Qed.
#[export] Hint Resolve shadowMMIO_static guestPSCI_static : frame.

(** ** Every call *)

Lemma guestCallRegs_static : forall c x0 x1 x2 x3,
  frame static_rel any (@Isolation.Engine_guestCallRegs Isolation.Engine root c x0 x1 x2 x3).
Proof. intros. unfold Isolation.Engine_guestCallRegs. framed. Qed.
#[export] Hint Resolve guestCallRegs_static : frame.

Lemma run_static : forall pm vc, ptr_in static_rel pm -> ptr_in static_rel vc ->
  frame static_rel any (@Isolation.Engine_run Isolation.Engine root pm vc).
Proof. intros. unfold Isolation.Engine_run. framed. Qed.
#[export] Hint Resolve run_static : frame.

Lemma hostCall_static : forall x, frame static_rel any (@Isolation.Engine_hostCall Isolation.Engine root x).
Proof. intros. unfold Isolation.Engine_hostCall. framed. Qed.
#[export] Hint Resolve hostCall_static : frame.

Theorem Dispatch_static : forall c x,
  frame static_rel any (@Isolation.Engine_Dispatch Isolation.Engine root c x).
Proof. intros c x. unfold Isolation.Engine_Dispatch. framed. Qed.

(** So after any call through [Dispatch], whatever it answered, the
    engine has the configuration and the platform it had. *)
Corollary Dispatch_keeps_static : forall c x e tr out e' tr',
  Isolation.Engine_Dispatch root c x e tr = Ok out e' tr' ->
  Isolation.Engine_cfg e' = Isolation.Engine_cfg e /\ Isolation.Engine_plat e' = Isolation.Engine_plat e.
Proof. intros c x e tr out e' tr' H. exact (proj2 (Dispatch_static c x e tr out e' tr' H)). Qed.

(** And so does [boot]. *)
Theorem boot_static : forall e tr b e' tr', Isolation.Engine_boot root e tr = Ok b e' tr' ->
  Isolation.Engine_cfg e' = Isolation.Engine_cfg e /\ Isolation.Engine_plat e' = Isolation.Engine_plat e.
Proof.
  assert (F : frame static_rel any (@Isolation.Engine_boot Isolation.Engine root)) by (unfold Isolation.Engine_boot; framed).
  intros e tr b e' tr' H. exact (proj2 (F e tr b e' tr' H)).
Qed.
