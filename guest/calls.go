package guest

import "bulkhead/isolation/abi"

// call issues id with args in x1.. and returns x0..x7.
func call(id uint32, args ...uint64) [8]uint64 {
	var x [8]uint64
	x[0] = uint64(id)
	copy(x[1:], args)
	return Call(x)
}

// status issues id and returns only its status.
func status(id uint32, args ...uint64) abi.Status {
	return abi.StatusOf(call(id, args...)[0])
}

// Version returns the engine ABI version (VERSION; any caller).
func Version() (major, minor uint64, st abi.Status) {
	x := call(abi.Version)
	return x[1], x[2], abi.StatusOf(x[0])
}

// CallUID returns the engine's UUID as CALL_UID packs it in w0..w3
// (SMCCC 1.2, section 5.2.1; any caller).
func CallUID() [4]uint32 {
	x := call(abi.CallUID)
	return [4]uint32{uint32(x[0]), uint32(x[1]), uint32(x[2]), uint32(x[3])}
}

// Revision returns the engine's implementation revision (REVISION; any
// caller).
func Revision() (major, minor uint64) {
	x := call(abi.Revision)
	return x[0], x[1]
}

// Share lets the host read and write the guest's pages [ipa, ipa+pages*4K)
// (GUEST_SHARE; guests only). One call covers at most abi.GuestMaxPages
// pages (ABI v1.1); Share makes as many as the range needs, and if one
// fails it unshares what the earlier ones shared, so that the range ends
// shared whole or not at all (unless another vCPU of the VM changes the
// same pages meanwhile), and returns the failing call's status.
func Share(ipa, pages uint64) abi.Status {
	return inChunks(abi.GuestShare, abi.GuestUnshare, ipa, pages)
}

// Unshare revokes a Share (GUEST_UNSHARE; guests only), in calls of at
// most abi.GuestMaxPages pages; if one fails it shares again what the
// earlier ones unshared.
func Unshare(ipa, pages uint64) abi.Status {
	return inChunks(abi.GuestUnshare, abi.GuestShare, ipa, pages)
}

// Relinquish gives the guest's pages up for good: the engine unmaps and
// zeroes them, and the host may reclaim them (GUEST_RELINQUISH; guests
// only). It is one call, all or nothing, so it covers at most
// abi.GuestMaxPages pages (ABI v1.1: INVALID_PARAMETERS beyond);
// RelinquishRange gives up longer ranges.
func Relinquish(ipa, pages uint64) abi.Status { return status(abi.GuestRelinquish, ipa, pages) }

// RelinquishRange gives up [ipa, ipa+pages*4K) in calls of at most
// abi.GuestMaxPages pages, in address order, and returns the first status
// that is not SUCCESS with how many pages the earlier calls gave up: no
// call can undo a relinquish, so unlike Share and Unshare a failure half
// way leaves those pages relinquished. A range the engine takes in one call
// (at most abi.GuestMaxPages pages, or one it refuses whole: unaligned,
// empty, or wrapping) is passed through as one call.
func RelinquishRange(ipa, pages uint64) (abi.Status, uint64) {
	if !splittable(ipa, pages) {
		return Relinquish(ipa, pages), 0
	}
	for done := uint64(0); done < pages; {
		n := min(pages-done, abi.GuestMaxPages)
		if st := Relinquish(ipa+done*abi.Granule, n); st != abi.Success {
			return st, done
		}
		done += n
	}
	return abi.Success, pages
}

// splittable reports whether a range is longer than one call may cover and
// well formed (aligned, not wrapping the address space), so that it can be
// split into calls the engine checks one by one; any other range goes to
// the engine whole, which then answers as for one call.
func splittable(ipa, pages uint64) bool {
	return pages > abi.GuestMaxPages && ipa%abi.Granule == 0 && pages <= (^ipa)/abi.Granule
}

// inChunks makes call id over [ipa, ipa+pages*4K) in calls of at most
// abi.GuestMaxPages pages, in address order, and returns the first status
// that is not SUCCESS, after making undo over what the earlier calls
// covered. A range that is not splittable goes out as one call, so its
// status is exactly the engine's.
func inChunks(id, undo uint32, ipa, pages uint64) abi.Status {
	if !splittable(ipa, pages) {
		return status(id, ipa, pages)
	}
	for done := uint64(0); done < pages; {
		n := min(pages-done, abi.GuestMaxPages)
		if st := status(id, ipa+done*abi.Granule, n); st != abi.Success {
			if undo != 0 && done > 0 {
				inChunks(undo, 0, ipa, done)
			}
			return st
		}
		done += n
	}
	return abi.Success
}

// MemGranule returns the translation granule in bytes (GUEST_MEMINFO;
// guests only).
func MemGranule() (bytes uint64, st abi.Status) {
	x := call(abi.GuestMemInfo)
	return x[1], abi.StatusOf(x[0])
}
