//go:build tamago && arm64

// Command storm is an adversarial guest that tries to hold the CPU at EL2:
// it shares and unshares all of its spare RAM, first in one call (as ABI
// v1.0 allowed), then in calls of the most pages one may cover, makes long
// storms of calls the engine answers without the host, and finally
// relinquishes its spare RAM the same two ways. Every call is raw (no SDK
// splitting), so the engine alone bounds the work. It then powers its VM
// off. Its VM needs ram=128 or more (MiB): the spare RAM is what lies above
// the runtime's 62 MiB.
//
// The engine's bounded-time QEMU test and `make bench` run it under an
// engine that measures its stays at EL2 (bulkhead_bench).
package main

import (
	"fmt"

	"bulkhead/boot/virt"
	"bulkhead/guest"
	"bulkhead/isolation/abi"
)

// rounds is how many times the share/unshare and trap storms are repeated.
const rounds = 2

// trapStorm is how many calls that touch no page each round makes.
const trapStorm = 4096

// unknownEngineID is in the engine's own function range but unassigned, so
// the engine answers NOT_SUPPORTED without the host.
const unknownEngineID = 0xC60000EE

func main() {
	m, err := guest.ThisMachine()
	if err != nil {
		fmt.Println("storm: FAILED: device tree:", err)
		guest.SystemOff()
	}
	free := m.FreeAbove(virt.GuestRAMBase + virt.GuestRuntimeRAM)
	ipa, pages := free.Base, free.Size/virt.PageSize
	fmt.Printf("storm: %d spare pages at %#x\n", pages, ipa)
	for r := 0; r < rounds; r++ {
		whole := [2]abi.Status{raw(abi.GuestShare, ipa, pages), raw(abi.GuestUnshare, ipa, pages)}
		chunks := inChunks(ipa, pages, abi.GuestShare, abi.GuestUnshare)
		storm()
		fmt.Printf("storm: round %d: whole range share %s, unshare %s; %d share/unshare pairs of %d pages: %s\n",
			r, whole[0], whole[1], (pages+abi.GuestMaxPages-1)/abi.GuestMaxPages, abi.GuestMaxPages, chunks)
	}
	whole := raw(abi.GuestRelinquish, ipa, pages)
	chunks := abi.Success
	if whole != abi.Success {
		chunks = inChunks(ipa, pages, abi.GuestRelinquish)
	}
	fmt.Printf("storm: relinquish whole range %s, in calls of %d pages %s\n", whole, abi.GuestMaxPages, chunks)
	fmt.Println("storm: done")
	guest.SystemOff()
}

// raw makes one call and returns its status.
func raw(id uint32, args ...uint64) abi.Status {
	x := [8]uint64{uint64(id)}
	copy(x[1:], args)
	return abi.StatusOf(guest.Call(x)[0])
}

// inChunks makes each call in ids over [ipa, ipa+pages*4K), in turn, one
// chunk of abi.GuestMaxPages pages at a time, and returns the first
// failure (else SUCCESS).
func inChunks(ipa, pages uint64, ids ...uint32) abi.Status {
	first := abi.Success
	for done := uint64(0); done < pages; done += abi.GuestMaxPages {
		n := min(pages-done, abi.GuestMaxPages)
		for _, id := range ids {
			if st := raw(id, ipa+done*virt.PageSize, n); st != abi.Success && first == abi.Success {
				first = st
			}
		}
	}
	return first
}

// storm makes trapStorm calls of each kind the engine answers itself.
func storm() {
	for i := 0; i < trapStorm; i++ {
		raw(abi.GuestMemInfo)
		raw(unknownEngineID)
		raw(abi.PSCIVersion)
		raw(abi.PSCIAffinityInfo64, 0, 0)
	}
}
