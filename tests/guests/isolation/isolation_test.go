//go:build tamago && arm64 && bulkhead_guest

package isolation

import (
	"flag"
	"strconv"
	"testing"

	"bulkhead/arch/el1"
	"bulkhead/boot/virt"
	"bulkhead/guest"
	"bulkhead/guest/check"
	"bulkhead/isolation/abi"
)

// secretFlag is the value TestSecretStaysInside leaves in the guest's
// memory and registers; the host gives the hypervisor the same value to
// look for.
var secretFlag = flag.String("secret", "", "64-bit secret in hex, for TestSecretStaysInside")

// TestRAMIsPrivate asks the engine (GUEST_MEMSTATE) about every page of the
// RAM the device tree describes: the hypervisor creates its VMs protected
// and donates their RAM, so none of it may be a page the host can read.
func TestRAMIsPrivate(t *testing.T) {
	m := machine(t)
	if err := m.CheckRAMPrivate(); err != nil {
		t.Errorf("%v", err)
	}
}

func machine(t *testing.T) guest.Machine {
	m, err := guest.ThisMachine()
	if err != nil {
		t.Fatalf("device tree: %v", err)
	}
	return m
}

// ESR_EL1 of the abort the engine reflects for a stage-2 fault: a data
// abort from the same EL (EC 0x25) with DFSC 0x10, synchronous external
// abort (Arm ARM D23.2.47). A stage-1 fault of the guest's own tables would
// have another DFSC, so this tells the engine's refusal apart.
const (
	esrECShift       = 26
	ecDataAbortSame  = 0x25
	dfscMask         = 0x3f
	dfscExternalSync = 0x10
)

// probeRefused reads and writes the word at ipa and fails t unless both
// abort with the engine's external abort.
func probeRefused(t *testing.T, what string, ipa uint64) {
	val, esr, ok := el1.ProbeRead(ipa)
	if ok {
		t.Errorf("%s: read of %#x succeeded (%#x)", what, ipa, val)
	} else if !external(esr) {
		t.Errorf("%s: read of %#x: ESR %#x is not the engine's external abort", what, ipa, esr)
	}
	esr, ok = el1.ProbeWrite(ipa, 0xbad0_bad0_bad0_bad0)
	if ok {
		t.Errorf("%s: write of %#x succeeded", what, ipa)
	} else if !external(esr) {
		t.Errorf("%s: write of %#x: ESR %#x is not the engine's external abort", what, ipa, esr)
	}
}

func external(esr uint64) bool {
	return esr>>esrECShift&0x3f == ecDataAbortSame && esr&dfscMask == dfscExternalSync
}

// probeOutside probes each address that lies outside the guest's RAM; it
// fails t if none does, so that a layout change cannot empty the test.
func probeOutside(t *testing.T, what string, addrs ...uint64) {
	ram := machine(t).RAM
	n := 0
	for _, a := range addrs {
		if ram.Contains(a, 8) {
			continue
		}
		probeRefused(t, what, a)
		n++
	}
	check.True(t, n > 0, "%s: every address lies in the guest's own RAM %#x-%#x", what, ram.Base, ram.End())
}

func TestBeyondRAM(t *testing.T) {
	end := machine(t).RAM.End()
	probeOutside(t, "beyond RAM", end, end+virt.PageSize-8, end+virt.BlockSize, end+64<<20)
}

// testEngineAndHost probes the physical addresses of the engine's and the
// hypervisor's memory, as IPAs: where they fall outside the guest's RAM
// they must reach nothing.
func TestEngineAndHostMemory(t *testing.T) {
	probeOutside(t, "engine memory",
		virt.Engine.Base, virt.EngineText, virt.Engine.End()-virt.PageSize, virt.Engine.End()-8)
	probeOutside(t, "hypervisor memory", virt.Host.Base, virt.HostText, virt.Host.End()-8)
}

// testOtherVMs probes where the hypervisor takes VMs' RAM from (the pool),
// at the starts of successive VM-sized spans and at the pool's end.
func TestOtherVMsMemory(t *testing.T) {
	size := machine(t).RAM.Size
	var addrs []uint64
	for a := virt.Pool.Base; a < virt.Pool.End() && len(addrs) < 8; a += size {
		addrs = append(addrs, a, a+size/2)
	}
	probeOutside(t, "pool", append(addrs, virt.Pool.End()-8)...)
}

// testDevices probes board devices the guest machine does not have: the
// flash at 0, the RTC, fw_cfg (whose DMA could write anywhere), virtio-mmio
// and the GIC ITS frame (hw/arm/virt.c memory map).
func TestUnemulatedDevices(t *testing.T) {
	for _, a := range []uint64{0, 0x0901_0000, virt.FwCfg.Base, 0x0A00_0000, 0x0808_0000} {
		probeRefused(t, "device "+virt.RegionName(a), a)
	}
}

// testKeepsRunning: after a burst of refused accesses the guest still
// calls the engine and uses its memory.
func TestKeepsRunningAfterAborts(t *testing.T) {
	end := machine(t).RAM.End()
	for i := uint64(0); i < 64; i++ {
		el1.ProbeRead(end + i*virt.PageSize)
	}
	_, _, st := guest.Version()
	check.Status(t, abi.Success, st, "VERSION after 64 aborts")
	buf := make([]uint64, 512)
	for i := range buf {
		buf[i] = uint64(i) * 0x9e37_79b9
	}
	for i, v := range buf {
		if v != uint64(i)*0x9e37_79b9 {
			t.Fatalf("memory word %d changed", i)
		}
	}
}

// secretWords is how much guest memory the secret fills: 4 MiB that stay
// allocated until the VM is destroyed, so the pages the hypervisor
// reclaims held it.
const secretWords = 4 << 20 / 8

var secretMemory []uint64

// forwardedCall is a function id the engine forwards to the hypervisor
// (vendor-specific hypervisor service, function 0x100: outside the
// engine's blocks, isolation.EngineOwnsID); its arguments are zero, so
// nothing secret is given to the hypervisor on purpose.
const forwardedCall = 0xC600_0100

func TestSecretStaysInside(t *testing.T) {
	s := secret(t)
	secretMemory = make([]uint64, secretWords)
	for i := range secretMemory {
		secretMemory[i] = s
	}
	x0, changed := callKeepingSecret(forwardedCall, s)
	check.Status(t, abi.NotSupported, abi.StatusOf(x0), "the hypervisor offers no service %#x", forwardedCall)
	check.Equal(t, uint64(0), changed, "registers x8-x17 and d0-d7 that lost the secret across the call")
	t.Logf("secret in %d bytes of memory and 18 registers", 8*len(secretMemory))
}

// secret is the -secret flag's value.
func secret(t *testing.T) uint64 {
	s, err := strconv.ParseUint(*secretFlag, 16, 64)
	if err != nil || s == 0 {
		t.Fatalf("bad -secret=%q (want a non-zero hex value): %v", *secretFlag, err)
	}
	return s
}
