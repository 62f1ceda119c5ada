//go:build tamago && arm64

// Command engine is the bulkhead isolation engine: the EL2 image QEMU boots.
// It takes its memory, loads the EL1 image it is given, builds the host
// stage-2 with the isolation core, and from then on only answers the host's
// calls and refuses what the ledger forbids.
package main

import (
	"fmt"

	"bulkhead/arch/el2"
	"bulkhead/boot/virt"
	"bulkhead/isolation"
	"bulkhead/isolation/abi"
)

// Host HCR_EL2 (Arm ARM D19.2.48): VM turns stage-2 on, SWIO makes set/way
// invalidation clean too (the host must not discard lines of pages it no
// longer owns), TSC traps SMC so PSCI reaches the engine, RW makes EL1
// AArch64. Interrupts stay with the host (IMO, FMO, AMO clear).
const hostHCR = 1<<0 | 1<<1 | 1<<19 | 1<<31

// tablePoolSize is the number of 4 KiB stage-2 tables the core may use.
const tablePoolSize = 4096

// Limits of the VMs the engine keeps.
const (
	maxVMs   = 16
	maxVCPUs = 8
)

func main() {
	fmt.Printf("bulkhead engine: EL2, engine ABI %d.%d, memory %#x-%#x\n",
		abi.VersionMajor, abi.VersionMinor, virt.Engine.Base, virt.Engine.End())
	cpus := checkCPUs()
	fmt.Printf("engine: %s (the engine's Go runtime ran on each); the host starts on the boot CPU\n", plural(len(cpus), "CPU"))
	entry, err := loadHostImage()
	if err != nil {
		halt("cannot boot the EL1 image: %v", err)
	}
	m := &machine{cpus: cpus, files: newFileServer()}
	core, err := newCore(m)
	if err != nil {
		halt("cannot build the host stage-2: %v", err)
	}
	m.core = core
	fmt.Printf("engine: host stage-2 built (%d tables left); entering EL1 image at %#x\n", core.FreeTables(), entry)
	if err := el2.InstallFastAnswers(fastAnswers()); err != nil {
		halt("cannot install the vector's answers: %v", err)
	}
	boot := &m.harts[0]
	boot.cpu = cpus[0]
	boot.cpu.Serve()
	boot.host = el2.NewHost(entry, virt.BootBase) // x0: the device tree QEMU placed for ELF boots
	for {
		m.initHart(boot)
		serveHost(m, boot)
		boot.cpu.Off()
	}
}

// initHart makes the CPU the caller runs on ready to run the host: the
// host stage-2 and its trap controls, the EL1 reset state, and the
// virtual timer's PPI. Every CPU does it when it starts.
func (m *machine) initHart(h *hart) {
	el2.EnterStage2(isolation.VTCR(), m.core.HostVTTBR(), hostHCR)
	h.world.Init(hostHCR, m.core.HostVTTBR())
	el2.SetEL1Reset()
	el2.EnableTimerPPI(h.cpu.MPIDR)
}

func newCore(m *machine) (*isolation.Serial, error) {
	tables := make([]isolation.Table, tablePoolSize)
	pool := isolation.Pool{Tables: tables, Base: isolation.PA(el2.AddressOf(&tables[0]))}
	return isolation.NewSerial(coreConfig(m.files.files), m, pool)
}

func coreConfig(files bootFiles) isolation.Config {
	cfg := isolation.Config{
		RAM:       toRange(virt.RAM),
		Engine:    []isolation.Range{toRange(virt.Engine)},
		HostMMIO:  toRanges(virt.HostMMIO()),
		GuestMMIO: toRanges(virt.GuestMMIO()),
		MaxVMs:    maxVMs,
		MaxVCPUs:  maxVCPUs,
		Files:     files.table(),
	}
	if exposeEngine {
		fmt.Println("engine: test build: engine memory left in the host stage-2")
		cfg.Engine = nil
	}
	return cfg
}

func toRange(r virt.Region) isolation.Range { return isolation.Range{Base: r.Base, Size: r.Size} }

func toRanges(rs []virt.Region) []isolation.Range {
	out := make([]isolation.Range, len(rs))
	for i, r := range rs {
		out[i] = toRange(r)
	}
	return out
}

// halt reports why the engine cannot go on and powers the machine off.
func halt(format string, args ...any) {
	fmt.Printf("engine: "+format+"\n", args...)
	fmt.Println("engine: powering off")
	el2.PowerOff()
}

// plural is "1 CPU" or "4 CPUs".
func plural(n int, noun string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
