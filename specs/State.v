(** * State of the isolation engine (ABI v1)

    The abstract state the engine keeps, split in two parts:

    - [mstate], the ledger: page owners and share states, the host stage-2,
      the VM slots with their vCPUs and stage-2 maps. Every check the engine
      makes reads only this part.
    - the data: page contents ([st_mem]) and vCPU register files
      ([st_regs]). The engine moves data only where the ABI says so
      (scrubbing, MMIO and forwarded-call exits, replies).

    Pages are named by their page frame number (PFN = PA / granule); IPAs in
    stage-2 maps are IPA page numbers. Names follow the Go core
    ([isolation/]); see specs/ABI.md for the table. *)

From Coq Require Import Arith Bool List.
Import ListNotations.

(** The board, as the engine is configured for it ([boot/]). All sizes are in
    pages; [granule] is the page size in bytes. The overflow check of the ABI
    ([base + pages * granule] wraps 64 bits) is subsumed by the range check
    in pages: a range that wraps cannot end inside RAM or the IPA space. *)
Record config := mkConfig {
  granule : nat;       (** bytes per page: 4096 *)
  ram_base : nat;      (** PFN of the first RAM page *)
  ram_pages : nat;
  engine_base : nat;   (** PFN of the first engine page *)
  engine_pages : nat;
  ipa_pages : nat;     (** size of the IPA space, in pages (2^40 / granule) *)
  max_vms : nat;       (** VM slots are 1 .. max_vms *)
  max_vcpus : nat;     (** vCPUs per VM: 1 .. max_vcpus *)
  uid : list nat       (** CALL_UID words w0..w3 *)
}.

(** Owner of a page ([isolation.Owner]). *)
Inductive owner :=
| ONone            (** nobody: awaiting MEM_RECLAIM *)
| OEngine
| OHost
| OVM (v : nat).

(** Share state. The borrower is the host (0) or a VM id. *)
Inductive share :=
| NotShared
| SharedWith (b : nat).

Definition host_id := 0.

Record page := mkPage {
  pg_owner : owner;
  pg_share : share
}.

(** vCPU lifecycle. [VReady] is On with an entry point and initial x0 that
    the next VCPU_RUN loads (set by VCPU_INIT, or by a guest PSCI CPU_ON);
    [VOn] is On with its context in the register file. *)
Inductive vstate :=
| VOff
| VReady (entry x0 : nat)
| VOn
| VRunning.

(** The reply the next VCPU_RUN delivers: into a register for an MMIO read
    (the register number stays in the engine), into x0 for a forwarded call. *)
Inductive pending :=
| PNone
| PMMIORead (reg : nat)
| PCall.

Record vcpu := mkVCPU {
  vc_state : vstate;
  vc_pend : pending;
  vc_irq : nat -> bool      (** virtual interrupt line levels, by INTID *)
}.

(** A VM slot. [vm_s2] is the VM's stage-2 map, indexed by PFN: a PFN maps
    at most at one IPA page of a VM, with permissions (R=1, W=2, X=4). *)
Record vm := mkVM {
  vm_live : bool;
  vm_vcpus : nat;
  vm_hasrun : bool;
  vm_vcpu : nat -> vcpu;
  vm_s2 : nat -> option (nat * nat)
}.

(** The ledger. *)
Record mstate := mkMState {
  ms_pages : nat -> page;
  ms_hs2 : nat -> bool;     (** host stage-2: identity map of these RAM PFNs *)
  ms_vms : nat -> vm
}.

(** The whole state: ledger, page contents, register files by VM, vCPU and
    register number. *)
Record state := mkState {
  st_meta : mstate;
  st_mem : nat -> nat;
  st_regs : nat -> nat -> nat -> nat
}.

(** ** Helpers *)

Definition upd {A} (f : nat -> A) (x : nat) (a : A) : nat -> A :=
  fun y => if Nat.eqb y x then a else f y.

(** [p] lies in [lo, lo + n). *)
Definition in_range (p lo n : nat) : bool := (lo <=? p) && (p <? lo + n).

(** [f p] holds for every [p] in [lo, lo + n). *)
Fixpoint all_range (lo n : nat) (f : nat -> bool) : bool :=
  match n with
  | 0 => true
  | S k => f lo && all_range (S lo) k f
  end.

(** The first [Some] of [f] over [lo, lo + n), in increasing order. *)
Fixpoint first_range {A} (lo n : nat) (f : nat -> option A) : option A :=
  match n with
  | 0 => None
  | S k => match f lo with
           | Some a => Some a
           | None => first_range (S lo) k f
           end
  end.

Section Config.
Variable cfg : config.

Definition in_ram (p : nat) : bool := in_range p (ram_base cfg) (ram_pages cfg).
Definition in_engine (p : nat) : bool := in_range p (engine_base cfg) (engine_pages cfg).

Definition vcpu_off : vcpu := mkVCPU VOff PNone (fun _ => false).
Definition vm_free : vm := mkVM false 0 false (fun _ => vcpu_off) (fun _ => None).

(** Boot: the engine owns its region, the host every other RAM page and
    maps it; PFNs outside RAM belong to nobody and are never reclaimable
    (every call validates its range against RAM). *)
Definition init_owner (p : nat) : owner :=
  if in_ram p then (if in_engine p then OEngine else OHost) else ONone.

Definition init_meta : mstate :=
  mkMState (fun p => mkPage (init_owner p) NotShared)
           (fun p => match init_owner p with OHost => true | _ => false end)
           (fun _ => vm_free).

Definition init_state (mem : nat -> nat) : state :=
  mkState init_meta mem (fun _ _ _ => 0).

End Config.
