//go:build tamago && arm64

package main

import (
	"fmt"
	"runtime"

	"bulkhead/arch/el2"
	"bulkhead/boot/fdt"
	"bulkhead/boot/virt"
)

// checkCPUs starts every CPU of the board's device tree other than the
// boot CPU once, hands it the engine's Go runtime and turns it off again,
// and returns the CPUs that passed, the boot CPU first: the host may start
// those. A CPU that does not start, or on which the engine's Go runtime
// does not run, is reported and left out; the machine runs on the others.
func checkCPUs() []*el2.CPU {
	ids, err := boardCPUs()
	if err != nil {
		fmt.Printf("engine: cannot list the CPUs (%v); using the boot CPU alone\n", err)
		ids = nil
	}
	all := el2.SetCPUs(ids)
	usable := all[:1]
	for _, c := range all[1:] {
		if err := startCPU(c.Slot, c.MPIDR); err != nil {
			fmt.Printf("engine: %v\n", err)
			continue
		}
		usable = append(usable, c)
	}
	return usable
}

// startCPU starts the CPU and hands it the engine's Go runtime once: the
// CPU must run Go as itself, allocate, and collect garbage, which shows
// the runtime's one thread can move to it (el2.RunGoOn). The CPU is off
// again afterwards.
func startCPU(slot int, id uint64) error {
	if err := el2.StartCPU(slot, id); err != nil {
		return err
	}
	var ranOn uint64
	var heap []byte
	err := el2.RunGoOn(slot, func() {
		ranOn = el2.ThisCPU()
		heap = make([]byte, 64<<10)
		runtime.GC()
	})
	switch {
	case err != nil:
		return fmt.Errorf("CPU %#x: %v", id, err)
	case ranOn != id || len(heap) == 0:
		return fmt.Errorf("CPU %#x: handed the runtime, but Go ran on CPU %#x", id, ranOn)
	}
	return nil
}

// boardCPUs lists the CPUs of the device tree QEMU places at the start of
// RAM for an ELF boot, which the engine reads before the host may change
// it. Its header's size is checked before the blob is read.
func boardCPUs() ([]uint64, error) {
	size, err := fdt.TotalSize(el2.PhysBytes(virt.BootBase, fdt.SizePrefix))
	if err != nil {
		return nil, err
	}
	if size > virt.BootSize {
		return nil, fmt.Errorf("device tree of %d bytes does not fit the boot region", size)
	}
	return virt.CPUs(el2.PhysBytes(virt.BootBase, size))
}
