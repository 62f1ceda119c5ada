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
(** A boot file the host may read (FILE_INFO and FILE_READ, an extension
    carried out by the core: [isolation/files.go]): its size in bytes, its
    name as FILE_INFO returns it (six words), and the contents of each page
    it covers, as the model keeps a page's contents (one number). The files
    are the board's, fixed for a run, and no principal's secret. *)
Record bootfile := mkFile {
  f_size : nat;
  f_name : list nat;
  f_pages : list nat
}.

Record config := mkConfig {
  granule : nat;       (** bytes per page: 4096 *)
  ram_base : nat;      (** PFN of the first RAM page *)
  ram_pages : nat;
  engine_base : nat;   (** PFN of the first engine page *)
  engine_pages : nat;
  ipa_pages : nat;     (** size of the IPA space, in pages (2^40 / granule) *)
  max_vms : nat;       (** VM slots are 1 .. max_vms *)
  max_vcpus : nat;     (** vCPUs per VM: 1 .. max_vcpus *)
  uid : list nat;      (** CALL_UID words w0..w3 *)
  mmio_windows : list (nat * nat); (** the guests' emulated device windows:
                                       (base IPA, size), in bytes *)
  files : list bootfile             (** the boot files, numbered from 0 *)
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

(** An MMIO shadow register (the MMIO_SHADOW extension): the IPA of a
    register of an emulated device, its mode (1 read, 2 log) and the value
    reads return. *)
Record mark := mkMark {
  mk_ipa : nat;
  mk_mode : nat;
  mk_value : nat
}.

(** A VM slot. [vm_s2] is the VM's stage-2 map, indexed by PFN: a PFN maps
    at most at one IPA page of a VM, with permissions (R=1, W=2, X=4).
    [vm_marks] and [vm_log] are the MMIO shadow extension's: the marked
    registers (at most one covers an access: they are 4-byte aligned and
    distinct, so their order does not matter) and the byte log the host
    drains with MMIO_LOG_READ, oldest byte first. *)
Record vm := mkVM {
  vm_live : bool;
  vm_vcpus : nat;
  vm_hasrun : bool;
  vm_protected : bool;      (** VM_CREATE's protected flag: only donated memory *)
  vm_vcpu : nat -> vcpu;
  vm_s2 : nat -> option (nat * nat);
  vm_marks : list mark;
  vm_log : list nat
}.

(** The ledger. *)
Record mstate := mkMState {
  ms_pages : nat -> page;
  ms_hs2 : nat -> bool;     (** host stage-2: identity map of these RAM PFNs *)
  ms_vms : nat -> vm
}.

(** ** The registers of a vCPU, by name

    Every piece of per-vCPU CPU state the engine switches, by its Arm name
    (Arm ARM DDI 0487, chapter D19; GIC IHI 0069, 12.4): the general
    registers, the guest's PC and PSTATE as EL2 holds them (ELR_EL2,
    SPSR_EL2), the EL1 system registers of the world switch, FP/SIMD, the
    virtual timer and the GIC virtual CPU interface. This inductive is the
    one list of them in the model: one constructor a line, [R_] and the Arm
    name, so that a test can compare it with the engine's inventory
    ([arch/el2]). *)
Inductive vreg :=
| R_X0
| R_X1
| R_X2
| R_X3
| R_X4
| R_X5
| R_X6
| R_X7
| R_X8
| R_X9
| R_X10
| R_X11
| R_X12
| R_X13
| R_X14
| R_X15
| R_X16
| R_X17
| R_X18
| R_X19
| R_X20
| R_X21
| R_X22
| R_X23
| R_X24
| R_X25
| R_X26
| R_X27
| R_X28
| R_X29
| R_X30
| R_ELR_EL2
| R_SPSR_EL2
| R_SP_EL0
| R_SP_EL1
| R_ELR_EL1
| R_SPSR_EL1
| R_SCTLR_EL1
| R_TTBR0_EL1
| R_TTBR1_EL1
| R_TCR_EL1
| R_MAIR_EL1
| R_AMAIR_EL1
| R_VBAR_EL1
| R_CONTEXTIDR_EL1
| R_TPIDR_EL0
| R_TPIDRRO_EL0
| R_TPIDR_EL1
| R_CPACR_EL1
| R_ESR_EL1
| R_FAR_EL1
| R_AFSR0_EL1
| R_AFSR1_EL1
| R_PAR_EL1
| R_CNTKCTL_EL1
| R_CSSELR_EL1
| R_CNTV_CTL_EL0
| R_CNTV_CVAL_EL0
| R_FPCR
| R_FPSR
| R_V0
| R_V1
| R_V2
| R_V3
| R_V4
| R_V5
| R_V6
| R_V7
| R_V8
| R_V9
| R_V10
| R_V11
| R_V12
| R_V13
| R_V14
| R_V15
| R_V16
| R_V17
| R_V18
| R_V19
| R_V20
| R_V21
| R_V22
| R_V23
| R_V24
| R_V25
| R_V26
| R_V27
| R_V28
| R_V29
| R_V30
| R_V31
| R_ICH_AP0R0_EL2
| R_ICH_AP1R0_EL2
| R_ICH_VMCR_EL2
| R_ICH_HCR_EL2
| R_ICH_LR0_EL2
| R_ICH_LR1_EL2
| R_ICH_LR2_EL2
| R_ICH_LR3_EL2.

(** Where each register lives in a register file ([st_regs]): x0..x30 at
    0..30, the PC at [pc_reg] (32), the others from 33 on. Distinct names
    get distinct numbers ([Lemmas.vreg_index_inj]). *)
Definition vreg_index (r : vreg) : nat :=
  match r with
  | R_X0 => 0
  | R_X1 => 1
  | R_X2 => 2
  | R_X3 => 3
  | R_X4 => 4
  | R_X5 => 5
  | R_X6 => 6
  | R_X7 => 7
  | R_X8 => 8
  | R_X9 => 9
  | R_X10 => 10
  | R_X11 => 11
  | R_X12 => 12
  | R_X13 => 13
  | R_X14 => 14
  | R_X15 => 15
  | R_X16 => 16
  | R_X17 => 17
  | R_X18 => 18
  | R_X19 => 19
  | R_X20 => 20
  | R_X21 => 21
  | R_X22 => 22
  | R_X23 => 23
  | R_X24 => 24
  | R_X25 => 25
  | R_X26 => 26
  | R_X27 => 27
  | R_X28 => 28
  | R_X29 => 29
  | R_X30 => 30
  | R_ELR_EL2 => 32
  | R_SPSR_EL2 => 33
  | R_SP_EL0 => 34
  | R_SP_EL1 => 35
  | R_ELR_EL1 => 36
  | R_SPSR_EL1 => 37
  | R_SCTLR_EL1 => 38
  | R_TTBR0_EL1 => 39
  | R_TTBR1_EL1 => 40
  | R_TCR_EL1 => 41
  | R_MAIR_EL1 => 42
  | R_AMAIR_EL1 => 43
  | R_VBAR_EL1 => 44
  | R_CONTEXTIDR_EL1 => 45
  | R_TPIDR_EL0 => 46
  | R_TPIDRRO_EL0 => 47
  | R_TPIDR_EL1 => 48
  | R_CPACR_EL1 => 49
  | R_ESR_EL1 => 50
  | R_FAR_EL1 => 51
  | R_AFSR0_EL1 => 52
  | R_AFSR1_EL1 => 53
  | R_PAR_EL1 => 54
  | R_CNTKCTL_EL1 => 55
  | R_CSSELR_EL1 => 57
  | R_CNTV_CTL_EL0 => 58
  | R_CNTV_CVAL_EL0 => 59
  | R_FPCR => 60
  | R_FPSR => 61
  | R_V0 => 62
  | R_V1 => 63
  | R_V2 => 64
  | R_V3 => 65
  | R_V4 => 66
  | R_V5 => 67
  | R_V6 => 68
  | R_V7 => 69
  | R_V8 => 70
  | R_V9 => 71
  | R_V10 => 72
  | R_V11 => 73
  | R_V12 => 74
  | R_V13 => 75
  | R_V14 => 76
  | R_V15 => 77
  | R_V16 => 78
  | R_V17 => 79
  | R_V18 => 80
  | R_V19 => 81
  | R_V20 => 82
  | R_V21 => 83
  | R_V22 => 84
  | R_V23 => 85
  | R_V24 => 86
  | R_V25 => 87
  | R_V26 => 88
  | R_V27 => 89
  | R_V28 => 90
  | R_V29 => 91
  | R_V30 => 92
  | R_V31 => 93
  | R_ICH_AP0R0_EL2 => 94
  | R_ICH_AP1R0_EL2 => 95
  | R_ICH_VMCR_EL2 => 96
  | R_ICH_HCR_EL2 => 97
  | R_ICH_LR0_EL2 => 98
  | R_ICH_LR1_EL2 => 99
  | R_ICH_LR2_EL2 => 100
  | R_ICH_LR3_EL2 => 101
  end.

(** Every register name, in the order of [vreg]. *)
Definition vregs : list vreg := [
  R_X0; R_X1; R_X2; R_X3; R_X4; R_X5; R_X6; R_X7; R_X8; R_X9; R_X10; R_X11; R_X12; R_X13;
  R_X14; R_X15; R_X16; R_X17; R_X18; R_X19; R_X20; R_X21; R_X22; R_X23; R_X24; R_X25; R_X26;
  R_X27; R_X28; R_X29; R_X30; R_ELR_EL2; R_SPSR_EL2; R_SP_EL0; R_SP_EL1; R_ELR_EL1;
  R_SPSR_EL1; R_SCTLR_EL1; R_TTBR0_EL1; R_TTBR1_EL1; R_TCR_EL1; R_MAIR_EL1; R_AMAIR_EL1;
  R_VBAR_EL1; R_CONTEXTIDR_EL1; R_TPIDR_EL0; R_TPIDRRO_EL0; R_TPIDR_EL1; R_CPACR_EL1;
  R_ESR_EL1; R_FAR_EL1; R_AFSR0_EL1; R_AFSR1_EL1; R_PAR_EL1; R_CNTKCTL_EL1;
  R_CSSELR_EL1; R_CNTV_CTL_EL0; R_CNTV_CVAL_EL0; R_FPCR; R_FPSR; R_V0; R_V1; R_V2; R_V3;
  R_V4; R_V5; R_V6; R_V7; R_V8; R_V9; R_V10; R_V11; R_V12; R_V13; R_V14; R_V15; R_V16;
  R_V17; R_V18; R_V19; R_V20; R_V21; R_V22; R_V23; R_V24; R_V25; R_V26; R_V27; R_V28; R_V29;
  R_V30; R_V31; R_ICH_AP0R0_EL2; R_ICH_AP1R0_EL2; R_ICH_VMCR_EL2; R_ICH_HCR_EL2;
  R_ICH_LR0_EL2; R_ICH_LR1_EL2; R_ICH_LR2_EL2; R_ICH_LR3_EL2
].

(** The whole state: ledger, page contents, register files by VM, vCPU and
    register number (a [vreg_index]). *)
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
Definition vm_free : vm := mkVM false 0 false false (fun _ => vcpu_off) (fun _ => None) [] [].

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
