//go:build tamago && arm64 && bulkhead_guest

// Package firstguest is a test guest written as ordinary Go tests: each
// Test function runs inside a VM under bulkhead's engine, through
// `go test -exec "bulkhead exec"` (see the README's tutorial).
package firstguest

import (
	"flag"
	"testing"

	"bulkhead/arch/el1"
	"bulkhead/boot/virt"
	"bulkhead/guest"
	"bulkhead/isolation/abi"
)

// Flags to see what a failure looks like: go test ... -args -fail (or -hang).
var (
	failOnPurpose = flag.Bool("fail", false, "make TestDeliberateFailure fail, to see a failure's report")
	hang          = flag.Bool("hang", false, "make TestHang wait forever, to see a timeout's report")
)

// spare hands out pages of guest RAM that the Go runtime does not use:
// those above its 62 MiB (bulkhead exec gives the VM 128 MiB).
var spare *guest.Pages

func page(t *testing.T) uint64 {
	t.Helper()
	if spare == nil {
		m, err := guest.ThisMachine()
		if err != nil {
			t.Fatalf("device tree: %v", err)
		}
		spare = guest.NewPages(m.FreeAbove(virt.GuestRAMBase + virt.GuestRuntimeRAM))
	}
	ipa, ok := spare.Take(1)
	if !ok {
		t.Fatal("no spare page left")
	}
	return ipa
}

func TestMemoryInfo(t *testing.T) {
	granule, st := guest.MemGranule()
	if st != abi.Success || granule != virt.PageSize {
		t.Fatalf("GUEST_MEMINFO: granule %d, status %v; want %d, SUCCESS", granule, st, virt.PageSize)
	}
}

func TestShareWithTheHostAndTakeBack(t *testing.T) {
	p := page(t)
	if st := guest.Share(p, 1); st != abi.Success {
		t.Fatalf("share: %v", st)
	}
	if st := guest.Share(p, 1); st != abi.Denied {
		t.Errorf("sharing a shared page again: %v, want DENIED", st)
	}
	if st := guest.Unshare(p, 1); st != abi.Success {
		t.Errorf("unshare: %v", st)
	}
}

// TestGivenUpPageIsGone gives a page back (GUEST_RELINQUISH): the engine
// unmaps and scrubs it, so touching it afterwards is refused with an abort.
func TestGivenUpPageIsGone(t *testing.T) {
	p := page(t)
	if _, ok := el1.ProbeWrite(p, 0x5ec2e7); !ok {
		t.Fatal("the page is not writable before it is given up")
	}
	if st := guest.Relinquish(p, 1); st != abi.Success {
		t.Fatalf("relinquish: %v", st)
	}
	if v, _, ok := el1.ProbeRead(p); ok {
		t.Errorf("read a relinquished page: got %#x, want an abort", v)
	}
}

// TestHostCallsAreRefused: a guest cannot call what only the host may.
func TestHostCallsAreRefused(t *testing.T) {
	if st := guest.MemDonate(1, 0x4000_0000, 0x4000_0000, 1, 7); st != abi.NotSupported {
		t.Errorf("MEM_DONATE from a guest: %v, want NOT_SUPPORTED", st)
	}
	if _, st := guest.VMCreate(1); st != abi.NotSupported {
		t.Errorf("VM_CREATE from a guest: %v, want NOT_SUPPORTED", st)
	}
}

func TestDeliberateFailure(t *testing.T) {
	if *failOnPurpose {
		t.Errorf("failing on purpose: the guest saw %d vCPU(s)", vcpus(t))
	}
}

func vcpus(t *testing.T) int {
	m, err := guest.ThisMachine()
	if err != nil {
		t.Fatalf("device tree: %v", err)
	}
	return m.CPUs
}

func TestHang(t *testing.T) {
	if !*hang {
		t.Skip("waits forever only with -hang")
	}
	select {}
}
