(** * Transitions of the isolation engine (ABI v1)

    One function per ABI call, named after the call and after the Go core
    function that implements it (table in specs/ABI.md). Each function first
    runs the checks of /bulkhead-contract in the order the engine runs them,
    returning the status of the first that fails, then commits. Commits are
    written pointwise over PFNs and cannot fail.

    Guest execution is abstract: a guest step may only set a register, load
    from or store to a page its stage-2 maps, and trap to the engine; what
    the host learns of a trap is computed by [exit_of], unless an MMIO
    shadow register completes the access ([shadow_of]). *)

From Coq Require Import Arith Bool List.
Import ListNotations.
From Bulkhead.Spec Require Import State.

(** Status codes in x0 ([abi.Status]). *)
Inductive status :=
| SUCCESS              (**  0 *)
| NOT_SUPPORTED        (** -1 *)
| INVALID_PARAMETERS   (** -2 *)
| DENIED               (** -3 *)
| NO_MEMORY            (** -4 *)
| BUSY.                (** -5 *)

(** PSCI results a guest gets in x0 ([abi.PSCI*]). *)
Inductive psci_ret :=
| PSCI_SUCCESS            (**  0 *)
| PSCI_NOT_SUPPORTED      (** -1 *)
| PSCI_INVALID_PARAMETERS (** -2 *)
| PSCI_ALREADY_ON         (** -4 *)
| PSCI_VERSION_1_1        (** 0x10001 *)
| PSCI_AFFINITY (off : bool). (** 0 on, 1 off *)

(** Exit records VCPU_RUN returns in x1..x7 ([abi.Exit*]). *)
Inductive exit :=
| ExitMMIO (ipa access value : nat)
| ExitCall (fid : nat) (args : list nat)
| ExitWFI
| ExitIRQ
| ExitShutdown (reset : nat)
| ExitAbort (ec : nat)
| ExitVCPUState (vcpu on : nat)
| ExitSGI (value : nat).    (** extension: the fields of an ICC_SGI1R_EL1 write *)

(** Host calls ([abi] ids 0xC600_00xx and the vendor-hyp queries). Arguments
    are the raw register values. [HUnsupported] is any id the host may not
    use: unknown, or a guest-only id. *)
Inductive hcall :=
| HVersion
| HCallUID
| HRevision
| HVMCreate (vcpus flags : nat)   (** flags: bit 0 protected, others ignored *)
| HVMDestroy (vmid : nat)
| HVCPUInit (vmid vcpu entry x0 : nat)
| HVCPURun (vmid vcpu reply : nat)
| HVCPUIRQ (vmid vcpu intid level : nat)
| HMemDonate (vmid pa ipa pages perms : nat)
| HMemShare (vmid pa ipa pages perms : nat)
| HMemUnshare (vmid ipa pages : nat)
| HMemReclaim (pa pages : nat)
| HMemInfo (pa : nat)
| HMMIOShadow (vmid ipa mode value : nat)   (** extension *)
| HMMIOLogRead (vmid : nat)                 (** extension *)
| HFileInfo (index : nat)                  (** extension *)
| HFileRead (index pa pages : nat)         (** extension *)
| HUnsupported.

(** Calls a guest vCPU makes that the engine handles itself. [GUnsupported]
    is an engine id the guest may not use (a host id). Any other id is
    forwarded to the host: that is the [TCall] trap. PSCI FEATURES carries
    whether the queried id is one the engine implements. *)
Inductive gcall :=
| GVersion
| GCallUID
| GRevision
| GGuestShare (ipa pages : nat)
| GGuestUnshare (ipa pages : nat)
| GGuestRelinquish (ipa pages : nat)
| GGuestMemInfo
| GGuestMemState (ipa pages : nat)
| GPSCIVersion
| GPSCIFeatures (implemented : bool)
| GPSCICPUOn (mpidr entry ctx : nat)
| GPSCICPUOff
| GPSCIAffinityInfo (mpidr level : nat)
| GPSCISystemOff
| GPSCISystemReset
| GUnsupported.

(** Abstract guest computation: the only effects a guest has on its own. *)
Inductive gstep :=
| GSetReg (reg value : nat)
| GLoad (ipa reg : nat)     (** reg := the page at IPA, if mapped readable *)
| GStore (ipa reg : nat).   (** the page at IPA := reg, if mapped writable *)

(** Traps that end a run and go to the host, as the hardware reports them
    (the engine sees the register number of an MMIO access). *)
Inductive trap :=
| TMMIO (ipa : nat) (write : bool) (log2size reg : nat)
| TCall (fid : nat)           (** arguments in x1..x5 *)
| TWFI
| TIRQ
| TAbort (ec : nat)
| TSGI (reg : nat).           (** a write of ICC_SGI1R_EL1 from xreg (31: XZR) *)

Inductive action :=
| AHost (c : hcall)
| AGuest (vmid vcpu : nat) (c : gcall)
| AStep (vmid vcpu : nat) (g : gstep)
| AExit (vmid vcpu : nat) (t : trap)
| AHostWrite (pfn value : nat).   (** the host stores to a page it maps *)

Inductive output :=
| ORet (st : status) (results : list nat)   (** x0 status, then x1.. *)
| ORaw (results : list nat)                 (** CALL_UID, REVISION: x0.. *)
| OPSCI (r : psci_ret) (e : option exit)    (** to the guest; exit if it stopped *)
| OExit (e : exit)                          (** VCPU_RUN's exit record *)
| ONothing.

Definition ok0 := ORet SUCCESS [].
Definition err (s : status) := ORet s [].

(** ** Exit filtering: what the host learns of a trap.
    MMIO: the IPA, the access (bit 0 write, bits 1-2 log2 size) and, for a
    write only, the value written. Forwarded call: the function id and
    x1..x5. SGI: the fields of the value written to ICC_SGI1R_EL1 ([sgi_value]).
    Never a register number, never another register. *)
Definition mmio_access (write : bool) (log2size : nat) : nat :=
  (if write then 1 else 0) + 2 * (log2size mod 4).

(** The value of an MMIO write, as the host sees it: the source register
    masked to the access size (1, 2, 4 or 8 bytes: Arm ARM C6.2, STRB,
    STRH, STR of a W or X register); register 31 is XZR, which reads as
    zero ([isolation.mmioDecision]). *)
Definition xzr := 31.

Definition mmio_write_value (regs : nat -> nat) (log2size r : nat) : nat :=
  if r =? xzr then 0 else regs r mod 2 ^ (8 * 2 ^ (log2size mod 4)).

(** The SGI exit (an extension, specs/ABI.md): a guest's write of
    ICC_SGI1R_EL1 asks the host to raise an SGI. The host learns the fields
    of the value written (GIC IHI 0069, 12.11.27), each as (first bit,
    width): TargetList, Aff1, INTID, Aff2, IRM, RS, Aff3. The register's
    other bits are RES0 and stay in the guest ([isolation.sgi1rFields]). *)
Definition sgi_fields : list (nat * nat) :=
  [(0, 16); (16, 8); (24, 4); (32, 8); (40, 1); (44, 4); (48, 8)].

(** Bits [lo, lo + w) of [x]. *)
Definition field (x lo w : nat) : nat := x / 2 ^ lo mod 2 ^ w.

Definition fields_value (l : list (nat * nat)) (x : nat) : nat :=
  fold_right (fun f acc => field x (fst f) (snd f) * 2 ^ fst f + acc) 0 l.

Definition sgi_value (regs : nat -> nat) (r : nat) : nat :=
  if r =? xzr then 0 else fields_value sgi_fields (regs r).

Definition exit_of (t : trap) (regs : nat -> nat) : exit :=
  match t with
  | TMMIO ipa w sz r => ExitMMIO ipa (mmio_access w sz) (if w then mmio_write_value regs sz r else 0)
  | TCall fid => ExitCall fid [regs 1; regs 2; regs 3; regs 4; regs 5]
  | TWFI => ExitWFI
  | TIRQ => ExitIRQ
  | TAbort ec => ExitAbort ec
  | TSGI r => ExitSGI (sgi_value regs r)
  end.

(** The reply the next VCPU_RUN owes the guest after a trap. *)
Definition pending_of (t : trap) : pending :=
  match t with
  | TMMIO _ false _ r => PMMIORead r
  | TCall _ => PCall
  | _ => PNone
  end.

Section Spec.
Variable cfg : config.

Definition pc_reg := 32.   (** index of the program counter in a register file *)
Definition max_intid := 1020.
Definition perms_all := 7.

(** ** Argument validation (INVALID_PARAMETERS) *)

Definition vmid_ok (m : mstate) (v : nat) : bool :=
  negb (v =? 0) && (v <=? max_vms cfg) && vm_live (ms_vms m v).

Definition vcpu_ok (m : mstate) (v c : nat) : bool :=
  vmid_ok m v && (c <? vm_vcpus (ms_vms m v)).

(** PA range: pages > 0, aligned, inside RAM. *)
Definition pa_ok (pa n : nat) : bool :=
  negb (n =? 0) && (pa mod granule cfg =? 0)
  && (ram_base cfg <=? pa / granule cfg)
  && (pa / granule cfg + n <=? ram_base cfg + ram_pages cfg).

(** IPA range: pages > 0, aligned, inside [0, 2^40). *)
Definition ipa_ok (ipa n : nat) : bool :=
  negb (n =? 0) && (ipa mod granule cfg =? 0)
  && (ipa / granule cfg + n <=? ipa_pages cfg).

(** ABI v1.1: a guest memory call covers at most [guest_max_pages] pages
    ([abi.GuestMaxPages]), so that one guest trap does bounded work at EL2;
    a longer range is INVALID_PARAMETERS, like a bad one. *)
Definition guest_max_pages : nat := 16.

Definition guest_range_ok (ipa n : nat) : bool := ipa_ok ipa n && (n <=? guest_max_pages).

Definition perms_ok (perms : nat) : bool := negb (perms =? 0) && (perms <=? perms_all).

Definition pfn (a : nat) : nat := a / granule cfg.

(** ** Ledger queries *)

Definition owner_of (m : mstate) (p : nat) : owner := pg_owner (ms_pages m p).
Definition share_of (m : mstate) (p : nat) : share := pg_share (ms_pages m p).
Definition s2_of (m : mstate) (v : nat) : nat -> option (nat * nat) := vm_s2 (ms_vms m v).

(** The PFN a VM's stage-2 maps at IPA page [i], searched in PFN order. *)
Definition s2_lookup (s2 : nat -> option (nat * nat)) (i : nat) : option nat :=
  first_range (ram_base cfg) (ram_pages cfg)
    (fun p => match s2 p with
              | Some (j, _) => if j =? i then Some p else None
              | None => None
              end).

(** PFN [p] is mapped by [s2] at an IPA page in [ipa, ipa + n). *)
Definition mapped_in (s2 : nat -> option (nat * nat)) (ipa n p : nat) : bool :=
  in_ram cfg p && match s2 p with Some (j, _) => in_range j ipa n | None => false end.

(** Every IPA page in [ipa, ipa + n) is mapped, and every PFN mapped there
    satisfies [ok]. *)
Definition ipa_range_ok (s2 : nat -> option (nat * nat)) (ipa n : nat) (ok : nat -> bool) : bool :=
  all_range ipa n (fun i => match s2_lookup s2 i with Some _ => true | None => false end)
  && all_range (ram_base cfg) (ram_pages cfg) (fun p => negb (mapped_in s2 ipa n p) || ok p).

(** No PFN is mapped at an IPA page in [ipa, ipa + n). *)
Definition ipa_range_free (s2 : nat -> option (nat * nat)) (ipa n : nat) : bool :=
  all_range (ram_base cfg) (ram_pages cfg) (fun p => negb (mapped_in s2 ipa n p)).

Definition is_host_unshared (pg : page) : bool :=
  match pg_owner pg, pg_share pg with OHost, NotShared => true | _, _ => false end.

Definition set_vm (m : mstate) (v : nat) (x : vm) : mstate :=
  mkMState (ms_pages m) (ms_hs2 m) (upd (ms_vms m) v x).

Definition set_vcpu (m : mstate) (v c : nat) (x : vcpu) : mstate :=
  let w := ms_vms m v in
  set_vm m v (mkVM (vm_live w) (vm_vcpus w) (vm_hasrun w) (vm_protected w) (upd (vm_vcpu w) c x) (vm_s2 w)
                   (vm_marks w) (vm_log w)).

Definition vcpu_of (m : mstate) (v c : nat) : vcpu := vm_vcpu (ms_vms m v) c.

(** ** VM lifecycle *)

(** Lowest free slot in [k, max_vms]. *)
Definition free_slot (m : mstate) : option nat :=
  first_range 1 (max_vms cfg) (fun v => if vm_live (ms_vms m v) then None else Some v).

(** VM_CREATE's flags (x2): bit 0 asks for a protected VM. The other bits
    are ignored, so that an ABI v1 caller, which passes only x1, keeps v1's
    behaviour whatever it leaves in x2 above bit 0. *)
Definition protected_flag (flags : nat) : bool := flags mod 2 =? 1.

(** VM_CREATE ([Engine.VMCreate]). *)
Definition vm_create (s : state) (n flags : nat) : state * output :=
  let m := st_meta s in
  if (n =? 0) || (max_vcpus cfg <? n) then (s, err INVALID_PARAMETERS) else
  match free_slot m with
  | None => (s, err NO_MEMORY)
  | Some v =>
      (mkState (set_vm m v (mkVM true n false (protected_flag flags) (fun _ => vcpu_off) (fun _ => None) [] []))
               (st_mem s) (upd (st_regs s) v (fun _ _ => 0)),
       ORet SUCCESS [v])
  end.

Definition any_running (w : vm) : bool :=
  negb (all_range 0 (vm_vcpus w)
          (fun c => match vc_state (vm_vcpu w c) with VRunning => false | _ => true end)).

(** VM_DESTROY ([Engine.VMDestroy]): the VM's pages go to nobody (and leave
    the host stage-2 if it had shared them), host pages lent to it come back
    unshared, its stage-2 is freed. *)
Definition destroy_page (v : nat) (pg : page) : page :=
  match pg_owner pg, pg_share pg with
  | OVM w, _ => if w =? v then mkPage ONone NotShared else pg
  | OHost, SharedWith b => if b =? v then mkPage OHost NotShared else pg
  | _, _ => pg
  end.

Definition owned_by (v : nat) (pg : page) : bool :=
  match pg_owner pg with OVM w => w =? v | _ => false end.

Definition vm_destroy (s : state) (v : nat) : state * output :=
  let m := st_meta s in
  if negb (vmid_ok m v) then (s, err INVALID_PARAMETERS) else
  if any_running (ms_vms m v) then (s, err BUSY) else
  (mkState (mkMState (fun p => destroy_page v (ms_pages m p))
                     (fun p => if owned_by v (ms_pages m p) then false else ms_hs2 m p)
                     (upd (ms_vms m) v vm_free))
           (st_mem s) (st_regs s),
   ok0).

(** VCPU_INIT ([Engine.VCPUInit]). *)
Definition vcpu_init (s : state) (v c entry x0 : nat) : state * output :=
  let m := st_meta s in
  if negb (vcpu_ok m v c) then (s, err INVALID_PARAMETERS) else
  if negb (entry mod 4 =? 0) then (s, err INVALID_PARAMETERS) else
  if vm_hasrun (ms_vms m v) then (s, err DENIED) else
  let x := vcpu_of m v c in
  (mkState (set_vcpu m v c (mkVCPU (VReady entry x0) PNone (vc_irq x))) (st_mem s) (st_regs s),
   ok0).

(** The registers a vCPU starts with: pc = entry, x0 = the initial x0. *)
Definition boot_regs (entry x0 : nat) : nat -> nat :=
  fun r => if r =? 0 then x0 else if r =? pc_reg then entry else 0.

(** Deliver the reply of VCPU_RUN to the register the last trap named. *)
Definition deliver (p : pending) (reply : nat) (regs : nat -> nat) : nat -> nat :=
  match p with
  | PNone => regs
  | PMMIORead r => upd regs r reply
  | PCall => upd regs 0 reply
  end.

Definition set_hasrun (m : mstate) (v : nat) : mstate :=
  let w := ms_vms m v in
  set_vm m v (mkVM (vm_live w) (vm_vcpus w) true (vm_protected w) (vm_vcpu w) (vm_s2 w) (vm_marks w) (vm_log w)).

(** VCPU_RUN ([Engine.VCPURun]): enter the guest. The run ends with the
    guest's next exit ([guest_exit] or a PSCI call that stops the vCPU),
    whose record is VCPU_RUN's result. *)
Definition vcpu_run (s : state) (v c reply : nat) : state * output :=
  let m := st_meta s in
  if negb (vcpu_ok m v c) then (s, err INVALID_PARAMETERS) else
  let x := vcpu_of m v c in
  match vc_state x with
  | VRunning => (s, err BUSY)
  | VOff => (s, err DENIED)
  | VReady entry x0 =>
      (mkState (set_vcpu (set_hasrun m v) v c (mkVCPU VRunning PNone (vc_irq x)))
               (st_mem s) (upd (st_regs s) v (upd (st_regs s v) c (boot_regs entry x0))),
       ok0)
  | VOn =>
      (mkState (set_vcpu (set_hasrun m v) v c (mkVCPU VRunning PNone (vc_irq x)))
               (st_mem s)
               (upd (st_regs s) v (upd (st_regs s v) c (deliver (vc_pend x) reply (st_regs s v c)))),
       ok0)
  end.

(** VCPU_IRQ ([Engine.VCPUIRQ]). SGIs (INTID 0-15) are edge-triggered: a
    raise latches, and a lowering does not withdraw it (the arch code drops
    the latch once it presents the SGI, which the model does not cover). *)
Definition vcpu_irq (s : state) (v c intid level : nat) : state * output :=
  let m := st_meta s in
  if negb (vcpu_ok m v c) then (s, err INVALID_PARAMETERS) else
  if max_intid <=? intid then (s, err INVALID_PARAMETERS) else
  if 1 <? level then (s, err INVALID_PARAMETERS) else
  let x := vcpu_of m v c in
  let lvl := (level =? 1) || ((intid <? 16) && vc_irq x intid) in
  (mkState (set_vcpu m v c (mkVCPU (vc_state x) (vc_pend x) (upd (vc_irq x) intid lvl)))
           (st_mem s) (st_regs s),
   ok0).

(** ** Host memory calls *)

(** Shared validation of MEM_DONATE and MEM_SHARE, in check order. *)
Definition lend_checks (m : mstate) (v pa ipa n perms : nat) : option status :=
  if negb (vmid_ok m v) then Some INVALID_PARAMETERS else
  if negb (pa_ok pa n) then Some INVALID_PARAMETERS else
  if negb (ipa_ok ipa n) then Some INVALID_PARAMETERS else
  if negb (perms_ok perms) then Some INVALID_PARAMETERS else
  if negb (all_range (pfn pa) n (fun p => is_host_unshared (ms_pages m p))) then Some DENIED else
  if negb (ipa_range_free (s2_of m v) (pfn ipa) n) then Some DENIED else
  None.

(** The stage-2 of VM [v] after mapping [pa, pa + n) at [ipa] with [perms]. *)
Definition map_range (s2 : nat -> option (nat * nat)) (p0 i0 n perms : nat) :=
  fun p => if in_range p p0 n then Some (i0 + (p - p0), perms) else s2 p.

Definition set_s2 (m : mstate) (v : nat) (s2 : nat -> option (nat * nat)) : vm :=
  let w := ms_vms m v in mkVM (vm_live w) (vm_vcpus w) (vm_hasrun w) (vm_protected w) (vm_vcpu w) s2
                              (vm_marks w) (vm_log w).

(** MEM_DONATE ([Engine.MemDonate]): the pages leave the host stage-2
    before the VM's stage-2 maps them; the VM owns them. *)
Definition mem_donate (s : state) (v pa ipa n perms : nat) : state * output :=
  let m := st_meta s in
  match lend_checks m v pa ipa n perms with
  | Some e => (s, err e)
  | None =>
      let p0 := pfn pa in
      let hs2' := fun p => if in_range p p0 n then false else ms_hs2 m p in
      let pages' := fun p => if in_range p p0 n then mkPage (OVM v) NotShared else ms_pages m p in
      (mkState (mkMState pages' hs2'
                  (upd (ms_vms m) v (set_s2 m v (map_range (s2_of m v) p0 (pfn ipa) n perms))))
               (st_mem s) (st_regs s),
       ok0)
  end.

(** MEM_SHARE ([Engine.MemShare]): the host keeps ownership and access.
    A protected VM takes only donated memory: after the checks MEM_DONATE
    makes, MEM_SHARE into it is DENIED. *)
Definition mem_share (s : state) (v pa ipa n perms : nat) : state * output :=
  let m := st_meta s in
  match lend_checks m v pa ipa n perms with
  | Some e => (s, err e)
  | None =>
      if vm_protected (ms_vms m v) then (s, err DENIED) else
      let p0 := pfn pa in
      let pages' := fun p => if in_range p p0 n then mkPage OHost (SharedWith v) else ms_pages m p in
      (mkState (mkMState pages' (ms_hs2 m)
                  (upd (ms_vms m) v (set_s2 m v (map_range (s2_of m v) p0 (pfn ipa) n perms))))
               (st_mem s) (st_regs s),
       ok0)
  end.

Definition is_host_shared_with (v : nat) (pg : page) : bool :=
  match pg_owner pg, pg_share pg with OHost, SharedWith b => b =? v | _, _ => false end.

(** Remove the IPA pages [ipa, ipa + n) from a stage-2. *)
Definition unmap_range (s2 : nat -> option (nat * nat)) (ipa n : nat) :=
  fun p => if mapped_in s2 ipa n p then None else s2 p.

(** MEM_UNSHARE ([Engine.MemUnshare]). *)
Definition mem_unshare (s : state) (v ipa n : nat) : state * output :=
  let m := st_meta s in
  if negb (vmid_ok m v) then (s, err INVALID_PARAMETERS) else
  if negb (ipa_ok ipa n) then (s, err INVALID_PARAMETERS) else
  let s2 := s2_of m v in
  let i0 := pfn ipa in
  if negb (ipa_range_ok s2 i0 n (fun p => is_host_shared_with v (ms_pages m p)))
  then (s, err DENIED) else
  let pages' := fun p => if mapped_in s2 i0 n p then mkPage OHost NotShared else ms_pages m p in
  (mkState (mkMState pages' (ms_hs2 m) (upd (ms_vms m) v (set_s2 m v (unmap_range s2 i0 n))))
           (st_mem s) (st_regs s),
   ok0).

(** MEM_RECLAIM's verdict on one page: [None] if it may be reclaimed. *)
Definition reclaim_check (m : mstate) (p : nat) : option status :=
  match owner_of m p with
  | ONone => None
  | OVM _ => Some BUSY     (** a VM's page: only a live VM owns pages *)
  | _ => Some DENIED
  end.

(** MEM_RECLAIM ([Engine.MemReclaim]): zero, then give to the host and map. *)
Definition mem_reclaim (s : state) (pa n : nat) : state * output :=
  let m := st_meta s in
  if negb (pa_ok pa n) then (s, err INVALID_PARAMETERS) else
  let p0 := pfn pa in
  match first_range p0 n (reclaim_check m) with
  | Some e => (s, err e)
  | None =>
      (mkState (mkMState (fun p => if in_range p p0 n then mkPage OHost NotShared else ms_pages m p)
                         (fun p => if in_range p p0 n then true else ms_hs2 m p)
                         (ms_vms m))
               (fun p => if in_range p p0 n then 0 else st_mem s p)
               (st_regs s),
       ok0)
  end.

Definition owner_kind (o : owner) : nat :=
  match o with ONone => 0 | OEngine => 1 | OHost => 2 | OVM _ => 3 end.

Definition owner_vmid (o : owner) : nat := match o with OVM v => v | _ => 0 end.

(** MEM_INFO ([Engine.MemInfo]): metadata only, never contents. *)
Definition mem_info (s : state) (pa : nat) : state * output :=
  let m := st_meta s in
  let p := pfn pa in
  if negb (in_ram cfg p) then (s, err INVALID_PARAMETERS) else
  let pg := ms_pages m p in
  (s, ORet SUCCESS [owner_kind (pg_owner pg); owner_vmid (pg_owner pg);
                    match pg_share pg with NotShared => 0 | SharedWith _ => 1 end;
                    match pg_share pg with NotShared => 0 | SharedWith b => b end]).

(** ** Boot files (an extension: [Engine.FileInfo], [Engine.FileRead])

    The host reads the board's boot files into pages it owns. What it learns
    (a file's size, name and contents) is part of the configuration, the
    same in any two states, and the statuses read only the ledger, which
    the host sees anyway (MEM_INFO): these calls release nothing. *)

(** The pages a file covers: its size in bytes rounded up to pages. *)
Definition file_pages (f : bootfile) : nat := (f_size f + granule cfg - 1) / granule cfg.

Definition file_info (s : state) (i : nat) : state * output :=
  match nth_error (files cfg) i with
  | None => (s, err INVALID_PARAMETERS)
  | Some f => (s, ORet SUCCESS (f_size f :: f_name f))
  end.

Definition host_owned (pg : page) : bool :=
  match pg_owner pg with OHost => true | _ => false end.

(** What FILE_READ requires of each page the file covers, in order. *)
Definition file_check (m : mstate) (p : nat) : option status :=
  if negb (in_ram cfg p) then Some INVALID_PARAMETERS
  else if host_owned (ms_pages m p) then None else Some DENIED.

(** FILE_READ: every page the file covers must be RAM the host owns (shared
    or not: the host may write it anyway); those pages take the file's
    contents, and no other page changes. A file of no bytes needs no page.
    (The bytes of the last page past the file's end keep what they held,
    which a page's one number does not describe.) *)
Definition file_read (s : state) (i pa n : nat) : state * output :=
  let m := st_meta s in
  match nth_error (files cfg) i with
  | None => (s, err INVALID_PARAMETERS)
  | Some f =>
      let k := file_pages f in
      if negb (pa mod granule cfg =? 0) || (n <? k) then (s, err INVALID_PARAMETERS) else
      match first_range (pfn pa) k (file_check m) with
      | Some e => (s, err e)
      | None =>
          (mkState m (fun p => if in_range p (pfn pa) k then nth (p - pfn pa) (f_pages f) 0 else st_mem s p)
                   (st_regs s),
           ORet SUCCESS [f_size f])
      end
  end.

(** ** Guest memory calls (from VM [v]) *)

Definition is_vm_unshared (v : nat) (pg : page) : bool :=
  match pg_owner pg, pg_share pg with OVM w, NotShared => w =? v | _, _ => false end.

Definition is_vm_shared_host (v : nat) (pg : page) : bool :=
  match pg_owner pg, pg_share pg with OVM w, SharedWith b => (w =? v) && (b =? host_id) | _, _ => false end.

(** GUEST_MEMSTATE ([Engine.GuestMemState]): what the page at an IPA page
    of VM [v] is to the guest. 0 not mapped; 1 private (the VM owns it and
    has not shared it: donated); 2 lent (a host page MEM_SHAREd into the
    VM, which the host can read and write); 3 shared (the VM's page that it
    GUEST_SHAREd with the host). Only the ledger is read. *)
Definition mem_state_at (m : mstate) (v i : nat) : nat :=
  match s2_lookup (s2_of m v) i with
  | None => 0
  | Some p =>
      match pg_owner (ms_pages m p), pg_share (ms_pages m p) with
      | OVM _, NotShared => 1
      | OVM _, SharedWith _ => 3
      | _, _ => 2
      end
  end.

(** The most pages one GUEST_MEMSTATE reports on ([abi.MemStateMaxRun]),
    which bounds its work at EL2. *)
Definition mem_state_max := 64.

(** How many IPA pages from [i], at most [k], are in state [st]. *)
Fixpoint mem_state_run (m : mstate) (v i k st : nat) : nat :=
  match k with
  | 0 => 0
  | S k' => if mem_state_at m v i =? st then S (mem_state_run m v (S i) k' st) else 0
  end.

(** x1 IPA, x2 pages: x1 the state of the page at IPA, x2 how many pages
    from IPA on, at most pages and at most [mem_state_max], share it. *)
Definition guest_mem_state (s : state) (v ipa n : nat) : state * output :=
  let m := st_meta s in
  if negb (ipa_ok ipa n) then (s, err INVALID_PARAMETERS) else
  let i := pfn ipa in
  let st := mem_state_at m v i in
  (s, ORet SUCCESS [st; mem_state_run m v i (Nat.min n mem_state_max) st]).

(** GUEST_SHARE ([Engine.GuestShare]): the host may now read and write. *)
Definition guest_share (s : state) (v ipa n : nat) : state * output :=
  let m := st_meta s in
  if negb (guest_range_ok ipa n) then (s, err INVALID_PARAMETERS) else
  let s2 := s2_of m v in
  let i0 := pfn ipa in
  if negb (ipa_range_ok s2 i0 n (fun p => is_vm_unshared v (ms_pages m p))) then (s, err DENIED) else
  (mkState (mkMState (fun p => if mapped_in s2 i0 n p then mkPage (OVM v) (SharedWith host_id) else ms_pages m p)
                     (fun p => if mapped_in s2 i0 n p then true else ms_hs2 m p)
                     (ms_vms m))
           (st_mem s) (st_regs s),
   ok0).

(** GUEST_UNSHARE ([Engine.GuestUnshare]). *)
Definition guest_unshare (s : state) (v ipa n : nat) : state * output :=
  let m := st_meta s in
  if negb (guest_range_ok ipa n) then (s, err INVALID_PARAMETERS) else
  let s2 := s2_of m v in
  let i0 := pfn ipa in
  if negb (ipa_range_ok s2 i0 n (fun p => is_vm_shared_host v (ms_pages m p))) then (s, err DENIED) else
  (mkState (mkMState (fun p => if mapped_in s2 i0 n p then mkPage (OVM v) NotShared else ms_pages m p)
                     (fun p => if mapped_in s2 i0 n p then false else ms_hs2 m p)
                     (ms_vms m))
           (st_mem s) (st_regs s),
   ok0).

(** GUEST_RELINQUISH ([Engine.GuestRelinquish]): unmap, zero, owner none. *)
Definition guest_relinquish (s : state) (v ipa n : nat) : state * output :=
  let m := st_meta s in
  if negb (guest_range_ok ipa n) then (s, err INVALID_PARAMETERS) else
  let s2 := s2_of m v in
  let i0 := pfn ipa in
  if negb (ipa_range_ok s2 i0 n (fun p => is_vm_unshared v (ms_pages m p))) then (s, err DENIED) else
  (mkState (mkMState (fun p => if mapped_in s2 i0 n p then mkPage ONone NotShared else ms_pages m p)
                     (ms_hs2 m)
                     (upd (ms_vms m) v (set_s2 m v (unmap_range s2 i0 n))))
           (fun p => if mapped_in s2 i0 n p then 0 else st_mem s p)
           (st_regs s),
   ok0).

(** ** Guest PSCI (DEN0022), carried out by the engine *)

(** Stop the calling vCPU (it leaves VCPU_RUN with exit [e]). *)
Definition stop_vcpu (m : mstate) (v c : nat) (st : vstate) : mstate :=
  let x := vcpu_of m v c in set_vcpu m v c (mkVCPU st PNone (vc_irq x)).

(** A running caller leaves VCPU_RUN; any other keeps its state. *)
Definition leave_run (m : mstate) (v c : nat) : mstate :=
  match vc_state (vcpu_of m v c) with VRunning => stop_vcpu m v c VOn | _ => m end.

Definition psci_cpu_on (s : state) (v c mpidr entry ctx : nat) : state * output :=
  let m := st_meta s in
  if vm_vcpus (ms_vms m v) <=? mpidr then (s, OPSCI PSCI_INVALID_PARAMETERS None) else
  let t := vcpu_of m v mpidr in
  match vc_state t with
  | VOff =>
      let m1 := set_vcpu m v mpidr (mkVCPU (VReady entry ctx) PNone (vc_irq t)) in
      (mkState (leave_run m1 v c) (st_mem s) (st_regs s),
       OPSCI PSCI_SUCCESS (Some (ExitVCPUState mpidr 1)))
  | _ => (s, OPSCI PSCI_ALREADY_ON None)
  end.

Definition psci_affinity_info (s : state) (v mpidr level : nat) : state * output :=
  let m := st_meta s in
  if negb (level =? 0) then (s, OPSCI PSCI_INVALID_PARAMETERS None) else
  if vm_vcpus (ms_vms m v) <=? mpidr then (s, OPSCI PSCI_INVALID_PARAMETERS None) else
  match vc_state (vcpu_of m v mpidr) with
  | VOff => (s, OPSCI (PSCI_AFFINITY true) None)
  | _ => (s, OPSCI (PSCI_AFFINITY false) None)
  end.

(** SYSTEM_OFF / SYSTEM_RESET: every vCPU of the VM off. *)
Definition all_off (m : mstate) (v : nat) : mstate :=
  let w := ms_vms m v in
  set_vm m v (mkVM (vm_live w) (vm_vcpus w) (vm_hasrun w) (vm_protected w)
                   (fun c => let x := vm_vcpu w c in mkVCPU VOff PNone (vc_irq x))
                   (vm_s2 w) (vm_marks w) (vm_log w)).

Definition psci_system (s : state) (v reset : nat) : state * output :=
  (mkState (all_off (st_meta s) v) (st_mem s) (st_regs s),
   OPSCI PSCI_SUCCESS (Some (ExitShutdown reset))).

(** ** MMIO shadow registers (an extension, specs/ABI.md)

    The engine completes a guest's access to a marked register of an
    emulated device itself: a read of at most 4 bytes from a value the
    host keeps current, a write of at most 4 bytes at the register by
    appending its low byte to the VM's log, which the host drains. What
    travels this way is what an MMIO exit and its reply carry anyway: the
    log's bytes come from the values of MMIO writes the guest makes, which
    [exit_of] would give the host ([Noninterference.released] releases the
    register an MMIO write names); the values reads return come from the
    host. Names follow [isolation/shadow.go]. *)

Definition shadow_slots := 4.         (** [abi.ShadowSlots] *)
Definition shadow_log_bytes := 256.   (** [abi.ShadowLogBytes] *)
Definition shadow_log_batch := 48.    (** [abi.ShadowLogBatch]: bytes per MMIO_LOG_READ *)
Definition shadow_access_max := 4.    (** the widest access a mark completes, in bytes *)
Definition mode_read := 1.
Definition mode_log := 2.

Definition in_windows (ipa : nat) : bool :=
  existsb (fun w => in_range ipa (fst w) (snd w)) (mmio_windows cfg).

(** A mark put in its place among marks kept in IPA order: the marks of
    a VM are a set (at most one at an IPA, and one access meets at most
    one), kept in one order so that equal sets are equal lists. *)
Fixpoint insert_mark (k : mark) (ms : list mark) : list mark :=
  match ms with
  | [] => [k]
  | x :: r => if mk_ipa k <=? mk_ipa x then k :: ms else x :: insert_mark k r
  end.

(** The marks after MMIO_SHADOW(ipa, mode, value): a mark at ipa is
    replaced, or removed by mode 0 (off); a new one takes a free slot;
    [None] when every slot is taken (NO_MEMORY). *)
Definition shadow_marks (ms : list mark) (ipa mode value : nat) : option (list mark) :=
  let others := filter (fun k => negb (mk_ipa k =? ipa)) ms in
  let mk := mkMark ipa mode value in
  if existsb (fun k => mk_ipa k =? ipa) ms then
    Some (if mode =? 0 then others else insert_mark mk others)
  else if mode =? 0 then Some ms
  else if shadow_slots <=? length ms then None
  else Some (insert_mark mk ms).

Definition set_shadow (m : mstate) (v : nat) (ms : list mark) (log : list nat) : mstate :=
  let w := ms_vms m v in
  set_vm m v (mkVM (vm_live w) (vm_vcpus w) (vm_hasrun w) (vm_protected w) (vm_vcpu w) (vm_s2 w) ms log).

(** MMIO_SHADOW ([Engine.MMIOShadow]). *)
Definition mmio_shadow (s : state) (v ipa mode value : nat) : state * output :=
  let m := st_meta s in
  if negb (vmid_ok m v) || negb (ipa mod shadow_access_max =? 0) || negb (in_windows ipa) || (2 <? mode)
  then (s, err INVALID_PARAMETERS) else
  let w := ms_vms m v in
  match shadow_marks (vm_marks w) ipa mode value with
  | None => (s, err NO_MEMORY)
  | Some ms => (mkState (set_shadow m v ms (vm_log w)) (st_mem s) (st_regs s), ok0)
  end.

(** Bytes as a little-endian number. *)
Definition pack_bytes (l : list nat) : nat := fold_right (fun b acc => b + 256 * acc) 0 l.

(** MMIO_LOG_READ's results: x1 the count, x2..x7 the bytes, 8 a register. *)
Definition log_batch (log : list nat) : list nat :=
  let b := firstn shadow_log_batch log in
  length b :: map (fun i => pack_bytes (firstn 8 (skipn (8 * i) b))) (seq 0 6).

(** MMIO_LOG_READ ([Engine.MMIOLogRead]): the oldest bytes leave the log. *)
Definition mmio_log_read (s : state) (v : nat) : state * output :=
  let m := st_meta s in
  if negb (vmid_ok m v) then (s, err INVALID_PARAMETERS) else
  let w := ms_vms m v in
  (mkState (set_shadow m v (vm_marks w) (skipn shadow_log_batch (vm_log w))) (st_mem s) (st_regs s),
   ORet SUCCESS (log_batch (vm_log w))).

(** What a mark does with a trap of VM [w]'s vCPU ([isolation.shadowMMIO]):
    nothing, a read completed into a register with a value, or a write
    logged. The mark covering an access of at most 4 bytes decides: a read
    of a read mark returns the mark's value from the access's byte offset,
    masked to its size; a write at a log mark's own IPA is logged unless
    the log is full. *)
Inductive shadow_hit :=
| SNone
| SRead (reg value : nat)
| SLog.

Definition shadow_read_value (k : mark) (ipa log2size : nat) : nat :=
  mk_value k / 2 ^ (8 * (ipa - mk_ipa k)) mod 2 ^ (8 * 2 ^ (log2size mod 4)).

Definition shadow_of (w : vm) (t : trap) : shadow_hit :=
  match t with
  | TMMIO ipa write sz r =>
      if 2 <? sz mod 4 then SNone else
      match find (fun k => (mk_ipa k <=? ipa) && (ipa <? mk_ipa k + shadow_access_max)) (vm_marks w) with
      | None => SNone
      | Some k =>
          if negb write && (mk_mode k =? mode_read) then SRead r (shadow_read_value k ipa sz)
          else if write && (mk_mode k =? mode_log) && (ipa =? mk_ipa k)
                  && (length (vm_log w) <? shadow_log_bytes) then SLog
          else SNone
      end
  | _ => SNone
  end.

(** The byte a logged write appends: the low byte of the value an MMIO
    exit would carry. *)
Definition log_byte (regs : nat -> nat) (t : trap) : nat :=
  match t with
  | TMMIO _ true sz r => mmio_write_value regs sz r mod 256
  | _ => 0
  end.

(** ** Dispatch *)

Definition host_call (s : state) (c : hcall) : state * output :=
  match c with
  | HVersion => (s, ORet SUCCESS [1; 1])
  | HCallUID => (s, ORaw (uid cfg))
  | HRevision => (s, ORaw [1; 0])
  | HVMCreate n f => vm_create s n f
  | HVMDestroy v => vm_destroy s v
  | HVCPUInit v c e x0 => vcpu_init s v c e x0
  | HVCPURun v c r => vcpu_run s v c r
  | HVCPUIRQ v c i l => vcpu_irq s v c i l
  | HMemDonate v pa ipa n p => mem_donate s v pa ipa n p
  | HMemShare v pa ipa n p => mem_share s v pa ipa n p
  | HMemUnshare v ipa n => mem_unshare s v ipa n
  | HMemReclaim pa n => mem_reclaim s pa n
  | HMemInfo pa => mem_info s pa
  | HMMIOShadow v ipa mode x => mmio_shadow s v ipa mode x
  | HMMIOLogRead v => mmio_log_read s v
  | HFileInfo i => file_info s i
  | HFileRead i pa n => file_read s i pa n
  | HUnsupported => (s, err NOT_SUPPORTED)
  end.

Definition is_running (m : mstate) (v c : nat) : bool :=
  vcpu_ok m v c && match vc_state (vcpu_of m v c) with VRunning => true | _ => false end.

(** A call from vCPU [c] of VM [v]; a caller that is not a vCPU of a live
    VM gets NOT_SUPPORTED for every call ([Engine.Dispatch]). *)
Definition guest_call (s : state) (v c : nat) (g : gcall) : state * output :=
  if negb (vcpu_ok (st_meta s) v c) then (s, err NOT_SUPPORTED) else
  match g with
  | GVersion => (s, ORet SUCCESS [1; 1])
  | GCallUID => (s, ORaw (uid cfg))
  | GRevision => (s, ORaw [1; 0])
  | GGuestShare ipa n => guest_share s v ipa n
  | GGuestUnshare ipa n => guest_unshare s v ipa n
  | GGuestRelinquish ipa n => guest_relinquish s v ipa n
  | GGuestMemInfo => (s, ORet SUCCESS [granule cfg])
  | GGuestMemState ipa n => guest_mem_state s v ipa n
  | GPSCIVersion => (s, OPSCI PSCI_VERSION_1_1 None)
  | GPSCIFeatures b => (s, OPSCI (if b then PSCI_SUCCESS else PSCI_NOT_SUPPORTED) None)
  | GPSCICPUOn mpidr entry ctx => psci_cpu_on s v c mpidr entry ctx
  | GPSCICPUOff =>
      (mkState (stop_vcpu (st_meta s) v c VOff) (st_mem s) (st_regs s),
       OPSCI PSCI_SUCCESS (Some (ExitVCPUState c 0)))
  | GPSCIAffinityInfo mpidr level => psci_affinity_info s v mpidr level
  | GPSCISystemOff => psci_system s v 0
  | GPSCISystemReset => psci_system s v 1
  | GUnsupported => (s, err NOT_SUPPORTED)
  end.

(** Permission bits a guest access needs. *)
Definition has_perm (perms bit : nat) : bool := negb ((perms / bit) mod 2 =? 0).

(** The PFN the VM's stage-2 maps at [ipa] with permission [bit]. *)
Definition s2_access (m : mstate) (v ipa bit : nat) : option nat :=
  let s2 := s2_of m v in
  match s2_lookup s2 (pfn ipa) with
  | Some p => match s2 p with
              | Some (_, perms) => if has_perm perms bit then Some p else None
              | None => None
              end
  | None => None
  end.

Definition guest_step (s : state) (v c : nat) (g : gstep) : state * output :=
  let m := st_meta s in
  if negb (is_running m v c) then (s, ONothing) else
  let regs := st_regs s v c in
  match g with
  | GSetReg r x =>
      (mkState m (st_mem s) (upd (st_regs s) v (upd (st_regs s v) c (upd regs r x))), ONothing)
  | GLoad ipa r =>
      match s2_access m v ipa 1 with
      | Some p => (mkState m (st_mem s) (upd (st_regs s) v (upd (st_regs s v) c (upd regs r (st_mem s p)))),
                   ONothing)
      | None => (s, ONothing)
      end
  | GStore ipa r =>
      match s2_access m v ipa 2 with
      | Some p => (mkState m (upd (st_mem s) p (regs r)) (st_regs s), ONothing)
      | None => (s, ONothing)
      end
  end.

(** The end of a run: the vCPU stops running, owes nothing or a reply, and
    VCPU_RUN returns the filtered exit record; unless a mark completes the
    access ([shadow_of]), and the run goes on. *)
Definition guest_exit (s : state) (v c : nat) (t : trap) : state * output :=
  let m := st_meta s in
  if negb (is_running m v c) then (s, ONothing) else
  let w := ms_vms m v in
  match shadow_of w t with
  | SRead r x =>
      if r =? xzr then (s, ONothing) else
      (mkState m (st_mem s) (upd (st_regs s) v (upd (st_regs s v) c (upd (st_regs s v c) r x))), ONothing)
  | SLog =>
      (mkState (set_shadow m v (vm_marks w) (vm_log w ++ [log_byte (st_regs s v c) t])) (st_mem s) (st_regs s),
       ONothing)
  | SNone =>
      let x := vcpu_of m v c in
      (mkState (set_vcpu m v c (mkVCPU VOn (pending_of t) (vc_irq x))) (st_mem s) (st_regs s),
       OExit (exit_of t (st_regs s v c)))
  end.

(** The host writes a page through its stage-2 (nothing if unmapped). *)
Definition host_write (s : state) (p x : nat) : state * output :=
  if ms_hs2 (st_meta s) p then (mkState (st_meta s) (upd (st_mem s) p x) (st_regs s), ONothing)
  else (s, ONothing).

Definition step (s : state) (a : action) : state * output :=
  match a with
  | AHost c => host_call s c
  | AGuest v c g => guest_call s v c g
  | AStep v c g => guest_step s v c g
  | AExit v c t => guest_exit s v c t
  | AHostWrite p x => host_write s p x
  end.

(** Run a trace, collecting outputs. *)
Fixpoint run (s : state) (l : list action) : state * list output :=
  match l with
  | [] => (s, [])
  | a :: l' => let (s1, o) := step s a in
               let (s2, os) := run s1 l' in (s2, o :: os)
  end.

End Spec.
