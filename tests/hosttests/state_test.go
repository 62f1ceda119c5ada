//go:build tamago && arm64

package hosttests

import (
	"testing"

	"fmt"

	"bulkhead/boot/virt"
	"bulkhead/guest/check"
	"bulkhead/internal/a64"
	"bulkhead/isolation/abi"
)

// stateItem is a register the state guest writes and reads.
type stateItem struct {
	name  string
	reg   a64.SysReg
	v     int  // V register number, or -1 for a system register
	high  bool // the upper 64 bits of the V register
	value uint64
}

func sys(name string, op0, op1, crn, crm, op2 uint32, value uint64) stateItem {
	return stateItem{name: name, reg: a64.SysReg{Op0: op0, Op1: op1, CRn: crn, CRm: crm, Op2: op2}, v: -1, value: value}
}

// stateItems are the switched registers an EL1 guest can reach, each with
// the value VM A writes (0: read only, derived from switched state).
// SCTLR_EL1 and CPACR_EL1 are left out: the guest needs its own values in
// them to run this code.
func stateItems() []stateItem {
	items := []stateItem{
		sys("TTBR0_EL1", 3, 0, 2, 0, 0, 0x0001_0000_1234_5000),
		sys("TTBR1_EL1", 3, 0, 2, 0, 1, 0x0002_0000_2345_6000),
		sys("TCR_EL1", 3, 0, 2, 0, 2, 0x0000_0005_8080_3510),
		sys("MAIR_EL1", 3, 0, 10, 2, 0, 0x44ff_0400_bb00_44ff),
		sys("AMAIR_EL1", 3, 0, 10, 3, 0, 0x5ec0_0001),
		sys("VBAR_EL1", 3, 0, 12, 0, 0, 0x4012_3800),
		sys("CONTEXTIDR_EL1", 3, 0, 13, 0, 1, 0x5ec1),
		sys("TPIDR_EL0", 3, 3, 13, 0, 2, 0x5ec2_5ec2_5ec2_5ec2),
		sys("TPIDRRO_EL0", 3, 3, 13, 0, 3, 0x5ec3_5ec3_5ec3_5ec3),
		sys("TPIDR_EL1", 3, 0, 13, 0, 4, 0x5ec4_5ec4_5ec4_5ec4),
		sys("ESR_EL1", 3, 0, 5, 2, 0, 0x9600_0045),
		sys("FAR_EL1", 3, 0, 6, 0, 0, 0x5ec5_0000_1234),
		sys("AFSR0_EL1", 3, 0, 5, 1, 0, 0x5ec6),
		sys("AFSR1_EL1", 3, 0, 5, 1, 1, 0x5ec7),
		sys("PAR_EL1", 3, 0, 7, 4, 0, 0x0000_0000_5ec8_0000),
		sys("CNTKCTL_EL1", 3, 0, 14, 1, 0, 0x3),
		sys("CSSELR_EL1", 3, 2, 0, 0, 0, 0x2),
		sys("SP_EL0", 3, 0, 4, 1, 0, 0x5ec9_0000),
		sys("ELR_EL1", 3, 0, 4, 0, 1, 0x5eca_0000),
		sys("SPSR_EL1", 3, 0, 4, 0, 0, 0x6000_03c5),
		sys("CNTV_CVAL_EL0", 3, 3, 14, 3, 2, 0x7fff_ffff_ffff_0000),
		sys("CNTV_CTL_EL0", 3, 3, 14, 3, 1, 0x3), // enabled, masked
		sys("FPCR", 3, 3, 4, 4, 0, 0x03c0_0000),
		sys("FPSR", 3, 3, 4, 4, 1, 0x0800_009f),
		sys("ICC_AP0R0_EL1", 3, 0, 12, 8, 4, 0x1), // ICH_AP0R0_EL2
		sys("ICC_AP1R0_EL1", 3, 0, 12, 9, 0, 0x2), // ICH_AP1R0_EL2
		sys("ICC_PMR_EL1", 3, 0, 4, 6, 0, 0xf0),   // ICH_VMCR_EL2
		sys("ICC_IGRPEN1_EL1", 3, 0, 12, 12, 7, 0x1),
		sys("ICC_BPR1_EL1", 3, 0, 12, 12, 3, 0x4),
		sys("ICC_RPR_EL1", 3, 0, 12, 11, 3, 0), // derived from the APRs
	}
	for n := 0; n < 32; n++ {
		items = append(items,
			stateItem{name: fmt.Sprintf("V%d[63:0]", n), v: n, value: 0x5ec0_0000_0000_0000 | uint64(n)},
			stateItem{name: fmt.Sprintf("V%d[127:64]", n), v: n, high: true, value: 0x5ec1_0000_0000_0000 | uint64(n)})
	}
	return items
}

// cpacrEL1 and its FPEN field (Arm ARM D19.2.30): FP/SIMD at EL1 and EL0.
var cpacrEL1 = a64.SysReg{Op0: 3, Op1: 0, CRn: 1, CRm: 0, Op2: 2}

const cpacrFPEN = 3 << 20

// stateMarker is what the state guest writes between its two reports.
const stateMarker = 0x5ec0_ffff_ffff_ffff

// stateGuest enables FP/SIMD, writes every item's value (when write),
// reports every item with an MMIO write, then the marker, then every item
// again, and powers off.
func stateGuest(items []stateItem, write bool) []uint32 {
	c := append(a64.MOV64(x1, cpacrFPEN), a64.MSR(cpacrEL1, x1), isb)
	c = append(c, a64.MOV64(x9, virt.UARTBase)...)
	for _, it := range items {
		if write && it.value != 0 {
			c = append(c, a64.MOV64(x1, it.value)...)
			c = append(c, writeItem(it))
		}
	}
	c = append(c, isb)
	report := func() {
		for _, it := range items {
			c = append(c, readItem(it), str(x1, x9))
		}
	}
	report()
	c = append(c, a64.MOV64(x1, stateMarker)...)
	c = append(c, str(x1, x9))
	report()
	c = append(c, mov32(x0, abi.PSCISystemOff)...)
	return append(c, hvc0, branchSelf)
}

func writeItem(it stateItem) uint32 {
	switch {
	case it.v < 0:
		return a64.MSR(it.reg, x1)
	case it.high:
		return a64.FMOVToHigh(uint32(it.v), x1)
	}
	return a64.FMOVToD(uint32(it.v), x1) // before the high half: it zeroes it
}

func readItem(it stateItem) uint32 {
	switch {
	case it.v < 0:
		return a64.MRS(x1, it.reg)
	case it.high:
		return a64.FMOVFromHigh(x1, uint32(it.v))
	}
	return a64.FMOVFromD(x1, uint32(it.v))
}

// collect runs v until it has reported n values with 8-byte MMIO writes.
func collect(t *testing.T, v *testVM, n int) []uint64 {
	out := make([]uint64, 0, n)
	for len(out) < n {
		e := v.run(t, 0)
		if e.Reason != abi.ExitMMIO || e.Detail[1] != abi.MMIOAccess(true, 3) {
			t.Fatalf("VM %d: exit %v after %d of %d values", v.id, e, len(out), n)
		}
		out = append(out, e.Detail[2])
	}
	return out
}

// expectMarker runs v to its marker write.
func expectMarker(t *testing.T, v *testVM) {
	got := collect(t, v, 1)
	require(t, check.Equal(t, uint64(stateMarker), got[0], "VM %d's marker", v.id))
}

// compareNotSeen checks, item by item, that other (what another context
// read) is not mine (what the writer read back after writing), and that
// the writer's value took at all.
func compareNotSeen(t *testing.T, items []stateItem, mine, other []uint64, who string) {
	for i, it := range items {
		if mine[i] != other[i] {
			continue
		}
		if it.value != 0 && mine[i] == 0 {
			t.Logf("%s: writes are ignored on this CPU (reads as zero); nothing to switch", it.name)
			continue
		}
		t.Errorf("%s: %s reads %#x, VM A's value", it.name, who, mine[i])
	}
}

// testStateVMToVM: VM A writes every item and parks; VM B, alive beside
// it, and the host read theirs; A then gets its own back.
func testStateVMToVM(t *testing.T) {
	items := stateItems()
	a := newVM(t, 1)
	a.load(t, stateGuest(items, true))
	var hostBefore, hostAfter hostEL1
	readHostEL1(&hostBefore)
	a1 := collect(t, a, len(items))
	expectMarker(t, a)

	b := newVM(t, 1)
	b.load(t, stateGuest(items, false))
	b1 := collect(t, b, len(items))
	readHostEL1(&hostAfter)
	compareNotSeen(t, items, a1, b1, "VM B")
	for i, name := range hostEL1Names {
		check.Equal(t, hostBefore[i], hostAfter[i], "the host's %s after VM A wrote its own", name)
	}

	a2 := collect(t, a, len(items))
	for i, it := range items {
		check.Equal(t, a1[i], a2[i], "VM A's %s after VM B and the host ran", it.name)
	}
	check.Equal(t, abi.ExitShutdown, a.run(t, 0).Reason, "VM A powers off")
}

// testStateNewVMInSlot: VM A writes every item and powers off; a new VM
// created in its slot (same vmid, same vCPU storage) starts from reset
// values, not A's.
func testStateNewVMInSlot(t *testing.T) {
	items := stateItems()
	a := newVM(t, 1)
	a.load(t, stateGuest(items, true))
	a1 := collect(t, a, len(items))
	expectMarker(t, a)
	collect(t, a, len(items))
	require(t, check.Equal(t, abi.ExitShutdown, a.run(t, 0).Reason, "VM A powers off"))
	a.teardown()

	c := newVM(t, 1)
	require(t, check.Equal(t, a.id, c.id, "the new VM takes VM A's slot"))
	c.load(t, stateGuest(items, false))
	c1 := collect(t, c, len(items))
	compareNotSeen(t, items, a1, c1, "the new VM in A's slot")
}
