package guest

import "bulkhead/isolation/abi"

// The host's calls: only the EL1 image the engine booted may make them; a
// guest gets NOT_SUPPORTED.

// VMCreate creates a VM with vcpus vCPUs, all off (VM_CREATE).
func VMCreate(vcpus uint64) (vmid uint64, st abi.Status) {
	x := call(abi.VMCreate, vcpus)
	return x[1], abi.StatusOf(x[0])
}

// VMCreateWith creates a VM with vcpus vCPUs and VM_CREATE's flags in x2
// (ABI v1.1): abi.VMProtected for a protected VM, which takes only donated
// memory.
func VMCreateWith(vcpus, flags uint64) (vmid uint64, st abi.Status) {
	x := call(abi.VMCreate, vcpus, flags)
	return x[1], abi.StatusOf(x[0])
}

// VMDestroy stops a VM; its pages await MemReclaim (VM_DESTROY).
func VMDestroy(vmid uint64) abi.Status { return status(abi.VMDestroy, vmid) }

// VCPUInit sets where a vCPU starts and its x0, before the VM first runs
// (VCPU_INIT).
func VCPUInit(vmid, vcpu, entry, x0 uint64) abi.Status {
	return status(abi.VCPUInit, vmid, vcpu, entry, x0)
}

// Exit is an exit record of VCPU_RUN: the reason (x1) and its details
// (x2..x7).
type Exit struct {
	Reason abi.Exit
	Detail [6]uint64
}

// VCPURun runs a vCPU until it exits; reply completes the previous exit (an
// MMIO read's data, a forwarded call's result) (VCPU_RUN).
func VCPURun(vmid, vcpu, reply uint64) (Exit, abi.Status) {
	x := call(abi.VCPURun, vmid, vcpu, reply)
	e := Exit{Reason: abi.Exit(x[1])}
	copy(e.Detail[:], x[2:])
	return e, abi.StatusOf(x[0])
}

// VCPURunAlone is VCPURun for a vCPU that has its CPU to itself: its WFI
// waits in the guest, woken by its own timer or by one of the host's
// interrupts, instead of exiting (VCPU_RUN_ALONE, specs/ABI.md). The
// caller's tick must be armed: only an interrupt ends such a wait.
func VCPURunAlone(vmid, vcpu, reply uint64) (Exit, abi.Status) {
	x := call(abi.VCPURunAlone, vmid, vcpu, reply)
	e := Exit{Reason: abi.Exit(x[1])}
	copy(e.Detail[:], x[2:])
	return e, abi.StatusOf(x[0])
}

// VCPUIRQ sets the level of a virtual interrupt line of a vCPU (VCPU_IRQ).
func VCPUIRQ(vmid, vcpu, intid, level uint64) abi.Status {
	return status(abi.VCPUIRQ, vmid, vcpu, intid, level)
}

// MemDonate gives host pages to a VM at ipa; the host loses access
// (MEM_DONATE).
func MemDonate(vmid, pa, ipa, pages, perms uint64) abi.Status {
	return status(abi.MemDonate, vmid, pa, ipa, pages, perms)
}

// MemShare maps host pages into a VM at ipa; the host keeps them
// (MEM_SHARE).
func MemShare(vmid, pa, ipa, pages, perms uint64) abi.Status {
	return status(abi.MemShare, vmid, pa, ipa, pages, perms)
}

// MemUnshare revokes a MemShare (MEM_UNSHARE).
func MemUnshare(vmid, ipa, pages uint64) abi.Status {
	return status(abi.MemUnshare, vmid, ipa, pages)
}

// MemReclaim takes back pages of a destroyed VM, or relinquished ones,
// zeroed (MEM_RECLAIM).
func MemReclaim(pa, pages uint64) abi.Status { return status(abi.MemReclaim, pa, pages) }

// PageInfo is the ledger's metadata about one page (MEM_INFO): never its
// contents.
type PageInfo struct {
	Owner    uint64 // abi.OwnerNone, OwnerEngine, OwnerHost or OwnerVM
	VM       uint64 // the owning VM, for abi.OwnerVM
	Shared   bool
	Borrower uint64 // abi.HostID, or the VM the host shared the page with
}

// MemInfo reports who owns the page holding pa (MEM_INFO).
func MemInfo(pa uint64) (PageInfo, abi.Status) {
	x := call(abi.MemInfo, pa)
	return PageInfo{Owner: x[1], VM: x[2], Shared: x[3] != 0, Borrower: x[4]}, abi.StatusOf(x[0])
}

// FileInfo returns the size and name of boot file index (FILE_INFO, an
// extension; host only).
func FileInfo(index uint64) (size uint64, name string, st abi.Status) {
	x := call(abi.FileInfo, index)
	var b []byte
	for _, w := range x[2:] {
		for i := 0; i < 8; i++ {
			b = append(b, byte(w>>(8*i)))
		}
	}
	for len(b) > 0 && b[len(b)-1] == 0 {
		b = b[:len(b)-1]
	}
	return x[1], string(b), abi.StatusOf(x[0])
}

// FileRead copies boot file index into the host pages [pa, pa+pages*4K)
// (FILE_READ, an extension; host only).
func FileRead(index, pa, pages uint64) (copied uint64, st abi.Status) {
	x := call(abi.FileRead, index, pa, pages)
	return x[1], abi.StatusOf(x[0])
}
