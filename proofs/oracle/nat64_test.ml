(* Nat64 against OCaml's unsigned 64-bit arithmetic, on random and edge
   values (check.sh runs it before building the oracle). *)
module N = Nat64

let edges = [0L; 1L; 2L; 3L; 4095L; 4096L; 0x3FFF_FFFF_FFFF_FFFFL; 0x4000_0000_0000_0000L;
             0x4000_0000_0000_0001L; Int64.max_int; Int64.min_int; 0x8000_0000_0000_0001L; -2L; -1L]

let fails = ref 0
let check name ok = if not ok then (incr fails; Printf.printf "nat64_test: %s\n" name)

let ult a b = Int64.unsigned_compare a b < 0

let pair a b =
  let na = N.of_int64 a and nb = N.of_int64 b in
  let s = Printf.sprintf "%Lx %Lx" a b in
  check ("round trip " ^ s) (N.to_int64 na = a);
  check ("compare " ^ s) (N.compare na nb = Int64.unsigned_compare a b);
  check ("eqb " ^ s) (N.eqb na nb = (a = b));
  (* a + b: exact when no 64-bit carry; else (a+b) - 2^64 + 2^64 is checked via sub. *)
  let sum = N.add na nb in
  if not (ult (Int64.add a b) a) then check ("add " ^ s) (N.to_int64 sum = Int64.add a b)
  else check ("add carry " ^ s) (N.compare sum (N.of_int64 (-1L)) > 0);
  check ("add sub " ^ s) (N.eqb (N.sub sum nb) na);
  check ("sub " ^ s) (N.to_int64 (N.sub na nb) = (if ult a b then 0L else Int64.sub a b));
  if b <> 0L then begin
    check ("div " ^ s) (N.to_int64 (N.div na nb) = Int64.unsigned_div a b);
    check ("mod " ^ s) (N.to_int64 (N.modulo na nb) = Int64.unsigned_rem a b)
  end else begin
    check ("div0 " ^ s) (N.eqb (N.div na nb) N.zero);
    check ("mod0 " ^ s) (N.eqb (N.modulo na nb) na)
  end;
  (* (a * (b mod 2^20)) / (b mod 2^20) = a, exactly, above 2^64. *)
  let small = N.of_int64 (Int64.logand b 0xFFFFFL) in
  if not (N.eqb small N.zero) then
    check ("mul " ^ s) (N.eqb (N.div (N.mul na small) small) na
                        && N.eqb (N.modulo (N.mul na small) small) N.zero)

let () =
  List.iter (fun a -> List.iter (fun b -> pair a b) edges) edges;
  Random.init 1;
  for _ = 1 to 20000 do pair (Random.int64 Int64.max_int) (Int64.neg (Random.int64 Int64.max_int)) done;
  check "pow" (N.to_int64 (N.pow (N.of_int64 2L) (N.of_int64 63L)) = Int64.min_int
               && N.eqb (N.pow (N.of_int64 2L) (N.of_int64 64L)) (N.succ (N.of_int64 (-1L)))
               && N.eqb (N.pow (N.of_int64 7L) N.zero) N.one);
  check "succ/pred" (N.eqb (N.pred (N.succ (N.of_int64 (-1L)))) (N.of_int64 (-1L)));
  check "2^64 is no register" (try ignore (N.to_int64 (N.succ (N.of_int64 (-1L)))); false with Failure _ -> true);
  if !fails > 0 then (Printf.printf "nat64_test: %d failures\n" !fails; exit 1)
  else print_endline "nat64_test: ok"
