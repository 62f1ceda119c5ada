(** * What the stage-2 update does to the walk

    Lemmas about proofs/code/Isolation.v, the translation of
    isolation/stage2.go and isolation/desc.go, that carry on from
    CodeUpdate.v, CodeUpdateL2.v and CodeUpdateRoot.v (what [update]
    writes) and CodeVMCreateRefine.v ([pw], the walk of a tree of tables,
    which is [translate], [translate_pw]). Walks are compared by what the
    abstraction reads of them ([view]; [walk], CodeAbs): whether the walk
    maps, the PA and the permissions, not the level of the leaf. The
    update [u] maps an address [x] as [u_map] says: nowhere for an unmap,
    else to [x] plus its offset with the permission bits of its
    attributes.
    Proved here:
    - leaves: the leaf [replaceLeaf] writes ([new_ent], CodeUpdate) at
      any level walks, at every address of its span, as [u_map] says, when
      a map's output address is aligned to the span and below 2^48
      ([new_ent_view]);
    - split blocks: each of the 512 leaves [splitBlock] makes of a block
      walks, at every address of its span, as the block did, when the
      block ends below 2^48 (its output address plus its span): page
      leaves of a level-2 block ([split_leaf_view]), level-2 leaves of a
      root block ([split_leaf1_view]), which end below 2^48 too
      ([split_leaf1_below]);
    - level 3: after [update] of [ipa, end') in a level-3 table
      ([update_last_ok], [last_done]), the walk from the table of an
      address of its 2 MiB span is [u_map] inside [ipa, end') and as
      before outside ([last_done_walk], [update_last_walk]);
    - level 2: one iteration of [update]'s loop ([l2_step], CodeUpdateL2)
      makes the walk of its entry's part of the range [u_map] and leaves
      the rest of the entry's span as it was ([l2_step_walk]), and the
      other entries' walks too ([walk2_frame]); so after [update] of
      [ipa, end') in a level-2 table with [l2_inv] the walk from it of an
      address of its 1 GiB span is [u_map] inside [ipa, end') and as
      before outside ([update_l2_walk]). The table's blocks must end
      below 2^48 ([blocks_below]) and the update's output addresses lie
      below 2^48 ([pa_below]);
    - the root (level 1), one entry: the walk from the root reads the
      root entry and what it names ([view_pw1], [root_view]); descend
      into an entry holding a level-2 table ([descend_table_root_walk]),
      into an invalid entry for a map ([descend_new_root_walk]) and into a
      block that ends below 2^48 ([descend_split_root_walk]), and replaceLeaf
      of a whole entry ([clearEntry_table_root],
      [replaceLeaf_table_root] say what they leave in the entry) make
      the walk of the entry's span [u_map] inside the range and leave it
      as it was outside; so does [update] at the root of a range inside
      one root entry ([update_root_entry_walk], and on [pw] from the root
      [update_root_entry_pw]), and so [mapRange] and [unmapRange] of such
      a range ([mapRange_pw], [unmapRange_pw]). The level-2 table the
      entry holds must not name the root's table, which is in use.
    - the abstraction's walk of a stage-2 on a tree of tables is [view] of
      [pw] ([walk_view]); so, where the stage-2 is a tree of tables after
      the call, [walk] after [mapRange] or [unmapRange] of a range inside
      one root entry is the range's mapping inside it and as before
      outside, in that entry's span ([mapRange_walk], [unmapRange_walk]).
      That the stage-2 stays a tree of tables, and what happens in the
      other root entries, is not proved here.

    The depth fuel of every inner call of [update] stays a variable, as in
    CodeUpdate.v. *)
From Coq Require Import ZArith Lia List Bool String Znumtheory.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodeVMCreateRefine.
From Bulkhead.Proofs Require CodeAbs.
From Bulkhead.Proofs Require Import CodePlace CodeTrack CodeLens CodeLoop CodeLedger CodeVCPU CodeVMCreate
  CodeStage2 CodeShadow CodePool CodeFree CodeUpdate CodeUpdateFrame CodeUpdateL2 CodeUpdateRoot.
Import ListNotations.
Open Scope Z_scope.

(** ** What the abstraction reads of a walk *)

(** Whether a walk's result maps, and then its PA and permissions. *)
Definition view (r : Isolation.Mapping * bool) : option (Z * Z) :=
  if snd r then Some (Isolation.Mapping_PA (fst r), Isolation.Attr_Perms (Isolation.Mapping_Attr (fst r))) else None.

(** The mapping the update [u] gives the address [x]: none for an unmap,
    else [x] plus the offset, with the permission bits of its attributes
    that a leaf holds. *)
Definition u_map (u : Isolation.s2update) (x : Z) : option (Z * Z) :=
  if Isolation.s2update_unmap u then None
  else Some (wrapu 64 (x + Isolation.s2update_delta u), Z.land (Isolation.Attr_Perms (Isolation.s2update_attr u)) 7).

(** What the walk reads of a leaf entry [d] at level [lvl] for [x]. *)
Definition leaf_view (d lvl x : Z) : option (Z * Z) :=
  if valid_d d then Some (wrapu 64 (Z.land d Isolation.descOAMask + Z.land x (wrapu 64 (lsize lvl - 1))),
    Isolation.Attr_Perms (lattr d)) else None.

(** The output addresses of a map of [ipa, end') lie below 2^48. *)
Definition pa_below (u : Isolation.s2update) (ipa end' : Z) : Prop :=
  Isolation.s2update_unmap u = false -> forall x, ipa <= x < end' -> wrapu 64 (x + Isolation.s2update_delta u) < 2 ^ 48.

Lemma eidx_val : forall x lvl, 1 <= lvl <= 3 -> 0 <= x < 2 ^ 64 ->
  eidx x lvl = (x / 2 ^ (12 + 9 * (3 - lvl))) mod nentries lvl.
Proof. intros x lvl Hl Hx. unfold eidx, pv. rewrite (entryIndex_val tt [] x lvl Hl Hx). reflexivity. Qed.

Lemma lsize3 : wrapu 64 (lsize 3 - 1) = Z.ones 12.
Proof. reflexivity. Qed.

Lemma lsize2 : wrapu 64 (lsize 2 - 1) = Z.ones 21.
Proof. reflexivity. Qed.

(** The walk from a level-3 table reads the entry of [x]. *)
Lemma view_pw3 : forall T base x c, view (pw T base x 1 c 3) = leaf_view (ent T c (eidx x 3)) 3 x.
Proof.
  intros T base x c. cbn [pw]. unfold leaf_view, valid_d.
  destruct (Z.land (ent T c (eidx x 3)) Isolation.descValid =? 0); reflexivity.
Qed.

(** The walk from a level-2 table reads the entry of [x] and, for a table
    descriptor, the entry of [x] in the table it names. *)
Lemma pw_S : forall T base ipa n t lvl, pw T base ipa (S n) t lvl =
    if Z.land (ent T t (eidx ipa lvl)) Isolation.descValid =? 0
    then (Isolation.mk_Mapping Isolation.zero_PA Isolation.zero_Attr 0, false)
    else if (lvl <? Isolation.lastLevel) && (Z.land (ent T t (eidx ipa lvl)) 3 =? 3)
    then pw T base ipa n (child base (ent T t (eidx ipa lvl))) (lvl + 1)
    else (Isolation.mk_Mapping (wrapu 64 (Z.land (ent T t (eidx ipa lvl)) Isolation.descOAMask +
            Z.land ipa (wrapu 64 (lsize lvl - 1)))) (lattr (ent T t (eidx ipa lvl))) lvl, true).
Proof. reflexivity. Qed.

Lemma view_pw2 : forall T base x t, view (pw T base x 2 t 2) =
  let d := ent T t (eidx x 2) in
  if valid_d d then (if Z.land d 3 =? 3 then leaf_view (ent T (child base d) (eidx x 3)) 3 x else leaf_view d 2 x)
  else None.
Proof.
  intros T base x t. rewrite pw_S. cbv zeta. unfold valid_d at 1.
  destruct (Z.land (ent T t (eidx x 2)) Isolation.descValid =? 0) eqn:Hv; [reflexivity|]. cbn [negb].
  change (2 <? Isolation.lastLevel) with true. cbn [andb].
  destruct (Z.land (ent T t (eidx x 2)) 3 =? 3).
  - apply view_pw3.
  - unfold leaf_view, valid_d. rewrite Hv. reflexivity.
Qed.

(** ** Leaves *)

(** A leaf is its output address and flags that depend only on the level
    and the attributes. *)
Lemma leaf_val_split : forall pa lvl a, leaf_val pa lvl a = Z.lor (Z.land pa Isolation.descOAMask) (leaf_val 0 lvl a).
Proof.
  intros pa lvl a. unfold leaf_val, Isolation.leafDesc, bind, ret.
  repeat match goal with |- context [if ?c then _ else _] => destruct c end;
  rewrite ?Z.land_0_l, ?Z.lor_0_l; repeat rewrite <- Z.lor_assoc; reflexivity.
Qed.

(** The flags of a leaf, as a function of the level's test and the
    attributes' bits. *)
Definition flags (last dev r w x : bool) : Z :=
  Z.lor (Z.lor (Z.lor (Z.lor (Z.lor (Z.lor 1 Isolation.descAF) (if last then Isolation.descTable else 0))
    (if dev then 4 else 828)) (if r then 64 else 0)) (if w then 128 else 0)) (if x then Isolation.descXN else 0).

Lemma leaf_flags : forall lvl a, leaf_val 0 lvl a =
  flags (lvl =? Isolation.lastLevel) (Isolation.Attr_Device a)
    (negb (Z.land (Isolation.Attr_Perms a) Isolation.PermR =? 0))
    (negb (Z.land (Isolation.Attr_Perms a) Isolation.PermW =? 0))
    (Z.land (Isolation.Attr_Perms a) Isolation.PermX =? 0).
Proof.
  intros lvl a. unfold leaf_val, Isolation.leafDesc, bind, ret, flags.
  repeat match goal with |- context [if ?c then _ else _] => destruct c end; reflexivity.
Qed.

Lemma land_oa_0 : forall d m, Z.land Isolation.descOAMask m = 0 -> Z.land (Z.land d Isolation.descOAMask) m = 0.
Proof. intros d m H. rewrite <- Z.land_assoc, H. apply Z.land_0_r. Qed.

Lemma leaf_land : forall pa lvl a m, Z.land Isolation.descOAMask m = 0 ->
  Z.land (leaf_val pa lvl a) m = Z.land (leaf_val 0 lvl a) m.
Proof.
  intros pa lvl a m H. rewrite leaf_val_split, Z.land_lor_distr_l, land_oa_0 by exact H. apply Z.lor_0_l.
Qed.

Lemma flags_oa : forall l d r w x, Z.land (flags l d r w x) Isolation.descOAMask = 0.
Proof. intros [] [] [] [] []; reflexivity. Qed.

Lemma flags_valid : forall l d r w x, Z.land (flags l d r w x) Isolation.descValid = 1.
Proof. intros [] [] [] [] []; reflexivity. Qed.

Lemma leaf_oa : forall pa lvl a, Z.land (leaf_val pa lvl a) Isolation.descOAMask = Z.land pa Isolation.descOAMask.
Proof.
  intros pa lvl a. rewrite leaf_val_split, Z.land_lor_distr_l, <- Z.land_assoc, Z.land_diag.
  rewrite leaf_flags, flags_oa. apply Z.lor_0_r.
Qed.

Lemma leaf_valid : forall pa lvl a, valid_d (leaf_val pa lvl a) = true.
Proof.
  intros pa lvl a. unfold valid_d. rewrite leaf_land by reflexivity. rewrite leaf_flags, flags_valid. reflexivity.
Qed.

Lemma lattr_bits : forall d d', Z.land d Isolation.descS2APMask = Z.land d' Isolation.descS2APMask ->
  Z.land d Isolation.descXN = Z.land d' Isolation.descXN ->
  Z.land d Isolation.descMemAttrMask = Z.land d' Isolation.descMemAttrMask -> lattr d = lattr d'.
Proof.
  intros d d' H1 H2 H3. unfold lattr, pv, Isolation.leafAttr, bind, ret. rewrite H1, H2, H3. reflexivity.
Qed.

Lemma land_perm_bits : forall p k, Z.land 7 k = k -> Z.land p k = Z.land (Z.land p 7) k.
Proof. intros p k H. rewrite <- Z.land_assoc, H. reflexivity. Qed.

(** A leaf carries the permission bits of its attributes. *)
Lemma leaf_perms : forall pa lvl a,
  Isolation.Attr_Perms (lattr (leaf_val pa lvl a)) = Z.land (Isolation.Attr_Perms a) 7.
Proof.
  intros pa lvl a.
  rewrite (lattr_bits (leaf_val pa lvl a) (leaf_val 0 lvl a)) by (apply leaf_land; reflexivity).
  rewrite leaf_flags. unfold Isolation.PermR, Isolation.PermW, Isolation.PermX.
  rewrite (land_perm_bits _ 1), (land_perm_bits _ 2), (land_perm_bits _ 4) by reflexivity.
  assert (Hr : 0 <= Z.land (Isolation.Attr_Perms a) 7 < 8)
    by (change 7 with (Z.ones 3); rewrite Z.land_ones by lia; apply Z.mod_pos_bound; lia).
  destruct (Z.land (Isolation.Attr_Perms a) 7) as [|r|r] eqn:E; [|do 3 (try destruct r as [r|r|]); try lia|lia];
    destruct (_ =? _), (Isolation.Attr_Device a); reflexivity.
Qed.

(** The output address of a leaf whose address is page aligned and below
    2^48 is that address. *)
Lemma oa_exact : forall pa, 0 <= pa < 2 ^ 48 -> pa mod 4096 = 0 -> Z.land pa Isolation.descOAMask = pa.
Proof.
  intros pa Hp Ha. apply Z.bits_inj'. intros n Hn. rewrite Z.land_spec, oa_bits by lia.
  destruct (Z.ltb_spec n 12).
  - rewrite page_low_bits by (auto; lia). reflexivity.
  - destruct (Z.ltb_spec n 48).
    + destruct (Z.leb_spec 12 n); [|lia]. apply andb_true_r.
    + rewrite small_high_bits by lia. reflexivity.
Qed.

Lemma oa_range : forall d, 0 <= Z.land d Isolation.descOAMask < 2 ^ 48 /\ Z.land d Isolation.descOAMask mod 4096 = 0.
Proof.
  intros d. split.
  - replace (Z.land d Isolation.descOAMask) with (Z.land (Z.land d Isolation.descOAMask) (Z.ones 48))
      by (rewrite <- Z.land_assoc; reflexivity).
    rewrite Z.land_ones by lia. apply Z.mod_pos_bound. lia.
  - change 4096 with (2 ^ 12). rewrite <- Z.land_ones by lia. rewrite <- Z.land_assoc.
    change (Z.land Isolation.descOAMask (Z.ones 12)) with 0. apply Z.land_0_r.
Qed.

Lemma wrapu_add_mod : forall a b, wrapu 64 (wrapu 64 a + b) = wrapu 64 (a + b).
Proof. intros a b. unfold wrapu. rewrite Z.add_mod_idemp_l by lia. reflexivity. Qed.

(** The size of the span of an entry at level 2 or 3. *)
Definition span (lvl : Z) : Z := 2 ^ (12 + 9 * (3 - lvl)).

Lemma lsize1 : wrapu 64 (lsize 1 - 1) = Z.ones 30.
Proof. reflexivity. Qed.

Lemma leaf_mask : forall lvl x, 1 <= lvl <= 3 -> Z.land x (wrapu 64 (lsize lvl - 1)) = x mod span lvl.
Proof.
  intros lvl x Hl. assert (E : lvl = 1 \/ lvl = 2 \/ lvl = 3) by lia.
  destruct E as [-> | [-> | ->]]; [rewrite lsize1|rewrite lsize2|rewrite lsize3]; rewrite Z.land_ones by lia; reflexivity.
Qed.

(** An address aligned to a level's span is page aligned. *)
Lemma span_page : forall pa lvl, 1 <= lvl <= 3 -> pa mod span lvl = 0 -> pa mod 4096 = 0.
Proof.
  intros pa lvl Hl Hpa.
  assert (Hs : span lvl = 2 ^ 12 * 2 ^ (9 * (3 - lvl))) by (unfold span; rewrite <- Z.pow_add_r by lia; reflexivity).
  assert (Hs1 : 0 < 2 ^ (9 * (3 - lvl))) by (apply Z.pow_pos_nonneg; lia).
  rewrite (Z.div_mod pa (span lvl)) by lia. rewrite Hpa, Z.add_0_r, Hs.
  replace (2 ^ 12 * 2 ^ (9 * (3 - lvl)) * (pa / (2 ^ 12 * 2 ^ (9 * (3 - lvl)))))
    with ((2 ^ (9 * (3 - lvl)) * (pa / (2 ^ 12 * 2 ^ (9 * (3 - lvl))))) * 4096) by (change (2 ^ 12) with 4096; ring).
  apply Z.mod_mul. lia.
Qed.

(** A leaf for a page-aligned [pa] below 2^48 walks, at an address [x]
    of the span at [b], to [pa] plus the offset of [x]. *)
Lemma leaf_val_view : forall pa lvl a b x, 1 <= lvl <= 3 -> 0 <= pa < 2 ^ 48 -> pa mod 4096 = 0 ->
  b mod span lvl = 0 -> b <= x < b + span lvl ->
  leaf_view (leaf_val pa lvl a) lvl x = Some (wrapu 64 (pa + (x - b)), Z.land (Isolation.Attr_Perms a) 7).
Proof.
  intros pa lvl a b x Hl Hp Hpa Hb Hx. unfold leaf_view. rewrite leaf_valid, leaf_oa, leaf_perms, leaf_mask by exact Hl.
  assert (Hs : span lvl = 2 ^ 12 * 2 ^ (9 * (3 - lvl))) by (unfold span; rewrite <- Z.pow_add_r by lia; reflexivity).
  assert (Hs1 : 0 < 2 ^ (9 * (3 - lvl))) by (apply Z.pow_pos_nonneg; lia).
  rewrite oa_exact by assumption.
  replace (x mod span lvl) with (x - b); [reflexivity|].
  rewrite (Z.div_mod b (span lvl)) in Hx |- * by lia. rewrite Hb, Z.add_0_r in *.
  replace x with ((x - span lvl * (b / span lvl)) + (b / span lvl) * span lvl) at 2 by ring.
  rewrite Z.mod_add by lia. rewrite Z.mod_small by lia. ring.
Qed.

(** The leaf [replaceLeaf] writes at level 2 or 3 for the entry at [b]
    walks, at an address [x] of the entry's span, as the update maps [x]:
    for a map whose output address for [b] is aligned to the span and
    below 2^48, to [x] plus the offset with the update's permissions; for
    an unmap, nowhere. *)
Theorem new_ent_view : forall u lvl b old x, 1 <= lvl <= 3 -> 0 <= b -> b mod span lvl = 0 -> b <= x < b + span lvl ->
  (Isolation.s2update_unmap u = false ->
     wrapu 64 (b + Isolation.s2update_delta u) mod span lvl = 0 /\ wrapu 64 (b + Isolation.s2update_delta u) < 2 ^ 48) ->
  leaf_view (new_ent u lvl b old) lvl x = u_map u x.
Proof.
  intros u lvl b old x Hl Hb0 Hb Hx Hmap. unfold new_ent, u_map.
  destruct (Isolation.s2update_unmap u) eqn:Hun.
  - unfold leaf_view. destruct (valid_d old) eqn:Hv; [reflexivity|]. rewrite Hv. reflexivity.
  - pose proof (Hmap eq_refl) as [Ha Hlt].
    assert (H0 : 0 <= wrapu 64 (b + Isolation.s2update_delta u)) by (unfold wrapu; apply Z.mod_pos_bound; lia).
    rewrite (leaf_val_view (wrapu 64 (b + Isolation.s2update_delta u)) lvl (Isolation.s2update_attr u) b x Hl ltac:(lia)
      (span_page _ lvl Hl Ha) Hb Hx). rewrite wrapu_add_mod.
    replace (b + Isolation.s2update_delta u + (x - b)) with (x + Isolation.s2update_delta u) by ring. reflexivity.
Qed.

(** ** Split blocks *)

(** [j] is the page of [x] in the 2 MiB span at [B]. *)
Lemma page_of : forall B x, B mod 2 ^ 21 = 0 -> 0 <= B <= x -> x < B + 2 ^ 21 ->
  (x / 4096) mod 512 = (x - B) / 4096 /\ x mod 2 ^ 21 = 4096 * ((x / 4096) mod 512) + x mod 4096 /\
  B + 4096 * ((x / 4096) mod 512) <= x < B + 4096 * ((x / 4096) mod 512) + 4096.
Proof.
  intros B x HB Hb Hx.
  pose proof (Z.div_mod B (2 ^ 21) ltac:(lia)) as EB. rewrite HB, Z.add_0_r in EB.
  set (q := B / 2 ^ 21) in *.
  set (r := x - B).
  assert (Hr : 0 <= r < 2 ^ 21) by (unfold r; lia).
  assert (Ex : x = r + (q * 512) * 4096) by (unfold r; lia).
  assert (Ed : x / 4096 = r / 4096 + q * 512) by (rewrite Ex; apply Z.div_add; lia).
  assert (Hrd : 0 <= r / 4096 < 512) by (split; [apply Z.div_pos|apply Z.div_lt_upper_bound]; lia).
  assert (Em : (x / 4096) mod 512 = r / 4096) by (rewrite Ed, Z.mod_add, Z.mod_small by lia; reflexivity).
  rewrite Em. split; [reflexivity|].
  pose proof (Z.div_mod r 4096 ltac:(lia)). pose proof (Z.mod_pos_bound r 4096 ltac:(lia)).
  assert (Exm : x mod 4096 = r mod 4096) by (rewrite Ex; replace (r + q * 512 * 4096) with (r + (q * 512) * 4096) by ring;
    apply Z.mod_add; lia).
  assert (Ex2 : x mod 2 ^ 21 = r) by (rewrite Ex; replace (r + q * 512 * 4096) with (r + q * 2 ^ 21) by ring;
    rewrite Z.mod_add, Z.mod_small by lia; reflexivity).
  rewrite Exm, Ex2. split; lia.
Qed.

Lemma lattr_attr_val : forall d, attr_val d = lattr d.
Proof. reflexivity. Qed.

Lemma perms_of_lattr : forall d, Z.land (Isolation.Attr_Perms (lattr d)) 7 = Isolation.Attr_Perms (lattr d).
Proof.
  intros d. unfold lattr, pv, Isolation.leafAttr, bind, ret.
  repeat match goal with |- context [if ?c then _ else _] => destruct c end; reflexivity.
Qed.

(** The page leaf [j] that [splitBlock] makes of a level-2 block [d]
    that ends below 2^48 walks, at an address [x] of its page (the 2 MiB
    span at [B]), as the block does. *)
Theorem split_leaf_view : forall d B x, valid_d d = true -> Z.land d Isolation.descOAMask + 2 ^ 21 <= 2 ^ 48 ->
  B mod 2 ^ 21 = 0 -> 0 <= B <= x -> x < B + 2 ^ 21 ->
  leaf_view (split_leaf d 3 ((x / 4096) mod 512)) 3 x = leaf_view d 2 x.
Proof.
  intros d B x Hv Hal HB Hb Hx.
  pose proof (page_of B x HB Hb Hx) as (_ & Ex2 & Hpg).
  set (j := (x / 4096) mod 512) in *.
  assert (Hj : 0 <= j < 512) by (unfold j; apply Z.mod_pos_bound; lia).
  pose proof (oa_range d) as [Hoa Hoa4].
  set (oa := Z.land d Isolation.descOAMask) in *.
  unfold split_leaf. fold oa. change (2 ^ (12 + 9 * (3 - 3))) with 4096.
  rewrite (wrapu_small (j * 4096)) by lia. rewrite (wrapu_small (oa + j * 4096)) by lia.
  assert (HBa : B mod 4096 = 0) by (apply align_page; exact HB).
  rewrite (leaf_val_view (oa + j * 4096) 3 (attr_val d) (B + 4096 * j) x); [|lia|lia|..].
  2:{ rewrite Z.add_mod, Hoa4, Z.mod_mul by lia. reflexivity. }
  2:{ unfold span. change (2 ^ (12 + 9 * (3 - 3))) with 4096. rewrite Z.add_mod, HBa, (Z.mul_comm 4096 j), Z.mod_mul by lia.
      reflexivity. }
  2:{ unfold span. change (2 ^ (12 + 9 * (3 - 3))) with 4096. lia. }
  unfold leaf_view. rewrite Hv, leaf_mask by lia. fold oa.
  rewrite lattr_attr_val, perms_of_lattr. change (span 2) with (2 ^ 21). rewrite Ex2.
  idtac.
  assert (Em : x mod 4096 = x - (B + 4096 * j)).
  { pose proof (Z.div_mod B 4096 ltac:(lia)) as EB. rewrite HBa, Z.add_0_r in EB.
    replace x with ((x - (B + 4096 * j)) + (B / 4096 + j) * 4096) at 1 by lia.
    rewrite Z.mod_add, Z.mod_small by lia. reflexivity. }
  rewrite Em. replace (oa + j * 4096 + (x - (B + 4096 * j))) with (oa + (4096 * j + (x - (B + 4096 * j)))) by ring. reflexivity.
Qed.

(** ** Level 3 *)

Lemma wrapu_align : forall a k, 0 <= k <= 64 -> a mod 2 ^ k = 0 -> wrapu 64 a mod 2 ^ k = 0.
Proof.
  intros a k Hk H. unfold wrapu. rewrite <- Zmod_div_mod; [exact H|lia|lia|].
  exists (2 ^ (64 - k)). rewrite <- Z.pow_add_r by lia. f_equal. lia.
Qed.

(** The page of [x] in [ipa, cur) when both ends are page aligned. *)
Lemma page_in : forall ipa cur P x, ipa mod 4096 = 0 -> cur mod 4096 = 0 -> P mod 4096 = 0 -> P <= x < P + 4096 ->
  (ipa <=? P) && (P <? cur) = (ipa <=? x) && (x <? cur).
Proof.
  intros ipa cur P x Ha Hc HP Hx.
  pose proof (Z.div_mod ipa 4096 ltac:(lia)). pose proof (Z.div_mod cur 4096 ltac:(lia)).
  pose proof (Z.div_mod P 4096 ltac:(lia)).
  destruct (Z.leb_spec ipa P), (Z.leb_spec ipa x), (Z.ltb_spec P cur), (Z.ltb_spec x cur); cbn; lia.
Qed.

(** After [update] at level 3 of [ipa, cur) in table [t] (the 2 MiB span
    at [S0]), as [update_last_ok] leaves it ([last_done]), the walk from
    [t] of an address of its span is the update's mapping inside
    [ipa, cur) and as before outside. *)
Theorem last_done_walk : forall e t S0 ipa u tr cur st tr' base,
  last_done e t S0 ipa u tr cur st tr' -> 0 <= t -> 0 <= S0 -> S0 mod 2 ^ 21 = 0 -> S0 + 2 ^ 21 <= 2 ^ 64 ->
  S0 <= ipa <= cur -> cur <= S0 + 2 ^ 21 -> ipa mod 4096 = 0 -> cur mod 4096 = 0 ->
  Isolation.s2update_delta u mod 4096 = 0 -> pa_below u ipa cur ->
  forall x, S0 <= x < S0 + 2 ^ 21 ->
  view (pw (tables st) base x 1 t 3) =
    if (ipa <=? x) && (x <? cur) then u_map u x else view (pw (tables e) base x 1 t 3).
Proof.
  intros e t S0 ipa u tr cur st tr' base (T' & -> & _ & _ & _ & HT) Ht HS0 HS HS64 Hr Hc Hia Hca Hd Hpa x Hx.
  rewrite !view_pw3, tables_set_tables. rewrite eidx_val by lia. change (nentries 3) with 512.
  change (2 ^ (12 + 9 * (3 - 3))) with 4096.
  pose proof (page_of S0 x HS ltac:(lia) ltac:(lia)) as (_ & _ & Hpg).
  set (j := (x / 4096) mod 512) in *.
  assert (Hj : 0 <= j < 512) by (unfold j; apply Z.mod_pos_bound; lia).
  rewrite !ent_tent by exact Hj. rewrite HT by lia. rewrite Z.eqb_refl. cbn [andb].
  assert (HPa : (S0 + 4096 * j) mod 4096 = 0)
    by (rewrite Z.add_mod, (align_page S0 HS), (Z.mul_comm 4096 j), Z.mod_mul by lia; reflexivity).
  rewrite (page_in ipa cur (S0 + 4096 * j) x Hia Hca HPa Hpg).
  destruct ((ipa <=? x) && (x <? cur)) eqn:Hin; [|reflexivity].
  apply andb_true_iff in Hin as [H1 H2]. apply Z.leb_le in H1. apply Z.ltb_lt in H2.
  apply new_ent_view; [lia|lia|change (span 3) with 4096; exact HPa|change (span 3) with 4096; lia|].
  intros Hun. unfold span. change (2 ^ (12 + 9 * (3 - 3))) with (2 ^ 12). split.
  - apply wrapu_align; [lia|]. change (2 ^ 12) with 4096. rewrite Z.add_mod, HPa, Hd by lia. reflexivity.
  - apply (Hpa Hun).
    pose proof (Z.div_mod ipa 4096 ltac:(lia)). pose proof (Z.div_mod cur 4096 ltac:(lia)).
    pose proof (Z.div_mod (S0 + 4096 * j) 4096 ltac:(lia)). lia.
Qed.

(** [update_last_ok] (CodeUpdate) with the walk: update at level 3 of a
    page-aligned range [ipa, end') inside the 2 MiB span at [S0] of a
    table [t] of the pool makes the walk from [t] of an address of the
    span the update's mapping inside the range and leaves it as it was
    outside. *)
Theorem update_last_walk : forall fuel e tr t S0 ipa end' u,
  (3 <= fuel)%nat -> tables_ok e -> 0 <= t < len (tables e) -> Isolation.Engine_plat e <> None ->
  0 <= S0 -> S0 mod 2 ^ 21 = 0 -> S0 <= ipa <= end' -> end' <= S0 + 2 ^ 21 -> S0 + 2 ^ 21 < 2 ^ 64 ->
  ipa mod 4096 = 0 -> end' mod 4096 = 0 -> Isolation.s2update_delta u mod 4096 = 0 -> pa_below u ipa end' ->
  exists st tr', Isolation.Engine_update fuel root t 3 ipa end' u e tr = Ok tt st tr' /\
    pool_base st = pool_base e /\
    forall x, S0 <= x < S0 + 2 ^ 21 ->
      view (pw (tables st) (pool_base st) x 1 t 3) =
        if (ipa <=? x) && (x <? end') then u_map u x else view (pw (tables e) (pool_base e) x 1 t 3).
Proof.
  intros fuel e tr t S0 ipa end' u Hf Hok Ht Hpl HS0 HS Hr He He64 Hia Hea Hd Hpa.
  pose proof (update_last_ok fuel e tr t S0 ipa end' u Hf Hok Ht Hpl HS0 HS Hr He ltac:(lia) Hia Hea Hd)
    as (st & tr' & Hup & Hdone).
  exists st, tr'. split; [exact Hup|].
  pose proof (last_done_frame _ _ _ _ _ _ _ _ _ Hdone) as (HB & _). split; [exact HB|].
  intros x Hx. rewrite HB. exact (last_done_walk e t S0 ipa u tr end' st tr' (pool_base e) Hdone ltac:(lia) HS0 HS
    ltac:(lia) Hr He Hia Hea Hd Hpa x Hx).
Qed.

(** ** Level 2 *)

Lemma div21 : forall base x, base mod 2 ^ 21 = 0 -> base <= x < base + 2 ^ 21 -> x / 2 ^ 21 = base / 2 ^ 21.
Proof.
  intros base x Hb Hx. symmetry. apply Z.div_unique_pos with (x - base); [lia|].
  pose proof (Z.div_mod base (2 ^ 21) ltac:(lia)). lia.
Qed.

Lemma walk3_entry : forall T bs x c, 0 <= x < 2 ^ 64 ->
  view (pw T bs x 1 c 3) = leaf_view (tent T c ((x / 4096) mod 512)) 3 x.
Proof.
  intros T bs x c Hx. rewrite view_pw3, eidx_val by lia. change (nentries 3) with 512.
  change (2 ^ (12 + 9 * (3 - 3))) with 4096. rewrite ent_tent by (apply Z.mod_pos_bound; lia). reflexivity.
Qed.

(** The walk from a level-2 table reads the entry of [x] and, for a table
    descriptor, the entry of [x] in the table it names. *)
Lemma walk2_entry : forall T bs x t, 0 <= x < 2 ^ 64 ->
  view (pw T bs x 2 t 2) =
    let d := tent T t ((x / 2 ^ 21) mod 512) in
    if valid_d d then (if Z.land d 3 =? 3 then leaf_view (tent T (child bs d) ((x / 4096) mod 512)) 3 x
                       else leaf_view d 2 x) else None.
Proof.
  intros T bs x t Hx. rewrite view_pw2, !eidx_val by lia. change (nentries 2) with 512. change (nentries 3) with 512.
  change (2 ^ (12 + 9 * (3 - 2))) with (2 ^ 21). change (2 ^ (12 + 9 * (3 - 3))) with 4096.
  cbv zeta. rewrite !ent_tent by (apply Z.mod_pos_bound; lia). reflexivity.
Qed.

Lemma entry_leaf : forall d (A : option (Z * Z)) x, Z.land d 3 <> 3 ->
  (if valid_d d then (if Z.land d 3 =? 3 then A else leaf_view d 2 x) else None) = leaf_view d 2 x.
Proof.
  intros d A x H. destruct (valid_d d) eqn:Hv.
  - replace (Z.land d 3 =? 3) with false by (symmetry; apply Z.eqb_neq; exact H). reflexivity.
  - unfold leaf_view. rewrite Hv. reflexivity.
Qed.

Lemma entry_table : forall d (A B : option (Z * Z)), Z.land d 3 = 3 ->
  (if valid_d d then (if Z.land d 3 =? 3 then A else B) else None) = A.
Proof. intros d A B H. rewrite table_valid, H by exact H. reflexivity. Qed.

Lemma leaf_view_invalid : forall d lvl x, valid_d d = false -> leaf_view d lvl x = None.
Proof. intros d lvl x H. unfold leaf_view. rewrite H. reflexivity. Qed.

Lemma zero_invalid : valid_d 0 = false.
Proof. reflexivity. Qed.

Lemma zero_not_table : Z.land 0 3 <> 3.
Proof. discriminate. Qed.

(** The leaf of a map. *)
Lemma map_leaf_view : forall u lvl b x, Isolation.s2update_unmap u = false -> 1 <= lvl <= 3 -> 0 <= b ->
  b mod span lvl = 0 -> b <= x < b + span lvl ->
  wrapu 64 (b + Isolation.s2update_delta u) mod span lvl = 0 -> wrapu 64 (b + Isolation.s2update_delta u) < 2 ^ 48 ->
  leaf_view (leaf_val (wrapu 64 (b + Isolation.s2update_delta u)) lvl (Isolation.s2update_attr u)) lvl x = u_map u x.
Proof.
  intros u lvl b x Hun Hl Hb0 Hb Hx Ha Hlt.
  rewrite <- (new_ent_view u lvl b 0 x Hl Hb0 Hb Hx ltac:(intros _; split; assumption)).
  unfold new_ent. rewrite Hun. reflexivity.
Qed.

(** What a [wholeLeaf] answer of true at level 2 says. *)
Lemma whole_l2_spec : forall base ipa stop u, 0 <= base <= ipa -> ipa <= stop <= base + 2 ^ 21 ->
  whole_l2 base ipa stop u = true ->
  ipa = base /\ stop = base + 2 ^ 21 /\
  (Isolation.s2update_unmap u = false -> wrapu 64 (base + Isolation.s2update_delta u) mod 2 ^ 21 = 0).
Proof.
  intros base ipa stop u Hb Hs H. unfold whole_l2, Isolation.wholeLeaf in H.
  pose proof (levelSize_ok (S:=unit) tt [] 2 ltac:(lia)) as [Hsz Hm].
  change (2 ^ (12 + 9 * (3 - 2))) with (2 ^ 21) in Hsz, Hm. change (12 + 9 * (3 - 2)) with 21 in Hm.
  unfold bind at 1 in H. rewrite Hsz in H. cbv beta iota in H.
  destruct (Z.eqb_spec ipa base) as [->|]; [|discriminate H].
  rewrite (wrapu_small (stop - base)) in H by lia.
  destruct (Z.eqb_spec (stop - base) (2 ^ 21)) as [Es|]; [|discriminate H].
  split; [reflexivity|]. split; [lia|]. intros Hun. rewrite Hun in H.
  unfold Isolation.blockAllowed, bind, ret in H. cbn [negb orb andb] in H. rewrite Hm in H.
  change (Isolation.S2StartLevel <=? 2) with true in H. change (2 <=? Isolation.lastLevel) with true in H.
  cbn [andb] in H. rewrite Z.land_ones in H by lia. apply Z.eqb_eq in H. exact H.
Qed.

Lemma l2_base_bound' : forall ipa, 0 <= ipa -> 0 <= l2_base ipa <= ipa /\ ipa < l2_base ipa + 2 ^ 21.
Proof.
  intros ipa H. unfold l2_base. pose proof (Z.div_mod ipa (2 ^ 21) ltac:(lia)).
  pose proof (Z.mod_pos_bound ipa (2 ^ 21) ltac:(lia)). split; [split; [apply Z.mul_nonneg_nonneg; [apply Z.div_pos|]|]|]; lia.
Qed.

(** One iteration of [update]'s loop at level 2 is replaceLeaf or
    descend at the entry of [ipa], through its slot. *)
Lemma l2_step_eq : forall f e tr t ipa end' u p, tables_ok e -> 0 <= t < len (tables e) ->
  0 <= ipa < end' -> end' <= 2 ^ 40 ->
  (forall s tr, slot_valid t s -> Isolation.Engine_slot root t ((ipa / 2 ^ 21) mod 512) s tr = Ok p s tr) ->
  l2_step f t end' u ipa e tr =
    match (if whole_l2 (l2_base ipa) ipa (l2_stop ipa end') u
           then Isolation.Engine_replaceLeaf f root p 2 (l2_base ipa) u e tr
           else Isolation.Engine_descend f root p 2 (l2_base ipa) ipa (l2_stop ipa end') u e tr) with
    | Ok _ st tr' => Ok (Continue (l2_stop ipa end')) st tr'
    | Fail x => Fail x end.
Proof.
  intros f e tr t ipa end' u p Hok Ht Hr H40 Hp.
  pose proof Hok as (Hwh & Hsmall & Hbase). fold (whole (tables e)) in Hwh.
  pose proof (l2_base_bound' ipa ltac:(lia)) as Hb.
  unfold l2_step.
  pose proof (levelSize_ok e tr 2 ltac:(lia)) as [Hsz Hmask].
  change (2 ^ (12 + 9 * (3 - 2))) with (2 ^ 21) in Hsz, Hmask. change (12 + 9 * (3 - 2)) with 21 in Hmask.
  step_by Hsz. rewrite Hmask, andnot_ones by lia. change (ipa / 2 ^ 21 * 2 ^ 21) with (l2_base ipa).
  step_by Hsz. rewrite (wrapu_small (l2_base ipa + 2 ^ 21)) by lia.
  change (Z.min end' (l2_base ipa + 2 ^ 21)) with (l2_stop ipa end').
  step_by (entryIndex_val e tr ipa 2 ltac:(lia) ltac:(lia)).
  change (2 ^ (12 + 9 * (3 - 2))) with (2 ^ 21). change (nentries 2) with 512.
  step_by (Hp e tr ltac:(split; [lia|exact Hwh])).
  step_by (wholeLeaf_val e tr (l2_base ipa) ipa (l2_stop ipa end') u).
  destruct (whole_l2 (l2_base ipa) ipa (l2_stop ipa end') u); unfold bind.
  - destruct (Isolation.Engine_replaceLeaf f root p 2 (l2_base ipa) u e tr) as [? ? ?|?]; reflexivity.
  - destruct (Isolation.Engine_descend f root p 2 (l2_base ipa) ipa (l2_stop ipa end') u e tr) as [? ? ?|?]; reflexivity.
Qed.

Lemma pa_below_sub' : forall u ipa cur end', ipa <= cur -> pa_below u ipa end' -> pa_below u cur end'.
Proof. intros u ipa cur end' H P Hun x Hx. apply (P Hun). lia. Qed.


Lemma pa_below_sub : forall u ipa end' stop, stop <= end' -> pa_below u ipa end' -> pa_below u ipa stop.
Proof. intros u ipa end' stop H P Hun x Hx. apply (P Hun). lia. Qed.

Lemma tables_pool_same : forall q X, Isolation.tablePool_Pool q = Isolation.tablePool_Pool (Isolation.Engine_pool X) ->
  tables (Isolation.set_Engine_pool q X) = tables X /\ pool_base (Isolation.set_Engine_pool q X) = pool_base X.
Proof. intros q X H. unfold tables, pool_base. rewrite get_set_pool, H. split; reflexivity. Qed.

Lemma tent_zeroed' : forall (T : list Isolation.Table) c j, 0 <= c < len T -> 0 <= j < 512 ->
  tent (replace_nth (Z.to_nat c) (repeat 0 512) T) c j = 0.
Proof.
  intros T c j Hc Hj. unfold tent. rewrite nth_replace by (unfold len in Hc; lia). apply nth_repeat.
Qed.

(** The block at an entry of a level-2 table ends below 2^48: its
    output address plus its 2 MiB span, so the 512 pages it is split
    into have output addresses [leafDesc] keeps whole. *)
Definition block_below (d : Z) : Prop :=
  valid_d d = true -> Z.land d 3 <> 3 -> Z.land d Isolation.descOAMask + 2 ^ 21 <= 2 ^ 48.

(** One iteration of [update]'s loop at level 2, as [l2_step_inv]
    (CodeUpdateL2) says, with the walk: the walk from [t] of an address
    [x] of the entry's 2 MiB span becomes the update's mapping inside
    [ipa, l2_stop ipa end') and stays as it was outside, when the entry
    holds no block or a block that ends below 2^48, and the update's
    output addresses lie below 2^48. *)
Theorem l2_step_walk : forall f e tr t ipa end' u,
  (5 <= f)%nat -> l2_inv e t ->
  pool_base e mod 4096 = 0 -> pool_base e + 4096 * len (tables e) <= 2 ^ 48 ->
  0 <= ipa < end' -> end' <= 2 ^ 40 -> ipa mod 4096 = 0 -> end' mod 4096 = 0 ->
  Isolation.s2update_delta u mod 4096 = 0 ->
  need_at (tables e) t ipa end' u <= count_free (Isolation.Engine_pool e) ->
  block_below (tent (tables e) t ((ipa / 2 ^ 21) mod 512)) -> pa_below u ipa end' ->
  exists st tr', l2_step f t end' u ipa e tr = Ok (Continue (l2_stop ipa end')) st tr' /\
    l2_inv st t /\ count_free (Isolation.Engine_pool e) - need_at (tables e) t ipa end' u <= count_free (Isolation.Engine_pool st) /\
    pool_base st = pool_base e /\ len (tables st) = len (tables e) /\
    (forall j, 0 <= j < 512 -> j <> (ipa / 2 ^ 21) mod 512 -> tent (tables st) t j = tent (tables e) t j) /\
    l2_frame e st t ((ipa / 2 ^ 21) mod 512) /\
    forall x, l2_base ipa <= x < l2_base ipa + 2 ^ 21 ->
      view (pw (tables st) (pool_base st) x 2 t 2) =
        if (ipa <=? x) && (x <? l2_stop ipa end') then u_map u x else view (pw (tables e) (pool_base e) x 2 t 2).
Proof.
  intros f e tr t ipa end' u Hf Hinv Hal Hbelow Hr H40 Hia Hea Hd Hneed Hblk Hpa.
  pose proof (l2_step_inv f e tr t ipa end' u Hf Hinv Hal Hbelow Hr H40 Hia Hea Hd Hneed)
    as (st & tr' & Hs & Hi2 & Hc2 & HB2 & Hl2 & Ho2 & Hfr).
  exists st, tr'. split; [exact Hs|]. split; [exact Hi2|]. split; [exact Hc2|]. split; [exact HB2|].
  split; [exact Hl2|]. split; [exact Ho2|]. split; [exact Hfr|].
  intros x Hx. rewrite HB2.
  pose proof Hinv as (Hok & Hpok & Hbits & Hcok & Hpl & Ht & Htu & Hents & Hdis).
  pose proof Hok as (Hwh & Hsmall & Hbase). fold (whole (tables e)) in Hwh.
  pose proof (l2_base_bound' ipa ltac:(lia)) as Hb.
  set (base := l2_base ipa) in *. set (stop := l2_stop ipa end') in *.
  assert (Hba : base mod 2 ^ 21 = 0) by (unfold base, l2_base; apply Z.mod_mul; lia).
  assert (Hst : ipa < stop <= base + 2 ^ 21 /\ stop <= end') by (unfold stop, l2_stop; fold base; lia).
  assert (Hsa : stop mod 4096 = 0).
  { unfold stop, l2_stop. fold base. destruct (Z.min_spec end' (base + 2 ^ 21)) as [[_ ->]|[_ ->]]; [exact Hea|].
    apply align_page. rewrite <- Z.add_mod_idemp_l, Hba by lia. reflexivity. }
  set (j := (ipa / 2 ^ 21) mod 512) in *.
  assert (Hj : 0 <= j < 512) by (unfold j; apply Z.mod_pos_bound; lia).
  assert (Exj : (x / 2 ^ 21) mod 512 = j).
  { unfold j. rewrite (div21 base x Hba Hx). rewrite (div21 base ipa Hba) by lia. reflexivity. }
  assert (Hx64 : 0 <= x < 2 ^ 64) by lia.
  assert (Hpa' : pa_below u ipa stop) by exact (pa_below_sub u ipa end' stop ltac:(lia) Hpa).
  set (pg := (x / 4096) mod 512).
  assert (Hpg : 0 <= pg < 512) by (unfold pg; apply Z.mod_pos_bound; lia).
  rewrite !walk2_entry by exact Hx64. cbv zeta. rewrite Exj. fold pg.
  pose proof (slot_lens_table t j ltac:(lia) Hj) as (p & Hp & L).
  assert (Hv : slot_valid t e) by (split; [lia|exact Hwh]).
  pose proof (l2_step_eq f e tr t ipa end' u p Hok Ht Hr H40 Hp) as Heq. fold base stop in Heq. rewrite Hs in Heq.
  set (dd := tent (tables e) t j) in *.
  destruct (whole_l2 base ipa stop u) eqn:Hwl.
  - (* a whole entry: replaceLeaf *)
    pose proof (whole_l2_spec base ipa stop u ltac:(lia) ltac:(lia) Hwl) as (Eib & Es & Hwa).
    replace ((ipa <=? x) && (x <? stop)) with true by (symmetry; apply andb_true_iff; split; [apply Z.leb_le|apply Z.ltb_lt]; lia).
    assert (Hmapv : forall v, (Isolation.s2update_unmap u = true /\ v = 0) \/
        (Isolation.s2update_unmap u = false /\ v = leaf_val (wrapu 64 (base + Isolation.s2update_delta u)) 2 (Isolation.s2update_attr u)) ->
        (if valid_d v then (if Z.land v 3 =? 3 then leaf_view (tent (tables st) (child (pool_base e) v) pg) 3 x else leaf_view v 2 x) else None)
        = u_map u x).
    { intros v [[Hun ->]|[Hun ->]].
      - rewrite zero_invalid. unfold u_map. rewrite Hun. reflexivity.
      - rewrite entry_leaf by apply leaf2_not_table.
        apply map_leaf_view; [exact Hun|lia|lia|exact Hba|change (span 2) with (2 ^ 21); lia|exact (Hwa Hun)|].
        apply (Hpa Hun). lia. }
    destruct (Z.eq_dec (Z.land dd 3) 3) as [E3|E3].
    + pose proof (replaceLeaf_table_last f e tr t j p base u ltac:(lia) Hok Hpok Hpl Ht Hj L (Hents j Hj E3) ltac:(lia) Hba ltac:(lia))
        as (st1 & tr1 & Hrl & st0 & Hce & Est1).
      rewrite Hrl in Heq. apply ok_state in Heq. subst st1.
      pose proof (clearEntry_table_last (pred f) e tr t j p base (Isolation.s2update_vmid u) ltac:(lia) Hok Hpok Hpl Ht Hj L
        (Hents j Hj E3) ltac:(lia) Hba ltac:(lia)) as (T1 & q & Hce' & HT1l & HT1w & _ & HP & _).
      rewrite Hce in Hce'. apply ok_state in Hce'. subst st0.
      pose proof (tables_pool_same _ _ HP) as [ET _]. rewrite tables_set_tables in ET.
      apply Hmapv. destruct (Isolation.s2update_unmap u) eqn:Hun; rewrite Est1.
      * left. split; [reflexivity|]. rewrite ET. rewrite tent_put_ent by (try exact HT1w; lia). rewrite !Z.eqb_refl. reflexivity.
      * right. split; [reflexivity|]. rewrite tables_set_tables, ET.
        rewrite tent_put_ent by (try (apply whole_put_ent; [exact HT1w|lia]); try rewrite len_put_ent; lia).
        rewrite !Z.eqb_refl. reflexivity.
    + pose proof (slot_laws t j ltac:(lia) Hj) as (L1 & L2 & L3).
      destruct f as [|[|f']]; [lia|lia|].
      pose proof (replaceLeaf_leaf_ok f' p _ _ _ e tr 2 base u L Hv Hpl L1 L2 L3
        ltac:(apply andb_false_iff; right; apply Z.eqb_neq; exact E3)) as Hrl. cbv beta in Hrl. fold dd in Hrl.
      rewrite Hrl in Heq. apply ok_state in Heq. rewrite Heq.
      rewrite tables_set_tables, tent_put_ent by (try exact Hwh; lia). rewrite !Z.eqb_refl. cbn [andb].
      rewrite entry_leaf by (apply new_ent2_not_table; exact E3).
      apply new_ent_view; [lia|lia|exact Hba|change (span 2) with (2 ^ 21); lia|].
      intros Hun. change (span 2) with (2 ^ 21). split; [exact (Hwa Hun)|]. apply (Hpa Hun). lia.
  - (* part of an entry: descend *)
    assert (Hw1 : forall st1 : Isolation.Engine, (exists T', st1 = set_tables e T' /\ len T' = len (tables e) /\ whole T') ->
      whole (tables st1) /\ len (tables st1) = len (tables e)).
    { intros st1 (T' & -> & Hl' & Hw'). rewrite tables_set_tables. split; assumption. }
    assert (Hneed1 : need_at (tables e) t ipa end' u =
      if Z.land dd 3 =? 3 then 0 else if valid_d dd then 1 else if Isolation.s2update_unmap u then 0 else 1).
    { unfold need_at. cbv zeta. change (l2_base ipa) with base. change (l2_stop ipa end') with stop. rewrite Hwl. reflexivity. }
    destruct (Z.eq_dec (Z.land dd 3) 3) as [E3|E3].
    + pose proof (Hents j Hj E3) as Hent. pose proof Hent as (_ & Hle & Hclt & Hct & _).
      fold dd in Hle, Hclt, Hct.
      set (c := child (pool_base e) dd) in *.
      assert (Hc0 : 0 <= c) by (apply child_nonneg; exact Hle).
      rewrite (entry_table dd) by exact E3.
      pose proof (descend_table_last f e tr t j p base ipa stop u ltac:(lia) Hok Hpok Hpl Ht Hj L Hent
        ltac:(lia) Hba ltac:(lia) ltac:(lia) ltac:(lia) Hia Hsa Hd) as (st1' & tr1' & Hde & st1 & tr1 & Hdone & Hcase).
      fold dd c in Hdone, Hcase.
      rewrite Hde in Heq. apply ok_state in Heq.
      pose proof (last_done_walk e c base ipa u tr stop st1 tr1 (pool_base e) Hdone Hc0 ltac:(lia) Hba ltac:(lia)
        ltac:(lia) ltac:(lia) Hia Hsa Hd Hpa' x Hx) as Hw3.
      rewrite !walk3_entry in Hw3 by exact Hx64. fold pg in Hw3.
      pose proof (last_done_frame _ _ _ _ _ _ _ _ _ Hdone) as (HB1 & _ & _ & _ & HF1).
      destruct Hcase as [[Est _]|(Hun & Hall & q & Est & _ & HP & _)].
      * rewrite Heq, Est. rewrite (HF1 t j) by lia. fold dd. rewrite (entry_table dd) by exact E3. exact Hw3.
      * rewrite Heq, Est. pose proof (tables_pool_same _ _ HP) as [ET _]. rewrite ET, tables_set_tables.
        pose proof (Hw1 st1 ltac:(destruct Hdone as (T' & E' & _ & Hl' & Hw' & _); exists T'; auto)) as [HW1 HL1].
        rewrite tent_put_ent by (try exact HW1; lia). rewrite !Z.eqb_refl. cbn [andb]. rewrite zero_invalid.
        destruct ((ipa <=? x) && (x <? stop)) eqn:Hin.
        -- unfold u_map. rewrite Hun. reflexivity.
        -- rewrite <- Hw3. rewrite leaf_view_invalid by (apply Hall; exact Hpg). reflexivity.
    + rewrite (entry_leaf dd) by exact E3.
      rewrite (proj2 (Z.eqb_neq _ _) E3) in Hneed1.
      destruct (valid_d dd) eqn:Hval.
      * assert (Hsome : some_free (Isolation.Engine_pool e)) by (apply count_some_free; [exact Hpok|lia]).
        pose proof (descend_split_last f e tr t j p base ipa stop u ltac:(lia) Hok Hpok Hbits Hsome Hpl Ht Hj L Htu Hval E3
          ltac:(lia) Hba ltac:(lia) ltac:(lia) ltac:(lia) Hia Hsa Hd)
          as (c & q & Ts & st1' & tr1' & Hde & Hc & Hct & Hcf & Htk & HTsl & HTsw & HTsp & st1 & tr1 & Hdone & Hcase).
        rewrite Hde in Heq. apply ok_state in Heq.
        pose proof (tables_set_pool_taken e q c Htk) as (HTq & HBq).
        set (e3 := set_tables (Isolation.set_Engine_pool q e) (put_ent Ts t j (tdesc (pool_base e) c))) in *.
        assert (HB3 : pool_base e3 = pool_base e) by (unfold e3; rewrite base_set_tables; exact HBq).
        assert (HT3 : tables e3 = put_ent Ts t j (tdesc (pool_base e) c)) by (unfold e3; apply tables_set_tables).
        assert (Hc3 : tent (tables e3) c pg = split_leaf dd 3 pg).
        { rewrite HT3, tent_put_ent by (try exact HTsw; lia). replace (c =? t) with false by (symmetry; apply Z.eqb_neq; exact Hct).
          cbn [andb]. rewrite HTsp by lia. rewrite Z.eqb_refl. reflexivity. }
        assert (Ht3 : tent (tables e3) t j = tdesc (pool_base e) c).
        { rewrite HT3, tent_put_ent by (try exact HTsw; lia). rewrite !Z.eqb_refl. reflexivity. }
        pose proof (last_done_walk e3 c base ipa u _ stop st1 tr1 (pool_base e) Hdone ltac:(lia) ltac:(lia) Hba ltac:(lia)
          ltac:(lia) ltac:(lia) Hia Hsa Hd Hpa' x Hx) as Hw3.
        rewrite !walk3_entry in Hw3 by exact Hx64. fold pg in Hw3. rewrite Hc3 in Hw3.
        pose proof (split_leaf_view dd base x Hval (Hblk Hval E3) Hba ltac:(lia) ltac:(lia)) as Hsv. fold pg in Hsv. rewrite Hsv in Hw3.
        pose proof (last_done_frame _ _ _ _ _ _ _ _ _ Hdone) as (HB1 & _ & _ & _ & HF1).
        destruct Hcase as [[Est _]|(Hun & Hall & q' & Est & _ & HP & _)].
        -- rewrite Heq, Est. rewrite (HF1 t j) by lia. rewrite Ht3.
           pose proof (tdesc_spec (pool_base e) c ltac:(lia) Hal ltac:(lia) ltac:(lia)) as (Td3 & _ & Tdc).
           rewrite (entry_table _) by exact Td3. rewrite Tdc. exact Hw3.
        -- rewrite Heq, Est. pose proof (tables_pool_same _ _ HP) as [ET _]. rewrite ET, tables_set_tables.
           assert (HW1 : whole (tables st1) /\ len (tables st1) = len (tables e)) by
             (destruct Hdone as (T' & E' & _ & Hl' & Hw' & _); rewrite E', tables_set_tables; split; [exact Hw'|];
              rewrite Hl'; unfold e3; rewrite tables_set_tables, len_put_ent; exact HTsl).
           destruct HW1 as [HW1 HL1].
           rewrite tent_put_ent by (try exact HW1; lia). rewrite !Z.eqb_refl. cbn [andb]. rewrite zero_invalid.
           destruct ((ipa <=? x) && (x <? stop)) eqn:Hin.
           ++ unfold u_map. rewrite Hun. reflexivity.
           ++ rewrite leaf_view_invalid in Hw3 by (apply Hall; exact Hpg).
              unfold leaf_view in Hw3. rewrite Hval in Hw3. discriminate Hw3.
      * destruct (Isolation.s2update_unmap u) eqn:Hun.
        -- destruct f as [|f']; [lia|].
           pose proof (descend_invalid_unmap f' e tr p _ _ _ 2 base ipa stop u L Hv Hval Hun) as Hde.
           rewrite Hde in Heq. apply ok_state in Heq. rewrite Heq. fold dd. rewrite (entry_leaf dd) by exact E3.
           rewrite leaf_view_invalid by exact Hval. destruct (_ && _); [unfold u_map; rewrite Hun|]; reflexivity.
        -- assert (Hsome : some_free (Isolation.Engine_pool e)) by (apply count_some_free; [exact Hpok|lia]).
           pose proof (descend_new_last f e tr t j p base ipa stop u ltac:(lia) Hok Hpok Hbits Hsome Hpl Ht Hj L Htu Hval Hun
             ltac:(lia) Hba ltac:(lia) ltac:(lia) ltac:(lia) Hia Hsa Hd) as (c & q & st1 & tr1 & Hde & Hc & Hct & Hcf & Htk & Hdone).
           rewrite Hde in Heq. apply ok_state in Heq. rewrite Heq.
           pose proof (tables_set_pool_taken e q c Htk) as (HTq & HBq).
           set (e2 := set_tables (Isolation.set_Engine_pool q e) (put_ent (tables (Isolation.set_Engine_pool q e)) t j
             (tdesc (pool_base e) c))) in *.
           assert (Hw2 : whole (tables (Isolation.set_Engine_pool q e))) by (rewrite HTq; apply Forall_replace; [exact Hwh|reflexivity]).
           assert (Hl2' : len (tables (Isolation.set_Engine_pool q e)) = len (tables e)) by (rewrite HTq; apply len_replace).
           assert (HB2' : pool_base e2 = pool_base e) by (unfold e2; rewrite base_set_tables; exact HBq).
           assert (Hc2' : tent (tables e2) c pg = 0).
           { unfold e2. rewrite tables_set_tables, tent_put_ent by (try exact Hw2; lia).
             replace (c =? t) with false by (symmetry; apply Z.eqb_neq; exact Hct). cbn [andb].
             rewrite HTq. apply tent_zeroed'; lia. }
           assert (Ht2' : tent (tables e2) t j = tdesc (pool_base e) c).
           { unfold e2. rewrite tables_set_tables, tent_put_ent by (try exact Hw2; lia). rewrite !Z.eqb_refl. reflexivity. }
           pose proof (last_done_walk e2 c base ipa u tr stop st1 tr1 (pool_base e) Hdone ltac:(lia) ltac:(lia) Hba ltac:(lia)
             ltac:(lia) ltac:(lia) Hia Hsa Hd Hpa' x Hx) as Hw3.
           rewrite !walk3_entry in Hw3 by exact Hx64. fold pg in Hw3. rewrite Hc2', (leaf_view_invalid 0 3 x zero_invalid) in Hw3.
           pose proof (last_done_frame _ _ _ _ _ _ _ _ _ Hdone) as (HB1 & _ & _ & _ & HF1).
           rewrite (HF1 t j) by lia. rewrite Ht2'.
           pose proof (tdesc_spec (pool_base e) c ltac:(lia) Hal ltac:(lia) ltac:(lia)) as (Td3 & _ & Tdc).
           rewrite (entry_table _) by exact Td3. rewrite Tdc, Hw3.
           rewrite leaf_view_invalid by exact Hval. reflexivity.
Qed.

(** An iteration at entry [j] of a level-2 table leaves the walk of an
    address of another entry as it was: it reads only that entry, kept,
    and the table that entry names, kept by the iteration's frame. *)
Lemma walk2_frame : forall e st t j x, l2_inv e t -> 0 <= j < 512 -> pool_base st = pool_base e -> 0 <= x < 2 ^ 64 ->
  (x / 2 ^ 21) mod 512 <> j ->
  (forall j', 0 <= j' < 512 -> j' <> j -> tent (tables st) t j' = tent (tables e) t j') -> l2_frame e st t j ->
  view (pw (tables st) (pool_base st) x 2 t 2) = view (pw (tables e) (pool_base e) x 2 t 2).
Proof.
  intros e st t j x Hinv Hj HB Hx Hne Ho Hfr.
  pose proof Hinv as (Hok & Hpok & Hbits & Hcok & Hpl & Ht & Htu & Hents & Hdis).
  rewrite HB, !walk2_entry by exact Hx. cbv zeta.
  set (j' := (x / 2 ^ 21) mod 512) in *.
  assert (Hj' : 0 <= j' < 512) by (unfold j'; apply Z.mod_pos_bound; lia).
  rewrite (Ho j' Hj' Hne).
  destruct (valid_d (tent (tables e) t j')); [|reflexivity].
  destruct (Z.land (tent (tables e) t j') 3 =? 3) eqn:E3; [|reflexivity].
  apply Z.eqb_eq in E3. pose proof (Hents j' Hj' E3) as (_ & Hle & Hlt & Hnt & Hfree).
  pose proof (Hfr (child (pool_base e) (tent (tables e) t j')) (child_nonneg e _ Hle) Hnt Hfree) as [_ Hsame].
  - intros H3. apply Hdis; auto.
  - rewrite Hsame by (apply Z.mod_pos_bound; lia). reflexivity.
Qed.

(** Two addresses of one 1 GiB span in different 2 MiB entries have
    different indices at level 2. *)
Lemma idx_ne : forall K a b, K * 2 ^ 30 <= a < K * 2 ^ 30 + 2 ^ 30 -> K * 2 ^ 30 <= b < K * 2 ^ 30 + 2 ^ 30 ->
  a / 2 ^ 21 <> b / 2 ^ 21 -> (a / 2 ^ 21) mod 512 <> (b / 2 ^ 21) mod 512.
Proof.
  intros K a b Ha Hb Hne.
  assert (Hqa : K * 512 <= a / 2 ^ 21 < K * 512 + 512)
    by (split; [apply Z.div_le_lower_bound|apply Z.div_lt_upper_bound]; lia).
  assert (Hqb : K * 512 <= b / 2 ^ 21 < K * 512 + 512)
    by (split; [apply Z.div_le_lower_bound|apply Z.div_lt_upper_bound]; lia).
  replace (a / 2 ^ 21) with ((a / 2 ^ 21 - K * 512) + K * 512) by ring.
  replace (b / 2 ^ 21) with ((b / 2 ^ 21 - K * 512) + K * 512) by ring.
  rewrite !Z.mod_add, !Z.mod_small by lia. lia.
Qed.

(** The blocks of a level-2 table end below 2^48. *)
Definition blocks_below (e : Isolation.Engine) (t : Z) : Prop :=
  forall j, 0 <= j < 512 -> block_below (tent (tables e) t j).

(** update at level 2 of a page-aligned range [ipa, end') inside the
    1 GiB span of a level-2 table [t], from a state with [l2_inv] and at
    least [need_l2] free tables ([update_l2_keeps], CodeUpdateL2), whose
    blocks end below 2^48 ([blocks_below]) and whose output addresses lie below
    2^48: the walk from [t] of an address of its span is afterwards the
    update's mapping inside [ipa, end') and as it was outside. *)
Theorem update_l2_walk : forall f e tr t ipa end' u,
  (5 <= f)%nat -> l2_inv e t ->
  pool_base e mod 4096 = 0 -> pool_base e + 4096 * len (tables e) <= 2 ^ 48 ->
  0 <= ipa <= end' -> end' <= ipa / 2 ^ 30 * 2 ^ 30 + 2 ^ 30 -> end' <= 2 ^ 40 ->
  ipa mod 4096 = 0 -> end' mod 4096 = 0 -> Isolation.s2update_delta u mod 4096 = 0 ->
  need_l2 (Z.to_nat (end' - ipa)) (tables e) t ipa end' u <= count_free (Isolation.Engine_pool e) ->
  blocks_below e t -> pa_below u ipa end' ->
  exists st tr', Isolation.Engine_update (S f) root t 2 ipa end' u e tr = Ok tt st tr' /\
    l2_inv st t /\ pool_base st = pool_base e /\ len (tables st) = len (tables e) /\
    forall x, ipa / 2 ^ 30 * 2 ^ 30 <= x < ipa / 2 ^ 30 * 2 ^ 30 + 2 ^ 30 ->
      view (pw (tables st) (pool_base st) x 2 t 2) =
        if (ipa <=? x) && (x <? end') then u_map u x else view (pw (tables e) (pool_base e) x 2 t 2).
Proof.
  intros f e tr t ipa end' u Hf Hinv Hal Hbelow Hr Hspan H40 Hia Hea Hd Hneed Hblk Hpa.
  set (N := need_l2 (Z.to_nat (end' - ipa)) (tables e) t ipa end' u) in *.
  set (K := ipa / 2 ^ 30).
  assert (HK : K * 2 ^ 30 <= ipa).
  { unfold K. pose proof (Z.div_mod ipa (2 ^ 30) ltac:(lia)). pose proof (Z.mod_pos_bound ipa (2 ^ 30) ltac:(lia)). lia. }
  fold K in Hspan |- *.
  pose proof (update_l2_loop f t ipa end' u
    (fun cur st _ => l2_inv st t /\ ipa <= cur <= end' /\ cur mod 4096 = 0 /\
       pool_base st = pool_base e /\ len (tables st) = len (tables e) /\
       (cur < end' -> forall j, (cur / 2 ^ 21) mod 512 <= j < 512 -> tent (tables st) t j = tent (tables e) t j) /\
       count_free (Isolation.Engine_pool e) - (N - need_l2 (Z.to_nat (end' - cur)) (tables e) t cur end' u)
         <= count_free (Isolation.Engine_pool st) /\
       (forall x, K * 2 ^ 30 <= x < K * 2 ^ 30 + 2 ^ 30 ->
          view (pw (tables st) (pool_base st) x 2 t 2) =
            if (ipa <=? x) && (x <? cur) then u_map u x else view (pw (tables e) (pool_base e) x 2 t 2))) e tr
    ltac:(lia) ltac:(lia)) as (st & tr' & Hup & Hfin).
  - split; [exact Hinv|]. split; [lia|]. split; [exact Hia|]. split; [reflexivity|]. split; [reflexivity|].
    split; [intros; reflexivity|]. split; [fold N; lia|].
    intros x Hx. destruct (Z.ltb_spec x ipa); rewrite ?andb_false_r;
      [rewrite (proj2 (Z.leb_gt ipa x)) by lia; reflexivity|reflexivity].
  - intros cur st tr1 Hc (Hi1 & Hc1 & Hca & HB1 & Hl1 & Hent1 & Hn1 & Hw1).
    assert (Hn : need_l2 (Z.to_nat (end' - cur)) (tables e) t cur end' u =
      need_at (tables e) t cur end' u + need_l2 (Z.to_nat (end' - l2_stop cur end')) (tables e) t (l2_stop cur end') end' u).
    { destruct (Z.to_nat (end' - cur)) as [|n] eqn:En; [lia|]. cbn [need_l2].
      destruct (Z.ltb_spec cur end'); [|lia]. f_equal. pose proof (l2_stop_gt cur end' ltac:(lia)).
      apply need_l2_fuel; lia. }
    assert (Hjr : 0 <= (cur / 2 ^ 21) mod 512 < 512) by (apply Z.mod_pos_bound; lia).
    assert (Ena : need_at (tables st) t cur end' u = need_at (tables e) t cur end' u).
    { apply need_at_ent. apply Hent1; lia. }
    pose proof (l2_stop_gt cur end' ltac:(lia)) as Hsg.
    pose proof (need_l2_nonneg (Z.to_nat (end' - l2_stop cur end')) (tables e) t (l2_stop cur end') end' u).
    pose proof (need_l2_nonneg (Z.to_nat (end' - cur)) (tables e) t cur end' u).
    assert (Hblk1 : block_below (tent (tables st) t ((cur / 2 ^ 21) mod 512))).
    { rewrite Hent1 by lia. apply Hblk. exact Hjr. }
    pose proof (l2_step_walk f st tr1 t cur end' u Hf Hi1 ltac:(rewrite HB1; exact Hal) ltac:(rewrite HB1, Hl1; exact Hbelow)
      ltac:(lia) H40 Hca Hea Hd ltac:(rewrite Ena; lia) Hblk1 (pa_below_sub' u ipa cur end' ltac:(lia) Hpa))
      as (st' & tr' & Hs & Hi2 & Hc2 & HB2 & Hl2 & Ho2 & Hfr & Hw2).
    exists (l2_stop cur end'), st', tr'. split; [exact Hs|]. split; [lia|].
    split; [exact Hi2|]. split; [lia|]. split.
    { unfold l2_stop. fold (l2_base cur). destruct (Z.min_spec end' (l2_base cur + 2 ^ 21)) as [[_ ->]|[_ ->]]; [exact Hea|].
      apply align_page. unfold l2_base. rewrite Z.add_mod by lia. rewrite Z.mod_mul by lia. reflexivity. }
    split; [congruence|]. split; [congruence|]. split; [|split].
    + intros Hlt j Hj. rewrite idx_next with (K := K) in Hj by lia.
      pose proof (Z.mod_pos_bound (cur / 2 ^ 21) 512 ltac:(lia)). rewrite Ho2 by lia. apply Hent1; lia.
    + rewrite Ena in Hc2. lia.
    + intros x Hx. pose proof (l2_base_bound' cur ltac:(lia)) as Hbc.
      assert (Hstop : l2_stop cur end' <= l2_base cur + 2 ^ 21) by (unfold l2_stop; lia).
      destruct (Z_lt_le_dec x (l2_base cur)) as [Hxl|Hxl];
        [|destruct (Z_lt_le_dec x (l2_base cur + 2 ^ 21)) as [Hxh|Hxh]].
      2:{ rewrite (Hw2 x ltac:(lia)), (Hw1 x Hx).
          destruct (Z.leb_spec ipa x), (Z.ltb_spec x cur), (Z.leb_spec cur x), (Z.ltb_spec x (l2_stop cur end'));
            cbn [andb]; try reflexivity; lia. }
      all: assert (Hne : (x / 2 ^ 21) mod 512 <> (cur / 2 ^ 21) mod 512) by
        (apply (idx_ne K); [lia|lia|]; intros E; pose proof (Z.div_mod x (2 ^ 21) ltac:(lia));
         pose proof (Z.mod_pos_bound x (2 ^ 21) ltac:(lia)); unfold l2_base in *; lia).
      all: rewrite (walk2_frame st st' t ((cur / 2 ^ 21) mod 512) x Hi1 Hjr HB2 ltac:(lia) Hne Ho2 Hfr), (Hw1 x Hx).
      all: destruct (Z.leb_spec ipa x), (Z.ltb_spec x cur), (Z.ltb_spec x (l2_stop cur end')); cbn [andb]; try reflexivity; lia.
  - destruct Hfin as (Hi & _ & _ & HB & Hl & _ & _ & Hw). exists st, tr'. split; [exact Hup|].
    split; [exact Hi|]. split; [exact HB|]. split; [exact Hl|]. exact Hw.
Qed.

(** ** One root entry holding a level-2 table *)

(** What the walk from the root reads after the root entry [d] for [x]:
    the walk from the level-2 table it names, or the 1 GiB block. *)
Definition root_view (T : list Isolation.Table) (bs d x : Z) : option (Z * Z) :=
  if valid_d d then (if Z.land d 3 =? 3 then view (pw T bs x 2 (child bs d) 2) else leaf_view d 1 x) else None.

(** The walk from a root [r] is [root_view] of the root entry of [x]. *)
Lemma view_pw1 : forall T bs x r, view (pw T bs x 3 r 1) = root_view T bs (ent T r (eidx x 1)) x.
Proof.
  intros T bs x r. rewrite pw_S. unfold root_view, valid_d at 1.
  destruct (Z.land (ent T r (eidx x 1)) Isolation.descValid =? 0) eqn:Hv; [reflexivity|]. cbn [negb].
  change (1 <? Isolation.lastLevel) with true. cbn [andb].
  destruct (Z.land (ent T r (eidx x 1)) 3 =? 3); [reflexivity|].
  unfold leaf_view, valid_d. rewrite Hv. reflexivity.
Qed.

(** descend into a root entry (entry [j] of the root's table [x]) that
    holds a table descriptor of a level-2 table [c] with [l2_inv] and
    blocks below 2^48 ([descend_table_root], CodeUpdateRoot), where [x] is a
    table in use that is neither [c] nor named by an entry of [c]: the
    walk from the root of an address of the entry's 1 GiB span becomes
    the update's mapping inside [ipa, stop) and stays as it was outside,
    whether [c] stays or an unmap leaves it empty and it is released. *)
Theorem descend_table_root_walk : forall fuel e tr x j p base ipa stop u,
  (7 <= fuel)%nat -> 0 <= j < 512 ->
  lens p (slot_valid x) (fun s => tent (tables s) x j) (fun v s => set_tables s (put_ent (tables s) x j v)) ->
  0 <= x < len (tables e) ->
  let d := tent (tables e) x j in
  Z.land d 3 = 3 -> pool_base e <= Z.land d Isolation.descOAMask -> child (pool_base e) d < len (tables e) ->
  l2_inv e (child (pool_base e) d) ->
  x <> child (pool_base e) d -> free_bit (Isolation.Engine_pool e) x = false ->
  (forall j', 0 <= j' < 512 -> Z.land (tent (tables e) (child (pool_base e) d) j') 3 = 3 ->
     child (pool_base e) (tent (tables e) (child (pool_base e) d) j') <> x) ->
  blocks_below e (child (pool_base e) d) -> pa_below u ipa stop ->
  pool_base e mod 4096 = 0 -> pool_base e + 4096 * len (tables e) <= 2 ^ 48 ->
  0 <= base -> base mod 2 ^ 30 = 0 -> base <= ipa < stop -> stop <= base + 2 ^ 30 -> stop <= 2 ^ 40 ->
  ipa mod 4096 = 0 -> stop mod 4096 = 0 -> Isolation.s2update_delta u mod 4096 = 0 ->
  need_l2 (Z.to_nat (stop - ipa)) (tables e) (child (pool_base e) d) ipa stop u <= count_free (Isolation.Engine_pool e) ->
  exists st tr', Isolation.Engine_descend fuel root p 1 base ipa stop u e tr = Ok tt st tr' /\
    pool_base st = pool_base e /\
    forall y, base <= y < base + 2 ^ 30 ->
      root_view (tables st) (pool_base st) (tent (tables st) x j) y =
        if (ipa <=? y) && (y <? stop) then u_map u y else root_view (tables e) (pool_base e) d y.
Proof.
  intros fuel e tr x j p base ipa stop u Hf Hj L Hx dd H3 Hle Hlt Hinv Hxc Hxu Hxch Hblk Hpa Hal Hbelow
    Hb0 Hba Hr Hs H40 Hia Hsa Hd Hneed.
  pose proof Hinv as (Hok & Hpok & _ & _ & Hpl & _). pose proof Hok as (Hwh & Hsmall & Hbase).
  fold (whole (tables e)) in Hwh.
  set (c := child (pool_base e) dd) in *.
  assert (Hv : slot_valid x e) by (split; [lia|exact Hwh]).
  assert (EK : ipa / 2 ^ 30 * 2 ^ 30 = base) by (apply l1_base_of; [exact Hba|lia]).
  destruct fuel as [|f]; [lia|]. cbn [Isolation.Engine_descend].
  step_by (deref_lens _ _ _ _ e tr L Hv). fold dd. unfold Isolation.isTable. step.
  replace ((1 <? Isolation.lastLevel) && (Z.land dd 3 =? 3)) with true by (rewrite H3; reflexivity).
  unfold bind at 1. step_by (pfield_pool_root e tr). unfold Isolation.descOA. step.
  step_by (index_ok e tr dd Hok Hle Hlt). fold c. unfold ret. cbv beta iota.
  replace (wraps 64 (1 + 1)) with 2 by reflexivity.
  destruct f as [|f]; [lia|].
  pose proof (update_l2_walk f e tr c ipa stop u ltac:(lia) Hinv Hal Hbelow ltac:(lia) ltac:(rewrite EK; lia) H40 Hia Hsa Hd
    Hneed Hblk Hpa) as (st1 & tr1 & Hup & Hinv1 & HB1 & Hl1 & Hw).
  pose proof (update_l2_keeps f e tr c ipa stop u ltac:(lia) Hinv Hal Hbelow ltac:(lia) ltac:(rewrite EK; lia) H40 Hia Hsa Hd
    Hneed) as (st1' & tr1' & Hup' & _ & _ & _ & _ & Hfr & _).
  rewrite Hup in Hup'. apply ok_state in Hup'. subst st1'.
  rewrite EK in Hw.
  step_by Hup.
  pose proof (Hfr x ltac:(lia) Hxc Hxu Hxch) as [Hxu1 Hxe1].
  assert (Hroot : tent (tables st1) x j = dd) by (apply Hxe1; exact Hj).
  assert (Hsame : forall y, base <= y < base + 2 ^ 30 ->
    root_view (tables st1) (pool_base st1) (tent (tables st1) x j) y =
      if (ipa <=? y) && (y <? stop) then u_map u y else root_view (tables e) (pool_base e) dd y).
  { intros y Hy. pose proof (Hw y Hy) as Hwy. rewrite HB1 in Hwy.
    rewrite Hroot, HB1. unfold root_view. rewrite table_valid, H3 by exact H3. cbn [Z.eqb Pos.eqb].
    fold c. exact Hwy. }
  pose proof Hinv1 as (Hok1 & Hpok1 & _ & _ & Hpl1 & Hc1 & Hcu1 & _).
  pose proof Hok1 as (Hwh1 & _ & _). fold (whole (tables st1)) in Hwh1.
  destruct (Isolation.s2update_unmap u) eqn:Hun.
  - pose proof (tableEmpty_ok st1 tr1 c Hc1 Hwh1) as (b & Hb & Hbiff).
    assert (Hte : (let! t'23 := Isolation.Engine_tableEmpty root c in ret t'23) st1 tr1 = Ok b st1 tr1)
      by (step_by Hb; reflexivity).
    step_by Hte. destruct b.
    + assert (Hv1 : slot_valid x st1) by (split; [lia|exact Hwh1]).
      pose proof (dropTable_ok p x j st1 tr1 c base (Isolation.s2update_vmid u) L Hv1 Hpl1 Hpok1 Hc1 Hcu1)
        as (q & Hdrop & HP & _).
      step_by Hdrop. eexists _, _. split; [reflexivity|].
      pose proof (tables_pool_same _ _ HP) as [ET EB]. rewrite ET, EB, base_set_tables, tables_set_tables.
      split; [exact HB1|].
      intros y Hy. rewrite tent_put_ent by (try exact Hwh1; lia). rewrite !Z.eqb_refl. cbn [andb].
      unfold root_view at 1. rewrite zero_invalid.
      destruct ((ipa <=? y) && (y <? stop)) eqn:Hin.
      * unfold u_map. rewrite Hun. reflexivity.
      * specialize (Hsame y Hy). rewrite Hin in Hsame. rewrite <- Hsame.
        rewrite Hroot. unfold root_view. rewrite table_valid, H3 by exact H3. cbn [Z.eqb Pos.eqb].
        rewrite HB1. fold c. rewrite walk2_entry by lia. cbv zeta.
        rewrite (proj1 Hbiff eq_refl) by (apply Z.mod_pos_bound; lia). reflexivity.
    + eexists _, _. split; [reflexivity|]. split; [exact HB1|exact Hsame].
  - step. eexists _, _. split; [reflexivity|]. split; [exact HB1|exact Hsame].
Qed.

(** descend into an invalid root entry for a map ([descend_new_root],
    CodeUpdateRoot): the walk from the root of an address of the entry's
    1 GiB span becomes the update's mapping inside [ipa, stop) and maps
    nothing outside, as before. *)
Theorem descend_new_root_walk : forall fuel e tr x j p base ipa stop u,
  (7 <= fuel)%nat -> pool_inv e -> 0 <= j < 512 ->
  lens p (slot_valid x) (fun s => tent (tables s) x j) (fun v s => set_tables s (put_ent (tables s) x j v)) ->
  0 <= x < len (tables e) -> free_bit (Isolation.Engine_pool e) x = false ->
  valid_d (tent (tables e) x j) = false -> Isolation.s2update_unmap u = false ->
  pool_base e mod 4096 = 0 -> pool_base e + 4096 * len (tables e) <= 2 ^ 48 ->
  0 <= base -> base mod 2 ^ 30 = 0 -> base <= ipa < stop -> stop <= base + 2 ^ 30 -> stop <= 2 ^ 40 ->
  ipa mod 4096 = 0 -> stop mod 4096 = 0 -> Isolation.s2update_delta u mod 4096 = 0 ->
  1 + need_l2g (Z.to_nat (stop - ipa)) (fun _ => 0) ipa stop u <= count_free (Isolation.Engine_pool e) ->
  pa_below u ipa stop ->
  exists st tr', Isolation.Engine_descend fuel root p 1 base ipa stop u e tr = Ok tt st tr' /\
    pool_base st = pool_base e /\
    forall y, base <= y < base + 2 ^ 30 ->
      root_view (tables st) (pool_base st) (tent (tables st) x j) y =
        if (ipa <=? y) && (y <? stop) then u_map u y else root_view (tables e) (pool_base e) (tent (tables e) x j) y.
Proof.
  intros fuel e tr x j p base ipa stop u Hf Hpi Hj L Hx Hxu Hinv Hun Hal Hbelow Hb0 Hba Hr Hs H40 Hia Hsa Hd Hneed Hpb.
  pose proof Hpi as (Hok & Hpok & Hbits & Hcok & Hpl). pose proof Hok as (Hwh & Hsmall & Hbase).
  fold (whole (tables e)) in Hwh.
  pose proof (need_l2g_bound (Z.to_nat (stop - ipa)) (fun _ => 0) ipa stop u).
  assert (Hsome : some_free (Isolation.Engine_pool e)) by (apply count_some_free; [exact Hpok|lia]).
  destruct fuel as [|f]; [lia|].
  pose proof (descend_new_open f e tr x j p base ipa stop u Hpi Hj L Hx Hxu Hinv Hun Hsome)
    as (c & q & Hc & Hxc & Hcf & Htk & Hqb & Hopen).
  rewrite Hopen. unfold descend_tail. rewrite Hun.
  set (e1 := Isolation.set_Engine_pool q e) in *.
  pose proof (tables_set_pool_taken e q c Htk) as (HT1 & HB1).
  assert (Hw1 : whole (tables e1)).
  { unfold e1. rewrite HT1. apply Forall_replace; [exact Hwh|reflexivity]. }
  assert (Hl1 : len (tables e1) = len (tables e)) by (unfold e1; rewrite HT1; apply len_replace).
  pose proof (l2_inv_new e q c x j (fun _ => 0) (tables e1) Hpi ltac:(lia) Hcf Htk Hqb Hx Hxc Hj Hl1 Hw1
    ltac:(intros j' Hj'; unfold e1; rewrite HT1; apply tent_zeroed; lia) ltac:(intros; discriminate))
    as (Hinv2 & Hc2 & HB2).
  fold e1 in Hinv2, Hc2, HB2.
  set (e2 := set_tables e1 (put_ent (tables e1) x j (tdesc (pool_base e) c))) in *.
  assert (Hl2 : len (tables e2) = len (tables e)) by (unfold e2; rewrite tables_set_tables, len_put_ent; exact Hl1).
  assert (Hn2 : need_l2 (Z.to_nat (stop - ipa)) (tables e2) c ipa stop u = need_l2g (Z.to_nat (stop - ipa)) (fun _ => 0) ipa stop u).
  { apply need_l2_new. intros j' Hj'. unfold e2. rewrite tables_set_tables, tent_put_ent by (auto; lia).
    replace (c =? x) with false by (symmetry; apply Z.eqb_neq; lia). unfold e1. rewrite HT1. apply tent_zeroed; lia. }
  destruct f as [|f]; [lia|].
  assert (Hz2 : forall j', 0 <= j' < 512 -> tent (tables e2) c j' = 0).
  { intros j' Hj'. unfold e2. rewrite tables_set_tables, tent_put_ent by (auto; lia).
    replace (c =? x) with false by (symmetry; apply Z.eqb_neq; lia). unfold e1. rewrite HT1. apply tent_zeroed; lia. }
  assert (EK : ipa / 2 ^ 30 * 2 ^ 30 = base) by (apply l1_base_of; [exact Hba|lia]).
  pose proof (update_l2_walk f e2 tr c ipa stop u ltac:(lia) Hinv2 ltac:(rewrite HB2; exact Hal)
    ltac:(rewrite HB2, Hl2; exact Hbelow) ltac:(lia)
    ltac:(rewrite EK; lia) H40 Hia Hsa Hd ltac:(rewrite Hn2, Hc2; lia)
    ltac:(intros j' Hj' Hvj; rewrite Hz2 in Hvj by exact Hj'; discriminate Hvj) Hpb)
    as (st1 & tr1 & Hup & Hinvs & HBs & Hls & Hw).
  pose proof (update_l2_keeps f e2 tr c ipa stop u ltac:(lia) Hinv2 ltac:(rewrite HB2; exact Hal)
    ltac:(rewrite HB2, Hl2; exact Hbelow) ltac:(lia)
    ltac:(rewrite EK; lia) H40 Hia Hsa Hd ltac:(rewrite Hn2, Hc2; lia))
    as (st1' & tr1' & Hup' & _ & _ & _ & _ & Hfr & _).
  rewrite Hup in Hup'. apply ok_state in Hup'. subst st1'.
  rewrite EK in Hw.
  step_by Hup. step. eexists _, _. split; [reflexivity|]. rewrite HBs, HB2. split; [reflexivity|].
  assert (Hxu2 : free_bit (Isolation.Engine_pool e2) x = false).
  { unfold e2. rewrite free_bit_set_tables. unfold e1. rewrite get_set_pool.
    destruct Htk as (_ & _ & _ & Hout & _). rewrite Hout by lia. exact Hxu. }
  pose proof (Hfr x ltac:(lia) Hxc Hxu2 ltac:(intros j' Hj' H3; rewrite Hz2 in H3 by exact Hj'; discriminate H3)) as [_ Hxe].
  assert (Hx2 : tent (tables e2) x j = tdesc (pool_base e) c).
  { unfold e2. rewrite tables_set_tables, tent_put_ent by (auto; lia). rewrite !Z.eqb_refl. reflexivity. }
  pose proof (tdesc_spec (pool_base e) c ltac:(lia) Hal ltac:(lia) ltac:(lia)) as (Td3 & _ & Tdc).
  intros y Hy. rewrite (Hxe j Hj), Hx2. unfold root_view at 1. rewrite table_valid, Td3 by exact Td3.
  cbn [Z.eqb Pos.eqb]. rewrite Tdc. rewrite <- HB2, <- HBs. rewrite (Hw y Hy).
  unfold root_view. rewrite Hinv. rewrite HB2. rewrite walk2_entry by lia. cbv zeta.
  rewrite Hz2 by (apply Z.mod_pos_bound; lia). rewrite zero_invalid. reflexivity.
Qed.


(** ** Split root blocks *)

Lemma align21 : forall a, a mod 2 ^ 30 = 0 -> a mod 2 ^ 21 = 0.
Proof.
  intros a H. pose proof (Z.div_mod a (2 ^ 30) ltac:(lia)) as E. rewrite H, Z.add_0_r in E. rewrite E.
  replace (2 ^ 30 * (a / 2 ^ 30)) with ((512 * (a / 2 ^ 30)) * 2 ^ 21) by ring. apply Z.mod_mul. lia.
Qed.

(** [j] is the 2 MiB entry of [x] in the 1 GiB span at [B]. *)
Lemma entry_of : forall B x, B mod 2 ^ 30 = 0 -> 0 <= B <= x -> x < B + 2 ^ 30 ->
  x mod 2 ^ 30 = 2 ^ 21 * ((x / 2 ^ 21) mod 512) + x mod 2 ^ 21 /\
  B + 2 ^ 21 * ((x / 2 ^ 21) mod 512) <= x < B + 2 ^ 21 * ((x / 2 ^ 21) mod 512) + 2 ^ 21.
Proof.
  intros B x HB Hb Hx.
  pose proof (Z.div_mod B (2 ^ 30) ltac:(lia)) as EB. rewrite HB, Z.add_0_r in EB.
  set (q := B / 2 ^ 30) in *. set (r := x - B).
  assert (Hr : 0 <= r < 2 ^ 30) by (unfold r; lia).
  assert (Ex : x = r + (q * 512) * 2 ^ 21) by (unfold r; lia).
  assert (Ed : x / 2 ^ 21 = r / 2 ^ 21 + q * 512) by (rewrite Ex; apply Z.div_add; lia).
  assert (Hrd : 0 <= r / 2 ^ 21 < 512) by (split; [apply Z.div_pos|apply Z.div_lt_upper_bound]; lia).
  assert (Em : (x / 2 ^ 21) mod 512 = r / 2 ^ 21) by (rewrite Ed, Z.mod_add, Z.mod_small by lia; reflexivity).
  rewrite Em.
  pose proof (Z.div_mod r (2 ^ 21) ltac:(lia)). pose proof (Z.mod_pos_bound r (2 ^ 21) ltac:(lia)).
  assert (Exm : x mod 2 ^ 21 = r mod 2 ^ 21) by (rewrite Ex; apply Z.mod_add; lia).
  assert (Ex2 : x mod 2 ^ 30 = r) by (rewrite Ex; replace (r + q * 512 * 2 ^ 21) with (r + q * 2 ^ 30) by ring;
    rewrite Z.mod_add, Z.mod_small by lia; reflexivity).
  rewrite Exm, Ex2. split; lia.
Qed.

(** The level-2 leaf [j] that [splitBlock] makes of a root block [d]
    that ends below 2^48 walks, at an address [x] of its 2 MiB span (the
    1 GiB span at [B]), as the block does. *)
Theorem split_leaf1_view : forall d B x, valid_d d = true -> Z.land d Isolation.descOAMask + 2 ^ 30 <= 2 ^ 48 ->
  B mod 2 ^ 30 = 0 -> 0 <= B <= x -> x < B + 2 ^ 30 ->
  leaf_view (split_leaf d 2 ((x / 2 ^ 21) mod 512)) 2 x = leaf_view d 1 x.
Proof.
  intros d B x Hv Hal HB Hb Hx.
  pose proof (entry_of B x HB Hb Hx) as (Ex2 & Hpg).
  set (j := (x / 2 ^ 21) mod 512) in *.
  assert (Hj : 0 <= j < 512) by (unfold j; apply Z.mod_pos_bound; lia).
  pose proof (oa_range d) as [Hoa Hoa4].
  set (oa := Z.land d Isolation.descOAMask) in *.
  unfold split_leaf. fold oa. change (2 ^ (12 + 9 * (3 - 2))) with (2 ^ 21).
  rewrite (wrapu_small (j * 2 ^ 21)) by lia. rewrite (wrapu_small (oa + j * 2 ^ 21)) by lia.
  assert (HBa : B mod 2 ^ 21 = 0) by (apply align21; exact HB).
  rewrite (leaf_val_view (oa + j * 2 ^ 21) 2 (attr_val d) (B + 2 ^ 21 * j) x); [|lia|lia|..].
  2:{ change (2 ^ 21) with (512 * 4096). rewrite Z.add_mod, Hoa4, Z.mul_assoc, Z.mod_mul by lia. reflexivity. }
  2:{ change (span 2) with (2 ^ 21). rewrite Z.add_mod, HBa, (Z.mul_comm (2 ^ 21) j), Z.mod_mul by lia.
      reflexivity. }
  2:{ change (span 2) with (2 ^ 21). lia. }
  unfold leaf_view. rewrite Hv, leaf_mask by lia. fold oa.
  rewrite lattr_attr_val, perms_of_lattr. change (span 1) with (2 ^ 30). rewrite Ex2.
  assert (Em : x mod 2 ^ 21 = x - (B + 2 ^ 21 * j)).
  { pose proof (Z.div_mod B (2 ^ 21) ltac:(lia)) as EB. rewrite HBa, Z.add_0_r in EB.
    replace x with ((x - (B + 2 ^ 21 * j)) + (B / 2 ^ 21 + j) * 2 ^ 21) at 1 by lia.
    rewrite Z.mod_add, Z.mod_small by lia. reflexivity. }
  rewrite Em. replace (oa + j * 2 ^ 21 + (x - (B + 2 ^ 21 * j))) with (oa + (2 ^ 21 * j + (x - (B + 2 ^ 21 * j)))) by ring.
  reflexivity.
Qed.

(** The level-2 leaves of a split root block that ends below 2^48 end
    below 2^48. *)
Lemma split_leaf1_below : forall d j, Z.land d Isolation.descOAMask + 2 ^ 30 <= 2 ^ 48 -> 0 <= j < 512 ->
  block_below (split_leaf d 2 j).
Proof.
  intros d j Hal Hj _ _. pose proof (oa_range d) as [Hoa Hoa4].
  set (oa := Z.land d Isolation.descOAMask) in *.
  unfold split_leaf. fold oa. change (2 ^ (12 + 9 * (3 - 2))) with (2 ^ 21).
  rewrite (wrapu_small (j * 2 ^ 21)) by lia. rewrite (wrapu_small (oa + j * 2 ^ 21)) by lia.
  assert (H4 : (oa + j * 2 ^ 21) mod 4096 = 0).
  { change (2 ^ 21) with (512 * 4096). rewrite Z.add_mod, Hoa4, Z.mul_assoc, Z.mod_mul by lia. reflexivity. }
  rewrite leaf_oa, oa_exact by (first [lia|exact H4]). lia.
Qed.

(** descend into a root block entry that ends below 2^48 ([descend_split_root],
    CodeUpdateRoot): the walk from the root of an address of the entry's
    1 GiB span becomes the update's mapping inside [ipa, stop) and stays
    the block's outside, whether the table the block is split into stays
    or an unmap leaves it empty and it is released. *)
Theorem descend_split_root_walk : forall fuel e tr x j p base ipa stop u,
  (7 <= fuel)%nat -> pool_inv e -> 0 <= j < 512 ->
  lens p (slot_valid x) (fun s => tent (tables s) x j) (fun v s => set_tables s (put_ent (tables s) x j v)) ->
  0 <= x < len (tables e) -> free_bit (Isolation.Engine_pool e) x = false ->
  valid_d (tent (tables e) x j) = true -> Z.land (tent (tables e) x j) 3 <> 3 ->
  pool_base e mod 4096 = 0 -> pool_base e + 4096 * len (tables e) <= 2 ^ 48 ->
  0 <= base -> base mod 2 ^ 30 = 0 -> base <= ipa < stop -> stop <= base + 2 ^ 30 -> stop <= 2 ^ 40 ->
  ipa mod 4096 = 0 -> stop mod 4096 = 0 -> Isolation.s2update_delta u mod 4096 = 0 ->
  1 + need_l2g (Z.to_nat (stop - ipa)) (fun _ => Isolation.descValid) ipa stop u <= count_free (Isolation.Engine_pool e) ->
  Z.land (tent (tables e) x j) Isolation.descOAMask + 2 ^ 30 <= 2 ^ 48 -> pa_below u ipa stop ->
  exists st tr', Isolation.Engine_descend fuel root p 1 base ipa stop u e tr = Ok tt st tr' /\
    pool_base st = pool_base e /\
    forall y, base <= y < base + 2 ^ 30 ->
      root_view (tables st) (pool_base st) (tent (tables st) x j) y =
        if (ipa <=? y) && (y <? stop) then u_map u y else root_view (tables e) (pool_base e) (tent (tables e) x j) y.
Proof.
  intros fuel e tr x j p base ipa stop u Hf Hpi Hj L Hx Hxu Hval Hnt Hal Hbelow Hb0 Hba Hr Hs H40 Hia Hsa Hd Hneed Hbal Hpb.
  pose proof Hpi as (Hok & Hpok & Hbits & Hcok & Hpl). pose proof Hok as (Hwh & Hsmall & Hbase).
  fold (whole (tables e)) in Hwh.
  pose proof (need_l2g_bound (Z.to_nat (stop - ipa)) (fun _ => Isolation.descValid) ipa stop u).
  assert (Hsome : some_free (Isolation.Engine_pool e)) by (apply count_some_free; [exact Hpok|lia]).
  set (dd := tent (tables e) x j) in *.
  destruct fuel as [|f]; [lia|].
  pose proof (descend_split_open f e tr x j p base ipa stop u Hpi Hj L Hx Hxu Hval Hnt Hsome Hal Hb0 ltac:(lia))
    as (c & q & Ts & Hc & Hxc & Hcf & Htk & Hqb & HTsl & HTsw & HTsp & Hopen).
  rewrite Hopen. unfold descend_tail.
  set (e1 := Isolation.set_Engine_pool q e) in *.
  pose proof (tables_set_pool_taken e q c Htk) as (HT1 & HB1).
  assert (HTc : forall j', 0 <= j' < 512 -> tent Ts c j' = split_leaf dd 2 j') by (intros j' Hj'; rewrite HTsp by lia; rewrite Z.eqb_refl; reflexivity).
  pose proof (l2_inv_new e q c x j (split_leaf dd 2) Ts Hpi ltac:(lia) Hcf Htk Hqb Hx Hxc Hj ltac:(lia) HTsw HTc
    ltac:(intros j' _; apply leaf2_not_table)) as (Hinv3 & Hc3 & HB3).
  fold e1 in Hinv3, Hc3, HB3.
  set (e3 := set_tables e1 (put_ent Ts x j (tdesc (pool_base e) c))) in *.
  assert (Hl3 : len (tables e3) = len (tables e)) by (unfold e3; rewrite tables_set_tables, len_put_ent; lia).
  assert (Hn3 : need_l2 (Z.to_nat (stop - ipa)) (tables e3) c ipa stop u =
    need_l2g (Z.to_nat (stop - ipa)) (fun _ => Isolation.descValid) ipa stop u).
  { apply (need_l2_split _ _ _ dd). intros j' Hj'. unfold e3. rewrite tables_set_tables, tent_put_ent by (auto; lia).
    replace (c =? x) with false by (symmetry; apply Z.eqb_neq; lia). apply HTc. exact Hj'. }
  destruct f as [|f]; [lia|].
  assert (HTc3 : forall j', 0 <= j' < 512 -> tent (tables e3) c j' = split_leaf dd 2 j').
  { intros j' Hj'. unfold e3. rewrite tables_set_tables, tent_put_ent by (auto; lia).
    replace (c =? x) with false by (symmetry; apply Z.eqb_neq; lia). apply HTc. exact Hj'. }
  assert (EK : ipa / 2 ^ 30 * 2 ^ 30 = base) by (apply l1_base_of; [exact Hba|lia]).
  pose proof (update_l2_walk f e3 (inval (Isolation.s2update_vmid u) base :: tr) c ipa stop u ltac:(lia) Hinv3
    ltac:(rewrite HB3; exact Hal) ltac:(rewrite HB3, Hl3; exact Hbelow) ltac:(lia)
    ltac:(rewrite EK; lia) H40 Hia Hsa Hd ltac:(rewrite Hn3, Hc3; lia)
    ltac:(intros j' Hj'; rewrite HTc3 by exact Hj'; apply split_leaf1_below; [exact Hbal|exact Hj']) Hpb)
    as (st1 & tr1 & Hup & Hinv1 & HBs & Hls & Hw).
  pose proof (update_l2_keeps f e3 (inval (Isolation.s2update_vmid u) base :: tr) c ipa stop u ltac:(lia) Hinv3
    ltac:(rewrite HB3; exact Hal) ltac:(rewrite HB3, Hl3; exact Hbelow) ltac:(lia)
    ltac:(rewrite EK; lia) H40 Hia Hsa Hd ltac:(rewrite Hn3, Hc3; lia))
    as (st1' & tr1' & Hup' & _ & _ & _ & _ & Hfr & _).
  rewrite Hup in Hup'. apply ok_state in Hup'. subst st1'.
  rewrite EK in Hw.
  step_by Hup.
  pose proof Hinv1 as (Hok1 & Hpok1 & _ & _ & Hpl1 & Hc1 & Hcu1 & _).
  pose proof Hok1 as (Hwh1 & _ & _). fold (whole (tables st1)) in Hwh1.
  assert (Hxu3 : free_bit (Isolation.Engine_pool e3) x = false).
  { unfold e3. rewrite free_bit_set_tables. unfold e1. rewrite get_set_pool.
    destruct Htk as (_ & _ & _ & Hout & _). rewrite Hout by lia. exact Hxu. }
  pose proof (Hfr x ltac:(lia) Hxc Hxu3 ltac:(intros j' Hj' H3; rewrite HTc3 in H3 by exact Hj'; exfalso; exact (leaf2_not_table _ _ H3)))
    as [_ Hxe].
  assert (Hx3 : tent (tables e3) x j = tdesc (pool_base e) c).
  { unfold e3. rewrite tables_set_tables, tent_put_ent by (auto; lia). rewrite !Z.eqb_refl. reflexivity. }
  pose proof (tdesc_spec (pool_base e) c ltac:(lia) Hal ltac:(lia) ltac:(lia)) as (Td3 & _ & Tdc).
  (* the walk of the level-2 table as it was: the block's *)
  assert (Hold : forall y, base <= y < base + 2 ^ 30 -> view (pw (tables e3) (pool_base e3) y 2 c 2) = leaf_view dd 1 y).
  { intros y Hy. rewrite walk2_entry by lia. cbv zeta. rewrite HTc3 by (apply Z.mod_pos_bound; lia).
    rewrite entry_leaf by apply leaf2_not_table. apply (split_leaf1_view dd base y Hval Hbal Hba); lia. }
  assert (Hre : root_view (tables e) (pool_base e) dd = fun y => leaf_view dd 1 y).
  { unfold root_view. rewrite Hval. replace (Z.land dd 3 =? 3) with false by (symmetry; apply Z.eqb_neq; exact Hnt).
    reflexivity. }
  assert (Hkeep : forall y, base <= y < base + 2 ^ 30 ->
    root_view (tables st1) (pool_base st1) (tent (tables st1) x j) y =
      if (ipa <=? y) && (y <? stop) then u_map u y else root_view (tables e) (pool_base e) dd y).
  { intros y Hy. pose proof (Hw y Hy) as Hwy. pose proof (Hold y Hy) as Hoy. rewrite Hoy in Hwy. rewrite HBs, HB3 in Hwy.
    rewrite (Hxe j Hj), Hx3. unfold root_view at 1. rewrite table_valid, Td3 by exact Td3.
    cbn [Z.eqb Pos.eqb]. rewrite HBs, HB3, Tdc. rewrite Hwy, Hre. reflexivity. }
  destruct (Isolation.s2update_unmap u) eqn:Hun.
  - pose proof (tableEmpty_ok st1 tr1 c Hc1 Hwh1) as (b & Hb & Hbiff).
    assert (Hte : (let! t'23 := Isolation.Engine_tableEmpty root c in ret t'23) st1 tr1 = Ok b st1 tr1)
      by (step_by Hb; reflexivity).
    step_by Hte. destruct b.
    + assert (Hv1 : slot_valid x st1) by (split; [lia|exact Hwh1]).
      pose proof (dropTable_ok p x j st1 tr1 c base (Isolation.s2update_vmid u) L Hv1 Hpl1 Hpok1 Hc1 Hcu1)
        as (q' & Hdrop & HP & _).
      step_by Hdrop. eexists _, _. split; [reflexivity|].
      pose proof (tables_pool_same _ _ HP) as [ET EB]. rewrite ET, EB, base_set_tables, tables_set_tables.
      split; [rewrite HBs, HB3; reflexivity|].
      intros y Hy. rewrite tent_put_ent by (try exact Hwh1; lia). rewrite !Z.eqb_refl. cbn [andb].
      unfold root_view at 1. rewrite zero_invalid.
      destruct ((ipa <=? y) && (y <? stop)) eqn:Hin.
      * unfold u_map. rewrite Hun. reflexivity.
      * exfalso. specialize (Hw y Hy). rewrite Hin, (Hold y Hy) in Hw. revert Hw.
        rewrite walk2_entry by lia. cbv zeta. rewrite (proj1 Hbiff eq_refl) by (apply Z.mod_pos_bound; lia).
        unfold leaf_view. rewrite Hval. discriminate.
    + eexists _, _. split; [reflexivity|]. split; [rewrite HBs, HB3; reflexivity|exact Hkeep].
  - step. eexists _, _. split; [reflexivity|]. split; [rewrite HBs, HB3; reflexivity|exact Hkeep].
Qed.




(** ** One root entry *)

Lemma ent_tent' : forall T t i, ent T t i = tent T (t + i / 512) (i mod 512).
Proof. reflexivity. Qed.

Lemma flags_not_table : forall d r w x, Z.land (flags false d r w x) 3 = 1.
Proof. intros [] [] [] []; reflexivity. Qed.

Lemma leaf1_not_table : forall pa a, Z.land (leaf_val pa 1 a) 3 <> 3.
Proof. intros pa a. rewrite leaf_land by reflexivity. rewrite leaf_flags. rewrite flags_not_table. discriminate. Qed.

Lemma new_ent1_not_table : forall u base old, Z.land old 3 <> 3 -> Z.land (new_ent u 1 base old) 3 <> 3.
Proof.
  intros u base old H. unfold new_ent. destruct (Isolation.s2update_unmap u).
  - destruct (valid_d old); [cbn; discriminate|exact H].
  - apply leaf1_not_table.
Qed.

(** What a [wholeLeaf] answer of true at level 1 says. *)
Lemma whole_l1_spec : forall base ipa stop u, 0 <= base <= ipa -> ipa <= stop <= base + 2 ^ 30 ->
  whole_l1 base ipa stop u = true ->
  ipa = base /\ stop = base + 2 ^ 30 /\
  (Isolation.s2update_unmap u = false -> wrapu 64 (base + Isolation.s2update_delta u) mod 2 ^ 30 = 0).
Proof.
  intros base ipa stop u Hb Hs H. unfold whole_l1, Isolation.wholeLeaf in H.
  pose proof (levelSize_ok (S:=unit) tt [] 1 ltac:(lia)) as [Hsz Hm].
  change (2 ^ (12 + 9 * (3 - 1))) with (2 ^ 30) in Hsz, Hm. change (12 + 9 * (3 - 1)) with 30 in Hm.
  unfold bind at 1 in H. rewrite Hsz in H. cbv beta iota in H.
  destruct (Z.eqb_spec ipa base) as [->|]; [|discriminate H].
  rewrite (wrapu_small (stop - base)) in H by lia.
  destruct (Z.eqb_spec (stop - base) (2 ^ 30)) as [Es|]; [|discriminate H].
  split; [reflexivity|]. split; [lia|]. intros Hun. rewrite Hun in H.
  unfold Isolation.blockAllowed, bind, ret in H. cbn [negb orb andb] in H. rewrite Hm in H.
  change (Isolation.S2StartLevel <=? 1) with true in H. change (1 <=? Isolation.lastLevel) with true in H.
  cbn [andb] in H. rewrite Z.land_ones in H by lia. apply Z.eqb_eq in H. exact H.
Qed.

(** update at the root (level 1) of a page-aligned range [ipa, end')
    inside one 1 GiB root entry ([update_root_entry_no_failure],
    CodeUpdateRoot), where the entry holds a level-2 table with [l2_inv]
    and blocks below 2^48 that does not name the root's table, a block
    that ends below 2^48, or nothing: the walk from the root of an address of
    the entry's span is afterwards the update's mapping inside
    [ipa, end') and as it was outside. *)
Theorem update_root_entry_walk : forall f e tr t ipa end' u,
  (8 <= f)%nat -> pool_inv e -> 0 <= t -> t + 1 < len (tables e) ->
  free_bit (Isolation.Engine_pool e) (t + ((ipa / 2 ^ 30) mod 1024) / 512) = false ->
  pool_base e mod 4096 = 0 -> pool_base e + 4096 * len (tables e) <= 2 ^ 48 ->
  0 <= ipa < end' -> end' <= l1_base ipa + 2 ^ 30 -> end' <= 2 ^ 40 ->
  ipa mod 4096 = 0 -> end' mod 4096 = 0 -> Isolation.s2update_delta u mod 4096 = 0 ->
  let d := ent (tables e) t ((ipa / 2 ^ 30) mod 1024) in
  (Z.land d 3 = 3 -> pool_base e <= Z.land d Isolation.descOAMask /\ child (pool_base e) d < len (tables e) /\
     l2_inv e (child (pool_base e) d) /\ t + ((ipa / 2 ^ 30) mod 1024) / 512 <> child (pool_base e) d /\
     (forall j', 0 <= j' < 512 -> Z.land (tent (tables e) (child (pool_base e) d) j') 3 = 3 ->
        child (pool_base e) (tent (tables e) (child (pool_base e) d) j') <> t + ((ipa / 2 ^ 30) mod 1024) / 512) /\
     blocks_below e (child (pool_base e) d)) ->
  (valid_d d = true -> Z.land d 3 <> 3 -> Z.land d Isolation.descOAMask + 2 ^ 30 <= 2 ^ 48) ->
  need_root_at (tables e) (pool_base e) t ipa end' u <= count_free (Isolation.Engine_pool e) ->
  pa_below u ipa end' ->
  exists st tr', Isolation.Engine_update (S f) root t 1 ipa end' u e tr = Ok tt st tr' /\
    forall y, l1_base ipa <= y < l1_base ipa + 2 ^ 30 ->
      root_view (tables st) (pool_base st) (ent (tables st) t ((ipa / 2 ^ 30) mod 1024)) y =
        if (ipa <=? y) && (y <? end') then u_map u y else root_view (tables e) (pool_base e) d y.
Proof.
  intros f e tr t ipa end' u Hf Hpi Ht Htl Hxu Hal Hbelow Hr Hend H40 Hia Hea Hd dd Htab Hblk Hneed Hpa.
  pose proof Hpi as (Hok & Hpok & Hbits & Hcok & Hpl). pose proof Hok as (Hwh & Hsmall & Hbase).
  fold (whole (tables e)) in Hwh.
  pose proof (l1_base_bound ipa ltac:(lia)) as Hb.
  set (base := l1_base ipa) in *.
  assert (Hba : base mod 2 ^ 30 = 0) by (unfold base, l1_base; apply Z.mod_mul; lia).
  assert (Hb40 : base + 2 ^ 30 <= 2 ^ 40).
  { unfold base, l1_base in *. pose proof (Z.div_mod ipa (2 ^ 30) ltac:(lia)). pose proof (Z.mod_pos_bound ipa (2 ^ 30) ltac:(lia)). lia. }
  assert (Hstop : l1_stop ipa end' = end') by (unfold l1_stop; fold base; lia).
  set (i := (ipa / 2 ^ 30) mod 1024) in *.
  assert (Hi : 0 <= i < 1024) by (apply Z.mod_pos_bound; lia).
  assert (Hq : 0 <= i / 512 < 2) by (split; [apply Z.div_pos|apply Z.div_lt_upper_bound]; lia).
  set (x := t + i / 512) in *. set (j := i mod 512).
  assert (Hj : 0 <= j < 512) by (apply Z.mod_pos_bound; lia).
  assert (Edd : dd = tent (tables e) x j) by reflexivity.
  set (PW := fun st : Isolation.Engine => forall y, base <= y < base + 2 ^ 30 ->
    root_view (tables st) (pool_base st) (tent (tables st) x j) y =
      if (ipa <=? y) && (y <? end') then u_map u y else root_view (tables e) (pool_base e) dd y).
  unfold need_root_at in Hneed. fold base in Hneed. rewrite Hstop in Hneed. fold i in Hneed. fold dd in Hneed.
  cbn [Isolation.Engine_update].
  match goal with |- context [loop ?fu ?c ?b ?p ?l0] =>
  destruct (loop_spec fu c b p
    (fun cur st tr' => (cur = ipa /\ st = e /\ tr' = tr) \/ (cur = end' /\ PW st))
    (fun _ st _ => PW st)
    (fun cur => Z.to_nat (end' - cur))) with (l := l0) (s := e) (tr := tr) as (r & s' & tr' & Hl & Hfin) end.
  - intros cur st tr' H. exists (cur <? end'). split; [destruct H as [(_ & -> & ->)|(-> & _)]; reflexivity|]. split.
    + intros Hc. apply Z.ltb_lt in Hc. lia.
    + intros Hc. apply Z.ltb_ge in Hc. destruct H as [(-> & _ & _)|(_ & HP)]; [lia|exact HP].
  - intros cur st tr' [(-> & -> & ->)|(-> & _)] Hc; [|injection Hc as Hc; rewrite Z.ltb_irrefl in Hc; discriminate].
    pose proof (levelSize_ok e tr 1 ltac:(lia)) as [Hsz Hmask].
    change (2 ^ (12 + 9 * (3 - 1))) with (2 ^ 30) in Hsz, Hmask. change (12 + 9 * (3 - 1)) with 30 in Hmask.
    step_by Hsz. rewrite Hmask, andnot_ones by lia. change (ipa / 2 ^ 30 * 2 ^ 30) with (l1_base ipa). fold base.
    step_by Hsz. rewrite (wrapu_small (base + 2 ^ 30)) by lia. replace (Z.min end' (base + 2 ^ 30)) with end' by lia.
    step_by (entryIndex_val e tr ipa 1 ltac:(lia) ltac:(lia)).
    change (2 ^ (12 + 9 * (3 - 1))) with (2 ^ 30). change (nentries 1) with 1024. fold i.
    pose proof (slot_lens t i ltac:(lia) Hi ltac:(lia)) as (p & Hp & L). fold x j in Hp, L.
    assert (Hv : slot_valid x e) by (split; [lia|exact Hwh]).
    step_by (Hp e tr Hv).
    step_by (wholeLeaf_val1 e tr base ipa end' u).
    assert (Hcont : forall st tr1, PW st -> exists r s' tr', (let ipa := end' in ret (S:=Isolation.Engine) (Continue (X:=Empty_set) ipa)) st tr1 = Ok r s' tr' /\
      match r with Continue l' => exists l'', ret l' s' tr' = Ok l'' s' tr' /\
        ((l'' = ipa /\ s' = e /\ tr' = tr) \/ (l'' = end' /\ PW s')) /\ (Z.to_nat (end' - l'') < Z.to_nat (end' - ipa))%nat
      | Break l' => PW s' | Leave x => PW s' end).
    { intros st tr1 HP. eexists _, _, _. split; [reflexivity|]. eexists. split; [reflexivity|]. split; [right; split; [reflexivity|exact HP]|]. lia. }
    assert (Hin1 : forall y, base <= y < base + 2 ^ 30 -> ipa = base -> end' = base + 2 ^ 30 -> (ipa <=? y) && (y <? end') = true).
    { intros y Hy E1 E2. apply andb_true_iff. split; [apply Z.leb_le|apply Z.ltb_lt]; lia. }
    destruct (whole_l1 base ipa end' u) eqn:Hwl.
    + (* a whole entry: replaceLeaf *)
      pose proof (whole_l1_spec base ipa end' u ltac:(lia) ltac:(lia) Hwl) as (Eib & Eend & Hwa).
      assert (Hwhole : forall (st0 : Isolation.Engine) y v, base <= y < base + 2 ^ 30 ->
        (Isolation.s2update_unmap u = true /\ v = 0) \/
        (Isolation.s2update_unmap u = false /\ v = leaf_val (wrapu 64 (base + Isolation.s2update_delta u)) 1 (Isolation.s2update_attr u)) ->
        root_view (tables st0) (pool_base st0) v y = u_map u y).
      { intros st0 y v Hy [[Hun ->]|[Hun ->]].
        - unfold root_view. rewrite zero_invalid. unfold u_map. rewrite Hun. reflexivity.
        - unfold root_view. rewrite leaf_valid. replace (Z.land _ 3 =? 3) with false by (symmetry; apply Z.eqb_neq; apply leaf1_not_table).
          apply map_leaf_view; [exact Hun|lia|lia|change (span 1) with (2 ^ 30); exact Hba|change (span 1) with (2 ^ 30); lia|
            change (span 1) with (2 ^ 30); exact (Hwa Hun)|]. apply (Hpa Hun). lia. }
      destruct (Z.eq_dec (Z.land dd 3) 3) as [E3|E3].
      * pose proof (Htab E3) as (Hle & Hlt & Hinv & _).
        pose proof (replaceLeaf_table_root f e tr x j p base u ltac:(lia) Hj L ltac:(lia) E3 Hle Hlt Hinv Hal Hbelow
          ltac:(lia) Hba Hb40) as (st & tr1 & Hrl & Hent).
        assert (H : (let! t'6 := Isolation.Engine_replaceLeaf f root p 1 base u in ret tt) e tr = Ok tt st tr1)
          by (step_by Hrl; reflexivity).
        step_by H. apply Hcont. intros y Hy. rewrite (Hin1 y Hy Eib Eend). rewrite Hent.
        apply Hwhole; [exact Hy|]. destruct (Isolation.s2update_unmap u) eqn:Hun; [left|right]; auto.
      * pose proof (slot_laws x j ltac:(lia) Hj) as (L1 & L2 & L3).
        destruct f as [|[|f']]; [lia|lia|].
        pose proof (replaceLeaf_leaf_ok f' p _ _ _ e tr 1 base u L Hv Hpl L1 L2 L3
          ltac:(apply andb_false_iff; right; apply Z.eqb_neq; exact E3)) as Hrl.
        assert (H : (let! t'6 := Isolation.Engine_replaceLeaf (S (S f')) root p 1 base u in ret tt) e tr = Ok tt
          ((fun v s => set_tables s (put_ent (tables s) x j v)) (new_ent u 1 base ((fun s => tent (tables s) x j) e)) e)
          (if valid_d ((fun s => tent (tables s) x j) e) then inval (Isolation.s2update_vmid u) base :: tr else tr))
          by (step_by Hrl; reflexivity).
        step_by H. apply Hcont. intros y Hy. rewrite (Hin1 y Hy Eib Eend). cbv beta.
        rewrite tables_set_tables, tent_put_ent by (try exact Hwh; lia). rewrite !Z.eqb_refl. cbn [andb].
        rewrite <- Edd. unfold root_view. replace (Z.land (new_ent u 1 base dd) 3 =? 3) with false
          by (symmetry; apply Z.eqb_neq; apply new_ent1_not_table; exact E3).
        rewrite <- (new_ent_view u 1 base dd y ltac:(lia) ltac:(lia) ltac:(change (span 1) with (2 ^ 30); exact Hba)
          ltac:(change (span 1) with (2 ^ 30); lia)
          ltac:(intros Hun; change (span 1) with (2 ^ 30); split; [exact (Hwa Hun)|apply (Hpa Hun); lia])).
        unfold leaf_view. destruct (valid_d (new_ent u 1 base dd)); reflexivity.
    + (* part of an entry: descend *)
      assert (Hal' : forall st tr1, Isolation.Engine_descend f root p 1 base ipa end' u e tr = Ok tt st tr1 -> PW st ->
        exists r s' tr', (let! _ := (let! t'7 := Isolation.Engine_descend f root p 1 base ipa end' u in ret tt) in let ipa := end' in ret (Continue (X:=Empty_set) ipa)) e tr = Ok r s' tr' /\
        match r with Continue l' => exists l'', ret l' s' tr' = Ok l'' s' tr' /\
          ((l'' = ipa /\ s' = e /\ tr' = tr) \/ (l'' = end' /\ PW s')) /\ (Z.to_nat (end' - l'') < Z.to_nat (end' - ipa))%nat
        | Break l' => PW s' | Leave x => PW s' end).
      { intros st tr1 H HP. assert (H' : (let! t'7 := Isolation.Engine_descend f root p 1 base ipa end' u in ret tt) e tr = Ok tt st tr1)
          by (step_by H; reflexivity). step_by H'. apply Hcont. exact HP. }
      unfold below1 in Hneed.
      destruct (Z.eq_dec (Z.land dd 3) 3) as [E3|E3].
      * rewrite (proj2 (Z.eqb_eq _ _) E3) in Hneed.
        pose proof (Htab E3) as (Hle & Hlt & Hinv & Hxc & Hxch & Hbl).
        pose proof (descend_table_root_walk f e tr x j p base ipa end' u ltac:(lia) Hj L ltac:(lia) E3 Hle Hlt Hinv
          Hxc Hxu Hxch Hbl Hpa Hal Hbelow
          ltac:(lia) Hba ltac:(lia) ltac:(lia) H40 Hia Hea Hd Hneed) as (st & tr1 & Hde & HBs & Hw).
        apply (Hal' st tr1 Hde). exact Hw.
      * replace (Z.land dd 3 =? 3) with false in Hneed by (symmetry; apply Z.eqb_neq; exact E3).
        destruct (valid_d dd) eqn:Hval.
        -- pose proof (descend_split_root_walk f e tr x j p base ipa end' u ltac:(lia) Hpi Hj L ltac:(lia) Hxu Hval E3 Hal Hbelow
             ltac:(lia) Hba ltac:(lia) ltac:(lia) H40 Hia Hea Hd Hneed (Hblk eq_refl E3) Hpa) as (st & tr1 & Hde & HBs & Hw).
           apply (Hal' st tr1 Hde). exact Hw.
        -- destruct (Isolation.s2update_unmap u) eqn:Hun.
           ++ destruct f as [|f']; [lia|].
              apply (Hal' e tr (descend_invalid_unmap f' e tr p _ _ _ 1 base ipa end' u L Hv Hval Hun)).
              intros y Hy. rewrite <- Edd. unfold root_view. rewrite Hval.
              destruct (_ && _); [unfold u_map; rewrite Hun|]; reflexivity.
           ++ pose proof (descend_new_root_walk f e tr x j p base ipa end' u ltac:(lia) Hpi Hj L ltac:(lia) Hxu Hval Hun Hal Hbelow
                ltac:(lia) Hba ltac:(lia) ltac:(lia) H40 Hia Hea Hd Hneed Hpa) as (st & tr1 & Hde & HBs & Hw).
              apply (Hal' st tr1 Hde). exact Hw.
  - left. split; [reflexivity|]. split; reflexivity.
  - rewrite max_fuel_nat. unfold max_fuel. lia.
  - step_by Hl. destruct r as [cur|[]]. eexists _, _. split; [reflexivity|].
    intros y Hy. rewrite ent_tent'. exact (Hfin y Hy).
Qed.


(** [update_root_entry_walk] on the walk from the root itself ([pw],
    which is [translate] on a tree of tables, [translate_pw]). *)
Theorem update_root_entry_pw : forall f e tr t ipa end' u,
  (8 <= f)%nat -> pool_inv e -> 0 <= t -> t + 1 < len (tables e) ->
  free_bit (Isolation.Engine_pool e) (t + ((ipa / 2 ^ 30) mod 1024) / 512) = false ->
  pool_base e mod 4096 = 0 -> pool_base e + 4096 * len (tables e) <= 2 ^ 48 ->
  0 <= ipa < end' -> end' <= l1_base ipa + 2 ^ 30 -> end' <= 2 ^ 40 ->
  ipa mod 4096 = 0 -> end' mod 4096 = 0 -> Isolation.s2update_delta u mod 4096 = 0 ->
  let d := ent (tables e) t ((ipa / 2 ^ 30) mod 1024) in
  (Z.land d 3 = 3 -> pool_base e <= Z.land d Isolation.descOAMask /\ child (pool_base e) d < len (tables e) /\
     l2_inv e (child (pool_base e) d) /\ t + ((ipa / 2 ^ 30) mod 1024) / 512 <> child (pool_base e) d /\
     (forall j', 0 <= j' < 512 -> Z.land (tent (tables e) (child (pool_base e) d) j') 3 = 3 ->
        child (pool_base e) (tent (tables e) (child (pool_base e) d) j') <> t + ((ipa / 2 ^ 30) mod 1024) / 512) /\
     blocks_below e (child (pool_base e) d)) ->
  (valid_d d = true -> Z.land d 3 <> 3 -> Z.land d Isolation.descOAMask + 2 ^ 30 <= 2 ^ 48) ->
  need_root_at (tables e) (pool_base e) t ipa end' u <= count_free (Isolation.Engine_pool e) ->
  pa_below u ipa end' ->
  exists st tr', Isolation.Engine_update (S f) root t 1 ipa end' u e tr = Ok tt st tr' /\
    forall y, l1_base ipa <= y < l1_base ipa + 2 ^ 30 ->
      view (pw (tables st) (pool_base st) y 3 t 1) =
        if (ipa <=? y) && (y <? end') then u_map u y else view (pw (tables e) (pool_base e) y 3 t 1).
Proof.
  intros f e tr t ipa end' u Hf Hpi Ht Htl Hxu Hal Hbelow Hr Hend H40 Hia Hea Hd dd Htab Hblk Hneed Hpa.
  pose proof (update_root_entry_walk f e tr t ipa end' u Hf Hpi Ht Htl Hxu Hal Hbelow Hr Hend H40 Hia Hea Hd Htab Hblk Hneed Hpa)
    as (st & tr' & Hup & Hw).
  exists st, tr'. split; [exact Hup|]. intros y Hy.
  pose proof (l1_base_bound ipa ltac:(lia)) as Hb.
  assert (Hb40 : l1_base ipa + 2 ^ 30 <= 2 ^ 40).
  { unfold l1_base in *. pose proof (Z.div_mod ipa (2 ^ 30) ltac:(lia)). pose proof (Z.mod_pos_bound ipa (2 ^ 30) ltac:(lia)). lia. }
  assert (Ey : y / 2 ^ 30 = ipa / 2 ^ 30).
  { unfold l1_base in *. symmetry. apply Z.div_unique_pos with (y - ipa / 2 ^ 30 * 2 ^ 30); lia. }
  rewrite !view_pw1, !eidx_val by lia. change (nentries 1) with 1024. change (2 ^ (12 + 9 * (3 - 1))) with (2 ^ 30).
  rewrite Ey. apply Hw. exact Hy.
Qed.

(** ** mapRange and unmapRange inside one root entry *)

(** The update [mapRange] makes of [ipa] to [pa] with attributes [a], and
    the one [unmapRange] makes. *)
Definition map_u (s2 : Isolation.stage2) (ipa pa : Z) (a : Isolation.Attr) : Isolation.s2update :=
  Isolation.mk_s2update (Isolation.stage2_vmid s2) (wrapu 64 (pa - ipa)) a false.
Definition unmap_u (s2 : Isolation.stage2) : Isolation.s2update :=
  Isolation.mk_s2update (Isolation.stage2_vmid s2) 0 Isolation.zero_Attr true.

(** [mapRange] of [n] pages at a page-aligned [ipa] to a page-aligned
    [pa], inside one root entry of a stage-2 whose root is [t]
    ([update_root_entry_pw]): afterwards the walk from the root of an
    address [y] of the entry's span maps [y] to [y + pa - ipa] with the
    permission bits of [a] inside the range, and as before outside. *)
Theorem mapRange_pw : forall e tr s s2 ipa pa n a,
  good s e s2 -> pool_inv e -> 0 <= Isolation.stage2_root s2 -> Isolation.stage2_root s2 + 1 < len (tables e) ->
  free_bit (Isolation.Engine_pool e) (Isolation.stage2_root s2 + ((ipa / 2 ^ 30) mod 1024) / 512) = false ->
  pool_base e mod 4096 = 0 -> pool_base e + 4096 * len (tables e) <= 2 ^ 48 ->
  0 <= ipa -> 0 < n -> ipa + n * 4096 <= l1_base ipa + 2 ^ 30 -> ipa + n * 4096 <= 2 ^ 40 ->
  ipa mod 4096 = 0 -> pa mod 4096 = 0 ->
  let t := Isolation.stage2_root s2 in
  let d := ent (tables e) t ((ipa / 2 ^ 30) mod 1024) in
  (Z.land d 3 = 3 -> pool_base e <= Z.land d Isolation.descOAMask /\ child (pool_base e) d < len (tables e) /\
     l2_inv e (child (pool_base e) d) /\ t + ((ipa / 2 ^ 30) mod 1024) / 512 <> child (pool_base e) d /\
     (forall j', 0 <= j' < 512 -> Z.land (tent (tables e) (child (pool_base e) d) j') 3 = 3 ->
        child (pool_base e) (tent (tables e) (child (pool_base e) d) j') <> t + ((ipa / 2 ^ 30) mod 1024) / 512) /\
     blocks_below e (child (pool_base e) d)) ->
  (valid_d d = true -> Z.land d 3 <> 3 -> Z.land d Isolation.descOAMask + 2 ^ 30 <= 2 ^ 48) ->
  need_root_at (tables e) (pool_base e) t ipa (ipa + n * 4096) (map_u s2 ipa pa a) <= count_free (Isolation.Engine_pool e) ->
  pa_below (map_u s2 ipa pa a) ipa (ipa + n * 4096) ->
  exists st tr', Isolation.Engine_mapRange root s ipa pa n a e tr = Ok tt st tr' /\
    forall y, l1_base ipa <= y < l1_base ipa + 2 ^ 30 ->
      view (pw (tables st) (pool_base st) y 3 t 1) =
        if (ipa <=? y) && (y <? ipa + n * 4096) then u_map (map_u s2 ipa pa a) y
        else view (pw (tables e) (pool_base e) y 3 t 1).
Proof.
  intros e tr s s2 ipa pa n a Hg Hpi Ht Htl Hxu Hal Hbelow Hipa Hn Hend H40 Hia Hpa t d Htab Hblk Hneed Hpb.
  assert (Hd : Isolation.s2update_delta (map_u s2 ipa pa a) mod 4096 = 0).
  { cbn [map_u Isolation.s2update_delta]. change 4096 with (2 ^ 12). apply wrapu_align; [lia|].
    change (2 ^ 12) with 4096. rewrite Zminus_mod, Hpa, Hia. reflexivity. }
  pose proof (update_root_entry_pw 63 e tr t ipa (ipa + n * 4096) (map_u s2 ipa pa a) ltac:(lia) Hpi Ht Htl Hxu Hal Hbelow
    ltac:(lia) Hend H40 Hia ltac:(rewrite Z.add_mod, Hia, Z.mod_mul by lia; reflexivity) Hd Htab Hblk Hneed Hpb)
    as (st & tr' & Hup & Hw).
  exists st, tr'. split; [|exact Hw].
  unfold Isolation.Engine_mapRange, bind at 1. rewrite (deref_good _ _ _ _ Hg). cbv beta iota zeta.
  unfold bind at 1. rewrite (deref_good _ _ _ _ Hg). cbv beta iota.
  rewrite shl12, wrapu_small by lia.
  change Isolation.S2StartLevel with 1. change rec_fuel with (S 63).
  change (Isolation.mk_s2update (Isolation.stage2_vmid s2) (wrapu 64 (pa - ipa)) a false) with (map_u s2 ipa pa a).
  fold t. unfold bind at 1. rewrite Hup. reflexivity.
Qed.

(** [unmapRange] of [n] pages at a page-aligned [ipa] inside one root
    entry of a stage-2 whose root is [t]: afterwards the walk from the
    root of an address of the entry's span maps nothing inside the range
    and is as before outside. *)
Theorem unmapRange_pw : forall e tr s s2 ipa n,
  good s e s2 -> pool_inv e -> 0 <= Isolation.stage2_root s2 -> Isolation.stage2_root s2 + 1 < len (tables e) ->
  free_bit (Isolation.Engine_pool e) (Isolation.stage2_root s2 + ((ipa / 2 ^ 30) mod 1024) / 512) = false ->
  pool_base e mod 4096 = 0 -> pool_base e + 4096 * len (tables e) <= 2 ^ 48 ->
  0 <= ipa -> 0 < n -> ipa + n * 4096 <= l1_base ipa + 2 ^ 30 -> ipa + n * 4096 <= 2 ^ 40 ->
  ipa mod 4096 = 0 ->
  let t := Isolation.stage2_root s2 in
  let d := ent (tables e) t ((ipa / 2 ^ 30) mod 1024) in
  (Z.land d 3 = 3 -> pool_base e <= Z.land d Isolation.descOAMask /\ child (pool_base e) d < len (tables e) /\
     l2_inv e (child (pool_base e) d) /\ t + ((ipa / 2 ^ 30) mod 1024) / 512 <> child (pool_base e) d /\
     (forall j', 0 <= j' < 512 -> Z.land (tent (tables e) (child (pool_base e) d) j') 3 = 3 ->
        child (pool_base e) (tent (tables e) (child (pool_base e) d) j') <> t + ((ipa / 2 ^ 30) mod 1024) / 512) /\
     blocks_below e (child (pool_base e) d)) ->
  (valid_d d = true -> Z.land d 3 <> 3 -> Z.land d Isolation.descOAMask + 2 ^ 30 <= 2 ^ 48) ->
  need_root_at (tables e) (pool_base e) t ipa (ipa + n * 4096) (unmap_u s2) <= count_free (Isolation.Engine_pool e) ->
  exists st tr', Isolation.Engine_unmapRange root s ipa n e tr = Ok tt st tr' /\
    forall y, l1_base ipa <= y < l1_base ipa + 2 ^ 30 ->
      view (pw (tables st) (pool_base st) y 3 t 1) =
        if (ipa <=? y) && (y <? ipa + n * 4096) then None
        else view (pw (tables e) (pool_base e) y 3 t 1).
Proof.
  intros e tr s s2 ipa n Hg Hpi Ht Htl Hxu Hal Hbelow Hipa Hn Hend H40 Hia t d Htab Hblk Hneed.
  pose proof (update_root_entry_pw 63 e tr t ipa (ipa + n * 4096) (unmap_u s2) ltac:(lia) Hpi Ht Htl Hxu Hal Hbelow
    ltac:(lia) Hend H40 Hia ltac:(rewrite Z.add_mod, Hia, Z.mod_mul by lia; reflexivity) eq_refl Htab Hblk Hneed
    ltac:(intros Hun; discriminate Hun))
    as (st & tr' & Hup & Hw).
  exists st, tr'. split.
  - unfold Isolation.Engine_unmapRange, bind at 1. rewrite (deref_good _ _ _ _ Hg). cbv beta iota zeta.
    unfold bind at 1. rewrite (deref_good _ _ _ _ Hg). cbv beta iota.
    rewrite shl12, wrapu_small by lia.
    change Isolation.S2StartLevel with 1. change rec_fuel with (S 63).
    change (Isolation.mk_s2update (Isolation.stage2_vmid s2) 0 Isolation.zero_Attr true) with (unmap_u s2).
    fold t. unfold bind at 1. rewrite Hup. reflexivity.
  - intros y Hy. rewrite (Hw y Hy). reflexivity.
Qed.

(** ** The abstraction's walk *)

(** The abstraction's walk of a stage-2 on a tree of tables ([walk],
    CodeAbs) is [view] of [pw] from its root ([translate_pw]). *)
Lemma walk_view : forall e s2 k, tables_ok e -> 0 <= Isolation.stage2_root s2 ->
  tree_ok (tables e) (pool_base e) 2 (Isolation.stage2_root s2) 1024 -> Z.of_nat k * 4096 < Isolation.ipaLimit ->
  CodeAbs.walk e s2 k = view (pw (tables e) (pool_base e) (Z.of_nat k * 4096) 3 (Isolation.stage2_root s2) 1).
Proof.
  intros e s2 k Hok Hr Ht Hk. unfold CodeAbs.walk.
  rewrite (translate_pw e [] (CodeAbs.ro s2) s2 (Z.of_nat k * 4096) Hok (deref_ro s2 e) Hr Ht ltac:(lia)).
  unfold view. destruct (pw _ _ _ _ _ _) as [m []]; reflexivity.
Qed.

(** [mapRange_pw] on the abstraction's walk: for an IPA page [k] of the
    root entry's span, where the stage-2 is a tree of tables before and
    after, [walk] after [mapRange] is the mapping of the range inside it
    and as before outside. *)
Theorem mapRange_walk : forall e tr s s2 ipa pa n a,
  good s e s2 -> pool_inv e -> 0 <= Isolation.stage2_root s2 -> Isolation.stage2_root s2 + 1 < len (tables e) ->
  free_bit (Isolation.Engine_pool e) (Isolation.stage2_root s2 + ((ipa / 2 ^ 30) mod 1024) / 512) = false ->
  pool_base e mod 4096 = 0 -> pool_base e + 4096 * len (tables e) <= 2 ^ 48 ->
  0 <= ipa -> 0 < n -> ipa + n * 4096 <= l1_base ipa + 2 ^ 30 -> ipa + n * 4096 <= 2 ^ 40 ->
  ipa mod 4096 = 0 -> pa mod 4096 = 0 ->
  let t := Isolation.stage2_root s2 in
  let d := ent (tables e) t ((ipa / 2 ^ 30) mod 1024) in
  (Z.land d 3 = 3 -> pool_base e <= Z.land d Isolation.descOAMask /\ child (pool_base e) d < len (tables e) /\
     l2_inv e (child (pool_base e) d) /\ t + ((ipa / 2 ^ 30) mod 1024) / 512 <> child (pool_base e) d /\
     (forall j', 0 <= j' < 512 -> Z.land (tent (tables e) (child (pool_base e) d) j') 3 = 3 ->
        child (pool_base e) (tent (tables e) (child (pool_base e) d) j') <> t + ((ipa / 2 ^ 30) mod 1024) / 512) /\
     blocks_below e (child (pool_base e) d)) ->
  (valid_d d = true -> Z.land d 3 <> 3 -> Z.land d Isolation.descOAMask + 2 ^ 30 <= 2 ^ 48) ->
  need_root_at (tables e) (pool_base e) t ipa (ipa + n * 4096) (map_u s2 ipa pa a) <= count_free (Isolation.Engine_pool e) ->
  pa_below (map_u s2 ipa pa a) ipa (ipa + n * 4096) ->
  tree_ok (tables e) (pool_base e) 2 t 1024 ->
  exists st tr', Isolation.Engine_mapRange root s ipa pa n a e tr = Ok tt st tr' /\
    (tables_ok st -> tree_ok (tables st) (pool_base st) 2 t 1024 ->
     forall k, l1_base ipa <= Z.of_nat k * 4096 < l1_base ipa + 2 ^ 30 ->
       CodeAbs.walk st s2 k = if (ipa <=? Z.of_nat k * 4096) && (Z.of_nat k * 4096 <? ipa + n * 4096)
                      then u_map (map_u s2 ipa pa a) (Z.of_nat k * 4096) else CodeAbs.walk e s2 k).
Proof.
  intros e tr s s2 ipa pa n a Hg Hpi Ht Htl Hxu Hal Hbelow Hipa Hn Hend H40 Hia Hpa t d Htab Hblk Hneed Hpb Htree.
  pose proof (mapRange_pw e tr s s2 ipa pa n a Hg Hpi Ht Htl Hxu Hal Hbelow Hipa Hn Hend H40 Hia Hpa Htab Hblk Hneed Hpb)
    as (st & tr' & Hm & Hw).
  exists st, tr'. split; [exact Hm|]. intros Hok' Htree' k Hk.
  assert (Hlim : Z.of_nat k * 4096 < Isolation.ipaLimit).
  { pose proof (l1_base_bound ipa Hipa) as Hb. unfold l1_base in *.
    assert (ipa / 2 ^ 30 * 2 ^ 30 + 2 ^ 30 <= 2 ^ 40).
    { pose proof (Z.div_mod ipa (2 ^ 30) ltac:(lia)). pose proof (Z.mod_pos_bound ipa (2 ^ 30) ltac:(lia)). lia. }
    change Isolation.ipaLimit with (2 ^ 40). lia. }
  rewrite (walk_view st s2 k Hok' Ht Htree' Hlim), (walk_view e s2 k (proj1 Hpi) Ht Htree Hlim).
  apply Hw. exact Hk.
Qed.

(** [unmapRange_pw] on the abstraction's walk: for an IPA page [k] of the
    root entry's span, where the stage-2 is a tree of tables before and
    after, [walk] after [unmapRange] maps nothing inside the range and is
    as before outside. *)
Theorem unmapRange_walk : forall e tr s s2 ipa n,
  good s e s2 -> pool_inv e -> 0 <= Isolation.stage2_root s2 -> Isolation.stage2_root s2 + 1 < len (tables e) ->
  free_bit (Isolation.Engine_pool e) (Isolation.stage2_root s2 + ((ipa / 2 ^ 30) mod 1024) / 512) = false ->
  pool_base e mod 4096 = 0 -> pool_base e + 4096 * len (tables e) <= 2 ^ 48 ->
  0 <= ipa -> 0 < n -> ipa + n * 4096 <= l1_base ipa + 2 ^ 30 -> ipa + n * 4096 <= 2 ^ 40 ->
  ipa mod 4096 = 0 ->
  let t := Isolation.stage2_root s2 in
  let d := ent (tables e) t ((ipa / 2 ^ 30) mod 1024) in
  (Z.land d 3 = 3 -> pool_base e <= Z.land d Isolation.descOAMask /\ child (pool_base e) d < len (tables e) /\
     l2_inv e (child (pool_base e) d) /\ t + ((ipa / 2 ^ 30) mod 1024) / 512 <> child (pool_base e) d /\
     (forall j', 0 <= j' < 512 -> Z.land (tent (tables e) (child (pool_base e) d) j') 3 = 3 ->
        child (pool_base e) (tent (tables e) (child (pool_base e) d) j') <> t + ((ipa / 2 ^ 30) mod 1024) / 512) /\
     blocks_below e (child (pool_base e) d)) ->
  (valid_d d = true -> Z.land d 3 <> 3 -> Z.land d Isolation.descOAMask + 2 ^ 30 <= 2 ^ 48) ->
  need_root_at (tables e) (pool_base e) t ipa (ipa + n * 4096) (unmap_u s2) <= count_free (Isolation.Engine_pool e) ->
  tree_ok (tables e) (pool_base e) 2 t 1024 ->
  exists st tr', Isolation.Engine_unmapRange root s ipa n e tr = Ok tt st tr' /\
    (tables_ok st -> tree_ok (tables st) (pool_base st) 2 t 1024 ->
     forall k, l1_base ipa <= Z.of_nat k * 4096 < l1_base ipa + 2 ^ 30 ->
       CodeAbs.walk st s2 k = if (ipa <=? Z.of_nat k * 4096) && (Z.of_nat k * 4096 <? ipa + n * 4096)
                              then None else CodeAbs.walk e s2 k).
Proof.
  intros e tr s s2 ipa n Hg Hpi Ht Htl Hxu Hal Hbelow Hipa Hn Hend H40 Hia t d Htab Hblk Hneed Htree.
  pose proof (unmapRange_pw e tr s s2 ipa n Hg Hpi Ht Htl Hxu Hal Hbelow Hipa Hn Hend H40 Hia Htab Hblk Hneed)
    as (st & tr' & Hm & Hw).
  exists st, tr'. split; [exact Hm|]. intros Hok' Htree' k Hk.
  assert (Hlim : Z.of_nat k * 4096 < Isolation.ipaLimit).
  { pose proof (l1_base_bound ipa Hipa) as Hb. unfold l1_base in *.
    assert (ipa / 2 ^ 30 * 2 ^ 30 + 2 ^ 30 <= 2 ^ 40).
    { pose proof (Z.div_mod ipa (2 ^ 30) ltac:(lia)). pose proof (Z.mod_pos_bound ipa (2 ^ 30) ltac:(lia)). lia. }
    change Isolation.ipaLimit with (2 ^ 40). lia. }
  rewrite (walk_view st s2 k Hok' Ht Htree' Hlim), (walk_view e s2 k (proj1 Hpi) Ht Htree Hlim).
  apply Hw. exact Hk.
Qed.
