(* The statements of the main theorems of proofs/, as checks on concrete
   states: proofs/mutate.sh counts a mutant of the model as caught only
   when, besides breaking a proof, the oracle built from it reaches a
   state or a step that violates one of these statements. A proof script
   that breaks on an equivalent rewrite of the model is then not counted.

   The checks: the invariants (inv1_vm_s2, inv1_ipa_once, inv2_host_s2,
   inv2_host_no_private, inv3_engine, inv5_none_unmapped, inv7_live),
   protected_owns, protected_host_view and protected_host_gain,
   scrub_owner, scrub_host_view, scrub_relinquish, inv4_conservation,
   integrity_mem, integrity_regs, integrity_vcpu_ctl and ni_step. Left
   out: the trace-level theorems (scrub_run, noninterference,
   integrity_mem_run), which follow from the step ones by induction, and
   vcpu_run_regs.

   Each check is the statement of the theorem it is named after,
   restricted to what a trace reaches: the states are reachable (each
   comes from the boot state by steps of the model), the quantified pages
   are RAM pages, VM ids 0..max_vms, vCPUs 0..max_vcpus - 1, registers
   0..reg_count - 1 (the slots and register numbers the model uses). The noninterference check instantiates ni_step at
   each step: for each VM v, t is the state with v's registers and the
   contents of the pages hidden to v changed (so rel v s t), except what
   declass v s t a keeps equal (the registers the trap releases, the
   register a store writes, the pages v's GUEST_SHARE names), and the two
   steps must give the same output and related states. The premises that
   need Inv (ni_step, integrity_mem, protected_host_gain) are checked only
   from a state where every invariant check passed.

   The first violation is kept; the command "violations" prints it. *)

open Spec

module N = Nat64

let nat = N.of_int
let int = N.to_int
let reg_count = 128

let first_violation : string option ref = ref None
let checked_steps = ref 0

let violate name detail =
  if !first_violation = None then
    first_violation := Some (Printf.sprintf "%s: %s" name detail)

let ram c = List.init (int c.ram_pages) (fun i -> int c.ram_base + i)
(* Only ids inside the domains oracle.ml tabulates: a lookup outside them
   walks back through every earlier step. *)
let vms c = List.init (int c.max_vms + 1) (fun v -> v)
let vcpus c = List.init (int c.max_vcpus) (fun k -> k)
let regs = List.init reg_count (fun r -> r)

(* n is the small number v (n may be any 64-bit value). *)
let is n v = N.eqb n (nat v)

let owner m p = (m.ms_pages (nat p)).pg_owner
let share m p = (m.ms_pages (nat p)).pg_share
let s2 m v p = (m.ms_vms (nat v)).vm_s2 (nat p)
let is_ovm o v = match o with OVM w -> is w v | _ -> false
let shared_with sh b = match sh with SharedWith x -> is x b | NotShared -> false
let in_engine_ram c p =
  p >= int c.ram_base && p < int c.ram_base + int c.ram_pages
  && p >= int c.engine_base && p < int c.engine_base + int c.engine_pages

(* ---- Invariants and Protected: statements about one reachable state ---- *)

let check_state c (s : state) : bool =
  let m = s.st_meta in
  let ok = ref true in
  let fail name d = ok := false; violate name d in
  List.iter (fun p ->
    let o = owner m p and sh = share m p and hs = m.ms_hs2 (nat p) in
    let host_or_vm_shared = (match o with OHost -> true | OVM _ -> shared_with sh 0 | _ -> false) in
    if hs <> host_or_vm_shared then fail "inv2_host_s2" (Printf.sprintf "page %x" p);
    (match o, sh with
     | OVM _, NotShared when hs -> fail "inv2_host_no_private" (Printf.sprintf "page %x" p)
     | _ -> ());
    if (o = OEngine) <> in_engine_ram c p then fail "inv3_engine" (Printf.sprintf "page %x owner" p);
    if o = OEngine && (hs || List.exists (fun v -> s2 m v p <> None) (vms c)) then
      fail "inv3_engine" (Printf.sprintf "page %x mapped" p);
    if o = ONone && (hs || List.exists (fun v -> s2 m v p <> None) (vms c)) then
      fail "inv5_none_unmapped" (Printf.sprintf "page %x" p);
    List.iter (fun v ->
      let w = m.ms_vms (nat v) in
      let mapped = s2 m v p <> None in
      let should = is_ovm o v || (o = OHost && shared_with sh v) in
      if mapped <> should then fail "inv1_vm_s2" (Printf.sprintf "VM %d page %x" v p);
      if not w.vm_live && (mapped || is_ovm o v || (o = OHost && shared_with sh v)) then
        fail "inv7_live" (Printf.sprintf "VM %d page %x" v p);
      if w.vm_protected && mapped then begin
        if not (is_ovm o v) then fail "protected_owns" (Printf.sprintf "VM %d page %x" v p);
        if hs && not (is_ovm o v && shared_with sh 0) then
          fail "protected_host_view" (Printf.sprintf "VM %d page %x" v p)
      end) (vms c)) (ram c);
  List.iter (fun v ->
    let ipas = List.filter_map (fun p -> match s2 m v p with Some (i, _) -> Some (N.to_hex i) | None -> None) (ram c) in
    if List.length (List.sort_uniq compare ipas) <> List.length ipas then
      fail "inv1_ipa_once" (Printf.sprintf "VM %d" v)) (vms c);
  !ok

(* ---- Scrub, Integrity, Protected: statements about one step ---- *)

(* actor a = Some v, for a small v. *)
let acts a v = match a with
  | AHost _ | AHostWrite _ -> false
  | AGuest (w, _, _) | AStep (w, _, _) | AExit (w, _, _) -> is w v

let private_to v m p = match owner m p, share m p with
  | OVM w, NotShared -> is w v | _ -> false

let hidden v m p = match owner m p, share m p with
  | OVM w, NotShared -> is w v | ONone, _ -> true | _ -> false

let is_run_of v = function AHost (HVCPURun (w, _, _)) -> is w v | _ -> false

let check_scrub c s a s' =
  let m = s.st_meta and m' = s'.st_meta in
  List.iter (fun p ->
    let zero = s'.st_mem (nat p) = N.zero in
    if owner m p <> OHost && owner m' p = OHost && not zero then
      violate "scrub_owner" (Printf.sprintf "page %x" p);
    if not (m.ms_hs2 (nat p)) && m'.ms_hs2 (nat p) && not zero then begin
      let own_share = match a with
        | AGuest (v, _, GGuestShare _) -> (match owner m' p with OVM w -> N.eqb w v | _ -> false)
        | _ -> false in
      if not own_share then violate "scrub_host_view" (Printf.sprintf "page %x" p)
    end;
    (match a with
     | AGuest (_, _, GGuestRelinquish _) when owner m p <> ONone && owner m' p = ONone && not zero ->
         violate "scrub_relinquish" (Printf.sprintf "page %x" p)
     | _ -> ())) (ram c)

(* inv4_conservation: a page changes owner only by the action that names
   the move. *)
let check_conservation c s a s' =
  List.iter (fun p ->
    let o0 = owner s.st_meta p and o1 = owner s'.st_meta p in
    let ok = o0 = o1 ||
      (match o0, o1, a with
       | OHost, OVM v, AHost (HMemDonate (w, _, _, _, _)) -> N.eqb v w
       | OVM v, ONone, AHost (HVMDestroy w) -> N.eqb v w
       | OVM v, ONone, AGuest (w, _, GGuestRelinquish _) -> N.eqb v w
       | ONone, OHost, AHost (HMemReclaim _) -> true
       | _ -> false) in
    if not ok then violate "inv4_conservation" (Printf.sprintf "page %x" p)) (ram c)

let check_integrity c inv s a s' =
  let m = s.st_meta and m' = s'.st_meta in
  List.iter (fun v ->
    if not (acts a v) then begin
      if inv then List.iter (fun p ->
        if private_to v m p && s'.st_mem (nat p) <> s.st_mem (nat p) then
          violate "integrity_mem" (Printf.sprintf "VM %d page %x" v p)) (ram c);
      let w = m.ms_vms (nat v) in
      if w.vm_live && not (is_run_of v a) then begin
        List.iter (fun k -> List.iter (fun r ->
          if s'.st_regs (nat v) (nat k) (nat r) <> s.st_regs (nat v) (nat k) (nat r) then
            violate "integrity_regs" (Printf.sprintf "VM %d vCPU %d register %d" v k r)) regs) (vcpus c);
        if w.vm_hasrun && (m'.ms_vms (nat v)).vm_live then
          List.iter (fun k ->
            let x = vcpu_of m (nat v) (nat k) and x' = vcpu_of m' (nat v) (nat k) in
            if x.vc_state <> x'.vc_state || x.vc_pend <> x'.vc_pend then
              violate "integrity_vcpu_ctl" (Printf.sprintf "VM %d vCPU %d" v k)) (vcpus c)
      end
    end) (vms c);
  if inv then List.iter (fun v ->
    let w = m.ms_vms (nat v) in
    if w.vm_protected then List.iter (fun p ->
      if s2 m v p <> None && not (m.ms_hs2 (nat p)) && m'.ms_hs2 (nat p) then
        match a with
        | AGuest (u, _, GGuestShare _) when is u v -> ()
        | _ -> violate "protected_host_gain" (Printf.sprintf "VM %d page %x" v p)) (ram c)) (vms c)

(* ---- Noninterference: ni_step at this step ---- *)

let flip (x : N.t) = N.of_int64 (Int64.logxor (N.to_int64 x) 0x5A5A5A5A5A5A5A5AL)

(* An SGI exit releases only the fields of ICC_SGI1R_EL1 (sgi_released in
   Noninterference.v): the other bits of the register are flipped. *)
let sgi_res0 = Int64.lognot 0x00FFF1FF0FFFFFFFL
let flip_res0 (x : N.t) = N.of_int64 (Int64.logxor (N.to_int64 x) (Int64.logand 0x5A5A5A5A5A5A5A5AL sgi_res0))

let released = function
  | TMMIO (_, true, _, r) -> [r]
  | TCall _ -> List.map nat [1; 2; 3; 4; 5]
  | _ -> []

(* meta_key: the ledger as a string, for rel_meta (the maps are functions). *)
let meta_key c (m : mstate) =
  let b = Buffer.create 256 in
  List.iter (fun p ->
    let o = match owner m p with ONone -> "n" | OEngine -> "e" | OHost -> "h" | OVM w -> N.to_hex w in
    let sh = match share m p with NotShared -> "-" | SharedWith x -> N.to_hex x in
    Printf.bprintf b "%x:%s:%s:%b;" p o sh (m.ms_hs2 (nat p))) (ram c);
  List.iter (fun v ->
    let w = m.ms_vms (nat v) in
    Printf.bprintf b "|%b,%s,%b,%b" w.vm_live (N.to_hex w.vm_vcpus) w.vm_hasrun w.vm_protected;
    List.iter (fun k ->
      let x = w.vm_vcpu (nat k) in
      Printf.bprintf b ",%s/%s/" (match x.vc_state with
        | VOff -> "off" | VOn -> "on" | VRunning -> "run"
        | VReady (e, x0) -> "ready " ^ N.to_hex e ^ " " ^ N.to_hex x0)
        (match x.vc_pend with PNone -> "-" | PCall -> "c" | PMMIORead r -> "m" ^ N.to_hex r);
      for i = 0 to int max_intid - 1 do if x.vc_irq (nat i) then Printf.bprintf b "%x." i done) (vcpus c);
    List.iter (fun p -> match s2 m v p with
      | Some (i, pe) -> Printf.bprintf b ",%x=%s/%s" p (N.to_hex i) (N.to_hex pe)
      | None -> ()) (ram c);
    List.iter (fun k -> Printf.bprintf b ",!%s:%s:%s" (N.to_hex k.mk_ipa) (N.to_hex k.mk_mode) (N.to_hex k.mk_value))
      w.vm_marks;
    List.iter (fun x -> Printf.bprintf b ",L%s" (N.to_hex x)) w.vm_log) (vms c);
  Buffer.contents b

let check_ni c s a (s', o) =
  let m = s.st_meta in
  List.iter (fun v ->
    let keep_reg k r = match a with
      | AExit (w, kk, t) -> is w v && is kk k && List.exists (fun x -> is x r) (released t)
      | AStep (w, kk, GStore (_, rr)) -> is w v && is kk k && is rr r
      | _ -> false in
    let sgi_reg k r = match a with
      | AExit (w, kk, TSGI rr) -> is w v && is kk k && is rr r
      | _ -> false in
    let keep_page p = match a with
      | AGuest (w, _, GGuestShare (ipa, n)) when is w v ->
          mapped_in c (m.ms_vms w).vm_s2 (pfn c ipa) n (nat p)
      | _ -> false in
    let t = { s with
      st_mem = (fun p -> let x = s.st_mem p in
        match N.to_small p with
        | Some q when hidden v m q && not (keep_page q) -> flip x
        | _ -> x);
      st_regs = (fun w k r -> let x = s.st_regs w k r in
        match N.to_small w, N.to_small k, N.to_small r with
        | Some w', Some k', Some r' when w' = v && sgi_reg k' r' -> flip_res0 x
        | Some w', Some k', Some r' when w' = v && not (keep_reg k' r') -> flip x
        | _ -> x) } in
    let (t', o') = step c t a in
    if o <> o' then violate "ni_step (output)" (Printf.sprintf "VM %d" v)
    else if meta_key c s'.st_meta <> meta_key c t'.st_meta then violate "ni_step (ledger)" (Printf.sprintf "VM %d" v)
    else begin
      List.iter (fun p ->
        if not (hidden v s'.st_meta p) && s'.st_mem (nat p) <> t'.st_mem (nat p) then
          violate "ni_step (memory)" (Printf.sprintf "VM %d page %x" v p)) (ram c);
      List.iter (fun w -> if w <> v then List.iter (fun k -> List.iter (fun r ->
        if s'.st_regs (nat w) (nat k) (nat r) <> t'.st_regs (nat w) (nat k) (nat r) then
          violate "ni_step (registers)" (Printf.sprintf "VM %d, of VM %d vCPU %d register %d" v w k r))
        regs) (vcpus c)) (vms c)
    end) (List.filter (fun v -> v > 0) (vms c))

(* check c s a (s', o): every statement at the step from s by a to s'. *)
let check c s a (s', o) =
  if !first_violation = None then begin
    incr checked_steps;
    let inv = check_state c s in
    ignore (check_state c s');
    check_scrub c s a s';
    check_conservation c s a s';
    check_integrity c inv s a s';
    if inv then check_ni c s a (s', o)
  end

let report () =
  match !first_violation with
  | None -> Printf.sprintf "violations 0 in %d steps" !checked_steps
  | Some v -> Printf.sprintf "violation after %d steps: %s" !checked_steps v
