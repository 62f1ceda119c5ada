//go:build tamago && arm64

package hosttests

import (
	"testing"

	"encoding/binary"

	"bulkhead/arch/arm64"
	"bulkhead/arch/el1"
	"bulkhead/boot/virt"
	"bulkhead/guest"
	"bulkhead/guest/check"
	"bulkhead/isolation/abi"
)

// targetIPA is where the permission tests map the page the probe guest
// touches, away from its code page.
const targetIPA = guestIPA + 16*virt.PageSize

// ESR_EL1 of the abort the engine reflects into a guest for a stage-2
// fault: a data abort from the same EL (EC 0x25) with DFSC 0x10,
// synchronous external abort (Arm ARM D23.2.47).
const (
	esrECShift       = 26
	ecDataAbortSame  = 0x25
	dfscMask         = 0x3f
	dfscExternalSync = 0x10
)

// permCase maps the target page one way and makes the probe guest touch
// it one way.
type permCase struct {
	name  string
	write bool
	setup func(t *testing.T, v *testVM, pa uint64) // maps pa at targetIPA, or not
	fault bool
}

var permCases = []permCase{
	{"read of a read-only share", false, share(abi.PermR), false},
	{"write to a read-only share", true, share(abi.PermR), true},
	{"write to a read-write share", true, share(abi.PermR | abi.PermW), false},
	{"write to a donated page without W", true, donate(abi.PermR | abi.PermX), true},
	{"read of a donated page", false, donate(abi.PermR), false},
	{"read after unshare", false, shareThenUnshare, true},
	{"read of an unmapped IPA", false, func(*testing.T, *testVM, uint64) {}, true},
}

func share(perms uint64) func(*testing.T, *testVM, uint64) {
	return func(t *testing.T, v *testVM, pa uint64) {
		require(t, check.Status(t, abi.Success, guest.MemShare(v.id, pa, targetIPA, 1, perms), "MEM_SHARE perms %#x", perms))
	}
}

func donate(perms uint64) func(*testing.T, *testVM, uint64) {
	return func(t *testing.T, v *testVM, pa uint64) {
		require(t, check.Status(t, abi.Success, guest.MemDonate(v.id, pa, targetIPA, 1, perms), "MEM_DONATE perms %#x", perms))
		v.donated = append(v.donated, [2]uint64{pa, 1})
	}
}

func shareThenUnshare(t *testing.T, v *testVM, pa uint64) {
	share(abi.PermR|abi.PermW)(t, v, pa)
	require(t, check.Status(t, abi.Success, guest.MemUnshare(v.id, targetIPA, 1), "MEM_UNSHARE"))
}

// testPermissions runs the probe guest against each way of mapping its
// target: stage-2 must enforce the permissions the host gave (Arm ARM
// D8.4.3, S2AP and XN), and a refused access reaches the guest as an
// abort it can handle, not as an exit.
func testPermissions(t *testing.T) {
	for _, c := range permCases {
		probe(t, c)
	}
}

func probe(t *testing.T, c permCase) {
	v := newVM(t, 1)
	v.load(t, probeGuest(guestIPA, targetIPA, c.write))
	pa := pages(t, 1)
	clear(el1.PhysBytes(pa, virt.PageSize))
	arm64.CleanInvalidateDataRange(pa, virt.PageSize)
	c.setup(t, v, pa)
	e := v.run(t, 0)
	if !check.Equal(t, abi.ExitMMIO, e.Reason, "%s: exit", c.name) {
		return
	}
	got := e.Detail[2]
	if c.fault {
		check.True(t, got>>esrECShift&0x3f == ecDataAbortSame && got&dfscMask == dfscExternalSync,
			"%s: the guest reported %#x, not an external abort's ESR", c.name, got)
	} else {
		check.Equal(t, uint64(probeNoFault), got, "%s: the access faulted", c.name)
	}
	check.Equal(t, abi.ExitShutdown, v.run(t, 0).Reason, "%s: then SYSTEM_OFF", c.name)
	if c.write && !c.fault && !v.donatedHas(pa) {
		arm64.CleanInvalidateDataRange(pa, 8)
		check.Equal(t, uint64(targetIPA), binary.LittleEndian.Uint64(el1.PhysBytes(pa, 8)), "%s: the host sees the guest's write", c.name)
	}
}

// donatedHas reports whether pa was donated to v (the host cannot read it).
func (v *testVM) donatedHas(pa uint64) bool {
	for _, d := range v.donated {
		if pa >= d[0] && pa < d[0]+d[1]*virt.PageSize {
			return true
		}
	}
	return false
}
