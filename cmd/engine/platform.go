//go:build tamago && arm64

package main

import (
	"bulkhead/arch/arm64"
	"bulkhead/arch/el2"
	"bulkhead/boot/virt"
	"bulkhead/isolation"
)

// machine carries the isolation core's decisions to the hardware: it is the
// core's isolation.Platform on the target.
type machine struct{}

// vttbrOf is the VTTBR value whose VMID field selects vmid for TLB
// maintenance; TLBI by IPA and by VMID act on the VMID in VTTBR_EL2 (Arm
// ARM D8.14.5), and the base address is not used by them.
func vttbrOf(vmid isolation.VMID) uint64 { return isolation.VTTBR(0, vmid) }

func (machine) InvalidateIPA(vmid isolation.VMID, ipa isolation.IPA) {
	el2.InvalidateIPA(vttbrOf(vmid), uint64(ipa))
}

func (machine) InvalidateVMID(vmid isolation.VMID) {
	el2.InvalidateVMID(vttbrOf(vmid))
}

func (machine) ZeroPages(pa isolation.PA, n uint64) {
	clear(el2.PhysBytes(uint64(pa), n*virt.PageSize))
}

func (machine) CleanToPoC(pa isolation.PA, n uint64) {
	arm64.CleanInvalidateDataRange(uint64(pa), n*virt.PageSize)
	arm64.InvalidateInstructionCache()
}

func (machine) PageIsZero(pa isolation.PA) bool {
	for _, b := range el2.PhysBytes(uint64(pa), virt.PageSize) {
		if b != 0 {
			return false
		}
	}
	return true
}

// EnterGuest is not wired to a world switch yet: no VM runs on the target
// until the guest world switch lands, so the vCPU reports an SError-class
// exit, which the core turns into an ABORT exit for the host.
func (machine) EnterGuest(vttbr uint64, ctx *isolation.Context) isolation.Trap {
	return isolation.Trap{Kind: isolation.TrapSError}
}
