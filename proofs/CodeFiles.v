(** * FILE_INFO and FILE_READ against the model

    The boot files ([isolation/files.go]): FILE_INFO ([Engine.FileInfo])
    describes file [index] of [Config.Files]; FILE_READ ([Engine.FileRead])
    checks the index, the alignment of [pa] and that the host offers the
    pages the file covers, then every page the file covers, in order (RAM,
    else INVALID_PARAMETERS; owned by the host, else DENIED), and asks the
    platform to copy the file ([Platform.CopyFile]).

    - [files_rel]: the Go configuration's files are the model's
      ([files] of specs/State.v), size for size and name word for name
      word; a file's page contents ([f_pages]) are the platform's, which
      the translated code never reads.
    - [FileInfo_refines]: for any 64-bit index, the translated call
      returns without touching memory or trace, its status is the model's
      ([Spec.file_info]) and on success its size and six name words are
      the model's.
    - [FileRead_refines]: from an engine whose ledger covers RAM inside the
      IPA space ([reclaim_ok]), whose platform is set (isolation.New
      stores the one it is given without checking it; a nil platform is
      a NilDereference at the copy), whose files are the model's and at most [MaxFileSize]
      bytes, and a model state whose page metadata is the ledger's
      abstraction on the same board, for any 64-bit arguments, the
      translated call reaches no failure outcome, and either it returns
      an error status, leaving memory and trace as they were, and the
      model's step ([Spec.file_read]) returns the same status and leaves
      its state as it was; or the model's step answers SUCCESS with the
      file's size, leaving its ledger and registers as they were, and the
      code either returns SUCCESS with size 0 for an empty file, touching
      nothing (the model's memory is then unchanged too), or records
      exactly the event CopyFile(index, pa) in the trace, leaves the
      engine as it was, and returns SUCCESS with the file's size if the
      platform's CopyFile answered true, NO_MEMORY otherwise.

    Not covered: NO_MEMORY, the platform's failure to copy (the fw_cfg
    transfer's), is outside the model, whose FILE_READ always succeeds
    once its checks pass; what the copy writes (the model's new page
    contents, [f_pages]) is the platform's, and the translated code only
    records the request. *)
From Coq Require Import ZArith Lia List Bool Arith String.
From Bulkhead.Spec Require Import State Spec.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodeLoop CodeLedger CodeAbi CodeVCPU CodeVMCreate CodeTransfer CodeAbsLedger CodeMemCall.
Import ListNotations.
Open Scope Z_scope.

(** ** The files of the two configurations *)

(** The model's files are the engine's: same number, and each file's size
    and name words (as FILE_INFO returns them) are the Go [BootFile]'s. *)
Definition files_rel (c : config) (e : Isolation.Engine) : Prop :=
  Forall2 (fun f b => Z.of_nat (f_size f) = Isolation.BootFile_Size b /\
                      map Z.of_nat (f_name f) = Isolation.BootFile_Name b)
    (files c) (Isolation.Config_Files (Isolation.Engine_cfg e)).

(** The Go files: fewer than 2^64 (a Go slice), each at most
    [MaxFileSize] bytes (isolation/files.go). *)
Definition files_ok (e : Isolation.Engine) : Prop :=
  len (Isolation.Config_Files (Isolation.Engine_cfg e)) < 2 ^ 64 /\
  Forall (fun b => Isolation.BootFile_Size b <= Isolation.MaxFileSize)
    (Isolation.Config_Files (Isolation.Engine_cfg e)).

Lemma Forall2_nth : forall {A B} (R : A -> B -> Prop) xs ys, Forall2 R xs ys -> forall n,
  match nth_error xs n, nth_error ys n with
  | Some x, Some y => R x y
  | None, None => True
  | _, _ => False
  end.
Proof.
  intros A B R xs ys H. induction H as [|x y xs ys Hxy H IH]; intros [|n]; cbn; auto. apply IH.
Qed.

(** The file at a 64-bit index of both lists, or of neither. *)
Lemma file_at : forall c e index,
  files_rel c e -> 0 <= index ->
  (index >= len (Isolation.Config_Files (Isolation.Engine_cfg e)) /\
     nth_error (files c) (Z.to_nat index) = None)
  \/
  (exists f b, index < len (Isolation.Config_Files (Isolation.Engine_cfg e)) /\
     nth_error (files c) (Z.to_nat index) = Some f /\
     nth_error (Isolation.Config_Files (Isolation.Engine_cfg e)) (Z.to_nat index) = Some b /\
     Z.of_nat (f_size f) = Isolation.BootFile_Size b /\ map Z.of_nat (f_name f) = Isolation.BootFile_Name b).
Proof.
  intros c e index Hrel Hi.
  pose proof (Forall2_nth _ _ _ Hrel (Z.to_nat index)) as H.
  destruct (nth_error (files c) (Z.to_nat index)) as [f|] eqn:Hf;
  destruct (nth_error (Isolation.Config_Files (Isolation.Engine_cfg e)) (Z.to_nat index)) as [b|] eqn:Hb;
    try contradiction.
  - right. exists f, b. split; [|tauto].
    assert (Hl : (Z.to_nat index < List.length (Isolation.Config_Files (Isolation.Engine_cfg e)))%nat).
    { apply nth_error_Some. congruence. }
    unfold len. lia.
  - left. split; [|reflexivity]. apply nth_error_None in Hb. unfold len. lia.
Qed.

(** ** FILE_INFO *)

(** FILE_INFO refines the model: for any 64-bit index, the translated code
    returns without touching memory or trace, its status is the model's,
    and on success the size and name words it returns are the model's. *)
Theorem FileInfo_refines : forall c e s tr index,
  files_rel c e -> len (Isolation.Config_Files (Isolation.Engine_cfg e)) < 2 ^ 64 -> 0 <= index < 2 ^ 64 ->
  exists b st out, Isolation.Engine_FileInfo root index e tr = Ok (b, st) e tr /\
    file_info c s (Z.to_nat index) = (s, out) /\
    match out with
    | ORet sst ws => go_status sst = st /\
        ws = (if st =? Abi.Success then map Z.to_nat (Isolation.BootFile_Size b :: Isolation.BootFile_Name b) else [])
    | _ => False
    end.
Proof.
  intros c e s tr index Hrel Hlen Hi.
  unfold Isolation.Engine_FileInfo, file_info, bind at 1. rewrite deref_root. cbv beta iota.
  rewrite wrapu_small by (unfold len in *; lia).
  pose proof (file_at c e index Hrel ltac:(lia)) as [(Hge & Hn) | (f & b & Hlt & Hf & Hb & Hs & Hnm)].
  - rewrite Hn. destruct (Z.geb_spec index (len (Isolation.Config_Files (Isolation.Engine_cfg e)))); [|lia].
    unfold ret. do 3 eexists. split; [reflexivity|]. split; [reflexivity|]. split; reflexivity.
  - rewrite Hf. destruct (Z.geb_spec index (len (Isolation.Config_Files (Isolation.Engine_cfg e)))); [lia|].
    unfold bind. rewrite deref_root. rewrite (idx_nth _ index b e tr ltac:(lia) Hb). unfold ret.
    do 3 eexists. split; [reflexivity|]. split; [reflexivity|]. split; [reflexivity|].
    rewrite Z.eqb_refl. cbn [map]. rewrite <- Hs, <- Hnm, Nat2Z.id, map_map. f_equal.
    rewrite <- (map_id (f_name f)) at 1. apply map_ext. intros. rewrite Nat2Z.id. reflexivity.
Qed.

(** ** FILE_READ: arithmetic *)

Lemma filePages_ok : forall {S} (st : S) tr size, 0 <= size <= 2 ^ 40 ->
  Isolation.filePages size st tr = Ok ((size + 4095) / 4096) st tr.
Proof.
  intros S st tr size Hs. unfold Isolation.filePages, ret, Isolation.pageMask, Isolation.PageShift.
  rewrite wrapu_small by lia. rewrite shr_small by lia. rewrite Z.shiftr_div_pow2 by lia. reflexivity.
Qed.

Lemma file_pages_nat : forall c f, granule c = 4096%nat ->
  file_pages c f = Z.to_nat ((Z.of_nat (f_size f) + 4095) / 4096).
Proof.
  intros c f Hg. unfold file_pages. rewrite Hg. apply Nat2Z.inj.
  rewrite Nat2Z.inj_div, Z2Nat.id.
  - rewrite Nat2Z.inj_sub, Nat2Z.inj_add by lia. change (Z.of_nat 4096) with 4096. change (Z.of_nat 1) with 1. f_equal. lia.
  - apply Z.div_pos; lia.
Qed.

(** The [i]-th page after an aligned [pa]. *)
Lemma pfn_add : forall c pa i, granule c = 4096%nat -> 0 <= pa -> pa mod 4096 = 0 -> 0 <= i ->
  (pfn c (Z.to_nat pa) + Z.to_nat i)%nat = pfn c (Z.to_nat (pa + i * 4096)).
Proof.
  intros c pa i Hg Hpa Hal Hi. unfold pfn. rewrite Hg. apply Nat2Z.inj.
  rewrite Nat2Z.inj_add, !Nat2Z.inj_div, !Z2Nat.id by lia.
  pose proof (Z.div_mod pa 4096 ltac:(lia)). rewrite Hal in *.
  replace (pa + i * 4096) with ((pa / 4096 + i) * 4096) by lia. rewrite Z.div_mul by lia.
  change (Z.of_nat 4096) with 4096. lia.
Qed.

(** [ramPage]: is the page at [p] RAM. *)
Definition in_ramZ (e : Isolation.Engine) (p : Z) : bool :=
  (Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e)) <=? p) &&
  (p <? Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e)) +
        Isolation.Range_Size (Isolation.Config_RAM (Isolation.Engine_cfg e))).

Lemma ramPage_ok : forall e tr p, ledger_ok e -> 0 <= p < 2 ^ 64 ->
  Isolation.Engine_ramPage root p e tr = Ok (in_ramZ e p) e tr.
Proof.
  intros e tr p Hl Hp. pose proof Hl as (Hb & Hs & Hbs & Hal & Hlen).
  unfold Isolation.Engine_ramPage, Isolation.Range_Contains, in_ramZ, bind at 1. rewrite deref_root. cbv beta iota.
  set (base := Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e))) in *.
  set (size := Isolation.Range_Size (Isolation.Config_RAM (Isolation.Engine_cfg e))) in *.
  unfold bind, ret.
  destruct (Z.ltb_spec p base); cbn [orb].
  { destruct (Z.leb_spec base p); [lia|reflexivity]. }
  rewrite (proj2 (Z.leb_le base p) ltac:(lia)). cbn [andb].
  destruct (Z.gtb_spec 1 size).
  { destruct (Z.ltb_spec p (base + size)); [lia|reflexivity]. }
  rewrite !wrapu_small by lia.
  destruct (Z.leb_spec (p - base) (size - 1)); destruct (Z.ltb_spec p (base + size)); try reflexivity; lia.
Qed.

(** The ledger entry's owner of the page at [p] of RAM. *)
Definition ownerZ (e : Isolation.Engine) (p : Z) : Z :=
  Isolation.page_owner (nth (Z.to_nat (p / 4096 -
    Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e)) / 4096)) (Isolation.Engine_pages e) Isolation.zero_page).

(** What FILE_READ's loop finds at the page at [p]: nothing, or the
    status it returns. *)
Definition checkZ (e : Isolation.Engine) (p : Z) : option status :=
  if negb (in_ramZ e p) then Some INVALID_PARAMETERS
  else if ownerZ e p =? Abi.OwnerHost then None else Some DENIED.

(** The model's verdict on a page is the code's. *)
Lemma file_check_abs : forall c e s q,
  cfg_rel c e -> ledger_ok e -> ms_pages (st_meta s) = abs_pages c e -> 0 <= q ->
  file_check c (st_meta s) (pfn c (Z.to_nat q)) = checkZ e q.
Proof.
  intros c e s q Hcfg Hl Habs Hq.
  pose proof (in_ram_iff c e q Hcfg Hq) as Hram.
  pose proof Hl as (Hb & Hs & Hbs & Hal & Hlen).
  destruct Hcfg as (Hg & Hrb & Hrs).
  set (base := Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e))) in *.
  set (size := Isolation.Range_Size (Isolation.Config_RAM (Isolation.Engine_cfg e))) in *.
  unfold file_check, checkZ, in_ramZ. fold base size.
  destruct (in_ram c (pfn c (Z.to_nat q))) eqn:Hr.
  - assert (Hin : base <= q < base + size) by (apply Hram; reflexivity).
    rewrite (proj2 (Z.leb_le base q) ltac:(lia)). rewrite (proj2 (Z.ltb_lt q (base + size)) ltac:(lia)). cbn [andb negb].
    rewrite Habs. unfold abs_pages. rewrite Hr.
    assert (Hix : (pfn c (Z.to_nat q) - ram_base c)%nat = Z.to_nat (q / 4096 - base / 4096)).
    { unfold pfn. rewrite Hg. rewrite <- Hrb, Z.div_mul by lia.
      apply Nat2Z.inj. rewrite Z2Nat.id.
      2:{ apply Zle_minus_le_0, Z.div_le_lower_bound; lia. }
      rewrite Nat2Z.inj_sub.
      - rewrite Nat2Z.inj_div, Z2Nat.id by lia. reflexivity.
      - apply Nat2Z.inj_le. rewrite Nat2Z.inj_div, Z2Nat.id by lia. apply Z.div_le_lower_bound; lia. }
    rewrite Hix. unfold ownerZ. fold base.
    set (pg := nth _ (Isolation.Engine_pages e) Isolation.zero_page).
    unfold host_owned, abs_page, abs_owner. cbn [pg_owner].
    unfold Abi.OwnerEngine, Abi.OwnerHost, Abi.OwnerVM.
    destruct (Isolation.page_owner pg =? 1) eqn:E1.
    + apply Z.eqb_eq in E1. rewrite E1. reflexivity.
    + destruct (Isolation.page_owner pg =? 2) eqn:E2; [reflexivity|].
      destruct (Isolation.page_owner pg =? 3); reflexivity.
  - assert (Hout : ~ (base <= q < base + size)) by (intros H; apply Hram in H; congruence).
    destruct (Z.leb_spec base q); destruct (Z.ltb_spec q (base + size)); cbn [andb negb]; try reflexivity; lia.
Qed.

(** ** FILE_READ: the scan of the pages *)

(** FILE_READ's loop over the pages from [pa], as the translation of
    [Engine.FileRead] writes it. *)
Definition file_scan (pa need : Z) :=
  loop (need - 0)
    (fun i => ret (i <? need))
    (fun i =>
       let p := wrapu 64 (pa + shl 64 false i Isolation.PageShift) in
       let! t'5 := Isolation.Engine_ramPage root p in
       if negb t'5 then ret (Leave (0, Abi.InvalidParameters)) else
       let! t'6 := Isolation.Engine_pageAt root p in
       let! t'7 := deref t'6 in
       if negb (Isolation.page_owner t'7 =? Abi.OwnerHost) then ret (Leave (0, Abi.Denied))
       else ret (Continue i))
    (fun i => let i := wrapu 64 (i + 1) in ret i) 0.

(** The result of FILE_READ's loop over the [need] pages from [pa]: it
    never fails, touches nothing, and falls through when every page passes
    [checkZ], or leaves with the status of the first one that does not. *)
Lemma FileRead_scan : forall e tr pa need,
  reclaim_ok e -> 0 <= pa < 2 ^ 64 -> pa mod 4096 = 0 -> 0 < need <= 2 ^ 28 ->
  exists j, file_scan pa need e tr = Ok j e tr /\
  match j with
  | Fall _ => forall i, 0 <= i < need -> checkZ e (pa + i * 4096) = None
  | Jump x => exists i sst, 0 <= i < need /\ (forall i', 0 <= i' < i -> checkZ e (pa + i' * 4096) = None) /\
      checkZ e (pa + i * 4096) = Some sst /\ x = (0, go_status sst)
  end.
Proof.
  intros e tr pa need (Hl & Hend) Hpa Hal Hneed. unfold file_scan.
  pose proof Hl as (Hb & Hs & Hbs & Hbal & Hlen).
  set (base := Isolation.Range_Base (Isolation.Config_RAM (Isolation.Engine_cfg e))) in *.
  set (size := Isolation.Range_Size (Isolation.Config_RAM (Isolation.Engine_cfg e))) in *.
  match goal with |- exists j, loop ?f ?c ?b ?p ?l0 e tr = _ /\ _ =>
  destruct (loop_spec f c b p
    (fun i st tr' => st = e /\ tr' = tr /\ 0 <= i <= need /\ forall i', 0 <= i' < i -> checkZ e (pa + i' * 4096) = None)
    (fun j st tr' => st = e /\ tr' = tr /\
       match j with
       | Fall _ => forall i, 0 <= i < need -> checkZ e (pa + i * 4096) = None
       | Jump x => exists i sst, 0 <= i < need /\ (forall i', 0 <= i' < i -> checkZ e (pa + i' * 4096) = None) /\
           checkZ e (pa + i * 4096) = Some sst /\ x = (0, go_status sst)
       end)
    (fun i => Z.to_nat (need - i))) with (l := l0) (s := e) (tr := tr) as (j & s' & tr' & Hl1 & Hq1) end.
  - intros i st tr' (-> & -> & Hi & Hall). eexists. split; [reflexivity|]. split.
    + intros Hc. apply Z.ltb_lt in Hc. lia.
    + intros Hc. apply Z.ltb_ge in Hc. split; [reflexivity|]. split; [reflexivity|].
      intros i' Hi'. apply Hall. lia.
  - intros i st tr' (-> & -> & Hi & Hall) Hc. injection Hc as Hc. apply Z.ltb_lt in Hc.
    (* The page does not wrap 64 bits: the first page is RAM, below 2^40,
       when this is not the first. *)
    assert (Hnw : pa + i * 4096 < 2 ^ 64).
    { destruct (Z.eq_dec i 0) as [->|Hi0]; [lia|].
      specialize (Hall 0 ltac:(lia)). unfold checkZ, in_ramZ in Hall. fold base size in Hall.
      destruct (Z.leb_spec base (pa + 0 * 4096)); destruct (Z.ltb_spec (pa + 0 * 4096) (base + size));
        cbn [andb negb] in Hall; try discriminate; lia. }
    assert (Hp : wrapu 64 (pa + shl 64 false i Isolation.PageShift) = pa + i * 4096).
    { unfold Isolation.PageShift. rewrite shl_small by lia. rewrite Z.shiftl_mul_pow2 by lia.
      change (2 ^ 12) with 4096. rewrite (wrapu_small (i * 4096)) by lia. apply wrapu_small. lia. }
    cbv zeta. rewrite Hp.
    unfold bind at 1. rewrite (ramPage_ok e tr (pa + i * 4096) Hl ltac:(lia)). cbv beta iota.
    destruct (in_ramZ e (pa + i * 4096)) eqn:Hr; cbn [negb].
    2:{ unfold ret. eexists _, _, _. split; [reflexivity|]. split; [reflexivity|]. split; [reflexivity|].
        exists i, INVALID_PARAMETERS. split; [lia|]. split; [exact Hall|]. split; [|reflexivity].
        unfold checkZ. rewrite Hr. reflexivity. }
    assert (Hin : base <= pa + i * 4096 < base + size).
    { unfold in_ramZ in Hr. fold base size in Hr. apply andb_true_iff in Hr. rewrite Z.leb_le, Z.ltb_lt in Hr. exact Hr. }
    assert (Hpal : andnot (pa + i * 4096) 4095 = pa + i * 4096).
    { rewrite andnot_4095 by lia. rewrite Z.add_mod, Hal, Z.mod_mul by lia. change ((0 + 0) mod 4096) with 0. lia. }
    pose proof (pageAt_nth e tr (pa + i * 4096) Hl ltac:(lia) ltac:(fold base size; lia)) as (pp & Hpp & Hd).
    rewrite Hpal in Hpp.
    unfold bind at 1. rewrite Hpp. cbv beta iota.
    unfold bind at 1. rewrite Hd. cbv beta iota.
    fold base.
    destruct (Isolation.page_owner (nth (Z.to_nat ((pa + i * 4096) / 4096 - base / 4096)) (Isolation.Engine_pages e) Isolation.zero_page) =? Abi.OwnerHost) eqn:Ho;
      cbn [negb].
    + unfold ret. eexists _, _, _. split; [reflexivity|]. eexists. split; [reflexivity|].
      rewrite wrapu_small by lia. split; [|apply Z2Nat.inj_lt; lia].
      split; [reflexivity|]. split; [reflexivity|]. split; [lia|].
      intros i' Hi'. destruct (Z.eq_dec i' i) as [->|Hne]; [|apply Hall; lia].
      unfold checkZ, ownerZ. rewrite Hr. cbn [negb]. fold base. rewrite Ho. reflexivity.
    + unfold ret. eexists _, _, _. split; [reflexivity|]. split; [reflexivity|]. split; [reflexivity|].
      exists i, DENIED. split; [lia|]. split; [exact Hall|]. split; [|reflexivity].
      unfold checkZ, ownerZ. rewrite Hr. cbn [negb]. fold base. rewrite Ho. reflexivity.
  - split; [reflexivity|]. split; [reflexivity|]. split; [lia|]. intros; lia.
  - rewrite Z.sub_0_r, fuel_nat by lia. lia.
  - destruct Hq1 as (-> & -> & Hj). exists j. split; [exact Hl1|exact Hj].
Qed.

(** ** FILE_READ *)

Lemma mod_nat : forall pa, 0 <= pa -> (Z.to_nat pa mod 4096 =? 0)%nat = (pa mod 4096 =? 0).
Proof.
  intros pa Hpa. destruct (Nat.eqb_spec (Z.to_nat pa mod 4096) 0) as [E|E];
    destruct (Z.eqb_spec (pa mod 4096) 0) as [F|F]; try reflexivity; exfalso.
  - apply (f_equal Z.of_nat) in E. rewrite Nat2Z.inj_mod, Z2Nat.id in E by lia.
    change (Z.of_nat 4096) with 4096 in E. change (Z.of_nat 0) with 0 in E. lia.
  - apply E. apply Nat2Z.inj. rewrite Nat2Z.inj_mod, Z2Nat.id by lia.
    change (Z.of_nat 4096) with 4096. change (Z.of_nat 0) with 0. lia.
Qed.

Lemma ltb_nat : forall a b, 0 <= a -> 0 <= b -> (Z.to_nat a <? Z.to_nat b)%nat = (a <? b).
Proof.
  intros a b Ha Hb. destruct (Nat.ltb_spec (Z.to_nat a) (Z.to_nat b)); destruct (Z.ltb_spec a b);
    try reflexivity; lia.
Qed.

(** FILE_READ refines the model. From an engine whose ledger covers RAM
    inside the IPA space, whose platform is set, whose files are the
    model's and at most [MaxFileSize] bytes, and a model state whose page
    metadata is the ledger's abstraction on the same board, for any 64-bit
    index, pa and pages, the translated code reaches no failure outcome
    and either
    - returns an error status with result 0, leaving memory and trace as
      they were, and the model's step returns the same status and leaves
      its state as it was; or
    - the model's step answers SUCCESS with the file's size (which is the
      Go file's) and leaves its ledger and registers as they were, and
      either the file is empty, the code returns SUCCESS with 0 touching
      nothing and the model's memory is unchanged too, or the code
      records exactly the event CopyFile(index, pa) in the trace, leaves
      the engine as it was, and returns SUCCESS with the file's size if
      the platform's CopyFile answered true, NO_MEMORY (which the model
      does not describe) with 0 otherwise. *)
Theorem FileRead_refines : forall c e s tr index pa pages,
  reclaim_ok e -> Isolation.Engine_plat e <> None ->
  cfg_rel c e -> files_rel c e -> files_ok e -> ms_pages (st_meta s) = abs_pages c e ->
  0 <= index < 2 ^ 64 -> 0 <= pa < 2 ^ 64 -> 0 <= pages < 2 ^ 64 ->
  (exists sst, sst <> SUCCESS /\
     Isolation.Engine_FileRead root index pa pages e tr = Ok (0, go_status sst) e tr /\
     file_read c s (Z.to_nat index) (Z.to_nat pa) (Z.to_nat pages) = (s, err sst))
  \/
  (exists f b s', nth_error (files c) (Z.to_nat index) = Some f /\
     nth_error (Isolation.Config_Files (Isolation.Engine_cfg e)) (Z.to_nat index) = Some b /\
     Isolation.BootFile_Size b = Z.of_nat (f_size f) /\
     file_read c s (Z.to_nat index) (Z.to_nat pa) (Z.to_nat pages) = (s', ORet SUCCESS [f_size f]) /\
     st_meta s' = st_meta s /\ st_regs s' = st_regs s /\
     ((file_pages c f = 0%nat /\ f_size f = 0%nat /\
       Isolation.Engine_FileRead root index pa pages e tr = Ok (0, Abi.Success) e tr /\
       forall p, st_mem s' p = st_mem s p)
      \/
      (file_pages c f <> 0%nat /\ exists o, Isolation.Engine_plat e = Some o /\
       Isolation.Engine_FileRead root index pa pages e tr =
         Ok (if Isolation.Platform_CopyFile o tr index pa then (Isolation.BootFile_Size b, Abi.Success) else (0, Abi.NoMemory))
            e (mkEvent "CopyFile" [index; pa] :: tr)))).
Proof.
  intros c e s tr index pa pages Hok Hplat Hcfg Hrel (Hflen & Hfsz) Habs Hi Hpa Hpg.
  pose proof Hok as (Hl & Hend).
  pose proof Hcfg as (Hg & Hrb & Hrs).
  pose proof (file_at c e index Hrel ltac:(lia)) as [(Hge & Hn) | (f & b & Hlt & Hf & Hb & Hs & Hnm)].
  { left. exists INVALID_PARAMETERS. split; [discriminate|]. split.
    - unfold Isolation.Engine_FileRead, bind at 1. rewrite deref_root. cbv beta iota.
      rewrite wrapu_small by (unfold len in *; lia).
      destruct (Z.geb_spec index (len (Isolation.Config_Files (Isolation.Engine_cfg e)))); [|lia].
      reflexivity.
    - unfold file_read. rewrite Hn. reflexivity. }
  assert (Hsz : Isolation.BootFile_Size b <= 2 ^ 40).
  { rewrite Forall_forall in Hfsz. apply Hfsz. eapply nth_error_In. exact Hb. }
  set (size := Isolation.BootFile_Size b) in *.
  assert (Hk : file_pages c f = Z.to_nat ((size + 4095) / 4096)) by (rewrite file_pages_nat by exact Hg; rewrite Hs; reflexivity).
  set (need := (size + 4095) / 4096) in *.
  assert (Hneed : 0 <= need <= 2 ^ 28).
  { unfold need. split; [apply Z.div_pos; lia|].
    replace (2 ^ 28) with ((2 ^ 40 + 4095) / 4096) by reflexivity. apply Z.div_le_mono; lia. }
  (* The checks before the scan. *)
  destruct (Z.eqb_spec (pa mod 4096) 0) as [Hal|Hal].
  2:{ left. exists INVALID_PARAMETERS. split; [discriminate|]. split.
      - unfold Isolation.Engine_FileRead, bind at 1. rewrite deref_root. cbv beta iota.
        rewrite wrapu_small by (unfold len in *; lia).
        destruct (Z.geb_spec index (len (Isolation.Config_Files (Isolation.Engine_cfg e)))); [lia|].
        unfold Isolation.pageMask. rewrite land_4095 by lia.
        rewrite (proj2 (Z.eqb_neq (pa mod 4096) 0) ltac:(lia)). reflexivity.
      - unfold file_read. rewrite Hf. cbv zeta. rewrite Hg, mod_nat by lia.
        rewrite (proj2 (Z.eqb_neq (pa mod 4096) 0) ltac:(lia)). reflexivity. }
  assert (Hcode : forall k, Isolation.Engine_FileRead root index pa pages e tr = k <->
    (if pages <? need then ret (0, Abi.InvalidParameters) else
     if need =? 0 then ret (0, Abi.Success) else
     let! t'8 := file_scan pa need in
     match t'8 with
     | Fall i =>
         let! t'9 := deref root in
         let! t'10 := get_platform (Isolation.Engine_plat t'9) in
         let! t'11 := trace_now in
         let t'12 := Isolation.Platform_CopyFile t'10 t'11 index pa in
         let! t'13 := emit "CopyFile" [index; pa] in
         if negb t'12 then ret (0, Abi.NoMemory) else ret (size, Abi.Success)
     | Jump x'j => ret x'j
     end) e tr = k).
  { intros k. unfold Isolation.Engine_FileRead, bind at 1. rewrite deref_root. cbv beta iota.
    rewrite wrapu_small by (unfold len in *; lia).
    destruct (Z.geb_spec index (len (Isolation.Config_Files (Isolation.Engine_cfg e)))); [lia|].
    unfold Isolation.pageMask. rewrite land_4095 by lia. rewrite Hal. cbn [Z.eqb negb orb].
    unfold bind at 1. rewrite deref_root. cbv beta iota.
    unfold bind at 1. rewrite (idx_nth _ index b e tr ltac:(lia) Hb). cbv beta iota.
    cbv zeta. unfold bind at 1. rewrite (filePages_ok e tr (Isolation.BootFile_Size b) ltac:(lia)). cbv beta iota.
    reflexivity. }
  (* The model's step once the index and the alignment pass. *)
  assert (Hmodel : file_read c s (Z.to_nat index) (Z.to_nat pa) (Z.to_nat pages) =
    if pages <? need then (s, err INVALID_PARAMETERS) else
    match first_range (pfn c (Z.to_nat pa)) (Z.to_nat need) (file_check c (st_meta s)) with
    | Some e0 => (s, err e0)
    | None => (mkState (st_meta s) (fun p => if in_range p (pfn c (Z.to_nat pa)) (Z.to_nat need)
                 then nth (p - pfn c (Z.to_nat pa))%nat (f_pages f) 0%nat else st_mem s p) (st_regs s),
               ORet SUCCESS [f_size f])
    end).
  { unfold file_read. rewrite Hf. cbv zeta. rewrite Hg, mod_nat, Hal by lia. cbn [Z.eqb negb orb].
    rewrite Hk, ltb_nat by lia. reflexivity. }
  destruct (Z.ltb_spec pages need) as [Hlt'|Hge'].
  { left. exists INVALID_PARAMETERS. split; [discriminate|]. split.
    - apply Hcode. destruct (Z.ltb_spec pages need); [|lia]. reflexivity.
    - rewrite Hmodel. destruct (Z.ltb_spec pages need); [|lia]. reflexivity. }
  destruct (Z.eqb_spec need 0) as [H0|H0].
  { (* The empty file. *)
    right. exists f, b. eexists. split; [exact Hf|]. split; [exact Hb|]. split; [symmetry; exact Hs|].
    split.
    { rewrite Hmodel. destruct (Z.ltb_spec pages need); [lia|]. rewrite H0. cbn [Z.to_nat first_range]. reflexivity. }
    split; [reflexivity|]. split; [reflexivity|]. left. split; [rewrite Hk, H0; reflexivity|]. split.
    { unfold need in H0. pose proof (Z.div_mod (size + 4095) 4096 ltac:(lia)).
      pose proof (Z.mod_pos_bound (size + 4095) 4096 ltac:(lia)). lia. }
    split.
    - apply Hcode. reflexivity.
    - intros p. cbn [st_mem]. unfold in_range.
      destruct (Nat.leb_spec (pfn c (Z.to_nat pa)) p); destruct (Nat.ltb_spec p (pfn c (Z.to_nat pa) + 0));
        cbn [andb]; try reflexivity; lia. }
  (* The scan. *)
  pose proof (FileRead_scan e tr pa need Hok Hpa Hal ltac:(lia)) as (j & Hj & Hq).
  assert (Hchk : forall i, 0 <= i ->
    file_check c (st_meta s) (pfn c (Z.to_nat pa) + Z.to_nat i) = checkZ e (pa + i * 4096)).
  { intros i Hi0. rewrite pfn_add by lia. apply file_check_abs; auto; lia. }
  destruct j as [i|x].
  - (* Every page passes: the copy. *)
    right. exists f, b. eexists. split; [exact Hf|]. split; [exact Hb|]. split; [symmetry; exact Hs|].
    split.
    { rewrite Hmodel. destruct (Z.ltb_spec pages need); [lia|].
      rewrite first_range_all_none; [reflexivity|].
      intros i' Hi'. replace i' with (Z.to_nat (Z.of_nat i')) by lia. rewrite Hchk by lia. apply Hq. lia. }
    split; [reflexivity|]. split; [reflexivity|]. right. split; [rewrite Hk; lia|].
    destruct (Isolation.Engine_plat e) as [o|] eqn:Ho; [|contradiction].
    exists o. split; [reflexivity|].
    apply Hcode. destruct (Z.ltb_spec pages need); [lia|]. destruct (Z.eqb_spec need 0); [lia|].
    unfold bind at 1. rewrite Hj. cbv beta iota.
    unfold bind at 1. rewrite deref_root. cbv beta iota. rewrite Ho.
    unfold get_platform, trace_now, emit, bind, ret. cbv beta iota zeta.
    destruct (Isolation.Platform_CopyFile o tr index pa); reflexivity.
  - (* A page fails: its status. *)
    destruct Hq as (i & sst & Hi' & Hbefore & Hsst & ->).
    left. exists sst. split.
    { unfold checkZ in Hsst. destruct (negb (in_ramZ e (pa + i * 4096))); [injection Hsst as <-; discriminate|].
      destruct (ownerZ e (pa + i * 4096) =? Abi.OwnerHost); [discriminate|]. injection Hsst as <-; discriminate. }
    split.
    + apply Hcode. destruct (Z.ltb_spec pages need); [lia|]. destruct (Z.eqb_spec need 0); [lia|].
      unfold bind at 1. rewrite Hj. reflexivity.
    + rewrite Hmodel. destruct (Z.ltb_spec pages need); [lia|].
      rewrite (first_range_at (Z.to_nat need) _ _ (Z.to_nat i)).
      * rewrite Hchk, Hsst by lia. reflexivity.
      * lia.
      * intros i' Hi''. replace i' with (Z.to_nat (Z.of_nat i')) by lia. rewrite Hchk by lia. apply Hbefore. lia.
      * rewrite Hchk, Hsst by lia. discriminate.
Qed.
