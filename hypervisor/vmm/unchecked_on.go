//go:build bulkhead_unchecked_virtio

package vmm

// uncheckedVirtio: see unchecked_off.go. This build's devices view every
// page of a protected VM's RAM, shared or not.
const uncheckedVirtio = true
