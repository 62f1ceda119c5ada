(** * Boot: the host stage-2 [buildHost] builds

    Theorems about proofs/code/Isolation.v, the translation of
    isolation/engine.go's [buildHost] and [bootMap]. Proved here:
    - [newStage2] on the host's stage-2 record either finds no pair of
      tables and leaves the record without a root, or takes a pair
      ([newStage2_host]); the pair it takes is an empty tree the host
      owns ([new_host_owns], [new_host_walk]). *)
From Coq Require Import ZArith Lia List Bool.
From Bulkhead.Spec Require Import State Spec.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import Lemmas CodeLens CodeTrack CodeLoop CodeLedger CodeVCPU CodeVMCreate CodeAbsLedger
  CodeShadow CodeDonate CodeVMCreateRefine CodeVMCreateInv CodeStage2 CodeAbs CodeFree CodeUpdateRoot CodeOwns
  CodeUpdateRootRange CodeMemNoFailure CodeWalkUpdate CodeWalkRange CodeWalkCalls CodeLedgerRefine CodePool CodeBoot.
Import ListNotations.
Open Scope Z_scope.

(** ** The host's root *)

Lemma host_lens : lens host_place (fun _ => True) Isolation.Engine_host (fun b s => Isolation.set_Engine_host b s).
Proof. exists (fun s => Some (Isolation.Engine_host s)), (fun b s => Some (Isolation.set_Engine_host b s)).
  repeat split. Qed.

(** [newStage2] on the host's record: no pair free leaves it without a
    root; otherwise it takes a pair, as allocRoot does. *)
Lemma newStage2_host : forall s tr, pool_ok (Isolation.Engine_pool s) ->
  Isolation.Engine_newStage2 root host_place Isolation.HostVMID s tr =
    Ok false (Isolation.set_Engine_host (Isolation.mk_stage2 (-1) Isolation.HostVMID) s) tr \/
  exists r q, Isolation.Engine_newStage2 root host_place Isolation.HostVMID s tr =
    Ok true (Isolation.set_Engine_host (Isolation.mk_stage2 r Isolation.HostVMID) (Isolation.set_Engine_pool q s)) tr /\
    root_taken_ok (Isolation.Engine_pool s) q r.
Proof.
  intros s tr Hp.
  destruct (pfield_lens host_place _ _ _ Isolation.stage2_vmid Isolation.set_stage2_vmid host_lens ltac:(field_laws))
    as (qv & Hqv & Lv).
  destruct (pfield_lens host_place _ _ _ Isolation.stage2_root Isolation.set_stage2_root host_lens ltac:(field_laws))
    as (qr & Hqr & Lr).
  destruct (pfield_lens root _ _ _ Isolation.Engine_pool Isolation.set_Engine_pool lens_root ltac:(field_laws))
    as (qp & Hqp & Lp).
  unfold Isolation.Engine_newStage2.
  CodeShadow.step_by (Hqv s tr). CodeShadow.step_by (store_lens _ _ _ _ s Isolation.HostVMID tr Lv Logic.I).
  set (s1 := Isolation.set_Engine_host (Isolation.set_stage2_vmid Isolation.HostVMID (Isolation.Engine_host s)) s).
  CodeShadow.step_by (Hqp s1 tr).
  assert (Hp1 : Isolation.Engine_pool s1 = Isolation.Engine_pool s) by (unfold s1; destruct s; reflexivity).
  destruct (allocRoot_spec qp s1 tr Lp ltac:(rewrite Hp1; exact Hp)) as [Ha|(r & q & Ha & Hsh)].
  - left. CodeShadow.step_by Ha. CodeShadow.step_by (Hqr s1 tr).
    CodeShadow.step_by (store_lens _ _ _ _ s1 (-1) tr Lr Logic.I).
    CodeShadow.step.
    unfold ret. unfold s1. destruct s as [? ? ? ? [? ?] ? ?]; reflexivity.
  - right. exists r, q. rewrite Hp1 in Hsh. split; [|exact Hsh].
    pose proof Hsh as ((Hr0 & _) & _).
    CodeShadow.step_by Ha. CodeShadow.step_by (Hqr (Isolation.set_Engine_pool q s1) tr).
    CodeShadow.step_by (store_lens _ _ _ _ (Isolation.set_Engine_pool q s1) r tr Lr Logic.I).
    CodeShadow.step.
    unfold ret, s1. destruct s as [? ? ? ? [? ?] ? ?]. cbn.
    replace (r >=? 0) with true by (symmetry; apply Z.geb_le; lia). reflexivity.
Qed.

(** Owning tables reads only the pool. *)
Lemma owns_tables_pool : forall e e' r, Isolation.Engine_pool e' = Isolation.Engine_pool e ->
  owns_tables e r -> owns_tables e' r.
Proof. intros e e' r Ep H. unfold owns_tables, s2_tables, tables, pool_base in *. rewrite Ep. exact H. Qed.

(** The pair [newStage2] took for the host: the host's root, an empty
    tree of whole tables the host owns. *)
Lemma new_host : forall s q r, tables_ok s -> root_taken (Isolation.Engine_pool s) q r ->
  let E0 := Isolation.set_Engine_host (Isolation.mk_stage2 r Isolation.HostVMID) (Isolation.set_Engine_pool q s) in
  tables_ok E0 /\ owns_tables E0 r /\ s2_tables E0 r = [r; r + 1] /\
  forall k, walk E0 (Isolation.Engine_host E0) k = None.
Proof.
  intros s q r Hok Hrt E0.
  set (X := Isolation.set_vm_s2 (Isolation.mk_stage2 r Isolation.HostVMID) Isolation.zero_vm).
  set (E2 := at_slot (Isolation.set_Engine_pool q s) 0 X).
  assert (Ep : Isolation.Engine_pool E0 = Isolation.Engine_pool E2) by (unfold E0, E2; destruct s; reflexivity).
  pose proof (tables_ok_taken s q r Hok Hrt 0 X) as Hok2. fold E2 in Hok2.
  destruct (new_owns s q r 0 X Hrt) as (Hs & Hown). fold E2 in Hs, Hown.
  pose proof (new_vm_walk s q r 0 X Hok Hrt eq_refl) as Hw. fold E2 in Hw.
  assert (Hok0 : tables_ok E0) by (unfold tables_ok, tables, pool_base in *; rewrite Ep; exact Hok2).
  split; [exact Hok0|]. split; [exact (owns_tables_pool E2 E0 r Ep Hown)|].
  split; [unfold s2_tables, tables, pool_base in *; rewrite Ep; exact Hs|].
  intros k. change (Isolation.Engine_host E0) with (Isolation.vm_s2 X).
  rewrite (walk_same_pool E2 E0 (Isolation.vm_s2 X) k Hok2 ltac:(right; exact (proj1 Hown)) Ep). apply Hw.
Qed.

(** ** The host's RAM *)

(** Ledger entry [j] is the host's. *)
Definition host_at (E : Isolation.Engine) (j : Z) : bool :=
  Isolation.page_owner (nth (Z.to_nat j) (Isolation.Engine_pages E) Isolation.zero_page) =? Abi.OwnerHost.

Lemma idx_page : forall E tr l, 0 <= l < len (Isolation.Engine_pages E) ->
  idx (Isolation.Engine_pages E) l E tr = Ok (nth (Z.to_nat l) (Isolation.Engine_pages E) Isolation.zero_page) E tr.
Proof.
  intros E tr l Hl. apply idx_nth; [lia|]. apply nth_error_nth'. unfold len in Hl. lia.
Qed.

(** [buildHost]'s inner loop: from entry [i], the first entry at or after
    it that is not the host's, or the end of the ledger. *)
Lemma host_run_loop : forall E tr i n, n = len (Isolation.Engine_pages E) -> 0 <= i <= n -> n < 2 ^ 64 ->
  exists j, loop (X:=Empty_set) max_fuel
    (fun j => (let! t'6 := (if (j <? n) then (let! t'4 := deref root in
       let! t'5 := idx (Isolation.Engine_pages t'4) j in ret ((Isolation.page_owner t'5) =? Abi.OwnerHost))
       else ret false) in ret t'6))
    (fun j => let j := wrapu 64 (j + 1) in ret (Continue j))
    (fun j => ret j) i E tr = Ok (Fall j) E tr /\
  i <= j <= n /\ (forall x, i <= x < j -> host_at E x = true) /\ (j < n -> host_at E j = false).
Proof.
  intros E tr i n En Hi Hn.
  match goal with |- context [loop _ ?cnd ?b ?po] =>
  destruct (loop_spec max_fuel cnd b po
    (fun l S t => S = E /\ t = tr /\ i <= l <= n /\ forall x, i <= x < l -> host_at E x = true)
    (fun r S t => S = E /\ t = tr /\ match r with
       | Fall j => i <= j <= n /\ (forall x, i <= x < j -> host_at E x = true) /\ (j < n -> host_at E j = false)
       | Jump x => False end)
    (fun l => Z.to_nat (n - l))) with (l := i) (s := E) (tr := tr) as (r & S & t & Hrun & Hq) end.
  - intros l S t (-> & -> & Hl & Hh). destruct (Z.ltb_spec l n) as [Hlt|Hge].
    + pose proof (idx_page E tr l ltac:(lia)) as Hpg.
      exists (host_at E l). unfold bind. cbn [deref root]. rewrite Hpg. unfold ret. split; [reflexivity|].
      split; [intros _; lia|]. intros Hf. split; [reflexivity|]. split; [reflexivity|].
      split; [lia|]. split; [exact Hh|intros _; exact Hf].
    + exists false. split; [reflexivity|]. split; [intros E'; discriminate E'|]. intros _.
      split; [reflexivity|]. split; [reflexivity|]. split; [lia|]. split; [exact Hh|intros; lia].
  - intros l S t (-> & -> & Hl & Hh) Hc. destruct (Z.ltb_spec l n) as [Hlt|Hge].
    + pose proof (idx_page E tr l ltac:(lia)) as Hpg.
      unfold bind in Hc. cbn [deref root] in Hc. rewrite Hpg in Hc. unfold ret in Hc. injection Hc as Hc.
      exists (Continue (l + 1)), E, tr. cbv beta zeta. rewrite wrapu_small by lia. split; [reflexivity|].
      eexists. split; [reflexivity|]. split; [|lia]. split; [reflexivity|]. split; [reflexivity|]. split; [lia|].
      intros x Hx. destruct (Z.eq_dec x l) as [->|Ne]; [exact Hc|apply Hh; lia].
    + unfold ret in Hc. discriminate Hc.
  - split; [reflexivity|]. split; [reflexivity|]. split; [lia|]. intros x Hx; lia.
  - unfold max_fuel. rewrite fuel_nat by lia. lia.
  - destruct Hq as (-> & -> & Hq). destruct r as [j|[]]. exists j. split; [exact Hrun|exact Hq].
Qed.

(** [bootMap] of [cnt] pages at [ipa] to [pa] on an engine whose stage-2s
    own their tables: no failure; false with nothing changed when the
    pool has too few free tables, else the map done ([mapRange_walk_range])
    and the stage-2s still owning their tables. *)
Lemma bootMap_spec : forall S tr ipa pa cnt a, s2_owned S -> walk_below S (Isolation.Engine_host S) ->
  0 <= ipa -> 0 <= pa -> 0 <= cnt -> ipa + cnt * 4096 <= 2 ^ 40 -> pa + cnt * 4096 <= 2 ^ 48 ->
  ipa mod 4096 = 0 -> pa mod 4096 = 0 ->
  exists b S' tr', Isolation.Engine_bootMap root ipa pa cnt a S tr = Ok b S' tr' /\
    (b = false -> S' = S /\ tr' = tr) /\
    (b = true -> (exists q, S' = Isolation.set_Engine_pool q S) /\ s2_owned S' /\
       root_inv S' (Isolation.stage2_root (Isolation.Engine_host S)) /\ pool_base S' = pool_base S /\
       len (tables S') = len (tables S) /\ tree_frame S S' (Isolation.stage2_root (Isolation.Engine_host S)) /\
       walk_below S' (Isolation.Engine_host S) /\
       forall k, Z.of_nat k * 4096 < 2 ^ 40 ->
         walk S' (Isolation.Engine_host S) k =
           if (ipa <=? Z.of_nat k * 4096) && (Z.of_nat k * 4096 <? ipa + cnt * 4096)
           then u_map (map_u (Isolation.Engine_host S) ipa pa a) (Z.of_nat k * 4096) else walk S (Isolation.Engine_host S) k).
Proof.
  intros S tr ipa pa cnt a Ho Hwb Hipa Hpa Hc H40 H48 Hia Hpal.
  pose proof Ho as (Hp & Hpl & Hh & _). pose proof Hp as (Hok & _ & _ & Hcnt & _). pose proof Hpl as (Hbal & Hbelow).
  assert (Hr : root_inv S (Isolation.stage2_root (Isolation.Engine_host S))) by exact (owns_root_inv S _ Hp Hh).
  destruct (mapNeed_ok S tr host_place (Isolation.Engine_host S) ipa pa cnt Hok ltac:(right; exact (proj1 Hh))
    (host_place_good S) Hipa Hc H40) as (K & HK).
  unfold Isolation.Engine_bootMap. CodeShadow.step_by (pfield_host S tr). CodeShadow.step_by HK.
  CodeShadow.step_by (deref_root S tr).
  destruct (Z.gtb_spec K (Isolation.tablePool_nfree (Isolation.Engine_pool S))) as [Hgt|Hle].
  - eexists _, S, tr. split; [reflexivity|]. split; [intros _; split; reflexivity|intros E; discriminate E].
  - unfold count_ok in Hcnt. rewrite Hcnt in Hle.
    destruct (mapRange_walk_range S tr host_place (Isolation.Engine_host S) ipa pa cnt a K (host_place_good S) Hr Hwb
      Hbal Hbelow Hipa Hc H40 Hia Hpal HK Hle (map_below _ ipa pa cnt a Hipa Hpa Hc H40 H48))
      as (S' & tr' & Hmr & Hr' & HB & HL & Hcf & Htf & Hwb' & Hw).
    destruct (mapRange_pool _ _ _ _ _ _ _ _ _ _ Hmr) as (q & Eq).
    exists true, S', tr'. split.
    { CodeShadow.step_by (pfield_host S tr). CodeShadow.step_by Hmr. reflexivity. }
    split; [intros E; discriminate E|]. intros _.
    split; [exists q; exact Eq|].
    split; [apply (host_update_keeps_owned S S' q (Isolation.Engine_pages S) Ho); [|exact Hr'|exact HB|exact HL|exact Htf];
            rewrite Eq; destruct S; reflexivity|].
    split; [exact Hr'|]. split; [exact HB|]. split; [exact HL|]. split; [exact Htf|]. split; [exact Hwb'|exact Hw].
Qed.

(** With no live VM, the engine with the host's new root has its
    stage-2s owning their tables, and the host's walk maps nothing. *)
Lemma new_host_owned : forall s q r, pool_inv s -> pool_placed s -> root_taken_ok (Isolation.Engine_pool s) q r ->
  (forall m, In m (Isolation.Engine_vms s) -> Isolation.vm_live m = false) ->
  let E0 := Isolation.set_Engine_host (Isolation.mk_stage2 r Isolation.HostVMID) (Isolation.set_Engine_pool q s) in
  s2_owned E0 /\ forall k, walk E0 (Isolation.Engine_host E0) k = None.
Proof.
  intros s q r Hp Hpl (Hrt & Hbc) Hdead E0.
  pose proof Hp as (Hok & Hpo & Hbits & Hcount & Hplat).
  pose proof Hrt as (_ & _ & _ & _ & Hsh & Eb & _).
  destruct (Hbc Hpo Hbits Hcount) as [Hbits' Hcount'].
  destruct (new_host s q r Hok Hrt) as (Hok0 & Hown & _ & Hw). fold E0 in Hok0, Hown, Hw.
  assert (Ep : Isolation.Engine_pool E0 = q) by (unfold E0; destruct s; reflexivity).
  assert (Ev : Isolation.Engine_vms E0 = Isolation.Engine_vms s) by (unfold E0; destruct s; reflexivity).
  assert (Hnl : forall i, Isolation.vm_live (vm_at E0 i) = false).
  { intros i. unfold vm_at. rewrite Ev.
    destruct (nth_in_or_default i (Isolation.Engine_vms s) Isolation.zero_vm) as [H|H].
    - exact (Hdead _ H).
    - rewrite H. reflexivity. }
  split; [|exact Hw].
  split; [split; [exact Hok0|]; rewrite Ep; split; [exact (same_shape_ok _ _ Hpo Hsh)|];
          split; [exact Hbits'|]; split; [exact Hcount'|unfold E0; destruct s; exact Hplat]|].
  split; [unfold pool_placed, pool_base, tables in *; rewrite Ep, Eb, (proj1 Hsh); exact Hpl|].
  split; [exact Hown|].
  split; [intros mv Hin Hl; rewrite Ev in Hin; rewrite (Hdead mv Hin) in Hl; discriminate Hl|].
  split; [intros i _ Hl; rewrite Hnl in Hl; discriminate Hl|].
  intros i j _ _ _ Hl; rewrite Hnl in Hl; discriminate Hl.
Qed.

(** ** [buildHost] *)

Definition ram_perms : Z := Z.land (Isolation.Attr_Perms Isolation.hostRAM) 7.
Definition dev_perms : Z := Z.land (Isolation.Attr_Perms Isolation.hostDevice) 7.

(** The host's walk at IPA page [k] once the ledger entries before [i]
    are done: a page of RAM whose entry is the host's maps to itself. *)
Definition ram_map (E : Isolation.Engine) (i : Z) (k : nat) : option (Z * Z) :=
  let x := Z.of_nat k - CodeMemState.ram_base E / 4096 in
  if (0 <=? x) && (x <? Z.min i (len (Isolation.Engine_pages E))) && host_at E x
  then Some (Z.of_nat k * 4096, ram_perms) else None.

(** IPA page [k] is in one of the ranges [rs]. *)
Definition in_mmio (rs : list Isolation.Range) (k : nat) : bool :=
  existsb (fun r => (Isolation.Range_Base r <=? Z.of_nat k * 4096) &&
                    (Z.of_nat k * 4096 <? Isolation.Range_Base r + Isolation.Range_Size r)) rs.

(** The host's walk [buildHost] leaves: the host MMIO ranges [rs] and the
    host's RAM, each page to itself. *)
Definition host_map (E : Isolation.Engine) (rs : list Isolation.Range) (k : nat) : option (Z * Z) :=
  if in_mmio rs k then Some (Z.of_nat k * 4096, dev_perms) else ram_map E (len (Isolation.Engine_pages E)) k.

(** What [Config.validate] leaves of a host MMIO range: whole pages
    inside the IPA space. *)
Definition mmio_ok (r : Isolation.Range) : Prop :=
  Isolation.Range_Base r mod 4096 = 0 /\ Isolation.Range_Size r mod 4096 = 0 /\ 0 <= Isolation.Range_Base r /\
  0 <= Isolation.Range_Size r /\ Isolation.Range_Base r + Isolation.Range_Size r <= 2 ^ 40.

(** A map of a range to itself maps each page of it to itself. *)
Lemma u_map_self : forall h pa a y, 0 <= pa <= y -> y < 2 ^ 64 ->
  u_map (map_u h pa pa a) y = Some (y, Z.land (Isolation.Attr_Perms a) 7).
Proof. intros h pa a y Hy Hlt. rewrite u_map_offset by lia. f_equal. f_equal. ring. Qed.

(** The ledger entries from [i] to [j] the host's, and entry [j] not
    (or the end): after the map of those pages, the entries before
    [j + 1] are done. *)
Lemma ram_map_step : forall E i j k, 0 <= i <= j -> j <= len (Isolation.Engine_pages E) ->
  CodeMemState.ram_base E mod 4096 = 0 -> 0 <= CodeMemState.ram_base E ->
  (forall x, i <= x < j -> host_at E x = true) -> (j < len (Isolation.Engine_pages E) -> host_at E j = false) ->
  (if (CodeMemState.ram_base E + i * 4096 <=? Z.of_nat k * 4096) &&
      (Z.of_nat k * 4096 <? CodeMemState.ram_base E + i * 4096 + (j - i) * 4096)
   then Some (Z.of_nat k * 4096, ram_perms) else ram_map E i k) = ram_map E (j + 1) k.
Proof.
  intros E i j k Hij Hjn Hal Hb Hhost Hnot. unfold ram_map.
  set (b := CodeMemState.ram_base E) in *. set (n := len (Isolation.Engine_pages E)) in *.
  pose proof (Z.div_mod b 4096 ltac:(lia)) as Db. rewrite Hal, Z.add_0_r in Db.
  set (x := Z.of_nat k - b / 4096).
  destruct (Z.leb_spec (b + i * 4096) (Z.of_nat k * 4096)), (Z.ltb_spec (Z.of_nat k * 4096) (b + i * 4096 + (j - i) * 4096));
    cbn [andb].
  - rewrite (Hhost x) by lia. replace ((0 <=? x) && (x <? Z.min (j + 1) n)) with true by
      (symmetry; apply andb_true_iff; split; [apply Z.leb_le|apply Z.ltb_lt]; lia). reflexivity.
  - destruct (Z.eq_dec x j) as [Ex|Ne].
    + rewrite Ex. destruct (Z.ltb_spec j n) as [Hlt|Hge].
      * rewrite (Hnot Hlt), !andb_false_r. reflexivity.
      * replace (j <? Z.min (j + 1) n) with false by (symmetry; apply Z.ltb_ge; lia).
        replace (j <? Z.min i n) with false by (symmetry; apply Z.ltb_ge; lia). rewrite !andb_false_r. reflexivity.
    + replace (x <? Z.min i n) with (x <? Z.min (j + 1) n); [reflexivity|].
      destruct (Z.ltb_spec x (Z.min i n)), (Z.ltb_spec x (Z.min (j + 1) n)); try reflexivity; lia.
  - replace (x <? Z.min i n) with (x <? Z.min (j + 1) n); [reflexivity|].
    destruct (Z.ltb_spec x (Z.min i n)), (Z.ltb_spec x (Z.min (j + 1) n)); try reflexivity; lia.
  - lia.
Qed.

Lemma ram_map_end : forall E i k, len (Isolation.Engine_pages E) <= i ->
  ram_map E i k = ram_map E (len (Isolation.Engine_pages E)) k.
Proof. intros E i k H. unfold ram_map. rewrite Z.min_r, Z.min_id by lia. reflexivity. Qed.

(** [buildHost] on an engine with a sound, placed pool, its ledger in
    shape with RAM inside the IPA space, no live VM and host MMIO ranges
    as [Config.validate] leaves them: it never fails; true means the host
    has a new root, its stage-2 maps the host MMIO ranges and the RAM
    pages the ledger gives the host, each to itself, and nothing else,
    and the stage-2s own their tables. *)
Theorem buildHost_spec : forall e tr, pool_inv e -> pool_placed e -> ledger_ok e ->
  CodeMemState.ram_base e + CodeMemState.ram_size e <= 2 ^ 40 ->
  (forall m, In m (Isolation.Engine_vms e) -> Isolation.vm_live m = false) ->
  Forall mmio_ok (Isolation.Config_HostMMIO (Isolation.Engine_cfg e)) ->
  exists b e' tr', Isolation.Engine_buildHost root e tr = Ok b e' tr' /\
    (b = true -> (exists q r, e' = Isolation.set_Engine_host (Isolation.mk_stage2 r Isolation.HostVMID)
                                     (Isolation.set_Engine_pool q e)) /\
       s2_owned e' /\ walk_below e' (Isolation.Engine_host e') /\
       forall k, Z.of_nat k * 4096 < 2 ^ 40 ->
         walk e' (Isolation.Engine_host e') k = host_map e (Isolation.Config_HostMMIO (Isolation.Engine_cfg e)) k).
Proof.
  intros e tr Hp Hpl Hl Hram Hdead Hmmio.
  pose proof Hp as (Hok & Hpo & _). pose proof Hl as (Hb0 & Hs0 & Hbs0 & Hal0 & Hlen0).
  unfold CodeMemState.ram_base, CodeMemState.ram_size in Hram.
  unfold Isolation.Engine_buildHost. CodeShadow.step_by (pfield_host e tr).
  destruct (newStage2_host e tr Hpo) as [Hns|(r & q & Hns & Hrt)].
  { CodeShadow.step_by Hns. cbn [negb]. eexists _, _, _. split; [reflexivity|]. intros E; discriminate E. }
  CodeShadow.step_by Hns. cbn [negb].
  set (E0 := Isolation.set_Engine_host (Isolation.mk_stage2 r Isolation.HostVMID) (Isolation.set_Engine_pool q e)).
  destruct (new_host_owned e q r Hp Hpl Hrt Hdead) as (Ho0 & Hw0). fold E0 in Ho0, Hw0.
  CodeShadow.step_by (deref_root E0 tr).
  assert (Ecfg : forall q', Isolation.Engine_cfg (Isolation.set_Engine_pool q' E0) = Isolation.Engine_cfg e)
    by (intros q'; unfold E0; destruct e; reflexivity).
  assert (Epg : forall q', Isolation.Engine_pages (Isolation.set_Engine_pool q' E0) = Isolation.Engine_pages e)
    by (intros q'; unfold E0; destruct e; reflexivity).
  assert (Eh : forall q', Isolation.Engine_host (Isolation.set_Engine_pool q' E0) = Isolation.Engine_host E0)
    by (intros q'; unfold E0; destruct e; reflexivity).
  assert (Hha : forall q' x, host_at (Isolation.set_Engine_pool q' E0) x = host_at e x)
    by (intros q' x; unfold host_at; rewrite Epg; reflexivity).
  replace (Isolation.Engine_pages E0) with (Isolation.Engine_pages e) by (unfold E0; destruct e; reflexivity).
  set (n := len (Isolation.Engine_pages e)) in *.
  assert (Hn0 : 0 <= n) by (unfold n, len; lia).
  rewrite (wrapu_small n) by lia.
  set (h := Isolation.Engine_host E0) in *.
  set (b := Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e))) in *.
  set (rs := Isolation.Config_HostMMIO (Isolation.Engine_cfg e)) in *.
  match goal with |- context [loop max_fuel ?c ?bd ?po 0] =>
  destruct (loop_spec max_fuel c bd po
    (fun i S t => 0 <= i <= n + 1 /\ (exists q', S = Isolation.set_Engine_pool q' E0) /\ s2_owned S /\ walk_below S h /\
       forall k, Z.of_nat k * 4096 < 2 ^ 40 -> walk S h k = ram_map e i k)
    (fun j S t => match j with
       | Fall i => (exists q', S = Isolation.set_Engine_pool q' E0) /\ s2_owned S /\ walk_below S h /\
           forall k, Z.of_nat k * 4096 < 2 ^ 40 -> walk S h k = ram_map e n k
       | Jump x => x = false end)
    (fun i => Z.to_nat (n + 1 - i))) with (l := 0) (s := E0) (tr := tr) as (j & S & t & Hrun & Hq) end.
  - intros i S t (Hi & HS & HoS & HwbS & HwS). exists (i <? n). split; [reflexivity|]. split.
    + intros Hc. apply Z.ltb_lt in Hc. lia.
    + intros Hc. apply Z.ltb_ge in Hc. split; [exact HS|]. split; [exact HoS|]. split; [exact HwbS|].
      intros k Hk. rewrite HwS by exact Hk. exact (ram_map_end e i k Hc).
  - intros i S t (Hi & (q' & ->) & HoS & HwbS & HwS) Hc. unfold ret in Hc. injection Hc as Hc. apply Z.ltb_lt in Hc.
    cbv beta zeta.
    destruct (host_run_loop (Isolation.set_Engine_pool q' E0) t i n ltac:(rewrite Epg; reflexivity) ltac:(lia)
      ltac:(unfold n, len in *; lia)) as (j & Hj & Hij & Hh & Hnh).
    CodeShadow.step_by Hj.
    assert (Hhost : forall x, i <= x < j -> host_at e x = true) by (intros x Hx; rewrite <- (Hha q'); exact (Hh x Hx)).
    assert (Hnot : j < n -> host_at e j = false) by (intros Hjn; rewrite <- (Hha q'); exact (Hnh Hjn)).
    pose proof (Z.div_mod b 4096 ltac:(lia)) as Db. rewrite Hal0, Z.add_0_r in Db.
    destruct (Z.gtb_spec j i) as [Hgt|Hle].
    + rewrite bind_assoc. CodeShadow.step_by (deref_root (Isolation.set_Engine_pool q' E0) t). rewrite Ecfg. fold b.
      rewrite shl12 by lia. rewrite (wrapu_small (b + i * 4096)) by lia. rewrite (wrapu_small (j - i)) by lia.
      assert (HwbS' : walk_below (Isolation.set_Engine_pool q' E0) (Isolation.Engine_host (Isolation.set_Engine_pool q' E0)))
        by (rewrite Eh; exact HwbS).
      destruct (bootMap_spec (Isolation.set_Engine_pool q' E0) t (b + i * 4096) (b + i * 4096) (j - i) Isolation.hostRAM
        HoS HwbS' ltac:(lia) ltac:(lia) ltac:(lia) ltac:(lia) ltac:(lia) ltac:(rewrite Z_mod_plus_full; exact Hal0)
        ltac:(rewrite Z_mod_plus_full; exact Hal0)) as (bm & S' & t' & Hbm & Hf & Ht).
      rewrite bind_assoc. CodeShadow.step_by Hbm. destruct bm; cbn [negb].
      * destruct (Ht eq_refl) as ((q2 & ES') & HoS' & _ & _ & _ & _ & HwbS'' & HwS').
        rewrite Eh in HwbS'', HwS'.
        exists (Continue (j + 1)), S', t'. cbv beta iota zeta. rewrite (wrapu_small (j + 1)) by (unfold n, len in *; lia).
        split; [reflexivity|]. eexists. split; [reflexivity|]. split; [|lia].
        split; [lia|]. split; [exists q2; rewrite ES', set_pool_twice; reflexivity|]. split; [exact HoS'|].
        split; [exact HwbS''|]. intros k Hk. rewrite (HwS' k Hk), HwS by exact Hk.
        rewrite <- (ram_map_step e i j k ltac:(lia) ltac:(lia) Hal0 Hb0 Hhost Hnot). fold b.
        destruct (_ && _) eqn:R; [|reflexivity].
        apply andb_true_iff in R as [R1 R2]. apply Z.leb_le in R1. apply Z.ltb_lt in R2.
        rewrite u_map_self by lia. reflexivity.
      * exists (Leave false), S', t'. split; [reflexivity|reflexivity].
    + exists (Continue (i + 1)), (Isolation.set_Engine_pool q' E0), t. cbv beta iota zeta.
      assert (j = i) by lia. subst j. rewrite (wrapu_small (i + 1)) by (unfold n, len in *; lia).
      split; [reflexivity|]. eexists. split; [reflexivity|]. split; [|lia].
      split; [lia|]. split; [exists q'; reflexivity|]. split; [exact HoS|]. split; [exact HwbS|].
      intros k Hk. rewrite HwS by exact Hk.
      rewrite <- (ram_map_step e i i k ltac:(lia) ltac:(lia) Hal0 Hb0 Hhost Hnot).
      destruct (Z.leb_spec (CodeMemState.ram_base e + i * 4096) (Z.of_nat k * 4096)), (Z.ltb_spec (Z.of_nat k * 4096) (CodeMemState.ram_base e + i * 4096 + (i - i) * 4096)); cbn [andb]; try reflexivity; lia.
  - split; [lia|]. split; [exists (Isolation.Engine_pool E0); symmetry; apply set_pool_same|].
    split; [exact Ho0|]. split; [intros k p w _ Hw; rewrite Hw0 in Hw; discriminate Hw|].
    intros k _. rewrite Hw0. unfold ram_map. rewrite Z.min_l by lia.
    destruct (Z.leb_spec 0 (Z.of_nat k - CodeMemState.ram_base e / 4096)), (Z.ltb_spec (Z.of_nat k - CodeMemState.ram_base e / 4096) 0);
      cbn [andb]; try reflexivity; lia.
  - unfold max_fuel. rewrite fuel_nat by lia. lia.
  - destruct j as [i|x].
    + destruct Hq as ((q' & ->) & HoS & HwbS & HwS).
      CodeShadow.step_by Hrun. CodeShadow.step_by (deref_root (Isolation.set_Engine_pool q' E0) t). rewrite Ecfg. fold rs.
      assert (Hrs0 : 0 <= len rs) by (unfold len; lia).
      match goal with |- context [loop (len rs) ?c ?bd ?po 0] =>
      destruct (loop_spec (len rs) c bd po
        (fun i S t => 0 <= i <= len rs /\ (exists q2, S = Isolation.set_Engine_pool q2 E0) /\ s2_owned S /\
           walk_below S h /\ forall k, Z.of_nat k * 4096 < 2 ^ 40 ->
             walk S h k = if in_mmio (firstn (Z.to_nat i) rs) k then Some (Z.of_nat k * 4096, dev_perms) else ram_map e n k)
        (fun j S t => match j with
           | Fall _ => (exists q2, S = Isolation.set_Engine_pool q2 E0) /\ s2_owned S /\ walk_below S h /\
               forall k, Z.of_nat k * 4096 < 2 ^ 40 -> walk S h k = host_map e rs k
           | Jump x => x = false end)
        (fun i => Z.to_nat (len rs - i))) with (l := 0) (s := Isolation.set_Engine_pool q' E0) (tr := t)
        as (j2 & S2 & t2 & Hrun2 & Hq2) end.
      * intros i2 S t3 (Hi2 & HS & HoS2 & HwbS2 & HwS2). exists (i2 <? len rs). split; [reflexivity|]. split.
        -- intros Hc. apply Z.ltb_lt in Hc. lia.
        -- intros Hc. apply Z.ltb_ge in Hc. split; [exact HS|]. split; [exact HoS2|]. split; [exact HwbS2|].
           intros k Hk. rewrite HwS2 by exact Hk. unfold host_map.
           replace (Z.to_nat i2) with (length rs) by (unfold len in *; lia). rewrite firstn_all. reflexivity.
      * intros i2 S t3 (Hi2 & (q2 & ->) & HoS2 & HwbS2 & HwS2) Hc. unfold ret in Hc. injection Hc as Hc.
        apply Z.ltb_lt in Hc.
        destruct (nth_error rs (Z.to_nat i2)) as [rg|] eqn:Hrg; [|apply nth_error_None in Hrg; unfold len in Hc; lia].
        pose proof (proj1 (Forall_forall _ _) Hmmio rg (nth_error_In _ _ Hrg)) as (Hgb & Hgs & Hgb0 & Hgs0 & Hg40).
        cbv beta zeta. CodeShadow.step_by (deref_root (Isolation.set_Engine_pool q2 E0) t3). rewrite Ecfg. fold rs.
        CodeShadow.step_by (idx_nth rs i2 rg (Isolation.set_Engine_pool q2 E0) t3 ltac:(lia) Hrg).
        rewrite shr_page by lia.
        pose proof (Z.div_mod (Isolation.Range_Size rg) 4096 ltac:(lia)) as Dg. rewrite Hgs, Z.add_0_r in Dg.
        assert (HwbS2' : walk_below (Isolation.set_Engine_pool q2 E0) (Isolation.Engine_host (Isolation.set_Engine_pool q2 E0)))
          by (rewrite Eh; exact HwbS2).
        destruct (bootMap_spec (Isolation.set_Engine_pool q2 E0) t3 (Isolation.Range_Base rg) (Isolation.Range_Base rg)
          (Isolation.Range_Size rg / 4096) Isolation.hostDevice HoS2 HwbS2' ltac:(lia) ltac:(lia)
          ltac:(apply Z.div_pos; lia) ltac:(lia) ltac:(lia) Hgb Hgb) as (bm & S' & t' & Hbm & Hf & Ht).
        CodeShadow.step_by Hbm. destruct bm; cbn [negb].
        -- destruct (Ht eq_refl) as ((q3 & ES') & HoS' & _ & _ & _ & _ & HwbS' & HwS').
           rewrite Eh in HwbS', HwS'.
           exists (Continue i2), S', t'. split; [reflexivity|]. eexists. split; [reflexivity|]. split; [|lia].
           split; [lia|]. split; [exists q3; rewrite ES', set_pool_twice; reflexivity|]. split; [exact HoS'|].
           split; [exact HwbS'|]. intros k Hk. rewrite (HwS' k Hk), HwS2 by exact Hk.
           replace (Z.to_nat (i2 + 1)) with (Datatypes.S (Z.to_nat i2)) by lia.
           rewrite (CodeLogRead.firstn_snoc (Z.to_nat i2) rs rg ltac:(apply nth_error_Some; congruence)), (nth_error_nth _ _ rg Hrg). unfold in_mmio. rewrite existsb_app. cbn [existsb].
           rewrite orb_false_r. fold (in_mmio (firstn (Z.to_nat i2) rs) k).
           replace (Isolation.Range_Base rg + Isolation.Range_Size rg / 4096 * 4096) with
             (Isolation.Range_Base rg + Isolation.Range_Size rg) by lia.
           destruct ((Isolation.Range_Base rg <=? Z.of_nat k * 4096) &&
                     (Z.of_nat k * 4096 <? Isolation.Range_Base rg + Isolation.Range_Size rg)) eqn:R.
           ++ apply andb_true_iff in R as [R1 R2]. apply Z.leb_le in R1. apply Z.ltb_lt in R2.
              rewrite u_map_self by lia. rewrite orb_true_r. reflexivity.
           ++ rewrite orb_false_r. reflexivity.
        -- exists (Leave false), S', t'. split; [reflexivity|reflexivity].
      * split; [lia|]. split; [exists q'; reflexivity|]. split; [exact HoS|]. split; [exact HwbS|].
        intros k Hk. rewrite HwS by exact Hk. reflexivity.
      * destruct (Z.eq_dec (len rs) 0) as [E|E]; [rewrite E; cbn; lia|rewrite fuel_nat by lia; lia].
      * CodeShadow.step_by Hrun2. destruct j2 as [l2|x2].
        -- destruct Hq2 as ((q2 & ->) & HoS2 & HwbS2 & HwS2).
           exists true, (Isolation.set_Engine_pool q2 E0), t2. split; [reflexivity|]. intros _.
           split; [exists q2, r; unfold E0; destruct e; reflexivity|]. split; [exact HoS2|].
           rewrite Eh. split; [exact HwbS2|exact HwS2].
        -- cbn in Hq2. subst x2. exists false, S2, t2. split; [reflexivity|]. intros E; discriminate E.
    + cbn in Hq. subst x. CodeShadow.step_by Hrun. exists false, S, t. split; [reflexivity|]. intros E; discriminate E.
Qed.
