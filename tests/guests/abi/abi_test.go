//go:build tamago && arm64 && bulkhead_guest

package abi

import (
	"flag"
	"testing"

	"bulkhead/boot/virt"
	"bulkhead/guest"
	"bulkhead/guest/check"
	"bulkhead/isolation/abi"
)

// broken enables TestBrokenControl, which fails by design, to show that a
// failure inside the VM reaches the host's report.
var broken = flag.Bool("broken", false, "run TestBrokenControl, which fails by design")

func TestBrokenControl(t *testing.T) {
	if !*broken {
		t.Skip("fails by design; run with -broken")
	}
	check.Status(t, abi.Success, abi.Denied, "this control fails by design")
}

// require ends the test if ok is false: require(t, check.Status(...))
// makes an assertion fatal.
func require(t *testing.T, ok bool) {
	t.Helper()
	if !ok {
		t.FailNow()
	}
}

// machine describes the VM; tests stop if the device tree is unreadable.
func machine(t *testing.T) guest.Machine {
	m, err := guest.ThisMachine()
	if err != nil {
		t.Fatalf("device tree: %v", err)
	}
	return m
}

// spare hands out pages above the runtime's RAM.
var spare *guest.Pages

// pages returns n fresh pages of guest RAM that nothing else uses.
func pages(t *testing.T, n uint64) uint64 {
	if spare == nil {
		spare = guest.NewPages(machine(t).FreeAbove(virt.GuestRAMBase + virt.GuestRuntimeRAM))
	}
	ipa, ok := spare.Take(n)
	if !ok {
		t.Fatalf("no %d spare pages left (%d): give the VM -ram 66 or more", n, spare.Left())
	}
	return ipa
}
