(* Exact natural numbers for the extracted specification.

   The model's [nat] must hold every 64-bit register value exactly, and
   the sums it forms of them (a page number plus a page count): values up
   to about 2^65. OCaml's [int] has 63 bits, so [nat] becomes this type:
   a plain [int] below 2^62 (page numbers, ids, counts), and a pair of
   62-bit limbs above. Arithmetic is exact up to 2^124 and fails loudly
   (an exception, which the oracle reports as an error line) beyond; it
   never wraps or clamps. Representations are canonical ([S] below 2^62,
   [B] from 2^62 up), so structural equality is numeric equality. *)

type t =
  | S of int          (* 0 <= v < 2^62 *)
  | B of int * int    (* hi * 2^62 + lo; 1 <= hi < 2^62, 0 <= lo < 2^62 *)

let mask = max_int    (* 2^62 - 1 *)

let zero = S 0
let one = S 1

let norm hi lo =
  if hi < 0 then failwith "nat64: value of 2^124 or more"
  else if hi = 0 then S lo else B (hi, lo)

let parts = function S v -> (0, v) | B (h, l) -> (h, l)

let compare a b =
  match a, b with
  | S x, S y -> Stdlib.compare x y
  | _ ->
      let (h1, l1) = parts a and (h2, l2) = parts b in
      if h1 <> h2 then Stdlib.compare h1 h2 else Stdlib.compare l1 l2

let eqb a b = compare a b = 0
let leb a b = compare a b <= 0
let ltb a b = compare a b < 0
let min a b = if leb a b then a else b
let max a b = if leb a b then b else a

let add a b =
  match a, b with
  | S x, S y -> let s = x + y in if s >= 0 then S s else B (1, s land mask)
  | _ ->
      let (h1, l1) = parts a and (h2, l2) = parts b in
      let s = l1 + l2 in
      let carry = if s < 0 then 1 else 0 in
      norm (h1 + h2 + carry) (s land mask)

(* Truncated subtraction, as Coq's: 0 when b >= a. *)
let sub a b =
  if leb a b then zero
  else match a, b with
    | S x, S y -> S (x - y)
    | _ ->
        let (h1, l1) = parts a and (h2, l2) = parts b in
        let d = l1 - l2 in
        if d >= 0 then norm (h1 - h2) d else norm (h1 - h2 - 1) (d land mask)

let succ a = add a one
let pred a = sub a one

let is_odd a = (snd (parts a)) land 1 = 1
let half a = let (h, l) = parts a in norm (h lsr 1) ((l lsr 1) lor ((h land 1) lsl 61))

let mul a b =
  match a, b with
  | S x, S y when x = 0 || y <= mask / x -> S (x * y)
  | _ ->
      (* Shift and add over the bits of b. *)
      let rec go acc cur b =
        if b = zero then acc
        else go (if is_odd b then add acc cur else acc) (add cur cur) (half b) in
      go zero a b

(* Bit i (0 <= i < 124) of a. *)
let bit a i =
  let (h, l) = parts a in
  if i < 62 then (l lsr i) land 1 else (h lsr (i - 62)) land 1

(* Quotient and remainder; Coq's n / 0 = 0 and n mod 0 = n. *)
let divmod a b =
  if b = zero then (zero, a)
  else match a, b with
    | S x, S y -> (S (x / y), S (x mod y))
    | _ ->
        let q = ref zero and r = ref zero in
        for i = 123 downto 0 do
          r := add (add !r !r) (S (bit a i));
          q := add !q !q;
          if leb b !r then (r := sub !r b; q := succ !q)
        done;
        (!q, !r)

let div a b = fst (divmod a b)
let modulo a b = snd (divmod a b)

(* a^b, by squaring (a is squared only while a higher bit of b needs it). *)
let pow a b =
  let rec go acc a b =
    let acc = if is_odd b then mul acc a else acc in
    let b = half b in
    if b = zero then acc else go acc (mul a a) b in
  if b = zero then one else go one a b

(* The nat case analysis of the extraction. *)
let case f0 fs n = if n = zero then f0 () else fs (pred n)

let of_int n = if n < 0 then invalid_arg "Nat64.of_int" else S n

(* An unsigned 64-bit register value, exactly. *)
let of_int64 (v : int64) =
  norm (Int64.to_int (Int64.shift_right_logical v 62))
       (Int64.to_int (Int64.logand v 0x3FFF_FFFF_FFFF_FFFFL))

(* Back to a 64-bit register; a value of 2^64 or more is an error (the
   model put something in a register no register can hold). *)
let to_int64 a =
  let (h, l) = parts a in
  if h > 3 then failwith "nat64: register value of 2^64 or more"
  else Int64.logor (Int64.shift_left (Int64.of_int h) 62) (Int64.of_int l)

(* A small value as an int (an index), or None. *)
let to_small = function S v -> Some v | B _ -> None

let to_int a = match a with S v -> v | B _ -> failwith "nat64: index of 2^62 or more"

let to_hex a = Printf.sprintf "%Lx" (to_int64 a)
