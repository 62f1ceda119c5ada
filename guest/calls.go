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
// (GUEST_SHARE; guests only).
func Share(ipa, pages uint64) abi.Status { return status(abi.GuestShare, ipa, pages) }

// Unshare revokes a Share (GUEST_UNSHARE; guests only).
func Unshare(ipa, pages uint64) abi.Status { return status(abi.GuestUnshare, ipa, pages) }

// Relinquish gives the guest's pages up for good: the engine unmaps and
// zeroes them, and the host may reclaim them (GUEST_RELINQUISH; guests only).
func Relinquish(ipa, pages uint64) abi.Status { return status(abi.GuestRelinquish, ipa, pages) }

// MemGranule returns the translation granule in bytes (GUEST_MEMINFO;
// guests only).
func MemGranule() (bytes uint64, st abi.Status) {
	x := call(abi.GuestMemInfo)
	return x[1], abi.StatusOf(x[0])
}
