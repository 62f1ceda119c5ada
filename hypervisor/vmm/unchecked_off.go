//go:build !bulkhead_unchecked_virtio

package vmm

// uncheckedVirtio, set only by the build tag bulkhead_unchecked_virtio,
// makes a protected VM's devices skip the ledger (sharedPages). Only the
// test that shows the protected-VM virtio tests can fail builds it; it is
// never a usable hypervisor.
const uncheckedVirtio = false
