//go:build tamago && arm64

package hosttests

import (
	"testing"

	"bulkhead/arch/el1"
	"bulkhead/boot/virt"
	"bulkhead/guest"
	"bulkhead/guest/check"
	"bulkhead/isolation"
	"bulkhead/isolation/abi"
)

// badVMIDs are vmids no VM can have.
var badVMIDs = []uint64{0, isolation.MaxVMsLimit + 1, 1 << 32, ^uint64(0)}

// testVMCreateLimits fills every VM slot, checks the next create fails with
// NO_MEMORY, that a freed slot is reused (lowest free id), and the vCPU
// count bounds.
func testVMCreateLimits(t *testing.T) {
	for _, n := range []uint64{0, isolation.MaxVCPUsLimit + 1, 1<<32 + 1, ^uint64(0)} {
		_, st := guest.VMCreate(n)
		check.Status(t, abi.InvalidParameters, st, "VM_CREATE(%d)", n)
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
			check.Status(t, abi.NoMemory, st, "VM_CREATE with %d VMs live", len(ids))
			break
		}
		check.Equal(t, uint64(len(ids)+1), id, "ids are handed out lowest first")
		ids = append(ids, id)
	}
	require(t, check.True(t, len(ids) >= 2 && len(ids) <= isolation.MaxVMsLimit, "%d VM slots", len(ids)))
	t.Logf("%d VM slots", len(ids))
	check.Status(t, abi.Success, guest.VMDestroy(ids[1]), "destroy VM %d", ids[1])
	id, st := guest.VMCreate(1)
	check.Status(t, abi.Success, st, "create into the freed slot")
	check.Equal(t, ids[1], id, "the freed id is reused")
}

func testVMDestroyBad(t *testing.T) {
	for _, id := range badVMIDs {
		check.Status(t, abi.InvalidParameters, guest.VMDestroy(id), "VM_DESTROY(%#x)", id)
	}
	v := newVM(t, 1)
	check.Status(t, abi.Success, guest.VMDestroy(v.id), "destroy")
	check.Status(t, abi.InvalidParameters, guest.VMDestroy(v.id), "destroy again")
}

func testVCPUInit(t *testing.T) {
	v := newVM(t, 2)
	for _, id := range badVMIDs {
		check.Status(t, abi.InvalidParameters, guest.VCPUInit(id, 0, guestIPA, 0), "vmid %#x", id)
	}
	for _, c := range []uint64{2, 1 << 16, ^uint64(0)} {
		check.Status(t, abi.InvalidParameters, guest.VCPUInit(v.id, c, guestIPA, 0), "vcpu %#x of 2", c)
	}
	for _, entry := range []uint64{guestIPA + 1, guestIPA + 2} {
		check.Status(t, abi.InvalidParameters, guest.VCPUInit(v.id, 0, entry, 0), "entry %#x", entry)
	}
	check.Status(t, abi.Success, guest.VCPUInit(v.id, 0, guestIPA, 0), "init")
	check.Status(t, abi.Success, guest.VCPUInit(v.id, 0, guestIPA+4, 1), "init again before the first run")
	check.Status(t, abi.Success, guest.VCPUInit(v.id, 1, guestIPA, 0), "init vCPU 1")
}

// testVCPUInitAfterRun: once any vCPU has run, the host can no longer
// choose where any vCPU of the VM starts (DESIGN.md section 3).
func testVCPUInitAfterRun(t *testing.T) {
	v := newVM(t, 2)
	v.load(t, exerciseGuest())
	e := v.run(t, 0)
	check.Equal(t, abi.ExitMMIO, e.Reason, "first exit")
	check.Status(t, abi.Denied, guest.VCPUInit(v.id, 0, guestIPA, 0), "re-init the vCPU that ran")
	check.Status(t, abi.Denied, guest.VCPUInit(v.id, 1, guestIPA, 0), "init another vCPU")
}

func testVCPURunChecks(t *testing.T) {
	v := newVM(t, 2)
	for _, id := range badVMIDs {
		_, st := guest.VCPURun(id, 0, 0)
		check.Status(t, abi.InvalidParameters, st, "vmid %#x", id)
	}
	_, st := guest.VCPURun(v.id, 2, 0)
	check.Status(t, abi.InvalidParameters, st, "vcpu 2 of 2")
	_, st = guest.VCPURun(v.id, 0, 0)
	check.Status(t, abi.Denied, st, "a vCPU never initialised is off")
}

// testVCPURunExits runs the exercise guest and checks each exit and that
// each reply reaches the guest: the MMIO read's data and the forwarded
// call's result come back in the guest's next MMIO write. The read's
// destination register holds readSecret before it: its exit carries no
// value, as an MMIO read releases no register (CodeExitRegs).
func testVCPURunExits(t *testing.T) {
	v := newVM(t, 1)
	v.load(t, exerciseGuest())
	uart := uint64(virt.UARTBase)
	write8 := abi.MMIOAccess(true, 3)
	const readData, callResult = 0x1234_5678_9abc_def0, 0x42

	e := v.run(t, 0)
	check.Equal(t, guest.Exit{Reason: abi.ExitMMIO, Detail: [6]uint64{uart, write8, abi.Granule}}, e, "GUEST_MEMINFO's granule written")
	e = v.run(t, 0)
	check.Equal(t, guest.Exit{Reason: abi.ExitMMIO, Detail: [6]uint64{uart, abi.MMIOAccess(false, 3)}}, e,
		"read: nothing of the register it reads into")
	e = v.run(t, readData)
	check.Equal(t, guest.Exit{Reason: abi.ExitMMIO, Detail: [6]uint64{uart, write8, readData}}, e, "the read's data written back")
	e = v.run(t, 0)
	want := guest.Exit{Reason: abi.ExitCall, Detail: [6]uint64{forwardedCall}}
	for i, a := range callArgs {
		want.Detail[1+i] = uint64(a)
	}
	check.Equal(t, want, e, "forwarded call")
	e = v.run(t, callResult)
	check.Equal(t, guest.Exit{Reason: abi.ExitMMIO, Detail: [6]uint64{uart, write8, callResult}}, e, "the call's result written back")
	e = v.run(t, 0)
	check.Equal(t, guest.Exit{Reason: abi.ExitShutdown}, e, "SYSTEM_OFF")
	_, st := guest.VCPURun(v.id, 0, 0)
	check.Status(t, abi.Denied, st, "VCPU_RUN after SYSTEM_OFF")
}

// testVCPURunSGIFieldsOnly: a guest's write of ICC_SGI1R_EL1 from a
// register with every bit set exits with the request's fields and none of
// the register's RES0 bits (specs/ABI.md, the SGI exit; CodeExitRegs).
func testVCPURunSGIFieldsOnly(t *testing.T) {
	v := newVM(t, 1)
	v.load(t, sgiGuest())
	const sgiFields = 0x00ff_f1ff_0fff_ffff
	check.Equal(t, guest.Exit{Reason: abi.ExitSGI, Detail: [6]uint64{sgiFields}}, v.run(t, 0), "the SGI request's fields alone")
	check.Equal(t, guest.Exit{Reason: abi.ExitShutdown}, v.run(t, 0), "SYSTEM_OFF")
}

func testVCPURunDestroyed(t *testing.T) {
	v := newVM(t, 1)
	v.load(t, exerciseGuest())
	check.Equal(t, abi.ExitMMIO, v.run(t, 0).Reason, "first exit")
	require(t, check.Status(t, abi.Success, guest.VMDestroy(v.id), "destroy"))
	_, st := guest.VCPURun(v.id, 0, 0)
	check.Status(t, abi.InvalidParameters, st, "VCPU_RUN of a destroyed VM's vCPU")
}

func testVCPUIRQ(t *testing.T) {
	v := newVM(t, 1)
	for _, id := range badVMIDs {
		check.Status(t, abi.InvalidParameters, guest.VCPUIRQ(id, 0, 27, 1), "vmid %#x", id)
	}
	check.Status(t, abi.InvalidParameters, guest.VCPUIRQ(v.id, 1, 27, 1), "vcpu 1 of 1")
	check.Status(t, abi.InvalidParameters, guest.VCPUIRQ(v.id, 0, 1020, 1), "INTID 1020")
	check.Status(t, abi.InvalidParameters, guest.VCPUIRQ(v.id, 0, ^uint64(0), 1), "INTID ~0")
	check.Status(t, abi.InvalidParameters, guest.VCPUIRQ(v.id, 0, 27, 2), "level 2")
	for _, intid := range []uint64{0, 15, 16, 27, 31, 32, 1019} {
		check.Status(t, abi.Success, guest.VCPUIRQ(v.id, 0, intid, 1), "assert INTID %d", intid)
		check.Status(t, abi.Success, guest.VCPUIRQ(v.id, 0, intid, 0), "deassert INTID %d", intid)
	}
}

// testHostKeepsItsMPIDR: after vCPU 1 of a VM ran on it (a vCPU reads
// Aff0 = its index in MPIDR_EL1), the host reads its own CPU's MPIDR_EL1
// again: a host that drives several CPUs tells them apart by it.
func testHostKeepsItsMPIDR(t *testing.T) {
	before := el1.ThisCPU()
	v := newVM(t, 2)
	pa := pages(t, 1)
	writeCode(pa, offGuest())
	v.donate(t, pa, guestIPA, 1)
	require(t, check.Status(t, abi.Success, guest.VCPUInit(v.id, 1, guestIPA, 0), "VCPU_INIT of vCPU 1"))
	for i := 0; i < maxIRQExits; i++ {
		e, st := guest.VCPURun(v.id, 1, 0)
		require(t, check.Status(t, abi.Success, st, "VCPU_RUN of vCPU 1"))
		if e.Reason != abi.ExitIRQ {
			break
		}
	}
	check.Equal(t, before, el1.ThisCPU(), "the host's MPIDR_EL1 after vCPU 1 ran")
}
