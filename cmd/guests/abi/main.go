//go:build tamago && arm64

// Command abi is the engine ABI conformance suite as a guest sees it: every
// guest call with valid and invalid arguments, host-only and unknown ids,
// and guest PSCI including CPU_ON of a second vCPU. Its VM needs vcpus=2
// and ram=66 or more (MiB): the RAM above the runtime's 62 MiB gives the
// tests pages the Go heap never touches.
//
// BrokenControl fails by design and runs only when selected (run=^Broken),
// to show that a failure reaches the host's report.
package main

import (
	"bulkhead/boot/virt"
	"bulkhead/guest"
	"bulkhead/isolation/abi"
)

func main() { guest.Main() }

func init() {
	guest.ControlTest("BrokenControl", func(t *guest.T) {
		t.Status(abi.Success, abi.Denied, "this control fails by design")
	})
}

// machine describes the VM; tests stop if the device tree is unreadable.
func machine(t *guest.T) guest.Machine {
	m, err := guest.ThisMachine()
	if err != nil {
		t.Fatalf("device tree: %v", err)
	}
	return m
}

// spare hands out pages above the runtime's RAM.
var spare *guest.Pages

// pages returns n fresh pages of guest RAM that nothing else uses.
func pages(t *guest.T, n uint64) uint64 {
	if spare == nil {
		spare = guest.NewPages(machine(t).FreeAbove(virt.GuestRAMBase + virt.GuestRuntimeRAM))
	}
	ipa, ok := spare.Take(n)
	if !ok {
		t.Fatalf("no %d spare pages left (%d): give the VM ram=66 or more", n, spare.Left())
	}
	return ipa
}
