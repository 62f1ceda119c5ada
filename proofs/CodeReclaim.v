(** * MEM_RECLAIM zeroes what it hands back

    A theorem about proofs/code/Isolation.v, the translation of
    isolation/mem.go. MEM_RECLAIM gives the host pages a VM owned; the
    host must never read what the VM left in them, so the engine asks the
    platform to zero them (an event of the trace, [ZeroPages pa n]) before
    it commits the ledger and maps them in the host stage-2. Whatever the
    engine, pages and platform, a MEM_RECLAIM that answers SUCCESS has
    asked for exactly its range to be zeroed, and then cleaned to the
    point of coherency, during the call. *)
From Coq Require Import ZArith Lia List Bool String.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodeTrace.
Import ListNotations.
Open Scope Z_scope.

(** A MEM_RECLAIM of [n] pages at [pa] that answers SUCCESS returns a
    trace holding, in front of the trace it was given, a request to zero
    those pages, and after it one to clean them. *)
Theorem MemReclaim_zeroes : forall e tr pa n s' tr',
  Isolation.Engine_MemReclaim root pa n e tr = Ok Abi.Success s' tr' ->
  exists l1 l2 l3, tr' = l1 ++ mkEvent "CleanToPoC" [pa; n] :: l2 ++ mkEvent "ZeroPages" [pa; n] :: l3 ++ tr.
Proof.
  intros e tr pa n s' tr' H. unfold Isolation.Engine_MemReclaim in H.
  repeat progress (unbind H; try (split_match H; try (exfalso; revert H; apply status_ne; discriminate))).
  (* The scan left with the status of a page it refused. *)
  2:{ exfalso. match goal with Hl : loop _ _ _ _ _ _ _ = Ok (Jump ?x) _ _ |- _ =>
      apply (loop_jump _ _ _ _ _ (fun x => x <> Abi.Success)) in Hl; [exact (Hl (proj1 (ret_inv _ _ _ _ _ _ H)))|] end.
    clear. intros l s t x s' t' H. unbind H.
    repeat match type of H with
    | (if ?b then _ else _) _ _ = _ => destruct b
    | ret _ _ _ = Ok _ _ _ => apply ret_inv in H as (E & _); first [discriminate E | injection E as <-; discriminate]
    end. }
  match goal with Hz : (if negb false then _ else _) _ _ = _ |- _ => cbn [negb] in Hz; unbind Hz end.
  repeat match goal with Hc : call_iface _ _ _ _ _ = Ok _ _ _ |- _ => apply call_iface_inv in Hc end.
  repeat match goal with Hg : ?m ?s ?t = Ok _ _ _ |- _ => grown Hg; clear Hg end.
  subst. in_order.
Qed.
