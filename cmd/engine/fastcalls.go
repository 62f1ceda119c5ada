package main

import (
	"bulkhead/arch/el2"
	"bulkhead/isolation/abi"
)

// fastAnswers are the calls the engine's vector answers in place
// (arch/el2/fast.go): those whose answer the isolation core computes from
// constants alone, for the callers it gives them to. They are written
// from the abi constants the core uses, and fastcalls_test.go checks each
// against the core's own answer to the same caller, so the vector and
// the dispatcher cannot disagree. Every such call keeps the ABI's
// meaning; it only skips the engine's save of the caller's registers, its
// Go code and, for a guest, the VCPU_RUN loop (a guest making only these
// calls is preempted by the host's timer interrupt, like a guest spinning
// in a loop, not by the work budget, which counts EL2 work and these take
// a few dozen instructions).
func fastAnswers() []el2.FastAnswer {
	uid := abi.UIDWords()
	out := []el2.FastAnswer{fastAnswer(abi.GuestMemInfo, el2.FastGuest, abi.Success.Reg(), abi.Granule)}
	for _, kind := range []uint64{el2.FastHost, el2.FastGuest} {
		out = append(out,
			fastAnswer(abi.Version, kind, abi.Success.Reg(), abi.VersionMajor, abi.VersionMinor),
			fastAnswer(abi.CallUID, kind, uint64(uid[0]), uint64(uid[1]), uint64(uid[2]), uint64(uid[3])),
			fastAnswer(abi.Revision, kind, abi.RevisionMajor, abi.RevisionMinor),
			fastAnswer(abi.PSCIVersion, kind, abi.PSCIVersion11))
	}
	return out
}

// fastAnswer is the answer to id from callers of kind that writes x0, x1,
// ... with results and leaves the other registers as they were.
func fastAnswer(id uint32, kind uint64, results ...uint64) el2.FastAnswer {
	a := el2.FastAnswer{Key: el2.FastKey(id, kind), Write: 1<<len(results) - 1}
	copy(a.X[:], results)
	return a
}
