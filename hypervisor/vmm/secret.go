package vmm

import (
	"encoding/binary"
	"fmt"
)

// The secret watch: a guest started with a Secret keeps that value in its
// memory and registers; the hypervisor, which may see only what the ABI
// declassifies, looks for it everywhere it can look: every exit record
// (64-bit value or either 32-bit half) and every page it takes back.

// watchExit searches an exit record's x1..x7 for the secret.
func (h *Hypervisor) watchExit(vm *VM, x [8]uint64) {
	s := vm.spec.Secret
	if s == 0 || vm.leak != "" {
		return
	}
	vm.exits++
	lo, hi := s&0xffff_ffff, s>>32
	for r := 1; r < 8; r++ {
		if x[r] == s || x[r]&0xffff_ffff == lo || x[r]&0xffff_ffff == hi {
			vm.leak = fmt.Sprintf("x%d of exit record %d", r, vm.exits)
			return
		}
	}
}

// scanForSecret searches memory, 8-byte aligned, for the secret or either
// of its halves, and returns the offset of the first match.
func scanForSecret(mem []byte, secret uint64) (int, bool) {
	lo, hi := uint32(secret), uint32(secret>>32)
	for off := 0; off+4 <= len(mem); off += 4 {
		w := binary.LittleEndian.Uint32(mem[off:])
		if w == lo || w == hi {
			return off, true
		}
	}
	return 0, false
}

// reportSecret prints the verdict of the watch for vm, after its pages came
// back: they are searched once more, whatever the zero check said.
func (h *Hypervisor) reportSecret(vm *VM) {
	s := vm.spec.Secret
	if s == 0 {
		return
	}
	if vm.leak == "" {
		if off, found := scanForSecret(h.Memory.Bytes(vm.RAM.PA, vm.RAM.Bytes()), s); found {
			vm.leak = fmt.Sprintf("reclaimed memory at %#x", vm.RAM.PA+uint64(off))
		}
	}
	if vm.leak != "" {
		fmt.Fprintf(h.Out, "hypervisor: vm %s: SECRET SEEN in %s\n", vm.Name, vm.leak)
		return
	}
	fmt.Fprintf(h.Out, "hypervisor: vm %s: secret not seen in %d exits, %d pages\n", vm.Name, vm.exits, vm.RAM.Pages)
}
