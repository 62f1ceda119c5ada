(** * GUEST_SHARE, GUEST_UNSHARE and GUEST_RELINQUISH never fail

    Theorems about proofs/code/Isolation.v, the translation of
    isolation/mem.go. Each of the three guest memory calls checks its
    range and each page of it ([guest_checks]), sums [runNeed] over the
    runs of the range ([reserve], CodeRuns.runs_loop), answers NO_MEMORY
    when the pool has fewer free tables, and then walks the runs again,
    updating one stage-2 and the ledger for each. Proved here:
    - the second loop of GUEST_SHARE and GUEST_UNSHARE, which update the
      host stage-2, never fails when each run's update takes at most its
      [runNeed] ([host_runs_loop]): the VM's stage-2 shares no table with
      the host's, so it walks the runs the reservation counted, and what
      is left of the reservation stays at most the free tables; the
      state it reaches changes only the ledger and the pool, the host
      stage-2 keeping [root_inv] and every table outside its tree kept
      ([host_step]); CodeGuestRefine takes the two calls apart with it;
    - GUEST_RELINQUISH unmaps each run from the VM's own stage-2, which
      leaves the walk of the pages after the run as it was
      (CodeWalkRange.unmapRange_walk_range), so it walks the runs the
      reservation counted too: it never reaches a failure outcome from a
      live VM, for a 64-bit IPA and count, from [mem_ok], the pool placed
      ([pool_placed]), the stage-2 of every live VM with [root_inv], the
      VM's walk below 2^48 and RAM below 2^40; an error changes nothing,
      and SUCCESS changes only the ledger, the pool and the
      platform's trace (the zeroing and the clean of each run), the VM's
      stage-2 keeping [root_inv] and its walk below 2^48 ([vm_step],
      [GuestRelinquish_no_failure]); the range is gone from the VM's
      walk and each ledger entry it reached owned by nobody
      ([relinq_done], CodeRuns.run_ledger_step); each zeroing it asks
      the platform for is of pages whose ledger entries it leaves owned
      by nobody, and each entry it changes is of a page it zeroed
      ([zeroed_gone]). *)
From Coq Require Import ZArith Lia List Bool String.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodeTrace CodePlace CodeLoop CodeLedger CodeVCPU CodeVMCreate CodeStage2 CodeTransfer
  CodeShadow CodeMemState CodeMapped CodeAbs CodeVMCreateRefine CodePool CodeMemShare CodeDonate CodeLedgerRefine
  CodeAbsLedger CodeUpdateRoot CodeUpdateRange CodeUpdateRootRange CodeMemNoFailure CodeEngineInv CodeWalkRange CodeWalkCalls
  CodeRunNeed CodeRuns CodeGuestErrors.
Import ListNotations.
Open Scope Z_scope.

(** The place of VM slot [i] the guest calls take, in any state whose
    slot [i] holds a VM. *)
Lemma slot_place : forall i, 0 <= i -> exists q0 q,
  (forall s t, pfield root Isolation.Engine_vms Isolation.set_Engine_vms s t = Ok q0 s t) /\
  forall s t m, nth_error (Isolation.Engine_vms s) (Z.to_nat i) = Some m -> pindex q0 i s t = Ok q s t /\ good q s m.
Proof.
  intros i Hi. eexists; eexists. split; [intros; reflexivity|]. intros s t m Hn.
  assert (Hl : i < len (Isolation.Engine_vms s))
    by (assert (H : nth_error (Isolation.Engine_vms s) (Z.to_nat i) <> None) by congruence; apply nth_error_Some in H; unfold len; lia).
  unfold pindex, bind, deref. cbn [option_map].
  replace ((i <? 0) || (len (Isolation.Engine_vms s) <=? i)) with false
    by (symmetry; apply orb_false_iff; split; [apply Z.ltb_ge|apply Z.leb_gt]; lia).
  split; [reflexivity|].
  do 2 eexists. split; [reflexivity|]. split; [exact Hn|].
  intros b. replace (len (Isolation.Engine_vms s) <=? i) with false by (symmetry; apply Z.leb_gt; lia). eexists. reflexivity.
Qed.

(** [pfield] reads nothing of the state. *)
Lemma pfield_any : forall {S A B} (p : ptr S A) (get : A -> B) set s t q s' t', pfield p get set s t = Ok q s t ->
  pfield p get set s' t' = Ok q s' t'.
Proof. intros S A B p get set s t q s' t' H. destruct p as [|ld st]; [discriminate H|]. cbn in *. injection H as <-. reflexivity. Qed.

Lemma runs_nonneg : forall e s2 ipa n f k N, (forall k pa cnt, run_at e s2 ipa n k pa cnt -> 0 <= f (ipa + k * 4096) pa cnt) ->
  runs e s2 ipa n f k N -> 0 <= N.
Proof. intros e s2 ipa n f k N Hf H. induction H as [k Hk|k pa cnt N Hk Hr Hrs IH]; [lia|]. pose proof (Hf k pa cnt Hr). lia. Qed.

Lemma runs_at : forall e s2 ipa n f k N, runs e s2 ipa n f k N -> k < n ->
  exists pa cnt N1, run_at e s2 ipa n k pa cnt /\ runs e s2 ipa n f (k + cnt) N1 /\ N = f (ipa + k * 4096) pa cnt + N1.
Proof. intros e s2 ipa n f k N H Hk. destruct H as [k Hk'|k pa cnt N1 _ Hr Hrs]; [lia|]. exists pa, cnt, N1. auto. Qed.

Lemma set_pool_pages_same : forall e, Isolation.set_Engine_pool (Isolation.Engine_pool e) (Isolation.set_Engine_pages (Isolation.Engine_pages e) e) = e.
Proof. intros []. reflexivity. Qed.

Lemma set_pages_pool : forall a q e, Isolation.set_Engine_pages a (Isolation.set_Engine_pool q e) =
  Isolation.set_Engine_pool q (Isolation.set_Engine_pages a e).
Proof. intros a q [] . reflexivity. Qed.

(** The walk of a stage-2 whose tree is kept, in a state with the same
    pool base and size, is as it was. *)
Lemma walk_kept : forall e S s2 k, tables_ok e -> tables_ok S -> pool_base S = pool_base e -> len (tables S) = len (tables e) ->
  root_inv e (Isolation.stage2_root s2) -> tree_kept e S (Isolation.stage2_root s2) -> walk S s2 k = walk e s2 k.
Proof.
  intros e S s2 k Hok HokS HB HL Hr Hk. symmetry.
  apply walk_frame; [exact Hok|exact HokS|exact HB|exact HL| |].
  - right. exact (l1_inv_tree e _ (root_inv_l1 e _ Hr)).
  - apply agree_kept; assumption.
Qed.

Lemma wpa_kept : forall e S s2 x, (forall k, walk S s2 k = walk e s2 k) -> wpa S s2 x = wpa e s2 x.
Proof. intros e S s2 x H. unfold wpa. rewrite H. reflexivity. Qed.

(** GUEST_SHARE and GUEST_UNSHARE count of a run the tables of its update
    of the host stage-2, at its PA. *)
Definition host_need (first pa cnt : Z) : Z := run_need pa cnt.

(** An engine [S] the loop of a host update reaches from [e]: the ledger
    and the pool changed, the host stage-2 still with [root_inv], the
    pool at the same place, every table outside the host's tree kept. *)
Definition host_step (e S : Isolation.Engine) : Prop :=
  (exists qq ps, S = Isolation.set_Engine_pool qq (Isolation.set_Engine_pages ps e) /\
     len ps = len (Isolation.Engine_pages e)) /\
  root_inv S (Isolation.stage2_root (Isolation.Engine_host e)) /\ pool_base S = pool_base e /\
  len (tables S) = len (tables e) /\ tree_frame e S (Isolation.stage2_root (Isolation.Engine_host e)).

Lemma host_step_refl : forall e, root_inv e (Isolation.stage2_root (Isolation.Engine_host e)) -> host_step e e.
Proof.
  intros e Hr. split; [exists (Isolation.Engine_pool e), (Isolation.Engine_pages e); split; [symmetry; apply set_pool_pages_same|reflexivity]|].
  split; [exact Hr|]. split; [reflexivity|]. split; [reflexivity|apply tree_frame_refl].
Qed.

(** A run of [cnt] pages at [pa] inside RAM fits the ledger of a state
    with [e]'s configuration and as many entries: what [setShared] and
    [setOwner] need of it. *)
Lemma run_fits : forall e X pa cnt, ledger_ok e -> Isolation.Engine_cfg X = Isolation.Engine_cfg e ->
  len (Isolation.Engine_pages X) = len (Isolation.Engine_pages e) ->
  pa mod 4096 = 0 -> ram_base e <= pa -> pa + cnt * 4096 <= ram_base e + ram_size e -> 1 <= cnt ->
  0 <= Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg X)) <= pa /\ pa < 2 ^ 64 /\
  (pa - Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg X))) / 4096 + cnt <= len (Isolation.Engine_pages X) /\
  len (Isolation.Engine_pages X) < 2 ^ 64.
Proof.
  intros e X pa cnt Hl Ec Hlen Hpa Hlo Hhi Hc. rewrite Ec, Hlen. pose proof Hl as (Hb0 & Hs0 & Hbs & Hbal & Hl4).
  unfold ram_base, ram_size in *. set (base := Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e))) in *.
  assert (Hd : (pa - base) mod 4096 = 0) by (rewrite Zminus_mod, Hpa, Hbal; reflexivity).
  pose proof (Z.div_mod (pa - base) 4096 ltac:(lia)). unfold len in *. lia.
Qed.

(** The second loop of GUEST_SHARE and GUEST_UNSHARE: it walks the runs
    of the VM's range again, and updates the host stage-2 and the ledger
    for each. From the reservation ([runs] of [host_need] from page 0 at
    most the free tables), when the body, from a state the loop reaches
    with [nextRun] there returning the run of the reservation and at
    least that run's [host_need] free, updates without failure taking at
    most that, the loop never fails. The VM's stage-2 shares no table
    with the host's, so its walk, and its runs, stay as they were. What
    the body keeps from page [k] to the page after the run ([I]) holds
    at the end of the range. *)
Theorem host_runs_loop : forall (body : Z -> M Isolation.Engine (step Z Empty_set)) e tr m s ipa n N
    (I : Z -> Isolation.Engine -> Prop),
  ledger_ok e -> tables_ok e -> pool_placed e -> root_inv e (Isolation.stage2_root (Isolation.Engine_host e)) ->
  root_inv e (Isolation.stage2_root (Isolation.vm_s2 m)) ->
  (forall y, in_tree e (Isolation.stage2_root (Isolation.vm_s2 m)) y -> ~ in_tree e (Isolation.stage2_root (Isolation.Engine_host e)) y) ->
  (forall S, Isolation.Engine_vms S = Isolation.Engine_vms e -> good s S (Isolation.vm_s2 m)) ->
  0 <= ipa -> ipa mod 4096 = 0 -> 0 <= n -> ipa + n * 4096 <= 2 ^ 40 -> ram_base e + ram_size e <= 2 ^ 40 ->
  in_ram_range e (Isolation.vm_s2 m) ipa n ->
  runs e (Isolation.vm_s2 m) ipa n host_need 0 N -> N <= count_free (Isolation.Engine_pool e) -> I 0 e ->
  (forall k S t pa cnt, host_step e S -> I k S -> 0 <= k -> run_at e (Isolation.vm_s2 m) ipa n k pa cnt ->
     pa mod 4096 = 0 -> ram_base e <= pa -> pa + cnt * 4096 <= ram_base e + ram_size e ->
     run_need pa cnt <= count_free (Isolation.Engine_pool S) ->
     Isolation.Engine_nextRun root s ipa n k S t = Ok (ipa + k * 4096, pa, cnt) S t ->
     exists S' t', body k S t = Ok (Continue (wrapu 64 (k + cnt))) S' t' /\ host_step e S' /\
       tree_frame S S' (Isolation.stage2_root (Isolation.Engine_host e)) /\
       count_free (Isolation.Engine_pool S) - run_need pa cnt <= count_free (Isolation.Engine_pool S') /\ I (k + cnt) S') ->
  exists k' S t, loop max_fuel (fun k => ret (k <? n)) body (fun k => ret k) 0 e tr = Ok (Fall k') S t /\
    host_step e S /\ I n S.
Proof.
  intros body e tr m s ipa n N I Hl Ht Hpl Hhost Hvr Happ Hgood Hipa Hial Hn H40 Hram Hin Hruns HN HI0 Hbody.
  pose proof (root_inv_l1 e _ Hvr) as Hvl.
  assert (Hms2 : s2_ok e (Isolation.vm_s2 m)) by (right; exact (l1_inv_tree e _ Hvl)).
  set (hr := Isolation.stage2_root (Isolation.Engine_host e)) in *.
  set (vr := Isolation.stage2_root (Isolation.vm_s2 m)) in *.
  destruct (loop_spec max_fuel (fun k => ret (k <? n)) body (fun k => ret k)
    (fun k S t => host_step e S /\ I k S /\ 0 <= k <= n /\
       exists N', runs e (Isolation.vm_s2 m) ipa n host_need k N' /\ N' <= count_free (Isolation.Engine_pool S))
    (fun j S t => match j with Fall _ => host_step e S /\ I n S | Jump _ => False end)
    (fun k => Z.to_nat (n - k))) with (l := 0) (s := e) (tr := tr) as (j & S & t & Hj & Hq2).
  - intros k S t (Hst & HI & Hk & _). exists (k <? n). split; [reflexivity|]. split.
    + intros H. apply Z.ltb_lt in H. lia.
    + intros H. apply Z.ltb_ge in H. split; [exact Hst|]. replace n with k by lia. exact HI.
  - intros k S t (Hst & HI & Hk & N' & HrunsN & HNle) Hcnd.
    injection Hcnd as Hcnd. apply Z.ltb_lt in Hcnd.
    pose proof Hst as ((qq & ps & ES & Hps) & HrS & HB & HL & Htf).
    pose proof (root_inv_l1 S _ HrS) as HlS. pose proof HlS as (HpS & _). pose proof HpS as (HokS & _).
    assert (Hkept : tree_kept e S vr) by (apply (tree_kept_of_frame e S hr vr Htf Hvr); exact Happ).
    assert (HvrS : root_inv S vr) by exact (root_inv_frame e S vr Hvr HpS HB HL Hkept).
    assert (Hs2S : s2_ok S (Isolation.vm_s2 m)) by (right; exact (l1_inv_tree S _ (root_inv_l1 S _ HvrS))).
    assert (Hwalk : forall k0, walk S (Isolation.vm_s2 m) k0 = walk e (Isolation.vm_s2 m) k0)
      by (intros k0; exact (walk_kept e S _ k0 Ht HokS HB HL Hvr Hkept)).
    assert (HgsS : good s S (Isolation.vm_s2 m)) by (apply Hgood; rewrite ES; reflexivity).
    pose proof (Hin k ltac:(lia)) as (x & Hx & _).
    pose proof (nextRun_run S t s _ ipa n k HokS Hs2S HgsS ltac:(lia) ltac:(lia) Hial ltac:(lia)
      ltac:(rewrite (wpa_kept e S _ _ Hwalk), Hx; discriminate)) as (pa & cnt & Hnr & HrunS).
    (* The run there is the one the reservation counted. *)
    pose proof (runs_at e _ ipa n host_need k N' HrunsN Hcnd) as (pa0 & cnt0 & N1 & Hrun0 & Hruns1 & EN').
    pose proof (run_at_det e S _ _ ipa n k pa0 cnt0 pa cnt (fun i _ => wpa_kept e S _ _ Hwalk) Hrun0 HrunS) as [-> ->].
    unfold host_need in EN'.
    pose proof Hrun0 as (Hc & Hkc & _).
    pose proof (runs_nonneg e _ ipa n host_need _ N1
      ltac:(intros k0 pa1 cnt1 (Hc1 & _); unfold host_need; pose proof (run_need_bound pa1 cnt1 Hc1); lia) Hruns1).
    pose proof (run_in_ram e _ ipa n k pa0 cnt0 Hl Ht Hms2 Hipa Hial H40 ltac:(lia) Hram Hin Hrun0) as (Hpa0 & Hlo & Hhi).
    pose proof (Hbody k S t pa0 cnt0 Hst HI ltac:(lia) Hrun0 Hpa0 Hlo Hhi ltac:(lia) Hnr)
      as (S2 & t2 & Hb & Hst2 & Htf2 & Hcf2 & HI2).
    eexists _, S2, t2. split; [exact Hb|].
    eexists. split; [reflexivity|]. rewrite wrapu_small by lia.
    split; [|apply Z2Nat.inj_lt; lia].
    split; [exact Hst2|]. split; [exact HI2|]. split; [lia|]. exists N1. split; [exact Hruns1|lia].
  - split; [exact (host_step_refl e Hhost)|]. split; [exact HI0|]. split; [lia|]. exists N. split; [exact Hruns|exact HN].
  - rewrite max_fuel_nat. unfold max_fuel. lia.
  - destruct j as [k'|[]]. destruct Hq2 as [Hst HI]. exists k', S, t. split; [exact Hj|split; assumption].
Qed.

(** An answer that refuses the call and returns the engine and trace it
    was given: its outcome, and any statement about the events it added
    (none). *)
Ltac refused := eexists _, _, _; split; [reflexivity|]; split; [reflexivity|];
  first [intros E; first [discriminate E | contradiction]
        | split; [intros E; first [discriminate E | contradiction]
                 |exists []; split; [reflexivity|split; [intros ? []|intros ? Hne; contradiction (Hne eq_refl)]]]].

(** The checks of a guest memory call, taken apart: the slot's place,
    the range check (an error answers and changes nothing), [checkMapped]
    (likewise), after which the range is mapped to RAM ([Hin]) and each
    run of it lies in RAM ([Hrr]). *)
Ltac guest_checks code shared borrower e tr id ipa n m Hm Hroots Hram Hid Hnth Hlive Hipa Hn :=
  pose proof Hm as (Hl & _ & _ & _ & Ht & Hall);
  assert (Hms2 : s2_ok e (Isolation.vm_s2 m)) by (rewrite Forall_forall in Hall; exact (Hall m (nth_error_In _ _ Hnth)));
  pose proof (Hroots _ m Hnth Hlive) as Hvr;
  pose proof (slot_place (id - 1) ltac:(lia)) as (q0 & q & Hq0 & Hq);
  pose proof (Hq e tr m Hnth) as [Hqe Hgq];
  pose proof (pfield_good q Isolation.vm_s2 Isolation.set_vm_s2 e m tr Hgq) as (s & Hs & Hgs);
  assert (Hgood : forall S, Isolation.Engine_vms S = Isolation.Engine_vms e -> good s S (Isolation.vm_s2 m));
  [intros S HS; pose proof (Hq S tr m ltac:(rewrite HS; exact Hnth)) as [_ HgqS];
   pose proof (pfield_good q Isolation.vm_s2 Isolation.set_vm_s2 S m tr HgqS) as (s' & Hs' & HgsS);
   rewrite (pfield_any q Isolation.vm_s2 Isolation.set_vm_s2 e tr s S tr Hs) in Hs'; injection Hs' as <-; exact HgsS|];
  unfold code; rewrite (wrapu_small_16 (id - 1)) by lia;
  CodeShadow.step_by (Hq0 e tr); CodeShadow.step_by Hqe;
  pose proof (pageRange_spec e tr ipa n Isolation.ipaSpace Hipa Hn
    ltac:(unfold Isolation.ipaSpace, Isolation.ipaLimit; cbn; lia) ltac:(unfold Isolation.ipaSpace, Isolation.ipaLimit; cbn; lia))
    as (b & Hb & Hbs);
  CodeShadow.step_by Hb; unfold Isolation.guestPagesOK;
  destruct b; cbn [negb];
  [|ret_g; refused];
  ret_g; ret_g;
  destruct (Z.leb_spec n Abi.GuestMaxPages) as [Hg|Hg]; cbn [orb negb];
  [|refused];
  pose proof (proj1 Hbs eq_refl) as Hr; cbn [Isolation.ipaSpace Isolation.Range_Base Isolation.Range_Size] in Hr;
  destruct Hr as (Hn0 & Hial & _ & _ & H40); unfold Isolation.ipaLimit in H40;
  CodeShadow.step_by Hs;
  pose proof (checkMapped_no_failure e tr s (Isolation.vm_s2 m) ipa n id shared borrower Hm Hms2 Hgs Hipa Hn)
    as (st0 & Hcm & Hpass & Hfail);
  CodeShadow.step_by Hcm;
  destruct (st0 =? Abi.Success) eqn:E0; cbn [negb];
  [|apply Z.eqb_neq in E0; refused];
  apply Z.eqb_eq in E0; specialize (Hpass E0);
  assert (Hin : in_ram_range e (Isolation.vm_s2 m) ipa n);
  [apply (mapped_in_ram e tr s _ ipa n Hgs ltac:(lia) Hial ltac:(lia));
   let i := fresh "i" in let Hi := fresh "Hi" in let mi := fresh "mi" in let pg := fresh "pg" in
   intros i Hi; pose proof (Hpass i Hi) as (mi & pg & ? & ? & ? & ? & _); exists mi; repeat split; assumption|];
  assert (Hrr : forall k pa cnt, 0 <= k -> run_at e (Isolation.vm_s2 m) ipa n k pa cnt ->
            pa mod 4096 = 0 /\ ram_base e <= pa /\ pa + cnt * 4096 <= ram_base e + ram_size e);
  [let k := fresh "k" in let pa := fresh "pa" in let cnt := fresh "cnt" in let Hk := fresh "Hk" in let Hrun := fresh "Hrun" in
   intros k pa cnt Hk Hrun; exact (run_in_ram e _ ipa n k pa cnt Hl Ht Hms2 ltac:(lia) Hial ltac:(lia) Hk Hram Hin Hrun)|];
  pose proof Hl as (Hb0 & _);
  cbv zeta.

(** The reservation loop of a guest call and the pool check: the loop
    sums what [f] counts of the runs ([Hruns]), [runNeed] of the run
    from the address [g] picks of its first IPA and PA; NO_MEMORY changes
    nothing. *)
Ltac reserve f g e tr m ipa n s Hs Hin Ht Hms2 Hgs Hial Hrr Hram Hl1 :=
  match goal with |- context [loop max_fuel ?c ?b ?p (0, 0)] =>
    pose proof (runs_loop c b p e tr (Isolation.vm_s2 m) ipa n f ltac:(lia)
      ltac:(intros; reflexivity) ltac:(intros; reflexivity)) as (N & k' & Hloop & Hruns);
  [let k := fresh "k" in let pa := fresh "pa" in let cnt := fresh "cnt" in let Hc := fresh "Hc" in
   intros k pa cnt (Hc & _); unfold f; pose proof (run_need_bound (g (ipa + k * 4096) pa) cnt Hc); cbv beta in *; lia
  |let need := fresh "need" in let k := fresh "k" in let Hk := fresh "Hk" in let x := fresh "x" in let Hx := fresh "Hx" in
   let pa := fresh "pa" in let cnt := fresh "cnt" in let Hnr := fresh "Hnr" in let Hrun := fresh "Hrun" in
   let Hlo := fresh "Hlo" in let Hhi := fresh "Hhi" in let Hc := fresh "Hc" in
   intros need k Hk; cbv beta iota;
   pose proof (Hin k Hk) as (x & Hx & _);
   pose proof (nextRun_run e tr s _ ipa n k Ht Hms2 Hgs Hk ltac:(lia) Hial ltac:(lia) ltac:(rewrite Hx; discriminate))
     as (pa & cnt & Hnr & Hrun);
   exists pa, cnt; split; [exact Hrun|];
   CodeShadow.step_by Hs; CodeShadow.step_by Hnr;
   pose proof (Hrr k pa cnt ltac:(lia) Hrun) as (_ & Hlo & Hhi); pose proof Hrun as (Hc & _);
   unfold ram_base, ram_size in Hlo, Hhi, Hram;
   let a := eval cbv beta in (g (ipa + k * 4096) pa) in
   CodeShadow.step_by (runNeed_spec e tr a cnt ltac:(lia) Hc ltac:(lia)); reflexivity
  |];
  CodeShadow.step_by Hloop;
  CodeShadow.step_by (deref_root e tr);
  let Hcok := fresh "Hcok" in
  pose proof Hl1 as ((_ & _ & _ & Hcok & _) & _); unfold count_ok in Hcok;
  destruct (N >? Isolation.tablePool_nfree (Isolation.Engine_pool e)) eqn:EN;
  [refused|];
  rewrite Z.gtb_ltb, Z.ltb_ge, Hcok in EN end.

(** ** GUEST_RELINQUISH *)

(** GUEST_RELINQUISH counts of a run the tables of its unmap from the
    VM's own stage-2, at its IPA. *)
Definition relinq_need (first pa cnt : Z) : Z := run_need first cnt.

(** An engine [S] the loop of GUEST_RELINQUISH reaches from [e]: the
    ledger and the pool changed, the VM's stage-2 still with [root_inv]
    and mapping below 2^48, every table outside its tree kept. *)
Definition vm_step (e : Isolation.Engine) (s2 : Isolation.stage2) (S : Isolation.Engine) : Prop :=
  (exists qq ps, S = Isolation.set_Engine_pool qq (Isolation.set_Engine_pages ps e) /\
     len ps = len (Isolation.Engine_pages e)) /\
  root_inv S (Isolation.stage2_root s2) /\ pool_base S = pool_base e /\
  len (tables S) = len (tables e) /\ tree_frame e S (Isolation.stage2_root s2) /\ walk_below S s2.

(** After the unmap of [c] pages at [a], the walk at a page past them is
    as it was. *)
Lemma wpa_past : forall st S s2 a c x,
  (forall k', Z.of_nat k' * 4096 < 2 ^ 40 ->
     walk st s2 k' = if (a <=? Z.of_nat k' * 4096) && (Z.of_nat k' * 4096 <? a + c * 4096) then None else walk S s2 k') ->
  0 <= x < 2 ^ 40 -> x mod 4096 = 0 -> a + c * 4096 <= x -> wpa st s2 x = wpa S s2 x.
Proof.
  intros st S s2 a c x H Hx Hal Hpast. unfold wpa.
  assert (Ex : Z.of_nat (Z.to_nat (x / 4096)) * 4096 = x)
    by (rewrite Z2Nat.id by (apply Z.div_pos; lia); pose proof (Z.div_mod x 4096 ltac:(lia)); lia).
  rewrite H by lia. rewrite Ex. replace (x <? a + c * 4096) with false by (symmetry; apply Z.ltb_ge; lia).
  rewrite andb_false_r. reflexivity.
Qed.

(** The platform calls of GUEST_RELINQUISH: zero the run, then clean it,
    two events of the trace. *)
Lemma zero_clean : forall (E : Isolation.Engine) t pa cnt A (k : M Isolation.Engine A), Isolation.Engine_plat E <> None ->
  (let! t1 := deref root in let! _ := call_iface (Isolation.Engine_plat t1) "ZeroPages" [pa; cnt] in
   let! t2 := deref root in let! _ := call_iface (Isolation.Engine_plat t2) "CleanToPoC" [pa; cnt] in k) E t =
  k E (mkEvent "CleanToPoC" [pa; cnt] :: mkEvent "ZeroPages" [pa; cnt] :: t).
Proof.
  intros E t pa cnt A k Hp. cbv [bind deref root call_iface is_set emit].
  destruct (Isolation.Engine_plat E) eqn:Ep; [|contradiction]. cbv beta iota. rewrite Ep. reflexivity.
Qed.

Lemma wpa_same_pool : forall e e' s2 x, tables_ok e -> s2_ok e s2 ->
  Isolation.Engine_pool e' = Isolation.Engine_pool e -> wpa e' s2 x = wpa e s2 x.
Proof. intros e e' s2 x Hok Hs2 Ep. unfold wpa. rewrite (walk_same_pool e e' s2 _ Hok Hs2 Ep). reflexivity. Qed.

(** The entry GUEST_RELINQUISH leaves for each page it gives up: owned
    by nobody, not shared. *)
Definition gone_page : Isolation.page := Isolation.mk_page Abi.OwnerNone (wrapu 8 Isolation.HostVMID) false 0.

(** What the runs of GUEST_RELINQUISH have done from page 0 to page [k]:
    those pages are gone from the VM's walk, every other IPA page below
    2^40 as it was, and each ledger entry their walk reached is
    [gone_page], every other as it was. *)
Definition relinq_done (e : Isolation.Engine) (s2 : Isolation.stage2) (ipa k : Z) (S : Isolation.Engine) : Prop :=
  (forall k', Z.of_nat k' * 4096 < 2 ^ 40 ->
     walk S s2 k' = if (ipa <=? Z.of_nat k' * 4096) && (Z.of_nat k' * 4096 <? ipa + k * 4096) then None else walk e s2 k') /\
  (forall j, nth j (Isolation.Engine_pages S) Isolation.zero_page = run_ledger gone_page e s2 ipa (Z.to_nat k) j).

(** Every call writing memory ([CodeTrace.writes_memory]) among the
    events in front of [tr] in [tr'] zeroes pages from RAM whose ledger
    entries in [e'] are [gone_page]; and every ledger entry that differs
    from [e]'s is of a page one of those zeroings covered. *)
Definition zeroed_gone (e e' : Isolation.Engine) (tr tr' : list event) : Prop :=
  exists l, tr' = l ++ tr /\
    (forall ev, In ev l -> writes_memory ev = true ->
       exists pa cnt, ev = mkEvent "ZeroPages" [pa; cnt] /\ ram_base e' <= pa /\
         forall i, 0 <= i < cnt -> nth (Z.to_nat ((pa - ram_base e') / 4096 + i)) (Isolation.Engine_pages e')
           Isolation.zero_page = gone_page) /\
    (forall j, nth j (Isolation.Engine_pages e') Isolation.zero_page <> nth j (Isolation.Engine_pages e) Isolation.zero_page ->
       exists pa cnt i, In (mkEvent "ZeroPages" [pa; cnt]) l /\ ram_base e' <= pa /\ 0 <= i < cnt /\
         j = Z.to_nat ((pa - ram_base e') / 4096 + i)).

Lemma zeroed_gone_pool : forall e S q tr t, zeroed_gone e S tr t -> zeroed_gone e (Isolation.set_Engine_pool q S) tr t.
Proof. intros e [] q tr t H. exact H. Qed.

(** A run of GUEST_RELINQUISH: calls that write nothing ([l1], the
    unmap), then the zeroing and cleaning of [cnt] pages at [pa], whose
    entries the ledger commit makes [gone_page], every other entry kept. *)
Lemma zeroed_gone_step : forall e X ps1 tr t l1 pa cnt,
  zeroed_gone e X tr t -> Forall quiet_event l1 -> ram_base X <= pa ->
  (forall j, nth j ps1 Isolation.zero_page =
     if (Z.to_nat ((pa - ram_base X) / 4096) <=? j)%nat && (j <? Z.to_nat ((pa - ram_base X) / 4096) + Z.to_nat cnt)%nat
     then gone_page else nth j (Isolation.Engine_pages X) Isolation.zero_page) ->
  zeroed_gone e (Isolation.set_Engine_pages ps1 X) tr
    (mkEvent "CleanToPoC" [pa; cnt] :: mkEvent "ZeroPages" [pa; cnt] :: l1 ++ t).
Proof.
  intros e X ps1 tr t l1 pa cnt (l & -> & Hl & Hc) Hq Hpa Hnth.
  assert (Eb : ram_base (Isolation.set_Engine_pages ps1 X) = ram_base X) by (destruct X; reflexivity).
  assert (Ep : Isolation.Engine_pages (Isolation.set_Engine_pages ps1 X) = ps1) by (destruct X; reflexivity).
  assert (Hk : 0 <= (pa - ram_base X) / 4096) by (apply Z.div_pos; lia).
  exists (mkEvent "CleanToPoC" [pa; cnt] :: mkEvent "ZeroPages" [pa; cnt] :: l1 ++ l).
  split; [cbn [app]; rewrite <- app_assoc; reflexivity|]. rewrite Eb, Ep. split.
  - intros ev Hin Hw. destruct Hin as [<-|[<-|Hin]]; [discriminate Hw| |].
    + exists pa, cnt. split; [reflexivity|]. split; [exact Hpa|]. intros i Hi. rewrite Hnth.
      replace ((Z.to_nat ((pa - ram_base X) / 4096) <=? Z.to_nat ((pa - ram_base X) / 4096 + i))%nat &&
               (Z.to_nat ((pa - ram_base X) / 4096 + i) <? Z.to_nat ((pa - ram_base X) / 4096) + Z.to_nat cnt)%nat)
        with true; [reflexivity|].
      symmetry. apply andb_true_iff. rewrite Nat.leb_le, Nat.ltb_lt. lia.
    + apply in_app_or in Hin as [Hin|Hin].
      * rewrite Forall_forall in Hq. unfold quiet_event in Hq. rewrite (Hq ev Hin) in Hw. discriminate Hw.
      * destruct (Hl ev Hin Hw) as (pa' & cnt' & -> & Hpa' & Hgone). exists pa', cnt'.
        split; [reflexivity|]. split; [exact Hpa'|]. intros i Hi. rewrite Hnth, (Hgone i Hi).
        destruct (_ && _)%nat; reflexivity.
  - intros j Hne. rewrite Hnth in Hne.
    destruct ((Z.to_nat ((pa - ram_base X) / 4096) <=? j)%nat &&
              (j <? Z.to_nat ((pa - ram_base X) / 4096) + Z.to_nat cnt)%nat) eqn:R.
    + apply andb_true_iff in R as (R1 & R2). apply Nat.leb_le in R1. apply Nat.ltb_lt in R2.
      exists pa, cnt, (Z.of_nat j - (pa - ram_base X) / 4096). split; [right; left; reflexivity|].
      split; [exact Hpa|]. split; lia.
    + destruct (Hc j Hne) as (pa' & cnt' & i & Hin & Hpa' & Hi & Hj). exists pa', cnt', i.
      split; [right; right; apply in_or_app; right; exact Hin|]. exact (conj Hpa' (conj Hi Hj)).
Qed.

Theorem GuestRelinquish_no_failure : forall e tr id ipa n m,
  mem_ok e -> pool_placed e -> vms_root_inv e -> walk_below e (Isolation.vm_s2 m) -> ram_base e + ram_size e <= 2 ^ 40 ->
  1 <= id < 2 ^ 16 -> nth_error (Isolation.Engine_vms e) (Z.to_nat (id - 1)) = Some m -> Isolation.vm_live m = true ->
  0 <= ipa < 2 ^ 64 -> 0 <= n < 2 ^ 64 ->
  exists st e' tr', Isolation.Engine_GuestRelinquish root id ipa n e tr = Ok st e' tr' /\
    (st <> Abi.Success -> e' = e) /\
    (st = Abi.Success -> vm_step e (Isolation.vm_s2 m) e' /\ relinq_done e (Isolation.vm_s2 m) ipa n e' /\
       (n <> 0 /\ ipa mod 4096 = 0 /\ ipa + n * 4096 < 2 ^ 64 /\ 0 <= ipa /\ ipa + n * 4096 <= 0 + Isolation.ipaLimit) /\
       n <= Abi.GuestMaxPages /\ in_ram_range e (Isolation.vm_s2 m) ipa n /\
       exists s, good s e (Isolation.vm_s2 m) /\ forall i, 0 <= i < n -> checked_at e tr s ipa i id false 0) /\
    zeroed_gone e e' tr tr'.
Proof.
  intros e tr id ipa n m Hm Hpl Hroots Hwb Hram Hid Hnth Hlive Hipa Hn.
  guest_checks @Isolation.Engine_GuestRelinquish false 0 e tr id ipa n m Hm Hroots Hram Hid Hnth Hlive Hipa Hn.
  reserve relinq_need (fun (first pa : Z) => first) e tr m ipa n s Hs Hin Ht Hms2 Hgs Hial Hrr Hram (root_inv_l1 e _ Hvr).
  pose proof Hpl as (Hpal & Hpbelow).
  pose proof (root_inv_l1 e _ Hvr) as ((_ & _ & _ & _ & Hplat) & _).
  set (vr := Isolation.stage2_root (Isolation.vm_s2 m)) in *.
  match goal with |- context [loop max_fuel ?c ?b ?po 0] =>
  destruct (loop_spec max_fuel c b po
    (fun k S t => vm_step e (Isolation.vm_s2 m) S /\ 0 <= k <= n /\ relinq_done e (Isolation.vm_s2 m) ipa k S /\
       zeroed_gone e S tr t /\
       exists N', runs e (Isolation.vm_s2 m) ipa n relinq_need k N' /\ N' <= count_free (Isolation.Engine_pool S))
    (fun j S t => match j with Fall _ => vm_step e (Isolation.vm_s2 m) S /\ relinq_done e (Isolation.vm_s2 m) ipa n S /\
                    zeroed_gone e S tr t
                  | Jump _ => False end)
    (fun k => Z.to_nat (n - k))) with (l := 0) (s := e) (tr := tr) as (j & S & t & Hj & Hq2) end.
  - intros k S t (Hst & Hk & Hdone & Hz & _). exists (k <? n). split; [reflexivity|]. split.
    + intros H. apply Z.ltb_lt in H. lia.
    + intros H. apply Z.ltb_ge in H. split; [exact Hst|]. replace n with k by lia. exact (conj Hdone Hz).
  - intros k S t (((qq & ps & -> & Hps) & HrS & HB & HL & Htf & HwbS) & Hk & (HwS & HlgS) & Hz & N' & HrunsN & HNle) Hcnd.
    injection Hcnd as Hcnd. apply Z.ltb_lt in Hcnd.
    set (S := Isolation.set_Engine_pool qq (Isolation.set_Engine_pages ps e)) in *.
    assert (Hwpa : forall i, k <= i < n -> wpa S (Isolation.vm_s2 m) (ipa + i * 4096) = wpa e (Isolation.vm_s2 m) (ipa + i * 4096))
      by (intros i Hi; apply (wpa_past S e _ ipa k _ HwS); [lia|rewrite Z.add_mod, Hial, Z.mod_mul by lia; reflexivity|lia]).
    pose proof HrS as (((HokS & _) & _) & _).
    assert (Hs2S : s2_ok S (Isolation.vm_s2 m)) by (right; exact (l1_inv_tree S _ (root_inv_l1 S _ HrS))).
    assert (HgsS : good s S (Isolation.vm_s2 m)) by (apply Hgood; reflexivity).
    pose proof (Hin k ltac:(lia)) as (x & Hx & _).
    pose proof (nextRun_run S t s _ ipa n k HokS Hs2S HgsS ltac:(lia) ltac:(lia) Hial ltac:(lia)
      ltac:(rewrite (Hwpa k ltac:(lia)), Hx; discriminate)) as (pa & cnt & Hnr & HrunS).
    (* The run there is the one the reservation counted. *)
    pose proof (runs_at e _ ipa n relinq_need k N' HrunsN Hcnd) as (pa0 & cnt0 & N1 & Hrun0 & Hruns1 & EN').
    pose proof (run_at_det e S _ _ ipa n k pa0 cnt0 pa cnt Hwpa Hrun0 HrunS) as [-> ->].
    unfold relinq_need in EN'.
    pose proof Hrun0 as (Hc & Hkc & _).
    pose proof (runs_nonneg e _ ipa n relinq_need _ N1
      ltac:(intros k0 pa1 cnt1 (Hc1 & _); unfold relinq_need; pose proof (run_need_bound (ipa + k0 * 4096) cnt1 Hc1); lia) Hruns1).
    pose proof (run_in_ram e _ ipa n k pa0 cnt0 Hl Ht Hms2 ltac:(lia) Hial ltac:(lia) ltac:(lia) Hram Hin Hrun0) as (Hpa0 & Hlo & Hhi).
    unfold ram_base, ram_size in Hlo, Hhi, Hram.
    assert (Hfal : (ipa + k * 4096) mod 4096 = 0) by (rewrite Z.add_mod, Hial, Z.mod_mul by lia; reflexivity).
    (* The unmap from the VM's stage-2. *)
    pose proof (unmapNeed_ok S t s (Isolation.vm_s2 m) (ipa + k * 4096) cnt0 HokS Hs2S HgsS ltac:(lia) ltac:(lia) ltac:(lia))
      as (K & HK).
    pose proof (unmapNeed_le_run S t s _ (ipa + k * 4096) cnt0 K HgsS HrS ltac:(lia) Hc ltac:(lia) HK) as HKle.
    pose proof (unmapRange_walk_range S t s (Isolation.vm_s2 m) (ipa + k * 4096) cnt0 K HgsS HrS HwbS
      ltac:(rewrite HB; exact Hpal) ltac:(rewrite HB, HL; exact Hpbelow)
      ltac:(lia) ltac:(lia) ltac:(lia) Hfal HK ltac:(lia))
      as (S1 & t1 & Hur & HrS1 & HB1 & HL1 & Hcf1 & Htf1 & Hwb1 & Hw1).
    pose proof (unmapRange_pool _ _ _ _ _ _ _ _ Hur) as (q1 & ->).
    (* The ledger commit. *)
    set (t2 := mkEvent "CleanToPoC" [pa0; cnt0] :: mkEvent "ZeroPages" [pa0; cnt0] :: t1).
    pose proof (run_fits e (Isolation.set_Engine_pool q1 S) pa0 cnt0 Hl eq_refl Hps Hpa0 Hlo Hhi Hc) as (F1 & F2 & F3 & F4).
    pose proof (setOwner_pages (Isolation.set_Engine_pool q1 S) t2 pa0 cnt0 Abi.OwnerNone Isolation.HostVMID F1 F2 Hc F3 F4)
      as (ps1 & Hso & Hps1 & Hnth1).
    eexists _, (Isolation.set_Engine_pages ps1 (Isolation.set_Engine_pool q1 S)), t2. split.
    { cbv beta. CodeShadow.step_by (pfield_any q Isolation.vm_s2 Isolation.set_vm_s2 e tr s S t Hs).
      CodeShadow.step_by Hnr. CodeShadow.step_by (pfield_any q Isolation.vm_s2 Isolation.set_vm_s2 e tr s S t Hs).
      CodeShadow.step_by Hur. rewrite zero_clean by exact Hplat. CodeShadow.step_by Hso. reflexivity. }
    eexists. split; [reflexivity|]. rewrite wrapu_small by lia.
    split; [|apply Z2Nat.inj_lt; lia].
    assert (Hpool : Isolation.Engine_pool (Isolation.set_Engine_pages ps1 (Isolation.set_Engine_pool q1 S)) =
                    Isolation.Engine_pool (Isolation.set_Engine_pool q1 S)) by reflexivity.
    pose proof HrS1 as (((HokS1 & _) & _) & _).
    assert (Hs2S1 : s2_ok (Isolation.set_Engine_pool q1 S) (Isolation.vm_s2 m))
      by (right; exact (l1_inv_tree _ _ (root_inv_l1 _ _ HrS1))).
    split; [split|split; [lia|split; [split|split]]].
    + exists q1, ps1. split.
      * unfold S. rewrite set_pages_pool, set_pages_pool, CodeAbsLedger.set_pages_twice, set_pool_twice. reflexivity.
      * rewrite Hps1. cbn. exact Hps.
    + split; [exact HrS1|]. split; [exact (eq_trans HB1 HB)|]. split; [exact (eq_trans HL1 HL)|].
      split; [exact (tree_frame_trans e S _ _ Htf Htf1)|].
      exact (walk_below_same_pool _ _ _ HokS1 Hs2S1 Hpool Hwb1).
    + intros kk Hkk. rewrite (walk_same_pool _ _ _ _ HokS1 Hs2S1 Hpool), (Hw1 kk Hkk), (HwS kk Hkk).
      destruct (Z.leb_spec (ipa + k * 4096) (Z.of_nat kk * 4096)), (Z.ltb_spec (Z.of_nat kk * 4096) (ipa + k * 4096 + cnt0 * 4096)),
        (Z.leb_spec ipa (Z.of_nat kk * 4096)), (Z.ltb_spec (Z.of_nat kk * 4096) (ipa + k * 4096)),
        (Z.ltb_spec (Z.of_nat kk * 4096) (ipa + (k + cnt0) * 4096)); cbn [andb]; reflexivity || lia.
    + intros j. cbn [Isolation.set_Engine_pages Isolation.Engine_pages]. rewrite Hnth1.
      cbn [S Isolation.set_Engine_pool Isolation.set_Engine_pages Isolation.Engine_pages Isolation.Engine_cfg] in *.
      rewrite (run_ledger_step gone_page e _ ipa n k pa0 cnt0 j ltac:(lia) Hial ltac:(lia) ltac:(lia)
        ltac:(unfold ram_base; lia) ltac:(lia) Hrun0).
      unfold ram_base. rewrite <- HlgS. reflexivity.
    + destruct (grows_unmapRange _ _ _ _ _ _ _ _ _ Hur) as (l1 & -> & Hq1).
      apply zeroed_gone_step; [exact (zeroed_gone_pool _ _ _ _ _ Hz)|exact Hq1|unfold ram_base; lia|exact Hnth1].
    + exists N1. split; [exact Hruns1|].
      change (count_free (Isolation.Engine_pool (Isolation.set_Engine_pages ps1 (Isolation.set_Engine_pool q1 S)))) with
        (count_free (Isolation.Engine_pool (Isolation.set_Engine_pool q1 S))). lia.
  - split; [|split; [lia|split; [split|split; [exists []; split; [reflexivity|split; [intros ? []|intros ? Hne; contradiction (Hne eq_refl)]]|]; exists N; split; [exact Hruns|exact EN]]]].
    + split; [exists (Isolation.Engine_pool e), (Isolation.Engine_pages e); split; [symmetry; apply set_pool_pages_same|reflexivity]|].
      split; [exact Hvr|]. split; [reflexivity|]. split; [reflexivity|]. split; [apply tree_frame_refl|exact Hwb].
    + intros kk _. replace (ipa + 0 * 4096) with ipa by ring.
      destruct (Z.leb_spec ipa (Z.of_nat kk * 4096)), (Z.ltb_spec (Z.of_nat kk * 4096) ipa); cbn [andb]; reflexivity || lia.
    + intros j. reflexivity.
  - rewrite max_fuel_nat. unfold max_fuel. lia.
  - CodeShadow.step_by Hj. destruct j as [k''|[]]. destruct Hq2 as [Hst Hdone].
    eexists _, S, t. split; [reflexivity|]. split; [intros E; contradiction E; reflexivity|].
    split; [intros _|exact (proj2 Hdone)].
    split; [exact Hst|]. split; [exact (proj1 Hdone)|]. split; [exact (proj1 Hbs eq_refl)|]. split; [exact Hg|].
    split; [exact Hin|]. exists s. split; [exact Hgs|exact Hpass].
Qed.
