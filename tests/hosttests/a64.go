package hosttests

import (
	"bulkhead/boot/virt"
	"bulkhead/internal/a64"
	"bulkhead/isolation/abi"
)

// The tiny guests this image builds in memory are A64 words (internal/a64):
// a VM that runs a handful of instructions needs no toolchain.
var (
	hvc0       = a64.HVC(0)
	branchSelf = uint32(a64.BSelf)
	movz       = a64.MOVZ
	str        = a64.STR
	ldr        = a64.LDR
	isb        = uint32(a64.ISB)
	msrVBAR    = a64.MSRVBAREL1
	mrsESR     = a64.MRSESREL1
)

// mov32 loads a 32-bit value into Xd with MOVZ and MOVK.
func mov32(rd, v uint32) []uint32 { return []uint32{a64.MOVZ(rd, v&0xffff, 0), a64.MOVK(rd, v>>16, 1)} }

// Registers the tiny guests use.
const (
	x0, x1, x2, x3, x9 = 0, 1, 2, 3, 9
)

// forwardedCall is a function id the engine forwards to the host: the
// vendor-specific hypervisor range from function number 0x100
// (isolation.EngineOwnsID).
const forwardedCall = 0xC600_0100

// callArgs are the arguments the exercise guest passes in x1..x5 with
// forwardedCall: a CALL exit carries exactly those five (DESIGN.md
// section 3).
var callArgs = [5]uint32{7, 8, 9, 10, 11}

// readSecret is what the exercise guest's MMIO read's destination register
// holds before the read: every byte set, so that any of it in the read's
// exit shows.
const readSecret = 0x5ec2_e75e_c2e7_5ec2

// exerciseGuest is a VM's whole program. It asks the engine for
// GUEST_MEMINFO and writes the granule to the UART (an MMIO write exit),
// reads the UART into a register holding readSecret (an MMIO read exit,
// completed by the host's reply) and writes back what it read, makes a forwarded call with callArg and writes
// back its result, and powers its VM off with PSCI SYSTEM_OFF.
func exerciseGuest() []uint32 {
	var c []uint32
	c = append(c, mov32(x0, abi.GuestMemInfo)...)
	c = append(c, hvc0, movz(x9, virt.UARTBase>>16, 1), str(x1, x9))
	c = append(c, a64.MOV64(x2, readSecret)...)
	c = append(c, ldr(x2, x9), str(x2, x9))
	c = append(c, mov32(x0, forwardedCall)...)
	for i, a := range callArgs {
		c = append(c, movz(x1+uint32(i), a, 0))
	}
	c = append(c, hvc0, str(x0, x9))
	c = append(c, mov32(x0, abi.PSCISystemOff)...)
	return append(c, hvc0, branchSelf)
}

// memStateGuest asks GUEST_MEMSTATE about pages pages from ipa, hands the
// answer to the host in a forwarded call (x1 the state, x2 the run, x3 the
// status: a CALL exit carries x1..x5) and powers its VM off.
func memStateGuest(ipa uint64, pages uint32) []uint32 {
	c := mov32(x0, abi.GuestMemState)
	c = append(c, a64.MOV64(x1, ipa)...)
	c = append(c, movz(x2, pages, 0), hvc0, a64.ADDImm(x3, x0, 0))
	c = append(c, mov32(x0, forwardedCall)...)
	c = append(c, hvc0)
	c = append(c, mov32(x0, abi.PSCISystemOff)...)
	return append(c, hvc0, branchSelf)
}

// iccSGI1R is ICC_SGI1R_EL1 (GIC IHI 0069, 12.11.27), which a guest writes
// to request an SGI.
var iccSGI1R = a64.SysReg{Op0: 3, Op1: 0, CRn: 12, CRm: 11, Op2: 5}

// sgiGuest writes ICC_SGI1R_EL1 from a register with every bit set, the
// RES0 bits among them (an SGI exit), and powers its VM off.
func sgiGuest() []uint32 {
	c := a64.MOV64(x9, ^uint64(0))
	c = append(c, a64.MSR(iccSGI1R, x9))
	c = append(c, mov32(x0, abi.PSCISystemOff)...)
	return append(c, hvc0, branchSelf)
}

// offGuest only powers its VM off.
func offGuest() []uint32 {
	return append(mov32(x0, abi.PSCISystemOff), hvc0, branchSelf)
}

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

// hammerBlock is the layout of the block hammerCode works on: 8-byte
// words at these offsets: the VM, the page and the IPA to share it at
// (written by the host before CPU_ON), the rounds made and the shares and
// unshares that succeeded (written by the code after each round), the
// stop flag (written by the host) and the done flag (written by the code).
const (
	hammerVM, hammerPA, hammerIPA              = 0, 8, 16
	hammerRounds, hammerShared, hammerUnshared = 24, 32, 40
	hammerStop, hammerDone                     = 48, 56
)

// hammerCode is a host CPU's whole program, run with its MMU off and x0
// the address of a hammer block: until the stop flag is set, MEM_SHARE the
// page with the VM read-write and MEM_UNSHARE it, counting rounds and the
// calls that succeed in the block; then set the done flag and call PSCI
// CPU_OFF. With the MMU off its accesses to the block are Device-nGnRnE,
// so they reach memory in program order (Arm ARM B2.7.2).
func hammerCode() []uint32 {
	const blk, rounds, shared, unshared, tmp, flag, xzr = 19, 20, 21, 22, 9, 10, 31
	load := func(rt, off uint32) []uint32 { return []uint32{a64.ADDImm(tmp, blk, off), a64.LDR(rt, tmp)} }
	store := func(rt, off uint32) []uint32 { return []uint32{a64.ADDImm(tmp, blk, off), str(rt, tmp)} }
	countSuccess := func(counter uint32) []uint32 {
		return []uint32{a64.SUBSImm(xzr, x0, 0), a64.BNE(2), a64.ADDImm(counter, counter, 1)}
	}
	c := []uint32{a64.ADDImm(blk, x0, 0), movz(rounds, 0, 0), movz(shared, 0, 0), movz(unshared, 0, 0)}
	loop := len(c)
	c = append(c, mov32(x0, abi.MemShare)...)
	c = append(c, load(x1, hammerVM)...)
	c = append(c, load(x2, hammerPA)...)
	c = append(c, load(x3, hammerIPA)...)
	c = append(c, movz(4, 1, 0), movz(5, abi.PermR|abi.PermW, 0), hvc0)
	c = append(c, countSuccess(shared)...)
	c = append(c, mov32(x0, abi.MemUnshare)...)
	c = append(c, load(x1, hammerVM)...)
	c = append(c, load(x2, hammerIPA)...)
	c = append(c, movz(x3, 1, 0), hvc0)
	c = append(c, countSuccess(unshared)...)
	c = append(c, a64.ADDImm(rounds, rounds, 1))
	c = append(c, store(rounds, hammerRounds)...)
	c = append(c, store(shared, hammerShared)...)
	c = append(c, store(unshared, hammerUnshared)...)
	c = append(c, load(flag, hammerStop)...)
	c = append(c, a64.SUBSImm(xzr, flag, 0), a64.BNE(2))
	c = append(c, a64.B(int32(loop-len(c))))
	c = append(c, movz(flag, 1, 0))
	c = append(c, store(flag, hammerDone)...)
	c = append(c, mov32(x0, abi.PSCICPUOff)...)
	return append(c, hvc0, branchSelf)
}
