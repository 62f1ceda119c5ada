package tests

import (
	"fmt"
	"testing"

	"bulkhead/boot/virt"
	"bulkhead/internal/qemu"
	"bulkhead/isolation/abi"
)

func standardMachine(t *testing.T) qemu.Machine {
	return qemu.Machine{Engine: image(t, qemu.Engine), EL1: image(t, qemu.Hypervisor)}
}

// engineCPUsLine is the engine's banner line for a board with n CPUs.
func engineCPUsLine(n int) string {
	cpus := "1 CPU"
	if n != 1 {
		cpus = fmt.Sprintf("%d CPUs", n)
	}
	return "engine: " + cpus + " (the engine's Go runtime ran on each); the host starts on the boot CPU"
}

// TestBootReachesTheHypervisorAndTheABIAnswers is the main job: the engine
// boots at EL2, builds the host stage-2 and enters the hypervisor at EL1,
// which reads the engine's identity over the ABI, passes its self-check and
// powers off.
func TestBootReachesTheHypervisorAndTheABIAnswers(t *testing.T) {
	res := boot(t, standardMachine(t))
	w := abi.UIDWords()
	requireInOrder(t, res.Console,
		"bulkhead engine: EL2",
		engineCPUsLine(boardCPUs(t, 0)),
		"engine: host stage-2 built",
		"bulkhead hypervisor: running at EL1",
		fmt.Sprintf("engine uid %08x-%08x-%08x-%08x", w[0], w[1], w[2], w[3]),
		fmt.Sprintf("engine revision %d.%d", abi.RevisionMajor, abi.RevisionMinor),
		fmt.Sprintf("engine ABI version %d.%d (status SUCCESS)", abi.VersionMajor, abi.VersionMinor),
		"check version: ok",
		"check call-uid: ok",
		"check unknown-id: ok",
		"hypervisor: self-check passed",
		"engine: host requested power off",
	)
	requireClean(t, res)
}

// TestEngineStartsEveryCPU: on a board with several CPUs the engine
// starts each one the device tree lists (StartCPU fails unless the CPU
// reports in from EL2 with its own affinity, so the count is of CPUs that
// ran the engine's entry), and the hypervisor boots and passes its
// self-check, engine-memory probes included, as on one CPU.
func TestEngineStartsEveryCPU(t *testing.T) {
	for _, n := range []int{2, 4} {
		t.Run(fmt.Sprintf("%d CPUs", n), func(t *testing.T) {
			m := standardMachine(t)
			m.CPUs = n
			res := boot(t, m)
			requireInOrder(t, res.Console,
				"bulkhead engine: EL2",
				engineCPUsLine(n),
				"engine: host stage-2 built",
				"check engine-memory-read: ok",
				"hypervisor: self-check passed",
				"engine: host requested power off")
			requireClean(t, res)
		})
	}
}

// TestEngineNoticesGoThatStayedOnTheBootCPU is the control for the test
// above: an engine built to skip the handoff runs its check on the boot
// CPU, which the engine must notice, leaving the CPU out of its count.
func TestEngineNoticesGoThatStayedOnTheBootCPU(t *testing.T) {
	stay := qemu.Engine
	stay.Name, stay.Tags = "engine-stays", []string{"bulkhead_stay_on_boot_cpu"}
	res := boot(t, qemu.Machine{Engine: image(t, stay), EL1: image(t, qemu.Hypervisor), CPUs: 2})
	requireInOrder(t, res.Console,
		"engine: CPU 0x1: handed the runtime, but Go ran on CPU 0x0",
		"engine: 1 CPU (the engine's Go runtime ran on each)",
		"hypervisor: self-check passed")
}

// TestEngineMemoryIsRefusedAndTheEngineCarriesOn probes engine memory from
// EL1: every access must be a stage-2 fault that the engine logs and turns
// into a synchronous external abort at EL1, after which the engine goes on
// serving the hypervisor until it powers off.
func TestEngineMemoryIsRefusedAndTheEngineCarriesOn(t *testing.T) {
	res := boot(t, standardMachine(t))
	var want []string
	for _, addr := range []uint64{virt.Engine.Base, virt.EngineText, virt.Engine.End() - 8} {
		want = append(want,
			"engine: host stage-2 fault: read of "+hex(addr)+" (engine)",
			"hypervisor: read of engine memory at "+hex(addr)+" raised an abort")
	}
	want = append(want, "check engine-memory-read: ok")
	for _, addr := range []uint64{virt.Engine.Base, virt.EngineText, virt.Engine.End() - 8} {
		want = append(want, "engine: host stage-2 fault: write of "+hex(addr)+" (engine)")
	}
	want = append(want, "check engine-memory-write: ok", "hypervisor: self-check passed", "engine: host requested power off")
	requireInOrder(t, res.Console, want...)
	requireClean(t, res)
}

// TestProbeFailsWhenEngineMemoryIsMapped is the control for the test above:
// an engine built to leave its own memory in the host stage-2 must make the
// hypervisor's probe fail, so the probe does detect a leaky stage-2.
func TestProbeFailsWhenEngineMemoryIsMapped(t *testing.T) {
	leaky := qemu.Engine
	leaky.Name, leaky.Tags = "engine-exposed", []string{"bulkhead_expose_engine"}
	res := boot(t, qemu.Machine{Engine: image(t, leaky), EL1: image(t, qemu.Hypervisor)})
	requireInOrder(t, res.Console,
		"engine: test build: engine memory left in the host stage-2",
		"check engine-memory-read: FAIL access to engine memory at "+hex(virt.Engine.Base)+" succeeded",
		"hypervisor: self-check FAILED")
}
