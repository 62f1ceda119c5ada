package main

import (
	"bulkhead/boot/virt"
	"bulkhead/isolation/abi"
)

// A64 encodings (Arm ARM C6.2) for the tiny guests this image builds in
// memory: a VM that runs a handful of instructions needs no toolchain.
const (
	hvc0       = 0xd4000002 // HVC #0 (C6.2.104)
	branchSelf = 0x14000000 // B . (C6.2.26)
)

// movz is MOVZ Xd, #imm16, LSL #(16*hw) (C6.2.191).
func movz(rd, imm16, hw uint32) uint32 { return 0xd2800000 | hw<<21 | imm16<<5 | rd }

// movk is MOVK Xd, #imm16, LSL #(16*hw) (C6.2.190).
func movk(rd, imm16, hw uint32) uint32 { return 0xf2800000 | hw<<21 | imm16<<5 | rd }

// str is STR Xt, [Xn] (C6.2.273, unsigned offset 0).
func str(rt, rn uint32) uint32 { return 0xf9000000 | rn<<5 | rt }

// ldr is LDR Xt, [Xn] (C6.2.131, unsigned offset 0).
func ldr(rt, rn uint32) uint32 { return 0xf9400000 | rn<<5 | rt }

// mov32 loads a 32-bit value into Xd with MOVZ and MOVK.
func mov32(rd, v uint32) []uint32 { return []uint32{movz(rd, v&0xffff, 0), movk(rd, v>>16, 1)} }

// Registers the tiny guests use.
const (
	x0, x1, x2, x9 = 0, 1, 2, 9
)

// forwardedCall is a function id the engine forwards to the host: the
// vendor-specific hypervisor range from function number 0x100
// (isolation.EngineOwnsID).
const forwardedCall = 0xC600_0100

// callArgs are the arguments the exercise guest passes in x1..x5 with
// forwardedCall: a CALL exit carries exactly those five (DESIGN.md
// section 3).
var callArgs = [5]uint32{7, 8, 9, 10, 11}

// exerciseGuest is a VM's whole program. It asks the engine for
// GUEST_MEMINFO and writes the granule to the UART (an MMIO write exit),
// reads the UART (an MMIO read exit, completed by the host's reply) and
// writes back what it read, makes a forwarded call with callArg and writes
// back its result, and powers its VM off with PSCI SYSTEM_OFF.
func exerciseGuest() []uint32 {
	var c []uint32
	c = append(c, mov32(x0, abi.GuestMemInfo)...)
	c = append(c, hvc0, movz(x9, virt.UARTBase>>16, 1), str(x1, x9))
	c = append(c, ldr(x2, x9), str(x2, x9))
	c = append(c, mov32(x0, forwardedCall)...)
	for i, a := range callArgs {
		c = append(c, movz(x1+uint32(i), a, 0))
	}
	c = append(c, hvc0, str(x0, x9))
	c = append(c, mov32(x0, abi.PSCISystemOff)...)
	return append(c, hvc0, branchSelf)
}

// offGuest only powers its VM off.
func offGuest() []uint32 {
	return append(mov32(x0, abi.PSCISystemOff), hvc0, branchSelf)
}

// More encodings for the probe guest.
const (
	isb = 0xd5033fdf // ISB (C6.2.113)
)

// msrVBAR is MSR VBAR_EL1, Xt (C6.2.194; VBAR_EL1 is op0 3, op1 0, CRn 12,
// CRm 0, op2 0, D19.2.158).
func msrVBAR(rt uint32) uint32 { return 0xd518c000 | rt }

// mrsESR is MRS Xt, ESR_EL1 (C6.2.193; ESR_EL1 is op0 3, op1 0, CRn 5,
// CRm 2, op2 0, D19.2.40).
func mrsESR(rt uint32) uint32 { return 0xd5385200 | rt }

// Layout of the probe guest's page: code at 0, the vector table at
// probeVectors (VBAR_EL1 needs 2 KiB alignment), and its entry for a
// synchronous exception from the current EL with SP_ELx at +0x200
// (Arm ARM D1.10.2, table D1-7).
const (
	probeVectors   = 0x800
	probeSyncEntry = probeVectors + 0x200
	// probeNoFault is what the probe guest writes to the UART when its
	// access did not fault.
	probeNoFault = 1
)

// probeGuest is a page of code for a VM that installs a vector table,
// reads (or writes) the word at target, and reports on the UART with an
// MMIO write: probeNoFault if the access went through, or ESR_EL1 of the
// exception it took; then it powers off. A write stores target itself,
// so the host can see it arrive in a page it shares.
func probeGuest(base, target uint64, write bool) []uint32 {
	const x3, x4, x5 = 3, 4, 5
	c := append(mov32(x3, uint32(base+probeVectors)), msrVBAR(x3), isb)
	c = append(c, mov32(x4, uint32(target))...)
	if write {
		c = append(c, str(x4, x4))
	} else {
		c = append(c, ldr(x5, x4))
	}
	c = append(c, movz(x1, probeNoFault, 0))
	c = append(c, report()...)
	page := make([]uint32, virt.PageSize/4)
	copy(page, c)
	copy(page[probeSyncEntry/4:], append([]uint32{mrsESR(x1)}, report()...))
	return page
}

// report writes x1 to the UART and powers the VM off.
func report() []uint32 {
	c := []uint32{movz(x9, virt.UARTBase>>16, 1), str(x1, x9)}
	c = append(c, mov32(x0, abi.PSCISystemOff)...)
	return append(c, hvc0, branchSelf)
}
