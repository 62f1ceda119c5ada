(* bulkhead-oracle: the extracted specification (Spec) run over traces.

   Input, one command a line (numbers decimal or 0x hex, up to 64 bits):

     config RAMBASE RAMPAGES ENGINEBASE ENGINEPAGES MAXVMS MAXVCPUS UID0 UID1 UID2 UID3 [MMIOBASE MMIOSIZE]...
            [file SIZE NAME0 .. NAME5 [PAGEVALUE]...]...
         the machine (byte addresses, page counts, the guests' emulated
         device windows, the boot files: size in bytes, FILE_INFO's name
         words, the value of each page); starts a trace
     reset
         back to the boot state of the current machine (all memory zero)
     host X0 X1 X2 X3 X4 X5 X6 X7
         a host call with these registers; VCPU_RUN runs the guest until
         its first exit, which for an unscripted guest is an IRQ
     guest VM VCPU X0 X1 X2 X3 X4 X5 X6 X7
         a call from vCPU VCPU of VM VM (an id the engine owns)
     run VM VCPU REPLY ; ACTION ; ...
         VCPU_RUN with a scripted guest (see "scripted guests" below)
     write PA VALUE
         the host stores VALUE to the page of PA, if its stage-2 maps it
     check
         from now on, check each step against the statements of the main
         theorems (statements.ml); answers "check on"
     violations
         prints the first statement a checked step violated, or
         "violations 0 in N steps"
     # ...
         a comment, echoed

   Every number is taken exactly (nat64.ml). Output, two lines per call:

     x R0 R1 R2 R3 R4 R5 R6 R7       registers after the call, hex
     s PAGES | VMS | HOST | VCPUS    the abstract state (see specs/ABI.md)

   and one line `s ...` after config, reset and write. *)

open Spec

module N = Nat64

let granule = 4096
let ipa_pages = 1 lsl 28
let nat = N.of_int
let int = N.to_int

(* Register values: the raw 64-bit value (echoed back) and the value the
   specification sees, the same number exactly (nat64.ml). *)
let parse_raw s =
  if String.length s > 2 && String.sub s 0 2 = "0x" then Int64.of_string s
  else Int64.of_string ("0u" ^ s)
let to_nat (r : int64) = N.of_int64 r

let cfg = ref None
let st = ref None

let get_cfg () = match !cfg with Some c -> c | None -> failwith "no config"

(* ---- states as data ----

   The extracted model keeps every map of the state (page metadata, the
   host stage-2, VM slots, vCPUs, interrupt lines, stage-2 maps, page
   contents, registers) as an OCaml closure, and each step wraps the
   previous closures in new ones (upd, map_range, unmap_range). A lookup
   then walks back through every earlier step, and unmap_range looks up
   the previous map twice: the oracle would slow down with the length of
   a trace, exponentially for repeated unmaps. So after each step the
   glue tabulates every map that changed over its finite domain (RAM
   pages, VM slots 0..max_vms, vCPUs, INTIDs, register numbers) and
   replaces it by an array lookup that falls back to the original closure
   outside that domain. The new state is extensionally equal to the old
   one at every argument, and the model only ever applies these
   functions, so every later step computes exactly what it would have:
   the model and its proofs are untouched; only the representation at
   the extraction boundary changes. Maps that a step left physically the
   same are not retabulated, so a step costs what it changed. *)

let reg_slots = 128   (* register numbers: vreg_index is below 102 *)
let max_intid_n = int max_intid

let tab lo n (f : N.t -> 'a) : N.t -> 'a =
  let a = Array.init n (fun i -> f (nat (lo + i))) in
  fun k -> match N.to_small k with
    | Some i when i >= lo && i < lo + n -> a.(i - lo)
    | _ -> f k

(* f tabulated unless it is prev itself (unchanged by the step). *)
let retab lo n f prev = if f == prev then f else tab lo n f

let norm_vcpu (x : vcpu) (px : vcpu) : vcpu =
  if x == px then x
  else { x with vc_irq = retab 0 max_intid_n x.vc_irq px.vc_irq }

let norm_vm c (w : vm) (pw : vm) : vm =
  if w == pw then w
  else
    let mc = int c.max_vcpus in
    let vcpus = if w.vm_vcpu == pw.vm_vcpu then w.vm_vcpu
      else tab 0 mc (fun k -> norm_vcpu (w.vm_vcpu k) (pw.vm_vcpu k)) in
    { w with vm_vcpu = vcpus; vm_s2 = retab (int c.ram_base) (int c.ram_pages) w.vm_s2 pw.vm_s2 }

let norm_regs c f pf =
  if f == pf then f
  else tab 0 (int c.max_vms + 1) (fun v ->
    let g = f v and pg = pf v in
    if g == pg then g
    else tab 0 (int c.max_vcpus) (fun k ->
      let h = g k and ph = pg k in
      if h == ph then h else tab 0 reg_slots h))

(* normalize s prev: s with its changed maps as tables; prev is the
   previous normalized state (None at boot: everything is tabulated). *)
let normalize c (s : state) (prev : state option) : state =
  (* At boot, compare with fresh closures, equal to nothing in s. *)
  let fresh_vcpu = { vcpu_off with vc_irq = (fun _ -> false) } in
  let fresh_vm = { vm_free with vm_vcpu = (fun _ -> fresh_vcpu); vm_s2 = (fun _ -> None) } in
  let fresh = { st_meta = { ms_pages = (fun _ -> assert false); ms_hs2 = (fun _ -> false);
                            ms_vms = (fun _ -> fresh_vm) };
                st_mem = (fun _ -> N.zero); st_regs = (fun _ _ _ -> N.zero) } in
  let p = match prev with Some p -> p | None -> fresh in
  let rb = int c.ram_base and rp = int c.ram_pages in
  let m = s.st_meta and pm = p.st_meta in
  let vms = if m.ms_vms == pm.ms_vms then m.ms_vms
    else tab 0 (int c.max_vms + 1) (fun v ->
      let w = m.ms_vms v in
      norm_vm c w (pm.ms_vms v)) in
  { st_meta = { ms_pages = retab rb rp m.ms_pages pm.ms_pages;
                ms_hs2 = retab rb rp m.ms_hs2 pm.ms_hs2;
                ms_vms = vms };
    st_mem = retab rb rp s.st_mem p.st_mem;
    st_regs = norm_regs c s.st_regs p.st_regs }

(* The boot state of the current machine, normalized once: states are
   immutable, so every reset starts from the same value. *)
let boot_state = ref None

let boot () =
  let c = get_cfg () in
  (match !boot_state with
   | Some _ -> ()
   | None -> boot_state := Some (normalize c (init_state c (fun _ -> N.zero)) None));
  st := !boot_state

let state () = match !st with Some s -> s | None -> failwith "no state"

let hex (x : int64) = Printf.sprintf "%Lx" x

let i64 n = N.to_int64 n

(* ---- ids (isolation/abi) ---- *)
let version = 0xC6000000 and call_uid = 0x8600FF01 and revision = 0x8600FF03
let vm_create = 0xC6000010 and vm_destroy = 0xC6000011 and vcpu_init = 0xC6000012
let vcpu_run = 0xC6000013 and vcpu_irq = 0xC6000014
let mem_donate = 0xC6000020 and mem_share = 0xC6000021 and mem_unshare = 0xC6000022
let mem_reclaim = 0xC6000023 and mem_info = 0xC6000024
let mmio_shadow = 0xC6000030 and mmio_log_read = 0xC6000031
let file_info = 0xC6000080 and file_read = 0xC6000081
let guest_share = 0xC6000040 and guest_unshare = 0xC6000041
let guest_relinquish = 0xC6000042 and guest_meminfo = 0xC6000043
let guest_memstate = 0xC6000044
let psci_version = 0x84000000 and psci_cpu_off = 0x84000002
let psci_cpu_on32 = 0x84000003 and psci_cpu_on64 = 0xC4000003
let psci_aff32 = 0x84000004 and psci_aff64 = 0xC4000004
let psci_off = 0x84000008 and psci_reset = 0x84000009 and psci_features = 0x8400000A
let guest_psci = [psci_version; psci_features; psci_cpu_on32; psci_cpu_on64; psci_cpu_off;
                  psci_aff32; psci_aff64; psci_off; psci_reset]

let status_code = function
  | SUCCESS -> 0 | NOT_SUPPORTED -> -1 | INVALID_PARAMETERS -> -2
  | DENIED -> -3 | NO_MEMORY -> -4 | BUSY -> -5

let psci_code = function
  | PSCI_SUCCESS -> 0 | PSCI_NOT_SUPPORTED -> -1 | PSCI_INVALID_PARAMETERS -> -2
  | PSCI_ALREADY_ON -> -4 | PSCI_VERSION_1_1 -> 0x10001
  | PSCI_AFFINITY off -> if off then 1 else 0

let exit_regs = function
  | ExitMMIO (ipa, acc, v) -> [nat 1; ipa; acc; v]
  | ExitCall (fid, args) -> nat 2 :: fid :: args
  | ExitWFI -> [nat 3] | ExitIRQ -> [nat 4]
  | ExitShutdown r -> [nat 5; r] | ExitAbort ec -> [nat 6; ec]
  | ExitVCPUState (c, on) -> [nat 7; c; on]
  | ExitSGI v -> [nat 8; v]

(* Results: start from the caller's registers, overwrite what the call defines. *)
let results (x : int64 array) (o : output) : int64 array =
  let r = Array.copy x in
  let set_from i l = List.iteri (fun k v -> r.(i + k) <- i64 v) l in
  (match o with
   | ORet (s, l) -> r.(0) <- Int64.of_int (status_code s); if s = SUCCESS then set_from 1 l
   | ORaw l -> set_from 0 l
   | OPSCI (p, _) -> r.(0) <- Int64.of_int (psci_code p)
   | OExit e -> r.(0) <- 0L; let l = exit_regs e in
       for k = 1 to 7 do r.(k) <- 0L done; set_from 1 l
   | ONothing -> ());
  r

let n_ (x : int64 array) i = to_nat x.(i)

let decode_host (x : int64 array) : hcall =
  let id = Int64.to_int (Int64.logand x.(0) 0xFFFFFFFFL) in
  let a = n_ x in
  if id = version then HVersion else if id = call_uid then HCallUID
  else if id = revision then HRevision
  else if id = vm_create then HVMCreate (a 1, a 2)
  else if id = vm_destroy then HVMDestroy (a 1)
  else if id = vcpu_init then HVCPUInit (a 1, a 2, a 3, a 4)
  else if id = vcpu_run then HVCPURun (a 1, a 2, a 3)
  else if id = vcpu_irq then HVCPUIRQ (a 1, a 2, a 3, a 4)
  else if id = mem_donate then HMemDonate (a 1, a 2, a 3, a 4, a 5)
  else if id = mem_share then HMemShare (a 1, a 2, a 3, a 4, a 5)
  else if id = mem_unshare then HMemUnshare (a 1, a 2, a 3)
  else if id = mem_reclaim then HMemReclaim (a 1, a 2)
  else if id = mem_info then HMemInfo (a 1)
  else if id = mmio_shadow then HMMIOShadow (a 1, a 2, a 3, a 4)
  else if id = mmio_log_read then HMMIOLogRead (a 1)
  else if id = file_info then HFileInfo (a 1)
  else if id = file_read then HFileRead (a 1, a 2, a 3)
  else HUnsupported

let low32 (v : int64) = Int64.to_int (Int64.logand v 0xFFFFFFFFL)
let nlow32 (v : int64) = nat (low32 v)

let decode_guest (x : int64 array) : gcall =
  let id = Int64.to_int (Int64.logand x.(0) 0xFFFFFFFFL) in
  let a = n_ x in
  (* SMC32 calls take their arguments from the W registers (SMCCC 1.2,
     2.6): the low 32 bits, as the engine reads them. *)
  let a32 i = if id = psci_cpu_on32 || id = psci_aff32 then nlow32 x.(i) else a i in
  if id = version then GVersion else if id = call_uid then GCallUID
  else if id = revision then GRevision
  else if id = guest_share then GGuestShare (a 1, a 2)
  else if id = guest_unshare then GGuestUnshare (a 1, a 2)
  else if id = guest_relinquish then GGuestRelinquish (a 1, a 2)
  else if id = guest_meminfo then GGuestMemInfo
  else if id = guest_memstate then GGuestMemState (a 1, a 2)
  else if id = psci_version then GPSCIVersion
  else if id = psci_features then GPSCIFeatures (List.mem (low32 x.(1)) guest_psci)
  else if id = psci_cpu_on32 || id = psci_cpu_on64 then GPSCICPUOn (a32 1, a32 2, a32 3)
  else if id = psci_cpu_off then GPSCICPUOff
  else if id = psci_aff32 || id = psci_aff64 then GPSCIAffinityInfo (a32 1, a32 2)
  else if id = psci_off then GPSCISystemOff
  else if id = psci_reset then GPSCISystemReset
  else GUnsupported

(* ---- canonical abstract state, as isolation.Abstract ---- *)
let owner_fields = function
  | ONone -> (0, 0) | OEngine -> (1, 0) | OHost -> (2, 0) | OVM v -> (3, int v)

let vstate_code = function VOff -> 0 | VReady _ | VOn -> 1 | VRunning -> 2

(* The host stage-2's permissions are not in the model (ms_hs2 is a set of
   pages): the glue prints the ABI's rule (DESIGN.md, GUEST_SHARE: the
   host reads and writes what a VM shares with it), RWX for the host's own
   pages and RW for a page a VM shared with it, so that the comparison
   checks the engine's permissions against that rule, not against a
   theorem. *)
let host_perms = function OHost -> 7 | _ -> 3

(* The VCPUS part, REPLY:IRQS:ENTRY:REGS for each vCPU of a live VM
   (see isolation/refinement stateLine). A vCPU in VReady starts with the
   registers boot_regs gives it (x0 and the PC), which VCPU_RUN loads; the
   model keeps no other PC (it does not advance the PC past an emulated
   instruction), and no register but x0..x30 changes in a trace. An Off
   vCPU's registers are not printed: VCPU_INIT and CPU_ON set them all
   before anything reads them. The
   strings of the interrupt lines and the registers are kept by vCPU and
   reused while the map is physically the same (normalize keeps unchanged
   maps), since printing 1020 lines each call would cost more than the
   step. *)
let irq_cache : (int * int, (N.t -> bool) * string) Hashtbl.t = Hashtbl.create 16
let regs_cache : (int * int, (N.t -> N.t) * string) Hashtbl.t = Hashtbl.create 16

let cached tbl key f print =
  match Hashtbl.find_opt tbl key with
  | Some (g, str) when g == f -> str
  | _ -> let str = print f in Hashtbl.replace tbl key (f, str); str

let irq_string (f : N.t -> bool) =
  let l = ref [] in
  for i = max_intid_n - 1 downto 0 do if f (nat i) then l := Printf.sprintf "%x" i :: !l done;
  String.concat "," !l

let regs_string (f : N.t -> N.t) =
  let l = ref [] in
  for r = 30 downto 0 do
    let v = f (nat r) in
    if v <> N.zero then l := Printf.sprintf "%d=%s" r (N.to_hex v) :: !l
  done;
  String.concat "," !l

let print_vcpu b s v k (x : vcpu) =
  Buffer.add_string b (match x.vc_pend with
    | PNone -> "-" | PCall -> "c" | PMMIORead r -> Printf.sprintf "m%d" (int r));
  Buffer.add_char b ':';
  Buffer.add_string b (cached irq_cache (v, k) x.vc_irq irq_string);
  Buffer.add_char b ':';
  (match x.vc_state with
   | VReady (entry, x0) ->
       Printf.bprintf b "@%s:%s" (N.to_hex entry) (if x0 = N.zero then "" else "0=" ^ N.to_hex x0)
   | VOff -> Buffer.add_char b ':'
   | _ ->
       Buffer.add_char b ':';
       Buffer.add_string b (cached regs_cache (v, k) (s.st_regs (nat v) (nat k)) regs_string))

(* The MMIO shadow of a live VM, after its mappings: ",!ipa:mode:value"
   for each mark, ascending by IPA, and ",L" and the log's bytes (two hex
   digits each, oldest first) if it is not empty. *)
let print_shadow b (w : vm) =
  let marks = List.sort (fun x y -> N.compare x.mk_ipa y.mk_ipa) w.vm_marks in
  List.iter (fun k -> Printf.bprintf b ",!%s:%s:%s" (N.to_hex k.mk_ipa) (N.to_hex k.mk_mode) (N.to_hex k.mk_value)) marks;
  if w.vm_log <> [] then begin
    Buffer.add_string b ",L";
    List.iter (fun x -> Printf.bprintf b "%02x" (int x)) w.vm_log
  end

let print_state () =
  let c = get_cfg () and s = state () in
  let m = s.st_meta in
  let rb = int c.ram_base and rp = int c.ram_pages in
  let b = Buffer.create 512 in
  Buffer.add_string b "s";
  for p = rb to rb + rp - 1 do
    let pg = m.ms_pages (nat p) in
    let (k, v) = owner_fields pg.pg_owner in
    let (sh, bo) = match pg.pg_share with NotShared -> (0, 0) | SharedWith x -> (1, int x) in
    Printf.bprintf b " %x:%d:%d:%d:%d:%s" p k v sh bo (N.to_hex (s.st_mem (nat p)))
  done;
  Buffer.add_string b " |";
  for v = 1 to int c.max_vms do
    let w = m.ms_vms (nat v) in
    if not w.vm_live then Buffer.add_string b " -"
    else begin
      Printf.bprintf b " %d,%d,%d," (int w.vm_vcpus) (if w.vm_hasrun then 1 else 0)
        (if w.vm_protected then 1 else 0);
      for k = 0 to int w.vm_vcpus - 1 do
        Printf.bprintf b "%d" (vstate_code (w.vm_vcpu (nat k)).vc_state)
      done;
      let maps = ref [] in
      for p = rb + rp - 1 downto rb do
        match w.vm_s2 (nat p) with
        | Some (i, perms) -> maps := (int i, p, int perms) :: !maps
        | None -> ()
      done;
      let maps = List.sort compare !maps in
      List.iter (fun (i, p, perms) -> Printf.bprintf b ",%x=%x/%d" i p perms) maps;
      print_shadow b w
    end
  done;
  Buffer.add_string b " |";
  for p = rb to rb + rp - 1 do
    if m.ms_hs2 (nat p) then Printf.bprintf b " %x/%d" p (host_perms (m.ms_pages (nat p)).pg_owner)
  done;
  Buffer.add_string b " |";
  for v = 1 to int c.max_vms do
    let w = m.ms_vms (nat v) in
    if w.vm_live then
      for k = 0 to int w.vm_vcpus - 1 do
        Printf.bprintf b " %d.%d:" v k;
        print_vcpu b s v k (w.vm_vcpu (nat k))
      done
  done;
  print_endline (Buffer.contents b)

(* With "check", every step is also checked against the statements of the
   main theorems (statements.ml). *)
let checking = ref false

let apply a =
  let c = get_cfg () and s = state () in
  let (s', o) = step c s a in
  if !checking then Statements.check c s a (s', o);
  st := Some (normalize c s' (Some s)); o

let print_regs r =
  print_endline ("x " ^ String.concat " " (Array.to_list (Array.map hex r)))

let regs_of toks =
  let x = Array.make 8 0L in
  List.iteri (fun i t -> if i < 8 then x.(i) <- parse_raw t) toks; x

let host toks =
  let x = regs_of toks in
  let c = decode_host x in
  let o = apply (AHost c) in
  let o = match c, o with
    | HVCPURun (v, k, _), ORet (SUCCESS, _) ->
        (* The unscripted guest exits at once with an IRQ. *)
        apply (AExit (v, k, TIRQ))
    | _ -> o in
  print_regs (results x o); print_state ()

let guest v k toks =
  let x = regs_of toks in
  let o = apply (AGuest (v, k, decode_guest x)) in
  print_regs (results x o); print_state ()

(* ---- scripted guests ----

   run VM VCPU REPLY ; ACTION ; ACTION ...

   VCPU_RUN with REPLY, then the guest's behaviour in that run, in order:

     set R V            the guest sets xR := V             (AStep GSetReg)
     load IPA R         xR := the page at IPA, if readable  (AStep GLoad)
     store IPA R        the page at IPA := xR, if writable  (AStep GStore)
     mmio IPA W LOG2 R  an MMIO access (W 1 write), ends the run (TMMIO)
                        unless a shadow register of the VM completes it
     hvc                an SMCCC call with the guest's x0..x7: a call the
                        engine implements is carried out (AGuest) and its
                        result registers are the guest's x0..x7 (the SMCCC
                        return convention), and the run goes on unless the
                        call stopped the vCPU; any other id ends the run
                        with a CALL exit (TCall)
     sgi R              a write of ICC_SGI1R_EL1 from xR (31: XZR): ends
                        the run with an SGI exit (TSGI)
     wfi | irq | serror a WFI, an interrupt, an SError (TAbort 0x2f)
     host X0 .. X7      a host call made while the vCPU runs (from another
                        CPU): its registers are printed, one x line, before
                        VCPU_RUN's ("x -" if the run ended before it)

   A run whose actions end without an exit ends with an IRQ. Actions after
   the exit are not run. Prints VCPU_RUN's registers and the state. *)

let oen id = (id lsr 24) land 0x3F
let engine_owns id =
  let num = id land 0xFFFF in
  match oen id with 6 -> num < 0x100 || num >= 0xFF00 | 4 -> num < 0x20 | _ -> false

let vcpu_regs v k =
  let s = state () in
  Array.init 8 (fun i -> N.to_int64 (s.st_regs v k (nat i)))

let guest_set v k r value = ignore (apply (AStep (v, k, GSetReg (nat r, value))))

let is_host_action a =
  match String.split_on_char ' ' (String.trim a) |> List.filter (( <> ) "") with
  | "host" :: _ -> true | _ -> false

let run_guest v k actions =
  let finish = ref None in
  let exit t = match apply (AExit (v, k, t)) with OExit e -> finish := Some (OExit e) | _ -> () in
  let act a =
    match String.split_on_char ' ' (String.trim a) |> List.filter (( <> ) "") with
    | [] -> ()
    | ["set"; r; value] -> guest_set v k (int_of_string r) (to_nat (parse_raw value))
    | ["load"; ipa; r] -> ignore (apply (AStep (v, k, GLoad (to_nat (parse_raw ipa), nat (int_of_string r)))))
    | ["store"; ipa; r] -> ignore (apply (AStep (v, k, GStore (to_nat (parse_raw ipa), nat (int_of_string r)))))
    | ["mmio"; ipa; w; log2; r] ->
        exit (TMMIO (to_nat (parse_raw ipa), w = "1", nat (int_of_string log2), nat (int_of_string r)))
    | ["hvc"] ->
        let x = vcpu_regs v k in
        let id = low32 x.(0) in
        let g = decode_guest x in
        if g = GUnsupported && not (engine_owns id) then exit (TCall (nat id))
        else begin
          (* The call does not read the registers: its outcome on the
             state before the results are written is its outcome. *)
          let (_, o) = step (get_cfg ()) (state ()) (AGuest (v, k, g)) in
          let r = results x o in
          Array.iteri (fun i value -> guest_set v k i (N.of_int64 value)) r;
          match apply (AGuest (v, k, g)) with
          | OPSCI (_, Some e) -> finish := Some (OExit e)
          | _ -> ()
        end
    | "host" :: toks ->
        let x = regs_of toks in
        print_regs (results x (apply (AHost (decode_host x))))
    | ["sgi"; r] -> exit (TSGI (nat (int_of_string r)))
    | ["wfi"] -> exit TWFI
    | ["irq"] -> exit TIRQ
    | ["serror"] -> exit (TAbort (nat 0x2f))
    | _ -> failwith ("bad guest action: " ^ a) in
  let ran = ref 0 in
  List.iter (fun a -> if !finish = None then (act a; incr ran)) actions;
  if !finish = None then exit TIRQ;
  (* A host action the run did not reach prints "x -", so that every run
     line answers as many lines as it has host actions. *)
  List.iteri (fun i a -> if i >= !ran && is_host_action a then print_endline "x -") actions;
  match !finish with Some o -> o | None -> failwith "run without an exit"

let run_cmd v k reply actions =
  let x = Array.make 8 0L in
  x.(0) <- Int64.of_int vcpu_run; x.(1) <- parse_raw v; x.(2) <- parse_raw k; x.(3) <- parse_raw reply;
  let c = decode_host x in
  let o = apply (AHost c) in
  let o = match c, o with
    | HVCPURun (v, k, _), ORet (SUCCESS, _) -> run_guest v k actions
    | _ -> List.iter (fun a -> if is_host_action a then print_endline "x -") actions; o in
  print_regs (results x o); print_state ()

let line l =
  match String.split_on_char ' ' (String.trim l) |> List.filter (( <> ) "") with
  | [] -> ()
  | t :: _ when t.[0] = '#' -> print_endline l
  | "run" :: v :: k :: reply :: _ ->
      (match String.split_on_char ';' l with
       | _ :: actions -> run_cmd v k reply actions
       | [] -> failwith "bad run")
  | "config" :: rb :: rp :: eb :: ep :: mv :: mc :: u0 :: u1 :: u2 :: u3 :: rest ->
      let n t = to_nat (parse_raw t) and g = nat granule in
      (* Windows are pairs up to the first "file"; each "file SIZE N0..N5
         V.." is a boot file: its size, name words and page values. *)
      let rec pairs = function
        | "file" :: l -> ([], boot_files l)
        | b :: sz :: l -> let (w, f) = pairs l in ((n b, n sz) :: w, f)
        | [] -> ([], [])
        | _ -> failwith "config: a window without its size"
      and boot_files l =
        let rec upto acc = function
          | "file" :: l -> (List.rev acc, boot_files l)
          | t :: l -> upto (t :: acc) l
          | [] -> (List.rev acc, []) in
        match upto [] l with
        | (size :: n0 :: n1 :: n2 :: n3 :: n4 :: n5 :: pages, more) ->
            { f_size = n size; f_name = List.map n [n0; n1; n2; n3; n4; n5];
              f_pages = List.map n pages } :: more
        | _ -> failwith "config: a file without its size and name" in
      let (windows, files) = pairs rest in
      cfg := Some { granule = g; ram_base = N.div (n rb) g; ram_pages = n rp;
                    engine_base = N.div (n eb) g; engine_pages = n ep; ipa_pages = nat ipa_pages;
                    max_vms = n mv; max_vcpus = n mc; uid = [n u0; n u1; n u2; n u3];
                    mmio_windows = windows; files = files };
      boot_state := None; boot (); print_state ()
  | ["reset"] -> boot (); print_state ()
  | ["check"] -> checking := true; print_endline "check on"
  | ["violations"] -> print_endline (Statements.report ())
  | "host" :: toks -> host toks
  | "guest" :: v :: k :: toks -> guest (to_nat (parse_raw v)) (to_nat (parse_raw k)) toks
  | ["write"; pa; value] ->
      ignore (apply (AHostWrite (N.div (to_nat (parse_raw pa)) (nat granule), to_nat (parse_raw value))));
      print_state ()
  | _ -> failwith ("bad line: " ^ l)

let () =
  try
    while true do
      let l = input_line stdin in
      (try line l with Failure msg | Invalid_argument msg -> print_endline ("error " ^ msg));
      flush stdout
    done
  with End_of_file -> ()
