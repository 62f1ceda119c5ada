package main

import (
	"bulkhead/internal/a64"
	"bulkhead/isolation/abi"
)

// Adversarial guests for the bounded-time benchmark: each tries to hold
// the CPU at EL2 as long as one trap, or one VCPU_RUN, lets it. They run
// with stormPages pages of RAM at guestBase, the program in the first.

// stormPages is the RAM of each adversarial guest: 256 MiB, donated by the
// host in one MEM_DONATE (the host's largest call, measured too).
const stormPages = 65536

// chunkBytes is the span of one guest memory call of the most pages.
const chunkBytes = abi.GuestMaxPages * 4096

// addChunk emits x<rd> = x<rd> + chunkBytes (ADD immediate, LSL #12; Arm
// ARM C6.2.4), chunkBytes being a multiple of 4 KiB below 16 MiB.
func addChunk(p *a64.Program, rd a64.Reg) {
	p.Emit(0x91400000 | (chunkBytes>>12)<<10 | uint32(rd)<<5 | uint32(rd))
}

// memCall emits { x0 = id; x1 = x<ipa>; x2 = pages; hvc #0 }.
func memCall(p *a64.Program, id uint32, ipa a64.Reg, pages uint64) {
	p.Emit(a64.MOV64(0, uint64(id))...)
	p.Emit(a64.ADDImm(1, ipa, 0))
	p.Emit(a64.MOV64(2, pages)...)
	p.Emit(a64.HVC(0))
}

// shareStormGuest shares and unshares all of its RAM forever: in one call
// (as ABI v1.0 allowed), then in calls of abi.GuestMaxPages pages over the
// whole range.
func shareStormGuest() []byte {
	var p a64.Program
	p.Emit(a64.MOV64(20, guestBase)...)
	p.Label("round")
	memCall(&p, abi.GuestShare, 20, stormPages)
	memCall(&p, abi.GuestUnshare, 20, stormPages)
	p.Emit(a64.MOV64(19, guestBase)...)
	p.Emit(a64.MOV64(21, stormPages/abi.GuestMaxPages)...)
	p.Label("chunk")
	memCall(&p, abi.GuestShare, 19, abi.GuestMaxPages)
	memCall(&p, abi.GuestUnshare, 19, abi.GuestMaxPages)
	addChunk(&p, 19)
	p.Emit(a64.SUBSImm(21, 21, 1))
	p.Emit(a64.BNE(p.Offset("chunk"))) // Offset is from where the branch goes
	p.Emit(a64.B(p.Offset("round")))
	return p.Bytes()
}

// relinquishStormGuest gives up all of its RAM but the program's chunk: in
// one call, then in calls of abi.GuestMaxPages pages, and then keeps
// asking (refused: the pages are gone) forever.
func relinquishStormGuest() []byte {
	var p a64.Program
	p.Emit(a64.MOV64(19, guestBase+chunkBytes)...)
	memCall(&p, abi.GuestRelinquish, 19, stormPages-abi.GuestMaxPages)
	p.Label("round")
	p.Emit(a64.MOV64(19, guestBase+chunkBytes)...)
	p.Emit(a64.MOV64(21, stormPages/abi.GuestMaxPages-1)...)
	p.Label("chunk")
	memCall(&p, abi.GuestRelinquish, 19, abi.GuestMaxPages)
	addChunk(&p, 19)
	p.Emit(a64.SUBSImm(21, 21, 1))
	p.Emit(a64.BNE(p.Offset("chunk"))) // Offset is from where the branch goes
	p.Emit(a64.B(p.Offset("round")))
	return p.Bytes()
}

// trapStormGuest makes calls the engine answers without the host, forever:
// GUEST_MEMINFO, an unassigned engine id, PSCI AFFINITY_INFO.
func trapStormGuest() []byte {
	var p a64.Program
	p.Label("loop")
	for _, id := range []uint32{abi.GuestMemInfo, 0xC60000EE, abi.PSCIAffinityInfo64} {
		p.Emit(a64.MOV64(0, uint64(id))...)
		p.Emit(a64.MOV64(1, 0)...)
		p.Emit(a64.MOV64(2, 0)...)
		p.Emit(a64.HVC(0))
	}
	p.Emit(a64.B(p.Offset("loop")))
	return p.Bytes()
}
