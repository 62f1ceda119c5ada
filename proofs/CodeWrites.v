(** * Which calls write memory

    Theorems about proofs/code/Isolation.v. The isolation core reads and
    writes memory a guest or the host can see only through the platform:
    [ZeroPages], [CopyFile] and [EnterGuest] (CodeTrace's
    [writes_memory]). Proved here with CodeTrace's [grow]: VM_CREATE,
    VM_DESTROY, VCPU_INIT, VCPU_IRQ, MMIO_SHADOW, MMIO_LOG_READ, MEM_INFO,
    MEM_DONATE, MEM_SHARE, MEM_UNSHARE, GUEST_SHARE and GUEST_UNSHARE make
    none of those calls ([quiet]); MEM_RECLAIM of [n] pages at [pa] makes
    only [ZeroPages [pa; n]] ([MemReclaim_writes]). MEM_RECLAIM,
    GUEST_RELINQUISH and FILE_READ are not quiet, and the file checks
    that [grow] does not prove them so. *)
From Coq Require Import ZArith Lia List Bool String.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
From Bulkhead.Proofs Require Import CodeTrace.
Import ListNotations.
Open Scope Z_scope.

(** VM_DESTROY frees the VM's tables, level by level. *)
Lemma freeTables_quiet : forall d S e t lvl, quiet (@Isolation.Engine_freeTables S d e t lvl).
Proof. induction d; intros; cbn [Isolation.Engine_freeTables]; grow. Qed.
#[local] Hint Resolve freeTables_quiet : grows.

Theorem VMCreate_quiet : forall {S} (e : ptr S Isolation.Engine) n flags, quiet (Isolation.Engine_VMCreate e n flags).
Proof. intros. grow. Qed.
Theorem VMDestroy_quiet : forall {S} (e : ptr S Isolation.Engine) id, quiet (Isolation.Engine_VMDestroy e id).
Proof. intros. grow. Qed.
Theorem VCPUInit_quiet : forall {S} (e : ptr S Isolation.Engine) id v entry arg,
  quiet (Isolation.Engine_VCPUInit e id v entry arg).
Proof. intros. grow. Qed.
Theorem VCPUIRQ_quiet : forall {S} (e : ptr S Isolation.Engine) id v intid level,
  quiet (Isolation.Engine_VCPUIRQ e id v intid level).
Proof. intros. grow. Qed.
Theorem MMIOShadow_quiet : forall {S} (e : ptr S Isolation.Engine) id ipa mode value,
  quiet (Isolation.Engine_MMIOShadow e id ipa mode value).
Proof. intros. grow. Qed.
Theorem MMIOLogRead_quiet : forall {S} (e : ptr S Isolation.Engine) id, quiet (Isolation.Engine_MMIOLogRead e id).
Proof. intros. grow. Qed.
Theorem MemInfo_quiet : forall {S} (e : ptr S Isolation.Engine) pa, quiet (Isolation.Engine_MemInfo e pa).
Proof. intros. grow. Qed.
Theorem MemDonate_quiet : forall {S} (e : ptr S Isolation.Engine) id pa ipa n perms,
  quiet (Isolation.Engine_MemDonate e id pa ipa n perms).
Proof. intros. grow. Qed.
Theorem MemShare_quiet : forall {S} (e : ptr S Isolation.Engine) id pa ipa n perms,
  quiet (Isolation.Engine_MemShare e id pa ipa n perms).
Proof. intros. grow. Qed.
Theorem MemUnshare_quiet : forall {S} (e : ptr S Isolation.Engine) id ipa n, quiet (Isolation.Engine_MemUnshare e id ipa n).
Proof. intros. grow. Qed.
Theorem GuestShare_quiet : forall {S} (e : ptr S Isolation.Engine) id ipa n, quiet (Isolation.Engine_GuestShare e id ipa n).
Proof. intros. grow. Qed.
Theorem GuestUnshare_quiet : forall {S} (e : ptr S Isolation.Engine) id ipa n,
  quiet (Isolation.Engine_GuestUnshare e id ipa n).
Proof. intros. grow. Qed.
Theorem MemReclaim_writes : forall {S} (e : ptr S Isolation.Engine) pa n,
  grows_by (fun ev => quiet_event ev \/ ev = mkEvent "ZeroPages" [pa; n]) (Isolation.Engine_MemReclaim e pa n).
Proof. intros. grow. Qed.

(** [grow] proves no more than holds: the calls that write memory are not
    [quiet], and it does not prove them so. *)
Goal forall S (e : ptr S Isolation.Engine) pa n, quiet (Isolation.Engine_MemReclaim e pa n).
Proof. intros. Fail solve [grow]. Abort.
Goal forall S (e : ptr S Isolation.Engine) id ipa n, quiet (Isolation.Engine_GuestRelinquish e id ipa n).
Proof. intros. Fail solve [grow]. Abort.
Goal forall S (e : ptr S Isolation.Engine) index pa pages, quiet (Isolation.Engine_FileRead e index pa pages).
Proof. intros. Fail solve [grow]. Abort.
