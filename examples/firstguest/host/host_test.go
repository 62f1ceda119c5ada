//go:build tamago && arm64 && !bulkhead_guest

// Package host is a host-side test written as ordinary Go tests: the test
// binary runs in place of the hypervisor, at EL1 under the engine, and
// calls the engine's host ABI (bulkhead test -host).
package host

import (
	"testing"

	"bulkhead/boot/virt"
	"bulkhead/guest"
	"bulkhead/isolation/abi"
)

func TestVersion(t *testing.T) {
	major, _, st := guest.Version()
	if st != abi.Success || major != 1 {
		t.Fatalf("VERSION: major %d, status %v", major, st)
	}
}

// TestVMLifecycle creates a VM, gives it a page of the pool (which the
// host owns) and takes the page back once the VM is gone.
func TestVMLifecycle(t *testing.T) {
	vm, st := guest.VMCreate(1)
	if st != abi.Success {
		t.Fatalf("VM_CREATE: %v", st)
	}
	pa := virt.Pool.End() - virt.PageSize
	if st := guest.MemDonate(vm, pa, virt.GuestRAMBase, 1, 7); st != abi.Success {
		t.Fatalf("MEM_DONATE: %v", st)
	}
	if info, _ := guest.MemInfo(pa); info.Owner != abi.OwnerVM {
		t.Errorf("MEM_INFO after donate: owner %v, want the VM", info.Owner)
	}
	if st := guest.MemReclaim(pa, 1); st != abi.Busy {
		t.Errorf("MEM_RECLAIM of a live VM's page: %v, want BUSY", st)
	}
	if st := guest.VMDestroy(vm); st != abi.Success {
		t.Fatalf("VM_DESTROY: %v", st)
	}
	if st := guest.MemReclaim(pa, 1); st != abi.Success {
		t.Errorf("MEM_RECLAIM after destroy: %v", st)
	}
}
