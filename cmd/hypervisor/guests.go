//go:build tamago && arm64

package main

import (
	"fmt"
	"os"

	"bulkhead/arch/el1"
	"bulkhead/boot/virt"
	"bulkhead/hypervisor/vmm"
	"bulkhead/isolation/abi"
)

type el1Memory struct{}

func (el1Memory) Bytes(pa, size uint64) []byte { return el1.PhysBytes(pa, size) }

// runGuests makes a VM of every guest file the machine was started with,
// runs them all to completion and reports whether every one was created and
// taken back cleanly.
func runGuests() bool {
	hv := &vmm.Hypervisor{
		Engine: el1Engine{},
		Memory: el1Memory{},
		Ticker: el1.InitTicker(),
		Pool:   vmm.NewPool(virt.Pool.Base, virt.Pool.Size/virt.PageSize),
		Out:    os.Stdout,
	}
	ok := true
	for i := uint64(0); ; i++ {
		img, staging, err := readBootFile(hv.Pool, i)
		if err != nil {
			break
		}
		ok = createGuest(hv, i, img) && ok
		hv.Pool.Free(staging)
	}
	if len(hv.VMs) == 0 {
		return ok
	}
	if err := hv.Run(); err != nil {
		fmt.Println("hypervisor: guests:", err)
		return false
	}
	return ok
}

// readBootFile has the engine copy boot file i into fresh pool pages.
func readBootFile(pool *vmm.Pool, i uint64) ([]byte, vmm.Span, error) {
	x := call(abi.FileInfo, i)
	if abi.StatusOf(x[0]) != abi.Success {
		return nil, vmm.Span{}, fmt.Errorf("no boot file %d", i)
	}
	size := x[1]
	span, err := pool.Alloc(max((size+virt.PageSize-1)/virt.PageSize, 1), virt.PageSize)
	if err != nil {
		return nil, span, err
	}
	if x = call(abi.FileRead, i, span.PA, span.Pages); abi.StatusOf(x[0]) != abi.Success {
		pool.Free(span)
		return nil, span, fmt.Errorf("FILE_READ %d: %s", i, abi.StatusOf(x[0]))
	}
	return el1.PhysBytes(span.PA, size), span, nil
}

func createGuest(hv *vmm.Hypervisor, i uint64, img []byte) bool {
	name := fmt.Sprintf("vm%d", i)
	vm, err := hv.Create(vmm.Spec{Name: name, VCPUs: 1, RAMSize: virt.GuestRAMSize, Image: img})
	if err != nil {
		fmt.Printf("hypervisor: %s: %v\n", name, err)
		return false
	}
	fmt.Printf("hypervisor: %s created: id %d, %d pages at %#x donated\n", name, vm.ID, vm.RAM.Pages, vm.RAM.PA)
	return guestMemoryIsSealed(vm)
}

// guestMemoryIsSealed checks from EL1 that the pages just donated can no
// longer be read or written by the hypervisor.
func guestMemoryIsSealed(vm *vmm.VM) bool {
	for _, pa := range []uint64{vm.RAM.PA, vm.RAM.End() - 8} {
		if _, esr, ok := el1.ProbeRead(pa); ok {
			fmt.Printf("hypervisor: %s: FAIL: its memory at %#x is readable after donation\n", vm.Name, pa)
			return false
		} else if _, ok := el1.ProbeWrite(pa, 0); ok {
			fmt.Printf("hypervisor: %s: FAIL: its memory at %#x is writable after donation\n", vm.Name, pa)
			return false
		} else {
			fmt.Printf("hypervisor: %s: reading its memory at %#x raised an abort (ESR %#x)\n", vm.Name, pa, esr)
		}
	}
	return true
}
