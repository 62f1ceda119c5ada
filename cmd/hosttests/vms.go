//go:build tamago && arm64

package main

import (
	"bulkhead/boot/virt"
	"bulkhead/guest"
	"bulkhead/isolation"
	"bulkhead/isolation/abi"
)

// badVMIDs are vmids no VM can have.
var badVMIDs = []uint64{0, isolation.MaxVMsLimit + 1, 1 << 32, ^uint64(0)}

// testVMCreateLimits fills every VM slot, checks the next create fails with
// NO_MEMORY, that a freed slot is reused (lowest free id), and the vCPU
// count bounds.
func testVMCreateLimits(t *guest.T) {
	for _, n := range []uint64{0, isolation.MaxVCPUsLimit + 1, 1<<32 + 1, ^uint64(0)} {
		_, st := guest.VMCreate(n)
		t.Status(abi.InvalidParameters, st, "VM_CREATE(%d)", n)
	}
	var ids []uint64
	t.Cleanup(func() {
		for _, id := range ids {
			guest.VMDestroy(id)
		}
	})
	for len(ids) <= isolation.MaxVMsLimit {
		id, st := guest.VMCreate(1)
		if st != abi.Success {
			t.Status(abi.NoMemory, st, "VM_CREATE with %d VMs live", len(ids))
			break
		}
		t.Equal(uint64(len(ids)+1), id, "ids are handed out lowest first")
		ids = append(ids, id)
	}
	t.Require(t.True(len(ids) >= 2 && len(ids) <= isolation.MaxVMsLimit, "%d VM slots", len(ids)))
	t.Logf("%d VM slots", len(ids))
	t.Status(abi.Success, guest.VMDestroy(ids[1]), "destroy VM %d", ids[1])
	id, st := guest.VMCreate(1)
	t.Status(abi.Success, st, "create into the freed slot")
	t.Equal(ids[1], id, "the freed id is reused")
}

func testVMDestroyBad(t *guest.T) {
	for _, id := range badVMIDs {
		t.Status(abi.InvalidParameters, guest.VMDestroy(id), "VM_DESTROY(%#x)", id)
	}
	v := newVM(t, 1)
	t.Status(abi.Success, guest.VMDestroy(v.id), "destroy")
	t.Status(abi.InvalidParameters, guest.VMDestroy(v.id), "destroy again")
}

func testVCPUInit(t *guest.T) {
	v := newVM(t, 2)
	for _, id := range badVMIDs {
		t.Status(abi.InvalidParameters, guest.VCPUInit(id, 0, guestIPA, 0), "vmid %#x", id)
	}
	for _, c := range []uint64{2, 1 << 16, ^uint64(0)} {
		t.Status(abi.InvalidParameters, guest.VCPUInit(v.id, c, guestIPA, 0), "vcpu %#x of 2", c)
	}
	for _, entry := range []uint64{guestIPA + 1, guestIPA + 2} {
		t.Status(abi.InvalidParameters, guest.VCPUInit(v.id, 0, entry, 0), "entry %#x", entry)
	}
	t.Status(abi.Success, guest.VCPUInit(v.id, 0, guestIPA, 0), "init")
	t.Status(abi.Success, guest.VCPUInit(v.id, 0, guestIPA+4, 1), "init again before the first run")
	t.Status(abi.Success, guest.VCPUInit(v.id, 1, guestIPA, 0), "init vCPU 1")
}

// testVCPUInitAfterRun: once any vCPU has run, the host can no longer
// choose where any vCPU of the VM starts (DESIGN.md section 3).
func testVCPUInitAfterRun(t *guest.T) {
	v := newVM(t, 2)
	v.load(t, exerciseGuest())
	e := v.run(t, 0)
	t.Equal(abi.ExitMMIO, e.Reason, "first exit")
	t.Status(abi.Denied, guest.VCPUInit(v.id, 0, guestIPA, 0), "re-init the vCPU that ran")
	t.Status(abi.Denied, guest.VCPUInit(v.id, 1, guestIPA, 0), "init another vCPU")
}

func testVCPURunChecks(t *guest.T) {
	v := newVM(t, 2)
	for _, id := range badVMIDs {
		_, st := guest.VCPURun(id, 0, 0)
		t.Status(abi.InvalidParameters, st, "vmid %#x", id)
	}
	_, st := guest.VCPURun(v.id, 2, 0)
	t.Status(abi.InvalidParameters, st, "vcpu 2 of 2")
	_, st = guest.VCPURun(v.id, 0, 0)
	t.Status(abi.Denied, st, "a vCPU never initialised is off")
}

// testVCPURunExits runs the exercise guest and checks each exit and that
// each reply reaches the guest: the MMIO read's data and the forwarded
// call's result come back in the guest's next MMIO write.
func testVCPURunExits(t *guest.T) {
	v := newVM(t, 1)
	v.load(t, exerciseGuest())
	uart := uint64(virt.UARTBase)
	write8 := abi.MMIOAccess(true, 3)
	const readData, callResult = 0x1234_5678_9abc_def0, 0x42

	e := v.run(t, 0)
	t.Equal(guest.Exit{Reason: abi.ExitMMIO, Detail: [6]uint64{uart, write8, abi.Granule}}, e, "GUEST_MEMINFO's granule written")
	e = v.run(t, 0)
	t.Equal(guest.Exit{Reason: abi.ExitMMIO, Detail: [6]uint64{uart, abi.MMIOAccess(false, 3)}}, e, "read")
	e = v.run(t, readData)
	t.Equal(guest.Exit{Reason: abi.ExitMMIO, Detail: [6]uint64{uart, write8, readData}}, e, "the read's data written back")
	e = v.run(t, 0)
	want := guest.Exit{Reason: abi.ExitCall, Detail: [6]uint64{forwardedCall}}
	for i, a := range callArgs {
		want.Detail[1+i] = uint64(a)
	}
	t.Equal(want, e, "forwarded call")
	e = v.run(t, callResult)
	t.Equal(guest.Exit{Reason: abi.ExitMMIO, Detail: [6]uint64{uart, write8, callResult}}, e, "the call's result written back")
	e = v.run(t, 0)
	t.Equal(guest.Exit{Reason: abi.ExitShutdown}, e, "SYSTEM_OFF")
	_, st := guest.VCPURun(v.id, 0, 0)
	t.Status(abi.Denied, st, "VCPU_RUN after SYSTEM_OFF")
}

func testVCPURunDestroyed(t *guest.T) {
	v := newVM(t, 1)
	v.load(t, exerciseGuest())
	t.Equal(abi.ExitMMIO, v.run(t, 0).Reason, "first exit")
	t.Require(t.Status(abi.Success, guest.VMDestroy(v.id), "destroy"))
	_, st := guest.VCPURun(v.id, 0, 0)
	t.Status(abi.InvalidParameters, st, "VCPU_RUN of a destroyed VM's vCPU")
}

func testVCPUIRQ(t *guest.T) {
	v := newVM(t, 1)
	for _, id := range badVMIDs {
		t.Status(abi.InvalidParameters, guest.VCPUIRQ(id, 0, 27, 1), "vmid %#x", id)
	}
	t.Status(abi.InvalidParameters, guest.VCPUIRQ(v.id, 1, 27, 1), "vcpu 1 of 1")
	t.Status(abi.InvalidParameters, guest.VCPUIRQ(v.id, 0, 1020, 1), "INTID 1020")
	t.Status(abi.InvalidParameters, guest.VCPUIRQ(v.id, 0, ^uint64(0), 1), "INTID ~0")
	t.Status(abi.InvalidParameters, guest.VCPUIRQ(v.id, 0, 27, 2), "level 2")
	for _, intid := range []uint64{0, 15, 16, 27, 31, 32, 1019} {
		t.Status(abi.Success, guest.VCPUIRQ(v.id, 0, intid, 1), "assert INTID %d", intid)
		t.Status(abi.Success, guest.VCPUIRQ(v.id, 0, intid, 0), "deassert INTID %d", intid)
	}
}
