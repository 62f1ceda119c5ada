// Package virtio is a protected VM driving the hypervisor's virtio
// devices by hand, written as ordinary Go tests that run inside the VM:
// it shares the pages of its rings and buffers with the host (GUEST_SHARE)
// and nothing else, reads a sector of the disk it was given and checks its
// bytes, and shows that a request naming a page it did not share fails
// with the device's error while the guest and the hypervisor carry on.
//
// Its VM is protected and asks for devices (virtio=on), has an entropy
// seed, a disk of at least -sector+1 sectors whose sector -sector has
// SHA-256 -sha256, and 66 MiB of RAM or more (pages above the runtime's
// 62 MiB). `bulkhead test` gives a guest no disk, so the QEMU suite runs
// it (tests.TestVirtioProtectedGuestSharesItsBuffers): it makes the disk,
// passes the flags and reads each test's outcome.
package virtio
