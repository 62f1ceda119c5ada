(** * GoCoq: the semantics the gocoq translator targets

    Part of the translator (internal/gocoq), copied verbatim beside the
    generated files; it is trusted with gocoq. Go values are shallow Coq
    values; a Go function is a function into [M S A], a state-and-error
    monad over the memory [S] its pointers point into, with a trace of the
    calls made through the Platform interface. Every Go operation that can
    panic is a [Fail] outcome here. *)

From Coq Require Import ZArith Bool List String.
Import ListNotations.
Open Scope Z_scope.

(** ** Machine words

    Every Go integer is a [Z] kept in the range of its type: unsigned
    [w]-bit values in [0, 2^w), signed ones in [-2^(w-1), 2^(w-1)).
    Arithmetic wraps with [wrapu]/[wraps], as Go's does (Go spec,
    "Integer overflow"). *)
Definition wrapu (w : Z) (z : Z) : Z := z mod 2 ^ w.
Definition wraps (w : Z) (z : Z) : Z :=
  let m := z mod 2 ^ w in if 2 ^ (w - 1) <=? m then m - 2 ^ w else m.

(** Bit operations on in-range values; Z's are two's complement with
    infinite sign extension, so [land], [lor], [lxor] of in-range values are
    in range. *)
Definition andnot (x y : Z) : Z := Z.land x (Z.lnot y).

(** [x << y] and [x >> y] of a [w]-bit [x]: the count is non-negative (a
    negative signed count panics, which the translation checks before); a
    count of [w] or more shifts every bit out, which is decided first so
    that a huge count costs nothing. *)
Definition shl (w : Z) (signed : bool) (x y : Z) : Z :=
  if w <=? y then 0
  else if signed then wraps w (Z.shiftl x y) else wrapu w (Z.shiftl x y).
Definition shr (x y : Z) : Z :=
  if 64 <=? y then (if x <? 0 then -1 else 0) else Z.shiftr x y.

(** ** Outcomes and the monad *)
Inductive failure :=
| IndexOutOfRange
| NilDereference
| DivideByZero
| NegativeShift
| Panic (msg : string)
| OutOfFuel.

(** One call through the Platform interface: its method and its integer
    arguments. *)
Record event := mkEvent { ev_method : string; ev_args : list Z }.

Inductive outcome (S A : Type) :=
| Ok (a : A) (s : S) (trace : list event)
| Fail (f : failure).
Arguments Ok {S A}.
Arguments Fail {S A}.

(** The trace is kept newest first. *)
Definition M (S A : Type) := S -> list event -> outcome S A.

Definition ret {S A} (a : A) : M S A := fun s t => Ok a s t.
Definition bind {S A B} (m : M S A) (f : A -> M S B) : M S B :=
  fun s t => match m s t with Ok a s' t' => f a s' t' | Fail e => Fail e end.
Definition fail {S A} (e : failure) : M S A := fun _ _ => Fail e.
Definition emit {S} (m : string) (args : list Z) : M S unit :=
  fun s t => Ok tt s (mkEvent m args :: t).

Notation "'let!' x ':=' m 'in' k" := (bind m (fun x => k))
  (at level 200, x name, m at level 100, k at level 200).
Notation "'let!' ' p ':=' m 'in' k" := (bind m (fun x'gc => match x'gc with p => k end))
  (at level 200, p pattern, m at level 100, k at level 200).

(** ** Sequences: Go arrays and slices

    An array [[N]T] and a slice [[]T] are both a [list T]; an array's list
    always has length [N] (the translation builds arrays with [N] elements
    and only ever replaces elements). *)
Definition len {A} (xs : list A) : Z := Z.of_nat (List.length xs).

Definition idx {S A} (xs : list A) (i : Z) : M S A :=
  if i <? 0 then fail IndexOutOfRange else
  match nth_error xs (Z.to_nat i) with Some a => ret a | None => fail IndexOutOfRange end.

Fixpoint replace_nth {A} (n : nat) (a : A) (xs : list A) : list A :=
  match n, xs with
  | O, _ :: r => a :: r
  | S n', x :: r => x :: replace_nth n' a r
  | _, [] => []
  end.

Definition upd {S A} (xs : list A) (i : Z) (a : A) : M S (list A) :=
  if (i <? 0) || (len xs <=? i) then fail IndexOutOfRange
  else ret (replace_nth (Z.to_nat i) a xs).

(** [xs[lo:hi]]: Go requires [0 <= lo <= hi <= cap]; the model has no
    capacity beyond the length. *)
Definition subslice {S A} (xs : list A) (lo hi : Z) : M S (list A) :=
  if (lo <? 0) || (hi <? lo) || (len xs <? hi) then fail IndexOutOfRange
  else ret (firstn (Z.to_nat (hi - lo)) (skipn (Z.to_nat lo) xs)).

(** [copy(xs[lo:hi], src)], once the window is checked as [subslice]
    checks it: the first [min (hi - lo) (len src)] elements of the window
    become those of [src], and the list keeps its length. [src] is a value,
    read before the copy, as Go's copy allows its operands to overlap. *)
Definition copy_into {A} (xs : list A) (lo hi : Z) (src : list A) : list A :=
  let n := Z.to_nat (Z.min (hi - lo) (len src)) in
  firstn (Z.to_nat lo) xs ++ firstn n src ++ skipn (Z.to_nat lo + n) xs.

(** ** Pointers

    A pointer is nil or a place in the memory [S]: how to read and write
    what it points to. Places are built from a root by selecting fields and
    (bounds-checked) elements, so two pointers are never compared except
    with nil. *)
Inductive ptr (S A : Type) :=
| Nil
| Place (load : S -> option A) (store : A -> S -> option S).
Arguments Nil {S A}.
Arguments Place {S A}.

Definition is_nil {S A} (p : ptr S A) : bool := match p with Nil => true | _ => false end.

(** The whole memory, as the place of the receiver of an entry point. *)
Definition root {S} : ptr S S := Place (fun s => Some s) (fun a _ => Some a).

Definition deref {S A} (p : ptr S A) : M S A :=
  match p with
  | Nil => fail NilDereference
  | Place ld _ => fun s t => match ld s with Some a => Ok a s t | None => Fail NilDereference end
  end.

Definition store {S A} (p : ptr S A) (a : A) : M S unit :=
  match p with
  | Nil => fail NilDereference
  | Place _ st => fun s t => match st a s with Some s' => Ok tt s' t | None => Fail NilDereference end
  end.

Definition pfield {S A B} (p : ptr S A) (get : A -> B) (set : B -> A -> A) : M S (ptr S B) :=
  match p with
  | Nil => fail NilDereference
  | Place ld st => ret (Place (fun s => option_map get (ld s))
                             (fun b s => match ld s with Some a => st (set b a) s | None => None end))
  end.

Definition pindex {S A} (p : ptr S (list A)) (i : Z) : M S (ptr S A) :=
  let! xs := deref p in
  if (i <? 0) || (len xs <=? i) then fail IndexOutOfRange else
  match p with
  | Nil => fail NilDereference
  | Place ld st => ret (Place (fun s => match ld s with Some ys => nth_error ys (Z.to_nat i) | None => None end)
                             (fun a s => match ld s with
                                         | Some ys => if len ys <=? i then None else st (replace_nth (Z.to_nat i) a ys) s
                                         | None => None end))
  end.

(** ** Control flow

    [join N X]: a statement either falls through with the new values [N] of
    the locals it assigned, or leaves with a value [X] of the enclosing
    construct (a return value, or a break or continue of a loop). *)
Inductive join (N X : Type) := Fall (n : N) | Jump (x : X).
Arguments Fall {N X}.
Arguments Jump {N X}.

(** What one iteration of a loop body does. *)
Inductive step (L X : Type) := Continue (l : L) | Break (l : L) | Leave (x : X).
Arguments Continue {L X}.
Arguments Break {L X}.
Arguments Leave {L X}.

(** [rep p f l] applies [f] at most [p] times, stopping at the first [inr];
    the positive is walked bit by bit, so a fuel of 2^64 costs nothing
    until the iterations happen. *)
Fixpoint rep {S L R} (p : positive) (f : L -> M S (L + R)) (l : L) : M S (L + R) :=
  match p with
  | xH => f l
  | xO p' => let! r := rep p' f l in
             match r with inl l' => rep p' f l' | inr x => ret (inr x) end
  | xI p' => let! r := f l in
             match r with
             | inl l' => let! r' := rep p' f l' in
                         match r' with inl l'' => rep p' f l'' | inr x => ret (inr x) end
             | inr x => ret (inr x)
             end
  end.

(** [loop fuel cond body post l] is [for ; cond; post { body }] over the
    locals [L] the loop assigns: the body runs at most [fuel] times (at
    least once), and a loop that would run more often is the failure
    [OutOfFuel]. Fuel never changes a result otherwise: a bound chosen too
    small only adds failure outcomes, which proofs must then exclude. *)
Definition loop {S L X} (fuel : Z) (cond : L -> M S bool) (body : L -> M S (step L X))
    (post : L -> M S L) (l : L) : M S (join L X) :=
  let once (l : L) : M S (L + join L X) :=
    let! c := cond l in
    if negb c then ret (inr (Fall l)) else
    let! r := body l in
    match r with
    | Continue l' => let! l'' := post l' in ret (inl l'')
    | Break l' => ret (inr (Fall l'))
    | Leave x => ret (inr (Jump x))
    end in
  let! r := rep (Z.to_pos fuel) once l in
  match r with
  | inr j => ret j
  | inl l' => let! c := cond l' in if c then fail OutOfFuel else ret (Fall l')
  end.

(** Fuel for a loop whose bound the translator does not know: more
    iterations than any loop over 64-bit counters can make. *)
Definition max_fuel : Z := 2 ^ 64.

(** ** Interfaces

    The only interface of the core is the Platform seam. Its value is nil
    ([None]) or a platform ([Some o]): the record [o] the translation
    declares holds, for each method with results, the platform's answer as
    a function of the trace so far and the arguments. A call of a method
    without results is an event; a call of one with results is an event
    too, and its results, and the values it leaves behind its pointer
    arguments, are the answer. *)
Definition iface (O : Type) := option O.

Definition is_set {O} (p : iface O) : bool := match p with Some _ => true | None => false end.

Definition call_iface {S O} (p : iface O) (m : string) (args : list Z) : M S unit :=
  if is_set p then emit m args else fail NilDereference.

Definition get_platform {S O} (p : iface O) : M S O :=
  match p with Some o => ret o | None => fail NilDereference end.

(** The trace so far, for an answer of the platform. *)
Definition trace_now {S} : M S (list event) := fun s t => Ok t s t.

(** ** Division *)
Definition divu {S} (x y : Z) : M S Z := if y =? 0 then fail DivideByZero else ret (x / y).
Definition modu {S} (x y : Z) : M S Z := if y =? 0 then fail DivideByZero else ret (x mod y).
(** Signed division truncates toward zero (Go spec, "Arithmetic operators");
    the one overflow, [min / -1], wraps. *)
Definition divs {S} (w x y : Z) : M S Z := if y =? 0 then fail DivideByZero else ret (wraps w (Z.quot x y)).
Definition mods {S} (x y : Z) : M S Z := if y =? 0 then fail DivideByZero else ret (Z.rem x y).

(** A shift by a signed count panics when the count is negative. *)
Definition shcount {S} (y : Z) : M S Z := if y <? 0 then fail NegativeShift else ret y.

(** ** Recursion

    A function of a recursive group takes a depth fuel: each call inside
    the group spends one, a call from outside gives [rec_fuel], and a
    recursion deeper than that is the failure [OutOfFuel]. *)
Definition rec_fuel : nat := 64.

(** ** The standard library functions the core calls *)

(** math/bits.LeadingZeros64 of a 64-bit value. *)
Definition bits_LeadingZeros64 {S} (x : Z) : M S Z :=
  ret (if x <=? 0 then 64 else 63 - Z.log2 x).
