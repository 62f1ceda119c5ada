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

// hostPattern is the FP/SIMD state the host holds across its calls: a
// value per half register, round toward zero with flush to zero and
// default NaN (FPCR), and every cumulative flag set (FPSR).
func hostPattern() fpFile {
	var f fpFile
	for i := range f.V {
		f.V[i] = 0xf00d_0000_0000_0000 | uint64(i)<<8 | uint64(i)
	}
	f.FPCR, f.FPSR = 0x03c0_0000, 0x0800_009f
	return f
}

// fpGuestValue is what the FP guest puts in the low or high half of Vn.
func fpGuestValue(n int, high bool) uint64 {
	v := 0xbad0_0000_0000_0000 | uint64(n)
	if high {
		v |= 1 << 32
	}
	return v
}

// fpGuest fills its own V0..V31, then makes one exit of each kind a guest
// can cause: an MMIO write, an 8-byte MMIO read into x23 (the decode the
// host must never learn), a forwarded call, WFI, and SYSTEM_OFF.
func fpGuest() []uint32 {
	const x23 = 23
	c := append(a64.MOV64(x1, cpacrFPEN), a64.MSR(cpacrEL1, x1), isb)
	for n := 0; n < 32; n++ {
		c = append(c, a64.MOV64(x1, fpGuestValue(n, false))...)
		c = append(c, a64.FMOVToD(uint32(n), x1))
		c = append(c, a64.MOV64(x1, fpGuestValue(n, true))...)
		c = append(c, a64.FMOVToHigh(uint32(n), x1))
	}
	c = append(c, a64.MOV64(x9, virt.UARTBase)...)
	c = append(c, str(x1, x9), ldr(x23, x9))
	c = append(c, mov32(x0, forwardedCall)...)
	c = append(c, hvc0, wfi)
	c = append(c, mov32(x0, abi.PSCISystemOff)...)
	return append(c, hvc0, branchSelf)
}

// wfi is WFI (Arm ARM C6.2.386).
const wfi = 0xd503207f

// fpCheck makes the call x with the host pattern loaded and checks that
// the host gets exactly its pattern back. It returns x0..x7.
func fpCheck(t *testing.T, what string, x [8]uint64) [8]uint64 {
	in := hostPattern()
	var out fpFile
	fpCall(&x, &in, &out)
	for i := range in.V {
		if out.V[i] != in.V[i] {
			t.Errorf("%s: V%d[%d:%d] is %#x, not the host's %#x", what, i/2, 64*(i%2)+63, 64*(i%2), out.V[i], in.V[i])
			break
		}
	}
	check.Equal(t, in.FPCR, out.FPCR, "%s: FPCR", what)
	check.Equal(t, in.FPSR, out.FPSR, "%s: FPSR", what)
	return x
}

// testStateHostFP: the host's V0..V31, FPCR and FPSR survive queries, every
// VM and memory call, refusals, and a VCPU_RUN ending in each kind of exit
// of a guest that filled its own V registers (SMCCC 1.2 section 2.6: the
// callee preserves them).
func testStateHostFP(t *testing.T) {
	fpCheck(t, "VERSION", [8]uint64{uint64(abi.Version)})
	fpCheck(t, "CALL_UID", [8]uint64{0x8600ff01})
	fpCheck(t, "unknown id", [8]uint64{0xc600_00ff})
	fpCheck(t, "MEM_INFO", [8]uint64{uint64(abi.MemInfo), virt.Pool.Base})
	r := fpCheck(t, "VM_CREATE", [8]uint64{uint64(abi.VMCreate), 1})
	require(t, check.Status(t, abi.Success, abi.Status(int64(r[0])), "VM_CREATE"))
	v := &testVM{id: r[1]}
	t.Cleanup(v.teardown)
	pa := pages(t, 1)
	writeCode(pa, fpGuest())
	r = fpCheck(t, "MEM_DONATE", [8]uint64{uint64(abi.MemDonate), v.id, pa, guestIPA, 1, abi.PermAll})
	require(t, check.Status(t, abi.Success, abi.Status(int64(r[0])), "MEM_DONATE"))
	v.donated = append(v.donated, [2]uint64{pa, 1})
	fpCheck(t, "VCPU_INIT", [8]uint64{uint64(abi.VCPUInit), v.id, 0, guestIPA, 0})
	fpCheck(t, "VCPU_IRQ", [8]uint64{uint64(abi.VCPUIRQ), v.id, 0, 40, 0})
	for _, want := range []abi.Exit{abi.ExitMMIO, abi.ExitMMIO, abi.ExitCall, abi.ExitWFI, abi.ExitShutdown} {
		var r [8]uint64
		for i := 0; i < maxIRQExits; i++ {
			r = fpCheck(t, fmt.Sprintf("VCPU_RUN to exit %d", want), [8]uint64{uint64(abi.VCPURun), v.id, 0, 0x1234})
			if r[1] != uint64(abi.ExitIRQ) {
				break
			}
		}
		check.Equal(t, uint64(want), r[1], "exit")
	}
	fpCheck(t, "VCPU_RUN refused", [8]uint64{uint64(abi.VCPURun), v.id, 0, 0})
	fpCheck(t, "VM_DESTROY", [8]uint64{uint64(abi.VMDestroy), v.id})
	fpCheck(t, "MEM_RECLAIM", [8]uint64{uint64(abi.MemReclaim), pa, 1})
}

// loopGuest counts x19 down from n and powers off.
func loopGuest(n uint64) []uint32 {
	const x19 = 19
	c := a64.MOV64(x19, n)
	c = append(c, a64.SUBSImm(x19, x19, 1), a64.BNE(-1))
	c = append(c, mov32(x0, abi.PSCISystemOff)...)
	return append(c, hvc0, branchSelf)
}

// testStateHostPMU: the host programs its PMU to count cycles and
// instructions retired at EL1 and runs a guest loop; no counter it can
// read may advance across the VCPU_RUN, or the host could read the guest's
// control flow from it. (The engine denies the PMU: reads are zero.)
func testStateHostPMU(t *testing.T) {
	v := newVM(t, 1)
	v.load(t, loopGuest(100_000))
	pmuStart()
	c0, e0 := pmuRead()
	e := v.run(t, 0)
	c1, e1 := pmuRead()
	check.Equal(t, abi.ExitShutdown, e.Reason, "the loop ends")
	t.Logf("cycle counter %d -> %d, instructions retired %d -> %d", c0, c1, e0, e1)
	check.Equal(t, c0, c1, "the host's cycle counter advanced across the guest's run")
	check.Equal(t, e0, e1, "the host's instruction counter advanced across the guest's run")
}
