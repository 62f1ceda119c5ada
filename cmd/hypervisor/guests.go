//go:build tamago && arm64

package main

import (
	"fmt"
	"os"
	"time"

	"bulkhead/arch/el1"
	"bulkhead/boot/virt"
	"bulkhead/boot/virt/pl011"
	"bulkhead/hypervisor/guestspec"
	"bulkhead/hypervisor/outcome"
	"bulkhead/hypervisor/vmm"
	"bulkhead/isolation/abi"
)

type el1Memory struct{}

func (el1Memory) Bytes(pa, size uint64) []byte { return el1.PhysBytes(pa, size) }

// bootFile is one file the engine offers (FILE_INFO).
type bootFile struct {
	name string
	size uint64
}

// runGuests makes a VM of every guest the machine was started with, runs
// them all to completion and reports whether every one was created and
// taken back cleanly.
func runGuests() bool {
	files := listBootFiles()
	if len(files) == 0 {
		return true
	}
	ticker := el1.InitTicker()
	// Console input is a host interrupt of the boot CPU: a byte typed
	// ends the run of a vCPU that has the CPU to itself, without waiting
	// for its tick (the hypervisor keeps it masked while the guest's UART
	// has no room).
	pl011.SetRxInterrupt(false)
	el1.RouteSPIHere(virt.UARTSPI)
	hv := &vmm.Hypervisor{
		Engine:         el1Engine{},
		Memory:         el1Memory{},
		Ticker:         ticker,
		Pool:           vmm.NewPool(virt.Pool.Base, virt.Pool.Size/virt.PageSize),
		Out:            os.Stdout,
		Input:          pl011.Rx,
		InputInterrupt: pl011.SetRxInterrupt,
		Host:           startHostCPUs(),
	}
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = f.name
	}
	guests, err := guestspec.Group(names, func(i int) ([]byte, error) { return readSmall(hv.Pool, files, i) })
	if err != nil {
		fmt.Println("hypervisor: guests:", err)
		return false
	}
	seed := entropySeed(hv.Pool, files)
	ok := true
	for _, g := range guests {
		ok = createGuest(hv, files, g, seed) && ok
	}
	if err := hv.Run(); err != nil {
		fmt.Println("hypervisor: guests:", err)
		return false
	}
	return ok
}

func listBootFiles() []bootFile {
	var files []bootFile
	for i := uint64(0); ; i++ {
		x := call(abi.FileInfo, i)
		if abi.StatusOf(x[0]) != abi.Success {
			return files
		}
		var name []byte
		for _, r := range x[2:8] {
			for b := 0; b < 8 && byte(r>>(8*b)) != 0; b++ {
				name = append(name, byte(r>>(8*b)))
			}
		}
		files = append(files, bootFile{string(name), x[1]})
	}
}

// readFile has the engine copy boot file i into fresh pool pages and
// returns a view of its bytes there, and the pages, which the caller frees
// once it is done with the bytes. Files stay in the pool, which is as large
// as guest memory, never in the hypervisor's own heap.
func readFile(pool *vmm.Pool, files []bootFile, i int) ([]byte, vmm.Span, error) {
	size := files[i].size
	span, err := pool.Alloc(max((size+virt.PageSize-1)/virt.PageSize, 1), virt.PageSize)
	if err != nil {
		return nil, span, fmt.Errorf("boot file %q of %d bytes: %w", files[i].name, size, err)
	}
	if x := call(abi.FileRead, uint64(i), span.PA, span.Pages); abi.StatusOf(x[0]) != abi.Success {
		pool.Free(span)
		return nil, span, fmt.Errorf("FILE_READ %d: %s", i, abi.StatusOf(x[0]))
	}
	return el1.PhysBytes(span.PA, size), span, nil
}

// readSmall reads an argument file into the heap; guestspec bounds what it
// accepts, and larger files are refused before they are read.
func readSmall(pool *vmm.Pool, files []bootFile, i int) ([]byte, error) {
	if files[i].size > guestspec.MaxArgsBytes {
		return nil, fmt.Errorf("argument file of %d bytes exceeds %d", files[i].size, guestspec.MaxArgsBytes)
	}
	b, span, err := readFile(pool, files, i)
	if err != nil {
		return nil, err
	}
	defer release(pool, span)
	return append([]byte(nil), b...), nil
}

// release wipes pool pages that held a boot file and returns them: the pool
// keeps only zeroed pages, so a VM never starts with another's leftovers.
func release(pool *vmm.Pool, span vmm.Span) {
	clear(el1.PhysBytes(span.PA, span.Bytes()))
	pool.Free(span)
}

// entropySeed reads the machine's entropy file, the seed of every
// shared-memory VM's virtio entropy device; without one (or with one of
// the wrong size) no VM gets that device, rather than a weak one.
func entropySeed(pool *vmm.Pool, files []bootFile) []byte {
	for i, f := range files {
		if f.name != guestspec.EntropyFile {
			continue
		}
		if f.size != vmm.SeedSize {
			fmt.Printf("hypervisor: entropy file of %d bytes, want %d: no entropy devices\n", f.size, vmm.SeedSize)
			return nil
		}
		seed, err := readSmall(pool, files, i)
		if err != nil {
			fmt.Println("hypervisor: entropy file:", err, "(no entropy devices)")
			return nil
		}
		return seed
	}
	return nil
}

// readDisks reads g's disk images into pool pages, which the VM then
// holds until it ends.
func readDisks(pool *vmm.Pool, files []bootFile, g guestspec.Guest) ([]vmm.Disk, error) {
	var disks []vmm.Disk
	for _, d := range g.Disks {
		_, span, err := readFile(pool, files, d.File)
		if err != nil {
			for _, done := range disks {
				release(pool, done.Span)
			}
			return nil, err
		}
		disks = append(disks, vmm.Disk{Span: span, Size: files[d.File].size, ReadOnly: d.ReadOnly})
	}
	return disks, nil
}

func createGuest(hv *vmm.Hypervisor, files []bootFile, g guestspec.Guest, seed []byte) bool {
	name := "vm" + g.Name
	if g.Err != nil {
		return refuse(name, g.Err)
	}
	if !g.Virtio && len(g.Disks) > 0 {
		return refuse(name, fmt.Errorf("disks need memory=shared, or virtio=on for a protected VM that shares its buffers itself: a protected VM's memory is closed to the devices"))
	}
	img, imgSpan, err := readFile(hv.Pool, files, g.Image)
	if err == nil {
		defer release(hv.Pool, imgSpan)
	}
	var initrd []byte
	if err == nil && g.Initrd >= 0 {
		var initrdSpan vmm.Span
		initrd, initrdSpan, err = readFile(hv.Pool, files, g.Initrd)
		if err == nil {
			defer release(hv.Pool, initrdSpan)
		}
	}
	var disks []vmm.Disk
	if err == nil {
		disks, err = readDisks(hv.Pool, files, g)
	}
	if err != nil {
		return refuse(name, err)
	}
	spec := vmm.Spec{Name: name, VCPUs: g.VCPUs, RAMSize: g.RAMMiB << 20, Image: img,
		Initrd: initrd, Bootargs: g.Bootargs, Timeout: time.Duration(g.Timeout) * time.Second, Secret: g.Secret,
		Shared: g.Shared, Virtio: g.Virtio, Disks: disks}
	if g.Virtio {
		spec.Seed = seed
	}
	vm, err := hv.Create(spec)
	if err != nil {
		return refuse(name, err)
	}
	how := "donated"
	if vm.Shared {
		how = "lent, the host keeps them mapped"
	}
	fmt.Printf("hypervisor: %s created: id %d, %s, %d vCPUs, %d pages at %#x %s\n",
		name, vm.ID, vm.Kind(), g.VCPUs, vm.RAM.Pages, vm.RAM.PA, how)
	fmt.Printf("hypervisor: %s: %s\n", name, vm.DescribeDevices())
	if vm.Shared {
		return guestMemoryIsShared(vm)
	}
	return guestMemoryIsSealed(vm)
}

// guestMemoryIsShared checks from EL1 that a shared-memory VM's RAM is
// still the host's to read: its first word is the one the hypervisor
// placed there (the start of the image).
func guestMemoryIsShared(vm *vmm.VM) bool {
	for _, pa := range []uint64{vm.RAM.PA, vm.RAM.End() - 8} {
		v, esr, readable := el1.ProbeRead(pa)
		if !readable {
			fmt.Printf("hypervisor: %s: FAIL: its shared memory at %#x raised an abort (ESR %#x)\n", vm.Name, pa, esr)
			return false
		}
		fmt.Printf("hypervisor: %s: its memory at %#x is readable by the host (%#x)\n", vm.Name, pa, v)
	}
	return true
}

// refuse reports a guest the hypervisor will not run, in the line
// `bulkhead run` reads for its exit status, and returns false.
func refuse(name string, err error) bool {
	fmt.Println(outcome.Guest{VM: name, Kind: outcome.Refused, Detail: err.Error()}.Line(0))
	return false
}

// guestMemoryIsSealed checks from EL1 that the pages just donated can no
// longer be read or written by the hypervisor.
func guestMemoryIsSealed(vm *vmm.VM) bool {
	for _, pa := range []uint64{vm.RAM.PA, vm.RAM.End() - 8} {
		_, esr, readable := el1.ProbeRead(pa)
		_, writable := el1.ProbeWrite(pa, 0)
		if readable || writable {
			fmt.Printf("hypervisor: %s: FAIL: its memory at %#x is accessible after donation\n", vm.Name, pa)
			return false
		}
		fmt.Printf("hypervisor: %s: reading its memory at %#x raised an abort (ESR %#x)\n", vm.Name, pa, esr)
	}
	return true
}
