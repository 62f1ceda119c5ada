//go:build tamago && arm64

package main

import (
	"fmt"

	"bulkhead/arch/el2"
	"bulkhead/isolation"
	"bulkhead/isolation/abi"
)

// boardCPUs is the host's view of its CPUs for hostPower, in m.cpus order.
func (m *machine) boardCPUs() []boardCPU {
	list := make([]boardCPU, len(m.cpus))
	for i, c := range m.cpus {
		list[i] = boardCPU{MPIDR: c.MPIDR, Power: powerOf[c.Power()]}
	}
	return list
}

// powerOf is the host's view of each el2 power state.
var powerOf = map[el2.Power]cpuPower{el2.CPUOff: cpuOff, el2.CPUStarting: cpuStarting, el2.CPUOn: cpuOn}

// indexOf is c's index in m.cpus.
func (m *machine) indexOf(c *el2.CPU) int {
	for i, x := range m.cpus {
		if x == c {
			return i
		}
	}
	panic(fmt.Sprintf("engine: CPU %d serves the host but is not usable", c.Slot))
}

// hostOwns reports whether the ledger gives the RAM page at pa to the host.
func (m *machine) hostOwns(pa uint64) bool {
	if anyCPUEntry {
		return true
	}
	info, st := m.core.MemInfo(isolation.PA(pa))
	return st == abi.Success && info.Owner == abi.OwnerHost
}

// carryOut does what hostPower decided and returns the host's x0: a CPU
// to start gets a fresh host context at the entry and a goroutine to serve
// it (the first time), and is started through the board's PSCI; should
// that fail, the host gets INTERNAL_FAILURE and the CPU stays off.
func (m *machine) carryOut(r uint64, act cpuAction) uint64 {
	if act.Kind != actStart {
		return r
	}
	c := m.cpus[act.Slot]
	h := &m.harts[c.Slot]
	h.host = el2.NewHost(act.Entry, act.Arg)
	if h.cpu == nil {
		h.cpu = c
		go m.serveSecondary(h)
	}
	if st := c.Start(); st != 0 {
		fmt.Printf("engine: CPU %#x did not start (PSCI status %d)\n", c.MPIDR, st)
		return psci(abi.PSCIInternalFailure)
	}
	return r
}

// serveSecondary serves the host on a CPU other than the boot CPU, each
// time the host starts it, until the host turns it off.
func (m *machine) serveSecondary(h *hart) {
	h.cpu.Serve()
	h.cpu.WaitStart()
	for {
		m.initHart(h)
		serveHost(m, h)
		h.cpu.Off()
	}
}
